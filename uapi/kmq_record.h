/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_record.h - the commitlog record: RocketMQ's CommitLog message, v1.
 *
 * This is the one definition of the on-disk and on-wire record, shared by
 * kmq.ko and userspace. A pull response body is a concatenation of these
 * records exactly as stored. All integers are big-endian.
 *
 *   off  size  field
 *     0     4  TOTALSIZE        whole record, this field included
 *     4     4  MAGICCODE        KMQ_MAGIC_V1 (v2: 2-byte topic length)
 *     8     4  BODYCRC          crc32(body) & 0x7fffffff
 *    12     4  QUEUEID
 *    16     4  FLAG             producer's flag
 *    20     8  QUEUEOFFSET      index in the consume queue
 *    28     8  PHYSICALOFFSET   commitlog offset of this record
 *    36     4  SYSFLAG          KMQ_SYSFLAG_*
 *    40     8  BORNTIMESTAMP    ms
 *    48  8/20  BORNHOST         address, then int32 port
 *     .     8  STORETIMESTAMP   ms
 *     .  8/20  STOREHOST        address, then int32 port
 *     .     4  RECONSUMETIMES
 *     .     8  PREPARED TRANSACTION OFFSET
 *     .   4+n  BODYLEN, BODY
 *     .   1+n  TOPICLEN (v1; 2 in v2), TOPIC
 *     .   2+n  PROPLEN, PROPERTIES
 *
 * End of a segment: when a record plus KMQ_BLANK_SIZE does not fit in what
 * remains, [be32 remaining][be32 KMQ_MAGIC_BLANK] fills the rest and the
 * record starts the next segment.
 */
#ifndef _UAPI_KMQ_RECORD_H
#define _UAPI_KMQ_RECORD_H

#include "kmq_types.h"

#define KMQ_MAGIC_V1		0xDAA320A7u
#define KMQ_MAGIC_V2		0xDAA320ABu
#define KMQ_MAGIC_BLANK		0xCBD43194u
#define KMQ_BLANK_SIZE		8

#define KMQ_SYSFLAG_COMPRESSED		0x001
#define KMQ_SYSFLAG_MULTI_TAGS		0x002
#define KMQ_SYSFLAG_TX_MASK		0x00c
#define KMQ_SYSFLAG_TX_NOT		0x000
#define KMQ_SYSFLAG_TX_PREPARED		0x004
#define KMQ_SYSFLAG_TX_COMMIT		0x008
#define KMQ_SYSFLAG_TX_ROLLBACK		0x00c
#define KMQ_SYSFLAG_BORNHOST_V6		0x010
#define KMQ_SYSFLAG_STOREHOST_V6	0x020
#define KMQ_SYSFLAG_COMPRESS_TYPE_MASK	0x700
#define KMQ_SYSFLAG_COMPRESS_LZ4	0x100
#define KMQ_SYSFLAG_COMPRESS_ZSTD	0x200
#define KMQ_SYSFLAG_COMPRESS_ZLIB	0x300

/* Fixed offsets, valid for every record (before the first host field). */
#define KMQ_REC_OFF_TOTALSIZE		0
#define KMQ_REC_OFF_MAGIC		4
#define KMQ_REC_OFF_BODYCRC		8
#define KMQ_REC_OFF_QUEUEID		12
#define KMQ_REC_OFF_FLAG		16
#define KMQ_REC_OFF_QUEUEOFFSET		20
#define KMQ_REC_OFF_PHYSOFFSET		28
#define KMQ_REC_OFF_SYSFLAG		36
#define KMQ_REC_OFF_BORNTS		40
#define KMQ_REC_OFF_BORNHOST		48

#define KMQ_HOST_V4_SIZE	8	/* 4 address bytes + be32 port */
#define KMQ_HOST_V6_SIZE	20	/* 16 address bytes + be32 port */

/* Size of everything but body, topic and properties, v1, IPv4 hosts. */
#define KMQ_REC_FIXED_V4	91
#define KMQ_TOPIC_MAX_V1	127	/* TOPICLEN is a signed byte in v1 */
#define KMQ_TOPIC_MAX_V2	32767
#define KMQ_PROPS_MAX		32767	/* PROPLEN is a signed int16 */
#define KMQ_BODY_CRC_MASK	0x7fffffffu

/**
 * enum kmq_fmt_err - why the format code refused bytes. Functions return
 * the negated value; each malformed variant has its own code.
 * @KMQ_FMT_ESHORT: buffer shorter than the fixed part or than 4 bytes
 * @KMQ_FMT_EMAGIC: MAGICCODE is neither v1, v2 nor BLANK
 * @KMQ_FMT_ETOTALSIZE: TOTALSIZE below the minimum or past the buffer
 * @KMQ_FMT_EBODYLEN: BODYLEN runs past TOTALSIZE
 * @KMQ_FMT_ETOPICLEN: TOPICLEN negative, zero or past TOTALSIZE
 * @KMQ_FMT_EPROPLEN: PROPLEN negative or past TOTALSIZE
 * @KMQ_FMT_ESIZEMISMATCH: the parts do not add up to TOTALSIZE
 * @KMQ_FMT_ECRC: BODYCRC does not match the body
 * @KMQ_FMT_ETOOBIG: a field is too long for its length prefix
 * @KMQ_FMT_ENOSPACE: the output buffer is too small
 * @KMQ_FMT_EPROPS: properties are not name\1value\2 pairs
 * @KMQ_FMT_EMSGID: a message id is not 32 (or 56) hex characters
 * @KMQ_FMT_ENOENT: the property looked for is absent
 * @KMQ_FMT_EPHYS: PHYSICALOFFSET is not where the record was found
 * @KMQ_FMT_EBLANK: a BLANK filler whose size is impossible
 */
