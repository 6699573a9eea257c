// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_kmqd_admin.c - kmqd's administration and orderly-consumption requests
 * over TCP against a real kmqd: queue locks (41, 42: two clients, expiry,
 * release on disconnect and on unregister), runtime info (28),
 * subscription groups (200, 201, 207, config/subscriptionGroup.json,
 * retryMaxTimes and consumeEnable at work), topic stats (202), consumer
 * connections (203), consume stats (208), the name server's topic list
 * (206) and topic deletion (215, 216), reset of offsets by time (222, and
 * the 220 an online consumer gets), all topic configs (21) and QUERY_MESSAGE
 * (12, unsupported), the broker's configuration (26, and 25 changing
 * what can change while kmqd runs, all or nothing): each with its answers
 * and its errors (code and remark), then a restart keeping the
 * subscription groups and dropping the configuration changes.
 *
 * Maps keyed by message queues come in fastjson's shape ({{mq}:value});
 * mq_json() reads them, so the test also pins that shape.
 */
#include "kmqd_test_util.h"

#define LOCK_TTL_MS	3000	/* KMQD_REBALANCE_LOCK_MAX_LIVE_TIME here */
#define BROKER		"broker-a"

enum {
	KD_QUERY_MESSAGE = 12,
	KD_GET_ALL_TOPIC_CONFIG = 21,
	KD_UPDATE_BROKER_CONFIG = 25,
	KD_GET_BROKER_CONFIG = 26,
	KD_LOCK_BATCH_MQ = 41,
	KD_UNLOCK_BATCH_MQ = 42,
	KD_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
	KD_GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201,
	KD_GET_TOPIC_STATS_INFO = 202,
	KD_GET_CONSUMER_CONNECTION_LIST = 203,
	KD_GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
	KD_DELETE_SUBSCRIPTIONGROUP = 207,
	KD_GET_CONSUME_STATS = 208,
	KD_DELETE_TOPIC_IN_BROKER = 215,
	KD_DELETE_TOPIC_IN_NAMESRV = 216,
	KD_RESET_CONSUMER_CLIENT_OFFSET = 220,
	KD_INVOKE_BROKER_TO_RESET_OFFSET = 222,
};

enum {
	KD_NO_PERMISSION = 16,
	KD_SUBSCRIPTION_GROUP_NOT_EXIST = 26,
	KD_CONSUMER_NOT_ONLINE = 206,
};

static struct kd_server srv;

/* ---- helpers ------------------------------------------------------------ */

static int conn(unsigned int port)
{
	int fd = kd_connect(port);

	if (fd < 0) {
		diag("connect to kmqd port %u: %s", port, strerror(-fd));
		kmq_tap_bail("cannot connect to kmqd");
	}
	return fd;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Call @code with a body and no extFields; the code, the answer in @f. */
static int call_body(int fd, struct kd_frame *f, int code, const char *body)
{
	return kd_callv(fd, f, code, body, body ? strlen(body) : 0, NULL);
}

/* Expect @code with a remark containing @needle. */
static void expect_err(struct kd_frame *f, int ret, int code,
		       const char *needle, const char *what)
{
	is_int(ret, code, "%s -> %d", what, code);
	ok(!!strstr(kd_remark(f), needle),
	   "... remark names %s (\"%s\")", needle, kd_remark(f));
	kd_frame_free(f);
}

/* A refused body: the remark names @needle. */
struct bad_body {
	const char *body;		/* NULL: none */
	const char *needle;
	const char *what;
};

/* Each of @bad as the body of @code: INVALID_PARAMETER naming its needle. */
static void expect_bad_bodies(int fd, int code, const struct bad_body *bad,
			      size_t n)
{
	struct kd_frame f;
	size_t i;

	for (i = 0; i < n; i++)
		expect_err(&f, call_body(fd, &f, code, bad[i].body),
			   KD_INVALID_PARAMETER, bad[i].needle, bad[i].what);
}

/*
 * mq_json() - a body with maps keyed by MessageQueue objects, as fastjson
 * writes them ({{"brokerName":..,"queueId":..,"topic":..}:v}), parsed
 * with every such key turned into the string "topic/brokerName/queueId".
 * NULL if the text is malformed.
 */
static json_t *mq_json(const char *text, size_t len)
{
	char stack[64], *out = malloc(len * 2 + 16), *o = out;
	unsigned int depth = 0;
	bool in_str = false, key_pos = false;
	json_t *doc = NULL;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		char ch = text[i];

		if (in_str) {
			*o++ = ch;
			if (ch == '\\' && i + 1 < len)
				*o++ = text[++i];
			else if (ch == '"')
				in_str = false;
			i++;
			continue;
		}
		if (key_pos && ch == '{') {
			/* An object as a key: find its end, rewrite it. */
			size_t j = i, d = 0;
			bool s = false;
			json_t *mq;

			for (; j < len; j++) {
				if (s) {
					if (text[j] == '\\')
						j++;
					else if (text[j] == '"')
						s = false;
				} else if (text[j] == '"') {
					s = true;
				} else if (text[j] == '{') {
					d++;
				} else if (text[j] == '}' && !--d) {
					break;
				}
			}
			if (j == len)
				goto out;
			mq = json_loadb(text + i, j + 1 - i, 0, NULL);
			if (!json_is_string(json_object_get(mq, "topic")) ||
			    !json_is_string(json_object_get(mq, "brokerName")) ||
			    !json_is_integer(json_object_get(mq, "queueId"))) {
				json_decref(mq);
				goto out;
			}
			o += sprintf(o, "\"%s/%s/%lld\"", jstr(mq, "topic"),
				     jstr(mq, "brokerName"),
				     jint(mq, "queueId"));
			json_decref(mq);
			i = j + 1;
			key_pos = false;
			continue;
		}
		if (ch == '"')
			in_str = true;
		if (ch == '{' || ch == '[') {
			if (depth == sizeof(stack))
				goto out;
			stack[depth++] = ch;
		} else if ((ch == '}' || ch == ']') && depth) {
			depth--;
		}
		if (ch == '{' || (ch == ',' && depth && stack[depth - 1] == '{'))
			key_pos = true;
		else if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r')
			key_pos = false;
		*o++ = ch;
		i++;
	}
	*o = '\0';
	doc = json_loads(out, 0, NULL);
out:
	free(out);
	return doc;
}

static json_t *frame_mq_json(const struct kd_frame *f)
{
	if (!f->decoded || !f->cmd.body_len)
		return NULL;
	return mq_json((const char *)f->cmd.body, f->cmd.body_len);
}

static json_t *mq_entry(json_t *table, const char *topic, unsigned int qid)
{
	char key[300];

	snprintf(key, sizeof(key), "%s/%s/%u", topic, BROKER, qid);
	return json_object_get(table, key);
}

static int heartbeat(int fd, const char *client, const char *group,
		     const char *topic, const char *sub)
{
	char body[1024], fmt[1024];
	struct kd_frame f;
	int ret;

	kd_json(fmt, sizeof(fmt),
		"{'clientID':'%s','consumerDataSet':[{'groupName':'%s',",
		"'consumeType':'CONSUME_PASSIVELY','messageModel':'CLUSTERING',",
		"'consumeFromWhere':'CONSUME_FROM_FIRST_OFFSET',",
		"'subscriptionDataSet':[{'topic':'%s','subString':'%s',",
		"'tagsSet':[],'codeSet':[],'subVersion':7,'expressionType':'TAG'",
		"}],'unitMode':false}],'producerDataSet':[]}", NULL);
	snprintf(body, sizeof(body), fmt, client, group, topic, sub);
	ret = kd_callv(fd, &f, KD_HEART_BEAT, body, strlen(body), NULL);
	kd_frame_free(&f);
	return ret;
}

static int send_msg(int fd, const char *topic, int qid, const char *body,
		    uint32_t reconsume, struct kd_sent *s)
{
	struct kd_msg m = {
		.topic = topic, .queue_id = qid, .body = body,
		.body_len = strlen(body), .reconsume_times = reconsume,
		.max_reconsume_times = -1,
	};
	int ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, s);

	if (ret)
		diag("send to %s/%d: %d %s", topic, qid, ret, s->remark);
	return ret;
}

/* The committed offset, or -1000 - code on an error response. */
static int64_t committed(int fd, const char *group, const char *topic,
			 unsigned int qid)
{
	int code;
	int64_t v = kd_offset_query(fd, group, topic, qid, &code);

	return code ? -1000 - code : v;
}

/* STORETIMESTAMP of the record at (@topic, @qid, @off), or 0. */
static uint64_t store_ts(int fd, const char *topic, unsigned int qid,
			 int64_t off)
{
	struct kmq_record r;
	uint8_t *copy;
	uint64_t ts = 0;

	if (!kd_fetch(fd, topic, qid, off, &r, &copy))
		ts = r.store_ts;
	free(copy);
	return ts;
}

/* 201's subscriptionGroupTable entry of @group (a new reference), or NULL. */
static json_t *subgroup(int fd, const char *group, long long *counter)
{
	struct kd_frame f;
	json_t *doc, *g = NULL;

	if (!call_body(fd, &f, KD_GET_ALL_SUBSCRIPTIONGROUP_CONFIG, NULL)) {
		doc = kd_body_json(&f);
		g = json_object_get(doc, "subscriptionGroupTable");
		g = json_incref(json_object_get(g, group));
		if (counter)
			*counter = jint(json_object_get(doc, "dataVersion"),
					"counter");
		json_decref(doc);
	}
	kd_frame_free(&f);
	return g;
}

