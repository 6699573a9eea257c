// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_vm_sysc.c - inside the benchmark VM: count the system calls of a
 * running process (kmqd), every thread of it, while a command runs
 * (kmq-bench drain), with the kernel's syscall tracepoints
 * (tools/bench/bench_store_sysc.c; no ptrace, so kmqd runs at its
 * speed). vmbench.sh builds it static into the VM's /selftests.
 *
 * Usage: kmq_vm_sysc -p PID -o FILE -- COMMAND [ARGS...]
 * Opens a counter set on each thread of PID (threads it starts later are
 * counted too), runs COMMAND with its stdout and stderr as they are,
 * then writes to FILE one JSON object, {"pid": PID, "threads": N,
 * "seconds": S, "syscalls": {"total": N, "by_name": {...}},
 * "kmq_ioctls": {...}} (S: how long COMMAND ran), and
 * exits with COMMAND's status (127 if it could not run, 2 for bad
 * arguments or no counters). "kmq_ioctls" splits the ioctl()s by
 * /dev/kmq command (uapi/kmq_ioctl.h), counted on syscalls:sys_enter_ioctl
 * with a filter on cmd per command; a filter is set on the counters of the
 * threads that exist at the start (kmqd starts all of its threads before
 * it serves).
 */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_store_sysc.h"
#include "kmq_ioctl.h"

#define MAX_TASKS	1024

static const struct {
	const char *name;
	unsigned int cmd;
} kmq_cmds[] = {
	{ "ATTACH", KMQ_IOC_ATTACH },
	{ "DETACH", KMQ_IOC_DETACH },
	{ "TOPIC_SET", KMQ_IOC_TOPIC_SET },
	{ "TOPIC_DEL", KMQ_IOC_TOPIC_DEL },
	{ "TOPIC_LIST", KMQ_IOC_TOPIC_LIST },
	{ "APPEND", KMQ_IOC_APPEND },
	{ "READ", KMQ_IOC_READ },
	{ "QUEUE_INFO", KMQ_IOC_QUEUE_INFO },
	{ "OFFSET_BY_TIME", KMQ_IOC_OFFSET_BY_TIME },
	{ "FLUSH", KMQ_IOC_FLUSH },
	{ "SUBSCRIBE", KMQ_IOC_SUBSCRIBE },
	{ "READY", KMQ_IOC_READY },
	{ "STORE_INFO", KMQ_IOC_STORE_INFO },
	{ "READ_AT", KMQ_IOC_READ_AT },
	{ "PULL_SEND", KMQ_IOC_PULL_SEND },
	{ "PULL_PREPARE", KMQ_IOC_PULL_PREPARE },
};

#define NCMDS	ARRAY_SIZE(kmq_cmds)

/*
 * The ioctl counters of @n tasks, one per task and command, in @fds
 * (-1 where a task is gone). Return: 0, or -errno (no such tracepoint, or
 * filters refused).
 */
static int cmds_open(const pid_t *tids, int n, int *fds)
{
	long id = bench_sysc_tp_id("syscalls/sys_enter_ioctl");
	char filter[48];
	unsigned int c;
	int t, fd;

	for (t = 0; t < n * (int)NCMDS; t++)
		fds[t] = -1;
	if (id < 0)
		return (int)id;
	for (t = 0; t < n; t++) {
		for (c = 0; c < NCMDS; c++) {
			fd = bench_sysc_tp_open(id, tids[t]);
			if (fd < 0)
				break;	/* the thread ended */
			snprintf(filter, sizeof(filter), "cmd == %u",
				 kmq_cmds[c].cmd);
			if (ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter)) {
				close(fd);
				return -errno;
			}
			fds[t * NCMDS + c] = fd;
		}
	}
	return 0;
}

static void cmds_read(const int *fds, int n, unsigned long long *v)
{
	unsigned long long x;
	unsigned int c;
	int t;

	memset(v, 0, sizeof(*v) * NCMDS);
	for (t = 0; t < n; t++) {
		for (c = 0; c < NCMDS; c++) {
			x = 0;
			if (fds[t * NCMDS + c] >= 0 &&
			    read(fds[t * NCMDS + c], &x, sizeof(x)) == sizeof(x))
				v[c] += x;
		}
	}
}

static void cmds_close(int *fds, int n)
{
	int i;

	for (i = 0; i < n * (int)NCMDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int bad_args(void)
{
	fprintf(stderr, "usage: kmq_vm_sysc -p PID -o FILE -- COMMAND [ARGS...]\n");
	return 2;
}

/* The thread ids of @pid, from /proc/PID/task. Return: count or -errno. */
static int task_ids(pid_t pid, pid_t *tids, int max)
{
	struct dirent *de;
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			tids[n++] = (pid_t)atoi(de->d_name);
	closedir(d);
	return n;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(char **argv)
{
	pid_t child;
	int st;

	child = fork();
	if (child < 0) {
		perror("kmq_vm_sysc: fork");
		return 127;
	}
	if (!child) {
		execvp(argv[0], argv);
		fprintf(stderr, "kmq_vm_sysc: %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	static int cfds[MAX_TASKS * NCMDS];
	unsigned long long ca[NCMDS], cb[NCMDS];
	struct bench_sysc_snap a, b, d;
	static pid_t tids[MAX_TASKS];
	const char *out = NULL;
	struct bench_sysc c;
	json_t *j, *jc;
	pid_t pid = 0;
	int opt, n, rc;
	unsigned int k;
	double t0, t1;
	FILE *f;

	while ((opt = getopt(argc, argv, "+p:o:")) != -1) {
		switch (opt) {
		case 'p':
			pid = (pid_t)atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return bad_args();
		}
	}
	if (pid <= 0 || !out || optind >= argc)
		return bad_args();
	n = task_ids(pid, tids, MAX_TASKS);
	if (n <= 0) {
		fprintf(stderr, "kmq_vm_sysc: no process %d\n", (int)pid);
		return 2;
	}
	if (bench_sysc_open(&c, tids, (unsigned int)n))
		return 2;
	rc = cmds_open(tids, n, cfds);
	if (rc) {
		fprintf(stderr, "kmq_vm_sysc: ioctl counters: %s\n",
			strerror(-rc));
		return 2;
	}
	cmds_read(cfds, n, ca);
	bench_sysc_read(&c, &a);
	t0 = mono_s();
	rc = run(argv + optind);
	t1 = mono_s();
	bench_sysc_read(&c, &b);
	cmds_read(cfds, n, cb);
	bench_sysc_diff(&c, &a, &b, &d);
	bench_sysc_close(&c);
	cmds_close(cfds, n);

	j = json_object();
	json_object_set_new(j, "pid", json_integer(pid));
	json_object_set_new(j, "threads", json_integer(n));
	json_object_set_new(j, "seconds", json_real(t1 - t0));
	json_object_set_new(j, "syscalls", bench_sysc_json(&d, 0));
	jc = json_object();
	for (k = 0; k < NCMDS; k++)
		if (cb[k] - ca[k])
			json_object_set_new(jc, kmq_cmds[k].name,
					    json_integer(cb[k] - ca[k]));
	json_object_set_new(j, "kmq_ioctls", jc);
	f = fopen(out, "w");
	if (f) {
		json_dumpf(j, f, JSON_COMPACT);
		fputc('\n', f);
		if (fclose(f))
			f = NULL;
	}
	if (!f) {
		fprintf(stderr, "kmq_vm_sysc: %s: %s\n", out, strerror(errno));
		rc = rc ? rc : 2;
	}
	json_decref(j);
	return rc;
}
