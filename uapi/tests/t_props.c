// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * t_props.c - TAP tests of message properties and the tag hash
 * (uapi/kmq_props.c). Expected hashes are worked out by hand from Java's
 * String.hashCode(): h = 31 * h + u over UTF-16 code units, int32.
 */
#include <string.h>

#include "kmq_tap.h"
#include "kmq_record.h"
#include "kmq_props.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Wrappers for NUL-free C strings; explicit lengths are tested directly. */
static __s64 hash(const char *tag)
{
	return kmq_tag_hash(tag, strlen(tag));
}

static int next(const char *p, __u32 *pos, struct kmq_prop *pr)
{
	return kmq_props_next(p, strlen(p), pos, pr);
}

static int validate(const char *p)
{
	return kmq_props_validate(p, strlen(p));
}

static int get(const char *p, const char *name, const char **v, __u32 *vl)
{
	return kmq_props_get(p, strlen(p), name, strlen(name), v, vl);
}

static int put(char *buf, __u32 cap, __u32 *pos, const char *name,
	       const char *value)
{
	return kmq_props_put(buf, cap, pos, name, strlen(name), value,
			     strlen(value));
}

static __s64 tags_code(const char *p)
{
	return kmq_props_tags_code(p, strlen(p));
}

static void test_next(void)
{
	static const char p[] = "TAGS\001TagA\002KEYS\001k1 k2\002";
	struct kmq_prop pr;
	__u32 pos = 0;

	is_int(next(p, &pos, &pr), 1, "first pair");
	ok(pr.name == p && pr.name_len == 4, "name TAGS");
	ok(pr.value == p + 5 && pr.value_len == 4, "value TagA");
	is_int(pos, 10, "cursor after the first \\2");
	is_int(next(p, &pos, &pr), 1, "second pair");
	is_mem(pr.name, "KEYS", 4, "name KEYS");
	is_int(pr.value_len, 5, "value length 5");
	is_mem(pr.value, "k1 k2", 5, "value 'k1 k2'");
	is_int(pos, sizeof(p) - 1, "cursor at the end");
	is_int(next(p, &pos, &pr), 0, "then the end");
	is_int(next(p, &pos, &pr), 0, "and it stays there");

	pos = 0;
	is_int(next("a\001b", &pos, &pr), 1,
	       "final pair without \\2 accepted");
	ok(pr.value_len == 1 && pr.value[0] == 'b', "its value");
	is_int(pos, 3, "cursor at the end");
	is_int(next("a\001b", &pos, &pr), 0, "then the end");

	pos = 0;
	is_int(next("a\001\002", &pos, &pr), 1, "empty value");
	is_int(pr.value_len, 0, "empty value length 0");
	pos = 0;
	is_int(next("a\001", &pos, &pr), 1,
	       "empty final value without \\2");
	is_int(pos, 2, "cursor at the end");
	pos = 0;
	is_int(kmq_props_next("", 0, &pos, &pr), 0, "empty properties");
}

static void test_next_malformed(void)
{
	static const char * const bad[] = {
		"\001b\002",		/* empty name */
		"ab\002",		/* pair without \1 */
		"ab",			/* no separator at all */
		"a\001b\001c\002",	/* \1 in a value */
		"\002",			/* lone pair separator */
		"\001",			/* lone name separator */
	};
	struct kmq_prop pr;
	__u32 pos;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		pos = 0;
		is_int(kmq_props_next(bad[i], strlen(bad[i]), &pos, &pr),
		       -KMQ_FMT_EPROPS, "malformed case %zu: EPROPS", i);
		is_int(pos, 0, "malformed case %zu: cursor unmoved", i);
		is_int(kmq_props_validate(bad[i], strlen(bad[i])),
		       -KMQ_FMT_EPROPS, "malformed case %zu: validate", i);
	}
	pos = 4;
	is_int(next("a\001b\002\002", &pos, &pr),
	       -KMQ_FMT_EPROPS, "stray \\2 after a pair");
	is_int(validate("a\001b\002\002"), -KMQ_FMT_EPROPS,
	       "validate sees the stray \\2");
	pos = 5;
	is_int(next("a\001b", &pos, &pr), -KMQ_FMT_EPROPS,
	       "cursor past the end");
	is_int(validate("a\001b\002c\001d"), 0,
	       "validate: good properties");
	is_int(kmq_props_validate(NULL, 0), 0, "validate: empty");
	/* The length bounds the scan: the \2 at index 3 is outside. */
	is_int(kmq_props_validate("a\001b\002", 3), 0,
	       "validate stops at len");
	is_int(kmq_props_validate("ab\001", 2), -KMQ_FMT_EPROPS,
	       "a \\1 past len is not seen");
}

