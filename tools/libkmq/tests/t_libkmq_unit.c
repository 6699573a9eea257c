// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_unit.c - libkmq's pieces without a broker: rebalance allocation
 * (RocketMQ's published examples: 10 queues over 3 consumers = 4/3/3),
 * queue selection and selectors, fault avoidance, the retry policy, send
 * statuses, the compression threshold and zlib bodies, properties and
 * message ids, batch bodies, subscriptions, route parsing, pulled records,
 * process queues (and their lock state), lock answers (lockOKMQSet), the
 * work queue and the local offset file.
 */
#include <dirent.h>

#include "kmq_consumer_int.h"
#include "kmq_endian.h"
#include "kmq_msgid.h"
#include "kmq_props.h"
#include "kmq_record.h"
#include "kmqd_test_util.h"

/* ---- rebalance -------------------------------------------------------- */

/* The queues consumer @me of @ncid gets, as "0,1,2". */
static const char *alloc_str(enum kmq_allocate s, unsigned int nmq,
			     unsigned int ncid, unsigned int me)
{
	static char out[256];
	char *ids[16], names[16][16];
	unsigned int idx[64], i;
	int n, o = 0;

	for (i = 0; i < ncid; i++) {
		snprintf(names[i], sizeof(names[i]), "c%02u", i);
		ids[i] = names[i];
	}
	n = kmqc_allocate(s, nmq, ids, ncid, names[me], idx);
	out[0] = '\0';
	for (i = 0; n > 0 && i < (unsigned int)n; i++)
		o += snprintf(out + o, sizeof(out) - o, "%s%u", i ? "," : "",
			      idx[i]);
	if (n < 0)
		snprintf(out, sizeof(out), "error %d", n);
	return out;
}

static void test_allocate(void)
{
	static const struct {
		unsigned int nmq, ncid, me;
		enum kmq_allocate s;
		const char *want;
	} cases[] = {
		{ 10, 3, 0, KMQ_ALLOCATE_AVERAGELY, "0,1,2,3" },
		{ 10, 3, 1, KMQ_ALLOCATE_AVERAGELY, "4,5,6" },
		{ 10, 3, 2, KMQ_ALLOCATE_AVERAGELY, "7,8,9" },
		{ 8, 3, 0, KMQ_ALLOCATE_AVERAGELY, "0,1,2" },
		{ 8, 3, 1, KMQ_ALLOCATE_AVERAGELY, "3,4,5" },
		{ 8, 3, 2, KMQ_ALLOCATE_AVERAGELY, "6,7" },
		{ 2, 3, 0, KMQ_ALLOCATE_AVERAGELY, "0" },
		{ 2, 3, 1, KMQ_ALLOCATE_AVERAGELY, "1" },
		{ 2, 3, 2, KMQ_ALLOCATE_AVERAGELY, "" },
		{ 4, 4, 3, KMQ_ALLOCATE_AVERAGELY, "3" },
		{ 16, 4, 1, KMQ_ALLOCATE_AVERAGELY, "4,5,6,7" },
		{ 0, 2, 0, KMQ_ALLOCATE_AVERAGELY, "" },
		{ 10, 3, 0, KMQ_ALLOCATE_AVERAGELY_BY_CIRCLE, "0,3,6,9" },
		{ 10, 3, 1, KMQ_ALLOCATE_AVERAGELY_BY_CIRCLE, "1,4,7" },
		{ 10, 3, 2, KMQ_ALLOCATE_AVERAGELY_BY_CIRCLE, "2,5,8" },
		{ 2, 3, 2, KMQ_ALLOCATE_AVERAGELY_BY_CIRCLE, "" },
	};
	unsigned int i, q, c, k, total, bad = 0;
	char *ids[2] = { "a", "b" };
	unsigned int idx[4];

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = alloc_str(cases[i].s, cases[i].nmq,
					    cases[i].ncid, cases[i].me);
		const char *how = "averagely";

		if (cases[i].s == KMQ_ALLOCATE_AVERAGELY_BY_CIRCLE)
			how = "circle";
		ok(!strcmp(got, cases[i].want),
		   "%s: %u queues over %u consumers, consumer %u gets [%s] (got [%s])",
		   how, cases[i].nmq, cases[i].ncid, cases[i].me,
		   cases[i].want, got);
	}
	/* Every split covers each queue exactly once. */
	for (k = 0; k < 2; k++) {
		for (q = 0; q < 20; q++) {
			for (c = 1; c < 9; c++) {
				unsigned int seen[20] = { 0 }, me, j;
				char *v[9], names[9][8];
				unsigned int out[20];
				int n;

				for (me = 0; me < c; me++) {
					snprintf(names[me], 8, "c%u", me);
					v[me] = names[me];
				}
				total = 0;
				for (me = 0; me < c; me++) {
					n = kmqc_allocate(k, q, v, c, v[me],
							  out);
					for (j = 0; n > 0 &&
					     j < (unsigned int)n; j++)
						seen[out[j]]++;
					total += n > 0 ? n : 0;
				}
				for (j = 0; j < q; j++)
					bad += seen[j] != 1;
				bad += total != q;
			}
		}
	}
	is_int(bad, 0, "both strategies: 0..19 queues over 1..8 consumers, each queue owned once");
	is_int(kmqc_allocate(KMQ_ALLOCATE_AVERAGELY, 4, ids, 2, "zz", idx),
	       -ENOENT, "a consumer not in the list gets -ENOENT");
}

