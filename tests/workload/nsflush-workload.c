// SPDX-License-Identifier: GPL-2.0
/*
 * nsflush-workload - a minimal VFIO client that behaves like a tiny VMM.
 *
 * It opens the QEMU "edu" PCI device (1234:11e8) through VFIO, attaches it to
 * an IOMMU domain and then runs a sequence of operations given on the command
 * line (map, unmap, device DMA, detach, exit without unmapping, ...), printing
 * one parseable line per operation.  Tests use it to create exactly the DMA
 * mapping patterns whose cache maintenance nsflush audits.
 *
 * Only libc and the Linux UAPI headers are used, so it links statically.
 * The IOMMU backend is a small table of operations (struct backend): the
 * legacy container/type1v2 backend (default) and iommufd (--backend iommufd:
 * /dev/iommu, the device's VFIO cdev bound to it, IOASes, automatic or
 * explicitly allocated HWPTs, IOAS copy).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>
#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#endif

/*
 * iommufd and VFIO cdev UAPI missing from older installed headers (Debian 12's
 * linux-libc-dev 6.1 has neither <linux/iommufd.h> nor the cdev ioctls).  Each
 * block copies the minimal definitions from Linux 6.12 include/uapi/linux/
 * iommufd.h and vfio.h; all are size-extensible, so the kernel accepts these
 * layouts (the fields used here exist since 6.6).
 */
#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif
#ifndef IOMMU_DESTROY	/* Linux 6.2 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, 0x80)
#endif
#ifndef IOMMU_IOAS_ALLOC	/* Linux 6.2 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
#endif
#ifndef IOMMU_IOAS_COPY	/* Linux 6.2 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, 0x83)
#endif
#ifndef IOMMU_IOAS_MAP	/* Linux 6.2 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)
#endif
#ifndef IOMMU_IOAS_UNMAP	/* Linux 6.2 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, 0x86)
#endif
#ifndef IOMMU_HWPT_ALLOC	/* Linux 6.6 (6.12 appends fault_id) */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, 0x89)
#endif
#ifndef IOMMU_GET_HW_INFO	/* Linux 6.6 (6.12 appends capabilities) */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u32 __reserved;
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, 0x8a)
#endif
/* enum iommu_hw_info_type / struct iommu_hw_info_vtd, Linux 6.6 */
#define NSF_HW_INFO_TYPE_INTEL_VTD 1
struct nsf_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};
#define NSF_VTD_ECAP_SC (1ULL << 7)	/* snoop control (intel-iommu ecap_sc_support) */

#ifndef VFIO_DEVICE_BIND_IOMMUFD	/* Linux 6.6 */
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif
#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT	/* Linux 6.6 (6.13 appends pasid) */
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif
#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT	/* Linux 6.6 */
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

#define PROG "nsflush-workload"

/* Exit codes. */
#define EXIT_OPFAIL 1
#define EXIT_USAGE  2

/* QEMU edu device (hw/misc/edu.c). */
#define EDU_VENDOR        0x1234
#define EDU_DEVICE        0x11e8
#define EDU_REG_ID        0x00
#define EDU_ID_VALUE      0x010000edu
#define EDU_REG_DMA_SRC   0x80
#define EDU_REG_DMA_DST   0x88
#define EDU_REG_DMA_CNT   0x90
#define EDU_REG_DMA_CMD   0x98
#define EDU_DMA_RUN       0x1
#define EDU_DMA_TO_RAM    0x2	/* direction bit: 1 = device buffer -> RAM */
#define EDU_DMA_BUF       0x40000
#define EDU_DMA_BUF_SIZE  4096
/*
 * QEMU <= 8.x (Debian 12 has 7.2) hw_error()s -- kills the whole VM -- on a
 * transfer that ends exactly at the end of the 4 KiB buffer (off-by-one in
 * edu_check_range).  Never issue one: move data in halves.
 */
#define EDU_XFER_MAX      2048
#define EDU_DMA_MASK      ((1ULL << 28) - 1)	/* edu clamps DMA addresses to 28 bits */
#define EDU_DMA_TIMEOUT_MS 10000

#define DEFAULT_IOVA_BASE 0x100000ULL
#define MAX_DEVICES       8	/* --device given several times: one group each */
#define MAX_IOAS          16	/* iommufd: ioas-alloc */
#define MAX_HWPT          16	/* iommufd: hwpt-alloc */

/* ------------------------------------------------------------------------- */
/* Output                                                                     */

static bool quiet;
/* access BAR0 with pread/pwrite even when it could be mmapped */
static bool bar_rw;
/* transparent huge pages for map buffers: 0 kernel default, 1 on, -1 off */
static int thp;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* One line on stderr: "nsflush-workload: <message><tail>\n". */
static void verr_line(const char *tail, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
	fflush(stderr);
}

