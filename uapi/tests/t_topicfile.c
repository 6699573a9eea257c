// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * t_topicfile.c - TAP tests of the topics.json codec (uapi/kmq_topicfile.c):
 * files written by jansson and by RocketMQ's fastjson, escapes, every
 * kind of damage, every truncation, the writer byte for byte against
 * jansson, and round trips.
 *
 * Inputs are copied into buffers of their exact size (no NUL after them)
 * so that ASan sees any read past the length given.
 *
 * KMQ_TEST_BIG=1 also runs the 2 GiB limit of the writer (650 MB of RAM).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kmq_tap.h"
#include "kmq_topicfile.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAXE		64

struct coll {
	int n;				/* calls of the callback */
	int stop_at;			/* return stop_ret on that call (1-based) */
	int stop_ret;
	struct kmq_topicfile_entry e[MAXE];
};

static int collect(void *arg, const struct kmq_topicfile_entry *e)
{
	struct coll *c = arg;

	if (c->n < MAXE)
		c->e[c->n] = *e;
	c->n++;
	if (c->stop_at && c->n == c->stop_at)
		return c->stop_ret;
	return 0;
}

/* Parse @len bytes of @doc from an exact-size copy. */
static int parse_n(const char *doc, size_t len, struct coll *c)
{
	char *copy = malloc(len ? len : 1);
	int ret;

	if (!copy)
		kmq_tap_bail("out of memory");
	memcpy(copy, doc, len);
	if (c)
		memset(c, 0, sizeof(*c));
	ret = kmq_topicfile_parse(copy, len, c ? collect : NULL, c);
	free(copy);
	return ret;
}

static int parse(const char *doc, struct coll *c)
{
	return parse_n(doc, strlen(doc), c);
}

static bool entry_is(const struct kmq_topicfile_entry *e, const char *name,
		     __u32 r, __u32 w, __u32 perm)
{
	return !strcmp(e->name, name) && e->read_queues == r &&
	       e->write_queues == w && e->perm == perm;
}

/* What jansson's json_dumps(JSON_INDENT(2) | JSON_SORT_KEYS) wrote. */
static const char jansson_doc[] =
	"{\n"
	"  \"dataVersion\": {\n"
	"    \"counter\": 3,\n"
	"    \"timestamp\": 1700000000000\n"
	"  },\n"
	"  \"topicConfigTable\": {\n"
	"    \"A\": {\n"
	"      \"order\": false,\n"
	"      \"perm\": 6,\n"
	"      \"readQueueNums\": 8,\n"
	"      \"topicFilterType\": \"SINGLE_TAG\",\n"
	"      \"topicName\": \"A\",\n"
	"      \"topicSysFlag\": 0,\n"
	"      \"writeQueueNums\": 4\n"
	"    },\n"
	"    \"T\": {\n"
	"      \"order\": false,\n"
	"      \"perm\": 2,\n"
	"      \"readQueueNums\": 1,\n"
	"      \"topicFilterType\": \"SINGLE_TAG\",\n"
	"      \"topicName\": \"T\",\n"
	"      \"topicSysFlag\": 0,\n"
	"      \"writeQueueNums\": 16\n"
	"    }\n"
	"  }\n"
	"}";

/*
 * A RocketMQ 5 broker's topics.json as fastjson pretty-prints it (tabs,
 * no space after ':', attributes, stateVersion), trimmed to a few of the
 * topics a fresh broker creates plus a retry topic.
 */
static const char rocketmq_doc[] =
	"{\n"
	"\t\"dataVersion\":{\n"
	"\t\t\"counter\":7,\n"
	"\t\t\"stateVersion\":0,\n"
	"\t\t\"timestamp\":1716812345678\n"
	"\t},\n"
	"\t\"topicConfigTable\":{\n"
	"\t\t\"SCHEDULE_TOPIC_XXXX\":{\n"
	"\t\t\t\"attributes\":{},\n"
	"\t\t\t\"order\":false,\n"
	"\t\t\t\"perm\":6,\n"
	"\t\t\t\"readQueueNums\":18,\n"
	"\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n"
	"\t\t\t\"topicName\":\"SCHEDULE_TOPIC_XXXX\",\n"
	"\t\t\t\"topicSysFlag\":0,\n"
	"\t\t\t\"writeQueueNums\":18\n"
	"\t\t},\n"
	"\t\t\"TBW102\":{\n"
	"\t\t\t\"attributes\":{\n"
	"\t\t\t\t\"+message.type\":\"NORMAL\"\n"
	"\t\t\t},\n"
	"\t\t\t\"order\":false,\n"
	"\t\t\t\"perm\":7,\n"
	"\t\t\t\"readQueueNums\":8,\n"
	"\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n"
	"\t\t\t\"topicName\":\"TBW102\",\n"
	"\t\t\t\"topicSysFlag\":0,\n"
	"\t\t\t\"writeQueueNums\":8\n"
	"\t\t},\n"
	"\t\t\"%RETRY%consumer_group_4\":{\n"
	"\t\t\t\"attributes\":{},\n"
	"\t\t\t\"order\":false,\n"
	"\t\t\t\"perm\":6,\n"
	"\t\t\t\"readQueueNums\":1,\n"
	"\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n"
	"\t\t\t\"topicName\":\"%RETRY%consumer_group_4\",\n"
	"\t\t\t\"topicSysFlag\":0,\n"
	"\t\t\t\"writeQueueNums\":1\n"
	"\t\t},\n"
	"\t\t\"BenchmarkTest\":{\n"
	"\t\t\t\"attributes\":{},\n"
	"\t\t\t\"order\":false,\n"
	"\t\t\t\"perm\":6,\n"
	"\t\t\t\"readQueueNums\":1024,\n"
	"\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n"
	"\t\t\t\"topicName\":\"BenchmarkTest\",\n"
	"\t\t\t\"topicSysFlag\":0,\n"
	"\t\t\t\"writeQueueNums\":1024\n"
	"\t\t}\n"
	"\t}\n"
	"}";

