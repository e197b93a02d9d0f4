// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "nsf.h"
#include "tracer.h"
#include "type1.skel.h"

#define TYPE1_MODULE "vfio_iommu_type1"
#define MAX_HOOKS 16

struct nsf_tracer {
	struct type1_bpf *skel;
	struct ring_buffer *rb;
	nsf_event_fn fn;
	void *ctx;
	int nr_hooks;
	struct nsf_hook_status hooks[MAX_HOOKS];
	struct bpf_link *links[MAX_HOOKS];
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct nsf_tracer *t = ctx;

	if (size < sizeof(struct nsflush_event))
		return 0;
	return t->fn(t->ctx, data);
}

/* "fexit/vfio_pin_pages_remote" -> "vfio_pin_pages_remote" */
static const char *attach_func(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *slash = strchr(sec, '/');

	return slash ? slash + 1 : sec;
}

/* vfio_iommu_type1 is a module on Debian, built in on some kernels. */
static bool type1_available(void)
{
	return nsf_module_btf_loaded(TYPE1_MODULE) ||
	       nsf_func_has_btf("vfio_iommu_type1_ioctl", NULL);
}

int nsf_tracer_open(struct nsf_tracer **out, __u32 pid, nsf_event_fn fn, void *ctx)
{
	struct bpf_program *prog;
	struct nsf_tracer *t;
	int err, attached = 0;

	if (!type1_available()) {
		nsf_err("VFIO type1 is not in this kernel (modprobe %s)", TYPE1_MODULE);
		return -ENOENT;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->ctx = ctx;
	t->skel = type1_bpf__open();
	if (!t->skel) {
		err = -errno;
		nsf_err("cannot open BPF object: %s", strerror(-err));
		goto fail;
	}
	t->skel->rodata->target_tgid = pid;

	/* A hook whose function has no BTF here (inlined, renamed) is left
	 * out rather than failing the whole load; the caller sees it. */
	bpf_object__for_each_program(prog, t->skel->obj) {
		struct nsf_hook_status *h = &t->hooks[t->nr_hooks];

		if (t->nr_hooks == MAX_HOOKS)
			break;
		h->prog = bpf_program__name(prog);
		h->func = attach_func(prog);
		h->has_btf = nsf_func_has_btf(h->func, TYPE1_MODULE);
		if (!h->has_btf)
			bpf_program__set_autoload(prog, false);
		t->nr_hooks++;
	}

	err = type1_bpf__load(t->skel);
	if (err) {
		nsf_err("cannot load BPF programs: %s%s", strerror(-err),
			nsf_verbose ? "" : " (-v for details)");
		goto fail;
	}
	for (int i = 0; i < t->nr_hooks; i++) {
		struct nsf_hook_status *h = &t->hooks[i];

		if (!h->has_btf)
			continue;
		prog = bpf_object__find_program_by_name(t->skel->obj, h->prog);
		t->links[i] = bpf_program__attach(prog);
		if (!t->links[i]) {
			nsf_err("cannot attach %s to %s: %s", h->prog, h->func, strerror(errno));
			continue;
		}
		h->attached = true;
		attached++;
	}
	if (!attached) {
		nsf_err("no VFIO type1 hook could be attached");
		err = -ENOENT;
		goto fail;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_sample, t, NULL);
	if (!t->rb) {
		err = -errno;
		nsf_err("cannot open ring buffer: %s", strerror(-err));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	nsf_tracer_close(t);
	return err;
}

void nsf_tracer_close(struct nsf_tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	for (int i = 0; i < t->nr_hooks; i++)
		bpf_link__destroy(t->links[i]);
	type1_bpf__destroy(t->skel);
	free(t);
}

int nsf_tracer_poll(struct nsf_tracer *t, int timeout_ms)
{
	int n = ring_buffer__poll(t->rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}

__u64 nsf_tracer_lost(const struct nsf_tracer *t)
{
	return __atomic_load_n(&t->skel->bss->lost_events, __ATOMIC_RELAXED);
}

int nsf_tracer_hooks(const struct nsf_tracer *t, const struct nsf_hook_status **out)
{
	*out = t->hooks;
	return t->nr_hooks;
}
