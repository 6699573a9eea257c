// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_broker.c - the broker role: request dispatch (the administration
 * codes go on to kmqd_admin.c), topics (17 and autoCreateTopicEnable),
 * registration with every name server at start, every 30 s and at once
 * when topics change, and the broker's tick.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

#define KMQD_REGISTER_INTERVAL_MS	30000
#define KMQD_MAX_NAMESRV		8

struct kmqd_broker *kmqd_brk;

/* Name-server connections: used only on loop 0. */
static struct {
	char addr[128];
	struct kmqd_conn *conn;
} kmqd_ns[KMQD_MAX_NAMESRV];
static unsigned int kmqd_nns;
static uint64_t kmqd_topics_version;

void kmqd_reply(struct kmqd_conn *c, const struct kmq_rmt_cmd *req, int code,
		const char *remark)
{
	struct kmq_rmt_cmd resp;

	if (req->flag & KMQ_RMT_FLAG_ONEWAY)
		return;
	if (kmq_rmt_response(&resp, req, code, remark))
		return;
	kmqd_conn_reply(c, &resp, NULL, 0);
	kmq_rmt_cmd_free(&resp);
}

void kmqd_replyf(struct kmqd_conn *c, const struct kmq_rmt_cmd *req, int code,
		 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kmqd_reply(c, req, code, msg);
}

bool kmqd_need_i64(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
		   const char *key, int64_t *out)
{
	int ret = kmq_rmt_ext_i64(req, key, out);

	if (!ret)
		return true;
	kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER, "the %s field is %s",
		    key, ret == -ENOENT ? "missing" : "not an integer");
	return false;
}

bool kmqd_need_str(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
		   const char *key, const char **out)
{
	*out = kmq_rmt_ext(req, key);
	if (*out && **out)
		return true;
	kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER, "the %s field is missing",
		    key);
	return false;
}

void kmqd_broker_topics_changed(void)
{
	__atomic_store_n(&kmqd_brk->register_now, true, __ATOMIC_RELEASE);
}

/*
 * kmqd_topic_ensure() - @topic exists, or is created with @queues queues
 * when @create; its configuration in @ti (may be NULL), from the one
 * lookup a send needs. Return: 0, -KMQ_ENOTOPIC, or the store's error.
 */
int kmqd_topic_ensure(const char *topic, uint32_t queues, bool create,
		      struct kmq_topic_info *ti)
{
	struct kmq_topic_info local;
	int ret;

	if (!ti)
		ti = &local;
	ret = kmqd_st_topic_info(kmqd_brk->store, topic, ti);
	if (ret != -KMQ_ENOTOPIC || !create)
		return ret;
	ret = kmqd_st_topic_create(kmqd_brk->store, topic, queues);
	if (ret)
		return ret;
	log_info("topic %s created with %u queues", topic, queues);
	kmqd_broker_topics_changed();
	return kmqd_st_topic_info(kmqd_brk->store, topic, ti);
}

static void kmqd_create_topic_handle(struct kmqd_conn *c,
				     struct kmq_rmt_cmd *req)
{
	int64_t r = 0, w = 0, perm = KMQ_PERM_READ | KMQ_PERM_WRITE;
	struct kmq_topic_info ti = { 0 };
	const char *topic;
	int ret;

