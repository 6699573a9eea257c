/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_consumer_int.h - what the consumers are made of: received messages
 * (kmq_message.c), subscriptions (kmq_sub.c), pulls (kmq_pull.c), the
 * queue of pulled messages waiting to be consumed (kmq_process_queue.c),
 * offsets (kmq_offset_store.c), rebalancing (kmq_rebalance.c), and the
 * push consumer's state shared by kmq_consumer_push.c and kmq_consume.c.
 */
#ifndef KMQ_CONSUMER_INT_H
#define KMQ_CONSUMER_INT_H

#include "kmq_send_int.h"

#define KMQC_RETRY_PREFIX	"%RETRY%"
#define KMQC_PULL_ERROR_DELAY_MS	3000
#define KMQC_FLOW_DELAY_MS		50
#define KMQC_SEND_BACK_RETRY_MS		5000
#define KMQC_ORDERLY_BATCHES		32	/* per turn of a queue */
#define KMQC_DROP_WAIT_MS		1000

/* Orderly queue locks (RocketMQ's ProcessQueue and orderly service). */
#define KMQC_LOCK_INTERVAL_MS		20000	/* REBALANCE_LOCK_INTERVAL */
#define KMQC_LOCK_MAX_LIVE_MS		30000	/* client-side lock life */
#define KMQC_RELOCK_SOON_MS		10	/* lock lapsed: lock again */
#define KMQC_RELOCK_RETRY_MS		3000	/* refused: try again */
#define KMQC_UNLOCKED_PULL_MS		1000	/* not locked: pull later */
#define KMQC_REBALANCE_LATER_MS		500	/* a lock or drop failed */

/* ---- received messages (kmq_message.c) ------------------------------- */

/**
 * struct kmqc_msg - a received message and its place in a process queue.
 * @pub: what the application sees; its strings point into @data
 * @body_heap: the inflated body, when it was compressed
 */
struct kmqc_msg {
	struct kmq_message_ext pub;
	struct kmqc_msg *prev, *next;
	void *body_heap;
	char data[];
};

/*
 * kmqc_msgs_decode() - the records of a pull body as messages (body CRC
 * checked, bodies inflated), from @broker. A malformed record ends the
 * list (logged). Return: how many (*@out: free() after the messages).
 */
int kmqc_msgs_decode(const uint8_t *body, size_t len, const char *broker,
		     struct kmqc_msg ***out);
void kmqc_msg_free(struct kmqc_msg *m);

/* ---- subscriptions (kmq_sub.c) --------------------------------------- */

/**
 * struct kmqc_sub - a topic and its tag expression, parsed.
 * @tags: the tags of "A || B" (none: every message)
 * @version: when it was made (ms), as RocketMQ's subVersion
 */
struct kmqc_sub {
	char topic[KMQ_TOPIC_MAX + 1];
	char *expr;
	char **tags;
	unsigned int ntags;
	int64_t version;
};

int kmqc_sub_init(struct kmqc_sub *s, const char *topic, const char *expr);
void kmqc_sub_free(struct kmqc_sub *s);
/* kmqc_sub_match() - does a message with @tags (NULL: none) pass? */
bool kmqc_sub_match(const struct kmqc_sub *s, const char *tags);
/* kmqc_sub_json() - the heartbeat's subscriptionData. */
json_t *kmqc_sub_json(const struct kmqc_sub *s);

/* ---- pulls (kmq_pull.c) ---------------------------------------------- */

#define KMQC_PULL_COMMIT	0x1
#define KMQC_PULL_SUSPEND	0x2
#define KMQC_PULL_SUBSCRIPTION	0x4

struct kmqc_pull_args {
	const char *group;
	const struct kmq_mq *mq;
	int64_t offset;
	unsigned int max_msgs;
	uint32_t sys_flag;
	int64_t commit_offset;
	unsigned int suspend_ms;
	const struct kmqc_sub *sub;
};

/**
 * struct kmqc_pulled - a pull's outcome.
 * @msgs: @n messages that matched the subscription (FOUND)
 * @filtered: messages dropped by the client-side tag check
 */
struct kmqc_pulled {
	enum kmq_pull_status status;
	int64_t next;
	int64_t min;
	int64_t max;
	struct kmqc_msg **msgs;
	unsigned int n;
	unsigned int filtered;
};

/* kmqc_pull_req() - PULL_MESSAGE of @a in @r (it points at @a's strings). */
void kmqc_pull_req(struct kmq_client *c, struct kmqc_req *r,
		   const struct kmqc_pull_args *a);
