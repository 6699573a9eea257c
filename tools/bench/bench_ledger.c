// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_ledger.c - received messages by stream: checks, duplicates and
 * losses (see bench_ledger.h). Streams live in an open-addressing table
 * keyed by (run, stream); each has a bitmap of the sequence numbers seen,
 * grown on demand.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bench_ledger.h"

/**
 * struct bench_stream - one producer stream as received.
 * @used: the slot holds a stream
 * @bits: bit s set once sequence number s came; @words of them
 * @seen: distinct sequence numbers received
 * @top: highest sequence number received + 1
 * @expect: messages the producer acknowledged, 0 when unknown
 * @dups: deliveries of a sequence number seen before
 */
struct bench_stream {
	bool used;
	uint32_t run;
	uint32_t stream;
	uint64_t *bits;
	uint64_t words;
	uint64_t seen;
	uint64_t top;
	uint64_t expect;
	uint64_t dups;
};

int bench_ledger_init(struct bench_ledger *l)
{
	memset(l, 0, sizeof(*l));
	l->cap = 64;
	l->tab = calloc(l->cap, sizeof(*l->tab));
	if (!l->tab)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	return 0;
}

void bench_ledger_free(struct bench_ledger *l)
{
	uint32_t i;

	if (!l->tab)
		return;
	for (i = 0; i < l->cap; i++)
		free(l->tab[i].bits);
	free(l->tab);
	l->tab = NULL;
	pthread_mutex_destroy(&l->lock);
}

static uint32_t slot_of(uint32_t run, uint32_t stream, uint32_t cap)
{
	uint64_t k = ((uint64_t)run << 32 | stream) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(k >> 32) & (cap - 1);
}

static struct bench_stream *probe(struct bench_stream *tab, uint32_t cap,
				  uint32_t run, uint32_t stream)
{
	uint32_t i = slot_of(run, stream, cap);

	while (tab[i].used && (tab[i].run != run || tab[i].stream != stream))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int grow_table(struct bench_ledger *l)
{
	uint32_t cap = l->cap * 2, i;
	struct bench_stream *tab = calloc(cap, sizeof(*tab)), *s;

	if (!tab)
		return -ENOMEM;
	for (i = 0; i < l->cap; i++) {
		if (!l->tab[i].used)
			continue;
		s = probe(tab, cap, l->tab[i].run, l->tab[i].stream);
		*s = l->tab[i];
	}
	free(l->tab);
	l->tab = tab;
	l->cap = cap;
	return 0;
}

/* The stream (@run, @stream), created if new; NULL when out of memory. */
static struct bench_stream *stream_get(struct bench_ledger *l, uint32_t run,
				       uint32_t stream)
{
	struct bench_stream *s = probe(l->tab, l->cap, run, stream);

	if (s->used)
		return s;
	if ((l->n + 1) * 2 > l->cap) {
		if (grow_table(l))
			return NULL;
		s = probe(l->tab, l->cap, run, stream);
	}
	s->used = true;
	s->run = run;
	s->stream = stream;
	l->n++;
	return s;
}

/* Make room in @s's bitmap for sequence number @seq. */
static int bits_reserve(struct bench_stream *s, uint64_t seq)
{
	uint64_t need = seq / 64 + 1, words;
	uint64_t *b;

	if (need <= s->words)
		return 0;
	words = s->words ? s->words : 256;
	while (words < need)
		words *= 2;
	b = realloc(s->bits, words * sizeof(*b));
	if (!b)
		return -ENOMEM;
	memset(b + s->words, 0, (words - s->words) * sizeof(*b));
	s->bits = b;
	s->words = words;
	return 0;
}

enum bench_verdict bench_ledger_take(struct bench_ledger *l, const void *b,
				     uint64_t len, struct bench_body *h,
				     const char **why)
{
	enum bench_verdict v = BENCH_MSG_NEW;
	struct bench_stream *s;
	uint64_t bit;

	*why = bench_body_check(b, len, h);
	if (!*why && h->seq > BENCH_LEDGER_SEQ_MAX)
		*why = "sequence number out of range";
	pthread_mutex_lock(&l->lock);
	if (*why) {
		l->corrupted++;
		v = BENCH_MSG_CORRUPT;
		goto out;
	}
	s = stream_get(l, h->run, h->stream);
	if (!s || bits_reserve(s, h->seq)) {
		/* Counted, so that the run cannot pass unnoticed. */
		*why = "out of memory for the ledger";
		l->corrupted++;
		v = BENCH_MSG_CORRUPT;
		goto out;
	}
	bit = 1ull << (h->seq % 64);
	if (s->bits[h->seq / 64] & bit) {
		s->dups++;
		l->duplicated++;
		v = BENCH_MSG_DUP;
		goto out;
	}
	s->bits[h->seq / 64] |= bit;
	s->seen++;
	if (h->seq + 1 > s->top)
		s->top = h->seq + 1;
	l->unique++;
out:
	pthread_mutex_unlock(&l->lock);
	return v;
}

int bench_ledger_expect(struct bench_ledger *l, uint32_t run, uint32_t stream,
			uint64_t n)
{
	struct bench_stream *s;

	pthread_mutex_lock(&l->lock);
	s = stream_get(l, run, stream);
	if (s)
		s->expect = n;
	pthread_mutex_unlock(&l->lock);
	return s ? 0 : -ENOMEM;
}

void bench_ledger_tally(struct bench_ledger *l, uint32_t run,
			struct bench_tally *t)
{
	const struct bench_stream *s;
	uint64_t want;
	uint32_t i;

	memset(t, 0, sizeof(*t));
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->cap; i++) {
		s = &l->tab[i];
		if (!s->used || (run && s->run != run))
			continue;
		want = s->expect > s->top ? s->expect : s->top;
		t->streams++;
		t->unique += s->seen;
		t->duplicated += s->dups;
		t->expected += s->expect;
		t->lost += want - s->seen;
	}
	pthread_mutex_unlock(&l->lock);
}
