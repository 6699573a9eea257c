// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_log.c - the library's log lines: dropped above the level set with
 * kmq_set_log(), written to stderr or handed to the application's hook.
 */
#include <stdarg.h>
#include <stdio.h>

#include "kmq_int.h"

static pthread_mutex_t kmqc_log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum kmq_log_level kmqc_log_max = KMQ_LOG_WARN;
static kmq_log_fn kmqc_log_hook;
static void *kmqc_log_arg;

static const char * const kmqc_level_names[] = {
	[KMQ_LOG_ERROR] = "error",
	[KMQ_LOG_WARN] = "warn",
	[KMQ_LOG_INFO] = "info",
	[KMQ_LOG_DEBUG] = "debug",
};

void kmq_set_log(enum kmq_log_level max, kmq_log_fn fn, void *arg)
{
	pthread_mutex_lock(&kmqc_log_lock);
	kmqc_log_max = max;
	kmqc_log_hook = fn;
	kmqc_log_arg = arg;
	pthread_mutex_unlock(&kmqc_log_lock);
}

bool kmqc_log_on(enum kmq_log_level level)
{
	return level <= __atomic_load_n(&kmqc_log_max, __ATOMIC_RELAXED);
}

void kmqc_log(enum kmq_log_level level, const char *fmt, ...)
{
	kmq_log_fn fn;
	char msg[1024];
	va_list ap;
	void *arg;

	if (!kmqc_log_on(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&kmqc_log_lock);
	fn = kmqc_log_hook;
	arg = kmqc_log_arg;
	pthread_mutex_unlock(&kmqc_log_lock);
	if (fn) {
		fn(arg, level, msg);
		return;
	}
	if (level > KMQ_LOG_DEBUG)
		level = KMQ_LOG_DEBUG;
	fprintf(stderr, "libkmq: %s: %s\n", kmqc_level_names[level], msg);
}