/*
 * kmqc_pull_parse() - the response @f to a pull of @mq under @sub.
 * Return: 0, or the broker's error (code other than 0, 19, 20, 21).
 */
int kmqc_pull_parse(const struct kmqc_frame *f, const struct kmq_mq *mq,
		    const struct kmqc_sub *sub, struct kmqc_pulled *out);
void kmqc_pulled_free(struct kmqc_pulled *p);

/* Queue offsets: 30 GET_MAX_OFFSET, 31 GET_MIN_OFFSET, 29 by time. */
int kmqc_queue_offset(struct kmq_client *c, const struct kmq_mq *mq,
		      int code, int64_t timestamp, int64_t *out);

/* ---- process queues (kmq_process_queue.c) ---------------------------- */

/**
 * struct kmqc_pq - an owned queue: messages pulled and not yet consumed,
 * sorted by offset, and where to pull next.
 * @lock: the list, counters, @next_pull, @dropped, @scheduled
 * @consume_lock: orderly: held while the listener consumes from it
 * @max_offset: the highest offset ever added (-1: none)
 * @next_pull: the next pull's offset (-1: not known yet)
 * @scheduled: orderly: a consume task for it is queued or running
 * @drop_wanted: orderly: a rebalance gives it up: no more listener calls
 * @locked: orderly, clustering: the broker granted its lock at @lock_ms
 *	(kmqc_mono_ms()) and did not refuse it since
 * @lock_lost: the lock was refused or its broker connection closed since
 *	the queue was last consumed: another consumer may have moved on
 * @epoch: bumped by kmqc_pq_restart(): a pull made before is stale
 * @pull_epoch: @epoch when the pull in flight was made
 */
struct kmqc_pq {
	struct kmq_mq mq;
	struct kmq_push_consumer *owner;
	unsigned int refs;
	pthread_mutex_t lock;
	pthread_mutex_t consume_lock;
	struct kmqc_msg *head, *tail;
	uint64_t count;
	uint64_t bytes;
	uint64_t peak;
	int64_t max_offset;
	int64_t next_pull;
	bool dropped;
	bool scheduled;
	bool drop_wanted;
	bool locked;
	bool lock_lost;
	uint64_t lock_ms;
	unsigned int epoch;
	unsigned int pull_epoch;
};

struct kmqc_pq *kmqc_pq_new(const struct kmq_mq *mq);
void kmqc_pq_get(struct kmqc_pq *pq);
void kmqc_pq_put(struct kmqc_pq *pq);
/*
 * kmqc_pq_add() - append messages past max_offset, pulled in @epoch (the
 * queue's @epoch when the pull was made); the others are freed.
 */
unsigned int kmqc_pq_add(struct kmqc_pq *pq, unsigned int epoch,
			 struct kmqc_msg **msgs, unsigned int n);
/*
 * kmqc_pq_remove() - consumed: unlink and free @msgs.
 * Return: the offset to commit (the first left, else max_offset + 1), or
 * -1 when the queue was empty.
 */
int64_t kmqc_pq_remove(struct kmqc_pq *pq, struct kmqc_msg **msgs,
		       unsigned int n);
/* kmqc_pq_head() - up to @max messages from the head (orderly). */
unsigned int kmqc_pq_head(struct kmqc_pq *pq, struct kmqc_msg **out,
			  unsigned int max);
bool kmqc_pq_over(struct kmqc_pq *pq, uint64_t max_msgs, uint64_t max_bytes);
bool kmqc_pq_dropped(struct kmqc_pq *pq);
void kmqc_pq_want_drop(struct kmqc_pq *pq, bool want);
bool kmqc_pq_empty(struct kmqc_pq *pq);
/* kmqc_pq_lock_valid() - locked, and granted within @max_live_ms. */
bool kmqc_pq_lock_valid(struct kmqc_pq *pq, uint64_t max_live_ms);
/* kmqc_pq_set_locked() - the broker granted (true) or refused the lock. */
void kmqc_pq_set_locked(struct kmqc_pq *pq, bool locked);
/* kmqc_pq_lock_lost() - the lock went with its broker connection. */
void kmqc_pq_lock_lost(struct kmqc_pq *pq);
/*
 * kmqc_pq_restart() - forget the messages held and continue at @offset
 * (another consumer consumed up to there meanwhile).
 */