static void test_sorting(void)
{
	char a[] = "10.0.0.2@9", b[] = "10.0.0.10@1", c[] = "10.0.0.2@10";
	char *ids[3];
	struct kmq_mq mqs[] = {
		{ "T", "broker-b", 0 }, { "T", "broker-a", 10 },
		{ "T", "broker-a", 2 }, { "S", "broker-z", 1 },
	};

	ids[0] = a;
	ids[1] = b;
	ids[2] = c;
	qsort(ids, 3, sizeof(ids[0]), kmqc_cid_cmp);
	ok(!strcmp(ids[0], "10.0.0.10@1") && !strcmp(ids[1], "10.0.0.2@10") &&
	   !strcmp(ids[2], "10.0.0.2@9"),
	   "consumer ids sort as strings (%s %s %s)", ids[0], ids[1], ids[2]);
	qsort(mqs, 4, sizeof(mqs[0]), kmqc_mq_cmp);
	ok(!strcmp(mqs[0].topic, "S") && mqs[1].queue_id == 2 &&
	   mqs[2].queue_id == 10 && !strcmp(mqs[3].broker_name, "broker-b"),
	   "queues sort by topic, broker name, then queue id (numerically)");
}

/* ---- selection -------------------------------------------------------- */

static void make_mqs(struct kmq_mq *v, unsigned int nb, unsigned int nq)
{
	unsigned int b, q;

	for (b = 0; b < nb; b++) {
		for (q = 0; q < nq; q++) {
			struct kmq_mq *m = &v[b * nq + q];

			snprintf(m->topic, sizeof(m->topic), "T");
			snprintf(m->broker_name, sizeof(m->broker_name),
				 "broker-%c", 'a' + b);
			m->queue_id = q;
		}
	}
}

static void test_select(void)
{
	struct kmq_mq mqs[8];
	struct kmqc_faults f;
	unsigned int i, hits[8] = { 0 }, bad = 0;
	struct kmq_message m = { .topic = "T", .keys = "order-1" };
	uint64_t now = 1000000;

	make_mqs(mqs, 2, 4);
	for (i = 0; i < 800; i++)
		hits[kmqc_select(mqs, 8, i, NULL, NULL, now)]++;
	for (i = 0; i < 8; i++)
		bad += hits[i] != 100;
	is_int(bad, 0, "round robin: 800 sends over 8 queues, 100 each");
	is_int(kmqc_select(mqs, 8, 1, "broker-a", NULL, now), 4,
	       "a retry after broker-a failed goes to broker-b's first queue");
	is_int(kmqc_select(mqs, 8, 5, "broker-a", NULL, now), 5,
	       "... or the next one of broker-b in the round");
	is_int(kmqc_select(mqs, 4, 2, "broker-a", NULL, now), 2,
	       "one broker only: the retry stays on it");

	kmqc_faults_init(&f, 30000);
	kmqc_fault_update(&f, "broker-b", 10, true, now);
	ok(!kmqc_fault_available(&f, "broker-b", now + 29999) &&
	   kmqc_fault_available(&f, "broker-b", now + 30000),
	   "a failed broker is avoided for fault_isolation_ms (30 s)");
	for (i = 0, bad = 0; i < 100; i++)
		bad += strcmp(mqs[kmqc_select(mqs, 8, i, NULL, &f,
					      now)].broker_name, "broker-a");
	is_int(bad, 0, "while broker-b is avoided every send goes to broker-a");
	kmqc_fault_update(&f, "broker-a", 10, true, now);
	i = kmqc_select(mqs, 8, 1, "broker-a", &f, now);
	ok(!strcmp(mqs[i].broker_name, "broker-b"),
	   "both avoided: not the broker that just failed (%s)",
	   mqs[i].broker_name);
	kmqc_fault_update(&f, "broker-a", 20, false, now + 10);
	ok(kmqc_fault_available(&f, "broker-a", now + 10),
	   "a fast answer (20 ms) ends the avoidance at once");
	kmqc_fault_update(&f, "broker-a", 1200, false, now);
	ok(!kmqc_fault_available(&f, "broker-a", now + 59999) &&
	   kmqc_fault_available(&f, "broker-a", now + 60000),
	   "a 1.2 s answer: avoided for 60 s (RocketMQ's latency table)");
	kmqc_faults_free(&f);

	is_int(kmqc_fault_duration(0), 0, "latency 0 ms: not avoided");
	is_int(kmqc_fault_duration(549), 0, "549 ms: not avoided");
	is_int(kmqc_fault_duration(550), 30000, "550 ms: 30 s");
	is_int(kmqc_fault_duration(3000), 180000, "3 s: 3 min");
	is_int(kmqc_fault_duration(15000), 600000, "15 s: 10 min");

	is_int(kmqc_java_hash("hello"), 99162322,
	       "Java String.hashCode(\"hello\")");
	is_int(kmq_select_by_hash(mqs, 4, &m, NULL), 1207111310 % 4,
	       "select by hash: |hashCode(\"order-1\")| %% 4 (negative hash)");
	is_int(kmq_select_by_hash(mqs, 4, &m, "hello"), 99162322 % 4,
	       "select by hash of the argument");
	is_int(kmq_select_by_hash(mqs, 3, &m, "polygenelubricants"), 0,
	       "a hash of Integer.MIN_VALUE selects queue 0 (no overflow)");
	for (i = 0, bad = 0; i < 50; i++)
		bad += kmq_select_by_hash(mqs, 8, &m, "key-7") !=
		       101943369 % 8;
	is_int(bad, 0, "one key always selects the same queue");
}

