// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_conn.c - one TCP connection's bytes: connecting with a timeout;
 * frames encoded into the connection's output buffer and written by
 * whichever thread finds no writer at work (the caller, or the I/O thread
 * woken for it), everything queued in one send(), with back-pressure;
 * and received bytes cut into frames decoded by the remoting codec, with
 * SO_RCVLOWAT while a large frame is partly in.
 */
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kmq_client_int.h"
#include "kmq_endian.h"

#define KMQC_RBUF_MIN	(64u << 10)
#define KMQC_RECV_MAX	(256u << 10)
#define KMQC_OUT_MAX	(4u << 20)	/* queued bytes before callers wait */
#define KMQC_WRITE_SOON	(64u << 10)	/* a caller writes from this much */
#define KMQC_BUF_KEEP	(1u << 20)	/* larger buffers freed once sent */
#define KMQC_SENDS_MAX	4		/* send() calls of a non-blocking pass */
#define KMQC_LOWAT_MIN	(8u << 10)	/* missing bytes worth a SO_RCVLOWAT */
#define KMQC_LOWAT_MAX	(256u << 10)

/* Split "host:port" at the last ':'. */
static int kmqc_split_addr(const char *addr, char *host, size_t hlen,
			   char *port, size_t plen)
{
	const char *colon = strrchr(addr, ':');
	size_t n;

	if (!colon || colon == addr || !colon[1])
		return -EINVAL;
	n = colon - addr;
	if (addr[0] == '[' && colon[-1] == ']') {
		addr++;
		n -= 2;
	}
	if (n >= hlen || strlen(colon + 1) >= plen)
		return -EINVAL;
	memcpy(host, addr, n);
	host[n] = '\0';
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

static int kmqc_connect_one(const struct addrinfo *ai, uint64_t deadline,
			    int *out)
{
	int fd, one = 1, err = 0, r;
	socklen_t elen = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
		goto done;
	if (errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		uint64_t now = kmqc_mono_ms();

		if (now >= deadline) {
			close(fd);
			return -ETIMEDOUT;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		if (r > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
		err = err ? -err : -errno;
		close(fd);
		return err;
	}
done:
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	*out = fd;
	return 0;
}

int kmqc_sock_connect(const char *addr, unsigned int timeout_ms, int *fd)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	}, *res, *ai;
	uint64_t deadline = kmqc_mono_ms() + timeout_ms;
	char host[256], port[16];
	int ret;

	ret = kmqc_split_addr(addr, host, sizeof(host), port, sizeof(port));
	if (ret)
		return kmqc_fail(ret, "address %s is not host:port", addr);
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret)
		return kmqc_fail(-EHOSTUNREACH, "resolve %s: %s", addr,
				 gai_strerror(ret));
	ret = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		ret = kmqc_connect_one(ai, deadline, fd);
		if (!ret)
			break;
	}
	freeaddrinfo(res);
	if (ret)
		return kmqc_fail(ret, "connect to %s", addr);
	return 0;
}

void kmqc_conn_init(struct kmqc_conn *c)
{
	pthread_mutex_init(&c->wlock, NULL);
	/* Waits on it end at kmqc_mono_ms() deadlines. */
	if (kmqc_cond_init(&c->wcv))
		pthread_cond_init(&c->wcv, NULL);
	c->writing = false;
}

void kmqc_conn_destroy(struct kmqc_conn *c)
{
	pthread_mutex_destroy(&c->wlock);
	pthread_cond_destroy(&c->wcv);
	kmq_buf_free(&c->out);
	kmq_buf_free(&c->wbuf);
}

