// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_group.c - consumer groups: HEART_BEAT (34) registers a client and
 * its subscriptions (and, for clustering groups, the %RETRY% topic),
 * UNREGISTER_CLIENT (35) and a closed connection remove it, clients
 * silent for 120 s expire, GET_CONSUMER_LIST_BY_GROUP (38) lists the
 * clients, and NOTIFY_CONSUMER_IDS_CHANGED (40) goes to every client of a
 * group whose membership changed, so they rebalance at once. What the
 * admin requests need (kmqd_admin.h): a group's clients as RocketMQ's
 * ConsumerConnection, and a walk over its online clients.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

#define KMQD_CLIENT_EXPIRE_MS	120000

struct kmqd_client {
	char id[256];
	struct kmqd_conn *conn;		/* referenced */
	char language[16];		/* of its heartbeat's header */
	int32_t version;
	uint64_t last_seen;
	struct kmqd_client *next;
};

struct kmqd_sub {
	char topic[KMQ_TOPIC_MAX_V1 + 1];
	char *expr;
	struct kmqd_sub *next;
};

struct kmqd_group {
	char name[256];
	struct kmqd_client *clients;
	struct kmqd_sub *subs;
	/* The last heartbeat's consumer data, for ConsumerConnection. */
	char consume_type[32];
	char message_model[32];
	char consume_from_where[64];
	json_t *sub_table;		/* topic -> subscriptionData */
	struct kmqd_group *next;
};

static pthread_mutex_t kmqd_groups_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmqd_group *kmqd_groups;

static struct kmqd_group *kmqd_group_find(const char *name, bool create)
{
	struct kmqd_group *g;

	for (g = kmqd_groups; g; g = g->next)
		if (!strcmp(g->name, name))
			return g;
	if (!create || strlen(name) >= sizeof(g->name))
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->next = kmqd_groups;
	kmqd_groups = g;
	return g;
}

static void kmqd_subs_free(struct kmqd_sub *s)
{
	while (s) {
		struct kmqd_sub *next = s->next;

		free(s->expr);
		free(s);
		s = next;
	}
}

struct kmqd_notify {
	struct kmqd_conn *conn;
	char group[256];
};

static void kmqd_notify_run(void *arg)
{
	struct kmqd_notify *n = arg;
	struct kmq_rmt_cmd req;

	if (kmqd_conn_is_open(n->conn) &&
	    !kmq_rmt_request(&req, KMQ_REQ_NOTIFY_CONSUMER_IDS_CHANGED, 0,
			     KMQ_RMT_JSON)) {
		req.flag |= KMQ_RMT_FLAG_ONEWAY;
		kmq_rmt_set_ext(&req, "consumerGroup", n->group);
		kmqd_conn_reply(n->conn, &req, NULL, 0);
		kmq_rmt_cmd_free(&req);
	}
	kmqd_conn_put(n->conn);
	free(n);
}

/* Tell every client of @g to rebalance (lock held). */
static void kmqd_group_notify(struct kmqd_group *g)
{
	struct kmqd_client *cl;

	for (cl = g->clients; cl; cl = cl->next) {
		struct kmqd_notify *n = malloc(sizeof(*n));

		if (!n)
			continue;
		kmqd_conn_get(cl->conn);
		n->conn = cl->conn;
		snprintf(n->group, sizeof(n->group), "%s", g->name);
		if (kmqd_loop_post(kmqd_conn_loop(cl->conn), kmqd_notify_run,
				   n)) {
			kmqd_conn_put(n->conn);
			free(n);
		}
	}
}

/* Remove clients matching @conn or @id (either may be NULL); lock held. */
static bool kmqd_group_remove(struct kmqd_group *g, struct kmqd_conn *conn,
			      const char *id, uint64_t expired_before)
{
	struct kmqd_client **pp, *cl;
	bool changed = false;

	for (pp = &g->clients; *pp;) {
		cl = *pp;
		if ((conn && cl->conn == conn) || (id && !strcmp(cl->id, id)) ||
		    cl->last_seen < expired_before) {
			*pp = cl->next;
			log_info("group %s: client %s left", g->name, cl->id);
			kmqd_conn_put(cl->conn);
			free(cl);
			changed = true;
			continue;
		}
		pp = &cl->next;
	}
	return changed;
}

/* Copy the string member @key of @cd into @buf ("" if absent). */
static void kmqd_cd_str(json_t *cd, const char *key, char *buf, size_t len)
{
	const char *v = json_string_value(json_object_get(cd, key));

	snprintf(buf, len, "%s", v ? v : "");
}

