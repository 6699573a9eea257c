// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_concurrency_test.c - appenders on both CPUs and readers at once:
 * offsets assigned once each and in commitlog order, readers following
 * the writer see whole, correct records, a slow reader overtaken by the
 * ring gets an error and never the bytes of another record, fds opened
 * and closed in parallel, and a detach under load.
 */
#include <pthread.h>
#include <sched.h>

#include "kselftest_harness.h"
#include "kmq_st.h"

#define NAPP		4
#define PER_APP		300
#define RING_SEG	(64u * 1024)

struct ctx {
	const char *name;	/* the store to bind to */
	int id;
	int n;
	__u32 queue;
	volatile int *stop;
	/* results */
	__u64 *qoff, *phys;
	int errors;
	int too_small;
	int wrong_bytes;
	long got;
	char msg[160];
};

static void pin(int id)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (ncpu < 1)
		return;
	CPU_ZERO(&set);
	CPU_SET(id % ncpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int open_bound(const char *name)
{
	int fd = kmq_st_open();

	if (fd < 0)
		return -1;
	if (kmq_st_bind(fd, name)) {
		close(fd);
		return -1;
	}
	return fd;
}

static __u64 seed_of(int id, int i)
{
	return (__u64)id << 32 | (__u32)i;
}

static void *appender(void *arg)
{
	struct ctx *c = arg;
	struct kmq_append_res res;
	int fd, i, ret;

	pin(c->id);
	fd = open_bound(c->name);
	if (fd < 0) {
		c->errors++;
		return NULL;
	}
	for (i = 0; i < c->n && !(c->stop && *c->stop); i++) {
		ret = kmq_st_append_seed(fd, KMQ_ST_TOPIC, c->queue,
					 seed_of(c->id, i), 64 + (i * 13) % 900,
					 &res);
		if (ret) {
			c->errors++;
			snprintf(c->msg, sizeof(c->msg), "append %d: %s", i,
				 strerror(-ret));
			break;
		}
		if (c->qoff)
			c->qoff[i] = res.queue_offset;
		if (c->phys)
			c->phys[i] = res.phys_offset;
		c->got++;
	}
	close(fd);
	return NULL;
}

FIXTURE(store)
{
	struct kmq_st_store s;
};

FIXTURE_SETUP(store)
{
	ASSERT_EQ(0, kmq_st_up(&self->s, "conc", 4u << 20, 16,
			       KMQ_FLUSH_MODE_ASYNC));
}

FIXTURE_TEARDOWN(store)
{
	kmq_st_down(&self->s);
}

/* Every queue offset assigned exactly once, in commitlog order. */
TEST_F(store, appenders_both_cpus)
{
	static __u64 qoff[NAPP][PER_APP], phys[NAPP][PER_APP];
	static __u64 phys_at[NAPP * PER_APP];
	static char seen[NAPP * PER_APP];
	struct ctx c[NAPP];
	pthread_t th[NAPP];
	int t, i;

	memset(seen, 0, sizeof(seen));
	for (t = 0; t < NAPP; t++) {
		memset(&c[t], 0, sizeof(c[t]));
		c[t].name = self->s.name;
		c[t].id = t;
		c[t].n = PER_APP;
		c[t].qoff = qoff[t];
		c[t].phys = phys[t];
		ASSERT_EQ(0, pthread_create(&th[t], NULL, appender, &c[t]));
	}
	for (t = 0; t < NAPP; t++) {
		pthread_join(th[t], NULL);
		EXPECT_EQ(0, c[t].errors) TH_LOG("%s", c[t].msg);
		ASSERT_EQ(PER_APP, c[t].got);
	}
	for (t = 0; t < NAPP; t++) {
		for (i = 0; i < PER_APP; i++) {
			ASSERT_GT(NAPP * PER_APP, qoff[t][i]);
			EXPECT_EQ(0, seen[qoff[t][i]]);
			seen[qoff[t][i]] = 1;
			phys_at[qoff[t][i]] = phys[t][i];
			/* One thread's records keep their order. */
			if (i)
				EXPECT_LT(qoff[t][i - 1], qoff[t][i]);
		}
	}
	for (i = 1; i < NAPP * PER_APP; i++)
		EXPECT_LT(phys_at[i - 1], phys_at[i]);
}

/* Everything read back is the record its offset says it is. */
TEST_F(store, read_back_after_race)
{
	struct ctx c[NAPP];
	pthread_t th[NAPP];
	struct kmq_record rec;
	struct kmq_read r;
	char *buf = malloc(KMQ_ST_BUF);
	int t, total = 0;
	__u64 next = 0;

	ASSERT_NE(NULL, buf);
	for (t = 0; t < NAPP; t++) {
		memset(&c[t], 0, sizeof(c[t]));
		c[t].name = self->s.name;
		c[t].id = t;
		c[t].n = PER_APP / 2;
		c[t].queue = 2;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, appender, &c[t]));
	}
	for (t = 0; t < NAPP; t++)
		pthread_join(th[t], NULL);
	do {
		__u32 pos = 0;

		kmq_st_read_init(&r, KMQ_ST_TOPIC, 2, next, buf, KMQ_ST_BUF,
				 64);
		ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
		while (kmq_st_next(buf, r.bytes, &pos, &rec) == 0) {
			__u64 seed = kmq_st_seed(rec.body);

			EXPECT_EQ(next, rec.queue_offset);
			EXPECT_TRUE(kmq_st_body_ok(rec.body, rec.body_len,
						   seed));
			next++;
			total++;
		}
		ASSERT_EQ(r.bytes, pos);
	} while (r.status == KMQ_RD_FOUND);
	EXPECT_EQ(NAPP * (PER_APP / 2), total);
	free(buf);
}

