// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_props_test.c - KUnit suite "kmq_props": message properties and the
 * tag hash (uapi/kmq_props.c) as compiled into kmq.ko.
 *
 * The tag hash must equal Java's String.hashCode() of the tag (h = 31h + u
 * over UTF-16 code units, int32, sign-extended): each vector below was
 * worked out from that definition, malformed UTF-8 counting as U+FFFD the
 * way Java's decoder replaces it. Properties strings are handed over in
 * exactly sized buffers so that KASAN sees any read past their length.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kmq_record.h"
#include "kmq_props.h"

/* A test-managed copy of the @len bytes at @s, with nothing after them. */
static const char *kmq_t_copy(struct kunit *test, const char *s, u32 len)
{
	char *p = kunit_kmalloc(test, len ? len : 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
	memcpy(p, s, len);
	return p;
}

struct kmq_t_hash {
	const char *desc;
	const char *tag;
	u32 len;
	s64 hash;
};

#define KMQ_T_HASH(d, t, h)	{ d, t, sizeof(t) - 1, h }

static const struct kmq_t_hash kmq_t_hashes[] = {
	KMQ_T_HASH("empty", "", 0),
	KMQ_T_HASH("a", "a", 97),
	KMQ_T_HASH("ab = 97*31 + 98", "ab", 3105),
	KMQ_T_HASH("a NUL b: a NUL is a code unit", "a\0b", 93315),
	KMQ_T_HASH("TagA", "TagA", 2598919),
	KMQ_T_HASH("TagB", "TagB", 2598920),
	KMQ_T_HASH("U+00E9 from C3 A9", "\xc3\xa9", 233),
	KMQ_T_HASH("U+4E2D from E4 B8 AD", "\xe4\xb8\xad", 20013),
	KMQ_T_HASH("two CJK characters", "\xe6\xb6\x88\xe6\x81\xaf", 893927),
	KMQ_T_HASH("U+1F600: surrogate pair D83D DE00", "\xf0\x9f\x98\x80",
		   1772899),
	KMQ_T_HASH("a then U+1F600", "a\xf0\x9f\x98\x80", 1866116),
	KMQ_T_HASH("polygenelubricants wraps to -2^31", "polygenelubricants",
		   -2147483648LL),
	KMQ_T_HASH("FF: one U+FFFD", "\xff", 65533),
	KMQ_T_HASH("truncated C3: one U+FFFD", "\xc3", 65533),
	KMQ_T_HASH("truncated E4 B8: one U+FFFD", "\xe4\xb8", 65533),
	KMQ_T_HASH("E4 B8 then A: U+FFFD A", "\344\270A", 2031588),
	KMQ_T_HASH("stray continuation byte", "a\200b", 2124838),
	KMQ_T_HASH("overlong C0 AF: two U+FFFD", "\xc0\xaf", 2097056),
	KMQ_T_HASH("overlong E0 80 80: three U+FFFD", "\xe0\x80\x80",
		   65074269),
	KMQ_T_HASH("truncated F0 9F 98: one U+FFFD", "\xf0\x9f\x98", 65533),
	KMQ_T_HASH("F0 9F 98 then A", "\360\237\230A", 2031588),
	KMQ_T_HASH("F4 90 80 80 past U+10FFFF: four U+FFFD",
		   "\xf4\x90\x80\x80", 2017367872),
	KMQ_T_HASH("encoded surrogate ED A0 80: one U+FFFD", "\xed\xa0\x80",
		   65533),
	KMQ_T_HASH("ED 9F BF is U+D7FF", "\xed\x9f\xbf", 0xd7ff),
	KMQ_T_HASH("a real U+FFFD", "\xef\xbf\xbd", 65533),
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_hash, kmq_t_hashes, desc);

static void kmq_props_test_tag_hash(struct kunit *test)
{
	const struct kmq_t_hash *h = test->param_value;
	const char *tag = kmq_t_copy(test, h->tag, h->len);

	KUNIT_EXPECT_EQ(test, kmq_tag_hash(tag, h->len), h->hash);
}

static void kmq_props_test_tag_hash_len(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, kmq_tag_hash("abc", 1), 97LL);
	KUNIT_EXPECT_EQ(test, kmq_tag_hash(NULL, 0), 0LL);
	KUNIT_EXPECT_LT(test, kmq_tag_hash("polygenelubricants", 18), 0LL);
}

