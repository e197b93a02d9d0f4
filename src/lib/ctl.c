// SPDX-License-Identifier: GPL-2.0
/* nsflushd's control socket (protocol: ctl.h). */
#define _GNU_SOURCE	/* accept4, struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include "ctl.h"
#include "nsf.h"

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
#define LISTEN_TOKEN UINT32_MAX		/* epoll data of the listening socket */

/* One connection: reading its request, then writing its answer (here,
 * or in a child of its own). */
struct client {
	int fd;			/* -1: a free slot, unless child */
	pid_t child;		/* > 0: answering in this process */
	long long deadline;	/* ms, CLOCK_MONOTONIC */
	char req[NSF_CTL_MAX_REQUEST];
	size_t rlen;
	char *ans;		/* non-NULL: answering */
	size_t alen, sent;
};

struct nsf_ctl {
	int listen_fd, lock_fd, epfd;
	char path[SUN_PATH_MAX], lock_path[SUN_PATH_MAX + 8];
	struct client clients[NSF_CTL_MAX_CLIENTS];
	int nclients;
};

static const char *ctl_path(const char *path)
{
	return path && *path ? path : NSF_CTL_DEFAULT_PATH;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Connects to @path; fd or -errno. */
static int ctl_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa;
	int fd, err;

	err = fill_addr(&sa, path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_timeouts(fd, timeout_ms);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Creates the socket's directory 0700 when it is missing. */
static int make_dir(const char *path)
{
	char dir[SUN_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST) {
		int err = -errno;

		nsf_err("cannot create control socket directory %s: %s", dir, strerror(-err));
		return err;
	}
	return 0;
}

/* PATH.lock, held for the server's life: whoever holds it owns PATH. */
static int take_lock(struct nsf_ctl *c)
{
	c->lock_fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lock_fd < 0) {
		int err = -errno;

		nsf_err("control socket lock %s: %s", c->lock_path, strerror(-err));
		return err;
	}
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;

		if (err == -EADDRINUSE)
			nsf_err("another nsflushd is already listening on %s", c->path);
		else
			nsf_err("control socket lock %s: %s", c->lock_path, strerror(-err));
		return err;
	}
	return 0;
}

static int bind_socket(struct nsf_ctl *c)
{
	struct sockaddr_un sa;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTEN_TOKEN };
	struct stat st;
	mode_t old_mask;
	int err;

	fill_addr(&sa, c->path);
	/* We hold the lock: whatever socket is there, nobody serves it. */
	if (lstat(c->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			nsf_err("control socket %s: exists and is not a socket", c->path);
			return -EEXIST;
		}
		if (unlink(c->path) && errno != ENOENT) {
			err = -errno;
			nsf_err("cannot remove stale control socket %s: %s", c->path,
				strerror(-err));
			return err;
		}
	}
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return -errno;
	/* No window where the socket is reachable by others. */
	old_mask = umask(0177);
	err = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old_mask);
	if (!err && chmod(c->path, 0600))
		err = -errno;
	if (!err && listen(c->listen_fd, SOMAXCONN))
		err = -errno;
	if (!err && epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->listen_fd, &ev))
		err = -errno;
	if (err)
		nsf_err("control socket %s: %s", c->path, strerror(-err));
	return err;
}

struct nsf_ctl *nsf_ctl_listen(const char *path)
{
	struct nsf_ctl *c = calloc(1, sizeof(*c));
	int err = -ENOMEM;

	if (!c)
		goto fail;
	c->listen_fd = c->lock_fd = -1;
	for (int i = 0; i < NSF_CTL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	path = ctl_path(path);
	if (strlen(path) >= sizeof(c->path)) {
		nsf_err("control socket path too long: %s", path);
		err = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(c->path, path);
	snprintf(c->lock_path, sizeof(c->lock_path), "%s.lock", path);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		err = -errno;
		nsf_err("control socket: %s", strerror(-err));
		goto fail;
	}
	err = make_dir(path);
	if (!err)
		err = take_lock(c);
	if (!err)
		err = bind_socket(c);
	if (!err)
		return c;
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	close(c->epfd);
fail:
	free(c);
	errno = -err;
	return NULL;
}

int nsf_ctl_fd(const struct nsf_ctl *c)
{
	return c->epfd;
}

int nsf_ctl_clients(const struct nsf_ctl *c)
{
	return c->nclients;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void drop(struct nsf_ctl *c, struct client *cl, const char *why)
{
	if (why && nsf_verbose)
		nsf_info("control socket: client dropped: %s", why);
	if (cl->fd >= 0) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
		close(cl->fd);
	}
	if (cl->child > 0) {
		kill(cl->child, SIGKILL);
		waitpid(cl->child, NULL, 0);
	}
	free(cl->ans);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
	c->nclients--;
}

static bool in_use(const struct client *cl)
{
	return cl->fd >= 0 || cl->child > 0;
}

/* "report PID json|table": 0 and the fields, or -EINVAL with *why set. */
static int parse_request(char *line, __u32 *pid, bool *json, const char **why)
{
	char *save, *verb, *spid, *fmt;
	uint64_t v = 0;

	*why = "expected 'report PID json|table'";
	verb = strtok_r(line, " \t\r", &save);
	spid = strtok_r(NULL, " \t\r", &save);
	fmt = strtok_r(NULL, " \t\r", &save);
	if (!verb || strcmp(verb, "report") || !spid || !fmt ||
	    strtok_r(NULL, " \t\r", &save))
		return -EINVAL;
	if (strcmp(spid, "0") && !nsf_parse_decimal(spid, INT32_MAX, &v)) {
		*why = "invalid pid";
		return -EINVAL;
	}
	if (!strcmp(fmt, "json"))
		*json = true;
	else if (!strcmp(fmt, "table"))
		*json = false;
	else {
		*why = "format must be json or table";
		return -EINVAL;
	}
	*pid = v;
	return 0;
}

/* From now on @cl writes "status N\n" and what @fmt says. */
static void answer_line(struct nsf_ctl *c, struct client *cl, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void start_answer(struct nsf_ctl *c, struct client *cl, char *buf, size_t len)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = cl - c->clients };

