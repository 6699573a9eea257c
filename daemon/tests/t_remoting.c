// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_remoting.c - the remoting codec (daemon/remoting): frames and headers
 * built by hand byte by byte in both serializations, an ali-ons style
 * request, each malformation with its own error, encode/decode round
 * trips, responses, extFields setters and number parsing.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_remoting.h"
#include "kmq_tap.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* --- hand-made bytes ---------------------------------------------------- */

/* A growable byte writer for headers and frames, independent of kmq_buf. */
struct wr {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static void wr_bytes(struct wr *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 64;
		w->p = realloc(w->p, w->cap);
		if (!w->p)
			kmq_tap_bail("out of memory");
	}
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void wr_u8(struct wr *w, unsigned int v)
{
	uint8_t b = v;

	wr_bytes(w, &b, 1);
}

static void wr_be16(struct wr *w, unsigned int v)
{
	wr_u8(w, (v >> 8) & 0xff);
	wr_u8(w, v & 0xff);
}

static void wr_be32(struct wr *w, uint32_t v)
{
	wr_be16(w, v >> 16);
	wr_be16(w, v & 0xffff);
}

static void wr_str(struct wr *w, const char *s)
{
	wr_bytes(w, s, strlen(s));
}

static void wr_free(struct wr *w)
{
	free(w->p);
	memset(w, 0, sizeof(*w));
}

/* A frame around @hdr and @body, the prefix written by hand. */
static void mkframe(struct wr *w, unsigned int ser, const void *hdr,
		    uint32_t hlen, const void *body, uint32_t blen)
{
	w->len = 0;
	wr_be32(w, 4 + hlen + blen);
	wr_be32(w, ser << 24 | hlen);
	wr_bytes(w, hdr, hlen);
	wr_bytes(w, body, blen);
}

static int dec_json(const char *json, struct kmq_rmt_cmd *cmd)
{
	struct wr w = { 0 };
	int ret;

	mkframe(&w, KMQ_RMT_JSON, json, strlen(json), NULL, 0);
	ret = kmq_rmt_decode(w.p, w.len, cmd);
	wr_free(&w);
	return ret;
}

/* The binary header's fixed part: code .. flag. */
static void bin_fixed(struct wr *h, int code, unsigned int lang)
{
	wr_be16(h, code);
	wr_u8(h, lang);
	wr_be16(h, 317);
	wr_be32(h, 42);
	wr_be32(h, 0);
}

static int dec_bin(const struct wr *h, struct kmq_rmt_cmd *cmd)
{
	struct wr w = { 0 };
	int ret;

	mkframe(&w, KMQ_RMT_ROCKETMQ, h->p, h->len, NULL, 0);
	ret = kmq_rmt_decode(w.p, w.len, cmd);
	wr_free(&w);
	return ret;
}

static int zeroed(const struct kmq_rmt_cmd *cmd)
{
	static const struct kmq_rmt_cmd zero;

	return !memcmp(cmd, &zero, sizeof(zero));
}

/* Decoding must fail with @err, leave nothing allocated and explain. */
static void expect_err(int ret, const struct kmq_rmt_cmd *cmd, int err,
		       const char *msg_part, const char *what)
{
	is_int(ret, -err, "%s: error %d", what, err);
	ok(zeroed(cmd), "%s: nothing left to free", what);
	if (!ok(!!strstr(kmq_rmt_errmsg(), msg_part),
		"%s: message mentions '%s'", what, msg_part))
		diag("  message: %s", kmq_rmt_errmsg());
}

/* --- hand-built frames ---------------------------------------------------- */

static void test_json_by_hand(void)
{
	static const char hdr[] =
		"{\"code\":34,\"language\":\"PYTHON\",\"version\":317,\n"
		"\"opaque\":7,\"flag\":2,\"remark\":\"a \\\"quoted\\\" \\u00e9\",\n"
		"\"extFields\":{\"consumerGroup\":\"g1\",\"queueId\":\"3\"},\n"
		"\"serializeTypeCurrentRPC\":\"JSON\"}";
	struct kmq_rmt_cmd cmd;
	uint8_t f[512];
	size_t hl = strlen(hdr), n = 0;
	int64_t fl;

	/* The prefix byte by byte: length 4 + hl + 4, type 0, hl. */
	f[n++] = 0;
	f[n++] = 0;
	f[n++] = (4 + hl + 4) >> 8;
	f[n++] = (4 + hl + 4) & 0xff;
	f[n++] = 0x00;
	f[n++] = 0;
	f[n++] = hl >> 8;
	f[n++] = hl & 0xff;
	memcpy(f + n, hdr, hl);
	n += hl;
	memcpy(f + n, "BODY", 4);
	n += 4;

	fl = kmq_rmt_frame_len(f, n, KMQ_RMT_MAX_FRAME);
	is_int(fl, n, "json by hand: frame_len is the whole frame");
	is_int(kmq_rmt_decode(f, n, &cmd), 0, "json by hand: decodes");
	is_int(cmd.code, 34, "json by hand: code");
	ok(!strcmp(cmd.language, "PYTHON"), "json by hand: language");
	is_int(cmd.version, 317, "json by hand: version");
	is_int(cmd.opaque, 7, "json by hand: opaque");
	is_int(cmd.flag, KMQ_RMT_FLAG_ONEWAY, "json by hand: flag");
	ok(cmd.remark && !strcmp(cmd.remark, "a \"quoted\" \xc3\xa9"),
	   "json by hand: remark unescaped");
	is_int(cmd.ser, KMQ_RMT_JSON, "json by hand: serialization");
	is_int(cmd.nfields, 2, "json by hand: two extFields");
	ok(kmq_rmt_ext(&cmd, "consumerGroup") &&
	   !strcmp(kmq_rmt_ext(&cmd, "consumerGroup"), "g1"),
	   "json by hand: consumerGroup");
	ok(kmq_rmt_ext(&cmd, "queueId") &&
	   !strcmp(kmq_rmt_ext(&cmd, "queueId"), "3"), "json by hand: queueId");
	ok(!kmq_rmt_ext(&cmd, "topic"), "json by hand: absent field is NULL");
	ok(cmd.body == f + 8 + hl, "json by hand: body points into frame");
	is_int(cmd.body_len, 4, "json by hand: body length");
	kmq_rmt_cmd_free(&cmd);
	ok(zeroed(&cmd), "cmd_free leaves the command zeroed");
	kmq_rmt_cmd_free(&cmd);
	ok(1, "cmd_free twice is harmless");
}

static const uint8_t bin_frame[] = {
	0x00, 0x00, 0x00, 0x3a,		/* length 58 = 4 + 50 + 4 */
	0x01, 0x00, 0x00, 0x32,		/* ROCKETMQ, header 50 */
	0xff, 0xfe,			/* code -2 */
	0x09,				/* language GO */
	0x01, 0x3d,			/* version 317 */
	0x80, 0x00, 0x00, 0x2a,		/* opaque INT32_MIN + 42 */
	0x00, 0x00, 0x00, 0x03,		/* flag RESPONSE | ONEWAY */
	0x00, 0x00, 0x00, 0x02, 'o', 'k',	/* remark */
	0x00, 0x00, 0x00, 0x1b,		/* extFields 27 bytes */
	0x00, 0x05, 't', 'o', 'p', 'i', 'c',
	0x00, 0x00, 0x00, 0x02, 'T', '1',
	0x00, 0x07, 'q', 'u', 'e', 'u', 'e', 'I', 'd',
	0x00, 0x00, 0x00, 0x01, '3',
	'b', 'o', 'd', 'y',
};

static void test_binary_by_hand(void)
{
	struct kmq_rmt_cmd cmd;
	struct wr h = { 0 };
	int32_t q;

	is_int(kmq_rmt_frame_len(bin_frame, sizeof(bin_frame),
				 KMQ_RMT_MAX_FRAME), sizeof(bin_frame),
	       "binary by hand: frame_len");
	is_int(kmq_rmt_decode(bin_frame, sizeof(bin_frame), &cmd), 0,
	       "binary by hand: decodes");
	is_int(cmd.code, -2, "binary by hand: code is a signed int16");
	ok(!strcmp(cmd.language, "GO"), "binary by hand: language 9 is GO");
	is_int(cmd.version, 317, "binary by hand: version");
	is_int(cmd.opaque, INT32_MIN + 42, "binary by hand: opaque");
	is_int(cmd.flag, 3, "binary by hand: flag");
	ok(cmd.remark && !strcmp(cmd.remark, "ok"), "binary by hand: remark");
	is_int(cmd.ser, KMQ_RMT_ROCKETMQ, "binary by hand: serialization");
	is_int(cmd.nfields, 2, "binary by hand: two extFields");
	ok(kmq_rmt_ext(&cmd, "topic") && !strcmp(kmq_rmt_ext(&cmd, "topic"),
						 "T1"), "binary by hand: topic");
	is_int(kmq_rmt_ext_i32(&cmd, "queueId", &q), 0,
	       "binary by hand: queueId parses");
	is_int(q, 3, "binary by hand: queueId 3");
	is_int(cmd.body_len, 4, "binary by hand: body length");
	ok(cmd.body && !memcmp(cmd.body, "body", 4),
	   "binary by hand: body bytes");
	kmq_rmt_cmd_free(&cmd);

	/* Unknown language bytes map to OTHER, known ones to their names. */
	bin_fixed(&h, 10, 200);
	wr_be32(&h, 0);
	wr_be32(&h, 0);
	is_int(dec_bin(&h, &cmd), 0, "binary: language 200 decodes");
	ok(!strcmp(cmd.language, "OTHER"), "binary: language 200 is OTHER");
	ok(!cmd.remark, "binary: remark length 0 is no remark");
	is_int(cmd.nfields, 0, "binary: no extFields");
	ok(!cmd.body && !cmd.body_len, "binary: no body is NULL");
	kmq_rmt_cmd_free(&cmd);
	h.len = 0;
	bin_fixed(&h, 10, 12);
	wr_be32(&h, 0);
	wr_be32(&h, 0);
	is_int(dec_bin(&h, &cmd), 0, "binary: language 12 decodes");
	ok(!strcmp(cmd.language, "RUST"), "binary: language 12 is RUST");
	kmq_rmt_cmd_free(&cmd);

	/* A key sent twice: the last value wins, as in a Java HashMap. */
	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 3 * (2 + 1 + 4 + 1));
	wr_be16(&h, 1);
	wr_str(&h, "k");
	wr_be32(&h, 1);
	wr_str(&h, "1");
	wr_be16(&h, 1);
	wr_str(&h, "j");
	wr_be32(&h, 1);
	wr_str(&h, "x");
	wr_be16(&h, 1);
	wr_str(&h, "k");
	wr_be32(&h, 1);
	wr_str(&h, "2");
	is_int(dec_bin(&h, &cmd), 0, "binary: duplicate key decodes");
	is_int(cmd.nfields, 2, "binary: duplicate key kept once");
	ok(kmq_rmt_ext(&cmd, "k") && !strcmp(kmq_rmt_ext(&cmd, "k"), "2"),
	   "binary: duplicate key has the last value");
	ok(kmq_rmt_ext(&cmd, "j") && !strcmp(kmq_rmt_ext(&cmd, "j"), "x"),
	   "binary: the other key is intact");
	kmq_rmt_cmd_free(&cmd);