/* ---- retries, statuses, errors ---------------------------------------- */

static void test_policy(void)
{
	static const int retry[] = { 1, 14, 16, 17, 204, 205 };
	static const int fail[] = { 2, 3, 13, 23, 29 };
	enum kmq_send_status st = KMQ_SEND_OK;
	unsigned int i, bad = 0;

	for (i = 0; i < ARRAY_SIZE(retry); i++)
		bad += !kmqc_send_retryable(KMQ_ERR_BROKER(retry[i]));
	is_int(bad, 0, "codes 1, 14, 16, 17, 204, 205 are retried");
	for (i = 0, bad = 0; i < ARRAY_SIZE(fail); i++)
		bad += kmqc_send_retryable(KMQ_ERR_BROKER(fail[i]));
	is_int(bad, 0, "codes 2 SYSTEM_BUSY, 3, 13, 23, 29 fail at once");
	ok(kmqc_send_retryable(-ETIMEDOUT) &&
	   kmqc_send_retryable(-ECONNREFUSED) &&
	   kmqc_send_retryable(-ECONNRESET) && kmqc_send_retryable(-ENOENT),
	   "timeouts, connection errors and a missing route are retried");
	ok(!kmqc_send_retryable(-EINVAL) && !kmqc_send_retryable(-EMSGSIZE) &&
	   !kmqc_send_retryable(-ESHUTDOWN) && !kmqc_send_retryable(0),
	   "bad arguments, size and shutdown are not");

	ok(!kmqc_send_status(0, &st) && st == KMQ_SEND_OK, "0: SEND_OK");
	ok(!kmqc_send_status(10, &st) && st == KMQ_SEND_FLUSH_DISK_TIMEOUT,
	   "10: FLUSH_DISK_TIMEOUT");
	ok(!kmqc_send_status(12, &st) && st == KMQ_SEND_FLUSH_SLAVE_TIMEOUT,
	   "12: FLUSH_SLAVE_TIMEOUT");
	ok(!kmqc_send_status(11, &st) && st == KMQ_SEND_SLAVE_NOT_AVAILABLE,
	   "11: SLAVE_NOT_AVAILABLE");
	is_int(kmqc_send_status(2, &st), KMQ_ERR_BROKER(2),
	       "2: an error, KMQ_ERR_BROKER(2)");
	ok(!strcmp(kmq_send_status_name(KMQ_SEND_FLUSH_SLAVE_TIMEOUT),
		   "FLUSH_SLAVE_TIMEOUT"), "status names");
	ok(kmq_err_is_broker(KMQ_ERR_BROKER(0)) &&
	   kmq_err_broker_code(KMQ_ERR_BROKER(17)) == 17 &&
	   !kmq_err_is_broker(-ETIMEDOUT) &&
	   kmq_err_broker_code(-EINVAL) == -1,
	   "broker codes and errnos do not overlap");
	ok(!strcmp(kmq_strerror(KMQ_ERR_BROKER(17)), "TOPIC_NOT_EXIST (17)") &&
	   !strcmp(kmq_strerror(-ETIMEDOUT), "timed out") &&
	   strstr(kmq_strerror(KMQ_ERR_BROKER(999)), "999"),
	   "kmq_strerror names both kinds");
	is_int(kmqc_fail(-EIO, "writing %s", "x"), -EIO,
	       "kmqc_fail returns its error");
	ok(!strcmp(kmq_errmsg(), "writing x: input/output error"),
	   "... and kmq_errmsg() says what failed (%s)", kmq_errmsg());
}

/* ---- compression ------------------------------------------------------ */

static void test_compress(void)
{
	size_t n = 65536, olen, dlen;
	uint8_t *in = malloc(n), junk[64];
	void *out = NULL, *back = NULL;
	unsigned int i;

	for (i = 0; i < n; i++)
		in[i] = (uint8_t)(i % 251 ^ i / 977);
	ok(!kmqc_should_compress(4095, 4096),
	   "a body of 4095 bytes is sent as is");
	ok(kmqc_should_compress(4096, 4096),
	   "a body of 4096 bytes is compressed (>= threshold)");
	ok(!kmqc_should_compress(1 << 20, 0), "threshold 0: never");
	ok(!kmqc_compress(in, n, 5, &out, &olen) && olen < n,
	   "zlib level 5: %zu bytes to %zu", n, olen);
	ok(out && ((uint8_t *)out)[0] == 0x78,
	   "the output is a zlib stream (RFC 1950 header 0x78)");
	ok(!kmqc_decompress(out, olen, KMQC_INFLATE_MAX, &back, &dlen) &&
	   dlen == n && !memcmp(back, in, n),
	   "inflated back byte for byte");
	free(back);
	back = NULL;
	is_int(kmqc_decompress(out, olen, 1000, &back, &dlen), -EMSGSIZE,
	       "inflating past the limit stops with -EMSGSIZE");
	is_int(kmqc_decompress(out, olen / 2, KMQC_INFLATE_MAX, &back, &dlen),
	       -EPROTO, "a truncated stream is -EPROTO");
	memset(junk, 0xab, sizeof(junk));
	is_int(kmqc_decompress(junk, sizeof(junk), KMQC_INFLATE_MAX, &back,
			       &dlen), -EPROTO, "garbage is -EPROTO");
	free(out);
	free(in);
}

