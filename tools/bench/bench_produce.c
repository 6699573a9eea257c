// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_produce.c - kmq-bench's produce mode: a load generator speaking
 * RocketMQ's remoting protocol to a broker, as producers do.
 *
 * Creates the topic (UPDATE_AND_CREATE_TOPIC, 17: perm 6, --queues read
 * and write queues), then opens --connections connections, one thread
 * each. A thread keeps --inflight SEND_MESSAGE_V2 (310) requests
 * outstanding on its connection: whenever responses free slots it writes
 * that many new requests in one write(), over the queues in turn. The
 * opaque of a request names its slot. A body carries the connection, a
 * sequence number, the send time and a checksum (bench_body.h), so drain
 * mode can check every message later. With --batch N a request is a
 * SEND_BATCH_MESSAGE (320) of N such messages to one queue.
 *
 * Latency is per request: from just before the write() that sent it to
 * just after the read() that brought its response. Response codes are
 * counted: 0 SUCCESS and 10 FLUSH_DISK_TIMEOUT (stored, not yet synced)
 * are acknowledged messages; anything else is an error and makes the exit
 * status 1, as does a connection lost with requests outstanding.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmq_endian.h"

#include "bench.h"
#include "bench_body.h"
#include "bench_remote.h"
#include "bench_report.h"

#define MAX_CONNECTIONS		256
#define MAX_INFLIGHT		65536
#define MAX_QUEUES		1024
#define MAX_SIZE		(15u << 20)
#define MAX_CODES		512
#define MAX_BATCH		1024
#define RPC_TIMEOUT_MS		10000
#define PROPS			"WAIT\001true\002"

struct opts {
	const char *broker;
	const char *topic;
	const char *group;
	uint32_t queues;
	uint32_t size;
	uint32_t connections;
	uint32_t inflight;
	uint32_t batch;
	uint64_t duration_s;
	bool duration_set;
	uint64_t count;
	enum kmq_rmt_serialize ser;
	bool create;
	bool check;
	uint32_t connect_ms;
	uint32_t timeout_ms;
	bool json;
	bool quiet;
};

struct produce;

/* struct slot - one outstanding request (of @msgs messages). */
struct slot {
	uint64_t sent_ns;
	int32_t opaque;
	uint32_t queue;
	uint32_t msgs;
	uint32_t wire;
	bool busy;
};

/*
 * struct pconn - one connection and its thread.
 * @tmpl: one request template per queue
 * @cap: slots, a power of two >= --inflight; the low bits of an opaque
 * @gen: counts requests; the high bits of an opaque
 * @codes: responses by code (the last counts codes >= MAX_CODES - 1)
 * @requests: requests sent (@seq counts messages)
 * @acked: messages whose request was answered 0 or 10
 * @writes: write()s of requests
 * @reads: read()s that brought bytes
 * @next_off: with --check-responses, the least queueOffset the next
 *	response of each queue may carry
 */
struct pconn {
	struct produce *b;
	unsigned int id;
	pthread_t thr;
	struct bench_conn c;
	struct bench_tmpl *tmpl;
	struct slot *slots;
	uint32_t cap;
	uint32_t *free;
	uint32_t nfree;
	uint32_t outstanding;
	uint32_t gen;
	uint32_t rr;
	uint64_t seq;
	uint64_t limit;
	uint64_t last_resp_ns;
	uint64_t codes[MAX_CODES];
	uint64_t requests;
	uint64_t acked;
	uint64_t writes;
	uint64_t reads;
	uint64_t *next_off;
	struct kmq_buf out;
};

struct produce {
	struct opts o;
	struct pconn *conns;
	struct bench_worker *workers;
	uint8_t *pattern;
	pthread_barrier_t go;
	int stop;
	unsigned int live;
	struct bench_failures fails;
};

#define fail(b, ...)	bench_fail(&(b)->fails, __VA_ARGS__)

static bool stopped(struct produce *b)
{
	return __atomic_load_n(&b->stop, __ATOMIC_RELAXED);
}

static int32_t make_opaque(struct pconn *pc, uint32_t slot)
{
	uint32_t v = (pc->gen++ * pc->cap + slot) & BENCH_OPAQUE_MASK;

	return (int32_t)(BENCH_OPAQUE_BASE | v);
}

