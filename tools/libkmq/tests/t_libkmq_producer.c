// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_producer.c - libkmq's producer against a real kmqd: sync sends
 * pulled back byte for byte, round robin and selectors, async sends with
 * a small in-flight window, oneway sends, batches (320), zlib bodies from
 * 4 KiB, the ROCKETMQ binary header, topics created by their first send,
 * bad messages, raw requests and routes through struct kmq_client, and,
 * with a second broker killed, retries on the other broker and the
 * avoidance of the failed one.
 */
#include <zlib.h>

#include "lk_test_util.h"

static const char *argv0;
static struct lk_env env;

/* Pull the record a send result names (raw protocol, not libkmq). */
static int fetch(unsigned int port, const struct kmq_send_result *r,
		 int64_t delta, struct kmq_record *rec, uint8_t **copy)
{
	int fd = kd_connect(port), ret;

	if (fd < 0)
		return fd;
	ret = kd_fetch(fd, r->mq.topic, r->mq.queue_id,
		       r->queue_offset + delta, rec, copy);
	close(fd);
	return ret;
}

/* A zlib body of @want bytes, inflated (free()). */
static void *inflate_body(const void *in, size_t len, size_t want)
{
	uLongf out_len = want;
	void *out = malloc(want + 1);

	if (out && (uncompress(out, &out_len, in, len) != Z_OK ||
		    out_len != want)) {
		free(out);
		out = NULL;
	}
	return out;
}

static bool rec_prop_is(const struct kmq_record *r, const char *name,
			const char *want)
{
	char buf[256];

	return kd_rec_prop(r, name, buf, sizeof(buf)) && !strcmp(buf, want);
}

static void test_sync(struct kmq_producer *p)
{
	static const struct kmq_property extra[] = { { "color", "blue" } };
	unsigned int i, bad = 0, per_q[4] = { 0 };

	for (i = 0; i < 20; i++) {
		char body[64], keys[32], id[KMQ_MSGID_MAX + 1];
		struct kmq_message m = {
			.topic = "PT", .tags = "TagA", .keys = keys,
			.body = body, .flag = 5, .nprops = 1, .props = extra,
		};
		struct kmq_send_result r;
		struct kmq_record rec;
		uint8_t *copy = NULL;

		m.body_len = snprintf(body, sizeof(body), "sync-%u", i);
		snprintf(keys, sizeof(keys), "key%u other", i);
		if (kmq_producer_send(p, &m, NULL, &r)) {
			diag("send: %s", kmq_errmsg());
			bad++;
			continue;
		}
		per_q[r.mq.queue_id & 3]++;
		if (r.status != KMQ_SEND_OK || strcmp(r.mq.topic, "PT") ||
		    r.attempts != 1 || r.count != 1 ||
		    fetch(env.s.port, &r, 0, &rec, &copy)) {
			bad++;
			free(copy);
			continue;
		}
		kd_rec_msgid(&rec, id);
		bad += !kd_rec_body_is(&rec, body, m.body_len) ||
		       !rec_prop_is(&rec, "TAGS", "TagA") ||
		       !rec_prop_is(&rec, "KEYS", keys) ||
		       !rec_prop_is(&rec, "color", "blue") ||
		       !rec_prop_is(&rec, "UNIQ_KEY", r.msg_id) ||
		       strcmp(id, r.offset_msg_id) || rec.flag != 5 ||
		       rec.sys_flag != 0;
		free(copy);
	}
	is_int(bad, 0, "20 sync sends SEND_OK, pulled back as sent (%s)",
	       "body, tags, keys, properties, flag, UNIQ_KEY, offset id");
	ok(per_q[0] == 5 && per_q[1] == 5 && per_q[2] == 5 && per_q[3] == 5,
	   "round robin: 5 on each of the 4 queues (%u %u %u %u)", per_q[0],
	   per_q[1], per_q[2], per_q[3]);
}

static int select_three(const struct kmq_mq *mqs, unsigned int n,
			const struct kmq_message *m, void *arg)
{
	return 3;
}