static void err_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_line("\n", fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn)) usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_line(" (see --help)\n", fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

static const char *errno_name(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { ENXIO, "ENXIO" }, { EBADF, "EBADF" },
		{ EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
		{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
		{ ENODEV, "ENODEV" }, { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },
		{ ENOTTY, "ENOTTY" }, { ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ EOVERFLOW, "EOVERFLOW" }, { EADDRINUSE, "EADDRINUSE" },
		{ EDEADLK, "EDEADLK" },
	};
	static char buf[24];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/* ------------------------------------------------------------------------- */
/* Number parsing                                                             */

/*
 * Sizes: decimal or 0x-hex, optional K/M/G suffix (powers of 1024).
 * IOVAs: same grammar, so "0x100000" and "1M" are the same address.
 * Returns false on any malformed input or overflow.
 */
static bool parse_u64(const char *s, uint64_t *val)
{
	uint64_t v = 0, mult = 1;
	unsigned base = 10;
	const char *p = s;

	if (!s || !*s)
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
		return false;
	for (; *p; p++) {
		unsigned d;

		if (isdigit((unsigned char)*p))
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (*p) {
		switch (*p) {
		case 'k': case 'K': mult = 1ULL << 10; break;
		case 'm': case 'M': mult = 1ULL << 20; break;
		case 'g': case 'G': mult = 1ULL << 30; break;
		default: return false;
		}
		p++;
		if (*p == 'i')	/* accept KiB/MiB/GiB too */
			p++;
		if (*p == 'b' || *p == 'B')
			p++;
		if (*p)
			return false;
	}
	if (v > UINT64_MAX / mult)
		return false;
	*val = v * mult;
	return true;
}

static bool parse_seconds(const char *s, double *val)
{
	char *end;
	double v;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 1e7)
		return false;
	*val = v;
	return true;
}

/* ------------------------------------------------------------------------- */
/* State                                                                      */

struct mapping {
	uint64_t iova;
	uint64_t size;
	uint8_t *vaddr;
};

struct ctx;

/*
 * IOMMU backend: everything that differs between the legacy VFIO container
 * (type1) and iommufd.  Device region access (BAR/config) is common: both
 * hand out a VFIO device fd.
 */
struct backend {
	const char *name;
	/* open the IOMMU context, attach the device's group, open the device fd */
	int (*open)(struct ctx *c);
	/* VFIO_DMA_CC_IOMMU-equivalent: 1 coherent, 0 not, <0 -errno */
	int (*cache_coherent)(struct ctx *c);
	int (*map)(struct ctx *c, uint64_t iova, void *vaddr, uint64_t size);
	/* *unmapped = bytes the kernel reports unmapped */
	int (*unmap)(struct ctx *c, uint64_t iova, uint64_t size, uint64_t *unmapped);
	/* unmap everything; *how names the mechanism used */
	int (*unmap_all)(struct ctx *c, uint64_t *unmapped, const char **how);
	/* close the device and detach from the IOMMU context while mapped */
	int (*detach)(struct ctx *c);
	/* re-attach after detach (re-opens the device fd) */
	int (*attach)(struct ctx *c);
	/* close group K's device and detach only that group; the others stay */
	int (*detach_group)(struct ctx *c, int k);
	/* attach group K again (joining the groups still attached) */
	int (*attach_group)(struct ctx *c, int k);
	void (*close)(struct ctx *c);
	/* detach leaves the mappings in place (iommufd: they live in the IOAS) */
	bool detach_keeps_maps;
	/* appended to the cc line as " via=..." (NULL: nothing, type1) */
	const char *cc_via;
	/* attach/attach_group print their own error line (type1) */
	bool attach_prints;
};

/*
 * Groups 1..n-1 of a multi-device run (--device more than once): each has its
 * own group fd and device fd but shares the container with group 0, whose
 * device (the fields in struct ctx) is the one that DMAs.
 */
struct extra_group {
	char bdf[256];
	int group_id;
	int group_fd;
	int device_fd;
	bool attached;
	/* iommufd */
	uint32_t dev_id, hwpt;	/* hwpt: what the device is attached to, if attached */
	int att_ioas;		/* index of the IOAS behind hwpt, -1 none */
};

/* iommufd: one IOAS; the current one's mappings live in struct ctx itself */
struct ioas_slot {
	uint32_t id;
	struct mapping *maps;
	size_t nmaps, cap;
	uint64_t next_iova;
};

/* iommufd: an explicitly allocated HWPT (hwpt-alloc), on IOAS index ioas */
struct hwpt_slot {
	uint32_t id;
	int ioas;
};

struct ctx {
	const struct backend *be;
	char bdf[256];
	int group_id;

	/* type1 */
	int container_fd;
	int group_fd;
	bool attached;
	/* more groups in the same container: index k >= 1 is extra[k - 1] */
	struct extra_group extra[MAX_DEVICES - 1];
	int nextra;

	/* device (common) */
	int device_fd;
	uint64_t bar0_off, bar0_size;
	uint64_t cfg_off;
	volatile uint8_t *bar0_map;	/* NULL: use pread/pwrite */

	/* tracked DMA mappings, each one MAP_DMA call */
	struct mapping *maps;
	size_t nmaps, cap;
	/* mappings gone from the IOMMU; their memory stays (for stale-DMA tests) */
	struct mapping *old;
	size_t nold, oldcap;
	uint64_t next_iova;
	uint64_t iova_base;	/* next_iova of a new IOAS */
	/* the last map's buffer, for alias */
	uint8_t *last_buf;
	uint64_t last_size, last_chunk;

	/*
	 * iommufd.  maps/nmaps/cap/next_iova above belong to IOAS cur_ioas;
	 * ioas[cur_ioas]'s own copies are stale until it is switched away from.
	 */
	int iommufd;
	bool defer_attach;
	uint32_t dev_id, hwpt;	/* primary device, like extra_group's */
	int att_ioas;
	struct ioas_slot ioas[MAX_IOAS];
	int nioas, cur_ioas;
	struct hwpt_slot hwpts[MAX_HWPT];
	int nhwpt;
};

/* group K's handles: 0 is the primary (ctx's own fields), else extra[K - 1] */
struct gref {
	const char *bdf;
	int *group_id, *group_fd, *device_fd;
	bool *attached;
	uint32_t *dev_id, *hwpt;
	int *att_ioas;
};

static struct gref group_ref(struct ctx *c, int k)
{
	struct extra_group *e;

	if (k == 0)
		return (struct gref){ c->bdf, &c->group_id, &c->group_fd, &c->device_fd,
				      &c->attached, &c->dev_id, &c->hwpt, &c->att_ioas };
	e = &c->extra[k - 1];
	return (struct gref){ e->bdf, &e->group_id, &e->group_fd, &e->device_fd, &e->attached,
			      &e->dev_id, &e->hwpt, &e->att_ioas };
}

static int groups_attached(const struct ctx *c)
{
	int n = c->attached;

	for (int k = 0; k < c->nextra; k++)
		n += c->extra[k].attached;
	return n;
}

/* monotonic nanoseconds, for the ns= field (time spent in the ioctls) */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* mappings of IOAS index k (type1: k = 0, the container) */
static struct mapping *ioas_maps(const struct ctx *c, int k, size_t *n)
{
	if (k == c->cur_ioas) {
		*n = c->nmaps;
		return c->maps;
	}
	*n = c->ioas[k].nmaps;
	return c->ioas[k].maps;
}

/* every IOAS (iommufd) or the container (type1) */
static uint64_t mapped_bytes(const struct ctx *c)
{
	uint64_t t = 0;

	for (int k = 0; k < (c->nioas ? c->nioas : 1); k++) {
		size_t n;
		const struct mapping *m = ioas_maps(c, k, &n);

		for (size_t i = 0; i < n; i++)
			t += m[i].size;
	}
	return t;
}

static void list_add(struct mapping **list, size_t *n, size_t *cap, struct mapping m)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct mapping *nl = realloc(*list, ncap * sizeof(*nl));

		if (!nl) {
			err_line("out of memory");
			exit(EXIT_OPFAIL);
		}
		*list = nl;
		*cap = ncap;
	}
	(*list)[(*n)++] = m;
}

static void track_add(struct ctx *c, uint64_t iova, uint64_t size, uint8_t *vaddr)
{
	list_add(&c->maps, &c->nmaps, &c->cap, (struct mapping){ iova, size, vaddr });
}

/* retire tracked mappings lying entirely inside [iova, iova+size) */
static void track_remove_range(struct ctx *c, uint64_t iova, uint64_t size)
{
	size_t j = 0;

	for (size_t i = 0; i < c->nmaps; i++) {
		struct mapping *m = &c->maps[i];

		if (m->iova >= iova && m->iova - iova < size && m->size <= size - (m->iova - iova)) {
			list_add(&c->old, &c->nold, &c->oldcap, *m);
			continue;
		}
		c->maps[j++] = *m;
	}
	c->nmaps = j;
}

static void track_remove_all(struct ctx *c)
{
	for (size_t i = 0; i < c->nmaps; i++)
		list_add(&c->old, &c->nold, &c->oldcap, c->maps[i]);
	c->nmaps = 0;
}

static uint8_t *list_lookup(const struct mapping *l, size_t n, uint64_t iova, uint64_t len)
{
	for (size_t i = n; i-- > 0;) {
		const struct mapping *m = &l[i];

		if (iova >= m->iova && iova - m->iova < m->size &&
		    len <= m->size - (iova - m->iova))
			return m->vaddr + (iova - m->iova);
	}
	return NULL;
}

/*
 * Host pointer behind [iova, iova+len) if one mapping holds it all; *live
 * tells whether that mapping is still in the IOMMU (else it was unmapped and
 * a device access must fault).
 */
static uint8_t *track_lookup(const struct ctx *c, uint64_t iova, uint64_t len, bool *live)
{
	uint8_t *p = NULL;
	size_t n;
	const struct mapping *m;

	if (!c->nioas) {	/* type1: the container */
		p = list_lookup(c->maps, c->nmaps, iova, len);
		*live = p != NULL;
		return p ? p : list_lookup(c->old, c->nold, iova, len);
	}
	/* iommufd: live only in the IOAS the device is attached to */
	if (c->att_ioas >= 0) {
		m = ioas_maps(c, c->att_ioas, &n);
		p = list_lookup(m, n, iova, len);
	}
	*live = p != NULL;
	for (int k = c->nioas; !p && k-- > 0;) {
		m = ioas_maps(c, k, &n);
		p = list_lookup(m, n, iova, len);
	}
	return p ? p : list_lookup(c->old, c->nold, iova, len);
}

/* ------------------------------------------------------------------------- */
/* Device discovery                                                           */

static bool read_sysfs_hex(const char *path, unsigned long *val)
{
	char buf[32];
	FILE *f = fopen(path, "r");
	char *end;

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	errno = 0;
	*val = strtoul(buf, &end, 16);
	return !errno && end != buf;
}

/* find the single 1234:11e8 device; returns 0, or -1 with a message printed */
static int find_edu(char *bdf, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int found = 0;

	if (!d) {
		err_line("/sys/bus/pci/devices: %s", strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		unsigned long ven, dev;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (!read_sysfs_hex(path, &ven) || ven != EDU_VENDOR)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		if (!read_sysfs_hex(path, &dev) || dev != EDU_DEVICE)
			continue;
		if (found++ == 0)
			snprintf(bdf, len, "%s", e->d_name);
	}
	closedir(d);
	if (found != 1) {
		err_line("found %d edu (1234:11e8) PCI devices, need exactly one; use --device BDF",
			 found);
		return -1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* every 1234:11e8 device, sorted by address; returns how many (<= max), -1 on error */
static int list_edu(char **bdfs, int max)
{
	struct dirent **ents;
	int n = scandir("/sys/bus/pci/devices", &ents, NULL, alphasort), found = 0;

	if (n < 0) {
		err_line("/sys/bus/pci/devices: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		unsigned long ven, dev;
		const char *name = ents[i]->d_name;

		if (name[0] != '.' && found < max) {
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", name);
			if (read_sysfs_hex(path, &ven) && ven == EDU_VENDOR) {
				snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", name);
				if (read_sysfs_hex(path, &dev) && dev == EDU_DEVICE)
					bdfs[found++] = strdup(name);
			}
		}
		free(ents[i]);
	}
	free(ents);
	qsort(bdfs, (size_t)found, sizeof(*bdfs), cmp_str);
	return found;
}

/* the group of @bdf; allow_env: fall back on $NSFLUSH_EDU_GROUP (the lab's first edu) */
static int find_group(const char *bdf, bool allow_env)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base, *env;
	ssize_t n;
	char *end;
	long g;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (access(path, F_OK)) {
		err_line("%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		env = allow_env ? getenv("NSFLUSH_EDU_GROUP") : NULL;
		if (env && *env) {
			/* the lab sets it as /dev/vfio/N; a bare N works too */
			base = strrchr(env, '/');
			g = strtol(base ? base + 1 : env, &end, 10);
			if (!*end && g >= 0 && g < INT_MAX)
				return (int)g;
		}
		err_line("%s: %s (no IOMMU group: is the IOMMU on?)", path, strerror(errno));
		return -1;
	}
	link[n] = 0;
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	g = strtol(base, &end, 10);
	if (*end || g < 0 || g >= INT_MAX) {
		err_line("%s: unexpected link target %s", path, link);
		return -1;
	}
	return (int)g;
}

/* ------------------------------------------------------------------------- */
/* Device (common to all backends)                                            */

static int device_setup(struct ctx *c)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info bar = { .argsz = sizeof(bar) };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg) };

	if (ioctl(c->device_fd, VFIO_DEVICE_GET_INFO, &info)) {
		err_line("VFIO_DEVICE_GET_INFO %s: %s", c->bdf, strerror(errno));
		return -1;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		err_line("%s: not a VFIO PCI device", c->bdf);
		return -1;
	}
	bar.index = VFIO_PCI_BAR0_REGION_INDEX;
	cfg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(c->device_fd, VFIO_DEVICE_GET_REGION_INFO, &bar) ||
	    ioctl(c->device_fd, VFIO_DEVICE_GET_REGION_INFO, &cfg)) {
		err_line("VFIO_DEVICE_GET_REGION_INFO %s: %s", c->bdf, strerror(errno));
		return -1;
	}
	c->bar0_off = bar.offset;
	c->bar0_size = bar.size;
	c->cfg_off = cfg.offset;
	c->bar0_map = NULL;
	if (!bar_rw && (bar.flags & VFIO_REGION_INFO_FLAG_MMAP) && bar.size >= 0x1000) {
		void *p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       c->device_fd, (off_t)bar.offset);
		if (p != MAP_FAILED)
			c->bar0_map = p;
	}
	return 0;
}

static void device_close(struct ctx *c)
{
	if (c->bar0_map)
		munmap((void *)c->bar0_map, c->bar0_size);
	c->bar0_map = NULL;
	if (c->device_fd >= 0)
		close(c->device_fd);
	c->device_fd = -1;
}

static int bar0_read(struct ctx *c, uint64_t off, unsigned size, uint64_t *val)
{
	if (off + size > c->bar0_size)
		return -ERANGE;
	if (c->bar0_map) {
		if (size == 8)
			*val = *(volatile uint64_t *)(c->bar0_map + off);
		else
			*val = *(volatile uint32_t *)(c->bar0_map + off);
		return 0;
	}
	if (size == 8) {
		uint64_t v;

		errno = 0;
		if (pread(c->device_fd, &v, 8, (off_t)(c->bar0_off + off)) != 8)
			return -errno ? -errno : -EIO;
		*val = v;
	} else {
		uint32_t v;

		errno = 0;
		if (pread(c->device_fd, &v, 4, (off_t)(c->bar0_off + off)) != 4)
			return -errno ? -errno : -EIO;
		*val = v;
	}
	return 0;
}

static int bar0_write64(struct ctx *c, uint64_t off, uint64_t val)
{
	if (off + 8 > c->bar0_size)
		return -ERANGE;
	if (c->bar0_map) {
		*(volatile uint64_t *)(c->bar0_map + off) = val;
		__sync_synchronize();
		return 0;
	}
	errno = 0;
	if (pwrite(c->device_fd, &val, 8, (off_t)(c->bar0_off + off)) != 8)
		return -errno ? -errno : -EIO;
	return 0;
}

