/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq.h - kmq.ko's internal structures and the API between its files.
 *
 * A store (struct kmq_kstore) is a directory in RocketMQ's layout, the
 * same bytes the userspace store (daemon/store/) writes:
 *
 *   commitlog/<20-digit start>             segments of the ring
 *   consumequeue/<topic>/<queueId>/<20-digit byte offset>
 *   config/topics.json, checkpoint, abort
 *
 * Lifetime: the registry holds a reference on each attached store, every
 * fd bound to it one more; DETACH marks it dead, closes its files and
 * drops the registry's reference. Topics are kref'd (readers and
 * subscriptions hold them); segments are refcounted (a reader pins the
 * one it copies from, a prepared pull the ones it will send from, so a
 * pinned segment is never rewritten).
 *
 * Locking, outermost first:
 *
 *   kmq_stores_mutex   the registry (attach, detach, lookups by name/id)
 *   s->op_rwsem        read: any operation on the store; write: detach,
 *                      once waiters have been woken
 *   s->append_mutex    appends in offset order, topic changes; the CQ
 *                      writes and segment writes of an append
 *   s->alloc_mutex     preparing, recycling and dropping segments
 *   s->sync_mutex      one commitlog sync at a time (group commit)
 *   s->lock            short: topic tree, queues (min, max, files),
 *                      ring and spare arrays, wpos, last_ts; never held
 *                      across a commitlog write, a sync or a copy to
 *                      userspace
 *   fctx->lock         per fd: its binding, subscriptions and prepared
 *                      pulls (taken before s->lock; never held across a
 *                      socket send)
 *
 * s->flushed is written under sync_mutex and read with READ_ONCE().
 */
#ifndef _KMQ_H
#define _KMQ_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/cred.h>
#include <linux/kref.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "kmq_checkpoint.h"
#include "kmq_cq.h"
#include "kmq_ioctl.h"
#include "kmq_record.h"
#include "kmq_ring.h"

#define KMQ_RING_MAX		4096	/* ring_segments at most */
#define KMQ_SEG_SIZE_MIN	(64ULL << 10)
#define KMQ_SEG_SIZE_MAX	BIT_ULL(40)
#define KMQ_MAX_MESSAGE_MAX	(64U << 20)
#define KMQ_CQ_ENTRIES_MAX	(16U << 20)
#define KMQ_CQ_READ_MAX		16	/* entries kmq_cq_read() reads at once */
#define KMQ_QUEUES_MAX		1024
#define KMQ_SPARES_MAX		2	/* segments prepared ahead */
#define KMQ_ASYNC_MIN_PAGES	4
#define KMQ_ASYNC_FULL_MS	10000
#define KMQ_CKPT_INTERVAL_MS	1000
#define KMQ_TOPICS_FILE_MAX	(16U << 20)
#define KMQ_WBUF_MIN		(256U << 10)
#define KMQ_DIR_MODE		0755
#define KMQ_FILE_MODE		0644

/**
 * struct kmq_kseg - one commitlog segment file.
 * @ref: the ring's reference plus one per reader pin; the last put
 *	closes the file
 * @start: commitlog offset of its first byte (its file name)
 * @file: the file, O_RDWR | O_LARGEFILE
 * @last_ts: STORETIMESTAMP of its last record (mtime when loaded), ms
 * @mapped: mapped by a user once: never renamed for reuse, only
 *	unlinked, so mapped bytes never change
 */
struct kmq_kseg {
	refcount_t ref;
	u64 start;
	struct file *file;
	u64 last_ts;
	bool mapped;
};

/**
 * struct kmq_kcqfile - an open consume-queue file.
 * @file: the file
 * @dirty: written since the last checkpoint
 */
struct kmq_kcqfile {
	struct file *file;
	bool dirty;
};

/**
 * struct kmq_kqueue - one consume queue (topic, queue id).
 * @topic: its topic (which outlives it)
 * @evt_node: in s->evt_queues while an ARRIVED event is due (s->lock)
 * @id: queue id
 * @min: first readable entry
 * @max: one past the last entry
 * @next: append_mutex only: max including the batch being written
 * @batch: append_mutex only: the batch that set @next
 * @first_file: index of @files[0] (file index = entry / entries per file)
 * @nfiles: slots in @files
 * @files: open files; .file NULL where none exists
 */
struct kmq_kqueue {
	struct kmq_ktopic *topic;
	struct list_head evt_node;	/* in s->evt_queues: event due */
	u32 id;
	u64 min;
	u64 max;
	u64 next;
	u64 batch;
	u64 first_file;
	u32 nfiles;
	struct kmq_kcqfile *files;
};

