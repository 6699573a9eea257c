// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_rpc.c - kmqadmin's requests, all through libkmq: one request
 * to a broker or to the name servers with an error that says what was
 * asked, of whom, and what came back (code name and remark); the cluster
 * layout (106), topic routes (105), and the brokers a subcommand targets
 * (-b ADDR or -c CLUSTER).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kmqadmin.h"

static const struct {
	int code;
	const char *name;
} kadm_reqs[] = {
	{ KMQ_REQ_PULL_MESSAGE, "PULL_MESSAGE" },
	{ KMQ_REQ_QUERY_MESSAGE, "QUERY_MESSAGE" },
	{ KMQ_REQ_UPDATE_AND_CREATE_TOPIC, "UPDATE_AND_CREATE_TOPIC" },
	{ KMQ_REQ_GET_ALL_TOPIC_CONFIG, "GET_ALL_TOPIC_CONFIG" },
	{ KMQ_REQ_UPDATE_BROKER_CONFIG, "UPDATE_BROKER_CONFIG" },
	{ KMQ_REQ_GET_BROKER_CONFIG, "GET_BROKER_CONFIG" },
	{ KMQ_REQ_GET_BROKER_RUNTIME_INFO, "GET_BROKER_RUNTIME_INFO" },
	{ KMQ_REQ_SEARCH_OFFSET_BY_TIMESTAMP, "SEARCH_OFFSET_BY_TIMESTAMP" },
	{ KMQ_REQ_GET_MAX_OFFSET, "GET_MAX_OFFSET" },
	{ KMQ_REQ_GET_MIN_OFFSET, "GET_MIN_OFFSET" },
	{ KMQ_REQ_VIEW_MESSAGE_BY_ID, "VIEW_MESSAGE_BY_ID" },
	{ KMQ_REQ_GET_ROUTEINFO_BY_TOPIC, "GET_ROUTEINFO_BY_TOPIC" },
	{ KMQ_REQ_GET_BROKER_CLUSTER_INFO, "GET_BROKER_CLUSTER_INFO" },
	{ KMQ_REQ_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
	  "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP" },
	{ KMQ_REQ_GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
	  "GET_ALL_SUBSCRIPTIONGROUP_CONFIG" },
	{ KMQ_REQ_GET_TOPIC_STATS_INFO, "GET_TOPIC_STATS_INFO" },
	{ KMQ_REQ_GET_CONSUMER_CONNECTION_LIST,
	  "GET_CONSUMER_CONNECTION_LIST" },
	{ KMQ_REQ_GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
	  "GET_ALL_TOPIC_LIST_FROM_NAMESERVER" },
	{ KMQ_REQ_DELETE_SUBSCRIPTIONGROUP, "DELETE_SUBSCRIPTIONGROUP" },
	{ KMQ_REQ_GET_CONSUME_STATS, "GET_CONSUME_STATS" },
	{ KMQ_REQ_DELETE_TOPIC_IN_BROKER, "DELETE_TOPIC_IN_BROKER" },
	{ KMQ_REQ_DELETE_TOPIC_IN_NAMESRV, "DELETE_TOPIC_IN_NAMESRV" },
	{ KMQ_REQ_INVOKE_BROKER_TO_RESET_OFFSET,
	  "INVOKE_BROKER_TO_RESET_OFFSET" },
};

const char *kadm_req_name(int code, char *buf, size_t len)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kadm_reqs); i++)
		if (kadm_reqs[i].code == code) {
			snprintf(buf, len, "%s (%d)", kadm_reqs[i].name, code);
			return buf;
		}
	snprintf(buf, len, "request %d", code);
	return buf;
}

struct kmq_client *kadm_client(struct kadm *k)
{
	struct kmq_client_config cfg;
	int ret;

	if (k->client)
		return k->client;
	kmq_client_config_init(&cfg);
	cfg.namesrv_addr = k->namesrv;
	cfg.connect_timeout_ms = k->timeout_ms;
	cfg.request_timeout_ms = k->timeout_ms;
	ret = kmq_client_new(&cfg, &k->client);
	if (ret) {
		kadm_seterr(k, "cannot make a client for name servers %s: %s",
			    k->namesrv, kmq_errmsg()[0] ? kmq_errmsg() :
			    kmq_strerror(ret));
		k->client = NULL;
	}
	return k->client;
}

