// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_store.c - kmq-bench's store mode: a store in one process, no
 * broker and no network, through kmqd's storage interface
 * (kmqd_backend.h): --backend userspace (daemon/store) or kernel (kmq.ko
 * through /dev/kmq), so both run the identical loop.
 *
 * Opens a fresh store, creates a topic, waits until the store has
 * prepared the segments it keeps ahead of the writer (unless --no-wait),
 * and runs two phases:
 *   append  N appender threads call kmqd_st_append() (or, with --batch,
 *           kmqd_st_append_async(), waiting for its completion under
 *           SYNC_FLUSH) for --duration seconds or --count records; each
 *           call's latency is measured around the call.
 *   read    one thread reads every queue back with kmqd_st_read() (32
 *           records a call) and kmqd_st_release(), checks the counts, and
 *           decodes records with kmq_record_decode() and their body CRC
 *           (all, a sample, or none), their queue and offset, and the
 *           body bytes.
 * Between them it times kmqd_st_flush() (what ASYNC_FLUSH left dirty)
 * and after them kmqd_store_close(). With --syscalls the kernel counts
 * the process's system calls in each phase (bench_store_sysc.c). Any
 * failed check makes the exit status 1.
 *
 * A body starts with a 12-byte mark, be32 appender number and be64 its
 * sequence number, followed by a fixed pattern; shorter bodies carry the
 * first bytes of the mark only.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kmq_record.h"
#include "kmqd_backend.h"
#include "kmqd_log.h"

#include "bench.h"
#include "bench_report.h"
#include "bench_store_sysc.h"

#define MARK_LEN		12
#define READ_MAX_MSGS		32
#define READ_MAX_BYTES		(4u << 20)
#define SAMPLE_EVERY		64
#define MAX_APPENDERS		1024
#define MAX_BATCH		4096

enum verify_mode {
	VERIFY_NONE,
	VERIFY_SAMPLE,
	VERIFY_ALL,
};

static const char * const verify_names[] = {
	[VERIFY_NONE] = "none",
	[VERIFY_SAMPLE] = "sample",
	[VERIFY_ALL] = "all",
};

struct opts {
	const char *dir;
	enum kmqd_backend_kind backend;
	const char *topic;
	uint32_t size;
	enum kmq_flush_mode flush;
	uint32_t appenders;
	uint32_t queues;
	bool round_robin;
	uint32_t batch;
	uint32_t lat_every;
	uint64_t duration_s;
	bool duration_set;
	uint64_t count;
	uint64_t segment_size;
	uint32_t ring;
	bool ring_set;
	uint32_t prealloc;
	bool no_wait;
	uint32_t flush_timeout_ms;
	bool flush_timeout_set;
	enum verify_mode verify;
	bool read;
	bool reuse;
	bool rm;
	bool json;
	bool quiet;
	bool syscalls;
};

struct bench;

/*
 * struct appender - one appender thread.
 * @counts: records appended to each queue
 * @next_off: in own-queue mode, the queue offset the next record must get
 * @lock, @cond, @pending, @status: the completion of an asynchronous
 *	append (SYNC_FLUSH batches)
 */
struct appender {
	struct bench *b;
	unsigned int id;
	pthread_t thr;
	uint64_t limit;
	uint64_t seq;
	uint64_t calls;
	uint64_t timeouts;
	uint64_t *counts;
	uint64_t next_off;
	struct kmq_msg *msgs;
	struct kmq_append_result *res;
	unsigned char *bodies;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pending;
	int status;
};

struct bench {
	struct opts o;
	struct kmqd_store *s;
	const char *be_name;
	bool kernel;
	struct bench_worker *workers;
	struct appender *apps;
	pthread_barrier_t go;
	bool own_queue;
	uint64_t *start_off;
	unsigned char *pattern;
	int stop;
	unsigned int live;
	struct bench_failures fails;
	struct bench_sysc sysc;
	bool counting;
	struct bench_sysc_snap app_sc[2];
	struct bench_sysc_snap read_sc[2];
};

#define fail(b, ...)	bench_fail(&(b)->fails, __VA_ARGS__)

static bool stopped(struct bench *b)
{
	return __atomic_load_n(&b->stop, __ATOMIC_RELAXED);
}

/* BORNTIMESTAMP: the coarse clock costs no time stamp counter read. */
static uint64_t now_ms_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const unsigned char *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* The 12-byte mark, cut to the body's size. */
static void put_mark(unsigned char *body, uint32_t size, uint32_t app,
		     uint64_t seq)
{
	unsigned char m[MARK_LEN];

	put_be32(m, app);
	put_be64(m + 4, seq);
	memcpy(body, m, size < MARK_LEN ? size : MARK_LEN);
}

