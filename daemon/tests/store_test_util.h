/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store_test_util.h - helpers shared by the store's TAP suites
 * (daemon/tests/t_store_*.c): temporary directories, small-geometry
 * configurations, deterministic "sequence" messages that can be checked
 * from the record bytes alone, direct access to segment, consume-queue
 * and checkpoint files, and validation of what kmq_store_read() returns.
 *
 * Everything is static inline so each test is a single translation unit.
 */
#ifndef STORE_TEST_UTIL_H
#define STORE_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kmq_checkpoint.h"
#include "kmq_cq.h"
#include "kmq_endian.h"
#include "kmq_msgid.h"
#include "kmq_props.h"
#include "kmq_record.h"
#include "kmq_store.h"
#include "kmq_tap.h"

#define KT_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define KT_KIB		1024u
#define KT_SEG_SMALL	(64u * KT_KIB)
#define KT_PATH_MAX	4096

/* BORNTIMESTAMP of sequence message 0; seq = born_ts - KT_SEQ_BORN_BASE. */
#define KT_SEQ_BORN_BASE	1700000000000ull
#define KT_SEQ_BODY_MAX		(16u * KT_KIB)

/* ---- time ---------------------------------------------------------- */

static inline uint64_t kt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* kt_mono_ms() - monotonic clock in ms, for timeouts and polling. */
static inline double kt_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static inline void kt_sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- files and directories ------------------------------------------ */

/* kt_tmpdir() - a fresh directory under /tmp; bails out on failure. */
static inline char *kt_tmpdir(const char *tag)
{
	char *p;

	if (asprintf(&p, "/tmp/kmq-%s-XXXXXX", tag) < 0)
		kmq_tap_bail("asprintf");
	if (!mkdtemp(p))
		kmq_tap_bail("mkdtemp failed");
	return p;
}

static inline int kt_rm_one(const char *path, const struct stat *st,
			    int type, struct FTW *ftw)
{
	return remove(path) ? -errno : 0;
}

/* kt_rm_rf() - remove @path and everything below it. */
static inline int kt_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	return nftw(path, kt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* kt_path() - snprintf into a KT_PATH_MAX buffer, returning it. */
static inline char *kt_path(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, KT_PATH_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

static inline bool kt_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static inline bool kt_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static inline long long kt_file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return st.st_size;
}

/* kt_is_20digit() - a RocketMQ file name: exactly 20 decimal digits. */
static inline bool kt_is_20digit(const char *name)
{
	int i;

	for (i = 0; i < 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	return name[20] == '\0';
}

/*
 * kt_list_dir() - names in @dir, "." and ".." excluded, sorted; returns
 * the count (or -errno) and a malloc'ed array of malloc'ed names.
 */
static inline int kt_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline int kt_list_dir(const char *dir, char ***out)
{
	struct dirent *de;
	char **v = NULL;
	int n = 0;
	DIR *d;

	*out = NULL;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		v = realloc(v, sizeof(*v) * (n + 1));
		if (!v)
			kmq_tap_bail("realloc");
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), kt_name_cmp);
	*out = v;
	return n;
}

