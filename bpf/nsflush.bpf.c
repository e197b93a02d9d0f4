// SPDX-License-Identifier: GPL-2.0
/*
 * nsflush's kernel side: one object, one hook family per header.
 *   core.bpf.h   maps, events, the IOMMU core hooks every backend goes
 *                through (iommu_map/unmap, domain free, group detach,
 *                vendor coherency decisions)
 *   type1.bpf.h  VFIO type1: which domains belong to which container,
 *                unpins
 *   iommufd.bpf.h iommufd: HWPT domains of each IOAS, fills, unpins
 * A family whose kernel side is absent (no type1, no iommufd) is not
 * loaded: user space probes that before load.
 * Built twice: as is for audit/flush mode, and with NSFLUSH_ENFORCE, where
 * the programs call the helper module's kfunc at the reference points.
 * The enforce build cannot load without the module; the audit build never
 * needs it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "nsflush_events.h"
#include "vfio_types.h"
#include "iommufd_types.h"

char LICENSE[] SEC("license") = "GPL";

#include "core.bpf.h"
#include "type1.bpf.h"
#include "iommufd.bpf.h"