static int kmqd_group_heartbeat(struct kmqd_conn *c,
				const struct kmq_rmt_cmd *req,
				const char *client_id, json_t *cd)
{
	const char *name = json_string_value(json_object_get(cd, "groupName"));
	const char *model = json_string_value(json_object_get(cd,
							      "messageModel"));
	json_t *subs = json_object_get(cd, "subscriptionDataSet"), *sd;
	struct kmqd_sub *list = NULL;
	json_t *table = json_object();
	struct kmqd_client *cl;
	struct kmqd_group *g;
	char retry[300];
	size_t i;

	if (!name || !*name) {
		json_decref(table);
		return -EINVAL;
	}
	json_array_foreach(subs, i, sd) {
		const char *t = json_string_value(json_object_get(sd, "topic"));
		const char *e = json_string_value(json_object_get(sd,
								  "subString"));
		struct kmqd_sub *s;

		if (!t || strlen(t) > KMQ_TOPIC_MAX_V1)
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			break;
		snprintf(s->topic, sizeof(s->topic), "%s", t);
		s->expr = strdup(e ? e : "*");
		s->next = list;
		list = s;
		json_object_set_new(table, t, json_deep_copy(sd));
	}
	kmqd_subgroup_ensure(name);
	if (!model || strcmp(model, "BROADCASTING")) {
		snprintf(retry, sizeof(retry), "%s%s", KMQD_RETRY_PREFIX, name);
		if (kmqd_topic_ensure(retry, 1, true, NULL))
			log_warn("group %s: retry topic %s: %s", name, retry,
				 kmqd_st_errmsg());
	}

	pthread_mutex_lock(&kmqd_groups_lock);
	g = kmqd_group_find(name, true);
	if (!g) {
		pthread_mutex_unlock(&kmqd_groups_lock);
		kmqd_subs_free(list);
		json_decref(table);
		return -ENOMEM;
	}
	kmqd_subs_free(g->subs);
	g->subs = list;
	json_decref(g->sub_table);
	g->sub_table = table;
	kmqd_cd_str(cd, "consumeType", g->consume_type,
		    sizeof(g->consume_type));
	kmqd_cd_str(cd, "messageModel", g->message_model,
		    sizeof(g->message_model));
	kmqd_cd_str(cd, "consumeFromWhere", g->consume_from_where,
		    sizeof(g->consume_from_where));
	for (cl = g->clients; cl; cl = cl->next)
		if (!strcmp(cl->id, client_id))
			break;
	if (cl && cl->conn != c) {
		/* Reconnected: the new connection replaces the old. */
		kmqd_conn_get(c);
		kmqd_conn_put(cl->conn);
		cl->conn = c;
	}
	if (!cl) {
		cl = calloc(1, sizeof(*cl));
		if (cl) {
			snprintf(cl->id, sizeof(cl->id), "%s", client_id);
			kmqd_conn_get(c);
			cl->conn = c;
			cl->next = g->clients;
			g->clients = cl;
			log_info("group %s: client %s joined from %s", name,
				 client_id, kmqd_conn_peer(c));
			kmqd_group_notify(g);
		}
	}
	if (cl) {
		cl->last_seen = kmqd_mono_ms();
		snprintf(cl->language, sizeof(cl->language), "%s",
			 req->language);
		cl->version = req->version;
	}
	pthread_mutex_unlock(&kmqd_groups_lock);
	return 0;
}

void kmqd_heartbeat_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	json_t *hb, *cds, *cd;
	json_error_t jerr;
	const char *id;
	size_t i;

	hb = req->body_len ? json_loadb((const char *)req->body, req->body_len,
					0, &jerr) : NULL;
	id = json_string_value(json_object_get(hb, "clientID"));
	if (!id || !*id || strlen(id) >= 256) {
		json_decref(hb);
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "heartbeat body must be JSON with a clientID%s%s",
			    hb ? "" : ": ", hb ? "" : jerr.text);
		return;
	}
	cds = json_object_get(hb, "consumerDataSet");
	json_array_foreach(cds, i, cd) {
		if (kmqd_group_heartbeat(c, req, id, cd)) {
			json_decref(hb);
			kmqd_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
				   "consumer data without a groupName");
			return;
		}
	}
	json_decref(hb);
	kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
}

void kmqd_unregister_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const char *id = kmq_rmt_ext(req, "clientID");
	const char *group = kmq_rmt_ext(req, "consumerGroup");
	struct kmqd_group *g;

	if (id && group) {
		pthread_mutex_lock(&kmqd_groups_lock);
		g = kmqd_group_find(group, false);
		if (g && kmqd_group_remove(g, NULL, id, 0))
			kmqd_group_notify(g);
		pthread_mutex_unlock(&kmqd_groups_lock);
		kmqd_lock_release_client(group, id);
	}
	kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
}

