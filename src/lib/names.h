/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One table of the words nsflush says: modes, backends, origins, run
 * states, unflushed reasons, flush skip reasons, why an audit is
 * incomplete, and the audit's exit statuses. Every report, metric and
 * message takes its words from here.
 */
#ifndef NSF_NAMES_H
#define NSF_NAMES_H

#include <linux/types.h>
#include "nsflush_events.h"

enum nsf_mode { NSF_MODE_AUDIT, NSF_MODE_FLUSH, NSF_MODE_ENFORCE, NSF_MODE_NR };

/* Where a run is in its life. */
enum nsf_run_state { NSF_RUN_MAPPED, NSF_RUN_UNMAPPED, NSF_RUN_UNPINNED, NSF_RUN_STATE_NR };

/* Why a range is unflushed (state.h); NONE: it is not. */
enum nsf_reason {
	NSF_REASON_NONE,
	NSF_REASON_NO_FLUSH_BEFORE_MAP,
	NSF_REASON_NO_FLUSH_BEFORE_UNPIN,
	NSF_REASON_LATE,
	NSF_REASON_SKIPPED_NON_RAM,
	NSF_REASON_PRE_EXISTING,
	NSF_REASON_NR
};

/* Why an audit is incomplete (a bit each). */
enum nsf_incomplete {
	NSF_INCOMPLETE_LOST_EVENTS = 1 << 0,
	NSF_INCOMPLETE_HOOKS_MISSED = 1 << 1,
	NSF_INCOMPLETE_STARTED_BEFORE_WATCH = 1 << 2,
	NSF_INCOMPLETE_MAPPINGS_UNREADABLE = 1 << 3,
	NSF_INCOMPLETE_STATE_FULL = 1 << 4,
	NSF_INCOMPLETE_NR = 5
};

/* nsflush-audit's exit status, and the control socket's. */
enum nsf_status {
	NSF_STATUS_CLEAN = 0,		/* every byte flushed */
	NSF_STATUS_UNFLUSHED = 1,	/* some range has a reason */
	NSF_STATUS_ERROR = 2,		/* usage or operational error */
	NSF_STATUS_INCOMPLETE = 3,	/* the audit could not see everything */
};

const char *nsf_mode_name(enum nsf_mode mode);
const char *nsf_event_kind_name(unsigned int kind);	/* enum nsflush_event_kind */
const char *nsf_backend_name(unsigned int backend);	/* enum nsflush_backend */
const char *nsf_origin_name(unsigned int origin);	/* enum nsflush_origin */
const char *nsf_run_state_name(enum nsf_run_state state);
const char *nsf_reason_name(enum nsf_reason reason);	/* NULL for NONE */
const char *nsf_skip_name(unsigned int skip);		/* enum nsflush_skip_reason */
/* bit: one NSF_INCOMPLETE_* */
const char *nsf_incomplete_name(unsigned int bit);

#endif /* NSF_NAMES_H */
