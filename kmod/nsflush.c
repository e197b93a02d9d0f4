// SPDX-License-Identifier: GPL-2.0
/*
 * nsflush: a kfunc that writes back and invalidates the CPU caches for a
 * physical range, so that a device doing non-snooped DMA through a
 * non-coherent IOMMU domain sees what the CPU wrote (and the CPU does not
 * read stale lines afterwards). BPF programs call it from fentry/fexit on
 * the VFIO paths (BPF_PROG_TYPE_TRACING) or from user space through a
 * BPF_PROG_TYPE_SYSCALL program run with BPF_PROG_TEST_RUN.
 *
 *   int nsflush_flush_phys(u64 phys, u64 len, struct nsflush_flush_result *res)
 *
 * Only ordinary cacheable RAM is flushed: a page must have a struct page
 * (pfn_valid), not be PageReserved, be present in the kernel direct map,
 * and be mapped write-back there (decoded from the PTE's PWT/PCD/PAT bits
 * through the CPU's PAT MSR, at the level the direct map uses). Anything
 * else is skipped and counted, never CLFLUSHed: a CLFLUSH of some MMIO
 * (the VGA hole 0xa0000-0xbffff) can raise a machine check. The contract
 * (errors, result accounting) is in include/nsflush_kfunc.h.
 *
 * Counters, in /sys/kernel/nsflush/ (read-only, decimal, since load):
 *   calls                     kfunc calls, including failed ones
 *   errors                    calls that returned an error
 *   flushed_bytes             bytes of requested ranges that were flushed
 *   skipped_no_page_bytes     ... skipped: !pfn_valid (hole, MMIO)
 *   skipped_reserved_bytes    ... skipped: PageReserved (firmware, VGA)
 *   skipped_not_mapped_bytes  ... skipped: not present in the direct map
 *   skipped_uncached_bytes    ... skipped: direct map not write-back
 *   clflushopt                1 if CLFLUSHOPT is used, 0 for CLFLUSH
 * flushed_bytes + the four skipped_* == the bytes of all successful calls.
 *
 * With the parameter test_interface=1 (off by default), root can also
 * write "PHYS LEN" (any base) to /sys/kernel/nsflush/test_flush and read
 * "RET FLUSHED NO_PAGE RESERVED NOT_MAPPED UNCACHED" back from it, to test
 * the module without BPF; reading /sys/kernel/nsflush/test_selftest makes
 * pages uncached/write-combining with set_memory_*() and checks the
 * verdicts ("PASS name" / "FAIL name: why" lines).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/pfn.h>
#include <linux/atomic.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/mutex.h>
#include <linux/bpf.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/pgtable.h>
#include <asm/set_memory.h>

#include "compat.h"
#include "flush_loop.h"

static bool test_interface;
module_param(test_interface, bool, 0400);
MODULE_PARM_DESC(test_interface, "expose /sys/kernel/nsflush/test_flush (root, for tests)");

/* Bit i set: PAT entry i is write-back. Read from the MSR at load. */
static u8 nsflush_pat_wb;

enum {
	NSF_CALLS,
	NSF_ERRORS,
	NSF_FLUSHED,
	NSF_SKIPPED,	/* + enum nsflush_skip_reason */
	NSF_NR = NSF_SKIPPED + NSFLUSH_SKIP_NR,
};
static atomic64_t nsflush_stat[NSF_NR];

struct nsflush_walk_ctx {
	unsigned int line;
	/* Pfns [map_start, map_end) share one direct-map entry and verdict. */
	u64 map_start;
	u64 map_end;
	int map_verdict;
};

/* Memory type encodings in IA32_PAT (SDM vol. 3, "PAT"). */
#define NSF_PAT_WB	6

static void nsflush_read_pat(void)
{
	u64 pat;
	int i;

	/*
	 * No PAT (or no MSR): PCD/PWT select the legacy types and only
	 * PCD=PWT=0 is write-back, as in the power-on PAT's entries 0 and 4.
	 */
	if (!boot_cpu_has(X86_FEATURE_PAT) ||
	    rdmsrq_safe(MSR_IA32_CR_PAT, &pat)) {
		nsflush_pat_wb = BIT(0) | BIT(4);
		return;
	}
	for (i = 0; i < 8; i++)
		if (((pat >> (i * 8)) & 7) == NSF_PAT_WB)
			nsflush_pat_wb |= BIT(i);
}

/*
 * The PAT index of a direct-map entry: the PAT bit moves to bit 12 in
 * large pages. Raw entry bits, not pte_flags(): that masks bit 12 away as
 * part of the pfn.
 */
