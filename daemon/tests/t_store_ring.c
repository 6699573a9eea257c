// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_store_ring.c - the commitlog ring: a bounded number of segment files
 * reused oldest first, consume queues whose minimum offset follows,
 * consumers behind the minimum told so instead of handed newer bytes,
 * pinned ranges that stay intact while the writer laps the ring, and
 * retention (fileReservedTime) dropping old sealed segments.
 */
#include <pthread.h>

#include "store_test_util.h"

#define SEG		KT_SEG_SMALL
#define RING		4
#define TOPIC		"RingT"		/* 2 queues */
#define BODY		1200
#define NMAX		20000

static char root[KT_PATH_MAX];
static struct kmq_store_config cfg;
static uint64_t seq_next;
static struct kmq_append_result res_of[NMAX];

static int commitlog_files(const char *r)
{
	char p[KT_PATH_MAX];

	return kt_count_files(kt_path(p, "%s/commitlog", r));
}

/*
 * append_until() - append sequence messages until the write offset
 * passes @end, counting the commitlog files after each.
 * Return: the largest number of commitlog files seen.
 */
static int append_until(struct kmq_store *s, uint64_t end, int *err)
{
	static struct kt_seqmsg sm;
	struct kmq_store_stats st;
	int most = 0, n;

	*err = 0;
	do {
		if (seq_next >= NMAX)
			kmq_tap_bail("test needs more than NMAX appends");
		kt_seq_msg(&sm, TOPIC, seq_next, 2, BODY);
		*err = kmq_store_append(s, &sm.msg, &res_of[seq_next]);
		if (*err)
			break;
		seq_next++;
		n = commitlog_files(root);
		if (n > most)
			most = n;
		kmq_store_stats(s, &st);
		if ((int)st.segments > most)
			most = (int)st.segments;
	} while (st.write_offset < end);
	return most;
}

/*
 * check_queue() - read every queue offset of queue @q one by one: below
 * the minimum OFFSET_TOO_SMALL, else the right sequence message.
 * Return: problems found.
 */
static int check_queue(struct kmq_store *s, uint32_t q, uint64_t *minp)
{
	static unsigned char buf[KT_SEQ_BODY_MAX + 1024];
	struct kmq_read_result res;
	struct kmq_store_stats st;
	struct kmq_record rec;
	uint64_t min, max, off;
	int bad = 0, status;

	kmq_store_stats(s, &st);
	if (kmq_store_queue_offsets(s, TOPIC, q, &min, &max))
		return 1;
	*minp = min;
	for (off = 0; off <= max; off++) {
		status = kt_read_one(s, TOPIC, q, off, buf, sizeof(buf), &rec,
				     &res);
		if (off < min) {
			if (status != KMQ_READ_OFFSET_TOO_SMALL ||
			    res.min_offset != min) {
				diag("queue %u offset %llu below min %llu: status %d",
				     q, (unsigned long long)off,
				     (unsigned long long)min, status);
				bad++;
			}
		} else if (off == max) {
			if (status != KMQ_READ_NO_NEW)
				bad++;
		} else if (status != KMQ_READ_FOUND ||
			   kt_seq_verify(&rec, TOPIC, 2, BODY) !=
			   (int64_t)(off * 2 + q) ||
			   rec.phys_offset < st.min_offset) {
			diag("queue %u offset %llu: status %d", q,
			     (unsigned long long)off, status);
			bad++;
		}
	}
	return bad;
}

/*
 * A segment reused by the ring gets fresh pages: the prepared segments
 * ahead of the writer (recycled ones, after 20 laps) hold zeros, not the
 * records they held before (those pages may still be in a socket).
 */
static void wait_prepared(struct kmq_store *s)
{
	struct kmq_store_stats st;
	int i;

	for (i = 0; i < 1000; i++) {
		kmq_store_stats(s, &st);
		if (st.prepared)
			return;
		usleep(10000);
	}
}

