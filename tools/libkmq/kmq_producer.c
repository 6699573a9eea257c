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
};

/**
 * struct kmqc_job - one send (a message or a batch) and its attempts.
 * @body: what goes on the wire; @body_owned: the same when allocated here
 * @fixed: the queue was chosen once by the caller's selector (@mq)
 * @cur: the queue of the attempt in flight (async)
 */
struct kmqc_job {
	struct kmq_producer *p;
	char topic[KMQ_TOPIC_MAX + 1];
	bool batch;
	const void *body;
	void *body_owned;
	size_t blen;
	char *props;
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
	while (p->inflight)
		pthread_cond_wait(&p->cv, &p->lock);
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
	while (p->inflight && !ret)
		if (kmqc_cond_wait_until(&p->cv, &p->lock, deadline) ==
		    ETIMEDOUT && p->inflight)
			ret = kmqc_fail(-ETIMEDOUT, "%u async sends in flight",
					p->inflight);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* ---- jobs ----------------------------------------------------------- */

static void kmqc_job_free(struct kmqc_job *job)
{
	if (!job)
		return;
	free(job->body_owned);
	free(job->props);
	free(job);
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

static struct kmqc_job *kmqc_job_new(struct kmq_producer *p, const char *topic)
{
	struct kmqc_job *job = calloc(1, sizeof(*job));

	if (!job) {
		kmqc_fail(-ENOMEM, "send");
		return NULL;
	}
	job->p = p;
	snprintf(job->topic, sizeof(job->topic), "%s", topic);
	job->max_attempts = 1 + p->cfg.retry_times;
	job->deadline = kmqc_mono_ms() + p->cfg.send_timeout_ms;
	return job;
}

/* A job for one message; @copy: the body must outlive the call. */
static int kmqc_job_single(struct kmq_producer *p,
			   const struct kmq_message *m,
			   const struct kmq_selector *sel, bool copy,
			   struct kmqc_job **out)
{
	struct kmqc_job *job;
	size_t clen;
	void *cbody;
	int ret;

	ret = kmqc_msg_check(m, p->cfg.max_message_size);
	if (ret)
		return ret;
	job = kmqc_job_new(p, m->topic);
	if (!job)
		return -ENOMEM;
	if (p->cfg.uniq_key)
		kmqc_uniq_id(p->client->client_ip, job->uniq);
	ret = kmqc_msg_props(m, p->cfg.uniq_key ? job->uniq : NULL,
			     &job->props);
	if (ret < 0)
		goto fail;
	job->body = m->body;
	job->blen = m->body_len;
	if (kmqc_should_compress(m->body_len, p->cfg.compress_threshold) &&
	    !kmqc_compress(m->body, m->body_len, p->cfg.compress_level,
			   &cbody, &clen)) {
		job->body_owned = cbody;
		job->body = cbody;
		job->blen = clen;
		job->sys_flag |= KMQ_SYSFLAG_COMPRESSED;
	} else if (copy) {
		job->body_owned = malloc(m->body_len);
		if (!job->body_owned) {
			ret = kmqc_fail(-ENOMEM, "send");
			goto fail;
		}
		memcpy(job->body_owned, m->body, m->body_len);
		job->body = job->body_owned;
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
	job = kmqc_job_new(p, msgs[0].topic);
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
	job->body_owned = b.data;
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

/* The queue and broker address of the next attempt. */
static int kmqc_job_pick(struct kmqc_job *job, char *addr, size_t alen)
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
				  kmqc_mono_ms());
		job->cur = r->wmqs[idx];
		kmqc_route_put(r);
	} else {
		job->cur = job->mq;
	}
	return kmqc_broker_addr(p->client, job->cur.broker_name, addr, alen);
}

static int kmqc_job_req(struct kmqc_job *job, struct kmq_rmt_cmd *req)
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
	int ret = kmqc_send_req(p->client, req, &h);

	return ret ? kmqc_fail(ret, "send request") : 0;
}

/* The outcome of an answered attempt. */
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
		snprintf(what, sizeof(what), "send to %s", addr);
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
	snprintf(res->msg_id, sizeof(res->msg_id), "%s",
		 job->uniq[0] ? job->uniq : res->offset_msg_id);
	res->mq = job->cur;
	res->mq.queue_id = (int)kmqc_ext_i64(f, "queueId", job->cur.queue_id);
	res->queue_offset = kmqc_ext_i64(f, "queueOffset", -1);
	res->count = job->count;
	res->attempts = job->attempt;
	return 0;
}

/* After a failed attempt: is there another? */
static bool kmqc_job_again(struct kmqc_job *job, int err)
{
	if (job->cur.broker_name[0])
		memcpy(job->last_broker, job->cur.broker_name,
		       sizeof(job->last_broker));
	return kmqc_send_retryable(err) && job->attempt < job->max_attempts &&
	       kmqc_mono_ms() < job->deadline;
}

static void kmqc_job_fault(struct kmqc_job *job, int err)
{
	uint64_t now = kmqc_mono_ms();

	if (job->p->cfg.fault_avoidance && job->cur.broker_name[0])
		kmqc_fault_update(&job->p->faults, job->cur.broker_name,
				  now - job->t0, err < 0,
				  now);
}

