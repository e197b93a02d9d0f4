// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE	/* close_range */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "nsf.h"

const char *nsf_prog = "nsflush";
int nsf_verbose;

/*
 * Is stderr the journal? systemd then sets JOURNAL_STREAM to its
 * "device:inode", and a line starting "<N>" is logged at syslog priority
 * N (sd-daemon(3)): errors at 3, information at 6, libbpf's debug at 7.
 */
static bool stderr_is_journal(void)
{
	static int journal = -1;

	if (journal < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat st;

		journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
			  st.st_dev == dev && st.st_ino == ino;
	}
	return journal;
}

static void priority(int prio)
{
	if (stderr_is_journal())
		fprintf(stderr, "<%d>", prio);
}

static void vline(int prio, const char *fmt, va_list ap)
{
	priority(prio);
	fprintf(stderr, "%s: ", nsf_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void nsf_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(NSF_LOG_ERR, fmt, ap);
	va_end(ap);
}

void nsf_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(NSF_LOG_INFO, fmt, ap);
	va_end(ap);
}

void nsf_usage_error(const char *fmt, ...)
{
	va_list ap;

	priority(NSF_LOG_ERR);
	fprintf(stderr, "%s: ", nsf_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(NSF_EXIT_ERROR);
}

/* The option getopt_long() just rejected, as the user wrote it. */
static const char *bad_option(char **argv)
{
	static char opt[3] = "-?";

	if (optopt) {
		opt[1] = (char)optopt;
		return opt;
	}
	return argv[optind - 1];
}

void nsf_common_option(int c, char **argv, const char *usage)
{
	switch (c) {
	case 'v':
		nsf_verbose++;
		return;
	case 'h':
		fputs(usage, stdout);
		exit(NSF_EXIT_OK);
	case NSF_OPT_VERSION:
		printf("%s %s\n", nsf_prog, NSF_VERSION);
		exit(NSF_EXIT_OK);
	case ':':
		nsf_usage_error("%s needs an argument", bad_option(argv));
	default:
		nsf_usage_error("unknown option %s", bad_option(argv));
	}
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Without -v, libbpf's multi-line chatter would bury our one line. */
	if (!nsf_verbose || (level == LIBBPF_DEBUG && nsf_verbose < 2))
		return 0;
	priority(level == LIBBPF_WARN ? NSF_LOG_WARNING : level == LIBBPF_INFO ? NSF_LOG_INFO :
		 NSF_LOG_DEBUG);
	return vfprintf(stderr, fmt, ap);
}

void nsf_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

int nsf_check_bpf_prereqs(void)
{
	if (geteuid() != 0) {
		nsf_err("must run as root (loads BPF programs)");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		nsf_err("kernel has no BTF (/sys/kernel/btf/vmlinux): needs CONFIG_DEBUG_INFO_BTF=y");
		return -ENOENT;
	}
	return 0;
}

bool nsf_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end)
		return false;
	if (shift && v > (~0ULL >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

pid_t nsf_fork_snapshot(int keep_fd)
{
	pid_t child;

	fflush(NULL);		/* nothing buffered is written twice */
	child = fork();
	if (child)
		return child;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* `systemctl kill -s HUP` signals the whole unit: a reload is the
	 * daemon's business, a half-written textfile would be the child's */
	signal(SIGHUP, SIG_IGN);
	if (keep_fd < 0) {
		close_range(3, ~0U, 0);
	} else {
		if (keep_fd > 3)
			close_range(3, keep_fd - 1, 0);
		close_range(keep_fd + 1, ~0U, 0);
	}
	return 0;
}

bool nsf_parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || *s < '1' || *s > '9')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

bool nsf_proc_start_ticks(uint32_t pid, uint64_t *ticks)
{
	char path[32], buf[1024], *p;
	unsigned long long v;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* comm may hold spaces and ')': fields resume after the last ')'.
	 * From there, starttime is the 20th field (state is the 1st). */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			 "%*d %*d %*d %*d %*d %*d %llu", &v) != 1)
		return false;
	*ticks = v;
	return true;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t nsf_boottime_ticks(uint64_t mono_ns)
{
	uint64_t boot = clock_ns(CLOCK_BOOTTIME), mono = clock_ns(CLOCK_MONOTONIC);
	uint64_t hz = sysconf(_SC_CLK_TCK);

	/* The two clocks differ by the time spent suspended. */
	if (mono_ns)
		boot -= mono - mono_ns;
	return boot / 1000000000ULL * hz + boot % 1000000000ULL * hz / 1000000000ULL;
}

bool nsf_module_btf_loaded(const char *mod)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", mod);
	return access(path, R_OK) == 0;
}

const char *nsf_module_version(const char *mod, char *buf, size_t size)
{
	char path[256];
	FILE *f;

	if (!nsf_module_btf_loaded(mod))
		return NULL;
	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/module/%s/version", mod);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(buf, size, f))
			buf[0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	return buf;
}

#define NSF_MAX_MODULE_BTF 8

struct nsf_kernel_btf {
	struct btf *vmlinux;
	int nr_modules;
	struct {
		char name[64];
		struct btf *btf;	/* NULL: it failed to load */
	} modules[NSF_MAX_MODULE_BTF];
};

struct nsf_kernel_btf *nsf_kernel_btf_open(void)
{
	struct nsf_kernel_btf *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->vmlinux = btf__load_vmlinux_btf();
	if (!k->vmlinux) {
		free(k);
		return NULL;
	}
	return k;
}

void nsf_kernel_btf_close(struct nsf_kernel_btf *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->nr_modules; i++)
		btf__free(k->modules[i].btf);
	btf__free(k->vmlinux);
	free(k);
}

/* Loaded module @mod's BTF (split on vmlinux), parsed on first use; NULL on failure. */
static struct btf *module_btf(struct nsf_kernel_btf *k, const char *mod)
{
	int i;

	for (i = 0; i < k->nr_modules; i++)
		if (!strcmp(k->modules[i].name, mod))
			return k->modules[i].btf;
	if (i == NSF_MAX_MODULE_BTF || strlen(mod) >= sizeof(k->modules[i].name))
		return NULL;
	strcpy(k->modules[i].name, mod);
	k->modules[i].btf = btf__load_module_btf(mod, k->vmlinux);
	k->nr_modules++;
	return k->modules[i].btf;
}

bool nsf_kernel_btf_has_func(struct nsf_kernel_btf *k, const char *func, const char *mod)
{
	struct btf *btf;

	if (!k)
		return false;
	btf = k->vmlinux;
	/* A module that is built in has no BTF of its own: its functions are in vmlinux. */
	if (mod && nsf_module_btf_loaded(mod)) {
		btf = module_btf(k, mod);
		if (!btf)
			return false;
	}
	return btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) > 0;
}
