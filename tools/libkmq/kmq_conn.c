// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_conn.c - one TCP connection's bytes: connecting with a timeout,
 * writing whole frames before a deadline (the frames of concurrent
 * writers together), and cutting received bytes into frames decoded by
 * the remoting codec.
 */
#include <fcntl.h>
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

#define KMQC_RBUF_MIN	(64u << 10)
#define KMQC_RECV_MAX	(256u << 10)
#define KMQC_WRITE_BATCH	64	/* frames in one sendmsg() at most */

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

int kmqc_sock_writev(int fd, struct iovec *iov, int n, uint64_t deadline)
{
	while (n > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		uint64_t now;
		ssize_t w;
		int r;

		w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w >= 0) {
			while (n > 0 && (size_t)w >= iov->iov_len) {
				w -= iov->iov_len;
				iov++;
				n--;
			}
			if (n > 0) {
				iov->iov_base = (uint8_t *)iov->iov_base + w;
				iov->iov_len -= w;
			}
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		now = kmqc_mono_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

void kmqc_conn_init(struct kmqc_conn *c)
{
	pthread_mutex_init(&c->wlock, NULL);
	pthread_cond_init(&c->wcv, NULL);
	c->whead = NULL;
	c->wtail = &c->whead;
	c->writing = false;
}

void kmqc_conn_destroy(struct kmqc_conn *c)
{
	pthread_mutex_destroy(&c->wlock);
	pthread_cond_destroy(&c->wcv);
}

/*
 * Write the frames at the head of @c's queue (wlock held, dropped while
 * writing) and tell their threads.
 */
static void kmqc_conn_write_batch(struct kmqc_conn *c)
{
	struct iovec iov[2 * KMQC_WRITE_BATCH];
	struct kmqc_wframe *batch = c->whead, *f;
	uint64_t deadline = 0;
	int n = 0, niov = 0, err;

	for (f = batch; f && n < KMQC_WRITE_BATCH; f = f->next, n++) {
		memcpy(iov + niov, f->iov, f->niov * sizeof(*iov));
		niov += f->niov;
		if (f->deadline > deadline)
			deadline = f->deadline;
	}
	c->whead = f;
	if (!f)
		c->wtail = &c->whead;
	c->writing = true;
	pthread_mutex_unlock(&c->wlock);
	err = kmqc_sock_writev(c->fd, iov, niov, deadline);
	pthread_mutex_lock(&c->wlock);
	c->writing = false;
	for (f = batch; n--; f = f->next) {
		f->err = err;
		f->done = true;
	}
	pthread_cond_broadcast(&c->wcv);
}

int kmqc_conn_write(struct kmqc_conn *c, struct kmqc_wframe *f)
{
	f->next = NULL;
	f->done = false;
	f->err = 0;
	pthread_mutex_lock(&c->wlock);
	*c->wtail = f;
	c->wtail = &f->next;
	while (!f->done) {
		if (c->writing)
			pthread_cond_wait(&c->wcv, &c->wlock);
		else
			kmqc_conn_write_batch(c);
	}
	pthread_mutex_unlock(&c->wlock);
	return f->err;
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
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->raw = malloc(n);
	if (!f->raw) {
		free(f);
		return -ENOMEM;
	}
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
		free(f->raw);
		free(f);
		return ret == -KMQ_RMT_ENOMEM ? -ENOMEM : -EPROTO;
	}
	*out = f;
	return 1;
}
