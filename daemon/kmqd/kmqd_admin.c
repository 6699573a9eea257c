// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_admin.c - the broker's administration requests (what mqadmin
 * sends), dispatched from kmqd_broker.c for the codes it does not handle
 * itself:
 *
 *   12  QUERY_MESSAGE                 not supported: no index yet
 *   21  GET_ALL_TOPIC_CONFIG          TopicConfigSerializeWrapper
 *   25  UPDATE_BROKER_CONFIG          kmqd_brokercfg.c
 *   26  GET_BROKER_CONFIG             kmqd_brokercfg.c
 *   28  GET_BROKER_RUNTIME_INFO       kmqd_stats.c
 *   41  LOCK_BATCH_MQ, 42 UNLOCK_...   kmqd_lock.c
 *   200, 201, 207 subscription groups kmqd_subgroup.c
 *   202 GET_TOPIC_STATS_INFO          TopicStatsTable
 *   203 GET_CONSUMER_CONNECTION_LIST  ConsumerConnection
 *   208 GET_CONSUME_STATS             ConsumeStats
 *   215 DELETE_TOPIC_IN_BROKER
 *   222 INVOKE_BROKER_TO_RESET_OFFSET offsets reset by time, online
 *                                     consumers told (220)
 *
 * Bodies whose maps are keyed by message queues (202, 208, 222, 220) are
 * written as RocketMQ's fastjson writes them (kmqd_mqmap.c); the others
 * are standard JSON. docs/daemon.md has the table.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

void kmqd_reply_body(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
		     const char *text, size_t len)
{
	struct kmq_rmt_cmd resp;

	if (req->flag & KMQ_RMT_FLAG_ONEWAY)
		return;
	if (kmq_rmt_response(&resp, req, KMQ_RESP_SUCCESS, NULL))
		return;
	kmqd_conn_reply(c, &resp, text, len);
	kmq_rmt_cmd_free(&resp);
}

void kmqd_reply_json(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
		     json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	if (!text) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	kmqd_reply_body(c, req, text, strlen(text));
	free(text);
}

/* Answer a document built by kmqd_mqmap_doc() (NULL: out of memory). */
static void kmqd_reply_text(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
			    char *text)
{
	if (!text) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	kmqd_reply_body(c, req, text, strlen(text));
	free(text);
}

/* The topic's configuration, or a TOPIC_NOT_EXIST answer and false. */
static bool kmqd_admin_topic(struct kmqd_conn *c, struct kmq_rmt_cmd *req,
			     const char *topic, struct kmq_topic_info *ti)
{
	if (!kmqd_st_topic_info(kmqd_brk->store, topic, ti))
		return true;
	kmqd_replyf(c, req, KMQ_RESP_TOPIC_NOT_EXIST, "topic[%s] not exist",
		    topic);
	return false;
}

static void kmqd_queue_range(const char *topic, uint32_t qid, uint64_t *min,
			     uint64_t *max)
{
	if (kmqd_st_queue_offsets(kmqd_brk->store, topic, qid, min, max)) {
		*min = 0;
		*max = 0;
	}
}

/* 202: {"offsetTable":{mq:{"lastUpdateTimestamp","maxOffset","minOffset"}}} */
static void kmqd_topic_stats_handle(struct kmqd_conn *c,
				    struct kmq_rmt_cmd *req)
{
	struct kmqd_mqmap map = { 0 };
	struct kmq_topic_info ti;
	const char *topic;
	uint32_t q;

	if (!kmqd_need_str(c, req, "topic", &topic) ||
	    !kmqd_admin_topic(c, req, topic, &ti))
		return;
	for (q = 0; q < ti.write_queues; q++) {
		uint64_t min, max, ts = 0;

		kmqd_queue_range(topic, q, &min, &max);
		if (max > 0 && !kmqd_queue_store_ts(topic, q, max - 1, &ts))
			ts = 0;
		kmqd_mqmap_add(&map, topic, kmqd_brk->opts.name, q,
			       json_pack("{s:I, s:I, s:I}",
					 "lastUpdateTimestamp", (json_int_t)ts,
					 "maxOffset", (json_int_t)max,
					 "minOffset", (json_int_t)min));
	}
	kmqd_reply_text(c, req, kmqd_mqmap_doc(&map, "offsetTable", NULL));
}

