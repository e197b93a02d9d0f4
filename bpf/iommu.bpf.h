/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IOMMU core hooks every backend goes through: iommu_map/unmap, domain
 * free, group detach, the vendors' coherency decisions. Included last, after
 * the backend headers, whose helpers (iommufd_mapping_noncoherent) it calls.
 */
#ifndef NSFLUSH_IOMMU_BPF_H
#define NSFLUSH_IOMMU_BPF_H

#include "shared.bpf.h"

/* ---- iommu_map: flush before the mapping, report once it is live -------- */

#define PROBE_BYTES (2 * 4096)

/* The first map of 2 pages into the domain this thread attaches: type1's
 * probe (a replay maps only after it). */
static __always_inline void probe_mapped(__u64 domain, __u64 iova, __u64 phys, __u64 size)
{
	__u32 tid = current_tid();
	struct attach_ctx *a = bpf_map_lookup_elem(&attaching, &tid);

	if (a && a->domain == domain && !a->probe_phys && size == PROBE_BYTES) {
		a->probe_iova = iova;
		a->probe_phys = phys;
	}
}

/* Unmapping the probe: its pages are freed next, a reference point. */
static __always_inline void probe_unmapped(__u64 domain, __u64 iova, __u64 bytes)
{
	__u32 tid = current_tid();
	struct attach_ctx *a = bpf_map_lookup_elem(&attaching, &tid);

	if (!a || a->domain != domain || !a->probe_phys || iova < a->probe_iova ||
	    iova + bytes > a->probe_iova + PROBE_BYTES || !bytes)
		return;
	unpin_point(a->container, NSFLUSH_BACKEND_TYPE1, iova,
		    a->probe_phys + (iova - a->probe_iova), bytes);
}

/* int iommu_map(struct iommu_domain *, unsigned long iova, phys_addr_t paddr,
 *		 size_t size, int prot[, gfp_t gfp (6.3+)]) */
SEC("fentry/iommu_map")
int BPF_PROG(iommu_map_entry, struct iommu_domain *domain, unsigned long iova,
	     phys_addr_t paddr, size_t size)
{
	struct nsflush_event e = {};
	__u32 tid = current_tid();

	/* A learnt domain is the VMM's, whichever process maps into it. */
	if (!noncoherent_domain((__u64)domain, &e))
		return 0;
	if (e.backend == NSFLUSH_BACKEND_IOMMUFD)
		iommufd_mapping_noncoherent();
	else if (e.origin == NSFLUSH_ORIGIN_ATTACH)
		probe_mapped((__u64)domain, iova, paddr, size);
	fill_common(&e, NSFLUSH_EV_MAP);
	e.domain = (__u64)domain;
	e.iova = iova;
	e.phys = paddr;
	e.bytes = size;
	flush_range(&e);
	track(&pending_map, &tid, &e, BPF_ANY);
	return 0;
}

SEC("fexit/iommu_map")
int BPF_PROG(iommu_map_exit, struct iommu_domain *domain, unsigned long iova)
{
	__u32 tid = current_tid();
	struct nsflush_event *e = bpf_map_lookup_elem(&pending_map, &tid);
	__u64 ret = 0;

	/* A nested iommu_map (an interrupt's DMA mapping) is not ours. */
	if (!e || e->domain != (__u64)domain || e->iova != iova)
		return 0;
	bpf_get_func_ret(ctx, &ret);
	e->map_ret = (int)ret;
	e->done_ns = bpf_ktime_get_ns();
	submit(e);
	bpf_map_delete_elem(&pending_map, &tid);
	return 0;
}

/* ---- unmaps ---------------------------------------------------------------- */

static __always_inline int unmapped(void *ctx, struct iommu_domain *domain,
				    unsigned long iova)
{
	struct nsflush_event e = {};
	__u64 ret = 0;

	if (!noncoherent_domain((__u64)domain, &e))
		return 0;
	bpf_get_func_ret(ctx, &ret);
	fill_common(&e, NSFLUSH_EV_UNMAP);
	e.done_ns = e.ts_ns;
	e.domain = (__u64)domain;
	e.iova = iova;
	e.bytes = ret;		/* what the IOMMU really unmapped */
	submit(&e);
	if (e.origin == NSFLUSH_ORIGIN_ATTACH && e.backend == NSFLUSH_BACKEND_TYPE1)
		probe_unmapped((__u64)domain, iova, ret);
	return 0;
}

