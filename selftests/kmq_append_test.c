// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_append_test.c - KMQ_IOC_APPEND and KMQ_IOC_FLUSH: what the module
 * assigns (offsets, timestamp, CRC, message id), the bytes it puts in the
 * segment file, batches, limits, segment rolls, SYNC_FLUSH group commit
 * and the ASYNC_FLUSH worker.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "kmq_st.h"

#define SMALL_SEG	(64u * 1024)

FIXTURE(store)
{
	struct kmq_st_store s;
};

FIXTURE_VARIANT(store)
{
	__u32 flush_mode;
};

FIXTURE_VARIANT_ADD(store, async)
{
	.flush_mode = KMQ_FLUSH_MODE_ASYNC,
};

FIXTURE_VARIANT_ADD(store, sync)
{
	.flush_mode = KMQ_FLUSH_MODE_SYNC,
};

FIXTURE_SETUP(store)
{
	ASSERT_EQ(0, kmq_st_up(&self->s, "append", KMQ_ST_SEG_SIZE,
			       KMQ_ST_RING, variant->flush_mode));
}

FIXTURE_TEARDOWN(store)
{
	kmq_st_down(&self->s);
}

/* Read the record at commitlog offset @phys straight from its segment. */
static int pread_record(const struct kmq_st_store *st, __u64 seg_size,
			__u64 phys, void *buf, __u32 len)
{
	__u64 start = phys - phys % seg_size;
	char path[400];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/commitlog/%020llu", st->dir,
		 (unsigned long long)start);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, phys - start);
	close(fd);
	return n == len ? 0 : -EIO;
}

TEST_F(store, one_record)
{
	const char *props = "TAGS\001TagA\002KEYS\001k1 k2\002";
	char body[300], recbuf[1024], id[KMQ_MSGID_MAX + 1];
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_append a;
	struct kmq_record rec;
	struct kmq_host host;
	__u64 before, after, phys;
	__u32 size;

	kmq_st_fill(body, sizeof(body), 42);
	kmq_st_msg(&m, KMQ_ST_TOPIC, 2, body, sizeof(body), props);
	m.flag = 7;
	m.reconsume_times = 3;
	m.born_ts = 1712345678901ull;
	memset(&res, 0xa5, sizeof(res));
	before = kmq_st_now_ms();
	ASSERT_EQ(0, kmq_st_append(self->s.fd, &m, &res, 1, &a));
	after = kmq_st_now_ms();

	size = kmq_record_size(0, 0, sizeof(body), strlen(KMQ_ST_TOPIC),
			       strlen(props));
	EXPECT_EQ(KMQ_APPEND_OK, a.status);
	EXPECT_EQ(0, res.queue_offset);
	EXPECT_EQ(0, res.phys_offset);
	EXPECT_EQ(size, res.size);
	EXPECT_EQ(size, a.end_offset);
	EXPECT_EQ(0, res.__rsvd);
	EXPECT_LE(before, res.store_ts);
	EXPECT_GE(after, res.store_ts);
	/* The message id: STOREHOST and the commitlog offset. */
	EXPECT_EQ(KMQ_MSGID_LEN_V4, strlen(res.msg_id));
	ASSERT_EQ(0, kmq_msgid_decode(res.msg_id, strlen(res.msg_id), &host,
				      &phys));
	EXPECT_EQ(0, phys);
	EXPECT_EQ(KMQ_ST_PORT, host.port);
	EXPECT_EQ(127, host.addr[0]);
	kmq_msgid_encode(id, &host, 0);
	EXPECT_EQ(0, strcasecmp(id, res.msg_id));

	/* The bytes in the segment file are that record. */
	ASSERT_EQ(0, kmq_st_flush(self->s.fd, ~0ull, 5000, NULL));
	ASSERT_EQ(0, pread_record(&self->s, KMQ_ST_SEG_SIZE, 0, recbuf, size));
	ASSERT_EQ(0, kmq_record_decode(recbuf, size, &rec, KMQ_DECODE_CRC));
	EXPECT_EQ(KMQ_MAGIC_V1, rec.magic);
	EXPECT_EQ(kmq_body_crc(body, sizeof(body)), rec.body_crc);
	EXPECT_EQ(2, rec.queue_id);
	EXPECT_EQ(7, rec.flag);
	EXPECT_EQ(0, rec.queue_offset);
	EXPECT_EQ(0, rec.phys_offset);
	EXPECT_EQ(1712345678901ull, rec.born_ts);
	EXPECT_EQ(40000, rec.born_host.port);
	EXPECT_EQ(res.store_ts, rec.store_ts);
	EXPECT_EQ(KMQ_ST_PORT, rec.store_host.port);
	EXPECT_EQ(3, rec.reconsume_times);
	ASSERT_EQ(sizeof(body), rec.body_len);
	EXPECT_EQ(0, memcmp(body, rec.body, sizeof(body)));
	ASSERT_EQ(strlen(KMQ_ST_TOPIC), rec.topic_len);
	EXPECT_EQ(0, memcmp(KMQ_ST_TOPIC, rec.topic, rec.topic_len));
	ASSERT_EQ(strlen(props), rec.props_len);
	EXPECT_EQ(0, memcmp(props, rec.props, rec.props_len));
}