/* A SEND_BATCH_MESSAGE item: size, magic, crc, flag, bodyLen, body, props. */
#define ITEM_FIXED	22

static size_t item_size(const struct opts *o)
{
	return ITEM_FIXED + o->size + sizeof(PROPS) - 1;
}

/* The body of a request: one message, or --batch items. */
static size_t put_body(struct produce *b, uint8_t *p, uint32_t n,
		       struct bench_body *body, uint64_t *seq)
{
	const struct opts *o = &b->o;
	const uint32_t plen = sizeof(PROPS) - 1;
	uint8_t *start = p;
	uint32_t k;

	if (o->batch == 1) {
		body->seq = (*seq)++;
		bench_body_put(p, o->size, b->pattern, body);
		return o->size;
	}
	for (k = 0; k < n; k++) {
		kmq_put_be32(p, (uint32_t)item_size(o));
		kmq_put_be32(p + 4, 0);
		kmq_put_be32(p + 8, 0);
		kmq_put_be32(p + 12, 0);
		kmq_put_be32(p + 16, o->size);
		body->seq = (*seq)++;
		bench_body_put(p + 20, o->size, b->pattern, body);
		p += 20 + o->size;
		kmq_put_be16(p, (uint16_t)plen);
		memcpy(p + 2, PROPS, plen);
		p += 2 + plen;
	}
	return p - start;
}

/* Fill every free slot with a request and write them all at once. */
static int send_requests(struct pconn *pc)
{
	struct produce *b = pc->b;
	const struct opts *o = &b->o;
	struct bench_body body = { .conn = pc->id };
	const struct bench_tmpl *t;
	uint64_t now, born;
	size_t wire, blen;
	struct slot *s;
	uint32_t idx, n;
	uint8_t *p;

	pc->out.len = 0;
	if (!pc->nfree || stopped(b) || (pc->limit && pc->seq >= pc->limit))
		return 0;
	now = bench_now_ns();
	born = bench_now_ms_real();
	body.sent_ns = now;
	while (pc->nfree && (!pc->limit || pc->seq < pc->limit)) {
		n = o->batch;
		if (pc->limit && pc->limit - pc->seq < n)
			n = (uint32_t)(pc->limit - pc->seq);
		t = &pc->tmpl[pc->rr];
		if (kmq_buf_reserve(&pc->out, t->hdr_len + t->body_len))
			return -ENOMEM;
		idx = pc->free[--pc->nfree];
		s = &pc->slots[idx];
		s->busy = true;
		s->sent_ns = now;
		s->opaque = make_opaque(pc, idx);
		s->queue = pc->rr;
		s->msgs = n;
		p = pc->out.data + pc->out.len;
		bench_tmpl_put(t, p, s->opaque, born);
		blen = put_body(b, p + t->hdr_len, n, &body, &pc->seq);
		/* A last, shorter batch: the length field counts its body. */
		if (blen != t->body_len)
			kmq_put_be32(p, (uint32_t)(t->hdr_len - 4 + blen));
		wire = t->hdr_len + blen;
		s->wire = wire;
		pc->out.len += wire;
		pc->requests++;
		pc->outstanding++;
		pc->rr = (pc->rr + 1) % o->queues;
	}
	pc->writes++;
	return bench_conn_write(&pc->c, pc->out.data, pc->out.len);
}

/* --check-responses: the response names the queue and a new offset. */
static void check_response(struct pconn *pc, const uint8_t *f, size_t len,
			   const struct slot *s)
{
	struct produce *b = pc->b;
	struct kmq_rmt_cmd cmd;
	int64_t qid, off;

	if (kmq_rmt_decode(f, len, &cmd)) {
		fail(b, "connection %u: response does not decode: %s", pc->id,
		     kmq_rmt_errmsg());
		return;
	}
	if (kmq_rmt_ext_i64(&cmd, "queueId", &qid) ||
	    kmq_rmt_ext_i64(&cmd, "queueOffset", &off) ||
	    !kmq_rmt_ext(&cmd, "msgId")) {
		fail(b, "connection %u: response without queueId, queueOffset or msgId",
		     pc->id);
	} else if (qid != s->queue) {
		fail(b, "connection %u: sent to queue %u, response says queue %lld",
		     pc->id, s->queue, (long long)qid);
	} else if (off < 0 || (uint64_t)off < pc->next_off[s->queue]) {
		fail(b, "connection %u: queue %u: queueOffset %lld after %llu",
		     pc->id, s->queue, (long long)off,
		     (unsigned long long)pc->next_off[s->queue]);
	} else {
		pc->next_off[s->queue] = off + s->msgs;
	}
	kmq_rmt_cmd_free(&cmd);
}

