// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_krecover.c - finding the end of the commitlog when a store is
 * attached, and making the consume queues agree with it: the userspace
 * store's recovery (daemon/store/kmq_recover.c), rule for rule.
 *
 * The scan starts at the checkpoint (or at the oldest segment when the
 * checkpoint is unusable) and accepts a record only if it decodes, its
 * body CRC matches and its PHYSICALOFFSET is where it was found; a BLANK
 * continues in the next segment (kmq_scan_check() decides). The first
 * position that fails is the end: after a crash the rest of the write
 * segment is zeroed so nothing past it can later read as a record.
 * Segments after the end are the prepared next ones. Consume-queue
 * entries past the end are removed and the entry of every scanned record
 * is rewritten if it is missing or differs.
 *
 * Runs before the store is registered: nothing else touches it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kmq.h"
#include "kmq_props.h"

/* A read window over the segment being scanned. */
struct kmq_scan {
	struct kmq_kstore *s;
	u8 *buf;		/* the window: s->wbuf */
	u32 cap;
	struct kmq_kseg *wseg;	/* segment the window shows */
	u64 wstart;		/* commitlog offset of buf[0] */
	u32 wlen;
	u8 *big;		/* a record longer than the window */
	u32 bigcap;
};

/* Bytes at @pos, at least @need of them when the segment has them. */
static int kmq_scan_view(struct kmq_scan *sc, struct kmq_kseg *seg, u64 pos,
			 u32 need, u64 seg_left, const u8 **data, u32 *avail)
{
	u64 off = pos - seg->start;
	int n;

	if (sc->wseg == seg && pos >= sc->wstart &&
	    pos - sc->wstart + need <= sc->wlen) {
		*data = sc->buf + (pos - sc->wstart);
		*avail = sc->wlen - (pos - sc->wstart);
		return 0;
	}
	if (need <= sc->cap) {
		n = kmq_vfs_read(seg->file, sc->buf,
				 min_t(u64, sc->cap, seg_left), off);
		if (n < 0)
			return n;
		sc->wseg = seg;
		sc->wstart = pos;
		sc->wlen = n;
		*data = sc->buf;
		*avail = n;
		return 0;
	}
	if (need > sc->bigcap) {
		kvfree(sc->big);
		sc->bigcap = 0;
		sc->big = kvmalloc(need, GFP_KERNEL);
		if (!sc->big)
			return -ENOMEM;
		sc->bigcap = need;
	}
	n = kmq_vfs_read(seg->file, sc->big, need, off);
	if (n < 0)
		return n;
	sc->wseg = NULL;
	*data = sc->big;
	*avail = n;
	return 0;
}

/*
 * The next record at or after *@pos, following BLANKs. Return: 1 with
 * the record in @r (valid until the next call), 0 at the end, -errno.
 */
static int kmq_scan_next(struct kmq_scan *sc, u64 *pos, struct kmq_record *r)
{
	struct kmq_kstore *s = sc->s;
	u64 seg_size = s->g.segment_size;

	for (;;) {
		struct kmq_kseg *seg = kmq_ring_find(s, *pos);
		enum kmq_scan_verdict v;
		u32 need = KMQ_BLANK_SIZE, tries = 0;
		u64 seg_left;
		bool has_next;

		if (!seg)
			return 0;
		seg_left = seg->start + seg_size - *pos;
		has_next = kmq_ring_find(s, seg->start + seg_size);
		for (;;) {
			const u8 *data;
			u32 avail;
			int ret;

			ret = kmq_scan_view(sc, seg, *pos, need, seg_left, &data,
					    &avail);
			if (ret)
				return ret;
			v = kmq_scan_check(data, avail, *pos, seg_left, has_next,
					   r, &need);
			if (v != KMQ_SCAN_MORE)
				break;
			/* At most: the size word, then the record; else short. */
			if (++tries > 2)
				return 0;
		}
		if (v == KMQ_SCAN_RECORD)
			return 1;
		if (v != KMQ_SCAN_BLANK)
			return 0;
		*pos = seg->start + seg_size;
	}
}

/* Rewrite the consume-queue entry of @r if it is missing or wrong. */
static int kmq_rebuild_entry(struct kmq_kstore *s, const struct kmq_record *r)
{
	struct kmq_cq_entry want, have;
	char name[KMQ_TOPIC_NAME_MAX];
	struct kmq_ktopic *t;
	struct kmq_kqueue *q;
	int ret = 0;

	if (!kmq_cq_wants_entry(r->sys_flag) ||
	    r->topic_len >= sizeof(name) || r->queue_id >= KMQ_QUEUES_MAX)
		return 0;
	memcpy(name, r->topic, r->topic_len);
	name[r->topic_len] = '\0';
	t = kmq_topic_find(s, name);
	if (!t)
		return 0;	/* topic deleted since */
	q = kmq_queue_get(t, r->queue_id, &ret);
	if (!q)
		return ret;
	want.phys_offset = r->phys_offset;
	want.size = r->total_size;
	want.tags_code = kmq_props_tags_code(r->props, r->props_len);
	ret = kmq_cq_get(s, q, r->queue_offset, &have);
	if (ret)
		return ret;
	if (have.phys_offset != want.phys_offset || have.size != want.size ||
	    have.tags_code != want.tags_code) {
		ret = kmq_cq_put(s, q, t, r->queue_offset, &want);
		if (ret)
			return ret;
	}
	if (r->queue_offset >= q->max)
		q->max = r->queue_offset + 1;
	if (q->min > r->queue_offset)
		q->min = r->queue_offset;
	return 0;
}

