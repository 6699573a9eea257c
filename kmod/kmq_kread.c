// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_kread.c - reads from the kernel store: KMQ_IOC_READ (a pull's
 * records copied whole into a user buffer), KMQ_IOC_QUEUE_INFO and
 * KMQ_IOC_OFFSET_BY_TIME.
 *
 * A read looks up the queue's bounds under s->lock, then walks its
 * consume-queue entries with no lock held: statuses, tag filtering and
 * the 16000-entry scan limit follow the userspace store's
 * kmq_store_read(). Records are copied from the page cache of a pinned
 * segment; a segment the ring reclaims while pinned is unlinked rather
 * than reused, so the bytes copied are the record's, never another's.
 * An entry whose segment left the ring before it was pinned ends the
 * read (OFFSET_TOO_SMALL when nothing was copied yet).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kmq.h"

#define KMQ_READ_CHUNK	16	/* consume-queue entries read at once */

/* The queue a request names: topic ref in *@tp (s->lock not held). */
static struct kmq_kqueue *kmq_req_queue(struct kmq_kstore *s,
					const char *topic, u32 qid,
					struct kmq_ktopic **tp, int *err)
{
	struct kmq_kqueue *q = NULL;
	struct kmq_ktopic *t;

	if (kmq_topic_name_len(topic, KMQ_TOPIC_NAME_MAX) < 0) {
		*err = -EINVAL;
		return NULL;
	}
	t = kmq_topic_get(s, topic);
	if (!t) {
		*err = -ENOENT;
		return NULL;
	}
	mutex_lock(&s->lock);
	if (qid >= t->nqueues &&
	    (qid >= t->nallocated || !t->queues[qid]))
		*err = -ERANGE;
	else
		q = kmq_queue_get(t, qid, err);
	mutex_unlock(&s->lock);
	if (!q) {
		kmq_topic_put(t);
		return NULL;
	}
	*tp = t;
	return q;
}

struct kmq_rstate {
	struct kmq_kstore *s;
	struct kmq_read *rd;
	const s64 *tags;
	u64 wpos;
	struct kmq_kseg *cur;	/* pinned: segment of the last entry */
	struct kmq_kseg *rseg;	/* pinned: segment of the pending range */
	u64 rstart;		/* pending range: commitlog offset */
	u32 rlen;
	u32 copied;		/* bytes already in the user buffer */
};

static int kmq_range_flush(struct kmq_rstate *st)
{
	u8 __user *dst = u64_to_user_ptr(st->rd->buf);
	int ret = 0;

	if (!st->rseg)
		return 0;
	if (st->rlen)
		ret = kmq_vfs_copy_to_user(st->rseg->file,
					   st->rstart - st->rseg->start,
					   dst + st->copied, st->rlen);
	if (!ret)
		st->copied += st->rlen;
	kmq_seg_put(st->rseg);
	st->rseg = NULL;
	st->rlen = 0;
	return ret;
}

/* The pinned segment holding [@phys, @phys + @size), or NULL. */
static struct kmq_kseg *kmq_entry_seg(struct kmq_rstate *st, u64 phys,
				      u32 size)
{
	u64 seg_size = st->s->g.segment_size;

	if (!st->cur || phys < st->cur->start ||
	    phys >= st->cur->start + seg_size) {
		if (st->cur)
			kmq_seg_put(st->cur);
		st->cur = kmq_ring_pin(st->s, phys);
	}
	if (!st->cur || phys + size > st->cur->start + seg_size ||
	    phys + size > st->wpos)
		return NULL;
	return st->cur;
}

/*
 * One entry: 1 taken, 0 skipped, 2 stop before it (full), or -errno.
 * -ENOSPC when the first matching record does not fit the buffer.
 */
