// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_drain.c - kmq-bench's drain mode: read a topic's backlog from a
 * broker over the remoting protocol, as a pull consumer does, and check
 * every message.
 *
 * Asks each queue's offsets first (GET_MIN_OFFSET 31, GET_MAX_OFFSET 30):
 * the backlog is what lies between them. The queues are spread over
 * --connections connections, one thread each; a thread keeps --depth
 * PULL_MESSAGE (11) requests outstanding per queue (the next offsets,
 * maxMsgNums 32 each) until it has everything up to the max offset it was
 * told. Every record of a response is decoded with kmq_record_decode()
 * and its BODYCRC checked, as are its queue, its queue offset (the next
 * one expected), its topic and the body that produce mode wrote
 * (bench_body.h). A record missing, out of place or corrupted, a
 * response code other than SUCCESS, or a count differing from the max
 * offsets' sum makes the exit status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmq_endian.h"
#include "kmq_record.h"

#include "bench.h"
#include "bench_body.h"
#include "bench_remote.h"
#include "bench_report.h"

#define MAX_CONNECTIONS		256
#define MAX_QUEUES		1024
#define MAX_DEPTH		64
#define PULL_MAX_MSGS		32
#define RPC_TIMEOUT_MS		10000
/* BODYLEN of a record with IPv4 hosts (kmq_record.h) */
#define REC_OFF_BODYLEN_V4	84

struct opts {
	const char *broker;
	const char *topic;
	const char *group;
	uint32_t queues;
	uint32_t connections;
	uint32_t depth;
	uint32_t max_msgs;
	enum kmq_rmt_serialize ser;
	bool verify;
	uint32_t connect_ms;
	uint32_t timeout_ms;
	bool json;
	bool quiet;
};

struct drain;

/*
 * struct dqueue - one queue being drained.
 * @min: first offset (GET_MIN_OFFSET)
 * @max: end (GET_MAX_OFFSET), fixed at start
 * @next: the next offset to ask for
 * @got: records received and checked
 */
struct dqueue {
	uint32_t id;
	uint64_t min;
	uint64_t max;
	uint64_t next;
	uint64_t got;
};

/* struct pull - an outstanding pull: [@off, @end) of queue @q. */
struct pull {
	struct dqueue *q;
	uint64_t off;
	uint64_t end;
	uint64_t sent_ns;
	int32_t opaque;
	bool busy;
};

struct dconn {
	struct drain *b;
	unsigned int id;
	pthread_t thr;
	struct bench_conn c;
	struct dqueue **queues;
	uint32_t nqueues;
	struct pull *pulls;
	uint32_t cap;
	uint32_t *free;
	uint32_t nfree;
	uint32_t outstanding;
	uint32_t gen;
	uint64_t last_resp_ns;
	uint64_t verified;
	uint64_t pull_calls;
	uint8_t *pattern;
	uint32_t pattern_len;
	struct kmq_rmt_cmd req;
	struct kmq_buf out;
};

struct drain {
	struct opts o;
	struct dqueue *queues;
	struct dconn *conns;
	struct bench_worker *workers;
	pthread_barrier_t go;
	int stop;
	unsigned int live;
	struct bench_failures fails;
};

#define fail(b, ...)	bench_fail(&(b)->fails, __VA_ARGS__)

/* The filler to compare bodies of @size bytes with. */
static const uint8_t *pattern_for(struct dconn *dc, uint32_t size)
{
	uint8_t *p;

	if (size <= dc->pattern_len)
		return dc->pattern;
	p = bench_body_pattern(size);
	if (!p)
		return NULL;
	free(dc->pattern);
	dc->pattern = p;
	dc->pattern_len = size;
	return p;
}

