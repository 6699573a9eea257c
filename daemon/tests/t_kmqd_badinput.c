// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_kmqd_badinput.c - kmqd against hostile and broken clients over TCP:
 * impossible frame lengths, lying header lengths, unknown serializations,
 * malformed JSON and binary headers, truncated frames, unknown codes,
 * missing or non-numeric fields, oversized bodies, illegal topic names,
 * lying batch items, bad heartbeats and send-backs, a client that never
 * reads its responses, thousands of idle connections and random and
 * mutated bytes. Each case runs on its own connection; after every case
 * another connection must still send and pull, and at the end every
 * acknowledged message is still there and kmqd exits 0 on SIGTERM with
 * no sanitizer report in its log.
 */
#include "kmqd_test_util.h"

#define MAX_MSG		1024	/* --maxMessageSize */
#define IDLE_CONNS	2000
#define FLOOD_PULLS	10000
#define FUZZ_ROUNDS	200

static struct kd_server srv;
static struct kd_acks acks = KD_ACKS_INIT;

static unsigned int crashes;

/*
 * kmqd died: show why (its log holds the sanitizer report or the last
 * words), count it, and start it again on the same store so the other
 * cases still run.
 */
static void restart_if_dead(const char *what)
{
	if (kd_server_alive(&srv))
		return;
	crashes++;
	diag("kmqd DIED during \"%s\" (status %d); its log:", what,
	     srv.status);
	kd_log_tail(&srv, 40);
	if (kd_server_start(&srv))
		kd_give_up("kmqd does not restart");
}

/* After every case: another connection still sends and pulls. */
static void alive(const char *what)
{
	double t0 = kd_mono_ms();
	bool good = kd_health(srv.port, &acks);

	ok(good && kd_server_alive(&srv),
	   "after %s: broker sends and pulls on another connection (%.0f ms)",
	   what, kd_mono_ms() - t0);
	restart_if_dead(what);
}

static int conn(unsigned int port)
{
	int fd = kd_connect(port);

	if (fd < 0) {
		restart_if_dead("connect");
		fd = kd_connect(port);
	}
	if (fd < 0)
		kd_give_up("cannot connect to kmqd");
	return fd;
}

/* A frame around @hdr (@ser) and @body, the prefix written by hand. */
static void raw_frame(struct kmq_buf *b, unsigned int ser, const void *hdr,
		      uint32_t hlen, const void *body, uint32_t blen)
{
	uint8_t pre[8];

	kmq_put_be32(pre, 4 + hlen + blen);
	kmq_put_be32(pre + 4, (ser << 24) | hlen);
	if (kmq_buf_put(b, pre, 8) || kmq_buf_put(b, hdr, hlen) ||
	    kmq_buf_put(b, body, blen))
		kmq_tap_bail("out of memory");
}

static int write_buf(int fd, const struct kmq_buf *b)
{
	return kd_write_all(fd, b->data, b->len, KD_TIMEOUT_MS);
}

/* The broker closes @fd without answering. */
static void expect_closed(int fd, const char *what)
{
	size_t got;
	int closed = kd_wait_closed(fd, 3000, &got);

	ok(closed && !got, "%s: connection closed without a response (%s, %zu bytes)",
	   what, closed ? "closed" : "still open", got);
}

/*
 * The broker either closes @fd or answers an error (not SUCCESS); the
 * connection stays usable in the second case only if it says so.
 */
static void expect_closed_or_error(int fd, const char *what)
{
	struct kd_frame f;
	int ret = kd_recv_frame(fd, &f, 3000);

	if (ret == -EPIPE || ret == -ECONNRESET) {
		ok(1, "%s: connection closed", what);
		return;
	}
	ok(!ret && (f.cmd.flag & KMQ_RMT_FLAG_RESPONSE) && f.cmd.code != 0,
	   "%s: closed or an error response (ret %d, code %d, remark \"%s\")",
	   what, ret, ret ? -1 : f.cmd.code, kd_remark(&f));
	if (!ret)
		kd_frame_free(&f);
}

/*
 * Raw JSON header text (' for ") as a request on a new connection: the
 * broker closes it or answers an error.
 */
static void json_case(const char *what, const char *text, const char *body)
{
	struct kmq_buf b = { 0 };
	char *hdr = strdup(text), *q;
	int fd = conn(srv.port);

	for (q = hdr; *q; q++)
		if (*q == '\'')
			*q = '"';
	raw_frame(&b, 0, hdr, strlen(hdr), body, body ? strlen(body) : 0);
	free(hdr);
	if (write_buf(fd, &b))
		diag("%s: write failed", what);
	expect_closed_or_error(fd, what);
	kmq_buf_free(&b);
	close(fd);
	alive(what);
}

/* --- frames -------------------------------------------------------------- */

static void test_frames(void)
{
	static const uint32_t bad_len[] = { 0, 1, 2, 3 };
	static const uint32_t huge_len[] = {
		(16u << 20) - 3, 0x7fffffffu, 0x80000000u, 0xffffffffu,
	};
	struct kmq_buf b = { 0 };
	uint8_t pre[16];
	char hdr[256];
	unsigned int i;
	double t0;
	int fd;

	kd_json(hdr, sizeof(hdr), "{'code':30,'opaque':1,'flag':0,",
		"'extFields':{'topic':'" KD_HEALTH_TOPIC "','queueId':'0'}}",
		NULL);
	for (i = 0; i < ARRAY_SIZE(bad_len); i++) {
		char what[64];

		fd = conn(srv.port);
		memset(pre, 0xab, sizeof(pre));
		kmq_put_be32(pre, bad_len[i]);
		kd_write_all(fd, pre, sizeof(pre), KD_TIMEOUT_MS);
		snprintf(what, sizeof(what), "length field %u (< 4)", bad_len[i]);
		expect_closed(fd, what);
		close(fd);
		alive(what);
	}
	for (i = 0; i < ARRAY_SIZE(huge_len); i++) {
		char what[64];
		size_t got;
		int closed;

		fd = conn(srv.port);
		kmq_put_be32(pre, huge_len[i]);
		kmq_put_be32(pre + 4, 16);
		t0 = kd_mono_ms();
		kd_write_all(fd, pre, 8, KD_TIMEOUT_MS);
		closed = kd_wait_closed(fd, 3000, &got);
		snprintf(what, sizeof(what), "length field 0x%x (> 16 MiB)",
			 huge_len[i]);
		ok(closed && !got && kd_mono_ms() - t0 < kd_slow_ms(1000),
		   "%s: closed at once, not waiting for the bytes (%.0f ms)",
		   what, kd_mono_ms() - t0);
		close(fd);
		alive(what);
	}

	/* Header length past the frame. */
	fd = conn(srv.port);
	kmq_put_be32(pre, 4 + 10);
	kmq_put_be32(pre + 4, 100);
	memset(pre + 8, '{', 8);
	kd_write_all(fd, pre, 8, KD_TIMEOUT_MS);
	kd_write_all(fd, "{\"code\":30", 10, KD_TIMEOUT_MS);
	expect_closed(fd, "header length 100 in a 10-byte frame");
	close(fd);
	alive("header length > frame");

	/* Header length with the serialize byte set and the top bits. */
	fd = conn(srv.port);
	kmq_put_be32(pre, 4 + 10);
	kmq_put_be32(pre + 4, 0x00ffffffu);
	kd_write_all(fd, pre, 8, KD_TIMEOUT_MS);
	kd_write_all(fd, "0123456789", 10, KD_TIMEOUT_MS);
	expect_closed(fd, "header length 0xffffff in a 10-byte frame");
	close(fd);
	alive("header length 0xffffff");

	/* Unknown serialize types. */
	for (i = 2; i < 256; i += i < 8 ? 5 : 124) {
		char what[64];

		fd = conn(srv.port);
		b.len = 0;
		raw_frame(&b, i, hdr, strlen(hdr), NULL, 0);
		write_buf(fd, &b);
		snprintf(what, sizeof(what), "serialize type %u", i);
		expect_closed(fd, what);
		close(fd);
		alive(what);
	}

	/* JSON header given as ROCKETMQ binary: lengths that lie. */
	fd = conn(srv.port);
	b.len = 0;
	raw_frame(&b, 1, hdr, strlen(hdr), NULL, 0);
	write_buf(fd, &b);
	expect_closed_or_error(fd, "JSON text in a binary header");
	close(fd);
	alive("JSON text in a binary header");

	/* Empty header. */
	fd = conn(srv.port);
	b.len = 0;
	raw_frame(&b, 0, "", 0, "body", 4);
	write_buf(fd, &b);
	expect_closed_or_error(fd, "empty JSON header");
	close(fd);
	alive("empty JSON header");
	kmq_buf_free(&b);
}