static int enable_bus_master(struct ctx *c)
{
	uint16_t cmd;

	errno = 0;
	if (pread(c->device_fd, &cmd, 2, (off_t)(c->cfg_off + PCI_COMMAND)) != 2)
		return -errno ? -errno : -EIO;
	if ((cmd & (PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY)) ==
	    (PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY))
		return 0;
	cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	errno = 0;
	if (pwrite(c->device_fd, &cmd, 2, (off_t)(c->cfg_off + PCI_COMMAND)) != 2)
		return -errno ? -errno : -EIO;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Backend: legacy VFIO container + type1v2                                   */

static int t1_get_device(struct ctx *c, int k)
{
	struct gref g = group_ref(c, k);

	*g.device_fd = ioctl(*g.group_fd, VFIO_GROUP_GET_DEVICE_FD, g.bdf);
	if (*g.device_fd < 0) {
		err_line("VFIO_GROUP_GET_DEVICE_FD %s: %s", g.bdf, strerror(errno));
		return -1;
	}
	/* the primary's device is the one that DMAs: set up its regions */
	return k == 0 ? device_setup(c) : 0;
}

/* put group K into the container (the first one in sets the IOMMU), open its device */
static int t1_attach_one(struct ctx *c, int k)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct gref g = group_ref(c, k);
	bool first = groups_attached(c) == 0;

	if (ioctl(*g.group_fd, VFIO_GROUP_GET_STATUS, &st)) {
		err_line("VFIO_GROUP_GET_STATUS group %d: %s", *g.group_id, strerror(errno));
		return -1;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		err_line("group %d is not viable (bind all its devices to vfio-pci)",
			 *g.group_id);
		return -1;
	}
	if (ioctl(*g.group_fd, VFIO_GROUP_SET_CONTAINER, &c->container_fd)) {
		err_line("VFIO_GROUP_SET_CONTAINER group %d: %s", *g.group_id, strerror(errno));
		return -1;
	}
	*g.attached = true;
	/*
	 * The first group sets the IOMMU model; this allocates the domain. A
	 * later group is attached by SET_CONTAINER itself: type1 gives it a
	 * domain of its own or merges it into a compatible one.
	 */
	if (first && ioctl(c->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		err_line("VFIO_SET_IOMMU type1v2: %s", strerror(errno));
		return -1;
	}
	return t1_get_device(c, k);
}

static int t1_attach(struct ctx *c)
{
	for (int k = 0; k <= c->nextra; k++)
		if (!*group_ref(c, k).attached && t1_attach_one(c, k))
			return -1;
	return 0;
}

static int t1_open(struct ctx *c)
{
	char path[64];
	int v;

	c->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (c->container_fd < 0) {
		err_line("/dev/vfio/vfio: %s", strerror(errno));
		return -1;
	}
	v = ioctl(c->container_fd, VFIO_GET_API_VERSION);
	if (v != VFIO_API_VERSION) {
		err_line("VFIO API version %d, expected %d", v, VFIO_API_VERSION);
		return -1;
	}
	if (ioctl(c->container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		err_line("kernel lacks VFIO_TYPE1v2_IOMMU");
		return -1;
	}
	for (int k = 0; k <= c->nextra; k++) {
		struct gref g = group_ref(c, k);

		snprintf(path, sizeof(path), "/dev/vfio/%d", *g.group_id);
		*g.group_fd = open(path, O_RDWR | O_CLOEXEC);
		if (*g.group_fd < 0) {
			err_line("%s: %s", path, strerror(errno));
			return -1;
		}
	}
	return t1_attach(c);
}

static int t1_cache_coherent(struct ctx *c)
{
	int r = ioctl(c->container_fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);

	return r < 0 ? -errno : r;
}

static int t1_map(struct ctx *c, uint64_t iova, void *vaddr, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(c->container_fd, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

static int t1_unmap(struct ctx *c, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = size,
	};

	if (ioctl(c->container_fd, VFIO_IOMMU_UNMAP_DMA, &u))
		return -errno;
	*unmapped = u.size;
	return 0;
}

static int t1_unmap_all(struct ctx *c, uint64_t *unmapped, const char **how)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};

	if (ioctl(c->container_fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL) > 0) {
		*how = "flag_all";
		if (ioctl(c->container_fd, VFIO_IOMMU_UNMAP_DMA, &u))
			return -errno;
		*unmapped = u.size;
		return 0;
	}
	/* older kernels: one full-range unmap per tracked mapping */
	*how = "each";
	*unmapped = 0;
	while (c->nmaps) {
		uint64_t n = 0;
		int r = t1_unmap(c, c->maps[0].iova, c->maps[0].size, &n);

		if (r)
			return r;
		*unmapped += n;
		track_remove_range(c, c->maps[0].iova, c->maps[0].size);
	}
	return 0;
}

static int t1_detach_group(struct ctx *c, int k)
{
	struct gref g = group_ref(c, k);

	/* the kernel refuses UNSET_CONTAINER while a device fd is open */
	if (k == 0) {
		device_close(c);
	} else if (*g.device_fd >= 0) {
		close(*g.device_fd);
		*g.device_fd = -1;
	}
	if (ioctl(*g.group_fd, VFIO_GROUP_UNSET_CONTAINER))
		return -errno;
	*g.attached = false;
	return 0;
}

static int t1_attach_group(struct ctx *c, int k)
{
	return t1_attach_one(c, k) ? -EIO : 0;
}

/* every group, the primary last: its UNSET_CONTAINER drops the mappings */
static int t1_detach(struct ctx *c)
{
	for (int k = c->nextra; k >= 0; k--) {
		int r = *group_ref(c, k).attached ? t1_detach_group(c, k) : 0;

		if (r)
			return r;
	}
	return 0;
}

static int t1_reattach(struct ctx *c)
{
	return t1_attach(c) ? -EIO : 0;
}

static void t1_close(struct ctx *c)
{
	device_close(c);
	for (int k = 1; k <= c->nextra; k++) {
		struct gref g = group_ref(c, k);

		if (*g.device_fd >= 0)
			close(*g.device_fd);
		if (*g.group_fd >= 0)
			close(*g.group_fd);
		*g.device_fd = *g.group_fd = -1;
	}
	if (c->group_fd >= 0)
		close(c->group_fd);
	if (c->container_fd >= 0)
		close(c->container_fd);
	c->group_fd = c->container_fd = -1;
}

static const struct backend backend_type1 = {
	.name = "type1",
	.open = t1_open,
	.cache_coherent = t1_cache_coherent,
	.map = t1_map,
	.unmap = t1_unmap,
	.unmap_all = t1_unmap_all,
	.detach = t1_detach,
	.attach = t1_reattach,
	.detach_group = t1_detach_group,
	.attach_group = t1_attach_group,
	.close = t1_close,
	.attach_prints = true,
};

/* ------------------------------------------------------------------------- */
/* Backend: iommufd (/dev/iommu + VFIO device cdev)                           */

/* every device binds to the one iommufd; all attach to the same IOAS/HWPT */

static bool is_iommufd(const struct ctx *c)
{
	return c->nioas > 0;
}

/* /sys/bus/pci/devices/BDF/vfio-dev/vfioN -> open /dev/vfio/devices/vfioN */
static int iofd_open_cdev(const char *bdf)
{
	char path[PATH_MAX], name[64] = "";
	struct dirent *e;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(path);
	if (!d) {
		err_line("%s: %s (not bound to vfio-pci, or a kernel without VFIO_DEVICE_CDEV)",
			 path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4) && strlen(e->d_name) < sizeof(name)) {
			snprintf(name, sizeof(name), "%s", e->d_name);
			break;
		}
	closedir(d);
	if (!*name) {
		err_line("%s: no vfioN entry", path);
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		err_line("%s: %s", path, strerror(errno));
	return fd;
}

/* open device K's cdev and bind it to the iommufd (no attachment yet) */
static int iofd_bind(struct ctx *c, int k)
{
	struct gref g = group_ref(c, k);
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = c->iommufd };

	*g.device_fd = iofd_open_cdev(g.bdf);
	if (*g.device_fd < 0)
		return -1;
	if (ioctl(*g.device_fd, VFIO_DEVICE_BIND_IOMMUFD, &b)) {
		err_line("VFIO_DEVICE_BIND_IOMMUFD %s: %s", g.bdf, strerror(errno));
		return -1;
	}
	*g.dev_id = b.out_devid;
	*g.att_ioas = -1;
	return k == 0 ? device_setup(c) : 0;
}

/*
 * Attach device K to pt_id (an IOAS: the kernel finds or allocates an
 * automatic HWPT; or a HWPT), replacing its attachment if it has one.
 * ioas: index of the IOAS behind pt_id.  Returns 0 or -errno.
 */
static int iofd_attach_pt(struct ctx *c, int k, uint32_t pt_id, int ioas)
{
	struct gref g = group_ref(c, k);
	struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a), .pt_id = pt_id };

	if (ioctl(*g.device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a))
		return -errno;
	*g.hwpt = a.pt_id;	/* the kernel answers with the HWPT it used */
	*g.att_ioas = ioas;
	*g.attached = true;
	return 0;
}

static int iofd_detach_one(struct ctx *c, int k)
{
	struct gref g = group_ref(c, k);
	struct vfio_device_detach_iommufd_pt d = { .argsz = sizeof(d) };

	if (ioctl(*g.device_fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d))
		return -errno;
	*g.attached = false;
	*g.att_ioas = -1;
	return 0;
}

/* make IOAS index k current: park the current one's mappings in its slot */
static void ioas_switch(struct ctx *c, int k)
{
	struct ioas_slot *o = &c->ioas[c->cur_ioas], *n = &c->ioas[k];

	if (k == c->cur_ioas)
		return;
	o->maps = c->maps;
	o->nmaps = c->nmaps;
	o->cap = c->cap;
	o->next_iova = c->next_iova;
	c->maps = n->maps;
	c->nmaps = n->nmaps;
	c->cap = n->cap;
	c->next_iova = n->next_iova;
	n->maps = NULL;
	n->nmaps = n->cap = 0;
	c->cur_ioas = k;
}

/* IOMMU_IOAS_ALLOC; the new IOAS becomes current.  Returns its index or -errno. */
static int iofd_ioas_alloc(struct ctx *c)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	int k = c->nioas;

	if (k == MAX_IOAS)
		return -ENOSPC;
	if (ioctl(c->iommufd, IOMMU_IOAS_ALLOC, &a))
		return -errno;
	c->ioas[k] = (struct ioas_slot){ .id = a.out_ioas_id, .next_iova = c->iova_base };
	c->nioas++;
	if (k == 0)
		c->cur_ioas = 0;	/* ctx's own next_iova already holds the base */
	else
		ioas_switch(c, k);
	return k;
}

static int iofd_open(struct ctx *c)
{
	int r;

	c->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (c->iommufd < 0) {
		err_line("/dev/iommu: %s%s", strerror(errno),
			 errno == ENOENT ? " (kernel without CONFIG_IOMMUFD)" : "");
		return -1;
	}
	for (int k = 0; k <= c->nextra; k++)
		if (iofd_bind(c, k))
			return -1;
	r = iofd_ioas_alloc(c);
	if (r < 0) {
		err_line("IOMMU_IOAS_ALLOC: %s", strerror(-r));
		return -1;
	}
	if (c->defer_attach)
		return 0;
	for (int k = 0; k <= c->nextra; k++) {
		r = iofd_attach_pt(c, k, c->ioas[0].id, 0);
		if (r) {
			err_line("VFIO_DEVICE_ATTACH_IOMMUFD_PT %s ioas=%u: %s", group_ref(c, k).bdf,
				 c->ioas[0].id, strerror(-r));
			return -1;
		}
	}
	return 0;
}

/* IOMMU_GET_HW_INFO: VT-d snoop control (ecap bit 7) makes domains coherent */
static int iofd_cache_coherent(struct ctx *c)
{
	struct nsf_hw_info_vtd vtd;
	struct iommu_hw_info h = {
		.size = sizeof(h), .dev_id = c->dev_id,
		.data_len = sizeof(vtd), .data_uptr = (uintptr_t)&vtd,
	};

	memset(&vtd, 0, sizeof(vtd));
	if (ioctl(c->iommufd, IOMMU_GET_HW_INFO, &h))
		return -errno;
	if (h.out_data_type != NSF_HW_INFO_TYPE_INTEL_VTD)
		return -EOPNOTSUPP;
	return !!(vtd.ecap_reg & NSF_VTD_ECAP_SC);
}

