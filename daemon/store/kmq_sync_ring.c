// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_sync_ring.c - the store's syncs as io_uring operations.
 *
 * Each thread that syncs (the flusher, a SYNC_FLUSH appender leading a
 * group commit, close) gets a small io_uring of its own on first use. A
 * sync of commitlog bytes [from, to) is one IORING_OP_FSYNC with
 * IORING_FSYNC_DATASYNC over exactly that range: the kernel's
 * vfs_fsync_range(), the same as msync(MS_SYNC) on the mapping, so the
 * pre-faulted pages ahead of the writer are not written with it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <liburing.h>

#include "kmq_store_int.h"

#define KMQ_SYNC_RING_ENTRIES	4

static pthread_key_t kmq_ring_key;
static pthread_once_t kmq_ring_once = PTHREAD_ONCE_INIT;

static void kmq_ring_free_thread(void *p)
{
	io_uring_queue_exit(p);
	free(p);
}

static void kmq_ring_key_init(void)
{
	pthread_key_create(&kmq_ring_key, kmq_ring_free_thread);
}

static struct io_uring *kmq_thread_ring(void)
{
	struct io_uring *r;

	pthread_once(&kmq_ring_once, kmq_ring_key_init);
	r = pthread_getspecific(kmq_ring_key);
	if (r)
		return r;
	r = malloc(sizeof(*r));
	if (!r)
		return NULL;
	if (io_uring_queue_init(KMQ_SYNC_RING_ENTRIES, r, 0)) {
		free(r);
		return NULL;
	}
	pthread_setspecific(kmq_ring_key, r);
	return r;
}

/*
 * kmq_sync_range() - make [@off, @off + @len) of @fd durable; @map is the
 * file's shared mapping (for msync when no io_uring can be had).
 * Return: 0 or -errno.
 */
int kmq_sync_range(int fd, uint8_t *map, uint64_t off, uint64_t len)
{
	struct io_uring *r = kmq_thread_ring();
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe = r ? io_uring_get_sqe(r) : NULL;
	int ret;

	if (!sqe)
		return msync(map + off, len, MS_SYNC) ? -errno : 0;
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	sqe->off = off;
	sqe->len = len;
	ret = io_uring_submit_and_wait(r, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(r, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(r, cqe);
	return ret < 0 ? ret : 0;
}
