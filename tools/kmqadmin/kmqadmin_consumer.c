// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_consumer.c - the consumer-group subcommands: consumerProgress
 * (208 consume stats, 201 and 203 for the list of groups),
 * resetOffsetByTime (222 to every master of the topic's route) and
 * updateSubGroup (200 to -b or every master of -c, then 201 to show what
 * the broker stored).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kmqadmin.h"

/* ---- consume stats (208) ------------------------------------------------- */

struct kadm_cstat {
	struct kmq_mq mq;
	int64_t broker_off, consumer_off, last_ts;
};

struct kadm_cstats {
	struct kadm_cstat *v;
	size_t n;
	double tps;
	int answered;		/* brokers that knew the group */
};

static int kadm_cstat_cmp(const void *a, const void *b)
{
	return kadm_mq_cmp(&((const struct kadm_cstat *)a)->mq,
			   &((const struct kadm_cstat *)b)->mq);
}

static int64_t kadm_jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static const char *kadm_jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "-";
}

/*
 * GET_CONSUME_STATS of @group (@topic or every topic) at @b into @st.
 * A broker that does not know the group (26) or the topic (17) adds
 * nothing. Return: 0, or -1 with @k->err set.
 */
static int kadm_consume_stats(struct kadm *k, const struct kadm_broker *b,
			      const char *group, const char *topic,
			      struct kadm_cstats *st)
{
	struct kmq_field f[2] = { { "consumerGroup", group },
				  { "topic", topic } };
	struct kmq_response *resp;
	json_t *doc, *tab, *e;
	const char *key;
	int ret;

	ret = kadm_call(k, b->addr, b->where, KMQ_REQ_GET_CONSUME_STATS, f,
			topic ? 2 : 1, NULL, 0, &resp);
	kmq_response_free(ret ? resp : NULL);
	if (ret == KMQ_RESP_SUBSCRIPTION_GROUP_NOT_EXIST ||
	    ret == KMQ_RESP_TOPIC_NOT_EXIST)
		return 0;
	if (ret)
		return -1;
	doc = resp->body_len ? kadm_mqmap_load(resp->body, resp->body_len) :
	      NULL;
	kmq_response_free(resp);
	tab = json_object_get(doc, "offsetTable");
	if (!json_is_object(tab)) {
		json_decref(doc);
		kadm_seterr(k, "GET_CONSUME_STATS (208) to %s: no offsetTable in the answer",
			    b->where);
		return -1;
	}
	st->answered++;
	st->tps += json_number_value(json_object_get(doc, "consumeTps"));
	json_object_foreach(tab, key, e) {
		struct kadm_cstat *nv = realloc(st->v, (st->n + 1) *
						sizeof(*nv));

		if (!nv)
			break;
		st->v = nv;
		if (!kadm_mq_key(key, &nv[st->n].mq))
			continue;
		nv[st->n].broker_off = kadm_jint(e, "brokerOffset");
		nv[st->n].consumer_off = kadm_jint(e, "consumerOffset");
		nv[st->n].last_ts = kadm_jint(e, "lastTimestamp");
		st->n++;
	}
	json_decref(doc);
	return 0;
}

static int64_t kadm_diff(const struct kadm_cstat *c)
{
	return c->consumer_off < 0 ? c->broker_off :
	       c->broker_off - c->consumer_off;
}

/* The brokers to ask: the topic's route, or every master. */
static int kadm_group_brokers(struct kadm *k, const char *topic,
			      struct kadm_broker **bv)
{
	struct kmq_topic_route *r;
	int n;

	if (!topic)
		return kadm_masters(k, NULL, bv);
	if (kadm_route(k, topic, &r))
		return -1;
	n = kadm_route_masters(k, r, bv);
	kmq_topic_route_free(r);
	return n;
}

