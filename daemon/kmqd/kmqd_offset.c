// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_offset.c - consumer offsets and queue offsets.
 *
 * QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15) and the commit
 * carried by pulls keep, per "topic@group" and queue, the next offset to
 * consume. They persist to config/consumerOffset.json in RocketMQ's shape
 * ({"offsetTable": {"topic@group": {"0": 12}}}) every 5 s when changed and
 * at shutdown. GET_MAX/MIN_OFFSET (30, 31), GET_EARLIEST_MSG_STORETIME
 * (32) and SEARCH_OFFSET_BY_TIMESTAMP (29) answer from the store. At the
 * end, what the admin requests need (kmqd_admin.h): lookups, the topics
 * of a group, and dropping a topic's or a group's offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kmq_fs.h"
#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

static pthread_mutex_t kmqd_offsets_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *kmqd_offsets;	/* the offsetTable object */
static bool kmqd_offsets_dirty;

static void kmqd_offset_key(char *buf, size_t len, const char *topic,
			    const char *group)
{
	snprintf(buf, len, "%s@%s", topic, group);
}

int kmqd_offsets_load(const char *root)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc, *table;

	snprintf(path, sizeof(path), "%s/config/consumerOffset.json", root);
	pthread_mutex_lock(&kmqd_offsets_lock);
	kmqd_offsets = json_object();
	pthread_mutex_unlock(&kmqd_offsets_lock);
	if (access(path, F_OK))
		return 0;
	doc = kmqd_json_load_file(path, &jerr);
	table = json_object_get(doc, "offsetTable");
	if (!json_is_object(table)) {
		log_err("%s:%d: %s", path, jerr.line,
			doc ? "no offsetTable object" : jerr.text);
		json_decref(doc);
		return -EINVAL;
	}
	pthread_mutex_lock(&kmqd_offsets_lock);
	json_decref(kmqd_offsets);
	kmqd_offsets = json_incref(table);
	pthread_mutex_unlock(&kmqd_offsets_lock);
	json_decref(doc);
	log_info("consumer offsets loaded from %s (%zu topic@group entries)",
		 path, json_object_size(table));
	return 0;
}

int kmqd_offsets_persist(const char *root)
{
	char path[4096], *text = NULL;
	json_t *doc;
	int dfd, ret = 0;

	pthread_mutex_lock(&kmqd_offsets_lock);
	if (kmqd_offsets_dirty && kmqd_offsets) {
		doc = json_pack("{s:O}", "offsetTable", kmqd_offsets);
		text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) :
		       NULL;
		json_decref(doc);
		if (text)
			kmqd_offsets_dirty = false;
	}
	pthread_mutex_unlock(&kmqd_offsets_lock);
	if (!text)
		return 0;
	snprintf(path, sizeof(path), "%s/config", root);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		ret = -errno;
	else
		ret = kmq_write_file_atomic(dfd, "consumerOffset.json", text,
					    strlen(text));
	if (ret) {
		log_err("write %s/consumerOffset.json: %s", path,
			strerror(-ret));
		pthread_mutex_lock(&kmqd_offsets_lock);
		kmqd_offsets_dirty = true;
		pthread_mutex_unlock(&kmqd_offsets_lock);
	}
	if (dfd >= 0)
		close(dfd);
	free(text);
	return ret;
}

void kmqd_offsets_free(void)
{
	pthread_mutex_lock(&kmqd_offsets_lock);
	json_decref(kmqd_offsets);
	kmqd_offsets = NULL;
	pthread_mutex_unlock(&kmqd_offsets_lock);
}

void kmqd_offset_commit(const char *group, const char *topic, uint32_t qid,
			int64_t offset)
{
	char key[512], q[16];
	json_t *per;

	if (offset < 0)
		return;
	kmqd_offset_key(key, sizeof(key), topic, group);
	snprintf(q, sizeof(q), "%u", qid);
	pthread_mutex_lock(&kmqd_offsets_lock);
	per = json_object_get(kmqd_offsets, key);
	if (!per) {
		per = json_object();
		json_object_set_new(kmqd_offsets, key, per);
	}
	json_object_set_new(per, q, json_integer(offset));
	kmqd_offsets_dirty = true;
	pthread_mutex_unlock(&kmqd_offsets_lock);
}

bool kmqd_offset_lookup(const char *group, const char *topic, uint32_t qid,
			int64_t *offset)
{
	char key[512], q[16];
	json_t *v;

	kmqd_offset_key(key, sizeof(key), topic, group);
	snprintf(q, sizeof(q), "%u", qid);
	pthread_mutex_lock(&kmqd_offsets_lock);
	v = json_object_get(json_object_get(kmqd_offsets, key), q);
	if (json_is_integer(v))
		*offset = json_integer_value(v);
	pthread_mutex_unlock(&kmqd_offsets_lock);
	return json_is_integer(v);
}

