// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nsf.h"
#include "tracer.h"
#include "nsflush.skel.h"
#include "nsflush_enforce.skel.h"

#define TYPE1_MODULE "vfio_iommu_type1"
#define MAX_HOOKS 32

/* Hooks with a fallback: without a vendor's enforce_cache_coherency hook,
 * a domain being attached counts as coherent only once the backend says
 * so (type1: when attach returns). */
static const char *const optional_funcs[] = {
	"intel_iommu_enforce_cache_coherency",
	"amd_iommu_enforce_cache_coherency",
};

struct nsf_tracer {
	struct bpf_object *obj;
	void *skel;
	bool enforce;
	struct ring_buffer *rb;
	int stats_fd;
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

/* "fexit/iommu_map" -> "iommu_map" */
static const char *attach_func(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *slash = strchr(sec, '/');

	return slash ? slash + 1 : sec;
}

static bool is_optional(const char *func)
{
	for (size_t i = 0; i < sizeof(optional_funcs) / sizeof(optional_funcs[0]); i++)
		if (!strcmp(func, optional_funcs[i]))
			return true;
	return false;
}

/* vfio_iommu_type1 is a module on Debian, built in on some kernels. */
static bool type1_available(void)
{
	return nsf_module_btf_loaded(TYPE1_MODULE) ||
	       nsf_func_has_btf("vfio_iommu_type1_ioctl", NULL);
}

/* The two builds' skeletons differ only in type: open one, use its object. */
static int open_skel(struct nsf_tracer *t, __u32 pid)
{
	if (t->enforce) {
		struct nsflush_enforce_bpf *s = nsflush_enforce_bpf__open();

		if (!s)
			return -errno;
		s->rodata->target_tgid = pid;
		t->skel = s;
		t->obj = s->obj;
	} else {
		struct nsflush_bpf *s = nsflush_bpf__open();

		if (!s)
			return -errno;
		s->rodata->target_tgid = pid;
		t->skel = s;
		t->obj = s->obj;
	}
	return 0;
}

static void destroy_skel(struct nsf_tracer *t)
{
	if (t->enforce)
		nsflush_enforce_bpf__destroy(t->skel);
	else
		nsflush_bpf__destroy(t->skel);
}

int nsf_tracer_open(struct nsf_tracer **out, const struct nsf_tracer_opts *o)
{
	struct bpf_program *prog;
	struct nsf_tracer *t;
	int err;

	if (!type1_available()) {
		nsf_err("VFIO type1 is not in this kernel (modprobe %s)", TYPE1_MODULE);
		return -ENOENT;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fn = o->fn;
	t->ctx = o->ctx;
	t->enforce = o->enforce;
	t->stats_fd = -1;
	err = open_skel(t, o->pid);
	if (err) {
		nsf_err("cannot open BPF object: %s", strerror(-err));
		free(t);
		return err;
	}
	if (o->ringbuf_bytes) {
		err = bpf_map__set_max_entries(bpf_object__find_map_by_name(t->obj, "events"),
					       o->ringbuf_bytes);
		if (err) {
			nsf_err("invalid ring buffer size %u: %s", o->ringbuf_bytes, strerror(-err));
			goto fail;
		}
	}

	bpf_object__for_each_program(prog, t->obj) {
		struct nsf_hook_status *h = &t->hooks[t->nr_hooks];

		if (t->nr_hooks == MAX_HOOKS)
			break;
		h->prog = bpf_program__name(prog);
		h->func = attach_func(prog);
		h->optional = is_optional(h->func);
		h->has_btf = nsf_func_has_btf(h->func, TYPE1_MODULE);
		t->nr_hooks++;
		if (h->has_btf)
			continue;
		if (!h->optional) {
			nsf_err("kernel function %s has no BTF here (inlined or renamed): cannot hook it",
				h->func);
			err = -ENOENT;
			goto fail;
		}
		bpf_program__set_autoload(prog, false);
	}

	err = bpf_object__load(t->obj);
	if (err) {
		nsf_err("cannot load BPF programs%s: %s%s",
			t->enforce ? " (enforce build, needs the nsflush module)" : "",
			strerror(-err), nsf_verbose ? "" : " (-v for details)");
		goto fail;
	}
	for (int i = 0; i < t->nr_hooks; i++) {
		struct nsf_hook_status *h = &t->hooks[i];

		if (!h->has_btf)
			continue;
		prog = bpf_object__find_program_by_name(t->obj, h->prog);
		t->links[i] = bpf_program__attach(prog);
		if (!t->links[i]) {
			err = -errno;
			nsf_err("cannot attach %s to %s: %s", h->prog, h->func, strerror(-err));
			if (!h->optional)
				goto fail;
			continue;
		}
		h->attached = true;
	}
	t->stats_fd = bpf_map__fd(bpf_object__find_map_by_name(t->obj, "stats"));
	t->rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(t->obj, "events")),
				 on_sample, t, NULL);
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
	destroy_skel(t);
	free(t);
}

int nsf_tracer_fd(const struct nsf_tracer *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int nsf_tracer_poll(struct nsf_tracer *t, int timeout_ms)
{
	int n = timeout_ms ? ring_buffer__poll(t->rb, timeout_ms) : ring_buffer__consume(t->rb);

	return n == -EINTR ? 0 : n;
}

__u64 nsf_tracer_lost(const struct nsf_tracer *t)
{
	__u32 key = 0;	/* STAT_LOST */
	__u64 lost = 0;

	if (t->stats_fd >= 0)
		bpf_map_lookup_elem(t->stats_fd, &key, &lost);
	return lost;
}

int nsf_tracer_hooks(const struct nsf_tracer *t, const struct nsf_hook_status **out)
{
	*out = t->hooks;
	return t->nr_hooks;
}
