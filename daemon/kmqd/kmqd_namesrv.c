// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_namesrv.c - the name server role: brokers register (103) every
 * 30 s with their topic table, are dropped after 120 s of silence or on
 * unregister (104); clients ask for a topic's route (105) and for the
 * cluster layout (106). Routes are answered in standard JSON. For mqadmin:
 * every topic (206) and deleting a topic's routes (216).
 *
 * State: the registered brokers, each with the topicConfigTable it last
 * sent, under one mutex (requests arrive on every io loop).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "kmqd_admin.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"
#include "kmqd_loop.h"
#include "kmqd_namesrv.h"

#define KMQD_NS_BROKER_EXPIRE_MS	120000

struct kmqd_nsbroker {
	char cluster[128];
	char name[128];
	char addr[128];
	char ha[128];
	int64_t id;
	uint64_t last_seen;
	struct kmqd_conn *conn;		/* it registered on; referenced */
	json_t *topics;		/* topicConfigTable, owned */
	struct kmqd_nsbroker *next;
};

static pthread_mutex_t kmqd_ns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmqd_nsbroker *kmqd_ns_brokers;

static void kmqd_ns_reply(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
			  int code, const char *remark, const char *body)
{
	struct kmq_rmt_cmd resp;

	if (req->flag & KMQ_RMT_FLAG_ONEWAY)
		return;
	if (kmq_rmt_response(&resp, req, code, remark))
		return;
	kmqd_conn_reply(c, &resp, body, body ? strlen(body) : 0);
	kmq_rmt_cmd_free(&resp);
}

/* Copy extField @key into @buf; false (and an error reply) if absent. */
static bool kmqd_ns_field(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
			  const char *key, char *buf, size_t len)
{
	const char *v = kmq_rmt_ext(req, key);
	char msg[160];

	if (v && *v && strlen(v) < len) {
		snprintf(buf, len, "%s", v);
		return true;
	}
	snprintf(msg, sizeof(msg), "the %s field is %s", key,
		 v && *v ? "too long" : "missing");
	kmqd_ns_reply(c, req, KMQ_RESP_INVALID_PARAMETER, msg, NULL);
	return false;
}

static void kmqd_ns_register(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	struct kmqd_nsbroker nb = { 0 }, *b;
	const char *master = "";
	json_t *body, *table;
	json_error_t jerr;
	struct kmq_rmt_cmd resp;
	int compressed = 0;

	if (!kmqd_ns_field(c, req, "brokerName", nb.name, sizeof(nb.name)) ||
	    !kmqd_ns_field(c, req, "brokerAddr", nb.addr, sizeof(nb.addr)) ||
	    !kmqd_ns_field(c, req, "clusterName", nb.cluster,
			   sizeof(nb.cluster)))
		return;
	if (kmq_rmt_ext_i64(req, "brokerId", &nb.id) || nb.id < 0) {
		kmqd_ns_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			      "the brokerId field is missing or not a number",
			      NULL);
		return;
	}
	snprintf(nb.ha, sizeof(nb.ha), "%s",
		 kmq_rmt_ext(req, "haServerAddr") ?: "");
	kmq_rmt_ext_bool(req, "compressed", &compressed);
	if (compressed) {
		kmqd_ns_reply(c, req, KMQ_RESP_SYSTEM_ERROR,
			      "compressed registration bodies are not supported",
			      NULL);
		return;
	}
	body = req->body_len ? json_loadb((const char *)req->body,
					  req->body_len, 0, &jerr) : NULL;
	table = json_object_get(json_object_get(body,
						"topicConfigSerializeWrapper"),
				"topicConfigTable");
	if (req->body_len && !json_is_object(table)) {
		json_decref(body);
		kmqd_ns_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			      "registration body has no topicConfigTable",
			      NULL);
		return;
	}

	pthread_mutex_lock(&kmqd_ns_lock);
	for (b = kmqd_ns_brokers; b; b = b->next)
		if (!strcmp(b->addr, nb.addr))
			break;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b) {
			pthread_mutex_unlock(&kmqd_ns_lock);
			json_decref(body);
			kmqd_ns_reply(c, req, KMQ_RESP_SYSTEM_ERROR,
				      "out of memory", NULL);
			return;
		}
		b->next = kmqd_ns_brokers;
		kmqd_ns_brokers = b;
		log_info("name server: broker %s (%s, id %lld, cluster %s) registered",
			 nb.name, nb.addr, (long long)nb.id, nb.cluster);
	}
	memcpy(b->addr, nb.addr, sizeof(b->addr));
	memcpy(b->cluster, nb.cluster, sizeof(b->cluster));
	memcpy(b->name, nb.name, sizeof(b->name));
	memcpy(b->ha, nb.ha, sizeof(b->ha));
	b->id = nb.id;
	b->last_seen = kmqd_mono_ms();
	if (b->conn != c) {
		kmqd_conn_get(c);
		if (b->conn)
			kmqd_conn_put(b->conn);
		b->conn = c;
	}
	if (table) {
		json_decref(b->topics);
		b->topics = json_deep_copy(table);
	}
	if (nb.id) {
		struct kmqd_nsbroker *m;

		for (m = kmqd_ns_brokers; m; m = m->next)
			if (!m->id && !strcmp(m->name, nb.name))
				master = m->addr;
	}
	if (!kmq_rmt_response(&resp, req, KMQ_RESP_SUCCESS, NULL)) {
		kmq_rmt_set_ext(&resp, "haServerAddr", "");
		kmq_rmt_set_ext(&resp, "masterAddr", master);
		if (!(req->flag & KMQ_RMT_FLAG_ONEWAY))
			kmqd_conn_reply(c, &resp, NULL, 0);
		kmq_rmt_cmd_free(&resp);
	}
	pthread_mutex_unlock(&kmqd_ns_lock);
	json_decref(body);
}

