// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_kstore.c - the registry of attached stores: ATTACH (by path or
 * directory fd, creating the store if asked, recovering it), DETACH
 * (flush, checkpoint, close), lookups, references and STORE_INFO.
 *
 * Each attached store holds a reference on the module, so kmq.ko cannot
 * be unloaded while a store is attached (open fds hold one through the
 * misc device's fops owner). A store outlives the fd that attached it:
 * the registry keeps it until DETACH. Other fds bind to it by name.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kmq.h"
#include "kmq_compat.h"

static LIST_HEAD(kmq_stores);
static DEFINE_MUTEX(kmq_stores_mutex);	/* kmq_stores, attach, detach */
static DEFINE_IDA(kmq_store_ida);

u64 kmq_now_ms(void)
{
	return ktime_to_ms(ktime_get_real());
}

u64 kmq_mono_ms(void)
{
	return ktime_to_ms(ktime_get());
}

void kmq_store_get(struct kmq_kstore *s)
{
	kref_get(&s->ref);
}

static void kmq_store_bufs_free(struct kmq_kstore *s)
{
	kvfree(s->wbuf);
	s->wbuf = NULL;
	kvfree(s->stage);
	s->stage = NULL;
	kvfree(s->prep);
	s->prep = NULL;
}

static void kmq_store_release(struct kref *ref)
{
	struct kmq_kstore *s = container_of(ref, struct kmq_kstore, ref);

	kmq_store_bufs_free(s);
	kvfree(s->segs);
	if (s->root.dentry)
		path_put(&s->root);
	if (s->cred)
		put_cred(s->cred);
	if (s->id)
		ida_free(&kmq_store_ida, s->id);
	kfree(s->path_str);
	kfree(s);
}

void kmq_store_put(struct kmq_kstore *s)
{
	kref_put(&s->ref, kmq_store_release);
}

/**
 * kmq_store_enter() - begin an operation on @s: DETACH waits for it.
 * @s: store
 *
 * Return: 0, or -ENXIO once the store is detached.
 */
int kmq_store_enter(struct kmq_kstore *s)
{
	down_read(&s->op_rwsem);
	if (s->dead) {
		up_read(&s->op_rwsem);
		return -ENXIO;
	}
	return 0;
}

void kmq_store_leave(struct kmq_kstore *s)
{
	up_read(&s->op_rwsem);
}

static struct kmq_kstore *kmq_store_find(const char *name)
{
	struct kmq_kstore *s;

	list_for_each_entry(s, &kmq_stores, node)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

/* The geometry ATTACH asks for, defaults applied. */
static int kmq_geom_from(const struct kmq_attach *a, struct kmq_geom *g)
{
	const struct kmq_uhost *h = &a->store_host;

	memset(g, 0, sizeof(*g));
	g->segment_size = a->segment_size;
	g->ring_segments = a->ring_segments;
	g->retention_ms = a->retention_ms;
	g->max_message_size = a->max_message_size ?: 4U << 20;
	g->cq_file_entries = a->cq_file_entries ?: KMQ_CQ_FILE_ENTRIES;
	g->flush_timeout_ms = a->flush_timeout_ms ?: 5000;
	g->async_interval_ms = a->async_interval_ms ?: 500;
	g->flush_mode = a->flush_mode;
	if (g->segment_size < KMQ_SEG_SIZE_MIN ||
	    g->segment_size > KMQ_SEG_SIZE_MAX ||
	    g->segment_size % PAGE_SIZE ||
	    g->ring_segments < 2 || g->ring_segments > KMQ_RING_MAX ||
	    g->max_message_size > KMQ_MAX_MESSAGE_MAX ||
	    g->cq_file_entries > KMQ_CQ_ENTRIES_MAX ||
	    (g->flush_mode != KMQ_FLUSH_MODE_ASYNC &&
	     g->flush_mode != KMQ_FLUSH_MODE_SYNC))
		return -EINVAL;
	if (h->__rsvd[0] || h->__rsvd[1] || h->__rsvd[2])
		return -EINVAL;
	if (h->family == 6) {
		memcpy(g->store_host.addr, h->addr, 16);
		g->store_host.v6 = true;
	} else if (h->family == 4) {
		memcpy(g->store_host.addr, h->addr, 4);
	} else {
		return -EINVAL;
	}
	g->store_host.port = h->port;
	return 0;
}

static struct kmq_kstore *kmq_store_alloc(const struct kmq_attach *a,
					  const struct kmq_geom *g)
{
	struct kmq_kstore *s = kzalloc(sizeof(*s), GFP_KERNEL);
	u32 max_rec;

	if (!s)
		return NULL;
	kref_init(&s->ref);
	INIT_LIST_HEAD(&s->node);
	memcpy(s->name, a->name, sizeof(s->name));
	s->g = *g;
	init_rwsem(&s->op_rwsem);
	mutex_init(&s->append_mutex);
	mutex_init(&s->alloc_mutex);
	mutex_init(&s->sync_mutex);
	mutex_init(&s->lock);
	init_waitqueue_head(&s->spare_wq);
	init_waitqueue_head(&s->flush_wq);
	init_waitqueue_head(&s->poll_wq);
	s->topics = RB_ROOT;
	INIT_DELAYED_WORK(&s->tick_work, kmq_tick_work);
	INIT_WORK(&s->alloc_work, kmq_alloc_work);
	INIT_DELAYED_WORK(&s->evt_work, kmq_evt_work);
	INIT_LIST_HEAD(&s->evt_queues);
	atomic64_set(&s->appends, 0);
	atomic64_set(&s->append_bytes, 0);
	atomic64_set(&s->reads, 0);
	atomic64_set(&s->read_bytes, 0);
	atomic64_set(&s->splice_bytes, 0);
	atomic64_set(&s->copy_bytes, 0);
	atomic64_set(&s->pulls, 0);
	atomic64_set(&s->pull_sends, 0);
	atomic64_set(&s->errors, 0);
	s->cred = get_current_cred();

	/* Bounded per store: one largest record, one batch's bookkeeping. */
	max_rec = kmq_record_size(KMQ_MAGIC_V1, KMQ_SYSFLAG_BORNHOST_V6 |
				  KMQ_SYSFLAG_STOREHOST_V6,
				  g->max_message_size, KMQ_TOPIC_MAX_V1,
				  KMQ_PROPS_MAX);
	s->wbuf_cap = max_t(u32, max_rec, KMQ_WBUF_MIN);
	s->stage_cap = g->max_message_size + KMQ_PROPS_MAX;
	s->wbuf = kvmalloc(s->wbuf_cap, GFP_KERNEL);
	s->stage = kvmalloc(s->stage_cap, GFP_KERNEL);
	s->prep = kvmalloc_array(KMQ_BATCH_MAX, sizeof(*s->prep), GFP_KERNEL);
	s->segs = kvcalloc(g->ring_segments, sizeof(*s->segs), GFP_KERNEL);
	if (!max_rec || !s->wbuf || !s->stage || !s->prep || !s->segs) {
		kmq_store_put(s);
		return NULL;
	}
	return s;
}

/* Resolve (creating it if asked) the directory ATTACH names. */
static int kmq_store_dir(const struct kmq_attach *a, struct path *out)
{
	const char __user *upath = u64_to_user_ptr(a->path);
	unsigned int lf = LOOKUP_FOLLOW | LOOKUP_DIRECTORY;
	struct path parent;
	struct dentry *d;
	struct file *f;
	char *name;
	int ret;

	if (!a->path) {
		if (a->dirfd < 0)
			return -EBADF;
		f = fget(a->dirfd);
		if (!f)
			return -EBADF;
		ret = S_ISDIR(file_inode(f)->i_mode) ? 0 : -ENOTDIR;
		if (!ret) {
			*out = f->f_path;
			path_get(out);
		}
		fput(f);
		return ret;
	}
	ret = user_path_at(a->dirfd, upath, lf, out);
	if (ret != -ENOENT || !(a->flags & KMQ_ATTACH_CREATE))
		return ret;

	name = strndup_user(upath, PATH_MAX);
	if (IS_ERR(name))
		return PTR_ERR(name);
	d = kern_path_create(a->dirfd, name, &parent, LOOKUP_DIRECTORY);
	kfree(name);
	if (IS_ERR(d))
		return PTR_ERR(d);
	ret = kmq_vfs_mkdir_at(parent.mnt, d_inode(parent.dentry), d,
			       KMQ_DIR_MODE);
	done_path_create(&parent, d);
	if (ret && ret != -EEXIST)
		return ret;
	return user_path_at(a->dirfd, upath, lf, out);
}

static int kmq_count_entry(void *arg, const char *name, u32 len,
			   unsigned int type)
{
	(*(u32 *)arg)++;
	return 0;
}

/*
 * Is the directory a store? It has commitlog/, or it is empty and may
 * become one (KMQ_ATTACH_CREATE).
 */
static int kmq_store_check_dir(struct kmq_kstore *s, bool create)
{
	struct file *f;
	u32 n = 0;
	int ret;

	f = kmq_vfs_open(s, "commitlog", O_RDONLY | O_DIRECTORY, 0);
	if (!IS_ERR(f)) {
		fput(f);
		return 0;
	}
	if (PTR_ERR(f) != -ENOENT)
		return PTR_ERR(f) == -ENOTDIR ? -ENOENT : PTR_ERR(f);
	ret = kmq_vfs_readdir(s, ".", kmq_count_entry, &n);
	if (ret)
		return ret;
	if (n)
		return create ? -ENOTEMPTY : -ENOENT;
	return create ? 0 : -ENOENT;
}

static void kmq_trim_one(struct kmq_kstore *s, struct kmq_ktopic *t,
			 struct kmq_kqueue *q, void *arg)
{
	kmq_cq_trim(s, t, q, *(u64 *)arg);
}

/* Open and recover @s (not registered yet: nothing else sees it). */
static int kmq_store_open(struct kmq_kstore *s, bool create)
{
	static const char * const dirs[] = {
		"commitlog", "consumequeue", "config",
	};
	struct file *f;
	bool crashed;
	u64 min;
	int ret;
	u32 i;

	ret = kmq_store_check_dir(s, create);
	for (i = 0; !ret && i < ARRAY_SIZE(dirs); i++)
		ret = kmq_vfs_mkdirs(s, dirs[i]);
	if (ret)
		return ret;
	/* The userspace store's lock: it and the module exclude each other. */
	s->lock_file = kmq_vfs_open(s, "lock", O_RDWR | O_CREAT,
				    KMQ_FILE_MODE);
	if (IS_ERR(s->lock_file)) {
		ret = PTR_ERR(s->lock_file);
		s->lock_file = NULL;
		return ret;
	}
	ret = kmq_vfs_flock(s->lock_file);
	if (ret)
		return ret;

	f = kmq_vfs_open(s, "abort", O_RDONLY, 0);
	crashed = !IS_ERR(f);
	if (crashed)
		fput(f);
	f = kmq_vfs_open(s, "abort", O_WRONLY | O_CREAT, KMQ_FILE_MODE);
	if (IS_ERR(f))
		return PTR_ERR(f);
	fput(f);
	ret = kmq_vfs_fsync_dir(s, ".");
	if (ret)
		return ret;
	s->ckpt_file = kmq_vfs_open(s, "checkpoint", O_RDWR | O_CREAT,
				    KMQ_FILE_MODE);
	if (IS_ERR(s->ckpt_file)) {
		ret = PTR_ERR(s->ckpt_file);
		s->ckpt_file = NULL;
		return ret;
	}

	ret = kmq_topics_load(s);
	if (!ret)
		ret = kmq_ring_load(s);
	if (!ret)
		ret = kmq_recover(s, crashed);
	if (ret)
		return ret;
	min = s->segs[0]->start;
	kmq_queues_walk(s, kmq_trim_one, &min);
	s->last_full_ms = kmq_mono_ms();
	s->last_ckpt_ms = s->last_full_ms;
	return 0;
}

/* Undo a failed kmq_store_open(). */
static void kmq_store_close_files(struct kmq_kstore *s)
{
	kmq_topics_free(s);
	mutex_lock(&s->lock);
	kmq_ring_free(s);
	mutex_unlock(&s->lock);
	if (s->ckpt_file)
		fput(s->ckpt_file);
	s->ckpt_file = NULL;
	if (s->lock_file)
		fput(s->lock_file);
	s->lock_file = NULL;
}

static bool kmq_store_same_dir(const struct kmq_kstore *a,
			       const struct path *p)
{
	return d_inode(a->root.dentry) == d_inode(p->dentry);
}

static void kmq_store_out(struct kmq_kstore *s, struct kmq_attach *a)
{
	mutex_lock(&s->lock);
	a->store_id = s->id;
	a->write_offset = s->wpos;
	a->min_offset = s->nsegs ? s->segs[0]->start : 0;
	mutex_unlock(&s->lock);
}

static int kmq_store_bind_existing(struct kmq_fctx *fc, struct kmq_attach *a)
{
	struct kmq_kstore *s;
	int ret;

	if (a->flags & KMQ_ATTACH_CREATE)
		return -EINVAL;
	mutex_lock(&kmq_stores_mutex);
	s = kmq_store_find(a->name);
	if (s)
		kmq_store_get(s);
	mutex_unlock(&kmq_stores_mutex);
	if (!s)
		return -ENOENT;
	ret = kmq_fctx_bind(fc, s);
	if (!ret)
		kmq_store_out(s, a);
	kmq_store_put(s);
	return ret;
}

static char *kmq_store_path_str(const struct path *p)
{
	char *buf = kmalloc(PATH_MAX, GFP_KERNEL), *str, *ret = NULL;

	if (!buf)
		return NULL;
	str = d_path(p, buf, PATH_MAX);
	if (!IS_ERR(str))
		ret = kstrdup(str, GFP_KERNEL);
	kfree(buf);
	return ret;
}

/**
 * kmq_store_attach() - KMQ_IOC_ATTACH.
 * @fc: the calling fd, bound to the store on success
 * @a: the request; store_id, write_offset and min_offset are filled
 *
 * Return: 0, -EPERM, -EINVAL (flags, reserved fields, geometry, a name),
 * -EEXIST (name or directory attached), -ENOENT (not a store), -EUCLEAN
 * (store damaged beyond a torn tail), -EBUSY (fd bound already, or the
 * store's lock file is held: the userspace store has it open) or the
 * file system's error.
 */
int kmq_store_attach(struct kmq_fctx *fc, struct kmq_attach *a)
{
	struct kmq_kstore *s, *o;
	struct kmq_geom g;
	int ret, id;

	if (a->flags & ~KMQ_ATTACH_FLAGS || a->__rsvd0 || a->__rsvd1 ||
	    kmq_store_name_len(a->name, sizeof(a->name)) < 0)
		return -EINVAL;
	if (kmq_fctx_bound(fc))
		return -EBUSY;
	/*
	 * Binding to an attached store needs only the device (mode 0660,
	 * group kmq): kmqd runs unprivileged. Attaching a directory needs
	 * CAP_SYS_ADMIN.
	 */
	if (a->flags & KMQ_ATTACH_EXISTING)
		return kmq_store_bind_existing(fc, a);
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kmq_geom_from(a, &g);
	if (ret)
		return ret;
	s = kmq_store_alloc(a, &g);
	if (!s)
		return -ENOMEM;
	ret = kmq_store_dir(a, &s->root);
	if (ret) {
		s->root.dentry = NULL;
		goto out_put;
	}
	s->path_str = kmq_store_path_str(&s->root);

	mutex_lock(&kmq_stores_mutex);
	list_for_each_entry(o, &kmq_stores, node) {
		if (!strcmp(o->name, s->name) ||
		    kmq_store_same_dir(o, &s->root)) {
			ret = -EEXIST;
			goto out_unlock;
		}
	}
	id = ida_alloc_min(&kmq_store_ida, 1, GFP_KERNEL);
	if (id < 0) {
		ret = id;
		goto out_unlock;
	}
	s->id = id;
	ret = kmq_store_open(s, a->flags & KMQ_ATTACH_CREATE);
	if (ret) {
		kmq_store_close_files(s);
		goto out_unlock;
	}
	ret = kmq_sysfs_add(s);
	if (ret) {
		kmq_store_close_files(s);
		goto out_unlock;
	}
	__module_get(THIS_MODULE);
	kmq_store_get(s);		/* the registry's */
	list_add_tail(&s->node, &kmq_stores);
	queue_work(kmq_wq, &s->alloc_work);
	queue_delayed_work(kmq_wq, &s->tick_work,
			   msecs_to_jiffies(KMQ_CKPT_INTERVAL_MS));
	mutex_unlock(&kmq_stores_mutex);
	pr_info("%s: attached %s (id %u): commitlog %llu to %llu\n", s->name,
		s->path_str ?: "?", s->id, s->segs[0]->start, s->wpos);

	kmq_store_out(s, a);
	/* Attached even if another thread bound this fd meanwhile. */
	kmq_fctx_bind(fc, s);
	kmq_store_put(s);
	return 0;

out_unlock:
	mutex_unlock(&kmq_stores_mutex);
out_put:
	kmq_store_put(s);
	return ret;
}

/**
 * kmq_store_detach() - KMQ_IOC_DETACH: wake waiters (they fail with
 * -ENXIO), wait for running operations, flush, write the checkpoint,
 * remove the abort file and close the store's files.
 * @name: the store's name
 *
 * Return: 0, -ENOENT, or the error of the final flush (the store is
 * detached anyway; the abort file stays and recovery runs next time).
 */
int kmq_store_detach(const char *name)
{
	struct kmq_kstore *s;
	int ret;

	mutex_lock(&kmq_stores_mutex);
	s = kmq_store_find(name);
	if (s)
		list_del_init(&s->node);
	mutex_unlock(&kmq_stores_mutex);
	if (!s)
		return -ENOENT;

	kmq_sysfs_del(s);
	WRITE_ONCE(s->detaching, true);
	wake_up_all(&s->flush_wq);
	wake_up_all(&s->spare_wq);
	wake_up_interruptible_poll(&s->poll_wq, EPOLLERR);
	down_write(&s->op_rwsem);
	cancel_delayed_work_sync(&s->tick_work);
	cancel_work_sync(&s->alloc_work);
	cancel_delayed_work_sync(&s->evt_work);

	ret = kmq_flush_all(s);
	if (!ret)
		ret = kmq_checkpoint_write(s);
	if (!ret && READ_ONCE(s->flushed) == s->wpos) {
		kmq_vfs_unlink(s, "abort");
		kmq_vfs_fsync_dir(s, ".");
	}
	mutex_lock(&s->lock);
	s->dead = true;
	mutex_unlock(&s->lock);
	kmq_store_close_files(s);
	kmq_store_bufs_free(s);
	up_write(&s->op_rwsem);
	wake_up_interruptible_poll(&s->poll_wq, EPOLLERR);
	kmq_evt_detached(s);
	pr_info("%s: detached%s\n", s->name, ret ? " (flush failed)" : "");
	kmq_store_put(s);
	module_put(THIS_MODULE);
	return ret;
}

/**
 * kmq_store_fill_info() - KMQ_IOC_STORE_INFO's outputs.
 * @s: store
 * @si: filled
 */
void kmq_store_fill_info(struct kmq_kstore *s, struct kmq_store_info *si)
{
	si->store_id = s->id;
	si->flush_mode = s->g.flush_mode;
	memcpy(si->name, s->name, sizeof(si->name));
	si->segment_size = s->g.segment_size;
	si->ring_segments = s->g.ring_segments;
	si->retention_ms = s->g.retention_ms;
	mutex_lock(&s->lock);
	si->segments = kmq_ring_files(s);
	si->min_offset = s->nsegs ? s->segs[0]->start : 0;
	si->write_offset = s->wpos;
	si->topics = s->ntopics;
	mutex_unlock(&s->lock);
	si->flushed_offset = READ_ONCE(s->flushed);
	si->appends = atomic64_read(&s->appends);
	si->append_bytes = atomic64_read(&s->append_bytes);
	si->reads = atomic64_read(&s->reads);
	si->read_bytes = atomic64_read(&s->read_bytes);
	si->splice_bytes = atomic64_read(&s->splice_bytes);
	si->copy_bytes = atomic64_read(&s->copy_bytes);
	si->errors = atomic64_read(&s->errors);
	si->pulls = atomic64_read(&s->pulls);
	si->pull_sends = atomic64_read(&s->pull_sends);
}

/**
 * kmq_store_lookup() - an attached store by id (non-zero) or else name.
 * @id: store id, 0 to look up by @name
 * @name: store name (when @id is 0)
 *
 * Return: the store with a reference (kmq_store_put() it), or NULL.
 */
struct kmq_kstore *kmq_store_lookup(u32 id, const char *name)
{
	struct kmq_kstore *s, *found = NULL;

	mutex_lock(&kmq_stores_mutex);
	list_for_each_entry(s, &kmq_stores, node) {
		if (id ? s->id == id : !strcmp(s->name, name)) {
			found = s;
			kmq_store_get(s);
			break;
		}
	}
	mutex_unlock(&kmq_stores_mutex);
	return found;
}

/**
 * kmq_store_nth() - the @n-th attached store, in attach order (dumps).
 * @n: index from 0
 *
 * Return: the store with a reference, or NULL past the last.
 */
struct kmq_kstore *kmq_store_nth(u32 n)
{
	struct kmq_kstore *s, *found = NULL;

	mutex_lock(&kmq_stores_mutex);
	list_for_each_entry(s, &kmq_stores, node) {
		if (!n--) {
			found = s;
			kmq_store_get(s);
			break;
		}
	}
	mutex_unlock(&kmq_stores_mutex);
	return found;
}

/**
 * kmq_stores_walk() - call @fn for each attached store, in attach order,
 * with the registry locked (/proc/kmq).
 * @fn: called per store
 * @m: for @fn
 */
void kmq_stores_walk(void (*fn)(struct seq_file *m, struct kmq_kstore *s),
		     struct seq_file *m)
{
	struct kmq_kstore *s;

	mutex_lock(&kmq_stores_mutex);
	list_for_each_entry(s, &kmq_stores, node)
		fn(m, s);
	mutex_unlock(&kmq_stores_mutex);
}

/**
 * kmq_stores_exit() - module exit: every store is detached by then (each
 * holds a module reference).
 */
void kmq_stores_exit(void)
{
	WARN_ON(!list_empty(&kmq_stores));
	ida_destroy(&kmq_store_ida);
}
