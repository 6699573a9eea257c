// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_push.c - libkmq's push consumer against a real kmqd: concurrent
 * listeners (each message once), tag filters, two consumers splitting a
 * topic's queues, orderly listeners (per-key order holds while a second
 * consumer joins and takes queues), retry by sending back (the message
 * comes again with reconsumeTimes 1), broadcasting (every consumer gets
 * everything; offsets in a local file survive a restart), flow control,
 * offsets committed on close, and consumeFromWhere on a queue whose first
 * messages are gone (a small commitlog ring).
 */
#include "lk_test_util.h"

static const char *argv0;
static struct lk_env env;

/* A listener's state: what it saw, as consumer @who. */
struct who {
	struct lk_seen *seen;
	int id;
	unsigned int sleep_ms;
};

static enum kmq_consume_status record_all(void *arg,
					  const struct kmq_message_ext *const *m,
					  unsigned int n,
					  struct kmq_consume_ctx *ctx)
{
	struct who *w = arg;
	unsigned int i;

	for (i = 0; i < n; i++)
		lk_seen_add(w->seen, w->id, m[i]);
	if (w->sleep_ms)
		kd_sleep_ms(w->sleep_ms);
	return KMQ_CONSUME_SUCCESS;
}

static void send_n(struct kmq_producer *p, const char *topic,
		   const char *prefix, unsigned int from, unsigned int n,
		   const char *tags_even, const char *tags_odd)
{
	unsigned int i, bad = 0;

	for (i = from; i < from + n; i++) {
		char body[64];

		snprintf(body, sizeof(body), "%s-%u", prefix, i);
		bad += lk_send(p, topic, i % 2 ? tags_odd : tags_even, body,
			       NULL) != 0;
	}
	if (bad)
		diag("%u sends to %s failed", bad, topic);
}

/* How many of prefix-from .. prefix-(from+n-1) @s saw exactly once. */
static unsigned int once_each(struct lk_seen *s, const char *prefix,
			      unsigned int from, unsigned int n)
{
	unsigned int i, good = 0;
	char body[64];

	for (i = from; i < from + n; i++) {
		snprintf(body, sizeof(body), "%s-%u", prefix, i);
		good += lk_seen_body(s, body) == 1;
	}
	return good;
}

static void test_concurrent(struct kmq_producer *p)
{
	struct lk_seen all = LK_SEEN_INIT, taga = LK_SEEN_INIT;
	struct who wa = { &all, 1, 0 }, wt = { &taga, 2, 0 };
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *c1, *c2;
	struct kmq_consumer_stats st;
	unsigned int i, bad = 0;

	lk_topic(&env, "CT", 4);
	send_n(p, "CT", "conc", 0, 200, "TagA", "TagB");
	lk_push_config(&cc, env.ns, "g-conc", record_all, &wa);
	c1 = lk_push_start(&cc, "CT", "*");
	lk_push_config(&cc, env.ns, "g-taga", record_all, &wt);
	c2 = lk_push_start(&cc, "CT", "TagA");
	lk_seen_wait(&all, 200, LK_WAIT_MS);
	lk_seen_wait(&taga, 100, LK_WAIT_MS);
	kd_sleep_ms(300);
	is_int(once_each(&all, "conc", 0, 200), 200,
	       "concurrent: 200 messages sent before start, each consumed once");
	for (i = 0; i < taga.n; i++)
		bad += strcmp(taga.v[i].tags, "TagA") ||
		       strcmp(taga.v[i].topic, "CT");
	ok(taga.n == 100 && !bad,
	   "subscription \"TagA\": the 100 TagA messages and nothing else (%u)",
	   taga.n);
	send_n(p, "CT", "late", 0, 40, "TagA", "TagB");
	lk_seen_wait(&all, 240, LK_WAIT_MS);
	is_int(once_each(&all, "late", 0, 40), 40,
	       "40 more sent while running: long polling delivers them");
	kmq_push_consumer_stats(c1, &st);
	ok(st.queues >= 4 && st.pulled >= 240 && st.consumed >= 240,
	   "stats: %u queues (4 of CT, its retry queue once routed), %llu pulled, %llu consumed",
	   st.queues, (unsigned long long)st.pulled,
	   (unsigned long long)st.consumed);
	kmq_push_consumer_free(c1);
	kmq_push_consumer_free(c2);
	lk_seen_free(&all);
	lk_seen_free(&taga);
}

