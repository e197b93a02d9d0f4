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
 * renamed over nsflush.prom. Readers see the old file or the new one,
 * never a partial one; on error the temporary file is removed and the
 * previous nsflush.prom stays.
 */
#ifndef NSF_TEXTFILE_H
#define NSF_TEXTFILE_H

struct nsf_state;

#define NSF_TEXTFILE_DEFAULT_DIR	"/var/lib/prometheus/node-exporter"
#define NSF_TEXTFILE_NAME		"nsflush.prom"

/*
 * At startup: is @dir an existing directory we can create files in (a
 * probe file is created and removed)? 0, or -errno after one clear line
 * "unwritable textfile dir DIR: REASON".
 */
int nsf_textfile_open_dir(const char *dir);

/* Writes @dir/nsflush.prom atomically. 0, or -errno after one line. */
int nsf_textfile_write(const char *dir, const struct nsf_state *s);

#endif /* NSF_TEXTFILE_H */
