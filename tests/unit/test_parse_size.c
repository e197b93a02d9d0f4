// SPDX-License-Identifier: GPL-2.0
/* nsf_parse_size(): every tool's PHYS/LEN/PID parsing. */
#include "lib/nsf.h"
#include "check.h"

static void ok(const char *in, uint64_t want)
{
	char name[64];
	uint64_t got = 0;
	bool parsed = nsf_parse_size(in, &got);

	snprintf(name, sizeof(name), "parse_size '%s'", in);
	CHECK(name, parsed && got == want, "want %llu, got %llu%s",
	      (unsigned long long)want, (unsigned long long)got, parsed ? "" : " (rejected)");
}

static void bad(const char *in)
{
	char name[64];
	uint64_t got = 0;

	snprintf(name, sizeof(name), "parse_size rejects '%s'", in);
	CHECK(name, !nsf_parse_size(in, &got), "accepted as %llu", (unsigned long long)got);
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
	return failed != 0;
}
