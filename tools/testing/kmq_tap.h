/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_tap.h - minimal TAP producer for kmq's userspace tests (run by prove).
 *
 * ok()/is()/... print one "ok N - name" or "not ok N - name" line each;
 * kmq_tap_done() prints the plan and returns the exit status.
 */
#ifndef KMQ_TAP_H
#define KMQ_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int kmq_tap_n;
static int kmq_tap_failed;

static inline int kmq_tap_vok(int cond, const char *fmt, va_list ap)
{
	kmq_tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", kmq_tap_n);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond)
		kmq_tap_failed++;
	fflush(stdout);
	return cond;
}

static inline __attribute__((format(printf, 2, 3)))
int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = kmq_tap_vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

/* diag() - a "# ..." comment line. */
static inline __attribute__((format(printf, 1, 2)))
void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define is_int(got, want, ...) ({					\
	long long __g = (long long)(got), __w = (long long)(want);	\
	int __r = ok(__g == __w, __VA_ARGS__);				\
	if (!__r)							\
		diag("  got %lld, want %lld", __g, __w);		\
	__r;								\
})

#define is_mem(got, want, len, ...) \
	ok(memcmp((got), (want), (len)) == 0, __VA_ARGS__)

/* kmq_tap_bail() - stop the whole test file: prove reports it as failed. */
static inline void kmq_tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
	exit(255);
}

static inline int kmq_tap_done(void)
{
	printf("1..%d\n", kmq_tap_n);
	return kmq_tap_failed ? 1 : 0;
}

#endif /* KMQ_TAP_H */