	if (!kmqd_need_str(c, req, "topic", &topic))
		return;
	kmq_rmt_ext_i64(req, "readQueueNums", &r);
	kmq_rmt_ext_i64(req, "writeQueueNums", &w);
	kmq_rmt_ext_i64(req, "perm", &perm);
	if (r < 0 || w < 0 || (!r && !w) || r > 1024 || w > 1024) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "queue numbers read %lld write %lld: need 1..1024",
			    (long long)r, (long long)w);
		return;
	}
	if (perm < 0 || perm > 7) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "perm %lld: need 0..7 (4 read, 2 write)",
			    (long long)perm);
		return;
	}
	if (strlen(topic) > KMQ_TOPIC_MAX_V1) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "topic name longer than %d bytes", KMQ_TOPIC_MAX_V1);
		return;
	}
	snprintf(ti.name, sizeof(ti.name), "%s", topic);
	ti.read_queues = r;
	ti.write_queues = w;
	ti.perm = perm & (KMQ_PERM_READ | KMQ_PERM_WRITE);
	ret = kmqd_st_topic_config(kmqd_brk->store, &ti);
	if (ret) {
		kmqd_replyf(c, req, ret == -KMQ_EBADTOPIC ?
			    KMQ_RESP_INVALID_PARAMETER : KMQ_RESP_SYSTEM_ERROR,
			    "topic %s: %s", topic, kmqd_st_errmsg());
		return;
	}
	log_info("topic %s created or updated: read %u, write %u, perm %u (from %s)",
		 topic, ti.read_queues, ti.write_queues, ti.perm,
		 kmqd_conn_peer(c));
	kmqd_broker_topics_changed();
	kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
}

static void kmqd_broker_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	switch (req->code) {
	case KMQ_REQ_SEND_MESSAGE:
	case KMQ_REQ_SEND_MESSAGE_V2:
		kmqd_send_handle(c, req);
		break;
	case KMQ_REQ_SEND_BATCH_MESSAGE:
		kmqd_send_batch_handle(c, req);
		break;
	case KMQ_REQ_PULL_MESSAGE:
		kmqd_pull_handle(c, req);
		break;
	case KMQ_REQ_QUERY_CONSUMER_OFFSET:
		kmqd_offset_query_handle(c, req);
		break;
	case KMQ_REQ_UPDATE_CONSUMER_OFFSET:
		kmqd_offset_update_handle(c, req);
		break;
	case KMQ_REQ_UPDATE_AND_CREATE_TOPIC:
		kmqd_create_topic_handle(c, req);
		break;
	case KMQ_REQ_SEARCH_OFFSET_BY_TIMESTAMP:
		kmqd_search_offset_handle(c, req);
		break;
	case KMQ_REQ_GET_MAX_OFFSET:
	case KMQ_REQ_GET_MIN_OFFSET:
	case KMQ_REQ_GET_EARLIEST_MSG_STORETIME:
		kmqd_queue_offset_handle(c, req);
		break;
	case KMQ_REQ_VIEW_MESSAGE_BY_ID:
		kmqd_view_message_handle(c, req);
		break;
	case KMQ_REQ_HEART_BEAT:
		kmqd_heartbeat_handle(c, req);
		break;
	case KMQ_REQ_UNREGISTER_CLIENT:
		kmqd_unregister_handle(c, req);
		break;
	case KMQ_REQ_CONSUMER_SEND_MSG_BACK:
		kmqd_send_back_handle(c, req);
		break;
	case KMQ_REQ_END_TRANSACTION:
		kmqd_end_transaction_handle(c, req);
		break;
	case KMQ_REQ_GET_CONSUMER_LIST_BY_GROUP:
		kmqd_consumer_list_handle(c, req);
		break;
	default:
		if (kmqd_admin_handle(c, req))
			break;
		kmqd_replyf(c, req, KMQ_RESP_REQUEST_CODE_NOT_SUPPORTED,
			    "request code %d not supported", req->code);
	}
}

static void kmqd_broker_conn_closed(struct kmqd_conn *c)
{
	int i;

	kmqd_pull_conn_closed(c);
	kmqd_group_conn_closed(c);
	kmqd_lock_conn_closed(c);
	for (i = 0; i < (int)kmqd_nns; i++)
		if (kmqd_ns[i].conn == c)
			kmqd_ns[i].conn = NULL;
}

/* Registration */

struct kmqd_topic_json {
	json_t *table;
};

static void kmqd_topic_to_json(void *arg, const struct kmq_topic_info *ti)
{
	struct kmqd_topic_json *tj = arg;

	json_object_set_new(tj->table, ti->name,
			    json_pack("{s:s, s:i, s:i, s:i, s:s, s:i, s:b}",
				      "topicName", ti->name,
				      "readQueueNums", (int)ti->read_queues,
				      "writeQueueNums", (int)ti->write_queues,
				      "perm", (int)ti->perm,
				      "topicFilterType", "SINGLE_TAG",
				      "topicSysFlag", 0, "order", 0));
}

