/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one event ABI: written by the BPF programs into the ring buffer,
 * read by nsflushd. Fixed-width types only; every field has the same
 * meaning for every backend.
 */
#ifndef NSFLUSH_EVENTS_H
#define NSFLUSH_EVENTS_H

#define NSFLUSH_COMM_LEN 16

enum nsflush_event_kind {
	NSFLUSH_EV_PIN = 1,	/* a PFN run was pinned for DMA */
	NSFLUSH_EV_UNPIN = 2,	/* a PFN run is about to be unpinned */
};

struct nsflush_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 kind;		/* enum nsflush_event_kind */
	__u32 pid;		/* tgid of the task that caused it (the VMM) */
	__u64 domain;		/* kernel address of the iommu_domain, 0 if unknown */
	__u64 iova;		/* first IOVA of the run, if known */
	__u64 pfn;		/* first PFN of the run */
	__u64 bytes;		/* length of the run */
	char comm[NSFLUSH_COMM_LEN];
};

#endif /* NSFLUSH_EVENTS_H */
