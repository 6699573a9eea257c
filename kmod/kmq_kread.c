// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_kread.c - reads from the kernel store: the lookup a pull makes
 * (kmq_lookup(), shared by KMQ_IOC_READ and KMQ_IOC_PULL_PREPARE), READ
 * (the records copied whole into a user buffer), READ_AT (the record at
 * a commitlog offset), QUEUE_INFO and OFFSET_BY_TIME.
 *
 * A lookup takes the queue's bounds under s->lock, then walks its
 * consume-queue entries with no lock held: statuses, tag filtering and
 * the 16000-entry scan limit follow the userspace store's
 * kmq_store_read(). Runs of records go to the lookup's sink with their
 * segment pinned; a segment the ring reclaims while pinned is unlinked
 * rather than reused, so the bytes are the record's, never another's.
 * Each record taken is checked against its entry first (size, queue,
 * queue offset, commitlog offset: kmq_rec_is_entry()). An entry whose
 * segment left the ring before it was pinned ends the lookup
 * (OFFSET_TOO_SMALL when nothing was taken yet); so does one that does
 * not name its record (-EUCLEAN when nothing was taken yet).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kmq.h"
#include "kmq_endian.h"

/* No record is longer: the largest body, and room for the rest. */
#define KMQ_READ_AT_MAX	(KMQ_MAX_MESSAGE_MAX + (256U << 10))

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
	struct kmq_lookup *sc;
	struct kmq_kqueue *q;
	u64 wpos;
	struct kmq_kseg *cur;	/* pinned: segment of the last entry */
	struct kmq_kseg *rseg;	/* pinned: segment of the pending range */
	u64 rstart;		/* pending range: commitlog offset */
	u32 rlen;
};