void kmqc_pq_restart(struct kmqc_pq *pq, int64_t offset);

/* ---- offsets (kmq_offset_store.c) ------------------------------------ */

struct kmqc_offset {
	struct kmq_mq mq;
	int64_t offset;
};

/**
 * struct kmqc_offsets - a group's consumed offsets: in memory, stored at
 * the broker (clustering) or in @path (broadcasting).
 */
struct kmqc_offsets {
	pthread_mutex_t lock;
	struct kmq_client *client;
	const char *group;
	char *path;
	struct kmqc_offset *v;
	unsigned int n;
	unsigned int cap;
	struct kmqc_offset *file;	/* what the file held at start */
	unsigned int nfile;
};

/* kmqc_offsets_init() - @path NULL: at the broker; else load the file. */
int kmqc_offsets_init(struct kmqc_offsets *o, struct kmq_client *c,
		      const char *group, const char *path);
void kmqc_offsets_free(struct kmqc_offsets *o);
void kmqc_offsets_update(struct kmqc_offsets *o, const struct kmq_mq *mq,
			 int64_t offset, bool increase_only);
/* kmqc_offsets_mem() - the offset in memory, or -1. */
int64_t kmqc_offsets_mem(struct kmqc_offsets *o, const struct kmq_mq *mq);
/* kmqc_offsets_fetch() - from the store: 0, -ENOENT (none), or an error. */
int kmqc_offsets_fetch(struct kmqc_offsets *o, const struct kmq_mq *mq,
		       int64_t *offset);
/* kmqc_offsets_persist() - @mq (NULL: all) to the store; @sync: answered. */
int kmqc_offsets_persist(struct kmqc_offsets *o, const struct kmq_mq *mq,
			 bool sync);
void kmqc_offsets_remove(struct kmqc_offsets *o, const struct kmq_mq *mq);
/* kmqc_offset_commit() - UPDATE_CONSUMER_OFFSET (15) of one queue. */
int kmqc_offset_commit(struct kmq_client *c, const char *group,
		       const struct kmq_mq *mq, int64_t offset, bool sync);
/* kmqc_offset_query() - QUERY_CONSUMER_OFFSET (14); 22 is -ENOENT. */
int kmqc_offset_query(struct kmq_client *c, const char *group,
		      const struct kmq_mq *mq, int64_t *offset);

/* ---- rebalance (kmq_rebalance.c) ------------------------------------- */

/*
 * kmqc_allocate() - the indexes into @nmq sorted queues that consumer @me
 * gets among @ncid sorted consumer ids, by @strategy.
 * Return: how many (in @idx, room for @nmq), or -ENOENT (@me not listed).
 */
int kmqc_allocate(enum kmq_allocate strategy, unsigned int nmq,
		  char *const *cids, unsigned int ncid, const char *me,
		  unsigned int *idx);
int kmqc_cid_cmp(const void *a, const void *b);
/* kmqc_consumer_ids() - GET_CONSUMER_LIST_BY_GROUP (38), sorted. */
int kmqc_consumer_ids(struct kmq_client *c, const char *group,
		      const struct kmqc_route *r, char ***ids);
void kmqc_ids_free(char **ids, int n);
/*
 * kmqc_rebalance_topic() - the queues of @topic this client should own:
 * all of them (broadcasting), or its share (clustering). Sorted.
 * Return: how many (*@out: free()), or an error (keep what is owned).
 */
int kmqc_rebalance_topic(struct kmq_client *c, const char *group,
			 const char *topic, enum kmq_message_model model,
			 enum kmq_allocate strategy, struct kmq_mq **out);

/* ---- queue locks (kmq_lock.c) ---------------------------------------- */

/*
 * kmqc_lock_parse() - which of @mqs the lockOKMQSet of a 41 answer holds.
 * Return: how many (@locked[i] set for each), or -EPROTO.
 */
int kmqc_lock_parse(const void *body, size_t len, const struct kmq_mq *mqs,
		    unsigned int n, bool *locked);
/*
 * kmqc_lock_batch() - LOCK_BATCH_MQ (41): lock or renew @mqs, all of one
 * broker, for this client in @group. Return: how many the client holds
 * now (@locked[i] for each), or an error (nothing known).
 */
int kmqc_lock_batch(struct kmq_client *c, const char *group,
		    const struct kmq_mq *mqs, unsigned int n, bool *locked);
