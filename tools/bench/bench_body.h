/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_body.h - the message body that kmq-bench produce sends and
 * kmq-bench drain checks.
 *
 *   off  size  field
 *     0     4  BENCH_BODY_MAGIC ("KMQB")
 *     4     4  connection number of the producer
 *     8     8  sequence number within that connection
 *    16     8  send time, CLOCK_MONOTONIC ns
 *    24     4  body size
 *    28     4  crc32 of bytes 0..27
 *    32     .  filler: byte i is (i * 131 + 17) & 0xff
 *
 * All integers big-endian. The checksum covers the varying part; the
 * filler is fixed, so a reader compares it with the pattern instead of
 * summing it (the broker's BODYCRC covers the whole body as well).
 */
#ifndef BENCH_BODY_H
#define BENCH_BODY_H

#include <stdint.h>

#define BENCH_BODY_MAGIC	0x4b4d5142u
#define BENCH_BODY_HDR		32
#define BENCH_BODY_MIN		BENCH_BODY_HDR

/**
 * struct bench_body - the varying fields of a body.
 * @conn: producer connection number
 * @seq: sequence number within the connection
 * @sent_ns: CLOCK_MONOTONIC when it was sent
 */
struct bench_body {
	uint32_t conn;
	uint64_t seq;
	uint64_t sent_ns;
};

/* bench_body_pattern() - a buffer of @size bytes holding the filler. */
uint8_t *bench_body_pattern(uint32_t size);

/*
 * bench_body_put() - write a body of @size bytes (at least
 * BENCH_BODY_MIN) at @dst; @pattern is bench_body_pattern(>= @size).
 */
void bench_body_put(uint8_t *dst, uint32_t size, const uint8_t *pattern,
		    const struct bench_body *h);

/*
 * bench_body_check() - check a body of @size bytes against the layout.
 * Return: NULL and @h filled, or what is wrong.
 */
const char *bench_body_check(const uint8_t *b, uint32_t size,
			     const uint8_t *pattern, struct bench_body *h);

#endif /* BENCH_BODY_H */
