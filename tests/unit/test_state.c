// SPDX-License-Identifier: GPL-2.0
/* The state engine: synthetic event sequences, exact byte counts, reports. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/prom.h"
#include "lib/report.h"
#include "lib/state.h"
#include "check.h"
#include "synth.h"

#define DOM1 SYNTH_DOM
#define DOM2 0xffff888002000000ULL
#define CONT SYNTH_CONT
#define PHYS 0x100000000ULL
#define PID SYNTH_PID

static bool have_python, have_promtool;

static struct nsflush_event ev(__u32 kind, __u64 domain)
{
	return synth_event(kind, domain, 0, 0, 0, false);
}

static void attach(struct nsf_state *s, __u64 domain, __u32 group, bool coherent)
{
	struct nsflush_event e = ev(NSFLUSH_EV_ATTACH, domain);

	e.group = group;
	e.coherent = coherent;
	nsf_state_event(s, &e);
}

/* enforce: the kernel flushed it all before */
static struct nsflush_event map_ev(__u64 domain, __u64 iova, __u64 phys, __u64 bytes,
				   bool flushed)
{
	return synth_event(NSFLUSH_EV_MAP, domain, iova, phys, bytes, flushed);
}

static void map(struct nsf_state *s, __u64 domain, __u64 iova, __u64 phys, __u64 bytes,
		bool flushed)
{
	struct nsflush_event e = map_ev(domain, iova, phys, bytes, flushed);

	nsf_state_event(s, &e);
}

static void unmap(struct nsf_state *s, __u64 domain, __u64 iova, __u64 bytes)
{
	struct nsflush_event e = ev(NSFLUSH_EV_UNMAP, domain);

	e.iova = iova;
	e.bytes = bytes;
	nsf_state_event(s, &e);
}

static struct nsflush_event unpin_ev(__u64 iova, __u64 phys, __u64 bytes, bool flushed)
{
	return synth_event(NSFLUSH_EV_UNPIN, 0, iova, phys, bytes, flushed);
}

static void unpin(struct nsf_state *s, __u64 iova, __u64 phys, __u64 bytes, bool flushed)
{
	struct nsflush_event e = unpin_ev(iova, phys, bytes, flushed);

	nsf_state_event(s, &e);
}

/* The report, as a string the caller frees. */
static char *report(const struct nsf_state *s, __u32 pid, int kind)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (kind == 0)
		nsf_report_json(s, pid, f);
	else if (kind == 1)
		nsf_report_table(s, pid, f);
	else
		nsf_prom_write(s, f);
	fclose(f);
	return buf;
}

static unsigned long long num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(json, pat);
	return p ? strtoull(p + strlen(pat), NULL, 0) : ~0ULL;
}

static int count(const char *hay, const char *needle)
{
	size_t len = strlen(needle);
	int n = 0;

	/* not strstr(): sanitizers make each call O(strlen(hay)) */
	for (const char *p = hay; *p; p++)
		if (*p == *needle && !strncmp(p, needle, len))
			n++;
	return n;
}

/* Runs @cmd on @text through a file; true when it exits 0. */
static bool check_with(const char *cmd, const char *text)
{
	char path[] = "/tmp/test_state.XXXXXX", line[512];
	int fd = mkstemp(path);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	snprintf(line, sizeof(line), "%s < %s > /dev/null 2>/tmp/test_state.err", cmd, path);
	ok = ok && system(line) == 0;
	if (!ok)
		system("cat /tmp/test_state.err");
	unlink(path);
	return ok;
}

static void check_reports(const char *name, const struct nsf_state *s)
{
	char n[128];
	char *j = report(s, 0, 0), *p = report(s, 0, 2);

	snprintf(n, sizeof(n), "%s: JSON well-formed", name);
	if (have_python)
		CHECK(n, check_with("python3 -m json.tool", j), "%s", j);
	snprintf(n, sizeof(n), "%s: promtool check metrics", name);
	if (have_promtool)
		CHECK(n, check_with("promtool check metrics", p), "%s", p);
	free(j);
	free(p);
}

struct want {
	unsigned long long mapped, live, flushed, unflushed, noncoherent, coherent;
};

static void expect(const char *name, const struct nsf_state *s, __u32 pid, struct want w)
{
	char *j = report(s, pid, 0);
	char n[128];

	snprintf(n, sizeof(n), "%s: summary", name);
	CHECK(n, num(j, "mapped_bytes") == w.mapped && num(j, "live_bytes") == w.live &&
	      num(j, "flushed_bytes") == w.flushed &&
	      num(j, "unflushed_bytes") == w.unflushed &&
	      num(j, "noncoherent_domains") == w.noncoherent &&
	      num(j, "coherent_domains") == w.coherent,
	      "mapped %llu live %llu flushed %llu unflushed %llu noncoherent %llu coherent %llu\n%s",
	      num(j, "mapped_bytes"), num(j, "live_bytes"), num(j, "flushed_bytes"),
	      num(j, "unflushed_bytes"), num(j, "noncoherent_domains"),
	      num(j, "coherent_domains"), j);
	free(j);
}

