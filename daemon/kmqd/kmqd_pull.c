// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_pull.c - PULL_MESSAGE (11) and long polling.
 *
 * A pull with nothing to return and the suspend flag is parked under its
 * (topic, queue). An append to that queue (on any thread) takes the
 * queue's parked pulls and posts each back to the loop of its connection,
 * which runs the pull again and answers: a parked pull is answered the
 * moment a message arrives, not on a periodic scan. The loops' 250 ms tick
 * answers PULL_NOT_FOUND (19) to pulls whose suspendTimeoutMillis passed.
 *
 * Found records leave by the backend's zero-copy path: on kmq.ko the pull
 * is prepared in the module and its whole frame sent by the module
 * (two system calls a pull); on the userspace store its ranges go by
 * sendfile(). transferMsgByHeap copies them instead.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmq_props.h"
#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

#define KMQD_PARK_BUCKETS	1024
#define KMQD_PULL_TAGS_MAX	64
#define KMQD_SUSPEND_MAX_MS	60000

#define KMQD_PULL_FLAG_COMMIT		0x1
#define KMQD_PULL_FLAG_SUSPEND		0x2
#define KMQD_PULL_FLAG_SUBSCRIPTION	0x4

struct kmqd_pull {
	struct kmqd_conn *conn;		/* referenced */
	char group[256];		/* for the group's pull counts */
	char topic[KMQ_TOPIC_MAX_V1 + 1];
	uint32_t qid;
	int64_t offset;
	uint32_t max_msgs;
	int64_t tags[KMQD_PULL_TAGS_MAX];
	uint32_t ntags;
	bool suspend;
	uint64_t deadline;
	/* What the response needs from the request. */
	int32_t opaque;
	int32_t version;
	enum kmq_rmt_serialize ser;
	struct kmqd_pull *next;
};

static pthread_mutex_t kmqd_park_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmqd_pull *kmqd_parked[KMQD_PARK_BUCKETS];

static uint32_t kmqd_park_bucket(const char *topic, uint32_t qid)
{
	uint32_t h = 2166136261u;

	while (*topic)
		h = (h ^ (uint8_t)*topic++) * 16777619u;
	return (h ^ qid) % KMQD_PARK_BUCKETS;
}

/*
 * kmqd_tags_parse() - "TagA || TagB" into tags codes; "*" or empty: all
 * (n = 0). Return: 0 or -E2BIG.
 */
int kmqd_tags_parse(const char *sub, int64_t *codes, uint32_t max,
		    uint32_t *n)
{
	const char *p = sub;

	*n = 0;
	if (!sub)
		return 0;
	while (*p) {
		const char *end = strstr(p, "||");
		const char *a = p, *b = end ? end : p + strlen(p);

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b - a == 1 && *a == '*') {
			*n = 0;
			return 0;
		}
		if (b > a) {
			if (*n == max)
				return -E2BIG;
			codes[(*n)++] = kmq_tag_hash(a, b - a);
		}
		if (!end)
			break;
		p = end + 2;
	}
	return 0;
}

static void kmqd_pull_free(struct kmqd_pull *p)
{
	kmqd_conn_put(p->conn);
	free(p);
}

/*
 * A range handed to the connection is unpinned once it is sent: a
 * backend's release needs only each range's seg (kmqd_backend.h).
 */
static void kmqd_pull_unpin(void *seg)
{
	struct kmq_range r = { .seg = seg };

	kmqd_st_release(kmqd_brk->store, &r, 1);
}

/*
 * Queue the records: by sendfile() of each range straight from the
 * segment files (each range stays pinned until sent), or, with
 * transferMsgByHeap, ranges in memory (kernel backend) or no memory for
 * the file queue, copied from the ranges into the send buffer.
 * Return: true if the ranges now belong to the connection.
 */
