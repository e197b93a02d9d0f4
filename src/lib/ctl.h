/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nsflushd's control socket: a root-only Unix stream socket that
 * nsflush-audit asks for reports.
 *
 * Socket
 *   Default NSF_CTL_DEFAULT_PATH. Its directory is created 0700 when
 *   missing; the socket is 0600 and the server only answers clients with
 *   the daemon's own uid (SO_PEERCRED). One server per path: it holds an
 *   flock on PATH.lock for its life, so a socket found while the lock is
 *   free is stale (its daemon died) and is replaced, and one found while
 *   it is held is never taken over, however busy its server is.
 *
 * Protocol: one request per connection, text, '\n'-terminated.
 *   request    "report PID FORMAT\n"
 *                PID     decimal, no sign or leading zero; 0 = every VMM
 *                FORMAT  "json" or "table"
 *   response   "status N\n" then the body; the server closes the
 *              connection after the body.
 *                N = the exit status nsflush-audit must use:
 *                0  nothing unflushed             } body: the report
 *                1  unflushed ranges found        }
 *                3  audit incomplete: events lost }
 *                2  error; the body is one line:
 *                     "no such pid: PID"  the daemon does not know PID and
 *                                         /proc/PID does not exist
 *                     "bad request: ..."  malformed request
 *                     "permission denied" client uid != daemon uid
 *                     "busy"              NSF_CTL_MAX_CLIENTS being served
 *   A pid that exists but never used VFIO while the daemon watched gets
 *   an ordinary (empty) report with status 0.
 *
 * Serving never blocks: every client socket is non-blocking and served
 * as it becomes ready, from the daemon's event loop, with a deadline: the
 * request line within NSF_CTL_REQUEST_MS of the connect, then the answer
 * must keep moving (no NSF_CTL_STALL_MS without a byte taken). A client
 * past its deadline is dropped. Silent or slow clients cost a slot, never
 * the loop's time.
 *
 * A valid request is answered from a snapshot: the daemon brings its state
 * up to date (sync), then a child process (fork: a copy-on-write snapshot)
 * renders the report and writes it to the client, while the daemon goes
 * back to its events at once. However big the report and however slow
 * its reader, event intake does not wait, and the report's memory is the
 * child's. The daemon reaps the children; one that outlives
 * NSF_CTL_ANSWER_MS is killed. Where fork fails, the answer is rendered
 * in the daemon and written out as the client reads.
 */
#ifndef NSF_CTL_H
#define NSF_CTL_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "names.h"

#define NSF_CTL_DEFAULT_PATH	"/run/nsflush/nsflushd.sock"
#define NSF_CTL_MAX_REQUEST	128	/* bytes, '\n' included */
#define NSF_CTL_MAX_CLIENTS	64	/* served at once; more are told "busy" */
#define NSF_CTL_REQUEST_MS	1000	/* connect to request line */
#define NSF_CTL_STALL_MS	10000	/* an answer not read for this long */
#define NSF_CTL_ANSWER_MS	300000	/* an answering child lives at most */

/* Status values of the response: nsflush-audit's exit codes (names.h). */
enum {
	NSF_CTL_CLEAN = NSF_STATUS_CLEAN,
	NSF_CTL_UNFLUSHED = NSF_STATUS_UNFLUSHED,
	NSF_CTL_ERROR = NSF_STATUS_ERROR,
	NSF_CTL_INCOMPLETE = NSF_STATUS_INCOMPLETE,
};

struct nsf_ctl;

/* What the daemon does for a valid request. The server knows no report. */
struct nsf_ctl_handler {
	/* In the daemon, before each answer: every event so far in the
	 * state (NULL: nothing to do). */
	void (*sync)(void *ctx);
	/* In the answering child: writes the body for @pid (0: every VMM)
	 * in JSON or as a table to @out and returns the status
	 * (NSF_CTL_ERROR with a one-line body for "no such pid"). */
	int (*answer)(void *ctx, __u32 pid, bool json, FILE *out);
	void *ctx;
};

/*
 * Takes PATH.lock and listens at @path (NULL: the default). NULL with
 * errno set after one clear line (EADDRINUSE: another nsflushd serves
 * there; EEXIST: something that is not a socket is at @path).
 */
struct nsf_ctl *nsf_ctl_listen(const char *path);

/* Readable when nsf_ctl_serve() has something to do: poll it, or add it
 * to the daemon's epoll. */
int nsf_ctl_fd(const struct nsf_ctl *c);

/* Accepts, reads, answers and writes what is ready now, reaps the
 * answering children and drops the clients past their deadline; never
 * waits. Call it when nsf_ctl_fd() is readable and at least once a second. */
void nsf_ctl_serve(struct nsf_ctl *c, const struct nsf_ctl_handler *h);

/* Clients being served (accepted, not yet done or dropped), answering
 * children included. */
int nsf_ctl_clients(const struct nsf_ctl *c);

/* Drops every client, removes the socket and the lock file, frees @c. */
void nsf_ctl_close(struct nsf_ctl *c);

/*
 * Client side: sends "report PID json|table" to the daemon at @path (NULL:
 * the default), copies the body to @body and stores the status in
 * *@status. Returns 0, or -errno of socket()/connect() (-ENOENT,
 * -ECONNREFUSED: no daemon; -EACCES, -EPERM: not root), -EBADE when the
 * server is not root (its peer credentials: the answer is not trusted),
 * -EPROTO when the answer is malformed, -ETIMEDOUT when the daemon does
 * not answer within @timeout_ms. Prints nothing.
 */
int nsf_ctl_report(const char *path, __u32 pid, bool json, FILE *body,
		   int *status, int timeout_ms);

#endif /* NSF_CTL_H */
