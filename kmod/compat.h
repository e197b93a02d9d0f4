/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that differs between the kernels nsflush builds for (Debian
 * 6.1 to 7.3), in one place.
 */
#ifndef NSFLUSH_COMPAT_H
#define NSFLUSH_COMPAT_H

#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/version.h>

/* 6.16 renamed the 64-bit MSR accessors from ...l to ...q. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
#define rdmsrq_safe(msr, p)	rdmsrl_safe(msr, p)
#endif

/* 6.1 has no __bpf_kfunc: keep the function and its BTF alive by hand. */
#ifndef __bpf_kfunc
#define __bpf_kfunc __used noinline
#endif

/* 6.1 has no __bpf_kfunc_start_defs(): kfuncs have no prototypes. */
#ifndef __bpf_kfunc_start_defs
#define __bpf_kfunc_start_defs()					\
	__diag_push();							\
	__diag_ignore_all("-Wmissing-prototypes",			\
			  "kfuncs are declared in BTF, not in headers")
#define __bpf_kfunc_end_defs() __diag_pop()
#endif

/*
 * 6.9+ rejects a kfunc set not flagged BTF_SET8_KFUNCS, which only
 * BTF_KFUNCS_START sets; before that a plain set8 is the kfunc set.
 */
#ifndef BTF_KFUNCS_START
#define BTF_KFUNCS_START(name)	BTF_SET8_START(name)
#define BTF_KFUNCS_END(name)	BTF_SET8_END(name)
#endif

#endif /* NSFLUSH_COMPAT_H */
