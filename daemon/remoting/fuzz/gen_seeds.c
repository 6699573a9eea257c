// SPDX-License-Identifier: GPL-2.0-only
/*
 * gen_seeds.c - write fuzz_remoting's seed corpus into the directory given
 * on the command line: JSON headers as clients send them (written out as
 * text) and frames from the encoder in both serializations, so that no
 * binary seeds live in git.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kmq_remoting.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static const char *root;

static int write_seed(const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%s", root, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	if (n && fwrite(p, n, 1, f) != 1) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static void put_be32(struct kmq_buf *b, uint32_t v)
{
	uint8_t p[4] = { v >> 24, v >> 16, v >> 8, v };

	kmq_buf_put(b, p, sizeof(p));
}

/* A JSON-header frame around @json and @body. */
static int json_seed(const char *name, const char *json, const char *body)
{
	struct kmq_buf b = { 0 };
	size_t hl = strlen(json), bl = strlen(body);
	int ret;

	put_be32(&b, 4 + hl + bl);
	put_be32(&b, hl);
	kmq_buf_put(&b, json, hl);
	kmq_buf_put(&b, body, bl);
	ret = b.len == 8 + hl + bl ? write_seed(name, b.data, b.len) : -1;
	kmq_buf_free(&b);
	return ret;
}

static const struct {
	const char *name;
	const char *json;
	const char *body;
} json_seeds[] = {
	{ "json-send-v2",
	  "{\"code\":310,\"language\":\"JAVA\",\"version\":0,\"opaque\":5,\n"
	  "\"flag\":0,\"remark\":null,\"extFields\":{\"a\":\"PID_G\",\n"
	  "\"b\":\"TopicTest\",\"c\":\"TBW102\",\"d\":4,\"e\":3,\"f\":0,\n"
	  "\"g\":1700000000123,\"h\":0,\n"
	  "\"i\":\"TAGS\\u0001TagA\\u0002KEYS\\u0001k1\\u0002\",\"j\":0,\n"
	  "\"k\":false,\"l\":16,\"m\":false,\"n\":\"broker-a\",\"x\":1.5},\n"
	  "\"serializeTypeCurrentRPC\":\"JSON\"}", "hello" },
	{ "json-heartbeat",
	  "{\"code\":34,\"language\":\"JAVA\",\"version\":317,\"opaque\":2,\n"
	  "\"flag\":0,\"extFields\":{}}",
	  "{\"clientID\":\"127.0.0.1@1\",\"consumerDataSet\":[],\n"
	  "\"producerDataSet\":[{\"groupName\":\"PID_G\"}]}" },
	{ "json-pull",
	  "{\"code\":11,\"language\":\"JAVA\",\"version\":317,\"opaque\":9,\n"
	  "\"flag\":0,\"extFields\":{\"consumerGroup\":\"CID\",\n"
	  "\"topic\":\"T\",\"queueId\":0,\"queueOffset\":\"100\",\n"
	  "\"maxMsgNums\":32,\"sysFlag\":2,\"commitOffset\":-1,\n"
	  "\"suspendTimeoutMillis\":15000,\"subscription\":\"*\",\n"
	  "\"subVersion\":0,\"expressionType\":\"TAG\"}}", "" },
	{ "json-response",
	  "{\"code\":22,\"language\":\"JAVA\",\"version\":317,\"opaque\":9,\n"
	  "\"flag\":1,\"remark\":\"not \\\"found\\\" \\u00e9\",\n"
	  "\"extFields\":{\"offset\":\"-1\"},\n"
	  "\"serializeTypeCurrentRPC\":\"JSON\"}", "" },
	{ "json-minimal", "{\"code\":0}", "" },
	{ "json-nested", "{\"code\":1,\"extFields\":{\"a\":{\"b\":[1]}}}", "" },
	{ "json-array", "[{\"code\":1}]", "" },
};

/* Frames from the encoder, in both serializations. */
static int encoded_seeds(void)
{
	static const char body[] = "binary\0body";
	struct kmq_rmt_cmd c;
	struct kmq_buf b = { 0 };
	int ser, err = 0;
	char name[64];

	for (ser = KMQ_RMT_JSON; ser <= KMQ_RMT_ROCKETMQ; ser++) {
		b.len = 0;
		kmq_rmt_request(&c, 15, 77, ser);
		c.flag = KMQ_RMT_FLAG_ONEWAY;
		c.version = 317;
		c.remark = strdup("remark \x01 \xe2\x82\xac");
		kmq_rmt_set_ext(&c, "consumerGroup", "CID_G");
		kmq_rmt_set_ext(&c, "topic", "TopicTest");
		kmq_rmt_set_extf(&c, "queueId", "%d", 3);
		kmq_rmt_set_extf(&c, "commitOffset", "%lld", -1LL);
		kmq_rmt_set_ext(&c, "ok", "true");
		err |= kmq_rmt_encode(&b, &c, sizeof(body));
		kmq_buf_put(&b, body, sizeof(body));
		snprintf(name, sizeof(name), "enc-%d-request", ser);
		err |= write_seed(name, b.data, b.len);

		/* Two frames back to back, as read from a socket. */
		kmq_rmt_cmd_free(&c);
		kmq_rmt_request(&c, 105, 78, ser);
		kmq_rmt_set_ext(&c, "topic", "T");
		err |= kmq_rmt_encode(&b, &c, 0);
		snprintf(name, sizeof(name), "enc-%d-stream", ser);
		err |= write_seed(name, b.data, b.len);
		kmq_rmt_cmd_free(&c);

		b.len = 0;
		kmq_rmt_request(&c, 0, 0, ser);
		err |= kmq_rmt_encode(&b, &c, 0);
		snprintf(name, sizeof(name), "enc-%d-bare", ser);
		err |= write_seed(name, b.data, b.len);
		kmq_rmt_cmd_free(&c);
	}
	kmq_buf_free(&b);
	return err;
}

int main(int argc, char **argv)
{
	unsigned int i;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) && errno != EEXIST) {
		perror(root);
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(json_seeds); i++)
		err |= json_seed(json_seeds[i].name, json_seeds[i].json,
				 json_seeds[i].body);
	err |= encoded_seeds();
	if (err) {
		fprintf(stderr, "gen_seeds: could not write the seeds\n");
		return 1;
	}
	return 0;
}
