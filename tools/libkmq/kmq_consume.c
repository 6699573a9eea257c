// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_consume.c - the push consumer's listeners. Concurrent: pulled
 * messages are cut into batches of consume_batch_max, any consume thread
 * takes any batch; RETRY_LATER sends them back to the broker
 * (CONSUMER_SEND_MSG_BACK, 36), to come again from %RETRY%<group> (a
 * message the broker did not take is consumed again here 5 s later).
 * Orderly: a queue is one task, run by one thread at a time under the
 * queue's consume lock, its messages in offset order; SUSPEND consumes
 * the same messages again after suspend_ms, and after max_reconsume_times
 * they go to the dead-letter queue. In a clustering group the task only
 * calls the listener while the queue's lock at the broker is valid
 * (kmq_orderly.c): else it locks the queue again first, 10 ms later, and
 * tries again every 3 s while another consumer holds it. The offset
 * committed is always the first message not yet consumed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"

/**
 * struct kmqc_ctask - a consume task: concurrent, @n messages of @pq;
 * orderly, @pq alone (@n 0).
 */
struct kmqc_ctask {
	struct kmq_push_consumer *c;
	struct kmqc_pq *pq;
	unsigned int n;
	const struct kmq_message_ext **pubs;
	struct kmqc_msg *msgs[];
};

static struct kmqc_ctask *kmqc_ctask_new(struct kmq_push_consumer *c,
					 struct kmqc_pq *pq,
					 struct kmqc_msg **msgs, unsigned int n)
{
	unsigned int cap = n ? n : c->cfg.consume_batch_max;
	struct kmqc_ctask *t;

	t = calloc(1, sizeof(*t) + cap * sizeof(t->msgs[0]) +
		   cap * sizeof(t->pubs[0]));
	if (!t)
		return NULL;
	t->pubs = (const struct kmq_message_ext **)&t->msgs[cap];
	t->c = c;
	t->pq = pq;
	t->n = n;
	if (n)
		memcpy(t->msgs, msgs, n * sizeof(msgs[0]));
	kmqc_pq_get(pq);
	return t;
}

static void kmqc_ctask_free(struct kmqc_ctask *t)
{
	kmqc_pq_put(t->pq);
	free(t);
}

static void kmqc_ctask_post(struct kmqc_ctask *t, uint64_t delay_ms,
			    kmqc_task_fn fn)
{
	if (kmqc_wq_post(&t->c->consumeq, delay_ms, fn, t))
		kmqc_ctask_free(t);
}

/* The listener on @n messages of @t->pq. */
static enum kmq_consume_status kmqc_listen(struct kmqc_ctask *t,
					   struct kmqc_msg **msgs,
					   unsigned int n,
					   struct kmq_consume_ctx *ctx)
{
	struct kmq_push_consumer *c = t->c;
	unsigned int i;

	for (i = 0; i < n; i++)
		t->pubs[i] = &msgs[i]->pub;
	memset(ctx, 0, sizeof(*ctx));
	ctx->mq = t->pq->mq;
	ctx->delay_level = c->cfg.retry_delay_level;
	ctx->suspend_ms = c->cfg.suspend_ms;
	return c->cfg.listener(c->cfg.listener_arg, t->pubs, n, ctx);
}

int kmqc_send_back(struct kmq_push_consumer *c, const struct kmqc_msg *m,
		   int delay_level)
{
	char addr[KMQ_ADDR_MAX + 1], off[24], lvl[16], max[16];
	struct kmq_rmt_cmd req;
	int ret;

	ret = kmqc_broker_addr(c->client, m->pub.broker_name, addr,
			       sizeof(addr));
	if (ret)
		return ret;
	snprintf(off, sizeof(off), "%" PRId64, m->pub.commitlog_offset);
	snprintf(lvl, sizeof(lvl), "%d", delay_level);
	snprintf(max, sizeof(max), "%u", c->cfg.max_reconsume_times);
	ret = kmqc_req(c->client, &req, KMQ_REQ_CONSUMER_SEND_MSG_BACK);
	if (!ret)
		ret = kmqc_exts(&req, "offset", off, "group", c->group,
				"delayLevel", lvl, "originMsgId", m->pub.msg_id,
				"originTopic", m->pub.topic, "unitMode", "false",
				"maxReconsumeTimes", max, NULL);
	if (!ret)
		ret = kmqc_call_ok(c->client, addr, &req, NULL, 0, 0, NULL,
				   "send back");
	kmq_rmt_cmd_free(&req);
	return ret;
}

