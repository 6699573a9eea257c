// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_read_test.c - KMQ_IOC_READ, KMQ_IOC_QUEUE_INFO and
 * KMQ_IOC_OFFSET_BY_TIME: records come back whole and as stored, the
 * RocketMQ statuses, max counts, buffer space, tag filters, the read
 * counters; a consume-queue entry that names another record is refused,
 * never handed out; and a store on tmpfs reads like one on ext4.
 */
#include <sys/vfs.h>

#include "kselftest_harness.h"
#include "kmq_cq.h"
#include "kmq_st.h"

#define TMPFS_MAGIC_NR	0x01021994

FIXTURE(store)
{
	struct kmq_st_store s;
	char *buf;
};

FIXTURE_SETUP(store)
{
	ASSERT_EQ(0, kmq_st_up(&self->s, "read", KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			       KMQ_FLUSH_MODE_ASYNC));
	self->buf = malloc(KMQ_ST_BUF);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(store)
{
	free(self->buf);
	kmq_st_down(&self->s);
}

/* Append @n records with seeds @seed0.. to queue @q; sizes vary. */
static int fill_queue(int fd, __u32 q, int n, __u64 seed0)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = kmq_st_append_seed(fd, KMQ_ST_TOPIC, q, seed0 + i,
					 100 + (i * 37) % 400, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

static int append_tagged(int fd, __u32 q, const char *tag, __u64 seed)
{
	struct kmq_append_res res;
	struct kmq_append_msg m;
	char props[64], body[32];

	snprintf(props, sizeof(props), "TAGS%c%s%c", KMQ_PROP_NAME_SEP, tag,
		 KMQ_PROP_PAIR_SEP);
	kmq_st_fill(body, sizeof(body), seed);
	kmq_st_msg(&m, KMQ_ST_TOPIC, q, body, sizeof(body), props);
	return kmq_st_append(fd, &m, &res, 1, NULL);
}

TEST_F(store, read_back)
{
	struct kmq_record rec;
	struct kmq_read r;
	__u32 pos = 0, total = 0;
	int i;

	ASSERT_EQ(0, fill_queue(self->s.fd, 1, 10, 500));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->buf, KMQ_ST_BUF, 32);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(KMQ_RD_FOUND, r.status);
	EXPECT_EQ(10, r.count);
	EXPECT_EQ(10, r.next_offset);
	EXPECT_EQ(0, r.min_offset);
	EXPECT_EQ(10, r.max_offset);
	EXPECT_EQ(0, r.__rsvd);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, kmq_st_next(self->buf, r.bytes, &pos, &rec));
		EXPECT_EQ(i, rec.queue_offset);
		EXPECT_EQ(1, rec.queue_id);
		EXPECT_EQ(100 + (i * 37) % 400, rec.body_len);
		EXPECT_TRUE(kmq_st_body_ok(rec.body, rec.body_len, 500 + i));
		total += rec.total_size;
	}
	EXPECT_EQ(total, r.bytes);
	EXPECT_EQ(1, kmq_st_next(self->buf, r.bytes, &pos, &rec));
}

TEST_F(store, read_from_middle)
{
	struct kmq_record rec;
	struct kmq_read r;
	__u32 pos = 0;

	ASSERT_EQ(0, fill_queue(self->s.fd, 0, 10, 0));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 6, self->buf, KMQ_ST_BUF, 32);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(KMQ_RD_FOUND, r.status);
	EXPECT_EQ(4, r.count);
	ASSERT_EQ(0, kmq_st_next(self->buf, r.bytes, &pos, &rec));
	EXPECT_EQ(6, rec.queue_offset);
	EXPECT_TRUE(kmq_st_body_ok(rec.body, rec.body_len, 6));
}

TEST_F(store, max_msgs)
{
	struct kmq_read r;

	ASSERT_EQ(0, fill_queue(self->s.fd, 0, 10, 0));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 0, self->buf, KMQ_ST_BUF, 3);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(3, r.count);
	EXPECT_EQ(3, r.next_offset);
}

