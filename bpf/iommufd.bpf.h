/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommufd. An IOAS (struct io_pagetable, its address is the container id)
 * holds areas (IOAS_MAP and IOAS_COPY ranges) backed by iopt_pages, which
 * IOAS_COPY shares between IOASes; its domains are HWPTs. Pages are pinned
 * only while a domain (or an access) uses them.
 *
 * Order of events (6.12):
 *   iommufd_hwpt_paging_alloc   coherency fixed from the device's capability
 *     iommu_attach_group_handle   only for an automatic domain
 *     iopt_table_add_domain       fills the new domain with every area
 *   IOAS_MAP/COPY: iopt_area_fill_domains maps the new area into every domain
 *   unmap, HWPT destroy, last domain gone: iommu_unmap, then batch_unpin
 *
 * The seed's reference points: each run is flushed before it reaches a
 * non-coherent domain (core.bpf.h's iommu_map entry; the domain is learnt
 * here before its fill), and before batch_unpin() of pages ever mapped
 * into a non-coherent domain. That mark is kept per iopt_pages and set at
 * the iommu_map of such a mapping (the seed keeps a per-IOAS count of
 * non-coherent domains instead; a count read outside the IOAS's locks can
 * miss a domain being added or removed, a mark at the map cannot).
 */
#ifndef NSFLUSH_IOMMUFD_BPF_H
#define NSFLUSH_IOMMUFD_BPF_H

#include "shared.bpf.h"
#include "iommufd_types.h"

#define IOMMUFD_MAX_RUNS 65536	/* a batch's arrays are capped at 64 KiB */

/* Per thread while a HWPT is allocated. */
struct iommufd_alloc {
	__u64 domain;		/* attached at once (automatic domain) ... */
	__u64 group;		/* ... by this group */
	__u8 cc_known;		/* iommufd_hwpt_paging_alloc() was seen: ... */
	__u8 coherent;		/* ... the device enforces coherency, so will the HWPT */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct iommufd_alloc);
} iommufd_allocating SEC(".maps");

/* iopt_pages ever mapped into a non-coherent domain -> the IOAS that did
 * (0: more than one, after IOAS_COPY). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} iommufd_nc_pages SEC(".maps");

/* The area being filled into domains by this thread, from
 * iopt_area_fill_domain(s) entry to exit: its iommu_map()s are its pages'. */
struct iommufd_fill {
	__u64 pages;		/* struct iopt_pages * */
	__u64 ioas;		/* struct io_pagetable * */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct iommufd_fill);
} iommufd_filling_area SEC(".maps");

/* A group's domain before iommu_replace_group_handle(). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} iommufd_replacing SEC(".maps");

/* struct iommufd_hwpt_paging *iommufd_hwpt_paging_alloc(struct iommufd_ctx *,
 *	struct iommufd_ioas *, struct iommufd_device *, ...) */
SEC("fentry/iommufd_hwpt_paging_alloc")
int BPF_PROG(iommufd_hwpt_alloc_entry, void *ictx, void *ioas,
	     struct iommufd_device___nsf *idev)
{
	struct iommufd_alloc a = {
		.cc_known = 1,
		.coherent = BPF_CORE_READ(idev, enforce_cache_coherency),
	};
	__u32 tid = current_tid();

	if (wanted())
		track(&iommufd_allocating, &tid, &a, BPF_ANY);
	return 0;
}

SEC("fexit/iommufd_hwpt_paging_alloc")
int BPF_PROG(iommufd_hwpt_alloc_exit)
{
	__u32 tid = current_tid();

	bpf_map_delete_elem(&iommufd_allocating, &tid);
	return 0;
}

/* int iopt_table_add_domain(struct io_pagetable *, struct iommu_domain *):
 * the domain joins the IOAS and is filled; coherency is already fixed. */
SEC("fentry/iopt_table_add_domain")
int BPF_PROG(iommufd_add_domain_entry, struct io_pagetable___nsf *iopt,
	     struct iommu_domain *domain)
{
	__u32 tid = current_tid();
	__u64 key = (__u64)domain;
	struct iommufd_alloc *a = bpf_map_lookup_elem(&iommufd_allocating, &tid);
	struct domain_info d = {
		.container = (__u64)iopt,
		.pid = current_tgid(),
		.backend = NSFLUSH_BACKEND_IOMMUFD,
	};
	__u64 group = 0;

	if (!wanted())
		return 0;
	if (a && a->domain == key)
		group = a->group;
	if (a && a->cc_known) {
		d.coherent = a->coherent;
	} else {
		/* Fallback without the allocation hook: what the vendor's op
		 * answered; never asked means not coherent. */
		__u8 *cc = bpf_map_lookup_elem(&cc_decided, &key);

		d.coherent = cc && *cc;
	}
	track(&domains, &key, &d, BPF_ANY);
	track(&filling, &tid, &key, BPF_ANY);
	group_event(NSFLUSH_EV_ATTACH, key, (struct iommu_group *)group, &d);
	return 0;
}

