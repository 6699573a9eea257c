// SPDX-License-Identifier: GPL-2.0-only
/*
 * admin.c - docs/client.md: raw requests through struct kmq_client, as an
 * admin tool sends them: a topic's route, then a queue's max offset.
 *
 *   admin NAMESRV TOPIC
 */
#include <stdio.h>
#include <string.h>

#include <kmq/kmq.h>

int main(int argc, char **argv)
{
	const char *topic = argc > 2 ? argv[2] : "DemoTopic";
	struct kmq_client_config cfg;
	struct kmq_topic_route *route;
	struct kmq_response *resp;
	struct kmq_client *c;
	unsigned int i;
	int ret;

	kmq_client_config_init(&cfg);
	cfg.namesrv_addr = argc > 1 ? argv[1] : "127.0.0.1:9876";
	if (kmq_client_new(&cfg, &c)) {
		fprintf(stderr, "client: %s\n", kmq_errmsg());
		return 1;
	}
	ret = kmq_client_topic_route(c, topic, &route);
	if (ret) {
		fprintf(stderr, "route: %s\n", kmq_errmsg());
		kmq_client_free(c);
		return 1;
	}
	for (i = 0; i < route->nqueues; i++) {
		const struct kmq_queue_data *q = &route->queues[i];
		struct kmq_field fields[] = {
			{ "topic", topic }, { "queueId", "0" },
		};
		const char *addr = NULL;
		unsigned int b;

		for (b = 0; b < route->nbrokers; b++)
			if (route->brokers[b].naddrs &&
			    !strcmp(route->brokers[b].name, q->broker_name))
				addr = route->brokers[b].addrs[0].addr;
		printf("broker %s (%s): %d read, %d write queues, perm %d\n",
		       q->broker_name, addr ? addr : "?", q->read_queues,
		       q->write_queues, q->perm);
		if (!addr)
			continue;
		/* GET_MAX_OFFSET (30), any request code works the same. */
		if (kmq_client_request(c, addr, 30, fields, 2, NULL, 0, 0,
				       &resp)) {
			fprintf(stderr, "request: %s\n", kmq_errmsg());
			continue;
		}
		printf("  queue 0: code %d, max offset %s\n", resp->code,
		       kmq_response_field(resp, "offset"));
		kmq_response_free(resp);
	}
	kmq_topic_route_free(route);
	kmq_client_free(c);
	return 0;
}
