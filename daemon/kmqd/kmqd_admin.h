/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqd_admin.h - the broker's administration and orderly-consumption
 * requests (what mqadmin and an orderly push consumer send), shared by:
 * kmqd_admin.c (dispatch; 12, 21, 202, 203, 208, 215, 222),
 * kmqd_brokercfg.c (25, 26: the broker's configuration),
 * kmqd_lock.c (41, 42: queue locks), kmqd_subgroup.c (200, 201, 207 and
 * config/subscriptionGroup.json), kmqd_stats.c (28 and the counters
 * behind it), kmqd_mqmap.c (maps keyed by message queues, as fastjson
 * writes them), and the few helpers kmqd_offset.c and kmqd_group.c export
 * for them.
 */
#ifndef KMQD_ADMIN_H
#define KMQD_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kmq_remoting.h"
#include "kmqd_loop.h"

/* Request codes of this part (RocketMQ's RequestCode numbers). */
#define KMQ_REQ_GET_ALL_TOPIC_CONFIG			21
#define KMQ_REQ_UPDATE_BROKER_CONFIG			25
#define KMQ_REQ_GET_BROKER_CONFIG			26
#define KMQ_REQ_GET_BROKER_RUNTIME_INFO			28
#define KMQ_REQ_LOCK_BATCH_MQ				41
#define KMQ_REQ_UNLOCK_BATCH_MQ				42
#define KMQ_REQ_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP	200
#define KMQ_REQ_GET_ALL_SUBSCRIPTIONGROUP_CONFIG	201
#define KMQ_REQ_GET_TOPIC_STATS_INFO			202
#define KMQ_REQ_GET_CONSUMER_CONNECTION_LIST		203
#define KMQ_REQ_GET_ALL_TOPIC_LIST_FROM_NAMESERVER	206
#define KMQ_REQ_DELETE_SUBSCRIPTIONGROUP		207
#define KMQ_REQ_GET_CONSUME_STATS			208
#define KMQ_REQ_DELETE_TOPIC_IN_BROKER			215
#define KMQ_REQ_DELETE_TOPIC_IN_NAMESRV			216
#define KMQ_REQ_RESET_CONSUMER_CLIENT_OFFSET		220
#define KMQ_REQ_INVOKE_BROKER_TO_RESET_OFFSET		222

/* RocketMQ's REBALANCE_LOCK_MAX_LIVE_TIME, and its override (ms). */
#define KMQD_LOCK_MAX_LIVE_MS		60000
#define KMQD_LOCK_MAX_LIVE_ENV		"KMQD_REBALANCE_LOCK_MAX_LIVE_TIME"

/* SubscriptionGroupConfig.retryMaxTimes by default. */
#define KMQD_SUBGROUP_RETRY_MAX		16

/**
 * kmqd_admin_handle() - answer @req if its code belongs to this part.
 * Return: true when handled (answered), false for a code it does not know.
 */
bool kmqd_admin_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);

/* kmqd_admin.c: a JSON body answer (@body dumped compactly). */
void kmqd_reply_json(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
		     json_t *body);
/* kmqd_admin.c: a body answer of @len bytes of @text. */
void kmqd_reply_body(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
		     const char *text, size_t len);

/*
 * kmqd_brokercfg.c: 26 GET_BROKER_CONFIG and 25 UPDATE_BROKER_CONFIG.
 * Return: true when @req is one of them (answered).
 */
bool kmqd_brokercfg_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);

/* kmqd_lock.c */
void kmqd_lock_batch_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_unlock_batch_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
/* Release every lock @client_id holds in @group (UNREGISTER_CLIENT). */
void kmqd_lock_release_client(const char *group, const char *client_id);
/* Release every lock taken or renewed over @c (connection closed). */
void kmqd_lock_conn_closed(struct kmqd_conn *c);
/* Forget expired locks (loop 0's tick). */
void kmqd_lock_tick(uint64_t now_ms);
void kmqd_locks_free(void);

/* kmqd_subgroup.c */
void kmqd_subgroup_update_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_subgroup_get_all_handle(struct kmqd_conn *c,
				  struct kmq_rmt_cmd *req);
