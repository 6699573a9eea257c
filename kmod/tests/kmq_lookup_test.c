// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_lookup_test.c - KUnit suite "kmq_lookup": the pure logic a
 * consume-queue lookup of the kernel store relies on. Where a queue
 * offset lives (kmq_cq_locate(): file and slot, for several file sizes
 * and at file boundaries), the name of that file and back
 * (kmq_cq_file_offset(), kmq_cq_file_index()), the window of open files
 * a queue keeps (kmq_cq_window()), the entries of a hand-built file
 * decoded at the slot the lookup computes, the binary search over a
 * queue's entries (kmq_lower_bound(): the first entry stored at or after
 * a time, the first still in the ring) and where a walk stops under a
 * byte limit (kmq_lookup_take()).
 */
#include <kunit/test.h>
#include <linux/limits.h>
#include <linux/slab.h>

#include "kmq_cq.h"
#include "../kmq_ring.h"

/* ---- queue offset -> (file, slot) --------------------------------- */

struct kmq_t_loc {
	const char *desc;
	u64 idx;
	u32 per;
	u64 fidx;
	u32 pos;
};

static const struct kmq_t_loc kmq_t_locs[] = {
	{ "first entry", 0, KMQ_CQ_FILE_ENTRIES, 0, 0 },
	{ "last of file 0", 299999, KMQ_CQ_FILE_ENTRIES, 0, 299999 },
	{ "first of file 1", 300000, KMQ_CQ_FILE_ENTRIES, 1, 0 },
	{ "second of file 1", 300001, KMQ_CQ_FILE_ENTRIES, 1, 1 },
	{ "last of file 1", 599999, KMQ_CQ_FILE_ENTRIES, 1, 299999 },
	{ "first of file 2", 600000, KMQ_CQ_FILE_ENTRIES, 2, 0 },
	{ "one entry per file", 7, 1, 7, 0 },
	{ "two per file, odd offset", 5, 2, 2, 1 },
	{ "three per file, at a boundary", 6, 3, 2, 0 },
	{ "three per file, before it", 5, 3, 1, 2 },
	{ "small files, far in", 1000000007, 1000, 1000000, 7 },
	{ "16 Mi entries per file", (16ULL << 20) * 3 + 5, 16U << 20, 3, 5 },
	{ "the last queue offset", U64_MAX, KMQ_CQ_FILE_ENTRIES,
	  61489146912365ULL, 51615 },
	{ "U32_MAX per file", U64_MAX, U32_MAX, 4294967297ULL, 0 },
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_loc, kmq_t_locs, desc);

static void kmq_lookup_test_locate(struct kunit *test)
{
	const struct kmq_t_loc *t = test->param_value;
	u32 pos = 0xdead;
	u64 fidx = kmq_cq_locate(t->idx, t->per, &pos);

	KUNIT_EXPECT_EQ(test, fidx, t->fidx);
	KUNIT_EXPECT_EQ(test, pos, t->pos);
	KUNIT_EXPECT_LT(test, pos, t->per);
	KUNIT_EXPECT_EQ(test, fidx * t->per + pos, t->idx);
}

/* ---- file names ----------------------------------------------------- */

