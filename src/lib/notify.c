// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "notify.h"

int nsf_notify(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[512];
	socklen_t len;
	va_list ap;
	ssize_t n;
	int fd, len_msg;

	if (!path || !*path)
		return 0;
	if ((path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	va_start(ap, fmt);
	len_msg = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len_msg < 0 || (size_t)len_msg >= sizeof(msg))
		return -EMSGSIZE;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract: no terminating NUL counted */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + (path[0] == '/');
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, msg, len_msg, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}