TEST_F(store, offsets_in_order)
{
	struct kmq_append_res res;
	__u64 next_phys = 0;
	int i;

	for (i = 0; i < 40; i++) {
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, i,
						10 + 17 * i, &res));
		EXPECT_EQ(i, res.queue_offset);
		EXPECT_EQ(next_phys, res.phys_offset);
		next_phys = res.phys_offset + res.size;
	}
}

TEST_F(store, queues_count_apart)
{
	struct kmq_append_res res;
	__u64 want[KMQ_ST_QUEUES] = { 0 };
	int i;

	for (i = 0; i < 30; i++) {
		__u32 q = (i * 7) % KMQ_ST_QUEUES;

		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, q, i,
						64, &res));
		EXPECT_EQ(want[q], res.queue_offset);
		want[q]++;
	}
}

TEST_F(store, batch)
{
	struct kmq_append_msg m[16];
	struct kmq_append_res res[16];
	struct kmq_append a;
	char body[16][200];
	int i;

	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 99, 50,
					NULL));
	for (i = 0; i < 16; i++) {
		kmq_st_fill(body[i], sizeof(body[i]), 1000 + i);
		kmq_st_msg(&m[i], KMQ_ST_TOPIC, i % 2, body[i], 20 + 10 * i,
			   NULL);
	}
	ASSERT_EQ(0, kmq_st_append(self->s.fd, m, res, 16, &a));
	EXPECT_EQ(KMQ_APPEND_OK, a.status);
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(i / 2 + (i % 2 ? 0 : 1), res[i].queue_offset);
		if (i)
			EXPECT_EQ(res[i - 1].phys_offset + res[i - 1].size,
				  res[i].phys_offset);
	}
	EXPECT_EQ(res[15].phys_offset + res[15].size, a.end_offset);
}

/* One bad record in a batch stores nothing. */
TEST_F(store, batch_all_or_nothing)
{
	struct kmq_append_msg m[5];
	struct kmq_append_res res[5];
	struct kmq_store_info before, after;
	struct kmq_queue_info qi;
	char body[64];
	int i;

	kmq_st_fill(body, sizeof(body), 5);
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &before));
	for (i = 0; i < 5; i++)
		kmq_st_msg(&m[i], KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);

	m[3].queue_id = KMQ_ST_QUEUES;
	EXPECT_EQ(-ERANGE, kmq_st_append(self->s.fd, m, res, 5, NULL));
	m[3].queue_id = 0;
	snprintf(m[3].topic, sizeof(m[3].topic), "NoSuchTopic");
	EXPECT_EQ(-ENOENT, kmq_st_append(self->s.fd, m, res, 5, NULL));
	snprintf(m[3].topic, sizeof(m[3].topic), "%s", KMQ_ST_TOPIC);
	m[3].props = (uintptr_t)"NOSEPARATORS";
	m[3].props_len = 12;
	EXPECT_EQ(-EINVAL, kmq_st_append(self->s.fd, m, res, 5, NULL));

	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &after));
	EXPECT_EQ(before.write_offset, after.write_offset);
	EXPECT_EQ(before.appends, after.appends);
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 0, &qi));
	EXPECT_EQ(0, qi.max_offset);
}

