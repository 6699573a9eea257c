// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_conn.c - a connection's output and input paths without a
 * broker, on socket pairs: frames encoded into the connection's buffer
 * and written at once (a caller that waits), by the I/O thread together
 * (requests behind others: one wake, one flush, in order), only once
 * written (oneway, also behind another writer); back-pressure when the
 * peer stops reading, a stall, a lost connection, an encoding error; and
 * SO_RCVLOWAT set while a large frame is partly received, so that poll()
 * wakes once it is whole.
 */
#include <sys/eventfd.h>

#include "kmq_client_int.h"
#include "kmqd_test_util.h"

#define BODY_LEN	1000

/* A connection on one end of a socket pair, the other end in *@peer. */
static void conn_pair(struct kmqc_conn *c, int domain, int *peer)
{
	int sv[2], lfd, one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	memset(c, 0, sizeof(*c));
	kmqc_conn_init(c);
	c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (domain == AF_UNIX) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			kmq_tap_bail("socketpair");
	} else {
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(lfd, 1) ||
		    getsockname(lfd, (struct sockaddr *)&sa, &len))
			kmq_tap_bail("listen");
		sv[0] = socket(AF_INET, SOCK_STREAM, 0);
		if (sv[0] < 0 ||
		    connect(sv[0], (struct sockaddr *)&sa, sizeof(sa)))
			kmq_tap_bail("connect");
		sv[1] = accept(lfd, NULL, NULL);
		if (sv[1] < 0)
			kmq_tap_bail("accept");
		close(lfd);
		setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	c->fd = sv[0];
	*peer = sv[1];
}

static void conn_close(struct kmqc_conn *c, int peer)
{
	close(c->fd);
	close(peer);
	close(c->evfd);
	free(c->rbuf);
	kmqc_conn_destroy(c);
}

/* A request with @opaque and one field, in @ser. */
static void req_init(struct kmq_rmt_cmd *r, int32_t opaque,
		     enum kmq_rmt_serialize ser)
{
	static struct kmq_rmt_field f = { .key = "k", .val = "v" };

	kmq_rmt_request(r, 310, opaque, ser);
	r->fields = &f;
	r->nfields = 1;
	r->fields_cap = 1;
}

static void body_fill(uint8_t *b, size_t n, int32_t opaque)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(opaque * 31 + i);
}

static bool body_is(const uint8_t *b, size_t n, int32_t opaque)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (uint8_t)(opaque * 31 + i))
			return false;
	return true;
}

/* Bytes readable on @fd within @ms. */
static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

/*
 * Read frames from @fd until @n are whole; each must have opaque @first,
 * @first + 1, ... and its body as body_fill() made it. Return: how many
 * were as they should be.
 */
static unsigned int read_frames(int fd, unsigned int n, int32_t first,
				size_t blen)
{
	static uint8_t buf[8 << 20];
	size_t have = 0, off = 0;
	unsigned int got = 0, good = 0;

	while (got < n) {
		int64_t fl = kmq_rmt_frame_len(buf + off, have - off,
					       sizeof(buf));
		struct kmq_rmt_cmd cmd;
		ssize_t r;

		if (fl > 0) {
			if (!kmq_rmt_decode(buf + off, fl, &cmd)) {
				good += cmd.opaque == first + (int32_t)got &&
					cmd.body_len == blen &&
					body_is(cmd.body, blen, first + got);
				kmq_rmt_cmd_free(&cmd);
			}
			off += fl;
			got++;
			continue;
		}
		if (fl < 0 || !readable(fd, 5000))
			break;
		memmove(buf, buf + off, have - off);
		have -= off;
		off = 0;
		r = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (r <= 0)
			break;
		have += r;
	}
	return good;
}

