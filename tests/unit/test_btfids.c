// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of kmod/btfids.c (nsflush-btfids), the .BTF_ids resolver used
 * for kernels whose kbuild has no resolve_btfids (Debian 6.1).
 *
 * Builds a small object whose .BTF_ids section is laid out as the kernel's
 * btf_ids.h lays it out (ids, a set, a set8 with flags), adds BTF to it with
 * pahole -J, runs the tool, and checks every id against libbpf's view of
 * the object's BTF, the set counts, the sorting and that flags stayed with
 * their ids. Then the layout of pahole --distill_base (7.x's modules): the
 * types in a .BTF.base of the module's own, an empty split .BTF on it; the
 * ids are relative to that base, whatever -b names.
 *
 *   cc -O2 -Wall -o build/tests/test_btfids tests/unit/test_btfids.c -lbpf
 *   build/tests/test_btfids [TOOL]
 *
 * Without TOOL it builds kmod/btfids.c itself (from $NSFLUSH_ROOT or the
 * current directory; needs libbpf-dev, libelf-dev). Needs cc, pahole and
 * objcopy; without pahole it prints a SKIP line and exits 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/btf.h>

#include "check.h"

/* Written in the test's own words; the layout follows btf_ids.h. */
static const char fixture[] =
	"struct gamma { int g; };\n"
	"union uu { int a; long b; };\n"
	"typedef struct { long x; } beta_t;\n"
	"struct gamma gv; union uu uv; beta_t bv;\n"
	"__attribute__((noinline)) int zeta(int a) { return a + gv.g; }\n"
	"__attribute__((noinline)) int alpha(int a) { return a * 2 + (int)bv.x; }\n"
	"asm(\".pushsection .BTF_ids,\\\"a\\\"\\n\"\n"
	"    \"__BTF_ID__set8__kf:\\n .zero 4\\n .long 1\\n\"\n"
	"    \"__BTF_ID__func__zeta__11:\\n .zero 4\\n .long 7\\n\"\n"
	"    \"__BTF_ID__func__alpha__12:\\n .zero 4\\n .long 9\\n\"\n"
	"    \".size __BTF_ID__set8__kf, .-__BTF_ID__set8__kf\\n\"\n"
	"    \"__BTF_ID__set__st:\\n .zero 4\\n\"\n"
	"    \"__BTF_ID__typedef__beta_t__13:\\n .zero 4\\n\"\n"
	"    \"__BTF_ID__struct__gamma__14:\\n .zero 4\\n\"\n"
	"    \".size __BTF_ID__set__st, .-__BTF_ID__set__st\\n\"\n"
	"    \"__BTF_ID__union__uu__15:\\n .zero 4\\n\"\n"
	"    \".popsection\\n\");\n";

static uint32_t ids[12];	/* the section: 40 bytes, as 10 words */

/* objcopy, not libelf: the test then links with -lbpf alone. */
static int read_ids(const char *dir)
{
	char cmd[512], path[300];
	FILE *f;
	int n;

	snprintf(cmd, sizeof(cmd), "objcopy -O binary --only-section=.BTF_ids "
		 "%s/fixture.o %s/ids.bin", dir, dir);
	if (system(cmd))
		return -1;
	snprintf(path, sizeof(path), "%s/ids.bin", dir);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	n = fread(ids, 1, sizeof(ids), f);
	fclose(f);
	return n == 40 ? 0 : -1;
}

/* Write BTF's raw bytes to DIR/NAME. */
static int write_btf(const struct btf *btf, const char *dir, const char *name)
{
	char path[300];
	const void *data;
	__u32 size;
	FILE *f;
	int ok;

	data = btf__raw_data(btf, &size);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!data || !f)
		return -1;
	ok = fwrite(data, 1, size, f) == size;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return st == -1 ? -1 : WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	const char *root = getenv("NSFLUSH_ROOT") ? getenv("NSFLUSH_ROOT") : ".";
	char dir[] = "/tmp/nsflush-btfids-XXXXXX", cmd[1024], obj[256], own[256];
	const char *tool = argc > 1 ? argv[1] : own;
	int id_zeta, id_alpha, id_gamma, id_beta, id_uu;
	struct btf *btf;
	FILE *f;

	if (run("pahole --version > /dev/null 2>&1")) {
		printf("SKIP test_btfids: pahole not found\n");
		return 0;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (argc < 2) {
		snprintf(own, sizeof(own), "%s/btfids", dir);
		snprintf(cmd, sizeof(cmd), "cc -O2 -Wall -o %s %s/kmod/btfids.c -lbpf -lelf -lz",
			 own, root);
		CHECK("tool_builds", run(cmd) == 0, "%s failed", cmd);
		if (failed)
			return 1;
	}
	snprintf(obj, sizeof(obj), "%s/fixture.o", dir);
	snprintf(cmd, sizeof(cmd), "%s/fixture.c", dir);
	f = fopen(cmd, "w");
	if (!f || fputs(fixture, f) < 0 || fclose(f)) {
		perror(cmd);
		return 1;
	}
	snprintf(cmd, sizeof(cmd),
		 "cd %s && cc -g -O2 -c fixture.c -o fixture.o && "
		 "LLVM_OBJCOPY=objcopy pahole -J fixture.o", dir);
	if (run(cmd)) {
		printf("FAIL fixture: cannot build %s with BTF\n", obj);
		return 1;
	}

	btf = btf__parse(obj, NULL);
	if (!btf) {
		printf("FAIL fixture: no BTF in %s\n", obj);
		return 1;
	}
	id_zeta = btf__find_by_name_kind(btf, "zeta", BTF_KIND_FUNC);
	id_alpha = btf__find_by_name_kind(btf, "alpha", BTF_KIND_FUNC);
	id_gamma = btf__find_by_name_kind(btf, "gamma", BTF_KIND_STRUCT);
	id_beta = btf__find_by_name_kind(btf, "beta_t", BTF_KIND_TYPEDEF);
	id_uu = btf__find_by_name_kind(btf, "uu", BTF_KIND_UNION);
	CHECK("fixture_btf", id_zeta > 0 && id_alpha > 0 && id_gamma > 0 &&
	      id_beta > 0 && id_uu > 0, "pahole left a type out");

	snprintf(cmd, sizeof(cmd), "%s --check %s 2>/dev/null", tool, obj);
	CHECK("check_detects_unresolved", run(cmd) == 1,
	      "--check passed on a section full of zeros");
	snprintf(cmd, sizeof(cmd), "cp %s %s/unresolved.o", obj, dir);
	CHECK("keep_unresolved", run(cmd) == 0, "%s failed", cmd);

	snprintf(cmd, sizeof(cmd), "%s %s", tool, obj);
	CHECK("resolve_runs", run(cmd) == 0, "%s failed", cmd);
	if (read_ids(dir)) {
		printf("FAIL read_section: no 40-byte .BTF_ids in %s\n", obj);
		return 1;
	}

	/* set8: cnt, flags as compiled, pairs sorted by id with their flags */
	CHECK("set8_cnt", ids[0] == 2, "cnt %u, want 2", ids[0]);
	CHECK("set8_flags_kept", ids[1] == 1, "set flags %u, want 1", ids[1]);
	CHECK("set8_sorted", ids[2] < ids[4], "ids %u, %u not ascending", ids[2], ids[4]);
	CHECK("set8_ids", (ids[2] == (uint32_t)id_zeta && ids[4] == (uint32_t)id_alpha) ||
	      (ids[2] == (uint32_t)id_alpha && ids[4] == (uint32_t)id_zeta),
	      "pairs %u, %u; zeta %d alpha %d", ids[2], ids[4], id_zeta, id_alpha);
	CHECK("set8_flags_follow_ids",
	      (ids[2] == (uint32_t)id_zeta ? ids[3] == 7 && ids[5] == 9 :
					     ids[3] == 9 && ids[5] == 7),
	      "flags %u, %u do not follow their ids", ids[3], ids[5]);
	/* set: cnt, sorted ids */
	CHECK("set_cnt", ids[6] == 2, "cnt %u, want 2", ids[6]);
	CHECK("set_sorted", ids[7] < ids[8], "ids %u, %u not ascending", ids[7], ids[8]);
	CHECK("set_ids", (ids[7] == (uint32_t)id_beta || ids[7] == (uint32_t)id_gamma) &&
	      (ids[8] == (uint32_t)id_beta || ids[8] == (uint32_t)id_gamma),
	      "ids %u, %u; beta_t %d gamma %d", ids[7], ids[8], id_beta, id_gamma);
	/* a lone id */
	CHECK("union_id", ids[9] == (uint32_t)id_uu, "id %u, want %d", ids[9], id_uu);

	snprintf(cmd, sizeof(cmd), "%s --check %s 2>/dev/null", tool, obj);
	CHECK("check_accepts_resolved", run(cmd) == 0, "--check failed after resolving");

	/*
	 * Distilled: the fixture's types become the .BTF.base, .BTF an empty
	 * split on it. -b names other BTF (ints only, so every id would move
	 * or vanish if it were used).
	 */
	{
		struct btf *split = btf__new_empty_split(btf), *other = btf__new_empty();
		int k;

		for (k = 0; other && k < 3; k++)
			btf__add_int(other, k ? "o1" : "o0", 4, 0);
		CHECK("distilled_parts", split && other && write_btf(btf, dir, "base.btf") == 0 &&
		      write_btf(split, dir, "split.btf") == 0 &&
		      write_btf(other, dir, "other.btf") == 0, "cannot write BTF");
		btf__free(split);
		btf__free(other);
	}
	snprintf(cmd, sizeof(cmd),
		 "cd %s && for o in fixture unresolved; do objcopy --remove-section .BTF "
		 "--add-section .BTF=split.btf --add-section .BTF.base=base.btf "
		 "$o.o $o-distilled.o || exit 1; done", dir);
	CHECK("distilled_objects", run(cmd) == 0, "%s failed", cmd);
	snprintf(cmd, sizeof(cmd), "%s --check -b %s/other.btf %s/fixture-distilled.o 2>/dev/null",
		 tool, dir, dir);
	CHECK("distilled_ids_follow_own_base", run(cmd) == 0,
	      "--check used -b instead of the module's .BTF.base");
	snprintf(cmd, sizeof(cmd), "%s --check -b %s/other.btf %s/unresolved-distilled.o 2>/dev/null",
		 tool, dir, dir);
	CHECK("distilled_check_detects_unresolved", run(cmd) == 1,
	      "--check passed on a distilled module's zeroed .BTF_ids");

	btf__free(btf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
