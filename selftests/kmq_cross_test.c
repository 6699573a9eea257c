// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_cross_test.c - one store, two backends: a store written by the
 * userspace store (daemon/store, linked in statically) opens in kmq.ko
 * with every record byte for byte the same, and the reverse; the module
 * recovers a store the userspace one left after a crash (abort file,
 * unsynced checkpoint) and one with a torn record at its tail.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kmq_st.h"
#include "kmq_store.h"

#define SEG		(256u * 1024)
#define RING		8
#define TOPIC		"CrossTopic"
#define QUEUES		4
#define NREC		60
#define REC_MAX		2048

/* The records of one run, as each side wrote or read them. */
struct saved {
	__u64 phys[NREC];
	__u32 size[NREC];
	__u32 queue[NREC];
	__u8 bytes[NREC][REC_MAX];
};

static void user_config(struct kmq_store_config *cfg, const char *dir,
			enum kmq_flush_mode mode)
{
	kmq_store_config_init(cfg, dir);
	cfg->segment_size = SEG;
	cfg->ring_segments = RING;
	cfg->retention_ms = 0;
	cfg->flush_mode = mode;
}

static void module_config(struct kmq_st_store *st, __u32 flags)
{
	kmq_st_attach_init(st, SEG, RING, KMQ_FLUSH_MODE_ASYNC);
	st->att.flags = flags;
}

static __u32 body_len(int i)
{
	return 50 + (i * 97) % 1500;
}

/* Userspace side: write NREC records (with properties), save them. */
static int user_write(const char *dir, struct saved *sv, __u64 *end,
		      enum kmq_flush_mode mode, int close_it)
{
	struct kmq_store_config cfg;
	struct kmq_append_result res;
	struct kmq_store_stats stats;
	struct kmq_store *s;
	struct kmq_msg m;
	char body[REC_MAX];
	int i, ret;

	user_config(&cfg, dir, mode);
	ret = kmq_store_open(&cfg, &s);
	if (ret)
		return ret;
	ret = kmq_store_topic_create(s, TOPIC, QUEUES);
	for (i = 0; !ret && i < NREC; i++) {
		memset(&m, 0, sizeof(m));
		m.topic = TOPIC;
		m.queue_id = i % QUEUES;
		m.born_ts = 1700000000000ull + i;
		m.born_host.addr[0] = 10;
		m.born_host.port = 5000 + i;
		m.body = body;
		m.body_len = body_len(i);
		m.props = "TAGS\001user\002";
		m.props_len = 10;
		kmq_st_fill(body, m.body_len, i);
		ret = kmq_store_append(s, &m, &res);
		if (ret < 0)
			break;
		ret = kmq_store_read_at(s, res.phys_offset, sv->bytes[i],
					REC_MAX);
		if (ret < 0)
			break;
		sv->phys[i] = res.phys_offset;
		sv->size[i] = ret;
		sv->queue[i] = m.queue_id;
		ret = 0;
	}
	kmq_store_stats(s, &stats);
	*end = stats.write_offset;
	if (close_it)
		kmq_store_close(s);
	return ret;
}

/* Module side: read every queue whole; each record must be a saved one. */
static int module_check(struct __test_metadata *_metadata, int fd,
			const struct saved *sv, int nrec)
{
	char *buf = malloc(KMQ_ST_BUF);
	struct kmq_record rec;
	struct kmq_read r;
	int q, i, found = 0;

	ASSERT_NE(NULL, buf);
	for (q = 0; q < QUEUES; q++) {
		__u32 pos = 0;

		kmq_st_read_init(&r, TOPIC, q, 0, buf, KMQ_ST_BUF, 1000);
		EXPECT_EQ(0, kmq_st_read(fd, &r));
		while (kmq_st_next(buf, r.bytes, &pos, &rec) == 0) {
			for (i = 0; i < nrec; i++)
				if (sv->phys[i] == rec.phys_offset)
					break;
			ASSERT_GT(nrec, i) TH_LOG("record at %llu unknown",
						  rec.phys_offset);
			EXPECT_EQ(sv->size[i], rec.total_size);
			EXPECT_EQ(0, memcmp(sv->bytes[i],
					    buf + pos - rec.total_size,
					    rec.total_size))
				TH_LOG("record %d differs", i);
			found++;
		}
	}
	free(buf);
	return found;
}

FIXTURE(cross)
{
	struct kmq_st_store st;
	struct saved *sv;
};

