// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_echo.c - kmq-bench's echo mode: the least a broker can do. It
 * answers every request with SUCCESS (code 0, same opaque and
 * serialization, no fields), so `kmq-bench produce` against it measures
 * the loopback round trip and the load generator itself: a floor to read
 * a broker's figures against.
 *
 * One blocking thread per connection: read what arrived, decode each
 * frame with the remoting codec, answer all of them in one write().
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

#include "bench.h"
#include "bench_remote.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

/* Answer the frames of one connection until it closes. */
static void *serve(void *arg)
{
	struct bench_conn *c = arg;
	struct kmq_rmt_cmd req, resp;
	struct kmq_buf out = { 0 };
	const uint8_t *f;
	size_t len;
	long r;
	int ret;

	while (!interrupted) {
		r = bench_conn_read(c);
		if (r == -EAGAIN)
			continue;
		if (r < 0)
			break;
		out.len = 0;
		for (;;) {
			ret = bench_conn_frame(c, &f, &len);
			if (ret <= 0)
				break;
			if (kmq_rmt_decode(f, len, &req)) {
				ret = -EPROTO;
				break;
			}
			if (!(req.flag & (KMQ_RMT_FLAG_RESPONSE |
					  KMQ_RMT_FLAG_ONEWAY)) &&
			    !kmq_rmt_response(&resp, &req, 0, NULL)) {
				ret = kmq_rmt_encode(&out, &resp, 0);
				kmq_rmt_cmd_free(&resp);
			}
			kmq_rmt_cmd_free(&req);
			if (ret < 0)
				break;
		}
		if (ret < 0)
			break;
		if (out.len && bench_conn_write(c, out.data, out.len))
			break;
	}
	kmq_buf_free(&out);
	bench_conn_close(c);
	free(c);
	return NULL;
}

void bench_echo_usage(FILE *f)
{
	fprintf(f,
		"  kmq-bench echo --listen PORT\n"
		"  Answers every remoting request on 127.0.0.1:PORT with SUCCESS (same\n"
		"  opaque and serialization, no fields), one thread per connection,\n"
		"  until SIGINT or SIGTERM: `kmq-bench produce --no-create` against it\n"
		"  measures the loopback round trip and the load generator alone.\n"
		"    --listen PORT       port on 127.0.0.1 (required)\n");
}

int bench_echo_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct timeval tv = { 0, BENCH_RECV_TIMEOUT_MS * 1000 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction sig;
	struct bench_conn *c;
	uint32_t port = 0;
	int s, fd, one = 1, opt;
	pthread_t thr;

	optind = 1;
	for (;;) {
		opt = getopt_long(argc, argv, "h", opts, NULL);
		if (opt == -1)
			break;
		if (opt == 'h') {
			bench_echo_usage(stdout);
			return 0;
		}
		if (opt != 'l' ||
		    bench_parse_u32(optarg, false, 65535, &port) || !port) {
			fprintf(stderr, "kmq-bench echo: see kmq-bench echo --help\n");
			return 2;
		}
	}
	if (!port || optind < argc) {
		fprintf(stderr, "kmq-bench echo: --listen PORT is required\n");
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
	while (!interrupted) {
		fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = calloc(1, sizeof(*c));
		if (c)
			c->rbuf = malloc(BENCH_RBUF_INITIAL);
		if (!c || !c->rbuf) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->rcap = BENCH_RBUF_INITIAL;
		snprintf(c->addr, sizeof(c->addr), "client");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (pthread_create(&thr, NULL, serve, c)) {
			bench_conn_close(c);
			free(c);
			continue;
		}
		pthread_detach(thr);
	}
	close(s);
	return 0;
}
