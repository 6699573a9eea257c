// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_message.c - the message subcommands: queryMsgById (33 at the
 * store host of the id), queryMsgByKey (12 to every master of the route;
 * kmqd has no index and says so), queryMsgByOffset and consumeMessage
 * (libkmq's pull consumer), sendMessage (libkmq's producer).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kmqadmin.h"

#define KADM_PULL_MAX		32
#define KADM_QUERY_MAX_NUM	"64"

/* A pull consumer of @group on the run's name servers, or NULL. */
static struct kmq_pull_consumer *kadm_puller(struct kadm *k, const char *group)
{
	struct kmq_pull_consumer_config cfg;
	struct kmq_pull_consumer *pc;
	int ret;

	kmq_pull_consumer_config_init(&cfg);
	cfg.client.namesrv_addr = k->namesrv;
	cfg.client.connect_timeout_ms = k->timeout_ms;
	cfg.client.request_timeout_ms = k->timeout_ms;
	cfg.group = group;
	ret = kmq_pull_consumer_new(&cfg, &pc);
	if (ret) {
		kadm_seterr(k, "pull consumer of group %s: %s", group,
			    kmq_errmsg()[0] ? kmq_errmsg() : kmq_strerror(ret));
		return NULL;
	}
	return pc;
}

/* "what of queue T/b/q: error" into @k->err. Return: -1. */
static int kadm_mq_err(struct kadm *k, const char *what,
		       const struct kmq_mq *mq, int err)
{
	kadm_seterr(k, "%s of queue %s/%s/%d: %s", what, mq->topic,
		    mq->broker_name, mq->queue_id,
		    kmq_errmsg()[0] ? kmq_errmsg() : kmq_strerror(err));
	return -1;
}

/* ---- queryMsgById ------------------------------------------------------- */

/*
 * The name of the broker at @addr from the cluster info @info (a view by
 * id knows the store host's address only), or NULL.
 */
static const char *kadm_name_of(json_t *info, const char *addr)
{
	json_t *d, *a;
	const char *name, *id;

	json_object_foreach(json_object_get(info, "brokerAddrTable"), name, d)
		json_object_foreach(json_object_get(d, "brokerAddrs"), id, a)
			if (json_is_string(a) &&
			    !strcmp(json_string_value(a), addr))
				return name;
	return NULL;
}

