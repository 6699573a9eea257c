// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_ropts.c - one table of the client modes' flags: which modes have
 * each, its help text there, and how it is parsed (see bench_ropts.h).
 * A flag that means something different in two modes has one entry per
 * meaning, with the same id.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_body.h"
#include "bench_ropts.h"

#define P	BENCH_M_PRODUCE
#define C	BENCH_M_CONSUME
#define L	BENCH_M_PIPELINE
#define D	BENCH_M_DRAIN

enum {
	O_NAMESRV = 256,
	O_BROKER,
	O_TOPIC,
	O_QUEUES,
	O_NO_CREATE,
	O_SERIALIZE,
	O_CONNECT_TIMEOUT,
	O_JSON,
	O_QUIET,
	O_SIZE,
	O_CONNECTIONS,
	O_THREADS,
	O_INFLIGHT,
	O_BATCH,
	O_DURATION,
	O_COUNT,
	O_RATE,
	O_PRODUCER_GROUP,
	O_FLUSH,
	O_CHECK,
	O_COMPRESS,
	O_TIMEOUT,
	O_GROUP,
	O_CONSUMERS,
	O_CONSUME_THREADS,
	O_CONSUME_BATCH,
	O_PULL_BATCH,
	O_FROM,
	O_IDLE,
	O_DRAIN_TIMEOUT,
	O_VERIFY,
	O_HELP,
};

/**
 * struct ropt - one flag in some modes.
 * @arg: its value's name, NULL for a flag without one
 */
struct ropt {
	const char *name;
	int id;
	unsigned int modes;
	const char *arg;
	const char *help;
};

static const struct ropt ropts[] = {
	{ "namesrv", O_NAMESRV, P | C | L | D, "HOST:PORT[;...]",
	  "name servers (default 127.0.0.1:9876)" },
	{ "topic", O_TOPIC, P | C | L | D, "NAME", "topic (default BenchTopic)" },
	{ "queues", O_QUEUES, P | L, "N",
	  "the topic's read and write queues when created (default 8)" },
	{ "broker", O_BROKER, P | L, "HOST:PORT",
	  "create the topic on this broker only (default: on every master\n"
	  "the name server's cluster info lists)" },
	{ "no-create", O_NO_CREATE, P | L, NULL,
	  "do not create the topic (UPDATE_AND_CREATE_TOPIC, 17): it exists" },
	{ "size", O_SIZE, P | L, "BYTES",
	  "body size: the 36-byte header (bench_body.h) to 4M\n"
	  "(default 1024)" },
	{ "connections", O_CONNECTIONS, P | L, "N",
	  "producers, each with its own connection (default 1)" },
	{ "connections", O_CONNECTIONS, D, "N",
	  "pull consumers, each with its own connection (default 1)" },
	{ "threads", O_THREADS, P | L, "N",
	  "sending threads per producer (default 1)" },
	{ "threads", O_THREADS, D, "N",
	  "pulling threads per pull consumer; queue q goes to thread\n"
	  "q % (connections x threads) (default 1)" },
	{ "inflight", O_INFLIGHT, P | L, "N",
	  "async sends in flight per producer: libkmq's window\n"
	  "(async_inflight_max); a send waits for a free slot (default 1)" },
	{ "inflight", O_INFLIGHT, D, "N",
	  "pulls in flight per thread, spread over its queues (default 8)" },
	{ "batch", O_BATCH, P | L, "N",
	  "messages per send: 1 sends SEND_MESSAGE_V2 (310), more\n"
	  "SEND_BATCH_MESSAGE (320) to one queue (default 1)" },
	{ "duration", O_DURATION, P | L, "SEC",
	  "how long to send (default 10, unless --count)" },
	{ "count", O_COUNT, P | L, "N",
	  "messages to send in all (split over the senders); with\n"
	  "--duration, whichever comes first" },
	{ "rate", O_RATE, P | L, "N",
	  "send N messages a second in all, paced per sender (default:\n"
	  "as fast as the window allows); a pipeline below saturation\n"
	  "shows end-to-end latency without queueing" },
	{ "duration", O_DURATION, C, "SEC",
	  "stop after SEC seconds (default: --count or --idle-timeout)" },
	{ "count", O_COUNT, C, "N",
	  "stop once N distinct messages came; fewer at the end are lost" },
	{ "producer-group", O_PRODUCER_GROUP, P | L, "NAME",
	  "producer group (default BenchProducer)" },
	{ "flush", O_FLUSH, P | L, "MODE",
	  "the broker's flushDiskType expected: sync makes a send answered\n"
	  "FLUSH_DISK_TIMEOUT (stored, not synced) a failure; async and any\n"
	  "(default) count it" },
	{ "check-responses", O_CHECK, P | L, NULL,
	  "check every send result: a msgId, queueOffset increasing per\n"
	  "producer and queue" },
	{ "compress", O_COMPRESS, P | L, NULL,
	  "let libkmq zlib bodies of 4 KiB or more (default: off, so MB/s\n"
	  "are the bytes sent)" },
	{ "timeout", O_TIMEOUT, P | L, "MS",
	  "a send's timeout, retries included (default 10000)" },
	{ "timeout", O_TIMEOUT, D, "MS",
	  "a pull's timeout (default 10000)" },
	{ "group", O_GROUP, C | L, "NAME",
	  "consumer group (default BenchConsumer); offsets are committed" },
	{ "group", O_GROUP, D, "NAME",
	  "the pull consumer's group (default BenchDrain); no offsets are\n"
	  "committed" },
	{ "consumers", O_CONSUMERS, C | L, "N",
	  "push consumers in the group, each with its own connection; the\n"
	  "queues are split among them (default 1)" },
	{ "consume-threads", O_CONSUME_THREADS, C | L, "N",
	  "listener threads per consumer (default 4)" },
	{ "consume-batch", O_CONSUME_BATCH, C | L, "N",
	  "messages per listener call, consume_batch_max (default 1)" },
	{ "pull-batch", O_PULL_BATCH, C | L, "N",
	  "messages per pull, 1..32 (default 32)" },
	{ "pull-batch", O_PULL_BATCH, D, "N",
	  "messages per pull, maxMsgNums 1..32 (default 32)" },
	{ "from", O_FROM, C | L, "WHERE",
	  "first or last: where a queue without a committed offset\n"
	  "starts (default first)" },
	{ "idle-timeout", O_IDLE, C, "SEC",
	  "stop when no message came for SEC seconds (default 10)" },
	{ "drain-timeout", O_DRAIN_TIMEOUT, L, "SEC",
	  "after the last acknowledgment, how long the consumers may take\n"
	  "to receive every acknowledged message (default 30)" },
	{ "verify", O_VERIFY, D, "WHAT",
	  "all (default): check every body and its place; none: count only" },
	{ "serialize", O_SERIALIZE, P | C | L | D, "FMT",
	  "request headers: rocketmq (binary, default) or json" },
	{ "connect-timeout", O_CONNECT_TIMEOUT, P | C | L | D, "MS",
	  "TCP connect (default 3000)" },
	{ "json", O_JSON, P | C | L | D, NULL,
	  "summary as one JSON object on stdout" },
	{ "quiet", O_QUIET, P | C | L | D, NULL,
	  "no per-second progress lines on stderr" },
};

