// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_store_topicfile.c - the store's config/topics.json goes through the
 * shared codec (uapi/kmq_topicfile.c): it writes the bytes jansson wrote
 * before (and kmq.ko writes), opens a file RocketMQ's broker wrote with
 * fastjson (bare keys, extra fields), keeps the last of a repeated topic,
 * and refuses damaged files naming what is wrong. A change whose file
 * cannot be written leaves the table as it was, a new topic included.
 */
#include <jansson.h>

#include "store_test_util.h"

#define SEG	KT_SEG_SMALL

static char *topics_path(char *buf, const char *root)
{
	return kt_path(buf, "%s/config/topics.json", root);
}

/* A fresh store at @root holding one topic, closed. */
static void make_store(struct kmq_store_config *cfg, const char *root)
{
	struct kmq_store *s;

	kt_config(cfg, root, SEG, 0);
	s = kt_open(cfg);
	kmq_store_topic_create(s, "Seed", 1);
	kmq_store_close(s);
	cfg->flags = 0;
}

struct infos {
	int n;
	struct kmq_topic_info ti[16];
};

static void collect(void *arg, const struct kmq_topic_info *ti)
{
	struct infos *in = arg;

	if (in->n < 16)
		in->ti[in->n] = *ti;
	in->n++;
}

/* What kmq_topics.c wrote with jansson before the codec. */
static char *jansson_text(const struct infos *in, json_int_t ts,
			  json_int_t counter)
{
	json_t *root = json_object(), *table = json_object();
	char *text;
	int i;

	for (i = 0; i < in->n && i < 16; i++)
		json_object_set_new(table, in->ti[i].name,
				    json_pack("{s:s, s:i, s:i, s:i, s:s, s:i, s:b}",
					      "topicName", in->ti[i].name,
					      "readQueueNums", (int)in->ti[i].read_queues,
					      "writeQueueNums", (int)in->ti[i].write_queues,
					      "perm", (int)in->ti[i].perm,
					      "topicFilterType", "SINGLE_TAG",
					      "topicSysFlag", 0, "order", 0));
	json_object_set_new(root, "dataVersion",
			    json_pack("{s:I, s:I}", "timestamp", ts,
				      "counter", counter));
	json_object_set_new(root, "topicConfigTable", table);
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	return text;
}

static void test_same_bytes_as_jansson(const char *base)
{
	static const char * const names[] = {
		"b", "A", "%RETRY%grp", "a_1", "a", "Z-9", "%DLQ%g|x",
	};
	struct kmq_topic_info ti = { .read_queues = 3, .write_queues = 5,
				     .perm = KMQ_PERM_READ };
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	struct kmq_store *s;
	struct infos in = { 0 };
	json_t *doc, *ver, *ts, *counter;
	json_error_t jerr;
	char *text, *want;
	size_t i;

	kt_path(root, "%s/same", base);
	kt_config(&cfg, root, SEG, 0);
	s = kt_open(&cfg);
	for (i = 0; i < KT_ARRAY_SIZE(names); i++)
		kmq_store_topic_create(s, names[i], 1 + i);
	snprintf(ti.name, sizeof(ti.name), "a");
	is_int(kmq_store_topic_config(s, &ti), 0, "topic a: 3/5 queues, perm 4");
	kmq_store_topic_delete(s, "Z-9");
	kmq_store_topic_list_info(s, collect, &in);
	kmq_store_close(s);

	text = kt_read_file(topics_path(p, root), NULL);
	doc = text ? json_loads(text, 0, &jerr) : NULL;
	ver = json_object_get(doc, "dataVersion");
	ts = json_object_get(ver, "timestamp");
	counter = json_object_get(ver, "counter");
	ok(json_is_integer(ts) && json_is_integer(counter),
	   "topics.json has dataVersion.timestamp and counter");
	want = jansson_text(&in, json_integer_value(ts),
			    json_integer_value(counter));
	is_int(in.n, 6, "6 topics");
	ok(text && want && !strcmp(text, want),
	   "topics.json: the bytes jansson wrote for the same table");
	if (text && want && strcmp(text, want))
		diag("got:\n%s\nwant:\n%s", text, want);
	ok(text && strstr(text, "\"%DLQ%g|x\": {") < strstr(text, "\"A\": {") &&
	   strstr(text, "\"a\": {") < strstr(text, "\"a_1\": {"),
	   "topics sorted by name");
	json_decref(doc);
	free(want);
	free(text);
}

