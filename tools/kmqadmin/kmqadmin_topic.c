// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_topic.c - the topic subcommands: updateTopic (17 to -b or every
 * master of -c), deleteTopic (215 to the brokers, 216 to every name
 * server), topicList (206), topicRoute (105), topicStatus (202 to every
 * master of the route).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kmqadmin.h"

/* ---- updateTopic --------------------------------------------------------- */

/* One UPDATE_AND_CREATE_TOPIC (17) per broker, a row and a result each. */
static int kadm_update_topic_at(struct kadm *k, const struct kadm_broker *bv,
				int n, const struct kmq_field *f,
				unsigned int nf, struct kadm_table *t,
				json_t *arr)
{
	int i, ret, failed = 0;

	for (i = 0; i < n; i++) {
		struct kmq_response *resp;

		ret = kadm_call(k, bv[i].addr, bv[i].where,
				KMQ_REQ_UPDATE_AND_CREATE_TOPIC, f, nf, NULL, 0,
				&resp);
		kmq_response_free(resp);
		if (ret) {
			failed++;
			kadm_fail_err(k);
		}
		kadm_cell(t, "%s", bv[i].addr);
		kadm_cell(t, "%s", f[0].value);
		kadm_cell(t, "%s", f[2].value);
		kadm_cell(t, "%s", f[3].value);
		kadm_cell(t, "%s", f[4].value);
		kadm_cell(t, "%s", ret ? "FAILED" : "OK");
		json_array_append_new(arr, kadm_result_json(&bv[i], ret,
							    k->err));
	}
	return failed;
}

