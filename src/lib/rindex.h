/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A range index: ranges [start, start + len) by start, each naming a u32
 * (a slot in the caller's arena, which holds the range itself). Ranges may
 * overlap and share a start. Built on Judy arrays (libJudy), one per length
 * class (<= 4 KiB, 64 KiB, 1 MiB, ... 1 TiB: x16 each): a search for what
 * meets [a, b) looks at starts in (a - class length, b) of each non-empty
 * class, so one long-lived 1 GiB range costs a 1 GiB-class lookup, not a
 * scan of every 4 KiB range within 1 GiB of it. Memory: the Judy arrays'
 * own (about 10-20 bytes a range), nothing more.
 *
 * A search returns the members that meet [a, b) (page-aligned ones exactly;
 * others, and members sharing a start page, may come in excess: the caller
 * checks its records); removal needs the start and length the member was
 * inserted with. A disjoint index (members never overlap, as a domain's
 * mapped IOVAs) keeps one array whatever the lengths.
 */
#ifndef NSF_RINDEX_H
#define NSF_RINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define NSF_RINDEX_CLASSES	8
#define NSF_RINDEX_MAX_LEN	(1ULL << 40)	/* longest range (exclusive) */

struct nsf_rindex {
	/* set before the first insert: members never overlap (a mapping's
	 * IOVAs), one array, a search is a step back and a walk forward */
	bool disjoint;
	void *cls[NSF_RINDEX_CLASSES];	/* Judy: page -> member */
	void *more[NSF_RINDEX_CLASSES];	/* Judy: page -> members sharing it */
	/* per class: members; the lowest start, highest end and highest key
	 * of any (never narrowed while it has members): a search outside
	 * skips the class. Appending at the top, as type1 hands out IOVAs,
	 * so costs no lookup. */
	__u64 n[NSF_RINDEX_CLASSES];
	__u64 lo[NSF_RINDEX_CLASSES], end[NSF_RINDEX_CLASSES], hi[NSF_RINDEX_CLASSES];
	__u64 count;
};

/* A growable array of slots, reused between searches. */
struct nsf_slots {
	__u32 *v;
	size_t n, cap;
};

void nsf_slots_push(struct nsf_slots *s, __u32 slot);
void nsf_slots_free(struct nsf_slots *s);

/* False when the range cannot be indexed: 0 or >= NSF_RINDEX_MAX_LEN long,
 * or @val is 0. */
bool nsf_rindex_insert(struct nsf_rindex *x, __u64 start, __u64 len, __u32 val);
void nsf_rindex_remove(struct nsf_rindex *x, __u64 start, __u64 len, __u32 val);

/* Appends to @out every member that may meet [a, b) (b > a). */
void nsf_rindex_find(const struct nsf_rindex *x, __u64 a, __u64 b, struct nsf_slots *out);

/* Calls @fn for every member, in order of start (ties: any order). */
void nsf_rindex_walk(const struct nsf_rindex *x, void (*fn)(void *ctx, __u32 val), void *ctx);

/* Bytes the index holds. */
size_t nsf_rindex_mem(const struct nsf_rindex *x);
void nsf_rindex_free(struct nsf_rindex *x);

#endif /* NSF_RINDEX_H */