/* Called on the store's flusher thread: wakes the appender. */
static void append_done(void *arg, int status)
{
	struct appender *a = arg;

	pthread_mutex_lock(&a->lock);
	a->status = status;
	a->pending = false;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/*
 * A batch through kmqd_st_append_async(), as kmqd appends a batch send:
 * it returns once the records are stored; under SYNC_FLUSH the appender
 * then waits for the group commit that covers them. Return: as
 * kmqd_st_append().
 */
static int append_batch(struct appender *a, uint32_t n)
{
	int ret;

	a->pending = true;
	ret = kmqd_st_append_async(a->b->s, a->msgs, n, a->res, append_done,
				   a);
	if (ret != KMQ_APPEND_PENDING)
		return ret;
	pthread_mutex_lock(&a->lock);
	while (a->pending)
		pthread_cond_wait(&a->cond, &a->lock);
	ret = a->status;
	pthread_mutex_unlock(&a->lock);
	return ret;
}

static void *appender_main(void *arg)
{
	struct appender *a = arg;
	struct bench *b = a->b;
	const struct opts *o = &b->o;
	struct bench_worker *w = &b->workers[a->id];
	uint64_t done = 0, t0 = 0, t1 = 0, rec_bytes, born;
	uint32_t n, k, q, rr = a->id % o->queues;
	bool timed;
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "append%u", a->id);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&b->go);
	while (!stopped(b) && (!a->limit || done < a->limit)) {
		n = o->batch;
		if (a->limit && a->limit - done < n)
			n = (uint32_t)(a->limit - done);
		born = now_ms_real();
		for (k = 0; k < n; k++) {
			if (o->round_robin) {
				q = rr;
				rr = (rr + 1) % o->queues;
			} else {
				q = a->id % o->queues;
			}
			a->msgs[k].queue_id = q;
			a->msgs[k].born_ts = born;
			put_mark(a->bodies + (size_t)k * o->size, o->size,
				 a->id, a->seq + k);
		}

		timed = a->calls++ % o->lat_every == 0;
		if (timed)
			t0 = bench_now_ns();
		if (o->batch == 1)
			ret = kmqd_st_append(b->s, a->msgs, a->res);
		else
			ret = append_batch(a, n);
		if (timed)
			t1 = bench_now_ns();

		if (ret < 0) {
			fail(b, "appender %u: append of %u records: %s (%s)",
			     a->id, n, kmq_store_strerror(ret),
			     kmqd_st_errmsg());
			__atomic_store_n(&b->stop, 1, __ATOMIC_RELAXED);
			break;
		}
		if (ret == KMQ_APPEND_FLUSH_TIMEOUT)
			a->timeouts++;
		rec_bytes = 0;
		for (k = 0; k < n; k++) {
			q = a->msgs[k].queue_id;
			rec_bytes += a->res[k].size;
			a->counts[q]++;
			if (!b->own_queue)
				continue;
			if (a->res[k].queue_offset != a->next_off)
				fail(b, "appender %u: record %llu: queue offset %llu, not %llu",
				     a->id,
				     (unsigned long long)(a->seq + k),
				     (unsigned long long)a->res[k].queue_offset,
				     (unsigned long long)a->next_off);
			a->next_off = a->res[k].queue_offset + 1;
		}
		a->seq += n;
		done += n;
		if (timed)
			bench_worker_add(w, n, (uint64_t)n * o->size,
					 rec_bytes, t1 - t0);
		else
			bench_worker_count(w, n, (uint64_t)n * o->size,
					   rec_bytes);
	}
	__atomic_fetch_sub(&b->live, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Checks one record of queue @q found at the expected offset @off. */
static void check_record(struct bench *b, const struct kmq_record *r,
			 uint32_t q, uint64_t off)
{
	const struct opts *o = &b->o;
	const unsigned char *body = r->body;
	uint32_t app;
	uint64_t seq;

	if (r->queue_id != q || r->queue_offset != off) {
		fail(b, "queue %u offset %llu: record says queue %u offset %llu",
		     q, (unsigned long long)off, r->queue_id,
		     (unsigned long long)r->queue_offset);
		return;
	}
	if (r->topic_len != strlen(o->topic) ||
	    memcmp(r->topic, o->topic, r->topic_len)) {
		fail(b, "queue %u offset %llu: wrong topic", q,
		     (unsigned long long)off);
		return;
	}
	if (r->body_len != o->size) {
		fail(b, "queue %u offset %llu: body of %u bytes, expected %u",
		     q, (unsigned long long)off, r->body_len, o->size);
		return;
	}
	if (o->size > MARK_LEN &&
	    memcmp(body + MARK_LEN, b->pattern + MARK_LEN,
		   o->size - MARK_LEN)) {
		fail(b, "queue %u offset %llu: body bytes differ", q,
		     (unsigned long long)off);
		return;
	}
	if (o->size < MARK_LEN)
		return;
	app = get_be32(body);
	seq = get_be64(body + 4);
	if (app >= o->appenders)
		fail(b, "queue %u offset %llu: body names appender %u", q,
		     (unsigned long long)off, app);
	else if (b->own_queue && seq != off - b->start_off[q])
		fail(b, "queue %u offset %llu: body has sequence %llu", q,
		     (unsigned long long)off, (unsigned long long)seq);
}

/*
 * Walks the records of one range (they are whole and contiguous), and
 * checks them as --verify says. @idx counts records across calls for the
 * sample. Return: body bytes seen.
 */
static uint64_t check_range(struct bench *b, const struct kmq_range *rg,
			    uint32_t q, uint64_t off, uint64_t *idx,
			    uint64_t *verified)
{
	const unsigned char *p = rg->data;
	uint32_t left = rg->len, c, total;
	struct kmq_record r;
	uint64_t bytes = 0;
	bool full;
	int ret;

	for (c = 0; c < rg->count; c++, off++, (*idx)++) {
		if (left < 4) {
			fail(b, "queue %u offset %llu: range ends early", q,
			     (unsigned long long)off);
			return bytes;
		}
		full = b->o.verify == VERIFY_ALL ||
		       (b->o.verify == VERIFY_SAMPLE &&
			*idx % SAMPLE_EVERY == 0);
		if (!full) {
			total = get_be32(p);
			if (total < 4 || total > left) {
				fail(b, "queue %u offset %llu: TOTALSIZE %u, %u left",
				     q, (unsigned long long)off, total, left);
				return bytes;
			}
			bytes += b->o.size;
		} else {
			ret = kmq_record_decode(p, left, &r, KMQ_DECODE_CRC);
			if (ret) {
				fail(b, "queue %u offset %llu: decode: %s", q,
				     (unsigned long long)off,
				     ret > 0 ? "BLANK filler in a range" :
				     kmq_fmt_strerror(ret));
				return bytes;
			}
			check_record(b, &r, q, off);
			total = r.total_size;
			bytes += r.body_len;
			(*verified)++;
		}
		p += total;
		left -= total;
	}
	if (left)
		fail(b, "queue %u: range of %u records has %u bytes past them",
		     q, rg->count, left);
	return bytes;
}

struct read_stats {
	uint64_t expected;
	uint64_t reclaimed;
	uint64_t verified;
	uint64_t calls;
};

/* The read phase: every queue from its pre-run end to its end now. */
static void read_all(struct bench *b, struct bench_worker *w,
		     struct read_stats *rs)
{
	const struct opts *o = &b->o;
	struct kmq_range rg[READ_MAX_MSGS];
	struct kmq_read_result res;
	struct kmq_read_req req;
	uint64_t off, min, max, t0, t1, bytes, idx = 0;
	uint32_t q, i;
	int ret;

	memset(&req, 0, sizeof(req));
	req.topic = o->topic;
	req.max_msgs = READ_MAX_MSGS;
	req.max_bytes = READ_MAX_BYTES;
	for (q = 0; q < o->queues && !bench_interrupted; q++) {
		ret = kmqd_st_queue_offsets(b->s, o->topic, q, &min, &max);
		if (ret < 0) {
			fail(b, "queue %u: offsets: %s", q,
			     kmq_store_strerror(ret));
			continue;
		}
		off = b->start_off[q];
		rs->expected += max - off;
		if (min > off) {
			rs->reclaimed += min - off;
			off = min;
		}
		req.queue_id = q;
		while (off < max && !bench_interrupted) {
			req.offset = off;
			t0 = bench_now_ns();
			ret = kmqd_st_read(b->s, &req, rg, READ_MAX_MSGS,
					   &res);
			t1 = bench_now_ns();
			rs->calls++;
			if (ret < 0) {
				fail(b, "queue %u offset %llu: read: %s (%s)",
				     q, (unsigned long long)off,
				     kmq_store_strerror(ret),
				     kmqd_st_errmsg());
				break;
			}
			if (res.status == KMQ_READ_OFFSET_TOO_SMALL &&
			    res.min_offset > off) {
				/* The ring reused the segment meanwhile. */
				rs->reclaimed += res.min_offset - off;
				off = res.min_offset;
				continue;
			}
			if (res.status != KMQ_READ_FOUND || !res.count) {
				fail(b, "queue %u offset %llu: status %d, %llu to go",
				     q, (unsigned long long)off, res.status,
				     (unsigned long long)(max - off));
				break;
			}
			bytes = 0;
			for (i = 0; i < res.nranges; i++) {
				bytes += check_range(b, &rg[i], q, off, &idx,
						     &rs->verified);
				off += rg[i].count;
			}
			kmqd_st_release(b->s, rg, res.nranges);
			if (off != res.next_offset) {
				fail(b, "queue %u: ranges end at %llu, next_offset is %llu",
				     q, (unsigned long long)off,
				     (unsigned long long)res.next_offset);
				off = res.next_offset;
			}
			bench_worker_add(w, res.count, bytes, res.bytes,
					 t1 - t0);
		}
	}
}

static int parse_flush(const char *s, enum kmq_flush_mode *m)
{
	if (!strcmp(s, "async") || !strcmp(s, "ASYNC_FLUSH"))
		*m = KMQ_FLUSH_ASYNC;
	else if (!strcmp(s, "sync") || !strcmp(s, "SYNC_FLUSH"))
		*m = KMQ_FLUSH_SYNC;
	else
		return -EINVAL;
	return 0;
}

static int parse_verify(const char *s, enum verify_mode *m)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(verify_names); i++) {
		if (!strcmp(s, verify_names[i])) {
			*m = i;
			return 0;
		}
	}
	return -EINVAL;
}

