// SPDX-License-Identifier: GPL-2.0
/* nsflushd's control socket (protocol: ctl.h). */
#define _GNU_SOURCE	/* accept4, struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "ctl.h"
#include "nsf.h"
#include "state.h"

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
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
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

int nsf_ctl_listen(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old_mask;
	int fd, err;

	path = ctl_path(path);
	err = fill_addr(&sa, path);
	if (err) {
		nsf_err("control socket path too long: %s", path);
		return err;
	}
	err = make_dir(path);
	if (err)
		return err;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			nsf_err("control socket %s: exists and is not a socket", path);
			return -EEXIST;
		}
		fd = ctl_connect(path, NSF_CTL_TIMEOUT_MS);
		if (fd >= 0) {
			close(fd);
			nsf_err("another nsflushd is already listening on %s", path);
			return -EADDRINUSE;
		}
		/* Nobody listens: a stale socket from a daemon that died. */
		if (unlink(path) && errno != ENOENT) {
			err = -errno;
			nsf_err("cannot remove stale control socket %s: %s", path, strerror(-err));
			return err;
		}
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		nsf_err("control socket: %s", strerror(-err));
		return err;
	}
	/* No window where the socket is reachable by others. */
	old_mask = umask(0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old_mask);
	if (!err && chmod(path, 0600))
		err = -errno;
	if (!err && listen(fd, 16))
		err = -errno;
	if (err) {
		nsf_err("control socket %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

void nsf_ctl_close(int fd, const char *path)
{
	if (fd >= 0)
		close(fd);
	unlink(ctl_path(path));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Reads one '\n'-terminated line (the '\n' replaced by '\0') within
 * @deadline. 0, or -errno (-EMSGSIZE: too long; -ETIMEDOUT; -ENODATA: EOF
 * before '\n').
 */
static int read_line(int fd, char *buf, size_t size, long long deadline)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		char *nl;
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		len += n;
		buf[len] = '\0';
		nl = memchr(buf, '\n', len);
		if (nl) {
			*nl = '\0';
			return 0;
		}
		if (len == size - 1)
			return -EMSGSIZE;
	}
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

/* "report PID json|table": 0 and the fields, or -EINVAL with *why set. */
static int parse_request(char *line, __u32 *pid, bool *json, const char **why)
{
	char *save, *verb, *spid, *fmt, *end;
	unsigned long v;

	*why = "expected 'report PID json|table'";
	verb = strtok_r(line, " \t\r", &save);
	spid = strtok_r(NULL, " \t\r", &save);
	fmt = strtok_r(NULL, " \t\r", &save);
	if (!verb || strcmp(verb, "report") || !spid || !fmt ||
	    strtok_r(NULL, " \t\r", &save))
		return -EINVAL;
	errno = 0;
	v = strtoul(spid, &end, 10);
	if (errno || *end || spid[0] < '0' || spid[0] > '9' || v > INT32_MAX) {
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

static bool proc_exists(__u32 pid)
{
	char p[32];

	snprintf(p, sizeof(p), "/proc/%u", pid);
	return access(p, F_OK) == 0;
}

void nsf_ctl_handle(int listen_fd, struct nsf_state *s,
		    void (*sync)(void *ctx), void *ctx)
{
	char line[NSF_CTL_MAX_REQUEST], *buf = NULL;
	const char *why = NULL;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	size_t size = 0;
	bool json = true;
	__u32 pid = 0;
	FILE *out;
	int fd, err;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			nsf_err("control socket: accept: %s", strerror(errno));
		return;
	}
	set_timeouts(fd, NSF_CTL_TIMEOUT_MS);

	out = open_memstream(&buf, &size);
	if (!out) {
		nsf_err("control socket: %s", strerror(errno));
		close(fd);
		return;
	}

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
	    cred.uid != geteuid()) {
		fprintf(out, "status %d\npermission denied\n", NSF_CTL_ERROR);
		goto send;
	}
	err = read_line(fd, line, sizeof(line), now_ms() + NSF_CTL_TIMEOUT_MS);
	if (err == -EMSGSIZE) {
		why = "request too long";
	} else if (err) {
		if (nsf_verbose)
			nsf_info("control socket: client sent no request: %s", strerror(-err));
		goto out;
	} else if (parse_request(line, &pid, &json, &why)) {
		/* why set */
	} else {
		why = NULL;
	}
	if (why) {
		fprintf(out, "status %d\nbad request: %s\n", NSF_CTL_ERROR, why);
		goto send;
	}

	if (sync)
		sync(ctx);
	if (pid && !nsf_state_has_pid(s, pid) && !proc_exists(pid)) {
		fprintf(out, "status %d\nno such pid: %u\n", NSF_CTL_ERROR, pid);
		goto send;
	}
	fprintf(out, "status %d\n", nsf_state_exit_status(s, pid));
	if (json)
		nsf_state_report_json(s, pid, out);
	else
		nsf_state_report_table(s, pid, out);

send:
	if (fflush(out) || ferror(out)) {
		nsf_err("control socket: cannot render the answer");
		goto out;
	}
	err = write_all(fd, buf, size);
	if (err && nsf_verbose)
		nsf_info("control socket: client went away: %s", strerror(-err));
out:
	fclose(out);
	free(buf);
	close(fd);
}

int nsf_ctl_report(const char *path, __u32 pid, bool json, FILE *body,
		   int *status, int timeout_ms)
{
	char req[64], head[32], buf[8192];
	size_t hlen = 0;
	bool in_body = false;
	int fd, err = 0, st = -1;

	fd = ctl_connect(ctl_path(path), timeout_ms);
	if (fd < 0)
		return fd;
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
