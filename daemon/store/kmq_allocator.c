// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_allocator.c - keeps commitlog segments prepared ahead of the
 * writer, and reclaims the oldest one when the ring is full.
 *
 * While the ring has free slots the allocator prepares up to
 * prealloc_segments new files: allocated and pre-faulted, which at about
 * 1 GB/s of first-touch zeroing is what must happen long before the
 * writer arrives. When the ring is full it keeps one prepared by
 * recycling the oldest segment: its records are
 * dropped (queues' minimum offsets move), the file is renamed to the new
 * start offset and its pages (normally still resident) are mapped
 * writable again. A reader still
 * holding the oldest segment keeps it: the file is unlinked instead and a
 * new one created, so pinned bytes never change.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kmq_store_int.h"

static void kmq_trim_queue(struct kmq_store *s, struct kmq_queue *q,
			   void *arg)
{
	kmq_cq_trim(s, q, *(uint64_t *)arg);
}

/*
 * kmq_reclaim_oldest() - drop the oldest segment's records (lock held).
 * Return: the segment if nobody else holds it (the caller may recycle
 * it), else NULL (it was unlinked and is freed by its last reader).
 */
struct kmq_seg *kmq_reclaim_oldest(struct kmq_store *s)
{
	struct kmq_seg *seg = kmq_ring_drop_oldest(s);
	uint64_t min = s->segs[0]->start;

	kmq_queues_walk(s, kmq_trim_queue, &min);
	if (atomic_load(&seg->refs) == 1)
		return seg;
	kmq_seg_unlink(s, seg);
	kmq_seg_put(seg);
	return NULL;
}

static struct kmq_seg *kmq_prepare(struct kmq_store *s, uint64_t start,
				   struct kmq_seg *recycle, int *err)
{
	struct kmq_seg *seg = recycle;

	if (seg) {
		*err = kmq_seg_rename(s, seg, start);
		if (*err) {
			kmq_seg_put(seg);
			return NULL;
		}
		*err = kmq_seg_renew(seg);
		if (*err) {
			kmq_err(*err, "renew segment %llu: %s",
				(unsigned long long)start, strerror(-*err));
			kmq_seg_unlink(s, seg);
			kmq_seg_put(seg);
			return NULL;
		}
		seg->last_ts = kmq_now_ms();
	} else {
		seg = kmq_seg_open(s, start, err);
		if (!seg)
			return NULL;
	}
	*err = kmq_seg_prefault(seg);
	if (*err) {
		kmq_err(*err, "prefault segment %llu: %s",
			(unsigned long long)start, strerror(-*err));
		kmq_seg_unlink(s, seg);
		kmq_seg_put(seg);
		return NULL;
	}
	return seg;
}

void *kmq_allocator_main(void *arg)
{
	struct kmq_store *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->closing) {
		struct kmq_seg *recycle = NULL, *seg;
		uint64_t start;
		int err = 0;

		uint32_t files = s->nsegs + s->nspares;
		bool full = s->cfg.ring_segments &&
			    files >= s->cfg.ring_segments;

		if (s->nspares >= s->prealloc || (full && s->nspares) ||
		    (full && s->nsegs < 2) || s->alloc_err) {
			if (s->alloc_err) {
				struct timespec ts;

				/* Out of disk or files: retry in a second. */
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1;
				pthread_cond_timedwait(&s->work_cv, &s->lock,
						       &ts);
				s->alloc_err = 0;
				continue;
			}
			pthread_cond_wait(&s->work_cv, &s->lock);
			continue;
		}
		start = (s->nspares ? s->spares[s->nspares - 1]->start :
			 s->segs[s->nsegs - 1]->start) + s->cfg.segment_size;
		if (full)
			recycle = kmq_reclaim_oldest(s);
		pthread_mutex_unlock(&s->lock);

		seg = kmq_prepare(s, start, recycle, &err);

		pthread_mutex_lock(&s->lock);
		if (seg)
			s->spares[s->nspares++] = seg;
		else
			s->alloc_err = err;
		pthread_cond_broadcast(&s->flushed_cv);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/*
 * kmq_wait_spare() - wait (lock held) until the next segment is ready.
 * Return: 0, the allocator's error, or -KMQ_ECLOSED.
 */
int kmq_wait_spare(struct kmq_store *s)
{
	while (!s->nspares) {
		if (s->closing)
			return kmq_err(-KMQ_ECLOSED, "store %s is closing",
				       s->root);
		if (s->alloc_err)
			return kmq_err(s->alloc_err,
				       "no next commitlog segment: %s",
				       kmq_store_strerror(s->alloc_err));
		pthread_cond_broadcast(&s->work_cv);
		pthread_cond_wait(&s->flushed_cv, &s->lock);
	}
	return 0;
}

/* kmq_take_spare() - the first prepared segment, for the writer (lock held). */
struct kmq_seg *kmq_take_spare(struct kmq_store *s)
{
	struct kmq_seg *seg = s->spares[0];

	memmove(s->spares, s->spares + 1, --s->nspares * sizeof(*s->spares));
	pthread_cond_broadcast(&s->work_cv);
	return seg;
}
