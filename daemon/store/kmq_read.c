// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_read.c - reads from the userspace store: a pull's records as byte
 * ranges of the segment files, ready to be sent as they are; a record by
 * its commitlog offset; queue offsets.
 */
#include <errno.h>
#include <string.h>

#include "kmq_store_int.h"

static bool kmq_tags_match(const struct kmq_read_req *rq, int64_t code)
{
	uint32_t i;

	if (!rq->tags || !rq->ntags)
		return true;
	for (i = 0; i < rq->ntags; i++)
		if (rq->tags[i] == code)
			return true;
	return false;
}

/* Find the queue of a request (lock held). */
static struct kmq_queue *kmq_req_queue(struct kmq_store *s, const char *topic,
				       uint32_t qid, int *err)
{
	struct kmq_topic *t;
	uint32_t len;

	*err = kmq_topic_name_check(topic, &len);
	if (*err)
		return NULL;
	t = kmq_topic_find(s, topic, len);
	if (!t) {
		*err = kmq_err(-KMQ_ENOTOPIC, "topic %s does not exist", topic);
		return NULL;
	}
	if (qid >= t->nqueues && (qid >= t->nallocated || !t->queues[qid])) {
		*err = kmq_err(-KMQ_EBADQUEUE, "queue %u of %s (has %u)", qid,
			       topic, t->nqueues);
		return NULL;
	}
	return kmq_queue_get(s, t, qid, err);
}

/* Add one record to the ranges; false when out of ranges. */
static bool kmq_range_add(struct kmq_range *ranges, uint32_t max_ranges,
			  uint32_t *n, struct kmq_seg *seg,
			  const struct kmq_cq_entry *e)
{
	uint64_t off = e->phys_offset - seg->start;
	struct kmq_range *r = *n ? &ranges[*n - 1] : NULL;

	if (r && r->seg == seg && r->file_off + r->len == off) {
		r->len += e->size;
		r->count++;
		return true;
	}
	if (*n == max_ranges)
		return false;
	r = &ranges[(*n)++];
	kmq_seg_get(seg);
	r->seg = seg;
	r->data = seg->map + off;
	r->fd = seg->fd;
	r->file_off = off;
	r->len = e->size;
	r->count = 1;
	return true;
}

int kmq_store_read(struct kmq_store *s, const struct kmq_read_req *rq,
		   struct kmq_range *ranges, uint32_t max_ranges,
		   struct kmq_read_result *res)
{
	uint64_t idx, scanned = 0;
	struct kmq_queue *q;
	int err;

	memset(res, 0, sizeof(*res));
	if (!rq || !ranges || !max_ranges || !rq->max_msgs)
		return kmq_err(-EINVAL, "read: bad request");
	pthread_mutex_lock(&s->lock);
	q = kmq_req_queue(s, rq->topic, rq->queue_id, &err);
	if (!q) {
		pthread_mutex_unlock(&s->lock);
		return err;
	}
	res->min_offset = q->min;
	res->max_offset = q->max;
	res->next_offset = rq->offset;
	if (q->max == 0) {
		res->status = KMQ_READ_NO_MESSAGE;
		res->next_offset = 0;
	} else if (rq->offset < q->min) {
		res->status = KMQ_READ_OFFSET_TOO_SMALL;
		res->next_offset = q->min;
	} else if (rq->offset == q->max) {
		res->status = KMQ_READ_NO_NEW;
	} else if (rq->offset > q->max) {
		res->status = KMQ_READ_OFFSET_OVERFLOW;
		res->next_offset = q->max;
	} else {
		res->status = KMQ_READ_NO_MATCH;
	}
	if (res->status != KMQ_READ_NO_MATCH)
		goto out;

	for (idx = rq->offset; idx < q->max && scanned < KMQ_READ_SCAN_MAX;
	     idx++, scanned++) {
		struct kmq_cq_entry e;
		struct kmq_seg *seg;

		kmq_cq_get(s, q, idx, &e);
		seg = e.size ? kmq_ring_find(s, e.phys_offset) : NULL;
		if (!seg || e.phys_offset + e.size > seg->start + seg->size ||
		    e.phys_offset + e.size > s->wpos) {
			/* Reclaimed under us, or a hole: never hand out bytes. */
			if (!res->count && e.size && e.phys_offset < s->wpos) {
				res->status = KMQ_READ_OFFSET_TOO_SMALL;
				res->next_offset = q->min;
				goto out;
			}
			res->next_offset = idx + 1;
			continue;
		}
		if (!kmq_tags_match(rq, e.tags_code)) {
			res->next_offset = idx + 1;
			continue;
		}
		if (res->count && (uint64_t)res->bytes + e.size > rq->max_bytes)
			break;
		if (!kmq_range_add(ranges, max_ranges, &res->nranges, seg, &e))
			break;
		res->count++;
		res->bytes += e.size;
		res->next_offset = idx + 1;
		if (res->count == rq->max_msgs)
			break;
	}
	if (res->count)
		res->status = KMQ_READ_FOUND;
out:
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void kmq_store_release(struct kmq_store *s, struct kmq_range *ranges,
		       uint32_t nranges)
{
	uint32_t i;

	for (i = 0; i < nranges; i++) {
		if (ranges[i].seg)
			kmq_seg_put(ranges[i].seg);
		ranges[i].seg = NULL;
	}
}

int kmq_store_queue_offsets(struct kmq_store *s, const char *topic,
			    uint32_t queue_id, uint64_t *min, uint64_t *max)
{
	struct kmq_queue *q;
	int err;

	pthread_mutex_lock(&s->lock);
	q = kmq_req_queue(s, topic, queue_id, &err);
	if (q) {
		*min = q->min;
		*max = q->max;
	}
	pthread_mutex_unlock(&s->lock);
	return q ? 0 : err;
}

int kmq_store_read_at(struct kmq_store *s, uint64_t phys, void *buf,
		      uint32_t cap)
{
	struct kmq_record r;
	struct kmq_seg *seg;
	uint64_t avail;
	int ret;

	pthread_mutex_lock(&s->lock);
	seg = kmq_ring_find(s, phys);
	if (!seg || phys >= s->wpos) {
		pthread_mutex_unlock(&s->lock);
		return kmq_err(-ERANGE, "commitlog offset %llu is not readable",
			       (unsigned long long)phys);
	}
	avail = seg->start + seg->size - phys;
	if (avail > s->wpos - phys)
		avail = s->wpos - phys;
	ret = kmq_record_decode(seg->map + (phys - seg->start),
				avail > UINT32_MAX ? UINT32_MAX : avail, &r, 0);
	if (ret || r.phys_offset != phys) {
		ret = kmq_err(-ERANGE, "no record starts at commitlog offset %llu",
			      (unsigned long long)phys);
	} else if (r.total_size > cap) {
		ret = kmq_err(-ENOSPC, "record of %u bytes, buffer of %u",
			      r.total_size, cap);
	} else {
		memcpy(buf, seg->map + (phys - seg->start), r.total_size);
		ret = r.total_size;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}
