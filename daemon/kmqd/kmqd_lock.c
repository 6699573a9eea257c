// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_lock.c - queue locks for orderly consumers: LOCK_BATCH_MQ (41) and
 * UNLOCK_BATCH_MQ (42).
 *
 * An orderly consumer locks each queue it owns on the queue's broker
 * before consuming it, and renews the locks every 20 s. A lock is keyed
 * by (consumer group, topic, broker name, queue id) and held by a client
 * id. As RocketMQ's RebalanceLockManager: a lock not renewed for
 * REBALANCE_LOCK_MAX_LIVE_TIME (60 s; KMQD_REBALANCE_LOCK_MAX_LIVE_TIME
 * in the environment, in ms, overrides it as RocketMQ's
 * rocketmq.broker.rebalance.lockMaxLiveTime property does) has expired
 * and goes to the next client asking; a live lock of another client is
 * refused; 41 answers the queues the caller now holds. Unlike RocketMQ,
 * a lock is also released at once when its holder unregisters (35) or
 * when the connection it was taken on closes: a client that cannot be
 * reached cannot be consuming, so its queues need not wait 60 s.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

#define KMQD_LOCK_BUCKETS	1024
#define KMQD_LOCK_NAME_MAX	255

/**
 * struct kmqd_lock - one locked queue.
 * @group: consumer group
 * @topic: topic of the queue
 * @broker: broker name of the queue
 * @qid: queue id
 * @client: holder's client id
 * @conn: connection of the last lock or renewal (referenced)
 * @last: kmqd_mono_ms() of the last lock or renewal
 * @next: next in its bucket
 */
struct kmqd_lock {
	char group[KMQD_LOCK_NAME_MAX + 1];
	char topic[KMQD_LOCK_NAME_MAX + 1];
	char broker[KMQD_LOCK_NAME_MAX + 1];
	uint32_t qid;
	char client[KMQD_LOCK_NAME_MAX + 1];
	struct kmqd_conn *conn;
	uint64_t last;
	struct kmqd_lock *next;
};

/* A queue as named in a request's mqSet. */
struct kmqd_mq {
	const char *topic;
	const char *broker;
	uint32_t qid;
};

static pthread_mutex_t kmqd_locks_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct kmqd_lock *kmqd_locks[KMQD_LOCK_BUCKETS];
static pthread_once_t kmqd_lock_once = PTHREAD_ONCE_INIT;
static uint64_t kmqd_lock_ttl = KMQD_LOCK_MAX_LIVE_MS;

static void kmqd_lock_ttl_init(void)
{
	const char *env = getenv(KMQD_LOCK_MAX_LIVE_ENV);
	char *end;
	unsigned long long v;

	if (!env || !*env)
		return;
	errno = 0;
	v = strtoull(env, &end, 10);
	if (errno || *end || !v || v > 86400000ull) {
		log_warn("%s=%s: not a time in ms (1..86400000); using %d",
			 KMQD_LOCK_MAX_LIVE_ENV, env, KMQD_LOCK_MAX_LIVE_MS);
		return;
	}
	kmqd_lock_ttl = v;
	log_info("queue locks expire %llu ms after their last renewal",
		 v);
}

static uint64_t kmqd_lock_max_live(void)
{
	pthread_once(&kmqd_lock_once, kmqd_lock_ttl_init);
	return kmqd_lock_ttl;
}

static uint32_t kmqd_lock_hash(const char *group, const struct kmqd_mq *mq)
{
	const char *parts[3] = { group, mq->topic, mq->broker };
	uint32_t h = 2166136261u;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		const char *p = parts[i];

		while (*p)
			h = (h ^ (uint8_t)*p++) * 16777619u;
		h = (h ^ 0xff) * 16777619u;
	}
	return (h ^ mq->qid) % KMQD_LOCK_BUCKETS;
}

static bool kmqd_lock_is(const struct kmqd_lock *l, const char *group,
			 const struct kmqd_mq *mq)
{
	return l->qid == mq->qid && !strcmp(l->topic, mq->topic) &&
	       !strcmp(l->broker, mq->broker) && !strcmp(l->group, group);
}

static bool kmqd_lock_expired(const struct kmqd_lock *l, uint64_t now)
{
	return now - l->last > kmqd_lock_max_live();
}

static void kmqd_lock_free(struct kmqd_lock *l)
{
	kmqd_conn_put(l->conn);
	free(l);
}

/*
 * Lock @mq of @group for @client over @c (mutex held). Return: true when
 * @client holds it now.
 */
