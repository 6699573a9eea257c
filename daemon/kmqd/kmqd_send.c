// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_send.c - producers' sends: SEND_MESSAGE (10, named fields),
 * SEND_MESSAGE_V2 (310, fields a..n) and SEND_BATCH_MESSAGE (320). A send
 * is answered only after the store accepted it under the flush policy:
 * SUCCESS, or FLUSH_DISK_TIMEOUT when a SYNC_FLUSH sync did not complete
 * in time (the message is stored). Parked pulls of the queue are woken.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_endian.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

/* SEND_MESSAGE_V2 shortens the field names of SEND_MESSAGE to letters. */
static const char * const kmqd_v2_names[][2] = {
	{ "producerGroup", "a" }, { "topic", "b" }, { "defaultTopic", "c" },
	{ "defaultTopicQueueNums", "d" }, { "queueId", "e" },
	{ "sysFlag", "f" }, { "bornTimestamp", "g" }, { "flag", "h" },
	{ "properties", "i" }, { "reconsumeTimes", "j" }, { "unitMode", "k" },
	{ "maxReconsumeTimes", "l" }, { "batch", "m" }, { "brokerName", "n" },
};

static const char *kmqd_send_key(const struct kmq_rmt_cmd *req,
				 const char *name)
{
	unsigned int i;

	if (req->code != KMQ_REQ_SEND_MESSAGE_V2 &&
	    req->code != KMQ_REQ_SEND_BATCH_MESSAGE)
		return name;
	for (i = 0; i < ARRAY_SIZE(kmqd_v2_names); i++)
		if (!strcmp(kmqd_v2_names[i][0], name))
			return kmq_rmt_ext(req, "b") ? kmqd_v2_names[i][1] :
			       name;
	return name;
}

static int kmqd_send_i64(const struct kmq_rmt_cmd *req, const char *name,
			 int64_t def, int64_t *out)
{
	int ret = kmq_rmt_ext_i64(req, kmqd_send_key(req, name), out);

	if (ret == -ENOENT) {
		*out = def;
		return 0;
	}
	return ret;
}

/* BORNHOST from the connection's peer ("ip:port"). */
static void kmqd_peer_host(struct kmqd_conn *c, struct kmq_host *h)
{
	const char *peer = kmqd_conn_peer(c);
	const char *colon = strrchr(peer, ':');
	char ip[64];
	size_t n;

	memset(h, 0, sizeof(*h));
	if (!colon)
		return;
	n = colon - peer;
	if (n >= sizeof(ip))
		return;
	memcpy(ip, peer, n);
	ip[n] = '\0';
	h->port = strtoul(colon + 1, NULL, 10);
	if (inet_pton(AF_INET, ip, h->addr) == 1)
		return;
	if (inet_pton(AF_INET6, ip, h->addr) == 1)
		h->v6 = true;
}

/* kmqd_store_put() - append (waiting for SYNC_FLUSH) and wake pulls. */
int kmqd_store_put(struct kmq_msg *m, struct kmq_append_result *res)
{
	int ret = kmqd_st_append(kmqd_brk->store, m, res);

	if (ret >= 0)
		kmqd_pull_wake(m->topic, m->queue_id);
	return ret;
}

static int kmqd_send_error_code(int err)
{
	switch (err) {
	case -KMQ_EMSGSIZE:
	case -KMQ_EBADPROPS:
	case -KMQ_EBADTOPIC:
		return KMQ_RESP_MESSAGE_ILLEGAL;
	case -KMQ_ENOTOPIC:
		return KMQ_RESP_TOPIC_NOT_EXIST;
	case -KMQ_ECLOSED:
		return KMQ_RESP_SERVICE_NOT_AVAILABLE;
	default:
		return KMQ_RESP_SYSTEM_ERROR;
	}
}

/*
 * Common header fields of a send into @m; replies and returns false when
 * one is missing or wrong.
 */
static bool kmqd_send_header(struct kmqd_conn *c, struct kmq_rmt_cmd *req,
			     struct kmq_msg *m)
{
	int64_t qid, sys, born, flag, recons, dq, maxq;
	struct kmq_topic_info ti;
	const char *topic;
	int ret;