/* Binary headers built by hand, each with one length lying. */
static void put16(struct kmq_buf *b, unsigned int v)
{
	uint8_t x[2];

	kmq_put_be16(x, v);
	kmq_buf_put(b, x, 2);
}

static void put32(struct kmq_buf *b, uint32_t v)
{
	uint8_t x[4];

	kmq_put_be32(x, v);
	kmq_buf_put(b, x, 4);
}

static void test_binary_headers(void)
{
	static const struct {
		const char *what;
		uint32_t remark_len;
		uint32_t ext_len;
		unsigned int key_len;
		uint32_t val_len;
	} cases[] = {
		{ "remark length past the header", 1000, 0, 0, 0 },
		{ "remark length negative", 0x80000000u, 0, 0, 0 },
		{ "extFields length past the header", 0, 5000, 5, 5 },
		{ "extFields key length past the header", 0, 17, 300, 5 },
		{ "extFields value length past the header", 0, 17, 5, 70000 },
		{ "extFields value length negative", 0, 17, 5, 0xfffffff0u },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kmq_buf h = { 0 }, b = { 0 };
		int fd = conn(srv.port);

		put16(&h, 30);		/* code */
		kmq_buf_put(&h, "\0", 1);	/* language */
		put16(&h, 401);		/* version */
		put32(&h, 77);		/* opaque */
		put32(&h, 0);		/* flag */
		put32(&h, cases[i].remark_len);
		if (cases[i].remark_len && cases[i].remark_len < 0x80000000u)
			kmq_buf_put(&h, "rem", 3);
		put32(&h, cases[i].ext_len);
		if (cases[i].ext_len) {
			put16(&h, cases[i].key_len);
			kmq_buf_put(&h, "topic", 5);
			put32(&h, cases[i].val_len);
			kmq_buf_put(&h, "KdHea", 5);
		}
		raw_frame(&b, 1, h.data, h.len, NULL, 0);
		write_buf(fd, &b);
		expect_closed(fd, cases[i].what);
		close(fd);
		alive(cases[i].what);
		kmq_buf_free(&h);
		kmq_buf_free(&b);
	}
}

static void test_json_headers(void)
{
	static const struct {
		const char *what;
		const char *hdr;
	} cases[] = {
		{ "JSON header not an object", "[1,2,3]" },
		{ "JSON header a string", "'code'" },
		{ "JSON header syntax error", "{'code':30,'opaque':" },
		{ "JSON header with a NUL", "{'code':30,'opa\0que':1}" },
		{ "JSON code as a string \"abc\"",
		  "{'code':'abc','opaque':1,'flag':0}" },
		{ "JSON code too large",
		  "{'code':100000000000000000000,'opaque':1,'flag':0}" },
		{ "JSON code missing", "{'opaque':1,'flag':0}" },
		{ "JSON opaque an object", "{'code':30,'opaque':{},'flag':0}" },
		{ "JSON extFields an array",
		  "{'code':30,'opaque':1,'flag':0,'extFields':[1]}" },
		{ "JSON extFields value an object",
		  "{'code':30,'opaque':1,'extFields':{'topic':{'a':1}}}" },
		{ "JSON extFields value null",
		  "{'code':30,'opaque':1,'extFields':{'topic':null}}" },
		{ "JSON invalid UTF-8",
		  "{'code':30,'opaque':1,'flag':0,'remark':'\xff\xfe'}" },
	};
	char *deep;
	unsigned int i;
	size_t n, start;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		json_case(cases[i].what, cases[i].hdr, NULL);

	/* 100000 nested arrays in extFields. */
	n = 100000;
	deep = malloc(2 * n + 128);
	strcpy(deep, "{'code':30,'opaque':1,'flag':0,'extFields':{'x':");
	start = strlen(deep);
	memset(deep + start, '[', n);
	memset(deep + start + n, ']', n);
	strcpy(deep + start + 2 * n, "}}");
	json_case("JSON header nested 100000 deep", deep, NULL);
	free(deep);
}

/* A header with 20000 extFields: answered or refused, not a hang. */
static void test_many_fields(void)
{
	struct kmq_rmt_cmd c;
	struct kd_frame f;
	double t0;
	unsigned int i;
	int fd = conn(srv.port), ret;

	/* 20000 distinct extFields plus the two that matter. */
	kd_req(&c, 30, KMQ_RMT_JSON);
	kd_ext(&c, "topic", KD_HEALTH_TOPIC);
	kd_ext(&c, "queueId", "0");
	for (i = 0; i < 20000; i++) {
		char k[32];

		snprintf(k, sizeof(k), "field%u", i);
		kd_ext(&c, k, "v");
	}
	t0 = kd_mono_ms();
	ret = kd_call(fd, &c, NULL, 0, &f, 10000);
	ok(!ret || ret == -EPIPE || ret == -ECONNRESET,
	   "20000 extFields: answered or closed in %.0f ms (%d)",
	   kd_mono_ms() - t0, ret);
	if (!ret)
		kd_frame_free(&f);
	kmq_rmt_cmd_free(&c);
	close(fd);
	alive("20000 extFields");
}