/* ---- outgoing messages ------------------------------------------------ */

static bool prop_is(const char *props, size_t len, const char *name,
		    const char *want)
{
	const char *v;
	uint32_t vl;

	if (kmq_props_get(props, len, name, strlen(name), &v, &vl))
		return false;
	return vl == strlen(want) && !memcmp(v, want, vl);
}

static void test_props(void)
{
	static const struct kmq_property extra[] = {
		{ "color", "blue" }, { "size", "" },
	};
	struct kmq_message m = {
		.topic = "T", .tags = "TagA", .keys = "k1 k2", .body = "x",
		.body_len = 1, .delay_level = 3, .nprops = 2, .props = extra,
	};
	struct kmq_property bad = { "n", "a\001b" };
	char *props, *big, uniq[KMQC_UNIQ_LEN + 1], (*ids)[KMQC_UNIQ_LEN + 1];
	unsigned int i, dup = 0;
	int len;

	len = kmqc_msg_props(&m, "ABC", &props);
	ok(len > 0 && !kmq_props_validate(props, len),
	   "properties are name\\1value\\2 pairs (%d bytes)", len);
	ok(prop_is(props, len, "KEYS", "k1 k2") &&
	   prop_is(props, len, "TAGS", "TagA") &&
	   prop_is(props, len, "DELAY", "3") &&
	   prop_is(props, len, "WAIT", "true") &&
	   prop_is(props, len, "UNIQ_KEY", "ABC") &&
	   prop_is(props, len, "color", "blue") &&
	   prop_is(props, len, "size", ""),
	   "KEYS, TAGS, DELAY, WAIT, UNIQ_KEY and the user's own");
	free(props);
	m.props = &bad;
	m.nprops = 1;
	is_int(kmqc_msg_props(&m, NULL, &props), -EINVAL,
	       "a \\1 in a property value is -EINVAL");
	big = malloc(40000);
	memset(big, 'v', 39999);
	big[39999] = '\0';
	bad.value = big;
	is_int(kmqc_msg_props(&m, NULL, &props), -EMSGSIZE,
	       "properties over 32767 bytes are -EMSGSIZE");
	free(big);

	m.nprops = 0;
	is_int(kmqc_msg_check(&m, 4 << 20), 0, "a good message passes");
	m.body_len = 0;
	is_int(kmqc_msg_check(&m, 4 << 20), -EINVAL, "an empty body: -EINVAL");
	m.body_len = 5 << 20;
	is_int(kmqc_msg_check(&m, 4 << 20), -EMSGSIZE,
	       "a body over max_message_size: -EMSGSIZE");
	m.body_len = 1;
	m.delay_level = 19;
	is_int(kmqc_msg_check(&m, 4 << 20), -EINVAL, "delay level 19: -EINVAL");
	m.delay_level = 0;
	m.topic = "";
	is_int(kmqc_msg_check(&m, 4 << 20), -EINVAL, "an empty topic: -EINVAL");

	kmqc_uniq_id("10.1.2.3", uniq);
	ok(strlen(uniq) == 32 && strspn(uniq, "0123456789ABCDEF") == 32 &&
	   !strncmp(uniq, "0A010203", 8),
	   "UNIQ_KEY: 32 uppercase hex characters starting with the IP (%s)",
	   uniq);
	ids = calloc(10000, sizeof(*ids));
	for (i = 0; i < 10000; i++)
		kmqc_uniq_id("10.1.2.3", ids[i]);
	qsort(ids, 10000, sizeof(*ids),
	      (int (*)(const void *, const void *))strcmp);
	for (i = 1; i < 10000; i++)
		dup += !strcmp(ids[i - 1], ids[i]);
	is_int(dup, 0, "10000 UNIQ_KEYs, all different");
	free(ids);
}

static void test_batch(void)
{
	struct kmq_message msgs[3] = {
		{ .topic = "B", .tags = "a", .body = "one", .body_len = 3,
		  .flag = 7 },
		{ .topic = "B", .body = "two!", .body_len = 4 },
		{ .topic = "B", .keys = "k", .body = "three", .body_len = 5 },
	};
	struct kmqc_uniq uniq[3] = { { "U0" }, { "U1" }, { "U2" } };
	struct kmq_buf b = { 0 };
	const uint8_t *p;
	unsigned int i, bad = 0;

	ok(!kmqc_batch_body(msgs, 3, uniq, &b), "batch body of 3 messages");
	p = b.data;
	for (i = 0; i < 3; i++) {
		uint32_t size = kmq_get_be32(p), blen = kmq_get_be32(p + 16);
		uint16_t plen = kmq_get_be16(p + 20 + blen);
		const char *props = (const char *)p + 22 + blen;

		bad += size != 20 + blen + 2 + plen;
		bad += kmq_get_be32(p + 4) != 0 || kmq_get_be32(p + 8) != 0;
		bad += kmq_get_be32(p + 12) != (uint32_t)msgs[i].flag;
		bad += blen != msgs[i].body_len ||
		       memcmp(p + 20, msgs[i].body, blen);
		bad += !prop_is(props, plen, "UNIQ_KEY", uniq[i].s);
		p += size;
	}
	is_int(bad, 0,
	       "items are [size][magic 0][crc 0][flag][bodyLen][body][propLen][props]");
	is_int(p - b.data, b.len, "and nothing else");
	kmq_buf_free(&b);
}

