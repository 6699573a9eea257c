// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_async.c - libkmq's async paths against a real kmqd: a stream
 * of async sends from one thread (each callback once, stored in the order
 * sent, read back intact), async sends while the broker does not answer
 * (each times out once), pulls in flight together with
 * kmq_pull_consumer_pull_async() (every message once, callbacks that pull
 * again, errors through the callback or at once), and pulls in flight
 * when their consumer is freed (each callback once).
 */
#include <dirent.h>

#include "lk_test_util.h"

#define NSEND		20000
#define WINDOW		500
#define PULL_BATCH	32
#define PULLS_INFLIGHT	16

static struct lk_env env;

/* ---- one thread's stream of async sends ----------------------------- */

static struct {
	pthread_mutex_t lock;
	unsigned int calls[NSEND];
	int64_t offset[NSEND];
	int err[NSEND];
	unsigned int done;
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int to_queue0(const struct kmq_mq *mqs, unsigned int n,
		     const struct kmq_message *m, void *arg)
{
	return 0;
}

static void on_sent(void *arg, int err, const struct kmq_send_result *res)
{
	unsigned int i = (unsigned int)(uintptr_t)arg;

	pthread_mutex_lock(&st.lock);
	st.calls[i]++;
	st.err[i] = err;
	st.offset[i] = err ? -1 : res->queue_offset;
	st.done++;
	pthread_mutex_unlock(&st.lock);
}

static void test_stream(struct kmq_producer *p)
{
	struct kmq_selector sel = { to_queue0, NULL };
	struct kmq_pull_consumer_config cfg;
	struct kmq_pull_consumer *c;
	struct kmq_pull_result *r;
	struct kmq_mq *mqs = NULL;
	unsigned int i, refused = 0, once = 0, okays = 0, order = 0;
	unsigned int got = 0, wrong = 0;
	char body[32];
	int64_t off;

	for (i = 0; i < NSEND; i++) {
		struct kmq_message m = { .topic = "AS", .body = body };

		m.body_len = snprintf(body, sizeof(body), "as-%06u", i);
		refused += kmq_producer_send_async(p, &m, &sel, on_sent,
						   (void *)(uintptr_t)i) != 0;
	}
	is_int(refused, 0, "%d async sends from one thread, a window of %d",
	       NSEND, WINDOW);
	is_int(kmq_producer_flush(p, 30000), 0, "flush: all completed");
	for (i = 0; i < NSEND; i++) {
		once += st.calls[i] == 1;
		okays += !st.err[i];
		order += i && st.offset[i] == st.offset[i - 1] + 1;
	}
	is_int(once, NSEND, "every callback came exactly once");
	is_int(okays, NSEND, "every send succeeded");
	is_int(order, NSEND - 1,
	       "stored in the order sent: consecutive queue offsets");

	kmq_pull_consumer_config_init(&cfg);
	lk_client(&cfg.client, env.ns);
	cfg.group = "g-async-check";
	if (kmq_pull_consumer_new(&cfg, &c) ||
	    kmq_pull_consumer_queues(c, "AS", &mqs) < 1)
		kmq_tap_bail(kmq_errmsg());
	for (off = st.offset[0]; got < NSEND;) {
		if (kmq_pull_consumer_pull(c, &mqs[0], "*", off, PULL_BATCH, 0,
					   &r) || !r->nmsgs) {
			kmq_pull_result_free(r);
			break;
		}
		for (i = 0; i < r->nmsgs; i++, got++) {
			snprintf(body, sizeof(body), "as-%06u", got);
			wrong += r->msgs[i]->body_len != strlen(body) ||
				 memcmp(r->msgs[i]->body, body, strlen(body));
		}
		off = r->next_begin_offset;
		kmq_pull_result_free(r);
	}
	ok(got == NSEND && !wrong,
	   "read back: the %u bodies in the order sent, intact (%u wrong)",
	   got, wrong);
	free(mqs);
	kmq_pull_consumer_free(c);
}

/* ---- the broker does not answer ------------------------------------ */

/* Until every thread of @pid is stopped (a SIGSTOP is not instant). */
static void wait_stopped(pid_t pid)
{
	char path[64], buf[512];
	unsigned int tries, running;
	struct dirent *d;
	DIR *dir;

	for (tries = 0; tries < 100; tries++) {
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		dir = opendir(path);
		running = 0;
		while (dir && (d = readdir(dir))) {
			char *state;
			FILE *f;

			if (d->d_name[0] == '.')
				continue;
			snprintf(buf, sizeof(buf), "%s/%s/stat", path,
				 d->d_name);
			f = fopen(buf, "r");
			if (!f)
				continue;
			if (fgets(buf, sizeof(buf), f)) {
				state = strrchr(buf, ')');
				running += state && state[1] && state[2] != 'T';
			}
			fclose(f);
		}
		if (dir)
			closedir(dir);
		if (!running)
			return;
		kd_sleep_ms(10);
	}
}

static void test_timeout(void)
{
	struct kmq_selector sel = { to_queue0, NULL };
	struct kmq_producer_config pc;
	struct kmq_producer *p;
	unsigned int i, refused = 0, once = 0, timedout = 0;
	char body[] = "no answer";
	double t0, dt;

	kmq_producer_config_init(&pc);
	lk_client(&pc.client, env.ns);
	pc.group = "pg-async-timeout";
	pc.send_timeout_ms = 800;
	pc.retry_times = 0;
	pc.async_inflight_max = 1000;
	if (kmq_producer_new(&pc, &p))
		kmq_tap_bail(kmq_errmsg());
	if (lk_send(p, "AS", NULL, "warm", NULL))
		kmq_tap_bail("a first send");
	memset(&st.calls, 0, sizeof(st.calls));
	st.done = 0;
	kill(env.s.pid, SIGSTOP);
	wait_stopped(env.s.pid);
	t0 = kd_mono_ms();
	for (i = 0; i < 200; i++) {
		struct kmq_message m = { .topic = "AS", .body = body,
					 .body_len = strlen(body) };

		refused += kmq_producer_send_async(p, &m, &sel, on_sent,
						   (void *)(uintptr_t)i) != 0;
	}
	is_int(kmq_producer_flush(p, 10000), 0,
	       "kmqd stopped: 200 async sends all completed anyway");
	dt = kd_mono_ms() - t0;
	kill(env.s.pid, SIGCONT);
	for (i = 0; i < 200; i++) {
		once += st.calls[i] == 1;
		timedout += st.err[i] == -ETIMEDOUT;
	}
	ok(!refused && once == 200 && timedout == 200 && dt < 5000,
	   "each callback once, with -ETIMEDOUT, after the send timeout (%u, %u, %.0f ms)",
	   once, timedout, dt);
	is_int(lk_send(p, "AS", NULL, "after", NULL), 0,
	       "kmqd continued: sends succeed again");
	kmq_producer_free(p);
}

/* ---- pulls in flight together -------------------------------------- */

/**
 * struct pstate - pulls of queue 0 of AS in flight, completed to the
 * main thread.
 * @seen: how often each offset came
 * @chain: pulls a callback itself started one after the other
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct kmq_pull_consumer *c;
	struct kmq_mq mq;
	unsigned int inflight;
	unsigned int calls;
	unsigned int bad;
	unsigned int errors;
	int last_err;
	int64_t base;
	unsigned char seen[NSEND];
	unsigned int chain;
	bool chain_done;
} ps = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

struct prange {
	int64_t off;
	unsigned int n;
};

static void on_pulled(void *arg, int err, struct kmq_pull_result *res)
{
	struct prange *pr = arg;
	unsigned int i;

	pthread_mutex_lock(&ps.lock);
	ps.calls++;
	if (err) {
		ps.errors++;
		ps.last_err = err;
	}
	for (i = 0; res && i < res->nmsgs; i++) {
		int64_t o = res->msgs[i]->queue_offset;

		if (o != pr->off + i || o - ps.base >= NSEND)
			ps.bad++;
		else
			ps.seen[o - ps.base]++;
	}
	if (res && res->nmsgs != pr->n)
		ps.bad++;
	ps.inflight--;
	pthread_cond_signal(&ps.cv);
	pthread_mutex_unlock(&ps.lock);
	kmq_pull_result_free(res);
	free(pr);
}

static int pull_range(int64_t off, unsigned int n)
{
	struct prange *pr = malloc(sizeof(*pr));
	int ret;

	pr->off = off;
	pr->n = n;
	pthread_mutex_lock(&ps.lock);
	ps.inflight++;
	pthread_mutex_unlock(&ps.lock);
	ret = kmq_pull_consumer_pull_async(ps.c, &ps.mq, "*", off, n, 0,
					   on_pulled, pr);
	if (ret) {
		pthread_mutex_lock(&ps.lock);
		ps.inflight--;
		pthread_mutex_unlock(&ps.lock);
		free(pr);
	}
	return ret;
}

/* A callback that pulls the next range itself, 10 times. */
static void on_chain(void *arg, int err, struct kmq_pull_result *res)
{
	int64_t next = res ? res->next_begin_offset : -1;
	bool again;

	pthread_mutex_lock(&ps.lock);
	ps.chain += !err && res && res->nmsgs == PULL_BATCH &&
		    res->msgs[0]->queue_offset ==
		    ps.base + (int64_t)ps.chain * PULL_BATCH;
	again = ps.chain < 10 && !err;
	pthread_mutex_unlock(&ps.lock);
	kmq_pull_result_free(res);
	if (again && !kmq_pull_consumer_pull_async(ps.c, &ps.mq, "*", next,
						   PULL_BATCH, 0, on_chain,
						   NULL))
		return;
	pthread_mutex_lock(&ps.lock);
	ps.chain_done = true;
	pthread_cond_signal(&ps.cv);
	pthread_mutex_unlock(&ps.lock);
}

static void test_pull_async(void)
{
	struct kmq_pull_consumer_config cfg;
	struct kmq_mq *mqs = NULL, bad;
	unsigned int i, once = 0, started = 0, refused = 0;
	struct prange *pr;
	int64_t off, end;

	kmq_pull_consumer_config_init(&cfg);
	lk_client(&cfg.client, env.ns);
	cfg.group = "g-async-pull";
	if (kmq_pull_consumer_new(&cfg, &ps.c) ||
	    kmq_pull_consumer_queues(ps.c, "AS", &mqs) < 1)
		kmq_tap_bail(kmq_errmsg());
	ps.mq = mqs[0];
	free(mqs);
	ps.base = st.offset[0];
	end = ps.base + NSEND;

	for (off = ps.base; off < end; off += PULL_BATCH) {
		unsigned int n = end - off < PULL_BATCH ? end - off :
				 PULL_BATCH;

		pthread_mutex_lock(&ps.lock);
		while (ps.inflight >= PULLS_INFLIGHT)
			pthread_cond_wait(&ps.cv, &ps.lock);
		pthread_mutex_unlock(&ps.lock);
		refused += pull_range(off, n) != 0;
		started++;
	}
	pthread_mutex_lock(&ps.lock);
	while (ps.inflight)
		pthread_cond_wait(&ps.cv, &ps.lock);
	pthread_mutex_unlock(&ps.lock);
	for (i = 0; i < NSEND; i++)
		once += ps.seen[i] == 1;
	ok(!refused && ps.calls == started && !ps.errors && !ps.bad,
	   "%u async pulls, %d in flight: one callback each, no error, every message where its pull asked (%u calls, %u errors, %u misplaced)",
	   started, PULLS_INFLIGHT, ps.calls, ps.errors, ps.bad);
	is_int(once, NSEND, "every message of the queue came exactly once");

	ok(!kmq_pull_consumer_pull_async(ps.c, &ps.mq, "*", ps.base,
					 PULL_BATCH, 0, on_chain, NULL),
	   "a pull whose callback pulls the next range");
	pthread_mutex_lock(&ps.lock);
	while (!ps.chain_done)
		pthread_cond_wait(&ps.cv, &ps.lock);
	pthread_mutex_unlock(&ps.lock);
	is_int(ps.chain, 10, "ten pulls, each started by the callback before");

	ps.calls = 0;
	is_int(kmq_pull_consumer_pull_async(ps.c, &ps.mq, "*", 0, PULL_BATCH,
					    0, NULL, NULL), -EINVAL,
	       "no callback: -EINVAL");
	is_int(kmq_pull_consumer_pull_async(ps.c, &ps.mq, "*", 0, 0, 0,
					    on_pulled, NULL), -EINVAL,
	       "max_msgs 0: -EINVAL");
	is_int(kmq_pull_consumer_pull_async(ps.c, &ps.mq, "*", -1, 1, 0,
					    on_pulled, NULL), -EINVAL,
	       "a negative offset: -EINVAL");
	bad = ps.mq;
	snprintf(bad.broker_name, sizeof(bad.broker_name), "nobody");
	is_int(kmq_pull_consumer_pull_async(ps.c, &bad, "*", 0, 1, 0,
					    on_pulled, NULL), -ENOENT,
	       "a broker nobody routes: -ENOENT at once");
	kd_sleep_ms(200);
	is_int(ps.calls, 0, "... and none of these calls back");
	bad = ps.mq;
	bad.queue_id = 99;
	ps.errors = 0;
	pr = malloc(sizeof(*pr));
	pr->off = 0;
	pr->n = 1;
	pthread_mutex_lock(&ps.lock);
	ps.inflight++;
	pthread_mutex_unlock(&ps.lock);
	ok(!kmq_pull_consumer_pull_async(ps.c, &bad, "*", 0, 1, 0, on_pulled,
					 pr),
	   "a queue the topic does not have: accepted");
	pthread_mutex_lock(&ps.lock);
	while (ps.inflight)
		pthread_cond_wait(&ps.cv, &ps.lock);
	pthread_mutex_unlock(&ps.lock);
	ok(ps.calls == 1 && ps.errors == 1 && kmq_err_is_broker(ps.last_err),
	   "queue 99: the broker's error, through the one callback (%s)",
	   kmq_strerror(ps.last_err));
	kmq_pull_consumer_free(ps.c);
	ps.c = NULL;
}

/* ---- freed with pulls in flight ------------------------------------ */

static unsigned int shut_calls, shut_errs;

static void on_shut(void *arg, int err, struct kmq_pull_result *res)
{
	__atomic_add_fetch(&shut_calls, 1, __ATOMIC_RELAXED);
	if (err == -ESHUTDOWN)
		__atomic_add_fetch(&shut_errs, 1, __ATOMIC_RELAXED);
	kmq_pull_result_free(res);
}

static void test_shutdown(void)
{
	struct kmq_pull_consumer_config cfg;
	struct kmq_pull_consumer *c;
	struct kmq_mq *mqs = NULL;
	unsigned int i, refused = 0;
	int64_t max = 0;
	double t0;

	kmq_pull_consumer_config_init(&cfg);
	lk_client(&cfg.client, env.ns);
	cfg.group = "g-async-shut";
	if (kmq_pull_consumer_new(&cfg, &c) ||
	    kmq_pull_consumer_queues(c, "AS", &mqs) < 1 ||
	    kmq_pull_consumer_max_offset(c, &mqs[0], &max))
		kmq_tap_bail(kmq_errmsg());
	for (i = 0; i < 8; i++)
		refused += kmq_pull_consumer_pull_async(c, &mqs[0], "*", max,
							PULL_BATCH, 20000,
							on_shut, NULL) != 0;
	kd_sleep_ms(300);
	t0 = kd_mono_ms();
	kmq_pull_consumer_free(c);
	t0 = kd_mono_ms() - t0;
	free(mqs);
	ok(!refused && shut_calls == 8 && shut_errs == 8 && t0 < 5000,
	   "freed with 8 long-polling pulls in flight: each callback once, -ESHUTDOWN, at once (%u, %u, %.0f ms)",
	   shut_calls, shut_errs, t0);
}

int main(int argc, char **argv)
{
	static const char * const args[] = { "--ioThreads=2", NULL };
	struct kmq_producer_config pc;
	struct kmq_producer *p;

	kmq_set_log(getenv("LK_LOG") ? KMQ_LOG_DEBUG : KMQ_LOG_ERROR, NULL,
		    NULL);
	lk_start(&env, argv[0], "lkasync", args);
	lk_topic(&env, "AS", 4);
	kmq_producer_config_init(&pc);
	lk_client(&pc.client, env.ns);
	pc.group = "pg-async";
	pc.async_inflight_max = WINDOW;
	if (kmq_producer_new(&pc, &p))
		kmq_tap_bail(kmq_errmsg());
	test_stream(p);
	kmq_producer_free(p);
	test_pull_async();
	test_timeout();
	test_shutdown();
	ok(kd_server_alive(&env.s), "kmqd still running");
	kd_server_cleanup(&env.s);
	return kmq_tap_done();
}
