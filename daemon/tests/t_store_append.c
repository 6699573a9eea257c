// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_store_append.c - kmq_store_append() and kmq_store_append_batch():
 * what the store assigns (queue and commitlog offsets, timestamps, CRC,
 * message ids), the record bytes and consume-queue entries it writes,
 * segment roll with a BLANK filler, batch atomicity and the errors for
 * bad input.
 */
#include <pthread.h>

#include "store_test_util.h"

#define SEG		KT_SEG_SMALL
#define CQN		64		/* consume-queue entries per file */
#define MAXMSG		8192		/* max_message_size */
#define TOPIC		"AppendT"	/* 4 queues */
#define OTHER		"OtherT"	/* 1 queue */
#define MTT		"MtT"		/* 4 queues, for threads */
#define MT_THREADS	8
#define MT_PER		300
#define NSEQ		400
#define SEQ_BODY	1500

static char root[KT_PATH_MAX];
static struct kmq_store_config cfg;
static unsigned char rbuf[256 * 1024], rbuf2[256 * 1024];

static bool host_eq(const struct kmq_host *a, const struct kmq_host *b)
{
	return a->v6 == b->v6 && a->port == b->port &&
	       !memcmp(a->addr, b->addr, a->v6 ? 16 : 4);
}

static uint32_t host_bits(const struct kmq_msg *m)
{
	return (m->born_host.v6 ? KMQ_SYSFLAG_BORNHOST_V6 : 0) |
	       (cfg.store_host.v6 ? KMQ_SYSFLAG_STOREHOST_V6 : 0);
}

/*
 * record_mismatch() - compare the decoded @r with what was appended.
 * Return: NULL, or the name of the first field that differs.
 */
static const char *record_mismatch(const struct kmq_record *r,
				   const struct kmq_msg *m,
				   const struct kmq_append_result *ar)
{
	uint32_t sf = (m->sys_flag & ~(uint32_t)(KMQ_SYSFLAG_BORNHOST_V6 |
						 KMQ_SYSFLAG_STOREHOST_V6)) |
		      host_bits(m);

	if (r->magic != KMQ_MAGIC_V1)
		return "MAGICCODE";
	if (r->total_size != ar->size)
		return "TOTALSIZE";
	if (r->body_crc != kmq_body_crc(m->body, m->body_len))
		return "BODYCRC";
	if (r->queue_id != m->queue_id)
		return "QUEUEID";
	if (r->flag != m->flag)
		return "FLAG";
	if (r->queue_offset != ar->queue_offset)
		return "QUEUEOFFSET";
	if (r->phys_offset != ar->phys_offset)
		return "PHYSICALOFFSET";
	if (r->sys_flag != sf)
		return "SYSFLAG";
	if (r->born_ts != m->born_ts)
		return "BORNTIMESTAMP";
	if (!host_eq(&r->born_host, &m->born_host))
		return "BORNHOST";
	if (r->store_ts != ar->store_ts)
		return "STORETIMESTAMP";
	if (!host_eq(&r->store_host, &cfg.store_host))
		return "STOREHOST";
	if (r->reconsume_times != m->reconsume_times)
		return "RECONSUMETIMES";
	if (r->prepared_tx_offset != m->prepared_tx_offset)
		return "PREPARED TRANSACTION OFFSET";
	if (r->body_len != m->body_len ||
	    memcmp(r->body, m->body, m->body_len))
		return "BODY";
	if (r->topic_len != strlen(m->topic) ||
	    memcmp(r->topic, m->topic, r->topic_len))
		return "TOPIC";
	if (r->props_len != m->props_len ||
	    (m->props_len && memcmp(r->props, m->props, m->props_len)))
		return "PROPERTIES";
	return NULL;
}

/*
 * check_stored() - read the record back by commitlog offset and compare
 * it, its message id and (when it has one) its consume-queue entry.
 * Return: 0, or 1 with a diag line.
 */