static void kmq_lookup_test_names(struct kunit *test)
{
	static const char name[] = "00000000000006000000";
	static const u32 pers[] = { 1, 3, 1000, KMQ_CQ_FILE_ENTRIES };
	u64 off = 0, fidx = 0xdead;
	u32 pos, i;

	/* The byte offset of a file's first entry names it. */
	KUNIT_EXPECT_EQ(test, kmq_cq_file_offset(0, KMQ_CQ_FILE_ENTRIES), 0ULL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_offset(1, KMQ_CQ_FILE_ENTRIES),
			6000000ULL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_offset(2, KMQ_CQ_FILE_ENTRIES),
			12000000ULL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_offset(1, 3), 60ULL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_offset(5, 1), 100ULL);
	/* 16 Mi entries of 20 bytes: no 32-bit product on the way. */
	KUNIT_EXPECT_EQ(test, kmq_cq_file_offset(3, 16U << 20),
			3ULL * (16 << 20) * 20);

	/* Queue offset 300000 is the first entry of file 00..06000000. */
	KUNIT_ASSERT_EQ(test, kmq_parse_offset_name(name, KMQ_OFFSET_NAME_LEN,
						    &off), 0);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_index(off, KMQ_CQ_FILE_ENTRIES,
						&fidx), 0);
	KUNIT_EXPECT_EQ(test, fidx, 1ULL);
	KUNIT_EXPECT_EQ(test, kmq_cq_locate(300000, KMQ_CQ_FILE_ENTRIES, &pos),
			fidx);
	KUNIT_EXPECT_EQ(test, pos, 0U);

	/* A name that is not a whole number of files is refused. */
	fidx = 0xdead;
	KUNIT_EXPECT_EQ(test, kmq_cq_file_index(6000020, KMQ_CQ_FILE_ENTRIES,
						&fidx), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_index(5999980, KMQ_CQ_FILE_ENTRIES,
						&fidx), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_index(U64_MAX, KMQ_CQ_FILE_ENTRIES,
						&fidx), -EINVAL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_index(30, 1, &fidx), -EINVAL);
	KUNIT_EXPECT_EQ(test, fidx, 0xdeadULL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_index(0, KMQ_CQ_FILE_ENTRIES, &fidx),
			0);
	KUNIT_EXPECT_EQ(test, fidx, 0ULL);
	KUNIT_EXPECT_EQ(test, kmq_cq_file_index(40, 1, &fidx), 0);
	KUNIT_EXPECT_EQ(test, fidx, 2ULL);

	/* Entry -> file -> name -> file, around each file boundary. */
	for (i = 0; i < ARRAY_SIZE(pers); i++) {
		u64 b, idx;

		for (b = 1; b < 4; b++) {
			for (idx = b * pers[i] - 1; idx <= b * pers[i]; idx++) {
				u64 f = kmq_cq_locate(idx, pers[i], &pos), g;
				u64 name_off = kmq_cq_file_offset(f, pers[i]);

				KUNIT_EXPECT_EQ(test,
						kmq_cq_file_index(name_off, pers[i],
								  &g), 0);
				KUNIT_EXPECT_EQ(test, g, f);
				KUNIT_EXPECT_EQ(test, f, idx < b * pers[i] ?
						b - 1 : b);
			}
		}
	}
}

/* ---- the window of open files -------------------------------------- */

struct kmq_t_win {
	const char *desc;
	u64 first;
	u64 n;
	u64 fidx;
	int ret;
	u64 nfirst;
	u64 ncnt;
};

static const struct kmq_t_win kmq_t_wins[] = {
	{ "no file yet", 0, 0, 5, 1, 5, 1 },
	{ "inside", 3, 4, 5, 0, 3, 4 },
	{ "its first slot", 3, 4, 3, 0, 3, 4 },
	{ "its last slot", 3, 4, 6, 0, 3, 4 },
	{ "one past it", 3, 4, 7, 1, 3, 5 },
	{ "one before it", 3, 4, 2, 1, 2, 5 },
	{ "far past it", 3, 4, 100, 1, 3, 98 },
	{ "far before it", 100, 2, 0, 1, 0, 102 },
	{ "up to the limit", 0, 1, KMQ_CQ_SLOTS_MAX - 1, 1, 0,
	  KMQ_CQ_SLOTS_MAX },
	{ "one over the limit", 0, 1, KMQ_CQ_SLOTS_MAX, -EFBIG, 0, 1 },
	{ "below, over the limit", KMQ_CQ_SLOTS_MAX, 1, 0, -EFBIG,
	  KMQ_CQ_SLOTS_MAX, 1 },
	{ "no file yet, the last index", 0, 0, U64_MAX, 1, U64_MAX, 1 },
	{ "from 0 to the last index", 0, 1, U64_MAX, -EFBIG, 0, 1 },
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_win, kmq_t_wins, desc);

static void kmq_lookup_test_window(struct kunit *test)
{
	const struct kmq_t_win *t = test->param_value;
	u64 nfirst = 0xdead, ncnt = 0xdead;

	KUNIT_EXPECT_EQ(test, kmq_cq_window(t->first, t->n, t->fidx, &nfirst,
					    &ncnt), t->ret);
	KUNIT_EXPECT_EQ(test, nfirst, t->nfirst);
	KUNIT_EXPECT_EQ(test, ncnt, t->ncnt);
	if (t->ret >= 0) {
		/* Both the old window and @fidx fit in the new one. */
		KUNIT_EXPECT_LE(test, nfirst, t->fidx);
		KUNIT_EXPECT_LE(test, t->fidx - nfirst, ncnt - 1);
		if (t->n) {
			KUNIT_EXPECT_LE(test, nfirst, t->first);
			KUNIT_EXPECT_LE(test, t->first + t->n - 1 - nfirst,
					ncnt - 1);
		}
	}
}

