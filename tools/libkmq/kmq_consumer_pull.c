// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_consumer_pull.c - the pull consumer: the caller lists a topic's
 * queues, pulls each from the offsets it chooses (long polling when it
 * asks to block; synchronously, or with as many pulls in flight as it
 * likes, completed through a callback), and reads and commits the
 * group's offsets itself. The
 * client still heartbeats the group (CONSUME_ACTIVELY) with the topics
 * used, so the brokers know it.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"

#define KMQC_PULL_MAX_MSGS	1024

struct kmq_pull_consumer {
	struct kmq_pull_consumer_config cfg;
	char *group;
	struct kmq_client *client;
	pthread_mutex_t lock;
	struct kmqc_sub *subs;		/* topics used, "*" */
	unsigned int nsubs;
};

struct kmqc_pull_result {
	struct kmq_pull_result pub;
	struct kmqc_pulled pr;
	const struct kmq_message_ext **pubs;
};

void kmq_pull_consumer_config_init(struct kmq_pull_consumer_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	kmq_client_config_init(&cfg->client);
}

static int kmqc_pullc_hb(void *owner, json_t *consumers, json_t *producers)
{
	struct kmq_pull_consumer *c = owner;
	json_t *cd, *subs;
	unsigned int i;

	cd = json_pack("{s:s, s:s, s:s, s:s, s:[], s:b}",
		       "groupName", c->group,
		       "consumeType", "CONSUME_ACTIVELY",
		       "messageModel", "CLUSTERING",
		       "consumeFromWhere", "CONSUME_FROM_LAST_OFFSET",
		       "subscriptionDataSet", "unitMode", 0);
	if (!cd)
		return -ENOMEM;
	subs = json_object_get(cd, "subscriptionDataSet");
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nsubs; i++)
		json_array_append_new(subs, kmqc_sub_json(&c->subs[i]));
	pthread_mutex_unlock(&c->lock);
	return json_array_append_new(consumers, cd) ? -ENOMEM : 0;
}