FIXTURE_SETUP(cross)
{
	memset(&self->st, 0, sizeof(self->st));
	self->st.fd = kmq_st_open();
	ASSERT_LE(0, self->st.fd);
	ASSERT_EQ(0, kmq_st_mkdir(&self->st, "cross"));
	/* Shared, so a forked writer can fill it. */
	self->sv = mmap(NULL, sizeof(*self->sv), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sv);
}

FIXTURE_TEARDOWN(cross)
{
	munmap(self->sv, sizeof(*self->sv));
	kmq_st_down(&self->st);
}

TEST_F(cross, user_written_module_reads)
{
	struct kmq_queue_info qi;
	struct kmq_append_res res;
	__u64 end;
	int ret;

	ret = user_write(self->st.dir, self->sv, &end, KMQ_FLUSH_ASYNC, 1);
	ASSERT_EQ(0, ret) TH_LOG("userspace store: %s: %s",
				 kmq_store_strerror(ret), kmq_store_errmsg());
	module_config(&self->st, 0);
	ASSERT_EQ(0, kmq_st_attach(&self->st));
	EXPECT_EQ(end, self->st.att.write_offset);
	EXPECT_EQ(NREC, module_check(_metadata, self->st.fd, self->sv, NREC));
	/* Appends go on from where userspace stopped. */
	ASSERT_EQ(0, kmq_st_append_seed(self->st.fd, TOPIC, 1, 1, 100, &res));
	EXPECT_EQ(NREC / QUEUES, res.queue_offset);
	EXPECT_EQ(end, res.phys_offset);
	ASSERT_EQ(0, kmq_st_queue_info(self->st.fd, TOPIC, 1, &qi));
	EXPECT_EQ(NREC / QUEUES + 1, qi.max_offset);
}

TEST_F(cross, module_written_user_reads)
{
	struct kmq_store_config cfg;
	struct kmq_append_result ures;
	struct kmq_read_result rr;
	struct kmq_read_req req;
	struct kmq_range ranges[64];
	struct kmq_store_stats stats;
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_store *s;
	struct kmq_msg um;
	char body[REC_MAX], *buf;
	struct kmq_read r;
	__u64 end = 0;
	int i, q, ret, found = 0;

	buf = malloc(KMQ_ST_BUF);
	ASSERT_NE(NULL, buf);
	module_config(&self->st, KMQ_ATTACH_CREATE);
	ASSERT_EQ(0, kmq_st_attach(&self->st));
	ASSERT_EQ(0, kmq_st_topic(self->st.fd, TOPIC, QUEUES));
	for (i = 0; i < NREC; i++) {
		kmq_st_fill(body, body_len(i), i);
		kmq_st_msg(&m, TOPIC, i % QUEUES, body, body_len(i),
			   "TAGS\001kernel\002");
		ASSERT_EQ(0, kmq_st_append(self->st.fd, &m, &res, 1, NULL));
		self->sv->phys[i] = res.phys_offset;
		self->sv->size[i] = res.size;
		end = res.phys_offset + res.size;
	}
	/* The module's own reads give the bytes to compare with. */
	for (q = 0; q < QUEUES; q++) {
		__u32 pos = 0;
		struct kmq_record rec;

		kmq_st_read_init(&r, TOPIC, q, 0, buf, KMQ_ST_BUF, 1000);
		ASSERT_EQ(0, kmq_st_read(self->st.fd, &r));
		while (kmq_st_next(buf, r.bytes, &pos, &rec) == 0) {
			for (i = 0; i < NREC; i++)
				if (self->sv->phys[i] == rec.phys_offset)
					break;
			ASSERT_GT(NREC, i);
			memcpy(self->sv->bytes[i], buf + pos - rec.total_size,
			       rec.total_size);
		}
	}
	ASSERT_EQ(0, kmq_st_detach(self->st.fd, self->st.name));

	user_config(&cfg, self->st.dir, KMQ_FLUSH_ASYNC);
	ret = kmq_store_open(&cfg, &s);
	ASSERT_EQ(0, ret) TH_LOG("userspace store: %s: %s",
				 kmq_store_strerror(ret), kmq_store_errmsg());
	EXPECT_EQ(QUEUES, kmq_store_topic_queues(s, TOPIC));
	kmq_store_stats(s, &stats);
	EXPECT_EQ(end, stats.write_offset);
	for (q = 0; q < QUEUES; q++) {
		__u32 k, n = 0;

		memset(&req, 0, sizeof(req));
		req.topic = TOPIC;
		req.queue_id = q;
		req.max_msgs = 1000;
		req.max_bytes = KMQ_ST_BUF;
		ASSERT_EQ(0, kmq_store_read(s, &req, ranges, 64, &rr));
		EXPECT_EQ(KMQ_READ_FOUND, rr.status);
		for (k = 0; k < rr.nranges; k++) {
			const __u8 *p = ranges[k].data;
			__u32 off = 0;

			while (off < ranges[k].len) {
				__u32 left = ranges[k].len - off;
				struct kmq_record rec;

				ASSERT_EQ(0, kmq_record_decode(p + off, left,
							       &rec,
							       KMQ_DECODE_CRC));
				for (i = 0; i < NREC; i++)
					if (self->sv->phys[i] ==
					    rec.phys_offset)
						break;
				ASSERT_GT(NREC, i);
				EXPECT_EQ(0, memcmp(self->sv->bytes[i],
						    p + off, rec.total_size));
				off += rec.total_size;
				n++;
			}
		}
		kmq_store_release(s, ranges, rr.nranges);
		EXPECT_EQ(NREC / QUEUES, n);
		found += n;
	}
	EXPECT_EQ(NREC, found);
	/* And userspace appends go on from where the module stopped. */
	memset(&um, 0, sizeof(um));
	um.topic = TOPIC;
	um.queue_id = 2;
	um.body = "more";
	um.body_len = 4;
	ASSERT_EQ(0, kmq_store_append(s, &um, &ures));
	EXPECT_EQ(NREC / QUEUES, ures.queue_offset);
	EXPECT_EQ(end, ures.phys_offset);
	kmq_store_close(s);
	free(buf);
}

