// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_append.c - appending records to the userspace store.
 *
 * Everything that can be checked without the lock (sizes, properties,
 * body CRC, tags code) is done first. Under the lock the store assigns
 * queue offsets, the physical offset and the store timestamp, encodes the
 * record straight into the pre-faulted segment mapping and writes the
 * consume-queue entry. Under SYNC_FLUSH the caller then waits for the
 * flusher's group commit to cover its last byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kmq_cq.h"
#include "kmq_props.h"
#include "kmq_store_int.h"

struct kmq_prep {
	struct kmq_queue *q;
	uint32_t topic_len;
	uint32_t size;
	uint32_t crc;
	int64_t tags;
	bool cq;
};

int kmq_store_props_check(const struct kmq_msg *m, uint32_t i)
{
	if (m->props_len > KMQ_PROPS_MAX || (m->props_len && !m->props))
		return kmq_err(-KMQ_EBADPROPS,
			       "message %u: properties of %u bytes (max %d)",
			       i, m->props_len, KMQ_PROPS_MAX);
	if (m->props_len && kmq_props_validate(m->props, m->props_len))
		return kmq_err(-KMQ_EBADPROPS,
			       "message %u: properties are not name\\1value\\2 pairs",
			       i);
	return 0;
}

static int kmq_prep_msg(struct kmq_store *s, const struct kmq_msg *m,
			uint32_t i, struct kmq_prep *p)
{
	uint32_t sys = m->sys_flag & ~(KMQ_SYSFLAG_BORNHOST_V6 |
				       KMQ_SYSFLAG_STOREHOST_V6);
	int ret;

	ret = kmq_topic_name_check(m->topic, &p->topic_len);
	if (ret)
		return ret;
	if (m->body_len > s->cfg.max_message_size)
		return kmq_err(-KMQ_EMSGSIZE,
			       "message %u: body of %u bytes exceeds maxMessageSize %u",
			       i, m->body_len, s->cfg.max_message_size);
	if (m->body_len && !m->body)
		return kmq_err(-EINVAL, "message %u: body missing", i);
	ret = kmq_store_props_check(m, i);
	if (ret)
		return ret;
	if (m->born_host.v6)
		sys |= KMQ_SYSFLAG_BORNHOST_V6;
	if (s->cfg.store_host.v6)
		sys |= KMQ_SYSFLAG_STOREHOST_V6;
	p->size = kmq_record_size(KMQ_MAGIC_V1, sys, m->body_len, p->topic_len,
				  m->props_len);
	if (!p->size || (uint64_t)p->size + KMQ_BLANK_SIZE > s->cfg.segment_size)
		return kmq_err(-KMQ_EMSGSIZE,
			       "message %u: record does not fit a segment", i);
	p->crc = kmq_body_crc(m->body, m->body_len);
	p->tags = m->props_len ? kmq_props_tags_code(m->props, m->props_len) : 0;
	p->cq = kmq_cq_wants_entry(m->sys_flag);
	return 0;
}

/* Resolve topics and queues (lock held). */
static int kmq_prep_queues(struct kmq_store *s, const struct kmq_msg *msgs,
			   uint32_t n, struct kmq_prep *p)
{
	uint32_t i;
	int err = 0;

	for (i = 0; i < n; i++) {
		struct kmq_topic *t;

		t = kmq_topic_find(s, msgs[i].topic, p[i].topic_len);
		if (!t)
			return kmq_err(-KMQ_ENOTOPIC,
				       "message %u: topic %s does not exist",
				       i, msgs[i].topic);
		if (msgs[i].queue_id >= t->nqueues)
			return kmq_err(-KMQ_EBADQUEUE,
				       "message %u: queue %u of %s (has %u)",
				       i, msgs[i].queue_id, t->name,
				       t->nqueues);
		p[i].q = kmq_queue_get(s, t, msgs[i].queue_id, &err);
		if (!p[i].q)
			return err;
	}
	return 0;
}

/*
 * Make room for @bytes in the current segment, rolling to the prepared
 * next one (BLANK filler at the end of this one) if needed. Lock held;
 * may wait for the allocator.
 */
