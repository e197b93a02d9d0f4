// SPDX-License-Identifier: GPL-2.0
/*
 * slow-flush: attaches slow-flush.bpf.c to the helper module's kfunc and
 * holds it until SIGTERM/SIGINT. Prints "slow-flush: attached" once it is.
 * Exit 1 with one line on error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "slow-flush.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct slow_flush_bpf *skel = slow_flush_bpf__open_and_load();

	if (!skel || slow_flush_bpf__attach(skel)) {
		fprintf(stderr, "slow-flush: cannot attach to nsflush_flush_phys: %s\n",
			strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("slow-flush: attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	slow_flush_bpf__destroy(skel);
	return 0;
}