/* The queues of @topic that @c owns (its retry topic's are left out). */
static int owned(struct kmq_push_consumer *c, const char *topic,
		 struct kmq_mq **out)
{
	struct kmq_mq *v = NULL;
	int n = kmq_push_consumer_queues(c, &v), i, k = 0;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].topic, topic))
			v[k++] = v[i];
	if (out)
		*out = v;
	else
		free(v);
	return n < 0 ? n : k;
}

static bool disjoint_halves(void *arg)
{
	struct kmq_push_consumer **c = arg;
	struct kmq_mq *a = NULL, *b = NULL;
	int na = owned(c[0], "ST", &a);
	int nb = owned(c[1], "ST", &b);
	bool good = na == 3 && nb == 3;
	int i, j;

	for (i = 0; good && i < na; i++)
		for (j = 0; j < nb; j++)
			if (a[i].queue_id == b[j].queue_id)
				good = false;
	free(a);
	free(b);
	return good;
}

static bool owns_all(void *arg)
{
	return owned(arg, "ST", NULL) == 6;
}

static bool mqs_sorted(const struct kmq_mq *v, int n)
{
	int i;

	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].topic, v[i].topic) > 0 ||
		    (!strcmp(v[i - 1].topic, v[i].topic) &&
		     v[i - 1].queue_id >= v[i].queue_id))
			return false;
	return true;
}

static void test_split(struct kmq_producer *p)
{
	struct lk_seen seen = LK_SEEN_INIT;
	struct who w1 = { &seen, 1, 0 }, w2 = { &seen, 2, 0 };
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *c[2];
	unsigned int i, by[3] = { 0 };
	struct kmq_mq *q = NULL;
	int n;

	lk_topic(&env, "ST", 6);
	/* No periodic rebalance: the broker's notifications (40) drive it. */
	lk_push_config(&cc, env.ns, "g-split", record_all, &w1);
	cc.rebalance_interval_ms = 600000;
	c[0] = lk_push_start(&cc, "ST", "*");
	kd_sleep_ms(500);
	lk_push_config(&cc, env.ns, "g-split", record_all, &w2);
	cc.rebalance_interval_ms = 600000;
	c[1] = lk_push_start(&cc, "ST", "*");
	ok(lk_wait_for(disjoint_halves, c, 5000),
	   "a second consumer joins: 3 queues each, disjoint, at once (notified)");
	n = kmq_push_consumer_queues(c[0], &q);
	ok(n >= 3 && mqs_sorted(q, n),
	   "kmq_push_consumer_queues: %d queues, sorted", n);
	free(q);
	send_n(p, "ST", "split", 0, 120, NULL, NULL);
	lk_seen_wait(&seen, 120, LK_WAIT_MS);
	kd_sleep_ms(300);
	for (i = 0; i < seen.n; i++)
		by[seen.v[i].who]++;
	ok(once_each(&seen, "split", 0, 120) == 120 && by[1] && by[2],
	   "120 messages: each consumed once by the group, %u by one, %u by the other",
	   by[1], by[2]);
	kmq_push_consumer_free(c[1]);
	ok(lk_wait_for(owns_all, c[0], 5000),
	   "the other left (35): the first takes all 6 queues again at once");
	kmq_push_consumer_free(c[0]);
	lk_seen_free(&seen);
}

/* ---- orderly -------------------------------------------------------- */

#define ORD_KEYS	8
#define ORD_PER_KEY	60

struct ord {
	pthread_mutex_t lock;
	int last[ORD_KEYS];		/* last seq consumed per key */
	unsigned int back;		/* a key's seq went back or repeated */
	unsigned int skipped;		/* a key's seq jumped */
	unsigned int overlap;		/* one queue in two listeners at once */
	unsigned int total;
	unsigned int by[3];
	int busy[4];			/* queue id -> in a listener */
};

static struct ord ord = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct ord_who {
	int id;
};

static enum kmq_consume_status ord_listener(void *arg,
					    const struct kmq_message_ext *const *m,
					    unsigned int n,
					    struct kmq_consume_ctx *ctx)
{
	struct ord_who *w = arg;
	int q = ctx->mq.queue_id & 3;
	unsigned int i, k, seq;