static inline void kt_free_list(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* kt_count_files() - entries in @dir, or -errno. */
static inline int kt_count_files(const char *dir)
{
	char **v;
	int n = kt_list_dir(dir, &v);

	if (n > 0)
		kt_free_list(v, n);
	return n;
}

static inline int kt_pread_file(const char *path, uint64_t off, void *buf,
				size_t len)
{
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	r = pread(fd, buf, len, (off_t)off);
	close(fd);
	if (r < 0)
		return -errno;
	return r == (ssize_t)len ? 0 : -EIO;
}

static inline int kt_pwrite_file(const char *path, uint64_t off,
				 const void *buf, size_t len)
{
	ssize_t r;
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return -errno;
	r = pwrite(fd, buf, len, (off_t)off);
	close(fd);
	if (r < 0)
		return -errno;
	return r == (ssize_t)len ? 0 : -EIO;
}

/* kt_write_new_file() - create (or replace) @path with @len bytes. */
static inline int kt_write_new_file(const char *path, const void *buf,
				    size_t len)
{
	ssize_t r;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -errno;
	r = write(fd, buf, len);
	close(fd);
	return r == (ssize_t)len ? 0 : -EIO;
}

/* kt_read_file() - whole file into a NUL-terminated malloc'ed buffer. */
static inline char *kt_read_file(const char *path, size_t *len)
{
	long long sz = kt_file_size(path);
	char *buf;

	if (sz < 0)
		return NULL;
	buf = malloc((size_t)sz + 1);
	if (!buf)
		return NULL;
	if (sz && kt_pread_file(path, 0, buf, (size_t)sz)) {
		free(buf);
		return NULL;
	}
	buf[sz] = '\0';
	if (len)
		*len = (size_t)sz;
	return buf;
}

/*
 * kt_copy_tree() - copy directories and regular files from @src to @dst
 * (which must not exist), sizes and bytes preserved.
 */
static inline int kt_copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in, out, err = 0;
	ssize_t r;

	in = open(src, O_RDONLY);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)r) != r) {
			err = -EIO;
			break;
		}
	}
	if (r < 0)
		err = -errno;
	close(in);
	close(out);
	return err;
}

static inline int kt_copy_tree(const char *src, const char *dst)
{
	char s[KT_PATH_MAX], d[KT_PATH_MAX];
	struct stat st;
	char **v;
	int n, i, err = 0;

	if (mkdir(dst, 0755))
		return -errno;
	n = kt_list_dir(src, &v);
	if (n < 0)
		return n;
	for (i = 0; i < n && !err; i++) {
		kt_path(s, "%s/%s", src, v[i]);
		kt_path(d, "%s/%s", dst, v[i]);
		if (lstat(s, &st)) {
			err = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode))
			err = kt_copy_tree(s, d);
		else if (S_ISREG(st.st_mode))
			err = kt_copy_file(s, d);
	}
	kt_free_list(v, n);
	return err;
}

/* ---- store layout paths ------------------------------------------- */

static inline char *kt_seg_path(char *buf, const char *root, uint64_t start)
{
	return kt_path(buf, "%s/commitlog/%020llu", root,
		       (unsigned long long)start);
}

static inline char *kt_cq_dir(char *buf, const char *root, const char *topic,
			      uint32_t qid)
{
	return kt_path(buf, "%s/consumequeue/%s/%u", root, topic, qid);
}

/*
 * kt_cq_entry_path() - file and byte position of entry @idx of a consume
 * queue whose files hold @per_file entries.
 */
static inline char *kt_cq_entry_path(char *buf, const char *root,
				     const char *topic, uint32_t qid,
				     uint64_t idx, uint32_t per_file,
				     uint64_t *pos)
{
	uint64_t file_start = idx / per_file * per_file * KMQ_CQ_ENTRY_SIZE;

	*pos = idx % per_file * KMQ_CQ_ENTRY_SIZE;
	return kt_path(buf, "%s/consumequeue/%s/%u/%020llu", root, topic,
		       qid, (unsigned long long)file_start);
}

/* kt_cq_read() - decode entry @idx straight from the consume-queue file. */
static inline int kt_cq_read(const char *root, const char *topic,
			     uint32_t qid, uint64_t idx, uint32_t per_file,
			     struct kmq_cq_entry *e)
{
	unsigned char raw[KMQ_CQ_ENTRY_SIZE];
	char path[KT_PATH_MAX];
	uint64_t pos;
	int err;

	kt_cq_entry_path(path, root, topic, qid, idx, per_file, &pos);
	err = kt_pread_file(path, pos, raw, sizeof(raw));
	if (err)
		return err;
	kmq_cq_entry_decode(raw, e);
	return 0;
}