static bool kmqd_pull_send(struct kmqd_pull *p, const struct kmq_rmt_cmd *resp,
			   const struct kmq_read_result *r,
			   const struct kmq_range *ranges)
{
	struct kmqd_file_range fr[KMQD_PULL_MAX_MSGS];
	struct iovec iov[KMQD_PULL_MAX_MSGS];
	uint32_t i, n = r->nranges;

	if (n > ARRAY_SIZE(iov))
		n = ARRAY_SIZE(iov);
	/* A FOUND read: at least one range. */
	if (!__atomic_load_n(&kmqd_brk->opts.transfer_by_heap,
			     __ATOMIC_RELAXED) && ranges[0].fd >= 0) {
		i = 0;
		do {
			fr[i].fd = ranges[i].fd;
			fr[i].off = ranges[i].file_off;
			fr[i].len = ranges[i].len;
			fr[i].release = kmqd_pull_unpin;
			fr[i].arg = ranges[i].seg;
		} while (++i < n);
		if (!kmqd_conn_reply_files(p->conn, resp, fr, n))
			return true;
	}
	for (i = 0; i < n; i++) {
		iov[i].iov_base = (void *)ranges[i].data;
		iov[i].iov_len = ranges[i].len;
	}
	kmqd_conn_replyv(p->conn, resp, iov, n);
	return false;
}

/*
 * A prepared pull travels as its handle and copy flag in the sender's
 * cookie: the connection holds no other memory for it.
 */
static uint64_t kmqd_prepared_cookie(const struct kmqd_prepared *pp)
{
	return pp->handle | (uint64_t)pp->copy << 32;
}

static void kmqd_prepared_of(uint64_t cookie, struct kmqd_prepared *pp)
{
	pp->handle = (uint32_t)cookie;
	pp->body_len = 0;
	pp->copy = cookie >> 32;
}

static int kmqd_prepared_send(void *arg, uint64_t cookie, int sockfd,
			      const void *hdr, uint32_t hdr_len, uint64_t off,
			      uint64_t *sent)
{
	struct kmqd_prepared pp;

	kmqd_prepared_of(cookie, &pp);
	return kmqd_st_pull_send(arg, &pp, sockfd, hdr, hdr_len, off, sent);
}

static void kmqd_prepared_done(void *arg, uint64_t cookie, bool whole)
{
	struct kmqd_prepared pp;

	if (whole)
		return;		/* the backend let go of it once sent */
	kmqd_prepared_of(cookie, &pp);
	kmqd_st_pull_cancel(arg, &pp);
}

/* Queue a prepared pull's frame. Return: true if the connection took it. */
static bool kmqd_pull_send_prepared(struct kmqd_pull *p,
				    const struct kmq_rmt_cmd *resp,
				    const struct kmqd_prepared *pp)
{
	struct kmqd_frame_sender s = {
		.send = kmqd_prepared_send,
		.done = kmqd_prepared_done,
		.arg = kmqd_brk->store,
		.cookie = kmqd_prepared_cookie(pp),
		.body_len = pp->body_len,
		.zero_copy = !pp->copy,
	};

	return !kmqd_conn_reply_sender(p->conn, resp, &s);
}

/*
 * Answer @p; with @ranges or @pp (FOUND), return true if they were handed
 * over to the connection.
 */
static bool kmqd_pull_answer(struct kmqd_pull *p, int code,
			     const struct kmq_read_result *r, int64_t next,
			     const struct kmq_range *ranges,
			     const struct kmqd_prepared *pp)
{
	struct kmq_rmt_cmd req = {
		.code = KMQ_REQ_PULL_MESSAGE,
		.opaque = p->opaque,
		.version = p->version,
		.ser = p->ser,
	}, resp;
	bool taken = false;

	if (kmq_rmt_response(&resp, &req, code, NULL))
		return false;
	kmq_rmt_set_extf(&resp, "nextBeginOffset", "%lld", (long long)next);
	kmq_rmt_set_extf(&resp, "minOffset", "%llu",
			 (unsigned long long)r->min_offset);
	kmq_rmt_set_extf(&resp, "maxOffset", "%llu",
			 (unsigned long long)r->max_offset);
	kmq_rmt_set_ext(&resp, "suggestWhichBrokerId", "0");
	if (pp)
		taken = kmqd_pull_send_prepared(p, &resp, pp);
	else if (ranges && r->nranges)
		taken = kmqd_pull_send(p, &resp, r, ranges);
	else
		kmqd_conn_reply(p->conn, &resp, NULL, 0);
	kmq_rmt_cmd_free(&resp);
	return taken;
}

