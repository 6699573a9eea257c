// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_store_read.c - kmq_store_read(), kmq_store_read_at() and
 * kmq_store_queue_offsets(): limits (max_msgs, max_bytes, ranges), tag
 * filtering, the read statuses, ranges that are whole records ready for
 * sendfile, reads across segment boundaries and reads beside appends.
 */
#include <pthread.h>

#include "store_test_util.h"

#define SEG		KT_SEG_SMALL
#define BODY		1500
#define READT		"ReadT"		/* 3 queues, interleaved */
#define RUNT		"RunT"		/* 1 queue, back to back */
#define TAGT		"TagT"
#define EMPTYT		"EmptyT"
#define LIVET		"LiveT"
#define NREAD		300
#define NRUN		200
#define NLIVE		3000
#define MAXGOT		1024

static char root[KT_PATH_MAX];
static struct kmq_store_config cfg;

/**
 * struct got - what one read returned, decoded.
 * @n: records
 * @qo: their queue offsets
 * @phys: their commitlog offsets
 * @size: their sizes
 * @segs: distinct segments the ranges came from
 */
struct got {
	int n;
	uint64_t qo[MAXGOT];
	uint64_t phys[MAXGOT];
	uint32_t size[MAXGOT];
	int segs;
};

/* same_file() - @fd is the commitlog segment that starts at @start. */
static bool same_file(int fd, uint64_t start)
{
	char p[KT_PATH_MAX];
	struct stat a, b;

	if (fstat(fd, &a) || stat(kt_seg_path(p, root, start), &b))
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * do_read() - one kmq_store_read() with every structural check: ranges
 * are whole records of the asked queue, in queue order, matching their
 * file descriptor, inside one segment, adding up to count and bytes;
 * sequence messages (topics with @queues > 0) match their contents.
 * Return: the number of problems (with diag lines).
 */
static int do_read(struct kmq_store *s, const struct kmq_read_req *req,
		   uint32_t max_ranges, uint32_t queues,
		   struct kmq_read_result *res, struct got *g)
{
	static struct kmq_record recs[MAXGOT];
	struct kmq_range rg[256];
	uint64_t last_seg = UINT64_MAX, start, prev_qo = 0;
	uint32_t i, count = 0, bytes = 0;
	int bad = 0, n, j, err;
	int64_t seq;

	memset(g, 0, sizeof(*g));
	memset(res, 0xcc, sizeof(*res));
	memset(rg, 0, sizeof(rg));
	if (max_ranges > 256)
		kmq_tap_bail("too many ranges for this test");
	err = kmq_store_read(s, req, rg, max_ranges, res);
	if (err) {
		diag("kmq_store_read: %d %s", err, kmq_store_strerror(err));
		return 1;
	}
	if (res->status != KMQ_READ_FOUND) {
		if (res->nranges || res->count || res->bytes) {
			diag("status %d with %u ranges, %u records, %u bytes",
			     res->status, res->nranges, res->count, res->bytes);
			bad++;
		}
		if (res->nranges && res->nranges <= max_ranges)
			kmq_store_release(s, rg, res->nranges);
		return bad;
	}
	if (!res->nranges || res->nranges > max_ranges || !res->count) {
		diag("FOUND with %u ranges (room for %u), %u records",
		     res->nranges, max_ranges, res->count);
		return 1;
	}
	for (i = 0; i < res->nranges; i++) {
		n = kt_range_records(&rg[i], recs + g->n, MAXGOT - g->n);
		if (n < 0) {
			bad++;
			continue;
		}
		count += rg[i].count;
		bytes += rg[i].len;
		start = recs[g->n].phys_offset - rg[i].file_off;
		if (start % SEG || rg[i].file_off + rg[i].len > SEG ||
		    !same_file(rg[i].fd, start)) {
			diag("range %u: file_off %llu len %u is not in segment %llu",
			     i, (unsigned long long)rg[i].file_off, rg[i].len,
			     (unsigned long long)start);
			bad++;
		}
		if (start != last_seg)
			g->segs++;
		last_seg = start;
		for (j = 0; j < n && g->n < MAXGOT; j++, g->n++) {
			const struct kmq_record *r = &recs[g->n];

			g->qo[g->n] = r->queue_offset;
			g->phys[g->n] = r->phys_offset;
			g->size[g->n] = r->total_size;
			if (r->queue_id != req->queue_id ||
			    r->topic_len != strlen(req->topic) ||
			    memcmp(r->topic, req->topic, r->topic_len)) {
				diag("record of another queue in the range");
				bad++;
			}
			if (r->queue_offset < req->offset ||
			    (g->n && r->queue_offset <= prev_qo)) {
				diag("queue offset %llu out of order",
				     (unsigned long long)r->queue_offset);
				bad++;
			}
			prev_qo = r->queue_offset;
			if (queues) {
				seq = kt_seq_verify(r, req->topic, queues,
						    BODY);
				if (seq < 0 || (uint64_t)seq !=
				    r->queue_offset * queues + req->queue_id)
					bad++;
			}
		}
	}
	if (count != res->count || bytes != res->bytes) {
		diag("ranges hold %u records, %u bytes; result says %u, %u",
		     count, bytes, res->count, res->bytes);
		bad++;
	}
	if (g->n && res->next_offset <= g->qo[g->n - 1]) {
		diag("next_offset %llu not past the last record",
		     (unsigned long long)res->next_offset);
		bad++;
	}
	kmq_store_release(s, rg, res->nranges);
	return bad;
}

static struct kmq_read_req mkreq(const char *topic, uint32_t q, uint64_t off,
				 uint32_t max_msgs, uint32_t max_bytes)
{
	struct kmq_read_req req = {
		.topic = topic,
		.queue_id = q,
		.offset = off,
		.max_msgs = max_msgs,
		.max_bytes = max_bytes,
	};

	return req;
}

static void append_seq(struct kmq_store *s, const char *topic,
		       uint32_t queues, int n, uint32_t body,
		       struct kmq_append_result *ar)
{
	static struct kt_seqmsg sm;
	struct kmq_append_result tmp;
	int i, err = 0;

	for (i = 0; i < n && !err; i++) {
		kt_seq_msg(&sm, topic, i, queues, body);
		err = kmq_store_append(s, &sm.msg, ar ? &ar[i] : &tmp);
	}
	if (!is_int(err, 0, "append %d sequence messages to %s", n, topic))
		kmq_tap_bail("appends fail");
}

static void test_empty(struct kmq_store *s)
{
	struct kmq_read_req req = mkreq(EMPTYT, 1, 0, 32, 1 << 20);
	struct kmq_read_result res;
	uint64_t min = 9, max = 9;
	struct got g;

	is_int(do_read(s, &req, 8, 0, &res, &g), 0, "read of an empty queue");
	is_int(res.status, KMQ_READ_NO_MESSAGE, "empty queue: NO_MESSAGE");
	ok(res.min_offset == 0 && res.max_offset == 0 && res.next_offset == 0,
	   "empty queue: min, max, next all 0");
	is_int(kmq_store_queue_offsets(s, EMPTYT, 1, &min, &max), 0,
	       "queue_offsets of an empty queue");
	ok(min == 0 && max == 0, "... [0, 0)");
}

static void test_sequential(struct kmq_store *s)
{
	struct kmq_read_result res;
	struct kmq_read_req req;
	uint64_t off, want, min, max;
	int bad = 0, reads = 0, total = 0, i, wrong = 0;
	struct got g;
	uint32_t q;

	for (q = 0; q < 3; q++) {
		want = (NREAD - q + 2) / 3;
		is_int(kmq_store_queue_offsets(s, READT, q, &min, &max), 0,
		       "queue_offsets %s/%u", READT, q);
		ok(min == 0 && max == want, "... [0, %llu)",
		   (unsigned long long)want);
		off = 0;
		for (;;) {
			req = mkreq(READT, q, off, 7, 1 << 30);
			bad += do_read(s, &req, 64, 3, &res, &g);
			reads++;
			if (res.status != KMQ_READ_FOUND)
				break;
			want = max - off < 7 ? max - off : 7;
			if (res.count != want || g.n != (int)want)
				wrong++;
			for (i = 0; i < g.n; i++)
				if (g.qo[i] != off + i)
					wrong++;
			if (res.next_offset != off + res.count ||
			    res.min_offset != 0 || res.max_offset != max)
				wrong++;
			total += res.count;
			off = res.next_offset;
			if (reads > 1000)
				break;
		}
		is_int(res.status, KMQ_READ_NO_NEW,
		       "queue %u read to the end: NO_NEW", q);
		is_int(res.next_offset, max, "... next_offset is max");
	}
	is_int(bad, 0, "%d reads: ranges are whole, valid, ordered records",
	       reads);
	is_int(wrong, 0, "reads of 7: counts, queue offsets, next_offset");
	is_int(total, NREAD, "every record read exactly once");
}

static void test_limits(struct kmq_store *s)
{
	struct kmq_read_result res;
	struct kmq_read_req req;
	uint32_t sz[3];
	int bad = 0;
	struct got g;

	req = mkreq(READT, 1, 0, 3, 1 << 30);
	bad += do_read(s, &req, 8, 3, &res, &g);
	if (!is_int(g.n, 3, "read 3 records of queue 1"))
		return;
	memcpy(sz, g.size, sizeof(sz));

	req = mkreq(READT, 1, 0, 1, 1 << 30);
	bad += do_read(s, &req, 8, 3, &res, &g);
	ok(res.count == 1 && res.next_offset == 1, "max_msgs 1: one record");

	req = mkreq(READT, 1, 0, 32, sz[0] + sz[1] + sz[2] / 2);
	bad += do_read(s, &req, 32, 3, &res, &g);
	ok(res.count == 2 && res.bytes == sz[0] + sz[1] &&
	   res.next_offset == 2,
	   "max_bytes of 2.5 records: 2 records (%u, %u bytes)", res.count,
	   res.bytes);
	req = mkreq(READT, 1, 0, 32, sz[0] + sz[1] + sz[2]);
	bad += do_read(s, &req, 32, 3, &res, &g);
	ok(res.count == 3 && res.bytes == sz[0] + sz[1] + sz[2],
	   "max_bytes of exactly 3 records: 3 records");
	req = mkreq(READT, 1, 0, 32, 1);
	bad += do_read(s, &req, 32, 3, &res, &g);
	ok(res.status == KMQ_READ_FOUND && res.count == 1 &&
	   res.bytes == sz[0] && res.next_offset == 1,
	   "max_bytes 1: still one whole record");

	/* Queue 0's records are never adjacent: one range each. */
	req = mkreq(READT, 0, 5, 32, 1 << 30);
	bad += do_read(s, &req, 2, 3, &res, &g);
	ok(res.status == KMQ_READ_FOUND && res.nranges == 2 &&
	   res.count == 2 && res.next_offset == 7,
	   "two ranges of room: two records, next_offset 7 (%u ranges, %u records, next %llu)",
	   res.nranges, res.count, (unsigned long long)res.next_offset);
	is_int(bad, 0, "limit reads well formed");
}

static void test_statuses(struct kmq_store *s)
{
	struct kmq_read_result res;
	struct kmq_read_req req;
	struct kmq_range rg[4];
	uint64_t min, max;
	int bad = 0, err;
	struct got g;

	kmq_store_queue_offsets(s, READT, 2, &min, &max);
	req = mkreq(READT, 2, max, 32, 1 << 20);
	bad += do_read(s, &req, 8, 3, &res, &g);
	is_int(res.status, KMQ_READ_NO_NEW, "offset == max: NO_NEW");
	ok(res.next_offset == max && res.max_offset == max &&
	   res.min_offset == 0, "NO_NEW: next_offset max, min/max set");
	req.offset = max + 1;
	bad += do_read(s, &req, 8, 3, &res, &g);
	is_int(res.status, KMQ_READ_OFFSET_OVERFLOW,
	       "offset == max + 1: OFFSET_OVERFLOW");
	is_int(res.max_offset, max, "OFFSET_OVERFLOW: max_offset set");
	req.offset = max + 100000;
	bad += do_read(s, &req, 8, 3, &res, &g);
	is_int(res.status, KMQ_READ_OFFSET_OVERFLOW,
	       "offset far past max: OFFSET_OVERFLOW");
	is_int(bad, 0, "status reads carry no ranges");

	req = mkreq("NoSuchTopic", 0, 0, 32, 1 << 20);
	err = kmq_store_read(s, &req, rg, 4, &res);
	is_int(err, -KMQ_ENOTOPIC, "read of an unknown topic: -KMQ_ENOTOPIC");
	req = mkreq(READT, 3, 0, 32, 1 << 20);
	err = kmq_store_read(s, &req, rg, 4, &res);
	is_int(err, -KMQ_EBADQUEUE, "read of queue 3 of 3: -KMQ_EBADQUEUE");
	is_int(kmq_store_queue_offsets(s, "NoSuchTopic", 0, &min, &max),
	       -KMQ_ENOTOPIC, "queue_offsets of an unknown topic");
	is_int(kmq_store_queue_offsets(s, READT, 3, &min, &max),
	       -KMQ_EBADQUEUE, "queue_offsets of a bad queue");
}

static void test_run(struct kmq_store *s, struct kmq_append_result *ar)
{
	static unsigned char buf[64 * 1024];
	struct kmq_read_result res;
	struct kmq_read_req req;
	struct kmq_store_stats st;
	int bad = 0, i, n, wrong = 0;
	uint32_t maxsz = 0;
	struct got g;

	ok(ar[NRUN - 1].phys_offset / SEG > ar[0].phys_offset / SEG,
	   "the %s records span segments", RUNT);
	req = mkreq(RUNT, 0, 0, 1000, 1 << 30);
	bad += do_read(s, &req, 256, 1, &res, &g);
	is_int(bad, 0, "read of %d back-to-back records", NRUN);
	is_int(res.count, NRUN, "... all of them");
	ok(g.segs >= 2, "... from %d segments in one read (%u ranges)",
	   g.segs, res.nranges);
	for (i = 0; i < g.n; i++)
		if (g.qo[i] != (uint64_t)i || g.phys[i] != ar[i].phys_offset)
			wrong++;
	is_int(wrong, 0, "... in order, at their commitlog offsets");
	is_int(res.next_offset, NRUN, "... next_offset is the end");

	/* read_at */
	for (i = 0; i < NRUN; i++) {
		struct kmq_record r;

		n = kmq_store_read_at(s, ar[i].phys_offset, buf, sizeof(buf));
		if (n != (int)ar[i].size ||
		    kmq_record_decode(buf, n, &r, KMQ_DECODE_CRC) ||
		    r.phys_offset != ar[i].phys_offset ||
		    kt_seq_verify(&r, RUNT, 1, BODY) != i)
			wrong++;
		if (ar[i].size > maxsz)
			maxsz = ar[i].size;
	}
	is_int(wrong, 0, "read_at of every record");
	is_int(kmq_store_read_at(s, ar[3].phys_offset, buf, ar[3].size - 1),
	       -ENOSPC, "read_at with one byte too few: -ENOSPC");
	is_int(kmq_store_read_at(s, ar[3].phys_offset, buf, ar[3].size),
	       ar[3].size, "read_at with exactly enough room");
	kmq_store_stats(s, &st);
	is_int(kmq_store_read_at(s, st.write_offset, buf, sizeof(buf)),
	       -ERANGE, "read_at the write offset: -ERANGE");
	is_int(kmq_store_read_at(s, st.write_offset + 10 * SEG, buf,
				 sizeof(buf)), -ERANGE,
	       "read_at past the end: -ERANGE");
	is_int(kmq_store_read_at(s, UINT64_MAX - 4, buf, sizeof(buf)),
	       -ERANGE, "read_at near 2^64: -ERANGE");
}

/*
 * TagT holds, by queue offset: A B B B A A, 20 B, C.
 */
#define TAG_N	27

static char tag_at(int i)
{
	if (i == 0 || i == 4 || i == 5)
		return 'A';
	return i == 26 ? 'C' : 'B';
}

static void test_tags(struct kmq_store *s)
{
	int64_t ha = kmq_tag_hash("TagA", 4), hc = kmq_tag_hash("TagC", 4);
	int64_t hb = kmq_tag_hash("TagB", 4);
	int64_t a[1] = { ha }, ac[2] = { ha, hc }, c[1] = { hc }, b[1] = { hb };
	struct kmq_append_result ar;
	struct kmq_read_result res;
	struct kmq_read_req req;
	char props[32], body[8];
	int i, bad = 0, err = 0, loops, found;
	struct kmq_msg m;
	struct got g;

	for (i = 0; i < TAG_N && !err; i++) {
		snprintf(props, sizeof(props), "TAGS\001Tag%c\002", tag_at(i));
		snprintf(body, sizeof(body), "m%d", i);
		kt_msg_init(&m, TAGT, 0, body, strlen(body), props);
		err = kmq_store_append(s, &m, &ar);
	}
	is_int(err, 0, "appended %d tagged records", TAG_N);

	req = mkreq(TAGT, 0, 0, 2, 1 << 30);
	req.tags = a;
	req.ntags = 1;
	bad += do_read(s, &req, 16, 0, &res, &g);
	ok(res.status == KMQ_READ_FOUND && g.n == 2 && g.qo[0] == 0 &&
	   g.qo[1] == 4, "tags {A}, max 2 from 0: offsets 0 and 4");
	is_int(res.next_offset, 5, "... next_offset 5 (not past the A at 5)");

	req.offset = 5;
	req.max_msgs = 32;
	bad += do_read(s, &req, 16, 0, &res, &g);
	ok(res.status == KMQ_READ_FOUND && g.n == 1 && g.qo[0] == 5,
	   "tags {A} from 5: offset 5 only");
	ok(res.next_offset > 5 && res.next_offset <= TAG_N,
	   "... next_offset %llu moved past what was scanned",
	   (unsigned long long)res.next_offset);

	req.offset = 6;
	bad += do_read(s, &req, 16, 0, &res, &g);
	is_int(res.status, KMQ_READ_NO_MATCH, "tags {A} from 6: NO_MATCH");
	ok(res.next_offset > 6 && res.next_offset <= TAG_N,
	   "NO_MATCH moved next_offset to %llu",
	   (unsigned long long)res.next_offset);
	for (loops = 0, found = 0; loops < 100; loops++) {
		if (res.status == KMQ_READ_FOUND)
			found += res.count;
		if (res.status != KMQ_READ_FOUND &&
		    res.status != KMQ_READ_NO_MATCH)
			break;
		req.offset = res.next_offset;
		bad += do_read(s, &req, 16, 0, &res, &g);
	}
	ok(res.status == KMQ_READ_NO_NEW && res.next_offset == TAG_N &&
	   !found, "following next_offset reaches the end, nothing matched");

	req.offset = 6;
	req.tags = ac;
	req.ntags = 2;
	for (loops = 0, found = 0; loops < 100; loops++) {
		bad += do_read(s, &req, 16, 0, &res, &g);
		if (res.status == KMQ_READ_FOUND)
			break;
		if (res.status != KMQ_READ_NO_MATCH)
			break;
		req.offset = res.next_offset;
	}
	ok(res.status == KMQ_READ_FOUND && g.n == 1 && g.qo[0] == 26,
	   "tags {A, C} from 6: the C at 26");

	req = mkreq(TAGT, 0, 0, 32, 1 << 30);
	req.tags = c;
	req.ntags = 1;
	for (loops = 0; loops < 100; loops++) {
		bad += do_read(s, &req, 16, 0, &res, &g);
		if (res.status != KMQ_READ_NO_MATCH)
			break;
		req.offset = res.next_offset;
	}
	ok(res.status == KMQ_READ_FOUND && g.n == 1 && g.qo[0] == 26,
	   "tags {C} from 0: only offset 26");

	req = mkreq(TAGT, 0, 0, 3, 1 << 30);
	req.tags = a;
	req.ntags = 0;
	bad += do_read(s, &req, 16, 0, &res, &g);
	ok(g.n == 3 && g.qo[2] == 2, "ntags 0 keeps everything");

	req = mkreq(TAGT, 0, 0, 32, 1);
	req.tags = b;
	req.ntags = 1;
	bad += do_read(s, &req, 16, 0, &res, &g);
	ok(g.n == 1 && g.qo[0] == 1 && res.next_offset == 2,
	   "tags {B}, max_bytes 1: the first B only");

	is_int(bad, 0, "tag reads well formed");
}

/* A reader following a queue while the writer appends to it. */
struct live {
	struct kmq_store *s;
	int bad;
	uint64_t got;
};

static void *live_reader(void *arg)
{
	struct live *lv = arg;
	struct kmq_read_result res;
	struct kmq_read_req req;
	double t0 = kt_mono_ms();
	struct got *g = malloc(sizeof(*g));
	int i;

	req = mkreq(LIVET, 0, 0, 16, 1 << 20);
	while (lv->got < NLIVE && kt_mono_ms() - t0 < 20000) {
		req.offset = lv->got;
		lv->bad += do_read(lv->s, &req, 16, 1, &res, g);
		if (res.status == KMQ_READ_FOUND) {
			for (i = 0; i < g->n; i++)
				if (g->qo[i] != lv->got + i)
					lv->bad++;
			if (res.next_offset != lv->got + res.count)
				lv->bad++;
			lv->got = res.next_offset;
		} else if (res.status == KMQ_READ_NO_NEW ||
			   res.status == KMQ_READ_NO_MESSAGE) {
			sched_yield();
		} else {
			lv->bad++;
			break;
		}
	}
	free(g);
	return NULL;
}

static void test_live(struct kmq_store *s)
{
	struct live lv = { .s = s };
	pthread_t t;

	if (pthread_create(&t, NULL, live_reader, &lv))
		kmq_tap_bail("pthread_create");
	append_seq(s, LIVET, 1, NLIVE, BODY, NULL);
	pthread_join(t, NULL);
	is_int(lv.got, NLIVE, "a reader beside the writer saw every record");
	is_int(lv.bad, 0, "... each complete and in order");
}

int main(void)
{
	static struct kmq_append_result run[NRUN];
	char *base = kt_tmpdir("read");
	struct kmq_store *s;

	kt_watchdog(120);
	kt_path(root, "%s/store", base);
	kt_config(&cfg, root, SEG, 0);
	s = kt_open(&cfg);
	if (kmq_store_topic_create(s, READT, 3) ||
	    kmq_store_topic_create(s, RUNT, 1) ||
	    kmq_store_topic_create(s, TAGT, 1) ||
	    kmq_store_topic_create(s, EMPTYT, 2) ||
	    kmq_store_topic_create(s, LIVET, 1))
		kmq_tap_bail("topic_create failed");

	test_empty(s);
	append_seq(s, READT, 3, NREAD, BODY, NULL);
	append_seq(s, RUNT, 1, NRUN, BODY, run);
	test_sequential(s);
	test_limits(s);
	test_statuses(s);
	test_run(s, run);
	test_tags(s);
	test_live(s);
	kmq_store_close(s);

	/* The same reads after a reopen. */
	s = kt_open(&cfg);
	test_sequential(s);
	kmq_store_close(s);

	kt_rm_rf(base);
	free(base);
	return kmq_tap_done();
}