static inline int kt_cq_write(const char *root, const char *topic,
			      uint32_t qid, uint64_t idx, uint32_t per_file,
			      const struct kmq_cq_entry *e)
{
	unsigned char raw[KMQ_CQ_ENTRY_SIZE];
	char path[KT_PATH_MAX];
	uint64_t pos;

	kt_cq_entry_path(path, root, topic, qid, idx, per_file, &pos);
	kmq_cq_entry_encode(raw, e);
	return kt_pwrite_file(path, pos, raw, sizeof(raw));
}

/* kt_seg_pread() - @len bytes at commitlog offset @phys, from the file. */
static inline int kt_seg_pread(const char *root, uint64_t seg_size,
			       uint64_t phys, void *buf, size_t len)
{
	char path[KT_PATH_MAX];

	kt_seg_path(path, root, phys - phys % seg_size);
	return kt_pread_file(path, phys % seg_size, buf, len);
}

static inline int kt_seg_pwrite(const char *root, uint64_t seg_size,
				uint64_t phys, const void *buf, size_t len)
{
	char path[KT_PATH_MAX];

	kt_seg_path(path, root, phys - phys % seg_size);
	return kt_pwrite_file(path, phys % seg_size, buf, len);
}

/* kt_ckpt_write() - overwrite the checkpoint file with these values. */
static inline int kt_ckpt_write(const char *root, uint64_t flushed,
				uint64_t min_offset, uint64_t store_ts)
{
	struct kmq_checkpoint c = {
		.flushed = flushed,
		.min_offset = min_offset,
		.store_ts = store_ts,
	};
	unsigned char block[KMQ_CKPT_FILE_SIZE];
	char path[KT_PATH_MAX];

	memset(block, 0, sizeof(block));
	kmq_checkpoint_encode(block, &c);
	return kt_write_new_file(kt_path(path, "%s/checkpoint", root), block,
				 sizeof(block));
}

/* ---- configuration and messages ----------------------------------- */

static inline void kt_host_v4(struct kmq_host *h, uint8_t a, uint8_t b,
			      uint8_t c, uint8_t d, uint32_t port)
{
	memset(h, 0, sizeof(*h));
	h->addr[0] = a;
	h->addr[1] = b;
	h->addr[2] = c;
	h->addr[3] = d;
	h->port = port;
}

/*
 * kt_config() - defaults, then @seg byte segments, a ring of @ring files,
 * KMQ_STORE_CREATE and store host 127.0.0.1:10911.
 */
static inline void kt_config(struct kmq_store_config *cfg, const char *root,
			     uint64_t seg, uint32_t ring)
{
	kmq_store_config_init(cfg, root);
	cfg->segment_size = seg;
	cfg->ring_segments = ring;
	cfg->flags |= KMQ_STORE_CREATE;
	kt_host_v4(&cfg->store_host, 127, 0, 0, 1, 10911);
}

/* kt_open() - kmq_store_open() that bails out when it fails. */
static inline struct kmq_store *kt_open(const struct kmq_store_config *cfg)
{
	struct kmq_store *s = NULL;
	int err = kmq_store_open(cfg, &s);

	if (err || !s) {
		diag("kmq_store_open(%s): %d %s: %s", cfg->root, err,
		     kmq_store_strerror(err), kmq_store_errmsg());
		kmq_tap_bail("cannot open the store");
	}
	return s;
}

static inline void kt_msg_init(struct kmq_msg *m, const char *topic,
			       uint32_t qid, const void *body,
			       uint32_t body_len, const char *props)
{
	memset(m, 0, sizeof(*m));
	m->topic = topic;
	m->queue_id = qid;
	m->born_ts = kt_now_ms();
	kt_host_v4(&m->born_host, 10, 0, 0, 2, 40000);
	m->body = body;
	m->body_len = body_len;
	m->props = props;
	m->props_len = props ? (uint32_t)strlen(props) : 0;
}

static inline uint64_t kt_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* kt_seq_len() - body length of sequence message @seq: 1..@max. */
static inline uint32_t kt_seq_len(uint64_t seq, uint32_t max)
{
	return 1 + (uint32_t)(kt_mix64(seq ^ 0x5eed) % max);
}