/* kmqc_unlock_batch() - UNLOCK_BATCH_MQ (42) of @mqs, all of one broker. */
int kmqc_unlock_batch(struct kmq_client *c, const char *group,
		      const struct kmq_mq *mqs, unsigned int n, bool oneway);

/* ---- the push consumer ----------------------------------------------- */

struct kmq_push_consumer {
	struct kmq_push_consumer_config cfg;
	char *group;
	char *offset_dir;
	char retry_topic[KMQ_TOPIC_MAX + 1];
	struct kmq_client *client;
	pthread_mutex_t lock;		/* subs, pqs, state */
	struct kmqc_sub *subs;
	unsigned int nsubs;
	struct kmqc_pq **pqs;
	unsigned int npqs;
	struct kmqc_offsets offsets;
	struct kmqc_wq pullq;		/* pull requests, one thread */
	struct kmqc_wq consumeq;	/* listeners */
	bool started;
	bool stopping;
	bool rebalance_queued;
	bool retry_queued;
	bool need_lock;			/* orderly and clustering */
	unsigned int retry_ms;		/* timer thread only */
	uint64_t pulled;
	uint64_t consumed;
	uint64_t sent_back;
	uint64_t flow_control;
	uint64_t rebalances;
};

/* kmqc_consume_submit() - hand pulled messages to the listeners. */
void kmqc_consume_submit(struct kmq_push_consumer *c, struct kmqc_pq *pq,
			 struct kmqc_msg **msgs, unsigned int n);
/* kmqc_send_back() - CONSUMER_SEND_MSG_BACK (36) of @m at @delay_level. */
int kmqc_send_back(struct kmq_push_consumer *c, const struct kmqc_msg *m,
		   int delay_level);
/* kmqc_sub_of() - the subscription of @topic (lock held), or NULL. */
const struct kmqc_sub *kmqc_sub_of(struct kmq_push_consumer *c,
				   const char *topic);
/* kmqc_rebalance_later() - a rebalance of @c after @delay_ms. */
void kmqc_rebalance_later(struct kmq_push_consumer *c, uint64_t delay_ms);
/*
 * kmqc_pq_offset() - the offset of @pq consumed up to @offset, unless
 * @pq was dropped (then its offset is no longer this consumer's).
 */
void kmqc_pq_offset(struct kmq_push_consumer *c, struct kmqc_pq *pq,
		    int64_t offset, bool increase_only);

/* ---- the orderly consumer's queue locks (kmq_orderly.c) -------------- */

/*
 * kmqc_orderly_lock_new() - lock @mqs (sorted), new to @c, at their
 * brokers; @locked[i] says which @c may own. Return: how many.
 */
unsigned int kmqc_orderly_lock_new(struct kmq_push_consumer *c,
				   const struct kmq_mq *mqs, unsigned int n,
				   bool *locked);
/*
 * kmqc_orderly_release() - give up @pq's lock: its offset (consumed, the
 * listener stopped) committed first, synchronously. Return: 0, or the
 * error of the commit (then the lock is left to expire).
 */
int kmqc_orderly_release(struct kmq_push_consumer *c, struct kmqc_pq *pq);
/*
 * kmqc_orderly_persist() - commit the offsets of the queues whose lock
 * was not lost (the others may be another consumer's by now).
 */
void kmqc_orderly_persist(struct kmq_push_consumer *c);
/* kmqc_orderly_start() - renew the locks every lock_interval_ms. */
void kmqc_orderly_start(struct kmq_push_consumer *c);
/* kmqc_orderly_close() - unlock every owned queue (close, offsets done). */
void kmqc_orderly_close(struct kmq_push_consumer *c);
/* kmqc_orderly_conn_lost() - a broker connection to @addr closed. */
void kmqc_orderly_conn_lost(struct kmq_push_consumer *c, const char *addr);
/*
 * kmqc_orderly_lock_one() - lock (or renew) @pq alone, its state set
 * from the answer. Return: 1 held, 0 refused, or an error.
 */
int kmqc_orderly_lock_one(struct kmq_push_consumer *c, struct kmqc_pq *pq);
/*
 * kmqc_orderly_reconcile() - @pq's lock came back after it was lost:
 * continue where the group's committed offset is, when another consumer
 * got further meanwhile (consume lock held). Return: 0, or an error (try
 * again later).
 */
int kmqc_orderly_reconcile(struct kmq_push_consumer *c, struct kmqc_pq *pq);

#endif /* KMQ_CONSUMER_INT_H */
