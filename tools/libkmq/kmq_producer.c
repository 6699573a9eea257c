// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_producer.c - the producer: sync, async and oneway sends of one
 * message (SEND_MESSAGE_V2, 310) or of a batch (SEND_BATCH_MESSAGE, 320).
 * A send is a job: the message turned into properties and a body (zlib
 * from compress_threshold bytes), then attempts, each on a queue chosen
 * round robin away from failed brokers (or by the caller's selector), until
 * one is stored, a failure is not worth retrying, retry_times retries are
 * spent or send_timeout_ms passed. Async jobs continue on the callback
 * thread; at most async_inflight_max are in flight.
 *
 * A job is one allocation with its properties and the copy of its body,
 * reused through a small cache of the producer; its pending request is
 * part of it, and its request header is built on the stack and encoded
 * straight into the connection's buffer: an async send of a message
 * allocates nothing once the cache is warm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_record.h"
#include "kmq_send_int.h"

struct kmq_producer {
	struct kmq_producer_config cfg;
	char *group;
	char *create_topic_key;
	struct kmq_client *client;
	struct kmqc_faults faults;
	uint32_t rr;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	unsigned int inflight;
	unsigned int low;
	unsigned int waiters;
	struct kmqc_job *cache;
	unsigned int ncached;
};

#define KMQC_JOB_CACHE		64		/* jobs kept for reuse */
#define KMQC_JOB_MIN		4096		/* bytes a job gets at least */
#define KMQC_JOB_CACHE_MAX	(64u << 10)	/* larger ones are freed */

/**
 * struct kmqc_job - one send (a message or a batch) and its attempts.
 * @body: what goes on the wire: the caller's (sync), in @data, or @heap
 * @heap: a compressed or batch body, allocated apart
 * @props: the properties string, in @data
 * @size: bytes allocated for the job and its @data
 * @fixed: the queue was chosen once by the caller's selector (@mq)
 * @cur: the queue of the attempt in flight (async)
 * @pend: the request of the async attempt in flight
 * @next: in the producer's cache
 */
struct kmqc_job {
	struct kmq_producer *p;
	char topic[KMQ_TOPIC_MAX + 1];
	bool batch;
	const void *body;
	void *heap;
	size_t blen;
	const char *props;
	size_t size;
	uint32_t sys_flag;
	int32_t flag;
	unsigned int count;
	char uniq[KMQC_UNIQ_LEN + 1];
	bool fixed;
	struct kmq_mq mq;
	struct kmq_mq cur;
	unsigned int attempt;
	unsigned int max_attempts;
	uint64_t deadline;
	uint64_t t0;
	char last_broker[KMQ_NAME_MAX + 1];
	kmq_send_cb cb;
	void *arg;
	struct kmqc_pending pend;
	struct kmqc_job *next;
	char data[];
};

void kmq_producer_config_init(struct kmq_producer_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	kmq_client_config_init(&cfg->client);
	cfg->send_timeout_ms = 3000;
	cfg->retry_times = 2;
	cfg->compress_threshold = 4096;
	cfg->compress_level = 5;
	cfg->max_message_size = 4u << 20;
	cfg->default_topic_queues = 4;
	cfg->create_topic_key = "TBW102";
	cfg->fault_avoidance = true;
	cfg->fault_isolation_ms = 30000;
	cfg->async_inflight_max = 10000;
	cfg->uniq_key = true;
}

static int kmqc_producer_hb(void *owner, json_t *consumers, json_t *producers)
{
	struct kmq_producer *p = owner;

	if (json_array_append_new(producers,
				  json_pack("{s:s}", "groupName", p->group)))
		return -ENOMEM;
	return 0;
}

struct kmq_client *kmq_producer_client(struct kmq_producer *p)
{
	return p ? p->client : NULL;
}

static void kmqc_producer_mem_free(struct kmq_producer *p)
{
	struct kmqc_job *job;

	while ((job = p->cache)) {
		p->cache = job->next;
		free(job);
	}
	kmqc_faults_free(&p->faults);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
	free(p->group);
	free(p->create_topic_key);
	free(p);
}

int kmq_producer_new(const struct kmq_producer_config *cfg,
		     struct kmq_producer **out)
{
	struct kmqc_owner own = { .hb_build = kmqc_producer_hb };
	struct kmq_producer *p;
	int ret;

	if (!cfg || !out)
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	if (!kmqc_name_ok(cfg->group, KMQ_NAME_MAX))
		return kmqc_fail(-EINVAL, "group: 1..%d printable bytes",
				 KMQ_NAME_MAX);
	if (cfg->create_topic_key &&
	    !kmqc_name_ok(cfg->create_topic_key, KMQ_TOPIC_MAX))
		return kmqc_fail(-EINVAL, "create_topic_key is not a topic");
	p = calloc(1, sizeof(*p));
	if (!p)
		return kmqc_fail(-ENOMEM, "new producer");
	p->cfg = *cfg;
	pthread_mutex_init(&p->lock, NULL);
	kmqc_faults_init(&p->faults, cfg->fault_isolation_ms);
	ret = kmqc_cond_init(&p->cv);
	if (ret) {
		pthread_cond_init(&p->cv, NULL);
		kmqc_producer_mem_free(p);
		return kmqc_fail(ret, "new producer");
	}
	if (!kmqc_strdup(&p->group, cfg->group) ||
	    !kmqc_strdup(&p->create_topic_key, cfg->create_topic_key)) {
		kmqc_producer_mem_free(p);
		return kmqc_fail(-ENOMEM, "new producer");
	}
	p->cfg.group = p->group;
	p->cfg.create_topic_key = p->create_topic_key;
	if (!p->cfg.send_timeout_ms)
		p->cfg.send_timeout_ms = 3000;
	if (!p->cfg.max_message_size)
		p->cfg.max_message_size = 4u << 20;
	if (!p->cfg.default_topic_queues)
		p->cfg.default_topic_queues = 4;
	if (!p->cfg.async_inflight_max)
		p->cfg.async_inflight_max = 10000;
	/* A caller blocked by a full window resumes at this many. */
	p->low = p->cfg.async_inflight_max - 1 -
		 p->cfg.async_inflight_max / 8;
	p->rr = (uint32_t)kmqc_mono_ms();
	own.owner = p;
	ret = kmqc_client_new(&cfg->client, &own, &p->client);
	if (ret) {
		kmqc_producer_mem_free(p);
		return ret;
	}
	kmqc_client_start_timers(p->client);
	*out = p;
	return 0;
}

void kmq_producer_free(struct kmq_producer *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->waiters++;
	while (p->inflight)
		pthread_cond_wait(&p->cv, &p->lock);
	p->waiters--;
	pthread_mutex_unlock(&p->lock);
	kmqc_unregister(p->client, p->group, NULL);
	kmq_client_free(p->client);
	kmqc_producer_mem_free(p);
}

int kmq_producer_flush(struct kmq_producer *p, unsigned int timeout_ms)
{
	uint64_t deadline = kmqc_mono_ms() + timeout_ms;
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	p->waiters++;
	while (p->inflight && !ret)
		if (kmqc_cond_wait_until(&p->cv, &p->lock, deadline) ==
		    ETIMEDOUT && p->inflight)
			ret = kmqc_fail(-ETIMEDOUT, "%u async sends in flight",
					p->inflight);
	p->waiters--;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* ---- jobs ----------------------------------------------------------- */

/* Give @job back: to the cache, or freed (p->lock held). */
static void kmqc_job_put_locked(struct kmq_producer *p, struct kmqc_job *job)
{
	if (job->size <= KMQC_JOB_CACHE_MAX && p->ncached < KMQC_JOB_CACHE) {
		job->next = p->cache;
		p->cache = job;
		p->ncached++;
	} else {
		free(job);
	}
}

static void kmqc_job_free(struct kmqc_job *job)
{
	struct kmq_producer *p;

	if (!job)
		return;
	p = job->p;
	free(job->heap);
	pthread_mutex_lock(&p->lock);
	kmqc_job_put_locked(p, job);
	pthread_mutex_unlock(&p->lock);
}

/* The queue chosen by the caller's selector, once for all attempts. */
static int kmqc_job_select(struct kmq_producer *p, struct kmqc_job *job,
			   const struct kmq_selector *sel,
			   const struct kmq_message *m)
{
	struct kmqc_route *r;
	int idx, ret;

	if (!sel->fn)
		return kmqc_fail(-EINVAL, "selector without a function");
	ret = kmqc_route_get_publish(p->client, job->topic,
				     p->create_topic_key,
				     p->cfg.default_topic_queues, &r);
	if (ret)
		return ret;
	idx = sel->fn(r->wmqs, r->nw, m, sel->arg) % (int)r->nw;
	if (idx < 0)
		idx += r->nw;
	job->mq = r->wmqs[idx];
	job->fixed = true;
	job->max_attempts = 1;
	kmqc_route_put(r);
	return 0;
}

/* A job with @extra bytes of @data, from the cache if one is big enough. */
static struct kmqc_job *kmqc_job_new(struct kmq_producer *p, const char *topic,
				     size_t extra)
{
	size_t size = sizeof(struct kmqc_job) + extra;
	struct kmqc_job *job = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->cache && p->cache->size >= size) {
		job = p->cache;
		p->cache = job->next;
		p->ncached--;
		size = job->size;
	}
	pthread_mutex_unlock(&p->lock);
	if (!job) {
		size = size < KMQC_JOB_MIN ? KMQC_JOB_MIN :
		       (size + 1023) & ~(size_t)1023;
		job = malloc(size);
		if (!job) {
			kmqc_fail(-ENOMEM, "send");
			return NULL;
		}
	}
	memset(job, 0, sizeof(*job));
	job->size = size;
	job->p = p;
	kmqc_strcpy(job->topic, topic, sizeof(job->topic));
	job->max_attempts = 1 + p->cfg.retry_times;
	return job;
}

/*
 * A job for one message; @copy: the body must outlive the call (it is
 * copied into the job's data, after the properties).
 */
static int kmqc_job_single(struct kmq_producer *p,
			   const struct kmq_message *m,
			   const struct kmq_selector *sel, bool copy,
			   struct kmqc_job **out)
{
	size_t clen = 0, psize;
	struct kmqc_job *job;
	void *cbody = NULL;
	char *data;
	int ret;

	ret = kmqc_msg_check(m, p->cfg.max_message_size);
	if (ret)
		return ret;
	if (kmqc_should_compress(m->body_len, p->cfg.compress_threshold) &&
	    kmqc_compress(m->body, m->body_len, p->cfg.compress_level,
			  &cbody, &clen))
		cbody = NULL;
	psize = kmqc_msg_props_size(m, p->cfg.uniq_key);
	job = kmqc_job_new(p, m->topic, psize + 1 +
			   (copy && !cbody ? m->body_len : 0));
	if (!job) {
		free(cbody);
		return -ENOMEM;
	}
	job->heap = cbody;
	data = job->data;
	if (p->cfg.uniq_key)
		kmqc_uniq_id(p->client->client_ip, job->uniq);
	ret = kmqc_msg_props_put(m, p->cfg.uniq_key ? job->uniq : NULL, data,
				 psize);
	if (ret < 0)
		goto fail;
	job->props = data;
	job->body = m->body;
	job->blen = m->body_len;
	if (cbody) {
		job->body = cbody;
		job->blen = clen;
		job->sys_flag |= KMQ_SYSFLAG_COMPRESSED;
	} else if (copy) {
		memcpy(data + psize + 1, m->body, m->body_len);
		job->body = data + psize + 1;
	}
	job->flag = m->flag;
	job->count = 1;
	if (sel) {
		ret = kmqc_job_select(p, job, sel, m);
		if (ret)
			goto fail;
	}
	*out = job;
	return 0;
fail:
	kmqc_job_free(job);
	return ret;
}

static int kmqc_job_batch(struct kmq_producer *p,
			  const struct kmq_message *msgs, unsigned int n,
			  const struct kmq_selector *sel, struct kmqc_job **out)
{
	struct kmqc_uniq *uniq = NULL;
	struct kmq_buf b = { 0 };
	struct kmqc_job *job;
	unsigned int i;
	int ret;

	if (!msgs || !n)
		return kmqc_fail(-EINVAL, "an empty batch");
	for (i = 0; i < n; i++) {
		ret = kmqc_msg_check(&msgs[i], p->cfg.max_message_size);
		if (ret)
			return ret;
		if (strcmp(msgs[i].topic, msgs[0].topic))
			return kmqc_fail(-EINVAL,
					 "a batch holds messages of one topic");
		if (msgs[i].delay_level)
			return kmqc_fail(-EINVAL,
					 "a batch cannot have delay levels");
	}
	job = kmqc_job_new(p, msgs[0].topic, 0);
	if (!job)
		return -ENOMEM;
	if (p->cfg.uniq_key) {
		uniq = calloc(n, sizeof(*uniq));
		if (!uniq) {
			ret = kmqc_fail(-ENOMEM, "batch");
			goto fail;
		}
		for (i = 0; i < n; i++)
			kmqc_uniq_id(p->client->client_ip, uniq[i].s);
		memcpy(job->uniq, uniq[0].s, sizeof(job->uniq));
	}
	ret = kmqc_batch_body(msgs, n, uniq, &b);
	free(uniq);
	if (ret)
		goto fail;
	if (b.len > p->cfg.max_message_size) {
		ret = kmqc_fail(-EMSGSIZE, "batch of %zu bytes, at most %zu",
				b.len, p->cfg.max_message_size);
		goto fail;
	}
	job->heap = b.data;
	job->body = b.data;
	b.data = NULL;
	job->blen = b.len;
	job->batch = true;
	job->count = n;
	if (sel) {
		ret = kmqc_job_select(p, job, sel, &msgs[0]);
		if (ret)
			goto fail;
	}
	*out = job;
	return 0;
fail:
	kmq_buf_free(&b);
	kmqc_job_free(job);
	return ret;
}

/* The queue and broker address of the next attempt, at @now. */
static int kmqc_job_pick(struct kmqc_job *job, char *addr, size_t alen,
			 uint64_t now)
{
	struct kmq_producer *p = job->p;
	struct kmqc_route *r;
	unsigned int idx;
	int ret;

	if (!job->fixed) {
		ret = kmqc_route_get_publish(p->client, job->topic,
					     p->create_topic_key,
					     p->cfg.default_topic_queues, &r);
		if (ret)
			return ret;
		idx = kmqc_select(r->wmqs, r->nw,
				  __atomic_fetch_add(&p->rr, 1,
						     __ATOMIC_RELAXED),
				  job->last_broker[0] ? job->last_broker : NULL,
				  p->cfg.fault_avoidance ? &p->faults : NULL,
				  now);
		job->cur = r->wmqs[idx];
		kmqc_route_put(r);
	} else {
		job->cur = job->mq;
	}
	return kmqc_broker_addr(p->client, job->cur.broker_name, addr, alen);
}

static void kmqc_job_req(struct kmqc_job *job, struct kmqc_req *req)
{
	struct kmq_producer *p = job->p;
	struct kmqc_send_hdr h = {
		.group = p->group,
		.topic = job->topic,
		.default_topic = p->create_topic_key,
		.default_queues = p->cfg.default_topic_queues,
		.queue_id = job->cur.queue_id,
		.sys_flag = job->sys_flag,
		.born_ts = kmqc_now_ms(),
		.flag = job->flag,
		.props = job->batch ? NULL : job->props,
		.batch = job->batch,
	};

	kmqc_send_req(p->client, req, &h);
}

/* The outcome of an answered attempt (@addr NULL: name the broker). */
static int kmqc_job_result(struct kmqc_job *job, const struct kmqc_frame *f,
			   const char *addr, struct kmq_send_result *res)
{
	const char *ids = kmq_rmt_ext(&f->cmd, "msgId");
	enum kmq_send_status st;
	char what[KMQ_NAME_MAX + 32];
	size_t n;
	int ret;

	ret = kmqc_send_status(f->cmd.code, &st);
	if (ret) {
		if (addr)
			snprintf(what, sizeof(what), "send to %s", addr);
		else
			snprintf(what, sizeof(what), "send to broker %s",
				 job->cur.broker_name);
		return kmqc_fail_resp(&f->cmd, what);
	}
	memset(res, 0, sizeof(*res));
	res->status = st;
	if (ids) {
		n = strcspn(ids, ",");
		if (n > KMQ_MSG_ID_MAX)
			n = KMQ_MSG_ID_MAX;
		memcpy(res->offset_msg_id, ids, n);
	}
	kmqc_strcpy(res->msg_id, job->uniq[0] ? job->uniq : res->offset_msg_id,
		    sizeof(res->msg_id));
	res->mq = job->cur;
	res->mq.queue_id = (int)kmqc_ext_i64(f, "queueId", job->cur.queue_id);
	res->queue_offset = kmqc_ext_i64(f, "queueOffset", -1);
	res->count = job->count;
	res->attempts = job->attempt;
	return 0;
}

/* After a failed attempt, at @now: is there another? */
static bool kmqc_job_again(struct kmqc_job *job, int err, uint64_t now)
{
	if (job->cur.broker_name[0])
		memcpy(job->last_broker, job->cur.broker_name,
		       sizeof(job->last_broker));
	return kmqc_send_retryable(err) && job->attempt < job->max_attempts &&
	       now < job->deadline;
}

/* The fault avoidance's record of the attempt that ended at @now. */
static void kmqc_job_fault(struct kmqc_job *job, int err, uint64_t now)
{
	if (job->p->cfg.fault_avoidance && job->cur.broker_name[0])
		kmqc_fault_update(&job->p->faults, job->cur.broker_name,
				  now - job->t0, err < 0,
				  now);
}

static int kmqc_job_run(struct kmqc_job *job, struct kmq_send_result *res)
{
	struct kmq_client *c = job->p->client;
	char addr[KMQ_ADDR_MAX + 1];
	struct kmqc_req req;
	struct kmqc_frame *f;
	uint64_t now;
	int ret;

	job->deadline = kmqc_mono_ms() + job->p->cfg.send_timeout_ms;
	for (;;) {
		job->attempt++;
		memset(&job->cur, 0, sizeof(job->cur));
		now = kmqc_mono_ms();
		ret = kmqc_job_pick(job, addr, sizeof(addr), now);
		if (!ret) {
			kmqc_job_req(job, &req);
			job->t0 = now;
			if (now >= job->deadline)
				ret = kmqc_fail(-ETIMEDOUT, "send to %s", addr);
			else
				ret = kmqc_call(c, addr, &req.cmd, job->body,
						job->blen, job->deadline - now,
						&f);
			now = kmqc_mono_ms();
			kmqc_job_fault(job, ret, now);
			if (!ret) {
				ret = kmqc_job_result(job, f, addr, res);
				kmqc_frame_free(f);
			}
		}
		if (!ret || !kmqc_job_again(job, ret, now))
			return ret;
	}
}

/* ---- async ---------------------------------------------------------- */

/*
 * A caller blocked by a full window waits until p->low are in flight, so
 * that it sends a few at a time instead of waking for every completion.
 */
static int kmqc_window_get(struct kmq_producer *p)
{
	uint64_t deadline;
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	/* A callback waiting for a slot would wait for itself. */
	if (p->inflight >= p->cfg.async_inflight_max &&
	    !kmqc_wq_in(&p->client->exec)) {
		deadline = kmqc_mono_ms() + p->cfg.send_timeout_ms;
		p->waiters++;
		while (p->inflight > p->low &&
		       kmqc_cond_wait_until(&p->cv, &p->lock, deadline) !=
		       ETIMEDOUT)
			;
		p->waiters--;
		if (p->inflight >= p->cfg.async_inflight_max)
			ret = kmqc_fail(-ETIMEDOUT,
					"%u async sends in flight (the window)",
					p->inflight);
	}
	if (!ret)
		p->inflight++;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* The end of an async job: its slot and its memory back. */
static void kmqc_job_finish(struct kmqc_job *job, int err,
			    const struct kmq_send_result *res)
{
	struct kmq_producer *p = job->p;

	job->cb(job->arg, err, err ? NULL : res);
	free(job->heap);
	pthread_mutex_lock(&p->lock);
	kmqc_job_put_locked(p, job);
	p->inflight--;
	if (p->waiters && p->inflight <= p->low)
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

static void kmqc_job_attempt(struct kmqc_job *job, uint64_t now);

static void kmqc_job_done(void *arg, int err, struct kmqc_frame *f)
{
	struct kmqc_job *job = arg;
	struct kmq_send_result res;
	uint64_t now = kmqc_mono_ms();

	kmqc_job_fault(job, err, now);
	if (!err) {
		err = kmqc_job_result(job, f, NULL, &res);
		kmqc_frame_free(f);
		if (!err) {
			kmqc_job_finish(job, 0, &res);
			return;
		}
	}
	if (kmqc_job_again(job, err, now))
		kmqc_job_attempt(job, now);
	else
		kmqc_job_finish(job, err, NULL);
}

/* Start the next attempt at @now; its outcome comes to kmqc_job_done(). */
static void kmqc_job_attempt(struct kmqc_job *job, uint64_t now)
{
	char addr[KMQ_ADDR_MAX + 1];
	struct kmqc_req req;
	int ret;

	for (;;) {
		job->attempt++;
		memset(&job->cur, 0, sizeof(job->cur));
		ret = kmqc_job_pick(job, addr, sizeof(addr), now);
		if (!ret) {
			kmqc_job_req(job, &req);
			job->t0 = now;
			if (now >= job->deadline)
				ret = kmqc_fail(-ETIMEDOUT, "send to %s", addr);
			else
				ret = kmqc_call_async_p(job->p->client, addr,
							&req.cmd, job->body,
							job->blen,
							job->deadline,
							&job->pend,
							kmqc_job_done, job);
			if (!ret)
				return;
			now = kmqc_mono_ms();
			kmqc_job_fault(job, ret, now);
		} else {
			now = kmqc_mono_ms();
		}
		if (!kmqc_job_again(job, ret, now)) {
			kmqc_job_finish(job, ret, NULL);
			return;
		}
	}
}

static int kmqc_job_start_async(struct kmq_producer *p, struct kmqc_job *job,
				kmq_send_cb cb, void *arg)
{
	uint64_t now;
	int ret;

	if (!cb) {
		kmqc_job_free(job);
		return kmqc_fail(-EINVAL, "async send without a callback");
	}
	ret = kmqc_window_get(p);
	if (ret) {
		kmqc_job_free(job);
		return ret;
	}
	job->cb = cb;
	job->arg = arg;
	now = kmqc_mono_ms();
	job->deadline = now + p->cfg.send_timeout_ms;
	kmqc_job_attempt(job, now);
	return 0;
}

/* ---- the API -------------------------------------------------------- */

int kmq_producer_send(struct kmq_producer *p, const struct kmq_message *m,
		      const struct kmq_selector *sel,
		      struct kmq_send_result *res)
{
	struct kmq_send_result tmp;
	struct kmqc_job *job;
	int ret;

	if (!p)
		return kmqc_fail(-EINVAL, "no producer");
	ret = kmqc_job_single(p, m, sel, false, &job);
	if (ret)
		return ret;
	ret = kmqc_job_run(job, res ? res : &tmp);
	kmqc_job_free(job);
	return ret;
}

int kmq_producer_send_async(struct kmq_producer *p,
			    const struct kmq_message *m,
			    const struct kmq_selector *sel, kmq_send_cb cb,
			    void *arg)
{
	struct kmqc_job *job;
	int ret;

	if (!p)
		return kmqc_fail(-EINVAL, "no producer");
	ret = kmqc_job_single(p, m, sel, true, &job);
	if (ret)
		return ret;
	return kmqc_job_start_async(p, job, cb, arg);
}

int kmq_producer_send_oneway(struct kmq_producer *p,
			     const struct kmq_message *m,
			     const struct kmq_selector *sel)
{
	char addr[KMQ_ADDR_MAX + 1];
	struct kmqc_req req;
	struct kmqc_job *job;
	int ret;

	if (!p)
		return kmqc_fail(-EINVAL, "no producer");
	ret = kmqc_job_single(p, m, sel, false, &job);
	if (ret)
		return ret;
	job->attempt = 1;
	ret = kmqc_job_pick(job, addr, sizeof(addr), kmqc_mono_ms());
	if (!ret) {
		kmqc_job_req(job, &req);
		ret = kmqc_call_oneway(p->client, addr, &req.cmd, job->body,
				       job->blen);
	}
	kmqc_job_free(job);
	return ret;
}

int kmq_producer_send_batch(struct kmq_producer *p,
			    const struct kmq_message *msgs, unsigned int n,
			    const struct kmq_selector *sel,
			    struct kmq_send_result *res)
{
	struct kmq_send_result tmp;
	struct kmqc_job *job;
	int ret;

	if (!p)
		return kmqc_fail(-EINVAL, "no producer");
	ret = kmqc_job_batch(p, msgs, n, sel, &job);
	if (ret)
		return ret;
	ret = kmqc_job_run(job, res ? res : &tmp);
	kmqc_job_free(job);
	return ret;
}

int kmq_producer_send_batch_async(struct kmq_producer *p,
				  const struct kmq_message *msgs,
				  unsigned int n,
				  const struct kmq_selector *sel,
				  kmq_send_cb cb, void *arg)
{
	struct kmqc_job *job;
	int ret;

	if (!p)
		return kmqc_fail(-EINVAL, "no producer");
	ret = kmqc_job_batch(p, msgs, n, sel, &job);
	if (ret)
		return ret;
	return kmqc_job_start_async(p, job, cb, arg);
}
