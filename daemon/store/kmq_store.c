// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_store.c - opening and closing the userspace store: configuration,
 * the directory and its lock, the abort marker, recovery, the store's
 * threads; also flush and statistics.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmq_store_int.h"

void kmq_store_config_init(struct kmq_store_config *cfg, const char *root)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->root = root;
	cfg->segment_size = 1ull << 30;
	cfg->ring_segments = 0;
	cfg->retention_ms = 72ull * 3600 * 1000;
	cfg->flush_mode = KMQ_FLUSH_ASYNC;
	cfg->flush_timeout_ms = 5000;
	cfg->async_interval_ms = 500;
	cfg->async_min_pages = 4;
	cfg->async_full_interval_ms = 10000;
	cfg->max_message_size = 4 << 20;
	cfg->cq_file_entries = KMQ_CQ_FILE_ENTRIES;
	cfg->store_host.addr[0] = 127;
	cfg->store_host.addr[3] = 1;
	cfg->store_host.port = 10911;
	cfg->flags = KMQ_STORE_CREATE;
}

static int kmq_config_check(const struct kmq_store_config *c)
{
	if (!c->root || !c->root[0])
		return kmq_err(-EINVAL, "storePathRootDir is empty");
	if (c->segment_size < 64 * 1024 || c->segment_size % KMQ_PAGE_SIZE)
		return kmq_err(-EINVAL,
			       "segment size %llu: must be a multiple of 4096, at least 64 KiB",
			       (unsigned long long)c->segment_size);
	if (c->ring_segments == 1)
		return kmq_err(-EINVAL,
			       "ring of 1 segment: needs the current and the next");
	if (c->prealloc_segments > KMQ_PREALLOC_MAX)
		return kmq_err(-EINVAL, "more than %d segments prepared ahead",
			       KMQ_PREALLOC_MAX);
	if (c->flush_mode != KMQ_FLUSH_ASYNC && c->flush_mode != KMQ_FLUSH_SYNC)
		return kmq_err(-EINVAL, "unknown flush mode %d", c->flush_mode);
	if (!c->cq_file_entries || !c->async_interval_ms || !c->flush_timeout_ms)
		return kmq_err(-EINVAL, "zero consume-queue file size or interval");
	if (!c->max_message_size)
		return kmq_err(-EINVAL, "maxMessageSize is 0");
	return 0;
}

/*
 * Decide whether @root is a store: it has commitlog/, or it is empty and
 * may become one. Anything else is refused rather than written into.
 */
static int kmq_check_root(const struct kmq_store_config *c)
{
	struct dirent *de;
	struct stat st;
	bool empty = true;
	char path[4096];
	DIR *d;

	if (stat(c->root, &st)) {
		if (errno != ENOENT || !(c->flags & KMQ_STORE_CREATE))
			return kmq_err(-errno, "store %s: %s", c->root,
				       strerror(errno));
		return kmq_mkdirs(c->root, 0755);
	}
	if (!S_ISDIR(st.st_mode))
		return kmq_err(-KMQ_ENOTSTORE, "store %s is not a directory",
			       c->root);
	snprintf(path, sizeof(path), "%s/commitlog", c->root);
	if (!stat(path, &st))
		return S_ISDIR(st.st_mode) ? 0 :
		       kmq_err(-KMQ_ENOTSTORE, "%s is not a directory", path);
	d = opendir(c->root);
	if (!d)
		return kmq_err(-errno, "store %s: %s", c->root, strerror(errno));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty)
		return kmq_err(-KMQ_ENOTSTORE,
			       "%s has files but no commitlog/: not a store",
			       c->root);
	if (!(c->flags & KMQ_STORE_CREATE))
		return kmq_err(-KMQ_ENOTSTORE, "%s is empty", c->root);
	return 0;
}

static int kmq_store_dirs(struct kmq_store *s)
{
	static const char * const dirs[] = {
		"commitlog", "consumequeue", "config",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdirat(s->root_fd, dirs[i], 0755) && errno != EEXIST)
			return kmq_err(-errno, "mkdir %s/%s: %s", s->root,
				       dirs[i], strerror(errno));
	return 0;
}

static void kmq_trim_one(struct kmq_store *s, struct kmq_queue *q, void *arg)
{
	kmq_cq_trim(s, q, *(uint64_t *)arg);
}

