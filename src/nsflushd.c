// SPDX-License-Identifier: GPL-2.0
/*
 * nsflushd: loads the hooks, keeps per-VMM state from their events, answers
 * nsflush-audit on a root-only socket and keeps a Prometheus textfile.
 *
 * Modes:
 *   audit    record and report; the helper module is not needed
 *   flush    as audit, and the daemon flushes every recorded range itself
 *            through the kfunc; necessarily after the fact: reported "late"
 *   enforce  the BPF programs call the kfunc synchronously right before a
 *            run is mapped into a non-coherent domain and right before an
 *            ever-non-coherently-mapped run is unpinned (the seed series'
 *            points); the daemon records and reports
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/nsf.h"
#include "lib/answer.h"
#include "lib/ctl.h"
#include "lib/flusher.h"
#include "lib/found.h"
#include "lib/notify.h"
#include "lib/pins.h"
#include "lib/state.h"
#include "lib/text.h"
#include "lib/textfile.h"
#include "lib/tracer.h"

#define DEFAULT_TEXTFILE_DIR NSF_TEXTFILE_DEFAULT_DIR
/* The longest an event waits in the ring buffer: the hooks wake the daemon
 * only once an eighth of the ring is full. */
#define DRAIN_MS 100

/* nsflushd's exit status: the unit retries only a runtime failure
 * (RestartPreventExitStatus= the others); --help says the same. */
enum daemon_exit {
	EXIT_STOPPED = 0,	/* stopped by SIGTERM/SIGINT; --unload done */
	EXIT_RUNTIME = 1,	/* failed while starting or running: may pass later */
	EXIT_USAGE = 2,		/* bad option or configuration (nsf_usage_error too) */
	EXIT_UNSUPPORTED = 3,	/* the kernel lacks what is required */
	EXIT_NOPERM = 4,	/* not root */
};

static struct env {
	int mode;		/* enum nsf_mode, -1: choose */
	__u32 pid;
	bool print_events;
	const char *textfile_dir;
	bool textfile_dir_given;
	unsigned int textfile_interval;
	const char *socket;
	__u32 ringbuf_bytes;
	const char *skip_hooks[16];
	int nr_skip_hooks;
	const char *pin_dir;
	bool unload;
	bool flush_found;
} env = {
	.mode = -1,
	.pin_dir = NSF_PIN_DIR_DEFAULT,
	.textfile_dir = DEFAULT_TEXTFILE_DIR,
	.textfile_interval = 15,
	.socket = NSF_CTL_DEFAULT_PATH,
};