/* fastjson with unquoted keys everywhere, integer-keyed maps, extras. */
static const char fastjson_bare_doc[] =
	"{dataVersion:{counter:1,timestamp:1716812345678},\n"
	"topicQueueMappingInfoMap:{T1:{bname:\"broker-a\",epoch:0,\n"
	"currIdMap:{0:3,-1:4}}},\n"
	"topicConfigTable:{T1:{order:true,perm:4,readQueueNums:2,\n"
	"topicFilterType:\"MULTI_TAG\",topicName:\"T1\",topicSysFlag:1,\n"
	"writeQueueNums:3,attributes:{$key.x:[1,2.5,-3e-2,true,null,\n"
	"{}]}},%DLQ%g_1|x:{writeQueueNums:0,readQueueNums:0}}}";

static void test_jansson_doc(void)
{
	struct coll c;

	is_int(parse(jansson_doc, &c), 0, "jansson: parses");
	is_int(c.n, 2, "jansson: 2 topics");
	ok(entry_is(&c.e[0], "A", 8, 4, 6), "jansson: A 8/4 perm 6");
	ok(entry_is(&c.e[1], "T", 1, 16, 2), "jansson: T 1/16 perm 2");
	is_int(parse(jansson_doc, NULL), 0, "jansson: parses without fn");
}

static void test_rocketmq_doc(void)
{
	struct coll c;

	is_int(parse(rocketmq_doc, &c), 0, "rocketmq: parses");
	is_int(c.n, 4, "rocketmq: 4 topics");
	ok(entry_is(&c.e[0], "SCHEDULE_TOPIC_XXXX", 18, 18, 6),
	   "rocketmq: SCHEDULE_TOPIC_XXXX 18/18");
	ok(entry_is(&c.e[1], "TBW102", 8, 8, 7), "rocketmq: TBW102 perm 7");
	ok(entry_is(&c.e[2], "%RETRY%consumer_group_4", 1,
		    1, 6), "rocketmq: retry topic");
	ok(entry_is(&c.e[3], "BenchmarkTest", 1024, 1024, 6),
	   "rocketmq: BenchmarkTest 1024 queues");

	is_int(parse(fastjson_bare_doc, &c), 0, "fastjson bare keys: parses");
	is_int(c.n, 2, "fastjson bare keys: 2 topics");
	ok(entry_is(&c.e[0], "T1", 2, 3, 4), "fastjson bare keys: T1 2/3/4");
	ok(entry_is(&c.e[1], "%DLQ%g_1|x", 0, 0, 6),
	   "fastjson bare keys: name from the key, perm defaults to 6");
}

static void test_escapes(void)
{
	struct coll c;

	is_int(parse("{\"topicConfig\\u0054able\":{\"\\u0054opic\\u0041\":\n"
		     "{\"read\\u0051ueueNums\":1,\"writeQueueNums\":2}}}", &c),
	       0, "escaped keys parse");
	ok(c.n == 1 && entry_is(&c.e[0], "TopicA", 1, 2, 6),
	   "escaped table key, topic key and field name decode");

	is_int(parse("{\"topicConfigTable\":{\"k\":{\"topicName\":\n"
		     "\"\\u0025RETRY\\u0025g\\u005fx\",\"readQueueNums\":1,\n"
		     "\"writeQueueNums\":1}}}", &c), 0,
	       "escaped topicName parses");
	ok(c.n == 1 && !strcmp(c.e[0].name, "%RETRY%g_x"),
	   "topicName decodes and wins over the key");

	is_int(parse("{\"x\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \xc3\xa9"
		     " \\uD83D\\uDE00 \\u0000 \xe4\xb8\xad"
		     " \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf\",\n"
		     "\"topicConfigTable\":{}}", &c), 0,
	       "every escape, surrogate pair, \\u0000 and UTF-8 in an ignored string");
	is_int(c.n, 0, "empty table: no topic");

	is_int(parse("{\"topicConfigTable\":{\"k\\u0000\":\n"
		     "{\"readQueueNums\":1,\"writeQueueNums\":1}}}", &c),
	       -KMQ_TF_ENAME, "\\u0000 in a topic key: illegal name");
	is_int(parse("{\"topicConfigTable\":{\"a.b\":{\"topicName\":\"ab\",\n"
		     "\"readQueueNums\":1,\"writeQueueNums\":1}}}", &c), 0,
	       "illegal key but legal topicName: topicName is the name");
	ok(c.n == 1 && !strcmp(c.e[0].name, "ab"), "... named ab");
}