/* Only whole records: the buffer ends the read. */
TEST_F(store, buffer_holds_whole_records)
{
	struct kmq_append_res res[3];
	struct kmq_record rec;
	struct kmq_read r;
	__u32 pos = 0;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, i,
						200, &res[i]));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 0, self->buf,
			 res[0].size + res[1].size + res[2].size / 2, 32);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(2, r.count);
	EXPECT_EQ(res[0].size + res[1].size, r.bytes);
	EXPECT_EQ(2, r.next_offset);
	ASSERT_EQ(0, kmq_st_next(self->buf, r.bytes, &pos, &rec));
	ASSERT_EQ(0, kmq_st_next(self->buf, r.bytes, &pos, &rec));
	EXPECT_EQ(1, rec.queue_offset);
}

TEST_F(store, buffer_too_small_enospc)
{
	struct kmq_append_res res;
	struct kmq_read r;

	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 1, 1000,
					&res));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 0, self->buf, res.size - 1, 32);
	EXPECT_EQ(-ENOSPC, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(res.size, r.bytes);
	EXPECT_EQ(0, r.count);
}

TEST_F(store, statuses)
{
	struct kmq_read r;

	/* Empty queue. */
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 2, 0, self->buf, KMQ_ST_BUF, 32);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(KMQ_RD_NO_MESSAGE, r.status);
	EXPECT_EQ(0, r.count);

	ASSERT_EQ(0, fill_queue(self->s.fd, 2, 4, 0));
	/* Caught up: offset == max. */
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 2, 4, self->buf, KMQ_ST_BUF, 32);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(KMQ_RD_NO_NEW, r.status);
	EXPECT_EQ(4, r.next_offset);
	/* Past the end. */
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 2, 9, self->buf, KMQ_ST_BUF, 32);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(KMQ_RD_OFFSET_OVERFLOW, r.status);
	EXPECT_EQ(4, r.next_offset);
	EXPECT_EQ(0, r.count);
}

TEST_F(store, tag_filter)
{
	static const char * const tags[] = { "A", "B", "A", "C", "A", "B" };
	struct kmq_record rec;
	struct kmq_read r;
	__s64 codes[2];
	__u32 pos = 0;
	int i, n = 0;

	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, append_tagged(self->s.fd, 0, tags[i], i));
	codes[0] = kmq_tag_hash("A", 1);
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 0, self->buf, KMQ_ST_BUF, 32);
	r.tags = (uintptr_t)codes;
	r.ntags = 1;
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(KMQ_RD_FOUND, r.status);
	EXPECT_EQ(3, r.count);
	while (kmq_st_next(self->buf, r.bytes, &pos, &rec) == 0) {
		EXPECT_EQ(0, rec.queue_offset % 2);
		EXPECT_EQ(kmq_tag_hash("A", 1),
			  kmq_props_tags_code(rec.props, rec.props_len));
		n++;
	}
	EXPECT_EQ(3, n);
	EXPECT_EQ(6, r.next_offset);

	codes[1] = kmq_tag_hash("C", 1);
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 0, self->buf, KMQ_ST_BUF, 32);
	r.tags = (uintptr_t)codes;
	r.ntags = 2;
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(4, r.count);
}

TEST_F(store, tag_no_match)
{
	struct kmq_read r;
	__s64 code = kmq_tag_hash("Z", 1);
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, append_tagged(self->s.fd, 1, "Y", i));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->buf, KMQ_ST_BUF, 32);
	r.tags = (uintptr_t)&code;
	r.ntags = 1;
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(KMQ_RD_NO_MATCH, r.status);
	EXPECT_EQ(0, r.count);
	EXPECT_EQ(5, r.next_offset);
}

TEST_F(store, queue_info)
{
	struct kmq_append_res res;
	struct kmq_queue_info qi;

	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 3, &qi));
	EXPECT_EQ(0, qi.min_offset);
	EXPECT_EQ(0, qi.max_offset);
	EXPECT_EQ(0, qi.min_store_ts);
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 3, 1, 10,
					&res));
	ASSERT_EQ(0, fill_queue(self->s.fd, 3, 4, 10));
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 3, &qi));
	EXPECT_EQ(0, qi.min_offset);
	EXPECT_EQ(5, qi.max_offset);
	EXPECT_EQ(res.store_ts, qi.min_store_ts);
	EXPECT_EQ(0, qi.__rsvd);
}

