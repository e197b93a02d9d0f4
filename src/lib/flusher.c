// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nsf.h"
#include "flusher.h"
#include "flush.skel.h"

#define NSFLUSH_MODULE "nsflush"

struct nsf_flusher {
	struct flush_bpf *skel;
};

int nsf_flusher_open(struct nsf_flusher **out)
{
	struct nsf_flusher *f;
	int err;

	if (!nsf_module_btf_loaded(NSFLUSH_MODULE)) {
		nsf_err("helper module %s is not loaded (or has no BTF): modprobe %s",
			NSFLUSH_MODULE, NSFLUSH_MODULE);
		return -ENOENT;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->skel = flush_bpf__open_and_load();
	if (!f->skel) {
		err = -errno;
		nsf_err("cannot load the flush program (kfunc nsflush_flush_phys): %s%s",
			strerror(-err), nsf_verbose ? "" : " (-v for details)");
		free(f);
		return err;
	}
	*out = f;
	return 0;
}

void nsf_flusher_close(struct nsf_flusher *f)
{
	if (!f)
		return;
	flush_bpf__destroy(f->skel);
	free(f);
}

int nsf_flush_phys(struct nsf_flusher *f, __u64 phys, __u64 len,
		   int *kfunc_ret, struct nsflush_flush_result *res)
{
	struct nsflush_flush_args args = { .phys = phys, .len = len };
	/* SYSCALL programs take only ctx_in; the kernel writes it back. */
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .ctx_in = &args,
		    .ctx_size_in = sizeof(args));
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.flush_phys), &opts);
	if (err)
		return -errno;
	*kfunc_ret = args.ret;
	*res = args.res;
	return 0;
}
