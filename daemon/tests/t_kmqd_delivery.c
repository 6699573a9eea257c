// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_kmqd_delivery.c - how pulled records leave kmqd: by reference (the
 * default: sendfile() from the segment files on the userspace store,
 * kmq.ko's PULL_PREPARE + PULL_SEND on the kernel backend, where the
 * module's counters must show one prepare and one send per pull whatever
 * its size) or copied (transferMsgByHeap=true). Checks, against real
 * kmqd processes, that
 * the runtime counters (28) show which path moved the bytes, that the
 * bytes are the stored records either way, that a consumer reading
 * slowly still gets whole frames in order (a response queued behind a
 * pull waits for its records), and that a consumer vanishing in the
 * middle of a transfer leaves kmqd serving and clean. A pull whose
 * records lie apart (queues interleaved) goes out as many file ranges of
 * one reply, each sent whole and in order.
 */
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>

#include "kmq_tap.h"
#include "kmqd_test_util.h"

#define TOPIC		"DeliveryT"
#define TOPIC_I		"DeliveryI"	/* two queues, interleaved */
#define NMSGS		256
#define BODY_LEN	7000
/* 64 pulls of 224 KB: more than the sockets of loopback buffer. */
#define SLOW_PULLS	64

static struct kd_server srv;
static const char *argv0;

static void body_of(char *buf, unsigned int i)
{
	unsigned int j;

	for (j = 0; j < BODY_LEN; j++)
		buf[j] = 'a' + (i * 7 + j) % 26;
}

static long long runtime_kv(int fd, const char *key)
{
	json_t *t = kd_runtime_table(fd);
	const char *v = json_string_value(json_object_get(t, key));
	long long r = v ? strtoll(v, NULL, 10) : -1;

	json_decref(t);
	return r;
}

/*
 * The sum of counter @name over the stores kmq.ko has attached
 * (/sys/kernel/kmq/<store>/@name): kmqd's, while a suite runs alone.
 * -1 without kmq.ko.
 */
static long long kmod_counter(const char *name)
{
	char path[512], buf[64];
	long long sum = 0;
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/kmq");
	FILE *f;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/kmq/%s/%s",
			 d->d_name, name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			sum += strtoll(buf, NULL, 10);
		fclose(f);
	}
	closedir(dir);
	return sum;
}

/* kmq.ko's delivery counters, summed over its stores. */
struct kmod_counts {
	long long splice, copy, pulls, sends;
};

static void kmod_counts(struct kmod_counts *k)
{
	k->splice = kmod_counter("splice_bytes");
	k->copy = kmod_counter("copy_bytes");
	k->pulls = kmod_counter("pulls");
	k->sends = kmod_counter("pull_sends");
}

/*
 * On the kernel backend, kmq.ko moved @body bytes of one pull (@by_heap:
 * copied, else by page) in one PULL_PREPARE and one PULL_SEND.
 */
static void check_kmod(const char *mode, const struct kmod_counts *k0,
		       unsigned int body, bool by_heap)
{
	struct kmod_counts k1;

	if (!kd_log_count(&srv, "store backend: kernel"))
		return;
	kmod_counts(&k1);
	is_int(k1.pulls - k0->pulls, 1,
	       "%s: kmq.ko prepared the pull in one PULL_PREPARE", mode);
	/*
	 * One PULL_SEND when the socket takes the frame at once; a large
	 * one full of it takes one more each time it has room again: never
	 * one per record or per page.
	 */
	ok(k1.sends - k0->sends >= 1 &&
	   k1.sends - k0->sends <= 1 + body / 8192,
	   "%s: kmq.ko sent the %u-byte body in %lld PULL_SEND(s) (at most %u)",
	   mode, body, k1.sends - k0->sends, 1 + body / 8192);
	is_int((by_heap ? k1.copy - k0->copy : k1.splice - k0->splice), body,
	       "%s: kmq.ko counted every body byte as %s", mode,
	       by_heap ? "copy_bytes" : "splice_bytes");
	is_int((by_heap ? k1.splice - k0->splice : k1.copy - k0->copy), 0,
	       "%s: and none as %s", mode,
	       by_heap ? "splice_bytes" : "copy_bytes");
}

static int fill(int fd)
{
	char body[BODY_LEN];
	unsigned int i;

	if (kd_create_topic(fd, TOPIC, 1))
		return -1;
	for (i = 0; i < NMSGS; i++) {
		struct kd_msg m = {
			.topic = TOPIC, .queue_id = 0, .body = body,
			.body_len = BODY_LEN, .max_reconsume_times = -1,
		};
		struct kd_sent out;

		body_of(body, i);
		if (kd_send(fd, 310, &m, &out))
			return -1;
	}
	return 0;
}

/* Records of a pull body are the ones sent from @first, intact. */
static bool records_match(const struct kd_pulled *p, unsigned int first,
			  unsigned int *count)
{
	struct kmq_record recs[64];
	char want[BODY_LEN];
	int n, i;

	n = kd_records(p->body, p->body_len, recs, ARRAY_SIZE(recs));
	*count = n > 0 ? n : 0;
	if (n <= 0)
		return false;
	for (i = 0; i < n; i++) {
		body_of(want, first + i);
		if (recs[i].queue_offset != first + i ||
		    recs[i].body_len != BODY_LEN ||
		    memcmp(recs[i].body, want, BODY_LEN))
			return false;
	}
	return true;
}