TEST_F(store, offset_by_time)
{
	struct kmq_append_res res[4];
	struct kmq_queue_info qi;
	int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, i,
						50, &res[i]));
		usleep(20 * 1000);
	}
	ASSERT_LT(res[1].store_ts, res[2].store_ts);
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 0, &qi));
	qi.timestamp = res[2].store_ts;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_OFFSET_BY_TIME, &qi));
	EXPECT_EQ(2, qi.offset);
	qi.timestamp = res[1].store_ts + 1;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_OFFSET_BY_TIME, &qi));
	EXPECT_EQ(2, qi.offset);
	qi.timestamp = 0;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_OFFSET_BY_TIME, &qi));
	EXPECT_EQ(0, qi.offset);
	qi.timestamp = res[3].store_ts + 100000;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_OFFSET_BY_TIME, &qi));
	EXPECT_EQ(4, qi.offset);
}

TEST_F(store, read_counters)
{
	struct kmq_store_info before, after;
	struct kmq_read r;

	ASSERT_EQ(0, fill_queue(self->s.fd, 0, 5, 0));
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &before));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 0, self->buf, KMQ_ST_BUF, 32);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &after));
	EXPECT_EQ(before.reads + 5, after.reads);
	EXPECT_EQ(before.read_bytes + r.bytes, after.read_bytes);
}

/* Another fd bound to the store reads what this one appended. */
TEST_F(store, other_fd_reads)
{
	struct kmq_read r;
	int fd2 = kmq_st_open();

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, kmq_st_bind(fd2, self->s.name));
	ASSERT_EQ(0, fill_queue(self->s.fd, 0, 3, 7));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 0, self->buf, KMQ_ST_BUF, 32);
	ASSERT_EQ(0, kmq_st_read(fd2, &r));
	EXPECT_EQ(3, r.count);
	close(fd2);
}

/* Copy 20-byte consume-queue entry @from of @path over entry @to. */
static int copy_cq_entry(const char *path, int from, int to)
{
	char e[KMQ_CQ_ENTRY_SIZE];
	int fd = open(path, O_RDWR | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (pread(fd, e, sizeof(e), (off_t)from * sizeof(e)) != sizeof(e) ||
	    pwrite(fd, e, sizeof(e), (off_t)to * sizeof(e)) != sizeof(e))
		ret = -EIO;
	close(fd);
	return ret;
}

/*
 * A damaged consume queue: entry 5 names record 0 (as a queue whose
 * segment was reused under a reader would). READ and PULL_PREPARE stop
 * before it and refuse it alone with -EUCLEAN: record 0's bytes never go
 * out as record 5.
 */
TEST_F(store, entry_naming_another_record_euclean)
{
	struct kmq_queue_info qi;
	struct kmq_record rec;
	struct kmq_pull p;
	struct kmq_read r;
	char path[512];
	__u32 pos = 0;
	int i;

	ASSERT_EQ(0, fill_queue(self->s.fd, 1, 5, 800));
	ASSERT_EQ(0, kmq_st_detach(self->s.fd, self->s.name));
	snprintf(path, sizeof(path), "%s/consumequeue/%s/1/%020u",
		 self->s.dir, KMQ_ST_TOPIC, 0);
	ASSERT_EQ(0, copy_cq_entry(path, 0, 5));
	kmq_st_attach_init(&self->s, KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			   KMQ_FLUSH_MODE_ASYNC);
	self->s.att.flags = 0;
	ASSERT_EQ(0, kmq_st_attach(&self->s));
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 1, &qi));
	ASSERT_EQ(6, qi.max_offset);

	/* The good records, then a stop before the damaged entry. */
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->buf, KMQ_ST_BUF, 32);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(KMQ_RD_FOUND, r.status);
	ASSERT_EQ(5, r.count);
	EXPECT_EQ(5, r.next_offset);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, kmq_st_next(self->buf, r.bytes, &pos, &rec));
		EXPECT_EQ(i, rec.queue_offset);
		EXPECT_TRUE(kmq_st_body_ok(rec.body, rec.body_len, 800 + i));
	}
	EXPECT_EQ(pos, r.bytes);

	/* Alone: a clear error, for READ and for a pull. */
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 5, self->buf, KMQ_ST_BUF, 32);
	EXPECT_EQ(-EUCLEAN, kmq_st_read(self->s.fd, &r));
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.offset = 5;
	p.queue_id = 1;
	p.max_msgs = 32;
	snprintf(p.topic, sizeof(p.topic), "%s", KMQ_ST_TOPIC);
	EXPECT_EQ(-EUCLEAN, kmq_st_ioctl(self->s.fd, KMQ_IOC_PULL_PREPARE, &p));
	p.offset = 4;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_PULL_PREPARE, &p));
	EXPECT_EQ(1, p.count);
	EXPECT_EQ(5, p.next_offset);
}

