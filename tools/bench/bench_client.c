// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_client.c - libkmq settings from kmq-bench's flags, and the topic
 * a run needs (see bench_client.h). Requests go through libkmq's raw
 * request API (kmq_client_request()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "kmqd_codes.h"

#include "bench.h"
#include "bench_client.h"

#define ROUTE_WAIT_MS	10000	/* for a topic just created */
#define LOOKUP_WAIT_MS	3000	/* for one that should exist */
#define MAX_BROKERS	64

/* KMQ_BENCH_LOG=error|warn|info|debug: libkmq's log level (warn). */
static void log_level(void)
{
	static const char * const names[] = { "error", "warn", "info",
					      "debug" };
	const char *v = getenv("KMQ_BENCH_LOG");
	unsigned int i;

	for (i = 0; v && i < ARRAY_SIZE(names); i++)
		if (!strcmp(v, names[i]))
			kmq_set_log((enum kmq_log_level)i, NULL, NULL);
}

void bench_client_config(struct kmq_client_config *cfg,
			 const struct bench_ropts *o)
{
	log_level();
	kmq_client_config_init(cfg);
	cfg->namesrv_addr = o->namesrv;
	cfg->serialize = o->ser;
	cfg->connect_timeout_ms = o->connect_ms;
	cfg->request_timeout_ms = o->timeout_ms > 3000 ? o->timeout_ms : 3000;
}

static int fail_msg(const struct bench_ropts *o, int err, const char *what)
{
	fprintf(stderr, "kmq-bench %s: %s: %s\n", o->name, what,
		kmq_errmsg());
	return err;
}

/* The masters' addresses from the name server's cluster info (106). */
static int masters(const struct bench_ropts *o, struct kmq_client *c,
		   char (*addrs)[KMQ_ADDR_MAX + 1], unsigned int *n)
{
	struct kmq_response *r;
	json_t *doc, *table, *d, *a;
	json_error_t jerr;
	const char *name;
	int ret;

	ret = kmq_client_request(c, NULL, KMQ_REQ_GET_BROKER_CLUSTER_INFO,
				 NULL, 0, NULL, 0, 0, &r);
	if (ret)
		return fail_msg(o, ret, "cluster info (106)");
	if (r->code) {
		fprintf(stderr, "kmq-bench %s: cluster info (106): code %d %s\n",
			o->name, r->code, r->remark ? r->remark : "");
		kmq_response_free(r);
		return -EPROTO;
	}
	doc = r->body_len ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
	kmq_response_free(r);
	table = json_object_get(doc, "brokerAddrTable");
	*n = 0;
	json_object_foreach(table, name, d) {
		a = json_object_get(json_object_get(d, "brokerAddrs"), "0");
		if (!json_is_string(a) || *n == MAX_BROKERS ||
		    json_string_length(a) > KMQ_ADDR_MAX)
			continue;
		snprintf(addrs[(*n)++], KMQ_ADDR_MAX + 1, "%s",
			 json_string_value(a));
	}
	json_decref(doc);
	return *n ? 0 : -ENOENT;
}

/*
 * The masters, waiting for a broker to register: a name server started
 * with its broker (kmqd all) knows none for a moment.
 */
static int wait_masters(const struct bench_ropts *o, struct kmq_client *c,
			char (*addrs)[KMQ_ADDR_MAX + 1], unsigned int *n)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	unsigned int waited = 0;
	int ret;

	for (;;) {
		ret = masters(o, c, addrs, n);
		if (ret != -ENOENT)
			return ret;
		if (waited >= ROUTE_WAIT_MS) {
			fprintf(stderr, "kmq-bench %s: no master broker after %u s (--broker?)\n",
				o->name, ROUTE_WAIT_MS / 1000);
			return ret;
		}
		nanosleep(&nap, NULL);
		waited += 50;
	}
}

static int create_on(const struct bench_ropts *o, struct kmq_client *c,
		     const char *addr)
{
	char q[16];
	const struct kmq_field f[] = {
		{ "topic", o->topic },
		{ "defaultTopic", "TBW102" },
		{ "readQueueNums", q },
		{ "writeQueueNums", q },
		{ "perm", "6" },
		{ "topicFilterType", "SINGLE_TAG" },
		{ "topicSysFlag", "0" },
		{ "order", "false" },
	};
	struct kmq_response *r;
	int ret;

	snprintf(q, sizeof(q), "%u", o->queues);
	ret = kmq_client_request(c, addr, KMQ_REQ_UPDATE_AND_CREATE_TOPIC, f,
				 ARRAY_SIZE(f), NULL, 0, 0, &r);
	if (ret)
		return fail_msg(o, ret, "creating the topic");
	if (r->code) {
		fprintf(stderr, "kmq-bench %s: creating topic %s on %s: code %d %s\n",
			o->name, o->topic, addr, r->code,
			r->remark ? r->remark : "");
		ret = -EPROTO;
	}
	kmq_response_free(r);
	return ret;
}

/* Is the route what was created: every broker's queues o->queues? */
static bool route_ready(const struct bench_ropts *o,
			const struct kmq_topic_route *rt, unsigned int want)
{
	unsigned int i;

	if (rt->nqueues < want)
		return false;
	for (i = 0; i < rt->nqueues; i++)
		if (rt->queues[i].read_queues != (int)o->queues ||
		    rt->queues[i].write_queues != (int)o->queues)
			return false;
	return true;
}

static unsigned int readable(const struct kmq_topic_route *rt)
{
	unsigned int i, n = 0;

	for (i = 0; i < rt->nqueues; i++)
		if (rt->queues[i].perm & KMQ_QUEUE_PERM_READ)
			n += rt->queues[i].read_queues;
	return n;
}

int bench_topic_prepare(const struct bench_ropts *o, unsigned int *nqueues)
{
	static char addrs[MAX_BROKERS][KMQ_ADDR_MAX + 1];
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	struct kmq_client_config cfg;
	struct kmq_topic_route *rt = NULL;
	struct kmq_client *c;
	unsigned int n = 0, i, waited = 0;
	int ret;

	bench_client_config(&cfg, o);
	ret = kmq_client_new(&cfg, &c);
	if (ret)
		return fail_msg(o, ret, "client");
	if (o->create) {
		if (o->broker) {
			snprintf(addrs[0], sizeof(addrs[0]), "%s", o->broker);
			n = 1;
		} else {
			ret = wait_masters(o, c, addrs, &n);
		}
		for (i = 0; i < n && !ret; i++)
			ret = create_on(o, c, addrs[i]);
	}
	while (!ret) {
		ret = kmq_client_topic_route(c, o->topic, &rt);
		if (!ret && (!o->create || route_ready(o, rt, n)))
			break;
		if (ret && kmq_err_broker_code(ret) != KMQ_RESP_TOPIC_NOT_EXIST) {
			fail_msg(o, ret, "route");
			break;
		}
		kmq_topic_route_free(rt);
		rt = NULL;
		if (waited >= (o->create ? ROUTE_WAIT_MS : LOOKUP_WAIT_MS)) {
			fprintf(stderr, "kmq-bench %s: no %sroute of topic %s%s\n",
				o->name, o->create ? "complete " : "", o->topic,
				o->create ? " 10 s after creating it" : "");
			ret = -ENOENT;
			break;
		}
		ret = 0;
		nanosleep(&nap, NULL);
		waited += 50;
	}
	if (!ret)
		*nqueues = readable(rt);
	kmq_topic_route_free(rt);
	kmq_client_free(c);
	return ret;
}