const char *bench_serialize_name(enum kmq_serialize ser)
{
	return ser == KMQ_SERIALIZE_JSON ? "json" : "rocketmq";
}

const char *bench_flush_name(enum bench_flush flush)
{
	static const char * const names[] = { "any", "async", "sync" };

	return names[flush];
}

void bench_ropts_usage(FILE *f, unsigned int mode)
{
	const struct ropt *r;
	const char *h, *nl;
	char lhs[48];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ropts); i++) {
		r = &ropts[i];
		if (!(r->modes & mode))
			continue;
		snprintf(lhs, sizeof(lhs), "--%s%s%s", r->name,
			 r->arg ? " " : "", r->arg ? r->arg : "");
		fprintf(f, "    %-22s", lhs);
		if (strlen(lhs) > 22)
			fprintf(f, "\n    %-22s", "");
		for (h = r->help; h; h = nl ? nl + 1 : NULL) {
			nl = strchr(h, '\n');
			fprintf(f, " %.*s\n", nl ? (int)(nl - h) : (int)strlen(h),
				h);
			if (nl)
				fprintf(f, "    %-22s", "");
		}
	}
}

static void defaults(struct bench_ropts *o, unsigned int mode,
		     const char *name)
{
	memset(o, 0, sizeof(*o));
	o->mode = mode;
	o->name = name;
	o->namesrv = "127.0.0.1:9876";
	o->topic = "BenchTopic";
	o->queues = 8;
	o->create = true;
	o->ser = KMQ_SERIALIZE_ROCKETMQ;
	o->connect_ms = 3000;
	o->size = 1024;
	o->connections = 1;
	o->threads = 1;
	o->inflight = mode == BENCH_M_DRAIN ? 8 : 1;
	o->batch = 1;
	o->duration_s = mode == BENCH_M_CONSUME ? 0 : 10;
	o->producer_group = "BenchProducer";
	o->timeout_ms = 10000;
	o->group = mode == BENCH_M_DRAIN ? "BenchDrain" : "BenchConsumer";
	o->consumers = 1;
	o->consume_threads = 4;
	o->consume_batch = 1;
	o->pull_batch = 32;
	o->from = KMQ_CONSUME_FROM_FIRST_OFFSET;
	o->idle_s = 10;
	o->drain_timeout_s = 30;
	o->verify = true;
}