/* MAP 256 MiB as 128 runs of 2 MiB, UNMAP all, UNPIN all. */
static struct nsf_state *lifecycle(enum nsf_mode mode)
{
	struct nsf_state *s = nsf_state_new(mode);
	bool kflush = mode == NSF_MODE_ENFORCE;
	struct nsflush_flush_result res = { 0 };

	attach(s, DOM1, 7, false);
	for (int i = 0; i < 128; i++) {
		struct nsflush_event e = map_ev(DOM1, 0x40000000 + i * 2 * MiB,
						PHYS + i * 2 * MiB, 2 * MiB, kflush);

		__u64 tk = nsf_state_event(s, &e);
		if (mode == NSF_MODE_FLUSH) {
			res.flushed_bytes = e.bytes;
			nsf_state_daemon_flush(s, tk, 0, &res);
		}
	}
	unmap(s, DOM1, 0x40000000, 256 * MiB);
	for (int i = 0; i < 128; i++) {
		struct nsflush_event e = unpin_ev(0x40000000 + i * 2 * MiB,
						  PHYS + i * 2 * MiB, 2 * MiB, kflush);

		__u64 tk = nsf_state_event(s, &e);
		if (mode == NSF_MODE_FLUSH) {
			res.flushed_bytes = e.bytes;
			nsf_state_daemon_flush(s, tk, 0, &res);
		}
	}
	return s;
}

static void test_audit(void)
{
	struct nsf_state *s = lifecycle(NSF_MODE_AUDIT);
	char *j = report(s, PID, 0), *t = report(s, PID, 1);

	expect("audit", s, PID, (struct want){ 256 * MiB, 0, 0, 512 * MiB, 1, 0 });
	CHECK("audit: 2 merged ranges", count(j, "\"phys\"") == 2 &&
	      count(j, "\"reason\": \"no-flush-before-map\"") == 1 &&
	      count(j, "\"reason\": \"no-flush-before-unpin\"") == 1 &&
	      count(j, "\"bytes\": 268435456") == 2, "%s", j);
	CHECK("audit: exit status 1", nsf_state_exit_status(s, PID) == 1, "%d",
	      nsf_state_exit_status(s, PID));
	CHECK("audit: table", strstr(t, "256 MiB (268435456 bytes)") &&
	      strstr(t, "no-flush-before-unpin") && !strstr(t, "INCOMPLETE"), "%s", t);
	CHECK("audit: other pid empty", nsf_state_exit_status(s, 1) == 0 &&
	      !nsf_state_has_pid(s, 1) && nsf_state_has_pid(s, PID), "%s", "no");
	check_reports("audit", s);
	free(j);
	free(t);
	nsf_state_free(s);
}

static void test_enforce(void)
{
	struct nsf_state *s = lifecycle(NSF_MODE_ENFORCE);
	char *j = report(s, 0, 0), *p = report(s, 0, 2);

	expect("enforce", s, 0, (struct want){ 256 * MiB, 0, 512 * MiB, 0, 1, 0 });
	CHECK("enforce: flushed both times, folded: no range listed",
	      count(j, "\"phys\"") == 0 && num(j, "done_bytes") == 256 * MiB &&
	      num(j, "live_runs") == 0, "%s", j);
	CHECK("enforce: exit status 0", nsf_state_exit_status(s, 0) == 0, "%s", "no");
	CHECK("enforce: prom", strstr(p, "nsflush_flushed_bytes_total 536870912\n") &&
	      strstr(p, "nsflush_unflushed_bytes{pid=\"4242\",comm=\"qemu-system-x86\"} 0\n"),
	      "%s", p);
	check_reports("enforce", s);
	free(j);
	free(p);
	nsf_state_free(s);
}

