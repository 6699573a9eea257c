// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_kmqd_protocol.c - kmqd speaking RocketMQ's remoting protocol over TCP,
 * checked against the facts in rocketmq.md: name server routes (17, 103,
 * 104, 105, 106), sends (10, 310, 320) pulled back byte for byte, the
 * serialization and opaque of responses, oneway requests, long polling,
 * tag filtering, pull status codes, consumer and queue offsets (14, 15,
 * 29-32) and their persistence, groups (34, 35, 38, 40), retry and dead
 * letters (36), delay levels, SYNC_FLUSH under concurrent senders, and
 * graceful shutdown and restart with every acknowledged message kept.
 */
#include "kmqd_test_util.h"

static const char *argv0;
static struct kd_acks acks = KD_ACKS_INIT;	/* on server A */
static char addr_a[64];

/* Send one message, record it as acknowledged on success. */
static int send_one(int fd, int code, const char *topic, int qid,
		    const char *body, const char *props, uint32_t flag,
		    struct kd_sent *out)
{
	struct kd_msg m = {
		.topic = topic, .queue_id = qid, .body = body,
		.body_len = strlen(body), .props = props, .flag = flag,
		.max_reconsume_times = -1,
	};
	int ret = kd_send(fd, code, &m, out);

	if (!ret)
		kd_acks_add(&acks, topic, out->queue_id, out->queue_offset,
			    body, m.body_len);
	else
		diag("send to %s: %d %s", topic, ret, out->remark);
	return ret;
}

/* --- name server --------------------------------------------------------- */

static json_t *route_broker(json_t *route, const char *name)
{
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(route, "brokerDatas"), i, d)
		if (json_is_string(json_object_get(d, "brokerName")) &&
		    !strcmp(json_string_value(json_object_get(d, "brokerName")),
			    name))
			return d;
	return NULL;
}

