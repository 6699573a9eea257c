// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * t_cq.c - TAP tests of consume-queue entries (uapi/kmq_cq.c) against
 * entries written by hand: [be64 offset][be32 size][be64 tags code].
 */
#include <string.h>

#include "kmq_tap.h"
#include "kmq_record.h"
#include "kmq_cq.h"

static const unsigned char cq_tagged[KMQ_CQ_ENTRY_SIZE] = {
	/* offset 0x0000000123456789 */
	0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89,
	/* size 127 */
	0x00, 0x00, 0x00, 0x7f,
	/* tags code of "TagA", 2598919 = 0x27a807 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0xa8, 0x07,
};

static const unsigned char cq_negative[KMQ_CQ_ENTRY_SIZE] = {
	/* offset 0xfedcba9876543210 */
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	/* size 0x01020304 */
	0x01, 0x02, 0x03, 0x04,
	/* tags code -2^31 (sign-extended int32 hash) */
	0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
};

static void test_entry(void)
{
	unsigned char buf[KMQ_CQ_ENTRY_SIZE + 2];
	struct kmq_cq_entry e;

	is_int(KMQ_CQ_ENTRY_SIZE, 20, "entries are 20 bytes");
	is_int((long long)KMQ_CQ_ENTRY_SIZE * KMQ_CQ_FILE_ENTRIES, 6000000,
	       "a file is 6,000,000 bytes");

	kmq_cq_entry_decode(cq_tagged, &e);
	ok(e.phys_offset == 0x0000000123456789ull, "decode: offset");
	is_int(e.size, 127, "decode: size");
	is_int(e.tags_code, 2598919, "decode: tags code");

	kmq_cq_entry_decode(cq_negative, &e);
	ok(e.phys_offset == 0xfedcba9876543210ull, "decode: high offset");
	is_int(e.size, 0x01020304, "decode: size");
	is_int(e.tags_code, -2147483648LL, "decode: negative tags code");

	/* Encode at an odd address: entries are not aligned. */
	memset(buf, 0xee, sizeof(buf));
	e.phys_offset = 0x0000000123456789ull;
	e.size = 127;
	e.tags_code = 2598919;
	kmq_cq_entry_encode(buf + 1, &e);
	is_mem(buf + 1, cq_tagged, KMQ_CQ_ENTRY_SIZE,
	       "encode equals the hand-built entry");
	ok(buf[0] == 0xee && buf[21] == 0xee, "exactly 20 bytes written");

	e.phys_offset = 0xfedcba9876543210ull;
	e.size = 0x01020304;
	e.tags_code = -2147483648LL;
	kmq_cq_entry_encode(buf, &e);
	is_mem(buf, cq_negative, KMQ_CQ_ENTRY_SIZE,
	       "encode of a negative tags code");

	memset(buf, 0, sizeof(buf));
	kmq_cq_entry_decode(buf, &e);
	ok(e.phys_offset == 0 && e.size == 0 && e.tags_code == 0,
	   "an all-zero slot decodes to size 0 (absent)");
}

static void test_wants(void)
{
	ok(kmq_cq_wants_entry(KMQ_SYSFLAG_TX_NOT), "TX NOT gets an entry");
	ok(kmq_cq_wants_entry(KMQ_SYSFLAG_TX_COMMIT),
	   "TX COMMIT gets an entry");
	ok(!kmq_cq_wants_entry(KMQ_SYSFLAG_TX_PREPARED),
	   "TX PREPARED does not");
	ok(!kmq_cq_wants_entry(KMQ_SYSFLAG_TX_ROLLBACK),
	   "TX ROLLBACK does not");
	ok(kmq_cq_wants_entry(KMQ_SYSFLAG_COMPRESSED |
			      KMQ_SYSFLAG_MULTI_TAGS |
			      KMQ_SYSFLAG_BORNHOST_V6 |
			      KMQ_SYSFLAG_STOREHOST_V6 |
			      KMQ_SYSFLAG_COMPRESS_ZLIB),
	   "other bits do not matter (NOT)");
	ok(!kmq_cq_wants_entry(0xfffffff3u | KMQ_SYSFLAG_TX_PREPARED),
	   "other bits do not matter (PREPARED)");
}

int main(void)
{
	test_entry();
	test_wants();
	return kmq_tap_done();
}