/* Queue a pull of [@off, @end) of @q into the output buffer. */
static int add_pull_range(struct dconn *dc, struct dqueue *q, uint64_t off,
			  uint64_t end)
{
	struct pull *p;
	uint32_t idx;
	int ret;

	if (!dc->nfree)
		return -ENOSPC;
	idx = dc->free[--dc->nfree];
	p = &dc->pulls[idx];
	p->busy = true;
	p->q = q;
	p->off = off;
	p->end = end;
	p->sent_ns = 0;
	p->opaque = (int32_t)(BENCH_OPAQUE_BASE |
			      ((dc->gen++ * dc->cap + idx) &
			       BENCH_OPAQUE_MASK));
	dc->req.opaque = p->opaque;
	ret = kmq_rmt_set_extf(&dc->req, "queueId", "%u", q->id) ||
	      kmq_rmt_set_extf(&dc->req, "queueOffset", "%llu",
			       (unsigned long long)off) ||
	      kmq_rmt_set_extf(&dc->req, "maxMsgNums", "%llu",
			       (unsigned long long)(end - off)) ? -ENOMEM : 0;
	if (!ret)
		ret = kmq_rmt_encode(&dc->out, &dc->req, 0);
	dc->outstanding++;
	dc->pull_calls++;
	return ret;
}

/* Queue a pull of the next --max-msgs records of @q, if any are left. */
static int add_pull(struct dconn *dc, struct dqueue *q)
{
	uint64_t off = q->next, n;

	if (off >= q->max)
		return 0;
	n = q->max - off;
	if (n > dc->b->o.max_msgs)
		n = dc->b->o.max_msgs;
	q->next = off + n;
	return add_pull_range(dc, q, off, off + n);
}

/* Check one record expected at @off of queue @q. */
static void check_record(struct dconn *dc, const struct kmq_record *r,
			 const struct dqueue *q, uint64_t off)
{
	struct drain *b = dc->b;
	const uint8_t *pat;
	struct bench_body h;
	const char *why;

	if (r->queue_id != q->id || r->queue_offset != off) {
		fail(b, "queue %u offset %llu: record says queue %u offset %llu",
		     q->id, (unsigned long long)off, r->queue_id,
		     (unsigned long long)r->queue_offset);
		return;
	}
	if (r->topic_len != strlen(b->o.topic) ||
	    memcmp(r->topic, b->o.topic, r->topic_len)) {
		fail(b, "queue %u offset %llu: wrong topic", q->id,
		     (unsigned long long)off);
		return;
	}
	pat = pattern_for(dc, r->body_len);
	if (!pat) {
		fail(b, "out of memory");
		return;
	}
	why = bench_body_check(r->body, r->body_len, pat, &h);
	if (why)
		fail(b, "queue %u offset %llu: %s", q->id,
		     (unsigned long long)off, why);
	else
		dc->verified++;
}

/*
 * The records of a FOUND response to pull @p. Return: records taken, or
 * -1 after a failure.
 */
static int64_t take_records(struct dconn *dc, struct pull *p,
			    const uint8_t *body, uint32_t len,
			    uint64_t *bytes)
{
	struct drain *b = dc->b;
	uint64_t off = p->off;
	struct kmq_record r;
	uint32_t total;
	int ret;

	*bytes = 0;
	while (len) {
		if (off >= p->end) {
			fail(b, "queue %u: pull of [%llu, %llu) brought more records",
			     p->q->id, (unsigned long long)p->off,
			     (unsigned long long)p->end);
			return -1;
		}
		if (b->o.verify) {
			ret = kmq_record_decode(body, len, &r, KMQ_DECODE_CRC);
			if (ret) {
				fail(b, "queue %u offset %llu: record does not decode: %s",
				     p->q->id, (unsigned long long)off,
				     ret > 0 ? "a BLANK filler" :
				     kmq_fmt_strerror(ret));
				return -1;
			}
			check_record(dc, &r, p->q, off);
			total = r.total_size;
			*bytes += r.body_len;
		} else {
			total = len >= 4 ? kmq_get_be32(body) : 0;
			if (total < KMQ_REC_FIXED_V4 || total > len) {
				fail(b, "queue %u offset %llu: TOTALSIZE %u, %u bytes left",
				     p->q->id, (unsigned long long)off, total,
				     len);
				return -1;
			}
			*bytes += kmq_get_be32(body + REC_OFF_BODYLEN_V4);
		}
		body += total;
		len -= total;
		off++;
	}
	return (int64_t)(off - p->off);
}