static int update_subgroup(int fd, const char *json)
{
	char body[1024];
	struct kd_frame f;
	int ret;

	kd_json(body, sizeof(body), json, NULL);
	ret = call_body(fd, &f, KD_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, body);
	if (ret)
		diag("200 %s: %d %s", body, ret, kd_remark(&f));
	kd_frame_free(&f);
	return ret;
}

/* The subscriptionGroup.json file's entry of @group, or NULL. */
static json_t *subgroup_file(const char *group)
{
	char path[PATH_MAX + 64];
	json_t *doc, *g;

	snprintf(path, sizeof(path), "%s/config/subscriptionGroup.json",
		 srv.store);
	doc = json_load_file(path, 0, NULL);
	g = json_object_get(doc, "subscriptionGroupTable");
	g = json_incref(json_object_get(g, group));
	json_decref(doc);
	return g;
}

/* ---- 12, 21 ------------------------------------------------------------- */

static void test_query_and_topic_config(void)
{
	int fd = conn(srv.port), ret;
	struct kd_frame f;
	json_t *doc, *t;

	ret = kd_callv(fd, &f, KD_QUERY_MESSAGE, NULL, 0, "topic", "AdmT",
		       "key", "k1", "maxNum", "32", "beginTimestamp", "0",
		       "endTimestamp", "9999999999999", NULL);
	expect_err(&f, ret, KD_REQUEST_CODE_NOT_SUPPORTED,
		   "query by key is not supported by this broker (no index)",
		   "12 QUERY_MESSAGE");

	is_int(kd_create_topic(fd, "AdmT", 4), 0, "17 creates AdmT (4 queues)");
	ret = call_body(fd, &f, KD_GET_ALL_TOPIC_CONFIG, NULL);
	is_int(ret, 0, "21 GET_ALL_TOPIC_CONFIG answers SUCCESS");
	doc = kd_body_json(&f);
	t = json_object_get(json_object_get(doc, "topicConfigTable"), "AdmT");
	ok(jint(t, "readQueueNums") == 4 && jint(t, "writeQueueNums") == 4 &&
	   jint(t, "perm") == 6 && !strcmp(jstr(t, "topicName"), "AdmT"),
	   "21: topicConfigTable.AdmT has 4/4 queues, perm 6");
	ok(json_object_get(json_object_get(doc, "topicConfigTable"), "TBW102") &&
	   jint(json_object_get(doc, "dataVersion"), "timestamp") > 0,
	   "21: TBW102 listed, dataVersion present");
	json_decref(doc);
	kd_frame_free(&f);
	close(fd);
}

/* ---- 202 ---------------------------------------------------------------- */

static void test_topic_stats(void)
{
	int fd = conn(srv.port), ret, i;
	uint64_t t0 = kd_now_ms(), t1;
	struct kd_frame f;
	struct kd_sent s;
	json_t *doc, *tab, *e;
	char needle[128];

	for (i = 0; i < 3; i++)
		send_msg(fd, "AdmT", 1, "stats", 0, &s);
	t1 = kd_now_ms();
	ret = kd_callv(fd, &f, KD_GET_TOPIC_STATS_INFO, NULL, 0,
		       "topic", "AdmT", NULL);
	is_int(ret, 0, "202 GET_TOPIC_STATS_INFO AdmT: SUCCESS");
	snprintf(needle, sizeof(needle),
		 "{\"offsetTable\":{{\"brokerName\":\"%s\",\"queueId\":0,\"topic\":\"AdmT\"}:{",
		 BROKER);
	ok(f.cmd.body_len &&
	   !strncmp((const char *)f.cmd.body, needle, strlen(needle)),
	   "202: the map is keyed by MessageQueue objects, fastjson style");
	doc = frame_mq_json(&f);
	tab = json_object_get(doc, "offsetTable");
	is_int(json_object_size(tab), 4, "202: 4 queues in offsetTable");
	e = mq_entry(tab, "AdmT", 1);
	ok(jint(e, "minOffset") == 0 && jint(e, "maxOffset") == 3,
	   "202: queue 1 min 0 max 3 (got %lld %lld)", jint(e, "minOffset"),
	   jint(e, "maxOffset"));
	ok(jint(e, "lastUpdateTimestamp") >= (long long)t0 &&
	   jint(e, "lastUpdateTimestamp") <= (long long)t1,
	   "202: queue 1 lastUpdateTimestamp is the last message's store time");
	e = mq_entry(tab, "AdmT", 0);
	ok(e && jint(e, "maxOffset") == 0 && jint(e, "lastUpdateTimestamp") == 0,
	   "202: queue 0 empty, lastUpdateTimestamp 0");
	json_decref(doc);
	kd_frame_free(&f);

	ret = kd_callv(fd, &f, KD_GET_TOPIC_STATS_INFO, NULL, 0, NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "topic",
		   "202 without topic");
	ret = kd_callv(fd, &f, KD_GET_TOPIC_STATS_INFO, NULL, 0,
		       "topic", "NoSuchAdmT", NULL);
	expect_err(&f, ret, KD_TOPIC_NOT_EXIST, "NoSuchAdmT",
		   "202 unknown topic");
	close(fd);
}

/* ---- 28 ----------------------------------------------------------------- */

static long long kv_int(json_t *t, const char *key)
{
	const char *v = jstr(t, key);

	return *v ? strtoll(v, NULL, 10) : -1;
}

static void test_runtime_info(void)
{
	struct kd_pull_args a = {
		.group = "RtG", .topic = "RtInfoT", .queue_id = 0,
		.offset = 0, .max_msgs = 32,
	};
	int fd = conn(srv.port), i, nrec = 0;
	json_t *t0, *t1;
	struct kd_pulled p;
	struct kd_sent s;
	double tps[3] = { 0 };

	is_int(kd_create_topic(fd, "RtInfoT", 1), 0, "17 creates RtInfoT");
	t0 = kd_runtime_table(fd);
	ok(!!t0, "28 GET_BROKER_RUNTIME_INFO: a KVTable {\"table\":{...}}");
	for (i = 0; i < 5; i++)
		send_msg(fd, "RtInfoT", 0, "runtime", 0, &s);
	if (!kd_pull(fd, &a, &p, KD_TIMEOUT_MS))
		nrec = kd_records(p.body, p.body_len, NULL, 0);
	kd_pulled_free(&p);
	is_int(nrec, 5, "pulled the 5 messages back");
	t1 = kd_runtime_table(fd);
	is_int(kv_int(t1, "msgPutTotalTodayNow") - kv_int(t0, "msgPutTotalTodayNow"),
	       5, "28: msgPutTotalTodayNow grew by the 5 sends");
	is_int(kv_int(t1, "msgGetTotalTodayNow") - kv_int(t0, "msgGetTotalTodayNow"),
	       5, "28: msgGetTotalTodayNow grew by the 5 pulled");
	ok(kv_int(t1, "commitLogMaxOffset") > kv_int(t0, "commitLogMaxOffset") &&
	   kv_int(t1, "commitLogMinOffset") >= 0,
	   "28: commitLogMaxOffset grew (%lld -> %lld), min %lld",
	   kv_int(t0, "commitLogMaxOffset"), kv_int(t1, "commitLogMaxOffset"),
	   kv_int(t1, "commitLogMinOffset"));
	ok(sscanf(jstr(t1, "putTps"), "%lf %lf %lf", &tps[0], &tps[1],
		  &tps[2]) == 3 && tps[0] > 0,
	   "28: putTps has three rates, the 10 s one above 0 (\"%s\")",
	   jstr(t1, "putTps"));
	ok(sscanf(jstr(t1, "getTransferedTps"), "%lf %lf %lf", &tps[0],
		  &tps[1], &tps[2]) == 3 && tps[0] > 0,
	   "28: getTransferedTps likewise (\"%s\")",
	   jstr(t1, "getTransferedTps"));
	ok(*jstr(t1, "brokerVersionDesc") && kv_int(t1, "brokerVersion") > 0,
	   "28: brokerVersionDesc \"%s\"", jstr(t1, "brokerVersionDesc"));
	ok(!strncmp(jstr(t1, "runtime"), "[ 0 days, ", 10) &&
	   kv_int(t1, "bootTimestamp") <= (long long)kd_now_ms() &&
	   kv_int(t1, "bootTimestamp") > 0,
	   "28: runtime \"%s\" and bootTimestamp", jstr(t1, "runtime"));
	ok(kv_int(t1, "earliestMessageTimeStamp") > 0 &&
	   *jstr(t1, "commitLogDirCapacity"),
	   "28: earliestMessageTimeStamp and commitLogDirCapacity (\"%s\")",
	   jstr(t1, "commitLogDirCapacity"));
	ok(!json_object_get(t1, "sendThreadPoolQueueSize"),
	   "28: no invented values (no thread pool sizes)");
	json_decref(t0);
	json_decref(t1);
	close(fd);
}

/* ---- 200, 201, 207 ------------------------------------------------------ */

/* 36 for the record at (@topic, 0, @qoff) from @group. */
static int send_back(int fd, const char *group, const char *topic,
		     int64_t qoff, const char *max)
{
	struct kmq_record r;
	uint8_t *copy;
	struct kd_frame f;
	char off[32];
	int ret;

	ret = kd_fetch(fd, topic, 0, qoff, &r, &copy);
	if (ret)
		return -1;
	snprintf(off, sizeof(off), "%llu",
		 (unsigned long long)r.phys_offset);
	free(copy);
	if (max)
		ret = kd_callv(fd, &f, KD_CONSUMER_SEND_MSG_BACK, NULL, 0,
			       "offset", off, "group", group, "delayLevel", "0",
			       "originTopic", topic, "maxReconsumeTimes", max,
			       NULL);
	else
		ret = kd_callv(fd, &f, KD_CONSUMER_SEND_MSG_BACK, NULL, 0,
			       "offset", off, "group", group, "delayLevel", "0",
			       "originTopic", topic, NULL);
	kd_frame_free(&f);
	return ret;
}