static void test_counters(const char *mode, bool by_heap)
{
	struct kd_pull_args a = { .topic = TOPIC, .max_msgs = 32 };
	long long sf0, cp0, sf1, cp1;
	struct kmod_counts k0;
	struct kd_pulled p;
	unsigned int n = 0;
	bool matched;
	int fd = kd_connect(srv.port);

	kmod_counts(&k0);
	sf0 = runtime_kv(fd, "kmqPullSendfileBytes");
	cp0 = runtime_kv(fd, "kmqPullCopyBytes");
	ok(sf0 >= 0 && cp0 >= 0, "%s: runtime info has the delivery counters",
	   mode);
	is_int(kd_pull(fd, &a, &p, KD_TIMEOUT_MS), 0, "%s: pull 32 found",
	       mode);
	matched = records_match(&p, 0, &n);
	ok(matched && n == 32, "%s: 32 intact records in offset order (%u)",
	   mode, n);
	sf1 = runtime_kv(fd, "kmqPullSendfileBytes");
	cp1 = runtime_kv(fd, "kmqPullCopyBytes");
	if (by_heap) {
		is_int(cp1 - cp0, p.body_len, "%s: the body was copied", mode);
		is_int(sf1 - sf0, 0, "%s: nothing went by reference", mode);
	} else {
		is_int(sf1 - sf0, p.body_len,
		       "%s: every body byte went by reference", mode);
		is_int(cp1 - cp0, 0, "%s: nothing was copied", mode);
	}
	check_kmod(mode, &k0, p.body_len, by_heap);
	kd_pulled_free(&p);
	close(fd);
}

/*
 * Queues 0 and 1 of TOPIC_I written in turn: a pull of queue 0 has 16
 * records 7000 bytes apart, 16 file ranges in one reply.
 */
static void test_scattered(const char *mode)
{
	struct kd_pull_args a = { .topic = TOPIC_I, .max_msgs = 16 };
	char body[BODY_LEN];
	long long sf0, sf1, cp0, cp1;
	struct kmod_counts k0;
	struct kd_pulled p;
	unsigned int i, n = 0;
	bool matched, sent;
	int fd = kd_connect(srv.port);

	sent = !kd_create_topic(fd, TOPIC_I, 2);
	for (i = 0; sent && i < 32; i++) {
		struct kd_msg m = {
			.topic = TOPIC_I, .queue_id = i % 2, .body = body,
			.body_len = BODY_LEN, .max_reconsume_times = -1,
		};
		struct kd_sent out;

		body_of(body, i / 2);
		sent = !kd_send(fd, 310, &m, &out);
	}
	ok(sent, "%s: 32 messages to queues 0 and 1 in turn", mode);
	kmod_counts(&k0);
	sf0 = runtime_kv(fd, "kmqPullSendfileBytes");
	cp0 = runtime_kv(fd, "kmqPullCopyBytes");
	is_int(kd_pull(fd, &a, &p, KD_TIMEOUT_MS), 0,
	       "%s: pull 16 of queue 0 found", mode);
	matched = records_match(&p, 0, &n);
	ok(matched && n == 16,
	   "%s: 16 scattered records intact, in offset order (%u)", mode, n);
	sf1 = runtime_kv(fd, "kmqPullSendfileBytes");
	cp1 = runtime_kv(fd, "kmqPullCopyBytes");
	ok(sf1 - sf0 == p.body_len && cp1 == cp0,
	   "%s: all %u bytes of the 16 scattered records went by reference",
	   mode, p.body_len);
	check_kmod(mode, &k0, p.body_len, false);
	kd_pulled_free(&p);
	close(fd);
}

/*
 * A consumer sends 64 pulls of 224 KB and then a max-offset query on
 * one connection, and reads only after a pause, so kmqd's socket fills
 * and its sendfile() must wait for room (EAGAIN, then POLLOUT).
 * Every response arrives whole and in order, the query's last.
 */
