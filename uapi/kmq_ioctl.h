/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_ioctl.h - the /dev/kmq character device: ioctl numbers and argument
 * structures. The one definition, compiled into kmq.ko and userspace.
 *
 * Conventions, for every ioctl:
 *  - The argument is one struct whose first field, @size, is what the
 *    caller filled: sizeof() of the struct as the caller compiled it.
 *    A smaller @size than the first published version (KMQ_*_SIZE_VER0)
 *    is -EINVAL; a larger one is accepted only if every byte past what the
 *    module knows is zero (-E2BIG otherwise), as copy_struct_from_user().
 *    Output fields are written back up to min(@size, the module's size).
 *  - @flags: unknown bits are -EINVAL. Reserved fields (__rsvd*) must be
 *    zero (-EINVAL), so they can gain a meaning later.
 *  - User pointers travel as __u64. A bad pointer is -EFAULT; nothing the
 *    module writes back holds a kernel pointer or an uninitialised byte.
 *  - Topic names follow RocketMQ: [%|a-zA-Z0-9_-], 1 to 127 bytes, NUL
 *    terminated inside the fixed array (-EINVAL otherwise); a topic that
 *    does not exist is -ENOENT, a queue id not below its queue count
 *    -ERANGE.
 *  - An fd works on one store at a time: the one KMQ_IOC_ATTACH bound it
 *    to. Without one, store ioctls return -ENXIO.
 *  - ATTACH, DETACH and the topic changes need CAP_SYS_ADMIN (-EPERM);
 *    ATTACH with KMQ_ATTACH_EXISTING (binding an fd to an attached
 *    store) needs only access to the device.
 *
 * mmap(): a sealed segment (one the writer has left) can be mapped
 * read-only and shared; the mmap offset is the segment's start offset in
 * the commitlog. A writable or private mapping is -EACCES (-EINVAL for
 * MAP_PRIVATE), the segment being written -EBUSY, an offset that is not a
 * segment start in the ring -ENXIO.
 *
 * poll(): EPOLLIN when a queue subscribed with KMQ_IOC_SUBSCRIBE has its
 * max offset past the subscribed offset; EPOLLERR once the store is
 * detached.
 */
#ifndef _UAPI_KMQ_IOCTL_H
#define _UAPI_KMQ_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KMQ_DEV_NAME		"kmq"
#define KMQ_IOC_MAGIC		0xB7

#define KMQ_STORE_NAME_MAX	64	/* with the NUL */
#define KMQ_TOPIC_NAME_MAX	128	/* with the NUL; 127 bytes of name */
#define KMQ_MSGID_BUF		64	/* offset message id, NUL-terminated */
#define KMQ_TAGS_MAX		64	/* tag codes in one read filter */
#define KMQ_BATCH_MAX		1024	/* records in one append */
#define KMQ_SUBS_MAX		4096	/* subscriptions of one fd */

/**
 * struct kmq_uhost - an address and port (BORNHOST, STOREHOST).
 * @addr: IPv4 in the first 4 bytes, or IPv6
 * @port: port
 * @family: 4 or 6
 * @__rsvd: zero
 */
struct kmq_uhost {
	__u8 addr[16];
	__u32 port;
	__u8 family;
	__u8 __rsvd[3];
};

/* kmq_attach.flags */
#define KMQ_ATTACH_CREATE	0x1	/* create the store directory's files */
#define KMQ_ATTACH_EXISTING	0x2	/* bind to the attached store @name */
#define KMQ_ATTACH_FLAGS	(KMQ_ATTACH_CREATE | KMQ_ATTACH_EXISTING)

/* kmq_attach.flush_mode, as enum kmq_flush_mode of the userspace store */
#define KMQ_FLUSH_MODE_ASYNC	0
#define KMQ_FLUSH_MODE_SYNC	1

/**
 * struct kmq_attach - KMQ_IOC_ATTACH: attach a store and bind the fd.
 * @size: sizeof(struct kmq_attach)
 * @flags: KMQ_ATTACH_*
 * @dirfd: directory fd the store lives in (@path relative to it), or
 *	AT_FDCWD (-100): @path relative to the caller's working directory
 * @flush_mode: KMQ_FLUSH_MODE_*
 * @path: user pointer to the NUL-terminated store directory; 0 with a
 *	@dirfd means the directory is @dirfd itself
 * @name: unique name of the attached store (other fds bind by it)
 * @segment_size: commitlog segment size, a multiple of 4096, >= 64 KiB
 * @ring_segments: segment files in the ring (>= 2)
 * @__rsvd0: zero
 * @retention_ms: fileReservedTime; 0 keeps segments until the ring is full
 * @max_message_size: largest body accepted (4 MiB default when 0)
 * @cq_file_entries: entries per consume-queue file (300000 when 0)
 * @flush_timeout_ms: SYNC_FLUSH gives up waiting after it (5000 when 0)
 * @async_interval_ms: ASYNC_FLUSH period (500 when 0)
 * @store_host: STOREHOST written into records and message ids
 * @store_id: out: the store's id, as in /proc/kmq and netlink
 * @__rsvd1: zero
 * @write_offset: out: where the next record goes, after recovery
 * @min_offset: out: lowest commitlog offset still readable
 *
 * With KMQ_ATTACH_EXISTING only @name is used: the fd binds to that
 * attached store (-ENOENT if none). Otherwise a store already attached
 * under @name, or at the same directory, is -EEXIST; a directory that is
 * not a store (and no KMQ_ATTACH_CREATE) -ENOENT; one whose files are
 * inconsistent beyond a torn tail -EUCLEAN; geometry that does not match
 * the segments on disk -EINVAL.
 */
struct kmq_attach {
	__u32 size;
	__u32 flags;
	__s32 dirfd;
	__u32 flush_mode;
	__u64 path;
	char name[KMQ_STORE_NAME_MAX];
	__u64 segment_size;
	__u32 ring_segments;
	__u32 __rsvd0;
	__u64 retention_ms;
	__u32 max_message_size;
	__u32 cq_file_entries;
	__u32 flush_timeout_ms;
	__u32 async_interval_ms;
	struct kmq_uhost store_host;
	__u32 store_id;
	__u32 __rsvd1;
	__u64 write_offset;
	__u64 min_offset;
};

#define KMQ_ATTACH_SIZE_VER0	176

/**
 * struct kmq_detach - KMQ_IOC_DETACH: flush and detach a store.
 * @size: sizeof(struct kmq_detach)
 * @flags: zero
 * @name: the store's name
 *
 * Readers waiting on the store (poll, SYNC_FLUSH waits) wake with an
 * error (-ENXIO); fds bound to it get -ENXIO from then on.
 */
struct kmq_detach {
	__u32 size;
	__u32 flags;
	char name[KMQ_STORE_NAME_MAX];
};

#define KMQ_DETACH_SIZE_VER0	72

/* RocketMQ's topic perm bits */
#define KMQ_TOPIC_PERM_WRITE	0x2
#define KMQ_TOPIC_PERM_READ	0x4
#define KMQ_TOPIC_PERM_MASK	(KMQ_TOPIC_PERM_READ | KMQ_TOPIC_PERM_WRITE)

/**
 * struct kmq_topic - KMQ_IOC_TOPIC_SET, KMQ_IOC_TOPIC_DEL; also the entry
 * of KMQ_IOC_TOPIC_LIST.
 * @size: sizeof(struct kmq_topic)
 * @flags: zero
 * @read_queues: readQueueNums, 1 to 1024
 * @write_queues: writeQueueNums, 1 to 1024
 * @perm: KMQ_TOPIC_PERM_* (RocketMQ's perm)
 * @__rsvd: zero
 * @name: topic name
 *
 * SET creates the topic or changes it; the store accepts records on queue
 * ids below max(@read_queues, @write_queues). DEL removes the topic and
 * its consume queues (-ENOENT if absent).
 */
struct kmq_topic {
	__u32 size;
	__u32 flags;
	__u32 read_queues;
	__u32 write_queues;
	__u32 perm;
	__u32 __rsvd;
	char name[KMQ_TOPIC_NAME_MAX];
};

#define KMQ_TOPIC_SIZE_VER0	152

/**
 * struct kmq_topic_list - KMQ_IOC_TOPIC_LIST: a page of the topic table,
 * in name order.
 * @size: sizeof(struct kmq_topic_list)
 * @flags: zero
 * @entries: user pointer to @max_entries struct kmq_topic
 * @entry_size: sizeof(struct kmq_topic) as the caller knows it
 * @max_entries: room at @entries
 * @after: start after this name ("" for the first page)
 * @count: out: entries written
 * @total: out: topics in the store
 */
struct kmq_topic_list {
	__u32 size;
	__u32 flags;
	__u64 entries;
	__u32 entry_size;
	__u32 max_entries;
	char after[KMQ_TOPIC_NAME_MAX];
	__u32 count;
	__u32 total;
};

#define KMQ_TOPIC_LIST_SIZE_VER0	160

/**
 * struct kmq_append_msg - one record of an append, as a producer sends it.
 * @body: user pointer to the body
 * @props: user pointer to the properties ("name\1value\2"...), or 0
 * @born_ts: BORNTIMESTAMP, ms
 * @prepared_tx_offset: PREPARED TRANSACTION OFFSET
 * @body_len: bytes at @body, at most the store's max_message_size
 * @props_len: bytes at @props, at most 32767
 * @queue_id: queue
 * @flag: producer's FLAG
 * @sys_flag: SYSFLAG as sent; the host bits are set by the module
 * @reconsume_times: RECONSUMETIMES
 * @born_host: BORNHOST
 * @topic: topic name
 */
struct kmq_append_msg {
	__u64 body;
	__u64 props;
	__u64 born_ts;
	__u64 prepared_tx_offset;
	__u32 body_len;
	__u32 props_len;
	__u32 queue_id;
	__u32 flag;
	__u32 sys_flag;
	__u32 reconsume_times;
	struct kmq_uhost born_host;
	char topic[KMQ_TOPIC_NAME_MAX];
};

/* struct kmq_append_msg's first published size: kmq_append.msg_size >= */
#define KMQ_APPEND_MSG_SIZE_VER0	208

/**
 * struct kmq_append_res - what the module assigned to one record.
 * @queue_offset: index in the consume queue (0 for PREPARED/ROLLBACK)
 * @phys_offset: commitlog offset
 * @store_ts: STORETIMESTAMP, ms
 * @size: TOTALSIZE
 * @__rsvd: zero
 * @msg_id: offset message id, NUL-terminated
 */
struct kmq_append_res {
	__u64 queue_offset;
	__u64 phys_offset;
	__u64 store_ts;
	__u32 size;
	__u32 __rsvd;
	char msg_id[KMQ_MSGID_BUF];
};

/* struct kmq_append_res's first published size: kmq_append.res_size >= */
#define KMQ_APPEND_RES_SIZE_VER0	96

/* kmq_append.flags */
#define KMQ_APPEND_NOWAIT	0x1	/* SYNC_FLUSH: do not wait for the sync */
#define KMQ_APPEND_FLAGS	KMQ_APPEND_NOWAIT

/* kmq_append.status */
#define KMQ_APPEND_OK			0	/* stored (and durable if SYNC) */
#define KMQ_APPEND_FLUSH_TIMEOUT_ST	1	/* stored, the sync timed out */
#define KMQ_APPEND_NOT_FLUSHED		2	/* NOWAIT: stored, not synced */

/**
 * struct kmq_append - KMQ_IOC_APPEND: append one record or a batch.
 * @size: sizeof(struct kmq_append)
 * @flags: KMQ_APPEND_*
 * @msgs: user pointer to @count struct kmq_append_msg
 * @results: user pointer to @count struct kmq_append_res
 * @count: records, 1 to KMQ_BATCH_MAX
 * @msg_size: sizeof(struct kmq_append_msg) as the caller knows it
 * @res_size: sizeof(struct kmq_append_res) as the caller knows it
 * @status: out: KMQ_APPEND_OK, _FLUSH_TIMEOUT_ST or _NOT_FLUSHED
 * @end_offset: out: commitlog offset just past the last record (for
 *	KMQ_IOC_FLUSH after a NOWAIT append)
 *
 * A batch is validated whole before anything is written (one bad record
 * stores nothing: -EINVAL, -ENOENT, -ERANGE or -EMSGSIZE naming nothing
 * else) and lands contiguously, in order, in one segment (-EMSGSIZE if it
 * cannot). Under SYNC_FLUSH the call returns once a sync covers the batch
 * (group commit) or after flush_timeout_ms with FLUSH_TIMEOUT_ST.
 */
struct kmq_append {
	__u32 size;
	__u32 flags;
	__u64 msgs;
	__u64 results;
	__u32 count;
	__u32 msg_size;
	__u32 res_size;
	__u32 status;
	__u64 end_offset;
};

#define KMQ_APPEND_SIZE_VER0	48

/* kmq_read.status: RocketMQ's GetMessageStatus, as the userspace store */
#define KMQ_RD_FOUND			0
#define KMQ_RD_NO_MESSAGE		1
#define KMQ_RD_NO_NEW			2
#define KMQ_RD_NO_MATCH			3
#define KMQ_RD_OFFSET_TOO_SMALL		4
#define KMQ_RD_OFFSET_OVERFLOW		5

/**
 * struct kmq_read - KMQ_IOC_READ: copy a pull's records into a buffer.
 * @size: sizeof(struct kmq_read)
 * @flags: zero
 * @offset: first queue offset wanted
 * @tags: user pointer to @ntags __s64 tag codes (0 or @ntags 0: all)
 * @buf: user pointer to @buf_len bytes for the records, as stored
 * @buf_len: room at @buf
 * @queue_id: queue
 * @max_msgs: at most this many records (1 to 16000)
 * @ntags: tag codes at @tags, at most KMQ_TAGS_MAX
 * @topic: topic name
 * @status: out: KMQ_RD_*
 * @count: out: records copied
 * @bytes: out: bytes copied
 * @__rsvd: zero
 * @next_offset: out: queue offset to ask for next
 * @min_offset: out: queue's min offset
 * @max_offset: out: queue's max offset (one past the last entry)
 *
 * Records are whole; the first matching record that does not fit @buf_len
 * is -ENOSPC if nothing was copied yet (@bytes says the size needed).
 * A record in a segment the ring reused meanwhile ends the read: it is
 * never replaced by the bytes of another record. Each record is checked
 * against its consume-queue entry before it is copied (TOTALSIZE, QUEUEID,
 * QUEUEOFFSET, PHYSICALOFFSET): one that does not match ends the read,
 * -EUCLEAN if it is the first (a damaged consume queue).
 */
struct kmq_read {
	__u32 size;
	__u32 flags;
	__u64 offset;
	__u64 tags;
	__u64 buf;
	__u32 buf_len;
	__u32 queue_id;
	__u32 max_msgs;
	__u32 ntags;
	char topic[KMQ_TOPIC_NAME_MAX];
	__u32 status;
	__u32 count;
	__u32 bytes;
	__u32 __rsvd;
	__u64 next_offset;
	__u64 min_offset;
	__u64 max_offset;
};

#define KMQ_READ_SIZE_VER0	216

/**
 * struct kmq_queue_info - KMQ_IOC_QUEUE_INFO: a queue's bounds, and
 * KMQ_IOC_OFFSET_BY_TIME: the first offset stored at or after a time.
 * @size: sizeof(struct kmq_queue_info)
 * @flags: zero
 * @queue_id: queue
 * @__rsvd: zero
 * @timestamp: OFFSET_BY_TIME: the time searched, ms
 * @topic: topic name
 * @min_offset: out: min offset
 * @max_offset: out: max offset (one past the last entry)
 * @min_store_ts: out: STORETIMESTAMP of the record at @min_offset (0
 *	when the queue is empty)
 * @offset: out: OFFSET_BY_TIME: first offset whose record was stored at
 *	or after @timestamp (@max_offset if none)
 */
struct kmq_queue_info {
	__u32 size;
	__u32 flags;
	__u32 queue_id;
	__u32 __rsvd;
	__u64 timestamp;
	char topic[KMQ_TOPIC_NAME_MAX];
	__u64 min_offset;
	__u64 max_offset;
	__u64 min_store_ts;
	__u64 offset;
};

#define KMQ_QUEUE_INFO_SIZE_VER0	184

/**
 * struct kmq_flush - KMQ_IOC_FLUSH: wait until the commitlog is durable
 * up to @offset.
 * @size: sizeof(struct kmq_flush)
 * @flags: zero
 * @offset: commitlog offset; U64_MAX means everything written so far
 * @timeout_ms: give up after this long (-ETIMEDOUT); 0: do not wait,
 *	just report
 * @__rsvd: zero
 * @flushed_offset: out: durable up to here
 */
struct kmq_flush {
	__u32 size;
	__u32 flags;
	__u64 offset;
	__u32 timeout_ms;
	__u32 __rsvd;
	__u64 flushed_offset;
};

#define KMQ_FLUSH_SIZE_VER0	32

/* kmq_subscribe.flags */
#define KMQ_SUB_REMOVE		0x1	/* drop (topic, queue) */
#define KMQ_SUB_CLEAR		0x2	/* drop every subscription of the fd */
#define KMQ_SUB_FLAGS		(KMQ_SUB_REMOVE | KMQ_SUB_CLEAR)

/**
 * struct kmq_subscribe - KMQ_IOC_SUBSCRIBE: wake poll() on this fd when
 * (@topic, @queue_id) has records at or past @offset. Adding an existing
 * pair moves its offset. At most KMQ_SUBS_MAX per fd (-ENOSPC).
 * @size: sizeof(struct kmq_subscribe)
 * @flags: KMQ_SUB_*
 * @offset: queue offset the caller will read next
 * @queue_id: queue
 * @__rsvd: zero
 * @topic: topic name
 */
struct kmq_subscribe {
	__u32 size;
	__u32 flags;
	__u64 offset;
	__u32 queue_id;
	__u32 __rsvd;
	char topic[KMQ_TOPIC_NAME_MAX];
};

#define KMQ_SUBSCRIBE_SIZE_VER0		152

/**
 * struct kmq_ready - KMQ_IOC_READY: the subscriptions whose queue has
 * records at or past their offset (what woke poll()).
 * @size: sizeof(struct kmq_ready)
 * @flags: zero
 * @entries: user pointer to @max_entries struct kmq_subscribe, filled
 *	with the ready pairs and their subscribed offsets
 * @entry_size: sizeof(struct kmq_subscribe) as the caller knows it
 * @max_entries: room at @entries
 * @count: out: entries written
 * @__rsvd: zero
 */
struct kmq_ready {
	__u32 size;
	__u32 flags;
	__u64 entries;
	__u32 entry_size;
	__u32 max_entries;
	__u32 count;
	__u32 __rsvd;
};

#define KMQ_READY_SIZE_VER0	32

/**
 * struct kmq_store_info - KMQ_IOC_STORE_INFO: the bound store.
 * @size: sizeof(struct kmq_store_info)
 * @flags: zero
 * @store_id: id
 * @flush_mode: KMQ_FLUSH_MODE_*
 * @name: name
 * @segment_size: geometry
 * @ring_segments: geometry
 * @segments: segment files now in the ring
 * @retention_ms: geometry
 * @min_offset: lowest readable commitlog offset
 * @write_offset: where the next record goes
 * @flushed_offset: durable up to here
 * @appends: records appended since attach
 * @append_bytes: bytes appended since attach
 * @reads: records read since attach
 * @read_bytes: bytes read (copied) since attach
 * @splice_bytes: bytes delivered to sockets by splice
 * @copy_bytes: bytes delivered to sockets by copy
 * @errors: failed operations since attach
 * @topics: topics in the store
 * @__rsvd: zero
 * @pulls: pulls prepared with records (KMQ_IOC_PULL_PREPARE) since attach
 * @pull_sends: KMQ_IOC_PULL_SEND calls (cancels aside) since attach: with
 *	@pulls, the system calls zero-copy delivery costs
 *
 * A caller passing KMQ_STORE_INFO_SIZE_VER0 gets the fields up to
 * @__rsvd.
 */
struct kmq_store_info {
	__u32 size;
	__u32 flags;
	__u32 store_id;
	__u32 flush_mode;
	char name[KMQ_STORE_NAME_MAX];
	__u64 segment_size;
	__u32 ring_segments;
	__u32 segments;
	__u64 retention_ms;
	__u64 min_offset;
	__u64 write_offset;
	__u64 flushed_offset;
	__u64 appends;
	__u64 append_bytes;
	__u64 reads;
	__u64 read_bytes;
	__u64 splice_bytes;
	__u64 copy_bytes;
	__u64 errors;
	__u32 topics;
	__u32 __rsvd;
	__u64 pulls;
	__u64 pull_sends;
};

#define KMQ_STORE_INFO_SIZE_VER0	192
#define KMQ_STORE_INFO_SIZE_VER1	208	/* pulls, pull_sends */

/**
 * struct kmq_read_at - KMQ_IOC_READ_AT: copy the record stored at a
 * commitlog offset (RocketMQ's view by message id).
 * @size: sizeof(struct kmq_read_at)
 * @flags: zero
 * @phys_offset: the record's commitlog offset
 * @buf: user pointer to @buf_len bytes
 * @buf_len: room at @buf
 * @record_size: out: TOTALSIZE of the record (also on -ENOSPC)
 *
 * -ERANGE when @phys_offset is below the commitlog's min offset or not
 * below its write offset, -EBADMSG when no valid record starts there,
 * -ENOSPC when @buf_len is smaller than the record.
 */
struct kmq_read_at {
	__u32 size;
	__u32 flags;
	__u64 phys_offset;
	__u64 buf;
	__u32 buf_len;
	__u32 record_size;
};

#define KMQ_READ_AT_SIZE_VER0	32

/*
 * Zero-copy pull delivery: KMQ_IOC_PULL_PREPARE then KMQ_IOC_PULL_SEND.
 *
 * A RocketMQ pull response is one remoting frame,
 *
 *   [be32 total][be32 type << 24 | header length][header][body]
 *   total = 4 + header length + body length,
 *
 * whose header carries what the lookup found (status, nextBeginOffset,
 * minOffset, maxOffset), so it can only be written once the lookup is
 * done. A pull therefore costs two system calls, whatever the number of
 * records:
 *
 *  1. KMQ_IOC_PULL_PREPARE looks the records up (as KMQ_IOC_READ does),
 *     fixes their exact byte ranges, pins them, and returns the status,
 *     count, body length and offsets plus a handle kept in the fd.
 *  2. KMQ_IOC_PULL_SEND(handle, socket, header) sends the header, then
 *     the ranges straight from the page cache into the TCP socket: the
 *     pages go to the socket by reference (MSG_SPLICE_PAGES, or
 *     sendpage before 6.5), the CPU never copies a record byte.
 *
 * A non-blocking socket (O_NONBLOCK or KMQ_PULL_SEND_NONBLOCK) may take
 * part of the response: PULL_SEND returns 0 with @sent below @total and
 * the caller calls it again with @offset = @sent once the socket is
 * writable (no header then); -EAGAIN when nothing could be sent. The
 * handle lives until the whole response is sent, until
 * KMQ_PULL_SEND_CANCEL, until the socket fails a send (-EPIPE,
 * -ECONNRESET...; a refused request, -EINVAL and the like, keeps it), or
 * until the fd is closed. The records' pages stay
 * those of the records until the socket lets go of them: the ring gives
 * a reused segment fresh pages (its old ones are punched out of the page
 * cache), so bytes in flight never change.
 */

/* Records one pull may prepare, and the body bytes it may take. */
#define KMQ_PULL_MSGS_MAX	1024
#define KMQ_PULL_BYTES_MAX	(256U << 20)
/* Prepared, not yet sent pulls per fd. */
#define KMQ_PULL_HANDLES_MAX	1024
/* Largest response header PULL_SEND takes. */
#define KMQ_PULL_HDR_MAX	16384

/**
 * struct kmq_pull - KMQ_IOC_PULL_PREPARE: look a pull's records up and pin
 * them for KMQ_IOC_PULL_SEND.
 * @size: sizeof(struct kmq_pull)
 * @flags: zero
 * @offset: first queue offset wanted
 * @tags: user pointer to @ntags __s64 tag codes (0 or @ntags 0: all)
 * @queue_id: queue
 * @max_msgs: at most this many records (1 to KMQ_PULL_MSGS_MAX)
 * @max_bytes: at most this many bytes of records, except that the first
 *	matching record is always taken (0: KMQ_PULL_BYTES_MAX, the most)
 * @ntags: tag codes at @tags, at most KMQ_TAGS_MAX
 * @topic: topic name
 * @status: out: KMQ_RD_*, as KMQ_IOC_READ
 * @count: out: records prepared
 * @bytes: out: their bytes: the frame's body length
 * @handle: out: non-zero when @count is (the records wait for PULL_SEND)
 * @next_offset: out: queue offset to ask for next
 * @min_offset: out: queue's min offset
 * @max_offset: out: queue's max offset (one past the last entry)
 *
 * Statuses, tag filtering, the scan limit and the check of each record
 * against its entry (-EUCLEAN) are KMQ_IOC_READ's. The
 * records are pinned until the handle goes: -ENOBUFS when the fd holds
 * KMQ_PULL_HANDLES_MAX handles already.
 */
struct kmq_pull {
	__u32 size;
	__u32 flags;
	__u64 offset;
	__u64 tags;
	__u32 queue_id;
	__u32 max_msgs;
	__u32 max_bytes;
	__u32 ntags;
	char topic[KMQ_TOPIC_NAME_MAX];
	__u32 status;
	__u32 count;
	__u32 bytes;
	__u32 handle;
	__u64 next_offset;
	__u64 min_offset;
	__u64 max_offset;
};

#define KMQ_PULL_SIZE_VER0	208

/* kmq_pull_send.flags */
#define KMQ_PULL_SEND_NONBLOCK	0x1	/* never wait, even on a blocking socket */
#define KMQ_PULL_SEND_FRAME	0x2	/* write the frame's two lengths */
#define KMQ_PULL_SEND_COPY	0x4	/* copy the records (transferMsgByHeap) */
#define KMQ_PULL_SEND_CANCEL	0x8	/* release the handle, send nothing */
#define KMQ_PULL_SEND_FLAGS	(KMQ_PULL_SEND_NONBLOCK | KMQ_PULL_SEND_FRAME | \
				 KMQ_PULL_SEND_COPY | KMQ_PULL_SEND_CANCEL)