static void check_prepared_zero(struct kmq_store *s)
{
	static unsigned char page[4096];
	struct kmq_store_stats st;
	char path[KT_PATH_MAX];
	uint64_t start, seg_of_write, off;
	int i, n, fd, nonzero = 0, checked = 0;
	char **names;
	ssize_t got;

	wait_prepared(s);
	kmq_store_stats(s, &st);
	seg_of_write = st.write_offset - st.write_offset % SEG;
	n = kt_list_dir(kt_path(path, "%s/commitlog", root), &names);
	for (i = 0; i < n; i++) {
		start = strtoull(names[i], NULL, 10);
		if (start <= seg_of_write)
			continue;
		fd = open(kt_path(path, "%s/commitlog/%s", root, names[i]),
			  O_RDONLY);
		for (off = 0; fd >= 0 && off < SEG; off += sizeof(page)) {
			got = pread(fd, page, sizeof(page), off);
			if (got != sizeof(page) ||
			    memcmp(page, page + 1, sizeof(page) - 1) || page[0])
				nonzero++;
		}
		if (fd >= 0)
			close(fd);
		checked++;
	}
	kt_free_list(names, n);
	ok(checked > 0 && !nonzero,
	   "recycled segments ahead of the writer hold only zeros (%d checked, %d pages not zero)",
	   checked, nonzero);
}

static void test_ring(struct kmq_store *s)
{
	static unsigned char buf[KT_SEQ_BODY_MAX + 1024];
	struct kmq_store_stats st;
	struct kmq_read_result res;
	struct kmq_read_req req;
	struct kmq_range rg[2];
	uint64_t min[2], max, i, first;
	char path[KT_PATH_MAX];
	char **names;
	int most, err, n, bad;
	uint32_t q;

	most = append_until(s, 20 * SEG, &err);
	is_int(err, 0, "appends of 20 segments' worth into a ring of %d",
	       RING);
	/*
	 * The allocator recycles the oldest segment to keep one prepared
	 * ahead: let it finish, or the minimum moves while we check.
	 */
	wait_prepared(s);
	ok(most <= RING && most > 0,
	   "never more than %d segment files (most seen %d)", RING, most);
	kmq_store_stats(s, &st);
	ok(st.segments <= RING, "stats.segments %u <= %d", st.segments, RING);
	ok(st.min_offset > 0 && st.min_offset % SEG == 0,
	   "min offset moved to a segment start (%llu)",
	   (unsigned long long)st.min_offset);
	ok(st.write_offset - st.min_offset <= (uint64_t)RING * SEG,
	   "readable span %llu fits the ring",
	   (unsigned long long)(st.write_offset - st.min_offset));

	n = kt_list_dir(kt_path(path, "%s/commitlog", root), &names);
	ok(n > 0 && kt_is_20digit(names[0]) &&
	   strtoull(names[0], NULL, 10) == st.min_offset,
	   "oldest file is named by the min offset (%s)",
	   n > 0 ? names[0] : "none");
	kt_free_list(names, n);

	for (q = 0; q < 2; q++) {
		bad = check_queue(s, q, &min[q]);
		is_int(bad, 0,
		       "queue %u: TOO_SMALL below min %llu, intact records from there",
		       q, (unsigned long long)min[q]);
		ok(min[q] > 0, "queue %u min offset moved", q);
		/* The min is tight: the entry before it was reclaimed. */
		first = min[q] * 2 + q;
		ok(first < seq_next && res_of[first].phys_offset >=
		   st.min_offset && (first < 2 || res_of[first - 2].phys_offset <
				      st.min_offset),
		   "queue %u min is the first entry still in the ring", q);
	}

	req.topic = TOPIC;
	req.queue_id = 0;
	req.offset = 0;
	req.max_msgs = 32;
	req.max_bytes = 1 << 20;
	req.tags = NULL;
	req.ntags = 0;
	memset(&res, 0, sizeof(res));
	err = kmq_store_read(s, &req, rg, 2, &res);
	ok(!err && res.status == KMQ_READ_OFFSET_TOO_SMALL && !res.nranges &&
	   !res.count && res.min_offset == min[0],
	   "read at 0: OFFSET_TOO_SMALL, no bytes, min_offset %llu",
	   (unsigned long long)res.min_offset);
	is_int(res.next_offset, min[0], "... next_offset is the min offset");

	bad = 0;
	for (i = 0; i < seq_next; i++) {
		n = kmq_store_read_at(s, res_of[i].phys_offset, buf,
				      sizeof(buf));
		if (res_of[i].phys_offset < st.min_offset) {
			if (n != -ERANGE)
				bad++;
		} else if (n != (int)res_of[i].size) {
			bad++;
		}
	}
	is_int(bad, 0, "read_at: -ERANGE below the min, records above it");
	kmq_store_queue_offsets(s, TOPIC, 1, &i, &max);
	is_int(max, seq_next / 2, "queue 1 max offset counts every append");
	check_prepared_zero(s);
}