void bench_store_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench store --dir DIR [options]\n"
		"  Appends to a fresh store in this process, then reads it all back,\n"
		"  through kmqd's storage interface (either backend, the same loop).\n"
		"  MB/s counts body bytes (--size); the record figures count whole\n"
		"  records as stored (TOTALSIZE: body + 91 + topic length + properties).\n"
		"    --dir DIR           store directory (required); must be absent or\n"
		"                        empty unless --reuse\n"
		"    --backend NAME      userspace (default: daemon/store in this\n"
		"                        process) or kernel (kmq.ko through /dev/kmq)\n"
		"    --size BYTES        body size (default 1024)\n"
		"    --flush MODE        async (ASYNC_FLUSH, default) or sync (SYNC_FLUSH)\n"
		"    --appenders N       appender threads (default 1)\n"
		"    --queues N          queues of the topic (default: --appenders);\n"
		"                        appender i appends to queue i %% N\n"
		"    --round-robin       each appender cycles over all queues instead\n"
		"    --batch N           records per call: 1 uses the backend's append,\n"
		"                        more its append_async, waiting for the sync\n"
		"                        under SYNC_FLUSH (default 1; kernel: <= 1024)\n"
		"    --lat-every N       time one append call in N (default 1: all); each\n"
		"                        timed call costs two clock_gettime() calls\n"
		"    --duration SEC      append phase length (default 10, unless --count)\n"
		"    --count N           stop after N records in all (split over the\n"
		"                        appenders); with --duration, whichever comes first\n"
		"    --segment-size SIZE commitlog segment size (default 1G)\n"
		"    --ring N            segments in the ring (default: the store's)\n"
		"    --prealloc N        segments kept prepared ahead of the writer\n"
		"                        (default: the store's)\n"
		"    --no-wait           start appending at once; by default the append\n"
		"                        phase waits until the store has its segments\n"
		"                        prepared (a broker is up before its producers)\n"
		"    --flush-timeout MS  SYNC_FLUSH timeout (default: the store's)\n"
		"    --topic NAME        topic (default BenchTopic)\n"
		"    --verify WHAT       read-back decoding: all (default), sample (1 in %u),\n"
		"                        none (counts and TOTALSIZE walk only); decoded\n"
		"                        records get their body CRC, queue, offset, topic\n"
		"                        and body bytes checked\n"
		"    --no-read           skip the read phase\n"
		"    --reuse             accept a non-empty --dir (an existing store)\n"
		"    --rm                remove the store directory at the end (not with\n"
		"                        --reuse)\n"
		"    --syscalls          count this process's system calls (every\n"
		"                        thread) in each phase with the kernel's\n"
		"                        syscall tracepoints (perf counters; needs\n"
		"                        tracefs and root or perf_event_paranoid <= 1)\n"
		"    --json              summary as one JSON object on stdout\n"
		"    --quiet             no per-second progress lines on stderr\n"
		"  Latency is per call: with --batch N one sample covers N records.\n"
		"  Exit status: 0, 1 if a check failed, 2 for bad arguments or setup.\n",
		SAMPLE_EVERY);
}

