// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus textfile: every write replaces DIR/nsflush.prom
 * atomically (a reader racing rapid rewrites only ever sees a complete
 * file), leaves no temporary file behind, and unusable directories are
 * refused up front.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "check.h"
#include "lib/state.h"
#include "lib/nsf.h"
#include "lib/textfile.h"

#define WRITES 400

static struct nsf_state *make_state(void)
{
	struct nsf_state *s = nsf_state_new(NSF_MODE_AUDIT);

	/* A few VMMs, each with a non-coherent domain and mappings, so
	 * the file is more than one write() long. */
	for (__u32 p = 0; p < 40; p++) {
		struct nsflush_event e = {
			.kind = NSFLUSH_EV_ATTACH, .pid = 1000 + p, .ts_ns = 1000 * p + 1,
			.container = 0xc000 + p, .domain = 0xd000 + p, .group = p,
			.backend = NSFLUSH_BACKEND_TYPE1, .coherent = 0,
		};

		snprintf(e.comm, sizeof(e.comm), "vmm%u", p);
		nsf_state_event(s, &e);
		for (int i = 0; i < 8; i++) {
			e.kind = NSFLUSH_EV_MAP;
			e.ts_ns += 10;
			e.done_ns = e.ts_ns + 1;
			e.iova = 0x100000 + (__u64)i * 0x200000;
			e.phys = 0x100000000ULL + ((__u64)p << 24) + (__u64)i * 0x400000;
			e.bytes = 0x200000;
			e.origin = NSFLUSH_ORIGIN_MAP;
			nsf_state_event(s, &e);
		}
	}
	return s;
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		fclose(out);
		free(buf);
		return NULL;
	}
	/* Small reads: a writer that is not atomic gets every chance to
	 * show a partial file. */
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, n, out);
	close(fd);
	fclose(out);
	*len = size;
	return buf;
}

/* Count of entries in @dir other than "." and "..", and whether all
 * are nsflush.prom. */
static int dir_entries(const char *dir, int *others)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	*others = 0;
	if (!dp)
		return -1;
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		n++;
		if (strcmp(d->d_name, NSF_TEXTFILE_NAME))
			(*others)++;
	}
	closedir(dp);
	return n;
}

/* Reader: reads the file until the pipe closes; exit 0 all complete,
 * 1 a partial/different file was seen, 2 too few reads. */
static void reader(const char *path, const char *expected, size_t elen, int stop_fd)
{
	long reads = 0, bad = 0;
	char c;

	fcntl(stop_fd, F_SETFL, O_NONBLOCK);
	while (read(stop_fd, &c, 1) < 0 && errno == EAGAIN) {
		size_t len;
		char *got = slurp(path, &len);

		reads++;
		if (!got || len != elen || memcmp(got, expected, elen)) {
			if (!bad++)
				fprintf(stderr, "reader: read %ld: %zu bytes, expected %zu\n",
					reads, got ? len : 0, elen);
		}
		free(got);
	}
	fprintf(stderr, "reader: %ld reads, %ld bad\n", reads, bad);
	_exit(bad ? 1 : reads < 10 ? 2 : 0);
}

