// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_ring_test.c - KUnit suite "kmq_ring": the arithmetic of the segment
 * ring (kmod/kmq_ring.c): which segment holds an offset, whether an
 * append still fits before the BLANK filler, the ASYNC_FLUSH policy, and
 * the rules for segment file, topic and store names.
 */
#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kmq_ioctl.h"
#include "../kmq_ring.h"

#define KMQ_T_MIB	((u64)SZ_1M)

static void kmq_ring_test_seg_start(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(0, KMQ_T_MIB), 0ULL);
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(KMQ_T_MIB - 1, KMQ_T_MIB),
			0ULL);
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(KMQ_T_MIB, KMQ_T_MIB),
			KMQ_T_MIB);
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(5 * KMQ_T_MIB + 7, KMQ_T_MIB),
			5 * KMQ_T_MIB);
	/* Not a power of two, and offsets past 4 GiB. */
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(3000000, 1000000), 3000000ULL);
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(2999999, 1000000), 2000000ULL);
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(0x123456789ULL, 1ULL << 30),
			0x100000000ULL);
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(U64_MAX, 3), U64_MAX);
	KUNIT_EXPECT_EQ(test, kmq_ring_seg_start(U64_MAX, 1ULL << 30),
			U64_MAX & ~((1ULL << 30) - 1));
}

static void kmq_ring_test_index(struct kunit *test)
{
	const u64 first = 4 * KMQ_T_MIB;

	KUNIT_EXPECT_EQ(test, kmq_ring_index(first, KMQ_T_MIB, 4, first), 0);
	KUNIT_EXPECT_EQ(test, kmq_ring_index(first, KMQ_T_MIB, 4,
					     first + KMQ_T_MIB - 1), 0);
	KUNIT_EXPECT_EQ(test, kmq_ring_index(first, KMQ_T_MIB, 4,
					     first + KMQ_T_MIB), 1);
	KUNIT_EXPECT_EQ(test, kmq_ring_index(first, KMQ_T_MIB, 4,
					     first + 4 * KMQ_T_MIB - 1), 3);
	/* Past the newest segment, before the oldest, empty ring. */
	KUNIT_EXPECT_EQ(test, kmq_ring_index(first, KMQ_T_MIB, 4,
					     first + 4 * KMQ_T_MIB), -1);
	KUNIT_EXPECT_EQ(test, kmq_ring_index(first, KMQ_T_MIB, 4, first - 1),
			-1);
	KUNIT_EXPECT_EQ(test, kmq_ring_index(first, KMQ_T_MIB, 0, first), -1);
	KUNIT_EXPECT_EQ(test, kmq_ring_index(first, 0, 4, first), -1);
	/* An index of 2^32 must not wrap into the ring. */
	KUNIT_EXPECT_EQ(test, kmq_ring_index(0, 1, U32_MAX, 1ULL << 32), -1);
	KUNIT_EXPECT_EQ(test, kmq_ring_index(0, KMQ_T_MIB, 4096,
					     (1ULL << 32) * KMQ_T_MIB), -1);
	KUNIT_EXPECT_EQ(test, kmq_ring_index(U64_MAX - KMQ_T_MIB + 1,
					     KMQ_T_MIB, 1, U64_MAX), 0);
}

static void kmq_ring_test_fits(struct kunit *test)
{
	const u64 seg = 1000;

	/* Room for the record and the 8-byte BLANK that closes the segment. */
	KUNIT_EXPECT_TRUE(test, kmq_ring_fits(0, seg, seg - KMQ_BLANK_SIZE));
	KUNIT_EXPECT_FALSE(test, kmq_ring_fits(0, seg,
					       seg - KMQ_BLANK_SIZE + 1));
	KUNIT_EXPECT_TRUE(test, kmq_ring_fits(900, seg, 92));
	KUNIT_EXPECT_FALSE(test, kmq_ring_fits(900, seg, 93));
	KUNIT_EXPECT_TRUE(test, kmq_ring_fits(992, seg, 0));
	KUNIT_EXPECT_FALSE(test, kmq_ring_fits(993, seg, 0));
	KUNIT_EXPECT_FALSE(test, kmq_ring_fits(seg, seg, 0));
	KUNIT_EXPECT_FALSE(test, kmq_ring_fits(seg + 1, seg, 0));
	KUNIT_EXPECT_FALSE(test, kmq_ring_fits(U64_MAX, seg, 1));
	/* A byte count near 2^64 must not wrap into "fits". */
	KUNIT_EXPECT_FALSE(test, kmq_ring_fits(0, KMQ_T_MIB, U64_MAX));
	KUNIT_EXPECT_FALSE(test, kmq_ring_fits(0, KMQ_T_MIB,
					       U64_MAX - KMQ_BLANK_SIZE + 1));
}

static void kmq_ring_test_async_flush(struct kunit *test)
{
	const u64 min = 4 * 4096, full = 10000;

	KUNIT_EXPECT_FALSE(test, kmq_async_flush_due(0, min, 50000, 0, full));
	KUNIT_EXPECT_TRUE(test, kmq_async_flush_due(min, min, 1, 0, full));
	KUNIT_EXPECT_TRUE(test, kmq_async_flush_due(min + 1, min, 1, 0, full));
	KUNIT_EXPECT_FALSE(test, kmq_async_flush_due(min - 1, min, 9999, 0,
						     full));
	KUNIT_EXPECT_TRUE(test, kmq_async_flush_due(1, min, 10000, 0, full));
	KUNIT_EXPECT_TRUE(test, kmq_async_flush_due(1, min, 25000, 15000,
						    full));
	KUNIT_EXPECT_FALSE(test, kmq_async_flush_due(1, min, 24999, 15000,
						     full));
}