static inline void kt_seq_body(uint64_t seq, unsigned char *buf, uint32_t len)
{
	uint64_t x = 0;
	uint32_t i;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			x = kt_mix64(seq * 0x100000001b3ull + i);
		buf[i] = (unsigned char)(x >> (8 * (i & 7)));
	}
}

static inline const char *kt_seq_tag(uint64_t seq)
{
	static const char *const tags[] = { "TagA", "TagB", "TagC" };

	return tags[seq % 3];
}

/**
 * struct kt_seqmsg - a message fully determined by a sequence number:
 * queue seq % queues, FLAG (u32)seq, BORNTIMESTAMP KT_SEQ_BORN_BASE + seq,
 * a pseudo-random body of kt_seq_len() bytes, KEYS and TAGS properties.
 */
struct kt_seqmsg {
	struct kmq_msg msg;
	char props[96];
	unsigned char body[KT_SEQ_BODY_MAX];
};

static inline void kt_seq_msg(struct kt_seqmsg *sm, const char *topic,
			      uint64_t seq, uint32_t queues, uint32_t max_body)
{
	uint32_t len = kt_seq_len(seq, max_body);

	if (max_body > KT_SEQ_BODY_MAX)
		kmq_tap_bail("kt_seq_msg: body too large");
	kt_seq_body(seq, sm->body, len);
	snprintf(sm->props, sizeof(sm->props),
		 "KEYS\001k%llu\002TAGS\001%s\002", (unsigned long long)seq,
		 kt_seq_tag(seq));
	kt_msg_init(&sm->msg, topic, (uint32_t)(seq % queues), sm->body, len,
		    sm->props);
	sm->msg.flag = (uint32_t)seq;
	sm->msg.born_ts = KT_SEQ_BORN_BASE + seq;
	kt_host_v4(&sm->msg.born_host, 10, 1, (uint8_t)(seq >> 8),
		   (uint8_t)seq, 30000 + (uint32_t)(seq % 1000));
	sm->msg.reconsume_times = (uint32_t)(seq % 5);
}

/*
 * kt_seq_verify() - check that @r is exactly sequence message
 * born_ts - KT_SEQ_BORN_BASE of @topic with @queues queues and bodies of
 * at most @max_body bytes. Return: the sequence number, or -1 (with a
 * diag line saying why).
 */
static inline int64_t kt_seq_verify(const struct kmq_record *r,
				    const char *topic, uint32_t queues,
				    uint32_t max_body)
{
	static unsigned char want[KT_SEQ_BODY_MAX];
	char props[96];
	uint64_t seq;
	uint32_t len;

	if (r->born_ts < KT_SEQ_BORN_BASE) {
		diag("record at %llu: born_ts %llu not a seq",
		     (unsigned long long)r->phys_offset,
		     (unsigned long long)r->born_ts);
		return -1;
	}
	seq = r->born_ts - KT_SEQ_BORN_BASE;
	len = kt_seq_len(seq, max_body);
	kt_seq_body(seq, want, len);
	snprintf(props, sizeof(props),
		 "KEYS\001k%llu\002TAGS\001%s\002", (unsigned long long)seq,
		 kt_seq_tag(seq));
	if (r->flag != (uint32_t)seq || r->queue_id != seq % queues ||
	    r->body_len != len || memcmp(r->body, want, len) ||
	    r->topic_len != strlen(topic) ||
	    memcmp(r->topic, topic, r->topic_len) ||
	    r->props_len != strlen(props) ||
	    memcmp(r->props, props, r->props_len) ||
	    r->reconsume_times != seq % 5 ||
	    r->body_crc != kmq_body_crc(r->body, r->body_len)) {
		diag("record at %llu (seq %llu) does not match its sequence message",
		     (unsigned long long)r->phys_offset,
		     (unsigned long long)seq);
		return -1;
	}
	return (int64_t)seq;
}

/* ---- reading -------------------------------------------------------- */

/*
 * kt_range_records() - decode (with CRC) every record of @r, which must
 * hold exactly @r->count whole records and nothing else, and be the same
 * bytes as @r->fd at @r->file_off. Up to @max decoded records go to @recs
 * (pointing into @r->data). Return: the record count, or -1 (with diag).
 */
