/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nsflushd's per-VMM state, built from kernel events alone: events in,
 * queries out. It reads nothing itself but /proc/PID (is a VMM still
 * there, when did it start) and /sys/kernel/iommu_groups (a group's
 * devices). The reports are rendered from the queries (report.h, prom.h).
 *
 * Vocabulary
 *   VMM       a process (pid) that drove VFIO/iommufd; kept after it exits
 *             (the last NSF_STATE_MAX_EXITED of them).
 *   domain    an iommu_domain some VMM's groups are attached to; coherent or not.
 *   run       a physically contiguous range mapped into a NON-coherent
 *             domain by one MAP event: domain, iova, phys, bytes; live until
 *             it is unpinned.
 *   unflushed a range of guest-reachable memory without the flush the seed
 *             series would have done, with one reason:
 *               no-flush-before-map    mapped (live) with no completed flush
 *                                      before it went live
 *               no-flush-before-unpin  an ever-non-coherently-mapped run was
 *                                      unpinned with no flush right before
 *               late                   a daemon-triggered (flush mode) flush
 *                                      completed only after the mapping went
 *                                      live / after the unpin
 *               skipped-non-ram        the flush skipped these bytes (not
 *                                      ordinary cacheable RAM)
 *               pre-existing           found mapped when nsflushd started (the
 *                                      start-up walk), its flush at map unknown
 *
 * Memory grows with what is live, not with history:
 *   - a live run costs 24 bytes plus its index entries, 12-25 bytes each:
 *     one for type1 (by IOVA), two for iommufd (by IOVA and by phys);
 *   - a run unpinned with no reason of its own (its unpin's problem, if
 *     any, is a record of its own) is folded into its VMM's counters
 *     ("done_bytes") and forgotten;
 *   - a VMM's freed domains: the newest NSF_STATE_MAX_FREED, and older
 *     ones only while a live run or a kept range names them;
 *   - a finished range with a reason (an unpinned run that was unflushed,
 *     an unpin's problem) is kept as history, at most NSF_STATE_MAX_HISTORY
 *     of them over all VMMs (24 bytes each); beyond that the oldest of the
 *     VMM with the most are folded into its counters ("folded_ranges",
 *     "folded_bytes"): still counted in unflushed_bytes, no longer listed.
 * Runs are found through range indexes (rindex.h), so an event costs
 * O(log n) in live runs, however long some of them are.
 */
#ifndef NSF_STATE_H
#define NSF_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "names.h"
#include "nsflush_events.h"

#define NSF_STATE_MAX_EXITED	64		/* exited VMMs kept for reports */
#define NSF_STATE_MAX_HISTORY	(1U << 20)	/* finished ranges with a reason, kept */
#define NSF_STATE_MAX_DOMAINS	16384		/* domains kept at once */
#define NSF_STATE_MAX_FREED	64		/* a VMM's freed domains kept, at
						 * least (and any still named) */

struct nsf_state;

struct nsf_state *nsf_state_new(enum nsf_mode mode);
/* The daemon moved to another mode (audit -> enforce once the module is there). */
void nsf_state_set_mode(struct nsf_state *s, enum nsf_mode mode);
void nsf_state_free(struct nsf_state *s);

/*
 * Applies one kernel event (the ring buffer's order is the kernel's).
 * Returns its ticket: what it made, for nsf_state_daemon_flush(), good
 * until the next event.
 */
__u64 nsf_state_event(struct nsf_state *s, const struct nsflush_event *e);

/*
 * flush mode: the daemon flushed the range of the MAP or UNPIN event of
 * @ticket itself (@kfunc_ret 0: the kfunc ran, its counts in @res). Always
 * after the mapping went live / the unpin: what the event made becomes
 * "late", its skipped bytes "skipped-non-ram". False when nothing changed:
 * the flush failed, the event made nothing to flush, or the ticket is
 * stale (another event came since).
 */
bool nsf_state_daemon_flush(struct nsf_state *s, __u64 ticket, int kfunc_ret,
			    const struct nsflush_flush_result *res);

/*
 * The hooks have been live since @ticks (nsf_boottime_ticks()). A process
 * that started before then may have mapped memory unseen: its report is
 * incomplete ("started-before-watch"). 0 (the default): not checked.
 */
void nsf_state_set_watch_start(struct nsf_state *s, __u64 ticks);

/* The start-up walk could not read what @pid had mapped (found.h): its
 * audit is incomplete ("mappings-unreadable"). */
void nsf_state_unreadable(struct nsf_state *s, __u32 pid, const char *comm);

/* Hooks the kernel skipped (nsf_tracer_missed(), running total): the
 * audit is incomplete ("hooks-missed"). */
void nsf_state_set_missed(struct nsf_state *s, __u64 missed);

/* Events the kernel side could not deliver (running total). */
void nsf_state_set_lost(struct nsf_state *s, __u64 lost);

/* Marks VMMs whose process is gone as exited; forgets the oldest exited
 * ones beyond NSF_STATE_MAX_EXITED, so state and metrics stay bounded. */
void nsf_state_refresh(struct nsf_state *s);

/* ---- queries (pid 0: every VMM) ---------------------------------------- */

enum nsf_mode nsf_state_mode(const struct nsf_state *s);

/* Does the state know this pid (it drove VFIO while we watched)? */
bool nsf_state_has_pid(const struct nsf_state *s, __u32 pid);

struct nsf_summary {
	__u64 noncoherent, coherent;	/* domains attached now */
	__u64 mapped;			/* ever mapped into non-coherent domains */
	__u64 mapped_by_origin[3];	/* of which by enum nsflush_origin */
	__u64 live;			/* still mapped now */
	__u64 flushed;			/* flushed for these VMMs (map + unpin) */
	__u64 unflushed;		/* bytes of ranges with a reason */
	__u64 by_reason[NSF_REASON_NR];	/* of which by reason */
	__u64 done;			/* runs ended well, folded, not listed */
	__u64 folded_ranges, folded_bytes; /* ranges with a reason beyond the
					    * history kept: counted, not listed */
	__u64 live_runs;		/* runs not yet unpinned */
};
void nsf_state_summary(const struct nsf_state *s, __u32 pid, struct nsf_summary *sum);

/* Why the audit of @pid is incomplete: NSF_INCOMPLETE_* bits, 0: it is not. */
unsigned int nsf_state_incomplete(const struct nsf_state *s, __u32 pid);
__u64 nsf_state_lost(const struct nsf_state *s);
__u64 nsf_state_missed(const struct nsf_state *s);

/* nsflush-audit's exit status for @pid: INCOMPLETE, else UNFLUSHED when
 * some range has a reason, else CLEAN. */
enum nsf_status nsf_state_exit_status(const struct nsf_state *s, __u32 pid);

struct nsf_vmm_info {
	__u32 pid;
	const char *comm;	/* NUL-terminated, as the kernel gave it */
	bool exited;
	bool shadowed;		/* a newer VMM has the same pid */
};
/* Calls @fn for each VMM of @pid, oldest first. */
void nsf_state_vmms(const struct nsf_state *s, __u32 pid,
		    void (*fn)(void *ctx, const struct nsf_vmm_info *v,
			       const struct nsf_summary *sum), void *ctx);

struct nsf_domain_info {
	__u64 id, container;	/* container: the type1 container or iommufd IOAS */
	__u32 pid;
	const char *comm;
	unsigned int backend;	/* enum nsflush_backend */
	bool coherent;
	const char *state;	/* "attached" | "detached" | "freed" */
	const __u32 *groups;	/* every group ever attached, sorted */
	size_t ngroups;
	const char *const *devices;	/* their PCI devices, sorted, once each */
	size_t ndevices;
};
/* Calls @fn for each domain of @pid's VMMs, in the order they were met. */
void nsf_state_domains(const struct nsf_state *s, __u32 pid,
		       void (*fn)(void *ctx, const struct nsf_domain_info *d), void *ctx);

struct nsf_range {
	__u32 pid;
	__u64 phys, iova, bytes, domain;
	unsigned int origin;		/* enum nsflush_origin */
	enum nsf_run_state state;
	enum nsf_reason reason;
	bool at_unpin;			/* an unpin's problem, not a run */
	bool flushed_before_map, flushed_before_unpin;
};
/*
 * Calls @fn for each range of @pid: every live run, every finished range
 * with a reason still kept. By pid, then domain; within a domain, the
 * mapped runs by IOVA, then the others by attributes and IOVA. Adjacent
 * ranges (phys and IOVA contiguous, same attributes) are merged.
 *
 * A run can so show twice: as the run (point "map") and as its unpin's
 * problem (point "unpin", reason no-flush-before-unpin, late or
 * skipped-non-ram), made when an UNPIN meets runs. An UNPIN counts only
 * where it meets this VMM's runs not yet unpinned, once per phys byte (the
 * same pages in two domains are one unpin problem). The kfunc does not say
 * where in a range it skipped bytes: they are put at the range's end.
 */
void nsf_state_ranges(const struct nsf_state *s, __u32 pid,
		      void (*fn)(void *ctx, const struct nsf_range *r), void *ctx);

struct nsf_state_totals {
	__u64 flushed;				/* bytes, monotonic */
	__u64 skipped[NSFLUSH_SKIP_NR];		/* bytes, monotonic */
	__u64 events;				/* events applied */
	__u64 live_runs, history;		/* held now */
	__u64 mem_bytes;			/* the engine's own memory */
};
void nsf_state_totals(const struct nsf_state *s, struct nsf_state_totals *t);

#endif /* NSF_STATE_H */