static int handle_frame(struct dconn *dc, const uint8_t *f, size_t len,
			uint64_t now)
{
	struct drain *b = dc->b;
	struct kmq_rmt_cmd cmd;
	uint64_t bytes = 0;
	int64_t got, next;
	struct pull *p;
	uint32_t idx;
	int ret;

	ret = kmq_rmt_decode(f, len, &cmd);
	if (ret) {
		fail(b, "connection %u: a frame does not decode: %s", dc->id,
		     kmq_rmt_errmsg());
		return -EPROTO;
	}
	if (!(cmd.flag & KMQ_RMT_FLAG_RESPONSE))
		goto out;
	idx = (uint32_t)cmd.opaque & (dc->cap - 1);
	p = &dc->pulls[idx];
	if (!p->busy || p->opaque != cmd.opaque) {
		fail(b, "connection %u: response with unknown opaque %d",
		     dc->id, cmd.opaque);
		ret = -EPROTO;
		goto out;
	}
	p->busy = false;
	dc->free[dc->nfree++] = idx;
	dc->outstanding--;
	if (cmd.code != BENCH_RESP_SUCCESS) {
		fail(b, "queue %u offset %llu: pull answered %d: %s",
		     p->q->id, (unsigned long long)p->off, cmd.code,
		     cmd.remark ? cmd.remark : "(no remark)");
		goto out;
	}
	got = take_records(dc, p, cmd.body, cmd.body_len, &bytes);
	if (got < 0)
		goto out;
	if (kmq_rmt_ext_i64(&cmd, "nextBeginOffset", &next) ||
	    next != (int64_t)(p->off + got))
		fail(b, "queue %u: pull at %llu brought %lld records, nextBeginOffset %s",
		     p->q->id, (unsigned long long)p->off, (long long)got,
		     kmq_rmt_ext(&cmd, "nextBeginOffset") ?: "missing");
	p->q->got += got;
	bench_worker_add(&b->workers[dc->id], got, bytes, cmd.body_len,
			 now - p->sent_ns);
	if (!got) {
		fail(b, "queue %u: pull at %llu answered SUCCESS with no records",
		     p->q->id, (unsigned long long)p->off);
		goto out;
	}
	/* A short answer: ask for the rest of its range again. */
	if (p->off + got < p->end)
		ret = add_pull_range(dc, p->q, p->off + got, p->end);
	else
		ret = add_pull(dc, p->q);
out:
	kmq_rmt_cmd_free(&cmd);
	return ret;
}

/*
 * Stamp the pulls just written. Pulls are stamped by the write that sent
 * them, so the send time is taken once per write.
 */
static void stamp(struct dconn *dc, uint64_t now)
{
	uint32_t i;

	for (i = 0; i < dc->cap; i++)
		if (dc->pulls[i].busy && !dc->pulls[i].sent_ns)
			dc->pulls[i].sent_ns = now;
}

static int flush_out(struct dconn *dc)
{
	int ret;

	if (!dc->out.len)
		return 0;
	stamp(dc, bench_now_ns());
	ret = bench_conn_write(&dc->c, dc->out.data, dc->out.len);
	dc->out.len = 0;
	return ret;
}

