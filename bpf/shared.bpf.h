/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every hook family shares: the maps, event emission, the optional
 * flush and the unpin reference point. Backend headers include this one
 * only; nothing here knows a backend.
 *
 * A domain is "ours" once a backend attached a VMM's group to it (the
 * domains map). While a backend is attaching (attaching map, per thread)
 * its new domain is not in the map yet but is already mapped into (type1's
 * replay and 2-page probe), so the thread's pending domain counts too; its
 * coherency comes from the vendor's enforce_cache_coherency op, called
 * before any of that. Everything else iommu_map() does (the DMA API for
 * every other device) is filtered out here and never reaches user space.
 *
 * Every map but the per-object .rodata is pinned by nsflushd and outlives
 * it: programs of a newer build adopt them, so nothing they hold may
 * change meaning without NSFLUSH_ABI_VERSION changing.
 */
#ifndef NSFLUSH_SHARED_BPF_H
#define NSFLUSH_SHARED_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "nsflush_events.h"

/* Set before load. */
const volatile __u32 target_tgid = 0;	/* 0: every process */

struct domain_info {
	__u64 container;
	__u32 pid;
	__u8 coherent;
	__u8 backend;
	__u8 early;		/* type1: learnt while being attached, not yet
				 * announced (no ATTACH event); gone silently if
				 * the attach merges it away */
};

struct attach_ctx {
	__u64 container;
	__u64 group;		/* struct iommu_group * being attached */
	__u64 domain;		/* last domain the group was attached to */
	__u8 cc_known;		/* the vendor op ran for domain */
	__u8 coherent;
	__u8 backend;
	/* type1 probes a new domain with 2 kernel pages, mapped, unmapped and
	 * freed (vfio_test_domain_fgsp): where they went, so that their unmap
	 * is the unpin point the seed flushes them at */
	__u64 probe_iova;
	__u64 probe_phys;
};

#define MAX_DOMAINS 4096
#define MAX_THREADS 4096

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_DOMAINS);
	__type(key, __u64);
	__type(value, struct domain_info);
} domains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct attach_ctx);
} attaching SEC(".maps");

/* A backend filling a domain it already told us about with the existing
 * mappings (iommufd's iopt_table_add_domain): its maps are origin=attach. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} filling SEC(".maps");

/* What the vendor's enforce_cache_coherency op answered, per domain: the
 * fallback for backends whose own coherency hook is missing. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_DOMAINS);
	__type(key, __u64);
	__type(value, __u8);
} cc_decided SEC(".maps");

/* A MAP event between iommu_map()'s entry (flush) and exit (result). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct nsflush_event);
} pending_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);	/* resized by user space before load */
} events SEC(".maps");

/* enum nsflush_stat */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NSFLUSH_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* struct nsflush_control, key 0: nsflushd's; the programs never read it,
 * but it is pinned with them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nsflush_control);
} control SEC(".maps");

/* enum nsflush_backend -> 1 once that backend fails closed (below). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NSFLUSH_BACKEND_NR);
	__type(key, __u32);
	__type(value, __u32);
} untracked SEC(".maps");

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline bool wanted(void)
{
	return !target_tgid || current_tgid() == target_tgid;
}

static __always_inline void count_stat(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void count_lost(void)
{
	count_stat(NSFLUSH_STAT_LOST);
}

static __always_inline void count_untracked(void)
{
	count_stat(NSFLUSH_STAT_UNTRACKED);
}

/* bpf_map_update_elem() for state the record depends on: a full map is
 * counted, never silent. */
static __always_inline long track(void *map, const void *key, const void *value, __u64 flags)
{
	long err = bpf_map_update_elem(map, key, value, flags);

	if (err)
		count_untracked();
	return err;
}

/* A backend that could not track what it needs to decide whether pages
 * were mapped non-coherently fails closed: from then on every one of its
 * unpins is flushed. Kept in the pinned control block, so it outlives the
 * programs that set it. */
static __always_inline void fail_closed(__u32 backend)
{
	__u32 *f = bpf_map_lookup_elem(&untracked, &backend);

	if (f)
		*f = 1;
}

