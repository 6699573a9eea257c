// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_store_crash.c - SIGKILL at random moments. A child opens the store
 * with SYNC_FLUSH and appends sequence messages (single or in batches,
 * of varying sizes, many crossing segment boundaries), logging to an
 * O_APPEND file each sequence number before it appends ("intent") and
 * after the append returned 0 ("ack"). The parent kills it after a
 * random delay (up to 250 ms), many times; after a reopen (recovery) every acknowledged
 * record must read back intact, the store must hold exactly a prefix of
 * the sequence, nothing past what was intended, and nothing readable
 * past the recovered end. Some lives are not checked by the parent, so
 * the next child recovers a crashed store itself (and may be killed
 * while it does).
 *
 * CRASH_ITERS raises the number of lives (default 30, bounded to about
 * 45 s unless CRASH_ITERS is given); CRASH_SEED replays a run.
 */
#include "store_test_util.h"

#define SEG		KT_SEG_SMALL
#define RING		256
#define TOPIC		"CrashT"	/* 2 queues */
#define BODY		4000
#define MAXBATCH	4
#define PER_LIFE	400
#define ACK		1ull

static char root[KT_PATH_MAX];
static char acklog[KT_PATH_MAX];

static void config(struct kmq_store_config *cfg)
{
	kt_config(cfg, root, SEG, RING);
	cfg->flush_mode = KMQ_FLUSH_SYNC;
}

static void log_seqs(int fd, uint64_t first, int n, uint64_t bit)
{
	uint64_t v[MAXBATCH];
	int i;

	for (i = 0; i < n; i++)
		v[i] = (first + i) << 1 | bit;
	if (write(fd, v, sizeof(v[0]) * n) != (ssize_t)(sizeof(v[0]) * n))
		_exit(20);
}

/* child() - one life: open (maybe recovering), append, wait to die. */
static void child(int life, int logfd, uint64_t seed)
{
	static struct kt_seqmsg sm[MAXBATCH];
	struct kmq_append_result ar[MAXBATCH];
	struct kmq_store_config cfg;
	struct kmq_msg m[MAXBATCH];
	struct kmq_store *s = NULL;
	uint64_t min, max0, max1, seq, rnd = seed;
	int i, k, n, err;

	config(&cfg);
	cfg.flags = 0;
	if (kmq_store_open(&cfg, &s))
		_exit(10);
	if (kmq_store_queue_offsets(s, TOPIC, 0, &min, &max0) ||
	    kmq_store_queue_offsets(s, TOPIC, 1, &min, &max1))
		_exit(11);
	seq = max0 + max1;
	for (n = 0; n < PER_LIFE; n += k) {
		rnd = kt_mix64(rnd);
		k = life % 3 == 2 ? 1 + (int)(rnd % MAXBATCH) : 1;
		for (i = 0; i < k; i++) {
			kt_seq_msg(&sm[i], TOPIC, seq + i, 2, BODY);
			m[i] = sm[i].msg;
		}
		log_seqs(logfd, seq, k, 0);
		if (k == 1)
			err = kmq_store_append(s, &m[0], &ar[0]);
		else
			err = kmq_store_append_batch(s, m, k, ar);
		if (err < 0)
			_exit(12);
		if (err == 0)
			log_seqs(logfd, seq, k, ACK);
		seq += k;
	}
	for (;;)
		pause();
}

/**
 * struct acks - what the log says.
 * @intended: one past the highest sequence number ever intended
 * @acked: one past the highest acknowledged (0: none)
 * @nacks: acknowledgements
 */
struct acks {
	uint64_t intended;
	uint64_t acked;
	uint64_t nacks;
};

static int read_log(struct acks *a)
{
	size_t len = 0, i;
	uint64_t *v = (uint64_t *)kt_read_file(acklog, &len);
	int bad = 0;

	memset(a, 0, sizeof(*a));
	if (!v)
		return 1;
	for (i = 0; i < len / sizeof(*v); i++) {
		uint64_t seq = v[i] >> 1;

		if (v[i] & ACK) {
			if (seq >= a->intended)
				bad++;	/* acked without intent */
			if (seq + 1 > a->acked)
				a->acked = seq + 1;
			a->nacks++;
		} else if (seq + 1 > a->intended) {
			a->intended = seq + 1;
		}
	}
	free(v);
	return bad;
}

/*
 * verify() - reopen and check the store against the log.
 * Return: problems found (each with diag lines).
 */
