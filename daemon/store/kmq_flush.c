// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_flush.c - durability of the userspace store: the flusher thread,
 * the checkpoint file and retention.
 *
 * ASYNC_FLUSH: every async_interval_ms the flusher syncs the commitlog if
 * at least async_min_pages pages are dirty, and everything at least every
 * async_full_interval_ms. SYNC_FLUSH is done by the appenders themselves
 * (kmq_append.c): the first one waiting syncs everything appended so far
 * and the ones arriving meanwhile are covered by the next sync (group
 * commit). Once a second the flusher syncs the consume queues and writes
 * the checkpoint; retention runs on the same tick.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kmq_store_int.h"

#define KMQ_CKPT_INTERVAL_MS	1000

/*
 * kmq_flush_to() - make the commitlog durable below @target. Called with
 * the lock held; drops it around the syncs. One sync runs at a time; a
 * caller arriving during one waits for it and then syncs what is left.
 */
int kmq_flush_to(struct kmq_store *s, uint64_t target)
{
	struct kmq_seg *pins[8];
	uint64_t from, p, t0;
	uint32_t n = 0, i;
	int ret = 0;

	while (s->syncing)
		pthread_cond_wait(&s->flushed_cv, &s->lock);
	from = s->flushed;
	if (target <= from)
		return 0;
	for (p = from; p < target && n < 8;) {
		struct kmq_seg *seg = kmq_ring_find(s, p);

		if (!seg) {
			if (!s->nsegs || p >= s->segs[0]->start)
				break;
			p = s->segs[0]->start;
			continue;
		}
		kmq_seg_get(seg);
		pins[n++] = seg;
		p = seg->start + seg->size;
	}
	if (p < target)
		target = p;
	s->syncing = true;
	pthread_mutex_unlock(&s->lock);
	t0 = kmq_mono_us();
	for (i = 0; i < n; i++) {
		int r = kmq_seg_sync(pins[i], from, target);

		if (r && !ret)
			ret = r;
		kmq_seg_put(pins[i]);
	}
	pthread_mutex_lock(&s->lock);
	s->last_sync_us = kmq_mono_us() - t0;
	s->syncing = false;
	pthread_cond_broadcast(&s->flushed_cv);
	if (ret)
		return kmq_err(ret, "commitlog sync failed: %s", strerror(-ret));
	if (target > s->flushed)
		s->flushed = target;
	s->syncs++;
	return 0;
}

int kmq_checkpoint_read(struct kmq_store *s, struct kmq_checkpoint *c)
{
	uint8_t buf[KMQ_CKPT_ENCODED_SIZE];
	ssize_t n;
	int fd;

	fd = openat(s->root_fd, "checkpoint", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n != (ssize_t)sizeof(buf))
		return -KMQ_ECORRUPT;
	return kmq_checkpoint_decode(buf, sizeof(buf), c) ? -KMQ_ECORRUPT : 0;
}

/*
 * kmq_checkpoint_write() - sync the consume queues written so far and
 * record how far commitlog and queues are durable. Lock not held.
 */