static void test_selectors(struct kmq_producer *p)
{
	struct kmq_selector by_key = { kmq_select_by_hash, NULL };
	struct kmq_selector three = { select_three, NULL };
	unsigned int i, k, bad = 0, same = 0;
	int q[3] = { -1, -1, -1 };

	for (i = 0; i < 30; i++) {
		char body[32], key[8];
		struct kmq_message m = { .topic = "PT", .keys = key,
					 .body = body };
		struct kmq_send_result r;

		k = i % 3;
		snprintf(key, sizeof(key), "k%u", k);
		m.body_len = snprintf(body, sizeof(body), "ordered-%u", i);
		if (kmq_producer_send(p, &m, &by_key, &r)) {
			bad++;
			continue;
		}
		if (q[k] < 0)
			q[k] = r.mq.queue_id;
		same += q[k] == r.mq.queue_id &&
			r.mq.queue_id == (int)((3365 + k) % 4);
	}
	ok(!bad && same == 30,
	   "selector by key hash: each key always on queue |hash| %% 4 (%u of 30)",
	   same);
	for (i = 0, bad = 0; i < 5; i++) {
		struct kmq_message m = { .topic = "PT", .body = "three",
					 .body_len = 5 };
		struct kmq_send_result r;

		bad += kmq_producer_send(p, &m, &three, &r) ||
		       r.mq.queue_id != 3;
	}
	is_int(bad, 0, "a selector returning 3: queue 3 every time");
}

struct async_state {
	struct kd_acks acks;
	unsigned int done;
	unsigned int failed;
	unsigned int bad_status;
	pthread_mutex_t lock;
};

struct async_one {
	struct async_state *st;
	char body[32];
};

static void async_cb(void *arg, int err, const struct kmq_send_result *res)
{
	struct async_one *one = arg;
	struct async_state *st = one->st;

	pthread_mutex_lock(&st->lock);
	st->done++;
	if (err)
		st->failed++;
	else if (res->status != KMQ_SEND_OK)
		st->bad_status++;
	pthread_mutex_unlock(&st->lock);
	if (!err)
		kd_acks_add(&st->acks, res->mq.topic, res->mq.queue_id,
			    res->queue_offset, one->body, strlen(one->body));
	free(one);
}

static void test_async(void)
{
	struct async_state st = {
		.acks = KD_ACKS_INIT, .lock = PTHREAD_MUTEX_INITIALIZER,
	};
	struct kmq_producer_config pc;
	struct kmq_producer *p;
	unsigned int i, refused = 0, n = 2000;
	double t0;

	kmq_producer_config_init(&pc);
	lk_client(&pc.client, env.ns);
	pc.group = "pg-async";
	pc.async_inflight_max = 64;
	if (kmq_producer_new(&pc, &p))
		kmq_tap_bail(kmq_errmsg());
	t0 = kd_mono_ms();
	for (i = 0; i < n; i++) {
		struct async_one *one = calloc(1, sizeof(*one));
		struct kmq_message m = { .topic = "PT", .body = one->body };

		one->st = &st;
		m.body_len = snprintf(one->body, sizeof(one->body),
				      "async-%u", i);
		if (kmq_producer_send_async(p, &m, NULL, async_cb, one)) {
			refused++;
			free(one);
		}
	}
	is_int(kmq_producer_flush(p, 20000), 0, "flush: every async send completed");
	diag("2000 async sends with a window of 64 in %.0f ms",
	     kd_mono_ms() - t0);
	ok(!refused && st.done == n && !st.failed && !st.bad_status,
	   "2000 async sends: every callback once, all SEND_OK (%u done, %u failed, %u refused)",
	   st.done, st.failed, refused);
	is_int(kd_acks_verify(env.s.port, &st.acks), 0,
	       "every acknowledged async message is stored, intact");
	is_int(kmq_producer_send_async(p, &(struct kmq_message){
			.topic = "PT", .body = "x", .body_len = 1 },
			NULL, NULL, NULL), -EINVAL,
	       "an async send without a callback: -EINVAL");
	kmq_producer_free(p);
	kd_acks_free(&st.acks);
}

static int64_t total_max(const char *topic, unsigned int queues)
{
	int fd = kd_connect(env.s.port);
	int64_t sum = 0;
	unsigned int q;

	for (q = 0; q < queues; q++)
		sum += kd_queue_offset(fd, KD_GET_MAX_OFFSET, topic, q);
	close(fd);
	return sum;
}

