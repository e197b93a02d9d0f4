/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The start-up walk: what VFIO had mapped before nsflush watched. nsflushd
 * runs this iterator once its hooks are live; for every process holding a
 * VFIO container (its own fd, or a group fd set to it) it writes the
 * container's domains and mapped runs (struct nsflush_found) and starts
 * tracking them, so their unmaps and unpins are seen and, in enforce mode,
 * flushed like any other. Files whose mappings it cannot read (iommufd's,
 * for now) are reported as such, and make their backend fail closed: the
 * audit of their process is incomplete, and every unpin is flushed.
 *
 * The files are told apart by device number, set before load from /dev.
 */
#ifndef NSFLUSH_FOUND_BPF_H
#define NSFLUSH_FOUND_BPF_H

#include "shared.bpf.h"
#include "vfio_types.h"

#define MINORBITS 20
/* A file's records must fit the iterator's seq buffer (8 pages; a file
 * whose output overflows it fails the whole walk): past this many the rest
 * of a container is reported unreadable instead. */
#define FOUND_MAX_RECORDS (8 * 4096 / sizeof(struct nsflush_found) - 2)
#define RB_MAX_DEPTH 64			/* a red-black tree of 2^32 nodes is shallower */

const volatile __u32 vfio_container_rdev = 0;	/* /dev/vfio/vfio */
const volatile __u32 vfio_group_major = 0;	/* /dev/vfio/<group> */
const volatile __u32 vfio_cdev_major = 0;	/* /dev/vfio/devices/vfio<N> */
const volatile __u32 iommufd_rdev = 0;		/* /dev/iommu */

struct found_walk {
	struct seq_file *seq;
	struct nsflush_found rec;
	struct rb_node *node;	/* next vfio_dma to write; NULL: done */
	__u32 written;		/* records of this file */
};

static __always_inline void found_write(struct found_walk *w, __u32 kind)
{
	w->rec.kind = kind;
	bpf_seq_write(w->seq, &w->rec, sizeof(w->rec));
	w->written++;
}

static __always_inline struct rb_node *rb_parent(struct rb_node *n)
{
	return (struct rb_node *)(BPF_CORE_READ(n, __rb_parent_color) & ~3UL);
}

/* One step of a walk down the left spine, or up to the first ancestor
 * @n is on the left of; in callbacks of their own (bpf_loop), so that the
 * verifier need not unroll them. */
struct rb_step {
	struct rb_node *n;	/* where the walk is */
	struct rb_node *found;	/* up: the ancestor (NULL: none, @n was last) */
};

static long rb_left_step(__u32 i, void *data)
{
	struct rb_step *s = data;
	struct rb_node *n = s->n;
	struct rb_node *l = BPF_CORE_READ(n, rb_left);

	if (!l)
		return 1;
	s->n = l;
	return 0;
}

static long rb_up_step(__u32 i, void *data)
{
	struct rb_step *s = data;
	struct rb_node *n = s->n;
	struct rb_node *p = rb_parent(n);

	if (!p || BPF_CORE_READ(p, rb_left) == n) {
		s->found = p;
		return 1;
	}
	s->n = p;
	return 0;
}

/* The leftmost node under @n (@n itself if it has no left child). */
static __always_inline struct rb_node *rb_leftmost(struct rb_node *n)
{
	struct rb_step s = { .n = n };

	bpf_loop(RB_MAX_DEPTH, rb_left_step, &s, 0);
	return s.n;
}

/* The in-order successor of @n: the leftmost of its right subtree, else the
 * first ancestor it is on the left of. */
static __always_inline struct rb_node *rb_successor(struct rb_node *n)
{
	struct rb_node *r = BPF_CORE_READ(n, rb_right);
	struct rb_step s = { .n = n };

	if (r)
		return rb_leftmost(r);
	bpf_loop(RB_MAX_DEPTH, rb_up_step, &s, 0);
	return s.found;
}

static long found_dma(__u32 i, void *data)
{
	struct found_walk *w = data;
	struct rb_node *node = w->node;
	struct vfio_dma *dma;

	if (!node || w->written >= FOUND_MAX_RECORDS - 1)
		return 1;
	dma = (void *)node - bpf_core_field_offset(struct vfio_dma, node);
	w->rec.iova = BPF_CORE_READ(dma, iova);
	w->rec.vaddr = BPF_CORE_READ(dma, vaddr);
	w->rec.bytes = BPF_CORE_READ(dma, size);
	w->rec.pid = BPF_CORE_READ(dma, task, tgid);
	if (w->rec.bytes)
		found_write(w, NSFLUSH_FOUND_RUN);
	w->node = rb_successor(node);
	return 0;
}

#define TYPE1_DRIVER "vfio-iommu-type1"

static __always_inline bool is_type1(const char *name)
{
	const char want[] = TYPE1_DRIVER;

	for (int i = 0; i < sizeof(want); i++)
		if (name[i] != want[i])
			return false;
	return true;
}