/* A reader following the writers closely. */
static void *follower(void *arg)
{
	struct ctx *c = arg;
	char *buf = malloc(KMQ_ST_BUF);
	struct kmq_record rec;
	struct kmq_read r;
	__u64 next = 0;
	int fd, idle = 0;

	pin(c->id);
	fd = open_bound(c->name);
	if (fd < 0 || !buf) {
		c->errors++;
		free(buf);
		return NULL;
	}
	while (c->got < c->n && idle < 2000) {
		__u32 pos = 0;
		int ret;

		kmq_st_read_init(&r, KMQ_ST_TOPIC, c->queue, next, buf,
				 KMQ_ST_BUF, 32);
		ret = kmq_st_read(fd, &r);
		if (ret) {
			c->errors++;
			snprintf(c->msg, sizeof(c->msg), "read: %s",
				 strerror(-ret));
			break;
		}
		if (r.status != KMQ_RD_FOUND) {
			idle++;
			usleep(1000);
			continue;
		}
		idle = 0;
		while ((ret = kmq_st_next(buf, r.bytes, &pos, &rec)) == 0) {
			if (rec.queue_offset != next ||
			    !kmq_st_body_ok(rec.body, rec.body_len,
					    kmq_st_seed(rec.body)))
				c->wrong_bytes++;
			next = rec.queue_offset + 1;
			c->got++;
		}
		if (ret != 1)
			c->wrong_bytes++;
	}
	close(fd);
	free(buf);
	return NULL;
}

TEST_F(store, readers_follow_appenders)
{
	struct ctx a[2], rd[2];
	pthread_t ta[2], tr[2];
	int t;

	for (t = 0; t < 2; t++) {
		memset(&rd[t], 0, sizeof(rd[t]));
		rd[t].name = self->s.name;
		rd[t].id = t + 1;
		rd[t].n = 2 * PER_APP;
		rd[t].queue = 1;
		ASSERT_EQ(0, pthread_create(&tr[t], NULL, follower, &rd[t]));
	}
	for (t = 0; t < 2; t++) {
		memset(&a[t], 0, sizeof(a[t]));
		a[t].name = self->s.name;
		a[t].id = t;
		a[t].n = PER_APP;
		a[t].queue = 1;
		ASSERT_EQ(0, pthread_create(&ta[t], NULL, appender, &a[t]));
	}
	for (t = 0; t < 2; t++) {
		pthread_join(ta[t], NULL);
		EXPECT_EQ(0, a[t].errors) TH_LOG("%s", a[t].msg);
	}
	for (t = 0; t < 2; t++) {
		pthread_join(tr[t], NULL);
		EXPECT_EQ(0, rd[t].errors) TH_LOG("%s", rd[t].msg);
		EXPECT_EQ(0, rd[t].wrong_bytes);
		EXPECT_EQ(2 * PER_APP, rd[t].got);
	}
}

