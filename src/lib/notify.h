/* SPDX-License-Identifier: GPL-2.0 */
/*
 * systemd's readiness protocol (sd_notify(3)) without libsystemd, so the
 * static build keeps working: one datagram of "KEY=value" lines to the
 * socket in $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace). Outside a Type=notify unit NOTIFY_SOCKET is unset and
 * every call does nothing.
 */
#ifndef NSF_NOTIFY_H
#define NSF_NOTIFY_H

/* Sends @fmt's text; 0, or -errno (the caller decides whether to say
 * so: a missed notification delays systemd, it breaks nothing here). */
int nsf_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* NSF_NOTIFY_H */
