// SPDX-License-Identifier: GPL-2.0
/*
 * nsflush-audit: what nsflush can see and do on this host.
 *
 * --check loads the same BPF objects nsflushd uses and reports, one line
 * each, whether this kernel lets them attach and whether the helper
 * module's kfunc is usable.
 */
#include <getopt.h>
#include <stdlib.h>
#include "lib/nsf.h"
#include "lib/flusher.h"
#include "lib/tracer.h"

static struct env {
	bool check;
} env;

static const char usage[] =
"Usage: nsflush-audit --check [-v]\n"
"Report what nsflush can observe and flush on this host.\n"
"Exit: 0 everything usable, 1 something is missing (listed), 2 error.\n"
"\n"
"  -c, --check     probe the VFIO hooks and the helper module's kfunc\n"
"  -v, --verbose   libbpf debug output\n"
"  -h, --help      this text\n";

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":cvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			env.check = true;
			break;
		default:
			nsf_common_option(c, argv, usage);
		}
	}
	if (optind < argc)
		nsf_usage_error("unexpected argument: %s", argv[optind]);
	if (!env.check)
		nsf_usage_error("nothing to do: use --check");
}

static int ignore_event(void *ctx, const struct nsflush_event *e)
{
	(void)ctx;
	(void)e;
	return 0;
}

int main(int argc, char **argv)
{
	const struct nsf_hook_status *hooks;
	struct nsf_flusher *f = NULL;
	struct nsf_tracer *t = NULL;
	int missing = 0, n;

	nsf_prog = "nsflush-audit";
	parse_args(argc, argv);
	nsf_setup_libbpf();
	if (nsf_check_bpf_prereqs())
		return NSF_EXIT_ERROR;

	if (nsf_tracer_open(&t, 0, ignore_event, NULL) == 0) {
		n = nsf_tracer_hooks(t, &hooks);
		for (int i = 0; i < n; i++) {
			printf("hook %-28s %-28s %s\n", hooks[i].prog, hooks[i].func,
			       hooks[i].attached ? "attached" :
			       hooks[i].has_btf ? "attach-failed" : "no-btf");
			missing += !hooks[i].attached;
		}
		nsf_tracer_close(t);
	} else {
		printf("hooks vfio-type1 unavailable\n");
		missing++;
	}

	if (nsf_flusher_open(&f) == 0) {
		printf("kfunc nsflush_flush_phys usable\n");
		nsf_flusher_close(f);
	} else {
		printf("kfunc nsflush_flush_phys unavailable\n");
		missing++;
	}
	return missing ? NSF_EXIT_FOUND : NSF_EXIT_OK;
}