static int nsflush_cache_verdict(pteval_t flags, unsigned int level)
{
	pteval_t pat_bit = level == PG_LEVEL_4K ? _PAGE_PAT : _PAGE_PAT_LARGE;
	unsigned int idx = (flags & _PAGE_PWT ? 1 : 0) |
			   (flags & _PAGE_PCD ? 2 : 0) |
			   (flags & pat_bit ? 4 : 0);

	return nsflush_pat_wb & BIT(idx) ? NSFLUSH_FLUSH : NSFLUSH_SKIP_UNCACHED;
}

/*
 * Look up the direct-map entry of @pfn once for the whole 4K/2M/1G page it
 * belongs to: a 1 GiB run mapped with 1G pages costs one page-table walk.
 */
static void nsflush_lookup_map(struct nsflush_walk_ctx *c, u64 pfn)
{
	unsigned long va = (unsigned long)__va(PFN_PHYS(pfn));
	unsigned long size = PAGE_SIZE;
	unsigned int level;
	pte_t *ptep, pte;

	ptep = lookup_address(va, &level);
	if (ptep)
		pte = READ_ONCE(*ptep);
	if (!ptep || !pte_present(pte)) {
		c->map_verdict = NSFLUSH_SKIP_NOT_MAPPED;
	} else {
		c->map_verdict = nsflush_cache_verdict(pte_val(pte), level);
		size = page_level_size(level);
	}
	c->map_start = pfn - ((va & (size - 1)) >> PAGE_SHIFT);
	c->map_end = c->map_start + (size >> PAGE_SHIFT);
}

static int nsflush_classify(u64 pfn, void *arg)
{
	struct nsflush_walk_ctx *c = arg;

	if (!pfn_valid(pfn))
		return NSFLUSH_SKIP_NO_PAGE;
	if (PageReserved(pfn_to_page(pfn)))
		return NSFLUSH_SKIP_RESERVED;
	if (pfn < c->map_start || pfn >= c->map_end)
		nsflush_lookup_map(c, pfn);
	return c->map_verdict;
}

/* [start, end) lies in eligible pages, so whole lines may be flushed. */
static void nsflush_flush_run(u64 start, u64 end, void *arg)
{
	struct nsflush_walk_ctx *c = arg;
	unsigned long va = (unsigned long)__va(start);

	if (cpu_feature_enabled(X86_FEATURE_CLFLUSHOPT))
		nsflush_clflushopt_lines(va, va + (end - start), c->line);
	else
		nsflush_clflush_lines(va, va + (end - start), c->line);
}

/* First physical address past RAM: high_memory is __va(max_pfn << PAGE_SHIFT). */
static u64 nsflush_ram_end(void)
{
	return __pa(high_memory - 1) + 1;
}

static int nsflush_do_flush(u64 phys, u64 len, struct nsflush_flush_result *res)
{
	struct nsflush_walk_ctx c = {
		.line = boot_cpu_data.x86_clflush_size ?: 64,
	};
	int err, i;

	atomic64_inc(&nsflush_stat[NSF_CALLS]);
	err = nsflush_check_args(phys, len, nsflush_ram_end());
	if (err) {
		memset(res, 0, sizeof(*res));
		atomic64_inc(&nsflush_stat[NSF_ERRORS]);
		return err;
	}

	nsflush_walk(phys, len, res, nsflush_classify, nsflush_flush_run, &c);
	/* One fence for the whole request, not one per page or run. */
	if (res->flushed_bytes)
		nsflush_flush_fence();

	atomic64_add(res->flushed_bytes, &nsflush_stat[NSF_FLUSHED]);
	for (i = 0; i < NSFLUSH_SKIP_NR; i++)
		if (res->skipped_bytes[i])
			atomic64_add(res->skipped_bytes[i],
				     &nsflush_stat[NSF_SKIPPED + i]);
	return 0;
}

__bpf_kfunc_start_defs();

/*
 * Runs in the calling program's context (often atomic: no sleeping, no
 * per-call size cap; a 1 GiB run takes tens of milliseconds on the host).
 */
__bpf_kfunc int nsflush_flush_phys(u64 phys, u64 len,
				   struct nsflush_flush_result *res)
{
	/* The verifier passes only valid memory; a NULL would be a bug. */
	if (unlikely(!res)) {
		atomic64_inc(&nsflush_stat[NSF_CALLS]);
		atomic64_inc(&nsflush_stat[NSF_ERRORS]);
		return -EINVAL;
	}
	return nsflush_do_flush(phys, len, res);
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(nsflush_kfunc_ids)
BTF_ID_FLAGS(func, nsflush_flush_phys)
BTF_KFUNCS_END(nsflush_kfunc_ids)

static const struct btf_kfunc_id_set nsflush_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &nsflush_kfunc_ids,
};