	if (__atomic_exchange_n(&ord.busy[q], 1, __ATOMIC_ACQ_REL))
		__atomic_add_fetch(&ord.overlap, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		if (sscanf((const char *)m[i]->body, "k%u-%u", &k, &seq) != 2 ||
		    k >= ORD_KEYS)
			continue;
		pthread_mutex_lock(&ord.lock);
		if ((int)seq <= ord.last[k])
			ord.back++;
		else if ((int)seq != ord.last[k] + 1)
			ord.skipped++;
		if ((int)seq > ord.last[k])
			ord.last[k] = seq;
		ord.total++;
		ord.by[w->id]++;
		pthread_mutex_unlock(&ord.lock);
	}
	kd_sleep_ms(4);
	__atomic_store_n(&ord.busy[q], 0, __ATOMIC_RELEASE);
	return KMQ_CONSUME_SUCCESS;
}

static unsigned int ord_total(void)
{
	unsigned int t;

	pthread_mutex_lock(&ord.lock);
	t = ord.total;
	pthread_mutex_unlock(&ord.lock);
	return t;
}

static void test_orderly(struct kmq_producer *p)
{
	struct kmq_selector by_key = { kmq_select_by_hash, NULL };
	struct ord_who w1 = { 1 }, w2 = { 2 };
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *a, *b;
	unsigned int i, k, bad = 0, n = ORD_KEYS * ORD_PER_KEY;
	struct kmq_mq *qa = NULL, *qb = NULL;
	double deadline;
	int na, nb;

	for (k = 0; k < ORD_KEYS; k++)
		ord.last[k] = -1;
	lk_topic(&env, "OT", 4);
	for (i = 0; i < ORD_PER_KEY; i++) {
		for (k = 0; k < ORD_KEYS; k++) {
			char body[32], key[8];
			struct kmq_message m = { .topic = "OT", .keys = key,
						 .body = body };
			struct kmq_send_result r;

			snprintf(key, sizeof(key), "k%u", k);
			m.body_len = snprintf(body, sizeof(body), "k%u-%u", k,
					      i);
			bad += kmq_producer_send(p, &m, &by_key, &r) != 0;
		}
	}
	is_int(bad, 0, "orderly: %u messages of %u keys sent, one queue per key",
	       n, ORD_KEYS);
	lk_push_config(&cc, env.ns, "g-order", ord_listener, &w1);
	cc.orderly = true;
	cc.consume_threads = 4;
	a = lk_push_start(&cc, "OT", "*");
	deadline = kd_mono_ms() + LK_WAIT_MS;
	while (ord_total() < n / 4 && kd_mono_ms() < deadline)
		kd_sleep_ms(5);
	diag("second consumer joins after %u messages", ord_total());
	lk_push_config(&cc, env.ns, "g-order", ord_listener, &w2);
	cc.orderly = true;
	b = lk_push_start(&cc, "OT", "*");
	deadline = kd_mono_ms() + 2 * LK_WAIT_MS;
	while (ord_total() < n && kd_mono_ms() < deadline)
		kd_sleep_ms(20);
	kd_sleep_ms(500);
	na = owned(a, "OT", &qa);
	nb = owned(b, "OT", &qb);
	ok(na == 2 && nb == 2, "after the join each owns 2 of the 4 queues (%d, %d)",
	   na, nb);
	free(qa);
	free(qb);
	for (k = 0, bad = 0; k < ORD_KEYS; k++)
		bad += ord.last[k] != ORD_PER_KEY - 1;
	ok(!bad && ord.total == n,
	   "every message consumed once (%u of %u)", ord.total, n);
	ok(!ord.back && !ord.skipped,
	   "per-key order held across the rebalance: no key went back or skipped (%u back, %u skipped)",
	   ord.back, ord.skipped);
	is_int(ord.overlap, 0, "a queue was never in two listeners at once");
	ok(ord.by[1] && ord.by[2], "both consumers consumed (%u and %u)",
	   ord.by[1], ord.by[2]);
	kmq_push_consumer_free(a);
	kmq_push_consumer_free(b);
}

/* ---- retry ---------------------------------------------------------- */