static void kmq_store_free(struct kmq_store *s)
{
	struct kmq_cqfile *f;

	while ((f = s->dirty_cq)) {
		s->dirty_cq = f->dirty_next;
		kmq_cqfile_put(f);
	}
	kmq_topics_free(s);
	kmq_ring_free(s);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->root_fd >= 0)
		close(s->root_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->flushed_cv);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->join_cv);
	free(s->root);
	free(s);
}

static int kmq_store_start(struct kmq_store *s)
{
	int err;

	err = pthread_create(&s->flusher, NULL, kmq_flusher_main, s);
	if (err)
		return -err;
	err = pthread_create(&s->allocator, NULL, kmq_allocator_main, s);
	if (err) {
		pthread_mutex_lock(&s->lock);
		s->closing = true;
		pthread_cond_broadcast(&s->work_cv);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->flusher, NULL);
		return -err;
	}
	s->threads_started = true;
	return 0;
}

int kmq_store_open(const struct kmq_store_config *cfg, struct kmq_store **out)
{
	struct kmq_store *s;
	bool crashed;
	uint64_t min;
	int err, fd;

	*out = NULL;
	err = kmq_config_check(cfg);
	if (!err)
		err = kmq_check_root(cfg);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->root = strdup(cfg->root);
	s->cfg.root = s->root;
	s->lock_fd = -1;
	s->prealloc = cfg->prealloc_segments;
	if (!s->prealloc)
		s->prealloc = cfg->ring_segments ? cfg->ring_segments - 1 : 1;
	if (s->prealloc > KMQ_PREALLOC_MAX)
		s->prealloc = KMQ_PREALLOC_MAX;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->flushed_cv, NULL);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->join_cv, NULL);
	s->async_tail = &s->async_head;
	s->root_fd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!s->root || s->root_fd < 0) {
		err = kmq_err(-errno, "open %s: %s", cfg->root, strerror(errno));
		goto fail;
	}
	s->lock_fd = openat(s->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC,
			    0644);
	if (s->lock_fd < 0) {
		err = kmq_err(-errno, "%s/lock: %s", s->root, strerror(errno));
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ?
		      kmq_err(-KMQ_EBUSY, "store %s is open in another process",
			      s->root) :
		      kmq_err(-errno, "lock %s: %s", s->root, strerror(errno));
		goto fail;
	}
	err = kmq_store_dirs(s);
	if (err)
		goto fail;
	crashed = !faccessat(s->root_fd, "abort", F_OK, 0);
	fd = openat(s->root_fd, "abort", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fsync(s->root_fd)) {
		err = kmq_err(-errno, "%s/abort: %s", s->root, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);

	err = kmq_topics_load(s);
	if (!err)
		err = kmq_ring_load(s);
	if (!err)
		err = kmq_recover(s, crashed);
	if (err)
		goto fail;
	min = s->segs[0]->start;
	kmq_queues_walk(s, kmq_trim_one, &min);
	err = kmq_store_start(s);
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	kmq_store_free(s);
	return err;
}

void kmq_store_close(struct kmq_store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	pthread_cond_broadcast(&s->work_cv);
	pthread_cond_broadcast(&s->flushed_cv);
	pthread_mutex_unlock(&s->lock);
	if (s->threads_started) {
		pthread_join(s->flusher, NULL);
		pthread_join(s->allocator, NULL);
	}
	pthread_mutex_lock(&s->lock);
	kmq_flush_to(s, s->wpos);
	kmq_async_complete(s, true);
	pthread_mutex_unlock(&s->lock);
	/* A clean close: the checkpoint is the end, abort goes. */
	if (s->flushed == s->wpos && !kmq_checkpoint_write(s)) {
		unlinkat(s->root_fd, "abort", 0);
		fsync(s->root_fd);
	}
	kmq_store_free(s);
}

int kmq_store_flush(struct kmq_store *s)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = kmq_flush_to(s, s->wpos);
	pthread_mutex_unlock(&s->lock);
	if (!ret)
		ret = kmq_checkpoint_write(s);
	return ret;
}

void kmq_store_stats(struct kmq_store *s, struct kmq_store_stats *st)
{
	pthread_mutex_lock(&s->lock);
	st->min_offset = s->nsegs ? s->segs[0]->start : 0;
	st->write_offset = s->wpos;
	st->flushed_offset = s->flushed;
	st->segments = s->nsegs + s->nspares;
	st->prepared = s->nspares;
	st->appends = s->appends;
	st->syncs = s->syncs;
	pthread_mutex_unlock(&s->lock);
}
