// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_modes.c - the produce, consume and pipeline modes of kmq-bench:
 * flags, the topic, the producer and consumer engines (bench_produce.c,
 * bench_consume.c) run alone or together, and the summary.
 *
 *   produce   send; every acknowledgment timed (call to callback)
 *   consume   push consumers of a group receive what is in the topic and
 *             what comes; every body checked, timed end to end
 *   pipeline  both in one process: the consumers start first, the
 *             producers send, then the consumers must receive every
 *             acknowledged message of this run within --drain-timeout
 *
 * Exit status: 0; 1 when a send failed, a message was lost or corrupted,
 * or the run was interrupted; 2 for bad flags or setup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_client.h"
#include "bench_consume.h"
#include "bench_produce.h"

#define QUEUE_WAIT_MS	30000

/* Why a consume run ended. */
enum stop_reason {
	STOP_COUNT,
	STOP_DURATION,
	STOP_IDLE,
	STOP_INTERRUPTED,
};

static const char * const stop_names[] = {
	"count", "duration", "idle", "interrupted",
};

/**
 * struct outcome - what a mode reports besides its phases.
 * @cpu: CPU seconds of kmq-bench during the run
 */
struct outcome {
	struct bench_cpu cpu;
	struct bench_failures fails;
};

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static json_t *config_json(const struct bench_ropts *o, uint32_t run)
{
	json_t *c = json_object();
	char hex[16];

	jset(c, "namesrv", json_string(o->namesrv));
	jset(c, "topic", json_string(o->topic));
	jset(c, "serialize", json_string(bench_serialize_name(o->ser)));
	if (run) {
		snprintf(hex, sizeof(hex), "%08x", run);
		jset(c, "run", json_string(hex));
	}
	if (o->mode & (BENCH_M_PRODUCE | BENCH_M_PIPELINE)) {
		jset(c, "queues", json_integer(o->queues));
		jset(c, "body_size", json_integer(o->size));
		jset(c, "connections", json_integer(o->connections));
		jset(c, "threads", json_integer(o->threads));
		jset(c, "inflight", json_integer(o->inflight));
		jset(c, "batch", json_integer(o->batch));
		jset(c, "duration_s", json_integer(o->duration_s));
		jset(c, "count", json_integer(o->count));
		jset(c, "rate", json_integer(o->rate));
		jset(c, "producer_group", json_string(o->producer_group));
		jset(c, "flush_expected",
		     json_string(bench_flush_name(o->flush)));
		jset(c, "check_responses", json_boolean(o->check));
		jset(c, "compress", json_boolean(o->compress));
	}
	if (o->mode & (BENCH_M_CONSUME | BENCH_M_PIPELINE)) {
		jset(c, "group", json_string(o->group));
		jset(c, "consumers", json_integer(o->consumers));
		jset(c, "consume_threads", json_integer(o->consume_threads));
		jset(c, "consume_batch", json_integer(o->consume_batch));
		jset(c, "pull_batch", json_integer(o->pull_batch));
		jset(c, "from", json_string(o->from ==
					    KMQ_CONSUME_FROM_FIRST_OFFSET ?
					    "first" : "last"));
	}
	if (o->mode == BENCH_M_CONSUME) {
		jset(c, "duration_s", json_integer(o->duration_s));
		jset(c, "count", json_integer(o->count));
		jset(c, "idle_timeout_s", json_integer(o->idle_s));
	}
	if (o->mode == BENCH_M_PIPELINE)
		jset(c, "drain_timeout_s", json_integer(o->drain_timeout_s));
	return c;
}

static void print_producer_line(const struct bench_ropts *o, FILE *f)
{
	fprintf(f, "%s: topic %s via %s, %u B bodies, %s headers, flush %s\n",
		o->name, o->topic, o->namesrv, o->size,
		bench_serialize_name(o->ser), bench_flush_name(o->flush));
	fprintf(f, "  %u producer(s) x %u thread(s), %u in flight each, batch %u\n",
		o->connections, o->threads, o->inflight, o->batch);
}