static json_t *route_queue(json_t *route, const char *name)
{
	json_t *q;
	size_t i;

	json_array_foreach(json_object_get(route, "queueDatas"), i, q)
		if (json_is_string(json_object_get(q, "brokerName")) &&
		    !strcmp(json_string_value(json_object_get(q, "brokerName")),
			    name))
			return q;
	return NULL;
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

static void test_route(struct kd_server *s)
{
	char remark[256];
	json_t *route = NULL, *d, *q;
	int bfd = kd_connect(s->port), nfd = kd_connect(s->ns_port), ret;

	if (!ok(bfd >= 0 && nfd >= 0, "route: connect to broker and name server"))
		return;
	is_int(kd_create_topic(bfd, "RouteT", 4), 0, "17 creates RouteT (4 queues)");
	ret = kd_wait_route(s->ns_port, "RouteT", true, &route, 3000);
	is_int(ret, 0, "105 RouteT answers SUCCESS once the broker registered");
	d = route_broker(route, "broker-a");
	ok(!!d, "route: brokerDatas has broker-a");
	ok(!strcmp(jstr(json_object_get(d, "brokerAddrs"), "0"), addr_a),
	   "route: brokerAddrs[\"0\"] is %s (got %s)", addr_a,
	   jstr(json_object_get(d, "brokerAddrs"), "0"));
	ok(!strcmp(jstr(d, "cluster"), "DefaultCluster"),
	   "route: cluster DefaultCluster");
	q = route_queue(route, "broker-a");
	ok(q && jint(q, "readQueueNums") == 4 && jint(q, "writeQueueNums") == 4,
	   "route: queueDatas read/write 4/4 (got %lld/%lld)",
	   jint(q, "readQueueNums"), jint(q, "writeQueueNums"));
	is_int(jint(q, "perm"), 6, "route: perm 6 (read and write)");
	ok(json_is_object(json_object_get(route, "filterServerTable")),
	   "route: filterServerTable is an object");
	json_decref(route);

	/* 17 again with more queues updates the route. */
	is_int(kd_create_topic(bfd, "RouteT", 8), 0, "17 updates RouteT to 8 queues");
	route = NULL;
	{
		double end = kd_mono_ms() + 3000;

		do {
			json_decref(route);
			kd_sleep_ms(50);
			ret = kd_wait_route(s->ns_port, "RouteT", true, &route,
					    1000);
			q = route_queue(route, "broker-a");
		} while (jint(q, "writeQueueNums") != 8 && kd_mono_ms() < end);
	}
	is_int(jint(q, "writeQueueNums"), 8, "route: updated to 8 write queues");
	json_decref(route);

	/* 17 keeps read and write queue numbers apart, and the perm. */
	{
		struct kd_frame f;
		struct kd_sent sent;
		struct kd_msg m = { .topic = "AutoT", .queue_id = -1,
				    .body = "ro", .body_len = 2,
				    .max_reconsume_times = -1 };

		ret = kd_callv(bfd, &f, KD_UPDATE_AND_CREATE_TOPIC, NULL, 0,
			       "topic", "SplitT", "readQueueNums", "8",
			       "writeQueueNums", "4", "perm", "6", NULL);
		kd_frame_free(&f);
		is_int(ret, 0, "17 SplitT with 8 read and 4 write queues");
		kd_wait_route(s->ns_port, "SplitT", true, &route, 3000);
		q = route_queue(route, "broker-a");
		ok(jint(q, "readQueueNums") == 8 && jint(q, "writeQueueNums") == 4,
		   "route SplitT: read 8, write 4 as created (got %lld/%lld) [kmqd bug: one number for both]",
		   jint(q, "readQueueNums"), jint(q, "writeQueueNums"));
		json_decref(route);
		ret = kd_callv(bfd, &f, KD_UPDATE_AND_CREATE_TOPIC, NULL, 0,
			       "topic", "ReadOnlyT", "readQueueNums", "1",
			       "writeQueueNums", "1", "perm", "4", NULL);
		kd_frame_free(&f);
		is_int(ret, 0, "17 ReadOnlyT with perm 4 (read only)");
		kd_wait_route(s->ns_port, "ReadOnlyT", true, &route, 3000);
		is_int(jint(route_queue(route, "broker-a"), "perm"), 4,
		       "route ReadOnlyT: perm 4 [kmqd bug: perm ignored]");
		json_decref(route);

		/* autoCreateTopicEnable: a send creates the topic. */
		ret = kd_send(bfd, KD_SEND_MESSAGE_V2, &m, &sent);
		is_int(ret, 0, "send to an unknown topic (autoCreateTopicEnable): SUCCESS");
		if (!ret)
			kd_acks_add(&acks, "AutoT", sent.queue_id,
				    sent.queue_offset, "ro", 2);
		ok(sent.queue_id >= 0 && sent.queue_id < 4,
		   "... on one of the 4 queues the producer asked for (%" PRId64 ")",
		   sent.queue_id);
		ret = kd_wait_route(s->ns_port, "AutoT", true, &route, 3000);
		ok(!ret && jint(route_queue(route, "broker-a"), "writeQueueNums") == 4,
		   "... and its route appears with 4 queues");
		json_decref(route);
	}

	ret = kd_route(nfd, "NoSuchTopicXyz", &route, remark, sizeof(remark));
	is_int(ret, KD_TOPIC_NOT_EXIST, "105 unknown topic -> 17");
	ok(!!strstr(remark, "NoSuchTopicXyz"),
	   "105 unknown topic: remark names it (\"%s\")", remark);
	json_decref(route);
	close(bfd);
	close(nfd);
}

/* 106: does the cluster info list @name at @addr in @cluster? */
static bool cluster_lists(int fd, const char *cluster, const char *name,
			  const char *addr)
{
	struct kd_frame f;
	json_t *info, *names, *n, *table;
	bool in_cluster = false, in_table;
	size_t i;

	if (kd_callv(fd, &f, KD_GET_BROKER_CLUSTER_INFO, NULL, 0, NULL)) {
		kd_frame_free(&f);
		return false;
	}
	info = kd_body_json(&f);
	names = json_object_get(json_object_get(info, "clusterAddrTable"),
				cluster);
	json_array_foreach(names, i, n)
		if (json_is_string(n) && !strcmp(json_string_value(n), name))
			in_cluster = true;
	table = json_object_get(info, "brokerAddrTable");
	in_table = !strcmp(jstr(json_object_get(json_object_get(table, name),
						"brokerAddrs"), "0"), addr);
	json_decref(info);
	kd_frame_free(&f);
	return in_cluster && in_table;
}

static void test_fake_broker(struct kd_server *s)
{
	const char *fake = "127.0.0.1:1";
	struct kd_frame f;
	json_t *route = NULL;
	char body[1024];
	int fd = kd_connect(s->ns_port), ret;

	kd_json(body, sizeof(body),
		"{'topicConfigSerializeWrapper':{'topicConfigTable':{",
		"'FakeT':{'topicName':'FakeT','readQueueNums':8,",
		"'writeQueueNums':8,'perm':6,'topicFilterType':'SINGLE_TAG',",
		"'topicSysFlag':0,'order':false},",
		"'RouteT':{'topicName':'RouteT','readQueueNums':2,",
		"'writeQueueNums':2,'perm':6,'topicFilterType':'SINGLE_TAG',",
		"'topicSysFlag':0,'order':false}},",
		"'dataVersion':{'timestamp':1,'counter':1}},",
		"'filterServerList':[]}", NULL);
	if (!ok(fd >= 0, "fake broker: connect to the name server"))
		return;
	ret = kd_callv(fd, &f, KD_REGISTER_BROKER, body, strlen(body),
		       "brokerName", "broker-fake", "brokerAddr", fake,
		       "clusterName", "FakeCluster", "haServerAddr",
		       "127.0.0.1:2", "brokerId", "0", "compressed", "false",
		       NULL);
	is_int(ret, 0, "103 registers a second broker");
	kd_frame_free(&f);
	ok(cluster_lists(fd, "FakeCluster", "broker-fake", fake),
	   "106 lists broker-fake in FakeCluster at %s", fake);
	ok(cluster_lists(fd, "DefaultCluster", "broker-a", addr_a),
	   "106 still lists broker-a in DefaultCluster");
	ret = kd_route(fd, "FakeT", &route, NULL, 0);
	is_int(ret, 0, "105 FakeT (only on the fake broker)");
	ok(!strcmp(jstr(json_object_get(route_broker(route, "broker-fake"),
					"brokerAddrs"), "0"), fake),
	   "105 FakeT: broker-fake at %s", fake);
	ok(!route_broker(route, "broker-a"), "105 FakeT: broker-a not in it");
	is_int(jint(route_queue(route, "broker-fake"), "readQueueNums"), 8,
	       "105 FakeT: 8 read queues");
	json_decref(route);
	ret = kd_route(fd, "RouteT", &route, NULL, 0);
	ok(!ret && route_broker(route, "broker-a") &&
	   route_broker(route, "broker-fake") &&
	   json_array_size(json_object_get(route, "brokerDatas")) == 2,
	   "105 RouteT: both brokers");
	is_int(jint(route_queue(route, "broker-fake"), "writeQueueNums"), 2,
	       "105 RouteT: the fake broker's own queue numbers");
	json_decref(route);

	/* A slave of broker-a: brokerAddrs "1", the master's queue numbers. */
	ret = kd_callv(fd, &f, KD_REGISTER_BROKER, body, strlen(body),
		       "brokerName", "broker-a", "brokerAddr", "127.0.0.1:3",
		       "clusterName", "DefaultCluster", "haServerAddr", "",
		       "brokerId", "1", "compressed", "false", NULL);
	ok(!ret && !strcmp(kmq_rmt_ext(&f.cmd, "masterAddr") ?
			   kmq_rmt_ext(&f.cmd, "masterAddr") : "", addr_a),
	   "103 of a slave (brokerId 1): SUCCESS, masterAddr %s", addr_a);
	kd_frame_free(&f);
	ret = kd_route(fd, "RouteT", &route, NULL, 0);
	{
		json_t *d = route_broker(route, "broker-a");

		ok(!ret && !strcmp(jstr(json_object_get(d, "brokerAddrs"), "1"),
				   "127.0.0.1:3") &&
		   !strcmp(jstr(json_object_get(d, "brokerAddrs"), "0"), addr_a),
		   "105 RouteT: broker-a has master \"0\" and slave \"1\"");
		is_int(jint(route_queue(route, "broker-a"), "writeQueueNums"), 8,
		       "105 RouteT: broker-a's queue numbers are the master's");
	}
	json_decref(route);
	ret = kd_callv(fd, &f, KD_UNREGISTER_BROKER, NULL, 0,
		       "brokerName", "broker-a", "brokerAddr", "127.0.0.1:3",
		       "clusterName", "DefaultCluster", "brokerId", "1", NULL);
	kd_frame_free(&f);
	ret = ret ? ret : kd_route(fd, "RouteT", &route, NULL, 0);
	ok(!ret && !json_object_get(json_object_get(route_broker(route,
								 "broker-a"),
						    "brokerAddrs"), "1"),
	   "104 of the slave: brokerAddrs \"1\" gone");
	json_decref(route);

	ret = kd_callv(fd, &f, KD_UNREGISTER_BROKER, NULL, 0,
		       "brokerName", "broker-fake", "brokerAddr", fake,
		       "clusterName", "FakeCluster", "brokerId", "0", NULL);
	is_int(ret, 0, "104 unregisters the fake broker");
	kd_frame_free(&f);
	ok(!cluster_lists(fd, "FakeCluster", "broker-fake", fake),
	   "106 no longer lists broker-fake");
	ret = kd_route(fd, "FakeT", &route, NULL, 0);
	is_int(ret, KD_TOPIC_NOT_EXIST, "105 FakeT -> 17 after 104");
	json_decref(route);
	ret = kd_route(fd, "RouteT", &route, NULL, 0);
	ok(!ret && route_broker(route, "broker-a") &&
	   json_array_size(json_object_get(route, "brokerDatas")) == 1,
	   "105 RouteT: only broker-a left");
	json_decref(route);

	/*
	 * RocketMQ's name server forgets a broker whose connection closes
	 * (BrokerHousekeepingService.onChannelClose -> onChannelDestroy),
	 * not only after 120 s of silence.
	 */
	{
		int gfd = kd_connect(s->ns_port);
		double t0;
		bool listed;

		ret = kd_callv(gfd, &f, KD_REGISTER_BROKER, body, strlen(body),
			       "brokerName", "broker-gone", "brokerAddr",
			       "127.0.0.1:4", "clusterName", "GoneCluster",
			       "haServerAddr", "", "brokerId", "0", NULL);
		kd_frame_free(&f);
		ok(!ret && cluster_lists(fd, "GoneCluster", "broker-gone",
					 "127.0.0.1:4"),
		   "103 of broker-gone on its own connection");
		close(gfd);
		t0 = kd_mono_ms();
		do {
			kd_sleep_ms(50);
			listed = cluster_lists(fd, "GoneCluster", "broker-gone",
					       "127.0.0.1:4");
		} while (listed && kd_mono_ms() - t0 < 1500);
		ok(!listed,
		   "broker-gone's connection closed: dropped from 106 at once, as RocketMQ [kmqd bug: kept 120 s]");
		ret = kd_callv(fd, &f, KD_UNREGISTER_BROKER, NULL, 0,
			       "brokerName", "broker-gone", "brokerAddr",
			       "127.0.0.1:4", "clusterName", "GoneCluster",
			       "brokerId", "0", NULL);
		kd_frame_free(&f);
	}
	close(fd);
}

/* --- sends and pulls ----------------------------------------------------- */

struct sent_rec {
	const char *body;
	const char *props;
	uint32_t flag;
	struct kd_sent s;
};

/* Pull (topic, qid) from @from and check it holds exactly @v. */
static void check_pulled(int fd, const char *what, const char *topic,
			 unsigned int qid, int64_t from, struct sent_rec *v,
			 unsigned int n, const char *const *ids)
{
	struct kd_pull_args a = {
		.topic = topic, .queue_id = qid, .offset = from, .max_msgs = 32,
	};
	struct kmq_record recs[32];
	struct kd_pulled p;
	unsigned int i, body_ok = 0, props_ok = 0, flag_ok = 0, topic_ok = 0;
	unsigned int off_ok = 0, id_ok = 0, qid_ok = 0;
	int ret, nrec;

	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	is_int(ret, 0, "%s: pull FOUND", what);
	nrec = kd_records(p.body, p.body_len, recs, ARRAY_SIZE(recs));
	is_int(nrec, n, "%s: pull body is exactly %u valid records", what, n);
	for (i = 0; i < n && (int)i < nrec; i++) {
		const struct kmq_record *r = &recs[i];
		const char *props = v[i].props ? v[i].props : "";
		char id[KMQ_MSGID_MAX + 1];

		body_ok += kd_rec_body_is(r, v[i].body, strlen(v[i].body));
		props_ok += r->props_len == strlen(props) &&
			    !memcmp(r->props, props, r->props_len);
		flag_ok += r->flag == v[i].flag;
		topic_ok += kd_rec_topic_is(r, topic);
		qid_ok += r->queue_id == qid;
		off_ok += r->queue_offset == (uint64_t)from + i &&
			  (ids || r->queue_offset ==
			   (uint64_t)v[i].s.queue_offset);
		kd_rec_msgid(r, id);
		id_ok += !strcmp(id, ids ? ids[i] : v[i].s.msg_id);
		if (strcmp(id, ids ? ids[i] : v[i].s.msg_id))
			diag("record %u: id %s, response said %s", i, id,
			     ids ? ids[i] : v[i].s.msg_id);
	}
	is_int(body_ok, n, "%s: bodies as sent", what);
	is_int(props_ok, n, "%s: properties as sent", what);
	is_int(flag_ok, n, "%s: FLAG as sent", what);
	is_int(topic_ok, n, "%s: TOPIC is %s", what, topic);
	is_int(qid_ok, n, "%s: QUEUEID is %u", what, qid);
	is_int(off_ok, n, "%s: QUEUEOFFSETs consecutive, as the responses said",
	       what);
	is_int(id_ok, n, "%s: msgId of the response == offset id of the record",
	       what);
	ok(p.has_next && p.next == from + n,
	   "%s: nextBeginOffset %" PRId64 " (got %" PRId64 ")", what, from + n,
	   p.next);
	ok(p.min == 0 && p.max == from + n,
	   "%s: minOffset 0, maxOffset %" PRId64 " (got %" PRId64 "/%" PRId64 ")",
	   what, from + n, p.min, p.max);
	kd_pulled_free(&p);
}

static void test_send_pull(struct kd_server *s)
{
	char pa[128], pb[128];
	struct sent_rec v[3] = {
		{ .body = "first body", .flag = 0 },
		{ .body = "second, with properties", .flag = 7 },
		{ .body = "", .flag = 0x7fffffff },
	};
	struct sent_rec w[2] = {
		{ .body = "named fields", .flag = 3 },
		{ .body = "named fields 2" },
	};
	struct sent_rec b[3] = {
		{ .body = "batch item 0", .flag = 1 },
		{ .body = "batch item 1, longer body", .flag = 2 },
		{ .body = "batch item 2", .flag = 3 },
	};
	const char *ids[3];
	char *idcopy, *save = NULL;
	struct kmq_buf batch = { 0 };
	struct kd_msg m = { .topic = "SendT", .queue_id = 2,
			    .max_reconsume_times = -1 };
	struct kd_sent bs;
	unsigned int i, good = 0;
	int fd = kd_connect(s->port);

	if (!ok(fd >= 0, "send/pull: connect"))
		return;
	v[1].props = kd_props2(pa, sizeof(pa), "TAGS", "TagX", "KEYS",
			       "k1 k2");
	is_int(kd_create_topic(fd, "SendT", 4), 0, "17 creates SendT");
	for (i = 0; i < ARRAY_SIZE(v); i++)
		good += !send_one(fd, KD_SEND_MESSAGE_V2, "SendT", 1,
				  v[i].body, v[i].props, v[i].flag, &v[i].s);
	is_int(good, 3, "310: three sends to SendT/1 answered SUCCESS");
	ok(v[0].s.queue_id == 1 && v[0].s.queue_offset == 0 &&
	   v[2].s.queue_offset == 2,
	   "310: response queueId 1 and queueOffsets 0..2");
	ok(strlen(v[0].s.msg_id) == 32, "310: msgId is 32 hex characters (%s)",
	   v[0].s.msg_id);
	check_pulled(fd, "310", "SendT", 1, 0, v, 3, NULL);

	w[0].props = kd_props2(pb, sizeof(pb), "TAGS", "TagN", NULL, NULL);
	good = 0;
	for (i = 0; i < ARRAY_SIZE(w); i++)
		good += !send_one(fd, KD_SEND_MESSAGE, "SendT", 3, w[i].body,
				  w[i].props, w[i].flag, &w[i].s);
	is_int(good, 2, "10: two sends with named fields answered SUCCESS");
	check_pulled(fd, "10", "SendT", 3, 0, w, 2, NULL);

	for (i = 0; i < ARRAY_SIZE(b); i++) {
		b[i].props = i == 1 ? pa : NULL;
		kd_batch_add(&batch, b[i].flag, b[i].body, strlen(b[i].body),
			     b[i].props);
	}
	m.body = batch.data;
	m.body_len = batch.len;
	is_int(kd_send(fd, KD_SEND_BATCH_MESSAGE, &m, &bs), 0,
	       "320: a batch of three answered SUCCESS");
	ok(bs.queue_id == 2 && bs.queue_offset == 0,
	   "320: queueId 2, queueOffset of the first item 0");
	idcopy = strdup(bs.msg_id);
	for (i = 0; i < 3; i++) {
		ids[i] = strtok_r(i ? NULL : idcopy, ",", &save);
		if (!ids[i])
			ids[i] = "";
	}
	ok(strlen(ids[0]) == 32 && strlen(ids[2]) == 32 &&
	   !strtok_r(NULL, ",", &save),
	   "320: msgId lists three comma-separated ids (%s)", bs.msg_id);
	for (i = 0; i < 3 && !bs.code; i++)
		kd_acks_add(&acks, "SendT", 2, i, b[i].body, strlen(b[i].body));
	check_pulled(fd, "320", "SendT", 2, 0, b, 3, ids);
	free(idcopy);
	kmq_buf_free(&batch);
	close(fd);
}

/*
 * The fixed fields of a stored record: BORNHOST is the producer's
 * address, STOREHOST the broker's, BORNTIMESTAMP and reconsumeTimes as
 * sent, SYSFLAG (compressed bit) and the body kept as they came.
 */
static void test_record_fields(struct kd_server *s)
{
	static const uint8_t zbody[] = {	/* zlib of "hello hello" */
		0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x00,
		0x91, 0x00, 0x19, 0x91, 0x04, 0x49,
	};
	struct kd_msg m = { .topic = "RecT", .queue_id = 0, .body = zbody,
			    .body_len = sizeof(zbody), .sys_flag = 1,
			    .reconsume_times = 3, .born_ts = 1234567890123ull,
			    .flag = 0x5a5a, .max_reconsume_times = -1 };
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	struct kmq_record r;
	struct kd_sent sent;
	uint8_t *copy = NULL;
	int fd = kd_connect(s->port), ret;

	if (!ok(fd >= 0, "record fields: connect"))
		return;
	getsockname(fd, (struct sockaddr *)&me, &len);
	is_int(kd_create_topic(fd, "RecT", 1), 0, "17 creates RecT");
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &sent);
	is_int(ret, 0, "310 with sysFlag 1 (compressed), j 3, g fixed: SUCCESS");
	if (!ret)
		kd_acks_add(&acks, "RecT", 0, sent.queue_offset, zbody,
			    sizeof(zbody));
	ret = ret ? ret : kd_fetch(fd, "RecT", 0, 0, &r, &copy);
	if (!ok(!ret, "record fields: pulled back"))
		goto out;
	ok(kd_rec_body_is(&r, zbody, sizeof(zbody)),
	   "compressed body stored as sent (not inflated)");
	ok(r.sys_flag & 1, "SYSFLAG keeps the compressed bit (0x%x)", r.sys_flag);
	is_int(r.reconsume_times, 3, "RECONSUMETIMES from field j");
	ok(r.born_ts == 1234567890123ull, "BORNTIMESTAMP from field g");
	is_int(r.flag, 0x5a5a, "FLAG from field h");
	ok(!r.born_host.v6 && !memcmp(r.born_host.addr, "\x7f\0\0\x01", 4) &&
	   r.born_host.port == ntohs(me.sin_port),
	   "BORNHOST is the producer's 127.0.0.1:%u (got port %u)",
	   ntohs(me.sin_port), r.born_host.port);
	ok(!r.store_host.v6 && !memcmp(r.store_host.addr, "\x7f\0\0\x01", 4) &&
	   r.store_host.port == s->port,
	   "STOREHOST is the broker's 127.0.0.1:%u (got port %u)", s->port,
	   r.store_host.port);
	ok(r.store_ts + 5000 > kd_now_ms() && r.store_ts <= kd_now_ms(),
	   "STORETIMESTAMP is the broker's clock, now");
	is_int(r.magic, KMQ_MAGIC_V1, "MAGICCODE v1");
out:
	free(copy);
	close(fd);
}