static void test_flush_mode(void)
{
	struct nsf_state *s = lifecycle(NSF_MODE_FLUSH);
	char *j = report(s, 0, 0);

	expect("flush mode", s, 0, (struct want){ 256 * MiB, 0, 512 * MiB, 512 * MiB, 1, 0 });
	CHECK("flush mode: late, twice", count(j, "\"reason\": \"late\"") == 2 &&
	      !strstr(j, "\"reason\": \"no-flush-before") && strstr(j, "\"mode\": \"flush\""), "%s", j);
	free(j);
	nsf_state_free(s);

	/* the daemon's flush failed: still no flush */
	s = nsf_state_new(NSF_MODE_FLUSH);
	attach(s, DOM1, 7, false);
	struct nsflush_event e = map_ev(DOM1, 0, PHYS, 4 * MiB, false);
	struct nsflush_flush_result res = { 0 };

	e.origin = NSFLUSH_ORIGIN_ATTACH;
	__u64 tk = nsf_state_event(s, &e);
	nsf_state_daemon_flush(s, tk, -34, &res);
	expect("flush mode: failed flush", s, 0, (struct want){ 4 * MiB, 4 * MiB, 0, 4 * MiB, 1, 0 });
	j = report(s, 0, 0);
	CHECK("flush mode: failed flush stays no-flush-before-map",
	      strstr(j, "\"origin\": \"attach\"") && strstr(j, "no-flush-before-map"), "%s", j);
	free(j);
	/* a later event in between: the first event's ticket is stale, its
	 * flush changes nothing; the later one's ticket is good */
	e = map_ev(DOM1, 8 * MiB, PHYS + 64 * MiB, 4 * MiB, false);
	__u64 tk2 = nsf_state_event(s, &e);
	res.flushed_bytes = 4 * MiB;
	CHECK("flush mode: a stale ticket is refused", !nsf_state_daemon_flush(s, tk, 0, &res),
	      "%s", "applied");
	expect("flush mode: stale ticket", s, 0,
	       (struct want){ 8 * MiB, 8 * MiB, 0, 8 * MiB, 1, 0 });
	CHECK("flush mode: the fresh ticket applies", nsf_state_daemon_flush(s, tk2, 0, &res),
	      "%s", "refused");
	expect("flush mode: fresh ticket", s, 0,
	       (struct want){ 8 * MiB, 8 * MiB, 4 * MiB, 8 * MiB, 1, 0 });
	j = report(s, 0, 0);
	CHECK("flush mode: one late, one no-flush-before-map",
	      count(j, "\"reason\": \"late\"") == 1 &&
	      count(j, "\"reason\": \"no-flush-before-map\"") == 1, "%s", j);
	free(j);
	nsf_state_free(s);
}

static void test_partial_unmap(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);
	char *j;

	attach(s, DOM1, 7, false);
	map(s, DOM1, 0, PHYS, 16 * MiB, false);
	unmap(s, DOM1, 4 * MiB, 4 * MiB);
	expect("partial unmap", s, 0, (struct want){ 16 * MiB, 12 * MiB, 0, 16 * MiB, 1, 0 });
	j = report(s, 0, 0);
	CHECK("partial unmap: 3 ranges", count(j, "\"phys\"") == 3 &&
	      strstr(j, "\"phys\": \"0x100400000\", \"bytes\": 4194304, \"iova\": \"0x400000\", "
		     "\"domain\": \"0xffff888001000000\", \"origin\": \"map\", "
		     "\"point\": \"map\", \"state\": \"unmapped\""), "%s", j);
	free(j);
	/* unmap straddling two pieces, then the rest */
	unmap(s, DOM1, 2 * MiB, 4 * MiB);
	expect("partial unmap 2", s, 0, (struct want){ 16 * MiB, 10 * MiB, 0, 16 * MiB, 1, 0 });
	unpin(s, 4 * MiB, PHYS + 4 * MiB, 4 * MiB, false);
	expect("partial unpin", s, 0, (struct want){ 16 * MiB, 10 * MiB, 0, 20 * MiB, 1, 0 });
	unmap(s, DOM1, 0, 16 * MiB);
	unpin(s, 0, PHYS, 16 * MiB, false);	/* 4 MiB already unpinned */
	expect("partial: all unpinned", s, 0, (struct want){ 16 * MiB, 0, 0, 32 * MiB, 1, 0 });
	check_reports("partial", s);
	nsf_state_free(s);
}

/* The same pages mapped at two IOVAs at once (QEMU's BIOS at 0xf0000 and
 * 0xffff0000): type1 pins and unpins each mapping on its own, and the
 * module flushes each unpin; so does the report, to the byte. */
static void test_alias(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_ENFORCE);

	attach(s, DOM1, 7, false);
	map(s, DOM1, 0xf0000, PHYS, 64 * 1024, true);
	map(s, DOM1, 0xffff0000, PHYS, 64 * 1024, true);
	expect("alias: both mapped, flushed at each map", s, 0,
	       (struct want){ 128 * 1024, 128 * 1024, 128 * 1024, 0, 1, 0 });
	unmap(s, DOM1, 0xf0000, 64 * 1024);
	unpin(s, 0xf0000, PHYS, 64 * 1024, true);
	expect("alias: the first unpin takes its own mapping only", s, 0,
	       (struct want){ 128 * 1024, 64 * 1024, 192 * 1024, 0, 1, 0 });
	unmap(s, DOM1, 0xffff0000, 64 * 1024);
	unpin(s, 0xffff0000, PHYS, 64 * 1024, true);
	expect("alias: the second unpin's flush is counted too", s, 0,
	       (struct want){ 128 * 1024, 0, 256 * 1024, 0, 1, 0 });
	nsf_state_free(s);

	/* audit: each unpin is a reference point missed */
	s = nsf_state_new(NSF_MODE_AUDIT);
	attach(s, DOM1, 7, false);
	map(s, DOM1, 0xf0000, PHYS, 64 * 1024, false);
	map(s, DOM1, 0xffff0000, PHYS, 64 * 1024, false);
	unmap(s, DOM1, 0, ~0ULL);
	unpin(s, 0xf0000, PHYS, 64 * 1024, false);
	unpin(s, 0xffff0000, PHYS, 64 * 1024, false);
	expect("alias, audit: both maps and both unpins unflushed", s, 0,
	       (struct want){ 128 * 1024, 0, 0, 256 * 1024, 1, 0 });
	check_reports("alias", s);
	nsf_state_free(s);
}