static void print_consumer_line(const struct bench_ropts *o, FILE *f)
{
	fprintf(f, "%s: group %s, %u consumer(s) x %u listener thread(s)\n",
		o->name, o->group, o->consumers, o->consume_threads);
	fprintf(f, "  %u message(s) a call, pulls of %u, from %s\n",
		o->consume_batch, o->pull_batch,
		o->from == KMQ_CONSUME_FROM_FIRST_OFFSET ? "first" : "last");
}

/**
 * mode_start() - the start every mode shares: parse the flags of @mode
 * (named @name), catch ^C and prepare the topic.
 * @o: the flags, filled in
 * @mode: the BENCH_M_* bit of the mode
 * @name: the mode's name, for messages
 * @argc: argument count, the mode's name first
 * @argv: the arguments
 * @create: false to never create the topic, whatever the flags say
 * @nq: the topic's queue count, filled in
 *
 * Return: -1 to go on, else the exit status to return now (0 after
 * --help, 2 for bad flags or setup).
 */
static int mode_start(struct bench_ropts *o, unsigned int mode,
		      const char *name, int argc, char **argv, bool create,
		      unsigned int *nq)
{
	int ret;

	ret = bench_ropts_parse(o, mode, name, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	bench_catch_signals();
	if (!create)
		o->create = false;
	if (bench_topic_prepare(o, nq))
		return 2;
	return -1;
}

/**
 * summary_head() - a JSON summary's start: the mode and its configuration.
 * @mode: the mode's name
 * @o: the flags
 * @run: the run id of the bodies (0 when the mode sends none)
 *
 * Return: the new object.
 */
static json_t *summary_head(const char *mode, const struct bench_ropts *o,
			    uint32_t run)
{
	json_t *j = json_object();

	jset(j, "mode", json_string(mode));
	jset(j, "config", config_json(o, run));
	return j;
}

void bench_produce_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench produce [options]\n"
		"  Producers on libkmq send to a topic: async sends, --inflight in flight\n"
		"  per producer, each timed from the call to its callback. Bodies carry\n"
		"  the run, stream, sequence number, send time and a checksum\n"
		"  (consume, pipeline and drain check them).\n");
	bench_ropts_usage(f, BENCH_M_PRODUCE);
	fprintf(f,
		"  Exit status: 0, 1 for a failed send (after libkmq's retries) or\n"
		"  ^C, 2 for bad flags or setup.\n");
}

int bench_produce_main(int argc, char **argv)
{
	struct bench_ropts o;
	struct bench_phase ph;
	struct bench_prod *pr = NULL;
	struct outcome r = { 0 };
	unsigned int nq;
	uint32_t run;
	json_t *j;
	int ret, status = 2;

	ret = mode_start(&o, BENCH_M_PRODUCE, "produce", argc, argv, true, &nq);
	if (ret >= 0)
		return ret;
	run = bench_body_run_id();
	ret = bench_prod_new(&o, run, &r.fails, &pr);
	if (ret) {
		if (ret == -ENOMEM)
			fprintf(stderr, "kmq-bench produce: out of memory\n");
		goto out;
	}
	if (!o.quiet)
		print_producer_line(&o, stderr);
	bench_cpu_start(&r.cpu);
	bench_prod_run(pr, &ph);
	bench_cpu_stop(&r.cpu);
	if (bench_interrupted)
		bench_fail(&r.fails, "interrupted");
	j = NULL;
	if (o.json) {
		j = summary_head("produce", &o, run);
		jset(j, "produce", bench_prod_json(pr, &ph));
	} else {
		print_producer_line(&o, stdout);
		bench_prod_print(pr, &ph, stdout);
	}
	bench_summary_end(j, &r.cpu, &r.fails);
	bench_phase_free(&ph);
	status = r.fails.count ? 1 : 0;
out:
	bench_prod_free(pr);
	return status;
}

