// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_kcq.c - consume-queue files of the kernel store.
 *
 * A queue's 20-byte entries (uapi/kmq_cq.h) live in files of
 * cq_file_entries entries, consumequeue/<topic>/<queueId>/<20-digit byte
 * offset of the first entry>, sized whole as the userspace store sizes
 * them. Entries are filled in order; an entry of size 0 is absent. A
 * queue's open files sit in q->files[], changed and read under s->lock;
 * the I/O itself runs on a file reference taken under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/math64.h>
#include <linux/slab.h>

#include "kmq.h"

static u64 kmq_cq_bytes(struct kmq_kstore *s)
{
	return (u64)s->g.cq_file_entries * KMQ_CQ_ENTRY_SIZE;
}

static char *kmq_cq_dir(struct kmq_ktopic *t, u32 qid)
{
	return kasprintf(GFP_KERNEL, "consumequeue/%s/%u", t->name, qid);
}

/* Make room in q->files for file index @fidx (s->lock held). */
static int kmq_cq_slot(struct kmq_kqueue *q, u64 fidx)
{
	struct kmq_kcqfile *n;
	u64 first, cnt;
	int ret;

	ret = kmq_cq_window(q->first_file, q->nfiles, fidx, &first, &cnt);
	if (ret <= 0)
		return ret;
	n = kvcalloc(cnt, sizeof(*n), GFP_KERNEL);
	if (!n)
		return -ENOMEM;
	if (q->nfiles)
		memcpy(n + (q->first_file - first), q->files,
		       q->nfiles * sizeof(*n));
	kvfree(q->files);
	q->files = n;
	q->first_file = first;
	q->nfiles = cnt;
	return 0;
}

/* The slot of file @fidx, or NULL (s->lock held). */
static struct kmq_kcqfile *kmq_cq_at(struct kmq_kqueue *q, u64 fidx)
{
	if (!q->nfiles || fidx < q->first_file ||
	    fidx >= q->first_file + q->nfiles)
		return NULL;
	return &q->files[fidx - q->first_file];
}

/* A reference on the file of entry @idx, or NULL (s->lock held). */
static struct file *kmq_cq_file_get(struct kmq_kstore *s,
				    struct kmq_kqueue *q, u64 idx)
{
	struct kmq_kcqfile *cf;
	u32 pos;

	cf = kmq_cq_at(q, kmq_cq_locate(idx, s->g.cq_file_entries, &pos));
	if (!cf || !cf->file)
		return NULL;
	return get_file(cf->file);
}

static int kmq_cq_size(struct kmq_kstore *s, struct file *f)
{
	if (kmq_vfs_size(f) == kmq_cq_bytes(s))
		return 0;
	return kmq_vfs_truncate(s, f, kmq_cq_bytes(s));
}

/* Open (@create: creating) file @fidx of a queue; no lock held. */
static struct file *kmq_cq_open(struct kmq_kstore *s, struct kmq_ktopic *t,
				u32 qid, u64 fidx, bool create)
{
	char *dir, *rel;
	struct file *f;
	int ret;

	dir = kmq_cq_dir(t, qid);
	if (!dir)
		return ERR_PTR(-ENOMEM);
	if (create) {
		ret = kmq_vfs_mkdirs(s, dir);
		if (ret) {
			kfree(dir);
			return ERR_PTR(ret);
		}
	}
	rel = kasprintf(GFP_KERNEL, "%s/%020llu", dir,
			kmq_cq_file_offset(fidx, s->g.cq_file_entries));
	kfree(dir);
	if (!rel)
		return ERR_PTR(-ENOMEM);
	f = kmq_vfs_open(s, rel, O_RDWR | (create ? O_CREAT : 0),
			 KMQ_FILE_MODE);
	if (!IS_ERR(f)) {
		ret = kmq_vfs_paged(f) ? kmq_cq_size(s, f) : -EOPNOTSUPP;
		if (ret) {
			pr_warn("%s: size %s: %d\n", s->name, rel, ret);
			fput(f);
			f = ERR_PTR(ret);
		}
	}
	kfree(rel);
	return f;
}