/* iommufd: MAP/UNPIN events of @ioas (the event's container) */
static void fd_event(struct nsf_state *s, __u32 kind, __u64 dom, __u64 ioas, __u64 iova,
		     __u64 phys, __u64 bytes, bool flushed)
{
	struct nsflush_event e = kind == NSFLUSH_EV_UNPIN ? unpin_ev(0, phys, bytes, flushed) :
				 map_ev(dom, iova, phys, bytes, flushed);

	e.backend = NSFLUSH_BACKEND_IOMMUFD;
	e.container = ioas;
	if (kind == NSFLUSH_EV_ATTACH) {
		e = ev(NSFLUSH_EV_ATTACH, dom);
		e.backend = NSFLUSH_BACKEND_IOMMUFD;
		e.container = ioas;
	}
	nsf_state_event(s, &e);
}

/*
 * iommufd, QEMU's BIOS: the same pages mapped twice into one IOAS (two
 * IOAS_MAPs, two pins), each unpinned on its own with no IOVA said: each
 * unpin takes one mapping. IOAS_COPY: the same pinned pages in a second
 * IOAS, unpinned once: it takes both.
 */
static void test_iommufd_alias(void)
{
	const __u64 ioas1 = CONT, ioas2 = CONT + 0x1000, sz = 64 * KiB;

	for (int audit = 0; audit < 2; audit++) {
		struct nsf_state *s = nsf_state_new(audit ? NSF_MODE_AUDIT : NSF_MODE_ENFORCE);

		fd_event(s, NSFLUSH_EV_ATTACH, DOM1, ioas1, 0, 0, 0, false);
		fd_event(s, NSFLUSH_EV_MAP, DOM1, ioas1, 0xffff0000, PHYS, sz, !audit);
		fd_event(s, NSFLUSH_EV_MAP, DOM1, ioas1, 0xf0000, PHYS, sz, !audit);
		unmap(s, DOM1, 0, ~0ULL);
		fd_event(s, NSFLUSH_EV_UNPIN, 0, ioas1, 0, PHYS, sz, !audit);
		expect(audit ? "iommufd alias, audit: the first unpin takes one mapping" :
			       "iommufd alias: the first unpin takes one mapping", s, 0,
		       audit ? (struct want){ 2 * sz, 0, 0, 3 * sz, 1, 0 } :
			       (struct want){ 2 * sz, 0, 3 * sz, 0, 1, 0 });
		fd_event(s, NSFLUSH_EV_UNPIN, 0, ioas1, 0, PHYS, sz, !audit);
		expect(audit ? "iommufd alias, audit: the second unpin the other" :
			       "iommufd alias: the second unpin the other, flushed as counted", s, 0,
		       audit ? (struct want){ 2 * sz, 0, 0, 4 * sz, 1, 0 } :
			       (struct want){ 2 * sz, 0, 4 * sz, 0, 1, 0 });
		nsf_state_free(s);
	}

	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);
	struct nsf_summary sum;

	fd_event(s, NSFLUSH_EV_ATTACH, DOM1, ioas1, 0, 0, 0, false);
	fd_event(s, NSFLUSH_EV_ATTACH, DOM2, ioas2, 0, 0, 0, false);
	fd_event(s, NSFLUSH_EV_MAP, DOM1, ioas1, 0x100000, PHYS, sz, false);
	fd_event(s, NSFLUSH_EV_MAP, DOM2, ioas2, 0x800000, PHYS, sz, false);	/* IOAS_COPY */
	unmap(s, DOM1, 0, ~0ULL);
	unmap(s, DOM2, 0, ~0ULL);
	fd_event(s, NSFLUSH_EV_UNPIN, 0, ioas1, 0, PHYS, sz, false);
	nsf_state_summary(s, 0, &sum);
	CHECK("iommufd IOAS_COPY: one unpin ends both IOASes' runs, one problem a page",
	      sum.live_runs == 0 && sum.by_reason[NSF_REASON_NO_FLUSH_BEFORE_UNPIN] == sz &&
	      sum.by_reason[NSF_REASON_NO_FLUSH_BEFORE_MAP] == 2 * sz,
	      "runs %llu unpin %llu map %llu", (unsigned long long)sum.live_runs,
	      (unsigned long long)sum.by_reason[NSF_REASON_NO_FLUSH_BEFORE_UNPIN],
	      (unsigned long long)sum.by_reason[NSF_REASON_NO_FLUSH_BEFORE_MAP]);
	nsf_state_free(s);
}