static int check_stored(struct kmq_store *s, const struct kmq_msg *m,
			const struct kmq_append_result *ar)
{
	char id[KMQ_MSGID_MAX + 1];
	struct kmq_cq_entry e;
	struct kmq_record r;
	const char *bad;
	int n;

	n = kmq_store_read_at(s, ar->phys_offset, rbuf, sizeof(rbuf));
	if (n != (int)ar->size) {
		diag("read_at(%llu) = %d, size %u",
		     (unsigned long long)ar->phys_offset, n, ar->size);
		return 1;
	}
	n = kmq_record_decode(rbuf, ar->size, &r, KMQ_DECODE_CRC);
	if (n) {
		diag("record at %llu does not decode: %s",
		     (unsigned long long)ar->phys_offset, kmq_fmt_strerror(n));
		return 1;
	}
	bad = record_mismatch(&r, m, ar);
	if (bad) {
		diag("record at %llu: %s differs",
		     (unsigned long long)ar->phys_offset, bad);
		return 1;
	}
	kmq_msgid_encode(id, &cfg.store_host, ar->phys_offset);
	if (strcmp(id, ar->msg_id)) {
		diag("msg_id %s, want %s", ar->msg_id, id);
		return 1;
	}
	if (!kmq_cq_wants_entry(m->sys_flag))
		return 0;
	/* The same bytes come back from a read of the queue. */
	n = kt_read_one(s, m->topic, m->queue_id, ar->queue_offset, rbuf2,
			sizeof(rbuf2), &r, NULL);
	if (n != KMQ_READ_FOUND || r.phys_offset != ar->phys_offset ||
	    memcmp(rbuf, rbuf2, ar->size)) {
		diag("read of %s/%u/%llu: status %d, other bytes", m->topic,
		     m->queue_id, (unsigned long long)ar->queue_offset, n);
		return 1;
	}
	if (kt_cq_read(root, m->topic, m->queue_id, ar->queue_offset, CQN,
		       &e)) {
		diag("no consume-queue entry %s/%u/%llu", m->topic,
		     m->queue_id, (unsigned long long)ar->queue_offset);
		return 1;
	}
	if (e.phys_offset != ar->phys_offset || e.size != ar->size ||
	    e.tags_code != kmq_props_tags_code(m->props, m->props_len)) {
		diag("cq entry %s/%u/%llu: phys %llu size %u tags %lld",
		     m->topic, m->queue_id,
		     (unsigned long long)ar->queue_offset,
		     (unsigned long long)e.phys_offset, e.size,
		     (long long)e.tags_code);
		return 1;
	}
	return 0;
}

static uint64_t qmax(struct kmq_store *s, const char *topic, uint32_t q)
{
	uint64_t min = 0, max = UINT64_MAX;

	if (kmq_store_queue_offsets(s, topic, q, &min, &max))
		return UINT64_MAX;
	return max;
}

static void test_single(struct kmq_store *s)
{
	static const char body[] = "hello, kmq";
	static const char props[] = "TAGS\001TagA\002KEYS\001k1 k2\002";
	struct kmq_append_result ar;
	struct kmq_store_stats st;
	struct kmq_cq_entry e;
	char id[KMQ_MSGID_MAX + 1];
	struct kmq_msg m;
	uint64_t t0, t1;
	int err;

	kt_msg_init(&m, TOPIC, 0, body, sizeof(body) - 1, props);
	m.flag = 7;
	m.born_ts = kt_now_ms() - 5;
	kt_host_v4(&m.born_host, 10, 1, 2, 3, 5555);
	m.reconsume_times = 2;

	memset(&ar, 0xee, sizeof(ar));
	t0 = kt_now_ms();
	err = kmq_store_append(s, &m, &ar);
	t1 = kt_now_ms();
	is_int(err, 0, "single append");
	is_int(ar.queue_offset, 0, "first queue offset 0");
	is_int(ar.phys_offset, 0, "first commitlog offset 0");
	is_int(ar.size, kmq_record_size(KMQ_MAGIC_V1, 0, m.body_len,
					strlen(TOPIC), m.props_len),
	       "size is kmq_record_size()");
	is_int(ar.size, KMQ_REC_FIXED_V4 + m.body_len + strlen(TOPIC) +
	       m.props_len, "size is 91 + body + topic + props");
	ok(ar.store_ts >= t0 && ar.store_ts <= t1,
	   "store timestamp is the time of the append");
	kmq_msgid_encode(id, &cfg.store_host, 0);
	ok(!strcmp(ar.msg_id, id), "msg_id is the offset message id (%s)",
	   ar.msg_id);
	is_int(strlen(ar.msg_id), KMQ_MSGID_LEN_V4, "msg_id 32 characters");
	is_int(check_stored(s, &m, &ar), 0,
	       "record reads back with every field as given");
	is_int(kt_cq_read(root, TOPIC, 0, 0, CQN, &e), 0,
	       "consume-queue file holds entry 0");
	is_int(e.phys_offset, 0, "cq entry: commitlog offset");
	is_int(e.size, ar.size, "cq entry: size");
	is_int(e.tags_code, kmq_tag_hash("TagA", 4),
	       "cq entry: tags code is kmq_tag_hash(TAGS)");
	kmq_store_stats(s, &st);
	is_int(st.write_offset, ar.size, "write offset after one record");
	is_int(st.appends, 1, "one append counted");
	is_int(qmax(s, TOPIC, 0), 1, "queue 0 max offset 1");
}

