/* SPDX-License-Identifier: GPL-2.0 */
/* Text for reports: names and comms escaped for JSON, Prometheus labels
 * and table cells (always valid UTF-8), and human sizes. */
#ifndef NSF_TEXT_H
#define NSF_TEXT_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

enum nsf_escape { NSF_ESC_JSON, NSF_ESC_PROM, NSF_ESC_TABLE };

/* Writes @in[0..n) (stops at NUL) escaped, as valid UTF-8: invalid bytes
 * become U+FFFD. */
void nsf_put_text(FILE *out, const char *in, size_t n, enum nsf_escape esc);
/* A JSON string: quotes included. */
void nsf_json_str(FILE *out, const char *str, size_t n);

/* "256 MiB", "1.5 GiB", "4 KiB", "512 B" */
const char *nsf_human(__u64 bytes, char *buf, size_t size);
/* "256 MiB (268435456 bytes)", or "512 B" when that says it all */
const char *nsf_human_exact(__u64 bytes, char *buf, size_t size);

#endif /* NSF_TEXT_H */
