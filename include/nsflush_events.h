/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one event ABI: written by the BPF programs into the ring buffer,
 * read by nsflushd. Fixed-width types only; every field means the same for
 * every backend. Kernel addresses (container, domain) are opaque ids.
 */
#ifndef NSFLUSH_EVENTS_H
#define NSFLUSH_EVENTS_H

#include "nsflush_kfunc.h"

#define NSFLUSH_COMM_LEN 16

enum nsflush_event_kind {
	/* A group was attached to a domain (new, or merged into an existing
	 * one): domain, group, coherent. */
	NSFLUSH_EV_ATTACH = 1,
	/* A group left a domain: domain, group. */
	NSFLUSH_EV_DETACH = 2,
	/* A domain we track was freed: domain. */
	NSFLUSH_EV_DOMAIN_FREE = 3,
	/* A pinned run was mapped into a non-coherent domain: domain, iova,
	 * phys, bytes; map_ret is iommu_map()'s result. In enforce mode the
	 * flush fields say what was flushed right before the mapping. */
	NSFLUSH_EV_MAP = 4,
	/* IOVA range unmapped from a non-coherent domain: domain, iova,
	 * bytes = what the kernel reports unmapped. */
	NSFLUSH_EV_UNMAP = 5,
	/* A run is about to be unpinned: container, iova, phys, bytes. Sent
	 * for containers that ever had a non-coherent domain. In enforce
	 * mode the flush fields say what was flushed right before. */
	NSFLUSH_EV_UNPIN = 6,
};

enum nsflush_backend {
	NSFLUSH_BACKEND_TYPE1 = 1,
	NSFLUSH_BACKEND_IOMMUFD = 2,
	NSFLUSH_BACKEND_NR
};

/* origin of a MAP */
enum nsflush_origin {
	NSFLUSH_ORIGIN_MAP = 0,		/* a map request (VFIO_IOMMU_MAP_DMA, IOAS_MAP) */
	NSFLUSH_ORIGIN_ATTACH = 1,	/* while attaching a domain: replay/fill of
					 * existing mappings, type1's 2-page probe */
	NSFLUSH_ORIGIN_FOUND = 2,	/* found mapped when nsflushd started
					 * (struct nsflush_found), not seen mapping */
};

/* flush_state: what happened at this reference point, kernel side */
enum nsflush_flush_state {
	NSFLUSH_FLUSH_NONE = 0,		/* no flush attempted (audit/flush mode) */
	NSFLUSH_FLUSH_DONE = 1,		/* kfunc ran: flush_ret, flushed/skipped */
};

/* Counters of the BPF side's stats array, by index. Either one means the
 * record may be missing something: user space reports their sum as lost
 * events and the audit as incomplete. */
enum nsflush_stat {
	NSFLUSH_STAT_LOST = 0,		/* an event the ring buffer had no room for */
	NSFLUSH_STAT_UNTRACKED = 1,	/* a tracking map was full: a domain,
					 * mapping or unpin may be unrecorded */
	NSFLUSH_STAT_NR
};

/*
 * What the start-up walk of kernel state (the "found" iterator program)
 * writes, one record each, for every process holding a VFIO container:
 * its domains, then the runs mapped in that container. (Runs are described
 * by the VMM's user address; user space resolves them to physical pages.)
 */
enum nsflush_found_kind {
	NSFLUSH_FOUND_DOMAIN = 1,	/* pid, container, domain, coherent, group */
	NSFLUSH_FOUND_RUN = 2,		/* pid (whose mm holds vaddr), container,
					 * iova, vaddr, bytes */
	NSFLUSH_FOUND_UNREADABLE = 3,	/* pid holds a VFIO file whose mappings
					 * the walk cannot read (backend says which) */
};

struct nsflush_found {
	__u32 kind;		/* enum nsflush_found_kind */
	__u32 pid;
	__u64 container;
	__u64 domain;
	__u64 iova;
	__u64 vaddr;
	__u64 bytes;
	__u64 start_ns;		/* the process's start (task->start_time) */
	__u32 group;
	__u8 backend;
	__u8 coherent;
	__u8 pad[2];
	char comm[NSFLUSH_COMM_LEN];
};

/* Bumped whenever a pinned map's layout or meaning changes: nsflushd never
 * adopts pins of another ABI (see nsflush_control.abi). */
#define NSFLUSH_ABI_VERSION 1

/*
 * The one entry of the pinned array map "control": what nsflushd keeps
 * about the pinned programs across its restarts and upgrades. Written only
 * by nsflushd, under the pin directory's lock. (What the programs learn,
 * fail-closed flags included, lives in their own pinned maps.)
 */
struct nsflush_control {
	__u32 abi;		/* NSFLUSH_ABI_VERSION of the pins' creator */
	__u32 target_tgid;	/* the programs record only this tgid (0: all) */
	__u64 created_ns;	/* CLOCK_MONOTONIC at pin creation: the record
				 * of every later map and unpin starts here */
	__u64 enforce_since_ns;	/* since when enforcing programs have been
				 * attached without a gap (0: not enforcing) */
	__u64 stopped_ns;	/* when the last nsflushd stopped cleanly: the
				 * ring buffer holds every event since (or
				 * counts it lost); 0 while one runs, or after
				 * one died */
	__u64 replaced_misses;	/* recursion misses of hooks since replaced:
				 * the kernel forgets a program's count with it */
};

struct nsflush_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() at the reference point */
	__u64 done_ns;		/* MAP: when the mapping went live (iommu_map
				 * returned); UNPIN: = ts_ns (unpin follows) */
	__u32 kind;		/* enum nsflush_event_kind */
	__u32 pid;		/* tgid of the VMM */
	__u64 container;	/* the VMM's address space (vfio_iommu, IOAS) */
	__u64 domain;		/* the iommu_domain */
	__u64 iova;
	__u64 phys;
	__u64 bytes;
	__u32 group;		/* ATTACH/DETACH: IOMMU group id */
	__u8 backend;		/* enum nsflush_backend */
	__u8 coherent;		/* ATTACH: the domain enforces coherency */
	__u8 flush_state;	/* enum nsflush_flush_state */
	__u8 origin;		/* MAP: enum nsflush_origin */
	__s32 map_ret;		/* MAP: iommu_map() result */
	__s32 flush_ret;	/* kfunc result when flush_state == DONE */
	struct nsflush_flush_result flush;
	char comm[NSFLUSH_COMM_LEN];
};

#endif /* NSFLUSH_EVENTS_H */