static int kadm_progress_group(struct kadm *k, const char *group,
			       const char *topic)
{
	struct kadm_cstats st = { 0 };
	struct kadm_broker *bv;
	struct kadm_table *t;
	json_t *doc, *arr;
	int64_t total = 0;
	char when[40];
	int n, i;
	size_t j;

	n = kadm_group_brokers(k, topic, &bv);
	if (n < 0)
		return kadm_fail_err(k);
	for (i = 0; i < n; i++) {
		if (kadm_consume_stats(k, &bv[i], group, topic, &st)) {
			free(bv);
			free(st.v);
			return kadm_fail_err(k);
		}
	}
	free(bv);
	if (!st.answered) {
		free(st.v);
		return kadm_fail(k,
				 "consumer group '%s' is not known to any broker%s%s (last answer: %s)",
				 group, topic ? " for topic " : "",
				 topic ? topic : "", k->err);
	}
	qsort(st.v, st.n, sizeof(*st.v), kadm_cstat_cmp);
	t = kadm_table_new(7, "Topic", "Broker Name", ">QID",
			   ">Broker Offset", ">Consumer Offset", ">Diff",
			   "LastTime");
	doc = json_pack("{s:s, s:[]}", "group", group, "queues");
	arr = json_object_get(doc, "queues");
	for (j = 0; j < st.n; j++) {
		const struct kadm_cstat *c = &st.v[j];
		json_t *row;

		total += kadm_diff(c);
		kadm_cell(t, "%s", c->mq.topic);
		kadm_cell(t, "%s", c->mq.broker_name);
		kadm_cell(t, "%d", c->mq.queue_id);
		kadm_cell(t, "%" PRId64, c->broker_off);
		kadm_cell(t, "%" PRId64, c->consumer_off);
		kadm_cell(t, "%" PRId64, kadm_diff(c));
		kadm_cell(t, "%s", kadm_time_str(c->last_ts, when,
						 sizeof(when)));
		row = json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I}",
				"topic", c->mq.topic,
				"brokerName", c->mq.broker_name,
				"queueId", c->mq.queue_id,
				"brokerOffset", (json_int_t)c->broker_off,
				"consumerOffset", (json_int_t)c->consumer_off,
				"diff", (json_int_t)kadm_diff(c),
				"lastTimestamp", (json_int_t)c->last_ts);
		json_array_append_new(arr, row);
	}
	json_object_set_new(doc, "consumeTps", json_real(st.tps));
	json_object_set_new(doc, "diffTotal", json_integer(total));
	if (k->json) {
		kadm_json_print(doc);
	} else {
		kadm_table_print(t, stdout);
		printf("\nConsume TPS: %.2f\nConsume Diff Total: %" PRId64 "\n",
		       st.tps, total);
		json_decref(doc);
	}
	kadm_table_free(t);
	free(st.v);
	return KADM_EXIT_OK;
}

/* Every group of 201 at each of @bv, sorted and unique, as a JSON array. */
static json_t *kadm_all_groups(struct kadm *k, struct kadm_broker *bv, int n)
{
	json_t *set = json_object(), *out = json_array(), *doc, *v;
	const char *name;
	int i;

	for (i = 0; i < n; i++) {
		struct kmq_response *resp;

		if (kadm_call(k, bv[i].addr, bv[i].where,
			      KMQ_REQ_GET_ALL_SUBSCRIPTIONGROUP_CONFIG, NULL, 0,
			      NULL, 0, &resp)) {
			kmq_response_free(resp);
			json_decref(set);
			json_decref(out);
			return NULL;
		}
		doc = kadm_resp_json(k, resp,
				     "GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201)");
		kmq_response_free(resp);
		json_object_foreach(json_object_get(doc,
						    "subscriptionGroupTable"),
				    name, v)
			json_object_set_new(set, name, json_true());
		json_decref(doc);
	}
	json_object_foreach(set, name, v)
		json_array_append_new(out, json_string(name));
	json_decref(set);
	return out;
}