static void test_fields(void)
{
	char doc[512];
	char name[200];
	struct coll c;

	is_int(parse("{\"topicConfigTable\":{\"T\":{\"readQueueNums\":1,\n"
		     "\"writeQueueNums\":2,\"readQueueNums\":3,\"perm\":2,\n"
		     "\"perm\":4}}}", &c), 0, "repeated fields parse");
	ok(c.n == 1 && entry_is(&c.e[0], "T", 3, 2, 4),
	   "repeated fields: the last wins");

	is_int(parse("{\"topicConfigTable\":{\"T\":{\"readQueueNums\":1,\n"
		     "\"writeQueueNums\":1},\"T\":{\"readQueueNums\":5,\n"
		     "\"writeQueueNums\":5}}}", &c), 0, "repeated topic parses");
	ok(c.n == 2 && c.e[0].read_queues == 1 && c.e[1].read_queues == 5,
	   "repeated topic: handed over twice, in order");

	is_int(parse("{\"topicConfigTable\":{\"T\":{\"readQueueNums\":0,\n"
		     "\"writeQueueNums\":2147483647,\"perm\":2147483647}}}",
		     &c), 0, "0 and 2147483647 accepted");
	ok(c.n == 1 && entry_is(&c.e[0], "T", 0, 2147483647u, 2147483647u),
	   "... and kept");

	is_int(parse(" \r\n\t{ \"topicConfigTable\" : { } , \"a\" : [ ] }\n"
		     "\t\r ", &c), 0, "white space everywhere");

	memset(name, 'n', 127);
	name[127] = '\0';
	snprintf(doc, sizeof(doc), "{\"topicConfigTable\":{\"%s\":\n"
		 "{\"readQueueNums\":1,\"writeQueueNums\":1}}}", name);
	is_int(parse(doc, &c), 0, "127-byte name accepted");
	ok(c.n == 1 && !strcmp(c.e[0].name, name), "... and kept whole");
	memset(name, 'n', 128);
	name[128] = '\0';
	snprintf(doc, sizeof(doc), "{\"topicConfigTable\":{\"%s\":\n"
		 "{\"readQueueNums\":1,\"writeQueueNums\":1}}}", name);
	is_int(parse(doc, &c), -KMQ_TF_ENAME, "128-byte name refused");
	snprintf(doc, sizeof(doc), "{\"topicConfigTable\":{\"x\":{"
		 "\"topicName\":\"%s\",\"readQueueNums\":1,\n"
		 "\"writeQueueNums\":1}}}", name);
	is_int(parse(doc, &c), -KMQ_TF_ENAME,
	       "128-byte topicName refused");
	is_int(c.n, 0, "no callback on a refused file");
}

struct bad {
	const char *doc;
	int err;
};

#define TBL(x)	"{\"topicConfigTable\":{" x "}}"
#define ENT(x)	TBL("\"T\":{" x "}")
#define RW	"\"readQueueNums\":1,\"writeQueueNums\":1"

