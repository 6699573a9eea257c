// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_rebalance.c - which queues of a topic a consumer of a clustering
 * group owns: the topic's readable queues (sorted by topic, broker, queue
 * id) and the group's consumer ids (GET_CONSUMER_LIST_BY_GROUP 38,
 * sorted) split by the strategy every consumer runs alike:
 *
 *   averagely: consumer i of c gets a contiguous block; with q queues the
 *     first q % c consumers get q / c + 1, the others q / c (10 over 3:
 *     4, 3, 3); with q <= c, consumer i < q gets queue i, the rest none
 *   averagely by circle: queue j goes to consumer j % c
 *
 * Broadcasting consumers own every queue.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"

int kmqc_cid_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

int kmqc_allocate(enum kmq_allocate strategy, unsigned int nmq,
		  char *const *cids, unsigned int ncid, const char *me,
		  unsigned int *idx)
{
	unsigned int i, me_i, mod, size, start, n = 0;

	for (me_i = 0; me_i < ncid; me_i++)
		if (!strcmp(cids[me_i], me))
			break;
	if (me_i == ncid)
		return -ENOENT;
	if (!nmq)
		return 0;
	if (strategy == KMQ_ALLOCATE_AVERAGELY_BY_CIRCLE) {
		for (i = me_i; i < nmq; i += ncid)
			idx[n++] = i;
		return n;
	}
	mod = nmq % ncid;
	if (nmq <= ncid)
		size = 1;
	else
		size = nmq / ncid + (mod && me_i < mod ? 1 : 0);
	start = mod && me_i < mod ? me_i * size : me_i * size + mod;
	for (i = 0; i < size && start + i < nmq; i++)
		idx[n++] = start + i;
	return n;
}

void kmqc_ids_free(char **ids, int n)
{
	while (n > 0)
		free(ids[--n]);
	free(ids);
}

/* Parse {"consumerIdList": [...]} into sorted copies. */
static int kmqc_ids_parse(const struct kmqc_frame *f, char ***out)
{
	json_t *doc, *list, *id;
	char **ids;
	size_t i;
	int n = 0;

	doc = json_loadb((const char *)f->cmd.body, f->cmd.body_len, 0, NULL);
	list = json_object_get(doc, "consumerIdList");
	if (!json_is_array(list)) {
		json_decref(doc);
		return kmqc_fail(-EPROTO, "consumer list: no consumerIdList");
	}
	ids = calloc(json_array_size(list) + 1, sizeof(*ids));
	if (!ids) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_array_foreach(list, i, id) {
		if (!json_is_string(id))
			continue;
		ids[n] = strdup(json_string_value(id));
		if (!ids[n]) {
			kmqc_ids_free(ids, n);
			json_decref(doc);
			return -ENOMEM;
		}
		n++;
	}
	json_decref(doc);
	qsort(ids, n, sizeof(*ids), kmqc_cid_cmp);
	*out = ids;
	return n;
}

int kmqc_consumer_ids(struct kmq_client *c, const char *group,
		      const struct kmqc_route *r, char ***ids)
{
	const struct kmq_topic_route *tr = r->tr;
	struct kmq_rmt_cmd req;
	struct kmqc_frame *f;
	unsigned int i;
	int ret = kmqc_fail(-ENOENT, "topic %s has no broker", r->topic);

	/* Every broker knows the group; ask them in turn until one answers. */
	for (i = 0; i < tr->nbrokers; i++) {
		if (!tr->brokers[i].naddrs)
			continue;
		ret = kmqc_req(c, &req, KMQ_REQ_GET_CONSUMER_LIST_BY_GROUP);
		if (!ret)
			ret = kmqc_exts(&req, "consumerGroup", group, NULL);
		if (!ret)
			ret = kmqc_call_ok(c, tr->brokers[i].addrs[0].addr,
					   &req, NULL, 0, 0, &f,
					   "consumer list");
		kmq_rmt_cmd_free(&req);
		if (ret)
			continue;
		ret = kmqc_ids_parse(f, ids);
		kmqc_frame_free(f);
		if (ret >= 0)
			return ret;
	}
	return ret;
}

int kmqc_rebalance_topic(struct kmq_client *c, const char *group,
			 const char *topic, enum kmq_message_model model,
			 enum kmq_allocate strategy, struct kmq_mq **out)
{
	struct kmqc_route *r;
	struct kmq_mq *mine;
	unsigned int *idx, i;
	char **ids = NULL;
	int n, ret;

	ret = kmqc_route_get(c, topic, &r);
	if (ret)
		return ret;
	mine = calloc(r->nr + 1, sizeof(*mine));
	idx = calloc(r->nr + 1, sizeof(*idx));
	if (!mine || !idx) {
		ret = -ENOMEM;
		goto out;
	}
	if (model == KMQ_BROADCASTING) {
		memcpy(mine, r->rmqs, r->nr * sizeof(*mine));
		ret = r->nr;
		goto out;
	}
	n = kmqc_consumer_ids(c, group, r, &ids);
	if (n < 0) {
		ret = n;
		goto out;
	}
	ret = kmqc_allocate(strategy, r->nr, ids, n, c->id, idx);
	if (ret == -ENOENT) {
		/* The broker has not seen our heartbeat (yet, or again). */
		kmqc_heartbeat_soon(c);
		ret = kmqc_fail(-ENOENT, "group %s: %s not among %d consumers",
				group, c->id, n);
	}
	for (i = 0; ret > 0 && i < (unsigned int)ret; i++)
		mine[i] = r->rmqs[idx[i]];
	kmqc_ids_free(ids, n);
out:
	free(idx);
	kmqc_route_put(r);
	if (ret < 0) {
		free(mine);
		return ret;
	}
	*out = mine;
	return ret;
}
