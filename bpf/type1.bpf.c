// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO type1 hooks: record every PFN run that vfio_iommu_type1 pins for a
 * user mapping and every run it unpins. These are the seed series'
 * reference points: a run is pinned right before it is mapped into the
 * container's domains, and unpinned right after its last unmap.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "nsflush_events.h"
#include "vfio_types.h"

char LICENSE[] SEC("license") = "GPL";

/* Only report this process (0: all). Set before load. */
const volatile __u32 target_tgid = 0;

/* Reservations that failed: never silent, user space surfaces the count. */
__u64 lost_events = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

static __always_inline int emit(__u32 kind, __u64 iova, __u64 pfn, __u64 npage)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct nsflush_event *e;

	if (target_tgid && tgid != target_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = tgid;
	e->domain = 0;
	e->iova = iova;
	e->pfn = pfn;
	e->bytes = npage << 12;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * long vfio_pin_pages_remote(struct vfio_dma *dma, unsigned long vaddr,
 *			      long npage, unsigned long *pfn_base,
 *			      unsigned long limit, struct vfio_batch *batch)
 * Returns the number of pages pinned, starting at *pfn_base.
 */
SEC("fexit/vfio_pin_pages_remote")
int BPF_PROG(pin_pages_remote_exit, struct vfio_dma *dma, unsigned long vaddr,
	     long npage, unsigned long *pfn_base, unsigned long limit, void *batch,
	     long ret)
{
	unsigned long pfn;
	__u64 iova;

	if (ret <= 0)
		return 0;
	if (bpf_probe_read_kernel(&pfn, sizeof(pfn), pfn_base))
		return 0;
	/* The run starts at vaddr, somewhere inside the mapping. */
	iova = BPF_CORE_READ(dma, iova) + (vaddr - BPF_CORE_READ(dma, vaddr));
	return emit(NSFLUSH_EV_PIN, iova, pfn, ret);
}

/*
 * long vfio_unpin_pages_remote(struct vfio_dma *dma, dma_addr_t iova,
 *				unsigned long pfn, long npage,
 *				bool do_accounting)
 */
SEC("fentry/vfio_unpin_pages_remote")
int BPF_PROG(unpin_pages_remote, struct vfio_dma *dma, __u64 iova, unsigned long pfn,
	     long npage, bool do_accounting)
{
	if (npage <= 0)
		return 0;
	return emit(NSFLUSH_EV_UNPIN, iova, pfn, npage);
}
