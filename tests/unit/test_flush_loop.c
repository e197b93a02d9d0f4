// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kmod/flush_loop.h, the kernel-free part of the nsflush
 * module: argument checks, the walk that splits a physical range into
 * runs, and the line-flush loops on a real user buffer.
 *
 *   cc -O2 -Wall -I include -I kmod -o build/test_flush_loop tests/unit/test_flush_loop.c
 *   build/test_flush_loop
 *
 * Prints "PASS name" / "FAIL name: why" lines and "N passed, N failed";
 * exits non-zero on any failure.
 */
#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flush_loop.h"

#include "check.h"

/* A fake physical address space: one verdict per page. */
#define NPAGES 64
static int map[NPAGES];

struct run { u64 start, end; };
static struct run runs[NPAGES + 1];
static int nruns;

static int fake_classify(u64 pfn, void *ctx)
{
	(void)ctx;
	if (pfn >= NPAGES)
		abort();	/* the walk must never look past the range */
	return map[pfn];
}

static void fake_flush(u64 start, u64 end, void *ctx)
{
	(void)ctx;
	if (nruns > NPAGES)
		abort();
	runs[nruns].start = start;
	runs[nruns].end = end;
	nruns++;
}

static void test_check_args(void)
{
	const u64 ram = 0x80000000ULL;

	CHECK("args_len0", nsflush_check_args(0x1000, 0, ram) == -EINVAL, "len 0");
	CHECK("args_len0_first", nsflush_check_args(~0ULL, 0, ram) == -EINVAL,
	      "len 0 is reported before other errors");
	CHECK("args_wrap", nsflush_check_args(~0ULL - 0xfff, 0x2000, ram) == -EOVERFLOW,
	      "wrap");
	CHECK("args_wrap_to_zero", nsflush_check_args(~0ULL - 0xfff, 0x1000, ram) == -EOVERFLOW,
	      "phys + len == 2^64");
	CHECK("args_wrap_before_range",
	      nsflush_check_args(0xffffffff00000000ULL, 0x200000000ULL, ram) == -EOVERFLOW,
	      "a wrapping range is -EOVERFLOW even though it is beyond RAM");
	CHECK("args_to_ram_end", nsflush_check_args(ram - 0x1000, 0x1000, ram) == 0,
	      "range ending exactly at the end of RAM");
	CHECK("args_whole_ram", nsflush_check_args(0, ram, ram) == 0, "all of RAM");
	CHECK("args_past_ram_end", nsflush_check_args(ram - 0x1000, 0x1001, ram) == -ERANGE,
	      "one byte past RAM");
	CHECK("args_start_past_ram", nsflush_check_args(ram, 1, ram) == -ERANGE,
	      "starting at the end of RAM");
	CHECK("args_far_past_ram", nsflush_check_args(ram + 0x100000, 0x1000, ram) == -ERANGE,
	      "start beyond RAM");
	CHECK("args_huge_len", nsflush_check_args(0x1000, ram, ram) == -ERANGE,
	      "len larger than what is left");
	CHECK("args_one_byte", nsflush_check_args(0x12345, 1, ram) == 0, "one byte");
}

/* Walk [phys, phys + len) of the fake map and check every invariant. */
static int walk_ok(u64 phys, u64 len, char *why, size_t whylen)
{
	struct nsflush_flush_result res;
	u64 want_skip[NSFLUSH_SKIP_NR] = { 0 }, want_flush = 0, a, sum;
	int i;

	memset(&res, 0xa5, sizeof(res));	/* the walk must zero it */
	nruns = 0;
	nsflush_walk(phys, len, &res, fake_classify, fake_flush, NULL);

	for (a = phys; a < phys + len; ) {
		u64 next = ((a >> NSFLUSH_PAGE_SHIFT) + 1) << NSFLUSH_PAGE_SHIFT;
		int v = map[a >> NSFLUSH_PAGE_SHIFT];

		if (next > phys + len)
			next = phys + len;
		if (v == NSFLUSH_FLUSH)
			want_flush += next - a;
		else
			want_skip[v] += next - a;
		a = next;
	}
	sum = res.flushed_bytes;
	for (i = 0; i < NSFLUSH_SKIP_NR; i++)
		sum += res.skipped_bytes[i];
	if (sum != len) {
		snprintf(why, whylen, "flushed + skipped = %llu, len %llu",
			 (unsigned long long)sum, (unsigned long long)len);
		return 0;
	}
	if (res.flushed_bytes != want_flush) {
		snprintf(why, whylen, "flushed %llu, want %llu",
			 (unsigned long long)res.flushed_bytes,
			 (unsigned long long)want_flush);
		return 0;
	}
	for (i = 0; i < NSFLUSH_SKIP_NR; i++) {
		if (res.skipped_bytes[i] != want_skip[i]) {
			snprintf(why, whylen, "skipped[%d] %llu, want %llu", i,
				 (unsigned long long)res.skipped_bytes[i],
				 (unsigned long long)want_skip[i]);
			return 0;
		}
	}
	/* Runs: inside the request, only eligible pages, maximal, in order. */
	sum = 0;
	for (i = 0; i < nruns; i++) {
		struct run *r = &runs[i];

		if (r->start < phys || r->end > phys + len || r->start >= r->end) {
			snprintf(why, whylen, "run %d [%#llx,%#llx) outside the request",
				 i, (unsigned long long)r->start, (unsigned long long)r->end);
			return 0;
		}
		for (a = r->start; a < r->end; a += NSFLUSH_PAGE_SIZE - (a & (NSFLUSH_PAGE_SIZE - 1))) {
			if (map[a >> NSFLUSH_PAGE_SHIFT] != NSFLUSH_FLUSH) {
				snprintf(why, whylen, "run %d covers skipped page %llu", i,
					 (unsigned long long)(a >> NSFLUSH_PAGE_SHIFT));
				return 0;
			}
		}
		if (i && runs[i - 1].end >= r->start) {
			snprintf(why, whylen, "runs %d and %d touch: not merged", i - 1, i);
			return 0;
		}
		if ((r->start > phys && map[(r->start - 1) >> NSFLUSH_PAGE_SHIFT] == NSFLUSH_FLUSH) ||
		    (r->end < phys + len && map[r->end >> NSFLUSH_PAGE_SHIFT] == NSFLUSH_FLUSH)) {
			snprintf(why, whylen, "run %d is not maximal", i);
			return 0;
		}
		sum += r->end - r->start;
	}
	if (sum != want_flush) {
		snprintf(why, whylen, "runs cover %llu bytes, want %llu",
			 (unsigned long long)sum, (unsigned long long)want_flush);
		return 0;
	}
	return 1;
}

