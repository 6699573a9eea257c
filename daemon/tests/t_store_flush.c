// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_store_flush.c - flush policies: SYNC_FLUSH appends return only once
 * durable and concurrent appenders share syncs (group commit);
 * ASYNC_FLUSH syncs every async_interval_ms once async_min_pages are
 * dirty and everything every async_full_interval_ms (checked once with
 * RocketMQ's defaults: 500 ms, 4 pages, 10 s); kmq_store_flush().
 */
#include <pthread.h>

#include "store_test_util.h"

#define SEG		(1024u * KT_KIB)
#define TOPIC		"FlushT"
#define NTHREADS	16
#define PER_THREAD	100

static char base[KT_PATH_MAX];

static struct kmq_store *open_store(const char *name,
				    enum kmq_flush_mode mode,
				    struct kmq_store_config *cfg, char *root)
{
	struct kmq_store *s;

	kt_path(root, "%s/%s", base, name);
	kt_config(cfg, root, SEG, 0);
	cfg->flush_mode = mode;
	s = kt_open(cfg);
	if (kmq_store_topic_create(s, TOPIC, 4))
		kmq_tap_bail("topic_create failed");
	return s;
}

static void test_sync_single(void)
{
	static unsigned char body[3000];
	struct kmq_store_config cfg;
	struct kmq_append_result ar[4];
	struct kmq_store_stats st;
	struct kmq_msg m[4];
	char root[KT_PATH_MAX];
	struct kmq_store *s;
	int i, err = 0, late = 0, j;

	s = open_store("sync1", KMQ_FLUSH_SYNC, &cfg, root);
	memset(body, 's', sizeof(body));
	for (i = 0; i < 100 && !err; i++) {
		kt_msg_init(&m[0], TOPIC, i % 4, body, 1 + i * 29 % 3000, NULL);
		err = kmq_store_append(s, &m[0], &ar[0]);
		kmq_store_stats(s, &st);
		if (st.flushed_offset < ar[0].phys_offset + ar[0].size ||
		    st.flushed_offset > st.write_offset)
			late++;
	}
	is_int(err, 0, "SYNC_FLUSH: 100 appends return 0");
	is_int(late, 0, "after each, flushed_offset covers the record");

	for (i = 0; i < 20 && !err; i++) {
		for (j = 0; j < 4; j++)
			kt_msg_init(&m[j], TOPIC, j, body, 100 + 700 * j, NULL);
		err = kmq_store_append_batch(s, m, 4, ar);
		kmq_store_stats(s, &st);
		if (st.flushed_offset < ar[3].phys_offset + ar[3].size)
			late++;
	}
	is_int(err, 0, "SYNC_FLUSH: 20 batches return 0");
	is_int(late, 0, "after each, flushed_offset covers the batch");
	kmq_store_stats(s, &st);
	ok(st.syncs > 0 && st.syncs <= st.appends,
	   "syncs counted (%llu for %llu appends)",
	   (unsigned long long)st.syncs, (unsigned long long)st.appends);
	is_int(kmq_store_flush(s), 0, "kmq_store_flush under SYNC_FLUSH");
	kmq_store_close(s);
}

struct appender {
	struct kmq_store *s;
	pthread_barrier_t *go;
	int id;
	int errors;
	int late;
};

static void *append_thread(void *arg)
{
	struct appender *a = arg;
	struct kmq_append_result ar;
	struct kmq_store_stats st;
	unsigned char body[512];
	struct kmq_msg m;
	int i, err;

	memset(body, a->id, sizeof(body));
	kt_msg_init(&m, TOPIC, a->id % 4, body, sizeof(body), NULL);
	pthread_barrier_wait(a->go);
	for (i = 0; i < PER_THREAD; i++) {
		err = kmq_store_append(a->s, &m, &ar);
		if (err) {
			a->errors++;
			continue;
		}
		kmq_store_stats(a->s, &st);
		if (st.flushed_offset < ar.phys_offset + ar.size)
			a->late++;
	}
	return NULL;
}

static void test_group_commit(void)
{
	struct appender a[NTHREADS];
	struct kmq_store_config cfg;
	struct kmq_store_stats st0, st;
	pthread_barrier_t go;
	pthread_t t[NTHREADS];
	char root[KT_PATH_MAX];
	struct kmq_store *s;
	uint64_t appends, syncs, want;
	int i, errors = 0, late = 0;
	uint32_t q;
	uint64_t min, max, total = 0;

	s = open_store("group", KMQ_FLUSH_SYNC, &cfg, root);
	kmq_store_stats(s, &st0);
	pthread_barrier_init(&go, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		a[i] = (struct appender){ .s = s, .go = &go, .id = i };
		if (pthread_create(&t[i], NULL, append_thread, &a[i]))
			kmq_tap_bail("pthread_create");
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		errors += a[i].errors;
		late += a[i].late;
	}
	pthread_barrier_destroy(&go);
	kmq_store_stats(s, &st);
	appends = st.appends - st0.appends;
	syncs = st.syncs - st0.syncs;
	is_int(errors, 0, "%d threads x %d SYNC_FLUSH appends all return 0",
	       NTHREADS, PER_THREAD);
	is_int(late, 0, "each returned only once flushed_offset covered it");
	is_int(appends, NTHREADS * PER_THREAD, "stats.appends counts them");
	diag("%llu syncs for %llu appends", (unsigned long long)syncs,
	     (unsigned long long)appends);
	ok(syncs > 0 && syncs * 2 <= appends,
	   "group commit: at most one sync per two appends");
	for (q = 0; q < 4; q++) {
		kmq_store_queue_offsets(s, TOPIC, q, &min, &max);
		total += max;
	}
	want = NTHREADS * PER_THREAD;
	is_int(total, want, "every record has its queue entry");
	kmq_store_close(s);
}

/* wait_flushed() - ms until flushed_offset >= @end, or -1 after @limit. */
static double wait_flushed(struct kmq_store *s, uint64_t end, double start,
			   double limit)
{
	struct kmq_store_stats st;

	for (;;) {
		kmq_store_stats(s, &st);
		if (st.flushed_offset >= end)
			return kt_mono_ms() - start;
		if (kt_mono_ms() - start > limit)
			return -1;
		kt_sleep_ms(10);
	}
}

static uint64_t append_bytes(struct kmq_store *s, uint32_t len)
{
	static unsigned char body[64 * 1024];
	struct kmq_append_result ar;
	struct kmq_msg m;

	memset(body, 'a', sizeof(body));
	kt_msg_init(&m, TOPIC, 0, body, len, NULL);
	if (kmq_store_append(s, &m, &ar))
		return 0;
	return ar.phys_offset + ar.size;
}

static void test_async_short(void)
{
	struct kmq_store_config cfg;
	struct kmq_store_stats st;
	char root[KT_PATH_MAX];
	struct kmq_store *s;
	uint64_t end;
	double t0, dt;

	kt_path(root, "%s/async-short", base);
	kt_config(&cfg, root, SEG, 0);
	cfg.flush_mode = KMQ_FLUSH_ASYNC;
	cfg.async_interval_ms = 50;
	cfg.async_min_pages = 4;
	cfg.async_full_interval_ms = 1000;
	s = kt_open(&cfg);
	kmq_store_topic_create(s, TOPIC, 4);

	end = append_bytes(s, 5 * 4096);
	t0 = kt_mono_ms();
	ok(end > 0, "ASYNC (50 ms, 4 pages, 1 s): append 5 pages");
	dt = wait_flushed(s, end, t0, 900);
	ok(dt >= 0, "... flushed within 900 ms (%.0f ms)", dt);

	kt_sleep_ms(1100);
	end = append_bytes(s, 100);
	t0 = kt_mono_ms();
	dt = wait_flushed(s, end, t0, 2500);
	ok(dt >= 0,
	   "a 100-byte append is flushed by the 1 s full flush (%.0f ms)", dt);
	kmq_store_stats(s, &st);
	ok(st.flushed_offset <= st.write_offset,
	   "flushed_offset never passes write_offset");
	kmq_store_close(s);
}

static void test_flush_call(void)
{
	struct kmq_store_config cfg;
	struct kmq_store_stats st;
	char root[KT_PATH_MAX];
	struct kmq_store *s;
	uint64_t end;

	kt_path(root, "%s/flushcall", base);
	kt_config(&cfg, root, SEG, 0);
	cfg.flush_mode = KMQ_FLUSH_ASYNC;
	cfg.async_interval_ms = 60000;
	cfg.async_full_interval_ms = 600000;
	s = kt_open(&cfg);
	kmq_store_topic_create(s, TOPIC, 4);
	end = append_bytes(s, 50000);
	kmq_store_stats(s, &st);
	ok(end && st.flushed_offset < end,
	   "ASYNC with a 60 s timer: the append is not durable yet");
	is_int(kmq_store_flush(s), 0, "kmq_store_flush");
	kmq_store_stats(s, &st);
	ok(st.flushed_offset >= end && st.flushed_offset == st.write_offset,
	   "after kmq_store_flush everything is durable");
	kmq_store_close(s);
}

/*
 * RocketMQ's defaults. Store B gets one tiny append right after opening
 * and must wait for the 10 s full flush; meanwhile store A shows the
 * 500 ms / 4 pages flush.
 */
static void test_async_defaults(void)
{
	struct kmq_store_config ca, cb;
	char ra[KT_PATH_MAX], rb[KT_PATH_MAX];
	struct kmq_store *a, *b;
	uint64_t end_a, end_b;
	double tb, ta, dt;

	b = open_store("defaults-b", KMQ_FLUSH_ASYNC, &cb, rb);
	ok(cb.async_interval_ms == 500 && cb.async_min_pages == 4 &&
	   cb.async_full_interval_ms == 10000, "defaults: 500 ms, 4, 10 s");
	end_b = append_bytes(b, 100);
	tb = kt_mono_ms();

	a = open_store("defaults-a", KMQ_FLUSH_ASYNC, &ca, ra);
	end_a = append_bytes(a, 4 * 4096 + 100);
	ta = kt_mono_ms();
	dt = wait_flushed(a, end_a, ta, 1200);
	ok(dt >= 0, "defaults: 4+ dirty pages flushed within 1.2 s (%.0f ms)",
	   dt);

	dt = wait_flushed(b, end_b, tb, 2000);
	ok(dt < 0, "defaults: a 100-byte append is not flushed within 2 s");
	dt = wait_flushed(b, end_b, tb, 11500);
	ok(dt >= 0, "defaults: ... but within the 10 s full flush (%.0f ms)",
	   dt);
	kmq_store_close(a);
	kmq_store_close(b);
}

int main(void)
{
	char *tmp = kt_tmpdir("flush");

	kt_watchdog(120);
	snprintf(base, sizeof(base), "%s", tmp);
	test_sync_single();
	test_group_commit();
	test_flush_call();
	test_async_short();
	test_async_defaults();
	kt_skip("FLUSH_DISK_TIMEOUT needs a disk that really stalls");
	kt_rm_rf(tmp);
	free(tmp);
	return kmq_tap_done();
}