static int verify(int life, uint64_t *total, uint64_t *reclaimed)
{
	struct kmq_store_config cfg;
	struct kmq_store_stats st;
	struct kmq_store *s = NULL;
	uint64_t min[2], max[2], n, last;
	unsigned char buf[64];
	struct acks a;
	int bad = 0, err;

	if (read_log(&a)) {
		diag("life %d: the log is inconsistent", life);
		bad++;
	}
	config(&cfg);
	cfg.flags = 0;
	err = kmq_store_open(&cfg, &s);
	if (err) {
		diag("life %d: open failed: %d %s: %s", life, err,
		     kmq_store_strerror(err), kmq_store_errmsg());
		return bad + 1;
	}
	if (kmq_store_queue_offsets(s, TOPIC, 0, &min[0], &max[0]) ||
	    kmq_store_queue_offsets(s, TOPIC, 1, &min[1], &max[1])) {
		kmq_store_close(s);
		return bad + 1;
	}
	n = max[0] + max[1];
	*total = n;
	if (n < a.acked) {
		diag("life %d: %llu records, but %llu were acknowledged",
		     life, (unsigned long long)n,
		     (unsigned long long)a.acked);
		bad++;
	}
	if (n > a.intended) {
		diag("life %d: %llu records, only %llu ever appended",
		     life, (unsigned long long)n,
		     (unsigned long long)a.intended);
		bad++;
	}
	bad += kt_verify_seq_prefix(s, TOPIC, 2, n, BODY);

	/* Acknowledged records may only be missing if the ring took them. */
	if (a.acked) {
		last = a.acked - 1;
		if (last / 2 < min[last % 2]) {
			diag("life %d: last acknowledged record %llu was reclaimed",
			     life, (unsigned long long)last);
			bad++;
		}
	}
	*reclaimed = min[0] + min[1];

	kmq_store_stats(s, &st);
	if (kmq_store_read_at(s, st.write_offset, buf, sizeof(buf)) !=
	    -ERANGE) {
		diag("life %d: something readable at the write offset", life);
		bad++;
	}
	bad += kt_walk_commitlog(root, SEG, st.min_offset, st.write_offset);
	kmq_store_close(s);
	return bad;
}

int main(void)
{
	struct kmq_store_config cfg;
	struct kmq_store *s;
	const char *env;
	char *tmp = kt_tmpdir("crash");
	uint64_t seed, rnd, total = 0, reclaimed = 0;
	int iters = 30, limit_time = 1, life, bad = 0, checked = 0;
	int killed = 0, status, logfd, lbad, unchecked = 0;
	double t0 = kt_mono_ms(), delay;
	struct acks a;
	pid_t pid;

	env = getenv("CRASH_ITERS");
	if (env && atoi(env) > 0) {
		iters = atoi(env);
		limit_time = 0;
	}
	env = getenv("CRASH_SEED");
	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ getpid();
	diag("CRASH_SEED=%llu CRASH_ITERS=%d", (unsigned long long)seed,
	     iters);
	kt_watchdog(limit_time ? 120 : 0);
	rnd = seed;

	kt_path(root, "%s/store", tmp);
	kt_path(acklog, "%s/acks", tmp);
	config(&cfg);
	s = kt_open(&cfg);
	if (kmq_store_topic_create(s, TOPIC, 2))
		kmq_tap_bail("topic_create");
	kmq_store_close(s);
	logfd = open(acklog, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (logfd < 0)
		kmq_tap_bail("cannot create the log");

	for (life = 0; life < iters; life++) {
		if (limit_time && kt_mono_ms() - t0 > 45000) {
			diag("time budget used after %d lives", life);
			break;
		}
		rnd = kt_mix64(rnd);
		/* Mostly mid-append; every fifth life during open. */
		if (life % 5 == 4)
			delay = (double)(rnd % 3000) / 1000.0;
		else
			delay = 3.0 + (double)(rnd % 247000) / 1000.0;

		fflush(stdout);
		pid = fork();
		if (pid < 0)
			kmq_tap_bail("fork");
		if (pid == 0)
			child(life, logfd, rnd);
		usleep((useconds_t)(delay * 1000));
		kill(pid, SIGKILL);
		status = kt_wait_exit(pid);
		if (status == 128 + SIGKILL) {
			killed++;
		} else {
			diag("life %d: child exited with %d", life, status);
			bad++;
		}
		/* Every third life the next child recovers on its own. */
		unchecked = life % 3 == 1;
		if (unchecked)
			continue;
		lbad = verify(life, &total, &reclaimed);
		ok(!lbad, "life %d (killed after %.1f ms): %llu records, all intact",
		   life, delay, (unsigned long long)total);
		bad += lbad;
		checked++;
	}
	if (unchecked) {
		lbad = verify(life, &total, &reclaimed);
		ok(!lbad, "after the last life: %llu records, all intact",
		   (unsigned long long)total);
		bad += lbad;
		checked++;
	}
	close(logfd);
	read_log(&a);
	diag("%d lives, %d killed, %d checks", life, killed, checked);
	diag("%llu records stored, %llu acknowledged, %llu reclaimed by the ring",
	     (unsigned long long)total, (unsigned long long)a.nacks,
	     (unsigned long long)reclaimed);
	is_int(bad, 0,
	       "after every SIGKILL: acknowledged records intact, a prefix stored, nothing past the end");
	ok(a.nacks > 0, "appends were acknowledged");
	is_int(killed, life, "every child was killed by SIGKILL");
	ok(total >= a.acked,
	   "the store holds at least every acknowledged record");
	kt_rm_rf(tmp);
	free(tmp);
	return kmq_tap_done();
}