static const struct bad_body bad200[] = {
	{ NULL, "SubscriptionGroupConfig", "200 without a body" },
	{ "{nope", "JSON", "200 not JSON" },
	{ "{\"retryMaxTimes\":3}", "groupName", "200 without groupName" },
	{ "{\"groupName\":\"a b\"}", "a b", "200 with a bad groupName" },
	{ "{\"groupName\":\"SgBad\",\"retryMaxTimes\":\"x\"}", "retryMaxTimes",
	  "200 with retryMaxTimes \"x\"" },
	{ "{\"groupName\":\"SgBad\",\"retryQueueNums\":-5}", "retryQueueNums",
	  "200 with retryQueueNums -5" },
	{ "{\"groupName\":\"SgBad\",\"consumeEnable\":3}", "consumeEnable",
	  "200 with consumeEnable 3" },
};

static void test_subgroups(void)
{
	struct kd_pull_args a = {
		.group = "SgOff", .topic = "AdmT", .queue_id = 1, .offset = 0,
		.max_msgs = 1,
	};
	int fd = conn(srv.port), ret;
	long long c0 = -1, c1 = -1;
	json_t *g, *fg;
	struct kd_pulled p;
	struct kd_frame f;
	struct kd_sent s;
	int64_t sched0, sched1, dlq;

	g = subgroup(fd, "SgA", &c0);
	ok(!g, "201 before: no SgA");
	json_decref(g);
	is_int(update_subgroup(fd, "{'groupName':'SgA','retryMaxTimes':2,'consumeEnable':true}"),
	       0, "200 creates SgA with retryMaxTimes 2");
	g = subgroup(fd, "SgA", &c1);
	ok(g && jint(g, "retryMaxTimes") == 2 && jint(g, "retryQueueNums") == 1 &&
	   json_is_true(json_object_get(g, "consumeBroadcastEnable")) &&
	   json_is_true(json_object_get(g, "consumeEnable")) &&
	   !strcmp(jstr(g, "groupName"), "SgA"),
	   "201 lists SgA: retryMaxTimes 2, RocketMQ's defaults for the rest");
	ok(c1 > c0, "201: dataVersion counter moved (%lld -> %lld)", c0, c1);
	json_decref(g);
	fg = subgroup_file("SgA");
	ok(fg && jint(fg, "retryMaxTimes") == 2,
	   "config/subscriptionGroup.json has SgA when 200 answers");
	json_decref(fg);

	/* retryMaxTimes: a message consumed twice already goes to the DLQ. */
	is_int(kd_create_topic(fd, "RetryMaxT", 1), 0, "17 creates RetryMaxT");
	send_msg(fd, "RetryMaxT", 0, "again", 2, &s);
	sched0 = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "SCHEDULE_TOPIC_XXXX",
				 4);
	is_int(send_back(fd, "SgA", "RetryMaxT", 0, NULL), 0,
	       "36 for SgA without maxReconsumeTimes: SUCCESS");
	dlq = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "%DLQ%SgA", 0);
	is_int(dlq, 1, "... with SgA's retryMaxTimes 2 it went to %%DLQ%%SgA");
	is_int(send_back(fd, "SgA", "RetryMaxT", 0, "16"), 0,
	       "36 for SgA with maxReconsumeTimes 16 (the client's wins)");
	sched1 = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "SCHEDULE_TOPIC_XXXX",
				 4);
	ok(sched1 == sched0 + 1 &&
	   kd_queue_offset(fd, KD_GET_MAX_OFFSET, "%DLQ%SgA", 0) == 1,
	   "... went to retry (delay level 5), not the DLQ (%" PRId64 " -> %" PRId64 ")",
	   sched0, sched1);
	is_int(send_back(fd, "SgDefault", "RetryMaxT", 0, NULL), 0,
	       "36 for a group with the default retryMaxTimes (16)");
	ok(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "SCHEDULE_TOPIC_XXXX", 4) ==
	   sched1 + 1,
	   "... went to retry, not the DLQ");

	/* consumeEnable */
	is_int(update_subgroup(fd, "{'groupName':'SgOff','consumeEnable':false}"),
	       0, "200 SgOff with consumeEnable false");
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	is_int(ret, KD_NO_PERMISSION, "pull as SgOff -> 16 NO_PERMISSION");
	ok(!!strstr(p.remark, "SgOff"), "... remark names SgOff (\"%s\")",
	   p.remark);
	kd_pulled_free(&p);
	is_int(update_subgroup(fd, "{'groupName':'SgOn','consumeEnable':'false'}"),
	       0, "200 accepts \"false\" as a string (fastjson does)");
	g = subgroup(fd, "SgOn", NULL);
	ok(json_is_false(json_object_get(g, "consumeEnable")),
	   "... stored as the boolean false");
	json_decref(g);
	is_int(update_subgroup(fd, "{'groupName':'SgOn','consumeEnable':true}"),
	       0, "200 SgOn again with consumeEnable true");
	a.group = "SgOn";
	is_int(kd_pull(fd, &a, &p, KD_TIMEOUT_MS), 0,
	       "pull as SgOn: FOUND once re-enabled");
	kd_pulled_free(&p);

	/* Groups created on the fly by a pull and a heartbeat. */
	a.group = "SgByPull";
	kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	kd_pulled_free(&p);
	g = subgroup(fd, "SgByPull", NULL);
	ok(g && jint(g, "retryMaxTimes") == 16,
	   "a pull creates its group's configuration with the defaults");
	json_decref(g);
	is_int(heartbeat(fd, "127.0.0.1@sg1", "SgByHb", "AdmT", "*"), 0,
	       "34 heartbeat of SgByHb");
	g = subgroup(fd, "SgByHb", NULL);
	ok(!!g, "a heartbeat creates its group's configuration");
	json_decref(g);

	/* 200 errors */
	expect_bad_bodies(fd, KD_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, bad200,
			  ARRAY_SIZE(bad200));
	g = subgroup(fd, "SgBad", NULL);
	ok(!g, "no SgBad after the refused updates");
	json_decref(g);

	/* 207 */
	ret = kd_callv(fd, &f, KD_DELETE_SUBSCRIPTIONGROUP, NULL, 0,
		       "groupName", "SgA", NULL);
	is_int(ret, 0, "207 deletes SgA");
	kd_frame_free(&f);
	g = subgroup(fd, "SgA", NULL);
	fg = subgroup_file("SgA");
	ok(!g && !fg, "201 and subscriptionGroup.json no longer have SgA");
	json_decref(g);
	json_decref(fg);
	ret = kd_callv(fd, &f, KD_DELETE_SUBSCRIPTIONGROUP, NULL, 0,
		       "groupName", "SgNever", NULL);
	expect_err(&f, ret, 0, "does not exist",
		   "207 of an unknown group: SUCCESS as RocketMQ");
	ret = kd_callv(fd, &f, KD_DELETE_SUBSCRIPTIONGROUP, NULL, 0, NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "groupName",
		   "207 without groupName");
	ret = kd_callv(fd, &f, KD_DELETE_SUBSCRIPTIONGROUP, NULL, 0,
		       "groupName", "SgOn", "cleanOffset", "maybe", NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "cleanOffset",
		   "207 with cleanOffset \"maybe\"");

	/* cleanOffset drops the group's offsets */
	is_int(kd_offset_commit(fd, "SgClean", "AdmT", 1, 2), 0, "15 commits SgClean at 2");
	is_int(update_subgroup(fd, "{'groupName':'SgClean'}"), 0, "200 SgClean");
	ret = kd_callv(fd, &f, KD_DELETE_SUBSCRIPTIONGROUP, NULL, 0,
		       "groupName", "SgClean", "cleanOffset", "true", NULL);
	is_int(ret, 0, "207 SgClean with cleanOffset true");
	kd_frame_free(&f);
	is_int(committed(fd, "SgClean", "AdmT", 1), 0,
	       "14 SgClean: its offset is gone (a new group starts at 0)");
	close(fd);
}

/* ---- 203 ---------------------------------------------------------------- */

