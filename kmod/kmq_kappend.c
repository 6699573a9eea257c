// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_kappend.c - KMQ_IOC_APPEND: one record or a batch.
 *
 * Under the store's append mutex, in two passes over the caller's
 * messages:
 *
 *  1. validate the whole batch - topic exists, queue id in range, body
 *     within max_message_size, properties well formed, the batch fits a
 *     segment - and assign queue offsets. Nothing is written: one bad
 *     message stores nothing.
 *  2. copy each message again (bodies go through a per-store staging
 *     buffer, never an allocation per message), check it did not change
 *     since pass 1, stamp the physical offset and STORETIMESTAMP, encode
 *     it with the shared encoder into the per-store write buffer, write
 *     its consume-queue entry and its result; the write buffer goes to
 *     the segment file whenever it fills.
 *
 * Only then are the new write position and queue max offsets published,
 * so readers never see part of a batch. A failure in pass 2 unpublishes
 * nothing: the batch's consume-queue entries are cleared and its first
 * record's TOTALSIZE zeroed, so recovery cannot take the bytes for
 * records either. When the batch does not fit what is left of the
 * segment, a BLANK filler closes it and the batch starts the next one.
 *
 * Under SYNC_FLUSH the call then waits for a group commit to cover the
 * batch (kmq_kflush.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kmq.h"
#include "kmq_msgid.h"
#include "kmq_props.h"

/* A user kmq_uhost as the format code's kmq_host; -EINVAL if bad. */
static int kmq_host_from_user(const struct kmq_uhost *u, struct kmq_host *h)
{
	if (u->__rsvd[0] || u->__rsvd[1] || u->__rsvd[2])
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	if (u->family == 6) {
		memcpy(h->addr, u->addr, 16);
		h->v6 = true;
	} else if (u->family == 4) {
		memcpy(h->addr, u->addr, 4);
	} else {
		return -EINVAL;
	}
	h->port = u->port;
	return 0;
}

static int kmq_msg_copy(const struct kmq_append *a, u32 i,
			struct kmq_append_msg *m)
{
	const u8 __user *src = u64_to_user_ptr(a->msgs);

	return copy_struct_from_user(m, sizeof(*m),
				     src + (size_t)i * a->msg_size,
				     a->msg_size);
}

/* SYSFLAG as stored: the host bits follow the hosts. */
static u32 kmq_msg_sysflag(struct kmq_kstore *s, const struct kmq_append_msg *m)
{
	u32 sys = m->sys_flag & ~(KMQ_SYSFLAG_BORNHOST_V6 |
				  KMQ_SYSFLAG_STOREHOST_V6);

	if (m->born_host.family == 6)
		sys |= KMQ_SYSFLAG_BORNHOST_V6;
	if (s->g.store_host.v6)
		sys |= KMQ_SYSFLAG_STOREHOST_V6;
	return sys;
}

/* Pass 1 for message @i: check it and assign its queue offset. */
static int kmq_prep_msg(struct kmq_kstore *s, const struct kmq_append *a,
			u32 i, u64 batch, struct kmq_prep *p)
{
	struct kmq_append_msg m;
	struct kmq_host host;
	struct kmq_ktopic *t;
	struct kmq_kqueue *q;
	int len, ret = 0;

	ret = kmq_msg_copy(a, i, &m);
	if (ret)
		return ret;
	len = kmq_topic_name_len(m.topic, sizeof(m.topic));
	if (len < 0)
		return len;
	ret = kmq_host_from_user(&m.born_host, &host);
	if (ret)
		return ret;
	if (m.body_len > s->g.max_message_size ||
	    m.props_len > KMQ_PROPS_MAX)
		return -EMSGSIZE;
	if (m.props_len) {
		if (copy_from_user(s->stage, u64_to_user_ptr(m.props),
				   m.props_len))
			return -EFAULT;
		if (kmq_props_validate(s->stage, m.props_len))
			return -EINVAL;
	}
	p->sys_flag = kmq_msg_sysflag(s, &m);
	p->size = kmq_record_size(KMQ_MAGIC_V1, p->sys_flag, m.body_len, len,
				  m.props_len);
	if (!p->size || p->size > s->wbuf_cap ||
	    !kmq_ring_fits(0, s->g.segment_size, p->size))
		return -EMSGSIZE;

	mutex_lock(&s->lock);
	t = kmq_topic_find(s, m.topic);
	if (!t)
		ret = -ENOENT;
	else if (m.queue_id >= t->nqueues)
		ret = -ERANGE;
	q = ret ? NULL : kmq_queue_get(t, m.queue_id, &ret);
	mutex_unlock(&s->lock);
	if (!q)
		return ret;

	p->topic = t;
	p->q = q;
	p->body_len = m.body_len;
	p->props_len = m.props_len;
	p->queue_id = m.queue_id;
	p->cq = kmq_cq_wants_entry(m.sys_flag);
	p->queue_offset = 0;
	if (p->cq) {
		if (q->batch != batch) {
			q->batch = batch;
			q->next = q->max;
		}
		p->queue_offset = q->next++;
	}
	return 0;
}

/* Where the batch goes: the write segment, rolled if it has no room. */
static int kmq_reserve(struct kmq_kstore *s, u64 total, struct kmq_kseg **wseg,
		       u64 *pos)
{
	struct kmq_kseg *cur, *next;
	u8 blank[KMQ_BLANK_SIZE];
	u64 off;
	int ret;

	mutex_lock(&s->lock);
	cur = kmq_ring_writing(s);
	*pos = s->wpos;
	mutex_unlock(&s->lock);
	off = *pos - cur->start;
	if (kmq_ring_fits(off, s->g.segment_size, total)) {
		*wseg = cur;
		return 0;
	}
	ret = kmq_ring_next(s, &next);
	if (ret)
		return ret;
	kmq_blank_encode(blank, s->g.segment_size - off);
	/* Sealing writes its mtime too, which retention reads back. */
	ret = kmq_vfs_write(cur->file, blank, sizeof(blank), off);
	mutex_lock(&s->lock);
	s->ntaken--;
	if (ret) {
		memmove(s->spares + 1, s->spares,
			s->nspares * sizeof(*s->spares));
		s->spares[0] = next;
		s->nspares++;
	} else {
		s->segs[s->nsegs++] = next;
		s->wpos = next->start;
	}
	mutex_unlock(&s->lock);
	if (ret)
		return ret;
	/* Prepare the one after, ahead of the writer again. */
	queue_work(kmq_wq, &s->alloc_work);
	kmq_evt_rolled(s, next->start);
	*wseg = next;
	*pos = next->start;
	return 0;
}

struct kmq_wstate {
	struct kmq_kseg *seg;
	u64 first;		/* first record of the batch */
	u64 pos;		/* next record */
	u64 wbuf_pos;		/* commitlog offset of wbuf[0] */
	u32 used;		/* bytes in wbuf */
	bool written;		/* some of the batch reached the file */
	u64 now;
};

static int kmq_wbuf_flush(struct kmq_kstore *s, struct kmq_wstate *w)
{
	int ret;

	if (!w->used)
		return 0;
	w->written = true;
	ret = kmq_vfs_write(w->seg->file, s->wbuf, w->used,
			    w->wbuf_pos - w->seg->start);
	w->wbuf_pos += w->used;
	w->used = 0;
	return ret;
}

/* Pass 2 for message @i: encode, index, report. */
static int kmq_write_msg(struct kmq_kstore *s, const struct kmq_append *a,
			 u32 i, struct kmq_prep *p, struct kmq_wstate *w)
{
	u8 __user *res_dst = u64_to_user_ptr(a->results);
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_record r = {};
	int ret;

	ret = kmq_msg_copy(a, i, &m);
	if (ret)
		return ret;
	/* The caller may have changed its messages since pass 1. */
	if (m.body_len != p->body_len || m.props_len != p->props_len ||
	    m.queue_id != p->queue_id || kmq_msg_sysflag(s, &m) != p->sys_flag ||
	    strncmp(m.topic, p->topic->name, sizeof(m.topic)))
		return -EINVAL;
	if (m.body_len && copy_from_user(s->stage, u64_to_user_ptr(m.body),
					 m.body_len))
		return -EFAULT;
	if (m.props_len) {
		if (copy_from_user(s->stage + m.body_len,
				   u64_to_user_ptr(m.props), m.props_len))
			return -EFAULT;
		if (kmq_props_validate(s->stage + m.body_len, m.props_len))
			return -EINVAL;
	}
	ret = kmq_host_from_user(&m.born_host, &r.born_host);
	if (ret)
		return ret;

	if (w->used + p->size > s->wbuf_cap) {
		ret = kmq_wbuf_flush(s, w);
		if (ret)
			return ret;
	}
	r.magic = KMQ_MAGIC_V1;
	r.body_crc = kmq_body_crc(s->stage, m.body_len);
	r.queue_id = m.queue_id;
	r.flag = m.flag;
	r.queue_offset = p->queue_offset;
	r.phys_offset = w->pos;
	r.sys_flag = p->sys_flag;
	r.born_ts = m.born_ts;
	r.store_ts = w->now;
	r.store_host = s->g.store_host;
	r.reconsume_times = m.reconsume_times;
	r.prepared_tx_offset = m.prepared_tx_offset;
	r.body_len = m.body_len;
	r.body = s->stage;
	r.topic_len = p->topic->name_len;
	r.topic = p->topic->name;
	r.props_len = m.props_len;
	r.props = s->stage + m.body_len;
	ret = kmq_record_encode(s->wbuf + w->used, p->size, &r);
	if (ret != p->size)
		return -EINVAL;
	w->used += p->size;

	if (p->cq) {
		struct kmq_cq_entry e = {
			.phys_offset = w->pos,
			.size = p->size,
			.tags_code = m.props_len ?
				kmq_props_tags_code(r.props, m.props_len) : 0,
		};

		ret = kmq_cq_put(s, p->q, p->topic, p->queue_offset, &e);
		if (ret)
			return ret;
	}

	memset(&res, 0, sizeof(res));
	res.queue_offset = p->queue_offset;
	res.phys_offset = w->pos;
	res.store_ts = w->now;
	res.size = p->size;
	kmq_msgid_encode(res.msg_id, &s->g.store_host, w->pos);
	ret = kmq_put_entry(res_dst + (size_t)i * a->res_size, a->res_size,
			    &res, sizeof(res));
	if (ret)
		return ret;
	w->pos += p->size;
	return 0;
}

/*
 * Undo an unpublished batch: the CQ entries of its first @written
 * messages (at offsets past every queue's max) and its first record.
 */
static void kmq_abort_batch(struct kmq_kstore *s, u32 written,
			    struct kmq_wstate *w)
{
	static const struct kmq_cq_entry none;
	static const u8 zero[4];
	u32 i;

	for (i = 0; i < written; i++)
		if (s->prep[i].cq)
			kmq_cq_put(s, s->prep[i].q, s->prep[i].topic,
				   s->prep[i].queue_offset, &none);
	if (w->written)
		kmq_vfs_write(w->seg->file, zero, sizeof(zero),
			      w->first - w->seg->start);
}

static void kmq_publish(struct kmq_kstore *s, u32 count, struct kmq_wstate *w)
{
	u32 i;

	bool events = kmq_genl_listening();

	mutex_lock(&s->lock);
	for (i = 0; i < count; i++) {
		struct kmq_prep *p = &s->prep[i];

		if (p->cq && p->queue_offset >= p->q->max)
			p->q->max = p->queue_offset + 1;
		if (p->cq && events)
			kmq_evt_arrived(s, p->q);
	}
	s->wpos = w->pos;
	s->last_ts = w->now;
	w->seg->last_ts = w->now;
	mutex_unlock(&s->lock);
	if (events)
		kmq_evt_kick(s);
}

/* Both passes, under the append mutex. Return: 0 or -errno. */
static int kmq_append_locked(struct kmq_kstore *s, struct kmq_append *a)
{
	struct kmq_wstate w = {};
	u64 batch, total = 0;
	u32 i;
	int ret;

	if (READ_ONCE(s->detaching))
		return -ENXIO;
	batch = ++s->batch_seq;
	for (i = 0; i < a->count; i++) {
		ret = kmq_prep_msg(s, a, i, batch, &s->prep[i]);
		if (ret)
			return ret;
		total += s->prep[i].size;
	}
	if (!kmq_ring_fits(0, s->g.segment_size, total))
		return -EMSGSIZE;

	ret = kmq_reserve(s, total, &w.seg, &w.pos);
	if (ret)
		return ret;
	w.first = w.pos;
	w.wbuf_pos = w.pos;
	w.now = kmq_now_ms();
	for (i = 0; i < a->count; i++) {
		ret = kmq_write_msg(s, a, i, &s->prep[i], &w);
		if (ret)
			break;
	}
	if (!ret)
		ret = kmq_wbuf_flush(s, &w);
	if (ret) {
		kmq_abort_batch(s, min(i + 1, a->count), &w);
		return ret;
	}
	kmq_publish(s, a->count, &w);
	atomic64_add(a->count, &s->appends);
	atomic64_add(total, &s->append_bytes);
	a->end_offset = w.pos;
	return 0;
}

/**
 * kmq_append() - KMQ_IOC_APPEND on a store.
 * @s: the fd's store (kmq_store_enter() done)
 * @a: the request; status and end_offset are filled
 *
 * Return: 0 (see @a->status) or -errno, in which case nothing was
 * stored.
 */
int kmq_append(struct kmq_kstore *s, struct kmq_append *a)
{
	int ret;

	if (a->flags & ~KMQ_APPEND_FLAGS || !a->count ||
	    a->count > KMQ_BATCH_MAX ||
	    a->msg_size < KMQ_APPEND_MSG_SIZE_VER0 ||
	    a->res_size < KMQ_APPEND_RES_SIZE_VER0 ||
	    a->msg_size > PAGE_SIZE || a->res_size > PAGE_SIZE)
		return -EINVAL;

	mutex_lock(&s->append_mutex);
	ret = kmq_append_locked(s, a);
	mutex_unlock(&s->append_mutex);
	if (ret)
		return ret;
	wake_up_interruptible_poll(&s->poll_wq, EPOLLIN | EPOLLRDNORM);

	a->status = KMQ_APPEND_OK;
	if (s->g.flush_mode != KMQ_FLUSH_MODE_SYNC ||
	    READ_ONCE(s->flushed) >= a->end_offset)
		return 0;
	if (a->flags & KMQ_APPEND_NOWAIT)
		a->status = KMQ_APPEND_NOT_FLUSHED;
	else if (kmq_flush_wait(s, a->end_offset, s->g.flush_timeout_ms))
		a->status = KMQ_APPEND_FLUSH_TIMEOUT_ST;
	return 0;
}