/*
 * Pull every record of (@topic, @qid) from @from to the end, 32 at a time,
 * checking each decodes, offsets are consecutive and @check_body(offset)
 * agrees. Return: how many records, or -1 on the first problem.
 */
static int pull_all(int fd, const char *topic, unsigned int qid, int64_t from,
		    bool (*check_body)(int64_t off, const struct kmq_record *r))
{
	struct kd_pull_args a = {
		.topic = topic, .queue_id = qid, .offset = from, .max_msgs = 32,
	};
	struct kmq_record recs[32];
	int n = 0, i, nrec, ret;

	for (;;) {
		struct kd_pulled p;

		ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
		if (ret == KD_PULL_NOT_FOUND) {
			kd_pulled_free(&p);
			return n;
		}
		nrec = ret ? -1 : kd_records(p.body, p.body_len, recs, 32);
		if (nrec <= 0 || nrec > 32 || p.next != a.offset + nrec) {
			diag("pull %s/%u at %" PRId64 ": code %d, %d records, next %" PRId64,
			     topic, qid, a.offset, ret, nrec, p.next);
			kd_pulled_free(&p);
			return -1;
		}
		for (i = 0; i < nrec; i++) {
			if (recs[i].queue_offset != (uint64_t)a.offset + i ||
			    !check_body(a.offset + i, &recs[i])) {
				diag("record at %" PRId64 " is not the one sent",
				     a.offset + i);
				kd_pulled_free(&p);
				return -1;
			}
		}
		n += nrec;
		a.offset += nrec;
		kd_pulled_free(&p);
	}
}

static uint8_t big_byte(uint32_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

static bool big_ok(int64_t off, const struct kmq_record *r)
{
	static const uint32_t sizes[] = { 1u << 20, 4u << 20 };
	const uint8_t *b = r->body;
	uint32_t i;

	if (off > 1 || r->body_len != sizes[off])
		return false;
	for (i = 0; i < r->body_len; i++)
		if (b[i] != big_byte(i + (uint32_t)off))
			return false;
	return true;
}

static bool batch_ok(int64_t off, const struct kmq_record *r)
{
	char want[32];

	snprintf(want, sizeof(want), "item %05u", (unsigned int)off);
	return kd_rec_body_is(r, want, strlen(want));
}

/*
 * Large bodies (pulled one record at a time past the 256 KiB pull budget,
 * up to maxMessageSize 4 MiB) and a batch of 1000 items.
 */
static void test_big(struct kd_server *s)
{
	static const uint32_t sizes[] = { 1u << 20, 4u << 20, (4u << 20) + 1 };
	struct kmq_buf batch = { 0 };
	struct kd_msg m = { .topic = "BigT", .queue_id = 0,
			    .max_reconsume_times = -1 };
	struct kd_sent sent;
	uint8_t *body = malloc((4u << 20) + 1);
	unsigned int i, commas = 0;
	char item[32];
	int fd = kd_connect(s->port), ret;

	if (!ok(fd >= 0 && body, "big: connect"))
		return;
	is_int(kd_create_topic(fd, "BigT", 1), 0, "17 creates BigT");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint32_t j;

		for (j = 0; j < sizes[i]; j++)
			body[j] = big_byte(j + i);
		m.body = body;
		m.body_len = sizes[i];
		ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &sent);
		is_int(ret, i < 2 ? 0 : KD_MESSAGE_ILLEGAL,
		       "310 with a body of %u bytes: %s", sizes[i],
		       i < 2 ? "SUCCESS" : "13 (over maxMessageSize 4 MiB)");
		if (!ret)
			kd_acks_add(&acks, "BigT", 0, sent.queue_offset, body,
				    sizes[i]);
	}
	is_int(pull_all(fd, "BigT", 0, 0, big_ok), 2,
	       "pulled back one record per pull past the 256 KiB budget, bytes intact");

	for (i = 0; i < 1000; i++) {
		snprintf(item, sizeof(item), "item %05u", i);
		kd_batch_add(&batch, i, item, strlen(item), NULL);
	}
	m.topic = "BatchBigT";
	m.body = batch.data;
	m.body_len = batch.len;
	kd_create_topic(fd, "BatchBigT", 1);
	ret = kd_send(fd, KD_SEND_BATCH_MESSAGE, &m, &sent);
	for (i = 0; sent.msg_id[i]; i++)
		commas += sent.msg_id[i] == ',';
	ok(!ret && sent.queue_offset == 0 && commas == 999,
	   "320 with 1000 items: SUCCESS, 1000 msgIds (%d, %u commas)", ret,
	   commas);
	for (i = 0; i < 1000 && !ret; i++) {
		snprintf(item, sizeof(item), "item %05u", i);
		kd_acks_add(&acks, "BatchBigT", 0, i, item, strlen(item));
	}
	is_int(pull_all(fd, "BatchBigT", 0, 0, batch_ok), 1000,
	       "the 1000 batch items pulled back in order");
	kmq_buf_free(&batch);
	free(body);
	close(fd);
}

/* --- serialization, opaque, oneway --------------------------------------- */

static void test_serialization(struct kd_server *s)
{
	const char *body = "lenient numbers";
	struct kd_msg m = { .topic = "SerT", .queue_id = 0, .body = "binary",
			    .body_len = 6, .max_reconsume_times = -1 };
	struct kmq_rmt_cmd c;
	struct kmq_record r;
	struct kd_frame f;
	struct kd_sent sb;
	char hdr[512];
	uint8_t *frame, *copy;
	uint32_t hlen;
	int fd = kd_connect(s->port), nfd = kd_connect(s->ns_port), ret;

	if (!ok(fd >= 0 && nfd >= 0, "serialization: connect"))
		return;
	is_int(kd_create_topic(fd, "SerT", 1), 0, "17 creates SerT");
	ret = kd_send_ser(fd, KD_SEND_MESSAGE_V2, &m, KMQ_RMT_ROCKETMQ, &sb);
	is_int(ret, 0, "310 in ROCKETMQ binary serialization: SUCCESS");
	is_int(sb.ser, 1, "response to a binary request: serialize type byte 1");
	ok(sb.queue_offset == 0 && strlen(sb.msg_id) == 32,
	   "binary response carries queueOffset and msgId");
	if (!ret)
		kd_acks_add(&acks, "SerT", 0, sb.queue_offset, "binary", 6);
	ret = kd_send_ser(fd, KD_SEND_MESSAGE_V2, &m, KMQ_RMT_JSON, &sb);
	is_int(sb.ser, 0, "response to a JSON request: serialize type byte 0");
	if (!ret)
		kd_acks_add(&acks, "SerT", 0, sb.queue_offset, "binary", 6);

	kd_req(&c, KD_GET_ROUTEINFO_BY_TOPIC, KMQ_RMT_ROCKETMQ);
	kd_ext(&c, "topic", "RouteT");
	ret = kd_call(nfd, &c, NULL, 0, &f, KD_TIMEOUT_MS);
	ok(!ret && f.raw[4] == 1 && f.cmd.code == 0,
	   "name server: 105 in binary answered in binary");
	kd_frame_free(&f);
	kmq_rmt_cmd_free(&c);

	/* extFields as JSON numbers and booleans (ali-ons sends some). */
	kd_json(hdr, sizeof(hdr),
		"{'code':310,'language':'JAVA','version':401,'opaque':4242,",
		"'flag':0,'extFields':{'a':'kd','b':'SerT','c':'TBW102',",
		"'d':4,'e':0,'f':0,'g':1700000000000,'h':77,'j':0,",
		"'k':false,'m':false},'serializeTypeCurrentRPC':'JSON'}", NULL);
	hlen = strlen(hdr);
	frame = malloc(8 + hlen + strlen(body));
	kmq_put_be32(frame, 4 + hlen + strlen(body));
	kmq_put_be32(frame + 4, hlen);
	memcpy(frame + 8, hdr, hlen);
	memcpy(frame + 8 + hlen, body, strlen(body));
	ret = kd_write_all(fd, frame, 8 + hlen + strlen(body), KD_TIMEOUT_MS);
	free(frame);
	ret = ret ? ret : kd_recv_response(fd, 4242, &f, KD_TIMEOUT_MS);
	is_int(ret ? ret : f.cmd.code, 0,
	       "310 with numeric and boolean extFields (and serializeTypeCurrentRPC): SUCCESS");
	if (!ret && !f.cmd.code) {
		int64_t off = kd_ext_i64(&f, "queueOffset", -1);

		kd_acks_add(&acks, "SerT", 0, off, body, strlen(body));
		ret = kd_fetch(fd, "SerT", 0, off, &r, &copy);
		ok(!ret && kd_rec_body_is(&r, body, strlen(body)) &&
		   r.flag == 77 && r.born_ts == 1700000000000ull,
		   "lenient send: body, flag 77 and born timestamp stored");
		free(copy);
	} else {
		ok(0, "lenient send: body, flag 77 and born timestamp stored");
	}
	kd_frame_free(&f);
	close(fd);
	close(nfd);
}

