// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * fuzz_msgid.c - libFuzzer target: kmq_msgid_decode() accepts exactly 32
 * or 56 hex digits, and what it accepts encodes back to the same id.
 */
#include <ctype.h>
#include <string.h>

#include "kmq_msgid.h"

#define CHECK(cond)					\
	do {						\
		if (!(cond))				\
			__builtin_trap();		\
	} while (0)

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	const char *id = (const char *)data;
	char again[KMQ_MSGID_MAX + 1];
	struct kmq_host h;
	__u64 off;
	size_t i;
	int n;

	if (size > 1024)
		return 0;
	if (kmq_msgid_decode(id, size, &h, &off) != 0)
		return 0;
	CHECK(size == KMQ_MSGID_LEN_V4 || size == KMQ_MSGID_LEN_V6);
	CHECK(h.v6 == (size == KMQ_MSGID_LEN_V6));
	n = kmq_msgid_encode(again, &h, off);
	CHECK((size_t)n == size && again[n] == '\0');
	for (i = 0; i < size; i++) {
		CHECK(isxdigit((unsigned char)id[i]));
		CHECK(again[i] == toupper((unsigned char)id[i]));
	}
	return 0;
}
