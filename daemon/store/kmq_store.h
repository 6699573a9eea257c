/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_store.h - the userspace store: kmqd's default storage backend.
 *
 * A store directory has RocketMQ's layout:
 *
 *   <root>/commitlog/<20-digit start offset>   segments of the ring
 *   <root>/consumequeue/<topic>/<queueId>/<20-digit byte offset>
 *   <root>/config/topics.json                  topics and queue counts
 *   <root>/checkpoint                          see uapi/kmq_checkpoint.h
 *   <root>/abort                               present while open
 *   <root>/lock                                flock()ed while open
 *
 * Records are uapi/kmq_record.h records; the module writes the same bytes.
 *
 * Threading: every function may be called from any thread; appends are
 * serialised in commitlog order, reads run beside them. The store runs
 * two threads of its own: the flusher (ASYNC_FLUSH timer or SYNC_FLUSH
 * group commit, and the checkpoint) and the allocator (prepares the next
 * segment ahead of the writer: allocated, zeroed, synced and pre-faulted).
 *
 * Errors: functions return 0 (or a count) on success and a negative code:
 * -errno for system failures and argument errors, or -KMQ_E* below.
 * kmq_store_strerror() names any of them; kmq_store_errmsg() gives the
 * detailed message of the calling thread's last failure.
 */
#ifndef KMQ_STORE_H
#define KMQ_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "kmq_record.h"
#include "kmq_msgid.h"

/* Store-specific error codes, returned negated. */
enum {
	KMQ_ENOTSTORE = 4096,	/* the directory is not a kmq/RocketMQ store */
	KMQ_ECORRUPT,		/* the store's files are inconsistent */
	KMQ_EBADTOPIC,		/* topic name illegal (chars, length) */
	KMQ_ENOTOPIC,		/* topic does not exist */
	KMQ_EBADQUEUE,		/* queue id not below the topic's queue count */
	KMQ_EMSGSIZE,		/* body over max_message_size, or record too big */
	KMQ_EBADPROPS,		/* properties malformed or too long */
	KMQ_EBUSY,		/* another process has the store open */
	KMQ_ECLOSED,		/* the store is shutting down */
};

enum kmq_flush_mode {
	KMQ_FLUSH_ASYNC = 0,	/* ASYNC_FLUSH */
	KMQ_FLUSH_SYNC = 1,	/* SYNC_FLUSH, group commit */
};

#define KMQ_STORE_CREATE	0x1	/* create the directory if absent */

/**
 * struct kmq_store_config - geometry and policies; see
 * kmq_store_config_init() for the defaults (RocketMQ's).
 * @root: store directory (storePathRootDir)
 * @segment_size: commitlog segment size (mapedFileSizeCommitLog), 1 GiB
 * @ring_segments: segment files in the ring, the prepared ones
 *	included; the oldest is reused when the ring is full. 0: no limit
 * @prealloc_segments: segments kept prepared (allocated, pre-faulted)
 *	ahead of the writer while the ring has free slots; at least one is
 *	always kept, recycling the oldest if the ring is full. 0: the
 *	default, which fills the ring (ring_segments - 1) or is 1 without a
 *	ring limit
 * @retention_ms: fileReservedTime; sealed segments whose last record is
 *	older are dropped (and reused). 0: keep until the ring is full
 * @flush_mode: ASYNC_FLUSH or SYNC_FLUSH
 * @flush_timeout_ms: SYNC_FLUSH answers KMQ_APPEND_FLUSH_TIMEOUT after it
 * @async_interval_ms: ASYNC_FLUSH period (500)
 * @async_min_pages: dirty pages needed for a periodic flush (4)
 * @async_full_interval_ms: flush everything at least this often (10000)
 * @max_message_size: largest body accepted (maxMessageSize, 4 MiB)
 * @cq_file_entries: entries per consume-queue file (300000)
 * @store_host: STOREHOST written in records and message ids
 * @flags: KMQ_STORE_CREATE (set by kmq_store_config_init())
 */
struct kmq_store_config {
	const char *root;
	uint64_t segment_size;
	uint32_t ring_segments;
	uint32_t prealloc_segments;
	uint64_t retention_ms;
	enum kmq_flush_mode flush_mode;
	uint32_t flush_timeout_ms;
	uint32_t async_interval_ms;
	uint32_t async_min_pages;
	uint32_t async_full_interval_ms;
	uint32_t max_message_size;
	uint32_t cq_file_entries;
	struct kmq_host store_host;
	unsigned int flags;
};