static void test_opaque_oneway(struct kd_server *s)
{
	static const int32_t opaques[] = { 0, 1, -7, INT32_MAX, INT32_MIN };
	struct kmq_rmt_cmd c, c2;
	struct kd_frame f;
	unsigned int i, echoed = 0;
	int64_t before, after;
	struct kd_msg m = { .topic = "OnewayT", .queue_id = 0,
			    .body = "oneway body", .body_len = 11,
			    .max_reconsume_times = -1 };
	int fd = kd_connect(s->port), ret;

	if (!ok(fd >= 0, "opaque/oneway: connect"))
		return;
	for (i = 0; i < ARRAY_SIZE(opaques); i++) {
		kd_req(&c, KD_GET_MAX_OFFSET, i & 1 ? KMQ_RMT_ROCKETMQ :
		       KMQ_RMT_JSON);
		c.opaque = opaques[i];
		kd_ext(&c, "topic", "SendT");
		kd_ext(&c, "queueId", "1");
		ret = kd_send_cmd(fd, &c, NULL, 0);
		ret = ret ? ret : kd_recv_frame(fd, &f, KD_TIMEOUT_MS);
		echoed += !ret && f.cmd.opaque == opaques[i] &&
			  (f.cmd.flag & KMQ_RMT_FLAG_RESPONSE);
		if (!ret)
			kd_frame_free(&f);
		kmq_rmt_cmd_free(&c);
	}
	is_int(echoed, ARRAY_SIZE(opaques),
	       "opaque echoed (0, 1, -7, INT32_MAX, INT32_MIN) with the response flag");

	is_int(kd_create_topic(fd, "OnewayT", 1), 0, "17 creates OnewayT");
	before = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "OnewayT", 0);
	/* A oneway send, then a oneway offset update, then a normal request. */
	kd_send_req(&c, KD_SEND_MESSAGE_V2, &m, KMQ_RMT_JSON);
	c.flag |= KMQ_RMT_FLAG_ONEWAY;
	ret = kd_send_cmd(fd, &c, m.body, m.body_len);
	kmq_rmt_cmd_free(&c);
	kd_req(&c, KD_UPDATE_CONSUMER_OFFSET, KMQ_RMT_JSON);
	c.flag |= KMQ_RMT_FLAG_ONEWAY;
	kd_ext(&c, "consumerGroup", "GOneway");
	kd_ext(&c, "topic", "OnewayT");
	kd_ext(&c, "queueId", "0");
	kd_ext(&c, "commitOffset", "1");
	ret = ret ? ret : kd_send_cmd(fd, &c, NULL, 0);
	kmq_rmt_cmd_free(&c);
	kd_req(&c2, KD_QUERY_CONSUMER_OFFSET, KMQ_RMT_JSON);
	kd_ext(&c2, "consumerGroup", "GOneway");
	kd_ext(&c2, "topic", "OnewayT");
	kd_ext(&c2, "queueId", "0");
	ret = ret ? ret : kd_send_cmd(fd, &c2, NULL, 0);
	ret = ret ? ret : kd_recv_frame(fd, &f, KD_TIMEOUT_MS);
	ok(!ret && f.cmd.opaque == c2.opaque,
	   "oneway 310 and 15 get no response: the next frame answers the 14");
	is_int(ret ? -1 : kd_ext_i64(&f, "offset", -1), 1,
	       "the oneway 15 was applied (14 returns 1)");
	if (!ret)
		kd_frame_free(&f);
	kmq_rmt_cmd_free(&c2);
	after = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "OnewayT", 0);
	is_int(after - before, 1, "the oneway send was stored");
	if (after - before == 1)
		kd_acks_add(&acks, "OnewayT", 0, before, m.body, m.body_len);
	close(fd);
}

/* --- long polling -------------------------------------------------------- */

static void test_long_polling(struct kd_server *s)
{
	struct kd_pull_args a = {
		.topic = "LongPollT", .queue_id = 0, .offset = 0, .max_msgs = 32,
		.sys_flag = KD_PULL_SUSPEND, .suspend_ms = 3000,
	};
	struct kmq_rmt_cmd c;
	struct kmq_record r;
	struct kd_pulled p;
	struct kd_frame f;
	struct kd_sent sent;
	double t0, el;
	int fd = kd_connect(s->port), fd2 = kd_connect(s->port), ret;

	if (!ok(fd >= 0 && fd2 >= 0, "long polling: connect"))
		return;
	is_int(kd_create_topic(fd2, "LongPollT", 1), 0, "17 creates LongPollT");
	kd_pull_req(&c, &a);
	t0 = kd_mono_ms();
	ret = kd_send_cmd(fd, &c, NULL, 0);
	kd_sleep_ms(300);
	ret = ret ? ret : send_one(fd2, KD_SEND_MESSAGE_V2, "LongPollT", 0,
				   "wake up", NULL, 0, &sent);
	ret = ret ? ret : kd_recv_response(fd, c.opaque, &f, 4000);
	el = kd_mono_ms() - t0;
	kmq_rmt_cmd_free(&c);
	is_int(ret ? ret : f.cmd.code, 0,
	       "suspended pull on an empty queue answered FOUND after a send");
	ok(!ret && el >= 250 && el < 1500,
	   "... %.0f ms after the pull (send at 300 ms; before 1500 ms)", el);
	ok(!ret && kd_records(f.cmd.body, f.cmd.body_len, &r, 1) == 1 &&
	   kd_rec_body_is(&r, "wake up", 7),
	   "... with the message just sent");
	if (!ret)
		kd_frame_free(&f);

	/* Nothing arrives: PULL_NOT_FOUND after suspendTimeoutMillis. */
	a.offset = 1;
	a.suspend_ms = 1000;
	t0 = kd_mono_ms();
	ret = kd_pull(fd, &a, &p, 5000);
	el = kd_mono_ms() - t0;
	is_int(ret, KD_PULL_NOT_FOUND, "unanswered suspended pull -> 19");
	ok(el >= 900 && el <= 2500,
	   "... after %.0f ms (suspendTimeoutMillis 1000: 900..2500)", el);
	ok(p.has_next && p.next == 1, "... nextBeginOffset 1 (got %" PRId64 ")",
	   p.next);
	kd_pulled_free(&p);

	/* Two pulls parked on one connection: only the one with news wakes. */
	{
		struct kd_pull_args a0 = a, a1 = a;
		struct kmq_rmt_cmd c0, c1;
		int fd3 = kd_connect(s->port);
		double t1;

		is_int(kd_create_topic(fd2, "LongPoll2T", 2), 0,
		       "17 creates LongPoll2T (2 queues)");
		a0.topic = "LongPoll2T";
		a1.topic = "LongPoll2T";
		a0.offset = 0;
		a1.offset = 0;
		a0.sys_flag = KD_PULL_SUSPEND;
		a1.sys_flag = KD_PULL_SUSPEND;
		a0.suspend_ms = 1500;
		a1.suspend_ms = 3000;
		a1.queue_id = 1;
		kd_pull_req(&c0, &a0);
		kd_pull_req(&c1, &a1);
		t1 = kd_mono_ms();
		ret = kd_send_cmd(fd3, &c0, NULL, 0);
		ret = ret ? ret : kd_send_cmd(fd3, &c1, NULL, 0);
		kd_sleep_ms(200);
		ret = ret ? ret : send_one(fd2, KD_SEND_MESSAGE_V2,
					   "LongPoll2T", 1, "for q1", NULL, 0,
					   &sent);
		ret = ret ? ret : kd_recv_frame(fd3, &f, 3000);
		el = kd_mono_ms() - t1;
		ok(!ret && f.cmd.opaque == c1.opaque && f.cmd.code == 0 &&
		   el < 1000,
		   "two parked pulls, a send to q1: the q1 pull answers first, FOUND (%.0f ms)",
		   el);
		if (!ret)
			kd_frame_free(&f);
		ret = ret ? ret : kd_recv_frame(fd3, &f, 3000);
		el = kd_mono_ms() - t1;
		ok(!ret && f.cmd.opaque == c0.opaque &&
		   f.cmd.code == KD_PULL_NOT_FOUND && el >= 1300 && el < 3000,
		   "... the q0 pull stays parked until its 1500 ms: 19 (%.0f ms)",
		   el);
		if (!ret)
			kd_frame_free(&f);
		kmq_rmt_cmd_free(&c0);
		kmq_rmt_cmd_free(&c1);
		close(fd3);
	}

	/* Without the suspend flag the same pull is answered at once. */
	a.sys_flag = 0;
	t0 = kd_mono_ms();
	ret = kd_pull(fd, &a, &p, 5000);
	el = kd_mono_ms() - t0;
	ok(ret == KD_PULL_NOT_FOUND && el < 500,
	   "pull at max without the suspend flag: 19 at once (%d, %.0f ms)",
	   ret, el);
	kd_pulled_free(&p);
	close(fd);
	close(fd2);
}

/* --- tags, pull status codes --------------------------------------------- */

static int count_tag(const struct kd_pulled *p, const char *tag, int *n)
{
	struct kmq_record recs[32];
	char v[64];
	int i, match = 0;

	*n = kd_records(p->body, p->body_len, recs, ARRAY_SIZE(recs));
	for (i = 0; i < *n && i < 32; i++)
		if (kd_rec_prop(&recs[i], "TAGS", v, sizeof(v)) &&
		    !strcmp(v, tag))
			match++;
	return match;
}