/* 203 of @group at @b: members, and the first member's facts. */
static void kadm_group_conn(struct kadm *k, const struct kadm_broker *b,
			    const char *group, json_t *row)
{
	const struct kmq_field f = { "consumerGroup", group };
	struct kmq_response *resp;
	json_t *doc, *set;
	int64_t count;

	if (kadm_call(k, b->addr, b->where,
		      KMQ_REQ_GET_CONSUMER_CONNECTION_LIST, &f, 1, NULL, 0,
		      &resp)) {
		kmq_response_free(resp);
		return;
	}
	doc = kadm_resp_json(k, resp, "GET_CONSUMER_CONNECTION_LIST (203)");
	kmq_response_free(resp);
	set = json_object_get(doc, "connectionSet");
	count = kadm_jint(row, "count") + json_array_size(set);
	json_object_set_new(row, "count", json_integer(count));
	if (json_array_size(set) && !json_object_get(row, "version"))
		json_object_set(row, "version",
				json_object_get(json_array_get(set, 0),
						"version"));
	if (json_is_string(json_object_get(doc, "consumeType")))
		json_object_set(row, "consumeType",
				json_object_get(doc, "consumeType"));
	if (json_is_string(json_object_get(doc, "messageModel")))
		json_object_set(row, "messageModel",
				json_object_get(doc, "messageModel"));
	json_decref(doc);
}

static int kadm_progress_all(struct kadm *k)
{
	struct kadm_broker *bv;
	struct kadm_table *t;
	json_t *groups, *doc, *arr, *g;
	size_t gi;
	int n, i;

	n = kadm_masters(k, NULL, &bv);
	if (n < 0)
		return kadm_fail_err(k);
	groups = kadm_all_groups(k, bv, n);
	if (!groups) {
		free(bv);
		return kadm_fail_err(k);
	}
	t = kadm_table_new(7, "Group", ">Count", "Version", "Type", "Model",
			   ">TPS", ">Diff Total");
	doc = json_pack("{s:[]}", "groups");
	arr = json_object_get(doc, "groups");
	json_array_foreach(groups, gi, g) {
		const char *name = json_string_value(g);
		struct kadm_cstats st = { 0 };
		json_t *row = json_pack("{s:s, s:i}", "group", name,
					"count", 0);
		int64_t total = 0;
		size_t j;

		kadm_progress(k, false, "group %zu/%zu (%s)", gi + 1,
			      json_array_size(groups), name);
		for (i = 0; i < n; i++) {
			if (kadm_consume_stats(k, &bv[i], name, NULL, &st)) {
				kadm_note(k, "%s", k->err);
				continue;
			}
			kadm_group_conn(k, &bv[i], name, row);
		}
		for (j = 0; j < st.n; j++)
			total += kadm_diff(&st.v[j]);
		free(st.v);
		json_object_set_new(row, "consumeTps", json_real(st.tps));
		json_object_set_new(row, "diffTotal", json_integer(total));
		kadm_cell(t, "%s", name);
		kadm_cell(t, "%" PRId64, kadm_jint(row, "count"));
		if (json_is_integer(json_object_get(row, "version")))
			kadm_cell(t, "%" PRId64, kadm_jint(row, "version"));
		else
			kadm_cell(t, "-");
		kadm_cell(t, "%s", kadm_jstr(row, "consumeType"));
		kadm_cell(t, "%s", kadm_jstr(row, "messageModel"));
		kadm_cell(t, "%.2f", st.tps);
		kadm_cell(t, "%" PRId64, total);
		json_array_append_new(arr, row);
	}
	kadm_progress(k, true, "%zu groups", json_array_size(groups));
	if (k->json)
		kadm_json_print(doc);
	else
		kadm_table_print(t, stdout);
	if (!k->json)
		json_decref(doc);
	kadm_table_free(t);
	json_decref(groups);
	free(bv);
	return KADM_EXIT_OK;
}

static int kadm_consumer_progress(struct kadm *k)
{
	const char *group, *topic;
	int ret;

	ret = kadm_arg_name(k, 'g', &group);
	if (!ret)
		ret = kadm_arg_topic(k, 't', &topic);
	if (ret)
		return ret;
	if (!group && topic)
		return kadm_usage_err(k, "-t needs -g");
	return group ? kadm_progress_group(k, group, topic) :
		       kadm_progress_all(k);
}

/* ---- resetOffsetByTime ---------------------------------------------------- */