static const char usage[] =
"Usage: nsflushd [--mode audit|flush|enforce] [--textfile-dir DIR] [options]\n"
"Record memory that VFIO maps into non-coherent IOMMU domains, flush it at\n"
"the points the 2024 kernel series did (enforce), and report.\n"
"\n"
"  -m, --mode MODE             audit: record only; flush: the daemon flushes\n"
"                              after the fact (reported late); enforce: BPF\n"
"                              flushes synchronously (needs the nsflush module).\n"
"                              Default: enforce if the module is loaded, else audit\n"
"  -t, --textfile-dir DIR      write DIR/nsflush.prom for node_exporter\n"
"                              (default " DEFAULT_TEXTFILE_DIR ";\n"
"                              skipped with a warning if that does not exist)\n"
"  -i, --textfile-interval S   rewrite it every S seconds (default 15)\n"
"  -s, --socket PATH           control socket for nsflush-audit\n"
"                              (default " NSF_CTL_DEFAULT_PATH ")\n"
"  -p, --pid PID               only record this process\n"
"  -r, --ringbuf-size BYTES    event ring buffer size (power of two, >= 4096)\n"
"  -e, --print-events          print each event on stdout\n"
"      --pin-dir DIR           bpffs directory the hooks, maps and ring buffer\n"
"                              are pinned in, so they outlive nsflushd\n"
"                              (default " NSF_PIN_DIR_DEFAULT ")\n"
"      --flush-preexisting     flush now what was found mapped at start with no\n"
"                              flush known (reported late; needs the module)\n"
"      --unload                detach every nsflush hook and remove the pins,\n"
"                              then exit: enforcement stops (refused while\n"
"                              nsflushd runs)\n"
"      --skip-hook FUNC        do not hook kernel function FUNC, as if it were\n"
"                              inlined: a hook with a fallback falls back, a\n"
"                              required one stops the start (repeatable; see\n"
"                              nsflush-audit --check for the hooks)\n"
"  -v, --verbose               libbpf debug output (twice: more)\n"
"  -h, --help                  this text\n"
"      --version               print the version\n"
"\n"
"Stopping nsflushd (SIGTERM, a crash, an upgrade) leaves the hooks attached\n"
"and enforcing; events queue in the pinned ring buffer until nsflushd starts\n"
"again and adopts them. SIGHUP rewrites the textfile and re-checks the\n"
"helper module.\n"
"\n"
"Exit status:\n"
"  0  stopped by SIGTERM or SIGINT (the hooks stay), or --unload done\n"
"  1  runtime failure: another nsflushd runs, pins it cannot adopt, BPF\n"
"     load or event loop errors (a restart may help)\n"
"  2  bad usage: an unknown or invalid option, an unwritable --textfile-dir\n"
"  3  the kernel lacks what is required: BTF, a VFIO backend, a hook with\n"
"     no fallback, or the helper module for --mode flush or enforce\n"
"  4  not permitted: not root\n"
"\n"
"Examples:\n"
"  nsflushd            enforce if the module is loaded, else audit until it is\n"
"  nsflushd --mode audit --textfile-dir /tmp   audit, metrics in /tmp\n"
"  nsflushd --unload   stop enforcing: detach the pinned hooks\n";

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "textfile-dir", required_argument, NULL, 't' },
		{ "textfile-interval", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 's' },
		{ "pid", required_argument, NULL, 'p' },
		{ "ringbuf-size", required_argument, NULL, 'r' },
		{ "print-events", no_argument, NULL, 'e' },
		{ "skip-hook", required_argument, NULL, 'S' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "unload", no_argument, NULL, 'U' },
		{ "flush-preexisting", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, NSF_OPT_VERSION },
		{},
	};
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:t:i:s:p:r:evh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "audit"))
				env.mode = NSF_MODE_AUDIT;
			else if (!strcmp(optarg, "flush"))
				env.mode = NSF_MODE_FLUSH;
			else if (!strcmp(optarg, "enforce"))
				env.mode = NSF_MODE_ENFORCE;
			else
				nsf_usage_error("invalid mode: %s (audit, flush or enforce)", optarg);
			break;
		case 't':
			env.textfile_dir = optarg;
			env.textfile_dir_given = true;
			break;
		case 'i':
			if (!nsf_parse_decimal(optarg, 86400, &v))
				nsf_usage_error("invalid textfile interval: '%s' (1..86400 s)", optarg);
			env.textfile_interval = v;
			break;
		case 's':
			env.socket = optarg;
			break;
		case 'p':
			if (!nsf_parse_decimal(optarg, INT32_MAX, &v))
				nsf_usage_error("invalid pid: '%s' (a decimal process id)", optarg);
			env.pid = v;
			break;
		case 'r':
			/* The kernel wants a power-of-two number of pages. */
			if (!nsf_parse_size(optarg, &v) || v < 4096 || v > (1U << 30) ||
			    (v & (v - 1)))
				nsf_usage_error("invalid ring buffer size: %s (power of two, 4K..1G)",
						optarg);
			env.ringbuf_bytes = v;
			break;
		case 'e':
			env.print_events = true;
			break;
		case 'P':
			env.pin_dir = optarg;
			break;
		case 'U':
			env.unload = true;
			break;
		case 'F':
			env.flush_found = true;
			break;
		case 'S':
			if (env.nr_skip_hooks == (int)(sizeof(env.skip_hooks) / sizeof(env.skip_hooks[0])))
				nsf_usage_error("--skip-hook: at most %zu",
						sizeof(env.skip_hooks) / sizeof(env.skip_hooks[0]));
			env.skip_hooks[env.nr_skip_hooks++] = optarg;
			break;
		default:
			nsf_common_option(c, argv, usage);
		}
	}
	if (optind < argc)
		nsf_usage_error("unexpected argument: %s", argv[optind]);
}

static volatile sig_atomic_t exiting, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		exiting = 1;
}