static void test_tags(struct kd_server *s)
{
	static const char * const tags[] = { "TagB", "TagB", "TagA", "TagB" };
	struct kd_pull_args a = {
		.topic = "TagT", .queue_id = 0, .offset = 0, .max_msgs = 32,
		.sys_flag = KD_PULL_SUBSCRIPTION, .subscription = "TagA",
	};
	struct kd_pulled p;
	struct kd_sent sent;
	char props[64], body[32];
	unsigned int i, good = 0;
	int fd = kd_connect(s->port), n, ret;

	if (!ok(fd >= 0, "tags: connect"))
		return;
	is_int(kd_create_topic(fd, "TagT", 1), 0, "17 creates TagT");
	for (i = 0; i < ARRAY_SIZE(tags); i++) {
		snprintf(body, sizeof(body), "tag body %u", i);
		good += !send_one(fd, KD_SEND_MESSAGE_V2, "TagT", 0, body,
				  kd_props2(props, sizeof(props), "TAGS",
					    tags[i], NULL, NULL), 0, &sent);
	}
	is_int(good, 4, "sent TagB TagB TagA TagB");

	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	is_int(ret, 0, "subscription TagA from 0: FOUND");
	is_int(count_tag(&p, "TagA", &n), 1, "... one TagA record");
	is_int(n, 1, "... and nothing else");
	ok(p.next >= 3, "... nextBeginOffset past it (%" PRId64 ")", p.next);
	kd_pulled_free(&p);

	a.offset = 3;
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	is_int(ret, KD_PULL_RETRY_IMMEDIATELY,
	       "subscription TagA from 3 (only TagB left): 20 NO_MATCH");
	ok(p.has_next && p.next == 4,
	   "... nextBeginOffset moved to 4 (got %" PRId64 ")", p.next);
	kd_pulled_free(&p);

	a.offset = 0;
	a.subscription = "TagA || TagB";
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(!ret && count_tag(&p, "TagB", &n) == 3 && n == 4,
	   "subscription \"TagA || TagB\": all four");
	kd_pulled_free(&p);
	a.subscription = "*";
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(!ret && count_tag(&p, "TagB", &n) == 3 && n == 4,
	   "subscription \"*\": all four");
	kd_pulled_free(&p);
	a.subscription = "TagC";
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(ret == KD_PULL_RETRY_IMMEDIATELY && p.next == 4,
	   "subscription TagC: 20 with nextBeginOffset 4 (%d, %" PRId64 ")",
	   ret, p.next);
	kd_pulled_free(&p);

	/* Offsets out of range. */
	a.subscription = NULL;
	a.sys_flag = 0;
	a.offset = 100;
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	is_int(ret, KD_PULL_OFFSET_MOVED, "pull at offset 100 of 4: 21");
	/* RocketMQ 4.9: min when min is 0, else max; 5.x: max. */
	ok(p.has_next && (p.next == 0 || p.next == 4),
	   "... nextBeginOffset 0 (4.9: min) or 4 (5.x: max) (got %" PRId64 ")",
	   p.next);
	kd_pulled_free(&p);
	a.offset = 4;
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(ret == KD_PULL_NOT_FOUND && p.has_next && p.next == 4,
	   "pull at max (4), no suspend: 19, nextBeginOffset 4 (%d, %" PRId64 ")",
	   ret, p.next);
	kd_pulled_free(&p);
	is_int(kd_create_topic(fd, "EmptyT", 1), 0, "17 creates EmptyT");
	a.topic = "EmptyT";
	a.offset = 5;
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(ret == KD_PULL_OFFSET_MOVED && p.has_next && p.next == 0,
	   "pull at offset 5 of an empty queue: 21, nextBeginOffset 0 (%d, %" PRId64 ")",
	   ret, p.next);
	kd_pulled_free(&p);
	a.offset = 0;
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(ret == KD_PULL_NOT_FOUND && p.has_next && p.next == 0,
	   "pull at offset 0 of an empty queue: 19, nextBeginOffset 0 (%d)", ret);
	kd_pulled_free(&p);
	a.topic = "LongPollT";
	a.queue_id = 0;
	a.offset = 0;
	a.max_msgs = 1;
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(!ret && p.next == 1 && p.max == 1,
	   "maxMsgNums 1: one record, nextBeginOffset 1");
	kd_pulled_free(&p);
	a.topic = "NoSuchPullTopic";
	ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(ret == KD_TOPIC_NOT_EXIST || ret == KD_PULL_NOT_FOUND ||
	   ret == KD_PULL_OFFSET_MOVED,
	   "pull of an unknown topic: 17 or an empty answer (%d)", ret);
	ok(ret <= 0 || p.has_next || ret == KD_TOPIC_NOT_EXIST,
	   "... nextBeginOffset present on a pull status");
	kd_pulled_free(&p);
	close(fd);
}

/* --- offsets ------------------------------------------------------------- */

static void test_consumer_offsets(struct kd_server *s)
{
	struct kd_pull_args a = {
		.group = "GCommit", .topic = "TagT", .queue_id = 0, .offset = 2,
		.max_msgs = 1, .sys_flag = KD_PULL_COMMIT, .commit_offset = 2,
	};
	struct kd_pulled p;
	int fd = kd_connect(s->port), code;
	int64_t off;

	if (!ok(fd >= 0, "consumer offsets: connect"))
		return;
	off = kd_offset_query(fd, "GNew", "TagT", 0, &code);
	ok(code == 0 && off == 0,
	   "14 for an unknown group on a queue whose min is 0: 0 (code %d, offset %" PRId64 ")",
	   code, off);
	is_int(kd_offset_commit(fd, "GOff", "TagT", 0, 3), 0, "15 TagT@GOff q0 = 3");
	is_int(kd_offset_commit(fd, "GOff", "SendT", 1, 2), 0, "15 SendT@GOff q1 = 2");
	off = kd_offset_query(fd, "GOff", "TagT", 0, &code);
	ok(code == 0 && off == 3, "14 returns 3 (code %d, %" PRId64 ")", code,
	   off);
	off = kd_offset_query(fd, "GOff", "SendT", 1, &code);
	ok(code == 0 && off == 2, "14 SendT q1 returns 2");
	is_int(kd_offset_commit(fd, "GOff", "TagT", 0, 4), 0, "15 again: 4");
	off = kd_offset_query(fd, "GOff", "TagT", 0, &code);
	is_int(off, 4, "14 returns the latest commit, 4");

	kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	kd_pulled_free(&p);
	off = kd_offset_query(fd, "GCommit", "TagT", 0, &code);
	ok(code == 0 && off == 2,
	   "a pull with the commit flag and commitOffset 2 stores 2 (%d, %" PRId64 ")",
	   code, off);
	close(fd);
}

static void test_queue_offsets(struct kd_server *s)
{
	struct kd_sent sent;
	struct kmq_record r;
	struct kd_frame f;
	uint8_t *copy;
	char ts[32];
	uint64_t t_mid;
	int64_t v;
	int fd = kd_connect(s->port), ret;

	if (!ok(fd >= 0, "queue offsets: connect"))
		return;
	is_int(kd_create_topic(fd, "TimeT", 2), 0, "17 creates TimeT");
	send_one(fd, KD_SEND_MESSAGE_V2, "TimeT", 1, "t0", NULL, 0, &sent);
	kd_sleep_ms(40);
	t_mid = kd_now_ms();
	kd_sleep_ms(40);
	send_one(fd, KD_SEND_MESSAGE_V2, "TimeT", 1, "t1", NULL, 0, &sent);
	send_one(fd, KD_SEND_MESSAGE_V2, "TimeT", 1, "t2", NULL, 0, &sent);

	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "TimeT", 1), 3,
	       "30 GET_MAX_OFFSET: 3");
	is_int(kd_queue_offset(fd, KD_GET_MIN_OFFSET, "TimeT", 1), 0,
	       "31 GET_MIN_OFFSET: 0");
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "TimeT", 0), 0,
	       "30 on an empty queue: 0");
	is_int(kd_queue_offset(fd, KD_GET_EARLIEST_MSG_STORETIME, "TimeT", 0), -1,
	       "32 on an empty queue: -1, as RocketMQ [kmqd bug: 0]");
	v = kd_queue_offset(fd, KD_GET_EARLIEST_MSG_STORETIME, "TimeT", 1);
	ret = kd_fetch(fd, "TimeT", 1, 0, &r, &copy);
	ok(!ret && v == (int64_t)r.store_ts,
	   "32 GET_EARLIEST_MSG_STORETIME: STORETIMESTAMP of offset 0 (%" PRId64 " vs %llu)",
	   v, ret ? 0ull : (unsigned long long)r.store_ts);
	free(copy);

	snprintf(ts, sizeof(ts), "%" PRIu64, t_mid);
	ret = kd_callv(fd, &f, KD_SEARCH_OFFSET_BY_TIMESTAMP, NULL, 0,
		       "topic", "TimeT", "queueId", "1", "timestamp", ts, NULL);
	ok(!ret && kd_ext_i64(&f, "offset", -1) == 1,
	   "29 with a time between t0 and t1: offset 1 (code %d, %" PRId64 ")",
	   ret, kd_ext_i64(&f, "offset", -1));
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_SEARCH_OFFSET_BY_TIMESTAMP, NULL, 0,
		       "topic", "TimeT", "queueId", "1", "timestamp", "0",
		       NULL);
	ok(!ret && kd_ext_i64(&f, "offset", -1) == 0,
	   "29 with timestamp 0: offset 0");
	kd_frame_free(&f);
	close(fd);
}

/* --- groups, retry, delay ------------------------------------------------ */

static int heartbeat(int fd, const char *client, const char *group,
		     const char *topic, const char *sub)
{
	char body[1024], fmt[1024];
	struct kd_frame f;
	int ret;

	kd_json(fmt, sizeof(fmt),
		"{'clientID':'%s','consumerDataSet':[{'groupName':'%s',",
		"'consumeType':'CONSUME_PASSIVELY','messageModel':'CLUSTERING',",
		"'consumeFromWhere':'CONSUME_FROM_LAST_OFFSET',",
		"'subscriptionDataSet':[{'topic':'%s','subString':'%s',",
		"'tagsSet':[],'codeSet':[],'subVersion':1,'expressionType':'TAG'",
		"}],'unitMode':false}],",
		"'producerDataSet':[{'groupName':'kd_producer'}]}", NULL);
	snprintf(body, sizeof(body), fmt, client, group, topic, sub);
	ret = kd_callv(fd, &f, KD_HEART_BEAT, body, strlen(body), NULL);
	kd_frame_free(&f);
	return ret;
}

/* Client ids of @group (38), comma-joined into @out; the code. */
static int consumer_list(int fd, const char *group, char *out, size_t len)
{
	struct kd_frame f;
	json_t *body, *id;
	size_t i;
	int ret;

	out[0] = '\0';
	ret = kd_callv(fd, &f, KD_GET_CONSUMER_LIST_BY_GROUP, NULL, 0,
		       "consumerGroup", group, NULL);
	body = kd_body_json(&f);
	json_array_foreach(json_object_get(body, "consumerIdList"), i, id) {
		size_t n = strlen(out);

		snprintf(out + n, len - n, "%s%s", n ? "," : "",
			 json_string_value(id) ? json_string_value(id) : "?");
	}
	json_decref(body);
	kd_frame_free(&f);
	return ret;
}

/* Read frames on @fd for @ms; count NOTIFY_CONSUMER_IDS_CHANGED of @group. */
static unsigned int count_notify(int fd, const char *group, unsigned int ms)
{
	double end = kd_mono_ms() + ms;
	unsigned int n = 0;
	struct kd_frame f;

	while (kd_remaining(end) > 0 &&
	       !kd_recv_frame(fd, &f, kd_remaining(end))) {
		const char *g = kmq_rmt_ext(&f.cmd, "consumerGroup");

		if (f.cmd.code == KD_NOTIFY_CONSUMER_IDS_CHANGED &&
		    !(f.cmd.flag & KMQ_RMT_FLAG_RESPONSE) &&
		    (f.cmd.flag & KMQ_RMT_FLAG_ONEWAY) && g &&
		    !strcmp(g, group))
			n++;
		kd_frame_free(&f);
	}
	return n;
}

