// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_restart.c - a broker restart in the middle of a run: a producer
 * sends (retrying what fails) while a push consumer consumes; kmqd is
 * killed (SIGKILL) and started again on the same store and ports. Every
 * message the broker acknowledged must be consumed (some twice, at
 * least once: offsets committed since the last persist are lost with the
 * process), and both clients carry on by themselves, with only a delay.
 */
#include "lk_test_util.h"

#define RS_MESSAGES	400

static struct lk_env env;

struct prod {
	struct kmq_producer *p;
	unsigned int acked;
	unsigned int failures;
	bool stop;
};

static void *produce(void *arg)
{
	struct prod *pr = arg;
	unsigned int i;

	for (i = 0; i < RS_MESSAGES && !pr->stop; i++) {
		struct kmq_message m = { .topic = "RS" };
		struct kmq_send_result r;
		char body[32];

		m.body = body;
		m.body_len = snprintf(body, sizeof(body), "rs-%u", i);
		while (!pr->stop && kmq_producer_send(pr->p, &m, NULL, &r)) {
			__atomic_add_fetch(&pr->failures, 1, __ATOMIC_RELAXED);
			kd_sleep_ms(100);
		}
		__atomic_store_n(&pr->acked, i + 1, __ATOMIC_RELEASE);
		kd_sleep_ms(5);
	}
	return NULL;
}

static enum kmq_consume_status record(void *arg,
				      const struct kmq_message_ext *const *m,
				      unsigned int n,
				      struct kmq_consume_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		lk_seen_add(arg, 0, m[i]);
	return KMQ_CONSUME_SUCCESS;
}

/*
 * How many of rs-0 .. rs-(n-1) were seen; duplicates counted apart, and
 * in *@past the records of rs-@from and later.
 */
static unsigned int seen_all(struct lk_seen *s, unsigned int n,
			     unsigned int *dups, unsigned int from,
			     unsigned int *past)
{
	unsigned int i, k, good = 0;
	unsigned char *hit = calloc(n, 1);

	*dups = 0;
	*past = 0;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++) {
		if (sscanf(s->v[i].body, "rs-%u", &k) != 1 || k >= n)
			continue;
		if (hit[k]++)
			(*dups)++;
		if (k >= from)
			(*past)++;
	}
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++)
		good += hit[i] > 0;
	free(hit);
	return good;
}

int main(int argc, char **argv)
{
	static const char * const args[] = {
		"--ioThreads=2", "--mapedFileSizeCommitLog=16777216", NULL,
	};
	struct lk_seen seen = LK_SEEN_INIT;
	struct kmq_push_consumer_config cc;
	struct kmq_push_consumer *c;
	struct kmq_consumer_stats st;
	struct prod pr = { 0 };
	unsigned int acked_at_kill, dups, past, got;
	double deadline, down, t0;
	pthread_t th;

	kmq_set_log(getenv("LK_LOG") ? KMQ_LOG_DEBUG : KMQ_LOG_ERROR, NULL,
		    NULL);
	lk_start(&env, argv[0], "lkrestart", args);
	lk_topic(&env, "RS", 4);
	pr.p = lk_producer(env.ns, "pg-restart");
	lk_push_config(&cc, env.ns, "g-restart", record, &seen);
	c = lk_push_start(&cc, "RS", "*");
	pthread_create(&th, NULL, produce, &pr);

	deadline = kd_mono_ms() + LK_WAIT_MS;
	while (lk_seen_count(&seen) < RS_MESSAGES / 3 &&
	       kd_mono_ms() < deadline)
		kd_sleep_ms(10);
	acked_at_kill = __atomic_load_n(&pr.acked, __ATOMIC_ACQUIRE);
	diag("killing kmqd after %u consumed, %u acknowledged",
	     lk_seen_count(&seen), acked_at_kill);
	is_int(kd_server_signal_wait(&env.s, SIGKILL, 5000), 128 + SIGKILL,
	       "kmqd killed in the middle of the run");
	t0 = kd_mono_ms();
	kd_sleep_ms(1000);
	ok(!kd_server_start(&env.s),
	   "kmqd started again on the same store and ports");
	down = kd_mono_ms() - t0;

	deadline = kd_mono_ms() + 3 * LK_WAIT_MS;
	while ((__atomic_load_n(&pr.acked, __ATOMIC_ACQUIRE) < RS_MESSAGES ||
		seen_all(&seen, RS_MESSAGES, &dups, 0, &past) < RS_MESSAGES) &&
	       kd_mono_ms() < deadline)
		kd_sleep_ms(50);
	pr.stop = true;
	pthread_join(th, NULL);
	ok(pr.acked == RS_MESSAGES && pr.failures > 0,
	   "the producer got errors while kmqd was down (%u) and then sent all %u",
	   pr.failures, pr.acked);
	got = seen_all(&seen, RS_MESSAGES, &dups, acked_at_kill + 1, &past);
	is_int(got, RS_MESSAGES,
	       "every acknowledged message was consumed: nothing lost (%u duplicates)",
	       dups);
	ok(past >= RS_MESSAGES - acked_at_kill - 1,
	   "the consumer resumed by itself after the restart (%u consumed sent after the kill; down %.0f ms)",
	   past, down);
	kmq_push_consumer_stats(c, &st);
	ok(st.queues >= 4, "it still owns its queues (%u)", st.queues);
	kmq_push_consumer_free(c);
	kmq_producer_free(pr.p);
	ok(kd_server_alive(&env.s), "kmqd still running");
	kd_server_cleanup(&env.s);
	lk_seen_free(&seen);
	return kmq_tap_done();
}
