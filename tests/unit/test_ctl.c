// SPDX-License-Identifier: GPL-2.0
/*
 * nsflushd's control socket: request/response round trips against a real
 * nsf_state fed synthetic events, the error answers, the socket's
 * permissions, stale and live sockets (the lock), silent and slow
 * clients and a flood of them (none may hold up the loop), a server that
 * is not root.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include "check.h"
#include "lib/answer.h"
#include "lib/ctl.h"
#include "lib/state.h"

#define VMM_NONCOHERENT	4242	/* attached a non-coherent domain, mapped */
#define VMM_COHERENT	4343	/* attached a coherent domain only */
#define NO_SUCH_PID	2147483646u	/* above any pid_max */

static struct server {
	struct nsf_ctl *ctl;
	struct nsf_state *s;
	volatile int stop;
	int syncs;
	long long longest_ms;	/* the longest nsf_ctl_serve() call */
	pthread_mutex_t lock;	/* the state: events fed while serving */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* nsflushd's handler, with the sync counted instead of a ring buffer */
static void sync_cb(void *ctx)
{
	((struct server *)ctx)->syncs++;
}

static int answer(void *ctx, __u32 pid, bool json, FILE *out)
{
	(void)ctx;
	return nsf_answer_report(srv.s, pid, json, out);
}

static const struct nsf_ctl_handler handler = { .sync = sync_cb, .answer = answer, .ctx = &srv };

/* The daemon's loop: wakes when the control fd is readable, and at least
 * every 50 ms (deadlines). */
static void *serve(void *arg)
{
	(void)arg;
	while (!srv.stop) {
		struct pollfd p = { .fd = nsf_ctl_fd(srv.ctl), .events = POLLIN };
		long long t0;

		poll(&p, 1, 50);
		pthread_mutex_lock(&srv.lock);
		t0 = now_ms();
		nsf_ctl_serve(srv.ctl, &handler);
		if (now_ms() - t0 > srv.longest_ms)
			srv.longest_ms = now_ms() - t0;
		pthread_mutex_unlock(&srv.lock);
	}
	return NULL;
}

static void feed(struct nsf_state *s)
{
	struct nsflush_event e = {
		.kind = NSFLUSH_EV_ATTACH, .pid = VMM_NONCOHERENT, .ts_ns = 100,
		.container = 0xc1, .domain = 0xd1, .group = 7,
		.backend = NSFLUSH_BACKEND_TYPE1, .coherent = 0, .comm = "vmm-nc",
	};

	nsf_state_event(s, &e);
	e.kind = NSFLUSH_EV_MAP;
	e.ts_ns = 200;
	e.done_ns = 210;
	e.iova = 0x100000;
	e.phys = 0x200000000ULL;
	e.bytes = 0x200000;
	e.origin = NSFLUSH_ORIGIN_MAP;
	nsf_state_event(s, &e);

	memset(&e, 0, sizeof(e));
	e.kind = NSFLUSH_EV_ATTACH;
	e.pid = VMM_COHERENT;
	e.ts_ns = 300;
	e.container = 0xc2;
	e.domain = 0xd2;
	e.group = 8;
	e.backend = NSFLUSH_BACKEND_TYPE1;
	e.coherent = 1;
	strcpy(e.comm, "vmm-c");
	nsf_state_event(s, &e);
}

/* One report through the client helper; body in *body (caller frees). */
static int report(const char *path, __u32 pid, bool json, int *status, char **body)
{
	size_t size = 0;
	FILE *out = open_memstream(body, &size);
	int err = nsf_ctl_report(path, pid, json, out, status, 5000);

	fclose(out);
	return err;
}

/* A raw request; the whole answer in *ans (caller frees). */
static int raw(const char *path, const char *req, size_t len, char **ans)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t size = 0;
	FILE *out = open_memstream(ans, &size);
	char buf[4096];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fclose(out);
		return -errno;
	}
	if (write(fd, req, len) != (ssize_t)len) {
		close(fd);
		fclose(out);
		return -EIO;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, out);
	close(fd);
	fclose(out);
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int clients(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = nsf_ctl_clients(srv.ctl);
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* build/nsflush-audit next to this build/tests/test_ctl, if built. */
static char audit_bin[PATH_MAX];

static bool find_audit(void)
{
	char self[PATH_MAX - 32], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	snprintf(audit_bin, sizeof(audit_bin), "%s/../nsflush-audit", self);
	return access(audit_bin, X_OK) == 0;
}

/*
 * Runs nsflush-audit ARGS (as uid 65534 when @nobody); returns its exit
 * status (-1: did not exit), its stdout in *out and the number of stderr
 * lines in *errlines, the first one in errline.
 */
static int run_audit(bool nobody, char **out, int *errlines, char *errline, size_t elen,
		     const char *const *args)
{
	int po[2], pe[2], status;
	char *argv[16] = { audit_bin };
	size_t osize = 0, i;
	FILE *o, *e;
	char buf[512];
	pid_t pid;

	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	if (pipe(po) || pipe(pe))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		if (nobody && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(99);
		execv(audit_bin, argv);
		_exit(98);
	}
	close(po[1]);
	close(pe[1]);
	o = open_memstream(out, &osize);
	e = fdopen(pe[0], "r");
	/* stdout first: the report fits in the pipe or stderr is empty */
	for (ssize_t n; (n = read(po[0], buf, sizeof(buf))) > 0;)
		fwrite(buf, 1, n, o);
	fclose(o);
	close(po[0]);
	*errlines = 0;
	errline[0] = '\0';
	while (fgets(buf, sizeof(buf), e)) {
		if (!(*errlines)++) {
			strncpy(errline, buf, elen - 1);
			errline[elen - 1] = '\0';
		}
	}
	fclose(e);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* nsflush-audit against the test daemon: exit codes and one-line errors. */
static void test_audit_cli(const char *path, const char *dir)
{
	static const struct {
		const char *name;
		bool nobody;
		int rc;
		const char *err;	/* expected in the one stderr line; NULL: none */
		const char *args[6];
	} cases[] = {
		{ "--pid of a VMM with unflushed ranges", false, 1, NULL,
		  { "--pid", "4242", "--socket", "@" } },
		{ "--pid --json", false, 1, NULL, { "--pid", "4242", "--json", "--socket", "@" } },
		{ "--pid of a coherent-only VMM", false, 0, NULL, { "-p", "4343", "-s", "@" } },
		{ "--all", false, 1, NULL, { "--all", "--socket", "@" } },
		{ "--pid of no process", false, 2, "no such pid: 2147483646",
		  { "--pid", "2147483646", "--socket", "@" } },
		{ "no daemon", false, 2, "nsflushd is not running (no socket at",
		  { "--all", "--socket", "#" } },
		{ "not root", true, 2, "permission denied on", { "--all", "--socket", "@" } },
		{ "no --pid/--all/--check", false, 2, "nothing to do", { "--json", "--socket", "@" } },
		{ "--pid and --all", false, 2, "exclude each other", { "--pid", "1", "--all" } },
		{ "bad pid", false, 2, "invalid pid: '12x'", { "--pid", "12x" } },
		{ "pid 0", false, 2, "invalid pid: '0'", { "--pid", "0" } },
		{ "pid 010 (not octal, not 10)", false, 2, "invalid pid: '010'", { "--pid", "010" } },
		{ "pid 1k (not a size)", false, 2, "invalid pid: '1k'", { "--pid", "1k" } },
		{ "pid 0x10", false, 2, "invalid pid: '0x10'", { "--pid", "0x10" } },
		{ "pid -1", false, 2, "invalid pid: '-1'", { "--pid", "-1" } },
		{ "empty pid", false, 2, "invalid pid: ''", { "--pid", "" } },
		{ "unknown option", false, 2, "unknown option --frobnicate", { "--frobnicate" } },
		{ "missing argument", false, 2, "needs an argument", { "--all", "--socket" } },
		{ "--check with --all", false, 2, "--check", { "--check", "--all" } },
		{ "stray argument", false, 2, "unexpected argument: x", { "--all", "x" } },
	};
	char nosock[160], name[128], errline[256];

	snprintf(nosock, sizeof(nosock), "%s/nothing-here.sock", dir);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *args[8] = { 0 };
		char *out = NULL;
		int rc, lines;

		if (cases[c].nobody && geteuid() != 0) {
			printf("SKIP audit CLI: %s: needs root\n", cases[c].name);
			continue;
		}
		for (int i = 0; cases[c].args[i]; i++)
			args[i] = !strcmp(cases[c].args[i], "@") ? path :
				  !strcmp(cases[c].args[i], "#") ? nosock : cases[c].args[i];
		rc = run_audit(cases[c].nobody, &out, &lines, errline, sizeof(errline), args);
		snprintf(name, sizeof(name), "audit CLI: %s: exit %d%s", cases[c].name, cases[c].rc,
			 cases[c].err ? ", one line" : ", report on stdout");
		if (cases[c].err)
			CHECK(name, rc == cases[c].rc && lines == 1 &&
			      !strncmp(errline, "nsflush-audit: ", 15) &&
			      strstr(errline, cases[c].err) && !*out,
			      "exit %d, %d stderr lines ('%s'), %zu bytes on stdout", rc, lines,
			      errline, strlen(out));
		else
			CHECK(name, rc == cases[c].rc && lines == 0 && *out,
			      "exit %d, %d stderr lines ('%s'), %zu bytes on stdout", rc, lines,
			      errline, strlen(out));
		free(out);
	}
}

/* A server run by uid 65534 in a directory of its own: the client
 * refuses its answer (-EBADE), nsflush-audit says so in one line. */
static void test_not_root_server(void)
{
	char dir[] = "/tmp/nsf-ctl-nobody.XXXXXX", path[96], ready[128], *body = NULL;
	int st = -1, err, sync[2];
	pid_t pid;

	if (!mkdtemp(dir) || chmod(dir, 0777) || pipe(sync)) {
		CHECK("a server that is not root: setup", false, "%s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/s/nsflushd.sock", dir);
	pid = fork();
	if (pid == 0) {
		struct nsf_ctl *c;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(99);
		c = nsf_ctl_listen(path);
		if (write(sync[1], c ? "y" : "n", 1) != 1 || !c)
			_exit(1);
		for (;;) {	/* answers like any nsflushd, until killed */
			struct pollfd p = { .fd = nsf_ctl_fd(c), .events = POLLIN };

			poll(&p, 1, 50);
			nsf_ctl_serve(c, &handler);
		}
	}
	ready[0] = 'n';
	if (read(sync[0], ready, 1) != 1 || ready[0] != 'y') {
		CHECK("a server that is not root: it listens", false, "%c", ready[0]);
	} else {
		err = report(path, 0, true, &st, &body);
		CHECK("a server that is not root: the client refuses the answer (EBADE)",
		      err == -EBADE, "got %d", err);
		free(body);
		if (audit_bin[0] && access(audit_bin, X_OK) == 0) {
			const char *args[] = { "--all", "--socket", path, NULL };
			char errline[256], *out = NULL;
			int lines, rc = run_audit(false, &out, &lines, errline, sizeof(errline), args);

			CHECK("audit CLI: a server that is not root: exit 2, one line",
			      rc == 2 && lines == 1 && strstr(errline, "is not root") && !*out,
			      "exit %d, %d lines ('%s')", rc, lines, errline);
			free(out);
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(sync[0]);
	close(sync[1]);
	snprintf(ready, sizeof(ready), "rm -rf %s", dir);
	if (system(ready))
		CHECK("a server that is not root: cleanup", false, "%s", dir);
}

int main(void)
{
	char dir[] = "/tmp/nsf-ctl.XXXXXX", sub[64], path[96], req[512];
	char *body = NULL, *ans = NULL;
	int err, st = -1, syncs, silent[4], slow, flood[100], busy, n, wst;
	struct nsf_ctl *ctl2;
	struct stat sst;
	long long t0;
	pthread_t th;
	pid_t pid;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sub, sizeof(sub), "%s/run", dir);
	snprintf(path, sizeof(path), "%s/nsflushd.sock", sub);

	srv.s = nsf_state_new(NSF_MODE_AUDIT);
	feed(srv.s);

	srv.ctl = nsf_ctl_listen(path);
	CHECK("listen on a fresh path", srv.ctl != NULL, "errno %d", errno);
	if (!srv.ctl)
		return 1;
	CHECK("socket directory created 0700",
	      stat(sub, &sst) == 0 && S_ISDIR(sst.st_mode) && (sst.st_mode & 07777) == 0700,
	      "mode %o", sst.st_mode & 07777);
	CHECK("socket is 0600",
	      lstat(path, &sst) == 0 && S_ISSOCK(sst.st_mode) && (sst.st_mode & 07777) == 0600,
	      "mode %o", sst.st_mode & 07777);
	pthread_create(&th, NULL, serve, NULL);

	/* A second daemon must not steal a live socket, however busy. */
	ctl2 = nsf_ctl_listen(path);
	CHECK("a second listen on a live socket fails with EADDRINUSE",
	      !ctl2 && errno == EADDRINUSE, "got %p, errno %d", (void *)ctl2, errno);
	nsf_ctl_close(ctl2);

	err = report(path, VMM_NONCOHERENT, true, &st, &body);
	CHECK("json report of a VMM with unflushed mappings: status 1",
	      err == 0 && st == 1 && body && body[0] == '{', "err %d status %d body %.60s",
	      err, st, body ? body : "");
	CHECK("... still answered after the failed second listen", err == 0, "err %d", err);
	free(body);

	err = report(path, VMM_NONCOHERENT, false, &st, &body);
	CHECK("table report: status 1, non-empty body",
	      err == 0 && st == 1 && body && *body && body[0] != '{',
	      "err %d status %d body %.60s", err, st, body ? body : "");
	free(body);

	err = report(path, VMM_COHERENT, true, &st, &body);
	CHECK("VMM with only a coherent domain: status 0", err == 0 && st == 0,
	      "err %d status %d", err, st);
	free(body);

	err = report(path, 0, true, &st, &body);
	CHECK("pid 0 (every VMM): status 1", err == 0 && st == 1 && body && body[0] == '{',
	      "err %d status %d", err, st);
	free(body);

	err = report(path, NO_SUCH_PID, true, &st, &body);
	CHECK("unknown pid without /proc entry: status 2, 'no such pid'",
	      err == 0 && st == 2 && body && !strcmp(body, "no such pid: 2147483646\n"),
	      "err %d status %d body '%s'", err, st, body ? body : "");
	free(body);

	err = report(path, getpid(), true, &st, &body);
	CHECK("live process that never used VFIO: empty report, status 0",
	      err == 0 && st == 0 && body && body[0] == '{', "err %d status %d", err, st);
	free(body);

	syncs = srv.syncs;
	CHECK("sync ran before each valid answer", syncs == 6, "%d syncs", syncs);

	/* Bad requests: one line, status 2, no sync. */
	const char *bad[] = {
		"bogus\n", "report\n", "report 12\n", "report abc json\n",
		"report -1 json\n", "report 1 xml\n", "report 1 json extra\n",
		"report 99999999999 json\n", "report +5 json\n", "report 010 json\n",
		"report 0x10 json\n", "report 1k json\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[96];
		char *nl;

		err = raw(path, bad[i], strlen(bad[i]), &ans);
		nl = ans ? strchr(ans, '\n') : NULL;
		snprintf(name, sizeof(name), "bad request '%.*s': status 2 + one line",
			 (int)strlen(bad[i]) - 1, bad[i]);
		CHECK(name, err == 0 && !strncmp(ans, "status 2\nbad request: ", 22) &&
		      nl && strchr(nl + 1, '\n') && !strchr(nl + 1, '\n')[1],
		      "err %d answer '%s'", err, ans ? ans : "");
		free(ans);
	}
	memset(req, 'x', sizeof(req) - 1);
	req[sizeof(req) - 1] = '\n';
	err = raw(path, req, sizeof(req), &ans);
	CHECK("over-long request: status 2", err == 0 && !strncmp(ans, "status 2\n", 9),
	      "err %d answer '%.40s'", err, ans ? ans : "");
	free(ans);
	CHECK("no sync for bad requests", srv.syncs == syncs, "%d syncs", srv.syncs - syncs);

	/* Silent clients (connect, say nothing) and a slow reader of a big
	 * answer: the next answer is not held up, nor is the loop. */
	for (int i = 0; i < 4; i++)
		silent[i] = connect_to(path);
	pthread_mutex_lock(&srv.lock);
	for (__u64 i = 0; i < 100000; i++) {	/* a report of about 20 MB */
		struct nsflush_event e = {
			.kind = NSFLUSH_EV_MAP, .pid = VMM_NONCOHERENT, .ts_ns = 1000 + i,
			.done_ns = 1000 + i, .container = 0xc1, .domain = 0xd1,
			.backend = NSFLUSH_BACKEND_TYPE1, .iova = 0x10000000 + 2 * i * 4096,
			.phys = 0x300000000ULL + 2 * i * 4096, .bytes = 4096,
			.origin = NSFLUSH_ORIGIN_MAP, .comm = "vmm-nc",
		};

		nsf_state_event(srv.s, &e);
	}
	srv.longest_ms = 0;
	pthread_mutex_unlock(&srv.lock);
	slow = connect_to(path);
	snprintf(req, sizeof(req), "report %u json\n", VMM_NONCOHERENT);
	CHECK("slow reader: request sent", write(slow, req, strlen(req)) == (ssize_t)strlen(req),
	      "%s", strerror(errno));
	usleep(300 * 1000);	/* answered, its buffer waiting for the reader */
	t0 = now_ms();
	err = report(path, VMM_COHERENT, true, &st, &body);
	t0 = now_ms() - t0;
	CHECK("4 silent clients and a slow reader do not delay another answer",
	      err == 0 && st == 0 && t0 < 500, "err %d status %d after %lld ms", err, st, t0);
	free(body);
	usleep(200 * 1000);	/* that answer's child reaped */
	n = clients();
	CHECK("... they are being served side by side", n == 5, "%d clients", n);
	{
		char buf[4096];
		ssize_t got = read(slow, buf, sizeof(buf));

		CHECK("slow reader: gets its answer's start (status 1)",
		      got > 9 && !strncmp(buf, "status 1\n{", 10), "read %zd: %.20s", got, buf);
	}
	usleep((NSF_CTL_REQUEST_MS + 300) * 1000);
	n = clients();
	CHECK("silent clients dropped after NSF_CTL_REQUEST_MS; the slow reader kept", n == 1,
	      "%d clients", n);
	for (int i = 0; i < 4; i++) {
		char c;

		CHECK("a dropped silent client sees EOF", silent[i] >= 0 && read(silent[i], &c, 1) == 0,
		      "client %d", i);
		close(silent[i]);
	}
	close(slow);
	for (int i = 0; i < 50 && (n = clients()); i++)
		usleep(100 * 1000);
	CHECK("a reader that goes away is dropped", n == 0, "%d clients", n);

	/* 100 connections at once: 64 are served, the rest told "busy", and
	 * the server keeps answering. */
	for (int i = 0; i < 100; i++)
		flood[i] = connect_to(path);
	usleep(300 * 1000);
	busy = 0;
	for (int i = 0; i < 100; i++) {
		char buf[32] = "";

		if (flood[i] >= 0 && recv(flood[i], buf, sizeof(buf) - 1, MSG_DONTWAIT) > 0 &&
		    !strcmp(buf, "status 2\nbusy\n"))
			busy++;
	}
	n = clients();
	CHECK("100 connections at once: NSF_CTL_MAX_CLIENTS served, the others told busy",
	      n == NSF_CTL_MAX_CLIENTS && busy == 100 - NSF_CTL_MAX_CLIENTS,
	      "%d served, %d busy", n, busy);
	for (int i = 0; i < 100; i++)
		close(flood[i]);
	usleep(200 * 1000);
	err = report(path, VMM_COHERENT, true, &st, &body);
	CHECK("... and the server answers the next client", err == 0 && st == 0,
	      "err %d status %d", err, st);
	free(body);
	CHECK("the loop never waited on a client, nor on rendering a 20 MB report: "
	      "every serve call under 100 ms", srv.longest_ms < 100, "longest %lld ms",
	      srv.longest_ms);

	if (find_audit())
		test_audit_cli(path, dir);
	else
		printf("SKIP audit CLI: no nsflush-audit next to this test's directory\n");

	/* Lost events make the audit incomplete. */
	pthread_mutex_lock(&srv.lock);
	nsf_state_set_lost(srv.s, 3);
	pthread_mutex_unlock(&srv.lock);
	err = report(path, 0, true, &st, &body);
	CHECK("lost events: status 3", err == 0 && st == 3, "err %d status %d", err, st);
	free(body);
	if (audit_bin[0] && access(audit_bin, X_OK) == 0) {
		const char *args[] = { "--all", "--socket", path, NULL };
		char errline[256], *out = NULL;
		int lines, rc = run_audit(false, &out, &lines, errline, sizeof(errline), args);

		CHECK("audit CLI: lost events: exit 3 with the report", rc == 3 && *out,
		      "exit %d, %zu bytes", rc, strlen(out));
		free(out);
	}

	srv.stop = 1;
	pthread_join(th, NULL);

	nsf_ctl_close(srv.ctl);

	/* A daemon that died leaves a stale socket and its lock file: refused
	 * by clients, replaced by the next daemon (the lock is free). */
	pid = fork();
	if (pid == 0)
		_exit(nsf_ctl_listen(path) ? 0 : 1);	/* dies holding it */
	waitpid(pid, &wst, 0);
	CHECK("a daemon dies listening", WIFEXITED(wst) && WEXITSTATUS(wst) == 0 &&
	      access(path, F_OK) == 0, "status %d", wst);
	err = report(path, 0, true, &st, &body);
	CHECK("client on a stale socket: ECONNREFUSED", err == -ECONNREFUSED, "got %d", err);
	free(body);
	srv.ctl = nsf_ctl_listen(path);
	CHECK("listen replaces a stale socket", srv.ctl != NULL, "errno %d", errno);
	nsf_ctl_close(srv.ctl);
	CHECK("close removes the socket", access(path, F_OK) != 0 && errno == ENOENT,
	      "still there");
	err = report(path, 0, true, &st, &body);
	CHECK("client with no socket: ENOENT", err == -ENOENT, "got %d", err);
	free(body);

	/* A server that is not root is not believed. */
	if (geteuid() == 0)
		test_not_root_server();
	else
		printf("SKIP a server that is not root: needs root\n");

	/* Something else at the path is never removed. */
	FILE *f = fopen(path, "w");
	fclose(f);
	ctl2 = nsf_ctl_listen(path);
	CHECK("a regular file at the socket path is refused, left alone",
	      !ctl2 && errno == EEXIST && access(path, F_OK) == 0, "errno %d", errno);
	unlink(path);
	snprintf(req, sizeof(req), "%s.lock", path);
	unlink(req);

	rmdir(sub);
	rmdir(dir);
	nsf_state_free(srv.s);
	return failed != 0;
}
