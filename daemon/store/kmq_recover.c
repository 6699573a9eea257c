// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_recover.c - finding the end of the commitlog when a store opens,
 * and making the consume queues agree with it.
 *
 * The scan starts at the checkpoint (or at the oldest segment when the
 * checkpoint is unusable) and accepts a record only if it decodes (magic,
 * every length inside TOTALSIZE, parts adding up), its body CRC matches
 * and its PHYSICALOFFSET is where it was found; a BLANK continues in the
 * next segment. The first position that fails is the end: a torn tail
 * (TOTALSIZE is written last) is cut there and zeroed. Consume-queue
 * entries past the end are removed and entries of every scanned record
 * are rewritten, so queues never point at bytes that are not a record.
 */
#include <errno.h>
#include <string.h>

#include "kmq_props.h"
#include "kmq_store_int.h"

/* Next record at or after *@pos (following BLANKs); 0 at the end. */
static int kmq_scan_next(struct kmq_store *s, uint64_t *pos,
			 struct kmq_record *r)
{
	for (;;) {
		struct kmq_seg *seg = kmq_ring_find(s, *pos);
		uint64_t off, avail;
		int rc;

		if (!seg)
			return 0;
		off = *pos - seg->start;
		avail = seg->size - off;
		rc = kmq_record_decode(seg->map + off,
				       avail > UINT32_MAX ? UINT32_MAX : avail,
				       r, KMQ_DECODE_CRC);
		if (rc == 1) {
			if (off + r->total_size != seg->size ||
			    !kmq_ring_find(s, seg->start + seg->size))
				return 0;
			*pos = seg->start + seg->size;
			continue;
		}
		if (rc || r->phys_offset != *pos)
			return 0;
		return 1;
	}
}

static void kmq_truncate_queue(struct kmq_store *s, struct kmq_queue *q,
			       void *arg)
{
	kmq_cq_truncate(s, q, *(uint64_t *)arg);
}

/* Rewrite the consume-queue entry of @r if it is missing or wrong. */
static int kmq_rebuild_entry(struct kmq_store *s, const struct kmq_record *r)
{
	struct kmq_cq_entry want, have;
	struct kmq_topic *t;
	struct kmq_queue *q;
	int err = 0;

	if (!kmq_cq_wants_entry(r->sys_flag))
		return 0;
	t = kmq_topic_find(s, r->topic, r->topic_len);
	if (!t)
		return 0;	/* topic deleted since */
	q = kmq_queue_get(s, t, r->queue_id, &err);
	if (!q)
		return err;
	want.phys_offset = r->phys_offset;
	want.size = r->total_size;
	want.tags_code = kmq_props_tags_code(r->props, r->props_len);
	kmq_cq_get(s, q, r->queue_offset, &have);
	if (have.phys_offset != want.phys_offset || have.size != want.size ||
	    have.tags_code != want.tags_code) {
		err = kmq_cq_put(s, q, r->queue_offset, &want);
		if (err)
			return err;
	}
	if (r->queue_offset >= q->max)
		q->max = r->queue_offset + 1;
	if (q->min > r->queue_offset)
		q->min = r->queue_offset;
	return 0;
}

/*
 * Keep the segment holding @end as the last of the ring; the segments
 * after it are prepared ones (kept, in order) or surplus (removed).
 */
static int kmq_cut_ring(struct kmq_store *s, uint64_t end)
{
	struct kmq_seg *w = kmq_ring_find(s, end);
	uint32_t wi, i;
	int err = 0;

	if (!w) {
		/* end is the first byte past the ring: open the next one. */
		err = kmq_ring_open_push(s, end, &w);
		if (err)
			return err;
	}
	wi = (w->start - s->segs[0]->start) / s->cfg.segment_size;
	for (i = wi + 1; i < s->nsegs; i++) {
		struct kmq_seg *extra = s->segs[i];

		if (s->nspares < KMQ_PREALLOC_MAX) {
			s->spares[s->nspares++] = extra;
			continue;
		}
		kmq_seg_unlink(s, extra);
		kmq_seg_put(extra);
	}
	s->nsegs = wi + 1;
	return 0;
}

int kmq_recover(struct kmq_store *s, bool crashed)
{
	uint64_t start, end, ring_end, pos;
	struct kmq_checkpoint c;
	struct kmq_record r;
	struct kmq_seg *w;
	bool ckpt_ok;
	int err = 0;

	ckpt_ok = !kmq_checkpoint_read(s, &c);
	if (!s->nsegs) {
		err = kmq_ring_open_push(s, 0, &w);
		if (err)
			return err;
		s->wpos = 0;
		s->flushed = 0;
		return kmq_seg_prefault(w);
	}
	start = s->segs[0]->start;
	ring_end = s->segs[s->nsegs - 1]->start + s->cfg.segment_size;
	if (ckpt_ok && c.flushed > start && c.flushed < ring_end)
		start = c.flushed;

	s->last_ts = ckpt_ok ? c.store_ts : 0;
	for (pos = start; kmq_scan_next(s, &pos, &r); pos += r.total_size)
		s->last_ts = r.store_ts;
	end = pos;
	if (!ckpt_ok && crashed)
		kmq_err(0, "%s: checkpoint unusable, scanned the whole ring",
			s->root);

	err = kmq_cut_ring(s, end);
	if (err)
		return err;
	w = s->segs[s->nsegs - 1];
	if (crashed) {
		/* Nothing past the end may ever read back as a record. */
		memset(w->map + (end - w->start), 0, w->size - (end - w->start));
	}
	err = kmq_seg_prefault(w);
	if (err)
		return err;

	kmq_queues_walk(s, kmq_truncate_queue, &end);
	for (pos = start; kmq_scan_next(s, &pos, &r); pos += r.total_size) {
		err = kmq_rebuild_entry(s, &r);
		if (err)
			return err;
	}
	s->wpos = end;
	s->flushed = start;
	return 0;
}