struct retry_state {
	struct lk_seen seen;
	unsigned int first;
};

static enum kmq_consume_status retry_listener(void *arg,
					      const struct kmq_message_ext *const *m,
					      unsigned int n,
					      struct kmq_consume_ctx *ctx)
{
	struct retry_state *st = arg;

	lk_seen_add(&st->seen, 0, m[0]);
	if (m[0]->reconsume_times == 0) {
		__atomic_add_fetch(&st->first, 1, __ATOMIC_RELAXED);
		ctx->delay_level = 1;	/* 1 s */
		return KMQ_CONSUME_RETRY_LATER;
	}
	return KMQ_CONSUME_SUCCESS;
}

static void test_retry(struct kmq_producer *p)
{
	struct retry_state st = { .seen = LK_SEEN_INIT };
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *c;
	struct kmq_consumer_stats cs;
	struct kmq_send_result r;
	const struct lk_rec *a, *b;
	double t0;

	lk_topic(&env, "RY", 1);
	lk_push_config(&cc, env.ns, "g-retry", retry_listener, &st);
	c = lk_push_start(&cc, "RY", "*");
	t0 = kd_mono_ms();
	ok(!lk_send(p, "RY", "TagR", "please-retry", &r), "sent one message");
	lk_seen_wait(&st.seen, 2, LK_WAIT_MS);
	kmq_push_consumer_stats(c, &cs);
	is_int(st.seen.n, 2, "RETRY_LATER: the message came back once more");
	if (st.seen.n >= 2) {
		a = &st.seen.v[0];
		b = &st.seen.v[1];
		ok(a->reconsume_times == 0 && b->reconsume_times == 1,
		   "reconsumeTimes 0, then 1");
		ok(!strcmp(b->topic, "RY") && !strcmp(b->body, "please-retry") &&
		   !strcmp(b->tags, "TagR") && !strcmp(b->msg_id, r.msg_id),
		   "the retry has the original topic (not %%RETRY%%g-retry), body, tags and msg_id");
		ok(kd_mono_ms() - t0 >= 900,
		   "it came back after the delay level asked for (1 s): %.0f ms",
		   kd_mono_ms() - t0);
	}
	ok(cs.sent_back == 1, "stats: one message sent back (36)");
	kmq_push_consumer_free(c);
	lk_seen_free(&st.seen);
}

/* ---- broadcasting ---------------------------------------------------- */

static struct kmq_push_consumer *bc_start(const char *dir, const char *name,
					  struct who *w)
{
	struct kmq_push_consumer_config cc;

	lk_push_config(&cc, env.ns, "g-bc", record_all, w);
	cc.model = KMQ_BROADCASTING;
	cc.offset_store_dir = dir;
	cc.client.instance_name = name;
	cc.client.client_ip = "127.0.0.1";
	return lk_push_start(&cc, "BT", "*");
}

static void test_broadcasting(struct kmq_producer *p)
{
	struct lk_seen s1 = LK_SEEN_INIT, s2 = LK_SEEN_INIT;
	struct who w1 = { &s1, 1, 0 }, w2 = { &s2, 2, 0 };
	struct kmq_push_consumer *c1, *c2;
	char dir[] = "/tmp/lk-bc-XXXXXX", path[256];
	char *text;

	if (!mkdtemp(dir))
		kmq_tap_bail("mkdtemp");
	lk_topic(&env, "BT", 2);
	send_n(p, "BT", "bc", 0, 40, NULL, NULL);
	c1 = bc_start(dir, "bc1", &w1);
	c2 = bc_start(dir, "bc2", &w2);
	lk_seen_wait(&s1, 40, LK_WAIT_MS);
	lk_seen_wait(&s2, 40, LK_WAIT_MS);
	kd_sleep_ms(300);
	ok(once_each(&s1, "bc", 0, 40) == 40 && once_each(&s2, "bc", 0, 40) ==
	   40, "broadcasting: each of two consumers gets all 40 messages");
	kmq_push_consumer_free(c1);
	snprintf(path, sizeof(path), "%s/127.0.0.1@bc1/g-bc/offsets.json",
		 dir);
	text = kd_read_file(path, NULL);
	ok(text && strstr(text, "\"topic\": \"BT\"") &&
	   strstr(text, "\"offset\""),
	   "its offsets were written to %s", path);
	free(text);
	send_n(p, "BT", "bc", 40, 10, NULL, NULL);
	lk_seen_wait(&s2, 50, LK_WAIT_MS);
	lk_seen_reset(&s1);
	c1 = bc_start(dir, "bc1", &w1);
	lk_seen_wait(&s1, 10, LK_WAIT_MS);
	kd_sleep_ms(800);
	ok(s1.n == 10 && once_each(&s1, "bc", 40, 10) == 10,
	   "restarted, it resumes from its local offsets: the 10 new messages only (%u)",
	   s1.n);
	is_int(once_each(&s2, "bc", 40, 10), 10,
	       "the other consumer got them too");
	kmq_push_consumer_free(c1);
	kmq_push_consumer_free(c2);
	lk_seen_free(&s1);
	lk_seen_free(&s2);
	kd_rm_rf(dir);
}

