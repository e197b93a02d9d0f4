// SPDX-License-Identifier: GPL-2.0
/* The audit as one JSON document (report.h). */
#include <stdbool.h>
#include <string.h>
#include "report.h"
#include "state.h"
#include "text.h"

#define U64(x) ((unsigned long long)(x))

struct list {
	FILE *out;
	bool first;
};

static void sep(struct list *l)
{
	fputs(l->first ? "\n    " : ",\n    ", l->out);
	l->first = false;
}

static void end(struct list *l)
{
	fputs(l->first ? "],\n" : "\n  ],\n", l->out);
}

static void json_vmm(void *ctx, const struct nsf_vmm_info *v, const struct nsf_summary *sum)
{
	struct list *l = ctx;

	(void)sum;
	sep(l);
	fprintf(l->out, "{\"pid\": %u, \"comm\": ", v->pid);
	nsf_json_str(l->out, v->comm, NSFLUSH_COMM_LEN);
	fprintf(l->out, ", \"exited\": %s}", v->exited ? "true" : "false");
}

static void json_domain(void *ctx, const struct nsf_domain_info *d)
{
	struct list *l = ctx;
	FILE *out = l->out;

	sep(l);
	fprintf(out, "{\"domain\": \"0x%llx\", \"pid\": %u, \"comm\": ", U64(d->id), d->pid);
	nsf_json_str(out, d->comm, NSFLUSH_COMM_LEN);
	fprintf(out, ", \"backend\": \"%s\", \"container\": \"0x%llx\", "
		"\"coherent\": %s, \"groups\": [",
		nsf_backend_name(d->backend), U64(d->container), d->coherent ? "true" : "false");
	for (size_t j = 0; j < d->ngroups; j++)
		fprintf(out, "%s%u", j ? ", " : "", d->groups[j]);
	fputs("], \"devices\": [", out);
	for (size_t j = 0; j < d->ndevices; j++) {
		fputs(j ? ", " : "", out);
		nsf_json_str(out, d->devices[j], strlen(d->devices[j]));
	}
	fprintf(out, "], \"state\": \"%s\"}", d->state);
}

static void json_range(void *ctx, const struct nsf_range *r)
{
	struct list *l = ctx;
	const char *reason = nsf_reason_name(r->reason);

	sep(l);
	fprintf(l->out, "{\"pid\": %u, \"phys\": \"0x%llx\", \"bytes\": %llu, "
		"\"iova\": \"0x%llx\", \"domain\": \"0x%llx\", \"origin\": \"%s\", "
		"\"point\": \"%s\", \"state\": \"%s\", \"flushed_before_map\": %s, "
		"\"flushed_before_unpin\": %s, \"reason\": ",
		r->pid, U64(r->phys), U64(r->bytes), U64(r->iova), U64(r->domain),
		nsf_origin_name(r->origin), r->at_unpin ? "unpin" : "map",
		nsf_run_state_name(r->state), r->flushed_before_map ? "true" : "false",
		r->flushed_before_unpin ? "true" : "false");
	if (reason)
		fprintf(l->out, "\"%s\"}", reason);
	else
		fputs("null}", l->out);
}

void nsf_report_json(const struct nsf_state *s, __u32 pid, FILE *out)
{
	unsigned int inc = nsf_state_incomplete(s, pid);
	struct list l = { .out = out, .first = true };
	struct nsf_summary sum;
	const char *comma = "";

	nsf_state_summary(s, pid, &sum);
	fprintf(out, "{\n  \"version\": 1,\n  \"mode\": \"%s\",\n",
		nsf_mode_name(nsf_state_mode(s)));
	if (pid)
		fprintf(out, "  \"pid\": %u,\n", pid);
	else
		fputs("  \"pid\": null,\n", out);
	fprintf(out, "  \"complete\": %s,\n  \"incomplete\": [", inc ? "false" : "true");
	for (unsigned int i = 0; i < NSF_INCOMPLETE_NR; i++) {
		if (!(inc & 1U << i))
			continue;
		fprintf(out, "%s\"%s\"", comma, nsf_incomplete_name(1U << i));
		comma = ", ";
	}
	fputs("],\n", out);
	fprintf(out, "  \"summary\": {\"noncoherent_domains\": %llu, \"coherent_domains\": %llu, "
		"\"mapped_bytes\": %llu, \"mapped_by_origin\": {",
		U64(sum.noncoherent), U64(sum.coherent), U64(sum.mapped));
	for (unsigned int i = 0; i < 3; i++)
		fprintf(out, "%s\"%s\": %llu", i ? ", " : "", nsf_origin_name(i),
			U64(sum.mapped_by_origin[i]));
	fprintf(out, "}, \"live_bytes\": %llu, \"live_runs\": %llu, \"flushed_bytes\": %llu, "
		"\"unflushed_bytes\": %llu, \"unflushed_by_reason\": {",
		U64(sum.live), U64(sum.live_runs), U64(sum.flushed), U64(sum.unflushed));
	for (int i = NSF_REASON_NONE + 1; i < NSF_REASON_NR; i++)
		fprintf(out, "%s\"%s\": %llu", i > 1 ? ", " : "", nsf_reason_name(i),
			U64(sum.by_reason[i]));
	fprintf(out, "}, \"preexisting_bytes\": %llu, \"done_bytes\": %llu, "
		"\"folded_ranges\": %llu, \"folded_bytes\": %llu, \"lost_events\": %llu, "
		"\"hook_misses\": %llu},\n",
		U64(sum.by_reason[NSF_REASON_PRE_EXISTING]), U64(sum.done),
		U64(sum.folded_ranges), U64(sum.folded_bytes), U64(nsf_state_lost(s)),
		U64(nsf_state_missed(s)));

	fputs("  \"vmms\": [", out);
	nsf_state_vmms(s, pid, json_vmm, &l);
	end(&l);
	l.first = true;
	fputs("  \"domains\": [", out);
	nsf_state_domains(s, pid, json_domain, &l);
	end(&l);
	l.first = true;
	fputs("  \"ranges\": [", out);
	nsf_state_ranges(s, pid, json_range, &l);
	fputs(l.first ? "]\n}\n" : "\n  ]\n}\n", out);
}
