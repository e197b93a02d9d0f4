/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The directory in bpffs where nsflush's maps and links outlive nsflushd.
 *
 *   DIR/map_<name>    every map of the BPF object but its .rodata
 *   DIR/link_<prog>   one attached hook each; removing the pin detaches it
 *   DIR/new_<prog>    a hook attached by an upgrade not yet renamed to
 *                     link_ (only after a crash mid-upgrade)
 * map_control is pinned last: without it the rest is an interrupted
 * creation, removed and made again.
 *
 * Whoever works on DIR holds an exclusive flock on it: a second nsflushd,
 * or --unload while one runs, is refused instead of racing it.
 */
#ifndef NSF_PINS_H
#define NSF_PINS_H

#include <stdbool.h>

#define NSF_PIN_DIR_DEFAULT "/sys/fs/bpf/nsflush"

struct nsf_pins {
	char dir[192];
	int dir_fd;
	bool created;		/* the directory did not exist before */
};

/*
 * Makes DIR (mounting bpffs on /sys/fs/bpf first when that is where DIR
 * is and nothing is mounted there) and locks it. One clear line on error:
 * not on bpffs, not mountable, or locked by another nsflush process.
 */
int nsf_pins_open(struct nsf_pins *p, const char *dir);

/* Unlocks; removes DIR if it was made by open and nothing was pinned. */
void nsf_pins_close(struct nsf_pins *p);

/* DIR/<prefix><name> into buf. */
const char *nsf_pins_path(const struct nsf_pins *p, const char *prefix, const char *name,
			  char *buf, size_t size);

/* Calls fn for every entry of DIR whose name starts with prefix. */
int nsf_pins_each(const struct nsf_pins *p, const char *prefix,
		  int (*fn)(const char *path, const char *name, void *ctx), void *ctx);

/* Removes every pin in DIR: the hooks detach, the maps go with the last
 * program using them. */
int nsf_pins_remove_all(const struct nsf_pins *p);

struct bpf_link_info;
struct bpf_prog_info;

/* The pinned hook at @path: its link's info and its program's. 0, or -errno
 * (the program may be gone already). */
int nsf_pins_hook_info(const char *path, struct bpf_link_info *link, struct bpf_prog_info *prog);

/* The programs behind pinned hooks, to wait for once their pins are gone. */
struct nsf_pinned_progs {
	int n;
	__u32 ids[128];
};

/* Adds the programs of DIR's pinned hooks (entries starting with @prefix). */
void nsf_pins_note_progs(const struct nsf_pins *p, const char *prefix,
			 struct nsf_pinned_progs *pp);

/*
 * A removed pin detaches its hook only once the kernel frees the link
 * (after an RCU grace period, from a work queue): waits until every noted
 * program is gone (one line and an error after 30 s).
 */
int nsf_pins_wait_detached(const struct nsf_pinned_progs *pp);

/*
 * nsflushd --unload: locks DIR (refused while a daemon holds it), removes
 * every pin and DIR itself. Fails with one line when nothing is pinned.
 */
int nsf_pins_unload(const char *dir);

#endif /* NSF_PINS_H */