static int iofd_map(struct ctx *c, uint64_t iova, void *vaddr, uint64_t size)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = c->ioas[c->cur_ioas].id,
		.user_va = (uintptr_t)vaddr,
		.length = size,
		.iova = iova,
	};

	return ioctl(c->iommufd, IOMMU_IOAS_MAP, &m) ? -errno : 0;
}

static int iofd_unmap_raw(struct ctx *c, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = c->ioas[c->cur_ioas].id,
		.iova = iova, .length = size,
	};

	if (ioctl(c->iommufd, IOMMU_IOAS_UNMAP, &u))
		return -errno;
	*unmapped = u.length;
	return 0;
}

/*
 * iommufd unmaps the areas inside [iova, iova+size) in IOVA order and stops
 * with ENOENT at the first area that sticks out of the range, keeping what it
 * already unmapped (and not saying how much); ENOENT also means nothing was
 * mapped there.  Mirror that in the tracking.
 */
static void track_remove_prefix(struct ctx *c, uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;

	if (!size || last < iova)
		return;
	for (;;) {
		struct mapping *best = NULL;

		for (size_t i = 0; i < c->nmaps; i++) {
			struct mapping *m = &c->maps[i];

			if (m->iova <= last && m->iova + m->size - 1 >= iova &&
			    (!best || m->iova < best->iova))
				best = m;
		}
		if (!best || best->iova < iova || best->iova + best->size - 1 > last)
			return;
		track_remove_range(c, best->iova, best->size);
	}
}

static int iofd_unmap(struct ctx *c, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
	int r = iofd_unmap_raw(c, iova, size, unmapped);

	if (r == -ENOENT)
		track_remove_prefix(c, iova, size);
	return r;
}

static int iofd_unmap_all(struct ctx *c, uint64_t *unmapped, const char **how)
{
	*how = "all";	/* iova=0 length=UINT64_MAX: the whole current IOAS */
	return iofd_unmap_raw(c, 0, UINT64_MAX, unmapped);
}

/* detach every device; the mappings stay in their IOAS */
static int iofd_detach(struct ctx *c)
{
	for (int k = c->nextra; k >= 0; k--) {
		int r = *group_ref(c, k).attached ? iofd_detach_one(c, k) : 0;

		if (r)
			return r;
	}
	return 0;
}

/* attach (or replace) every device to the current IOAS */
static int iofd_attach(struct ctx *c)
{
	for (int k = 0; k <= c->nextra; k++) {
		int r = iofd_attach_pt(c, k, c->ioas[c->cur_ioas].id, c->cur_ioas);

		if (r)
			return r;
	}
	return 0;
}

static int iofd_detach_group(struct ctx *c, int k)
{
	return iofd_detach_one(c, k);
}

static int iofd_attach_group(struct ctx *c, int k)
{
	return iofd_attach_pt(c, k, c->ioas[c->cur_ioas].id, c->cur_ioas);
}

/* close the device fds, then the iommufd: the kernel tears the rest down */
static void iofd_close(struct ctx *c)
{
	device_close(c);
	for (int k = 1; k <= c->nextra; k++) {
		struct gref g = group_ref(c, k);

		if (*g.device_fd >= 0)
			close(*g.device_fd);
		*g.device_fd = -1;
	}
	if (c->iommufd >= 0)
		close(c->iommufd);
	c->iommufd = -1;
	for (int k = 0; k <= c->nextra; k++) {
		struct gref g = group_ref(c, k);

		*g.attached = false;
		*g.att_ioas = -1;
	}
}

static const struct backend backend_iommufd = {
	.name = "iommufd",
	.open = iofd_open,
	.cache_coherent = iofd_cache_coherent,
	.map = iofd_map,
	.unmap = iofd_unmap,
	.unmap_all = iofd_unmap_all,
	.detach = iofd_detach,
	.attach = iofd_attach,
	.detach_group = iofd_detach_group,
	.attach_group = iofd_attach_group,
	.close = iofd_close,
	.detach_keeps_maps = true,
	.cc_via = "hw_info",
};

static const struct backend *const backends[] = { &backend_type1, &backend_iommufd };

/* ------------------------------------------------------------------------- */
/* Operations                                                                 */

enum op_kind {
	OP_CC, OP_IOVA, OP_MAP, OP_UNMAP, OP_UNMAP_ALL, OP_UNMAP_EACH, OP_DMA, OP_HOLD, OP_PAUSE,
	OP_DETACH, OP_ATTACH, OP_DETACH_GROUP, OP_ATTACH_GROUP, OP_RACE, OP_ALIAS, OP_EXIT, OP_KILL,
	/* iommufd only */
	OP_IOAS_ALLOC, OP_IOAS, OP_HWPT_ALLOC, OP_ATTACH_HWPT, OP_HWPT_DESTROY, OP_COPY,
	OP_CLOSE,
};

struct op {
	enum op_kind kind;
	bool try;		/* failure is reported on stdout and the run goes on */
	uint64_t a, b, c, d;
	int nargs;
	double secs;
};

static const struct op_spec {
	const char *name;
	enum op_kind kind;
	int min_args, max_args;
	bool iommufd_only;
} op_specs[] = {
	{ "cc",        OP_CC,        0, 0, false },
	{ "iova",      OP_IOVA,      1, 1, false },
	{ "map",       OP_MAP,       1, 2, false },
	{ "unmap",     OP_UNMAP,     2, 2, false },
	{ "unmap-all", OP_UNMAP_ALL, 0, 0, false },
	{ "unmap-each", OP_UNMAP_EACH, 0, 0, false },
	{ "dma",       OP_DMA,       1, 3, false },
	{ "hold",      OP_HOLD,      1, 1, false },
	{ "pause",     OP_PAUSE,     0, 0, false },
	{ "detach",    OP_DETACH,    0, 0, false },
	{ "attach",    OP_ATTACH,    0, 0, false },
	{ "detach-group", OP_DETACH_GROUP, 1, 1, false },
	{ "attach-group", OP_ATTACH_GROUP, 1, 1, false },
	{ "race",      OP_RACE,      2, 2, false },
	{ "alias",     OP_ALIAS,     0, 0, false },
	{ "exit",      OP_EXIT,      0, 0, false },
	{ "kill",      OP_KILL,      0, 0, false },
	{ "ioas-alloc", OP_IOAS_ALLOC, 0, 0, true },
	{ "ioas",      OP_IOAS,      1, 1, true },
	{ "hwpt-alloc", OP_HWPT_ALLOC, 0, 0, true },
	{ "attach-hwpt", OP_ATTACH_HWPT, 0, 0, true },
	{ "hwpt-destroy", OP_HWPT_DESTROY, 0, 0, true },
	{ "copy",      OP_COPY,      3, 4, true },
	{ "close",     OP_CLOSE,     0, 0, true },
};

static const struct op_spec *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(op_specs) / sizeof(op_specs[0]); i++)
		if (!strcmp(op_specs[i].name, name))
			return &op_specs[i];
	return NULL;
}

static const struct op_spec *op_spec_of(enum op_kind kind)
{
	for (size_t i = 0; i < sizeof(op_specs) / sizeof(op_specs[0]); i++)
		if (op_specs[i].kind == kind)
			return &op_specs[i];
	return NULL;
}

static bool is_number(const char *s)
{
	uint64_t v;

	return parse_u64(s, &v);
}

/* Parse argv[i..] into ops; exits with EXIT_USAGE on any error. */
static struct op *parse_ops(int argc, char **argv, int i, size_t *nops)
{
	struct op *ops = calloc((size_t)argc + 1, sizeof(*ops));
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t n = 0;

	if (!ops) {
		err_line("out of memory");
		exit(EXIT_OPFAIL);
	}
	while (i < argc) {
		const struct op_spec *sp;
		struct op *o = &ops[n];
		const char *name;
		const char *args[4] = { 0 };
		int na = 0;

		if (!strcmp(argv[i], "try")) {
			o->try = true;
			if (++i >= argc)
				usage_error("'try' needs an operation after it");
		}
		name = argv[i++];
		sp = find_op(name);
		if (!sp)
			usage_error("unknown operation '%s'", name);
		o->kind = sp->kind;
		/* optional arguments are only taken when they look like numbers */
		while (na < sp->max_args && i < argc &&
		       (na < sp->min_args || is_number(argv[i]))) {
			args[na++] = argv[i++];
		}
		if (na < sp->min_args)
			usage_error("'%s' needs %d argument%s", name, sp->min_args,
				    sp->min_args > 1 ? "s" : "");
		o->nargs = na;
		if (sp->kind == OP_HOLD) {
			if (!parse_seconds(args[0], &o->secs))
				usage_error("hold: bad seconds '%s'", args[0]);
		} else {
			uint64_t *dst[4] = { &o->a, &o->b, &o->c, &o->d };

			for (int k = 0; k < na; k++)
				if (!parse_u64(args[k], dst[k]))
					usage_error("%s: bad number '%s'", name, args[k]);
		}
		switch (sp->kind) {
		case OP_IOVA:
			if (o->a % page)
				usage_error("iova: 0x%" PRIx64 " is not page aligned", o->a);
			break;
		case OP_MAP:
			if (na < 2)
				o->b = o->a;
			if (!o->a || o->a % page)
				usage_error("map: size %" PRIu64 " is not a non-zero multiple of %" PRIu64,
					    o->a, page);
			if (!o->b || o->b % page || o->a % o->b)
				usage_error("map: chunk %" PRIu64 " must be a page multiple dividing size %" PRIu64,
					    o->b, o->a);
			break;
		case OP_UNMAP:
			/* deliberately not validated: tests probe kernel answers */
			break;
		case OP_RACE:
			if (!o->a || !o->b || o->b % page || o->b > 64 * 1024 * 1024)
				usage_error("race: want CYCLES > 0 and SIZE a page multiple of at most 64M");
			break;
		case OP_DMA:
			if (na < 2)
				o->b = o->a + EDU_DMA_BUF_SIZE;
			if (na < 3)
				o->c = EDU_DMA_BUF_SIZE;
			if (!o->c || o->c > EDU_DMA_BUF_SIZE)
				usage_error("dma: bytes must be 1..%d", EDU_DMA_BUF_SIZE);
			if (o->b < o->a ? o->a - o->b < o->c : o->b - o->a < o->c)
				usage_error("dma: source and destination ranges overlap");
			break;
		default:
			break;
		}
		n++;
	}
	*nops = n;
	return ops;
}

/*
 * Report a failed op: fatal ones go to stderr and exit 1, 'try' ones print
 * "<what> error=ENAME" on stdout and continue.
 */
static int op_fail(const struct op *o, int err, const char *what, const char *detail)
{
	if (o->try) {
		out("%s error=%s", what, err ? errno_name(err) : "EIO");
		return 0;
	}
	err_line("%s: %s", what, detail ? detail : strerror(err));
	exit(EXIT_OPFAIL);
}

