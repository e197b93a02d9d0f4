/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nsflushd's control socket: a root-only Unix stream socket that
 * nsflush-audit asks for reports.
 *
 * Socket
 *   Default NSF_CTL_DEFAULT_PATH. Its directory is created 0700 when
 *   missing; the socket is 0600 and the server only answers clients with
 *   the daemon's own uid (SO_PEERCRED). A stale socket (nobody listening)
 *   is replaced; a live one (a connect succeeds) is never taken over.
 *
 * Protocol: one request per connection, text, '\n'-terminated.
 *   request    "report PID FORMAT\n"
 *                PID     decimal, 0 = every VMM
 *                FORMAT  "json" (nsf_state_report_json) or
 *                        "table" (nsf_state_report_table)
 *   response   "status N\n" then the body; the server closes the
 *              connection after the body.
 *                N = the exit status nsflush-audit must use:
 *                0  nothing unflushed             } body: the report
 *                1  unflushed ranges found        } (nsf_state_exit_status)
 *                3  audit incomplete: events lost }
 *                2  error; the body is one line:
 *                     "no such pid: PID"  the state does not know PID and
 *                                         /proc/PID does not exist
 *                     "bad request: ..."  malformed request
 *                     "permission denied" client uid != daemon uid
 *   A pid that exists but never used VFIO while the daemon watched gets
 *   an ordinary (empty) report with status 0.
 *   The server waits at most NSF_CTL_TIMEOUT_MS for a request line and
 *   for each write, so a stuck client cannot hang the daemon.
 */
#ifndef NSF_CTL_H
#define NSF_CTL_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

struct nsf_state;

#define NSF_CTL_DEFAULT_PATH	"/run/nsflush/nsflushd.sock"
#define NSF_CTL_MAX_REQUEST	128	/* bytes, '\n' included */
#define NSF_CTL_TIMEOUT_MS	1000	/* server side, per client */

/* Status values of the response (= nsflush-audit's exit codes). */
enum {
	NSF_CTL_CLEAN = 0,
	NSF_CTL_UNFLUSHED = 1,
	NSF_CTL_ERROR = 2,
	NSF_CTL_INCOMPLETE = 3,
};

/*
 * Creates the listening socket at @path (NULL: the default): non-blocking,
 * close-on-exec, for the daemon's poll loop. Returns the fd or -errno
 * after one clear error line (e.g. another nsflushd already listens).
 */
int nsf_ctl_listen(const char *path);

/*
 * The listening fd is readable: accepts one client, reads its request,
 * calls @sync(@ctx) (if not NULL: the daemon drains its ring buffer so the
 * answer covers every event so far), answers and closes the connection.
 * Never blocks longer than about 2 * NSF_CTL_TIMEOUT_MS; client errors are
 * only logged with -v.
 */
void nsf_ctl_handle(int listen_fd, struct nsf_state *s,
		    void (*sync)(void *ctx), void *ctx);

/* Closes the listening socket and removes @path (NULL: the default). */
void nsf_ctl_close(int fd, const char *path);

/*
 * Client side: sends "report PID json|table" to the daemon at @path (NULL:
 * the default), copies the body to @body and stores the status in
 * *@status. Returns 0, or -errno of socket()/connect() (-ENOENT,
 * -ECONNREFUSED: no daemon; -EACCES, -EPERM: not root), or -EPROTO when
 * the answer is malformed, -ETIMEDOUT when the daemon does not answer
 * within @timeout_ms. Prints nothing.
 */
int nsf_ctl_report(const char *path, __u32 pid, bool json, FILE *body,
		   int *status, int timeout_ms);

#endif /* NSF_CTL_H */
