/* SPDX-License-Identifier: GPL-2.0 */
/* The state as Prometheus text exposition (README lists the metrics): one
 * series set per VMM (pid, comm: the last NSF_STATE_MAX_EXITED exited VMMs
 * stay, then their series end), and the daemon-wide counters. */
#ifndef NSF_PROM_H
#define NSF_PROM_H

#include <stdio.h>

struct nsf_state;

void nsf_prom_write(const struct nsf_state *s, FILE *out);

#endif /* NSF_PROM_H */