static void kmqc_conn_wake(struct kmqc_conn *c)
{
	uint64_t one = 1;

	if (c->evfd >= 0 && write(c->evfd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		kmqc_warn("wake the I/O thread: %s", strerror(errno));
}

/* Bytes queued and not yet written (wlock held). */
static size_t kmqc_unsent(const struct kmqc_conn *c)
{
	return c->out.len + c->wbuf.len - c->woff;
}

/*
 * Wait until the socket takes more (wlock held, dropped while waiting).
 * Return: 0, -ETIMEDOUT once @deadline passed, or poll()'s error.
 */
static int kmqc_wait_out(struct kmqc_conn *c, uint64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
	uint64_t now = kmqc_mono_ms();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	pthread_mutex_unlock(&c->wlock);
	r = poll(&pfd, 1, deadline - now > INT_MAX ? INT_MAX :
		 (int)(deadline - now));
	r = r < 0 && errno != EINTR ? -errno : 0;
	pthread_mutex_lock(&c->wlock);
	return r;
}

/*
 * The writer's loop (wlock held, dropped while sending; the caller set
 * c->writing): send @wbuf, then what was queued meanwhile, until
 * @until bytes are written in all or nothing is queued. A full socket
 * ends a non-blocking writer (@deadline 0: *@full set); a blocking one
 * waits for room until @deadline. At most @sends send() calls.
 * Return: 0, -ETIMEDOUT, or the error of send().
 */
static int kmqc_conn_write_locked(struct kmqc_conn *c, uint64_t until,
				  uint64_t deadline, unsigned int sends,
				  bool *full)
{
	struct kmq_buf t;
	ssize_t w;
	int err;

	*full = false;
	while (!c->werr && c->written < until && sends) {
		if (c->woff == c->wbuf.len) {
			if (!c->out.len)
				return 0;
			t = c->wbuf;
			c->wbuf = c->out;
			c->out = t;
			c->out.len = 0;
			c->woff = 0;
		}
		pthread_mutex_unlock(&c->wlock);
		w = send(c->fd, c->wbuf.data + c->woff, c->wbuf.len - c->woff,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		err = w < 0 ? errno : 0;
		pthread_mutex_lock(&c->wlock);
		sends--;
		if (w > 0) {
			c->woff += w;
			c->written += w;
			c->wstall = 0;
			if (c->woff == c->wbuf.len) {
				c->wbuf.len = 0;
				c->woff = 0;
				if (c->wbuf.cap > KMQC_BUF_KEEP)
					kmq_buf_free(&c->wbuf);
			}
			pthread_cond_broadcast(&c->wcv);
			continue;
		}
		if (err == EINTR)
			continue;
		if (w == 0 || (err != EAGAIN && err != EWOULDBLOCK))
			return err ? -err : -EPIPE;
		if (!c->wstall)
			c->wstall = kmqc_mono_ms();
		if (!deadline) {
			*full = true;
			return 0;
		}
		err = kmqc_wait_out(c, deadline);
		if (err)
			return err;
	}
	return c->werr;
}

/*
 * A writer stops (wlock held): what it left goes to the I/O thread.
 * Return: whether the I/O thread is to be woken (after the unlock).
 */
static bool kmqc_conn_writer_done(struct kmqc_conn *c, int err, bool full,
				  bool io)
{
	bool wake = false;

	c->writing = false;
	if (err && !c->werr)
		c->werr = err;
	pthread_cond_broadcast(&c->wcv);
	if (c->werr || !kmqc_unsent(c)) {
		c->io_flush = false;
		c->want_out = false;
		return false;
	}
	if (full)
		c->want_out = true;
	/* It may be asleep with a poll() set made while we were writing. */
	if (!io)
		wake = true;
	c->io_flush = true;
	return wake;
}

int kmqc_conn_send(struct kmqc_conn *c, const struct kmq_rmt_cmd *cmd,
		   const void *body, size_t blen, uint64_t deadline,
		   enum kmqc_wmode mode, bool *lost)
{
	bool wake = false, full;
	uint64_t end;
	size_t start;
	int ret = 0;

	*lost = false;
	pthread_mutex_lock(&c->wlock);
	/* Back-pressure: the socket must drain what waits first. */
	while (!c->werr && kmqc_unsent(c) >= KMQC_OUT_MAX) {
		if (!c->writing) {
			c->writing = true;
			ret = kmqc_conn_write_locked(c, c->written + 1,
						     deadline, UINT_MAX,
						     &full);
			wake |= kmqc_conn_writer_done(c, ret, full, false);
		} else if (kmqc_cond_wait_until(&c->wcv, &c->wlock,
						deadline) == ETIMEDOUT &&
			   kmqc_unsent(c) >= KMQC_OUT_MAX) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (c->werr || ret) {
		ret = c->werr ? c->werr : ret;
		*lost = true;
		goto out;
	}
	start = c->out.len;
	ret = kmq_rmt_encode(&c->out, cmd, blen);
	if (!ret)
		ret = kmq_buf_put(&c->out, body, blen);
	if (ret) {
		c->out.len = start;
		pthread_mutex_unlock(&c->wlock);
		return ret;
	}
	c->queued += c->out.len - start;
	end = c->queued;
	switch (mode) {
	case KMQC_W_WAIT:
		while (!c->werr && c->written < end) {
			if (!c->writing) {
				c->writing = true;
				ret = kmqc_conn_write_locked(c, end, deadline,
							     UINT_MAX, &full);
				wake |= kmqc_conn_writer_done(c, ret, full,
							      false);
				if (ret)
					break;
			} else if (kmqc_cond_wait_until(&c->wcv, &c->wlock,
							deadline) ==
				   ETIMEDOUT && c->written < end) {
				ret = -ETIMEDOUT;
				break;
			}
		}
		break;
	case KMQC_W_SOON:
	case KMQC_W_NOW:
		if (c->writing)
			break;
		if (mode == KMQC_W_SOON &&
		    kmqc_unsent(c) < KMQC_WRITE_SOON) {
			if (!c->io_flush)
				wake = true;
			c->io_flush = true;
			break;
		}
		c->writing = true;
		ret = kmqc_conn_write_locked(c, UINT64_MAX, 0, KMQC_SENDS_MAX,
					     &full);
		wake |= kmqc_conn_writer_done(c, ret, full, false);
		break;
	}
	if (!ret)
		ret = c->werr;
	*lost = ret != 0;
out:
	pthread_mutex_unlock(&c->wlock);
	if (wake && !ret)
		kmqc_conn_wake(c);
	return ret;
}

int kmqc_conn_flush(struct kmqc_conn *c, bool ready)
{
	bool full;
	int ret;

	pthread_mutex_lock(&c->wlock);
	if (!c->io_flush || c->writing || c->werr ||
	    (c->want_out && !ready)) {
		pthread_mutex_unlock(&c->wlock);
		return 0;
	}
	c->want_out = false;
	c->writing = true;
	ret = kmqc_conn_write_locked(c, UINT64_MAX, 0, KMQC_SENDS_MAX, &full);
	kmqc_conn_writer_done(c, ret, full, true);
	pthread_mutex_unlock(&c->wlock);
	return ret;
}

short kmqc_conn_poll_out(struct kmqc_conn *c, bool *now)
{
	short ev = 0;

	pthread_mutex_lock(&c->wlock);
	if (c->io_flush && !c->writing && !c->werr) {
		if (c->want_out)
			ev = POLLOUT;
		else
			*now = true;
	}
	pthread_mutex_unlock(&c->wlock);
	return ev;
}

bool kmqc_conn_stalled(struct kmqc_conn *c, uint64_t now, uint64_t ms)
{
	bool stalled;

	pthread_mutex_lock(&c->wlock);
	stalled = c->wstall && kmqc_unsent(c) && now - c->wstall >= ms;
	pthread_mutex_unlock(&c->wlock);
	return stalled;
}

void kmqc_conn_lost(struct kmqc_conn *c, int err)
{
	pthread_mutex_lock(&c->wlock);
	if (!c->werr)
		c->werr = err ? err : -ECONNRESET;
	c->io_flush = false;
	c->want_out = false;
	pthread_cond_broadcast(&c->wcv);
	pthread_mutex_unlock(&c->wlock);
}

long kmqc_conn_recv(struct kmqc_conn *c)
{
	long total = 0;

	if (c->rstart) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rlen - c->rstart);
		c->rlen -= c->rstart;
		c->rstart = 0;
	}
	for (;;) {
		ssize_t r;

		if (c->rcap - c->rlen < KMQC_RECV_MAX / 4) {
			size_t cap = c->rcap ? c->rcap * 2 : KMQC_RBUF_MIN;
			uint8_t *nb;

			if (cap > 2 * (size_t)KMQC_MAX_FRAME)
				return total ? total : -EPROTO;
			nb = realloc(c->rbuf, cap);
			if (!nb)
				return total ? total : -ENOMEM;
			c->rbuf = nb;
			c->rcap = cap;
		}
		r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen,
			 MSG_DONTWAIT);
		if (r > 0) {
			c->rlen += r;
			total += r;
			if (total >= (long)KMQC_RECV_MAX)
				return total;
			continue;
		}
		if (!r)
			return total ? total : -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return total;
		return total ? total : -errno;
	}
}

int kmqc_conn_frame(struct kmqc_conn *c, struct kmqc_frame **out)
{
	struct kmqc_frame *f;
	int64_t n;
	int ret;

	n = kmq_rmt_frame_len(c->rbuf + c->rstart, c->rlen - c->rstart,
			      KMQC_MAX_FRAME);
	if (n < 0)
		return -EPROTO;
	if (!n)
		return 0;
	/* One allocation: the frame and its bytes after it. */
	f = malloc(sizeof(*f) + n);
	if (!f)
		return -ENOMEM;
	memset(&f->cmd, 0, sizeof(f->cmd));
	f->raw = (uint8_t *)(f + 1);
	memcpy(f->raw, c->rbuf + c->rstart, n);
	f->len = n;
	c->rstart += n;
	if (c->rstart == c->rlen) {
		c->rstart = 0;
		c->rlen = 0;
	}
	ret = kmq_rmt_decode(f->raw, f->len, &f->cmd);
	if (ret) {
		kmqc_warn("undecodable frame from %s: %s", c->addr,
			  kmq_rmt_errmsg());
		free(f);
		return ret == -KMQ_RMT_ENOMEM ? -ENOMEM : -EPROTO;
	}
	*out = f;
	return 1;
}

void kmqc_conn_lowat(struct kmqc_conn *c)
{
	size_t have = c->rlen - c->rstart;
	uint64_t total;
	int want = 1;

	if (have >= 4) {
		total = 4 + (uint64_t)kmq_get_be32(c->rbuf + c->rstart);
		if (total > have && total - have >= KMQC_LOWAT_MIN)
			want = (int)(total - have > KMQC_LOWAT_MAX ?
				     KMQC_LOWAT_MAX : total - have);
	}
	if (want == (c->lowat ? c->lowat : 1))
		return;
	if (!setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof(want)))
		c->lowat = want;
}