/* 203: the group's online clients, or CONSUMER_NOT_ONLINE. */
static void kmqd_consumer_connection_handle(struct kmqd_conn *c,
					    struct kmq_rmt_cmd *req)
{
	const char *group;
	json_t *cc;

	if (!kmqd_need_str(c, req, "consumerGroup", &group))
		return;
	cc = kmqd_group_connection(group);
	if (!cc) {
		kmqd_replyf(c, req, KMQ_RESP_CONSUMER_NOT_ONLINE,
			    "the consumer group[%s] not online", group);
		return;
	}
	kmqd_reply_json(c, req, cc);
	json_decref(cc);
}

static void kmqd_add_topic(void *arg, const char *topic)
{
	json_t *topics = arg;

	json_array_append_new(topics, json_string(topic));
}

static bool kmqd_group_online(const char *group)
{
	json_t *cc = kmqd_group_connection(group);
	bool online = cc;

	json_decref(cc);
	return online;
}

/*
 * 208: consumerGroup, topic (optional: every topic the group has offsets
 * for). {"consumeTps":x,"offsetTable":{mq:{"brokerOffset",
 * "consumerOffset","lastTimestamp","pullOffset"}}}.
 */
static void kmqd_consume_stats_handle(struct kmqd_conn *c,
				      struct kmq_rmt_cmd *req)
{
	const char *group, *topic = kmq_rmt_ext(req, "topic");
	struct kmqd_mqmap map = { 0 };
	json_t *topics, *subs, *t, *rest;
	struct kmq_topic_info ti;
	double tps = 0.0;
	size_t i;

	if (!kmqd_need_str(c, req, "consumerGroup", &group))
		return;
	topics = json_array();
	if (topic && *topic) {
		if (!kmqd_admin_topic(c, req, topic, &ti)) {
			json_decref(topics);
			return;
		}
		json_array_append_new(topics, json_string(topic));
	} else {
		kmqd_offsets_topics_of(group, kmqd_add_topic, topics);
	}
	subs = kmqd_group_connection(group);
	if (!json_array_size(topics) && !subs &&
	    !kmqd_subgroup_exists(group)) {
		json_decref(topics);
		kmqd_replyf(c, req, KMQ_RESP_SUBSCRIPTION_GROUP_NOT_EXIST,
			    "subscription group [%s] does not exist", group);
		return;
	}
	json_array_foreach(topics, i, t) {
		const char *name = json_string_value(t);
		json_t *table = json_object_get(subs, "subscriptionTable");
		uint32_t q;

		if (kmqd_st_topic_info(kmqd_brk->store, name, &ti))
			continue;
		/* An online group that does not subscribe to it: skipped. */
		if (json_object_size(table) && !json_object_get(table, name))
			continue;
		for (q = 0; q < ti.read_queues; q++) {
			uint64_t min, max, ts = 0;
			int64_t off = 0;

			kmqd_queue_range(name, q, &min, &max);
			if (!kmqd_offset_lookup(group, name, q, &off) ||
			    off < 0)
				off = 0;
			if (off > 0 &&
			    !kmqd_queue_store_ts(name, q, off - 1, &ts))
				ts = 0;
			kmqd_mqmap_add(&map, name, kmqd_brk->opts.name, q,
				       json_pack("{s:I, s:I, s:I, s:I}",
						 "brokerOffset", (json_int_t)max,
						 "consumerOffset", (json_int_t)off,
						 "lastTimestamp", (json_int_t)ts,
						 "pullOffset", (json_int_t)off));
		}
		tps += kmqd_stats_group_tps(group, name);
	}
	json_decref(subs);
	json_decref(topics);
	rest = json_pack("{s:f}", "consumeTps", tps);
	kmqd_reply_text(c, req, kmqd_mqmap_doc(&map, "offsetTable", rest));
	json_decref(rest);
}

