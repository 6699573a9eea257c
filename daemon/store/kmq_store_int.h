/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_store_int.h - the userspace store's private structures, shared by
 * the files of daemon/store/ and by nothing else.
 *
 * Locking: one mutex, s->lock, guards the ring, the write position, the
 * topic table and every queue. It is held for the in-memory part of an
 * append or a read, never across a sync or a file creation: the flusher
 * and the allocator pin what they need, drop the lock, and do the I/O.
 */
#ifndef KMQ_STORE_INT_H
#define KMQ_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sys/types.h>

#include "kmq_checkpoint.h"
#include "kmq_cq.h"
#include "kmq_fs.h"
#include "kmq_store.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#define KMQ_TOPIC_BUCKETS	1024
#define KMQ_PAGE_SIZE		4096u
/* Entries a read may skip for tag filtering, as RocketMQ's broker. */
#define KMQ_READ_SCAN_MAX	16000u
/* Most segments kept prepared ahead of the writer. */
#define KMQ_PREALLOC_MAX	64

/*
 * struct kmq_seg - one commitlog segment file, mapped whole.
 * @refs: 1 for the ring (or the allocator) + 1 per reader pin; the last
 *	put unmaps and closes. A segment dropped from the ring while pinned
 *	is unlinked, so its bytes stay as they were for the readers.
 */
struct kmq_seg {
	uint64_t start;
	int fd;
	uint8_t *map;
	uint64_t size;
	atomic_uint refs;
	uint64_t last_ts;	/* STORETIMESTAMP of its last record, ms */
};

/* struct kmq_cqfile - one consume-queue file, mapped whole. */
struct kmq_cqfile {
	int fd;
	uint8_t *map;
	uint64_t bytes;
	atomic_uint refs;
	bool dirty;		/* written since the last checkpoint */
	struct kmq_cqfile *dirty_next;
};

/*
 * struct kmq_queue - one consume queue (topic, queueId).
 * @files: files[i] holds entries from (first_file + i) * cq_file_entries;
 *	NULL where no file exists (yet)
 */
struct kmq_queue {
	struct kmq_topic *topic;
	uint32_t id;
	uint64_t min;
	uint64_t max;
	uint64_t first_file;
	uint32_t nfiles;
	struct kmq_cqfile **files;
};

struct kmq_topic {
	struct kmq_topic *next;		/* hash chain */
	char name[KMQ_TOPIC_MAX_V1 + 1];
	uint32_t name_len;
	uint32_t nqueues;		/* max(read_queues, write_queues) */
	uint32_t read_queues;
	uint32_t write_queues;
	uint32_t perm;
	uint32_t nallocated;		/* size of @queues */
	struct kmq_queue **queues;	/* created on first use */
};

/* An asynchronous append waiting for a sync to cover @end. */
struct kmq_sync_waiter {
	uint64_t end;
	uint64_t deadline_ms;		/* monotonic */
	kmq_append_done_fn done;
	void *arg;
	struct kmq_sync_waiter *next;
};

struct kmq_store {
	struct kmq_store_config cfg;
	char *root;
	int root_fd;
	int lock_fd;

	pthread_mutex_t lock;
	pthread_cond_t flushed_cv;	/* flushed moved; spare installed */
	pthread_cond_t work_cv;		/* wakes the flusher and allocator */
	bool closing;

	/* The ring: segs[0] oldest readable, segs[nsegs - 1] being written. */
	struct kmq_seg **segs;
	uint32_t nsegs;
	uint32_t segs_cap;
	/* Prepared segments ahead of the writer, in offset order. */
	struct kmq_seg *spares[KMQ_PREALLOC_MAX];
	uint32_t nspares;
	uint32_t prealloc;		/* how many to keep */
	int alloc_err;

	uint64_t wpos;			/* next record goes here */
	uint64_t flushed;		/* commitlog durable below this */
	bool syncing;			/* a commitlog sync is running */
	bool leading;			/* an appender is gathering a group */
	uint32_t sync_waiters;		/* appenders waiting for a sync */
	uint32_t last_group;		/* waiters covered by the last sync */
	uint64_t last_sync_us;		/* how long the last sync took */
	pthread_cond_t join_cv;		/* an appender started waiting */
	struct kmq_sync_waiter *async_head;	/* kmq_store_append_async() */
	struct kmq_sync_waiter **async_tail;
	uint64_t last_ts;		/* STORETIMESTAMP of the last record */
	uint64_t appends;
	uint64_t syncs;

