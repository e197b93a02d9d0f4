// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nsf.h"
#include "pins.h"
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
#define FALLBACK_CC "type1: a domain being attached counts as coherent only once attach returns"
static const struct {
	const char *func;
	const char *fallback;
	const char *vendor;	/* the vendor's coherency op, whole or ... */
	bool split;		/* ... one stage of it: each form stands in for the other */
} optional_funcs[] = {
	/* Intel's op, whole up to 6.12, split by page-table stage after */
	{ .func = "intel_iommu_enforce_cache_coherency", .fallback = FALLBACK_CC,
	  .vendor = "intel" },
	{ .func = "intel_iommu_enforce_cache_coherency_fs", .fallback = FALLBACK_CC,
	  .vendor = "intel", .split = true },
	{ .func = "intel_iommu_enforce_cache_coherency_ss", .fallback = FALLBACK_CC,
	  .vendor = "intel", .split = true },
	{ .func = "amd_iommu_enforce_cache_coherency", .fallback = FALLBACK_CC, .vendor = "amd" },
	{ .func = "iommufd_hwpt_paging_alloc",
	  .fallback = "iommufd: a HWPT is coherent iff the vendor's enforce_cache_coherency said so" },
	{ .func = "iommu_attach_group_handle",
	  .fallback = "iommufd: domains are listed without their groups" },
	{ .func = "iommu_detach_group_handle",
	  .fallback = "iommufd: groups leaving a domain are not seen" },
	{ .func = "iommu_replace_group_handle",
	  .fallback = "iommufd: groups moving between domains are not seen" },
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
	struct nsf_pins pins;		/* dir_fd < 0: not pinning */
	struct nsf_tracer_pins pinned;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct nsf_tracer *t = ctx;

	if (size < sizeof(struct nsflush_event))
		return 0;
	return t->fn(t->ctx, data);
}

/* ---- pinning ---------------------------------------------------------------- */

#define PIN_MAP "map_"
#define PIN_LINK "link_"
#define PIN_NEW "new"		/* "new<pid>_<prog>" while an upgrade attaches */
#define CONTROL_MAP "control"

static bool pinnable(const struct bpf_map *m)
{
	return !bpf_map__is_internal(m);
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int incompatible(const struct nsf_tracer *t, const char *why)
{
	nsf_err("%s holds pins of an incompatible nsflush (%s): 'nsflushd --unload' removes "
		"them (enforcement stops until nsflushd starts again)", t->pins.dir, why);
	return -EEXIST;
}

/*
 * Before load: the pinned maps, if any, become this object's, so the
 * programs about to load share them with the pinned ones. A missing,
 * differently shaped or other-ABI map refuses the whole set.
 */
static int adopt_maps(struct nsf_tracer *t, const struct nsf_tracer_opts *o)
{
	char path[512], why[160];
	struct nsflush_control c = {};
	struct bpf_map *m;
	__u32 key = 0;
	int fd;

	fd = bpf_obj_get(nsf_pins_path(&t->pins, PIN_MAP, CONTROL_MAP, path, sizeof(path)));
	if (fd < 0) {
		/* No control block: nothing, or an interrupted creation. */
		return nsf_pins_remove_all(&t->pins);
	}
	{
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.value_size != sizeof(c) ||
		    bpf_map_lookup_elem(fd, &key, &c) || c.abi != NSFLUSH_ABI_VERSION) {
			close(fd);
			snprintf(why, sizeof(why), "control block of ABI %u, this is %u",
				 info.value_size == sizeof(c) ? c.abi : 0, NSFLUSH_ABI_VERSION);
			return incompatible(t, why);
		}
	}
	close(fd);
	t->pinned.control = c;
	t->pinned.stopped_ns = c.stopped_ns;
	t->pinned.was_enforcing = c.enforce_since_ns != 0;
	bpf_object__for_each_map(m, t->obj) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int err;

		if (!pinnable(m))
			continue;
		fd = bpf_obj_get(nsf_pins_path(&t->pins, PIN_MAP, bpf_map__name(m), path,
					       sizeof(path)));
		if (fd < 0) {
			snprintf(why, sizeof(why), "no map %s", bpf_map__name(m));
			return incompatible(t, why);
		}
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		    info.value_size != bpf_map__value_size(m) ||
		    info.map_flags != bpf_map__map_flags(m)) {
			close(fd);
			snprintf(why, sizeof(why), "map %s has another shape", bpf_map__name(m));
			return incompatible(t, why);
		}
		if (info.max_entries != bpf_map__max_entries(m)) {
			/* Only the ring buffer's size is the user's to choose. */
			if (bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF ||
			    (o->ringbuf_bytes && o->ringbuf_bytes != info.max_entries)) {
				close(fd);
				if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF) {
					nsf_err("the pinned ring buffer has %u bytes, not %u: "
						"'nsflushd --unload' first to resize it",
						info.max_entries, o->ringbuf_bytes);
					return -EEXIST;
				}
				snprintf(why, sizeof(why), "map %s has %u entries, not %u",
					 bpf_map__name(m), info.max_entries, bpf_map__max_entries(m));
				return incompatible(t, why);
			}
			bpf_map__set_max_entries(m, info.max_entries);
		}
		err = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (err) {
			nsf_err("cannot adopt pinned map %s: %s", bpf_map__name(m), strerror(-err));
			return err;
		}
	}
	t->pinned.how = NSF_PINS_KEPT;	/* or REPLACED, once the hooks are compared */
	return 0;
}

