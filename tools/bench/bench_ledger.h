/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_ledger.h - what kmq-bench's consumers received: every body is
 * checked (bench_body.h) and its sequence number marked in a bitmap of its
 * stream (run, stream), so that a message delivered twice is counted as a
 * duplicate and one never delivered as lost.
 *
 * Lost messages are found two ways: a stream's sequence numbers below the
 * highest one seen that never came (a hole), and, where the producer's
 * counts are known (kmq-bench pipeline, bench_ledger_expect()), the
 * acknowledged messages of a stream that never came. Bodies that fail
 * the check (magic, header checksum, size, filler) are corrupted and
 * enter no stream.
 *
 * Thread-safe: consumer threads call bench_ledger_take() concurrently.
 */
#ifndef BENCH_LEDGER_H
#define BENCH_LEDGER_H

#include <pthread.h>
#include <stdint.h>

#include "bench_body.h"

/* Largest sequence number accepted: a bitmap of 2^32 bits is 512 MiB. */
#define BENCH_LEDGER_SEQ_MAX	((1ull << 32) - 1)

enum bench_verdict {
	BENCH_MSG_NEW = 0,	/* checked, first delivery */
	BENCH_MSG_DUP,		/* checked, delivered before */
	BENCH_MSG_CORRUPT,	/* the body fails its check */
};

struct bench_stream;

/**
 * struct bench_ledger - the streams seen and the counts.
 * @unique: distinct messages received
 * @duplicated: deliveries of a message received before
 * @corrupted: bodies that failed their check
 */
struct bench_ledger {
	pthread_mutex_t lock;
	struct bench_stream *tab;
	uint32_t cap;
	uint32_t n;
	uint64_t unique;
	uint64_t duplicated;
	uint64_t corrupted;
};

/**
 * struct bench_tally - a summary of the streams of one run or of all.
 * @streams: streams seen or expected
 * @unique: distinct messages received
 * @duplicated: second and later deliveries
 * @lost: messages missing: holes below a stream's highest sequence
 *	number, and messages expected (acknowledged) beyond it
 * @expected: messages expected by bench_ledger_expect()
 */
struct bench_tally {
	uint64_t streams;
	uint64_t unique;
	uint64_t duplicated;
	uint64_t lost;
	uint64_t expected;
};

int bench_ledger_init(struct bench_ledger *l);
void bench_ledger_free(struct bench_ledger *l);

/*
 * bench_ledger_take() - check the body @b of @len bytes and enter it.
 * Return: the verdict; @h filled unless BENCH_MSG_CORRUPT, when @why says
 * what is wrong.
 */
enum bench_verdict bench_ledger_take(struct bench_ledger *l, const void *b,
				     uint64_t len, struct bench_body *h,
				     const char **why);

/*
 * bench_ledger_expect() - stream (@run, @stream) should hold @n messages,
 * sequence numbers 0..@n-1 (what its producer had acknowledged).
 * Return: 0 or -ENOMEM.
 */
int bench_ledger_expect(struct bench_ledger *l, uint32_t run, uint32_t stream,
			uint64_t n);

/*
 * bench_ledger_tally() - sum up the streams of @run (0: of every run).
 */
void bench_ledger_tally(struct bench_ledger *l, uint32_t run,
			struct bench_tally *t);

#endif /* BENCH_LEDGER_H */