static void test_slow_reader(void)
{
	struct kmq_rmt_cmd pull[SLOW_PULLS], q;
	struct kd_frame f;
	struct kd_pulled p;
	unsigned int i, n, whole = 0;
	int fd;
	bool sent = true;

	fd = kd_connect(srv.port);
	for (i = 0; i < ARRAY_SIZE(pull); i++) {
		struct kd_pull_args a = { .topic = TOPIC,
					  .offset = i % (NMSGS / 32) * 32,
					  .max_msgs = 32 };

		kd_pull_req(&pull[i], &a);
		sent &= !kd_send_cmd(fd, &pull[i], NULL, 0);
	}
	kd_req(&q, 30, KMQ_RMT_JSON);
	kd_ext(&q, "topic", TOPIC);
	kd_ext(&q, "queueId", "0");
	sent &= !kd_send_cmd(fd, &q, NULL, 0);
	ok(sent, "slow reader: %zu pulls and a query sent back to back",
	   ARRAY_SIZE(pull));
	kd_sleep_ms(500);
	for (i = 0; i < ARRAY_SIZE(pull); i++) {
		memset(&f, 0, sizeof(f));
		if (kd_recv_frame(fd, &f, KD_TIMEOUT_MS) ||
		    f.cmd.opaque != pull[i].opaque)
			break;
		kd_pulled_from(&f, &p);
		n = 0;
		if (p.code == 0 &&
		    records_match(&p, i % (NMSGS / 32) * 32, &n) && n == 32)
			whole++;
		kd_pulled_free(&p);
		kd_frame_free(&f);
	}
	is_int(whole, ARRAY_SIZE(pull),
	       "slow reader: every pull answered in order, 32 whole records each");
	memset(&f, 0, sizeof(f));
	ok(!kd_recv_frame(fd, &f, KD_TIMEOUT_MS) && f.cmd.opaque == q.opaque &&
	   f.cmd.code == 0 && kd_ext_i64(&f, "offset", -1) == NMSGS,
	   "slow reader: then the query's response, intact");
	kd_frame_free(&f);
	for (i = 0; i < ARRAY_SIZE(pull); i++)
		kmq_rmt_cmd_free(&pull[i]);
	kmq_rmt_cmd_free(&q);
	close(fd);
}

/* Consumers that hang up with records still queued. */
static void test_vanishing_reader(void)
{
	struct kd_pull_args a = { .topic = TOPIC, .max_msgs = 32 };
	struct kd_pulled p;
	int i, small = 4096, fd;
	unsigned int n = 0;
	bool matched;

	for (i = 0; i < 20; i++) {
		struct kmq_rmt_cmd pull;
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		fd = kd_connect(srv.port);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		a.offset = (i * 32) % (NMSGS - 32);
		kd_pull_req(&pull, &a);
		kd_send_cmd(fd, &pull, NULL, 0);
		kmq_rmt_cmd_free(&pull);
		kd_sleep_ms(10);
		if (i % 2)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	fd = kd_connect(srv.port);
	a.offset = 64;
	matched = fd >= 0 && kd_pull(fd, &a, &p, KD_TIMEOUT_MS) == 0 &&
		  records_match(&p, 64, &n);
	ok(matched && n == 32,
	   "20 consumers hung up mid-transfer; the next pull is served");
	kd_pulled_free(&p);
	close(fd);
}

static void run(const char *mode, bool by_heap)
{
	static const char * const heap[] = {
		"--mapedFileSizeCommitLog=16777216", "--ioThreads=1",
		"--transferMsgByHeap=true", NULL,
	};
	static const char * const zc[] = {
		"--mapedFileSizeCommitLog=16777216", "--ioThreads=1", NULL,
	};
	int fd;

	if (kd_server_init(&srv, argv0, "delivery", by_heap ? heap : zc))
		kmq_tap_bail("cannot prepare a kmqd store directory");
	if (kd_server_start(&srv)) {
		kd_server_cleanup(&srv);
		kd_give_up("kmqd does not start");
	}
	fd = kd_connect(srv.port);
	ok(fd >= 0 && !fill(fd), "%s: %d messages of %d bytes stored", mode,
	   NMSGS, BODY_LEN);
	close(fd);
	test_counters(mode, by_heap);
	if (!by_heap) {
		test_scattered(mode);
		test_slow_reader();
		test_vanishing_reader();
	}
	ok(kd_server_alive(&srv), "%s: kmqd still running", mode);
	is_int(kd_server_stop(&srv), 0, "%s: kmqd stops cleanly", mode);
	ok(!kd_log_sanitizer(&srv), "%s: no sanitizer report", mode);
	kd_server_cleanup(&srv);
}

/*
 * storeBackend=kernel without kmq.ko: kmqd refuses to start and says why;
 * auto picks the userspace store and logs it.
 */
static void test_backend_choice(void)
{
	static const char * const kern[] = { "--storeBackend=kernel", NULL };
	char cmd[4 * PATH_MAX], *log;
	size_t len;

	if (!access("/dev/kmq", F_OK)) {
		ok(1, "# SKIP /dev/kmq exists here");
		ok(1, "# SKIP /dev/kmq exists here");
		return;
	}
	if (kd_server_init(&srv, argv0, "backend", kern))
		kmq_tap_bail("cannot prepare a kmqd store directory");
	snprintf(cmd, sizeof(cmd),
		 "%s broker --storePathRootDir=%s --listenPort=%u --storeBackend=kernel >%s 2>&1",
		 srv.bin, srv.store, srv.port, srv.log);
	ok(system(cmd) != 0, "storeBackend=kernel without /dev/kmq: kmqd exits with an error");
	log = kd_read_file(srv.log, &len);
	ok(log && strstr(log, "store backend: kernel") && strstr(log, "/dev/kmq"),
	   "... and its log names the backend and /dev/kmq");
	free(log);
	kd_server_cleanup(&srv);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	(void)argc;
	argv0 = argv[0];
	run("sendfile", false);
	run("by heap", true);
	test_backend_choice();
	return kmq_tap_done();
}
