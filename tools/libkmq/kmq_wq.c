// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_wq.c - the work queue: a few threads running tasks posted to them,
 * each due now or after a delay. Completions, timers, pulls and listeners
 * all run on one of these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_int.h"

/* Run @t and release it (its storage may be freed by its function). */
static void kmqc_task_run(struct kmqc_task *t, bool run)
{
	bool own = t->own;

	t->fn(t->arg, run);
	if (!own)
		free(t);
}

/* Move the timed tasks that are due to the FIFO (lock held). */
static void kmqc_wq_promote(struct kmqc_wq *q, uint64_t now)
{
	while (q->timed && q->timed->due <= now) {
		struct kmqc_task *t = q->timed;

		q->timed = t->next;
		t->next = NULL;
		if (q->tail)
			q->tail->next = t;
		else
			q->head = t;
		q->tail = t;
	}
}

static void *kmqc_wq_main(void *arg)
{
	struct kmqc_wq *q = arg;
	struct kmqc_task *t;

	pthread_setname_np(pthread_self(), q->name);
	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->timed)
			kmqc_wq_promote(q, kmqc_mono_ms());
		if (q->stop)
			break;
		t = q->head;
		if (!t) {
			kmqc_cond_wait_until(&q->cv, &q->lock,
					     q->timed ? q->timed->due :
					     UINT64_MAX);
			continue;
		}
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
		q->running++;
		pthread_mutex_unlock(&q->lock);
		kmqc_task_run(t, true);
		pthread_mutex_lock(&q->lock);
		q->running--;
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int kmqc_wq_init(struct kmqc_wq *q, unsigned int nthreads, const char *name)
{
	unsigned int i;
	int ret;

	memset(q, 0, sizeof(*q));
	snprintf(q->name, sizeof(q->name), "%s", name);
	pthread_mutex_init(&q->lock, NULL);
	ret = kmqc_cond_init(&q->cv);
	if (ret)
		goto fail_cv;
	q->threads = calloc(nthreads ? nthreads : 1, sizeof(*q->threads));
	if (!q->threads) {
		ret = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < nthreads; i++) {
		ret = -pthread_create(&q->threads[i], NULL, kmqc_wq_main, q);
		if (ret) {
			kmqc_wq_destroy(q);
			return ret;
		}
		q->nthreads++;
	}
	return 0;
fail:
	pthread_cond_destroy(&q->cv);
fail_cv:
	pthread_mutex_destroy(&q->lock);
	free(q->threads);
	q->threads = NULL;
	return ret;
}

int kmqc_wq_post(struct kmqc_wq *q, uint64_t delay_ms, kmqc_task_fn fn,
		 void *arg)
{
	struct kmqc_task *t = malloc(sizeof(*t)), **pp;

	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	t->own = false;
	t->due = delay_ms ? kmqc_mono_ms() + delay_ms : 0;
	pthread_mutex_lock(&q->lock);
	if (q->stop) {
		pthread_mutex_unlock(&q->lock);
		free(t);
		return -ESHUTDOWN;
	}
	if (!delay_ms) {
		if (q->tail)
			q->tail->next = t;
		else
			q->head = t;
		q->tail = t;
		pthread_cond_signal(&q->cv);
	} else {
		for (pp = &q->timed; *pp && (*pp)->due <= t->due;
		     pp = &(*pp)->next)
			;
		t->next = *pp;
		*pp = t;
		/* Every thread may be sleeping until a later due time. */
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int kmqc_wq_post_task(struct kmqc_wq *q, struct kmqc_task *t,
		      kmqc_task_fn fn, void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	t->own = true;
	t->due = 0;
	pthread_mutex_lock(&q->lock);
	if (q->stop) {
		pthread_mutex_unlock(&q->lock);
		return -ESHUTDOWN;
	}
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

bool kmqc_wq_in(struct kmqc_wq *q)
{
	unsigned int i;

	for (i = 0; i < q->nthreads; i++)
		if (pthread_equal(q->threads[i], pthread_self()))
			return true;
	return false;
}

void kmqc_wq_stop(struct kmqc_wq *q, bool drain)
{
	struct kmqc_task *t, *list;
	unsigned int i;

	if (!q->threads)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->stop && q->joined) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->stop = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_mutex_lock(&q->lock);
	q->joined = true;
	pthread_mutex_unlock(&q->lock);
	/* Tasks left (and those they post meanwhile) are ours now. */
	for (;;) {
		pthread_mutex_lock(&q->lock);
		kmqc_wq_promote(q, UINT64_MAX);
		list = q->head;
		q->head = NULL;
		q->tail = NULL;
		pthread_mutex_unlock(&q->lock);
		if (!list)
			break;
		while (list) {
			t = list;
			list = t->next;
			kmqc_task_run(t, drain);
		}
	}
}

void kmqc_wq_destroy(struct kmqc_wq *q)
{
	if (!q->threads)
		return;
	kmqc_wq_stop(q, false);
	free(q->threads);
	q->threads = NULL;
	q->nthreads = 0;
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->lock);
}
