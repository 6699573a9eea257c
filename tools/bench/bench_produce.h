/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_produce.h - kmq-bench's producers on libkmq: --connections
 * producers (each its own connection), --threads sending threads each,
 * async sends with libkmq's in-flight window (--inflight) and a callback
 * per acknowledgment, which times the send. Used by the produce and
 * pipeline modes.
 */
#ifndef BENCH_PRODUCE_H
#define BENCH_PRODUCE_H

#include <jansson.h>

#include "bench_ledger.h"
#include "bench_report.h"
#include "bench_ropts.h"

struct bench_prod;

/*
 * bench_prod_new() - producers for the flags @o, writing bodies of run
 * @run; failures go to @fails. One per process (the send callback finds
 * it through a static pointer). Return: 0 or -errno (printed).
 */
int bench_prod_new(const struct bench_ropts *o, uint32_t run,
		   struct bench_failures *fails, struct bench_prod **out);

/*
 * bench_prod_run() - send until --duration, --count, ^C or a failed
 * send, wait for every acknowledgment, and stop @ph.
 * Return: 0 or -errno.
 */
int bench_prod_run(struct bench_prod *pr, struct bench_phase *ph);

/* bench_prod_expect() - tell @l how many messages each stream had acked. */
int bench_prod_expect(struct bench_prod *pr, struct bench_ledger *l);

/* bench_prod_acked() - messages acknowledged so far. */
uint64_t bench_prod_acked(struct bench_prod *pr);

/* bench_prod_json() - the "produce" object: @ph and the counts. */
json_t *bench_prod_json(struct bench_prod *pr, const struct bench_phase *ph);
void bench_prod_print(struct bench_prod *pr, const struct bench_phase *ph,
		      FILE *f);
void bench_prod_free(struct bench_prod *pr);

#endif /* BENCH_PRODUCE_H */