static void kmqd_register_reply(struct kmqd_conn *c, struct kmq_rmt_cmd *resp,
				void *arg)
{
	if (!resp)
		log_warn("register with name server %s: no answer",
			 kmqd_conn_peer(c));
	else if (resp->code)
		log_warn("register with name server %s: code %d %s",
			 kmqd_conn_peer(c), resp->code,
			 resp->remark ? resp->remark : "");
	else
		log_debug("registered with name server %s", kmqd_conn_peer(c));
}

static struct kmqd_service kmqd_ns_client = {
	.name = "name server client",
};

/*
 * kmqd_topic_config_wrapper() - RocketMQ's TopicConfigSerializeWrapper of
 * every topic: {"topicConfigTable":{...},"dataVersion":{...}}.
 */
json_t *kmqd_topic_config_wrapper(void)
{
	struct kmqd_topic_json tj = { .table = json_object() };

	kmqd_st_topic_list_info(kmqd_brk->store, kmqd_topic_to_json, &tj);
	return json_pack("{s:o, s:{s:I, s:I}}", "topicConfigTable", tj.table,
			 "dataVersion", "timestamp",
			 (json_int_t)time(NULL) * 1000, "counter",
			 (json_int_t)__atomic_load_n(&kmqd_topics_version,
						     __ATOMIC_RELAXED));
}

static void kmqd_register_all(struct kmqd_loop *l)
{
	json_t *body;
	char *text;
	unsigned int i;

	__atomic_add_fetch(&kmqd_topics_version, 1, __ATOMIC_RELAXED);
	body = json_pack("{s:o, s:[]}", "topicConfigSerializeWrapper",
			 kmqd_topic_config_wrapper(), "filterServerList");
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text)
		return;
	for (i = 0; i < kmqd_nns; i++) {
		struct kmq_rmt_cmd req;

		if (!kmqd_ns[i].conn || !kmqd_conn_is_open(kmqd_ns[i].conn))
			kmqd_ns[i].conn = kmqd_conn_connect(l, kmqd_ns[i].addr,
							    &kmqd_ns_client);
		if (!kmqd_ns[i].conn) {
			log_warn("cannot reach name server %s", kmqd_ns[i].addr);
			continue;
		}
		if (kmq_rmt_request(&req, KMQ_REQ_REGISTER_BROKER, 0,
				    KMQ_RMT_JSON))
			continue;
		/* A Java name server reads the body by the sender's version. */
		req.version = KMQD_CLIENT_VERSION;
		kmq_rmt_set_ext(&req, "brokerName", kmqd_brk->opts.name);
		kmq_rmt_set_ext(&req, "brokerAddr", kmqd_brk->addr);
		kmq_rmt_set_ext(&req, "clusterName", kmqd_brk->opts.cluster);
		kmq_rmt_set_ext(&req, "haServerAddr", "");
		kmq_rmt_set_extf(&req, "brokerId", "%lld",
				 (long long)kmqd_brk->opts.id);
		kmq_rmt_set_ext(&req, "compressed", "false");
		kmqd_conn_request(kmqd_ns[i].conn, &req, text, strlen(text),
				  kmqd_register_reply, NULL);
		kmq_rmt_cmd_free(&req);
	}
	free(text);
}

static void kmqd_broker_tick(struct kmqd_loop *l, uint64_t now_ms)
{
	uint64_t now = kmqd_mono_ms();

	kmqd_pull_tick(l, now);
	if (kmqd_loop_index(l))
		return;
	kmqd_group_tick(l, now);
	kmqd_lock_tick(now);
	kmqd_stats_tick(now);
	if (__atomic_exchange_n(&kmqd_brk->register_now, false,
				__ATOMIC_ACQ_REL) ||
	    now >= kmqd_brk->next_register_ms) {
		kmqd_brk->next_register_ms = now + KMQD_REGISTER_INTERVAL_MS;
		kmqd_register_all(l);
	}
}

