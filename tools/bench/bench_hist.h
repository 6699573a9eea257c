/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_hist.h - kmq-bench's latency histogram.
 *
 * Log-linear buckets in the manner of HdrHistogram: values below
 * 2^BENCH_HIST_SUB_BITS have a bucket each; above that, every power of
 * two is split into 2^(BENCH_HIST_SUB_BITS - 1) equal buckets, so a
 * reported value is within 1/128 of the true one. The whole uint64_t range
 * fits in BENCH_HIST_BUCKETS counters (about 58 KiB): memory stays bounded
 * however long a run lasts.
 *
 * One thread records into a histogram; other threads may read it at the
 * same time (counters are written and read with relaxed atomics), which
 * is how the progress line gets per-second percentiles without locks.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS	8
#define BENCH_HIST_SUB		(1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_HALF		(BENCH_HIST_SUB / 2)
#define BENCH_HIST_BUCKETS	\
	((64 - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_HALF + BENCH_HIST_HALF)

/**
 * struct bench_hist - counts of recorded values, plus exact extremes.
 * @count: values recorded
 * @sum: their sum (for the mean)
 * @min: smallest value, UINT64_MAX while empty
 * @max: largest value
 * @b: per-bucket counts
 */
struct bench_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t b[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t v);
/* bench_hist_record_n() - record @v @n times (one batch call, n records). */
void bench_hist_record_n(struct bench_hist *h, uint64_t v, uint64_t n);

/* bench_hist_snapshot() - copy @src into @dst; @src may be being written. */
void bench_hist_snapshot(struct bench_hist *dst, const struct bench_hist *src);
/* bench_hist_add() - add @src's counts into @dst (both quiescent). */
void bench_hist_add(struct bench_hist *dst, const struct bench_hist *src);
/*
 * bench_hist_sub() - @dst = @a - @b, where @b is an earlier snapshot of @a:
 * the values recorded in between. @dst's min and max are bucket bounds.
 */
void bench_hist_sub(struct bench_hist *dst, const struct bench_hist *a,
		    const struct bench_hist *b);

/*
 * bench_hist_percentile() - the value at or below which @pct percent of the
 * recorded values lie (the highest value of that bucket, clamped to the
 * recorded max); 0 when empty.
 */
uint64_t bench_hist_percentile(const struct bench_hist *h, double pct);
double bench_hist_mean(const struct bench_hist *h);

/* Exposed for the self-check: bucket of @v, and the range of bucket @i. */
unsigned int bench_hist_bucket(uint64_t v);
uint64_t bench_hist_bucket_low(unsigned int i);
uint64_t bench_hist_bucket_high(unsigned int i);

#endif /* BENCH_HIST_H */