static void *conn_main(void *arg)
{
	struct dconn *dc = arg;
	struct drain *b = dc->b;
	const uint8_t *f;
	uint32_t i, k;
	uint64_t now;
	char name[16];
	size_t len;
	long r;
	int ret = 0;

	snprintf(name, sizeof(name), "drain%u", dc->id);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&b->go);
	dc->last_resp_ns = bench_now_ns();
	for (k = 0; k < b->o.depth && !ret; k++)
		for (i = 0; i < dc->nqueues && !ret; i++)
			ret = add_pull(dc, dc->queues[i]);
	while (!ret && dc->outstanding &&
	       !__atomic_load_n(&b->stop, __ATOMIC_RELAXED)) {
		ret = flush_out(dc);
		if (ret) {
			fail(b, "connection %u: write: %s", dc->id,
			     strerror(-ret));
			break;
		}
		r = bench_conn_read(&dc->c);
		now = bench_now_ns();
		if (r == -EAGAIN) {
			if (now - dc->last_resp_ns >
			    (uint64_t)b->o.timeout_ms * 1000000) {
				fail(b, "connection %u: no response for %u ms",
				     dc->id, b->o.timeout_ms);
				break;
			}
			continue;
		}
		if (r < 0) {
			fail(b, "connection %u: read: %s", dc->id,
			     strerror((int)-r));
			break;
		}
		dc->last_resp_ns = now;
		for (;;) {
			ret = bench_conn_frame(&dc->c, &f, &len);
			if (ret <= 0)
				break;
			ret = handle_frame(dc, f, len, now);
			if (ret)
				break;
		}
		if (ret == -EPROTO)
			fail(b, "connection %u: bad frame from the broker",
			     dc->id);
	}
	if (ret == -ENOMEM)
		fail(b, "connection %u: out of memory", dc->id);
	__atomic_fetch_sub(&b->live, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* One offset request (30 or 31) on the control connection. */
static int ask_offset(struct drain *b, struct bench_conn *c, int code,
		      uint32_t q, uint64_t *out)
{
	struct kmq_rmt_cmd req, resp;
	int64_t v;
	int ret;

	ret = kmq_rmt_request(&req, code, 0, b->o.ser);
	if (!ret)
		ret = kmq_rmt_set_ext(&req, "topic", b->o.topic) ||
		      kmq_rmt_set_extf(&req, "queueId", "%u", q) ?
		      -ENOMEM : 0;
	if (!ret)
		ret = bench_rpc(c, &req, NULL, 0, &resp, RPC_TIMEOUT_MS);
	kmq_rmt_cmd_free(&req);
	if (ret)
		return ret;
	if (resp.code != BENCH_RESP_SUCCESS ||
	    kmq_rmt_ext_i64(&resp, "offset", &v) || v < 0) {
		fprintf(stderr, "kmq-bench drain: %s offset of %s queue %u: code %d %s\n",
			code == BENCH_REQ_GET_MAX_OFFSET ? "max" : "min",
			b->o.topic, q, resp.code,
			resp.remark ? resp.remark : "");
		ret = -EPROTO;
	} else {
		*out = (uint64_t)v;
	}
	kmq_rmt_cmd_free(&resp);
	return ret;
}

static int ask_offsets(struct drain *b)
{
	struct bench_conn c;
	struct dqueue *q;
	uint32_t i;
	int ret;

	ret = bench_conn_open(&c, b->o.broker, b->o.connect_ms);
	if (ret)
		return ret;
	for (i = 0; i < b->o.queues && !ret; i++) {
		q = &b->queues[i];
		q->id = i;
		ret = ask_offset(b, &c, BENCH_REQ_GET_MIN_OFFSET, i, &q->min);
		if (!ret)
			ret = ask_offset(b, &c, BENCH_REQ_GET_MAX_OFFSET, i,
					 &q->max);
		if (!ret && q->min > q->max)
			q->min = q->max;
		q->next = q->min;
	}
	bench_conn_close(&c);
	return ret;
}

static int setup_conns(struct drain *b)
{
	const struct opts *o = &b->o;
	struct dconn *dc;
	unsigned int i;
	uint32_t k, n;
	int ret;

	b->conns = calloc(o->connections, sizeof(*b->conns));
	if (!b->conns)
		return -ENOMEM;
	for (i = 0; i < o->connections; i++) {
		dc = &b->conns[i];
		dc->b = b;
		dc->id = i;
		dc->c.fd = -1;
		n = (o->queues - i + o->connections - 1) / o->connections;
		dc->queues = calloc(n ? n : 1, sizeof(*dc->queues));
		for (k = i; k < o->queues; k += o->connections)
			dc->queues[dc->nqueues++] = &b->queues[k];
		dc->cap = 1;
		while (dc->cap < (n ? n : 1) * o->depth)
			dc->cap <<= 1;
		dc->pulls = calloc(dc->cap, sizeof(*dc->pulls));
		dc->free = calloc(dc->cap, sizeof(*dc->free));
		if (!dc->queues || !dc->pulls || !dc->free)
			return -ENOMEM;
		for (k = 0; k < dc->cap; k++)
			dc->free[k] = dc->cap - 1 - k;
		dc->nfree = dc->cap;
		ret = kmq_rmt_request(&dc->req, BENCH_REQ_PULL_MESSAGE, 0,
				      o->ser);
		if (!ret)
			ret = kmq_rmt_set_ext(&dc->req, "consumerGroup",
					      o->group) ||
			      kmq_rmt_set_ext(&dc->req, "topic", o->topic) ||
			      kmq_rmt_set_ext(&dc->req, "queueId", "0") ||
			      kmq_rmt_set_ext(&dc->req, "queueOffset", "0") ||
			      kmq_rmt_set_ext(&dc->req, "maxMsgNums", "32") ||
			      kmq_rmt_set_ext(&dc->req, "sysFlag", "0") ||
			      kmq_rmt_set_ext(&dc->req, "commitOffset", "0") ||
			      kmq_rmt_set_ext(&dc->req, "suspendTimeoutMillis",
					      "0") ||
			      kmq_rmt_set_ext(&dc->req, "subscription", "*") ||
			      kmq_rmt_set_ext(&dc->req, "subVersion", "0") ||
			      kmq_rmt_set_ext(&dc->req, "expressionType",
					      "TAG") ? -ENOMEM : 0;
		if (ret)
			return ret;
		ret = bench_conn_open(&dc->c, o->broker, o->connect_ms);
		if (ret)
			return ret;
		bench_worker_init(&b->workers[i]);
	}
	return 0;
}

static void free_conns(struct drain *b)
{
	struct dconn *dc;
	unsigned int i;

	if (!b->conns)
		return;
	for (i = 0; i < b->o.connections; i++) {
		dc = &b->conns[i];
		bench_conn_close(&dc->c);
		kmq_rmt_cmd_free(&dc->req);
		kmq_buf_free(&dc->out);
		free(dc->queues);
		free(dc->pulls);
		free(dc->free);
		free(dc->pattern);
	}
	free(b->conns);
}

void bench_drain_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench drain --broker HOST:PORT [options]\n"
		"  Reads a topic's backlog with PULL_MESSAGE (11): every queue from its\n"
		"  min offset to the max offset it had at the start (GET_MIN_OFFSET 31,\n"
		"  GET_MAX_OFFSET 30), and checks every record: BODYCRC, queue, offset,\n"
		"  topic and the body written by kmq-bench produce. MB/s counts body\n"
		"  bytes; the record figures count pull response bodies (whole records).\n"
		"    --broker HOST:PORT  the broker (default 127.0.0.1:10911)\n"
		"    --topic NAME        topic (default BenchTopic)\n"
		"    --queues N          queues to read, 0..N-1 (default 8)\n"
		"    --connections N     connections, one thread each; queue q goes to\n"
		"                        connection q %% N (default 1)\n"
		"    --depth N           pulls outstanding per queue (default 1)\n"
		"    --max-msgs N        maxMsgNums of a pull (default %u)\n"
		"    --serialize FMT     header format: rocketmq (binary, default) or json\n"
		"    --group NAME        consumerGroup (default BenchDrain); no offsets\n"
		"                        are committed\n"
		"    --verify WHAT       all (default): decode and check every record;\n"
		"                        none: walk TOTALSIZE only\n"
		"    --connect-timeout MS  keep retrying a refused connect (default 2000)\n"
		"    --timeout MS        fail when no response comes for MS (default 30000)\n"
		"    --json              summary as one JSON object on stdout\n"
		"    --quiet             no per-second progress lines on stderr\n"
		"  Latency is per pull. Exit status: 0, 1 when a record is missing,\n"
		"  misplaced or corrupted or a pull fails, 2 for bad arguments or setup.\n",
		PULL_MAX_MSGS);
}