static void test_oneway(struct kmq_producer *p)
{
	int64_t before = total_max("PT", 4), after = before;
	unsigned int i, bad = 0;
	double deadline;

	for (i = 0; i < 50; i++) {
		struct kmq_message m = { .topic = "PT", .body = "oneway",
					 .body_len = 6 };

		bad += kmq_producer_send_oneway(p, &m, NULL) != 0;
	}
	deadline = kd_mono_ms() + 5000;
	while (after - before < 50 && kd_mono_ms() < deadline) {
		kd_sleep_ms(20);
		after = total_max("PT", 4);
	}
	ok(!bad && after - before == 50,
	   "50 oneway sends written and all stored (%" PRId64 ")",
	   after - before);
}

static void test_batch(struct kmq_producer *p)
{
	struct kmq_message msgs[10];
	char bodies[10][32], uniq[KMQ_MSG_ID_MAX + 1];
	struct kmq_send_result r;
	unsigned int i, bad = 0;
	struct kmq_record rec;
	uint8_t *copy;

	for (i = 0; i < 10; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].topic = "PT";
		msgs[i].tags = "batch";
		msgs[i].body = bodies[i];
		msgs[i].body_len = snprintf(bodies[i], sizeof(bodies[i]),
					    "batch-%u", i);
	}
	ok(!kmq_producer_send_batch(p, msgs, 10, NULL, &r) && r.count == 10 &&
	   r.status == KMQ_SEND_OK,
	   "a batch of 10 (320): SEND_OK, count 10 (%s)", kmq_errmsg());
	for (i = 0; i < 10; i++) {
		copy = NULL;
		if (fetch(env.s.port, &r, i, &rec, &copy))
			bad++;
		else
			bad += !kd_rec_body_is(&rec, bodies[i],
					       strlen(bodies[i])) ||
			       !rec_prop_is(&rec, "TAGS", "batch") ||
			       !kd_rec_prop(&rec, "UNIQ_KEY", uniq,
					    sizeof(uniq)) ||
			       rec.queue_id != (uint32_t)r.mq.queue_id;
		free(copy);
	}
	is_int(bad, 0, "%s",
	       "the 10 are at consecutive offsets of a queue, with UNIQ_KEYs");
	msgs[3].topic = "Other";
	is_int(kmq_producer_send_batch(p, msgs, 10, NULL, &r), -EINVAL,
	       "a batch of two topics: -EINVAL");
	msgs[3].topic = "PT";
	msgs[4].delay_level = 2;
	is_int(kmq_producer_send_batch(p, msgs, 10, NULL, &r), -EINVAL,
	       "a batch with a delay level: -EINVAL");
	msgs[4].delay_level = 0;
	is_int(kmq_producer_send_batch(p, msgs, 0, NULL, &r), -EINVAL,
	       "an empty batch: -EINVAL");
}

static void test_compression(struct kmq_producer *p)
{
	size_t sizes[] = { 4095, 4096, 100000 };
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *body = malloc(sizes[i]);
		struct kmq_message m = { .topic = "PT", .body = body,
					 .body_len = sizes[i] };
		struct kmq_send_result r;
		struct kmq_record rec;
		uint8_t *copy = NULL;
		void *back = NULL;
		bool compressed, same;

		for (j = 0; j < sizes[i]; j++)
			body[j] = 'a' + (j * 7 + j / 100) % 26;
		if (kmq_producer_send(p, &m, NULL, &r) ||
		    fetch(env.s.port, &r, 0, &rec, &copy)) {
			ok(0, "send and fetch %zu bytes", sizes[i]);
			free(body);
			continue;
		}
		compressed = rec.sys_flag & KMQ_SYSFLAG_COMPRESSED;
		if (compressed)
			same = (back = inflate_body(rec.body, rec.body_len,
						    sizes[i])) &&
			       !memcmp(back, body, sizes[i]);
		else
			same = kd_rec_body_is(&rec, body, sizes[i]);
		ok(compressed == (sizes[i] >= 4096) && same,
		   "a body of %zu bytes is stored %s (sysflag %#x, %u bytes) and reads back the same",
		   sizes[i], sizes[i] >= 4096 ? "zlib-compressed" : "as is",
		   rec.sys_flag, rec.body_len);
		free(back);
		free(copy);
		free(body);
	}
}

