// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_remote.c - connection and request plumbing of kmq-bench's remote
 * modes (see bench_remote.h): connect, write, read into a buffer and cut
 * it into frames, one-off requests, response peeking and the patched
 * request templates.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kmq_endian.h"

#include "bench_remote.h"
#include "bench_report.h"

#define BENCH_OPAQUE_DIGITS	10
#define BENCH_BORN_DIGITS	13
#define BENCH_BIN_OPAQUE_AT	5	/* int16 code, uint8 lang, int16 version */
#define BENCH_BIN_FIXED		17	/* ... int32 opaque, flag, remark length */
#define BENCH_READ_MIN		(64u << 10)

uint64_t bench_now_ms_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void bench_cpu_s(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int bench_parse_serialize(const char *s, enum kmq_rmt_serialize *ser)
{
	if (!strcasecmp(s, "json"))
		*ser = KMQ_RMT_JSON;
	else if (!strcasecmp(s, "rocketmq") || !strcasecmp(s, "binary"))
		*ser = KMQ_RMT_ROCKETMQ;
	else
		return -EINVAL;
	return 0;
}

const char *bench_serialize_name(enum kmq_rmt_serialize ser)
{
	return ser == KMQ_RMT_JSON ? "JSON" : "ROCKETMQ";
}

/* Split "host:port" (or "[v6]:port"); @host gets a copy. */
static int split_addr(const char *addr, char *host, size_t hlen,
		      const char **port)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t n;

	if (!colon || !colon[1])
		return -EINVAL;
	n = colon - addr;
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (!n || n >= hlen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

static int connect_once(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, err, saved = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	err = getaddrinfo(host, port, &hints, &res);
	if (err)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : -saved;
}

int bench_conn_open(struct bench_conn *c, const char *addr,
		    unsigned int wait_ms)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)wait_ms * 1000000;
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	struct timeval tv = { 0, BENCH_RECV_TIMEOUT_MS * 1000 };
	const char *port;
	char host[128];
	int one = 1, fd;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	if (split_addr(addr, host, sizeof(host), &port)) {
		fprintf(stderr, "kmq-bench: bad broker address '%s' (host:port)\n",
			addr);
		return -EINVAL;
	}
	for (;;) {
		fd = connect_once(host, port);
		if (fd >= 0 || fd != -ECONNREFUSED ||
		    bench_now_ns() >= deadline)
			break;
		nanosleep(&nap, NULL);
	}
	if (fd < 0) {
		fprintf(stderr, "kmq-bench: connect to %s: %s\n", addr,
			strerror(-fd));
		return fd;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	c->rbuf = malloc(BENCH_RBUF_INITIAL);
	if (!c->rbuf) {
		close(fd);
		return -ENOMEM;
	}
	c->rcap = BENCH_RBUF_INITIAL;
	c->fd = fd;
	c->next_opaque = 1;
	return 0;
}

void bench_conn_close(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->rbuf);
	c->rbuf = NULL;
	kmq_buf_free(&c->rpc_out);
}

int bench_conn_write(struct bench_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n) {
		w = send(c->fd, b, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		n -= w;
	}
	return 0;
}

/*
 * Make room after @rend for at least BENCH_READ_MIN bytes, or for the rest
 * of a partly received frame: compact, grow if that is not enough.
 */
static int make_room(struct bench_conn *c)
{
	size_t have, need = BENCH_READ_MIN, size;
	uint8_t *nb;

	if (c->rstart == c->rend) {
		c->rstart = 0;
		c->rend = 0;
	}
	have = c->rend - c->rstart;
	if (have >= KMQ_RMT_PREFIX) {
		size = (size_t)kmq_get_be32(c->rbuf + c->rstart) + 4;
		if (size > have && size - have > need &&
		    size <= BENCH_MAX_FRAME)
			need = size - have;
	}
	if (c->rcap - c->rend >= need)
		return 0;
	if (c->rstart) {
		memmove(c->rbuf, c->rbuf + c->rstart, have);
		c->rstart = 0;
		c->rend = have;
	}
	if (c->rcap - c->rend >= need)
		return 0;
	size = c->rend + need;
	if (size < c->rcap * 2)
		size = c->rcap * 2;
	nb = realloc(c->rbuf, size);
	if (!nb)
		return -ENOMEM;
	c->rbuf = nb;
	c->rcap = size;
	return 0;
}