static bool kmqd_lock_one(const char *group, const struct kmqd_mq *mq,
			  const char *client, struct kmqd_conn *c,
			  uint64_t now)
{
	uint32_t b = kmqd_lock_hash(group, mq);
	struct kmqd_lock *l;

	for (l = kmqd_locks[b]; l; l = l->next)
		if (kmqd_lock_is(l, group, mq))
			break;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return false;
		snprintf(l->group, sizeof(l->group), "%s", group);
		snprintf(l->topic, sizeof(l->topic), "%s", mq->topic);
		snprintf(l->broker, sizeof(l->broker), "%s", mq->broker);
		l->qid = mq->qid;
		snprintf(l->client, sizeof(l->client), "%s", client);
		kmqd_conn_get(c);
		l->conn = c;
		l->next = kmqd_locks[b];
		kmqd_locks[b] = l;
		log_debug("lock: group %s, %s/%s/%u locked by %s", group,
			  mq->topic, mq->broker, mq->qid, client);
	} else if (strcmp(l->client, client)) {
		if (!kmqd_lock_expired(l, now)) {
			log_debug("lock: group %s, %s/%s/%u held by %s, refused to %s",
				  group, mq->topic, mq->broker, mq->qid,
				  l->client, client);
			return false;
		}
		log_info("lock: group %s, %s/%s/%u expired for %s, now %s's",
			 group, mq->topic, mq->broker, mq->qid, l->client,
			 client);
		snprintf(l->client, sizeof(l->client), "%s", client);
	}
	if (l->conn != c) {
		kmqd_conn_get(c);
		kmqd_conn_put(l->conn);
		l->conn = c;
	}
	l->last = now;
	return true;
}

/* Remove @mq's lock if @client holds it (mutex held). */
static void kmqd_unlock_one(const char *group, const struct kmqd_mq *mq,
			    const char *client)
{
	struct kmqd_lock **pp, *l;

	for (pp = &kmqd_locks[kmqd_lock_hash(group, mq)]; *pp;
	     pp = &(*pp)->next) {
		l = *pp;
		if (!kmqd_lock_is(l, group, mq))
			continue;
		if (strcmp(l->client, client)) {
			log_debug("unlock: group %s, %s/%s/%u held by %s, not %s",
				  group, mq->topic, mq->broker, mq->qid,
				  l->client, client);
			return;
		}
		*pp = l->next;
		kmqd_lock_free(l);
		return;
	}
}

/* Remove the locks @match selects (mutex taken here). */
static unsigned int kmqd_lock_remove_if(bool (*match)(const struct kmqd_lock *l,
						      const void *arg),
					const void *arg)
{
	struct kmqd_lock **pp, *l, *gone = NULL;
	unsigned int b, n = 0;

	pthread_mutex_lock(&kmqd_locks_mutex);
	for (b = 0; b < KMQD_LOCK_BUCKETS; b++) {
		for (pp = &kmqd_locks[b]; *pp;) {
			l = *pp;
			if (!match(l, arg)) {
				pp = &l->next;
				continue;
			}
			*pp = l->next;
			l->next = gone;
			gone = l;
			n++;
		}
	}
	pthread_mutex_unlock(&kmqd_locks_mutex);
	while (gone) {
		l = gone;
		gone = l->next;
		kmqd_lock_free(l);
	}
	return n;
}

/*
 * The body of 41 and 42: {"consumerGroup":..., "clientId":...,
 * "mqSet":[{"topic","brokerName","queueId"}...]}. On failure an
 * INVALID_PARAMETER answer has been sent and NULL is returned; otherwise
 * the document (json_decref() it) with @mqs (malloc'ed, *@n entries)
 * pointing into it.
 */
static json_t *kmqd_lock_body(struct kmqd_conn *c, struct kmq_rmt_cmd *req,
			      const char **group, const char **client,
			      struct kmqd_mq **mqs, size_t *n)
{
	json_t *doc, *set, *mq;
	json_error_t jerr;
	size_t i;