enum {
	OPT_DIR = 256,
	OPT_BACKEND,
	OPT_SYSCALLS,
	OPT_SIZE,
	OPT_FLUSH,
	OPT_APPENDERS,
	OPT_QUEUES,
	OPT_RR,
	OPT_BATCH,
	OPT_LAT_EVERY,
	OPT_DURATION,
	OPT_COUNT,
	OPT_SEGMENT,
	OPT_RING,
	OPT_PREALLOC,
	OPT_NO_WAIT,
	OPT_FLUSH_TIMEOUT,
	OPT_TOPIC,
	OPT_VERIFY,
	OPT_NO_READ,
	OPT_REUSE,
	OPT_RM,
	OPT_JSON,
	OPT_QUIET,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "syscalls", no_argument, NULL, OPT_SYSCALLS },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "flush", required_argument, NULL, OPT_FLUSH },
	{ "appenders", required_argument, NULL, OPT_APPENDERS },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "round-robin", no_argument, NULL, OPT_RR },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "lat-every", required_argument, NULL, OPT_LAT_EVERY },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "segment-size", required_argument, NULL, OPT_SEGMENT },
	{ "ring", required_argument, NULL, OPT_RING },
	{ "prealloc", required_argument, NULL, OPT_PREALLOC },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT },
	{ "topic", required_argument, NULL, OPT_TOPIC },
	{ "verify", required_argument, NULL, OPT_VERIFY },
	{ "no-read", no_argument, NULL, OPT_NO_READ },
	{ "reuse", no_argument, NULL, OPT_REUSE },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad_arg(const char *opt, const char *val)
{
	fprintf(stderr, "kmq-bench store: bad value '%s' for --%s\n",
		val, opt);
	return -EINVAL;
}

/* Return: 0, 1 after --help, or -EINVAL. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	const char *name;
	int c, idx;

	memset(o, 0, sizeof(*o));
	o->backend = KMQD_BACKEND_USER;
	o->topic = "BenchTopic";
	o->size = 1024;
	o->flush = KMQ_FLUSH_ASYNC;
	o->appenders = 1;
	o->batch = 1;
	o->lat_every = 1;
	o->duration_s = 10;
	o->segment_size = 1ull << 30;
	o->verify = VERIFY_ALL;
	o->read = true;

	optind = 1;
	for (;;) {
		idx = 0;
		c = getopt_long(argc, argv, "h", long_opts, &idx);
		if (c == -1)
			break;
		name = idx >= 0 && c >= OPT_DIR ? long_opts[idx].name : "?";
		switch (c) {
		case OPT_DIR:
			o->dir = optarg;
			break;
		case OPT_BACKEND:
			if (!strcmp(optarg, "userspace"))
				o->backend = KMQD_BACKEND_USER;
			else if (!strcmp(optarg, "kernel"))
				o->backend = KMQD_BACKEND_KERNEL;
			else
				return bad_arg(name, optarg);
			break;
		case OPT_SYSCALLS:
			o->syscalls = true;
			break;
		case OPT_SIZE:
			if (bench_parse_u32(optarg, true, 64u << 20, &o->size))
				return bad_arg(name, optarg);
			break;
		case OPT_FLUSH:
			if (parse_flush(optarg, &o->flush))
				return bad_arg(name, optarg);
			break;
		case OPT_APPENDERS:
			if (bench_parse_u32(optarg, false, MAX_APPENDERS,
					    &o->appenders) || !o->appenders)
				return bad_arg(name, optarg);
			break;
		case OPT_QUEUES:
			if (bench_parse_u32(optarg, false, 65536, &o->queues) ||
			    !o->queues)
				return bad_arg(name, optarg);
			break;
		case OPT_RR:
			o->round_robin = true;
			break;
		case OPT_BATCH:
			if (bench_parse_u32(optarg, false, MAX_BATCH,
					    &o->batch) || !o->batch)
				return bad_arg(name, optarg);
			break;
		case OPT_LAT_EVERY:
			if (bench_parse_u32(optarg, false, UINT32_MAX,
					    &o->lat_every) || !o->lat_every)
				return bad_arg(name, optarg);
			break;
		case OPT_DURATION:
			if (bench_parse_u64(optarg, false, &o->duration_s) ||
			    !o->duration_s)
				return bad_arg(name, optarg);
			o->duration_set = true;
			break;
		case OPT_COUNT:
			if (bench_parse_u64(optarg, true, &o->count) ||
			    !o->count)
				return bad_arg(name, optarg);
			break;
		case OPT_SEGMENT:
			if (bench_parse_u64(optarg, true, &o->segment_size) ||
			    !o->segment_size)
				return bad_arg(name, optarg);
			break;
		case OPT_RING:
			if (bench_parse_u32(optarg, false, UINT32_MAX,
					    &o->ring))
				return bad_arg(name, optarg);
			o->ring_set = true;
			break;
		case OPT_PREALLOC:
			if (bench_parse_u32(optarg, false, UINT32_MAX,
					    &o->prealloc))
				return bad_arg(name, optarg);
			break;
		case OPT_NO_WAIT:
			o->no_wait = true;
			break;
		case OPT_FLUSH_TIMEOUT:
			if (bench_parse_u32(optarg, false, UINT32_MAX,
					    &o->flush_timeout_ms))
				return bad_arg(name, optarg);
			o->flush_timeout_set = true;
			break;
		case OPT_TOPIC:
			o->topic = optarg;
			break;
		case OPT_VERIFY:
			if (parse_verify(optarg, &o->verify))
				return bad_arg(name, optarg);
			break;
		case OPT_NO_READ:
			o->read = false;
			break;
		case OPT_REUSE:
			o->reuse = true;
			break;
		case OPT_RM:
			o->rm = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case 'h':
		case OPT_HELP:
			bench_store_usage(stdout);
			return 1;
		default:
			fprintf(stderr, "kmq-bench store: see kmq-bench store --help\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kmq-bench store: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!o->dir) {
		fprintf(stderr, "kmq-bench store: --dir is required\n");
		return -EINVAL;
	}
	if (o->rm && o->reuse) {
		fprintf(stderr, "kmq-bench store: --rm and --reuse exclude each other\n");
		return -EINVAL;
	}
	if (!o->queues)
		o->queues = o->appenders;
	if (o->count && !o->duration_set)
		o->duration_s = 0;
	return 0;
}

/* Return: 1 if @dir has entries, 0 if it is empty or absent, or -errno. */
static int dir_has_entries(const char *dir)
{
	struct dirent *de;
	int ret = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		de = readdir(d);
		if (!de)
			break;
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			ret = 1;
			break;
		}
	}
	closedir(d);
	return ret;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	if (type == FTW_DP)
		return rmdir(path) ? -1 : 0;
	return unlink(path) ? -1 : 0;
}

