// SPDX-License-Identifier: GPL-2.0
/*
 * Misbehaving clients of nsflushd's control socket, for the lab tests:
 *   ctl-client SOCKET silent SECONDS       connect, say nothing, wait
 *   ctl-client SOCKET slow PID CHUNK MS    ask for PID's JSON report, read it
 *                                          CHUNK bytes every MS ms
 *   ctl-client SOCKET hold N SECONDS       N connections at once, silent
 * Prints one line: "silent eof=0|1 after_ms=N" (whether the server hung up,
 * and when), "slow status=N bytes=N ms=N" or "hold connected=N busy=N".
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int usage(void)
{
	fprintf(stderr, "usage: ctl-client SOCKET silent SECONDS | slow PID CHUNK MS | "
			"hold N SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	long long t0 = now_ms();

	if (argc < 4)
		return usage();
	if (!strcmp(argv[2], "silent") && argc == 4) {
		int fd = connect_to(argv[1]), ms = atoi(argv[3]) * 1000;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;

		if (fd < 0) {
			fprintf(stderr, "ctl-client: connect %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		/* the server hangs up (EOF) or the time is over */
		int eof = poll(&p, 1, ms) > 0 && read(fd, &c, 1) <= 0;

		printf("silent eof=%d after_ms=%lld\n", eof, now_ms() - t0);
		return 0;
	}
	if (!strcmp(argv[2], "slow") && argc == 6) {
		int fd = connect_to(argv[1]), chunk = atoi(argv[4]), ms = atoi(argv[5]), st = -1;
		char req[64], *buf = malloc(chunk > 0 ? chunk : 1);
		long long bytes = 0;
		ssize_t n;

		if (fd < 0 || !buf || chunk <= 0) {
			fprintf(stderr, "ctl-client: connect %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		snprintf(req, sizeof(req), "report %s json\n", argv[3]);
		if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
			return 1;
		while ((n = read(fd, buf, chunk)) > 0) {
			if (!bytes && n >= 8 && !strncmp(buf, "status ", 7))
				st = buf[7] - '0';
			bytes += n;
			usleep(ms * 1000);
		}
		printf("slow status=%d bytes=%lld ms=%lld\n", st, bytes, now_ms() - t0);
		return 0;
	}
	if (!strcmp(argv[2], "hold") && argc == 5) {
		int n = atoi(argv[3]), connected = 0, busy = 0, *fds = calloc(n > 0 ? n : 1, sizeof(int));

		for (int i = 0; i < n; i++) {
			fds[i] = connect_to(argv[1]);
			connected += fds[i] >= 0;
		}
		sleep(atoi(argv[4]));
		for (int i = 0; i < n; i++) {
			char buf[32] = "";

			if (fds[i] >= 0 && recv(fds[i], buf, sizeof(buf) - 1, MSG_DONTWAIT) > 0 &&
			    strstr(buf, "busy"))
				busy++;
		}
		printf("hold connected=%d busy=%d\n", connected, busy);
		return 0;
	}
	return usage();
}
