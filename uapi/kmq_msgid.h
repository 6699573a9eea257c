/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_msgid.h - RocketMQ's offset message id.
 *
 * Uppercase hex of the store host address (4 or 16 bytes), its port as
 * be32 and the record's commitlog offset as be64: 32 hex characters for
 * IPv4, 56 for IPv6.
 */
#ifndef _UAPI_KMQ_MSGID_H
#define _UAPI_KMQ_MSGID_H

#include "kmq_record.h"

#define KMQ_MSGID_LEN_V4	32
#define KMQ_MSGID_LEN_V6	56
#define KMQ_MSGID_MAX		KMQ_MSGID_LEN_V6

/**
 * kmq_msgid_encode() - write the id and a NUL into @out.
 * @out: at least KMQ_MSGID_MAX + 1 bytes
 * Return: the id's length (32 or 56).
 */
int kmq_msgid_encode(char *out, const struct kmq_host *store_host,
		     __u64 phys_offset);

/**
 * kmq_msgid_decode() - parse an id of @len characters (either case).
 * Return: 0, or -KMQ_FMT_EMSGID.
 */
int kmq_msgid_decode(const char *id, __u32 len, struct kmq_host *store_host,
		     __u64 *phys_offset);

#endif /* _UAPI_KMQ_MSGID_H */