static void error_response(struct pconn *pc, const uint8_t *f, size_t len,
			   int32_t code)
{
	struct kmq_rmt_cmd cmd;
	bool ok = !kmq_rmt_decode(f, len, &cmd);

	fail(pc->b, "connection %u: response code %d: %s", pc->id, code,
	     ok && cmd.remark ? cmd.remark : "(no remark)");
	if (ok)
		kmq_rmt_cmd_free(&cmd);
}

static int handle_frame(struct pconn *pc, const uint8_t *f, size_t len,
			uint64_t now)
{
	struct produce *b = pc->b;
	struct bench_worker *w = &b->workers[pc->id];
	struct bench_peek pk;
	struct slot *s;
	uint32_t idx;
	int ret;

	ret = bench_peek(f, len, &pk);
	if (ret) {
		fail(b, "connection %u: a frame does not decode: %s", pc->id,
		     kmq_rmt_errmsg());
		return -EPROTO;
	}
	if (!(pk.flag & KMQ_RMT_FLAG_RESPONSE))
		return 0;	/* a request from the broker: not ours */
	idx = (uint32_t)pk.opaque & (pc->cap - 1);
	s = &pc->slots[idx];
	if (!s->busy || s->opaque != pk.opaque) {
		fail(b, "connection %u: response with unknown opaque %d",
		     pc->id, pk.opaque);
		return -EPROTO;
	}
	pc->codes[pk.code >= 0 && pk.code < MAX_CODES ? pk.code :
		  MAX_CODES - 1]++;
	if (pk.code == BENCH_RESP_SUCCESS ||
	    pk.code == BENCH_RESP_FLUSH_DISK_TIMEOUT) {
		if (b->o.check)
			check_response(pc, f, len, s);
		pc->acked += s->msgs;
		bench_worker_add(w, s->msgs, (uint64_t)s->msgs * b->o.size,
				 s->wire, now - s->sent_ns);
	} else {
		error_response(pc, f, len, pk.code);
	}
	s->busy = false;
	pc->free[pc->nfree++] = idx;
	pc->outstanding--;
	return 0;
}

