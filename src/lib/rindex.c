// SPDX-License-Identifier: GPL-2.0
/* The range index (rindex.h) over Judy arrays. */
#include <Judy.h>
#include <stdio.h>
#include <stdlib.h>
#include "rindex.h"

/*
 * Keys are page numbers (start >> 12): IOMMU mappings are page-granular,
 * and Judy stores what the keys share only once (12-13 bytes a member
 * instead of 18-22 for byte addresses). A value is the member's slot, and
 * above it how many pages it touches: a search drops what does not meet
 * the range without the caller reading its record (a cache miss each, at
 * millions of runs). Members whose starts share a page in one class (the
 * same pages mapped at two IOVAs of one domain) share the key: the first
 * member's value has MORE set, and the others are kept in a vector under
 * the same key in the class's `more` array.
 */
#define PAGE_SHIFT	12
#define CLASS0_LEN	4096ULL		/* class c holds lengths <= 4 KiB * 16^c */
#define MORE		(1ULL << 32)
#define PAGES_SHIFT	33		/* value: pages << 33 | MORE | slot */

/* Pages [start >> 12, + n) a member touches. */
static __u64 pages_of(__u64 start, __u64 len)
{
	return ((start & 4095) + len + 4095) >> PAGE_SHIFT;
}

struct more {
	__u32 n, cap;
	__u32 v[];
};

static __u64 class_len(int c)
{
	return CLASS0_LEN << (4 * c);
}

static int class_of(const struct nsf_rindex *x, __u64 len)
{
	int c = 0;

	if (x->disjoint)
		return 0;
	while (c < NSF_RINDEX_CLASSES - 1 && len > class_len(c))
		c++;
	return c;
}

static void *oom(void)
{
	fputs("nsflush: out of memory\n", stderr);
	abort();
}

void nsf_slots_push(struct nsf_slots *s, __u32 slot)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		__u32 *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			oom();
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = slot;
}

void nsf_slots_free(struct nsf_slots *s)
{
	free(s->v);
	*s = (struct nsf_slots){ 0 };
}

/* The first key >= *key, the next one > *key: NULL at the end. */
static PWord_t first(Pcvoid_t a, Word_t *key)
{
	return (PWord_t)JudyLFirst(a, key, PJE0);
}

static PWord_t next(Pcvoid_t a, Word_t *key)
{
	return (PWord_t)JudyLNext(a, key, PJE0);
}

static PWord_t ins(Pvoid_t *a, Word_t key)
{
	PWord_t pv = (PWord_t)JudyLIns(a, key, PJE0);

	return pv == PJERR ? oom() : pv;
}

bool nsf_rindex_insert(struct nsf_rindex *x, __u64 start, __u64 len, __u32 val)
{
	Word_t key = start >> PAGE_SHIFT;
	struct more *m;
	PWord_t pv, pm;
	int c;

	if (!len || len >= NSF_RINDEX_MAX_LEN || !val)
		return false;
	c = class_of(x, len);
	pv = ins(&x->cls[c], key);	/* a new key's value is 0 */
	if (!x->n[c] || start < x->lo[c])
		x->lo[c] = start;
	if (!x->n[c] || start + len > x->end[c])
		x->end[c] = start + len < start ? ~0ULL : start + len;
	if (!x->n[c] || key > x->hi[c])
		x->hi[c] = key;
	if (!*pv) {
		*pv = (Word_t)pages_of(start, len) << PAGES_SHIFT | val;
	} else {
		pm = ins(&x->more[c], key);
		m = (struct more *)*pm;
		if (!m || m->n == m->cap) {
			__u32 cap = m ? 2 * m->cap : 2;

			m = realloc(m, sizeof(*m) + cap * sizeof(m->v[0]));
			if (!m)
				oom();
			if (!*pm)
				m->n = 0;
			m->cap = cap;
			*pm = (Word_t)m;
		}
		m->v[m->n++] = val;
		*pv |= MORE;
	}
	x->n[c]++;
	x->count++;
	return true;
}