/* sysfs */

static const char * const nsflush_stat_name[NSF_NR] = {
	[NSF_CALLS] = "calls",
	[NSF_ERRORS] = "errors",
	[NSF_FLUSHED] = "flushed_bytes",
	[NSF_SKIPPED + NSFLUSH_SKIP_NO_PAGE] = "skipped_no_page_bytes",
	[NSF_SKIPPED + NSFLUSH_SKIP_RESERVED] = "skipped_reserved_bytes",
	[NSF_SKIPPED + NSFLUSH_SKIP_NOT_MAPPED] = "skipped_not_mapped_bytes",
	[NSF_SKIPPED + NSFLUSH_SKIP_UNCACHED] = "skipped_uncached_bytes",
};

static struct kobj_attribute nsflush_stat_attr[NSF_NR];

static ssize_t stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	unsigned int i = attr - nsflush_stat_attr;

	return sysfs_emit(buf, "%lld\n", atomic64_read(&nsflush_stat[i]));
}

static ssize_t clflushopt_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", !!cpu_feature_enabled(X86_FEATURE_CLFLUSHOPT));
}

static struct kobj_attribute nsflush_clflushopt_attr = __ATTR_RO(clflushopt);

static DEFINE_MUTEX(nsflush_test_lock);
static struct nsflush_flush_result nsflush_test_res;
static int nsflush_test_ret;

static ssize_t test_flush_store(struct kobject *kobj,
				struct kobj_attribute *attr,
				const char *buf, size_t count)
{
	unsigned long long phys, len;

	if (sscanf(buf, "%lli %lli", &phys, &len) != 2)
		return -EINVAL;
	mutex_lock(&nsflush_test_lock);
	/* Like a TRACING program: with preemption off. */
	preempt_disable();
	nsflush_test_ret = nsflush_flush_phys(phys, len, &nsflush_test_res);
	preempt_enable();
	mutex_unlock(&nsflush_test_lock);
	return count;
}

static ssize_t test_flush_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	const struct nsflush_flush_result *r = &nsflush_test_res;
	ssize_t n;

	mutex_lock(&nsflush_test_lock);
	n = sysfs_emit(buf, "%d %llu %llu %llu %llu %llu\n", nsflush_test_ret,
		       r->flushed_bytes, r->skipped_bytes[0],
		       r->skipped_bytes[1], r->skipped_bytes[2],
		       r->skipped_bytes[3]);
	mutex_unlock(&nsflush_test_lock);
	return n;
}

static struct kobj_attribute nsflush_test_attr =
	__ATTR(test_flush, 0600, test_flush_show, test_flush_store);

/*
 * Reading test_selftest changes the direct-map caching of pages the
 * module allocates and checks the verdicts, including a 4K page split out
 * of a large mapping. Lines are "PASS name" or "FAIL name: ...".
 */
struct nsflush_expect {
	u64 flushed, uncached;
};

static int nsflush_selftest_one(char *buf, int n, const char *name, u64 phys,
				u64 len, struct nsflush_expect want)
{
	struct nsflush_flush_result r;
	int ret = nsflush_flush_phys(phys, len, &r);

	if (!ret && r.flushed_bytes == want.flushed &&
	    r.skipped_bytes[NSFLUSH_SKIP_UNCACHED] == want.uncached &&
	    r.flushed_bytes + r.skipped_bytes[NSFLUSH_SKIP_UNCACHED] == len)
		return n + sysfs_emit_at(buf, n, "PASS %s\n", name);
	return n + sysfs_emit_at(buf, n,
				 "FAIL %s: ret %d flushed %llu uncached %llu, want %llu %llu\n",
				 name, ret, r.flushed_bytes,
				 r.skipped_bytes[NSFLUSH_SKIP_UNCACHED],
				 want.flushed, want.uncached);
}