static void test_groups(struct kd_server *s)
{
	struct kd_pull_args a = {
		.group = "GHB", .topic = "TagT", .queue_id = 0, .offset = 0,
		.max_msgs = 32,
	};
	struct kd_pulled p;
	struct kd_frame f;
	json_t *route = NULL;
	char ids[512];
	unsigned int n;
	int fd1 = kd_connect(s->port), fd2 = kd_connect(s->port);
	int fd3 = kd_connect(s->port), ret, nrec;

	if (!ok(fd1 >= 0 && fd2 >= 0 && fd3 >= 0, "groups: connect"))
		return;
	is_int(heartbeat(fd1, "127.0.0.1@c1", "GHB", "TagT", "TagA"), 0,
	       "34 heartbeat of client c1 in GHB");
	ret = consumer_list(fd3, "GHB", ids, sizeof(ids));
	ok(!ret && !strcmp(ids, "127.0.0.1@c1"),
	   "38 lists the clientID (code %d, \"%s\")", ret, ids);
	n = count_notify(fd1, "GHB", 300);
	diag("c1 got %u notifications for its own join", n);
	is_int(heartbeat(fd2, "127.0.0.1@c2", "GHB", "TagT", "TagA"), 0,
	       "34 heartbeat of a second client c2 in GHB");
	n = count_notify(fd1, "GHB", 1500);
	ok(n >= 1, "c1's connection gets 40 NOTIFY_CONSUMER_IDS_CHANGED (oneway) for GHB (%u)",
	   n);
	ret = consumer_list(fd3, "GHB", ids, sizeof(ids));
	ok(!ret && strstr(ids, "127.0.0.1@c1") && strstr(ids, "127.0.0.1@c2"),
	   "38 lists both clients (\"%s\")", ids);

	/* Without the subscription flag the group's subscription applies. */
	ret = kd_pull(fd3, &a, &p, KD_TIMEOUT_MS);
	ok(!ret && count_tag(&p, "TagA", &nrec) == 1 && nrec == 1,
	   "pull for GHB without subscription flag: the heartbeat's TagA filter");
	kd_pulled_free(&p);

	ret = kd_wait_route(s->ns_port, "%RETRY%GHB", true, &route, 3000);
	ok(!ret && route_broker(route, "broker-a"),
	   "105 %%RETRY%%GHB exists after the heartbeat");
	json_decref(route);

	close(fd2);
	n = count_notify(fd1, "GHB", 1500);
	ok(n >= 1, "c2's connection closed: c1 notified again (%u)", n);
	ret = consumer_list(fd3, "GHB", ids, sizeof(ids));
	ok(!ret && !strcmp(ids, "127.0.0.1@c1"),
	   "38 after c2 left: only c1 (\"%s\")", ids);
	ret = kd_callv(fd3, &f, KD_UNREGISTER_CLIENT, NULL, 0,
		       "clientID", "127.0.0.1@c1", "consumerGroup", "GHB",
		       "producerGroup", "kd_producer", NULL);
	is_int(ret, 0, "35 unregisters c1");
	kd_frame_free(&f);
	ret = consumer_list(fd3, "GHB", ids, sizeof(ids));
	ok(ret != 0 && !ids[0], "38 after 35: no consumer (code %d)", ret);
	close(fd1);
	close(fd3);
}

/* Wait until queue (@topic, @qid) has a message; ms since @t0, or -1. */
static double wait_message(int fd, const char *topic, unsigned int qid,
			   double t0, unsigned int timeout_ms)
{
	while (kd_mono_ms() - t0 < timeout_ms) {
		if (kd_queue_offset(fd, KD_GET_MAX_OFFSET, topic, qid) > 0)
			return kd_mono_ms() - t0;
		kd_sleep_ms(20);
	}
	return -1;
}

static int send_back(int fd, const struct kmq_record *r, const char *origin,
		     int level, int max)
{
	struct kd_frame f;
	char off[32], lvl[16], mx[16], id[KMQ_MSGID_MAX + 1];
	int ret;

	snprintf(off, sizeof(off), "%llu",
		 (unsigned long long)r->phys_offset);
	snprintf(lvl, sizeof(lvl), "%d", level);
	snprintf(mx, sizeof(mx), "%d", max);
	kd_rec_msgid(r, id);
	ret = kd_callv(fd, &f, KD_CONSUMER_SEND_MSG_BACK, NULL, 0,
		       "offset", off, "group", "GRetry", "delayLevel", lvl,
		       "originMsgId", id, "originTopic", origin,
		       "maxReconsumeTimes", mx, "unitMode", "false", NULL);
	if (ret)
		diag("36: %d %s", ret, kd_remark(&f));
	kd_frame_free(&f);
	return ret;
}

static void test_retry_delay(struct kd_server *s)
{
	char props[64], v[128];
	struct kmq_record r, rr, dr;
	uint8_t *copy = NULL, *rcopy = NULL, *dcopy = NULL;
	struct kd_sent sent;
	double t0, el;
	int64_t sched;
	int fd = kd_connect(s->port), ret;

	if (!ok(fd >= 0, "retry: connect"))
		return;
	is_int(kd_create_topic(fd, "RetryT", 1), 0, "17 creates RetryT");
	is_int(kd_create_topic(fd, "DelayT", 1), 0, "17 creates DelayT");
	ret = send_one(fd, KD_SEND_MESSAGE_V2, "RetryT", 0, "retry me",
		       kd_props2(props, sizeof(props), "TAGS", "TagR", NULL,
				 NULL), 0, &sent);
	ret = ret ? ret : kd_fetch(fd, "RetryT", 0, 0, &r, &copy);
	if (!ok(!ret, "a message to consume and fail"))
		goto out;

	/* Level 1 (1 s) send-back and a DELAY=1 send, timed together. */
	sched = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "SCHEDULE_TOPIC_XXXX", 2);
	t0 = kd_mono_ms();
	is_int(send_back(fd, &r, "RetryT", 1, 16), 0,
	       "36 send-back, delayLevel 1: SUCCESS");
	is_int(send_back(fd, &r, "RetryT", 0, 16), 0,
	       "36 send-back, delayLevel 0: SUCCESS");
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "SCHEDULE_TOPIC_XXXX", 2),
	       sched + 1,
	       "delayLevel 0 with reconsumeTimes 0: parked at level 3 (SCHEDULE_TOPIC_XXXX queue 2)");
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &(struct kd_msg){
			.topic = "DelayT", .queue_id = 0, .body = "later",
			.body_len = 5, .max_reconsume_times = -1,
			.props = kd_props2(props, sizeof(props), "DELAY", "1",
					   NULL, NULL) }, &sent);
	is_int(ret, 0, "send with property DELAY=1: SUCCESS");
	kd_sleep_ms(300);
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "DelayT", 0), 0,
	       "DELAY=1: not delivered at once (DelayT empty after 300 ms)");
	el = wait_message(fd, "%RETRY%GRetry", 0, t0, 4000);
	ok(el >= 800 && el <= 3000,
	   "%%RETRY%%GRetry/0 gets the message after ~1 s (%.0f ms; 800..3000)",
	   el);
	el = wait_message(fd, "DelayT", 0, t0, 4000);
	ok(el >= 800 && el <= 3000,
	   "DelayT/0 gets the delayed message after ~1 s (%.0f ms; 800..3000)",
	   el);

	ret = kd_fetch(fd, "%RETRY%GRetry", 0, 0, &rr, &rcopy);
	ok(!ret && kd_rec_body_is(&rr, "retry me", 8) &&
	   kd_rec_topic_is(&rr, "%RETRY%GRetry"),
	   "retry record: body, topic %%RETRY%%GRetry");
	is_int(ret ? -1 : (int)rr.reconsume_times, 1, "retry record: reconsumeTimes 1");
	ok(!ret && kd_rec_prop(&rr, "RETRY_TOPIC", v, sizeof(v)) &&
	   !strcmp(v, "RetryT"), "retry record: RETRY_TOPIC=RetryT");
	ok(!ret && kd_rec_prop(&rr, "TAGS", v, sizeof(v)) && !strcmp(v, "TagR"),
	   "retry record: keeps the original properties (TAGS)");
	ok(!ret && kd_rec_prop(&rr, "ORIGIN_MESSAGE_ID", v, sizeof(v)) &&
	   strlen(v) == 32, "retry record: ORIGIN_MESSAGE_ID");
	if (!ret)
		kd_acks_add(&acks, "%RETRY%GRetry", 0, 0, "retry me", 8);

	ret = kd_fetch(fd, "DelayT", 0, 0, &dr, &dcopy);
	ok(!ret && kd_rec_body_is(&dr, "later", 5) &&
	   kd_rec_topic_is(&dr, "DelayT") &&
	   !kd_rec_prop(&dr, "DELAY", v, sizeof(v)),
	   "delayed record: body, its real topic, DELAY property gone");
	if (!ret)
		kd_acks_add(&acks, "DelayT", 0, 0, "later", 5);

	/* The retry record failed again, with maxReconsumeTimes 1: DLQ. */
	if (rcopy) {
		t0 = kd_mono_ms();
		is_int(send_back(fd, &rr, "RetryT", 0, 1), 0,
		       "36 with reconsumeTimes >= maxReconsumeTimes: SUCCESS");
		diag("36 to a new dead-letter topic took %.0f ms",
		     kd_mono_ms() - t0);
		el = wait_message(fd, "%DLQ%GRetry", 0, kd_mono_ms(), 3000);
		ok(el >= 0 && el < 500,
		   "%%DLQ%%GRetry/0 has it at once, no delay level (%.0f ms)",
		   el);
		free(dcopy);
		ret = kd_fetch(fd, "%DLQ%GRetry", 0, 0, &dr, &dcopy);
		ok(!ret && kd_rec_body_is(&dr, "retry me", 8) &&
		   kd_rec_topic_is(&dr, "%DLQ%GRetry"),
		   "DLQ record: body, topic %%DLQ%%GRetry");
		is_int(ret ? -1 : (int)dr.reconsume_times, 2,
		       "DLQ record: reconsumeTimes 2 (as RocketMQ: +1)");
		is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "%RETRY%GRetry",
				       0), 1,
		       "nothing more in %%RETRY%%GRetry");
		if (!ret)
			kd_acks_add(&acks, "%DLQ%GRetry", 0, 0, "retry me", 8);
		is_int(send_back(fd, &r, "RetryT", -1, 16), 0,
		       "36 with delayLevel -1: SUCCESS");
		is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "%DLQ%GRetry", 0),
		       2, "delayLevel -1: straight to %%DLQ%%GRetry");
		is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "%RETRY%GRetry",
				       0), 1,
		       "the delayLevel 0 retry (level 3, 10 s) is not due yet");
	}
out:
	free(copy);
	free(rcopy);
	free(dcopy);
	close(fd);
}