/* 215: topic. Deleting an unknown topic succeeds (as RocketMQ) with a remark. */
static void kmqd_delete_topic_handle(struct kmqd_conn *c,
				     struct kmq_rmt_cmd *req)
{
	const char *topic;
	int ret;

	if (!kmqd_need_str(c, req, "topic", &topic))
		return;
	if (!strcmp(topic, KMQD_AUTO_CREATE_TOPIC) ||
	    !strcmp(topic, KMQD_SCHEDULE_TOPIC)) {
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "The topic[%s] is conflict with system topic.",
			    topic);
		return;
	}
	ret = kmqd_st_topic_delete(kmqd_brk->store, topic);
	if (ret == -KMQ_ENOTOPIC) {
		kmqd_replyf(c, req, KMQ_RESP_SUCCESS,
			    "topic %s does not exist in this broker", topic);
		return;
	}
	if (ret) {
		kmqd_replyf(c, req, ret == -KMQ_EBADTOPIC ?
			    KMQ_RESP_INVALID_PARAMETER : KMQ_RESP_SYSTEM_ERROR,
			    "delete topic %s: %s", topic, kmqd_st_errmsg());
		return;
	}
	kmqd_offsets_drop_topic(topic);
	log_info("topic %s deleted (from %s)", topic, kmqd_conn_peer(c));
	kmqd_broker_topics_changed();
	kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
}

/* 21: {"topicConfigTable":{...},"dataVersion":{...}} */
static void kmqd_all_topic_config_handle(struct kmqd_conn *c,
					 struct kmq_rmt_cmd *req)
{
	json_t *wrapper = kmqd_topic_config_wrapper();

	kmqd_reply_json(c, req, wrapper);
	json_decref(wrapper);
}

/* ---- 222 and 220 ---------------------------------------------------- */

struct kmqd_reset_note {
	struct kmqd_conn *conn;		/* referenced */
	char topic[KMQ_TOPIC_MAX_V1 + 1];
	char group[256];
	int64_t timestamp;
	bool force;
	char *body;
	size_t len;
};

/* On the client connection's loop: RESET_CONSUMER_CLIENT_OFFSET, oneway. */
static void kmqd_reset_note_run(void *arg)
{
	struct kmqd_reset_note *n = arg;
	struct kmq_rmt_cmd req;

	if (kmqd_conn_is_open(n->conn) &&
	    !kmq_rmt_request(&req, KMQ_REQ_RESET_CONSUMER_CLIENT_OFFSET, 0,
			     KMQ_RMT_JSON)) {
		req.flag |= KMQ_RMT_FLAG_ONEWAY;
		kmq_rmt_set_ext(&req, "topic", n->topic);
		kmq_rmt_set_ext(&req, "group", n->group);
		kmq_rmt_set_extf(&req, "timestamp", "%" PRId64, n->timestamp);
		kmq_rmt_set_ext(&req, "isForce", n->force ? "true" : "false");
		kmqd_conn_reply(n->conn, &req, n->body, n->len);
		kmq_rmt_cmd_free(&req);
	}
	kmqd_conn_put(n->conn);
	free(n->body);
	free(n);
}

struct kmqd_reset_ctx {
	const char *topic;
	const char *group;
	int64_t timestamp;
	bool force;
	const char *body;
	unsigned int sent;
};