/* Hand the pending range to the lookup's sink and drop its pin. */
static int kmq_range_flush(struct kmq_rstate *st)
{
	int ret = 0;

	if (!st->rseg)
		return 0;
	if (st->rlen)
		ret = st->sc->sink(st->sc, st->rseg, st->rstart, st->rlen);
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

/* Whether entry @idx's record is in pinned @seg where the entry says. */
static bool kmq_entry_ok(struct kmq_rstate *st, struct kmq_kseg *seg, u64 idx,
			 const struct kmq_cq_entry *e)
{
	u8 hdr[KMQ_REC_ENTRY_PEEK];

	return e->size >= sizeof(hdr) &&
	       !kmq_vfs_peek(seg->file, e->phys_offset - seg->start, hdr,
			     sizeof(hdr)) &&
	       kmq_rec_is_entry(hdr, sizeof(hdr), e, st->q->id, idx);
}

/*
 * Entry @idx names a record that is not there: the ring reclaimed its
 * segment after the entry was read (the queue's min has moved past it
 * then), or the entry is damaged. No bytes go out for it: the lookup
 * stops before it (the next one starts there); when it is the first,
 * OFFSET_TOO_SMALL, or -EUCLEAN for a damaged entry.
 */
static int kmq_entry_lost(struct kmq_rstate *st, u64 idx)
{
	struct kmq_lookup *sc = st->sc;
	bool reclaimed;

	if (sc->count)
		return 2;
	mutex_lock(&st->s->lock);
	reclaimed = idx < st->q->min;
	mutex_unlock(&st->s->lock);
	if (reclaimed) {
		sc->status = KMQ_RD_OFFSET_TOO_SMALL;
		return 2;
	}
	pr_warn_ratelimited("%s: %s/%u: consume-queue entry %llu does not name its record\n",
			    st->s->name, sc->topic, st->q->id, idx);
	return -EUCLEAN;
}

/*
 * One entry: 1 taken, 0 skipped, 2 stop before it, or -errno: -ENOSPC
 * when the first matching record does not fit (READ), -EUCLEAN when it
 * is not the record its entry names.
 */
static int kmq_lookup_entry(struct kmq_rstate *st, u64 idx,
			    const struct kmq_cq_entry *e)
{
	struct kmq_lookup *sc = st->sc;
	struct kmq_kseg *seg;
	int take;

	if (!e->size) {		/* a hole: no record was indexed there */
		sc->next_offset = idx + 1;
		return 0;
	}
	seg = kmq_entry_seg(st, e->phys_offset, e->size);
	if (!seg)
		return kmq_entry_lost(st, idx);
	if (!kmq_tags_match(sc->tags, sc->ntags, e->tags_code)) {
		sc->next_offset = idx + 1;
		return 0;
	}
	/* Never pass other bytes off as this record. */
	if (!kmq_entry_ok(st, seg, idx, e))
		return kmq_entry_lost(st, idx);
	take = kmq_lookup_take(sc->count, sc->bytes, e->size, sc->max_bytes,
			       sc->first_always);
	if (take <= 0) {
		if (take == -ENOSPC)
			sc->bytes = e->size;
		return take ?: 2;
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
	sc->count++;
	sc->bytes += e->size;
	sc->next_offset = idx + 1;
	return 1;
}

/* Walk the entries from sc->offset (no lock held). */
static int kmq_lookup_entries(struct kmq_rstate *st, u64 qmax)
{
	struct kmq_cq_entry ents[KMQ_CQ_READ_MAX];
	struct kmq_lookup *sc = st->sc;
	u32 per = st->s->g.cq_file_entries;
	u64 idx = sc->offset, scanned = 0;
	int ret = 0;

	while (idx < qmax && scanned < KMQ_READ_SCAN_MAX) {
		u32 rem, n, i;

		kmq_cq_locate(idx, per, &rem);
		n = min_t(u64, KMQ_CQ_READ_MAX, qmax - idx);
		n = min_t(u64, n, per - rem);
		n = min_t(u64, n, KMQ_READ_SCAN_MAX - scanned);
		ret = kmq_cq_read(st->s, st->q, idx, n, ents);
		if (ret)
			return ret;
		for (i = 0; i < n; i++, idx++, scanned++) {
			ret = kmq_lookup_entry(st, idx, &ents[i]);
			if (ret < 0)
				return ret;
			if (ret == 2 || sc->count == sc->max_msgs)
				return 0;
		}
	}
	return 0;
}

/**
 * kmq_lookup() - a pull's lookup: the queue's bounds, the RocketMQ status,
 * then the matching records, handed to @sc->sink as contiguous ranges.
 * @s: store
 * @sc: the request; status, count, bytes and offsets are filled
 *
 * Return: 0 (see @sc->status), -ENOSPC (READ: the first record does not
 * fit; @sc->bytes says its size), -EUCLEAN (the first record is not
 * the one its entry names), -ENOENT, -ERANGE, -EINVAL, or the sink's
 * error. On an error the sink may have been called: its caller
 * undoes what it kept.
 */
int kmq_lookup(struct kmq_kstore *s, struct kmq_lookup *sc)
{
	struct kmq_rstate st = { .s = s, .sc = sc };
	struct kmq_ktopic *t;
	struct kmq_kqueue *q;
	u64 qmin, qmax;
	int ret = 0;

	q = kmq_req_queue(s, sc->topic, sc->queue_id, &t, &ret);
	if (!q)
		return ret;
	st.q = q;
	mutex_lock(&s->lock);
	qmin = q->min;
	qmax = q->max;
	st.wpos = s->wpos;
	mutex_unlock(&s->lock);

	sc->count = 0;
	sc->bytes = 0;
	sc->min_offset = qmin;
	sc->max_offset = qmax;
	sc->status = kmq_read_start_status(qmin, qmax, sc->offset,
					   &sc->next_offset);
	if (sc->status == KMQ_RD_NO_MATCH) {
		ret = kmq_lookup_entries(&st, qmax);
		if (!ret)
			ret = kmq_range_flush(&st);
		if (!ret && sc->count)
			sc->status = KMQ_RD_FOUND;
	}
	if (sc->status == KMQ_RD_OFFSET_TOO_SMALL) {
		/* The min offset may have moved since the snapshot. */
		mutex_lock(&s->lock);
		sc->min_offset = q->min;
		sc->next_offset = q->min;
		mutex_unlock(&s->lock);
	}
	if (st.rseg)
		kmq_seg_put(st.rseg);
	if (st.cur)
		kmq_seg_put(st.cur);
	kmq_topic_put(t);
	return ret;
}

/**
 * kmq_lookup_user() - kmq_lookup() for a request from userspace, whose
 * tag codes are copied in for the time of the lookup.
 * @s: store
 * @sc: the lookup; @sc->ntags codes wanted at @utags (none when either
 *	is 0, and @sc->ntags is set to 0 then)
 * @utags: user pointer to the codes
 *
 * Return: kmq_lookup()'s, -EINVAL (more than KMQ_TAGS_MAX codes), or the
 * error of copying the codes in (-EFAULT, -ENOMEM).
 */
int kmq_lookup_user(struct kmq_kstore *s, struct kmq_lookup *sc, u64 utags)
{
	s64 *tags = NULL;
	int ret;

	if (sc->ntags > KMQ_TAGS_MAX)
		return -EINVAL;
	if (sc->ntags && utags) {
		tags = memdup_user(u64_to_user_ptr(utags),
				   sc->ntags * sizeof(*tags));
		if (IS_ERR(tags))
			return PTR_ERR(tags);
	} else {
		sc->ntags = 0;
	}
	sc->tags = tags;
	ret = kmq_lookup(s, sc);
	sc->tags = NULL;
	kfree(tags);
	return ret;
}

/* READ's sink: the range's bytes go to the user buffer, after the rest. */
static int kmq_read_sink(struct kmq_lookup *sc, struct kmq_kseg *seg, u64 phys,
			 u32 len)
{
	struct kmq_read *rd = sc->arg;
	u8 __user *dst = u64_to_user_ptr(rd->buf);
	u32 copied = sc->bytes - len;	/* the range is counted already */

	return kmq_vfs_copy_to_user(seg->file, phys - seg->start,
				    dst + copied, len);
}

/**
 * kmq_read() - KMQ_IOC_READ.
 * @s: store
 * @rd: the request; status, count, bytes and offsets are filled
 *
 * Return: 0 (see @rd->status), -ENOSPC (the first record does not fit:
 * @rd->bytes says its size), -EUCLEAN, -EINVAL, -ENOENT, -ERANGE,
 * -EFAULT.
 */
int kmq_read(struct kmq_kstore *s, struct kmq_read *rd)
{
	struct kmq_lookup sc = {
		.topic = rd->topic,
		.queue_id = rd->queue_id,
		.offset = rd->offset,
		.max_msgs = rd->max_msgs,
		.max_bytes = rd->buf_len,
		.ntags = rd->ntags,
		.sink = kmq_read_sink,
		.arg = rd,
	};
	int ret;

	if (rd->flags || rd->__rsvd || !rd->max_msgs ||
	    rd->max_msgs > KMQ_READ_SCAN_MAX)
		return -EINVAL;
	ret = kmq_lookup_user(s, &sc, rd->tags);
	rd->ntags = sc.ntags;
	rd->status = sc.status;
	rd->count = sc.count;
	rd->bytes = sc.bytes;
	rd->next_offset = sc.next_offset;
	rd->min_offset = sc.min_offset;
	rd->max_offset = sc.max_offset;
	if (ret == -ENOSPC) {
		rd->count = 0;
	} else if (ret) {
		rd->count = 0;
		rd->bytes = 0;
	} else {
		atomic64_add(rd->count, &s->reads);
		atomic64_add(rd->bytes, &s->read_bytes);
	}
	return ret;
}

/* The ring segment holding @phys, pinned, if @phys is written. */
static struct kmq_kseg *kmq_pin_written(struct kmq_kstore *s, u64 phys,
					u64 *wpos)
{
	struct kmq_kseg *seg = NULL;

	mutex_lock(&s->lock);
	*wpos = s->wpos;
	if (phys < s->wpos)
		seg = kmq_ring_find(s, phys);
	if (seg)
		kmq_seg_get(seg);
	mutex_unlock(&s->lock);
	return seg;
}

/**
 * kmq_read_at() - KMQ_IOC_READ_AT: the record stored at a commitlog
 * offset (view by message id), decoded and checked before it is copied.
 * @s: store
 * @ra: the request; record_size is filled
 *
 * Return: 0, -EINVAL (flags), -ERANGE (not between the commitlog's min
 * and write offsets), -EBADMSG (no record starts there), -ENOSPC (the
 * buffer is smaller: @ra->record_size says the size), -EFAULT, -ENOMEM.
 */
int kmq_read_at(struct kmq_kstore *s, struct kmq_read_at *ra)
{
	struct kmq_record r;
	struct kmq_kseg *seg;
	u64 phys = ra->phys_offset, wpos, avail;
	u8 head[4];
	u32 total;
	void *buf;
	int ret;

	if (ra->flags)
		return -EINVAL;
	ra->record_size = 0;
	seg = kmq_pin_written(s, phys, &wpos);
	if (!seg)
		return -ERANGE;
	avail = min(seg->start + s->g.segment_size, wpos) - phys;
	ret = avail < sizeof(head) ? -EBADMSG :
	      kmq_vfs_read(seg->file, head, sizeof(head), phys - seg->start);
	if (ret < 0)
		goto out;
	total = kmq_get_be32(head);
	ret = -EBADMSG;
	if (total < KMQ_BLANK_SIZE || total > avail ||
	    total > KMQ_READ_AT_MAX)
		goto out;
	buf = kvmalloc(total, GFP_KERNEL);
	ret = -ENOMEM;
	if (!buf)
		goto out;
	ret = kmq_vfs_read(seg->file, buf, total, phys - seg->start);
	if (ret >= 0)
		ret = (u32)ret == total ? 0 : -EBADMSG;
	if (!ret && (kmq_record_decode(buf, total, &r, 0) ||
		     r.phys_offset != phys))
		ret = -EBADMSG;
	if (!ret) {
		ra->record_size = total;
		if (total > ra->buf_len)
			ret = -ENOSPC;
		else if (copy_to_user(u64_to_user_ptr(ra->buf), buf, total))
			ret = -EFAULT;
	}
	kvfree(buf);
out:
	kmq_seg_put(seg);
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

struct kmq_by_time {
	struct kmq_kstore *s;
	struct kmq_kqueue *q;
	u64 ts;
};

/* Whether entry @idx was stored at or after the wanted time. */
static bool kmq_at_or_after(void *arg, u64 idx)
{
	struct kmq_by_time *bt = arg;

	return kmq_entry_ts(bt->s, bt->q, idx) >= bt->ts;
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
		struct kmq_by_time bt = { .s = s, .q = q, .ts = qi->timestamp };

		qi->offset = kmq_lower_bound(qi->min_offset, qi->max_offset,
					     kmq_at_or_after, &bt);
	}
	kmq_topic_put(t);
	return 0;
}