static void kmqd_park(struct kmqd_pull *p)
{
	uint32_t b = kmqd_park_bucket(p->topic, p->qid);

	pthread_mutex_lock(&kmqd_park_lock);
	p->next = kmqd_parked[b];
	kmqd_parked[b] = p;
	pthread_mutex_unlock(&kmqd_park_lock);
}

/*
 * Look @rq's records up: prepared in the backend when it sends them
 * itself (*@prepared), else as @ranges. A backend out of prepared pulls
 * (-ENOBUFS) is read from instead.
 */
static int kmqd_pull_lookup(const struct kmq_read_req *rq,
			    struct kmq_range *ranges, uint32_t max_ranges,
			    struct kmq_read_result *r,
			    struct kmqd_prepared *pp, bool *prepared)
{
	static atomic_bool warned;
	struct kmqd_store *st = kmqd_brk->store;
	int ret;

	*prepared = false;
	if (kmqd_st_can_prepare(st)) {
		/* UPDATE_BROKER_CONFIG (25) may change it meanwhile. */
		ret = kmqd_st_pull_prepare(st, rq,
					   __atomic_load_n(&kmqd_brk->opts.transfer_by_heap,
							   __ATOMIC_RELAXED),
					   r, pp);
		if (ret != -ENOBUFS) {
			*prepared = !ret && r->count;
			return ret;
		}
		if (!atomic_exchange(&warned, true))
			log_warn("pull %s/%u: %s; copying pulls while the store holds too many",
				 rq->topic, rq->queue_id, kmqd_st_errmsg());
	}
	return kmqd_st_read(st, rq, ranges, max_ranges, r);
}

/*
 * Run a pull; answer it or park it. Frees @p unless parked. @first: a
 * new request (may be parked when empty), or a woken one.
 */
static void kmqd_pull_run(struct kmqd_pull *p)
{
	struct kmq_range ranges[KMQD_PULL_MAX_MSGS];
	struct kmq_read_req rq = {
		.topic = p->topic,
		.queue_id = p->qid,
		.offset = p->offset,
		.max_msgs = p->max_msgs,
		.max_bytes = KMQD_PULL_MAX_BYTES,
		.tags = p->tags,
		.ntags = p->ntags,
	};
	struct kmq_read_result r;
	struct kmqd_prepared pp;
	bool prepared;
	int ret;

	if (!kmqd_conn_is_open(p->conn)) {
		kmqd_pull_free(p);
		return;
	}
	ret = kmqd_pull_lookup(&rq, ranges, ARRAY_SIZE(ranges), &r, &pp,
			       &prepared);
	if (ret) {
		struct kmq_rmt_cmd req = {
			.code = KMQ_REQ_PULL_MESSAGE, .opaque = p->opaque,
			.version = p->version, .ser = p->ser,
		};

		kmqd_replyf(p->conn, &req, ret == -KMQ_ENOTOPIC ?
			    KMQ_RESP_TOPIC_NOT_EXIST : KMQ_RESP_SYSTEM_ERROR,
			    "pull %s/%u: %s", p->topic, p->qid,
			    kmqd_st_errmsg());
		kmqd_pull_free(p);
		return;
	}
	switch (r.status) {
	case KMQ_READ_FOUND:
		kmqd_stats_get(p->group, p->topic, r.count);
		if (kmqd_pull_answer(p, KMQ_RESP_SUCCESS, &r, r.next_offset,
				     prepared ? NULL : ranges,
				     prepared ? &pp : NULL))
			break;
		if (prepared)
			kmqd_st_pull_cancel(kmqd_brk->store, &pp);
		else
			kmqd_st_release(kmqd_brk->store, ranges, r.nranges);
		break;
	case KMQ_READ_NO_MATCH:
		kmqd_pull_answer(p, KMQ_RESP_PULL_RETRY_IMMEDIATELY, &r,
				 r.next_offset, NULL, NULL);
		break;
	case KMQ_READ_OFFSET_TOO_SMALL:
	case KMQ_READ_OFFSET_OVERFLOW:
		kmqd_pull_answer(p, KMQ_RESP_PULL_OFFSET_MOVED, &r,
				 r.next_offset, NULL, NULL);
		break;
	case KMQ_READ_NO_MESSAGE:
		if (p->offset) {
			kmqd_pull_answer(p, KMQ_RESP_PULL_OFFSET_MOVED, &r, 0,
					 NULL, NULL);
			break;
		}
		fallthrough;
	case KMQ_READ_NO_NEW:
		if (p->suspend && kmqd_mono_ms() < p->deadline) {
			kmqd_park(p);
			/* A message may have landed between read and park. */
			if (kmqd_st_queue_offsets(kmqd_brk->store, p->topic,
						  p->qid, &r.min_offset,
						  &r.max_offset) == 0 &&
			    r.max_offset > (uint64_t)p->offset)
				kmqd_pull_wake(p->topic, p->qid);
			return;
		}
		kmqd_pull_answer(p, KMQ_RESP_PULL_NOT_FOUND, &r, p->offset,
				 NULL, NULL);
		break;
	}
	kmqd_pull_free(p);
}