static const struct bad bads[] = {
	{ "", KMQ_TF_ETRUNC },
	{ "\n\t\r", KMQ_TF_ETRUNC },
	{ "{\"topicConfigTable\":{", KMQ_TF_ETRUNC },
	{ "{\"a\":\"x", KMQ_TF_ETRUNC },
	{ "{\"a\":tr", KMQ_TF_ETRUNC },
	{ "{\"a\":\"\\u00", KMQ_TF_ETRUNC },
	{ "{\"a\":\"\xc3", KMQ_TF_ETRUNC },
	{ "{\"a\":1.", KMQ_TF_ETRUNC },
	{ "{\"a\":[1,", KMQ_TF_ETRUNC },
	{ "{\"a\"", KMQ_TF_ETRUNC },
	{ "{\"a\":x}", KMQ_TF_EVALUE },
	{ "{\"a\":[1,]}", KMQ_TF_EVALUE },
	{ "{\"a\":}", KMQ_TF_EVALUE },
	{ "{\"a\":+1}", KMQ_TF_EVALUE },
	{ "{\"a\":.5}", KMQ_TF_EVALUE },
	{ "{\"a\":'x'}", KMQ_TF_EVALUE },
	{ "{\"a\":trux}", KMQ_TF_ELITERAL },
	{ "{\"a\":nulL}", KMQ_TF_ELITERAL },
	{ "{\"a\":fals}", KMQ_TF_ELITERAL },
	{ "{\"a\":01}", KMQ_TF_ENUMBER },
	{ "{\"a\":-01}", KMQ_TF_ENUMBER },
	{ "{\"a\":1.}", KMQ_TF_ENUMBER },
	{ "{\"a\":-}", KMQ_TF_ENUMBER },
	{ "{\"a\":1e}", KMQ_TF_ENUMBER },
	{ "{\"a\":1e+}", KMQ_TF_ENUMBER },
	{ "{\"a\":1.e5}", KMQ_TF_ENUMBER },
	{ "{\"a\":-x}", KMQ_TF_ENUMBER },
	{ "{\"a\":\"x\ny\"}", KMQ_TF_ESTRING },
	{ "{\"a\":\"x\ty\"}", KMQ_TF_ESTRING },
	{ "{\"a\":\"\x01\"}", KMQ_TF_ESTRING },
	{ "{\"a\":\"\\x\"}", KMQ_TF_EESCAPE },
	{ "{\"a\":\"\\U0041\"}", KMQ_TF_EESCAPE },
	{ "{\"a\":\"\\u12G4\"}", KMQ_TF_EESCAPE },
	{ "{\"a\":\"\\udc00\"}", KMQ_TF_EESCAPE },
	{ "{\"a\":\"\\ud800x\"}", KMQ_TF_EESCAPE },
	{ "{\"a\":\"\\ud800\\u0041\"}", KMQ_TF_EESCAPE },
	{ "{\"a\":\"\\ud800\\n\"}", KMQ_TF_EESCAPE },
	{ "{\"a\":\"\xff\"}", KMQ_TF_EUTF8 },
	{ "{\"a\":\"\x80\"}", KMQ_TF_EUTF8 },
	{ "{\"a\":\"\xc0\x80\"}", KMQ_TF_EUTF8 },
	{ "{\"a\":\"\xc3(\"}", KMQ_TF_EUTF8 },
	{ "{\"a\":\"\xe0\x80\x80\"}", KMQ_TF_EUTF8 },
	{ "{\"a\":\"\xed\xa0\x80\"}", KMQ_TF_EUTF8 },
	{ "{\"a\":\"\xf0\x80\x80\x80\"}", KMQ_TF_EUTF8 },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", KMQ_TF_EUTF8 },
	{ "{\"\xf5\x80\x80\x80\":1}", KMQ_TF_EUTF8 },
	{ "{,}", KMQ_TF_EKEY },
	{ "{\"a\":1,}", KMQ_TF_EKEY },
	{ "{@:1}", KMQ_TF_EKEY },
	{ "{\"a\":{\"b\":1,}}", KMQ_TF_EKEY },
	{ ENT(RW ","), KMQ_TF_EKEY },
	{ "{\"a\" 1}", KMQ_TF_ECOLON },
	{ "{a 1}", KMQ_TF_ECOLON },
	{ "{\"a\",1}", KMQ_TF_ECOLON },
	{ "{\"a\":{\"b\"}}", KMQ_TF_ECOLON },
	{ "{\"a\":1 \"b\":2}", KMQ_TF_ESEP },
	{ "{\"a\":[1 2]}", KMQ_TF_ESEP },
	{ "{\"a\":[1}", KMQ_TF_ESEP },
	{ "{\"a\":{\"b\":1]}", KMQ_TF_ESEP },
	{ "{\"a\":1x}", KMQ_TF_ESEP },
	{ ENT("\"readQueueNums\":1 \"writeQueueNums\":1"), KMQ_TF_ESEP },
	{ ENT("\"topicName\":[1 2]," RW), KMQ_TF_ESEP },
	{ TBL("") "x", KMQ_TF_ETRAILING },
	{ TBL("") "{}", KMQ_TF_ETRAILING },
	{ TBL("") "}", KMQ_TF_ETRAILING },
	{ "[]", KMQ_TF_EROOT },
	{ "\"x\"", KMQ_TF_EROOT },
	{ "1", KMQ_TF_EROOT },
	{ "null", KMQ_TF_EROOT },
	{ "{}", KMQ_TF_ENOTABLE },
	{ "{\"topicconfigtable\":{}}", KMQ_TF_ENOTABLE },
	{ "{\"topicConfigTabl\":{}}", KMQ_TF_ENOTABLE },
	{ "{\"dataVersion\":{\"topicConfigTable\":{}}}", KMQ_TF_ENOTABLE },
	{ "{\"topicConfigTable\":[]}", KMQ_TF_ETABLE },
	{ "{\"topicConfigTable\":null}", KMQ_TF_ETABLE },
	{ "{\"topicConfigTable\":\"x\"}", KMQ_TF_ETABLE },
	{ "{\"topicConfigTable\":{},\"topicConfigTable\":{}}",
	  KMQ_TF_EDUPTABLE },
	{ "{topicConfigTable:{},\"topicConfigTable\":{}}", KMQ_TF_EDUPTABLE },
	{ TBL("\"T\":1"), KMQ_TF_EENTRY },
	{ TBL("\"T\":[]"), KMQ_TF_EENTRY },
	{ TBL("\"T\":\"x\""), KMQ_TF_EENTRY },
	{ TBL("\"\":{" RW "}"), KMQ_TF_ENAME },
	{ TBL("\"a.b\":{" RW "}"), KMQ_TF_ENAME },
	{ TBL("\"a b\":{" RW "}"), KMQ_TF_ENAME },
	{ TBL("\"\xc3\xa9\":{" RW "}"), KMQ_TF_ENAME },
	{ TBL("$x:{" RW "}"), KMQ_TF_ENAME },
	{ ENT("\"topicName\":\"a/b\"," RW), KMQ_TF_ENAME },
	{ ENT("\"topicName\":\"\"," RW), KMQ_TF_ENAME },
	{ ENT("\"topicName\":5," RW), KMQ_TF_EFIELD },
	{ ENT("\"topicName\":null," RW), KMQ_TF_EFIELD },
	{ ENT("\"readQueueNums\":\"8\",\"writeQueueNums\":1"), KMQ_TF_EFIELD },
	{ ENT("\"readQueueNums\":1,\"writeQueueNums\":null"), KMQ_TF_EFIELD },
	{ ENT("\"readQueueNums\":[8],\"writeQueueNums\":1"), KMQ_TF_EFIELD },
	{ ENT(RW ",\"perm\":true"), KMQ_TF_EFIELD },
	{ ENT(RW ",\"perm\":{}"), KMQ_TF_EFIELD },
	{ ENT("\"readQueueNums\":-1,\"writeQueueNums\":1"), KMQ_TF_ERANGE },
	{ ENT("\"readQueueNums\":-0,\"writeQueueNums\":1"), KMQ_TF_ERANGE },
	{ ENT("\"readQueueNums\":1.5,\"writeQueueNums\":1"), KMQ_TF_ERANGE },
	{ ENT("\"readQueueNums\":1.0,\"writeQueueNums\":1"), KMQ_TF_ERANGE },
	{ ENT("\"readQueueNums\":8e0,\"writeQueueNums\":1"), KMQ_TF_ERANGE },
	{ ENT("\"readQueueNums\":1,\"writeQueueNums\":2147483648"),
	  KMQ_TF_ERANGE },
	{ ENT(RW ",\"perm\":99999999999999999999999999"), KMQ_TF_ERANGE },
	{ ENT("\"readQueueNums\":1"), KMQ_TF_ENOQUEUES },
	{ ENT("\"writeQueueNums\":1"), KMQ_TF_ENOQUEUES },
	{ ENT("\"perm\":6"), KMQ_TF_ENOQUEUES },
	{ ENT(""), KMQ_TF_ENOQUEUES },
	{ ENT("\"readqueuenums\":1,\"writeQueueNums\":1"), KMQ_TF_ENOQUEUES },
};