/* ---- entries of a hand-built file, at the slot the lookup computes -- */

/*
 * File 1 of a queue with 4 entries per file (queue offsets 4 to 7), as
 * [be64 commitlog offset][be32 size][be64 tags code] written by hand.
 */
static const u8 kmq_t_file1[4 * KMQ_CQ_ENTRY_SIZE] = {
	/* 4: offset 0x10000, 91 bytes, no tag */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x5b,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 5: absent (size 0): a hole */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x5b,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 6: past 4 GiB, tags code -1 (a tag whose hash is -1) */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
	0x00, 0x00, 0x01, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	/* 7: a delayed message: the tag slot holds its delivery time */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x10,
	0x7f, 0xff, 0xff, 0xff,
	0x00, 0x00, 0x01, 0x8b, 0xd0, 0x1c, 0x56, 0x80,
};

static void kmq_lookup_test_decode_file(struct kunit *test)
{
	static const struct kmq_cq_entry want[] = {
		{ 0x10000, 91, 0 },
		{ 0x1005b, 0, 0 },
		{ 0x100000010ULL, 256, -1 },
		{ 0x100000110ULL, 0x7fffffff, 1700003600000LL },
	};
	u8 *file = kunit_kmalloc(test, sizeof(kmq_t_file1), GFP_KERNEL);
	static const s64 minus_one[] = { -1 };
	static const s64 low32[] = { 0xffffffffLL };
	struct kmq_cq_entry e;
	u64 idx;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	memcpy(file, kmq_t_file1, sizeof(kmq_t_file1));
	for (idx = 4; idx < 8; idx++) {
		u32 pos;

		KUNIT_EXPECT_EQ(test, kmq_cq_locate(idx, 4, &pos), 1ULL);
		KUNIT_ASSERT_LT(test, pos, 4U);
		kmq_cq_entry_decode(file + pos * KMQ_CQ_ENTRY_SIZE, &e);
		KUNIT_EXPECT_EQ(test, e.phys_offset, want[idx - 4].phys_offset);
		KUNIT_EXPECT_EQ(test, e.size, want[idx - 4].size);
		KUNIT_EXPECT_EQ(test, e.tags_code, want[idx - 4].tags_code);
	}
	/* The filter a read applies: -1 is not 0xffffffff. */
	kmq_cq_entry_decode(file + 2 * KMQ_CQ_ENTRY_SIZE, &e);
	KUNIT_EXPECT_TRUE(test, kmq_tags_match(minus_one, 1, e.tags_code));
	KUNIT_EXPECT_FALSE(test, kmq_tags_match(low32, 1, e.tags_code));
}

/* ---- binary search: offset by time ----------------------------------- */

/*
 * A queue whose entry i (from @base) has store time @ts[i]; an entry
 * whose record cannot be read has time 0, as kmq_entry_ts() gives.
 * Counts the calls and whether one was outside [lo, hi).
 */
struct kmq_t_times {
	const u64 *ts;
	u64 base;
	u64 lo;
	u64 hi;
	u64 want;
	u32 calls;
	bool outside;
};

static bool kmq_t_at_or_after(void *arg, u64 idx)
{
	struct kmq_t_times *q = arg;

	q->calls++;
	if (idx < q->lo || idx >= q->hi) {
		q->outside = true;
		return true;
	}
	return q->ts[idx - q->base] >= q->want;
}

static u64 kmq_t_by_time(struct kmq_t_times *q, u64 lo, u64 hi, u64 want)
{
	q->lo = lo;
	q->hi = hi;
	q->want = want;
	q->calls = 0;
	q->outside = false;
	return kmq_lower_bound(lo, hi, kmq_t_at_or_after, q);
}