/*
 * A range pinned by a read stays byte-identical while the writer laps
 * the ring several times.
 */
static void test_pinned(struct kmq_store *s)
{
	struct kmq_store_stats st;
	struct kmq_read_result res;
	struct kmq_read_req req;
	struct kmq_range rg[8];
	unsigned char *copy[8];
	uint64_t min, max;
	int err, most, same = 1, pread_same = 1;
	uint32_t i;

	kmq_store_queue_offsets(s, TOPIC, 0, &min, &max);
	req.topic = TOPIC;
	req.queue_id = 0;
	req.offset = min;
	req.max_msgs = 4;
	req.max_bytes = 1 << 20;
	req.tags = NULL;
	req.ntags = 0;
	err = kmq_store_read(s, &req, rg, 8, &res);
	if (!ok(!err && res.status == KMQ_READ_FOUND,
		"read at the oldest offset %llu", (unsigned long long)min))
		return;
	for (i = 0; i < res.nranges; i++) {
		copy[i] = malloc(rg[i].len);
		memcpy(copy[i], rg[i].data, rg[i].len);
	}
	kmq_store_stats(s, &st);
	most = append_until(s, st.write_offset + 3 * RING * SEG, &err);
	is_int(err, 0, "writer lapped the ring 3 times over a pinned range");
	ok(most <= RING, "still at most %d files in commitlog/ (%d)", RING,
	   most);
	kmq_store_queue_offsets(s, TOPIC, 0, &req.offset, &max);
	ok(req.offset > min, "the pinned records are below the min now");
	for (i = 0; i < res.nranges; i++) {
		unsigned char *b = malloc(rg[i].len);

		if (memcmp(rg[i].data, copy[i], rg[i].len))
			same = 0;
		if (pread(rg[i].fd, b, rg[i].len, (off_t)rg[i].file_off) !=
		    (ssize_t)rg[i].len || memcmp(b, copy[i], rg[i].len))
			pread_same = 0;
		free(b);
	}
	ok(same, "pinned mapping bytes unchanged");
	ok(pread_same, "pinned fd still reads the same bytes");
	for (i = 0; i < res.nranges; i++)
		same = same && kt_range_records(&rg[i], NULL, 0) ==
			       (int)rg[i].count;
	ok(same, "pinned ranges still decode as whole records");
	kmq_store_release(s, rg, res.nranges);
	for (i = 0; i < res.nranges; i++)
		free(copy[i]);

	most = append_until(s, st.write_offset + 5 * RING * SEG, &err);
	is_int(err, 0, "appends after the release");
	ok(most <= RING, "at most %d files after the release (%d)", RING,
	   most);
}

/* A slow consumer racing the writer around the ring. */
struct chaser {
	struct kmq_store *s;
	int stop;
	int bad;
	int too_small;
	uint64_t found;
};

static void *chase(void *arg)
{
	static unsigned char buf[KT_SEQ_BODY_MAX + 1024];
	struct chaser *c = arg;
	struct kmq_read_result res;
	struct kmq_record rec;
	uint64_t off = 0;
	int st;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		st = kt_read_one(c->s, TOPIC, 1, off, buf, sizeof(buf), &rec,
				 &res);
		if (st == KMQ_READ_FOUND) {
			if (kt_seq_verify(&rec, TOPIC, 2, BODY) !=
			    (int64_t)(off * 2 + 1))
				c->bad++;
			c->found++;
			off++;
			usleep(200);
		} else if (st == KMQ_READ_OFFSET_TOO_SMALL) {
			if (res.min_offset <= off)
				c->bad++;
			c->too_small++;
			off = res.min_offset;
		} else if (st == KMQ_READ_NO_NEW) {
			usleep(100);
		} else {
			c->bad++;
			usleep(1000);
		}
	}
	return NULL;
}

