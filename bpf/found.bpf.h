/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The start-up walk: what VFIO had mapped before nsflush watched. nsflushd
 * runs this iterator once its hooks are live; for every process holding a
 * VFIO type1 container (its own fd, or a group fd set to it) or an iommufd
 * context (/dev/iommu, or a VFIO cdev or group bound to one) it writes the
 * domains and mapped runs (struct nsflush_found) and starts tracking them,
 * so their maps, unmaps and unpins are seen and, in enforce mode, flushed
 * like any other:
 *   type1    each container's domains, and its vfio_dma rb-tree
 *   iommufd  each IOAS's HWPTs, and its iopt_area interval tree; the
 *            iopt_pages behind the areas are marked as mapped
 *            non-coherently, as the hooks do at iommu_map
 * What it cannot read is reported as such (the audit of its process is
 * incomplete) and, where tracking depends on it, makes the backend fail
 * closed: every unpin is flushed.
 *
 * Nothing here takes the kernel's locks: a walk racing with a map or an
 * unmap may miss it or see it half-made, and the hooks, live since before
 * the walk, report it whole.
 *
 * The files are told apart by device number, set before load from /dev.
 */
#ifndef NSFLUSH_FOUND_BPF_H
#define NSFLUSH_FOUND_BPF_H

#include "shared.bpf.h"
#include "vfio_types.h"

#define MINORBITS 20
/* A file's records must fit the iterator's seq buffer (8 pages; a file
 * whose output overflows it fails the whole walk): past this many, the
 * rest of the file's runs is only tracked, and the file reported
 * unreadable. */
#define FOUND_MAX_RECORDS (8 * 4096 / sizeof(struct nsflush_found) - 2)
#define IOAS_MAX_AREAS (1 << 20)	/* tracked, if not all written */
/* Steps of an in-order walk of N nodes (rb_step): at most N down, N
 * visits and N up. */
#define RB_WALK_STEPS(nodes) (3 * (nodes) + 1)

const volatile __u32 vfio_container_rdev = 0;	/* /dev/vfio/vfio */
const volatile __u32 vfio_group_major = 0;	/* /dev/vfio/<group> */
const volatile __u32 vfio_cdev_major = 0;	/* /dev/vfio/devices/vfio<N> */
const volatile __u32 iommufd_rdev = 0;		/* /dev/iommu */

struct found_walk {
	struct seq_file *seq;
	struct nsflush_found rec;
	struct rb_node *node;	/* where a walk of vfio_dma or iopt_area is; NULL: done */
	bool up;		/* @node and all under it visited: on to its parent */
	__u32 written;		/* records of this file */
	bool unreadable;	/* some of it could not be written */
	__u32 holder;		/* tgid holding the file */
	/* iommufd: the context's objects, by id */
	unsigned long xa_head;
	__u64 xa_index;		/* next id to look at */
	__u64 xa_last;		/* the highest id the tree can hold */
};

static __always_inline void found_write(struct found_walk *w, __u32 kind)
{
	if (w->written >= FOUND_MAX_RECORDS) {	/* the last slot is found_end's */
		w->unreadable = true;
		return;
	}
	w->rec.kind = kind;
	bpf_seq_write(w->seq, &w->rec, sizeof(w->rec));
	w->written++;
}

/* What could not be written makes the holder's audit incomplete. */
static __always_inline void found_end(struct found_walk *w)
{
	if (!w->unreadable)
		return;
	w->rec.pid = w->holder;
	w->rec.kind = NSFLUSH_FOUND_UNREADABLE;
	bpf_seq_write(w->seq, &w->rec, sizeof(w->rec));
}

static __always_inline struct rb_node *rb_parent(struct rb_node *n)
{
	return (struct rb_node *)(BPF_CORE_READ(n, __rb_parent_color) & ~3UL);
}

/*
 * An in-order walk of a red-black tree, one step per bpf_loop iteration:
 * down a left edge, the visit of a node, or up an edge. No loop runs inside
 * a step, since the verifier checks a bpf_loop callback as a loop (6.8+),
 * and a loop nested in it multiplied that: seconds of every nsflushd start
 * under TCG. Returns the node to visit at this step, or NULL; the walk is
 * done once w->node is NULL.
 */
