/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The part of nsflush_flush_phys() that needs no kernel: argument checks,
 * the walk that splits a physical range into runs of one verdict, and the
 * cache-line flush loops. The module includes it, and so do the unit tests
 * and tests/bench/bench-flush.c, so that what is measured on the host CPU
 * is exactly the loop the module runs (under TCG a CLFLUSH costs nothing).
 *
 * In user space it maps the two kernel types it uses onto <stdint.h>.
 */
#ifndef NSFLUSH_FLUSH_LOOP_H
#define NSFLUSH_FLUSH_LOOP_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/compiler.h>
#else
#include <stdint.h>
#include <errno.h>
#include <linux/types.h>	/* __u64 etc., for nsflush_kfunc.h */
typedef uint64_t u64;
typedef uint32_t u32;
#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#endif

#include "nsflush_kfunc.h"

#define NSFLUSH_PAGE_SHIFT	12
#define NSFLUSH_PAGE_SIZE	(1ULL << NSFLUSH_PAGE_SHIFT)

/* Verdict of the classifier for a page that is ordinary write-back RAM. */
#define NSFLUSH_FLUSH		(-1)

/*
 * Check a request against the contract in nsflush_kfunc.h. @ram_end is
 * the first physical address past RAM (max_pfn << PAGE_SHIFT). Checked in
 * the documented order so one bad request always gets the same errno.
 */
static __always_inline int nsflush_check_args(u64 phys, u64 len, u64 ram_end)
{
	if (len == 0)
		return -EINVAL;
	if (phys + len < phys)
		return -EOVERFLOW;
	/* Written so that phys + len == 2^64 is not taken for 0. */
	if (phys > ram_end || len > ram_end - phys)
		return -ERANGE;
	return 0;
}

/*
 * Flush the cache lines covering [start, end) (virtual addresses) without
 * a fence: the caller fences once after the whole request, since
 * CLFLUSHOPT is only ordered by fences and a fence per page would cost
 * more than the flushes of a hot page (see tests/bench).
 */
static __always_inline void nsflush_clflushopt_lines(unsigned long start,
						     unsigned long end,
						     unsigned int line)
{
	unsigned long p;

	for (p = start & ~(unsigned long)(line - 1); p < end; p += line)
		asm volatile("clflushopt %0" : "+m" (*(volatile char *)p));
}

/* CLFLUSH is ordered against writes and other CLFLUSHes: no fence needed. */
static __always_inline void nsflush_clflush_lines(unsigned long start,
						  unsigned long end,
						  unsigned int line)
{
	unsigned long p;

	for (p = start & ~(unsigned long)(line - 1); p < end; p += line)
		asm volatile("clflush %0" : "+m" (*(volatile char *)p));
}

/*
 * The single fence after a batch of CLFLUSHOPTs: SFENCE is what orders
 * them against later stores (e.g. the doorbell that starts the DMA).
 */
static __always_inline void nsflush_flush_fence(void)
{
	asm volatile("sfence" ::: "memory");
}

/*
 * Walk [phys, phys + len) page by page. @classify returns NSFLUSH_FLUSH or
 * an enum nsflush_skip_reason for one pfn; consecutive pages with the same
 * verdict form one run, so @flush is called once per contiguous eligible
 * run (with the byte range of the request it covers, never rounded out of
 * the run's pages), and skipped runs are only counted. Both callbacks are
 * constant at every call site and get inlined.
 *
 * The caller has checked the arguments; res is filled here.
 */
static __always_inline void
nsflush_walk(u64 phys, u64 len, struct nsflush_flush_result *res,
	     int (*classify)(u64 pfn, void *ctx),
	     void (*flush)(u64 start, u64 end, void *ctx), void *ctx)
{
	u64 end = phys + len;		/* cannot wrap: checked by the caller */
	u64 run_start = phys, cur = phys;
	int run_verdict = classify(phys >> NSFLUSH_PAGE_SHIFT, ctx);
	int i;

	res->flushed_bytes = 0;
	for (i = 0; i < NSFLUSH_SKIP_NR; i++)
		res->skipped_bytes[i] = 0;

	for (;;) {
		u64 next = ((cur >> NSFLUSH_PAGE_SHIFT) + 1) << NSFLUSH_PAGE_SHIFT;
		int verdict = run_verdict;

		if (next > end)			/* last page of the request */
			next = end;
		if (next < end)
			verdict = classify(next >> NSFLUSH_PAGE_SHIFT, ctx);
		if (next == end || verdict != run_verdict) {
			if (run_verdict == NSFLUSH_FLUSH) {
				flush(run_start, next, ctx);
				res->flushed_bytes += next - run_start;
			} else {
				res->skipped_bytes[run_verdict] += next - run_start;
			}
			if (next == end)
				break;
			run_start = next;
			run_verdict = verdict;
		}
		cur = next;
	}
}

#endif /* NSFLUSH_FLUSH_LOOP_H */
