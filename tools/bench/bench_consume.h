/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_consume.h - kmq-bench's push consumers on libkmq: as many as
 * --consumers says, of one group, each with --consume-threads listener
 * threads, checking every body into a ledger (bench_ledger.h) and timing it end to
 * end, from the send time in the body to the listener. Used by the
 * consume and pipeline modes.
 */
#ifndef BENCH_CONSUME_H
#define BENCH_CONSUME_H

#include <jansson.h>

#include "bench_ledger.h"
#include "bench_report.h"
#include "bench_ropts.h"

struct bench_cons;

/*
 * bench_cons_new() - consumers for the flags @o entering what they get
 * in @l; failures go to @fails. Only messages of run @run (0: of any
 * run) are timed and counted as consumed: a pipeline leaves out what
 * earlier runs left in the topic. One per process.
 * Return: 0 or -errno (printed).
 */
int bench_cons_new(const struct bench_ropts *o, struct bench_ledger *l,
		   uint32_t run, struct bench_failures *fails,
		   struct bench_cons **out);

/*
 * bench_cons_start() - subscribe, start the consumers and @ph.
 * Return: 0 or -errno (printed).
 */
int bench_cons_start(struct bench_cons *c, struct bench_phase *ph);

/*
 * bench_cons_wait_queues() - wait up to @ms until the consumers own
 * @nqueues queues between them. Return: 0 or -ETIMEDOUT.
 */
int bench_cons_wait_queues(struct bench_cons *c, unsigned int nqueues,
			   unsigned int ms);

/* bench_cons_last_ns() - when the last message came (0: none yet). */
uint64_t bench_cons_last_ns(struct bench_cons *c);

/*
 * bench_cons_stop() - close the consumers (their offsets are committed)
 * and stop @ph at the last message's arrival.
 */
void bench_cons_stop(struct bench_cons *c, struct bench_phase *ph);

/*
 * bench_cons_json() - the "consume" object: @ph and the ledger's counts
 * (lost as bench_cons_lost(), duplicated, corrupted).
 */
json_t *bench_cons_json(struct bench_cons *c, const struct bench_phase *ph,
			uint64_t short_by);
void bench_cons_print(struct bench_cons *c, const struct bench_phase *ph,
		      uint64_t short_by, FILE *f);

/*
 * bench_cons_lost() - messages lost: the ledger's gaps (of run @run as
 * given to bench_cons_new()), or @short_by (what a --count expected beyond
 * what came, gaps included) when that is more.
 */
uint64_t bench_cons_lost(struct bench_cons *c, uint64_t short_by);

void bench_cons_free(struct bench_cons *c);

#endif /* BENCH_CONSUME_H */
