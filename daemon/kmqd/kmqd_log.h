/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqd_log.h - kmqd's log: levelled lines to stderr or to a file.
 *
 * A line reads
 *
 *   2026-11-21 05:56:22.123 INFO  [thread-name] message
 *
 * with the local time, the level padded to five columns and the calling
 * thread's name (pthread_setname_np(), the program name for the main
 * thread). Each line is written with a single write(2), so lines from
 * concurrent threads never interleave, and a file is opened O_APPEND so
 * several processes may share one. The level can change at any time.
 *
 * Before kmqd_log_open() is called lines go to stderr at KMQD_LOG_INFO.
 */
#ifndef KMQD_LOG_H
#define KMQD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum kmqd_log_level {
	KMQD_LOG_ERR = 0,
	KMQD_LOG_WARN = 1,
	KMQD_LOG_INFO = 2,
	KMQD_LOG_DEBUG = 3,
};

/* Longest line written; a longer message is cut and ends in "...". */
#define KMQD_LOG_LINE_MAX	8192

/* The current level: lines above it are dropped. Use the functions. */
extern int kmqd_log_threshold;

/**
 * kmqd_log_open() - send lines to @file (appended, created 0644) or, when
 * @file is NULL or "", to stderr; and set the level.
 * Return: 0, or -errno if the file cannot be opened (the log is then
 * unchanged).
 *
 * Switching to a file while other threads log is safe; switching back to
 * stderr is meant for start-up and tests.
 */
int kmqd_log_open(const char *file, int level);

/**
 * kmqd_log_reopen() - reopen the file given to kmqd_log_open() under the
 * same descriptor (after log rotation, on SIGHUP). Safe while other threads
 * log. Return: 0 (also when logging to stderr) or -errno.
 */
int kmqd_log_reopen(void);

/** kmqd_log_close() - back to stderr; closes the file. */
void kmqd_log_close(void);

void kmqd_log_set_level(int level);
int kmqd_log_get_level(void);

/**
 * kmqd_log_level_parse() - "error", "warn" (or "warning"), "info" or
 * "debug", in any case. Return: the level, or -1.
 */
int kmqd_log_level_parse(const char *name);

/** kmqd_log_level_name() - "error", "warn", "info", "debug" (or "?"). */
const char *kmqd_log_level_name(int level);

/**
 * kmqd_log_set_thread_name() - name the calling thread (at most 15 bytes
 * are kept, as pthread_setname_np() allows); the name appears in its lines.
 */
void kmqd_log_set_thread_name(const char *name);

static inline bool kmqd_log_enabled(int level)
{
	return level <= __atomic_load_n(&kmqd_log_threshold, __ATOMIC_RELAXED);
}

void kmqd_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kmqd_vlog(int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * The level is tested before the arguments are evaluated, so a disabled
 * log_debug() costs one load.
 */
#define log_err(...)							\
	do {								\
		if (kmqd_log_enabled(KMQD_LOG_ERR))			\
			kmqd_log(KMQD_LOG_ERR, __VA_ARGS__);		\
	} while (0)
#define log_warn(...)							\
	do {								\
		if (kmqd_log_enabled(KMQD_LOG_WARN))			\
			kmqd_log(KMQD_LOG_WARN, __VA_ARGS__);		\
	} while (0)
#define log_info(...)							\
	do {								\
		if (kmqd_log_enabled(KMQD_LOG_INFO))			\
			kmqd_log(KMQD_LOG_INFO, __VA_ARGS__);		\
	} while (0)
#define log_debug(...)							\
	do {								\
		if (kmqd_log_enabled(KMQD_LOG_DEBUG))			\
			kmqd_log(KMQD_LOG_DEBUG, __VA_ARGS__);		\
	} while (0)

#endif /* KMQD_LOG_H */
