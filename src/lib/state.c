// SPDX-License-Identifier: GPL-2.0
/*
 * nsflushd's state engine (state.h): per-VMM runs and domains built from
 * kernel events, and the queries the reports are rendered from.
 *
 * Model. A live run (mapped, or unmapped and still pinned) is a 24-byte
 * record in one arena, found through its domain's range indexes: by IOVA
 * while mapped (mapped runs of a domain never overlap: a MAP over a run we
 * missed the unmap of unmaps it), and until it is unpinned by what its
 * UNPIN will name: type1 says the IOVA (a second, small index of the runs
 * unmapped and not yet unpinned, a moment in type1), iommufd the phys
 * (an index of all its runs by phys). At its UNPIN a run ends: folded
 * into counters when it ended well, else copied into its VMM's history;
 * an unpin's problems are history records too.
 * Per-VMM counters are kept as events apply, so a summary or a metric
 * costs O(VMMs + domains), not O(runs).
 *
 * Where in a run the flush skipped bytes is not reported by the kfunc; the
 * skipped count is attributed to the END of the run (exact in the usual
 * case where a run is entirely RAM or entirely MMIO).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nsf.h"
#include "rindex.h"
#include "state.h"

#define CHUNK_BITS	16		/* arena: 64 Ki records a chunk */
#define CHUNK_RUNS	(1U << CHUNK_BITS)
#define MAX_PIECE	(1ULL << 39)	/* longer runs are recorded in pieces */

/* A run, or a finished range with a reason (history). 24 bytes. */
struct run {
	__u64 phys, iova;
	__u64 bytes : 40;
	__u64 dom : 14;		/* its domain's slot */
	__u64 origin : 2;	/* enum nsflush_origin */
	__u64 state : 2;	/* enum nsf_run_state */
	__u64 reason : 3;	/* enum nsf_reason */
	__u64 fbm : 1;		/* flushed before map */
	__u64 fbu : 1;		/* flushed before unpin */
	__u64 at_unpin : 1;	/* an unpin's problem, not a run */
};
_Static_assert(sizeof(struct run) == 24, "a run is 24 bytes");
_Static_assert(NSF_STATE_MAX_DOMAINS <= 1 << 14, "a run's domain slot is 14 bits");

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("nsflush: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void *xcalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		fputs("nsflush: out of memory\n", stderr);
		abort();
	}
	return p;
}

#define VEC_PUSH(arr, n, cap, v) do {					\
	if ((n) == (cap)) {						\
		(cap) = (cap) ? 2 * (cap) : 16;				\
		(arr) = xrealloc((arr), (cap) * sizeof(*(arr)));	\
	}								\
	(arr)[(n)++] = (v);						\
} while (0)

struct grp {
	__u32 id;
	bool left;		/* detached; kept so the report still names it */
	char **devs;
	size_t ndevs;
};

struct dom {
	__u64 id;
	__u64 container;
	struct vmm *vmm;	/* the VMM that attached it (or mapped into it) */
	__u16 slot;
	__u8 backend;
	bool coherent, attached, freed;
	struct grp *grps;
	size_t ngrps, cgrps;
	bool type1;		/* its runs' UNPINs say their IOVA */
	__u64 hist_refs;	/* history records that name it */
	struct nsf_rindex by_iova;	/* mapped runs (disjoint) */
	struct nsf_rindex pinned;	/* type1: runs unmapped, not unpinned */
	struct nsf_rindex by_phys;	/* iommufd: runs not yet unpinned */
};

struct vmm {
	__u32 pid;
	char comm[NSFLUSH_COMM_LEN];
	bool exited;
	bool unreadable;	/* the start-up walk could not read its mappings */
	uint64_t start_ticks;	/* nsf_proc_start_ticks() when first seen; 0: gone */
	__u64 exit_seq;
	struct dom **doms;
	size_t ndoms, cdoms;
	/* history: hist[head..n), oldest first; hist[head] is the
	 * hist_base'th record this VMM ever kept */
	struct run *hist;
	size_t hist_head, hist_n, hist_cap;
	__u64 hist_base;
	__u64 mapped, by_origin[3], live, flushed, done;
	__u64 by_reason[NSF_REASON_NR];
	__u64 folded_ranges, folded_bytes;
	__u64 live_runs;
};

/* What the last event made. */
struct ticket {
	__u64 seq;		/* the event's number */
	struct vmm *vmm;	/* NULL: the event made nothing */
	__u32 kind;
	struct nsf_slots runs;	/* MAP: the runs it made */
	__u64 hist_from, hist_to;	/* UNPIN: its history records */
};

struct nsf_state {
	enum nsf_mode mode;
	struct vmm **vmms;
	size_t nvmms, cvmms;
	struct dom **doms;	/* in the order they were met */
	size_t ndoms, cdoms;
	struct dom **dslot;	/* [NSF_STATE_MAX_DOMAINS] */
	struct dom *dom_hint;	/* the last domain looked up */
	/* the run arena: chunk[slot >> CHUNK_BITS]; slot 0 is never used */
	struct run **chunk;
	size_t nchunks;
	__u32 next_slot, free_slot;
	__u64 runs_used;
	__u64 hist_total;
	__u64 exit_seq, events;
	__u64 lost, missed, full;	/* full: what the state could not hold */
	__u64 watch_ticks;	/* nsf_state_set_watch_start(); 0: not checked */
	/* monotonic totals for the Prometheus counters */
	__u64 flushed_total, skipped_total[NSFLUSH_SKIP_NR];
	struct nsf_slots buf;	/* a search's candidates */
	struct ticket ticket;
};

/* ---- the run arena ----------------------------------------------------- */

static struct run *R(const struct nsf_state *s, __u32 slot)
{
	return &s->chunk[slot >> CHUNK_BITS][slot & (CHUNK_RUNS - 1)];
}

static __u32 slot_alloc(struct nsf_state *s)
{
	__u32 slot = s->free_slot;

	if (slot) {
		s->free_slot = (__u32)R(s, slot)->phys;
	} else {
		if (s->next_slot == UINT32_MAX)
			return 0;
		slot = s->next_slot++;
		if ((slot >> CHUNK_BITS) >= s->nchunks) {
			s->chunk = xrealloc(s->chunk, (s->nchunks + 1) * sizeof(*s->chunk));
			s->chunk[s->nchunks++] = xcalloc(CHUNK_RUNS * sizeof(struct run));
		}
	}
	s->runs_used++;
	return slot;
}

static void slot_free(struct nsf_state *s, __u32 slot)
{
	R(s, slot)->phys = s->free_slot;
	s->free_slot = slot;
	s->runs_used--;
}

/* ---- VMMs and domains ---------------------------------------------------- */