static void test_consumer_connection(void)
{
	int fd1 = conn(srv.port), fd = conn(srv.port), ret;
	json_t *doc, *c0, *sub;
	struct kd_frame f;
	char addr[64];
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	is_int(heartbeat(fd1, "127.0.0.1@cc1", "CcG", "AdmT", "TagA || TagB"),
	       0, "34 heartbeat of cc1 in CcG");
	getsockname(fd1, (struct sockaddr *)&sa, &sl);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	ret = kd_callv(fd, &f, KD_GET_CONSUMER_CONNECTION_LIST, NULL, 0,
		       "consumerGroup", "CcG", NULL);
	is_int(ret, 0, "203 GET_CONSUMER_CONNECTION_LIST CcG: SUCCESS");
	doc = kd_body_json(&f);
	c0 = json_array_get(json_object_get(doc, "connectionSet"), 0);
	ok(json_array_size(json_object_get(doc, "connectionSet")) == 1 &&
	   !strcmp(jstr(c0, "clientId"), "127.0.0.1@cc1"),
	   "203: connectionSet has cc1");
	ok(!strcmp(jstr(c0, "clientAddr"), addr),
	   "203: clientAddr is the connection's %s (got %s)", addr,
	   jstr(c0, "clientAddr"));
	ok(!strcmp(jstr(c0, "language"), "JAVA") && jint(c0, "version") == 401,
	   "203: language JAVA and version 401 from the heartbeat's header");
	ok(!strcmp(jstr(doc, "consumeType"), "CONSUME_PASSIVELY") &&
	   !strcmp(jstr(doc, "messageModel"), "CLUSTERING") &&
	   !strcmp(jstr(doc, "consumeFromWhere"), "CONSUME_FROM_FIRST_OFFSET"),
	   "203: consumeType, messageModel, consumeFromWhere of the heartbeat");
	sub = json_object_get(json_object_get(doc, "subscriptionTable"), "AdmT");
	ok(!strcmp(jstr(sub, "subString"), "TagA || TagB") &&
	   jint(sub, "subVersion") == 7,
	   "203: subscriptionTable.AdmT as the heartbeat sent it");
	json_decref(doc);
	kd_frame_free(&f);

	ret = kd_callv(fd, &f, KD_GET_CONSUMER_CONNECTION_LIST, NULL, 0,
		       "consumerGroup", "NoSuchCcG", NULL);
	expect_err(&f, ret, KD_CONSUMER_NOT_ONLINE, "NoSuchCcG",
		   "203 unknown group");
	ret = kd_callv(fd, &f, KD_GET_CONSUMER_CONNECTION_LIST, NULL, 0, NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "consumerGroup",
		   "203 without consumerGroup");
	close(fd1);
	{
		double end = kd_mono_ms() + 3000;

		do {
			kd_sleep_ms(20);
			ret = kd_callv(fd, &f, KD_GET_CONSUMER_CONNECTION_LIST,
				       NULL, 0, "consumerGroup", "CcG", NULL);
			kd_frame_free(&f);
		} while (ret == 0 && kd_mono_ms() < end);
	}
	is_int(ret, KD_CONSUMER_NOT_ONLINE,
	       "203 CcG once cc1's connection closed -> 206");
	close(fd);
}

/* ---- 208 ---------------------------------------------------------------- */

static void test_consume_stats(void)
{
	struct kd_pull_args a = {
		.group = "CsG", .topic = "AdmT", .queue_id = 1, .offset = 0,
		.max_msgs = 32,
	};
	int fd = conn(srv.port), hb = conn(srv.port), ret;
	json_t *doc, *tab, *e;
	struct kd_pulled p;
	struct kd_frame f;
	uint64_t ts1 = store_ts(fd, "AdmT", 1, 1);
	double tps;

	is_int(kd_offset_commit(fd, "CsG", "AdmT", 1, 2), 0, "15 commits CsG AdmT/1 at 2");
	is_int(kd_pull(fd, &a, &p, KD_TIMEOUT_MS), 0, "CsG pulls AdmT/1");
	kd_pulled_free(&p);
	ret = kd_callv(fd, &f, KD_GET_CONSUME_STATS, NULL, 0,
		       "consumerGroup", "CsG", "topic", "AdmT", NULL);
	is_int(ret, 0, "208 GET_CONSUME_STATS CsG AdmT: SUCCESS");
	doc = frame_mq_json(&f);
	tab = json_object_get(doc, "offsetTable");
	e = mq_entry(tab, "AdmT", 1);
	is_int(json_object_size(tab), 4, "208: one entry per queue of AdmT");
	ok(jint(e, "brokerOffset") == 3 && jint(e, "consumerOffset") == 2,
	   "208: queue 1 brokerOffset 3, consumerOffset 2 (got %lld %lld)",
	   jint(e, "brokerOffset"), jint(e, "consumerOffset"));
	ok(ts1 && jint(e, "lastTimestamp") == (long long)ts1,
	   "208: lastTimestamp is the store time of offset 1 (the last consumed)");
	e = mq_entry(tab, "AdmT", 0);
	ok(e && jint(e, "consumerOffset") == 0 && jint(e, "lastTimestamp") == 0,
	   "208: queue 0 without an offset: 0, lastTimestamp 0");
	tps = json_real_value(json_object_get(doc, "consumeTps"));
	ok(json_is_real(json_object_get(doc, "consumeTps")) && tps > 0,
	   "208: consumeTps %.3f > 0 after CsG's pull", tps);
	json_decref(doc);
	kd_frame_free(&f);

	ret = kd_callv(fd, &f, KD_GET_CONSUME_STATS, NULL, 0,
		       "consumerGroup", "CsG", NULL);
	doc = frame_mq_json(&f);
	ok(!ret && mq_entry(json_object_get(doc, "offsetTable"), "AdmT", 1),
	   "208 without topic: the topics CsG has offsets for (AdmT)");
	json_decref(doc);
	kd_frame_free(&f);

	/* An online group not subscribed to the topic: skipped. */
	is_int(heartbeat(hb, "127.0.0.1@cs2", "CsG", "OtherT", "*"), 0,
	       "34: CsG online, subscribed to OtherT only");
	ret = kd_callv(fd, &f, KD_GET_CONSUME_STATS, NULL, 0,
		       "consumerGroup", "CsG", NULL);
	doc = frame_mq_json(&f);
	ok(!ret && json_object_size(json_object_get(doc, "offsetTable")) == 0,
	   "208: AdmT left out while CsG's consumers do not subscribe to it");
	json_decref(doc);
	kd_frame_free(&f);
	close(hb);

	ret = kd_callv(fd, &f, KD_GET_CONSUME_STATS, NULL, 0,
		       "consumerGroup", "NoSuchCsG", NULL);
	expect_err(&f, ret, KD_SUBSCRIPTION_GROUP_NOT_EXIST, "NoSuchCsG",
		   "208 unknown group");
	ret = kd_callv(fd, &f, KD_GET_CONSUME_STATS, NULL, 0,
		       "consumerGroup", "CsG", "topic", "NoSuchCsT", NULL);
	expect_err(&f, ret, KD_TOPIC_NOT_EXIST, "NoSuchCsT",
		   "208 unknown topic");
	ret = kd_callv(fd, &f, KD_GET_CONSUME_STATS, NULL, 0, "topic", "AdmT",
		       NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "consumerGroup",
		   "208 without consumerGroup");
	close(fd);
}

/* ---- 222, 220 ----------------------------------------------------------- */

static int reset(int fd, struct kd_frame *f, const char *group, int64_t ts,
		 const char *force)
{
	char t[32];

	snprintf(t, sizeof(t), "%" PRId64, ts);
	return kd_callv(fd, f, KD_INVOKE_BROKER_TO_RESET_OFFSET, NULL, 0,
			"topic", "RsT", "group", group, "timestamp", t,
			"isForce", force, NULL);
}

/* The offsetTable of a 222 answer or a 220 body, queue -> offset. */
static void reset_table(const struct kd_frame *f, long long *q0,
			long long *q1)
{
	json_t *doc = frame_mq_json(f), *tab = json_object_get(doc,
							       "offsetTable");
	json_t *v0 = mq_entry(tab, "RsT", 0), *v1 = mq_entry(tab, "RsT", 1);

	*q0 = json_is_integer(v0) ? json_integer_value(v0) : -1;
	*q1 = json_is_integer(v1) ? json_integer_value(v1) : -1;
	json_decref(doc);
}

/* A 220 on @fd within @ms: 0 and the frame in @f, or -1. */
static int wait_220(int fd, struct kd_frame *f, unsigned int ms)
{
	double end = kd_mono_ms() + ms;

	while (kd_remaining(end) > 0 &&
	       !kd_recv_frame(fd, f, kd_remaining(end))) {
		if (f->cmd.code == KD_RESET_CONSUMER_CLIENT_OFFSET &&
		    !(f->cmd.flag & KMQ_RMT_FLAG_RESPONSE))
			return 0;
		kd_frame_free(f);
	}
	return -1;
}