enum kmq_fmt_err {
	KMQ_FMT_OK = 0,
	KMQ_FMT_ESHORT,
	KMQ_FMT_EMAGIC,
	KMQ_FMT_ETOTALSIZE,
	KMQ_FMT_EBODYLEN,
	KMQ_FMT_ETOPICLEN,
	KMQ_FMT_EPROPLEN,
	KMQ_FMT_ESIZEMISMATCH,
	KMQ_FMT_ECRC,
	KMQ_FMT_ETOOBIG,
	KMQ_FMT_ENOSPACE,
	KMQ_FMT_EPROPS,
	KMQ_FMT_EMSGID,
	KMQ_FMT_ENOENT,
	KMQ_FMT_EPHYS,
	KMQ_FMT_EBLANK,
	KMQ_FMT_NERR
};

/**
 * struct kmq_host - BORNHOST or STOREHOST.
 * @addr: address bytes, network order; the first 4 only when !@v6
 * @port: port
 * @v6: 16-byte address (the matching SYSFLAG bit is set on encode)
 */
struct kmq_host {
	__u8 addr[16];
	__u32 port;
	bool v6;
};

/**
 * struct kmq_record - a decoded record, or the input of the encoder.
 *
 * The pointers point into the decoded buffer (decode) or at the caller's
 * bytes (encode). On encode, @total_size and the host bits of @sys_flag
 * are computed; @magic selects v1 or v2 (0 means v1).
 */
struct kmq_record {
	__u32 total_size;
	__u32 magic;
	__u32 body_crc;
	__u32 queue_id;
	__u32 flag;
	__u64 queue_offset;
	__u64 phys_offset;
	__u32 sys_flag;
	__u64 born_ts;
	struct kmq_host born_host;
	__u64 store_ts;
	struct kmq_host store_host;
	__u32 reconsume_times;
	__u64 prepared_tx_offset;
	__u32 body_len;
	const void *body;
	__u32 topic_len;
	const char *topic;
	__u32 props_len;
	const char *props;
};

/* Flags for kmq_record_decode(). */
#define KMQ_DECODE_CRC		0x1	/* verify BODYCRC */

/**
 * kmq_record_size() - TOTALSIZE of a record with these parts.
 * Return: the size, or 0 if a part is too long for its length field (or
 * the topic is empty, or @magic is neither 0, v1 nor v2).
 */
__u32 kmq_record_size(__u32 magic, __u32 sys_flag, __u32 body_len,
		      __u32 topic_len, __u32 props_len);

/**
 * kmq_record_encode() - write @r into @buf.
 *
 * Every field is written first and TOTALSIZE last, after a compiler
 * barrier, so a writer killed half way leaves a record that fails
 * validation instead of one that reads back wrong.
 *
 * Return: the record size, or -KMQ_FMT_ETOOBIG / -KMQ_FMT_ENOSPACE
 * (-KMQ_FMT_EMAGIC for an unknown @r->magic, -KMQ_FMT_ETOPICLEN for an
 * empty topic, which the decoder would refuse).
 */
int kmq_record_encode(void *buf, __u32 cap, const struct kmq_record *r);

/**
 * kmq_record_decode() - parse and validate one record at @buf.
 *
 * Checks the magic, that TOTALSIZE fits in @len, that every length field
 * stays inside TOTALSIZE and that the parts add up to it exactly, and
 * (with KMQ_DECODE_CRC) the body CRC.
 *
 * Return: 0 for a record, 1 for a BLANK filler (@r->total_size holds its
 * size, @r->magic KMQ_MAGIC_BLANK), or a negated enum kmq_fmt_err.
 */
int kmq_record_decode(const void *buf, __u32 len, struct kmq_record *r,
		      unsigned int flags);

/**
 * kmq_blank_encode() - write the end-of-segment filler.
 * @buf: where the filler starts
 * @remaining: bytes left in the segment, at least KMQ_BLANK_SIZE
 * Return: 0, or -KMQ_FMT_ENOSPACE.
 */
int kmq_blank_encode(void *buf, __u32 remaining);

/** kmq_body_crc() - BODYCRC of @len bytes: crc32 & KMQ_BODY_CRC_MASK. */
__u32 kmq_body_crc(const void *body, __u32 len);

/** kmq_fmt_strerror() - a short English text for a (negated) kmq_fmt_err. */
const char *kmq_fmt_strerror(int err);

#endif /* _UAPI_KMQ_RECORD_H */
