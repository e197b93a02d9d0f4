// SPDX-License-Identifier: GPL-2.0
/*
 * Test only: makes every call of the helper module's kfunc slow (a busy
 * loop on entry), so that a preemptible kernel (preempt=full) can preempt a
 * VMM in the middle of an enforcing hook's flush and let another VMM's
 * iommu_map run the same hook on that CPU: the kernel then skips it and
 * counts a recursion miss, which nsflushd must surface.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 spins = 1 << 22;

static long spin(__u32 i, void *data)
{
	(*(__u64 *)data)++;
	return 0;
}

SEC("fentry/nsflush_flush_phys")
int BPF_PROG(slow_flush)
{
	__u64 n = 0;

	bpf_loop(spins, spin, &n, 0);
	return 0;
}
