/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Module-private types of vfio_iommu_type1: only the fields nsflush reads,
 * relocated by CO-RE against the running kernel's module (or vmlinux) BTF.
 * Never a copied layout: offsets come from the kernel at load time.
 */
#ifndef NSFLUSH_VFIO_TYPES_H
#define NSFLUSH_VFIO_TYPES_H

/* drivers/vfio/vfio_iommu_type1.c: the container's IOMMU state */
struct vfio_iommu {
	struct list_head domain_list;	/* of vfio_domain.next */
	struct rb_root dma_list;	/* of vfio_dma.node, by iova */
} __attribute__((preserve_access_index));

/* one iommu_domain of the container and the groups attached to it */
struct vfio_domain {
	struct iommu_domain *domain;
	struct list_head next;
	struct list_head group_list;	/* of vfio_iommu_group.next */
	bool enforce_cache_coherency : 1;
} __attribute__((preserve_access_index));

struct vfio_iommu_group {
	struct iommu_group *iommu_group;
	struct list_head next;
} __attribute__((preserve_access_index));

/* one VFIO_IOMMU_MAP_DMA mapping */
struct vfio_dma {
	struct rb_node node;
	dma_addr_t iova;	/* device address of the mapping's start */
	unsigned long vaddr;	/* user address of the mapping's start */
	size_t size;		/* mapped so far (grows while it is mapped) */
	struct task_struct *task;	/* whose pages they are */
} __attribute__((preserve_access_index));

/* drivers/vfio/vfio.h (vfio.ko): where a container or group file leads */
struct vfio_iommu_driver_ops {
	char *name;
} __attribute__((preserve_access_index));

struct vfio_iommu_driver {
	const struct vfio_iommu_driver_ops *ops;
} __attribute__((preserve_access_index));

/* file->private_data of /dev/vfio/vfio */
struct vfio_container {
	struct vfio_iommu_driver *iommu_driver;
	void *iommu_data;	/* struct vfio_iommu * for type1 */
} __attribute__((preserve_access_index));

struct iommufd_ctx___nsf;

/* file->private_data of /dev/vfio/<group> */
struct vfio_group {
	struct vfio_container *container;
	struct iommufd_ctx___nsf *iommufd;	/* 6.2+: set to an iommufd instead */
} __attribute__((preserve_access_index));

#endif /* NSFLUSH_VFIO_TYPES_H */
