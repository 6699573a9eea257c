// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_remoting.c - libFuzzer target for the remoting codec: the input is
 * a frame (or the start of a byte stream). kmq_rmt_frame_len() and
 * kmq_rmt_decode() must agree; a decoded command must be sane, and
 * re-encoding it in either serialization and decoding that must give back
 * its code, opaque, flag, version, remark, extFields and body.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_remoting.h"

#define CHECK(cond)					\
	do {						\
		if (!(cond))				\
			__builtin_trap();		\
	} while (0)

/* Uniqueness of keys is checked up to this many fields (it is O(n^2)). */
#define UNIQUE_CHECK_MAX	512

static int zeroed(const struct kmq_rmt_cmd *cmd)
{
	static const struct kmq_rmt_cmd zero;

	return !memcmp(cmd, &zero, sizeof(zero));
}

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static void check_cmd(const struct kmq_rmt_cmd *c, const uint8_t *frame,
		      size_t len)
{
	const char *v;
	uint32_t i, j;
	int64_t n;
	int32_t n32;
	int b, r64, r32;

	CHECK(c->ser == KMQ_RMT_JSON || c->ser == KMQ_RMT_ROCKETMQ);
	CHECK(memchr(c->language, '\0', sizeof(c->language)));
	CHECK(c->language[0]);
	CHECK(!c->body == !c->body_len);
	CHECK(c->body_len <= len - KMQ_RMT_PREFIX);
	if (c->body)
		CHECK(c->body + c->body_len == frame + len);
	CHECK(c->nfields <= c->fields_cap);
	CHECK(!c->remark || c->remark[0] || c->ser == KMQ_RMT_JSON);
	for (i = 0; i < c->nfields; i++) {
		CHECK(c->fields[i].key && c->fields[i].val);
		v = kmq_rmt_ext(c, c->fields[i].key);
		if (c->nfields <= UNIQUE_CHECK_MAX) {
			for (j = 0; j < i; j++)
				CHECK(strcmp(c->fields[i].key,
					     c->fields[j].key));
			CHECK(v == c->fields[i].val);
		}
		r64 = kmq_rmt_ext_i64(c, c->fields[i].key, &n);
		r32 = kmq_rmt_ext_i32(c, c->fields[i].key, &n32);
		CHECK(r64 == 0 || r64 == -EINVAL || r64 == -ERANGE);
		if (r64 == -EINVAL)
			CHECK(r32 == -EINVAL);
		else if (r64 == 0 && n >= INT32_MIN && n <= INT32_MAX)
			CHECK(r32 == 0 && n32 == n);
		else
			CHECK(r32 == -ERANGE);
		r64 = kmq_rmt_ext_bool(c, c->fields[i].key, &b);
		CHECK(r64 == -EINVAL || (r64 == 0 && (b == 0 || b == 1)));
	}
	CHECK(kmq_rmt_ext_i64(c, "\xff no such key", &n) == -ENOENT);
}

/* Can @c be written as a binary header? */
static int fits_binary(const struct kmq_rmt_cmd *c)
{
	uint32_t i;

	if (c->code != (int16_t)c->code || c->version != (int16_t)c->version)
		return 0;
	for (i = 0; i < c->nfields; i++)
		if (strlen(c->fields[i].key) > INT16_MAX)
			return 0;
	return 1;
}

/*
 * Re-encode @c as @ser, decode, compare. A frame of @size bytes re-encoded
 * in JSON may outgrow the 24-bit header length (escapes take 6 bytes).
 */
static void round_trip(const struct kmq_rmt_cmd *c, enum kmq_rmt_serialize ser,
		       size_t size)
{
	struct kmq_rmt_cmd copy = *c, back;
	struct kmq_buf b = { 0 };
	uint32_t i;
	int ret;

	copy.ser = ser;
	ret = kmq_rmt_encode(&b, &copy, c->body_len);
	if (ser == KMQ_RMT_ROCKETMQ && !fits_binary(c)) {
		CHECK(ret == -EMSGSIZE && b.len == 0);
		kmq_buf_free(&b);
		return;
	}
	if (ret == -EMSGSIZE && ser == KMQ_RMT_JSON &&
	    size > (1u << 20)) {
		CHECK(b.len == 0);
		kmq_buf_free(&b);
		return;
	}
	CHECK(ret == 0);
	CHECK(b.len >= KMQ_RMT_PREFIX);
	CHECK(b.data[4] == ser);
	CHECK(kmq_buf_put(&b, c->body, c->body_len) == 0);
	CHECK(kmq_rmt_frame_len(b.data, b.len, KMQ_RMT_MAX_FRAME) ==
	      (int64_t)b.len);
	CHECK(kmq_rmt_decode(b.data, b.len, &back) == 0);

	CHECK(back.ser == ser);
	CHECK(back.code == c->code);
	CHECK(back.opaque == c->opaque);
	CHECK(back.flag == c->flag);
	CHECK(back.version == c->version);
	if (ser == c->ser)
		CHECK(!strcmp(back.language, c->language));
	if (ser == KMQ_RMT_ROCKETMQ && c->remark && !c->remark[0])
		CHECK(!back.remark);	/* length 0 means none */
	else
		CHECK(str_eq(back.remark, c->remark));
	CHECK(back.nfields == c->nfields);
	for (i = 0; i < c->nfields; i++) {
		CHECK(!strcmp(back.fields[i].key, c->fields[i].key));
		CHECK(!strcmp(back.fields[i].val, c->fields[i].val));
	}
	CHECK(back.body_len == c->body_len);
	if (c->body_len)
		CHECK(!memcmp(back.body, c->body, c->body_len));
	kmq_rmt_cmd_free(&back);
	kmq_buf_free(&b);
}

static void decode_one(const uint8_t *data, size_t size, int64_t flen)
{
	struct kmq_rmt_cmd cmd;
	int ret;

	ret = kmq_rmt_decode(data, size, &cmd);
	CHECK(ret <= 0 && ret >= -KMQ_RMT_ENOMEM);
	if (ret) {
		CHECK(zeroed(&cmd));
		CHECK(kmq_rmt_errmsg()[0]);
		/* frame_len vouched for the prefix: the error is inside */
		if (flen > 0 && flen == (int64_t)size)
			CHECK(ret != -KMQ_RMT_ESHORT &&
			      ret != -KMQ_RMT_EFRAME);
		if (size >= 4 && flen == 0)
			CHECK(ret == -KMQ_RMT_ESHORT);
		return;
	}
	CHECK(flen == (int64_t)size);
	check_cmd(&cmd, data, size);
	round_trip(&cmd, KMQ_RMT_JSON, size);
	round_trip(&cmd, KMQ_RMT_ROCKETMQ, size);
	kmq_rmt_cmd_free(&cmd);
	CHECK(zeroed(&cmd));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t n, small;

	n = kmq_rmt_frame_len(data, size, KMQ_RMT_MAX_FRAME);
	CHECK(n == 0 || n == -KMQ_RMT_EFRAME ||
	      (n >= KMQ_RMT_PREFIX && (size_t)n <= size));
	if (size < 4)
		CHECK(n == 0);

	/* A smaller limit only turns answers into EFRAME. */
	small = kmq_rmt_frame_len(data, size, 64);
	CHECK(small == n || small == -KMQ_RMT_EFRAME);
	if (n == -KMQ_RMT_EFRAME)
		CHECK(small == n);

	decode_one(data, size, n);
	/* As from a stream: the first frame of several. */
	if (n > 0 && (size_t)n < size)
		decode_one(data, n, n);
	return 0;
}
