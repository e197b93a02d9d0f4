// SPDX-License-Identifier: GPL-2.0
/*
 * bench-flush: the cost of the module's flush loop on the host CPU (under
 * the TCG guest a CLFLUSH costs nothing, so only the host can tell).
 *
 * One 1 GiB buffer, rewritten before every timed pass so that its lines
 * are dirty (the tail that fits in the cache is still cached). Three loops:
 *   a  kmod/flush_loop.h: nsflush_walk() over the range, one page verdict
 *      at a time (here always "flush"), CLFLUSHOPT per run, one SFENCE
 *   b  bare: CLFLUSHOPT over every line, one final SFENCE
 *   c  per page: SFENCE, 64 x CLFLUSHOPT, SFENCE
 * Each is run REPS times, interleaved in rotating order; the median is reported, with ns per
 * 64-byte line, GB/s and the ratios a/b and a/c (and the same from the
 * fastest run of each, steadier on a shared host). About 6 s.
 *
 *   cc -O2 -Wall -I include -I kmod -o build/bench-flush tests/bench/bench-flush.c
 *   build/bench-flush [MiB [REPS]]      (default 1024 MiB, 15 reps)
 *
 * Exits 77 (skip) on a CPU without CLFLUSHOPT.
 */
#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "flush_loop.h"

#define LINE 64

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* User-space stand-ins for the module's callbacks: every page is RAM. */
static int all_ram(u64 pfn, void *ctx)
{
	(void)pfn;
	(void)ctx;
	return NSFLUSH_FLUSH;
}

static void flush_run(u64 start, u64 end, void *ctx)
{
	(void)ctx;
	nsflush_clflushopt_lines(start, end, LINE);
}

static void loop_module(char *buf, size_t len)
{
	struct nsflush_flush_result res;

	/* "Physical" addresses are the buffer's virtual ones here. */
	nsflush_walk((unsigned long)buf, len, &res, all_ram, flush_run, NULL);
	if (res.flushed_bytes)
		nsflush_flush_fence();
	if (res.flushed_bytes != len)
		abort();
}

static void loop_bare(char *buf, size_t len)
{
	char *p;

	for (p = buf; p < buf + len; p += LINE)
		asm volatile("clflushopt %0" : "+m" (*(volatile char *)p));
	asm volatile("sfence" ::: "memory");
}

static void loop_per_page(char *buf, size_t len)
{
	char *pg, *p;

	for (pg = buf; pg < buf + len; pg += 4096) {
		asm volatile("sfence" ::: "memory");
		for (p = pg; p < pg + 4096; p += LINE)
			asm volatile("clflushopt %0" : "+m" (*(volatile char *)p));
		asm volatile("sfence" ::: "memory");
	}
}

/*
 * A plain store into every line: memset() of a large buffer uses
 * non-temporal stores, which leave nothing in the cache to flush.
 */
static void dirty(char *buf, size_t len, unsigned long v)
{
	size_t off;

	for (off = 0; off < len; off += LINE)
		*(volatile unsigned long *)(buf + off) = v + off;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(char *, size_t);
	} loops[] = {
		{ "a module loop (flush_loop.h)", loop_module },
		{ "b bare clflushopt + sfence", loop_bare },
		{ "c per-page sfence/64x/sfence", loop_per_page },
	};
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	int reps = argc > 2 ? atoi(argv[2]) : 15;
	size_t len = mib << 20, lines = len / LINE;
	double t[3][64], med[3], min[3];
	unsigned int a, b, c, d;
	char *buf;
	int r, i;

	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 23))) {
		printf("SKIP bench-flush: no CLFLUSHOPT on this CPU\n");
		return 77;
	}
	if (!mib || reps < 1 || reps > 64) {
		fprintf(stderr, "usage: bench-flush [MiB [REPS<=64]]\n");
		return 2;
	}
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	/* Rotate the order each rep so no loop always follows the same one. */
	for (r = 0; r < reps; r++) {
		for (int k = 0; k < 3; k++) {
			double t0;

			i = (r + k) % 3;

			dirty(buf, len, r * 3 + i);
			t0 = now_ns();
			loops[i].fn(buf, len);
			t[i][r] = now_ns() - t0;
		}
	}

	printf("bench-flush: %zu MiB, %d reps, median, %d-byte lines\n", mib, reps, LINE);
	for (i = 0; i < 3; i++) {
		qsort(t[i], reps, sizeof(double), cmp_double);
		med[i] = t[i][reps / 2];
		min[i] = t[i][0];
		printf("  %-30s %7.3f ns/line %7.2f GB/s %8.1f ms  (min %.3f ns/line)\n",
		       loops[i].name, med[i] / lines, len / med[i], med[i] / 1e6,
		       min[i] / lines);
	}
	/* The min ratios are steadier on a shared host than the medians. */
	printf("  ratio a/b %.3f  a/c %.3f  (min: a/b %.3f  a/c %.3f)\n",
	       med[0] / med[1], med[0] / med[2], min[0] / min[1], min[0] / min[2]);
	munmap(buf, len);
	return 0;
}