static void test_reset_offset(void)
{
	int fd = conn(srv.port), cons = conn(srv.port), ret, i;
	uint64_t ts[3];
	long long q0, q1;
	struct kd_frame f, n;
	struct kd_sent s;

	is_int(kd_create_topic(fd, "RsT", 2), 0, "17 creates RsT (2 queues)");
	for (i = 0; i < 3; i++) {
		send_msg(fd, "RsT", 0, "reset", 0, &s);
		ts[i] = store_ts(fd, "RsT", 0, i);
		kd_sleep_ms(30);
	}
	is_int(kd_offset_commit(fd, "RsG", "RsT", 0, 3), 0, "15 commits RsG RsT/0 at 3");
	is_int(kd_offset_commit(fd, "RsG", "RsT", 1, 0), 0, "15 commits RsG RsT/1 at 0");
	is_int(heartbeat(cons, "127.0.0.1@rs1", "RsG", "RsT", "*"), 0,
	       "34: a consumer of RsG is online");
	kd_sleep_ms(200);

	ret = reset(fd, &f, "RsG", ts[1], "true");
	is_int(ret, 0, "222 RsG to the 2nd message's time, forced: SUCCESS");
	reset_table(&f, &q0, &q1);
	ok(q0 == 1 && q1 == 0, "222: offsetTable RsT/0 -> 1, RsT/1 -> 0 (got %lld %lld)",
	   q0, q1);
	kd_frame_free(&f);
	is_int(committed(fd, "RsG", "RsT", 0), 1,
	       "14: RsG's committed offset of RsT/0 is now 1");
	ret = wait_220(cons, &n, 3000);
	ok(!ret && (n.cmd.flag & KMQ_RMT_FLAG_ONEWAY) &&
	   !strcmp(kmq_rmt_ext(&n.cmd, "topic") ?: "", "RsT") &&
	   !strcmp(kmq_rmt_ext(&n.cmd, "group") ?: "", "RsG"),
	   "the online consumer got 220 RESET_CONSUMER_CLIENT_OFFSET (oneway, topic, group)");
	if (!ret) {
		reset_table(&n, &q0, &q1);
		ok(q0 == 1 && q1 == 0,
		   "220's body: the new offsets (ResetOffsetBody)");
		kd_frame_free(&n);
	} else {
		ok(0, "220's body: the new offsets (ResetOffsetBody)");
	}

	/* Not forced: an offset only moves back. */
	ret = reset(fd, &f, "RsG", -1, "false");
	reset_table(&f, &q0, &q1);
	ok(!ret && q0 == 1, "222 to the end, not forced: RsT/0 stays at 1 (%lld)",
	   q0);
	kd_frame_free(&f);
	ret = reset(fd, &f, "RsG", -1, "true");
	reset_table(&f, &q0, &q1);
	ok(!ret && q0 == 3 && q1 == 0, "222 to the end, forced: 3 and 0");
	kd_frame_free(&f);
	ret = reset(fd, &f, "RsG", ts[0], "false");
	reset_table(&f, &q0, &q1);
	ok(!ret && q0 == 0, "222 back to the first message, not forced: 0");
	kd_frame_free(&f);
	ret = reset(fd, &f, "RsG", (int64_t)kd_now_ms() + 3600000, "true");
	reset_table(&f, &q0, &q1);
	ok(!ret && q0 == 3, "222 to a future time: the end of the queue");
	kd_frame_free(&f);

	/* RocketMQ 5: one queue to an offset */
	ret = kd_callv(fd, &f, KD_INVOKE_BROKER_TO_RESET_OFFSET, NULL, 0,
		       "topic", "RsT", "group", "RsG", "timestamp", "0",
		       "isForce", "true", "queueId", "0", "offset", "2", NULL);
	reset_table(&f, &q0, &q1);
	ok(!ret && q0 == 2 && q1 == -1,
	   "222 with queueId 0 and offset 2: only RsT/0, to 2");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_INVOKE_BROKER_TO_RESET_OFFSET, NULL, 0,
		       "topic", "RsT", "group", "RsG", "timestamp", "0",
		       "isForce", "true", "queueId", "0", "offset", "99", NULL);
	expect_err(&f, ret, KD_SYSTEM_ERROR, "not in consume queue range",
		   "222 with offset 99 past the queue");

	/* A C++ caller gets ResetOffsetBodyForC sent to the consumers. */
	{
		struct kmq_rmt_cmd c;
		json_t *body, *e;

		while (!kd_recv_frame(cons, &n, 200))
			kd_frame_free(&n);
		kd_req(&c, KD_INVOKE_BROKER_TO_RESET_OFFSET, KMQ_RMT_JSON);
		snprintf(c.language, sizeof(c.language), "CPP");
		kd_ext(&c, "topic", "RsT");
		kd_ext(&c, "group", "RsG");
		kd_ext(&c, "timestamp", "-1");
		kd_ext(&c, "isForce", "true");
		ret = kd_call(fd, &c, NULL, 0, &f, KD_TIMEOUT_MS);
		kmq_rmt_cmd_free(&c);
		is_int(ret ? ret : f.cmd.code, 0, "222 from a CPP client: SUCCESS");
		kd_frame_free(&f);
		ret = wait_220(cons, &n, 3000);
		body = ret ? NULL : kd_body_json(&n);
		e = json_array_get(json_object_get(body, "offsetTable"), 0);
		ok(e && jint(e, "offset") == 3 && !strcmp(jstr(e, "topic"), "RsT") &&
		   !strcmp(jstr(e, "brokerName"), BROKER) &&
		   jint(e, "queueId") == 0,
		   "... the consumer's 220 carries ResetOffsetBodyForC (a list)");
		json_decref(body);
		if (!ret)
			kd_frame_free(&n);
	}

	ret = kd_callv(fd, &f, KD_INVOKE_BROKER_TO_RESET_OFFSET, NULL, 0,
		       "topic", "NoSuchRsT", "group", "RsG", "timestamp", "0",
		       "isForce", "true", NULL);
	expect_err(&f, ret, KD_TOPIC_NOT_EXIST, "NoSuchRsT", "222 unknown topic");
	ret = reset(fd, &f, "NoSuchRsG", 0, "true");
	expect_err(&f, ret, KD_SUBSCRIPTION_GROUP_NOT_EXIST, "NoSuchRsG",
		   "222 unknown group");
	ret = kd_callv(fd, &f, KD_INVOKE_BROKER_TO_RESET_OFFSET, NULL, 0,
		       "topic", "RsT", "group", "RsG", NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "timestamp",
		   "222 without timestamp");
	ret = kd_callv(fd, &f, KD_INVOKE_BROKER_TO_RESET_OFFSET, NULL, 0,
		       "topic", "RsT", "timestamp", "0", NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "group", "222 without group");
	ret = reset(fd, &f, "RsG", 0, "maybe");
	expect_err(&f, ret, KD_INVALID_PARAMETER, "isForce",
		   "222 with isForce \"maybe\"");
	close(cons);
	close(fd);
}

/* ---- 206, 215, 216 ------------------------------------------------------ */

static bool topic_listed(const char *topic)
{
	int fd = conn(srv.ns_port);
	struct kd_frame f;
	json_t *doc, *t;
	bool found = false, sorted = true;
	const char *prev = "";
	size_t i;

	if (!call_body(fd, &f, KD_GET_ALL_TOPIC_LIST_FROM_NAMESERVER, NULL)) {
		doc = kd_body_json(&f);
		json_array_foreach(json_object_get(doc, "topicList"), i, t) {
			if (strcmp(prev, json_string_value(t)) > 0)
				sorted = false;
			prev = json_string_value(t);
			if (!strcmp(prev, topic))
				found = true;
		}
		if (!sorted)
			diag("206: topicList not sorted");
		json_decref(doc);
	}
	kd_frame_free(&f);
	close(fd);
	return found;
}

/* Poll 206 until @topic is (not) listed. */
static bool wait_listed(const char *topic, bool want)
{
	double end = kd_mono_ms() + 3000;

	while (topic_listed(topic) != want) {
		if (kd_mono_ms() > end)
			return false;
		kd_sleep_ms(25);
	}
	return true;
}

static void test_delete_topic(void)
{
	int fd = conn(srv.port), ns = conn(srv.ns_port), ret;
	struct kd_frame f;
	struct kd_sent s;
	json_t *route = NULL;

	is_int(kd_create_topic(fd, "DelT", 2), 0, "17 creates DelT");
	send_msg(fd, "DelT", 0, "doomed", 0, &s);
	is_int(kd_offset_commit(fd, "DelG", "DelT", 0, 1), 0, "15 commits DelG DelT/0 at 1");
	ok(wait_listed("DelT", true), "206 GET_ALL_TOPIC_LIST_FROM_NAMESERVER lists DelT");
	ok(topic_listed("TBW102") && topic_listed("AdmT"),
	   "206 lists TBW102 and AdmT too");
	ret = kd_callv(fd, &f, KD_GET_CONSUME_STATS, NULL, 0,
		       "consumerGroup", "DelG", NULL);
	is_int(ret, 0, "208 DelG before the delete: its offsets on DelT");
	kd_frame_free(&f);

	ret = kd_callv(fd, &f, KD_DELETE_TOPIC_IN_BROKER, NULL, 0,
		       "topic", "DelT", NULL);
	is_int(ret, 0, "215 DELETE_TOPIC_IN_BROKER DelT: SUCCESS");
	kd_frame_free(&f);
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "DelT", 0),
	       -1000 - KD_TOPIC_NOT_EXIST, "30 on DelT -> 17 after the delete");
	ret = kd_wait_route(srv.ns_port, "DelT", false, &route, 3000);
	is_int(ret, KD_TOPIC_NOT_EXIST, "105 DelT -> 17: the broker re-registered without it");
	json_decref(route);
	ok(wait_listed("DelT", false), "206 no longer lists DelT");
	ret = kd_callv(fd, &f, KD_GET_CONSUME_STATS, NULL, 0,
		       "consumerGroup", "DelG", NULL);
	is_int(ret, KD_SUBSCRIPTION_GROUP_NOT_EXIST,
	       "208 DelG after: its offsets on DelT went with the topic");
	kd_frame_free(&f);
	is_int(kd_create_topic(fd, "DelT", 2), 0, "17 creates DelT again");
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "DelT", 0), 0,
	       "... empty: nothing of the old DelT is left");

	ret = kd_callv(fd, &f, KD_DELETE_TOPIC_IN_BROKER, NULL, 0,
		       "topic", "NoSuchDelT", NULL);
	expect_err(&f, ret, 0, "does not exist",
		   "215 of an unknown topic: SUCCESS as RocketMQ");
	ret = kd_callv(fd, &f, KD_DELETE_TOPIC_IN_BROKER, NULL, 0,
		       "topic", "TBW102", NULL);
	expect_err(&f, ret, KD_SYSTEM_ERROR, "system topic", "215 TBW102");
	ret = kd_callv(fd, &f, KD_DELETE_TOPIC_IN_BROKER, NULL, 0,
		       "topic", "SCHEDULE_TOPIC_XXXX", NULL);
	expect_err(&f, ret, KD_SYSTEM_ERROR, "system topic",
		   "215 SCHEDULE_TOPIC_XXXX");
	ret = kd_callv(fd, &f, KD_DELETE_TOPIC_IN_BROKER, NULL, 0, NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "topic", "215 without topic");
	ret = kd_callv(fd, &f, KD_DELETE_TOPIC_IN_BROKER, NULL, 0,
		       "topic", "bad topic!", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "215 with an illegal topic name -> 29");
	kd_frame_free(&f);

	/* 216: the name server forgets the route at once. */
	is_int(kd_create_topic(fd, "NsDelT", 1), 0, "17 creates NsDelT");
	ret = kd_wait_route(srv.ns_port, "NsDelT", true, &route, 3000);
	json_decref(route);
	is_int(ret, 0, "105 NsDelT has a route");
	ret = kd_callv(ns, &f, KD_DELETE_TOPIC_IN_NAMESRV, NULL, 0,
		       "topic", "NsDelT", NULL);
	is_int(ret, 0, "216 DELETE_TOPIC_IN_NAMESRV NsDelT: SUCCESS");
	kd_frame_free(&f);
	ret = kd_route(ns, "NsDelT", &route, NULL, 0);
	json_decref(route);
	is_int(ret, KD_TOPIC_NOT_EXIST, "105 NsDelT -> 17 right after 216");
	ok(!topic_listed("NsDelT"), "206 no longer lists NsDelT");
	ret = kd_callv(ns, &f, KD_DELETE_TOPIC_IN_NAMESRV, NULL, 0,
		       "topic", "NoSuchNsT", NULL);
	expect_err(&f, ret, 0, "no route",
		   "216 of an unknown topic: SUCCESS as RocketMQ");
	ret = kd_callv(ns, &f, KD_DELETE_TOPIC_IN_NAMESRV, NULL, 0, NULL);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "topic", "216 without topic");
	close(ns);
	close(fd);
}

