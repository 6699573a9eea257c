// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_select.c - which queue a send goes to: round robin over the topic's
 * writable queues, away from the broker the previous attempt failed on,
 * and away from brokers that failed or answered slowly a short while ago
 * (avoided for fault_isolation_ms after a failure, and after a slow answer
 * for a time taken from RocketMQ's latency table). The caller's selector
 * (ordered messages) and kmq_select_by_hash() bypass all this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_send_int.h"

/* RocketMQ's latencyMax and notAvailableDuration, in ms. */
static const uint64_t kmqc_latency_max[] = {
	50, 100, 550, 1000, 2000, 3000, 15000,
};

static const uint64_t kmqc_unavailable_ms[] = {
	0, 0, 30000, 60000, 120000, 180000, 600000,
};

void kmqc_faults_init(struct kmqc_faults *f, unsigned int isolation_ms)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->isolation_ms = isolation_ms;
}

void kmqc_faults_free(struct kmqc_faults *f)
{
	free(f->v);
	f->v = NULL;
	pthread_mutex_destroy(&f->lock);
}

uint64_t kmqc_fault_duration(uint64_t latency_ms)
{
	unsigned int i = ARRAY_SIZE(kmqc_latency_max);

	while (i--)
		if (latency_ms >= kmqc_latency_max[i])
			return kmqc_unavailable_ms[i];
	return 0;
}

void kmqc_fault_update(struct kmqc_faults *f, const char *broker,
		       uint64_t latency_ms, bool failed, uint64_t now)
{
	uint64_t until = now + (failed ? f->isolation_ms :
				kmqc_fault_duration(latency_ms));
	unsigned int i;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].broker, broker))
			break;
	if (i == f->n) {
		if (until <= now) {
			pthread_mutex_unlock(&f->lock);
			return;
		}
		if (f->n == f->cap) {
			unsigned int cap = f->cap ? f->cap * 2 : 4;
			struct kmqc_fault *nv = realloc(f->v, cap * sizeof(*nv));

			if (!nv) {
				pthread_mutex_unlock(&f->lock);
				return;
			}
			f->v = nv;
			f->cap = cap;
		}
		snprintf(f->v[i].broker, sizeof(f->v[i].broker), "%s", broker);
		f->n++;
	}
	f->v[i].until = until;
	pthread_mutex_unlock(&f->lock);
}

bool kmqc_fault_available(struct kmqc_faults *f, const char *broker,
			  uint64_t now)
{
	bool ok = true;
	unsigned int i;

	if (!f)
		return true;
	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].broker, broker))
			ok = f->v[i].until <= now;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

unsigned int kmqc_select(const struct kmq_mq *mqs, unsigned int n,
			 uint32_t start, const char *last_broker,
			 struct kmqc_faults *f, uint64_t now)
{
	unsigned int pass, i, idx;

	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			const char *b;

			idx = (start + i) % n;
			b = mqs[idx].broker_name;
			if (pass < 2 && !kmqc_fault_available(f, b, now))
				continue;
			if (pass != 1 && last_broker && !strcmp(b, last_broker))
				continue;
			return idx;
		}
	}
	return start % n;
}

int kmq_select_by_hash(const struct kmq_mq *mqs, unsigned int n,
		       const struct kmq_message *m, void *arg)
{
	const char *key = arg ? arg : m->keys;
	int32_t h;

	if (!n)
		return 0;
	h = kmqc_java_hash(key ? key : "");
	/* Math.abs(Integer.MIN_VALUE) stays negative in Java: use 0. */
	if (h == INT32_MIN)
		h = 0;
	return (int)((uint32_t)(h < 0 ? -h : h) % n);
}