/*
 * Keep the segment holding @end as the last of the ring; those after it
 * are prepared ones (kept as spares) or surplus (removed).
 */
static int kmq_cut_ring(struct kmq_kstore *s, u64 end)
{
	struct kmq_kseg *w = kmq_ring_find(s, end);
	u32 wi, i;
	int ret = 0;

	if (!w) {
		/* @end is the first byte past the ring: open the next. */
		if (s->nsegs >= s->g.ring_segments)
			return -EUCLEAN;
		w = kmq_seg_open(s, end, &ret);
		if (!w)
			return ret;
		s->segs[s->nsegs++] = w;
	}
	wi = kmq_ring_index(s->segs[0]->start, s->g.segment_size, s->nsegs,
			    w->start);
	for (i = wi + 1; i < s->nsegs; i++) {
		struct kmq_kseg *extra = s->segs[i];
		char name[48];

		if (s->nspares < KMQ_SPARES_MAX) {
			s->spares[s->nspares++] = extra;
			continue;
		}
		snprintf(name, sizeof(name), "commitlog/%020llu", extra->start);
		kmq_vfs_unlink(s, name);
		kmq_seg_put(extra);
	}
	s->nsegs = wi + 1;
	return 0;
}

static void kmq_truncate_queue(struct kmq_kstore *s, struct kmq_ktopic *t,
			       struct kmq_kqueue *q, void *arg)
{
	kmq_cq_truncate(s, t, q, *(u64 *)arg);
}

/**
 * kmq_recover() - find the commitlog's end and repair the queues.
 * @s: store, its topics and ring loaded
 * @crashed: the abort file was there: the last detach was not clean
 *
 * Return: 0 (s->wpos, s->flushed and s->last_ts set), or -errno.
 */
int kmq_recover(struct kmq_kstore *s, bool crashed)
{
	struct kmq_scan sc = { .s = s, .buf = s->wbuf, .cap = s->wbuf_cap };
	u64 start, end, ring_end, pos;
	struct kmq_checkpoint c;
	struct kmq_record r;
	struct kmq_kseg *w;
	bool ckpt_ok;
	int ret = 0;

	ckpt_ok = !kmq_checkpoint_read(s, &c);
	if (!s->nsegs) {
		w = kmq_seg_open(s, 0, &ret);
		if (!w)
			return ret;
		s->segs[s->nsegs++] = w;
		s->wpos = 0;
		s->flushed = 0;
		return 0;
	}
	start = s->segs[0]->start;
	ring_end = s->segs[s->nsegs - 1]->start + s->g.segment_size;
	if (ckpt_ok && c.flushed > start && c.flushed < ring_end)
		start = c.flushed;
	else if (crashed)
		pr_info("%s: checkpoint unusable, scanning the whole ring\n",
			s->name);

	s->last_ts = ckpt_ok ? c.store_ts : 0;
	for (pos = start; (ret = kmq_scan_next(&sc, &pos, &r)) == 1;
	     pos += r.total_size)
		s->last_ts = r.store_ts;
	if (ret < 0)
		goto out;
	end = pos;

	ret = kmq_cut_ring(s, end);
	if (ret)
		goto out;
	w = kmq_ring_writing(s);
	if (crashed) {
		/* Nothing past the end may ever read back as a record. */
		ret = kmq_vfs_zero(w->file, end - w->start,
				   s->g.segment_size - (end - w->start));
		if (ret)
			goto out;
	}

	kmq_queues_walk(s, kmq_truncate_queue, &end);
	sc.wseg = NULL;
	for (pos = start; (ret = kmq_scan_next(&sc, &pos, &r)) == 1;
	     pos += r.total_size) {
		ret = kmq_rebuild_entry(s, &r);
		if (ret)
			goto out;
	}
	if (ret < 0)
		goto out;
	ret = 0;
	s->wpos = end;
	s->flushed = start;
	if (crashed)
		pr_info("%s: recovered: commitlog %llu to %llu, scanned from %llu\n",
			s->name, s->segs[0]->start, end, start);
out:
	kvfree(sc.big);
	return ret;
}
