// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_echo.c - kmq-bench's echo mode: the least a name server and a
 * broker can do, on one port. A topic's route (GET_ROUTEINFO_BY_TOPIC,
 * 105) names this port as the one broker "echo" with --queues queues;
 * the cluster info (106) lists it; every other request is answered
 * SUCCESS at once (same opaque and serialization, no fields), sends
 * included. So `kmq-bench produce --namesrv 127.0.0.1:PORT --no-create`
 * against it measures the loopback round trip, libkmq and the load
 * generator itself: a floor to read a broker's figures against.
 *
 * One blocking thread per connection: read what arrived, cut frames
 * (kmq_rmt_frame_len()), decode each with the remoting codec of
 * daemon/remoting (as kmqd does), answer all of them in one write().
 * Runs until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "kmq_remoting.h"
#include "kmqd_codes.h"

#include "bench.h"

#define RBUF_INITIAL	(256u << 10)
#define MAX_FRAME	(KMQ_RMT_MAX_FRAME + KMQ_RMT_PREFIX)
#define RECV_TIMEOUT_MS	200

static volatile sig_atomic_t interrupted;
static char route_body[512];
static char cluster_body[512];

static void on_signal(int sig)
{
	interrupted = 1;
}

/**
 * struct econn - one client connection.
 * @rbuf: received bytes; [@rstart, @rend) not yet answered
 */
struct econn {
	int fd;
	uint8_t *rbuf;
	size_t rcap;
	size_t rstart;
	size_t rend;
	struct kmq_buf out;
};

/* Read what arrived. Return: bytes, 0 on timeout, -1 when closed. */
static long conn_read(struct econn *c)
{
	uint8_t *nb;
	ssize_t r;

	if (c->rstart == c->rend) {
		c->rstart = 0;
		c->rend = 0;
	} else if (c->rend == c->rcap && c->rstart) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	if (c->rend == c->rcap) {
		if (c->rcap >= MAX_FRAME)
			return -1;
		nb = realloc(c->rbuf, c->rcap * 2);
		if (!nb)
			return -1;
		c->rbuf = nb;
		c->rcap *= 2;
	}
	r = read(c->fd, c->rbuf + c->rend, c->rcap - c->rend);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0)
		return -1;
	c->rend += r;
	return r;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* Append the answer to @req to @out. */
static int answer(struct kmq_buf *out, const struct kmq_rmt_cmd *req)
{
	struct kmq_rmt_cmd resp;
	const char *body = NULL;
	size_t blen = 0;
	int ret;

	if (req->code == KMQ_REQ_GET_ROUTEINFO_BY_TOPIC)
		body = route_body;
	else if (req->code == KMQ_REQ_GET_BROKER_CLUSTER_INFO)
		body = cluster_body;
	if (body)
		blen = strlen(body);
	if (kmq_rmt_response(&resp, req, KMQ_RESP_SUCCESS, NULL))
		return -ENOMEM;
	ret = kmq_rmt_encode(out, &resp, (uint32_t)blen);
	if (!ret && blen)
		ret = kmq_buf_put(out, body, blen);
	kmq_rmt_cmd_free(&resp);
	return ret;
}

/* Answer the frames in the buffer. Return: 0, or -1 to close. */
static int answer_frames(struct econn *c)
{
	struct kmq_rmt_cmd req;
	int64_t flen;
	int ret = 0;

	c->out.len = 0;
	for (;;) {
		flen = kmq_rmt_frame_len(c->rbuf + c->rstart,
					 c->rend - c->rstart, MAX_FRAME);
		if (flen < 0)
			return -1;
		if (!flen)
			break;
		if (kmq_rmt_decode(c->rbuf + c->rstart, flen, &req))
			return -1;
		c->rstart += flen;
		if (!(req.flag & (KMQ_RMT_FLAG_RESPONSE | KMQ_RMT_FLAG_ONEWAY)))
			ret = answer(&c->out, &req);
		kmq_rmt_cmd_free(&req);
		if (ret)
			return -1;
	}
	if (c->out.len && write_all(c->fd, c->out.data, c->out.len))
		return -1;
	return 0;
}

/* Answer the frames of one connection until it closes. */
static void *serve(void *arg)
{
	struct econn *c = arg;
	long r;

	while (!interrupted) {
		r = conn_read(c);
		if (r < 0 || (r > 0 && answer_frames(c)))
			break;
	}
	kmq_buf_free(&c->out);
	close(c->fd);
	free(c->rbuf);
	free(c);
	return NULL;
}