static void test_bad(struct kmq_producer *p)
{
	struct kmq_producer_config pc;
	struct kmq_producer *q;
	struct kmq_message m = { .topic = "PT", .body = "x", .body_len = 0 };
	struct kmq_send_result r;
	char *big = calloc(1, (1 << 20) + 1);

	is_int(kmq_producer_send(p, &m, NULL, &r), -EINVAL,
	       "an empty body: -EINVAL");
	m.topic = "bad\ntopic";
	m.body_len = 1;
	is_int(kmq_producer_send(p, &m, NULL, &r), -EINVAL,
	       "a topic with a control character: -EINVAL");
	ok(kmq_producer_new(NULL, &q) == -EINVAL, "no configuration: -EINVAL");
	kmq_producer_config_init(&pc);
	lk_client(&pc.client, env.ns);
	ok(kmq_producer_new(&pc, &q) == -EINVAL, "no group: -EINVAL");
	pc.client.namesrv_addr = "";
	pc.group = "g";
	ok(kmq_producer_new(&pc, &q) == -EINVAL, "no name server: -EINVAL");
	lk_client(&pc.client, env.ns);
	pc.max_message_size = 1 << 20;
	pc.create_topic_key = "NoSuchTemplate";
	if (kmq_producer_new(&pc, &q))
		kmq_tap_bail(kmq_errmsg());
	m.topic = "PT";
	m.body = big;
	m.body_len = (1 << 20) + 1;
	is_int(kmq_producer_send(q, &m, NULL, &r), -EMSGSIZE,
	       "a body over max_message_size: -EMSGSIZE");
	m.body_len = 1 << 20;
	ok(!kmq_producer_send(q, &m, NULL, &r),
	   "one of exactly max_message_size goes (%s)", kmq_errmsg());
	m.topic = "NeverCreated";
	m.body_len = 3;
	is_int(kmq_producer_send(q, &m, NULL, &r),
	       KMQ_ERR_BROKER(KMQ_RESP_TOPIC_NOT_EXIST),
	       "an unknown topic and no template route: TOPIC_NOT_EXIST (17)");
	ok(!!strstr(kmq_errmsg(), "NeverCreated"),
	   "kmq_errmsg() names the topic: %s", kmq_errmsg());
	kmq_producer_free(q);
	free(big);
}

static void test_auto_create(struct kmq_producer *p)
{
	struct kmq_send_result r;
	json_t *route = NULL;

	ok(!lk_send(p, "AutoT", NULL, "first", &r) && r.mq.queue_id < 4,
	   "a send to an unknown topic goes through the template route (TBW102)");
	is_int(kd_wait_route(env.s.ns_port, "AutoT", true, &route, 10000), 0,
	       "and creates the topic: the name server routes it");
	json_decref(route);
}

static void test_rocketmq_header(void)
{
	struct kmq_producer_config pc;
	struct kmq_producer *p;
	struct kmq_send_result r;
	struct kmq_record rec;
	uint8_t *copy = NULL;

	kmq_producer_config_init(&pc);
	lk_client(&pc.client, env.ns);
	pc.client.serialize = KMQ_SERIALIZE_ROCKETMQ;
	pc.group = "pg-bin";
	if (kmq_producer_new(&pc, &p))
		kmq_tap_bail(kmq_errmsg());
	ok(!lk_send(p, "PT", "bin", "binary-header", &r) &&
	   !fetch(env.s.port, &r, 0, &rec, &copy) &&
	   kd_rec_body_is(&rec, "binary-header", 13),
	   "requests with the ROCKETMQ binary header work too");
	free(copy);
	kmq_producer_free(p);
}

