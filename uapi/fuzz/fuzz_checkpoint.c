// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * fuzz_checkpoint.c - libFuzzer target: kmq_checkpoint_decode() on any
 * bytes, and an accepted block re-encodes to the same fields and bytes.
 */
#include <string.h>

#include "kmq_record.h"
#include "kmq_checkpoint.h"

#define CHECK(cond)					\
	do {						\
		if (!(cond))				\
			__builtin_trap();		\
	} while (0)

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	static const __u8 zero[8];
	__u8 again[KMQ_CKPT_ENCODED_SIZE];
	struct kmq_checkpoint c, c2;
	__u32 len = size > KMQ_CKPT_FILE_SIZE ? KMQ_CKPT_FILE_SIZE : size;
	int ret;

	ret = kmq_checkpoint_decode(data, len, &c);
	if (ret) {
		CHECK(ret == -KMQ_FMT_ESHORT || ret == -KMQ_FMT_EMAGIC ||
		      ret == -KMQ_FMT_ECRC);
		CHECK((ret == -KMQ_FMT_ESHORT) ==
		      (len < KMQ_CKPT_ENCODED_SIZE));
		return 0;
	}
	kmq_checkpoint_encode(again, &c);
	CHECK(!memcmp(again, data, 32));
	if (!memcmp(data + 32, zero, 8))
		CHECK(!memcmp(again, data, KMQ_CKPT_ENCODED_SIZE));
	CHECK(kmq_checkpoint_decode(again, sizeof(again), &c2) == 0);
	CHECK(c2.flushed == c.flushed && c2.min_offset == c.min_offset &&
	      c2.store_ts == c.store_ts);
	return 0;
}
