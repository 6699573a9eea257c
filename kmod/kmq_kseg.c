// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_kseg.c - the commitlog ring: segment files, the array that orders
 * them, and the worker that keeps the next segment ready.
 *
 * A segment is a file of segment_size bytes named by its start offset
 * (20 decimal digits), allocated whole with vfs_fallocate(). The ring is
 * s->segs[], oldest first, starts consecutive multiples of segment_size;
 * s->spares[] are segments prepared ahead of the writer. Ring and spares
 * together never hold more than ring_segments files.
 *
 * The worker (kmq_alloc_work) prepares the next segment and brings its
 * pages into the page cache, so the writer finds them resident. When
 * the ring is full the oldest segment is reclaimed: every queue's min
 * offset moves past it and, if nobody holds it (no reader or pull pin,
 * never mapped), the file is renamed to the new start and renewed as the
 * userspace store does (kmq_seg_renew()); otherwise it is unlinked and a
 * fresh file made, so bytes a reader or a mapping holds never change.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/math64.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "kmq.h"

static void kmq_seg_name(char *buf, size_t len, u64 start)
{
	snprintf(buf, len, "commitlog/%020llu", start);
}

/**
 * kmq_seg_open() - open (creating) the segment starting at @start,
 * allocated to segment_size bytes.
 * @s: store
 * @start: its start offset
 * @err: out: the error when NULL is returned
 *
 * A shorter file (a creation cut short) is extended; a longer one does
 * not match the geometry (-EINVAL).
 *
 * Return: the segment with one reference, or NULL.
 */
struct kmq_kseg *kmq_seg_open(struct kmq_kstore *s, u64 start, int *err)
{
	struct kmq_kseg *seg;
	struct file *f;
	char name[48];
	u64 size;

	kmq_seg_name(name, sizeof(name), start);
	f = kmq_vfs_open(s, name, O_RDWR | O_CREAT, KMQ_FILE_MODE);
	if (IS_ERR(f)) {
		*err = PTR_ERR(f);
		pr_warn("%s: open %s: %d\n", s->name, name, *err);
		return NULL;
	}
	if (!kmq_vfs_paged(f)) {
		pr_warn("%s: %s: the filesystem has no page cache kmq can read\n",
			s->name, name);
		*err = -EOPNOTSUPP;
		goto fail;
	}
	size = kmq_vfs_size(f);
	if (size > s->g.segment_size) {
		pr_warn("%s: %s is %llu bytes, segment size is %llu\n",
			s->name, name, size, s->g.segment_size);
		*err = -EINVAL;
		goto fail;
	}
	if (size < s->g.segment_size) {
		*err = vfs_fallocate(f, 0, 0, s->g.segment_size);
		if (*err == -EOPNOTSUPP)	/* no fallocate: sparse */
			*err = kmq_vfs_truncate(s, f, s->g.segment_size);
		if (*err) {
			pr_warn("%s: allocate %s: %d\n", s->name, name, *err);
			goto fail;
		}
	}
	seg = kzalloc(sizeof(*seg), GFP_KERNEL);
	if (!seg) {
		*err = -ENOMEM;
		goto fail;
	}
	refcount_set(&seg->ref, 1);
	seg->start = start;
	seg->file = f;
	seg->last_ts = kmq_vfs_mtime_ms(f);
	return seg;
fail:
	fput(f);
	return NULL;
}

void kmq_seg_get(struct kmq_kseg *seg)
{
	refcount_inc(&seg->ref);
}

void kmq_seg_put(struct kmq_kseg *seg)
{
	if (!refcount_dec_and_test(&seg->ref))
		return;
	fput(seg->file);
	kfree(seg);
}

/**
 * kmq_ring_find() - the ring segment holding @phys (s->lock held).
 * @s: store
 * @phys: commitlog offset
 *
 * Return: the segment (not pinned), or NULL.
 */
struct kmq_kseg *kmq_ring_find(struct kmq_kstore *s, u64 phys)
{
	int idx;

	if (!s->nsegs)
		return NULL;
	idx = kmq_ring_index(s->segs[0]->start, s->g.segment_size, s->nsegs,
			     phys);
	return idx < 0 ? NULL : s->segs[idx];
}

