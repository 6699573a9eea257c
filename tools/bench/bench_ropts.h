/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_ropts.h - the flags of kmq-bench's client modes (produce, consume,
 * pipeline, drain), parsed from one table so that a flag means the same
 * in every mode that has it.
 */
#ifndef BENCH_ROPTS_H
#define BENCH_ROPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <kmq/kmq.h>

/* The modes, as bits of a flag's table entry. */
#define BENCH_M_PRODUCE		0x1
#define BENCH_M_CONSUME		0x2
#define BENCH_M_PIPELINE	0x4
#define BENCH_M_DRAIN		0x8

/* What the producer expects of the broker's flushDiskType. */
enum bench_flush {
	BENCH_FLUSH_ANY = 0,
	BENCH_FLUSH_ASYNC,
	BENCH_FLUSH_SYNC,
};

#define BENCH_MAX_CONNECTIONS	256
#define BENCH_MAX_THREADS	64
#define BENCH_MAX_INFLIGHT	65536
#define BENCH_MAX_QUEUES	1024
#define BENCH_MAX_SIZE		(4u << 20)
#define BENCH_MAX_BATCH		1024
#define BENCH_MAX_CONSUMERS	64

/**
 * struct bench_ropts - every flag of the client modes; see
 * bench_ropts_usage() for what each means.
 * @mode: the BENCH_M_* bit of the mode being parsed
 * @name: the mode's name, for messages
 */
struct bench_ropts {
	unsigned int mode;
	const char *name;

	const char *namesrv;
	const char *broker;
	const char *topic;
	uint32_t queues;
	bool create;
	enum kmq_serialize ser;
	uint32_t connect_ms;
	bool json;
	bool quiet;

	/* producers */
	uint32_t size;
	uint32_t connections;
	uint32_t threads;
	uint32_t inflight;
	uint32_t batch;
	uint64_t duration_s;
	bool duration_set;
	uint64_t count;
	uint64_t rate;
	const char *producer_group;
	enum bench_flush flush;
	bool check;
	bool compress;
	uint32_t timeout_ms;

	/* consumers */
	const char *group;
	uint32_t consumers;
	uint32_t consume_threads;
	uint32_t consume_batch;
	uint32_t pull_batch;
	enum kmq_consume_from from;
	uint32_t idle_s;
	uint32_t drain_timeout_s;
	bool verify;
};

/*
 * bench_ropts_parse() - defaults of mode @mode (a BENCH_M_* bit) named
 * @name, then the flags of argv (argv[0] is the mode).
 * Return: 0, 1 after --help (printed), or -EINVAL (message printed).
 */
int bench_ropts_parse(struct bench_ropts *o, unsigned int mode,
		      const char *name, int argc, char **argv);

/* bench_ropts_usage() - the flags of @mode, one or more lines each. */
void bench_ropts_usage(FILE *f, unsigned int mode);

const char *bench_serialize_name(enum kmq_serialize ser);
const char *bench_flush_name(enum bench_flush flush);

#endif /* BENCH_ROPTS_H */
