// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_kmqd_crash.c - kmqd killed (SIGKILL) under produce load and started
 * again on the same store: every acknowledged message is there, intact
 * and consumable; a consumer group resumes from the offsets it committed;
 * sends go on at the next queue offsets, none reused; a clean stop and
 * start after that keeps it all.
 *
 * Two rounds: ASYNC_FLUSH, and SYNC_FLUSH, where sends are answered by
 * the group commit that kmqd is killed in the middle of.
 *
 * On the kernel backend (inside the VM, kmod/scripts/vm/vmtest-kmqd.sh)
 * kmq.ko keeps the store attached when kmqd dies and the new kmqd binds
 * to it (its log says so); on the userspace store the new kmqd recovers
 * the store from its files. Both must give the clients the same answers.
 *
 * Committed offsets live in kmqd (config/consumerOffset.json, written
 * every 5 s and at shutdown), as in RocketMQ: what a crash may lose are
 * commits newer than the last write, so the test commits, waits for the
 * file to hold them, and only then loads and kills kmqd.
 */
#include <inttypes.h>
#include <signal.h>

#include "kmq_tap.h"
#include "kmqd_test_util.h"

#define TOPIC		"CrashT"
#define GROUP		"GCrash"
#define QUEUES		4
#define PRELOAD		(QUEUES * 60)	/* before the commits */
#define LOAD_CONNS	4
#define LOAD_ACKS	400		/* kill once this many more are acked */
#define LOAD_MAX_MS	20000		/* or after this long */
#define BODY_MAX	3000

static const char *argv0;
static struct kd_server srv;
static struct kd_acks acks = KD_ACKS_INIT;

/* A body of a length and content that depend on (@conn, @seq). */
static uint32_t body_of(char *buf, unsigned int conn, unsigned int seq)
{
	uint32_t len = 16 + (conn * 131 + seq * 37) % (BODY_MAX - 16);
	int n = snprintf(buf, BODY_MAX, "crash %u %u ", conn, seq);
	uint32_t i;

	for (i = n; i < len; i++)
		buf[i] = 'a' + (conn + seq + i) % 26;
	return len;
}

static int send_one(int fd, unsigned int qid, unsigned int conn,
		    unsigned int seq)
{
	char body[BODY_MAX];
	struct kd_msg m = { .topic = TOPIC, .queue_id = qid, .body = body,
			    .max_reconsume_times = -1 };
	struct kd_sent s;
	int ret;

	m.body_len = body_of(body, conn, seq);
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
	if (!ret)
		kd_acks_add(&acks, TOPIC, qid, s.queue_offset, body,
			    m.body_len);
	return ret;
}

/* ---- the load --------------------------------------------------------- */

struct loader {
	pthread_t th;
	unsigned int conn;
	unsigned int sent;		/* answered SUCCESS */
	int last;			/* the code that ended it */
};

static volatile int load_stop;

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	int fd = kd_connect(srv.port);

	l->last = fd < 0 ? fd : 0;
	while (fd >= 0 && !load_stop) {
		l->last = send_one(fd, (l->conn + l->sent) % QUEUES, l->conn,
				   l->sent);
		if (l->last)
			break;
		l->sent++;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static unsigned int acked(void)
{
	unsigned int n;

	pthread_mutex_lock(&acks.lock);
	n = acks.n;
	pthread_mutex_unlock(&acks.lock);
	return n;
}

/* Acknowledged queue offsets per queue: one past the highest. */
static void acked_max(int64_t *max)
{
	unsigned int i;

	for (i = 0; i < QUEUES; i++)
		max[i] = 0;
	for (i = 0; i < acks.n; i++)
		if ((int64_t)acks.v[i].queue_offset + 1 >
		    max[acks.v[i].queue_id])
			max[acks.v[i].queue_id] = acks.v[i].queue_offset + 1;
}

/* ---- consumers -------------------------------------------------------- */

/*
 * consume() - pull queue @qid of GROUP from @from until nothing is new,
 * checking every record is the next offset and intact. Return: records
 * pulled, or -1 on a gap, a bad record or an error (diagnosed).
 */
static int consume(int fd, unsigned int qid, int64_t from, int64_t *next)
{
	struct kd_pull_args a = {
		.group = GROUP, .topic = TOPIC, .queue_id = qid,
		.offset = from, .max_msgs = 32,
	};
	struct kmq_record recs[32];
	struct kd_pulled p;
	int n, i, total = 0, ret;

	for (;;) {
		ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);
		if (ret == KD_PULL_NOT_FOUND ||
		    (ret == KD_PULL_RETRY_IMMEDIATELY && !p.body_len)) {
			kd_pulled_free(&p);
			break;
		}
		if (ret) {
			diag("queue %u: pull at %" PRId64 ": %d %s", qid,
			     a.offset, ret, p.remark);
			kd_pulled_free(&p);
			return -1;
		}
		n = kd_records(p.body, p.body_len, recs, 32);
		for (i = 0; i < n; i++) {
			if (recs[i].queue_offset != (uint64_t)a.offset + i ||
			    recs[i].queue_id != qid ||
			    !kd_rec_topic_is(&recs[i], TOPIC)) {
				diag("queue %u: record %d at %" PRId64 ": q %u off %llu",
				     qid, i, a.offset, recs[i].queue_id,
				     (unsigned long long)recs[i].queue_offset);
				n = -1;
				break;
			}
		}
		kd_pulled_free(&p);
		if (n <= 0) {
			if (n < 0)
				diag("queue %u: bad pull body at %" PRId64 ": %d",
				     qid, a.offset, n);
			return -1;
		}
		total += n;
		a.offset += n;
	}
	*next = a.offset;
	return total;
}