long bench_conn_read(struct bench_conn *c)
{
	ssize_t r;
	int err;

	err = make_room(c);
	if (err)
		return err;
	for (;;) {
		r = recv(c->fd, c->rbuf + c->rend, c->rcap - c->rend, 0);
		if (r > 0) {
			c->rend += r;
			return r;
		}
		if (!r)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return -EAGAIN;
		return -errno;
	}
}

int bench_conn_frame(struct bench_conn *c, const uint8_t **frame,
		     size_t *len)
{
	int64_t n = kmq_rmt_frame_len(c->rbuf + c->rstart,
				      c->rend - c->rstart, BENCH_MAX_FRAME);

	if (n < 0)
		return -EPROTO;
	if (!n)
		return 0;
	*frame = c->rbuf + c->rstart;
	*len = (size_t)n;
	c->rstart += (size_t)n;
	return 1;
}

int bench_rpc(struct bench_conn *c, struct kmq_rmt_cmd *req,
	      const void *body, uint32_t body_len, struct kmq_rmt_cmd *resp,
	      unsigned int timeout_ms)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000;
	const uint8_t *f;
	size_t flen;
	long r;
	int ret;

	req->opaque = c->next_opaque++;
	c->rpc_out.len = 0;
	ret = kmq_rmt_encode(&c->rpc_out, req, body_len);
	if (!ret && body_len)
		ret = kmq_buf_put(&c->rpc_out, body, body_len);
	if (!ret)
		ret = bench_conn_write(c, c->rpc_out.data, c->rpc_out.len);
	if (ret) {
		fprintf(stderr, "kmq-bench: request %d to %s: %s\n", req->code,
			c->addr, strerror(-ret));
		return ret;
	}
	for (;;) {
		ret = bench_conn_frame(c, &f, &flen);
		if (ret < 0)
			break;
		if (ret > 0) {
			ret = kmq_rmt_decode(f, flen, resp);
			if (ret) {
				fprintf(stderr, "kmq-bench: response to %d from %s: %s\n",
					req->code, c->addr, kmq_rmt_errmsg());
				return -EPROTO;
			}
			if ((resp->flag & KMQ_RMT_FLAG_RESPONSE) &&
			    resp->opaque == req->opaque)
				return 0;
			kmq_rmt_cmd_free(resp);
			continue;
		}
		if (bench_now_ns() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		r = bench_conn_read(c);
		if (r < 0 && r != -EAGAIN) {
			ret = (int)r;
			break;
		}
	}
	fprintf(stderr, "kmq-bench: request %d to %s: %s\n", req->code,
		c->addr, strerror(-ret));
	return ret;
}

int bench_peek(const uint8_t *frame, size_t len, struct bench_peek *pk)
{
	struct kmq_rmt_cmd cmd;
	uint32_t hl;
	int ret;

	if (len < KMQ_RMT_PREFIX)
		return -KMQ_RMT_ESHORT;
	hl = kmq_get_be32(frame + 4);
	if (hl >> 24 == KMQ_RMT_ROCKETMQ) {
		hl &= 0xffffff;
		if (hl < BENCH_BIN_FIXED || hl > len - KMQ_RMT_PREFIX)
			return -KMQ_RMT_EBINARY;
		frame += KMQ_RMT_PREFIX;
		pk->code = (int16_t)kmq_get_be16(frame);
		pk->opaque = (int32_t)kmq_get_be32(frame + BENCH_BIN_OPAQUE_AT);
		pk->flag = (int32_t)kmq_get_be32(frame + BENCH_BIN_OPAQUE_AT + 4);
		return 0;
	}
	ret = kmq_rmt_decode(frame, len, &cmd);
	if (ret)
		return ret;
	pk->code = cmd.code;
	pk->opaque = cmd.opaque;
	pk->flag = cmd.flag;
	kmq_rmt_cmd_free(&cmd);
	return 0;
}

/* The one place @pat of @n bytes occurs in @hay, or 0 (never at 0). */
static size_t find_once(const uint8_t *hay, size_t len, const void *pat,
			size_t n)
{
	const uint8_t *p = hay, *end = hay + len, *hit;
	size_t at = 0;

	while (p + n <= end) {
		hit = memmem(p, end - p, pat, n);
		if (!hit)
			break;
		if (at)
			return 0;
		at = hit - hay;
		p = hit + 1;
	}
	return at;
}