/* Consumed: out of the queue, and the offset moves on. */
static void kmqc_consumed(struct kmqc_ctask *t, struct kmqc_msg **msgs,
			  unsigned int n)
{
	struct kmq_push_consumer *c = t->c;
	int64_t next;

	if (!n)
		return;
	next = kmqc_pq_remove(t->pq, msgs, n);
	kmqc_pq_offset(c, t->pq, next, true);
	__atomic_add_fetch(&c->consumed, n, __ATOMIC_RELAXED);
}

/* ---- concurrent ----------------------------------------------------- */

static void kmqc_concurrent_run(void *arg, bool run)
{
	struct kmqc_ctask *t = arg, *again;
	struct kmq_push_consumer *c = t->c;
	struct kmqc_msg **failed = NULL;
	unsigned int i, nok = 0, nf = 0;
	enum kmq_consume_status st;
	struct kmq_consume_ctx ctx;

	if (!run || kmqc_pq_dropped(t->pq))
		goto out;
	st = kmqc_listen(t, t->msgs, t->n, &ctx);
	if (st != KMQ_CONSUME_SUCCESS && c->cfg.model == KMQ_BROADCASTING) {
		kmqc_warn("group %s: broadcasting has no retry: %u messages of %s/%d dropped",
			  c->group, t->n, t->pq->mq.topic, t->pq->mq.queue_id);
	} else if (st != KMQ_CONSUME_SUCCESS) {
		failed = calloc(t->n, sizeof(*failed));
		for (i = 0; i < t->n; i++) {
			if (!kmqc_send_back(c, t->msgs[i], ctx.delay_level)) {
				__atomic_add_fetch(&c->sent_back, 1,
						   __ATOMIC_RELAXED);
				t->msgs[nok++] = t->msgs[i];
				continue;
			}
			kmqc_warn("group %s: send back %s: %s; consumed again in %d s",
				  c->group, t->msgs[i]->pub.msg_id,
				  kmq_errmsg(), KMQC_SEND_BACK_RETRY_MS / 1000);
			t->msgs[i]->pub.reconsume_times++;
			if (failed)
				failed[nf++] = t->msgs[i];
			else
				t->msgs[nok++] = t->msgs[i];	/* no memory */
		}
		t->n = nok;
	}
	if (kmqc_pq_dropped(t->pq))
		goto out;
	kmqc_consumed(t, t->msgs, t->n);
	if (nf) {
		again = kmqc_ctask_new(c, t->pq, failed, nf);
		if (again)
			kmqc_ctask_post(again, KMQC_SEND_BACK_RETRY_MS,
					kmqc_concurrent_run);
	}
out:
	free(failed);
	kmqc_ctask_free(t);
}

/* ---- orderly -------------------------------------------------------- */

/* After max_reconsume_times: to the dead-letter queue (delay level -1). */
static bool kmqc_orderly_give_up(struct kmqc_ctask *t, struct kmqc_msg **msgs,
				 unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (kmqc_send_back(t->c, msgs[i], -1)) {
			kmqc_warn("group %s: %s to the dead-letter queue: %s",
				  t->c->group, msgs[i]->pub.msg_id,
				  kmq_errmsg());
			return false;
		}
	}
	return true;
}

/*
 * The task of a dropped queue, or one a rebalance gives up, ends (a
 * rebalance that keeps the queue after all starts it again); so does
 * every task once the consumer is being freed.
 */
static bool kmqc_orderly_stop(struct kmq_push_consumer *c,
			      struct kmqc_pq *pq)
{
	bool stop;

	pthread_mutex_lock(&pq->lock);
	stop = pq->dropped || pq->drop_wanted ||
	       __atomic_load_n(&c->stopping, __ATOMIC_RELAXED);
	if (stop)
		pq->scheduled = false;
	pthread_mutex_unlock(&pq->lock);
	return stop;
}

static void kmqc_orderly_run(void *arg, bool run);

/* The queue's lock lapsed or was refused: lock it, then consume. */
static void kmqc_orderly_relock(void *arg, bool run)
{
	struct kmqc_ctask *t = arg;
	struct kmqc_pq *pq = t->pq;
	int held;

	if (!run) {
		kmqc_ctask_free(t);
		return;
	}
	/* Under the consume lock: a drop cannot unlock in between. */
	pthread_mutex_lock(&pq->consume_lock);
	if (kmqc_orderly_stop(t->c, pq)) {
		pthread_mutex_unlock(&pq->consume_lock);
		kmqc_ctask_free(t);
		return;
	}
	held = kmqc_orderly_lock_one(t->c, pq);
	pthread_mutex_unlock(&pq->consume_lock);
	kmqc_ctask_post(t, held > 0 ? KMQC_RELOCK_SOON_MS :
			KMQC_RELOCK_RETRY_MS, kmqc_orderly_run);
}