	topic = kmq_rmt_ext(req, kmqd_send_key(req, "topic"));
	if (!topic || !*topic) {
		kmqd_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			   "the topic field is missing");
		return false;
	}
	if (kmqd_send_i64(req, "queueId", -1, &qid) ||
	    kmqd_send_i64(req, "sysFlag", 0, &sys) ||
	    kmqd_send_i64(req, "bornTimestamp", 0, &born) ||
	    kmqd_send_i64(req, "flag", 0, &flag) ||
	    kmqd_send_i64(req, "reconsumeTimes", 0, &recons) ||
	    kmqd_send_i64(req, "defaultTopicQueueNums", 4, &dq)) {
		kmqd_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			   "a numeric field of the send header is not a number");
		return false;
	}
	if (strlen(topic) > KMQ_TOPIC_MAX_V1) {
		kmqd_replyf(c, req, KMQ_RESP_MESSAGE_ILLEGAL,
			    "topic name longer than %d bytes", KMQ_TOPIC_MAX_V1);
		return false;
	}
	/* UPDATE_BROKER_CONFIG (25) may change these meanwhile. */
	maxq = __atomic_load_n(&kmqd_brk->opts.default_queues, __ATOMIC_RELAXED);
	if (dq < 1 || dq > maxq)
		dq = maxq;
	ret = kmqd_topic_ensure(topic, dq,
				__atomic_load_n(&kmqd_brk->opts.auto_create_topic,
						__ATOMIC_RELAXED),
				&ti);
	if (ret) {
		kmqd_replyf(c, req, kmqd_send_error_code(ret),
			    ret == -KMQ_ENOTOPIC ?
			    "topic[%s] not exist, apply first please!" :
			    "topic[%s]: %s", topic, kmqd_st_errmsg());
		return false;
	}
	if (!(ti.perm & KMQ_PERM_WRITE)) {
		kmqd_replyf(c, req, KMQ_RESP_NO_PERMISSION,
			    "the topic[%s] sending message is forbidden", topic);
		return false;
	}
	if (qid < 0 && ti.write_queues) {
		/* RocketMQ picks a queue for a negative queueId. */
		qid = (uint64_t)born % ti.write_queues;
	} else if (qid < 0 || qid >= ti.write_queues) {
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "request queueId[%lld] is illegal, topic %s has %u write queues",
			    (long long)qid, topic, ti.write_queues);
		return false;
	}
	memset(m, 0, sizeof(*m));
	m->topic = topic;
	m->queue_id = qid;
	m->sys_flag = sys;
	m->born_ts = born;
	m->flag = flag;
	m->reconsume_times = recons;
	kmqd_peer_host(c, &m->born_host);
	return true;
}

static void kmqd_send_reply(struct kmqd_conn *c, struct kmq_rmt_cmd *req,
			    int ret, const struct kmq_append_result *res,
			    uint32_t n, uint32_t qid)
{
	struct kmq_rmt_cmd resp;
	char *ids = NULL;
	uint32_t i;

	if (ret < 0) {
		kmqd_replyf(c, req, kmqd_send_error_code(ret), "%s",
			    kmqd_st_errmsg());
		return;
	}
	if (req->flag & KMQ_RMT_FLAG_ONEWAY)
		return;
	if (kmq_rmt_response(&resp, req, ret == KMQ_APPEND_FLUSH_TIMEOUT ?
			     KMQ_RESP_FLUSH_DISK_TIMEOUT : KMQ_RESP_SUCCESS,
			     NULL))
		return;
	ids = calloc(n, KMQ_MSGID_MAX + 1);
	if (ids) {
		for (i = 0; i < n; i++) {
			if (i)
				strcat(ids, ",");
			strcat(ids, res[i].msg_id);
		}
		kmq_rmt_set_ext(&resp, "msgId", ids);
	}
	kmq_rmt_set_extf(&resp, "queueId", "%u", qid);
	kmq_rmt_set_extf(&resp, "queueOffset", "%llu",
			 (unsigned long long)res[0].queue_offset);
	kmqd_conn_reply(c, &resp, NULL, 0);
	kmq_rmt_cmd_free(&resp);
	free(ids);
}

/*
 * A send waiting for its group commit: answered on its connection's loop
 * once the store's flusher says the records are durable.
 */
struct kmqd_send_ack {
	struct kmqd_conn *conn;		/* referenced */
	struct kmq_rmt_cmd req;		/* code, opaque, flag, version, ser */
	uint32_t qid;
	uint32_t n;
	int status;
	struct kmq_append_result res[];
};

static void kmqd_send_ack_run(void *arg)
{
	struct kmqd_send_ack *a = arg;

	if (kmqd_conn_is_open(a->conn))
		kmqd_send_reply(a->conn, &a->req, a->status, a->res, a->n,
				a->qid);
	kmqd_conn_put(a->conn);
	free(a);
}

static void kmqd_send_ack_done(void *arg, int status)
{
	struct kmqd_send_ack *a = arg;

	a->status = status;
	if (kmqd_loop_post(kmqd_conn_loop(a->conn), kmqd_send_ack_run, a)) {
		kmqd_conn_put(a->conn);
		free(a);
	}
}

