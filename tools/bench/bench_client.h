/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_client.h - what kmq-bench's client modes share on top of libkmq:
 * the client settings from the flags, and the topic made ready before a
 * run (created on the brokers, its route known to the name server).
 */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include <kmq/kmq.h>

#include "bench_ropts.h"

/*
 * bench_client_config() - libkmq's client settings for the flags @o; also
 * libkmq's log level from KMQ_BENCH_LOG (error, warn, info, debug).
 */
void bench_client_config(struct kmq_client_config *cfg,
			 const struct bench_ropts *o);

/*
 * bench_topic_prepare() - with o->create, create o->topic with o->queues
 * read and write queues (UPDATE_AND_CREATE_TOPIC, 17) on o->broker or on
 * every master of the name server's cluster info (106); then wait until
 * the name server's route has them. Without it, the route must exist
 * (a topic that a producer just created is waited for up to 3 s).
 * @nqueues: the route's readable queues, summed over its brokers
 * Return: 0, or -errno with the reason printed.
 */
int bench_topic_prepare(const struct bench_ropts *o, unsigned int *nqueues);

#endif /* BENCH_CLIENT_H */
