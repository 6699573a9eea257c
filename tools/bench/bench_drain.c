// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_drain.c - kmq-bench's drain mode: read a topic's backlog with
 * libkmq's pull consumer and check every message.
 *
 * The topic's readable queues come from its route; each queue's range is
 * [min offset, max offset) as the broker answers at the start. The queues
 * are spread over --connections pull consumers (each its own connection)
 * times --threads threads: queue i goes to thread i % (connections x
 * threads). A thread pulls its queues one after the other, --pull-batch
 * messages a pull (no suspension), until each queue's max offset. Every
 * message is checked: its queue and queue offset (the next one
 * expected), its topic, and its body (bench_body.h) into a ledger, which
 * finds duplicates and gaps in the producers' sequence numbers. A pull
 * that fails or comes back short of the range, a misplaced or corrupted
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
 * @got: messages received
 */
struct dqueue {
	struct kmq_mq mq;
	int64_t min;
	int64_t max;
	uint64_t got;
};

struct drain;

/* struct dthread - a pulling thread and its queues (every n-th). */
struct dthread {
	struct drain *b;
	unsigned int id;
	pthread_t thr;
	struct kmq_pull_consumer *pc;
	uint64_t pulls;
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

/* Pull [min, max) of @q. */
static void drain_queue(struct dthread *t, struct dqueue *q)
{
	struct drain *b = t->b;
	struct bench_worker *w = &b->workers[t->id];
	struct kmq_pull_result *res;
	int64_t off = q->min, n;
	uint64_t t0, bytes;
	unsigned int i;
	int ret;

	while (off < q->max && !bench_interrupted) {
		n = q->max - off;
		if (n > b->o.pull_batch)
			n = b->o.pull_batch;
		t0 = bench_now_ns();
		ret = kmq_pull_consumer_pull(t->pc, &q->mq, "*", off,
					     (unsigned int)n, 0, &res);
		t->pulls++;
		if (ret) {
			fail(b, "queue %d offset %lld: pull: %s",
			     q->mq.queue_id, (long long)off, kmq_errmsg());
			return;
		}
		if (res->status != KMQ_PULL_FOUND || !res->nmsgs) {
			fail(b, "queue %d offset %lld: none found (status %d, next %lld, max %lld)",
			     q->mq.queue_id, (long long)off, res->status,
			     (long long)res->next_begin_offset,
			     (long long)q->max);
			kmq_pull_result_free(res);
			return;
		}
		/* More than asked would run past the range (and its count). */
		if (res->nmsgs > n) {
			fail(b, "queue %d offset %lld: %u messages for a pull of %lld",
			     q->mq.queue_id, (long long)off, res->nmsgs,
			     (long long)n);
			kmq_pull_result_free(res);
			return;
		}
		bytes = 0;
		for (i = 0; i < res->nmsgs; i++) {
			bytes += res->msgs[i]->body_len;
			if (b->o.verify &&
			    check_msg(b, q, res->msgs[i], off + i))
				break;
		}
		bench_worker_add(w, i, bytes, 0, bench_now_ns() - t0);
		q->got += i;
		if (i < res->nmsgs ||
		    res->next_begin_offset != off + (int64_t)i) {
			if (i == res->nmsgs)
				fail(b, "queue %d: pull at %lld: %u messages, nextBeginOffset %lld",
				     q->mq.queue_id, (long long)off, i,
				     (long long)res->next_begin_offset);
			kmq_pull_result_free(res);
			return;
		}
		off += i;
		kmq_pull_result_free(res);
	}
}

static void *thread_main(void *arg)
{
	struct dthread *t = arg;
	struct drain *b = t->b;
	char name[16];
	unsigned int i;

	snprintf(name, sizeof(name), "drain%u", t->id);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&b->go);
	for (i = t->id; i < b->nqueues; i += b->nthreads)
		drain_queue(t, &b->queues[i]);
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
		b->threads[i].b = b;
		b->threads[i].id = i;
		b->threads[i].pc = b->pcs[i / o->threads];
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
	printf("  %u consumer(s) x %u thread(s), pulls of %u\n",
	       o->connections, o->threads, o->pull_batch);
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
		"  and checks every message: queue, offset, topic, and the body written\n"
		"  by kmq-bench (checksum, filler; duplicates and gaps per stream).\n"
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