/* check_blank() - a BLANK filler from @end to the end of its segment. */
static bool check_blank(uint64_t end)
{
	static unsigned char b[SEG];
	uint32_t rest = SEG - end % SEG;
	struct kmq_record r;

	if (kt_seg_pread(root, SEG, end, b, rest))
		return false;
	return kmq_get_be32(b) == rest &&
	       kmq_get_be32(b + 4) == KMQ_MAGIC_BLANK &&
	       kmq_record_decode(b, rest, &r, 0) == 1 &&
	       r.total_size == rest;
}

static void test_many(struct kmq_store *s)
{
	static struct kmq_append_result ar[NSEQ];
	static struct kt_seqmsg sm;
	struct kmq_store_stats st;
	uint64_t next[4], prev_end, t0, t1;
	int err = 0, bad_qo = 0, bad_place = 0, bad_blank = 0, rolls = 0;
	int bad_rec = 0, i;
	char p[KT_PATH_MAX];
	uint32_t q;

	for (q = 0; q < 4; q++)
		next[q] = qmax(s, TOPIC, q);
	kmq_store_stats(s, &st);
	prev_end = st.write_offset;
	t0 = kt_now_ms();
	for (i = 0; i < NSEQ && !err; i++) {
		kt_seq_msg(&sm, TOPIC, i, 4, SEQ_BODY);
		err = kmq_store_append(s, &sm.msg, &ar[i]);
		if (err)
			break;
		q = sm.msg.queue_id;
		if (ar[i].queue_offset != next[q]++)
			bad_qo++;
		if (ar[i].phys_offset == prev_end) {
			if (prev_end % SEG + ar[i].size + KMQ_BLANK_SIZE > SEG)
				bad_place++;
		} else {
			rolls++;
			if (ar[i].phys_offset != prev_end - prev_end % SEG + SEG ||
			    prev_end % SEG + ar[i].size + KMQ_BLANK_SIZE <= SEG)
				bad_place++;
			if (!check_blank(prev_end))
				bad_blank++;
		}
		prev_end = ar[i].phys_offset + ar[i].size;
	}
	t1 = kt_now_ms();
	is_int(err, 0, "%d sequence appends", NSEQ);
	is_int(bad_qo, 0, "queue offsets consecutive per queue");
	is_int(bad_place, 0,
	       "records back to back; one that does not fit with 8 bytes to spare starts the next segment");
	ok(rolls >= 2, "segments rolled (%d times)", rolls);
	is_int(bad_blank, 0, "each segment ends with a BLANK filler");
	kmq_store_stats(s, &st);
	is_int(st.write_offset, prev_end, "write offset is the end");

	for (i = 0; i < NSEQ && !err; i++) {
		kt_seq_msg(&sm, TOPIC, i, 4, SEQ_BODY);
		if (ar[i].store_ts < t0 || ar[i].store_ts > t1)
			bad_rec++;
		bad_rec += check_stored(s, &sm.msg, &ar[i]);
	}
	is_int(bad_rec, 0, "every record, msg id and cq entry checks out");
	ok(kt_exists(kt_path(p, "%s/consumequeue/%s/0/%020u", root, TOPIC,
			     CQN * KMQ_CQ_ENTRY_SIZE)),
	   "second consume-queue file named by its byte offset (%020u)",
	   CQN * KMQ_CQ_ENTRY_SIZE);
}

static void batch_msgs(struct kt_seqmsg *sm, int n, uint64_t seq0,
		       uint32_t body)
{
	int i;

	for (i = 0; i < n; i++)
		kt_seq_msg(&sm[i], TOPIC, seq0 + i, 4, body);
}

/*
 * fill_segment() - append 1000-byte records to OTHER until fewer than
 * @left bytes (but more than 1200) remain in the current segment.
 */
static int fill_segment(struct kmq_store *s, uint64_t left)
{
	static unsigned char body[1000];
	struct kmq_append_result ar;
	struct kmq_store_stats st;
	struct kmq_msg m;
	uint64_t rem;
	int err, i;

	memset(body, 'f', sizeof(body));
	kt_msg_init(&m, OTHER, 0, body, sizeof(body), NULL);
	for (i = 0; i < 1000; i++) {
		kmq_store_stats(s, &st);
		rem = SEG - st.write_offset % SEG;
		if (rem < left && rem > 1200)
			return 0;
		err = kmq_store_append(s, &m, &ar);
		if (err)
			return err;
	}
	return -1;
}

