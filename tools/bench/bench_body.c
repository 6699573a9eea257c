// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_body.c - the body of kmq-bench's remote modes: written by produce,
 * checked by drain (layout in bench_body.h).
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_endian.h"
#include "kmq_types.h"

#include "bench_body.h"

uint8_t *bench_body_pattern(uint32_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	uint32_t i;

	if (!p)
		return NULL;
	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 131 + 17);
	return p;
}

void bench_body_put(uint8_t *dst, uint32_t size, const uint8_t *pattern,
		    const struct bench_body *h)
{
	kmq_put_be32(dst, BENCH_BODY_MAGIC);
	kmq_put_be32(dst + 4, h->conn);
	kmq_put_be64(dst + 8, h->seq);
	kmq_put_be64(dst + 16, h->sent_ns);
	kmq_put_be32(dst + 24, size);
	kmq_put_be32(dst + 28, kmq_crc32(0, dst, 28));
	memcpy(dst + BENCH_BODY_HDR, pattern + BENCH_BODY_HDR,
	       size - BENCH_BODY_HDR);
}

const char *bench_body_check(const uint8_t *b, uint32_t size,
			     const uint8_t *pattern, struct bench_body *h)
{
	if (size < BENCH_BODY_MIN)
		return "body shorter than the kmq-bench header";
	if (kmq_get_be32(b) != BENCH_BODY_MAGIC)
		return "body without the kmq-bench magic";
	if (kmq_get_be32(b + 24) != size)
		return "body size differs from the size it was sent with";
	if (kmq_get_be32(b + 28) != kmq_crc32(0, b, 28))
		return "body header checksum mismatch";
	if (memcmp(b + BENCH_BODY_HDR, pattern + BENCH_BODY_HDR,
		   size - BENCH_BODY_HDR))
		return "body filler differs from the pattern";
	h->conn = kmq_get_be32(b + 4);
	h->seq = kmq_get_be64(b + 8);
	h->sent_ns = kmq_get_be64(b + 16);
	return NULL;
}
