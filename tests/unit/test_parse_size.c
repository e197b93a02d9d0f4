// SPDX-License-Identifier: GPL-2.0
/* nsf_parse_size(): every tool's PHYS/LEN/PID parsing. */
#include <stdio.h>
#include "lib/nsf.h"

static int failed;

static void ok(const char *in, uint64_t want)
{
	uint64_t got = 0;

	if (nsf_parse_size(in, &got) && got == want) {
		printf("PASS parse_size '%s'\n", in);
	} else {
		printf("FAIL parse_size '%s': want %llu, got %llu\n", in,
		       (unsigned long long)want, (unsigned long long)got);
		failed = 1;
	}
}

static void bad(const char *in)
{
	uint64_t got;

	if (!nsf_parse_size(in, &got)) {
		printf("PASS parse_size rejects '%s'\n", in);
	} else {
		printf("FAIL parse_size rejects '%s': accepted as %llu\n", in,
		       (unsigned long long)got);
		failed = 1;
	}
}

int main(void)
{
	ok("4096", 4096);
	ok("0x1000", 4096);
	ok("16M", 16ULL << 20);
	ok("1G", 1ULL << 30);
	ok("4k", 4096);
	ok("0xffffffffffffffff", ~0ULL);
	bad("");
	bad("-1");
	bad("12Q");
	bad("0x");
	bad("M");
	bad("99999999999999999999");
	bad("17179869184G");	/* 2^34 GiB overflows 64 bits */
	return failed;
}