/**
 * struct kmq_ktopic - a topic and its queues.
 * @node: in s->topics, by name
 * @ref: the tree's reference plus readers' and subscriptions'
 * @name: NUL-terminated name
 * @name_len: its length
 * @read_queues: readQueueNums
 * @write_queues: writeQueueNums
 * @perm: KMQ_TOPIC_PERM_*
 * @nqueues: max(@read_queues, @write_queues)
 * @nallocated: slots in @queues
 * @queues: queues, created on first use; freed with the topic
 * @deleted: removed from the tree
 */
struct kmq_ktopic {
	struct rb_node node;
	struct kref ref;
	char name[KMQ_TOPIC_NAME_MAX];
	u32 name_len;
	u32 read_queues;
	u32 write_queues;
	u32 perm;
	u32 nqueues;
	u32 nallocated;
	struct kmq_kqueue **queues;
	bool deleted;
};

/**
 * struct kmq_geom - a store's geometry and policies, from ATTACH.
 */
struct kmq_geom {
	u64 segment_size;
	u32 ring_segments;
	u64 retention_ms;
	u32 max_message_size;
	u32 cq_file_entries;
	u32 flush_timeout_ms;
	u32 async_interval_ms;
	u32 flush_mode;
	struct kmq_host store_host;
};

/**
 * struct kmq_prep - what validation found out about one message of a
 * batch (append_mutex held); the write re-checks it against userspace.
 */
struct kmq_prep {
	struct kmq_ktopic *topic;
	struct kmq_kqueue *q;
	u64 queue_offset;
	u32 size;
	u32 body_len;
	u32 props_len;
	u32 queue_id;
	u32 sys_flag;
	bool cq;
};

/**
 * struct kmq_kstore - an attached store.
 */
struct kmq_kstore {
	struct list_head node;		/* in kmq_stores */
	struct kref ref;
	u32 id;
	char name[KMQ_STORE_NAME_MAX];
	char *path_str;			/* the directory, for /proc */
	struct path root;
	const struct cred *cred;	/* the attacher's: files are its */
	struct kmq_geom g;

	struct rw_semaphore op_rwsem;	/* operations vs detach */
	bool dead;			/* detached (under op_rwsem write) */
	bool detaching;			/* waiters must give up */

	struct mutex append_mutex;	/* appends, topic changes */
	struct mutex alloc_mutex;	/* segment preparation */
	struct mutex sync_mutex;	/* one commitlog sync at a time */
	struct mutex lock;		/* short state: see kmq.h */

	/* The ring: segs[0] oldest, segs[nsegs - 1] being written. */
	struct kmq_kseg **segs;
	u32 nsegs;
	struct kmq_kseg *spares[KMQ_SPARES_MAX];
	u32 nspares;
	u32 ntaken;			/* taken by the writer, not in segs */
	int alloc_err;
	wait_queue_head_t spare_wq;
	bool write_touched;		/* write segment made resident */

	u64 wpos;			/* next record goes here */
	u64 flushed;			/* commitlog durable below this */
	u64 last_ts;			/* STORETIMESTAMP of the last record */
	u64 last_full_ms;
	u64 last_ckpt_ms;
	u64 batch_seq;			/* append_mutex: batch counter */

	wait_queue_head_t flush_wq;	/* flushed moved, sync ended */
	wait_queue_head_t poll_wq;	/* appends, detach */

	struct rb_root topics;
	u32 ntopics;
	u64 topics_version;

	struct file *ckpt_file;
	struct file *lock_file;		/* flock()ed while attached */
	void *wbuf;			/* encoded records, then written */
	u32 wbuf_cap;
	void *stage;			/* one message's body and props */
	u32 stage_cap;
	struct kmq_prep *prep;		/* KMQ_BATCH_MAX entries */

	struct kobject *kobj;		/* /sys/kernel/kmq/<name> */
	struct list_head evt_queues;	/* queues with an ARRIVED due */
	bool evt_flushed;		/* a FLUSHED event is due */
	struct delayed_work evt_work;	/* netlink events, coalesced */
	struct delayed_work tick_work;	/* flusher, checkpoint, retention */
	struct work_struct alloc_work;	/* segments ahead of the writer */

	atomic64_t appends;
	atomic64_t append_bytes;
	atomic64_t reads;
	atomic64_t read_bytes;
	atomic64_t splice_bytes;
	atomic64_t copy_bytes;
	atomic64_t pulls;
	atomic64_t pull_sends;
	atomic64_t errors;
};

