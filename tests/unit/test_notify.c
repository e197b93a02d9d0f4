// SPDX-License-Identifier: GPL-2.0
/* sd_notify by hand: what systemd's end of $NOTIFY_SOCKET receives, for a
 * path socket and an abstract one, and nothing at all without it. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "lib/notify.h"
#include "check.h"

/* Binds a datagram socket as systemd would; @name "@x" is abstract. */
static int listen_at(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memcpy(sa.sun_path, name, strlen(name));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len))
		return -1;
	return fd;
}

static const char *received(int fd)
{
	static char buf[600];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

int main(void)
{
	char path[64], abstract[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/tmp/test_notify.%d", getpid());
	snprintf(abstract, sizeof(abstract), "@test_notify.%d", getpid());

	unsetenv("NOTIFY_SOCKET");
	CHECK("no NOTIFY_SOCKET: nothing to do, no error", nsf_notify("READY=1") == 0, "error");

	fd = listen_at(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ret = nsf_notify("READY=1\nSTATUS=%s mode", "enforce");
	CHECK("path socket: one datagram, as sent", ret == 0 &&
	      !strcmp(received(fd), "READY=1\nSTATUS=enforce mode"), "ret %d", ret);
	close(fd);
	unlink(path);

	fd = listen_at(abstract);
	setenv("NOTIFY_SOCKET", abstract, 1);
	ret = nsf_notify("STOPPING=1");
	CHECK("abstract socket (@name)", ret == 0 && !strcmp(received(fd), "STOPPING=1"),
	      "ret %d", ret);
	close(fd);

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK("a NOTIFY_SOCKET that is neither a path nor @name is refused",
	      nsf_notify("READY=1") < 0, "accepted");
	setenv("NOTIFY_SOCKET", path, 1);	/* nobody listens now */
	CHECK("nobody listening: an error, not a crash", nsf_notify("READY=1") < 0, "no error");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
