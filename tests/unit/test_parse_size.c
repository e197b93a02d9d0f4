// SPDX-License-Identifier: GPL-2.0
/* nsf_parse_size() (every tool's PHYS/LEN) and nsf_parse_decimal() (pids,
 * seconds: strict decimal). */
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

static void dec(const char *in, uint64_t max, bool accept, uint64_t want)
{
	char name[64];
	uint64_t got = 0;
	bool parsed = nsf_parse_decimal(in, max, &got);

	snprintf(name, sizeof(name), "parse_decimal %s '%s'", accept ? "takes" : "rejects", in);
	CHECK(name, parsed == accept && (!accept || got == want), "%s %llu",
	      parsed ? "got" : "rejected", (unsigned long long)got);
}

int main(void)
{
	dec("1", 10, true, 1);
	dec("8", 2147483647, true, 8);
	dec("2147483647", 2147483647, true, 2147483647);
	dec("2147483648", 2147483647, false, 0);
	dec("99999999999999999999999", ~0ULL, false, 0);
	dec("18446744073709551615", ~0ULL, true, ~0ULL);
	dec("18446744073709551616", ~0ULL, false, 0);
	static const char *const refused[] = { "010", "0", "1k", "0x10", "-1", "", "+5", " 5",
						"5 ", "1.0" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		dec(refused[i], ~0ULL, false, 0);
	dec(NULL, 10, false, 0);

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
