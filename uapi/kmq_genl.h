/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_genl.h - the "kmq" generic netlink family: commands, attributes and
 * the event multicast group. The one definition, compiled into kmq.ko and
 * userspace (libnl-genl-3).
 *
 * Requests:
 *   KMQ_CMD_STORE_GET   doit: KMQ_A_STORE_ID or KMQ_A_STORE_NAME -> one
 *                       store; dumpit: every attached store
 *   KMQ_CMD_TOPIC_GET   doit: store + KMQ_A_TOPIC -> the topic with a
 *                       nested KMQ_A_QUEUE per queue; dumpit: store ->
 *                       every topic (resumable across dump parts)
 *   KMQ_CMD_TOPIC_SET   store + KMQ_A_TOPIC + KMQ_A_READ_QUEUES +
 *                       KMQ_A_WRITE_QUEUES [+ KMQ_A_PERM]; CAP_NET_ADMIN
 *   KMQ_CMD_TOPIC_DEL   store + KMQ_A_TOPIC; CAP_NET_ADMIN
 *   KMQ_CMD_STATS_GET   doit: store -> its counters (KMQ_A_STAT_*)
 *
 * A store is named by KMQ_A_STORE_ID or KMQ_A_STORE_NAME. Errors come as
 * netlink errors with an extack message: -ENOENT (no such store or topic),
 * -EINVAL (attribute missing or out of range, named by the extack),
 * -EPERM (admin command without CAP_NET_ADMIN).
 *
 * Events, on multicast group KMQ_MCGRP_EVENTS (any listener):
 *   KMQ_EVT_ARRIVED     store id, topic, queue id, new max offset; at
 *                       most one per queue per KMQ_EVT_COALESCE_MS under
 *                       load, always carrying the latest max offset
 *   KMQ_EVT_ROLLED      store id, KMQ_A_SEG_START of the new segment
 *   KMQ_EVT_FLUSHED     store id, KMQ_A_FLUSHED_OFFSET
 *   KMQ_EVT_DETACHED    store id
 */
#ifndef _UAPI_KMQ_GENL_H
#define _UAPI_KMQ_GENL_H

#define KMQ_GENL_NAME		"kmq"
#define KMQ_GENL_VERSION	1
#define KMQ_MCGRP_EVENTS	"events"
#define KMQ_EVT_COALESCE_MS	1

enum kmq_genl_cmd {
	KMQ_CMD_UNSPEC,
	KMQ_CMD_STORE_GET,
	KMQ_CMD_TOPIC_GET,
	KMQ_CMD_TOPIC_SET,
	KMQ_CMD_TOPIC_DEL,
	KMQ_CMD_STATS_GET,
	KMQ_EVT_ARRIVED,
	KMQ_EVT_ROLLED,
	KMQ_EVT_FLUSHED,
	KMQ_EVT_DETACHED,
	__KMQ_CMD_MAX,
};

#define KMQ_CMD_MAX (__KMQ_CMD_MAX - 1)

enum kmq_genl_attr {
	KMQ_A_UNSPEC,
	KMQ_A_PAD,
	KMQ_A_STORE_ID,		/* u32 */
	KMQ_A_STORE_NAME,	/* string, < KMQ_STORE_NAME_MAX */
	KMQ_A_STORE_PATH,	/* string: the directory as attached */
	KMQ_A_FLUSH_MODE,	/* u32: KMQ_FLUSH_MODE_* */
	KMQ_A_SEGMENT_SIZE,	/* u64 */
	KMQ_A_RING_SEGMENTS,	/* u32 */
	KMQ_A_SEGMENTS,		/* u32: segment files now */
	KMQ_A_RETENTION_MS,	/* u64 */
	KMQ_A_MIN_OFFSET,	/* u64: commitlog or queue min offset */
	KMQ_A_WRITE_OFFSET,	/* u64 */
	KMQ_A_FLUSHED_OFFSET,	/* u64 */
	KMQ_A_TOPIC,		/* string, < KMQ_TOPIC_NAME_MAX */
	KMQ_A_READ_QUEUES,	/* u32, 1..1024 */
	KMQ_A_WRITE_QUEUES,	/* u32, 1..1024 */
	KMQ_A_PERM,		/* u32, KMQ_TOPIC_PERM_* */
	KMQ_A_QUEUE,		/* nest: KMQ_A_QUEUE_ID, MIN/MAX_OFFSET */
	KMQ_A_QUEUE_ID,		/* u32 */
	KMQ_A_MAX_OFFSET,	/* u64: queue max offset */
	KMQ_A_SEG_START,	/* u64: a segment's start offset */
	KMQ_A_STAT_APPENDS,	/* u64 */
	KMQ_A_STAT_APPEND_BYTES,	/* u64 */
	KMQ_A_STAT_READS,	/* u64 */
	KMQ_A_STAT_READ_BYTES,	/* u64 */
	KMQ_A_STAT_SPLICE_BYTES,	/* u64 */
	KMQ_A_STAT_COPY_BYTES,	/* u64 */
	KMQ_A_STAT_ERRORS,	/* u64 */
	KMQ_A_TOPICS,		/* u32: topics in the store */
	KMQ_A_STAT_PULLS,	/* u64 */
	KMQ_A_STAT_PULL_SENDS,	/* u64 */
	__KMQ_A_MAX,
};

#define KMQ_A_MAX (__KMQ_A_MAX - 1)

#endif /* _UAPI_KMQ_GENL_H */