static struct daemon {
	enum nsf_mode mode;
	struct nsf_state *state;
	struct nsf_tracer *tracer;
	struct nsf_flusher *flusher;	/* flush mode */
	struct nsf_tracer_opts topts;
	bool textfile;
	pid_t textfile_writer;		/* > 0: a child writing it */
} d;

/* Says what was pinned before and what this start did with it. */
static void log_pins(const struct nsf_tracer *t)
{
	const struct nsf_tracer_pins *p = nsf_tracer_pins(t);

	switch (p->how) {
	case NSF_PINS_CREATED:
		nsf_info("pinned %d hooks and their maps in %s", p->hooks, env.pin_dir);
		break;
	case NSF_PINS_KEPT:
		nsf_info("adopted %d pinned hooks in %s: same build, kept", p->old_hooks,
			 env.pin_dir);
		break;
	case NSF_PINS_REPLACED:
		nsf_info("adopted the maps in %s; replaced %d pinned hooks (%s) with this build's %d "
			 "(%s), attached before the old ones were detached", env.pin_dir,
			 p->old_hooks, p->was_enforcing ? "enforcing" : "not enforcing", p->hooks,
			 d.mode == NSF_MODE_ENFORCE ? "enforcing" : "not enforcing");
		break;
	case NSF_PINS_NONE:
		break;
	}
}

