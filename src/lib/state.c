// SPDX-License-Identifier: GPL-2.0
/*
 * nsflushd's state engine: per-VMM runs and domains built from kernel
 * events, and the reports (JSON, table, Prometheus) made from them.
 *
 * Model. Every VMM owns a list of range entries ("ents"), appended to and
 * split but never removed until the VMM is forgotten:
 *   - run entries: one per MAP (split by partial UNMAP/UNPIN/skips); state
 *     mapped -> unmapped -> unpinned; they carry the map-time reason;
 *   - unpin entries: one per piece of an UNPIN that had a problem (no flush,
 *     skipped bytes, late daemon flush); state "unpinned", not indexed.
 * Run entries not yet unpinned are indexed by phys (per VMM) and, while
 * mapped, by iova (per domain), in skip lists, so that 100k runs cost
 * O(log n) per event.
 *
 * Where in a run the flush skipped bytes is not reported by the kfunc; the
 * skipped count is attributed to the END of the run (exact in the usual
 * case where a run is entirely RAM or entirely MMIO).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nsf.h"
#include "state.h"

#define NSF_MAX_EXITED	64	/* exited VMMs kept for reports */
#define SL_MAX		16	/* skip list levels (p = 1/4: plenty for 2^32) */

static const char *const skip_names[NSFLUSH_SKIP_NR] = {
	[NSFLUSH_SKIP_NO_PAGE] = "no_page",
	[NSFLUSH_SKIP_RESERVED] = "reserved",
	[NSFLUSH_SKIP_NOT_MAPPED] = "not_mapped",
	[NSFLUSH_SKIP_UNCACHED] = "uncached",
};

enum ent_state { ST_MAPPED, ST_UNMAPPED, ST_UNPINNED };
static const char *const state_names[] = { "mapped", "unmapped", "unpinned" };

enum reason { R_NONE, R_MAP, R_UNPIN, R_LATE, R_SKIP, R_FOUND };
static const char *const reason_names[] = {
	NULL, "no-flush-before-map", "no-flush-before-unpin", "late", "skipped-non-ram",
	"pre-existing",
};
/* enum nsflush_origin */
static const char *const origin_names[] = { "map", "attach", "found" };

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

/* ---- skip list keyed by (start, id) ---------------------------------- */

struct ent;

struct sl_node {
	__u64 key;
	struct ent *ent;
	int lvl;
	struct sl_node *next[];
};

struct sl {
	struct sl_node *head;
	__u64 maxlen;		/* longest range ever inserted: overlap search */
};

struct ent {
	__u64 id;		/* unique; ties in the skip lists */
	__u64 seq;		/* event that set the reason */
	__u64 phys, iova, bytes;
	struct dom *dom;
	__u32 pid;
	__u8 origin, state, reason;
	bool fbm, fbu;
	bool at_unpin;		/* an unpin entry, not a run */
	struct sl_node *pn;	/* in vmm->by_phys (not unpinned) */
	struct sl_node *in;	/* in dom->by_iova (mapped) */
};

static unsigned int sl_rand_state = 0x2545f491;

static int sl_level(void)
{
	int lvl = 1;

	for (;;) {
		sl_rand_state ^= sl_rand_state << 13;
		sl_rand_state ^= sl_rand_state >> 17;
		sl_rand_state ^= sl_rand_state << 5;
		if ((sl_rand_state & 3) || lvl == SL_MAX)
			return lvl;
		lvl++;
	}
}

static void sl_init(struct sl *l)
{
	l->head = xcalloc(sizeof(*l->head) + SL_MAX * sizeof(l->head->next[0]));
	l->head->lvl = SL_MAX;
	l->maxlen = 0;
}

static void sl_destroy(struct sl *l)
{
	struct sl_node *n = l->head, *next;

	while (n) {
		next = n->next[0];
		free(n);
		n = next;
	}
	l->head = NULL;
}

static bool sl_less(const struct sl_node *n, __u64 key, __u64 id)
{
	return n->key < key || (n->key == key && n->ent->id < id);
}

/* Fills upd[] with the last node before (key, id) at every level. */
static void sl_find(struct sl *l, __u64 key, __u64 id, struct sl_node **upd)
{
	struct sl_node *x = l->head;

	for (int i = SL_MAX - 1; i >= 0; i--) {
		while (x->next[i] && sl_less(x->next[i], key, id))
			x = x->next[i];
		upd[i] = x;
	}
}

static struct sl_node *sl_insert(struct sl *l, __u64 key, __u64 len, struct ent *e)
{
	struct sl_node *upd[SL_MAX], *n;
	int lvl = sl_level();

	sl_find(l, key, e->id, upd);
	n = xcalloc(sizeof(*n) + lvl * sizeof(n->next[0]));
	n->key = key;
	n->ent = e;
	n->lvl = lvl;
	for (int i = 0; i < lvl; i++) {
		n->next[i] = upd[i]->next[i];
		upd[i]->next[i] = n;
	}
	if (len > l->maxlen)
		l->maxlen = len;
	return n;
}

static void sl_remove(struct sl *l, struct sl_node *n)
{
	struct sl_node *upd[SL_MAX];

	sl_find(l, n->key, n->ent->id, upd);
	for (int i = 0; i < n->lvl; i++)
		if (upd[i]->next[i] == n)
			upd[i]->next[i] = n->next[i];
	free(n);
}

/* First node that may overlap [a, ...): key >= a - maxlen. */
static struct sl_node *sl_first_overlap(struct sl *l, __u64 a)
{
	struct sl_node *upd[SL_MAX];
	__u64 from = a > l->maxlen ? a - l->maxlen : 0;

	sl_find(l, from, 0, upd);
	return upd[0]->next[0];
}

/* ---- VMMs and domains ------------------------------------------------ */

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
	__u8 backend;
	bool coherent, attached, freed;
	struct grp *grps;
	size_t ngrps, cgrps;
	struct sl by_iova;	/* mapped run entries */
};

