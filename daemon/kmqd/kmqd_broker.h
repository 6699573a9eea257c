/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqd_broker.h - the broker role of kmqd, shared by its files:
 * kmqd_broker.c (dispatch, topics, registration with name servers),
 * kmqd_send.c (10, 310, 320), kmqd_pull.c (11 and long polling),
 * kmqd_group.c (34, 35, 38, and 40 to consumers), kmqd_offset.c (14, 15,
 * 29-32 and config/consumerOffset.json), kmqd_retry.c (36, retry and
 * dead-letter topics, delay levels).
 */
#ifndef KMQD_BROKER_H
#define KMQD_BROKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kmq_remoting.h"
#include "kmq_store.h"
#include "kmqd_backend.h"
#include "kmqd_loop.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif
#define fallthrough		__attribute__((__fallthrough__))

#define KMQD_RETRY_PREFIX	"%RETRY%"
#define KMQD_DLQ_PREFIX		"%DLQ%"
#define KMQD_SCHEDULE_TOPIC	"SCHEDULE_TOPIC_XXXX"
#define KMQD_AUTO_CREATE_TOPIC	"TBW102"
#define KMQD_DELAY_LEVELS	18
#define KMQD_PULL_MAX_MSGS	32
#define KMQD_PULL_MAX_BYTES	(256u << 10)

/*
 * struct kmqd_broker_opts - what the broker needs from the configuration
 * (filled by kmqd_main.c from struct kmqd_config).
 */
struct kmqd_broker_opts {
	const char *cluster;
	const char *name;
	int64_t id;
	const char *listen_addr;
	uint16_t port;
	const char *broker_ip;		/* brokerIP1 */
	const char *namesrv_addrs;	/* "h:p;h:p" */
	bool auto_create_topic;
	uint32_t default_queues;
	uint32_t max_message_size;
	bool transfer_by_heap;		/* pulls copy, not sendfile */
	enum kmqd_backend_kind backend;	/* storeBackend */
	struct kmq_store_config store;
};

struct kmqd_broker {
	struct kmqd_broker_opts opts;
	struct kmqd_store *store;
	char addr[128];			/* brokerIP1:port, as registered */
	uint64_t next_register_ms;
	bool register_now;
};

extern struct kmqd_broker *kmqd_brk;

int kmqd_broker_start(const struct kmqd_broker_opts *opts);
void kmqd_broker_stop(void);

/* Replies (loop thread); remark may be NULL. */
void kmqd_reply(struct kmqd_conn *c, const struct kmq_rmt_cmd *req, int code,
		const char *remark);
__attribute__((format(printf, 4, 5)))
void kmqd_replyf(struct kmqd_conn *c, const struct kmq_rmt_cmd *req, int code,
		 const char *fmt, ...);
/*
 * Fetch a required extField as an integer, else reply INVALID_PARAMETER
 * naming it and return false.
 */
bool kmqd_need_i64(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
		   const char *key, int64_t *out);
bool kmqd_need_str(struct kmqd_conn *c, const struct kmq_rmt_cmd *req,
		   const char *key, const char **out);

/*
 * Topics: exists or (auto-)created, its configuration in @ti (may be
 * NULL); 0 or a reply-ready error.
 */
int kmqd_topic_ensure(const char *topic, uint32_t queues, bool create,
		      struct kmq_topic_info *ti);
void kmqd_broker_topics_changed(void);

/* kmqd_send.c */
void kmqd_send_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_send_batch_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);

/* kmqd_pull.c */
void kmqd_pull_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_pull_wake(const char *topic, uint32_t queue_id);
void kmqd_pull_tick(struct kmqd_loop *l, uint64_t now_ms);
void kmqd_pull_conn_closed(struct kmqd_conn *c);
int kmqd_tags_parse(const char *sub, int64_t *codes, uint32_t max,
		    uint32_t *n);

/* kmqd_group.c */
void kmqd_heartbeat_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_unregister_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_consumer_list_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_group_conn_closed(struct kmqd_conn *c);
void kmqd_group_tick(struct kmqd_loop *l, uint64_t now_ms);
/* The subscription string of @group for @topic into @buf; false if none. */
bool kmqd_group_subscription(const char *group, const char *topic, char *buf,
			     size_t len);
void kmqd_groups_free(void);

/* kmqd_offset.c */
void kmqd_offset_query_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_offset_update_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_offset_commit(const char *group, const char *topic, uint32_t qid,
			int64_t offset);
void kmqd_queue_offset_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_search_offset_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_view_message_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
int kmqd_offsets_load(const char *root);
int kmqd_offsets_persist(const char *root);
void kmqd_offsets_free(void);

/* kmqd_send.c: append @m and wake the pulls parked on its queue. */
int kmqd_store_put(struct kmq_msg *m, struct kmq_append_result *res);

/* kmqd_retry.c */
void kmqd_send_back_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
/* A send with a DELAY level goes to the schedule topic; @props holds
 * KMQ_PROPS_MAX + 1 bytes for the rewritten properties.
 */
int kmqd_delay_redirect(struct kmq_msg *m, char *props);
void kmqd_delay_notify(uint32_t qid);
/* Copy properties without those named in @drop; length or -1. */
int kmqd_props_without(char *out, const char *src, uint32_t len,
		       const char * const *drop, unsigned int ndrop);
int kmqd_delay_start(void);
void kmqd_delay_stop(void);

/* kmqd_json.c: JSON files as RocketMQ writes them (unquoted int keys). */
#include <jansson.h>
json_t *kmqd_json_load_file(const char *path, json_error_t *err);

/* kmqd_trans.c */
void kmqd_end_transaction_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
void kmqd_trans_free(void);

#endif /* KMQD_BROKER_H */
