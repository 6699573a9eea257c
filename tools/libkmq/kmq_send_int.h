/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_send_int.h - what the producer is made of: outgoing messages as
 * properties and request fields (kmq_msg.c), zlib bodies
 * (kmq_compress.c), queue selection with fault avoidance (kmq_select.c),
 * and the retry policy and status mapping of sends (kmq_send_policy.c).
 */
#ifndef KMQ_SEND_INT_H
#define KMQ_SEND_INT_H

#include "kmq_client_int.h"

#define KMQC_UNIQ_LEN		32
#define KMQC_INFLATE_MAX	(128u << 20)	/* largest body inflated */

/* ---- outgoing messages (kmq_msg.c) ----------------------------------- */

/* kmqc_msg_check() - topic, body and delay level of @m are acceptable. */
int kmqc_msg_check(const struct kmq_message *m, size_t max_size);
/*
 * kmqc_msg_props() - the properties string of @m: KEYS, TAGS, DELAY,
 * WAIT, UNIQ_KEY (@uniq, may be NULL), then @m's own, in *@out (free()).
 * Return: its length, or -EINVAL (a separator in a name or value),
 * -EMSGSIZE (over 32767 bytes), -ENOMEM.
 */
int kmqc_msg_props(const struct kmq_message *m, const char *uniq, char **out);
/*
 * kmqc_msg_props_size() - room for @m's properties string (with a
 * UNIQ_KEY when @uniq), its NUL not counted; at most KMQ_PROPS_MAX.
 */
size_t kmqc_msg_props_size(const struct kmq_message *m, bool uniq);
/*
 * kmqc_msg_props_put() - @m's properties string into @buf, @cap bytes
 * (kmqc_msg_props_size()) and one for its NUL. Return: as kmqc_msg_props().
 */
int kmqc_msg_props_put(const struct kmq_message *m, const char *uniq,
		       char *buf, size_t cap);
/* kmqc_uniq_id() - a new UNIQ_KEY for a message of @client_ip. */
void kmqc_uniq_id(const char *client_ip, char out[KMQC_UNIQ_LEN + 1]);
/* struct kmqc_uniq - a UNIQ_KEY. */
struct kmqc_uniq {
	char s[KMQC_UNIQ_LEN + 1];
};

/*
 * kmqc_batch_body() - SEND_BATCH_MESSAGE items of @msgs into @out; each
 * gets the UNIQ_KEY @uniq[i] when @uniq is not NULL.
 */
int kmqc_batch_body(const struct kmq_message *msgs, unsigned int n,
		    const struct kmqc_uniq *uniq, struct kmq_buf *out);

/**
 * struct kmqc_send_hdr - the fields of a SEND_MESSAGE_V2 (310) or
 * SEND_BATCH_MESSAGE (320) header.
 */
struct kmqc_send_hdr {
	const char *group;
	const char *topic;
	const char *default_topic;
	unsigned int default_queues;
	int queue_id;
	uint32_t sys_flag;
	uint64_t born_ts;
	int32_t flag;
	const char *props;
	bool batch;
};

/* kmqc_send_req() - the request of @h in @r; it points at @h's strings. */
void kmqc_send_req(struct kmq_client *c, struct kmqc_req *r,
		   const struct kmqc_send_hdr *h);

/* ---- zlib (kmq_compress.c) ------------------------------------------ */

/* kmqc_should_compress() - a body of @len bytes is sent compressed. */
bool kmqc_should_compress(size_t len, size_t threshold);
/* kmqc_compress() - a zlib stream of @in into *@out (free()). */
int kmqc_compress(const void *in, size_t len, int level, void **out,
		  size_t *olen);
/* kmqc_decompress() - inflate a zlib stream of at most @max bytes. */
int kmqc_decompress(const void *in, size_t len, size_t max, void **out,
		    size_t *olen);

/* ---- queue selection (kmq_select.c) ---------------------------------- */

struct kmqc_fault {
	char broker[KMQ_NAME_MAX + 1];
	uint64_t until;
};

/**
 * struct kmqc_faults - brokers to avoid until a time: after a failure for
 * @isolation_ms, after a slow answer for a time growing with its latency.
 */
struct kmqc_faults {
	pthread_mutex_t lock;
	struct kmqc_fault *v;
	unsigned int n;
	unsigned int cap;
	unsigned int isolation_ms;
};

void kmqc_faults_init(struct kmqc_faults *f, unsigned int isolation_ms);
void kmqc_faults_free(struct kmqc_faults *f);
/*
 * kmqc_fault_duration() - how long a broker answering in @latency_ms is
 * avoided (RocketMQ's table: 0 below 550 ms, 30 s at 550 ms ... 10 min at
 * 15 s).
 */
uint64_t kmqc_fault_duration(uint64_t latency_ms);
/* kmqc_fault_update() - record a send to @broker at @now. */
void kmqc_fault_update(struct kmqc_faults *f, const char *broker,
		       uint64_t latency_ms, bool failed, uint64_t now);
bool kmqc_fault_available(struct kmqc_faults *f, const char *broker,
			  uint64_t now);
/*
 * kmqc_select() - index of the queue for the next attempt among @n, round
 * robin from @start: a broker neither avoided (@f, may be NULL) nor the
 * one that just failed (@last_broker, may be NULL), else one not
 * avoided, else one not @last_broker, else @start's.
 */
unsigned int kmqc_select(const struct kmq_mq *mqs, unsigned int n,
			 uint32_t start, const char *last_broker,
			 struct kmqc_faults *f, uint64_t now);

/* ---- retries and statuses (kmq_send_policy.c) ------------------------ */

/* kmqc_send_retryable() - is a send that failed with @err tried again? */
bool kmqc_send_retryable(int err);
/*
 * kmqc_send_status() - the status of a send answered with @code.
 * Return: 0 and *@st for 0, 10, 11, 12; else KMQ_ERR_BROKER(@code).
 */
int kmqc_send_status(int code, enum kmq_send_status *st);

#endif /* KMQ_SEND_INT_H */
