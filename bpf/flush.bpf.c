// SPDX-License-Identifier: GPL-2.0
/*
 * SYSCALL program that user space runs (BPF_PROG_TEST_RUN) to flush a
 * physical range through the helper module's kfunc. Kept in its own
 * object: a kfunc extern that cannot be resolved fails the whole object's
 * load, and audit mode must work without the module.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "nsflush_kfunc.h"

char LICENSE[] SEC("license") = "GPL";

SEC("syscall")
int flush_phys(struct nsflush_flush_args *args)
{
	/* kfunc memory arguments must live on the stack, not in ctx */
	struct nsflush_flush_result res = {};

	args->ret = nsflush_flush_phys(args->phys, args->len, &res);
	args->res = res;
	return 0;
}