void kmqd_consumer_list_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	json_t *body, *ids;
	struct kmqd_client *cl;
	struct kmqd_group *g;
	const char *group;

	if (!kmqd_need_str(c, req, "consumerGroup", &group))
		return;
	body = json_pack("{s:[]}", "consumerIdList");
	ids = json_object_get(body, "consumerIdList");
	pthread_mutex_lock(&kmqd_groups_lock);
	g = kmqd_group_find(group, false);
	for (cl = g ? g->clients : NULL; cl; cl = cl->next)
		json_array_append_new(ids, json_string(cl->id));
	pthread_mutex_unlock(&kmqd_groups_lock);
	if (!json_array_size(ids)) {
		json_decref(body);
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "no consumer for this group, %s", group);
		return;
	}
	kmqd_reply_json(c, req, body);
	json_decref(body);
}

bool kmqd_group_subscription(const char *group, const char *topic, char *buf,
			     size_t len)
{
	struct kmqd_group *g;
	struct kmqd_sub *s;
	bool found = false;

	pthread_mutex_lock(&kmqd_groups_lock);
	g = kmqd_group_find(group, false);
	for (s = g ? g->subs : NULL; s; s = s->next) {
		if (!strcmp(s->topic, topic)) {
			snprintf(buf, len, "%s", s->expr);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&kmqd_groups_lock);
	return found;
}

void kmqd_group_conn_closed(struct kmqd_conn *c)
{
	struct kmqd_group *g;

	pthread_mutex_lock(&kmqd_groups_lock);
	for (g = kmqd_groups; g; g = g->next)
		if (kmqd_group_remove(g, c, NULL, 0))
			kmqd_group_notify(g);
	pthread_mutex_unlock(&kmqd_groups_lock);
}

void kmqd_group_tick(struct kmqd_loop *l, uint64_t now_ms)
{
	struct kmqd_group *g;

	if (now_ms < KMQD_CLIENT_EXPIRE_MS)
		return;
	pthread_mutex_lock(&kmqd_groups_lock);
	for (g = kmqd_groups; g; g = g->next)
		if (kmqd_group_remove(g, NULL, NULL,
				      now_ms - KMQD_CLIENT_EXPIRE_MS))
			kmqd_group_notify(g);
	pthread_mutex_unlock(&kmqd_groups_lock);
}

void kmqd_groups_free(void)
{
	pthread_mutex_lock(&kmqd_groups_lock);
	while (kmqd_groups) {
		struct kmqd_group *g = kmqd_groups;

		kmqd_groups = g->next;
		kmqd_group_remove(g, NULL, NULL, UINT64_MAX);
		kmqd_subs_free(g->subs);
		json_decref(g->sub_table);
		free(g);
	}
	pthread_mutex_unlock(&kmqd_groups_lock);
}

json_t *kmqd_group_connection(const char *group)
{
	json_t *cc = NULL, *set;
	struct kmqd_client *cl;
	struct kmqd_group *g;

	pthread_mutex_lock(&kmqd_groups_lock);
	g = kmqd_group_find(group, false);
	if (!g || !g->clients)
		goto out;
	cc = json_pack("{s:[], s:s, s:s, s:s, s:o}", "connectionSet",
		       "consumeType", g->consume_type,
		       "messageModel", g->message_model,
		       "consumeFromWhere", g->consume_from_where,
		       "subscriptionTable",
		       g->sub_table ? json_deep_copy(g->sub_table) :
		       json_object());
	set = json_object_get(cc, "connectionSet");
	for (cl = g->clients; cl; cl = cl->next)
		json_array_append_new(set, json_pack("{s:s, s:s, s:s, s:i}",
						     "clientId", cl->id,
						     "clientAddr",
						     kmqd_conn_peer(cl->conn),
						     "language", cl->language,
						     "version", (int)cl->version));
out:
	pthread_mutex_unlock(&kmqd_groups_lock);
	return cc;
}

unsigned int kmqd_group_each_client(const char *group,
				    void (*fn)(void *arg,
					       struct kmqd_conn *conn,
					       const char *client_id),
				    void *arg)
{
	struct kmqd_client *cl;
	struct kmqd_group *g;
	unsigned int n = 0;

	pthread_mutex_lock(&kmqd_groups_lock);
	g = kmqd_group_find(group, false);
	for (cl = g ? g->clients : NULL; cl; cl = cl->next, n++)
		fn(arg, cl->conn, cl->id);
	pthread_mutex_unlock(&kmqd_groups_lock);
	return n;
}