static void put_digits(uint8_t *p, uint64_t v, unsigned int n)
{
	while (n--) {
		p[n] = '0' + v % 10;
		v /= 10;
	}
}

void bench_tmpl_put(const struct bench_tmpl *t, uint8_t *dst, int32_t opaque,
		    uint64_t born_ms)
{
	memcpy(dst, t->hdr, t->hdr_len);
	if (t->ser == KMQ_RMT_ROCKETMQ)
		kmq_put_be32(dst + t->opaque_at, (uint32_t)opaque);
	else
		put_digits(dst + t->opaque_at, (uint32_t)opaque,
			   BENCH_OPAQUE_DIGITS);
	if (t->born_at)
		put_digits(dst + t->born_at, born_ms, BENCH_BORN_DIGITS);
}

/* Decode a patched copy: the codec must read back what was patched. */
static int tmpl_check(const struct bench_tmpl *t, const char *born_key)
{
	const int32_t opaque = BENCH_OPAQUE_BASE + 12345;
	const uint64_t born = 1234567890123ull;
	struct kmq_rmt_cmd cmd;
	const char *v;
	uint8_t *f;
	int ret;

	f = calloc(1, t->hdr_len + t->body_len);
	if (!f)
		return -ENOMEM;
	bench_tmpl_put(t, f, opaque, born);
	ret = kmq_rmt_decode(f, t->hdr_len + t->body_len, &cmd);
	if (ret) {
		fprintf(stderr, "kmq-bench: a patched template does not decode: %s\n",
			kmq_rmt_errmsg());
		free(f);
		return -EPROTO;
	}
	v = born_key ? kmq_rmt_ext(&cmd, born_key) : NULL;
	if (cmd.opaque != opaque || cmd.body_len != t->body_len ||
	    (born_key && (!v || strcmp(v, "1234567890123"))))
		ret = -EPROTO;
	if (ret)
		fprintf(stderr, "kmq-bench: a patched template decodes to other values\n");
	kmq_rmt_cmd_free(&cmd);
	free(f);
	return ret;
}

int bench_tmpl_init(struct bench_tmpl *t, const struct kmq_rmt_cmd *req,
		    uint32_t body_len, const char *born_key)
{
	struct kmq_buf b = { 0 };
	uint8_t be[4];
	char dec[16];
	int ret;

	memset(t, 0, sizeof(*t));
	if (req->opaque != BENCH_TMPL_OPAQUE)
		return -EINVAL;
	ret = kmq_rmt_encode(&b, req, body_len);
	if (ret) {
		fprintf(stderr, "kmq-bench: encoding a request: %s\n",
			strerror(-ret));
		return ret;
	}
	t->hdr = b.data;
	t->hdr_len = b.len;
	t->body_len = body_len;
	t->ser = req->ser;
	if (t->ser == KMQ_RMT_ROCKETMQ) {
		t->opaque_at = KMQ_RMT_PREFIX + BENCH_BIN_OPAQUE_AT;
		kmq_put_be32(be, BENCH_TMPL_OPAQUE);
		if (memcmp(t->hdr + t->opaque_at, be, sizeof(be)))
			t->opaque_at = 0;
	} else {
		snprintf(dec, sizeof(dec), "%d", BENCH_TMPL_OPAQUE);
		t->opaque_at = find_once(t->hdr + KMQ_RMT_PREFIX,
					 t->hdr_len - KMQ_RMT_PREFIX, dec,
					 BENCH_OPAQUE_DIGITS);
		if (t->opaque_at)
			t->opaque_at += KMQ_RMT_PREFIX;
	}
	if (born_key) {
		t->born_at = find_once(t->hdr, t->hdr_len, BENCH_TMPL_BORN,
				       BENCH_BORN_DIGITS);
	}
	if (!t->opaque_at || (born_key && !t->born_at)) {
		fprintf(stderr, "kmq-bench: no fields to patch in an encoded request\n");
		ret = -EPROTO;
	} else {
		ret = tmpl_check(t, born_key);
	}
	if (ret)
		bench_tmpl_free(t);
	return ret;
}

void bench_tmpl_free(struct bench_tmpl *t)
{
	free(t->hdr);
	memset(t, 0, sizeof(*t));
}