	/* Empty keys and values are legal. */
	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 6);
	wr_be16(&h, 0);
	wr_be32(&h, 0);
	is_int(dec_bin(&h, &cmd), 0, "binary: empty key and value decode");
	ok(cmd.nfields == 1 && !strcmp(cmd.fields[0].key, "") &&
	   !strcmp(cmd.fields[0].val, ""), "binary: empty key and value");
	kmq_rmt_cmd_free(&cmd);
	wr_free(&h);
}

/* --- an ali-ons SEND_MESSAGE_V2 ------------------------------------------- */

static void test_alions_send(void)
{
	static const char hdr[] =
		"{\"code\":310,\"language\":\"JAVA\",\"version\":0,\n"
		"\"opaque\":5,\"flag\":0,\"remark\":null,\"extFields\":{\n"
		"\"a\":\"PID_GROUP\",\"b\":\"TopicTest\",\"c\":\"TBW102\",\n"
		"\"d\":4,\"e\":3,\"f\":0,\"g\":1700000000123,\"h\":0,\n"
		"\"i\":\"TAGS\\u0001TagA\\u0002KEYS\\u0001k1\\u0002\",\n"
		"\"j\":0,\"k\":false,\"l\":16,\"m\":true,\"n\":\"broker-a\",\n"
		"\"x\":1.5,\"y\":-0.25,\"z\":null,\"AccessKey\":\"ak\"},\n"
		"\"serializeTypeCurrentRPC\":\"JSON\"}";
	struct kmq_rmt_cmd cmd;
	int64_t g;
	int32_t d, e;
	int k, m;

	is_int(dec_json(hdr, &cmd), 0, "ali-ons 310: decodes");
	is_int(cmd.code, 310, "ali-ons 310: code");
	ok(!cmd.remark, "ali-ons 310: null remark is none");
	is_int(cmd.nfields, 17, "ali-ons 310: null extField skipped");
	ok(!kmq_rmt_ext(&cmd, "z"), "ali-ons 310: z absent");
	ok(!strcmp(kmq_rmt_ext(&cmd, "a"), "PID_GROUP"), "ali-ons 310: a");
	ok(!strcmp(kmq_rmt_ext(&cmd, "b"), "TopicTest"), "ali-ons 310: b");
	ok(!strcmp(kmq_rmt_ext(&cmd, "d"), "4"), "ali-ons 310: d as text");
	ok(!strcmp(kmq_rmt_ext(&cmd, "g"), "1700000000123"),
	   "ali-ons 310: g as text");
	ok(!strcmp(kmq_rmt_ext(&cmd, "k"), "false"), "ali-ons 310: k false");
	ok(!strcmp(kmq_rmt_ext(&cmd, "m"), "true"), "ali-ons 310: m true");
	ok(!strcmp(kmq_rmt_ext(&cmd, "x"), "1.5"), "ali-ons 310: real 1.5");
	ok(!strcmp(kmq_rmt_ext(&cmd, "y"), "-0.25"), "ali-ons 310: real -0.25");
	ok(!strcmp(kmq_rmt_ext(&cmd, "i"),
		   "TAGS\001TagA\002KEYS\001k1\002"),
	   "ali-ons 310: properties with \\u0001 and \\u0002");
	is_int(kmq_rmt_ext_i32(&cmd, "d", &d), 0, "ali-ons 310: d int");
	is_int(d, 4, "ali-ons 310: d = 4");
	is_int(kmq_rmt_ext_i32(&cmd, "e", &e), 0, "ali-ons 310: e int");
	is_int(e, 3, "ali-ons 310: e = 3");
	is_int(kmq_rmt_ext_i64(&cmd, "g", &g), 0, "ali-ons 310: g int64");
	ok(g == 1700000000123LL, "ali-ons 310: g value");
	is_int(kmq_rmt_ext_bool(&cmd, "k", &k), 0, "ali-ons 310: k bool");
	is_int(k, 0, "ali-ons 310: k = false");
	is_int(kmq_rmt_ext_bool(&cmd, "m", &m), 0, "ali-ons 310: m bool");
	is_int(m, 1, "ali-ons 310: m = true");
	ok(!strcmp(kmq_rmt_ext(&cmd, "n"), "broker-a"), "ali-ons 310: n");
	kmq_rmt_cmd_free(&cmd);

	/* Java's defaults for what is absent; extra members ignored. */
	is_int(dec_json("{\"code\":105,\"extra\":[1,{}]}", &cmd), 0,
	       "minimal JSON header decodes");
	ok(cmd.code == 105 && cmd.opaque == 0 && cmd.flag == 0 &&
	   cmd.version == 0 && !cmd.remark && !cmd.nfields &&
	   !strcmp(cmd.language, "JAVA"), "minimal JSON header: defaults");
	kmq_rmt_cmd_free(&cmd);
	is_int(dec_json("{\"code\":1,\"language\":\"A_VERY_LONG_LANGUAGE\"}",
			&cmd), 0, "long language decodes");
	ok(!strcmp(cmd.language, "OTHER"), "long language is OTHER");
	kmq_rmt_cmd_free(&cmd);

	/* A key twice in JSON: jansson keeps the last. */
	is_int(dec_json("{\"code\":1,\"extFields\":{\"k\":\"1\",\"k\":\"2\"}}",
			&cmd), 0, "JSON duplicate extField decodes");
	ok(cmd.nfields == 1 && !strcmp(kmq_rmt_ext(&cmd, "k"), "2"),
	   "JSON duplicate extField: last wins");
	kmq_rmt_cmd_free(&cmd);
}