static void test_unpin_not_ours(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);

	attach(s, DOM1, 7, false);
	map(s, DOM1, 0x40000000, PHYS, 2 * MiB, false);
	unpin(s, 0x80000000, PHYS + 64 * MiB, 8 * MiB, false);
	unpin(s, 0x80000000, PHYS + 64 * MiB, 8 * MiB, true);
	/* no run, no range; the flush the hooks did is counted (the module's
	 * counter has it) */
	expect("unpin never mapped: no range", s, 0,
	       (struct want){ 2 * MiB, 2 * MiB, 8 * MiB, 2 * MiB, 1, 0 });
	/* an unpin covering more than the run: only the run counts */
	unpin(s, 0x40000000 - MiB, PHYS - MiB, 4 * MiB, false);
	expect("unpin overlapping: run only", s, 0, (struct want){ 2 * MiB, 0, 8 * MiB, 4 * MiB, 1, 0 });
	unpin(s, 0x40000000, PHYS, 2 * MiB, false);	/* again: already unpinned */
	expect("unpin twice: once", s, 0, (struct want){ 2 * MiB, 0, 8 * MiB, 4 * MiB, 1, 0 });
	/* an unknown pid with a known container */
	struct nsflush_event e = unpin_ev(0x40000000, PHYS, 2 * MiB, false);

	e.pid = 1;
	nsf_state_event(s, &e);
	CHECK("unpin: unknown pid ignored", !nsf_state_has_pid(s, 1), "%s", "no");
	nsf_state_free(s);
}

static void test_two_domains(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);
	char *j;

	attach(s, DOM1, 7, true);
	attach(s, DOM2, 8, false);
	attach(s, DOM2, 9, false);
	map(s, DOM1, 0, PHYS, 4 * MiB, false);	/* never sent: robust */
	map(s, DOM2, 0, PHYS, 4 * MiB, false);
	expect("two domains", s, 0, (struct want){ 4 * MiB, 4 * MiB, 0, 4 * MiB, 1, 1 });
	j = report(s, 0, 0);
	CHECK("two domains: coherent listed", strstr(j, "\"coherent\": true, \"groups\": [7]") &&
	      strstr(j, "\"coherent\": false, \"groups\": [8, 9]") &&
	      !strstr(j, "\"domain\": \"0xffff888001000000\", \"origin\""), "%s", j);
	free(j);
	unmap(s, DOM1, 0, 4 * MiB);
	unmap(s, DOM2, 0, 4 * MiB);
	struct nsflush_event d = ev(NSFLUSH_EV_DETACH, DOM2);

	d.group = 8;
	nsf_state_event(s, &d);
	expect("detach one group", s, 0, (struct want){ 4 * MiB, 0, 0, 4 * MiB, 1, 1 });
	d.group = 9;
	nsf_state_event(s, &d);
	expect("detach all groups", s, 0, (struct want){ 4 * MiB, 0, 0, 4 * MiB, 0, 1 });
	d = ev(NSFLUSH_EV_DOMAIN_FREE, DOM2);
	nsf_state_event(s, &d);
	j = report(s, 0, 0);
	CHECK("domain freed: kept", strstr(j, "\"state\": \"freed\"") &&
	      count(j, "\"backend\": \"vfio-type1\"") == 2, "%s", j);
	free(j);
	/* the same id again: a new domain */
	attach(s, DOM2, 8, false);
	expect("domain id reused", s, 0, (struct want){ 4 * MiB, 0, 0, 4 * MiB, 1, 1 });
	check_reports("two domains", s);
	nsf_state_free(s);
}

/* The same pages mapped into two non-coherent domains: one unpin problem. */
static void test_same_phys_two_domains(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);

	attach(s, DOM1, 7, false);
	attach(s, DOM2, 8, false);
	map(s, DOM1, 0, PHYS, 4 * MiB, false);
	map(s, DOM2, 0, PHYS, 4 * MiB, false);
	unmap(s, DOM1, 0, 4 * MiB);
	unmap(s, DOM2, 0, 4 * MiB);
	unpin(s, 0, PHYS, 4 * MiB, false);
	expect("same phys in two domains", s, 0,
	       (struct want){ 8 * MiB, 0, 0, 12 * MiB, 2, 0 });
	nsf_state_free(s);
}

static void test_free_unmaps(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_ENFORCE);
	struct nsflush_event e = ev(NSFLUSH_EV_DOMAIN_FREE, DOM1);

	attach(s, DOM1, 7, false);
	map(s, DOM1, 0, PHYS, 4 * MiB, true);
	nsf_state_event(s, &e);
	expect("domain free unmaps", s, 0, (struct want){ 4 * MiB, 0, 4 * MiB, 0, 0, 0 });
	unpin(s, 0, PHYS, 4 * MiB, true);
	expect("then unpin", s, 0, (struct want){ 4 * MiB, 0, 8 * MiB, 0, 0, 0 });
	nsf_state_free(s);
}

