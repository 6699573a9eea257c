// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_drain.c - kmq-bench's drain mode: read a topic's backlog with
 * libkmq's pull consumer and check every message.
 *
 * The topic's readable queues come from its route; each queue's range is
 * [min offset, max offset) as the broker answers at the start. The queues
 * are spread over --connections pull consumers (each its own connection)
 * times --threads threads: queue i goes to thread i % (connections x
 * threads). A thread keeps --inflight pulls in flight
 * (kmq_pull_consumer_pull_async()), each of the next --pull-batch
 * messages of one of its queues in turn (no suspension), until each
 * queue's max offset; the completions come back to the thread, which
 * checks them and starts the next pulls. A pull that comes back short is
 * followed by one for the rest of its range. Every message is checked:
 * its queue and queue offset (those of its place in the pull's range),
 * its topic, and its body (bench_body.h) into a ledger, which finds
 * duplicates and gaps in the producers' sequence numbers. A pull that
 * fails or finds nothing inside the range, a misplaced or corrupted
 * message, or a gap makes the exit status 1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_client.h"
#include "bench_ledger.h"
#include "bench_report.h"
#include "bench_ropts.h"

/**
 * struct dqueue - one queue being drained.
 * @min, @max: its range at the start
 * @next: the first offset no pull has asked for yet
 * @got: messages received
 * @stopped: a pull of it failed: no more pulls
 */
struct dqueue {
	struct kmq_mq mq;
	int64_t min;
	int64_t max;
	int64_t next;
	uint64_t got;
	bool stopped;
};

struct drain;
struct dthread;

/**
 * struct dpull - a pull of [@off, @off + @n) of @q, and its outcome.
 * @t0: when it was started (its latency)
 * @err, @why: how it failed; else @res
 */
struct dpull {
	struct dthread *t;
	struct dqueue *q;
	int64_t off;
	unsigned int n;
	uint64_t t0;
	int err;
	char why[200];
	struct kmq_pull_result *res;
	struct dpull *next;
};

/**
 * struct dthread - a pulling thread and its queues (every n-th).
 * @lock, @cv, @done: completed pulls, handed over by the callbacks
 * @idle: pulls not in flight; @again: ranges to pull again (short pulls)
 * @turn: the queue whose turn it is
 */
struct dthread {
	struct drain *b;
	unsigned int id;
	pthread_t thr;
	struct kmq_pull_consumer *pc;
	uint64_t pulls;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct dpull *done;
	struct dpull *idle;
	struct dpull *again;
	struct dpull *slots;
	unsigned int inflight;
	unsigned int turn;
};

struct drain {
	struct bench_ropts o;
	struct kmq_pull_consumer **pcs;
	struct dqueue *queues;
	unsigned int nqueues;
	struct dthread *threads;
	unsigned int nthreads;
	struct bench_worker *workers;
	struct bench_ledger ledger;
	struct bench_failures fails;
	pthread_barrier_t go;
	unsigned int live;
	uint64_t misplaced;
};

#define fail(b, ...)	bench_fail(&(b)->fails, __VA_ARGS__)

/* Check one message expected at @off of @q. Return: 0 or -1 (stop). */
static int check_msg(struct drain *b, const struct dqueue *q,
		     const struct kmq_message_ext *m, int64_t off)
{
	struct bench_body h;
	const char *why;

	if (m->queue_id != q->mq.queue_id || m->queue_offset != off ||
	    strcmp(m->topic, b->o.topic)) {
		__atomic_add_fetch(&b->misplaced, 1, __ATOMIC_RELAXED);
		fail(b, "queue %d offset %lld: the message says %s queue %d offset %lld",
		     q->mq.queue_id, (long long)off, m->topic, m->queue_id,
		     (long long)m->queue_offset);
		return -1;
	}
	if (bench_ledger_take(&b->ledger, m->body, m->body_len, &h, &why) ==
	    BENCH_MSG_CORRUPT)
		fail(b, "queue %d offset %lld (%s): %s", q->mq.queue_id,
		     (long long)off, m->msg_id, why);
	return 0;
}

/* A pull's completion, on a callback thread of libkmq: to its thread. */
static void on_pulled(void *arg, int err, struct kmq_pull_result *res)
{
	struct dpull *dp = arg;
	struct dthread *t = dp->t;

	dp->err = err;
	dp->res = res;
	if (err)
		snprintf(dp->why, sizeof(dp->why), "%s", kmq_errmsg());
	pthread_mutex_lock(&t->lock);
	dp->next = t->done;
	t->done = dp;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->lock);
}