/* Says which hooks run on a fallback, once, at start. */
static void log_hooks(const struct nsf_tracer *t)
{
	const struct nsf_hook_status *h;
	int n = nsf_tracer_hooks(t, &h);

	for (int i = 0; i < n; i++) {
		bool dup = false;

		if (h[i].attached || !h[i].optional || h[i].stand_in ||
		    (h[i].backend && !nsf_tracer_backend(t, h[i].backend)))
			continue;
		for (int k = 0; k < i; k++)
			dup |= !strcmp(h[k].func, h[i].func);
		if (!dup)
			nsf_info("%s not hooked (%s): %s", h[i].func,
				 h[i].skipped ? "--skip-hook" : "no BTF", h[i].fallback);
	}
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* " NAME" when the backend's hooks are loaded, else "" */
static const char *backend_word(unsigned int backend)
{
	static char buf[NSFLUSH_BACKEND_NR][24];

	if (!nsf_tracer_backend(d.tracer, nsf_backend_name(backend)))
		return "";
	snprintf(buf[backend], sizeof(buf[0]), " %s", nsf_backend_name(backend));
	return buf[backend];
}

static void count_vmm(void *ctx, const struct nsf_vmm_info *v, const struct nsf_summary *sum)
{
	(void)sum;
	*(unsigned int *)ctx += !v->exited;
}

/* systemctl status's line: the mode and backends, then what is live. */
static void notify_status(const char *prefix)
{
	char mapped[32], unflushed[32];
	struct nsf_summary sum;
	unsigned int vmms = 0;

	nsf_state_summary(d.state, 0, &sum);
	nsf_state_vmms(d.state, 0, count_vmm, &vmms);
	nsf_notify("%sSTATUS=%s mode, backends%s%s; %u VMMs, %s mapped non-coherently, "
		   "%s unflushed", prefix, nsf_mode_name(d.mode),
		   backend_word(NSFLUSH_BACKEND_TYPE1), backend_word(NSFLUSH_BACKEND_IOMMUFD), vmms,
		   nsf_human(sum.live, mapped, sizeof(mapped)),
		   nsf_human(sum.unflushed, unflushed, sizeof(unflushed)));
}

static void print_event(const struct nsflush_event *e)
{
	const char *kind = nsf_event_kind_name(e->kind);

	printf("%s pid=%u comm=%.*s domain=0x%llx container=0x%llx", kind, e->pid,
	       NSFLUSH_COMM_LEN, e->comm, (unsigned long long)e->domain,
	       (unsigned long long)e->container);
	switch (e->kind) {
	case NSFLUSH_EV_ATTACH:
	case NSFLUSH_EV_DETACH:
		printf(" group=%u coherent=%u", e->group, e->coherent);
		break;
	case NSFLUSH_EV_MAP:
	case NSFLUSH_EV_UNMAP:
	case NSFLUSH_EV_UNPIN:
		printf(" iova=0x%llx phys=0x%llx bytes=%llu", (unsigned long long)e->iova,
		       (unsigned long long)e->phys, (unsigned long long)e->bytes);
		if (e->kind == NSFLUSH_EV_MAP)
			printf(" origin=%s ret=%d", nsf_origin_name(e->origin), e->map_ret);
		if (e->flush_state == NSFLUSH_FLUSH_DONE)
			printf(" flush_ret=%d flushed=%llu", e->flush_ret,
			       (unsigned long long)e->flush.flushed_bytes);
		break;
	}
	putchar('\n');
}

/* flush mode: the range is live (or unpinned) already; flush it anyway. */
static void daemon_flush(const struct nsflush_event *e, __u64 ticket)
{
	struct nsflush_flush_result res = {};
	int kret = 0, err;

	if (e->kind == NSFLUSH_EV_MAP && e->map_ret)
		return;
	err = nsf_flush_phys(d.flusher, e->phys, e->bytes, &kret, &res);
	if (err)
		kret = err;
	nsf_state_daemon_flush(d.state, ticket, kret, &res);
}

/* A start-up walk's event, already applied to the state. */
static int on_found(void *ctx, const struct nsflush_event *e, __u64 ticket)
{
	(void)ctx;
	if (env.print_events) {
		print_event(e);
		fflush(stdout);
	}
	if (d.flusher && e->kind == NSFLUSH_EV_MAP && e->flush_state == NSFLUSH_FLUSH_NONE &&
	    (env.flush_found || d.mode == NSF_MODE_FLUSH))
		daemon_flush(e, ticket);
	return 0;
}

/*
 * What was mapped before the hooks went live: found, tracked from now on,
 * reported (pre-existing, or flushed where enforcement has been continuous
 * since before its process started). Without the walk, any process older
 * than the watch audits incomplete.
 */
static void load_found(void)
{
	const struct nsf_tracer_pins *p = nsf_tracer_pins(d.tracer);
	struct nsf_found_stats fs;

	if (nsf_found_load(d.tracer, d.state, p->control.enforce_since_ns, on_found, NULL, &fs)) {
		nsf_err("processes older than this start audit incomplete");
		return;
	}
	nsf_state_set_watch_start(d.state, 0);
	if (fs.domains || fs.unreadable)
		nsf_info("found at start: %u domains, %llu runs, %llu bytes mapped non-coherently "
			 "(%llu of them flushed by continuous enforcement)%s%s", fs.domains,
			 (unsigned long long)fs.runs, (unsigned long long)fs.bytes,
			 (unsigned long long)fs.inferred_bytes,
			 fs.unreadable ? "; unreadable: " : "",
			 fs.unreadable ? "some (their audits are incomplete)" : "");
}

static int on_event(void *ctx, const struct nsflush_event *e)
{
	(void)ctx;
	if (env.print_events) {
		print_event(e);
		fflush(stdout);
	}
	__u64 ticket = nsf_state_event(d.state, e);

	if (d.mode == NSF_MODE_FLUSH &&
	    (e->kind == NSFLUSH_EV_MAP || e->kind == NSFLUSH_EV_UNPIN))
		daemon_flush(e, ticket);
	return 0;
}

/* Everything the kernel said up to now, before answering or writing. */
static void sync_state(void *ctx)
{
	(void)ctx;
	nsf_tracer_poll(d.tracer, 0);
	nsf_state_set_lost(d.state, nsf_tracer_lost(d.tracer));
	nsf_state_set_missed(d.state, nsf_tracer_missed(d.tracer));
	nsf_state_refresh(d.state);
}

/* The control socket's answer (ctl.h), in a child: the report of the state
 * as sync_state() left it. */
static int answer(void *ctx, __u32 pid, bool json, FILE *out)
{
	(void)ctx;
	return nsf_answer_report(d.state, pid, json, out);
}

static const struct nsf_ctl_handler ctl_handler = { .sync = sync_state, .answer = answer };

/* Is the last textfile writer done? (Reaps it.) */
static bool textfile_writer_done(void)
{
	if (d.textfile_writer > 0 && waitpid(d.textfile_writer, NULL, WNOHANG) == 0)
		return false;
	d.textfile_writer = 0;
	return true;
}

/*
 * Rewrites the textfile from every event so far. While the daemon runs, a
 * child writes it from a copy-on-write snapshot (rendering, fsyncs), so
 * event intake never waits on it; a write still going skips this round.
 * @up false: the last write, as the daemon stops, done here.
 */
static void write_textfile(bool up)
{
	struct nsf_textfile_daemon self = { .up = up, .now = time(NULL) };
	char module[64];
	pid_t child;

	if (!d.textfile)
		return;
	if (!up) {
		if (d.textfile_writer > 0)
			waitpid(d.textfile_writer, NULL, 0);
		d.textfile_writer = 0;
	} else if (!textfile_writer_done()) {
		return;
	}
	sync_state(NULL);
	self.module = nsf_module_version("nsflush", module, sizeof(module));
	if (up) {
		child = nsf_fork_snapshot(-1);
		if (child == 0)
			_exit(nsf_textfile_write(env.textfile_dir, d.state, &self) ? 1 : 0);
		if (child > 0) {
			d.textfile_writer = child;
			return;
		}
	}
	nsf_textfile_write(env.textfile_dir, d.state, &self);	/* no child: here */
}

static int choose_mode(void)
{
	bool module = nsf_module_btf_loaded("nsflush");

	if (env.mode < 0) {
		if (module)
			return NSF_MODE_ENFORCE;
		nsf_info("helper module nsflush is not loaded: audit mode, nothing will be flushed "
			 "until it is (then enforce)");
		return NSF_MODE_AUDIT;
	}
	if (env.mode != NSF_MODE_AUDIT && !module) {
		nsf_err("--mode %s needs the helper module nsflush (modprobe nsflush)",
			nsf_mode_name(env.mode));
		return -1;
	}
	return env.mode;
}

/*
 * The default chose audit because the helper module was missing (boot
 * order, DKMS still building): once it is there, enforce. The audit hooks
 * stay pinned and running until the enforcing ones replace them, so no map
 * goes unseen in between; events are drained before and adopted after.
 */
static void enforce_when_module_appears(int epfd)
{
	static bool gave_up;
	struct epoll_event ev = { .events = EPOLLIN };

	if (env.mode >= 0 || d.mode != NSF_MODE_AUDIT || gave_up ||
	    !nsf_module_btf_loaded("nsflush"))
		return;
	sync_state(NULL);
	epoll_ctl(epfd, EPOLL_CTL_DEL, nsf_tracer_fd(d.tracer), NULL);
	nsf_tracer_close(d.tracer);
	d.topts.enforce = true;
	if (nsf_tracer_open(&d.tracer, &d.topts) == 0) {
		d.mode = NSF_MODE_ENFORCE;
		nsf_state_set_mode(d.state, d.mode);
		nsf_info("helper module nsflush is loaded now: enforce mode, the pinned audit hooks "
			 "replaced by enforcing ones");
		notify_status("");
	} else {
		gave_up = true;
		d.topts.enforce = false;
		if (nsf_tracer_open(&d.tracer, &d.topts)) {
			nsf_err("cannot reopen the audit hooks: stopping (the pinned ones stay)");
			d.tracer = NULL;
			exiting = 1;
			return;
		}
		nsf_err("helper module nsflush is loaded but the enforcing hooks did not load: "
			"still audit mode, nothing is flushed");
	}
	ev.data.fd = nsf_tracer_fd(d.tracer);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		nsf_err("event loop: %s", strerror(errno));
}

static int run(void)
{
	struct nsf_tracer_opts *topts = &d.topts;
	struct epoll_event ev = { .events = EPOLLIN };
	__u64 next_write = 0;
	struct nsf_ctl *ctl = NULL;
	int epfd = -1, status = EXIT_RUNTIME, mode, n;

	mode = choose_mode();
	if (mode < 0)
		return EXIT_UNSUPPORTED;
	d.mode = mode;
	if (env.textfile_dir_given || access(env.textfile_dir, F_OK) == 0) {
		if (nsf_textfile_open_dir(env.textfile_dir))
			return EXIT_USAGE;
		d.textfile = true;
	} else {
		nsf_info("textfile dir %s does not exist: no Prometheus textfile", env.textfile_dir);
	}
	d.state = nsf_state_new(d.mode);
	if (!d.state)
		return EXIT_RUNTIME;
	if ((d.mode == NSF_MODE_FLUSH || env.flush_found) && nsf_flusher_open(&d.flusher))
		goto out;
	topts->pid = env.pid;
	topts->ringbuf_bytes = env.ringbuf_bytes;
	topts->fn = on_event;
	topts->enforce = d.mode == NSF_MODE_ENFORCE;
	topts->skip_funcs = env.skip_hooks;
	topts->nr_skip = env.nr_skip_hooks;
	topts->pin_dir = env.pin_dir;
	n = nsf_tracer_open(&d.tracer, topts);
	if (n) {
		status = n == -ENOTSUP ? EXIT_UNSUPPORTED : n == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	log_hooks(d.tracer);
	log_pins(d.tracer);
	/* The record is whole for processes that started after the hooks
	 * went live, or after the last daemon stopped cleanly (the ring
	 * buffer has held every event since); before that, not. */
	nsf_state_set_watch_start(d.state,
				  nsf_boottime_ticks(nsf_tracer_pins(d.tracer)->stopped_ns));
	/* What queued while no daemon ran comes first. */
	n = nsf_tracer_poll(d.tracer, 0);
	if (n > 0)
		nsf_info("drained %d events queued in the pinned ring buffer", n);
	load_found();
	ctl = nsf_ctl_listen(env.socket);
	if (!ctl)
		goto out;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = nsf_tracer_fd(d.tracer);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		goto sys_fail;
	ev.data.fd = nsf_ctl_fd(ctl);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		goto sys_fail;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	nsf_info("ready: mode %s, backends%s%s, socket %s%s%s", nsf_mode_name(d.mode),
		 backend_word(NSFLUSH_BACKEND_TYPE1), backend_word(NSFLUSH_BACKEND_IOMMUFD),
		 env.socket,
		 d.textfile ? ", textfile " : "", d.textfile ? env.textfile_dir : "");
	/* every hook is attached and the backlog drained: systemd may start
	 * the VMMs ordered after us */
	notify_status("READY=1\n");

	while (!exiting) {
		struct epoll_event got[2];
		int n = epoll_wait(epfd, got, 2, DRAIN_MS);

		if (n < 0 && errno != EINTR)
			goto sys_fail;
		/* the hooks wake us only for a batch (shared.bpf.h): drain
		 * whatever waits, on every turn */
		if (nsf_tracer_poll(d.tracer, 0) < 0)
			nsf_err("ring buffer read failed");
		/* also when nothing is ready: clients past their deadline go */
		nsf_ctl_serve(ctl, &ctl_handler);
		enforce_when_module_appears(epfd);
		if (reload) {
			reload = 0;
			nsf_info("SIGHUP: rewriting the textfile; helper module %s",
				 nsf_module_btf_loaded("nsflush") ? "loaded" : "not loaded");
			next_write = 0;
		}
		if (monotonic_ns() >= next_write) {
			write_textfile(true);
			notify_status("");
			next_write = monotonic_ns() + env.textfile_interval * 1000000000ULL;
		}
	}
	nsf_notify("STOPPING=1\nSTATUS=stopping; the hooks stay attached");
	write_textfile(false);
	sync_state(NULL);
	nsf_tracer_mark_stopped(d.tracer);
	nsf_info("stopped; the hooks stay attached in %s ('nsflushd --unload' detaches them)",
		 env.pin_dir);
	status = EXIT_STOPPED;
	goto out;
sys_fail:
	nsf_err("event loop: %s", strerror(errno));
out:
	if (epfd >= 0)
		close(epfd);
	nsf_ctl_close(ctl);
	nsf_tracer_close(d.tracer);
	nsf_flusher_close(d.flusher);
	nsf_state_free(d.state);
	return status;
}

int main(int argc, char **argv)
{
	nsf_prog = "nsflushd";
	parse_args(argc, argv);
	nsf_setup_libbpf();
	if (env.unload) {
		if (geteuid()) {
			nsf_err("must run as root");
			return EXIT_NOPERM;
		}
		if (nsf_pins_unload(env.pin_dir))
			return EXIT_RUNTIME;
		nsf_info("unloaded: every hook pinned in %s is detached", env.pin_dir);
		return EXIT_STOPPED;
	}
	switch (nsf_check_bpf_prereqs()) {
	case 0:
		return run();
	case -EPERM:
		return EXIT_NOPERM;
	default:
		return EXIT_UNSUPPORTED;
	}
}