/*
 * Clustering: may @pq be consumed now? Else the task went on to lock it
 * again, or ended (the consume lock is released then): a queue whose
 * lock came back after it was lost waits for the pull side to find
 * where to go on (kmqc_orderly_reconcile()), which starts it again.
 */
static bool kmqc_orderly_may(struct kmqc_ctask *t)
{
	struct kmq_push_consumer *c = t->c;
	struct kmqc_pq *pq = t->pq;
	bool lost;

	if (!c->need_lock)
		return true;
	if (!kmqc_pq_lock_valid(pq, c->cfg.lock_max_live_ms)) {
		pthread_mutex_unlock(&pq->consume_lock);
		kmqc_dbg("group %s: %s/%s/%d not locked: locking it first",
			 c->group, pq->mq.topic, pq->mq.broker_name,
			 pq->mq.queue_id);
		kmqc_ctask_post(t, KMQC_RELOCK_SOON_MS, kmqc_orderly_relock);
		return false;
	}
	pthread_mutex_lock(&pq->lock);
	lost = pq->lock_lost;
	if (lost)
		pq->scheduled = false;
	pthread_mutex_unlock(&pq->lock);
	if (lost) {
		pthread_mutex_unlock(&pq->consume_lock);
		kmqc_ctask_free(t);
	}
	return !lost;
}

static void kmqc_orderly_run(void *arg, bool run)
{
	struct kmqc_ctask *t = arg;
	struct kmq_push_consumer *c = t->c;
	struct kmqc_pq *pq = t->pq;
	struct kmqc_msg **batch = t->msgs;
	enum kmq_consume_status st;
	struct kmq_consume_ctx ctx;
	unsigned int turn, n, i;
	bool give_up;

	if (!run) {
		kmqc_ctask_free(t);
		return;
	}
	pthread_mutex_lock(&pq->consume_lock);
	for (turn = 0; turn < KMQC_ORDERLY_BATCHES; turn++) {
		if (kmqc_orderly_stop(c, pq)) {
			pthread_mutex_unlock(&pq->consume_lock);
			kmqc_ctask_free(t);
			return;
		}
		if (!kmqc_orderly_may(t))
			return;
		n = kmqc_pq_head(pq, batch, c->cfg.consume_batch_max);
		if (!n) {
			pthread_mutex_lock(&pq->lock);
			if (!pq->head) {
				pq->scheduled = false;
				pthread_mutex_unlock(&pq->lock);
				pthread_mutex_unlock(&pq->consume_lock);
				kmqc_ctask_free(t);
				return;
			}
			pthread_mutex_unlock(&pq->lock);
			continue;
		}
		st = kmqc_listen(t, batch, n, &ctx);
		if (st == KMQ_CONSUME_SUCCESS) {
			kmqc_consumed(t, batch, n);
			continue;
		}
		give_up = false;
		for (i = 0; i < n; i++)
			if (++batch[i]->pub.reconsume_times >=
			    (int32_t)c->cfg.max_reconsume_times)
				give_up = true;
		if (give_up && !kmqc_pq_dropped(pq) &&
		    kmqc_orderly_give_up(t, batch, n)) {
			kmqc_consumed(t, batch, n);
			continue;
		}
		pthread_mutex_unlock(&pq->consume_lock);
		kmqc_ctask_post(t, ctx.suspend_ms ? ctx.suspend_ms : 1,
				kmqc_orderly_run);
		return;
	}
	pthread_mutex_unlock(&pq->consume_lock);
	/* Let the other queues have a turn. */
	kmqc_ctask_post(t, 0, kmqc_orderly_run);
}

void kmqc_consume_submit(struct kmq_push_consumer *c, struct kmqc_pq *pq,
			 struct kmqc_msg **msgs, unsigned int n)
{
	unsigned int i, k;
	struct kmqc_ctask *t;
	bool start = false;

	if (c->cfg.orderly) {
		pthread_mutex_lock(&pq->lock);
		if (!pq->scheduled && pq->head) {
			pq->scheduled = true;
			start = true;
		}
		pthread_mutex_unlock(&pq->lock);
		if (start) {
			t = kmqc_ctask_new(c, pq, NULL, 0);
			if (t)
				kmqc_ctask_post(t, 0, kmqc_orderly_run);
			else
				kmqc_err("group %s: out of memory", c->group);
		}
		return;
	}
	for (i = 0; i < n; i += k) {
		k = n - i < c->cfg.consume_batch_max ? n - i :
		    c->cfg.consume_batch_max;
		t = kmqc_ctask_new(c, pq, msgs + i, k);
		if (!t) {
			kmqc_err("group %s: out of memory", c->group);
			return;
		}
		kmqc_ctask_post(t, 0, kmqc_concurrent_run);
	}
}