/* size_t iommu_unmap(struct iommu_domain *, unsigned long iova, size_t size) */
SEC("fexit/iommu_unmap")
int BPF_PROG(iommu_unmap_exit, struct iommu_domain *domain, unsigned long iova)
{
	return unmapped(ctx, domain, iova);
}

/* size_t iommu_unmap_fast(struct iommu_domain *, unsigned long iova,
 *			   size_t size, struct iommu_iotlb_gather *) */
SEC("fexit/iommu_unmap_fast")
int BPF_PROG(iommu_unmap_fast_exit, struct iommu_domain *domain, unsigned long iova)
{
	return unmapped(ctx, domain, iova);
}

/* ---- domain lifetime -------------------------------------------------------- */

SEC("fentry/iommu_detach_group")
int BPF_PROG(iommu_detach_group_entry, struct iommu_domain *domain, struct iommu_group *group)
{
	group_left((__u64)domain, group);
	return 0;
}

SEC("fentry/iommu_domain_free")
int BPF_PROG(iommu_domain_free_entry, struct iommu_domain *domain)
{
	__u64 key = (__u64)domain;
	struct domain_info *d = bpf_map_lookup_elem(&domains, &key);

	bpf_map_delete_elem(&cc_decided, &key);
	if (!d)
		return 0;
	if (!d->early)
		group_event(NSFLUSH_EV_DOMAIN_FREE, key, NULL, d);
	bpf_map_delete_elem(&domains, &key);
	return 0;
}

/* ---- while a backend attaches ------------------------------------------------ */

/* int iommu_attach_group(struct iommu_domain *, struct iommu_group *) */
SEC("fentry/iommu_attach_group")
int BPF_PROG(iommu_attach_group_entry, struct iommu_domain *domain, struct iommu_group *group)
{
	__u32 tid = current_tid();
	struct attach_ctx *a = bpf_map_lookup_elem(&attaching, &tid);

	if (a && a->domain != (__u64)domain) {
		a->domain = (__u64)domain;
		a->cc_known = 0;
		a->probe_phys = 0;
		type1_domain_attaching(a);
	}
	return 0;
}

/* bool (*enforce_cache_coherency)(struct iommu_domain *): the vendor decides.
 * One program per vendor; those absent from this kernel are not loaded. */
static __always_inline int coherency_decided(struct iommu_domain *domain, bool coherent)
{
	__u32 tid = current_tid();
	struct attach_ctx *a = bpf_map_lookup_elem(&attaching, &tid);
	__u64 key = (__u64)domain;
	__u8 cc = coherent;

	bpf_map_update_elem(&cc_decided, &key, &cc, BPF_ANY);

	if (a && a->domain == (__u64)domain) {
		a->cc_known = 1;
		a->coherent = coherent;
		type1_domain_attaching(a);
	}
	return 0;
}

SEC("fexit/intel_iommu_enforce_cache_coherency")
int BPF_PROG(intel_cc_exit, struct iommu_domain *domain, bool ret)
{
	return coherency_decided(domain, ret);
}

/* After 6.12 (7.3 has it) Intel's op is split by page-table stage: first
 * stage (scalable mode) and second stage (legacy mode, the lab's VT-d). */
SEC("fexit/intel_iommu_enforce_cache_coherency_fs")
int BPF_PROG(intel_cc_fs_exit, struct iommu_domain *domain, bool ret)
{
	return coherency_decided(domain, ret);
}

SEC("fexit/intel_iommu_enforce_cache_coherency_ss")
int BPF_PROG(intel_cc_ss_exit, struct iommu_domain *domain, bool ret)
{
	return coherency_decided(domain, ret);
}

SEC("fexit/amd_iommu_enforce_cache_coherency")
int BPF_PROG(amd_cc_exit, struct iommu_domain *domain, bool ret)
{
	return coherency_decided(domain, ret);
}

#endif /* NSFLUSH_IOMMU_BPF_H */
