// SPDX-License-Identifier: GPL-2.0
/* nsflushd's answer to a report request (answer.h). */
#include <stdio.h>
#include <unistd.h>
#include "answer.h"
#include "ctl.h"
#include "report.h"
#include "state.h"

/* A live process that never used VFIO gets an empty report: only a pid
 * that is nowhere is an error. */
static bool proc_exists(__u32 pid)
{
	char p[32];

	snprintf(p, sizeof(p), "/proc/%u", pid);
	return access(p, F_OK) == 0;
}

int nsf_answer_report(const struct nsf_state *s, __u32 pid, bool json, FILE *out)
{
	if (pid && !nsf_state_has_pid(s, pid) && !proc_exists(pid)) {
		fprintf(out, "no such pid: %u\n", pid);
		return NSF_CTL_ERROR;
	}
	if (json)
		nsf_report_json(s, pid, out);
	else
		nsf_report_table(s, pid, out);
	return (int)nsf_state_exit_status(s, pid);
}
