// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_client.c - the client instance: its identity, the connection table
 * (one connection per address, made on first use and again after it
 * broke), the table of requests waiting for a response, and the I/O
 * thread that reads every connection, matches responses to requests by
 * opaque, expires async requests and handles the broker's own requests.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kmq_client_int.h"

#define KMQC_DEF_CONNECT_MS	3000
#define KMQC_DEF_REQUEST_MS	3000
#define KMQC_DEF_ROUTE_MS	30000
#define KMQC_DEF_HEARTBEAT_MS	30000

void kmq_client_config_init(struct kmq_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->connect_timeout_ms = KMQC_DEF_CONNECT_MS;
	cfg->request_timeout_ms = KMQC_DEF_REQUEST_MS;
	cfg->callback_threads = 1;
	cfg->route_interval_ms = KMQC_DEF_ROUTE_MS;
	cfg->heartbeat_interval_ms = KMQC_DEF_HEARTBEAT_MS;
	cfg->serialize = KMQ_SERIALIZE_JSON;
}

/* The first non-loopback IPv4 address of the host, else 127.0.0.1. */
static void kmqc_local_ip(char *buf, size_t len)
{
	struct ifaddrs *ifs, *i;

	snprintf(buf, len, "127.0.0.1");
	if (getifaddrs(&ifs))
		return;
	for (i = ifs; i; i = i->ifa_next) {
		struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;

		if (!sin || sin->sin_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		inet_ntop(AF_INET, &sin->sin_addr, buf, len);
		break;
	}
	freeifaddrs(ifs);
}

/* Split namesrv_addr at ';' into c->ns (blanks around entries dropped). */
static int kmqc_parse_namesrv(struct kmq_client *c, const char *list)
{
	char *save = NULL, *tok;
	unsigned int n = 0;

	if (!list || !*list)
		return kmqc_fail(-EINVAL, "namesrv_addr is required");
	c->namesrv = strdup(list);
	c->ns = calloc(strlen(list) / 2 + 2, sizeof(*c->ns));
	if (!c->namesrv || !c->ns)
		return -ENOMEM;
	for (tok = strtok_r(c->namesrv, ";", &save); tok;
	     tok = strtok_r(NULL, ";", &save)) {
		char *end;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*tok)
			continue;
		if (strlen(tok) > KMQ_ADDR_MAX || !strchr(tok, ':'))
			return kmqc_fail(-EINVAL,
					 "name server address '%s' is not host:port",
					 tok);
		c->ns[n++] = tok;
	}
	if (!n)
		return kmqc_fail(-EINVAL, "namesrv_addr '%s' has no address",
				 list);
	c->nns = n;
	return 0;
}

static void kmqc_config_defaults(struct kmq_client_config *cfg)
{
	if (!cfg->connect_timeout_ms)
		cfg->connect_timeout_ms = KMQC_DEF_CONNECT_MS;
	if (!cfg->request_timeout_ms)
		cfg->request_timeout_ms = KMQC_DEF_REQUEST_MS;
	if (!cfg->callback_threads)
		cfg->callback_threads = 1;
	if (!cfg->route_interval_ms)
		cfg->route_interval_ms = KMQC_DEF_ROUTE_MS;
	if (!cfg->heartbeat_interval_ms)
		cfg->heartbeat_interval_ms = KMQC_DEF_HEARTBEAT_MS;
}

