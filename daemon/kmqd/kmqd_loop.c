// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_loop.c - kmqd's io_uring event loops: accept, receive, send,
 * connect, a 250 ms tick and cross-thread posts, all as io_uring
 * operations submitted and completed on the loop's own thread.
 *
 * A connection has at most one receive and one send in flight. Replies
 * queue in a pending buffer while a send is in flight and go out as one
 * send when it completes. Frames are decoded in place from the receive
 * buffer, which grows up to the largest frame allowed.
 *
 * A reply may carry file ranges (a pull's records, see
 * kmqd_conn_reply_files()): they go out with sendfile(), page-cache pages
 * handed to the socket by reference, never copied into kmqd. Or its whole
 * frame goes out through its backend (kmqd_conn_reply_sender(): kmq.ko's
 * PULL_SEND). Bytes queued after such a reply wait in its own buffer
 * until it is sent, so the stream keeps its order; a reply whose socket
 * is full waits for POLLOUT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include "kmqd_log.h"
#include "kmqd_loop.h"

#define KMQD_RING_ENTRIES	1024
#define KMQD_RBUF_INITIAL	4096
/* A receive that fills the buffer doubles it, up to this (pipelining). */
#define KMQD_RBUF_BURST		(256u << 10)
/*
 * A peer that stopped reading is dropped when its queued output passes
 * KMQD_OUT_MAX, or when at least KMQD_STALL_BYTES wait and its socket has
 * taken nothing for KMQD_STALL_MS.
 */
#define KMQD_OUT_MAX		(64u << 20)
#define KMQD_STALL_BYTES	(1u << 20)
#define KMQD_STALL_MS		3000
#define KMQD_MAX_LISTENERS	8
#define KMQD_MAX_SERVICES	8
#define KMQD_REQUEST_TIMEOUT_MS	10000
#define KMQD_TICK_MS		250

enum kmqd_op_type {
	KMQD_OP_ACCEPT,
	KMQD_OP_RECV,
	KMQD_OP_SEND,
	KMQD_OP_CONNECT,
	KMQD_OP_TIMER,
	KMQD_OP_EVENT,
};

struct kmqd_op {
	enum kmqd_op_type type;
	void *owner;
};

struct kmqd_listener {
	int fd;
	struct kmqd_service *svc;
	struct kmqd_op op;
};

struct kmqd_waiter {
	int32_t opaque;
	uint64_t deadline;
	kmqd_reply_fn fn;
	void *arg;
	struct kmqd_waiter *next;
};

/*
 * struct kmqd_fchunk - one reply queued on a connection whose body is not
 * in kmqd's memory, then the bytes queued after it; one allocation per
 * reply. Either file ranges (@n of them, the frame's start already in
 * the bytes before) or a frame sender (@snd.send set, @n 0, the frame's
 * start in @hdr).
 * @after: bytes queued after the reply
 * @n: ranges in @r
 * @cur: the range being sent; those before it are sent and released
 * @done: bytes of @r[@cur] already sent, or of the sender's frame
 * @hdr: the sender's frame start (length prefix and header)
 * @snd: the frame sender; its done is called once, then .send is NULL
 * @r: the ranges; each one's release is called once it is sent or dropped
 */
struct kmqd_fchunk {
	struct kmqd_fchunk *next;
	struct kmq_buf after;
	unsigned int n;
	unsigned int cur;
	uint32_t done;
	struct kmq_buf hdr;
	struct kmqd_frame_sender snd;
	struct kmqd_file_range r[];
};

struct kmqd_conn {
	struct kmqd_loop *loop;
	struct kmqd_service *svc;
	int fd;
	atomic_int refs;
	bool closing;
	bool abort;			/* reset, not FIN: a misbehaving peer */
	bool recv_armed;
	bool send_armed;
	bool connecting;
	uint8_t *rbuf;
	size_t rlen;
	size_t rcap;
	struct kmq_buf sending;
	size_t sent;
	uint64_t send_progress_ms;	/* last time a send moved bytes */
	struct kmq_buf pending;
	struct kmqd_fchunk *fq;		/* file ranges after pending */
	struct kmqd_fchunk *fq_tail;
	size_t fq_bytes;		/* of fq not yet sent: ranges, after */
	bool send_poll;			/* send_op is a POLLOUT wait */
	bool nonblock;			/* O_NONBLOCK set (for sendfile) */
	struct kmqd_op recv_op;
	struct kmqd_op send_op;
	struct kmqd_op connect_op;
	struct sockaddr_storage sa;
	socklen_t salen;
	char peer[64];
	void *priv;
	struct kmqd_waiter *waiters;
	struct kmqd_conn *next;
	struct kmqd_conn *prev;
};

struct kmqd_post {
	void (*fn)(void *arg);
	void *arg;
	struct kmqd_post *next;
};