/* Maps @buf (@size bytes, in @chunk pieces) at the next free IOVA. */
static int map_buffer(struct ctx *c, const struct op *o, const char *name, uint8_t *buf,
		      uint64_t size, uint64_t chunk)
{
	uint64_t iova = c->next_iova, t0;
	char what[128];

	snprintf(what, sizeof(what), "%s iova=0x%" PRIx64 " size=%" PRIu64 " chunks=%" PRIu64,
		 name, iova, size, size / chunk);
	if (iova + size < iova)
		return op_fail(o, EOVERFLOW, what, "IOVA range wraps");
	c->next_iova = iova + size;
	t0 = now_ns();
	for (uint64_t done = 0; done < size; done += chunk) {
		int r = c->be->map(c, iova + done, buf + done, chunk);

		if (r) {
			snprintf(what, sizeof(what),
				 "%s iova=0x%" PRIx64 " size=%" PRIu64 " chunks=%" PRIu64
				 " failed_at=0x%" PRIx64,
				 name, iova, size, size / chunk, iova + done);
			return op_fail(o, -r, what, NULL);
		}
		track_add(c, iova + done, chunk, buf + done);
	}
	out("%s iova=0x%" PRIx64 " size=%" PRIu64 " chunks=%" PRIu64 " chunk=%" PRIu64
	    " vaddr=%p ns=%" PRIu64, name, iova, size, size / chunk, chunk, (void *)buf,
	    now_ns() - t0);
	c->last_buf = buf;
	c->last_size = size;
	c->last_chunk = chunk;
	return 0;
}

static int do_map(struct ctx *c, const struct op *o)
{
	uint64_t size = o->a, chunk = o->b, iova = c->next_iova;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	char what[128];
	uint8_t *buf;

	snprintf(what, sizeof(what), "map iova=0x%" PRIx64 " size=%" PRIu64 " chunks=%" PRIu64,
		 iova, size, size / chunk);
	if (iova + size < iova)
		return op_fail(o, EOVERFLOW, what, "IOVA range wraps");
	/* refuse what cannot be pinned rather than meet the OOM killer */
	if (size > SIZE_MAX ||
	    size / page > (uint64_t)sysconf(_SC_PHYS_PAGES)) {
		c->next_iova = iova + size;
		return op_fail(o, ENOMEM, what, "larger than physical memory");
	}
	buf = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		c->next_iova = iova + size;
		return op_fail(o, errno, what, NULL);
	}
	/* THP changes how the kernel pins (whole folios vs single pages) */
	if (thp && madvise(buf, (size_t)size, thp > 0 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)) {
		c->next_iova = iova + size;
		return op_fail(o, errno, what, "madvise (THP)");
	}
	/* fault every page in, with a per-page value so pages are not shared */
	for (uint64_t off = 0; off < size; off += page)
		buf[off] = (uint8_t)(off / page) | 1;
	return map_buffer(c, o, "map", buf, size, chunk);
}

/* The last map's pages again, at the next free IOVA: the same host memory
 * at two IOVAs at once, as QEMU maps its BIOS (0xf0000 and 0xffff0000). */
static int do_alias(struct ctx *c, const struct op *o)
{
	if (!c->last_buf)
		return op_fail(o, EINVAL, "alias", "no map before it");
	return map_buffer(c, o, "alias", c->last_buf, c->last_size, c->last_chunk);
}

static int do_unmap(struct ctx *c, const struct op *o)
{
	uint64_t unmapped = 0, t0;
	char what[96];
	int r;

	snprintf(what, sizeof(what), "unmap iova=0x%" PRIx64 " size=%" PRIu64, o->a, o->b);
	t0 = now_ns();
	r = c->be->unmap(c, o->a, o->b, &unmapped);
	t0 = now_ns() - t0;
	if (r)
		return op_fail(o, -r, what, NULL);
	track_remove_range(c, o->a, o->b);
	out("%s unmapped=%" PRIu64 " ns=%" PRIu64, what, unmapped, t0);
	return 0;
}

static int do_unmap_all(struct ctx *c, const struct op *o)
{
	uint64_t unmapped = 0;
	const char *how = "?";
	uint64_t t0 = now_ns();
	int r = c->be->unmap_all(c, &unmapped, &how);

	t0 = now_ns() - t0;
	if (r)
		return op_fail(o, -r, "unmap-all", NULL);
	track_remove_all(c);
	out("unmap-all unmapped=%" PRIu64 " via=%s ns=%" PRIu64, unmapped, how, t0);
	return 0;
}

/* one UNMAP_DMA per tracked mapping, in map order */
static int do_unmap_each(struct ctx *c, const struct op *o)
{
	uint64_t total = 0, count = 0, ns = 0;
	char what[96];

	while (c->nmaps) {
		struct mapping m = c->maps[0];
		uint64_t n = 0, t0 = now_ns();
		int r = c->be->unmap(c, m.iova, m.size, &n);

		ns += now_ns() - t0;
		if (r) {
			snprintf(what, sizeof(what), "unmap-each count=%" PRIu64 " unmapped=%" PRIu64
				 " failed_at=0x%" PRIx64, count, total, m.iova);
			return op_fail(o, -r, what, NULL);
		}
		track_remove_range(c, m.iova, m.size);
		total += n;
		count++;
	}
	out("unmap-each count=%" PRIu64 " unmapped=%" PRIu64 " ns=%" PRIu64, count, total, ns);
	return 0;
}

static int edu_dma_wait(struct ctx *c, int *err)
{
	struct timespec t0, now, ms = { 0, 1000000 };
	uint64_t cmd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int r = bar0_read(c, EDU_REG_DMA_CMD, 8, &cmd);

		if (r) {
			*err = -r;
			return -1;
		}
		if (!(cmd & EDU_DMA_RUN))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000 > EDU_DMA_TIMEOUT_MS) {
			*err = ETIMEDOUT;
			return -1;
		}
		nanosleep(&ms, NULL);
	}
}

static int edu_dma(struct ctx *c, uint64_t src, uint64_t dst, uint64_t cnt, uint64_t cmd,
		   int *err)
{
	int r;

	if ((r = bar0_write64(c, EDU_REG_DMA_SRC, src)) ||
	    (r = bar0_write64(c, EDU_REG_DMA_DST, dst)) ||
	    (r = bar0_write64(c, EDU_REG_DMA_CNT, cnt)) ||
	    (r = bar0_write64(c, EDU_REG_DMA_CMD, cmd))) {
		*err = -r;
		return -1;
	}
	return edu_dma_wait(c, err);
}

static int do_dma(struct ctx *c, const struct op *o)
{
	uint64_t src = o->a, dst = o->b, len = o->c, id = 0;
	uint8_t *hsrc, *hdst;
	bool src_live, dst_live;
	char what[160], detail[384];
	uint32_t x;
	int err = 0;

	snprintf(what, sizeof(what), "dma iova=0x%" PRIx64 " dst_iova=0x%" PRIx64
		 " bytes=%" PRIu64, src, dst, len);
	if (c->device_fd < 0)
		return op_fail(o, ENODEV, what, "device is detached");
	if ((err = -bar0_read(c, EDU_REG_ID, 4, &id)))
		return op_fail(o, err, what, NULL);
	if (id != EDU_ID_VALUE) {
		snprintf(detail, sizeof(detail), "%s is not an edu device (id 0x%08" PRIx64 ")",
			 c->bdf, id);
		return op_fail(o, ENODEV, what, detail);
	}
	if (src + len > EDU_DMA_MASK + 1 || dst + len > EDU_DMA_MASK + 1)
		return op_fail(o, ERANGE, what, "edu can only DMA below 256 MiB (28-bit mask)");
	hsrc = track_lookup(c, src, len, &src_live);
	hdst = track_lookup(c, dst, len, &dst_live);
	if (!hsrc || !hdst) {
		snprintf(detail, sizeof(detail), "0x%" PRIx64 "+%" PRIu64
			 " is not inside one mapping this process made",
			 hsrc ? dst : src, len);
		return op_fail(o, ENOENT, what, detail);
	}
	if (!src_live || !dst_live)	/* stale: expected to fault in the IOMMU */
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " stale=1");
	if ((err = -enable_bus_master(c)))
		return op_fail(o, err, what, NULL);

	/* random pattern in, zeros out; a stale page can then never pass */
	{
		static uint32_t calls;
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ ((uint32_t)getpid() << 16) ^
		    (++calls * 0x9e3779b9u) ^ (uint32_t)src;
		if (!x)
			x = 1;
	}
	for (uint64_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		hsrc[i] = (uint8_t)x;
	}
	memset(hdst, 0, len);
	__sync_synchronize();

	for (uint64_t off = 0; off < len; off += EDU_XFER_MAX) {
		uint64_t n = len - off < EDU_XFER_MAX ? len - off : EDU_XFER_MAX;

		if (edu_dma(c, src + off, EDU_DMA_BUF, n, EDU_DMA_RUN, &err))
			return op_fail(o, err, what, NULL);
		if (edu_dma(c, EDU_DMA_BUF, dst + off, n, EDU_DMA_RUN | EDU_DMA_TO_RAM, &err))
			return op_fail(o, err, what, NULL);
	}
	__sync_synchronize();

	for (uint64_t i = 0; i < len; i++) {
		if (hdst[i] != hsrc[i]) {
			snprintf(detail, sizeof(detail),
				 "data mismatch at byte %" PRIu64 " (got 0x%02x, wrote 0x%02x)",
				 i, hdst[i], hsrc[i]);
			if (o->try) {
				out("%s error=mismatch", what);
				return 0;
			}
			return op_fail(o, EIO, what, detail);
		}
	}
	out("%s ok", what);
	return 0;
}

/*
 * IOMMU_IOAS_COPY [iova, iova+size) of IOAS index o->c into the current IOAS
 * at o->d (default: its next free IOVA).  The kernel makes one area per source
 * area it crosses, mapping the same pinned pages: track one mapping per piece,
 * with the source's host address.
 */
static int do_copy(struct ctx *c, const struct op *o)
{
	uint64_t src = o->a, size = o->b, dst = o->nargs > 3 ? o->d : c->next_iova, t0;
	int from = (int)o->c, err = 0;
	struct mapping *pieces = NULL;
	size_t np = 0, pcap = 0;
	char what[192];

	snprintf(what, sizeof(what), "copy src_ioas=%u dst_ioas=%u iova=0x%" PRIx64
		 " dst_iova=0x%" PRIx64 " size=%" PRIu64,
		 from < c->nioas ? c->ioas[from].id : 0, c->ioas[c->cur_ioas].id, src, dst, size);
	if (from >= c->nioas)
		return op_fail(o, ENOENT, what, "no such IOAS index");
	{
		struct iommu_ioas_copy cp = {
			.size = sizeof(cp),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.dst_ioas_id = c->ioas[c->cur_ioas].id,
			.src_ioas_id = c->ioas[from].id,
			.length = size, .dst_iova = dst, .src_iova = src,
		};

		t0 = now_ns();
		if (ioctl(c->iommufd, IOMMU_IOAS_COPY, &cp))
			err = errno;
		t0 = now_ns() - t0;
	}
	if (err)
		return op_fail(o, err, what, NULL);
	if (o->nargs <= 3)
		c->next_iova = dst + size;
	for (uint64_t pos = src; pos - src < size;) {
		size_t n;
		const struct mapping *m = ioas_maps(c, from, &n), *hit = NULL;
		uint64_t len;

		for (size_t i = 0; i < n && !hit; i++)
			if (pos >= m[i].iova && pos - m[i].iova < m[i].size)
				hit = &m[i];
		if (!hit)
			break;	/* not made here: the kernel had it, the tracking does not */
		len = hit->size - (pos - hit->iova);
		if (len > size - (pos - src))
			len = size - (pos - src);
		list_add(&pieces, &np, &pcap, (struct mapping){ dst + (pos - src), len,
				 hit->vaddr + (pos - hit->iova) });
		pos += len;
	}
	for (size_t i = 0; i < np; i++)
		track_add(c, pieces[i].iova, pieces[i].size, pieces[i].vaddr);
	free(pieces);
	out("%s ns=%" PRIu64, what, t0);
	return 0;
}