static void kmq_lookup_test_by_time(struct kunit *test)
{
	static const u64 ts[] = {
		1000, 1000, 2000, 3000, 3000, 3000, 4000, 5000,
	};
	static const struct {
		u64 want;
		u64 offset;
	} cases[] = {
		{ 0, 100 }, { 999, 100 }, { 1000, 100 }, { 1001, 102 },
		{ 2000, 102 }, { 3000, 103 }, { 3001, 106 }, { 5000, 107 },
		{ 5001, 108 }, { U64_MAX, 108 },
	};
	struct kmq_t_times q = { .ts = ts, .base = 100 };
	u32 i;

	/* Queue offsets 100 to 107 (its min moved to 100). */
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_EXPECT_EQ_MSG(test, kmq_t_by_time(&q, 100, 108,
							cases[i].want),
				    cases[i].offset, "time %llu", cases[i].want);
		KUNIT_EXPECT_LE(test, q.calls, 4U);	/* log2(8) + 1 */
		KUNIT_EXPECT_FALSE(test, q.outside);
	}
	/* Part of the queue: its answer stays in the part. */
	KUNIT_EXPECT_EQ(test, kmq_t_by_time(&q, 102, 106, 3000), 103ULL);
	KUNIT_EXPECT_EQ(test, kmq_t_by_time(&q, 102, 106, 9000), 106ULL);
	KUNIT_EXPECT_EQ(test, kmq_t_by_time(&q, 104, 106, 0), 104ULL);
	KUNIT_EXPECT_FALSE(test, q.outside);
	/* One entry; an empty queue (min == max) asks nothing. */
	KUNIT_EXPECT_EQ(test, kmq_t_by_time(&q, 107, 108, 5000), 107ULL);
	KUNIT_EXPECT_EQ(test, q.calls, 1U);
	KUNIT_EXPECT_EQ(test, kmq_t_by_time(&q, 108, 108, 0), 108ULL);
	KUNIT_EXPECT_EQ(test, q.calls, 0U);
	KUNIT_EXPECT_EQ(test, kmq_t_by_time(&q, 108, 100, 0), 108ULL);
	KUNIT_EXPECT_EQ(test, q.calls, 0U);
}

/* Store time = distance from @q->base: a queue of any length. */
static bool kmq_t_linear(void *arg, u64 idx)
{
	struct kmq_t_times *q = arg;

	q->calls++;
	if (idx < q->lo || idx >= q->hi)
		q->outside = true;
	return idx - q->base >= q->want;
}

/* 2^40 entries, and a queue ending at the last offset: no overflow. */
static void kmq_lookup_test_by_time_long(struct kunit *test)
{
	static const u64 wants[] = { 0, 1, 12345678901ULL, (1ULL << 40) - 1 };
	struct kmq_t_times q = { .base = 0 };
	u64 lo = U64_MAX - (1ULL << 40);
	u32 i;

	for (i = 0; i < ARRAY_SIZE(wants); i++) {
		q.base = 0;
		q.lo = 0;
		q.hi = 1ULL << 40;
		q.want = wants[i];
		q.calls = 0;
		KUNIT_EXPECT_EQ(test, kmq_lower_bound(0, 1ULL << 40,
						      kmq_t_linear, &q),
				wants[i]);
		KUNIT_EXPECT_LE(test, q.calls, 41U);

		q.base = lo;
		q.lo = lo;
		q.hi = U64_MAX;
		q.calls = 0;
		KUNIT_EXPECT_EQ(test, kmq_lower_bound(lo, U64_MAX, kmq_t_linear,
						      &q), lo + wants[i]);
		KUNIT_EXPECT_LE(test, q.calls, 41U);
	}
	q.want = 1ULL << 40;
	KUNIT_EXPECT_EQ(test, kmq_lower_bound(lo, U64_MAX, kmq_t_linear, &q),
			U64_MAX);
	KUNIT_EXPECT_FALSE(test, q.outside);
}

/* ---- binary search: the first entry still in the ring ------------------ */

struct kmq_t_ring {
	const u8 *entries;	/* hand-built, from queue offset 0 */
	u64 cl_min;
};

/* kmq_cq_trim()'s rule: present, and its record at or above cl_min. */
static bool kmq_t_in_ring(void *arg, u64 idx)
{
	struct kmq_t_ring *r = arg;
	struct kmq_cq_entry e;

	kmq_cq_entry_decode(r->entries + idx * KMQ_CQ_ENTRY_SIZE, &e);
	return e.size && e.phys_offset >= r->cl_min;
}