/* --- malformed frames ----------------------------------------------------- */

static void test_frame_errors(void)
{
	uint8_t f[64] = { 0 };
	struct kmq_rmt_cmd cmd;
	struct wr w = { 0 };

	/* frame_len */
	is_int(kmq_rmt_frame_len(f, 0, 100), 0, "frame_len: empty needs more");
	f[3] = 12;
	is_int(kmq_rmt_frame_len(f, 3, 100), 0, "frame_len: 3 bytes need more");
	is_int(kmq_rmt_frame_len(f, 15, 100), 0,
	       "frame_len: partial frame needs more");
	is_int(kmq_rmt_frame_len(f, 16, 100), 16, "frame_len: whole frame");
	is_int(kmq_rmt_frame_len(f, 40, 100), 16,
	       "frame_len: frame followed by more bytes");
	is_int(kmq_rmt_frame_len(f, 16, 16), 16, "frame_len: exactly max");
	is_int(kmq_rmt_frame_len(f, 4, 15), -KMQ_RMT_EFRAME,
	       "frame_len: over max, known from 4 bytes");
	ok(!!strstr(kmq_rmt_errmsg(), "maximum"),
	   "frame_len: message says maximum");
	f[3] = 3;
	is_int(kmq_rmt_frame_len(f, 4, 100), -KMQ_RMT_EFRAME,
	       "frame_len: length field 3 < 4");
	f[3] = 4;
	is_int(kmq_rmt_frame_len(f, 8, 100), 8,
	       "frame_len: length 4, empty header");
	f[0] = 0xff;
	f[1] = 0xff;
	f[2] = 0xff;
	f[3] = 0xff;
	is_int(kmq_rmt_frame_len(f, 4, UINT32_MAX), -KMQ_RMT_EFRAME,
	       "frame_len: 0xffffffff + 4 overflows nothing, rejected");
	memset(f, 0, sizeof(f));

	/* decode: the prefix */
	expect_err(kmq_rmt_decode(f, 3, &cmd), &cmd, KMQ_RMT_ESHORT,
		   "length field", "3 bytes");
	f[3] = 20;
	expect_err(kmq_rmt_decode(f, 10, &cmd), &cmd, KMQ_RMT_ESHORT,
		   "only 10 given", "truncated frame");
	f[3] = 2;
	expect_err(kmq_rmt_decode(f, 6, &cmd), &cmd, KMQ_RMT_EFRAME,
		   "< 4", "length field < 4");
	f[3] = 8;
	expect_err(kmq_rmt_decode(f, 20, &cmd), &cmd, KMQ_RMT_EFRAME,
		   "12 bytes, 20 given", "bytes after the frame");
	f[0] = 0x80;
	expect_err(kmq_rmt_decode(f, 12, &cmd), &cmd, KMQ_RMT_EFRAME,
		   "negative", "length field >= 2^31");
	f[0] = 0;
	f[4] = 2;
	expect_err(kmq_rmt_decode(f, 12, &cmd), &cmd, KMQ_RMT_ESERIALIZE,
		   "serialize type 2", "serialize type 2");
	f[4] = 0xff;
	expect_err(kmq_rmt_decode(f, 12, &cmd), &cmd, KMQ_RMT_ESERIALIZE,
		   "serialize type 255", "serialize type 255");
	f[4] = 0;
	f[7] = 5;
	expect_err(kmq_rmt_decode(f, 12, &cmd), &cmd, KMQ_RMT_EHDRLEN,
		   "header length 5", "header length past the frame");
	f[4] = 1;
	f[5] = 0xff;
	f[7] = 4;
	expect_err(kmq_rmt_decode(f, 12, &cmd), &cmd, KMQ_RMT_EHDRLEN,
		   "header length", "huge binary header length");

	/* the JSON header */
	expect_err(dec_json("", &cmd), &cmd, KMQ_RMT_EJSON, "JSON header",
		   "empty JSON header");
	expect_err(dec_json("[1,2]", &cmd), &cmd, KMQ_RMT_EJSON,
		   "not an object", "JSON array");
	expect_err(dec_json("42", &cmd), &cmd, KMQ_RMT_EJSON, "JSON header",
		   "JSON scalar");
	expect_err(dec_json("{\"code\":1,}", &cmd), &cmd, KMQ_RMT_EJSON,
		   "at byte", "JSON syntax error");
	expect_err(dec_json("{\"code\":1} x", &cmd), &cmd, KMQ_RMT_EJSON,
		   "JSON header", "JSON trailing garbage");
	expect_err(dec_json("{\"code\":1,\"remark\":\"\xc3\x28\"}", &cmd), &cmd,
		   KMQ_RMT_EJSON, "JSON header", "JSON invalid UTF-8");
	expect_err(dec_json("{\"code\":1,\"remark\":\"\\u0000\"}", &cmd), &cmd,
		   KMQ_RMT_EJSON, "JSON header", "JSON \\u0000 escape");
	mkframe(&w, KMQ_RMT_JSON, "{\"code\":1,\"remark\":\"a\0b\"}", 25,
		NULL, 0);
	expect_err(kmq_rmt_decode(w.p, w.len, &cmd), &cmd, KMQ_RMT_EJSON,
		   "JSON header", "JSON raw NUL byte");
	expect_err(dec_json("{\"opaque\":1}", &cmd), &cmd, KMQ_RMT_EFIELD,
		   "no 'code'", "JSON without code");
	expect_err(dec_json("{\"code\":\"310\"}", &cmd), &cmd, KMQ_RMT_EFIELD,
		   "'code' is not an integer", "JSON code as string");
	expect_err(dec_json("{\"code\":3.5}", &cmd), &cmd, KMQ_RMT_EFIELD,
		   "'code' is not an integer", "JSON code as real");
	expect_err(dec_json("{\"code\":2147483648}", &cmd), &cmd,
		   KMQ_RMT_EFIELD, "int32 range", "JSON code over int32");
	expect_err(dec_json("{\"code\":1,\"opaque\":true}", &cmd), &cmd,
		   KMQ_RMT_EFIELD, "JSON header: 'opaque' is not an integer",
		   "JSON opaque as boolean");
	expect_err(dec_json("{\"code\":1,\"flag\":[]}", &cmd), &cmd,
		   KMQ_RMT_EFIELD, "'flag' is not an integer",
		   "JSON flag as array");
	expect_err(dec_json("{\"code\":1,\"version\":\"1\"}", &cmd), &cmd,
		   KMQ_RMT_EFIELD, "'version' is not an integer",
		   "JSON version as string");
	expect_err(dec_json("{\"code\":1,\"language\":9}", &cmd), &cmd,
		   KMQ_RMT_EFIELD, "'language' is not a string",
		   "JSON language as number");
	expect_err(dec_json("{\"code\":1,\"remark\":{}}", &cmd), &cmd,
		   KMQ_RMT_EFIELD, "'remark' is not a string",
		   "JSON remark as object");
	expect_err(dec_json("{\"code\":1,\"extFields\":\"a=b\"}", &cmd), &cmd,
		   KMQ_RMT_EFIELD, "'extFields' is not an object",
		   "JSON extFields as string");
	expect_err(dec_json("{\"code\":1,\"extFields\":{\"a\":\"1\",\"b\":{\"c\":1}}}",
			    &cmd), &cmd, KMQ_RMT_EFIELD,
		   "extFields 'b' is an object", "JSON nested extField");
	expect_err(dec_json("{\"code\":1,\"extFields\":{\"a\":[1]}}", &cmd),
		   &cmd, KMQ_RMT_EFIELD, "extFields 'a' is an array",
		   "JSON array extField");
	wr_free(&w);
}

