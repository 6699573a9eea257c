/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench.h - what kmq-bench's modes share: the mode table's entry points
 * and the argument helpers of kmq_bench.c.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/**
 * struct bench_mode - one kmq-bench mode ("store", "produce", ...).
 * @name: first argument selecting it
 * @summary: one line for the mode list
 * @main: runs it; argv[0] is the mode name. Return: exit status
 * @usage: prints its flags
 */
struct bench_mode {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv);
	void (*usage)(FILE *f);
};

int bench_store_main(int argc, char **argv);
void bench_store_usage(FILE *f);
int bench_produce_main(int argc, char **argv);
void bench_produce_usage(FILE *f);
int bench_consume_main(int argc, char **argv);
void bench_consume_usage(FILE *f);
int bench_pipeline_main(int argc, char **argv);
void bench_pipeline_usage(FILE *f);
int bench_drain_main(int argc, char **argv);
void bench_drain_usage(FILE *f);
int bench_echo_main(int argc, char **argv);
void bench_echo_usage(FILE *f);

/*
 * bench_parse_u64() - parse a decimal count, with an optional binary
 * suffix (K, M, G, T: 2^10...) when @suffix. Return: 0 or -EINVAL.
 */
int bench_parse_u64(const char *s, bool suffix, uint64_t *out);
/* bench_parse_u32() - the same, at most @max. */
int bench_parse_u32(const char *s, bool suffix, uint32_t max, uint32_t *out);

#endif /* BENCH_H */