static void test_batch(struct kmq_store *s)
{
	static struct kt_seqmsg sm[12];
	struct kmq_append_result ar[12];
	struct kmq_msg m[12];
	struct kmq_store_stats st, st2;
	uint64_t next[5], before[5], end;
	int err, i, bad = 0, k;
	uint32_t q;

	batch_msgs(sm, 10, 1000, 600);
	sm[7].msg.topic = OTHER;
	sm[7].msg.queue_id = 0;
	for (i = 0; i < 10; i++)
		m[i] = sm[i].msg;
	for (q = 0; q < 4; q++)
		next[q] = qmax(s, TOPIC, q);
	next[4] = qmax(s, OTHER, 0);
	kmq_store_stats(s, &st);
	memset(ar, 0, sizeof(ar));
	err = kmq_store_append_batch(s, m, 10, ar);
	is_int(err, 0, "batch of 10 over two topics");
	for (i = 0; i < 10 && !err; i++) {
		q = !strcmp(m[i].topic, OTHER) ? 4 : m[i].queue_id;
		if (ar[i].queue_offset != next[q]++)
			bad++;
		if (i && ar[i].phys_offset !=
		    ar[i - 1].phys_offset + ar[i - 1].size)
			bad += 100;
		bad += check_stored(s, &m[i], &ar[i]) * 10000;
	}
	is_int(bad, 0, "batch: queue offsets, contiguous records, contents");
	ok(ar[0].phys_offset == st.write_offset ||
	   ar[0].phys_offset % SEG == 0, "batch starts at the write offset");

	/* A batch bigger than what is left in the segment moves whole. */
	err = fill_segment(s, 3000);
	kmq_store_stats(s, &st);
	end = st.write_offset;
	k = 6;
	for (i = 0; i < k; i++) {
		kt_seq_msg(&sm[i], TOPIC, 2000 + i, 4, 100);
		memset(sm[i].body, 'a' + i, 700);
		sm[i].msg.body_len = 700;
		m[i] = sm[i].msg;
	}
	ok(!err && SEG - end % SEG < 3000,
	   "setup: %llu bytes left in the segment",
	   (unsigned long long)(SEG - end % SEG));
	err = kmq_store_append_batch(s, m, k, ar);
	is_int(err, 0,
	       "batch of %d records (about %d bytes) that does not fit in what is left",
	       k, k * 800);
	bad = 0;
	for (i = 1; i < k && !err; i++)
		if (ar[i].phys_offset != ar[i - 1].phys_offset + ar[i - 1].size)
			bad++;
	for (i = 0; i < k && !err; i++)
		bad += check_stored(s, &m[i], &ar[i]);
	is_int(bad, 0, "... stored contiguously");
	ok(!err && ar[0].phys_offset == end - end % SEG + SEG &&
	   check_blank(end),
	   "... at the start of the next segment, after a BLANK");

	/* Atomicity: one bad message, nothing stored. */
	batch_msgs(sm, 8, 3000, 300);
	for (i = 0; i < 8; i++)
		m[i] = sm[i].msg;
	for (q = 0; q < 4; q++)
		before[q] = qmax(s, TOPIC, q);
	before[4] = qmax(s, OTHER, 0);
	kmq_store_stats(s, &st);

	m[3].topic = "NoSuchTopic";
	err = kmq_store_append_batch(s, m, 8, ar);
	is_int(err, -KMQ_ENOTOPIC, "batch with an unknown topic at [3]");
	ok(*kmq_store_errmsg(), "... errmsg: %s", kmq_store_errmsg());
	m[3] = sm[3].msg;

	m[2].queue_id = 4;
	sm[5].msg.body_len = MAXMSG + 1;
	m[5] = sm[5].msg;
	err = kmq_store_append_batch(s, m, 8, ar);
	if (!is_int(err, -KMQ_EBADQUEUE,
		    "bad queue at [2] and oversized body at [5]: the first"))
		diag("  errmsg: %s", kmq_store_errmsg());
	m[2] = sm[2].msg;
	err = kmq_store_append_batch(s, m, 8, ar);
	is_int(err, -KMQ_EMSGSIZE, "oversized body at [5]: -KMQ_EMSGSIZE");
	sm[5].msg.body_len = 10;
	m[5] = sm[5].msg;

	m[7].props = "nonsense";
	m[7].props_len = 8;
	err = kmq_store_append_batch(s, m, 8, ar);
	is_int(err, -KMQ_EBADPROPS, "malformed props at [7]: -KMQ_EBADPROPS");
	m[7] = sm[7].msg;
	m[0].topic = "bad topic";
	err = kmq_store_append_batch(s, m, 8, ar);
	is_int(err, -KMQ_EBADTOPIC, "illegal topic at [0]: -KMQ_EBADTOPIC");
	m[0] = sm[0].msg;

	kmq_store_stats(s, &st2);
	bad = 0;
	for (q = 0; q < 4; q++)
		bad += qmax(s, TOPIC, q) != before[q];
	bad += qmax(s, OTHER, 0) != before[4];
	is_int(bad, 0, "refused batches left every queue alone");
	is_int(st2.write_offset, st.write_offset,
	       "refused batches wrote nothing to the commitlog");
	is_int(st2.appends, st.appends, "refused batches counted no append");

	/* A batch that cannot fit in one segment at all. */
	batch_msgs(sm, 10, 4000, 100);
	for (i = 0; i < 10; i++) {
		sm[i].msg.body_len = MAXMSG;
		m[i] = sm[i].msg;
	}
	err = kmq_store_append_batch(s, m, 10, ar);
	ok(err < 0, "a batch larger than a segment is refused (%d %s)", err,
	   kmq_store_strerror(err));
	kmq_store_stats(s, &st2);
	is_int(st2.write_offset, st.write_offset, "... and nothing stored");

	/* And the store still takes a good batch. */
	batch_msgs(sm, 8, 5000, 300);
	for (i = 0; i < 8; i++)
		m[i] = sm[i].msg;
	err = kmq_store_append_batch(s, m, 8, ar);
	is_int(err, 0, "good batch after the refused ones");
	bad = 0;
	for (i = 0; i < 8 && !err; i++) {
		q = m[i].queue_id;
		if (ar[i].queue_offset != before[q]++)
			bad++;
		bad += check_stored(s, &m[i], &ar[i]);
	}
	is_int(bad, 0, "... continues the queue offsets and reads back");
}

