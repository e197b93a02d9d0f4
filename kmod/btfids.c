// SPDX-License-Identifier: GPL-2.0
/*
 * nsflush-btfids: fill the .BTF_ids section of a kernel module from its
 * BTF, for kernels whose kbuild package ships no resolve_btfids (Debian
 * 6.1). Run after `pahole -J --btf_base BASE module.ko`.
 *
 *   nsflush-btfids [-v] [--check] [-b BASE] MODULE.ko
 *
 * BASE is the target kernel's vmlinux BTF (raw, e.g. /sys/kernel/btf/vmlinux,
 * or an ELF with a .BTF section). Without -b the object's BTF stands alone
 * (for test objects). --check computes the section and compares it with the
 * file instead of writing: it verifies what Kbuild's resolve_btfids did.
 * A module built with pahole --distill_base (6.12+'s Makefile.btf, when
 * pahole can) carries its own .BTF.base, and its ids are relative to that:
 * then it is the base, whatever -b says.
 *
 * What the btf_ids.h macros leave in .BTF_ids (same on 6.1 and 6.12):
 *   __BTF_ID__<kind>__<name>__<n>   4 bytes: the BTF id of <name> of <kind>
 *                                   (func, struct, union, typedef)
 *   __BTF_ID__set__<name>           u32 cnt, u32 ids[cnt]; st_size covers all
 *   __BTF_ID__set8__<name>          u32 cnt, u32 flags, {u32 id, u32 flags}[cnt];
 *                                   st_size covers all. 6.12's BTF_KFUNCS_START
 *                                   puts BTF_SET8_KFUNCS in flags, 6.1 puts 0:
 *                                   flags are kept as compiled.
 * cnt is not known to the compiler: it comes from st_size. The kernel
 * binary-searches sets, so their entries are sorted by id (pairs keep
 * their flags).
 */
#define _GNU_SOURCE	/* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define ID_PREFIX "__BTF_ID__"

static int verbose;

/* Where the sets are, for --check (sorting moves entries off their symbols). */
#define MAX_SETS 64
static struct { size_t off, hdr, ent, cnt; } sets[MAX_SETS];
static int nsets;

