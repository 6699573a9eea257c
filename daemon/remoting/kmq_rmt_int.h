/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_rmt_int.h - what the remoting codec's files share and nobody else
 * sees: the error reporter, the two header serializations, extFields
 * helpers for the decoders and the UTF-8 checker.
 */
#ifndef KMQ_RMT_INT_H
#define KMQ_RMT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmq_remoting.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/*
 * Most extFields a decoded header may carry. Real requests have about
 * twenty; the limit keeps a 16 MiB header of one-byte fields from costing
 * hundreds of MiB of small allocations.
 */
#define KMQ_RMT_MAX_FIELDS	65536

/* Largest header the 24-bit header length can describe. */
#define KMQ_RMT_MAX_HEADER	0xffffffu

static inline uint16_t kmq_rmt_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t kmq_rmt_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void kmq_rmt_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void kmq_rmt_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* kmq_rmt_err() - remember a message for kmq_rmt_errmsg(); return -@err. */
int kmq_rmt_err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int kmq_rmt_json_decode(const uint8_t *hdr, uint32_t len,
			struct kmq_rmt_cmd *cmd);
int kmq_rmt_json_encode(struct kmq_buf *out, const struct kmq_rmt_cmd *cmd);
int kmq_rmt_bin_decode(const uint8_t *hdr, uint32_t len,
		       struct kmq_rmt_cmd *cmd);
int kmq_rmt_bin_encode(struct kmq_buf *out, const struct kmq_rmt_cmd *cmd);

/*
 * kmq_rmt_add_field() - append a copy of @key and @val (not necessarily
 * NUL-terminated) to @cmd->fields without looking for an existing @key.
 * Return: 0 or -ENOMEM.
 */
int kmq_rmt_add_field(struct kmq_rmt_cmd *cmd, const char *key, size_t klen,
		      const char *val, size_t vlen);
/* kmq_rmt_dedup_fields() - keep the last of fields with equal keys. */
int kmq_rmt_dedup_fields(struct kmq_rmt_cmd *cmd);

/* kmq_rmt_utf8_valid() - is @s well-formed UTF-8 (RFC 3629)? */
bool kmq_rmt_utf8_valid(const uint8_t *s, size_t n);
/*
 * kmq_rmt_utf8_fix() - a malloc()ed, NUL-terminated copy of @s with every
 * byte that is not part of a well-formed sequence replaced by U+FFFD.
 */
char *kmq_rmt_utf8_fix(const uint8_t *s, size_t n);

#endif /* KMQ_RMT_INT_H */