static void kmqd_pull_woken(void *arg)
{
	kmqd_pull_run(arg);
}

/* kmqd_pull_wake() - a message reached (@topic, @qid): run its pulls. */
void kmqd_pull_wake(const char *topic, uint32_t queue_id)
{
	uint32_t b = kmqd_park_bucket(topic, queue_id);
	struct kmqd_pull **pp, *p, *woken = NULL;

	if (!strcmp(topic, KMQD_SCHEDULE_TOPIC))
		kmqd_delay_notify(queue_id);

	pthread_mutex_lock(&kmqd_park_lock);
	for (pp = &kmqd_parked[b]; *pp;) {
		p = *pp;
		if (p->qid != queue_id || strcmp(p->topic, topic)) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->next = woken;
		woken = p;
	}
	pthread_mutex_unlock(&kmqd_park_lock);
	while (woken) {
		p = woken;
		woken = p->next;
		if (kmqd_loop_post(kmqd_conn_loop(p->conn), kmqd_pull_woken, p))
			kmqd_pull_free(p);
	}
}

/* Answer 19 to this loop's pulls whose suspend time is over. */
void kmqd_pull_tick(struct kmqd_loop *l, uint64_t now_ms)
{
	struct kmqd_pull **pp, *p, *expired = NULL;
	uint32_t b;

	pthread_mutex_lock(&kmqd_park_lock);
	for (b = 0; b < KMQD_PARK_BUCKETS; b++) {
		for (pp = &kmqd_parked[b]; *pp;) {
			p = *pp;
			if (kmqd_conn_loop(p->conn) != l ||
			    p->deadline > now_ms) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			p->next = expired;
			expired = p;
		}
	}
	pthread_mutex_unlock(&kmqd_park_lock);
	while (expired) {
		p = expired;
		expired = p->next;
		p->suspend = false;
		kmqd_pull_run(p);
	}
}

void kmqd_pull_conn_closed(struct kmqd_conn *c)
{
	struct kmqd_pull **pp, *p, *gone = NULL;
	uint32_t b;

	pthread_mutex_lock(&kmqd_park_lock);
	for (b = 0; b < KMQD_PARK_BUCKETS; b++) {
		for (pp = &kmqd_parked[b]; *pp;) {
			p = *pp;
			if (p->conn != c) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			p->next = gone;
			gone = p;
		}
	}
	pthread_mutex_unlock(&kmqd_park_lock);
	while (gone) {
		p = gone;
		gone = p->next;
		kmqd_pull_free(p);
	}
}