static void test_malformed(void)
{
	bool seen[KMQ_TF_ELAST] = { false };
	struct coll c;
	size_t i;
	int e;

	for (i = 0; i < ARRAY_SIZE(bads); i++) {
		int ret = parse(bads[i].doc, &c);

		if (!is_int(ret, -bads[i].err, "malformed %zu: %s", i,
			    kmq_topicfile_strerror(-bads[i].err)))
			diag("  doc: %s (got: %s)", bads[i].doc,
			     kmq_topicfile_strerror(ret));
		seen[bads[i].err] = true;
		if (c.n)
			diag("  callback called %d times", c.n);
		ok(!c.n, "malformed %zu: no callback", i);
		is_int(parse(bads[i].doc, NULL), -bads[i].err,
		       "malformed %zu: same without fn", i);
	}
	for (e = KMQ_TF_EBASE; e < KMQ_TF_ELAST; e++) {
		if (e == KMQ_TF_EDEPTH || e == KMQ_TF_ENOSPACE ||
		    e == KMQ_TF_EORDER || e == KMQ_TF_ETOOBIG)
			continue;	/* tested elsewhere */
		ok(seen[e], "parse error %d (%s) has a test", e,
		   kmq_topicfile_strerror(-e));
	}
}

/* Documents made of a table and an ignored field nested @n deep. */
static char *nested(int n, char open, char close)
{
	size_t len = 64 + 2 * (size_t)n;
	char *d = malloc(len), *p = d;
	int i;

	if (!d)
		kmq_tap_bail("out of memory");
	p += sprintf(p, "{\"topicConfigTable\":{},\"x\":");
	for (i = 0; i < n; i++)
		*p++ = open == '{' && i % 2 ? '[' : open;
	*p++ = '1';
	for (i = n - 1; i >= 0; i--)
		*p++ = open == '{' && i % 2 ? ']' : close;
	*p++ = '}';
	*p = '\0';
	return d;
}

/* An ignored field of @k levels, objects and arrays taking turns. */
static char *mixed(int k)
{
	char *d = malloc(64 + 6 * (size_t)k), *p = d;
	int i;

	if (!d)
		kmq_tap_bail("out of memory");
	p += sprintf(p, "{\"topicConfigTable\":{},\"x\":");
	for (i = 0; i < k; i++)
		p += sprintf(p, i % 2 ? "[" : "{\"a\":");
	*p++ = '1';
	for (i = k - 1; i >= 0; i--)
		*p++ = i % 2 ? ']' : '}';
	strcpy(p, "}");
	return d;
}

static void test_depth(void)
{
	char *d;

	d = nested(KMQ_TOPICFILE_DEPTH_MAX - 1, '[', ']');
	is_int(parse(d, NULL), 0, "arrays nested to the depth limit accepted");
	free(d);
	d = nested(KMQ_TOPICFILE_DEPTH_MAX, '[', ']');
	is_int(parse(d, NULL), -KMQ_TF_EDEPTH, "one level more: EDEPTH");
	free(d);
	d = nested(200000, '[', ']');
	is_int(parse(d, NULL), -KMQ_TF_EDEPTH, "200000 levels: EDEPTH");
	free(d);

	/* Objects and arrays mixed: {"x":{"a":[{"a":[ ... 1 ... ]}]}} */
	d = mixed(KMQ_TOPICFILE_DEPTH_MAX - 1);
	is_int(parse(d, NULL), 0, "objects and arrays to the limit");
	free(d);
	d = mixed(KMQ_TOPICFILE_DEPTH_MAX);
	is_int(parse(d, NULL), -KMQ_TF_EDEPTH,
	       "objects and arrays past the limit");
	free(d);

	/* Inside a topic the entry itself counts 3 levels. */
	d = malloc(128 + 2 * KMQ_TOPICFILE_DEPTH_MAX);
	{
		static const char head[] =
			"{\"topicConfigTable\":{\"T\":{" RW ",\"y\":";
		int i, k;

		for (k = KMQ_TOPICFILE_DEPTH_MAX - 3;
		     k <= KMQ_TOPICFILE_DEPTH_MAX - 2; k++) {
			char *p = d + sprintf(d, "%s", head);

			for (i = 0; i < k; i++)
				*p++ = '[';
			for (i = 0; i < k; i++)
				*p++ = ']';
			strcpy(p, "}}}");
			is_int(parse(d, NULL),
			       k == KMQ_TOPICFILE_DEPTH_MAX - 3 ?
			       0 : -KMQ_TF_EDEPTH,
			       "%d arrays inside a topic (depth %d): %s", k,
			       k + 3, k + 3 > KMQ_TOPICFILE_DEPTH_MAX ?
			       "EDEPTH" : "accepted");
		}
	}
	free(d);
}