void bench_consume_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench consume [options]\n"
		"  Push consumers of a group (libkmq) receive the topic: every body is\n"
		"  checked (kmq-bench's layout, checksum, filler) and entered by its\n"
		"  stream and sequence number; latency is end to end, from the send\n"
		"  time in the body to the listener (producer on this machine). Runs\n"
		"  until --count distinct messages, --duration, or --idle-timeout\n"
		"  without a message. Lost messages (gaps in a stream, or short of\n"
		"  --count) are counted when it stops idle, i.e. having received all.\n");
	bench_ropts_usage(f, BENCH_M_CONSUME);
	fprintf(f,
		"  Exit status: 0, 1 for a lost or corrupted message, none at all, or\n"
		"  ^C; duplicates are counted, not failed. 2 for bad flags or setup.\n");
}

static enum stop_reason consume_until(const struct bench_ropts *o,
				      struct bench_cons *c,
				      struct bench_ledger *l, uint64_t t0)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	uint64_t now, last;

	for (;;) {
		nanosleep(&nap, NULL);
		now = bench_now_ns();
		if (bench_interrupted)
			return STOP_INTERRUPTED;
		if (o->count && __atomic_load_n(&l->unique, __ATOMIC_RELAXED) >=
		    o->count)
			return STOP_COUNT;
		if (o->duration_s &&
		    now - t0 >= o->duration_s * 1000000000ull)
			return STOP_DURATION;
		/* A listener may have stamped a time after @now. */
		last = bench_cons_last_ns(c);
		if (!last)
			last = t0;
		if (now > last && now - last >= o->idle_s * 1000000000ull)
			return STOP_IDLE;
	}
}

int bench_consume_main(int argc, char **argv)
{
	struct bench_cons *c = NULL;
	struct bench_ledger l;
	struct bench_ropts o;
	struct bench_phase ph;
	struct outcome r = { 0 };
	struct bench_tally t;
	enum stop_reason why;
	uint64_t short_by = 0, lost = 0;
	unsigned int nq;
	json_t *j, *p;
	int ret, status = 2;

	ret = mode_start(&o, BENCH_M_CONSUME, "consume", argc, argv, false,
			 &nq);
	if (ret >= 0)
		return ret;
	if (bench_ledger_init(&l))
		return 2;
	ret = bench_cons_new(&o, &l, 0, &r.fails, &c);
	if (ret)
		goto out;
	if (!o.quiet)
		print_consumer_line(&o, stderr);
	bench_cpu_start(&r.cpu);
	ret = bench_cons_start(c, &ph);
	if (ret) {
		bench_cons_stop(c, &ph);
		bench_phase_free(&ph);
		goto out;
	}
	why = consume_until(&o, c, &l, ph.t_start);
	bench_cons_stop(c, &ph);
	bench_cpu_stop(&r.cpu);
	bench_ledger_tally(&l, 0, &t);
	if (why == STOP_INTERRUPTED)
		bench_fail(&r.fails, "interrupted");
	/* Only a consumer that got everything knows what is missing. */
	if (why == STOP_IDLE) {
		if (o.count > t.unique)
			short_by = o.count - t.unique;
		lost = bench_cons_lost(c, short_by);
		if (lost)
			bench_fail(&r.fails, "%llu message(s) lost",
				   (unsigned long long)lost);
	}
	if (!t.unique && !l.corrupted)
		bench_fail(&r.fails, "no message came in %u s", o.idle_s);
	j = NULL;
	if (o.json) {
		j = summary_head("consume", &o, 0);
		p = bench_cons_json(c, &ph, short_by);
		jset(p, "stopped_by", json_string(stop_names[why]));
		if (why != STOP_IDLE) {
			jset(p, "missing_at_stop", json_integer(t.lost));
			jset(p, "lost", json_integer(0));
		}
		jset(j, "consume", p);
	} else {
		print_consumer_line(&o, stdout);
		bench_cons_print(c, &ph, short_by, stdout);
		printf("  stopped by %s%s\n", stop_names[why],
		       why == STOP_IDLE ? "" :
		       ": gaps are not counted as lost");
	}
	bench_summary_end(j, &r.cpu, &r.fails);
	bench_phase_free(&ph);
	status = r.fails.count ? 1 : 0;
out:
	bench_cons_free(c);
	bench_ledger_free(&l);
	return status;
}