SEC("fexit/iopt_table_add_domain")
int BPF_PROG(iommufd_add_domain_exit)
{
	__u32 tid = current_tid();
	struct iommufd_alloc *a;

	if (bpf_map_delete_elem(&filling, &tid))
		return 0;
	a = bpf_map_lookup_elem(&iommufd_allocating, &tid);
	if (a && !a->cc_known)		/* made by iommufd_attach_handle_exit */
		bpf_map_delete_elem(&iommufd_allocating, &tid);
	/* On failure the domain is freed next: iommu_domain_free reports it. */
	return 0;
}

/* ---- which pages were mapped non-coherently ---------------------------- */

static __always_inline void iommufd_filling_start(__u64 pages, __u64 ioas)
{
	struct iommufd_fill f = { .pages = pages, .ioas = ioas };
	__u32 tid = current_tid();

	/* No room to say whose maps these are: their marks would be missed. */
	if (track(&iommufd_filling_area, &tid, &f, BPF_ANY))
		fail_closed(NSFLUSH_BACKEND_IOMMUFD);
}

static __always_inline void iommufd_filling_end(void)
{
	__u32 tid = current_tid();

	bpf_map_delete_elem(&iommufd_filling_area, &tid);
}

/* int iopt_area_fill_domains(struct iopt_area *, struct iopt_pages *):
 * a new area goes into every domain of its IOAS (area->pages is set only
 * once that worked). */
SEC("fentry/iopt_area_fill_domains")
int BPF_PROG(iommufd_fill_domains_entry, struct iopt_area___nsf *area,
	     struct iopt_pages___nsf *pages)
{
	iommufd_filling_start((__u64)pages, (__u64)BPF_CORE_READ(area, iopt));
	return 0;
}

SEC("fexit/iopt_area_fill_domains")
int BPF_PROG(iommufd_fill_domains_exit)
{
	iommufd_filling_end();
	return 0;
}

/* int iopt_area_fill_domain(struct iopt_area *, struct iommu_domain *):
 * an existing area goes into a new domain. */
SEC("fentry/iopt_area_fill_domain")
int BPF_PROG(iommufd_fill_domain_entry, struct iopt_area___nsf *area)
{
	iommufd_filling_start((__u64)BPF_CORE_READ(area, pages),
			      (__u64)BPF_CORE_READ(area, iopt));
	return 0;
}

SEC("fexit/iopt_area_fill_domain")
int BPF_PROG(iommufd_fill_domain_exit)
{
	iommufd_filling_end();
	return 0;
}

/*
 * Marks @pages as mapped non-coherently by IOAS @ioas, so their unpin is a
 * reference point. IOAS_COPY shares iopt_pages between IOASes: a second
 * IOAS makes the mark's IOAS 0, and user space goes by the pid. No room
 * for the mark: every unpin is flushed.
 */
static __always_inline void iommufd_mark_pages(__u64 pages, __u64 ioas)
{
	__u64 *old = bpf_map_lookup_elem(&iommufd_nc_pages, &pages);

	if (old) {
		if (*old != ioas)
			*old = 0;
		return;
	}
	if (bpf_map_update_elem(&iommufd_nc_pages, &pages, &ioas, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&iommufd_nc_pages, &pages)) {
		fail_closed(NSFLUSH_BACKEND_IOMMUFD);
		count_untracked();
	}
}

/* Called by iommu.bpf.h's iommu_map entry for a mapping into a
 * non-coherent iommufd domain: the pages of the area being filled. */
static __always_inline void iommufd_mapping_noncoherent(void)
{
	__u32 tid = current_tid();
	struct iommufd_fill *f = bpf_map_lookup_elem(&iommufd_filling_area, &tid);

	if (f && f->pages)
		iommufd_mark_pages(f->pages, f->ioas);
}

/* void iopt_release_pages(struct kref *): the last area let go of them. */
SEC("fentry/iopt_release_pages")
int BPF_PROG(iommufd_release_pages_entry, struct kref *kref)
{
	__u64 key = (__u64)kref - bpf_core_field_offset(struct iopt_pages___nsf, kref);

	bpf_map_delete_elem(&iommufd_nc_pages, &key);
	return 0;
}

/* ---- unpin: the second reference point --------------------------------- */

struct unpin_walk {
	unsigned long *pfns;
	u32 *npfns;
	__u64 container;
	__u64 skip;		/* pages before the first one unpinned */
	__u64 left;		/* pages still to unpin */
};

/* One run of the batch, as batch_unpin() walks it. */
static long iommufd_unpin_run(__u32 i, void *data)
{
	struct unpin_walk *w = data;
	unsigned long pfn = 0;
	u32 n = 0;
	__u64 take;

	if (bpf_probe_read_kernel(&n, sizeof(n), w->npfns + i) ||
	    bpf_probe_read_kernel(&pfn, sizeof(pfn), w->pfns + i) || !n)
		return 1;
	if (w->skip >= n) {
		w->skip -= n;
		return 0;
	}
	take = n - w->skip;
	if (take > w->left)
		take = w->left;
	unpin_point(w->container, NSFLUSH_BACKEND_IOMMUFD, 0, (__u64)(pfn + w->skip) << 12,
		    take << 12);
	w->skip = 0;
	w->left -= take;
	return w->left ? 0 : 1;
}

