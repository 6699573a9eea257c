// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_consume.c - kmq-bench's push consumers on libkmq
 * (bench_consume.h).
 *
 * Every consumer of the group subscribes to the topic ("*") and starts
 * from the group's committed offsets (--from for queues without one).
 * The listener checks each message's body into the ledger: corrupted,
 * first delivery or duplicate. First deliveries are timed end to end,
 * from the send time in the body (CLOCK_MONOTONIC of the producer, on
 * this machine) to the listener call. The listener always answers
 * SUCCESS: a bad message is counted, not retried.
 *
 * Latency histograms are written by one thread each: a listener thread
 * takes a worker of its own on its first call (thread-local); threads
 * beyond the workers counted for share one spare worker under a lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_client.h"
#include "bench_consume.h"

struct bench_cons {
	const struct bench_ropts *o;
	struct bench_ledger *l;
	uint32_t run;
	struct bench_failures *fails;
	struct kmq_push_consumer **cs;
	struct bench_worker *workers;
	unsigned int nworkers;
	unsigned int next_worker;
	pthread_mutex_t spare_lock;
	uint64_t t_start;
	uint64_t first_ns;
	uint64_t last_ns;
	uint64_t delivered;
	uint64_t other_runs;
	struct kmq_consumer_stats st;
};

/* The worker of this listener thread: owner and index. */
static __thread const struct bench_cons *tls_owner;
static __thread unsigned int tls_worker;

#define fail(c, ...)	bench_fail((c)->fails, __VA_ARGS__)

static unsigned int my_worker(struct bench_cons *c)
{
	unsigned int i;

	if (tls_owner != c) {
		i = __atomic_fetch_add(&c->next_worker, 1, __ATOMIC_RELAXED);
		tls_worker = i < c->nworkers - 1 ? i : c->nworkers - 1;
		tls_owner = c;
	}
	return tls_worker;
}

static void take(struct bench_cons *c, struct bench_worker *w,
		 const struct kmq_message_ext *m, uint64_t now)
{
	enum bench_verdict v;
	struct bench_body h;
	const char *why;

	v = bench_ledger_take(c->l, m->body, m->body_len, &h, &why);
	if (v == BENCH_MSG_CORRUPT) {
		fail(c, "%s queue %d offset %lld (%s): %s", m->topic,
		     m->queue_id, (long long)m->queue_offset, m->msg_id, why);
		return;
	}
	if (c->run && h.run != c->run) {
		__atomic_add_fetch(&c->other_runs, 1, __ATOMIC_RELAXED);
		return;
	}
	if (v == BENCH_MSG_NEW)
		bench_worker_add(w, 1, m->body_len, 0,
				 now > h.sent_ns ? now - h.sent_ns : 0);
	else
		bench_worker_count(w, 1, m->body_len, 0);
}

static enum kmq_consume_status on_msgs(void *arg,
				       const struct kmq_message_ext *const *msgs,
				       unsigned int n,
				       struct kmq_consume_ctx *ctx)
{
	struct bench_cons *c = arg;
	uint64_t now = bench_now_ns(), zero = 0, last;
	unsigned int wi = my_worker(c), i;
	bool spare = wi == c->nworkers - 1;

