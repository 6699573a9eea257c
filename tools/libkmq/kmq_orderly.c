// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_orderly.c - the queue locks of an orderly push consumer of a
 * clustering group, held as RocketMQ's RebalanceImpl and orderly consume
 * service hold them. A queue the rebalance gives this consumer is owned
 * only once its broker granted the lock (LOCK_BATCH_MQ, 41); a refused
 * one is asked for again at a rebalance 500 ms later. The locks of the
 * owned queues are renewed every lock_interval_ms; a queue is pulled only
 * while locked and consumed only while its lock was granted within
 * lock_max_live_ms (else it is locked again first). A queue given up is
 * unlocked (UNLOCK_BATCH_MQ, 42) after the listener call in progress
 * returned and its offset was committed, so the next owner starts where
 * this one stopped. kmqd releases a client's locks when its connection
 * closes: the queues of that broker then stop here too until locked
 * again, and a lock that comes back after it was lost (refused, or its
 * connection closed) continues from the group's committed offset when
 * another consumer got further meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"

/* Lock @n queues of one broker for @c. Return: how many held, or error. */
static int kmqc_orderly_lock_run(struct kmq_push_consumer *c,
				 const struct kmq_mq *mqs, unsigned int n,
				 bool *locked)
{
	int ret = kmqc_lock_batch(c->client, c->group, mqs, n, locked);

	if (ret < 0)
		kmqc_info("group %s: lock %u queue(s) of %s at %s: %s",
			  c->group, n, mqs[0].topic, mqs[0].broker_name,
			  kmq_errmsg());
	return ret;
}

unsigned int kmqc_orderly_lock_new(struct kmq_push_consumer *c,
				   const struct kmq_mq *mqs, unsigned int n,
				   bool *locked)
{
	unsigned int i, j, k, got = 0;
	int ret;

	memset(locked, 0, n * sizeof(*locked));
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !strcmp(mqs[j].broker_name,
						 mqs[i].broker_name); j++)
			;
		ret = kmqc_orderly_lock_run(c, mqs + i, j - i, locked + i);
		if (ret < 0)
			continue;
		got += ret;
		for (k = i; k < j; k++)
			if (!locked[k])
				kmqc_dbg("group %s: %s/%s/%d is locked by another consumer",
					 c->group, mqs[k].topic,
					 mqs[k].broker_name, mqs[k].queue_id);
	}
	return got;
}

int kmqc_orderly_lock_one(struct kmq_push_consumer *c, struct kmqc_pq *pq)
{
	bool locked = false;
	int ret;

	ret = kmqc_orderly_lock_run(c, &pq->mq, 1, &locked);
	if (ret < 0)
		return ret;
	kmqc_pq_set_locked(pq, locked);
	kmqc_dbg("group %s: %s/%s/%d %s", c->group, pq->mq.topic,
		 pq->mq.broker_name, pq->mq.queue_id,
		 locked ? "locked again" : "still locked by another consumer");
	return locked;
}

static bool kmqc_pq_was_lost(struct kmqc_pq *pq)
{
	bool lost;

	pthread_mutex_lock(&pq->lock);
	lost = pq->lock_lost;
	pthread_mutex_unlock(&pq->lock);
	return lost;
}

int kmqc_orderly_release(struct kmq_push_consumer *c, struct kmqc_pq *pq)
{
	int ret;

	/* A lost lock: the offset may be another consumer's by now. */
	if (kmqc_pq_was_lost(pq)) {
		kmqc_offsets_remove(&c->offsets, &pq->mq);
		return 0;
	}
	ret = kmqc_offsets_persist(&c->offsets, &pq->mq, true);
	if (ret) {
		kmqc_info("group %s: commit %s/%d: %s; its lock is left to expire",
			  c->group, pq->mq.topic, pq->mq.queue_id,
			  kmq_errmsg());
		return ret;
	}
	ret = kmqc_unlock_batch(c->client, c->group, &pq->mq, 1, true);
	if (ret)
		kmqc_info("group %s: unlock %s/%d: %s", c->group,
			  pq->mq.topic, pq->mq.queue_id, kmq_errmsg());
	pthread_mutex_lock(&pq->lock);
	pq->locked = false;
	pthread_mutex_unlock(&pq->lock);
	return 0;
}