static inline int kt_range_records(const struct kmq_range *r,
				   struct kmq_record *recs, int max)
{
	const unsigned char *p = r->data;
	struct kmq_record rec;
	uint32_t pos = 0;
	unsigned char *copy;
	int n = 0, err;

	if (!r->data || !r->len) {
		diag("range without bytes");
		return -1;
	}
	while (pos < r->len) {
		err = kmq_record_decode(p + pos, r->len - pos, &rec,
					KMQ_DECODE_CRC);
		if (err) {
			diag("range: record at +%u does not decode: %d %s", pos,
			     err, kmq_fmt_strerror(err));
			return -1;
		}
		if (n < max)
			recs[n] = rec;
		n++;
		pos += rec.total_size;
	}
	if ((uint32_t)n != r->count) {
		diag("range: %d records, count says %u", n, r->count);
		return -1;
	}
	copy = malloc(r->len);
	if (!copy)
		kmq_tap_bail("malloc");
	if (pread(r->fd, copy, r->len, (off_t)r->file_off) != (ssize_t)r->len ||
	    memcmp(copy, r->data, r->len)) {
		diag("range: fd %d at %llu differs from data", r->fd,
		     (unsigned long long)r->file_off);
		n = -1;
	}
	free(copy);
	return n;
}

/*
 * kt_read_one() - read the single record at queue offset @off into
 * @buf (decoded into @rec when found). Return: the read status, or the
 * negative error of kmq_store_read(), or -1000 if the bytes are bad.
 */
static inline int kt_read_one(struct kmq_store *s, const char *topic,
			      uint32_t qid, uint64_t off, void *buf,
			      uint32_t cap, struct kmq_record *rec,
			      struct kmq_read_result *res)
{
	struct kmq_read_req req = {
		.topic = topic,
		.queue_id = qid,
		.offset = off,
		.max_msgs = 1,
		.max_bytes = 1u << 30,
	};
	struct kmq_read_result tmp;
	struct kmq_range rg[4];
	int err;

	if (!res)
		res = &tmp;
	memset(rg, 0, sizeof(rg));
	err = kmq_store_read(s, &req, rg, 4, res);
	if (err)
		return err;
	if (res->status != KMQ_READ_FOUND) {
		if (res->nranges)
			kmq_store_release(s, rg, res->nranges);
		return res->status;
	}
	err = res->status;
	if (res->nranges != 1 || res->count != 1 || rg[0].count != 1 ||
	    rg[0].len > cap || res->bytes != rg[0].len) {
		diag("read of 1 at %llu: nranges %u count %u bytes %u",
		     (unsigned long long)off, res->nranges, res->count,
		     res->bytes);
		err = -1000;
	} else {
		memcpy(buf, rg[0].data, rg[0].len);
		if (kmq_record_decode(buf, rg[0].len, rec, KMQ_DECODE_CRC)) {
			diag("record at queue offset %llu is bad",
			     (unsigned long long)off);
			err = -1000;
		} else if (rec->queue_offset != off || rec->queue_id != qid) {
			diag("asked %u@%llu, got %u@%llu", qid,
			     (unsigned long long)off, rec->queue_id,
			     (unsigned long long)rec->queue_offset);
			err = -1000;
		}
	}
	kmq_store_release(s, rg, res->nranges);
	return err;
}

/*
 * kt_verify_seq_prefix() - a store that holds sequence messages 0..@n-1
 * of @topic (queue seq % @queues, queue offset seq / @queues) and nothing
 * else in that topic: check each queue's max offset, every readable
 * record and that reading at the max offset says NO_NEW. Queue offsets
 * below the queue's min offset are allowed to be reclaimed.
 * Return: the number of problems found (each with a diag line).
 */
