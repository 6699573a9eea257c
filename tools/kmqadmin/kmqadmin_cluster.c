// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_cluster.c - the cluster and broker subcommands: clusterList
 * (the name servers' cluster layout, 106, with each broker's runtime
 * figures, 28) and brokerStatus (28 of -b or of every master of -c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kmqadmin.h"

/* GET_BROKER_RUNTIME_INFO (28) of @b: its "table", or NULL (@k->err). */
static json_t *kadm_runtime(struct kadm *k, const struct kadm_broker *b)
{
	struct kmq_response *resp;
	json_t *doc, *tab = NULL;

	if (kadm_call(k, b->addr, b->where, KMQ_REQ_GET_BROKER_RUNTIME_INFO,
		      NULL, 0, NULL, 0, &resp)) {
		kmq_response_free(resp);
		return NULL;
	}
	doc = kadm_resp_json(k, resp, "GET_BROKER_RUNTIME_INFO (28)");
	kmq_response_free(resp);
	if (doc) {
		tab = json_incref(json_object_get(doc, "table"));
		if (!json_is_object(tab)) {
			json_decref(tab);
			tab = NULL;
			kadm_seterr(k, "GET_BROKER_RUNTIME_INFO (28) to %s: no table in the answer",
				    b->where);
		}
	}
	json_decref(doc);
	return tab;
}

static const char *kadm_kv(json_t *tab, const char *key)
{
	json_t *v = json_object_get(tab, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- clusterList ----------------------------------------------------------- */

struct kadm_node {
	struct kadm_broker b;
	int64_t id;
};

static int kadm_node_cmp(const void *a, const void *b)
{
	const struct kadm_node *x = a, *y = b;
	int c = strcmp(x->b.cluster, y->b.cluster);

	if (!c)
		c = strcmp(x->b.name, y->b.name);
	return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* Every broker address of the cluster info (of @cluster if not NULL). */
static int kadm_nodes(struct kadm *k, json_t *info, const char *cluster,
		      struct kadm_node **out)
{
	json_t *brokers = json_object_get(info, "brokerAddrTable"), *d, *a;
	struct kadm_node *v = NULL;
	const char *name, *id;
	int n = 0;

	json_object_foreach(brokers, name, d) {
		const char *cl = json_string_value(json_object_get(d, "cluster"));

		if (cluster && (!cl || strcmp(cl, cluster)))
			continue;
		json_object_foreach(json_object_get(d, "brokerAddrs"), id, a) {
			struct kadm_node *nv = realloc(v, (n + 1) * sizeof(*v));

			if (!nv || !json_is_string(a))
				break;
			v = nv;
			memset(&v[n], 0, sizeof(v[n]));
			snprintf(v[n].b.cluster, sizeof(v[n].b.cluster), "%s",
				 cl ? cl : "");
			snprintf(v[n].b.name, sizeof(v[n].b.name), "%s", name);
			snprintf(v[n].b.addr, sizeof(v[n].b.addr), "%s",
				 json_string_value(a));
			snprintf(v[n].b.where, sizeof(v[n].b.where),
				 "broker %s (%s)", name, v[n].b.addr);
			v[n].id = strtoll(id, NULL, 10);
			n++;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), kadm_node_cmp);
	*out = v;
	return n;
}

/* The first of the three rates "<10 s> <1 min> <10 min>". */
static double kadm_rate(json_t *tab, const char *key)
{
	const char *s = kadm_kv(tab, key);

	return s ? strtod(s, NULL) : 0;
}

static int kadm_cluster_list(struct kadm *k)
{
	struct kadm_node *v = NULL;
	struct kadm_table *t;
	const char *cluster;
	json_t *info, *doc, *arr;
	int n, i, failed = 0, ret;
	uint64_t now = kadm_now_ms();

	ret = kadm_arg_name(k, 'c', &cluster);
	if (ret)
		return ret;
	info = kadm_cluster_info(k);
	if (!info)
		return kadm_fail_err(k);
	if (cluster && !json_object_get(json_object_get(info,
							"clusterAddrTable"),
					cluster)) {
		json_decref(info);
		return kadm_fail(k, "cluster '%s' is not known to the name server %s",
				 cluster, k->namesrv);
	}
	n = kadm_nodes(k, info, cluster, &v);
	json_decref(info);
	t = kadm_table_new(9, "Cluster Name", "Broker Name", ">BID", "Addr",
			   "Version", ">InTPS", ">OutTPS", ">Hour", ">SPACE");
	doc = json_pack("{s:[]}", "brokers");
	arr = json_object_get(doc, "brokers");
	for (i = 0; i < n; i++) {
		json_t *tab = kadm_runtime(k, &v[i].b), *row;
		const char *ver = kadm_kv(tab, "brokerVersionDesc");
		const char *earliest = kadm_kv(tab, "earliestMessageTimeStamp");
		const char *space = kadm_kv(tab, "commitLogDiskRatio");
		int64_t e = earliest ? strtoll(earliest, NULL, 10) : 0;
		double hours = e > 0 && (uint64_t)e <= now ?
			       (now - e) / 3600000.0 : 0;

		if (!tab) {
			failed++;
			kadm_fail_err(k);
		}
		kadm_cell(t, "%s", v[i].b.cluster);
		kadm_cell(t, "%s", v[i].b.name);
		kadm_cell(t, "%" PRId64, v[i].id);
		kadm_cell(t, "%s", v[i].b.addr);
		kadm_cell(t, "%s", ver ? ver : "-");
		kadm_cell(t, "%.2f", kadm_rate(tab, "putTps"));
		kadm_cell(t, "%.2f", kadm_rate(tab, "getTransferedTps"));
		kadm_cell(t, "%.2f", hours);
		kadm_cell(t, "%s", space ? space : "-");
		row = json_pack("{s:s, s:s, s:I, s:s, s:b}",
				"cluster", v[i].b.cluster,
				"brokerName", v[i].b.name,
				"brokerId", (json_int_t)v[i].id,
				"addr", v[i].b.addr, "ok", !!tab);
		if (tab)
			json_object_set_new(row, "runtime", tab);
		else
			json_object_set_new(row, "error", json_string(k->err));
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
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- brokerStatus ---------------------------------------------------------- */

static int kadm_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int kadm_broker_status(struct kadm *k)
{
	struct kadm_broker *bv;
	struct kadm_table *t;
	json_t *doc, *all;
	int n, i, failed = 0;

	n = kadm_targets(k, &bv);
	if (n < 0)
		return -n;
	t = n > 1 ? kadm_table_new(3, "Broker Addr", "Key", "Value") :
		    kadm_table_new(2, "Key", "Value");
	doc = json_pack("{s:{}}", "brokers");
	all = json_object_get(doc, "brokers");
	for (i = 0; i < n; i++) {
		json_t *tab = kadm_runtime(k, &bv[i]), *v;
		const char **keys;
		const char *key;
		size_t nk = 0, j;

		if (!tab) {
			failed++;
			kadm_fail_err(k);
			continue;
		}
		keys = calloc(json_object_size(tab) + 1, sizeof(*keys));
		json_object_foreach(tab, key, v)
			if (keys)
				keys[nk++] = key;
		if (keys)
			qsort(keys, nk, sizeof(*keys), kadm_key_cmp);
		for (j = 0; j < nk; j++) {
			if (n > 1)
				kadm_cell(t, "%s", bv[i].addr);
			kadm_cell(t, "%s", keys[j]);
			kadm_cell(t, "%s", kadm_kv(tab, keys[j]) ?
				  kadm_kv(tab, keys[j]) : "");
		}
		free(keys);
		json_object_set_new(all, bv[i].addr, tab);
	}
	if (k->json)
		kadm_json_print(doc);
	else if (failed < n)
		kadm_table_print(t, stdout);
	if (!k->json)
		json_decref(doc);
	kadm_table_free(t);
	free(bv);
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- the table ------------------------------------------------------------- */

static const struct kadm_opt kadm_cluster_list_opts[] = {
	{ 'c', "clusterName", "NAME", false, "only this cluster" },
	{ 0 }
};

static const struct kadm_opt kadm_broker_status_opts[] = {
	{ 'b', "brokerAddr", "ADDR", false,
	  "this broker (host:port); wins over -c" },
	{ 'c', "clusterName", "NAME", false, "every master of this cluster" },
	{ 0 }
};

const struct kadm_cmd kadm_cluster_cmds[] = {
	{ "clusterList", "List the clusters, their brokers and figures",
	  kadm_cluster_list_opts, kadm_cluster_list },
	{ "brokerStatus", "Fetch a broker's runtime status",
	  kadm_broker_status_opts, kadm_broker_status },
	{ NULL }
};