/* Check what the pull @dp brought; a short one is pulled again. */
static void pulled(struct dthread *t, struct dpull *dp)
{
	struct drain *b = t->b;
	struct kmq_pull_result *res = dp->res;
	struct dqueue *q = dp->q;
	int64_t off = dp->off, n = dp->n;
	uint64_t bytes = 0;
	unsigned int i;

	dp->res = NULL;
	if (dp->err) {
		fail(b, "queue %d offset %lld: pull: %s", q->mq.queue_id,
		     (long long)off, dp->why);
		goto stop;
	}
	if (res->status != KMQ_PULL_FOUND || !res->nmsgs) {
		fail(b, "queue %d offset %lld: none found (status %d, next %lld, max %lld)",
		     q->mq.queue_id, (long long)off, res->status,
		     (long long)res->next_begin_offset, (long long)q->max);
		goto stop;
	}
	/* More than asked would run past the range (and its count). */
	if (res->nmsgs > n) {
		fail(b, "queue %d offset %lld: %u messages for a pull of %lld",
		     q->mq.queue_id, (long long)off, res->nmsgs,
		     (long long)n);
		goto stop;
	}
	for (i = 0; i < res->nmsgs; i++) {
		bytes += res->msgs[i]->body_len;
		if (b->o.verify && check_msg(b, q, res->msgs[i], off + i))
			break;
	}
	bench_worker_add(&b->workers[t->id], i, bytes, 0,
			 bench_now_ns() - dp->t0);
	q->got += i;
	if (i < res->nmsgs || res->next_begin_offset != off + (int64_t)i) {
		if (i == res->nmsgs)
			fail(b, "queue %d: pull at %lld: %u messages, nextBeginOffset %lld",
			     q->mq.queue_id, (long long)off, i,
			     (long long)res->next_begin_offset);
		goto stop;
	}
	kmq_pull_result_free(res);
	if (i < n) {
		dp->off += i;
		dp->n -= i;
		dp->next = t->again;
		t->again = dp;
		return;
	}
	dp->next = t->idle;
	t->idle = dp;
	return;
stop:
	kmq_pull_result_free(res);
	q->stopped = true;
	dp->next = t->idle;
	t->idle = dp;
}

/* The next range of @t's queues to pull, in @dp; false when none is left. */
static bool next_range(struct dthread *t, struct dpull *dp)
{
	struct drain *b = t->b;
	unsigned int k, nq = 0, i;
	struct dqueue *q;

	for (i = t->id; i < b->nqueues; i += b->nthreads)
		nq++;
	for (k = 0; k < nq; k++) {
		i = t->id + ((t->turn + k) % nq) * b->nthreads;
		q = &b->queues[i];
		if (q->stopped || q->next >= q->max)
			continue;
		dp->q = q;
		dp->off = q->next;
		dp->n = q->max - q->next < b->o.pull_batch ?
			(unsigned int)(q->max - q->next) : b->o.pull_batch;
		q->next += dp->n;
		t->turn = (t->turn + k + 1) % nq;
		return true;
	}
	return false;
}