static inline int kt_verify_seq_prefix(struct kmq_store *s, const char *topic,
				       uint32_t queues, uint64_t n,
				       uint32_t max_body)
{
	static unsigned char buf[KT_SEQ_BODY_MAX + 1024];
	struct kmq_read_result res;
	struct kmq_record rec;
	uint64_t min, max, want, off;
	int bad = 0, st, err;
	int64_t seq;
	uint32_t q;

	for (q = 0; q < queues; q++) {
		want = n > q ? (n - q + queues - 1) / queues : 0;
		err = kmq_store_queue_offsets(s, topic, q, &min, &max);
		if (err) {
			diag("queue_offsets(%s, %u): %d", topic, q, err);
			bad++;
			continue;
		}
		if (max != want) {
			diag("queue %u: max offset %llu, want %llu", q,
			     (unsigned long long)max,
			     (unsigned long long)want);
			bad++;
		}
		for (off = min; off < max && off < want; off++) {
			st = kt_read_one(s, topic, q, off, buf, sizeof(buf),
					 &rec, &res);
			if (st != KMQ_READ_FOUND) {
				diag("queue %u offset %llu: status %d", q,
				     (unsigned long long)off, st);
				bad++;
				continue;
			}
			seq = kt_seq_verify(&rec, topic, queues, max_body);
			if (seq < 0 || (uint64_t)seq != off * queues + q) {
				diag("queue %u offset %llu: seq %lld", q,
				     (unsigned long long)off, (long long)seq);
				bad++;
			}
		}
		if (max == want) {
			st = kt_read_one(s, topic, q, max, buf, sizeof(buf),
					 &rec, &res);
			if (st != KMQ_READ_NO_NEW &&
			    !(max == 0 && st == KMQ_READ_NO_MESSAGE)) {
				diag("queue %u: read at max %llu gave status %d",
				     q, (unsigned long long)max, st);
				bad++;
			}
		}
	}
	return bad;
}

/*
 * kt_walk_commitlog() - decode the commitlog files of @root (segments of
 * @seg_size bytes) from @from to @to: every record valid (CRC,
 * PHYSICALOFFSET where it lies), BLANK fillers up to segment ends, and
 * the walk landing exactly on @to. Return: 0, or 1 with a diag line.
 */
static inline int kt_walk_commitlog(const char *root, uint64_t seg_size,
				    uint64_t from, uint64_t to)
{
	uint64_t pos = from, cur = UINT64_MAX;
	unsigned char *seg = malloc(seg_size);
	struct kmq_record r;
	int err, bad = 0;

	if (!seg)
		kmq_tap_bail("malloc");
	while (pos < to) {
		if (pos - pos % seg_size != cur) {
			cur = pos - pos % seg_size;
			if (kt_seg_pread(root, seg_size, cur, seg, seg_size)) {
				diag("walk: cannot read segment %llu",
				     (unsigned long long)cur);
				bad = 1;
				break;
			}
		}
		err = kmq_record_decode(seg + pos % seg_size,
					(uint32_t)(seg_size - pos % seg_size),
					&r, KMQ_DECODE_CRC);
		if (err == 1) {
			pos = cur + seg_size;
			continue;
		}
		if (err || r.phys_offset != pos) {
			diag("walk: bad record at %llu (%d)",
			     (unsigned long long)pos, err);
			bad = 1;
			break;
		}
		pos += r.total_size;
	}
	if (!bad && pos != to) {
		diag("walk ended at %llu, not at %llu",
		     (unsigned long long)pos, (unsigned long long)to);
		bad = 1;
	}
	free(seg);
	return bad;
}

/* ---- processes ------------------------------------------------------ */

/* kt_wait_exit() - exit status of @pid, or 128 + signal, or -1. */
static inline int kt_wait_exit(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* kt_skip() - one skipped test, as TAP's "ok N # SKIP reason". */
static inline void kt_skip(const char *why)
{
	kmq_tap_n++;
	printf("ok %d # SKIP %s\n", kmq_tap_n, why);
	fflush(stdout);
}

/* kt_watchdog() - fail the file instead of hanging forever. */
static inline void kt_watchdog(unsigned int seconds)
{
	alarm(seconds);
}

#endif /* STORE_TEST_UTIL_H */