/*
 * A store on tmpfs, whose files have no ->read_folio: appends, the ring
 * reusing segments (hole punch), reads and a zero-copy pull, all as on
 * ext4. Skipped when /tmp is not tmpfs.
 */
TEST(store_on_tmpfs)
{
	struct kmq_st_store st;
	struct kmq_queue_info qi;
	struct kmq_store_info si;
	struct kmq_record rec;
	struct kmq_pull p;
	struct kmq_read r;
	struct statfs sf;
	__u32 pos = 0;
	int tries;
	char *buf;
	__u64 i;

	ASSERT_EQ(0, statfs("/tmp", &sf));
	if (sf.f_type != TMPFS_MAGIC_NR)
		SKIP(return, "/tmp is not tmpfs");
	buf = malloc(KMQ_ST_BUF);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, kmq_st_up_in(&st, "/tmp", "tmpfs", 64 * 1024, 3,
				  KMQ_FLUSH_MODE_ASYNC));
	/* 2 KiB records, about four times the ring. */
	for (i = 0; i < 120; i++)
		ASSERT_EQ(0, kmq_st_append_seed(st.fd, KMQ_ST_TOPIC, 0, i, 2048,
						NULL));
	ASSERT_EQ(0, kmq_st_store_info(st.fd, &si));
	EXPECT_LT(0, si.min_offset);
	ASSERT_EQ(0, kmq_st_queue_info(st.fd, KMQ_ST_TOPIC, 0, &qi));
	ASSERT_LT(0, qi.min_offset);
	ASSERT_EQ(120, qi.max_offset);

	/*
	 * The ring's worker may reclaim the oldest segment between the
	 * queue's min and a read: from the new min then.
	 */
	for (tries = 0; tries < 20; tries++) {
		kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, qi.min_offset, buf,
				 KMQ_ST_BUF, 200);
		ASSERT_EQ(0, kmq_st_read(st.fd, &r));
		if (r.status != KMQ_RD_OFFSET_TOO_SMALL)
			break;
		usleep(20000);
		ASSERT_EQ(0, kmq_st_queue_info(st.fd, KMQ_ST_TOPIC, 0, &qi));
	}
	ASSERT_EQ(KMQ_RD_FOUND, r.status);
	ASSERT_EQ(120 - qi.min_offset, r.count);
	for (i = qi.min_offset; i < 120; i++) {
		ASSERT_EQ(0, kmq_st_next(buf, r.bytes, &pos, &rec));
		EXPECT_EQ(i, rec.queue_offset);
		EXPECT_TRUE(kmq_st_body_ok(rec.body, rec.body_len, i));
	}

	for (tries = 0; tries < 20; tries++) {
		ASSERT_EQ(0, kmq_st_queue_info(st.fd, KMQ_ST_TOPIC, 0, &qi));
		memset(&p, 0, sizeof(p));
		p.size = sizeof(p);
		p.offset = qi.min_offset;
		p.max_msgs = 8;
		snprintf(p.topic, sizeof(p.topic), "%s", KMQ_ST_TOPIC);
		ASSERT_EQ(0, kmq_st_ioctl(st.fd, KMQ_IOC_PULL_PREPARE, &p));
		if (p.status != KMQ_RD_OFFSET_TOO_SMALL)
			break;
		usleep(20000);
	}
	EXPECT_EQ(KMQ_RD_FOUND, p.status);
	EXPECT_EQ(8, p.count);
	EXPECT_NE(0, p.handle);
	kmq_st_down(&st);
	free(buf);
}

TEST_HARNESS_MAIN
