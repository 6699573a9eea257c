// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_store_layout.c - the store directory: RocketMQ's layout and file
 * names, the abort and lock files, the default configuration, topics
 * persisted in config/topics.json, and refusing what is not a store.
 */
#include <jansson.h>
#include <sys/file.h>

#include "store_test_util.h"

#define SEG	KT_SEG_SMALL

struct topic_seen {
	int n;
	char names[8][128];
	uint32_t queues[8];
};

static void collect_topic(void *arg, const char *topic, uint32_t queues)
{
	struct topic_seen *ts = arg;

	if (ts->n < 8) {
		snprintf(ts->names[ts->n], sizeof(ts->names[0]), "%s", topic);
		ts->queues[ts->n] = queues;
	}
	ts->n++;
}

static int topic_index(const struct topic_seen *ts, const char *name)
{
	int i;

	for (i = 0; i < ts->n && i < 8; i++)
		if (!strcmp(ts->names[i], name))
			return i;
	return -1;
}

static void test_defaults(void)
{
	struct kmq_store_config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	kmq_store_config_init(&cfg, "/nonexistent/kmq");
	ok(cfg.root && !strcmp(cfg.root, "/nonexistent/kmq"),
	   "config_init: root");
	is_int(cfg.segment_size, 1ull << 30, "default segment_size 1 GiB");
	is_int(cfg.flush_mode, KMQ_FLUSH_ASYNC, "default flush mode ASYNC");
	is_int(cfg.flush_timeout_ms, 5000, "default flush timeout 5 s");
	is_int(cfg.async_interval_ms, 500, "default async interval 500 ms");
	is_int(cfg.async_min_pages, 4, "default async min pages 4");
	is_int(cfg.async_full_interval_ms, 10000,
	       "default async full interval 10 s");
	is_int(cfg.max_message_size, 4u << 20, "default max message 4 MiB");
	is_int(cfg.cq_file_entries, KMQ_CQ_FILE_ENTRIES,
	       "default consume-queue file entries 300000");
	is_int(cfg.retention_ms, 72ull * 3600 * 1000,
	       "default retention 72 h (fileReservedTime)");
}

/*
 * check_commitlog_names() - every commitlog file has a 20-digit name that
 * is a multiple of the segment size and is exactly segment_size long.
 * Return: the number of files, or -1.
 */
static int check_commitlog_names(const char *root, const char *what)
{
	char dir[KT_PATH_MAX], p[KT_PATH_MAX];
	int n, i, bad = 0;
	char **v;

	n = kt_list_dir(kt_path(dir, "%s/commitlog", root), &v);
	if (n < 0) {
		ok(0, "%s: commitlog/ readable", what);
		return -1;
	}
	for (i = 0; i < n; i++) {
		kt_path(p, "%s/%s", dir, v[i]);
		if (!kt_is_20digit(v[i]) ||
		    strtoull(v[i], NULL, 10) % SEG ||
		    kt_file_size(p) != (long long)SEG) {
			diag("bad commitlog entry %s (%lld bytes)", v[i],
			     kt_file_size(p));
			bad++;
		}
	}
	ok(!bad,
	   "%s: commitlog names are 20 digits, segment aligned, files segment_size long",
	   what);
	kt_free_list(v, n);
	return n;
}

