// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * gen_seeds.c - write the fuzzers' seed corpus under a directory given on
 * the command line (<dir>/record, props, msgid, checkpoint, topicfile),
 * built with the encoders at run time so that no binary seeds live in git.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kmq_record.h"
#include "kmq_props.h"
#include "kmq_msgid.h"
#include "kmq_checkpoint.h"
#include "kmq_topicfile.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *root;

static int write_seed(const char *target, const char *name, const void *p,
		      size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/seed-%s", root, target, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	if (n && fwrite(p, n, 1, f) != 1) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static void base(struct kmq_record *r)
{
	static const char props[] = "TAGS\001TagA\002KEYS\001k1 k2\002";

	memset(r, 0, sizeof(*r));
	r->queue_id = 1;
	r->queue_offset = 7;
	r->born_ts = 1700000000000ull;
	r->store_ts = 1700000000001ull;
	memcpy(r->born_host.addr, "\x7f\x00\x00\x01", 4);
	r->born_host.port = 40000;
	memcpy(r->store_host.addr, "\x7f\x00\x00\x01", 4);
	r->store_host.port = 10911;
	r->body = "hello";
	r->body_len = 5;
	r->body_crc = kmq_body_crc(r->body, r->body_len);
	r->topic = "TopicTest";
	r->topic_len = 9;
	r->props = props;
	r->props_len = sizeof(props) - 1;
}

static int record_seeds(void)
{
	unsigned char seg[1024];
	struct kmq_record r;
	int n, pos = 0, err = 0;

	base(&r);
	n = kmq_record_encode(seg, sizeof(seg), &r);
	err |= write_seed("record", "v1", seg, n);

	base(&r);
	r.magic = KMQ_MAGIC_V2;
	r.born_host.v6 = true;
	r.store_host.v6 = true;
	r.born_host.addr[15] = 1;
	r.sys_flag = KMQ_SYSFLAG_TX_COMMIT;
	n = kmq_record_encode(seg, sizeof(seg), &r);
	err |= write_seed("record", "v2-v6", seg, n);

	/* A small segment: two records and a BLANK to its end. */
	base(&r);
	pos = kmq_record_encode(seg, sizeof(seg), &r);
	r.phys_offset = pos;
	r.queue_offset++;
	pos += kmq_record_encode(seg + pos, sizeof(seg) - pos, &r);
	kmq_blank_encode(seg + pos, 24);
	memset(seg + pos + 8, 0, 16);
	err |= write_seed("record", "segment", seg, pos + 24);

	kmq_blank_encode(seg, 8);
	err |= write_seed("record", "blank", seg, 8);
	return err;
}

static int props_seeds(void)
{
	static const char * const s[] = {
		"TAGS\001TagA\002KEYS\001k1 k2\002",
		"TAGS\001\xe4\xb8\xad\xf0\x9f\x98\x80\002UNIQ_KEY\001AC11\002",
		"TAGS\001\xed\xa0\x80\xe0\x80\xc3",
		"a\001\002b\001c",
		"",
	};
	char name[8];
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(s); i++) {
		snprintf(name, sizeof(name), "%zu", i);
		err |= write_seed("props", name, s[i], strlen(s[i]));
	}
	return err;
}

static int msgid_seeds(void)
{
	char id[KMQ_MSGID_MAX + 1];
	struct kmq_host h;
	int n, err = 0;

	memset(&h, 0, sizeof(h));
	memcpy(h.addr, "\x7f\x00\x00\x01", 4);
	h.port = 10911;
	n = kmq_msgid_encode(id, &h, 0x123);
	err |= write_seed("msgid", "v4", id, n);
	h.v6 = true;
	h.addr[15] = 1;
	n = kmq_msgid_encode(id, &h, 0x123);
	err |= write_seed("msgid", "v6", id, n);
	return err;
}

static int checkpoint_seeds(void)
{
	struct kmq_checkpoint c = {
		.flushed = 1 << 20, .min_offset = 0,
		.store_ts = 1700000000000ull,
	};
	unsigned char buf[KMQ_CKPT_ENCODED_SIZE];

	kmq_checkpoint_encode(buf, &c);
	return write_seed("checkpoint", "v1", buf, sizeof(buf));
}

static int topicfile_seeds(void)
{
	static const char * const s[] = {
		"{\"topicConfigTable\":{}}",
		"{\n\t\"dataVersion\":{\n\t\t\"counter\":7,\n"
		"\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1716812345678\n"
		"\t},\n\t\"topicConfigTable\":{\n\t\t\"TBW102\":{\n"
		"\t\t\t\"attributes\":{\"+message.type\":\"NORMAL\"},\n"
		"\t\t\t\"order\":false,\n\t\t\t\"perm\":7,\n"
		"\t\t\t\"readQueueNums\":8,\n"
		"\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n"
		"\t\t\t\"topicName\":\"TBW102\",\n"
		"\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":8\n"
		"\t\t}\n\t}\n}",
		"{dataVersion:{counter:1},m:{0:3,-1:[1,2.5,-3e-2,true,null]},\n"
		"topicConfigTable:{T1:{perm:4,readQueueNums:2,writeQueueNums:3},\n"
		"%DLQ%g|x:{writeQueueNums:0,readQueueNums:0}}}",
		"{\"topicConfig\\u0054able\":{\"k\":{\"topicName\":\n"
		"\"\\u0025R\",\"x\":\"\\uD83D\\uDE00\xe4\xb8\xad\",\n"
		"\"readQueueNums\":1,\"writeQueueNums\":20}}}",
	};
	struct kmq_topicfile_entry e[2] = {
		{ .name = "A", .read_queues = 8, .write_queues = 4, .perm = 6 },
		{ .name = "T", .read_queues = 1, .write_queues = 16, .perm = 2 },
	};
	char name[8], buf[1024];
	size_t i;
	int n, err = 0;

	for (i = 0; i < ARRAY_SIZE(s); i++) {
		snprintf(name, sizeof(name), "%zu", i);
		err |= write_seed("topicfile", name, s[i], strlen(s[i]));
	}
	n = kmq_topicfile_emit(buf, sizeof(buf), e, 2, 1700000000000ull, 3);
	err |= n < 0 ? -1 : write_seed("topicfile", "emitted", buf, n);
	return err;
}

int main(int argc, char **argv)
{
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) && errno != EEXIST) {
		perror(root);
		return 1;
	}
	err = record_seeds() | props_seeds() | msgid_seeds() |
	      checkpoint_seeds() | topicfile_seeds();
	if (err) {
		perror("gen_seeds");
		return 1;
	}
	return 0;
}