/*
 * Store @n messages of one queue and answer the send: at once, or from
 * the group commit's completion under SYNC_FLUSH. Wakes the queue's pulls.
 */
static void kmqd_send_store(struct kmqd_conn *c, struct kmq_rmt_cmd *req,
			    struct kmq_msg *m, uint32_t n, uint32_t qid)
{
	struct kmqd_send_ack *a = calloc(1, sizeof(*a) + n * sizeof(a->res[0]));
	int ret;

	if (!a) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	a->conn = c;
	a->req.code = req->code;
	a->req.opaque = req->opaque;
	a->req.flag = req->flag;
	a->req.version = req->version;
	a->req.ser = req->ser;
	a->qid = qid;
	a->n = n;
	kmqd_conn_get(c);
	ret = kmqd_st_append_async(kmqd_brk->store, m, n, a->res,
				   kmqd_send_ack_done, a);
	if (ret >= 0)
		kmqd_pull_wake(m[0].topic, m[0].queue_id);
	if (ret == KMQ_APPEND_PENDING)
		return;
	kmqd_send_reply(c, req, ret, a->res, n, qid);
	kmqd_conn_put(c);
	free(a);
}

void kmqd_send_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	static __thread char delayed[KMQ_PROPS_MAX + 1];
	struct kmq_msg m;
	const char *props;
	uint32_t qid;
	int ret;

	if (!kmqd_send_header(c, req, &m))
		return;
	if (req->body_len > kmqd_brk->opts.max_message_size) {
		kmqd_replyf(c, req, KMQ_RESP_MESSAGE_ILLEGAL,
			    "message body size %u exceeds maxMessageSize %u",
			    req->body_len, kmqd_brk->opts.max_message_size);
		return;
	}
	props = kmq_rmt_ext(req, kmqd_send_key(req, "properties"));
	m.body = req->body;
	m.body_len = req->body_len;
	m.props = props;
	m.props_len = props ? strlen(props) : 0;
	qid = m.queue_id;
	ret = kmqd_delay_redirect(&m, delayed);
	if (ret)
		kmqd_send_reply(c, req, ret, NULL, 1, qid);
	else
		kmqd_send_store(c, req, &m, 1, qid);
}

/*
 * SEND_BATCH_MESSAGE body: items of
 * [be32 size][be32 magic][be32 crc][be32 flag][be32 bodyLen][body]
 * [be16 propLen][props], all to the header's topic and queue.
 */
void kmqd_send_batch_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const uint8_t *p = req->body, *end = req->body + req->body_len;
	struct kmq_msg base, *msgs = NULL;
	uint32_t n = 0, cap = 0;

	if (!kmqd_send_header(c, req, &base))
		return;
	while (p < end) {
		uint32_t size, blen, plen;
		struct kmq_msg *m;

		if (end - p < 20)
			goto bad;
		size = kmq_get_be32(p);
		blen = kmq_get_be32(p + 16);
		if (size < 22 || size > (uint32_t)(end - p) ||
		    blen > size - 22)
			goto bad;
		plen = kmq_get_be16(p + 20 + blen);
		if (20 + blen + 2 + plen != size)
			goto bad;
		if (blen > kmqd_brk->opts.max_message_size) {
			kmqd_replyf(c, req, KMQ_RESP_MESSAGE_ILLEGAL,
				    "batch item %u: body of %u bytes exceeds maxMessageSize %u",
				    n, blen, kmqd_brk->opts.max_message_size);
			goto out;
		}
		if (n == cap) {
			struct kmq_msg *nm;

			cap = cap ? cap * 2 : 16;
			nm = realloc(msgs, cap * sizeof(*nm));
			if (!nm) {
				kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR,
					   "out of memory");
				goto out;
			}
			msgs = nm;
		}
		m = &msgs[n++];
		*m = base;
		m->flag = kmq_get_be32(p + 12);
		m->body = p + 20;
		m->body_len = blen;
		m->props = (const char *)p + 22 + blen;
		m->props_len = plen;
		p += size;
	}
	if (!n) {
		kmqd_reply(c, req, KMQ_RESP_MESSAGE_ILLEGAL, "empty batch");
		goto out;
	}
	kmqd_send_store(c, req, msgs, n, base.queue_id);
	goto out;
bad:
	kmqd_replyf(c, req, KMQ_RESP_MESSAGE_ILLEGAL,
		    "batch body malformed at item %u (byte %zu)", n,
		    (size_t)(p - req->body));
out:
	free(msgs);
}