struct kmqd_loop {
	struct io_uring ring;
	pthread_t thread;
	unsigned int idx;
	bool stop;
	int efd;
	uint64_t efd_val;
	struct kmqd_op event_op;
	struct __kernel_timespec tick;
	struct kmqd_op timer_op;
	pthread_mutex_t post_lock;
	struct kmqd_post *posts;
	struct kmqd_post **posts_tail;
	struct kmqd_listener listeners[KMQD_MAX_LISTENERS];
	unsigned int nlisteners;
	struct kmqd_conn *conns;
	struct kmqd_conn *zombies;	/* closed, operations still in flight */
	unsigned int open_fds;		/* sockets not yet released */
	int32_t next_opaque;
};

static struct kmqd_loop *kmqd_loops;
static unsigned int kmqd_nloops;
static struct kmqd_service *kmqd_services[KMQD_MAX_SERVICES];
static unsigned int kmqd_nservices;
static pthread_mutex_t kmqd_services_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t kmqd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct io_uring_sqe *kmqd_sqe(struct kmqd_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

unsigned int kmqd_loop_count(void)
{
	return kmqd_nloops;
}

struct kmqd_loop *kmqd_loop_get(unsigned int i)
{
	return &kmqd_loops[i % kmqd_nloops];
}

unsigned int kmqd_loop_index(struct kmqd_loop *l)
{
	return l->idx;
}

int kmqd_loop_post(struct kmqd_loop *l, void (*fn)(void *arg), void *arg)
{
	struct kmqd_post *p = malloc(sizeof(*p));
	uint64_t one = 1;

	if (!p)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	p->next = NULL;
	pthread_mutex_lock(&l->post_lock);
	*l->posts_tail = p;
	l->posts_tail = &p->next;
	pthread_mutex_unlock(&l->post_lock);
	if (write(l->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void kmqd_arm_event(struct kmqd_loop *l)
{
	struct io_uring_sqe *sqe = kmqd_sqe(l);

	io_uring_prep_read(sqe, l->efd, &l->efd_val, sizeof(l->efd_val), 0);
	io_uring_sqe_set_data(sqe, &l->event_op);
}

static void kmqd_run_posts(struct kmqd_loop *l)
{
	struct kmqd_post *p;

	pthread_mutex_lock(&l->post_lock);
	p = l->posts;
	l->posts = NULL;
	l->posts_tail = &l->posts;
	pthread_mutex_unlock(&l->post_lock);
	while (p) {
		struct kmqd_post *next = p->next;

		p->fn(p->arg);
		free(p);
		p = next;
	}
}

static void kmqd_arm_timer(struct kmqd_loop *l)
{
	struct io_uring_sqe *sqe = kmqd_sqe(l);

	l->tick.tv_sec = 0;
	l->tick.tv_nsec = KMQD_TICK_MS * 1000000;
	io_uring_prep_timeout(sqe, &l->tick, 0, 0);
	io_uring_sqe_set_data(sqe, &l->timer_op);
}

/* Connections */

static _Atomic uint64_t kmqd_sendfile_bytes, kmqd_copy_bytes;

void kmqd_delivery_stats(uint64_t *sendfile_bytes, uint64_t *copy_bytes)
{
	*sendfile_bytes = atomic_load(&kmqd_sendfile_bytes);
	*copy_bytes = atomic_load(&kmqd_copy_bytes);
}

/* Release the ranges of @f not yet sent, or its sender, and free it. */
static void kmqd_fchunk_free(struct kmqd_fchunk *f)
{
	for (; f->cur < f->n; f->cur++)
		if (f->r[f->cur].release)
			f->r[f->cur].release(f->r[f->cur].arg);
	if (f->snd.send)
		f->snd.done(f->snd.arg, f->snd.cookie, false);
	kmq_buf_free(&f->hdr);
	kmq_buf_free(&f->after);
	free(f);
}

/* Release every file range still queued (the connection is gone). */
static void kmqd_fq_drop(struct kmqd_conn *c)
{
	struct kmqd_fchunk *f;

	while ((f = c->fq)) {
		c->fq = f->next;
		kmqd_fchunk_free(f);
	}
	c->fq_tail = NULL;
	c->fq_bytes = 0;
}

void kmqd_conn_get(struct kmqd_conn *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void kmqd_conn_put(struct kmqd_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	free(c->rbuf);
	kmq_buf_free(&c->sending);
	kmq_buf_free(&c->pending);
	kmqd_fq_drop(c);
	free(c);
}

struct kmqd_loop *kmqd_conn_loop(struct kmqd_conn *c)
{
	return c->loop;
}

const char *kmqd_conn_peer(const struct kmqd_conn *c)
{
	return c->peer;
}

void *kmqd_conn_priv(struct kmqd_conn *c)
{
	return c->priv;
}

void kmqd_conn_set_priv(struct kmqd_conn *c, void *priv)
{
	c->priv = priv;
}

bool kmqd_conn_is_open(const struct kmqd_conn *c)
{
	return !c->closing;
}

static struct kmqd_conn *kmqd_conn_new(struct kmqd_loop *l, int fd,
				       struct kmqd_service *svc)
{
	struct kmqd_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = l;
	c->svc = svc;
	c->fd = fd;
	atomic_init(&c->refs, 1);
	l->open_fds++;
	c->recv_op.type = KMQD_OP_RECV;
	c->recv_op.owner = c;
	c->send_op.type = KMQD_OP_SEND;
	c->send_op.owner = c;
	c->connect_op.type = KMQD_OP_CONNECT;
	c->connect_op.owner = c;
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	return c;
}

static void kmqd_peer_name(struct kmqd_conn *c, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
}

static void kmqd_zombie_unlink(struct kmqd_conn *c)
{
	struct kmqd_loop *l = c->loop;

	if (c->prev)
		c->prev->next = c->next;
	else
		l->zombies = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = NULL;
	c->prev = NULL;
}

/* Free the socket once no operation of it is in flight. */
static void kmqd_conn_release(struct kmqd_conn *c)
{
	if (!c->closing || c->recv_armed || c->send_armed || c->connecting ||
	    c->fd < 0)
		return;
	kmqd_zombie_unlink(c);
	if (c->abort) {
		/* A FIN would wait behind data the peer does not read. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
	c->loop->open_fds--;
	kmqd_conn_put(c);
}

static void kmqd_cancel(struct kmqd_loop *l, struct kmqd_op *op)
{
	struct io_uring_sqe *sqe = kmqd_sqe(l);

	io_uring_prep_cancel(sqe, op, 0);
	io_uring_sqe_set_data(sqe, NULL);
}

/* kmqd_conn_abort() - close with a reset: for peers that misbehave. */
static void kmqd_conn_abort(struct kmqd_conn *c)
{
	c->abort = true;
	kmqd_conn_close(c);
}

void kmqd_conn_close(struct kmqd_conn *c)
{
	struct kmqd_loop *l = c->loop;
	struct kmqd_waiter *w;

	if (c->closing)
		return;
	c->closing = true;
	shutdown(c->fd, SHUT_RDWR);
	/*
	 * shutdown() does not end a send waiting on a peer's zero window:
	 * cancel what is in flight, so the socket can be released.
	 */
	if (c->send_armed)
		kmqd_cancel(l, &c->send_op);
	if (c->recv_armed)
		kmqd_cancel(l, &c->recv_op);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* Listed until the kernel is done with its buffers. */
	c->prev = NULL;
	c->next = l->zombies;
	if (l->zombies)
		l->zombies->prev = c;
	l->zombies = c;
	while ((w = c->waiters)) {
		c->waiters = w->next;
		w->fn(c, NULL, w->arg);
		free(w);
	}
	if (c->svc && c->svc->closed)
		c->svc->closed(c);
	kmqd_conn_release(c);
}

static void kmqd_arm_recv(struct kmqd_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->closing || c->recv_armed || c->connecting)
		return;
	if (c->rlen == c->rcap) {
		size_t cap = c->rcap ? c->rcap * 2 : KMQD_RBUF_INITIAL;
		uint8_t *n;

		if (cap > KMQ_RMT_MAX_FRAME + KMQ_RMT_PREFIX)
			cap = KMQ_RMT_MAX_FRAME + KMQ_RMT_PREFIX;
		if (cap <= c->rcap) {
			kmqd_conn_close(c);
			return;
		}
		n = realloc(c->rbuf, cap);
		if (!n) {
			log_err("%s: out of memory for a frame", c->peer);
			kmqd_conn_close(c);
			return;
		}
		c->rbuf = n;
		c->rcap = cap;
	}
	sqe = kmqd_sqe(c->loop);
	io_uring_prep_recv(sqe, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
	io_uring_sqe_set_data(sqe, &c->recv_op);
	c->recv_armed = true;
}

/*
 * Send the frame of the sender that heads the file queue until it is out
 * or the socket is full. Return: 1 when it is out (its done called), 0
 * when the caller must wait for POLLOUT, or a negative errno.
 */
static int kmqd_send_frame(struct kmqd_conn *c, struct kmqd_fchunk *f)
{
	uint64_t total = f->hdr.len + (uint64_t)f->snd.body_len;

	while (f->done < total) {
		uint64_t sent = f->done, body;
		bool first = !f->done;
		int ret;

		ret = f->snd.send(f->snd.arg, f->snd.cookie, c->fd,
				  first ? f->hdr.data : NULL,
				  first ? f->hdr.len : 0, f->done, &sent);
		if (sent > f->done && sent <= total) {
			/* Body bytes of this call: those past the header. */
			body = sent - (f->done > f->hdr.len ? f->done :
				       f->hdr.len);
			if (sent > f->hdr.len)
				atomic_fetch_add(f->snd.zero_copy ?
						 &kmqd_sendfile_bytes :
						 &kmqd_copy_bytes, body);
			c->fq_bytes -= sent - f->done;
			f->done = sent;
			c->send_progress_ms = kmqd_mono_ms();
		}
		if (ret == -EAGAIN)
			return 0;
		if (ret && ret != -EINTR)
			return ret;
		/* Part went: the socket is full, wait for room. */
		if (!ret && f->done < total)
			return 0;
	}
	f->snd.send = NULL;
	f->snd.done(f->snd.arg, f->snd.cookie, true);
	return 1;
}

/*
 * Send the reply that heads the file queue: its ranges with sendfile()
 * (each released once sent) or its frame through its sender, until it is
 * done or the socket is full. Return: 1 when the reply is done (popped,
 * its trailing bytes now pending), 0 when the caller must wait for
 * POLLOUT, or a negative errno (the connection is closed).
 */
static int kmqd_send_file(struct kmqd_conn *c)
{
	struct kmqd_fchunk *f = c->fq;
	int ret;

	if (!c->nonblock) {
		int fl = fcntl(c->fd, F_GETFL);

		if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
		c->nonblock = true;
	}
	if (f->snd.send) {
		ret = kmqd_send_frame(c, f);
		if (ret <= 0)
			return ret;
	}
	for (; f->cur < f->n; f->cur++, f->done = 0) {
		struct kmqd_file_range *r = &f->r[f->cur];

		while (f->done < r->len) {
			off_t off = (off_t)(r->off + f->done);
			ssize_t n = sendfile(c->fd, r->fd, &off,
					     r->len - f->done);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN ? 0 : -errno;
			}
			if (!n)
				return -EIO;	/* file shorter than the range */
			f->done += n;
			c->fq_bytes -= n;
			atomic_fetch_add(&kmqd_sendfile_bytes, n);
			c->send_progress_ms = kmqd_mono_ms();
		}
		if (r->release)
			r->release(r->arg);
	}
	c->fq = f->next;
	if (!c->fq)
		c->fq_tail = NULL;
	/* pending is empty here: bytes after the reply come next. */
	c->fq_bytes -= f->after.len;
	kmq_buf_free(&c->pending);
	c->pending = f->after;
	f->after = (struct kmq_buf){ 0 };
	kmqd_fchunk_free(f);
	return 1;
}

static void kmqd_arm_send(struct kmqd_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->closing || c->send_armed || c->connecting)
		return;
	while (c->sent == c->sending.len && !c->pending.len && c->fq) {
		int ret;

		if (!c->send_progress_ms)
			c->send_progress_ms = kmqd_mono_ms();
		ret = kmqd_send_file(c);
		if (ret < 0) {
			log_warn("%s: sending a reply's body: %s", c->peer,
				 strerror(-ret));
			kmqd_conn_close(c);
			return;
		}
		if (!ret) {
			sqe = kmqd_sqe(c->loop);
			io_uring_prep_poll_add(sqe, c->fd, POLLOUT);
			io_uring_sqe_set_data(sqe, &c->send_op);
			c->send_poll = true;
			c->send_armed = true;
			return;
		}
	}
	if (c->sent == c->sending.len) {
		struct kmq_buf t = c->sending;

		if (!c->pending.len) {
			if (!c->fq)
				c->send_progress_ms = 0;
			return;
		}
		t.len = 0;
		c->sending = c->pending;
		c->pending = t;
		c->sent = 0;
	}
	if (!c->send_progress_ms)
		c->send_progress_ms = kmqd_mono_ms();
	sqe = kmqd_sqe(c->loop);
	io_uring_prep_send(sqe, c->fd, c->sending.data + c->sent,
			   c->sending.len - c->sent, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, &c->send_op);
	c->send_armed = true;
}

/* Where bytes queued now go: after the last file range, if any. */
static struct kmq_buf *kmqd_out_tail(struct kmqd_conn *c)
{
	return c->fq_tail ? &c->fq_tail->after : &c->pending;
}

static size_t kmqd_out_queued(struct kmqd_conn *c)
{
	return c->sending.len - c->sent + c->pending.len + c->fq_bytes;
}

/* Whether more may be queued on @c: -EPIPE if not (closed, or closing). */
static int kmqd_conn_may_queue(struct kmqd_conn *c)
{
	size_t queued;

	if (c->closing)
		return -EPIPE;
	queued = kmqd_out_queued(c);
	if (queued > KMQD_OUT_MAX) {
		log_warn("%s: peer is not reading (%zu bytes queued), closing",
			 c->peer, queued);
		kmqd_conn_abort(c);
		return -EPIPE;
	}
	return 0;
}

static int kmqd_conn_queue(struct kmqd_conn *c, const struct kmq_rmt_cmd *cmd,
			   const struct iovec *iov, unsigned int n,
			   size_t extra)
{
	struct kmq_buf *out = kmqd_out_tail(c);
	size_t before = out->len, body_len = extra;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++)
		body_len += iov[i].iov_len;

	ret = kmqd_conn_may_queue(c);
	if (ret)
		return ret;
	ret = body_len > UINT32_MAX ? -EMSGSIZE :
	      kmq_rmt_encode(out, cmd, body_len);
	for (i = 0; !ret && i < n; i++)
		ret = kmq_buf_put(out, iov[i].iov_base, iov[i].iov_len);
	if (ret) {
		out->len = before;
		return ret;
	}
	if (out != &c->pending)
		c->fq_bytes += out->len - before;
	return 0;
}

int kmqd_conn_reply(struct kmqd_conn *c, const struct kmq_rmt_cmd *resp,
		    const void *body, uint32_t body_len)
{
	struct iovec iov = { .iov_base = (void *)body, .iov_len = body_len };
	int ret = kmqd_conn_queue(c, resp, &iov, body_len ? 1 : 0, 0);

	if (!ret)
		kmqd_arm_send(c);
	return ret;
}

int kmqd_conn_replyv(struct kmqd_conn *c, const struct kmq_rmt_cmd *resp,
		     const struct iovec *iov, unsigned int n)
{
	int ret = kmqd_conn_queue(c, resp, iov, n, 0);
	unsigned int i;

	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		atomic_fetch_add(&kmqd_copy_bytes, iov[i].iov_len);
	kmqd_arm_send(c);
	return 0;
}

int kmqd_conn_reply_files(struct kmqd_conn *c, const struct kmq_rmt_cmd *resp,
			  const struct kmqd_file_range *r, unsigned int n)
{
	struct kmqd_fchunk *f;
	size_t body = 0;
	unsigned int i;
	int ret;

	if (!n)
		return kmqd_conn_reply(c, resp, NULL, 0);
	for (i = 0; i < n; i++)
		body += r[i].len;
	f = malloc(sizeof(*f) + n * sizeof(f->r[0]));
	if (!f)
		return -ENOMEM;
	ret = kmqd_conn_queue(c, resp, NULL, 0, body);
	if (ret) {
		free(f);
		return ret;
	}
	/* Queued: from now on each range is released when it is sent. */
	memset(f, 0, sizeof(*f));
	f->n = n;
	memcpy(f->r, r, n * sizeof(f->r[0]));
	if (c->fq_tail)
		c->fq_tail->next = f;
	else
		c->fq = f;
	c->fq_tail = f;
	c->fq_bytes += body;
	kmqd_arm_send(c);
	return 0;
}

int kmqd_conn_reply_sender(struct kmqd_conn *c, const struct kmq_rmt_cmd *resp,
			   const struct kmqd_frame_sender *s)
{
	struct kmqd_fchunk *f;
	int ret;

	ret = kmqd_conn_may_queue(c);
	if (ret)
		return ret;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	ret = kmq_rmt_encode(&f->hdr, resp, s->body_len);
	if (ret) {
		kmq_buf_free(&f->hdr);
		free(f);
		return ret;
	}
	/* Queued: from now on the sender's done is called once. */
	f->snd = *s;
	if (c->fq_tail)
		c->fq_tail->next = f;
	else
		c->fq = f;
	c->fq_tail = f;
	c->fq_bytes += f->hdr.len + (size_t)s->body_len;
	kmqd_arm_send(c);
	return 0;
}

int kmqd_conn_request(struct kmqd_conn *c, struct kmq_rmt_cmd *req,
		      const void *body, uint32_t body_len, kmqd_reply_fn fn,
		      void *arg)
{
	struct kmqd_waiter *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	req->opaque = ++c->loop->next_opaque;
	ret = kmqd_conn_reply(c, req, body, body_len);
	if (ret) {
		free(w);
		return ret;
	}
	w->opaque = req->opaque;
	w->deadline = kmqd_mono_ms() + KMQD_REQUEST_TIMEOUT_MS;
	w->fn = fn;
	w->arg = arg;
	w->next = c->waiters;
	c->waiters = w;
	return 0;
}

static void kmqd_conn_response(struct kmqd_conn *c, struct kmq_rmt_cmd *cmd)
{
	struct kmqd_waiter **pp, *w;

	for (pp = &c->waiters; *pp; pp = &(*pp)->next) {
		if ((*pp)->opaque != cmd->opaque)
			continue;
		w = *pp;
		*pp = w->next;
		w->fn(c, cmd, w->arg);
		free(w);
		return;
	}
	log_debug("%s: response to unknown opaque %d", c->peer, cmd->opaque);
}

/* Decode and dispatch every whole frame in the receive buffer. */
static void kmqd_conn_frames(struct kmqd_conn *c)
{
	size_t off = 0;

	while (!c->closing) {
		struct kmq_rmt_cmd cmd;
		int64_t n;
		int ret;

		n = kmq_rmt_frame_len(c->rbuf + off, c->rlen - off,
				      KMQ_RMT_MAX_FRAME);
		if (n < 0) {
			log_warn("%s: %s; closing", c->peer, kmq_rmt_errmsg());
			kmqd_conn_abort(c);
			return;
		}
		if (!n)
			break;
		ret = kmq_rmt_decode(c->rbuf + off, n, &cmd);
		if (ret) {
			log_warn("%s: bad frame: %s; closing", c->peer,
				 kmq_rmt_errmsg());
			kmqd_conn_abort(c);
			return;
		}
		if (cmd.flag & KMQ_RMT_FLAG_RESPONSE)
			kmqd_conn_response(c, &cmd);
		else if (c->svc)
			c->svc->handle(c, &cmd);
		kmq_rmt_cmd_free(&cmd);
		off += n;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

/*
 * The completion handlers below hold a reference for their whole run:
 * closing (by the peer, an error, or a request handler) may release the
 * connection's own reference half way.
 */
static void kmqd_on_recv(struct kmqd_conn *c, int res)
{
	kmqd_conn_get(c);
	c->recv_armed = false;
	if (res <= 0) {
		if (res < 0 && res != -ECONNRESET && res != -ECANCELED)
			log_debug("%s: receive: %s", c->peer, strerror(-res));
		kmqd_conn_close(c);
		kmqd_conn_release(c);
	} else {
		bool full = (size_t)res == c->rcap - c->rlen;

		c->rlen += res;
		kmqd_conn_frames(c);
		/* The peer pipelines: read more of it per receive. */
		if (full && c->rcap < KMQD_RBUF_BURST && c->rlen < c->rcap) {
			uint8_t *n = realloc(c->rbuf, c->rcap * 2);

			if (n) {
				c->rbuf = n;
				c->rcap *= 2;
			}
		}
		kmqd_arm_recv(c);
		kmqd_conn_release(c);
	}
	kmqd_conn_put(c);
}

static void kmqd_on_send(struct kmqd_conn *c, int res)
{
	kmqd_conn_get(c);
	c->send_armed = false;
	if (res < 0) {
		kmqd_conn_close(c);
		kmqd_conn_release(c);
		kmqd_conn_put(c);
		return;
	}
	if (c->send_poll) {
		/* The socket has room: the file queue goes on. */
		c->send_poll = false;
		kmqd_arm_send(c);
		kmqd_conn_release(c);
		kmqd_conn_put(c);
		return;
	}
	c->sent += res;
	c->send_progress_ms = kmqd_mono_ms();
	if (c->sent == c->sending.len) {
		c->sending.len = 0;
		c->sent = 0;
		/* Shrink what a burst left behind. */
		if (c->sending.cap > (1u << 20))
			kmq_buf_free(&c->sending);
		if (!c->pending.len && !c->fq)
			c->send_progress_ms = 0;
	}
	kmqd_arm_send(c);
	kmqd_conn_release(c);
	kmqd_conn_put(c);
}

static void kmqd_on_connect(struct kmqd_conn *c, int res)
{
	kmqd_conn_get(c);
	c->connecting = false;
	if (res < 0 || c->closing) {
		log_warn("connect to %s: %s", c->peer,
			 res < 0 ? strerror(-res) : "closed");
		kmqd_conn_close(c);
		kmqd_conn_release(c);
	} else {
		kmqd_arm_recv(c);
		kmqd_arm_send(c);
	}
	kmqd_conn_put(c);
}

struct kmqd_conn *kmqd_conn_connect(struct kmqd_loop *l, const char *addr,
				    struct kmqd_service *svc)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct io_uring_sqe *sqe;
	char host[256], *colon;
	struct kmqd_conn *c;
	int fd, one = 1;

	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (!colon)
		return NULL;
	*colon = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) || !ai)
		return NULL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = kmqd_conn_new(l, fd, svc);
	if (!c) {
		close(fd);
		freeaddrinfo(ai);
		return NULL;
	}
	memcpy(&c->sa, ai->ai_addr, ai->ai_addrlen);
	c->salen = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(c->peer, sizeof(c->peer), "%s", addr);
	c->connecting = true;
	sqe = kmqd_sqe(l);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->sa, c->salen);
	io_uring_sqe_set_data(sqe, &c->connect_op);
	return c;
}

/* Listening */

static void kmqd_arm_accept(struct kmqd_loop *l, struct kmqd_listener *ls)
{
	struct io_uring_sqe *sqe = kmqd_sqe(l);

	io_uring_prep_multishot_accept(sqe, ls->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, &ls->op);
}

static void kmqd_on_accept(struct kmqd_loop *l, struct kmqd_listener *ls,
			   struct io_uring_cqe *cqe)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	struct kmqd_conn *c;
	int one = 1;

	if (!(cqe->flags & IORING_CQE_F_MORE) && !l->stop)
		kmqd_arm_accept(l, ls);
	if (cqe->res < 0) {
		if (cqe->res != -ECANCELED)
			log_warn("%s: accept: %s", ls->svc->name,
				 strerror(-cqe->res));
		return;
	}
	/*
	 * Stopping: the loop has closed its connections and only drains
	 * the ring. A connection made now would outlive the ring (and be
	 * answered on it after io_uring_queue_exit()).
	 */
	if (l->stop) {
		close(cqe->res);
		return;
	}
	setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = kmqd_conn_new(l, cqe->res, ls->svc);
	if (!c) {
		close(cqe->res);
		return;
	}
	if (!getpeername(cqe->res, (struct sockaddr *)&sa, &salen))
		kmqd_peer_name(c, (struct sockaddr *)&sa);
	kmqd_arm_recv(c);
}

struct kmqd_listen_arg {
	struct kmqd_loop *loop;
	int fd;
	struct kmqd_service *svc;
};

static void kmqd_listen_on_loop(void *arg)
{
	struct kmqd_listen_arg *a = arg;
	struct kmqd_loop *l = a->loop;
	struct kmqd_listener *ls;

	if (l->nlisteners == KMQD_MAX_LISTENERS) {
		close(a->fd);
		free(a);
		return;
	}
	ls = &l->listeners[l->nlisteners++];
	ls->fd = a->fd;
	ls->svc = a->svc;
	ls->op.type = KMQD_OP_ACCEPT;
	ls->op.owner = ls;
	kmqd_arm_accept(l, ls);
	free(a);
}

static int kmqd_listen_socket(const char *addr, uint16_t port)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	}, *ai = NULL;
	char ports[8];
	int fd, one = 1, err;

	snprintf(ports, sizeof(ports), "%u", port);
	err = getaddrinfo(addr, ports, &hints, &ai);
	if (err || !ai)
		return -EADDRNOTAVAIL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
		err = -errno;
		close(fd);
		goto out;
	}
	err = fd;
