// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_body.c - the body of kmq-bench's remote modes: written by the
 * producers, checked by the consumers (layout in bench_body.h).
 */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kmq_endian.h"
#include "kmq_types.h"

#include "bench_body.h"

#define PERIOD	256

/* Two periods of the filler: any window of up to PERIOD bytes is here. */
static uint8_t filler[2 * PERIOD];
static pthread_once_t filler_once = PTHREAD_ONCE_INIT;

static void filler_fill(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(filler); i++)
		filler[i] = (uint8_t)(i * 131 + 17);
}

static void filler_init(void)
{
	pthread_once(&filler_once, filler_fill);
}

void bench_body_put_header(uint8_t *dst, uint32_t size,
			   const struct bench_body *h)
{
	kmq_put_be32(dst, BENCH_BODY_MAGIC);
	kmq_put_be32(dst + 4, h->run);
	kmq_put_be32(dst + 8, h->stream);
	kmq_put_be32(dst + 12, size);
	kmq_put_be64(dst + 16, h->seq);
	kmq_put_be64(dst + 24, h->sent_ns);
	kmq_put_be32(dst + 32, kmq_crc32(0, dst, 32));
}

void bench_body_put(uint8_t *dst, uint32_t size, const struct bench_body *h)
{
	uint32_t off, n;

	filler_init();
	bench_body_put_header(dst, size, h);
	for (off = BENCH_BODY_HDR; off < size; off += n) {
		n = size - off < PERIOD ? size - off : PERIOD;
		memcpy(dst + off, filler + off % PERIOD, n);
	}
}

const char *bench_body_check(const uint8_t *b, uint64_t size,
			     struct bench_body *h)
{
	uint64_t off, n;

	filler_init();
	if (size < BENCH_BODY_MIN)
		return "body shorter than the kmq-bench header";
	if (kmq_get_be32(b) != BENCH_BODY_MAGIC)
		return "body without the kmq-bench magic";
	if (kmq_get_be32(b + 32) != kmq_crc32(0, b, 32))
		return "body header checksum mismatch";
	if (kmq_get_be32(b + 12) != size)
		return "body size differs from the size it was sent with";
	for (off = BENCH_BODY_HDR; off < size; off += n) {
		n = size - off < PERIOD ? size - off : PERIOD;
		if (memcmp(b + off, filler + off % PERIOD, n))
			return "body filler differs from the pattern";
	}
	h->run = kmq_get_be32(b + 4);
	h->stream = kmq_get_be32(b + 8);
	h->seq = kmq_get_be64(b + 16);
	h->sent_ns = kmq_get_be64(b + 24);
	return NULL;
}

uint32_t bench_body_run_id(void)
{
	struct timespec ts;
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		r = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^
		    (uint32_t)ts.tv_sec;
	}
	return r ? r : 1;
}