int kadm_call(struct kadm *k, const char *addr, const char *where, int code,
	      const struct kmq_field *fields, unsigned int nfields,
	      const void *body, size_t body_len, struct kmq_response **resp)
{
	struct kmq_client *c = kadm_client(k);
	char req[64];
	int ret;

	*resp = NULL;
	if (!c)
		return -EINVAL;
	kadm_req_name(code, req, sizeof(req));
	ret = kmq_client_request(c, addr, code, fields, nfields, body,
				 body_len, k->timeout_ms, resp);
	if (ret) {
		kadm_seterr(k, "%s to %s: %s", req, where,
			    kmq_errmsg()[0] ? kmq_errmsg() :
			    kmq_strerror(ret));
		return ret < 0 ? ret : -EPROTO;
	}
	if (!(*resp)->code)
		return 0;
	kadm_seterr(k, "%s to %s: %s: %s", req, where,
		    kmq_strerror(KMQ_ERR_BROKER((*resp)->code)),
		    (*resp)->remark && *(*resp)->remark ? (*resp)->remark :
		    "(no remark)");
	return (*resp)->code > 0 ? (*resp)->code : 1;
}

int kadm_call_ns(struct kadm *k, int code, const struct kmq_field *fields,
		 unsigned int nfields, struct kmq_response **resp)
{
	char all[KADM_ERR_MAX] = "", where[KMQ_ADDR_MAX + 16];
	size_t used = 0;
	unsigned int i;
	int ret = -ENOENT;

	for (i = 0; i < k->nns; i++) {
		snprintf(where, sizeof(where), "name server %s", k->ns[i]);
		ret = kadm_call(k, k->ns[i], where, code, fields, nfields,
				NULL, 0, resp);
		if (ret >= 0)
			return ret;
		used += snprintf(all + used, sizeof(all) - used, "%s%s",
				 used ? "; " : "", k->err);
		if (used >= sizeof(all))
			used = sizeof(all) - 1;
	}
	if (k->nns > 1)
		kadm_seterr(k, "no name server answered: %s", all);
	return ret;
}

json_t *kadm_resp_json(struct kadm *k, const struct kmq_response *r,
		       const char *what)
{
	json_error_t jerr;
	json_t *doc;

	doc = r->body_len ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
	if (!doc)
		kadm_seterr(k, "%s: the answer's body is not JSON (%s)", what,
			    r->body_len ? jerr.text : "empty");
	return doc;
}