static void test_truncated(void)
{
	uint8_t pre[18];
	int fd;

	/* Prefix says 1000 bytes, 10 come, then the peer closes. */
	fd = conn(srv.port);
	kmq_put_be32(pre, 1000);
	kmq_put_be32(pre + 4, 50);
	memcpy(pre + 8, "{\"code\":30", 10);
	kd_write_all(fd, pre, sizeof(pre), KD_TIMEOUT_MS);
	close(fd);
	alive("truncated frame, then the peer closes");

	/* Half a prefix, then a half close. */
	fd = conn(srv.port);
	kd_write_all(fd, pre, 3, KD_TIMEOUT_MS);
	shutdown(fd, SHUT_WR);
	expect_closed(fd, "3 bytes then a half close");
	close(fd);
	alive("3 bytes then a half close");

	/* A reset in the middle of a frame. */
	fd = conn(srv.port);
	kd_write_all(fd, pre, sizeof(pre), KD_TIMEOUT_MS);
	{
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	alive("reset in the middle of a frame");
}

/* A valid send, written one byte at a time. */
static void test_slow_frame(void)
{
	struct kd_msg m = { .topic = KD_HEALTH_TOPIC, .queue_id = 0,
			    .body = "slow", .body_len = 4,
			    .max_reconsume_times = -1 };
	struct kmq_rmt_cmd c;
	struct kmq_buf b = { 0 };
	struct kd_frame f;
	size_t i;
	int fd = conn(srv.port), ret = 0;

	kd_send_req(&c, KD_SEND_MESSAGE_V2, &m, KMQ_RMT_JSON);
	kd_encode(&b, &c, m.body, m.body_len);
	for (i = 0; i < b.len && !ret; i++) {
		ret = kd_write_all(fd, b.data + i, 1, KD_TIMEOUT_MS);
		if (!(i % 16))
			kd_sleep_ms(1);
	}
	ret = ret ? ret : kd_recv_response(fd, c.opaque, &f, KD_TIMEOUT_MS);
	is_int(ret ? ret : f.cmd.code, 0, "a send written one byte at a time: SUCCESS");
	if (!ret && !f.cmd.code)
		kd_acks_add(&acks, m.topic, 0, kd_ext_i64(&f, "queueOffset", -1),
			    m.body, m.body_len);
	if (!ret)
		kd_frame_free(&f);
	kmq_rmt_cmd_free(&c);
	kmq_buf_free(&b);
	close(fd);
	alive("a frame one byte at a time");
}

/* A response-flagged frame is not a request: no answer, no harm. */
static void test_stray_response(void)
{
	struct kmq_rmt_cmd c;
	struct kd_frame f;
	int fd = conn(srv.port), ret;

	kd_req(&c, 0, KMQ_RMT_JSON);
	c.flag = KMQ_RMT_FLAG_RESPONSE;
	c.opaque = 123456;
	kd_send_cmd(fd, &c, NULL, 0);
	kmq_rmt_cmd_free(&c);
	ret = kd_callv(fd, &f, KD_GET_MAX_OFFSET, NULL, 0,
		       "topic", KD_HEALTH_TOPIC, "queueId", "0", NULL);
	ok(ret == 0 && f.cmd.opaque != 123456,
	   "a stray response frame is ignored; the next request is answered");
	kd_frame_free(&f);
	close(fd);
	alive("stray response frame");
}

/* --- requests with bad fields -------------------------------------------- */

static void test_unknown_code(void)
{
	unsigned int ports[2] = { srv.port, srv.ns_port };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct kd_frame f;
		int fd = conn(ports[i]), ret;

		ret = kd_callv(fd, &f, 9999, NULL, 0, NULL);
		is_int(ret, KD_REQUEST_CODE_NOT_SUPPORTED,
		       "%s: unknown code 9999 -> 3", i ? "name server" : "broker");
		ok(!!strstr(kd_remark(&f), "9999"),
		   "... remark mentions 9999 (\"%s\")", kd_remark(&f));
		kd_frame_free(&f);
		ret = kd_callv(fd, &f, -5, NULL, 0, NULL);
		is_int(ret, KD_REQUEST_CODE_NOT_SUPPORTED, "... code -5 -> 3");
		kd_frame_free(&f);
		close(fd);
	}
	alive("unknown codes");
}

static void test_send_fields(void)
{
	struct kd_frame f;
	int64_t before = -1;
	int fd = conn(srv.port), ret;

	ret = kd_callv(fd, &f, KD_SEND_MESSAGE_V2, "x", 1, "a", "kd", "e", "0",
		       "g", "1", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "310 without topic (b) -> 29");
	ok(!!strstr(kd_remark(&f), "topic"),
	   "... remark names the field (\"%s\")", kd_remark(&f));
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_SEND_MESSAGE, "x", 1, "producerGroup", "kd",
		       "queueId", "0", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "10 without topic -> 29");
	ok(!!strstr(kd_remark(&f), "topic"),
	   "... remark names the field (\"%s\")", kd_remark(&f));
	kd_frame_free(&f);

	before = kd_queue_offset(fd, KD_GET_MAX_OFFSET, KD_HEALTH_TOPIC, 0);
	ret = kd_callv(fd, &f, KD_SEND_MESSAGE_V2, "x", 1, "a", "kd",
		       "b", KD_HEALTH_TOPIC, "e", "zero", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "310 with queueId \"zero\" -> 29");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_SEND_MESSAGE_V2, "x", 1, "a", "kd",
		       "b", KD_HEALTH_TOPIC, "e", "0", "g", "12abc", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "310 with bornTimestamp \"12abc\" -> 29");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_SEND_MESSAGE_V2, "x", 1, "a", "kd",
		       "b", KD_HEALTH_TOPIC, "e", "99999999999999999999", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "310 with queueId out of int64 -> 29");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_SEND_MESSAGE_V2, "x", 1, "a", "kd",
		       "b", KD_HEALTH_TOPIC, "e", "4096", NULL);
	ok(ret > 0 && ret != KD_SUCCESS,
	   "310 to queueId 4096 of a 8-queue topic: an error (%d \"%s\")", ret,
	   kd_remark(&f));
	kd_frame_free(&f);
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, KD_HEALTH_TOPIC, 0), before,
	       "none of the refused sends was stored");
	close(fd);
	alive("sends with missing or bad fields");
}

