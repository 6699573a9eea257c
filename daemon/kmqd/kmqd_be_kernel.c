// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_be_kernel.c - kmqd's kernel backend: the calls of kmqd_backend.h
 * as /dev/kmq ioctls (uapi/kmq_ioctl.h), so kmq.ko owns the commitlog.
 *
 * - Attach: the store directory is attached under a name derived from
 *   its path. If kmq.ko already has it (kmqd died; the module kept the
 *   store and every acknowledged record), kmqd binds to it instead.
 *   A clean close detaches it (flushed, checkpointed).
 * - Topics: kmq.ko holds the table; kmqd keeps a copy, loaded at open
 *   and changed only through this file, so the per-message lookups of
 *   the protocol code cost no system call.
 * - Appends: one ioctl per record or batch. Asynchronous SYNC_FLUSH
 *   appends (KMQ_APPEND_NOWAIT) are completed by one thread that waits
 *   with KMQ_IOC_FLUSH for the furthest end queued: a group commit.
 * - Reads: KMQ_IOC_READ copies the records into a buffer that the
 *   returned range owns (fd -1: bytes in memory) until released: the
 *   calling thread's own buffer, reused from pull to pull.
 *
 * Errnos from the module become the userspace store's -KMQ_E* codes, so
 * kmqd answers clients the same on both backends; the arguments whose
 * EINVAL would be ambiguous (queue counts, perm, properties, read sizes)
 * are checked here first, by the userspace store's own checks
 * (kmq_store_topic_check(), kmq_store_props_check()) where it has them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kmq_ioctl.h"
#include "kmqd_backend.h"
#include "kmqd_log.h"

#define KB_DEV		"/dev/" KMQ_DEV_NAME
#define KB_READ_BUF	(256u << 10)
#define KB_RING_NOLIMIT	4096	/* ringSegments 0: the module's most */
#define KB_TOPIC_PAGE	64
#define KB_QUEUES_MAX	1024	/* queues of a topic kmq.ko takes */
#define KB_READ_MSGS_MAX 16000	/* records one KMQ_IOC_READ returns */

struct kb_topic {
	struct kb_topic *next;
	struct kmq_topic_info ti;
};

struct kb_waiter {
	struct kb_waiter *next;
	uint64_t end;
	kmq_append_done_fn done;
	void *arg;
};

struct kb_store {
	int fd;
	char name[KMQ_STORE_NAME_MAX];
	uint32_t flush_timeout_ms;
	bool sync;			/* SYNC_FLUSH */
	pthread_mutex_t lock;		/* topics, waiters */
	struct kb_topic *topics;
	pthread_cond_t cond;
	struct kb_waiter *waiters;
	struct kb_waiter **waiters_tail;
	bool stop;
	pthread_t flusher;
	bool flusher_started;
};

static __thread char kb_msg[512];

static __attribute__((format(printf, 2, 3)))
int kb_err(int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kb_msg, sizeof(kb_msg), fmt, ap);
	va_end(ap);
	return ret;
}

static const char *kb_errmsg(void)
{
	return kb_msg;
}

/*
 * The module's errno, as the userspace store would have said it. The
 * module answers EINVAL for a topic name it does not take, and for
 * arguments this file checks before the call (queue counts, perm,
 * properties): with @topic_op, an EINVAL is the topic name.
 */
static int kb_code(int err, bool topic_op)
{
	switch (err) {
	case ENOENT:
		return -KMQ_ENOTOPIC;
	case ERANGE:
		return -KMQ_EBADQUEUE;
	case EMSGSIZE:
		return -KMQ_EMSGSIZE;
	case EINVAL:
		return topic_op ? -KMQ_EBADTOPIC : -EINVAL;
	case EUCLEAN:
		return -KMQ_ECORRUPT;
	case ENXIO:
		return -KMQ_ECLOSED;
	default:
		return -err;
	}
}

