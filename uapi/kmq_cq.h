/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_cq.h - the consume-queue entry: where a queue's n-th message lives.
 *
 *   [be64 commitlog offset][be32 record size][be64 tags code]
 *
 * Files hold KMQ_CQ_FILE_ENTRIES entries and are named by the byte
 * offset of their first entry (20 decimal digits) under
 * consumequeue/<topic>/<queueId>/. An entry whose size is 0 is absent.
 */
#ifndef _UAPI_KMQ_CQ_H
#define _UAPI_KMQ_CQ_H

#include "kmq_types.h"

#define KMQ_CQ_ENTRY_SIZE	20
#define KMQ_CQ_FILE_ENTRIES	300000

/**
 * struct kmq_cq_entry - one decoded consume-queue entry.
 * @phys_offset: commitlog offset of the record
 * @size: TOTALSIZE of the record; 0 marks an absent entry
 * @tags_code: kmq_tag_hash() of the TAGS property (or, for delayed
 *	messages, the delivery time in ms)
 */
struct kmq_cq_entry {
	__u64 phys_offset;
	__u32 size;
	__s64 tags_code;
};

void kmq_cq_entry_encode(void *buf, const struct kmq_cq_entry *e);
void kmq_cq_entry_decode(const void *buf, struct kmq_cq_entry *e);

/** kmq_cq_wants_entry() - only NOT and COMMIT transaction types get one. */
bool kmq_cq_wants_entry(__u32 sys_flag);

#endif /* _UAPI_KMQ_CQ_H */