static void test_get(void)
{
	static const char p[] =
		"TAG\001x\002TAGS\001first\002KEYS\001k\002TAGS\001last\002";
	const char *v = NULL;
	__u32 vl = 0;

	is_int(get(p, "KEYS", &v, &vl), 0, "get KEYS");
	ok(vl == 1 && v[0] == 'k', "KEYS value");
	is_int(get(p, "TAGS", &v, &vl), 0, "get TAGS");
	ok(vl == 4 && !memcmp(v, "last", 4), "the last duplicate wins");
	is_int(get(p, "TAG", &v, &vl), 0, "get TAG");
	ok(vl == 1 && v[0] == 'x', "a name that prefixes another");
	is_int(get(p, "TA", &v, &vl), -KMQ_FMT_ENOENT,
	       "a prefix of a name is not a match");
	is_int(get(p, "TAGSS", &v, &vl), -KMQ_FMT_ENOENT,
	       "a longer name is not a match");
	is_int(get(p, "WAIT", &v, &vl), -KMQ_FMT_ENOENT,
	       "absent name: ENOENT");
	is_int(get("", "WAIT", &v, &vl), -KMQ_FMT_ENOENT,
	       "empty properties: ENOENT");
	is_int(get("KEYS\001k\002bad\002", "KEYS", &v, &vl),
	       -KMQ_FMT_EPROPS, "malformed after the match: EPROPS");
	is_int(get("E\001\002", "E", &v, &vl), 0,
	       "empty value found");
	is_int(vl, 0, "empty value length");
}

static void test_put(void)
{
	char buf[32];
	__u32 pos = 0;

	memset(buf, '#', sizeof(buf));
	is_int(put(buf, sizeof(buf), &pos, "TAGS", "TagA"), 0,
	       "put TAGS");
	is_int(pos, 10, "cursor after 10 bytes");
	is_int(put(buf, sizeof(buf), &pos, "E", ""), 0,
	       "put an empty value");
	is_int(pos, 13, "cursor after 13 bytes");
	is_mem(buf, "TAGS\001TagA\002E\001\002#", 14, "bytes as expected");
	is_int(kmq_props_validate(buf, pos), 0, "what put wrote validates");

	/* 32 - 13 = 19 left: "KEYS\1" + 13 + "\2" is exactly 19. */
	is_int(put(buf, sizeof(buf), &pos, "KEYS", "0123456789abcd"),
	       -KMQ_FMT_ENOSPACE, "one byte too many: ENOSPACE");
	is_int(pos, 13, "cursor unmoved on ENOSPACE");
	is_int(buf[13], '#', "nothing written on ENOSPACE");
	is_int(put(buf, sizeof(buf), &pos, "KEYS", "0123456789abc"), 0,
	       "exact fit");
	is_int(pos, 32, "buffer full");
	is_int(put(buf, sizeof(buf), &pos, "A", ""),
	       -KMQ_FMT_ENOSPACE, "full buffer: ENOSPACE");

	pos = 0;
	is_int(put(buf, sizeof(buf), &pos, "A\001", "b"),
	       -KMQ_FMT_EPROPS, "\\1 in a name: EPROPS");
	is_int(put(buf, sizeof(buf), &pos, "A\002", "b"),
	       -KMQ_FMT_EPROPS, "\\2 in a name: EPROPS");
	is_int(put(buf, sizeof(buf), &pos, "A", "b\001"),
	       -KMQ_FMT_EPROPS, "\\1 in a value: EPROPS");
	is_int(put(buf, sizeof(buf), &pos, "A", "\002b"),
	       -KMQ_FMT_EPROPS, "\\2 in a value: EPROPS");
	is_int(put(buf, sizeof(buf), &pos, "", "b"),
	       -KMQ_FMT_EPROPS, "empty name: EPROPS");
	is_int(pos, 0, "cursor unmoved on EPROPS");
	pos = 40;
	is_int(put(buf, sizeof(buf), &pos, "A", "b"),
	       -KMQ_FMT_ENOSPACE, "cursor past cap: ENOSPACE");
}

