// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_produce.c - kmq-bench's producers on libkmq (bench_produce.h),
 * and the produce mode.
 *
 * Each of --connections producers (struct kmq_producer: its own
 * connection, I/O thread and callback thread) has --threads sending
 * threads. A thread writes a body (bench_body.h: run, stream, sequence
 * number, send time, checksum) and hands it to kmq_producer_send_async()
 * (--batch 1, SEND_MESSAGE_V2) or kmq_producer_send_batch_async()
 * (SEND_BATCH_MESSAGE), which blocks while --inflight sends of its
 * producer await their response: libkmq's async_inflight_max is the
 * window. The callback of each send times it, from just before the call
 * to the callback, and counts the send status.
 *
 * With --rate, each sender paces its sends on a schedule of its own (the
 * rate split evenly), sleeping until the next slot; a sender that falls
 * more than a second behind restarts its schedule instead of bursting.
 *
 * The callback's argument carries the sender and the send time, so that
 * nothing is allocated per send: bits 0-15 are the sender, the rest the
 * nanoseconds since the run started (78 hours fit).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_body.h"
#include "bench_client.h"
#include "bench_produce.h"

#define ARG_SENDER_BITS		16
#define FLUSH_GRACE_MS		5000

_Static_assert(sizeof(void *) >= 8, "the callback argument needs 64 bits");
_Static_assert(BENCH_MAX_CONNECTIONS * BENCH_MAX_THREADS <=
	       (1 << ARG_SENDER_BITS), "senders must fit the argument");

#define NSTATUS	(KMQ_SEND_SLAVE_NOT_AVAILABLE + 1)

/**
 * struct bench_pconn - one producer and what its callbacks count.
 * @lock: taken by the callbacks (the producer's callback thread, or a
 *	sending thread when a send fails at once)
 * @w: its progress counters and latency histogram
 * @next_off: --check-responses: least queueOffset of each queue id
 * @status: acknowledged sends by status
 */
struct bench_pconn {
	struct kmq_producer *p;
	pthread_mutex_t lock;
	struct bench_worker *w;
	int64_t *next_off;
	uint64_t status[NSTATUS];
};

/**
 * struct bench_sender - one sending thread: one stream of sequence numbers.
 * @seq: messages handed to libkmq
 * @limit: messages to send, 0 for no limit
 * @requests: sends started
 * @acked, @failed: messages acknowledged, messages of failed sends
 *	(updated by callbacks)
 */
struct bench_sender {
	struct bench_prod *pr;
	unsigned int id;
	unsigned int conn;
	pthread_t thr;
	uint64_t seq;
	uint64_t limit;
	uint64_t requests;
	uint64_t acked;
	uint64_t failed;
	uint64_t failed_requests;
} __attribute__((aligned(64)));

struct bench_prod {
	const struct bench_ropts *o;
	uint32_t run;
	struct bench_failures *fails;
	struct bench_pconn *conns;
	struct bench_worker *workers;
	struct bench_sender *senders;
	unsigned int nsenders;
	uint64_t t0;
	int stop;
	unsigned int live;
	pthread_barrier_t go;
};

static struct bench_prod *the_prod;

#define fail(pr, ...)	bench_fail((pr)->fails, __VA_ARGS__)

static bool stopped(struct bench_prod *pr)
{
	return __atomic_load_n(&pr->stop, __ATOMIC_RELAXED);
}

/* --check-responses: a msgId, and offsets increasing per queue. */
static void check_result(struct bench_prod *pr, struct bench_pconn *pc,
			 const struct bench_sender *s,
			 const struct kmq_send_result *res)
{
	int q = res->mq.queue_id;

	if (!res->msg_id[0] || !res->offset_msg_id[0]) {
		fail(pr, "stream %u: a send result without msgId", s->id);
		return;
	}
	if (q < 0 || q >= BENCH_MAX_QUEUES || res->queue_offset < 0) {
		fail(pr, "stream %u: send result for queue %d offset %lld",
		     s->id, q, (long long)res->queue_offset);
		return;
	}
	if (res->queue_offset < pc->next_off[q])
		fail(pr, "producer %u: queue %d: queueOffset %lld after %lld",
		     s->conn, q, (long long)res->queue_offset,
		     (long long)pc->next_off[q]);
	else
		pc->next_off[q] = res->queue_offset + res->count;
}

