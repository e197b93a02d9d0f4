// SPDX-License-Identifier: GPL-2.0
/*
 * The state engine at host scale (make bench): synthetic type1-ordered
 * events (MAP in IOVA order, then UNMAP + UNPIN + MAP churn at a constant
 * number of live runs), physical frames scattered by a bijective mix (so
 * no two runs share a frame and nothing coalesces), one long-lived 1 GiB
 * run in every case. Prints, per case, side by side:
 *   build      MAP events/s building N live runs
 *   churn      events/s of UNMAP+UNPIN+MAP cycles at N live runs
 *   bytes/run  the engine's own accounting (nsf_state_totals), and the
 *              process's RSS (a child per case; the bench's own 24-byte
 *              record of each run included)
 *   prom       one Prometheus write
 *   json       one JSON report of every range (its size too)
 * Usage: bench-state [N...]   (default 10000 1000000 10000000)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "lib/prom.h"
#include "lib/report.h"
#include "lib/state.h"
#include "../unit/synth.h"


static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (double)rss * sysconf(_SC_PAGESIZE);
}

/* Run @i's size in the mixed case: mostly 4 KiB, some 64 KiB and 2 MiB. */
static __u64 run_size(bool mixed, __u64 i)
{
	__u64 h = synth_scatter(i, 32) % 100;

	if (!mixed)
		return 4 * KiB;
	return h < 90 ? 4 * KiB : h < 98 ? 64 * KiB : 2 * MiB;
}

/* Every size scattered over the same 64 TiB, as a host's memory is: the
 * sizes' ranges interleave (a 4 KiB run may fall inside a 2 MiB one: the
 * same pages mapped twice, told apart at unpin by their IOVA). */
static __u64 run_phys(__u64 size, __u64 n)
{
	return synth_scatter(n, 46 - __builtin_ctzll(size)) * size;
}

static bool iommufd;	/* the case's backend: its UNPINs say phys, not IOVA */

static struct nsflush_event event(__u32 kind)
{
	struct nsflush_event e = synth_event(kind, SYNTH_DOM, 0, 0, 0, false);

	if (iommufd)
		e.backend = NSFLUSH_BACKEND_IOMMUFD;
	return e;
}

/* The live runs, by position: what to unmap and unpin at churn. */
struct slot {
	__u64 iova, phys, size;
};

struct bench {
	struct nsf_state *s;
	struct slot *slots;
	__u64 n, next_frame[4], iova_top;
	bool mixed;
};

static void map_one(struct bench *b, __u64 k)
{
	struct nsflush_event e = event(NSFLUSH_EV_MAP);
	__u64 size = run_size(b->mixed, k), region = size == 4 * KiB ? 1 : size == 64 * KiB ? 2 : 3;

	b->iova_top = (b->iova_top + size - 1) & ~(size - 1);
	e.iova = b->iova_top;
	e.phys = run_phys(size, b->next_frame[region]++);
	e.bytes = size;
	e.flush_state = NSFLUSH_FLUSH_DONE;	/* enforce: flushed before map */
	e.flush.flushed_bytes = size;
	b->iova_top += size;
	b->slots[k % b->n] = (struct slot){ e.iova, e.phys, size };
	nsf_state_event(b->s, &e);
}

static void retire(struct bench *b, __u64 k)
{
	struct slot *sl = &b->slots[k % b->n];
	struct nsflush_event e = event(NSFLUSH_EV_UNMAP);

	e.iova = sl->iova;
	e.bytes = sl->size;
	nsf_state_event(b->s, &e);
	e = event(NSFLUSH_EV_UNPIN);
	e.iova = iommufd ? 0 : sl->iova;
	e.phys = sl->phys;
	e.bytes = sl->size;
	e.flush_state = NSFLUSH_FLUSH_DONE;
	e.flush.flushed_bytes = sl->size;
	nsf_state_event(b->s, &e);
}

static ssize_t count_write(void *c, const char *buf, size_t size)
{
	(void)buf;
	*(size_t *)c += size;
	return (ssize_t)size;
}

