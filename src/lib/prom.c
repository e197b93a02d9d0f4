// SPDX-License-Identifier: GPL-2.0
/* Prometheus text exposition of the state (prom.h). */
#include <stdbool.h>
#include "prom.h"
#include "state.h"
#include "text.h"

#define U64(x) ((unsigned long long)(x))

static const struct {
	const char *name, *help;
} gauges[] = {
	{ "nsflush_noncoherent_domains",
	  "Non-coherent IOMMU domains the VMM has attached now." },
	{ "nsflush_mapped_bytes",
	  "Bytes the VMM has mapped into non-coherent domains now." },
	{ "nsflush_unflushed_bytes",
	  "Bytes of the VMM's memory without a flush before map or before unpin." },
	{ "nsflush_preexisting_bytes",
	  "Of those, bytes found mapped when nsflushd started, with no flush known." },
};

struct gauge {
	FILE *out;
	size_t g;
};

static __u64 gauge_value(size_t g, const struct nsf_summary *sum)
{
	switch (g) {
	case 0:
		return sum->noncoherent;
	case 1:
		return sum->live;
	case 2:
		return sum->unflushed;
	}
	return sum->by_reason[NSF_REASON_PRE_EXISTING];
}

/* A VMM shadowed by a newer one with the same pid (pid reuse) would
 * repeat the same label set: only the newest is exported. */
static void gauge_vmm(void *ctx, const struct nsf_vmm_info *v, const struct nsf_summary *sum)
{
	struct gauge *g = ctx;

	if (v->shadowed)
		return;
	fprintf(g->out, "%s{pid=\"%u\",comm=\"", gauges[g->g].name, v->pid);
	nsf_put_text(g->out, v->comm, NSFLUSH_COMM_LEN, NSF_ESC_PROM);
	fprintf(g->out, "\"} %llu\n", U64(gauge_value(g->g, sum)));
}

void nsf_prom_write(const struct nsf_state *s, FILE *out)
{
	struct nsf_state_totals t;
	enum nsf_mode mode = nsf_state_mode(s);

	for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		struct gauge ctx = { .out = out, .g = g };

		fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name, gauges[g].help,
			gauges[g].name);
		nsf_state_vmms(s, 0, gauge_vmm, &ctx);
	}
	nsf_state_totals(s, &t);
	fputs("# HELP nsflush_flushed_bytes_total Bytes flushed for VMMs (before map, before unpin, late).\n"
	      "# TYPE nsflush_flushed_bytes_total counter\n", out);
	fprintf(out, "nsflush_flushed_bytes_total %llu\n", U64(t.flushed));
	fputs("# HELP nsflush_flush_skipped_bytes_total Bytes flushes skipped, not ordinary cacheable RAM.\n"
	      "# TYPE nsflush_flush_skipped_bytes_total counter\n", out);
	for (int i = 0; i < NSFLUSH_SKIP_NR; i++)
		fprintf(out, "nsflush_flush_skipped_bytes_total{reason=\"%s\"} %llu\n",
			nsf_skip_name(i), U64(t.skipped[i]));
	fputs("# HELP nsflush_events_lost_total Kernel events lost (the audit is incomplete).\n"
	      "# TYPE nsflush_events_lost_total counter\n", out);
	fprintf(out, "nsflush_events_lost_total %llu\n", U64(nsf_state_lost(s)));
	fputs("# HELP nsflush_hook_misses_total Hooks the kernel skipped (recursion): maps or "
	      "unpins possibly unflushed (the audit is incomplete).\n"
	      "# TYPE nsflush_hook_misses_total counter\n", out);
	fprintf(out, "nsflush_hook_misses_total %llu\n", U64(nsf_state_missed(s)));
	fputs("# HELP nsflush_state_runs Runs nsflushd holds now (mapped or still pinned).\n"
	      "# TYPE nsflush_state_runs gauge\n", out);
	fprintf(out, "nsflush_state_runs %llu\n", U64(t.live_runs));
	fputs("# HELP nsflush_state_memory_bytes Memory nsflushd's state engine holds.\n"
	      "# TYPE nsflush_state_memory_bytes gauge\n", out);
	fprintf(out, "nsflush_state_memory_bytes %llu\n", U64(t.mem_bytes));
	fprintf(out, "# HELP nsflush_enforcing 1 while the hooks flush at the reference points "
		"(enforce mode).\n# TYPE nsflush_enforcing gauge\nnsflush_enforcing %d\n",
		mode == NSF_MODE_ENFORCE);
	fputs("# HELP nsflush_mode The mode nsflushd runs in (1: this one).\n"
	      "# TYPE nsflush_mode gauge\n", out);
	for (int m = NSF_MODE_AUDIT; m < NSF_MODE_NR; m++)
		fprintf(out, "nsflush_mode{mode=\"%s\"} %d\n", nsf_mode_name(m), (int)mode == m);
}