static void kmqd_reply_offset(struct kmqd_conn *c,
			      const struct kmq_rmt_cmd *req, const char *key,
			      int64_t value)
{
	struct kmq_rmt_cmd resp;

	if (req->flag & KMQ_RMT_FLAG_ONEWAY)
		return;
	if (kmq_rmt_response(&resp, req, KMQ_RESP_SUCCESS, NULL))
		return;
	kmq_rmt_set_extf(&resp, key, "%lld", (long long)value);
	kmqd_conn_reply(c, &resp, NULL, 0);
	kmq_rmt_cmd_free(&resp);
}

void kmqd_offset_query_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const char *group, *topic;
	int64_t qid, off;

	if (!kmqd_need_str(c, req, "consumerGroup", &group) ||
	    !kmqd_need_str(c, req, "topic", &topic) ||
	    !kmqd_need_i64(c, req, "queueId", &qid))
		return;
	if (qid < 0 || qid > 65535) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "queueId %lld out of range", (long long)qid);
		return;
	}
	if (!kmqd_offset_lookup(group, topic, qid, &off)) {
		uint64_t min, max;

		/*
		 * As RocketMQ: a group new to a queue that still holds its
		 * first message starts at 0; otherwise the client decides
		 * by its consumeFromWhere.
		 */
		if (kmqd_st_queue_offsets(kmqd_brk->store, topic, qid, &min,
					  &max) || min > 0) {
			kmqd_replyf(c, req, KMQ_RESP_QUERY_NOT_FOUND,
				    "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
			return;
		}
		off = 0;
	}
	kmqd_reply_offset(c, req, "offset", off);
}

void kmqd_offset_update_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const char *group, *topic;
	int64_t qid, off;

	if (!kmqd_need_str(c, req, "consumerGroup", &group) ||
	    !kmqd_need_str(c, req, "topic", &topic) ||
	    !kmqd_need_i64(c, req, "queueId", &qid) ||
	    !kmqd_need_i64(c, req, "commitOffset", &off))
		return;
	if (qid < 0 || qid > 65535) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "queueId %lld out of range", (long long)qid);
		return;
	}
	kmqd_offset_commit(group, topic, qid, off);
	kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
}

/* STORETIMESTAMP of the record at queue offset @off; false if none. */
bool kmqd_queue_store_ts(const char *topic, uint32_t qid, uint64_t off,
			 uint64_t *ts)
{
	struct kmq_read_req rq = {
		.topic = topic, .queue_id = qid, .offset = off,
		.max_msgs = 1, .max_bytes = 1,
	};
	struct kmq_read_result r;
	struct kmq_record rec;
	struct kmq_range rg;
	bool ok = false;

	if (kmqd_st_read(kmqd_brk->store, &rq, &rg, 1, &r) ||
	    r.status != KMQ_READ_FOUND)
		return false;
	if (!kmq_record_decode(rg.data, rg.len, &rec, 0)) {
		*ts = rec.store_ts;
		ok = true;
	}
	kmqd_st_release(kmqd_brk->store, &rg, r.nranges);
	return ok;
}

static bool kmqd_queue_args(struct kmqd_conn *c, struct kmq_rmt_cmd *req,
			    const char **topic, uint32_t *qid, uint64_t *min,
			    uint64_t *max)
{
	int64_t q;
	int ret;

	if (!kmqd_need_str(c, req, "topic", topic) ||
	    !kmqd_need_i64(c, req, "queueId", &q))
		return false;
	if (q < 0 || q > 65535) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "queueId %lld out of range", (long long)q);
		return false;
	}
	*qid = q;
	ret = kmqd_st_queue_offsets(kmqd_brk->store, *topic, q, min, max);
	if (ret == -KMQ_ENOTOPIC || ret == -KMQ_EBADTOPIC) {
		kmqd_replyf(c, req, KMQ_RESP_TOPIC_NOT_EXIST,
			    "topic[%s] not exist", *topic);
		return false;
	}
	if (ret) {
		/* A queue past the topic's count holds nothing. */
		*min = 0;
		*max = 0;
	}
	return true;
}

void kmqd_queue_offset_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	uint64_t min, max, ts;
	const char *topic;
	uint32_t qid;

	if (!kmqd_queue_args(c, req, &topic, &qid, &min, &max))
		return;
	switch (req->code) {
	case KMQ_REQ_GET_MAX_OFFSET:
		kmqd_reply_offset(c, req, "offset", max);
		break;
	case KMQ_REQ_GET_MIN_OFFSET:
		kmqd_reply_offset(c, req, "offset", min);
		break;
	default:
		/* RocketMQ answers -1 when the queue holds nothing. */
		if (min >= max || !kmqd_queue_store_ts(topic, qid, min, &ts))
			kmqd_reply_offset(c, req, "timestamp", -1);
		else
			kmqd_reply_offset(c, req, "timestamp", ts);
	}
}