/* ---- 41, 42 ------------------------------------------------------------- */

/*
 * 41 (or 42 when @unlock) for @client in LkG over queues @qids of LkT
 * (-1 ends the list). Return: the code; @got: bit q set for each queue in
 * lockOKMQSet.
 */
static int lock_q(int fd, bool unlock, const char *group, const char *client,
		  const int *qids, unsigned int *got)
{
	char body[2048];
	struct kd_frame f;
	json_t *doc, *mq;
	size_t n, i;
	int ret;

	n = snprintf(body, sizeof(body),
		     "{\"consumerGroup\":\"%s\",\"clientId\":\"%s\",\"mqSet\":[",
		     group, client);
	for (i = 0; qids[i] >= 0; i++)
		n += snprintf(body + n, sizeof(body) - n,
			      "%s{\"topic\":\"LkT\",\"brokerName\":\"%s\",\"queueId\":%d}",
			      i ? "," : "", BROKER, qids[i]);
	snprintf(body + n, sizeof(body) - n, "]}");
	ret = call_body(fd, &f, unlock ? KD_UNLOCK_BATCH_MQ : KD_LOCK_BATCH_MQ,
			body);
	if (got) {
		*got = 0;
		doc = kd_body_json(&f);
		json_array_foreach(json_object_get(doc, "lockOKMQSet"), i, mq)
			if (!strcmp(jstr(mq, "topic"), "LkT") &&
			    !strcmp(jstr(mq, "brokerName"), BROKER) &&
			    jint(mq, "queueId") >= 0 && jint(mq, "queueId") < 31)
				*got |= 1u << jint(mq, "queueId");
		json_decref(doc);
	}
	kd_frame_free(&f);
	return ret;
}

#define Q(...)	((const int[]){ __VA_ARGS__, -1 })

/* Lock @q for @client over @fd, retrying for @ms; ms it took, or -1. */
static double lock_within(int fd, const char *client, int q, unsigned int ms)
{
	double t0 = kd_mono_ms();
	unsigned int got = 0;

	do {
		if (!lock_q(fd, false, "LkG", client, Q(q), &got) &&
		    (got & (1u << q)))
			return kd_mono_ms() - t0;
		kd_sleep_ms(20);
	} while (kd_mono_ms() - t0 < ms);
	return -1;
}

/* The start of a lock body of LkG by client A. */
#define LK_GA	"{\"consumerGroup\":\"LkG\",\"clientId\":\"A\","

static const struct bad_body bad41[] = {
	{ NULL, "mqSet", "41 without a body" },
	{ "[1,2", "JSON", "41 body not JSON" },
	{ "{\"clientId\":\"A\",\"mqSet\":[]}", "consumerGroup",
	  "41 without consumerGroup" },
	{ "{\"consumerGroup\":\"LkG\",\"mqSet\":[]}", "clientId",
	  "41 without clientId" },
	{ LK_GA "\"mqSet\":{}}", "mqSet", "41 with mqSet not an array" },
	{ LK_GA "\"mqSet\":[{\"topic\":\"LkT\",\"brokerName\":\"b\"}]}",
	  "mqSet[0]", "41 with a queue without queueId" },
};

static void test_locks(void)
{
	int fa = conn(srv.port), fb = conn(srv.port), fc = conn(srv.port);
	unsigned int got = 0;
	struct kd_frame f;
	double t0, took;
	char body[512];
	int ret;

	ret = lock_q(fa, false, "LkG", "A", Q(0, 1), &got);
	ok(!ret && got == 0x3, "41 LOCK_BATCH_MQ: A locks LkT/0 and /1 (0x%x)",
	   got);
	ret = lock_q(fb, false, "LkG", "B", Q(1, 2), &got);
	ok(!ret && got == 0x4,
	   "41: B asks for /1 and /2, gets /2 only: /1 is A's (0x%x)", got);
	ret = lock_q(fb, false, "LkG2", "B", Q(1), &got);
	ok(!ret && got == 0x2, "41: another group's lock on /1 is separate");
	ret = lock_q(fa, false, "LkG", "A", Q(0, 1), &got);
	ok(!ret && got == 0x3, "41: A renews /0 and /1");
	ret = lock_q(fa, false, "LkG", "A", Q(-1), &got);
	ok(!ret && got == 0, "41 with an empty mqSet: empty lockOKMQSet");

	is_int(lock_q(fb, true, "LkG", "B", Q(1), NULL), 0,
	       "42 UNLOCK_BATCH_MQ of /1 by B (not its holder): SUCCESS");
	ret = lock_q(fb, false, "LkG", "B", Q(1), &got);
	ok(!ret && got == 0, "... and A still holds /1");
	is_int(lock_q(fa, true, "LkG", "A", Q(1), NULL), 0, "42: A unlocks /1");
	ret = lock_q(fb, false, "LkG", "B", Q(1), &got);
	ok(!ret && got == 0x2, "41: now B gets /1");

	/* Renewed locks hold; a lock left alone expires. */
	t0 = kd_mono_ms();
	got = 0;
	while (kd_mono_ms() - t0 < LOCK_TTL_MS + 1000) {
		lock_q(fa, false, "LkG", "A", Q(0), NULL);
		if (!lock_q(fb, false, "LkG", "B", Q(0), &got) && got)
			break;
		kd_sleep_ms(LOCK_TTL_MS / 4);
	}
	ok(!got, "A renewing /0 every %d ms: B never gets it in %d ms",
	   LOCK_TTL_MS / 4, LOCK_TTL_MS + 1000);
	ret = lock_q(fb, false, "LkG", "B", Q(2), &got);
	ok(!ret && got == 0x4, "41: B renews /2, then leaves it alone");
	took = lock_within(fa, "A", 2, LOCK_TTL_MS * 2);
	ok(took >= 0, "41: B's /2, not renewed, goes to A once expired");
	ok(took >= LOCK_TTL_MS - 100 && took < LOCK_TTL_MS + 1500,
	   "... after about %d ms, not before (took %.0f ms)", LOCK_TTL_MS,
	   took);

	/* Released when the holder's connection closes. */
	ret = lock_q(fc, false, "LkG", "C", Q(5), &got);
	ok(!ret && got == 0x20, "41: C locks /5");
	close(fc);
	took = lock_within(fb, "B", 5, LOCK_TTL_MS / 2);
	ok(took >= 0, "C's connection closed: B gets /5 at once (%.0f ms, TTL %d)",
	   took, LOCK_TTL_MS);

	/* Released when the holder unregisters. */
	fc = conn(srv.port);
	is_int(heartbeat(fc, "D", "LkG", "LkT", "*"), 0, "34: D joins LkG");
	ret = lock_q(fc, false, "LkG", "D", Q(6), &got);
	ok(!ret && got == 0x40, "41: D locks /6");
	ret = kd_callv(fb, &f, KD_UNREGISTER_CLIENT, NULL, 0, "clientID", "D",
		       "consumerGroup", "LkG", "producerGroup", "", NULL);
	kd_frame_free(&f);
	is_int(ret, 0, "35 unregisters D from LkG");
	ret = lock_q(fb, false, "LkG", "B", Q(6), &got);
	ok(!ret && got == 0x40, "... B gets /6 at once");
	close(fc);

	/* Bad bodies */
	expect_bad_bodies(fa, KD_LOCK_BATCH_MQ, bad41, ARRAY_SIZE(bad41));
	kd_json(body, sizeof(body), "{'consumerGroup':'LkBad','clientId':'A',",
		"'mqSet':[{'topic':'LkT','brokerName':'" BROKER "','queueId':0},",
		"{'topic':'LkT','brokerName':'b','queueId':-1}]}", NULL);
	ret = call_body(fa, &f, KD_LOCK_BATCH_MQ, body);
	expect_err(&f, ret, KD_INVALID_PARAMETER, "mqSet[1]",
		   "41 with queueId -1");
	ret = lock_q(fb, false, "LkBad", "B", Q(0), &got);
	ok(!ret && got == 0x1,
	   "... nothing was locked by the refused request: B gets LkBad's /0");
	ret = call_body(fa, &f, KD_UNLOCK_BATCH_MQ, "{\"consumerGroup\":\"LkG\"}");
	expect_err(&f, ret, KD_INVALID_PARAMETER, "clientId",
		   "42 without clientId");
	close(fa);
	close(fb);
}

