/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lk_test_util.h - helpers of the libkmq suites that run against a real
 * kmqd (started as daemon/tests/kmqd_test_util.h does): client settings
 * with short timers, topics created and routed, and a thread-safe record
 * of the messages a listener saw, with waits that time out.
 */
#ifndef LK_TEST_UTIL_H
#define LK_TEST_UTIL_H

#include "kmqd_test_util.h"
#include "kmq/kmq.h"
#include "kmqd_codes.h"

#define LK_WAIT_MS	20000	/* any wait for messages */

/* kmqd and the addresses clients use. */
struct lk_env {
	struct kd_server s;
	char ns[64];
	char broker[64];
};

/* lk_start() - a kmqd of its own for the suite; gives up if it fails. */
static inline void lk_start(struct lk_env *e, const char *argv0,
			    const char *tag, const char * const *args)
{
	signal(SIGPIPE, SIG_IGN);
	if (kd_server_init(&e->s, argv0, tag, args))
		kmq_tap_bail("cannot prepare a kmqd store directory");
	if (kd_server_start(&e->s)) {
		kd_server_cleanup(&e->s);
		kd_give_up("kmqd does not start");
	}
	snprintf(e->ns, sizeof(e->ns), "127.0.0.1:%u", e->s.ns_port);
	snprintf(e->broker, sizeof(e->broker), "127.0.0.1:%u", e->s.port);
	diag("kmqd %s: name server %s, broker %s", e->s.bin, e->ns,
	     e->broker);
}

/* lk_topic() - create @topic with @queues queues and wait for its route. */
static inline void lk_topic(struct lk_env *e, const char *topic,
			    unsigned int queues)
{
	json_t *route = NULL;
	int fd = kd_connect(e->s.port);

	if (fd < 0 || kd_create_topic(fd, topic, queues))
		kmq_tap_bail("cannot create a topic");
	close(fd);
	if (kd_wait_route(e->s.ns_port, topic, true, &route, 10000))
		kmq_tap_bail("the topic's route does not appear");
	json_decref(route);
}

/* lk_client() - settings with timers short enough for tests. */
static inline void lk_client(struct kmq_client_config *c, const char *ns)
{
	kmq_client_config_init(c);
	c->namesrv_addr = ns;
	c->route_interval_ms = 1000;
	c->heartbeat_interval_ms = 2000;
}

static inline struct kmq_producer *lk_producer(const char *ns,
					       const char *group)
{
	struct kmq_producer_config pc;
	struct kmq_producer *p;

	kmq_producer_config_init(&pc);
	lk_client(&pc.client, ns);
	pc.group = group;
	if (kmq_producer_new(&pc, &p))
		kmq_tap_bail(kmq_errmsg());
	return p;
}

static inline void lk_push_config(struct kmq_push_consumer_config *cc,
				  const char *ns, const char *group,
				  kmq_listener_fn fn, void *arg)
{
	kmq_push_consumer_config_init(cc);
	lk_client(&cc->client, ns);
	cc->group = group;
	cc->listener = fn;
	cc->listener_arg = arg;
	cc->rebalance_interval_ms = 1000;
	cc->persist_interval_ms = 500;
	cc->from = KMQ_CONSUME_FROM_FIRST_OFFSET;
}

static inline struct kmq_push_consumer *
lk_push_start(const struct kmq_push_consumer_config *cc, const char *topic,
	      const char *expr)
{
	struct kmq_push_consumer *c;

	if (kmq_push_consumer_new(cc, &c) ||
	    kmq_push_consumer_subscribe(c, topic, expr) ||
	    kmq_push_consumer_start(c))
		kmq_tap_bail(kmq_errmsg());
	return c;
}

/* ---- what listeners saw ------------------------------------------- */

struct lk_rec {
	char body[64];
	char topic[KMQ_TOPIC_MAX + 1];
	char tags[32];
	int who;
	int queue_id;
	int64_t queue_offset;
	int reconsume_times;
	char msg_id[KMQ_MSG_ID_MAX + 1];
	uint32_t body_len;
	uint32_t body_crc;
};

struct lk_seen {
	pthread_mutex_t lock;
	struct lk_rec *v;
	unsigned int n;
	unsigned int cap;
};

#define LK_SEEN_INIT	{ .lock = PTHREAD_MUTEX_INITIALIZER }

static inline void lk_seen_add(struct lk_seen *s, int who,
			       const struct kmq_message_ext *m)
{
	struct lk_rec *r;

	pthread_mutex_lock(&s->lock);
	if (s->n == s->cap) {
		unsigned int cap = s->cap ? s->cap * 2 : 256;
		struct lk_rec *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			kmq_tap_bail("out of memory");
		s->v = nv;
		s->cap = cap;
	}
	r = &s->v[s->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->body, sizeof(r->body), "%.*s",
		 (int)(m->body_len < 63 ? m->body_len : 63),
		 (const char *)m->body);
	snprintf(r->topic, sizeof(r->topic), "%s", m->topic);
	snprintf(r->tags, sizeof(r->tags), "%s", m->tags ? m->tags : "");
	snprintf(r->msg_id, sizeof(r->msg_id), "%s", m->msg_id);
	r->who = who;
	r->queue_id = m->queue_id;
	r->queue_offset = m->queue_offset;
	r->reconsume_times = m->reconsume_times;
	r->body_len = m->body_len;
	r->body_crc = kmq_body_crc(m->body, m->body_len);
	pthread_mutex_unlock(&s->lock);
}

static inline unsigned int lk_seen_count(struct lk_seen *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* lk_seen_reset() - forget everything seen so far. */
static inline void lk_seen_reset(struct lk_seen *s)
{
	pthread_mutex_lock(&s->lock);
	s->n = 0;
	pthread_mutex_unlock(&s->lock);
}

static inline void lk_seen_free(struct lk_seen *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->cap = 0;
}

/* lk_seen_wait() - until @s holds @n records or @timeout_ms passed. */
static inline unsigned int lk_seen_wait(struct lk_seen *s, unsigned int n,
					unsigned int timeout_ms)
{
	double deadline = kd_mono_ms() + timeout_ms;
	unsigned int got;

	while ((got = lk_seen_count(s)) < n && kd_mono_ms() < deadline)
		kd_sleep_ms(20);
	return got;
}

/* lk_seen_body() - how many records have body @body. */
static inline unsigned int lk_seen_body(struct lk_seen *s, const char *body)
{
	unsigned int i, n = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++)
		n += !strcmp(s->v[i].body, body);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* lk_wait_for() - until @fn(@arg) or @timeout_ms; its last value. */
static inline bool lk_wait_for(bool (*fn)(void *), void *arg,
			       unsigned int timeout_ms)
{
	double deadline = kd_mono_ms() + timeout_ms;

	while (!fn(arg)) {
		if (kd_mono_ms() > deadline)
			return fn(arg);
		kd_sleep_ms(20);
	}
	return true;
}

/* lk_send() - a sync send of @body to @topic with @tags; 0 or the error. */
static inline int lk_send(struct kmq_producer *p, const char *topic,
			  const char *tags, const char *body,
			  struct kmq_send_result *res)
{
	struct kmq_message m = {
		.topic = topic, .tags = tags, .body = body,
		.body_len = strlen(body),
	};
	struct kmq_send_result tmp;
	int ret = kmq_producer_send(p, &m, NULL, res ? res : &tmp);

	if (ret)
		diag("send %s to %s: %s", body, topic, kmq_errmsg());
	return ret;
}

#endif /* LK_TEST_UTIL_H */
