/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO type1. A container (struct vfio_iommu) holds one vfio_domain per
 * distinct (IOMMU ops, coherency) pair; attach_group decides coherency,
 * then either merges the group into a matching domain or keeps the new one,
 * probes it with 2 pages and replays every existing mapping into it — all
 * before it returns, which is why core.bpf.h tracks the pending domain.
 * Unpins go through vfio_unpin_pages_remote() under vfio_unmap_unpin().
 */
#ifndef NSFLUSH_TYPE1_BPF_H
#define NSFLUSH_TYPE1_BPF_H

#include "shared.bpf.h"
#include "vfio_types.h"

#define TYPE1_MAX_DOMAINS 8	/* per container: one per (ops, coherency) */
#define TYPE1_MAX_GROUPS 16	/* per domain, walked to find the new one */

struct container_info {
	__u32 nc_domains;	/* non-coherent domains attached now */
	__u8 ever_nc;		/* had one: its pages were mapped non-coherently */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_DOMAINS);
	__type(key, __u64);
	__type(value, struct container_info);
} containers SEC(".maps");

/* The container whose mappings this thread is unmapping and unpinning. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} unpinning SEC(".maps");

static __always_inline struct vfio_domain *type1_domain_of(struct list_head *node)
{
	return (void *)node - bpf_core_field_offset(struct vfio_domain, next);
}

static __always_inline bool type1_domain_has_group(struct vfio_domain *vd, __u64 group)
{
	struct list_head *head = &vd->group_list;
	struct list_head *pos = BPF_CORE_READ(vd, group_list.next);

	for (int i = 0; i < TYPE1_MAX_GROUPS && pos && pos != head; i++) {
		struct vfio_iommu_group *g =
			(void *)pos - bpf_core_field_offset(struct vfio_iommu_group, next);

		if ((__u64)BPF_CORE_READ(g, iommu_group) == group)
			return true;
		pos = BPF_CORE_READ(pos, next);
	}
	return false;
}

/*
 * Re-reads the container's domain list: the truth after an attach or a
 * detach. Reports the domain @group joined (0: none, a detach).
 */
static __always_inline void type1_sync(struct vfio_iommu *iommu, __u64 group)
{
	struct list_head *head = &iommu->domain_list;
	struct list_head *pos = BPF_CORE_READ(iommu, domain_list.next);
	struct container_info ci = {}, *old;
	__u64 container = (__u64)iommu;

	old = bpf_map_lookup_elem(&containers, &container);
	if (old)
		ci.ever_nc = old->ever_nc;
	for (int i = 0; i < TYPE1_MAX_DOMAINS && pos && pos != head; i++) {
		struct vfio_domain *vd = type1_domain_of(pos);
		__u64 domain = (__u64)BPF_CORE_READ(vd, domain);
		struct domain_info d = {
			.container = container,
			.pid = current_tgid(),
			.coherent = BPF_CORE_READ_BITFIELD_PROBED(vd, enforce_cache_coherency),
			.backend = NSFLUSH_BACKEND_TYPE1,
		};
		struct domain_info *known = bpf_map_lookup_elem(&domains, &domain);

		if (known)
			d.pid = known->pid;	/* the VMM that made it */
		track(&domains, &domain, &d, BPF_ANY);
		if (group && type1_domain_has_group(vd, group))
			group_event(NSFLUSH_EV_ATTACH, domain, (struct iommu_group *)group, &d);
		if (!d.coherent) {
			ci.nc_domains++;
			ci.ever_nc = 1;
		}
		pos = BPF_CORE_READ(pos, next);
	}
	if (track(&containers, &container, &ci, BPF_ANY))
		fail_closed(NSFLUSH_BACKEND_TYPE1);
}

/*
 * The domain @a's thread is attaching, learnt before the attach drops
 * iommu->lock: from then on another thread's MAP_DMA maps into it too
 * (the new domain is on domain_list), before the attach returns and
 * type1_sync() announces it. Not coherent until the vendor said so.
 */
