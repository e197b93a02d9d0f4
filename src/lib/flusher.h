/* SPDX-License-Identifier: GPL-2.0 */
/* Flushing a physical range from user space: a SYSCALL BPF program that
 * calls the helper module's kfunc, run with BPF_PROG_TEST_RUN. */
#ifndef NSF_FLUSHER_H
#define NSF_FLUSHER_H

#include <linux/types.h>
#include "nsflush_kfunc.h"

struct nsf_flusher;

/* Loads the SYSCALL program; one clear error line if the module is absent. */
int nsf_flusher_open(struct nsf_flusher **out);
void nsf_flusher_close(struct nsf_flusher *f);

/*
 * Flushes [phys, phys+len). Returns 0 when the kfunc ran (its own verdict
 * is in *kfunc_ret, 0 or -errno, and the byte counts in *res), or -errno
 * when the program could not be run at all.
 */
int nsf_flush_phys(struct nsf_flusher *f, __u64 phys, __u64 len,
		   int *kfunc_ret, struct nsflush_flush_result *res);

#endif /* NSF_FLUSHER_H */