/* "none" or the HWPT id, for the attachment fields */
static const char *hwpt_str(bool attached, uint32_t hwpt, char *buf, size_t len)
{
	if (!attached)
		return "none";
	snprintf(buf, len, "%u", hwpt);
	return buf;
}

/* attach every device to pt_id (IOAS index ioas behind it); -errno */
static int iofd_attach_all(struct ctx *c, uint32_t pt_id, int ioas)
{
	for (int k = 0; k <= c->nextra; k++) {
		int r = iofd_attach_pt(c, k, pt_id, ioas);

		if (r)
			return r;
	}
	return 0;
}

static void run_iommufd_op(struct ctx *c, const struct op *o)
{
	char what[128], b1[16];
	int r;

	switch (o->kind) {
	case OP_IOAS_ALLOC:
		r = iofd_ioas_alloc(c);
		if (r < 0) {
			op_fail(o, -r, "ioas-alloc", NULL);
			break;
		}
		out("ioas-alloc ioas=%u index=%d", c->ioas[r].id, r);
		break;
	case OP_IOAS:
		snprintf(what, sizeof(what), "ioas index=%" PRIu64, o->a);
		if (o->a >= (uint64_t)c->nioas) {
			op_fail(o, ENOENT, what, "no such IOAS index");
			break;
		}
		ioas_switch(c, (int)o->a);
		out("%s ioas=%u next=0x%" PRIx64, what, c->ioas[c->cur_ioas].id, c->next_iova);
		break;
	case OP_HWPT_ALLOC: {
		struct iommu_hwpt_alloc h = {
			.size = sizeof(h), .dev_id = c->dev_id,
			.pt_id = c->ioas[c->cur_ioas].id,
		};

		snprintf(what, sizeof(what), "hwpt-alloc ioas=%u", c->ioas[c->cur_ioas].id);
		if (c->nhwpt == MAX_HWPT) {
			op_fail(o, ENOSPC, what, "too many HWPTs");
			break;
		}
		if (ioctl(c->iommufd, IOMMU_HWPT_ALLOC, &h)) {
			op_fail(o, errno, what, NULL);
			break;
		}
		c->hwpts[c->nhwpt++] = (struct hwpt_slot){ h.out_hwpt_id, c->cur_ioas };
		out("hwpt-alloc hwpt=%u ioas=%u", h.out_hwpt_id, c->ioas[c->cur_ioas].id);
		break;
	}
	case OP_ATTACH_HWPT: {
		struct hwpt_slot *h = c->nhwpt ? &c->hwpts[c->nhwpt - 1] : NULL;
		const char *was = hwpt_str(c->attached, c->hwpt, b1, sizeof(b1));

		snprintf(what, sizeof(what), "attach-hwpt hwpt=%u ioas=%u was=%s",
			 h ? h->id : 0, h ? c->ioas[h->ioas].id : 0, was);
		if (!h) {
			op_fail(o, ENOENT, what, "no HWPT allocated");
			break;
		}
		r = iofd_attach_all(c, h->id, h->ioas);
		if (r) {
			op_fail(o, -r, what, NULL);
			break;
		}
		out("%s", what);
		break;
	}
	case OP_HWPT_DESTROY: {
		struct hwpt_slot *h = c->nhwpt ? &c->hwpts[c->nhwpt - 1] : NULL;
		struct iommu_destroy d = { .size = sizeof(d), .id = h ? h->id : 0 };

		snprintf(what, sizeof(what), "hwpt-destroy hwpt=%u", d.id);
		if (!h) {
			op_fail(o, ENOENT, what, "no HWPT allocated");
			break;
		}
		if (ioctl(c->iommufd, IOMMU_DESTROY, &d)) {
			op_fail(o, errno, what, NULL);
			break;
		}
		c->nhwpt--;
		out("%s", what);
		break;
	}
	case OP_COPY:
		do_copy(c, o);
		break;
	case OP_CLOSE: {
		uint64_t dropped = mapped_bytes(c);
		int cur = c->cur_ioas;

		iofd_close(c);
		for (int k = 0; k < c->nioas; k++) {
			ioas_switch(c, k);
			track_remove_all(c);
		}
		ioas_switch(c, cur);
		out("close dropped=%" PRIu64, dropped);
		break;
	}
	default:
		break;
	}
}

static void do_hold(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9),
	};

	out("hold seconds=%g", secs);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Until SIGUSR1: lets a test look at the state in between, free of timing. */