void kmqd_subgroup_delete_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
int kmqd_subgroups_load(const char *root);
/* Write config/subscriptionGroup.json if it changed (timer thread). */
int kmqd_subgroups_persist(const char *root);
void kmqd_subgroups_free(void);
/*
 * kmqd_subgroup_ensure() - @group's configuration exists, created with
 * RocketMQ's defaults if not (autoCreateSubscriptionGroup). Return: its
 * consumeEnable.
 */
bool kmqd_subgroup_ensure(const char *group);
bool kmqd_subgroup_exists(const char *group);
/* retryMaxTimes of @group, KMQD_SUBGROUP_RETRY_MAX if it has none. */
int kmqd_subgroup_retry_max(const char *group);

/* kmqd_stats.c */
void kmqd_stats_start(void);
/* @n messages of @topic went to @group in a pull answer. */
void kmqd_stats_get(const char *group, const char *topic, uint32_t n);
/* Messages per second @group pulled from @topic over the last minute. */
double kmqd_stats_group_tps(const char *group, const char *topic);
/* Sampling (loop 0's tick, monotonic ms). */
void kmqd_stats_tick(uint64_t now_ms);
void kmqd_stats_free(void);
void kmqd_runtime_info_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);

/*
 * kmqd_mqmap.c - fastjson writes a Map whose keys are MessageQueue objects
 * with the object itself as the key: {{"brokerName":"b","queueId":0,
 * "topic":"T"}:value}. Not standard JSON, but the only shape Java's
 * RemotingSerializable reads back into Map<MessageQueue, V>.
 */
struct kmqd_mqmap {
	struct kmq_buf text;
	unsigned int n;
	bool failed;
};

/* Add one entry; @value is stolen (json_decref'ed). */
void kmqd_mqmap_add(struct kmqd_mqmap *m, const char *topic,
		    const char *broker, uint32_t qid, json_t *value);
/*
 * kmqd_mqmap_doc() - the document {<@rest's members>, "@key": <map>}
 * (malloc'ed, NUL-terminated), or NULL when out of memory. Frees @m's
 * text; @rest (may be NULL) is not consumed.
 */
char *kmqd_mqmap_doc(struct kmqd_mqmap *m, const char *key, json_t *rest);
void kmqd_mqmap_free(struct kmqd_mqmap *m);

/* kmqd_broker.c: TopicConfigSerializeWrapper of every topic. */
json_t *kmqd_topic_config_wrapper(void);

/* kmqd_offset.c, for the admin requests */
bool kmqd_offset_lookup(const char *group, const char *topic, uint32_t qid,
			int64_t *offset);
/* STORETIMESTAMP of the record at queue offset @off; false if none. */
bool kmqd_queue_store_ts(const char *topic, uint32_t qid, uint64_t off,
			 uint64_t *ts);
/* First offset in [@min, @max) stored at or after @ts (@max if none). */
uint64_t kmqd_offset_by_time(const char *topic, uint32_t qid, int64_t ts,
			     uint64_t min, uint64_t max);
/* Topics @group has offsets for: @fn(@arg, topic) under the lock. */
void kmqd_offsets_topics_of(const char *group,
			    void (*fn)(void *arg, const char *topic),
			    void *arg);
bool kmqd_offsets_group_known(const char *group, const char *topic);
void kmqd_offsets_drop_topic(const char *topic);
void kmqd_offsets_drop_group(const char *group);

/* kmqd_group.c, for the admin requests */
/*
 * kmqd_group_connection() - @group's online clients as RocketMQ's
 * ConsumerConnection ({"connectionSet":[...], "consumeType", ...,
 * "subscriptionTable":{...}}), or NULL when no client of it is online.
 */
json_t *kmqd_group_connection(const char *group);
/*
 * kmqd_group_each_client() - @fn for every online client of @group, under
 * the groups' lock (@fn must not block nor call back into groups).
 * Return: how many.
 */
unsigned int kmqd_group_each_client(const char *group,
				    void (*fn)(void *arg,
					       struct kmqd_conn *conn,
					       const char *client_id),
				    void *arg);

#endif /* KMQD_ADMIN_H */