static void *conn_main(void *arg)
{
	struct pconn *pc = arg;
	struct produce *b = pc->b;
	const uint8_t *f;
	uint64_t now;
	char name[16];
	size_t len;
	long r;
	int ret;

	snprintf(name, sizeof(name), "produce%u", pc->id);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&b->go);
	pc->last_resp_ns = bench_now_ns();
	for (;;) {
		ret = send_requests(pc);
		if (ret) {
			fail(b, "connection %u: write: %s", pc->id,
			     strerror(-ret));
			break;
		}
		if (!pc->outstanding)
			break;
		r = bench_conn_read(&pc->c);
		now = bench_now_ns();
		if (r == -EAGAIN) {
			if (now - pc->last_resp_ns >
			    (uint64_t)b->o.timeout_ms * 1000000) {
				fail(b, "connection %u: no response for %u ms",
				     pc->id, b->o.timeout_ms);
				break;
			}
			continue;
		}
		if (r < 0) {
			fail(b, "connection %u: read: %s", pc->id,
			     strerror((int)-r));
			break;
		}
		pc->last_resp_ns = now;
		pc->reads++;
		for (;;) {
			ret = bench_conn_frame(&pc->c, &f, &len);
			if (ret <= 0)
				break;
			ret = handle_frame(pc, f, len, now);
			if (ret)
				break;
		}
		if (ret < 0) {
			if (ret == -EPROTO)
				fail(b, "connection %u: bad frame from the broker",
				     pc->id);
			break;
		}
	}
	if (pc->outstanding)
		fail(b, "connection %u: %u requests left without a response",
		     pc->id, pc->outstanding);
	__atomic_fetch_sub(&b->live, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The SEND_MESSAGE_V2 template of queue @q. */
static int build_template(struct produce *b, struct bench_tmpl *t, uint32_t q)
{
	const struct opts *o = &b->o;
	struct kmq_rmt_cmd req;
	int ret;

	ret = kmq_rmt_request(&req, o->batch > 1 ?
			      BENCH_REQ_SEND_BATCH_MESSAGE :
			      BENCH_REQ_SEND_MESSAGE_V2, BENCH_TMPL_OPAQUE,
			      o->ser);
	if (ret)
		return ret;
	ret = kmq_rmt_set_ext(&req, "a", o->group) ||
	      kmq_rmt_set_ext(&req, "b", o->topic) ||
	      kmq_rmt_set_ext(&req, "c", "TBW102") ||
	      kmq_rmt_set_extf(&req, "d", "%u", o->queues) ||
	      kmq_rmt_set_extf(&req, "e", "%u", q) ||
	      kmq_rmt_set_ext(&req, "f", "0") ||
	      kmq_rmt_set_ext(&req, "g", BENCH_TMPL_BORN) ||
	      kmq_rmt_set_ext(&req, "h", "0") ||
	      kmq_rmt_set_ext(&req, "i", PROPS) ||
	      kmq_rmt_set_ext(&req, "j", "0") ||
	      kmq_rmt_set_ext(&req, "k", "false") ||
	      kmq_rmt_set_ext(&req, "m", o->batch > 1 ? "true" : "false") ?
	      -ENOMEM : 0;
	if (!ret)
		ret = bench_tmpl_init(t, &req, o->batch > 1 ?
				      o->batch * item_size(o) : o->size, "g");
	kmq_rmt_cmd_free(&req);
	return ret;
}

static int setup_conns(struct produce *b)
{
	const struct opts *o = &b->o;
	uint64_t per, extra;
	struct pconn *pc;
	unsigned int i;
	uint32_t q, k;
	int ret;

	b->conns = calloc(o->connections, sizeof(*b->conns));
	if (!b->conns)
		return -ENOMEM;
	per = o->count / o->connections;
	extra = o->count % o->connections;
	for (i = 0; i < o->connections; i++) {
		pc = &b->conns[i];
		pc->b = b;
		pc->id = i;
		pc->c.fd = -1;
		pc->rr = i % o->queues;
		pc->limit = o->count ? per + (i < extra) : 0;
		pc->cap = 1;
		while (pc->cap < o->inflight)
			pc->cap <<= 1;
		pc->slots = calloc(pc->cap, sizeof(*pc->slots));
		pc->free = calloc(pc->cap, sizeof(*pc->free));
		pc->tmpl = calloc(o->queues, sizeof(*pc->tmpl));
		pc->next_off = calloc(o->queues, sizeof(*pc->next_off));
		if (!pc->slots || !pc->free || !pc->tmpl || !pc->next_off)
			return -ENOMEM;
		/* Slots in use are 0..inflight-1 only; lowest first. */
		for (k = 0; k < o->inflight; k++)
			pc->free[k] = o->inflight - 1 - k;
		pc->nfree = o->inflight;
		for (q = 0; q < o->queues; q++) {
			ret = build_template(b, &pc->tmpl[q], q);
			if (ret)
				return ret;
		}
		ret = bench_conn_open(&pc->c, o->broker, o->connect_ms);
		if (ret)
			return ret;
		bench_worker_init(&b->workers[i]);
	}
	return 0;
}

static void free_conns(struct produce *b)
{
	struct pconn *pc;
	unsigned int i;
	uint32_t q;

	if (!b->conns)
		return;
	for (i = 0; i < b->o.connections; i++) {
		pc = &b->conns[i];
		if (pc->tmpl)
			for (q = 0; q < b->o.queues; q++)
				bench_tmpl_free(&pc->tmpl[q]);
		bench_conn_close(&pc->c);
		kmq_buf_free(&pc->out);
		free(pc->tmpl);
		free(pc->slots);
		free(pc->free);
		free(pc->next_off);
	}
	free(b->conns);
}

/* UPDATE_AND_CREATE_TOPIC on a connection of its own. */
static int create_topic(struct produce *b)
{
	const struct opts *o = &b->o;
	struct kmq_rmt_cmd req, resp;
	struct bench_conn c;
	int ret;

	ret = bench_conn_open(&c, o->broker, o->connect_ms);
	if (ret)
		return ret;
	ret = kmq_rmt_request(&req, BENCH_REQ_UPDATE_AND_CREATE_TOPIC, 0,
			      o->ser);
	if (!ret)
		ret = kmq_rmt_set_ext(&req, "topic", o->topic) ||
		      kmq_rmt_set_ext(&req, "defaultTopic", "TBW102") ||
		      kmq_rmt_set_extf(&req, "readQueueNums", "%u",
				       o->queues) ||
		      kmq_rmt_set_extf(&req, "writeQueueNums", "%u",
				       o->queues) ||
		      kmq_rmt_set_ext(&req, "perm", "6") ||
		      kmq_rmt_set_ext(&req, "topicFilterType", "SINGLE_TAG") ||
		      kmq_rmt_set_ext(&req, "topicSysFlag", "0") ||
		      kmq_rmt_set_ext(&req, "order", "false") ? -ENOMEM : 0;
	if (!ret)
		ret = bench_rpc(&c, &req, NULL, 0, &resp, RPC_TIMEOUT_MS);
	kmq_rmt_cmd_free(&req);
	if (!ret) {
		if (resp.code != BENCH_RESP_SUCCESS) {
			fprintf(stderr, "kmq-bench produce: creating topic %s: code %d: %s\n",
				o->topic, resp.code,
				resp.remark ? resp.remark : "(no remark)");
			ret = -EPROTO;
		}
		kmq_rmt_cmd_free(&resp);
	}
	bench_conn_close(&c);
	return ret;
}

void bench_produce_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench produce --broker HOST:PORT [options]\n"
		"  Sends SEND_MESSAGE_V2 (310) requests to a broker over the remoting\n"
		"  protocol, pipelined: each connection keeps --inflight requests\n"
		"  outstanding, over the topic's queues in turn. Latency is per request,\n"
		"  write() to response. MB/s counts body bytes; the record figures count\n"
		"  request frames as sent (prefix, header, body).\n"
		"    --broker HOST:PORT  the broker (default 127.0.0.1:10911)\n"
		"    --topic NAME        topic (default BenchTopic); created first with\n"
		"                        UPDATE_AND_CREATE_TOPIC (17), perm 6\n"
		"    --queues N          its read and write queues (default 8)\n"
		"    --no-create         do not create the topic (it must exist)\n"
		"    --size BYTES        body size, at least %u (default 1024)\n"
		"    --connections N     connections, one thread each (default 1)\n"
		"    --inflight N        requests outstanding per connection (default 1)\n"
		"    --batch N           messages per request: 1 sends SEND_MESSAGE_V2 (310),\n"
		"                        more SEND_BATCH_MESSAGE (320) to one queue\n"
		"                        (default 1); latency is then per batch\n"
		"    --duration SEC      how long to send (default 10, unless --count)\n"
		"    --count N           stop after N messages in all (split over the\n"
		"                        connections); with --duration, whichever first\n"
		"    --serialize FMT     header format: rocketmq (binary, default) or json\n"
		"    --group NAME        producerGroup (default BenchProducer)\n"
		"    --check-responses   decode every response: queueId as sent, queueOffset\n"
		"                        increasing per connection and queue, a msgId\n"
		"    --connect-timeout MS  keep retrying a refused connect (default 2000)\n"
		"    --timeout MS        fail when no response comes for MS (default 30000)\n"
		"    --json              summary as one JSON object on stdout\n"
		"    --quiet             no per-second progress lines on stderr\n"
		"  Codes 0 and 10 (FLUSH_DISK_TIMEOUT: stored, sync late) count as\n"
		"  acknowledged. Exit status: 0, 1 for any other response code or a lost\n"
		"  connection, 2 for bad arguments or setup.\n",
		BENCH_BODY_MIN);
}

