// SPDX-License-Identifier: GPL-2.0-only
/*
 * pull.c - docs/client.md: a pull consumer reading every queue of a
 * topic from its committed offset to the end, then committing.
 *
 *   pull NAMESRV TOPIC
 */
#include <stdio.h>
#include <stdlib.h>

#include <kmq/kmq.h>

int main(int argc, char **argv)
{
	const char *topic = argc > 2 ? argv[2] : "DemoTopic";
	struct kmq_pull_consumer_config cfg;
	struct kmq_pull_consumer *c;
	struct kmq_mq *mqs;
	unsigned int total = 0;
	int i, n;

	kmq_pull_consumer_config_init(&cfg);
	cfg.client.namesrv_addr = argc > 1 ? argv[1] : "127.0.0.1:9876";
	cfg.group = "demo-pull";
	if (kmq_pull_consumer_new(&cfg, &c)) {
		fprintf(stderr, "pull consumer: %s\n", kmq_errmsg());
		return 1;
	}
	n = kmq_pull_consumer_queues(c, topic, &mqs);
	if (n < 0) {
		fprintf(stderr, "queues of %s: %s\n", topic, kmq_errmsg());
		kmq_pull_consumer_free(c);
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct kmq_pull_result *r;
		int64_t offset;

		if (kmq_pull_consumer_fetch_offset(c, &mqs[i], &offset))
			offset = 0;	/* nothing committed yet */
		for (;;) {
			unsigned int k;

			if (kmq_pull_consumer_pull(c, &mqs[i], "*", offset, 32,
						   0, &r)) {
				fprintf(stderr, "pull: %s\n", kmq_errmsg());
				break;
			}
			for (k = 0; k < r->nmsgs; k++)
				printf("queue %d offset %lld: %.*s\n",
				       mqs[i].queue_id,
				       (long long)r->msgs[k]->queue_offset,
				       (int)r->msgs[k]->body_len,
				       (const char *)r->msgs[k]->body);
			total += r->nmsgs;
			offset = r->next_begin_offset;
			if (r->status != KMQ_PULL_FOUND) {
				kmq_pull_result_free(r);
				break;
			}
			kmq_pull_result_free(r);
		}
		kmq_pull_consumer_commit_offset(c, &mqs[i], offset);
	}
	free(mqs);
	kmq_pull_consumer_free(c);
	printf("pulled %u\n", total);
	return total ? 0 : 1;
}