/**
 * struct kmq_pull_send - KMQ_IOC_PULL_SEND: send a prepared pull's
 * response (header, then records) into a connected TCP socket.
 * @size: sizeof(struct kmq_pull_send)
 * @flags: KMQ_PULL_SEND_*
 * @handle: from KMQ_IOC_PULL_PREPARE on this fd
 * @sockfd: the connected TCP socket (IPv4 or IPv6)
 * @hdr: user pointer to the frame's first bytes: length prefix and
 *	header; with @offset 0 only (0 when resuming)
 * @hdr_len: bytes at @hdr, up to KMQ_PULL_HDR_MAX (0 when resuming)
 * @__rsvd: zero
 * @offset: bytes of this response already sent: 0 for the first call,
 *	then the @sent of the previous one
 * @sent: out: bytes of the response sent so far (header and body)
 * @total: out: @hdr_len plus the body length
 *
 * With KMQ_PULL_SEND_FRAME the module fills the remoting frame prefix of
 * @hdr before sending it: bytes 0-3 become be32(@hdr_len - 4 + body
 * length), bytes 5-7 the header length @hdr_len - 8 (byte 4, the
 * serialization type, is kept); @hdr_len must be at least 8.
 * With KMQ_PULL_SEND_COPY the record bytes are copied into the socket's
 * buffers (counted in copy_bytes) instead of lent by page (splice_bytes).
 *
 * Return: 0 with @sent == @total (done, the handle is released) or
 * @sent < @total (partial: resume from @sent when the socket is
 * writable); -EAGAIN (nothing sent; the handle stays), -EINTR (likewise),
 * -ENOENT (no such handle), -EBUSY (the handle is being sent by another
 * thread), -EINVAL (@offset is not what was sent, a header on resume or
 * none at first, another socket than the one the response started on),
 * -ENOTSOCK, -EBADF, -EOPNOTSUPP (not a TCP socket), -EMSGSIZE (frame
 * longer than 2^31 - 1), -ENXIO (the store was detached meanwhile: the
 * handle is released), or the socket's error (-EPIPE, -ECONNRESET...:
 * the handle is released; if part was sent the connection holds half a
 * response and must be closed).
 */