/* Every proper prefix of a valid document is refused, and read safely. */
static void test_truncation(const char *name, const char *doc)
{
	size_t len = strlen(doc), i, bad = 0, first = 0;

	for (i = 0; i < len; i++) {
		struct coll c;
		int ret = parse_n(doc, i, &c);

		if (ret >= 0 || c.n) {
			if (!bad++)
				first = i;
		}
	}
	ok(!bad, "%s: all %zu truncations refused without a callback",
	   name, len);
	if (bad)
		diag("  %zu accepted, first at length %zu", bad, first);
	is_int(parse_n(doc, len, NULL), 0, "%s: the whole is accepted", name);
}

static void test_callback_stop(void)
{
	struct coll c;

	memset(&c, 0, sizeof(c));
	c.stop_at = 3;
	c.stop_ret = 42;
	is_int(kmq_topicfile_parse(rocketmq_doc, strlen(rocketmq_doc),
				   collect, &c), 42,
	       "callback's non-zero return is returned");
	is_int(c.n, 3, "... and stops the walk");
	memset(&c, 0, sizeof(c));
	c.stop_at = 1;
	c.stop_ret = -12;
	is_int(kmq_topicfile_parse(rocketmq_doc, strlen(rocketmq_doc),
				   collect, &c), -12,
	       "a negative errno from the callback is returned as is");
	is_int(c.n, 1, "... after one call");

	/* Damage after valid topics: nothing is handed over. */
	is_int(parse("{\"topicConfigTable\":{\"A\":{" RW "},\"B\":{" RW
		     "}},\"z\":[1 2]}",
		     &c), -KMQ_TF_ESEP, "damage after the table refused");
	is_int(c.n, 0, "... before any callback");
}

static void entry_set(struct kmq_topicfile_entry *e, const char *name,
		      __u32 r, __u32 w, __u32 perm)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->read_queues = r;
	e->write_queues = w;
	e->perm = perm;
}

static void test_emit_jansson_doc(void)
{
	struct kmq_topicfile_entry e[2];
	char buf[2048];
	int len = (int)strlen(jansson_doc), ret;

	entry_set(&e[0], "A", 8, 4, 6);
	entry_set(&e[1], "T", 1, 16, 2);
	is_int(kmq_topicfile_emit(NULL, 0, e, 2, 1700000000000ull, 3), len,
	       "emit: size query gives jansson's length");
	memset(buf, 0x5a, sizeof(buf));
	ret = kmq_topicfile_emit(buf, sizeof(buf), e, 2, 1700000000000ull, 3);
	is_int(ret, len, "emit: returns the length");
	ok(ret == len && !memcmp(buf, jansson_doc, len),
	   "emit: same bytes as jansson");
	is_int(buf[len], 0x5a, "emit: nothing written after the document");

	memset(buf, 0x5a, sizeof(buf));
	is_int(kmq_topicfile_emit(buf, len - 1, e, 2, 1700000000000ull, 3),
	       -KMQ_TF_ENOSPACE, "emit: one byte short: ENOSPACE");
	is_int(buf[len - 1], 0x5a, "emit: nothing written past cap");
	is_int(kmq_topicfile_emit(buf, 0, e, 2, 1700000000000ull, 3),
	       -KMQ_TF_ENOSPACE, "emit: cap 0: ENOSPACE");
	is_int(kmq_topicfile_emit(buf, len, e, 2, 1700000000000ull, 3), len,
	       "emit: exact cap suffices");

	ret = kmq_topicfile_emit(buf, sizeof(buf), e, 0, 0, 0);
	buf[ret > 0 ? ret : 0] = '\0';
	ok(!strcmp(buf, "{\n  \"dataVersion\": {\n    \"counter\": 0,\n"
		   "    \"timestamp\": 0\n  },\n"
		   "  \"topicConfigTable\": {}\n}"),
	   "emit: empty table as jansson writes it");
	ret = kmq_topicfile_emit(buf, sizeof(buf), e, 0, ~0ull,
				 10000000000000000000ull);
	buf[ret > 0 ? ret : 0] = '\0';
	ok(strstr(buf, "\"counter\": 10000000000000000000,") &&
	   strstr(buf, "\"timestamp\": 18446744073709551615\n"),
	   "emit: 64-bit values in decimal");
}

