// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_pull_test.c - KUnit suite "kmq_pull": the pure logic of a pull's
 * lookup and delivery: which records a read or a pull takes under its
 * byte limit (kmq_lookup_take(): a pull's first record always, a read's
 * never when it does not fit), the remoting frame prefix PULL_SEND
 * writes (kmq_pull_frame()), and how a resumed send finds its place in
 * the ranges (kmq_pull_locate()).
 */
#include <kunit/test.h>
#include <linux/limits.h>

#include "kmq_endian.h"
#include "../kmq_ring.h"

struct kmq_t_take {
	const char *desc;
	u32 count;
	u64 bytes;
	u32 size;
	u64 max;
	bool first_always;
	int want;
};

static const struct kmq_t_take kmq_t_takes[] = {
	{ "read: first fits", 0, 0, 100, 100, false, 1 },
	{ "read: first too big", 0, 0, 101, 100, false, -ENOSPC },
	{ "read: next fits exactly", 3, 300, 100, 400, false, 1 },
	{ "read: next too big: stop", 3, 300, 101, 400, false, 0 },
	{ "pull: first too big: taken", 0, 0, 5000, 100, true, 1 },
	{ "pull: second too big: stop", 1, 5000, 10, 100, true, 0 },
	{ "pull: within the limit", 31, 3100, 100, 256 << 10, true, 1 },
	{ "huge limit, huge sizes", 1, U32_MAX, U32_MAX, U64_MAX / 2, true, 1 },
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_take, kmq_t_takes, desc);

static void kmq_pull_test_take(struct kunit *test)
{
	const struct kmq_t_take *t = test->param_value;

	KUNIT_EXPECT_EQ(test, kmq_lookup_take(t->count, t->bytes, t->size,
					      t->max, t->first_always),
			t->want);
}

static void kmq_pull_test_frame(struct kunit *test)
{
	u8 f[40];

	memset(f, 0xaa, sizeof(f));
	f[4] = 1;			/* ROCKETMQ serialization */
	KUNIT_ASSERT_EQ(test, kmq_pull_frame(f, sizeof(f), 1000), 0);
	/* total = 4 + header (32) + body (1000) */
	KUNIT_EXPECT_EQ(test, kmq_get_be32(f), 1036U);
	KUNIT_EXPECT_EQ(test, kmq_get_be32(f + 4), (1U << 24) | 32);
	KUNIT_EXPECT_EQ(test, f[8], 0xaa);	/* the header is untouched */

	/* JSON (type 0), an empty header: just the prefix. */
	f[4] = 0;
	KUNIT_ASSERT_EQ(test, kmq_pull_frame(f, 8, 7), 0);
	KUNIT_EXPECT_EQ(test, kmq_get_be32(f), 11U);
	KUNIT_EXPECT_EQ(test, kmq_get_be32(f + 4), 0U);

	/* The largest total RocketMQ's signed length holds, and one more. */
	KUNIT_EXPECT_EQ(test, kmq_pull_frame(f, 8, S32_MAX - 4), 0);
	KUNIT_EXPECT_EQ(test, kmq_get_be32(f), (u32)S32_MAX);
	KUNIT_EXPECT_EQ(test, kmq_pull_frame(f, 8, S32_MAX - 3), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, kmq_pull_frame(f, 8, U64_MAX - 2), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, kmq_pull_frame(f, 7, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_pull_frame(f, 0, 0), -EINVAL);
}

static void kmq_pull_test_locate(struct kunit *test)
{
	static const struct kmq_prange r[] = {
		{ .pos = 4096, .len = 100 },
		{ .pos = 0, .len = 1 },
		{ .pos = 70000, .len = 5000 },
	};
	u64 in = 99;

	KUNIT_EXPECT_EQ(test, kmq_pull_locate(r, 3, 0, &in), 0U);
	KUNIT_EXPECT_EQ(test, in, 0ULL);
	KUNIT_EXPECT_EQ(test, kmq_pull_locate(r, 3, 99, &in), 0U);
	KUNIT_EXPECT_EQ(test, in, 99ULL);
	KUNIT_EXPECT_EQ(test, kmq_pull_locate(r, 3, 100, &in), 1U);
	KUNIT_EXPECT_EQ(test, in, 0ULL);
	KUNIT_EXPECT_EQ(test, kmq_pull_locate(r, 3, 101, &in), 2U);
	KUNIT_EXPECT_EQ(test, in, 0ULL);
	KUNIT_EXPECT_EQ(test, kmq_pull_locate(r, 3, 5100, &in), 2U);
	KUNIT_EXPECT_EQ(test, in, 4999ULL);
	/* At the end, past it, and with no ranges: nothing left. */
	KUNIT_EXPECT_EQ(test, kmq_pull_locate(r, 3, 5101, &in), 3U);
	KUNIT_EXPECT_EQ(test, kmq_pull_locate(r, 3, U64_MAX, &in), 3U);
	KUNIT_EXPECT_EQ(test, kmq_pull_locate(r, 0, 0, &in), 0U);
}

static struct kunit_case kmq_pull_test_cases[] = {
	KUNIT_CASE_PARAM(kmq_pull_test_take, kmq_t_take_gen_params),
	KUNIT_CASE(kmq_pull_test_frame),
	KUNIT_CASE(kmq_pull_test_locate),
	{}
};

static struct kunit_suite kmq_pull_test_suite = {
	.name = "kmq_pull",
	.test_cases = kmq_pull_test_cases,
};

kunit_test_suite(kmq_pull_test_suite);