int kmq_checkpoint_write(struct kmq_store *s)
{
	uint8_t buf[KMQ_CKPT_FILE_SIZE] = { 0 };
	struct kmq_cqfile **files = NULL, *f;
	struct kmq_checkpoint c;
	uint32_t n = 0, i;
	int fd, ret = 0;

	pthread_mutex_lock(&s->lock);
	c.flushed = s->flushed;
	c.min_offset = s->nsegs ? s->segs[0]->start : 0;
	c.store_ts = s->last_ts;
	for (f = s->dirty_cq; f; f = f->dirty_next)
		n++;
	if (n) {
		files = malloc(n * sizeof(*files));
		if (!files) {
			pthread_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
	}
	/* Take the list: a file written from now on is listed again. */
	for (i = 0, f = s->dirty_cq; f; f = f->dirty_next) {
		f->dirty = false;
		files[i++] = f;
	}
	s->dirty_cq = NULL;
	pthread_mutex_unlock(&s->lock);

	for (i = 0; i < n; i++) {
		int r = kmq_sync_range(files[i]->fd, files[i]->map, 0,
				       files[i]->bytes);

		if (r && !ret)
			ret = r;
		kmq_cqfile_put(files[i]);
	}
	free(files);
	if (ret)
		return kmq_err(ret, "consume queue sync: %s", strerror(-ret));

	kmq_checkpoint_encode(buf, &c);
	fd = openat(s->root_fd, "checkpoint", O_WRONLY | O_CREAT | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return kmq_err(-errno, "open %s/checkpoint: %s", s->root,
			       strerror(errno));
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    fdatasync(fd))
		ret = kmq_err(-errno, "write %s/checkpoint: %s", s->root,
			      strerror(errno));
	close(fd);
	return ret;
}

/*
 * kmq_retention_run() - drop sealed segments whose last record is older
 * than retention_ms (lock held). The segment being written never goes.
 */
void kmq_retention_run(struct kmq_store *s)
{
	uint64_t now = kmq_now_ms();

	if (!s->cfg.retention_ms)
		return;
	while (s->nsegs > 1 &&
	       s->segs[0]->last_ts + s->cfg.retention_ms < now &&
	       s->segs[0]->start + s->segs[0]->size <= s->flushed) {
		struct kmq_seg *seg = kmq_reclaim_oldest(s);

		if (seg) {
			kmq_seg_unlink(s, seg);
			kmq_seg_put(seg);
		}
	}
}

/*
 * kmq_async_complete() - tell asynchronous appenders their records are
 * durable, or that their time ran out (all of them with @all: closing).
 * Lock held; dropped around the callbacks.
 */
void kmq_async_complete(struct kmq_store *s, bool all)
{
	struct kmq_sync_waiter *done = NULL, **tail = &done, **pp, *w;
	uint64_t now = kmq_mono_ms();

	for (pp = &s->async_head; *pp;) {
		w = *pp;
		if (w->end > s->flushed && w->deadline_ms > now && !all) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->next = NULL;
		*tail = w;
		tail = &w->next;
	}
	s->async_tail = pp;
	if (!done)
		return;
	pthread_mutex_unlock(&s->lock);
	while (done) {
		w = done;
		done = w->next;
		w->done(w->arg, w->end <= s->flushed ? 0 :
			KMQ_APPEND_FLUSH_TIMEOUT);
		free(w);
	}
	pthread_mutex_lock(&s->lock);
}

static void kmq_deadline(struct timespec *ts, uint32_t ms)
{
	uint64_t ns;

	clock_gettime(CLOCK_REALTIME, ts);
	ns = (uint64_t)ts->tv_nsec + (uint64_t)ms * 1000000;
	ts->tv_sec += ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

void *kmq_flusher_main(void *arg)
{
	struct kmq_store *s = arg;
	uint64_t last_full = kmq_mono_ms(), last_ckpt = last_full;
	bool sync_mode = s->cfg.flush_mode == KMQ_FLUSH_SYNC;
	struct timespec ts;

	pthread_mutex_lock(&s->lock);
	while (!s->closing) {
		uint64_t now, dirty;
		bool flush;

		if (!s->async_head) {
			kmq_deadline(&ts, sync_mode ? KMQ_CKPT_INTERVAL_MS :
				     s->cfg.async_interval_ms);
			pthread_cond_timedwait(&s->work_cv, &s->lock, &ts);
		}
		if (s->closing)
			break;
		if (s->async_head) {
			/* Group commit for asynchronous appenders. */
			/* A failed sync: they all learn FLUSH_DISK_TIMEOUT. */
			kmq_async_complete(s, kmq_flush_to(s, s->wpos) != 0);
		}
		now = kmq_mono_ms();
		dirty = s->wpos - s->flushed;
		/* Under SYNC_FLUSH appenders sync; this catches leftovers. */
		flush = dirty >= (uint64_t)s->cfg.async_min_pages *
				 KMQ_PAGE_SIZE ||
			(dirty && now - last_full >=
				  s->cfg.async_full_interval_ms);
		if (!flush && !dirty)
			last_full = now;
		if (flush) {
			if (!kmq_flush_to(s, s->wpos) && !sync_mode &&
			    now - last_full >= s->cfg.async_full_interval_ms)
				last_full = now;
		}
		if (now - last_ckpt >= KMQ_CKPT_INTERVAL_MS) {
			last_ckpt = now;
			pthread_mutex_unlock(&s->lock);
			kmq_checkpoint_write(s);
			pthread_mutex_lock(&s->lock);
			kmq_retention_run(s);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}