struct nsf_state *nsf_state_new(enum nsf_mode mode)
{
	struct nsf_state *s = xcalloc(sizeof(*s));

	s->mode = mode;
	s->dslot = xcalloc(NSF_STATE_MAX_DOMAINS * sizeof(*s->dslot));
	s->next_slot = 1;
	return s;
}

void nsf_state_set_mode(struct nsf_state *s, enum nsf_mode mode)
{
	s->mode = mode;
}

enum nsf_mode nsf_state_mode(const struct nsf_state *s)
{
	return s->mode;
}

static void dom_free(struct nsf_state *s, struct dom *d)
{
	for (size_t i = 0; i < d->ngrps; i++) {
		for (size_t j = 0; j < d->grps[i].ndevs; j++)
			free(d->grps[i].devs[j]);
		free(d->grps[i].devs);
	}
	free(d->grps);
	nsf_rindex_free(&d->by_iova);
	nsf_rindex_free(&d->pinned);
	nsf_rindex_free(&d->by_phys);
	s->dslot[d->slot] = NULL;
	if (s->dom_hint == d)
		s->dom_hint = NULL;
	free(d);
}

static void vmm_free(struct vmm *v)
{
	free(v->doms);
	free(v->hist);
	free(v);
}

void nsf_state_free(struct nsf_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ndoms; i++)
		dom_free(s, s->doms[i]);
	for (size_t i = 0; i < s->nvmms; i++)
		vmm_free(s->vmms[i]);
	for (size_t i = 0; i < s->nchunks; i++)
		free(s->chunk[i]);
	free(s->chunk);
	free(s->doms);
	free(s->dslot);
	free(s->vmms);
	nsf_slots_free(&s->buf);
	nsf_slots_free(&s->ticket.runs);
	free(s);
}