static void test_binary_errors(void)
{
	struct kmq_rmt_cmd cmd;
	struct wr h = { 0 };
	uint32_t i;

	bin_fixed(&h, 10, 0);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "fixed part", "binary: no remark length");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 5);
	wr_str(&h, "abcd");
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "remark length 5 past", "binary: remark past the end");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0xffffffff);
	wr_be32(&h, 0);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "remark length -1 is negative", "binary: negative remark");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 2);
	wr_str(&h, "ok");
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "extFields length truncated", "binary: no extFields length");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 0x80000000);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "extFields length -2147483648 is negative",
		   "binary: negative extFields length");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 10);
	wr_be16(&h, 1);
	wr_str(&h, "k");
	wr_be32(&h, 1);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "extFields length 10 past", "binary: extFields past the end");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 0);
	wr_str(&h, "xy");
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "2 bytes after the extFields", "binary: trailing bytes");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 1);
	wr_u8(&h, 0);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "key length truncated", "binary: half a key length");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 8);
	wr_be16(&h, 0x8000);
	wr_be32(&h, 0);
	wr_str(&h, "ab");
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "key length -32768 is negative", "binary: negative key length");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 2 + 3 + 4 + 1 + 2 + 1);
	wr_be16(&h, 3);
	wr_str(&h, "abc");
	wr_be32(&h, 1);
	wr_str(&h, "v");
	wr_be16(&h, 2);		/* says 2, 1 byte left in extFields */
	wr_str(&h, "k");
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "key length 2 past the 1 bytes", "binary: key length lies");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 2 + 1 + 2);
	wr_be16(&h, 1);
	wr_str(&h, "k");
	wr_be16(&h, 0);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "value length truncated", "binary: half a value length");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 2 + 1 + 4);
	wr_be16(&h, 1);
	wr_str(&h, "k");
	wr_be32(&h, 0xfffffff0);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "value length -16 is negative",
		   "binary: negative value length");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 2 + 1 + 4 + 2);
	wr_be16(&h, 1);
	wr_str(&h, "k");
	wr_be32(&h, 3);
	wr_str(&h, "vv");
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EBINARY,
		   "value length 3 past the 2 bytes", "binary: value length lies");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 2 + 1 + 4 + 3);
	wr_be16(&h, 1);
	wr_str(&h, "k");
	wr_be32(&h, 3);
	wr_bytes(&h, "a\0b", 3);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EFIELD,
		   "value contains a NUL", "binary: NUL in a value");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 2);
	wr_bytes(&h, "\xed\xa0", 2);
	wr_be32(&h, 0);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EFIELD,
		   "remark is not valid UTF-8", "binary: bad UTF-8 remark");

	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 2 + 2 + 4);
	wr_be16(&h, 2);
	wr_bytes(&h, "\xc0\xaf", 2);
	wr_be32(&h, 0);
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EFIELD,
		   "key is not valid UTF-8", "binary: overlong UTF-8 key");

	/* More extFields than kmq holds, even all with the same key. */
	h.len = 0;
	bin_fixed(&h, 10, 0);
	wr_be32(&h, 0);
	wr_be32(&h, 6 * 65537);
	for (i = 0; i < 65537; i++) {
		wr_be16(&h, 0);
		wr_be32(&h, 0);
	}
	expect_err(dec_bin(&h, &cmd), &cmd, KMQ_RMT_EFIELD,
		   "more than 65536 extFields", "binary: too many extFields");
	h.len -= 6;
	/* the extFields length sits after code .. flag and the remark's */
	h.p[17] = 0;
	h.p[17 + 1] = (6 * 65536) >> 16 & 0xff;
	h.p[17 + 2] = (6 * 65536) >> 8 & 0xff;
	h.p[17 + 3] = (6 * 65536) & 0xff;
	is_int(dec_bin(&h, &cmd), 0, "binary: 65536 extFields decode");
	is_int(cmd.nfields, 1, "binary: 65536 equal keys leave one");
	kmq_rmt_cmd_free(&cmd);
	wr_free(&h);
}