/* ---- flow control ---------------------------------------------------- */

static void test_flow_control(struct kmq_producer *p)
{
	struct lk_seen seen = LK_SEEN_INIT;
	struct who w = { &seen, 1, 10 };
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *c;
	struct kmq_consumer_stats st;

	lk_topic(&env, "FT", 1);
	send_n(p, "FT", "flow", 0, 300, NULL, NULL);
	lk_push_config(&cc, env.ns, "g-flow", record_all, &w);
	cc.pull_threshold_msgs = 50;
	cc.pull_batch_size = 16;
	cc.consume_threads = 1;
	c = lk_push_start(&cc, "FT", "*");
	lk_seen_wait(&seen, 300, 2 * LK_WAIT_MS);
	kmq_push_consumer_stats(c, &st);
	ok(once_each(&seen, "flow", 0, 300) == 300,
	   "a slow listener still gets all 300 messages");
	ok(st.peak_queue_msgs <= 50 + 16 && st.peak_queue_msgs >= 40,
	   "flow control: at most threshold + one pull waited (%llu)",
	   (unsigned long long)st.peak_queue_msgs);
	ok(st.flow_control > 0, "pulls were postponed %llu times",
	   (unsigned long long)st.flow_control);
	kmq_push_consumer_free(c);
	lk_seen_free(&seen);
}

/* ---- offsets committed, resumed ------------------------------------- */

static void test_resume(struct kmq_producer *p)
{
	struct lk_seen seen = LK_SEEN_INIT;
	struct who w = { &seen, 1, 0 };
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *c;
	int fd;
	int64_t sum = 0;
	unsigned int q;

	lk_topic(&env, "RT2", 2);
	send_n(p, "RT2", "res", 0, 50, NULL, NULL);
	lk_push_config(&cc, env.ns, "g-resume", record_all, &w);
	cc.persist_interval_ms = 60000;	/* only the close commits */
	c = lk_push_start(&cc, "RT2", "*");
	lk_seen_wait(&seen, 50, LK_WAIT_MS);
	kd_sleep_ms(300);
	kmq_push_consumer_free(c);
	fd = kd_connect(env.s.port);
	for (q = 0; q < 2; q++) {
		struct kd_frame f;
		char qs[8];

		snprintf(qs, sizeof(qs), "%u", q);
		if (!kd_callv(fd, &f, KD_QUERY_CONSUMER_OFFSET, NULL, 0,
			      "consumerGroup", "g-resume", "topic", "RT2",
			      "queueId", qs, NULL))
			sum += kd_ext_i64(&f, "offset", 0);
		kd_frame_free(&f);
	}
	close(fd);
	is_int(sum, 50, "closing committed the offsets: the broker has 50 consumed");
	send_n(p, "RT2", "res", 50, 20, NULL, NULL);
	lk_seen_reset(&seen);
	c = lk_push_start(&cc, "RT2", "*");
	lk_seen_wait(&seen, 20, LK_WAIT_MS);
	kd_sleep_ms(800);
	ok(seen.n == 20 && once_each(&seen, "res", 50, 20) == 20,
	   "a new consumer of the group gets only the 20 sent since (%u)",
	   seen.n);
	kmq_push_consumer_free(c);
	lk_seen_free(&seen);
}

/* ---- consumeFromWhere ------------------------------------------------ */