struct idsec {
	unsigned char *buf;	/* the section's bytes, patched in place */
	size_t size;
	off_t file_off;
	GElf_Addr addr;		/* subtract from st_value (0 in a .ko) */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* 8-byte pairs sort on their first word, the id; flags travel along. */
static int cmp_pair(const void *a, const void *b)
{
	return cmp_u32(a, b);
}

static int kind_of(const char *s, size_t n)
{
	static const struct { const char *name; int kind; } kinds[] = {
		{ "func", BTF_KIND_FUNC },
		{ "struct", BTF_KIND_STRUCT },
		{ "union", BTF_KIND_UNION },
		{ "typedef", BTF_KIND_TYPEDEF },
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == n && !strncmp(s, kinds[i].name, n))
			return kinds[i].kind;
	return -1;
}

static int in_section(const struct idsec *sec, GElf_Sym *sym, size_t len,
		      const char *name)
{
	if (sym->st_value < sec->addr ||
	    sym->st_value - sec->addr + len > sec->size) {
		fprintf(stderr, "btfids: %s lies outside .BTF_ids\n", name);
		return 0;
	}
	return 1;
}

/* Pass 1 fills ids; pass 2 counts and sorts sets, which needs the ids. */
static int patch_symbol(struct idsec *sec, struct btf *btf, GElf_Sym *sym,
			const char *name, int pass)
{
	const char *rest = name + strlen(ID_PREFIX), *sep, *end;
	unsigned char *p = sec->buf + (sym->st_value - sec->addr);
	char tname[256];
	uint32_t cnt;
	int kind, id;

	if (!strncmp(rest, "set8__", 6) || !strncmp(rest, "set__", 5)) {
		int set8 = rest[3] == '8';
		size_t hdr = set8 ? 8 : 4, ent = set8 ? 8 : 4;

		if (pass != 2)
			return 0;
		if (sym->st_size < hdr || !in_section(sec, sym, sym->st_size, name))
			return -1;
		cnt = (sym->st_size - hdr) / ent;
		if (nsets == MAX_SETS) {
			fprintf(stderr, "btfids: too many sets\n");
			return -1;
		}
		sets[nsets].off = p - sec->buf;
		sets[nsets].hdr = hdr;
		sets[nsets].ent = ent;
		sets[nsets].cnt = cnt;
		nsets++;
		memcpy(p, &cnt, sizeof(cnt));
		qsort(p + hdr, cnt, ent, set8 ? cmp_pair : cmp_u32);
		if (verbose)
			fprintf(stderr, "btfids: %s: %u entries\n", name, cnt);
		return 0;
	}

	if (pass != 1)
		return 0;
	sep = strstr(rest, "__");
	end = strrchr(rest, '_');	/* "__<counter>" ends every id symbol */
	if (!sep || !end || end - 1 <= sep + 2 || end[-1] != '_' ||
	    (size_t)(end - 1 - (sep + 2)) >= sizeof(tname)) {
		fprintf(stderr, "btfids: cannot parse %s\n", name);
		return -1;
	}
	kind = kind_of(rest, sep - rest);
	if (kind < 0) {
		fprintf(stderr, "btfids: unknown kind in %s\n", name);
		return -1;
	}
	memcpy(tname, sep + 2, end - 1 - (sep + 2));
	tname[end - 1 - (sep + 2)] = '\0';
	id = btf__find_by_name_kind(btf, tname, kind);
	if (id <= 0) {
		fprintf(stderr, "btfids: %s not found in BTF\n", tname);
		return -1;
	}
	if (!in_section(sec, sym, 4, name))
		return -1;
	cnt = id;
	memcpy(p, &cnt, sizeof(cnt));
	if (verbose)
		fprintf(stderr, "btfids: %s -> %d\n", tname, id);
	return 0;
}

/*
 * --check: resolving again is not idempotent once a set was sorted (its
 * symbols now name other slots, so flags would pair with other ids).
 * Compare sets as sorted columns of ids and of flags, the rest byte for
 * byte.
 */
static int same_section(const unsigned char *file, const unsigned char *want,
			size_t size)
{
	unsigned char *a = malloc(size), *b = malloc(size);
	uint32_t *col[2];
	int i, k, same;
	size_t j;

	if (!a || !b) {
		free(a);
		free(b);
		return 0;
	}
	memcpy(a, file, size);
	memcpy(b, want, size);
	for (i = 0; i < nsets; i++) {
		for (k = 0; k < (int)(sets[i].ent / 4); k++) {
			unsigned char *bufs[2] = { a, b };
			int w;

			for (w = 0; w < 2; w++) {
				col[w] = calloc(sets[i].cnt + 1, sizeof(uint32_t));
				if (!col[w])
					abort();
				for (j = 0; j < sets[i].cnt; j++)
					memcpy(&col[w][j], bufs[w] + sets[i].off + sets[i].hdr +
					       j * sets[i].ent + k * 4, 4);
				qsort(col[w], sets[i].cnt, 4, cmp_u32);
			}
			same = !memcmp(col[0], col[1], sets[i].cnt * 4);
			free(col[0]);
			free(col[1]);
			if (!same)
				goto differ;
		}
		/* ids sorted in the file? */
		for (j = 1; j < sets[i].cnt; j++)
			if (cmp_u32(a + sets[i].off + sets[i].hdr + (j - 1) * sets[i].ent,
				    a + sets[i].off + sets[i].hdr + j * sets[i].ent) > 0)
				goto differ;
		memset(a + sets[i].off + sets[i].hdr, 0, sets[i].cnt * sets[i].ent);
		memset(b + sets[i].off + sets[i].hdr, 0, sets[i].cnt * sets[i].ent);
	}
	same = !memcmp(a, b, size);
	free(a);
	free(b);
	return same;
differ:
	free(a);
	free(b);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: nsflush-btfids [-v] [--check] [-b BASE_BTF] MODULE.ko\n");
	exit(2);
}

/*
 * Split BTF from a section's bytes. Debian 12's libbpf (1.1) exports no
 * btf__new_split(), only the path-taking btf__parse_raw_split(): hand it
 * the bytes as a memfd.
 */
static struct btf *split_from_memory(const Elf_Data *d, struct btf *base)
{
	char path[64];
	struct btf *btf = NULL;
	int fd = memfd_create("btf", MFD_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (write(fd, d->d_buf, d->d_size) == (ssize_t)d->d_size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		btf = btf__parse_raw_split(path, base);
	}
	close(fd);
	return btf;
}

int main(int argc, char **argv)
{
	const char *base_path = NULL, *path;
	struct btf *base = NULL, *btf = NULL;
	Elf_Data *btf_data = NULL, *base_data = NULL;
	Elf_Scn *scn = NULL, *symscn = NULL;
	struct idsec sec = { 0 };
	size_t shstrndx, i, nsyms;
	GElf_Shdr sh, symsh = { 0 };
	Elf_Data *data;
	int check = 0, fd, pass, err = 1;
	size_t ids_ndx = 0;
	GElf_Ehdr eh;
	Elf *elf;

	for (i = 1; i < (size_t)argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "--check"))
			check = 1;
		else if (!strcmp(argv[i], "-b") && i + 1 < (size_t)argc)
			base_path = argv[++i];
		else
			usage();
	}
	if (i + 1 != (size_t)argc)
		usage();
	path = argv[i];