static void test_create_layout(const char *base)
{
	struct kmq_store_config cfg;
	struct kmq_store_stats st;
	struct kmq_append_result ar;
	struct kmq_checkpoint ck;
	struct topic_seen ts;
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	unsigned char block[KMQ_CKPT_FILE_SIZE];
	struct kmq_store *s = NULL;
	struct kmq_msg m;
	double t0;
	int n, err, i;
	pid_t pid;

	kt_path(root, "%s/store", base);
	kt_config(&cfg, root, SEG, 0);

	cfg.flags = 0;
	err = kmq_store_open(&cfg, &s);
	is_int(err, -ENOENT, "open of an absent dir without CREATE: -ENOENT");
	ok(!kt_exists(root), "... and nothing was created");

	cfg.flags = KMQ_STORE_CREATE;
	err = kmq_store_open(&cfg, &s);
	if (!is_int(err, 0, "open with CREATE creates the store"))
		kmq_tap_bail("cannot create a store");

	ok(kt_is_dir(kt_path(p, "%s/commitlog", root)), "commitlog/ exists");
	ok(kt_is_dir(kt_path(p, "%s/consumequeue", root)),
	   "consumequeue/ exists");
	ok(kt_is_dir(kt_path(p, "%s/config", root)), "config/ exists");
	ok(kt_exists(kt_path(p, "%s/abort", root)), "abort exists while open");
	ok(kt_exists(kt_path(p, "%s/lock", root)), "lock exists while open");
	ok(kt_exists(kt_seg_path(p, root, 0)),
	   "first segment 00000000000000000000 exists");

	/* The allocator prepares the next segment ahead, asynchronously. */
	t0 = kt_mono_ms();
	do {
		kmq_store_stats(s, &st);
		n = kt_count_files(kt_path(p, "%s/commitlog", root));
		if (n == 2 && st.segments == 2)
			break;
		kt_sleep_ms(20);
	} while (kt_mono_ms() - t0 < 3000);
	is_int(n, 2, "the next segment is prepared ahead of the writer");
	is_int(st.segments, n, "stats.segments counts the files");
	is_int(st.prepared, 1, "stats.prepared: one segment ahead (no ring)");
	ok(kt_exists(kt_seg_path(p, root, SEG)),
	   "prepared segment is named 00000000000000065536");
	check_commitlog_names(root, "fresh store");
	is_int(st.write_offset, 0, "fresh store: write_offset 0");
	is_int(st.min_offset, 0, "fresh store: min_offset 0");
	is_int(st.appends, 0, "fresh store: no appends");

	/* Topics. */
	is_int(kmq_store_topic_create(s, "LayoutA", 4), 0, "create LayoutA");
	is_int(kmq_store_topic_create(s, "Layout_B-2", 2), 0,
	       "create Layout_B-2");
	is_int(kmq_store_topic_create(s, "%RETRY%group|x", 1), 0,
	       "create %%RETRY%%group|x");
	is_int(kmq_store_topic_create(s, "Gone", 3), 0, "create Gone");
	is_int(kmq_store_topic_queues(s, "LayoutA"), 4, "LayoutA has 4 queues");
	is_int(kmq_store_topic_create(s, "Layout_B-2", 6), 0,
	       "change Layout_B-2 to 6 queues");
	is_int(kmq_store_topic_queues(s, "Layout_B-2"), 6,
	       "Layout_B-2 has 6 queues");
	is_int(kmq_store_topic_queues(s, "Nope"), -KMQ_ENOTOPIC,
	       "unknown topic: -KMQ_ENOTOPIC");
	kt_msg_init(&m, "Gone", 1, "old", 3, NULL);
	is_int(kmq_store_append(s, &m, &ar), 0, "append to Gone/1");
	ok(kt_is_dir(kt_cq_dir(p, root, "Gone", 1)),
	   "consumequeue/Gone/1/ exists");
	is_int(kmq_store_topic_delete(s, "Gone"), 0, "delete Gone");
	ok(!kt_exists(kt_path(p, "%s/consumequeue/Gone", root)),
	   "delete removed consumequeue/Gone/");
	is_int(kmq_store_topic_queues(s, "Gone"), -KMQ_ENOTOPIC,
	       "deleted topic is gone");
	is_int(kmq_store_topic_delete(s, "Gone"), -KMQ_ENOTOPIC,
	       "delete of an unknown topic: -KMQ_ENOTOPIC");
	is_int(kmq_store_topic_create(s, "bad topic", 1), -KMQ_EBADTOPIC,
	       "topic with a space: -KMQ_EBADTOPIC");
	ok(kmq_store_topic_create(s, "Zero", 0) < 0,
	   "topic with 0 queues refused");

	memset(&ts, 0, sizeof(ts));
	is_int(kmq_store_topic_list(s, collect_topic, &ts), 0, "topic_list");
	is_int(ts.n, 3, "three topics listed");
	i = topic_index(&ts, "LayoutA");
	ok(i >= 0 && ts.queues[i] == 4, "LayoutA listed with 4 queues");
	i = topic_index(&ts, "Layout_B-2");
	ok(i >= 0 && ts.queues[i] == 6, "Layout_B-2 listed with 6 queues");
	ok(topic_index(&ts, "%RETRY%group|x") >= 0, "%%RETRY%% topic listed");

	/* Recreated: a new topic, its queues start empty. */
	is_int(kmq_store_topic_create(s, "Gone", 2), 0, "recreate Gone");
	{
		uint64_t min = 9, max = 9;

		ok(!kmq_store_queue_offsets(s, "Gone", 1, &min, &max) &&
		   min == 0 && max == 0, "recreated Gone/1 is empty");
	}
	is_int(kmq_store_topic_delete(s, "Gone"), 0, "delete Gone again");

	/* Fewer queues: the ones above are refused. */
	is_int(kmq_store_topic_create(s, "Layout_B-2", 2), 0,
	       "Layout_B-2 down to 2 queues");
	kt_msg_init(&m, "Layout_B-2", 2, "x", 1, NULL);
	is_int(kmq_store_append(s, &m, &ar), -KMQ_EBADQUEUE,
	       "append to queue 2 of 2: -KMQ_EBADQUEUE");
	is_int(kmq_store_topic_create(s, "Layout_B-2", 6), 0,
	       "Layout_B-2 back to 6 queues");
	kt_msg_init(&m, "Layout_B-2", 5, "x", 1, NULL);
	is_int(kmq_store_append(s, &m, &ar), 0, "append to queue 5 of 6");

	kt_msg_init(&m, "LayoutA", 2, "layout", 6, "TAGS\001t\002");
	err = kmq_store_append(s, &m, &ar);
	is_int(err, 0, "append to LayoutA/2");
	ok(kt_is_dir(kt_cq_dir(p, root, "LayoutA", 2)),
	   "consumequeue/LayoutA/2/ exists");
	ok(kt_exists(kt_path(p, "%s/consumequeue/LayoutA/2/%020d", root, 0)),
	   "consumequeue/LayoutA/2/00000000000000000000 exists");

	/* The lock: a second open from another process fails. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct kmq_store *s2 = NULL;
		struct kmq_store_config c2 = cfg;
		int e;

		c2.flags = 0;
		e = kmq_store_open(&c2, &s2);
		if (e != -KMQ_EBUSY)
			fprintf(stderr, "second open: %d %s\n", e,
				kmq_store_strerror(e));
		_exit(e == -KMQ_EBUSY ? 0 : 1);
	}
	is_int(kt_wait_exit(pid), 0,
	       "second open from another process: -KMQ_EBUSY");
	ok(kt_exists(kt_path(p, "%s/abort", root)),
	   "abort still present after the refused open");
	kt_msg_init(&m, "LayoutA", 2, "after", 5, NULL);
	is_int(kmq_store_append(s, &m, &ar), 0,
	       "store still works after the refused open");
	is_int(ar.queue_offset, 1, "... queue offset 1");

	kmq_store_stats(s, &st);
	kmq_store_close(s);
	s = NULL;

	ok(!kt_exists(kt_path(p, "%s/abort", root)), "abort gone after close");
	is_int(kt_file_size(kt_path(p, "%s/checkpoint", root)),
	       KMQ_CKPT_FILE_SIZE, "checkpoint is one 4096-byte block");
	memset(&ck, 0, sizeof(ck));
	err = kt_pread_file(p, 0, block, sizeof(block));
	err = err ? err : kmq_checkpoint_decode(block, sizeof(block), &ck);
	is_int(err, 0, "checkpoint decodes");
	is_int(ck.flushed, st.write_offset,
	       "checkpoint flushed == write offset at close");
	is_int(ck.min_offset, 0, "checkpoint min_offset 0");
	ok(ck.store_ts >= ar.store_ts - 1 && ck.store_ts <= kt_now_ms(),
	   "checkpoint store_ts is the last record's");

	/* topics.json */
	{
		char *text = kt_read_file(kt_path(p, "%s/config/topics.json",
						  root), NULL);
		json_error_t jerr;
		json_t *j = json_load_file(p, 0, &jerr);

		ok(!!text, "config/topics.json exists");
		ok(!!j, "config/topics.json is JSON");
		ok(text && strstr(text, "\"LayoutA\"") &&
		   strstr(text, "\"Layout_B-2\""),
		   "topics.json names the topics");
		ok(text && !strstr(text, "\"Gone\""),
		   "topics.json forgot the deleted topic");
		json_decref(j);
		free(text);
	}

	/* A closed store can be opened by another process. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct kmq_store *s2 = NULL;
		struct kmq_store_config c2 = cfg;
		int e;

		c2.flags = 0;
		e = kmq_store_open(&c2, &s2);
		if (e)
			_exit(1);
		e = kmq_store_topic_queues(s2, "LayoutA");
		kmq_store_close(s2);
		_exit(e == 4 ? 0 : 2);
	}
	is_int(kt_wait_exit(pid), 0, "after close another process opens it");

	/* Reopen: topics and the record are still there. */
	cfg.flags = 0;
	err = kmq_store_open(&cfg, &s);
	if (!is_int(err, 0, "reopen without CREATE"))
		return;
	is_int(kmq_store_topic_queues(s, "LayoutA"), 4,
	       "reopen: LayoutA has 4 queues");
	is_int(kmq_store_topic_queues(s, "Layout_B-2"), 6,
	       "reopen: Layout_B-2 has 6 queues");
	is_int(kmq_store_topic_queues(s, "%RETRY%group|x"), 1,
	       "reopen: %%RETRY%% topic has 1 queue");
	is_int(kmq_store_topic_queues(s, "Gone"), -KMQ_ENOTOPIC,
	       "reopen: deleted topic stays deleted");
	{
		uint64_t min = 99, max = 99;

		is_int(kmq_store_queue_offsets(s, "LayoutA", 2, &min, &max), 0,
		       "reopen: queue_offsets");
		ok(min == 0 && max == 2, "reopen: LayoutA/2 holds [0, 2)");
	}
	kmq_store_stats(s, &st);
	ok(st.write_offset > 0, "reopen: write offset kept");

	/* The store keeps its geometry: another segment size is refused. */
	{
		struct kmq_store_config c2 = cfg;
		struct kmq_store *s2 = NULL;

		kmq_store_close(s);
		c2.segment_size = 2 * SEG;
		err = kmq_store_open(&c2, &s2);
		ok(err < 0, "reopen with another segment_size refused (%d %s)",
		   err, kmq_store_strerror(err));
		if (!err)
			kmq_store_close(s2);
		s = kt_open(&cfg);
		is_int(kmq_store_topic_queues(s, "LayoutA"), 4,
		       "... and the store is fine with its own");
	}

	/* Fill three segments: the files follow. */
	{
		static unsigned char body[1000];
		uint64_t last = 0;

		memset(body, 'x', sizeof(body));
		kt_msg_init(&m, "LayoutA", 0, body, sizeof(body), NULL);
		err = 0;
		while (!err && last < 2 * SEG + 100) {
			err = kmq_store_append(s, &m, &ar);
			last = ar.phys_offset;
		}
		is_int(err, 0, "appends filling three segments");
		ok(kt_exists(kt_seg_path(p, root, SEG)) &&
		   kt_exists(kt_seg_path(p, root, 2 * SEG)),
		   "segments 65536 and 131072 exist");
		t0 = kt_mono_ms();
		while (!kt_exists(kt_seg_path(p, root, 3 * SEG)) &&
		       kt_mono_ms() - t0 < 3000)
			kt_sleep_ms(20);
		ok(kt_exists(p), "segment 196608 prepared ahead");
		n = check_commitlog_names(root, "after three segments");
		is_int(n, 4, "four segment files");
	}
	kmq_store_close(s);
}

