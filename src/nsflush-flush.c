// SPDX-License-Identifier: GPL-2.0
/*
 * nsflush-flush: flush a physical range through the helper module, and
 * print exactly what the kfunc did. For operators and tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "lib/nsf.h"
#include "lib/flusher.h"
#include "lib/names.h"

static struct env {
	bool self_page;
	uint64_t phys, len;
} env;

static const char usage[] =
"Usage: nsflush-flush [-v] PHYS LEN\n"
"   or: nsflush-flush [-v] --self-page\n"
"Flush CPU caches for the physical range [PHYS, PHYS+LEN) through the\n"
"nsflush helper module (ordinary cacheable RAM only; the rest is skipped).\n"
"\n"
"Prints one line: phys= len= ret= flushed_bytes= skipped_<reason>_bytes=...\n"
"\n"
"  -s, --self-page   flush one locked, dirtied page of our own\n"
"  -v, --verbose     libbpf debug output\n"
"  -h, --help        this text\n"
"      --version     print the version\n"
"\n"
"Exit status:\n"
"  0  flushed (what is not RAM is skipped and counted, not an error)\n"
"  1  the kfunc rejected the range (zero length, overflow, outside RAM)\n"
"  2  usage or operational error: no module, not root\n"
"\n"
"Examples:\n"
"  nsflush-flush 0x100000 4096   one page at 1 MiB\n"
"  nsflush-flush 0xa0000 128K    the VGA hole: reported skipped\n";

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "self-page", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, NSF_OPT_VERSION },
		{},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":svh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			env.self_page = true;
			break;
		default:
			nsf_common_option(c, argv, usage);
		}
	}
	if (env.self_page) {
		if (optind != argc)
			nsf_usage_error("--self-page takes no PHYS LEN");
		return;
	}
	if (argc - optind != 2)
		nsf_usage_error("need PHYS LEN");
	if (!nsf_parse_size(argv[optind], &env.phys))
		nsf_usage_error("invalid PHYS: %s", argv[optind]);
	if (!nsf_parse_size(argv[optind + 1], &env.len))
		nsf_usage_error("invalid LEN: %s", argv[optind + 1]);
}

/* Physical address of a locked page of ours, from /proc/self/pagemap. */
static int self_page_phys(uint64_t *phys)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t entry;
	char *p;
	int fd;

	p = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mlock(p, psz)) {
		nsf_err("cannot lock a page: %s", strerror(errno));
		return -errno;
	}
	memset(p, 0x5a, psz);	/* dirty it: something to write back */
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || pread(fd, &entry, sizeof(entry),
			    (uintptr_t)p / psz * sizeof(entry)) != sizeof(entry)) {
		nsf_err("cannot read /proc/self/pagemap: %s", strerror(errno));
		return -errno;
	}
	close(fd);
	/* bit 63: present; bits 0-54: PFN (zero without CAP_SYS_ADMIN) */
	if (!(entry >> 63) || !(entry & ((1ULL << 55) - 1))) {
		nsf_err("no PFN for our page in /proc/self/pagemap");
		return -ENOENT;
	}
	*phys = (entry & ((1ULL << 55) - 1)) * psz;
	return 0;
}

int main(int argc, char **argv)
{
	struct nsflush_flush_result res;
	struct nsf_flusher *f;
	int err, kret;

	nsf_prog = "nsflush-flush";
	parse_args(argc, argv);
	nsf_setup_libbpf();
	if (nsf_check_bpf_prereqs())
		return NSF_EXIT_ERROR;
	if (env.self_page) {
		if (self_page_phys(&env.phys))
			return NSF_EXIT_ERROR;
		env.len = sysconf(_SC_PAGESIZE);
	}
	if (nsf_flusher_open(&f))
		return NSF_EXIT_ERROR;
	err = nsf_flush_phys(f, env.phys, env.len, &kret, &res);
	nsf_flusher_close(f);
	if (err) {
		nsf_err("cannot run the flush program: %s", strerror(-err));
		return NSF_EXIT_ERROR;
	}
	printf("phys=0x%llx len=%llu ret=%d", (unsigned long long)env.phys,
	       (unsigned long long)env.len, kret);
	if (kret) {
		printf(" error=%s\n", strerror(-kret));
		return NSF_EXIT_FOUND;
	}
	printf(" flushed_bytes=%llu", (unsigned long long)res.flushed_bytes);
	for (int i = 0; i < NSFLUSH_SKIP_NR; i++)
		printf(" skipped_%s_bytes=%llu", nsf_skip_name(i),
		       (unsigned long long)res.skipped_bytes[i]);
	putchar('\n');
	return NSF_EXIT_OK;
}
