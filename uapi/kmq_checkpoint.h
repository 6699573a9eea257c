/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_checkpoint.h - the store's "checkpoint" file.
 *
 * One 4096-byte block, rewritten in place after the commitlog and every
 * consume queue are durable up to @flushed:
 *
 *    0  be32  KMQ_CKPT_MAGIC
 *    4  be32  KMQ_CKPT_VERSION
 *    8  be64  flushed: commitlog offset (a record boundary) below which the
 *             commitlog and all consume-queue entries are on disk
 *   16  be64  min_offset: lowest commitlog offset still readable
 *   24  be64  store_ts: STORETIMESTAMP of the last record below @flushed
 *   32  be64  reserved, 0
 *   40  be32  crc32 of bytes 0..39
 *
 * A checkpoint whose magic, version or CRC is wrong is ignored and
 * recovery scans the whole ring.
 */
#ifndef _UAPI_KMQ_CHECKPOINT_H
#define _UAPI_KMQ_CHECKPOINT_H

#include "kmq_types.h"

#define KMQ_CKPT_MAGIC		0x4b4d5143u	/* "KMQC" */
#define KMQ_CKPT_VERSION	1
#define KMQ_CKPT_FILE_SIZE	4096
#define KMQ_CKPT_ENCODED_SIZE	44

struct kmq_checkpoint {
	__u64 flushed;
	__u64 min_offset;
	__u64 store_ts;
};

/** kmq_checkpoint_encode() - write KMQ_CKPT_ENCODED_SIZE bytes to @buf. */
void kmq_checkpoint_encode(void *buf, const struct kmq_checkpoint *c);

/**
 * kmq_checkpoint_decode() - parse @len bytes.
 * Return: 0, -KMQ_FMT_ESHORT, -KMQ_FMT_EMAGIC or -KMQ_FMT_ECRC.
 */
int kmq_checkpoint_decode(const void *buf, __u32 len,
			  struct kmq_checkpoint *c);

#endif /* _UAPI_KMQ_CHECKPOINT_H */
