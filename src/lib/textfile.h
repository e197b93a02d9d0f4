/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus textfile: nsflushd rewrites DIR/nsflush.prom for
 * node_exporter's textfile collector
 * (--collector.textfile.directory=DIR). nsflushd's default DIR is
 * NSF_TEXTFILE_DEFAULT_DIR, the directory Debian's
 * prometheus-node-exporter package reads.
 *
 * Each write is atomic: the metrics go to a temporary file in DIR
 * (".nsflush.prom.XXXXXX": hidden and without the .prom suffix, so the
 * collector ignores it), which is flushed, fsync()ed, made 0644 and
 * renamed over nsflush.prom, and the directory is fsync()ed so that the
 * rename survives a crash. Readers see the old file or the new one, never
 * a partial one; on error the temporary file is removed and the previous
 * nsflush.prom stays.
 *
 * After the state's metrics (nsf_prom_write) come nsflushd's own:
 *   nsflush_build_info{version}            always 1
 *   nsflush_module_loaded{version}         1 while the helper module is
 *                                          loaded (its version; after a
 *                                          package upgrade the old one
 *                                          stays until the hooks let go)
 *   nsflush_textfile_timestamp_seconds     when this file was written (Unix
 *                                          time): old means nsflushd is hung
 *                                          or died without a word
 *   nsflush_up                             1 while nsflushd runs; its last
 *                                          write, as it stops, says 0; last
 *                                          line, so a reader that sees it has
 *                                          the whole file
 */
#ifndef NSF_TEXTFILE_H
#define NSF_TEXTFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

struct nsf_state;

/* What the daemon says of itself in the file. */
struct nsf_textfile_daemon {
	bool up;		/* false: the last write, as nsflushd stops */
	time_t now;		/* the timestamp written */
	const char *module;	/* the helper module's version, NULL: not loaded */
};

#define NSF_TEXTFILE_DEFAULT_DIR	"/var/lib/prometheus/node-exporter"
#define NSF_TEXTFILE_NAME		"nsflush.prom"

/*
 * At startup: is @dir an existing directory we can create files in (a
 * probe file is created and removed)? Temporary files a writer killed
 * mid-write left behind (".nsflush.prom.XXXXXX") are removed: no writer
 * runs yet. 0, or -errno after one clear line
 * "unwritable textfile dir DIR: REASON".
 */
int nsf_textfile_open_dir(const char *dir);

/* The file's text: @s's metrics, then @d's. */
void nsf_textfile_render(FILE *out, const struct nsf_state *s, const struct nsf_textfile_daemon *d);

/* Writes @dir/nsflush.prom atomically. 0, or -errno after one line. */
int nsf_textfile_write(const char *dir, const struct nsf_state *s,
		       const struct nsf_textfile_daemon *d);

#endif /* NSF_TEXTFILE_H */