static void test_chaser(struct kmq_store *s)
{
	struct chaser c = { .s = s };
	struct kmq_store_stats st;
	pthread_t t;
	int err;

	if (pthread_create(&t, NULL, chase, &c))
		kmq_tap_bail("pthread_create");
	kmq_store_stats(s, &st);
	append_until(s, st.write_offset + 6 * RING * SEG, &err);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	is_int(err, 0, "writer lapped the ring beside a slow consumer");
	is_int(c.bad, 0,
	       "the consumer never got a wrong record (%llu read, %d times too small)",
	       (unsigned long long)c.found, c.too_small);
	ok(c.found > 0, "the consumer read records");
}

static void test_retention(const char *base)
{
	static struct kt_seqmsg sm;
	struct kmq_append_result ar;
	struct kmq_store_stats st;
	struct kmq_store *s;
	char p[KT_PATH_MAX];
	uint64_t min, max, cur, seq = 0;
	double t0;
	int err = 0, n;

	kt_path(root, "%s/retention", base);
	kt_config(&cfg, root, SEG, 0);
	cfg.retention_ms = 200;
	s = kt_open(&cfg);
	kmq_store_topic_create(s, TOPIC, 2);
	do {
		kt_seq_msg(&sm, TOPIC, seq++, 2, BODY);
		err = kmq_store_append(s, &sm.msg, &ar);
		kmq_store_stats(s, &st);
	} while (!err && st.write_offset < 3 * SEG + SEG / 2);
	is_int(err, 0, "retention store: 3.5 segments appended");
	cur = st.write_offset - st.write_offset % SEG;

	t0 = kt_mono_ms();
	do {
		kt_sleep_ms(100);
		kmq_store_stats(s, &st);
	} while (st.min_offset < cur && kt_mono_ms() - t0 < 15000);
	diag("min offset %llu after %.0f ms", (unsigned long long)st.min_offset,
	     kt_mono_ms() - t0);
	is_int(st.min_offset, cur,
	       "sealed segments past retention dropped, the current kept");
	n = commitlog_files(root);
	ok(n >= 1 && n <= 2,
	   "commitlog/ holds the current (and the prepared) segment only: %d files",
	   n);
	ok(!kt_exists(kt_seg_path(p, root, 0)),
	   "segment 00000000000000000000 is gone");
	kmq_store_queue_offsets(s, TOPIC, 0, &min, &max);
	ok(min > 0 && min < max, "queue 0 min offset moved to %llu (max %llu)",
	   (unsigned long long)min, (unsigned long long)max);
	is_int(check_queue(s, 0, &min) + check_queue(s, 1, &max), 0,
	       "retention: TOO_SMALL below the min, intact records above");
	kmq_store_close(s);

	/* The age survives a restart and nothing comes back. */
	s = kt_open(&cfg);
	kmq_store_stats(s, &st);
	is_int(st.min_offset, cur, "reopen: min offset kept");
	kmq_store_queue_offsets(s, TOPIC, 0, &cur, &max);
	is_int(cur, min, "reopen: queue min offset kept");
	kmq_store_close(s);
}

int main(void)
{
	char *base = kt_tmpdir("ring");
	struct kmq_store *s;

	kt_watchdog(120);
	kt_path(root, "%s/store", base);
	kt_config(&cfg, root, SEG, RING);
	s = kt_open(&cfg);
	if (kmq_store_topic_create(s, TOPIC, 2))
		kmq_tap_bail("topic_create failed");

	test_ring(s);
	test_pinned(s);
	test_chaser(s);
	kmq_store_close(s);

	/*
	 * After a reopen the ring is still bounded and readable. The
	 * allocator prepares a segment ahead again, recycling the oldest:
	 * let it finish, or the minimum moves while we check.
	 */
	s = kt_open(&cfg);
	wait_prepared(s);
	{
		uint64_t min;

		ok(commitlog_files(root) <= RING, "reopen: at most %d files",
		   RING);
		is_int(check_queue(s, 0, &min) + check_queue(s, 1, &min), 0,
		       "reopen: queues read back correctly");
	}
	kmq_store_close(s);

	test_retention(base);
	kt_rm_rf(base);
	free(base);
	return kmq_tap_done();
}