static void test_pull_fields(void)
{
	static const char * const bad[][2] = {
		{ "queueOffset", "abc" }, { "queueOffset", "-1" },
		{ "queueId", "-1" }, { "queueId", "x1" },
		{ "maxMsgNums", "0" }, { "maxMsgNums", "" },
		{ "queueOffset", "1e3" },
	};
	struct kd_frame f;
	char tags[1024];
	unsigned int i;
	size_t pos = 0;
	int fd = conn(srv.port), ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct kmq_rmt_cmd c;

		kd_req(&c, KD_PULL_MESSAGE, KMQ_RMT_JSON);
		kd_ext(&c, "consumerGroup", "g");
		kd_ext(&c, "topic", KD_HEALTH_TOPIC);
		kd_ext(&c, "queueId", "0");
		kd_ext(&c, "queueOffset", "0");
		kd_ext(&c, "maxMsgNums", "1");
		kd_ext(&c, "sysFlag", "0");
		kd_ext(&c, bad[i][0], bad[i][1]);
		ret = kd_call(fd, &c, NULL, 0, &f, KD_TIMEOUT_MS);
		is_int(ret ? ret : f.cmd.code, KD_INVALID_PARAMETER,
		       "pull with %s \"%s\" -> 29 (\"%s\")", bad[i][0],
		       bad[i][1], kd_remark(&f));
		if (!ret)
			kd_frame_free(&f);
		kmq_rmt_cmd_free(&c);
	}
	ret = kd_callv(fd, &f, KD_PULL_MESSAGE, NULL, 0, "topic",
		       KD_HEALTH_TOPIC, "queueId", "0", "queueOffset", "0",
		       "maxMsgNums", "1", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "pull without consumerGroup -> 29");
	ok(!!strstr(kd_remark(&f), "consumerGroup"),
	   "... remark names it (\"%s\")", kd_remark(&f));
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_PULL_MESSAGE, NULL, 0, "consumerGroup", "g",
		       "topic", KD_HEALTH_TOPIC, "queueId", "0", "queueOffset",
		       "4611686018427387904", "maxMsgNums", "2147483647",
		       "sysFlag", "0", NULL);
	is_int(ret, KD_PULL_OFFSET_MOVED, "pull at offset 2^62 -> 21");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_PULL_MESSAGE, NULL, 0, "consumerGroup", "g",
		       "topic", KD_HEALTH_TOPIC, "queueId", "100", "queueOffset",
		       "0", "maxMsgNums", "1", "sysFlag", "0", NULL);
	ok(ret == KD_SYSTEM_ERROR && strstr(kd_remark(&f), "100"),
	   "pull of queue 100 of 8: 1 naming the queueId, as RocketMQ (%d \"%s\")",
	   ret, kd_remark(&f));
	kd_frame_free(&f);
	for (i = 0; i < 65; i++)
		pos += snprintf(tags + pos, sizeof(tags) - pos, "%sT%u",
				i ? " || " : "", i);
	ret = kd_callv(fd, &f, KD_PULL_MESSAGE, NULL, 0, "consumerGroup", "g",
		       "topic", KD_HEALTH_TOPIC, "queueId", "0", "queueOffset",
		       "0", "maxMsgNums", "1", "sysFlag", "4", "subscription",
		       tags, NULL);
	ok(ret > 0, "pull with 65 tags: answered (%d)", ret);
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_PULL_MESSAGE, NULL, 0, "consumerGroup", "g",
		       "topic", KD_HEALTH_TOPIC, "queueId", "0", "queueOffset",
		       "0", "maxMsgNums", "1", "sysFlag", "4",
		       "expressionType", "SQL92", "subscription", "a > 1",
		       NULL);
	ok(ret > 0 && ret != KD_SUCCESS, "pull with SQL92: refused (%d)", ret);
	kd_frame_free(&f);
	close(fd);
	alive("pulls with bad fields");
}

static void test_offset_fields(void)
{
	struct kd_frame f;
	int fd = conn(srv.port), ret;

	ret = kd_callv(fd, &f, KD_UPDATE_CONSUMER_OFFSET, NULL, 0,
		       "consumerGroup", "g", "topic", KD_HEALTH_TOPIC,
		       "queueId", "0", "commitOffset", "abc", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "15 with commitOffset \"abc\" -> 29");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_QUERY_CONSUMER_OFFSET, NULL, 0,
		       "consumerGroup", "g", "topic", KD_HEALTH_TOPIC,
		       "queueId", "x", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "14 with queueId \"x\" -> 29");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_QUERY_CONSUMER_OFFSET, NULL, 0,
		       "consumerGroup", "g", "topic", KD_HEALTH_TOPIC,
		       "queueId", "70000", NULL);
	ok(ret > 0 && ret != KD_SUCCESS, "14 with queueId 70000: an error (%d)",
	   ret);
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_SEARCH_OFFSET_BY_TIMESTAMP, NULL, 0,
		       "topic", KD_HEALTH_TOPIC, "queueId", "0", "timestamp",
		       "yesterday", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "29 with timestamp \"yesterday\" -> 29");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_UPDATE_AND_CREATE_TOPIC, NULL, 0,
		       "topic", "TooManyQueues", "readQueueNums", "100000",
		       "writeQueueNums", "100000", NULL);
	ok(ret > 0 && ret != KD_SUCCESS, "17 with 100000 queues: refused (%d)",
	   ret);
	kd_frame_free(&f);
	close(fd);
	alive("offset requests with bad fields");
}

/* --- sizes, topics, batches ---------------------------------------------- */

static void test_max_size(void)
{
	static char big[MAX_MSG + 1];
	struct kd_msg m = { .topic = "SizeT", .queue_id = 0, .body = big,
			    .max_reconsume_times = -1 };
	struct kmq_buf batch = { 0 };
	struct kd_sent s;
	int fd = conn(srv.port), ret;

	memset(big, 'b', sizeof(big));
	kd_create_topic(fd, "SizeT", 1);
	m.body_len = MAX_MSG + 1;
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
	is_int(ret, KD_MESSAGE_ILLEGAL, "310 body of maxMessageSize + 1 -> 13");
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "SizeT", 0), 0,
	       "... nothing stored");
	ret = kd_send(fd, KD_SEND_MESSAGE, &m, &s);
	is_int(ret, KD_MESSAGE_ILLEGAL, "10 body of maxMessageSize + 1 -> 13");
	kd_batch_add(&batch, 0, "small", 5, NULL);
	kd_batch_add(&batch, 0, big, MAX_MSG + 1, NULL);
	m.body = batch.data;
	m.body_len = batch.len;
	ret = kd_send(fd, KD_SEND_BATCH_MESSAGE, &m, &s);
	is_int(ret, KD_MESSAGE_ILLEGAL, "320 with an item over maxMessageSize -> 13");
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "SizeT", 0), 0,
	       "... nothing stored, not even the small item");
	m.body = big;
	m.body_len = MAX_MSG;
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
	is_int(ret, 0, "310 body of exactly maxMessageSize: SUCCESS");
	if (!ret)
		kd_acks_add(&acks, "SizeT", 0, s.queue_offset, big, MAX_MSG);
	kmq_buf_free(&batch);
	close(fd);
	alive("bodies over maxMessageSize");
}

static bool route_exists(const char *topic)
{
	json_t *route = NULL;
	int fd = conn(srv.ns_port);
	int ret = kd_route(fd, topic, &route, NULL, 0);

	json_decref(route);
	close(fd);
	return ret == 0;
}

static void test_topic_names(void)
{
	static char long_name[200];
	static const char * const bad[] = {
		"a/b", "bad topic", "a\tb", "../etc", "t\xc3\xa9", "x;y",
		long_name, "*",
	};
	struct kd_sent s;
	unsigned int i;
	int fd = conn(srv.port), ret;

	memset(long_name, 'L', 128);
	long_name[128] = '\0';
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct kd_msg m = { .topic = bad[i], .queue_id = 0,
				    .body = "x", .body_len = 1,
				    .max_reconsume_times = -1 };
		char what[64];

		snprintf(what, sizeof(what), "topic \"%.20s%s\"", bad[i],
			 strlen(bad[i]) > 20 ? "..." : "");
		ret = kd_create_topic(fd, bad[i], 4);
		ok(ret != 0 && ret != -EPIPE, "17 %s: refused (%d)", what, ret);
		ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
		ok(ret > 0, "310 to %s: an error code (%d \"%s\")", what, ret,
		   s.remark);
		if (!ret)
			kd_acks_add(&acks, bad[i], s.queue_id, s.queue_offset,
				    "x", 1);
		ret = kd_send(fd, KD_SEND_MESSAGE, &m, &s);
		ok(ret > 0, "10 to %s: an error code (%d)", what, ret);
		ret = (int)kd_queue_offset(fd, KD_GET_MAX_OFFSET, bad[i], 0);
		ok(ret == -1000 - KD_TOPIC_NOT_EXIST,
		   "30 on %s: topic does not exist (%d)", what, ret);
		ok(!route_exists(bad[i]), "105 %s: no route", what);
	}
	{
		char name[128];
		struct kd_msg m = { .topic = name, .queue_id = 0, .body = "y",
				    .body_len = 1, .max_reconsume_times = -1 };

		memset(name, 'M', 127);
		name[127] = '\0';
		ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
		is_int(ret, 0, "310 to a 127-character topic: SUCCESS");
		if (!ret)
			kd_acks_add(&acks, name, s.queue_id, s.queue_offset,
				    "y", 1);
	}
	close(fd);
	alive("illegal topic names");
}

