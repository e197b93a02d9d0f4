/* SPDX-License-Identifier: GPL-2.0 */
/* The unit tests' one assertion: prints the PASS/FAIL line tests/run counts. */
#ifndef NSF_CHECK_H
#define NSF_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(name, cond, ...) do {					\
	if (cond) {							\
		printf("PASS %s\n", name);				\
		passed++;						\
	} else {							\
		printf("FAIL %s: ", name);				\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		failed++;						\
	}								\
} while (0)

#endif /* NSF_CHECK_H */