/* A RocketMQ broker's file, trimmed: fastjson, with a bare-key map. */
static const char rocketmq_file[] =
	"{\n"
	"\t\"dataVersion\":{\n"
	"\t\t\"counter\":12,\n"
	"\t\t\"stateVersion\":0,\n"
	"\t\t\"timestamp\":1716812345678\n"
	"\t},\n"
	"\t\"topicQueueMappingInfoMap\":{\"TBW102\":{0:1,1:2}},\n"
	"\t\"topicConfigTable\":{\n"
	"\t\t\"TBW102\":{\n"
	"\t\t\t\"attributes\":{\"+message.type\":\"NORMAL\"},\n"
	"\t\t\t\"order\":false,\n"
	"\t\t\t\"perm\":7,\n"
	"\t\t\t\"readQueueNums\":8,\n"
	"\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n"
	"\t\t\t\"topicName\":\"TBW102\",\n"
	"\t\t\t\"topicSysFlag\":0,\n"
	"\t\t\t\"writeQueueNums\":8\n"
	"\t\t},\n"
	"\t\t\"OrderTopic\":{\n"
	"\t\t\t\"attributes\":{},\n"
	"\t\t\t\"order\":true,\n"
	"\t\t\t\"perm\":4,\n"
	"\t\t\t\"readQueueNums\":16,\n"
	"\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n"
	"\t\t\t\"topicName\":\"OrderTopic\",\n"
	"\t\t\t\"topicSysFlag\":0,\n"
	"\t\t\t\"writeQueueNums\":4\n"
	"\t\t},\n"
	"\t\t\"Twice\":{\"readQueueNums\":1,\"writeQueueNums\":1},\n"
	"\t\t\"Twice\":{\"readQueueNums\":2,\"writeQueueNums\":3}\n"
	"\t}\n"
	"}\n";

static void test_rocketmq_file(const char *base)
{
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	struct kmq_topic_info ti;
	struct kmq_store *s = NULL;
	char *text;
	int err;

	kt_path(root, "%s/rocketmq", base);
	make_store(&cfg, root);
	kt_write_new_file(topics_path(p, root), rocketmq_file,
			  strlen(rocketmq_file));
	err = kmq_store_open(&cfg, &s);
	if (!is_int(err, 0, "a RocketMQ broker's topics.json opens (%s)",
		    err ? kmq_store_errmsg() : "ok"))
		return;
	memset(&ti, 0, sizeof(ti));
	is_int(kmq_store_topic_info(s, "TBW102", &ti), 0, "TBW102 loaded");
	ok(ti.read_queues == 8 && ti.write_queues == 8 &&
	   ti.perm == (KMQ_PERM_READ | KMQ_PERM_WRITE),
	   "TBW102: 8/8, perm 7 kept as read|write");
	memset(&ti, 0, sizeof(ti));
	is_int(kmq_store_topic_info(s, "OrderTopic", &ti), 0,
	       "OrderTopic loaded");
	ok(ti.read_queues == 16 && ti.write_queues == 4 &&
	   ti.perm == KMQ_PERM_READ, "OrderTopic: 16/4, perm 4");
	is_int(kmq_store_topic_queues(s, "OrderTopic"), 16,
	       "OrderTopic: 16 queues in the store");
	memset(&ti, 0, sizeof(ti));
	is_int(kmq_store_topic_info(s, "Twice", &ti), 0, "Twice loaded");
	ok(ti.read_queues == 2 && ti.write_queues == 3,
	   "a topic written twice: the last entry wins");
	is_int(kmq_store_topic_info(s, "Seed", &ti), -KMQ_ENOTOPIC,
	       "the file replaced the store's own table");

	/* A change rewrites the file in the store's own format. */
	is_int(kmq_store_topic_create(s, "New", 2), 0, "create a topic");
	kmq_store_close(s);
	text = kt_read_file(topics_path(p, root), NULL);
	ok(text && !strstr(text, "topicQueueMappingInfoMap") &&
	   strstr(text, "  \"topicConfigTable\": {\n    \"New\": {"),
	   "rewritten as jansson would, the unknown fields dropped");
	free(text);
	s = NULL;
	err = kmq_store_open(&cfg, &s);
	is_int(err, 0, "and it opens again");
	if (!err) {
		is_int(kmq_store_topic_queues(s, "TBW102"), 8,
		       "TBW102 still there");
		kmq_store_close(s);
	}
}