static void test_emit_refuses(void)
{
	struct kmq_topicfile_entry e[3];
	char buf[4096];

	entry_set(&e[0], "A", 1, 1, 6);
	entry_set(&e[1], "B", 1, 1, 6);
	entry_set(&e[2], "C", 1, 1, 6);

	strcpy(e[1].name, "a.b");
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0),
	       -KMQ_TF_ENAME, "emit: '.' in a name refused");
	strcpy(e[1].name, "B\"");
	is_int(kmq_topicfile_emit(NULL, 0, e, 3, 0, 0), -KMQ_TF_ENAME,
	       "emit: quote in a name refused (size query too)");
	e[1].name[0] = '\0';
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0),
	       -KMQ_TF_ENAME, "emit: empty name refused");
	memset(e[1].name, 'B', sizeof(e[1].name));
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0),
	       -KMQ_TF_ENAME, "emit: name without NUL refused");
	e[1].name[127] = '\0';
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0) > 0, 1,
	       "emit: 127-byte name accepted");

	entry_set(&e[1], "B", 0x80000000u, 1, 6);
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0),
	       -KMQ_TF_ERANGE, "emit: readQueueNums over 2^31-1 refused");
	entry_set(&e[1], "B", 1, 0xffffffffu, 6);
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0),
	       -KMQ_TF_ERANGE, "emit: writeQueueNums over 2^31-1 refused");
	entry_set(&e[1], "B", 1, 1, 0x80000000u);
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0),
	       -KMQ_TF_ERANGE, "emit: perm over 2^31-1 refused");

	entry_set(&e[1], "C", 1, 1, 6);
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0),
	       -KMQ_TF_EORDER, "emit: a name twice refused");
	entry_set(&e[1], "D", 1, 1, 6);
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0),
	       -KMQ_TF_EORDER, "emit: unsorted refused");
	entry_set(&e[0], "AB", 1, 1, 6);
	entry_set(&e[1], "A", 1, 1, 6);
	is_int(kmq_topicfile_emit(buf, sizeof(buf), e, 2, 0, 0),
	       -KMQ_TF_EORDER, "emit: a prefix sorts first");
	entry_set(&e[0], "A", 1, 1, 6);
	entry_set(&e[1], "AB", 1, 1, 6);
	entry_set(&e[2], "a", 1, 1, 6);
	ok(kmq_topicfile_emit(buf, sizeof(buf), e, 3, 0, 0) > 0,
	   "emit: A < AB < a accepted");
}

/* A random legal name of 1..@max bytes. */
static void rand_name(char *s, int max)
{
	int n = 1 + rand() % max, i;

	for (i = 0; i < n; i++) {
		int r = rand() % 66;

		if (r < 26)
			s[i] = 'a' + r;
		else if (r < 52)
			s[i] = 'A' + r - 26;
		else if (r < 62)
			s[i] = '0' + r - 52;
		else
			s[i] = "%|_-"[r - 62];
	}
	s[n] = '\0';
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct kmq_topicfile_entry *)a)->name,
		      ((const struct kmq_topicfile_entry *)b)->name);
}

static __u32 rand_value(void)
{
	switch (rand() % 4) {
	case 0:
		return rand() % 17;
	case 1:
		return 0x7fffffffu;
	default:
		return (__u32)rand() & 0x7fffffffu;
	}
}

/* What kmq_topics.c wrote with jansson before the codec existed. */
static char *jansson_dump(const struct kmq_topicfile_entry *e, int n,
			  __u64 ts, __u64 counter)
{
	json_t *root = json_object(), *table = json_object();
	char *text;
	int i;

	for (i = 0; i < n; i++)
		json_object_set_new(table, e[i].name,
				    json_pack("{s:s, s:i, s:i, s:i, s:s, s:i, s:b}",
					      "topicName", e[i].name,
					      "readQueueNums", (int)e[i].read_queues,
					      "writeQueueNums", (int)e[i].write_queues,
					      "perm", (int)e[i].perm,
					      "topicFilterType", "SINGLE_TAG",
					      "topicSysFlag", 0, "order", 0));
	json_object_set_new(root, "dataVersion",
			    json_pack("{s:I, s:I}", "timestamp",
				      (json_int_t)ts, "counter",
				      (json_int_t)counter));
	json_object_set_new(root, "topicConfigTable", table);
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	return text;
}

static void test_against_jansson(void)
{
	static struct kmq_topicfile_entry e[MAXE];
	static char buf[1 << 16];
	int iter, bytes_bad = 0, parse_bad = 0, trunc_bad = 0;

	srand(12345);
	for (iter = 0; iter < 300; iter++) {
		int n = iter % 7 == 0 ? 0 : 1 + rand() % (MAXE - 1), i, k, len;
		__u64 ts = ((__u64)rand() << 20) ^ rand();
		__u64 counter = rand() % 100000;
		struct coll c;
		char *text;

		for (i = 0; i < n; i++) {
			rand_name(e[i].name, iter % 3 ? 12 : 127);
			e[i].read_queues = rand_value();
			e[i].write_queues = rand_value();
			e[i].perm = rand_value();
		}
		qsort(e, n, sizeof(e[0]), cmp_entry);
		for (i = k = 0; i < n; i++)	/* drop repeated names */
			if (!k || strcmp(e[k - 1].name, e[i].name))
				e[k++] = e[i];
		n = k;
		text = jansson_dump(e, n, ts, counter);
		if (!text)
			kmq_tap_bail("jansson failed");
		len = kmq_topicfile_emit(buf, sizeof(buf), e, n, ts, counter);
		if (len != (int)strlen(text) || memcmp(buf, text, len))
			bytes_bad++;
		if (parse(text, &c) || c.n != n) {
			parse_bad++;
		} else {
			for (i = 0; i < n; i++)
				if (!entry_is(&c.e[i], e[i].name,
					      e[i].read_queues,
					      e[i].write_queues, e[i].perm))
					parse_bad++;
		}
		/* A few random cuts of each. */
		for (i = 0; i < 8 && len > 0; i++)
			if (parse_n(text, rand() % len, NULL) >= 0)
				trunc_bad++;
		free(text);
	}
	is_int(bytes_bad, 0, "300 random tables: emit writes jansson's bytes");
	is_int(parse_bad, 0, "300 random tables: jansson's text parses back");
	is_int(trunc_bad, 0, "2400 random cuts of them refused");
}