static void test_tag_hash(void)
{
	is_int(kmq_tag_hash("", 0), 0, "\"\" hashes to 0");
	is_int(hash("a"), 97, "\"a\" = 97");
	/* Lengths are explicit: a NUL is a code unit like any other. */
	is_int(kmq_tag_hash("a\0b", 3), 93315,
	       "\"a\\0b\" = (97*31 + 0)*31 + 98 = 93315");
	is_int(kmq_tag_hash("abc", 1), 97, "only len bytes are hashed");
	is_int(hash("ab"), 3105, "\"ab\" = 97*31 + 98 = 3105");
	/*
	 * "TagA": 'T' 84; 84*31 + 'a' 97 = 2701; 2701*31 + 'g' 103 = 83834;
	 * 83834*31 + 'A' 65 = 2598919.
	 */
	is_int(hash("TagA"), 2598919, "\"TagA\" = 2598919");
	/* U+00E9 is one code unit, 233, from the two bytes C3 A9. */
	is_int(hash("\xc3\xa9"), 233, "\"\xc3\xa9\" = 233");
	/* U+4E2D from E4 B8 AD is 0x4e2d = 20013. */
	is_int(hash("\xe4\xb8\xad"), 20013, "U+4E2D = 20013");
	/*
	 * U+1F600 (F0 9F 98 80) is the pair D83D DE00:
	 * 0xd83d * 31 + 0xde00 = 55357 * 31 + 56832 = 1772899.
	 */
	is_int(hash("\xf0\x9f\x98\x80"), 1772899,
	       "U+1F600 hashes as a surrogate pair = 1772899");
	/* 'a' then the pair: 97 * 31^2 + 1772899 = 93217 + 1772899. */
	is_int(hash("a\xf0\x9f\x98\x80"), 1866116,
	       "\"a\" U+1F600 = 1866116");
	/*
	 * Wrap-around and sign extension: "polygenelubricants" is the
	 * well-known string whose hashCode() is Integer.MIN_VALUE.
	 */
	is_int(hash("polygenelubricants"), -2147483648LL,
	       "\"polygenelubricants\" = -2^31, sign-extended");
	ok(hash("polygenelubricants") < 0, "negative as int64");
}

static void test_tag_hash_malformed(void)
{
	/* Bytes followed by a hex digit are written in octal below. */
	/* U+FFFD = 65533; 65533 * 31 = 2031523. */
	is_int(hash("\xff"), 65533, "FF: one U+FFFD");
	is_int(hash("\xc3"), 65533, "truncated C3: one U+FFFD");
	is_int(hash("\xe4\xb8"), 65533,
	       "truncated E4 B8: one U+FFFD for the subpart");
	is_int(hash("\344\270A"), 2031523 + 65,
	       "E4 B8 'A': U+FFFD then 'A'");
	/* (97 * 31 + 65533) * 31 + 98 = 68540 * 31 + 98 = 2124838 */
	is_int(hash("a\200b"), 2124838,
	       "stray continuation byte: one U+FFFD");
	/* C0 AF: C0 never starts a sequence, AF alone: two U+FFFD. */
	is_int(hash("\xc0\xaf"), 2031523 + 65533,
	       "overlong C0 AF: two U+FFFD");
	/* E0 80 80: 80 cannot follow E0: three U+FFFD = 65074269. */
	is_int(hash("\xe0\x80\x80"), 65074269,
	       "overlong E0 80 80: three U+FFFD");
	is_int(hash("\xf0\x9f\x98"), 65533,
	       "truncated 4-byte sequence: one U+FFFD");
	is_int(hash("\360\237\230A"), 2031523 + 65,
	       "F0 9F 98 'A': U+FFFD then 'A'");
	/*
	 * F4 90 80 80 would be past U+10FFFF: 90 cannot follow F4, so
	 * four U+FFFD: 65074269 * 31 + 65533 = 2017367872.
	 */
	is_int(hash("\xf4\x90\x80\x80"), 2017367872,
	       "F4 90 80 80: four U+FFFD");
	/* Java decodes ED A0 80 (the surrogate D800) as one U+FFFD. */
	is_int(hash("\xed\xa0\x80"), 65533,
	       "encoded surrogate ED A0 80: one U+FFFD, as Java does");
	is_int(hash("\xed\x9f\xbf"), 0xd7ff,
	       "ED 9F BF is U+D7FF");
	is_int(hash("\xef\xbf\xbd"), 65533,
	       "a real U+FFFD hashes the same");
}

static void test_tags_code(void)
{
	is_int(tags_code("KEYS\001k\002TAGS\001TagA\002"),
	       2598919, "tags code of TAGS=TagA");
	is_int(tags_code("TAGS\001TagA"), 2598919,
	       "without the trailing \\2");
	is_int(tags_code("KEYS\001k\002"), 0, "no TAGS: 0");
	is_int(tags_code("TAGS\001\002"), 0, "empty TAGS: 0");
	is_int(kmq_props_tags_code("", 0), 0, "no properties: 0");
	is_int(tags_code("TAGS\001TagA\002junk"), 0,
	       "malformed properties: 0");
}

int main(void)
{
	test_next();
	test_next_malformed();
	test_get();
	test_put();
	test_tag_hash();
	test_tag_hash_malformed();
	test_tags_code();
	return kmq_tap_done();
}