/* Two absent entries (never written), then records at 0x1000, 0x2000.. */
static const u8 kmq_t_ring_entries[6 * KMQ_CQ_ENTRY_SIZE] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0x20, 0x00, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 7,
	0, 0, 0, 0, 0, 0, 0x30, 0x00, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0x40, 0x00, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void kmq_lookup_test_trim(struct kunit *test)
{
	static const struct {
		u64 cl_min;
		u64 min;
	} cases[] = {
		{ 0, 2 }, { 0x1000, 2 }, { 0x1001, 3 }, { 0x2000, 3 },
		{ 0x3fff, 5 }, { 0x4000, 5 }, { 0x4001, 6 }, { U64_MAX, 6 },
	};
	u8 *buf = kunit_kmalloc(test, sizeof(kmq_t_ring_entries), GFP_KERNEL);
	struct kmq_t_ring r;
	u32 i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	memcpy(buf, kmq_t_ring_entries, sizeof(kmq_t_ring_entries));
	r.entries = buf;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		r.cl_min = cases[i].cl_min;
		KUNIT_EXPECT_EQ_MSG(test, kmq_lower_bound(0, 6, kmq_t_in_ring,
							  &r),
				    cases[i].min, "ring from %llu",
				    cases[i].cl_min);
	}
	/* A queue whose min already moved keeps it or moves it up. */
	r.cl_min = 0;
	KUNIT_EXPECT_EQ(test, kmq_lower_bound(4, 6, kmq_t_in_ring, &r), 4ULL);
	r.cl_min = 0x4001;
	KUNIT_EXPECT_EQ(test, kmq_lower_bound(4, 6, kmq_t_in_ring, &r), 6ULL);
}

/* ---- where a walk stops under a byte limit ----------------------------- */

struct kmq_t_walk {
	const char *desc;
	u32 sizes[6];		/* matching records in order, 0 ends */
	u64 max_bytes;
	bool first_always;
	int ret;		/* 0 or the error of the first record */
	u32 count;		/* records taken */
	u64 bytes;
};

static const struct kmq_t_walk kmq_t_walks[] = {
	{ "read: all fit", { 100, 100, 100 }, 300, false, 0, 3, 300 },
	{ "read: stops at the one over", { 120, 80, 200, 10 }, 300, false,
	  0, 2, 200 },
	{ "read: exactly the buffer", { 4096 }, 4096, false, 0, 1, 4096 },
	{ "read: first one byte too big", { 4097, 1 }, 4096, false, -ENOSPC,
	  0, 0 },
	{ "read: empty buffer", { 1 }, 0, false, -ENOSPC, 0, 0 },
	{ "pull: a big first record alone", { 5000, 10, 10 }, 100, true, 0, 1,
	  5000 },
	{ "pull: zero limit takes one", { 1, 1 }, 0, true, 0, 1, 1 },
	{ "pull: 1 KiB records, 2 KiB limit", { 1024, 1024, 1024 }, 2048, true,
	  0, 2, 2048 },
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_walk, kmq_t_walks, desc);

/*
 * Feed the records to kmq_lookup_take() until it says stop (0) or fails,
 * counting what it takes.
 */
static void kmq_lookup_test_walk(struct kunit *test)
{
	const struct kmq_t_walk *t = test->param_value;
	u32 count = 0, i;
	u64 bytes = 0;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(t->sizes) && t->sizes[i]; i++) {
		ret = kmq_lookup_take(count, bytes, t->sizes[i], t->max_bytes,
				      t->first_always);
		if (ret <= 0)
			break;
		count++;
		bytes += t->sizes[i];
	}
	KUNIT_EXPECT_EQ(test, ret < 0 ? ret : 0, t->ret);
	KUNIT_EXPECT_EQ(test, count, t->count);
	KUNIT_EXPECT_EQ(test, bytes, t->bytes);
}

static struct kunit_case kmq_lookup_test_cases[] = {
	KUNIT_CASE_PARAM(kmq_lookup_test_locate, kmq_t_loc_gen_params),
	KUNIT_CASE(kmq_lookup_test_names),
	KUNIT_CASE_PARAM(kmq_lookup_test_window, kmq_t_win_gen_params),
	KUNIT_CASE(kmq_lookup_test_decode_file),
	KUNIT_CASE(kmq_lookup_test_by_time),
	KUNIT_CASE(kmq_lookup_test_by_time_long),
	KUNIT_CASE(kmq_lookup_test_trim),
	KUNIT_CASE_PARAM(kmq_lookup_test_walk, kmq_t_walk_gen_params),
	{}
};

static struct kunit_suite kmq_lookup_test_suite = {
	.name = "kmq_lookup",
	.test_cases = kmq_lookup_test_cases,
};

kunit_test_suite(kmq_lookup_test_suite);
