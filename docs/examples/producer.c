// SPDX-License-Identifier: GPL-2.0-only
/*
 * producer.c - docs/client.md: a producer sending messages synchronously,
 * asynchronously and oneway.
 *
 *   producer NAMESRV TOPIC [COUNT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmq/kmq.h>

static void on_sent(void *arg, int err, const struct kmq_send_result *res)
{
	unsigned int *acked = arg;

	if (err) {
		fprintf(stderr, "async send: %s\n", kmq_errmsg());
		return;
	}
	__atomic_add_fetch(acked, 1, __ATOMIC_RELAXED);
}

int main(int argc, char **argv)
{
	const char *topic = argc > 2 ? argv[2] : "DemoTopic";
	unsigned int i, count = argc > 3 ? atoi(argv[3]) : 10, acked = 0;
	struct kmq_producer_config cfg;
	struct kmq_send_result res;
	struct kmq_producer *p;
	char body[64];

	kmq_producer_config_init(&cfg);
	cfg.client.namesrv_addr = argc > 1 ? argv[1] : "127.0.0.1:9876";
	cfg.group = "demo-producer";
	if (kmq_producer_new(&cfg, &p)) {
		fprintf(stderr, "producer: %s\n", kmq_errmsg());
		return 1;
	}

	/* Synchronous: the call returns once the broker stored it. */
	for (i = 0; i < count; i++) {
		struct kmq_message m = {
			.topic = topic, .tags = "TagA", .keys = "order-42",
			.body = body,
		};

		m.body_len = snprintf(body, sizeof(body), "hello %u", i);
		if (kmq_producer_send(p, &m, NULL, &res)) {
			fprintf(stderr, "send: %s\n", kmq_errmsg());
			kmq_producer_free(p);
			return 1;
		}
		printf("%s %s queue %d offset %lld\n",
		       kmq_send_status_name(res.status), res.msg_id,
		       res.mq.queue_id, (long long)res.queue_offset);
	}

	/* Asynchronous: on_sent() runs on a library thread. */
	for (i = 0; i < count; i++) {
		struct kmq_message m = { .topic = topic, .body = body };

		m.body_len = snprintf(body, sizeof(body), "async %u", i);
		if (kmq_producer_send_async(p, &m, NULL, on_sent, &acked))
			fprintf(stderr, "send_async: %s\n", kmq_errmsg());
	}
	kmq_producer_flush(p, 10000);
	printf("async: %u of %u acknowledged\n", acked, count);

	/* Oneway: written, never answered. */
	{
		struct kmq_message m = { .topic = topic, .body = "fire",
					 .body_len = 4 };

		kmq_producer_send_oneway(p, &m, NULL);
	}
	kmq_producer_free(p);
	return acked == count ? 0 : 1;
}
