/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_report.h - kmq-bench's counters, progress line and summaries.
 *
 * A phase (append, read, later produce/consume) has workers, one per
 * thread, each counting its records, bytes and per-call latency without
 * locks. While the phase runs, a reporter thread prints one progress line
 * a second to stderr (records/s, MB/s, p50/p99 of that second) and keeps
 * the per-second rates; when it stops, the phase summarises itself:
 * totals, min/median/max of the per-second rates, latency percentiles,
 * as text or as a JSON object.
 *
 * Units: MB is 10^6 bytes. Each phase counts two byte figures: "body"
 * bytes (the payload) and "record" bytes (what the format adds around it:
 * TOTALSIZE of the stored record); a phase that cannot see the latter
 * leaves it 0 and it is not printed.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "bench_hist.h"

/**
 * struct bench_worker - one thread's counters; written by that thread only.
 * @msgs: records done
 * @bytes: body bytes of those records
 * @rec_bytes: record bytes (TOTALSIZE) of those records
 * @hist: latency of each call, ns
 */
struct bench_worker {
	uint64_t msgs;
	uint64_t bytes;
	uint64_t rec_bytes;
	struct bench_hist hist;
} __attribute__((aligned(64)));

void bench_worker_init(struct bench_worker *w);
/* bench_worker_count() - one call that did @msgs records, not timed. */
void bench_worker_count(struct bench_worker *w, uint64_t msgs, uint64_t bytes,
			uint64_t rec_bytes);
/* bench_worker_add() - one call that did @msgs records in @lat_ns. */
void bench_worker_add(struct bench_worker *w, uint64_t msgs, uint64_t bytes,
		      uint64_t rec_bytes, uint64_t lat_ns);

/**
 * struct bench_rates - min, median and max of the per-second samples.
 * @n: full one-second intervals sampled (the partial last one is left
 *	out unless it is the only one)
 */
struct bench_rates {
	unsigned int n;
	double min;
	double median;
	double max;
};

/**
 * struct bench_phase - one measured phase; see bench_phase_start().
 * @name: shown on the progress line and in the summary
 * @lat_what: what one latency sample is ("append call", "read call")
 * @quiet: no progress line
 * The rest is private to bench_report.c until bench_phase_stop(), then
 * read-only results.
 */
struct bench_phase {
	const char *name;
	const char *lat_what;
	bool quiet;

	struct bench_worker *workers;
	unsigned int nworkers;
	uint64_t t_start;
	uint64_t t_end;

	/* reporter */
	pthread_t thr;
	bool thr_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct bench_hist *prev;
	struct bench_hist *cur;
	struct bench_hist *tmp;
	uint64_t prev_msgs;
	uint64_t prev_bytes;
	uint64_t prev_t;
	double *rate_msgs;
	double *rate_mb;
	unsigned int nrates;
	unsigned int cap;

	/* results */
	double seconds;
	uint64_t msgs;
	uint64_t bytes;
	uint64_t rec_bytes;
	struct bench_hist *lat;
	struct bench_rates msgs_per_s;
	struct bench_rates mb_per_s;
};

/*
 * bench_phase_start() - start the clock and the progress line of a phase
 * whose @n workers have been initialised and are about to run.
 * Return: 0 or -errno.
 */
int bench_phase_start(struct bench_phase *p, const char *name,
		      const char *lat_what, struct bench_worker *w,
		      unsigned int n, bool quiet);
/* bench_phase_stop() - stop the clock once the workers are done; sum up. */
void bench_phase_stop(struct bench_phase *p);
/*
 * bench_phase_stop_at() - the same, with the phase ending at @t_end (in
 * the past: when the last record came); per-second samples of intervals
 * ending after it are dropped.
 */
void bench_phase_stop_at(struct bench_phase *p, uint64_t t_end);
void bench_phase_free(struct bench_phase *p);

void bench_phase_print(const struct bench_phase *p, FILE *f);
json_t *bench_phase_json(const struct bench_phase *p);

/* bench_now_ns() - CLOCK_MONOTONIC in ns. */
uint64_t bench_now_ns(void);

/**
 * struct bench_cpu - CPU seconds kmq-bench used during a run.
 * @user, @sys: user and system time; since bench_cpu_start() once
 *	bench_cpu_stop() ran
 */
struct bench_cpu {
	double user;
	double sys;
};

void bench_cpu_start(struct bench_cpu *c);
void bench_cpu_stop(struct bench_cpu *c);

/*
 * struct bench_failures - what a run found wrong: a count, the first
 * message (for the summary), and the first few printed to stderr.
 */
struct bench_failures {
	uint64_t count;
	char first[256];
};

__attribute__((format(printf, 2, 3)))
void bench_fail(struct bench_failures *f, const char *fmt, ...);
/* The failures as JSON fields: failures, first_failure, ok. */
void bench_failures_json(json_t *j, const struct bench_failures *f);

/*
 * bench_summary_end() - the end of a client mode's summary: with @j (the
 * --json document, consumed) its "cpu_s" and failure fields are added and
 * it is printed; without, the CPU and verdict lines of the text summary.
 */
void bench_summary_end(json_t *j, const struct bench_cpu *cpu,
		       const struct bench_failures *f);

/* Set by SIGINT or SIGTERM once bench_catch_signals() ran: stop early. */
extern volatile sig_atomic_t bench_interrupted;
void bench_catch_signals(void);

/* bench_fmt_ns() - @ns as "850 ns", "12.34 us", "1.50 ms" or "2.00 s". */
const char *bench_fmt_ns(char *buf, size_t len, uint64_t ns);

#endif /* BENCH_REPORT_H */