struct kmq_store;

void kmq_store_config_init(struct kmq_store_config *cfg, const char *root);

/**
 * kmq_store_open() - open (or create) a store and recover it.
 *
 * Without an "abort" file the last close was clean and the checkpoint is
 * the end. With one, recovery scans forward from the checkpoint,
 * validating magic, sizes, PHYSICALOFFSET and body CRC, truncates the
 * torn tail, and rebuilds consume-queue entries that are missing or point
 * past the end.
 */
int kmq_store_open(const struct kmq_store_config *cfg, struct kmq_store **out);

/** kmq_store_close() - flush everything, write the checkpoint, remove abort. */
void kmq_store_close(struct kmq_store *s);

/**
 * kmq_store_topic_create() - create a topic or change its queue count
 * (read and write alike; a new topic gets perm 6).
 * Names follow RocketMQ: [%|a-zA-Z0-9_-], 1 to 127 bytes. The change is
 * in config/topics.json (written and synced) before this returns.
 */
int kmq_store_topic_create(struct kmq_store *s, const char *topic,
			   uint32_t queues);
/** kmq_store_topic_delete() - forget a topic and remove its queues. */
int kmq_store_topic_delete(struct kmq_store *s, const char *topic);
/** kmq_store_topic_queues() - queue count of @topic, or -KMQ_ENOTOPIC. */
int kmq_store_topic_queues(struct kmq_store *s, const char *topic);
/**
 * kmq_store_topic_list() - call @fn for each topic (under the store's
 * topic lock: @fn must not call back into the store).
 */
int kmq_store_topic_list(struct kmq_store *s,
			 void (*fn)(void *arg, const char *topic,
				    uint32_t queues),
			 void *arg);

#define KMQ_PERM_READ	0x4
#define KMQ_PERM_WRITE	0x2

/**
 * struct kmq_topic_info - a topic's configuration, as in topics.json.
 * @name: topic name
 * @read_queues: readQueueNums: queues consumers are given
 * @write_queues: writeQueueNums: queues producers are given
 * @perm: KMQ_PERM_READ | KMQ_PERM_WRITE (RocketMQ's perm, 6 by default)
 *
 * The store accepts appends and reads on queue ids below the larger of
 * the two counts; the broker applies each count and @perm to its clients.
 */
struct kmq_topic_info {
	char name[KMQ_TOPIC_MAX_V1 + 1];
	uint32_t read_queues;
	uint32_t write_queues;
	uint32_t perm;
};

/**
 * kmq_store_topic_check() - is @ti a topic configuration the store takes:
 * a name by RocketMQ's rule, queue counts whose larger is in
 * 1..@max_queues, perm of KMQ_PERM_READ | KMQ_PERM_WRITE bits only. The
 * one check of both backends (kmq.ko takes fewer queues: its own limit).
 * Return: 0, -KMQ_EBADTOPIC or -EINVAL; kmq_store_errmsg() says why.
 */
int kmq_store_topic_check(const struct kmq_topic_info *ti,
			  uint32_t max_queues);
/** kmq_store_topic_config() - create or update a topic from @ti. */
int kmq_store_topic_config(struct kmq_store *s, const struct kmq_topic_info *ti);
/** kmq_store_topic_info() - @topic's configuration, or -KMQ_ENOTOPIC. */
int kmq_store_topic_info(struct kmq_store *s, const char *topic,
			 struct kmq_topic_info *out);
/** kmq_store_topic_list_info() - kmq_store_topic_list() with every field. */
int kmq_store_topic_list_info(struct kmq_store *s,
			      void (*fn)(void *arg,
					 const struct kmq_topic_info *ti),
			      void *arg);

/**
 * struct kmq_msg - what a producer hands in; the store assigns the rest.
 * @topic: NUL-terminated topic; must exist
 * @queue_id: below the topic's queue count
 * @flag: producer's FLAG
 * @sys_flag: SYSFLAG as sent (compression, transaction type); host bits
 *	are set by the store
 * @born_ts: BORNTIMESTAMP, ms
 * @born_host: BORNHOST
 * @reconsume_times: RECONSUMETIMES
 * @prepared_tx_offset: PREPARED TRANSACTION OFFSET
 * @body: body bytes, stored as they are
 * @body_len: at most max_message_size
 * @props: properties ("name\1value\2"...), may be NULL
 * @props_len: at most KMQ_PROPS_MAX
 */
