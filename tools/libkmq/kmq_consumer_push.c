// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_consumer_push.c - the push consumer: subscriptions, the rebalance
 * that decides which queues it owns (every rebalance_interval_ms and when
 * a broker says the group changed), one long-polling pull in flight per
 * owned queue (paused while the queue holds too many messages), where a
 * new queue starts (the group's stored offset, else consumeFromWhere),
 * offsets committed every persist_interval_ms, and an orderly close.
 * An orderly consumer of a clustering group owns a queue only while it
 * holds the queue's lock at the broker (kmq_orderly.c).
 *
 * Threads: the client's timer thread rebalances and persists; the pull
 * thread starts pulls; the callback thread takes their responses; the
 * consume threads run the listener (kmq_consume.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"

#define KMQC_PULL_TIMEOUT_EXTRA_MS	15000
#define KMQC_TIMESTAMP_DEFAULT_MS	(30 * 60 * 1000)

static const char * const kmqc_from_names[] = {
	[KMQ_CONSUME_FROM_LAST_OFFSET] = "CONSUME_FROM_LAST_OFFSET",
	[KMQ_CONSUME_FROM_FIRST_OFFSET] = "CONSUME_FROM_FIRST_OFFSET",
	[KMQ_CONSUME_FROM_TIMESTAMP] = "CONSUME_FROM_TIMESTAMP",
};

void kmq_push_consumer_config_init(struct kmq_push_consumer_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	kmq_client_config_init(&cfg->client);
	cfg->model = KMQ_CLUSTERING;
	cfg->from = KMQ_CONSUME_FROM_LAST_OFFSET;
	cfg->allocate = KMQ_ALLOCATE_AVERAGELY;
	cfg->consume_threads = 4;
	cfg->consume_batch_max = 1;
	cfg->pull_batch_size = 32;
	cfg->pull_threshold_msgs = 1000;
	cfg->pull_threshold_bytes = 100ull << 20;
	cfg->suspend_timeout_ms = 15000;
	cfg->max_reconsume_times = 16;
	cfg->suspend_ms = 1000;
	cfg->rebalance_interval_ms = 20000;
	cfg->persist_interval_ms = 5000;
	cfg->lock_interval_ms = KMQC_LOCK_INTERVAL_MS;
	cfg->lock_max_live_ms = KMQC_LOCK_MAX_LIVE_MS;
}

const struct kmqc_sub *kmqc_sub_of(struct kmq_push_consumer *c,
				   const char *topic)
{
	unsigned int i;

	for (i = 0; i < c->nsubs; i++)
		if (!strcmp(c->subs[i].topic, topic))
			return &c->subs[i];
	return NULL;
}

static void kmqc_push_conn_lost(void *owner, const char *addr)
{
	kmqc_orderly_conn_lost(owner, addr);
}

static int kmqc_push_hb(void *owner, json_t *consumers, json_t *producers)
{
	struct kmq_push_consumer *c = owner;
	json_t *cd, *subs;
	unsigned int i;

	cd = json_pack("{s:s, s:s, s:s, s:s, s:[], s:b}",
		       "groupName", c->group,
		       "consumeType", "CONSUME_PASSIVELY",
		       "messageModel", c->cfg.model == KMQ_BROADCASTING ?
		       "BROADCASTING" : "CLUSTERING",
		       "consumeFromWhere", kmqc_from_names[c->cfg.from],
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

/* ---- pulls ---------------------------------------------------------- */

static void kmqc_pull_task(void *arg, bool run);

static void kmqc_pull_post(struct kmqc_pq *pq, uint64_t delay_ms)
{
	if (kmqc_wq_post(&pq->owner->pullq, delay_ms, kmqc_pull_task, pq))
		kmqc_pq_put(pq);
}

static bool kmqc_is_retry_topic(const char *topic)
{
	return !strncmp(topic, KMQC_RETRY_PREFIX, strlen(KMQC_RETRY_PREFIX));
}

/* Where a queue new to this consumer starts. */
static int kmqc_start_offset(struct kmq_push_consumer *c,
			     const struct kmq_mq *mq, int64_t *off)
{
	int64_t ts;
	int ret;

	ret = kmqc_offsets_fetch(&c->offsets, mq, off);
	if (ret != -ENOENT)
		return ret;
	switch (c->cfg.from) {
	case KMQ_CONSUME_FROM_FIRST_OFFSET:
		*off = 0;
		return 0;
	case KMQ_CONSUME_FROM_TIMESTAMP:
		if (kmqc_is_retry_topic(mq->topic))
			return kmqc_queue_offset(c->client, mq,
						 KMQ_REQ_GET_MAX_OFFSET, 0, off);
		ts = c->cfg.consume_timestamp_ms ? c->cfg.consume_timestamp_ms :
		     (int64_t)kmqc_now_ms() - KMQC_TIMESTAMP_DEFAULT_MS;
		return kmqc_queue_offset(c->client, mq,
					 KMQ_REQ_SEARCH_OFFSET_BY_TIMESTAMP, ts,
					 off);
	default:
		if (kmqc_is_retry_topic(mq->topic)) {
			*off = 0;
			return 0;
		}
		return kmqc_queue_offset(c->client, mq, KMQ_REQ_GET_MAX_OFFSET,
					 0, off);
	}
}

static void kmqc_pull_done(void *arg, int err, struct kmqc_frame *f)
{
	struct kmqc_pq *pq = arg;
	struct kmq_push_consumer *c = pq->owner;
	const struct kmqc_sub *sub = kmqc_sub_of(c, pq->mq.topic);
	struct kmqc_pulled pr;
	unsigned int n, epoch;
	bool stale;

	if (kmqc_pq_dropped(pq)) {	/* its offset is not ours any more */
		kmqc_frame_free(f);
		kmqc_pq_put(pq);
		return;
	}
	if (!err) {
		err = kmqc_pull_parse(f, &pq->mq, sub, &pr);
		kmqc_frame_free(f);
	}
	if (err) {
		if (!c->stopping && !kmqc_pq_dropped(pq))
			kmqc_info("group %s: pull %s/%s/%d: %s", c->group,
				  pq->mq.topic, pq->mq.broker_name,
				  pq->mq.queue_id, kmq_errmsg());
		kmqc_pull_post(pq, KMQC_PULL_ERROR_DELAY_MS);
		return;
	}
	/* Made before the queue restarted elsewhere: pull again. */
	pthread_mutex_lock(&pq->lock);
	epoch = pq->pull_epoch;
	stale = epoch != pq->epoch;
	if (!stale)
		pq->next_pull = pr.next;
	pthread_mutex_unlock(&pq->lock);
	if (stale) {
		kmqc_pulled_free(&pr);
		kmqc_pull_post(pq, 0);
		return;
	}
	switch (pr.status) {
	case KMQ_PULL_FOUND:
		n = kmqc_pq_add(pq, epoch, pr.msgs, pr.n);
		__atomic_add_fetch(&c->pulled, n, __ATOMIC_RELAXED);
		if (n)
			kmqc_consume_submit(c, pq, pr.msgs, n);
		else if (kmqc_pq_empty(pq))
			kmqc_pq_offset(c, pq, pr.next, true);
		pr.n = 0;	/* the queue owns them now */
		break;
	case KMQ_PULL_OFFSET_ILLEGAL:
		kmqc_warn("group %s: offset of %s/%s/%d moved to %lld",
			  c->group, pq->mq.topic, pq->mq.broker_name,
			  pq->mq.queue_id, (long long)pr.next);
		kmqc_pq_offset(c, pq, pr.next, false);
		break;
	default:
		/* Nothing (matching) past what was consumed. */
		if (kmqc_pq_empty(pq))
			kmqc_pq_offset(c, pq, pr.next, true);
		break;
	}
	kmqc_pulled_free(&pr);
	kmqc_pull_post(pq, 0);
}

/*
 * Orderly, clustering: pulled only while locked at the broker; a lock
 * that came back after it was lost first finds where to go on, with no
 * listener call running. Return: pull now (else the pull is posted).
 */
static bool kmqc_pull_locked(struct kmq_push_consumer *c, struct kmqc_pq *pq)
{
	bool lost;
	int ret;

	if (!kmqc_pq_lock_valid(pq, UINT64_MAX)) {
		kmqc_pull_post(pq, KMQC_UNLOCKED_PULL_MS);
		return false;
	}
	pthread_mutex_lock(&pq->lock);
	lost = pq->lock_lost;
	pthread_mutex_unlock(&pq->lock);
	if (!lost)
		return true;
	if (pthread_mutex_trylock(&pq->consume_lock)) {
		kmqc_pull_post(pq, KMQC_FLOW_DELAY_MS);
		return false;
	}
	ret = kmqc_orderly_reconcile(c, pq);
	pthread_mutex_unlock(&pq->consume_lock);
	if (ret) {
		kmqc_info("group %s: offset of %s/%d after its lock came back: %s",
			  c->group, pq->mq.topic, pq->mq.queue_id,
			  kmq_errmsg());
		kmqc_pull_post(pq, KMQC_PULL_ERROR_DELAY_MS);
		return false;
	}
	kmqc_consume_submit(c, pq, NULL, 0);	/* what waited, if kept */
	return true;
}

static void kmqc_pull_task(void *arg, bool run)
{
	struct kmqc_pq *pq = arg;
	struct kmq_push_consumer *c = pq->owner;
	struct kmqc_pull_args a = { 0 };
	char addr[KMQ_ADDR_MAX + 1];
	struct kmqc_req req;
	unsigned int epoch;
	int64_t off;
	int ret;

	if (!run || c->stopping || kmqc_pq_dropped(pq)) {
		kmqc_pq_put(pq);
		return;
	}
	if (c->need_lock && !kmqc_pull_locked(c, pq))
		return;
	pthread_mutex_lock(&pq->lock);
	off = pq->next_pull;
	epoch = pq->epoch;
	pthread_mutex_unlock(&pq->lock);
	if (off < 0) {
		ret = kmqc_start_offset(c, &pq->mq, &off);
		if (ret) {
			kmqc_info("group %s: start offset of %s/%s/%d: %s",
				  c->group, pq->mq.topic, pq->mq.broker_name,
				  pq->mq.queue_id, kmq_errmsg());
			kmqc_pull_post(pq, KMQC_PULL_ERROR_DELAY_MS);
			return;
		}
		kmqc_offsets_update(&c->offsets, &pq->mq, off, false);
		pthread_mutex_lock(&pq->lock);
		if (epoch == pq->epoch)
			pq->next_pull = off;
		else
			off = pq->next_pull;
		pthread_mutex_unlock(&pq->lock);
		kmqc_dbg("group %s: %s/%s/%d starts at %lld", c->group,
			 pq->mq.topic, pq->mq.broker_name, pq->mq.queue_id,
			 (long long)off);
	}
	if (kmqc_pq_over(pq, c->cfg.pull_threshold_msgs,
			 c->cfg.pull_threshold_bytes)) {
		__atomic_add_fetch(&c->flow_control, 1, __ATOMIC_RELAXED);
		kmqc_pull_post(pq, KMQC_FLOW_DELAY_MS);
		return;
	}
	a.group = c->group;
	a.mq = &pq->mq;
	a.offset = off;
	a.max_msgs = c->cfg.pull_batch_size;
	a.suspend_ms = c->cfg.suspend_timeout_ms;
	a.sub = kmqc_sub_of(c, pq->mq.topic);
	a.sys_flag = KMQC_PULL_SUSPEND | KMQC_PULL_SUBSCRIPTION;
	a.commit_offset = -1;
	/*
	 * Orderly queues commit by UPDATE_CONSUMER_OFFSET only, never a value
	 * read before the listener's last call that could reach the broker
	 * after the commit that precedes an unlock.
	 */
	if (c->cfg.model == KMQ_CLUSTERING && !c->need_lock) {
		a.commit_offset = kmqc_offsets_mem(&c->offsets, &pq->mq);
		if (a.commit_offset > 0)
			a.sys_flag |= KMQC_PULL_COMMIT;
	}
	ret = kmqc_broker_addr(c->client, pq->mq.broker_name, addr,
			       sizeof(addr));
	if (!ret && !a.sub)
		ret = -ENOENT;
	if (!ret) {
		kmqc_pull_req(c->client, &req, &a);
		pthread_mutex_lock(&pq->lock);
		pq->pull_epoch = epoch;
		pthread_mutex_unlock(&pq->lock);
		ret = kmqc_call_async(c->client, addr, &req.cmd, NULL, 0,
				      c->cfg.suspend_timeout_ms +
				      KMQC_PULL_TIMEOUT_EXTRA_MS,
				      kmqc_pull_done, pq);
	}
	if (ret) {
		if (!c->stopping)
			kmqc_info("group %s: pull %s/%d: %s", c->group,
				  pq->mq.topic, pq->mq.queue_id, kmq_errmsg());
		kmqc_pull_post(pq, KMQC_PULL_ERROR_DELAY_MS);
	}
}

/* ---- rebalance ------------------------------------------------------ */

static bool kmqc_mq_in(const struct kmq_mq *mq, const struct kmq_mq *v,
		       unsigned int n)
{
	return bsearch(mq, v, n, sizeof(*v), kmqc_mq_cmp);
}

void kmqc_pq_offset(struct kmq_push_consumer *c, struct kmqc_pq *pq,
		    int64_t offset, bool increase_only)
{
	/* Under pq->lock: a drop cannot remove the offset in between. */
	pthread_mutex_lock(&pq->lock);
	if (!pq->dropped)
		kmqc_offsets_update(&c->offsets, &pq->mq, offset,
				    increase_only);
	pthread_mutex_unlock(&pq->lock);
}

/*
 * Give up @pq: no more pulls or consumption, its offset committed (and,
 * orderly in a clustering group, its lock released after that). An
 * orderly queue whose listener does not return within KMQC_DROP_WAIT_MS
 * is kept for now, with no new listener call, and the rebalance tries
 * again soon.
 */
static bool kmqc_pq_drop(struct kmq_push_consumer *c, struct kmqc_pq *pq)
{
	struct timespec ts;
	uint64_t deadline;

	if (c->cfg.orderly) {
		deadline = kmqc_now_ms() + KMQC_DROP_WAIT_MS;
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
		kmqc_pq_want_drop(pq, true);
		if (pthread_mutex_timedlock(&pq->consume_lock, &ts)) {
			kmqc_info("group %s: %s/%d still consuming: released once its listener returns",
				  c->group, pq->mq.topic, pq->mq.queue_id);
			return false;
		}
	}
	pthread_mutex_lock(&pq->lock);
	pq->dropped = true;
	pq->drop_wanted = false;
	pthread_mutex_unlock(&pq->lock);
	if (c->cfg.orderly)
		pthread_mutex_unlock(&pq->consume_lock);
	if (c->need_lock) {
		kmqc_orderly_release(c, pq);
	} else if (c->cfg.model == KMQ_CLUSTERING) {
		if (kmqc_offsets_persist(&c->offsets, &pq->mq, true))
			kmqc_info("group %s: commit %s/%d: %s", c->group,
				  pq->mq.topic, pq->mq.queue_id, kmq_errmsg());
	}
	if (c->cfg.model == KMQ_CLUSTERING)
		kmqc_offsets_remove(&c->offsets, &pq->mq);
	return true;
}

/* @pq stays: a drop waiting for its listener is called off. */
static void kmqc_pq_keep(struct kmq_push_consumer *c, struct kmqc_pq *pq)
{
	bool was;

	pthread_mutex_lock(&pq->lock);
	was = pq->drop_wanted;
	pq->drop_wanted = false;
	pthread_mutex_unlock(&pq->lock);
	if (was)
		kmqc_consume_submit(c, pq, NULL, 0);
}

/* Drop @gone; return how many went, *@later when some must wait. */
static unsigned int kmqc_drop_all(struct kmq_push_consumer *c,
				  struct kmqc_pq **gone, unsigned int n,
				  bool *later)
{
	unsigned int i, j, dropped = 0;

	/* Orderly: no new listener call on any of them from now on. */
	for (i = 0; c->cfg.orderly && i < n; i++)
		kmqc_pq_want_drop(gone[i], true);
	for (i = 0; i < n; i++) {
		struct kmqc_pq *pq = gone[i];

		if (!kmqc_pq_drop(c, pq)) {
			*later = true;
			continue;
		}
		pthread_mutex_lock(&c->lock);
		for (j = 0; j < c->npqs; j++) {
			if (c->pqs[j] == pq) {
				c->pqs[j] = c->pqs[--c->npqs];
				kmqc_pq_put(pq);	/* the table's */
				break;
			}
		}
		pthread_mutex_unlock(&c->lock);
		kmqc_info("group %s: %s/%s/%d released", c->group,
			  pq->mq.topic, pq->mq.broker_name, pq->mq.queue_id);
		dropped++;
	}
	return dropped;
}

/* Own @mq from now on (locked at its broker when that is needed). */
static bool kmqc_take(struct kmq_push_consumer *c, const struct kmq_mq *mq)
{
	struct kmqc_pq *pq = kmqc_pq_new(mq), **v;

	if (!pq)
		return false;
	pq->owner = c;
	if (c->need_lock)
		kmqc_pq_set_locked(pq, true);
	pthread_mutex_lock(&c->lock);
	v = realloc(c->pqs, (c->npqs + 1) * sizeof(*v));
	if (v) {
		c->pqs = v;
		c->pqs[c->npqs++] = pq;
	}
	pthread_mutex_unlock(&c->lock);
	if (!v) {
		kmqc_pq_put(pq);
		return false;
	}
	kmqc_info("group %s: %s/%s/%d taken", c->group, pq->mq.topic,
		  pq->mq.broker_name, pq->mq.queue_id);
	kmqc_pq_get(pq);
	kmqc_pull_post(pq, 0);
	return true;
}

/* Own exactly @mine (sorted) among the queues of @topic. */
static bool kmqc_apply(struct kmq_push_consumer *c, const char *topic,
		       const struct kmq_mq *mine, unsigned int n)
{
	struct kmqc_pq **gone = NULL, **kept = NULL;
	unsigned int i, j, ngone = 0, nkept = 0, nfresh = 0;
	struct kmq_mq *fresh = NULL;
	bool changed = false, later = false, *ok = NULL;

	pthread_mutex_lock(&c->lock);
	gone = calloc(c->npqs + 1, sizeof(*gone));
	kept = calloc(c->npqs + 1, sizeof(*kept));
	fresh = calloc(n + 1, sizeof(*fresh));
	ok = calloc(n + 1, sizeof(*ok));
	if (!gone || !kept || !fresh || !ok) {
		pthread_mutex_unlock(&c->lock);
		goto out;
	}
	for (i = 0; i < c->npqs; i++) {
		if (strcmp(c->pqs[i]->mq.topic, topic))
			continue;
		kmqc_pq_get(c->pqs[i]);
		if (kmqc_mq_in(&c->pqs[i]->mq, mine, n))
			kept[nkept++] = c->pqs[i];
		else
			gone[ngone++] = c->pqs[i];
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < c->npqs; j++)
			if (!kmqc_mq_cmp(&c->pqs[j]->mq, &mine[i]))
				break;
		if (j == c->npqs)
			fresh[nfresh++] = mine[i];
	}
	pthread_mutex_unlock(&c->lock);

	for (i = 0; i < nkept; i++)
		kmqc_pq_keep(c, kept[i]);
	if (kmqc_drop_all(c, gone, ngone, &later))
		changed = true;
	/* Orderly: a queue is owned once its broker granted the lock. */
	if (c->need_lock && nfresh &&
	    kmqc_orderly_lock_new(c, fresh, nfresh, ok) < nfresh)
		later = true;
	for (i = 0; i < nfresh; i++) {
		if (c->need_lock && !ok[i])
			continue;
		if (kmqc_take(c, &fresh[i])) {
			changed = true;
		} else {
			kmqc_err("group %s: out of memory", c->group);
			if (c->need_lock)
				kmqc_unlock_batch(c->client, c->group,
						  &fresh[i], 1, true);
		}
	}
	if (later && !c->stopping)
		kmqc_rebalance_later(c, KMQC_REBALANCE_LATER_MS);
out:
	for (i = 0; i < ngone; i++)
		kmqc_pq_put(gone[i]);
	for (i = 0; i < nkept; i++)
		kmqc_pq_put(kept[i]);
	free(gone);
	free(kept);
	free(fresh);
	free(ok);
	return changed;
}

static void kmqc_rebalance_retry(struct kmq_push_consumer *c);

static void kmqc_rebalance(struct kmq_push_consumer *c)
{
	char (*topics)[KMQ_TOPIC_MAX + 1];
	unsigned int i, n;
	bool changed = false, failed = false;
	struct kmq_mq *mine;
	int got;

	pthread_mutex_lock(&c->lock);
	n = c->nsubs;
	topics = calloc(n + 1, sizeof(*topics));
	for (i = 0; topics && i < n; i++)
		memcpy(topics[i], c->subs[i].topic, sizeof(topics[i]));
	pthread_mutex_unlock(&c->lock);
	for (i = 0; topics && i < n && !c->stopping; i++) {
		got = kmqc_rebalance_topic(c->client, c->group, topics[i],
					   c->cfg.model, c->cfg.allocate,
					   &mine);
		if (got < 0) {
			kmqc_info("group %s: rebalance of %s: %s", c->group,
				  topics[i], kmq_errmsg());
			failed = true;
			continue;
		}
		if (kmqc_apply(c, topics[i], mine, got))
			changed = true;
		free(mine);
	}
	free(topics);
	if (changed)
		__atomic_add_fetch(&c->rebalances, 1, __ATOMIC_RELAXED);
	if (!failed)
		c->retry_ms = 0;
	else if (!c->stopping)
		kmqc_rebalance_retry(c);
}

static void kmqc_rebalance_now(void *arg, bool run)
{
	struct kmq_push_consumer *c = arg;

	if (!run)
		return;
	__atomic_store_n(&c->rebalance_queued, false, __ATOMIC_RELAXED);
	kmqc_rebalance(c);
}

void kmqc_rebalance_later(struct kmq_push_consumer *c, uint64_t delay_ms)
{
	if (__atomic_exchange_n(&c->rebalance_queued, true, __ATOMIC_RELAXED))
		return;
	if (kmqc_wq_post(&c->client->svc, delay_ms, kmqc_rebalance_now, c))
		__atomic_store_n(&c->rebalance_queued, false, __ATOMIC_RELAXED);
}

static void kmqc_rebalance_soon(struct kmq_push_consumer *c)
{
	kmqc_rebalance_later(c, 0);
}

static void kmqc_rebalance_again(void *arg, bool run)
{
	struct kmq_push_consumer *c = arg;

	if (!run)
		return;
	__atomic_store_n(&c->retry_queued, false, __ATOMIC_RELAXED);
	kmqc_rebalance(c);
}

/*
 * A topic without a route or a group the broker does not list yet (a
 * retry topic is created by the first heartbeat): try again after 1 s,
 * 2 s, 4 s ... up to the rebalance interval, rather than only then.
 */
static void kmqc_rebalance_retry(struct kmq_push_consumer *c)
{
	c->retry_ms = c->retry_ms ? c->retry_ms * 2 : 1000;
	if (c->retry_ms >= c->cfg.rebalance_interval_ms)
		return;
	if (__atomic_exchange_n(&c->retry_queued, true, __ATOMIC_RELAXED))
		return;
	if (kmqc_wq_post(&c->client->svc, c->retry_ms, kmqc_rebalance_again,
			 c))
		__atomic_store_n(&c->retry_queued, false, __ATOMIC_RELAXED);
}

static void kmqc_push_notify(void *owner, const char *group)
{
	struct kmq_push_consumer *c = owner;

	if (c->group && !strcmp(group, c->group) && c->started)
		kmqc_rebalance_soon(c);
}

static void kmqc_rebalance_timer(void *arg, bool run)
{
	struct kmq_push_consumer *c = arg;

	if (!run)
		return;
	kmqc_rebalance(c);
	kmqc_wq_post(&c->client->svc, c->cfg.rebalance_interval_ms,
		     kmqc_rebalance_timer, c);
}

static void kmqc_persist_timer(void *arg, bool run)
{
	struct kmq_push_consumer *c = arg;

	if (!run)
		return;
	if (c->need_lock)
		kmqc_orderly_persist(c);
	else if (kmqc_offsets_persist(&c->offsets, NULL, false))
		kmqc_info("group %s: persist offsets: %s", c->group,
			  kmq_errmsg());
	kmqc_wq_post(&c->client->svc, c->cfg.persist_interval_ms,
		     kmqc_persist_timer, c);
}

/* ---- the API -------------------------------------------------------- */

static int kmqc_push_defaults(struct kmq_push_consumer_config *cfg)
{
	if (!cfg->consume_threads)
		cfg->consume_threads = 4;
	if (!cfg->consume_batch_max)
		cfg->consume_batch_max = 1;
	if (!cfg->pull_batch_size || cfg->pull_batch_size > 1024)
		cfg->pull_batch_size = 32;
	if (!cfg->pull_threshold_msgs)
		cfg->pull_threshold_msgs = 1000;
	if (!cfg->pull_threshold_bytes)
		cfg->pull_threshold_bytes = 100ull << 20;
	if (!cfg->suspend_timeout_ms)
		cfg->suspend_timeout_ms = 15000;
	if (!cfg->rebalance_interval_ms)
		cfg->rebalance_interval_ms = 20000;
	if (!cfg->persist_interval_ms)
		cfg->persist_interval_ms = 5000;
	if (!cfg->lock_interval_ms)
		cfg->lock_interval_ms = KMQC_LOCK_INTERVAL_MS;
	if (!cfg->lock_max_live_ms)
		cfg->lock_max_live_ms = KMQC_LOCK_MAX_LIVE_MS;
	if (cfg->lock_max_live_ms <= cfg->lock_interval_ms)
		return kmqc_fail(-EINVAL,
				 "lock_max_live_ms (%u) must be longer than lock_interval_ms (%u)",
				 cfg->lock_max_live_ms, cfg->lock_interval_ms);
	if ((unsigned int)cfg->model > KMQ_BROADCASTING ||
	    (unsigned int)cfg->from > KMQ_CONSUME_FROM_TIMESTAMP ||
	    (unsigned int)cfg->allocate > KMQ_ALLOCATE_AVERAGELY_BY_CIRCLE)
		return kmqc_fail(-EINVAL, "model, from or allocate out of range");
	return 0;
}

/* Broadcasting: DIR/<client ip>@<instance>/<group>/offsets.json. */
static int kmqc_offset_path(struct kmq_push_consumer *c, char **path)
{
	const char *dir = c->cfg.offset_store_dir;
	const char *home = getenv("HOME");
	char buf[4096];

	if (!dir || !*dir) {
		snprintf(buf, sizeof(buf), "%s/.kmq_offsets",
			 home && *home ? home : "/tmp");
		dir = buf;
	}
	if (asprintf(path, "%s/%s@%s/%s/offsets.json", dir,
		     c->client->client_ip,
		     c->cfg.client.instance_name ? c->cfg.client.instance_name :
		     "DEFAULT", c->group) < 0)
		return -ENOMEM;
	return 0;
}

static void kmqc_push_mem_free(struct kmq_push_consumer *c)
{
	unsigned int i;

	for (i = 0; i < c->npqs; i++)
		kmqc_pq_put(c->pqs[i]);
	free(c->pqs);
	for (i = 0; i < c->nsubs; i++)
		kmqc_sub_free(&c->subs[i]);
	free(c->subs);
	kmqc_offsets_free(&c->offsets);
	kmqc_wq_destroy(&c->pullq);
	kmqc_wq_destroy(&c->consumeq);
	pthread_mutex_destroy(&c->lock);
	free(c->group);
	free(c->offset_dir);
	free(c);
}

int kmq_push_consumer_new(const struct kmq_push_consumer_config *cfg,
			  struct kmq_push_consumer **out)
{
	struct kmqc_owner own = {
		.hb_build = kmqc_push_hb,
		.on_notify = kmqc_push_notify,
		.on_conn_lost = kmqc_push_conn_lost,
	};
	struct kmq_push_consumer *c;
	char *path = NULL;
	int ret;

	if (!cfg || !out)
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	if (!kmqc_name_ok(cfg->group, KMQ_TOPIC_MAX -
			  strlen(KMQC_RETRY_PREFIX)))
		return kmqc_fail(-EINVAL, "group: 1..%zu printable bytes",
				 KMQ_TOPIC_MAX - strlen(KMQC_RETRY_PREFIX));
	if (!cfg->listener)
		return kmqc_fail(-EINVAL, "no listener");
	c = calloc(1, sizeof(*c));
	if (!c)
		return kmqc_fail(-ENOMEM, "new consumer");
	c->cfg = *cfg;
	pthread_mutex_init(&c->lock, NULL);
	ret = kmqc_push_defaults(&c->cfg);
	if (ret)
		goto fail_early;
	c->need_lock = c->cfg.orderly && c->cfg.model == KMQ_CLUSTERING;
	if (!kmqc_strdup(&c->group, cfg->group) ||
	    !kmqc_strdup(&c->offset_dir, cfg->offset_store_dir)) {
		ret = kmqc_fail(-ENOMEM, "new consumer");
		goto fail_early;
	}
	c->cfg.group = c->group;
	c->cfg.offset_store_dir = c->offset_dir;
	c->cfg.client.namesrv_addr = NULL;
	snprintf(c->retry_topic, sizeof(c->retry_topic), "%s%s",
		 KMQC_RETRY_PREFIX, c->group);
	ret = kmqc_wq_init(&c->pullq, 1, "kmq-pull");
	if (!ret)
		ret = kmqc_wq_init(&c->consumeq, c->cfg.consume_threads,
				   "kmq-consume");
	if (ret) {
		kmqc_fail(ret, "consumer threads");
		goto fail_early;
	}
	own.owner = c;
	ret = kmqc_client_new(&cfg->client, &own, &c->client);
	if (ret)
		goto fail_early;
	c->cfg.client.instance_name = cfg->client.instance_name;
	if (c->cfg.model == KMQ_BROADCASTING) {
		ret = kmqc_offset_path(c, &path);
		c->cfg.client.instance_name = NULL;
		if (!ret)
			ret = kmqc_offsets_init(&c->offsets, c->client,
						c->group, path);
		free(path);
	} else {
		c->cfg.client.instance_name = NULL;
		ret = kmqc_offsets_init(&c->offsets, c->client, c->group,
					NULL);
	}
	if (ret) {
		kmq_client_free(c->client);
		goto fail_early;
	}
	c->cfg.client = c->client->cfg;
	*out = c;
	return 0;
fail_early:
	kmqc_push_mem_free(c);
	return ret;
}

struct kmq_client *kmq_push_consumer_client(struct kmq_push_consumer *c)
{
	return c ? c->client : NULL;
}

/* Add or replace the subscription of @topic (lock held). */
static int kmqc_subs_set(struct kmq_push_consumer *c, const char *topic,
			 const char *expr)
{
	struct kmqc_sub s, *v;
	unsigned int i;
	int ret;

	ret = kmqc_sub_init(&s, topic, expr);
	if (ret)
		return ret;
	for (i = 0; i < c->nsubs; i++) {
		if (!strcmp(c->subs[i].topic, topic)) {
			kmqc_sub_free(&c->subs[i]);
			c->subs[i] = s;
			return 0;
		}
	}
	v = realloc(c->subs, (c->nsubs + 1) * sizeof(*v));
	if (!v) {
		kmqc_sub_free(&s);
		return kmqc_fail(-ENOMEM, "subscribe");
	}
	c->subs = v;
	c->subs[c->nsubs++] = s;
	return 0;
}

int kmq_push_consumer_subscribe(struct kmq_push_consumer *c,
				const char *topic, const char *expr)
{
	int ret;

	if (!c)
		return kmqc_fail(-EINVAL, "no consumer");
	pthread_mutex_lock(&c->lock);
	if (c->started)
		ret = kmqc_fail(-EALREADY, "subscribe after start");
	else
		ret = kmqc_subs_set(c, topic, expr);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int kmq_push_consumer_start(struct kmq_push_consumer *c)
{
	struct kmqc_route *r;
	unsigned int i;
	int ret = 0;

	if (!c)
		return kmqc_fail(-EINVAL, "no consumer");
	pthread_mutex_lock(&c->lock);
	if (c->started)
		ret = kmqc_fail(-EALREADY, "consumer %s started twice",
				c->group);
	else if (!c->nsubs)
		ret = kmqc_fail(-EINVAL, "consumer %s has no subscription",
				c->group);
	else if (c->cfg.model == KMQ_CLUSTERING)
		ret = kmqc_subs_set(c, c->retry_topic, "*");
	pthread_mutex_unlock(&c->lock);
	if (ret)
		return ret;
	/*
	 * Routes tell the brokers to heartbeat; the heartbeat makes the
	 * broker create the retry topic, whose route comes after.
	 */
	for (i = 0; i < c->nsubs; i++) {
		if (!strcmp(c->subs[i].topic, c->retry_topic))
			continue;
		if (kmqc_route_get(c->client, c->subs[i].topic, &r))
			kmqc_info("group %s: route of %s: %s", c->group,
				  c->subs[i].topic, kmq_errmsg());
		else
			kmqc_route_put(r);
	}
	kmqc_heartbeat(c->client);
	pthread_mutex_lock(&c->lock);
	c->started = true;
	pthread_mutex_unlock(&c->lock);
	kmqc_client_start_timers(c->client);
	kmqc_wq_post(&c->client->svc, 0, kmqc_rebalance_timer, c);
	kmqc_wq_post(&c->client->svc, c->cfg.persist_interval_ms,
		     kmqc_persist_timer, c);
	kmqc_orderly_start(c);
	return 0;
}

void kmq_push_consumer_free(struct kmq_push_consumer *c)
{
	unsigned int i;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_mutex_unlock(&c->lock);
	kmqc_wq_stop(&c->client->svc, false);
	kmqc_wq_stop(&c->pullq, false);
	kmqc_wq_stop(&c->consumeq, false);
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->npqs; i++) {
		pthread_mutex_lock(&c->pqs[i]->lock);
		c->pqs[i]->dropped = true;
		pthread_mutex_unlock(&c->pqs[i]->lock);
	}
	pthread_mutex_unlock(&c->lock);
	if (c->started && c->need_lock) {
		kmqc_orderly_close(c);	/* offsets, then unlocks */
		kmqc_unregister(c->client, NULL, c->group);
	} else if (c->started) {
		if (kmqc_offsets_persist(&c->offsets, NULL, true))
			kmqc_warn("group %s: offsets at close: %s", c->group,
				  kmq_errmsg());
		kmqc_unregister(c->client, NULL, c->group);
	}
	kmq_client_free(c->client);
	kmqc_push_mem_free(c);
}

void kmq_push_consumer_stats(struct kmq_push_consumer *c,
			     struct kmq_consumer_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&c->lock);
	st->queues = c->npqs;
	for (i = 0; i < c->npqs; i++) {
		struct kmqc_pq *pq = c->pqs[i];

		pthread_mutex_lock(&pq->lock);
		st->cached_msgs += pq->count;
		st->cached_bytes += pq->bytes;
		if (pq->peak > st->peak_queue_msgs)
			st->peak_queue_msgs = pq->peak;
		pthread_mutex_unlock(&pq->lock);
	}
	pthread_mutex_unlock(&c->lock);
	st->flow_control = __atomic_load_n(&c->flow_control, __ATOMIC_RELAXED);
	st->pulled = __atomic_load_n(&c->pulled, __ATOMIC_RELAXED);
	st->consumed = __atomic_load_n(&c->consumed, __ATOMIC_RELAXED);
	st->sent_back = __atomic_load_n(&c->sent_back, __ATOMIC_RELAXED);
	st->rebalances = __atomic_load_n(&c->rebalances, __ATOMIC_RELAXED);
}

int kmq_push_consumer_queues(struct kmq_push_consumer *c, struct kmq_mq **mqs)
{
	unsigned int i, n;
	struct kmq_mq *v;

	pthread_mutex_lock(&c->lock);
	n = c->npqs;
	v = calloc(n + 1, sizeof(*v));
	for (i = 0; v && i < n; i++)
		v[i] = c->pqs[i]->mq;
	pthread_mutex_unlock(&c->lock);
	if (!v)
		return kmqc_fail(-ENOMEM, "queues");
	qsort(v, n, sizeof(*v), kmqc_mq_cmp);
	*mqs = v;
	return n;
}