enum {
	OPT_BROKER = 256,
	OPT_TOPIC,
	OPT_QUEUES,
	OPT_NO_CREATE,
	OPT_SIZE,
	OPT_CONNECTIONS,
	OPT_INFLIGHT,
	OPT_BATCH,
	OPT_DURATION,
	OPT_COUNT,
	OPT_SERIALIZE,
	OPT_GROUP,
	OPT_CHECK,
	OPT_CONNECT_TIMEOUT,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_QUIET,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "broker", required_argument, NULL, OPT_BROKER },
	{ "topic", required_argument, NULL, OPT_TOPIC },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "no-create", no_argument, NULL, OPT_NO_CREATE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "serialize", required_argument, NULL, OPT_SERIALIZE },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "check-responses", no_argument, NULL, OPT_CHECK },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad_arg(const char *opt, const char *val)
{
	fprintf(stderr, "kmq-bench produce: bad value '%s' for --%s\n", val,
		opt);
	return -EINVAL;
}

/* Return: 0, 1 after --help, or -EINVAL. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	const char *name;
	int c, idx;

	memset(o, 0, sizeof(*o));
	o->broker = "127.0.0.1:10911";
	o->topic = "BenchTopic";
	o->group = "BenchProducer";
	o->queues = 8;
	o->size = 1024;
	o->connections = 1;
	o->inflight = 1;
	o->batch = 1;
	o->duration_s = 10;
	o->ser = KMQ_RMT_ROCKETMQ;
	o->create = true;
	o->connect_ms = 2000;
	o->timeout_ms = 30000;

	optind = 1;
	for (;;) {
		idx = 0;
		c = getopt_long(argc, argv, "h", long_opts, &idx);
		if (c == -1)
			break;
		name = c >= OPT_BROKER ? long_opts[idx].name : "?";
		switch (c) {
		case OPT_BROKER:
			o->broker = optarg;
			break;
		case OPT_TOPIC:
			o->topic = optarg;
			break;
		case OPT_QUEUES:
			if (bench_parse_u32(optarg, false, MAX_QUEUES,
					    &o->queues) || !o->queues)
				return bad_arg(name, optarg);
			break;
		case OPT_NO_CREATE:
			o->create = false;
			break;
		case OPT_SIZE:
			if (bench_parse_u32(optarg, true, MAX_SIZE, &o->size) ||
			    o->size < BENCH_BODY_MIN)
				return bad_arg(name, optarg);
			break;
		case OPT_CONNECTIONS:
			if (bench_parse_u32(optarg, false, MAX_CONNECTIONS,
					    &o->connections) || !o->connections)
				return bad_arg(name, optarg);
			break;
		case OPT_INFLIGHT:
			if (bench_parse_u32(optarg, false, MAX_INFLIGHT,
					    &o->inflight) || !o->inflight)
				return bad_arg(name, optarg);
			break;
		case OPT_BATCH:
			if (bench_parse_u32(optarg, false, MAX_BATCH,
					    &o->batch) || !o->batch)
				return bad_arg(name, optarg);
			break;
		case OPT_DURATION:
			if (bench_parse_u64(optarg, false, &o->duration_s) ||
			    !o->duration_s)
				return bad_arg(name, optarg);
			o->duration_set = true;
			break;
		case OPT_COUNT:
			if (bench_parse_u64(optarg, true, &o->count) ||
			    !o->count)
				return bad_arg(name, optarg);
			break;
		case OPT_SERIALIZE:
			if (bench_parse_serialize(optarg, &o->ser))
				return bad_arg(name, optarg);
			break;
		case OPT_GROUP:
			o->group = optarg;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (bench_parse_u32(optarg, false, UINT32_MAX,
					    &o->connect_ms))
				return bad_arg(name, optarg);
			break;
		case OPT_TIMEOUT:
			if (bench_parse_u32(optarg, false, UINT32_MAX,
					    &o->timeout_ms) || !o->timeout_ms)
				return bad_arg(name, optarg);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case 'h':
		case OPT_HELP:
			bench_produce_usage(stdout);
			return 1;
		default:
			fprintf(stderr, "kmq-bench produce: see kmq-bench produce --help\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kmq-bench produce: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!*o->topic || strlen(o->topic) > 127) {
		fprintf(stderr, "kmq-bench produce: the topic must be 1 to 127 bytes\n");
		return -EINVAL;
	}
	if (o->batch > 1 && o->batch * item_size(o) > MAX_SIZE) {
		fprintf(stderr, "kmq-bench produce: --batch %u of --size %u is over %u bytes\n",
			o->batch, o->size, MAX_SIZE);
		return -EINVAL;
	}
	if (o->count && !o->duration_set)
		o->duration_s = 0;
	return 0;
}

/* Run the connections until --duration, --count, ^C or a failure. */
static int run(struct produce *b, struct bench_phase *ph)
{
	const struct opts *o = &b->o;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	uint64_t deadline = 0;
	unsigned int i, started;
	int err;

	err = pthread_barrier_init(&b->go, NULL, o->connections + 1);
	if (err)
		return -err;
	b->live = o->connections;
	for (started = 0; started < o->connections; started++) {
		err = pthread_create(&b->conns[started].thr, NULL, conn_main,
				     &b->conns[started]);
		if (err)
			break;
	}
	if (err) {
		/* The barrier would never open: stop here, loudly. */
		fprintf(stderr, "kmq-bench: cannot start connection thread %u: %s\n",
			started, strerror(err));
		exit(2);
	}
	err = bench_phase_start(ph, "produce", "request", b->workers,
				o->connections, o->quiet);
	if (err)
		return err;
	if (o->duration_s)
		deadline = ph->t_start + o->duration_s * 1000000000ull;
	pthread_barrier_wait(&b->go);
	while (__atomic_load_n(&b->live, __ATOMIC_ACQUIRE)) {
		if (bench_interrupted || (deadline && bench_now_ns() >= deadline))
			__atomic_store_n(&b->stop, 1, __ATOMIC_RELAXED);
		nanosleep(&nap, NULL);
	}
	for (i = 0; i < o->connections; i++)
		pthread_join(b->conns[i].thr, NULL);
	bench_phase_stop(ph);
	pthread_barrier_destroy(&b->go);
	return 0;
}