/*
 * wait_files() - poll until commitlog/ holds @want files and the stats
 * agree; return the last count seen.
 */
static int wait_files(struct kmq_store *s, const char *root, int want,
		      struct kmq_store_stats *st)
{
	char p[KT_PATH_MAX];
	double t0 = kt_mono_ms();
	int n;

	do {
		kmq_store_stats(s, st);
		n = kt_count_files(kt_path(p, "%s/commitlog", root));
		if (n == want && (int)st->segments == want)
			break;
		kt_sleep_ms(20);
	} while (kt_mono_ms() - t0 < 3000);
	return n;
}

static void test_prealloc(const char *base)
{
	struct kmq_store_config cfg;
	struct kmq_store_stats st;
	char root[KT_PATH_MAX];
	struct kmq_store *s;
	int n;

	kt_path(root, "%s/ring6", base);
	kt_config(&cfg, root, SEG, 6);
	s = kt_open(&cfg);
	n = wait_files(s, root, 6, &st);
	is_int(n, 6, "ring of 6, default prealloc: the ring is filled");
	is_int(st.prepared, 5, "... 5 prepared ahead of the writer");
	check_commitlog_names(root, "ring of 6");
	kmq_store_close(s);

	kt_path(root, "%s/pre2", base);
	kt_config(&cfg, root, SEG, 0);
	cfg.prealloc_segments = 2;
	s = kt_open(&cfg);
	n = wait_files(s, root, 3, &st);
	is_int(n, 3, "no ring, prealloc_segments 2: three files");
	is_int(st.prepared, 2, "... 2 prepared");
	kmq_store_close(s);
}

