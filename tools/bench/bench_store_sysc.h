/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_store_sysc.h - counting system calls with the kernel's own
 * accounting: perf counters on the syscall tracepoints
 * (raw_syscalls:sys_enter for all of them, syscalls:sys_enter_<name> for
 * a few named ones), no ptrace. Used by `kmq-bench store --syscalls`
 * (per phase, of the bench process and every thread it starts) and by
 * kmod/scripts/vm/kmq_vm_sysc.c (of another process, kmqd, while a
 * command runs).
 *
 * A counter opened on a task with inherit set also counts the threads
 * that task creates afterwards, so a process's counters are opened before
 * it starts its threads, or on each of its threads.
 */
#ifndef BENCH_STORE_SYSC_H
#define BENCH_STORE_SYSC_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

/* The total, then the named system calls (bench_store_sysc.c). */
#define BENCH_SYSC_EVENTS	31

/**
 * struct bench_sysc - counters on some tasks.
 * @ntasks: tasks counted
 * @fds: @ntasks x BENCH_SYSC_EVENTS perf fds, -1 where a tracepoint is
 *	missing (the total never is)
 * @cost: what one bench_sysc_read() adds to each count (its own read()s),
 *	measured at open and taken off every difference
 */
struct bench_sysc {
	unsigned int ntasks;
	int *fds;
	uint64_t cost[BENCH_SYSC_EVENTS];
};

/* struct bench_sysc_snap - the counts at one moment (sums over tasks). */
struct bench_sysc_snap {
	uint64_t v[BENCH_SYSC_EVENTS];
};

/**
 * bench_sysc_tp_id() - the id of tracepoint @event ("syscalls/sys_enter_x")
 * in tracefs. Return: the id, or -errno (-ENOENT: no such event, or no
 * tracefs mounted).
 */
long bench_sysc_tp_id(const char *event);

/**
 * bench_sysc_tp_open() - a counting perf event on tracepoint @id for
 * task @tid (0: the caller) and the threads it creates later.
 * Return: the fd, or -1 with errno set.
 */
int bench_sysc_tp_open(long id, pid_t tid);

/**
 * bench_sysc_open() - count the system calls of @tids (thread ids; 0 is
 * the calling thread) and of the threads they create from now on.
 * @c: filled in
 * @tids: tasks
 * @n: how many
 * Return: 0, or -errno with a message on stderr (no tracefs, no
 * permission, no perf events).
 */
int bench_sysc_open(struct bench_sysc *c, const pid_t *tids, unsigned int n);

/* bench_sysc_close() - close the counters (a zeroed @c is fine). */
void bench_sysc_close(struct bench_sysc *c);

/* bench_sysc_read() - the counts now. */
void bench_sysc_read(const struct bench_sysc *c, struct bench_sysc_snap *s);

/**
 * bench_sysc_diff() - system calls between two snapshots, the counters'
 * own reads taken off: @out = @b - @a - cost.
 */
void bench_sysc_diff(const struct bench_sysc *c,
		     const struct bench_sysc_snap *a,
		     const struct bench_sysc_snap *b,
		     struct bench_sysc_snap *out);

/**
 * bench_sysc_print() - one line: "@what: N syscalls, X per @per (name X,
 * ...)" for @d counted over @calls calls; names with no call are left
 * out, the rest of the total shows as "other".
 */
void bench_sysc_print(FILE *f, const char *what, const char *per,
		      const struct bench_sysc_snap *d, uint64_t calls);

/* bench_sysc_json() - {"total": N, "per_call": X, "calls": C, "by_name": {}} */
json_t *bench_sysc_json(const struct bench_sysc_snap *d, uint64_t calls);

#endif /* BENCH_STORE_SYSC_H */