out:
	freeaddrinfo(ai);
	return err;
}

int kmqd_listen(const char *addr, uint16_t port, struct kmqd_service *svc)
{
	unsigned int i;

	pthread_mutex_lock(&kmqd_services_lock);
	if (kmqd_nservices < KMQD_MAX_SERVICES)
		kmqd_services[kmqd_nservices++] = svc;
	pthread_mutex_unlock(&kmqd_services_lock);
	for (i = 0; i < kmqd_nloops; i++) {
		struct kmqd_listen_arg *a = malloc(sizeof(*a));
		int fd = kmqd_listen_socket(addr, port);

		if (fd < 0) {
			free(a);
			log_err("%s: cannot listen on %s:%u: %s", svc->name,
				addr, port, strerror(-fd));
			return fd;
		}
		if (!a) {
			close(fd);
			return -ENOMEM;
		}
		a->loop = &kmqd_loops[i];
		a->fd = fd;
		a->svc = svc;
		kmqd_loop_post(a->loop, kmqd_listen_on_loop, a);
	}
	log_info("%s listening on %s:%u (%u loops)", svc->name, addr, port,
		 kmqd_nloops);
	return 0;
}

/* The loop */

static void kmqd_on_tick(struct kmqd_loop *l)
{
	uint64_t now = kmqd_mono_ms();
	struct kmqd_conn *c, *next;
	unsigned int i;

	for (c = l->conns; c; c = next) {
		struct kmqd_waiter **pp = &c->waiters;
		size_t queued = kmqd_out_queued(c);

		next = c->next;
		if (c->send_armed && queued >= KMQD_STALL_BYTES &&
		    now - c->send_progress_ms >= KMQD_STALL_MS) {
			log_warn("%s: not reading for %u s with %zu bytes queued, closing",
				 c->peer, KMQD_STALL_MS / 1000, queued);
			kmqd_conn_abort(c);
			continue;
		}
		while (*pp) {
			struct kmqd_waiter *w = *pp;

			if (w->deadline > now) {
				pp = &w->next;
				continue;
			}
			*pp = w->next;
			w->fn(c, NULL, w->arg);
			free(w);
		}
	}
	for (i = 0; i < kmqd_nservices; i++)
		if (kmqd_services[i]->tick)
			kmqd_services[i]->tick(l, now);
}