/* --- round trips ------------------------------------------------------------ */

static int same_fields(const struct kmq_rmt_cmd *a, const struct kmq_rmt_cmd *b)
{
	uint32_t i;

	if (a->nfields != b->nfields)
		return 0;
	for (i = 0; i < a->nfields; i++) {
		const char *v = kmq_rmt_ext(b, a->fields[i].key);

		if (!v || strcmp(v, a->fields[i].val))
			return 0;
	}
	return 1;
}

static void round_trip(enum kmq_rmt_serialize ser, const char *name)
{
	static const char body[] = "message body\0with a NUL";
	struct kmq_rmt_cmd req, back;
	struct kmq_buf b = { 0 };
	uint32_t i;
	char key[16];
	size_t pre;

	is_int(kmq_rmt_request(&req, 310, -123456, ser), 0,
	       "%s: request init", name);
	ok(!strcmp(req.language, "JAVA") && req.flag == 0 && req.ser == ser,
	   "%s: request language, flag, serialization", name);
	req.version = 401;
	req.flag = KMQ_RMT_FLAG_ONEWAY;
	req.remark = strdup("quote \" backslash \\ ctl \x01\x1f tab\t nl\n \xe2\x82\xac");
	is_int(kmq_rmt_set_ext(&req, "topic", "TopicTest"), 0,
	       "%s: set topic", name);
	is_int(kmq_rmt_set_ext(&req, "topic", "T2"), 0,
	       "%s: replace topic", name);
	is_int(kmq_rmt_set_extf(&req, "queueOffset", "%lld", -5LL), 0,
	       "%s: set queueOffset", name);
	is_int(kmq_rmt_set_ext(&req, "props", "TAGS\001a\002"), 0,
	       "%s: set props", name);
	is_int(kmq_rmt_set_ext(&req, "", ""), 0, "%s: empty key", name);
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		if (kmq_rmt_set_extf(&req, key, "%u", i * 7))
			break;
	}
	is_int(i, 40, "%s: forty more fields", name);
	is_int(req.nfields, 44, "%s: replace did not add", name);
	is_int(kmq_rmt_set_ext(&req, NULL, "x"), -EINVAL,
	       "%s: NULL key refused", name);
	req.body = (const uint8_t *)body;
	req.body_len = sizeof(body);

	/* encode appends after what is in the buffer */
	kmq_buf_put(&b, "xyz", 3);
	pre = b.len;
	is_int(kmq_rmt_encode(&b, &req, req.body_len), 0, "%s: encodes", name);
	kmq_buf_put(&b, body, sizeof(body));
	ok(!memcmp(b.data, "xyz", 3), "%s: earlier bytes kept", name);
	is_int(kmq_rmt_frame_len(b.data + pre, b.len - pre, KMQ_RMT_MAX_FRAME),
	       b.len - pre, "%s: frame_len of the encoded frame", name);
	is_int(b.data[pre + 4], ser, "%s: serialize type byte", name);
	if (ser == KMQ_RMT_JSON) {
		uint32_t hl = (uint32_t)b.data[pre + 5] << 16 |
			      b.data[pre + 6] << 8 | b.data[pre + 7];
		json_error_t jerr;
		json_t *j = json_loadb((const char *)b.data + pre + 8, hl, 0,
				       &jerr);
		json_t *ext = json_object_get(j, "extFields");
		const char *k;
		json_t *v;
		int all_str = 1;

		ok(!!j, "%s: the header is valid JSON", name);
		ok(json_is_string(json_object_get(j, "language")) &&
		   !strcmp(json_string_value(json_object_get(j, "language")),
			   "JAVA"), "%s: language JAVA", name);
		ok(json_is_string(json_object_get(j, "serializeTypeCurrentRPC")),
		   "%s: serializeTypeCurrentRPC", name);
		json_object_foreach(ext, k, v)
			all_str &= json_is_string(v);
		ok(json_is_object(ext) && all_str,
		   "%s: extFields values are all strings", name);
		json_decref(j);
	}
	is_int(kmq_rmt_decode(b.data + pre, b.len - pre, &back), 0,
	       "%s: decodes back", name);
	ok(back.code == 310 && back.opaque == -123456 &&
	   back.flag == KMQ_RMT_FLAG_ONEWAY && back.version == 401 &&
	   back.ser == ser && !strcmp(back.language, "JAVA"),
	   "%s: code, opaque, flag, version, serialization, language", name);
	ok(back.remark && !strcmp(back.remark, req.remark),
	   "%s: remark survives", name);
	ok(same_fields(&req, &back), "%s: extFields survive", name);
	ok(back.body_len == sizeof(body) &&
	   !memcmp(back.body, body, sizeof(body)), "%s: body", name);
	kmq_rmt_cmd_free(&back);

	/* without remark and fields */
	kmq_rmt_cmd_free(&req);
	kmq_rmt_request(&req, 105, 9, ser);
	b.len = 0;
	is_int(kmq_rmt_encode(&b, &req, 0), 0, "%s: bare request", name);
	is_int(kmq_rmt_decode(b.data, b.len, &back), 0,
	       "%s: bare request decodes", name);
	ok(!back.remark && !back.nfields && !back.body && back.code == 105,
	   "%s: bare request round trip", name);
	kmq_rmt_cmd_free(&back);
	kmq_rmt_cmd_free(&req);
	kmq_buf_free(&b);
}

