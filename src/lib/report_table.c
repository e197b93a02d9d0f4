// SPDX-License-Identifier: GPL-2.0
/* The audit for people (report.h): nsflush-audit's default output. */
#include <stdbool.h>
#include <string.h>
#include "report.h"
#include "state.h"
#include "text.h"

#define U64(x) ((unsigned long long)(x))

static void table_comm(FILE *out, const char *comm, int width)
{
	char buf[3 * NSFLUSH_COMM_LEN + 1];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f) {
		fprintf(out, "%-*s", width, "?");
		return;
	}
	nsf_put_text(f, comm, NSFLUSH_COMM_LEN, NSF_ESC_TABLE);
	fputc('\0', f);
	fclose(f);
	buf[sizeof(buf) - 1] = '\0';
	fprintf(out, "%-*s", width, buf[0] ? buf : "-");
}

static void table_vmm(void *ctx, const struct nsf_vmm_info *v, const struct nsf_summary *sum)
{
	FILE *out = ctx;

	(void)sum;
	fprintf(out, "  VMM                   %u ", v->pid);
	table_comm(out, v->comm, 0);
	fputs(v->exited ? " (exited)\n" : " (running)\n", out);
}

static void table_domain(void *ctx, const struct nsf_domain_info *d)
{
	FILE *out = ctx;
	int len = 0;

	fprintf(out, "  0x%-16llx %-7u ", U64(d->id), d->pid);
	table_comm(out, d->comm, 16);
	fprintf(out, " %-10s %-8s ", nsf_backend_name(d->backend), d->coherent ? "yes" : "no");
	for (size_t j = 0; j < d->ngroups; j++)
		len += fprintf(out, "%s%u", j ? "," : "", d->groups[j]);
	if (!d->ngroups)
		len += fprintf(out, "-");
	fprintf(out, "%*s %-9s ", len < 8 ? 8 - len : 0, "", d->state);
	for (size_t j = 0; j < d->ndevices; j++) {
		fputs(j ? "," : "", out);
		nsf_put_text(out, d->devices[j], strlen(d->devices[j]), NSF_ESC_TABLE);
	}
	fputs(d->ndevices ? "\n" : "-\n", out);
}

struct bad {
	FILE *out;
	size_t n;
};

static void count_bad(void *ctx, const struct nsf_range *r)
{
	((struct bad *)ctx)->n += r->reason != NSF_REASON_NONE;
}

static void table_range(void *ctx, const struct nsf_range *r)
{
	struct bad *b = ctx;
	char h[64];

	if (r->reason == NSF_REASON_NONE)
		return;
	fprintf(b->out, "  %-7u 0x%-16llx %-10s %-14llu 0x%-16llx 0x%-16llx %-9s %s%s\n",
		r->pid, U64(r->phys), nsf_human(r->bytes, h, sizeof(h)), U64(r->bytes),
		U64(r->iova), U64(r->domain), nsf_run_state_name(r->state),
		nsf_reason_name(r->reason),
		r->origin == NSFLUSH_ORIGIN_ATTACH ? " (at attach)" :
		r->origin == NSFLUSH_ORIGIN_FOUND ? " (found at start)" : "");
}