	*mqs = NULL;
	*n = 0;
	doc = req->body_len ? json_loadb((const char *)req->body,
					 req->body_len, 0, &jerr) : NULL;
	if (!json_is_object(doc)) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "%s body must be a JSON object with consumerGroup, clientId and mqSet%s%s",
			    req->code == KMQ_REQ_LOCK_BATCH_MQ ? "lock" :
			    "unlock", doc || !req->body_len ? "" : ": ",
			    doc || !req->body_len ? "" : jerr.text);
		json_decref(doc);
		return NULL;
	}
	*group = json_string_value(json_object_get(doc, "consumerGroup"));
	*client = json_string_value(json_object_get(doc, "clientId"));
	set = json_object_get(doc, "mqSet");
	if (!*group || !**group || strlen(*group) > KMQD_LOCK_NAME_MAX) {
		kmqd_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			   "the consumerGroup field is missing or too long");
		goto bad;
	}
	if (!*client || !**client || strlen(*client) > KMQD_LOCK_NAME_MAX) {
		kmqd_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			   "the clientId field is missing or too long");
		goto bad;
	}
	if (!json_is_array(set)) {
		kmqd_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			   "the mqSet field is missing or not an array");
		goto bad;
	}
	*mqs = calloc(json_array_size(set) + 1, sizeof(**mqs));
	if (!*mqs) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		goto bad;
	}
	json_array_foreach(set, i, mq) {
		const char *t = json_string_value(json_object_get(mq, "topic"));
		const char *b = json_string_value(json_object_get(mq,
								  "brokerName"));
		json_t *q = json_object_get(mq, "queueId");

		if (!t || !*t || strlen(t) > KMQD_LOCK_NAME_MAX || !b ||
		    strlen(b) > KMQD_LOCK_NAME_MAX || !json_is_integer(q) ||
		    json_integer_value(q) < 0 ||
		    json_integer_value(q) > 65535) {
			kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
				    "mqSet[%zu] needs topic, brokerName and a queueId 0..65535",
				    i);
			goto bad;
		}
		(*mqs)[i].topic = t;
		(*mqs)[i].broker = b;
		(*mqs)[i].qid = json_integer_value(q);
	}
	*n = json_array_size(set);
	return doc;
bad:
	free(*mqs);
	*mqs = NULL;
	json_decref(doc);
	return NULL;
}

void kmqd_lock_batch_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const char *group, *client;
	uint64_t now = kmqd_mono_ms();
	struct kmqd_mq *mqs;
	json_t *doc, *resp, *ok;
	size_t n, i;

	doc = kmqd_lock_body(c, req, &group, &client, &mqs, &n);
	if (!doc)
		return;
	resp = json_pack("{s:[]}", "lockOKMQSet");
	ok = json_object_get(resp, "lockOKMQSet");
	pthread_mutex_lock(&kmqd_locks_mutex);
	for (i = 0; i < n; i++)
		if (kmqd_lock_one(group, &mqs[i], client, c, now))
			json_array_append_new(ok, json_pack("{s:s, s:i, s:s}",
							    "brokerName", mqs[i].broker,
							    "queueId", (int)mqs[i].qid,
							    "topic", mqs[i].topic));
	pthread_mutex_unlock(&kmqd_locks_mutex);
	kmqd_reply_json(c, req, resp);
	json_decref(resp);
	json_decref(doc);
	free(mqs);
}

void kmqd_unlock_batch_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const char *group, *client;
	struct kmqd_mq *mqs;
	json_t *doc;
	size_t n, i;

	doc = kmqd_lock_body(c, req, &group, &client, &mqs, &n);
	if (!doc)
		return;
	pthread_mutex_lock(&kmqd_locks_mutex);
	for (i = 0; i < n; i++)
		kmqd_unlock_one(group, &mqs[i], client);
	pthread_mutex_unlock(&kmqd_locks_mutex);
	kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
	json_decref(doc);
	free(mqs);
}

struct kmqd_lock_client {
	const char *group;
	const char *client;
};

static bool kmqd_lock_of_client(const struct kmqd_lock *l, const void *arg)
{
	const struct kmqd_lock_client *lc = arg;

	return !strcmp(l->client, lc->client) && !strcmp(l->group, lc->group);
}

void kmqd_lock_release_client(const char *group, const char *client_id)
{
	struct kmqd_lock_client lc = { group, client_id };
	unsigned int n = kmqd_lock_remove_if(kmqd_lock_of_client, &lc);

	if (n)
		log_info("group %s: %u queue locks of %s released (unregistered)",
			 group, n, client_id);
}

static bool kmqd_lock_on_conn(const struct kmqd_lock *l, const void *arg)
{
	return l->conn == arg;
}

void kmqd_lock_conn_closed(struct kmqd_conn *c)
{
	unsigned int n = kmqd_lock_remove_if(kmqd_lock_on_conn, c);

	if (n)
		log_info("%u queue locks released: connection %s closed", n,
			 kmqd_conn_peer(c));
}

static bool kmqd_lock_is_expired(const struct kmqd_lock *l, const void *arg)
{
	return kmqd_lock_expired(l, *(const uint64_t *)arg);
}

void kmqd_lock_tick(uint64_t now_ms)
{
	kmqd_lock_remove_if(kmqd_lock_is_expired, &now_ms);
}

static bool kmqd_lock_any(const struct kmqd_lock *l, const void *arg)
{
	return true;
}

void kmqd_locks_free(void)
{
	kmqd_lock_remove_if(kmqd_lock_any, NULL);
}