static int kadm_query_by_id(struct kadm *k)
{
	char *ids = strdup(kadm_opt_val(k, 'i')), *save = NULL, *id;
	struct kmq_client *c = kadm_client(k);
	json_t *doc, *arr, *info;
	int failed = 0, shown = 0, ret;

	if (!ids)
		return kadm_fail(k, "out of memory");
	if (!c) {
		free(ids);
		return kadm_fail_err(k);
	}
	info = kadm_cluster_info(k);	/* names only: may fail */
	doc = json_pack("{s:[]}", "messages");
	arr = json_object_get(doc, "messages");
	for (id = strtok_r(ids, ", ", &save); id;
	     id = strtok_r(NULL, ", ", &save)) {
		struct kmq_message_ext *m, named;
		const char *name;

		ret = kmq_client_view_message(c, id, &m);
		if (ret == -EINVAL) {
			failed++;
			kadm_fail(k, "%s (%s)", kmq_errmsg(),
				  "a unique key needs the message index, which this broker does not have");
			continue;
		}
		if (ret) {
			failed++;
			kadm_fail(k, "message %s: %s", id, kmq_errmsg()[0] ?
				  kmq_errmsg() : kmq_strerror(ret));
			continue;
		}
		named = *m;
		name = kadm_name_of(info, m->broker_name);
		if (name)
			named.broker_name = name;
		if (k->json) {
			json_array_append_new(arr, kadm_msg_json(&named));
		} else {
			if (shown++)
				putchar('\n');
			kadm_msg_print(&named, stdout);
		}
		kmq_message_ext_free(m);
	}
	json_decref(info);
	free(ids);
	if (k->json)
		kadm_json_print(doc);
	else
		json_decref(doc);
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- queryMsgByKey ------------------------------------------------------ */

/* Does @m carry @key in KEYS (space-separated) or as its UNIQ_KEY? */
static bool kadm_has_key(const struct kmq_message_ext *m, const char *key)
{
	size_t kl = strlen(key);
	const char *p = m->keys;

	if (!strcmp(m->msg_id, key))
		return true;
	while (p && *p) {
		size_t n = strcspn(p, " ");

		if (n == kl && !memcmp(p, key, kl))
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

static int kadm_query_by_key(struct kadm *k)
{
	const char *topic, *key = kadm_opt_val(k, 'k');
	struct kmq_topic_route *r;
	struct kadm_broker *bv;
	struct kadm_table *t;
	json_t *doc, *arr;
	int n, i, failed = 0;

	if (kadm_arg_topic(k, 't', &topic))
		return KADM_EXIT_USAGE;
	if (!*key || strlen(key) > 255)
		return kadm_usage_err(k, "-k (--msgKey): 1..255 characters");
	if (kadm_route(k, topic, &r))
		return kadm_fail_err(k);
	n = kadm_route_masters(k, r, &bv);
	kmq_topic_route_free(r);
	if (n < 0)
		return kadm_fail_err(k);
	t = kadm_table_new(4, "Message ID", "Broker Name", ">QID", ">Offset");
	doc = json_pack("{s:s, s:s, s:[]}", "topic", topic, "key", key,
			"messages");
	arr = json_object_get(doc, "messages");
	for (i = 0; i < n; i++) {
		const struct kmq_field f[] = {
			{ "topic", topic }, { "key", key },
			{ "maxNum", KADM_QUERY_MAX_NUM },
			{ "beginTimestamp", "0" },
			{ "endTimestamp", "9223372036854775807" },
		};
		struct kmq_message_ext **msgs;
		struct kmq_response *resp;
		int nm, j;

		if (kadm_call(k, bv[i].addr, bv[i].where,
			      KMQ_REQ_QUERY_MESSAGE, f, 5, NULL, 0, &resp)) {
			kmq_response_free(resp);
			failed++;
			kadm_fail_err(k);
			continue;
		}
		nm = kmq_messages_decode(resp->body, resp->body_len,
					 bv[i].name, &msgs);
		kmq_response_free(resp);
		for (j = 0; j < nm; j++) {
			const struct kmq_message_ext *m = msgs[j];

			if (!strcmp(m->topic, topic) && kadm_has_key(m, key)) {
				kadm_cell(t, "%s", m->msg_id);
				kadm_cell(t, "%s", m->broker_name);
				kadm_cell(t, "%d", m->queue_id);
				kadm_cell(t, "%" PRId64, m->queue_offset);
				json_array_append_new(arr, kadm_msg_json(m));
			}
			kmq_message_ext_free(msgs[j]);
		}
		free(nm > 0 ? msgs : NULL);
	}
	if (!failed) {
		if (k->json)
			kadm_json_print(doc);
		else
			kadm_table_print(t, stdout);
	}
	if (failed || !k->json)
		json_decref(doc);
	kadm_table_free(t);
	free(bv);
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- queryMsgByOffset --------------------------------------------------- */

static int kadm_mq_args(struct kadm *k, struct kmq_mq *mq, bool need_qid)
{
	const char *topic, *broker;
	int64_t qid;
	int ret;

	ret = kadm_arg_topic(k, 't', &topic);
	if (!ret)
		ret = kadm_arg_name(k, 'b', &broker);
	if (!ret)
		ret = kadm_arg_int(k, 'i', 0, 65535, -1, &qid);
	if (ret)
		return ret;
	if (need_qid && qid < 0)
		return kadm_usage_err(k, "-i (--queueId) is required");
	snprintf(mq->topic, sizeof(mq->topic), "%s", topic);
	snprintf(mq->broker_name, sizeof(mq->broker_name), "%s",
		 broker ? broker : "");
	mq->queue_id = (int)qid;
	return 0;
}

static int kadm_query_by_offset(struct kadm *k)
{
	struct kmq_pull_result *res = NULL;
	struct kmq_pull_consumer *pc;
	struct kmq_mq mq;
	int64_t off;
	int ret;

	ret = kadm_mq_args(k, &mq, true);
	if (!ret)
		ret = kadm_arg_int(k, 'o', 0, INT64_MAX, 0, &off);
	if (ret)
		return ret;
	pc = kadm_puller(k, KADM_TOOLS_GROUP);
	if (!pc)
		return kadm_fail_err(k);
	ret = kmq_pull_consumer_pull(pc, &mq, "*", off, 1, 0, &res);
	if (ret) {
		kadm_mq_err(k, "PULL_MESSAGE (11)", &mq, ret);
		kmq_pull_consumer_free(pc);
		return kadm_fail_err(k);
	}
	if (res->status != KMQ_PULL_FOUND || !res->nmsgs) {
		kadm_seterr(k, "no message at offset %" PRId64
			    " of queue %s/%s/%d (it holds %" PRId64 "..%" PRId64
			    ")", off, mq.topic, mq.broker_name, mq.queue_id,
			    res->min_offset, res->max_offset - 1);
		ret = kadm_fail_err(k);
	} else if (k->json) {
		kadm_json_print(kadm_msg_json(res->msgs[0]));
	} else {
		kadm_msg_print(res->msgs[0], stdout);
	}
	kmq_pull_result_free(res);
	kmq_pull_consumer_free(pc);
	return ret;
}

/* ---- sendMessage ---------------------------------------------------------- */

struct kadm_pick {
	const char *broker;
	int qid;		/* -1: any queue of @broker */
	unsigned int seed;
};

static int kadm_pick_queue(const struct kmq_mq *mqs, unsigned int n,
			   const struct kmq_message *m, void *arg)
{
	const struct kadm_pick *p = arg;
	unsigned int i, matches = 0, want;

	for (i = 0; i < n; i++)
		if (!strcmp(mqs[i].broker_name, p->broker) &&
		    (p->qid < 0 || mqs[i].queue_id == p->qid))
			matches++;
	if (!matches)
		return 0;
	want = p->seed % matches;
	for (i = 0; i < n; i++)
		if (!strcmp(mqs[i].broker_name, p->broker) &&
		    (p->qid < 0 || mqs[i].queue_id == p->qid) && !want--)
			return i;
	return 0;
}

/* Does the route have write queue @qid (-1: any) on @broker? */
static int kadm_check_queue(struct kadm *k, const struct kmq_mq *mq)
{
	struct kmq_topic_route *r;
	unsigned int i;
	bool found = false;

	if (kadm_route(k, mq->topic, &r))
		return -1;
	for (i = 0; i < r->nqueues; i++)
		if (!strcmp(r->queues[i].broker_name, mq->broker_name) &&
		    r->queues[i].write_queues > mq->queue_id &&
		    (r->queues[i].perm & KMQ_QUEUE_PERM_WRITE))
			found = true;
	kmq_topic_route_free(r);
	if (!found) {
		if (mq->queue_id >= 0)
			kadm_seterr(k, "topic %s has no writable queue %d on broker %s",
				    mq->topic, mq->queue_id, mq->broker_name);
		else
			kadm_seterr(k, "topic %s has no writable queue on broker %s",
				    mq->topic, mq->broker_name);
	}
	return found ? 0 : -1;
}

static int kadm_send_message(struct kadm *k)
{
	struct kmq_producer_config cfg;
	struct kmq_send_result res;
	struct kmq_producer *p;
	struct kmq_message m = { 0 };
	struct kadm_pick pick;
	struct kmq_selector sel = { kadm_pick_queue, &pick };
	const char *body = kadm_opt_val(k, 'p'), *tags, *keys;
	struct kadm_table *t;
	struct kmq_mq mq;
	char group[64];
	int ret;

	ret = kadm_mq_args(k, &mq, false);
	if (!ret)
		ret = kadm_arg_name(k, 'c', &tags);
	if (ret)
		return ret;
	keys = kadm_opt_val(k, 'k');
	if (mq.queue_id >= 0 && !mq.broker_name[0])
		return kadm_usage_err(k, "-i (--qid) needs -b (--broker)");
	if (!*body)
		return kadm_usage_err(k, "-p (--body) is empty");
	if (mq.broker_name[0] && kadm_check_queue(k, &mq))
		return kadm_fail_err(k);
	pick.broker = mq.broker_name;
	pick.qid = mq.queue_id;
	pick.seed = (unsigned int)kadm_now_ms() ^ (unsigned int)getpid();
	snprintf(group, sizeof(group), "KMQADMIN_PRODUCER_%d", (int)getpid());
	kmq_producer_config_init(&cfg);
	cfg.client.namesrv_addr = k->namesrv;
	cfg.client.connect_timeout_ms = k->timeout_ms;
	cfg.client.request_timeout_ms = k->timeout_ms;
	cfg.group = group;
	cfg.send_timeout_ms = k->timeout_ms;
	ret = kmq_producer_new(&cfg, &p);
	if (ret)
		return kadm_fail(k, "producer: %s", kmq_errmsg());
	m.topic = mq.topic;
	m.tags = tags;
	m.keys = keys && *keys ? keys : NULL;
	m.body = body;
	m.body_len = strlen(body);
	ret = kmq_producer_send(p, &m, mq.broker_name[0] ? &sel : NULL, &res);
	if (ret) {
		kadm_seterr(k, "send to topic %s: %s", mq.topic,
			    kmq_errmsg()[0] ? kmq_errmsg() : kmq_strerror(ret));
		kmq_producer_free(p);
		return kadm_fail_err(k);
	}
	kmq_producer_free(p);
	if (k->json) {
		kadm_json_print(json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:I}",
					  "topic", res.mq.topic,
					  "brokerName", res.mq.broker_name,
					  "queueId", res.mq.queue_id,
					  "sendStatus",
					  kmq_send_status_name(res.status),
					  "msgId", res.msg_id,
					  "offsetMsgId", res.offset_msg_id,
					  "queueOffset",
					  (json_int_t)res.queue_offset));
		return KADM_EXIT_OK;
	}
	t = kadm_table_new(6, "Broker Name", ">QID", "Send Result", "MsgId",
			   "OffsetMsgId", ">Queue Offset");
	kadm_cell(t, "%s", res.mq.broker_name);
	kadm_cell(t, "%d", res.mq.queue_id);
	kadm_cell(t, "%s", kmq_send_status_name(res.status));
	kadm_cell(t, "%s", res.msg_id);
	kadm_cell(t, "%s", res.offset_msg_id);
	kadm_cell(t, "%" PRId64, res.queue_offset);
	kadm_table_print(t, stdout);
	kadm_table_free(t);
	return KADM_EXIT_OK;
}

/* ---- consumeMessage ------------------------------------------------------- */

struct kadm_consume {
	struct kmq_pull_consumer *pc;
	int64_t begin_ts, end_ts, start_off;
	int64_t left, total;
	size_t qi, nq;
	struct kadm_table *t;
	json_t *arr;
};

static void kadm_consume_row(struct kadm *k, struct kadm_consume *cs,
			     const struct kmq_message_ext *m)
{
	char when[40], *body;

	if (k->json) {
		json_array_append_new(cs->arr, kadm_msg_json(m));
		return;
	}
	body = kadm_body_str(m->body, m->body_len);
	kadm_cell(cs->t, "%s", m->broker_name);
	kadm_cell(cs->t, "%d", m->queue_id);
	kadm_cell(cs->t, "%" PRId64, m->queue_offset);
	kadm_cell(cs->t, "%s", m->msg_id);
	kadm_cell(cs->t, "%s", m->tags ? m->tags : "");
	kadm_cell(cs->t, "%s", m->keys ? m->keys : "");
	kadm_cell(cs->t, "%s", kadm_time_str(m->store_ts, when, sizeof(when)));
	kadm_cell(cs->t, "%s", body ? body : "");
	free(body);
}

/* The range [*@from, *@to) of @mq to read. Return: 0 or -1 (@k->err). */
static int kadm_consume_range(struct kadm *k, struct kadm_consume *cs,
			      const struct kmq_mq *mq, int64_t *from,
			      int64_t *to)
{
	int ret;

	ret = kmq_pull_consumer_min_offset(cs->pc, mq, from);
	if (ret)
		return kadm_mq_err(k, "GET_MIN_OFFSET (31)", mq, ret);
	ret = kmq_pull_consumer_max_offset(cs->pc, mq, to);
	if (ret)
		return kadm_mq_err(k, "GET_MAX_OFFSET (30)", mq, ret);
	if (cs->begin_ts > 0) {
		ret = kmq_pull_consumer_search_offset(cs->pc, mq, cs->begin_ts,
						      from);
		if (ret)
			return kadm_mq_err(k, "SEARCH_OFFSET_BY_TIMESTAMP (29)",
					   mq, ret);
	}
	if (cs->end_ts > 0) {
		ret = kmq_pull_consumer_search_offset(cs->pc, mq, cs->end_ts,
						      to);
		if (ret)
			return kadm_mq_err(k, "SEARCH_OFFSET_BY_TIMESTAMP (29)",
					   mq, ret);
	}
	if (cs->start_off > *from)
		*from = cs->start_off;
	return 0;
}

/* Read @mq's range, at most cs->left messages. Return: 0 or -1. */
static int kadm_consume_queue(struct kadm *k, struct kadm_consume *cs,
			      const struct kmq_mq *mq)
{
	int64_t off, to;
	unsigned int i;
	int ret;

	if (kadm_consume_range(k, cs, mq, &off, &to))
		return -1;
	while (off < to && cs->left > 0) {
		struct kmq_pull_result *res;
		int64_t want = to - off;

		if (want > cs->left)
			want = cs->left;
		if (want > KADM_PULL_MAX)
			want = KADM_PULL_MAX;
		ret = kmq_pull_consumer_pull(cs->pc, mq, "*", off,
					     (unsigned int)want, 0, &res);
		if (ret)
			return kadm_mq_err(k, "PULL_MESSAGE (11)", mq, ret);
		for (i = 0; i < res->nmsgs && cs->left > 0; i++) {
			if (res->msgs[i]->queue_offset >= to)
				break;
			kadm_consume_row(k, cs, res->msgs[i]);
			cs->left--;
			cs->total++;
		}
		if (res->status == KMQ_PULL_NO_NEW_MSG ||
		    res->next_begin_offset <= off) {
			kmq_pull_result_free(res);
			break;
		}
		off = res->next_begin_offset;
		kmq_pull_result_free(res);
		kadm_progress(k, false, "%" PRId64 " messages, queue %zu/%zu",
			      cs->total, cs->qi + 1, cs->nq);
	}
	return 0;
}

static int kadm_consume_message(struct kadm *k)
{
	struct kadm_consume cs = { 0 };
	struct kmq_mq one, *mqs = NULL;
	const char *group;
	json_t *doc = NULL;
	int64_t count;
	int n, ret;
	size_t i;

	ret = kadm_mq_args(k, &one, false);
	if (!ret)
		ret = kadm_arg_name(k, 'g', &group);
	if (!ret)
		ret = kadm_arg_int(k, 'o', 0, INT64_MAX, -1, &cs.start_off);
	if (!ret)
		ret = kadm_arg_time(k, 's', (int64_t)kadm_now_ms(),
				    &cs.begin_ts);
	if (!ret)
		ret = kadm_arg_time(k, 'e', (int64_t)kadm_now_ms(),
				    &cs.end_ts);
	if (!ret)
		ret = kadm_arg_int(k, 'c', 1, INT64_MAX, 128, &count);
	if (ret)
		return ret;
	if (one.queue_id >= 0 && !one.broker_name[0])
		return kadm_usage_err(k, "-i (--queueId) needs -b (--brokerName)");
	if (cs.start_off >= 0 && one.queue_id < 0)
		return kadm_usage_err(k, "-o (--offset) needs -i (--queueId)");
	cs.left = count;
	cs.pc = kadm_puller(k, group ? group : KADM_TOOLS_GROUP);
	if (!cs.pc)
		return kadm_fail_err(k);
	if (one.queue_id >= 0) {
		mqs = malloc(sizeof(*mqs));
		if (mqs)
			*mqs = one;
		n = mqs ? 1 : -ENOMEM;
	} else {
		n = kmq_pull_consumer_queues(cs.pc, one.topic, &mqs);
	}
	if (n < 0) {
		kadm_seterr(k, "queues of topic %s: %s", one.topic,
			    kmq_errmsg()[0] ? kmq_errmsg() : kmq_strerror(n));
		kmq_pull_consumer_free(cs.pc);
		return kadm_fail_err(k);
	}
	cs.t = kadm_table_new(8, "Broker Name", ">QID", ">Offset", "MsgId",
			      "Tags", "Keys", "StoreTime", "Body");
	doc = json_pack("{s:s, s:[]}", "topic", one.topic, "messages");
	cs.arr = json_object_get(doc, "messages");
	cs.nq = n;
	ret = 0;
	for (i = 0; i < (size_t)n && cs.left > 0 && !ret; i++) {
		if (one.broker_name[0] && strcmp(mqs[i].broker_name,
						 one.broker_name))
			continue;
		cs.qi = i;
		ret = kadm_consume_queue(k, &cs, &mqs[i]);
	}
	kadm_progress(k, true, "%" PRId64 " messages from %d queues", cs.total,
		      n);
	if (!ret) {
		json_object_set_new(doc, "count", json_integer(cs.total));
		if (k->json) {
			kadm_json_print(doc);
			doc = NULL;
		} else {
			kadm_table_print(cs.t, stdout);
		}
	}
	json_decref(doc);
	kadm_table_free(cs.t);
	free(mqs);
	kmq_pull_consumer_free(cs.pc);
	return ret ? kadm_fail_err(k) : KADM_EXIT_OK;
}

/* ---- the table ------------------------------------------------------------ */

static const struct kadm_opt kadm_by_id_opts[] = {
	{ 'i', "msgId", "ID[,ID...]", true,
	  "offset message ids (32 or 56 hex characters)" },
	{ 0 }
};

static const struct kadm_opt kadm_by_key_opts[] = {
	{ 't', "topic", "TOPIC", true, "topic name" },
	{ 'k', "msgKey", "KEY", true, "message key" },
	{ 0 }
};

static const struct kadm_opt kadm_by_offset_opts[] = {
	{ 't', "topic", "TOPIC", true, "topic name" },
	{ 'b', "brokerName", "NAME", true, "broker name" },
	{ 'i', "queueId", "N", true, "queue id" },
	{ 'o', "offset", "N", true, "queue offset" },
	{ 0 }
};

static const struct kadm_opt kadm_send_opts[] = {
	{ 't', "topic", "TOPIC", true, "topic name" },
	{ 'p', "body", "TEXT", true, "the message body (UTF-8 text)" },
	{ 'k', "key", "KEYS", false, "message keys (space-separated)" },
	{ 'c', "tags", "TAG", false, "message tag" },
	{ 'b', "broker", "NAME", false, "send to this broker (by name)" },
	{ 'i', "qid", "N", false, "send to this queue of -b" },
	{ 0 }
};

static const struct kadm_opt kadm_consume_opts[] = {
	{ 't', "topic", "TOPIC", true, "topic name" },
	{ 'b', "brokerName", "NAME", false, "only this broker's queues" },
	{ 'i', "queueId", "N", false, "only this queue of -b" },
	{ 'o', "offset", "N", false, "start at this offset of -i's queue" },
	{ 'g', "consumerGroup", "GROUP", false,
	  "group of the pulls (TOOLS_CONSUMER); offsets are not committed" },
	{ 's', "beginTimestamp", "TIME", false,
	  "from this time (ms, now, or yyyy-MM-dd#HH:mm:ss:SSS)" },
	{ 'e', "endTimestamp", "TIME", false, "until this time" },
	{ 'c', "MessageNumber", "N", false, "at most this many messages (128)" },
	{ 0 }
};

const struct kadm_cmd kadm_message_cmds[] = {
	{ "queryMsgById", "Query messages by their offset message ids",
	  kadm_by_id_opts, kadm_query_by_id },
	{ "queryMsgByKey", "Query messages by key (needs a broker index)",
	  kadm_by_key_opts, kadm_query_by_key },
	{ "queryMsgByOffset", "Query the message at a queue offset",
	  kadm_by_offset_opts, kadm_query_by_offset },
	{ "sendMessage", "Send a message", kadm_send_opts, kadm_send_message },
	{ "consumeMessage", "Read messages of a topic (nothing committed)",
	  kadm_consume_opts, kadm_consume_message },
	{ NULL }
};
