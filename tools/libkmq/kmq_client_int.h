/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_client_int.h - the client instance inside every producer and
 * consumer: connections (kmq_conn.c), requests matched to responses by
 * opaque (kmq_client.c, kmq_call.c), routes from the name servers
 * (kmq_route.c), heartbeats (kmq_heartbeat.c).
 */
#ifndef KMQ_CLIENT_INT_H
#define KMQ_CLIENT_INT_H

#include <sys/uio.h>

#include <jansson.h>

#include "kmq_int.h"

#define KMQC_VERSION		KMQD_CLIENT_VERSION
#define KMQC_LANGUAGE		"CPP"
#define KMQC_PEND_BUCKETS	1024
#define KMQC_MAX_FRAME		(KMQ_RMT_MAX_FRAME + KMQ_RMT_PREFIX)
#define KMQC_SCAN_MS		100	/* async timeouts checked this often */

/* ---- connections (kmq_conn.c) ---------------------------------------- */

enum kmqc_conn_state {
	KMQC_CONN_CONNECTING,
	KMQC_CONN_OPEN,
	KMQC_CONN_DEAD,
};

/**
 * struct kmqc_conn - one TCP connection to "host:port".
 * @refs, @state, @next: under the client's conns_lock
 * @dead: under the client's pend_lock; set once, refuses new requests
 * @npend: requests awaiting their response on it (atomic; pend_lock
 *	when it changes)
 * @evfd: the client's eventfd, which wakes the I/O thread (not owned)
 *
 * Output, under @wlock: frames are encoded straight into @out; a writer
 * (whichever thread finds none at work: the caller, or the I/O thread)
 * swaps @out and @wbuf and sends @wbuf whole, so that every frame queued
 * meanwhile goes out in the next send.
 * @wbuf, @woff: what the writer sends, @woff bytes of it sent
 * @queued, @written: bytes ever queued and written; a frame whose last
 *	byte is queued byte N is out once @written >= N
 * @writing: a writer is at work (and owns @wbuf while @wlock is dropped)
 * @io_flush: the I/O thread writes what is left (it was woken for it)
 * @want_out: ... when the socket takes more (it polls POLLOUT)
 * @werr: the error that lost the connection: nothing more is queued
 * @wstall: since when (kmqc_mono_ms()) queued bytes found the socket
 *	full with no progress; 0 when not
 * @wcv: a writer wrote, stopped, or the connection was lost
 * @rbuf, @rlen, @rcap: received bytes, read by the I/O thread only;
 *	[@rstart, @rlen) not yet cut into frames
 * @lowat: the socket's SO_RCVLOWAT (I/O thread; 0 is 1)
 */
struct kmqc_conn {
	char addr[KMQ_ADDR_MAX + 1];
	int fd;
	int evfd;
	unsigned int refs;
	enum kmqc_conn_state state;
	bool dead;
	bool is_ns;
	unsigned int npend;
	pthread_mutex_t wlock;
	pthread_cond_t wcv;
	struct kmq_buf out;
	struct kmq_buf wbuf;
	size_t woff;
	uint64_t queued;
	uint64_t written;
	bool writing;
	bool io_flush;
	bool want_out;
	int werr;
	uint64_t wstall;
	uint8_t *rbuf;
	size_t rstart;
	size_t rlen;
	size_t rcap;
	int lowat;
	struct kmqc_conn *next;
};

/**
 * enum kmqc_wmode - how a frame queued on a connection gets written.
 * @KMQC_W_WAIT: before kmqc_conn_send() returns (oneway requests: "sent"
 *	means written)
 * @KMQC_W_NOW: at once by the caller, unless a writer is at work (it
 *	takes the frame along)
 * @KMQC_W_SOON: by the I/O thread, woken for it, together with the frames
 *	queued until it runs (responses are awaited on the connection: the
 *	frame is part of a stream); by the caller when much is queued
 */
enum kmqc_wmode {
	KMQC_W_WAIT,
	KMQC_W_NOW,
	KMQC_W_SOON,
};

/* kmqc_sock_connect() - a non-blocking TCP socket connected to @addr. */
int kmqc_sock_connect(const char *addr, unsigned int timeout_ms, int *fd);
void kmqc_conn_init(struct kmqc_conn *c);
void kmqc_conn_destroy(struct kmqc_conn *c);
/*
 * kmqc_conn_send() - queue the frame of @cmd (its header encoded into the
 * connection's buffer) with @blen bytes of @body, copied, and have it
 * written as @mode says. At most KMQC_OUT_MAX bytes wait to be written: a
 * caller finding more waits (or writes) until @deadline.
 * Return: 0; an error of encoding (-ENOMEM, -EMSGSIZE, -EINVAL), nothing
 * queued and the connection fine; or, with *@lost set, the error that
 * lost the connection, which the caller then fails (kmqc_conn_fail()).
 */