static void test_skipped(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_ENFORCE);
	struct nsflush_event e = map_ev(DOM1, 0, PHYS, 4 * MiB, true);
	char *j, *p;

	attach(s, DOM1, 7, false);
	e.flush.flushed_bytes = 3 * MiB;
	e.flush.skipped_bytes[NSFLUSH_SKIP_NO_PAGE] = MiB;
	nsf_state_event(s, &e);
	expect("skipped", s, 0, (struct want){ 4 * MiB, 4 * MiB, 3 * MiB, MiB, 1, 0 });
	j = report(s, 0, 0);
	p = report(s, 0, 2);
	CHECK("skipped: range", strstr(j, "\"phys\": \"0x100300000\", \"bytes\": 1048576, "
				       "\"iova\": \"0x300000\"") &&
	      strstr(j, "\"flushed_before_map\": false, \"flushed_before_unpin\": false, "
		     "\"reason\": \"skipped-non-ram\""), "%s", j);
	CHECK("skipped: prom", strstr(p, "nsflush_flush_skipped_bytes_total{reason=\"no_page\"} 1048576\n") &&
	      strstr(p, "nsflush_flush_skipped_bytes_total{reason=\"uncached\"} 0\n"), "%s", p);
	free(j);
	free(p);
	/* an all-MMIO run at unpin */
	e = unpin_ev(0, PHYS, 4 * MiB, true);
	e.flush.flushed_bytes = 0;
	e.flush.skipped_bytes[NSFLUSH_SKIP_UNCACHED] = 4 * MiB;
	unmap(s, DOM1, 0, 4 * MiB);
	nsf_state_event(s, &e);
	expect("skipped at unpin", s, 0, (struct want){ 4 * MiB, 0, 3 * MiB, 5 * MiB, 1, 0 });
	/* failed kernel flush */
	e = map_ev(DOM1, 0, PHYS, 4 * MiB, true);
	e.flush_ret = -34;
	e.flush.flushed_bytes = 0;
	nsf_state_event(s, &e);
	expect("flush_ret < 0", s, 0, (struct want){ 8 * MiB, 4 * MiB, 3 * MiB, 9 * MiB, 1, 0 });
	/* failed map */
	e = map_ev(DOM1, 8 * MiB, PHYS, 4 * MiB, false);
	e.map_ret = -12;
	nsf_state_event(s, &e);
	expect("map_ret != 0 ignored", s, 0, (struct want){ 8 * MiB, 4 * MiB, 3 * MiB, 9 * MiB, 1, 0 });
	check_reports("skipped", s);
	nsf_state_free(s);
}

/* skips at unpin over two domains' pieces; daemon flush with skips */
static void test_skipped_more(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_FLUSH);
	struct nsflush_flush_result res = { .flushed_bytes = 3 * MiB };
	struct nsflush_event e;
	char *j;

	attach(s, DOM1, 7, false);
	e = map_ev(DOM1, 0, PHYS, 4 * MiB, false);
	__u64 tk = nsf_state_event(s, &e);
	res.skipped_bytes[NSFLUSH_SKIP_RESERVED] = MiB;
	nsf_state_daemon_flush(s, tk, 0, &res);
	expect("daemon flush skipped", s, 0, (struct want){ 4 * MiB, 4 * MiB, 3 * MiB, 4 * MiB, 1, 0 });
	j = report(s, 0, 0);
	CHECK("daemon flush skipped: late + skipped",
	      strstr(j, "\"bytes\": 3145728, \"iova\": \"0x0\"") &&
	      strstr(j, "\"reason\": \"late\"") &&
	      strstr(j, "\"phys\": \"0x100300000\", \"bytes\": 1048576") &&
	      strstr(j, "\"skipped-non-ram\""), "%s", j);
	free(j);
	nsf_state_free(s);

	s = nsf_state_new(NSF_MODE_ENFORCE);
	attach(s, DOM1, 7, false);
	map(s, DOM1, 0, PHYS, 2 * MiB, true);
	map(s, DOM1, 4 * MiB, PHYS + 4 * MiB, 2 * MiB, true);
	e = unpin_ev(0, PHYS, 8 * MiB, true);	/* 4 MiB of it is ours */
	e.flush.flushed_bytes = 5 * MiB;
	e.flush.skipped_bytes[NSFLUSH_SKIP_NOT_MAPPED] = 3 * MiB;
	nsf_state_event(s, &e);
	expect("unpin skips capped to ours", s, 0,
	       (struct want){ 4 * MiB, 0, 9 * MiB, 3 * MiB, 1, 0 });
	j = report(s, 0, 0);
	CHECK("unpin skips at the end", strstr(j, "\"phys\": \"0x100100000\", \"bytes\": 1048576, "
					       "\"iova\": \"0x100000\"") &&
	      strstr(j, "\"phys\": \"0x100400000\", \"bytes\": 2097152, \"iova\": \"0x400000\", "
		     "\"domain\": \"0xffff888001000000\", \"origin\": \"map\", "
		     "\"point\": \"unpin\", \"state\": \"unpinned\", \"flushed_before_map\": true, "
		     "\"flushed_before_unpin\": false, \"reason\": \"skipped-non-ram\""), "%s", j);
	free(j);
	check_reports("skipped more", s);
	nsf_state_free(s);
}