static uint64_t wakes(struct kmqc_conn *c)
{
	uint64_t v = 0;

	if (read(c->evfd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_now_and_soon(void)
{
	uint8_t body[BODY_LEN];
	struct kmqc_conn c;
	struct kmq_rmt_cmd r;
	uint64_t before;
	unsigned int i, bad = 0;
	bool lost;
	int peer;

	conn_pair(&c, AF_UNIX, &peer);
	req_init(&r, 1, KMQ_RMT_ROCKETMQ);
	body_fill(body, sizeof(body), 1);
	is_int(kmqc_conn_send(&c, &r, body, sizeof(body),
			      kmqc_mono_ms() + 1000, KMQC_W_NOW, &lost), 0,
	       "a frame to write now is queued ...");
	ok(c.written == c.queued && readable(peer, 0) &&
	   read_frames(peer, 1, 1, sizeof(body)) == 1 && !wakes(&c),
	   "... and written before the call returns, without the I/O thread");

	before = c.written;
	for (i = 0; i < 50; i++) {
		req_init(&r, 2 + i, i % 2 ? KMQ_RMT_JSON : KMQ_RMT_ROCKETMQ);
		body_fill(body, sizeof(body), 2 + i);
		bad += kmqc_conn_send(&c, &r, body, sizeof(body),
				      kmqc_mono_ms() + 1000, KMQC_W_SOON,
				      &lost) != 0;
	}
	is_int(bad, 0, "50 frames behind others are queued");
	ok(c.written == before && !readable(peer, 0),
	   "none is written by its caller (%llu bytes wait)",
	   (unsigned long long)(c.queued - c.written));
	is_int(wakes(&c), 1, "the I/O thread is woken once for all of them");
	is_int(kmqc_conn_flush(&c, false), 0, "its flush writes them");
	ok(c.written == c.queued, "... all of them (%llu of %llu bytes)",
	   (unsigned long long)c.written, (unsigned long long)c.queued);
	is_int(read_frames(peer, 50, 2, sizeof(body)), 50,
	       "the peer reads the 50 frames whole, in the order queued");
	is_int(kmqc_conn_flush(&c, false), 0,
	       "a flush with nothing asked writes nothing");

	before = c.written;
	for (i = 0, bad = 0; i < 100; i++) {
		req_init(&r, 52 + i, KMQ_RMT_ROCKETMQ);
		body_fill(body, sizeof(body), 52 + i);
		bad += kmqc_conn_send(&c, &r, body, sizeof(body),
				      kmqc_mono_ms() + 1000, KMQC_W_SOON,
				      &lost) != 0;
		if (c.written > before)
			break;
	}
	ok(!bad && c.written > before && i > 50 && i < 100,
	   "once 64 KiB wait, their caller writes them (at frame %u)", i);
	wakes(&c);
	kmqc_conn_flush(&c, false);
	is_int(read_frames(peer, i + 1, 52, sizeof(body)), i + 1,
	       "in order too");

	req_init(&r, 500, KMQ_RMT_ROCKETMQ);
	r.ser = (enum kmq_rmt_serialize)7;
	before = c.queued;
	ok(kmqc_conn_send(&c, &r, body, sizeof(body), kmqc_mono_ms() + 1000,
			  KMQC_W_NOW, &lost) == -EINVAL && !lost &&
	   c.queued == before && !readable(peer, 50),
	   "a frame that cannot be encoded: -EINVAL, nothing queued, the connection fine");
	kmqc_conn_lost(&c, -ECONNRESET);
	req_init(&r, 501, KMQ_RMT_ROCKETMQ);
	ok(kmqc_conn_send(&c, &r, body, sizeof(body), kmqc_mono_ms() + 1000,
			  KMQC_W_SOON, &lost) == -ECONNRESET && lost &&
	   c.queued == before && !wakes(&c),
	   "once the connection is lost: its error, nothing queued, no wake");
	conn_close(&c, peer);
}

struct reader {
	int fd;
	unsigned int good;
	size_t blen;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;

	kd_sleep_ms(300);
	rd->good = read_frames(rd->fd, 1, 7, rd->blen);
	return NULL;
}

static void test_wait(void)
{
	struct kmqc_conn c;
	struct kmq_rmt_cmd r;
	struct reader rd;
	pthread_t th;
	uint8_t *body;
	bool lost;
	int peer, ret;

	conn_pair(&c, AF_UNIX, &peer);
	rd.fd = peer;
	rd.blen = BODY_LEN;
	/* Larger than the socket holds: the caller waits for the reader. */
	body = malloc(4 << 20);
	body_fill(body, 4 << 20, 7);
	req_init(&r, 7, KMQ_RMT_ROCKETMQ);
	rd.blen = 4 << 20;
	pthread_create(&th, NULL, reader_main, &rd);
	ret = kmqc_conn_send(&c, &r, body, 4 << 20, kmqc_mono_ms() + 10000,
			     KMQC_W_WAIT, &lost);
	ok(!ret && c.written == c.queued,
	   "a oneway frame of 4 MiB: returns once all of it is written");
	pthread_join(th, NULL);
	is_int(rd.good, 1, "the peer got it whole");
	free(body);
	conn_close(&c, peer);
}

struct waiter {
	struct kmqc_conn *c;
	int ret;
	bool done;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct kmq_rmt_cmd r;
	uint8_t body[BODY_LEN];
	bool lost;

	req_init(&r, 8, KMQ_RMT_ROCKETMQ);
	body_fill(body, sizeof(body), 8);
	w->ret = kmqc_conn_send(w->c, &r, body, sizeof(body),
				kmqc_mono_ms() + 5000, KMQC_W_WAIT, &lost);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* A oneway caller that finds another writer at work waits for it. */
static void test_wait_writer(void)
{
	struct kmqc_conn c;
	struct waiter w = { .c = &c };
	pthread_t th;
	bool waited;
	int peer;

	conn_pair(&c, AF_UNIX, &peer);
	pthread_mutex_lock(&c.wlock);
	c.writing = true;		/* as if another thread wrote */
	pthread_mutex_unlock(&c.wlock);
	pthread_create(&th, NULL, waiter_main, &w);
	kd_sleep_ms(300);
	waited = !__atomic_load_n(&w.done, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&c.wlock);
	c.writing = false;
	pthread_cond_broadcast(&c.wcv);
	pthread_mutex_unlock(&c.wlock);
	pthread_join(th, NULL);
	ok(waited && !w.ret && c.written == c.queued,
	   "a oneway caller finding a writer at work waits for it, then writes its frame (%d)",
	   w.ret);
	is_int(read_frames(peer, 1, 8, BODY_LEN), 1, "whole");
	conn_close(&c, peer);
}

static void test_backpressure(void)
{
	uint8_t *body = calloc(1, 64 << 10);
	struct kmqc_conn c;
	struct kmq_rmt_cmd r;
	unsigned int n = 0;
	uint64_t t0, dt;
	bool lost = false;
	int peer, ret = 0;

	conn_pair(&c, AF_UNIX, &peer);
	t0 = kmqc_mono_ms();
	while (n < 1000) {
		req_init(&r, n, KMQ_RMT_ROCKETMQ);
		ret = kmqc_conn_send(&c, &r, body, 64 << 10,
				     kmqc_mono_ms() + 300, KMQC_W_NOW, &lost);
		if (ret)
			break;
		n++;
	}
	dt = kmqc_mono_ms() - t0;
	ok(ret == -ETIMEDOUT && lost && n >= 64 && dt >= 250,
	   "a peer that does not read: %u frames of 64 KiB queued, then the next waits for room until its deadline: -ETIMEDOUT, connection lost (%d after %llu ms)",
	   n, ret, (unsigned long long)dt);
	ok(kmqc_conn_stalled(&c, kmqc_mono_ms(), 200) &&
	   !kmqc_conn_stalled(&c, kmqc_mono_ms(), 60000),
	   "the connection counts as stalled since the socket was full");
	req_init(&r, 9999, KMQ_RMT_ROCKETMQ);
	lost = false;
	ok(kmqc_conn_send(&c, &r, body, 10, kmqc_mono_ms() + 1000,
			  KMQC_W_SOON, &lost) == -ETIMEDOUT && lost,
	   "then no frame is queued: the error that lost it");
	is_int(kmqc_conn_flush(&c, true), 0,
	       "... and the I/O thread writes nothing more");
	free(body);
	conn_close(&c, peer);
}

static void test_lowat(void)
{
	static uint8_t body[100000];
	struct kmq_buf frame = { 0 };
	struct kmqc_conn c;
	struct kmqc_frame *f = NULL;
	struct kmq_rmt_cmd r;
	socklen_t len = sizeof(int);
	int peer, lowat = 0;
	size_t flen;

	conn_pair(&c, AF_INET, &peer);
	req_init(&r, 77, KMQ_RMT_ROCKETMQ);
	body_fill(body, sizeof(body), 77);
	if (kmq_rmt_encode(&frame, &r, sizeof(body)) ||
	    kmq_buf_put(&frame, body, sizeof(body)))
		kmq_tap_bail("encode");
	flen = frame.len;
	if (send(peer, frame.data, 1000, 0) != 1000)
		kmq_tap_bail("send");
	readable(c.fd, 1000);
	ok(kmqc_conn_recv(&c) == 1000 && kmqc_conn_frame(&c, &f) == 0,
	   "1000 bytes of a frame of %zu: not whole", flen);
	kmqc_conn_lowat(&c);
	getsockopt(c.fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, &len);
	is_int(lowat, (int)flen - 1000, "SO_RCVLOWAT: the bytes still missing");
	if (send(peer, frame.data + 1000, 50000, 0) != 50000)
		kmq_tap_bail("send");
	ok(!readable(c.fd, 200),
	   "half of the rest arrives: poll() does not wake the I/O thread");
	if (send(peer, frame.data + 51000, flen - 51000, 0) !=
	    (ssize_t)(flen - 51000))
		kmq_tap_bail("send");
	ok(readable(c.fd, 2000), "the rest arrives: it does");
	while (kmqc_conn_recv(&c) > 0)
		;
	ok(kmqc_conn_frame(&c, &f) == 1 && f->cmd.opaque == 77 &&
	   f->cmd.body_len == sizeof(body) &&
	   body_is(f->cmd.body, sizeof(body), 77),
	   "the frame is whole, and cut out intact");
	kmqc_frame_free(f);
	kmqc_conn_lowat(&c);
	getsockopt(c.fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, &len);
	is_int(lowat, 1, "SO_RCVLOWAT back to 1");
	kmq_buf_free(&frame);
	conn_close(&c, peer);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	kmq_set_log(KMQ_LOG_ERROR, NULL, NULL);
	test_now_and_soon();
	test_wait();
	test_wait_writer();
	test_backpressure();
	test_lowat();
	return kmq_tap_done();
}