static int bad_value(const struct bench_ropts *o, const char *flag, const char *v)
{
	fprintf(stderr, "kmq-bench %s: bad value '%s' for --%s\n", o->name, v,
		flag);
	return -EINVAL;
}

/* A u32 flag in [@min, @max]. */
static int u32_in(const struct bench_ropts *o, const char *flag,
		  const char *v, bool suffix, uint32_t min, uint32_t max,
		  uint32_t *out)
{
	if (bench_parse_u32(v, suffix, max, out) || *out < min)
		return bad_value(o, flag, v);
	return 0;
}

static int one(struct bench_ropts *o, int id, const char *flag,
	       const char *v)
{
	switch (id) {
	case O_NAMESRV:
		o->namesrv = v;
		return *v ? 0 : bad_value(o, flag, v);
	case O_BROKER:
		o->broker = v;
		return *v ? 0 : bad_value(o, flag, v);
	case O_TOPIC:
		o->topic = v;
		return 0;
	case O_QUEUES:
		return u32_in(o, flag, v, false, 1, BENCH_MAX_QUEUES,
			      &o->queues);
	case O_NO_CREATE:
		o->create = false;
		return 0;
	case O_SERIALIZE:
		if (!strcasecmp(v, "json"))
			o->ser = KMQ_SERIALIZE_JSON;
		else if (!strcasecmp(v, "rocketmq"))
			o->ser = KMQ_SERIALIZE_ROCKETMQ;
		else
			return bad_value(o, flag, v);
		return 0;
	case O_CONNECT_TIMEOUT:
		return u32_in(o, flag, v, false, 1, 600000, &o->connect_ms);
	case O_JSON:
		o->json = true;
		return 0;
	case O_QUIET:
		o->quiet = true;
		return 0;
	case O_SIZE:
		return u32_in(o, flag, v, true, BENCH_BODY_MIN, BENCH_MAX_SIZE,
			      &o->size);
	case O_CONNECTIONS:
		return u32_in(o, flag, v, false, 1, BENCH_MAX_CONNECTIONS,
			      &o->connections);
	case O_THREADS:
		return u32_in(o, flag, v, false, 1, BENCH_MAX_THREADS,
			      &o->threads);
	case O_INFLIGHT:
		return u32_in(o, flag, v, false, 1, BENCH_MAX_INFLIGHT,
			      &o->inflight);
	case O_BATCH:
		return u32_in(o, flag, v, false, 1, BENCH_MAX_BATCH,
			      &o->batch);
	case O_DURATION:
		if (bench_parse_u64(v, false, &o->duration_s) ||
		    !o->duration_s || o->duration_s > 3 * 86400)
			return bad_value(o, flag, v);
		o->duration_set = true;
		return 0;
	case O_COUNT:
		if (bench_parse_u64(v, true, &o->count) || !o->count ||
		    o->count > BENCH_MAX_CONNECTIONS * BENCH_MAX_THREADS *
		    (1ull << 32))
			return bad_value(o, flag, v);
		return 0;
	case O_RATE:
		if (bench_parse_u64(v, true, &o->rate) || !o->rate ||
		    o->rate > 100000000)
			return bad_value(o, flag, v);
		return 0;
	case O_PRODUCER_GROUP:
		o->producer_group = v;
		return 0;
	case O_FLUSH:
		if (!strcasecmp(v, "any"))
			o->flush = BENCH_FLUSH_ANY;
		else if (!strcasecmp(v, "async") ||
			 !strcasecmp(v, "ASYNC_FLUSH"))
			o->flush = BENCH_FLUSH_ASYNC;
		else if (!strcasecmp(v, "sync") ||
			 !strcasecmp(v, "SYNC_FLUSH"))
			o->flush = BENCH_FLUSH_SYNC;
		else
			return bad_value(o, flag, v);
		return 0;
	case O_CHECK:
		o->check = true;
		return 0;
	case O_COMPRESS:
		o->compress = true;
		return 0;
	case O_TIMEOUT:
		return u32_in(o, flag, v, false, 1, 3600000, &o->timeout_ms);
	case O_GROUP:
		o->group = v;
		return 0;
	case O_CONSUMERS:
		return u32_in(o, flag, v, false, 1, BENCH_MAX_CONSUMERS,
			      &o->consumers);
	case O_CONSUME_THREADS:
		return u32_in(o, flag, v, false, 1, 256, &o->consume_threads);
	case O_CONSUME_BATCH:
		return u32_in(o, flag, v, false, 1, 1024, &o->consume_batch);
	case O_PULL_BATCH:
		return u32_in(o, flag, v, false, 1, 32, &o->pull_batch);
	case O_FROM:
		if (!strcmp(v, "first"))
			o->from = KMQ_CONSUME_FROM_FIRST_OFFSET;
		else if (!strcmp(v, "last"))
			o->from = KMQ_CONSUME_FROM_LAST_OFFSET;
		else
			return bad_value(o, flag, v);
		return 0;
	case O_IDLE:
		return u32_in(o, flag, v, false, 1, 86400, &o->idle_s);
	case O_DRAIN_TIMEOUT:
		return u32_in(o, flag, v, false, 1, 86400,
			      &o->drain_timeout_s);
	case O_VERIFY:
		if (!strcmp(v, "all"))
			o->verify = true;
		else if (!strcmp(v, "none"))
			o->verify = false;
		else
			return bad_value(o, flag, v);
		return 0;
	}
	return -EINVAL;
}