static int kmqc_identity(struct kmq_client *c)
{
	static uint32_t seq;
	const struct kmq_client_config *cfg = &c->cfg;
	struct timespec ts;

	if (cfg->client_ip) {
		if (!kmqc_name_ok(cfg->client_ip, sizeof(c->client_ip) - 1))
			return kmqc_fail(-EINVAL, "client_ip is not a name");
		snprintf(c->client_ip, sizeof(c->client_ip), "%s",
			 cfg->client_ip);
	} else {
		kmqc_local_ip(c->client_ip, sizeof(c->client_ip));
	}
	if (cfg->instance_name) {
		if (!kmqc_name_ok(cfg->instance_name, KMQ_NAME_MAX))
			return kmqc_fail(-EINVAL,
					 "instance_name: 1..%d printable bytes",
					 KMQ_NAME_MAX);
		snprintf(c->instance, sizeof(c->instance), "%s",
			 cfg->instance_name);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(c->instance, sizeof(c->instance), "%d#%llu%03u",
			 (int)getpid(),
			 (unsigned long long)ts.tv_sec * 1000000000ull +
			 ts.tv_nsec,
			 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED) % 1000);
	}
	snprintf(c->id, sizeof(c->id), "%s@%s", c->client_ip, c->instance);
	return 0;
}

const char *kmq_client_id(const struct kmq_client *c)
{
	return c->id;
}

/* ---- connections ---------------------------------------------------- */

