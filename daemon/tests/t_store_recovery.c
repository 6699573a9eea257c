// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_store_recovery.c - deterministic crashes. A child process appends
 * and _exit()s without closing (abort left behind); copies of that store
 * are then damaged by hand the ways a crash can damage them (torn tail,
 * missing or dangling consume-queue entries, garbage or stale records
 * past the end, a bad or missing checkpoint) and reopened: every record
 * before the damage reads back intact and nothing after it is visible.
 */
#include "store_test_util.h"

#define SEG		KT_SEG_SMALL
#define TOPIC		"RecT"		/* 2 queues */
#define BODY		1500
#define N		120
#define CKPT_AT		(N / 2)
#define BODY_OFF	88	/* BODY in a record with IPv4 hosts */

static char base[KT_PATH_MAX];
static char crashed[KT_PATH_MAX];	/* the store the child left */
static struct kmq_append_result ar[N + 8];

static void config(struct kmq_store_config *cfg, const char *root)
{
	kt_config(cfg, root, SEG, 0);
	/* Keep the flusher from syncing during the test's short life. */
	cfg->async_interval_ms = 600000;
	cfg->async_full_interval_ms = 600000;
}

static uint64_t end_of(int i)
{
	return ar[i].phys_offset + ar[i].size;
}

/*
 * child_append() - in a child: open @root, append sequence messages
 * @from..@to-1 (after one record of a new topic if @new_topic), write
 * their results to @results, _exit() without close.
 */