static __always_inline void type1_domain_attaching(struct attach_ctx *a)
{
	struct domain_info d = {
		.container = a->container,
		.pid = current_tgid(),
		.coherent = a->cc_known && a->coherent,
		.backend = NSFLUSH_BACKEND_TYPE1,
		.early = 1,
	};
	struct domain_info *known = bpf_map_lookup_elem(&domains, &a->domain);
	struct container_info ci = { .nc_domains = 1, .ever_nc = 1 }, *c;

	if (a->backend != NSFLUSH_BACKEND_TYPE1)
		return;
	if (known && !known->early)
		return;		/* an existing domain: a merge */
	if (known)
		known->coherent = d.coherent;
	else
		track(&domains, &a->domain, &d, BPF_NOEXIST);
	if (!a->cc_known || a->coherent)
		return;
	/* its pages' unpins are reference points as soon as it maps them */
	c = bpf_map_lookup_elem(&containers, &a->container);
	if (c)
		c->ever_nc = 1;
	else if (track(&containers, &a->container, &ci, BPF_NOEXIST))
		fail_closed(NSFLUSH_BACKEND_TYPE1);
}

/* int vfio_iommu_type1_attach_group(void *iommu_data,
 *		struct iommu_group *iommu_group, enum vfio_group_type type) */
SEC("fentry/vfio_iommu_type1_attach_group")
int BPF_PROG(type1_attach_entry, struct vfio_iommu *iommu, struct iommu_group *group)
{
	struct attach_ctx a = {
		.container = (__u64)iommu,
		.group = (__u64)group,
		.backend = NSFLUSH_BACKEND_TYPE1,
	};
	__u32 tid = current_tid();

	if (wanted())
		track(&attaching, &tid, &a, BPF_ANY);
	return 0;
}

SEC("fexit/vfio_iommu_type1_attach_group")
int BPF_PROG(type1_attach_exit, struct vfio_iommu *iommu, struct iommu_group *group)
{
	__u32 tid = current_tid();
	__u64 ret = 0;

	/* without an attaching entry (that map was full) the domain is
	 * learnt here, late: what the attach mapped was not seen (counted) */
	if (!bpf_map_lookup_elem(&attaching, &tid) && !wanted())
		return 0;
	bpf_get_func_ret(ctx, &ret);
	if ((int)ret == 0)
		type1_sync(iommu, (__u64)group);
	bpf_map_delete_elem(&attaching, &tid);
	return 0;
}

/* void vfio_iommu_type1_detach_group(void *iommu_data, struct iommu_group *) */
SEC("fexit/vfio_iommu_type1_detach_group")
int BPF_PROG(type1_detach_exit, struct vfio_iommu *iommu)
{
	__u64 container = (__u64)iommu;

	if (bpf_map_lookup_elem(&containers, &container))
		type1_sync(iommu, 0);
	return 0;
}

/* void vfio_iommu_type1_release(void *iommu_data) */
SEC("fexit/vfio_iommu_type1_release")
int BPF_PROG(type1_release_exit, struct vfio_iommu *iommu)
{
	__u64 container = (__u64)iommu;

	bpf_map_delete_elem(&containers, &container);
	return 0;
}

/* long vfio_unmap_unpin(struct vfio_iommu *, struct vfio_dma *, bool) */
SEC("fentry/vfio_unmap_unpin")
int BPF_PROG(type1_unmap_unpin_entry, struct vfio_iommu *iommu)
{
	__u64 container = (__u64)iommu;
	__u32 tid = current_tid();

	if (track(&unpinning, &tid, &container, BPF_ANY))
		fail_closed(NSFLUSH_BACKEND_TYPE1);
	return 0;
}

SEC("fexit/vfio_unmap_unpin")
int BPF_PROG(type1_unmap_unpin_exit)
{
	__u32 tid = current_tid();

	bpf_map_delete_elem(&unpinning, &tid);
	return 0;
}

/*
 * long vfio_unpin_pages_remote(struct vfio_dma *, dma_addr_t iova,
 *				unsigned long pfn, long npage, bool do_accounting)
 * Right before the pages go back: the seed's second flush point.
 */
SEC("fentry/vfio_unpin_pages_remote")
int BPF_PROG(type1_unpin_entry, struct vfio_dma *dma, dma_addr_t iova,
	     unsigned long pfn, long npage)
{
	__u32 tid = current_tid();
	struct container_info *ci;
	__u64 *container;

	if (npage <= 0)
		return 0;
	container = bpf_map_lookup_elem(&unpinning, &tid);
	ci = container ? bpf_map_lookup_elem(&containers, container) : NULL;
	/* An unknown container is one from before nsflushd started, unless
	 * something could not be tracked. */
	if (ci ? !ci->ever_nc : !failed_closed(NSFLUSH_BACKEND_TYPE1))
		return 0;
	unpin_point(container ? *container : 0, NSFLUSH_BACKEND_TYPE1, iova,
		    (__u64)pfn << 12, (__u64)npage << 12);
	return 0;
}

#endif /* NSFLUSH_TYPE1_BPF_H */