static ssize_t test_selftest_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	const unsigned int order = PMD_SHIFT - PAGE_SHIFT;
	struct page *page;
	unsigned long va;
	u64 pa, big = PAGE_SIZE << order;
	int n = 0;

	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	va = (unsigned long)page_address(page);
	pa = PFN_PHYS(page_to_pfn(page));
	n = nsflush_selftest_one(buf, n, "wb_page", pa, PAGE_SIZE,
				 (struct nsflush_expect){ PAGE_SIZE, 0 });
	if (!set_memory_uc(va, 1)) {
		n = nsflush_selftest_one(buf, n, "uc_page", pa + 100, 200,
					 (struct nsflush_expect){ 0, 200 });
		set_memory_wb(va, 1);
	} else {
		n += sysfs_emit_at(buf, n, "FAIL uc_page: set_memory_uc failed\n");
	}
	if (!set_memory_wc(va, 1)) {
		n = nsflush_selftest_one(buf, n, "wc_page", pa, PAGE_SIZE,
					 (struct nsflush_expect){ 0, PAGE_SIZE });
		set_memory_wb(va, 1);
	} else {
		n += sysfs_emit_at(buf, n, "FAIL wc_page: set_memory_wc failed\n");
	}
	n = nsflush_selftest_one(buf, n, "wb_again", pa, PAGE_SIZE,
				 (struct nsflush_expect){ PAGE_SIZE, 0 });
	__free_page(page);

	/* One uncached 4K page inside a 2M block: the split must be seen. */
	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	if (!page)
		return n + sysfs_emit_at(buf, n, "SKIP split_page: no 2M block\n");
	va = (unsigned long)page_address(page);
	pa = PFN_PHYS(page_to_pfn(page));
	n = nsflush_selftest_one(buf, n, "wb_2m", pa, big,
				 (struct nsflush_expect){ big, 0 });
	if (!set_memory_uc(va + 5 * PAGE_SIZE, 1)) {
		n = nsflush_selftest_one(buf, n, "uc_in_2m", pa, big,
					 (struct nsflush_expect){ big - PAGE_SIZE, PAGE_SIZE });
		set_memory_wb(va + 5 * PAGE_SIZE, 1);
	} else {
		n += sysfs_emit_at(buf, n, "FAIL uc_in_2m: set_memory_uc failed\n");
	}
	__free_pages(page, order);
	return n;
}

static struct kobj_attribute nsflush_selftest_attr = __ATTR_RO_MODE(test_selftest, 0400);

static struct attribute *nsflush_attrs[NSF_NR + 4];
static const struct attribute_group nsflush_group = {
	.attrs = nsflush_attrs,
};
static struct kobject *nsflush_kobj;

static int __init nsflush_init(void)
{
	int i, n = 0, err;

	/*
	 * 6.12 registers kfuncs of a module without BTF "successfully" (it
	 * only logs), and unresolved ids (a 6.1 build without kmod/build's
	 * btfids step) would name no function: refuse both loudly.
	 */
#ifdef CONFIG_DEBUG_INFO_BTF_MODULES
	if (!THIS_MODULE->btf_data_size) {
		pr_err("no module BTF: build with kmod/build (pahole + base BTF)\n");
		return -ENOEXEC;
	}
#endif
	if (!nsflush_kfunc_ids.cnt || !nsflush_kfunc_ids.pairs[0].id) {
		pr_err("kfunc BTF ids unresolved: build with kmod/build\n");
		return -ENOEXEC;
	}

	nsflush_read_pat();

	for (i = 0; i < NSF_NR; i++) {
		sysfs_attr_init(&nsflush_stat_attr[i].attr);
		nsflush_stat_attr[i].attr.name = nsflush_stat_name[i];
		nsflush_stat_attr[i].attr.mode = 0444;
		nsflush_stat_attr[i].show = stat_show;
		nsflush_attrs[n++] = &nsflush_stat_attr[i].attr;
	}
	nsflush_attrs[n++] = &nsflush_clflushopt_attr.attr;
	if (test_interface) {
		nsflush_attrs[n++] = &nsflush_test_attr.attr;
		nsflush_attrs[n++] = &nsflush_selftest_attr.attr;
	}

	nsflush_kobj = kobject_create_and_add("nsflush", kernel_kobj);
	if (!nsflush_kobj)
		return -ENOMEM;
	err = sysfs_create_group(nsflush_kobj, &nsflush_group);
	if (err)
		goto out_put;

	/*
	 * Registered per program type: fentry/fexit on the VFIO paths, and
	 * SYSCALL for user space (allowed from 6.1 on, tested on Debian's).
	 */
	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &nsflush_kfunc_set);
	if (!err)
		err = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL,
						&nsflush_kfunc_set);
	if (err) {
		pr_err("cannot register kfunc (%d): module BTF missing?\n", err);
		goto out_put;
	}

	pr_info("ready: %s, %u-byte lines, PAT write-back entries 0x%02x\n",
		cpu_feature_enabled(X86_FEATURE_CLFLUSHOPT) ? "clflushopt" : "clflush",
		boot_cpu_data.x86_clflush_size, nsflush_pat_wb);
	return 0;

out_put:
	kobject_put(nsflush_kobj);
	return err;
}

static void __exit nsflush_exit(void)
{
	kobject_put(nsflush_kobj);
}

module_init(nsflush_init);
module_exit(nsflush_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(NSFLUSH_VERSION);
MODULE_DESCRIPTION("Flush CPU caches for DMA into non-coherent IOMMU domains (BPF kfunc)");