static int setup_appenders(struct bench *b)
{
	const struct opts *o = &b->o;
	struct appender *a;
	uint64_t per, extra;
	unsigned int i;
	uint32_t k;
	size_t blen;

	b->apps = calloc(o->appenders, sizeof(*b->apps));
	if (!b->apps)
		return -ENOMEM;
	per = o->count / o->appenders;
	extra = o->count % o->appenders;
	blen = (size_t)o->batch * o->size;
	for (i = 0; i < o->appenders; i++) {
		a = &b->apps[i];
		a->b = b;
		a->id = i;
		/* calloc'd: the ones not reached are PTHREAD_*_INITIALIZER */
		pthread_mutex_init(&a->lock, NULL);
		pthread_cond_init(&a->cond, NULL);
		a->limit = o->count ? per + (i < extra) : 0;
		a->next_off = b->start_off[i % o->queues];
		a->counts = calloc(o->queues, sizeof(*a->counts));
		a->msgs = calloc(o->batch, sizeof(*a->msgs));
		a->res = calloc(o->batch, sizeof(*a->res));
		a->bodies = malloc(blen ? blen : 1);
		if (!a->counts || !a->msgs || !a->res || !a->bodies)
			return -ENOMEM;
		for (k = 0; k < o->batch; k++) {
			struct kmq_msg *m = &a->msgs[k];

			memcpy(a->bodies + (size_t)k * o->size, b->pattern,
			       o->size);
			m->topic = o->topic;
			m->body = a->bodies + (size_t)k * o->size;
			m->body_len = o->size;
			m->born_host.addr[0] = 127;
			m->born_host.addr[3] = 1;
			m->born_host.port = 40000 + i;
		}
		bench_worker_init(&b->workers[i]);
	}
	return 0;
}

static void free_appenders(struct bench *b)
{
	unsigned int i;

	if (!b->apps)
		return;
	for (i = 0; i < b->o.appenders; i++) {
		free(b->apps[i].counts);
		free(b->apps[i].msgs);
		free(b->apps[i].res);
		free(b->apps[i].bodies);
		pthread_mutex_destroy(&b->apps[i].lock);
		pthread_cond_destroy(&b->apps[i].cond);
	}
	free(b->apps);
}

/* Runs the appenders until --duration, --count, ^C or a failure. */
static int run_appenders(struct bench *b, struct bench_phase *ph)
{
	const struct opts *o = &b->o;
	uint64_t deadline = 0;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	unsigned int i, started;
	int err;

	err = pthread_barrier_init(&b->go, NULL, o->appenders + 1);
	if (err)
		return -err;
	b->live = o->appenders;
	for (started = 0; started < o->appenders; started++) {
		err = pthread_create(&b->apps[started].thr, NULL,
				     appender_main, &b->apps[started]);
		if (err)
			break;
	}
	if (err) {
		/* The barrier would never open: stop here, loudly. */
		fprintf(stderr, "kmq-bench: cannot start appender %u: %s\n",
			started, strerror(err));
		exit(2);
	}
	err = bench_phase_start(ph, "append",
				o->batch > 1 ? "append_batch call" :
				"append call",
				b->workers, o->appenders, o->quiet);
	if (err)
		return err;
	if (o->duration_s)
		deadline = ph->t_start + o->duration_s * 1000000000ull;
	if (b->counting)
		bench_sysc_read(&b->sysc, &b->app_sc[0]);
	pthread_barrier_wait(&b->go);
	while (__atomic_load_n(&b->live, __ATOMIC_ACQUIRE)) {
		if (bench_interrupted || (deadline && bench_now_ns() >= deadline)) {
			__atomic_store_n(&b->stop, 1, __ATOMIC_RELAXED);
			break;
		}
		nanosleep(&nap, NULL);
	}
	for (i = 0; i < o->appenders; i++)
		pthread_join(b->apps[i].thr, NULL);
	if (b->counting)
		bench_sysc_read(&b->sysc, &b->app_sc[1]);
	bench_phase_stop(ph);
	pthread_barrier_destroy(&b->go);
	return 0;
}