struct damaged {
	const char *doc;
	const char *why;	/* in kmq_store_errmsg() */
};

static const struct damaged damages[] = {
	{ "{\"topicConfigTable\": {\"Kept\": {", "ends too early" },
	{ "{\"topicConfigTable\": {\"K\\x\": {}}}", "bad escape" },
	{ "{\"dataVersion\": {}}", "no topicConfigTable" },
	{ "{\"topicConfigTable\": {\"K\": {\"readQueueNums\": 1}}}",
	  "without queue counts" },
	{ "{\"topicConfigTable\": {\"K K\": {\"readQueueNums\": 1,\n"
	  "\"writeQueueNums\": 1}}}", "illegal topic name" },
	{ "{\"topicConfigTable\": {\"K\": {\"readQueueNums\": 70000,\n"
	  "\"writeQueueNums\": 1}}}", "more than 65535" },
	{ "{\"topicConfigTable\": {\"K\": {\"readQueueNums\": -1,\n"
	  "\"writeQueueNums\": 1}}}", "out of range" },
	{ "", "ends too early" },
};

static void test_damaged(const char *base)
{
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	size_t i;

	kt_path(root, "%s/damaged", base);
	make_store(&cfg, root);
	for (i = 0; i < KT_ARRAY_SIZE(damages); i++) {
		struct kmq_store *s = NULL;
		int err;

		kt_write_new_file(topics_path(p, root), damages[i].doc,
				  strlen(damages[i].doc));
		err = kmq_store_open(&cfg, &s);
		is_int(err, -KMQ_ECORRUPT, "damaged topics.json %zu refused",
		       i);
		ok(err && strstr(kmq_store_errmsg(), damages[i].why) &&
		   strstr(kmq_store_errmsg(), "topics.json"),
		   "... saying '%s' (%s)", damages[i].why, kmq_store_errmsg());
		if (!err)
			kmq_store_close(s);
	}
}

/*
 * topics.json cannot be written (config/ is a file now): each change
 * fails and leaves the table as the file has it.
 */
static void test_write_fails(const char *base)
{
	struct kmq_topic_info ti = { .name = "Seed", .read_queues = 2,
				     .write_queues = 3, .perm = KMQ_PERM_READ };
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX], p[KT_PATH_MAX], q[KT_PATH_MAX];
	struct kmq_store *s;
	struct kmq_topic_info got;

	kt_path(root, "%s/nowrite", base);
	make_store(&cfg, root);
	s = kt_open(&cfg);
	kt_path(p, "%s/config", root);
	kt_path(q, "%s/config.away", root);
	if (!ok(!rename(p, q) && !kt_write_new_file(p, "x", 1),
		"config/ replaced by a file"))
		return;
	ok(kmq_store_topic_create(s, "Fresh", 2) < 0,
	   "creating a topic fails when topics.json cannot be written");
	is_int(kmq_store_topic_queues(s, "Fresh"), -KMQ_ENOTOPIC,
	       "... and the topic is not there");
	ok(kmq_store_topic_config(s, &ti) < 0, "updating Seed fails too");
	ok(!kmq_store_topic_info(s, "Seed", &got) && got.read_queues == 1 &&
	   got.write_queues == 1 && got.perm == (KMQ_PERM_READ | KMQ_PERM_WRITE),
	   "... and Seed keeps 1/1 queues, perm 6");
	ti.perm = 8;
	is_int(kmq_store_topic_check(&ti, 1024), -EINVAL,
	       "kmq_store_topic_check() refuses perm 8");
	ti.perm = KMQ_PERM_WRITE;
	ti.read_queues = 1025;
	is_int(kmq_store_topic_check(&ti, 1024), -EINVAL,
	       "... and 1025 queues against a limit of 1024");
	snprintf(ti.name, sizeof(ti.name), "a b");
	ti.read_queues = 1;
	is_int(kmq_store_topic_check(&ti, 1024), -KMQ_EBADTOPIC,
	       "... and a name with a space");
	unlink(p);
	rename(q, p);
	kmq_store_close(s);
}

int main(void)
{
	char *base = kt_tmpdir("topicfile");

	kt_watchdog(60);
	test_same_bytes_as_jansson(base);
	test_rocketmq_file(base);
	test_damaged(base);
	test_write_fails(base);
	kt_rm_rf(base);
	free(base);
	return kmq_tap_done();
}
