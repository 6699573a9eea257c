/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_body.h - the message body that kmq-bench's producers send and its
 * consumers check.
 *
 *   off  size  field
 *     0     4  BENCH_BODY_MAGIC ("KMQB")
 *     4     4  run: a random number of the producing kmq-bench run
 *     8     4  stream: the sender within that run
 *    12     4  body size
 *    16     8  sequence number within the stream, from 0
 *    24     8  send time, CLOCK_MONOTONIC ns
 *    32     4  crc32 of bytes 0..31
 *    36     .  filler: byte i is (i * 131 + 17) & 0xff
 *
 * All integers big-endian. The checksum covers the varying part; the
 * filler is fixed, so a reader compares it with the pattern instead of
 * summing it (the broker's BODYCRC covers the whole body as well). The
 * pattern repeats every 256 bytes, so neither side needs a buffer of the
 * body's size. The send time is CLOCK_MONOTONIC, which every process of
 * one machine shares: end-to-end latency needs producer and consumer on
 * the same host.
 */
#ifndef BENCH_BODY_H
#define BENCH_BODY_H

#include <stdint.h>

#define BENCH_BODY_MAGIC	0x4b4d5142u
#define BENCH_BODY_HDR		36
#define BENCH_BODY_MIN		BENCH_BODY_HDR

/**
 * struct bench_body - the varying fields of a body.
 * @run: the producing run
 * @stream: the sender within the run
 * @seq: sequence number within the stream
 * @sent_ns: CLOCK_MONOTONIC when it was sent
 */
struct bench_body {
	uint32_t run;
	uint32_t stream;
	uint64_t seq;
	uint64_t sent_ns;
};

/*
 * bench_body_put() - write a body of @size bytes (at least
 * BENCH_BODY_MIN) at @dst.
 */
void bench_body_put(uint8_t *dst, uint32_t size, const struct bench_body *h);

/*
 * bench_body_put_header() - rewrite only the header of a body of @size
 * bytes that bench_body_put() wrote at @dst: its filler is the same for
 * every body of that size, so a sender reusing its buffer writes it once.
 */
void bench_body_put_header(uint8_t *dst, uint32_t size,
			   const struct bench_body *h);

/*
 * bench_body_check() - check a body of @size bytes against the layout.
 * Return: NULL and @h filled, or what is wrong.
 */
const char *bench_body_check(const uint8_t *b, uint64_t size,
			     struct bench_body *h);

/* bench_body_run_id() - a fresh, non-zero run number. */
uint32_t bench_body_run_id(void);

#endif /* BENCH_BODY_H */