static void kmqd_reset_notify(void *arg, struct kmqd_conn *conn,
			      const char *client_id)
{
	struct kmqd_reset_ctx *ctx = arg;
	struct kmqd_reset_note *n = calloc(1, sizeof(*n));

	if (!n)
		return;
	n->body = strdup(ctx->body);
	if (!n->body) {
		free(n);
		return;
	}
	n->len = strlen(n->body);
	snprintf(n->topic, sizeof(n->topic), "%s", ctx->topic);
	snprintf(n->group, sizeof(n->group), "%s", ctx->group);
	n->timestamp = ctx->timestamp;
	n->force = ctx->force;
	kmqd_conn_get(conn);
	n->conn = conn;
	if (kmqd_loop_post(kmqd_conn_loop(conn), kmqd_reset_note_run, n)) {
		kmqd_conn_put(conn);
		free(n->body);
		free(n);
		return;
	}
	log_info("reset offset of %s for %s: client %s told", ctx->topic,
		 ctx->group, client_id);
	ctx->sent++;
}

/*
 * 222: topic, group, timestamp (ms; -1: the end of each queue), isForce
 * (false: a queue's offset only moves back), and RocketMQ 5's optional
 * queueId and offset (one queue, to that offset). The group's committed
 * offsets are set; its online clients get 220 with the new offsets (as
 * ResetOffsetBody, or ResetOffsetBodyForC when the caller's language is
 * CPP, as RocketMQ does). The answer is the ResetOffsetBody.
 */
static void kmqd_reset_offset_handle(struct kmqd_conn *c,
				     struct kmq_rmt_cmd *req)
{
	int64_t ts, qid = -1, want = -1, *offs = NULL;
	struct kmqd_mqmap map = { 0 };
	struct kmqd_reset_ctx ctx;
	struct kmq_topic_info ti;
	const char *topic, *group;
	json_t *forc = NULL;
	int force = 0;
	char *resp, *note;
	uint32_t q;

	if (!kmqd_need_str(c, req, "topic", &topic) ||
	    !kmqd_need_str(c, req, "group", &group) ||
	    !kmqd_need_i64(c, req, "timestamp", &ts))
		return;
	if ((kmq_rmt_ext(req, "isForce") &&
	     kmq_rmt_ext_bool(req, "isForce", &force)) ||
	    (kmq_rmt_ext(req, "queueId") &&
	     kmq_rmt_ext_i64(req, "queueId", &qid)) ||
	    (kmq_rmt_ext(req, "offset") &&
	     kmq_rmt_ext_i64(req, "offset", &want))) {
		kmqd_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			   "isForce must be a boolean, queueId and offset integers");
		return;
	}
	if (kmqd_st_topic_info(kmqd_brk->store, topic, &ti)) {
		kmqd_replyf(c, req, KMQ_RESP_TOPIC_NOT_EXIST,
			    "[reset-offset] reset offset failed, no topic in this broker. topic=%s",
			    topic);
		return;
	}
	if (!kmqd_subgroup_exists(group) &&
	    !kmqd_offsets_group_known(group, topic) &&
	    !kmqd_group_online(group)) {
		kmqd_replyf(c, req, KMQ_RESP_SUBSCRIPTION_GROUP_NOT_EXIST,
			    "Group %s does not exist", group);
		return;
	}
	if (qid >= (int64_t)ti.read_queues) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "queueId %" PRId64 ": topic %s has %u queues", qid,
			    topic, ti.read_queues);
		return;
	}
	offs = calloc(ti.read_queues + 1, sizeof(*offs));
	if (!offs) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	/* Work out every offset first: nothing changes on an error. */
	for (q = 0; q < ti.read_queues; q++) {
		uint64_t min, max;
		int64_t cur, found;
		bool has;

		offs[q] = -1;
		if (qid >= 0 && q != qid)
			continue;
		kmqd_queue_range(topic, q, &min, &max);
		if (qid >= 0 && want >= 0) {
			if (want < (int64_t)min || want > (int64_t)max) {
				kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
					    "Target offset %lld not in consume queue range [%llu-%llu]",
					    (long long)want,
					    (unsigned long long)min,
					    (unsigned long long)max);
				free(offs);
				return;
			}
			offs[q] = want;
			continue;
		}
		found = ts < 0 ? (int64_t)max :
			(int64_t)kmqd_offset_by_time(topic, q, ts, min, max);
		has = kmqd_offset_lookup(group, topic, q, &cur);
		offs[q] = force || !has || found < cur ? found : cur;
	}
	if (!strcmp(req->language, "CPP"))
		forc = json_pack("{s:[]}", "offsetTable");
	for (q = 0; q < ti.read_queues; q++) {
		if (offs[q] < 0)
			continue;
		kmqd_offset_commit(group, topic, q, offs[q]);
		kmqd_mqmap_add(&map, topic, kmqd_brk->opts.name, q,
			       json_integer(offs[q]));
		json_array_append_new(json_object_get(forc, "offsetTable"),
				      json_pack("{s:s, s:I, s:i, s:s}",
						"brokerName", kmqd_brk->opts.name,
						"offset", (json_int_t)offs[q],
						"queueId", (int)q,
						"topic", topic));
	}
	free(offs);
	resp = kmqd_mqmap_doc(&map, "offsetTable", NULL);
	note = forc ? json_dumps(forc, JSON_COMPACT) : NULL;
	json_decref(forc);
	log_info("offsets of %s for group %s reset to time %" PRId64 "%s (from %s)",
		 topic, group, ts, force ? ", forced" : "", kmqd_conn_peer(c));
	if (resp) {
		ctx = (struct kmqd_reset_ctx){
			.topic = topic, .group = group, .timestamp = ts,
			.force = force, .body = note ? note : resp,
		};
		kmqd_group_each_client(group, kmqd_reset_notify, &ctx);
	}
	free(note);
	kmqd_reply_text(c, req, resp);
}