/* What makes two hooks the same: where and how attached, and the code. */
struct hook_id {
	__u32 attach_type;
	__u32 btf_obj_id;
	__u32 btf_id;
	__u8 tag[BPF_TAG_SIZE];
};

static int cmp_hook_id(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct hook_id));
}

static void hook_id_of(const struct bpf_prog_info *info, __u32 attach_type, struct hook_id *id)
{
	memset(id, 0, sizeof(*id));
	id->attach_type = attach_type;
	id->btf_obj_id = info->attach_btf_obj_id;
	id->btf_id = info->attach_btf_id;
	memcpy(id->tag, info->tag, sizeof(id->tag));
}

struct pinned_hooks {
	int n;
	bool unreadable;
	struct hook_id ids[MAX_HOOKS];
};

static int read_pinned_hook(const char *path, const char *name, void *ctx)
{
	struct pinned_hooks *ph = ctx;
	struct bpf_link_info li;
	struct bpf_prog_info pi;

	(void)name;
	if (ph->n == MAX_HOOKS || nsf_pins_hook_info(path, &li, &pi))
		ph->unreadable = true;
	else
		hook_id_of(&pi, li.tracing.attach_type, &ph->ids[ph->n++]);
	return 0;
}

/* Are the pinned hooks exactly the ones this build would attach? */
static bool same_hooks(struct nsf_tracer *t, __u32 pid)
{
	struct pinned_hooks old = {}, now = {};

	nsf_pins_each(&t->pins, PIN_LINK, read_pinned_hook, &old);
	nsf_pins_each(&t->pins, PIN_NEW, read_pinned_hook, &old);
	t->pinned.old_hooks = old.n;
	for (int i = 0; i < t->nr_hooks; i++) {
		struct bpf_prog_info pi = {};
		__u32 len = sizeof(pi);
		struct bpf_program *prog;

		if (!t->hooks[i].has_btf)
			continue;
		prog = bpf_object__find_program_by_name(t->obj, t->hooks[i].prog);
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pi, &len))
			return false;
		hook_id_of(&pi, bpf_program__expected_attach_type(prog), &now.ids[now.n++]);
	}
	if (old.unreadable || old.n != now.n || t->pinned.control.target_tgid != pid)
		return false;
	qsort(old.ids, old.n, sizeof(old.ids[0]), cmp_hook_id);
	qsort(now.ids, now.n, sizeof(now.ids[0]), cmp_hook_id);
	return !memcmp(old.ids, now.ids, now.n * sizeof(now.ids[0]));
}

static int add_misses(const char *path, const char *name, void *ctx)
{
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	__u64 *misses = ctx;

	(void)name;
	if (!nsf_pins_hook_info(path, &li, &pi))
		*misses += pi.recursion_misses;
	return 0;
}

/* Recursion misses of the hooks pinned now. */
static __u64 pinned_misses(const struct nsf_tracer *t)
{
	__u64 misses = 0;

	nsf_pins_each(&t->pins, PIN_LINK, add_misses, &misses);
	nsf_pins_each(&t->pins, PIN_NEW, add_misses, &misses);
	return misses;
}

