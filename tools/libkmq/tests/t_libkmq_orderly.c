// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_orderly.c - libkmq's orderly push consumer on the broker's
 * queue locks (LOCK_BATCH_MQ 41, UNLOCK_BATCH_MQ 42), against real kmqd:
 * per-key order holds across rebalances (a second and a third consumer
 * join, one leaves) while listener calls last 1.5 s, longer than the
 * client-side takeover delay (1 s) libkmq used before, so only the locks
 * keep two consumers off one queue; the locks of a consumer killed with
 * SIGKILL go with its connection and another consumer takes its queues
 * (long before the 60 s expiry). Against a kmqd whose locks expire after
 * 2 s (KMQD_REBALANCE_LOCK_MAX_LIVE_TIME): renewals keep a lock; a queue
 * locked by another client is consumed only once that lock expired; a
 * consumer that cannot reach its broker stops consuming after
 * lock_max_live_ms; a consumer whose lock was taken stops, and when it
 * gets the lock back goes on from where the other holder committed.
 */
#include <poll.h>
#include <sys/prctl.h>

#include "kmqd_admin.h"
#include "lk_test_util.h"

#define LONG_MS		1500	/* > the old orderly_takeover_ms (1000) */
#define SHORT_TTL_MS	2000	/* the second kmqd's lock expiry */

static const char *argv0;
static struct lk_env env;

/* ---- per-key order -------------------------------------------------- */

#define MAX_KEYS	16
#define MAX_QUEUES	8

/*
 * struct order - what the listeners of one test saw: per key, the last
 * sequence number (bodies are "k<key>-<seq>"); per queue, who is in a
 * listener call now and when the last call ended. @long_moves counts the
 * moves of a queue whose old owner was still in a listener call more than
 * 1 s after the group changed (at @change_ms).
 */
struct order {
	pthread_mutex_t lock;
	int last[MAX_KEYS];
	unsigned int back;		/* a key's seq went back or repeated */
	unsigned int skipped;		/* a key's seq jumped ahead */
	unsigned int total;
	unsigned int by[4];
	unsigned int overlap;		/* a queue in two listeners at once */
	int busy[MAX_QUEUES];
	int last_who[MAX_QUEUES];
	double last_end[MAX_QUEUES];
	unsigned int moves;		/* a queue went to another consumer */
	unsigned int long_moves;	/* ... still in a call 1 s later */
	double change_ms;		/* when the group last changed */
	double first_ms;		/* first call, and the last one */
	double last_ms;
	unsigned int sleep_ms;		/* each call sleeps this long */
	int fd;				/* child: write a byte per call */
};

static void order_init(struct order *o)
{
	unsigned int i;

	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	for (i = 0; i < MAX_KEYS; i++)
		o->last[i] = -1;
	o->sleep_ms = 5;
	o->fd = -1;
}

/* A consumer's listener argument: its order record and its id. */
struct who {
	struct order *o;
	int id;
};

