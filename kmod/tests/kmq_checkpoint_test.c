// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_checkpoint_test.c - KUnit suite "kmq_checkpoint": the store's
 * checkpoint block (uapi/kmq_checkpoint.c) as compiled into kmq.ko: the
 * documented layout with a CRC worked out in userspace (zlib), round
 * trips, and that every single-bit flip of the 44 bytes is noticed.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kmq_record.h"
#include "kmq_checkpoint.h"

/* flushed 0x40000010, min_offset 0x1000, store_ts 0x18a2b3c4d5e. */
static const u8 kmq_t_ckpt[KMQ_CKPT_ENCODED_SIZE] = {
	'K', 'M', 'Q', 'C',				/* magic */
	0, 0, 0, 1,					/* version */
	0, 0, 0, 0, 0x40, 0, 0, 0x10,			/* flushed */
	0, 0, 0, 0, 0, 0, 0x10, 0,			/* min_offset */
	0, 0, 0x01, 0x8a, 0x2b, 0x3c, 0x4d, 0x5e,	/* store_ts */
	0, 0, 0, 0, 0, 0, 0, 0,				/* reserved */
	0x9e, 0x07, 0xfb, 0x55,		/* zlib crc32 of bytes 0..39 */
};

static void kmq_checkpoint_test_layout(struct kunit *test)
{
	const struct kmq_checkpoint c = {
		.flushed = 0x40000010,
		.min_offset = 0x1000,
		.store_ts = 0x0000018a2b3c4d5eULL,
	};
	u8 *buf = kunit_kmalloc(test, KMQ_CKPT_ENCODED_SIZE + 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	memset(buf, 0xee, KMQ_CKPT_ENCODED_SIZE + 1);
	kmq_checkpoint_encode(buf, &c);
	KUNIT_EXPECT_MEMEQ(test, buf, kmq_t_ckpt, KMQ_CKPT_ENCODED_SIZE);
	KUNIT_EXPECT_EQ(test, buf[KMQ_CKPT_ENCODED_SIZE], 0xee);
}

static void kmq_checkpoint_test_decode_known(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, KMQ_CKPT_ENCODED_SIZE, GFP_KERNEL);
	struct kmq_checkpoint c;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	memcpy(buf, kmq_t_ckpt, KMQ_CKPT_ENCODED_SIZE);
	KUNIT_ASSERT_EQ(test, kmq_checkpoint_decode(buf, KMQ_CKPT_ENCODED_SIZE,
						    &c), 0);
	KUNIT_EXPECT_EQ(test, c.flushed, 0x40000010ULL);
	KUNIT_EXPECT_EQ(test, c.min_offset, 0x1000ULL);
	KUNIT_EXPECT_EQ(test, c.store_ts, 0x0000018a2b3c4d5eULL);
	KUNIT_EXPECT_EQ(test, kmq_checkpoint_decode(buf,
						    KMQ_CKPT_ENCODED_SIZE - 1,
						    &c), -KMQ_FMT_ESHORT);
	KUNIT_EXPECT_EQ(test, kmq_checkpoint_decode(buf, 0, &c),
			-KMQ_FMT_ESHORT);
}

static void kmq_checkpoint_test_roundtrip(struct kunit *test)
{
	const struct kmq_checkpoint c = {
		.flushed = 0xfedcba9876543210ULL,
		.min_offset = 1,
		.store_ts = ~0ULL,
	};
	u8 *buf = kunit_kzalloc(test, KMQ_CKPT_FILE_SIZE, GFP_KERNEL);
	struct kmq_checkpoint out = { 0 };

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	kmq_checkpoint_encode(buf, &c);
	KUNIT_ASSERT_EQ(test, kmq_checkpoint_decode(buf, KMQ_CKPT_FILE_SIZE,
						    &out), 0);
	KUNIT_EXPECT_EQ(test, out.flushed, c.flushed);
	KUNIT_EXPECT_EQ(test, out.min_offset, c.min_offset);
	KUNIT_EXPECT_EQ(test, out.store_ts, c.store_ts);
}

static void kmq_checkpoint_test_bit_flips(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, KMQ_CKPT_ENCODED_SIZE, GFP_KERNEL);
	struct kmq_checkpoint out = { 7, 7, 7 };
	int i, bit, want, ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	for (i = 0; i < KMQ_CKPT_ENCODED_SIZE; i++) {
		/* Magic and version flips: EMAGIC; all others: ECRC. */
		want = i < 8 ? -KMQ_FMT_EMAGIC : -KMQ_FMT_ECRC;
		for (bit = 0; bit < 8; bit++) {
			memcpy(buf, kmq_t_ckpt, KMQ_CKPT_ENCODED_SIZE);
			buf[i] ^= 1 << bit;
			ret = kmq_checkpoint_decode(buf, KMQ_CKPT_ENCODED_SIZE,
						    &out);
			KUNIT_EXPECT_EQ_MSG(test, ret, want, "byte %d bit %d",
					    i, bit);
		}
	}
	KUNIT_EXPECT_EQ(test, out.flushed, 7ULL);
	KUNIT_EXPECT_EQ(test, out.min_offset, 7ULL);
	KUNIT_EXPECT_EQ(test, out.store_ts, 7ULL);

	memset(buf, 0, KMQ_CKPT_ENCODED_SIZE);
	KUNIT_EXPECT_EQ(test, kmq_checkpoint_decode(buf, KMQ_CKPT_ENCODED_SIZE,
						    &out), -KMQ_FMT_EMAGIC);
}

static void kmq_t_put_crc(u8 *buf, u32 crc)
{
	buf[40] = crc >> 24;
	buf[41] = crc >> 16;
	buf[42] = crc >> 8;
	buf[43] = crc;
}

/* Version 2 with a valid CRC is still refused; reserved is not checked. */
static void kmq_checkpoint_test_version(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, KMQ_CKPT_ENCODED_SIZE, GFP_KERNEL);
	struct kmq_checkpoint out;
	u32 crc;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	memcpy(buf, kmq_t_ckpt, KMQ_CKPT_ENCODED_SIZE);
	buf[7] = 2;
	crc = kmq_crc32(0, buf, 40);
	kmq_t_put_crc(buf, crc);
	KUNIT_EXPECT_EQ(test, kmq_checkpoint_decode(buf, KMQ_CKPT_ENCODED_SIZE,
						    &out), -KMQ_FMT_EMAGIC);

	memcpy(buf, kmq_t_ckpt, KMQ_CKPT_ENCODED_SIZE);
	buf[39] = 1;
	crc = kmq_crc32(0, buf, 40);
	kmq_t_put_crc(buf, crc);
	KUNIT_EXPECT_EQ(test, kmq_checkpoint_decode(buf, KMQ_CKPT_ENCODED_SIZE,
						    &out), 0);
}

static struct kunit_case kmq_checkpoint_test_cases[] = {
	KUNIT_CASE(kmq_checkpoint_test_layout),
	KUNIT_CASE(kmq_checkpoint_test_decode_known),
	KUNIT_CASE(kmq_checkpoint_test_roundtrip),
	KUNIT_CASE(kmq_checkpoint_test_bit_flips),
	KUNIT_CASE(kmq_checkpoint_test_version),
	{}
};

static struct kunit_suite kmq_checkpoint_test_suite = {
	.name = "kmq_checkpoint",
	.test_cases = kmq_checkpoint_test_cases,
};

kunit_test_suite(kmq_checkpoint_test_suite);
