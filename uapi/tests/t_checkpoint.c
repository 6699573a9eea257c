// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * t_checkpoint.c - TAP tests of the checkpoint block
 * (uapi/kmq_checkpoint.c): layout, round trip, and that any damage to
 * the 44 encoded bytes is noticed.
 */
#include <string.h>

#include "kmq_tap.h"
#include "kmq_record.h"
#include "kmq_checkpoint.h"

static void put_be32(unsigned char *p, unsigned int v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void test_layout(void)
{
	static const unsigned char want[40] = {
		'K', 'M', 'Q', 'C',				/* magic */
		0, 0, 0, 1,					/* version */
		0, 0, 0, 0, 0x40, 0, 0, 0x10,			/* flushed */
		0, 0, 0, 0, 0, 0, 0x10, 0,			/* min */
		0, 0, 0x01, 0x8a, 0x2b, 0x3c, 0x4d, 0x5e,	/* store_ts */
		0, 0, 0, 0, 0, 0, 0, 0,				/* reserved */
	};
	struct kmq_checkpoint c = {
		.flushed = 0x40000010, .min_offset = 0x1000,
		.store_ts = 0x0000018a2b3c4d5eull,
	};
	unsigned char buf[KMQ_CKPT_ENCODED_SIZE + 4];
	unsigned char crc[4];

	memset(buf, 0xee, sizeof(buf));
	kmq_checkpoint_encode(buf, &c);
	is_mem(buf, want, sizeof(want), "bytes 0..39 as documented");
	put_be32(crc, kmq_crc32(0, want, 40));
	is_mem(buf + 40, crc, 4, "bytes 40..43: crc32 of bytes 0..39");
	is_int(buf[44], 0xee, "exactly 44 bytes written");
}

static void test_roundtrip(void)
{
	struct kmq_checkpoint c = {
		.flushed = 0xfedcba9876543210ull, .min_offset = 1,
		.store_ts = ~0ull,
	};
	struct kmq_checkpoint out;
	unsigned char buf[KMQ_CKPT_FILE_SIZE];

	memset(buf, 0, sizeof(buf));
	kmq_checkpoint_encode(buf, &c);
	memset(&out, 0, sizeof(out));
	is_int(kmq_checkpoint_decode(buf, sizeof(buf), &out), 0,
	       "4096-byte block decodes");
	ok(out.flushed == c.flushed && out.min_offset == c.min_offset &&
	   out.store_ts == c.store_ts, "fields survive");
	is_int(kmq_checkpoint_decode(buf, KMQ_CKPT_ENCODED_SIZE, &out), 0,
	       "44 bytes are enough");
	is_int(kmq_checkpoint_decode(buf, KMQ_CKPT_ENCODED_SIZE - 1, &out),
	       -KMQ_FMT_ESHORT, "43 bytes: ESHORT");
	is_int(kmq_checkpoint_decode(buf, 0, &out), -KMQ_FMT_ESHORT,
	       "0 bytes: ESHORT");
}

static void test_corruption(void)
{
	struct kmq_checkpoint c = {
		.flushed = 123456, .min_offset = 0, .store_ts = 42,
	};
	struct kmq_checkpoint out = { 7, 7, 7 };
	unsigned char good[KMQ_CKPT_ENCODED_SIZE];
	unsigned char buf[KMQ_CKPT_ENCODED_SIZE];
	int i, bit, missed = 0, wrong = 0;

	kmq_checkpoint_encode(good, &c);
	for (i = 0; i < KMQ_CKPT_ENCODED_SIZE; i++) {
		for (bit = 0; bit < 8; bit++) {
			int want = i < 8 ? -KMQ_FMT_EMAGIC : -KMQ_FMT_ECRC;
			int ret;

			memcpy(buf, good, sizeof(buf));
			buf[i] ^= 1u << bit;
			ret = kmq_checkpoint_decode(buf, sizeof(buf), &out);
			if (ret == 0)
				missed++;
			else if (ret != want)
				wrong++;
		}
	}
	is_int(missed, 0, "every single-bit flip is detected");
	is_int(wrong, 0, "magic/version flips: EMAGIC, others: ECRC");
	ok(out.flushed == 7 && out.min_offset == 7 && out.store_ts == 7,
	   "output untouched on error");

	memcpy(buf, good, sizeof(buf));
	put_be32(buf + 4, 2);
	put_be32(buf + 40, kmq_crc32(0, buf, 40));
	is_int(kmq_checkpoint_decode(buf, sizeof(buf), &out), -KMQ_FMT_EMAGIC,
	       "version 2 with a good CRC: EMAGIC");

	memcpy(buf, good, sizeof(buf));
	buf[39] = 1;
	put_be32(buf + 40, kmq_crc32(0, buf, 40));
	is_int(kmq_checkpoint_decode(buf, sizeof(buf), &out), 0,
	       "reserved bytes are covered by the CRC but not checked");

	memset(buf, 0, sizeof(buf));
	is_int(kmq_checkpoint_decode(buf, sizeof(buf), &out), -KMQ_FMT_EMAGIC,
	       "an all-zero block: EMAGIC");
}

int main(void)
{
	test_layout();
	test_roundtrip();
	test_corruption();
	return kmq_tap_done();
}