struct kmq_msg {
	const char *topic;
	uint32_t queue_id;
	uint32_t flag;
	uint32_t sys_flag;
	uint64_t born_ts;
	struct kmq_host born_host;
	uint32_t reconsume_times;
	uint64_t prepared_tx_offset;
	const void *body;
	uint32_t body_len;
	const char *props;
	uint32_t props_len;
};

/**
 * struct kmq_append_result - what the store assigned to one record.
 * @queue_offset: its index in the consume queue (0 for PREPARED/ROLLBACK)
 * @phys_offset: its commitlog offset
 * @size: TOTALSIZE
 * @store_ts: STORETIMESTAMP, ms
 * @msg_id: offset message id, NUL-terminated
 */
struct kmq_append_result {
	uint64_t queue_offset;
	uint64_t phys_offset;
	uint32_t size;
	uint64_t store_ts;
	char msg_id[KMQ_MSGID_MAX + 1];
};

/* Positive return of the append functions: stored, durability unknown. */
#define KMQ_APPEND_FLUSH_TIMEOUT	1

/**
 * kmq_store_props_check() - are message @i's properties (@m->props,
 * @m->props_len) name\1value\2 pairs within KMQ_PROPS_MAX bytes: the
 * append's own check, for both backends.
 * Return: 0 or -KMQ_EBADPROPS (kmq_store_errmsg() says why).
 */
int kmq_store_props_check(const struct kmq_msg *m, uint32_t i);

/**
 * kmq_store_append() - append one record.
 *
 * Under SYNC_FLUSH it returns only once fdatasync covers the record;
 * concurrent appenders share one sync.
 * Return: 0; KMQ_APPEND_FLUSH_TIMEOUT if the sync did not complete
 * within flush_timeout_ms (the record is stored); or a negative error,
 * in which case nothing was stored.
 */
int kmq_store_append(struct kmq_store *s, const struct kmq_msg *msg,
		     struct kmq_append_result *res);

/**
 * kmq_store_append_batch() - append @n records atomically with respect to
 * validation: either all are stored, contiguously and in order, or none
 * (the error names the first bad one through kmq_store_errmsg()). The
 * batch must fit in one segment, else -KMQ_EMSGSIZE.
 * @res: @n results
 * Return: as kmq_store_append().
 */
int kmq_store_append_batch(struct kmq_store *s, const struct kmq_msg *msgs,
			   uint32_t n, struct kmq_append_result *res);

/* Return of kmq_store_append_async(): @done will be called. */
#define KMQ_APPEND_PENDING		2

/**
 * typedef kmq_append_done_fn - completion of an asynchronous append.
 * @arg: the caller's argument
 * @status: 0 once a sync covers the records, or KMQ_APPEND_FLUSH_TIMEOUT
 *
 * Called on the store's flusher thread: it must not block or call back
 * into the store's append functions.
 */
typedef void (*kmq_append_done_fn)(void *arg, int status);

/**
 * kmq_store_append_async() - kmq_store_append_batch() that does not wait
 * for SYNC_FLUSH: the records are stored (and readable) on return.
 * Return: a negative error (nothing stored); 0 when nothing is to wait
 * for (ASYNC_FLUSH, or already synced); KMQ_APPEND_PENDING when @done will
 * be called once a group commit covers the records.
 */
int kmq_store_append_async(struct kmq_store *s, const struct kmq_msg *msgs,
			   uint32_t n, struct kmq_append_result *res,
			   kmq_append_done_fn done, void *arg);

/**
 * enum kmq_read_status - outcome of a read (RocketMQ's GetMessageStatus).
 * @KMQ_READ_FOUND: ranges hold at least one record
 * @KMQ_READ_NO_MESSAGE: the queue is empty
 * @KMQ_READ_NO_NEW: offset == max offset: nothing yet (long-poll)
 * @KMQ_READ_NO_MATCH: entries scanned, none matched the tags; next_offset
 *	moved past them
 * @KMQ_READ_OFFSET_TOO_SMALL: offset below min offset (records reclaimed);
 *	next_offset is the min offset
 * @KMQ_READ_OFFSET_OVERFLOW: offset above max offset; next_offset is the
 *	max offset
 *
 * NO_MATCH scans at most 16000 entries per read.
 */