/* Start pulls until --inflight are in flight or nothing is left. */
static void start_pulls(struct dthread *t)
{
	struct drain *b = t->b;
	struct dpull *dp;
	int ret;

	while (!bench_interrupted) {
		if (t->again) {
			dp = t->again;
			t->again = dp->next;
			if (dp->q->stopped) {
				dp->next = t->idle;
				t->idle = dp;
				continue;
			}
		} else if (t->idle && next_range(t, t->idle)) {
			dp = t->idle;
			t->idle = dp->next;
		} else {
			return;
		}
		dp->t0 = bench_now_ns();
		dp->err = 0;
		ret = kmq_pull_consumer_pull_async(t->pc, &dp->q->mq, "*",
						   dp->off, dp->n, 0,
						   on_pulled, dp);
		t->pulls++;
		if (ret) {
			fail(b, "queue %d offset %lld: pull: %s",
			     dp->q->mq.queue_id, (long long)dp->off,
			     kmq_errmsg());
			dp->q->stopped = true;
			dp->next = t->idle;
			t->idle = dp;
			continue;
		}
		t->inflight++;
	}
}

static void *thread_main(void *arg)
{
	struct dthread *t = arg;
	struct drain *b = t->b;
	struct dpull *list, *dp;
	char name[16];

	snprintf(name, sizeof(name), "drain%u", t->id);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&b->go);
	for (;;) {
		start_pulls(t);
		if (!t->inflight)
			break;
		pthread_mutex_lock(&t->lock);
		while (!t->done)
			pthread_cond_wait(&t->cv, &t->lock);
		list = t->done;
		t->done = NULL;
		pthread_mutex_unlock(&t->lock);
		while (list) {
			dp = list;
			list = dp->next;
			t->inflight--;
			pulled(t, dp);
		}
	}
	__atomic_fetch_sub(&b->live, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int setup(struct drain *b)
{
	const struct bench_ropts *o = &b->o;
	struct kmq_pull_consumer_config cfg;
	struct kmq_mq *mqs = NULL;
	struct dqueue *q;
	unsigned int i;
	int n, ret = 0;

	kmq_pull_consumer_config_init(&cfg);
	bench_client_config(&cfg.client, o);
	/* Each thread's pulls are parsed on a callback thread of its own. */
	cfg.client.callback_threads = o->threads;
	cfg.group = o->group;
	b->pcs = calloc(o->connections, sizeof(*b->pcs));
	if (!b->pcs)
		return -ENOMEM;
	for (i = 0; i < o->connections && !ret; i++)
		ret = kmq_pull_consumer_new(&cfg, &b->pcs[i]);
	if (ret)
		goto fail;
	n = kmq_pull_consumer_queues(b->pcs[0], o->topic, &mqs);
	if (n <= 0) {
		ret = n ? n : -ENOENT;
		goto fail;
	}
	b->nqueues = n;
	b->queues = calloc(n, sizeof(*b->queues));
	if (!b->queues) {
		free(mqs);
		return -ENOMEM;
	}
	for (i = 0; i < b->nqueues && !ret; i++) {
		q = &b->queues[i];
		q->mq = mqs[i];
		ret = kmq_pull_consumer_min_offset(b->pcs[0], &q->mq, &q->min);
		if (!ret)
			ret = kmq_pull_consumer_max_offset(b->pcs[0], &q->mq,
							   &q->max);
		if (!ret && q->min > q->max)
			q->min = q->max;
		q->next = q->min;
	}
	free(mqs);
	if (ret)
		goto fail;
	b->nthreads = o->connections * o->threads;
	b->threads = calloc(b->nthreads, sizeof(*b->threads));
	if (posix_memalign((void **)&b->workers, 64,
			   b->nthreads * sizeof(*b->workers)))
		b->workers = NULL;
	if (!b->threads || !b->workers)
		return -ENOMEM;
	for (i = 0; i < b->nthreads; i++) {
		struct dthread *t = &b->threads[i];
		unsigned int k;

		t->b = b;
		t->id = i;
		t->pc = b->pcs[i / o->threads];
		pthread_mutex_init(&t->lock, NULL);
		pthread_cond_init(&t->cv, NULL);
		t->slots = calloc(o->inflight, sizeof(*t->slots));
		if (!t->slots)
			return -ENOMEM;
		for (k = 0; k < o->inflight; k++) {
			t->slots[k].t = t;
			t->slots[k].next = t->idle;
			t->idle = &t->slots[k];
		}
		bench_worker_init(&b->workers[i]);
	}
	return 0;
fail:
	fprintf(stderr, "kmq-bench drain: %s\n", kmq_errmsg());
	return ret;
}

static void cleanup(struct drain *b)
{
	unsigned int i;

	for (i = 0; b->pcs && i < b->o.connections; i++)
		kmq_pull_consumer_free(b->pcs[i]);
	free(b->pcs);
	for (i = 0; b->threads && i < b->nthreads; i++) {
		if (!b->threads[i].b)
			continue;
		free(b->threads[i].slots);
		pthread_mutex_destroy(&b->threads[i].lock);
		pthread_cond_destroy(&b->threads[i].cv);
	}
	free(b->queues);
	free(b->threads);
	free(b->workers);
	bench_ledger_free(&b->ledger);
}

static int run(struct drain *b, struct bench_phase *ph)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	unsigned int i, started;
	int err;

	err = pthread_barrier_init(&b->go, NULL, b->nthreads + 1);
	if (err)
		return -err;
	b->live = b->nthreads;
	for (started = 0; started < b->nthreads; started++) {
		err = pthread_create(&b->threads[started].thr, NULL,
				     thread_main, &b->threads[started]);
		if (err)
			break;
	}
	if (err) {
		fprintf(stderr, "kmq-bench: cannot start drain thread %u: %s\n",
			started, strerror(err));
		exit(2);
	}
	err = bench_phase_start(ph, "drain", "pull", b->workers, b->nthreads,
				b->o.quiet);
	if (err)
		exit(2);
	pthread_barrier_wait(&b->go);
	while (__atomic_load_n(&b->live, __ATOMIC_ACQUIRE))
		nanosleep(&nap, NULL);
	for (i = 0; i < b->nthreads; i++)
		pthread_join(b->threads[i].thr, NULL);
	bench_phase_stop(ph);
	pthread_barrier_destroy(&b->go);
	return 0;
}