static int kmqc_job_run(struct kmqc_job *job, struct kmq_send_result *res)
{
	struct kmq_client *c = job->p->client;
	char addr[KMQ_ADDR_MAX + 1];
	struct kmq_rmt_cmd req;
	struct kmqc_frame *f;
	uint64_t now;
	int ret;

	for (;;) {
		job->attempt++;
		memset(&job->cur, 0, sizeof(job->cur));
		ret = kmqc_job_pick(job, addr, sizeof(addr));
		if (!ret)
			ret = kmqc_job_req(job, &req);
		if (!ret) {
			now = kmqc_mono_ms();
			job->t0 = now;
			if (now >= job->deadline)
				ret = kmqc_fail(-ETIMEDOUT, "send to %s", addr);
			else
				ret = kmqc_call(c, addr, &req, job->body,
						job->blen, job->deadline - now,
						&f);
			kmq_rmt_cmd_free(&req);
			kmqc_job_fault(job, ret);
			if (!ret) {
				ret = kmqc_job_result(job, f, addr, res);
				kmqc_frame_free(f);
			}
		}
		if (!ret || !kmqc_job_again(job, ret))
			return ret;
	}
}

/* ---- async ---------------------------------------------------------- */

static void kmqc_window_put(struct kmq_producer *p)
{
	pthread_mutex_lock(&p->lock);
	p->inflight--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

static int kmqc_window_get(struct kmq_producer *p)
{
	uint64_t deadline = kmqc_mono_ms() + p->cfg.send_timeout_ms;
	/* A callback waiting for a slot would wait for itself. */
	bool wait = !kmqc_wq_in(&p->client->exec);
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	while (wait && p->inflight >= p->cfg.async_inflight_max && !ret)
		if (kmqc_cond_wait_until(&p->cv, &p->lock, deadline) ==
		    ETIMEDOUT && p->inflight >= p->cfg.async_inflight_max)
			ret = kmqc_fail(-ETIMEDOUT,
					"%u async sends in flight (the window)",
					p->inflight);
	if (!ret)
		p->inflight++;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static void kmqc_job_finish(struct kmqc_job *job, int err,
			    const struct kmq_send_result *res)
{
	struct kmq_producer *p = job->p;

	job->cb(job->arg, err, err ? NULL : res);
	kmqc_job_free(job);
	kmqc_window_put(p);
}

static void kmqc_job_attempt(struct kmqc_job *job);

static void kmqc_job_done(void *arg, int err, struct kmqc_frame *f)
{
	struct kmqc_job *job = arg;
	struct kmq_send_result res;
	char addr[KMQ_NAME_MAX + 16];

	kmqc_job_fault(job, err);
	if (!err) {
		snprintf(addr, sizeof(addr), "broker %s", job->cur.broker_name);
		err = kmqc_job_result(job, f, addr, &res);
		kmqc_frame_free(f);
		if (!err) {
			kmqc_job_finish(job, 0, &res);
			return;
		}
	}
	if (kmqc_job_again(job, err))
		kmqc_job_attempt(job);
	else
		kmqc_job_finish(job, err, NULL);
}

/* Start the next attempt; its outcome arrives in kmqc_job_done(). */
static void kmqc_job_attempt(struct kmqc_job *job)
{
	char addr[KMQ_ADDR_MAX + 1];
	struct kmq_rmt_cmd req;
	uint64_t now;
	int ret;

	for (;;) {
		job->attempt++;
		memset(&job->cur, 0, sizeof(job->cur));
		ret = kmqc_job_pick(job, addr, sizeof(addr));
		if (!ret)
			ret = kmqc_job_req(job, &req);
		if (!ret) {
			now = kmqc_mono_ms();
			job->t0 = now;
			if (now >= job->deadline)
				ret = kmqc_fail(-ETIMEDOUT, "send to %s", addr);
			else
				ret = kmqc_call_async(job->p->client, addr,
						      &req, job->body,
						      job->blen,
						      job->deadline - now,
						      kmqc_job_done, job);
			kmq_rmt_cmd_free(&req);
			if (!ret)
				return;
			kmqc_job_fault(job, ret);
		}
		if (!kmqc_job_again(job, ret)) {
			kmqc_job_finish(job, ret, NULL);
			return;
		}
	}
}

static int kmqc_job_start_async(struct kmq_producer *p, struct kmqc_job *job,
				kmq_send_cb cb, void *arg)
{
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
	job->deadline = kmqc_mono_ms() + p->cfg.send_timeout_ms;
	kmqc_job_attempt(job);
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
	struct kmq_rmt_cmd req;
	struct kmqc_job *job;
	int ret;

	if (!p)
		return kmqc_fail(-EINVAL, "no producer");
	ret = kmqc_job_single(p, m, sel, false, &job);
	if (ret)
		return ret;
	job->attempt = 1;
	ret = kmqc_job_pick(job, addr, sizeof(addr));
	if (!ret)
		ret = kmqc_job_req(job, &req);
	if (!ret) {
		ret = kmqc_call_oneway(p->client, addr, &req, job->body,
				       job->blen);
		kmq_rmt_cmd_free(&req);
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