static void child_append(const char *root, int from, int to,
			 const char *results, bool new_topic)
{
	static struct kt_seqmsg sm;
	struct kmq_store_config cfg;
	struct kmq_append_result r;
	struct kmq_store *s = NULL;
	struct kmq_msg m;
	int fd = -1, i;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		kmq_tap_bail("fork");
	if (pid) {
		is_int(kt_wait_exit(pid), 0,
		       "child appended %d..%d and exited without closing",
		       from, to - 1);
		return;
	}
	config(&cfg, root);
	if (kmq_store_open(&cfg, &s))
		_exit(1);
	if (results) {
		fd = open(results, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(2);
	}
	if (new_topic) {
		if (kmq_store_topic_create(s, "BornInCrash", 1))
			_exit(5);
		kt_msg_init(&m, "BornInCrash", 0, "x", 1, NULL);
		if (kmq_store_append(s, &m, &r))
			_exit(6);
	}
	for (i = from; i < to; i++) {
		kt_seq_msg(&sm, TOPIC, i, 2, BODY);
		if (kmq_store_append(s, &sm.msg, &r))
			_exit(3);
		if (fd >= 0 && write(fd, &r, sizeof(r)) != sizeof(r))
			_exit(4);
	}
	_exit(0);
}

static void make_crashed(void)
{
	struct kmq_store_config cfg;
	char p[KT_PATH_MAX];
	struct kmq_store *s;
	size_t len = 0;
	char *buf;

	kt_path(crashed, "%s/crashed", base);
	config(&cfg, crashed);
	s = kt_open(&cfg);
	if (kmq_store_topic_create(s, TOPIC, 2))
		kmq_tap_bail("topic_create");
	kmq_store_close(s);

	child_append(crashed, 0, N, kt_path(p, "%s/results", base), true);
	ok(kt_exists(kt_path(p, "%s/abort", crashed)),
	   "the crashed store still has its abort file");
	buf = kt_read_file(kt_path(p, "%s/results", base), &len);
	if (!buf || len != sizeof(ar[0]) * N)
		kmq_tap_bail("child results missing");
	memcpy(ar, buf, len);
	free(buf);
	ok(ar[N - 1].phys_offset >= SEG, "the records span segments");
}

/* scenario() - a fresh copy of the crashed store under @name. */
static char *scenario(char *root, const char *name)
{
	kt_path(root, "%s/%s", base, name);
	if (kt_copy_tree(crashed, root))
		kmq_tap_bail("copy of the crashed store failed");
	return root;
}

/* ckpt_at() - a checkpoint saying everything before record @i is durable. */
static void ckpt_at(const char *root, int i)
{
	if (kt_ckpt_write(root, ar[i].phys_offset, 0,
			  i ? ar[i - 1].store_ts : 0))
		kmq_tap_bail("cannot write the checkpoint");
}

/*
 * reopen_check() - open @root (recovery), expect sequence messages 0..@n-1
 * and a write offset right after record @n-1; append one more record and
 * check it lands there. Returns the open store.
 */
static struct kmq_store *reopen_check(const char *root, int n,
				      const char *what)
{
	static struct kt_seqmsg sm;
	struct kmq_store_config cfg;
	struct kmq_store_stats st;
	struct kmq_append_result r;
	struct kmq_store *s = NULL;
	char p[KT_PATH_MAX];
	uint64_t end;
	int err;

	config(&cfg, root);
	cfg.flags = 0;
	err = kmq_store_open(&cfg, &s);
	if (!is_int(err, 0, "%s: reopen recovers", what)) {
		diag("  %s", kmq_store_errmsg());
		kmq_tap_bail("cannot continue");
	}
	ok(kt_exists(kt_path(p, "%s/abort", root)), "%s: abort while open",
	   what);
	is_int(kt_verify_seq_prefix(s, TOPIC, 2, n, BODY), 0,
	       "%s: records 0..%d intact, nothing after", what, n - 1);
	kmq_store_stats(s, &st);
	end = n ? end_of(n - 1) : 0;
	ok(st.write_offset == end ||
	   (ar[n].phys_offset % SEG == 0 &&
	    st.write_offset == ar[n].phys_offset),
	   "%s: write offset %llu is the end of record %d (%llu)", what,
	   (unsigned long long)st.write_offset, n - 1,
	   (unsigned long long)end);
	is_int(kt_walk_commitlog(root, SEG, st.min_offset, st.write_offset), 0,
	       "%s: the commitlog up to the write offset is all valid", what);
	is_int(kmq_store_read_at(s, st.write_offset, sm.body, 4096), -ERANGE,
	       "%s: nothing readable at the write offset", what);

	kt_seq_msg(&sm, TOPIC, n, 2, BODY);
	err = kmq_store_append(s, &sm.msg, &r);
	ar[n] = r;
	ok(!err && r.queue_offset == (uint64_t)n / 2 &&
	   r.phys_offset >= st.write_offset,
	   "%s: the next append continues the queue", what);
	is_int(kt_verify_seq_prefix(s, TOPIC, 2, n + 1, BODY), 0,
	       "%s: and reads back", what);
	return s;
}

static void close_check(struct kmq_store *s, const char *root,
			const char *what)
{
	char p[KT_PATH_MAX];

	kmq_store_close(s);
	ok(!kt_exists(kt_path(p, "%s/abort", root)),
	   "%s: abort gone after close", what);
}

static void test_plain(void)
{
	char root[KT_PATH_MAX];
	struct kmq_store *s;
	uint64_t min, max;

	scenario(root, "plain");
	s = reopen_check(root, N, "plain crash");
	is_int(kmq_store_topic_queues(s, "BornInCrash"), 1,
	       "plain crash: a topic created before the crash survives");
	ok(!kmq_store_queue_offsets(s, "BornInCrash", 0, &min, &max) &&
	   max == 1, "plain crash: its record is there");
	close_check(s, root, "plain crash");

	/* A clean close then reopen keeps everything. */
	s = reopen_check(root, N + 1, "clean reopen");
	close_check(s, root, "clean reopen");
}

static void test_torn(void)
{
	static unsigned char zero[SEG];
	char root[KT_PATH_MAX];
	struct kmq_store *s;
	unsigned char b;
	uint64_t last = ar[N - 1].phys_offset;
	uint32_t sz = ar[N - 1].size;

	scenario(root, "torn-totalsize");
	ckpt_at(root, CKPT_AT);
	kt_seg_pwrite(root, SEG, last, zero, 4);
	s = reopen_check(root, N - 1, "TOTALSIZE of the last record zero");
	close_check(s, root, "torn TOTALSIZE");

	scenario(root, "torn-half");
	ckpt_at(root, CKPT_AT);
	kt_seg_pwrite(root, SEG, last + sz / 2, zero, sz - sz / 2);
	s = reopen_check(root, N - 1, "second half of the last record zero");
	close_check(s, root, "torn half");

	scenario(root, "torn-crc");
	ckpt_at(root, CKPT_AT);
	kt_seg_pread(root, SEG, last + BODY_OFF, &b, 1);
	b ^= 0x40;
	kt_seg_pwrite(root, SEG, last + BODY_OFF, &b, 1);
	s = reopen_check(root, N - 1, "last record's body CRC wrong");
	close_check(s, root, "torn crc");

	scenario(root, "torn-earlier");
	ckpt_at(root, CKPT_AT);
	kt_seg_pread(root, SEG, ar[N - 2].phys_offset + BODY_OFF, &b, 1);
	b ^= 0x01;
	kt_seg_pwrite(root, SEG, ar[N - 2].phys_offset + BODY_OFF, &b, 1);
	s = reopen_check(root, N - 2, "second-to-last record bad: both gone");
	close_check(s, root, "torn earlier");
}

/* cq_matches() - queue @q's entries all agree with the append results. */
static int cq_matches(const char *root, uint32_t q, int n)
{
	struct kmq_cq_entry e;
	int i, bad = 0;

	for (i = q; i < n; i += 2) {
		if (kt_cq_read(root, TOPIC, q, i / 2, KMQ_CQ_FILE_ENTRIES, &e) ||
		    e.phys_offset != ar[i].phys_offset ||
		    e.size != ar[i].size ||
		    e.tags_code != kmq_tag_hash(kt_seq_tag(i), 4))
			bad++;
	}
	return bad;
}

static void test_cq(void)
{
	static unsigned char zero[KMQ_CQ_ENTRY_SIZE * 16];
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	struct kmq_cq_entry e;
	struct kmq_store *s;
	uint64_t pos;
	int i;

	/* Entries of the last 10 records of queue 0 zeroed (absent). */
	scenario(root, "cq-zeroed");
	ckpt_at(root, CKPT_AT);
	kt_cq_entry_path(p, root, TOPIC, 0, N / 2 - 10, KMQ_CQ_FILE_ENTRIES,
			 &pos);
	kt_pwrite_file(p, pos, zero, 10 * KMQ_CQ_ENTRY_SIZE);
	s = reopen_check(root, N, "10 consume-queue entries zeroed");
	kmq_store_close(s);
	is_int(cq_matches(root, 0, N), 0, "cq-zeroed: the entries are back");

	/* A whole queue directory gone; checkpoint at 0. */
	scenario(root, "cq-deleted");
	kt_ckpt_write(root, 0, 0, 0);
	kt_rm_rf(kt_cq_dir(p, root, TOPIC, 1));
	s = reopen_check(root, N, "consumequeue/RecT/1 deleted");
	kmq_store_close(s);
	is_int(cq_matches(root, 1, N), 0, "cq-deleted: queue 1 rebuilt");

	/* Entries pointing past the end of the commitlog. */
	scenario(root, "cq-dangling");
	ckpt_at(root, CKPT_AT);
	for (i = 0; i < 3; i++) {
		e.phys_offset = end_of(N - 1) + 1000 * i;
		e.size = 300;
		e.tags_code = 0;
		kt_cq_write(root, TOPIC, 0, N / 2 + i, KMQ_CQ_FILE_ENTRIES, &e);
	}
	s = reopen_check(root, N, "3 consume-queue entries past the end");
	close_check(s, root, "cq dangling");
}

static void test_garbage(void)
{
	static unsigned char junk[4096], rec0[4096];
	char root[KT_PATH_MAX];
	struct kmq_store *s;
	uint64_t end = end_of(N - 1);
	size_t len = sizeof(junk);
	uint32_t i;

	if (SEG - end % SEG < len)
		len = SEG - end % SEG;
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)kt_mix64(i);

	scenario(root, "garbage");
	ckpt_at(root, CKPT_AT);
	kt_seg_pwrite(root, SEG, end, junk, len);
	s = reopen_check(root, N, "random bytes after the last record");
	close_check(s, root, "garbage");

	/* A valid record, but not written here: PHYSICALOFFSET says 0. */
	scenario(root, "stale");
	ckpt_at(root, CKPT_AT);
	if (ar[0].size <= len &&
	    !kt_seg_pread(root, SEG, 0, rec0, ar[0].size)) {
		kt_seg_pwrite(root, SEG, end, rec0, ar[0].size);
		s = reopen_check(root, N,
				 "a stale copy of record 0 after the end");
		close_check(s, root, "stale");
	} else {
		ok(0, "setup: room for a copy of record 0");
	}

	/* Garbage after a clean close: the checkpoint is the end. */
	scenario(root, "clean-garbage");
	s = reopen_check(root, N, "before a clean close");
	kmq_store_close(s);
	end = end_of(N);
	len = SEG - end % SEG < sizeof(junk) ? SEG - end % SEG : sizeof(junk);
	kt_seg_pwrite(root, SEG, end, junk, len);
	s = reopen_check(root, N + 1, "garbage after a clean close");
	close_check(s, root, "clean garbage");
}