/*
 * refused() - append @m, expect @want, and check nothing was stored.
 */
static void refused(struct kmq_store *s, const struct kmq_msg *m, int want,
		    const char *what)
{
	struct kmq_store_stats a, b;
	struct kmq_append_result ar;
	int err;

	kmq_store_stats(s, &a);
	err = kmq_store_append(s, m, &ar);
	if (!is_int(err, want, "%s: %s", what, kmq_store_strerror(want)))
		diag("  got %s: %s", kmq_store_strerror(err),
		     kmq_store_errmsg());
	kmq_store_stats(s, &b);
	ok(b.write_offset == a.write_offset && b.appends == a.appends &&
	   *kmq_store_errmsg() && *kmq_store_strerror(err),
	   "%s: nothing stored, errmsg \"%s\"", what, kmq_store_errmsg());
}

static void test_errors(struct kmq_store *s)
{
	static char big[MAXMSG + 1];
	static char props[KMQ_PROPS_MAX + 16];
	static const char *const bad_props[] = { "nonsense", "\001v\002",
						 "a\001b\001c\002" };
	char name[200];
	struct kmq_append_result ar;
	struct kmq_msg m;
	int tested = 0;
	uint32_t i;

	kt_msg_init(&m, "Unknown", 0, "x", 1, NULL);
	refused(s, &m, -KMQ_ENOTOPIC, "unknown topic");
	kt_msg_init(&m, TOPIC, 4, "x", 1, NULL);
	refused(s, &m, -KMQ_EBADQUEUE, "queue id == queue count");
	m.queue_id = UINT32_MAX;
	refused(s, &m, -KMQ_EBADQUEUE, "queue id 0xffffffff");
	kt_msg_init(&m, "bad topic!", 0, "x", 1, NULL);
	refused(s, &m, -KMQ_EBADTOPIC, "topic name with ' ' and '!'");
	memset(name, 'a', 128);
	name[128] = '\0';
	kt_msg_init(&m, name, 0, "x", 1, NULL);
	refused(s, &m, -KMQ_EBADTOPIC, "topic name of 128 bytes");
	kt_msg_init(&m, "", 0, "x", 1, NULL);
	refused(s, &m, -KMQ_EBADTOPIC, "empty topic name");

	is_int(kmq_store_topic_create(s, name, 1), -KMQ_EBADTOPIC,
	       "create: 128-byte name refused");
	is_int(kmq_store_topic_create(s, "", 1), -KMQ_EBADTOPIC,
	       "create: empty name refused");
	is_int(kmq_store_topic_create(s, "a/b", 1), -KMQ_EBADTOPIC,
	       "create: '/' refused");
	is_int(kmq_store_topic_create(s, "..", 1), -KMQ_EBADTOPIC,
	       "create: '..' refused");
	is_int(kmq_store_topic_create(s, "t\xc3\xa4", 1), -KMQ_EBADTOPIC,
	       "create: non-ASCII refused");
	name[127] = '\0';
	is_int(kmq_store_topic_create(s, name, 1), 0,
	       "create: 127-byte name accepted");
	kt_msg_init(&m, name, 0, "long topic", 10, NULL);
	is_int(kmq_store_append(s, &m, &ar), 0, "append to it");
	is_int(check_stored(s, &m, &ar), 0, "... reads back (TOPICLEN 127)");

	memset(big, 'b', sizeof(big));
	kt_msg_init(&m, TOPIC, 1, big, MAXMSG + 1, NULL);
	refused(s, &m, -KMQ_EMSGSIZE, "body of max_message_size + 1");
	m.body_len = MAXMSG;
	is_int(kmq_store_append(s, &m, &ar), 0,
	       "body of exactly max_message_size accepted");
	is_int(check_stored(s, &m, &ar), 0, "... and reads back");

	for (i = 0; i < KT_ARRAY_SIZE(bad_props); i++) {
		uint32_t len = (uint32_t)strlen(bad_props[i]);

		if (kmq_props_validate(bad_props[i], len) == 0) {
			diag("format code accepts candidate %u", i);
			continue;
		}
		kt_msg_init(&m, TOPIC, 1, "x", 1, bad_props[i]);
		refused(s, &m, -KMQ_EBADPROPS, "malformed properties");
		tested++;
	}
	ok(tested > 0, "some property strings are malformed per the format");
	/* Well-formed but longer than PROPLEN can say. */
	memcpy(props, "KEYS\001", 5);
	memset(props + 5, 'k', KMQ_PROPS_MAX + 1 - 6);
	props[KMQ_PROPS_MAX] = '\002';
	props[KMQ_PROPS_MAX + 1] = '\0';
	ok(kmq_props_validate(props, KMQ_PROPS_MAX + 1) == 0,
	   "a 32768-byte property string is well formed");
	kt_msg_init(&m, TOPIC, 1, "x", 1, props);
	refused(s, &m, -KMQ_EBADPROPS, "properties of 32768 bytes");

	kt_msg_init(&m, TOPIC, 1, "x", 1, NULL);
	m.topic = NULL;
	ok(kmq_store_append(s, &m, &ar) < 0, "NULL topic refused");
}