static void test_raw(struct kmq_producer *p)
{
	struct kmq_client *c = kmq_producer_client(p), *raw;
	struct kmq_client_config cc;
	struct kmq_field f[] = { { "topic", "PT" }, { "queueId", "0" } };
	struct kmq_response *resp = NULL;
	struct kmq_topic_route *tr = NULL;
	char two[128];
	const char *v;

	ok(!kmq_client_request(c, NULL, KMQ_REQ_GET_BROKER_CLUSTER_INFO,
			       NULL, 0, NULL, 0, 0, &resp) &&
	   resp->code == 0 && resp->body_len &&
	   memmem(resp->body, resp->body_len, env.broker,
		  strlen(env.broker)),
	   "raw request 106 to a name server: the cluster lists the broker");
	kmq_response_free(resp);
	resp = NULL;
	ok(!kmq_client_request(c, env.broker, KMQ_REQ_GET_MAX_OFFSET, f, 2,
			       NULL, 0, 0, &resp) && resp->code == 0 &&
	   (v = kmq_response_field(resp, "offset")) && atoi(v) > 0,
	   "raw request 30 to the broker: extField offset");
	kmq_response_free(resp);
	resp = NULL;
	ok(!kmq_client_request(c, env.broker, 9999, NULL, 0, NULL, 0, 0,
			       &resp) && resp->code == 3 && resp->remark,
	   "an unknown code: the response 3 is returned, not an error");
	kmq_response_free(resp);
	ok(kmq_client_request(c, "127.0.0.1:1", 30, f, 2, NULL, 0, 0, &resp) ==
	   -ECONNREFUSED, "a closed port: -ECONNREFUSED (%s)", kmq_errmsg());
	ok(!kmq_client_topic_route(c, "PT", &tr) && tr->nbrokers == 1 &&
	   tr->nqueues == 1 && tr->queues[0].write_queues == 4 &&
	   !strcmp(tr->brokers[0].addrs[0].addr, env.broker),
	   "the route of PT: one broker, 4 queues");
	kmq_topic_route_free(tr);
	is_int(kmq_client_topic_route(c, "NoSuchTopic", &tr),
	       KMQ_ERR_BROKER(KMQ_RESP_TOPIC_NOT_EXIST),
	       "the route of an unknown topic: TOPIC_NOT_EXIST");

	kmq_client_config_init(&cc);
	cc.namesrv_addr = "127.0.0.1:1;  ";
	cc.request_timeout_ms = 2000;
	if (kmq_client_new(&cc, &raw))
		kmq_tap_bail(kmq_errmsg());
	is_int(kmq_client_topic_route(raw, "PT", &tr), -ECONNREFUSED,
	       "no name server reachable: -ECONNREFUSED");
	kmq_client_free(raw);
	snprintf(two, sizeof(two), "127.0.0.1:1;%s", env.ns);
	cc.namesrv_addr = two;
	if (kmq_client_new(&cc, &raw))
		kmq_tap_bail(kmq_errmsg());
	ok(!kmq_client_topic_route(raw, "PT", &tr) && tr->nqueues == 1,
	   "name servers \"dead;alive\": the second answers");
	kmq_topic_route_free(tr);
	kmq_client_free(raw);
	cc.namesrv_addr = "127.0.0.1:1;127.0.0.1:1";
	cc.instance_name = "two-ns";
	if (kmq_client_new(&cc, &raw))
		kmq_tap_bail(kmq_errmsg());
	ok(!!strstr(kmq_client_id(raw), "@two-ns"),
	   "the client id is ip@instance_name (%s)", kmq_client_id(raw));
	kmq_client_free(raw);
	cc.namesrv_addr = NULL;
	ok(kmq_client_new(&cc, &raw) == -EINVAL, "no name server: -EINVAL");
}

/* ---- a second broker, killed ---------------------------------------- */

struct two_state {
	struct kmq_producer *p;
	unsigned int sent, retried, on_b, failed;
};

static void send_many(struct two_state *st, unsigned int n)
{
	unsigned int i;

	st->sent = 0;
	st->retried = 0;
	st->on_b = 0;
	st->failed = 0;
	for (i = 0; i < n; i++) {
		struct kmq_send_result r;
		char body[32];

		snprintf(body, sizeof(body), "two-%u", i);
		if (lk_send(st->p, "RT", NULL, body, &r)) {
			st->failed++;
			continue;
		}
		st->sent++;
		st->retried += r.attempts > 1;
		st->on_b += !strcmp(r.mq.broker_name, "broker-b");
	}
}

