// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_msgid_test.c - KUnit suite "kmq_msgid": RocketMQ's offset message id
 * (uapi/kmq_msgid.c) as compiled into kmq.ko: uppercase hex of the store
 * host address, its port as be32 and the commitlog offset as be64.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kmq_msgid.h"

/* 127.0.0.1 (7F000001), port 10911 (00002A9F), offset 0x123. */
static const char kmq_t_id_v4[] = "7F00000100002A9F0000000000000123";

/* 2001:db8::1, port 8080 (00001F90), offset 2^64 - 1. */
static const char kmq_t_id_v6[] =
	"20010DB800000000000000000000000100001F90FFFFFFFFFFFFFFFF";

static const u8 kmq_t_addr_v6[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
};

/* A test-managed copy of @len characters, no NUL after them. */
static const char *kmq_t_id(struct kunit *test, const char *s, u32 len)
{
	char *p = kunit_kmalloc(test, len ? len : 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
	memcpy(p, s, len);
	return p;
}

static void kmq_msgid_test_v4(struct kunit *test)
{
	char *out = kunit_kmalloc(test, KMQ_MSGID_MAX + 1, GFP_KERNEL);
	struct kmq_host h = { .addr = { 127, 0, 0, 1 }, .port = 10911 };
	struct kmq_host got;
	const char *id;
	u64 off = 0;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, out);
	memset(out, '#', KMQ_MSGID_MAX + 1);
	KUNIT_EXPECT_EQ(test, kmq_msgid_encode(out, &h, 0x123),
			KMQ_MSGID_LEN_V4);
	KUNIT_EXPECT_STREQ(test, out, kmq_t_id_v4);

	id = kmq_t_id(test, kmq_t_id_v4, KMQ_MSGID_LEN_V4);
	memset(&got, 0xaa, sizeof(got));
	KUNIT_ASSERT_EQ(test, kmq_msgid_decode(id, KMQ_MSGID_LEN_V4, &got,
					       &off), 0);
	KUNIT_EXPECT_FALSE(test, got.v6);
	KUNIT_EXPECT_MEMEQ(test, got.addr, "\x7f\x00\x00\x01\0\0\0\0\0\0\0\0"
			   "\0\0\0\0", 16);
	KUNIT_EXPECT_EQ(test, got.port, 10911U);
	KUNIT_EXPECT_EQ(test, off, 0x123ULL);

	id = kmq_t_id(test, "7f00000100002a9F000000000000012f", 32);
	KUNIT_EXPECT_EQ(test, kmq_msgid_decode(id, 32, &got, &off), 0);
	KUNIT_EXPECT_EQ(test, off, 0x12fULL);
	KUNIT_EXPECT_EQ(test, got.port, 10911U);
}

static void kmq_msgid_test_v6(struct kunit *test)
{
	char *out = kunit_kmalloc(test, KMQ_MSGID_MAX + 1, GFP_KERNEL);
	struct kmq_host h = { .port = 8080, .v6 = true };
	struct kmq_host got;
	const char *id;
	u64 off = 0;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, out);
	memcpy(h.addr, kmq_t_addr_v6, 16);
	KUNIT_EXPECT_EQ(test, kmq_msgid_encode(out, &h, ~0ULL),
			KMQ_MSGID_LEN_V6);
	KUNIT_EXPECT_STREQ(test, out, kmq_t_id_v6);

	id = kmq_t_id(test, kmq_t_id_v6, KMQ_MSGID_LEN_V6);
	KUNIT_ASSERT_EQ(test, kmq_msgid_decode(id, KMQ_MSGID_LEN_V6, &got,
					       &off), 0);
	KUNIT_EXPECT_TRUE(test, got.v6);
	KUNIT_EXPECT_MEMEQ(test, got.addr, kmq_t_addr_v6, 16);
	KUNIT_EXPECT_EQ(test, got.port, 8080U);
	KUNIT_EXPECT_EQ(test, off, ~0ULL);
}

static void kmq_msgid_test_bad_length(struct kunit *test)
{
	static const u32 lens[] = { 0, 1, 31, 33, 55, 57, 64 };
	char *id = kunit_kmalloc(test, 64, GFP_KERNEL);
	struct kmq_host got;
	u64 off = 7;
	int i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, id);
	memset(id, '0', 64);
	memcpy(id, kmq_t_id_v6, KMQ_MSGID_LEN_V6);

	for (i = 0; i < ARRAY_SIZE(lens); i++)
		KUNIT_EXPECT_EQ_MSG(test, kmq_msgid_decode(id, lens[i], &got,
							   &off),
				    -KMQ_FMT_EMSGID, "length %u", lens[i]);
	KUNIT_EXPECT_EQ(test, off, 7ULL);
}

/* One non-hex character anywhere makes the id invalid. */
static void kmq_msgid_test_bad_chars(struct kunit *test)
{
	static const char bad[] = "GgXx -:/@`\x80\xff";
	char *id = kunit_kmalloc(test, KMQ_MSGID_LEN_V4, GFP_KERNEL);
	struct kmq_host got;
	u64 off = 7;
	int i, pos;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, id);
	for (i = 0; i < sizeof(bad) - 1; i++) {
		for (pos = 0; pos < KMQ_MSGID_LEN_V4; pos += 5) {
			memcpy(id, kmq_t_id_v4, KMQ_MSGID_LEN_V4);
			id[pos] = bad[i];
			KUNIT_EXPECT_EQ_MSG(test,
					    kmq_msgid_decode(id,
							     KMQ_MSGID_LEN_V4,
							     &got, &off),
					    -KMQ_FMT_EMSGID,
					    "byte 0x%02x at %d",
					    (u8)bad[i], pos);
		}
	}
	memcpy(id, kmq_t_id_v4, KMQ_MSGID_LEN_V4);
	id[KMQ_MSGID_LEN_V4 - 1] = '\0';
	KUNIT_EXPECT_EQ(test, kmq_msgid_decode(id, KMQ_MSGID_LEN_V4, &got,
					       &off), -KMQ_FMT_EMSGID);
	KUNIT_EXPECT_EQ(test, off, 7ULL);
}

static struct kunit_case kmq_msgid_test_cases[] = {
	KUNIT_CASE(kmq_msgid_test_v4),
	KUNIT_CASE(kmq_msgid_test_v6),
	KUNIT_CASE(kmq_msgid_test_bad_length),
	KUNIT_CASE(kmq_msgid_test_bad_chars),
	{}
};

static struct kunit_suite kmq_msgid_test_suite = {
	.name = "kmq_msgid",
	.test_cases = kmq_msgid_test_cases,
};

kunit_test_suite(kmq_msgid_test_suite);