static int kmq_read_entry(struct kmq_rstate *st, u64 idx,
			  const struct kmq_cq_entry *e, u64 qmin)
{
	struct kmq_read *rd = st->rd;
	struct kmq_kseg *seg;

	seg = e->size ? kmq_entry_seg(st, e->phys_offset, e->size) : NULL;
	if (!seg) {
		/* Reclaimed under us, or a hole: never hand out bytes. */
		if (!rd->count && e->size && e->phys_offset < st->wpos) {
			rd->status = KMQ_RD_OFFSET_TOO_SMALL;
			rd->next_offset = qmin;
			return 2;
		}
		rd->next_offset = idx + 1;
		return 0;
	}
	if (!kmq_tags_match(st->tags, rd->ntags, e->tags_code)) {
		rd->next_offset = idx + 1;
		return 0;
	}
	if ((u64)rd->bytes + e->size > rd->buf_len) {
		if (rd->count)
			return 2;
		rd->bytes = e->size;
		return -ENOSPC;
	}
	if (st->rseg != seg || st->rstart + st->rlen != e->phys_offset) {
		int ret = kmq_range_flush(st);

		if (ret)
			return ret;
		kmq_seg_get(seg);
		st->rseg = seg;
		st->rstart = e->phys_offset;
	}
	st->rlen += e->size;
	rd->count++;
	rd->bytes += e->size;
	rd->next_offset = idx + 1;
	return 1;
}

/* Walk the entries from rd->offset (no lock held). */
static int kmq_read_scan(struct kmq_rstate *st, struct kmq_kqueue *q,
			 u64 qmin, u64 qmax)
{
	struct kmq_cq_entry ents[KMQ_READ_CHUNK];
	struct kmq_read *rd = st->rd;
	u32 per = st->s->g.cq_file_entries;
	u64 idx = rd->offset, scanned = 0;
	int ret = 0;

	while (idx < qmax && scanned < KMQ_READ_SCAN_MAX) {
		u32 rem, n, i;

		div_u64_rem(idx, per, &rem);
		n = min_t(u64, KMQ_READ_CHUNK, qmax - idx);
		n = min_t(u64, n, per - rem);
		n = min_t(u64, n, KMQ_READ_SCAN_MAX - scanned);
		ret = kmq_cq_read(st->s, q, idx, n, ents);
		if (ret)
			return ret;
		for (i = 0; i < n; i++, idx++, scanned++) {
			ret = kmq_read_entry(st, idx, &ents[i], qmin);
			if (ret < 0)
				return ret;
			if (ret == 2 || rd->count == rd->max_msgs)
				return 0;
		}
	}
	return 0;
}

/**
 * kmq_read() - KMQ_IOC_READ.
 * @s: store
 * @rd: the request; status, count, bytes and offsets are filled
 *
 * Return: 0 (see @rd->status), -ENOSPC (the first record does not fit:
 * @rd->bytes says its size), -EINVAL, -ENOENT, -ERANGE, -EFAULT.
 */