/**
 * struct kmq_sub - one subscription of an fd.
 * @topic: the topic (reference held)
 * @q: its queue
 * @queue_id: queue id
 * @offset: queue offset the caller reads next
 */
struct kmq_sub {
	struct kmq_ktopic *topic;
	struct kmq_kqueue *q;
	u32 queue_id;
	u64 offset;
};

/**
 * struct kmq_kpull - a pull KMQ_IOC_PULL_PREPARE fixed: its records'
 * ranges, pinned, waiting for (or half way through) KMQ_IOC_PULL_SEND.
 * @store: the store, for its counters (reference held)
 * @id: its handle in the fd's table
 * @busy: a send runs on it (fctx->lock)
 * @body_len: bytes of the ranges together
 * @sent: bytes of the response sent: header first, then body
 * @hdr: the response's first bytes (frame prefix and header), or NULL
 * @hdr_len: bytes at @hdr
 * @sock: the socket the response started on (an identity only: no
 *	reference is held), NULL before the first byte went
 * @sock_ino: that socket's inode number, with @sock
 * @nranges: ranges used
 * @cap: ranges allocated
 * @ranges: the records, in queue order, each run in one segment
 */
struct kmq_kpull {
	struct kmq_kstore *store;
	u32 id;
	bool busy;
	u32 body_len;
	u64 sent;
	u8 *hdr;
	u32 hdr_len;
	const void *sock;
	unsigned long sock_ino;
	u32 nranges;
	u32 cap;
	struct kmq_prange ranges[] __counted_by(cap);
};

/**
 * struct kmq_fctx - per open file of /dev/kmq.
 * @lock: binding, subscriptions, prepared pulls
 * @store: the bound store (reference held), or NULL
 * @subs: subscriptions
 * @nsubs: used
 * @cap: allocated
 * @pulls: prepared pulls by handle (struct kmq_kpull)
 * @npulls: their number, at most KMQ_PULL_HANDLES_MAX
 * @pull_next: the next handle to try (handles are given cyclically)
 */
struct kmq_fctx {
	struct mutex lock;		/* @store, @subs, @pulls */
	struct kmq_kstore *store;
	struct kmq_sub *subs;
	u32 nsubs;
	u32 cap;
	struct xarray pulls;
	u32 npulls;
	u32 pull_next;
};

/**
 * struct kmq_lookup - a pull's lookup (KMQ_IOC_READ, KMQ_IOC_PULL_PREPARE):
 * the queue's bounds and RocketMQ status, then the matching records,
 * handed as contiguous ranges to @sink.
 * @topic: topic name (checked by kmq_lookup())
 * @queue_id: queue
 * @offset: first queue offset wanted
 * @max_msgs: at most this many records
 * @max_bytes: at most this many bytes (see kmq_lookup_take())
 * @first_always: take the first record whatever its size (pull)
 * @tags: tag filter, or NULL
 * @ntags: codes at @tags
 * @sink: called with each run of records, its segment pinned for the
 *	call; 0 or -errno (ends the lookup)
 * @arg: for @sink
 * @status: out: KMQ_RD_*
 * @count: out: records taken
 * @bytes: out: their bytes (READ's -ENOSPC: the first record's size)
 * @next_offset: out: queue offset to ask for next
 * @min_offset: out: queue's min offset
 * @max_offset: out: queue's max offset
 */
struct kmq_lookup {
	const char *topic;
	u32 queue_id;
	u64 offset;
	u32 max_msgs;
	u64 max_bytes;
	bool first_always;
	const s64 *tags;
	u32 ntags;
	int (*sink)(struct kmq_lookup *sc, struct kmq_kseg *seg, u64 phys,
		    u32 len);
	void *arg;
	u32 status;
	u32 count;
	u64 bytes;
	u64 next_offset;
	u64 min_offset;
	u64 max_offset;
};

extern struct workqueue_struct *kmq_wq;

/* kmq_dev.c */
int kmq_dev_init(void);
void kmq_dev_exit(void);
struct kmq_kstore *kmq_fctx_store(struct kmq_fctx *fc);
int kmq_fctx_bind(struct kmq_fctx *fc, struct kmq_kstore *s);
bool kmq_fctx_bound(struct kmq_fctx *fc);

/* kmq_ioctl.c */
long kmq_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int kmq_put_entry(void __user *dst, u32 usize, const void *src, size_t ksize);