/**
 * struct outcome - the drain's counts.
 * @short_by: messages of the ranges not received
 * @lost: the larger of @short_by and the ledger's gaps
 */
struct outcome {
	struct bench_cpu cpu;
	uint64_t expected;
	uint64_t got;
	uint64_t short_by;
	uint64_t pulls;
	uint64_t lost;
	struct bench_tally t;
};

static void sum_up(struct drain *b, struct outcome *r)
{
	const struct dqueue *q;
	unsigned int i;

	for (i = 0; i < b->nqueues; i++) {
		q = &b->queues[i];
		r->expected += q->max - q->min;
		r->got += q->got;
		r->short_by += q->max - q->min - q->got;
	}
	for (i = 0; i < b->nthreads; i++)
		r->pulls += b->threads[i].pulls;
	bench_ledger_tally(&b->ledger, 0, &r->t);
	r->lost = r->short_by > r->t.lost ? r->short_by : r->t.lost;
	if (bench_interrupted)
		fail(b, "interrupted");
	else if (r->lost)
		fail(b, "%llu message(s) lost (%llu not read, %llu gaps in the streams)",
		     (unsigned long long)r->lost,
		     (unsigned long long)r->short_by,
		     (unsigned long long)r->t.lost);
}

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static void print_json(struct drain *b, const struct bench_phase *ph,
		       const struct outcome *r)
{
	const struct bench_ropts *o = &b->o;
	json_t *j = json_object(), *c = json_object(), *p;

	jset(c, "namesrv", json_string(o->namesrv));
	jset(c, "topic", json_string(o->topic));
	jset(c, "queues", json_integer(b->nqueues));
	jset(c, "connections", json_integer(o->connections));
	jset(c, "threads", json_integer(o->threads));
	jset(c, "pull_batch", json_integer(o->pull_batch));
	jset(c, "inflight", json_integer(o->inflight));
	jset(c, "serialize", json_string(bench_serialize_name(o->ser)));
	jset(c, "verify", json_string(o->verify ? "all" : "none"));

	p = bench_phase_json(ph);
	jset(p, "expected", json_integer(r->expected));
	jset(p, "verified", json_integer(o->verify ? r->t.unique +
					 r->t.duplicated : 0));
	jset(p, "pulls", json_integer(r->pulls));
	jset(p, "lost", json_integer(r->lost));
	jset(p, "duplicated", json_integer(r->t.duplicated));
	jset(p, "corrupted", json_integer(b->ledger.corrupted));
	jset(p, "misplaced", json_integer(b->misplaced));
	jset(p, "streams", json_integer(r->t.streams));

	jset(j, "mode", json_string("drain"));
	jset(j, "config", c);
	jset(j, "drain", p);
	bench_summary_end(j, &r->cpu, &b->fails);
}

