// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_clock.c - the clocks of the library: monotonic milliseconds for
 * every deadline and timer, real time for message time stamps, and
 * condition variables that wait on the monotonic clock.
 */
#include <time.h>

#include "kmq_int.h"

uint64_t kmqc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t kmqc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void kmqc_sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int kmqc_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int ret;

	ret = pthread_condattr_init(&a);
	if (ret)
		return -ret;
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	ret = pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
	return -ret;
}

int kmqc_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m,
			 uint64_t deadline)
{
	struct timespec ts = {
		.tv_sec = deadline / 1000,
		.tv_nsec = (long)(deadline % 1000) * 1000000L,
	};

	if (deadline == UINT64_MAX)
		return pthread_cond_wait(cv, m);
	return pthread_cond_timedwait(cv, m, &ts);
}