/* ---- subscriptions ---------------------------------------------------- */

static void test_sub(void)
{
	struct kmqc_sub s;
	json_t *j;
	char *text;

	ok(!kmqc_sub_init(&s, "T", "*") && s.ntags == 0 &&
	   kmqc_sub_match(&s, NULL) && kmqc_sub_match(&s, "x"),
	   "\"*\" matches everything, tagged or not");
	kmqc_sub_free(&s);
	ok(!kmqc_sub_init(&s, "T", NULL) && s.ntags == 0,
	   "no expression is \"*\"");
	kmqc_sub_free(&s);
	ok(!kmqc_sub_init(&s, "T", " TagA || TagB||TagC ") && s.ntags == 3 &&
	   !strcmp(s.tags[0], "TagA") && !strcmp(s.tags[2], "TagC"),
	   "\"A || B||C\" is three tags, blanks trimmed");
	ok(kmqc_sub_match(&s, "TagB") && !kmqc_sub_match(&s, "TagD") &&
	   !kmqc_sub_match(&s, NULL) && !kmqc_sub_match(&s, "taga"),
	   "a tag matches exactly; untagged messages do not");
	j = kmqc_sub_json(&s);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ok(text && strstr(text, "\"codeSet\":[2598919,") &&
	   strstr(text, "\"expressionType\":\"TAG\"") &&
	   strstr(text, "\"tagsSet\":[\"TagA\",\"TagB\",\"TagC\"]"),
	   "heartbeat subscription data with Java hash codes (%s)", text);
	free(text);
	json_decref(j);
	kmqc_sub_free(&s);
	ok(kmqc_sub_init(&s, "", "*") == -EINVAL, "an empty topic: -EINVAL");
}

/* ---- routes ----------------------------------------------------------- */

static void test_route(void)
{
	static const char * const bad[] = {
		"", "[]", "{'brokerDatas':{},'queueDatas':[]}",
		"{'brokerDatas':[{'brokerName':1}],'queueDatas':[]}",
		"{'brokerDatas':[],'queueDatas':[{'brokerName':'b','readQueueNums':-1}]}",
		"{'brokerDatas':[{'brokerName':'b','brokerAddrs':{'x':'a'}}],'queueDatas':[]}",
		"{'brokerDatas':[],'queueDatas':[{'brokerName':'b','readQueueNums':70000}]}",
	};
	char std[1024], java[512], one[256];
	struct kmq_topic_route *tr;
	struct kmqc_route *r;
	unsigned int i, nbad = 0;

	kd_json(std, sizeof(std), "{'brokerDatas':[",
		"{'brokerName':'b','cluster':'c','brokerAddrs':",
		"{'1':'10.0.0.2:10911','0':'10.0.0.1:10911'}},",
		"{'brokerName':'a','cluster':'c',",
		"'brokerAddrs':{'0':'10.0.0.3:10911'}},",
		"{'brokerName':'s','cluster':'c',",
		"'brokerAddrs':{'1':'10.0.0.4:10911'}}],",
		"'queueDatas':[{'brokerName':'b','perm':6,",
		"'readQueueNums':4,'writeQueueNums':4,'topicSysFlag':0},",
		"{'brokerName':'a','perm':4,'readQueueNums':2,",
		"'writeQueueNums':2},",
		"{'brokerName':'s','perm':6,'readQueueNums':1,",
		"'writeQueueNums':1}],'filterServerTable':{}}", NULL);
	kd_json(java, sizeof(java), "{'brokerDatas':[{'brokerAddrs':",
		"{0:'10.0.0.1:10911', 1 :'x:1'},",
		"'brokerName':'b','cluster':'c'}],",
		"'queueDatas':[{'brokerName':'b','perm':6,",
		"'readQueueNums':8,'writeQueueNums':8}]}", NULL);
	ok(!kmqc_route_parse(std, strlen(std), &tr) && tr->nbrokers == 3 &&
	   tr->nqueues == 3, "a standard JSON route parses");
	ok(!strcmp(tr->brokers[0].name, "a") &&
	   !strcmp(tr->brokers[1].name, "b") && tr->brokers[1].naddrs == 2 &&
	   tr->brokers[1].addrs[0].id == 0 &&
	   !strcmp(tr->brokers[1].addrs[0].addr, "10.0.0.1:10911"),
	   "brokers sorted by name, addresses by id (0, the master, first)");
	r = kmqc_route_build("T", tr, 0);
	ok(r && r->nw == 4 && !strcmp(r->wmqs[0].broker_name, "b"),
	   "writable queues: b's 4 (a is read-only, s has no master) (%u)",
	   r ? r->nw : 0);
	ok(r && r->nr == 7 && !strcmp(r->rmqs[0].broker_name, "a") &&
	   r->rmqs[6].queue_id == 0 && !strcmp(r->rmqs[6].broker_name, "s"),
	   "readable queues: a's 2, b's 4, s's 1, sorted (%u)", r ? r->nr : 0);
	kmqc_route_put(r);

	ok(!kmqc_route_parse(std, strlen(std), &tr), "parse again");
	r = kmqc_route_build("New", tr, 2);
	ok(r && r->nw == 2 && r->from_default && !strcmp(r->wmqs[0].topic,
							 "New"),
	   "from the create-topic key: at most default_topic_queues per broker");
	kmqc_route_put(r);

	ok(!kmqc_route_parse(java, strlen(java), &tr) && tr->nbrokers == 1 &&
	   tr->brokers[0].naddrs == 2 && tr->brokers[0].addrs[1].id == 1 &&
	   tr->queues[0].write_queues == 8,
	   "the Java name server's unquoted numeric keys parse too");
	kmq_topic_route_free(tr);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		tr = NULL;
		kd_json(one, sizeof(one), bad[i], NULL);
		nbad += kmqc_route_parse(one, strlen(one), &tr) != -EPROTO;
		kmq_topic_route_free(tr);
	}
	is_int(nbad, 0, "%zu malformed routes are -EPROTO", ARRAY_SIZE(bad));
}