static void kmqd_on_cqe(struct kmqd_loop *l, struct io_uring_cqe *cqe)
{
	struct kmqd_op *op = io_uring_cqe_get_data(cqe);

	if (!op)
		return;
	switch (op->type) {
	case KMQD_OP_ACCEPT:
		kmqd_on_accept(l, op->owner, cqe);
		break;
	case KMQD_OP_RECV:
		kmqd_on_recv(op->owner, cqe->res);
		break;
	case KMQD_OP_SEND:
		kmqd_on_send(op->owner, cqe->res);
		break;
	case KMQD_OP_CONNECT:
		kmqd_on_connect(op->owner, cqe->res);
		break;
	case KMQD_OP_TIMER:
		/* Not while stopping: a tick may connect to a name server. */
		if (!l->stop) {
			kmqd_on_tick(l);
			kmqd_arm_timer(l);
		}
		break;
	case KMQD_OP_EVENT:
		kmqd_run_posts(l);
		if (!l->stop)
			kmqd_arm_event(l);
		break;
	}
}

static void *kmqd_loop_main(void *arg)
{
	struct kmqd_loop *l = arg;
	char name[16];

	snprintf(name, sizeof(name), "kmqd-io%u", l->idx);
	pthread_setname_np(pthread_self(), name);
	kmqd_arm_event(l);
	kmqd_arm_timer(l);
	while (!l->stop) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int ret;

		ret = io_uring_submit_and_wait(&l->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY) {
			log_err("io loop %u: %s", l->idx, strerror(-ret));
			break;
		}
		io_uring_for_each_cqe(&l->ring, head, cqe) {
			kmqd_on_cqe(l, cqe);
			n++;
		}
		io_uring_cq_advance(&l->ring, n);
	}
	/* Close what is left and let the ring finish its operations. */
	while (l->conns)
		kmqd_conn_close(l->conns);
	while (l->open_fds) {
		struct __kernel_timespec ts = { .tv_sec = 1 };
		struct io_uring_cqe *cqe;

		if (io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts,
						     NULL))
			break;
		kmqd_on_cqe(l, cqe);
		io_uring_cqe_seen(&l->ring, cqe);
	}
	return NULL;
}