TEST_F(store, batch_counts)
{
	struct kmq_append_msg *m;
	struct kmq_append_res *res;
	char body[8] = "12345678";
	int i;

	m = calloc(KMQ_BATCH_MAX + 1, sizeof(*m));
	res = calloc(KMQ_BATCH_MAX + 1, sizeof(*res));
	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, res);
	for (i = 0; i <= KMQ_BATCH_MAX; i++)
		kmq_st_msg(&m[i], KMQ_ST_TOPIC, 1, body, sizeof(body), NULL);
	EXPECT_EQ(-EINVAL, kmq_st_append(self->s.fd, m, res, 0, NULL));
	EXPECT_EQ(-EINVAL, kmq_st_append(self->s.fd, m, res,
					 KMQ_BATCH_MAX + 1, NULL));
	ASSERT_EQ(0, kmq_st_append(self->s.fd, m, res, KMQ_BATCH_MAX, NULL));
	EXPECT_EQ(KMQ_BATCH_MAX - 1, res[KMQ_BATCH_MAX - 1].queue_offset);
	free(m);
	free(res);
}

TEST_F(store, message_ids_unique)
{
	struct kmq_append_res res[20];
	int i, j;

	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, i,
						30, &res[i]));
	for (i = 0; i < 20; i++)
		for (j = i + 1; j < 20; j++)
			EXPECT_STRNE(res[i].msg_id, res[j].msg_id);
}

TEST_F(store, ipv6_born_host)
{
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_record rec;
	char body[10] = "v6 body!!", buf[512];

	kmq_st_msg(&m, KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);
	memset(m.born_host.addr, 0, sizeof(m.born_host.addr));
	m.born_host.addr[15] = 1;
	m.born_host.family = 6;
	ASSERT_EQ(0, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	ASSERT_EQ(0, kmq_st_flush(self->s.fd, ~0ull, 5000, NULL));
	ASSERT_GE(sizeof(buf), res.size);
	ASSERT_EQ(0, pread_record(&self->s, KMQ_ST_SEG_SIZE, res.phys_offset,
				  buf, res.size));
	ASSERT_EQ(0, kmq_record_decode(buf, res.size, &rec, KMQ_DECODE_CRC));
	EXPECT_TRUE(rec.sys_flag & KMQ_SYSFLAG_BORNHOST_V6);
	EXPECT_TRUE(rec.born_host.v6);
	EXPECT_EQ(1, rec.born_host.addr[15]);
}

/* PREPARED and ROLLBACK records get no consume-queue entry. */
TEST_F(store, prepared_not_queued)
{
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_queue_info qi;
	char body[16] = "half message...";

	kmq_st_msg(&m, KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);
	m.sys_flag = KMQ_SYSFLAG_TX_PREPARED;
	ASSERT_EQ(0, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	EXPECT_EQ(0, res.queue_offset);
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 0, &qi));
	EXPECT_EQ(0, qi.max_offset);
	m.sys_flag = KMQ_SYSFLAG_TX_COMMIT;
	ASSERT_EQ(0, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 0, &qi));
	EXPECT_EQ(1, qi.max_offset);
}

TEST_F(store, flush_everything)
{
	struct kmq_append_res res;
	struct kmq_store_info si;
	__u64 flushed = 0;
	int i;

	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, i,
						500, &res));
	ASSERT_EQ(0, kmq_st_flush(self->s.fd, ~0ull, 5000, &flushed));
	EXPECT_EQ(res.phys_offset + res.size, flushed);
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &si));
	EXPECT_EQ(si.write_offset, si.flushed_offset);
}

/* timeout 0 only reports; never more than what was written. */
TEST_F(store, flush_report_only)
{
	struct kmq_append_res res;
	__u64 flushed = ~0ull;
	int ret;

	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 1, 100,
					&res));
	ret = kmq_st_flush(self->s.fd, ~0ull, 0, &flushed);
	EXPECT_TRUE(ret == 0 || ret == -ETIMEDOUT);
	EXPECT_GE(res.phys_offset + res.size, flushed);
}