static struct kmq_producer *two_producer(const char *ns, const char *group,
					 bool avoid)
{
	struct kmq_producer_config pc;
	struct kmq_producer *p;

	kmq_producer_config_init(&pc);
	lk_client(&pc.client, ns);
	/* The route keeps broker-b: the sends must find out themselves. */
	pc.client.route_interval_ms = 600000;
	pc.client.connect_timeout_ms = 1000;
	pc.group = group;
	pc.fault_avoidance = avoid;
	if (kmq_producer_new(&pc, &p))
		kmq_tap_bail(kmq_errmsg());
	return p;
}

static void test_two_brokers(void)
{
	static const char * const args[] = {
		"--namesrvAddr=set-below", "--brokerName=broker-b",
		"--mapedFileSizeCommitLog=16777216", NULL,
	};
	struct two_state a = { 0 }, b = { 0 };
	struct kd_server sb;
	json_t *route = NULL;
	int fd, ret;

	if (kd_server_init(&sb, argv0, "two", args)) {
		ok(0, "second kmqd prepared");
		return;
	}
	/*
	 * broker-b registers with both name servers: kmqd's own is watched
	 * by kd_server_start(), the first one routes the clients.
	 */
	snprintf(sb.args[0], sizeof(sb.args[0]),
		 "--namesrvAddr=%s;127.0.0.1:%u", env.ns, sb.ns_port);
	if (kd_server_start(&sb)) {
		ok(0, "second kmqd (broker-b) starts");
		kd_server_cleanup(&sb);
		return;
	}
	fd = kd_connect(sb.port);
	kd_create_topic(fd, "RT", 4);
	close(fd);
	fd = kd_connect(env.s.port);
	kd_create_topic(fd, "RT", 4);
	close(fd);
	for (ret = 0; ret < 250; ret++) {
		json_decref(route);
		kd_wait_route(env.s.ns_port, "RT", true, &route, 5000);
		if (json_array_size(json_object_get(route, "brokerDatas")) == 2)
			break;
		kd_sleep_ms(20);
	}
	ok(json_array_size(json_object_get(route, "brokerDatas")) == 2,
	   "topic RT on broker-a and broker-b");
	json_decref(route);

	a.p = two_producer(env.ns, "pg-two-a", true);
	b.p = two_producer(env.ns, "pg-two-b", false);
	send_many(&a, 16);
	ok(a.sent == 16 && a.on_b == 8 && !a.retried,
	   "both brokers up: 16 sends, 8 on broker-b, none retried");
	send_many(&b, 4);
	is_int(kd_server_signal_wait(&sb, SIGKILL, 5000), 128 + SIGKILL,
	       "broker-b killed");

	send_many(&a, 20);
	ok(a.sent == 20 && !a.on_b && a.retried >= 1 && a.retried <= 2,
	   "fault avoidance on: 20 sends stored on broker-a, %u retried after broker-b failed, then broker-b avoided",
	   a.retried);
	send_many(&b, 20);
	/*
	 * Round robin over 4 + 4 queues: a pick of broker-b and its retry
	 * take two turns, so one send in three is retried.
	 */
	ok(b.sent == 20 && !b.on_b && b.retried >= 5,
	   "fault avoidance off: 20 sends stored, %u of them retried on broker-a (each that picked broker-b)",
	   b.retried);
	kmq_producer_free(a.p);
	kmq_producer_free(b.p);
	kd_server_cleanup(&sb);
}

int main(int argc, char **argv)
{
	static const char * const args[] = {
		"--ioThreads=2", "--mapedFileSizeCommitLog=16777216", NULL,
	};
	struct kmq_producer *p;

	argv0 = argv[0];
	kmq_set_log(getenv("LK_LOG") ? KMQ_LOG_DEBUG : KMQ_LOG_ERROR, NULL, NULL);
	lk_start(&env, argv0, "lkprod", args);
	lk_topic(&env, "PT", 4);
	p = lk_producer(env.ns, "pg-first");

	test_sync(p);
	test_selectors(p);
	test_async();
	test_oneway(p);
	test_batch(p);
	test_compression(p);
	test_bad(p);
	test_auto_create(p);
	test_rocketmq_header();
	test_raw(p);
	kmq_producer_free(p);
	test_two_brokers();
	ok(kd_server_alive(&env.s), "kmqd still running");
	kd_server_cleanup(&env.s);
	return kmq_tap_done();
}