/**
 * kmq_ring_pin() - the ring segment holding @phys, pinned.
 * @s: store
 * @phys: commitlog offset
 *
 * Return: the segment (kmq_seg_put() it), or NULL.
 */
struct kmq_kseg *kmq_ring_pin(struct kmq_kstore *s, u64 phys)
{
	struct kmq_kseg *seg;

	mutex_lock(&s->lock);
	seg = kmq_ring_find(s, phys);
	if (seg)
		kmq_seg_get(seg);
	mutex_unlock(&s->lock);
	return seg;
}

/**
 * kmq_ring_writing() - the segment being written (s->lock held).
 * @s: store
 *
 * Return: the segment; the ring holds its reference.
 */
struct kmq_kseg *kmq_ring_writing(struct kmq_kstore *s)
{
	return s->segs[s->nsegs - 1];
}

/**
 * kmq_ring_files() - segment files of the store (s->lock held).
 * @s: store
 *
 * Return: ring plus spares.
 */
u32 kmq_ring_files(struct kmq_kstore *s)
{
	return s->nsegs + s->nspares + s->ntaken;
}

struct kmq_load_ctx {
	struct kmq_kstore *s;
	u64 *starts;
	u32 n;
	int err;
};

static int kmq_ring_load_one(void *arg, const char *name, u32 len,
			     unsigned int type)
{
	struct kmq_load_ctx *c = arg;
	u64 start, rem;

	if (len && name[0] == '.')
		return 0;
	if (kmq_parse_offset_name(name, len, &start)) {
		pr_warn("%s: commitlog/%.*s: not a segment name\n",
			c->s->name, (int)len, name);
		return -EUCLEAN;
	}
	div64_u64_rem(start, c->s->g.segment_size, &rem);
	if (rem) {
		pr_warn("%s: commitlog/%.*s: not a multiple of the segment size %llu\n",
			c->s->name, (int)len, name, c->s->g.segment_size);
		return -EINVAL;
	}
	if (c->n >= c->s->g.ring_segments) {
		pr_warn("%s: more segment files than the ring's %u\n",
			c->s->name, c->s->g.ring_segments);
		return -EINVAL;
	}
	c->starts[c->n++] = start;
	return 0;
}

static int kmq_u64_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/**
 * kmq_ring_load() - open every segment in commitlog/ into the ring, in
 * offset order; recovery then decides which hold records.
 * @s: store
 *
 * Return: 0, -EINVAL (geometry: names not multiples of the segment
 * size, files too long, more files than the ring), -EUCLEAN (a gap or
 * a foreign file), or -errno.
 */
int kmq_ring_load(struct kmq_kstore *s)
{
	struct kmq_load_ctx c = { .s = s };
	int ret;
	u32 i;

	c.starts = kvmalloc_array(s->g.ring_segments, sizeof(u64),
				  GFP_KERNEL);
	if (!c.starts)
		return -ENOMEM;
	ret = kmq_vfs_readdir(s, "commitlog", kmq_ring_load_one, &c);
	if (ret)
		goto out;
	sort(c.starts, c.n, sizeof(u64), kmq_u64_cmp, NULL);
	for (i = 0; i < c.n; i++) {
		struct kmq_kseg *seg;

		if (i && c.starts[i] != c.starts[i - 1] + s->g.segment_size) {
			pr_warn("%s: commitlog: segment %020llu missing\n",
				s->name, c.starts[i - 1] + s->g.segment_size);
			ret = -EUCLEAN;
			goto out;
		}
		seg = kmq_seg_open(s, c.starts[i], &ret);
		if (!seg)
			goto out;
		s->segs[s->nsegs++] = seg;
	}
out:
	kvfree(c.starts);
	return ret;
}

static void kmq_trim_queue(struct kmq_kstore *s, struct kmq_ktopic *t,
			   struct kmq_kqueue *q, void *arg)
{
	kmq_cq_trim(s, t, q, *(u64 *)arg);
}

/*
 * Take the oldest segment out of the ring and move every queue's min past
 * it (s->lock held). Return: the segment, with the ring's reference.
 */
