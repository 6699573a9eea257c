// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * fuzz_record.c - libFuzzer target: walk the input as a commitlog
 * segment with kmq_record_decode(), the way recovery does, and check
 * that what decodes is consistent and re-encodes to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_record.h"
#include "kmq_cq.h"
#include "kmq_props.h"
#include "kmq_msgid.h"

#define CHECK(cond)					\
	do {						\
		if (!(cond))				\
			__builtin_trap();		\
	} while (0)

static int inside(const void *p, __u32 n, const __u8 *b, __u32 len)
{
	const __u8 *q = p;

	return q >= b && q <= b + len && n <= (__u32)(b + len - q);
}

static void check_record(const __u8 *b, __u32 len,
			 const struct kmq_record *r)
{
	struct kmq_record again;
	struct kmq_host h;
	char id[KMQ_MSGID_MAX + 1];
	__u8 *copy;
	__u64 off;
	int n, crc;

	CHECK(r->total_size >= KMQ_REC_FIXED_V4 && r->total_size <= len);
	CHECK(r->magic == KMQ_MAGIC_V1 || r->magic == KMQ_MAGIC_V2);
	CHECK(inside(r->body, r->body_len, b, r->total_size));
	CHECK(inside(r->topic, r->topic_len, b, r->total_size));
	CHECK(inside(r->props, r->props_len, b, r->total_size));
	CHECK(r->topic_len > 0);
	CHECK((const __u8 *)r->props + r->props_len == b + r->total_size);
	CHECK(kmq_record_size(r->magic, r->sys_flag, r->body_len,
			      r->topic_len, r->props_len) == r->total_size);
	CHECK(r->born_host.v6 == !!(r->sys_flag & KMQ_SYSFLAG_BORNHOST_V6));
	CHECK(r->store_host.v6 == !!(r->sys_flag & KMQ_SYSFLAG_STOREHOST_V6));

	/* The CRC check agrees with kmq_body_crc(). */
	crc = kmq_record_decode(b, len, &again, KMQ_DECODE_CRC);
	if (kmq_body_crc(r->body, r->body_len) == r->body_crc)
		CHECK(crc == 0);
	else
		CHECK(crc == -KMQ_FMT_ECRC);

	/* Decoding is lossless: encoding gives back the same bytes. */
	copy = malloc(r->total_size);
	CHECK(copy);
	n = kmq_record_encode(copy, r->total_size, r);
	CHECK(n == (int)r->total_size);
	CHECK(!memcmp(copy, b, r->total_size));
	CHECK(kmq_record_encode(copy, r->total_size - 1, r) ==
	      -KMQ_FMT_ENOSPACE);
	free(copy);

	/* What a broker derives from a record must not misbehave. */
	if (kmq_props_validate(r->props, r->props_len) == 0)
		(void)kmq_props_tags_code(r->props, r->props_len);
	else
		CHECK(kmq_props_tags_code(r->props, r->props_len) == 0);
	(void)kmq_cq_wants_entry(r->sys_flag);
	n = kmq_msgid_encode(id, &r->store_host, r->phys_offset);
	CHECK(n == (r->store_host.v6 ? KMQ_MSGID_LEN_V6 : KMQ_MSGID_LEN_V4));
	CHECK(kmq_msgid_decode(id, n, &h, &off) == 0);
	CHECK(off == r->phys_offset && h.port == r->store_host.port);
	CHECK(!memcmp(h.addr, r->store_host.addr, h.v6 ? 16 : 4));
}

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	__u32 len = size > 0xffffffffu ? 0xffffffffu : (__u32)size;
	__u32 pos = 0;

	while (pos < len) {
		struct kmq_record r;
		int ret;

		ret = kmq_record_decode(data + pos, len - pos, &r, 0);
		if (ret < 0) {
			CHECK(ret > -KMQ_FMT_NERR && ret != -KMQ_FMT_ECRC);
			CHECK(kmq_fmt_strerror(ret));
			break;
		}
		if (ret == 1) {
			CHECK(r.magic == KMQ_MAGIC_BLANK);
			CHECK(r.total_size >= KMQ_BLANK_SIZE &&
			      r.total_size <= len - pos);
		} else {
			CHECK(ret == 0);
			check_record(data + pos, len - pos, &r);
		}
		pos += r.total_size;
	}
	return 0;
}
