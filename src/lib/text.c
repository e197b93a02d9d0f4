// SPDX-License-Identifier: GPL-2.0
/* Escaping and human sizes (text.h). */
#include <stdbool.h>
#include "text.h"

/* A Prometheus label value escapes these three only. */
static const char *prom_esc(int c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	}
	return NULL;
}

/* JSON: those, and every other control character. */
static const char *json_esc(int c)
{
	static char buf[8];
	const char *e = prom_esc(c);

	if (e)
		return e;
	if (c == '\t')
		return "\\t";
	if (c < 0x20 || c == 0x7f) {
		snprintf(buf, sizeof(buf), "\\u%04x", c);
		return buf;
	}
	return NULL;
}

/* Table cells: no control characters. */
static const char *table_esc(int c)
{
	return c < 0x20 || c == 0x7f ? "?" : NULL;
}

void nsf_put_text(FILE *out, const char *in, size_t n, enum nsf_escape how)
{
	const char *(*esc)(int c) = how == NSF_ESC_JSON ? json_esc :
				    how == NSF_ESC_PROM ? prom_esc : table_esc;
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0;

	while (i < n && p[i]) {
		unsigned char c = p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
			     (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		bool valid = len > 0 && i + len <= n && !(len == 2 && c < 0xc2);
		__u32 cp = len == 1 ? c : c & (0x7f >> len);

		for (size_t k = 1; valid && k < len; k++) {
			valid = (p[i + k] & 0xc0) == 0x80;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (valid && len > 1)
			valid = !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) &&
				!(len == 4 && (cp < 0x10000 || cp > 0x10ffff));
		if (!valid) {
			fputs("\xef\xbf\xbd", out);
			i++;
		} else if (len == 1) {
			const char *e = esc(c);

			if (e)
				fputs(e, out);
			else
				fputc(c, out);
			i++;
		} else {
			fwrite(p + i, 1, len, out);
			i += len;
		}
	}
}

void nsf_json_str(FILE *out, const char *str, size_t n)
{
	fputc('"', out);
	nsf_put_text(out, str, n, NSF_ESC_JSON);
	fputc('"', out);
}

const char *nsf_human(__u64 bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int u = 0;

	while (u < 6 && bytes >= (1ULL << (10 * (u + 1))))
		u++;
	if (!u || !(bytes & ((1ULL << (10 * u)) - 1)))
		snprintf(buf, size, "%llu %s", (unsigned long long)(bytes >> (10 * u)), units[u]);
	else
		snprintf(buf, size, "%.1f %s", (double)bytes / (double)(1ULL << (10 * u)),
			 units[u]);
	return buf;
}

const char *nsf_human_exact(__u64 bytes, char *buf, size_t size)
{
	char h[32];

	if (bytes < 1024)
		return nsf_human(bytes, buf, size);
	snprintf(buf, size, "%s (%llu bytes)", nsf_human(bytes, h, sizeof(h)),
		 (unsigned long long)bytes);
	return buf;
}