static struct kmqd_service kmqd_broker_service = {
	.name = "broker",
	.handle = kmqd_broker_handle,
	.closed = kmqd_broker_conn_closed,
	.tick = kmqd_broker_tick,
};

static void kmqd_parse_namesrv(const char *list)
{
	const char *p = list;

	while (p && *p && kmqd_nns < KMQD_MAX_NAMESRV) {
		size_t n = strcspn(p, ";");

		if (n && n < sizeof(kmqd_ns[0].addr)) {
			memcpy(kmqd_ns[kmqd_nns].addr, p, n);
			kmqd_ns[kmqd_nns].addr[n] = '\0';
			kmqd_nns++;
		}
		p += n;
		if (*p == ';')
			p++;
	}
}

int kmqd_broker_start(const struct kmqd_broker_opts *opts)
{
	int ret;

	kmqd_brk = calloc(1, sizeof(*kmqd_brk));
	if (!kmqd_brk)
		return -ENOMEM;
	kmqd_brk->opts = *opts;
	snprintf(kmqd_brk->addr, sizeof(kmqd_brk->addr), "%s:%u",
		 opts->broker_ip, opts->port);
	ret = kmqd_store_open(opts->backend, &opts->store, &kmqd_brk->store);
	if (ret) {
		log_err("store %s: %s", opts->store.root, kmqd_st_errmsg());
		free(kmqd_brk);
		kmqd_brk = NULL;
		return ret;
	}
	log_info("store %s open: %s backend, %s, segment %llu bytes",
		 opts->store.root, kmqd_brk->store->ops->name,
		 opts->store.flush_mode == KMQ_FLUSH_SYNC ? "SYNC_FLUSH" :
		 "ASYNC_FLUSH",
		 (unsigned long long)opts->store.segment_size);
	ret = kmqd_offsets_load(opts->store.root);
	if (ret)
		log_warn("consumer offsets not loaded: %s", strerror(-ret));
	ret = kmqd_subgroups_load(opts->store.root);
	if (ret)
		log_warn("subscription groups not loaded: %s", strerror(-ret));
	kmqd_stats_start();
	ret = kmqd_delay_start();
	if (ret)
		return ret;
	/*
	 * With autoCreateTopicEnable, RocketMQ brokers publish TBW102: a
	 * client without a route for its topic sends with TBW102's route and
	 * the broker creates the topic on that first send.
	 */
	if (opts->auto_create_topic &&
	    kmqd_topic_ensure(KMQD_AUTO_CREATE_TOPIC, opts->default_queues,
			      true, NULL))
		log_warn("%s: %s", KMQD_AUTO_CREATE_TOPIC, kmqd_st_errmsg());
	kmqd_parse_namesrv(opts->namesrv_addrs);
	kmqd_brk->register_now = kmqd_nns > 0;
	kmqd_brk->next_register_ms = kmqd_mono_ms() + KMQD_REGISTER_INTERVAL_MS;
	if (!kmqd_nns)
		kmqd_brk->next_register_ms = UINT64_MAX;
	ret = kmqd_listen(opts->listen_addr, opts->port, &kmqd_broker_service);
	if (ret)
		return ret;
	log_info("broker %s (cluster %s, id %lld) serving at %s", opts->name,
		 opts->cluster, (long long)opts->id, kmqd_brk->addr);
	return 0;
}

/* After the io loops have stopped. */
void kmqd_broker_stop(void)
{
	if (!kmqd_brk)
		return;
	kmqd_delay_stop();
	kmqd_offsets_persist(kmqd_brk->opts.store.root);
	kmqd_offsets_free();
	kmqd_subgroups_persist(kmqd_brk->opts.store.root);
	kmqd_subgroups_free();
	kmqd_locks_free();
	kmqd_stats_free();
	kmqd_groups_free();
	kmqd_trans_free();
	kmqd_store_close(kmqd_brk->store);
	free(kmqd_brk);
	kmqd_brk = NULL;
	log_info("broker stopped; store flushed and closed");
}