	if (spare)
		pthread_mutex_lock(&c->spare_lock);
	for (i = 0; i < n; i++)
		take(c, &c->workers[wi], msgs[i], now);
	if (spare)
		pthread_mutex_unlock(&c->spare_lock);
	__atomic_add_fetch(&c->delivered, n, __ATOMIC_RELAXED);
	__atomic_compare_exchange_n(&c->first_ns, &zero, now, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	/* The latest of the listeners' times, whichever stores last. */
	last = __atomic_load_n(&c->last_ns, __ATOMIC_RELAXED);
	while (last < now &&
	       !__atomic_compare_exchange_n(&c->last_ns, &last, now, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return KMQ_CONSUME_SUCCESS;
}

int bench_cons_new(const struct bench_ropts *o, struct bench_ledger *l,
		   uint32_t run, struct bench_failures *fails,
		   struct bench_cons **out)
{
	struct bench_cons *c = calloc(1, sizeof(*c));
	struct kmq_push_consumer_config cfg;
	unsigned int i;
	int ret = 0;

	if (!c)
		return -ENOMEM;
	*out = c;
	c->o = o;
	c->l = l;
	c->run = run;
	c->fails = fails;
	pthread_mutex_init(&c->spare_lock, NULL);
	c->nworkers = o->consumers * o->consume_threads + 1;
	c->cs = calloc(o->consumers, sizeof(*c->cs));
	if (posix_memalign((void **)&c->workers, 64,
			   c->nworkers * sizeof(*c->workers)))
		c->workers = NULL;
	if (!c->cs || !c->workers)
		return -ENOMEM;
	for (i = 0; i < c->nworkers; i++)
		bench_worker_init(&c->workers[i]);
	kmq_push_consumer_config_init(&cfg);
	bench_client_config(&cfg.client, o);
	cfg.group = o->group;
	cfg.from = o->from;
	cfg.listener = on_msgs;
	cfg.listener_arg = c;
	cfg.consume_threads = o->consume_threads;
	cfg.consume_batch_max = o->consume_batch;
	cfg.pull_batch_size = o->pull_batch;
	for (i = 0; i < o->consumers && !ret; i++) {
		ret = kmq_push_consumer_new(&cfg, &c->cs[i]);
		if (!ret)
			ret = kmq_push_consumer_subscribe(c->cs[i], o->topic,
							  "*");
		if (ret)
			fprintf(stderr, "kmq-bench %s: consumer: %s\n",
				o->name, kmq_errmsg());
	}
	return ret;
}

int bench_cons_start(struct bench_cons *c, struct bench_phase *ph)
{
	unsigned int i;
	int ret;

	ret = bench_phase_start(ph, "consume", "end to end (send to listener)",
				c->workers, c->nworkers, c->o->quiet);
	if (ret)
		return ret;
	c->t_start = ph->t_start;
	for (i = 0; i < c->o->consumers; i++) {
		ret = kmq_push_consumer_start(c->cs[i]);
		if (ret) {
			fprintf(stderr, "kmq-bench %s: consumer start: %s\n",
				c->o->name, kmq_errmsg());
			return ret;
		}
	}
	return 0;
}

/* Queues of the topic that consumer @i owns now, or -errno. */
static int owned(struct bench_cons *c, unsigned int i)
{
	struct kmq_mq *mqs;
	int n, k, mine = 0;

	n = kmq_push_consumer_queues(c->cs[i], &mqs);
	if (n < 0)
		return n;
	for (k = 0; k < n; k++)
		if (!strcmp(mqs[k].topic, c->o->topic))
			mine++;
	free(mqs);
	return mine;
}

int bench_cons_wait_queues(struct bench_cons *c, unsigned int nqueues,
			   unsigned int ms)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	uint64_t deadline = bench_now_ns() + ms * 1000000ull;
	unsigned int i, sum, idle;
	int n;

	do {
		sum = 0;
		idle = 0;
		for (i = 0; i < c->o->consumers; i++) {
			n = owned(c, i);
			sum += n > 0 ? n : 0;
			idle += n <= 0;
		}
		/* Every queue owned once; no consumer idle that has work. */
		if (sum == nqueues &&
		    (!idle || c->o->consumers > nqueues))
			return 0;
		nanosleep(&nap, NULL);
	} while (bench_now_ns() < deadline && !bench_interrupted);
	return -ETIMEDOUT;
}

uint64_t bench_cons_last_ns(struct bench_cons *c)
{
	return __atomic_load_n(&c->last_ns, __ATOMIC_RELAXED);
}

/* Sum the consumers' statistics into c->st (before they are closed). */
static void stats(struct bench_cons *c)
{
	struct kmq_consumer_stats s;
	unsigned int i;

	memset(&c->st, 0, sizeof(c->st));
	for (i = 0; i < c->o->consumers; i++) {
		kmq_push_consumer_stats(c->cs[i], &s);
		c->st.queues += s.queues;
		c->st.cached_msgs += s.cached_msgs;
		c->st.cached_bytes += s.cached_bytes;
		if (s.peak_queue_msgs > c->st.peak_queue_msgs)
			c->st.peak_queue_msgs = s.peak_queue_msgs;
		c->st.flow_control += s.flow_control;
		c->st.pulled += s.pulled;
		c->st.consumed += s.consumed;
		c->st.sent_back += s.sent_back;
		c->st.rebalances += s.rebalances;
	}
}

void bench_cons_stop(struct bench_cons *c, struct bench_phase *ph)
{
	unsigned int i;
	uint64_t end;

	stats(c);
	for (i = 0; i < c->o->consumers; i++) {
		kmq_push_consumer_free(c->cs[i]);
		c->cs[i] = NULL;
	}
	end = bench_cons_last_ns(c);
	bench_phase_stop_at(ph, end ? end : bench_now_ns());
}

uint64_t bench_cons_lost(struct bench_cons *c, uint64_t short_by)
{
	struct bench_tally t;

	bench_ledger_tally(c->l, c->run, &t);
	return t.lost > short_by ? t.lost : short_by;
}

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

json_t *bench_cons_json(struct bench_cons *c, const struct bench_phase *ph,
			uint64_t short_by)
{
	json_t *p = bench_phase_json(ph);
	struct bench_tally t;

	bench_ledger_tally(c->l, c->run, &t);
	jset(p, "delivered", json_integer(c->delivered));
	jset(p, "unique", json_integer(t.unique));
	jset(p, "duplicated", json_integer(t.duplicated));
	jset(p, "corrupted", json_integer(c->l->corrupted));
	jset(p, "lost", json_integer(bench_cons_lost(c, short_by)));
	jset(p, "streams", json_integer(t.streams));
	if (c->run) {
		jset(p, "expected", json_integer(t.expected));
		jset(p, "other_runs", json_integer(c->other_runs));
	}
	jset(p, "first_message_s",
	     c->first_ns ? json_real((c->first_ns - c->t_start) / 1e9) :
	     json_null());
	jset(p, "libkmq", json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				    "queues", (int)c->st.queues,
				    "pulled", (json_int_t)c->st.pulled,
				    "consumed", (json_int_t)c->st.consumed,
				    "cached_at_stop",
				    (json_int_t)c->st.cached_msgs,
				    "peak_queue_msgs",
				    (json_int_t)c->st.peak_queue_msgs,
				    "flow_control",
				    (json_int_t)c->st.flow_control,
				    "sent_back", (json_int_t)c->st.sent_back,
				    "rebalances",
				    (json_int_t)c->st.rebalances));
	return p;
}

void bench_cons_print(struct bench_cons *c, const struct bench_phase *ph,
		      uint64_t short_by, FILE *f)
{
	struct bench_tally t;

	bench_ledger_tally(c->l, c->run, &t);
	bench_phase_print(ph, f);
	fprintf(f, "  delivered %llu: %llu distinct in %llu stream(s),",
		(unsigned long long)c->delivered,
		(unsigned long long)t.unique, (unsigned long long)t.streams);
	fprintf(f, " duplicated %llu, corrupted %llu, lost %llu",
		(unsigned long long)t.duplicated,
		(unsigned long long)c->l->corrupted,
		(unsigned long long)bench_cons_lost(c, short_by));
	if (c->run)
		fprintf(f, "; of earlier runs %llu",
			(unsigned long long)c->other_runs);
	if (c->first_ns)
		fprintf(f, "; first after %.3f s",
			(c->first_ns - c->t_start) / 1e9);
	fprintf(f, "\n  libkmq: %u queue(s), pulled %llu, consumed %llu, cached at stop %llu,",
		c->st.queues, (unsigned long long)c->st.pulled,
		(unsigned long long)c->st.consumed,
		(unsigned long long)c->st.cached_msgs);
	fprintf(f, " flow control %llu, rebalances %llu\n",
		(unsigned long long)c->st.flow_control,
		(unsigned long long)c->st.rebalances);
}

void bench_cons_free(struct bench_cons *c)
{
	unsigned int i;

	if (!c)
		return;
	for (i = 0; c->cs && i < c->o->consumers; i++)
		kmq_push_consumer_free(c->cs[i]);
	free(c->cs);
	free(c->workers);
	pthread_mutex_destroy(&c->spare_lock);
	free(c);
}