/* ---- pulled records --------------------------------------------------- */

static int put_record(uint8_t *buf, uint32_t cap, const char *topic,
		      uint64_t qoff, uint32_t sys, const void *body,
		      uint32_t blen, const char *props)
{
	struct kmq_record r = {
		.queue_id = 1, .flag = 9, .queue_offset = qoff,
		.phys_offset = 4096 + qoff * 1000, .sys_flag = sys,
		.born_ts = 1700000000000ull, .store_ts = 1700000000001ull,
		.reconsume_times = 2, .body_len = blen, .body = body,
		.topic_len = strlen(topic), .topic = topic,
		.props_len = strlen(props), .props = props,
	};

	r.body_crc = kmq_body_crc(body, blen);
	r.born_host.addr[0] = 10;
	r.born_host.addr[3] = 7;
	r.born_host.port = 5000;
	r.store_host.addr[0] = 127;
	r.store_host.addr[3] = 1;
	r.store_host.port = 10911;
	return kmq_record_encode(buf, cap, &r);
}

static void test_records(void)
{
	uint8_t *buf = malloc(1 << 16), *big = malloc(5000);
	struct kmqc_msg **msgs = NULL;
	char props[256], id[KMQ_MSGID_MAX + 1], val[64];
	struct kmq_host h = { .port = 10911 };
	void *z;
	size_t zlen;
	int n, len = 0, ret;
	unsigned int i;

	memset(big, 'z', 5000);
	for (i = 0; i < 5000; i += 7)
		big[i] = (uint8_t)i;
	kmqc_compress(big, 5000, 5, &z, &zlen);
	len += put_record(buf, 1 << 16, "T", 5, 0, "plain", 5,
			  "TAGS\001TagA\002KEYS\001k1 k2\002UNIQ_KEY\001U1\002");
	len += put_record(buf + len, (1 << 16) - len, "T", 6,
			  KMQ_SYSFLAG_COMPRESSED, z, zlen, "");
	snprintf(props, sizeof(props),
		 "RETRY_TOPIC\001Orig\002ORIGIN_MESSAGE_ID\001X\002");
	len += put_record(buf + len, (1 << 16) - len, "%RETRY%g", 7, 0, "r", 1,
			  props);
	ret = put_record(buf + len, (1 << 16) - len, "T", 8, 0, "bad", 3, "");
	buf[len + ret - 10] ^= 1;	/* past the body: props, CRC intact */
	buf[len + 84 + 4] ^= 0xff;	/* the body: CRC mismatch */
	len += ret;
	n = kmqc_msgs_decode(buf, len, "brokerX", &msgs);
	is_int(n, 3, "three good records, the fourth (bad CRC) ends the list");
	if (n >= 3) {
		const struct kmq_message_ext *a = &msgs[0]->pub;
		const struct kmq_message_ext *b = &msgs[1]->pub;
		const struct kmq_message_ext *c = &msgs[2]->pub;

		ok(!strcmp(a->topic, "T") && !strcmp(a->tags, "TagA") &&
		   !strcmp(a->keys, "k1 k2") && a->body_len == 5 &&
		   !memcmp(a->body, "plain", 5) && a->queue_id == 1 &&
		   a->queue_offset == 5 && a->flag == 9 &&
		   a->reconsume_times == 2 && !strcmp(a->broker_name, "brokerX"),
		   "fields of a plain record");
		h.addr[0] = 127;
		h.addr[3] = 1;
		kmq_msgid_encode(id, &h, 4096 + 5 * 1000);
		ok(!strcmp(a->msg_id, "U1") && !strcmp(a->offset_msg_id, id) &&
		   !strcmp(a->store_host, "127.0.0.1:10911") &&
		   !strcmp(a->born_host, "10.0.0.7:5000"),
		   "msg_id is UNIQ_KEY; offset_msg_id from store host and offset (%s)",
		   a->offset_msg_id);
		ok(b->body_len == 5000 && !memcmp(b->body, big, 5000) &&
		   !b->body_raw && (b->sys_flag & KMQ_SYSFLAG_COMPRESSED) &&
		   !b->tags && !strcmp(b->msg_id, b->offset_msg_id),
		   "a compressed body is inflated; no UNIQ_KEY: msg_id is the offset id");
		ok(!strcmp(c->topic, "Orig") && c->queue_offset == 7,
		   "a %%RETRY%% record gets its RETRY_TOPIC back as topic");
		ok(kmq_message_prop(c, "ORIGIN_MESSAGE_ID", val, sizeof(val)) ==
		   1 && !strcmp(val, "X") &&
		   kmq_message_prop(c, "NOPE", val, sizeof(val)) == -ENOENT,
		   "kmq_message_prop finds properties");
	}
	for (i = 0; i < (unsigned int)n; i++)
		kmqc_msg_free(msgs[i]);
	free(msgs);

	/* A compressed flag on a body that is not zlib: delivered raw. */
	len = put_record(buf, 1 << 16, "T", 1, KMQ_SYSFLAG_COMPRESSED, "notz",
			 4, "");
	n = kmqc_msgs_decode(buf, len, "b", &msgs);
	ok(n == 1 && msgs[0]->pub.body_raw && msgs[0]->pub.body_len == 4,
	   "a body that does not inflate is delivered as stored, body_raw 1");
	if (n == 1)
		kmqc_msg_free(msgs[0]);
	free(msgs);
	n = kmqc_msgs_decode(buf, 50, "b", &msgs);
	is_int(n, 0, "a truncated record decodes to nothing");
	free(msgs);
	free(z);
	free(big);
	free(buf);
}