int main(void)
{
	char dir[] = "/tmp/nsf-textfile.XXXXXX", path[256], notdir[300];
	struct nsf_state *s = make_state();
	char *expected = NULL, *got;
	size_t elen = 0, len;
	int pfd[2], status, errs = 0, others, n, err;
	struct nsf_textfile_daemon self = { .up = true, .now = 1700000000 };
	struct stat st;
	FILE *m;
	pid_t child;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, NSF_TEXTFILE_NAME);

	m = open_memstream(&expected, &elen);
	nsf_textfile_render(m, s, &self);
	fclose(m);
	CHECK("rendering is non-empty and ends with a newline",
	      elen > 0 && expected[elen - 1] == '\n', "%zu bytes", elen);
	CHECK("the daemon's metrics close it: build info, timestamp, nsflush_up 1 last",
	      strstr(expected, "\nnsflush_build_info{version=\"" NSF_VERSION "\"} 1\n") &&
	      strstr(expected, "\nnsflush_textfile_timestamp_seconds 1700000000\n") &&
	      elen > 14 && !strcmp(expected + elen - 14, "\nnsflush_up 1\n") &&
	      strstr(expected, "\nnsflush_mode{mode=\"audit\"} 1\n") &&
	      strstr(expected, "\nnsflush_mode{mode=\"enforce\"} 0\n") &&
	      strstr(expected, "\nnsflush_module_loaded{version=\"\"} 0\n"), "%s", expected);
	{
		struct nsf_textfile_daemon gone = { .up = false, .now = 1700000001,
						    .module = "0.9.0\"x" };
		char *last = NULL;
		size_t llen = 0;

		m = open_memstream(&last, &llen);
		nsf_textfile_render(m, s, &gone);
		fclose(m);
		CHECK("the last write, as nsflushd stops, ends with nsflush_up 0",
		      llen > 14 && !strcmp(last + llen - 14, "\nnsflush_up 0\n"), "%s",
		      llen > 40 ? last + llen - 40 : last);
		CHECK("a loaded module's version is a label, escaped",
		      strstr(last, "\nnsflush_module_loaded{version=\"0.9.0\\\"x\"} 1\n"), "%s", last);
		free(last);
	}

	{	/* what a writer killed mid-write leaves, and a file of someone else's */
		char stale[PATH_MAX + 32], other[PATH_MAX + 32];

		snprintf(stale, sizeof(stale), "%s/.%s.Ab3xYz", dir, NSF_TEXTFILE_NAME);
		snprintf(other, sizeof(other), "%s/.%s.keep.me", dir, NSF_TEXTFILE_NAME);
		close(open(stale, O_CREAT | O_WRONLY, 0600));
		close(open(other, O_CREAT | O_WRONLY, 0600));
		CHECK("open_dir accepts a writable directory", nsf_textfile_open_dir(dir) == 0,
		      "failed");
		CHECK("open_dir removes a killed writer's temporary file, nothing else",
		      access(stale, F_OK) != 0 && access(other, F_OK) == 0, "stale %d other %d",
		      access(stale, F_OK), access(other, F_OK));
		unlink(other);
	}
	n = dir_entries(dir, &others);
	CHECK("open_dir's probe leaves nothing behind", n == 0, "%d entries", n);

	err = nsf_textfile_write(dir, s, &self);
	got = slurp(path, &len);
	CHECK("first write: the file is the rendering",
	      err == 0 && got && len == elen && !memcmp(got, expected, elen),
	      "err %d, %zu bytes of %zu", err, got ? len : 0, elen);
	free(got);
	CHECK("file is 0644", stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
	      "mode %o", st.st_mode & 07777);

	/* Rapid rewrites against a reader that never stops. */
	if (pipe(pfd))
		return 1;
	fflush(stdout);
	child = fork();
	if (child == 0) {
		close(pfd[1]);
		reader(path, expected, elen, pfd[0]);
	}
	close(pfd[0]);
	for (int i = 0; i < WRITES; i++)
		errs += nsf_textfile_write(dir, s, &self) != 0;
	close(pfd[1]);
	waitpid(child, &status, 0);
	CHECK("rapid rewrites all succeed", errs == 0, "%d of %d failed", errs, WRITES);
	CHECK("a concurrent reader only ever sees complete files",
	      WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "reader status %#x (1: partial file seen, 2: too few reads)", status);
	n = dir_entries(dir, &others);
	CHECK("no temporary file left behind", n == 1 && others == 0,
	      "%d entries, %d not nsflush.prom", n, others);

	/* Unusable directories. */
	snprintf(notdir, sizeof(notdir), "%s/missing", dir);
	err = nsf_textfile_open_dir(notdir);
	CHECK("open_dir rejects a missing directory", err == -ENOENT, "got %d", err);
	err = nsf_textfile_write(notdir, s, &self);
	CHECK("write into a missing directory fails", err < 0, "got %d", err);
	err = nsf_textfile_open_dir(path);
	CHECK("open_dir rejects a regular file", err == -ENOTDIR, "got %d", err);
	err = nsf_textfile_open_dir("");
	CHECK("open_dir rejects an empty path", err < 0, "got %d", err);
	/* Not writable even for root. */
	err = nsf_textfile_open_dir("/proc");
	CHECK("open_dir rejects /proc (no file creation)", err < 0, "got %d", err);
	if (geteuid() != 0) {
		chmod(dir, 0555);
		err = nsf_textfile_open_dir(dir);
		CHECK("open_dir rejects a read-only directory (non-root)", err == -EACCES,
		      "got %d", err);
		chmod(dir, 0700);
	}
	got = slurp(path, &len);
	CHECK("failed attempts leave the previous file intact",
	      got && len == elen && !memcmp(got, expected, elen), "%zu bytes", got ? len : 0);
	free(got);

	unlink(path);
	rmdir(dir);
	free(expected);
	nsf_state_free(s);
	return failed != 0;
}