static void kmqc_io_wake(struct kmq_client *c)
{
	uint64_t one = 1;

	if (c->evfd >= 0 && write(c->evfd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		kmqc_warn("wake the I/O thread: %s", strerror(errno));
}

static bool kmqc_is_ns(struct kmq_client *c, const char *addr)
{
	unsigned int i;

	for (i = 0; i < c->nns; i++)
		if (!strcmp(c->ns[i], addr))
			return true;
	return false;
}

/* Release one reference (conns_lock held). */
static void kmqc_conn_put_locked(struct kmqc_conn *conn)
{
	if (--conn->refs)
		return;
	if (conn->fd >= 0)
		close(conn->fd);
	kmqc_conn_destroy(conn);
	free(conn->rbuf);
	free(conn);
}

void kmqc_conn_put(struct kmq_client *c, struct kmqc_conn *conn)
{
	pthread_mutex_lock(&c->conns_lock);
	kmqc_conn_put_locked(conn);
	pthread_mutex_unlock(&c->conns_lock);
}

static void kmqc_conn_unlink(struct kmq_client *c, struct kmqc_conn *conn)
{
	struct kmqc_conn **pp;

	for (pp = &c->conns; *pp; pp = &(*pp)->next) {
		if (*pp == conn) {
			*pp = conn->next;
			conn->next = NULL;
			return;
		}
	}
}

/* Make the connection @conn (CONNECTING, in the table) open or dead. */
static int kmqc_conn_open(struct kmq_client *c, struct kmqc_conn *conn)
{
	int fd = -1, ret;

	ret = kmqc_sock_connect(conn->addr, c->cfg.connect_timeout_ms, &fd);
	pthread_mutex_lock(&c->conns_lock);
	if (!ret && c->stopping) {
		close(fd);
		ret = kmqc_fail(-ESHUTDOWN, "connect to %s", conn->addr);
	}
	if (ret) {
		conn->state = KMQC_CONN_DEAD;
		kmqc_conn_unlink(c, conn);
		kmqc_conn_put_locked(conn);	/* the table's */
	} else {
		conn->fd = fd;
		conn->state = KMQC_CONN_OPEN;
	}
	pthread_cond_broadcast(&c->conns_cv);
	pthread_mutex_unlock(&c->conns_lock);
	if (!ret) {
		kmqc_dbg("%s: connected to %s", c->id, conn->addr);
		kmqc_io_wake(c);
		if (!conn->is_ns && c->own.hb_build && c->timers_started)
			kmqc_heartbeat_soon(c);
	}
	return ret;
}

int kmqc_conn_get(struct kmq_client *c, const char *addr,
		  struct kmqc_conn **out)
{
	uint64_t deadline = 0;
	struct kmqc_conn *conn;
	int ret;

	if (!addr || strlen(addr) > KMQ_ADDR_MAX)
		return kmqc_fail(-EINVAL, "bad address");
	pthread_mutex_lock(&c->conns_lock);
	for (;;) {
		if (c->stopping) {
			pthread_mutex_unlock(&c->conns_lock);
			return kmqc_fail(-ESHUTDOWN, "client %s", c->id);
		}
		for (conn = c->conns; conn; conn = conn->next)
			if (!strcmp(conn->addr, addr))
				break;
		if (!conn)
			break;
		if (conn->state == KMQC_CONN_OPEN) {
			conn->refs++;
			pthread_mutex_unlock(&c->conns_lock);
			*out = conn;
			return 0;
		}
		/* Someone else is connecting: wait for the outcome. */
		if (!deadline)
			deadline = kmqc_mono_ms() +
				   c->cfg.connect_timeout_ms + 1000;
		conn->refs++;
		while (conn->state == KMQC_CONN_CONNECTING &&
		       kmqc_cond_wait_until(&c->conns_cv, &c->conns_lock,
					    deadline) != ETIMEDOUT)
			;
		ret = conn->state;
		kmqc_conn_put_locked(conn);
		if (ret == KMQC_CONN_CONNECTING) {
			pthread_mutex_unlock(&c->conns_lock);
			return kmqc_fail(-ETIMEDOUT, "connect to %s", addr);
		}
		if (ret == KMQC_CONN_DEAD) {
			pthread_mutex_unlock(&c->conns_lock);
			return kmqc_fail(-ECONNREFUSED, "connect to %s", addr);
		}
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		pthread_mutex_unlock(&c->conns_lock);
		return kmqc_fail(-ENOMEM, "connect to %s", addr);
	}
	snprintf(conn->addr, sizeof(conn->addr), "%s", addr);
	conn->fd = -1;
	conn->refs = 2;			/* the table's and ours */
	conn->state = KMQC_CONN_CONNECTING;
	conn->is_ns = kmqc_is_ns(c, addr);
	conn->evfd = c->evfd;
	kmqc_conn_init(conn);
	conn->next = c->conns;
	c->conns = conn;
	pthread_mutex_unlock(&c->conns_lock);
	ret = kmqc_conn_open(c, conn);
	if (ret) {
		kmqc_conn_put(c, conn);
		return ret;
	}
	*out = conn;
	return 0;
}

void kmqc_conn_fail(struct kmq_client *c, struct kmqc_conn *conn, int err)
{
	unsigned int b;
	bool first = false;

	pthread_mutex_lock(&c->conns_lock);
	if (conn->state == KMQC_CONN_OPEN) {
		conn->state = KMQC_CONN_DEAD;
		kmqc_conn_unlink(c, conn);
		first = true;
	}
	pthread_mutex_unlock(&c->conns_lock);
	if (!first)
		return;
	kmqc_conn_lost(conn, err);
	pthread_mutex_lock(&c->pend_lock);
	conn->dead = true;
	for (b = 0; b < KMQC_PEND_BUCKETS && conn->npend; b++) {
		struct kmqc_pending **pp = &c->pend[b], *p;

		while (*pp) {
			p = *pp;
			if (p->conn != conn) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			kmqc_pending_gone(c, p);
			kmqc_complete(c, p, err, NULL);
		}
	}
	pthread_mutex_unlock(&c->pend_lock);
	shutdown(conn->fd, SHUT_RDWR);
	if (!c->stopping)
		kmqc_info("%s: connection to %s closed: %s", c->id, conn->addr,
			  kmq_strerror(err));
	if (!c->stopping && !conn->is_ns && c->own.on_conn_lost)
		c->own.on_conn_lost(c->own.owner, conn->addr);
	kmqc_conn_put(c, conn);		/* the table's */
}

/* ---- pending requests ---------------------------------------------- */

static unsigned int kmqc_bucket(int32_t opaque)
{
	return (uint32_t)opaque % KMQC_PEND_BUCKETS;
}

void kmqc_pending_add(struct kmq_client *c, struct kmqc_pending *p)
{
	unsigned int b = kmqc_bucket(p->opaque);

	p->next = c->pend[b];
	c->pend[b] = p;
	c->npend++;
	__atomic_add_fetch(&p->conn->npend, 1, __ATOMIC_RELAXED);
}

void kmqc_pending_gone(struct kmq_client *c, struct kmqc_pending *p)
{
	p->next = NULL;
	c->npend--;
	__atomic_sub_fetch(&p->conn->npend, 1, __ATOMIC_RELAXED);
}

bool kmqc_pending_unlink(struct kmq_client *c, struct kmqc_pending *p)
{
	struct kmqc_pending **pp;

	for (pp = &c->pend[kmqc_bucket(p->opaque)]; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			kmqc_pending_gone(c, p);
			return true;
		}
	}
	return false;
}

static struct kmqc_pending *kmqc_pending_take(struct kmq_client *c,
					      struct kmqc_conn *conn,
					      int32_t opaque)
{
	struct kmqc_pending **pp, *p;

	for (pp = &c->pend[kmqc_bucket(opaque)]; *pp; pp = &(*pp)->next) {
		p = *pp;
		if (p->opaque == opaque && p->conn == conn) {
			*pp = p->next;
			kmqc_pending_gone(c, p);
			return p;
		}
	}
	return NULL;
}

static void kmqc_pending_run(void *arg, bool run)
{
	struct kmqc_pending *p = arg;
	bool own = p->own;	/* @p may be gone once its function returns */
	char msg[256];

	if (p->err) {
		snprintf(msg, sizeof(msg), "request %d to %s: %s", p->code,
			 p->addr, kmq_strerror(p->err));
		kmqc_errmsg_set(msg);
	}
	p->fn(p->arg, p->err, p->resp);
	if (!own)
		free(p);
}

void kmqc_complete(struct kmq_client *c, struct kmqc_pending *p, int err,
		   struct kmqc_frame *resp)
{
	p->done = true;
	p->err = err;
	p->resp = resp;
	p->conn = NULL;
	if (p->cv) {
		pthread_cond_signal(p->cv);
		return;
	}
	if (p->sending) {
		p->deferred = true;
		return;
	}
	if (kmqc_wq_post_task(&c->exec, &p->task, kmqc_pending_run, p)) {
		/* Out of memory: kmqc_run_orphans() completes it. */
		p->next = c->orphans;
		c->orphans = p;
	}
}

void kmqc_sent(struct kmq_client *c, struct kmqc_pending *p)
{
	pthread_mutex_lock(&c->pend_lock);
	p->sending = false;
	if (p->deferred) {
		p->deferred = false;
		kmqc_complete(c, p, p->err, p->resp);
	}
	pthread_mutex_unlock(&c->pend_lock);
}

/* Run the completions that could not be posted (no lock held). */
static void kmqc_run_orphans(struct kmq_client *c)
{
	struct kmqc_pending *list, *p;

	pthread_mutex_lock(&c->pend_lock);
	list = c->orphans;
	c->orphans = NULL;
	pthread_mutex_unlock(&c->pend_lock);
	while (list) {
		p = list;
		list = p->next;
		kmqc_pending_run(p, true);
	}
}

/* Fail async requests whose deadline passed (I/O thread). */
static void kmqc_expire(struct kmq_client *c, uint64_t now)
{
	unsigned int b;

	pthread_mutex_lock(&c->pend_lock);
	for (b = 0; b < KMQC_PEND_BUCKETS && c->npend; b++) {
		struct kmqc_pending **pp = &c->pend[b], *p;

		while (*pp) {
			p = *pp;
			if (p->cv || p->deadline > now) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			kmqc_pending_gone(c, p);
			kmqc_complete(c, p, -ETIMEDOUT, NULL);
		}
	}
	pthread_mutex_unlock(&c->pend_lock);
}

/* ---- the I/O thread ------------------------------------------------- */

struct kmqc_reply {
	struct kmq_client *c;
	struct kmqc_conn *conn;
	struct kmqc_frame *req;
};

/* Answer a request of the broker we do not handle (callback thread). */
static void kmqc_reply_unsupported(void *arg, bool run)
{
	struct kmqc_reply *r = arg;
	struct kmq_rmt_cmd resp;
	char remark[96];
	bool lost;
	int ret;

	snprintf(remark, sizeof(remark),
		 "request code %d is not supported by libkmq", r->req->cmd.code);
	if (run && !kmq_rmt_response(&resp, &r->req->cmd,
				     KMQ_RESP_REQUEST_CODE_NOT_SUPPORTED,
				     remark)) {
		ret = kmqc_conn_send(r->conn, &resp, NULL, 0, kmqc_mono_ms() +
				     r->c->cfg.request_timeout_ms, KMQC_W_NOW,
				     &lost);
		if (lost)
			kmqc_conn_fail(r->c, r->conn, ret);
		kmq_rmt_cmd_free(&resp);
	}
	kmqc_conn_put(r->c, r->conn);
	kmqc_frame_free(r->req);
	free(r);
}

static void kmqc_server_request(struct kmq_client *c, struct kmqc_conn *conn,
				struct kmqc_frame *f)
{
	struct kmqc_reply *r;

	if (f->cmd.code == KMQ_REQ_NOTIFY_CONSUMER_IDS_CHANGED) {
		const char *group = kmq_rmt_ext(&f->cmd, "consumerGroup");

		kmqc_dbg("%s: %s says group %s changed", c->id, conn->addr,
			 group ? group : "?");
		if (c->own.on_notify && group)
			c->own.on_notify(c->own.owner, group);
	}
	if ((f->cmd.flag & KMQ_RMT_FLAG_ONEWAY) ||
	    f->cmd.code == KMQ_REQ_NOTIFY_CONSUMER_IDS_CHANGED) {
		kmqc_frame_free(f);
		return;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		kmqc_frame_free(f);
		return;
	}
	r->c = c;
	r->conn = conn;
	r->req = f;
	pthread_mutex_lock(&c->conns_lock);
	conn->refs++;
	pthread_mutex_unlock(&c->conns_lock);
	if (kmqc_wq_post(&c->exec, 0, kmqc_reply_unsupported, r))
		kmqc_reply_unsupported(r, false);
}

static void kmqc_io_read(struct kmq_client *c, struct kmqc_conn *conn)
{
	struct kmqc_frame *f;
	long r = kmqc_conn_recv(conn);
	int ret;

	while ((ret = kmqc_conn_frame(conn, &f)) > 0) {
		struct kmqc_pending *p;

		if (!(f->cmd.flag & KMQ_RMT_FLAG_RESPONSE)) {
			kmqc_server_request(c, conn, f);
			continue;
		}
		pthread_mutex_lock(&c->pend_lock);
		p = kmqc_pending_take(c, conn, f->cmd.opaque);
		if (p)
			kmqc_complete(c, p, 0, f);
		pthread_mutex_unlock(&c->pend_lock);
		if (!p) {
			kmqc_dbg("%s: late response %d from %s dropped", c->id,
				 f->cmd.opaque, conn->addr);
			kmqc_frame_free(f);
		}
	}
	if (ret < 0)
		kmqc_conn_fail(c, conn, ret);
	else if (r < 0)
		kmqc_conn_fail(c, conn, r == -EPIPE ? -ECONNRESET : (int)r);
	else
		kmqc_conn_lowat(conn);
}

/* What poll() said of @conn: read, then write what waits. */
static void kmqc_io_conn(struct kmq_client *c, struct kmqc_conn *conn,
			 short revents)
{
	int ret;

	if (revents & ~POLLOUT)
		kmqc_io_read(c, conn);
	ret = kmqc_conn_flush(conn, revents & POLLOUT);
	if (ret)
		kmqc_conn_fail(c, conn, ret);
}

static void *kmqc_io_main(void *arg)
{
	struct kmq_client *c = arg;
	unsigned int cap = 64, n, i;
	struct kmqc_conn **cs = calloc(cap, sizeof(*cs));
	struct pollfd *pfds = calloc(cap, sizeof(*pfds));
	uint64_t last_scan = 0, now;
	bool scan;

	pthread_setname_np(pthread_self(), "kmq-io");
	while (!cs || !pfds) {
		/* Nothing can be read without them: wait for memory. */
		kmqc_sleep_ms(KMQC_SCAN_MS);
		if (!cs)
			cs = calloc(cap, sizeof(*cs));
		if (!pfds)
			pfds = calloc(cap, sizeof(*pfds));
	}
	for (;;) {
		struct kmqc_conn *conn;
		unsigned int want = 0;
		bool flush_now = false;

		pthread_mutex_lock(&c->conns_lock);
		if (!c->io_started) {
			pthread_mutex_unlock(&c->conns_lock);
			break;
		}
		for (conn = c->conns; conn; conn = conn->next)
			want++;
		if (want + 1 > cap) {
			unsigned int ncap = (want + 1) * 2;
			struct kmqc_conn **ncs = realloc(cs, ncap * sizeof(*cs));
			struct pollfd *np;

			if (ncs)
				cs = ncs;
			np = ncs ? realloc(pfds, ncap * sizeof(*pfds)) : NULL;
			if (np)
				pfds = np;
			if (ncs && np)
				cap = ncap;
		}
		pfds[0].fd = c->evfd;
		pfds[0].events = POLLIN;
		n = 0;
		for (conn = c->conns; conn && n + 1 < cap; conn = conn->next) {
			if (conn->state != KMQC_CONN_OPEN)
				continue;
			conn->refs++;
			cs[n] = conn;
			pfds[n + 1].fd = conn->fd;
			pfds[n + 1].events = POLLIN;
			pfds[n + 1].revents = 0;
			n++;
		}
		pthread_mutex_unlock(&c->conns_lock);
		for (i = 0; i < n; i++)
			pfds[i + 1].events |= kmqc_conn_poll_out(cs[i],
								 &flush_now);

		pfds[0].revents = 0;
		if (poll(pfds, n + 1, flush_now ? 0 : KMQC_SCAN_MS) >= 0) {
			if (pfds[0].revents & POLLIN) {
				uint64_t v;

				if (read(c->evfd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					kmqc_warn("eventfd: %s", strerror(errno));
			}
			for (i = 0; i < n; i++)
				kmqc_io_conn(c, cs[i], pfds[i + 1].revents);
		}
		now = kmqc_mono_ms();
		scan = now - last_scan >= KMQC_SCAN_MS;
		for (i = 0; scan && i < n; i++)
			if (kmqc_conn_stalled(cs[i], now,
					      c->cfg.request_timeout_ms))
				kmqc_conn_fail(c, cs[i], -ETIMEDOUT);
		pthread_mutex_lock(&c->conns_lock);
		for (i = 0; i < n; i++)
			kmqc_conn_put_locked(cs[i]);
		pthread_mutex_unlock(&c->conns_lock);
		if (scan) {
			last_scan = now;
			kmqc_expire(c, now);
		}
		kmqc_run_orphans(c);
	}
	free(cs);
	free(pfds);
	return NULL;
}

/* ---- life cycle ----------------------------------------------------- */

static void kmqc_client_free_mem(struct kmq_client *c)
{
	kmqc_routes_free(c);
	kmqc_wq_destroy(&c->svc);
	kmqc_wq_destroy(&c->exec);
	if (c->evfd >= 0)
		close(c->evfd);
	pthread_mutex_destroy(&c->conns_lock);
	pthread_cond_destroy(&c->conns_cv);
	pthread_mutex_destroy(&c->pend_lock);
	pthread_mutex_destroy(&c->routes.lock);
	free(c->ns);
	free(c->namesrv);
	free(c);
}

int kmqc_client_new(const struct kmq_client_config *cfg,
		    const struct kmqc_owner *owner, struct kmq_client **out)
{
	struct kmq_client *c;
	int ret;

	if (!cfg || !out)
		return kmqc_fail(-EINVAL, "no configuration");
	if (cfg->serialize != KMQ_SERIALIZE_JSON &&
	    cfg->serialize != KMQ_SERIALIZE_ROCKETMQ)
		return kmqc_fail(-EINVAL, "unknown serialization %d",
				 cfg->serialize);
	c = calloc(1, sizeof(*c));
	if (!c)
		return kmqc_fail(-ENOMEM, "new client");
	c->cfg = *cfg;
	c->cfg.namesrv_addr = NULL;
	c->cfg.client_ip = NULL;
	c->cfg.instance_name = NULL;
	kmqc_config_defaults(&c->cfg);
	c->evfd = -1;
	pthread_mutex_init(&c->conns_lock, NULL);
	pthread_mutex_init(&c->pend_lock, NULL);
	pthread_mutex_init(&c->routes.lock, NULL);
	ret = kmqc_cond_init(&c->conns_cv);
	if (ret) {
		pthread_cond_init(&c->conns_cv, NULL);
		goto fail;
	}
	if (owner)
		c->own = *owner;
	c->cfg.client_ip = cfg->client_ip;
	c->cfg.instance_name = cfg->instance_name;
	ret = kmqc_parse_namesrv(c, cfg->namesrv_addr);
	if (!ret)
		ret = kmqc_identity(c);
	c->cfg.client_ip = NULL;
	c->cfg.instance_name = NULL;
	c->cfg.namesrv_addr = c->namesrv;
	if (ret)
		goto fail;
	c->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->evfd < 0) {
		ret = kmqc_fail(-errno, "eventfd");
		goto fail;
	}
	ret = kmqc_wq_init(&c->exec, c->cfg.callback_threads, "kmq-callback");
	if (!ret)
		ret = kmqc_wq_init(&c->svc, 1, "kmq-timer");
	if (ret) {
		kmqc_fail(ret, "start threads");
		goto fail;
	}
	c->io_started = true;
	ret = -pthread_create(&c->io, NULL, kmqc_io_main, c);
	if (ret) {
		c->io_started = false;
		kmqc_fail(ret, "start the I/O thread");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	kmqc_client_free_mem(c);
	return ret;
}

int kmq_client_new(const struct kmq_client_config *cfg,
		   struct kmq_client **out)
{
	return kmqc_client_new(cfg, NULL, out);
}

void kmqc_client_stop(struct kmq_client *c)
{
	struct kmqc_conn *conn;
	unsigned int b;
	bool io;

	kmqc_wq_stop(&c->svc, false);
	pthread_mutex_lock(&c->pend_lock);
	pthread_mutex_lock(&c->conns_lock);
	c->stopping = true;
	io = c->io_started;
	c->io_started = false;
	pthread_cond_broadcast(&c->conns_cv);
	pthread_mutex_unlock(&c->conns_lock);
	pthread_mutex_unlock(&c->pend_lock);
	if (io) {
		kmqc_io_wake(c);
		pthread_join(c->io, NULL);
	}
	pthread_mutex_lock(&c->pend_lock);
	for (b = 0; b < KMQC_PEND_BUCKETS; b++) {
		while (c->pend[b]) {
			struct kmqc_pending *p = c->pend[b];

			c->pend[b] = p->next;
			kmqc_pending_gone(c, p);
			kmqc_complete(c, p, -ESHUTDOWN, NULL);
		}
	}
	pthread_mutex_unlock(&c->pend_lock);
	kmqc_wq_stop(&c->exec, true);
	kmqc_run_orphans(c);
	for (;;) {
		pthread_mutex_lock(&c->conns_lock);
		conn = c->conns;
		if (conn && conn->state == KMQC_CONN_CONNECTING) {
			/* A connect in progress ends within its timeout. */
			kmqc_cond_wait_until(&c->conns_cv, &c->conns_lock,
					     kmqc_mono_ms() + 100);
			pthread_mutex_unlock(&c->conns_lock);
			continue;
		}
		pthread_mutex_unlock(&c->conns_lock);
		if (!conn)
			break;
		kmqc_conn_fail(c, conn, -ESHUTDOWN);
	}
}

void kmq_client_free(struct kmq_client *c)
{
	if (!c)
		return;
	kmqc_client_stop(c);
	kmqc_client_free_mem(c);
}