static void do_pause(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	/* Blocked before the line is out: a signal sent on seeing it waits. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	out("pause until=SIGUSR1");
	while (sigwait(&set, &sig))
		;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * race CYCLES SIZE: while this thread detaches and re-attaches group 1
 * CYCLES times, a second one maps SIZE page by page into the same
 * container (IOAS) and unmaps it again, over and over: maps that meet an
 * attach half-way. Only raw ioctls on the second thread (the tracking is
 * this thread's); its range is past everything mapped so far.
 */
struct racer {
	struct ctx *c;
	uint8_t *buf;
	uint64_t iova, size, page;
	atomic_bool stop;
	uint64_t maps, mapped;	/* map calls and bytes that succeeded */
	int err;
	const char *failed;	/* "map" or "unmap" */
};

static void *race_mapper(void *arg)
{
	struct racer *r = arg;
	struct ctx *c = r->c;

	while (!atomic_load(&r->stop)) {
		for (uint64_t off = 0; off < r->size; off += r->page) {
			r->err = c->be->map(c, r->iova + off, r->buf + off, r->page);
			if (r->err) {
				r->failed = "map";
				return NULL;
			}
			r->maps++;
			r->mapped += r->page;
		}
		for (uint64_t off = 0; off < r->size; off += r->page) {
			uint64_t n = 0;

			r->err = is_iommufd(c) ? iofd_unmap_raw(c, r->iova + off, r->page, &n) :
						 t1_unmap(c, r->iova + off, r->page, &n);
			if (r->err) {
				r->failed = "unmap";
				return NULL;
			}
		}
	}
	return NULL;
}

static int do_race(struct ctx *c, const struct op *o)
{
	struct racer r = { .c = c, .iova = c->next_iova, .size = o->b,
			   .page = (uint64_t)sysconf(_SC_PAGESIZE) };
	struct gref g;
	pthread_t thread;
	uint64_t cycles = 0;
	char what[96];
	int err;

	snprintf(what, sizeof(what), "race cycles=%" PRIu64 " size=%" PRIu64, o->a, o->b);
	if (c->nextra < 1 || !*(g = group_ref(c, 1)).attached || !c->attached)
		return op_fail(o, EINVAL, what, "needs devices 0 and 1 attached");
	if (r.iova + r.size < r.iova)
		return op_fail(o, EOVERFLOW, what, "IOVA range wraps");
	c->next_iova += r.size;
	r.buf = mmap(NULL, (size_t)r.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (r.buf == MAP_FAILED)
		return op_fail(o, errno, what, NULL);
	for (uint64_t off = 0; off < r.size; off += r.page)
		r.buf[off] = (uint8_t)(off / r.page) | 1;
	err = pthread_create(&thread, NULL, race_mapper, &r);
	if (err)
		return op_fail(o, err, what, "pthread_create");
	for (; cycles < o->a && !err; cycles++) {
		err = -c->be->detach_group(c, 1);
		if (!err)
			err = -c->be->attach_group(c, 1);
	}
	atomic_store(&r.stop, true);
	pthread_join(thread, NULL);
	if (err)
		return op_fail(o, err, what, cycles ? "re-attaching group 1" : "detaching group 1");
	if (r.err)
		return op_fail(o, -r.err, what, r.failed);
	munmap(r.buf, (size_t)r.size);
	out("race cycles=%" PRIu64 " size=%" PRIu64 " maps=%" PRIu64 " mapped=%" PRIu64, cycles,
	    r.size, r.maps, r.mapped);
	return 0;
}

static void run_op(struct ctx *c, const struct op *o)
{
	char b1[16];
	int r;

	switch (o->kind) {
	case OP_IOAS_ALLOC: case OP_IOAS: case OP_HWPT_ALLOC: case OP_ATTACH_HWPT:
	case OP_HWPT_DESTROY: case OP_COPY: case OP_CLOSE:
		run_iommufd_op(c, o);
		break;
	case OP_CC:
		r = c->be->cache_coherent(c);
		if (r < 0) {
			op_fail(o, -r, "cc", NULL);
			break;
		}
		if (c->be->cc_via)
			out("cc_iommu=%d via=%s", r, c->be->cc_via);
		else
			out("cc_iommu=%d", r);
		break;
	case OP_IOVA:
		c->next_iova = o->a;
		out("iova next=0x%" PRIx64, o->a);
		break;
	case OP_MAP:
		do_map(c, o);
		break;
	case OP_UNMAP:
		do_unmap(c, o);
		break;
	case OP_UNMAP_ALL:
		do_unmap_all(c, o);
		break;
	case OP_UNMAP_EACH:
		do_unmap_each(c, o);
		break;
	case OP_RACE:
		do_race(c, o);
		break;
	case OP_ALIAS:
		do_alias(c, o);
		break;
	case OP_DMA:
		do_dma(c, o);
		break;
	case OP_HOLD:
		do_hold(o->secs);
		break;
	case OP_PAUSE:
		do_pause();
		break;
	case OP_DETACH: {
		uint64_t dropped = mapped_bytes(c);
		char what[48];

		snprintf(what, sizeof(what), "detach group=%d", c->group_id);
		if (!groups_attached(c)) {
			op_fail(o, EINVAL, what, "not attached");
			break;
		}
		r = c->be->detach(c);
		if (r) {
			op_fail(o, -r, what, NULL);
			break;
		}
		if (c->be->detach_keeps_maps) {
			/* iommufd: the device is blocked, the IOAS keeps its areas */
			out("%s dropped=0 kept=%" PRIu64, what, dropped);
			break;
		}
		/* the last detach makes the kernel unmap and unpin everything */
		track_remove_all(c);
		out("%s dropped=%" PRIu64, what, dropped);
		break;
	}
	case OP_ATTACH: {
		char what[48];

		snprintf(what, sizeof(what), "attach group=%d", c->group_id);
		if (is_iommufd(c)) {
			/* to the current IOAS; replaces an existing attachment */
			char was[16];

			snprintf(was, sizeof(was), "%s", hwpt_str(c->attached, c->hwpt, b1,
								  sizeof(b1)));
			snprintf(what, sizeof(what), "attach group=%d ioas=%u", c->group_id,
				 c->ioas[c->cur_ioas].id);
			r = c->be->attach(c);
			if (r) {
				op_fail(o, -r, what, NULL);
				break;
			}
			out("%s hwpt=%u was=%s", what, c->hwpt, was);
			break;
		}
		if (groups_attached(c) == c->nextra + 1) {
			op_fail(o, EBUSY, what, "already attached");
			break;
		}
		r = c->be->attach(c);
		if (r) {
			/* detail already printed by the backend */
			if (!o->try)
				exit(EXIT_OPFAIL);
			out("%s error=%s", what, errno_name(-r));
			break;
		}
		out("%s", what);
		break;
	}
	case OP_DETACH_GROUP: {
		struct gref g = group_ref(c, (int)o->a);
		uint64_t dropped = 0;
		char what[64];

		snprintf(what, sizeof(what), "detach-group index=%d group=%d", (int)o->a,
			 *g.group_id);
		if (!*g.attached) {
			op_fail(o, EINVAL, what, "not attached");
			break;
		}
		r = c->be->detach_group(c, (int)o->a);
		if (r) {
			op_fail(o, -r, what, NULL);
			break;
		}
		/* only the container's last group takes the mappings with it */
		if (!groups_attached(c) && !c->be->detach_keeps_maps) {
			dropped = mapped_bytes(c);
			track_remove_all(c);
		}
		out("%s dropped=%" PRIu64 " attached=%d", what, dropped, groups_attached(c));
		break;
	}
	case OP_ATTACH_GROUP: {
		struct gref g = group_ref(c, (int)o->a);
		char what[64];

		snprintf(what, sizeof(what), "attach-group index=%d group=%d", (int)o->a,
			 *g.group_id);
		if (*g.attached) {
			op_fail(o, EBUSY, what, "already attached");
			break;
		}
		r = c->be->attach_group(c, (int)o->a);
		if (r && !c->be->attach_prints) {
			op_fail(o, -r, what, NULL);
			break;
		}
		if (r) {
			if (!o->try)
				exit(EXIT_OPFAIL);
			out("%s error=%s", what, errno_name(-r));
			break;
		}
		if (is_iommufd(c))
			out("%s attached=%d hwpt=%u", what, groups_attached(c), *g.hwpt);
		else
			out("%s attached=%d", what, groups_attached(c));
		break;
	}
	case OP_EXIT:
		out("exit mapped=%" PRIu64, mapped_bytes(c));
		fflush(NULL);
		_exit(0);
	case OP_KILL:
		out("kill mapped=%" PRIu64, mapped_bytes(c));
		fflush(NULL);
		raise(SIGKILL);
		_exit(EXIT_OPFAIL);	/* not reached */
	}
}

/* ------------------------------------------------------------------------- */

static void help(void)
{
	printf(
"Usage: " PROG " [OPTIONS] [--] OP [ARGS] [OP [ARGS]]...\n"
"\n"
"A minimal VFIO client (a tiny VMM): opens the edu PCI device (1234:11e8)\n"
"through /dev/vfio, attaches it to a type1v2 IOMMU domain (or, with\n"
"--backend iommufd, binds its VFIO cdev to /dev/iommu and attaches it to an\n"
"IOAS), then runs the operations in order.  Each operation prints one line of\n"
"key=value fields.\n"
"\n"
"Options:\n"
"  --device BDF      device to use (default: $NSFLUSH_EDU_BDF, else the only\n"
"                    1234:11e8 device in /sys/bus/pci/devices).  Give it up to\n"
"                    %d times: every device's group joins the one container\n"
"                    (device index 0, 1, ... in that order; 0 does the DMA)\n"
"  --devices all     every 1234:11e8 device, sorted by address\n"
"  --iova-base IOVA  IOVA of the first map (default 0x%llx)\n"
"  --backend NAME    IOMMU backend: type1 (default: /dev/vfio/vfio container,\n"
"                    VFIO_TYPE1v2_IOMMU) or iommufd (/dev/iommu; each device's\n"
"                    /dev/vfio/devices/vfioN is VFIO_DEVICE_BIND_IOMMUFD to it,\n"
"                    IOMMU_IOAS_ALLOC makes IOAS index 0, the current IOAS, and\n"
"                    every device is attached to it: an automatic HWPT)\n"
"  --defer-attach    iommufd: bind but do not attach; 'attach' does it later\n"
"                    (maps made before are filled into the new domain then)\n"
"  --thp on|off      madvise map buffers (MADV_HUGEPAGE / MADV_NOHUGEPAGE);\n"
"                    default: the kernel's THP policy\n"
"  --bar-rw          reach BAR0 by pread/pwrite on the device fd, not mmap\n"
"  --quiet           print nothing on stdout (errors still go to stderr)\n"
"  --help            this text\n"
"\n"
"Operations:\n"
"  cc                  print cc_iommu=0|1: VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU)\n"
"                      with the domain attached (1 = coherent, snoop control)\n"
"  map SIZE [CHUNK]    mmap SIZE bytes anonymous (touched) and VFIO_IOMMU_MAP_DMA\n"
"                      them as SIZE/CHUNK adjacent mappings at the next free IOVA\n"
"                      (CHUNK defaults to SIZE)\n"
"  iova IOVA           set the IOVA of the next map\n"
"  unmap IOVA SIZE     VFIO_IOMMU_UNMAP_DMA; prints the bytes the kernel unmapped\n"
"                      (type1v2 refuses to split a mapping: EINVAL)\n"
"  unmap-all           unmap everything (VFIO_DMA_UNMAP_FLAG_ALL when supported)\n"
"  unmap-each          one VFIO_IOMMU_UNMAP_DMA per mapping still held, in order\n"
"  dma IOVA [DST [N]]  edu DMA of N (<= 4096, default 4096) random bytes from\n"
"                      IOVA into the device and back out to DST (default\n"
"                      IOVA+4096); each range must lie inside one CHUNK mapped\n"
"                      here, below 256 MiB.  On IOVAs already unmapped the line\n"
"                      says stale=1 and the DMA must fail (IOMMU fault): use\n"
"                      'try dma'\n"
"  hold SECONDS        sleep (fractions allowed)\n"
"  pause               wait for SIGUSR1 (prints 'pause until=SIGUSR1' first)\n"
"  detach              close the device and VFIO_GROUP_UNSET_CONTAINER while\n"
"                      mapped (the kernel drops all mappings)\n"
"  attach              set the container and IOMMU again, reopen the device\n"
"                      (with several devices: every group, the first one last\n"
"                      on detach and first on attach)\n"
"  detach-group K      close device K and VFIO_GROUP_UNSET_CONTAINER its group\n"
"                      only; mappings stay unless it was the last group\n"
"  attach-group K      VFIO_GROUP_SET_CONTAINER group K again (plus SET_IOMMU\n"
"                      if no other group is attached), reopen device K\n"
"  alias               map the last map's pages again at the next free IOVA (the\n"
"                      same memory at two IOVAs at once, as QEMU's BIOS)\n"
"  race CYCLES SIZE    detach-group 1 and attach-group 1, CYCLES times, while a\n"
"                      second thread maps SIZE (at most 64M) page by page past\n"
"                      every mapping so far and unmaps it, over and over\n"
"  exit                exit(0) at once without unmapping (release path)\n"
"  kill                raise SIGKILL on itself\n"
"  try OP ...          run OP; on failure print '<op fields> error=ENAME' on\n"
"                      stdout and continue instead of exiting 1\n"
"\n"
"With --backend iommufd the operations above act on the current IOAS:\n"
"  cc                  IOMMU_GET_HW_INFO: VT-d ecap bit 7 (snoop control)\n"
"  map                 IOMMU_IOAS_MAP (FIXED_IOVA, READABLE, WRITEABLE)\n"
"  unmap IOVA SIZE     IOMMU_IOAS_UNMAP; unmapped= is the kernel's length.  It\n"
"                      unmaps the areas inside the range in IOVA order and\n"
"                      fails with ENOENT at the first one sticking out of it,\n"
"                      keeping those already unmapped; ENOENT too when nothing\n"
"                      is mapped in the range (type1: unmapped=0)\n"
"  unmap-all           IOMMU_IOAS_UNMAP iova=0 length=UINT64_MAX (via=all)\n"
"  detach              VFIO_DEVICE_DETACH_IOMMUFD_PT every device: it stays\n"
"                      bound and open (DMA is blocked), the IOAS keeps its\n"
"                      mappings; an automatic HWPT is freed\n"
"  attach              VFIO_DEVICE_ATTACH_IOMMUFD_PT every device to the\n"
"                      current IOAS (replacing an attachment if there is one)\n"
"  detach-group K / attach-group K   the same for device K only\n"
"  dma                 goes through whatever the device is attached to; IOVAs\n"
"                      not mapped in that IOAS count as stale\n"
"and these exist only there (with type1 they are usage errors):\n"
"  ioas-alloc          IOMMU_IOAS_ALLOC another IOAS; it becomes current\n"
"  ioas K              make IOAS index K (0 = the first) current for map, unmap,\n"
"                      unmap-all, unmap-each, iova, copy, hwpt-alloc, attach;\n"
"                      each IOAS has its own next IOVA and mappings\n"
"  hwpt-alloc          IOMMU_HWPT_ALLOC (flags 0, no data) for device 0 on the\n"
"                      current IOAS: a domain of its own, filled from the IOAS\n"
"  attach-hwpt         attach every device to the latest HWPT (replace)\n"
"  hwpt-destroy        IOMMU_DESTROY the latest HWPT (EBUSY while attached)\n"
"  copy IOVA SIZE K [DST]  IOMMU_IOAS_COPY [IOVA, IOVA+SIZE) of IOAS index K\n"
"                      into the current IOAS at DST (default: its next IOVA);\n"
"                      the same pages, tracked as mappings of the current IOAS\n"
"  close               close the device fds and the iommufd without unmapping\n"
"                      (the kernel tears it all down), then go on\n"
"\n"
"Numbers: decimal or 0x-hex, optional K/M/G suffix (1024-based): 4K, 2M, 0x100000.\n"
"\n"
"Output (stdout, one line each):\n"
"  pid=N                                 first line\n"
"  open backend=type1 device=BDF group=N bar0=mmap|rw edu_id=0x010000ed\n"
"  open index=K device=BDF group=N       each further device (K >= 1)\n"
"  (iommufd: open ... edu_id=0x010000ed dev_id=N ioas=N hwpt=N|none and\n"
"   open index=K device=BDF group=N dev_id=N hwpt=N|none)\n"
"  cc_iommu=0\n"
"  map iova=0x100000 size=N chunks=N chunk=N vaddr=0x... ns=N\n"
"  unmap iova=0x100000 size=N unmapped=N ns=N\n"
"  unmap-all unmapped=N via=flag_all|each ns=N\n"
"  unmap-each count=N unmapped=N ns=N\n"
"  (ns= is the time spent in the MAP/UNMAP ioctls, CLOCK_MONOTONIC)\n"
"  dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok    (or error=mismatch)\n"
"  hold seconds=S | iova next=0x... | detach group=N dropped=N | attach group=N\n"
"  detach-group index=K group=N dropped=N attached=N   (groups still attached)\n"
"  attach-group index=K group=N attached=N\n"
"  race cycles=N size=N maps=N mapped=N  (maps: the second thread's MAP calls)\n"
"  alias iova=0x... size=N chunks=N chunk=N vaddr=0x... ns=N   (as map)\n"
"  exit mapped=N | kill mapped=N         (bytes still mapped, every IOAS)\n"
"  iommufd: cc_iommu=0 via=hw_info | unmap-all unmapped=N via=all ns=N\n"
"    detach group=N dropped=0 kept=N     (bytes still in the IOASes)\n"
"    attach group=N ioas=N hwpt=N was=none|N   (the HWPT the kernel used)\n"
"    attach-group index=K group=N attached=N hwpt=N\n"
"    ioas-alloc ioas=N index=K | ioas index=K ioas=N next=0x...\n"
"    hwpt-alloc hwpt=N ioas=N | attach-hwpt hwpt=N ioas=N was=none|N\n"
"    hwpt-destroy hwpt=N | close dropped=N\n"
"    copy src_ioas=N dst_ioas=N iova=0x... dst_iova=0x... size=N ns=N\n"
"  done mapped=N                         end of the list; fds are then closed\n"
"Errors: one line on stderr, exit 1 ('" PROG ": map iova=0x...: Invalid argument').\n"
"Usage errors exit 2 before any operation runs.\n"
"\n"
"Examples:\n"
"  " PROG " cc map 256M 2M dma 0x100000 unmap-all\n"
"  " PROG " map 16M 4K unmap 0x100000 16M          # 4096 x 4 KiB maps, one unmap\n"
"  " PROG " map 16M 4K unmap-each                   # ... and 4096 unmaps\n"
"  " PROG " map 4M 2M try unmap 0x100000 1M unmap 0x100000 2M\n"
"  " PROG " map 64M hold 5 exit                    # leave it to the release path\n"
"  " PROG " map 8M detach cc attach map 8M dma 0x900000\n"
"  " PROG " --devices all map 32M 2M detach-group 1 map 16M dma 0x2100000\n"
"  " PROG " --backend iommufd --defer-attach map 16M attach dma 0x100000\n"
"  " PROG " --backend iommufd map 4M ioas-alloc copy 0x100000 4M 0 hwpt-alloc \\\n"
"      attach-hwpt dma 0x100000         # IOAS 1 reaches IOAS 0's pages\n",
	MAX_DEVICES, (unsigned long long)DEFAULT_IOVA_BASE);
}

int main(int argc, char **argv)
{
	struct ctx c = {
		.be = &backend_type1,
		.group_id = -1,
		.container_fd = -1, .group_fd = -1, .device_fd = -1,
		.next_iova = DEFAULT_IOVA_BASE,
		.iommufd = -1, .att_ioas = -1,
	};
	const char *devices[MAX_DEVICES], *env;
	char *all[MAX_DEVICES];
	int ndev = 0, nall = 0;
	bool want_all = false;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct op *ops;
	size_t nops;
	uint64_t id = 0;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			help();
			return 0;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			quiet = true;
		} else if (!strcmp(a, "--bar-rw")) {
			bar_rw = true;
		} else if (!strcmp(a, "--defer-attach")) {
			c.defer_attach = true;
		} else if (!strcmp(a, "--thp")) {
			if (i + 1 >= argc)
				usage_error("%s needs a value", a);
			i++;
			if (!strcmp(argv[i], "on"))
				thp = 1;
			else if (!strcmp(argv[i], "off"))
				thp = -1;
			else
				usage_error("--thp: want on or off, not '%s'", argv[i]);
		} else if (!strcmp(a, "--device") || !strcmp(a, "--devices") ||
			   !strcmp(a, "--iova-base") || !strcmp(a, "--backend")) {
			if (i + 1 >= argc)
				usage_error("%s needs a value", a);
			if (!strcmp(a, "--device")) {
				const char *d = argv[++i];

				if (ndev == MAX_DEVICES)
					usage_error("--device: at most %d devices", MAX_DEVICES);
				if (strlen(d) >= sizeof(c.bdf) || strchr(d, '/'))
					usage_error("--device: bad BDF '%s'", d);
				for (int k = 0; k < ndev; k++)
					if (!strcmp(devices[k], d))
						usage_error("--device: %s given twice", d);
				devices[ndev++] = d;
			} else if (!strcmp(a, "--devices")) {
				if (strcmp(argv[++i], "all"))
					usage_error("--devices: only 'all' is known, not '%s'", argv[i]);
				want_all = true;
			} else if (!strcmp(a, "--iova-base")) {
				if (!parse_u64(argv[++i], &c.next_iova) ||
				    c.next_iova % (uint64_t)sysconf(_SC_PAGESIZE))
					usage_error("--iova-base: bad or unaligned IOVA '%s'", argv[i]);
			} else {
				const char *b = argv[++i];
				size_t k;

				for (k = 0; k < sizeof(backends) / sizeof(backends[0]); k++)
					if (!strcmp(backends[k]->name, b))
						break;
				if (k == sizeof(backends) / sizeof(backends[0]))
					usage_error("--backend: '%s' is not implemented (have: type1, iommufd)",
						    b);
				c.be = backends[k];
			}
		} else {
			usage_error("unknown option '%s'", a);
		}
	}
	if (want_all && ndev)
		usage_error("--devices all and --device exclude each other");
	if (c.defer_attach && c.be != &backend_iommufd)
		usage_error("--defer-attach needs --backend iommufd");
	c.iova_base = c.next_iova;
	ops = parse_ops(argc, argv, i, &nops);
	{
		/* iommufd-only ops, and IOAS/HWPT references made before they exist */
		int nioas = 1, nhwpt = 0;

		for (size_t k = 0; k < nops; k++) {
			const struct op *o = &ops[k];
			const char *name = op_spec_of(o->kind)->name;

			if (op_spec_of(o->kind)->iommufd_only && c.be != &backend_iommufd)
				usage_error("'%s' needs --backend iommufd", name);
			switch (o->kind) {
			case OP_IOAS_ALLOC:
				if (++nioas > MAX_IOAS)
					usage_error("ioas-alloc: at most %d IOAS", MAX_IOAS);
				break;
			case OP_IOAS:
			case OP_COPY:
				if ((o->kind == OP_IOAS ? o->a : o->c) >= (uint64_t)nioas)
					usage_error("%s: no IOAS index %" PRIu64 " yet (0..%d)", name,
						    o->kind == OP_IOAS ? o->a : o->c, nioas - 1);
				break;
			case OP_HWPT_ALLOC:
				if (++nhwpt > MAX_HWPT)
					usage_error("hwpt-alloc: at most %d HWPTs", MAX_HWPT);
				break;
			case OP_ATTACH_HWPT:
			case OP_HWPT_DESTROY:
				if (!nhwpt)
					usage_error("%s: no hwpt-alloc before it", name);
				/* a 'try' one may fail and leave the HWPT */
				if (o->kind == OP_HWPT_DESTROY && !o->try)
					nhwpt--;
				break;
			default:
				break;
			}
		}
	}
	for (size_t k = 0; k < nops; k++)
		if ((ops[k].kind == OP_DETACH_GROUP || ops[k].kind == OP_ATTACH_GROUP) &&
		    ops[k].a >= (uint64_t)(want_all ? MAX_DEVICES : ndev ? ndev : 1))
			usage_error("%s %" PRIu64 ": no such device index (devices are 0..%d)",
				    ops[k].kind == OP_DETACH_GROUP ? "detach-group" : "attach-group",
				    ops[k].a, (want_all ? MAX_DEVICES : ndev ? ndev : 1) - 1);

	out("pid=%d", (int)getpid());
	if (want_all) {
		nall = list_edu(all, MAX_DEVICES);
		if (nall < 0)
			return EXIT_OPFAIL;
		if (nall == 0) {
			err_line("--devices all: no edu (1234:11e8) PCI device");
			return EXIT_OPFAIL;
		}
		for (int k = 0; k < nall; k++)
			devices[ndev++] = all[k];
	}
	if (!ndev) {
		env = getenv("NSFLUSH_EDU_BDF");
		if (env && *env) {
			if (strlen(env) >= sizeof(c.bdf) || strchr(env, '/'))
				usage_error("--device: bad BDF '%s'", env);
			devices[ndev++] = env;
		}
	}
	if (ndev) {
		snprintf(c.bdf, sizeof(c.bdf), "%s", devices[0]);
	} else if (find_edu(c.bdf, sizeof(c.bdf))) {
		return EXIT_OPFAIL;
	}
	for (int k = 1; k < ndev; k++) {
		struct extra_group *e = &c.extra[c.nextra++];

		snprintf(e->bdf, sizeof(e->bdf), "%s", devices[k]);
		e->group_fd = e->device_fd = -1;
	}
	for (size_t k = 0; k < nops; k++)
		if ((ops[k].kind == OP_DETACH_GROUP || ops[k].kind == OP_ATTACH_GROUP) &&
		    ops[k].a > (uint64_t)c.nextra) {
			err_line("device index %" PRIu64 ": only %d device%s", ops[k].a,
				 c.nextra + 1, c.nextra ? "s" : "");
			return EXIT_OPFAIL;
		}

	/* root has CAP_IPC_LOCK; for anyone else, pinning counts against MEMLOCK */
	if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
		/* not fatal: big maps may then fail with ENOMEM, reported there */
	}
	c.group_id = find_group(c.bdf, true);
	if (c.group_id < 0)
		return EXIT_OPFAIL;
	for (int k = 0; k < c.nextra; k++) {
		c.extra[k].group_id = find_group(c.extra[k].bdf, false);
		if (c.extra[k].group_id < 0)
			return EXIT_OPFAIL;
		for (int j = -1; j < k; j++) {
			int other = j < 0 ? c.group_id : c.extra[j].group_id;

			if (other == c.extra[k].group_id) {
				err_line("%s shares IOMMU group %d with %s: one device per group",
					 c.extra[k].bdf, other, j < 0 ? c.bdf : c.extra[j].bdf);
				return EXIT_OPFAIL;
			}
		}
	}
	if (c.be->open(&c))
		return EXIT_OPFAIL;
	bar0_read(&c, EDU_REG_ID, 4, &id);
	if (is_iommufd(&c)) {
		char hb[16];

		out("open backend=%s device=%s group=%d bar0=%s edu_id=0x%08" PRIx64
		    " dev_id=%u ioas=%u hwpt=%s", c.be->name, c.bdf, c.group_id,
		    c.bar0_map ? "mmap" : "rw", id, c.dev_id, c.ioas[0].id,
		    hwpt_str(c.attached, c.hwpt, hb, sizeof(hb)));
		for (int k = 0; k < c.nextra; k++)
			out("open index=%d device=%s group=%d dev_id=%u hwpt=%s", k + 1,
			    c.extra[k].bdf, c.extra[k].group_id, c.extra[k].dev_id,
			    hwpt_str(c.extra[k].attached, c.extra[k].hwpt, hb, sizeof(hb)));
	} else {
		out("open backend=%s device=%s group=%d bar0=%s edu_id=0x%08" PRIx64,
		    c.be->name, c.bdf, c.group_id, c.bar0_map ? "mmap" : "rw", id);
		for (int k = 0; k < c.nextra; k++)
			out("open index=%d device=%s group=%d", k + 1, c.extra[k].bdf,
			    c.extra[k].group_id);
	}

	for (size_t k = 0; k < nops; k++)
		run_op(&c, &ops[k]);

	out("done mapped=%" PRIu64, mapped_bytes(&c));
	c.be->close(&c);
	free(ops);
	for (int k = 0; k < nall; k++)
		free(all[k]);
	free(c.maps);
	for (int k = 0; k < c.nioas; k++)
		if (k != c.cur_ioas)
			free(c.ioas[k].maps);
	free(c.old);
	return 0;
}
