// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_poll.c - subscriptions of an fd and poll(): KMQ_IOC_SUBSCRIBE
 * records (topic, queue, offset) pairs; poll() is EPOLLIN while one of
 * them has records at or past its offset, EPOLLERR once the store is
 * detached; KMQ_IOC_READY says which. Appends wake the store's poll
 * waitqueue; each waiter re-checks its own subscriptions.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kmq.h"

static void kmq_sub_drop(struct kmq_fctx *fc, u32 i)
{
	kmq_topic_put(fc->subs[i].topic);
	fc->subs[i] = fc->subs[--fc->nsubs];
}

/**
 * kmq_subs_clear() - drop every subscription of @fc.
 * @fc: the fd's context
 */
void kmq_subs_clear(struct kmq_fctx *fc)
{
	mutex_lock(&fc->lock);
	while (fc->nsubs)
		kmq_sub_drop(fc, fc->nsubs - 1);
	mutex_unlock(&fc->lock);
}

static struct kmq_sub *kmq_sub_find(struct kmq_fctx *fc, const char *topic,
				    u32 qid)
{
	u32 i;

	for (i = 0; i < fc->nsubs; i++)
		if (fc->subs[i].queue_id == qid &&
		    !strcmp(fc->subs[i].topic->name, topic))
			return &fc->subs[i];
	return NULL;
}

static int kmq_sub_add(struct kmq_fctx *fc, struct kmq_kstore *s,
		       const struct kmq_subscribe *sb)
{
	struct kmq_kqueue *q = NULL;
	struct kmq_ktopic *t;
	struct kmq_sub *sub;
	int ret = 0;

	sub = kmq_sub_find(fc, sb->topic, sb->queue_id);
	if (sub) {
		sub->offset = sb->offset;
		return 0;
	}
	if (fc->nsubs >= KMQ_SUBS_MAX)
		return -ENOSPC;
	t = kmq_topic_get(s, sb->topic);
	if (!t)
		return -ENOENT;
	mutex_lock(&s->lock);
	if (sb->queue_id >= t->nqueues &&
	    (sb->queue_id >= t->nallocated || !t->queues[sb->queue_id]))
		ret = -ERANGE;
	else
		q = kmq_queue_get(t, sb->queue_id, &ret);
	mutex_unlock(&s->lock);
	if (!q)
		goto fail;
	if (fc->nsubs == fc->cap) {
		u32 cap = fc->cap ? min(fc->cap * 2, KMQ_SUBS_MAX) : 8;
		struct kmq_sub *n = krealloc_array(fc->subs, cap, sizeof(*n),
						   GFP_KERNEL);

		if (!n) {
			ret = -ENOMEM;
			goto fail;
		}
		fc->subs = n;
		fc->cap = cap;
	}
	fc->subs[fc->nsubs++] = (struct kmq_sub) {
		.topic = t,
		.q = q,
		.queue_id = sb->queue_id,
		.offset = sb->offset,
	};
	return 0;
fail:
	kmq_topic_put(t);
	return ret;
}

/**
 * kmq_subscribe() - KMQ_IOC_SUBSCRIBE.
 * @fc: the fd's context
 * @sb: the request
 *
 * Return: 0, -EINVAL, -ENXIO (no store), -ENOENT (no such topic, or no
 * such subscription to remove), -ERANGE, -ENOSPC (KMQ_SUBS_MAX).
 */
int kmq_subscribe(struct kmq_fctx *fc, const struct kmq_subscribe *sb)
{
	struct kmq_kstore *s;
	struct kmq_sub *sub;
	int ret = 0;

	if (sb->flags & ~KMQ_SUB_FLAGS || sb->__rsvd)
		return -EINVAL;
	if (sb->flags & KMQ_SUB_CLEAR) {
		kmq_subs_clear(fc);
		return 0;
	}
	if (kmq_topic_name_len(sb->topic, sizeof(sb->topic)) < 0)
		return -EINVAL;
	s = kmq_fctx_store(fc);
	if (!s)
		return -ENXIO;
	ret = kmq_store_enter(s);
	if (ret)
		goto out;
	mutex_lock(&fc->lock);
	if (sb->flags & KMQ_SUB_REMOVE) {
		sub = kmq_sub_find(fc, sb->topic, sb->queue_id);
		if (sub)
			kmq_sub_drop(fc, sub - fc->subs);
		else
			ret = -ENOENT;
	} else {
		ret = kmq_sub_add(fc, s, sb);
	}
	mutex_unlock(&fc->lock);
	kmq_store_leave(s);
out:
	kmq_store_put(s);
	return ret;
}