/* The page cache's size (Cached: of /proc/meminfo) in KiB, or 0. */
static uint64_t cached_kib(void)
{
	unsigned long long v = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Cached: %llu kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * kmq.ko keeps one segment prepared ahead of the writer, and its worker
 * then reads that segment's pages into the page cache; the store info
 * counts the files, not the pages. Waits until there are two segment
 * files (one in a ring of one), then until the page cache stops growing
 * (under 1 MiB in half a second), 30 s at most. Return: seconds waited.
 */
static double wait_prepared_kernel(struct bench *b,
				   const struct kmq_store_config *cfg)
{
	struct timespec nap = { 0, 500 * 1000 * 1000 };
	uint64_t t0 = bench_now_ns(), last = 0, now_kib;
	struct kmq_store_stats st;
	uint32_t want = 2;

	if (cfg->ring_segments && cfg->ring_segments < want)
		want = cfg->ring_segments;
	while (!bench_interrupted && bench_now_ns() - t0 < 30000000000ull) {
		kmqd_st_stats(b->s, &st);
		now_kib = cached_kib();
		if (!b->o.quiet)
			fprintf(stderr, "preparing %6.1fs  %u of %u files, cache %llu MiB\n",
				(bench_now_ns() - t0) / 1e9, st.segments, want,
				(unsigned long long)(now_kib >> 10));
		if (st.segments >= want && last && now_kib < last + 1024)
			break;
		last = now_kib;
		nanosleep(&nap, NULL);
	}
	return (bench_now_ns() - t0) / 1e9;
}

/*
 * Waits until the store has prepared what it keeps ahead of the writer.
 * The userspace store: prealloc_segments (by default ring - 1, or 1
 * without a ring), within the ring's free slots. Return: seconds waited.
 */
static double wait_prepared(struct bench *b,
			    const struct kmq_store_config *cfg)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	uint64_t t0 = bench_now_ns(), next = t0 + 1000000000ull, now;
	uint64_t changed = t0;
	struct kmq_store_stats st;
	uint32_t want, room, last = 0;

	if (b->kernel)
		return wait_prepared_kernel(b, cfg);
	want = cfg->prealloc_segments;
	if (!want)
		want = cfg->ring_segments ? cfg->ring_segments - 1 : 1;
	for (;;) {
		kmqd_st_stats(b->s, &st);
		room = want;
		if (cfg->ring_segments) {
			room = cfg->ring_segments -
			       (st.segments - st.prepared);
			if (room > want)
				room = want;
		}
		if (st.prepared >= room || bench_interrupted)
			break;
		now = bench_now_ns();
		if (st.prepared != last) {
			last = st.prepared;
			changed = now;
		} else if (now - changed > 30000000000ull) {
			fprintf(stderr, "kmq-bench store: stuck at %u prepared segments\n",
				st.prepared);
			break;
		}
		if (now >= next && !b->o.quiet) {
			fprintf(stderr, "preparing %6.1fs  %u of %u segments prepared\n",
				(now - t0) / 1e9, st.prepared, room);
			next += 1000000000ull;
		}
		nanosleep(&nap, NULL);
	}
	return (bench_now_ns() - t0) / 1e9;
}

/* What the run found besides the phases' own figures. */
struct outcome {
	struct kmq_store_stats st;
	struct read_stats rs;
	uint64_t appended;
	uint64_t calls;
	uint64_t timeouts;
	struct bench_sysc_snap app_sc;
	struct bench_sysc_snap read_sc;
	double open_s;
	double prep_s;
	double flush_s;
	double close_s;
	bool read_done;
};

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static json_t *config_json(const struct opts *o,
			   const struct kmq_store_config *cfg)
{
	json_t *c = json_object();

	jset(c, "dir", json_string(o->dir));
	jset(c, "backend", json_string(o->backend == KMQD_BACKEND_KERNEL ?
				       "kernel" : "userspace"));
	jset(c, "topic", json_string(o->topic));
	jset(c, "body_size", json_integer(o->size));
	jset(c, "flush", json_string(o->flush == KMQ_FLUSH_SYNC ?
				     "SYNC_FLUSH" : "ASYNC_FLUSH"));
	jset(c, "appenders", json_integer(o->appenders));
	jset(c, "queues", json_integer(o->queues));
	jset(c, "round_robin", json_boolean(o->round_robin));
	jset(c, "batch", json_integer(o->batch));
	jset(c, "lat_every", json_integer(o->lat_every));
	jset(c, "duration_s", json_integer(o->duration_s));
	jset(c, "count", json_integer(o->count));
	jset(c, "segment_size", json_integer(cfg->segment_size));
	jset(c, "ring_segments", json_integer(cfg->ring_segments));
	jset(c, "prealloc_segments", json_integer(cfg->prealloc_segments));
	jset(c, "wait_prepared", json_boolean(!o->no_wait));
	jset(c, "verify", json_string(verify_names[o->verify]));
	return c;
}

static void print_json(struct bench *b, const struct kmq_store_config *cfg,
		       const struct bench_phase *aph,
		       const struct bench_phase *rph, const struct outcome *r)
{
	const struct kmq_store_stats *st = &r->st;
	json_t *j = json_object(), *ja, *jr;

	ja = bench_phase_json(aph);
	jset(ja, "flush_timeouts", json_integer(r->timeouts));
	jset(ja, "syncs", json_integer(st->syncs));
	jset(ja, "records_per_sync",
	     json_real(st->syncs ? (double)st->appends / st->syncs : 0));
	jset(ja, "store_appends", json_integer(st->appends));
	jset(ja, "calls", json_integer(r->calls));
	if (b->counting)
		jset(ja, "syscalls", bench_sysc_json(&r->app_sc, r->calls));
	jr = json_null();
	if (r->read_done) {
		jr = bench_phase_json(rph);
		jset(jr, "expected", json_integer(r->rs.expected));
		jset(jr, "reclaimed_by_ring", json_integer(r->rs.reclaimed));
		jset(jr, "decoded", json_integer(r->rs.verified));
		jset(jr, "read_calls", json_integer(r->rs.calls));
		if (b->counting)
			jset(jr, "syscalls",
			     bench_sysc_json(&r->read_sc, r->rs.calls));
	}
	jset(j, "mode", json_string("store"));
	jset(j, "config", config_json(&b->o, cfg));
	jset(j, "open_s", json_real(r->open_s));
	jset(j, "prepare_wait_s", json_real(r->prep_s));
	jset(j, "append", ja);
	jset(j, "flush_s", json_real(r->flush_s));
	jset(j, "read", jr);
	jset(j, "close_s", json_real(r->close_s));
	bench_failures_json(j, &b->fails);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	json_decref(j);
}

