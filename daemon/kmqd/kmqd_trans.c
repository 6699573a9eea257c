// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_trans.c - transactional messages: END_TRANSACTION (37).
 *
 * A send with TRAN_MSG=true and the PREPARED transaction type is a half
 * message: stored, but given no consume-queue entry, so consumers never
 * see it. END_TRANSACTION with commitOrRollback 8 (commit) reads the half
 * message by its commitlog offset and appends it to its topic and queue
 * as a COMMIT record, which consumers see; 12 (rollback) and 0 (unknown)
 * leave it invisible. A half message is resolved at most once (remembered
 * in memory while kmqd runs). The broker's check of unresolved half
 * messages (CHECK_TRANSACTION_STATE, 39) is not implemented yet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_props.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

#define KMQD_TX_COMMIT		8
#define KMQD_TX_ROLLBACK	12
#define KMQD_TX_BUCKETS		4096

struct kmqd_tx_done {
	uint64_t phys;
	struct kmqd_tx_done *next;
};

static pthread_mutex_t kmqd_tx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmqd_tx_done *kmqd_tx_resolved[KMQD_TX_BUCKETS];

/* Mark @phys resolved; false if it already was. */
static bool kmqd_tx_resolve(uint64_t phys)
{
	struct kmqd_tx_done **b = &kmqd_tx_resolved[phys % KMQD_TX_BUCKETS];
	struct kmqd_tx_done *d;
	bool fresh = true;

	pthread_mutex_lock(&kmqd_tx_lock);
	for (d = *b; d; d = d->next)
		if (d->phys == phys)
			fresh = false;
	if (fresh) {
		d = malloc(sizeof(*d));
		if (d) {
			d->phys = phys;
			d->next = *b;
			*b = d;
		}
	}
	pthread_mutex_unlock(&kmqd_tx_lock);
	return fresh;
}

static void kmqd_tx_forget(uint64_t phys)
{
	struct kmqd_tx_done **pp = &kmqd_tx_resolved[phys % KMQD_TX_BUCKETS];

	pthread_mutex_lock(&kmqd_tx_lock);
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->phys == phys) {
			struct kmqd_tx_done *d = *pp;

			*pp = d->next;
			free(d);
			break;
		}
	}
	pthread_mutex_unlock(&kmqd_tx_lock);
}

static int kmqd_tx_commit(uint64_t phys, char *buf, uint32_t cap,
			  char *props)
{
	static const char *const drop[] = { KMQ_PROP_TRAN_MSG };
	struct kmq_append_result res;
	char topic[KMQ_TOPIC_MAX_V1 + 1];
	struct kmq_record r;
	struct kmq_msg m = { 0 };
	int ret, n;

	ret = kmqd_st_read_at(kmqd_brk->store, phys, buf, cap);
	if (ret < 0)
		return ret;
	if (kmq_record_decode(buf, ret, &r, 0) ||
	    (r.sys_flag & KMQ_SYSFLAG_TX_MASK) != KMQ_SYSFLAG_TX_PREPARED)
		return -EINVAL;
	n = kmqd_props_without(props, r.props, r.props_len, drop,
			       ARRAY_SIZE(drop));
	if (n < 0)
		return -KMQ_EBADPROPS;
	memcpy(topic, r.topic, r.topic_len);
	topic[r.topic_len] = '\0';
	m.topic = topic;
	m.queue_id = r.queue_id;
	m.flag = r.flag;
	m.sys_flag = (r.sys_flag & ~KMQ_SYSFLAG_TX_MASK) | KMQ_SYSFLAG_TX_COMMIT;
	m.born_ts = r.born_ts;
	m.born_host = r.born_host;
	m.reconsume_times = r.reconsume_times;
	m.prepared_tx_offset = phys;
	m.body = r.body;
	m.body_len = r.body_len;
	m.props = props;
	m.props_len = n;
	ret = kmqd_store_put(&m, &res);
	return ret < 0 ? ret : 0;
}

void kmqd_end_transaction_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	uint32_t cap = kmqd_brk->opts.max_message_size + 65536;
	int64_t phys, how;
	char *buf, *props;
	int ret;

	if (!kmqd_need_i64(c, req, "commitLogOffset", &phys) ||
	    !kmqd_need_i64(c, req, "commitOrRollback", &how))
		return;
	if (how != KMQD_TX_COMMIT) {
		/* Rollback or unknown: the half message stays invisible. */
		if (how == KMQD_TX_ROLLBACK && phys >= 0)
			kmqd_tx_resolve(phys);
		kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
		return;
	}
	if (phys < 0 || !kmqd_tx_resolve(phys)) {
		/* Committed or rolled back already: nothing more to do. */
		kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
		return;
	}
	buf = malloc(cap);
	props = malloc(KMQ_PROPS_MAX + 1);
	ret = buf && props ? kmqd_tx_commit(phys, buf, cap, props) : -ENOMEM;
	free(buf);
	free(props);
	if (ret) {
		kmqd_tx_forget(phys);
		log_warn("END_TRANSACTION commit of %lld from %s: %s",
			 (long long)phys, kmqd_conn_peer(c),
			 ret == -EINVAL ? "not a half message" :
			 kmqd_st_errmsg());
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "commit of commitlog offset %lld failed: %s",
			    (long long)phys, ret == -EINVAL ?
			    "no half message there" : kmqd_st_errmsg());
		return;
	}
	kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
}

void kmqd_trans_free(void)
{
	unsigned int i;

	pthread_mutex_lock(&kmqd_tx_lock);
	for (i = 0; i < KMQD_TX_BUCKETS; i++) {
		while (kmqd_tx_resolved[i]) {
			struct kmqd_tx_done *d = kmqd_tx_resolved[i];

			kmqd_tx_resolved[i] = d->next;
			free(d);
		}
	}
	pthread_mutex_unlock(&kmqd_tx_lock);
}