struct outcome {
	double cpu_user;
	double cpu_sys;
	uint64_t sent;
	uint64_t requests;
	uint64_t acked;
	uint64_t writes;
	uint64_t reads;
	uint64_t codes[MAX_CODES];
	uint64_t ok;
	uint64_t timeouts;
	uint64_t errors;
};

static void sum_up(struct produce *b, struct outcome *r)
{
	unsigned int i, k;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < b->o.connections; i++) {
		r->sent += b->conns[i].seq;
		r->requests += b->conns[i].requests;
		r->acked += b->conns[i].acked;
		r->writes += b->conns[i].writes;
		r->reads += b->conns[i].reads;
		for (k = 0; k < MAX_CODES; k++)
			r->codes[k] += b->conns[i].codes[k];
	}
	r->ok = r->codes[BENCH_RESP_SUCCESS];
	r->timeouts = r->codes[BENCH_RESP_FLUSH_DISK_TIMEOUT];
	for (k = 0; k < MAX_CODES; k++)
		if (k != BENCH_RESP_SUCCESS &&
		    k != BENCH_RESP_FLUSH_DISK_TIMEOUT)
			r->errors += r->codes[k];
}

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static void print_json(struct produce *b, const struct bench_phase *ph,
		       const struct outcome *r)
{
	const struct opts *o = &b->o;
	json_t *j = json_object(), *c = json_object(), *cpu, *p, *codes;
	char key[16];
	unsigned int k;

	jset(c, "broker", json_string(o->broker));
	jset(c, "topic", json_string(o->topic));
	jset(c, "queues", json_integer(o->queues));
	jset(c, "body_size", json_integer(o->size));
	jset(c, "connections", json_integer(o->connections));
	jset(c, "inflight", json_integer(o->inflight));
	jset(c, "batch", json_integer(o->batch));
	jset(c, "duration_s", json_integer(o->duration_s));
	jset(c, "count", json_integer(o->count));
	jset(c, "serialize", json_string(bench_serialize_name(o->ser)));
	jset(c, "check_responses", json_boolean(o->check));

	p = bench_phase_json(ph);
	jset(p, "messages_sent", json_integer(r->sent));
	jset(p, "requests", json_integer(r->requests));
	jset(p, "acknowledged", json_integer(r->acked));
	jset(p, "flush_timeouts", json_integer(r->timeouts));
	jset(p, "errors", json_integer(r->errors));
	jset(p, "writes", json_integer(r->writes));
	jset(p, "reads", json_integer(r->reads));
	jset(p, "requests_per_write",
	     json_real(r->writes ? (double)r->requests / r->writes : 0));
	jset(p, "responses_per_read",
	     json_real(r->reads ? (double)(r->ok + r->timeouts + r->errors) /
		       r->reads : 0));
	codes = json_object();
	for (k = 0; k < MAX_CODES; k++) {
		if (!r->codes[k])
			continue;
		snprintf(key, sizeof(key), "%u", k);
		jset(codes, key, json_integer(r->codes[k]));
	}
	jset(p, "response_codes", codes);

	jset(j, "mode", json_string("produce"));
	cpu = json_object();
	jset(cpu, "user", json_real(r->cpu_user));
	jset(cpu, "system", json_real(r->cpu_sys));
	jset(j, "cpu_s", cpu);
	jset(j, "config", c);
	jset(j, "produce", p);
	bench_failures_json(j, &b->fails);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	json_decref(j);
}

