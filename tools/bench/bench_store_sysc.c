// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_store_sysc.c - system calls counted by the kernel (see
 * bench_store_sysc.h): one perf counter per task on the tracepoint
 * raw_syscalls:sys_enter, hit at the entry of every system call, and one
 * on syscalls:sys_enter_<name> for each name below. Counting only (no
 * samples, no ring buffer): the tracepoint adds a little work to each
 * system call of the counted tasks, nothing else.
 *
 * The tracepoint ids are read from tracefs (/sys/kernel/tracing, or
 * /sys/kernel/debug/tracing); root, or perf_event_paranoid allowing it,
 * is needed for another process's tasks.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "bench_store_sysc.h"

/*
 * The named system calls: what the stores, kmqd and kmq-bench use on
 * their hot paths. Slot 0 is the total.
 */
static const char * const sysc_names[BENCH_SYSC_EVENTS] = {
	"total", "ioctl", "futex", "clock_gettime", "clock_nanosleep",
	"nanosleep", "msync", "madvise", "fallocate", "fdatasync", "write",
	"writev", "read", "pread64", "pwrite64", "sendfile64", "sendmsg",
	"recvmsg", "recvfrom", "io_uring_enter", "epoll_wait", "mmap",
	"munmap", "mprotect", "clone", "clone3", "openat", "close",
	"getrusage", "sched_yield", "exit",
};

static const char * const tracefs_roots[] = {
	"/sys/kernel/tracing",
	"/sys/kernel/debug/tracing",
};

/* The tracepoint id of events/@event under tracefs, or -errno. */
static long tp_id(const char *root, const char *event)
{
	char path[256], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/events/%s/id", root, event);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

long bench_sysc_tp_id(const char *event)
{
	unsigned int r;
	long id = -ENOENT;

	for (r = 0; r < ARRAY_SIZE(tracefs_roots); r++) {
		id = tp_id(tracefs_roots[r], event);
		if (id != -ENOENT)
			break;
	}
	return id;
}

int bench_sysc_tp_open(long id, pid_t tid)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_TRACEPOINT;
	a.config = (uint64_t)id;
	a.inherit = 1;
	return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1,
			    PERF_FLAG_FD_CLOEXEC);
}

static uint64_t fd_count(int fd)
{
	uint64_t v = 0;

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

void bench_sysc_read(const struct bench_sysc *c, struct bench_sysc_snap *s)
{
	unsigned int t, e;

	memset(s, 0, sizeof(*s));
	for (t = 0; t < c->ntasks; t++)
		for (e = 0; e < BENCH_SYSC_EVENTS; e++)
			s->v[e] += fd_count(c->fds[t * BENCH_SYSC_EVENTS + e]);
}

void bench_sysc_diff(const struct bench_sysc *c,
		     const struct bench_sysc_snap *a,
		     const struct bench_sysc_snap *b,
		     struct bench_sysc_snap *out)
{
	unsigned int e;
	uint64_t d;

	for (e = 0; e < BENCH_SYSC_EVENTS; e++) {
		d = b->v[e] - a->v[e];
		out->v[e] = d > c->cost[e] ? d - c->cost[e] : 0;
	}
}

void bench_sysc_close(struct bench_sysc *c)
{
	unsigned int i;

	for (i = 0; c->fds && i < c->ntasks * BENCH_SYSC_EVENTS; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	free(c->fds);
	c->fds = NULL;
	c->ntasks = 0;
}

/* The tracepoint ids: ids[0] must exist. Return: 0 or -errno. */
static int sysc_ids(long *ids)
{
	char ev[64];
	unsigned int e;

	ids[0] = bench_sysc_tp_id("raw_syscalls/sys_enter");
	if (ids[0] < 0) {
		fprintf(stderr,
			"syscall counters: no tracefs with raw_syscalls/sys_enter (mount -t tracefs nodev /sys/kernel/tracing)\n");
		return -ENOENT;
	}
	for (e = 1; e < BENCH_SYSC_EVENTS; e++) {
		snprintf(ev, sizeof(ev), "syscalls/sys_enter_%s",
			 sysc_names[e]);
		ids[e] = bench_sysc_tp_id(ev);
	}
	return 0;
}

int bench_sysc_open(struct bench_sysc *c, const pid_t *tids, unsigned int n)
{
	struct bench_sysc_snap a, b;
	long ids[BENCH_SYSC_EVENTS];
	unsigned int t, e;
	int ret, fd, *slot;

	memset(c, 0, sizeof(*c));
	ret = sysc_ids(ids);
	if (ret)
		return ret;
	c->fds = malloc(sizeof(*c->fds) * n * BENCH_SYSC_EVENTS);
	if (!c->fds)
		return -ENOMEM;
	c->ntasks = n;
	for (t = 0; t < n * BENCH_SYSC_EVENTS; t++)
		c->fds[t] = -1;
	for (t = 0; t < n; t++) {
		for (e = 0; e < BENCH_SYSC_EVENTS; e++) {
			slot = &c->fds[t * BENCH_SYSC_EVENTS + e];
			if (ids[e] < 0)
				continue;
			fd = bench_sysc_tp_open(ids[e], tids[t]);
			if (fd >= 0) {
				*slot = fd;
				continue;
			}
			ret = -errno;
			/* A thread may end while its process's are opened. */
			if (ret == -ESRCH && tids[t])
				break;
			fprintf(stderr, "syscall counters: perf_event_open(%s, task %d): %s\n",
				sysc_names[e], (int)tids[t], strerror(-ret));
			bench_sysc_close(c);
			return ret;
		}
	}
	/* What a read costs itself, so that differences leave it out. */
	bench_sysc_read(c, &a);
	bench_sysc_read(c, &b);
	for (e = 0; e < BENCH_SYSC_EVENTS; e++)
		c->cost[e] = b.v[e] - a.v[e];
	return 0;
}

void bench_sysc_print(FILE *f, const char *what, const char *per,
		      const struct bench_sysc_snap *d, uint64_t calls)
{
	double n = calls ? (double)calls : 1.0;
	uint64_t named = 0;
	unsigned int e;

	fprintf(f, "  %s: %llu syscalls, %.3f per %s (", what,
		(unsigned long long)d->v[0], d->v[0] / n, per);
	for (e = 1; e < BENCH_SYSC_EVENTS; e++) {
		if (!d->v[e])
			continue;
		named += d->v[e];
		fprintf(f, "%s %.3f, ", sysc_names[e], d->v[e] / n);
	}
	fprintf(f, "other %.3f)\n",
		d->v[0] > named ? (d->v[0] - named) / n : 0.0);
}

json_t *bench_sysc_json(const struct bench_sysc_snap *d, uint64_t calls)
{
	json_t *j = json_object(), *by = json_object();
	uint64_t named = 0;
	unsigned int e;

	for (e = 1; e < BENCH_SYSC_EVENTS; e++) {
		if (!d->v[e])
			continue;
		named += d->v[e];
		json_object_set_new(by, sysc_names[e], json_integer(d->v[e]));
	}
	json_object_set_new(by, "other",
			    json_integer(d->v[0] > named ? d->v[0] - named :
					 0));
	json_object_set_new(j, "total", json_integer(d->v[0]));
	json_object_set_new(j, "calls", json_integer(calls));
	json_object_set_new(j, "per_call",
			    json_real(calls ? (double)d->v[0] / calls : 0));
	json_object_set_new(j, "by_name", by);
	return j;
}
