// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_hist.c - log-linear latency histogram (see bench_hist.h).
 *
 * Bucket layout, with S = BENCH_HIST_SUB_BITS and H = 2^(S-1):
 *   v < 2^S:   bucket v
 *   otherwise: e = msb(v) - S + 1 (so v >> e lies in [H, 2H)), and
 *              bucket e * H + (v >> e)
 * Consecutive exponents tile the index space without gaps: the last bucket
 * of exponent e is (e + 2) * H - 1 and the first of e + 1 is (e + 2) * H.
 */
#include <string.h>

#include "bench_hist.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)

void bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned int bench_hist_bucket(uint64_t v)
{
	unsigned int e;

	if (v < BENCH_HIST_SUB)
		return (unsigned int)v;
	e = 63 - __builtin_clzll(v) - BENCH_HIST_SUB_BITS + 1;
	return e * BENCH_HIST_HALF + (unsigned int)(v >> e);
}

uint64_t bench_hist_bucket_low(unsigned int i)
{
	unsigned int e;

	if (i < BENCH_HIST_SUB)
		return i;
	e = i / BENCH_HIST_HALF - 1;
	return (uint64_t)(i % BENCH_HIST_HALF + BENCH_HIST_HALF) << e;
}

uint64_t bench_hist_bucket_high(unsigned int i)
{
	unsigned int e;

	if (i < BENCH_HIST_SUB)
		return i;
	e = i / BENCH_HIST_HALF - 1;
	return bench_hist_bucket_low(i) + ((uint64_t)1 << e) - 1;
}

/*
 * Only the owning thread writes: plain read-modify-write through relaxed
 * atomic loads and stores (no locked instructions), so a reader sees each
 * counter either before or after an update, never torn.
 */
void bench_hist_record_n(struct bench_hist *h, uint64_t v, uint64_t n)
{
	unsigned int i = bench_hist_bucket(v);

	STORE(&h->b[i], LOAD(&h->b[i]) + n);
	STORE(&h->sum, LOAD(&h->sum) + v * n);
	if (v < LOAD(&h->min))
		STORE(&h->min, v);
	if (v > LOAD(&h->max))
		STORE(&h->max, v);
	STORE(&h->count, LOAD(&h->count) + n);
}

void bench_hist_record(struct bench_hist *h, uint64_t v)
{
	bench_hist_record_n(h, v, 1);
}

void bench_hist_snapshot(struct bench_hist *dst, const struct bench_hist *src)
{
	unsigned int i;
	uint64_t n = 0;

	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		dst->b[i] = LOAD(&src->b[i]);
		n += dst->b[i];
	}
	/* The bucket sum, not src->count: the two may be read mid-update. */
	dst->count = n;
	dst->sum = LOAD(&src->sum);
	dst->min = LOAD(&src->min);
	dst->max = LOAD(&src->max);
}

void bench_hist_add(struct bench_hist *dst, const struct bench_hist *src)
{
	unsigned int i;

	for (i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

void bench_hist_sub(struct bench_hist *dst, const struct bench_hist *a,
		    const struct bench_hist *b)
{
	unsigned int i, lo = BENCH_HIST_BUCKETS, hi = 0;

	dst->count = 0;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		dst->b[i] = a->b[i] - b->b[i];
		if (!dst->b[i])
			continue;
		dst->count += dst->b[i];
		if (i < lo)
			lo = i;
		hi = i;
	}
	dst->sum = a->sum - b->sum;
	if (!dst->count) {
		dst->min = UINT64_MAX;
		dst->max = 0;
		return;
	}
	dst->min = bench_hist_bucket_low(lo);
	dst->max = bench_hist_bucket_high(hi);
	/* The exact extremes are known when they fall in those buckets. */
	if (a->max >= dst->min && a->max <= dst->max)
		dst->max = a->max;
	if (a->min >= dst->min && a->min <= dst->max)
		dst->min = a->min;
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double pct)
{
	uint64_t rank, seen = 0, v;
	unsigned int i;
	double r;

	if (!h->count)
		return 0;
	if (pct >= 100.0)
		return h->max;
	/* The smallest value with at least pct% of the values at or below. */
	r = pct / 100.0 * (double)h->count;
	rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank < 1)
		rank = 1;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			break;
	}
	if (i == BENCH_HIST_BUCKETS)
		return h->max;
	v = bench_hist_bucket_high(i);
	if (v > h->max)
		v = h->max;
	if (v < h->min)
		v = h->min;
	return v;
}

double bench_hist_mean(const struct bench_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