static void kmqd_ns_free_broker(struct kmqd_nsbroker *b)
{
	if (b->conn)
		kmqd_conn_put(b->conn);
	json_decref(b->topics);
	free(b);
}

static void kmqd_ns_unregister(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	struct kmqd_nsbroker **pp, *b;
	char addr[128];

	if (!kmqd_ns_field(c, req, "brokerAddr", addr, sizeof(addr)))
		return;
	pthread_mutex_lock(&kmqd_ns_lock);
	for (pp = &kmqd_ns_brokers; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->addr, addr))
			continue;
		b = *pp;
		*pp = b->next;
		log_info("name server: broker %s (%s) unregistered", b->name,
			 b->addr);
		kmqd_ns_free_broker(b);
		break;
	}
	pthread_mutex_unlock(&kmqd_ns_lock);
	kmqd_ns_reply(c, req, KMQ_RESP_SUCCESS, NULL, NULL);
}

/* brokerDatas entry for @b's broker name, created on first use. */
static json_t *kmqd_ns_broker_data(json_t *datas, struct kmqd_nsbroker *b)
{
	json_t *d, *addrs;
	char id[24];
	size_t i;

	json_array_foreach(datas, i, d)
		if (!strcmp(json_string_value(json_object_get(d, "brokerName")),
			    b->name))
			goto found;
	d = json_pack("{s:s, s:s, s:{}}", "cluster", b->cluster,
		      "brokerName", b->name, "brokerAddrs");
	if (!d || json_array_append_new(datas, d))
		return NULL;
found:
	addrs = json_object_get(d, "brokerAddrs");
	snprintf(id, sizeof(id), "%lld", (long long)b->id);
	json_object_set_new(addrs, id, json_string(b->addr));
	return d;
}

static int kmqd_ns_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char * const *)a, *(const char * const *)b);
}

static json_int_t kmqd_ns_int(json_t *o, const char *key, json_int_t def)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return def;
}

