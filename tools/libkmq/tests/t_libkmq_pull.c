// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_pull.c - libkmq's pull consumer against a real kmqd: a topic's
 * queues, pulls from offsets the caller chooses (FOUND, NO_NEW_MSG,
 * OFFSET_ILLEGAL, tag filters), long polling, committed offsets, queue
 * offsets (min, max, by time) and bad arguments.
 */
#include "lk_test_util.h"

static struct lk_env env;

static int to_queue0(const struct kmq_mq *mqs, unsigned int n,
		     const struct kmq_message *m, void *arg)
{
	return 0;
}

static int send_q0(struct kmq_producer *p, const char *tags, const char *body)
{
	struct kmq_selector sel = { to_queue0, NULL };
	struct kmq_message m = { .topic = "PL", .tags = tags, .body = body,
				 .body_len = strlen(body) };
	struct kmq_send_result r;

	return kmq_producer_send(p, &m, &sel, &r);
}

struct late {
	struct kmq_producer *p;
	unsigned int delay_ms;
};

static void *send_late(void *arg)
{
	struct late *l = arg;

	kd_sleep_ms(l->delay_ms);
	send_q0(l->p, NULL, "late");
	return NULL;
}

int main(int argc, char **argv)
{
	static const char * const args[] = {
		"--ioThreads=2", "--mapedFileSizeCommitLog=16777216", NULL,
	};
	struct kmq_pull_consumer_config cfg;
	struct kmq_pull_consumer *c;
	struct kmq_pull_result *r = NULL;
	struct kmq_producer *p;
	struct kmq_mq *mqs = NULL, q0, bad;
	struct late l;
	pthread_t th;
	unsigned int i, wrong = 0;
	int64_t off = -1, t_mid;
	double t0;
	int n;

	kmq_set_log(getenv("LK_LOG") ? KMQ_LOG_DEBUG : KMQ_LOG_ERROR, NULL,
		    NULL);
	lk_start(&env, argv[0], "lkpull", args);
	lk_topic(&env, "PL", 4);
	p = lk_producer(env.ns, "pg-pull");
	kmq_pull_consumer_config_init(&cfg);
	lk_client(&cfg.client, env.ns);
	cfg.group = "g-pull";
	if (kmq_pull_consumer_new(&cfg, &c))
		kmq_tap_bail(kmq_errmsg());

	n = kmq_pull_consumer_queues(c, "PL", &mqs);
	ok(n == 4 && mqs[0].queue_id == 0 && mqs[3].queue_id == 3 &&
	   !strcmp(mqs[0].topic, "PL"), "the 4 queues of PL, sorted (%d)", n);
	q0 = mqs[0];
	free(mqs);
	is_int(kmq_pull_consumer_queues(c, "NoSuchTopic", &mqs),
	       KMQ_ERR_BROKER(KMQ_RESP_TOPIC_NOT_EXIST),
	       "an unknown topic: TOPIC_NOT_EXIST");

	for (i = 0; i < 10; i++) {
		char body[32];

		snprintf(body, sizeof(body), "pull-%u", i);
		wrong += send_q0(p, i % 2 ? "TagB" : "TagA", body) != 0;
	}
	/* Store times are in ms: the next ms is after all ten. */
	kd_sleep_ms(5);
	t_mid = (int64_t)kd_now_ms();
	kd_sleep_ms(20);
	is_int(wrong, 0, "10 messages sent to queue 0");
	ok(!kmq_pull_consumer_pull(c, &q0, "*", 0, 32, 0, &r) &&
	   r->status == KMQ_PULL_FOUND && r->nmsgs == 10 &&
	   r->next_begin_offset == 10 && r->min_offset == 0 &&
	   r->max_offset == 10, "pull from 0: FOUND, 10 messages, next 10");
	for (i = 0, wrong = 0; r && i < r->nmsgs; i++) {
		char body[32];

		snprintf(body, sizeof(body), "pull-%u", i);
		wrong += r->msgs[i]->queue_offset != i ||
			 r->msgs[i]->body_len != strlen(body) ||
			 memcmp(r->msgs[i]->body, body, strlen(body)) ||
			 strcmp(r->msgs[i]->topic, "PL");
	}
	is_int(wrong, 0, "in offset order, bodies as sent");
	kmq_pull_result_free(r);
	r = NULL;
	ok(!kmq_pull_consumer_pull(c, &q0, "*", 3, 2, 0, &r) &&
	   r->nmsgs == 2 && r->msgs[0]->queue_offset == 3 &&
	   r->next_begin_offset == 5, "pull 2 from 3: offsets 3 and 4, next 5");
	kmq_pull_result_free(r);
	r = NULL;
	ok(!kmq_pull_consumer_pull(c, &q0, "TagB", 0, 32, 0, &r) &&
	   r->status == KMQ_PULL_FOUND && r->nmsgs == 5 &&
	   !strcmp(r->msgs[0]->tags, "TagB") && r->next_begin_offset == 10,
	   "pull with \"TagB\": the 5 TagB messages only");
	kmq_pull_result_free(r);
	r = NULL;
	ok(!kmq_pull_consumer_pull(c, &q0, "*", 10, 32, 0, &r) &&
	   r->status == KMQ_PULL_NO_NEW_MSG && r->next_begin_offset == 10 &&
	   !r->nmsgs, "pull at the end without blocking: NO_NEW_MSG at once");
	kmq_pull_result_free(r);
	r = NULL;
	n = kmq_pull_consumer_pull(c, &q0, "*", 1000, 32, 0, &r);
	ok(!n && r->status == KMQ_PULL_OFFSET_ILLEGAL &&
	   r->next_begin_offset <= 10,
	   "pull past the end: OFFSET_ILLEGAL, next %" PRId64,
	   r ? r->next_begin_offset : -1);
	kmq_pull_result_free(r);
	r = NULL;

	l.p = p;
	l.delay_ms = 600;
	pthread_create(&th, NULL, send_late, &l);
	t0 = kd_mono_ms();
	n = kmq_pull_consumer_pull(c, &q0, "*", 10, 32, 10000, &r);
	t0 = kd_mono_ms() - t0;
	ok(!n && r->status == KMQ_PULL_FOUND && r->nmsgs == 1 && t0 >= 500 &&
	   t0 < 5000,
	   "long polling: a blocked pull returns when a message arrives (%.0f ms)",
	   t0);
	pthread_join(th, NULL);
	kmq_pull_result_free(r);
	r = NULL;
	t0 = kd_mono_ms();
	n = kmq_pull_consumer_pull(c, &q0, "*", 11, 32, 700, &r);
	t0 = kd_mono_ms() - t0;
	ok(!n && r->status == KMQ_PULL_NO_NEW_MSG && t0 >= 600,
	   "... or NO_NEW_MSG once its time is over (%.0f ms)", t0);
	kmq_pull_result_free(r);
	r = NULL;

	ok(!kmq_pull_consumer_commit_offset(c, &q0, 7) &&
	   !kmq_pull_consumer_fetch_offset(c, &q0, &off) && off == 7,
	   "commit 7, fetch 7");
	ok(!kmq_pull_consumer_min_offset(c, &q0, &off) && off == 0,
	   "min offset 0");
	ok(!kmq_pull_consumer_max_offset(c, &q0, &off) && off == 11,
	   "max offset 11");
	off = -1;
	n = kmq_pull_consumer_search_offset(c, &q0, t_mid, &off);
	ok(!n && off == 10, "the first offset stored after a time: 10 (%" PRId64
	   ")", off);

	is_int(kmq_pull_consumer_pull(c, &q0, "*", 0, 0, 0, &r), -EINVAL,
	       "max_msgs 0: -EINVAL");
	is_int(kmq_pull_consumer_pull(c, &q0, "*", -1, 1, 0, &r), -EINVAL,
	       "a negative offset: -EINVAL");
	bad = q0;
	snprintf(bad.broker_name, sizeof(bad.broker_name), "nobody");
	is_int(kmq_pull_consumer_pull(c, &bad, "*", 0, 1, 0, &r), -ENOENT,
	       "a broker nobody routes: -ENOENT (%s)", kmq_errmsg());
	bad = q0;
	bad.queue_id = 99;
	ok(kmq_err_is_broker(kmq_pull_consumer_pull(c, &bad, "*", 0, 1, 0,
						    &r)),
	   "a queue the topic does not have: the broker's error (%s)",
	   kmq_errmsg());

	kmq_pull_consumer_free(c);
	kmq_producer_free(p);
	ok(kd_server_alive(&env.s), "kmqd still running");
	kd_server_cleanup(&env.s);
	return kmq_tap_done();
}