struct kmq_pull_send {
	__u32 size;
	__u32 flags;
	__u32 handle;
	__s32 sockfd;
	__u64 hdr;
	__u32 hdr_len;
	__u32 __rsvd;
	__u64 offset;
	__u64 sent;
	__u64 total;
};

#define KMQ_PULL_SEND_SIZE_VER0	56

#define KMQ_IOC_ATTACH		_IOWR(KMQ_IOC_MAGIC, 1, struct kmq_attach)
#define KMQ_IOC_DETACH		_IOW(KMQ_IOC_MAGIC, 2, struct kmq_detach)
#define KMQ_IOC_TOPIC_SET	_IOW(KMQ_IOC_MAGIC, 3, struct kmq_topic)
#define KMQ_IOC_TOPIC_DEL	_IOW(KMQ_IOC_MAGIC, 4, struct kmq_topic)
#define KMQ_IOC_TOPIC_LIST	_IOWR(KMQ_IOC_MAGIC, 5, struct kmq_topic_list)
#define KMQ_IOC_APPEND		_IOWR(KMQ_IOC_MAGIC, 6, struct kmq_append)
#define KMQ_IOC_READ		_IOWR(KMQ_IOC_MAGIC, 7, struct kmq_read)
#define KMQ_IOC_QUEUE_INFO	_IOWR(KMQ_IOC_MAGIC, 8, struct kmq_queue_info)
#define KMQ_IOC_OFFSET_BY_TIME	_IOWR(KMQ_IOC_MAGIC, 9, struct kmq_queue_info)
#define KMQ_IOC_FLUSH		_IOWR(KMQ_IOC_MAGIC, 10, struct kmq_flush)
#define KMQ_IOC_SUBSCRIBE	_IOW(KMQ_IOC_MAGIC, 11, struct kmq_subscribe)
#define KMQ_IOC_READY		_IOWR(KMQ_IOC_MAGIC, 12, struct kmq_ready)
#define KMQ_IOC_STORE_INFO	_IOWR(KMQ_IOC_MAGIC, 13, struct kmq_store_info)
#define KMQ_IOC_READ_AT		_IOWR(KMQ_IOC_MAGIC, 14, struct kmq_read_at)
#define KMQ_IOC_PULL_SEND	_IOWR(KMQ_IOC_MAGIC, 15, struct kmq_pull_send)
#define KMQ_IOC_PULL_PREPARE	_IOWR(KMQ_IOC_MAGIC, 16, struct kmq_pull)

/*
 * The module dispatches on the ioctl's type and number only and checks
 * the size carried in the struct, so a caller compiled against a newer
 * (larger) struct still reaches the right command.
 */

#endif /* _UAPI_KMQ_IOCTL_H */