static void test_checkpoint(void)
{
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	struct kmq_store *s;
	unsigned char b;

	scenario(root, "ckpt-corrupt");
	ckpt_at(root, CKPT_AT);
	kt_pread_file(kt_path(p, "%s/checkpoint", root), 9, &b, 1);
	b ^= 0xff;
	kt_pwrite_file(p, 9, &b, 1);
	s = reopen_check(root, N, "checkpoint CRC wrong: full scan");
	close_check(s, root, "ckpt corrupt");

	scenario(root, "ckpt-missing");
	unlink(kt_path(p, "%s/checkpoint", root));
	s = reopen_check(root, N, "checkpoint missing: full scan");
	close_check(s, root, "ckpt missing");

	/* A torn tail with no usable checkpoint at all. */
	scenario(root, "ckpt-zero-torn");
	kt_write_new_file(kt_path(p, "%s/checkpoint", root),
			  "\0\0\0\0\0\0\0\0", 8);
	b = 0;
	kt_seg_pwrite(root, SEG, ar[N - 1].phys_offset + KMQ_REC_OFF_MAGIC, &b,
		      1);
	s = reopen_check(root, N - 1, "short checkpoint and a torn tail");
	close_check(s, root, "ckpt zero torn");
}

static void test_copy_while_open(void)
{
	static struct kt_seqmsg sm;
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX], copy[KT_PATH_MAX];
	struct kmq_append_result r;
	struct kmq_store *s;
	int i, err = 0;

	kt_path(root, "%s/live", base);
	kt_path(copy, "%s/live-copy", base);
	config(&cfg, root);
	s = kt_open(&cfg);
	kmq_store_topic_create(s, TOPIC, 2);
	for (i = 0; i < 80 && !err; i++) {
		kt_seq_msg(&sm, TOPIC, i, 2, BODY);
		err = kmq_store_append(s, &sm.msg, &r);
		ar[i] = r;
	}
	is_int(err, 0, "open store: 80 appends");
	is_int(kt_copy_tree(root, copy), 0, "copied while open");
	kmq_store_close(s);
	s = reopen_check(copy, 80, "copy of an open store");
	close_check(s, copy, "copy of an open store");
}

