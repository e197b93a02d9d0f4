/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flush kfunc's contract, shared by the helper module (kmod/), the BPF
 * programs that call it and the user-space tools that read its results.
 * Only fixed-width __u64/__s32 types: this header is included from kernel
 * code, from BPF code built against vmlinux.h and from user space.
 */
#ifndef NSFLUSH_KFUNC_H
#define NSFLUSH_KFUNC_H

/* Why part of a requested range was not CLFLUSHed. Order is ABI. */
enum nsflush_skip_reason {
	NSFLUSH_SKIP_NO_PAGE = 0,	/* !pfn_valid(): a hole or MMIO, no struct page */
	NSFLUSH_SKIP_RESERVED = 1,	/* PageReserved(): firmware, ROM, legacy MMIO (VGA) */
	NSFLUSH_SKIP_NOT_MAPPED = 2,	/* not present in the kernel direct map */
	NSFLUSH_SKIP_UNCACHED = 3,	/* direct map caching mode is not write-back */
	NSFLUSH_SKIP_NR = 4,
};

/*
 * Filled by nsflush_flush_phys(): flushed_bytes plus the sum of
 * skipped_bytes[] always equals the requested length on success.
 */
struct nsflush_flush_result {
	__u64 flushed_bytes;
	__u64 skipped_bytes[NSFLUSH_SKIP_NR];
};

/*
 * kfunc (TRACING and SYSCALL programs):
 *   int nsflush_flush_phys(__u64 phys, __u64 len, struct nsflush_flush_result *res);
 * Returns 0, or, with nothing flushed and *res zeroed:
 *   -EINVAL     len == 0
 *   -EOVERFLOW  phys + len wraps around
 *   -ERANGE     the range ends beyond the end of RAM (max_pfn)
 */

#ifdef __bpf__
/* Declared once for every BPF program that calls it (clang defines __bpf__
 * for -target bpf). An object that uses it cannot load without the module:
 * keep such programs in objects of their own. */
extern int nsflush_flush_phys(__u64 phys, __u64 len,
			      struct nsflush_flush_result *res) __ksym;
#endif

/* Context of the SYSCALL program that user space runs to flush a range. */
struct nsflush_flush_args {
	__u64 phys;			/* in */
	__u64 len;			/* in */
	__s32 ret;			/* out: the kfunc's return value */
	__u32 pad;
	struct nsflush_flush_result res;	/* out */
};

#endif /* NSFLUSH_KFUNC_H */