int kmqc_conn_send(struct kmqc_conn *c, const struct kmq_rmt_cmd *cmd,
		   const void *body, size_t blen, uint64_t deadline,
		   enum kmqc_wmode mode, bool *lost);
/*
 * kmqc_conn_flush() - the I/O thread writes what it was asked to write on
 * @c, without blocking; @ready: poll() said POLLOUT.
 * Return: 0, or the error that lost the connection.
 */
int kmqc_conn_flush(struct kmqc_conn *c, bool ready);
/*
 * kmqc_conn_poll_out() - what the I/O thread waits for to write on @c:
 * POLLOUT, or 0 (also when a flush is due at once: *@now set).
 */
short kmqc_conn_poll_out(struct kmqc_conn *c, bool *now);
/* kmqc_conn_stalled() - has the socket taken nothing for @ms (@now)? */
bool kmqc_conn_stalled(struct kmqc_conn *c, uint64_t now, uint64_t ms);
/* kmqc_conn_lost() - refuse frames from now on; writers stop with @err. */
void kmqc_conn_lost(struct kmqc_conn *c, int err);
/*
 * kmqc_conn_recv() - read what is there into @c->rbuf.
 * Return: bytes read (0: nothing now), -EPIPE at end of stream, -errno.
 */
long kmqc_conn_recv(struct kmqc_conn *c);
/*
 * kmqc_conn_frame() - take the next whole frame out of @c->rbuf.
 * Return: 1 and *@f, 0 when more bytes are needed, -EPROTO, -ENOMEM.
 */
int kmqc_conn_frame(struct kmqc_conn *c, struct kmqc_frame **f);
/*
 * kmqc_conn_lowat() - when a large frame is partly in @c->rbuf, have
 * poll() report the socket readable only once the rest is there
 * (SO_RCVLOWAT), not for every segment of it; else from one byte.
 */
void kmqc_conn_lowat(struct kmqc_conn *c);

/* ---- requests (kmq_client.c, kmq_call.c) ----------------------------- */

/*
 * kmqc_done_fn - completion of an async request, on a callback thread:
 * @err 0 and @resp (the callee frees it with kmqc_frame_free()), or an
 * error and NULL.
 */
typedef void (*kmqc_done_fn)(void *arg, int err, struct kmqc_frame *resp);

/**
 * struct kmqc_pending - a request awaiting its response.
 * @cv: a sync caller waits on it (else @fn is called on a callback thread)
 * @own: the caller's storage (kmqc_call_async_p()), not freed here
 * @sending: its caller is still in kmqc_send(): a completion waits
 *	(@deferred) until kmqc_sent()
 * @task: how its completion is posted (no allocation)
 */
struct kmqc_pending {
	int32_t opaque;
	int32_t code;
	struct kmqc_conn *conn;
	uint64_t deadline;
	kmqc_done_fn fn;
	void *arg;
	pthread_cond_t *cv;
	bool done;
	bool own;
	bool sending;
	bool deferred;
	int err;
	struct kmqc_frame *resp;
	struct kmqc_task task;
	char addr[KMQ_ADDR_MAX + 1];
	struct kmqc_pending *next;
};

/* What the producer or consumer owning a client lets it call. */
struct kmqc_owner {
	void *owner;
	/* add this owner's consumer and producer data to a heartbeat */
	int (*hb_build)(void *owner, json_t *consumers, json_t *producers);
	/* the broker says a consumer group changed (40) */
	void (*on_notify)(void *owner, const char *group);
	/* the connection to broker @addr closed (I/O or a writer thread) */
	void (*on_conn_lost)(void *owner, const char *addr);
};

/* ---- routes (kmq_route.c) -------------------------------------------- */

/**
 * struct kmqc_route - a topic's route, immutable once published; readers
 * hold a reference (kmqc_route_put()).
 * @wmqs: writable queues of brokers with a master, sorted (publish)
 * @rmqs: readable queues, sorted (subscribe)
 * @from_default: built from the create-topic key's route (the topic does
 *	not exist yet; its first send creates it)
 */
struct kmqc_route {
	unsigned int refs;
	char topic[KMQ_TOPIC_MAX + 1];
	struct kmq_topic_route *tr;
	struct kmq_mq *wmqs;
	unsigned int nw;
	struct kmq_mq *rmqs;
	unsigned int nr;
	bool from_default;
};

struct kmqc_routes {
	pthread_mutex_t lock;
	struct kmqc_route **v;
	unsigned int n;
	unsigned int cap;
};

/* ---- the client ------------------------------------------------------ */

struct kmq_client {
	struct kmq_client_config cfg;
	char *namesrv;
	char **ns;
	unsigned int nns;
	unsigned int ns_cur;
	char client_ip[64];
	char instance[KMQ_NAME_MAX + 1];
	char id[KMQ_NAME_MAX + 66];