/* --- the ring overtakes a slow reader ------------------------------------ */

/*
 * The slow reader reads one record at a time at its own pace; the
 * racing readers always read at the queue's current minimum, where the
 * ring recycles. Records carry seed == queue offset (one appender), so
 * any byte of another record shows.
 */
static void *slow_reader(void *arg)
{
	struct ctx *c = arg;
	char *buf = malloc(8192);
	struct kmq_queue_info qi;
	struct kmq_record rec;
	struct kmq_read r;
	__u64 next = 0;
	int fd, ret;

	pin(c->id);
	fd = open_bound(c->name);
	if (fd < 0 || !buf) {
		c->errors++;
		free(buf);
		return NULL;
	}
	while (!*c->stop) {
		__u32 pos = 0;

		if (c->n == 0 && !kmq_st_queue_info(fd, KMQ_ST_TOPIC, 0, &qi))
			next = qi.min_offset;	/* racing reader */
		kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, next, buf, 8192, 1);
		ret = kmq_st_read(fd, &r);
		if (ret) {
			/* An error instead of recycled bytes is fine. */
			c->too_small++;
			if (!kmq_st_queue_info(fd, KMQ_ST_TOPIC, 0, &qi) &&
			    qi.min_offset > next)
				next = qi.min_offset;
			continue;
		}
		if (r.status == KMQ_RD_OFFSET_TOO_SMALL) {
			c->too_small++;
			if (r.next_offset <= next) {
				c->wrong_bytes++;
				snprintf(c->msg, sizeof(c->msg),
					 "read at %llu: OFFSET_TOO_SMALL, next offset %llu, min %llu",
					 (unsigned long long)next,
					 (unsigned long long)r.next_offset,
					 (unsigned long long)r.min_offset);
			}
			next = r.next_offset;
			continue;
		}
		if (r.status != KMQ_RD_FOUND) {
			usleep(2000);
			continue;
		}
		ret = kmq_st_next(buf, r.bytes, &pos, &rec);
		if (ret || rec.queue_offset != next ||
		    !kmq_st_body_ok(rec.body, rec.body_len, next)) {
			c->wrong_bytes++;
			snprintf(c->msg, sizeof(c->msg),
				 "read at %llu: count %u bytes %u decode %d, got offset %llu, body %s",
				 (unsigned long long)next, r.count, r.bytes,
				 ret, ret ? 0ull : rec.queue_offset,
				 ret ? "-" : kmq_st_body_ok(rec.body,
							    rec.body_len,
							    next) ?
				 "ok" : "of another record");
		}
		next++;
		c->got++;
		if (c->n)
			usleep(c->n);
	}
	close(fd);
	free(buf);
	return NULL;
}

