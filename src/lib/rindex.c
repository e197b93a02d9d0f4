// SPDX-License-Identifier: GPL-2.0
/* The range index (rindex.h) over Judy arrays. */
#include <Judy.h>
#include <stdio.h>
#include <stdlib.h>
#include "rindex.h"

/*
 * Members sharing a start take keys start, start + 1, ...: Judy keys are
 * unique. A member's key is so within DUP_SPAN of its start, and searches
 * widen by as much.
 */
#define DUP_SPAN	4096ULL
#define CLASS0_LEN	4096ULL		/* class c holds lengths <= 4 KiB * 16^c */

static __u64 class_len(int c)
{
	return CLASS0_LEN << (4 * c);
}

static int class_of(__u64 len)
{
	int c = 0;

	while (c < NSF_RINDEX_CLASSES - 1 && len > class_len(c))
		c++;
	return c;
}

/* The first key >= *key, the next one > *key: NULL at the end. */
static PWord_t first(Pcvoid_t cls, Word_t *key)
{
	return (PWord_t)JudyLFirst(cls, key, PJE0);
}

static PWord_t next(Pcvoid_t cls, Word_t *key)
{
	return (PWord_t)JudyLNext(cls, key, PJE0);
}

void nsf_slots_push(struct nsf_slots *s, __u32 slot)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		__u32 *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			fputs("nsflush: out of memory\n", stderr);
			abort();
		}
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

bool nsf_rindex_insert(struct nsf_rindex *x, __u64 start, __u64 len, __u32 val)
{
	Pvoid_t *cls;
	PWord_t pv;

	if (!len || len >= NSF_RINDEX_MAX_LEN)
		return false;
	cls = &x->cls[class_of(len)];
	for (__u64 k = 0; k < DUP_SPAN && start + k >= start; k++) {
		Word_t key = start + k;

		if (JudyLGet(*cls, key, PJE0))
			continue;
		pv = (PWord_t)JudyLIns(cls, key, PJE0);
		if (pv == PJERR) {
			fputs("nsflush: out of memory\n", stderr);
			abort();
		}
		*pv = val;
		x->count++;
		return true;
	}
	return false;
}

void nsf_rindex_remove(struct nsf_rindex *x, __u64 start, __u64 len, __u32 val)
{
	Pvoid_t *cls = &x->cls[class_of(len)];
	__u64 end = start + DUP_SPAN >= start ? start + DUP_SPAN : ~0ULL;
	Word_t key = start;
	PWord_t pv;

	for (pv = first(*cls, &key); pv && key < end; pv = next(*cls, &key)) {
		if (*pv != val)
			continue;
		JudyLDel(cls, key, PJE0);
		x->count--;
		return;
	}
}

void nsf_rindex_find(const struct nsf_rindex *x, __u64 a, __u64 b, struct nsf_slots *out)
{
	for (int c = 0; c < NSF_RINDEX_CLASSES; c++) {
		Pcvoid_t cls = x->cls[c];
		__u64 len = class_len(c);
		Word_t key = a >= len ? a - len + 1 : 0;
		Word_t end = b + DUP_SPAN - 1 >= b ? b + DUP_SPAN - 1 : ~0ULL;
		PWord_t pv;

		if (!cls)
			continue;
		for (pv = first(cls, &key); pv && key < end; pv = next(cls, &key))
			nsf_slots_push(out, (__u32)*pv);
	}
}

void nsf_rindex_walk(const struct nsf_rindex *x, void (*fn)(void *ctx, __u32 val), void *ctx)
{
	Word_t key[NSF_RINDEX_CLASSES];
	PWord_t pv[NSF_RINDEX_CLASSES];

	for (int c = 0; c < NSF_RINDEX_CLASSES; c++) {
		key[c] = 0;
		pv[c] = NULL;
		if (x->cls[c])
			pv[c] = first(x->cls[c], &key[c]);
	}
	for (;;) {
		int min = -1;

		for (int c = 0; c < NSF_RINDEX_CLASSES; c++)
			if (pv[c] && (min < 0 || key[c] < key[min]))
				min = c;
		if (min < 0)
			return;
		fn(ctx, (__u32)*pv[min]);
		pv[min] = next(x->cls[min], &key[min]);
	}
}

size_t nsf_rindex_mem(const struct nsf_rindex *x)
{
	size_t sum = 0;

	for (int c = 0; c < NSF_RINDEX_CLASSES; c++)
		sum += JudyLMemUsed(x->cls[c]);
	return sum;
}

void nsf_rindex_free(struct nsf_rindex *x)
{
	for (int c = 0; c < NSF_RINDEX_CLASSES; c++)
		JudyLFreeArray(&x->cls[c], PJE0);
	x->count = 0;
}