static int kadm_update_topic(struct kadm *k)
{
	char rs[24], ws[24], ps[24];
	struct kmq_field f[] = {
		{ "topic", NULL }, { "defaultTopic", "TBW102" },
		{ "readQueueNums", rs }, { "writeQueueNums", ws },
		{ "perm", ps }, { "topicFilterType", "SINGLE_TAG" },
		{ "topicSysFlag", "0" }, { "order", "false" },
	};
	int64_t r, w, perm;
	struct kadm_broker *bv;
	struct kadm_table *t;
	json_t *doc;
	int n, failed, ret;

	ret = kadm_arg_topic(k, 't', &f[0].value);
	if (!ret)
		ret = kadm_arg_int(k, 'r', 1, 1024, 8, &r);
	if (!ret)
		ret = kadm_arg_int(k, 'w', 1, 1024, 8, &w);
	if (!ret)
		ret = kadm_arg_int(k, 'p', 0, 7, 6, &perm);
	if (ret)
		return ret;
	n = kadm_targets(k, &bv);
	if (n < 0)
		return -n;
	snprintf(rs, sizeof(rs), "%" PRId64, r);
	snprintf(ws, sizeof(ws), "%" PRId64, w);
	snprintf(ps, sizeof(ps), "%" PRId64, perm);
	t = kadm_table_new(6, "Broker Addr", "Topic", ">Read Queues",
			   ">Write Queues", ">Perm", "Result");
	doc = json_pack("{s:s, s:I, s:I, s:I, s:[]}", "topic", f[0].value,
			"readQueueNums", (json_int_t)r,
			"writeQueueNums", (json_int_t)w,
			"perm", (json_int_t)perm, "brokers");
	failed = kadm_update_topic_at(k, bv, n, f, ARRAY_SIZE(f), t,
				      json_object_get(doc, "brokers"));
	if (k->json)
		kadm_json_print(doc);
	else
		kadm_table_print(t, stdout);
	if (!k->json)
		json_decref(doc);
	kadm_table_free(t);
	free(bv);
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- deleteTopic --------------------------------------------------------- */

static int kadm_delete_topic(struct kadm *k)
{
	struct kmq_topic_route *route = NULL;
	const char *topic, *cluster;
	struct kmq_field f[2];
	struct kadm_broker *bv;
	struct kadm_table *t;
	json_t *doc, *brokers, *nss;
	int n, i, failed = 0, ret;
	unsigned int j, nf = 1;

	ret = kadm_arg_topic(k, 't', &topic);
	if (!ret)
		ret = kadm_arg_name(k, 'c', &cluster);
	if (ret)
		return ret;
	if (cluster) {
		n = kadm_masters(k, cluster, &bv);
	} else {
		n = kadm_route(k, topic, &route) ? -1 :
		    kadm_route_masters(k, route, &bv);
		kmq_topic_route_free(route);
	}
	if (n < 0)
		return kadm_fail_err(k);
	f[0].key = "topic";
	f[0].value = topic;
	if (cluster) {
		f[1].key = "clusterName";
		f[1].value = cluster;
		nf = 2;
	}
	t = kadm_table_new(3, "Target", "Address", "Result");
	doc = json_pack("{s:s, s:s?, s:[], s:[]}", "topic", topic,
			"cluster", cluster, "brokers", "nameServers");
	brokers = json_object_get(doc, "brokers");
	nss = json_object_get(doc, "nameServers");
	for (i = 0; i < n; i++) {
		struct kmq_response *resp;
		json_t *row;

		ret = kadm_call(k, bv[i].addr, bv[i].where,
				KMQ_REQ_DELETE_TOPIC_IN_BROKER, f, 1, NULL, 0,
				&resp);
		if (ret) {
			failed++;
			kadm_fail_err(k);
		} else if (resp->remark && *resp->remark) {
			kadm_note(k, "%s: %s", bv[i].where, resp->remark);
		}
		kadm_cell(t, "broker %s", bv[i].name);
		kadm_cell(t, "%s", bv[i].addr);
		kadm_cell(t, "%s", ret ? "FAILED" : "deleted");
		row = kadm_result_json(&bv[i], ret, k->err);
		if (resp && resp->remark)
			json_object_set_new(row, "remark",
					    json_string(resp->remark));
		json_array_append_new(brokers, row);
		kmq_response_free(resp);
	}
	for (j = 0; j < k->nns; j++) {
		struct kmq_response *resp;
		char where[KMQ_ADDR_MAX + 16];
		json_t *row;

		snprintf(where, sizeof(where), "name server %s", k->ns[j]);
		ret = kadm_call(k, k->ns[j], where,
				KMQ_REQ_DELETE_TOPIC_IN_NAMESRV, f, nf, NULL, 0,
				&resp);
		if (ret) {
			failed++;
			kadm_fail_err(k);
		}
		kadm_cell(t, "name server");
		kadm_cell(t, "%s", k->ns[j]);
		kadm_cell(t, "%s", ret ? "FAILED" : "deleted");
		row = json_pack("{s:s, s:b, s:s?, s:s?}", "addr", k->ns[j],
				"ok", !ret, "remark",
				resp && resp->remark ? resp->remark : NULL,
				"error", ret ? k->err : NULL);
		json_array_append_new(nss, row);
		kmq_response_free(resp);
	}
	if (k->json)
		kadm_json_print(doc);
	else
		kadm_table_print(t, stdout);
	if (!k->json)
		json_decref(doc);
	kadm_table_free(t);
	free(bv);
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- topicList ----------------------------------------------------------- */

static int kadm_str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The clusters of @topic's brokers, sorted, into @out (a JSON array). */
static int kadm_topic_clusters(struct kadm *k, const char *topic,
			       json_t *out)
{
	struct kmq_topic_route *r;
	unsigned int i, j;

	if (kadm_route(k, topic, &r))
		return -1;
	for (i = 0; i < r->nbrokers; i++) {
		bool seen = false;

		for (j = 0; j < i; j++)
			if (!strcmp(r->brokers[j].cluster,
				    r->brokers[i].cluster))
				seen = true;
		if (!seen)
			json_array_append_new(out,
					      json_string(r->brokers[i].cluster));
	}
	kmq_topic_route_free(r);
	return 0;
}

static int kadm_topic_list(struct kadm *k)
{
	bool clusters = !!kadm_opt_val(k, 'c');
	struct kmq_response *resp;
	struct kadm_table *t;
	json_t *doc, *list, *v, *out, *rows = NULL;
	const char **names;
	size_t i, n;
	int ret;

	ret = kadm_call_ns(k, KMQ_REQ_GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
			   NULL, 0, &resp);
	if (ret) {
		kmq_response_free(resp);
		return kadm_fail_err(k);
	}
	doc = kadm_resp_json(k, resp,
			     "GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206)");
	kmq_response_free(resp);
	list = json_object_get(doc, "topicList");
	if (!json_is_array(list)) {
		json_decref(doc);
		if (doc)
			kadm_seterr(k, "%s: no topicList in the answer",
				    "GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206)");
		return kadm_fail_err(k);
	}
	n = json_array_size(list);
	names = calloc(n + 1, sizeof(*names));
	if (!names) {
		json_decref(doc);
		return kadm_fail(k, "out of memory");
	}
	json_array_foreach(list, i, v)
		names[i] = json_is_string(v) ? json_string_value(v) : "";
	qsort(names, n, sizeof(*names), kadm_str_cmp);
	t = clusters ? kadm_table_new(2, "Cluster Name", "Topic") :
		       kadm_table_new(1, "Topic");
	out = clusters ? json_pack("{s:[]}", "topics") :
			 json_pack("{s:[]}", "topicList");
	rows = json_object_get(out, clusters ? "topics" : "topicList");
	for (i = 0; i < n; i++) {
		json_t *cl;
		size_t j;

		if (!clusters) {
			kadm_cell(t, "%s", names[i]);
			json_array_append_new(rows, json_string(names[i]));
			continue;
		}
		kadm_progress(k, false, "route %zu/%zu (%s)", i + 1, n,
			      names[i]);
		cl = json_array();
		if (kadm_topic_clusters(k, names[i], cl)) {
			/* Deleted since the list was made: say so, go on. */
			kadm_note(k, "%s", k->err);
			json_decref(cl);
			continue;
		}
		json_array_foreach(cl, j, v) {
			kadm_cell(t, "%s", json_string_value(v));
			kadm_cell(t, "%s", names[i]);
		}
		json_array_append_new(rows, json_pack("{s:s, s:o}", "topic",
						      names[i], "clusters",
						      cl));
	}
	if (clusters)
		kadm_progress(k, true, "%zu topics", n);
	if (k->json)
		kadm_json_print(out);
	else
		kadm_table_print(t, stdout);
	if (!k->json)
		json_decref(out);
	kadm_table_free(t);
	free(names);
	json_decref(doc);
	return KADM_EXIT_OK;
}

/* ---- topicRoute ---------------------------------------------------------- */

static json_t *kadm_route_json(const struct kmq_topic_route *r)
{
	json_t *doc = json_pack("{s:[], s:[]}", "brokerDatas", "queueDatas");
	json_t *bd = json_object_get(doc, "brokerDatas");
	json_t *qd = json_object_get(doc, "queueDatas");
	unsigned int i, j;

	for (i = 0; i < r->nbrokers; i++) {
		const struct kmq_broker_data *b = &r->brokers[i];
		json_t *addrs = json_object();
		char id[24];

		for (j = 0; j < b->naddrs; j++) {
			snprintf(id, sizeof(id), "%" PRId64, b->addrs[j].id);
			json_object_set_new(addrs, id,
					    json_string(b->addrs[j].addr));
		}
		json_array_append_new(bd, json_pack("{s:s, s:s, s:o}",
						    "cluster", b->cluster,
						    "brokerName", b->name,
						    "brokerAddrs", addrs));
	}
	for (i = 0; i < r->nqueues; i++) {
		const struct kmq_queue_data *q = &r->queues[i];

		json_array_append_new(qd, json_pack("{s:s, s:i, s:i, s:i, s:i}",
						    "brokerName", q->broker_name,
						    "readQueueNums",
						    q->read_queues,
						    "writeQueueNums",
						    q->write_queues,
						    "perm", q->perm,
						    "topicSysFlag",
						    q->sys_flag));
	}
	return doc;
}

static const struct kmq_broker_data *
kadm_route_broker(const struct kmq_topic_route *r, const char *name)
{
	unsigned int i;

	for (i = 0; i < r->nbrokers; i++)
		if (!strcmp(r->brokers[i].name, name))
			return &r->brokers[i];
	return NULL;
}

static int kadm_topic_route(struct kadm *k)
{
	struct kmq_topic_route *r;
	struct kadm_table *t;
	const char *topic;
	unsigned int i, j;
	int ret;

	ret = kadm_arg_topic(k, 't', &topic);
	if (ret)
		return ret;
	if (kadm_route(k, topic, &r))
		return kadm_fail_err(k);
	if (k->json) {
		kadm_json_print(kadm_route_json(r));
		kmq_topic_route_free(r);
		return KADM_EXIT_OK;
	}
	t = kadm_table_new(6, "Cluster Name", "Broker Name", "Broker Addrs",
			   ">Read Queues", ">Write Queues", ">Perm");
	for (i = 0; i < r->nqueues; i++) {
		const struct kmq_queue_data *q = &r->queues[i];
		const struct kmq_broker_data *b =
			kadm_route_broker(r, q->broker_name);
		char addrs[512] = "";
		size_t used = 0;

		for (j = 0; b && j < b->naddrs && used < sizeof(addrs); j++)
			used += snprintf(addrs + used, sizeof(addrs) - used,
					 "%s%" PRId64 ":%s", j ? "," : "",
					 b->addrs[j].id, b->addrs[j].addr);
		kadm_cell(t, "%s", b ? b->cluster : "-");
		kadm_cell(t, "%s", q->broker_name);
		kadm_cell(t, "%s", used ? addrs : "-");
		kadm_cell(t, "%d", q->read_queues);
		kadm_cell(t, "%d", q->write_queues);
		kadm_cell(t, "%d", q->perm);
	}
	kadm_table_print(t, stdout);
	kadm_table_free(t);
	kmq_topic_route_free(r);
	return KADM_EXIT_OK;
}

/* ---- topicStatus --------------------------------------------------------- */

struct kadm_qstat {
	struct kmq_mq mq;
	int64_t min, max, last;
};

static int kadm_qstat_cmp(const void *a, const void *b)
{
	return kadm_mq_cmp(&((const struct kadm_qstat *)a)->mq,
			   &((const struct kadm_qstat *)b)->mq);
}

/* 202 at @b: append its queues to *@v (*@n of them). */
static int kadm_topic_stats(struct kadm *k, const struct kadm_broker *b,
			    const char *topic, struct kadm_qstat **v,
			    size_t *n)
{
	const struct kmq_field f = { "topic", topic };
	struct kmq_response *resp;
	json_t *doc, *tab, *e, *ts;
	const char *key;
	int ret;

	ret = kadm_call(k, b->addr, b->where, KMQ_REQ_GET_TOPIC_STATS_INFO,
			&f, 1, NULL, 0, &resp);
	if (ret) {
		kmq_response_free(resp);
		return -1;
	}
	doc = resp->body_len ? kadm_mqmap_load(resp->body, resp->body_len) :
	      NULL;
	kmq_response_free(resp);
	tab = json_object_get(doc, "offsetTable");
	if (!json_is_object(tab)) {
		json_decref(doc);
		kadm_seterr(k, "GET_TOPIC_STATS_INFO (202) to %s: no offsetTable in the answer",
			    b->where);
		return -1;
	}
	json_object_foreach(tab, key, e) {
		struct kadm_qstat *nv = realloc(*v, (*n + 1) * sizeof(**v));

		if (!nv)
			break;
		*v = nv;
		if (!kadm_mq_key(key, &nv[*n].mq))
			continue;
		nv[*n].min = json_integer_value(json_object_get(e, "minOffset"));
		nv[*n].max = json_integer_value(json_object_get(e, "maxOffset"));
		ts = json_object_get(e, "lastUpdateTimestamp");
		nv[*n].last = json_integer_value(ts);
		(*n)++;
	}
	json_decref(doc);
	return 0;
}

static int kadm_topic_status(struct kadm *k)
{
	struct kmq_topic_route *r;
	struct kadm_qstat *v = NULL;
	struct kadm_broker *bv;
	struct kadm_table *t;
	const char *topic;
	json_t *doc, *arr;
	char when[40];
	size_t n = 0, i;
	int nb, ret;

	ret = kadm_arg_topic(k, 't', &topic);
	if (ret)
		return ret;
	if (kadm_route(k, topic, &r))
		return kadm_fail_err(k);
	nb = kadm_route_masters(k, r, &bv);
	kmq_topic_route_free(r);
	if (nb < 0)
		return kadm_fail_err(k);
	for (i = 0; i < (size_t)nb; i++) {
		if (kadm_topic_stats(k, &bv[i], topic, &v, &n)) {
			free(bv);
			free(v);
			return kadm_fail_err(k);
		}
	}
	free(bv);
	qsort(v, n, sizeof(*v), kadm_qstat_cmp);
	t = kadm_table_new(5, "Broker Name", ">QID", ">Min Offset",
			   ">Max Offset", "Last Updated");
	doc = json_pack("{s:s, s:[]}", "topic", topic, "queues");
	arr = json_object_get(doc, "queues");
	for (i = 0; i < n; i++) {
		json_t *row = json_pack("{s:s, s:i, s:I, s:I, s:I}",
					"brokerName", v[i].mq.broker_name,
					"queueId", v[i].mq.queue_id,
					"minOffset", (json_int_t)v[i].min,
					"maxOffset", (json_int_t)v[i].max,
					"lastUpdateTimestamp",
					(json_int_t)v[i].last);

		kadm_cell(t, "%s", v[i].mq.broker_name);
		kadm_cell(t, "%d", v[i].mq.queue_id);
		kadm_cell(t, "%" PRId64, v[i].min);
		kadm_cell(t, "%" PRId64, v[i].max);
		kadm_cell(t, "%s", kadm_time_str(v[i].last, when,
						 sizeof(when)));
		json_array_append_new(arr, row);
	}
	if (k->json)
		kadm_json_print(doc);
	else
		kadm_table_print(t, stdout);
	if (!k->json)
		json_decref(doc);
	kadm_table_free(t);
	free(v);
	return KADM_EXIT_OK;
}

/* ---- the table ------------------------------------------------------------ */

static const struct kadm_opt kadm_update_topic_opts[] = {
	{ 'b', "brokerAddr", "ADDR", false,
	  "create or update on this broker (host:port); wins over -c" },
	{ 'c', "clusterName", "NAME", false,
	  "create or update on every master of this cluster" },
	{ 't', "topic", "TOPIC", true,
	  "topic name ([a-zA-Z0-9_%|-], at most 127)" },
	{ 'r', "readQueueNums", "N", false, "read queues, 1..1024 (8)" },
	{ 'w', "writeQueueNums", "N", false, "write queues, 1..1024 (8)" },
	{ 'p', "perm", "N", false, "permission: W=2, R=4, RW=6 (6)" },
	{ 0 }
};

static const struct kadm_opt kadm_delete_topic_opts[] = {
	{ 't', "topic", "TOPIC", true, "topic name" },
	{ 'c', "clusterName", "NAME", false,
	  "delete from every master of this cluster (default: the brokers of the topic's route)" },
	{ 0 }
};

static const struct kadm_opt kadm_topic_list_opts[] = {
	{ 'c', "clusterModel", NULL, false,
	  "also the cluster of each topic (one route lookup per topic)" },
	{ 0 }
};

static const struct kadm_opt kadm_topic_opts[] = {
	{ 't', "topic", "TOPIC", true, "topic name" },
	{ 0 }
};

const struct kadm_cmd kadm_topic_cmds[] = {
	{ "updateTopic", "Update or create a topic", kadm_update_topic_opts,
	  kadm_update_topic },
	{ "deleteTopic", "Delete a topic from brokers and name servers",
	  kadm_delete_topic_opts, kadm_delete_topic },
	{ "topicList", "List the topics the name servers know",
	  kadm_topic_list_opts, kadm_topic_list },
	{ "topicRoute", "Examine a topic's route", kadm_topic_opts,
	  kadm_topic_route },
	{ "topicStatus", "Examine a topic's queues and offsets",
	  kadm_topic_opts, kadm_topic_status },
	{ NULL }
};