json_t *kadm_cluster_info(struct kadm *k)
{
	struct kmq_response *r;
	json_t *doc;
	int ret;

	ret = kadm_call_ns(k, KMQ_REQ_GET_BROKER_CLUSTER_INFO, NULL, 0, &r);
	if (ret) {
		kmq_response_free(r);
		return NULL;
	}
	doc = kadm_resp_json(k, r, "GET_BROKER_CLUSTER_INFO (106)");
	kmq_response_free(r);
	if (doc && (!json_is_object(json_object_get(doc, "brokerAddrTable")) ||
		    !json_is_object(json_object_get(doc, "clusterAddrTable")))) {
		kadm_seterr(k, "%s: %s", "GET_BROKER_CLUSTER_INFO (106)",
			    "no brokerAddrTable or clusterAddrTable in the answer");
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

static int kadm_broker_cmp(const void *a, const void *b)
{
	const struct kadm_broker *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->addr, y->addr);
}

static void kadm_broker_fill(struct kadm_broker *b, const char *cluster,
			     const char *name, const char *addr)
{
	snprintf(b->cluster, sizeof(b->cluster), "%s", cluster ? cluster : "");
	snprintf(b->name, sizeof(b->name), "%s", name ? name : "");
	snprintf(b->addr, sizeof(b->addr), "%s", addr);
	if (name && *name)
		snprintf(b->where, sizeof(b->where), "broker %s (%s)", name,
			 addr);
	else
		snprintf(b->where, sizeof(b->where), "broker %s", addr);
}

json_t *kadm_result_json(const struct kadm_broker *b, int ret,
			 const char *err)
{
	return json_pack("{s:s, s:s, s:b, s:s?}", "brokerName", b->name,
			 "addr", b->addr, "ok", !ret, "error",
			 ret ? err : NULL);
}

void kadm_broker_at(struct kadm_broker *b, const char *addr)
{
	kadm_broker_fill(b, NULL, NULL, addr);
}

/* Add the master of broker @name (from brokerAddrTable) to @v. */
static void kadm_add_master(json_t *brokers, const char *name,
			    struct kadm_broker *v, int *n)
{
	json_t *d = json_object_get(brokers, name);
	json_t *addr = json_object_get(json_object_get(d, "brokerAddrs"), "0");
	json_t *cl = json_object_get(d, "cluster");

	if (!json_is_string(addr))
		return;
	kadm_broker_fill(&v[(*n)++], json_string_value(cl), name,
			 json_string_value(addr));
}

int kadm_masters(struct kadm *k, const char *cluster,
		 struct kadm_broker **out)
{
	json_t *info = kadm_cluster_info(k), *brokers, *clusters, *names, *v;
	struct kadm_broker *bv;
	const char *key;
	size_t i;
	int n = 0;

	*out = NULL;
	if (!info)
		return -1;
	brokers = json_object_get(info, "brokerAddrTable");
	clusters = json_object_get(info, "clusterAddrTable");
	bv = calloc(json_object_size(brokers) + 1, sizeof(*bv));
	if (!bv) {
		json_decref(info);
		kadm_seterr(k, "out of memory");
		return -1;
	}
	if (cluster) {
		names = json_object_get(clusters, cluster);
		if (!json_is_array(names)) {
			char known[512] = "";
			size_t used = 0;

			json_object_foreach(clusters, key, v) {
				used += snprintf(known + used,
						 sizeof(known) - used, "%s%s",
						 used ? ", " : "", key);
				if (used >= sizeof(known))
					break;
			}
			kadm_seterr(k,
				    "cluster '%s' is not known to the name server (clusters: %s)",
				    cluster, used ? known : "none");
			json_decref(info);
			free(bv);
			return -1;
		}
		json_array_foreach(names, i, v)
			if (json_is_string(v) && n < (int)json_object_size(brokers))
				kadm_add_master(brokers, json_string_value(v),
						bv, &n);
	} else {
		json_object_foreach(brokers, key, v)
			kadm_add_master(brokers, key, bv, &n);
	}
	json_decref(info);
	if (!n) {
		if (cluster)
			kadm_seterr(k, "cluster '%s' has no master broker registered",
				    cluster);
		else
			kadm_seterr(k, "no master broker is registered with the name server");
		free(bv);
		return -1;
	}
	qsort(bv, n, sizeof(*bv), kadm_broker_cmp);
	*out = bv;
	return n;
}

int kadm_route(struct kadm *k, const char *topic, struct kmq_topic_route **out)
{
	struct kmq_client *c = kadm_client(k);
	int ret;

	*out = NULL;
	if (!c)
		return -1;
	ret = kmq_client_topic_route(c, topic, out);
	if (!ret)
		return 0;
	kadm_seterr(k, "GET_ROUTEINFO_BY_TOPIC (105) to name server %s: %s",
		    k->namesrv, kmq_errmsg()[0] ? kmq_errmsg() :
		    kmq_strerror(ret));
	return -1;
}

int kadm_route_masters(struct kadm *k, const struct kmq_topic_route *r,
		       struct kadm_broker **out)
{
	struct kadm_broker *bv = calloc(r->nbrokers + 1, sizeof(*bv));
	unsigned int i, j;
	int n = 0;

	*out = NULL;
	if (!bv) {
		kadm_seterr(k, "out of memory");
		return -1;
	}
	for (i = 0; i < r->nbrokers; i++) {
		const struct kmq_broker_data *b = &r->brokers[i];

		for (j = 0; j < b->naddrs; j++)
			if (b->addrs[j].id == 0)
				break;
		if (j == b->naddrs)
			continue;
		kadm_broker_fill(&bv[n++], b->cluster, b->name,
				 b->addrs[j].addr);
	}
	if (!n) {
		kadm_seterr(k, "the route has no master broker");
		free(bv);
		return -1;
	}
	qsort(bv, n, sizeof(*bv), kadm_broker_cmp);
	*out = bv;
	return n;
}

int kadm_targets(struct kadm *k, struct kadm_broker **out)
{
	const char *addr, *cluster;
	int ret, n;

	*out = NULL;
	ret = kadm_arg_addr(k, 'b', &addr);
	if (!ret)
		ret = kadm_arg_name(k, 'c', &cluster);
	if (ret)
		return -ret;
	if (addr) {
		*out = calloc(1, sizeof(**out));
		if (!*out) {
			kadm_fail(k, "out of memory");
			return -KADM_EXIT_FAIL;
		}
		kadm_broker_at(*out, addr);
		return 1;
	}
	if (!cluster)
		return -kadm_usage_err(k, "give -b BROKER_ADDR or -c CLUSTER");
	n = kadm_masters(k, cluster, out);
	if (n < 0) {
		kadm_fail_err(k);
		return -KADM_EXIT_FAIL;
	}
	return n;
}