/* The userspace store dies without closing: the module recovers it. */
TEST_F(cross, user_crash_module_recovers)
{
	struct kmq_queue_info qi;
	char path[400];
	int status, q;
	__u64 end = 0;
	struct stat sb;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* SYNC_FLUSH: every record durable; no close: abort stays. */
		_exit(user_write(self->st.dir, self->sv, &end, KMQ_FLUSH_SYNC,
				 0) ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	snprintf(path, sizeof(path), "%s/abort", self->st.dir);
	ASSERT_EQ(0, stat(path, &sb));

	module_config(&self->st, 0);
	ASSERT_EQ(0, kmq_st_attach(&self->st));
	EXPECT_EQ(self->sv->phys[NREC - 1] + self->sv->size[NREC - 1],
		  self->st.att.write_offset);
	for (q = 0; q < QUEUES; q++) {
		ASSERT_EQ(0, kmq_st_queue_info(self->st.fd, TOPIC, q, &qi));
		EXPECT_EQ(NREC / QUEUES, qi.max_offset);
	}
	EXPECT_EQ(NREC, module_check(_metadata, self->st.fd, self->sv, NREC));
}

/* Half a record past the end (a writer killed mid-record): cut off. */
TEST_F(cross, torn_tail_cut)
{
	struct kmq_queue_info qi;
	struct kmq_append_res res;
	__u8 torn[REC_MAX];
	char path[400];
	__u32 half;
	__u64 end;
	int fd, ret;

	ret = user_write(self->st.dir, self->sv, &end, KMQ_FLUSH_ASYNC, 1);
	ASSERT_EQ(0, ret);
	ASSERT_GT(SEG, end + REC_MAX);
	/*
	 * Half a copy of the last record at the end, TOTALSIZE zero (the
	 * encoder writes it last), and the abort file a crash leaves, so
	 * recovery scans past the checkpoint.
	 */
	half = self->sv->size[NREC - 1] / 2;
	memcpy(torn, self->sv->bytes[NREC - 1], half);
	memset(torn, 0, 4);
	snprintf(path, sizeof(path), "%s/commitlog/%020llu", self->st.dir,
		 0ull);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(half, pwrite(fd, torn, half, end));
	fsync(fd);
	close(fd);
	snprintf(path, sizeof(path), "%s/abort", self->st.dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	close(fd);

	module_config(&self->st, 0);
	ASSERT_EQ(0, kmq_st_attach(&self->st));
	EXPECT_EQ(end, self->st.att.write_offset);
	ASSERT_EQ(0, kmq_st_queue_info(self->st.fd, TOPIC, 0, &qi));
	EXPECT_EQ(NREC / QUEUES, qi.max_offset);
	EXPECT_EQ(NREC, module_check(_metadata, self->st.fd, self->sv, NREC));
	/* The next record goes where the torn one was. */
	ASSERT_EQ(0, kmq_st_append_seed(self->st.fd, TOPIC, 0, 1, 64, &res));
	EXPECT_EQ(end, res.phys_offset);
}

TEST_HARNESS_MAIN
