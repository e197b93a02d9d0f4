/* SPDX-License-Identifier: GPL-2.0 */
/* Synthetic kernel events for the state engine's tests and bench: one VMM
 * (pid SYNTH_PID, "qemu-system-x86") of one type1 container. */
#ifndef NSF_SYNTH_H
#define NSF_SYNTH_H

#include <stdbool.h>
#include <string.h>
#include <linux/types.h>
#include "nsflush_events.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define SYNTH_PID 4242
#define SYNTH_DOM 0xffff888001000000ULL
#define SYNTH_CONT 0xffff888003000000ULL

/* @flushed: the hooks flushed all of it first (enforce mode). */
static inline struct nsflush_event synth_event(__u32 kind, __u64 domain, __u64 iova,
					       __u64 phys, __u64 bytes, bool flushed)
{
	struct nsflush_event e = {
		.kind = kind, .pid = SYNTH_PID, .domain = domain, .container = SYNTH_CONT,
		.backend = NSFLUSH_BACKEND_TYPE1, .iova = iova, .phys = phys, .bytes = bytes,
	};

	strcpy(e.comm, "qemu-system-x86");
	if (flushed) {
		e.flush_state = NSFLUSH_FLUSH_DONE;
		e.flush.flushed_bytes = bytes;
	}
	return e;
}

/* A bijection on [0, 2^bits): distinct runs get distinct, scattered frames. */
static inline __u64 synth_scatter(__u64 x, int bits)
{
	__u64 mask = (1ULL << bits) - 1;

	for (int r = 0; r < 3; r++) {
		x = (x * 0x9e3779b97f4a7c15ULL) & mask;
		x ^= x >> (bits / 2 + 1);
	}
	return x;
}

#endif /* NSF_SYNTH_H */