static void print_text(struct produce *b, const struct bench_phase *ph,
		       const struct outcome *r)
{
	const struct opts *o = &b->o;
	unsigned int k;

	printf("produce: %s topic %s, %u queue(s), %u B bodies, %s headers\n",
	       o->broker, o->topic, o->queues, o->size,
	       bench_serialize_name(o->ser));
	printf("  %u connection(s) x %u in flight, %u message(s) a request\n",
	       o->connections, o->inflight, o->batch);
	bench_phase_print(ph, stdout);
	printf("  requests %llu: SUCCESS %llu, FLUSH_DISK_TIMEOUT %llu, errors %llu",
	       (unsigned long long)r->requests, (unsigned long long)r->ok,
	       (unsigned long long)r->timeouts,
	       (unsigned long long)r->errors);
	for (k = 0; k < MAX_CODES; k++)
		if (r->codes[k] && k != BENCH_RESP_SUCCESS &&
		    k != BENCH_RESP_FLUSH_DISK_TIMEOUT)
			printf(" [code %u: %llu]", k,
			       (unsigned long long)r->codes[k]);
	printf("\n  %.1f requests per write(), %.1f responses per read()\n",
	       r->writes ? (double)r->requests / r->writes : 0.0,
	       r->reads ? (double)(r->ok + r->timeouts + r->errors) /
	       r->reads : 0.0);
	printf("  kmq-bench CPU: %.2f s user, %.2f s system\n", r->cpu_user,
	       r->cpu_sys);
	printf("%s: %llu failure(s)\n", b->fails.count ? "FAILED" : "ok",
	       (unsigned long long)b->fails.count);
}