static void kmq_props_test_next(struct kunit *test)
{
	static const char s[] = "TAGS\001TagA\002KEYS\001k1 k2\002";
	const u32 len = sizeof(s) - 1;
	const char *p = kmq_t_copy(test, s, len);
	struct kmq_prop pr;
	u32 pos = 0;

	KUNIT_ASSERT_EQ(test, kmq_props_next(p, len, &pos, &pr), 1);
	KUNIT_EXPECT_PTR_EQ(test, pr.name, p);
	KUNIT_EXPECT_EQ(test, pr.name_len, 4U);
	KUNIT_EXPECT_PTR_EQ(test, pr.value, p + 5);
	KUNIT_EXPECT_EQ(test, pr.value_len, 4U);
	KUNIT_EXPECT_EQ(test, pos, 10U);
	KUNIT_ASSERT_EQ(test, kmq_props_next(p, len, &pos, &pr), 1);
	KUNIT_EXPECT_MEMEQ(test, pr.name, "KEYS", 4);
	KUNIT_ASSERT_EQ(test, pr.value_len, 5U);
	KUNIT_EXPECT_MEMEQ(test, pr.value, "k1 k2", 5);
	KUNIT_EXPECT_EQ(test, pos, len);
	KUNIT_EXPECT_EQ(test, kmq_props_next(p, len, &pos, &pr), 0);
	KUNIT_EXPECT_EQ(test, kmq_props_next(p, len, &pos, &pr), 0);

	/* A final pair may lack its \2; values may be empty. */
	p = kmq_t_copy(test, "a\001b", 3);
	pos = 0;
	KUNIT_EXPECT_EQ(test, kmq_props_next(p, 3, &pos, &pr), 1);
	KUNIT_EXPECT_EQ(test, pr.value_len, 1U);
	KUNIT_EXPECT_EQ(test, pos, 3U);
	KUNIT_EXPECT_EQ(test, kmq_props_next(p, 3, &pos, &pr), 0);
	p = kmq_t_copy(test, "a\001", 2);
	pos = 0;
	KUNIT_EXPECT_EQ(test, kmq_props_next(p, 2, &pos, &pr), 1);
	KUNIT_EXPECT_EQ(test, pr.value_len, 0U);
	KUNIT_EXPECT_EQ(test, pos, 2U);
	pos = 0;
	KUNIT_EXPECT_EQ(test, kmq_props_next(p, 0, &pos, &pr), 0);
}

struct kmq_t_bad_props {
	const char *desc;
	const char *s;
	u32 len;
};

#define KMQ_T_BADP(d, s)	{ d, s, sizeof(s) - 1 }

static const struct kmq_t_bad_props kmq_t_bad_propses[] = {
	KMQ_T_BADP("empty name", "\001b\002"),
	KMQ_T_BADP("pair without \\1", "ab\002"),
	KMQ_T_BADP("no separator at all", "ab"),
	KMQ_T_BADP("\\1 inside a value", "a\001b\001c\002"),
	KMQ_T_BADP("lone \\2", "\002"),
	KMQ_T_BADP("lone \\1", "\001"),
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_bad_props, kmq_t_bad_propses, desc);

static void kmq_props_test_malformed(struct kunit *test)
{
	const struct kmq_t_bad_props *b = test->param_value;
	const char *p = kmq_t_copy(test, b->s, b->len);
	const char *v;
	struct kmq_prop pr;
	u32 pos = 0, vl;

	KUNIT_EXPECT_EQ(test, kmq_props_next(p, b->len, &pos, &pr),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, pos, 0U);
	KUNIT_EXPECT_EQ(test, kmq_props_validate(p, b->len), -KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, kmq_props_get(p, b->len, "a", 1, &v, &vl),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(p, b->len), 0LL);
}

static void kmq_props_test_validate(struct kunit *test)
{
	const char *p = kmq_t_copy(test, "a\001b\002\002", 5);
	struct kmq_prop pr;
	u32 pos = 4;

	KUNIT_EXPECT_EQ(test, kmq_props_next(p, 5, &pos, &pr),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, kmq_props_validate(p, 5), -KMQ_FMT_EPROPS);
	pos = 6;
	KUNIT_EXPECT_EQ(test, kmq_props_next(p, 5, &pos, &pr),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, kmq_props_validate(NULL, 0), 0);
	/* Only @len bytes count: the \2 at index 3 lies outside. */
	p = kmq_t_copy(test, "a\001b\002", 4);
	KUNIT_EXPECT_EQ(test, kmq_props_validate(p, 3), 0);
	p = kmq_t_copy(test, "ab\001", 3);
	KUNIT_EXPECT_EQ(test, kmq_props_validate(p, 2), -KMQ_FMT_EPROPS);
	p = kmq_t_copy(test, "a\001b\002c\001d", 7);
	KUNIT_EXPECT_EQ(test, kmq_props_validate(p, 7), 0);
	p = kmq_t_copy(test, "ab", 2);
	KUNIT_EXPECT_EQ(test, kmq_props_validate(p, 2), -KMQ_FMT_EPROPS);
}