static int detach_pinned(const char *path, const char *name, void *ctx)
{
	const char *mine = ctx;

	if (!strncmp(name, mine, strlen(mine)))
		return 0;
	if (unlink(path)) {
		nsf_err("cannot remove %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int write_control(struct nsf_tracer *t, const struct nsflush_control *c)
{
	__u32 key = 0;
	int fd = bpf_map__fd(bpf_object__find_map_by_name(t->obj, CONTROL_MAP));

	if (bpf_map_update_elem(fd, &key, c, BPF_ANY)) {
		nsf_err("cannot write the control block: %s", strerror(errno));
		return -errno;
	}
	t->pinned.control = *c;
	return 0;
}

/* Undoes pins this start made when a later step fails: nothing half-done. */
static void unpin_new(struct nsf_tracer *t, bool maps)
{
	struct bpf_map *m;

	for (int i = 0; i < t->nr_hooks; i++)
		if (t->links[i])
			bpf_link__unpin(t->links[i]);
	if (!maps)
		return;
	bpf_object__for_each_map(m, t->obj)
		if (pinnable(m))
			bpf_map__unpin(m, NULL);
}

static int pin_maps(struct nsf_tracer *t)
{
	char path[512];
	struct bpf_map *m;
	int err;

	/* The control block last: it says the set is whole. */
	bpf_object__for_each_map(m, t->obj) {
		if (!pinnable(m) || !strcmp(bpf_map__name(m), CONTROL_MAP))
			continue;
		err = bpf_map__pin(m, nsf_pins_path(&t->pins, PIN_MAP, bpf_map__name(m), path,
						    sizeof(path)));
		if (err)
			return err;
	}
	m = bpf_object__find_map_by_name(t->obj, CONTROL_MAP);
	return bpf_map__pin(m, nsf_pins_path(&t->pins, PIN_MAP, CONTROL_MAP, path, sizeof(path)));
}

static int attach_all(struct nsf_tracer *t)
{
	for (int i = 0; i < t->nr_hooks; i++) {
		struct nsf_hook_status *h = &t->hooks[i];
		struct bpf_program *prog;
		int err;

		if (!h->has_btf)
			continue;
		prog = bpf_object__find_program_by_name(t->obj, h->prog);
		t->links[i] = bpf_program__attach(prog);
		if (!t->links[i]) {
			err = -errno;
			nsf_err("cannot attach %s to %s: %s", h->prog, h->func, strerror(-err));
			if (!h->optional)
				return err;
			continue;
		}
		h->attached = true;
	}
	return 0;
}

/*
 * After load: keep the pinned hooks if they are this build's; otherwise
 * attach this build's (both run for that moment: a flush may happen twice,
 * never not at all), pin them, detach the others.
 */
static int pin_hooks(struct nsf_tracer *t, const struct nsf_tracer_opts *o)
{
	struct nsflush_control c = t->pinned.control;
	struct nsf_pinned_progs old = {};
	char path[512], mine[32];
	__u64 now = monotonic_ns();
	int err;

	c.stopped_ns = 0;	/* a daemon runs: consumed events leave the ring */
	if (t->pinned.how == NSF_PINS_KEPT && same_hooks(t, o->pid)) {
		for (int i = 0; i < t->nr_hooks; i++)
			t->hooks[i].attached = t->hooks[i].has_btf;
		t->pinned.hooks = t->pinned.old_hooks;
		return write_control(t, &c);
	}
	err = attach_all(t);
	if (err)
		return err;
	snprintf(mine, sizeof(mine), PIN_NEW "%d_", (int)getpid());
	for (int i = 0; i < t->nr_hooks; i++) {
		if (!t->links[i])
			continue;
		err = bpf_link__pin(t->links[i], nsf_pins_path(&t->pins, mine, t->hooks[i].prog,
							       path, sizeof(path)));
		if (err) {
			nsf_err("cannot pin %s: %s", path, strerror(-err));
			goto undo;
		}
		t->pinned.hooks++;
	}
	if (t->pinned.how == NSF_PINS_NONE) {
		t->pinned.how = NSF_PINS_CREATED;
		c = (struct nsflush_control){ .abi = NSFLUSH_ABI_VERSION, .created_ns = now };
	} else {
		t->pinned.how = NSF_PINS_REPLACED;
	}
	c.target_tgid = o->pid;
	/* Theirs go with them: keep the count (those of ours are 0 yet). */
	c.replaced_misses += pinned_misses(t);
	if (!t->enforce)
		c.enforce_since_ns = 0;
	else if (!t->pinned.was_enforcing)
		c.enforce_since_ns = now;
	err = write_control(t, &c);
	if (err)
		goto undo;
	if (t->pinned.how == NSF_PINS_CREATED) {
		err = pin_maps(t);
		if (err) {
			nsf_err("cannot pin the maps in %s: %s", t->pins.dir, strerror(-err));
			unpin_new(t, true);
			return err;
		}
	}
	/* Ours are attached and pinned: the pinned ones can go, and are
	 * waited for, so that the two run together only for that moment. */
	nsf_pins_note_progs(&t->pins, PIN_LINK, &old);
	err = nsf_pins_each(&t->pins, PIN_LINK, detach_pinned, mine);
	if (!err)
		err = nsf_pins_each(&t->pins, PIN_NEW, detach_pinned, mine);
	if (!err)
		err = nsf_pins_wait_detached(&old);
	if (err)
		return err;
	for (int i = 0; i < t->nr_hooks; i++) {
		char to[512];

		if (!t->links[i])
			continue;
		nsf_pins_path(&t->pins, mine, t->hooks[i].prog, path, sizeof(path));
		if (rename(path, nsf_pins_path(&t->pins, PIN_LINK, t->hooks[i].prog, to,
					       sizeof(to)))) {
			nsf_err("cannot rename %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
undo:
	unpin_new(t, false);
	return err;
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

static int optional_index(const char *func)
{
	for (size_t i = 0; i < NR_OPTIONAL; i++)
		if (!strcmp(func, optional_funcs[i].func))
			return (int)i;
	return -1;
}

/*
 * A vendor's op left out is no loss when the kernel has the other form of
 * it and that attached (the whole op on a split kernel, or the reverse);
 * one stage missing beside the other is a loss, so it is not covered.
 */
static void note_stand_ins(struct nsf_tracer *t)
{
	for (int i = 0; i < t->nr_hooks; i++) {
		struct nsf_hook_status *h = &t->hooks[i];
		int a = optional_index(h->func);

		if (h->attached || a < 0 || !optional_funcs[a].vendor)
			continue;
		for (int k = 0; k < t->nr_hooks; k++) {
			int b = optional_index(t->hooks[k].func);

			if (t->hooks[k].attached && b >= 0 && optional_funcs[b].vendor &&
			    !strcmp(optional_funcs[b].vendor, optional_funcs[a].vendor) &&
			    optional_funcs[b].split != optional_funcs[a].split)
				h->stand_in = t->hooks[k].func;
		}
	}
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

/* Kernel device numbers (MKDEV: major << 20 | minor) of the VFIO files the
 * start-up walk looks for; 0 where there is none. */
struct vfio_devs {
	__u32 container, group_major, cdev_major, iommufd;
};

static __u32 kdev(dev_t d)
{
	return major(d) << 20 | minor(d);
}

/* The major of the first character device in @dir (other than @but). */
static __u32 dir_major(const char *dir, const char *but)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	__u32 maj = 0;

	while (d && !maj && (de = readdir(d))) {
		char path[512];
		struct stat st;

		if (de->d_name[0] == '.' || (but && !strcmp(de->d_name, but)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!stat(path, &st) && S_ISCHR(st.st_mode))
			maj = major(st.st_rdev);
	}
	if (d)
		closedir(d);
	return maj;
}

static void vfio_devs(struct vfio_devs *v)
{
	struct stat st;

	memset(v, 0, sizeof(*v));
	if (!stat("/dev/vfio/vfio", &st) && S_ISCHR(st.st_mode))
		v->container = kdev(st.st_rdev);
	if (!stat("/dev/iommu", &st) && S_ISCHR(st.st_mode))
		v->iommufd = kdev(st.st_rdev);
	v->group_major = dir_major("/dev/vfio", "vfio");
	v->cdev_major = dir_major("/dev/vfio/devices", NULL);
}

/* Both builds' .rodata hold the same variables. */
#define SET_RODATA(r, pid, v) do {				\
		(r)->target_tgid = (pid);			\
		(r)->vfio_container_rdev = (v)->container;	\
		(r)->vfio_group_major = (v)->group_major;	\
		(r)->vfio_cdev_major = (v)->cdev_major;		\
		(r)->iommufd_rdev = (v)->iommufd;		\
	} while (0)

/* The two builds' skeletons differ only in type: open one, use its object. */
static int open_skel(struct nsf_tracer *t, __u32 pid)
{
	struct vfio_devs v;

	vfio_devs(&v);
	if (t->enforce) {
		struct nsflush_enforce_bpf *s = nsflush_enforce_bpf__open();

		if (!s)
			return -errno;
		SET_RODATA(s->rodata, pid, &v);
		t->skel = s;
		t->obj = s->obj;
	} else {
		struct nsflush_bpf *s = nsflush_bpf__open();

		if (!s)
			return -errno;
		SET_RODATA(s->rodata, pid, &v);
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
	bool refused = false;	/* by probing: err says why (tracer.h) */
	int err;

	bool present[NR_FAMILIES];
	int nr_present = 0;

	for (size_t i = 0; i < NR_FAMILIES; i++) {
		present[i] = family_present(kbtf, &families[i]);
		nr_present += present[i];
	}
	if (!nr_present) {
		nsf_err("neither VFIO type1 nor iommufd is in this kernel (modprobe vfio_iommu_type1)");
		err = -ENOTSUP;
		refused = true;
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
	t->pins.dir_fd = -1;
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
		/* the start-up walk is run, not attached (nsf_tracer_found) */
		if (bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER)
			continue;
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
			err = h->skipped ? -EINVAL : -ENOTSUP;
			refused = true;
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
			refused = true;
			goto out;
		}
	}
	/* Probing is done; libbpf parses its own copy to load. */
	nsf_kernel_btf_close(kbtf);
	kbtf = NULL;
	if (o->pin_dir) {
		err = nsf_pins_open(&t->pins, o->pin_dir);
		if (!err)
			err = adopt_maps(t, o);
		if (err)
			goto out;
	}

	err = bpf_object__load(t->obj);
	if (err) {
		nsf_err("cannot load BPF programs%s: %s%s",
			t->enforce ? " (enforce build, needs the nsflush module)" : "",
			strerror(-err), nsf_verbose ? "" : " (-v for details)");
		goto out;
	}
	err = t->pins.dir_fd >= 0 ? pin_hooks(t, o) : attach_all(t);
	if (err)
		goto out;
	note_stand_ins(t);
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
	/* -ENOTSUP and -EINVAL say what probing refused (tracer.h); libbpf's
	 * own are runtime failures */
	if (!refused && (err == -ENOTSUP || err == -EINVAL))
		err = -EIO;
	return err;
}

void nsf_tracer_close(struct nsf_tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	/* Pinned hooks stay attached: only our references go. */
	for (int i = 0; i < t->nr_hooks; i++)
		bpf_link__destroy(t->links[i]);
	destroy_skel(t);
	nsf_pins_close(&t->pins);
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

int nsf_tracer_found(struct nsf_tracer *t, nsf_found_fn fn, void *ctx)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(t->obj, "found_vfio");
	struct bpf_link *link = bpf_program__attach_iter(prog, NULL);
	struct nsflush_found rec;
	size_t have = 0;
	int fd, err = 0;
	ssize_t n;

	if (!link) {
		err = -errno;
		nsf_err("cannot run the start-up walk (iter/task_file): %s", strerror(-err));
		return err;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		nsf_err("cannot run the start-up walk: %s", strerror(-err));
		goto out;
	}
	/* Records may straddle reads. */
	while ((n = read(fd, (char *)&rec + have, sizeof(rec) - have)) > 0) {
		have += n;
		if (have < sizeof(rec))
			continue;
		have = 0;
		err = fn(ctx, &rec);
		if (err)
			break;
	}
	if (n < 0) {
		err = -errno;
		nsf_err("start-up walk: %s", strerror(-err));
	}
	close(fd);
out:
	bpf_link__destroy(link);
	return err;
}

__u64 nsf_tracer_missed(const struct nsf_tracer *t)
{
	if (t->pins.dir_fd < 0)
		return 0;
	return t->pinned.control.replaced_misses + pinned_misses(t);
}

bool nsf_tracer_backend(const struct nsf_tracer *t, const char *name)
{
	for (int i = 0; i < t->nr_hooks; i++)
		if (t->hooks[i].attached && t->hooks[i].backend &&
		    !strcmp(t->hooks[i].backend, name))
			return true;
	return false;
}

int nsf_tracer_mark_stopped(struct nsf_tracer *t)
{
	struct nsflush_control c = t->pinned.control;

	if (t->pins.dir_fd < 0)
		return 0;
	c.stopped_ns = monotonic_ns();
	return write_control(t, &c);
}

const struct nsf_tracer_pins *nsf_tracer_pins(const struct nsf_tracer *t)
{
	return &t->pinned;
}

int nsf_tracer_hooks(const struct nsf_tracer *t, const struct nsf_hook_status **out)
{
	*out = t->hooks;
	return t->nr_hooks;
}