enum {
	OPT_BROKER = 256,
	OPT_TOPIC,
	OPT_QUEUES,
	OPT_CONNECTIONS,
	OPT_DEPTH,
	OPT_MAX_MSGS,
	OPT_SERIALIZE,
	OPT_GROUP,
	OPT_VERIFY,
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
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "max-msgs", required_argument, NULL, OPT_MAX_MSGS },
	{ "serialize", required_argument, NULL, OPT_SERIALIZE },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "verify", required_argument, NULL, OPT_VERIFY },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad_arg(const char *opt, const char *val)
{
	fprintf(stderr, "kmq-bench drain: bad value '%s' for --%s\n", val,
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
	o->group = "BenchDrain";
	o->queues = 8;
	o->connections = 1;
	o->depth = 1;
	o->max_msgs = PULL_MAX_MSGS;
	o->ser = KMQ_RMT_ROCKETMQ;
	o->verify = true;
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
		case OPT_CONNECTIONS:
			if (bench_parse_u32(optarg, false, MAX_CONNECTIONS,
					    &o->connections) || !o->connections)
				return bad_arg(name, optarg);
			break;
		case OPT_DEPTH:
			if (bench_parse_u32(optarg, false, MAX_DEPTH,
					    &o->depth) || !o->depth)
				return bad_arg(name, optarg);
			break;
		case OPT_MAX_MSGS:
			if (bench_parse_u32(optarg, false, 65536,
					    &o->max_msgs) || !o->max_msgs)
				return bad_arg(name, optarg);
			break;
		case OPT_SERIALIZE:
			if (bench_parse_serialize(optarg, &o->ser))
				return bad_arg(name, optarg);
			break;
		case OPT_GROUP:
			o->group = optarg;
			break;
		case OPT_VERIFY:
			if (!strcmp(optarg, "all"))
				o->verify = true;
			else if (!strcmp(optarg, "none"))
				o->verify = false;
			else
				return bad_arg(name, optarg);
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
			bench_drain_usage(stdout);
			return 1;
		default:
			fprintf(stderr, "kmq-bench drain: see kmq-bench drain --help\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kmq-bench drain: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->connections > o->queues)
		o->connections = o->queues;
	return 0;
}

static int run(struct drain *b, struct bench_phase *ph)
{
	const struct opts *o = &b->o;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
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
		fprintf(stderr, "kmq-bench: cannot start connection thread %u: %s\n",
			started, strerror(err));
		exit(2);
	}
	err = bench_phase_start(ph, "drain", "pull", b->workers,
				o->connections, o->quiet);
	if (err)
		return err;
	pthread_barrier_wait(&b->go);
	while (__atomic_load_n(&b->live, __ATOMIC_ACQUIRE)) {
		if (bench_interrupted)
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
	uint64_t expected;
	uint64_t got;
	uint64_t verified;
	uint64_t pulls;
};

static void sum_up(struct drain *b, struct outcome *r)
{
	const struct dqueue *q;
	unsigned int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < b->o.queues; i++) {
		q = &b->queues[i];
		r->expected += q->max - q->min;
		r->got += q->got;
		if (q->got != q->max - q->min && !bench_interrupted)
			fail(b, "queue %u: %llu records read, [%llu, %llu) expected",
			     q->id, (unsigned long long)q->got,
			     (unsigned long long)q->min,
			     (unsigned long long)q->max);
	}
	for (i = 0; i < b->o.connections; i++) {
		r->verified += b->conns[i].verified;
		r->pulls += b->conns[i].pull_calls;
	}
}

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static void print_json(struct drain *b, const struct bench_phase *ph,
		       const struct outcome *r)
{
	const struct opts *o = &b->o;
	json_t *j = json_object(), *c = json_object(), *cpu, *p;

	jset(c, "broker", json_string(o->broker));
	jset(c, "topic", json_string(o->topic));
	jset(c, "queues", json_integer(o->queues));
	jset(c, "connections", json_integer(o->connections));
	jset(c, "depth", json_integer(o->depth));
	jset(c, "max_msgs", json_integer(o->max_msgs));
	jset(c, "serialize", json_string(bench_serialize_name(o->ser)));
	jset(c, "verify", json_string(o->verify ? "all" : "none"));

	p = bench_phase_json(ph);
	jset(p, "expected", json_integer(r->expected));
	jset(p, "verified", json_integer(r->verified));
	jset(p, "pulls", json_integer(r->pulls));

	jset(j, "mode", json_string("drain"));
	cpu = json_object();
	jset(cpu, "user", json_real(r->cpu_user));
	jset(cpu, "system", json_real(r->cpu_sys));
	jset(j, "cpu_s", cpu);
	jset(j, "config", c);
	jset(j, "drain", p);
	bench_failures_json(j, &b->fails);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	json_decref(j);
}

static void print_text(struct drain *b, const struct bench_phase *ph,
		       const struct outcome *r)
{
	const struct opts *o = &b->o;

	printf("drain: %s topic %s, %u queue(s), %u connection(s), depth %u, %s headers\n",
	       o->broker, o->topic, o->queues, o->connections, o->depth,
	       bench_serialize_name(o->ser));
	bench_phase_print(ph, stdout);
	printf("  expected %llu, read %llu, checked %llu (verify %s), pulls %llu\n",
	       (unsigned long long)r->expected, (unsigned long long)r->got,
	       (unsigned long long)r->verified, o->verify ? "all" : "none",
	       (unsigned long long)r->pulls);
	printf("  kmq-bench CPU: %.2f s user, %.2f s system\n", r->cpu_user,
	       r->cpu_sys);
	printf("%s: %llu failure(s)\n", b->fails.count ? "FAILED" : "ok",
	       (unsigned long long)b->fails.count);
}

int bench_drain_main(int argc, char **argv)
{
	struct bench_phase ph;
	double cpu_user, cpu_sys;
	struct outcome r;
	struct drain b;
	int ret, status = 2;

	memset(&b, 0, sizeof(b));
	ret = parse_opts(&b.o, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;

	bench_catch_signals();

	b.queues = calloc(b.o.queues, sizeof(*b.queues));
	if (posix_memalign((void **)&b.workers, 64,
			   b.o.connections * sizeof(*b.workers)) ||
	    !b.queues) {
		fprintf(stderr, "kmq-bench drain: out of memory\n");
		goto out;
	}
	ret = ask_offsets(&b);
	if (ret)
		goto out;
	ret = setup_conns(&b);
	if (ret) {
		if (ret == -ENOMEM)
			fprintf(stderr, "kmq-bench drain: out of memory\n");
		goto out;
	}
	if (!b.o.quiet) {
		uint64_t n = 0;
		unsigned int i;

		for (i = 0; i < b.o.queues; i++)
			n += b.queues[i].max - b.queues[i].min;
		fprintf(stderr, "drain: %s topic %s, %llu records, %u queue(s), %u connection(s)\n",
			b.o.broker, b.o.topic, (unsigned long long)n,
			b.o.queues, b.o.connections);
	}
	bench_cpu_s(&cpu_user, &cpu_sys);
	ret = run(&b, &ph);
	if (ret) {
		fprintf(stderr, "kmq-bench drain: %s\n", strerror(-ret));
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
	free(b.queues);
	return status;
}