/* Properties that are too long or not name\1value\2 pairs. */
static void test_properties(void)
{
	static const struct {
		const char *what;
		const char *props;
	} odd[] = {
		{ "properties without separators", "just text" },
		{ "properties with an empty name", "\001v\002" },
		{ "properties with a name only", "NAME\002" },
		{ "DELAY not a number", "DELAY\001abc\002" },
		{ "DELAY 0", "DELAY\0010\002" },
		{ "DELAY 999", "DELAY\001999\002" },
		{ "DELAY -3", "DELAY\001-3\002" },
		{ "TAGS empty", "TAGS\001\002" },
	};
	struct kd_msg m = { .topic = "PropT", .queue_id = 0, .body = "p",
			    .body_len = 1, .max_reconsume_times = -1 };
	struct kd_sent s;
	char *big;
	unsigned int i;
	int64_t before;
	int fd = conn(srv.port), ret;

	kd_create_topic(fd, "PropT", 1);
	big = malloc(40000);
	memcpy(big, "KEYS\001", 5);
	memset(big + 5, 'k', 40000 - 7);
	big[40000 - 2] = '\002';
	big[40000 - 1] = '\0';
	m.props = big;
	before = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "PropT", 0);
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
	is_int(ret, KD_MESSAGE_ILLEGAL, "properties of 40000 bytes (> 32767) -> 13");
	is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "PropT", 0), before,
	       "... nothing stored");
	free(big);
	for (i = 0; i < ARRAY_SIZE(odd); i++) {
		m.props = odd[i].props;
		ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
		ok(ret == 0 || ret == KD_MESSAGE_ILLEGAL,
		   "%s: SUCCESS or 13 (%d \"%s\")", odd[i].what, ret,
		   s.remark);
		if (!ret && s.queue_id == 0 && !strstr(odd[i].what, "DELAY"))
			kd_acks_add(&acks, "PropT", 0, s.queue_offset, "p", 1);
	}
	close(fd);
	alive("odd properties");
}

/* Batch bodies whose item sizes lie: 13 and nothing stored. */
static void test_batches(void)
{
	struct {
		const char *what;
		unsigned int off;	/* where to patch in the first item */
		uint32_t val;
		unsigned int width;
		int trailing;
	} cases[] = {
		{ "item size past the body", 0, 10000, 4, 0 },
		{ "item size 0", 0, 0, 4, 0 },
		{ "item size 21 (< fixed part)", 0, 21, 4, 0 },
		{ "item size one short", 0, 20 + 5 + 2 + 8, 4, 0 },
		{ "item size one long", 0, 20 + 5 + 2 + 10, 4, 0 },
		{ "bodyLen past the item", 16, 1000, 4, 0 },
		{ "bodyLen 0xffffffff", 16, 0xffffffffu, 4, 0 },
		{ "propLen past the item", 20 + 5, 500, 2, 0 },
		{ "propLen 0xffff", 20 + 5, 0xffff, 2, 0 },
		{ "5 trailing bytes", 0, 0, 0, 5 },
		{ "empty batch body", 0, 0, 0, -1 },
	};
	char props[32];
	unsigned int i;
	int fd = conn(srv.port);

	kd_create_topic(fd, "BatchT", 1);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kmq_buf b = { 0 };
		struct kd_msg m = { .topic = "BatchT", .queue_id = 0,
				    .max_reconsume_times = -1 };
		struct kd_sent s;
		int ret;

		kd_batch_add(&b, 0, "body0", 5, kd_props2(props, sizeof(props),
							  "TAGS", "abc", NULL,
							  NULL));
		kd_batch_add(&b, 0, "body1", 5, NULL);
		if (cases[i].width == 4)
			kmq_put_be32(b.data + cases[i].off, cases[i].val);
		else if (cases[i].width == 2)
			kmq_put_be16(b.data + cases[i].off, cases[i].val);
		if (cases[i].trailing > 0)
			kmq_buf_put(&b, "\0\0\0\0\0", cases[i].trailing);
		if (cases[i].trailing < 0)
			b.len = 0;
		m.body = b.data;
		m.body_len = b.len;
		ret = kd_send(fd, KD_SEND_BATCH_MESSAGE, &m, &s);
		is_int(ret, KD_MESSAGE_ILLEGAL, "320 %s -> 13 (\"%s\")",
		       cases[i].what, s.remark);
		is_int(kd_queue_offset(fd, KD_GET_MAX_OFFSET, "BatchT", 0), 0,
		       "... nothing stored");
		kmq_buf_free(&b);
	}
	close(fd);
	alive("batches with lying sizes");
}

/* --- groups, send-back, name server -------------------------------------- */

static void test_heartbeats(void)
{
	static const struct {
		const char *what;
		const char *body[2];	/* concatenated, ' for " */
		bool must_fail;
	} cases[] = {
		{ "heartbeat body not JSON", { "{'clientID':", "" }, true },
		{ "heartbeat body empty", { "", "" }, true },
		{ "heartbeat body an array", { "[1,2]", "" }, true },
		{ "heartbeat clientID a number", { "{'clientID':5}", "" }, true },
		{ "heartbeat without groupName",
		  { "{'clientID':'c','consumerDataSet':[{}]}", "" }, true },
		{ "heartbeat consumerDataSet an object",
		  { "{'clientID':'c','consumerDataSet':{'a':1}}", "" }, false },
		{ "heartbeat subscription topic a number",
		  { "{'clientID':'c','consumerDataSet':[{'groupName':'GBad',",
		    "'subscriptionDataSet':[{'topic':5},7,null]}]}" }, false },
		{ "heartbeat group name with a slash",
		  { "{'clientID':'c','consumerDataSet':[{'groupName':'../../x',",
		    "'messageModel':'CLUSTERING'}]}" }, false },
	};
	char *longbody, body[512], fmt[256];
	unsigned int i;
	int fd = conn(srv.port), ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kd_frame f;

		kd_json(body, sizeof(body), cases[i].body[0], cases[i].body[1],
			NULL);
		ret = kd_callv(fd, &f, KD_HEART_BEAT, body, strlen(body), NULL);
		if (cases[i].must_fail)
			ok(ret > 0, "%s: an error code (%d \"%s\")",
			   cases[i].what, ret, kd_remark(&f));
		else
			ok(ret >= 0, "%s: answered (%d)", cases[i].what, ret);
		kd_frame_free(&f);
	}
	/* A 300-character group name: its retry topic cannot exist. */
	longbody = malloc(1024);
	kd_json(fmt, sizeof(fmt), "{'clientID':'c','consumerDataSet':[{",
		"'groupName':'%0300d','messageModel':'CLUSTERING'}]}", NULL);
	snprintf(longbody, 1024, fmt, 7);
	{
		struct kd_frame f;

		ret = kd_callv(fd, &f, KD_HEART_BEAT, longbody,
			       strlen(longbody), NULL);
		ok(ret >= 0, "heartbeat with a 300-character group: answered (%d)",
		   ret);
		kd_frame_free(&f);
	}
	free(longbody);
	ok(!route_exists("%RETRY%../../x"), "no retry topic for \"../../x\"");
	close(fd);
	alive("bad heartbeats");
}