static int kmq_reserve(struct kmq_store *s, uint64_t bytes)
{
	for (;;) {
		struct kmq_seg *cur = s->segs[s->nsegs - 1];
		uint64_t off = s->wpos - cur->start;
		int ret;

		if (bytes + KMQ_BLANK_SIZE <= cur->size - off)
			return 0;
		ret = kmq_wait_spare(s);
		if (ret)
			return ret;
		cur = s->segs[s->nsegs - 1];
		off = s->wpos - cur->start;
		if (bytes + KMQ_BLANK_SIZE <= cur->size - off)
			return 0;
		ret = kmq_ring_push(s, s->spares[0]);
		if (ret)
			return ret;
		kmq_take_spare(s);
		kmq_blank_encode(cur->map + off, cur->size - off);
		/* Sealed: its mtime tells retention its age after a restart. */
		futimens(cur->fd, NULL);
		s->wpos = s->segs[s->nsegs - 1]->start;
	}
}

static void kmq_write_one(struct kmq_store *s, const struct kmq_msg *m,
			  struct kmq_prep *p, uint64_t now,
			  struct kmq_append_result *res)
{
	struct kmq_seg *cur = s->segs[s->nsegs - 1];
	struct kmq_record r = {
		.magic = KMQ_MAGIC_V1,
		.body_crc = p->crc,
		.queue_id = m->queue_id,
		.flag = m->flag,
		.queue_offset = p->cq ? p->q->max : 0,
		.phys_offset = s->wpos,
		.sys_flag = m->sys_flag,
		.born_ts = m->born_ts,
		.born_host = m->born_host,
		.store_ts = now,
		.store_host = s->cfg.store_host,
		.reconsume_times = m->reconsume_times,
		.prepared_tx_offset = m->prepared_tx_offset,
		.body_len = m->body_len,
		.body = m->body,
		.topic_len = p->topic_len,
		.topic = m->topic,
		.props_len = m->props_len,
		.props = m->props,
	};

	kmq_record_encode(cur->map + (s->wpos - cur->start), p->size, &r);
	if (p->cq) {
		struct kmq_cq_entry e = {
			.phys_offset = s->wpos,
			.size = p->size,
			.tags_code = p->tags,
		};

		/* A failed consume-queue write is rebuilt by recovery. */
		if (!kmq_cq_put(s, p->q, p->q->max, &e))
			p->q->max++;
	}
	res->queue_offset = r.queue_offset;
	res->phys_offset = s->wpos;
	res->size = p->size;
	res->store_ts = now;
	s->wpos += p->size;
}