/* The child recovers the crashed store, appends 5 more and crashes too. */
static void test_double_crash(void)
{
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX];
	struct kmq_store *s = NULL;
	int err;

	scenario(root, "double");
	child_append(root, N, N + 5, NULL, false);
	config(&cfg, root);
	err = kmq_store_open(&cfg, &s);
	is_int(err, 0, "recovery after two crashes");
	if (err)
		return;
	is_int(kt_verify_seq_prefix(s, TOPIC, 2, N + 5, BODY), 0,
	       "all %d records of both lives intact", N + 5);
	close_check(s, root, "double crash");
}

/* A topic deleted before the crash stays deleted after recovery. */
static void test_deleted_topic(void)
{
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX];
	struct kmq_store *s = NULL;
	pid_t pid;
	int err;

	scenario(root, "deleted-topic");
	kt_ckpt_write(root, 0, 0, 0);
	config(&cfg, root);
	/* Delete it in a child that then crashes. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (kmq_store_open(&cfg, &s) ||
		    kmq_store_topic_delete(s, "BornInCrash"))
			_exit(1);
		_exit(0);
	}
	is_int(kt_wait_exit(pid), 0, "a child deleted a topic and crashed");
	err = kmq_store_open(&cfg, &s);
	is_int(err, 0, "deleted topic: reopen");
	if (err)
		return;
	is_int(kmq_store_topic_queues(s, "BornInCrash"), -KMQ_ENOTOPIC,
	       "a topic deleted before a crash is not brought back by the scan");
	is_int(kt_verify_seq_prefix(s, TOPIC, 2, N, BODY), 0,
	       "deleted topic: the other topic intact");
	kmq_store_close(s);
}

/*
 * A segment missing from the middle of the commitlog: open must refuse
 * (KMQ_ECORRUPT) or give a store in which whatever reads back is right.
 */