static void test_tx_hosts(struct kmq_store *s)
{
	static const char tagprops[] = "TAGS\001\xe6\xa0\x87\xe7\xad\xbe\002";
	struct kmq_append_result ar, pr;
	struct kmq_cq_entry e;
	struct kmq_record r;
	struct kmq_msg m;
	uint64_t max;
	int err;

	max = qmax(s, TOPIC, 1);
	kt_msg_init(&m, TOPIC, 1, "half", 4, "TAGS\001tx\002");
	m.sys_flag = KMQ_SYSFLAG_TX_PREPARED;
	is_int(kmq_store_append(s, &m, &pr), 0, "PREPARED append");
	is_int(pr.queue_offset, 0, "PREPARED: queue offset 0");
	is_int(qmax(s, TOPIC, 1), max, "PREPARED: no consume-queue entry");
	is_int(check_stored(s, &m, &pr), 0, "PREPARED record reads back");

	m.sys_flag = KMQ_SYSFLAG_TX_ROLLBACK;
	m.prepared_tx_offset = pr.phys_offset;
	m.body_len = 0;
	is_int(kmq_store_append(s, &m, &ar), 0, "ROLLBACK append");
	is_int(ar.queue_offset, 0, "ROLLBACK: queue offset 0");
	is_int(qmax(s, TOPIC, 1), max, "ROLLBACK: no consume-queue entry");
	is_int(check_stored(s, &m, &ar), 0, "ROLLBACK record reads back");

	m.sys_flag = KMQ_SYSFLAG_TX_COMMIT;
	m.body_len = 4;
	is_int(kmq_store_append(s, &m, &ar), 0, "COMMIT append");
	is_int(ar.queue_offset, max, "COMMIT: next queue offset");
	is_int(qmax(s, TOPIC, 1), max + 1, "COMMIT: consume-queue entry");
	is_int(check_stored(s, &m, &ar), 0, "COMMIT record and entry");

	/* Born host IPv6: the store sets the SYSFLAG bit. */
	kt_msg_init(&m, TOPIC, 2, "v6", 2, tagprops);
	memset(&m.born_host, 0, sizeof(m.born_host));
	m.born_host.v6 = true;
	m.born_host.addr[0] = 0x20;
	m.born_host.addr[1] = 0x01;
	m.born_host.addr[15] = 0x42;
	m.born_host.port = 61000;
	m.sys_flag = KMQ_SYSFLAG_COMPRESSED | KMQ_SYSFLAG_COMPRESS_ZLIB;
	is_int(kmq_store_append(s, &m, &ar), 0, "append with IPv6 born host");
	is_int(check_stored(s, &m, &ar), 0,
	       "... BORNHOST_V6 set, 20-byte BORNHOST, compression bits kept");
	is_int(ar.size, kmq_record_size(KMQ_MAGIC_V1, KMQ_SYSFLAG_BORNHOST_V6,
					2, strlen(TOPIC), m.props_len),
	       "... size counts the 20-byte host");
	is_int(kt_cq_read(root, TOPIC, 2, ar.queue_offset, CQN, &e), 0,
	       "cq entry of a UTF-8 tag");
	is_int(e.tags_code, kmq_tag_hash("\xe6\xa0\x87\xe7\xad\xbe", 6),
	       "... tags code is the Java hash of the UTF-16 tag");

	/* A lying host bit must not produce a record that decodes wrong. */
	kt_msg_init(&m, TOPIC, 2, "liar", 4, NULL);
	m.sys_flag = KMQ_SYSFLAG_BORNHOST_V6;
	err = kmq_store_append(s, &m, &ar);
	if (err == 0) {
		is_int(check_stored(s, &m, &ar), 0,
		       "BORNHOST_V6 given for an IPv4 host: store fixed it");
	} else {
		ok(err < 0, "BORNHOST_V6 given for an IPv4 host: refused (%d)",
		   err);
	}

	kt_msg_init(&m, TOPIC, 3, "notag", 5, "KEYS\001a\002");
	is_int(kmq_store_append(s, &m, &ar), 0, "append without TAGS");
	is_int(kt_cq_read(root, TOPIC, 3, ar.queue_offset, CQN, &e), 0,
	       "... cq entry");
	is_int(e.tags_code, 0, "... tags code 0");
	kt_msg_init(&m, TOPIC, 3, "noprops", 7, NULL);
	is_int(kmq_store_append(s, &m, &ar), 0, "append without properties");
	is_int(check_stored(s, &m, &ar), 0, "... reads back, PROPLEN 0");
	err = kmq_store_read_at(s, ar.phys_offset, rbuf, sizeof(rbuf));
	ok(err > 0 && !kmq_record_decode(rbuf, err, &r, KMQ_DECODE_CRC) &&
	   r.props_len == 0, "... decodes with no properties");
}

