// SPDX-License-Identifier: GPL-2.0
/*
 * nsflushd: loads the VFIO hooks and consumes their events.
 *
 * At this stage it records type1 pin/unpin runs and prints them; the
 * per-VMM state, flushing modes and the Prometheus textfile build on this.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "lib/nsf.h"
#include "lib/tracer.h"

static struct env {
	__u32 pid;
	bool print_events;
} env;

static const char usage[] =
"Usage: nsflushd [-p PID] [--print-events] [-v]\n"
"Record PFN runs that VFIO pins for DMA into IOMMU domains.\n"
"\n"
"  -p, --pid PID        only record this process\n"
"  -e, --print-events   print each event on stdout\n"
"  -v, --verbose        libbpf debug output (twice: more)\n"
"  -h, --help           this text\n"
"\n"
"Examples:\n"
"  nsflushd --print-events          # every pinned/unpinned run\n"
"  nsflushd -p 1234 --print-events  # only the VMM with pid 1234\n";

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "print-events", no_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:evh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!nsf_parse_size(optarg, &v) || v == 0 || v > INT32_MAX)
				nsf_usage_error("invalid pid: %s", optarg);
			env.pid = v;
			break;
		case 'e':
			env.print_events = true;
			break;
		default:
			nsf_common_option(c, argv, usage);
		}
	}
	if (optind < argc)
		nsf_usage_error("unexpected argument: %s", argv[optind]);
}

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static struct totals {
	__u64 events, pinned_bytes, unpinned_bytes;
} totals;

static int on_event(void *ctx, const struct nsflush_event *e)
{
	(void)ctx;
	totals.events++;
	switch (e->kind) {
	case NSFLUSH_EV_PIN:
		totals.pinned_bytes += e->bytes;
		break;
	case NSFLUSH_EV_UNPIN:
		totals.unpinned_bytes += e->bytes;
		break;
	}
	if (env.print_events) {
		printf("%s pid=%u comm=%.*s iova=0x%llx pfn=0x%llx bytes=%llu\n",
		       e->kind == NSFLUSH_EV_PIN ? "pin" : "unpin", e->pid,
		       NSFLUSH_COMM_LEN, e->comm, (unsigned long long)e->iova,
		       (unsigned long long)e->pfn, (unsigned long long)e->bytes);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct nsf_hook_status *hooks;
	struct nsf_tracer *t;
	int err = 0, n;

	nsf_prog = "nsflushd";
	parse_args(argc, argv);
	nsf_setup_libbpf();
	if (nsf_check_bpf_prereqs())
		return NSF_EXIT_ERROR;
	if (nsf_tracer_open(&t, env.pid, on_event, NULL))
		return NSF_EXIT_ERROR;

	n = nsf_tracer_hooks(t, &hooks);
	for (int i = 0; i < n; i++)
		if (!hooks[i].attached)
			nsf_info("hook %s not attached: %s has no BTF on this kernel",
				 hooks[i].prog, hooks[i].func);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	nsf_info("ready");

	while (!exiting) {
		err = nsf_tracer_poll(t, 100);
		if (err < 0) {
			nsf_err("ring buffer: %s", strerror(-err));
			break;
		}
	}
	/* Drain what arrived before the signal. */
	nsf_tracer_poll(t, 0);
	printf("summary events=%llu pinned_bytes=%llu unpinned_bytes=%llu lost_events=%llu\n",
	       (unsigned long long)totals.events, (unsigned long long)totals.pinned_bytes,
	       (unsigned long long)totals.unpinned_bytes,
	       (unsigned long long)nsf_tracer_lost(t));
	nsf_tracer_close(t);
	return err < 0 ? NSF_EXIT_ERROR : NSF_EXIT_OK;
}
