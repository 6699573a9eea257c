// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * fuzz_props.c - libFuzzer target: properties iteration, lookup and
 * validation must agree, and put() must rebuild what next() read. The
 * input is also hashed as a tag.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_record.h"
#include "kmq_props.h"

#define CHECK(cond)					\
	do {						\
		if (!(cond))				\
			__builtin_trap();		\
	} while (0)

static int has_sep(const char *s, __u32 n)
{
	return memchr(s, KMQ_PROP_NAME_SEP, n) ||
	       memchr(s, KMQ_PROP_PAIR_SEP, n);
}

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	const char *p = (const char *)data;
	__u32 len = size > 0xffffff ? 0xffffff : (__u32)size;
	__u32 pos = 0, out_pos = 0, vl;
	char *out = malloc(len + 2);
	struct kmq_prop pr;
	const char *v;
	int ret;

	CHECK(out);
	for (;;) {
		__u32 before = pos;

		ret = kmq_props_next(p, len, &pos, &pr);
		if (ret <= 0) {
			CHECK(pos == before);
			break;
		}
		CHECK(pos > before && pos <= len);
		CHECK(pr.name == p + before && pr.name_len > 0);
		CHECK(pr.value == pr.name + pr.name_len + 1);
		CHECK(pr.value + pr.value_len <= p + len);
		CHECK(!has_sep(pr.name, pr.name_len));
		CHECK(!has_sep(pr.value, pr.value_len));
		CHECK(kmq_props_put(out, len + 2, &out_pos, pr.name,
				    pr.name_len, pr.value, pr.value_len) == 0);
	}
	CHECK(ret == 0 || ret == -KMQ_FMT_EPROPS);
	CHECK(kmq_props_validate(p, len) == ret);
	if (ret == 0) {
		/* put() wrote the same pairs, always with a final \2. */
		CHECK(out_pos == len || out_pos == len + 1);
		CHECK(!memcmp(out, p, len));
		CHECK(kmq_props_validate(out, out_pos) == 0);

		/* Every name is found, with its last value. */
		pos = 0;
		while (kmq_props_next(p, len, &pos, &pr) > 0) {
			CHECK(kmq_props_get(p, len, pr.name, pr.name_len, &v,
					    &vl) == 0);
			CHECK(v >= pr.value);
		}
		if (kmq_props_get(p, len, KMQ_PROP_TAGS, 4, &v, &vl) == 0)
			CHECK(kmq_props_tags_code(p, len) ==
			      kmq_tag_hash(v, vl));
		else
			CHECK(kmq_props_tags_code(p, len) == 0);
	} else {
		CHECK(kmq_props_tags_code(p, len) == 0);
	}
	free(out);

	(void)kmq_tag_hash(p, len);
	return 0;
}