static __always_inline bool failed_closed(__u32 backend)
{
	__u32 *f = bpf_map_lookup_elem(&untracked, &backend);

	return !f || *f;
}

static __always_inline void fill_common(struct nsflush_event *e, __u32 kind)
{
#ifdef NSFLUSH_BUILD_VARIANT
	/* Tests: programs that differ from the default build's, with the same
	 * maps, as an upgraded nsflushd's would (make variant). */
	bpf_get_smp_processor_id();
#endif
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = current_tgid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/*
 * Copies a prepared event into the ring buffer; a full buffer is counted.
 * The daemon is woken once an eighth of the ring waits, not for each event:
 * a wakeup per event made the VMM pay a context switch per map and unmap.
 * Below that, the daemon drains on its own timer (nsflushd's DRAIN_MS).
 */
static __always_inline void submit(const struct nsflush_event *src)
{
	struct nsflush_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 waiting;

	if (!e) {
		count_lost();
		return;
	}
	__builtin_memcpy(e, src, sizeof(*e));
	waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);	/* e included */
	bpf_ringbuf_submit(e, waiting >= bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 8 ?
			      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* The reference-point flush: only in the enforce build. */
static __always_inline void flush_range(struct nsflush_event *e)
{
#ifdef NSFLUSH_ENFORCE
	struct nsflush_flush_result res = {};

	e->flush_ret = nsflush_flush_phys(e->phys, e->bytes, &res);
	e->flush = res;
	e->flush_state = NSFLUSH_FLUSH_DONE;
#endif
}

/*
 * The unpin reference point, every backend: pages about to be unpinned
 * that were mapped non-coherently. Flushed first in the enforce build.
 */
static __always_inline void unpin_point(__u64 container, __u8 backend, __u64 iova,
					__u64 phys, __u64 bytes)
{
	struct nsflush_event e = {};

	fill_common(&e, NSFLUSH_EV_UNPIN);
	e.container = container;
	e.backend = backend;
	e.iova = iova;
	e.phys = phys;
	e.bytes = bytes;
	flush_range(&e);
	e.done_ns = e.ts_ns;
	submit(&e);
}

/*
 * Is @domain a non-coherent domain of ours, or the one this thread is
 * attaching right now? Fills container/backend for the event.
 */
static __always_inline bool noncoherent_domain(__u64 domain, struct nsflush_event *e)
{
	struct domain_info *d = bpf_map_lookup_elem(&domains, &domain);
	struct attach_ctx *a;
	__u32 tid;

	tid = current_tid();
	a = bpf_map_lookup_elem(&attaching, &tid);
	if (a && a->domain == domain) {
		e->container = a->container;
		e->backend = a->backend;
		e->origin = NSFLUSH_ORIGIN_ATTACH;
		/* No enforce_cache_coherency op: the domain cannot be coherent. */
		if (!a->cc_known)
			return !BPF_CORE_READ((struct iommu_domain *)domain, ops,
					      enforce_cache_coherency);
		return !a->coherent;
	}
	if (d) {
		__u64 *f = bpf_map_lookup_elem(&filling, &tid);

		e->container = d->container;
		e->backend = d->backend;
		e->origin = f && *f == domain ? NSFLUSH_ORIGIN_ATTACH : NSFLUSH_ORIGIN_MAP;
		return !d->coherent;
	}
	return false;
}

static __always_inline void group_event(__u32 kind, __u64 domain, struct iommu_group *group,
					const struct domain_info *d)
{
	struct nsflush_event e = {};

	fill_common(&e, kind);
	e.done_ns = e.ts_ns;
	e.domain = domain;
	e.container = d->container;
	e.backend = d->backend;
	e.coherent = d->coherent;
	e.pid = d->pid;
	if (group)
		e.group = BPF_CORE_READ(group, id);
	submit(&e);
}

/* @group leaves @domain: reported if the domain is ours. */
static __always_inline void group_left(__u64 domain, struct iommu_group *group)
{
	struct domain_info *d = bpf_map_lookup_elem(&domains, &domain);

	if (d && !d->early)
		group_event(NSFLUSH_EV_DETACH, domain, group, d);
}

#endif /* NSFLUSH_SHARED_BPF_H */
