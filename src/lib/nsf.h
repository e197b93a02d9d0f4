/* SPDX-License-Identifier: GPL-2.0 */
/* Shared user-space helpers of nsflushd, nsflush-audit and nsflush-flush. */
#ifndef NSF_H
#define NSF_H

/* NSF_VERSION (nsflush_build_info, --version) comes from the Makefile,
 * which reads it from debian/changelog: one version for the tools, the
 * packages and the module. */
#include "version.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>

/* Exit codes shared by every tool. */
enum {
	NSF_EXIT_OK = 0,
	NSF_EXIT_FOUND = 1,	/* the thing asked about was found / failed */
	NSF_EXIT_ERROR = 2,	/* usage or operational error */
};

extern const char *nsf_prog;	/* program name for messages */
extern int nsf_verbose;		/* -v: libbpf debug output */

/* syslog priorities, as journald reads them (nsf.c) */
enum { NSF_LOG_ERR = 3, NSF_LOG_WARNING = 4, NSF_LOG_INFO = 6, NSF_LOG_DEBUG = 7 };

/* One clear line on stderr: "<prog>: <message>"; under systemd, whose
 * journal is stderr (JOURNAL_STREAM), prefixed "<3>" (err) or "<6>" (info)
 * so that journald logs it at that priority. */
void nsf_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nsf_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Usage error: one line "<prog>: <message> (see --help)", exit 2. */
void nsf_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* getopt_long()'s value for --version (every tool has it). */
#define NSF_OPT_VERSION 0x100

/*
 * The options every tool shares (-v, -h, --version) and getopt_long()'s complaints
 * (run it with opterr = 0 and a leading ':' in optstring): call from the
 * default branch of the option switch.
 */
void nsf_common_option(int c, char **argv, const char *usage);

/* Route libbpf's messages through -v. Call once at start. */
void nsf_setup_libbpf(void);

/* Fails with one line unless we can load BPF: root (CAP_BPF+CAP_PERFMON or
 * CAP_SYS_ADMIN) and kernel BTF. */
int nsf_check_bpf_prereqs(void);

/* Parses "4096", "0x1000", "16M", "1G" into *out. False on junk/overflow. */
bool nsf_parse_size(const char *s, uint64_t *out);

/* Parses a plain decimal 1..@max: digits only, no sign, no leading zero,
 * no suffix ("010", "1k", "0x10", "-1", "" are refused). For pids and
 * counts, where a size's syntax would silently mean another number. */
bool nsf_parse_decimal(const char *s, uint64_t max, uint64_t *out);

/*
 * The running kernel's BTF, for asking whether a function is attachable
 * with fentry/fexit. vmlinux and each module's BTF are parsed once: parsing
 * vmlinux BTF costs hundreds of milliseconds under emulation, and startup
 * asks about every hook.
 */
struct nsf_kernel_btf;

/* NULL (errno set) when the kernel has no vmlinux BTF. */
struct nsf_kernel_btf *nsf_kernel_btf_open(void);
void nsf_kernel_btf_close(struct nsf_kernel_btf *k);

/*
 * Does @func have BTF (inlined and static functions the compiler folded away
 * have none) in module @mod, or in vmlinux when @mod is NULL or built in?
 * False when @k is NULL.
 */
bool nsf_kernel_btf_has_func(struct nsf_kernel_btf *k, const char *func, const char *mod);

/*
 * When process @pid started, in clock ticks since boot (proc(5)'s
 * /proc/PID/stat "starttime"). False when it is gone.
 */
bool nsf_proc_start_ticks(uint32_t pid, uint64_t *ticks);

/* CLOCK_MONOTONIC @mono_ns (0: now) in that unit: CLOCK_BOOTTIME in clock
 * ticks, rounded down. */
uint64_t nsf_boottime_ticks(uint64_t mono_ns);

/*
 * fork() for work on a copy-on-write snapshot of the daemon (a report, the
 * textfile) while the daemon goes on. In the child (0 returned): stdio was
 * flushed before, SIGTERM/SIGINT are back to their defaults, SIGHUP is
 * ignored (a unit-wide reload signal is for the daemon), and
 * every fd above 2 but @keep_fd (-1: none) is closed: the daemon's locks,
 * sockets and BPF objects are not the child's to hold. The child ends with
 * _exit(). -1 (errno set) when fork fails.
 */
pid_t nsf_fork_snapshot(int keep_fd);

/* Does module @mod have BTF loaded in the running kernel? */
bool nsf_module_btf_loaded(const char *mod);
/* Its MODULE_VERSION in @buf ("" when it has none), or NULL when it is
 * not loaded (by the test above). */
const char *nsf_module_version(const char *mod, char *buf, size_t size);

#endif /* NSF_H */