static enum kmq_consume_status in_order(void *arg,
					const struct kmq_message_ext *const *m,
					unsigned int n, struct kmq_consume_ctx *ctx)
{
	struct who *w = arg;
	struct order *o = w->o;
	int q = ctx->mq.queue_id % MAX_QUEUES;
	unsigned int i, k, seq, ms;
	double start = kd_mono_ms();

	if (o->fd >= 0) {		/* the stuck child: never returns */
		if (write(o->fd, "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	if (__atomic_exchange_n(&o->busy[q], w->id, __ATOMIC_ACQ_REL))
		__atomic_add_fetch(&o->overlap, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&o->lock);
	if (!o->first_ms)
		o->first_ms = start;
	if (o->last_who[q] && o->last_who[q] != w->id) {
		o->moves++;
		if (o->change_ms && o->last_end[q] > o->change_ms + 1000)
			o->long_moves++;
	}
	for (i = 0; i < n; i++) {
		if (sscanf((const char *)m[i]->body, "k%u-%u", &k, &seq) != 2 ||
		    k >= MAX_KEYS)
			continue;
		if ((int)seq <= o->last[k])
			o->back++;
		else if ((int)seq != o->last[k] + 1)
			o->skipped++;
		if ((int)seq > o->last[k])
			o->last[k] = seq;
		o->total++;
		o->by[w->id & 3]++;
	}
	ms = o->sleep_ms;
	pthread_mutex_unlock(&o->lock);
	kd_sleep_ms(ms);
	pthread_mutex_lock(&o->lock);
	o->last_who[q] = w->id;
	o->last_end[q] = kd_mono_ms();
	o->last_ms = o->last_end[q];
	pthread_mutex_unlock(&o->lock);
	__atomic_store_n(&o->busy[q], 0, __ATOMIC_RELEASE);
	return KMQ_CONSUME_SUCCESS;
}

static unsigned int order_total(struct order *o)
{
	unsigned int t;

	pthread_mutex_lock(&o->lock);
	t = o->total;
	pthread_mutex_unlock(&o->lock);
	return t;
}

static void order_set(struct order *o, unsigned int sleep_ms, bool change)
{
	pthread_mutex_lock(&o->lock);
	o->sleep_ms = sleep_ms;
	if (change)
		o->change_ms = kd_mono_ms();
	pthread_mutex_unlock(&o->lock);
}

/* Sends "k<k>-<seq>" with key "k<k>" through the hash selector. */
static int send_key(struct kmq_producer *p, const char *topic, unsigned int k,
		    unsigned int seq)
{
	struct kmq_selector by_key = { kmq_select_by_hash, NULL };
	char body[32], key[8];
	struct kmq_message m = { .topic = topic, .keys = key, .body = body };

	snprintf(key, sizeof(key), "k%u", k);
	m.body_len = snprintf(body, sizeof(body), "k%u-%u", k, seq);
	if (kmq_producer_send(p, &m, &by_key, NULL)) {
		diag("send %s: %s", body, kmq_errmsg());
		return -1;
	}
	return 0;
}

/* How many queues of @topic @c owns now. */
static int owns(struct kmq_push_consumer *c, const char *topic)
{
	struct kmq_mq *v;
	int i, n, k = 0;

	n = kmq_push_consumer_queues(c, &v);
	for (i = 0; i < n; i++)
		k += !strcmp(v[i].topic, topic);
	free(v);
	return k;
}

static struct kmq_push_consumer *orderly(const char *ns, const char *group,
					 const char *topic, struct who *w,
					 unsigned int interval,
					 unsigned int max_live)
{
	struct kmq_push_consumer_config cc;

	lk_push_config(&cc, ns, group, in_order, w);
	cc.orderly = true;
	cc.consume_threads = 6;
	if (interval)
		cc.lock_interval_ms = interval;
	if (max_live)
		cc.lock_max_live_ms = max_live;
	return lk_push_start(&cc, topic, "*");
}

/* ---- rebalances with long listener calls ----------------------------- */

#define RB_KEYS		12
#define RB_PER_KEY	90
#define RB_QUEUES	6

struct feeder {
	struct kmq_producer *p;
	const char *topic;
	unsigned int keys;
	unsigned int per_key;
	unsigned int sent;
	unsigned int failed;
};

/* Sends seq 0.. of every key in turn, one message every 10 ms. */
static void *feed(void *arg)
{
	struct feeder *f = arg;
	unsigned int s, k;

	for (s = 0; s < f->per_key; s++) {
		for (k = 0; k < f->keys; k++) {
			if (send_key(f->p, f->topic, k, s))
				__atomic_add_fetch(&f->failed, 1,
						   __ATOMIC_RELAXED);
			else
				__atomic_add_fetch(&f->sent, 1,
						   __ATOMIC_RELAXED);
			kd_sleep_ms(10);
		}
	}
	return NULL;
}

struct owners {
	struct kmq_push_consumer *c[3];
	int want[3];
};

static bool owners_are(void *arg)
{
	struct owners *w = arg;
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (w->c[i] && owns(w->c[i], "RB") != w->want[i])
			return false;
	return true;
}

/*
 * Make every owned queue start a long listener call, change the group
 * with @fn, and wait until the queues are where they should be.
 */
static bool slow_change(struct order *o, struct owners *w,
			void (*fn)(void *), void *arg)
{
	bool settled;

	order_set(o, LONG_MS, false);
	kd_sleep_ms(400);	/* every busy queue is in a long call now */
	order_set(o, LONG_MS, true);
	fn(arg);
	settled = lk_wait_for(owners_are, w, LK_WAIT_MS);
	kd_sleep_ms(LONG_MS + 500);	/* new owners in long calls too */
	order_set(o, 5, false);
	return settled;
}

struct join {
	struct kmq_push_consumer **slot;
	struct who *w;
};

static void do_join(void *arg)
{
	struct join *j = arg;

	*j->slot = orderly(env.ns, "g-rb", "RB", j->w, 0, 0);
}

static void do_leave(void *arg)
{
	kmq_push_consumer_free(arg);
}

static void test_rebalance(struct kmq_producer *p)
{
	struct feeder f = { p, "RB", RB_KEYS, RB_PER_KEY, 0, 0 };
	struct who w1, w2, w3;
	struct owners ow = { 0 };
	unsigned int n = RB_KEYS * RB_PER_KEY, k, bad = 0;
	struct kmq_push_consumer *b = NULL, *cc = NULL;
	struct join j;
	struct order o;
	double deadline;
	pthread_t th;

	order_init(&o);
	w1 = (struct who){ &o, 1 };
	w2 = (struct who){ &o, 2 };
	w3 = (struct who){ &o, 3 };
	lk_topic(&env, "RB", RB_QUEUES);
	pthread_create(&th, NULL, feed, &f);
	ow.c[0] = orderly(env.ns, "g-rb", "RB", &w1, 0, 0);
	ow.want[0] = RB_QUEUES;
	ok(lk_wait_for(owners_are, &ow, LK_WAIT_MS),
	   "the first consumer owns the %d queues", RB_QUEUES);
	kd_sleep_ms(1000);

	j = (struct join){ &b, &w2 };
	ow.c[1] = NULL;
	ow.want[0] = 3;
	ow.want[1] = 3;
	ok(slow_change(&o, &ow, do_join, &j) && b &&
	   owns(b, "RB") == 3,
	   "a second consumer joins during %d ms listener calls: 3 queues each",
	   LONG_MS);
	ow.c[1] = b;

	j = (struct join){ &cc, &w3 };
	ow.want[0] = 2;
	ow.want[1] = 2;
	ow.want[2] = 2;
	ok(slow_change(&o, &ow, do_join, &j) && cc && owns(cc, "RB") == 2 &&
	   owners_are(&ow),
	   "a third joins: 2 queues each");
	ow.c[2] = cc;

	ow.c[1] = NULL;
	ow.want[0] = 3;
	ow.want[2] = 3;
	ok(slow_change(&o, &ow, do_leave, b),
	   "the second leaves while its listener calls last %d ms: the others own 3 each",
	   LONG_MS);

	pthread_join(th, NULL);
	is_int(f.failed, 0, "%u messages of %u keys sent while the group changed",
	       f.sent, RB_KEYS);
	deadline = kd_mono_ms() + 2 * LK_WAIT_MS;
	while (order_total(&o) < n && kd_mono_ms() < deadline)
		kd_sleep_ms(20);
	kd_sleep_ms(300);
	for (k = 0; k < RB_KEYS; k++)
		bad += o.last[k] != RB_PER_KEY - 1;
	ok(!bad && o.total == n, "every message consumed (%u of %u)", o.total,
	   n);
	ok(!o.back && !o.skipped,
	   "per-key order held across the three changes: no key went back, repeated or skipped (%u back, %u skipped)",
	   o.back, o.skipped);
	is_int(o.overlap, 0, "a queue was never in two listeners at once");
	ok(o.long_moves >= 1,
	   "queues moved while their old owner was still in a listener call more than 1 s after the change: %u of %u moves waited for the lock",
	   o.long_moves, o.moves);
	ok(o.by[1] && o.by[2] && o.by[3],
	   "all three consumed (%u, %u, %u)", o.by[1], o.by[2], o.by[3]);
	kmq_push_consumer_free(ow.c[0]);
	kmq_push_consumer_free(cc);
}

/* ---- a killed consumer ---------------------------------------------- */

#define KILL_PER_KEY	5

/*
 * The child of test_killed(): an orderly consumer whose listener writes a
 * byte to @fd and never returns, so it holds its queues until killed.
 */
static int stuck_child(const char *ns, int fd)
{
	struct order o;
	struct who w;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	kmq_set_log(KMQ_LOG_ERROR, NULL, NULL);
	order_init(&o);
	o.fd = fd;
	w = (struct who){ &o, 1 };
	orderly(ns, "g-kill", "KT", &w, 0, 0);
	for (;;)
		pause();
	return 0;
}

/* Up to @n bytes from @fd within @ms; how many came. */
static unsigned int read_bytes(int fd, unsigned int n, unsigned int ms)
{
	double deadline = kd_mono_ms() + ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned int got = 0;
	char b;

	while (got < n && kd_mono_ms() < deadline) {
		if (poll(&pfd, 1, 100) == 1 && read(fd, &b, 1) == 1)
			got++;
	}
	return got;
}

struct own_n {
	struct kmq_push_consumer *c;
	const char *topic;
	int n;
};

static bool owns_n(void *arg)
{
	struct own_n *x = arg;

	return owns(x->c, x->topic) == x->n;
}

static void test_killed(struct kmq_producer *p)
{
	struct own_n two;
	struct order o;
	struct who w;
	struct kmq_push_consumer *b;
	char fdarg[16], *args[6];
	unsigned int i, got;
	double t_kill, took, deadline;
	int fds[2], status;
	pid_t pid;

	order_init(&o);
	w = (struct who){ &o, 2 };
	lk_topic(&env, "KT", 2);
	for (i = 0; i < KILL_PER_KEY; i++) {
		send_key(p, "KT", 0, i);
		send_key(p, "KT", 1, i);
	}
	if (pipe(fds))
		kmq_tap_bail("pipe");
	snprintf(fdarg, sizeof(fdarg), "%d", fds[1]);
	args[0] = (char *)argv0;
	args[1] = "--stuck";
	args[2] = env.ns;
	args[3] = fdarg;
	args[4] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		kmq_tap_bail("fork");
	if (!pid) {
		close(fds[0]);
		execv(argv0, args);
		_exit(127);
	}
	close(fds[1]);
	got = read_bytes(fds[0], 2, LK_WAIT_MS);
	ok(got == 2,
	   "a child process consumes both queues of KT and stays in its listener (%u)",
	   got);
	b = orderly(env.ns, "g-kill", "KT", &w, 0, 0);
	kd_sleep_ms(3000);
	ok(owns(b, "KT") == 0 && order_total(&o) == 0,
	   "a second consumer joins: the child holds both locks, so it owns and consumes nothing (%d queues, %u messages)",
	   owns(b, "KT"), order_total(&o));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	t_kill = kd_mono_ms();
	two = (struct own_n){ b, "KT", 2 };
	lk_wait_for(owns_n, &two, LK_WAIT_MS);
	took = kd_mono_ms() - t_kill;
	ok(owns(b, "KT") == 2 && took < 10000,
	   "SIGKILL of the child: its locks went with its connection, the other consumer took both queues after %.0f ms (the lock expiry is 60 s)",
	   took);
	deadline = kd_mono_ms() + LK_WAIT_MS;
	while (order_total(&o) < 2 * KILL_PER_KEY && kd_mono_ms() < deadline)
		kd_sleep_ms(20);
	kd_sleep_ms(200);
	ok(o.total == 2 * KILL_PER_KEY && !o.back && !o.skipped &&
	   o.last[0] == KILL_PER_KEY - 1 && o.last[1] == KILL_PER_KEY - 1,
	   "it consumed all %u messages in order, from the ones the child never finished (%u, %u back, %u skipped)",
	   2 * KILL_PER_KEY, o.total, o.back, o.skipped);
	close(fds[0]);
	kmq_push_consumer_free(b);
}

/* ---- a short lock expiry -------------------------------------------- */

/*
 * 41 (or 42 when @unlock) of @topic's queue @qid for client "other@test"
 * in @group, on its own connection. Return: 1 locked, 0 refused (or
 * unlocked), -1 failed.
 */
static int other_lock(struct kmq_client *cl, const struct lk_env *e,
		      const char *broker, bool unlock, const char *group,
		      const char *topic, int qid)
{
	struct kmq_response *r;
	char body[512];
	json_t *doc;
	int n;

	snprintf(body, sizeof(body),
		 "{\"consumerGroup\":\"%s\",\"clientId\":\"other@test\",\"mqSet\":[{\"topic\":\"%s\",\"brokerName\":\"%s\",\"queueId\":%d}]}",
		 group, topic, broker, qid);
	if (kmq_client_request(cl, e->broker, unlock ?
			       KMQ_REQ_UNLOCK_BATCH_MQ : KMQ_REQ_LOCK_BATCH_MQ,
			       NULL, 0, body, strlen(body), 0, &r))
		return -1;
	if (r->code || unlock) {
		n = r->code ? -1 : 0;
		kmq_response_free(r);
		return n;
	}
	doc = json_loadb(r->body, r->body_len, 0, NULL);
	n = json_array_size(json_object_get(doc, "lockOKMQSet"));
	json_decref(doc);
	kmq_response_free(r);
	return n;
}

/* UPDATE_CONSUMER_OFFSET (15) of @group on @topic/0 to @off. */
static int commit(struct kmq_client *cl, const struct lk_env *e,
		  const char *group, const char *topic, long long off)
{
	char o[24];
	struct kmq_field f[] = {
		{ "consumerGroup", group }, { "topic", topic },
		{ "queueId", "0" }, { "commitOffset", o },
	};
	struct kmq_response *r;
	int code;

	snprintf(o, sizeof(o), "%lld", off);
	if (kmq_client_request(cl, e->broker, KMQ_REQ_UPDATE_CONSUMER_OFFSET,
			       f, 4, NULL, 0, 0, &r))
		return -1;
	code = r->code;
	kmq_response_free(r);
	return code;
}

/* The broker name of @topic's only broker. */
static void broker_of(struct kmq_client *cl, const char *topic, char *out,
		      size_t len)
{
	struct kmq_topic_route *r;

	if (kmq_client_topic_route(cl, topic, &r) || !r->nbrokers)
		kmq_tap_bail("no route");
	snprintf(out, len, "%s", r->brokers[0].name);
	kmq_topic_route_free(r);
}

/* Listener calls that started in [@from, @to) (ms, kd_mono_ms()). */
struct stamps {
	pthread_mutex_t lock;
	double t[256];
	unsigned int n;
};

static struct stamps stamps = { .lock = PTHREAD_MUTEX_INITIALIZER };

static enum kmq_consume_status stamped(void *arg,
				       const struct kmq_message_ext *const *m,
				       unsigned int n, struct kmq_consume_ctx *ctx)
{
	pthread_mutex_lock(&stamps.lock);
	if (stamps.n < ARRAY_SIZE(stamps.t))
		stamps.t[stamps.n++] = kd_mono_ms();
	pthread_mutex_unlock(&stamps.lock);
	return in_order(arg, m, n, ctx);
}

static unsigned int stamps_in(double from, double to)
{
	unsigned int i, n = 0;

	pthread_mutex_lock(&stamps.lock);
	for (i = 0; i < stamps.n; i++)
		n += stamps.t[i] >= from && stamps.t[i] < to;
	pthread_mutex_unlock(&stamps.lock);
	return n;
}

static void test_expiry(void)
{
	static const char * const args[] = { "--ioThreads=2", NULL };
	char ttl[16], broker[KMQ_NAME_MAX + 1];
	struct kmq_client_config kc;
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *a, *x, *l;
	struct kmq_producer *p;
	struct kmq_client *cl;
	struct order oa, ox, ol;
	struct who wa, wx, wl;
	struct own_n own;
	unsigned int i, refused = 0, tries = 0, during;
	double t0, t_stop, t_cont, t_steal, first;
	struct lk_env e;
	int r;

	snprintf(ttl, sizeof(ttl), "%d", SHORT_TTL_MS);
	setenv(KMQD_LOCK_MAX_LIVE_ENV, ttl, 1);
	lk_start(&e, argv0, "lkttl", args);
	unsetenv(KMQD_LOCK_MAX_LIVE_ENV);
	lk_topic(&e, "TT", 2);
	lk_topic(&e, "TX", 1);
	lk_topic(&e, "TL", 1);
	p = lk_producer(e.ns, "pg-ttl");
	lk_client(&kc, e.ns);
	if (kmq_client_new(&kc, &cl))
		kmq_tap_bail(kmq_errmsg());
	broker_of(cl, "TT", broker, sizeof(broker));

	/* Renewals every 500 ms keep the locks of a 2 s expiry. */
	order_init(&oa);
	wa = (struct who){ &oa, 1 };
	lk_push_config(&cc, e.ns, "g-ttl", stamped, &wa);
	cc.orderly = true;
	cc.lock_interval_ms = 500;
	cc.lock_max_live_ms = 1500;
	a = lk_push_start(&cc, "TT", "*");
	own = (struct own_n){ a, "TT", 2 };
	ok(lk_wait_for(owns_n, &own, LK_WAIT_MS),
	   "a consumer renewing every 500 ms owns both queues of TT");
	t0 = kd_mono_ms();
	while (kd_mono_ms() - t0 < 3 * SHORT_TTL_MS) {
		for (i = 0; i < 2; i++) {
			tries++;
			refused += other_lock(cl, &e, broker, false, "g-ttl", "TT",
					 i) == 0;
		}
		kd_sleep_ms(250);
	}
	is_int(refused, tries,
	       "for 3 lock expiries another client is refused both queues (%u of %u)",
	       refused, tries);

	/* A queue locked by someone else is consumed once that expired. */
	order_init(&ox);
	wx = (struct who){ &ox, 1 };
	r = other_lock(cl, &e, broker, false, "g-exp", "TX", 0);
	t0 = kd_mono_ms();
	for (i = 0; i < 3; i++)
		send_key(p, "TX", 0, i);
	x = orderly(e.ns, "g-exp", "TX", &wx, 500, 1500);
	kd_sleep_ms(SHORT_TTL_MS / 2);
	ok(r == 1 && order_total(&ox) == 0 && owns(x, "TX") == 0,
	   "another client locked TX first: the consumer neither owns nor consumes it (%d, %u)",
	   r, order_total(&ox));
	while (order_total(&ox) < 3 && kd_mono_ms() - t0 < LK_WAIT_MS)
		kd_sleep_ms(20);
	first = ox.first_ms - t0;
	ok(order_total(&ox) == 3 && !ox.back && !ox.skipped &&
	   first >= SHORT_TTL_MS - 300,
	   "it consumed the 3 messages in order once that lock expired (first after %.0f ms, expiry %d ms)",
	   first, SHORT_TTL_MS);
	kmq_push_consumer_free(x);

	/* Broker unreachable: consumption stops after lock_max_live_ms. */
	order_set(&oa, 100, false);
	for (i = 0; i < 30; i++) {
		send_key(p, "TT", 0, i);
		send_key(p, "TT", 1, i);
	}
	t0 = kd_mono_ms();
	while (order_total(&oa) < 6 && kd_mono_ms() - t0 < LK_WAIT_MS)
		kd_sleep_ms(5);
	kill(e.s.pid, SIGSTOP);
	t_stop = kd_mono_ms();
	kd_sleep_ms(4000);
	kill(e.s.pid, SIGCONT);
	t_cont = kd_mono_ms();
	during = stamps_in(t_stop, t_stop + 1000);
	ok(during > 0 && stamps_in(t_stop + 1500 + 500, t_cont) == 0,
	   "kmqd stopped (SIGSTOP) for 4 s: the consumer went on with what it held (%u calls in 1 s), then stopped once its locks were 1.5 s old (%u calls after 2 s)",
	   during, stamps_in(t_stop + 2000, t_cont));
	while (order_total(&oa) < 60 && kd_mono_ms() - t_cont < LK_WAIT_MS)
		kd_sleep_ms(20);
	kd_sleep_ms(200);
	ok(oa.total == 60 && !oa.back && !oa.skipped,
	   "kmqd continued (SIGCONT): the consumer locked its queues again and consumed all 60 in order (%u, %u back, %u skipped)",
	   oa.total, oa.back, oa.skipped);
	kmq_push_consumer_free(a);

	/*
	 * A lock taken away: renewals every 3 s against a 2 s expiry leave
	 * a gap another client can lock in.
	 */
	order_init(&ol);
	wl = (struct who){ &ol, 1 };
	l = orderly(e.ns, "g-lost", "TL", &wl, 3000, 4000);
	for (i = 0; i < 3; i++)
		send_key(p, "TL", 0, i);
	while (order_total(&ol) < 3 && kd_mono_ms() - t_cont < LK_WAIT_MS)
		kd_sleep_ms(20);
	t0 = kd_mono_ms();
	while ((r = other_lock(cl, &e, broker, false, "g-lost", "TL", 0)) != 1 &&
	       kd_mono_ms() - t0 < 10000)
		kd_sleep_ms(100);
	t_steal = kd_mono_ms();
	/* Hold it (renewing) past the consumer's next renewal. */
	while (kd_mono_ms() - t_steal < 3500) {
		other_lock(cl, &e, broker, false, "g-lost", "TL", 0);
		kd_sleep_ms(400);
	}
	for (i = 3; i < 13; i++)
		send_key(p, "TL", 0, i);
	t0 = kd_mono_ms();
	while (kd_mono_ms() - t0 < 2500) {
		other_lock(cl, &e, broker, false, "g-lost", "TL", 0);
		kd_sleep_ms(400);
	}
	ok(r == 1 && order_total(&ol) == 3,
	   "another client got the lock in a gap between renewals: 10 new messages are not consumed while it holds it (%u)",
	   order_total(&ol) - 3);
	is_int(commit(cl, &e, "g-lost", "TL", 8), 0,
	       "that client consumed 5 of them (committed offset 8) and unlocks");
	other_lock(cl, &e, broker, true, "g-lost", "TL", 0);
	t0 = kd_mono_ms();
	while (order_total(&ol) < 8 && kd_mono_ms() - t0 < LK_WAIT_MS)
		kd_sleep_ms(20);
	kd_sleep_ms(500);
	ok(ol.total == 8 && ol.last[0] == 12 && ol.skipped == 1 && !ol.back,
	   "the consumer locked it again and went on from offset 8: k0-8..12 only, none of what the other consumed (%u messages, last k0-%d)",
	   ol.total, ol.last[0]);
	kmq_push_consumer_free(l);

	/* lock_max_live_ms must outlast lock_interval_ms. */
	lk_push_config(&cc, e.ns, "g-bad", in_order, &wl);
	cc.orderly = true;
	cc.lock_interval_ms = 5000;
	cc.lock_max_live_ms = 5000;
	is_int(kmq_push_consumer_new(&cc, &x), -EINVAL,
	       "lock_max_live_ms not longer than lock_interval_ms: -EINVAL (%s)",
	       kmq_errmsg());
	kmq_client_free(cl);
	kmq_producer_free(p);
	ok(kd_server_alive(&e.s), "kmqd (short expiry) still running");
	kd_server_cleanup(&e.s);
}

int main(int argc, char **argv)
{
	static const char * const args[] = { "--ioThreads=2", NULL };
	struct kmq_producer *p;

	argv0 = argv[0];
	if (argc == 4 && !strcmp(argv[1], "--stuck"))
		return stuck_child(argv[2], atoi(argv[3]));
	kmq_set_log(getenv("LK_LOG") ? KMQ_LOG_DEBUG : KMQ_LOG_ERROR, NULL,
		    NULL);
	lk_start(&env, argv0, "lkorder", args);
	p = lk_producer(env.ns, "pg-order");
	test_rebalance(p);
	test_killed(p);
	kmq_producer_free(p);
	ok(kd_server_alive(&env.s), "kmqd still running");
	kd_server_cleanup(&env.s);
	test_expiry();
	return kmq_tap_done();
}
