// SPDX-License-Identifier: GPL-2.0
/*
 * nsflush-audit: asks nsflushd which memory went into non-coherent IOMMU
 * domains without the cache flushes it needed.
 *
 * --pid/--all ask the running daemon over its control socket (lib/ctl.h)
 * and exit with the status it answers. --check loads the same BPF objects
 * nsflushd uses and reports, one line each, whether this kernel lets them
 * attach and whether the helper module's kfunc is usable.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "lib/ctl.h"
#include "lib/nsf.h"
#include "lib/flusher.h"
#include "lib/tracer.h"

#define ANSWER_TIMEOUT_MS 10000

static struct env {
	bool check, all, json;
	__u32 pid;
	const char *socket;
} env = { .socket = NSF_CTL_DEFAULT_PATH };

static const char usage[] =
"Usage: nsflush-audit --pid PID | --all [--json] [--socket PATH] [-v]\n"
"   or: nsflush-audit --check [-v]\n"
"Ask nsflushd which memory of a VMM was mapped into non-coherent IOMMU\n"
"domains without the CPU-cache flushes it needed (before map, before unpin).\n"
"\n"
"  -p, --pid PID       audit the VMM process PID\n"
"  -a, --all           audit every VMM nsflushd has seen\n"
"  -j, --json          the full report as JSON (default: a table)\n"
"  -s, --socket PATH   nsflushd's control socket\n"
"                      (default " NSF_CTL_DEFAULT_PATH ")\n"
"  -c, --check         instead: probe the VFIO hooks and the helper module's\n"
"                      kfunc on this host\n"
"  -v, --verbose       libbpf debug output (--check)\n"
"  -h, --help          this text\n"
"      --version       print the version\n"
"\n"
"Exit status:\n"
"  0  nothing unflushed (--check: everything usable)\n"
"  1  unflushed ranges found (--check: something missing, listed)\n"
"  2  usage or operational error: nsflushd not running, not root, no such pid\n"
"  3  audit incomplete: nsflushd could not see everything (lost events,\n"
"     missed hooks, a VMM older than it...): the report's incomplete says why\n"
"\n"
"Examples:\n"
"  nsflush-audit --pid $(pidof qemu-system-x86_64)   one VMM, as a table\n"
"  nsflush-audit --all --json | jq .summary         every VMM's totals\n"
"  nsflush-audit --check        can this kernel be enforced on? (0: yes)\n";

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, NSF_OPT_VERSION },
		{},
	};
	bool pid_set = false, socket_set = false;
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:ajs:cvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!nsf_parse_decimal(optarg, INT32_MAX, &v))
				nsf_usage_error("invalid pid: '%s' (a decimal process id)", optarg);
			env.pid = v;
			pid_set = true;
			break;
		case 'a':
			env.all = true;
			break;
		case 'j':
			env.json = true;
			break;
		case 's':
			if (!*optarg)
				nsf_usage_error("--socket needs a path");
			env.socket = optarg;
			socket_set = true;
			break;
		case 'c':
			env.check = true;
			break;
		default:
			nsf_common_option(c, argv, usage);
		}
	}
	if (optind < argc)
		nsf_usage_error("unexpected argument: %s", argv[optind]);
	if (env.check && (pid_set || env.all || env.json || socket_set))
		nsf_usage_error("--check takes no other option but -v");
	if (pid_set && env.all)
		nsf_usage_error("--pid and --all exclude each other");
	if (!env.check && !pid_set && !env.all)
		nsf_usage_error("nothing to do: use --pid PID, --all or --check");
}

/* Asks the daemon; prints the report and returns the status it sent. */
static int audit(void)
{
	char *body = NULL;
	size_t size = 0;
	int err, status = NSF_EXIT_ERROR;
	FILE *out = open_memstream(&body, &size);

	if (!out) {
		nsf_err("%s", strerror(errno));
		return NSF_EXIT_ERROR;
	}
	err = nsf_ctl_report(env.socket, env.all ? 0 : env.pid, env.json, out,
			     &status, ANSWER_TIMEOUT_MS);
	fclose(out);
	switch (err) {
	case 0:
		break;
	case -EACCES:
	case -EPERM:
		nsf_err("permission denied on %s: run as root", env.socket);
		goto fail;
	case -ENOENT:
	case -ECONNREFUSED:
	case -ENOTDIR:
		nsf_err("nsflushd is not running (no socket at %s)", env.socket);
		goto fail;
	case -ETIMEDOUT:
	case -EAGAIN:
		nsf_err("nsflushd did not answer on %s", env.socket);
		goto fail;
	case -EPROTO:
		nsf_err("malformed answer from nsflushd on %s", env.socket);
		goto fail;
	case -EBADE:
		nsf_err("the server on %s is not root: its answer is not trusted", env.socket);
		goto fail;
	default:
		nsf_err("%s: %s", env.socket, strerror(-err));
		goto fail;
	}
	if (status == NSF_EXIT_ERROR) {
		/* The daemon's one-line reason ("no such pid: 123"). */
		size_t len = strcspn(body, "\n");

		nsf_err("%.*s", (int)len, len ? body : "nsflushd refused the request");
	} else if (fwrite(body, 1, size, stdout) != size || fflush(stdout)) {
		nsf_err("stdout: %s", strerror(errno));
		status = NSF_EXIT_ERROR;
	}
	free(body);
	return status;
fail:
	free(body);
	return NSF_EXIT_ERROR;
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
	struct nsf_tracer_opts opts = { .fn = ignore_event };
	struct nsf_tracer *t = NULL;
	int missing = 0, n;

	nsf_prog = "nsflush-audit";
	parse_args(argc, argv);
	if (!env.check)
		return audit();
	nsf_setup_libbpf();
	if (nsf_check_bpf_prereqs())
		return NSF_EXIT_ERROR;

	if (nsf_tracer_open(&t, &opts) == 0) {
		n = nsf_tracer_hooks(t, &hooks);
		for (int i = 0; i < n; i++) {
			/* A backend this kernel lacks is not a missing hook. */
			bool absent = hooks[i].backend && !nsf_tracer_backend(t, hooks[i].backend);
			const char *status = absent ? "backend-absent" :
					     hooks[i].attached ? "attached" :
					     hooks[i].has_btf ? "attach-failed" : "no-btf";

			printf("hook %-28s %-36s %s", hooks[i].prog, hooks[i].func, status);
			if (hooks[i].stand_in)
				printf(" (optional, covered by %s)\n", hooks[i].stand_in);
			else
				printf("%s\n", !hooks[i].attached && hooks[i].optional ? " (optional)" : "");
			missing += !absent && !hooks[i].attached && !hooks[i].optional;
		}
		for (unsigned int b = NSFLUSH_BACKEND_TYPE1; b < NSFLUSH_BACKEND_NR; b++)
			printf("backend %s %s\n", nsf_backend_name(b),
			       nsf_tracer_backend(t, nsf_backend_name(b)) ? "hooked" : "absent");
		nsf_tracer_close(t);
	} else {
		printf("hooks unavailable\n");
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