static bool kmq_sub_ready(struct kmq_kstore *s, const struct kmq_sub *sub)
{
	bool ready;

	mutex_lock(&s->lock);
	ready = sub->q->max > sub->offset;
	mutex_unlock(&s->lock);
	return ready;
}

/**
 * kmq_poll() - poll of /dev/kmq.
 * @file: the fd
 * @pt: poll table
 *
 * Return: EPOLLIN | EPOLLRDNORM when a subscription is ready, EPOLLERR
 * when the fd has no store or its store is detached, else 0.
 */
__poll_t kmq_poll(struct file *file, struct poll_table_struct *pt)
{
	struct kmq_fctx *fc = file->private_data;
	struct kmq_kstore *s;
	__poll_t mask = 0;
	u32 i;

	mutex_lock(&fc->lock);
	s = fc->store;
	if (!s) {
		mutex_unlock(&fc->lock);
		return EPOLLERR;
	}
	poll_wait(file, &s->poll_wq, pt);
	if (READ_ONCE(s->detaching)) {
		mask = EPOLLERR;
	} else {
		mutex_lock(&s->lock);
		for (i = 0; i < fc->nsubs; i++) {
			if (fc->subs[i].q->max > fc->subs[i].offset) {
				mask = EPOLLIN | EPOLLRDNORM;
				break;
			}
		}
		mutex_unlock(&s->lock);
	}
	mutex_unlock(&fc->lock);
	return mask;
}

/**
 * kmq_ready() - KMQ_IOC_READY: the ready subscriptions, with their
 * subscribed offsets. They are collected under the fd's lock and copied
 * out after it: a fault on the user buffer may need mmap_lock, which
 * mmap() holds while it takes the fd's lock.
 * @fc: the fd's context
 * @rd: the request; count is filled
 *
 * Return: 0, -EINVAL, -ENXIO, -ENOMEM, -EFAULT.
 */
int kmq_ready(struct kmq_fctx *fc, struct kmq_ready *rd)
{
	u8 __user *dst = u64_to_user_ptr(rd->entries);
	struct kmq_subscribe *out = NULL;
	struct kmq_kstore *s;
	u32 i, cnt = 0, max;
	int ret = 0;

	if (rd->flags || rd->__rsvd || rd->entry_size < KMQ_SUBSCRIBE_SIZE_VER0 ||
	    rd->entry_size > PAGE_SIZE)
		return -EINVAL;
	s = kmq_fctx_store(fc);
	if (!s)
		return -ENXIO;
	ret = kmq_store_enter(s);
	if (ret)
		goto out;
	max = min_t(u32, rd->max_entries, KMQ_SUBS_MAX);
	if (max) {
		out = kvcalloc(max, sizeof(*out), GFP_KERNEL);
		if (!out) {
			ret = -ENOMEM;
			goto leave;
		}
	}
	mutex_lock(&fc->lock);
	for (i = 0; i < fc->nsubs && cnt < max; i++) {
		const struct kmq_sub *sub = &fc->subs[i];

		if (!kmq_sub_ready(s, sub))
			continue;
		out[cnt].size = rd->entry_size;
		out[cnt].offset = sub->offset;
		out[cnt].queue_id = sub->queue_id;
		memcpy(out[cnt].topic, sub->topic->name, sizeof(out->topic));
		cnt++;
	}
	mutex_unlock(&fc->lock);
	for (i = 0; i < cnt; i++) {
		ret = kmq_put_entry(dst, rd->entry_size, &out[i], sizeof(*out));
		if (ret)
			break;
		dst += rd->entry_size;
	}
	rd->count = i;
	kvfree(out);
leave:
	kmq_store_leave(s);
out:
	kmq_store_put(s);
	return ret;
}