static void kmq_abstime_us(struct timespec *ts, uint64_t us)
{
	uint64_t ns;

	clock_gettime(CLOCK_REALTIME, ts);
	ns = (uint64_t)ts->tv_nsec + us * 1000;
	ts->tv_sec += ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

/*
 * Lead a sync (lock held). The appenders the last sync released are
 * probably appending again right now: wait a little - at most half a
 * sync's duration - for as many of them to join, so one sync covers
 * them all instead of starting with one record and leaving the rest to
 * the next.
 */
static int kmq_lead_sync(struct kmq_store *s)
{
	uint64_t wait = s->last_sync_us / 2;
	struct timespec ts;
	uint32_t group;
	int ret;

	s->leading = true;
	if (s->sync_waiters < s->last_group && wait) {
		kmq_abstime_us(&ts, wait > 2000 ? 2000 : wait);
		while (s->sync_waiters < s->last_group &&
		       !pthread_cond_timedwait(&s->join_cv, &s->lock, &ts))
			;
	}
	group = s->sync_waiters;
	ret = kmq_flush_to(s, s->wpos);
	s->last_group = group;
	s->leading = false;
	pthread_cond_broadcast(&s->flushed_cv);
	return ret;
}

/*
 * Group commit (lock held): until a sync covers @end, either lead one -
 * sync everything appended so far, covering every appender waiting - or,
 * while another appender leads, wait for it. An append not covered within
 * flush_timeout_ms, or whose sync failed, is FLUSH_DISK_TIMEOUT: stored,
 * durability unknown.
 */
static int kmq_wait_flushed(struct kmq_store *s, uint64_t end)
{
	uint64_t deadline = kmq_mono_ms() + s->cfg.flush_timeout_ms;
	struct timespec ts;
	int ret = 0;

	kmq_abstime_us(&ts, (uint64_t)s->cfg.flush_timeout_ms * 1000);
	s->sync_waiters++;
	pthread_cond_signal(&s->join_cv);
	while (s->flushed < end) {
		if (!s->syncing && !s->leading) {
			if (kmq_lead_sync(s)) {
				ret = KMQ_APPEND_FLUSH_TIMEOUT;
				break;
			}
			continue;
		}
		if (pthread_cond_timedwait(&s->flushed_cv, &s->lock, &ts))
			break;
	}
	s->sync_waiters--;
	if (ret || s->flushed < end || kmq_mono_ms() > deadline)
		return KMQ_APPEND_FLUSH_TIMEOUT;
	return 0;
}

/*
 * Append under the lock; then, under SYNC_FLUSH, either wait for the
 * group commit (@done NULL) or queue @done for the flusher thread.
 */
static int kmq_append(struct kmq_store *s, const struct kmq_msg *msgs,
		      uint32_t n, struct kmq_append_result *res,
		      kmq_append_done_fn done, void *arg)
{
	struct kmq_sync_waiter *w = NULL;

	struct kmq_prep stack[16], *p = stack;
	uint64_t total = 0, now;
	uint32_t i;
	int ret = 0;

	if (!n)
		return 0;
	if (!msgs || !res)
		return kmq_err(-EINVAL, "append: no messages or results");
	if (n > ARRAY_SIZE(stack)) {
		p = calloc(n, sizeof(*p));
		if (!p)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		ret = kmq_prep_msg(s, &msgs[i], i, &p[i]);
		if (ret)
			break;
		total += p[i].size;
	}
	if (!ret && total + KMQ_BLANK_SIZE > s->cfg.segment_size)
		ret = kmq_err(-KMQ_EMSGSIZE, "batch of %llu bytes exceeds a segment",
			      (unsigned long long)total);

	pthread_mutex_lock(&s->lock);
	if (s->closing) {
		ret = kmq_err(-KMQ_ECLOSED, "store %s is closing", s->root);
		goto unlock;
	}
	if (ret) {
		/* Report the first bad message: check queues before it. */
		char msg[512];
		int qret;

		snprintf(msg, sizeof(msg), "%s", kmq_store_errmsg());
		qret = kmq_prep_queues(s, msgs, i, p);
		if (!qret)
			kmq_err(ret, "%s", msg);
		ret = qret ? qret : ret;
		goto unlock;
	}
	/* Reserve first: it may drop the lock while the allocator works. */
	ret = kmq_reserve(s, total);
	if (!ret)
		ret = kmq_prep_queues(s, msgs, n, p);
	if (ret)
		goto unlock;
	now = kmq_now_ms();
	for (i = 0; i < n; i++)
		kmq_write_one(s, &msgs[i], &p[i], now, &res[i]);
	s->segs[s->nsegs - 1]->last_ts = now;
	s->last_ts = now;
	s->appends += n;
	if (s->cfg.flush_mode == KMQ_FLUSH_SYNC && !done) {
		ret = kmq_wait_flushed(s, s->wpos);
	} else if (s->cfg.flush_mode == KMQ_FLUSH_SYNC && s->flushed < s->wpos) {
		w = calloc(1, sizeof(*w));
		if (!w) {
			/* Stored, but nobody to tell when it is durable. */
			ret = kmq_wait_flushed(s, s->wpos);
		} else {
			w->end = s->wpos;
			w->deadline_ms = kmq_mono_ms() + s->cfg.flush_timeout_ms;
			w->done = done;
			w->arg = arg;
			*s->async_tail = w;
			s->async_tail = &w->next;
			pthread_cond_broadcast(&s->work_cv);
			ret = KMQ_APPEND_PENDING;
		}
	}
unlock:
	pthread_mutex_unlock(&s->lock);
	if (ret >= 0)
		for (i = 0; i < n; i++)
			kmq_msgid_encode(res[i].msg_id, &s->cfg.store_host,
					 res[i].phys_offset);
	if (p != stack)
		free(p);
	return ret;
}

int kmq_store_append_batch(struct kmq_store *s, const struct kmq_msg *msgs,
			   uint32_t n, struct kmq_append_result *res)
{
	return kmq_append(s, msgs, n, res, NULL, NULL);
}

int kmq_store_append_async(struct kmq_store *s, const struct kmq_msg *msgs,
			   uint32_t n, struct kmq_append_result *res,
			   kmq_append_done_fn done, void *arg)
{
	if (!done)
		return kmq_err(-EINVAL, "append_async: no completion function");
	return kmq_append(s, msgs, n, res, done, arg);
}

int kmq_store_append(struct kmq_store *s, const struct kmq_msg *msg,
		     struct kmq_append_result *res)
{
	return kmq_store_append_batch(s, msg, 1, res);
}