static void print_text(struct bench *b, const struct kmq_store_config *cfg,
		       const struct bench_phase *aph,
		       const struct bench_phase *rph, const struct outcome *r)
{
	const struct kmq_store_stats *st = &r->st;
	const struct opts *o = &b->o;

	printf("store (%s backend): %s, %u B bodies (%.0f B records), %s\n",
	       b->be_name,
	       o->flush == KMQ_FLUSH_SYNC ? "SYNC_FLUSH" : "ASYNC_FLUSH",
	       o->size,
	       aph->msgs ? (double)aph->rec_bytes / aph->msgs : 0.0, o->dir);
	printf("  %u appender(s), batch %u, %u queue(s)%s, segment %llu B, ring %u\n",
	       o->appenders, o->batch, o->queues,
	       o->round_robin ? " round-robin" : "",
	       (unsigned long long)cfg->segment_size, cfg->ring_segments);
	printf("open %.3f s, then %.3f s waiting for prepared segments%s\n",
	       r->open_s, r->prep_s, o->no_wait ? " (--no-wait)" : "");
	bench_phase_print(aph, stdout);
	/* kmq.ko does not report its syncs. */
	if (b->kernel)
		printf("  flush timeouts %llu\n",
		       (unsigned long long)r->timeouts);
	else
		printf("  fdatasync rounds %llu (%.1f records each), flush timeouts %llu\n",
		       (unsigned long long)st->syncs,
		       st->syncs ? (double)st->appends / st->syncs : 0.0,
		       (unsigned long long)r->timeouts);
	if (b->counting)
		bench_sysc_print(stdout, "append syscalls",
				 o->batch > 1 ? "append_batch call" :
				 "append call", &r->app_sc, r->calls);
	printf("flush after append: %.3f s\n", r->flush_s);
	if (r->read_done) {
		bench_phase_print(rph, stdout);
		printf("  expected %llu, reclaimed %llu, checked %llu (verify %s)\n",
		       (unsigned long long)r->rs.expected,
		       (unsigned long long)r->rs.reclaimed,
		       (unsigned long long)r->rs.verified,
		       verify_names[o->verify]);
		if (b->counting)
			bench_sysc_print(stdout, "read syscalls", "read call",
					 &r->read_sc, r->rs.calls);
	}
	printf("close: %.3f s\n", r->close_s);
	printf("%s: %llu failure(s)\n", b->fails.count ? "FAILED" : "ok",
	       (unsigned long long)b->fails.count);
}

/* Each queue must have grown by what was appended to it. */
static void check_queues(struct bench *b)
{
	uint64_t want, min, max;
	unsigned int i, q;
	int ret;

	for (q = 0; q < b->o.queues; q++) {
		want = 0;
		for (i = 0; i < b->o.appenders; i++)
			want += b->apps[i].counts[q];
		ret = kmqd_st_queue_offsets(b->s, b->o.topic, q, &min, &max);
		if (ret < 0) {
			fail(b, "queue %u: offsets: %s", q,
			     kmq_store_strerror(ret));
			continue;
		}
		if (max - b->start_off[q] != want)
			fail(b, "queue %u: max offset %llu, expected %llu",
			     q, (unsigned long long)max,
			     (unsigned long long)(b->start_off[q] + want));
	}
}

/* The read phase and its count checks. Return: 0 or -errno. */
static int read_phase(struct bench *b, struct bench_phase *rph,
		      struct bench_worker *rw, struct outcome *r)
{
	int err;

	bench_worker_init(rw);
	err = bench_phase_start(rph, "read", "read call", rw, 1, b->o.quiet);
	if (err)
		return err;
	if (b->counting)
		bench_sysc_read(&b->sysc, &b->read_sc[0]);
	read_all(b, rw, &r->rs);
	if (b->counting)
		bench_sysc_read(&b->sysc, &b->read_sc[1]);
	bench_phase_stop(rph);
	r->read_done = true;
	if (r->rs.expected != r->appended)
		fail(b, "queues grew by %llu records, %llu appended",
		     (unsigned long long)r->rs.expected,
		     (unsigned long long)r->appended);
	if (!bench_interrupted && rph->msgs + r->rs.reclaimed != r->rs.expected)
		fail(b, "read %llu records (+%llu reclaimed), expected %llu",
		     (unsigned long long)rph->msgs,
		     (unsigned long long)r->rs.reclaimed,
		     (unsigned long long)r->rs.expected);
	return 0;
}

/* Open the store, create the topic, note where each queue starts. */
static int open_store(struct bench *b, struct kmq_store_config *cfg)
{
	uint64_t min;
	unsigned int q;
	int ret;

	ret = kmqd_store_open(b->o.backend, cfg, &b->s);
	if (ret < 0) {
		fprintf(stderr, "kmq-bench store: open %s: %s (%s)\n",
			b->o.dir, kmq_store_strerror(ret), kmqd_st_errmsg());
		b->s = NULL;
		return ret;
	}
	b->be_name = b->s->ops->name;
	b->kernel = b->s->ops == &kmqd_backend_kernel;
	ret = kmqd_st_topic_create(b->s, b->o.topic, b->o.queues);
	if (ret < 0) {
		fprintf(stderr, "kmq-bench store: topic %s: %s (%s)\n",
			b->o.topic, kmq_store_strerror(ret),
			kmqd_st_errmsg());
		return ret;
	}
	for (q = 0; q < b->o.queues; q++) {
		ret = kmqd_st_queue_offsets(b->s, b->o.topic, q, &min,
					    &b->start_off[q]);
		if (ret < 0) {
			fprintf(stderr, "kmq-bench store: queue %u: %s\n", q,
				kmq_store_strerror(ret));
			return ret;
		}
	}
	return 0;
}

