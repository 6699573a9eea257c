// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_pull.c - PULL_MESSAGE (11) as both consumers send it, the reading
 * of its response (FOUND, NO_NEW_MSG, NO_MATCHED_MSG, OFFSET_MOVED, each
 * with nextBeginOffset), and the queue offsets a consumer starts from
 * (GET_MAX_OFFSET 30, GET_MIN_OFFSET 31, SEARCH_OFFSET_BY_TIMESTAMP 29).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"

void kmqc_pull_req(struct kmq_client *c, struct kmqc_req *r,
		   const struct kmqc_pull_args *a)
{
	kmqc_req_init(c, r, KMQ_REQ_PULL_MESSAGE);
	kmqc_req_add(r, "consumerGroup", a->group);
	kmqc_req_add(r, "topic", a->mq->topic);
	kmqc_req_add_i64(r, "queueId", a->mq->queue_id);
	kmqc_req_add_i64(r, "queueOffset", a->offset);
	kmqc_req_add_i64(r, "maxMsgNums", a->max_msgs);
	kmqc_req_add_i64(r, "sysFlag", a->sys_flag);
	kmqc_req_add_i64(r, "commitOffset", a->commit_offset);
	kmqc_req_add_i64(r, "suspendTimeoutMillis", a->suspend_ms);
	kmqc_req_add(r, "subscription", a->sub->ntags ? a->sub->expr : "*");
	kmqc_req_add_i64(r, "subVersion", a->sub->version);
	kmqc_req_add(r, "expressionType", "TAG");
}

void kmqc_pulled_free(struct kmqc_pulled *p)
{
	unsigned int i;

	for (i = 0; i < p->n; i++)
		kmqc_msg_free(p->msgs[i]);
	free(p->msgs);
	memset(p, 0, sizeof(*p));
}

int kmqc_pull_parse(const struct kmqc_frame *f, const struct kmq_mq *mq,
		    const struct kmqc_sub *sub, struct kmqc_pulled *out)
{
	unsigned int i, n;
	int got;

	memset(out, 0, sizeof(*out));
	switch (f->cmd.code) {
	case KMQ_RESP_SUCCESS:
		out->status = KMQ_PULL_FOUND;
		break;
	case KMQ_RESP_PULL_NOT_FOUND:
		out->status = KMQ_PULL_NO_NEW_MSG;
		break;
	case KMQ_RESP_PULL_RETRY_IMMEDIATELY:
		out->status = KMQ_PULL_NO_MATCHED_MSG;
		break;
	case KMQ_RESP_PULL_OFFSET_MOVED:
		out->status = KMQ_PULL_OFFSET_ILLEGAL;
		break;
	default:
		return kmqc_fail_resp(&f->cmd, "pull");
	}
	out->next = kmqc_ext_i64(f, "nextBeginOffset", -1);
	out->min = kmqc_ext_i64(f, "minOffset", -1);
	out->max = kmqc_ext_i64(f, "maxOffset", -1);
	if (out->next < 0)
		return kmqc_fail(-EPROTO, "pull of %s/%d: no nextBeginOffset",
				 mq->topic, mq->queue_id);
	if (out->status != KMQ_PULL_FOUND)
		return 0;
	got = kmqc_msgs_decode(f->cmd.body, f->cmd.body_len, mq->broker_name,
			       &out->msgs);
	for (i = 0, n = 0; i < (unsigned int)got; i++) {
		struct kmqc_msg *m = out->msgs[i];

		if (kmqc_sub_match(sub, m->pub.tags)) {
			out->msgs[n++] = m;
		} else {
			kmqc_msg_free(m);
			out->filtered++;
		}
	}
	out->n = n;
	return 0;
}

int kmqc_queue_offset(struct kmq_client *c, const struct kmq_mq *mq,
		      int code, int64_t timestamp, int64_t *out)
{
	char addr[KMQ_ADDR_MAX + 1], qid[16], ts[24];
	struct kmq_rmt_cmd req;
	struct kmqc_frame *f;
	int ret;

	ret = kmqc_broker_addr(c, mq->broker_name, addr, sizeof(addr));
	if (ret)
		return ret;
	ret = kmqc_req(c, &req, code);
	snprintf(qid, sizeof(qid), "%d", mq->queue_id);
	snprintf(ts, sizeof(ts), "%" PRId64, timestamp);
	if (!ret)
		ret = kmqc_exts(&req, "topic", mq->topic, "queueId", qid,
				"timestamp",
				code == KMQ_REQ_SEARCH_OFFSET_BY_TIMESTAMP ?
				ts : NULL, NULL);
	if (!ret)
		ret = kmqc_call_ok(c, addr, &req, NULL, 0, 0, &f,
				   "queue offset");
	kmq_rmt_cmd_free(&req);
	if (ret)
		return ret;
	*out = kmqc_ext_i64(f, "offset", -1);
	kmqc_frame_free(f);
	if (*out < 0)
		return kmqc_fail(-EPROTO, "queue offset of %s/%d: none given",
				 mq->topic, mq->queue_id);
	return 0;
}