/* SYNC_FLUSH: the append returns durable; NOWAIT does not wait. */
TEST_F(store, sync_flush_durable)
{
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_store_info si;
	struct kmq_append a;
	char body[128];
	__u64 flushed;

	if (variant->flush_mode != KMQ_FLUSH_MODE_SYNC)
		SKIP(return, "SYNC_FLUSH only");
	kmq_st_fill(body, sizeof(body), 3);
	kmq_st_msg(&m, KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);
	ASSERT_EQ(0, kmq_st_append(self->s.fd, &m, &res, 1, &a));
	EXPECT_EQ(KMQ_APPEND_OK, a.status);
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &si));
	EXPECT_LE(a.end_offset, si.flushed_offset);

	kmq_st_append_init(&a, &m, &res, 1);
	a.flags = KMQ_APPEND_NOWAIT;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));
	EXPECT_TRUE(a.status == KMQ_APPEND_NOT_FLUSHED ||
		    a.status == KMQ_APPEND_OK);
	ASSERT_EQ(0, kmq_st_flush(self->s.fd, a.end_offset, 5000, &flushed));
	EXPECT_LE(a.end_offset, flushed);
}

struct appender {
	int fd;
	int n;
	int failed;
};

static void *append_many(void *arg)
{
	struct appender *ap = arg;
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_append a;
	char body[256];
	int i;

	for (i = 0; i < ap->n; i++) {
		kmq_st_fill(body, sizeof(body), i);
		kmq_st_msg(&m, KMQ_ST_TOPIC, 3, body, sizeof(body), NULL);
		if (kmq_st_append(ap->fd, &m, &res, 1, &a) ||
		    a.status != KMQ_APPEND_OK)
			ap->failed++;
	}
	return NULL;
}

/* Group commit: concurrent SYNC_FLUSH appenders all come back durable. */
TEST_F(store, sync_flush_group_commit)
{
	struct appender ap[4];
	pthread_t th[4];
	struct kmq_store_info si;
	int i;

	if (variant->flush_mode != KMQ_FLUSH_MODE_SYNC)
		SKIP(return, "SYNC_FLUSH only");
	for (i = 0; i < 4; i++) {
		ap[i].fd = self->s.fd;
		ap[i].n = 50;
		ap[i].failed = 0;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, append_many, &ap[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, ap[i].failed);
	}
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &si));
	EXPECT_EQ(200, si.appends);
	EXPECT_EQ(si.write_offset, si.flushed_offset);
}

/* The ASYNC_FLUSH worker syncs by itself within a few periods. */
TEST(async_flush_worker)
{
	struct kmq_append_res res;
	struct kmq_st_store st;
	struct kmq_store_info si;
	int i;

	memset(&st, 0, sizeof(st));
	st.fd = kmq_st_open();
	ASSERT_LE(0, st.fd);
	ASSERT_EQ(0, kmq_st_mkdir(&st, "asyncw"));
	kmq_st_attach_init(&st, KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			   KMQ_FLUSH_MODE_ASYNC);
	st.att.async_interval_ms = 100;
	ASSERT_EQ(0, kmq_st_attach(&st));
	ASSERT_EQ(0, kmq_st_topic(st.fd, KMQ_ST_TOPIC, 1));
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, kmq_st_append_seed(st.fd, KMQ_ST_TOPIC, 0, i, 4000,
						&res));
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, kmq_st_store_info(st.fd, &si));
		if (si.flushed_offset >= res.phys_offset + res.size)
			break;
		usleep(100 * 1000);
	}
	EXPECT_LE(res.phys_offset + res.size, si.flushed_offset);
	kmq_st_down(&st);
}

/*
 * Records never straddle segments: a BLANK fills the end, and the next
 * record starts the next segment.
 */
TEST(segment_roll)
{
	struct kmq_append_res res;
	struct kmq_st_store st;
	__u64 prev_end = 0;
	int i, rolled = 0;

	ASSERT_EQ(0, kmq_st_up(&st, "roll", SMALL_SEG, 8,
			       KMQ_FLUSH_MODE_ASYNC));
	for (i = 0; i < 40; i++) {
		ASSERT_EQ(0, kmq_st_append_seed(st.fd, KMQ_ST_TOPIC, 0, i,
						3000 + 100 * (i % 7), &res));
		EXPECT_GE(SMALL_SEG, res.phys_offset % SMALL_SEG + res.size);
		if (res.phys_offset != prev_end) {
			/* A roll: the record opens the next segment. */
			EXPECT_EQ(0, res.phys_offset % SMALL_SEG);
			EXPECT_GT(res.phys_offset, prev_end);
			EXPECT_LE(KMQ_BLANK_SIZE, res.phys_offset - prev_end);
			rolled++;
		}
		prev_end = res.phys_offset + res.size;
	}
	EXPECT_LE(1, rolled);
	kmq_st_down(&st);
}