static void kmqd_ns_route(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	json_t *route, *datas, *queues;
	struct kmqd_nsbroker *b;
	char topic[256], msg[320];
	bool found = false;

	if (!kmqd_ns_field(c, req, "topic", topic, sizeof(topic)))
		return;
	route = json_pack("{s:[], s:[], s:{}}", "brokerDatas", "queueDatas",
			  "filterServerTable");
	if (!route) {
		kmqd_ns_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory",
			      NULL);
		return;
	}
	datas = json_object_get(route, "brokerDatas");
	queues = json_object_get(route, "queueDatas");
	pthread_mutex_lock(&kmqd_ns_lock);
	for (b = kmqd_ns_brokers; b; b = b->next) {
		json_t *tc = json_object_get(b->topics, topic), *q;
		size_t i;
		bool have = false;

		if (!tc)
			continue;
		found = true;
		kmqd_ns_broker_data(datas, b);
		json_array_foreach(queues, i, q)
			if (!strcmp(json_string_value(json_object_get(q, "brokerName")),
				    b->name))
				have = true;
		if (have && b->id)
			continue;
		q = json_pack("{s:s, s:I, s:I, s:I, s:I}",
			      "brokerName", b->name,
			      "readQueueNums", kmqd_ns_int(tc, "readQueueNums", 0),
			      "writeQueueNums", kmqd_ns_int(tc, "writeQueueNums", 0),
			      "perm", kmqd_ns_int(tc, "perm", 6),
			      "topicSysFlag", kmqd_ns_int(tc, "topicSysFlag", 0));
		if (have) {
			/* The master's numbers win over a slave's. */
			json_array_foreach(queues, i, tc)
				if (!strcmp(json_string_value(json_object_get(tc, "brokerName")),
					    b->name))
					json_array_set(queues, i, q);
			json_decref(q);
		} else {
			json_array_append_new(queues, q);
		}
	}
	pthread_mutex_unlock(&kmqd_ns_lock);
	if (found) {
		kmqd_reply_json(c, req, route);
	} else {
		snprintf(msg, sizeof(msg),
			 "No topic route info in name server for the topic: %s",
			 topic);
		kmqd_ns_reply(c, req, KMQ_RESP_TOPIC_NOT_EXIST, msg, NULL);
	}
	json_decref(route);
}

static void kmqd_ns_cluster_info(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	json_t *info = json_pack("{s:{}, s:{}}", "brokerAddrTable",
				 "clusterAddrTable");
	json_t *brokers, *clusters;
	struct kmqd_nsbroker *b;

	if (!info) {
		kmqd_ns_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory",
			      NULL);
		return;
	}
	brokers = json_object_get(info, "brokerAddrTable");
	clusters = json_object_get(info, "clusterAddrTable");
	pthread_mutex_lock(&kmqd_ns_lock);
	for (b = kmqd_ns_brokers; b; b = b->next) {
		json_t *d = json_object_get(brokers, b->name), *names, *n;
		bool listed = false;
		char id[24];
		size_t i;

		if (!d) {
			d = json_pack("{s:s, s:s, s:{}}", "cluster", b->cluster,
				      "brokerName", b->name, "brokerAddrs");
			json_object_set_new(brokers, b->name, d);
		}
		snprintf(id, sizeof(id), "%lld", (long long)b->id);
		json_object_set_new(json_object_get(d, "brokerAddrs"), id,
				    json_string(b->addr));
		names = json_object_get(clusters, b->cluster);
		if (!names) {
			names = json_array();
			json_object_set_new(clusters, b->cluster, names);
		}
		json_array_foreach(names, i, n)
			if (!strcmp(json_string_value(n), b->name))
				listed = true;
		if (!listed)
			json_array_append_new(names, json_string(b->name));
	}
	pthread_mutex_unlock(&kmqd_ns_lock);
	kmqd_reply_json(c, req, info);
	json_decref(info);
}

/* 206: {"topicList":[...]}, every topic of every broker, sorted. */
static void kmqd_ns_topic_list(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	json_t *set = json_object(), *list, *v;
	struct kmqd_nsbroker *b;
	const char *name;
	size_t i, n;

	pthread_mutex_lock(&kmqd_ns_lock);
	for (b = kmqd_ns_brokers; b; b = b->next)
		json_object_foreach(b->topics, name, v)
			json_object_set_new(set, name, json_true());
	pthread_mutex_unlock(&kmqd_ns_lock);
	n = json_object_size(set);
	list = json_pack("{s:[]}", "topicList");
	if (n && list) {
		const char **names = calloc(n, sizeof(*names));

		i = 0;
		json_object_foreach(set, name, v)
			if (names)
				names[i++] = name;
		if (names) {
			qsort(names, n, sizeof(*names), kmqd_ns_strcmp);
			for (i = 0; i < n; i++)
				json_array_append_new(json_object_get(list, "topicList"),
						      json_string(names[i]));
			free(names);
		} else {
			/* Not a partial list: an out-of-memory answer. */
			json_decref(list);
			list = NULL;
		}
	}
	kmqd_reply_json(c, req, list);
	json_decref(list);
	json_decref(set);
}

/*
 * 216: topic, and RocketMQ 5's optional clusterName (only that cluster's
 * brokers). The routes go until a broker registers the topic again; as
 * RocketMQ, an unknown topic is no error (the remark says so).
 */