static void set_comm(char *dst, const char *src)
{
	size_t n = strnlen(src, NSFLUSH_COMM_LEN - 1);

	if (!n)
		return;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The live VMM with @pid (the newest one if only exited ones). */
static struct vmm *vmm_find(const struct nsf_state *s, __u32 pid)
{
	struct vmm *found = NULL;

	for (size_t i = s->nvmms; i-- > 0;) {
		struct vmm *v = s->vmms[i];

		if (v->pid != pid)
			continue;
		if (!v->exited)
			return v;
		if (!found)
			found = v;
	}
	return found;
}

/* Did a process that started at @start_ticks (0: unknown) start before
 * the watch? The same tick as the watch start cannot tell which came first. */
static bool started_unseen(const struct nsf_state *s, __u64 start_ticks)
{
	return s->watch_ticks && (!start_ticks || start_ticks <= s->watch_ticks);
}

static struct vmm *vmm_get(struct nsf_state *s, __u32 pid, const char *comm)
{
	struct vmm *v = vmm_find(s, pid);

	if (!v || v->exited) {
		v = xcalloc(sizeof(*v));
		v->pid = pid;
		if (!nsf_proc_start_ticks(pid, &v->start_ticks))
			v->start_ticks = 0;
		VEC_PUSH(s->vmms, s->nvmms, s->cvmms, v);
	}
	if (comm)
		set_comm(v->comm, comm);
	return v;
}

/* The current (not freed) domain with this id. */
static struct dom *dom_find(struct nsf_state *s, __u64 id)
{
	if (s->dom_hint && s->dom_hint->id == id && !s->dom_hint->freed)
		return s->dom_hint;
	for (size_t i = s->ndoms; i-- > 0;)
		if (s->doms[i]->id == id && !s->doms[i]->freed)
			return s->dom_hint = s->doms[i];
	return NULL;
}

/* NULL when NSF_STATE_MAX_DOMAINS are kept already (counted: the audit
 * is incomplete). */
static struct dom *dom_new(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d;
	size_t slot = 0;

	while (slot < NSF_STATE_MAX_DOMAINS && s->dslot[slot])
		slot++;
	if (slot == NSF_STATE_MAX_DOMAINS) {
		s->full++;
		return NULL;
	}
	d = xcalloc(sizeof(*d));
	d->id = e->domain;
	d->slot = (__u16)slot;
	d->vmm = vmm_get(s, e->pid, e->comm);
	d->container = e->container;
	d->backend = e->backend;
	d->type1 = e->backend == NSFLUSH_BACKEND_TYPE1;
	d->by_iova.disjoint = true;
	s->dslot[slot] = d;
	VEC_PUSH(s->doms, s->ndoms, s->cdoms, d);
	VEC_PUSH(d->vmm->doms, d->vmm->ndoms, d->vmm->cdoms, d);
	return s->dom_hint = d;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* /sys/kernel/iommu_groups/<group>/devices/: the group's PCI devices. */
static void grp_read_devices(struct grp *g)
{
	char path[96];
	struct dirent *de;
	size_t cap = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%u/devices", g->id);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		char *name = strdup(de->d_name);

		if (!name)
			break;
		VEC_PUSH(g->devs, g->ndevs, cap, name);
	}
	closedir(dir);
	if (g->ndevs)
		qsort(g->devs, g->ndevs, sizeof(g->devs[0]), cmp_str);
}

/* ---- runs ------------------------------------------------------------ */

static struct dom *run_dom(const struct nsf_state *s, const struct run *r)
{
	return s->dslot[r->dom];
}

static void set_reason(struct vmm *v, struct run *r, enum nsf_reason reason)
{
	v->by_reason[r->reason] -= r->bytes;
	r->reason = reason;
	v->by_reason[reason] += r->bytes;
}

/* The index live run @r waits for its UNPIN in (besides by_iova while
 * mapped): NULL when that is by_iova. */
static struct nsf_rindex *unpin_index(struct dom *d, const struct run *r)
{
	if (!d->type1)
		return &d->by_phys;
	return r->state == NSF_RUN_MAPPED ? NULL : &d->pinned;
}

static __u64 unpin_key(const struct dom *d, const struct run *r)
{
	return d->type1 ? r->iova : r->phys;
}

/* Indexes live run @slot: by IOVA while mapped, and where its UNPIN will
 * look for it. */
static bool run_index(struct nsf_state *s, __u32 slot)
{
	struct run *r = R(s, slot);
	struct dom *d = run_dom(s, r);
	struct nsf_rindex *u = unpin_index(d, r);

	if (u && !nsf_rindex_insert(u, unpin_key(d, r), r->bytes, slot))
		return false;
	if (r->state == NSF_RUN_MAPPED &&
	    !nsf_rindex_insert(&d->by_iova, r->iova, r->bytes, slot)) {
		if (u)
			nsf_rindex_remove(u, unpin_key(d, r), r->bytes, slot);
		return false;
	}
	return true;
}

static void run_unindex(struct nsf_state *s, __u32 slot)
{
	struct run *r = R(s, slot);
	struct dom *d = run_dom(s, r);
	struct nsf_rindex *u = unpin_index(d, r);

	if (u)
		nsf_rindex_remove(u, unpin_key(d, r), r->bytes, slot);
	if (r->state == NSF_RUN_MAPPED)
		nsf_rindex_remove(&d->by_iova, r->iova, r->bytes, slot);
}

/* A slot holding @tmpl, indexed; 0 when it cannot be held (counted). Its
 * bytes are not counted: the caller's to count, or already counted. */
static __u32 run_place(struct nsf_state *s, const struct run *tmpl)
{
	__u32 slot = slot_alloc(s);

	if (!slot) {
		s->full++;
		return 0;
	}
	*R(s, slot) = *tmpl;
	if (!run_index(s, slot)) {
		slot_free(s, slot);
		s->full++;
		return 0;
	}
	return slot;
}

/* A new live run like @tmpl, counted; 0 when it cannot be held. */
static __u32 run_new(struct nsf_state *s, struct vmm *v, const struct run *tmpl)
{
	__u32 slot = run_place(s, tmpl);

	if (!slot)
		return 0;
	v->live_runs++;
	v->by_reason[tmpl->reason] += tmpl->bytes;
	if (tmpl->state == NSF_RUN_MAPPED)
		v->live += tmpl->bytes;
	return slot;
}

/* Splits live run @slot at byte @off (0 < off < bytes); returns the tail
 * (0 when it cannot be held: the run then stays whole). The bytes stay
 * counted as they were: only the number of runs grows. */
static __u32 run_split(struct nsf_state *s, struct vmm *v, __u32 slot, __u64 off)
{
	struct run tail = *R(s, slot);
	__u32 t;

	run_unindex(s, slot);
	R(s, slot)->bytes = off;
	tail.phys += off;
	tail.iova += off;
	tail.bytes -= off;
	if (!run_index(s, slot)) {
		s->full++;	/* cannot be: it was indexed, and is shorter */
		return 0;
	}
	t = run_place(s, &tail);
	if (t) {
		v->live_runs++;
	} else {
		run_unindex(s, slot);
		R(s, slot)->bytes += tail.bytes;
		run_index(s, slot);
	}
	return t;
}

/* Clips live run @slot, at @start in the space [a, b) is in, to [a, b);
 * returns the inside piece. */
static __u32 run_clip(struct nsf_state *s, struct vmm *v, __u32 slot, __u64 start,
		      __u64 a, __u64 b)
{
	if (start < a) {
		__u32 t = run_split(s, v, slot, a - start);

		if (!t)
			return slot;
		slot = t;
		start = a;
	}
	if (start + R(s, slot)->bytes > b)
		run_split(s, v, slot, b - start);
	return slot;
}

static void run_unmap(struct nsf_state *s, struct vmm *v, __u32 slot)
{
	struct run *r = R(s, slot);
	struct dom *d = run_dom(s, r);

	nsf_rindex_remove(&d->by_iova, r->iova, r->bytes, slot);
	r->state = NSF_RUN_UNMAPPED;
	v->live -= r->bytes;
	if (d->type1 && !nsf_rindex_insert(&d->pinned, r->iova, r->bytes, slot))
		s->full++;	/* cannot be: the run is 0 < bytes < 2^40 */
}

/* Live run @slot is unpinned: out of every index. */
static void run_unpin(struct nsf_state *s, struct vmm *v, __u32 slot, bool flushed)
{
	struct run *r = R(s, slot);

	if (r->state == NSF_RUN_MAPPED)
		v->live -= r->bytes;
	run_unindex(s, slot);
	r->state = NSF_RUN_UNPINNED;
	r->fbu = flushed;
}

/* ---- history ----------------------------------------------------------- */

static size_t hist_len(const struct vmm *v)
{
	return v->hist_n - v->hist_head;
}

/* Folds the oldest history record of the VMM that keeps the most. */
static void hist_evict(struct nsf_state *s)
{
	struct vmm *big = NULL;
	struct run *r;

	for (size_t i = 0; i < s->nvmms; i++)
		if (!big || hist_len(s->vmms[i]) > hist_len(big))
			big = s->vmms[i];
	if (!big || !hist_len(big))
		return;
	r = &big->hist[big->hist_head++];
	s->dslot[r->dom]->hist_refs--;
	big->folded_ranges++;
	big->folded_bytes += r->bytes;
	big->hist_base++;
	s->hist_total--;
	if (big->hist_head >= 4096 && big->hist_head * 2 >= big->hist_n) {
		memmove(big->hist, big->hist + big->hist_head, hist_len(big) * sizeof(*r));
		big->hist_n -= big->hist_head;
		big->hist_head = 0;
	}
}

/* Keeps @r (its bytes already counted by reason) as history. */
static void hist_push(struct nsf_state *s, struct vmm *v, const struct run *r)
{
	if (s->hist_total >= NSF_STATE_MAX_HISTORY)
		hist_evict(s);
	VEC_PUSH(v->hist, v->hist_n, v->hist_cap, *r);
	s->dslot[r->dom]->hist_refs++;
	s->hist_total++;
}

/* The history record with lifetime index @i, NULL once folded. */
static struct run *hist_at(struct vmm *v, __u64 i)
{
	if (i < v->hist_base || i - v->hist_base >= hist_len(v))
		return NULL;
	return &v->hist[v->hist_head + (i - v->hist_base)];
}

static __u64 hist_end(const struct vmm *v)
{
	return v->hist_base + hist_len(v);
}

/* Live run @slot, just unpinned and unindexed, ends: into history when it
 * has a reason of its own, else folded ("done"). */
static void run_end(struct nsf_state *s, struct vmm *v, __u32 slot)
{
	struct run *r = R(s, slot);

	if (r->reason == NSF_REASON_NONE)
		v->done += r->bytes;	/* an unpin's problem has a record of its own */
	else
		hist_push(s, v, r);
	v->live_runs--;
	slot_free(s, slot);
}

/* ---- events ---------------------------------------------------------- */

static __u64 skipped_sum(const struct nsflush_flush_result *r)
{
	__u64 sum = 0;

	for (int i = 0; i < NSFLUSH_SKIP_NR; i++)
		sum += r->skipped_bytes[i];
	return sum;
}

static void count_flush(struct nsf_state *s, struct vmm *v, const struct nsflush_flush_result *r)
{
	v->flushed += r->flushed_bytes;
	s->flushed_total += r->flushed_bytes;
	for (int i = 0; i < NSFLUSH_SKIP_NR; i++)
		s->skipped_total[i] += r->skipped_bytes[i];
}

static bool flush_ok(const struct nsflush_event *e)
{
	return e->flush_state == NSFLUSH_FLUSH_DONE && e->flush_ret == 0;
}

/* The end of [a, a + bytes), or UINT64_MAX past the top. */
static __u64 end_of(__u64 a, __u64 bytes)
{
	return a + bytes < a ? UINT64_MAX : a + bytes;
}

/* Marks the last @bytes of live runs @slots[0..n) (in order) with @reason,
 * splitting as needed. */
static void mark_tail(struct nsf_state *s, struct vmm *v, const __u32 *slots, size_t n,
		      __u64 bytes, enum nsf_reason reason)
{
	for (size_t i = n; i-- > 0 && bytes;) {
		__u32 slot = slots[i];
		struct run *r = R(s, slot);

		if (r->bytes > bytes) {
			__u32 t = run_split(s, v, slot, r->bytes - bytes);

			if (t)
				slot = t;
			r = R(s, slot);
		}
		set_reason(v, r, reason);
		r->fbm = false;	/* a run's skipped bytes were not flushed */
		bytes -= bytes > r->bytes ? r->bytes : bytes;
	}
}

static void ev_free(struct nsf_state *s, const struct nsflush_event *e);

static void ev_attach(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = dom_find(s, e->domain);
	struct grp g = { .id = e->group };

	/* an exited VMM's domain we missed the free of, its address reused */
	if (d && d->vmm->exited && d->vmm->pid != e->pid) {
		ev_free(s, e);
		d = NULL;
	}
	if (!d)
		d = dom_new(s, e);
	else if (d->vmm->pid == e->pid)
		set_comm(d->vmm->comm, e->comm);
	if (!d)
		return;
	d->coherent = e->coherent;
	d->attached = true;
	if (e->backend)
		d->backend = e->backend;
	if (e->container)
		d->container = e->container;
	if (!e->group)
		return;		/* iommufd: a HWPT joined its IOAS, no device yet */
	for (size_t i = 0; i < d->ngrps; i++) {
		if (d->grps[i].id == e->group) {
			d->grps[i].left = false;
			return;
		}
	}
	grp_read_devices(&g);
	VEC_PUSH(d->grps, d->ngrps, d->cgrps, g);
}

static void ev_detach(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = dom_find(s, e->domain);

	if (!d)
		return;
	/* Groups that left stay listed: after a VMM is gone, the report must
	 * still say which devices could reach its memory. */
	d->attached = false;
	for (size_t i = 0; i < d->ngrps; i++) {
		if (d->grps[i].id == e->group)
			d->grps[i].left = true;
		if (!d->grps[i].left)
			d->attached = true;
	}
}

/* The mapped runs of @d that meet [a, b), into s->buf. */
static void find_mapped(struct nsf_state *s, struct dom *d, __u64 a, __u64 b)
{
	size_t m = 0;

	s->buf.n = 0;
	nsf_rindex_find(&d->by_iova, a, b, &s->buf);
	for (size_t i = 0; i < s->buf.n; i++) {
		const struct run *r = R(s, s->buf.v[i]);

		if (r->iova < b && end_of(r->iova, r->bytes) > a)
			s->buf.v[m++] = s->buf.v[i];
	}
	s->buf.n = m;
}

/* Unmaps what @d has mapped in [a, b). */
static void unmap_range(struct nsf_state *s, struct dom *d, __u64 a, __u64 b)
{
	find_mapped(s, d, a, b);
	for (size_t i = 0; i < s->buf.n; i++) {
		__u32 slot = s->buf.v[i];

		slot = run_clip(s, d->vmm, slot, R(s, slot)->iova, a, b);
		run_unmap(s, d->vmm, slot);
	}
}

static void ev_free(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = dom_find(s, e->domain);

	if (!d)
		return;
	d->freed = true;
	d->attached = false;
	/* whatever is still mapped in it is gone with it */
	unmap_range(s, d, 0, UINT64_MAX);
}

static void ev_map(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = dom_find(s, e->domain);
	__u64 skip = 0, b = end_of(e->iova, e->bytes);
	bool ok = flush_ok(e);
	struct ticket *t = &s->ticket;
	struct vmm *v;

	if (e->map_ret != 0 || !e->bytes || b == UINT64_MAX ||
	    end_of(e->phys, e->bytes) == UINT64_MAX)
		return;
	if (!d) {
		d = dom_new(s, e);
		if (!d)
			return;
		d->attached = true;
	}
	if (d->coherent)
		return;		/* never expected: nothing to flush there */
	/* found at start, but the hooks (or the backlog) told of it already */
	if (e->origin == NSFLUSH_ORIGIN_FOUND) {
		find_mapped(s, d, e->iova, b);
		if (s->buf.n)
			return;
	}
	v = d->vmm;
	if (v->pid == e->pid)
		set_comm(v->comm, e->comm);
	t->vmm = v;
	v->mapped += e->bytes;
	v->by_origin[e->origin < 3 ? e->origin : 0] += e->bytes;
	if (ok) {
		count_flush(s, v, &e->flush);
		skip = skipped_sum(&e->flush);
		if (skip > e->bytes)
			skip = e->bytes;
	}
	/* a mapping there we missed the unmap of: the IOMMU says it is gone */
	unmap_range(s, d, e->iova, b);
	for (__u64 off = 0; off < e->bytes;) {
		__u64 piece = e->bytes - off < MAX_PIECE ? e->bytes - off : MAX_PIECE;
		struct run tmpl = {
			.phys = e->phys + off, .iova = e->iova + off, .bytes = piece,
			.dom = d->slot, .origin = e->origin < 3 ? e->origin : 0,
			.state = NSF_RUN_MAPPED, .fbm = ok,
			/* found mapped at start, with no flush known: not a missed
			 * flush nsflush watched happen, a history it never saw */
			.reason = ok ? NSF_REASON_NONE :
				  e->origin == NSFLUSH_ORIGIN_FOUND ? NSF_REASON_PRE_EXISTING :
								      NSF_REASON_NO_FLUSH_BEFORE_MAP,
		};
		__u32 slot = run_new(s, v, &tmpl);

		if (slot)
			nsf_slots_push(&t->runs, slot);
		off += piece;
	}
	if (skip)
		mark_tail(s, v, t->runs.v, t->runs.n, skip, NSF_REASON_SKIPPED_NON_RAM);
}

static void ev_unmap(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = dom_find(s, e->domain);

	if (d && e->bytes)
		unmap_range(s, d, e->iova, end_of(e->iova, e->bytes));
}

/* The VMM an UNPIN belongs to: by container (the unpin may run in
 * another task, e.g. at release), else by pid. */
static struct vmm *unpin_vmm(struct nsf_state *s, const struct nsflush_event *e)
{
	if (e->container && s->dom_hint && s->dom_hint->container == e->container &&
	    !s->dom_hint->vmm->exited)
		return s->dom_hint->vmm;
	for (size_t i = s->ndoms; e->container && i-- > 0;)
		if (s->doms[i]->container == e->container)
			return s->doms[i]->vmm;
	return vmm_find(s, e->pid);
}

/*
 * iommufd: keeps, of the runs in s->buf an UNPIN met by phys, those of the
 * mapping it unpins. The same pages may be mapped at two IOVAs at once
 * (QEMU's BIOS), each mapping pinning and unpinning them on its own; a
 * mapping's runs are those whose IOVA and phys are as far apart (in every
 * domain it is mapped into: at the same IOVA in each). iommufd says which
 * IOAS, not which IOVA: of that IOAS's runs, those of one mapping (the
 * lowest IOVA's; the next unpin of the same pages takes the next); runs of
 * other IOASes go too (IOAS_COPY shares the pages, unpinned once). (type1
 * says the IOVA: its runs are found by it, ev_unpin().)
 */
static void same_mapping(struct nsf_state *s, const struct nsflush_event *e)
{
	__u64 off = 0, low = 0;
	bool found = false;
	size_t kept = 0;

	if (e->backend != NSFLUSH_BACKEND_IOMMUFD || !e->container)
		return;
	for (size_t i = 0; i < s->buf.n; i++) {
		const struct run *r = R(s, s->buf.v[i]);

		if (run_dom(s, r)->container == e->container && (!found || r->iova < low)) {
			low = r->iova;
			off = r->iova - r->phys;
			found = true;
		}
	}
	if (!found)
		return;
	for (size_t i = 0; i < s->buf.n; i++) {
		const struct run *r = R(s, s->buf.v[i]);

		if (r->iova - r->phys == off || run_dom(s, r)->container != e->container)
			s->buf.v[kept++] = s->buf.v[i];
	}
	s->buf.n = kept;
}

static const struct nsf_state *cmp_state;	/* qsort has no context */

static int cmp_slot_phys(const void *a, const void *b)
{
	const struct run *x = R(cmp_state, *(const __u32 *)a);
	const struct run *y = R(cmp_state, *(const __u32 *)b);

	if (x->phys != y->phys)
		return x->phys < y->phys ? -1 : 1;
	return 0;
}

static void ev_unpin(struct nsf_state *s, const struct nsflush_event *e)
{
	struct vmm *v = unpin_vmm(s, e);
	__u64 a = e->phys, b = end_of(e->phys, e->bytes), covered, total = 0, skip = 0;
	struct ticket *t = &s->ticket;
	bool ok = flush_ok(e), type1 = e->backend == NSFLUSH_BACKEND_TYPE1;
	size_t n;

	if (!v || !e->bytes)
		return;
	s->buf.n = 0;
	for (size_t i = 0; i < v->ndoms; i++) {
		struct dom *d = v->doms[i];

		if (type1 != d->type1)
			continue;
		if (type1) {
			nsf_rindex_find(&d->pinned, e->iova, end_of(e->iova, e->bytes), &s->buf);
			/* and mapped ones, should their UNMAP have been lost */
			nsf_rindex_find(&d->by_iova, e->iova, end_of(e->iova, e->bytes), &s->buf);
		} else {
			nsf_rindex_find(&d->by_phys, a, b, &s->buf);
		}
	}
	/* type1: the runs of the mapping it unpins, as far apart in IOVA and
	 * phys as the event (iommufd: same_mapping() below) */
	n = 0;
	for (size_t i = 0; i < s->buf.n; i++) {
		const struct run *r = R(s, s->buf.v[i]);

		if (r->phys < b && end_of(r->phys, r->bytes) > a &&
		    (!type1 || r->iova - r->phys == e->iova - e->phys))
			s->buf.v[n++] = s->buf.v[i];
	}
	s->buf.n = n;
	if (!n) {
		/* none of its runs (unseen, or gone): the hooks flushed for
		 * this VMM all the same, as the module counts */
		if (ok)
			count_flush(s, v, &e->flush);
		return;
	}
	same_mapping(s, e);
	n = s->buf.n;
	t->vmm = v;
	for (size_t i = 0; i < n; i++) {
		__u32 slot = run_clip(s, v, s->buf.v[i], R(s, s->buf.v[i])->phys, a, b);

		run_unpin(s, v, slot, ok);
		s->buf.v[i] = slot;
	}
	/* the pieces' phys union: one problem per byte, however many domains
	 * mapped it */
	cmp_state = s;
	qsort(s->buf.v, n, sizeof(s->buf.v[0]), cmp_slot_phys);
	covered = a;
	for (size_t i = 0; i < n; i++) {
		const struct run *r = R(s, s->buf.v[i]);
		__u64 end = r->phys + r->bytes;

		if (end > covered) {
			total += end - (r->phys > covered ? r->phys : covered);
			covered = end;
		}
	}
	if (ok) {
		count_flush(s, v, &e->flush);
		skip = skipped_sum(&e->flush);
		if (skip > total)
			skip = total;
	}
	/* the unpin's problems: all of the union (no flush), or its last
	 * @skip bytes */
	t->hist_from = hist_end(v);
	covered = a;
	for (size_t i = 0; i < n && (!ok || skip); i++) {
		const struct run *r = R(s, s->buf.v[i]);
		__u64 from = r->phys > covered ? r->phys : covered;
		__u64 end = r->phys + r->bytes;
		struct run p;

		if (end <= from)
			continue;
		covered = end;
		total -= end - from;
		if (ok && total >= skip)
			continue;	/* flushed, before the skipped tail */
		if (ok && total + (end - from) > skip)
			from = end - (skip - total);
		p = *r;
		p.phys = from;
		p.iova = r->iova + (from - r->phys);
		p.bytes = end - from;
		p.at_unpin = true;
		p.fbu = false;	/* these bytes were not flushed at the unpin */
		p.reason = ok ? NSF_REASON_SKIPPED_NON_RAM : NSF_REASON_NO_FLUSH_BEFORE_UNPIN;
		v->by_reason[p.reason] += p.bytes;
		hist_push(s, v, &p);
	}
	t->hist_to = hist_end(v);
	for (size_t i = 0; i < n; i++)
		run_end(s, v, s->buf.v[i]);
}

__u64 nsf_state_event(struct nsf_state *s, const struct nsflush_event *e)
{
	struct ticket *t = &s->ticket;

	t->seq = ++s->events;
	t->vmm = NULL;
	t->kind = e->kind;
	t->runs.n = 0;
	t->hist_from = t->hist_to = 0;
	switch (e->kind) {
	case NSFLUSH_EV_ATTACH:
		ev_attach(s, e);
		break;
	case NSFLUSH_EV_DETACH:
		ev_detach(s, e);
		break;
	case NSFLUSH_EV_DOMAIN_FREE:
		ev_free(s, e);
		break;
	case NSFLUSH_EV_MAP:
		ev_map(s, e);
		break;
	case NSFLUSH_EV_UNMAP:
		ev_unmap(s, e);
		break;
	case NSFLUSH_EV_UNPIN:
		ev_unpin(s, e);
		break;
	}
	return t->seq;
}

/* flush mode, MAP: its runs with no flush become late, the tail skipped. */
static bool late_runs(struct nsf_state *s, const struct ticket *t,
		      const struct nsflush_flush_result *res)
{
	struct vmm *v = t->vmm;
	__u64 total = 0, skip = skipped_sum(res);
	size_t n = 0;

	for (size_t i = 0; i < t->runs.n; i++) {
		struct run *r = R(s, t->runs.v[i]);

		if (r->reason != NSF_REASON_NO_FLUSH_BEFORE_MAP &&
		    r->reason != NSF_REASON_PRE_EXISTING)
			continue;
		t->runs.v[n++] = t->runs.v[i];
		total += r->bytes;
	}
	if (!n)
		return false;
	count_flush(s, v, res);
	for (size_t i = 0; i < n; i++)
		set_reason(v, R(s, t->runs.v[i]), NSF_REASON_LATE);
	mark_tail(s, v, t->runs.v, n, skip < total ? skip : total, NSF_REASON_SKIPPED_NON_RAM);
	return true;
}

/* flush mode, UNPIN: its problems become late, the tail skipped. */
static bool late_unpin(struct nsf_state *s, const struct ticket *t,
		       const struct nsflush_flush_result *res)
{
	struct vmm *v = t->vmm;
	__u64 total = 0, skip = skipped_sum(res);
	bool any = false;

	for (__u64 i = t->hist_from; i < t->hist_to; i++) {
		struct run *r = hist_at(v, i);

		if (r && r->reason == NSF_REASON_NO_FLUSH_BEFORE_UNPIN) {
			total += r->bytes;
			any = true;
		}
	}
	if (!any)
		return false;
	count_flush(s, v, res);
	if (skip > total)
		skip = total;
	for (__u64 i = t->hist_to; i-- > t->hist_from;) {
		struct run *r = hist_at(v, i), tail;

		if (!r || r->reason != NSF_REASON_NO_FLUSH_BEFORE_UNPIN)
			continue;
		set_reason(v, r, NSF_REASON_LATE);
		if (!skip)
			continue;
		if (r->bytes <= skip) {
			skip -= r->bytes;
			set_reason(v, r, NSF_REASON_SKIPPED_NON_RAM);
			continue;
		}
		/* the record's skipped tail, a record of its own */
		tail = *r;
		tail.phys += r->bytes - skip;
		tail.iova += r->bytes - skip;
		tail.bytes = skip;
		tail.reason = NSF_REASON_SKIPPED_NON_RAM;
		v->by_reason[NSF_REASON_LATE] -= skip;
		v->by_reason[NSF_REASON_SKIPPED_NON_RAM] += skip;
		r->bytes -= skip;
		skip = 0;
		hist_push(s, v, &tail);
	}
	return true;
}

bool nsf_state_daemon_flush(struct nsf_state *s, __u64 ticket, int kfunc_ret,
			    const struct nsflush_flush_result *res)
{
	const struct ticket *t = &s->ticket;

	if (ticket != t->seq || !t->vmm || kfunc_ret || !res)
		return false;
	if (t->kind == NSFLUSH_EV_MAP)
		return late_runs(s, t, res);
	if (t->kind == NSFLUSH_EV_UNPIN)
		return late_unpin(s, t, res);
	return false;
}

void nsf_state_set_watch_start(struct nsf_state *s, __u64 ticks)
{
	s->watch_ticks = ticks;
}

void nsf_state_unreadable(struct nsf_state *s, __u32 pid, const char *comm)
{
	vmm_get(s, pid, comm)->unreadable = true;
}

void nsf_state_set_missed(struct nsf_state *s, __u64 missed)
{
	if (missed > s->missed)
		s->missed = missed;
}

void nsf_state_set_lost(struct nsf_state *s, __u64 lost)
{
	if (lost > s->lost)
		s->lost = lost;
}

static void free_slot_cb(void *ctx, __u32 slot)
{
	slot_free(ctx, slot);
}

static void vmm_forget(struct nsf_state *s, struct vmm *v)
{
	size_t j = 0;

	for (size_t i = 0; i < s->ndoms; i++) {
		struct dom *d = s->doms[i];

		if (d->vmm == v) {
			if (d->type1) {
				nsf_rindex_walk(&d->by_iova, free_slot_cb, s);
				nsf_rindex_walk(&d->pinned, free_slot_cb, s);
			} else {
				nsf_rindex_walk(&d->by_phys, free_slot_cb, s);
			}
			dom_free(s, d);
		} else {
			s->doms[j++] = d;
		}
	}
	s->ndoms = j;
	s->hist_total -= hist_len(v);
	for (size_t i = 0; i < s->nvmms; i++)
		if (s->vmms[i] == v) {
			memmove(&s->vmms[i], &s->vmms[i + 1],
				(s->nvmms - i - 1) * sizeof(s->vmms[0]));
			s->nvmms--;
			break;
		}
	vmm_free(v);
}

/* Does anything still name domain @d: a live run, a history record? */
static bool dom_named(const struct dom *d)
{
	return d->by_iova.count || d->pinned.count || d->by_phys.count || d->hist_refs;
}

/* A VMM that attaches and frees domains for months (hot-plug) keeps its
 * NSF_STATE_MAX_FREED newest freed ones, and older ones still named. */
static void forget_freed_domains(struct nsf_state *s, struct vmm *v)
{
	size_t newer = 0, gone = 0, j = 0;

	/* newest first: past the cap, the unnamed go */
	for (size_t i = v->ndoms; i-- > 0;) {
		struct dom *d = v->doms[i];

		if (!d->freed || newer++ < NSF_STATE_MAX_FREED || dom_named(d))
			continue;
		for (size_t m = 0, k = 0; m < s->ndoms; m++)
			if (s->doms[m] != d)
				s->doms[k++] = s->doms[m];
		s->ndoms--;
		dom_free(s, d);
		v->doms[i] = NULL;
		gone++;
	}
	if (!gone)
		return;
	for (size_t i = 0; i < v->ndoms; i++)
		if (v->doms[i])
			v->doms[j++] = v->doms[i];
	v->ndoms = j;
}

void nsf_state_refresh(struct nsf_state *s)
{
	size_t nexited = 0;
	char path[32];

	for (size_t i = 0; i < s->nvmms; i++) {
		struct vmm *v = s->vmms[i];

		if (!v->exited) {
			snprintf(path, sizeof(path), "/proc/%u", v->pid);
			if (access(path, F_OK) && v->pid) {
				v->exited = true;
				v->exit_seq = ++s->exit_seq;
			}
		}
		nexited += v->exited;
		forget_freed_domains(s, v);
	}
	while (nexited > NSF_STATE_MAX_EXITED) {
		struct vmm *oldest = NULL;

		for (size_t i = 0; i < s->nvmms; i++)
			if (s->vmms[i]->exited &&
			    (!oldest || s->vmms[i]->exit_seq < oldest->exit_seq))
				oldest = s->vmms[i];
		if (s->ticket.vmm == oldest)
			s->ticket.vmm = NULL;
		vmm_forget(s, oldest);
		nexited--;
	}
}

/* ---- queries ----------------------------------------------------------- */

bool nsf_state_has_pid(const struct nsf_state *s, __u32 pid)
{
	return vmm_find(s, pid) != NULL;
}

static bool vmm_selected(const struct vmm *v, __u32 pid)
{
	return !pid || v->pid == pid;
}

static void vmm_summary(const struct vmm *v, struct nsf_summary *sum)
{
	for (size_t i = 0; i < v->ndoms; i++) {
		const struct dom *d = v->doms[i];

		if (d->freed || !d->attached)
			continue;
		if (d->coherent)
			sum->coherent++;
		else
			sum->noncoherent++;
	}
	sum->mapped += v->mapped;
	for (int i = 0; i < 3; i++)
		sum->mapped_by_origin[i] += v->by_origin[i];
	sum->live += v->live;
	sum->flushed += v->flushed;
	for (int i = NSF_REASON_NONE + 1; i < NSF_REASON_NR; i++) {
		sum->by_reason[i] += v->by_reason[i];
		sum->unflushed += v->by_reason[i];
	}
	sum->done += v->done;
	sum->folded_ranges += v->folded_ranges;
	sum->folded_bytes += v->folded_bytes;
	sum->live_runs += v->live_runs;
}

void nsf_state_summary(const struct nsf_state *s, __u32 pid, struct nsf_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < s->nvmms; i++)
		if (vmm_selected(s->vmms[i], pid))
			vmm_summary(s->vmms[i], sum);
}