static void print_text(struct drain *b, const struct bench_phase *ph,
		       const struct outcome *r)
{
	const struct bench_ropts *o = &b->o;

	printf("drain: topic %s via %s, %u queue(s), %s headers\n", o->topic,
	       o->namesrv, b->nqueues, bench_serialize_name(o->ser));
	printf("  %u consumer(s) x %u thread(s), pulls of %u, %u in flight per thread\n",
	       o->connections, o->threads, o->pull_batch, o->inflight);
	bench_phase_print(ph, stdout);
	printf("  expected %llu, read %llu in %llu pulls; verify %s:",
	       (unsigned long long)r->expected, (unsigned long long)r->got,
	       (unsigned long long)r->pulls, o->verify ? "all" : "none");
	printf(" %llu distinct in %llu stream(s),",
	       (unsigned long long)r->t.unique,
	       (unsigned long long)r->t.streams);
	printf(" duplicated %llu, corrupted %llu, misplaced %llu, lost %llu\n",
	       (unsigned long long)r->t.duplicated,
	       (unsigned long long)b->ledger.corrupted,
	       (unsigned long long)b->misplaced, (unsigned long long)r->lost);
	bench_summary_end(NULL, &r->cpu, &b->fails);
}

void bench_drain_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench drain [options]\n"
		"  Reads a topic's backlog with libkmq's pull consumer: every queue of\n"
		"  its route from its min offset to the max offset it had at the start,\n"
		"  --inflight async pulls in flight per thread, and checks every message:\n"
		"  queue, offset, topic, and the body written by kmq-bench (checksum,\n"
		"  filler; duplicates and gaps per stream).\n"
		"  Latency is per pull. MB/s counts body bytes.\n");
	bench_ropts_usage(f, BENCH_M_DRAIN);
	fprintf(f,
		"  Exit status: 0, 1 when a message is missing, misplaced or corrupted,\n"
		"  or a pull fails (duplicates are counted, not failed); 2 for bad\n"
		"  flags or setup.\n");
}

int bench_drain_main(int argc, char **argv)
{
	struct outcome r = { 0 };
	struct bench_phase ph;
	struct drain b;
	unsigned int nq, i;
	int ret, status = 2;

	memset(&b, 0, sizeof(b));
	ret = bench_ropts_parse(&b.o, BENCH_M_DRAIN, "drain", argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	bench_catch_signals();
	b.o.create = false;
	if (bench_topic_prepare(&b.o, &nq) || bench_ledger_init(&b.ledger))
		return 2;
	ret = setup(&b);
	if (ret) {
		if (ret == -ENOMEM)
			fprintf(stderr, "kmq-bench drain: out of memory\n");
		goto out;
	}
	if (!b.o.quiet) {
		uint64_t n = 0;

		for (i = 0; i < b.nqueues; i++)
			n += b.queues[i].max - b.queues[i].min;
		fprintf(stderr, "drain: topic %s, %llu messages in %u queue(s), %u thread(s)\n",
			b.o.topic, (unsigned long long)n, b.nqueues,
			b.nthreads);
	}
	bench_cpu_start(&r.cpu);
	run(&b, &ph);
	bench_cpu_stop(&r.cpu);
	sum_up(&b, &r);
	if (b.o.json)
		print_json(&b, &ph, &r);
	else
		print_text(&b, &ph, &r);
	bench_phase_free(&ph);
	status = b.fails.count ? 1 : 0;
out:
	cleanup(&b);
	return status;
}
