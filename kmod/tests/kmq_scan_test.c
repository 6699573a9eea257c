// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_scan_test.c - KUnit suite "kmq_scan": the rule by which recovery
 * accepts the bytes at a commitlog position (kmq_scan_check() of
 * kmod/kmq_ring.c) and the STORETIMESTAMP peek (kmq_rec_store_ts()).
 *
 * A record is accepted only whole, with a matching body CRC and its
 * PHYSICALOFFSET where it was found; a BLANK only when it closes the
 * segment exactly and another segment follows; anything else - zeros, a
 * torn record, garbage - ends the commitlog. Buffers are sized exactly so
 * KASAN sees any read past what the scan was given.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../kmq_ring.h"

/* Where the test record claims to live, and the segment around it. */
#define KMQ_T_POS	0x40001000ULL
#define KMQ_T_SEGLEFT	4096ULL

static const char kmq_t_body[] = "recovery scan body";
static const char kmq_t_topic[] = "ScanTopic";

static void kmq_t_scan_rec(struct kmq_record *r, u64 phys, bool born_v6)
{
	memset(r, 0, sizeof(*r));
	r->queue_id = 1;
	r->queue_offset = 77;
	r->phys_offset = phys;
	r->born_ts = 1700000000000ULL;
	r->born_host.addr[0] = 127;
	r->born_host.addr[3] = 1;
	r->born_host.v6 = born_v6;
	r->store_ts = 1700000000123ULL;
	r->body = kmq_t_body;
	r->body_len = sizeof(kmq_t_body) - 1;
	r->body_crc = kmq_body_crc(r->body, r->body_len);
	r->topic = kmq_t_topic;
	r->topic_len = sizeof(kmq_t_topic) - 1;
}

/* A test-managed buffer of @len bytes holding a record for @phys. */
static u8 *kmq_t_scan_buf(struct kunit *test, u64 phys, u32 *total)
{
	struct kmq_record r;
	u8 *buf;
	int n;

	kmq_t_scan_rec(&r, phys, false);
	n = kmq_record_size(0, 0, r.body_len, r.topic_len, 0);
	KUNIT_ASSERT_GT(test, n, 0);
	buf = kunit_kzalloc(test, n, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, kmq_record_encode(buf, n, &r), n);
	*total = n;
	return buf;
}

static enum kmq_scan_verdict kmq_t_scan(const void *buf, u32 len, u64 pos,
					u64 seg_left, bool has_next,
					struct kmq_record *r, u32 *need)
{
	*need = 0;
	return kmq_scan_check(buf, len, pos, seg_left, has_next, r, need);
}

static void kmq_scan_test_record(struct kunit *test)
{
	struct kmq_record r;
	u32 total, need;
	u8 *b = kmq_t_scan_buf(test, KMQ_T_POS, &total);

	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total, KMQ_T_POS, KMQ_T_SEGLEFT,
					 false, &r, &need), KMQ_SCAN_RECORD);
	KUNIT_EXPECT_EQ(test, r.total_size, total);
	KUNIT_EXPECT_EQ(test, r.phys_offset, KMQ_T_POS);
	KUNIT_EXPECT_EQ(test, r.queue_offset, 77ULL);
	/* The record may end exactly at the segment's end. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total, KMQ_T_POS, total, true, &r,
					 &need), KMQ_SCAN_RECORD);
}

static void kmq_scan_test_more(struct kunit *test)
{
	struct kmq_record r;
	u32 total, need;
	u8 *b = kmq_t_scan_buf(test, KMQ_T_POS, &total);

	/* Fewer than the 8 bytes of TOTALSIZE and MAGICCODE. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, 4, KMQ_T_POS, KMQ_T_SEGLEFT,
					 false, &r, &need), KMQ_SCAN_MORE);
	KUNIT_EXPECT_EQ(test, need, (u32)KMQ_BLANK_SIZE);
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, 0, KMQ_T_POS, KMQ_T_SEGLEFT,
					 false, &r, &need), KMQ_SCAN_MORE);
	KUNIT_EXPECT_EQ(test, need, (u32)KMQ_BLANK_SIZE);
	/* The header says how much: ask for the whole record. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, 8, KMQ_T_POS, KMQ_T_SEGLEFT,
					 false, &r, &need), KMQ_SCAN_MORE);
	KUNIT_EXPECT_EQ(test, need, total);
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total - 1, KMQ_T_POS,
					 KMQ_T_SEGLEFT, false, &r, &need),
			KMQ_SCAN_MORE);
	KUNIT_EXPECT_EQ(test, need, total);
}

static void kmq_scan_test_end(struct kunit *test)
{
	struct kmq_record r;
	u32 total, need;
	u8 *b = kmq_t_scan_buf(test, KMQ_T_POS, &total);
	u8 *zero = kunit_kzalloc(test, 64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, zero);
	/* The zeroed tail of a pre-allocated segment. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(zero, 64, KMQ_T_POS, KMQ_T_SEGLEFT,
					 false, &r, &need), KMQ_SCAN_END);
	/* Less than a BLANK left in the segment. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total, KMQ_T_POS,
					 KMQ_BLANK_SIZE - 1, true, &r, &need),
			KMQ_SCAN_END);
	/* A record that would cross the segment's end. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total, KMQ_T_POS, total - 1, true,
					 &r, &need), KMQ_SCAN_END);
	/* Found elsewhere than its PHYSICALOFFSET: a stale record. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total, KMQ_T_POS + 4096,
					 KMQ_T_SEGLEFT, false, &r, &need),
			KMQ_SCAN_END);
	/* A torn body (it starts at 88): the CRC no longer matches. */
	b[90] ^= 0x20;
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total, KMQ_T_POS, KMQ_T_SEGLEFT,
					 false, &r, &need), KMQ_SCAN_END);
	b[90] ^= 0x20;
	/* A bad magic. */
	b[4] ^= 0x01;
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total, KMQ_T_POS, KMQ_T_SEGLEFT,
					 false, &r, &need), KMQ_SCAN_END);
	b[4] ^= 0x01;
	/* TOTALSIZE below a BLANK's 8 bytes. */
	b[0] = 0;
	b[1] = 0;
	b[2] = 0;
	b[3] = 7;
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, total, KMQ_T_POS, KMQ_T_SEGLEFT,
					 false, &r, &need), KMQ_SCAN_END);
}