/**
 * kmq_cq_put() - write entry @idx of @q, creating its file if needed
 * (append_mutex held, or recovery).
 * @s: store
 * @q: queue
 * @t: its topic
 * @idx: queue offset
 * @e: the entry
 *
 * Return: 0 or -errno.
 */
int kmq_cq_put(struct kmq_kstore *s, struct kmq_kqueue *q,
	       struct kmq_ktopic *t, u64 idx, const struct kmq_cq_entry *e)
{
	u32 rem;
	u64 fidx = kmq_cq_locate(idx, s->g.cq_file_entries, &rem);
	u8 buf[KMQ_CQ_ENTRY_SIZE];
	struct kmq_kcqfile *cf;
	struct file *f;
	int ret;

	mutex_lock(&s->lock);
	f = kmq_cq_file_get(s, q, idx);
	mutex_unlock(&s->lock);
	if (!f) {
		f = kmq_cq_open(s, t, q->id, fidx, true);
		if (IS_ERR(f))
			return PTR_ERR(f);
		mutex_lock(&s->lock);
		ret = kmq_cq_slot(q, fidx);
		cf = ret ? NULL : kmq_cq_at(q, fidx);
		if (cf && !cf->file)
			cf->file = get_file(f);
		mutex_unlock(&s->lock);
		if (ret) {
			fput(f);
			return ret;
		}
	}
	kmq_cq_entry_encode(buf, e);
	ret = kmq_vfs_write(f, buf, sizeof(buf), (u64)rem * KMQ_CQ_ENTRY_SIZE);
	fput(f);
	if (ret)
		return ret;
	/* Dirty once written: a checkpoint after this syncs it. */
	mutex_lock(&s->lock);
	cf = kmq_cq_at(q, fidx);
	if (cf && cf->file)
		cf->dirty = true;
	mutex_unlock(&s->lock);
	return 0;
}

/**
 * kmq_cq_read() - read @n entries of @q from @idx, all in one file.
 * @s: store
 * @q: queue
 * @idx: first queue offset
 * @n: entries, not crossing a file boundary
 * @out: the entries; absent ones (no file) have size 0
 *
 * Return: 0 or -errno.
 */
int kmq_cq_read(struct kmq_kstore *s, struct kmq_kqueue *q, u64 idx,
		u32 n, struct kmq_cq_entry *out)
{
	u8 buf[KMQ_CQ_READ_MAX * KMQ_CQ_ENTRY_SIZE];
	u32 rem, i, done = 0;
	struct file *f;
	int ret = 0;

	kmq_cq_locate(idx, s->g.cq_file_entries, &rem);
	mutex_lock(&s->lock);
	f = kmq_cq_file_get(s, q, idx);
	mutex_unlock(&s->lock);
	if (!f) {
		memset(out, 0, n * sizeof(*out));
		return 0;
	}
	while (done < n && !ret) {
		u32 k = min_t(u32, n - done, KMQ_CQ_READ_MAX);

		ret = kmq_vfs_peek(f, (u64)(rem + done) * KMQ_CQ_ENTRY_SIZE,
				   buf, k * KMQ_CQ_ENTRY_SIZE);
		for (i = 0; i < k && !ret; i++)
			kmq_cq_entry_decode(buf + i * KMQ_CQ_ENTRY_SIZE,
					    &out[done + i]);
		done += k;
	}
	fput(f);
	return ret;
}

/**
 * kmq_cq_get() - entry @idx of @q (size 0 if absent).
 * @s: store
 * @q: queue
 * @idx: queue offset
 * @e: the entry
 *
 * Return: 0 or -errno.
 */
int kmq_cq_get(struct kmq_kstore *s, struct kmq_kqueue *q, u64 idx,
	       struct kmq_cq_entry *e)
{
	return kmq_cq_read(s, q, idx, 1, e);
}

/* kmq_cq_get() with s->lock held: the read runs under it. */
static void kmq_cq_get_locked(struct kmq_kstore *s, struct kmq_kqueue *q,
			      u64 idx, struct kmq_cq_entry *e)
{
	struct kmq_kcqfile *cf;
	u8 buf[KMQ_CQ_ENTRY_SIZE];
	u32 rem;

	cf = kmq_cq_at(q, kmq_cq_locate(idx, s->g.cq_file_entries, &rem));
	if (!cf || !cf->file ||
	    kmq_vfs_peek(cf->file, (u64)rem * KMQ_CQ_ENTRY_SIZE, buf,
			 sizeof(buf))) {
		memset(e, 0, sizeof(*e));
		return;
	}
	kmq_cq_entry_decode(buf, e);
}

