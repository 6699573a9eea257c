/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_props.h - message properties and the tag hash.
 *
 * Properties are UTF-8 "name \x01 value \x02" pairs, trailing \x02
 * present. The tag hash is Java's String.hashCode() of the TAGS value,
 * computed over its UTF-16 code units and sign-extended to 64 bits.
 */
#ifndef _UAPI_KMQ_PROPS_H
#define _UAPI_KMQ_PROPS_H

#include "kmq_types.h"

#define KMQ_PROP_NAME_SEP	('\x01')
#define KMQ_PROP_PAIR_SEP	('\x02')

#define KMQ_PROP_KEYS			"KEYS"
#define KMQ_PROP_TAGS			"TAGS"
#define KMQ_PROP_WAIT			"WAIT"
#define KMQ_PROP_DELAY			"DELAY"
#define KMQ_PROP_UNIQ_KEY		"UNIQ_KEY"
#define KMQ_PROP_RETRY_TOPIC		"RETRY_TOPIC"
#define KMQ_PROP_REAL_TOPIC		"REAL_TOPIC"
#define KMQ_PROP_REAL_QID		"REAL_QID"
#define KMQ_PROP_ORIGIN_MESSAGE_ID	"ORIGIN_MESSAGE_ID"
#define KMQ_PROP_RECONSUME_TIME		"RECONSUME_TIME"
#define KMQ_PROP_MAX_RECONSUME_TIMES	"MAX_RECONSUME_TIMES"
#define KMQ_PROP_TRAN_MSG		"TRAN_MSG"
#define KMQ_PROP_PGROUP			"PGROUP"
#define KMQ_PROP_MIN_OFFSET		"MIN_OFFSET"
#define KMQ_PROP_MAX_OFFSET		"MAX_OFFSET"

/**
 * struct kmq_prop - one property, pointing into the properties string.
 */
struct kmq_prop {
	const char *name;
	__u32 name_len;
	const char *value;
	__u32 value_len;
};

/**
 * kmq_props_next() - iterate: decode the pair that starts at *@pos.
 * @props: properties bytes
 * @len: their length
 * @pos: cursor, 0 to start; moved past the pair
 * @out: the pair
 *
 * A final pair without its trailing \x02 is accepted (clients send both).
 * Return: 1 with a pair, 0 at the end, -KMQ_FMT_EPROPS if malformed.
 */
int kmq_props_next(const char *props, __u32 len, __u32 *pos,
		   struct kmq_prop *out);

/**
 * kmq_props_get() - find the value of @name (@name_len bytes).
 * Return: 0 and the value, -KMQ_FMT_ENOENT, or -KMQ_FMT_EPROPS.
 */
int kmq_props_get(const char *props, __u32 len, const char *name,
		  __u32 name_len, const char **value, __u32 *value_len);

/**
 * kmq_props_put() - append "name\1value\2" at *@pos in @buf of @cap bytes.
 *
 * Names and values must not contain \x01 or \x02.
 * Return: 0 (and *@pos advanced), -KMQ_FMT_ENOSPACE, -KMQ_FMT_EPROPS.
 */
int kmq_props_put(char *buf, __u32 cap, __u32 *pos, const char *name,
		  __u32 name_len, const char *value, __u32 value_len);

/** kmq_props_validate() - 0 if every pair is well formed, else -KMQ_FMT_EPROPS. */
int kmq_props_validate(const char *props, __u32 len);

/**
 * kmq_tag_hash() - Java String.hashCode() of a UTF-8 tag, as int64.
 *
 * UTF-8 is decoded to UTF-16 code units (supplementary characters give a
 * surrogate pair); each malformed sequence counts as one U+FFFD, as
 * Java's decoder does. An empty tag hashes to 0.
 */
__s64 kmq_tag_hash(const char *tag, __u32 len);

/**
 * kmq_props_tags_code() - tags code of a record's properties: the hash of
 * its TAGS value, 0 without one.
 */
__s64 kmq_props_tags_code(const char *props, __u32 len);

#endif /* _UAPI_KMQ_PROPS_H */