static void test_send_back(void)
{
	static const char * const offsets[] = {
		"-1", "1152921504606846976", "abc", "1", "3",
	};
	struct kd_frame f;
	unsigned int i;
	int fd = conn(srv.port), ret;

	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		ret = kd_callv(fd, &f, KD_CONSUMER_SEND_MSG_BACK, NULL, 0,
			       "offset", offsets[i], "group", "GSendBack",
			       "delayLevel", "0", "maxReconsumeTimes", "16",
			       NULL);
		ok(ret > 0, "36 with offset %s (not a record): an error (%d \"%s\")",
		   offsets[i], ret, kd_remark(&f));
		kd_frame_free(&f);
	}
	ret = kd_callv(fd, &f, KD_CONSUMER_SEND_MSG_BACK, NULL, 0,
		       "group", "GSendBack", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "36 without offset -> 29");
	kd_frame_free(&f);
	ok((int)kd_queue_offset(fd, KD_GET_MAX_OFFSET, "%RETRY%GSendBack", 0) <= 0 &&
	   (int)kd_queue_offset(fd, KD_GET_MAX_OFFSET, "%DLQ%GSendBack", 0) <= 0,
	   "no retry or dead-letter message came of them");
	close(fd);
	alive("send-backs of offsets that are not records");
}

static void test_namesrv_fields(void)
{
	struct kd_frame f;
	int fd = conn(srv.ns_port), ret;

	ret = kd_callv(fd, &f, KD_REGISTER_BROKER, "{not json", 9,
		       "brokerName", "bx", "brokerAddr", "127.0.0.1:9",
		       "clusterName", "cx", "brokerId", "0", NULL);
	ok(ret > 0, "103 with a body that is not JSON: an error (%d)", ret);
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_REGISTER_BROKER, NULL, 0,
		       "brokerName", "bx", "brokerAddr", "127.0.0.1:9",
		       "clusterName", "cx", "brokerId", "-1", NULL);
	ok(ret > 0, "103 with brokerId -1: an error (%d)", ret);
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_REGISTER_BROKER, NULL, 0,
		       "brokerAddr", "127.0.0.1:9", "clusterName", "cx",
		       "brokerId", "0", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "103 without brokerName -> 29");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_GET_ROUTEINFO_BY_TOPIC, NULL, 0, NULL);
	is_int(ret, KD_INVALID_PARAMETER, "105 without topic -> 29");
	kd_frame_free(&f);
	ret = kd_callv(fd, &f, KD_UNREGISTER_BROKER, NULL, 0, "brokerName",
		       "bx", NULL);
	is_int(ret, KD_INVALID_PARAMETER, "104 without brokerAddr -> 29");
	kd_frame_free(&f);
	close(fd);
	ok(route_exists(KD_HEALTH_TOPIC), "the real broker's routes are intact");
	alive("name server requests with bad fields");
}

/* Suspended pulls whose client goes away, and absurd suspend times. */
static void test_parked_pulls(void)
{
	struct kd_pull_args a = {
		.topic = "ParkT", .queue_id = 0, .offset = 0, .max_msgs = 1,
		.sys_flag = KD_PULL_SUSPEND, .suspend_ms = 1000000000000ll,
	};
	struct kmq_rmt_cmd c;
	struct kd_pulled p;
	unsigned int i;
	int fd = conn(srv.port), ret;
	double t0;

	kd_create_topic(fd, "ParkT", 1);
	for (i = 0; i < 50; i++) {
		kd_pull_req(&c, &a);
		kd_send_cmd(fd, &c, NULL, 0);
		kmq_rmt_cmd_free(&c);
	}
	close(fd);
	kd_sleep_ms(50);
	fd = conn(srv.port);
	{
		struct kd_msg m = { .topic = "ParkT", .queue_id = 0,
				    .body = "wake", .body_len = 4,
				    .max_reconsume_times = -1 };
		struct kd_sent s;

		ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
		is_int(ret, 0, "a send wakes 50 pulls parked by a closed connection");
		if (!ret)
			kd_acks_add(&acks, "ParkT", 0, s.queue_offset, "wake", 4);
	}
	a.offset = 1;
	a.suspend_ms = -5;
	t0 = kd_mono_ms();
	ret = kd_pull(fd, &a, &p, 3000);
	ok(ret == KD_PULL_NOT_FOUND && kd_mono_ms() - t0 < kd_slow_ms(1000),
	   "suspend flag with suspendTimeoutMillis -5: 19 at once (%d)", ret);
	kd_pulled_free(&p);
	close(fd);
	alive("parked pulls of a closed connection");
}

/* --- floods -------------------------------------------------------------- */

/* Is @fd closed by the peer? Try writing a little until it fails. */
static bool peer_closed(int fd, unsigned int ms)
{
	double end = kd_mono_ms() + ms;
	static const uint8_t zero[8];
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	while (kd_mono_ms() < end) {
		if (!getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
		    (ti.tcpi_state == TCP_CLOSE_WAIT ||
		     ti.tcpi_state == TCP_CLOSE))
			return true;
		if (send(fd, zero, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN)
			return true;
		kd_sleep_ms(50);
	}
	return false;
}

static void test_never_reads(void)
{
	struct kd_pull_args a = {
		.topic = "FloodT", .queue_id = 0, .offset = 0, .max_msgs = 32,
	};
	static char body[1000];
	struct kmq_buf out = { 0 };
	unsigned int i, slow = 0;
	long rss0, rss1;
	double worst = 0;
	int fd = conn(srv.port), rcv = 4096, ret;

	memset(body, 'f', sizeof(body));
	kd_create_topic(fd, "FloodT", 1);
	for (i = 0; i < 32; i++) {
		struct kd_msg m = { .topic = "FloodT", .queue_id = 0,
				    .body = body, .body_len = sizeof(body),
				    .max_reconsume_times = -1 };
		struct kd_sent s;

		if (!kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s))
			kd_acks_add(&acks, "FloodT", 0, s.queue_offset, body,
				    sizeof(body));
	}
	close(fd);
	rss0 = kd_rss_kib(srv.pid);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	{
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons(srv.port) };

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			kd_give_up("cannot connect to kmqd");
	}
	for (i = 0; i < FLOOD_PULLS; i++) {
		struct kmq_rmt_cmd c;

		kd_pull_req(&c, &a);
		kd_encode(&out, &c, NULL, 0);
		kmq_rmt_cmd_free(&c);
	}
	ret = kd_write_all(fd, out.data, out.len, 20000);
	diag("%u pulls (%zu bytes) written: %d", FLOOD_PULLS, out.len, ret);
	kmq_buf_free(&out);

	for (i = 0; i < 5; i++) {
		double t0 = kd_mono_ms(), el;

		if (!kd_health(srv.port, &acks))
			slow++;
		el = kd_mono_ms() - t0;
		if (el > worst)
			worst = el;
		if (el > kd_slow_ms(1000))
			slow++;
	}
	ok(!slow, "a client never reading %u pulls: others served within %.0f ms (worst %.0f ms)",
	   FLOOD_PULLS, kd_slow_ms(1000), worst);
	rss1 = kd_rss_kib(srv.pid);
	diag("kmqd RSS %ld KiB before, %ld KiB after the flood", rss0, rss1);
	ok(rss1 > 0 && rss1 - rss0 < 256 * 1024,
	   "kmqd's memory grew by less than 256 MiB (%ld KiB)", rss1 - rss0);
	ok(peer_closed(fd, 5000),
	   "the connection that never reads is eventually closed");
	close(fd);
	alive("10000 unread pulls");
}