/* Is the record of @pid (0: every VMM) partial because it started unseen? */
static bool unseen_history(const struct nsf_state *s, __u32 pid)
{
	const struct vmm *v;
	uint64_t start;

	if (!pid) {
		for (size_t i = 0; i < s->nvmms; i++)
			if (started_unseen(s, s->vmms[i]->start_ticks))
				return true;
		return false;
	}
	v = vmm_find(s, pid);
	if (v)
		return started_unseen(s, v->start_ticks);
	return started_unseen(s, nsf_proc_start_ticks(pid, &start) ? start : 0);
}

/* Could the start-up walk not read what @pid (0: any VMM) had mapped? */
static bool unreadable(const struct nsf_state *s, __u32 pid)
{
	for (size_t i = 0; i < s->nvmms; i++)
		if (s->vmms[i]->unreadable && vmm_selected(s->vmms[i], pid))
			return true;
	return false;
}

unsigned int nsf_state_incomplete(const struct nsf_state *s, __u32 pid)
{
	return (s->lost ? NSF_INCOMPLETE_LOST_EVENTS : 0) |
	       (s->missed ? NSF_INCOMPLETE_HOOKS_MISSED : 0) |
	       (unseen_history(s, pid) ? NSF_INCOMPLETE_STARTED_BEFORE_WATCH : 0) |
	       (unreadable(s, pid) ? NSF_INCOMPLETE_MAPPINGS_UNREADABLE : 0) |
	       (s->full ? NSF_INCOMPLETE_STATE_FULL : 0);
}

