// SPDX-License-Identifier: GPL-2.0-only
/*
 * consumer.c - docs/client.md: a push consumer in a clustering group,
 * consuming until it has seen COUNT messages (or 30 s passed).
 *
 *   consumer NAMESRV TOPIC [COUNT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <kmq/kmq.h>

static unsigned int seen;

static enum kmq_consume_status on_message(void *arg,
					  const struct kmq_message_ext *const *msgs,
					  unsigned int n,
					  struct kmq_consume_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		printf("%s/%d@%lld %.*s (tags %s)\n", msgs[i]->topic,
		       msgs[i]->queue_id, (long long)msgs[i]->queue_offset,
		       (int)msgs[i]->body_len, (const char *)msgs[i]->body,
		       msgs[i]->tags ? msgs[i]->tags : "-");
	__atomic_add_fetch(&seen, n, __ATOMIC_RELAXED);
	return KMQ_CONSUME_SUCCESS;	/* or KMQ_CONSUME_RETRY_LATER */
}

int main(int argc, char **argv)
{
	const char *topic = argc > 2 ? argv[2] : "DemoTopic";
	unsigned int want = argc > 3 ? atoi(argv[3]) : 10, waited = 0;
	struct kmq_push_consumer_config cfg;
	struct kmq_push_consumer *c;

	kmq_push_consumer_config_init(&cfg);
	cfg.client.namesrv_addr = argc > 1 ? argv[1] : "127.0.0.1:9876";
	cfg.group = "demo-consumer";
	cfg.from = KMQ_CONSUME_FROM_FIRST_OFFSET;
	cfg.listener = on_message;
	if (kmq_push_consumer_new(&cfg, &c) ||
	    kmq_push_consumer_subscribe(c, topic, "TagA || TagB") ||
	    kmq_push_consumer_start(c)) {
		fprintf(stderr, "consumer: %s\n", kmq_errmsg());
		return 1;
	}
	while (__atomic_load_n(&seen, __ATOMIC_RELAXED) < want &&
	       waited++ < 300)
		usleep(100000);
	kmq_push_consumer_free(c);	/* commits the offsets */
	printf("consumed %u\n", seen);
	return seen >= want ? 0 : 1;
}