/* Checks between flags, once all are read. */
static int cross_check(struct bench_ropts *o)
{
	uint64_t senders = (uint64_t)o->connections * o->threads;

	if (!*o->topic || strlen(o->topic) > KMQ_TOPIC_MAX) {
		fprintf(stderr, "kmq-bench %s: the topic must be 1 to %d bytes\n",
			o->name, KMQ_TOPIC_MAX);
		return -EINVAL;
	}
	if ((o->mode & (P | L)) &&
	    (uint64_t)o->batch * o->size > BENCH_MAX_SIZE) {
		fprintf(stderr, "kmq-bench %s: --batch %u of --size %u is over %u bytes\n",
			o->name, o->batch, o->size, BENCH_MAX_SIZE);
		return -EINVAL;
	}
	if ((o->mode & (P | L)) && o->count && o->count < senders) {
		fprintf(stderr, "kmq-bench %s: --count %llu is fewer than the %llu senders\n",
			o->name, (unsigned long long)o->count,
			(unsigned long long)senders);
		return -EINVAL;
	}
	/* --count alone sends that many, however long it takes. */
	if ((o->mode & (P | L)) && o->count && !o->duration_set)
		o->duration_s = 0;
	return 0;
}

int bench_ropts_parse(struct bench_ropts *o, unsigned int mode,
		      const char *name, int argc, char **argv)
{
	struct option lo[ARRAY_SIZE(ropts) + 2];
	const struct ropt *map[ARRAY_SIZE(ropts)];
	unsigned int i, n = 0;
	int c, idx, ret;

	defaults(o, mode, name);
	for (i = 0; i < ARRAY_SIZE(ropts); i++) {
		if (!(ropts[i].modes & mode))
			continue;
		map[n] = &ropts[i];
		lo[n].name = ropts[i].name;
		lo[n].has_arg = ropts[i].arg ? required_argument : no_argument;
		lo[n].flag = NULL;
		lo[n].val = ropts[i].id;
		n++;
	}
	lo[n++] = (struct option){ "help", no_argument, NULL, O_HELP };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };

	optind = 1;
	for (;;) {
		idx = -1;
		c = getopt_long(argc, argv, "h", lo, &idx);
		if (c == -1)
			break;
		if (c == 'h' || c == O_HELP) {
			printf("  kmq-bench %s [options]\n", name);
			bench_ropts_usage(stdout, mode);
			return 1;
		}
		if (c == '?' || idx < 0 || idx >= (int)n - 1) {
			fprintf(stderr, "kmq-bench %s: see kmq-bench %s --help\n",
				name, name);
			return -EINVAL;
		}
		ret = one(o, c, map[idx]->name, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "kmq-bench %s: unexpected argument '%s'\n",
			name, argv[optind]);
		return -EINVAL;
	}
	return cross_check(o);
}
