// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_kflush.c - durability of the kernel store: commitlog syncs, the
 * SYNC_FLUSH group commit, the ASYNC_FLUSH flusher, the checkpoint file
 * and the retention tick.
 *
 * A sync is vfs_fsync_range(datasync) over exactly the unsynced range of
 * the segments, so the pages prepared ahead of the writer are not
 * written with it. One sync runs at a time (sync_mutex). Group commit:
 * an appender waiting for its end offset leads a sync of everything
 * appended so far if none is running, else sleeps until the running one
 * ends - every appender that arrived meanwhile is covered by the next
 * sync, one for all. The flusher is a delayed work: RocketMQ's policy of
 * a flush every async_interval_ms when 4 pages are dirty, and of
 * everything every 10 s; once a second it syncs the consume queues
 * written since, writes the checkpoint and applies retention.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "kmq.h"

#define KMQ_SYNC_PINS	4

/* Sync [flushed, wpos) of the commitlog (sync_mutex held). */
static int kmq_flush_locked(struct kmq_kstore *s)
{
	struct kmq_kseg *pins[KMQ_SYNC_PINS];
	u64 from = s->flushed, to, p;
	u32 n = 0, i;
	int ret = 0;

	mutex_lock(&s->lock);
	to = s->wpos;
	if (s->nsegs && from < s->segs[0]->start)
		from = s->segs[0]->start;
	for (p = from; p < to && n < KMQ_SYNC_PINS;) {
		struct kmq_kseg *seg = kmq_ring_find(s, p);

		if (!seg)
			break;
		kmq_seg_get(seg);
		pins[n++] = seg;
		p = seg->start + s->g.segment_size;
	}
	mutex_unlock(&s->lock);
	if (p < to)
		to = p;

	for (i = 0; i < n; i++) {
		u64 a = max(from, pins[i]->start) - pins[i]->start;
		u64 b = min(to, pins[i]->start + s->g.segment_size) -
			pins[i]->start;
		int r = 0;

		if (b > a)
			r = vfs_fsync_range(pins[i]->file, a & PAGE_MASK,
					    b - 1, 1);
		if (r && !ret)
			ret = r;
		kmq_seg_put(pins[i]);
	}
	if (ret) {
		pr_warn_ratelimited("%s: commitlog sync: %d\n", s->name, ret);
		atomic64_inc(&s->errors);
		return ret;
	}
	if (to > s->flushed) {
		WRITE_ONCE(s->flushed, to);
		if (kmq_genl_listening())
			kmq_evt_flushed(s);
	}
	return 0;
}

/**
 * kmq_flush_all() - sync everything appended so far (a sync covers a few
 * segments at most: repeat while it makes progress).
 * @s: store
 *
 * Return: 0 or the sync error.
 */
int kmq_flush_all(struct kmq_kstore *s)
{
	u64 before, target;
	int ret;

	mutex_lock(&s->lock);
	target = s->wpos;
	mutex_unlock(&s->lock);
	mutex_lock(&s->sync_mutex);
	do {
		before = s->flushed;
		ret = kmq_flush_locked(s);
	} while (!ret && s->flushed < target && s->flushed > before);
	mutex_unlock(&s->sync_mutex);
	wake_up_all(&s->flush_wq);
	return ret;
}

/* A waiter's wake-up: covered, the sync it waited for over, detached. */
static bool kmq_flush_woken(struct kmq_kstore *s, u64 end)
{
	return READ_ONCE(s->flushed) >= end ||
	       !mutex_is_locked(&s->sync_mutex) || READ_ONCE(s->detaching);
}

/**
 * kmq_flush_wait() - group commit: return once the commitlog is durable
 * below @end, leading syncs when none runs.
 * @s: store
 * @end: commitlog offset
 * @timeout_ms: give up after it
 *
 * Return: 0, -ETIMEDOUT, -EINTR, -ENXIO (detached) or a sync error.
 */
int kmq_flush_wait(struct kmq_kstore *s, u64 end, u32 timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);

	for (;;) {
		long left;

		if (READ_ONCE(s->flushed) >= end)
			return 0;
		if (READ_ONCE(s->detaching))
			return -ENXIO;
		if (mutex_trylock(&s->sync_mutex)) {
			int ret = 0;

			if (READ_ONCE(s->flushed) < end)
				ret = kmq_flush_locked(s);
			mutex_unlock(&s->sync_mutex);
			wake_up_all(&s->flush_wq);
			if (ret)
				return ret;
			continue;
		}
		if (time_after_eq(jiffies, deadline))
			return -ETIMEDOUT;
		left = deadline - jiffies;
		left = wait_event_interruptible_timeout(s->flush_wq,
							kmq_flush_woken(s, end),
							left);
		if (left < 0)
			return -EINTR;
	}
}