static __always_inline struct rb_node *rb_step(struct found_walk *w)
{
	struct rb_node *n = w->node, *next, *p;

	if (!w->up) {
		next = BPF_CORE_READ(n, rb_left);
		if (next) {
			w->node = next;
			return NULL;
		}
	} else {
		p = rb_parent(n);
		if (!p || BPF_CORE_READ(p, rb_left) != n) {
			w->node = p;	/* from the right: p is done too */
			return NULL;
		}
		n = p;			/* from the left: p is next */
	}
	/* visit n, then its right subtree, if any */
	next = BPF_CORE_READ(n, rb_right);
	w->node = next ? next : n;
	w->up = !next;
	return n;
}

/*
 * Starts a walk at @n, the root or the leftmost node (NULL: none). Before
 * 6.8 the verifier checked a callback once, with the state it was first
 * called in: a w->up known to be false there would have had the other
 * branch dropped as dead. The low bit of a node's address is 0, but not to
 * the verifier.
 */
static __always_inline void rb_walk_from(struct found_walk *w, struct rb_node *n)
{
	w->node = n;
	w->up = (unsigned long)n & 1;
}

static long found_dma(__u32 i, void *data)
{
	struct found_walk *w = data;
	struct rb_node *node;
	struct vfio_dma *dma;

	if (!w->node)
		return 1;
	node = rb_step(w);
	if (!node)
		return 0;
	if (w->written >= FOUND_MAX_RECORDS)
		return 1;	/* more runs than fit: w->node says so */
	dma = (void *)node - bpf_core_field_offset(struct vfio_dma, node);
	w->rec.iova = BPF_CORE_READ(dma, iova);
	w->rec.vaddr = BPF_CORE_READ(dma, vaddr);
	w->rec.bytes = BPF_CORE_READ(dma, size);
	w->rec.pid = BPF_CORE_READ(dma, task, tgid);
	w->rec.start_ns = BPF_CORE_READ(dma, task, start_time);	/* a group leader */
	if (w->rec.bytes)
		found_write(w, NSFLUSH_FOUND_RUN);
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
	char name[sizeof(TYPE1_DRIVER)] = {};
	__u64 container = (__u64)iommu;

	/* type1 is "vfio-iommu-type1"; the others ("vfio-iommu-spapr-tce",
	 * "vfio-noiommu") map nothing nsflush knows how to read */
	if (!iommu || bpf_probe_read_kernel_str(name, sizeof(name),
						BPF_CORE_READ(c, iommu_driver, ops, name)) < 0 ||
	    !is_type1(name)) {
		w->unreadable = iommu;
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
	rb_walk_from(w, BPF_CORE_READ(iommu, dma_list.rb_node));
	/* its unpins are tracked by container: the runs are only written */
	bpf_loop(RB_WALK_STEPS(FOUND_MAX_RECORDS), found_dma, w, 0);
	if (w->node)		/* more runs than fit */
		w->unreadable = true;
}

/* ---- iommufd: the IOASes of a context ----------------------------------- */

#define PAGE_SHIFT 12
#define XA_CHUNK_SHIFT 6
#define XA_CHUNK_MASK ((1UL << XA_CHUNK_SHIFT) - 1)
#define XA_MAX_DEPTH 11		/* 64-bit ids, 6 bits a level */
#define IOMMUFD_MAX_OBJECT_STEPS 4096	/* objects and empty subtrees of a context */
#define IOAS_MAX_HWPTS 16

/* include/linux/xarray.h: a node pointer is an internal entry above 4096;
 * the other internal entries (zero: reserved id, retry, sibling) are not
 * objects. */
static __always_inline bool xa_is_internal(unsigned long e)
{
	return (e & 3) == 2;
}

static __always_inline bool xa_is_node(unsigned long e)
{
	return xa_is_internal(e) && e > 4096;
}

/* One run of an IOAS (an iopt_area), and the mark on its pages. */
static long found_area(__u32 i, void *data)
{
	struct found_walk *w = data;
	struct rb_node *node;
	struct iopt_area___nsf *area;
	struct iopt_pages___nsf *pages;
	struct task_struct *task;

	if (!w->node)
		return 1;
	node = rb_step(w);
	if (!node)
		return 0;
	area = (void *)node - bpf_core_field_offset(struct iopt_area___nsf, node) -
	       bpf_core_field_offset(struct interval_tree_node, rb);
	pages = BPF_CORE_READ(area, pages);
	if (!pages)		/* being inserted: the hooks see its fill */
		return 0;
	task = BPF_CORE_READ(pages, source_task);
	w->rec.pid = BPF_CORE_READ(task, tgid);
	w->rec.start_ns = BPF_CORE_READ(task, start_time);
	w->rec.iova = BPF_CORE_READ(area, node.start);
	w->rec.bytes = BPF_CORE_READ(area, node.last) - w->rec.iova + 1;
	w->rec.vaddr = (__u64)BPF_CORE_READ(pages, uptr) +
		       (BPF_CORE_READ(area, pages_node.start) << PAGE_SHIFT) +
		       BPF_CORE_READ(area, page_offset);
	if (bpf_core_field_exists(pages->type) &&
	    BPF_CORE_READ(pages, type) != bpf_core_enum_value(enum iopt_address_type___nsf,
							       IOPT_ADDRESS_USER___nsf))
		w->unreadable = true;	/* a file's pages: no user address */
	else
		found_write(w, NSFLUSH_FOUND_RUN);
	/* as the hooks mark them at iommu_map */
	iommufd_mark_pages((__u64)pages, w->rec.container);
	return 0;
}

/* An IOAS: its HWPTs, tracked from now on; its runs, if any HWPT is
 * non-coherent (every area is mapped into every HWPT of its IOAS). */
static __always_inline void found_ioas(struct found_walk *w, struct iommufd_ioas___nsf *ioas)
{
	struct io_pagetable___nsf *iopt = &ioas->iopt;
	struct list_head *head = &ioas->hwpt_list;
	struct list_head *pos = BPF_CORE_READ(ioas, hwpt_list.next);
	__u64 container = (__u64)iopt;
	bool nc = false;
	int i;

	w->rec.container = container;
	for (i = 0; i < IOAS_MAX_HWPTS && pos && pos != head; i++) {
		struct iommufd_hwpt_paging___nsf *hwpt =
			(void *)pos - bpf_core_field_offset(struct iommufd_hwpt_paging___nsf, hwpt_item);
		struct domain_info d = {
			.container = container,
			.pid = w->holder,
			.coherent = BPF_CORE_READ_BITFIELD_PROBED(hwpt, enforce_cache_coherency),
			.backend = NSFLUSH_BACKEND_IOMMUFD,
		};
		__u64 domain = (__u64)BPF_CORE_READ(hwpt, common.domain);

		/* what the hooks learnt stays: they saw it happen */
		bpf_map_update_elem(&domains, &domain, &d, BPF_NOEXIST);
		w->rec.pid = w->holder;
		w->rec.domain = domain;
		w->rec.coherent = d.coherent;
		w->rec.group = 0;
		found_write(w, NSFLUSH_FOUND_DOMAIN);
		nc |= !d.coherent;
		pos = BPF_CORE_READ(pos, next);
	}
	if (pos && pos != head) {	/* more HWPTs than read: assume the worst */
		w->unreadable = true;
		nc = true;
	}
	if (!nc)
		return;
	w->rec.domain = 0;
	rb_walk_from(w, BPF_CORE_READ(iopt, area_itree.rb_leftmost));
	bpf_loop(RB_WALK_STEPS(IOAS_MAX_AREAS), found_area, w, 0);
	if (w->node) {		/* some pages left unmarked: flush every unpin */
		fail_closed(NSFLUSH_BACKEND_IOMMUFD);
		w->unreadable = true;
	}
}

/* One step through the context's objects xarray: to the next object (an
 * IOAS is walked), or past an empty subtree. */
static long found_object(__u32 i, void *data)
{
	struct found_walk *w = data;
	unsigned long entry = w->xa_head;
	__u64 index = w->xa_index;
	struct iommufd_object___nsf *obj;

	if (index > w->xa_last)
		return 1;
	for (int depth = 0; depth < XA_MAX_DEPTH && xa_is_node(entry); depth++) {
		struct xa_node *node = (void *)(entry - 2);
		unsigned char shift = BPF_CORE_READ(node, shift);
		void **slots = (void *)node + bpf_core_field_offset(struct xa_node, slots);

		if (shift >= 64 || bpf_probe_read_kernel(&entry, sizeof(entry),
							 slots + ((index >> shift) & XA_CHUNK_MASK)))
			return 1;
		if (!entry) {
			__u64 next = ((index >> shift) + 1) << shift;

			if (shift >= 63 || next <= index)	/* the last subtree */
				return 1;
			w->xa_index = next;
			return 0;
		}
	}
	w->xa_index = index + 1;
	if (!entry || xa_is_internal(entry))
		return 0;
	obj = (void *)entry;
	if (BPF_CORE_READ(obj, type) == bpf_core_enum_value(enum iommufd_object_type___nsf,
							    IOMMUFD_OBJ_IOAS___nsf))
		found_ioas(w, (void *)obj - bpf_core_field_offset(struct iommufd_ioas___nsf, obj));
	return 0;
}

static __always_inline void found_iommufd(struct found_walk *w, struct iommufd_ctx___nsf *ictx)
{
	unsigned long head = (unsigned long)BPF_CORE_READ(ictx, objects.xa_head);
	unsigned char shift;

	w->rec.backend = NSFLUSH_BACKEND_IOMMUFD;
	if (!head)
		return;
	w->xa_head = head;
	w->xa_index = 0;
	w->xa_last = 0;		/* the head holds id 0 only, unless a node */
	if (xa_is_node(head)) {
		shift = BPF_CORE_READ((struct xa_node *)(head - 2), shift);
		w->xa_last = shift + XA_CHUNK_SHIFT >= 64 ? ~0ULL :
			     (1ULL << (shift + XA_CHUNK_SHIFT)) - 1;
	}
	bpf_loop(IOMMUFD_MAX_OBJECT_STEPS, found_object, w, 0);
	if (w->xa_index <= w->xa_last) {	/* not to the end: IOASes unseen */
		fail_closed(NSFLUSH_BACKEND_IOMMUFD);
		w->unreadable = true;
	}
}

SEC("iter/task_file")
int found_vfio(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct found_walk w = {};
	struct vfio_container *c = NULL;
	struct iommufd_ctx___nsf *ictx = NULL;
	bool iommufd_file = false;
	struct vfio_group *g;
	__u32 rdev;

	if (!task || !file)
		return 0;
	w.holder = w.rec.pid = task->tgid;
	if (target_tgid && w.holder != target_tgid)
		return 0;
	rdev = BPF_CORE_READ(file, f_inode, i_rdev);
	if (!rdev)
		return 0;
	w.seq = ctx->meta->seq;
	w.rec.start_ns = BPF_CORE_READ(task, group_leader, start_time);
	bpf_probe_read_kernel_str(w.rec.comm, sizeof(w.rec.comm), task->group_leader->comm);
	if (rdev == iommufd_rdev) {
		iommufd_file = true;
		ictx = BPF_CORE_READ(file, private_data);
	} else if (vfio_cdev_major && rdev >> MINORBITS == vfio_cdev_major) {
		struct vfio_device_file___nsf *df = BPF_CORE_READ(file, private_data);

		iommufd_file = true;
		ictx = BPF_CORE_READ(df, iommufd);	/* NULL: not bound yet */
	} else if (vfio_group_major && rdev >> MINORBITS == vfio_group_major) {
		g = BPF_CORE_READ(file, private_data);
		if (bpf_core_field_exists(g->container))
			c = BPF_CORE_READ(g, container);
		if (!c && bpf_core_field_exists(g->iommufd))
			ictx = BPF_CORE_READ(g, iommufd);
	} else if (rdev == vfio_container_rdev) {
		/* without VFIO_CONTAINER, iommufd serves /dev/vfio/vfio */
		if (bpf_core_type_exists(struct vfio_container)) {
			c = BPF_CORE_READ(file, private_data);
		} else {
			iommufd_file = true;
			ictx = BPF_CORE_READ(file, private_data);
		}
	}
	if (iommufd_file && !bpf_core_type_exists(struct iommufd_ctx___nsf)) {
		/* iommufd's types unknown to this walk (its module came after
		 * nsflushd loaded): every batch_unpin is flushed instead */
		fail_closed(NSFLUSH_BACKEND_IOMMUFD);
		w.rec.backend = NSFLUSH_BACKEND_IOMMUFD;
		w.unreadable = true;
	}
	/* a module's types exist only while it is loaded: no type1 container
	 * without vfio_iommu_type1, no context without iommufd */
	if (ictx && bpf_core_type_exists(struct iommufd_ctx___nsf))
		found_iommufd(&w, ictx);
	else if (c && bpf_core_type_exists(struct vfio_iommu))
		found_type1(&w, c);
	found_end(&w);
	return 0;
}

#endif /* NSFLUSH_FOUND_BPF_H */