/* ---- 25, 26 ------------------------------------------------------------- */

/*
 * 26 GET_BROKER_CONFIG: the body's "key=value" lines as {key: value}, the
 * version extField's counter and timestamp. @sorted: every line had a
 * separator and the keys came in increasing order. NULL (and a failed
 * check) when the call fails.
 */
static json_t *broker_config(int fd, long long *counter, long long *stamp,
			     bool *sorted)
{
	char prev[128] = "", *text, *line, *save = NULL;
	struct kd_frame f;
	json_t *cfg, *ver;
	int ret;

	ret = call_body(fd, &f, KD_GET_BROKER_CONFIG, NULL);
	if (ret) {
		is_int(ret, 0, "26 GET_BROKER_CONFIG answers SUCCESS (%s)",
		       kd_remark(&f));
		kd_frame_free(&f);
		return NULL;
	}
	ver = json_loads(kmq_rmt_ext(&f.cmd, "version") ?
			 kmq_rmt_ext(&f.cmd, "version") : "", 0, NULL);
	*counter = jint(ver, "counter");
	*stamp = jint(ver, "timestamp");
	if (!json_object_get(ver, "stateVersion"))
		*counter = -1;
	json_decref(ver);
	text = strndup((const char *)f.cmd.body, f.cmd.body_len);
	cfg = json_object();
	*sorted = text && f.cmd.body_len && text[f.cmd.body_len - 1] == '\n';
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq) {
			*sorted = false;
			continue;
		}
		*eq = '\0';
		if (strcmp(prev, line) >= 0)
			*sorted = false;
		snprintf(prev, sizeof(prev), "%s", line);
		json_object_set_new(cfg, line, json_string(eq + 1));
	}
	free(text);
	kd_frame_free(&f);
	return cfg;
}

/* 25 with @body; the code, the remark in @remark. */
static int update_config(int fd, const char *body, size_t len, char *remark,
			 size_t rlen)
{
	struct kd_frame f;
	int ret;

	ret = kd_callv(fd, &f, KD_UPDATE_BROKER_CONFIG, body, len, NULL);
	snprintf(remark, rlen, "%s", kd_remark(&f));
	kd_frame_free(&f);
	return ret;
}

static int update_str(int fd, const char *body, char *remark, size_t rlen)
{
	return update_config(fd, body, strlen(body), remark, rlen);
}

/* readQueueNums of @topic in 21's table, -1 when it is not there. */
static long long topic_queues(int fd, const char *topic)
{
	struct kd_frame f;
	long long n = -1;
	json_t *doc;

	if (!call_body(fd, &f, KD_GET_ALL_TOPIC_CONFIG, NULL)) {
		doc = kd_body_json(&f);
		n = jint(json_object_get(json_object_get(doc,
							 "topicConfigTable"),
					 topic), "readQueueNums");
		json_decref(doc);
	}
	kd_frame_free(&f);
	return n;
}

/* A refused 25: its code, a remark naming @needle, and nothing changed. */
struct bad_update {
	const char *body;
	int code;
	const char *needle;
	const char *what;
};

/*
 * Pull BcLoud's queue 0 from its start: its 3 records; in @copied and
 * @by_ref how much 28's kmqPullCopyBytes and kmqPullSendfileBytes grew.
 */
static void pull_path(int fd, long long *copied, long long *by_ref)
{
	struct kd_pull_args a = {
		.group = "BcG", .topic = "BcLoud", .queue_id = 0,
		.offset = 0, .max_msgs = 32,
	};
	json_t *t0 = kd_runtime_table(fd), *t1;
	struct kd_pulled p;
	int nrec = -1;

	if (!kd_pull(fd, &a, &p, KD_TIMEOUT_MS))
		nrec = kd_records(p.body, p.body_len, NULL, 0);
	kd_pulled_free(&p);
	is_int(nrec, 3, "the pull gets BcLoud's 3 records");
	t1 = kd_runtime_table(fd);
	*copied = kv_int(t1, "kmqPullCopyBytes") -
		  kv_int(t0, "kmqPullCopyBytes");
	*by_ref = kv_int(t1, "kmqPullSendfileBytes") -
		  kv_int(t0, "kmqPullSendfileBytes");
	json_decref(t0);
	json_decref(t1);
}

static const struct bad_update bad25[] = {
	{ "defaultTopicQueueNums=4\nbrokerName=broker-z\n", KD_NO_PERMISSION,
	  "brokerName cannot change while kmqd runs",
	  "a read-only key after a good one" },
	{ "mappedFileSizeCommitLog=1073741824\n", KD_NO_PERMISSION,
	  "mappedFileSizeCommitLog cannot change",
	  "RocketMQ's spelling of a read-only key" },
	{ "storePathRootDir=/tmp/elsewhere\n", KD_NO_PERMISSION,
	  "storePathRootDir cannot change", "the store's directory" },
	{ "autoCreateTopicEnable=false\nnoSuchKey=1\n", KD_SYSTEM_ERROR,
	  "unknown key \"noSuchKey\"", "an unknown key after a good one" },
	{ "brokerPermission=6\n", KD_SYSTEM_ERROR,
	  "brokerPermission is a RocketMQ key kmq does not support",
	  "a RocketMQ key kmq does not have" },
	{ "defaultTopicQueueNums=0\n", KD_SYSTEM_ERROR,
	  "defaultTopicQueueNums: bad value \"0\": expected an integer from 1 to 1024",
	  "a value out of range" },
	{ "transferMsgByHeap=yes\n", KD_SYSTEM_ERROR,
	  "transferMsgByHeap: bad value \"yes\"", "a boolean that is not one" },
	{ "logLevel=loud\n", KD_SYSTEM_ERROR, "logLevel: bad value \"loud\"",
	  "an unknown log level" },
	{ "autoCreateTopicEnable=true\\\n", KD_SYSTEM_ERROR,
	  "line 1: backslash escapes are not supported", "an escape" },
	{ "autocreatetopicenable=false\n", KD_SYSTEM_ERROR,
	  "did you mean autoCreateTopicEnable?", "a key in the wrong case" },
};