static void on_sent(void *arg, int err, const struct kmq_send_result *res)
{
	struct bench_prod *pr = the_prod;
	uintptr_t v = (uintptr_t)arg;
	struct bench_sender *s = &pr->senders[v & ((1u << ARG_SENDER_BITS) - 1)];
	struct bench_pconn *pc = &pr->conns[s->conn];
	uint64_t now = bench_now_ns(), sent = pr->t0 + (v >> ARG_SENDER_BITS);
	const struct bench_ropts *o = pr->o;

	if (err) {
		__atomic_add_fetch(&s->failed, o->batch, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->failed_requests, 1, __ATOMIC_RELAXED);
		fail(pr, "stream %u: send: %s", s->id, kmq_errmsg());
		return;
	}
	pthread_mutex_lock(&pc->lock);
	if (res->status < NSTATUS)
		pc->status[res->status]++;
	if (res->status == KMQ_SEND_FLUSH_DISK_TIMEOUT &&
	    o->flush == BENCH_FLUSH_SYNC)
		fail(pr, "stream %u: FLUSH_DISK_TIMEOUT where SYNC_FLUSH was expected",
		     s->id);
	if (o->check)
		check_result(pr, pc, s, res);
	bench_worker_add(pc->w, res->count, (uint64_t)res->count * o->size, 0,
			 now > sent ? now - sent : 0);
	pthread_mutex_unlock(&pc->lock);
	__atomic_add_fetch(&s->acked, res->count, __ATOMIC_RELAXED);
}