static void test_idle_conns(void)
{
	static int fds[IDLE_CONNS];
	rlim_t lim = kd_raise_nofile(IDLE_CONNS + 256);
	unsigned int i, n = 0;
	double t0;

	if (lim < IDLE_CONNS + 64) {
		ok(1, "# SKIP RLIMIT_NOFILE is %lu, cannot open %u connections",
		   (unsigned long)lim, IDLE_CONNS);
		return;
	}
	for (i = 0; i < IDLE_CONNS; i++) {
		fds[i] = kd_connect(i & 1 ? srv.port : srv.ns_port);
		if (fds[i] < 0)
			break;
		n++;
	}
	is_int(n, IDLE_CONNS, "%u idle connections opened", IDLE_CONNS);
	kd_sleep_ms(200);
	t0 = kd_mono_ms();
	ok(kd_health(srv.port, &acks) && kd_mono_ms() - t0 < kd_slow_ms(1000),
	   "with %u idle connections a new one sends and pulls (%.0f ms)", n,
	   kd_mono_ms() - t0);
	ok(route_exists(KD_HEALTH_TOPIC),
	   "with %u idle connections the name server answers", n);
	for (i = 0; i < n; i++)
		close(fds[i]);
	kd_sleep_ms(100);
	alive("2000 idle connections");
}

/* --- random and mutated bytes -------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A valid frame of one of several kinds, for mutation. */
static void seed_frame(struct kmq_buf *b, unsigned int kind)
{
	struct kd_msg m = { .topic = "FuzzT", .queue_id = 0, .body = "fuzz",
			    .body_len = 4, .props = "TAGS\001a\002KEYS\001k\002",
			    .max_reconsume_times = -1 };
	struct kd_pull_args a = { .group = "GFz", .topic = "FuzzT",
				  .max_msgs = 4, .sys_flag = 5,
				  .subscription = "a || b" };
	struct kmq_buf batch = { 0 };
	struct kmq_rmt_cmd c;
	char hb[256];

	kd_json(hb, sizeof(hb), "{'clientID':'fz','consumerDataSet':[{",
		"'groupName':'GFz','messageModel':'CLUSTERING',",
		"'subscriptionDataSet':[{'topic':'FuzzT','subString':'a || b'}]",
		"}]}", NULL);
	switch (kind % 6) {
	case 0:
		kd_send_req(&c, KD_SEND_MESSAGE_V2, &m, kind & 8 ?
			    KMQ_RMT_ROCKETMQ : KMQ_RMT_JSON);
		kd_encode(b, &c, m.body, m.body_len);
		break;
	case 1:
		kd_pull_req(&c, &a);
		c.ser = kind & 8 ? KMQ_RMT_ROCKETMQ : KMQ_RMT_JSON;
		kd_encode(b, &c, NULL, 0);
		break;
	case 2:
		kd_req(&c, KD_HEART_BEAT, KMQ_RMT_JSON);
		kd_encode(b, &c, hb, strlen(hb));
		break;
	case 3:
		kd_batch_add(&batch, 1, "b0", 2, "TAGS\001a\002");
		kd_batch_add(&batch, 2, "b1", 2, NULL);
		kd_send_req(&c, KD_SEND_BATCH_MESSAGE, &m, kind & 8 ?
			    KMQ_RMT_ROCKETMQ : KMQ_RMT_JSON);
		kd_encode(b, &c, batch.data, batch.len);
		break;
	case 4:
		kd_req(&c, KD_CONSUMER_SEND_MSG_BACK, KMQ_RMT_JSON);
		kd_ext(&c, "offset", "0");
		kd_ext(&c, "group", "GFz");
		kd_ext(&c, "delayLevel", "1");
		kd_encode(b, &c, NULL, 0);
		break;
	default:
		kd_req(&c, KD_SEARCH_OFFSET_BY_TIMESTAMP, KMQ_RMT_ROCKETMQ);
		kd_ext(&c, "topic", "FuzzT");
		kd_ext(&c, "queueId", "0");
		kd_ext(&c, "timestamp", "0");
		kd_encode(b, &c, NULL, 0);
		break;
	}
	kmq_rmt_cmd_free(&c);
	kmq_buf_free(&batch);
}

static void test_garbage(void)
{
	unsigned int round, bad = 0, crashed = 0;
	uint8_t buf[4096];

	for (round = 0; round < FUZZ_ROUNDS; round++) {
		struct kmq_buf b = { 0 };
		unsigned int len = 1024 + rng() % 3073, i, mode = round % 4;
		int fd = conn(round % 8 == 7 ? srv.ns_port : srv.port);

		for (i = 0; i < len; i++)
			buf[i] = rng();
		if (mode == 1) {
			/* A consistent prefix around a random header. */
			unsigned int hlen = rng() % (len - 8);

			kmq_put_be32(buf, len - 4);
			kmq_put_be32(buf + 4, ((rng() & 1) << 24) | hlen);
			if (!(rng() % 3))
				buf[8] = '{';
			kmq_buf_put(&b, buf, len);
		} else if (mode >= 2) {
			/* Valid frames, several bytes flipped. */
			unsigned int flips = 1 + rng() % 8, k;

			while (b.len < 1024)
				seed_frame(&b, rng());
			for (k = 0; k < flips; k++) {
				size_t at = rng() % b.len;

				if (mode == 2 && at < 4)
					at += 4;
				b.data[at] ^= 1u << (rng() % 8);
			}
		} else {
			kmq_buf_put(&b, buf, len);
		}
		kd_write_all(fd, b.data, b.len, 2000);
		shutdown(fd, SHUT_WR);
		kd_wait_closed(fd, 500, NULL);
		close(fd);
		kmq_buf_free(&b);
		if (!kd_server_alive(&srv)) {
			crashed++;
			diag("kmqd died in round %u (mode %u)", round, mode);
			restart_if_dead("random and mutated bytes");
		}
		if (!kd_health(srv.port, &acks)) {
			if (bad++ < 3)
				diag("round %u: health check failed", round);
		}
	}
	ok(!crashed && !bad,
	   "%u rounds of random and mutated bytes: no crash (%u), send+pull after each (%u failed)",
	   FUZZ_ROUNDS, crashed, bad);
}

/* --- churn: clients that come and go mid-request --------------------------- */

#define CHURN_THREADS	8
#define CHURN_ROUNDS	60

struct churn {
	unsigned int idx;
	unsigned int rounds;
	uint64_t rng;
	volatile int *stop;
};

static uint64_t churn_rng(struct churn *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545f4914f6cdd1dull;
}

/* Drop @fd with a reset instead of a FIN. */
static void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * One client that joins GChurn, parks pulls, sends without reading the
 * answers, and goes away (FIN or reset) at a random point, many times.
 */
