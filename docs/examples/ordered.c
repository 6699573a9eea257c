// SPDX-License-Identifier: GPL-2.0-only
/*
 * ordered.c - docs/client.md: ordered messages. The producer sends the
 * messages of one key to one queue (kmq_select_by_hash); an orderly
 * consumer gets each queue's messages in order, one at a time.
 *
 *   ordered NAMESRV TOPIC
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kmq/kmq.h>

#define KEYS	4
#define STEPS	25

static int last[KEYS] = { -1, -1, -1, -1 };
static unsigned int total, disorder;

static enum kmq_consume_status in_order(void *arg,
					const struct kmq_message_ext *const *msgs,
					unsigned int n,
					struct kmq_consume_ctx *ctx)
{
	unsigned int i, key, step;

	for (i = 0; i < n; i++) {
		if (sscanf(msgs[i]->body, "order-%u step %u", &key,
			   &step) != 2 || key >= KEYS)
			continue;
		/* One call at a time per queue: no lock needed per key. */
		if ((int)step != last[key] + 1)
			disorder++;
		last[key] = step;
		__atomic_add_fetch(&total, 1, __ATOMIC_RELAXED);
	}
	return KMQ_CONSUME_SUCCESS;	/* or KMQ_CONSUME_SUSPEND */
}

int main(int argc, char **argv)
{
	const char *ns = argc > 1 ? argv[1] : "127.0.0.1:9876";
	const char *topic = argc > 2 ? argv[2] : "OrderTopic";
	struct kmq_push_consumer_config ccfg;
	struct kmq_producer_config pcfg;
	struct kmq_push_consumer *c;
	struct kmq_producer *p;
	unsigned int k, s, waited = 0;

	kmq_producer_config_init(&pcfg);
	pcfg.client.namesrv_addr = ns;
	pcfg.group = "demo-ordered-producer";
	if (kmq_producer_new(&pcfg, &p)) {
		fprintf(stderr, "producer: %s\n", kmq_errmsg());
		return 1;
	}
	for (s = 0; s < STEPS; s++) {
		for (k = 0; k < KEYS; k++) {
			char key[16], body[64];
			struct kmq_selector sel = { kmq_select_by_hash, key };
			struct kmq_message m = { .topic = topic, .keys = key,
						 .body = body };

			snprintf(key, sizeof(key), "order-%u", k);
			m.body_len = snprintf(body, sizeof(body),
					      "order-%u step %u", k, s);
			if (kmq_producer_send(p, &m, &sel, NULL))
				fprintf(stderr, "send: %s\n", kmq_errmsg());
		}
	}
	kmq_producer_free(p);

	kmq_push_consumer_config_init(&ccfg);
	ccfg.client.namesrv_addr = ns;
	ccfg.group = "demo-ordered-consumer";
	ccfg.from = KMQ_CONSUME_FROM_FIRST_OFFSET;
	ccfg.orderly = true;
	ccfg.listener = in_order;
	if (kmq_push_consumer_new(&ccfg, &c) ||
	    kmq_push_consumer_subscribe(c, topic, "*") ||
	    kmq_push_consumer_start(c)) {
		fprintf(stderr, "consumer: %s\n", kmq_errmsg());
		return 1;
	}
	while (__atomic_load_n(&total, __ATOMIC_RELAXED) < KEYS * STEPS &&
	       waited++ < 300)
		usleep(100000);
	kmq_push_consumer_free(c);
	printf("%u messages, %u out of order\n", total, disorder);
	return total == KEYS * STEPS && !disorder ? 0 : 1;
}