	cl->ans = buf;
	cl->alen = len;
	cl->sent = 0;
	cl->deadline = now_ms() + NSF_CTL_STALL_MS;
	if (!buf || epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev))
		drop(c, cl, "cannot answer");
}

static void answer_line(struct nsf_ctl *c, struct client *cl, int status, const char *fmt, ...)
{
	char *buf = NULL, *line = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0 || asprintf(&buf, "status %d\n%s\n", status, line) < 0)
		buf = NULL;
	free(line);
	start_answer(c, cl, buf, buf ? strlen(buf) : 0);
}

/* Renders @h's answer to one request: "status N\n" and the body. The
 * status goes first but is known last: its one digit is filled in. */
static char *render(const struct nsf_ctl_handler *h, __u32 pid, bool json, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	int st;

	if (!out)
		return NULL;
	fputs("status ?\n", out);
	st = h->answer(h->ctx, pid, json, out);
	if (fflush(out) || ferror(out) || st < 0 || st > 9) {
		fclose(out);
		free(buf);
		return NULL;
	}
	fclose(out);
	buf[7] = (char)('0' + st);
	*len = size;
	return buf;
}

/* The answering child (nsf_fork_snapshot): renders from its snapshot and
 * writes it all out, waiting on the client at most NSF_CTL_STALL_MS a
 * send. Never returns. */
static void __attribute__((noreturn)) answer_child(int fd, const struct nsf_ctl_handler *h,
						   __u32 pid, bool json)
{
	struct timeval tv = { .tv_sec = NSF_CTL_STALL_MS / 1000 };
	size_t len = 0, sent = 0;
	char *buf;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	buf = render(h, pid, json, &len);
	if (!buf) {
		static const char fail[] = "status 2\ncannot render the answer\n";

		send(fd, fail, sizeof(fail) - 1, MSG_NOSIGNAL);
		_exit(1);
	}
	while (sent < len) {
		ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);	/* gone, or stalled */
		sent += n;
	}
	_exit(0);
}

/* The request is in: the daemon syncs, a child answers from the snapshot
 * (the daemon's copy of the connection is closed at once). */
static void answer(struct nsf_ctl *c, struct client *cl, const struct nsf_ctl_handler *h)
{
	const char *why;
	bool json = true;
	__u32 pid = 0;
	size_t len = 0;
	char *buf;
	pid_t child;

	if (parse_request(cl->req, &pid, &json, &why)) {
		answer_line(c, cl, NSF_CTL_ERROR, "bad request: %s", why);
		return;
	}
	if (h->sync)
		h->sync(h->ctx);
	/* the child keeps only its client: no other client waits on it for
	 * a hang-up, nor a new daemon for the lock */
	child = nsf_fork_snapshot(cl->fd);
	if (child == 0)
		answer_child(cl->fd, h, pid, json);
	if (child > 0) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
		close(cl->fd);
		cl->fd = -1;
		cl->child = child;
		cl->deadline = now_ms() + NSF_CTL_ANSWER_MS;
		return;
	}
	/* no child: render here, written out as the client reads */
	buf = render(h, pid, json, &len);
	if (!buf) {
		nsf_err("control socket: cannot render the answer");
		drop(c, cl, NULL);
		return;
	}
	start_answer(c, cl, buf, len);
}

/* Answering children that are done. */
static void reap(struct nsf_ctl *c)
{
	for (int i = 0; i < NSF_CTL_MAX_CLIENTS && c->nclients; i++) {
		struct client *cl = &c->clients[i];

		if (cl->child > 0 && waitpid(cl->child, NULL, WNOHANG) == cl->child) {
			cl->child = 0;
			drop(c, cl, NULL);
		}
	}
}