/* ---- process queues --------------------------------------------------- */

static struct kmqc_msg *fake_msg(int64_t off, size_t blen)
{
	struct kmqc_msg *m = calloc(1, sizeof(*m));

	m->pub.queue_offset = off;
	m->pub.body_len = blen;
	return m;
}

static void test_pq(void)
{
	struct kmq_mq mq = { "T", "b", 0 };
	struct kmqc_pq *pq = kmqc_pq_new(&mq);
	struct kmqc_msg *v[5], *head[4];
	unsigned int i;

	for (i = 0; i < 4; i++)
		v[i] = fake_msg(10 + i, 100);
	v[4] = fake_msg(11, 100);	/* a duplicate offset */
	is_int(kmqc_pq_add(pq, 0, v, 5), 4, "4 messages added, a duplicate dropped");
	ok(pq->count == 4 && pq->bytes == 400 && pq->max_offset == 13,
	   "count, bytes and max offset");
	ok(kmqc_pq_over(pq, 3, 1000) && kmqc_pq_over(pq, 100, 399) &&
	   !kmqc_pq_over(pq, 4, 400),
	   "over a threshold when count or bytes pass it");
	is_int(kmqc_pq_remove(pq, &v[1], 1), 10,
	       "consuming 11 first: the offset stays at 10 (the first left)");
	is_int(kmqc_pq_head(pq, head, 4), 3, "three left");
	ok(head[0]->pub.queue_offset == 10 && head[1]->pub.queue_offset == 12,
	   "in offset order");
	is_int(kmqc_pq_remove(pq, head, 3), 14,
	       "all consumed: the offset is max + 1");
	is_int(kmqc_pq_remove(pq, NULL, 0), -1, "an empty queue: -1");
	ok(pq->count == 0 && pq->bytes == 0 && pq->peak == 4,
	   "empty again; the peak stays");

	/* Orderly: lock state, and a restart where another consumer was. */
	ok(!kmqc_pq_lock_valid(pq, UINT64_MAX), "a new queue is not locked");
	kmqc_pq_set_locked(pq, true);
	ok(kmqc_pq_lock_valid(pq, 1000) && !pq->lock_lost,
	   "granted: locked, valid within its life");
	pq->lock_ms -= 2000;
	ok(!kmqc_pq_lock_valid(pq, 1000) && kmqc_pq_lock_valid(pq, 3000),
	   "granted 2 s ago: not valid for a 1 s life, valid for 3 s");
	kmqc_pq_set_locked(pq, false);
	ok(!kmqc_pq_lock_valid(pq, UINT64_MAX) && pq->lock_lost,
	   "refused: not locked, and lost");
	for (i = 0; i < 3; i++)
		v[i] = fake_msg(14 + i, 10);
	is_int(kmqc_pq_add(pq, pq->epoch, v, 3), 3, "3 more pulled");
	kmqc_pq_restart(pq, 30);
	ok(pq->count == 0 && !pq->head && pq->next_pull == 30 &&
	   pq->max_offset == 29 && pq->epoch == 1,
	   "a restart at 30 drops what was held and pulls from 30");
	v[0] = fake_msg(30, 10);
	is_int(kmqc_pq_add(pq, 0, v, 1), 0,
	       "what a pull made before the restart brings is dropped");
	v[0] = fake_msg(30, 10);
	is_int(kmqc_pq_add(pq, 1, v, 1), 1, "what a later pull brings is kept");
	kmqc_pq_put(pq);
}

/* ---- queue locks ------------------------------------------------------ */

#define MQ_JSON(b, q) \
	"{\"brokerName\":\"" b "\",\"queueId\":" #q ",\"topic\":\"T\"}"