/* Two VMMs: a pid's report is its own. */
static void test_two_vmms(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);
	struct nsflush_event e = ev(NSFLUSH_EV_ATTACH, DOM2);
	char *j;

	attach(s, DOM1, 7, false);
	map(s, DOM1, 0, PHYS, 4 * MiB, false);
	e.pid = 77;
	strcpy(e.comm, "cloud-hyperviso");
	nsf_state_event(s, &e);
	e = map_ev(DOM2, 0, PHYS + 64 * MiB, 2 * MiB, true);
	e.pid = 77;
	nsf_state_event(s, &e);
	expect("two vmms: pid 77", s, 77, (struct want){ 2 * MiB, 2 * MiB, 2 * MiB, 0, 1, 0 });
	expect("two vmms: all", s, 0, (struct want){ 6 * MiB, 6 * MiB, 2 * MiB, 4 * MiB, 2, 0 });
	CHECK("two vmms: exit status", nsf_state_exit_status(s, 77) == 0 &&
	      nsf_state_exit_status(s, PID) == 1 && nsf_state_exit_status(s, 0) == 1, "%s", "no");
	j = report(s, 77, 0);
	CHECK("two vmms: filtered", strstr(j, "\"pid\": 77,") && !strstr(j, "4242") &&
	      count(j, "\"domain\": ") == 2, "%s", j);
	free(j);
	check_reports("two vmms", s);
	nsf_state_free(s);
}

static void test_lost(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_ENFORCE);
	char *j, *t, *p;

	attach(s, DOM1, 7, false);
	map(s, DOM1, 0, PHYS, 4 * MiB, true);
	nsf_state_set_lost(s, 5);
	j = report(s, 0, 0);
	t = report(s, 0, 1);
	p = report(s, 0, 2);
	CHECK("lost: exit status 3", nsf_state_exit_status(s, 0) == 3 &&
	      nsf_state_exit_status(s, PID) == 3, "%s", "no");
	CHECK("lost: incomplete", strstr(j, "\"complete\": false") &&
	      num(j, "lost_events") == 5 && strstr(t, "INCOMPLETE") &&
	      strstr(p, "nsflush_events_lost_total 5\n"), "%s%s", j, t);
	check_reports("lost", s);
	free(j);
	free(t);
	free(p);
	nsf_state_free(s);
}

/* comm with quotes, backslash, newline, a cut UTF-8 sequence */
static void test_escaping(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);
	struct nsflush_event e = ev(NSFLUSH_EV_ATTACH, DOM1);
	char *j, *p;

	memcpy(e.comm, "q\"e\\m\nu\t\xc3\xa9\xe2\x82", 13);
	nsf_state_event(s, &e);
	map(s, DOM1, 0, PHYS, 4 * KiB, false);	/* comm of map events wins: set it back */
	e.kind = NSFLUSH_EV_MAP;
	e.bytes = 4 * KiB;
	e.phys = PHYS + MiB;
	e.iova = MiB;
	nsf_state_event(s, &e);
	j = report(s, 0, 0);
	p = report(s, 0, 2);
	CHECK("escaping: JSON", strstr(j, "\"comm\": \"q\\\"e\\\\m\\nu\\t\xc3\xa9\xef\xbf\xbd"),
	      "%s", j);
	CHECK("escaping: prom", strstr(p, "comm=\"q\\\"e\\\\m\\nu\t\xc3\xa9\xef\xbf\xbd"), "%s", p);
	check_reports("escaping", s);
	free(j);
	free(p);
	nsf_state_free(s);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Many small runs: separate 4 KiB maps/unmaps/unpins, and 100k runs. */
static void test_scale(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);
	double t0 = now(), dt;
	char *j;

	attach(s, DOM1, 7, false);
	for (int i = 0; i < 4096; i++)
		map(s, DOM1, i * 4 * KiB, PHYS + i * 4 * KiB, 4 * KiB, false);
	for (int i = 0; i < 4096; i++)
		unmap(s, DOM1, i * 4 * KiB, 4 * KiB);
	for (int i = 0; i < 4096; i++)
		unpin(s, i * 4 * KiB, PHYS + i * 4 * KiB, 4 * KiB, false);
	expect("4096 x 4 KiB", s, 0, (struct want){ 16 * MiB, 0, 0, 32 * MiB, 1, 0 });
	j = report(s, 0, 0);
	CHECK("4096 x 4 KiB: merged", count(j, "\"phys\"") == 2, "%d ranges", count(j, "\"phys\""));
	free(j);
	nsf_state_free(s);

	/* 100k runs, phys descending (as the buddy allocator often hands them
	 * out), not contiguous: no merging */
	s = nsf_state_new(NSF_MODE_AUDIT);
	attach(s, DOM1, 7, false);
	for (__u64 i = 0; i < 100000; i++)
		map(s, DOM1, i * 4 * KiB, PHYS + (100000 - i) * 8 * KiB, 4 * KiB, false);
	unmap(s, DOM1, 0, 100000 * 4 * KiB);
	for (__u64 i = 0; i < 100000; i++)
		unpin(s, i * 4 * KiB, PHYS + (100000 - i) * 8 * KiB, 4 * KiB, false);
	j = report(s, 0, 0);
	dt = now() - t0;
	CHECK("100k runs: counts", num(j, "unflushed_bytes") == 2 * 100000 * 4 * KiB &&
	      count(j, "\"phys\"") == 200000, "%llu", num(j, "unflushed_bytes"));
	CHECK("100k runs: fast", dt < 10, "%.1f s", dt);
	free(j);
	nsf_state_free(s);
}

