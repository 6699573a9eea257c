// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_cq_test.c - KUnit suite "kmq_cq": consume-queue entries
 * (uapi/kmq_cq.c) as compiled into kmq.ko, against entries written by
 * hand as [be64 commitlog offset][be32 size][be64 tags code].
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kmq_record.h"
#include "kmq_cq.h"

/* Offset 0x123456789, size 127, tags code of "TagA" (2598919). */
static const u8 kmq_t_cq_tagged[KMQ_CQ_ENTRY_SIZE] = {
	0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89,
	0x00, 0x00, 0x00, 0x7f,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0xa8, 0x07,
};

/* A high offset, size 0x01020304, tags code -2^31 sign-extended. */
static const u8 kmq_t_cq_negative[KMQ_CQ_ENTRY_SIZE] = {
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	0x01, 0x02, 0x03, 0x04,
	0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
};

static void kmq_cq_test_sizes(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, KMQ_CQ_ENTRY_SIZE, 20);
	KUNIT_EXPECT_EQ(test, (u64)KMQ_CQ_ENTRY_SIZE * KMQ_CQ_FILE_ENTRIES,
			6000000ULL);
}

static void kmq_cq_test_decode(struct kunit *test)
{
	u8 *b = kunit_kmalloc(test, KMQ_CQ_ENTRY_SIZE, GFP_KERNEL);
	struct kmq_cq_entry e;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	memcpy(b, kmq_t_cq_tagged, KMQ_CQ_ENTRY_SIZE);
	kmq_cq_entry_decode(b, &e);
	KUNIT_EXPECT_EQ(test, e.phys_offset, 0x123456789ULL);
	KUNIT_EXPECT_EQ(test, e.size, 127U);
	KUNIT_EXPECT_EQ(test, e.tags_code, 2598919LL);

	memcpy(b, kmq_t_cq_negative, KMQ_CQ_ENTRY_SIZE);
	kmq_cq_entry_decode(b, &e);
	KUNIT_EXPECT_EQ(test, e.phys_offset, 0xfedcba9876543210ULL);
	KUNIT_EXPECT_EQ(test, e.size, 0x01020304U);
	KUNIT_EXPECT_EQ(test, e.tags_code, -2147483648LL);

	memset(b, 0, KMQ_CQ_ENTRY_SIZE);
	kmq_cq_entry_decode(b, &e);
	KUNIT_EXPECT_EQ(test, e.phys_offset, 0ULL);
	KUNIT_EXPECT_EQ(test, e.size, 0U);
	KUNIT_EXPECT_EQ(test, e.tags_code, 0LL);
}

/* Entries sit at any alignment: encode at an odd address. */
static void kmq_cq_test_encode(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, KMQ_CQ_ENTRY_SIZE + 2, GFP_KERNEL);
	struct kmq_cq_entry e = {
		.phys_offset = 0x123456789ULL,
		.size = 127,
		.tags_code = 2598919,
	};

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	memset(buf, 0xee, KMQ_CQ_ENTRY_SIZE + 2);
	kmq_cq_entry_encode(buf + 1, &e);
	KUNIT_EXPECT_MEMEQ(test, buf + 1, kmq_t_cq_tagged, KMQ_CQ_ENTRY_SIZE);
	KUNIT_EXPECT_EQ(test, buf[0], 0xee);
	KUNIT_EXPECT_EQ(test, buf[KMQ_CQ_ENTRY_SIZE + 1], 0xee);

	e.phys_offset = 0xfedcba9876543210ULL;
	e.size = 0x01020304;
	e.tags_code = -2147483648LL;
	kmq_cq_entry_encode(buf, &e);
	KUNIT_EXPECT_MEMEQ(test, buf, kmq_t_cq_negative, KMQ_CQ_ENTRY_SIZE);
}

static void kmq_cq_test_roundtrip(struct kunit *test)
{
	static const s64 codes[] = { 0, 1, -1, S64_MAX, S64_MIN, 2598919 };
	u8 *buf = kunit_kmalloc(test, KMQ_CQ_ENTRY_SIZE, GFP_KERNEL);
	struct kmq_cq_entry in, out;
	int i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		in.phys_offset = ~0ULL - i;
		in.size = U32_MAX - i;
		in.tags_code = codes[i];
		kmq_cq_entry_encode(buf, &in);
		kmq_cq_entry_decode(buf, &out);
		KUNIT_EXPECT_EQ(test, out.phys_offset, in.phys_offset);
		KUNIT_EXPECT_EQ(test, out.size, in.size);
		KUNIT_EXPECT_EQ(test, out.tags_code, in.tags_code);
	}
}

/* Only plain (NOT) and COMMIT records are consumable. */
static void kmq_cq_test_wants_entry(struct kunit *test)
{
	const u32 other = KMQ_SYSFLAG_COMPRESSED | KMQ_SYSFLAG_MULTI_TAGS |
			  KMQ_SYSFLAG_BORNHOST_V6 | KMQ_SYSFLAG_STOREHOST_V6 |
			  KMQ_SYSFLAG_COMPRESS_ZLIB;

	KUNIT_EXPECT_TRUE(test, kmq_cq_wants_entry(KMQ_SYSFLAG_TX_NOT));
	KUNIT_EXPECT_TRUE(test, kmq_cq_wants_entry(KMQ_SYSFLAG_TX_COMMIT));
	KUNIT_EXPECT_FALSE(test, kmq_cq_wants_entry(KMQ_SYSFLAG_TX_PREPARED));
	KUNIT_EXPECT_FALSE(test, kmq_cq_wants_entry(KMQ_SYSFLAG_TX_ROLLBACK));
	KUNIT_EXPECT_TRUE(test, kmq_cq_wants_entry(other));
	KUNIT_EXPECT_TRUE(test, kmq_cq_wants_entry(other |
						   KMQ_SYSFLAG_TX_COMMIT));
	KUNIT_EXPECT_FALSE(test, kmq_cq_wants_entry(~KMQ_SYSFLAG_TX_MASK |
						    KMQ_SYSFLAG_TX_PREPARED));
	KUNIT_EXPECT_FALSE(test, kmq_cq_wants_entry(~0U));
}

static struct kunit_case kmq_cq_test_cases[] = {
	KUNIT_CASE(kmq_cq_test_sizes),
	KUNIT_CASE(kmq_cq_test_decode),
	KUNIT_CASE(kmq_cq_test_encode),
	KUNIT_CASE(kmq_cq_test_roundtrip),
	KUNIT_CASE(kmq_cq_test_wants_entry),
	{}
};

static struct kunit_suite kmq_cq_test_suite = {
	.name = "kmq_cq",
	.test_cases = kmq_cq_test_cases,
};

kunit_test_suite(kmq_cq_test_suite);