	pthread_mutex_t conns_lock;
	pthread_cond_t conns_cv;
	struct kmqc_conn *conns;

	pthread_mutex_t pend_lock;
	struct kmqc_pending *pend[KMQC_PEND_BUCKETS];
	unsigned int npend;
	struct kmqc_pending *orphans;	/* completions not yet posted */
	uint32_t opaque;

	int evfd;
	pthread_t io;
	bool io_started;
	bool stopping;

	struct kmqc_wq exec;	/* completions and callbacks */
	struct kmqc_wq svc;	/* timers: routes, heartbeats, owner tasks */
	struct kmqc_routes routes;

	struct kmqc_owner own;
	bool hb_queued;
	bool timers_started;
};

/*
 * kmqc_client_new() - a client for @owner (NULL: raw requests only).
 * Its timers (routes, heartbeats) start with kmqc_client_start_timers().
 */
int kmqc_client_new(const struct kmq_client_config *cfg,
		    const struct kmqc_owner *owner, struct kmq_client **out);
void kmqc_client_start_timers(struct kmq_client *c);
/* kmqc_client_stop() - stop timers and I/O, fail what is pending. */
void kmqc_client_stop(struct kmq_client *c);

/* kmqc_conn_get() - an open connection to @addr (connects). */
int kmqc_conn_get(struct kmq_client *c, const char *addr,
		  struct kmqc_conn **out);
void kmqc_conn_put(struct kmq_client *c, struct kmqc_conn *conn);
/* kmqc_conn_fail() - close @conn: its pending requests get @err. */
void kmqc_conn_fail(struct kmq_client *c, struct kmqc_conn *conn, int err);

/*
 * kmqc_send() - write @req (opaque set here) and @body on a connection to
 * @addr; with @p, register it first to receive the response. Without @p
 * (oneway) it returns once the frame is written; a sync caller (@p->cv),
 * or the only request awaiting a response on the connection, writes at
 * once; async requests behind others are written by the I/O thread
 * together with what follows them (enum kmqc_wmode).
 * Return: 0 (with @p: the outcome arrives through @p), or an error (@p
 * was not registered).
 */
int kmqc_send(struct kmq_client *c, const char *addr, struct kmq_rmt_cmd *req,
	      const void *body, size_t blen, struct kmqc_pending *p,
	      uint64_t deadline);
/*
 * kmqc_complete() - hand @p its outcome (pend_lock held, @p unlinked). An
 * async request whose writer is still in kmqc_send() is completed when
 * the writer is done with it (kmqc_sent()): its callback may free what
 * the writer still reads.
 */
void kmqc_complete(struct kmq_client *c, struct kmqc_pending *p, int err,
		   struct kmqc_frame *resp);
/* kmqc_sent() - the writer of @p is done: a deferred completion goes. */
void kmqc_sent(struct kmq_client *c, struct kmqc_pending *p);
/* kmqc_pending_unlink() - take @p out of the table (pend_lock held). */
bool kmqc_pending_unlink(struct kmq_client *c, struct kmqc_pending *p);
/* kmqc_pending_add() - enter @p (@opaque, @conn set) in the table. */
void kmqc_pending_add(struct kmq_client *c, struct kmqc_pending *p);
/* kmqc_pending_gone() - @p was taken out of its bucket: the counts. */
void kmqc_pending_gone(struct kmq_client *c, struct kmqc_pending *p);

/* kmqc_req() - a request of @code in the client's serialization. */
int kmqc_req(struct kmq_client *c, struct kmq_rmt_cmd *req, int code);

#define KMQC_REQ_FIELDS		16
#define KMQC_NUM_LEN		24	/* an int64_t in decimal, and a NUL */

/**
 * struct kmqc_req - a request built without allocating, for the requests
 * of every message (sends, pulls): its extFields point at the caller's
 * strings, or at @num for numbers. It is only encoded, never freed
 * (kmq_rmt_cmd_free() must not see @cmd).
 */
struct kmqc_req {
	struct kmq_rmt_cmd cmd;
	struct kmq_rmt_field f[KMQC_REQ_FIELDS];
	char num[KMQC_REQ_FIELDS][KMQC_NUM_LEN];
};

/* kmqc_req_init() - an empty request of @code, as kmqc_req(). */
void kmqc_req_init(struct kmq_client *c, struct kmqc_req *r, int code);
/* kmqc_req_add() - extField @key = @val; both must outlive @r's use. */
void kmqc_req_add(struct kmqc_req *r, const char *key, const char *val);
/* kmqc_req_add_i64() - extField @key = @v in decimal. */
void kmqc_req_add_i64(struct kmqc_req *r, const char *key, int64_t v);
/* kmqc_i64_str() - @v in decimal at @buf (KMQC_NUM_LEN); its length. */
unsigned int kmqc_i64_str(int64_t v, char *buf);
/* kmqc_exts() - add extFields: key, value, ..., NULL (values copied). */
int kmqc_exts(struct kmq_rmt_cmd *req, ...);

