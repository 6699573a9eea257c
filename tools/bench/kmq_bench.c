// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_bench.c - kmq-bench: main, mode dispatch and the argument helpers.
 *
 *   kmq-bench MODE [options]     run a mode (kmq-bench --help lists them)
 *
 * Each mode lives in its own file: bench_store.c, the userspace store in
 * one process; bench_modes.c, produce, consume and pipeline on libkmq
 * (engines in bench_produce.c and bench_consume.c, flags in
 * bench_ropts.c, the topic in bench_client.c, bodies in bench_body.c and
 * their checks in bench_ledger.c); bench_drain.c, libkmq's pull consumer;
 * bench_echo.c, a stand-in broker that only answers. All share
 * bench_hist.c and bench_report.c for latency percentiles, the
 * per-second progress line and the summaries.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* A row of the table: mode NAME runs bench_NAME_main(), bench_NAME_usage(). */
#define BENCH_MODE(mname, msummary) {				\
	.name = #mname,						\
	.summary = msummary,					\
	.main = bench_##mname##_main,				\
	.usage = bench_##mname##_usage,				\
}

static const struct bench_mode modes[] = {
	BENCH_MODE(store,
		   "append to and read back the userspace store, in-process"),
	BENCH_MODE(produce, "send to brokers with libkmq's async producer"),
	BENCH_MODE(consume,
		   "receive a topic with push consumers, check and time every message"),
	BENCH_MODE(pipeline,
		   "produce and consume in one run: both sides, end to end"),
	BENCH_MODE(drain,
		   "pull a topic's backlog (pull consumer) and check every message"),
	BENCH_MODE(echo, "a stand-in name server and broker that only answers"),
};

#define NMODES	ARRAY_SIZE(modes)

int bench_parse_u64(const char *s, bool suffix, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (suffix && *end) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		case 't':
		case 'T':
			shift = 40;
			break;
		default:
			return -EINVAL;
		}
		end++;
		/* Accept "1G", "1GB", "1GiB" alike: all binary. */
		if (!strcmp(end, "B") || !strcmp(end, "iB"))
			end += strlen(end);
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (ULLONG_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int bench_parse_u32(const char *s, bool suffix, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (bench_parse_u64(s, suffix, &v) || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static void print_help(FILE *f)
{
	unsigned int i;

	fprintf(f,
		"usage: kmq-bench MODE [options]\n"
		"       kmq-bench MODE --help\n"
		"       kmq-bench --help\n"
		"\n"
		"Measures kmq's speed. Progress goes to stderr once a second;\n"
		"the summary to stdout (text, or JSON with --json).\n"
		"Sizes take K, M, G suffixes (binary: 1K = 1024). MB/s is 10^6\n"
		"bytes per second.\n"
		"\n"
		"modes:\n");
	for (i = 0; i < NMODES; i++)
		fprintf(f, "  %-10s %s\n", modes[i].name, modes[i].summary);
	for (i = 0; i < NMODES; i++) {
		fprintf(f, "\n%s mode:\n", modes[i].name);
		modes[i].usage(f);
	}
}

int main(int argc, char **argv)
{
	unsigned int i;

	if (argc < 2) {
		print_help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		print_help(stdout);
		return 0;
	}
	for (i = 0; i < NMODES; i++) {
		if (!strcmp(argv[1], modes[i].name))
			return modes[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "kmq-bench: unknown mode '%s' (kmq-bench --help)\n",
		argv[1]);
	return 2;
}