/*
 * Transactions (rocketmq.md section 6): a send with TRAN_MSG=true and the
 * PREPARED type is a half message, invisible to consumers until
 * END_TRANSACTION (37, oneway from Java producers) commits it.
 */
static void test_transactions(struct kd_server *s)
{
	const char *props = "TRAN_MSG\001true\002PGROUP\001kd_producer\002";
	struct kd_msg m = { .topic = "TxT", .queue_id = 0, .body = "half",
			    .body_len = 4, .sys_flag = KMQ_SYSFLAG_TX_PREPARED,
			    .props = props, .max_reconsume_times = -1 };
	struct kmq_rmt_cmd c;
	struct kmq_host host;
	struct kmq_record r;
	struct kd_sent sent;
	uint8_t *copy = NULL;
	__u64 phys = 0;
	int64_t max = -1;
	double t0;
	int fd = kd_connect(s->port), ret;

	if (!ok(fd >= 0, "transactions: connect"))
		return;
	is_int(kd_create_topic(fd, "TxT", 1), 0, "17 creates TxT");
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &sent);
	is_int(ret, 0, "half message (TRAN_MSG, PREPARED): SUCCESS");
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "TxT", 0), 0,
	       "the half message is not visible in TxT");
	kmq_msgid_decode(sent.msg_id, strlen(sent.msg_id), &host, &phys);
	kd_req(&c, 37, KMQ_RMT_JSON);
	c.flag |= KMQ_RMT_FLAG_ONEWAY;
	kd_ext(&c, "producerGroup", "kd_producer");
	kd_extf(&c, "tranStateTableOffset", "%" PRId64, sent.queue_offset);
	kd_extf(&c, "commitLogOffset", "%llu", (unsigned long long)phys);
	kd_ext(&c, "commitOrRollback", "8");
	kd_ext(&c, "fromTransactionCheck", "false");
	kd_ext(&c, "msgId", sent.msg_id);
	kd_ext(&c, "transactionId", sent.msg_id);
	kd_send_cmd(fd, &c, NULL, 0);
	kmq_rmt_cmd_free(&c);
	t0 = kd_mono_ms();
	while (kd_mono_ms() - t0 < 2000) {
		max = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "TxT", 0);
		if (max == 1)
			break;
		kd_sleep_ms(20);
	}
	ret = kd_fetch(fd, "TxT", 0, 0, &r, &copy);
	ok(max == 1 && !ret && kd_rec_body_is(&r, "half", 4) &&
	   (r.sys_flag & KMQ_SYSFLAG_TX_MASK) == KMQ_SYSFLAG_TX_COMMIT,
	   "END_TRANSACTION commit: exactly one COMMIT record visible in TxT");
	free(copy);
	close(fd);
}

/*
 * VIEW_MESSAGE_BY_ID (33): the offset in a message id gives back the
 * record as stored; an offset that is no record's start is an error.
 */
static void test_view_message(struct kd_server *s)
{
	struct kd_msg m = { .topic = "ViewT", .queue_id = 0, .body = "view me",
			    .body_len = 7, .props = "KEYS\001v1\002",
			    .max_reconsume_times = -1 };
	struct kmq_host host;
	struct kmq_record r;
	struct kd_sent sent;
	struct kd_frame f;
	char off[32];
	__u64 phys = 0;
	int fd = kd_connect(s->port), ret;

	if (!ok(fd >= 0, "view by id: connect"))
		return;
	is_int(kd_create_topic(fd, "ViewT", 1), 0, "17 creates ViewT");
	is_int(kd_send(fd, KD_SEND_MESSAGE_V2, &m, &sent), 0, "send to ViewT");
	kmq_msgid_decode(sent.msg_id, strlen(sent.msg_id), &host, &phys);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)phys);
	ret = kd_callv(fd, &f, 33, NULL, 0, "offset", off, NULL);
	ok(ret == 0 && f.cmd.body &&
	   !kmq_record_decode(f.cmd.body, f.cmd.body_len, &r, KMQ_DECODE_CRC) &&
	   r.phys_offset == phys && kd_rec_body_is(&r, "view me", 7),
	   "33 VIEW_MESSAGE_BY_ID returns the record at the id's offset");
	kd_frame_free(&f);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)phys + 3);
	ret = kd_callv(fd, &f, 33, NULL, 0, "offset", off, NULL);
	ok(ret > 0 && f.cmd.remark,
	   "33 with an offset inside a record: error code %d with a remark",
	   ret);
	kd_frame_free(&f);
	close(fd);
}

/* --- SYNC_FLUSH, concurrent pipelined senders ---------------------------- */

#define SYNC_CONNS	8
#define SYNC_SENDS	200

struct sync_worker {
	unsigned int port;
	unsigned int idx;
	unsigned int round;
	unsigned int ok;
	struct kd_acks *acks;
};

static void *sync_worker_main(void *arg)
{
	struct sync_worker *w = arg;
	struct kmq_buf out = { 0 };
	char bodies[SYNC_SENDS][32];
	int32_t opaque[SYNC_SENDS];
	unsigned int i;
	int fd = kd_connect(w->port);

	if (fd < 0)
		return NULL;
	for (i = 0; i < SYNC_SENDS; i++) {
		struct kd_msg m = { .topic = "SyncT", .queue_id = w->idx % 4,
				    .max_reconsume_times = -1 };
		struct kmq_rmt_cmd c;

		snprintf(bodies[i], sizeof(bodies[i]), "sync-%u-%u-%u", w->round,
			 w->idx, i);
		m.body = bodies[i];
		m.body_len = strlen(bodies[i]);
		kd_send_req(&c, KD_SEND_MESSAGE_V2, &m, KMQ_RMT_JSON);
		opaque[i] = c.opaque;
		kd_encode(&out, &c, m.body, m.body_len);
		kmq_rmt_cmd_free(&c);
	}
	if (kd_write_all(fd, out.data, out.len, 10000))
		goto done;
	for (i = 0; i < SYNC_SENDS; i++) {
		struct kd_frame f;

		if (kd_recv_frame(fd, &f, 10000))
			break;
		/* Answers of one connection come back in order. */
		if (f.cmd.opaque == opaque[i] && f.cmd.code == 0) {
			w->ok++;
			kd_acks_add(w->acks, "SyncT", w->idx % 4,
				    kd_ext_i64(&f, "queueOffset", -1),
				    bodies[i], strlen(bodies[i]));
		} else {
			diag("sync worker %u send %u: code %d opaque %d/%d %s",
			     w->idx, i, f.cmd.code, f.cmd.opaque, opaque[i],
			     kd_remark(&f));
		}
		kd_frame_free(&f);
	}
done:
	kmq_buf_free(&out);
	close(fd);
	return NULL;
}

/*
 * run_senders() - SYNC_CONNS connections of SYNC_SENDS pipelined sends to
 * SyncT on @s, answered sends added to @a; with @kill_ms, kmqd is killed
 * (SIGKILL) that long after they start. Return: the sends answered 0.
 */
static unsigned int run_senders(struct kd_server *s, struct kd_acks *a,
				unsigned int round, unsigned int kill_ms)
{
	struct sync_worker w[SYNC_CONNS];
	pthread_t th[SYNC_CONNS];
	unsigned int i, total = 0;

	for (i = 0; i < SYNC_CONNS; i++) {
		w[i] = (struct sync_worker){ .port = s->port, .idx = i,
					     .round = round, .acks = a };
		pthread_create(&th[i], NULL, sync_worker_main, &w[i]);
	}
	if (kill_ms) {
		kd_sleep_ms(kill_ms);
		is_int(kd_server_signal_wait(s, SIGKILL, 5000), 128 + SIGKILL,
		       "SIGKILL while %u connections send", SYNC_CONNS);
	}
	for (i = 0; i < SYNC_CONNS; i++) {
		pthread_join(th[i], NULL);
		total += w[i].ok;
	}
	return total;
}

static void test_sync_flush(void)
{
	static const char * const args[] = {
		"--flushDiskType=SYNC_FLUSH", "--mapedFileSizeCommitLog=16777216",
		/* fsync on a loaded CI disk: SUCCESS is the point here */
		"--ioThreads=2", "--syncFlushTimeout=60000", NULL,
	};
	struct kd_acks sacks = KD_ACKS_INIT;
	struct kd_server b;
	struct kd_sent sent;
	char abort_path[PATH_MAX + 16];
	unsigned int i, total = 0, dup = 0, j;
	int fd, ret;

	if (kd_server_init(&b, argv0, "sync", args) || kd_server_start(&b)) {
		ok(0, "SYNC_FLUSH kmqd starts");
		kd_server_cleanup(&b);
		return;
	}
	ok(1, "SYNC_FLUSH kmqd starts");
	fd = kd_connect(b.port);
	ret = fd >= 0 ? kd_create_topic(fd, "SyncT", 4) : -1;
	is_int(ret, 0, "SYNC_FLUSH: 17 creates SyncT");
	ret = fd >= 0 ? kd_send(fd, KD_SEND_MESSAGE_V2, &(struct kd_msg){
			.topic = "SyncT", .queue_id = 0, .body = "one",
			.body_len = 3, .max_reconsume_times = -1 }, &sent) : -1;
	is_int(ret, 0, "SYNC_FLUSH: a send is answered SUCCESS");
	if (!ret)
		kd_acks_add(&sacks, "SyncT", 0, sent.queue_offset, "one", 3);
	if (fd >= 0)
		close(fd);

	total = run_senders(&b, &sacks, 0, 0);
	is_int(total, SYNC_CONNS * SYNC_SENDS,
	       "SYNC_FLUSH: %u connections x %u pipelined sends all SUCCESS",
	       SYNC_CONNS, SYNC_SENDS);
	for (i = 0; i < sacks.n; i++)
		for (j = i + 1; j < sacks.n; j++)
			if (sacks.v[i].queue_id == sacks.v[j].queue_id &&
			    sacks.v[i].queue_offset == sacks.v[j].queue_offset)
				dup++;
	is_int(dup, 0, "SYNC_FLUSH: no two sends got the same queue offset");
	is_int(kd_acks_verify(b.port, &sacks), 0,
	       "SYNC_FLUSH: all %u acknowledged messages pullable", sacks.n);
	is_int(kd_server_stop(&b), 0, "SYNC_FLUSH kmqd: SIGTERM exits 0");
	snprintf(abort_path, sizeof(abort_path), "%s/abort", b.store);
	ok(!kd_exists(abort_path), "SYNC_FLUSH kmqd: abort file removed");
	if (!kd_server_start(&b)) {
		is_int(kd_acks_verify(b.port, &sacks), 0,
		       "SYNC_FLUSH restart: all %u acknowledged messages pullable",
		       sacks.n);
		/* A crash in the middle of concurrent sends. */
		total = run_senders(&b, &sacks, 1, 30);
		diag("%u sends answered before the SIGKILL", total);
		if (!kd_server_start(&b))
			is_int(kd_acks_verify(b.port, &sacks), 0,
			       "after SIGKILL and recovery: all %u acknowledged messages pullable",
			       sacks.n);
		else
			ok(0, "SYNC_FLUSH kmqd restarts after SIGKILL");
		is_int(kd_server_stop(&b), 0, "SYNC_FLUSH restart: SIGTERM exits 0");
	} else {
		ok(0, "SYNC_FLUSH kmqd restarts");
	}
	ok(!kd_log_sanitizer(&b), "SYNC_FLUSH kmqd log: no sanitizer report");
	kd_acks_free(&sacks);
	kd_server_cleanup(&b);
}

