// SPDX-License-Identifier: GPL-2.0
/* The Prometheus textfile, written atomically (see textfile.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "nsf.h"
#include "state.h"
#include "textfile.h"

static int temp_path(char *buf, size_t size, const char *dir)
{
	if ((size_t)snprintf(buf, size, "%s/.%s.XXXXXX", dir, NSF_TEXTFILE_NAME) >= size)
		return -ENAMETOOLONG;
	return 0;
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
	return 0;
fail:
	nsf_err("unwritable textfile dir %s: %s", dir, strerror(-err));
	return err;
}

int nsf_textfile_write(const char *dir, const struct nsf_state *s)
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
	nsf_state_write_prom(s, f);
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
	return 0;
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	nsf_err("cannot write %s: %s: %s", target, what, strerror(-err));
	return err;
}