enum kmq_read_status {
	KMQ_READ_FOUND = 0,
	KMQ_READ_NO_MESSAGE,
	KMQ_READ_NO_NEW,
	KMQ_READ_NO_MATCH,
	KMQ_READ_OFFSET_TOO_SMALL,
	KMQ_READ_OFFSET_OVERFLOW,
};

/**
 * struct kmq_read_req - one pull.
 * @topic: topic
 * @queue_id: queue
 * @offset: first queue offset wanted
 * @max_msgs: at most this many records
 * @max_bytes: at most this many bytes, except that one record is always
 *	returned if it matches
 * @tags: tags codes to keep; NULL or @ntags 0 keeps all
 * @ntags: number of @tags
 */
struct kmq_read_req {
	const char *topic;
	uint32_t queue_id;
	uint64_t offset;
	uint32_t max_msgs;
	uint32_t max_bytes;
	const int64_t *tags;
	uint32_t ntags;
};

/**
 * struct kmq_range - bytes ready to be sent as they are: whole records,
 * contiguous in one segment. Valid (pinned) until kmq_store_release().
 * @data: the bytes, in the segment's mapping
 * @fd: the segment's file, for sendfile/splice
 * @file_off: offset of @data in @fd
 * @len: byte count
 * @count: records in the range
 * @seg: private: the pinned segment
 */
struct kmq_range {
	const void *data;
	int fd;
	uint64_t file_off;
	uint32_t len;
	uint32_t count;
	void *seg;
};

/**
 * struct kmq_read_result - the outcome of kmq_store_read().
 * @status: see enum kmq_read_status
 * @next_offset: queue offset to ask for next
 * @min_offset: queue's minimum offset
 * @max_offset: queue's maximum offset (one past the last entry)
 * @count: records returned
 * @bytes: bytes returned
 * @nranges: ranges filled
 */
struct kmq_read_result {
	enum kmq_read_status status;
	uint64_t next_offset;
	uint64_t min_offset;
	uint64_t max_offset;
	uint32_t count;
	uint32_t bytes;
	uint32_t nranges;
};

/**
 * kmq_store_read() - find the records of a pull.
 * @ranges: room for @max_ranges ranges; the read stops when they run out
 *
 * The ranges pin their segments: call kmq_store_release() once the bytes
 * are sent. A segment reused by the ring meanwhile is replaced by a new
 * file, so pinned bytes never change.
 * Return: 0 (see @res->status) or a negative error.
 */
int kmq_store_read(struct kmq_store *s, const struct kmq_read_req *req,
		   struct kmq_range *ranges, uint32_t max_ranges,
		   struct kmq_read_result *res);

/**
 * kmq_store_release() - unpin what kmq_store_read() returned. Each range
 * holds its own pin and only its @seg is read, so ranges may be released
 * one by one, at different times, from copies holding just @seg.
 */
void kmq_store_release(struct kmq_store *s, struct kmq_range *ranges,
		       uint32_t nranges);

/** kmq_store_queue_offsets() - min and max offset of a queue. */
int kmq_store_queue_offsets(struct kmq_store *s, const char *topic,
			    uint32_t queue_id, uint64_t *min, uint64_t *max);

/**
 * kmq_store_read_at() - copy the record at commitlog offset @phys into
 * @buf (view by message id). Return: its size, or a negative error
 * (-ERANGE when @phys is not readable, -ENOSPC when @cap is too small).
 */
int kmq_store_read_at(struct kmq_store *s, uint64_t phys, void *buf,
		      uint32_t cap);

/** kmq_store_flush() - make everything appended so far durable. */
int kmq_store_flush(struct kmq_store *s);

/**
 * struct kmq_store_stats - positions and counters.
 * @min_offset: lowest readable commitlog offset
 * @write_offset: where the next record goes
 * @flushed_offset: durable up to here
 * @segments: segment files, the prepared ones included
 * @prepared: segments prepared ahead of the writer
 * @appends: records appended since open
 * @syncs: commitlog syncs (msync MS_SYNC of the unsynced range) since open
 */
struct kmq_store_stats {
	uint64_t min_offset;
	uint64_t write_offset;
	uint64_t flushed_offset;
	uint32_t segments;
	uint32_t prepared;
	uint64_t appends;
	uint64_t syncs;
};

void kmq_store_stats(struct kmq_store *s, struct kmq_store_stats *st);

const char *kmq_store_strerror(int err);
/** kmq_store_errmsg() - details of this thread's last store error. */
const char *kmq_store_errmsg(void);

#endif /* KMQ_STORE_H */