static void kmq_props_test_get(struct kunit *test)
{
	static const char s[] =
		"TAG\001x\002TAGS\001first\002KEYS\001k\002TAGS\001last\002";
	const u32 len = sizeof(s) - 1;
	const char *p = kmq_t_copy(test, s, len);
	const char *v = NULL;
	u32 vl = 0;

	KUNIT_ASSERT_EQ(test, kmq_props_get(p, len, "KEYS", 4, &v, &vl), 0);
	KUNIT_ASSERT_EQ(test, vl, 1U);
	KUNIT_EXPECT_EQ(test, v[0], 'k');
	KUNIT_ASSERT_EQ(test, kmq_props_get(p, len, "TAGS", 4, &v, &vl), 0);
	KUNIT_ASSERT_EQ(test, vl, 4U);
	KUNIT_EXPECT_MEMEQ(test, v, "last", 4);
	KUNIT_ASSERT_EQ(test, kmq_props_get(p, len, "TAG", 3, &v, &vl), 0);
	KUNIT_ASSERT_EQ(test, vl, 1U);
	KUNIT_EXPECT_EQ(test, v[0], 'x');
	KUNIT_EXPECT_EQ(test, kmq_props_get(p, len, "TA", 2, &v, &vl),
			-KMQ_FMT_ENOENT);
	KUNIT_EXPECT_EQ(test, kmq_props_get(p, len, "TAGSS", 5, &v, &vl),
			-KMQ_FMT_ENOENT);
	KUNIT_EXPECT_EQ(test, kmq_props_get(p, len, "WAIT", 4, &v, &vl),
			-KMQ_FMT_ENOENT);
	KUNIT_EXPECT_EQ(test, kmq_props_get(p, 0, "WAIT", 4, &v, &vl),
			-KMQ_FMT_ENOENT);
	p = kmq_t_copy(test, "KEYS\001k\002bad\002", 11);
	KUNIT_EXPECT_EQ(test, kmq_props_get(p, 11, "KEYS", 4, &v, &vl),
			-KMQ_FMT_EPROPS);
}

static void kmq_props_test_put(struct kunit *test)
{
	char *buf = kunit_kmalloc(test, 32, GFP_KERNEL);
	u32 pos = 0;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	memset(buf, '#', 32);
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "TAGS", 4, "TagA",
					    4), 0);
	KUNIT_EXPECT_EQ(test, pos, 10U);
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "E", 1, "", 0), 0);
	KUNIT_EXPECT_EQ(test, pos, 13U);
	KUNIT_EXPECT_MEMEQ(test, buf, "TAGS\001TagA\002E\001\002#", 14);
	KUNIT_EXPECT_EQ(test, kmq_props_validate(buf, pos), 0);
	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(buf, pos), 2598919LL);

	/* 19 bytes left: "KEYS\1" + 14 + "\2" is one too many. */
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "KEYS", 4,
					    "0123456789abcd", 14),
			-KMQ_FMT_ENOSPACE);
	KUNIT_EXPECT_EQ(test, pos, 13U);
	KUNIT_EXPECT_EQ(test, buf[13], '#');
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "KEYS", 4,
					    "0123456789abc", 13), 0);
	KUNIT_EXPECT_EQ(test, pos, 32U);
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "A", 1, "", 0),
			-KMQ_FMT_ENOSPACE);

	pos = 0;
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "A\001", 2, "b", 1),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "A\002", 2, "b", 1),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "A", 1, "b\001", 2),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "A", 1, "\002b", 2),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "", 0, "b", 1),
			-KMQ_FMT_EPROPS);
	KUNIT_EXPECT_EQ(test, pos, 0U);
	pos = 40;
	KUNIT_EXPECT_EQ(test, kmq_props_put(buf, 32, &pos, "A", 1, "b", 1),
			-KMQ_FMT_ENOSPACE);
}

static void kmq_props_test_tags_code(struct kunit *test)
{
	static const char s1[] = "KEYS\001k\002TAGS\001TagA\002";
	const char *p = kmq_t_copy(test, s1, sizeof(s1) - 1);

	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(p, sizeof(s1) - 1),
			2598919LL);
	p = kmq_t_copy(test, "TAGS\001TagA", 9);
	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(p, 9), 2598919LL);
	p = kmq_t_copy(test, "KEYS\001k\002", 7);
	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(p, 7), 0LL);
	p = kmq_t_copy(test, "TAGS\001\002", 6);
	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(p, 6), 0LL);
	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(NULL, 0), 0LL);
	p = kmq_t_copy(test, "TAGS\001TagA\002junk", 14);
	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(p, 14), 0LL);
	p = kmq_t_copy(test, "TAGS\001polygenelubricants", 23);
	KUNIT_EXPECT_EQ(test, kmq_props_tags_code(p, 23), -2147483648LL);
}

static struct kunit_case kmq_props_test_cases[] = {
	KUNIT_CASE_PARAM(kmq_props_test_tag_hash, kmq_t_hash_gen_params),
	KUNIT_CASE(kmq_props_test_tag_hash_len),
	KUNIT_CASE(kmq_props_test_next),
	KUNIT_CASE_PARAM(kmq_props_test_malformed,
			 kmq_t_bad_props_gen_params),
	KUNIT_CASE(kmq_props_test_validate),
	KUNIT_CASE(kmq_props_test_get),
	KUNIT_CASE(kmq_props_test_put),
	KUNIT_CASE(kmq_props_test_tags_code),
	{}
};

static struct kunit_suite kmq_props_test_suite = {
	.name = "kmq_props",
	.test_cases = kmq_props_test_cases,
};

kunit_test_suite(kmq_props_test_suite);