	struct kmq_topic *topics[KMQ_TOPIC_BUCKETS];
	uint32_t ntopics;
	uint64_t topics_version;
	struct kmq_cqfile *dirty_cq;

	pthread_t flusher;
	pthread_t allocator;
	bool threads_started;
};

/* kmq_store_err.c */
int kmq_err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
uint64_t kmq_now_ms(void);
uint64_t kmq_mono_ms(void);
uint64_t kmq_mono_us(void);

/* kmq_segment.c */
struct kmq_seg *kmq_seg_open(struct kmq_store *s, uint64_t start, int *err);
int kmq_seg_prefault(struct kmq_seg *seg);
int kmq_seg_renew(struct kmq_seg *seg);
int kmq_seg_rename(struct kmq_store *s, struct kmq_seg *seg, uint64_t start);
void kmq_seg_unlink(struct kmq_store *s, struct kmq_seg *seg);
void kmq_seg_get(struct kmq_seg *seg);
void kmq_seg_put(struct kmq_seg *seg);
int kmq_seg_sync(struct kmq_seg *seg, uint64_t from, uint64_t to);

/* kmq_sync_ring.c */
int kmq_sync_range(int fd, uint8_t *map, uint64_t off, uint64_t len);
struct kmq_seg *kmq_ring_find(struct kmq_store *s, uint64_t phys);
int kmq_ring_push(struct kmq_store *s, struct kmq_seg *seg);
int kmq_ring_open_push(struct kmq_store *s, uint64_t start,
		       struct kmq_seg **out);
struct kmq_seg *kmq_ring_drop_oldest(struct kmq_store *s);
int kmq_ring_load(struct kmq_store *s);
void kmq_ring_free(struct kmq_store *s);

/* kmq_allocator.c */
void *kmq_allocator_main(void *arg);
struct kmq_seg *kmq_reclaim_oldest(struct kmq_store *s);
int kmq_wait_spare(struct kmq_store *s);
struct kmq_seg *kmq_take_spare(struct kmq_store *s);

/* kmq_topics.c */
struct kmq_topic *kmq_topic_find(struct kmq_store *s, const char *name,
				 uint32_t len);
int kmq_topic_name_check(const char *name, uint32_t *len);
struct kmq_queue *kmq_queue_get(struct kmq_store *s, struct kmq_topic *t,
				uint32_t qid, int *err);
int kmq_topics_load(struct kmq_store *s);
void kmq_topics_free(struct kmq_store *s);

/* kmq_cqueue.c */
int kmq_cq_put(struct kmq_store *s, struct kmq_queue *q, uint64_t idx,
	       const struct kmq_cq_entry *e);
int kmq_cq_get(struct kmq_store *s, struct kmq_queue *q, uint64_t idx,
	       struct kmq_cq_entry *e);
int kmq_cq_load(struct kmq_store *s, struct kmq_queue *q);
void kmq_cq_truncate(struct kmq_store *s, struct kmq_queue *q, uint64_t end);
void kmq_cq_trim(struct kmq_store *s, struct kmq_queue *q, uint64_t cl_min);
void kmq_cq_free(struct kmq_queue *q);
void kmq_cqfile_put(struct kmq_cqfile *f);
char *kmq_queue_dir(struct kmq_store *s, const char *topic, uint32_t qid);
typedef void (*kmq_queue_fn)(struct kmq_store *s, struct kmq_queue *q,
			     void *arg);
void kmq_queues_walk(struct kmq_store *s, kmq_queue_fn fn, void *arg);

/* kmq_flush.c */
void *kmq_flusher_main(void *arg);
int kmq_checkpoint_write(struct kmq_store *s);
int kmq_checkpoint_read(struct kmq_store *s, struct kmq_checkpoint *c);
int kmq_flush_to(struct kmq_store *s, uint64_t target);
void kmq_retention_run(struct kmq_store *s);
void kmq_async_complete(struct kmq_store *s, bool all);

/* kmq_recover.c */
int kmq_recover(struct kmq_store *s, bool crashed);

#endif /* KMQ_STORE_INT_H */