void bench_pipeline_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench pipeline [options]\n"
		"  produce and consume in one run: the consumers start first and own\n"
		"  the queues, the producers send, and then the consumers have\n"
		"  --drain-timeout to receive every acknowledged message of this run.\n"
		"  Reports both sides: send latency (call to ack) and end-to-end\n"
		"  latency (send to listener); lost = acknowledged, never received.\n");
	bench_ropts_usage(f, BENCH_M_PIPELINE);
	fprintf(f,
		"  Exit status: 0, 1 for a failed send, a lost or corrupted message or\n"
		"  ^C; duplicates are counted, not failed. 2 for bad flags or setup.\n");
}

/* Until every acknowledged message of @run came, or the time is up. */
static uint64_t drain_wait(const struct bench_ropts *o, struct bench_ledger *l,
			   uint32_t run)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	uint64_t deadline = bench_now_ns() + o->drain_timeout_s * 1000000000ull;
	struct bench_tally t;

	for (;;) {
		bench_ledger_tally(l, run, &t);
		if (!t.lost || bench_interrupted || bench_now_ns() >= deadline)
			return t.lost;
		nanosleep(&nap, NULL);
	}
}

int bench_pipeline_main(int argc, char **argv)
{
	struct bench_phase pph, cph;
	struct bench_prod *pr = NULL;
	struct bench_cons *c = NULL;
	struct outcome r = { 0 };
	struct bench_ledger l;
	struct bench_ropts o;
	struct bench_tally t;
	uint64_t lost;
	unsigned int nq;
	uint32_t run;
	json_t *j;
	int ret, status = 2;

	ret = mode_start(&o, BENCH_M_PIPELINE, "pipeline", argc, argv, true, &nq);
	if (ret >= 0)
		return ret;
	run = bench_body_run_id();
	if (bench_ledger_init(&l))
		return 2;
	if (bench_cons_new(&o, &l, run, &r.fails, &c) ||
	    bench_prod_new(&o, run, &r.fails, &pr))
		goto out;
	if (!o.quiet) {
		print_producer_line(&o, stderr);
		print_consumer_line(&o, stderr);
	}
	bench_cpu_start(&r.cpu);
	ret = bench_cons_start(c, &cph);
	if (!ret && bench_cons_wait_queues(c, nq, QUEUE_WAIT_MS))
		fprintf(stderr, "kmq-bench pipeline: %u queues not owned after %u s; going on\n",
			nq, QUEUE_WAIT_MS / 1000);
	if (ret) {
		bench_cons_stop(c, &cph);
		bench_phase_free(&cph);
		goto out;
	}
	bench_prod_run(pr, &pph);
	if (bench_prod_expect(pr, &l))
		bench_fail(&r.fails, "out of memory");
	lost = drain_wait(&o, &l, run);
	bench_cons_stop(c, &cph);
	bench_cpu_stop(&r.cpu);
	if (bench_interrupted)
		bench_fail(&r.fails, "interrupted");
	else if (lost)
		bench_fail(&r.fails, "%llu acknowledged message(s) not received in %u s",
			   (unsigned long long)lost, o.drain_timeout_s);
	bench_ledger_tally(&l, run, &t);
	j = NULL;
	if (o.json) {
		j = summary_head("pipeline", &o, run);
		jset(j, "produce", bench_prod_json(pr, &pph));
		jset(j, "consume", bench_cons_json(c, &cph, 0));
		jset(j, "lost", json_integer(t.lost));
		jset(j, "duplicated", json_integer(t.duplicated));
		jset(j, "corrupted", json_integer(l.corrupted));
	} else {
		print_producer_line(&o, stdout);
		bench_prod_print(pr, &pph, stdout);
		print_consumer_line(&o, stdout);
		bench_cons_print(c, &cph, 0, stdout);
	}
	bench_summary_end(j, &r.cpu, &r.fails);
	bench_phase_free(&pph);
	bench_phase_free(&cph);
	status = r.fails.count ? 1 : 0;
out:
	bench_prod_free(pr);
	bench_cons_free(c);
	bench_ledger_free(&l);
	return status;
}
