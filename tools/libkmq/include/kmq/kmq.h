/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq.h - libkmq, the C client of kmq (and of RocketMQ 4.x brokers): the
 * one public header of the library.
 *
 * Objects
 *   struct kmq_client         connections to name servers and brokers,
 *                             routes, heartbeats, raw requests (admin tools)
 *   struct kmq_producer       sync, async and oneway sends, batches
 *   struct kmq_push_consumer  long-polling consumer calling a listener,
 *                             concurrent or orderly, clustering or
 *                             broadcasting
 *   struct kmq_pull_consumer  the caller pulls queues and drives offsets
 *
 * Thread-safety
 *   Every function may be called from any thread, concurrently, on the
 *   same object, except the *_free() functions: free an object once, after
 *   every other call on it has returned. Callbacks (send and pull
 *   completions, listeners, the log hook) run on the library's own
 *   threads; they may call any function of this header except freeing
 *   the object they belong to, but they should return quickly: a send or
 *   pull callback holds up the completion of other requests of its
 *   object, a listener holds a consume thread.
 *
 * Ownership of buffers
 *   Everything passed in (messages, strings, fields, bodies) belongs to the
 *   caller and is copied before the call returns: it may be reused at once,
 *   even after an async send. Everything handed out is owned by the library:
 *   a message given to a listener is valid until the listener returns; a
 *   pull result until kmq_pull_result_free(); a response until
 *   kmq_response_free(); a route until kmq_topic_route_free(); arrays
 *   returned through a pointer-to-pointer argument (queue lists) are
 *   released with free().
 *
 * Errors
 *   Functions returning int return 0 (or a count) on success and a negative
 *   value on failure:
 *     -EINVAL      a bad argument (NULL, empty or too long name, bad config)
 *     -ENOMEM      out of memory
 *     -EMSGSIZE    body (or batch) over max_message_size, properties
 *                  over 32767 bytes
 *     -ENOENT      no route for the topic, no broker for a queue, or no
 *                  offset stored for a queue (kmq_pull_consumer_fetch_offset)
 *     -ETIMEDOUT   no response in time (the request may still have been
 *                  carried out by the broker)
 *     -ECONNREFUSED, -ECONNRESET, -EPIPE, -EHOSTUNREACH, ... the
 *                  connection could not be made or broke
 *     -EPROTO      the peer sent something the library cannot read
 *     -ESHUTDOWN   the object is being freed
 *     -EALREADY    start called twice, or subscribe after start
 *     -EIO         a local file (broadcasting offsets) cannot be written
 *     KMQ_ERR_BROKER(code)  the broker or name server answered with a
 *                  response code other than success, e.g. 17
 *                  TOPIC_NOT_EXIST, 13 MESSAGE_ILLEGAL, 2 SYSTEM_BUSY
 *   kmq_strerror() names any of them; kmq_errmsg() holds the details of
 *   the last error this thread got (the broker's remark, the address).
 */
#ifndef KMQ_CLIENT_H
#define KMQ_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KMQ_API __attribute__((visibility("default")))
#else
#define KMQ_API
#endif

/* ---- errors -------------------------------------------------------- */

/* A broker's response code @code as an error value. */
#define KMQ_EBROKER		100000
#define KMQ_ERR_BROKER(code)	(-(KMQ_EBROKER + (code)))

/** kmq_err_is_broker() - is @err a broker's response code? */
static inline bool kmq_err_is_broker(int err)
{
	return err <= -KMQ_EBROKER;
}

/** kmq_err_broker_code() - the response code inside @err, or -1. */
static inline int kmq_err_broker_code(int err)
{
	return kmq_err_is_broker(err) ? -err - KMQ_EBROKER : -1;
}

/**
 * kmq_strerror() - a short English name of @err (an errno, or a broker
 * code such as "TOPIC_NOT_EXIST (17)"). Never NULL; static storage.
 */
KMQ_API const char *kmq_strerror(int err);

/**
 * kmq_errmsg() - what went wrong in the last call of this thread that
 * failed, with details (address, the broker's remark). Callbacks see the
 * message of the error they are given. Valid until this thread's next
 * library call.
 */
KMQ_API const char *kmq_errmsg(void);

/* ---- logging ------------------------------------------------------- */

enum kmq_log_level {
	KMQ_LOG_ERROR = 0,
	KMQ_LOG_WARN,
	KMQ_LOG_INFO,
	KMQ_LOG_DEBUG,
};

typedef void (*kmq_log_fn)(void *arg, enum kmq_log_level level,
			   const char *msg);

/**
 * kmq_set_log() - where the library's log lines go, process-wide.
 * @max: lines above this level are dropped (default KMQ_LOG_WARN)
 * @fn: NULL for stderr ("libkmq: warn: ..."), else called from any thread
 * @arg: passed to @fn
 */
KMQ_API void kmq_set_log(enum kmq_log_level max, kmq_log_fn fn, void *arg);

/* ---- names and queues ---------------------------------------------- */

#define KMQ_TOPIC_MAX		127	/* bytes of a topic name */
#define KMQ_NAME_MAX		127	/* group, broker and client names */
#define KMQ_MSG_ID_MAX		56	/* characters of a message id */
#define KMQ_ADDR_MAX		63	/* "host:port" */

/**
 * struct kmq_mq - a message queue: one queue of a topic on one broker.
 */
struct kmq_mq {
	char topic[KMQ_TOPIC_MAX + 1];
	char broker_name[KMQ_NAME_MAX + 1];
	int queue_id;
};

/* ---- the client: connections, routes, raw requests ------------------ */

enum kmq_serialize {
	KMQ_SERIALIZE_JSON = 0,		/* what RocketMQ clients send */
	KMQ_SERIALIZE_ROCKETMQ = 1,	/* RocketMQ's binary header */
};

/**
 * struct kmq_client_config - settings shared by every object; fill with
 * kmq_client_config_init() first.
 * @namesrv_addr: name servers, "host:port" separated by ';' (required)
 * @client_ip: the IP in the client id; NULL: the first non-loopback IPv4
 *	address of the host, else 127.0.0.1
 * @instance_name: the rest of the client id; NULL: "<pid>#<unique>", so
 *	every object of a process has its own id
 * @connect_timeout_ms: TCP connect (3000)
 * @request_timeout_ms: requests other than sends and pulls (3000)
 * @callback_threads: threads running completions and callbacks (1)
 * @route_interval_ms: routes of the topics in use refreshed (30000)
 * @heartbeat_interval_ms: heartbeat to every broker (30000)
 * @serialize: header serialization of requests (JSON)
 */
struct kmq_client_config {
	const char *namesrv_addr;
	const char *client_ip;
	const char *instance_name;
	unsigned int connect_timeout_ms;
	unsigned int request_timeout_ms;
	unsigned int callback_threads;
	unsigned int route_interval_ms;
	unsigned int heartbeat_interval_ms;
	enum kmq_serialize serialize;
};

KMQ_API void kmq_client_config_init(struct kmq_client_config *cfg);

struct kmq_client;

/**
 * kmq_client_new() - a client for raw requests (admin tools). Producers
 * and consumers make their own; kmq_producer_client() and friends return
 * it. Return: 0, -EINVAL, -ENOMEM.
 */
KMQ_API int kmq_client_new(const struct kmq_client_config *cfg,
			   struct kmq_client **out);

/** kmq_client_free() - close connections, stop threads, free. */
KMQ_API void kmq_client_free(struct kmq_client *c);

/** kmq_client_id() - "ip@instance", as sent in heartbeats. */
KMQ_API const char *kmq_client_id(const struct kmq_client *c);

/** struct kmq_field - one extFields entry of a request or response. */
struct kmq_field {
	const char *key;
	const char *value;
};

/**
 * struct kmq_response - a response to kmq_client_request(), owned by the
 * library (kmq_response_free()).
 * @code: the response code (0 success)
 * @remark: the remark, or NULL
 * @fields: extFields; numbers arrive as their decimal text
 * @body: the body, @body_len bytes (NULL when empty)
 */
struct kmq_response {
	int code;
	const char *remark;
	unsigned int nfields;
	const struct kmq_field *fields;
	const void *body;
	size_t body_len;
};

/**
 * kmq_client_request() - send request @code with @fields and @body to
 * @addr ("host:port"; NULL: a name server, trying each in turn) and wait
 * up to @timeout_ms (0: request_timeout_ms) for the response.
 * A response with a non-zero code is not an error of this function: it
 * returns 0 and the caller reads (*@resp)->code.
 * Return: 0 and *@resp, or -EINVAL, -ENOMEM, -ETIMEDOUT, a connection
 * error, -EPROTO.
 */
KMQ_API int kmq_client_request(struct kmq_client *c, const char *addr,
			       int code, const struct kmq_field *fields,
			       unsigned int nfields, const void *body,
			       size_t body_len, unsigned int timeout_ms,
			       struct kmq_response **resp);

/**
 * kmq_client_oneway() - the same, flagged oneway: written, not answered.
 * Return: 0 once written, or an error as kmq_client_request().
 */
KMQ_API int kmq_client_oneway(struct kmq_client *c, const char *addr,
			      int code, const struct kmq_field *fields,
			      unsigned int nfields, const void *body,
			      size_t body_len);

/** kmq_response_field() - the value of extField @key, or NULL. */
KMQ_API const char *kmq_response_field(const struct kmq_response *r,
				       const char *key);

KMQ_API void kmq_response_free(struct kmq_response *r);

/** struct kmq_broker_addr - one address of a broker; id 0 is the master. */
struct kmq_broker_addr {
	int64_t id;
	char addr[KMQ_ADDR_MAX + 1];
};

struct kmq_broker_data {
	char cluster[KMQ_NAME_MAX + 1];
	char name[KMQ_NAME_MAX + 1];
	unsigned int naddrs;
	struct kmq_broker_addr *addrs;
};

/* perm bits of struct kmq_queue_data */
#define KMQ_QUEUE_PERM_WRITE		0x2
#define KMQ_QUEUE_PERM_READ		0x4

struct kmq_queue_data {
	char broker_name[KMQ_NAME_MAX + 1];
	int read_queues;
	int write_queues;
	int perm;
	int sys_flag;
};

/**
 * struct kmq_topic_route - a topic's route as the name server answers it
 * (GET_ROUTEINFO_BY_TOPIC, 105), brokers and queue data sorted by name.
 */
struct kmq_topic_route {
	unsigned int nbrokers;
	struct kmq_broker_data *brokers;
	unsigned int nqueues;
	struct kmq_queue_data *queues;
};

/**
 * kmq_client_topic_route() - ask the name servers for @topic's route now.
 * Return: 0 and *@out (kmq_topic_route_free()), KMQ_ERR_BROKER(17) for an
 * unknown topic, or a request error.
 */
KMQ_API int kmq_client_topic_route(struct kmq_client *c, const char *topic,
				   struct kmq_topic_route **out);

KMQ_API void kmq_topic_route_free(struct kmq_topic_route *r);

/* ---- messages ------------------------------------------------------ */

/** struct kmq_property - a user property of an outgoing message. */
struct kmq_property {
	const char *name;
	const char *value;
};

/**
 * struct kmq_message - a message to send; the caller's (copied by sends).
 * @topic: required, at most KMQ_TOPIC_MAX bytes
 * @tags: property TAGS, or NULL
 * @keys: property KEYS (space-separated keys), or NULL
 * @body: @body_len bytes; bodies of compress_threshold bytes or more are
 *	sent zlib-compressed (except in batches)
 * @flag: the producer's flag, stored with the message
 * @delay_level: 0, or a delay level 1..18 (1s 5s 10s 30s 1m ... 2h)
 * @props: @nprops more properties; names and values without \x01, \x02
 */
struct kmq_message {
	const char *topic;
	const char *tags;
	const char *keys;
	const void *body;
	size_t body_len;
	int32_t flag;
	int delay_level;
	unsigned int nprops;
	const struct kmq_property *props;
};

/**
 * struct kmq_message_ext - a received message, owned by the library.
 * @topic: the topic; for a message re-delivered from %RETRY%<group>, the
 *	original topic (property RETRY_TOPIC)
 * @tags: property TAGS or NULL; @keys: property KEYS or NULL
 * @body: the body, decompressed; @body_len bytes, followed by a NUL byte
 *	(not counted) so that text bodies can be read as strings
 * @body_raw: 1 when the body was compressed and could not be inflated:
 *	@body is then the stored bytes
 * @props: the properties string ("name\1value\2..."), NUL-terminated
 * @msg_id: property UNIQ_KEY when present, else @offset_msg_id
 * @offset_msg_id: the broker's id of the record (store host and offset)
 * @broker_name: the broker it came from
 * @queue_id, @queue_offset: where it is in its topic (the %RETRY% queue
 *	for a re-delivered message)
 * @commitlog_offset: its offset in the broker's commitlog
 * @reconsume_times: how often it was delivered again
 * @born_ts, @store_ts: ms since the epoch
 * @born_host, @store_host: "ip:port"
 */
struct kmq_message_ext {
	const char *topic;
	const char *tags;
	const char *keys;
	const void *body;
	size_t body_len;
	int body_raw;
	const char *props;
	size_t props_len;
	int32_t flag;
	uint32_t sys_flag;
	uint32_t body_crc;
	const char *broker_name;
	int queue_id;
	int64_t queue_offset;
	int64_t commitlog_offset;
	int32_t reconsume_times;
	int64_t born_ts;
	int64_t store_ts;
	char born_host[48];
	char store_host[48];
	char msg_id[KMQ_MSG_ID_MAX + 1];
	char offset_msg_id[KMQ_MSG_ID_MAX + 1];
};

/**
 * kmq_message_prop() - property @name of @m copied into @buf (truncated
 * to @len - 1 bytes and NUL-terminated).
 * Return: the value's full length, or -ENOENT.
 */
KMQ_API int kmq_message_prop(const struct kmq_message_ext *m,
			     const char *name, char *buf, size_t len);

/* ---- producer ------------------------------------------------------ */

/**
 * struct kmq_producer_config - fill with kmq_producer_config_init().
 * @client: connection settings
 * @group: producer group (required)
 * @send_timeout_ms: a whole send, retries included (3000)
 * @retry_times: further attempts after a failed send, each on another
 *	broker when there is one (2: retryTimesWhenSendFailed)
 * @compress_threshold: bodies of this many bytes or more are zlib
 *	compressed (4096); 0 disables compression
 * @compress_level: zlib level (5)
 * @max_message_size: largest body accepted (4 MiB)
 * @default_topic_queues: queues of a topic created by its first send (4)
 * @create_topic_key: the broker's template topic ("TBW102")
 * @fault_avoidance: avoid brokers that failed or answered slowly (true)
 * @fault_isolation_ms: how long a broker whose send failed is avoided
 *	(30000)
 * @async_inflight_max: async sends awaiting their response; a caller
 *	finding that many is blocked until an eighth of them (at least one)
 *	completed, or send_timeout_ms passed (10000)
 * @uniq_key: add property UNIQ_KEY, the message id (true)
 */
struct kmq_producer_config {
	struct kmq_client_config client;
	const char *group;
	unsigned int send_timeout_ms;
	unsigned int retry_times;
	size_t compress_threshold;
	int compress_level;
	size_t max_message_size;
	unsigned int default_topic_queues;
	const char *create_topic_key;
	bool fault_avoidance;
	unsigned int fault_isolation_ms;
	unsigned int async_inflight_max;
	bool uniq_key;
};

KMQ_API void kmq_producer_config_init(struct kmq_producer_config *cfg);

/**
 * enum kmq_send_status - a successful send's status, from the response
 * code: 0 SEND_OK, 10 FLUSH_DISK_TIMEOUT, 12 FLUSH_SLAVE_TIMEOUT,
 * 11 SLAVE_NOT_AVAILABLE. The message is stored in every case; the last
 * three say that it is not yet as durable as the broker is configured to
 * make it.
 */
enum kmq_send_status {
	KMQ_SEND_OK = 0,
	KMQ_SEND_FLUSH_DISK_TIMEOUT,
	KMQ_SEND_FLUSH_SLAVE_TIMEOUT,
	KMQ_SEND_SLAVE_NOT_AVAILABLE,
};

/** kmq_send_status_name() - "SEND_OK", ... */
KMQ_API const char *kmq_send_status_name(enum kmq_send_status s);

/**
 * struct kmq_send_result - where a message went.
 * @msg_id: its UNIQ_KEY (first message of a batch); the offset id when
 *	uniq_key is off
 * @offset_msg_id: the broker's id (first message of a batch)
 * @mq: the queue; @queue_offset: its offset there (first of a batch; a
 *	batch takes @count consecutive offsets)
 * @attempts: sends made, 1 + retries
 */
struct kmq_send_result {
	enum kmq_send_status status;
	char msg_id[KMQ_MSG_ID_MAX + 1];
	char offset_msg_id[KMQ_MSG_ID_MAX + 1];
	struct kmq_mq mq;
	int64_t queue_offset;
	unsigned int count;
	unsigned int attempts;
};

/**
 * kmq_selector_fn - picks the queue of a message among @n queues of its
 * topic (sorted by broker name, then queue id): return an index in
 * [0, @n). Out of range is taken modulo @n. Sends through a selector are
 * not retried on another queue, so that one key stays on one queue.
 */
typedef int (*kmq_selector_fn)(const struct kmq_mq *mqs, unsigned int n,
			       const struct kmq_message *m, void *arg);

struct kmq_selector {
	kmq_selector_fn fn;
	void *arg;
};

/**
 * kmq_select_by_hash() - a selector for ordered messages: @arg is a
 * NUL-terminated key (NULL: the message's keys); the queue is the key's
 * hash (Java's String.hashCode, absolute value) modulo @n.
 */
KMQ_API int kmq_select_by_hash(const struct kmq_mq *mqs, unsigned int n,
			       const struct kmq_message *m, void *arg);

/**
 * kmq_send_cb - completion of an async send, on a callback thread:
 * @err 0 and @res, or a negative error (then @res is NULL).
 */
typedef void (*kmq_send_cb)(void *arg, int err,
			    const struct kmq_send_result *res);

struct kmq_producer;

/** kmq_producer_new() - Return: 0, -EINVAL, -ENOMEM. */
KMQ_API int kmq_producer_new(const struct kmq_producer_config *cfg,
			     struct kmq_producer **out);

/**
 * kmq_producer_free() - wait for the async sends in flight (each completes
 * or times out), unregister from the brokers (UNREGISTER_CLIENT), close.
 */
KMQ_API void kmq_producer_free(struct kmq_producer *p);

/** kmq_producer_client() - the producer's client (raw requests). */
KMQ_API struct kmq_client *kmq_producer_client(struct kmq_producer *p);

/**
 * kmq_producer_send() - send @m and wait for the broker's answer. The
 * queue is chosen round robin (@sel NULL), avoiding recently failed
 * brokers, or by @sel. A failed attempt (connection error, timeout, or
 * codes 1 SYSTEM_ERROR, 14 SERVICE_NOT_AVAILABLE, 16 NO_PERMISSION,
 * 17 TOPIC_NOT_EXIST, 204, 205) is retried retry_times times on another
 * broker if there is one, within send_timeout_ms; other codes fail at once.
 * Return: 0 and *@res (may be NULL), or an error.
 */
KMQ_API int kmq_producer_send(struct kmq_producer *p,
			      const struct kmq_message *m,
			      const struct kmq_selector *sel,
			      struct kmq_send_result *res);

/**
 * kmq_producer_send_async() - the same without waiting: @cb is called once
 * with the outcome (retries included). Blocks only while
 * async_inflight_max sends are in flight.
 * Return: 0 (then @cb will be called), or an error (then it will not).
 */
KMQ_API int kmq_producer_send_async(struct kmq_producer *p,
				    const struct kmq_message *m,
				    const struct kmq_selector *sel,
				    kmq_send_cb cb, void *arg);

/**
 * kmq_producer_send_oneway() - write the message and return: no response,
 * no retry, no status. Return: 0 once written, or an error.
 */
KMQ_API int kmq_producer_send_oneway(struct kmq_producer *p,
				     const struct kmq_message *m,
				     const struct kmq_selector *sel);

/**
 * kmq_producer_send_batch() - @n messages of one topic as one
 * SEND_BATCH_MESSAGE (320) to one queue: stored at consecutive offsets.
 * No delay levels and no compression in a batch.
 * Return: 0 and *@res (count @n), -EINVAL (different topics, a delay
 * level, @n 0), -EMSGSIZE (over max_message_size together), or a send
 * error.
 */
KMQ_API int kmq_producer_send_batch(struct kmq_producer *p,
				    const struct kmq_message *msgs,
				    unsigned int n,
				    const struct kmq_selector *sel,
				    struct kmq_send_result *res);

/** kmq_producer_send_batch_async() - the batch, completed through @cb. */
KMQ_API int kmq_producer_send_batch_async(struct kmq_producer *p,
					  const struct kmq_message *msgs,
					  unsigned int n,
					  const struct kmq_selector *sel,
					  kmq_send_cb cb, void *arg);

/**
 * kmq_producer_flush() - wait until no async send is in flight.
 * Return: 0, or -ETIMEDOUT after @timeout_ms.
 */
KMQ_API int kmq_producer_flush(struct kmq_producer *p,
			       unsigned int timeout_ms);

/* ---- push consumer ------------------------------------------------- */

enum kmq_message_model {
	KMQ_CLUSTERING = 0,	/* the group shares the queues */
	KMQ_BROADCASTING,	/* every consumer gets every message */
};

/* Where a group new to a queue starts (no offset stored for it). */
enum kmq_consume_from {
	KMQ_CONSUME_FROM_LAST_OFFSET = 0,
	KMQ_CONSUME_FROM_FIRST_OFFSET,
	KMQ_CONSUME_FROM_TIMESTAMP,
};

/* How a group's queues are split among its consumers. */
enum kmq_allocate {
	KMQ_ALLOCATE_AVERAGELY = 0,	/* contiguous blocks: 10/3 = 4,3,3 */
	KMQ_ALLOCATE_AVERAGELY_BY_CIRCLE,	/* queue j to consumer j % n */
};

enum kmq_consume_status {
	KMQ_CONSUME_SUCCESS = 0,
	/* concurrent: send the messages back for a later retry */
	KMQ_CONSUME_RETRY_LATER,
	/* orderly: consume the same messages again after suspend_ms */
	KMQ_CONSUME_SUSPEND,
};

/**
 * struct kmq_consume_ctx - what a listener knows, and may change.
 * @mq: the queue the messages come from
 * @delay_level: concurrent, on RETRY_LATER: the delay level of the retry
 *	(0: the broker's, 3 + reconsume times); preset from the config
 * @suspend_ms: orderly, on SUSPEND: how long to wait; preset from the
 *	config
 */
struct kmq_consume_ctx {
	struct kmq_mq mq;
	int delay_level;
	unsigned int suspend_ms;
};

/**
 * kmq_listener_fn - consume @n messages (at most consume_batch_max),
 * sorted by queue offset, all of one queue. Runs on a consume thread.
 * Orderly: one queue is only ever in one call at a time, in order; in a
 * clustering group, across all its consumers (the broker's queue lock).
 */
typedef enum kmq_consume_status (*kmq_listener_fn)(void *arg,
	const struct kmq_message_ext *const *msgs, unsigned int n,
	struct kmq_consume_ctx *ctx);

/**
 * struct kmq_push_consumer_config - fill with kmq_push_consumer_config_init().
 * @client: connection settings
 * @group: consumer group (required)
 * @model: clustering (default) or broadcasting
 * @from: where a queue without a stored offset starts (last offset)
 * @consume_timestamp_ms: for KMQ_CONSUME_FROM_TIMESTAMP
 * @allocate: rebalance strategy (averagely)
 * @orderly: one queue at a time, in order, on one thread; clustering:
 *	a queue is only pulled and consumed while this consumer holds its
 *	lock at the broker (see client.md)
 * @listener, @listener_arg: the consume function (required)
 * @consume_threads: threads calling the listener (4)
 * @consume_batch_max: messages per listener call (1)
 * @pull_batch_size: messages per pull (32)
 * @pull_threshold_msgs: stop pulling a queue while it has this many
 *	messages waiting to be consumed (1000)
 * @pull_threshold_bytes: ... or this many bytes of bodies (100 MiB)
 * @suspend_timeout_ms: how long the broker holds a pull (long polling)
 *	when the queue is empty (15000); the pull times out 15 s later
 * @max_reconsume_times: deliveries before the dead-letter queue (16)
 * @retry_delay_level: delay level of retries (0: the broker's)
 * @suspend_ms: orderly pause after KMQ_CONSUME_SUSPEND (1000)
 * @orderly_takeover_ms: unused: orderly consumers lock their queues at
 *	the broker instead (below); kept so that code setting it compiles
 * @rebalance_interval_ms: rebalance period (20000); also on every broker
 *	notification that the group changed
 * @persist_interval_ms: offsets committed to the broker, or written to
 *	the local file when broadcasting (5000); also on close
 * @offset_store_dir: broadcasting: directory of the local offset files
 *	(NULL: $HOME/.kmq_offsets)
 * @lock_interval_ms: orderly, clustering: how often the locks of the
 *	owned queues are renewed at their brokers (LOCK_BATCH_MQ, 20000)
 * @lock_max_live_ms: orderly, clustering: a queue whose lock was last
 *	granted longer ago than this is not consumed until it is locked
 *	again (30000); longer than @lock_interval_ms (else -EINVAL), and
 *	shorter than the brokers' lock expiry (60 s)
 */
struct kmq_push_consumer_config {
	struct kmq_client_config client;
	const char *group;
	enum kmq_message_model model;
	enum kmq_consume_from from;
	int64_t consume_timestamp_ms;
	enum kmq_allocate allocate;
	bool orderly;
	kmq_listener_fn listener;
	void *listener_arg;
	unsigned int consume_threads;
	unsigned int consume_batch_max;
	unsigned int pull_batch_size;
	unsigned int pull_threshold_msgs;
	uint64_t pull_threshold_bytes;
	unsigned int suspend_timeout_ms;
	unsigned int max_reconsume_times;
	int retry_delay_level;
	unsigned int suspend_ms;
	unsigned int orderly_takeover_ms;
	unsigned int rebalance_interval_ms;
	unsigned int persist_interval_ms;
	const char *offset_store_dir;
	unsigned int lock_interval_ms;
	unsigned int lock_max_live_ms;
};

KMQ_API void kmq_push_consumer_config_init(struct kmq_push_consumer_config *cfg);

struct kmq_push_consumer;

/** kmq_push_consumer_new() - Return: 0, -EINVAL, -ENOMEM. */
KMQ_API int kmq_push_consumer_new(const struct kmq_push_consumer_config *cfg,
				  struct kmq_push_consumer **out);

/**
 * kmq_push_consumer_subscribe() - consume @topic's messages whose tag
 * matches @expr ("*", or "TagA || TagB"), before start.
 * Return: 0, -EINVAL, -EALREADY (started), -ENOMEM.
 */
KMQ_API int kmq_push_consumer_subscribe(struct kmq_push_consumer *c,
					const char *topic, const char *expr);

/**
 * kmq_push_consumer_start() - heartbeat, rebalance, start pulling. A
 * topic without a route yet is looked up again at every rebalance.
 * Return: 0, -EALREADY, -EINVAL (no subscription), -ENOMEM.
 */
KMQ_API int kmq_push_consumer_start(struct kmq_push_consumer *c);

/**
 * kmq_push_consumer_free() - stop pulling, let the listeners running
 * finish, commit offsets (broker or local file), release the queue locks
 * (orderly, clustering), unregister, free.
 */
KMQ_API void kmq_push_consumer_free(struct kmq_push_consumer *c);

KMQ_API struct kmq_client *
kmq_push_consumer_client(struct kmq_push_consumer *c);

/**
 * struct kmq_consumer_stats - counters since start.
 * @queues: queues owned now
 * @cached_msgs, @cached_bytes: pulled, not yet consumed, now
 * @peak_queue_msgs: the most messages one queue ever had waiting
 * @flow_control: pulls postponed because a queue was over a threshold
 * @pulled, @consumed: messages; @sent_back: RETRY_LATER sent back (36)
 * @rebalances: rebalances that changed the owned queues
 */
struct kmq_consumer_stats {
	unsigned int queues;
	uint64_t cached_msgs;
	uint64_t cached_bytes;
	uint64_t peak_queue_msgs;
	uint64_t flow_control;
	uint64_t pulled;
	uint64_t consumed;
	uint64_t sent_back;
	uint64_t rebalances;
};

KMQ_API void kmq_push_consumer_stats(struct kmq_push_consumer *c,
				     struct kmq_consumer_stats *st);

/**
 * kmq_push_consumer_queues() - the queues this consumer owns now, sorted
 * (free() the array). Return: how many, or -ENOMEM.
 */
KMQ_API int kmq_push_consumer_queues(struct kmq_push_consumer *c,
				     struct kmq_mq **mqs);

/* ---- pull consumer ------------------------------------------------- */

/**
 * struct kmq_pull_consumer_config - fill with kmq_pull_consumer_config_init().
 * @client: connection settings
 * @group: consumer group (required)
 */
struct kmq_pull_consumer_config {
	struct kmq_client_config client;
	const char *group;
};

KMQ_API void kmq_pull_consumer_config_init(struct kmq_pull_consumer_config *cfg);

enum kmq_pull_status {
	KMQ_PULL_FOUND = 0,
	KMQ_PULL_NO_NEW_MSG,		/* 19: nothing at the offset yet */
	KMQ_PULL_NO_MATCHED_MSG,	/* 20: nothing matched the tags */
	KMQ_PULL_OFFSET_ILLEGAL,	/* 21: continue at next_begin_offset */
};

/**
 * struct kmq_pull_result - a pull's outcome (kmq_pull_result_free()).
 * @next_begin_offset: where the next pull of the queue starts
 * @min_offset, @max_offset: the queue's range at the broker
 * @msgs: @nmsgs messages (FOUND), tag-filtered on the client too
 */
struct kmq_pull_result {
	enum kmq_pull_status status;
	int64_t next_begin_offset;
	int64_t min_offset;
	int64_t max_offset;
	unsigned int nmsgs;
	const struct kmq_message_ext *const *msgs;
};

struct kmq_pull_consumer;

KMQ_API int kmq_pull_consumer_new(const struct kmq_pull_consumer_config *cfg,
				  struct kmq_pull_consumer **out);
KMQ_API void kmq_pull_consumer_free(struct kmq_pull_consumer *c);
KMQ_API struct kmq_client *
kmq_pull_consumer_client(struct kmq_pull_consumer *c);

/**
 * kmq_pull_consumer_queues() - @topic's readable queues, sorted (free()).
 * Return: how many, or an error (no route: KMQ_ERR_BROKER(17)).
 */
KMQ_API int kmq_pull_consumer_queues(struct kmq_pull_consumer *c,
				     const char *topic, struct kmq_mq **mqs);

/**
 * kmq_pull_consumer_pull() - up to @max_msgs (1..32) messages of @mq from
 * @offset whose tags match @expr ("*" or "A || B"). With @block_ms > 0 the
 * broker holds the pull up to that long while the queue has nothing new.
 * Return: 0 and *@res, or an error.
 */
KMQ_API int kmq_pull_consumer_pull(struct kmq_pull_consumer *c,
				   const struct kmq_mq *mq, const char *expr,
				   int64_t offset, unsigned int max_msgs,
				   unsigned int block_ms,
				   struct kmq_pull_result **res);

KMQ_API void kmq_pull_result_free(struct kmq_pull_result *res);

/**
 * kmq_pull_cb - completion of kmq_pull_consumer_pull_async(), on a
 * callback thread: @err 0 and @res, which the callee owns
 * (kmq_pull_result_free(), from any thread), or a negative error and NULL.
 */
typedef void (*kmq_pull_cb)(void *arg, int err, struct kmq_pull_result *res);

/**
 * kmq_pull_consumer_pull_async() - kmq_pull_consumer_pull() without
 * waiting: @cb is called once with the outcome, on a callback thread
 * (client.callback_threads of them), after the request timeout
 * (@block_ms + request_timeout_ms) at the latest. Any number of pulls may
 * be in flight, of one queue or of several: those of one broker share
 * its connection and go out together, so that a reader is not held to
 * one round trip per pull (e.g. the next ranges of a queue whose backlog
 * is known). Their callbacks may come in any order; a callback may pull
 * again.
 * Return: 0 (then @cb will be called), or an error as
 * kmq_pull_consumer_pull() (then it will not).
 */
KMQ_API int kmq_pull_consumer_pull_async(struct kmq_pull_consumer *c,
					 const struct kmq_mq *mq,
					 const char *expr, int64_t offset,
					 unsigned int max_msgs,
					 unsigned int block_ms, kmq_pull_cb cb,
					 void *arg);

/**
 * kmq_pull_consumer_fetch_offset() - the group's committed offset of @mq.
 * Return: 0, -ENOENT (none stored), or an error.
 */
KMQ_API int kmq_pull_consumer_fetch_offset(struct kmq_pull_consumer *c,
					   const struct kmq_mq *mq,
					   int64_t *offset);

/** kmq_pull_consumer_commit_offset() - store the group's offset of @mq. */
KMQ_API int kmq_pull_consumer_commit_offset(struct kmq_pull_consumer *c,
					    const struct kmq_mq *mq,
					    int64_t offset);

/** kmq_pull_consumer_min_offset() - the oldest offset @mq still holds. */
KMQ_API int kmq_pull_consumer_min_offset(struct kmq_pull_consumer *c,
					 const struct kmq_mq *mq,
					 int64_t *offset);

/** kmq_pull_consumer_max_offset() - the offset of @mq's next message. */
KMQ_API int kmq_pull_consumer_max_offset(struct kmq_pull_consumer *c,
					 const struct kmq_mq *mq,
					 int64_t *offset);

/**
 * kmq_pull_consumer_search_offset() - the first offset of @mq stored at
 * or after @timestamp_ms.
 */
KMQ_API int kmq_pull_consumer_search_offset(struct kmq_pull_consumer *c,
					    const struct kmq_mq *mq,
					    int64_t timestamp_ms,
					    int64_t *offset);

#ifdef __cplusplus
}
#endif

#endif /* KMQ_CLIENT_H */