/* A damaged topics.json is refused, not silently forgotten. */
static void test_bad_topics(const char *base)
{
	static const char bad[] = "{\"topicConfigTable\": {\"Kept\": {";
	struct kmq_store_config cfg;
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	struct kmq_store *s;
	int err;

	kt_path(root, "%s/badtopics", base);
	kt_config(&cfg, root, SEG, 0);
	s = kt_open(&cfg);
	kmq_store_topic_create(s, "Kept", 2);
	kmq_store_close(s);
	kt_write_new_file(kt_path(p, "%s/config/topics.json", root), bad,
			  strlen(bad));
	s = NULL;
	err = kmq_store_open(&cfg, &s);
	ok(err < 0, "truncated topics.json: open refused (%d %s: %s)", err,
	   kmq_store_strerror(err), kmq_store_errmsg());
	if (!err)
		kmq_store_close(s);
}

static void test_not_a_store(const char *base)
{
	struct kmq_store_config cfg;
	struct kmq_store *s = NULL;
	char root[KT_PATH_MAX], p[KT_PATH_MAX];
	int err;

	/* A regular file. */
	kt_path(root, "%s/plainfile", base);
	kt_write_new_file(root, "hello\n", 6);
	kt_config(&cfg, root, SEG, 0);
	cfg.flags = 0;
	err = kmq_store_open(&cfg, &s);
	ok(err == -ENOTDIR || err == -KMQ_ENOTSTORE,
	   "a regular file: -ENOTDIR or -KMQ_ENOTSTORE (got %d %s)", err,
	   kmq_store_strerror(err));
	cfg.flags = KMQ_STORE_CREATE;
	err = kmq_store_open(&cfg, &s);
	ok(err == -ENOTDIR || err == -KMQ_ENOTSTORE,
	   "a regular file, CREATE: -ENOTDIR or -KMQ_ENOTSTORE (got %d)", err);
	is_int(kt_file_size(root), 6, "... the file is untouched");

	/* A directory with something else in it. */
	kt_path(root, "%s/notastore", base);
	mkdir(root, 0755);
	kt_write_new_file(kt_path(p, "%s/hello.txt", root), "hi\n", 3);
	cfg.root = root;
	cfg.flags = 0;
	err = kmq_store_open(&cfg, &s);
	is_int(err, -KMQ_ENOTSTORE,
	       "non-empty dir without commitlog/: -KMQ_ENOTSTORE");
	ok(*kmq_store_errmsg(), "errmsg says why: %s", kmq_store_errmsg());
	cfg.flags = KMQ_STORE_CREATE;
	err = kmq_store_open(&cfg, &s);
	is_int(err, -KMQ_ENOTSTORE,
	       "non-empty dir without commitlog/, CREATE: -KMQ_ENOTSTORE");
	is_int(kt_count_files(root), 1, "... nothing was added to it");

	/* An empty existing directory: CREATE makes it a store. */
	kt_path(root, "%s/empty", base);
	mkdir(root, 0755);
	cfg.root = root;
	cfg.flags = KMQ_STORE_CREATE;
	err = kmq_store_open(&cfg, &s);
	is_int(err, 0, "an empty directory with CREATE becomes a store");
	if (!err) {
		ok(kt_is_dir(kt_path(p, "%s/commitlog", root)),
		   "... with commitlog/");
		kmq_store_close(s);
	}

	/* Nonsense configuration. */
	kt_path(root, "%s/badcfg", base);
	kt_config(&cfg, root, 0, 0);
	err = kmq_store_open(&cfg, &s);
	ok(err < 0, "segment_size 0 refused (%d %s)", err,
	   kmq_store_strerror(err));
	kt_config(&cfg, root, SEG, 0);
	cfg.root = NULL;
	err = kmq_store_open(&cfg, &s);
	ok(err < 0, "NULL root refused (%d)", err);
}