/* Appenders on many threads: every record once, queues in commitlog order. */
struct mt {
	struct kmq_store *s;
	int id;
	int errors;
};

static uint32_t mt_body(int id, int i, char *buf)
{
	int n = snprintf(buf, 400, "t%d:%d:", id, i);
	int pad = (id * 31 + i * 7) % 300;

	memset(buf + n, 'a' + id, pad);
	return (uint32_t)(n + pad);
}

static void *mt_append(void *arg)
{
	struct mt *t = arg;
	struct kmq_append_result ar[3];
	char body[3][400];
	struct kmq_msg m[3];
	int i, j, k;

	for (i = 0; i < MT_PER; i += k) {
		k = (i % 5 == 4 && i + 3 <= MT_PER) ? 3 : 1;
		for (j = 0; j < k; j++) {
			kt_msg_init(&m[j], MTT, (t->id + i + j) % 4, body[j],
				    mt_body(t->id, i + j, body[j]), NULL);
		}
		if (k == 1 ? kmq_store_append(t->s, &m[0], &ar[0]) :
		    kmq_store_append_batch(t->s, m, k, ar))
			t->errors++;
	}
	return NULL;
}

static void test_threads(struct kmq_store *s)
{
	static unsigned char seen[MT_THREADS][MT_PER];
	static unsigned char buf[4096];
	int last[MT_THREADS], errors = 0, bad = 0, total = 0, i, id, idx;
	struct mt t[MT_THREADS];
	pthread_t th[MT_THREADS];
	struct kmq_record r;
	uint64_t min, max, off, prev;
	uint32_t q;
	char tail;

	if (kmq_store_topic_create(s, MTT, 4))
		kmq_tap_bail("topic_create");
	for (i = 0; i < MT_THREADS; i++) {
		t[i] = (struct mt){ .s = s, .id = i };
		if (pthread_create(&th[i], NULL, mt_append, &t[i]))
			kmq_tap_bail("pthread_create");
	}
	for (i = 0; i < MT_THREADS; i++) {
		pthread_join(th[i], NULL);
		errors += t[i].errors;
	}
	is_int(errors, 0, "%d threads appending singles and batches",
	       MT_THREADS);

	for (q = 0; q < 4; q++) {
		kmq_store_queue_offsets(s, MTT, q, &min, &max);
		for (i = 0; i < MT_THREADS; i++)
			last[i] = -1;
		prev = 0;
		for (off = min; off < max; off++) {
			if (kt_read_one(s, MTT, q, off, buf, sizeof(buf), &r,
					NULL) != KMQ_READ_FOUND ||
			    (off > min && r.phys_offset <= prev)) {
				bad++;
				continue;
			}
			prev = r.phys_offset;
			memcpy(buf, r.body, r.body_len < 40 ? r.body_len : 40);
			buf[40] = '\0';
			if (sscanf((char *)buf, "t%d:%d:%c", &id, &idx,
				   &tail) < 2 || id < 0 || id >= MT_THREADS ||
			    idx < 0 || idx >= MT_PER || seen[id][idx]++ ||
			    (uint32_t)(id + idx) % 4 != q || idx <= last[id]) {
				bad++;
				continue;
			}
			last[id] = idx;
			total++;
		}
	}
	is_int(bad, 0,
	       "each queue: consecutive entries, commitlog order, each thread's records in its order");
	is_int(total, MT_THREADS * MT_PER, "every record stored exactly once");
}

