// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_store_err.c - the store's error codes, per-thread error messages
 * and clocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kmq_store_int.h"

static __thread char kmq_errbuf[512];

/* kmq_err() - remember a detailed message for @err and return it. */
int kmq_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kmq_errbuf, sizeof(kmq_errbuf), fmt, ap);
	va_end(ap);
	return err;
}

const char *kmq_store_errmsg(void)
{
	return kmq_errbuf[0] ? kmq_errbuf : "no error";
}

const char *kmq_store_strerror(int err)
{
	static const char * const names[] = {
		[KMQ_ENOTSTORE - KMQ_ENOTSTORE] = "not a kmq store directory",
		[KMQ_ECORRUPT - KMQ_ENOTSTORE] = "store files are inconsistent",
		[KMQ_EBADTOPIC - KMQ_ENOTSTORE] = "illegal topic name",
		[KMQ_ENOTOPIC - KMQ_ENOTSTORE] = "topic does not exist",
		[KMQ_EBADQUEUE - KMQ_ENOTSTORE] = "queue id out of range",
		[KMQ_EMSGSIZE - KMQ_ENOTSTORE] = "message too large",
		[KMQ_EBADPROPS - KMQ_ENOTSTORE] = "malformed message properties",
		[KMQ_EBUSY - KMQ_ENOTSTORE] = "store is open in another process",
		[KMQ_ECLOSED - KMQ_ENOTSTORE] = "store is closing",
	};
	unsigned int i;

	if (err >= 0)
		return "success";
	i = -err - KMQ_ENOTSTORE;
	if (-err >= KMQ_ENOTSTORE && i < ARRAY_SIZE(names))
		return names[i];
	return strerror(-err);
}

uint64_t kmq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t kmq_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t kmq_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
