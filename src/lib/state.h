/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nsflushd's per-VMM state, built from kernel events alone, and the
 * reports made from it (JSON for nsflush-audit, the Prometheus textfile).
 *
 * Vocabulary
 *   VMM       a process (pid) that drove VFIO/iommufd; kept after it exits.
 *   domain    an iommu_domain some VMM's groups are attached to; coherent or not.
 *   run       a physically contiguous range mapped into a NON-coherent
 *             domain by one MAP event: domain, iova, phys, bytes.
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
 *               lost-events            events were lost: the report may miss
 *                                      ranges (summary.lost_events > 0)
 */
#ifndef NSF_STATE_H
#define NSF_STATE_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "nsflush_events.h"

struct nsf_state;

enum nsf_mode { NSF_MODE_AUDIT, NSF_MODE_FLUSH, NSF_MODE_ENFORCE };
const char *nsf_mode_name(enum nsf_mode mode);

struct nsf_state *nsf_state_new(enum nsf_mode mode);
/* The daemon moved to another mode (audit -> enforce once the module is there). */
void nsf_state_set_mode(struct nsf_state *s, enum nsf_mode mode);
void nsf_state_free(struct nsf_state *s);

/* Applies one kernel event (the ring buffer's order is the kernel's). */
void nsf_state_event(struct nsf_state *s, const struct nsflush_event *e);

/*
 * flush mode: the daemon flushed the range of MAP or UNPIN event @e
 * itself; it completed at @done_ns (CLOCK_MONOTONIC, same clock as the
 * events' ts). Always after the mapping went live / the unpin: "late".
 */
void nsf_state_daemon_flush(struct nsf_state *s, const struct nsflush_event *e,
			    int kfunc_ret, const struct nsflush_flush_result *res,
			    __u64 done_ns);

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
 * ones beyond a fixed number, so state and metrics stay bounded. */
void nsf_state_refresh(struct nsf_state *s);

/* Does the state know this pid (it drove VFIO while we watched)? */
bool nsf_state_has_pid(const struct nsf_state *s, __u32 pid);

/*
 * The report as one JSON document (pid 0: every VMM):
 * {
 *   "version": 1, "mode": "enforce", "pid": 123 | null,
 *   "complete": true,                  false when lost_events > 0 or the
 *                                      VMM started before the watch
 *   "incomplete": [ "lost-events", "hooks-missed", "started-before-watch",
 *                   "mappings-unreadable" ]   why not
 *                                      complete (empty when it is)
 *   "summary": { "noncoherent_domains": N,  currently attached, non-coherent
 *                "coherent_domains": N,
 *                "mapped_bytes": N,         ever mapped into non-coherent domains
 *                "live_bytes": N,           still mapped now
 *                "flushed_bytes": N,        flushed for these VMMs (map + unpin)
 *                "unflushed_bytes": N,      sum of "bytes" of ranges with a reason
 *                "preexisting_bytes": N,    of which reason "pre-existing"
 *                "lost_events": N,
 *                "hook_misses": N },        hooks the kernel skipped (recursion)
 *   "vmms":    [ { "pid", "comm", "exited" } ],
 *   "domains": [ { "domain": "0x..", "pid", "comm",
 *                  "backend": "vfio-type1" | "iommufd",
 *                  "container": "0x..",  the address space it serves: the
 *                                        type1 container or the iommufd IOAS
 *                  "coherent": bool, "groups": [N], "devices": ["0000:00:01.0"],
 *                  (every group ever attached to it, and their devices)
 *                  "state": "attached" | "detached" | "freed" } ],
 *   "ranges":  [ { "pid", "phys": "0x..", "bytes": N, "iova": "0x..",
 *                  "domain": "0x..", "origin": "map" | "attach" | "found",
 *                  "point": "map" | "unpin",   the reference point it describes:
 *                                              the run as mapped, or its unpin
 *                  "state": "mapped" | "unmapped" | "unpinned",
 *                  "flushed_before_map": bool, "flushed_before_unpin": bool,
 *                  "reason": null | "no-flush-before-map" | ... } ]
 * }
 * Adjacent ranges (phys and iova contiguous, same attributes) are merged.
 *
 * Ranges are of two kinds, both listed: a run (state mapped/unmapped/
 * unpinned, reason null or its map-time problem) and an unpin problem
 * (state "unpinned", reason no-flush-before-unpin, late or skipped-non-ram)
 * made when an UNPIN meets runs; a run can so show twice. An UNPIN counts
 * only where it meets this VMM's runs not yet unpinned, once per phys byte
 * (the same pages in two domains are one unpin problem). The kfunc does
 * not say where in a range it skipped bytes: they are put at the range's
 * end. Lost events make "complete" false and add no range ("lost-events"
 * is never a range's reason). A domain whose groups all left is "detached".
 */
void nsf_state_report_json(const struct nsf_state *s, __u32 pid, FILE *out);

/*
 * The same for people (nsflush-audit's default output): summary, domains,
 * the ranges with a reason; says INCOMPLETE when events were lost.
 */
void nsf_state_report_table(const struct nsf_state *s, __u32 pid, FILE *out);

/* nsflush-audit's exit status for @pid (0: every VMM): 3 the audit is
 * incomplete (events were lost, or the process started before the watch),
 * 1 some range has a reason, 0 all flushed. */
int nsf_state_exit_status(const struct nsf_state *s, __u32 pid);

/* Prometheus text exposition of every VMM (see README for the metrics). */
void nsf_state_write_prom(const struct nsf_state *s, FILE *out);

#endif /* NSF_STATE_H */
