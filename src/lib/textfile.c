// SPDX-License-Identifier: GPL-2.0
/* The Prometheus textfile, written atomically (see textfile.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "nsf.h"
#include "prom.h"
#include "state.h"
#include "text.h"
#include "textfile.h"

/* Temporary files are TEMP_PREFIX plus mkstemp()'s TEMP_RANDOM. */
#define TEMP_PREFIX	"." NSF_TEXTFILE_NAME "."
#define TEMP_RANDOM	"XXXXXX"

static int temp_path(char *buf, size_t size, const char *dir)
{
	if ((size_t)snprintf(buf, size, "%s/" TEMP_PREFIX TEMP_RANDOM, dir) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Leftovers of a writer killed mid-write (SIGKILL, OOM, power loss). */
static void remove_stale_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) &&
		    strlen(e->d_name) == strlen(TEMP_PREFIX TEMP_RANDOM))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int nsf_textfile_open_dir(const char *dir)
{
	char tmp[PATH_MAX];
	struct stat st;
	int fd, err;

	if (!dir || !*dir) {
		nsf_err("unwritable textfile dir '': empty path");
		return -EINVAL;
	}
	if (stat(dir, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		err = -ENOTDIR;
		goto fail;
	}
	err = temp_path(tmp, sizeof(tmp), dir);
	if (err)
		goto fail;
	/* access(W_OK) says yes to root on read-only or special file
	 * systems: really create a file. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	close(fd);
	unlink(tmp);
	remove_stale_temps(dir);
	return 0;
fail:
	nsf_err("unwritable textfile dir %s: %s", dir, strerror(-err));
	return err;
}

void nsf_textfile_render(FILE *out, const struct nsf_state *s, const struct nsf_textfile_daemon *d)
{
	nsf_prom_write(s, out);
	fprintf(out, "# HELP nsflush_build_info nsflushd's version.\n"
		"# TYPE nsflush_build_info gauge\nnsflush_build_info{version=\"%s\"} 1\n",
		NSF_VERSION);
	fputs("# HELP nsflush_module_loaded 1 while the helper module nsflush is loaded "
	      "(label: its version).\n# TYPE nsflush_module_loaded gauge\n"
	      "nsflush_module_loaded{version=\"", out);
	if (d->module)
		nsf_put_text(out, d->module, strlen(d->module), NSF_ESC_PROM);
	fprintf(out, "\"} %d\n", d->module != NULL);
	fprintf(out, "# HELP nsflush_textfile_timestamp_seconds When nsflushd wrote this file "
		"(stale: hung, or gone without a word).\n"
		"# TYPE nsflush_textfile_timestamp_seconds gauge\n"
		"nsflush_textfile_timestamp_seconds %lld\n", (long long)d->now);
	/* Last: a reader that sees it has the whole file. */
	fprintf(out, "# HELP nsflush_up 1 while nsflushd runs, 0 once it stopped.\n"
		"# TYPE nsflush_up gauge\nnsflush_up %d\n", d->up);
}

/* The rename is durable once the directory is on disk too. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int nsf_textfile_write(const char *dir, const struct nsf_state *s,
		       const struct nsf_textfile_daemon *d)
{
	char tmp[PATH_MAX], target[PATH_MAX];
	const char *what;
	FILE *f = NULL;
	int fd, err;

	err = temp_path(tmp, sizeof(tmp), dir);
	if (err || (size_t)snprintf(target, sizeof(target), "%s/%s", dir,
				    NSF_TEXTFILE_NAME) >= sizeof(target)) {
		nsf_err("textfile dir %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		nsf_err("cannot write %s: temporary file: %s", target, strerror(-err));
		return err;
	}
	what = "fdopen";
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	nsf_textfile_render(f, s, d);
	what = "write";
	if (fflush(f) || ferror(f)) {
		err = -(errno ? errno : EIO);
		goto fail;
	}
	what = "fsync";
	if (fsync(fd)) {
		err = -errno;
		goto fail;
	}
	what = "chmod";
	if (fchmod(fd, 0644)) {
		err = -errno;
		goto fail;
	}
	what = "close";
	err = fclose(f) ? -errno : 0;
	f = NULL;
	if (err)
		goto fail;
	what = "rename";
	if (rename(tmp, target)) {
		err = -errno;
		goto fail;
	}
	err = sync_dir(dir);
	if (err) {
		nsf_err("%s written, but fsync of %s failed: %s", target, dir, strerror(-err));
		return err;
	}
	return 0;
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	nsf_err("cannot write %s: %s: %s", target, what, strerror(-err));
	return err;
}
