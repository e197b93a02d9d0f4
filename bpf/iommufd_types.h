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

enum iommufd_object_type___nsf {
	IOMMUFD_OBJ_IOAS___nsf = 4,	/* the value comes from the kernel */
};

/* what every object of an iommufd context starts with */
struct iommufd_object___nsf {
	enum iommufd_object_type___nsf type;
} __attribute__((preserve_access_index));

/* file->private_data of /dev/iommu: its objects, by id */
struct iommufd_ctx___nsf {
	struct xarray objects;
} __attribute__((preserve_access_index));

/* an IOAS's page table; its address is the IOAS's id (the container) */
struct io_pagetable___nsf {
	struct rb_root_cached area_itree;	/* of iopt_area.node, by iova */
} __attribute__((preserve_access_index));

struct iommufd_ioas___nsf {
	struct iommufd_object___nsf obj;
	struct io_pagetable___nsf iopt;
	struct list_head hwpt_list;	/* of iommufd_hwpt_paging.hwpt_item */
} __attribute__((preserve_access_index));

struct iommufd_hw_pagetable___nsf {
	struct iommu_domain *domain;
} __attribute__((preserve_access_index));

/* a HWPT of an IOAS: every area of the IOAS is mapped into its domain */
struct iommufd_hwpt_paging___nsf {
	struct iommufd_hw_pagetable___nsf common;
	bool enforce_cache_coherency : 1;
	struct list_head hwpt_item;
} __attribute__((preserve_access_index));

/* file->private_data of /dev/vfio/devices/vfio<N> */
struct vfio_device_file___nsf {
	struct iommufd_ctx___nsf *iommufd;	/* bound to (NULL: not yet) */
} __attribute__((preserve_access_index));

struct iommufd_group___nsf {
	struct iommu_group *group;
} __attribute__((preserve_access_index));

/* a bound device: the capability decides a new HWPT's coherency */
struct iommufd_device___nsf {
	struct iommufd_group___nsf *igroup;
	bool enforce_cache_coherency;
} __attribute__((preserve_access_index));

/* one IOAS_MAP / IOAS_COPY range: iova node.start..node.last, backed by
 * pages pages_node.start..pages_node.last of its iopt_pages */
struct iopt_area___nsf {
	struct interval_tree_node node;
	struct interval_tree_node pages_node;
	struct io_pagetable___nsf *iopt;
	struct iopt_pages___nsf *pages;	/* NULL: not filled yet */
	unsigned int page_offset;
} __attribute__((preserve_access_index));

/* 6.13 and later: pages backed by a file (IOMMU_IOAS_MAP_FILE), not uptr */
enum iopt_address_type___nsf {
	IOPT_ADDRESS_USER___nsf = 0,
};

/* the pinned user pages behind one or more areas (shared by IOAS_COPY) */
struct iopt_pages___nsf {
	struct kref kref;
	struct task_struct *source_task;	/* the mapping process's leader */
	void *uptr;				/* page-aligned user address */
	enum iopt_address_type___nsf type;	/* may be absent */
} __attribute__((preserve_access_index));

/* contiguous pfn runs: pfns[i] .. pfns[i] + npfns[i] - 1, i < end */
struct pfn_batch___nsf {
	unsigned long *pfns;
	u32 *npfns;
	unsigned int end;
} __attribute__((preserve_access_index));

#endif /* NSFLUSH_IOMMUFD_TYPES_H */