struct kadm_reset {
	struct kmq_mq mq;
	int64_t offset;
};

static int kadm_reset_cmp(const void *a, const void *b)
{
	return kadm_mq_cmp(&((const struct kadm_reset *)a)->mq,
			   &((const struct kadm_reset *)b)->mq);
}

/* 222 at @b; its offsetTable appended to *@v. Return: 0 or -1 (@k->err). */
static int kadm_reset_at(struct kadm *k, const struct kadm_broker *b,
			 const struct kmq_field *f, unsigned int nf,
			 struct kadm_reset **v, size_t *n)
{
	struct kmq_response *resp;
	json_t *doc, *tab, *e;
	const char *key;

	if (kadm_call(k, b->addr, b->where,
		      KMQ_REQ_INVOKE_BROKER_TO_RESET_OFFSET, f, nf, NULL, 0,
		      &resp)) {
		kmq_response_free(resp);
		return -1;
	}
	doc = resp->body_len ? kadm_mqmap_load(resp->body, resp->body_len) :
	      NULL;
	kmq_response_free(resp);
	tab = json_object_get(doc, "offsetTable");
	if (!json_is_object(tab)) {
		json_decref(doc);
		kadm_seterr(k,
			    "INVOKE_BROKER_TO_RESET_OFFSET (222) to %s: no offsetTable in the answer",
			    b->where);
		return -1;
	}
	json_object_foreach(tab, key, e) {
		struct kadm_reset *nv = realloc(*v, (*n + 1) * sizeof(*nv));

		if (!nv)
			break;
		*v = nv;
		if (!kadm_mq_key(key, &nv[*n].mq) || !json_is_integer(e))
			continue;
		nv[*n].offset = json_integer_value(e);
		(*n)++;
	}
	json_decref(doc);
	return 0;
}

static int kadm_reset_offset(struct kadm *k)
{
	const char *group, *topic, *ts_str = kadm_opt_val(k, 's');
	struct kmq_topic_route *r;
	struct kadm_reset *v = NULL;
	struct kadm_broker *bv;
	struct kadm_table *t;
	bool force = true;
	char tss[24];
	int64_t ts = 0;
	json_t *doc, *arr;
	size_t n = 0, j;
	int nb, i, ret;

	ret = kadm_arg_name(k, 'g', &group);
	if (!ret)
		ret = kadm_arg_topic(k, 't', &topic);
	if (!ret)
		ret = kadm_arg_time(k, 's', -1, &ts);
	if (!ret)
		ret = kadm_arg_bool(k, 'f', &force);
	if (ret)
		return ret;
	snprintf(tss, sizeof(tss), "%" PRId64, ts);
	if (kadm_route(k, topic, &r))
		return kadm_fail_err(k);
	nb = kadm_route_masters(k, r, &bv);
	kmq_topic_route_free(r);
	if (nb < 0)
		return kadm_fail_err(k);
	{
		const struct kmq_field f[] = {
			{ "topic", topic }, { "group", group },
			{ "timestamp", tss },
			{ "isForce", force ? "true" : "false" },
		};

		for (i = 0; i < nb; i++) {
			kadm_progress(k, false, "broker %d/%d (%s), %zu queues reset so far",
				      i + 1, nb, bv[i].name, n);
			if (kadm_reset_at(k, &bv[i], f, 4, &v, &n)) {
				free(bv);
				free(v);
				return kadm_fail_err(k);
			}
		}
	}
	kadm_progress(k, true, "%d brokers, %zu queues reset", nb, n);
	free(bv);
	qsort(v, n, sizeof(*v), kadm_reset_cmp);
	t = kadm_table_new(3, "Broker Name", ">QID", ">Offset");
	doc = json_pack("{s:s, s:s, s:s, s:I, s:b, s:[]}", "group", group,
			"topic", topic, "timestampString", ts_str,
			"timestamp", (json_int_t)ts, "force", force,
			"offsetTable");
	arr = json_object_get(doc, "offsetTable");
	for (j = 0; j < n; j++) {
		json_t *row = json_pack("{s:s, s:i, s:I}",
					"brokerName", v[j].mq.broker_name,
					"queueId", v[j].mq.queue_id,
					"offset", (json_int_t)v[j].offset);

		kadm_cell(t, "%s", v[j].mq.broker_name);
		kadm_cell(t, "%d", v[j].mq.queue_id);
		kadm_cell(t, "%" PRId64, v[j].offset);
		json_array_append_new(arr, row);
	}
	if (k->json) {
		kadm_json_print(doc);
	} else {
		printf("rollback consumer offset by specified group[%s], topic[%s], ",
		       group, topic);
		printf("force[%s], timestamp(string)[%s], timestamp(long)[%" PRId64 "]\n",
		       force ? "true" : "false", ts_str, ts);
		kadm_table_print(t, stdout);
		json_decref(doc);
	}
	kadm_table_free(t);
	free(v);
	return KADM_EXIT_OK;
}