static void kmq_scan_test_blank(struct kunit *test)
{
	u8 *b = kunit_kzalloc(test, 40, GFP_KERNEL);
	struct kmq_record r;
	u32 need;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	KUNIT_ASSERT_EQ(test, kmq_blank_encode(b, 40), 0);
	/* Closes the segment exactly and a next segment exists. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, 40, KMQ_T_POS, 40, true, &r,
					 &need), KMQ_SCAN_BLANK);
	KUNIT_EXPECT_EQ(test, r.total_size, 40U);
	/* A partial filler: ask for all of it. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, 8, KMQ_T_POS, 40, true, &r,
					 &need), KMQ_SCAN_MORE);
	KUNIT_EXPECT_EQ(test, need, 40U);
	/* The newest segment: nothing follows. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, 40, KMQ_T_POS, 40, false, &r,
					 &need), KMQ_SCAN_END);
	/* Short of the segment's end, or past it. */
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, 40, KMQ_T_POS, 48, true, &r,
					 &need), KMQ_SCAN_END);
	KUNIT_EXPECT_EQ(test, kmq_t_scan(b, 40, KMQ_T_POS, 39, true, &r,
					 &need), KMQ_SCAN_END);
}

/* A short segment walked as recovery does: two records, a BLANK. */
static void kmq_scan_test_walk(struct kunit *test)
{
	const u32 seg_size = 512;
	const u64 start = 8 * 512;
	u8 *seg = kunit_kzalloc(test, seg_size, GFP_KERNEL);
	enum kmq_scan_verdict v;
	struct kmq_record r;
	u32 pos = 0, need;
	int recs = 0, n;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, seg);
	while (1) {
		kmq_t_scan_rec(&r, start + pos, recs & 1);
		n = kmq_record_size(0, recs & 1 ? KMQ_SYSFLAG_BORNHOST_V6 : 0,
				    r.body_len, r.topic_len, 0);
		if (pos + n + KMQ_BLANK_SIZE > seg_size)
			break;
		KUNIT_ASSERT_EQ(test, kmq_record_encode(seg + pos,
							seg_size - pos, &r), n);
		pos += n;
		recs++;
	}
	KUNIT_ASSERT_GE(test, recs, 2);
	KUNIT_ASSERT_EQ(test, kmq_blank_encode(seg + pos, seg_size - pos), 0);

	pos = 0;
	n = 0;
	do {
		v = kmq_t_scan(seg + pos, seg_size - pos, start + pos,
			       seg_size - pos, true, &r, &need);
		if (v == KMQ_SCAN_RECORD)
			n++;
		pos += r.total_size;
	} while (v == KMQ_SCAN_RECORD);
	KUNIT_EXPECT_EQ(test, v, KMQ_SCAN_BLANK);
	KUNIT_EXPECT_EQ(test, n, recs);
	KUNIT_EXPECT_EQ(test, pos, seg_size);
}

static void kmq_scan_test_store_ts(struct kunit *test)
{
	u8 *b = kunit_kzalloc(test, 256, GFP_KERNEL);
	struct kmq_record r;
	u64 ts = 0;
	int n;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	kmq_t_scan_rec(&r, 0, false);
	n = kmq_record_encode(b, 256, &r);
	KUNIT_ASSERT_GT(test, n, 0);
	/* v4: STORETIMESTAMP at 56..63. */
	KUNIT_EXPECT_EQ(test, kmq_rec_store_ts(b, 64, &ts), 0);
	KUNIT_EXPECT_EQ(test, ts, 1700000000123ULL);
	KUNIT_EXPECT_EQ(test, kmq_rec_store_ts(b, 63, &ts), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_rec_store_ts(b, 47, &ts), -EINVAL);

	/* Born v6: it moves to 68..75. */
	kmq_t_scan_rec(&r, 0, true);
	r.store_ts = 0x0102030405060708ULL;
	KUNIT_ASSERT_GT(test, kmq_record_encode(b, 256, &r), 0);
	KUNIT_EXPECT_EQ(test, kmq_rec_store_ts(b, 75, &ts), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_rec_store_ts(b, KMQ_REC_TS_PEEK, &ts), 0);
	KUNIT_EXPECT_EQ(test, ts, 0x0102030405060708ULL);

	KUNIT_ASSERT_EQ(test, kmq_blank_encode(b, 256), 0);
	KUNIT_EXPECT_EQ(test, kmq_rec_store_ts(b, 256, &ts), -EINVAL);
}

static struct kunit_case kmq_scan_test_cases[] = {
	KUNIT_CASE(kmq_scan_test_record),
	KUNIT_CASE(kmq_scan_test_more),
	KUNIT_CASE(kmq_scan_test_end),
	KUNIT_CASE(kmq_scan_test_blank),
	KUNIT_CASE(kmq_scan_test_walk),
	KUNIT_CASE(kmq_scan_test_store_ts),
	{}
};

static struct kunit_suite kmq_scan_test_suite = {
	.name = "kmq_scan",
	.test_cases = kmq_scan_test_cases,
};

kunit_test_suite(kmq_scan_test_suite);