struct vmm {
	__u32 pid;
	char comm[NSFLUSH_COMM_LEN];
	bool exited;
	bool unreadable;	/* the start-up walk could not read its mappings */
	uint64_t start_ticks;	/* nsf_proc_start_ticks() when first seen; 0: gone */
	__u64 exit_seq;
	struct ent **ents;
	size_t nents, cents;
	struct sl by_phys;	/* run entries not yet unpinned */
	__u64 mapped_bytes, flushed_bytes;
};

struct nsf_state {
	enum nsf_mode mode;
	struct vmm **vmms;
	size_t nvmms, cvmms;
	struct dom **doms;
	size_t ndoms, cdoms;
	__u64 next_id, seq, exit_seq;
	__u64 lost;
	__u64 watch_ticks;	/* nsf_state_set_watch_start(); 0: not checked */
	__u64 missed;		/* hooks the kernel skipped (recursion) */
	/* monotonic totals for the Prometheus counters */
	__u64 flushed_total, skipped_total[NSFLUSH_SKIP_NR];
	/* the last event applied: for nsf_state_daemon_flush() */
	struct nsflush_event last;
	struct vmm *last_vmm;
	size_t last_first;	/* its first new entry in last_vmm->ents */
};

const char *nsf_mode_name(enum nsf_mode mode)
{
	switch (mode) {
	case NSF_MODE_AUDIT:
		return "audit";
	case NSF_MODE_FLUSH:
		return "flush";
	case NSF_MODE_ENFORCE:
		return "enforce";
	}
	return "unknown";
}

struct nsf_state *nsf_state_new(enum nsf_mode mode)
{
	struct nsf_state *s = xcalloc(sizeof(*s));

	s->mode = mode;
	return s;
}

void nsf_state_set_mode(struct nsf_state *s, enum nsf_mode mode)
{
	s->mode = mode;
}

static void dom_free(struct dom *d)
{
	for (size_t i = 0; i < d->ngrps; i++) {
		for (size_t j = 0; j < d->grps[i].ndevs; j++)
			free(d->grps[i].devs[j]);
		free(d->grps[i].devs);
	}
	free(d->grps);
	sl_destroy(&d->by_iova);
	free(d);
}

static void vmm_free(struct vmm *v)
{
	for (size_t i = 0; i < v->nents; i++)
		free(v->ents[i]);
	free(v->ents);
	sl_destroy(&v->by_phys);
	free(v);
}

void nsf_state_free(struct nsf_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ndoms; i++)
		dom_free(s->doms[i]);
	for (size_t i = 0; i < s->nvmms; i++)
		vmm_free(s->vmms[i]);
	free(s->doms);
	free(s->vmms);
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
		sl_init(&v->by_phys);
		VEC_PUSH(s->vmms, s->nvmms, s->cvmms, v);
	}
	if (comm)
		set_comm(v->comm, comm);
	return v;
}

/* The current (not freed) domain with this id. */
static struct dom *dom_find(const struct nsf_state *s, __u64 id)
{
	for (size_t i = s->ndoms; i-- > 0;)
		if (s->doms[i]->id == id && !s->doms[i]->freed)
			return s->doms[i];
	return NULL;
}