/* ---- updateSubGroup -------------------------------------------------------- */

/* Build the SubscriptionGroupConfig of the options; NULL: usage error. */
static json_t *kadm_subgroup_config(struct kadm *k, const char *group,
				    int *err)
{
	static const struct {
		char key;
		const char *field;
		bool is_bool;
		int64_t min, max;
	} f[] = {
		{ 's', "consumeEnable", true, 0, 0 },
		{ 'm', "consumeFromMinEnable", true, 0, 0 },
		{ 'd', "consumeBroadcastEnable", true, 0, 0 },
		{ 'o', "consumeMessageOrderly", true, 0, 0 },
		{ 'q', "retryQueueNums", false, 0, 1024 },
		{ 'r', "retryMaxTimes", false, -1, 65535 },
		{ 'i', "brokerId", false, 0, INT32_MAX },
		{ 'w', "whichBrokerWhenConsumeSlowly", false, 0, INT32_MAX },
		{ 'a', "notifyConsumerIdsChangedEnable", true, 0, 0 },
	};
	/* mqadmin turns these two off unless given. */
	json_t *cfg = json_pack("{s:s, s:b, s:b}", "groupName", group,
				"consumeFromMinEnable", 0,
				"consumeBroadcastEnable", 0);
	unsigned int i;

	*err = 0;
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		bool b = false;
		int64_t v;

		if (!kadm_opt_val(k, f[i].key))
			continue;
		*err = f[i].is_bool ? kadm_arg_bool(k, f[i].key, &b) :
		       kadm_arg_int(k, f[i].key, f[i].min, f[i].max, 0, &v);
		if (*err) {
			json_decref(cfg);
			return NULL;
		}
		json_object_set_new(cfg, f[i].field, f[i].is_bool ?
				    json_boolean(b) : json_integer(v));
	}
	return cfg;
}

/* What @b stored for @group (201), or NULL. */
static json_t *kadm_subgroup_stored(struct kadm *k,
				    const struct kadm_broker *b,
				    const char *group)
{
	struct kmq_response *resp;
	json_t *doc, *g;

	if (kadm_call(k, b->addr, b->where,
		      KMQ_REQ_GET_ALL_SUBSCRIPTIONGROUP_CONFIG, NULL, 0, NULL,
		      0, &resp)) {
		kmq_response_free(resp);
		return NULL;
	}
	doc = kadm_resp_json(k, resp, "GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201)");
	kmq_response_free(resp);
	g = json_object_get(doc, "subscriptionGroupTable");
	g = json_incref(json_object_get(g, group));
	json_decref(doc);
	return g;
}