static int kb_ioctl(struct kb_store *b, unsigned long cmd, void *arg,
		    const char *what, bool topic_op)
{
	int err;

	while (ioctl(b->fd, cmd, arg) < 0) {
		err = errno;
		if (err == EINTR)
			continue;
		return kb_err(kb_code(err, topic_op), "kmq.ko %s: %s", what,
			      strerror(err));
	}
	return 0;
}

/*
 * The store's name in kmq.ko: "kmqd-", the tail of the directory's real
 * path with each byte the module does not take in names (it takes
 * [A-Za-z0-9_.-]) as '_', then "-" and a 64-bit FNV-1a hash of the whole
 * path, so that two directories never share a name: an attach refused
 * with EEXIST binds to the store of that name, which must be this one.
 */
static void kb_name(char *out, size_t len, const char *root)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n, tail, i;
	char path[4096];
	const char *p;

	if (!realpath(root, path))
		snprintf(path, sizeof(path), "%s", root);
	for (p = path; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	n = strlen(path);
	tail = len - sizeof("kmqd-") - 17;	/* 17: "-" and 16 hex digits */
	p = n > tail ? path + n - tail : path;
	n = snprintf(out, len, "kmqd-%s", p);
	for (i = 5; i < n; i++) {
		char c = out[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			out[i] = '_';
	}
	snprintf(out + n, len - n, "-%016llx", (unsigned long long)h);
}

static void kb_host(struct kmq_uhost *u, const struct kmq_host *h)
{
	memset(u, 0, sizeof(*u));
	memcpy(u->addr, h->addr, h->v6 ? 16 : 4);
	u->port = h->port;
	u->family = h->v6 ? 6 : 4;
}

/* ---- topics --------------------------------------------------------- */

static struct kb_topic *kb_find(struct kb_store *b, const char *name)
{
	struct kb_topic *t;

	for (t = b->topics; t; t = t->next)
		if (!strcmp(t->ti.name, name))
			return t;
	return NULL;
}

static int kb_cache(struct kb_store *b, const struct kmq_topic_info *ti)
{
	struct kb_topic *t = kb_find(b, ti->name), **pp;

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		/* Kept in name order, as the userspace store lists them. */
		for (pp = &b->topics; *pp && strcmp((*pp)->ti.name, ti->name) < 0;
		     pp = &(*pp)->next)
			;
		t->next = *pp;
		*pp = t;
	}
	t->ti = *ti;
	return 0;
}

static int kb_load_topics(struct kb_store *b)
{
	struct kmq_topic page[KB_TOPIC_PAGE];
	struct kmq_topic_list l;
	struct kmq_topic_info ti;
	uint32_t i;
	int ret;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.entries = (uintptr_t)page;
	l.entry_size = sizeof(page[0]);
	l.max_entries = KB_TOPIC_PAGE;
	do {
		ret = kb_ioctl(b, KMQ_IOC_TOPIC_LIST, &l, "list topics", false);
		if (ret)
			return ret;
		for (i = 0; i < l.count; i++) {
			memset(&ti, 0, sizeof(ti));
			snprintf(ti.name, sizeof(ti.name), "%s", page[i].name);
			ti.read_queues = page[i].read_queues;
			ti.write_queues = page[i].write_queues;
			ti.perm = page[i].perm;
			ret = kb_cache(b, &ti);
			if (ret)
				return ret;
		}
		if (l.count)
			memcpy(l.after, page[l.count - 1].name,
			       sizeof(l.after));
	} while (l.count == KB_TOPIC_PAGE);
	return 0;
}

