// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "nsf.h"
#include "pins.h"

#define BPFFS_DEFAULT "/sys/fs/bpf"
#define DETACH_WAIT_MS 30000

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* The directory that holds DIR must be bpffs; the usual one is mounted
 * here when a minimal system (an initramfs, a container) has not. */
static int ensure_bpffs(const char *dir)
{
	char copy[sizeof(((struct nsf_pins *)0)->dir)];
	const char *parent;

	snprintf(copy, sizeof(copy), "%s", dir);
	parent = dirname(copy);
	if (on_bpffs(parent))
		return 0;
	if (strcmp(parent, BPFFS_DEFAULT)) {
		nsf_err("%s is not on a BPF filesystem (mount -t bpf bpf %s)", dir, parent);
		return -ENOTDIR;
	}
	if (mount("bpf", BPFFS_DEFAULT, "bpf", 0, "mode=0700") && errno != EBUSY) {
		nsf_err("cannot mount bpffs on %s: %s", BPFFS_DEFAULT, strerror(errno));
		return -errno;
	}
	if (!on_bpffs(parent)) {
		nsf_err("cannot mount bpffs on %s: something else is mounted there", BPFFS_DEFAULT);
		return -ENOTDIR;
	}
	return 0;
}

int nsf_pins_open(struct nsf_pins *p, const char *dir)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->dir_fd = -1;
	if (!*dir || strlen(dir) >= sizeof(p->dir)) {
		nsf_err("invalid pin directory: '%s'", dir);
		return -EINVAL;
	}
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	err = ensure_bpffs(p->dir);
	if (err)
		return err;
	if (mkdir(p->dir, 0700) == 0)
		p->created = true;
	else if (errno != EEXIST) {
		err = -errno;
		nsf_err("cannot create %s: %s", p->dir, strerror(errno));
		return err;
	}
	p->dir_fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dir_fd < 0) {
		err = -errno;
		nsf_err("cannot open %s: %s", p->dir, strerror(errno));
		return err;
	}
	if (flock(p->dir_fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (errno == EWOULDBLOCK)
			nsf_err("another nsflushd is running (it holds %s)", p->dir);
		else
			nsf_err("cannot lock %s: %s", p->dir, strerror(errno));
		close(p->dir_fd);
		p->dir_fd = -1;
		return err;
	}
	return 0;
}

void nsf_pins_close(struct nsf_pins *p)
{
	if (!p || p->dir_fd < 0)
		return;
	if (p->created)
		rmdir(p->dir);	/* fails, as it should, once something is pinned */
	close(p->dir_fd);
	p->dir_fd = -1;
}

const char *nsf_pins_path(const struct nsf_pins *p, const char *prefix, const char *name,
			  char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s%s", p->dir, prefix, name);
	return buf;
}

int nsf_pins_each(const struct nsf_pins *p, const char *prefix,
		  int (*fn)(const char *path, const char *name, void *ctx), void *ctx)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		char path[sizeof(p->dir) + 256];

		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		err = fn(nsf_pins_path(p, "", de->d_name, path, sizeof(path)), de->d_name, ctx);
	}
	closedir(d);
	return err;
}

static int remove_pin(const char *path, const char *name, void *ctx)
{
	int *removed = ctx;

	(void)name;
	if (unlink(path) && errno != ENOENT) {
		nsf_err("cannot remove %s: %s", path, strerror(errno));
		return -errno;
	}
	if (removed)
		(*removed)++;
	return 0;
}

int nsf_pins_remove_all(const struct nsf_pins *p)
{
	return nsf_pins_each(p, "", remove_pin, NULL);
}

int nsf_pins_hook_info(const char *path, struct bpf_link_info *link, struct bpf_prog_info *prog)
{
	__u32 len = sizeof(*link);
	int fd = bpf_obj_get(path), err = 0;

	if (fd < 0)
		return -errno;
	memset(link, 0, sizeof(*link));
	memset(prog, 0, sizeof(*prog));
	if (bpf_obj_get_info_by_fd(fd, link, &len))
		err = -errno;
	close(fd);
	if (err)
		return err;
	fd = bpf_prog_get_fd_by_id(link->prog_id);
	if (fd < 0)
		return -errno;
	len = sizeof(*prog);
	if (bpf_obj_get_info_by_fd(fd, prog, &len))
		err = -errno;
	close(fd);
	return err;
}

static int note_prog(const char *path, const char *name, void *ctx)
{
	struct nsf_pinned_progs *pp = ctx;
	struct bpf_link_info li;
	struct bpf_prog_info pi;

	if (!strncmp(name, "map_", 4) || pp->n == (int)(sizeof(pp->ids) / sizeof(pp->ids[0])))
		return 0;
	/* a program that cannot be opened is gone already: nothing to wait for */
	if (!nsf_pins_hook_info(path, &li, &pi))
		pp->ids[pp->n++] = pi.id;
	return 0;
}

void nsf_pins_note_progs(const struct nsf_pins *p, const char *prefix,
			 struct nsf_pinned_progs *pp)
{
	nsf_pins_each(p, prefix, note_prog, pp);
}

int nsf_pins_wait_detached(const struct nsf_pinned_progs *pp)
{
	for (int ms = 0; ms < DETACH_WAIT_MS; ms += 10) {
		int left = 0;

		for (int i = 0; i < pp->n; i++) {
			int fd = bpf_prog_get_fd_by_id(pp->ids[i]);

			if (fd >= 0) {
				left++;
				close(fd);
			}
		}
		if (!left)
			return 0;
		usleep(10000);
	}
	nsf_err("hooks still attached %d s after their pins were removed", DETACH_WAIT_MS / 1000);
	return -ETIMEDOUT;
}

int nsf_pins_unload(const char *dir)
{
	struct nsf_pinned_progs progs = {};
	struct nsf_pins p;
	struct stat st;
	int err, removed = 0;

	if (stat(dir, &st)) {
		nsf_err("nothing to unload: %s does not exist", dir);
		return -ENOENT;
	}
	err = nsf_pins_open(&p, dir);
	if (err)
		return err;
	nsf_pins_each(&p, "", note_prog, &progs);
	err = nsf_pins_each(&p, "", remove_pin, &removed);
	if (!err && !removed) {
		nsf_err("nothing to unload: %s holds no pins", dir);
		err = -ENOENT;
	}
	if (rmdir(p.dir) && !err) {
		err = -errno;
		nsf_err("cannot remove %s: %s", p.dir, strerror(errno));
	}
	close(p.dir_fd);
	if (!err)
		err = nsf_pins_wait_detached(&progs);
	return err;
}
