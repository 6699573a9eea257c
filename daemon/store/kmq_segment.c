// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_segment.c - commitlog segment files and the ring that orders them.
 *
 * A segment is a file of segment_size bytes named by its start offset
 * (20 decimal digits), allocated with fallocate() and mapped whole. The
 * ring is the array of segments holding readable records, oldest first;
 * its starts are consecutive multiples of segment_size.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmq_store_int.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

static void kmq_seg_name(char *buf, size_t len, uint64_t start)
{
	snprintf(buf, len, "commitlog/%020llu", (unsigned long long)start);
}

/*
 * kmq_seg_open() - open (or create) the segment file starting at @start
 * and map it. A file shorter than segment_size (a creation cut short) is
 * extended; a longer one is refused.
 */
struct kmq_seg *kmq_seg_open(struct kmq_store *s, uint64_t start, int *err)
{
	uint64_t size = s->cfg.segment_size;
	struct kmq_seg *seg;
	struct stat st;
	char name[64];
	int fd;

	kmq_seg_name(name, sizeof(name), start);
	fd = openat(s->root_fd, name, O_RDWR | O_CLOEXEC | O_CREAT, 0644);
	if (fd < 0) {
		*err = kmq_err(-errno, "open %s/%s: %s", s->root, name,
			       strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st))
		goto fail_errno;
	if ((uint64_t)st.st_size > size) {
		*err = kmq_err(-KMQ_ECORRUPT,
			       "%s/%s is %lld bytes, segment size is %llu",
			       s->root, name, (long long)st.st_size,
			       (unsigned long long)size);
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size < size) {
		int r = posix_fallocate(fd, 0, size);

		if (r) {
			errno = r;
			goto fail_errno;
		}
	}
	seg = calloc(1, sizeof(*seg));
	if (!seg) {
		errno = ENOMEM;
		goto fail_errno;
	}
	seg->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (seg->map == MAP_FAILED) {
		free(seg);
		goto fail_errno;
	}
	/*
	 * No readahead: the pre-fault would otherwise build large folios,
	 * and a SYNC_FLUSH sync of a few KiB would write 2 MiB of them.
	 */
	madvise(seg->map, size, MADV_RANDOM);
	seg->start = start;
	seg->fd = fd;
	seg->size = size;
	seg->last_ts = (uint64_t)st.st_mtim.tv_sec * 1000 +
		       st.st_mtim.tv_nsec / 1000000;
	atomic_init(&seg->refs, 1);
	return seg;

fail_errno:
	*err = kmq_err(-errno, "segment %s/%s: %s", s->root, name,
		       strerror(errno));
	close(fd);
	return NULL;
}

/*
 * kmq_seg_prefault() - map every page writable and resident before the
 * writer gets there, so appends run at memory speed instead of taking a
 * page fault every 4 KiB.
 */
int kmq_seg_prefault(struct kmq_seg *seg)
{
	volatile uint8_t *p = seg->map;
	uint64_t i;

	if (!madvise(seg->map, seg->size, MADV_POPULATE_WRITE))
		return 0;
	/*
	 * Kernels before 5.14 (EINVAL), or built without madvise(): touch
	 * each page for writing. The blocks are allocated already, so the
	 * stores cannot fault for want of space.
	 */
	for (i = 0; i < seg->size; i += KMQ_PAGE_SIZE)
		p[i] = p[i];
	return 0;
}

/*
 * kmq_seg_renew() - give a recycled segment fresh pages: its old pages
 * leave the page cache (punched out) and new blocks are allocated. Pages
 * a socket still holds (sent by sendfile, kept for retransmission) keep
 * the old records, so the wire never sees the new ones in their place;
 * and nothing of the old records stays in the file for recovery to
 * misread.
 */
int kmq_seg_renew(struct kmq_seg *seg)
{
	int r;

	if (fallocate(seg->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)seg->size))
		return -errno;
	r = posix_fallocate(seg->fd, 0, (off_t)seg->size);
	return -r;
}

/* kmq_seg_rename() - give a recycled segment its new start offset. */
int kmq_seg_rename(struct kmq_store *s, struct kmq_seg *seg, uint64_t start)
{
	char from[64], to[64];

	kmq_seg_name(from, sizeof(from), seg->start);
	kmq_seg_name(to, sizeof(to), start);
	if (renameat(s->root_fd, from, s->root_fd, to))
		return kmq_err(-errno, "rename %s to %s: %s", from, to,
			       strerror(errno));
	seg->start = start;
	return 0;
}

void kmq_seg_unlink(struct kmq_store *s, struct kmq_seg *seg)
{
	char name[64];

	kmq_seg_name(name, sizeof(name), seg->start);
	unlinkat(s->root_fd, name, 0);
}

void kmq_seg_get(struct kmq_seg *seg)
{
	atomic_fetch_add(&seg->refs, 1);
}

void kmq_seg_put(struct kmq_seg *seg)
{
	if (atomic_fetch_sub(&seg->refs, 1) != 1)
		return;
	munmap(seg->map, seg->size);
	close(seg->fd);
	free(seg);
}

