/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What nsflushd answers on its control socket (ctl.h's nsf_ctl_answer_fn,
 * once the caller has brought the state up to date): the report of a pid
 * the state knows or that exists, "no such pid" otherwise.
 */
#ifndef NSF_ANSWER_H
#define NSF_ANSWER_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

struct nsf_state;

/* The report of @pid (0: every VMM), JSON or table, into @out; returns
 * the status (ctl.h). */
int nsf_answer_report(const struct nsf_state *s, __u32 pid, bool json, FILE *out);

#endif /* NSF_ANSWER_H */