void nsf_rindex_remove(struct nsf_rindex *x, __u64 start, __u64 len, __u32 val)
{
	int c = class_of(x, len);
	Word_t key = start >> PAGE_SHIFT;
	PWord_t pv = (PWord_t)JudyLGet(x->cls[c], key, PJE0), pm;
	struct more *m;
	__u32 i;

	if (!pv)
		return;
	if (!(*pv & MORE)) {
		if ((__u32)*pv != val)
			return;
		JudyLDel(&x->cls[c], key, PJE0);
		goto removed;
	}
	pm = (PWord_t)JudyLGet(x->more[c], key, PJE0);
	m = (struct more *)*pm;
	if ((__u32)*pv == val) {
		/* the last extra takes the key; its length is not known here:
		 * 0 pages, "may meet anything" */
		*pv = m->v[--m->n] | MORE;
	} else {
		for (i = 0; i < m->n && m->v[i] != val; i++)
			;
		if (i == m->n)
			return;
		m->v[i] = m->v[--m->n];
	}
	if (!m->n) {
		free(m);
		JudyLDel(&x->more[c], key, PJE0);
		*pv &= ~MORE;
	}
removed:
	x->n[c]--;
	x->count--;
}

/* Appends the member(s) of value word @w at @key of class @c. */
static void push_key(const struct nsf_rindex *x, int c, Word_t key, Word_t w,
		     struct nsf_slots *out)
{
	nsf_slots_push(out, (__u32)w);
	if (w & MORE) {
		const struct more *m = *(struct more **)JudyLGet(x->more[c], key, PJE0);

		for (__u32 i = 0; i < m->n; i++)
			nsf_slots_push(out, m->v[i]);
	}
}

void nsf_rindex_find(const struct nsf_rindex *x, __u64 a, __u64 b, struct nsf_slots *out)
{
	/* a member at start s (key s >> 12) of length <= L meets [a, b) only
	 * if a - L < s < b; of disjoint ones, only the last to start at or
	 * before a's page can, and those starting after it up to b */
	Word_t last = (b - 1) >> PAGE_SHIFT, page_a = a >> PAGE_SHIFT;

	for (int c = 0; c < NSF_RINDEX_CLASSES; c++) {
		__u64 len = class_len(c);
		Word_t key = a >= len ? (a - len + 1) >> PAGE_SHIFT : 0;
		PWord_t pv;

		if (!x->n[c] || a >= x->end[c] || b <= x->lo[c])
			continue;
		if (x->disjoint) {
			key = page_a;
			pv = (PWord_t)JudyLLast(x->cls[c], &key, PJE0);
			if (!pv) {
				key = page_a;
				pv = first(x->cls[c], &key);
			}
		} else {
			pv = first(x->cls[c], &key);
		}
		for (; pv && key <= last; pv = next(x->cls[c], &key)) {
			Word_t w = *pv, np = w >> PAGES_SHIFT;

			if ((w & MORE) || !np || key + np > page_a)
				push_key(x, c, key, w, out);
			if (key >= last || key >= x->hi[c])
				break;	/* no Judy walk past what can meet */
		}
	}
}

void nsf_rindex_walk(const struct nsf_rindex *x, void (*fn)(void *ctx, __u32 val), void *ctx)
{
	Word_t key[NSF_RINDEX_CLASSES];
	PWord_t pv[NSF_RINDEX_CLASSES];
	struct nsf_slots one = { 0 };

	for (int c = 0; c < NSF_RINDEX_CLASSES; c++) {
		key[c] = 0;
		pv[c] = x->n[c] ? first(x->cls[c], &key[c]) : NULL;
	}
	for (;;) {
		int min = -1;

		for (int c = 0; c < NSF_RINDEX_CLASSES; c++)
			if (pv[c] && (min < 0 || key[c] < key[min]))
				min = c;
		if (min < 0)
			break;
		if (*pv[min] & MORE) {
			one.n = 0;
			push_key(x, min, key[min], *pv[min], &one);
			for (size_t i = 0; i < one.n; i++)
				fn(ctx, one.v[i]);
		} else {
			fn(ctx, (__u32)*pv[min]);
		}
		pv[min] = next(x->cls[min], &key[min]);
	}
	nsf_slots_free(&one);
}

size_t nsf_rindex_mem(const struct nsf_rindex *x)
{
	size_t sum = 0;

	for (int c = 0; c < NSF_RINDEX_CLASSES; c++)
		sum += JudyLMemUsed(x->cls[c]) + JudyLMemUsed(x->more[c]);
	return sum;
}

void nsf_rindex_free(struct nsf_rindex *x)
{
	for (int c = 0; c < NSF_RINDEX_CLASSES; c++) {
		Word_t key = 0;

		for (PWord_t pm = first(x->more[c], &key); pm; pm = next(x->more[c], &key))
			free((void *)*pm);
		JudyLFreeArray(&x->more[c], PJE0);
		JudyLFreeArray(&x->cls[c], PJE0);
		x->n[c] = 0;
	}
	x->count = 0;
}