static void test_lock_parse(void)
{
	static const char ans[] = "{\"lockOKMQSet\":["
		MQ_JSON("b", 2) "," MQ_JSON("b", 0) ","
		MQ_JSON("b", 7) "," MQ_JSON("c", 1) ",{\"queueId\":\"1\"}]}";
	static const char empty[] = "{\"lockOKMQSet\":[]}";
	struct kmq_mq mqs[3] = { { "T", "b", 0 }, { "T", "b", 1 },
				 { "T", "b", 2 } };
	bool locked[3];

	is_int(kmqc_lock_parse(ans, strlen(ans), mqs, 3, locked), 2,
	       "lockOKMQSet: 2 of the 3 queues asked for");
	ok(locked[0] && !locked[1] && locked[2],
	   "... queues 0 and 2; other queues, brokers and bad entries ignored");
	is_int(kmqc_lock_parse(empty, strlen(empty), mqs, 3, locked), 0,
	       "an empty set: none held");
	is_int(kmqc_lock_parse("{\"x\":1}", 7, mqs, 3, locked), -EPROTO,
	       "no lockOKMQSet: -EPROTO");
	is_int(kmqc_lock_parse("[1,", 3, mqs, 3, locked), -EPROTO,
	       "not JSON: -EPROTO");
	is_int(kmqc_lock_parse(NULL, 0, mqs, 3, locked), -EPROTO,
	       "no body: -EPROTO");
}

/* ---- the work queue --------------------------------------------------- */

struct wq_log {
	pthread_mutex_t lock;
	int order[8];
	int n;
	int discarded;
};

static struct wq_log wlog = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void wq_task(void *arg, bool run)
{
	pthread_mutex_lock(&wlog.lock);
	if (run)
		wlog.order[wlog.n++] = (int)(intptr_t)arg;
	else
		wlog.discarded++;
	pthread_mutex_unlock(&wlog.lock);
}

static void test_wq(void)
{
	struct kmqc_wq q;

	ok(!kmqc_wq_init(&q, 1, "t-wq"), "work queue with one thread");
	kmqc_wq_post(&q, 150, wq_task, (void *)3);
	kmqc_wq_post(&q, 80, wq_task, (void *)2);
	kmqc_wq_post(&q, 0, wq_task, (void *)1);
	kmqc_wq_post(&q, 60000, wq_task, (void *)9);
	kd_sleep_ms(400);
	ok(wlog.n == 3 && wlog.order[0] == 1 && wlog.order[1] == 2 &&
	   wlog.order[2] == 3, "tasks run when due, in due order");
	kmqc_wq_stop(&q, false);
	is_int(wlog.discarded, 1, "stopping discards the task not yet due");
	is_int(kmqc_wq_post(&q, 0, wq_task, (void *)4), -ESHUTDOWN,
	       "posts after stop fail with -ESHUTDOWN");
	kmqc_wq_destroy(&q);
}

/* ---- the local offset file -------------------------------------------- */

static void test_offset_file(void)
{
	char dir[] = "/tmp/lk-offsets-XXXXXX", path[128];
	struct kmq_mq a = { "T", "b", 0 }, b = { "T", "b", 1 };
	struct kmqc_offsets o;
	int64_t off = -1;

	if (!mkdtemp(dir)) {
		ok(0, "temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/x/g/offsets.json", dir);
	ok(!kmqc_offsets_init(&o, NULL, "g", path),
	   "a local offset store in a directory created for it");
	is_int(kmqc_offsets_fetch(&o, &a, &off), -ENOENT,
	       "no file yet: -ENOENT (consumeFromWhere decides)");
	kmqc_offsets_update(&o, &a, 12, false);
	kmqc_offsets_update(&o, &b, 40, false);
	kmqc_offsets_update(&o, &a, 5, true);
	is_int(kmqc_offsets_mem(&o, &a), 12,
	       "increase-only updates never move an offset back");
	ok(!kmqc_offsets_persist(&o, NULL, true), "written");
	kmqc_offsets_free(&o);

	ok(!kmqc_offsets_init(&o, NULL, "g", path) &&
	   !kmqc_offsets_fetch(&o, &a, &off) && off == 12 &&
	   !kmqc_offsets_fetch(&o, &b, &off) && off == 40,
	   "read back after a restart: 12 and 40");
	kmqc_offsets_update(&o, &a, 13, true);
	ok(!kmqc_offsets_persist(&o, NULL, true), "written again");
	kmqc_offsets_free(&o);
	ok(!kmqc_offsets_init(&o, NULL, "g", path) &&
	   !kmqc_offsets_fetch(&o, &a, &off) && off == 13 &&
	   !kmqc_offsets_fetch(&o, &b, &off) && off == 40,
	   "a queue not taken again keeps its offset in the file");
	kmqc_offsets_free(&o);
	kd_rm_rf(dir);
}

int main(void)
{
	kmq_set_log(KMQ_LOG_ERROR, NULL, NULL);
	test_allocate();
	test_sorting();
	test_select();
	test_policy();
	test_compress();
	test_props();
	test_batch();
	test_sub();
	test_route();
	test_records();
	test_pq();
	test_lock_parse();
	test_wq();
	test_offset_file();
	return kmq_tap_done();
}