void kmqd_pull_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	int64_t qid, offset, max_msgs, sys = 0, commit = -1, suspend = 0;
	const char *group, *topic, *sub, *etype;
	struct kmq_topic_info ti;
	char gsub[1024];
	struct kmqd_pull *p;

	if (!kmqd_need_str(c, req, "consumerGroup", &group) ||
	    !kmqd_need_str(c, req, "topic", &topic) ||
	    !kmqd_need_i64(c, req, "queueId", &qid) ||
	    !kmqd_need_i64(c, req, "queueOffset", &offset) ||
	    !kmqd_need_i64(c, req, "maxMsgNums", &max_msgs))
		return;
	kmq_rmt_ext_i64(req, "sysFlag", &sys);
	kmq_rmt_ext_i64(req, "commitOffset", &commit);
	kmq_rmt_ext_i64(req, "suspendTimeoutMillis", &suspend);
	if (qid < 0 || qid > 65535 || offset < 0 || max_msgs <= 0 ||
	    strlen(topic) > KMQ_TOPIC_MAX_V1) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "pull: queueId %lld, queueOffset %lld, maxMsgNums %lld out of range",
			    (long long)qid, (long long)offset,
			    (long long)max_msgs);
		return;
	}
	if (strlen(group) >= sizeof(p->group)) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "consumerGroup longer than %zu bytes",
			    sizeof(p->group) - 1);
		return;
	}
	etype = kmq_rmt_ext(req, "expressionType");
	if (etype && strcmp(etype, "TAG")) {
		kmqd_replyf(c, req, KMQ_RESP_SUBSCRIPTION_PARSE_FAILED,
			    "expression type %s is not supported (TAG only)",
			    etype);
		return;
	}
	if (kmqd_st_topic_info(kmqd_brk->store, topic, &ti)) {
		kmqd_replyf(c, req, KMQ_RESP_TOPIC_NOT_EXIST,
			    "topic[%s] not exist, apply first please!", topic);
		return;
	}
	if (!(ti.perm & KMQ_PERM_READ)) {
		kmqd_replyf(c, req, KMQ_RESP_NO_PERMISSION,
			    "the topic[%s] pulling message is forbidden", topic);
		return;
	}
	if (qid >= ti.read_queues) {
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "queueId[%lld] is illegal, topic %s has %u read queues",
			    (long long)qid, topic, ti.read_queues);
		return;
	}
	/* RocketMQ creates a group's configuration on its first pull. */
	if (!kmqd_subgroup_ensure(group)) {
		kmqd_replyf(c, req, KMQ_RESP_NO_PERMISSION,
			    "subscription group no permission, %s", group);
		return;
	}
	if ((sys & KMQD_PULL_FLAG_COMMIT) && commit >= 0)
		kmqd_offset_commit(group, topic, qid, commit);

	p = calloc(1, sizeof(*p));
	if (!p) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	sub = kmq_rmt_ext(req, "subscription");
	if (!(sys & KMQD_PULL_FLAG_SUBSCRIPTION) || !sub)
		sub = kmqd_group_subscription(group, topic, gsub, sizeof(gsub)) ?
		      gsub : NULL;
	if (kmqd_tags_parse(sub, p->tags, KMQD_PULL_TAGS_MAX, &p->ntags)) {
		free(p);
		kmqd_replyf(c, req, KMQ_RESP_SUBSCRIPTION_PARSE_FAILED,
			    "subscription has more than %d tags",
			    KMQD_PULL_TAGS_MAX);
		return;
	}
	kmqd_conn_get(c);
	p->conn = c;
	snprintf(p->group, sizeof(p->group), "%s", group);
	snprintf(p->topic, sizeof(p->topic), "%s", topic);
	p->qid = qid;
	p->offset = offset;
	p->max_msgs = max_msgs > KMQD_PULL_MAX_MSGS ? KMQD_PULL_MAX_MSGS :
		      max_msgs;
	p->suspend = (sys & KMQD_PULL_FLAG_SUSPEND) && suspend > 0;
	if (suspend > KMQD_SUSPEND_MAX_MS)
		suspend = KMQD_SUSPEND_MAX_MS;
	p->deadline = kmqd_mono_ms() + (suspend > 0 ? suspend : 0);
	p->opaque = req->opaque;
	p->version = req->version;
	p->ser = req->ser;
	kmqd_pull_run(p);
}
