/* SPDX-License-Identifier: GPL-2.0 */
/* Loading and attaching nsflush's BPF hooks, and reading their events. */
#ifndef NSF_TRACER_H
#define NSF_TRACER_H

#include <stdbool.h>
#include <linux/types.h>
#include "nsflush_events.h"

struct nsf_tracer;

typedef int (*nsf_event_fn)(void *ctx, const struct nsflush_event *e);
typedef int (*nsf_found_fn)(void *ctx, const struct nsflush_found *f);

struct nsf_tracer_opts {
	__u32 pid;		/* only this tgid (0: all) */
	bool enforce;		/* load the build that calls the flush kfunc */
	__u32 ringbuf_bytes;	/* 0: the object's default */
	/* hooks not to attach (functions), as if inlined: a hook with a
	 * fallback falls back; a required one makes open fail */
	const char *const *skip_funcs;
	int nr_skip;
	nsf_event_fn fn;
	void *ctx;
	/* bpffs directory the hooks and maps are pinned in, so they outlive
	 * this process (see pins.h); NULL: nothing pinned, closing detaches */
	const char *pin_dir;
};

/* What nsf_tracer_open found and did in the pin directory. */
enum nsf_pinning {
	NSF_PINS_NONE,		/* no pin_dir */
	NSF_PINS_CREATED,	/* nothing was pinned: loaded, attached, pinned */
	NSF_PINS_KEPT,		/* the pinned hooks are this build's: kept as they are */
	NSF_PINS_REPLACED,	/* another build's hooks were pinned: this build's
				 * were attached first, then theirs detached */
};

struct nsf_tracer_pins {
	enum nsf_pinning how;
	int old_hooks;		/* hooks pinned before (KEPT, REPLACED) */
	int hooks;		/* hooks attached now */
	struct nsflush_control control;	/* as written now */
	bool was_enforcing;	/* the pinned programs flushed (KEPT, REPLACED) */
	__u64 stopped_ns;	/* the last daemon stopped cleanly then
				 * (CLOCK_MONOTONIC; 0: none, or it died) */
};

struct nsf_hook_status {
	const char *prog;	/* BPF program name */
	const char *func;	/* kernel function it hooks */
	const char *backend;	/* its family ("vfio-type1", "iommufd"), NULL: core */
	const char *fallback;	/* what covers its absence (NULL: required) */
	bool optional;		/* fallback != NULL */
	bool skipped;		/* left out on request (skip_funcs) */
	bool has_btf;		/* the function is attachable on this kernel */
	bool attached;
	const char *stand_in;	/* not attached, but this hook of the same op is */
};

/*
 * Probes which hooks this kernel can attach, loads and attaches them. A
 * missing optional hook is left out; a missing required one is an error.
 * With pin_dir, adopts what is pinned there: the maps (and so the ring
 * buffer's backlog, the counters and what the programs learnt) always;
 * the hooks when they are this build's, else this build's are attached
 * before the pinned ones are detached, so no hook is ever missing.
 * Pins of another ABI are refused, never half-replaced.
 * Errors get one clear line and a negative errno: -ENOTSUP when the kernel
 * lacks what is required (no VFIO backend, a required hook without BTF),
 * -EINVAL when the options ask for what cannot be (--skip-hook), anything
 * else for a runtime failure.
 */
int nsf_tracer_open(struct nsf_tracer **out, const struct nsf_tracer_opts *opts);
void nsf_tracer_close(struct nsf_tracer *t);

/* The fd to wait on (epoll) for events. */
int nsf_tracer_fd(const struct nsf_tracer *t);

/* Delivers pending events to fn; waits up to timeout_ms (0: don't wait). */
int nsf_tracer_poll(struct nsf_tracer *t, int timeout_ms);

/* Events the kernel side could not reserve ring buffer space for. */
__u64 nsf_tracer_lost(const struct nsf_tracer *t);

/*
 * Times the kernel skipped one of the hooks because the same program was
 * already running on that CPU (bpf_prog_info.recursion_misses: a long flush
 * preempted, say): a reference point that may have gone unflushed and
 * unrecorded. Summed over the pinned hooks, those replaced included.
 */
__u64 nsf_tracer_missed(const struct nsf_tracer *t);

/* Is this backend's hook family attached ("vfio-type1", "iommufd")? */
bool nsf_tracer_backend(const struct nsf_tracer *t, const char *name);

/*
 * The start-up walk (bpf/found.bpf.h): fn gets every record of what VFIO
 * had mapped when the hooks went live; what it finds is tracked by the
 * hooks from then on. Run it after open and after draining the backlog.
 */
int nsf_tracer_found(struct nsf_tracer *t, nsf_found_fn fn, void *ctx);

/* Notes in the pinned control block that the daemon stops cleanly now,
 * having consumed every event before: its successor's record of a VMM that
 * starts later is whole. */
int nsf_tracer_mark_stopped(struct nsf_tracer *t);

/* What was done with the pin directory. */
const struct nsf_tracer_pins *nsf_tracer_pins(const struct nsf_tracer *t);

/* Per-hook probe/attach status; returns the number of hooks. */
int nsf_tracer_hooks(const struct nsf_tracer *t, const struct nsf_hook_status **out);

#endif /* NSF_TRACER_H */
