/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit's reports, rendered from the state's queries (state.h): JSON
 * for scripts, a table for people. pid 0: every VMM.
 *
 * JSON:
 * {
 *   "version": 1, "mode": "enforce", "pid": 123 | null,
 *   "complete": true,                  false when "incomplete" is not empty
 *   "incomplete": [ "lost-events", "hooks-missed", "started-before-watch",
 *                   "mappings-unreadable", "state-full" ]   why not
 *   "summary": { "noncoherent_domains": N,  currently attached, non-coherent
 *                "coherent_domains": N,
 *                "mapped_bytes": N,         ever mapped into non-coherent domains
 *                "mapped_by_origin": {"map": N, "attach": N, "found": N},
 *                "live_bytes": N,           still mapped now
 *                "live_runs": N,            runs not yet unpinned
 *                "flushed_bytes": N,        flushed for these VMMs (map + unpin)
 *                "unflushed_bytes": N,      bytes of ranges with a reason
 *                "unflushed_by_reason": {"no-flush-before-map": N, ...},
 *                "preexisting_bytes": N,    of which reason "pre-existing"
 *                "done_bytes": N,           runs unpinned with no reason of
 *                                           their own: folded, not in "ranges"
 *                "folded_ranges": N, "folded_bytes": N,   ranges with a reason
 *                                           beyond the history kept: counted
 *                                           in unflushed_bytes, not listed
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
 * "ranges" are nsf_state_ranges(): the live runs and the finished ranges
 * with a reason. Lost events make "complete" false and add no range.
 *
 * The table: summary, VMMs, domains, the ranges with a reason; says
 * AUDIT INCOMPLETE, and why, when it is.
 */
#ifndef NSF_REPORT_H
#define NSF_REPORT_H

#include <stdio.h>
#include <linux/types.h>

struct nsf_state;

void nsf_report_json(const struct nsf_state *s, __u32 pid, FILE *out);
void nsf_report_table(const struct nsf_state *s, __u32 pid, FILE *out);

#endif /* NSF_REPORT_H */