/* Sync, async and oneway calls; @timeout_ms 0: request_timeout_ms. */
int kmqc_call(struct kmq_client *c, const char *addr, struct kmq_rmt_cmd *req,
	      const void *body, size_t blen, unsigned int timeout_ms,
	      struct kmqc_frame **resp);
int kmqc_call_async(struct kmq_client *c, const char *addr,
		    struct kmq_rmt_cmd *req, const void *body, size_t blen,
		    unsigned int timeout_ms, kmqc_done_fn fn, void *arg);
/*
 * kmqc_call_async_p() - kmqc_call_async() in the caller's @p (no
 * allocation), answered by @deadline (kmqc_mono_ms()): @p must stay
 * valid until @fn is called; @fn may free it, or reuse it for another
 * request.
 */
int kmqc_call_async_p(struct kmq_client *c, const char *addr,
		      struct kmq_rmt_cmd *req, const void *body, size_t blen,
		      uint64_t deadline, struct kmqc_pending *p,
		      kmqc_done_fn fn, void *arg);
int kmqc_call_oneway(struct kmq_client *c, const char *addr,
		     struct kmq_rmt_cmd *req, const void *body, size_t blen);
/* kmqc_call_ns() - to the name servers, each tried once from the last good. */
int kmqc_call_ns(struct kmq_client *c, struct kmq_rmt_cmd *req,
		 unsigned int timeout_ms, struct kmqc_frame **resp);
/*
 * kmqc_call_ok() - kmqc_call() (@addr NULL: name servers) where a
 * non-zero response code is an error (KMQ_ERR_BROKER(code)); @resp may
 * be NULL when the caller does not need the response.
 */
int kmqc_call_ok(struct kmq_client *c, const char *addr,
		 struct kmq_rmt_cmd *req, const void *body, size_t blen,
		 unsigned int timeout_ms, struct kmqc_frame **resp,
		 const char *what);

/* ---- routes (kmq_route.c) -------------------------------------------- */

/* kmqc_route_fetch() - 105 for @topic, parsed. */
int kmqc_route_fetch(struct kmq_client *c, const char *topic,
		     struct kmq_topic_route **out);
/* kmqc_route_parse() - a 105 body (standard JSON, or Java's numeric keys). */
int kmqc_route_parse(const void *body, size_t len,
		     struct kmq_topic_route **out);
/*
 * kmqc_route_build() - the queues of @tr for @topic; @default_queues > 0:
 * at most that many queues per broker (a topic created by its first send).
 */
struct kmqc_route *kmqc_route_build(const char *topic,
				    struct kmq_topic_route *tr,
				    unsigned int default_queues);
/* kmqc_route_get() - @topic's route, from the cache or fetched now. */
int kmqc_route_get(struct kmq_client *c, const char *topic,
		   struct kmqc_route **out);
/*
 * kmqc_route_get_publish() - the same for sending: an unknown topic gets
 * the queues of @default_key (at most @default_queues per broker).
 */
int kmqc_route_get_publish(struct kmq_client *c, const char *topic,
			   const char *default_key,
			   unsigned int default_queues,
			   struct kmqc_route **out);
void kmqc_route_put(struct kmqc_route *r);
/* kmqc_route_update() - fetch @topic now; the cache keeps the old on error. */
int kmqc_route_update(struct kmq_client *c, const char *topic);
void kmqc_routes_refresh(struct kmq_client *c);
void kmqc_routes_free(struct kmq_client *c);
/* kmqc_broker_addr() - master address of @broker from the routes known. */
int kmqc_broker_addr(struct kmq_client *c, const char *broker, char *addr,
		     size_t len);
/* struct kmqc_addr - one "host:port". */
struct kmqc_addr {
	char s[KMQ_ADDR_MAX + 1];
};

/* kmqc_broker_addrs() - every known master address (free()); the count. */
int kmqc_broker_addrs(struct kmq_client *c, struct kmqc_addr **addrs);
int kmqc_mq_cmp(const void *a, const void *b);

/* ---- heartbeats (kmq_heartbeat.c) ------------------------------------ */

/* kmqc_heartbeat() - the owner's heartbeat to every known broker. */
int kmqc_heartbeat(struct kmq_client *c);
/* kmqc_heartbeat_soon() - one heartbeat on the timer thread, coalesced. */
void kmqc_heartbeat_soon(struct kmq_client *c);
/* kmqc_unregister() - UNREGISTER_CLIENT (35) of a group on every broker. */
void kmqc_unregister(struct kmq_client *c, const char *producer_group,
		     const char *consumer_group);

#endif /* KMQ_CLIENT_INT_H */
