// SPDX-License-Identifier: GPL-2.0
/*
 * nsflush's kernel side: one object, one hook family per header.
 *   shared.bpf.h  maps, events, the flush and unpin reference point
 *   type1.bpf.h   VFIO type1: which domains belong to which container,
 *                 unpins
 *   iommufd.bpf.h iommufd: HWPT domains of each IOAS, fills, unpins
 *   iommu.bpf.h   the IOMMU core hooks every backend goes through
 *                 (iommu_map/unmap, domain free, group detach, vendor
 *                 coherency decisions); after the backends, as it calls
 *                 into iommufd's
 *   found.bpf.h   the start-up walk of what was mapped before nsflush ran
 * A family whose kernel side is absent (no type1, no iommufd) is not
 * loaded: user space probes that before load.
 * nsflush_enforce.bpf.c builds this with NSFLUSH_ENFORCE, where the
 * programs call the helper module's kfunc at the reference points: that
 * build cannot load without the module; this one never needs it.
 */
#include "shared.bpf.h"
#include "type1.bpf.h"
#include "iommufd.bpf.h"
#include "iommu.bpf.h"
#include "found.bpf.h"

char LICENSE[] SEC("license") = "GPL";
