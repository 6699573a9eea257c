/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_fs.h - small filesystem helpers of the store (kmq_fs.c), also used
 * by kmqd for its own files under config/.
 */
#ifndef KMQ_FS_H
#define KMQ_FS_H

#include <stddef.h>
#include <sys/types.h>

int kmq_mkdirs(const char *path, mode_t mode);
/* Replace @name in @dirfd: temporary file, fdatasync, rename, fsync dir. */
int kmq_write_file_atomic(int dirfd, const char *name, const void *buf,
			  size_t len);
int kmq_rmtree(const char *path);
int kmq_fsync_dir(const char *path);

#endif /* KMQ_FS_H */