struct kmq_t_offname {
	const char *desc;
	const char *name;
	int ret;
	u64 val;
};

static const struct kmq_t_offname kmq_t_offnames[] = {
	{ "zero", "00000000000000000000", 0, 0 },
	{ "1 GiB", "00000000001073741824", 0, 1073741824ULL },
	{ "2^64 - 1", "18446744073709551615", 0, U64_MAX },
	{ "2^64: overflow", "18446744073709551616", -EINVAL, 0 },
	{ "twenty nines: overflow", "99999999999999999999", -EINVAL, 0 },
	{ "19 digits", "0000000000000000000", -EINVAL, 0 },
	{ "21 digits", "000000000000000000000", -EINVAL, 0 },
	{ "empty", "", -EINVAL, 0 },
	{ "a letter", "0000000000000000000a", -EINVAL, 0 },
	{ "a sign", "+0000000000000000000", -EINVAL, 0 },
	{ "a space", " 0000000000000000000", -EINVAL, 0 },
	{ "a dot", "00000000000000000.00", -EINVAL, 0 },
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_offname, kmq_t_offnames, desc);

static void kmq_ring_test_offset_name(struct kunit *test)
{
	const struct kmq_t_offname *t = test->param_value;
	u32 len = strlen(t->name);
	char *name = kunit_kmalloc(test, len ? len : 1, GFP_KERNEL);
	u64 v = 0xdead;

	/* Exactly @len bytes, no NUL: the parser must stop by itself. */
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, name);
	memcpy(name, t->name, len);
	KUNIT_EXPECT_EQ(test, kmq_parse_offset_name(name, len, &v), t->ret);
	KUNIT_EXPECT_EQ(test, v, t->ret ? 0xdeadULL : t->val);
}

/* A name in an array of @cap bytes: @name, NUL, then 'x' to the end. */
static char *kmq_t_name(struct kunit *test, const char *name, u32 cap)
{
	char *p = kunit_kmalloc(test, cap, GFP_KERNEL);
	u32 n = min_t(u32, strlen(name), cap);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
	memset(p, 'x', cap);
	memcpy(p, name, n);
	if (n < cap)
		p[n] = '\0';
	return p;
}

static void kmq_ring_test_topic_name(struct kunit *test)
{
	const u32 cap = KMQ_TOPIC_NAME_MAX;
	const char *name;
	char *longest = kunit_kzalloc(test, cap + 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, longest);
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, "TopicTest",
							    cap), cap), 9);
	name = kmq_t_name(test, "%RETRY%group_1-a|b", cap);
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(name, cap), 18);
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, "", cap),
						 cap), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, "a b", cap),
						 cap), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, "a.b", cap),
						 cap), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, "a/b", cap),
						 cap), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, "\xc3\xa9",
							    cap), cap),
			-EINVAL);
	/* 127 bytes is the longest; 128 leaves no room for the NUL. */
	memset(longest, 'T', KMQ_TOPIC_MAX_V1);
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, longest, cap),
						 cap), KMQ_TOPIC_MAX_V1);
	longest[KMQ_TOPIC_MAX_V1] = 'T';
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, longest, cap),
						 cap), -EINVAL);
	/* No NUL within @cap. */
	KUNIT_EXPECT_EQ(test, kmq_topic_name_len(kmq_t_name(test, "abcd", 4),
						 4), -EINVAL);
}

static void kmq_ring_test_store_name(struct kunit *test)
{
	const u32 cap = KMQ_STORE_NAME_MAX;
	char *longest = kunit_kzalloc(test, cap + 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, longest);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, "store-1.a_b",
							    cap), cap), 11);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, "...", cap),
						 cap), 3);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, ".a", cap),
						 cap), 2);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, ".", cap),
						 cap), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, "..", cap),
						 cap), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, "", cap),
						 cap), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, "a/b", cap),
						 cap), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, "a%b", cap),
						 cap), -EINVAL);
	memset(longest, 's', cap - 1);
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, longest, cap),
						 cap), (int)cap - 1);
	longest[cap - 1] = 's';
	KUNIT_EXPECT_EQ(test, kmq_store_name_len(kmq_t_name(test, longest, cap),
						 cap), -EINVAL);
}

static struct kunit_case kmq_ring_test_cases[] = {
	KUNIT_CASE(kmq_ring_test_seg_start),
	KUNIT_CASE(kmq_ring_test_index),
	KUNIT_CASE(kmq_ring_test_fits),
	KUNIT_CASE(kmq_ring_test_async_flush),
	KUNIT_CASE_PARAM(kmq_ring_test_offset_name, kmq_t_offname_gen_params),
	KUNIT_CASE(kmq_ring_test_topic_name),
	KUNIT_CASE(kmq_ring_test_store_name),
	{}
};

static struct kunit_suite kmq_ring_test_suite = {
	.name = "kmq_ring",
	.test_cases = kmq_ring_test_cases,
};

kunit_test_suite(kmq_ring_test_suite);