static unsigned int from_run(struct lk_env *e, struct kmq_producer *p,
			     const char *group, enum kmq_consume_from from,
			     int64_t ts, unsigned int expect,
			     const char *prefix, unsigned int sent_from)
{
	struct lk_seen seen = LK_SEEN_INIT;
	struct who w = { &seen, 1, 0 };
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *c;
	unsigned int n, i;

	lk_push_config(&cc, e->ns, group, record_all, &w);
	cc.from = from;
	cc.consume_timestamp_ms = ts;
	c = lk_push_start(&cc, "RingT", "*");
	for (i = 0; i < 200 && owned(c, "RingT", NULL) < 1; i++)
		kd_sleep_ms(20);
	kd_sleep_ms(1500);	/* the start offset is taken */
	if (prefix)
		send_n(p, "RingT", prefix, sent_from, 5, NULL, NULL);
	lk_seen_wait(&seen, expect, LK_WAIT_MS);
	kd_sleep_ms(800);
	n = seen.n;
	kmq_push_consumer_free(c);
	lk_seen_free(&seen);
	return n;
}

static void test_consume_from(void)
{
	static const char * const args[] = {
		"--maxMessageSize=4096", "--mapedFileSizeCommitLog=131072",
		"--ringSegments=3", "--ioThreads=1", NULL,
	};
	struct lk_env e;
	struct kmq_producer *p;
	int64_t min = 0, max = 0, ts;
	char body[2100];
	unsigned int i, n;
	int fd;

	lk_start(&e, argv0, "lkring", args);
	lk_topic(&e, "RingT", 1);
	p = lk_producer(e.ns, "pg-ring");
	memset(body, 'r', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	for (i = 0; i < 300; i++) {
		snprintf(body, 16, "old-%u", i);
		body[strlen(body)] = 'r';
		lk_send(p, "RingT", NULL, body, NULL);
	}
	fd = kd_connect(e.s.port);
	for (i = 0; i < 100 && min <= 0; i++) {
		min = kd_queue_offset(fd, KD_GET_MIN_OFFSET, "RingT", 0);
		if (min <= 0)
			kd_sleep_ms(20);
	}
	max = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "RingT", 0);
	close(fd);
	ok(min > 0 && max == 300,
	   "a small ring dropped the queue's first messages (min %" PRId64 ", max %" PRId64 ")",
	   min, max);

	n = from_run(&e, p, "g-last", KMQ_CONSUME_FROM_LAST_OFFSET, 0, 5,
		     "new", 0);
	is_int(n, 5, "%s", "FROM_LAST_OFFSET: a new group gets what is sent after its start");
	n = from_run(&e, p, "g-first", KMQ_CONSUME_FROM_FIRST_OFFSET, 0,
		     305 - min, NULL, 0);
	is_int(n, 305 - min, "%s", "FROM_FIRST_OFFSET: all that is still stored, from min");
	kd_sleep_ms(1100);
	ts = (int64_t)kd_now_ms();
	kd_sleep_ms(20);
	send_n(p, "RingT", "ts", 0, 3, NULL, NULL);
	n = from_run(&e, p, "g-time", KMQ_CONSUME_FROM_TIMESTAMP, ts, 8,
		     "ts", 3);
	is_int(n, 8, "%s", "FROM_TIMESTAMP: what was stored after the time (3 before, 5 after)");
	kmq_producer_free(p);
	kd_server_cleanup(&e.s);
}

int main(int argc, char **argv)
{
	static const char * const args[] = {
		"--ioThreads=2", "--mapedFileSizeCommitLog=16777216", NULL,
	};
	struct kmq_producer *p;

	argv0 = argv[0];
	kmq_set_log(getenv("LK_LOG") ? KMQ_LOG_DEBUG : KMQ_LOG_ERROR, NULL, NULL);
	lk_start(&env, argv0, "lkpush", args);
	p = lk_producer(env.ns, "pg-push");
	test_concurrent(p);
	test_split(p);
	test_orderly(p);
	test_retry(p);
	test_broadcasting(p);
	test_flow_control(p);
	test_resume(p);
	kmq_producer_free(p);
	ok(kd_server_alive(&env.s), "kmqd still running");
	kd_server_cleanup(&env.s);
	test_consume_from();
	return kmq_tap_done();
}
