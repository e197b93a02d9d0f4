// SPDX-License-Identifier: GPL-2.0
/*
 * fill-bpf-map NAME - fill the loaded hash map NAME (as the kernel lists
 * it, at most 15 characters) with keys no real entry has, until it is
 * full, so tests can see what nsflushd does when a tracking map has no room.
 * Keys are 2^30, 2^30 + 1, ...: above any pid (PID_MAX_LIMIT is 2^22) and
 * below any kernel pointer, so no real entry has one; values are zero.
 * Prints "filled NAME: N added, M max" and exits 0 once the map is full;
 * 1 with one line on any error.
 *
 *   cc -O2 -Wall -o build/tests/fill-bpf-map tests/nsflushd/fill-bpf-map.c -lbpf
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

static int find_map(const char *name, struct bpf_map_info *info)
{
	__u32 id = 0;

	while (!bpf_map_get_next_id(id, &id)) {
		__u32 len = sizeof(*info);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;	/* freed meanwhile */
		memset(info, 0, sizeof(*info));
		if (!bpf_obj_get_info_by_fd(fd, info, &len) && !strcmp(info->name, name))
			return fd;
		close(fd);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct bpf_map_info info;
	unsigned char *keys, *values;
	__u32 i, count, added = 0;
	int fd, err;

	if (argc != 2) {
		fprintf(stderr, "usage: fill-bpf-map NAME\n");
		return 1;
	}
	fd = find_map(argv[1], &info);
	if (fd < 0) {
		fprintf(stderr, "fill-bpf-map: no loaded map named %s\n", argv[1]);
		return 1;
	}
	if (info.type != BPF_MAP_TYPE_HASH || info.key_size > 8) {
		fprintf(stderr, "fill-bpf-map: %s is not a hash map with keys of up to 8 bytes\n",
			argv[1]);
		return 1;
	}
	keys = calloc(info.max_entries, info.key_size);
	values = calloc(info.max_entries, info.value_size);
	if (!keys || !values) {
		fprintf(stderr, "fill-bpf-map: out of memory\n");
		return 1;
	}
	for (i = 0; i < info.max_entries; i++) {
		__u64 key = (1ULL << 30) + i;

		memcpy(keys + (size_t)i * info.key_size, &key, info.key_size);
	}
	/* One batch; it stops at the first key that finds no room. */
	count = info.max_entries;
	err = bpf_map_update_batch(fd, keys, values, &count, NULL);
	added = count;
	if (err && errno != E2BIG && errno != ENOMEM && errno != ENOSPC) {
		fprintf(stderr, "fill-bpf-map: update %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* Full means one more key is refused. */
	if (!bpf_map_update_elem(fd, keys + (size_t)(info.max_entries - 1) * info.key_size,
				 values, BPF_NOEXIST)) {
		added++;
		fprintf(stderr, "fill-bpf-map: %s still had room after %u keys\n", argv[1], added);
		return 1;
	}
	printf("filled %s: %u added, %u max\n", argv[1], added, info.max_entries);
	return 0;
}