static void test_reopen(struct kmq_store **sp)
{
	struct kmq_append_result ar;
	struct kmq_store_stats st;
	struct kmq_msg m;
	uint64_t max;

	kmq_store_stats(*sp, &st);
	max = qmax(*sp, TOPIC, 0);
	kmq_store_close(*sp);
	*sp = kt_open(&cfg);
	is_int(qmax(*sp, TOPIC, 0), max, "reopen: queue max offset kept");
	kt_msg_init(&m, TOPIC, 0, "again", 5, NULL);
	is_int(kmq_store_append(*sp, &m, &ar), 0, "reopen: append");
	is_int(ar.queue_offset, max, "reopen: queue offsets continue");
	ok(ar.phys_offset == st.write_offset ||
	   (ar.phys_offset % SEG == 0 && ar.phys_offset > st.write_offset &&
	    ar.phys_offset - st.write_offset < SEG),
	   "reopen: commitlog continues at the old write offset");
	is_int(check_stored(*sp, &m, &ar), 0, "reopen: record reads back");
}

/* An IPv6 store host, and a record too big for a segment. */
static void test_v6_store(const char *base)
{
	static unsigned char body[100 * 1024];
	char id[KMQ_MSGID_MAX + 1];
	struct kmq_append_result ar;
	struct kmq_store *s;
	struct kmq_msg m;
	int err;

	kt_path(root, "%s/v6", base);
	kt_config(&cfg, root, SEG, 0);
	cfg.max_message_size = 128 * 1024;
	cfg.cq_file_entries = CQN;
	memset(&cfg.store_host, 0, sizeof(cfg.store_host));
	cfg.store_host.v6 = true;
	cfg.store_host.addr[0] = 0xfe;
	cfg.store_host.addr[1] = 0x80;
	cfg.store_host.addr[15] = 1;
	cfg.store_host.port = 10911;
	s = kt_open(&cfg);
	is_int(kmq_store_topic_create(s, TOPIC, 4), 0, "v6 store: topic");
	memset(body, 'z', sizeof(body));
	kt_msg_init(&m, TOPIC, 0, body, sizeof(body), NULL);
	err = kmq_store_append(s, &m, &ar);
	is_int(err, -KMQ_EMSGSIZE,
	       "record larger than a segment: -KMQ_EMSGSIZE");
	m.body_len = 1000;
	is_int(kmq_store_append(s, &m, &ar), 0, "v6 store: append");
	kmq_msgid_encode(id, &cfg.store_host, ar.phys_offset);
	is_int(strlen(ar.msg_id), KMQ_MSGID_LEN_V6, "v6 msg_id 56 characters");
	ok(!strcmp(id, ar.msg_id), "v6 msg_id matches kmq_msgid_encode");
	is_int(check_stored(s, &m, &ar), 0,
	       "STOREHOST_V6 set, 20-byte STOREHOST");
	kmq_store_close(s);
}

int main(void)
{
	char *base = kt_tmpdir("append");
	struct kmq_store *s;

	kt_watchdog(120);
	kt_path(root, "%s/store", base);
	kt_config(&cfg, root, SEG, 0);
	cfg.max_message_size = MAXMSG;
	cfg.cq_file_entries = CQN;
	s = kt_open(&cfg);
	if (kmq_store_topic_create(s, TOPIC, 4) ||
	    kmq_store_topic_create(s, OTHER, 1))
		kmq_tap_bail("topic_create failed");

	test_single(s);
	test_many(s);
	test_batch(s);
	test_errors(s);
	test_tx_hosts(s);
	test_threads(s);
	test_reopen(&s);
	kmq_store_close(s);
	test_v6_store(base);

	kt_rm_rf(base);
	free(base);
	return kmq_tap_done();
}