static void accept_all(struct nsf_ctl *c)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct client *cl = NULL;
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				nsf_err("control socket: accept: %s", strerror(errno));
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		for (int i = 0; i < NSF_CTL_MAX_CLIENTS && !cl; i++)
			if (!in_use(&c->clients[i]))
				cl = &c->clients[i];
		if (!cl) {
			/* best effort, never waiting: the client sees EOF at worst */
			static const char busy[] = "status 2\nbusy\n";

			send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->deadline = now_ms() + NSF_CTL_REQUEST_MS;
		c->nclients++;
		ev.data.u32 = cl - c->clients;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			drop(c, cl, strerror(errno));
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
		    cred.uid != geteuid())
			answer_line(c, cl, NSF_CTL_ERROR, "permission denied");
	}
}

static void read_request(struct nsf_ctl *c, struct client *cl, const struct nsf_ctl_handler *h)
{
	for (;;) {
		ssize_t n = recv(cl->fd, cl->req + cl->rlen, sizeof(cl->req) - 1 - cl->rlen,
				 MSG_DONTWAIT);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			drop(c, cl, n ? strerror(errno) : "no request");
			return;
		}
		cl->rlen += n;
		cl->req[cl->rlen] = '\0';
		nl = memchr(cl->req, '\n', cl->rlen);
		if (nl) {
			*nl = '\0';
			answer(c, cl, h);
			return;
		}
		if (cl->rlen == sizeof(cl->req) - 1) {
			answer_line(c, cl, NSF_CTL_ERROR, "bad request: request too long");
			return;
		}
	}
}

static void write_answer(struct nsf_ctl *c, struct client *cl)
{
	while (cl->sent < cl->alen) {
		ssize_t n = send(cl->fd, cl->ans + cl->sent, cl->alen - cl->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			drop(c, cl, strerror(errno));
			return;
		}
		cl->sent += n;
		cl->deadline = now_ms() + NSF_CTL_STALL_MS;
	}
	drop(c, cl, NULL);
}

void nsf_ctl_serve(struct nsf_ctl *c, const struct nsf_ctl_handler *h)
{
	struct epoll_event evs[NSF_CTL_MAX_CLIENTS + 1];
	long long now;
	int n = epoll_wait(c->epfd, evs, NSF_CTL_MAX_CLIENTS + 1, 0);

	for (int i = 0; i < n; i++) {
		struct client *cl;

		if (evs[i].data.u32 == LISTEN_TOKEN) {
			accept_all(c);
			continue;
		}
		cl = &c->clients[evs[i].data.u32];
		if (cl->fd < 0)		/* dropped earlier in this round */
			continue;
		if (cl->ans)
			write_answer(c, cl);
		else
			read_request(c, cl, h);
	}
	reap(c);
	now = now_ms();
	for (int i = 0; i < NSF_CTL_MAX_CLIENTS && c->nclients; i++)
		if (in_use(&c->clients[i]) && now >= c->clients[i].deadline)
			drop(c, &c->clients[i], c->clients[i].child > 0 ? "answer took too long" :
						c->clients[i].ans ? "stopped reading" :
								    "sent no request");
}

void nsf_ctl_close(struct nsf_ctl *c)
{
	if (!c)
		return;
	for (int i = 0; i < NSF_CTL_MAX_CLIENTS; i++)
		if (in_use(&c->clients[i]))
			drop(c, &c->clients[i], NULL);
	close(c->listen_fd);
	unlink(c->path);
	close(c->lock_fd);	/* the lock file stays: unlinked, it could be taken twice */
	close(c->epfd);
	free(c);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

int nsf_ctl_report(const char *path, __u32 pid, bool json, FILE *body,
		   int *status, int timeout_ms)
{
	char req[64], head[32], buf[8192];
	size_t hlen = 0;
	bool in_body = false;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, err = 0, st = -1;

	fd = ctl_connect(ctl_path(path), timeout_ms);
	if (fd < 0)
		return fd;
	/* only root's nsflushd is believed, whoever could bind there */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.uid != 0) {
		err = -EBADE;
		goto out;
	}
	snprintf(req, sizeof(req), "report %u %s\n", pid, json ? "json" : "table");
	err = write_all(fd, req, strlen(req));
	if (err)
		goto out;
	shutdown(fd, SHUT_WR);

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0)
			break;
		while (!in_body && off < (size_t)n) {
			char c = buf[off++];

			if (c != '\n') {
				if (hlen == sizeof(head) - 1) {
					err = -EPROTO;
					goto out;
				}
				head[hlen++] = c;
				continue;
			}
			head[hlen] = '\0';
			if (sscanf(head, "status %d", &st) != 1 || st < 0 || st > 3) {
				err = -EPROTO;
				goto out;
			}
			in_body = true;
		}
		if (off < (size_t)n && fwrite(buf + off, 1, n - off, body) != n - off) {
			err = -EIO;
			goto out;
		}
	}
	if (!in_body)
		err = -EPROTO;
	else
		*status = st;
out:
	close(fd);
	return err;
}