static void kmqd_ns_delete_topic(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const char *cluster = kmq_rmt_ext(req, "clusterName");
	struct kmqd_nsbroker *b;
	char topic[256], msg[320];
	unsigned int n = 0;

	if (!kmqd_ns_field(c, req, "topic", topic, sizeof(topic)))
		return;
	pthread_mutex_lock(&kmqd_ns_lock);
	for (b = kmqd_ns_brokers; b; b = b->next) {
		if (cluster && *cluster && strcmp(cluster, b->cluster))
			continue;
		if (!json_object_del(b->topics, topic))
			n++;
	}
	pthread_mutex_unlock(&kmqd_ns_lock);
	if (n) {
		log_info("name server: topic %s deleted from %u brokers (from %s)",
			 topic, n, kmqd_conn_peer(c));
		kmqd_ns_reply(c, req, KMQ_RESP_SUCCESS, NULL, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "topic %s has no route in this name server",
		 topic);
	kmqd_ns_reply(c, req, KMQ_RESP_SUCCESS, msg, NULL);
}

static void kmqd_ns_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	char msg[96];

	switch (req->code) {
	case KMQ_REQ_REGISTER_BROKER:
		kmqd_ns_register(c, req);
		break;
	case KMQ_REQ_UNREGISTER_BROKER:
		kmqd_ns_unregister(c, req);
		break;
	case KMQ_REQ_GET_ROUTEINFO_BY_TOPIC:
		kmqd_ns_route(c, req);
		break;
	case KMQ_REQ_GET_BROKER_CLUSTER_INFO:
		kmqd_ns_cluster_info(c, req);
		break;
	case KMQ_REQ_GET_ALL_TOPIC_LIST_FROM_NAMESERVER:
		kmqd_ns_topic_list(c, req);
		break;
	case KMQ_REQ_DELETE_TOPIC_IN_NAMESRV:
		kmqd_ns_delete_topic(c, req);
		break;
	default:
		snprintf(msg, sizeof(msg), "request code %d not supported",
			 req->code);
		kmqd_ns_reply(c, req, KMQ_RESP_REQUEST_CODE_NOT_SUPPORTED, msg,
			      NULL);
	}
}

static void kmqd_ns_tick(struct kmqd_loop *l, uint64_t now_ms)
{
	struct kmqd_nsbroker **pp, *b;
	uint64_t now = kmqd_mono_ms();

	if (kmqd_loop_index(l))
		return;
	pthread_mutex_lock(&kmqd_ns_lock);
	for (pp = &kmqd_ns_brokers; *pp;) {
		b = *pp;
		if (b->last_seen + KMQD_NS_BROKER_EXPIRE_MS > now) {
			pp = &b->next;
			continue;
		}
		log_warn("name server: broker %s (%s) silent for %d s, dropped",
			 b->name, b->addr, KMQD_NS_BROKER_EXPIRE_MS / 1000);
		*pp = b->next;
		kmqd_ns_free_broker(b);
	}
	pthread_mutex_unlock(&kmqd_ns_lock);
}

/* A broker whose connection closes is gone at once, as in RocketMQ. */
static void kmqd_ns_closed(struct kmqd_conn *c)
{
	struct kmqd_nsbroker **pp, *b;

	pthread_mutex_lock(&kmqd_ns_lock);
	for (pp = &kmqd_ns_brokers; *pp;) {
		b = *pp;
		if (b->conn != c) {
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		log_info("name server: broker %s (%s) disconnected, dropped",
			 b->name, b->addr);
		kmqd_ns_free_broker(b);
	}
	pthread_mutex_unlock(&kmqd_ns_lock);
}

static struct kmqd_service kmqd_namesrv_service = {
	.name = "name server",
	.handle = kmqd_ns_handle,
	.closed = kmqd_ns_closed,
	.tick = kmqd_ns_tick,
};

int kmqd_namesrv_start(const char *addr, uint16_t port)
{
	return kmqd_listen(addr, port, &kmqd_namesrv_service);
}

void kmqd_namesrv_stop(void)
{
	pthread_mutex_lock(&kmqd_ns_lock);
	while (kmqd_ns_brokers) {
		struct kmqd_nsbroker *b = kmqd_ns_brokers;

		kmqd_ns_brokers = b->next;
		kmqd_ns_free_broker(b);
	}
	pthread_mutex_unlock(&kmqd_ns_lock);
}
