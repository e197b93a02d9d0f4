// SPDX-License-Identifier: GPL-2.0
/* Log lines: plain on a terminal or file, "<N>"-prefixed for journald when
 * stderr is the journal (JOURNAL_STREAM names it). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/nsf.h"
#include "check.h"

/* In a child (nsf.c decides once per process): stderr to a temp file,
 * JOURNAL_STREAM naming it or not; returns what was logged. */
static char *logged(bool journal)
{
	char path[] = "/tmp/test_log.XXXXXX", *buf = calloc(1, 512);
	int fd = mkstemp(path), st = 0;
	pid_t child;

	if (fd < 0 || !buf)
		return buf;
	child = fork();
	if (child == 0) {
		struct stat sb;
		char js[64];

		dup2(fd, 2);
		if (journal && !fstat(2, &sb)) {
			snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)sb.st_dev,
				 (unsigned long long)sb.st_ino);
			setenv("JOURNAL_STREAM", js, 1);
		} else {
			setenv("JOURNAL_STREAM", "1:1", 1);	/* another stream */
		}
		nsf_prog = "nsflushd";
		nsf_err("ring buffer read failed");
		nsf_info("ready: mode audit");
		_exit(0);
	}
	waitpid(child, &st, 0);
	if (pread(fd, buf, 511, 0) < 0)
		buf[0] = '\0';
	close(fd);
	unlink(path);
	return buf;
}

int main(void)
{
	char *j = logged(true), *p = logged(false);

	CHECK("journal: error at priority 3, info at 6, one line each",
	      j && !strcmp(j, "<3>nsflushd: ring buffer read failed\n<6>nsflushd: ready: mode audit\n"),
	      "%s", j ? j : "(null)");
	CHECK("not the journal: plain lines",
	      p && !strcmp(p, "nsflushd: ring buffer read failed\nnsflushd: ready: mode audit\n"),
	      "%s", p ? p : "(null)");
	free(j);
	free(p);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
