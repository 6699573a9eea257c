// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmq_msgid.c - RocketMQ's offset message id (kmq_msgid.h): the store
 * host and the commitlog offset as uppercase hex, 32 or 56 characters.
 *
 * Shared verbatim by kmq.ko and userspace.
 */
#include "kmq_types.h"
#include "kmq_endian.h"
#include "kmq_record.h"
#include "kmq_msgid.h"

/* Address (up to 16), port (4) and offset (8) bytes. */
#define KMQ_MSGID_MAX_BYTES	(KMQ_MSGID_MAX / 2)

static const char kmq_hex_upper[] = "0123456789ABCDEF";

/* Value of one hex digit of either case, or -1. */
static int kmq_hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/**
 * kmq_msgid_encode() - write the id and a NUL into @out.
 * @out: at least KMQ_MSGID_MAX + 1 bytes
 * @store_host: the store host; 16 address bytes when @store_host->v6
 * @phys_offset: the record's commitlog offset
 *
 * Return: the id's length (32 or 56).
 */
int kmq_msgid_encode(char *out, const struct kmq_host *store_host,
		     __u64 phys_offset)
{
	__u8 raw[KMQ_MSGID_MAX_BYTES];
	__u32 alen = store_host->v6 ? 16 : 4;
	__u32 n = alen + 4 + 8;
	__u32 i;

	kmq_memcpy(raw, store_host->addr, alen);
	kmq_put_be32(raw + alen, store_host->port);
	kmq_put_be64(raw + alen + 4, phys_offset);
	for (i = 0; i < n; i++) {
		out[2 * i] = kmq_hex_upper[raw[i] >> 4];
		out[2 * i + 1] = kmq_hex_upper[raw[i] & 0xf];
	}
	out[2 * n] = '\0';
	return (int)(2 * n);
}

/**
 * kmq_msgid_decode() - parse an id of @len characters (either case).
 * @id: the characters, not necessarily NUL-terminated
 * @len: KMQ_MSGID_LEN_V4 or KMQ_MSGID_LEN_V6
 * @store_host: set to the store host (unused address bytes zeroed)
 * @phys_offset: set to the commitlog offset
 *
 * Nothing is written on error.
 *
 * Return: 0, or -KMQ_FMT_EMSGID for another length or a non-hex digit.
 */
int kmq_msgid_decode(const char *id, __u32 len, struct kmq_host *store_host,
		     __u64 *phys_offset)
{
	__u8 raw[KMQ_MSGID_MAX_BYTES];
	__u32 alen, i;

	if (len == KMQ_MSGID_LEN_V4)
		alen = 4;
	else if (len == KMQ_MSGID_LEN_V6)
		alen = 16;
	else
		return -KMQ_FMT_EMSGID;

	for (i = 0; i < len / 2; i++) {
		int hi = kmq_hex_val(id[2 * i]);
		int lo = kmq_hex_val(id[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -KMQ_FMT_EMSGID;
		raw[i] = (__u8)(hi << 4 | lo);
	}

	kmq_memset(store_host->addr, 0, sizeof(store_host->addr));
	kmq_memcpy(store_host->addr, raw, alen);
	store_host->port = kmq_get_be32(raw + alen);
	store_host->v6 = alen == 16;
	*phys_offset = kmq_get_be64(raw + alen + 4);
	return 0;
}
