// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_read_test.c - KUnit suite "kmq_read": how a read of the kernel store
 * starts (kmq_read_start_status(): RocketMQ's statuses for an empty queue,
 * an offset below the minimum, at the maximum, past it, also at
 * consume-queue file boundaries and at the end of the offset range) and
 * the tag filter a read applies to consume-queue entries
 * (kmq_tags_match()), fed with tag codes from kmq_tag_hash() as a
 * subscription would, and the check that the bytes an entry points at are
 * its record (kmq_rec_is_entry()), on a record from the shared encoder.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "kmq_ioctl.h"
#include "kmq_props.h"
#include "../kmq_ring.h"

struct kmq_t_start {
	const char *desc;
	u64 min;
	u64 max;
	u64 offset;
	u32 status;
	u64 next;
};

static const struct kmq_t_start kmq_t_starts[] = {
	{ "empty queue", 0, 0, 0, KMQ_RD_NO_MESSAGE, 0 },
	{ "empty queue, offset 5", 0, 0, 5, KMQ_RD_NO_MESSAGE, 0 },
	{ "below min", 10, 20, 3, KMQ_RD_OFFSET_TOO_SMALL, 10 },
	{ "at min", 10, 20, 10, KMQ_RD_NO_MATCH, 10 },
	{ "inside", 10, 20, 15, KMQ_RD_NO_MATCH, 15 },
	{ "last entry", 10, 20, 19, KMQ_RD_NO_MATCH, 19 },
	{ "at max: nothing new", 10, 20, 20, KMQ_RD_NO_NEW, 20 },
	{ "past max", 10, 20, 21, KMQ_RD_OFFSET_OVERFLOW, 20 },
	{ "far past max", 0, 20, U64_MAX, KMQ_RD_OFFSET_OVERFLOW, 20 },
	{ "all reclaimed: min == max", 20, 20, 20, KMQ_RD_NO_NEW, 20 },
	{ "all reclaimed, below", 20, 20, 4, KMQ_RD_OFFSET_TOO_SMALL, 20 },
	{ "one entry, at it", 0, 1, 0, KMQ_RD_NO_MATCH, 0 },
	{ "one entry, past it", 0, 1, 1, KMQ_RD_NO_NEW, 1 },
	{ "one entry, two past it", 0, 1, 2, KMQ_RD_OFFSET_OVERFLOW, 1 },
	{ "min at a file boundary, one below", 300000, 600001, 299999,
	  KMQ_RD_OFFSET_TOO_SMALL, 300000 },
	{ "min at a file boundary, at it", 300000, 600001, 300000,
	  KMQ_RD_NO_MATCH, 300000 },
	{ "max at a file boundary", 0, 300000, 300000, KMQ_RD_NO_NEW,
	  300000 },
	{ "last entry of file 0", 0, 300001, 299999, KMQ_RD_NO_MATCH, 299999 },
	{ "longest queue, last entry", 0, U64_MAX, U64_MAX - 1,
	  KMQ_RD_NO_MATCH, U64_MAX - 1 },
	{ "longest queue, at max", 0, U64_MAX, U64_MAX, KMQ_RD_NO_NEW,
	  U64_MAX },
	{ "below min, offset 0", 1, 2, 0, KMQ_RD_OFFSET_TOO_SMALL, 1 },
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_start, kmq_t_starts, desc);

static void kmq_read_test_start_status(struct kunit *test)
{
	const struct kmq_t_start *t = test->param_value;
	u64 next = 0xdead;

	KUNIT_EXPECT_EQ(test, kmq_read_start_status(t->min, t->max, t->offset,
						    &next), t->status);
	KUNIT_EXPECT_EQ(test, next, t->next);
}