static int be_topic_config(void *h, const struct kmq_topic_info *ti)
{
	struct kb_store *b = h;
	struct kmq_topic t;
	int ret;

	/* The store's own check, with kmq.ko's queue limit. */
	ret = kmq_store_topic_check(ti, KB_QUEUES_MAX);
	if (ret)
		return kb_err(ret, "%s (kmq.ko)", kmq_store_errmsg());
	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.read_queues = ti->read_queues;
	t.write_queues = ti->write_queues;
	t.perm = ti->perm;
	snprintf(t.name, sizeof(t.name), "%s", ti->name);
	pthread_mutex_lock(&b->lock);
	ret = kb_ioctl(b, KMQ_IOC_TOPIC_SET, &t, ti->name, true);
	if (!ret)
		ret = kb_cache(b, ti);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

static int be_topic_create(void *h, const char *topic, uint32_t queues)
{
	struct kb_store *b = h;
	struct kmq_topic_info ti;
	struct kb_topic *t;

	memset(&ti, 0, sizeof(ti));
	if (strlen(topic) >= sizeof(ti.name))
		return kb_err(-KMQ_EBADTOPIC, "topic name too long");
	strcpy(ti.name, topic);
	ti.perm = KMQ_PERM_READ | KMQ_PERM_WRITE;
	pthread_mutex_lock(&b->lock);
	t = kb_find(b, topic);
	if (t)
		ti.perm = t->ti.perm;
	pthread_mutex_unlock(&b->lock);
	ti.read_queues = queues;
	ti.write_queues = queues;
	return be_topic_config(h, &ti);
}

static int be_topic_delete(void *h, const char *topic)
{
	struct kb_store *b = h;
	struct kb_topic **pp, *t;
	struct kmq_topic k;
	int ret;

	memset(&k, 0, sizeof(k));
	k.size = sizeof(k);
	if (strlen(topic) >= sizeof(k.name))
		return kb_err(-KMQ_EBADTOPIC, "topic name too long");
	strcpy(k.name, topic);
	pthread_mutex_lock(&b->lock);
	ret = kb_ioctl(b, KMQ_IOC_TOPIC_DEL, &k, topic, true);
	for (pp = &b->topics; !ret && *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->ti.name, topic)) {
			t = *pp;
			*pp = t->next;
			free(t);
			break;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

static int be_topic_info(void *h, const char *topic,
			 struct kmq_topic_info *out)
{
	struct kb_store *b = h;
	struct kb_topic *t;
	int ret = 0;

	pthread_mutex_lock(&b->lock);
	t = kb_find(b, topic);
	if (t)
		*out = t->ti;
	else
		ret = kb_err(-KMQ_ENOTOPIC, "no topic %s", topic);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

static int be_topic_list_info(void *h,
			      void (*fn)(void *arg,
					 const struct kmq_topic_info *ti),
			      void *arg)
{
	struct kb_store *b = h;
	struct kb_topic *t;

	pthread_mutex_lock(&b->lock);
	for (t = b->topics; t; t = t->next)
		fn(arg, &t->ti);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* ---- appends -------------------------------------------------------- */

static void kb_msg_in(struct kmq_append_msg *a, const struct kmq_msg *m)
{
	memset(a, 0, sizeof(*a));
	a->body = (uintptr_t)m->body;
	a->body_len = m->body_len;
	a->props = (uintptr_t)m->props;
	a->props_len = m->props ? m->props_len : 0;
	a->born_ts = m->born_ts;
	a->prepared_tx_offset = m->prepared_tx_offset;
	a->queue_id = m->queue_id;
	a->flag = m->flag;
	a->sys_flag = m->sys_flag & ~(KMQ_SYSFLAG_BORNHOST_V6 |
				      KMQ_SYSFLAG_STOREHOST_V6);
	a->reconsume_times = m->reconsume_times;
	kb_host(&a->born_host, &m->born_host);
	snprintf(a->topic, sizeof(a->topic), "%s", m->topic);
}

static void kb_res_out(struct kmq_append_result *r,
		       const struct kmq_append_res *k)
{
	memset(r, 0, sizeof(*r));
	r->queue_offset = k->queue_offset;
	r->phys_offset = k->phys_offset;
	r->size = k->size;
	r->store_ts = k->store_ts;
	snprintf(r->msg_id, sizeof(r->msg_id), "%s", k->msg_id);
}

/*
 * Append @n records; @flags KMQ_APPEND_NOWAIT or 0. Return: the status
 * (KMQ_APPEND_OK, _FLUSH_TIMEOUT_ST, _NOT_FLUSHED) or a negative code.
 */
static int kb_append(struct kb_store *b, const struct kmq_msg *msgs,
		     uint32_t n, struct kmq_append_result *res,
		     uint32_t flags, uint64_t *end)
{
	struct kmq_append_msg one_m;
	struct kmq_append_res one_r;
	struct kmq_append_msg *am = &one_m;
	struct kmq_append_res *ar = &one_r;
	struct kmq_append a;
	uint32_t i;
	int ret;

	if (!n || n > KMQ_BATCH_MAX)
		return kb_err(-EINVAL, "batch of %u records", n);
	if (n > 1) {
		am = calloc(n, sizeof(*am));
		ar = calloc(n, sizeof(*ar));
		if (!am || !ar) {
			ret = kb_err(-ENOMEM, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		const struct kmq_msg *m = &msgs[i];

		if (strlen(m->topic) >= sizeof(am[i].topic)) {
			ret = kb_err(-KMQ_EBADTOPIC, "topic name too long");
			goto out;
		}
		/* The store's own check, so the module's EINVAL is the topic. */
		ret = kmq_store_props_check(m, i);
		if (ret) {
			kb_err(ret, "%s", kmq_store_errmsg());
			goto out;
		}
		kb_msg_in(&am[i], m);
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = flags;
	a.msgs = (uintptr_t)am;
	a.results = (uintptr_t)ar;
	a.count = n;
	a.msg_size = sizeof(*am);
	a.res_size = sizeof(*ar);
	ret = kb_ioctl(b, KMQ_IOC_APPEND, &a, "append", true);
	if (ret)
		goto out;
	for (i = 0; i < n; i++)
		kb_res_out(&res[i], &ar[i]);
	*end = a.end_offset;
	ret = a.status;
out:
	if (am != &one_m)
		free(am);
	if (ar != &one_r)
		free(ar);
	return ret;
}

static int be_append(void *h, const struct kmq_msg *msg,
		     struct kmq_append_result *res)
{
	uint64_t end;
	int ret = kb_append(h, msg, 1, res, 0, &end);

	if (ret < 0)
		return ret;
	return ret == KMQ_APPEND_FLUSH_TIMEOUT_ST ? KMQ_APPEND_FLUSH_TIMEOUT : 0;
}

/* The group commit of asynchronous SYNC_FLUSH appends. */
static void *kb_flusher(void *arg)
{
	struct kb_store *b = arg;
	struct kb_waiter *w, *list;
	struct kmq_flush f;
	uint64_t end;
	int ret, status;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (!b->waiters && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		if (!b->waiters)
			break;
		list = b->waiters;
		b->waiters = NULL;
		b->waiters_tail = &b->waiters;
		pthread_mutex_unlock(&b->lock);
		end = 0;
		for (w = list; w; w = w->next)
			if (w->end > end)
				end = w->end;
		memset(&f, 0, sizeof(f));
		f.size = sizeof(f);
		f.offset = end;
		f.timeout_ms = b->flush_timeout_ms;
		ret = kb_ioctl(b, KMQ_IOC_FLUSH, &f, "flush", false);
		if (ret && ret != -ETIMEDOUT)
			log_warn("%s", kb_errmsg());
		status = ret ? KMQ_APPEND_FLUSH_TIMEOUT : 0;
		while ((w = list)) {
			list = w->next;
			w->done(w->arg, status);
			free(w);
		}
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static int be_append_async(void *h, const struct kmq_msg *msgs, uint32_t n,
			   struct kmq_append_result *res,
			   kmq_append_done_fn done, void *arg)
{
	struct kb_store *b = h;
	struct kb_waiter *w;
	uint64_t end;
	int ret;

	w = malloc(sizeof(*w));
	if (!w)
		return kb_err(-ENOMEM, "out of memory");
	ret = kb_append(b, msgs, n, res, KMQ_APPEND_NOWAIT, &end);
	/*
	 * Under SYNC_FLUSH every append is completed by the flusher, even
	 * one a concurrent sync already covered (status OK): answered at
	 * once, it would overtake earlier sends of its connection still
	 * waiting there, and a connection's answers must keep its order.
	 */
	if (ret < 0 || (!b->sync && ret != KMQ_APPEND_NOT_FLUSHED)) {
		free(w);
		if (ret < 0)
			return ret;
		return ret == KMQ_APPEND_FLUSH_TIMEOUT_ST ?
		       KMQ_APPEND_FLUSH_TIMEOUT : 0;
	}
	w->next = NULL;
	w->end = end;
	w->done = done;
	w->arg = arg;
	pthread_mutex_lock(&b->lock);
	*b->waiters_tail = w;
	b->waiters_tail = &w->next;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return KMQ_APPEND_PENDING;
}

/* ---- reads ---------------------------------------------------------- */

/*
 * A read's records live in a buffer the returned range owns until it is
 * released. Each thread keeps one of KB_READ_BUF bytes for the common
 * case, so a pull costs no allocation; a record larger than that, or a
 * second read before the first is released, gets a buffer of its own.
 * A release may come from another thread: the flag is atomic.
 */
struct kb_rbuf {
	bool cached;
	atomic_bool busy;
	uint32_t cap;
	unsigned char data[];
};

static __thread struct kb_rbuf *kb_tbuf;

static struct kb_rbuf *kb_rbuf_get(uint32_t want)
{
	struct kb_rbuf *rb;

	if (want <= KB_READ_BUF) {
		if (!kb_tbuf) {
			kb_tbuf = malloc(sizeof(*kb_tbuf) + KB_READ_BUF);
			if (kb_tbuf) {
				kb_tbuf->cached = true;
				kb_tbuf->cap = KB_READ_BUF;
				atomic_init(&kb_tbuf->busy, false);
			}
		}
		if (kb_tbuf && !atomic_exchange(&kb_tbuf->busy, true))
			return kb_tbuf;
	}
	rb = malloc(sizeof(*rb) + want);
	if (rb) {
		rb->cached = false;
		rb->cap = want;
		atomic_init(&rb->busy, true);
	}
	return rb;
}

static void kb_rbuf_put(struct kb_rbuf *rb)
{
	if (!rb)
		return;
	if (rb->cached)
		atomic_store(&rb->busy, false);
	else
		free(rb);
}

/*
 * The fields KMQ_IOC_READ and KMQ_IOC_PULL_PREPARE share, from @req:
 * @topic (KMQ_TOPIC_NAME_MAX bytes) and the tag count; 0 or an error.
 */
static int kb_req_in(const struct kmq_read_req *req, char *topic,
		     uint32_t *ntags)
{
	*ntags = req->tags ? req->ntags : 0;
	if (!req->max_msgs)
		return kb_err(-EINVAL, "read: bad request");
	if (*ntags > KMQ_TAGS_MAX)
		return kb_err(-EINVAL, "read: %u tags, kmq.ko filters %d at most",
			      *ntags, KMQ_TAGS_MAX);
	if (strlen(req->topic) >= KMQ_TOPIC_NAME_MAX)
		return kb_err(-KMQ_EBADTOPIC, "topic name too long");
	strcpy(topic, req->topic);
	return 0;
}

/* What READ and PULL_PREPARE found, as the userspace store says it. */
static void kb_found_out(struct kmq_read_result *res, uint32_t status,
			 uint64_t next, uint64_t min, uint64_t max,
			 uint32_t count, uint32_t bytes)
{
	res->status = status;
	res->next_offset = next;
	res->min_offset = min;
	res->max_offset = max;
	res->count = count;
	res->bytes = bytes;
}

static int be_read(void *h, const struct kmq_read_req *req,
		   struct kmq_range *ranges, uint32_t max_ranges,
		   struct kmq_read_result *res)
{
	struct kb_store *b = h;
	uint32_t cap = req->max_bytes ? req->max_bytes : KB_READ_BUF;
	struct kb_rbuf *rb;
	struct kmq_read r;
	int ret;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	ret = kb_req_in(req, r.topic, &r.ntags);
	if (ret)
		return ret;
	if (!max_ranges)
		return kb_err(-EINVAL, "read: bad request");
	r.size = sizeof(r);
	r.offset = req->offset;
	r.tags = (uintptr_t)req->tags;
	r.queue_id = req->queue_id;
	/* The store scans 16000 entries at most: no read returns more. */
	r.max_msgs = req->max_msgs > KB_READ_MSGS_MAX ? KB_READ_MSGS_MAX :
		     req->max_msgs;
	for (;;) {
		rb = kb_rbuf_get(cap);
		if (!rb)
			return kb_err(-ENOMEM, "out of memory");
		r.buf = (uintptr_t)rb->data;
		r.buf_len = cap;
		ret = kb_ioctl(b, KMQ_IOC_READ, &r, "read", true);
		/* One record larger than asked for is still returned. */
		if (ret != -ENOSPC || r.bytes <= cap)
			break;
		kb_rbuf_put(rb);
		cap = r.bytes;
	}
	if (ret) {
		kb_rbuf_put(rb);
		return ret;
	}
	kb_found_out(res, r.status, r.next_offset, r.min_offset, r.max_offset,
		     r.count, r.bytes);
	if (!r.count) {
		kb_rbuf_put(rb);
		return 0;
	}
	ranges[0].data = rb->data;
	ranges[0].fd = -1;
	ranges[0].file_off = 0;
	ranges[0].len = r.bytes;
	ranges[0].count = r.count;
	ranges[0].seg = rb;
	res->nranges = 1;
	return 0;
}

static void be_release(void *h, struct kmq_range *ranges, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		kb_rbuf_put(ranges[i].seg);
		ranges[i].seg = NULL;
	}
}

/*
 * A pull kmq.ko sends itself: PULL_PREPARE pins the records and fixes the
 * body's length, PULL_SEND writes the frame from the page cache.
 */
static int be_pull_prepare(void *h, const struct kmq_read_req *req, bool copy,
			   struct kmq_read_result *res,
			   struct kmqd_prepared *pp)
{
	struct kmq_pull p;
	int ret;

	memset(res, 0, sizeof(*res));
	memset(pp, 0, sizeof(*pp));
	memset(&p, 0, sizeof(p));
	ret = kb_req_in(req, p.topic, &p.ntags);
	if (ret)
		return ret;
	p.size = sizeof(p);
	p.offset = req->offset;
	p.tags = (uintptr_t)req->tags;
	p.queue_id = req->queue_id;
	p.max_msgs = req->max_msgs > KMQ_PULL_MSGS_MAX ? KMQ_PULL_MSGS_MAX :
		     req->max_msgs;
	p.max_bytes = req->max_bytes;
	ret = kb_ioctl(h, KMQ_IOC_PULL_PREPARE, &p, "pull prepare", true);
	if (ret)
		return ret;
	kb_found_out(res, p.status, p.next_offset, p.min_offset, p.max_offset,
		     p.count, p.bytes);
	pp->handle = p.handle;
	pp->body_len = p.bytes;
	pp->copy = copy;
	return 0;
}

static int be_pull_send(void *h, const struct kmqd_prepared *pp, int sockfd,
			const void *hdr, uint32_t hdr_len, uint64_t off,
			uint64_t *sent)
{
	struct kb_store *b = h;
	struct kmq_pull_send ps = {
		.size = sizeof(ps),
		.flags = KMQ_PULL_SEND_NONBLOCK |
			 (pp->copy ? KMQ_PULL_SEND_COPY : 0),
		.handle = pp->handle,
		.sockfd = sockfd,
		.hdr = (uintptr_t)hdr,
		.hdr_len = hdr_len,
		.offset = off,
	};

	if (ioctl(b->fd, KMQ_IOC_PULL_SEND, &ps) < 0)
		return kb_err(-errno, "kmq.ko pull send: %s", strerror(errno));
	*sent = ps.sent;
	return 0;
}

static void be_pull_cancel(void *h, const struct kmqd_prepared *pp)
{
	struct kb_store *b = h;
	struct kmq_pull_send ps = {
		.size = sizeof(ps),
		.flags = KMQ_PULL_SEND_CANCEL,
		.handle = pp->handle,
		.sockfd = -1,
	};

	/* -ENOENT: a failed send let go of it already. */
	ioctl(b->fd, KMQ_IOC_PULL_SEND, &ps);
}

static int be_queue_offsets(void *h, const char *topic, uint32_t queue_id,
			    uint64_t *min, uint64_t *max)
{
	struct kmq_queue_info q;
	int ret;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.queue_id = queue_id;
	if (strlen(topic) >= sizeof(q.topic))
		return kb_err(-KMQ_EBADTOPIC, "topic name too long");
	strcpy(q.topic, topic);
	ret = kb_ioctl(h, KMQ_IOC_QUEUE_INFO, &q, "queue info", true);
	if (ret)
		return ret;
	*min = q.min_offset;
	*max = q.max_offset;
	return 0;
}

static int be_read_at(void *h, uint64_t phys, void *buf, uint32_t cap)
{
	struct kmq_read_at r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.phys_offset = phys;
	r.buf = (uintptr_t)buf;
	r.buf_len = cap;
	ret = kb_ioctl(h, KMQ_IOC_READ_AT, &r, "read at", false);
	if (ret == -EBADMSG)
		ret = -ERANGE;
	return ret ? ret : (int)r.record_size;
}

static int be_flush(void *h)
{
	struct kmq_flush f;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.offset = UINT64_MAX;
	f.timeout_ms = 10000;
	return kb_ioctl(h, KMQ_IOC_FLUSH, &f, "flush", false);
}

static void be_stats(void *h, struct kmq_store_stats *st)
{
	struct kmq_store_info i;

	memset(st, 0, sizeof(*st));
	memset(&i, 0, sizeof(i));
	i.size = sizeof(i);
	if (kb_ioctl(h, KMQ_IOC_STORE_INFO, &i, "store info", false))
		return;
	st->min_offset = i.min_offset;
	st->write_offset = i.write_offset;
	st->flushed_offset = i.flushed_offset;
	st->segments = i.segments;
	st->appends = i.appends;
}

/* ---- open and close ------------------------------------------------- */

static void kb_free(struct kb_store *b)
{
	struct kb_topic *t;

	while ((t = b->topics)) {
		b->topics = t->next;
		free(t);
	}
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
}

static int kb_attach(struct kb_store *b, const struct kmq_store_config *cfg)
{
	struct kmq_attach a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = (cfg->flags & KMQ_STORE_CREATE) ? KMQ_ATTACH_CREATE : 0;
	a.dirfd = AT_FDCWD;
	a.flush_mode = cfg->flush_mode == KMQ_FLUSH_SYNC ?
		       KMQ_FLUSH_MODE_SYNC : KMQ_FLUSH_MODE_ASYNC;
	a.path = (uintptr_t)cfg->root;
	memcpy(a.name, b->name, sizeof(a.name));
	a.segment_size = cfg->segment_size;
	a.ring_segments = cfg->ring_segments ? cfg->ring_segments :
			  KB_RING_NOLIMIT;
	a.retention_ms = cfg->retention_ms;
	a.max_message_size = cfg->max_message_size;
	a.cq_file_entries = cfg->cq_file_entries;
	a.flush_timeout_ms = cfg->flush_timeout_ms;
	a.async_interval_ms = cfg->async_interval_ms;
	kb_host(&a.store_host, &cfg->store_host);
	if (ioctl(b->fd, KMQ_IOC_ATTACH, &a) == 0) {
		log_info("kmq.ko attached %s as \"%s\" (store %u), write offset %llu",
			 cfg->root, b->name, a.store_id,
			 (unsigned long long)a.write_offset);
		return 0;
	}
	if (errno != EEXIST)
		return kb_err(kb_code(errno, false), "kmq.ko attach %s: %s",
			      cfg->root, strerror(errno));
	/* Still attached from a kmqd that died: the module kept it. */
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = KMQ_ATTACH_EXISTING;
	memcpy(a.name, b->name, sizeof(a.name));
	if (ioctl(b->fd, KMQ_IOC_ATTACH, &a))
		return kb_err(kb_code(errno, false),
			      "kmq.ko bind to attached store \"%s\": %s",
			      b->name, strerror(errno));
	log_info("kmq.ko still had %s attached as \"%s\" (store %u): bound to it, write offset %llu",
		 cfg->root, b->name, a.store_id,
		 (unsigned long long)a.write_offset);
	return 0;
}

static int be_open(const struct kmq_store_config *cfg, void **h)
{
	struct kb_store *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return kb_err(-ENOMEM, "out of memory");
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->waiters_tail = &b->waiters;
	b->flush_timeout_ms = cfg->flush_timeout_ms;
	b->sync = cfg->flush_mode == KMQ_FLUSH_SYNC;
	b->fd = open(KB_DEV, O_RDWR | O_CLOEXEC);
	if (b->fd < 0) {
		ret = kb_err(-errno, "%s: %s", KB_DEV, strerror(errno));
		goto fail;
	}
	/* First, so that the name comes from the directory's real path. */
	if (cfg->flags & KMQ_STORE_CREATE)
		mkdir(cfg->root, 0755);
	kb_name(b->name, sizeof(b->name), cfg->root);
	ret = kb_attach(b, cfg);
	if (!ret)
		ret = kb_load_topics(b);
	if (ret)
		goto fail;
	ret = -pthread_create(&b->flusher, NULL, kb_flusher, b);
	if (ret) {
		kb_err(ret, "flusher thread: %s", strerror(-ret));
		goto fail;
	}
	b->flusher_started = true;
	*h = b;
	return 0;
fail:
	kb_free(b);
	return ret;
}

static void be_close(void *h)
{
	struct kb_store *b = h;
	struct kmq_detach d;

	if (b->flusher_started) {
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		pthread_cond_signal(&b->cond);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->flusher, NULL);
	}
	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	memcpy(d.name, b->name, sizeof(d.name));
	if (kb_ioctl(b, KMQ_IOC_DETACH, &d, "detach", false))
		log_warn("%s", kb_errmsg());
	kb_free(b);
}

const struct kmqd_backend_ops kmqd_backend_kernel = {
	.name = "kernel",
	.open = be_open,
	.close = be_close,
	.topic_create = be_topic_create,
	.topic_delete = be_topic_delete,
	.topic_config = be_topic_config,
	.topic_info = be_topic_info,
	.topic_list_info = be_topic_list_info,
	.append = be_append,
	.append_async = be_append_async,
	.read = be_read,
	.release = be_release,
	.pull_prepare = be_pull_prepare,
	.pull_send = be_pull_send,
	.pull_cancel = be_pull_cancel,
	.queue_offsets = be_queue_offsets,
	.read_at = be_read_at,
	.flush = be_flush,
	.stats = be_stats,
	.errmsg = kb_errmsg,
};
