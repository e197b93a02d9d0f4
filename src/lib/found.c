// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "nsf.h"
#include "found.h"
#include "state.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ULL << PAGE_SHIFT)
#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_BATCH 4096		/* pagemap entries read at once */

struct records {
	struct nsflush_found *v;
	size_t n, cap;
};

static int collect(void *ctx, const struct nsflush_found *f)
{
	struct records *r = ctx;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		void *v = realloc(r->v, cap * sizeof(*r->v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *f;
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void base_event(struct nsflush_event *e, const struct nsflush_found *f, __u32 kind)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->ts_ns = e->done_ns = now_ns();
	e->pid = f->pid;
	e->container = f->container;
	e->backend = f->backend;
	memcpy(e->comm, f->comm, sizeof(e->comm));
}

/* By container, then domains before runs, then domain or iova: one pass
 * then meets each container's domains before its runs, duplicates (the
 * walk meets a container once per file that leads to it) side by side. */
static int cmp_found(const void *a, const void *b)
{
	const struct nsflush_found *x = a, *y = b;

	if (x->container != y->container)
		return x->container < y->container ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->iova != y->iova)
		return x->iova < y->iova ? -1 : 1;
	return 0;
}

static bool same_record(const struct nsflush_found *x, const struct nsflush_found *y)
{
	return x->kind == y->kind && x->container == y->container && x->domain == y->domain &&
	       x->iova == y->iova;
}

struct feed {
	struct nsf_state *s;
	nsf_found_event_fn fn;
	void *ctx;
	const struct nsflush_found *nc[16];	/* the container's non-coherent domains */
	size_t nnc;
	bool inferred;		/* flushed at map by continuous enforcement */
	struct nsf_found_stats *stats;
};

static void emit(struct feed *fd, const struct nsflush_event *e)
{
	__u64 ticket = nsf_state_event(fd->s, e);

	if (fd->fn)
		fd->fn(fd->ctx, e, ticket);
}

/* One physically contiguous part of run @f, into every non-coherent domain
 * of its container: the MAP events type1 would have sent. */
static void emit_part(struct feed *fd, const struct nsflush_found *f, __u64 off, __u64 phys,
		      __u64 bytes)
{
	for (size_t k = 0; k < fd->nnc; k++) {
		const struct nsflush_found *d = fd->nc[k];
		struct nsflush_event e;

		base_event(&e, d, NSFLUSH_EV_MAP);
		e.domain = d->domain;
		e.iova = f->iova + off;
		e.phys = phys;
		e.bytes = bytes;
		e.origin = NSFLUSH_ORIGIN_FOUND;
		if (fd->inferred) {
			e.flush_state = NSFLUSH_FLUSH_DONE;
			e.flush.flushed_bytes = bytes;
			fd->stats->inferred_bytes += bytes;
		}
		fd->stats->bytes += bytes;
		emit(fd, &e);
	}
}

/* Resolves run @f through its process's pagemap (proc(5): bit 63 present,
 * bits 0-54 the PFN, for CAP_SYS_ADMIN) into physically contiguous parts. */
static int resolve_run(struct feed *fd, const struct nsflush_found *f)
{
	__u64 npages = f->bytes >> PAGE_SHIFT, start = 0, phys = 0, len = 0;
	__u64 buf[PM_BATCH];
	char path[32];
	int pm, err = 0;

	snprintf(path, sizeof(path), "/proc/%u/pagemap", f->pid);
	pm = open(path, O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return -errno;
	for (__u64 done = 0; done < npages && !err;) {
		__u64 want = npages - done < PM_BATCH ? npages - done : PM_BATCH;
		ssize_t n = pread(pm, buf, want * 8, ((f->vaddr >> PAGE_SHIFT) + done) * 8);

		if (n != (ssize_t)(want * 8)) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		for (__u64 i = 0; i < want; i++) {
			__u64 p = (buf[i] & PM_PFN_MASK) << PAGE_SHIFT;

			if (!(buf[i] & PM_PRESENT) || !p) {
				err = -ENXIO;	/* unmapped from the VMM, or no PFNs */
				break;
			}
			if (len && p == phys + len) {
				len += PAGE_SIZE;
				continue;
			}
			if (len)
				emit_part(fd, f, start, phys, len);
			start = (done + i) << PAGE_SHIFT;
			phys = p;
			len = PAGE_SIZE;
		}
		done += want;
	}
	if (!err && len)
		emit_part(fd, f, start, phys, len);
	close(pm);
	return err;
}

int nsf_found_load(struct nsf_tracer *t, struct nsf_state *s, __u64 enforce_since_ns,
		   nsf_found_event_fn fn, void *ctx, struct nsf_found_stats *stats)
{
	struct records r = {};
	struct feed fd = { .s = s, .fn = fn, .ctx = ctx, .stats = stats };
	int err;

	memset(stats, 0, sizeof(*stats));
	err = nsf_tracer_found(t, collect, &r);
	if (err)
		goto out;
	qsort(r.v, r.n, sizeof(*r.v), cmp_found);
	for (size_t i = 0; i < r.n; i++) {
		const struct nsflush_found *f = &r.v[i];
		struct nsflush_event e;

		if (i && same_record(f, &r.v[i - 1]))
			continue;
		if (!i || f->container != r.v[i - 1].container)
			fd.nnc = 0;
		switch (f->kind) {
		case NSFLUSH_FOUND_DOMAIN:
			if (!nsf_state_has_pid(s, f->pid))
				stats->vmms++;
			base_event(&e, f, NSFLUSH_EV_ATTACH);
			e.domain = f->domain;
			e.group = f->group;
			e.coherent = f->coherent;
			stats->domains++;
			emit(&fd, &e);
			if (!f->coherent && fd.nnc < sizeof(fd.nc) / sizeof(fd.nc[0]))
				fd.nc[fd.nnc++] = f;
			break;
		case NSFLUSH_FOUND_RUN:
			stats->runs++;
			/* every map of a process started after continuous
			 * enforcement began went through the enforcing hooks */
			fd.inferred = enforce_since_ns && enforce_since_ns < f->start_ns;
			if (resolve_run(&fd, f)) {
				nsf_state_unreadable(s, f->pid, f->comm);
				stats->unreadable++;
			}
			break;
		default:
			nsf_state_unreadable(s, f->pid, f->comm);
			stats->unreadable++;
		}
	}
out:
	free(r.v);
	return err;
}