static void *churn_main(void *arg)
{
	struct churn *c = arg;
	char body[512], fmt[256], client[64];
	unsigned int r;

	kd_json(fmt, sizeof(fmt), "{'clientID':'%s','consumerDataSet':[{",
		"'groupName':'GChurn','messageModel':'CLUSTERING',",
		"'subscriptionDataSet':[{'topic':'ChurnT','subString':'*'}]}]}",
		NULL);
	for (r = 0; r < CHURN_ROUNDS && !*c->stop; r++) {
		struct kd_pull_args a = {
			.group = "GChurn", .topic = "ChurnT",
			.queue_id = churn_rng(c) % 4, .max_msgs = 8,
			.sys_flag = KD_PULL_SUSPEND, .suspend_ms = 2000,
			.offset = 1ll << 40,
		};
		struct kmq_buf out = { 0 };
		struct kmq_rmt_cmd cmd;
		unsigned int k, what = churn_rng(c) % 4;
		int fd = kd_connect(srv.port);

		if (fd < 0)
			break;
		snprintf(client, sizeof(client), "127.0.0.1@churn%u-%u", c->idx,
			 r);
		snprintf(body, sizeof(body), fmt, client);
		kd_req(&cmd, KD_HEART_BEAT, KMQ_RMT_JSON);
		kd_encode(&out, &cmd, body, strlen(body));
		kmq_rmt_cmd_free(&cmd);
		/* Park at the current end of the queue. */
		a.offset = kd_queue_offset(fd, KD_GET_MAX_OFFSET, "ChurnT",
					   a.queue_id);
		if (a.offset < 0)
			a.offset = 0;
		for (k = 0; k < 1 + what; k++) {
			kd_pull_req(&cmd, &a);
			kd_encode(&out, &cmd, NULL, 0);
			kmq_rmt_cmd_free(&cmd);
		}
		if (what >= 2) {
			struct kd_msg m = { .topic = "ChurnT",
					    .queue_id = churn_rng(c) % 4,
					    .body = "churn", .body_len = 5,
					    .max_reconsume_times = -1 };

			kd_send_req(&cmd, KD_SEND_MESSAGE_V2, &m, KMQ_RMT_JSON);
			kd_encode(&out, &cmd, m.body, m.body_len);
			kmq_rmt_cmd_free(&cmd);
		}
		kd_write_all(fd, out.data, out.len, 2000);
		kmq_buf_free(&out);
		kd_sleep_ms(churn_rng(c) % 30);
		if (churn_rng(c) & 1)
			close_rst(fd);
		else
			close(fd);
		c->rounds++;
	}
	return NULL;
}

static void churn_start(pthread_t *th, struct churn *c, volatile int *stop)
{
	unsigned int i;

	for (i = 0; i < CHURN_THREADS; i++) {
		c[i] = (struct churn){ .idx = i, .stop = stop,
				       .rng = 0x1234567ull * (i + 1) };
		pthread_create(&th[i], NULL, churn_main, &c[i]);
	}
}

static unsigned int churn_join(pthread_t *th, struct churn *c)
{
	unsigned int i, rounds = 0;

	for (i = 0; i < CHURN_THREADS; i++) {
		pthread_join(th[i], NULL);
		rounds += c[i].rounds;
	}
	return rounds;
}

static void test_churn(void)
{
	static volatile int stop;
	struct churn c[CHURN_THREADS];
	pthread_t th[CHURN_THREADS];
	unsigned int slow = 0, checks = 0, rounds;
	int fd = conn(srv.port);

	kd_create_topic(fd, "ChurnT", 4);
	close(fd);
	stop = 0;
	churn_start(th, c, &stop);
	while (checks < 20) {
		double t0 = kd_mono_ms();

		if (!kd_health(srv.port, &acks) ||
		    kd_mono_ms() - t0 > kd_slow_ms(1000))
			slow++;
		checks++;
		kd_sleep_ms(50);
	}
	rounds = churn_join(th, c);
	ok(!slow, "%u churning clients (%u rounds): send+pull keeps working (%u/%u failed)",
	   CHURN_THREADS, rounds, slow, checks);
	alive("client churn");
}

int main(int argc, char **argv)
{
	static const char * const args[] = {
		"--maxMessageSize=1024", "--mapedFileSizeCommitLog=16777216",
		"--ioThreads=2", NULL,
	};
	char abort_path[PATH_MAX + 16];
	unsigned int missing;

	signal(SIGPIPE, SIG_IGN);
	/* kmqd inherits this: room for the idle-connection case. */
	kd_raise_nofile(IDLE_CONNS * 2 + 512);
	if (kd_server_init(&srv, argv[0], "bad", args))
		kmq_tap_bail("cannot prepare a kmqd store directory");
	diag("kmqd: %s, name server %u, broker %u, store %s", srv.bin,
	     srv.ns_port, srv.port, srv.store);
	if (kd_server_start(&srv)) {
		kd_server_cleanup(&srv);
		kd_give_up("kmqd does not start");
	}
	{
		int fd = conn(srv.port);

		kd_create_topic(fd, KD_HEALTH_TOPIC, 8);
		close(fd);
	}
	alive("start");

	test_frames();
	test_binary_headers();
	test_json_headers();
	test_many_fields();
	test_truncated();
	test_slow_frame();
	test_stray_response();
	test_unknown_code();
	test_send_fields();
	test_pull_fields();
	test_offset_fields();
	test_max_size();
	test_topic_names();
	test_properties();
	test_batches();
	test_heartbeats();
	test_send_back();
	test_namesrv_fields();
	test_parked_pulls();
	test_never_reads();
	test_idle_conns();
	test_garbage();

	test_churn();

	is_int(crashes, 0, "kmqd never died during the suite");
	missing = kd_acks_verify(srv.port, &acks);
	is_int(missing, 0, "all %u messages acknowledged during the suite are pullable",
	       acks.n);

	/* SIGTERM in the middle of the churn. */
	{
		static volatile int stop;
		struct churn c[CHURN_THREADS];
		pthread_t th[CHURN_THREADS];
		double t0;

		churn_start(th, c, &stop);
		kd_sleep_ms(300);
		t0 = kd_mono_ms();
		is_int(kd_server_stop(&srv), 0, "SIGTERM among churning clients: exits 0");
		ok(kd_mono_ms() - t0 < 5000, "... within 5 s (%.0f ms)",
		   kd_mono_ms() - t0);
		stop = 1;
		churn_join(th, c);
	}
	snprintf(abort_path, sizeof(abort_path), "%s/abort", srv.store);
	ok(!kd_exists(abort_path), "graceful shutdown removes the abort file");
	if (!kd_server_start(&srv)) {
		is_int(kd_acks_verify(srv.port, &acks), 0,
		       "after a restart all %u acknowledged messages are pullable",
		       acks.n);
		is_int(kd_server_stop(&srv), 0, "SIGTERM: kmqd exits 0");
	} else {
		ok(0, "kmqd restarts on its store");
	}
	ok(!kd_log_sanitizer(&srv), "kmqd log: no ASan/UBSan report");
	diag("kmqd logged %u warnings", kd_log_count(&srv, " WARN "));
	kd_server_cleanup(&srv);
	kd_acks_free(&acks);
	return kmq_tap_done();
}