/* kmq_kstore.c */
int kmq_store_attach(struct kmq_fctx *fc, struct kmq_attach *a);
int kmq_store_detach(const char *name);
void kmq_store_get(struct kmq_kstore *s);
void kmq_store_put(struct kmq_kstore *s);
int kmq_store_enter(struct kmq_kstore *s);
void kmq_store_leave(struct kmq_kstore *s);
void kmq_store_fill_info(struct kmq_kstore *s, struct kmq_store_info *si);
u64 kmq_now_ms(void);
u64 kmq_mono_ms(void);
void kmq_stores_exit(void);
struct seq_file;
void kmq_stores_walk(void (*fn)(struct seq_file *m, struct kmq_kstore *s),
		     struct seq_file *m);
struct kmq_kstore *kmq_store_lookup(u32 id, const char *name);
struct kmq_kstore *kmq_store_nth(u32 n);

/* kmq_vfs.c: files under the store's root, with the attacher's creds */
struct file *kmq_vfs_open(struct kmq_kstore *s, const char *rel, int flags,
			  umode_t mode);
int kmq_vfs_mkdirs(struct kmq_kstore *s, const char *rel);
int kmq_vfs_unlink(struct kmq_kstore *s, const char *rel);
int kmq_vfs_rmtree(struct kmq_kstore *s, const char *rel);
int kmq_vfs_rename(struct kmq_kstore *s, const char *dir, const char *from,
		   const char *to);
typedef int (*kmq_dir_fn)(void *arg, const char *name, u32 len,
			  unsigned int type);
int kmq_vfs_readdir(struct kmq_kstore *s, const char *rel, kmq_dir_fn fn,
		    void *arg);
int kmq_vfs_write(struct file *f, const void *buf, size_t len, u64 pos);
int kmq_vfs_read(struct file *f, void *buf, size_t len, u64 pos);
int kmq_vfs_write_atomic(struct kmq_kstore *s, const char *dir,
			 const char *name, const void *buf, size_t len);
int kmq_vfs_fsync_dir(struct kmq_kstore *s, const char *rel);
int kmq_vfs_zero(struct file *f, u64 pos, u64 len);
int kmq_vfs_truncate(struct kmq_kstore *s, struct file *f, u64 size);
int kmq_vfs_flock(struct file *f);
u64 kmq_vfs_size(struct file *f);
u64 kmq_vfs_mtime_ms(struct file *f);
struct folio *kmq_vfs_folio(struct file *f, u64 pos);
bool kmq_vfs_paged(struct file *f);
int kmq_vfs_copy_to_user(struct file *f, u64 pos, void __user *dst,
			 size_t len);
int kmq_vfs_peek(struct file *f, u64 pos, void *buf, size_t len);

/* kmq_kseg.c */
struct kmq_kseg *kmq_seg_open(struct kmq_kstore *s, u64 start, int *err);
void kmq_seg_get(struct kmq_kseg *seg);
void kmq_seg_put(struct kmq_kseg *seg);
struct kmq_kseg *kmq_ring_find(struct kmq_kstore *s, u64 phys);
struct kmq_kseg *kmq_ring_pin(struct kmq_kstore *s, u64 phys);
struct kmq_kseg *kmq_ring_writing(struct kmq_kstore *s);
int kmq_ring_load(struct kmq_kstore *s);
int kmq_ring_next(struct kmq_kstore *s, struct kmq_kseg **out);
void kmq_ring_retention(struct kmq_kstore *s);
void kmq_ring_free(struct kmq_kstore *s);
void kmq_alloc_work(struct work_struct *work);
u32 kmq_ring_files(struct kmq_kstore *s);

/* kmq_kcq.c */
int kmq_cq_put(struct kmq_kstore *s, struct kmq_kqueue *q,
	       struct kmq_ktopic *t, u64 idx, const struct kmq_cq_entry *e);
int kmq_cq_get(struct kmq_kstore *s, struct kmq_kqueue *q, u64 idx,
	       struct kmq_cq_entry *e);
int kmq_cq_read(struct kmq_kstore *s, struct kmq_kqueue *q, u64 idx,
		u32 n, struct kmq_cq_entry *out);
int kmq_cq_load(struct kmq_kstore *s, struct kmq_ktopic *t,
		struct kmq_kqueue *q);
void kmq_cq_truncate(struct kmq_kstore *s, struct kmq_ktopic *t,
		     struct kmq_kqueue *q, u64 end);
void kmq_cq_trim(struct kmq_kstore *s, struct kmq_ktopic *t,
		 struct kmq_kqueue *q, u64 cl_min);