int kmqd_loops_start(unsigned int n)
{
	unsigned int i;
	int ret;

	kmqd_loops = calloc(n, sizeof(*kmqd_loops));
	if (!kmqd_loops)
		return -ENOMEM;
	kmqd_nloops = n;
	for (i = 0; i < n; i++) {
		struct kmqd_loop *l = &kmqd_loops[i];

		l->idx = i;
		pthread_mutex_init(&l->post_lock, NULL);
		l->posts_tail = &l->posts;
		l->event_op.type = KMQD_OP_EVENT;
		l->timer_op.type = KMQD_OP_TIMER;
		l->efd = eventfd(0, EFD_CLOEXEC);
		if (l->efd < 0)
			return -errno;
		ret = io_uring_queue_init(KMQD_RING_ENTRIES, &l->ring, 0);
		if (ret) {
			log_err("io_uring_queue_init: %s", strerror(-ret));
			return ret;
		}
	}
	for (i = 0; i < n; i++) {
		ret = pthread_create(&kmqd_loops[i].thread, NULL,
				     kmqd_loop_main, &kmqd_loops[i]);
		if (ret)
			return -ret;
	}
	return 0;
}

static void kmqd_loop_stop_one(void *arg)
{
	struct kmqd_loop *l = arg;

	l->stop = true;
}

void kmqd_loops_stop(void)
{
	unsigned int i;

	for (i = 0; i < kmqd_nloops; i++)
		kmqd_loop_post(&kmqd_loops[i], kmqd_loop_stop_one,
			       &kmqd_loops[i]);
}

void kmqd_loops_join(void)
{
	unsigned int i;

	for (i = 0; i < kmqd_nloops; i++)
		pthread_join(kmqd_loops[i].thread, NULL);
	for (i = 0; i < kmqd_nloops; i++) {
		struct kmqd_loop *l = &kmqd_loops[i];
		unsigned int j;

		for (j = 0; j < l->nlisteners; j++)
			close(l->listeners[j].fd);
		/* Ends every operation still in flight. */
		io_uring_queue_exit(&l->ring);
		while (l->zombies) {
			struct kmqd_conn *c = l->zombies;

			c->recv_armed = false;
			c->send_armed = false;
			c->connecting = false;
			kmqd_conn_release(c);
		}
		/* Posts left over release what they hold. */
		kmqd_run_posts(l);
		close(l->efd);
	}
}
