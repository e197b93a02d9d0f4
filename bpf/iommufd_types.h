/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private types of drivers/iommu/iommufd (iommufd_private.h, io_pagetable.h,
 * pages.c): only the fields nsflush reads, relocated by CO-RE against the
 * running kernel's BTF. The ___nsf flavour keeps them apart from any
 * definition a future vmlinux.h may carry; libbpf matches them by the name
 * before the ___.
 */
#ifndef NSFLUSH_IOMMUFD_TYPES_H
#define NSFLUSH_IOMMUFD_TYPES_H

/* an IOAS's page table; only its address is used (the IOAS's id) */
struct io_pagetable___nsf;

struct iommufd_group___nsf {
	struct iommu_group *group;
} __attribute__((preserve_access_index));

/* a bound device: the capability decides a new HWPT's coherency */
struct iommufd_device___nsf {
	struct iommufd_group___nsf *igroup;
	bool enforce_cache_coherency;
} __attribute__((preserve_access_index));

/* one IOAS_MAP / IOAS_COPY range */
struct iopt_area___nsf {
	struct io_pagetable___nsf *iopt;
	struct iopt_pages___nsf *pages;
} __attribute__((preserve_access_index));

/* the pinned user pages behind one or more areas (shared by IOAS_COPY) */
struct iopt_pages___nsf {
	struct kref kref;
} __attribute__((preserve_access_index));

/* contiguous pfn runs: pfns[i] .. pfns[i] + npfns[i] - 1, i < end */
struct pfn_batch___nsf {
	unsigned long *pfns;
	u32 *npfns;
	unsigned int end;
} __attribute__((preserve_access_index));

#endif /* NSFLUSH_IOMMUFD_TYPES_H */