/* Remember @topic for the heartbeat; a new one is announced at once. */
static void kmqc_pullc_use(struct kmq_pull_consumer *c, const char *topic)
{
	struct kmqc_sub *v;
	unsigned int i;
	bool added = false;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nsubs; i++)
		if (!strcmp(c->subs[i].topic, topic))
			break;
	if (i == c->nsubs) {
		v = realloc(c->subs, (c->nsubs + 1) * sizeof(*v));
		if (v) {
			c->subs = v;
			if (!kmqc_sub_init(&c->subs[c->nsubs], topic, "*")) {
				c->nsubs++;
				added = true;
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (added)
		kmqc_heartbeat_soon(c->client);
}

static void kmqc_pullc_mem_free(struct kmq_pull_consumer *c)
{
	unsigned int i;

	for (i = 0; i < c->nsubs; i++)
		kmqc_sub_free(&c->subs[i]);
	free(c->subs);
	pthread_mutex_destroy(&c->lock);
	free(c->group);
	free(c);
}

int kmq_pull_consumer_new(const struct kmq_pull_consumer_config *cfg,
			  struct kmq_pull_consumer **out)
{
	struct kmqc_owner own = { .hb_build = kmqc_pullc_hb };
	struct kmq_pull_consumer *c;
	int ret;

	if (!cfg || !out)
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	if (!kmqc_name_ok(cfg->group, KMQ_NAME_MAX))
		return kmqc_fail(-EINVAL, "group: 1..%d printable bytes",
				 KMQ_NAME_MAX);
	c = calloc(1, sizeof(*c));
	if (!c)
		return kmqc_fail(-ENOMEM, "new pull consumer");
	pthread_mutex_init(&c->lock, NULL);
	c->cfg = *cfg;
	c->group = strdup(cfg->group);
	if (!c->group) {
		kmqc_pullc_mem_free(c);
		return kmqc_fail(-ENOMEM, "new pull consumer");
	}
	c->cfg.group = c->group;
	own.owner = c;
	ret = kmqc_client_new(&cfg->client, &own, &c->client);
	if (ret) {
		kmqc_pullc_mem_free(c);
		return ret;
	}
	c->cfg.client = c->client->cfg;
	kmqc_client_start_timers(c->client);
	*out = c;
	return 0;
}

void kmq_pull_consumer_free(struct kmq_pull_consumer *c)
{
	if (!c)
		return;
	kmqc_wq_stop(&c->client->svc, false);
	kmqc_unregister(c->client, NULL, c->group);
	kmq_client_free(c->client);
	kmqc_pullc_mem_free(c);
}

struct kmq_client *kmq_pull_consumer_client(struct kmq_pull_consumer *c)
{
	return c ? c->client : NULL;
}

int kmq_pull_consumer_queues(struct kmq_pull_consumer *c, const char *topic,
			     struct kmq_mq **mqs)
{
	struct kmqc_route *r;
	struct kmq_mq *v;
	int ret;

	if (!c || !mqs || !kmqc_name_ok(topic, KMQ_TOPIC_MAX))
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	/* Fresh; if the name servers fail, what the cache knows. */
	kmqc_route_update(c->client, topic);
	ret = kmqc_route_get(c->client, topic, &r);
	if (ret)
		return ret;
	v = calloc(r->nr + 1, sizeof(*v));
	if (!v) {
		kmqc_route_put(r);
		return kmqc_fail(-ENOMEM, "queues of %s", topic);
	}
	memcpy(v, r->rmqs, r->nr * sizeof(*v));
	ret = r->nr;
	kmqc_route_put(r);
	kmqc_pullc_use(c, topic);
	*mqs = v;
	return ret;
}

/* The address of @mq's broker, fetching the topic's route if needed. */
static int kmqc_pullc_addr(struct kmq_pull_consumer *c,
			   const struct kmq_mq *mq, char *addr, size_t len)
{
	struct kmqc_route *r;

	if (!mq || !kmqc_name_ok(mq->topic, KMQ_TOPIC_MAX) ||
	    !kmqc_name_ok(mq->broker_name, KMQ_NAME_MAX) || mq->queue_id < 0)
		return kmqc_fail(-EINVAL, "not a queue");
	if (!kmqc_broker_addr(c->client, mq->broker_name, addr, len))
		return 0;
	if (kmqc_route_get(c->client, mq->topic, &r) == 0)
		kmqc_route_put(r);
	return kmqc_broker_addr(c->client, mq->broker_name, addr, len);
}

void kmq_pull_result_free(struct kmq_pull_result *res)
{
	struct kmqc_pull_result *r = (struct kmqc_pull_result *)res;

	if (!res)
		return;
	kmqc_pulled_free(&r->pr);
	free(r->pubs);
	free(r);
}

/*
 * Check a pull's arguments, and build its request in @req: @a and @sub
 * (kmqc_sub_free() once done) are what it points at.
 */
static int kmqc_pullc_prepare(struct kmq_pull_consumer *c,
			      const struct kmq_mq *mq, const char *expr,
			      int64_t offset, unsigned int max_msgs,
			      unsigned int block_ms, char *addr,
			      struct kmqc_sub *sub, struct kmqc_pull_args *a,
			      struct kmqc_req *req)
{
	int ret;

	if (!c || offset < 0 || !max_msgs || max_msgs > KMQC_PULL_MAX_MSGS)
		return kmqc_fail(-EINVAL, "pull: bad arguments");
	ret = kmqc_pullc_addr(c, mq, addr, KMQ_ADDR_MAX + 1);
	if (ret)
		return ret;
	ret = kmqc_sub_init(sub, mq->topic, expr);
	if (ret)
		return ret;
	kmqc_pullc_use(c, mq->topic);
	memset(a, 0, sizeof(*a));
	a->group = c->group;
	a->mq = mq;
	a->offset = offset;
	a->max_msgs = max_msgs;
	a->sys_flag = KMQC_PULL_SUBSCRIPTION |
		      (block_ms ? KMQC_PULL_SUSPEND : 0);
	a->commit_offset = -1;
	a->suspend_ms = block_ms;
	a->sub = sub;
	kmqc_pull_req(c->client, req, a);
	return 0;
}

/* The result of a pull of @mq answered with @f (freed here). */
static int kmqc_pullc_result(struct kmqc_frame *f, const struct kmq_mq *mq,
			     const struct kmqc_sub *sub,
			     struct kmq_pull_result **res)
{
	struct kmqc_pull_result *r;
	unsigned int i;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r) {
		kmqc_frame_free(f);
		return kmqc_fail(-ENOMEM, "pull");
	}
	ret = kmqc_pull_parse(f, mq, sub, &r->pr);
	kmqc_frame_free(f);
	if (!ret && r->pr.n) {
		r->pubs = calloc(r->pr.n, sizeof(*r->pubs));
		if (!r->pubs)
			ret = kmqc_fail(-ENOMEM, "pull");
	}
	if (ret) {
		kmq_pull_result_free(&r->pub);
		return ret;
	}
	for (i = 0; i < r->pr.n; i++)
		r->pubs[i] = &r->pr.msgs[i]->pub;
	r->pub.status = r->pr.status;
	r->pub.next_begin_offset = r->pr.next;
	r->pub.min_offset = r->pr.min;
	r->pub.max_offset = r->pr.max;
	r->pub.nmsgs = r->pr.n;
	r->pub.msgs = r->pubs;
	*res = &r->pub;
	return 0;
}

int kmq_pull_consumer_pull(struct kmq_pull_consumer *c,
			   const struct kmq_mq *mq, const char *expr,
			   int64_t offset, unsigned int max_msgs,
			   unsigned int block_ms, struct kmq_pull_result **res)
{
	char addr[KMQ_ADDR_MAX + 1];
	struct kmqc_pull_args a;
	struct kmqc_frame *f;
	struct kmqc_sub sub;
	struct kmqc_req req;
	int ret;

	if (!res)
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	ret = kmqc_pullc_prepare(c, mq, expr, offset, max_msgs, block_ms, addr,
				 &sub, &a, &req);
	if (ret)
		return ret;
	ret = kmqc_call(c->client, addr, &req.cmd, NULL, 0,
			block_ms + c->cfg.client.request_timeout_ms, &f);
	if (!ret)
		ret = kmqc_pullc_result(f, mq, &sub, res);
	kmqc_sub_free(&sub);
	return ret;
}

/**
 * struct kmqc_pull_call - an async pull in flight.
 * @mq, @sub: what its response is read against
 * @pend: its request (no allocation apart)
 */
struct kmqc_pull_call {
	struct kmq_mq mq;
	struct kmqc_sub sub;
	kmq_pull_cb cb;
	void *arg;
	struct kmqc_pending pend;
};

static void kmqc_pullc_done(void *arg, int err, struct kmqc_frame *f)
{
	struct kmqc_pull_call *pc = arg;
	struct kmq_pull_result *res = NULL;
	kmq_pull_cb cb = pc->cb;
	void *cb_arg = pc->arg;

	if (!err)
		err = kmqc_pullc_result(f, &pc->mq, &pc->sub, &res);
	kmqc_sub_free(&pc->sub);
	free(pc);
	cb(cb_arg, err, res);
}

int kmq_pull_consumer_pull_async(struct kmq_pull_consumer *c,
				 const struct kmq_mq *mq, const char *expr,
				 int64_t offset, unsigned int max_msgs,
				 unsigned int block_ms, kmq_pull_cb cb,
				 void *arg)
{
	char addr[KMQ_ADDR_MAX + 1];
	struct kmqc_pull_call *pc;
	struct kmqc_pull_args a;
	struct kmqc_req req;
	int ret;

	if (!cb || !mq)
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	pc = malloc(sizeof(*pc));
	if (!pc)
		return kmqc_fail(-ENOMEM, "pull");
	pc->mq = *mq;
	pc->cb = cb;
	pc->arg = arg;
	ret = kmqc_pullc_prepare(c, &pc->mq, expr, offset, max_msgs, block_ms,
				 addr, &pc->sub, &a, &req);
	if (ret) {
		free(pc);
		return ret;
	}
	ret = kmqc_call_async_p(c->client, addr, &req.cmd, NULL, 0,
				kmqc_mono_ms() + block_ms +
				c->cfg.client.request_timeout_ms,
				&pc->pend, kmqc_pullc_done, pc);
	if (ret) {
		kmqc_sub_free(&pc->sub);
		free(pc);
	}
	return ret;
}

int kmq_pull_consumer_fetch_offset(struct kmq_pull_consumer *c,
				   const struct kmq_mq *mq, int64_t *offset)
{
	char addr[KMQ_ADDR_MAX + 1];
	int ret;

	if (!c || !offset)
		return kmqc_fail(-EINVAL, "fetch offset arguments");
	ret = kmqc_pullc_addr(c, mq, addr, sizeof(addr));
	if (ret)
		return ret;
	ret = kmqc_offset_query(c->client, c->group, mq, offset);
	if (ret == -ENOENT)
		kmqc_fail(ret, "group %s has no offset for %s/%d", c->group,
			  mq->topic, mq->queue_id);
	return ret;
}

int kmq_pull_consumer_commit_offset(struct kmq_pull_consumer *c,
				    const struct kmq_mq *mq, int64_t offset)
{
	char addr[KMQ_ADDR_MAX + 1];
	int ret;

	if (!c || offset < 0)
		return kmqc_fail(-EINVAL, "commit offset arguments");
	ret = kmqc_pullc_addr(c, mq, addr, sizeof(addr));
	if (ret)
		return ret;
	return kmqc_offset_commit(c->client, c->group, mq, offset, true);
}

static int kmqc_pullc_queue_offset(struct kmq_pull_consumer *c,
				   const struct kmq_mq *mq, int code,
				   int64_t ts, int64_t *offset)
{
	char addr[KMQ_ADDR_MAX + 1];
	int ret;

	if (!c || !offset)
		return kmqc_fail(-EINVAL, "queue offset arguments");
	ret = kmqc_pullc_addr(c, mq, addr, sizeof(addr));
	if (ret)
		return ret;
	return kmqc_queue_offset(c->client, mq, code, ts, offset);
}

int kmq_pull_consumer_min_offset(struct kmq_pull_consumer *c,
				 const struct kmq_mq *mq, int64_t *offset)
{
	return kmqc_pullc_queue_offset(c, mq, KMQ_REQ_GET_MIN_OFFSET, 0,
				       offset);
}

int kmq_pull_consumer_max_offset(struct kmq_pull_consumer *c,
				 const struct kmq_mq *mq, int64_t *offset)
{
	return kmqc_pullc_queue_offset(c, mq, KMQ_REQ_GET_MAX_OFFSET, 0,
				       offset);
}

int kmq_pull_consumer_search_offset(struct kmq_pull_consumer *c,
				    const struct kmq_mq *mq,
				    int64_t timestamp_ms, int64_t *offset)
{
	return kmqc_pullc_queue_offset(c, mq,
				       KMQ_REQ_SEARCH_OFFSET_BY_TIMESTAMP,
				       timestamp_ms, offset);
}