static void set_map(const char *s)
{
	int i;

	/* 'F' flush, '0'..'3' skip reason; the pattern repeats. */
	for (i = 0; i < NPAGES; i++) {
		char c = s[i % strlen(s)];

		map[i] = c == 'F' ? NSFLUSH_FLUSH : c - '0';
	}
}

static void test_walk(void)
{
	char why[200];
	const u64 P = NSFLUSH_PAGE_SIZE;

	set_map("F");
	CHECK("walk_all_ram", walk_ok(0, NPAGES * P, why, sizeof(why)) && nruns == 1,
	      "%s (runs %d)", why, nruns);
	CHECK("walk_one_byte", walk_ok(5 * P + 17, 1, why, sizeof(why)) && nruns == 1 &&
	      runs[0].start == 5 * P + 17 && runs[0].end == 5 * P + 18, "%s", why);
	CHECK("walk_unaligned_span", walk_ok(3 * P + 100, 4 * P, why, sizeof(why)) && nruns == 1,
	      "%s", why);

	set_map("FF1FF");	/* reserved every fifth page */
	CHECK("walk_split_runs", walk_ok(0, 20 * P, why, sizeof(why)) && nruns == 5,
	      "%s (runs %d)", why, nruns);
	CHECK("walk_starts_in_skip", walk_ok(2 * P + 5, 3 * P, why, sizeof(why)), "%s", why);

	set_map("0");
	CHECK("walk_all_skipped", walk_ok(0, 10 * P, why, sizeof(why)) && nruns == 0,
	      "%s (runs %d)", why, nruns);

	set_map("F0123F");
	CHECK("walk_every_reason", walk_ok(P / 2, 5 * P, why, sizeof(why)) && nruns == 2,
	      "%s (runs %d)", why, nruns);

	/* Random maps and ranges against the same invariants. */
	{
		int t, bad = 0;

		srand(12345);
		for (t = 0; t < 20000 && !bad; t++) {
			u64 phys, len;
			int i;

			for (i = 0; i < NPAGES; i++) {
				int r = rand() % 6;

				map[i] = r < 2 ? NSFLUSH_FLUSH : r - 2;
			}
			phys = (u64)rand() % (NPAGES * P);
			len = 1 + (u64)rand() % (NPAGES * P - phys);
			if (!walk_ok(phys, len, why, sizeof(why)))
				bad = 1;
		}
		CHECK("walk_random", !bad, "%s", why);
	}
}

static int has_clflushopt(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 23));
}

/* The real instructions on a user buffer: no fault, data unchanged. */
static void test_flush_buffer(void)
{
	size_t len = 1 << 20, i;
	unsigned char *buf = aligned_alloc(4096, len + 4096);
	int ok = 1;

	if (!buf) {
		CHECK("flush_buffer_alloc", 0, "out of memory");
		return;
	}
	for (i = 0; i < len + 4096; i++)
		buf[i] = (unsigned char)(i * 7);

	/* Unaligned both ends: must cover the first and last lines only. */
	nsflush_clflush_lines((unsigned long)buf + 3, (unsigned long)buf + len - 5, 64);
	for (i = 0; i < len + 4096; i++)
		ok &= buf[i] == (unsigned char)(i * 7);
	CHECK("clflush_buffer", ok, "data changed after CLFLUSH");

	if (has_clflushopt()) {
		ok = 1;
		nsflush_clflushopt_lines((unsigned long)buf + 65, (unsigned long)buf + len + 1, 64);
		nsflush_flush_fence();
		for (i = 0; i < len + 4096; i++)
			ok &= buf[i] == (unsigned char)(i * 7);
		CHECK("clflushopt_buffer", ok, "data changed after CLFLUSHOPT");
	} else {
		printf("SKIP clflushopt_buffer: no CLFLUSHOPT on this CPU\n");
	}
	free(buf);
}

int main(void)
{
	test_check_args();
	test_walk();
	test_flush_buffer();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