TEST(body_limits)
{
	struct kmq_append_res res;
	struct kmq_st_store st;
	struct kmq_append_msg m;
	char *body = malloc(SMALL_SEG + 1);

	ASSERT_NE(NULL, body);
	memset(&st, 0, sizeof(st));
	st.fd = kmq_st_open();
	ASSERT_LE(0, st.fd);
	ASSERT_EQ(0, kmq_st_mkdir(&st, "limits"));
	kmq_st_attach_init(&st, SMALL_SEG, 4, KMQ_FLUSH_MODE_ASYNC);
	st.att.max_message_size = 4096;
	ASSERT_EQ(0, kmq_st_attach(&st));
	ASSERT_EQ(0, kmq_st_topic(st.fd, KMQ_ST_TOPIC, 1));

	EXPECT_EQ(0, kmq_st_append_seed(st.fd, KMQ_ST_TOPIC, 0, 1, 4096,
					&res));
	EXPECT_EQ(-EMSGSIZE, kmq_st_append_seed(st.fd, KMQ_ST_TOPIC, 0, 1,
						4097, &res));
	kmq_st_msg(&m, KMQ_ST_TOPIC, 0, body, 0xffffffffu, NULL);
	EXPECT_EQ(-EMSGSIZE, kmq_st_append(st.fd, &m, &res, 1, NULL));
	kmq_st_down(&st);
	free(body);
}

/* A batch that cannot fit one segment is refused whole. */
TEST(batch_over_segment)
{
	struct kmq_append_msg m[20];
	struct kmq_append_res res[20];
	struct kmq_st_store st;
	struct kmq_queue_info qi;
	char *body = malloc(4000);
	int i;

	ASSERT_NE(NULL, body);
	ASSERT_EQ(0, kmq_st_up(&st, "bigbatch", SMALL_SEG, 4,
			       KMQ_FLUSH_MODE_ASYNC));
	kmq_st_fill(body, 4000, 9);
	for (i = 0; i < 20; i++)
		kmq_st_msg(&m[i], KMQ_ST_TOPIC, 0, body, 4000, NULL);
	EXPECT_EQ(-EMSGSIZE, kmq_st_append(st.fd, m, res, 20, NULL));
	ASSERT_EQ(0, kmq_st_queue_info(st.fd, KMQ_ST_TOPIC, 0, &qi));
	EXPECT_EQ(0, qi.max_offset);
	/* Fifteen do fit (60 KB of 64 KiB). */
	EXPECT_EQ(0, kmq_st_append(st.fd, m, res, 15, NULL));
	kmq_st_down(&st);
	free(body);
}

TEST(props_limits)
{
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_st_store st;
	char *props = malloc(KMQ_PROPS_MAX + 2);
	char body[4] = "abc";
	int ret;

	ASSERT_NE(NULL, props);
	ASSERT_EQ(0, kmq_st_up(&st, "props", KMQ_ST_SEG_SIZE, 4,
			       KMQ_FLUSH_MODE_ASYNC));
	/* One well-formed pair of exactly KMQ_PROPS_MAX bytes. */
	memset(props, 'v', KMQ_PROPS_MAX + 1);
	props[0] = 'K';
	props[1] = KMQ_PROP_NAME_SEP;
	props[KMQ_PROPS_MAX - 1] = KMQ_PROP_PAIR_SEP;
	ASSERT_EQ(0, kmq_props_validate(props, KMQ_PROPS_MAX));
	kmq_st_msg(&m, KMQ_ST_TOPIC, 0, body, 3, NULL);
	m.props = (uintptr_t)props;
	m.props_len = KMQ_PROPS_MAX;
	EXPECT_EQ(0, kmq_st_append(st.fd, &m, &res, 1, NULL));
	/* One byte more does not fit PROPLEN. */
	props[KMQ_PROPS_MAX - 1] = 'v';
	props[KMQ_PROPS_MAX] = KMQ_PROP_PAIR_SEP;
	m.props_len = KMQ_PROPS_MAX + 1;
	ret = kmq_st_append(st.fd, &m, &res, 1, NULL);
	EXPECT_TRUE(ret == -EINVAL || ret == -EMSGSIZE) {
		TH_LOG("props of %u bytes: %d", KMQ_PROPS_MAX + 1, ret);
	}
	kmq_st_down(&st);
	free(props);
}

TEST_HARNESS_MAIN