static void test_strerror(void)
{
	static const int codes[] = {
		KMQ_ENOTSTORE, KMQ_ECORRUPT, KMQ_EBADTOPIC, KMQ_ENOTOPIC,
		KMQ_EBADQUEUE, KMQ_EMSGSIZE, KMQ_EBADPROPS, KMQ_EBUSY,
		KMQ_ECLOSED,
	};
	const char *txt[9];
	int i, j, bad = 0;

	for (i = 0; i < 9; i++) {
		txt[i] = kmq_store_strerror(-codes[i]);
		if (!txt[i] || !*txt[i])
			bad++;
		for (j = 0; j < i && txt[i]; j++)
			if (txt[j] && !strcmp(txt[i], txt[j]))
				bad++;
	}
	ok(!bad, "kmq_store_strerror names each KMQ_E* code distinctly");
	ok(kmq_store_strerror(-ENOENT) && *kmq_store_strerror(-ENOENT),
	   "kmq_store_strerror(-ENOENT) non-empty");
	ok(!!kmq_store_errmsg(), "kmq_store_errmsg non-NULL");
}

int main(void)
{
	char *base = kt_tmpdir("layout");

	kt_watchdog(120);
	test_defaults();
	test_create_layout(base);
	test_prealloc(base);
	test_bad_topics(base);
	test_not_a_store(base);
	test_strerror();
	kt_rm_rf(base);
	free(base);
	return kmq_tap_done();
}