/* --rate: wait for the next slot of @s's schedule. */
static void pace(uint64_t *next, uint64_t every)
{
	uint64_t now = bench_now_ns();
	struct timespec ts;

	if (now + 1000000000ull < *next || now > *next + 1000000000ull)
		*next = now;
	if (now < *next) {
		ts.tv_sec = *next / 1000000000ull;
		ts.tv_nsec = *next % 1000000000ull;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	*next += every;
}

static void *sender_main(void *arg)
{
	struct bench_sender *s = arg;
	struct bench_prod *pr = s->pr;
	const struct bench_ropts *o = pr->o;
	struct kmq_producer *p = pr->conns[s->conn].p;
	struct bench_body h = { .run = pr->run, .stream = s->id };
	struct kmq_message *m;
	uint64_t every = 0, next;
	uint32_t n, k;
	uint8_t *buf;
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "send%u", s->id);
	pthread_setname_np(pthread_self(), name);
	buf = malloc((size_t)o->batch * o->size);
	m = calloc(o->batch, sizeof(*m));
	pthread_barrier_wait(&pr->go);
	if (!buf || !m) {
		fail(pr, "stream %u: out of memory", s->id);
		goto out;
	}
	/* libkmq copies a body when called: only headers change after. */
	for (k = 0; k < o->batch; k++) {
		m[k].topic = o->topic;
		m[k].body = buf + (size_t)k * o->size;
		m[k].body_len = o->size;
		bench_body_put(buf + (size_t)k * o->size, o->size, &h);
	}
	if (o->rate)
		every = (uint64_t)(1e9 * pr->nsenders * o->batch / o->rate);
	next = bench_now_ns();
	while (!stopped(pr) && (!s->limit || s->seq < s->limit)) {
		if (every)
			pace(&next, every);
		n = o->batch;
		if (s->limit && s->limit - s->seq < n)
			n = (uint32_t)(s->limit - s->seq);
		h.sent_ns = bench_now_ns();
		for (k = 0; k < n; k++) {
			h.seq = s->seq + k;
			bench_body_put_header(buf + (size_t)k * o->size,
					      o->size, &h);
		}
		arg = (void *)(uintptr_t)((h.sent_ns - pr->t0) <<
					  ARG_SENDER_BITS | s->id);
		if (o->batch > 1)
			ret = kmq_producer_send_batch_async(p, m, n, NULL,
							    on_sent, arg);
		else
			ret = kmq_producer_send_async(p, m, NULL, on_sent,
						      arg);
		s->requests++;
		if (ret) {
			/* No callback comes: count it here, and stop. */
			__atomic_add_fetch(&s->failed, n, __ATOMIC_RELAXED);
			__atomic_add_fetch(&s->failed_requests, 1,
					   __ATOMIC_RELAXED);
			fail(pr, "stream %u: send: %s", s->id, kmq_errmsg());
			s->seq += n;
			break;
		}
		s->seq += n;
	}
out:
	free(buf);
	free(m);
	__atomic_fetch_sub(&pr->live, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int new_producer(struct bench_prod *pr, unsigned int i)
{
	const struct bench_ropts *o = pr->o;
	struct bench_pconn *pc = &pr->conns[i];
	struct kmq_producer_config cfg;
	int ret;

	kmq_producer_config_init(&cfg);
	bench_client_config(&cfg.client, o);
	cfg.group = o->producer_group;
	cfg.send_timeout_ms = o->timeout_ms;
	cfg.async_inflight_max = o->inflight;
	cfg.max_message_size = BENCH_MAX_SIZE + 65536;
	cfg.default_topic_queues = o->queues;
	if (!o->compress)
		cfg.compress_threshold = 0;
	pthread_mutex_init(&pc->lock, NULL);
	pc->w = &pr->workers[i];
	bench_worker_init(pc->w);
	pc->next_off = calloc(BENCH_MAX_QUEUES, sizeof(*pc->next_off));
	if (!pc->next_off)
		return -ENOMEM;
	ret = kmq_producer_new(&cfg, &pc->p);
	if (ret)
		fprintf(stderr, "kmq-bench %s: producer: %s\n", o->name,
			kmq_errmsg());
	return ret;
}

int bench_prod_new(const struct bench_ropts *o, uint32_t run,
		   struct bench_failures *fails, struct bench_prod **out)
{
	struct bench_prod *pr = calloc(1, sizeof(*pr));
	uint64_t per, extra;
	struct bench_sender *s;
	unsigned int i;
	int ret = 0;

	if (!pr)
		return -ENOMEM;
	pr->o = o;
	pr->run = run;
	pr->fails = fails;
	pr->nsenders = o->connections * o->threads;
	pr->conns = calloc(o->connections, sizeof(*pr->conns));
	if (posix_memalign((void **)&pr->workers, 64,
			   o->connections * sizeof(*pr->workers)))
		pr->workers = NULL;
	if (posix_memalign((void **)&pr->senders, 64,
			   pr->nsenders * sizeof(*pr->senders)))
		pr->senders = NULL;
	if (!pr->conns || !pr->workers || !pr->senders) {
		free(pr->conns);
		free(pr->workers);
		free(pr->senders);
		free(pr);
		return -ENOMEM;
	}
	memset(pr->senders, 0, pr->nsenders * sizeof(*pr->senders));
	*out = pr;
	per = o->count / pr->nsenders;
	extra = o->count % pr->nsenders;
	for (i = 0; i < pr->nsenders; i++) {
		s = &pr->senders[i];
		s->pr = pr;
		s->id = i;
		s->conn = i / o->threads;
		s->limit = o->count ? per + (i < extra) : 0;
	}
	for (i = 0; i < o->connections && !ret; i++)
		ret = new_producer(pr, i);
	the_prod = pr;
	return ret;
}

/* Wait for the sends in flight; what does not complete is a failure. */
static void flush_all(struct bench_prod *pr)
{
	unsigned int i;

	for (i = 0; i < pr->o->connections; i++)
		if (kmq_producer_flush(pr->conns[i].p,
				       pr->o->timeout_ms + FLUSH_GRACE_MS))
			fail(pr, "producer %u: %s", i, kmq_errmsg());
}

int bench_prod_run(struct bench_prod *pr, struct bench_phase *ph)
{
	const struct bench_ropts *o = pr->o;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	unsigned int i, started;
	uint64_t deadline = 0;
	int err;

	err = pthread_barrier_init(&pr->go, NULL, pr->nsenders + 1);
	if (err)
		return -err;
	pr->live = pr->nsenders;
	pr->t0 = bench_now_ns();
	for (started = 0; started < pr->nsenders; started++) {
		err = pthread_create(&pr->senders[started].thr, NULL,
				     sender_main, &pr->senders[started]);
		if (err)
			break;
	}
	if (err) {
		/* The barrier would never open: stop here, loudly. */
		fprintf(stderr, "kmq-bench: cannot start sending thread %u: %s\n",
			started, strerror(err));
		exit(2);
	}
	err = bench_phase_start(ph, "produce", "send (call to ack)",
				pr->workers, o->connections, o->quiet);
	if (err)
		exit(2);
	if (o->duration_s)
		deadline = ph->t_start + o->duration_s * 1000000000ull;
	pthread_barrier_wait(&pr->go);
	while (__atomic_load_n(&pr->live, __ATOMIC_ACQUIRE)) {
		if (bench_interrupted ||
		    (deadline && bench_now_ns() >= deadline))
			__atomic_store_n(&pr->stop, 1, __ATOMIC_RELAXED);
		nanosleep(&nap, NULL);
	}
	for (i = 0; i < pr->nsenders; i++)
		pthread_join(pr->senders[i].thr, NULL);
	flush_all(pr);
	bench_phase_stop(ph);
	pthread_barrier_destroy(&pr->go);
	return 0;
}

int bench_prod_expect(struct bench_prod *pr, struct bench_ledger *l)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < pr->nsenders && !ret; i++)
		ret = bench_ledger_expect(l, pr->run, i,
					  __atomic_load_n(&pr->senders[i].acked,
							  __ATOMIC_RELAXED));
	return ret;
}