static struct kmq_kseg *kmq_ring_drop_oldest(struct kmq_kstore *s)
{
	struct kmq_kseg *seg = s->segs[0];
	u64 min;

	memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof(*s->segs));
	s->nsegs--;
	min = s->segs[0]->start;
	kmq_queues_walk(s, kmq_trim_queue, &min);
	return seg;
}

/*
 * Give a reused segment fresh pages: punch its old ones out of the page
 * cache and the file, then allocate its blocks again. Pages a socket
 * still holds (sent by PULL_SEND: a retransmit queue, a loopback peer's
 * receive queue) leave the file with their bytes, so the wire never
 * carries the new records in the old ones' place; and no old record is
 * left for recovery to misread.
 */
static int kmq_seg_renew(struct kmq_kstore *s, struct kmq_kseg *seg)
{
	int ret;

	ret = vfs_fallocate(seg->file, FALLOC_FL_PUNCH_HOLE |
			    FALLOC_FL_KEEP_SIZE, 0, s->g.segment_size);
	if (ret)
		return ret;
	ret = vfs_fallocate(seg->file, 0, 0, s->g.segment_size);
	return ret == -EOPNOTSUPP ? 0 : ret;
}

static void kmq_seg_discard(struct kmq_kstore *s, struct kmq_kseg *seg)
{
	char name[48];

	kmq_seg_name(name, sizeof(name), seg->start);
	kmq_vfs_unlink(s, name);
	kmq_seg_put(seg);
}

/*
 * Prepare the next segment into s->spares (alloc_mutex held): a new file,
 * or the oldest one of a full ring renamed to the new start.
 */
static int kmq_ring_prepare(struct kmq_kstore *s)
{
	struct kmq_kseg *old = NULL, *seg = NULL;
	bool reuse = false;
	u64 next;
	int ret = 0;

	mutex_lock(&s->lock);
	if (s->nspares >= KMQ_SPARES_MAX) {
		mutex_unlock(&s->lock);
		return 0;
	}
	if (s->ntaken) {
		/*
		 * The writer holds the next segment, not yet in the ring:
		 * the one after is not known until it is. The writer queues
		 * the worker again once it has pushed it.
		 */
		mutex_unlock(&s->lock);
		return -EAGAIN;
	}
	next = (s->nspares ? s->spares[s->nspares - 1]->start :
		kmq_ring_writing(s)->start) + s->g.segment_size;
	if (kmq_ring_files(s) >= s->g.ring_segments) {
		if (s->nsegs < 2) {
			mutex_unlock(&s->lock);
			return -ENOSPC;
		}
		old = kmq_ring_drop_oldest(s);
		reuse = refcount_read(&old->ref) == 1 && !old->mapped;
	}
	mutex_unlock(&s->lock);

	if (old && reuse) {
		char from[48], to[48];

		snprintf(from, sizeof(from), "%020llu", old->start);
		snprintf(to, sizeof(to), "%020llu", next);
		ret = kmq_vfs_rename(s, "commitlog", from, to);
		if (!ret) {
			old->start = next;
			old->last_ts = kmq_now_ms();
			/* Without a hole punch it goes: a new file instead. */
			if (!kmq_seg_renew(s, old))
				seg = old;
		}
	}
	if (old && !seg)
		kmq_seg_discard(s, old);
	if (!seg)
		seg = kmq_seg_open(s, next, &ret);
	if (!seg)
		return ret;
	mutex_lock(&s->lock);
	s->spares[s->nspares++] = seg;
	mutex_unlock(&s->lock);
	wake_up_all(&s->spare_wq);
	return 0;
}

/**
 * kmq_ring_next() - the prepared next segment for the writer, prepared
 * now if the worker has none ready (append_mutex held). It counts as
 * taken (s->ntaken) until the writer pushes it into the ring or gives it
 * back, so the ring never holds more files than ring_segments.
 * @s: store
 * @out: the segment, with the reference the ring will hold
 *
 * Return: 0 or -errno.
 */
