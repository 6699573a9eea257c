// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmq_cq.c - consume-queue entries (kmq_cq.h): 20 big-endian bytes that
 * say where a queue's n-th message lives in the commitlog.
 *
 * Shared verbatim by kmq.ko and userspace.
 */
#include "kmq_types.h"
#include "kmq_endian.h"
#include "kmq_record.h"
#include "kmq_cq.h"

#define KMQ_CQ_OFF_PHYS		0
#define KMQ_CQ_OFF_SIZE		8
#define KMQ_CQ_OFF_TAGS		12

/**
 * kmq_cq_entry_encode() - write @e as KMQ_CQ_ENTRY_SIZE bytes.
 * @buf: destination, KMQ_CQ_ENTRY_SIZE bytes, any alignment
 * @e: the entry
 */
void kmq_cq_entry_encode(void *buf, const struct kmq_cq_entry *e)
{
	__u8 *b = buf;

	kmq_put_be64(b + KMQ_CQ_OFF_PHYS, e->phys_offset);
	kmq_put_be32(b + KMQ_CQ_OFF_SIZE, e->size);
	kmq_put_be64(b + KMQ_CQ_OFF_TAGS, (__u64)e->tags_code);
}

/**
 * kmq_cq_entry_decode() - read KMQ_CQ_ENTRY_SIZE bytes into @e.
 * @buf: the entry, any alignment
 * @e: the result; @e->size 0 means the slot holds no entry
 */
void kmq_cq_entry_decode(const void *buf, struct kmq_cq_entry *e)
{
	const __u8 *b = buf;

	e->phys_offset = kmq_get_be64(b + KMQ_CQ_OFF_PHYS);
	e->size = kmq_get_be32(b + KMQ_CQ_OFF_SIZE);
	e->tags_code = (__s64)kmq_get_be64(b + KMQ_CQ_OFF_TAGS);
}

/**
 * kmq_cq_wants_entry() - whether a record with @sys_flag is consumable.
 * @sys_flag: the record's SYSFLAG
 *
 * Half (PREPARED) and ROLLBACK transaction records stay out of the
 * consume queue; plain and COMMIT records go in.
 *
 * Return: true for transaction types NOT and COMMIT.
 */
bool kmq_cq_wants_entry(__u32 sys_flag)
{
	__u32 tx = sys_flag & KMQ_SYSFLAG_TX_MASK;

	return tx == KMQ_SYSFLAG_TX_NOT || tx == KMQ_SYSFLAG_TX_COMMIT;
}