__u64 nsf_state_lost(const struct nsf_state *s)
{
	return s->lost;
}

__u64 nsf_state_missed(const struct nsf_state *s)
{
	return s->missed;
}

enum nsf_status nsf_state_exit_status(const struct nsf_state *s, __u32 pid)
{
	struct nsf_summary sum;

	if (nsf_state_incomplete(s, pid))
		return NSF_STATUS_INCOMPLETE;
	nsf_state_summary(s, pid, &sum);
	return sum.unflushed ? NSF_STATUS_UNFLUSHED : NSF_STATUS_CLEAN;
}

void nsf_state_vmms(const struct nsf_state *s, __u32 pid,
		    void (*fn)(void *ctx, const struct nsf_vmm_info *v,
			       const struct nsf_summary *sum), void *ctx)
{
	for (size_t i = 0; i < s->nvmms; i++) {
		const struct vmm *v = s->vmms[i];
		struct nsf_vmm_info info = { .pid = v->pid, .comm = v->comm, .exited = v->exited };
		struct nsf_summary sum = { 0 };

		if (!vmm_selected(v, pid))
			continue;
		for (size_t j = i + 1; j < s->nvmms; j++)
			if (s->vmms[j]->pid == v->pid)
				info.shadowed = true;
		vmm_summary(v, &sum);
		fn(ctx, &info, &sum);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

void nsf_state_domains(const struct nsf_state *s, __u32 pid,
		       void (*fn)(void *ctx, const struct nsf_domain_info *d), void *ctx)
{
	for (size_t i = 0; i < s->ndoms; i++) {
		const struct dom *d = s->doms[i];
		const char **devs = NULL;
		__u32 *grps;
		size_t ndevs = 0, cap = 0, m = 0;

		if (!vmm_selected(d->vmm, pid))
			continue;
		grps = xcalloc(d->ngrps * sizeof(*grps));
		for (size_t j = 0; j < d->ngrps; j++) {
			grps[j] = d->grps[j].id;
			for (size_t k = 0; k < d->grps[j].ndevs; k++)
				VEC_PUSH(devs, ndevs, cap, d->grps[j].devs[k]);
		}
		qsort(grps, d->ngrps, sizeof(*grps), cmp_u32);
		if (ndevs) {
			qsort(devs, ndevs, sizeof(devs[0]), cmp_str);
			for (size_t j = 1; j < ndevs; j++)
				if (strcmp(devs[m], devs[j]))
					devs[++m] = devs[j];
			ndevs = m + 1;
		}
		fn(ctx, &(struct nsf_domain_info){
			.id = d->id, .container = d->container, .pid = d->vmm->pid,
			.comm = d->vmm->comm, .backend = d->backend, .coherent = d->coherent,
			.state = d->freed ? "freed" : d->attached ? "attached" : "detached",
			.groups = grps, .ngroups = d->ngrps,
			.devices = devs, .ndevices = ndevs,
		});
		free(grps);
		free(devs);
	}
}

/* Merges consecutive ranges on their way to the caller. */
struct emitter {
	const struct nsf_state *s;
	void (*fn)(void *ctx, const struct nsf_range *r);
	void *ctx;
	__u32 pid;
	__u64 domain;
	struct nsf_range cur;
	bool have;
	struct run *rest;	/* a VMM's runs not mapped, and its history */
	size_t nrest, crest;
};

static bool same_attrs(const struct nsf_range *x, const struct nsf_range *y)
{
	return x->pid == y->pid && x->domain == y->domain && x->origin == y->origin &&
	       x->state == y->state && x->reason == y->reason && x->at_unpin == y->at_unpin &&
	       x->flushed_before_map == y->flushed_before_map &&
	       x->flushed_before_unpin == y->flushed_before_unpin;
}

static void emit_flush(struct emitter *em)
{
	if (em->have)
		em->fn(em->ctx, &em->cur);
	em->have = false;
}

static void emit(struct emitter *em, const struct run *r)
{
	struct nsf_range x = {
		.pid = em->pid, .phys = r->phys, .iova = r->iova, .bytes = r->bytes,
		.domain = em->domain, .origin = r->origin, .state = r->state,
		.reason = r->reason, .at_unpin = r->at_unpin,
		.flushed_before_map = r->fbm, .flushed_before_unpin = r->fbu,
	};

	if (em->have && same_attrs(&em->cur, &x) && em->cur.iova + em->cur.bytes == x.iova &&
	    em->cur.phys + em->cur.bytes == x.phys) {
		em->cur.bytes += x.bytes;
		return;
	}
	emit_flush(em);
	em->cur = x;
	em->have = true;
}

static void emit_mapped(void *ctx, __u32 slot)
{
	struct emitter *em = ctx;

	emit(em, R(em->s, slot));
}

static void collect_unmapped(void *ctx, __u32 slot)
{
	struct emitter *em = ctx;
	const struct run *r = R(em->s, slot);

	if (r->state != NSF_RUN_MAPPED)
		VEC_PUSH(em->rest, em->nrest, em->crest, *r);
}

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int cmp_rest(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	CMP(cmp_state->dslot[x->dom]->id, cmp_state->dslot[y->dom]->id);
	CMP(x->dom, y->dom);
	CMP(x->origin, y->origin);
	CMP(x->state, y->state);
	CMP(x->reason, y->reason);
	CMP(x->fbm, y->fbm);
	CMP(x->fbu, y->fbu);
	CMP(x->at_unpin, y->at_unpin);
	CMP(x->iova, y->iova);
	CMP(x->phys, y->phys);
	return 0;
}

static int cmp_dom(const void *a, const void *b)
{
	const struct dom *x = *(struct dom *const *)a, *y = *(struct dom *const *)b;

	CMP(x->id, y->id);
	CMP(x->slot, y->slot);
	return 0;
}

static int cmp_vmm_pid(const void *a, const void *b)
{
	const struct vmm *x = *(struct vmm *const *)a, *y = *(struct vmm *const *)b;

	CMP(x->pid, y->pid);
	return 0;
}

void nsf_state_ranges(const struct nsf_state *s, __u32 pid,
		      void (*fn)(void *ctx, const struct nsf_range *r), void *ctx)
{
	struct emitter em = { .s = s, .fn = fn, .ctx = ctx };
	struct vmm **vs = xcalloc(s->nvmms * sizeof(*vs));
	size_t nv = 0;

	for (size_t i = 0; i < s->nvmms; i++)
		if (vmm_selected(s->vmms[i], pid))
			vs[nv++] = s->vmms[i];
	/* by pid; a pid's VMMs oldest first (qsort is not stable: insertion) */
	for (size_t i = 1; i < nv; i++)
		for (size_t j = i; j > 0 && cmp_vmm_pid(&vs[j - 1], &vs[j]) > 0; j--) {
			struct vmm *t = vs[j];

			vs[j] = vs[j - 1];
			vs[j - 1] = t;
		}
	for (size_t i = 0; i < nv; i++) {
		struct vmm *v = vs[i];
		struct dom **ds = xcalloc(v->ndoms * sizeof(*ds));
		size_t k = 0;

		memcpy(ds, v->doms, v->ndoms * sizeof(*ds));
		qsort(ds, v->ndoms, sizeof(*ds), cmp_dom);
		em.pid = v->pid;
		em.nrest = 0;
		for (size_t j = 0; j < v->ndoms; j++)
			nsf_rindex_walk(ds[j]->type1 ? &ds[j]->pinned : &ds[j]->by_phys,
					collect_unmapped, &em);
		for (size_t j = v->hist_head; j < v->hist_n; j++)
			VEC_PUSH(em.rest, em.nrest, em.crest, v->hist[j]);
		cmp_state = s;
		qsort(em.rest, em.nrest, sizeof(*em.rest), cmp_rest);
		for (size_t j = 0; j < v->ndoms; j++) {
			em.domain = ds[j]->id;
			nsf_rindex_walk(&ds[j]->by_iova, emit_mapped, &em);
			for (; k < em.nrest && em.rest[k].dom == ds[j]->slot; k++)
				emit(&em, &em.rest[k]);
			emit_flush(&em);
		}
		free(ds);
	}
	free(em.rest);
	free(vs);
}

void nsf_state_totals(const struct nsf_state *s, struct nsf_state_totals *t)
{
	memset(t, 0, sizeof(*t));
	t->flushed = s->flushed_total;
	memcpy(t->skipped, s->skipped_total, sizeof(t->skipped));
	t->events = s->events;
	t->live_runs = s->runs_used;
	t->history = s->hist_total;
	t->mem_bytes = sizeof(*s) + NSF_STATE_MAX_DOMAINS * sizeof(*s->dslot) +
		       s->nchunks * (CHUNK_RUNS * sizeof(struct run) + sizeof(*s->chunk)) +
		       s->cvmms * sizeof(*s->vmms) + s->cdoms * sizeof(*s->doms) +
		       s->buf.cap * sizeof(__u32) + s->ticket.runs.cap * sizeof(__u32);
	for (size_t i = 0; i < s->nvmms; i++) {
		const struct vmm *v = s->vmms[i];

		t->mem_bytes += sizeof(*v) + v->hist_cap * sizeof(*v->hist) +
				v->cdoms * sizeof(*v->doms);
	}
	for (size_t i = 0; i < s->ndoms; i++) {
		const struct dom *d = s->doms[i];

		t->mem_bytes += sizeof(*d) + d->cgrps * sizeof(*d->grps) +
				nsf_rindex_mem(&d->by_iova) + nsf_rindex_mem(&d->pinned) +
				nsf_rindex_mem(&d->by_phys);
	}
}