int kmq_ring_next(struct kmq_kstore *s, struct kmq_kseg **out)
{
	int ret = 0;

	mutex_lock(&s->alloc_mutex);
	if (!s->nspares)
		ret = kmq_ring_prepare(s);
	if (!ret) {
		mutex_lock(&s->lock);
		if (s->nspares) {
			*out = s->spares[0];
			memmove(s->spares, s->spares + 1,
				(s->nspares - 1) * sizeof(*s->spares));
			s->nspares--;
			s->ntaken++;
		} else {
			ret = -ENOSPC;
		}
		mutex_unlock(&s->lock);
	}
	mutex_unlock(&s->alloc_mutex);
	return ret;
}

/**
 * kmq_ring_retention() - drop sealed segments whose last record is older
 * than retention_ms and durable; never the one being written.
 * @s: store
 */
void kmq_ring_retention(struct kmq_kstore *s)
{
	u64 now = kmq_now_ms();

	if (!s->g.retention_ms)
		return;
	mutex_lock(&s->alloc_mutex);
	for (;;) {
		struct kmq_kseg *seg = NULL;

		mutex_lock(&s->lock);
		if (s->nsegs > 1 &&
		    s->segs[0]->last_ts + s->g.retention_ms < now &&
		    s->segs[0]->start + s->g.segment_size <=
		    READ_ONCE(s->flushed))
			seg = kmq_ring_drop_oldest(s);
		mutex_unlock(&s->lock);
		if (!seg)
			break;
		kmq_seg_discard(s, seg);
	}
	mutex_unlock(&s->alloc_mutex);
}

/* Bring [@from, end) of @seg into the page cache. */
static void kmq_seg_touch(struct kmq_kstore *s, struct kmq_kseg *seg,
			  u64 from)
{
	u64 pos = from & PAGE_MASK;

	while (pos < s->g.segment_size && !READ_ONCE(s->detaching)) {
		struct folio *folio = kmq_vfs_folio(seg->file, pos);

		if (IS_ERR(folio))
			return;
		pos = folio_pos(folio) + folio_size(folio);
		folio_put(folio);
		cond_resched();
	}
}

/**
 * kmq_alloc_work() - the worker: keep one segment prepared ahead of the
 * writer and resident in the page cache (and, once, the rest of the
 * segment being written after attach).
 * @work: s->alloc_work
 */
void kmq_alloc_work(struct work_struct *work)
{
	struct kmq_kstore *s = container_of(work, struct kmq_kstore,
					    alloc_work);
	struct kmq_kseg *wseg = NULL, *spare = NULL;
	u64 wfrom = 0;
	int ret = 0;

	mutex_lock(&s->alloc_mutex);
	if (READ_ONCE(s->detaching)) {
		mutex_unlock(&s->alloc_mutex);
		return;
	}
	if (!s->nspares)
		ret = kmq_ring_prepare(s);
	if (ret == -EAGAIN)
		ret = 0;
	mutex_lock(&s->lock);
	if (!s->write_touched && s->nsegs) {
		s->write_touched = true;
		wseg = kmq_ring_writing(s);
		wfrom = s->wpos - wseg->start;
		kmq_seg_get(wseg);
	}
	if (s->nspares) {
		spare = s->spares[s->nspares - 1];
		kmq_seg_get(spare);
	}
	if (ret && ret != s->alloc_err)
		pr_warn("%s: preparing the next segment: %d\n", s->name, ret);
	s->alloc_err = ret;
	mutex_unlock(&s->lock);
	mutex_unlock(&s->alloc_mutex);

	if (wseg) {
		kmq_seg_touch(s, wseg, wfrom);
		kmq_seg_put(wseg);
	}
	if (spare) {
		kmq_seg_touch(s, spare, 0);
		kmq_seg_put(spare);
	}
}

/**
 * kmq_ring_free() - drop the ring's and the spares' references.
 * @s: store
 */
void kmq_ring_free(struct kmq_kstore *s)
{
	u32 i;

	for (i = 0; i < s->nsegs; i++)
		kmq_seg_put(s->segs[i]);
	s->nsegs = 0;
	for (i = 0; i < s->nspares; i++)
		kmq_seg_put(s->spares[i]);
	s->nspares = 0;
}