static bool offsets_persisted(void)
{
	char path[PATH_MAX + 32], *text;
	double deadline = kd_mono_ms() + 15000;
	bool found = false;

	snprintf(path, sizeof(path), "%s/config/consumerOffset.json",
		 srv.store);
	while (!found && kd_mono_ms() < deadline) {
		text = kd_read_file(path, NULL);
		found = text && strstr(text, TOPIC "@" GROUP);
		free(text);
		if (!found)
			kd_sleep_ms(100);
	}
	return found;
}

static bool on_kernel_backend(void)
{
	return kd_log_count(&srv, "store backend: kernel") > 0;
}

/* ---- the test --------------------------------------------------------- */

/* One round: @mode names it, @args are kmqd's extra arguments. */
static void crash_round(const char *mode, const char * const *args)
{
	struct loader l[LOAD_CONNS];
	int64_t committed[QUEUES], max[QUEUES], next = -1, v;
	unsigned int i, good, before, resumed;
	double deadline;
	int fd, code, n;

	if (kd_server_init(&srv, argv0, "crash", args))
		kmq_tap_bail("cannot prepare a kmqd store directory");
	if (kd_server_start(&srv)) {
		kd_server_cleanup(&srv);
		kd_give_up("kmqd does not start");
	}
	diag("%s: backend %s", mode,
	     on_kernel_backend() ? "kernel" : "userspace");
	fd = kd_connect(srv.port);
	if (fd < 0 || kd_create_topic(fd, TOPIC, QUEUES)) {
		kd_server_cleanup(&srv);
		kd_give_up("cannot create " TOPIC);
	}

	/* Messages, then a consumer group's commits, durable in the file. */
	for (i = 0, good = 0; i < PRELOAD; i++)
		good += !send_one(fd, i % QUEUES, 99, i);
	is_int(good, PRELOAD,
	       "%s: %u sends before the commits answered SUCCESS", mode,
	       PRELOAD);
	for (i = 0, good = 0; i < QUEUES; i++) {
		committed[i] = 5 + 10 * i;
		good += !kd_offset_commit(fd, GROUP, TOPIC, i, committed[i]);
	}
	is_int(good, QUEUES, "%s: 15 commits %s's offsets on %u queues",
	       mode, GROUP, QUEUES);
	close(fd);
	ok(offsets_persisted(),
	   "%s: kmqd writes the commits to config/consumerOffset.json", mode);

	/* Produce load, and SIGKILL in the middle of it. */
	before = acked();
	load_stop = 0;
	for (i = 0; i < LOAD_CONNS; i++) {
		l[i] = (struct loader){ .conn = i };
		pthread_create(&l[i].th, NULL, loader_main, &l[i]);
	}
	deadline = kd_mono_ms() + LOAD_MAX_MS;
	while (acked() < before + LOAD_ACKS && kd_mono_ms() < deadline)
		kd_sleep_ms(5);
	is_int(kd_server_signal_wait(&srv, SIGKILL, 5000), 128 + SIGKILL,
	       "%s: SIGKILL kmqd while %u connections send", mode, LOAD_CONNS);
	load_stop = 1;
	for (i = 0, good = 0; i < LOAD_CONNS; i++) {
		pthread_join(l[i].th, NULL);
		good += l[i].last != 0;
	}
	diag("%u sends acknowledged under load before the SIGKILL",
	     acked() - before);
	diag("%u of %u connections were cut by the SIGKILL", good,
	     LOAD_CONNS);
	ok(acked() - before >= LOAD_ACKS / 2,
	   "%s: the load was running when kmqd died (%u acked)", mode,
	   acked() - before);
	acked_max(max);

	/* The same store again. */
	if (kd_server_start(&srv)) {
		ok(0, "%s: kmqd starts again on the store after SIGKILL", mode);
		kd_acks_free(&acks);
		kd_server_cleanup(&srv);
		return;
	}
	ok(1, "%s: kmqd starts again on the store after SIGKILL", mode);
	if (on_kernel_backend())
		ok(kd_log_count(&srv, "bound to it") == 1,
		   "%s: kernel backend: the new kmqd bound to the store kmq.ko kept attached",
		   mode);
	else
		ok(1, "# SKIP userspace store: recovered from its files, nothing kept it");
	is_int(kd_acks_verify(srv.port, &acks), 0,
	       "%s: all %u acknowledged messages are there and intact", mode,
	       acks.n);

	fd = kd_connect(srv.port);
	for (i = 0, good = 0, resumed = 0; fd >= 0 && i < QUEUES; i++) {
		v = kd_offset_query(fd, GROUP, TOPIC, i, &code);
		if (code == 0 && v == committed[i])
			resumed++;
		else
			diag("queue %u: 14 answers %d, offset %" PRId64 " (committed %" PRId64 ")",
			     i, code, v, committed[i]);
		n = consume(fd, i, code == 0 ? v : committed[i], &next);
		if (n >= 0 && next >= max[i] &&
		    next == kd_queue_offset(fd, KD_GET_MAX_OFFSET, TOPIC, i))
			good++;
		else
			diag("queue %u: consumed %d up to %" PRId64 ", highest acked %" PRId64,
			     i, n, next, max[i] - 1);
		max[i] = next;
		kd_offset_commit(fd, GROUP, TOPIC, i, next);
	}
	is_int(resumed, QUEUES,
	       "%s: 14: %s resumes from its committed offsets on every queue", mode,
	       GROUP);
	is_int(good, QUEUES,
	       "%s: the group consumes every queue from there to its max offset, no gap, every acked message included",
	       mode);

	/* New sends continue the queues: no offset is given twice. */
	for (i = 0, good = 0; fd >= 0 && i < QUEUES; i++) {
		char body[] = "after the crash";
		struct kd_msg m = { .topic = TOPIC, .queue_id = i, .body = body,
				    .body_len = sizeof(body) - 1,
				    .max_reconsume_times = -1 };
		struct kd_sent s;

		if (!kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s) &&
		    s.queue_offset == max[i]) {
			good++;
			kd_acks_add(&acks, TOPIC, i, s.queue_offset, body,
				    m.body_len);
		} else {
			diag("queue %u: send after restart: %d off %" PRId64 " want %" PRId64,
			     i, s.code, s.queue_offset, max[i]);
		}
	}
	is_int(good, QUEUES,
	       "%s: sends after the restart take the next offset of each queue",
	       mode);
	if (fd >= 0)
		close(fd);

	/* A clean stop and start keeps messages and the new commits. */
	is_int(kd_server_stop(&srv), 0, "%s: SIGTERM: kmqd exits 0", mode);
	if (kd_server_start(&srv)) {
		ok(0, "%s: kmqd starts after the clean stop", mode);
	} else {
		if (on_kernel_backend())
			ok(kd_log_count(&srv, "kmq.ko attached") == 2 &&
			   kd_log_count(&srv, "bound to it") == 1,
			   "%s: kernel backend: the clean stop detached the store; the start attached it again",
			   mode);
		else
			ok(1, "# SKIP userspace store: no attach");
		is_int(kd_acks_verify(srv.port, &acks), 0,
		       "%s: after the clean restart all %u acknowledged messages are intact",
		       mode, acks.n);
		fd = kd_connect(srv.port);
		for (i = 0, good = 0; fd >= 0 && i < QUEUES; i++)
			good += kd_offset_query(fd, GROUP, TOPIC, i, &code) == max[i] &&
				!code;
		is_int(good, QUEUES,
		       "%s: the commits made after the crash survive the clean restart",
		       mode);
		if (fd >= 0)
			close(fd);
		is_int(kd_server_stop(&srv), 0, "%s: SIGTERM: kmqd exits 0 again", mode);
	}
	ok(!kd_log_sanitizer(&srv), "%s: kmqd log: no sanitizer report", mode);
	kd_acks_free(&acks);
	kd_server_cleanup(&srv);
}

int main(int argc, char **argv)
{
	static const char * const async[] = {
		"--mapedFileSizeCommitLog=16777216", "--ioThreads=2", NULL,
	};
	static const char * const sync[] = {
		"--mapedFileSizeCommitLog=16777216", "--ioThreads=2",
		"--flushDiskType=SYNC_FLUSH", NULL,
	};

	signal(SIGPIPE, SIG_IGN);
	(void)argc;
	argv0 = argv[0];
	crash_round("ASYNC_FLUSH", async);
	/* Sends answered by the group commit, killed in the middle of it. */
	crash_round("SYNC_FLUSH", sync);
	return kmq_tap_done();
}