void nsf_report_table(const struct nsf_state *s, __u32 pid, FILE *out)
{
	unsigned int inc = nsf_state_incomplete(s, pid);
	__u64 lost = nsf_state_lost(s), missed = nsf_state_missed(s);
	struct bad bad = { .out = out };
	struct nsf_summary sum;
	char b1[64], b2[64];

	nsf_state_summary(s, pid, &sum);
	if (pid)
		fprintf(out, "nsflush audit, mode %s, pid %u\n", nsf_mode_name(nsf_state_mode(s)),
			pid);
	else
		fprintf(out, "nsflush audit, mode %s, all VMMs\n",
			nsf_mode_name(nsf_state_mode(s)));
	if (inc & NSF_INCOMPLETE_LOST_EVENTS)
		fprintf(out, "\nAUDIT INCOMPLETE: %llu events were lost; ranges below may be missing\n",
			U64(lost));
	if (inc & NSF_INCOMPLETE_HOOKS_MISSED)
		fprintf(out, "\nAUDIT INCOMPLETE: the kernel skipped nsflush's hooks %llu times "
			"(recursion): those maps or unpins may be unflushed and unrecorded\n",
			U64(missed));
	if (inc & NSF_INCOMPLETE_MAPPINGS_UNREADABLE)
		fprintf(out, "\nAUDIT INCOMPLETE: what was mapped before nsflushd started could not "
			"be read (iommufd, or pages no longer at their user address)\n");
	if (inc & NSF_INCOMPLETE_STARTED_BEFORE_WATCH)
		fprintf(out, "\nAUDIT INCOMPLETE: %s started before nsflushd was watching; "
			"what it mapped before then is not known\n",
			pid ? "this process" : "a process");
	if (inc & NSF_INCOMPLETE_STATE_FULL)
		fprintf(out, "\nAUDIT INCOMPLETE: nsflushd's state was full (%u domains); "
			"some mappings were not recorded\n", NSF_STATE_MAX_DOMAINS);
	fprintf(out, "\nSummary\n");
	fprintf(out, "  non-coherent domains  %llu attached (coherent: %llu)\n",
		U64(sum.noncoherent), U64(sum.coherent));
	fprintf(out, "  mapped non-coherently %s ever, %s live now\n",
		nsf_human_exact(sum.mapped, b1, sizeof(b1)), nsf_human(sum.live, b2, sizeof(b2)));
	fprintf(out, "  flushed               %s\n", nsf_human_exact(sum.flushed, b1, sizeof(b1)));
	fprintf(out, "  unflushed             %s\n", nsf_human_exact(sum.unflushed, b1, sizeof(b1)));
	if (sum.folded_ranges)
		fprintf(out, "  not listed            %llu older unflushed ranges, %s\n",
			U64(sum.folded_ranges), nsf_human_exact(sum.folded_bytes, b1, sizeof(b1)));
	fprintf(out, "  lost events           %llu\n", U64(lost));
	nsf_state_vmms(s, pid, table_vmm, out);

	fprintf(out, "\nDomains\n");
	fprintf(out, "  %-18s %-7s %-16s %-10s %-8s %-8s %-9s %s\n", "DOMAIN", "PID", "COMM",
		"BACKEND", "COHERENT", "GROUPS", "STATE", "DEVICES");
	nsf_state_domains(s, pid, table_domain, out);

	nsf_state_ranges(s, pid, count_bad, &bad);
	fprintf(out, "\nUnflushed ranges: %zu\n", bad.n);
	if (bad.n) {
		fprintf(out, "  %-7s %-18s %-10s %-14s %-18s %-18s %-9s %s\n", "PID", "PHYS",
			"SIZE", "BYTES", "IOVA", "DOMAIN", "STATE", "REASON");
		nsf_state_ranges(s, pid, table_range, &bad);
	}
	if (inc & NSF_INCOMPLETE_LOST_EVENTS)
		fprintf(out, "\nAUDIT INCOMPLETE: %llu events lost\n", U64(lost));
	if (inc & NSF_INCOMPLETE_HOOKS_MISSED)
		fprintf(out, "\nAUDIT INCOMPLETE: hooks skipped %llu times\n", U64(missed));
	if (inc & NSF_INCOMPLETE_STARTED_BEFORE_WATCH)
		fputs("\nAUDIT INCOMPLETE: started before nsflushd was watching\n", out);
	if (inc & NSF_INCOMPLETE_MAPPINGS_UNREADABLE)
		fputs("\nAUDIT INCOMPLETE: mappings found at start unreadable\n", out);
	if (inc & NSF_INCOMPLETE_STATE_FULL)
		fputs("\nAUDIT INCOMPLETE: state full\n", out);
}
