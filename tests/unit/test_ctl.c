// SPDX-License-Identifier: GPL-2.0
/*
 * nsflushd's control socket: request/response round trips against a real
 * nsf_state fed synthetic events, the error answers, the socket's
 * permissions, stale and live sockets, a stuck client.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
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
#include "lib/ctl.h"
#include "lib/state.h"

#define VMM_NONCOHERENT	4242	/* attached a non-coherent domain, mapped */
#define VMM_COHERENT	4343	/* attached a coherent domain only */
#define NO_SUCH_PID	2147483646u	/* above any pid_max */

static struct server {
	int fd;
	struct nsf_state *s;
	volatile int stop;
	int syncs;
	pthread_mutex_t lock;	/* the state: events fed while serving */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void sync_cb(void *ctx)
{
	((struct server *)ctx)->syncs++;
}

static void *serve(void *arg)
{
	(void)arg;
	while (!srv.stop) {
		struct pollfd p = { .fd = srv.fd, .events = POLLIN };

		if (poll(&p, 1, 50) > 0) {
			pthread_mutex_lock(&srv.lock);
			nsf_ctl_handle(srv.fd, srv.s, sync_cb, &srv);
			pthread_mutex_unlock(&srv.lock);
		}
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

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
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
		{ "bad pid", false, 2, "invalid pid: 12x", { "--pid", "12x" } },
		{ "pid 0", false, 2, "invalid pid: 0", { "--pid", "0" } },
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

int main(void)
{
	char dir[] = "/tmp/nsf-ctl.XXXXXX", sub[64], path[96], req[512];
	char *body = NULL, *ans = NULL;
	int err, st = -1, fd2, syncs, stuck;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sst;
	long long t0;
	pthread_t th;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sub, sizeof(sub), "%s/run", dir);
	snprintf(path, sizeof(path), "%s/nsflushd.sock", sub);

	srv.s = nsf_state_new(NSF_MODE_AUDIT);
	feed(srv.s);

	srv.fd = nsf_ctl_listen(path);
	CHECK("listen on a fresh path", srv.fd >= 0, "got %d", srv.fd);
	if (srv.fd < 0)
		return 1;
	CHECK("socket directory created 0700",
	      stat(sub, &sst) == 0 && S_ISDIR(sst.st_mode) && (sst.st_mode & 07777) == 0700,
	      "mode %o", sst.st_mode & 07777);
	CHECK("socket is 0600",
	      lstat(path, &sst) == 0 && S_ISSOCK(sst.st_mode) && (sst.st_mode & 07777) == 0600,
	      "mode %o", sst.st_mode & 07777);
	pthread_create(&th, NULL, serve, NULL);

	/* A second daemon must not steal a live socket. */
	fd2 = nsf_ctl_listen(path);
	CHECK("a second listen on a live socket fails with EADDRINUSE", fd2 == -EADDRINUSE,
	      "got %d", fd2);
	if (fd2 >= 0)
		close(fd2);

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
		"report 99999999999 json\n", "report +5 json\n",
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

	/* A client that connects and says nothing must not hang the daemon. */
	strcpy(sa.sun_path, path);
	stuck = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(stuck, (struct sockaddr *)&sa, sizeof(sa));
	usleep(100 * 1000);
	t0 = now_ms();
	err = report(path, VMM_NONCOHERENT, true, &st, &body);
	t0 = now_ms() - t0;
	CHECK("a silent client delays the next answer by at most ~1 s",
	      err == 0 && st == 1 && t0 < 2 * NSF_CTL_TIMEOUT_MS + 500,
	      "err %d status %d after %lld ms", err, st, t0);
	free(body);
	close(stuck);

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

	/* A daemon that died leaves a stale socket: refused by clients,
	 * replaced by the next daemon. */
	close(srv.fd);
	err = report(path, 0, true, &st, &body);
	CHECK("client on a stale socket: ECONNREFUSED", err == -ECONNREFUSED, "got %d", err);
	free(body);
	srv.fd = nsf_ctl_listen(path);
	CHECK("listen replaces a stale socket", srv.fd >= 0, "got %d", srv.fd);
	nsf_ctl_close(srv.fd, path);
	CHECK("close removes the socket", access(path, F_OK) != 0 && errno == ENOENT,
	      "still there");
	err = report(path, 0, true, &st, &body);
	CHECK("client with no socket: ENOENT", err == -ENOENT, "got %d", err);
	free(body);

	/* Something else at the path is never removed. */
	FILE *f = fopen(path, "w");
	fclose(f);
	err = nsf_ctl_listen(path);
	CHECK("a regular file at the socket path is refused, left alone",
	      err == -EEXIST && access(path, F_OK) == 0, "got %d", err);
	unlink(path);

	rmdir(sub);
	rmdir(dir);
	nsf_state_free(srv.s);
	return failed != 0;
}
