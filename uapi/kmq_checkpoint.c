// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmq_checkpoint.c - the store's checkpoint block (kmq_checkpoint.h):
 * how far the commitlog and consume queues are known to be on disk.
 *
 * Shared verbatim by kmq.ko and userspace.
 */
#include "kmq_types.h"
#include "kmq_endian.h"
#include "kmq_record.h"
#include "kmq_checkpoint.h"

#define KMQ_CKPT_OFF_MAGIC	0
#define KMQ_CKPT_OFF_VERSION	4
#define KMQ_CKPT_OFF_FLUSHED	8
#define KMQ_CKPT_OFF_MIN	16
#define KMQ_CKPT_OFF_STORETS	24
#define KMQ_CKPT_OFF_RESERVED	32
#define KMQ_CKPT_OFF_CRC	40

/**
 * kmq_checkpoint_encode() - write KMQ_CKPT_ENCODED_SIZE bytes to @buf.
 * @buf: destination, any alignment
 * @c: the checkpoint
 *
 * The reserved field is written as 0; the CRC is kmq_crc32(0, ...) of
 * bytes 0..39.
 */
void kmq_checkpoint_encode(void *buf, const struct kmq_checkpoint *c)
{
	__u8 *b = buf;

	kmq_put_be32(b + KMQ_CKPT_OFF_MAGIC, KMQ_CKPT_MAGIC);
	kmq_put_be32(b + KMQ_CKPT_OFF_VERSION, KMQ_CKPT_VERSION);
	kmq_put_be64(b + KMQ_CKPT_OFF_FLUSHED, c->flushed);
	kmq_put_be64(b + KMQ_CKPT_OFF_MIN, c->min_offset);
	kmq_put_be64(b + KMQ_CKPT_OFF_STORETS, c->store_ts);
	kmq_put_be64(b + KMQ_CKPT_OFF_RESERVED, 0);
	kmq_put_be32(b + KMQ_CKPT_OFF_CRC,
		     kmq_crc32(0, b, KMQ_CKPT_OFF_CRC));
}

/**
 * kmq_checkpoint_decode() - parse @len bytes.
 * @buf: the checkpoint block
 * @len: readable bytes at @buf, at least KMQ_CKPT_ENCODED_SIZE
 * @c: the result, written only on success
 *
 * The reserved field is covered by the CRC but its value is not checked.
 *
 * Return: 0, -KMQ_FMT_ESHORT, -KMQ_FMT_EMAGIC (wrong magic or version) or
 * -KMQ_FMT_ECRC.
 */
int kmq_checkpoint_decode(const void *buf, __u32 len,
			  struct kmq_checkpoint *c)
{
	const __u8 *b = buf;

	if (len < KMQ_CKPT_ENCODED_SIZE)
		return -KMQ_FMT_ESHORT;
	if (kmq_get_be32(b + KMQ_CKPT_OFF_MAGIC) != KMQ_CKPT_MAGIC ||
	    kmq_get_be32(b + KMQ_CKPT_OFF_VERSION) != KMQ_CKPT_VERSION)
		return -KMQ_FMT_EMAGIC;
	if (kmq_get_be32(b + KMQ_CKPT_OFF_CRC) !=
	    kmq_crc32(0, b, KMQ_CKPT_OFF_CRC))
		return -KMQ_FMT_ECRC;

	c->flushed = kmq_get_be64(b + KMQ_CKPT_OFF_FLUSHED);
	c->min_offset = kmq_get_be64(b + KMQ_CKPT_OFF_MIN);
	c->store_ts = kmq_get_be64(b + KMQ_CKPT_OFF_STORETS);
	return 0;
}