uint64_t bench_prod_acked(struct bench_prod *pr)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < pr->nsenders; i++)
		n += __atomic_load_n(&pr->senders[i].acked, __ATOMIC_RELAXED);
	return n;
}

/**
 * struct totals - a run's counts over its senders and producers.
 */
struct totals {
	uint64_t sent;
	uint64_t requests;
	uint64_t acked;
	uint64_t failed;
	uint64_t failed_requests;
	uint64_t status[NSTATUS];
};

static void sum_up(struct bench_prod *pr, struct totals *t)
{
	const struct bench_sender *s;
	unsigned int i, k;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < pr->nsenders; i++) {
		s = &pr->senders[i];
		t->sent += s->seq;
		t->requests += s->requests;
		t->acked += s->acked;
		t->failed += s->failed;
		t->failed_requests += s->failed_requests;
	}
	for (i = 0; i < pr->o->connections; i++)
		for (k = 0; k < NSTATUS; k++)
			t->status[k] += pr->conns[i].status[k];
}

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

json_t *bench_prod_json(struct bench_prod *pr, const struct bench_phase *ph)
{
	json_t *p = bench_phase_json(ph), *st = json_object();
	struct totals t;
	unsigned int k;

	sum_up(pr, &t);
	jset(p, "messages_sent", json_integer(t.sent));
	jset(p, "requests", json_integer(t.requests));
	jset(p, "acknowledged", json_integer(t.acked));
	jset(p, "errors", json_integer(t.failed_requests));
	jset(p, "failed_messages", json_integer(t.failed));
	jset(p, "flush_timeouts",
	     json_integer(t.status[KMQ_SEND_FLUSH_DISK_TIMEOUT]));
	for (k = 0; k < NSTATUS; k++)
		jset(st, kmq_send_status_name(k), json_integer(t.status[k]));
	jset(p, "send_status", st);
	return p;
}

void bench_prod_print(struct bench_prod *pr, const struct bench_phase *ph,
		      FILE *f)
{
	struct totals t;

	sum_up(pr, &t);
	bench_phase_print(ph, f);
	fprintf(f, "  sent %llu messages in %llu sends: acknowledged %llu,",
		(unsigned long long)t.sent, (unsigned long long)t.requests,
		(unsigned long long)t.acked);
	fprintf(f, " failed %llu in %llu sends\n", (unsigned long long)t.failed,
		(unsigned long long)t.failed_requests);
	fprintf(f, "  send status: SEND_OK %llu, FLUSH_DISK_TIMEOUT %llu,",
		(unsigned long long)t.status[KMQ_SEND_OK],
		(unsigned long long)t.status[KMQ_SEND_FLUSH_DISK_TIMEOUT]);
	fprintf(f, " FLUSH_SLAVE_TIMEOUT %llu, SLAVE_NOT_AVAILABLE %llu (sends)\n",
		(unsigned long long)t.status[KMQ_SEND_FLUSH_SLAVE_TIMEOUT],
		(unsigned long long)t.status[KMQ_SEND_SLAVE_NOT_AVAILABLE]);
}

void bench_prod_free(struct bench_prod *pr)
{
	unsigned int i;

	if (!pr)
		return;
	for (i = 0; i < pr->o->connections; i++) {
		kmq_producer_free(pr->conns[i].p);
		free(pr->conns[i].next_off);
		pthread_mutex_destroy(&pr->conns[i].lock);
	}
	if (the_prod == pr)
		the_prod = NULL;
	free(pr->conns);
	free(pr->workers);
	free(pr->senders);
	free(pr);
}
