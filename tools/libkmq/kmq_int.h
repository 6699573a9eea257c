/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_int.h - libkmq's internal base: error and log helpers, clocks, the
 * work queue every thread of the library runs on, and received frames.
 * Internal names start with kmqc_ (the public ones with kmq_).
 */
#ifndef KMQ_INT_H
#define KMQ_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmq/kmq.h"
#include "kmq_remoting.h"
#include "kmqd_codes.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define KMQC_PRINTF(a, b)	__attribute__((format(printf, a, b)))

/* ---- errors and logs (kmq_err.c, kmq_log.c) ------------------------- */

/* kmqc_fail() - set this thread's error message; return @err. */
int kmqc_fail(int err, const char *fmt, ...) KMQC_PRINTF(2, 3);
/* kmqc_fail_resp() - the error of a non-zero response code, remark kept. */
int kmqc_fail_resp(const struct kmq_rmt_cmd *resp, const char *what);
/* kmqc_errmsg_set() - set the message to @msg (callbacks' errors). */
void kmqc_errmsg_set(const char *msg);

void kmqc_log(enum kmq_log_level level, const char *fmt, ...)
	KMQC_PRINTF(2, 3);
bool kmqc_log_on(enum kmq_log_level level);

#define kmqc_err(...)	kmqc_log(KMQ_LOG_ERROR, __VA_ARGS__)
#define kmqc_warn(...)	kmqc_log(KMQ_LOG_WARN, __VA_ARGS__)
#define kmqc_info(...)	kmqc_log(KMQ_LOG_INFO, __VA_ARGS__)
#define kmqc_dbg(...)	kmqc_log(KMQ_LOG_DEBUG, __VA_ARGS__)

/* ---- clocks (kmq_clock.c) ------------------------------------------- */

uint64_t kmqc_mono_ms(void);
uint64_t kmqc_now_ms(void);
void kmqc_sleep_ms(unsigned int ms);
/* kmqc_cond_init() - a condition variable waiting on CLOCK_MONOTONIC. */
int kmqc_cond_init(pthread_cond_t *cv);
/*
 * kmqc_cond_wait_until() - wait on @cv until @deadline (kmqc_mono_ms()).
 * Return: 0 when woken, ETIMEDOUT when the deadline passed.
 */
int kmqc_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m,
			 uint64_t deadline);

/* ---- the work queue (kmq_wq.c) -------------------------------------- */

/*
 * kmqc_task_fn - a task: @run is true when it runs, false when it is
 * discarded by a stopping queue (it must then only release @arg).
 */
typedef void (*kmqc_task_fn)(void *arg, bool run);

/**
 * struct kmqc_task - a task in a queue: allocated by kmqc_wq_post(), or
 * the caller's own storage (kmqc_wq_post_task(): @own, never freed by
 * the queue, and not touched by it once @fn is called).
 */
struct kmqc_task {
	kmqc_task_fn fn;
	void *arg;
	uint64_t due;
	bool own;
	struct kmqc_task *next;
};

/**
 * struct kmqc_wq - threads running tasks, each now or after a delay.
 * Tasks due now run in the order posted (several threads: concurrently).
 */
struct kmqc_wq {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct kmqc_task *head, *tail;	/* due now, FIFO */
	struct kmqc_task *timed;	/* sorted by due time */
	pthread_t *threads;
	unsigned int nthreads;
	unsigned int running;		/* tasks being run */
	bool stop;
	bool joined;
	char name[16];
};

int kmqc_wq_init(struct kmqc_wq *q, unsigned int nthreads, const char *name);
/*
 * kmqc_wq_post() - run @fn(@arg, true) after @delay_ms. Return: 0, or
 * -ESHUTDOWN / -ENOMEM (then @fn is not called at all).
 */
int kmqc_wq_post(struct kmqc_wq *q, uint64_t delay_ms, kmqc_task_fn fn,
		 void *arg);
/*
 * kmqc_wq_post_task() - run @fn(@arg, true) now, queued in @t, the
 * caller's storage (no allocation): @t must stay valid until @fn is
 * called, and may be freed by @fn. Return: 0, or -ESHUTDOWN (then @fn is
 * not called at all).
 */
int kmqc_wq_post_task(struct kmqc_wq *q, struct kmqc_task *t,
		      kmqc_task_fn fn, void *arg);
/*
 * kmqc_wq_stop() - stop the threads once their current tasks end; the
 * tasks left are run (@drain) or discarded (fn(arg, false)), and posts
 * fail from now on. Idempotent; not from one of @q's threads.
 */
void kmqc_wq_stop(struct kmqc_wq *q, bool drain);
/* kmqc_wq_destroy() - stop (discarding) if needed, free. Posts fail after. */
void kmqc_wq_destroy(struct kmqc_wq *q);
/* kmqc_wq_in() - is the caller one of @q's threads? */
bool kmqc_wq_in(struct kmqc_wq *q);

/* ---- received frames ------------------------------------------------ */

/**
 * struct kmqc_frame - a frame read from a connection: its bytes, and the
 * command decoded from them (whose body points into @raw). One
 * allocation: @raw follows the structure.
 */
struct kmqc_frame {
	uint8_t *raw;
	size_t len;
	struct kmq_rmt_cmd cmd;
};

void kmqc_frame_free(struct kmqc_frame *f);

/* kmqc_ext_i64() - extField @key of @f as an integer, or @def. */
int64_t kmqc_ext_i64(const struct kmqc_frame *f, const char *key,
		     int64_t def);

/* ---- strings -------------------------------------------------------- */

/*
 * kmqc_strcpy() - @src into @dst of @size bytes, cut to fit and
 * NUL-terminated (@size > 0); without printf's cost on hot paths.
 */
void kmqc_strcpy(char *dst, const char *src, size_t size);
/* kmqc_strdup() - strdup() of NULL is NULL; false only when out of memory. */
bool kmqc_strdup(char **dst, const char *src);
/* kmqc_name_ok() - 1..@max bytes, no control characters. */
bool kmqc_name_ok(const char *s, size_t max);
/* kmqc_java_hash() - Java's String.hashCode() of a UTF-8 string. */
int32_t kmqc_java_hash(const char *s);

#endif /* KMQ_INT_H */