void kmq_cq_free(struct kmq_kqueue *q);
int kmq_cq_sync_dirty(struct kmq_kstore *s);

/* kmq_ktopic.c */
struct kmq_ktopic *kmq_topic_find(struct kmq_kstore *s, const char *name);
struct kmq_ktopic *kmq_topic_get(struct kmq_kstore *s, const char *name);
void kmq_topic_put(struct kmq_ktopic *t);
struct kmq_kqueue *kmq_queue_get(struct kmq_ktopic *t, u32 qid, int *err);
int kmq_topic_set(struct kmq_kstore *s, const struct kmq_topic *kt);
int kmq_topic_del(struct kmq_kstore *s, const char *name);
int kmq_topic_list(struct kmq_kstore *s, struct kmq_topic_list *tl);
int kmq_topics_load(struct kmq_kstore *s);
void kmq_topics_free(struct kmq_kstore *s);
typedef void (*kmq_queue_fn)(struct kmq_kstore *s, struct kmq_ktopic *t,
			     struct kmq_kqueue *q, void *arg);
void kmq_queues_walk(struct kmq_kstore *s, kmq_queue_fn fn, void *arg);

/* kmq_kappend.c */
int kmq_append(struct kmq_kstore *s, struct kmq_append *a);

/* kmq_kflush.c */
int kmq_flush_wait(struct kmq_kstore *s, u64 end, u32 timeout_ms);
int kmq_flush_all(struct kmq_kstore *s);
int kmq_checkpoint_write(struct kmq_kstore *s);
int kmq_checkpoint_read(struct kmq_kstore *s, struct kmq_checkpoint *c);
void kmq_tick_work(struct work_struct *work);
int kmq_flush_ioctl(struct kmq_kstore *s, struct kmq_flush *f);

/* kmq_kread.c */
int kmq_lookup(struct kmq_kstore *s, struct kmq_lookup *sc);
int kmq_lookup_user(struct kmq_kstore *s, struct kmq_lookup *sc, u64 utags);
int kmq_read(struct kmq_kstore *s, struct kmq_read *rd);
int kmq_read_at(struct kmq_kstore *s, struct kmq_read_at *ra);
int kmq_queue_info(struct kmq_kstore *s, struct kmq_queue_info *qi,
		   bool by_time);

/* kmq_krecover.c */
int kmq_recover(struct kmq_kstore *s, bool crashed);

/* kmq_poll.c */
int kmq_subscribe(struct kmq_fctx *fc, const struct kmq_subscribe *sb);
int kmq_ready(struct kmq_fctx *fc, struct kmq_ready *rd);
__poll_t kmq_poll(struct file *file, struct poll_table_struct *pt);
void kmq_subs_clear(struct kmq_fctx *fc);

/* kmq_proc.c */
int kmq_proc_init(void);
void kmq_proc_exit(void);

/* kmq_sysfs.c */
int kmq_sysfs_init(void);
void kmq_sysfs_exit(void);
int kmq_sysfs_add(struct kmq_kstore *s);
void kmq_sysfs_del(struct kmq_kstore *s);

/* kmq_genl.c */
int kmq_genl_init(void);
void kmq_genl_exit(void);
bool kmq_genl_listening(void);
void kmq_evt_work(struct work_struct *work);
void kmq_evt_arrived(struct kmq_kstore *s, struct kmq_kqueue *q);
void kmq_evt_flushed(struct kmq_kstore *s);
void kmq_evt_kick(struct kmq_kstore *s);
void kmq_evt_rolled(struct kmq_kstore *s, u64 start);
void kmq_evt_detached(struct kmq_kstore *s);

/* kmq_kpull.c: prepared pulls and their handles */
int kmq_pull_prepare(struct kmq_fctx *fc, struct kmq_kstore *s,
		     struct kmq_pull *p);
struct kmq_kpull *kmq_pull_claim(struct kmq_fctx *fc, u32 handle);
void kmq_pull_unclaim(struct kmq_fctx *fc, struct kmq_kpull *h);
void kmq_pull_drop(struct kmq_fctx *fc, struct kmq_kpull *h);
void kmq_pulls_init(struct kmq_fctx *fc);
void kmq_pulls_release(struct kmq_fctx *fc);

/* kmq_ksend.c: a prepared pull into a TCP socket */
int kmq_pull_send(struct kmq_fctx *fc, struct kmq_pull_send *ps);

/* kmq_mmap.c */
int kmq_mmap(struct file *file, struct vm_area_struct *vma);

#endif /* _KMQ_H */