/* static void batch_unpin(struct pfn_batch *, struct iopt_pages *,
 *			   unsigned int first_page_off, size_t npages)
 * Right before unpin_user_page_range_dirty_lock() for each run. */
SEC("fentry/batch_unpin")
int BPF_PROG(iommufd_batch_unpin_entry, struct pfn_batch___nsf *batch,
	     struct iopt_pages___nsf *pages, unsigned int first_page_off, size_t npages)
{
	__u64 key = (__u64)pages, *ioas = bpf_map_lookup_elem(&iommufd_nc_pages, &key);
	struct unpin_walk w = {
		.skip = first_page_off,
		.left = npages,
	};
	__u32 runs;

	if ((!ioas && !failed_closed(NSFLUSH_BACKEND_IOMMUFD)) || !npages)
		return 0;
	w.container = ioas ? *ioas : 0;
	w.pfns = BPF_CORE_READ(batch, pfns);
	w.npfns = BPF_CORE_READ(batch, npfns);
	runs = BPF_CORE_READ(batch, end);
	if (runs > IOMMUFD_MAX_RUNS)
		runs = IOMMUFD_MAX_RUNS;
	bpf_loop(runs, iommufd_unpin_run, &w, 0);
	return 0;
}

/* ---- groups joining and leaving HWPTs ------------------------------------ */

/* int iommu_attach_group_handle(struct iommu_domain *, struct iommu_group *,
 *				 struct iommu_attach_handle *) */
SEC("fexit/iommu_attach_group_handle")
int BPF_PROG(iommufd_attach_handle_exit, struct iommu_domain *domain,
	     struct iommu_group *group, void *handle, int ret)
{
	__u64 key = (__u64)domain;
	struct domain_info *d = bpf_map_lookup_elem(&domains, &key);
	struct iommufd_alloc *a;
	__u32 tid;

	if (ret)
		return 0;
	if (d) {
		group_event(NSFLUSH_EV_ATTACH, key, group, d);
		return 0;
	}
	/* an automatic domain: attached before it joins the IOAS */
	tid = current_tid();
	a = bpf_map_lookup_elem(&iommufd_allocating, &tid);
	if (a) {
		a->domain = key;
		a->group = (__u64)group;
	} else if (wanted()) {
		/* iommufd_hwpt_paging_alloc not hooked: keep the group anyway */
		struct iommufd_alloc pending = { .domain = key, .group = (__u64)group };

		track(&iommufd_allocating, &tid, &pending, BPF_ANY);
	}
	return 0;
}

/* void iommu_detach_group_handle(struct iommu_domain *, struct iommu_group *) */
SEC("fentry/iommu_detach_group_handle")
int BPF_PROG(iommufd_detach_handle_entry, struct iommu_domain *domain,
	     struct iommu_group *group)
{
	group_left((__u64)domain, group);
	return 0;
}

/* int iommu_replace_group_handle(struct iommu_group *, struct iommu_domain *,
 *				  struct iommu_attach_handle *) */
SEC("fentry/iommu_replace_group_handle")
int BPF_PROG(iommufd_replace_handle_entry, struct iommu_group *group)
{
	__u64 old = (__u64)BPF_CORE_READ(group, domain);
	__u32 tid = current_tid();

	track(&iommufd_replacing, &tid, &old, BPF_ANY);
	return 0;
}

SEC("fexit/iommu_replace_group_handle")
int BPF_PROG(iommufd_replace_handle_exit, struct iommu_group *group,
	     struct iommu_domain *domain, void *handle, int ret)
{
	__u32 tid = current_tid();
	__u64 *old = bpf_map_lookup_elem(&iommufd_replacing, &tid);
	__u64 key = (__u64)domain;
	struct domain_info *d;

	if (!old)
		return 0;
	if (!ret && *old != key) {
		group_left(*old, group);
		d = bpf_map_lookup_elem(&domains, &key);
		if (d)
			group_event(NSFLUSH_EV_ATTACH, key, group, d);
	}
	bpf_map_delete_elem(&iommufd_replacing, &tid);
	return 0;
}

/* int iommufd_device_attach(struct iommufd_device *, ...) and
 * int iommufd_device_replace(...): every attach of a device runs inside
 * one of them, and what this thread kept for it ends with it, also where
 * no later hook ends it (an attach to a nested HWPT, whose domain never
 * joins an IOAS, or one that failed half-way). */
static __always_inline void iommufd_attach_done(void)
{
	__u32 tid = current_tid();

	bpf_map_delete_elem(&iommufd_allocating, &tid);
	bpf_map_delete_elem(&iommufd_replacing, &tid);
}

SEC("fexit/iommufd_device_attach")
int BPF_PROG(iommufd_device_attach_exit)
{
	iommufd_attach_done();
	return 0;
}

SEC("fexit/iommufd_device_replace")
int BPF_PROG(iommufd_device_replace_exit)
{
	iommufd_attach_done();
	return 0;
}

#endif /* NSFLUSH_IOMMUFD_BPF_H */