static void test_refresh(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_ENFORCE);
	char *p;

	/* this process is alive; the others never existed */
	for (__u32 i = 0; i < 70; i++) {
		struct nsflush_event e = ev(NSFLUSH_EV_ATTACH, DOM1 + i * 0x1000);

		e.pid = 0x3ffffff0 - i;
		nsf_state_event(s, &e);
		e = map_ev(DOM1 + i * 0x1000, 0, PHYS, MiB, true);
		e.pid = 0x3ffffff0 - i;
		nsf_state_event(s, &e);
	}
	struct nsflush_event e = ev(NSFLUSH_EV_ATTACH, DOM2);

	e.pid = getpid();
	nsf_state_event(s, &e);
	nsf_state_refresh(s);
	p = report(s, 0, 0);
	CHECK("refresh: exited kept up to the cap", count(p, "\"exited\": true") == 64 &&
	      count(p, "\"exited\": false") == 1 && !nsf_state_has_pid(s, 0x3ffffff0) &&
	      nsf_state_has_pid(s, 0x3ffffff0 - 69) && nsf_state_has_pid(s, getpid()),
	      "%s", p);
	free(p);
	p = report(s, 0, 2);
	CHECK("refresh: counters monotonic", strstr(p, "nsflush_flushed_bytes_total 73400320\n"),
	      "%s", p);
	free(p);
	check_reports("refresh", s);
	nsf_state_free(s);
}

/* iommufd: a HWPT joins its IOAS before any device (ATTACH with group 0),
 * is filled (origin attach), then a group attaches; unpins name the IOAS. */
static void test_iommufd_hwpt(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);
	struct nsflush_event e = ev(NSFLUSH_EV_ATTACH, DOM1);
	char *j;

	e.backend = NSFLUSH_BACKEND_IOMMUFD;
	nsf_state_event(s, &e);
	e = map_ev(DOM1, 0x100000, PHYS, 2 * MiB, false);
	e.backend = NSFLUSH_BACKEND_IOMMUFD;
	e.origin = NSFLUSH_ORIGIN_ATTACH;
	nsf_state_event(s, &e);
	j = report(s, 0, 0);
	CHECK("iommufd: a HWPT with no device lists no group",
	      strstr(j, "\"backend\": \"iommufd\", \"container\": \"0xffff888003000000\", "
			"\"coherent\": false, \"groups\": [], \"devices\": [], \"state\": \"attached\"") &&
	      strstr(j, "\"origin\": \"attach\""), "%s", j);
	free(j);
	e = ev(NSFLUSH_EV_ATTACH, DOM1);
	e.backend = NSFLUSH_BACKEND_IOMMUFD;
	e.group = 5;
	nsf_state_event(s, &e);
	j = report(s, 0, 0);
	CHECK("iommufd: then its group", strstr(j, "\"groups\": [5]"), "%s", j);
	free(j);
	unmap(s, DOM1, 0x100000, 2 * MiB);
	e = unpin_ev(0, PHYS, 2 * MiB, false);
	e.pid = PID + 1;	/* another task: found by the IOAS */
	e.backend = NSFLUSH_BACKEND_IOMMUFD;
	nsf_state_event(s, &e);
	expect("iommufd: unpin found by IOAS", s, PID, (struct want){ 2 * MiB, 0, 0, 4 * MiB, 1, 0 });
	check_reports("iommufd", s);
	nsf_state_free(s);
}

int main(void)
{
	have_python = system("python3 -c '' > /dev/null 2>&1") == 0;
	have_promtool = system("promtool --version > /dev/null 2>&1") == 0;
	if (!have_python)
		printf("SKIP JSON validation: no python3\n");
	if (!have_promtool)
		printf("SKIP promtool check metrics: no promtool\n");
	test_audit();
	test_enforce();
	test_flush_mode();
	test_partial_unmap();
	test_unpin_not_ours();
	test_alias();
	test_iommufd_alias();
	test_two_domains();
	test_same_phys_two_domains();
	test_iommufd_hwpt();
	test_free_unmaps();
	test_skipped();
	test_skipped_more();
	test_two_vmms();
	test_lost();
	test_escaping();
	test_scale();
	test_refresh();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