/**
 * kmq_flush_ioctl() - KMQ_IOC_FLUSH.
 * @s: store
 * @f: the request; flushed_offset is filled
 *
 * Return: 0, -EINVAL (flags, reserved, an offset past the write
 * position), -ETIMEDOUT, -EINTR, -ENXIO or a sync error.
 */
int kmq_flush_ioctl(struct kmq_kstore *s, struct kmq_flush *f)
{
	u64 target;
	int ret = 0;

	if (f->flags || f->__rsvd)
		return -EINVAL;
	mutex_lock(&s->lock);
	target = s->wpos;
	mutex_unlock(&s->lock);
	if (f->offset != U64_MAX) {
		if (f->offset > target)
			return -EINVAL;
		target = f->offset;
	}
	if (f->timeout_ms)
		ret = kmq_flush_wait(s, target, f->timeout_ms);
	f->flushed_offset = READ_ONCE(s->flushed);
	return ret;
}

/**
 * kmq_checkpoint_read() - the checkpoint file's content.
 * @s: store
 * @c: out
 *
 * Return: 0, or -EUCLEAN when it is absent, short or damaged.
 */
int kmq_checkpoint_read(struct kmq_kstore *s, struct kmq_checkpoint *c)
{
	u8 buf[KMQ_CKPT_ENCODED_SIZE];

	if (kmq_vfs_read(s->ckpt_file, buf, sizeof(buf), 0) != sizeof(buf))
		return -EUCLEAN;
	return kmq_checkpoint_decode(buf, sizeof(buf), c) ? -EUCLEAN : 0;
}

/**
 * kmq_checkpoint_write() - sync the consume queues written so far, then
 * record how far commitlog and queues are both durable.
 * @s: store
 *
 * Return: 0 or -errno.
 */
int kmq_checkpoint_write(struct kmq_kstore *s)
{
	struct kmq_checkpoint c;
	void *buf;
	int ret;

	mutex_lock(&s->lock);
	c.flushed = READ_ONCE(s->flushed);
	c.min_offset = s->nsegs ? s->segs[0]->start : 0;
	c.store_ts = s->last_ts;
	mutex_unlock(&s->lock);

	ret = kmq_cq_sync_dirty(s);
	if (ret)
		goto fail;
	buf = kzalloc(KMQ_CKPT_FILE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	kmq_checkpoint_encode(buf, &c);
	ret = kmq_vfs_write(s->ckpt_file, buf, KMQ_CKPT_FILE_SIZE, 0);
	kfree(buf);
	if (!ret)
		ret = vfs_fsync(s->ckpt_file, 1);
	if (!ret)
		return 0;
fail:
	pr_warn_ratelimited("%s: checkpoint: %d\n", s->name, ret);
	atomic64_inc(&s->errors);
	return ret;
}

static u32 kmq_tick_period(struct kmq_kstore *s)
{
	if (s->g.flush_mode == KMQ_FLUSH_MODE_SYNC)
		return KMQ_CKPT_INTERVAL_MS;
	return min_t(u32, s->g.async_interval_ms, KMQ_CKPT_INTERVAL_MS);
}

/**
 * kmq_tick_work() - the flusher: ASYNC_FLUSH policy (and leftovers of
 * NOWAIT appends under SYNC_FLUSH), checkpoint and retention.
 * @work: s->tick_work
 */
void kmq_tick_work(struct work_struct *work)
{
	struct kmq_kstore *s = container_of(to_delayed_work(work),
					    struct kmq_kstore, tick_work);
	u64 now = kmq_mono_ms(), dirty;

	if (READ_ONCE(s->detaching))
		return;
	mutex_lock(&s->lock);
	dirty = s->wpos - READ_ONCE(s->flushed);
	mutex_unlock(&s->lock);
	if (!dirty) {
		s->last_full_ms = now;
	} else if (kmq_async_flush_due(dirty, KMQ_ASYNC_MIN_PAGES * PAGE_SIZE,
				       now, s->last_full_ms,
				       KMQ_ASYNC_FULL_MS)) {
		if (!kmq_flush_all(s) &&
		    now - s->last_full_ms >= KMQ_ASYNC_FULL_MS)
			s->last_full_ms = now;
	}
	if (now - s->last_ckpt_ms >= KMQ_CKPT_INTERVAL_MS) {
		s->last_ckpt_ms = now;
		kmq_checkpoint_write(s);
		kmq_ring_retention(s);
	}
	if (!READ_ONCE(s->detaching))
		queue_delayed_work(kmq_wq, &s->tick_work,
				   msecs_to_jiffies(kmq_tick_period(s)));
}