/*
 * kmqd_offset_by_time() - first offset in [@min, @max) stored at or after
 * @want (@max if none).
 */
uint64_t kmqd_offset_by_time(const char *topic, uint32_t qid, int64_t want,
			     uint64_t min, uint64_t max)
{
	uint64_t lo = min, hi = max, ts;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (kmqd_queue_store_ts(topic, qid, mid, &ts) &&
		    (int64_t)ts >= want)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The first offset whose record was stored at or after "timestamp". */
void kmqd_search_offset_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	uint64_t min, max;
	const char *topic;
	int64_t want;
	uint32_t qid;

	if (!kmqd_need_i64(c, req, "timestamp", &want) ||
	    !kmqd_queue_args(c, req, &topic, &qid, &min, &max))
		return;
	kmqd_reply_offset(c, req, "offset",
			  kmqd_offset_by_time(topic, qid, want, min, max));
}

/*
 * VIEW_MESSAGE_BY_ID (33): extField offset is the commitlog offset from
 * the message id; the body is the record as stored.
 */
void kmqd_view_message_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	uint32_t cap = kmqd_brk->opts.max_message_size + 65536;
	struct kmq_rmt_cmd resp;
	int64_t off;
	uint8_t *buf;
	int ret;

	if (!kmqd_need_i64(c, req, "offset", &off))
		return;
	buf = malloc(cap);
	if (!buf) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	ret = off < 0 ? -ERANGE :
	      kmqd_st_read_at(kmqd_brk->store, off, buf, cap);
	if (ret < 0) {
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "can not find message by the offset, %lld",
			    (long long)off);
	} else if (!kmq_rmt_response(&resp, req, KMQ_RESP_SUCCESS, NULL)) {
		if (!(req->flag & KMQ_RMT_FLAG_ONEWAY))
			kmqd_conn_reply(c, &resp, buf, ret);
		kmq_rmt_cmd_free(&resp);
	}
	free(buf);
}

/* ---- for the admin requests (kmqd_admin.h) ---------------------------- */

/* Split an offsetTable key "topic@group" (topics never hold '@'). */
static const char *kmqd_key_group(const char *key, size_t *topic_len)
{
	const char *at = strchr(key, '@');

	if (!at)
		return NULL;
	*topic_len = at - key;
	return at + 1;
}

void kmqd_offsets_topics_of(const char *group,
			    void (*fn)(void *arg, const char *topic),
			    void *arg)
{
	const char *key;
	json_t *v;

	pthread_mutex_lock(&kmqd_offsets_lock);
	json_object_foreach(kmqd_offsets, key, v) {
		char topic[KMQ_TOPIC_MAX_V1 + 1];
		const char *g;
		size_t tl;

		g = kmqd_key_group(key, &tl);
		if (!g || strcmp(g, group) || tl >= sizeof(topic))
			continue;
		memcpy(topic, key, tl);
		topic[tl] = '\0';
		fn(arg, topic);
	}
	pthread_mutex_unlock(&kmqd_offsets_lock);
}

bool kmqd_offsets_group_known(const char *group, const char *topic)
{
	char key[512];
	bool known;

	kmqd_offset_key(key, sizeof(key), topic, group);
	pthread_mutex_lock(&kmqd_offsets_lock);
	known = json_object_get(kmqd_offsets, key);
	pthread_mutex_unlock(&kmqd_offsets_lock);
	return known;
}

/* Drop the entries of @topic (@group NULL) or of @group (@topic NULL). */
static void kmqd_offsets_drop(const char *topic, const char *group)
{
	const char *key, *g;
	void *tmp;
	json_t *v;
	size_t tl;

	pthread_mutex_lock(&kmqd_offsets_lock);
	json_object_foreach_safe(kmqd_offsets, tmp, key, v) {
		g = kmqd_key_group(key, &tl);
		if (!g)
			continue;
		if (topic && (tl != strlen(topic) || strncmp(key, topic, tl)))
			continue;
		if (group && strcmp(g, group))
			continue;
		json_object_del(kmqd_offsets, key);
		kmqd_offsets_dirty = true;
	}
	pthread_mutex_unlock(&kmqd_offsets_lock);
}

void kmqd_offsets_drop_topic(const char *topic)
{
	kmqd_offsets_drop(topic, NULL);
}

void kmqd_offsets_drop_group(const char *group)
{
	kmqd_offsets_drop(NULL, group);
}