/* --- a small ring: min offset above 0 ------------------------------------ */

static void ring_body(char *buf, size_t len, int64_t off)
{
	int n = snprintf(buf, len, "ring %05lld ", (long long)off);

	memset(buf + n, 'a' + off % 26, len - n - 1);
	buf[len - 1] = '\0';
}

static bool ring_ok(int64_t off, const struct kmq_record *r)
{
	char want[2048];

	ring_body(want, sizeof(want), off);
	return kd_rec_body_is(r, want, strlen(want));
}

static void test_small_ring(void)
{
	static const char * const args[] = {
		"--maxMessageSize=4096", "--mapedFileSizeCommitLog=131072",
		"--ringSegments=3", "--ioThreads=1", NULL,
	};
	struct kd_pull_args a = {
		.topic = "RingT", .queue_id = 0, .offset = 0, .max_msgs = 1,
	};
	struct kd_server c;
	struct kd_pulled p;
	char body[2048], path[PATH_MAX + 64];
	FILE *ofile;
	unsigned int i, good = 0;
	int64_t min = -1, off;
	int fd, code;

	if (kd_server_init(&c, argv0, "ring", args) || kd_server_start(&c)) {
		ok(0, "small-ring kmqd starts");
		kd_server_cleanup(&c);
		return;
	}
	fd = kd_connect(c.port);
	kd_create_topic(fd, "RingT", 1);
	for (i = 0; i < 400; i++) {
		struct kd_sent s;
		struct kd_msg m = { .topic = "RingT", .queue_id = 0,
				    .body = body, .max_reconsume_times = -1 };

		ring_body(body, sizeof(body), i);
		m.body_len = strlen(body);
		good += !kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
	}
	is_int(good, 400, "small ring: 400 sends of 2 KiB (6 segments' worth)");
	for (i = 0; i < 100 && min <= 0; i++) {
		min = kd_queue_offset(fd, KD_GET_MIN_OFFSET, "RingT", 0);
		if (min <= 0)
			kd_sleep_ms(20);
	}
	ok(min > 0, "small ring: the queue's min offset moved (%" PRId64 ")",
	   min);
	off = kd_offset_query(fd, "GRingNew", "RingT", 0, &code);
	ok(code == KD_QUERY_NOT_FOUND,
	   "14 for an unknown group when the queue's min is > 0: 22 (code %d, %" PRId64 ")",
	   code, off);
	kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
	ok(p.code == KD_PULL_OFFSET_MOVED && p.next == min,
	   "pull below the min offset: 21 with nextBeginOffset = min (%d, %" PRId64 ")",
	   p.code, p.next);
	kd_pulled_free(&p);
	is_int(pull_all(fd, "RingT", 0, min, ring_ok), 400 - min,
	       "every record from min to max pulls back intact across segment ends");
	close(fd);

	/* A crash: SIGKILL, then recovery from the abort file. */
	is_int(kd_server_signal_wait(&c, SIGKILL, 5000), 128 + SIGKILL,
	       "small-ring kmqd: SIGKILL");
	snprintf(path, sizeof(path), "%s/abort", c.store);
	ok(kd_exists(path), "the abort file stays after a crash");
	/*
	 * config/consumerOffset.json as RocketMQ writes it (fastjson: the
	 * queue ids are unquoted numbers), e.g. a store moved from RocketMQ.
	 */
	snprintf(path, sizeof(path), "%s/config/consumerOffset.json", c.store);
	ofile = fopen(path, "w");
	if (ofile) {
		fputs("{\n\t\"offsetTable\":{\n\t\t\"RingT@GMig\":{0:350,1:0\n", ofile);
		fputs("\t\t}\n\t}\n}", ofile);
		fclose(ofile);
	}
	if (!kd_server_start(&c)) {
		fd = kd_connect(c.port);
		is_int(pull_all(fd, "RingT", 0, min, ring_ok), 400 - min,
		       "after SIGKILL and recovery every acknowledged record is intact");
		off = kd_offset_query(fd, "GMig", "RingT", 0, &code);
		ok(code == 0 && off == 350,
		   "RocketMQ-format consumerOffset.json: 14 gives 350 (%d, %" PRId64 ") [kmqd bug]",
		   code, off);
		close(fd);
	} else {
		ok(0, "small-ring kmqd restarts after SIGKILL");
	}
	is_int(kd_server_stop(&c), 0, "small-ring kmqd: SIGTERM exits 0");
	ok(!kd_log_sanitizer(&c), "small-ring kmqd log: no sanitizer report");
	kd_server_cleanup(&c);
}

/* --- shutdown, persistence, restart -------------------------------------- */

static void test_restart(struct kd_server *s)
{
	char path[PATH_MAX + 64], props[32];
	struct kd_pull_args a = {
		.topic = "RouteT", .queue_id = 0, .offset = 0, .max_msgs = 1,
		.sys_flag = KD_PULL_SUSPEND, .suspend_ms = 30000,
	};
	struct kmq_rmt_cmd c;
	struct kd_sent sent;
	json_t *doc, *t, *route = NULL;
	double t0;
	int fd, pfd, code, ret;
	int64_t off, n = -1;

	/*
	 * At the SIGTERM: a delayed message not yet due, and a pull parked
	 * for 30 s on an open connection.
	 */
	fd = kd_connect(s->port);
	kd_create_topic(fd, "DelayRestartT", 1);
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &(struct kd_msg){
			.topic = "DelayRestartT", .queue_id = 0, .body = "due",
			.body_len = 3, .max_reconsume_times = -1,
			.props = kd_props2(props, sizeof(props), "DELAY", "2",
					   NULL, NULL) }, &sent);
	is_int(ret, 0, "a DELAY=2 (5 s) message just before the shutdown");
	close(fd);
	pfd = kd_connect(s->port);
	kd_pull_req(&c, &a);
	kd_send_cmd(pfd, &c, NULL, 0);
	kmq_rmt_cmd_free(&c);
	kd_sleep_ms(100);

	t0 = kd_mono_ms();
	is_int(kd_server_stop(s), 0, "SIGTERM: kmqd exits 0");
	ok(kd_mono_ms() - t0 < 15000,
	   "... within 15 s though a pull is parked for 30 s (%.0f ms)",
	   kd_mono_ms() - t0);
	close(pfd);
	snprintf(path, sizeof(path), "%s/abort", s->store);
	ok(!kd_exists(path), "graceful shutdown removes the abort file");
	snprintf(path, sizeof(path), "%s/config/consumerOffset.json", s->store);
	doc = json_load_file(path, 0, NULL);
	t = json_object_get(doc, "offsetTable");
	ok(json_is_object(t), "config/consumerOffset.json has an offsetTable");
	ok(json_integer_value(json_object_get(json_object_get(t, "TagT@GOff"),
					      "0")) == 4 &&
	   json_is_integer(json_object_get(json_object_get(t, "TagT@GOff"),
					   "0")),
	   "consumerOffset.json: {\"TagT@GOff\":{\"0\":4}}");
	ok(json_integer_value(json_object_get(json_object_get(t, "SendT@GOff"),
					      "1")) == 2,
	   "consumerOffset.json: {\"SendT@GOff\":{\"1\":2}}");
	json_decref(doc);

	if (!ok(!kd_server_start(s), "kmqd restarts on the same store"))
		return;
	fd = kd_connect(s->port);
	off = kd_offset_query(fd, "GOff", "TagT", 0, &code);
	ok(code == 0 && off == 4, "after restart 14 returns 4 (%d, %" PRId64 ")",
	   code, off);
	off = kd_offset_query(fd, "GOff", "SendT", 1, &code);
	ok(code == 0 && off == 2, "after restart 14 SendT q1 returns 2");
	ret = kd_wait_route(s->ns_port, "RouteT", true, &route, 3000);
	ok(!ret && jint(route_queue(route, "broker-a"), "writeQueueNums") == 8,
	   "after restart the topics are back: RouteT, 8 queues");
	json_decref(route);
	t0 = kd_mono_ms();
	while (kd_mono_ms() - t0 < 8000) {
		n = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "DelayRestartT", 0);
		if (n > 0)
			break;
		kd_sleep_ms(50);
	}
	ok(n == 1, "the delayed message is delivered after the restart (%" PRId64 ")",
	   n);
	kd_sleep_ms(600);
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "DelayRestartT", 0), 1,
	       "... exactly once");
	close(fd);
	is_int(kd_acks_verify(s->port, &acks), 0,
	       "after restart all %u acknowledged messages are pullable",
	       acks.n);

	/* A crash in the middle of concurrent sends (ASYNC_FLUSH). */
	diag("%u sends answered before the SIGKILL",
	     run_senders(s, &acks, 3, 30));
	if (!ok(!kd_server_start(s), "kmqd restarts after SIGKILL"))
		return;
	is_int(kd_acks_verify(s->port, &acks), 0,
	       "after SIGKILL and recovery all %u acknowledged messages are pullable",
	       acks.n);
	is_int(kd_server_stop(s), 0, "SIGTERM after restart: exits 0");
	ok(!kd_log_sanitizer(s), "kmqd log: no sanitizer report");
}

int main(int argc, char **argv)
{
	static const char * const args[] = {
		"--mapedFileSizeCommitLog=16777216", "--ioThreads=2", NULL,
	};
	struct kd_server s;

	argv0 = argv[0];
	signal(SIGPIPE, SIG_IGN);
	if (kd_server_init(&s, argv0, "proto", args))
		kmq_tap_bail("cannot prepare a kmqd store directory");
	diag("kmqd: %s, name server %u, broker %u, store %s", s.bin, s.ns_port,
	     s.port, s.store);
	if (kd_server_start(&s)) {
		kd_server_cleanup(&s);
		kd_give_up("kmqd does not start");
	}
	snprintf(addr_a, sizeof(addr_a), "127.0.0.1:%u", s.port);

	test_route(&s);
	test_fake_broker(&s);
	test_send_pull(&s);
	test_record_fields(&s);
	test_big(&s);
	test_serialization(&s);
	test_opaque_oneway(&s);
	test_long_polling(&s);
	test_tags(&s);
	test_consumer_offsets(&s);
	test_queue_offsets(&s);
	test_groups(&s);
	test_retry_delay(&s);
	test_transactions(&s);
	test_view_message(&s);
	is_int(run_senders(&s, &acks, 2, 0), SYNC_CONNS * SYNC_SENDS,
	       "ASYNC_FLUSH: %u connections x %u pipelined sends all SUCCESS",
	       SYNC_CONNS, SYNC_SENDS);
	ok(kd_server_alive(&s), "kmqd still running after the protocol cases");
	test_restart(&s);
	kd_server_cleanup(&s);

	test_sync_flush();
	test_small_ring();
	kd_acks_free(&acks);
	return kmq_tap_done();
}