	elf_version(EV_CURRENT);
	fd = open(path, check ? O_RDONLY : O_RDWR);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx)) {
		fprintf(stderr, "btfids: %s: %s\n", path, elf_errmsg(-1));
		close(fd);
		return 1;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		gelf_getshdr(scn, &sh);
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			symsh = sh;
		} else if (name && !strcmp(name, ".BTF")) {
			btf_data = elf_getdata(scn, NULL);
		} else if (name && !strcmp(name, ".BTF.base")) {
			base_data = elf_getdata(scn, NULL);
		} else if (name && !strcmp(name, ".BTF_ids") &&
			   sh.sh_type == SHT_PROGBITS) {
			ids_ndx = elf_ndxscn(scn);
			data = elf_getdata(scn, NULL);
			if (!data || data->d_size != sh.sh_size) {
				fprintf(stderr, "btfids: unreadable .BTF_ids\n");
				goto out;
			}
			sec.size = sh.sh_size;
			sec.file_off = sh.sh_offset;
			sec.addr = eh.e_type == ET_REL ? 0 : sh.sh_addr;
			sec.buf = malloc(sec.size);
			if (!sec.buf)
				goto out;
			memcpy(sec.buf, data->d_buf, sec.size);
		}
	}

	if (base_data && btf_data) {
		base = btf__new(base_data->d_buf, base_data->d_size);
		if (!base) {
			fprintf(stderr, "btfids: %s: unreadable .BTF.base\n", path);
			goto out;
		}
		btf = split_from_memory(btf_data, base);
	} else {
		if (base_path) {
			base = btf__parse(base_path, NULL);
			if (!base) {
				fprintf(stderr, "btfids: %s: no BTF: %s\n", base_path, strerror(errno));
				goto out;
			}
		}
		btf = base ? btf__parse_split(path, base) : btf__parse(path, NULL);
	}
	if (!btf) {
		fprintf(stderr, "btfids: %s: no BTF (run pahole -J first): %s\n",
			path, strerror(errno));
		goto out;
	}
	if (!ids_ndx) {
		fprintf(stderr, "btfids: %s has no .BTF_ids: nothing to do\n", path);
		err = 0;
		goto out;
	}
	if (!symscn) {
		fprintf(stderr, "btfids: %s has no symbol table\n", path);
		goto out;
	}

	data = elf_getdata(symscn, NULL);
	nsyms = symsh.sh_entsize ? symsh.sh_size / symsh.sh_entsize : 0;
	for (pass = 1; pass <= 2; pass++) {
		for (i = 0; i < nsyms; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx != ids_ndx)
				continue;
			name = elf_strptr(elf, symsh.sh_link, sym.st_name);
			if (!name || strncmp(name, ID_PREFIX, strlen(ID_PREFIX)))
				continue;
			if (patch_symbol(&sec, btf, &sym, name, pass))
				goto out;
		}
	}

	if (check) {
		data = elf_getdata(elf_getscn(elf, ids_ndx), NULL);
		if (!same_section(data->d_buf, sec.buf, sec.size)) {
			fprintf(stderr, "btfids: %s: .BTF_ids differs from its BTF\n", path);
			goto out;
		}
		fprintf(stderr, "btfids: %s: .BTF_ids matches its BTF\n", path);
	} else if (pwrite(fd, sec.buf, sec.size, sec.file_off) != (ssize_t)sec.size) {
		perror("btfids: write");
		goto out;
	}
	err = 0;
out:
	elf_end(elf);
	close(fd);
	free(sec.buf);
	btf__free(btf);
	btf__free(base);
	return err;
}