int kmq_read(struct kmq_kstore *s, struct kmq_read *rd)
{
	struct kmq_rstate st = { .s = s, .rd = rd };
	struct kmq_ktopic *t;
	struct kmq_kqueue *q;
	s64 *tags = NULL;
	u64 qmin, qmax;
	int ret = 0;

	if (rd->flags || rd->__rsvd || !rd->max_msgs ||
	    rd->max_msgs > KMQ_READ_SCAN_MAX || rd->ntags > KMQ_TAGS_MAX)
		return -EINVAL;
	if (rd->ntags && rd->tags) {
		tags = memdup_user(u64_to_user_ptr(rd->tags),
				   rd->ntags * sizeof(*tags));
		if (IS_ERR(tags))
			return PTR_ERR(tags);
	} else {
		rd->ntags = 0;
	}
	st.tags = tags;
	q = kmq_req_queue(s, rd->topic, rd->queue_id, &t, &ret);
	if (!q)
		goto out_tags;
	mutex_lock(&s->lock);
	qmin = q->min;
	qmax = q->max;
	st.wpos = s->wpos;
	mutex_unlock(&s->lock);

	rd->count = 0;
	rd->bytes = 0;
	rd->min_offset = qmin;
	rd->max_offset = qmax;
	rd->status = kmq_read_start_status(qmin, qmax, rd->offset,
					   &rd->next_offset);
	if (rd->status == KMQ_RD_NO_MATCH) {
		ret = kmq_read_scan(&st, q, qmin, qmax);
		if (!ret)
			ret = kmq_range_flush(&st);
		if (!ret && rd->count)
			rd->status = KMQ_RD_FOUND;
	}
	if (rd->status == KMQ_RD_OFFSET_TOO_SMALL) {
		/* The min offset may have moved since the snapshot. */
		mutex_lock(&s->lock);
		rd->min_offset = q->min;
		rd->next_offset = q->min;
		mutex_unlock(&s->lock);
	}
	if (st.rseg)
		kmq_seg_put(st.rseg);
	if (st.cur)
		kmq_seg_put(st.cur);
	if (ret == -ENOSPC) {
		rd->count = 0;
	} else if (ret) {
		rd->count = 0;
		rd->bytes = 0;
	} else {
		atomic64_add(rd->count, &s->reads);
		atomic64_add(rd->bytes, &s->read_bytes);
	}
	kmq_topic_put(t);
out_tags:
	kfree(tags);
	return ret;
}

/* STORETIMESTAMP of the record at @phys; 0 when it cannot be read. */
static u64 kmq_record_ts(struct kmq_kstore *s, u64 phys)
{
	u8 hdr[KMQ_REC_TS_PEEK];
	struct kmq_kseg *seg;
	u64 ts = 0, avail;
	int n;

	seg = kmq_ring_pin(s, phys);
	if (!seg)
		return 0;
	avail = min_t(u64, sizeof(hdr), seg->start + s->g.segment_size - phys);
	n = kmq_vfs_read(seg->file, hdr, avail, phys - seg->start);
	kmq_seg_put(seg);
	if (n > 0 && kmq_rec_store_ts(hdr, n, &ts))
		ts = 0;
	return ts;
}

static u64 kmq_entry_ts(struct kmq_kstore *s, struct kmq_kqueue *q, u64 idx)
{
	struct kmq_cq_entry e;

	if (kmq_cq_get(s, q, idx, &e) || !e.size)
		return 0;
	return kmq_record_ts(s, e.phys_offset);
}

/**
 * kmq_queue_info() - KMQ_IOC_QUEUE_INFO, or with @by_time
 * KMQ_IOC_OFFSET_BY_TIME: the first offset stored at or after
 * @qi->timestamp (binary search over the records' store timestamps).
 * @s: store
 * @qi: the request; the outputs are filled
 * @by_time: OFFSET_BY_TIME
 *
 * Return: 0, -EINVAL, -ENOENT or -ERANGE.
 */
int kmq_queue_info(struct kmq_kstore *s, struct kmq_queue_info *qi,
		   bool by_time)
{
	struct kmq_ktopic *t;
	struct kmq_kqueue *q;
	u64 lo, hi;
	int ret = 0;

	if (qi->flags || qi->__rsvd)
		return -EINVAL;
	q = kmq_req_queue(s, qi->topic, qi->queue_id, &t, &ret);
	if (!q)
		return ret;
	mutex_lock(&s->lock);
	qi->min_offset = q->min;
	qi->max_offset = q->max;
	mutex_unlock(&s->lock);
	qi->min_store_ts = 0;
	if (qi->max_offset > qi->min_offset)
		qi->min_store_ts = kmq_entry_ts(s, q, qi->min_offset);
	qi->offset = 0;
	if (by_time) {
		lo = qi->min_offset;
		hi = qi->max_offset;
		while (lo < hi) {
			u64 mid = lo + (hi - lo) / 2;

			if (kmq_entry_ts(s, q, mid) >= qi->timestamp)
				hi = mid;
			else
				lo = mid + 1;
		}
		qi->offset = lo;
	}
	kmq_topic_put(t);
	return 0;
}