static int kadm_update_subgroup(struct kadm *k)
{
	struct kadm_broker *bv;
	struct kadm_table *t;
	const char *group, *key;
	json_t *cfg, *doc, *arr, *stored = NULL, *v;
	char *body;
	int n, i, failed = 0, ret;

	ret = kadm_arg_name(k, 'g', &group);
	if (ret)
		return ret;
	cfg = kadm_subgroup_config(k, group, &ret);
	if (!cfg)
		return ret ? ret : kadm_fail(k, "out of memory");
	n = kadm_targets(k, &bv);
	if (n < 0) {
		json_decref(cfg);
		return -n;
	}
	body = json_dumps(cfg, JSON_COMPACT);
	doc = json_pack("{s:[]}", "brokers");
	arr = json_object_get(doc, "brokers");
	for (i = 0; i < n && body; i++) {
		struct kmq_response *resp;

		ret = kadm_call(k, bv[i].addr, bv[i].where,
				KMQ_REQ_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
				NULL, 0, body, strlen(body), &resp);
		kmq_response_free(resp);
		if (ret) {
			failed++;
			kadm_fail_err(k);
		} else if (!stored) {
			stored = kadm_subgroup_stored(k, &bv[i], group);
		}
		json_array_append_new(arr, kadm_result_json(&bv[i], ret, k->err));
		if (!ret && !k->json)
			printf("create subscription group to %s success.\n",
			       bv[i].addr);
	}
	free(body);
	json_object_set(doc, "config", stored ? stored : cfg);
	t = kadm_table_new(2, "Key", "Value");
	json_object_foreach(stored ? stored : cfg, key, v) {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		kadm_cell(t, "%s", key);
		kadm_cell(t, "%s", s ? s : "");
		free(s);
	}
	if (k->json) {
		kadm_json_print(doc);
	} else {
		if (!failed)
			kadm_table_print(t, stdout);
		json_decref(doc);
	}
	kadm_table_free(t);
	json_decref(stored);
	json_decref(cfg);
	free(bv);
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- the table ------------------------------------------------------------- */

static const struct kadm_opt kadm_progress_opts[] = {
	{ 'g', "groupName", "GROUP", false,
	  "this consumer group (default: a summary of every group)" },
	{ 't', "topicName", "TOPIC", false,
	  "only this topic of the group" },
	{ 0 }
};

static const struct kadm_opt kadm_reset_opts[] = {
	{ 'g', "group", "GROUP", true, "the consumer group" },
	{ 't', "topic", "TOPIC", true, "the topic" },
	{ 's', "timestamp", "TIME", true,
	  "now (the end), ms since the epoch, or yyyy-MM-dd#HH:mm:ss:SSS" },
	{ 'f', "force", "BOOL", false,
	  "true: also move offsets forward (default); false: only back" },
	{ 0 }
};

static const struct kadm_opt kadm_subgroup_opts[] = {
	{ 'b', "brokerAddr", "ADDR", false,
	  "on this broker (host:port); wins over -c" },
	{ 'c', "clusterName", "NAME", false, "on every master of this cluster" },
	{ 'g', "groupName", "GROUP", true, "consumer group name" },
	{ 's', "consumeEnable", "BOOL", false, "the group may consume (true)" },
	{ 'm', "consumeFromMinEnable", "BOOL", false,
	  "consume from the min offset (false)" },
	{ 'd', "consumeBroadcastEnable", "BOOL", false,
	  "broadcasting allowed (false)" },
	{ 'o', "consumeMessageOrderly", "BOOL", false, "orderly (false)" },
	{ 'q', "retryQueueNums", "N", false, "retry queues, 0..1024 (1)" },
	{ 'r', "retryMaxTimes", "N", false,
	  "deliveries before the DLQ, -1..65535 (16)" },
	{ 'i', "brokerId", "N", false, "consume from this broker id (0)" },
	{ 'w', "whichBrokerWhenConsumeSlowly", "N", false,
	  "broker id when consuming slowly (1)" },
	{ 'a', "notifyConsumerIdsChanged", "BOOL", false,
	  "notify members when the group changes (true)" },
	{ 0 }
};

const struct kadm_cmd kadm_consumer_cmds[] = {
	{ "consumerProgress", "Query a consumer group's progress and lag",
	  kadm_progress_opts, kadm_consumer_progress },
	{ "resetOffsetByTime", "Reset a group's offsets of a topic to a time",
	  kadm_reset_opts, kadm_reset_offset },
	{ "updateSubGroup", "Update or create a subscription group",
	  kadm_subgroup_opts, kadm_update_subgroup },
	{ NULL }
};