TEST(ring_wrap_slow_reader)
{
	struct kmq_st_store st;
	struct ctx rd[3];
	pthread_t th[3];
	volatile int stop = 0;
	struct kmq_queue_info qi;
	struct kmq_store_info si;
	int t, i;

	ASSERT_EQ(0, kmq_st_up(&st, "wrap", RING_SEG, 3,
			       KMQ_FLUSH_MODE_ASYNC));
	for (t = 0; t < 3; t++) {
		memset(&rd[t], 0, sizeof(rd[t]));
		rd[t].name = st.name;
		rd[t].id = t;
		rd[t].stop = &stop;
		/* One slow reader (5 ms a record), two racing ones. */
		rd[t].n = t == 0 ? 5000 : 0;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, slow_reader, &rd[t]));
	}
	pin(1);
	/* 2 KiB records, about 20 times the ring. */
	for (i = 0; i < 600; i++)
		ASSERT_EQ(0, kmq_st_append_seed(st.fd, KMQ_ST_TOPIC, 0, i, 2048,
						NULL));
	usleep(300 * 1000);
	stop = 1;
	for (t = 0; t < 3; t++) {
		pthread_join(th[t], NULL);
		EXPECT_EQ(0, rd[t].errors);
		EXPECT_EQ(0, rd[t].wrong_bytes) TH_LOG("%s", rd[t].msg);
	}
	/* The slow reader was overtaken and told so. */
	EXPECT_LT(0, rd[0].too_small);
	EXPECT_LT(0, rd[0].got);
	ASSERT_EQ(0, kmq_st_queue_info(st.fd, KMQ_ST_TOPIC, 0, &qi));
	EXPECT_LT(0, qi.min_offset);
	EXPECT_EQ(600, qi.max_offset);
	ASSERT_EQ(0, kmq_st_store_info(st.fd, &si));
	EXPECT_GE(3, si.segments);
	EXPECT_LT(0, si.min_offset);
	kmq_st_down(&st);
}

/* --- fds and detach under load ------------------------------------------- */

static void *open_bind_close(void *arg)
{
	struct ctx *c = arg;
	int i, fd;

	pin(c->id);
	for (i = 0; i < c->n; i++) {
		fd = open_bound(c->name);
		if (fd < 0) {
			c->errors++;
			continue;
		}
		if (kmq_st_append_seed(fd, KMQ_ST_TOPIC, 3, i, 32, NULL))
			c->errors++;
		if (kmq_st_subscribe(fd, KMQ_ST_TOPIC, 3, 0, 0))
			c->errors++;
		close(fd);
	}
	return NULL;
}

TEST_F(store, fds_open_and_close_in_parallel)
{
	struct kmq_queue_info qi;
	struct ctx c[2];
	pthread_t th[2];
	int t;

	for (t = 0; t < 2; t++) {
		memset(&c[t], 0, sizeof(c[t]));
		c[t].name = self->s.name;
		c[t].id = t;
		c[t].n = 150;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, open_bind_close,
					    &c[t]));
	}
	for (t = 0; t < 2; t++) {
		pthread_join(th[t], NULL);
		EXPECT_EQ(0, c[t].errors);
	}
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 3, &qi));
	EXPECT_EQ(300, qi.max_offset);
}

/*
 * Detach while appenders run: they get ENXIO, nothing breaks, and what
 * was acknowledged is there after re-attach.
 */
TEST_F(store, detach_under_load)
{
	static __u64 qoff[2][2000];
	struct kmq_queue_info qi;
	struct ctx c[2];
	pthread_t th[2];
	long acked = 0;
	int t;

	for (t = 0; t < 2; t++) {
		memset(&c[t], 0, sizeof(c[t]));
		c[t].name = self->s.name;
		c[t].id = t;
		c[t].n = 2000;
		c[t].queue = 0;
		c[t].qoff = qoff[t];
		ASSERT_EQ(0, pthread_create(&th[t], NULL, appender, &c[t]));
	}
	usleep(300 * 1000);
	ASSERT_EQ(0, kmq_st_detach(self->s.fd, self->s.name));
	for (t = 0; t < 2; t++) {
		pthread_join(th[t], NULL);
		acked += c[t].got;
		/* Stopped by the detach, not by anything else. */
		if (c[t].errors) {
			EXPECT_NE(NULL, strstr(c[t].msg, strerror(ENXIO)))
				TH_LOG("%s", c[t].msg);
		}
	}
	kmq_st_attach_init(&self->s, 4u << 20, 16, KMQ_FLUSH_MODE_ASYNC);
	self->s.att.flags = 0;
	ASSERT_EQ(0, kmq_st_attach(&self->s));
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 0, &qi));
	EXPECT_EQ(acked, qi.max_offset);
}

TEST_HARNESS_MAIN
