// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_be_user.c - kmqd's userspace backend: the calls of
 * kmqd_backend.h straight onto the userspace store (daemon/store).
 */
#include "kmqd_backend.h"

static int be_open(const struct kmq_store_config *cfg, void **h)
{
	struct kmq_store *s;
	int ret = kmq_store_open(cfg, &s);

	if (!ret)
		*h = s;
	return ret;
}

static void be_close(void *h)
{
	kmq_store_close(h);
}

static int be_topic_create(void *h, const char *topic, uint32_t queues)
{
	return kmq_store_topic_create(h, topic, queues);
}

static int be_topic_delete(void *h, const char *topic)
{
	return kmq_store_topic_delete(h, topic);
}

static int be_topic_config(void *h, const struct kmq_topic_info *ti)
{
	return kmq_store_topic_config(h, ti);
}

static int be_topic_info(void *h, const char *topic,
			 struct kmq_topic_info *out)
{
	return kmq_store_topic_info(h, topic, out);
}

static int be_topic_list_info(void *h,
			      void (*fn)(void *arg,
					 const struct kmq_topic_info *ti),
			      void *arg)
{
	return kmq_store_topic_list_info(h, fn, arg);
}

static int be_append(void *h, const struct kmq_msg *msg,
		     struct kmq_append_result *res)
{
	return kmq_store_append(h, msg, res);
}

static int be_append_async(void *h, const struct kmq_msg *msgs, uint32_t n,
			   struct kmq_append_result *res,
			   kmq_append_done_fn done, void *arg)
{
	return kmq_store_append_async(h, msgs, n, res, done, arg);
}

static int be_read(void *h, const struct kmq_read_req *req,
		   struct kmq_range *ranges, uint32_t max_ranges,
		   struct kmq_read_result *res)
{
	return kmq_store_read(h, req, ranges, max_ranges, res);
}

static void be_release(void *h, struct kmq_range *ranges, uint32_t n)
{
	kmq_store_release(h, ranges, n);
}

static int be_queue_offsets(void *h, const char *topic, uint32_t queue_id,
			    uint64_t *min, uint64_t *max)
{
	return kmq_store_queue_offsets(h, topic, queue_id, min, max);
}

static int be_read_at(void *h, uint64_t phys, void *buf, uint32_t cap)
{
	return kmq_store_read_at(h, phys, buf, cap);
}

static int be_flush(void *h)
{
	return kmq_store_flush(h);
}

static void be_stats(void *h, struct kmq_store_stats *st)
{
	kmq_store_stats(h, st);
}

const struct kmqd_backend_ops kmqd_backend_user = {
	.name = "userspace",
	.open = be_open,
	.close = be_close,
	.topic_create = be_topic_create,
	.topic_delete = be_topic_delete,
	.topic_config = be_topic_config,
	.topic_info = be_topic_info,
	.topic_list_info = be_topic_list_info,
	.append = be_append,
	.append_async = be_append_async,
	.read = be_read,
	.release = be_release,
	.queue_offsets = be_queue_offsets,
	.read_at = be_read_at,
	.flush = be_flush,
	.stats = be_stats,
	.errmsg = kmq_store_errmsg,
};
