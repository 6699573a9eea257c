// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_lock.c - queue locks at a broker, the requests of an orderly
 * consumer: LOCK_BATCH_MQ (41) locks or renews a set of queues for this
 * client and answers the ones it holds now ({"lockOKMQSet":[...]}),
 * UNLOCK_BATCH_MQ (42) releases them. Both carry the same JSON body:
 * {"consumerGroup","clientId","mqSet":[{"topic","brokerName","queueId"}]}.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"
#include "kmqd_admin.h"

/* The body of 41 and 42 for @n queues (free()), or NULL. */
static char *kmqc_lock_body(const char *group, const char *client_id,
			    const struct kmq_mq *mqs, unsigned int n)
{
	json_t *doc, *set;
	unsigned int i;
	char *s = NULL;

	doc = json_pack("{s:s, s:s, s:[]}", "consumerGroup", group,
			"clientId", client_id, "mqSet");
	set = json_object_get(doc, "mqSet");
	for (i = 0; set && i < n; i++)
		if (json_array_append_new(set, json_pack("{s:s, s:s, s:i}",
							 "topic", mqs[i].topic,
							 "brokerName",
							 mqs[i].broker_name,
							 "queueId",
							 mqs[i].queue_id)))
			goto out;
	if (set)
		s = json_dumps(doc, JSON_COMPACT);
out:
	json_decref(doc);
	return s;
}

int kmqc_lock_parse(const void *body, size_t len, const struct kmq_mq *mqs,
		    unsigned int n, bool *locked)
{
	json_t *doc, *set, *e;
	unsigned int i, got = 0;
	size_t k;

	memset(locked, 0, n * sizeof(*locked));
	doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	set = json_object_get(doc, "lockOKMQSet");
	if (!json_is_array(set)) {
		json_decref(doc);
		return kmqc_fail(-EPROTO, "lock answer without lockOKMQSet");
	}
	json_array_foreach(set, k, e) {
		const char *t = json_string_value(json_object_get(e, "topic"));
		const char *b = json_string_value(json_object_get(e,
								  "brokerName"));
		json_t *q = json_object_get(e, "queueId");

		if (!t || !b || !json_is_integer(q))
			continue;
		for (i = 0; i < n; i++) {
			if (!locked[i] && mqs[i].queue_id ==
			    json_integer_value(q) &&
			    !strcmp(mqs[i].topic, t) &&
			    !strcmp(mqs[i].broker_name, b)) {
				locked[i] = true;
				got++;
				break;
			}
		}
	}
	json_decref(doc);
	return got;
}

/* 41 or 42 of @mqs (one broker) to its master; *@f: the answer. */
static int kmqc_lock_call(struct kmq_client *c, int code, const char *group,
			  const struct kmq_mq *mqs, unsigned int n,
			  bool oneway, struct kmqc_frame **f)
{
	char addr[KMQ_ADDR_MAX + 1];
	struct kmq_rmt_cmd req;
	char *body;
	int ret;

	if (!n)
		return kmqc_fail(-EINVAL, "no queue to lock");
	ret = kmqc_broker_addr(c, mqs[0].broker_name, addr, sizeof(addr));
	if (ret)
		return ret;
	body = kmqc_lock_body(group, c->id, mqs, n);
	if (!body)
		return kmqc_fail(-ENOMEM, "lock body");
	ret = kmqc_req(c, &req, code);
	if (!ret && oneway)
		ret = kmqc_call_oneway(c, addr, &req, body, strlen(body));
	else if (!ret)
		ret = kmqc_call_ok(c, addr, &req, body, strlen(body), 0, f,
				   code == KMQ_REQ_LOCK_BATCH_MQ ? "lock queues" :
				   "unlock queues");
	kmq_rmt_cmd_free(&req);
	free(body);
	return ret;
}

int kmqc_lock_batch(struct kmq_client *c, const char *group,
		    const struct kmq_mq *mqs, unsigned int n, bool *locked)
{
	struct kmqc_frame *f = NULL;
	int ret;

	ret = kmqc_lock_call(c, KMQ_REQ_LOCK_BATCH_MQ, group, mqs, n, false,
			     &f);
	if (ret)
		return ret;
	ret = kmqc_lock_parse(f->cmd.body, f->cmd.body_len, mqs, n, locked);
	kmqc_frame_free(f);
	return ret;
}

int kmqc_unlock_batch(struct kmq_client *c, const char *group,
		      const struct kmq_mq *mqs, unsigned int n, bool oneway)
{
	return kmqc_lock_call(c, KMQ_REQ_UNLOCK_BATCH_MQ, group, mqs, n,
			      oneway, NULL);
}