/*
 * kmq_seg_sync() - make commitlog bytes [@from, @to) of @seg durable:
 * fdatasync limited to the range, as an io_uring operation
 * (kmq_sync_ring.c); other dirty pages of the segment (the pre-faulted
 * ones ahead) are left to writeback. msync(MS_SYNC) if io_uring is not
 * available.
 */
int kmq_seg_sync(struct kmq_seg *seg, uint64_t from, uint64_t to)
{
	uint64_t a, b;

	if (from < seg->start)
		from = seg->start;
	if (to > seg->start + seg->size)
		to = seg->start + seg->size;
	if (from >= to)
		return 0;
	a = (from - seg->start) & ~(uint64_t)(KMQ_PAGE_SIZE - 1);
	b = to - seg->start;
	return kmq_sync_range(seg->fd, seg->map, a, b - a);
}

/* kmq_ring_find() - the ring segment holding @phys, or NULL. */
struct kmq_seg *kmq_ring_find(struct kmq_store *s, uint64_t phys)
{
	uint64_t idx;

	if (!s->nsegs || phys < s->segs[0]->start)
		return NULL;
	idx = (phys - s->segs[0]->start) / s->cfg.segment_size;
	if (idx >= s->nsegs)
		return NULL;
	return s->segs[idx];
}

int kmq_ring_push(struct kmq_store *s, struct kmq_seg *seg)
{
	if (s->nsegs == s->segs_cap) {
		uint32_t cap = s->segs_cap ? s->segs_cap * 2 : 16;
		struct kmq_seg **n = realloc(s->segs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->segs = n;
		s->segs_cap = cap;
	}
	s->segs[s->nsegs++] = seg;
	return 0;
}

/* kmq_ring_open_push() - open (creating) the segment at @start as the newest. */
int kmq_ring_open_push(struct kmq_store *s, uint64_t start,
		       struct kmq_seg **out)
{
	struct kmq_seg *seg;
	int err = 0;

	seg = kmq_seg_open(s, start, &err);
	if (!seg)
		return err;
	err = kmq_ring_push(s, seg);
	if (err) {
		kmq_seg_put(seg);
		return err;
	}
	*out = seg;
	return 0;
}

/* kmq_ring_drop_oldest() - take segs[0] out; the caller owns its ref. */
struct kmq_seg *kmq_ring_drop_oldest(struct kmq_store *s)
{
	struct kmq_seg *seg = s->segs[0];

	memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof(*s->segs));
	s->nsegs--;
	return seg;
}

static int kmq_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* kmq_parse_offset_name() - a 20-digit file name, or -1. */
static int kmq_parse_offset_name(const char *name, uint64_t *out)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	if (name[20])
		return -1;
	*out = v;
	return 0;
}

/*
 * kmq_ring_load() - open every segment in commitlog/ into the ring, in
 * offset order. Recovery then decides which of them hold records and
 * which are prepared ones ahead of the writer.
 */
int kmq_ring_load(struct kmq_store *s)
{
	uint64_t *starts = NULL, start;
	uint32_t n = 0, cap = 0, i;
	struct dirent *de;
	int ret = 0, dfd;
	DIR *d;

	dfd = openat(s->root_fd, "commitlog", O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return kmq_err(-errno, "%s/commitlog: %s", s->root,
			       strerror(errno));
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (kmq_parse_offset_name(de->d_name, &start)) {
			ret = kmq_err(-KMQ_ECORRUPT,
				      "%s/commitlog/%s: not a segment name",
				      s->root, de->d_name);
			goto out;
		}
		if (start % s->cfg.segment_size) {
			ret = kmq_err(-KMQ_ECORRUPT,
				      "%s/commitlog/%s: not a multiple of the segment size %llu",
				      s->root, de->d_name,
				      (unsigned long long)s->cfg.segment_size);
			goto out;
		}
		if (n == cap) {
			uint64_t *ns;

			cap = cap ? cap * 2 : 64;
			ns = realloc(starts, cap * sizeof(*ns));
			if (!ns) {
				ret = -ENOMEM;
				goto out;
			}
			starts = ns;
		}
		starts[n++] = start;
	}
	if (n)
		qsort(starts, n, sizeof(*starts), kmq_u64_cmp);
	for (i = 0; i < n; i++) {
		struct kmq_seg *seg;

		if (i && starts[i] != starts[i - 1] + s->cfg.segment_size) {
			ret = kmq_err(-KMQ_ECORRUPT,
				      "%s/commitlog: segment %020llu missing",
				      s->root, (unsigned long long)
				      (starts[i - 1] + s->cfg.segment_size));
			goto out;
		}
		ret = kmq_ring_open_push(s, starts[i], &seg);
		if (ret)
			goto out;
	}
out:
	free(starts);
	closedir(d);
	return ret;
}

void kmq_ring_free(struct kmq_store *s)
{
	uint32_t i;

	for (i = 0; i < s->nsegs; i++)
		kmq_seg_put(s->segs[i]);
	free(s->segs);
	s->segs = NULL;
	s->nsegs = 0;
	for (i = 0; i < s->nspares; i++)
		kmq_seg_put(s->spares[i]);
	s->nspares = 0;
}
