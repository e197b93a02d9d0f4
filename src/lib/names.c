// SPDX-License-Identifier: GPL-2.0
/* The words nsflush says (names.h). */
#include <stddef.h>
#include "names.h"
#include "nsflush_kfunc.h"

#define NAME(table, i) ((i) < sizeof(table) / sizeof(table[0]) && table[i] ? table[i] : "unknown")

static const char *const modes[NSF_MODE_NR] = {
	[NSF_MODE_AUDIT] = "audit", [NSF_MODE_FLUSH] = "flush", [NSF_MODE_ENFORCE] = "enforce",
};

static const char *const kinds[] = {
	[NSFLUSH_EV_ATTACH] = "attach", [NSFLUSH_EV_DETACH] = "detach",
	[NSFLUSH_EV_DOMAIN_FREE] = "domain-free", [NSFLUSH_EV_MAP] = "map",
	[NSFLUSH_EV_UNMAP] = "unmap", [NSFLUSH_EV_UNPIN] = "unpin",
};

static const char *const backends[NSFLUSH_BACKEND_NR] = {
	[NSFLUSH_BACKEND_TYPE1] = "vfio-type1", [NSFLUSH_BACKEND_IOMMUFD] = "iommufd",
};

static const char *const origins[] = {
	[NSFLUSH_ORIGIN_MAP] = "map", [NSFLUSH_ORIGIN_ATTACH] = "attach",
	[NSFLUSH_ORIGIN_FOUND] = "found",
};

static const char *const run_states[NSF_RUN_STATE_NR] = {
	[NSF_RUN_MAPPED] = "mapped", [NSF_RUN_UNMAPPED] = "unmapped",
	[NSF_RUN_UNPINNED] = "unpinned",
};

static const char *const reasons[NSF_REASON_NR] = {
	[NSF_REASON_NO_FLUSH_BEFORE_MAP] = "no-flush-before-map",
	[NSF_REASON_NO_FLUSH_BEFORE_UNPIN] = "no-flush-before-unpin",
	[NSF_REASON_LATE] = "late",
	[NSF_REASON_SKIPPED_NON_RAM] = "skipped-non-ram",
	[NSF_REASON_PRE_EXISTING] = "pre-existing",
};

static const char *const skips[NSFLUSH_SKIP_NR] = {
	[NSFLUSH_SKIP_NO_PAGE] = "no_page",
	[NSFLUSH_SKIP_RESERVED] = "reserved",
	[NSFLUSH_SKIP_NOT_MAPPED] = "not_mapped",
	[NSFLUSH_SKIP_UNCACHED] = "uncached",
};

static const char *const incompletes[NSF_INCOMPLETE_NR] = {
	"lost-events", "hooks-missed", "started-before-watch", "mappings-unreadable",
	"state-full",
};

const char *nsf_mode_name(enum nsf_mode mode)
{
	return NAME(modes, (unsigned int)mode);
}

const char *nsf_event_kind_name(unsigned int kind)
{
	return NAME(kinds, kind);
}

const char *nsf_backend_name(unsigned int backend)
{
	return NAME(backends, backend);
}

const char *nsf_origin_name(unsigned int origin)
{
	return NAME(origins, origin);
}

const char *nsf_run_state_name(enum nsf_run_state state)
{
	return NAME(run_states, (unsigned int)state);
}

const char *nsf_reason_name(enum nsf_reason reason)
{
	return reason == NSF_REASON_NONE ? NULL : NAME(reasons, (unsigned int)reason);
}

const char *nsf_skip_name(unsigned int skip)
{
	return NAME(skips, skip);
}

const char *nsf_incomplete_name(unsigned int bit)
{
	for (unsigned int i = 0; i < NSF_INCOMPLETE_NR; i++)
		if (bit == 1U << i)
			return incompletes[i];
	return "unknown";
}
