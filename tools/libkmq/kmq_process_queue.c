// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_process_queue.c - a queue owned by a push consumer: its pulled
 * messages in offset order until the listener consumed them, what they
 * weigh (flow control), the offset to commit, where to pull next, and
 * (orderly) the state of its lock at the broker.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"

struct kmqc_pq *kmqc_pq_new(const struct kmq_mq *mq)
{
	struct kmqc_pq *pq = calloc(1, sizeof(*pq));

	if (!pq)
		return NULL;
	pq->mq = *mq;
	pq->refs = 1;
	pq->max_offset = -1;
	pq->next_pull = -1;
	pthread_mutex_init(&pq->lock, NULL);
	pthread_mutex_init(&pq->consume_lock, NULL);
	return pq;
}

void kmqc_pq_get(struct kmqc_pq *pq)
{
	__atomic_add_fetch(&pq->refs, 1, __ATOMIC_RELAXED);
}

void kmqc_pq_put(struct kmqc_pq *pq)
{
	struct kmqc_msg *m;

	if (!pq || __atomic_sub_fetch(&pq->refs, 1, __ATOMIC_ACQ_REL))
		return;
	while ((m = pq->head)) {
		pq->head = m->next;
		kmqc_msg_free(m);
	}
	pthread_mutex_destroy(&pq->lock);
	pthread_mutex_destroy(&pq->consume_lock);
	free(pq);
}

unsigned int kmqc_pq_add(struct kmqc_pq *pq, unsigned int epoch,
			 struct kmqc_msg **msgs, unsigned int n)
{
	unsigned int i, added = 0;

	pthread_mutex_lock(&pq->lock);
	for (i = 0; i < n; i++) {
		struct kmqc_msg *m = msgs[i];

		if (pq->dropped || epoch != pq->epoch ||
		    m->pub.queue_offset <= pq->max_offset) {
			kmqc_msg_free(m);
			continue;
		}
		m->next = NULL;
		m->prev = pq->tail;
		if (pq->tail)
			pq->tail->next = m;
		else
			pq->head = m;
		pq->tail = m;
		pq->max_offset = m->pub.queue_offset;
		pq->count++;
		pq->bytes += m->pub.body_len;
		msgs[added++] = m;
	}
	if (pq->count > pq->peak)
		pq->peak = pq->count;
	pthread_mutex_unlock(&pq->lock);
	return added;
}

int64_t kmqc_pq_remove(struct kmqc_pq *pq, struct kmqc_msg **msgs,
		       unsigned int n)
{
	int64_t next = -1;
	unsigned int i;

	pthread_mutex_lock(&pq->lock);
	if (pq->head) {
		next = pq->max_offset + 1;
		for (i = 0; i < n; i++) {
			struct kmqc_msg *m = msgs[i];

			if (m->prev)
				m->prev->next = m->next;
			else
				pq->head = m->next;
			if (m->next)
				m->next->prev = m->prev;
			else
				pq->tail = m->prev;
			pq->count--;
			pq->bytes -= m->pub.body_len;
			kmqc_msg_free(m);
		}
		if (pq->head)
			next = pq->head->pub.queue_offset;
	}
	pthread_mutex_unlock(&pq->lock);
	return next;
}

unsigned int kmqc_pq_head(struct kmqc_pq *pq, struct kmqc_msg **out,
			  unsigned int max)
{
	struct kmqc_msg *m;
	unsigned int n = 0;

	pthread_mutex_lock(&pq->lock);
	for (m = pq->head; m && n < max; m = m->next)
		out[n++] = m;
	pthread_mutex_unlock(&pq->lock);
	return n;
}

bool kmqc_pq_over(struct kmqc_pq *pq, uint64_t max_msgs, uint64_t max_bytes)
{
	bool over;

	pthread_mutex_lock(&pq->lock);
	over = pq->count > max_msgs || pq->bytes > max_bytes;
	pthread_mutex_unlock(&pq->lock);
	return over;
}

bool kmqc_pq_dropped(struct kmqc_pq *pq)
{
	bool d;

	pthread_mutex_lock(&pq->lock);
	d = pq->dropped;
	pthread_mutex_unlock(&pq->lock);
	return d;
}

void kmqc_pq_want_drop(struct kmqc_pq *pq, bool want)
{
	pthread_mutex_lock(&pq->lock);
	pq->drop_wanted = want;
	pthread_mutex_unlock(&pq->lock);
}

bool kmqc_pq_empty(struct kmqc_pq *pq)
{
	bool e;

	pthread_mutex_lock(&pq->lock);
	e = !pq->head;
	pthread_mutex_unlock(&pq->lock);
	return e;
}

bool kmqc_pq_lock_valid(struct kmqc_pq *pq, uint64_t max_live_ms)
{
	uint64_t now = kmqc_mono_ms();
	bool v;

	pthread_mutex_lock(&pq->lock);
	v = pq->locked && now - pq->lock_ms <= max_live_ms;
	pthread_mutex_unlock(&pq->lock);
	return v;
}

void kmqc_pq_set_locked(struct kmqc_pq *pq, bool locked)
{
	pthread_mutex_lock(&pq->lock);
	if (locked)
		pq->lock_ms = kmqc_mono_ms();
	else
		pq->lock_lost = true;
	pq->locked = locked;
	pthread_mutex_unlock(&pq->lock);
}

void kmqc_pq_lock_lost(struct kmqc_pq *pq)
{
	pthread_mutex_lock(&pq->lock);
	pq->lock_lost = true;
	pq->locked = false;
	pthread_mutex_unlock(&pq->lock);
}

void kmqc_pq_restart(struct kmqc_pq *pq, int64_t offset)
{
	struct kmqc_msg *m;

	pthread_mutex_lock(&pq->lock);
	while ((m = pq->head)) {
		pq->head = m->next;
		kmqc_msg_free(m);
	}
	pq->tail = NULL;
	pq->count = 0;
	pq->bytes = 0;
	pq->max_offset = offset - 1;
	pq->next_pull = offset;
	pq->epoch++;
	pthread_mutex_unlock(&pq->lock);
}