/* A type1 container: its domains, tracked from now on; its runs, if any
 * domain is non-coherent (every run is mapped into every domain). */
static __always_inline void found_type1(struct found_walk *w, struct vfio_container *c)
{
	struct vfio_iommu *iommu = BPF_CORE_READ(c, iommu_data);
	struct list_head *head, *pos;
	struct container_info ci = {};
	struct rb_node *node;
	char name[sizeof(TYPE1_DRIVER)] = {};
	__u64 container = (__u64)iommu;

	/* type1 is "vfio-iommu-type1"; the others ("vfio-iommu-spapr-tce",
	 * "vfio-noiommu") map nothing nsflush knows how to read */
	if (!iommu || bpf_probe_read_kernel_str(name, sizeof(name),
						BPF_CORE_READ(c, iommu_driver, ops, name)) < 0 ||
	    !is_type1(name)) {
		if (iommu)
			found_write(w, NSFLUSH_FOUND_UNREADABLE);
		return;
	}
	w->rec.container = container;
	w->rec.backend = NSFLUSH_BACKEND_TYPE1;
	head = &iommu->domain_list;
	pos = BPF_CORE_READ(iommu, domain_list.next);
	for (int i = 0; i < TYPE1_MAX_DOMAINS && pos && pos != head; i++) {
		struct vfio_domain *vd = type1_domain_of(pos);
		struct list_head *gpos = BPF_CORE_READ(vd, group_list.next);
		struct vfio_iommu_group *g =
			(void *)gpos - bpf_core_field_offset(struct vfio_iommu_group, next);
		struct domain_info d = {
			.container = container,
			.pid = w->rec.pid,
			.coherent = BPF_CORE_READ_BITFIELD_PROBED(vd, enforce_cache_coherency),
			.backend = NSFLUSH_BACKEND_TYPE1,
		};
		__u64 domain = (__u64)BPF_CORE_READ(vd, domain);

		/* what the hooks learnt stays: they saw it happen */
		bpf_map_update_elem(&domains, &domain, &d, BPF_NOEXIST);
		w->rec.domain = domain;
		w->rec.coherent = d.coherent;
		w->rec.group = gpos != &vd->group_list ? BPF_CORE_READ(g, iommu_group, id) : 0;
		found_write(w, NSFLUSH_FOUND_DOMAIN);
		if (!d.coherent) {
			ci.nc_domains++;
			ci.ever_nc = 1;
		}
		pos = BPF_CORE_READ(pos, next);
	}
	if (!ci.ever_nc)
		return;
	if (bpf_map_update_elem(&containers, &container, &ci, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&containers, &container))
		fail_closed(NSFLUSH_BACKEND_TYPE1);
	w->rec.domain = 0;
	node = BPF_CORE_READ(iommu, dma_list.rb_node);
	w->node = node ? rb_leftmost(node) : NULL;	/* in order: the leftmost first */
	bpf_loop(FOUND_MAX_RECORDS, found_dma, w, 0);
	if (w->node)		/* more runs than fit: say so */
		found_write(w, NSFLUSH_FOUND_UNREADABLE);
}

SEC("iter/task_file")
int found_vfio(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct found_walk w = {};
	struct vfio_container *c = NULL;
	struct vfio_group *g;
	__u32 rdev;

	if (!task || !file)
		return 0;
	w.rec.pid = task->tgid;
	if (target_tgid && w.rec.pid != target_tgid)
		return 0;
	rdev = BPF_CORE_READ(file, f_inode, i_rdev);
	if (!rdev)
		return 0;
	w.seq = ctx->meta->seq;
	w.rec.start_ns = BPF_CORE_READ(task, group_leader, start_time);
	bpf_probe_read_kernel_str(w.rec.comm, sizeof(w.rec.comm), task->group_leader->comm);
	if (rdev == iommufd_rdev || (vfio_cdev_major && rdev >> MINORBITS == vfio_cdev_major)) {
		/* Which of its iopt_pages were mapped non-coherently is not
		 * read yet: every batch_unpin is flushed instead. */
		fail_closed(NSFLUSH_BACKEND_IOMMUFD);
		w.rec.backend = NSFLUSH_BACKEND_IOMMUFD;
		found_write(&w, NSFLUSH_FOUND_UNREADABLE);
		return 0;
	}
	/* vfio.ko or vfio_iommu_type1.ko not loaded: no type1 container */
	if (!bpf_core_type_exists(struct vfio_container) || !bpf_core_type_exists(struct vfio_iommu))
		return 0;
	if (rdev == vfio_container_rdev)
		c = BPF_CORE_READ(file, private_data);
	else if (vfio_group_major && rdev >> MINORBITS == vfio_group_major) {
		g = BPF_CORE_READ(file, private_data);
		c = BPF_CORE_READ(g, container);
	}
	if (c)
		found_type1(&w, c);
	return 0;
}

#endif /* NSFLUSH_FOUND_BPF_H */