/* The owned queues not dropped, referenced (*@out: free()). */
static unsigned int kmqc_orderly_owned(struct kmq_push_consumer *c,
				       struct kmqc_pq ***out)
{
	struct kmqc_pq **v;
	unsigned int i, n = 0;

	pthread_mutex_lock(&c->lock);
	v = calloc(c->npqs + 1, sizeof(*v));
	for (i = 0; v && i < c->npqs; i++) {
		if (kmqc_pq_dropped(c->pqs[i]))
			continue;
		kmqc_pq_get(c->pqs[i]);
		v[n++] = c->pqs[i];
	}
	pthread_mutex_unlock(&c->lock);
	*out = v;
	return n;
}

static void kmqc_orderly_put(struct kmqc_pq **v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		kmqc_pq_put(v[i]);
	free(v);
}

static int kmqc_pq_broker_cmp(const void *a, const void *b)
{
	const struct kmqc_pq *const *x = a, *const *y = b;

	return strcmp((*x)->mq.broker_name, (*y)->mq.broker_name);
}

/*
 * Call @fn on each broker's run of @v (sorted by broker): @mqs holds the
 * run's queues.
 */
static void kmqc_orderly_by_broker(struct kmq_push_consumer *c,
				   struct kmqc_pq **v, unsigned int n,
				   void (*fn)(struct kmq_push_consumer *c,
					      struct kmqc_pq **v,
					      struct kmq_mq *mqs,
					      unsigned int n))
{
	struct kmq_mq *mqs = calloc(n + 1, sizeof(*mqs));
	unsigned int i, j;

	if (!mqs) {
		kmqc_err("group %s: out of memory", c->group);
		return;
	}
	qsort(v, n, sizeof(*v), kmqc_pq_broker_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && !strcmp(v[j]->mq.broker_name,
					     v[i]->mq.broker_name); j++)
			mqs[j - i] = v[j]->mq;
		fn(c, v + i, mqs, j - i);
	}
	free(mqs);
}

/* Renew the locks of @n queues of one broker. */
static void kmqc_orderly_renew_run(struct kmq_push_consumer *c,
				   struct kmqc_pq **v, struct kmq_mq *mqs,
				   unsigned int n)
{
	bool *locked = calloc(n, sizeof(*locked));
	unsigned int i;
	bool was;

	if (!locked || kmqc_orderly_lock_run(c, mqs, n, locked) < 0) {
		free(locked);
		return;
	}
	for (i = 0; i < n; i++) {
		was = kmqc_pq_lock_valid(v[i], UINT64_MAX);
		kmqc_pq_set_locked(v[i], locked[i]);
		if (was && !locked[i])
			kmqc_warn("group %s: the lock of %s/%s/%d was refused: not consumed until it is locked again",
				  c->group, v[i]->mq.topic,
				  v[i]->mq.broker_name, v[i]->mq.queue_id);
		else if (!was && locked[i])	/* consume what waited */
			kmqc_consume_submit(c, v[i], NULL, 0);
	}
	free(locked);
}

static void kmqc_orderly_timer(void *arg, bool run)
{
	struct kmq_push_consumer *c = arg;
	struct kmqc_pq **v;
	unsigned int n;

	if (!run)
		return;
	n = kmqc_orderly_owned(c, &v);
	if (v)
		kmqc_orderly_by_broker(c, v, n, kmqc_orderly_renew_run);
	kmqc_orderly_put(v, n);
	kmqc_wq_post(&c->client->svc, c->cfg.lock_interval_ms,
		     kmqc_orderly_timer, c);
}

void kmqc_orderly_start(struct kmq_push_consumer *c)
{
	if (c->need_lock)
		kmqc_wq_post(&c->client->svc, c->cfg.lock_interval_ms,
			     kmqc_orderly_timer, c);
}