static void test_round_trip(void)
{
	struct kmq_topicfile_entry e[4];
	char buf[4096], buf2[4096];
	struct coll c;
	int len, len2, i;

	/* RocketMQ's own file in, ours out, read again, same topics. */
	is_int(parse(rocketmq_doc, &c), 0, "round trip: rocketmq file read");
	qsort(c.e, c.n, sizeof(c.e[0]), cmp_entry);
	len = kmq_topicfile_emit(buf, sizeof(buf) - 1, c.e, c.n,
				 1716812345678ull, 8);
	ok(len > 0, "round trip: written (%d bytes)", len);
	memcpy(e, c.e, sizeof(e));
	is_int(parse_n(buf, len > 0 ? len : 0, &c), 0,
	       "round trip: written file read");
	is_int(c.n, 4, "round trip: 4 topics");
	for (i = 0; i < 4 && i < c.n; i++)
		ok(!memcmp(&c.e[i], &e[i], sizeof(e[i])),
		   "round trip: topic %d same (%s)", i, e[i].name);
	len2 = kmq_topicfile_emit(buf2, sizeof(buf2), c.e, c.n,
				  1716812345678ull, 8);
	ok(len2 == len && !memcmp(buf, buf2, len),
	   "round trip: written again, same bytes");
	buf[len > 0 ? len : 0] = '\0';
	test_truncation("emitted rocketmq table", buf);
}

static void test_strerror(void)
{
	int e, j, dup = 0, unknown = 0;

	for (e = KMQ_TF_EBASE; e < KMQ_TF_ELAST; e++) {
		const char *s = kmq_topicfile_strerror(-e);

		if (!s || !strcmp(s, "unknown topic file error"))
			unknown++;
		for (j = KMQ_TF_EBASE; j < e; j++)
			if (s && !strcmp(s, kmq_topicfile_strerror(-j)))
				dup++;
	}
	is_int(unknown, 0, "strerror: every code has a text");
	is_int(dup, 0, "strerror: the texts differ");
	ok(!strcmp(kmq_topicfile_strerror(-KMQ_TF_ENAME),
		   kmq_topicfile_strerror(KMQ_TF_ENAME)),
	   "strerror: positive code accepted");
	ok(!strcmp(kmq_topicfile_strerror(-12), "unknown topic file error"),
	   "strerror: an errno is not ours");
	ok(!strcmp(kmq_topicfile_strerror(-KMQ_TF_ELAST),
		   "unknown topic file error"), "strerror: past the last");
}

/* The 2^31 - 1 limit: 4.7 million topics with 127-byte names. */
static void test_too_big(void)
{
	const __u32 n = 4800000;
	struct kmq_topicfile_entry *e;
	__u32 i;

	if (!getenv("KMQ_TEST_BIG")) {
		ok(1, "emit: ETOOBIG # SKIP set KMQ_TEST_BIG=1 (650 MB)");
		return;
	}
	e = calloc(n, sizeof(*e));
	if (!e) {
		ok(1, "emit: ETOOBIG # SKIP no memory");
		return;
	}
	for (i = 0; i < n; i++) {
		memset(e[i].name, 'x', 120);
		snprintf(e[i].name + 120, 8, "%07u", i);
		e[i].read_queues = 0x7fffffff;
		e[i].write_queues = 0x7fffffff;
	}
	is_int(kmq_topicfile_emit(NULL, 0, e, n, 0, 0), -KMQ_TF_ETOOBIG,
	       "emit: over 2^31 - 1 bytes: ETOOBIG");
	is_int(kmq_topicfile_emit(NULL, 0, e, 4000000, 0, 0) > 0, 1,
	       "emit: 4 million such topics still fit");
	free(e);
}

int main(void)
{
	test_jansson_doc();
	test_rocketmq_doc();
	test_escapes();
	test_fields();
	test_malformed();
	test_depth();
	test_truncation("jansson file", jansson_doc);
	test_truncation("rocketmq file", rocketmq_doc);
	test_truncation("fastjson bare keys", fastjson_bare_doc);
	test_truncation("escapes", "{\"topicConfig\\u0054able\":{\"k\":{"
			"\"topicName\":\"\\u0025R\",\"x\":\"\\uD83D\\uDE00\xe4\xb8\xad"
			"\",\"y\":-0.5e+3,\n"
			"\"readQueueNums\":1,\"writeQueueNums\":20}}}");
	test_callback_stop();
	test_emit_jansson_doc();
	test_emit_refuses();
	test_against_jansson();
	test_round_trip();
	test_strerror();
	test_too_big();
	return kmq_tap_done();
}