static bool kmq_cq_present(struct kmq_kstore *s, struct kmq_kqueue *q,
			   u64 idx)
{
	struct kmq_cq_entry e;

	return !kmq_cq_get(s, q, idx, &e) && e.size;
}

struct kmq_cq_load_ctx {
	struct kmq_kstore *s;
	struct kmq_ktopic *t;
	struct kmq_kqueue *q;
};

static int kmq_cq_load_one(void *arg, const char *name, u32 len,
			   unsigned int type)
{
	struct kmq_cq_load_ctx *c = arg;
	struct kmq_kstore *s = c->s;
	struct kmq_kcqfile *cf;
	u64 off, fidx;
	struct file *f;
	int ret;

	if (len && name[0] == '.')
		return 0;
	if (kmq_parse_offset_name(name, len, &off)) {
		pr_warn("%s: consumequeue/%s/%u/%.*s: not a consume-queue file\n",
			s->name, c->t->name, c->q->id, (int)len, name);
		return -EUCLEAN;
	}
	if (kmq_cq_file_index(off, s->g.cq_file_entries, &fidx)) {
		pr_warn("%s: consumequeue/%s/%u/%.*s: not a multiple of %llu\n",
			s->name, c->t->name, c->q->id, (int)len, name,
			kmq_cq_bytes(s));
		return -EINVAL;
	}
	f = kmq_cq_open(s, c->t, c->q->id, fidx, false);
	if (IS_ERR(f))
		return PTR_ERR(f);
	mutex_lock(&s->lock);
	ret = kmq_cq_slot(c->q, fidx);
	cf = ret ? NULL : kmq_cq_at(c->q, fidx);
	if (cf && !cf->file) {
		cf->file = f;
		f = NULL;
	}
	mutex_unlock(&s->lock);
	if (f)
		fput(f);
	return ret;
}

/**
 * kmq_cq_load() - open a queue's files and find its bounds: max is one
 * past the last present entry of the last file that has one, min the
 * first entry of the first file (trimmed later to the ring).
 * @s: store
 * @t: topic
 * @q: queue
 *
 * Return: 0 or -errno.
 */
int kmq_cq_load(struct kmq_kstore *s, struct kmq_ktopic *t,
		struct kmq_kqueue *q)
{
	struct kmq_cq_load_ctx c = { .s = s, .t = t, .q = q };
	u32 per = s->g.cq_file_entries;
	u64 lo = 0, hi;
	char *dir;
	int ret;
	u32 i;

	dir = kmq_cq_dir(t, q->id);
	if (!dir)
		return -ENOMEM;
	ret = kmq_vfs_readdir(s, dir, kmq_cq_load_one, &c);
	kfree(dir);
	if (ret == -ENOENT)
		return 0;
	if (ret || !q->nfiles)
		return ret;

	q->min = q->first_file * per;
	q->max = q->min;
	for (i = q->nfiles; i-- > 0;) {
		lo = (q->first_file + i) * per;
		if (q->files[i].file && kmq_cq_present(s, q, lo))
			break;
	}
	if (i == (u32)-1)
		return 0;
	hi = lo + per;
	while (lo + 1 < hi) {
		u64 mid = lo + (hi - lo) / 2;

		if (kmq_cq_present(s, q, mid))
			lo = mid;
		else
			hi = mid;
	}
	q->max = lo + 1;
	return 0;
}

/**
 * kmq_cq_truncate() - remove trailing entries whose record does not end
 * at or below @end (recovery: entries past the commitlog's end).
 * @s: store
 * @t: topic
 * @q: queue
 * @end: the recovered commitlog end
 */
void kmq_cq_truncate(struct kmq_kstore *s, struct kmq_ktopic *t,
		     struct kmq_kqueue *q, u64 end)
{
	static const struct kmq_cq_entry none;
	struct kmq_cq_entry e;