static void test_broker_config(void)
{
	long long c0, c1, ts0, ts1, copied, by_ref;
	char remark[1024], *big;
	int fd = conn(srv.port), ret;
	json_t *cfg, *cfg2;
	char want[PATH_MAX];
	struct kd_sent s;
	bool sorted;
	size_t i;

	cfg = broker_config(fd, &c0, &ts0, &sorted);
	ok(cfg && sorted,
	   "26: a body of sorted key=value lines, one per line");
	ok(c0 >= 0 && ts0 > 0 && ts0 <= (long long)kd_now_ms(),
	   "26: extField version is a DataVersion (counter %lld, timestamp %lld)",
	   c0, ts0);
	ok(!strcmp(jstr(cfg, "brokerName"), BROKER) &&
	   !strcmp(jstr(cfg, "brokerClusterName"), "DefaultCluster") &&
	   !strcmp(jstr(cfg, "brokerId"), "0"),
	   "26: brokerName, brokerClusterName, brokerId");
	snprintf(want, sizeof(want), "%u", srv.port);
	ok(!strcmp(jstr(cfg, "listenPort"), want) &&
	   !strcmp(jstr(cfg, "listenAddr"), "127.0.0.1") &&
	   !strcmp(jstr(cfg, "brokerIP1"), "127.0.0.1"),
	   "26: listenPort %s, listenAddr, brokerIP1", jstr(cfg, "listenPort"));
	snprintf(want, sizeof(want), "127.0.0.1:%u", srv.ns_port);
	ok(!strcmp(jstr(cfg, "namesrvAddr"), want),
	   "26: namesrvAddr %s (kmqd all's own)", jstr(cfg, "namesrvAddr"));
	ok(!strcmp(jstr(cfg, "storePathRootDir"), srv.store) &&
	   !strcmp(jstr(cfg, "flushDiskType"), "ASYNC_FLUSH"),
	   "26: storePathRootDir and flushDiskType");
	ok(!strcmp(jstr(cfg, "mapedFileSizeCommitLog"), "16777216") &&
	   !strcmp(jstr(cfg, "mappedFileSizeCommitLog"), "16777216"),
	   "26: mapedFileSizeCommitLog, also as RocketMQ 4.9 spells it");
	ok(!strcmp(jstr(cfg, "autoCreateTopicEnable"), "true") &&
	   !strcmp(jstr(cfg, "defaultTopicQueueNums"), "8") &&
	   !strcmp(jstr(cfg, "transferMsgByHeap"), "false") &&
	   !strcmp(jstr(cfg, "maxMessageSize"), "4194304") &&
	   !strcmp(jstr(cfg, "logLevel"), "info") &&
	   !strcmp(jstr(cfg, "ioThreads"), "2") &&
	   !strcmp(jstr(cfg, "fileReservedTime"), "72") &&
	   !strcmp(jstr(cfg, "ringSegments"), "0"),
	   "26: the defaults and the flags kmqd was started with");
	ok(!strcmp(jstr(cfg, "storeBackend"), "kernel") ||
	   (!strcmp(jstr(cfg, "storeBackend"), "userspace")),
	   "26: storeBackend is the backend open, not auto (%s)",
	   jstr(cfg, "storeBackend"));
	if (access("/dev/kmq", F_OK))
		ok(!strcmp(jstr(cfg, "storeBackend"), "userspace"),
		   "26: no /dev/kmq: the userspace store");
	ok(!json_object_get(cfg, "brokerRole") &&
	   !json_object_get(cfg, "deleteWhen") &&
	   !json_object_get(cfg, "logFile") &&
	   !json_object_get(cfg, "namesrvListenPort"),
	   "26: keys the broker does not keep are not guessed");
	json_decref(cfg);

	/* autoCreateTopicEnable off: a send to a new topic is refused. */
	ret = update_str(fd, "autoCreateTopicEnable=false\n"
			 "defaultTopicQueueNums=2\n", remark, sizeof(remark));
	is_int(ret, 0, "25 autoCreateTopicEnable=false, defaultTopicQueueNums=2 (%s)",
	       remark);
	cfg = broker_config(fd, &c1, &ts1, &sorted);
	ok(!strcmp(jstr(cfg, "autoCreateTopicEnable"), "false") &&
	   !strcmp(jstr(cfg, "defaultTopicQueueNums"), "2"),
	   "26 shows both new values");
	ok(c1 == c0 + 1 && ts1 >= ts0,
	   "26: the version's counter went %lld -> %lld", c0, c1);
	json_decref(cfg);
	ret = send_msg(fd, "BcNoAuto", 0, "refused", 0, &s);
	ok(ret == KD_TOPIC_NOT_EXIST && strstr(s.remark, "BcNoAuto"),
	   "a send to a new topic is now refused: 17 (%d %s)", ret, s.remark);
	is_int(topic_queues(fd, "BcNoAuto"), -1, "... and no topic was made");

	/* Back on, with ':' and blanks and a comment: 2 queues, not 4. */
	ret = update_str(fd, "# back on\n  autoCreateTopicEnable : true\r\n",
			 remark, sizeof(remark));
	is_int(ret, 0, "25 with a comment, ':' and CRLF (%s)", remark);
	is_int(send_msg(fd, "BcAuto", 0, "made", 0, &s), 0,
	       "a send to a new topic creates it again");
	is_int(topic_queues(fd, "BcAuto"), 2,
	       "... with defaultTopicQueueNums=2 queues (the send asked 4)");

	/* Refusals: the code, the key named, nothing applied. */
	for (i = 0; i < ARRAY_SIZE(bad25); i++) {
		ret = update_str(fd, bad25[i].body, remark, sizeof(remark));
		is_int(ret, bad25[i].code, "25 refuses %s: %d", bad25[i].what,
		       bad25[i].code);
		ok(strstr(remark, bad25[i].needle) &&
		   strstr(remark, "nothing changed"),
		   "... remark \"%s\"", remark);
	}
	ret = update_config(fd, "logLevel=debug\0x=1\n", 19, remark,
			    sizeof(remark));
	ok(ret == KD_SYSTEM_ERROR && strstr(remark, "NUL byte"),
	   "25 refuses a body with a NUL byte (%s)", remark);
	big = malloc((64u << 10) + 2);
	if (big) {
		memset(big, '#', (64u << 10) + 1);
		big[(64u << 10) + 1] = '\0';
		ret = update_config(fd, big, (64u << 10) + 1, remark,
				    sizeof(remark));
		ok(ret == KD_SYSTEM_ERROR && strstr(remark, "more than 65536"),
		   "25 refuses a body over 64 KiB (%s)", remark);
		free(big);
	}
	cfg = broker_config(fd, &c1, &ts1, &sorted);
	ok(!strcmp(jstr(cfg, "defaultTopicQueueNums"), "2") &&
	   !strcmp(jstr(cfg, "autoCreateTopicEnable"), "true") &&
	   !strcmp(jstr(cfg, "brokerName"), BROKER) &&
	   !strcmp(jstr(cfg, "transferMsgByHeap"), "false") &&
	   !strcmp(jstr(cfg, "logLevel"), "info") && c1 == c0 + 2,
	   "after the refusals nothing changed, not even the keys before the bad one (counter %lld)",
	   c1);
	json_decref(cfg);
	ret = update_str(fd, "", remark, sizeof(remark));
	ok(!ret && strstr(remark, "no key given"),
	   "25 with no body: SUCCESS, nothing to do (%s)", remark);
	cfg = broker_config(fd, &c1, &ts1, &sorted);
	is_int(c1, c0 + 2, "... and the version stays");
	json_decref(cfg);

	/* logLevel: warn hides the info line of a topic update. */
	ret = update_str(fd, "logLevel=warn", remark, sizeof(remark));
	is_int(ret, 0, "25 logLevel=warn (%s)", remark);
	is_int(kd_create_topic(fd, "BcQuiet", 1), 0, "17 creates BcQuiet");
	is_int(kd_log_count(&srv, "topic BcQuiet created"), 0,
	       "... and at warn the log says nothing of it");
	ret = update_str(fd, "logLevel=info\n", remark, sizeof(remark));
	is_int(ret, 0, "25 logLevel=info");
	is_int(kd_create_topic(fd, "BcLoud", 1), 0, "17 creates BcLoud");
	is_int(kd_log_count(&srv, "topic BcLoud created"), 1,
	       "... and at info the log has the line");

	/* transferMsgByHeap: pulls copy, and still deliver. */
	ret = update_str(fd, "transferMsgByHeap=true\n", remark,
			 sizeof(remark));
	is_int(ret, 0, "25 transferMsgByHeap=true");
	cfg = broker_config(fd, &c1, &ts1, &sorted);
	ok(!strcmp(jstr(cfg, "transferMsgByHeap"), "true"), "26 shows it");
	json_decref(cfg);
	for (i = 0; i < 3; i++)
		send_msg(fd, "BcLoud", 0, "by heap", 0, &s);
	pull_path(fd, &copied, &by_ref);
	ok(copied > 0 && !by_ref,
	   "a pull now copies its %lld bytes through kmqd (28: kmqPullCopyBytes +%lld, kmqPullSendfileBytes +%lld)",
	   copied, copied, by_ref);
	ret = update_str(fd, "transferMsgByHeap=false", remark, sizeof(remark));
	is_int(ret, 0, "25 transferMsgByHeap=false");
	pull_path(fd, &copied, &by_ref);
	ok(by_ref > 0 && !copied,
	   "... and back off, the records go by reference again (+%lld, copied +%lld)",
	   by_ref, copied);
	/* A change left in force: the restart test sees it go. */
	ret = update_str(fd, "defaultTopicQueueNums=3", remark, sizeof(remark));
	is_int(ret, 0, "25 defaultTopicQueueNums=3");
	cfg = broker_config(fd, &c1, &ts1, &sorted);
	cfg2 = broker_config(fd, &c0, &ts0, &sorted);
	ok(cfg && cfg2 && json_equal(cfg, cfg2) && c0 == c1,
	   "26 twice: the same answer");
	json_decref(cfg);
	json_decref(cfg2);
	close(fd);
}

/* ---- restart ------------------------------------------------------------ */

static void test_restart(void)
{
	long long counter = -1, stamp;
	json_t *g, *cfg;
	bool sorted;
	int fd;

	is_int(kd_server_stop(&srv), 0, "SIGTERM: kmqd exits 0");
	if (kd_server_start(&srv)) {
		ok(0, "kmqd restarts on the same store");
		return;
	}
	fd = conn(srv.port);
	cfg = broker_config(fd, &counter, &stamp, &sorted);
	ok(cfg && counter == 0 &&
	   !strcmp(jstr(cfg, "defaultTopicQueueNums"), "8") &&
	   !strcmp(jstr(cfg, "autoCreateTopicEnable"), "true"),
	   "after a restart 26 has the configuration kmqd started with (25's changes do not persist)");
	json_decref(cfg);
	g = subgroup(fd, "SgOn", NULL);
	ok(g && json_is_true(json_object_get(g, "consumeEnable")),
	   "after a restart 201 still has SgOn (from subscriptionGroup.json)");
	json_decref(g);
	g = subgroup(fd, "SgOff", NULL);
	ok(g && json_is_false(json_object_get(g, "consumeEnable")),
	   "... and SgOff with consumeEnable false");
	json_decref(g);
	g = subgroup(fd, "SgByPull", NULL);
	ok(!!g, "... and SgByPull, created on the fly and written later");
	json_decref(g);
	close(fd);
}

int main(int argc, char **argv)
{
	static const char * const args[] = {
		"--mapedFileSizeCommitLog=16777216", "--ioThreads=2", NULL,
	};
	char ttl[16];

	signal(SIGPIPE, SIG_IGN);
	snprintf(ttl, sizeof(ttl), "%d", LOCK_TTL_MS);
	setenv("KMQD_REBALANCE_LOCK_MAX_LIVE_TIME", ttl, 1);
	if (kd_server_init(&srv, argv[0], "admin", args))
		kmq_tap_bail("cannot prepare a kmqd store directory");
	diag("kmqd: %s, name server %u, broker %u, store %s", srv.bin,
	     srv.ns_port, srv.port, srv.store);
	if (kd_server_start(&srv)) {
		kd_server_cleanup(&srv);
		kd_give_up("kmqd does not start");
	}
	test_query_and_topic_config();
	test_topic_stats();
	test_runtime_info();
	test_subgroups();
	test_consumer_connection();
	test_consume_stats();
	test_reset_offset();
	test_delete_topic();
	test_locks();
	test_broker_config();
	ok(kd_server_alive(&srv), "kmqd still running after the admin cases");
	test_restart();
	is_int(kd_server_stop(&srv), 0, "kmqd stops cleanly");
	ok(!kd_log_sanitizer(&srv), "no sanitizer report in kmqd's log");
	kd_server_cleanup(&srv);
	return kmq_tap_done();
}