static void kmq_read_test_tags(struct kunit *test)
{
	s64 *tags = kunit_kmalloc_array(test, 3, sizeof(*tags), GFP_KERNEL);
	s64 tag_a = kmq_tag_hash("TagA", 4);
	s64 tag_b = kmq_tag_hash("TagB", 4);
	s64 tag_c = kmq_tag_hash("TagC", 4);
	s64 neg = kmq_tag_hash("polygenelubricants", 18);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tags);
	/* No filter ("*"): everything, even no tag at all (code 0). */
	KUNIT_EXPECT_TRUE(test, kmq_tags_match(NULL, 0, tag_a));
	KUNIT_EXPECT_TRUE(test, kmq_tags_match(NULL, 0, 0));

	/* "TagA || TagB" */
	tags[0] = tag_a;
	tags[1] = tag_b;
	KUNIT_EXPECT_TRUE(test, kmq_tags_match(tags, 2, tag_a));
	KUNIT_EXPECT_TRUE(test, kmq_tags_match(tags, 2, tag_b));
	KUNIT_EXPECT_FALSE(test, kmq_tags_match(tags, 2, tag_c));
	KUNIT_EXPECT_FALSE(test, kmq_tags_match(tags, 2, 0));
	/* Only @ntags entries count. */
	KUNIT_EXPECT_FALSE(test, kmq_tags_match(tags, 1, tag_b));

	/* Codes are sign-extended int32s: -2^31 is not 2^31. */
	tags[2] = neg;
	KUNIT_EXPECT_EQ(test, neg, -2147483648LL);
	KUNIT_EXPECT_TRUE(test, kmq_tags_match(tags, 3, neg));
	KUNIT_EXPECT_FALSE(test, kmq_tags_match(tags, 3, 2147483648LL));
	KUNIT_EXPECT_FALSE(test, kmq_tags_match(tags, 3, neg & 0xffffffffLL));
}

static const char kmq_t_entry_body[] = "the record an entry names";

/* Each field the check compares, changed alone, fails it. */
static void kmq_read_test_rec_is_entry(struct kunit *test)
{
	struct kmq_record r = {
		.queue_id = 3,
		.queue_offset = 30,
		.phys_offset = 0x10000 + 128,
		.body = kmq_t_entry_body,
		.body_len = sizeof(kmq_t_entry_body) - 1,
		.topic = "ReadTopic",
		.topic_len = 9,
	};
	struct kmq_cq_entry e;
	int n = kmq_record_size(0, 0, r.body_len, r.topic_len, 0);
	u8 *b;

	KUNIT_ASSERT_GT(test, n, KMQ_REC_ENTRY_PEEK);
	b = kunit_kzalloc(test, n, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	KUNIT_ASSERT_EQ(test, kmq_record_encode(b, n, &r), n);
	e.phys_offset = r.phys_offset;
	e.size = n;
	e.tags_code = 0;

	KUNIT_EXPECT_TRUE(test, kmq_rec_is_entry(b, n, &e, 3, 30));
	KUNIT_EXPECT_TRUE(test, kmq_rec_is_entry(b, KMQ_REC_ENTRY_PEEK, &e,
						 3, 30));
	/* Too few bytes to tell. */
	KUNIT_EXPECT_FALSE(test, kmq_rec_is_entry(b, KMQ_REC_ENTRY_PEEK - 1,
						  &e, 3, 30));
	/* Another queue offset: the record of another entry (30 vs 60). */
	KUNIT_EXPECT_FALSE(test, kmq_rec_is_entry(b, n, &e, 3, 60));
	KUNIT_EXPECT_FALSE(test, kmq_rec_is_entry(b, n, &e, 4, 30));
	e.size = n + 4;
	KUNIT_EXPECT_FALSE(test, kmq_rec_is_entry(b, n, &e, 3, 30));
	e.size = n;
	/* The same bytes a segment later: PHYSICALOFFSET tells. */
	e.phys_offset += 0x10000;
	KUNIT_EXPECT_FALSE(test, kmq_rec_is_entry(b, n, &e, 3, 30));
	e.phys_offset = r.phys_offset;
	/* Zeros (a fresh segment) and a wrong magic. */
	b[KMQ_REC_OFF_MAGIC] ^= 0xff;
	KUNIT_EXPECT_FALSE(test, kmq_rec_is_entry(b, n, &e, 3, 30));
	memset(b, 0, n);
	KUNIT_EXPECT_FALSE(test, kmq_rec_is_entry(b, n, &e, 3, 30));
}

static struct kunit_case kmq_read_test_cases[] = {
	KUNIT_CASE_PARAM(kmq_read_test_start_status, kmq_t_start_gen_params),
	KUNIT_CASE(kmq_read_test_tags),
	KUNIT_CASE(kmq_read_test_rec_is_entry),
	{}
};

static struct kunit_suite kmq_read_test_suite = {
	.name = "kmq_read",
	.test_cases = kmq_read_test_cases,
};

kunit_test_suite(kmq_read_test_suite);
