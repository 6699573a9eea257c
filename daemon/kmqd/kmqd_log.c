// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_log.c - kmqd's log: formats one line per call and writes it with a
 * single write(2) to stderr or to an O_APPEND file. See kmqd_log.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "kmqd_log.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

int kmqd_log_threshold = KMQD_LOG_INFO;

/* The descriptor lines go to; changed under log_lock, read without it. */
static int log_fd = STDERR_FILENO;
static char *log_path;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	[KMQD_LOG_ERR] = "error",
	[KMQD_LOG_WARN] = "warn",
	[KMQD_LOG_INFO] = "info",
	[KMQD_LOG_DEBUG] = "debug",
};

static const char *const level_tags[] = {
	[KMQD_LOG_ERR] = "ERROR",
	[KMQD_LOG_WARN] = "WARN",
	[KMQD_LOG_INFO] = "INFO",
	[KMQD_LOG_DEBUG] = "DEBUG",
};

static int clamp_level(int level)
{
	if (level < KMQD_LOG_ERR)
		return KMQD_LOG_ERR;
	if (level > KMQD_LOG_DEBUG)
		return KMQD_LOG_DEBUG;
	return level;
}

void kmqd_log_set_level(int level)
{
	__atomic_store_n(&kmqd_log_threshold, clamp_level(level),
			 __ATOMIC_RELAXED);
}

int kmqd_log_get_level(void)
{
	return __atomic_load_n(&kmqd_log_threshold, __ATOMIC_RELAXED);
}

int kmqd_log_level_parse(const char *name)
{
	unsigned int i;

	if (!name)
		return -1;
	if (!strcasecmp(name, "warning"))
		return KMQD_LOG_WARN;
	for (i = 0; i < ARRAY_SIZE(level_names); i++)
		if (!strcasecmp(name, level_names[i]))
			return (int)i;
	return -1;
}

const char *kmqd_log_level_name(int level)
{
	if (level < KMQD_LOG_ERR || level > KMQD_LOG_DEBUG)
		return "?";
	return level_names[level];
}

static int open_log_file(const char *file)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	return fd < 0 ? -errno : fd;
}

/*
 * Put @nfd in place of the current descriptor. When we already own one,
 * dup3() replaces it atomically under the same number, so a writer racing
 * with us writes either to the old file or to the new one.
 */
static void install_fd(int nfd)
{
	int cur = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);

	if (cur != STDERR_FILENO && dup3(nfd, cur, O_CLOEXEC) >= 0) {
		close(nfd);
		return;
	}
	__atomic_store_n(&log_fd, nfd, __ATOMIC_RELEASE);
	if (cur != STDERR_FILENO)
		close(cur);
}

int kmqd_log_open(const char *file, int level)
{
	char *path = NULL;
	int fd, cur;

	pthread_mutex_lock(&log_lock);
	if (!file || !file[0]) {
		cur = __atomic_exchange_n(&log_fd, STDERR_FILENO,
					  __ATOMIC_ACQ_REL);
		if (cur != STDERR_FILENO)
			close(cur);
		free(log_path);
		log_path = NULL;
		goto out;
	}
	path = strdup(file);
	if (!path) {
		pthread_mutex_unlock(&log_lock);
		return -ENOMEM;
	}
	fd = open_log_file(file);
	if (fd < 0) {
		pthread_mutex_unlock(&log_lock);
		free(path);
		return fd;
	}
	install_fd(fd);
	free(log_path);
	log_path = path;
out:
	pthread_mutex_unlock(&log_lock);
	kmqd_log_set_level(level);
	return 0;
}

int kmqd_log_reopen(void)
{
	int fd, ret = 0;

	pthread_mutex_lock(&log_lock);
	if (log_path) {
		fd = open_log_file(log_path);
		if (fd < 0)
			ret = fd;
		else
			install_fd(fd);
	}
	pthread_mutex_unlock(&log_lock);
	return ret;
}

void kmqd_log_close(void)
{
	kmqd_log_open(NULL, kmqd_log_get_level());
}

void kmqd_log_set_thread_name(const char *name)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%s", name);
	pthread_setname_np(pthread_self(), buf);
}

static void thread_name(char buf[16])
{
	memset(buf, 0, 16);
	if (prctl(PR_GET_NAME, (unsigned long)buf, 0, 0, 0) || !buf[0])
		snprintf(buf, 16, "%d", (int)gettid());
}

static void write_all(const char *p, size_t n)
{
	int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void kmqd_vlog(int level, const char *fmt, va_list ap)
{
	char line[KMQD_LOG_LINE_MAX];
	char tname[16];
	struct timespec ts;
	struct tm tm;
	size_t n, room;
	int m, saved_errno = errno;

	if (!kmqd_log_enabled(level))
		return;
	level = clamp_level(level);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	thread_name(tname);

	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	m = snprintf(line + n, sizeof(line) - n, ".%03ld %-5s [%s] ",
		     ts.tv_nsec / 1000000, level_tags[level], tname);
	n += m > 0 ? (size_t)m : 0;

	/* Room for the message, keeping one byte for the newline. */
	room = sizeof(line) - n - 1;
	m = vsnprintf(line + n, room + 1, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)m > room) {
		n += room;
		memcpy(line + n - 3, "...", 3);
	} else {
		n += (size_t)m;
	}
	while (n && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	write_all(line, n);
	errno = saved_errno;
}

void kmqd_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kmqd_vlog(level, fmt, ap);
	va_end(ap);
}
