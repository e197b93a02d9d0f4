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

#define MAX_HOOKS 48

/*
 * Hook families. BPF programs are named after theirs; programs of no
 * family hook the IOMMU core that every backend goes through. A backend
 * absent from this kernel (Debian leaves iommufd out; type1 may be an
 * unloaded module) is left out whole; at least one must be there.
 */
struct family {
	const char *prefix;	/* of its BPF program names */
	const char *name;	/* as reports name the backend */
	const char *module;	/* its BTF when it is a module */
	const char *anchor;	/* present iff this function has BTF */
};

static const struct family families[] = {
	{ "type1_", "vfio-type1", "vfio_iommu_type1", "vfio_iommu_type1_ioctl" },
	{ "iommufd_", "iommufd", "iommufd", "iopt_table_add_domain" },
};
#define NR_FAMILIES (sizeof(families) / sizeof(families[0]))

/*
 * Hooks a fallback covers, and the fallback. Every other hook of a
 * present family is required: without it the family's reference points
 * would be missed, so loading fails instead.
 */
static const struct {
	const char *func;
	const char *fallback;
} optional_funcs[] = {
	{ "intel_iommu_enforce_cache_coherency",
	  "type1: a domain being attached counts as coherent only once attach returns" },
	{ "amd_iommu_enforce_cache_coherency",
	  "type1: a domain being attached counts as coherent only once attach returns" },
	{ "iommufd_hwpt_paging_alloc",
	  "iommufd: a HWPT is coherent iff the vendor's enforce_cache_coherency said so" },
	{ "iommu_attach_group_handle", "iommufd: domains are listed without their groups" },
	{ "iommu_detach_group_handle", "iommufd: groups leaving a domain are not seen" },
	{ "iommu_replace_group_handle", "iommufd: groups moving between domains are not seen" },
};
#define NR_OPTIONAL (sizeof(optional_funcs) / sizeof(optional_funcs[0]))

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

static const char *fallback_of(const char *func)
{
	for (size_t i = 0; i < NR_OPTIONAL; i++)
		if (!strcmp(func, optional_funcs[i].func))
			return optional_funcs[i].fallback;
	return NULL;
}

static const struct family *family_of(const char *prog)
{
	for (size_t i = 0; i < NR_FAMILIES; i++)
		if (!strncmp(prog, families[i].prefix, strlen(families[i].prefix)))
			return &families[i];
	return NULL;
}

static bool family_present(struct nsf_kernel_btf *kbtf, const struct family *f)
{
	return nsf_module_btf_loaded(f->module) || nsf_kernel_btf_has_func(kbtf, f->anchor, NULL);
}

static bool skipped(const struct nsf_tracer_opts *o, const char *func)
{
	for (int i = 0; i < o->nr_skip; i++)
		if (!strcmp(o->skip_funcs[i], func))
			return true;
	return false;
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
	struct nsf_kernel_btf *kbtf = nsf_kernel_btf_open();
	struct bpf_program *prog;
	struct nsf_tracer *t = NULL;
	int err;

	bool present[NR_FAMILIES];
	int nr_present = 0;

	for (size_t i = 0; i < NR_FAMILIES; i++) {
		present[i] = family_present(kbtf, &families[i]);
		nr_present += present[i];
	}
	if (!nr_present) {
		nsf_err("neither VFIO type1 nor iommufd is in this kernel (modprobe vfio_iommu_type1)");
		err = -ENOENT;
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto out;
	}
	t->fn = o->fn;
	t->ctx = o->ctx;
	t->enforce = o->enforce;
	t->stats_fd = -1;
	err = open_skel(t, o->pid);
	if (err) {
		nsf_err("cannot open BPF object: %s", strerror(-err));
		goto out;
	}
	if (o->ringbuf_bytes) {
		err = bpf_map__set_max_entries(bpf_object__find_map_by_name(t->obj, "events"),
					       o->ringbuf_bytes);
		if (err) {
			nsf_err("invalid ring buffer size %u: %s", o->ringbuf_bytes, strerror(-err));
			goto out;
		}
	}

	bpf_object__for_each_program(prog, t->obj) {
		struct nsf_hook_status *h = &t->hooks[t->nr_hooks];
		const struct family *f;

		if (t->nr_hooks == MAX_HOOKS)
			break;
		h->prog = bpf_program__name(prog);
		h->func = attach_func(prog);
		f = family_of(h->prog);
		h->backend = f ? f->name : NULL;
		h->fallback = fallback_of(h->func);
		h->optional = h->fallback != NULL;
		t->nr_hooks++;
		if (f && !present[f - families]) {
			bpf_program__set_autoload(prog, false);
			continue;
		}
		h->has_btf = nsf_kernel_btf_has_func(kbtf, h->func, f ? f->module : NULL);
		if (h->has_btf && skipped(o, h->func)) {
			h->has_btf = false;
			h->skipped = true;
		}
		if (h->has_btf)
			continue;
		if (!h->optional) {
			nsf_err("kernel function %s %s: cannot hook it", h->func,
				h->skipped ? "is skipped (--skip-hook)" :
					     "has no BTF here (inlined or renamed)");
			err = -ENOENT;
			goto out;
		}
		bpf_program__set_autoload(prog, false);
	}
	for (int i = 0; i < o->nr_skip; i++) {
		bool known = false;

		for (int k = 0; k < t->nr_hooks; k++)
			known |= !strcmp(t->hooks[k].func, o->skip_funcs[i]);
		if (!known) {
			nsf_err("--skip-hook %s: nsflush does not hook that function", o->skip_funcs[i]);
			err = -EINVAL;
			goto out;
		}
	}
	/* Probing is done; libbpf parses its own copy to load. */
	nsf_kernel_btf_close(kbtf);
	kbtf = NULL;

	err = bpf_object__load(t->obj);
	if (err) {
		nsf_err("cannot load BPF programs%s: %s%s",
			t->enforce ? " (enforce build, needs the nsflush module)" : "",
			strerror(-err), nsf_verbose ? "" : " (-v for details)");
		goto out;
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
				goto out;
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
		goto out;
	}
	*out = t;
	t = NULL;
	err = 0;
out:
	nsf_kernel_btf_close(kbtf);
	nsf_tracer_close(t);	/* a partly opened tracer on failure, else NULL */
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

/* Every enum nsflush_stat counter: each means the record may miss something. */
__u64 nsf_tracer_lost(const struct nsf_tracer *t)
{
	__u64 lost = 0;

	for (__u32 key = 0; key < NSFLUSH_STAT_NR && t->stats_fd >= 0; key++) {
		__u64 v = 0;

		if (!bpf_map_lookup_elem(t->stats_fd, &key, &v))
			lost += v;
	}
	return lost;
}

bool nsf_tracer_backend(const struct nsf_tracer *t, const char *name)
{
	for (int i = 0; i < t->nr_hooks; i++)
		if (t->hooks[i].attached && t->hooks[i].backend &&
		    !strcmp(t->hooks[i].backend, name))
			return true;
	return false;
}

int nsf_tracer_hooks(const struct nsf_tracer *t, const struct nsf_hook_status **out)
{
	*out = t->hooks;
	return t->nr_hooks;
}