bool kmqd_admin_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	switch (req->code) {
	case KMQ_REQ_QUERY_MESSAGE:
		kmqd_reply(c, req, KMQ_RESP_REQUEST_CODE_NOT_SUPPORTED,
			   "query by key is not supported by this broker (no index)");
		break;
	case KMQ_REQ_GET_ALL_TOPIC_CONFIG:
		kmqd_all_topic_config_handle(c, req);
		break;
	case KMQ_REQ_UPDATE_BROKER_CONFIG:
	case KMQ_REQ_GET_BROKER_CONFIG:
		return kmqd_brokercfg_handle(c, req);
	case KMQ_REQ_GET_BROKER_RUNTIME_INFO:
		kmqd_runtime_info_handle(c, req);
		break;
	case KMQ_REQ_LOCK_BATCH_MQ:
		kmqd_lock_batch_handle(c, req);
		break;
	case KMQ_REQ_UNLOCK_BATCH_MQ:
		kmqd_unlock_batch_handle(c, req);
		break;
	case KMQ_REQ_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP:
		kmqd_subgroup_update_handle(c, req);
		break;
	case KMQ_REQ_GET_ALL_SUBSCRIPTIONGROUP_CONFIG:
		kmqd_subgroup_get_all_handle(c, req);
		break;
	case KMQ_REQ_DELETE_SUBSCRIPTIONGROUP:
		kmqd_subgroup_delete_handle(c, req);
		break;
	case KMQ_REQ_GET_TOPIC_STATS_INFO:
		kmqd_topic_stats_handle(c, req);
		break;
	case KMQ_REQ_GET_CONSUMER_CONNECTION_LIST:
		kmqd_consumer_connection_handle(c, req);
		break;
	case KMQ_REQ_GET_CONSUME_STATS:
		kmqd_consume_stats_handle(c, req);
		break;
	case KMQ_REQ_DELETE_TOPIC_IN_BROKER:
		kmqd_delete_topic_handle(c, req);
		break;
	case KMQ_REQ_INVOKE_BROKER_TO_RESET_OFFSET:
		kmqd_reset_offset_handle(c, req);
		break;
	default:
		return false;
	}
	return true;
}