static void test_missing_segment(void)
{
	static unsigned char buf[KT_SEQ_BODY_MAX + 1024];
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	struct kmq_read_result res;
	struct kmq_store *s = NULL;
	struct kmq_record rec;
	uint64_t min, max, off;
	int err, bad = 0, st;
	uint32_t q;

	scenario(root, "missing-segment");
	kt_ckpt_write(root, 0, 0, 0);
	unlink(kt_seg_path(p, root, SEG));
	config(&cfg, root);
	err = kmq_store_open(&cfg, &s);
	if (err) {
		is_int(err, -KMQ_ECORRUPT,
		       "middle segment missing: refused with KMQ_ECORRUPT (%s)",
		       kmq_store_errmsg());
		return;
	}
	for (q = 0; q < 2; q++) {
		kmq_store_queue_offsets(s, TOPIC, q, &min, &max);
		diag("queue %u after the gap: [%llu, %llu)", q,
		     (unsigned long long)min, (unsigned long long)max);
		for (off = min; off < max; off++) {
			st = kt_read_one(s, TOPIC, q, off, buf, sizeof(buf),
					 &rec, &res);
			if (st == KMQ_READ_FOUND &&
			    kt_seq_verify(&rec, TOPIC, 2, BODY) !=
			    (int64_t)(off * 2 + q))
				bad++;
			else if (st != KMQ_READ_FOUND &&
				 st != KMQ_READ_OFFSET_TOO_SMALL)
				bad++;
		}
	}
	is_int(bad, 0, "middle segment missing: opened, and what reads back is right");
	kmq_store_close(s);
}

int main(void)
{
	char *tmp = kt_tmpdir("recovery");

	kt_watchdog(120);
	snprintf(base, sizeof(base), "%s", tmp);
	make_crashed();
	test_plain();
	test_torn();
	test_cq();
	test_garbage();
	test_checkpoint();
	test_double_crash();
	test_deleted_topic();
	test_missing_segment();
	test_copy_while_open();
	kt_rm_rf(tmp);
	free(tmp);
	return kmq_tap_done();
}
