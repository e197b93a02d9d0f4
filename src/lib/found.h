/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What VFIO had mapped before nsflushd watched: the start-up walk's records
 * (nsf_tracer_found), resolved to physical pages and handed to the state as
 * the events that would have described them: an ATTACH per domain, a MAP
 * per physically contiguous run and non-coherent domain, origin "found".
 *
 * A found run's flush at map is known only when enforcing hooks have been
 * attached without a gap since before its process started (the pinned
 * control block's enforce_since): it is then reported flushed; otherwise
 * its reason is "pre-existing".
 */
#ifndef NSF_FOUND_H
#define NSF_FOUND_H

#include <stdbool.h>
#include <linux/types.h>
#include "tracer.h"

struct nsf_state;
/* Sees each synthesized event after the state did, with its ticket
 * (state.h): the daemon prints or flushes it. */
typedef int (*nsf_found_event_fn)(void *ctx, const struct nsflush_event *e, __u64 ticket);

struct nsf_found_stats {
	unsigned int vmms, domains;
	__u64 runs, bytes;		/* bytes: per non-coherent domain */
	__u64 inferred_bytes;		/* of those, flushed by continuous enforcement */
	unsigned int unreadable;	/* processes whose mappings could not be read */
};

/*
 * Runs the walk and feeds @s; @fn (may be NULL) sees every synthesized
 * event after the state did. @enforce_since_ns: the
 * control block's (0: not enforcing). Fails (one line) only when the walk
 * itself cannot run; what it cannot read is marked in the state.
 */
int nsf_found_load(struct nsf_tracer *t, struct nsf_state *s, __u64 enforce_since_ns,
		   nsf_found_event_fn fn, void *ctx, struct nsf_found_stats *stats);

#endif /* NSF_FOUND_H */
