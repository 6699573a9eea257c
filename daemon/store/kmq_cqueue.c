// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_cqueue.c - consume-queue files of the userspace store.
 *
 * A queue's entries live in files of cq_file_entries 20-byte entries,
 * consumequeue/<topic>/<queueId>/<20-digit byte offset of the first
 * entry>, mapped whole. Entries are filled in order; an entry of size 0
 * is absent. The queue's minimum offset is its first entry whose record
 * is still in the commitlog ring.
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

static uint64_t kmq_cq_file_bytes(struct kmq_store *s)
{
	return (uint64_t)s->cfg.cq_file_entries * KMQ_CQ_ENTRY_SIZE;
}

char *kmq_queue_dir(struct kmq_store *s, const char *topic, uint32_t qid)
{
	char *p;

	if (asprintf(&p, "%s/consumequeue/%s/%u", s->root, topic, qid) < 0)
		return NULL;
	return p;
}

void kmq_cqfile_put(struct kmq_cqfile *f)
{
	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	munmap(f->map, f->bytes);
	close(f->fd);
	free(f);
}

static struct kmq_cqfile *kmq_cqfile_open(struct kmq_store *s,
					  struct kmq_queue *q, uint64_t fidx,
					  bool create, int *err)
{
	uint64_t bytes = kmq_cq_file_bytes(s);
	struct kmq_cqfile *f;
	char path[640], *dir;
	struct stat st;
	int fd;

	dir = kmq_queue_dir(s, q->topic->name, q->id);
	if (!dir) {
		*err = -ENOMEM;
		return NULL;
	}
	if (create) {
		*err = kmq_mkdirs(dir, 0755);
		if (*err) {
			kmq_err(*err, "mkdir %s: %s", dir, strerror(-*err));
			free(dir);
			return NULL;
		}
	}
	snprintf(path, sizeof(path), "%s/%020llu", dir,
		 (unsigned long long)(fidx * bytes));
	free(dir);
	fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
	if (fd < 0) {
		*err = errno == ENOENT && !create ? 0 :
		       kmq_err(-errno, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || ((uint64_t)st.st_size != bytes &&
			       ftruncate(fd, bytes))) {
		*err = kmq_err(-errno, "size %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		close(fd);
		return NULL;
	}
	f->map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f->map == MAP_FAILED) {
		*err = kmq_err(-errno, "mmap %s: %s", path, strerror(errno));
		free(f);
		close(fd);
		return NULL;
	}
	f->fd = fd;
	f->bytes = bytes;
	atomic_init(&f->refs, 1);
	return f;
}

/* Make room in q->files for file index @fidx. */
static int kmq_cq_slot(struct kmq_queue *q, uint64_t fidx)
{
	struct kmq_cqfile **n;
	uint64_t first, last, cnt;

	if (q->nfiles && fidx >= q->first_file &&
	    fidx < q->first_file + q->nfiles)
		return 0;
	first = q->nfiles && q->first_file < fidx ? q->first_file : fidx;
	last = q->nfiles && q->first_file + q->nfiles - 1 > fidx ?
	       q->first_file + q->nfiles - 1 : fidx;
	cnt = last - first + 1;
	if (cnt > 1u << 24)
		return -EFBIG;
	n = calloc(cnt, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (q->nfiles)
		memcpy(n + (q->first_file - first), q->files,
		       q->nfiles * sizeof(*n));
	free(q->files);
	q->files = n;
	q->first_file = first;
	q->nfiles = cnt;
	return 0;
}

static struct kmq_cqfile *kmq_cq_file(struct kmq_store *s, struct kmq_queue *q,
				      uint64_t fidx, bool create, int *err)
{
	struct kmq_cqfile *f;

	*err = 0;
	if (q->nfiles && fidx >= q->first_file &&
	    fidx < q->first_file + q->nfiles &&
	    q->files[fidx - q->first_file])
		return q->files[fidx - q->first_file];
	if (!create)
		return NULL;
	*err = kmq_cq_slot(q, fidx);
	if (*err)
		return NULL;
	f = kmq_cqfile_open(s, q, fidx, true, err);
	if (f)
		q->files[fidx - q->first_file] = f;
	return f;
}

int kmq_cq_put(struct kmq_store *s, struct kmq_queue *q, uint64_t idx,
	       const struct kmq_cq_entry *e)
{
	uint32_t per = s->cfg.cq_file_entries;
	struct kmq_cqfile *f;
	int err;

	f = kmq_cq_file(s, q, idx / per, true, &err);
	if (!f)
		return err;
	kmq_cq_entry_encode(f->map + (idx % per) * KMQ_CQ_ENTRY_SIZE, e);
	if (!f->dirty) {
		f->dirty = true;
		atomic_fetch_add(&f->refs, 1);
		f->dirty_next = s->dirty_cq;
		s->dirty_cq = f;
	}
	return 0;
}

/* kmq_cq_get() - entry @idx; size 0 if absent. */
int kmq_cq_get(struct kmq_store *s, struct kmq_queue *q, uint64_t idx,
	       struct kmq_cq_entry *e)
{
	uint32_t per = s->cfg.cq_file_entries;
	struct kmq_cqfile *f;
	int err;

	f = kmq_cq_file(s, q, idx / per, false, &err);
	if (!f) {
		memset(e, 0, sizeof(*e));
		return err;
	}
	kmq_cq_entry_decode(f->map + (idx % per) * KMQ_CQ_ENTRY_SIZE, e);
	return 0;
}

static bool kmq_cq_present(struct kmq_store *s, struct kmq_queue *q,
			   uint64_t idx)
{
	struct kmq_cq_entry e;

	kmq_cq_get(s, q, idx, &e);
	return e.size != 0;
}

/*
 * kmq_cq_load() - open a queue's files and find its max offset: one past
 * the last present entry of the last file that has one.
 */
int kmq_cq_load(struct kmq_store *s, struct kmq_queue *q)
{
	uint64_t bytes = kmq_cq_file_bytes(s), lo, hi, i;
	uint32_t per = s->cfg.cq_file_entries;
	struct dirent *de;
	char *dir;
	int ret = 0;
	DIR *d;

	dir = kmq_queue_dir(s, q->topic->name, q->id);
	if (!dir)
		return -ENOMEM;
	d = opendir(dir);
	if (!d) {
		ret = errno == ENOENT ? 0 : -errno;
		free(dir);
		return ret;
	}
	while ((de = readdir(d))) {
		unsigned long long off;
		struct kmq_cqfile *f;
		char *end;

		if (de->d_name[0] == '.')
			continue;
		off = strtoull(de->d_name, &end, 10);
		if (*end || end - de->d_name != 20 || off % bytes) {
			ret = kmq_err(-KMQ_ECORRUPT, "%s/%s: not a consume-queue file",
				      dir, de->d_name);
			break;
		}
		ret = kmq_cq_slot(q, off / bytes);
		if (ret)
			break;
		f = kmq_cqfile_open(s, q, off / bytes, false, &ret);
		if (!f)
			break;
		q->files[off / bytes - q->first_file] = f;
	}
	closedir(d);
	free(dir);
	if (ret || !q->nfiles)
		return ret;

	/* The last file with an entry; entries fill each file in order. */
	for (i = q->nfiles; i-- > 0;) {
		lo = (q->first_file + i) * per;
		if (q->files[i] && kmq_cq_present(s, q, lo))
			break;
	}
	if (i == (uint64_t)-1) {
		q->min = q->first_file * per;
		q->max = q->min;
		return 0;
	}
	hi = lo + per;
	while (lo + 1 < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (kmq_cq_present(s, q, mid))
			lo = mid;
		else
			hi = mid;
	}
	q->max = lo + 1;
	q->min = q->first_file * per;
	return 0;
}

/*
 * kmq_cq_truncate() - remove trailing entries whose record does not end
 * below @end (recovery: entries past the recovered commitlog end).
 */
void kmq_cq_truncate(struct kmq_store *s, struct kmq_queue *q, uint64_t end)
{
	static const struct kmq_cq_entry none;
	struct kmq_cq_entry e;

	while (q->max > q->min) {
		kmq_cq_get(s, q, q->max - 1, &e);
		if (e.size && e.phys_offset + e.size <= end)
			break;
		if (e.size)
			kmq_cq_put(s, q, q->max - 1, &none);
		q->max--;
	}
}

/*
 * kmq_cq_trim() - move the minimum offset to the first entry whose record
 * is at or above @cl_min, and delete files wholly below it.
 */
void kmq_cq_trim(struct kmq_store *s, struct kmq_queue *q, uint64_t cl_min)
{
	uint32_t per = s->cfg.cq_file_entries;
	uint64_t lo = q->min, hi = q->max;
	struct kmq_cq_entry e;
	char path[640], *dir;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		kmq_cq_get(s, q, mid, &e);
		if (e.size && e.phys_offset >= cl_min)
			hi = mid;
		else
			lo = mid + 1;
	}
	q->min = lo;

	dir = kmq_queue_dir(s, q->topic->name, q->id);
	while (q->nfiles > 1 && (q->first_file + 1) * per <= q->min) {
		if (q->files[0]) {
			if (dir) {
				snprintf(path, sizeof(path), "%s/%020llu", dir,
					 (unsigned long long)(q->first_file *
					 kmq_cq_file_bytes(s)));
				unlink(path);
			}
			kmq_cqfile_put(q->files[0]);
		}
		memmove(q->files, q->files + 1,
			(q->nfiles - 1) * sizeof(*q->files));
		q->nfiles--;
		q->first_file++;
	}
	free(dir);
}

void kmq_cq_free(struct kmq_queue *q)
{
	uint32_t i;

	for (i = 0; i < q->nfiles; i++)
		if (q->files[i])
			kmq_cqfile_put(q->files[i]);
	free(q->files);
	q->files = NULL;
	q->nfiles = 0;
}