	while (q->max > q->min) {
		if (kmq_cq_get(s, q, q->max - 1, &e))
			break;
		if (e.size && e.phys_offset + e.size <= end)
			break;
		if (e.size)
			kmq_cq_put(s, q, t, q->max - 1, &none);
		q->max--;
	}
}

struct kmq_cq_in_ring {
	struct kmq_kstore *s;
	struct kmq_kqueue *q;
	u64 cl_min;
};

/* Whether entry @idx names a record still in the ring (s->lock held). */
static bool kmq_cq_in_ring(void *arg, u64 idx)
{
	struct kmq_cq_in_ring *ir = arg;
	struct kmq_cq_entry e;

	kmq_cq_get_locked(ir->s, ir->q, idx, &e);
	return e.size && e.phys_offset >= ir->cl_min;
}

/**
 * kmq_cq_trim() - move @q's min to its first entry whose record is at or
 * above @cl_min, and delete its files wholly below (s->lock held).
 * @s: store
 * @t: topic
 * @q: queue
 * @cl_min: lowest commitlog offset still in the ring
 */
void kmq_cq_trim(struct kmq_kstore *s, struct kmq_ktopic *t,
		 struct kmq_kqueue *q, u64 cl_min)
{
	struct kmq_cq_in_ring ir = { .s = s, .q = q, .cl_min = cl_min };
	u32 per = s->g.cq_file_entries;

	q->min = kmq_lower_bound(q->min, q->max, kmq_cq_in_ring, &ir);

	while (q->nfiles > 1 && (q->first_file + 1) * per <= q->min) {
		struct file *f = q->files[0].file;

		if (f) {
			char *rel = kasprintf(GFP_KERNEL,
					      "consumequeue/%s/%u/%020llu",
					      t->name, q->id,
					      kmq_cq_file_offset(q->first_file,
								 per));

			if (rel)
				kmq_vfs_unlink(s, rel);
			kfree(rel);
			fput(f);
		}
		memmove(q->files, q->files + 1,
			(q->nfiles - 1) * sizeof(*q->files));
		q->nfiles--;
		q->first_file++;
	}
}

/**
 * kmq_cq_free() - close a queue's files.
 * @q: queue
 */
void kmq_cq_free(struct kmq_kqueue *q)
{
	u32 i;

	for (i = 0; i < q->nfiles; i++)
		if (q->files[i].file)
			fput(q->files[i].file);
	kvfree(q->files);
	q->files = NULL;
	q->nfiles = 0;
}

struct kmq_dirty_ctx {
	struct file **files;
	u32 n;
	u32 cap;
};

static void kmq_dirty_collect(struct kmq_kstore *s, struct kmq_ktopic *t,
			      struct kmq_kqueue *q, void *arg)
{
	struct kmq_dirty_ctx *c = arg;
	u32 i;

	for (i = 0; i < q->nfiles; i++) {
		if (!q->files[i].file || !q->files[i].dirty)
			continue;
		if (c->files) {
			if (c->n >= c->cap)
				return;
			c->files[c->n] = get_file(q->files[i].file);
			q->files[i].dirty = false;
		}
		c->n++;
	}
}

/**
 * kmq_cq_sync_dirty() - sync the consume-queue files written since the
 * last call (before a checkpoint).
 * @s: store
 *
 * Return: 0 or the first sync error.
 */
int kmq_cq_sync_dirty(struct kmq_kstore *s)
{
	struct kmq_dirty_ctx c = {};
	int ret = 0;
	u32 i;

	mutex_lock(&s->lock);
	kmq_queues_walk(s, kmq_dirty_collect, &c);
	if (c.n) {
		c.cap = c.n;
		c.n = 0;
		c.files = kvmalloc_array(c.cap, sizeof(*c.files), GFP_KERNEL);
		if (c.files)
			kmq_queues_walk(s, kmq_dirty_collect, &c);
	}
	mutex_unlock(&s->lock);
	if (c.cap && !c.files)
		return -ENOMEM;
	for (i = 0; i < c.n; i++) {
		int r = vfs_fsync(c.files[i], 1);

		if (r && !ret)
			ret = r;
		fput(c.files[i]);
	}
	kvfree(c.files);
	return ret;
}