static struct dom *dom_new(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = xcalloc(sizeof(*d));

	d->id = e->domain;
	d->vmm = vmm_get(s, e->pid, e->comm);
	d->container = e->container;
	d->backend = e->backend;
	sl_init(&d->by_iova);
	VEC_PUSH(s->doms, s->ndoms, s->cdoms, d);
	return d;
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

/* ---- entries --------------------------------------------------------- */

static struct ent *ent_new(struct nsf_state *s, struct vmm *v)
{
	struct ent *e = xcalloc(sizeof(*e));

	e->id = ++s->next_id;
	e->seq = s->seq;
	e->pid = v->pid;
	VEC_PUSH(v->ents, v->nents, v->cents, e);
	return e;
}

/* Splits @e at byte @off (0 < off < bytes); returns the new tail. */
static struct ent *ent_split(struct nsf_state *s, struct vmm *v, struct ent *e, __u64 off)
{
	struct ent *t = ent_new(s, v);
	__u64 id = t->id;

	*t = *e;
	t->id = id;
	t->phys += off;
	t->iova += off;
	t->bytes -= off;
	e->bytes = off;
	t->pn = e->pn ? sl_insert(&v->by_phys, t->phys, t->bytes, t) : NULL;
	t->in = e->in ? sl_insert(&e->dom->by_iova, t->iova, t->bytes, t) : NULL;
	return t;
}

/* Marks the last @bytes of the entries @es[0..n) (in order) with @reason,
 * splitting as needed. */
static void mark_tail(struct nsf_state *s, struct vmm *v, struct ent **es, size_t n,
		      __u64 bytes, enum reason reason)
{
	for (size_t i = n; i-- > 0 && bytes;) {
		struct ent *e = es[i];

		if (e->bytes > bytes)
			e = ent_split(s, v, e, e->bytes - bytes);
		e->reason = reason;
		if (e->state != ST_UNPINNED)
			e->fbm = false;	/* a run's skipped bytes were not flushed */
		bytes -= e->bytes;
	}
}

static __u64 skipped_sum(const struct nsflush_flush_result *r)
{
	__u64 sum = 0;

	for (int i = 0; i < NSFLUSH_SKIP_NR; i++)
		sum += r->skipped_bytes[i];
	return sum;
}

static void count_flush(struct nsf_state *s, struct vmm *v, const struct nsflush_flush_result *r)
{
	v->flushed_bytes += r->flushed_bytes;
	s->flushed_total += r->flushed_bytes;
	for (int i = 0; i < NSFLUSH_SKIP_NR; i++)
		s->skipped_total[i] += r->skipped_bytes[i];
}

static bool flush_ok(const struct nsflush_event *e)
{
	return e->flush_state == NSFLUSH_FLUSH_DONE && e->flush_ret == 0;
}

/* ---- events ---------------------------------------------------------- */

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

static void ev_free(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = dom_find(s, e->domain);
	struct sl_node *n;

	if (!d)
		return;
	d->freed = true;
	d->attached = false;
	/* whatever is still mapped in it is gone with it */
	while ((n = d->by_iova.head->next[0])) {
		n->ent->state = ST_UNMAPPED;
		n->ent->in = NULL;
		sl_remove(&d->by_iova, n);
	}
}

/* Does a mapped run of @d meet [iova, iova + bytes)? */
static bool live_at(struct dom *d, __u64 iova, __u64 bytes)
{
	for (struct sl_node *n = sl_first_overlap(&d->by_iova, iova); n; n = n->next[0]) {
		if (n->key >= iova + bytes)
			break;
		if (n->key + n->ent->bytes > iova && n->ent->state == ST_MAPPED)
			return true;
	}
	return false;
}

static void ev_map(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = dom_find(s, e->domain);
	struct vmm *v;
	struct ent *r;
	__u64 skip = 0;
	bool ok = flush_ok(e);

	if (e->map_ret != 0 || !e->bytes)
		return;
	if (!d) {
		d = dom_new(s, e);
		d->attached = true;
	}
	if (d->coherent)
		return;		/* never expected: nothing to flush there */
	/* found at start, but the hooks (or the backlog) told of it already */
	if (e->origin == NSFLUSH_ORIGIN_FOUND && live_at(d, e->iova, e->bytes))
		return;
	v = d->vmm;
	if (v->pid == e->pid)
		set_comm(v->comm, e->comm);
	s->last_vmm = v;
	s->last_first = v->nents;
	v->mapped_bytes += e->bytes;
	if (ok) {
		count_flush(s, v, &e->flush);
		skip = skipped_sum(&e->flush);
		if (skip > e->bytes)
			skip = e->bytes;
	}
	r = ent_new(s, v);
	r->phys = e->phys;
	r->iova = e->iova;
	r->bytes = e->bytes;
	r->dom = d;
	r->origin = e->origin;
	r->state = ST_MAPPED;
	r->fbm = ok;
	/* found mapped at start, with no flush known: not a missed flush
	 * nsflush watched happen, a history it never saw */
	r->reason = ok ? R_NONE : e->origin == NSFLUSH_ORIGIN_FOUND ? R_FOUND : R_MAP;
	r->pn = sl_insert(&v->by_phys, r->phys, r->bytes, r);
	r->in = sl_insert(&d->by_iova, r->iova, r->bytes, r);
	if (skip)
		mark_tail(s, v, &r, 1, skip, R_SKIP);
}

/* Collects the entries from @n on whose [key, key+bytes) meets [a, b). */
static size_t collect(struct sl_node *n, __u64 a, __u64 b, bool by_phys,
		      struct ent ***out, size_t *cap)
{
	size_t cnt = 0;

	for (; n && n->key < b; n = n->next[0]) {
		struct ent *e = n->ent;

		if (n->key + e->bytes <= a)
			continue;
		(void)by_phys;
		VEC_PUSH(*out, cnt, *cap, e);
	}
	return cnt;
}

/* Clips @e (indexed at @start) to [a, b); returns the inside piece. */
static struct ent *clip(struct nsf_state *s, struct vmm *v, struct ent *e,
			__u64 start, __u64 a, __u64 b)
{
	if (start < a) {
		e = ent_split(s, v, e, a - start);
		start = a;
	}
	if (start + e->bytes > b)
		ent_split(s, v, e, b - start);
	return e;
}

static void ev_unmap(struct nsf_state *s, const struct nsflush_event *e)
{
	struct dom *d = dom_find(s, e->domain);
	__u64 a = e->iova, b = e->iova + e->bytes;
	struct ent **es = NULL;
	size_t n, cap = 0;
	struct vmm *v;

	if (!d || !e->bytes)
		return;
	if (b < a)
		b = UINT64_MAX;
	v = d->vmm;
	n = collect(sl_first_overlap(&d->by_iova, a), a, b, false, &es, &cap);
	for (size_t i = 0; i < n; i++) {
		struct ent *r = clip(s, v, es[i], es[i]->iova, a, b);

		r->state = ST_UNMAPPED;
		sl_remove(&d->by_iova, r->in);
		r->in = NULL;
	}
	free(es);
}

static int cmp_ent_phys(const void *a, const void *b)
{
	const struct ent *x = *(struct ent *const *)a, *y = *(struct ent *const *)b;

	if (x->phys != y->phys)
		return x->phys < y->phys ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The VMM an UNPIN belongs to: by container (the unpin may run in
 * another task, e.g. at release), else by pid. */
static struct vmm *unpin_vmm(const struct nsf_state *s, const struct nsflush_event *e)
{
	for (size_t i = s->ndoms; e->container && i-- > 0;)
		if (s->doms[i]->container == e->container)
			return s->doms[i]->vmm;
	return vmm_find(s, e->pid);
}

/*
 * Keeps, of the @n entries an UNPIN met by phys, those of the mapping it
 * unpins: type1 unpins one vfio_dma at a time and says at which IOVA, and
 * the same pages may be mapped at two IOVAs at once (QEMU's BIOS), each
 * pinned and unpinned on its own. An entry is that mapping's when its
 * IOVA and phys are as far apart as the event's (in every domain: type1
 * maps a run at the same IOVA in each). iommufd unpins pages however many
 * areas share them: all of them go. Returns how many are kept (all of
 * them when none matches: better the old answer than none).
 */
static size_t same_mapping(struct ent **es, size_t n, const struct nsflush_event *e)
{
	size_t kept = 0;

	if (e->backend != NSFLUSH_BACKEND_TYPE1)
		return n;
	for (size_t i = 0; i < n; i++)
		if (es[i]->iova - es[i]->phys == e->iova - e->phys)
			es[kept++] = es[i];
	return kept ? kept : n;
}

static void ev_unpin(struct nsf_state *s, const struct nsflush_event *e)
{
	struct vmm *v = unpin_vmm(s, e);
	__u64 a = e->phys, b = e->phys + e->bytes, covered = 0, total = 0, skip = 0;
	struct ent **es = NULL;
	size_t n, cap = 0;
	bool ok = flush_ok(e);

	if (!v || !e->bytes)
		return;
	if (b < a)
		b = UINT64_MAX;
	s->last_vmm = v;
	s->last_first = v->nents;
	n = collect(sl_first_overlap(&v->by_phys, a), a, b, true, &es, &cap);
	if (!n) {
		free(es);
		return;		/* never mapped non-coherently: not ours */
	}
	n = same_mapping(es, n, e);
	for (size_t i = 0; i < n; i++) {
		struct ent *r = clip(s, v, es[i], es[i]->phys, a, b);

		r->state = ST_UNPINNED;
		r->fbu = ok;
		sl_remove(&v->by_phys, r->pn);
		r->pn = NULL;
		if (r->in) {
			sl_remove(&r->dom->by_iova, r->in);
			r->in = NULL;
		}
		es[i] = r;
	}
	/* the pieces' phys union: one problem per byte, however many domains
	 * mapped it */
	qsort(es, n, sizeof(es[0]), cmp_ent_phys);
	covered = a;
	for (size_t i = 0; i < n; i++) {
		__u64 end = es[i]->phys + es[i]->bytes;

		if (end > covered) {
			total += end - (es[i]->phys > covered ? es[i]->phys : covered);
			covered = end;
		}
	}
	if (ok) {
		count_flush(s, v, &e->flush);
		skip = skipped_sum(&e->flush);
		if (skip > total)
			skip = total;
	}
	/* unpin entries: all of the union (no flush), or its last @skip bytes */
	covered = a;
	for (size_t i = 0; i < n && (!ok || skip); i++) {
		struct ent *r = es[i], *p;
		__u64 from = r->phys > covered ? r->phys : covered;
		__u64 end = r->phys + r->bytes;

		if (end <= from)
			continue;
		covered = end;
		total -= end - from;
		if (ok && total >= skip)
			continue;	/* flushed, before the skipped tail */
		if (ok && total + (end - from) > skip)
			from = end - (skip - total);
		p = ent_new(s, v);
		p->phys = from;
		p->iova = r->iova + (from - r->phys);
		p->bytes = end - from;
		p->dom = r->dom;
		p->origin = r->origin;
		p->state = ST_UNPINNED;
		p->fbm = r->fbm;
		p->at_unpin = true;
		p->reason = ok ? R_SKIP : R_UNPIN;
	}
	free(es);
}

void nsf_state_event(struct nsf_state *s, const struct nsflush_event *e)
{
	s->seq++;
	s->last = *e;
	s->last_vmm = NULL;
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
}

static bool ranges_meet(__u64 a, __u64 alen, __u64 b, __u64 blen)
{
	return a < b + blen && b < a + alen;
}

void nsf_state_daemon_flush(struct nsf_state *s, const struct nsflush_event *e,
			    int kfunc_ret, const struct nsflush_flush_result *res,
			    __u64 done_ns)
{
	enum reason want = e->kind == NSFLUSH_EV_UNPIN ? R_UNPIN :
			   e->origin == NSFLUSH_ORIGIN_FOUND ? R_FOUND : R_MAP;
	bool last = !memcmp(e, &s->last, sizeof(*e));
	struct ent **es = NULL;
	size_t n = 0, cap = 0, from = 0;
	struct vmm *v;
	__u64 total = 0, skip;

	(void)done_ns;	/* always after the mapping went live / the unpin */
	if (e->kind != NSFLUSH_EV_MAP && e->kind != NSFLUSH_EV_UNPIN)
		return;
	if (last) {
		v = s->last_vmm;	/* NULL: the event changed nothing */
		if (!v)
			return;
		from = s->last_first;
	} else {
		v = e->kind == NSFLUSH_EV_MAP ? vmm_find(s, e->pid) : unpin_vmm(s, e);
		if (!v)
			return;
	}
	for (size_t i = from; i < v->nents; i++) {
		struct ent *r = v->ents[i];

		if (r->reason != want)
			continue;
		if (last ? r->seq != s->seq :
		    want == R_MAP ? (r->dom->id != e->domain || r->state != ST_MAPPED ||
				     !ranges_meet(r->iova, r->bytes, e->iova, e->bytes)) :
				    !ranges_meet(r->phys, r->bytes, e->phys, e->bytes))
			continue;
		VEC_PUSH(es, n, cap, r);
		total += r->bytes;
	}
	if (n && kfunc_ret == 0 && res) {
		count_flush(s, v, res);
		for (size_t i = 0; i < n; i++)
			es[i]->reason = R_LATE;
		skip = skipped_sum(res);
		mark_tail(s, v, es, n, skip < total ? skip : total, R_SKIP);
	}
	free(es);
}

void nsf_state_set_watch_start(struct nsf_state *s, __u64 ticks)
{
	s->watch_ticks = ticks;
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

void nsf_state_unreadable(struct nsf_state *s, __u32 pid, const char *comm)
{
	vmm_get(s, pid, comm)->unreadable = true;
}

/* Could the start-up walk not read what @pid (0: any VMM) had mapped? */
static bool unreadable(const struct nsf_state *s, __u32 pid)
{
	for (size_t i = 0; i < s->nvmms; i++)
		if (s->vmms[i]->unreadable && (!pid || s->vmms[i]->pid == pid))
			return true;
	return false;
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

static void vmm_forget(struct nsf_state *s, struct vmm *v)
{
	size_t j = 0;

	for (size_t i = 0; i < s->ndoms; i++) {
		if (s->doms[i]->vmm == v)
			dom_free(s->doms[i]);
		else
			s->doms[j++] = s->doms[i];
	}
	s->ndoms = j;
	for (size_t i = 0; i < s->nvmms; i++)
		if (s->vmms[i] == v) {
			memmove(&s->vmms[i], &s->vmms[i + 1],
				(s->nvmms - i - 1) * sizeof(s->vmms[0]));
			s->nvmms--;
			break;
		}
	vmm_free(v);
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
	}
	while (nexited > NSF_MAX_EXITED) {
		struct vmm *oldest = NULL;

		for (size_t i = 0; i < s->nvmms; i++)
			if (s->vmms[i]->exited &&
			    (!oldest || s->vmms[i]->exit_seq < oldest->exit_seq))
				oldest = s->vmms[i];
		if (s->last_vmm == oldest)
			s->last_vmm = NULL;
		vmm_forget(s, oldest);
		nexited--;
	}
}

bool nsf_state_has_pid(const struct nsf_state *s, __u32 pid)
{
	return vmm_find(s, pid) != NULL;
}

/* ---- reports --------------------------------------------------------- */

struct rng {
	__u32 pid;
	__u64 phys, iova, bytes, domain;
	__u8 origin, state, reason;
	bool fbm, fbu, at_unpin;
};

struct summary {
	__u64 noncoherent, coherent, mapped, live, flushed, unflushed;
	__u64 found;		/* unflushed because pre-existing */
};

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int cmp_rng_merge(const void *a, const void *b)
{
	const struct rng *x = a, *y = b;

	CMP(x->pid, y->pid);
	CMP(x->domain, y->domain);
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

static int cmp_rng_show(const void *a, const void *b)
{
	const struct rng *x = a, *y = b;

	CMP(x->pid, y->pid);
	CMP(x->domain, y->domain);
	CMP(x->iova, y->iova);
	CMP(x->at_unpin, y->at_unpin);
	CMP(x->state, y->state);
	CMP(x->reason, y->reason);
	CMP(x->phys, y->phys);
	return 0;
}

static bool vmm_selected(const struct vmm *v, __u32 pid)
{
	return !pid || v->pid == pid;
}

/* The merged ranges of the selected VMMs, in display order. */
static struct rng *ranges(const struct nsf_state *s, __u32 pid, size_t *count)
{
	struct rng *r = NULL;
	size_t n = 0, cap = 0, m = 0;

	for (size_t i = 0; i < s->nvmms; i++) {
		const struct vmm *v = s->vmms[i];

		if (!vmm_selected(v, pid))
			continue;
		for (size_t j = 0; j < v->nents; j++) {
			const struct ent *e = v->ents[j];
			struct rng x = {
				.pid = e->pid, .phys = e->phys, .iova = e->iova,
				.bytes = e->bytes, .domain = e->dom->id,
				.origin = e->origin, .state = e->state,
				.reason = e->reason, .fbm = e->fbm, .fbu = e->fbu,
				.at_unpin = e->at_unpin,
			};

			VEC_PUSH(r, n, cap, x);
		}
	}
	if (n) {
		qsort(r, n, sizeof(r[0]), cmp_rng_merge);
		for (size_t i = 1; i < n; i++) {
			struct rng *c = &r[m], *x = &r[i];

			if (c->pid == x->pid && c->domain == x->domain &&
			    c->origin == x->origin && c->state == x->state &&
			    c->reason == x->reason && c->fbm == x->fbm && c->fbu == x->fbu &&
			    c->at_unpin == x->at_unpin &&
			    c->iova + c->bytes == x->iova && c->phys + c->bytes == x->phys)
				c->bytes += x->bytes;
			else
				r[++m] = *x;
		}
		n = m + 1;
		qsort(r, n, sizeof(r[0]), cmp_rng_show);
	}
	*count = n;
	return r;
}

static void vmm_summary(const struct nsf_state *s, const struct vmm *v, struct summary *sum)
{
	for (size_t i = 0; i < s->ndoms; i++) {
		const struct dom *d = s->doms[i];

		if (d->vmm != v || d->freed || !d->attached)
			continue;
		if (d->coherent)
			sum->coherent++;
		else
			sum->noncoherent++;
	}
	sum->mapped += v->mapped_bytes;
	sum->flushed += v->flushed_bytes;
	for (size_t i = 0; i < v->nents; i++) {
		const struct ent *e = v->ents[i];

		if (e->state == ST_MAPPED)
			sum->live += e->bytes;
		if (e->reason != R_NONE)
			sum->unflushed += e->bytes;
		if (e->reason == R_FOUND)
			sum->found += e->bytes;
	}
}

static void summary(const struct nsf_state *s, __u32 pid, struct summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < s->nvmms; i++)
		if (vmm_selected(s->vmms[i], pid))
			vmm_summary(s, s->vmms[i], sum);
}

/*
 * Writes @in[0..n) (stops at NUL) as valid UTF-8: invalid bytes become
 * U+FFFD. @esc escapes one ASCII character or returns NULL.
 */
static void put_text(FILE *out, const char *in, size_t n, const char *(*esc)(int c))
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0;

	while (i < n && p[i]) {
		unsigned char c = p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
			     (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		bool valid = len > 0 && i + len <= n && !(len == 2 && c < 0xc2);
		__u32 cp = len == 1 ? c : c & (0x7f >> len);

		for (size_t k = 1; valid && k < len; k++) {
			valid = (p[i + k] & 0xc0) == 0x80;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (valid && len > 1)
			valid = !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) &&
				!(len == 4 && (cp < 0x10000 || cp > 0x10ffff));
		if (!valid) {
			fputs("\xef\xbf\xbd", out);
			i++;
		} else if (len == 1) {
			const char *e = esc(c);

			if (e)
				fputs(e, out);
			else
				fputc(c, out);
			i++;
		} else {
			fwrite(p + i, 1, len, out);
			i += len;
		}
	}
}

static const char *json_esc(int c)
{
	static char buf[8];

	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\t':
		return "\\t";
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(buf, sizeof(buf), "\\u%04x", c);
		return buf;
	}
	return NULL;
}

static const char *prom_esc(int c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	}
	return NULL;
}

/* Table cells: no control characters. */
static const char *table_esc(int c)
{
	return c < 0x20 || c == 0x7f ? "?" : NULL;
}

static void json_str(FILE *out, const char *str, size_t n)
{
	fputc('"', out);
	put_text(out, str, n, json_esc);
	fputc('"', out);
}

static const char *dom_state(const struct dom *d)
{
	return d->freed ? "freed" : d->attached ? "attached" : "detached";
}

static const char *backend_name(__u8 backend)
{
	switch (backend) {
	case NSFLUSH_BACKEND_TYPE1:
		return "vfio-type1";
	case NSFLUSH_BACKEND_IOMMUFD:
		return "iommufd";
	}
	return "unknown";
}

/* The domain's devices: its groups' devices, sorted, once each. */
static size_t dom_devices(const struct dom *d, const char ***out)
{
	const char **devs = NULL;
	size_t n = 0, cap = 0, m = 0;

	for (size_t i = 0; i < d->ngrps; i++)
		for (size_t j = 0; j < d->grps[i].ndevs; j++)
			VEC_PUSH(devs, n, cap, d->grps[i].devs[j]);
	if (n) {
		qsort(devs, n, sizeof(devs[0]), cmp_str);
		for (size_t i = 1; i < n; i++)
			if (strcmp(devs[m], devs[i]))
				devs[++m] = devs[i];
		n = m + 1;
	}
	*out = devs;
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static size_t dom_groups(const struct dom *d, __u32 **out)
{
	__u32 *g = xcalloc(d->ngrps * sizeof(*g));

	for (size_t i = 0; i < d->ngrps; i++)
		g[i] = d->grps[i].id;
	qsort(g, d->ngrps, sizeof(*g), cmp_u32);
	*out = g;
	return d->ngrps;
}

#define U64(x) ((unsigned long long)(x))

void nsf_state_report_json(const struct nsf_state *s, __u32 pid, FILE *out)
{
	struct summary sum;
	struct rng *r;
	size_t n;
	bool first = true;

	summary(s, pid, &sum);
	fprintf(out, "{\n  \"version\": 1,\n  \"mode\": \"%s\",\n", nsf_mode_name(s->mode));
	if (pid)
		fprintf(out, "  \"pid\": %u,\n", pid);
	else
		fputs("  \"pid\": null,\n", out);
	{
		bool unseen = unseen_history(s, pid);
		const char *sep = "";

		bool unread = unreadable(s, pid);

		fprintf(out, "  \"complete\": %s,\n  \"incomplete\": [",
			s->lost || s->missed || unseen || unread ? "false" : "true");
		if (s->lost) {
			fputs("\"lost-events\"", out);
			sep = ", ";
		}
		if (s->missed) {
			fprintf(out, "%s\"hooks-missed\"", sep);
			sep = ", ";
		}
		if (unseen) {
			fprintf(out, "%s\"started-before-watch\"", sep);
			sep = ", ";
		}
		if (unread)
			fprintf(out, "%s\"mappings-unreadable\"", sep);
		fputs("],\n", out);
	}
	fprintf(out, "  \"summary\": {\"noncoherent_domains\": %llu, \"coherent_domains\": %llu, "
		"\"mapped_bytes\": %llu, \"live_bytes\": %llu, \"flushed_bytes\": %llu, "
		"\"unflushed_bytes\": %llu, \"preexisting_bytes\": %llu, \"lost_events\": %llu, "
		"\"hook_misses\": %llu},\n",
		U64(sum.noncoherent), U64(sum.coherent), U64(sum.mapped), U64(sum.live),
		U64(sum.flushed), U64(sum.unflushed), U64(sum.found), U64(s->lost), U64(s->missed));

	fputs("  \"vmms\": [", out);
	for (size_t i = 0; i < s->nvmms; i++) {
		const struct vmm *v = s->vmms[i];

		if (!vmm_selected(v, pid))
			continue;
		fprintf(out, "%s\n    {\"pid\": %u, \"comm\": ", first ? "" : ",", v->pid);
		json_str(out, v->comm, sizeof(v->comm));
		fprintf(out, ", \"exited\": %s}", v->exited ? "true" : "false");
		first = false;
	}
	fputs(first ? "],\n" : "\n  ],\n", out);

	first = true;
	fputs("  \"domains\": [", out);
	for (size_t i = 0; i < s->ndoms; i++) {
		const struct dom *d = s->doms[i];
		const char **devs;
		__u32 *grps;
		size_t ndevs, ngrps;

		if (!vmm_selected(d->vmm, pid))
			continue;
		fprintf(out, "%s\n    {\"domain\": \"0x%llx\", \"pid\": %u, \"comm\": ",
			first ? "" : ",", U64(d->id), d->vmm->pid);
		json_str(out, d->vmm->comm, sizeof(d->vmm->comm));
		fprintf(out, ", \"backend\": \"%s\", \"container\": \"0x%llx\", "
			"\"coherent\": %s, \"groups\": [",
			backend_name(d->backend), U64(d->container), d->coherent ? "true" : "false");
		ngrps = dom_groups(d, &grps);
		for (size_t j = 0; j < ngrps; j++)
			fprintf(out, "%s%u", j ? ", " : "", grps[j]);
		free(grps);
		fputs("], \"devices\": [", out);
		ndevs = dom_devices(d, &devs);
		for (size_t j = 0; j < ndevs; j++) {
			fputs(j ? ", " : "", out);
			json_str(out, devs[j], strlen(devs[j]));
		}
		free(devs);
		fprintf(out, "], \"state\": \"%s\"}", dom_state(d));
		first = false;
	}
	fputs(first ? "],\n" : "\n  ],\n", out);

	r = ranges(s, pid, &n);
	fputs("  \"ranges\": [", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s\n    {\"pid\": %u, \"phys\": \"0x%llx\", \"bytes\": %llu, "
			"\"iova\": \"0x%llx\", \"domain\": \"0x%llx\", \"origin\": \"%s\", "
			"\"point\": \"%s\", \"state\": \"%s\", \"flushed_before_map\": %s, "
			"\"flushed_before_unpin\": %s, \"reason\": ",
			i ? "," : "", r[i].pid, U64(r[i].phys), U64(r[i].bytes),
			U64(r[i].iova), U64(r[i].domain),
			origin_names[r[i].origin < 3 ? r[i].origin : 0],
			r[i].at_unpin ? "unpin" : "map",
			state_names[r[i].state], r[i].fbm ? "true" : "false",
			r[i].fbu ? "true" : "false");
		if (r[i].reason)
			fprintf(out, "\"%s\"}", reason_names[r[i].reason]);
		else
			fputs("null}", out);
	}
	fputs(n ? "\n  ]\n}\n" : "]\n}\n", out);
	free(r);
}

int nsf_state_exit_status(const struct nsf_state *s, __u32 pid)
{
	struct summary sum;

	if (s->lost || s->missed || unseen_history(s, pid) || unreadable(s, pid))
		return 3;
	summary(s, pid, &sum);
	return sum.unflushed ? 1 : 0;
}

/* "256 MiB", "1.5 GiB", "4 KiB", "512 B" */
static const char *human(__u64 bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int u = 0;

	while (u < 6 && bytes >= (1ULL << (10 * (u + 1))))
		u++;
	if (!u || !(bytes & ((1ULL << (10 * u)) - 1)))
		snprintf(buf, size, "%llu %s", U64(bytes >> (10 * u)), units[u]);
	else
		snprintf(buf, size, "%.1f %s", (double)bytes / (double)(1ULL << (10 * u)),
			 units[u]);
	return buf;
}

/* "256 MiB (268435456 bytes)", or "512 B" when that says it all */
static const char *human_exact(__u64 bytes, char *buf, size_t size)
{
	char h[32];

	if (bytes < 1024)
		return human(bytes, buf, size);
	snprintf(buf, size, "%s (%llu bytes)", human(bytes, h, sizeof(h)), U64(bytes));
	return buf;
}

static void table_comm(FILE *out, const char *comm, int width)
{
	char buf[3 * NSFLUSH_COMM_LEN + 1];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f) {
		fprintf(out, "%-*s", width, "?");
		return;
	}
	put_text(f, comm, NSFLUSH_COMM_LEN, table_esc);
	fputc('\0', f);
	fclose(f);
	buf[sizeof(buf) - 1] = '\0';
	fprintf(out, "%-*s", width, buf[0] ? buf : "-");
}

void nsf_state_report_table(const struct nsf_state *s, __u32 pid, FILE *out)
{
	char b1[64], b2[64];
	struct summary sum;
	struct rng *r;
	size_t n, nbad = 0;

	summary(s, pid, &sum);
	if (pid)
		fprintf(out, "nsflush audit, mode %s, pid %u\n", nsf_mode_name(s->mode), pid);
	else
		fprintf(out, "nsflush audit, mode %s, all VMMs\n", nsf_mode_name(s->mode));
	if (s->lost)
		fprintf(out, "\nAUDIT INCOMPLETE: %llu events were lost; ranges below may be missing\n",
			U64(s->lost));
	if (s->missed)
		fprintf(out, "\nAUDIT INCOMPLETE: the kernel skipped nsflush's hooks %llu times "
			"(recursion): those maps or unpins may be unflushed and unrecorded\n",
			U64(s->missed));
	if (unreadable(s, pid))
		fprintf(out, "\nAUDIT INCOMPLETE: what was mapped before nsflushd started could not "
			"be read (iommufd, or pages no longer at their user address)\n");
	if (unseen_history(s, pid))
		fprintf(out, "\nAUDIT INCOMPLETE: %s started before nsflushd was watching; "
			"what it mapped before then is not known\n",
			pid ? "this process" : "a process");
	fprintf(out, "\nSummary\n");
	fprintf(out, "  non-coherent domains  %llu attached (coherent: %llu)\n",
		U64(sum.noncoherent), U64(sum.coherent));
	fprintf(out, "  mapped non-coherently %s ever, %s live now\n",
		human_exact(sum.mapped, b1, sizeof(b1)), human(sum.live, b2, sizeof(b2)));
	fprintf(out, "  flushed               %s\n", human_exact(sum.flushed, b1, sizeof(b1)));
	fprintf(out, "  unflushed             %s\n", human_exact(sum.unflushed, b1, sizeof(b1)));
	fprintf(out, "  lost events           %llu\n", U64(s->lost));
	for (size_t i = 0; i < s->nvmms; i++) {
		const struct vmm *v = s->vmms[i];

		if (!vmm_selected(v, pid))
			continue;
		fprintf(out, "  VMM                   %u ", v->pid);
		table_comm(out, v->comm, 0);
		fputs(v->exited ? " (exited)\n" : " (running)\n", out);
	}

	fprintf(out, "\nDomains\n");
	fprintf(out, "  %-18s %-7s %-16s %-10s %-8s %-8s %-9s %s\n", "DOMAIN", "PID", "COMM",
		"BACKEND", "COHERENT", "GROUPS", "STATE", "DEVICES");
	for (size_t i = 0; i < s->ndoms; i++) {
		const struct dom *d = s->doms[i];
		const char **devs;
		__u32 *grps;
		size_t ndevs, ngrps;
		int len = 0;

		if (!vmm_selected(d->vmm, pid))
			continue;
		fprintf(out, "  0x%-16llx %-7u ", U64(d->id), d->vmm->pid);
		table_comm(out, d->vmm->comm, 16);
		fprintf(out, " %-10s %-8s ", backend_name(d->backend), d->coherent ? "yes" : "no");
		ngrps = dom_groups(d, &grps);
		for (size_t j = 0; j < ngrps; j++)
			len += fprintf(out, "%s%u", j ? "," : "", grps[j]);
		if (!ngrps)
			len += fprintf(out, "-");
		free(grps);
		fprintf(out, "%*s %-9s ", len < 8 ? 8 - len : 0, "", dom_state(d));
		ndevs = dom_devices(d, &devs);
		for (size_t j = 0; j < ndevs; j++) {
			fputs(j ? "," : "", out);
			put_text(out, devs[j], strlen(devs[j]), table_esc);
		}
		fputs(ndevs ? "\n" : "-\n", out);
		free(devs);
	}

	r = ranges(s, pid, &n);
	for (size_t i = 0; i < n; i++)
		nbad += r[i].reason != R_NONE;
	fprintf(out, "\nUnflushed ranges: %zu\n", nbad);
	if (nbad)
		fprintf(out, "  %-7s %-18s %-10s %-14s %-18s %-18s %-9s %s\n", "PID", "PHYS",
			"SIZE", "BYTES", "IOVA", "DOMAIN", "STATE", "REASON");
	for (size_t i = 0; i < n; i++) {
		if (r[i].reason == R_NONE)
			continue;
		fprintf(out, "  %-7u 0x%-16llx %-10s %-14llu 0x%-16llx 0x%-16llx %-9s %s%s\n",
			r[i].pid, U64(r[i].phys), human(r[i].bytes, b1, sizeof(b1)),
			U64(r[i].bytes), U64(r[i].iova), U64(r[i].domain),
			state_names[r[i].state], reason_names[r[i].reason],
			r[i].origin == NSFLUSH_ORIGIN_ATTACH ? " (at attach)" :
			r[i].origin == NSFLUSH_ORIGIN_FOUND ? " (found at start)" : "");
	}
	free(r);
	if (s->lost)
		fprintf(out, "\nAUDIT INCOMPLETE: %llu events lost\n", U64(s->lost));
	if (s->missed)
		fprintf(out, "\nAUDIT INCOMPLETE: hooks skipped %llu times\n", U64(s->missed));
	if (unseen_history(s, pid))
		fputs("\nAUDIT INCOMPLETE: started before nsflushd was watching\n", out);
	if (unreadable(s, pid))
		fputs("\nAUDIT INCOMPLETE: mappings found at start unreadable\n", out);
}

static void prom_labels(FILE *out, const struct vmm *v)
{
	fprintf(out, "{pid=\"%u\",comm=\"", v->pid);
	put_text(out, v->comm, sizeof(v->comm), prom_esc);
	fputs("\"}", out);
}

/* A VMM shadowed by a newer one with the same pid (pid reuse) would
 * repeat the same label set: only the newest is exported. */
static bool prom_shadowed(const struct nsf_state *s, size_t i)
{
	for (size_t j = i + 1; j < s->nvmms; j++)
		if (s->vmms[j]->pid == s->vmms[i]->pid)
			return true;
	return false;
}

void nsf_state_write_prom(const struct nsf_state *s, FILE *out)
{
	static const struct {
		const char *name, *help;
	} gauges[] = {
		{ "nsflush_noncoherent_domains",
		  "Non-coherent IOMMU domains the VMM has attached now." },
		{ "nsflush_mapped_bytes",
		  "Bytes the VMM has mapped into non-coherent domains now." },
		{ "nsflush_unflushed_bytes",
		  "Bytes of the VMM's memory without a flush before map or before unpin." },
		{ "nsflush_preexisting_bytes",
		  "Of those, bytes found mapped when nsflushd started, with no flush known." },
	};

	for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name, gauges[g].help,
			gauges[g].name);
		for (size_t i = 0; i < s->nvmms; i++) {
			struct summary sum = { 0 };
			__u64 val;

			if (prom_shadowed(s, i))
				continue;
			vmm_summary(s, s->vmms[i], &sum);
			val = g == 0 ? sum.noncoherent : g == 1 ? sum.live : g == 2 ? sum.unflushed :
			      sum.found;
			fputs(gauges[g].name, out);
			prom_labels(out, s->vmms[i]);
			fprintf(out, " %llu\n", U64(val));
		}
	}
	fputs("# HELP nsflush_flushed_bytes_total Bytes flushed for VMMs (before map, before unpin, late).\n"
	      "# TYPE nsflush_flushed_bytes_total counter\n", out);
	fprintf(out, "nsflush_flushed_bytes_total %llu\n", U64(s->flushed_total));
	fputs("# HELP nsflush_flush_skipped_bytes_total Bytes flushes skipped, not ordinary cacheable RAM.\n"
	      "# TYPE nsflush_flush_skipped_bytes_total counter\n", out);
	for (int i = 0; i < NSFLUSH_SKIP_NR; i++)
		fprintf(out, "nsflush_flush_skipped_bytes_total{reason=\"%s\"} %llu\n",
			skip_names[i], U64(s->skipped_total[i]));
	fputs("# HELP nsflush_events_lost_total Kernel events lost (the audit is incomplete).\n"
	      "# TYPE nsflush_events_lost_total counter\n", out);
	fprintf(out, "nsflush_events_lost_total %llu\n", U64(s->lost));
	fputs("# HELP nsflush_hook_misses_total Hooks the kernel skipped (recursion): maps or "
	      "unpins possibly unflushed (the audit is incomplete).\n"
	      "# TYPE nsflush_hook_misses_total counter\n", out);
	fprintf(out, "nsflush_hook_misses_total %llu\n", U64(s->missed));
	fprintf(out, "# HELP nsflush_enforcing 1 while the hooks flush at the reference points "
		"(enforce mode).\n# TYPE nsflush_enforcing gauge\nnsflush_enforcing %d\n",
		s->mode == NSF_MODE_ENFORCE);
	fputs("# HELP nsflush_mode The mode nsflushd runs in (1: this one).\n"
	      "# TYPE nsflush_mode gauge\n", out);
	for (int m = NSF_MODE_AUDIT; m <= NSF_MODE_ENFORCE; m++)
		fprintf(out, "nsflush_mode{mode=\"%s\"} %d\n", nsf_mode_name(m), (int)s->mode == m);
}