int bench_produce_main(int argc, char **argv)
{
	struct bench_phase ph;
	double cpu_user, cpu_sys;
	struct outcome r;
	struct produce b;
	int ret, status = 2;

	memset(&b, 0, sizeof(b));
	ret = parse_opts(&b.o, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;

	bench_catch_signals();

	b.pattern = bench_body_pattern(b.o.size);
	if (posix_memalign((void **)&b.workers, 64,
			   b.o.connections * sizeof(*b.workers)) ||
	    !b.pattern) {
		fprintf(stderr, "kmq-bench produce: out of memory\n");
		goto out;
	}
	if (b.o.create) {
		ret = create_topic(&b);
		if (ret)
			goto out;
	}
	ret = setup_conns(&b);
	if (ret) {
		if (ret == -ENOMEM)
			fprintf(stderr, "kmq-bench produce: out of memory\n");
		goto out;
	}
	if (!b.o.quiet)
		fprintf(stderr, "produce: %s topic %s, %u B, %u x %u in flight, %s\n",
			b.o.broker, b.o.topic, b.o.size, b.o.connections,
			b.o.inflight, bench_serialize_name(b.o.ser));
	bench_cpu_s(&cpu_user, &cpu_sys);
	ret = run(&b, &ph);
	if (ret) {
		fprintf(stderr, "kmq-bench produce: %s\n", strerror(-ret));
		goto out;
	}
	if (bench_interrupted)
		fail(&b, "interrupted");
	sum_up(&b, &r);
	bench_cpu_s(&r.cpu_user, &r.cpu_sys);
	r.cpu_user -= cpu_user;
	r.cpu_sys -= cpu_sys;
	if (b.o.json)
		print_json(&b, &ph, &r);
	else
		print_text(&b, &ph, &r);
	bench_phase_free(&ph);
	status = b.fails.count ? 1 : 0;
out:
	free_conns(&b);
	free(b.workers);
	free(b.pattern);
	return status;
}