static void run_case(__u64 n, bool mixed)
{
	struct bench b = { .n = n, .mixed = mixed };
	struct nsflush_event e = event(NSFLUSH_EV_ATTACH);
	struct nsf_state_totals t;
	double rss0 = rss_bytes(), t0, build, churn, prom, json;
	__u64 cycles = n < 1000000 ? 1000000 : n / 3;
	size_t json_bytes = 0;
	FILE *f;

	b.s = nsf_state_new(NSF_MODE_ENFORCE);
	b.slots = calloc(n, sizeof(*b.slots));
	if (!b.slots) {
		fputs("bench-state: out of memory\n", stderr);
		exit(1);
	}
	e.group = 7;
	nsf_state_event(b.s, &e);
	/* the long-lived 1 GiB run (a hugepage), far above the others */
	e = event(NSFLUSH_EV_MAP);
	e.iova = 1ULL << 50;
	e.phys = 1ULL << 50;
	e.bytes = GiB;
	e.flush_state = NSFLUSH_FLUSH_DONE;
	e.flush.flushed_bytes = GiB;
	nsf_state_event(b.s, &e);

	t0 = now();
	for (__u64 k = 0; k < n; k++)
		map_one(&b, k);
	build = now() - t0;

	t0 = now();
	for (__u64 k = 0; k < cycles; k++) {
		retire(&b, k);
		map_one(&b, n + k);
	}
	churn = now() - t0;
	nsf_state_totals(b.s, &t);

	f = fopen("/dev/null", "w");
	t0 = now();
	nsf_prom_write(b.s, f);
	fflush(f);
	prom = now() - t0;
	fclose(f);
	f = fopencookie(&json_bytes, "w", (cookie_io_functions_t){ .write = count_write });
	t0 = now();
	nsf_report_json(b.s, 0, f);
	fflush(f);
	json = now() - t0;
	fclose(f);

	printf("%-6s %9llu  %7.2f M/s  %7.2f M/s  %6.1f B  %6.1f B  %8.2f ms  %8.2f s %9.1f MB\n",
	       mixed && iommufd ? "fd-mix" : mixed ? "mixed" : "4KiB", (unsigned long long)n,
	       n / build / 1e6,
	       3.0 * cycles / churn / 1e6, (double)t.mem_bytes / (double)t.live_runs,
	       (rss_bytes() - rss0) / (double)t.live_runs, prom * 1e3, json,
	       json_bytes / 1e6);
	fflush(stdout);
	nsf_state_free(b.s);
	free(b.slots);
}

int main(int argc, char **argv)
{
	static const __u64 dflt[] = { 10000, 1000000, 10000000 };
	size_t nn = argc > 1 ? (size_t)argc - 1 : 3;

	printf("state engine: type1-ordered events, scattered frames, one 1 GiB run live "
	       "throughout\n");
	printf("%-6s %9s  %11s  %11s  %8s  %8s  %11s  %10s %12s\n", "runs", "live", "build MAP",
	       "churn ev", "mem/run", "RSS/run", "prom write", "json", "json size");
	fflush(stdout);	/* not the children's to print again */
	for (size_t i = 0; i < nn; i++) {
		__u64 n = argc > 1 ? strtoull(argv[i + 1], NULL, 0) : dflt[i];

		if (!n) {
			fprintf(stderr, "bench-state: not a count: %s\n", argv[i + 1]);
			return 2;
		}
		/* each case in a child of its own: its RSS is its own */
		for (int mixed = 0; mixed < 3; mixed++) {
			pid_t child = fork();
			int st;

			if (child == 0) {
				iommufd = mixed == 2;
				run_case(n, mixed);
				_exit(0);
			}
			if (child < 0 || waitpid(child, &st, 0) != child || !WIFEXITED(st) ||
			    WEXITSTATUS(st)) {
				fprintf(stderr, "bench-state: the %llu-run case failed\n",
					(unsigned long long)n);
				return 1;
			}
		}
	}
	return 0;
}