void bench_echo_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench echo --listen PORT [--queues N]\n"
		"  A stand-in name server and broker on 127.0.0.1:PORT: routes (105)\n"
		"  name this port as broker \"echo\" with N queues (default 8), every\n"
		"  other request is answered SUCCESS at once (same opaque and\n"
		"  serialization, no fields), one thread per connection, until SIGINT\n"
		"  or SIGTERM. `kmq-bench produce --namesrv 127.0.0.1:PORT --no-create`\n"
		"  against it measures the loopback round trip, libkmq and the load\n"
		"  generator alone.\n"
		"    --listen PORT       port on 127.0.0.1 (required)\n"
		"    --queues N          queues in every route (default 8)\n");
}

/* The broker's entry of a route and of the cluster info. */
static json_t *broker_data(const char *addr)
{
	return json_pack("{s:s, s:s, s:{s:s}}", "cluster", "EchoCluster",
			 "brokerName", "echo", "brokerAddrs", "0", addr);
}

/* The answers to 105 and 106. Return: 0 or -ENOMEM. */
static int bodies(uint32_t port, uint32_t queues)
{
	json_t *route, *cluster;
	char addr[32];
	char *r, *c;

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	route = json_pack("{s:[o], s:[{s:s, s:i, s:i, s:i, s:i}]}",
			  "brokerDatas", broker_data(addr), "queueDatas",
			  "brokerName", "echo", "readQueueNums", (int)queues,
			  "writeQueueNums", (int)queues, "perm", 6,
			  "topicSysFlag", 0);
	cluster = json_pack("{s:{s:o}, s:{s:[s]}}", "brokerAddrTable", "echo",
			    broker_data(addr), "clusterAddrTable",
			    "EchoCluster", "echo");
	r = route ? json_dumps(route, JSON_COMPACT) : NULL;
	c = cluster ? json_dumps(cluster, JSON_COMPACT) : NULL;
	json_decref(route);
	json_decref(cluster);
	if (r && c) {
		snprintf(route_body, sizeof(route_body), "%s", r);
		snprintf(cluster_body, sizeof(cluster_body), "%s", c);
	}
	free(r);
	free(c);
	return route_body[0] && cluster_body[0] ? 0 : -ENOMEM;
}

static int parse(int argc, char **argv, uint32_t *port, uint32_t *queues)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "queues", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 1;
	for (;;) {
		opt = getopt_long(argc, argv, "h", opts, NULL);
		if (opt == -1)
			break;
		if (opt == 'h') {
			bench_echo_usage(stdout);
			return 1;
		}
		if ((opt == 'l' &&
		     !bench_parse_u32(optarg, false, 65535, port) && *port) ||
		    (opt == 'q' &&
		     !bench_parse_u32(optarg, false, 1024, queues) && *queues))
			continue;
		fprintf(stderr, "kmq-bench echo: see kmq-bench echo --help\n");
		return -EINVAL;
	}
	if (!*port || optind < argc) {
		fprintf(stderr, "kmq-bench echo: --listen PORT is required\n");
		return -EINVAL;
	}
	return 0;
}

static void accept_loop(int s)
{
	struct timeval tv = { 0, RECV_TIMEOUT_MS * 1000 };
	struct econn *c;
	pthread_t thr;
	int fd, one = 1;

	while (!interrupted) {
		fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = calloc(1, sizeof(*c));
		if (c)
			c->rbuf = malloc(RBUF_INITIAL);
		if (!c || !c->rbuf) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->rcap = RBUF_INITIAL;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (pthread_create(&thr, NULL, serve, c)) {
			close(fd);
			free(c->rbuf);
			free(c);
			continue;
		}
		pthread_detach(thr);
	}
}

int bench_echo_main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint32_t port = 0, queues = 8;
	struct sigaction sig;
	int s, one = 1, ret;

	ret = parse(argc, argv, &port, &queues);
	if (ret)
		return ret > 0 ? 0 : 2;
	if (bodies(port, queues)) {
		fprintf(stderr, "kmq-bench echo: out of memory\n");
		return 2;
	}
	memset(&sig, 0, sizeof(sig));
	sig.sa_handler = on_signal;
	sigaction(SIGINT, &sig, NULL);
	sigaction(SIGTERM, &sig, NULL);
	signal(SIGPIPE, SIG_IGN);

	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one,
				sizeof(one)) ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 64)) {
		fprintf(stderr, "kmq-bench echo: 127.0.0.1:%u: %s\n", port,
			strerror(errno));
		return 2;
	}
	fprintf(stderr, "echo: answering on 127.0.0.1:%u\n", port);
	accept_loop(s);
	close(s);
	return 0;
}