static void test_encode_limits(void)
{
	struct kmq_rmt_cmd c;
	struct kmq_buf b = { 0 };
	char *big;
	json_t *j, *ext, *val;
	json_error_t jerr;

	kmq_rmt_request(&c, 40000, 1, KMQ_RMT_ROCKETMQ);
	kmq_buf_put(&b, "abc", 3);
	is_int(kmq_rmt_encode(&b, &c, 0), -EMSGSIZE,
	       "binary: code beyond int16 does not fit");
	is_int(b.len, 3, "failed encode leaves the buffer as it was");
	c.code = 1;
	c.version = -40000;
	is_int(kmq_rmt_encode(&b, &c, 0), -EMSGSIZE,
	       "binary: version beyond int16 does not fit");
	c.version = 0;
	big = malloc(40000);
	memset(big, 'k', 39999);
	big[39999] = '\0';
	kmq_rmt_set_ext(&c, big, "v");
	is_int(kmq_rmt_encode(&b, &c, 0), -EMSGSIZE,
	       "binary: key over 32767 bytes does not fit");
	c.ser = KMQ_RMT_JSON;
	b.len = 0;
	is_int(kmq_rmt_encode(&b, &c, 0), 0, "JSON: the long key fits");
	is_int(kmq_rmt_encode(&b, &c, 0x7fffffff), -EMSGSIZE,
	       "length field over INT32_MAX does not fit");
	c.ser = 7;
	is_int(kmq_rmt_encode(&b, &c, 0), -EINVAL, "unknown serialization");
	kmq_rmt_cmd_free(&c);
	free(big);

	/* A 17 MiB remark: over the 24-bit header length. */
	kmq_rmt_request(&c, 1, 1, KMQ_RMT_JSON);
	c.remark = malloc(17u << 20);
	memset(c.remark, 'r', (17u << 20) - 1);
	c.remark[(17u << 20) - 1] = '\0';
	b.len = 0;
	is_int(kmq_rmt_encode(&b, &c, 0), -EMSGSIZE,
	       "JSON: header over 16 MiB does not fit");
	c.ser = KMQ_RMT_ROCKETMQ;
	is_int(kmq_rmt_encode(&b, &c, 0), -EMSGSIZE,
	       "binary: header over 16 MiB does not fit");
	is_int(b.len, 0, "nothing appended");
	kmq_rmt_cmd_free(&c);

	/* Ill-formed UTF-8 from a handler still makes valid JSON. */
	kmq_rmt_request(&c, 1, 1, KMQ_RMT_JSON);
	kmq_rmt_set_ext(&c, "bad\xff", "v\xc3(\xed\xa0\x80");
	c.remark = strdup("\xf5");
	b.len = 0;
	is_int(kmq_rmt_encode(&b, &c, 0), 0, "JSON: bad UTF-8 encodes");
	j = json_loadb((const char *)b.data + 8, b.len - 8, 0, &jerr);
	ok(!!j, "JSON: and the header is valid JSON");
	ext = json_object_get(j, "extFields");
	val = json_object_get(ext, "bad\xef\xbf\xbd");
	ok(json_is_string(val) &&
	   !strcmp(json_string_value(val),
		   "v\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
	   "JSON: ill-formed bytes became U+FFFD");
	ok(j && !strcmp(json_string_value(json_object_get(j, "remark")),
			"\xef\xbf\xbd"), "JSON: remark repaired");
	json_decref(j);
	kmq_rmt_cmd_free(&c);
	kmq_buf_free(&b);
}

/* --- responses -------------------------------------------------------------- */

static void test_response(void)
{
	struct kmq_rmt_cmd req, resp, back;
	struct kmq_buf b = { 0 };
	int i;

	for (i = 0; i < 2; i++) {
		const char *name = i ? "binary" : "JSON";
		uint32_t blen = i ? sizeof(bin_frame) : 0;
		static const char jhdr[] =
			"{\"code\":14,\"language\":\"JAVA\",\"version\":399,\n"
			"\"opaque\":77,\"flag\":0,\"extFields\":{}}";

		if (i)
			is_int(kmq_rmt_decode(bin_frame, blen, &req), 0,
			       "response: binary request");
		else
			is_int(dec_json(jhdr, &req), 0,
			       "response: JSON request");
		is_int(kmq_rmt_response(&resp, &req, 22, "not found"), 0,
		       "%s response: init", name);
		is_int(resp.opaque, req.opaque, "%s response: opaque echoed",
		       name);
		ok(resp.flag & KMQ_RMT_FLAG_RESPONSE,
		   "%s response: RESPONSE flag", name);
		is_int(resp.ser, req.ser, "%s response: same serialization",
		       name);
		is_int(resp.code, 22, "%s response: code", name);
		is_int(resp.version, req.version, "%s response: version", name);
		ok(!strcmp(resp.language, "JAVA"), "%s response: language JAVA",
		   name);
		ok(resp.remark && !strcmp(resp.remark, "not found"),
		   "%s response: remark copied", name);
		ok(!resp.nfields && !resp.body, "%s response: no fields, body",
		   name);
		kmq_rmt_set_extf(&resp, "offset", "%d", 12);
		b.len = 0;
		is_int(kmq_rmt_encode(&b, &resp, 0), 0,
		       "%s response: encodes", name);
		is_int(b.data[4], req.ser,
		       "%s response: answered in the request's type", name);
		is_int(kmq_rmt_decode(b.data, b.len, &back), 0,
		       "%s response: decodes", name);
		ok(back.opaque == req.opaque &&
		   back.flag == KMQ_RMT_FLAG_RESPONSE && back.code == 22 &&
		   !strcmp(kmq_rmt_ext(&back, "offset"), "12"),
		   "%s response: round trip", name);
		kmq_rmt_cmd_free(&back);
		kmq_rmt_cmd_free(&resp);
		kmq_rmt_cmd_free(&req);
	}
	kmq_rmt_request(&req, 1, 3, KMQ_RMT_JSON);
	is_int(kmq_rmt_response(&resp, &req, 0, NULL), 0,
	       "response without remark");
	ok(!resp.remark, "response without remark: NULL");
	kmq_rmt_cmd_free(&resp);
	kmq_rmt_cmd_free(&req);
	is_int(kmq_rmt_request(&req, 1, 3, 2), -EINVAL,
	       "request with an unknown serialization");
	kmq_rmt_cmd_free(&req);
	kmq_buf_free(&b);
}

/* --- extFields as numbers and booleans ------------------------------------ */

static void test_ext_numbers(void)
{
	static const struct {
		const char *s;
		int ret;
		long long v;
	} i64[] = {
		{ "15", 0, 15 },
		{ "  -15\t", 0, -15 },
		{ "+7", 0, 7 },
		{ "-0", 0, 0 },
		{ "0007", 0, 7 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "9223372036854775808", -ERANGE, 0 },
		{ "-9223372036854775809", -ERANGE, 0 },
		{ "99999999999999999999999", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "  ", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
		{ "+-1", -EINVAL, 0 },
		{ "- 1", -EINVAL, 0 },
		{ "1 2", -EINVAL, 0 },
		{ "12a", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "1.0", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "\n1", -EINVAL, 0 },
		{ "99999999999999999999x", -EINVAL, 0 },
	};
	static const struct {
		const char *s;
		int ret;
		int v;
	} bools[] = {
		{ "true", 0, 1 }, { "TRUE", 0, 1 }, { "False", 0, 0 },
		{ "1", 0, 1 }, { "0", 0, 0 }, { " true ", 0, 1 },
		{ "yes", -EINVAL, 0 }, { "", -EINVAL, 0 }, { "truex", -EINVAL, 0 },
		{ "01", -EINVAL, 0 }, { "2", -EINVAL, 0 },
	};
	struct kmq_rmt_cmd c;
	unsigned int i;
	int64_t v;
	int32_t v32;
	int b;

	kmq_rmt_request(&c, 1, 1, KMQ_RMT_JSON);
	for (i = 0; i < ARRAY_SIZE(i64); i++) {
		kmq_rmt_set_ext(&c, "n", i64[i].s);
		v = 4242;
		is_int(kmq_rmt_ext_i64(&c, "n", &v), i64[i].ret,
		       "i64 '%s': return", i64[i].s);
		if (!i64[i].ret)
			ok(v == i64[i].v, "i64 '%s': value", i64[i].s);
		else
			ok(v == 4242, "i64 '%s': output untouched", i64[i].s);
	}
	is_int(kmq_rmt_ext_i64(&c, "missing", &v), -ENOENT, "i64: missing");

	kmq_rmt_set_ext(&c, "n", "2147483647");
	is_int(kmq_rmt_ext_i32(&c, "n", &v32), 0, "i32: INT32_MAX");
	is_int(v32, INT32_MAX, "i32: INT32_MAX value");
	kmq_rmt_set_ext(&c, "n", "-2147483648");
	is_int(kmq_rmt_ext_i32(&c, "n", &v32), 0, "i32: INT32_MIN");
	is_int(v32, INT32_MIN, "i32: INT32_MIN value");
	kmq_rmt_set_ext(&c, "n", "2147483648");
	v32 = 5;
	is_int(kmq_rmt_ext_i32(&c, "n", &v32), -ERANGE, "i32: over");
	is_int(v32, 5, "i32: output untouched");
	kmq_rmt_set_ext(&c, "n", "-2147483649");
	is_int(kmq_rmt_ext_i32(&c, "n", &v32), -ERANGE, "i32: under");
	kmq_rmt_set_ext(&c, "n", "x");
	is_int(kmq_rmt_ext_i32(&c, "n", &v32), -EINVAL, "i32: not a number");
	is_int(kmq_rmt_ext_i32(&c, "missing", &v32), -ENOENT, "i32: missing");

	for (i = 0; i < ARRAY_SIZE(bools); i++) {
		kmq_rmt_set_ext(&c, "b", bools[i].s);
		b = 9;
		is_int(kmq_rmt_ext_bool(&c, "b", &b), bools[i].ret,
		       "bool '%s': return", bools[i].s);
		is_int(b, bools[i].ret ? 9 : bools[i].v, "bool '%s': value",
		       bools[i].s);
	}
	is_int(kmq_rmt_ext_bool(&c, "missing", &b), -ENOENT, "bool: missing");
	is_int(c.nfields, 2, "setters replaced in place");
	kmq_rmt_cmd_free(&c);
}

/* --- the error message is per thread -------------------------------------- */

static void *other_thread(void *arg)
{
	struct kmq_rmt_cmd cmd;
	uint8_t f[8] = { 0, 0, 0, 4, 9, 0, 0, 0 };

	kmq_rmt_decode(f, sizeof(f), &cmd);
	return strstr(kmq_rmt_errmsg(), "serialize type 9") ? arg : NULL;
}

static void test_errmsg_thread(void)
{
	struct kmq_rmt_cmd cmd;
	pthread_t t;
	void *r = NULL;

	dec_json("[]", &cmd);
	if (pthread_create(&t, NULL, other_thread, &cmd))
		kmq_tap_bail("pthread_create");
	pthread_join(t, &r);
	ok(r == &cmd, "errmsg: the other thread saw its own error");
	ok(!!strstr(kmq_rmt_errmsg(), "not an object"),
	   "errmsg: this thread's message unchanged");
}

int main(void)
{
	test_json_by_hand();
	test_binary_by_hand();
	test_alions_send();
	test_frame_errors();
	test_binary_errors();
	round_trip(KMQ_RMT_JSON, "JSON round trip");
	round_trip(KMQ_RMT_ROCKETMQ, "binary round trip");
	test_encode_limits();
	test_response();
	test_ext_numbers();
	test_errmsg_thread();
	return kmq_tap_done();
}