static void config_from_opts(struct kmq_store_config *cfg,
			     const struct opts *o)
{
	kmq_store_config_init(cfg, o->dir);
	cfg->flags |= KMQ_STORE_CREATE;
	cfg->flush_mode = o->flush;
	cfg->segment_size = o->segment_size;
	if (o->ring_set)
		cfg->ring_segments = o->ring;
	if (o->prealloc)
		cfg->prealloc_segments = o->prealloc;
	if (o->flush_timeout_set)
		cfg->flush_timeout_ms = o->flush_timeout_ms;
	if (o->size > cfg->max_message_size)
		cfg->max_message_size = o->size;
}

/* Return: 0 to go on, or the exit status. */
static int check_dir(const struct opts *o, bool *created)
{
	int ret = dir_has_entries(o->dir);

	if (ret < 0) {
		fprintf(stderr, "kmq-bench store: %s: %s\n", o->dir,
			strerror(-ret));
		return 2;
	}
	if (ret && !o->reuse) {
		fprintf(stderr, "kmq-bench store: %s is not empty (see --reuse)\n",
			o->dir);
		return 2;
	}
	*created = !ret;
	return 0;
}

int bench_store_main(int argc, char **argv)
{
	struct kmq_store_config cfg;
	struct bench_phase aph, rph;
	struct bench_worker *rw = NULL;
	struct outcome r;
	struct bench b;
	bool created = false;
	int ret, status = 2;
	unsigned int i;
	uint64_t t0;

	memset(&b, 0, sizeof(b));
	memset(&r, 0, sizeof(r));
	memset(&rph, 0, sizeof(rph));
	ret = parse_opts(&b.o, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	ret = check_dir(&b.o, &created);
	if (ret)
		return ret;

	bench_catch_signals();
	/* kmqd's backend code logs at info: the backend chosen. */
	kmqd_log_set_level(b.o.quiet ? KMQD_LOG_WARN : KMQD_LOG_INFO);
	/* First, so that every thread of the store and the run inherits. */
	if (b.o.syscalls) {
		pid_t self = 0;

		if (bench_sysc_open(&b.sysc, &self, 1))
			return 2;
		b.counting = true;
	}

	config_from_opts(&cfg, &b.o);
	b.pattern = malloc(b.o.size ? b.o.size : 1);
	b.start_off = calloc(b.o.queues, sizeof(*b.start_off));
	if (posix_memalign((void **)&b.workers, 64,
			   b.o.appenders * sizeof(*b.workers)) ||
	    posix_memalign((void **)&rw, 64, sizeof(*rw)) ||
	    !b.pattern || !b.start_off) {
		fprintf(stderr, "kmq-bench store: out of memory\n");
		goto out_free;
	}
	for (i = 0; i < b.o.size; i++)
		b.pattern[i] = (unsigned char)(i * 131 + 17);

	t0 = bench_now_ns();
	ret = open_store(&b, &cfg);
	r.open_s = (bench_now_ns() - t0) / 1e9;
	if (ret < 0)
		goto out_close;
	if (!b.o.quiet)
		fprintf(stderr, "store %s opened in %.3f s: %s, segment %llu B, ring %u\n",
			b.o.dir, r.open_s,
			b.o.flush == KMQ_FLUSH_SYNC ? "SYNC_FLUSH" :
			"ASYNC_FLUSH",
			(unsigned long long)cfg.segment_size,
			cfg.ring_segments);
	b.own_queue = !b.o.round_robin && b.o.queues >= b.o.appenders;
	if (!b.o.no_wait)
		r.prep_s = wait_prepared(&b, &cfg);

	ret = setup_appenders(&b);
	if (!ret)
		ret = run_appenders(&b, &aph);
	if (ret) {
		fprintf(stderr, "kmq-bench store: %s\n", strerror(-ret));
		goto out_close;
	}
	status = 0;
	for (i = 0; i < b.o.appenders; i++) {
		r.appended += b.apps[i].seq;
		r.calls += b.apps[i].calls;
		r.timeouts += b.apps[i].timeouts;
	}
	if (b.counting)
		bench_sysc_diff(&b.sysc, &b.app_sc[0], &b.app_sc[1],
				&r.app_sc);
	kmqd_st_stats(b.s, &r.st);
	if (!b.o.quiet)
		fprintf(stderr, "flushing...\n");
	t0 = bench_now_ns();
	ret = kmqd_st_flush(b.s);
	r.flush_s = (bench_now_ns() - t0) / 1e9;
	if (ret < 0)
		fail(&b, "flush: %s (%s)", kmq_store_strerror(ret),
		     kmqd_st_errmsg());
	check_queues(&b);

	if (b.o.read && !bench_interrupted) {
		ret = read_phase(&b, &rph, rw, &r);
		if (b.counting && r.read_done)
			bench_sysc_diff(&b.sysc, &b.read_sc[0], &b.read_sc[1],
					&r.read_sc);
		if (ret) {
			fprintf(stderr, "kmq-bench store: %s\n",
				strerror(-ret));
			status = 2;
		}
	}

out_close:
	if (b.s) {
		t0 = bench_now_ns();
		kmqd_store_close(b.s);
		r.close_s = (bench_now_ns() - t0) / 1e9;
	}
	if (!status) {
		if (bench_interrupted)
			fail(&b, "interrupted");
		if (b.o.json)
			print_json(&b, &cfg, &aph, &rph, &r);
		else
			print_text(&b, &cfg, &aph, &rph, &r);
		status = b.fails.count ? 1 : 0;
		bench_phase_free(&aph);
		if (r.read_done)
			bench_phase_free(&rph);
	}

out_free:
	if (b.o.rm && created &&
	    nftw(b.o.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS)) {
		fprintf(stderr, "kmq-bench store: removing %s: %s\n",
			b.o.dir, strerror(errno));
		if (!status)
			status = 1;
	}
	free_appenders(&b);
	free(b.workers);
	free(rw);
	free(b.pattern);
	free(b.start_off);
	bench_sysc_close(&b.sysc);
	return status;
}