void kmqc_orderly_persist(struct kmq_push_consumer *c)
{
	struct kmqc_pq **v;
	unsigned int i, n;

	n = kmqc_orderly_owned(c, &v);
	for (i = 0; v && i < n; i++) {
		if (kmqc_pq_was_lost(v[i]))
			continue;
		if (kmqc_offsets_persist(&c->offsets, &v[i]->mq, false))
			kmqc_info("group %s: commit %s/%d: %s", c->group,
				  v[i]->mq.topic, v[i]->mq.queue_id,
				  kmq_errmsg());
	}
	kmqc_orderly_put(v, n);
}

/* Unlock @n queues of one broker, answered. */
static void kmqc_orderly_unlock_run(struct kmq_push_consumer *c,
				    struct kmqc_pq **v, struct kmq_mq *mqs,
				    unsigned int n)
{
	if (kmqc_unlock_batch(c->client, c->group, mqs, n, false))
		kmqc_info("group %s: unlock %u queue(s) at %s: %s", c->group,
			  n, mqs[0].broker_name, kmq_errmsg());
}

void kmqc_orderly_close(struct kmq_push_consumer *c)
{
	struct kmqc_pq **v;
	unsigned int i, n;

	/* Every queue is dropped by now: take them all. */
	pthread_mutex_lock(&c->lock);
	n = c->npqs;
	v = calloc(n + 1, sizeof(*v));
	for (i = 0; v && i < n; i++) {
		kmqc_pq_get(c->pqs[i]);
		v[i] = c->pqs[i];
	}
	pthread_mutex_unlock(&c->lock);
	if (!v)
		return;
	for (i = 0; i < n; i++)
		if (kmqc_pq_was_lost(v[i]))
			kmqc_offsets_remove(&c->offsets, &v[i]->mq);
	if (kmqc_offsets_persist(&c->offsets, NULL, true))
		kmqc_warn("group %s: offsets at close: %s", c->group,
			  kmq_errmsg());
	kmqc_orderly_by_broker(c, v, n, kmqc_orderly_unlock_run);
	kmqc_orderly_put(v, n);
}

void kmqc_orderly_conn_lost(struct kmq_push_consumer *c, const char *addr)
{
	char a[KMQ_ADDR_MAX + 1];
	struct kmqc_pq **v;
	unsigned int i, n, lost = 0;

	if (!c->need_lock)
		return;
	n = kmqc_orderly_owned(c, &v);
	for (i = 0; v && i < n; i++) {
		if (kmqc_broker_addr(c->client, v[i]->mq.broker_name, a,
				     sizeof(a)) || strcmp(a, addr))
			continue;
		kmqc_pq_lock_lost(v[i]);
		lost++;
	}
	kmqc_orderly_put(v, n);
	if (lost)
		kmqc_info("group %s: %u queue lock(s) went with the connection to %s",
			  c->group, lost, addr);
}

int kmqc_orderly_reconcile(struct kmq_push_consumer *c, struct kmqc_pq *pq)
{
	int64_t mine, theirs = -1;
	int ret;

	if (!kmqc_pq_was_lost(pq))
		return 0;
	ret = kmqc_offset_query(c->client, c->group, &pq->mq, &theirs);
	if (ret && ret != -ENOENT)
		return ret;
	mine = kmqc_offsets_mem(&c->offsets, &pq->mq);
	if (theirs > mine) {
		kmqc_info("group %s: %s/%s/%d was consumed up to %lld elsewhere while its lock was lost: going on from there (not %lld)",
			  c->group, pq->mq.topic, pq->mq.broker_name,
			  pq->mq.queue_id, (long long)theirs, (long long)mine);
		kmqc_pq_restart(pq, theirs);
		kmqc_offsets_update(&c->offsets, &pq->mq, theirs, false);
	}
	pthread_mutex_lock(&pq->lock);
	pq->lock_lost = false;
	pthread_mutex_unlock(&pq->lock);
	return 0;
}
