// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmq_record.c - encode and validate commitlog records (kmq_record.h).
 *
 * Shared verbatim by kmq.ko and userspace: no libc, no kernel library
 * calls, only the helpers of kmq_types.h and kmq_endian.h. The decoder is
 * the one place that decides whether bytes are a record; it never reads
 * past the length it is given and names every kind of damage with its own
 * enum kmq_fmt_err.
 */
#include "kmq_types.h"
#include "kmq_endian.h"
#include "kmq_record.h"

/* Bytes before the first host field: TOTALSIZE .. BORNTIMESTAMP. */
#define KMQ_REC_HEAD		KMQ_REC_OFF_BORNHOST
/* STORETIMESTAMP, between the two hosts. */
#define KMQ_REC_STORETS_SIZE	8
/* RECONSUMETIMES, PREPARED TRANSACTION OFFSET and BODYLEN. */
#define KMQ_REC_MID_SIZE	(4 + 8 + 4)
#define KMQ_REC_PROPLEN_SIZE	2

/* The largest record: its size must fit the int the encoder returns. */
#define KMQ_REC_SIZE_MAX	0x7fffffffu

static __u32 kmq_host_size(bool v6)
{
	return v6 ? KMQ_HOST_V6_SIZE : KMQ_HOST_V4_SIZE;
}

/* Width of TOPICLEN for @magic (0 meaning v1), 0 for an unknown magic. */
static __u32 kmq_topiclen_size(__u32 magic)
{
	if (magic == 0 || magic == KMQ_MAGIC_V1)
		return 1;
	if (magic == KMQ_MAGIC_V2)
		return 2;
	return 0;
}

/* Size of everything but body, topic and properties. */
static __u32 kmq_rec_fixed(__u32 tl_size, __u32 sys_flag)
{
	return KMQ_REC_HEAD +
	       kmq_host_size(sys_flag & KMQ_SYSFLAG_BORNHOST_V6) +
	       KMQ_REC_STORETS_SIZE +
	       kmq_host_size(sys_flag & KMQ_SYSFLAG_STOREHOST_V6) +
	       KMQ_REC_MID_SIZE + tl_size + KMQ_REC_PROPLEN_SIZE;
}

/**
 * kmq_record_size() - TOTALSIZE of a record with these parts.
 * @magic: KMQ_MAGIC_V1 (or 0) or KMQ_MAGIC_V2
 * @sys_flag: only the host bits KMQ_SYSFLAG_{BORN,STORE}HOST_V6 matter
 * @body_len: body bytes
 * @topic_len: topic bytes, 1 to KMQ_TOPIC_MAX_V1 (v1) or KMQ_TOPIC_MAX_V2
 * @props_len: properties bytes, at most KMQ_PROPS_MAX
 *
 * Return: the size, or 0 if a part is too long for its length field, the
 * topic is empty, @magic is unknown or the whole exceeds 2^31 - 1 bytes.
 */
__u32 kmq_record_size(__u32 magic, __u32 sys_flag, __u32 body_len,
		      __u32 topic_len, __u32 props_len)
{
	__u32 tl_size = kmq_topiclen_size(magic);
	__u32 topic_max = tl_size == 1 ? KMQ_TOPIC_MAX_V1 : KMQ_TOPIC_MAX_V2;
	__u64 total;

	if (!tl_size || !topic_len || topic_len > topic_max ||
	    props_len > KMQ_PROPS_MAX)
		return 0;
	total = (__u64)kmq_rec_fixed(tl_size, sys_flag) + body_len +
		topic_len + props_len;
	if (total > KMQ_REC_SIZE_MAX)
		return 0;
	return (__u32)total;
}

static __u8 *kmq_put_host(__u8 *p, const struct kmq_host *h)
{
	__u32 n = h->v6 ? 16 : 4;

	kmq_memcpy(p, h->addr, n);
	kmq_put_be32(p + n, h->port);
	return p + n + 4;
}

static __u8 *kmq_put_bytes(__u8 *p, const void *src, __u32 n)
{
	if (n)
		kmq_memcpy(p, src, n);
	return p + n;
}

/**
 * kmq_record_encode() - write @r into @buf.
 * @buf: destination
 * @cap: bytes available at @buf
 * @r: the record; @r->total_size is ignored and the host bits of
 *	@r->sys_flag are replaced by those @r->born_host.v6 and
 *	@r->store_host.v6 call for. @r->body_crc is written as given.
 *
 * Every field is written first and TOTALSIZE last, after a compiler
 * barrier, so a writer killed half way leaves a record that fails
 * validation instead of one that reads back wrong.
 *
 * Return: the record size, -KMQ_FMT_EMAGIC for an unknown @r->magic,
 * -KMQ_FMT_ETOPICLEN for an empty topic, -KMQ_FMT_ETOOBIG or
 * -KMQ_FMT_ENOSPACE.
 */
int kmq_record_encode(void *buf, __u32 cap, const struct kmq_record *r)
{
	__u32 magic = r->magic ? r->magic : KMQ_MAGIC_V1;
	__u32 sys_flag, total, tl_size;
	__u8 *b = buf;
	__u8 *p;

	tl_size = kmq_topiclen_size(magic);
	if (!tl_size)
		return -KMQ_FMT_EMAGIC;
	if (!r->topic_len)
		return -KMQ_FMT_ETOPICLEN;

	sys_flag = r->sys_flag &
		   ~(__u32)(KMQ_SYSFLAG_BORNHOST_V6 | KMQ_SYSFLAG_STOREHOST_V6);
	if (r->born_host.v6)
		sys_flag |= KMQ_SYSFLAG_BORNHOST_V6;
	if (r->store_host.v6)
		sys_flag |= KMQ_SYSFLAG_STOREHOST_V6;

	total = kmq_record_size(magic, sys_flag, r->body_len, r->topic_len,
				r->props_len);
	if (!total)
		return -KMQ_FMT_ETOOBIG;
	if (total > cap)
		return -KMQ_FMT_ENOSPACE;

	kmq_put_be32(b + KMQ_REC_OFF_MAGIC, magic);
	kmq_put_be32(b + KMQ_REC_OFF_BODYCRC, r->body_crc);
	kmq_put_be32(b + KMQ_REC_OFF_QUEUEID, r->queue_id);
	kmq_put_be32(b + KMQ_REC_OFF_FLAG, r->flag);
	kmq_put_be64(b + KMQ_REC_OFF_QUEUEOFFSET, r->queue_offset);
	kmq_put_be64(b + KMQ_REC_OFF_PHYSOFFSET, r->phys_offset);
	kmq_put_be32(b + KMQ_REC_OFF_SYSFLAG, sys_flag);
	kmq_put_be64(b + KMQ_REC_OFF_BORNTS, r->born_ts);
	p = kmq_put_host(b + KMQ_REC_OFF_BORNHOST, &r->born_host);
	kmq_put_be64(p, r->store_ts);
	p = kmq_put_host(p + 8, &r->store_host);
	kmq_put_be32(p, r->reconsume_times);
	kmq_put_be64(p + 4, r->prepared_tx_offset);
	kmq_put_be32(p + 12, r->body_len);
	p = kmq_put_bytes(p + 16, r->body, r->body_len);
	if (tl_size == 1)
		*p = (__u8)r->topic_len;
	else
		kmq_put_be16(p, (__u16)r->topic_len);
	p = kmq_put_bytes(p + tl_size, r->topic, r->topic_len);
	kmq_put_be16(p, (__u16)r->props_len);
	kmq_put_bytes(p + 2, r->props, r->props_len);

	/* A reader that sees TOTALSIZE must also see everything above. */
	kmq_compiler_barrier();
	kmq_put_be32(b + KMQ_REC_OFF_TOTALSIZE, total);
	return (int)total;
}

static const __u8 *kmq_get_host(const __u8 *p, struct kmq_host *h, bool v6)
{
	__u32 n = v6 ? 16 : 4;

	h->v6 = v6;
	kmq_memcpy(h->addr, p, n);
	h->port = kmq_get_be32(p + n);
	return p + n + 4;
}

/* Decode an end-of-segment filler whose TOTALSIZE is @total. */
static int kmq_blank_decode(__u32 total, __u32 len, struct kmq_record *r)
{
	if (total < KMQ_BLANK_SIZE || total > len)
		return -KMQ_FMT_EBLANK;
	r->total_size = total;
	r->magic = KMQ_MAGIC_BLANK;
	return 1;
}

/**
 * kmq_record_decode() - parse and validate one record at @buf.
 * @buf: the record's first byte
 * @len: readable bytes at @buf; nothing past them is touched
 * @r: the result; its pointers point into @buf. Cleared on every call.
 * @flags: KMQ_DECODE_CRC to verify BODYCRC
 *
 * The checks, in order, each with its own error: at least the 8 bytes of
 * TOTALSIZE and MAGICCODE (-KMQ_FMT_ESHORT); a known magic
 * (-KMQ_FMT_EMAGIC; a BLANK filler is checked and returned here); @len
 * covers the smallest record of that magic (-KMQ_FMT_ESHORT); TOTALSIZE
 * within @len and not below the fixed part that SYSFLAG's host bits imply
 * (-KMQ_FMT_ETOTALSIZE); BODYLEN leaves room for TOPICLEN and PROPLEN
 * (-KMQ_FMT_EBODYLEN); TOPICLEN positive and leaves room for PROPLEN
 * (-KMQ_FMT_ETOPICLEN); PROPLEN not negative and inside TOTALSIZE
 * (-KMQ_FMT_EPROPLEN); the parts end exactly at TOTALSIZE
 * (-KMQ_FMT_ESIZEMISMATCH); the body CRC (-KMQ_FMT_ECRC).
 *
 * Return: 0 for a record, 1 for a BLANK filler (@r->total_size holds its
 * size, @r->magic KMQ_MAGIC_BLANK), or a negated enum kmq_fmt_err.
 */
int kmq_record_decode(const void *buf, __u32 len, struct kmq_record *r,
		      unsigned int flags)
{
	const __u8 *b = buf;
	const __u8 *p;
	__u32 total, magic, tl_size, rest, n;

	kmq_memset(r, 0, sizeof(*r));
	if (len < KMQ_BLANK_SIZE)
		return -KMQ_FMT_ESHORT;

	total = kmq_get_be32(b + KMQ_REC_OFF_TOTALSIZE);
	magic = kmq_get_be32(b + KMQ_REC_OFF_MAGIC);
	if (magic == KMQ_MAGIC_BLANK)
		return kmq_blank_decode(total, len, r);
	if (magic == KMQ_MAGIC_V1)
		tl_size = 1;
	else if (magic == KMQ_MAGIC_V2)
		tl_size = 2;
	else
		return -KMQ_FMT_EMAGIC;

	if (len < kmq_rec_fixed(tl_size, 0))
		return -KMQ_FMT_ESHORT;
	if (total > len)
		return -KMQ_FMT_ETOTALSIZE;

	r->total_size = total;
	r->magic = magic;
	r->sys_flag = kmq_get_be32(b + KMQ_REC_OFF_SYSFLAG);
	if (total < kmq_rec_fixed(tl_size, r->sys_flag))
		return -KMQ_FMT_ETOTALSIZE;

	/* From here on every read is below total, hence below len. */
	r->body_crc = kmq_get_be32(b + KMQ_REC_OFF_BODYCRC);
	r->queue_id = kmq_get_be32(b + KMQ_REC_OFF_QUEUEID);
	r->flag = kmq_get_be32(b + KMQ_REC_OFF_FLAG);
	r->queue_offset = kmq_get_be64(b + KMQ_REC_OFF_QUEUEOFFSET);
	r->phys_offset = kmq_get_be64(b + KMQ_REC_OFF_PHYSOFFSET);
	r->born_ts = kmq_get_be64(b + KMQ_REC_OFF_BORNTS);
	p = kmq_get_host(b + KMQ_REC_OFF_BORNHOST, &r->born_host,
			 r->sys_flag & KMQ_SYSFLAG_BORNHOST_V6);
	r->store_ts = kmq_get_be64(p);
	p = kmq_get_host(p + 8, &r->store_host,
			 r->sys_flag & KMQ_SYSFLAG_STOREHOST_V6);
	r->reconsume_times = kmq_get_be32(p);
	r->prepared_tx_offset = kmq_get_be64(p + 4);
	r->body_len = kmq_get_be32(p + 12);
	p += 16;

	/* Bytes after BODYLEN; the fixed part guarantees the two lengths. */
	rest = total - (__u32)(p - b);
	if (r->body_len > rest - tl_size - KMQ_REC_PROPLEN_SIZE)
		return -KMQ_FMT_EBODYLEN;
	r->body = p;
	p += r->body_len;
	rest -= r->body_len;

	if (tl_size == 1) {
		n = *p;
		if (n > KMQ_TOPIC_MAX_V1)	/* negative as a signed byte */
			return -KMQ_FMT_ETOPICLEN;
	} else {
		n = kmq_get_be16(p);
		if (n > KMQ_TOPIC_MAX_V2)	/* negative as an int16 */
			return -KMQ_FMT_ETOPICLEN;
	}
	p += tl_size;
	rest -= tl_size;
	if (!n || n > rest - KMQ_REC_PROPLEN_SIZE)
		return -KMQ_FMT_ETOPICLEN;
	r->topic_len = n;
	r->topic = (const char *)p;
	p += n;
	rest -= n;

	n = kmq_get_be16(p);
	p += KMQ_REC_PROPLEN_SIZE;
	rest -= KMQ_REC_PROPLEN_SIZE;
	if (n > KMQ_PROPS_MAX || n > rest)
		return -KMQ_FMT_EPROPLEN;
	if (n != rest)
		return -KMQ_FMT_ESIZEMISMATCH;
	r->props_len = n;
	r->props = (const char *)p;

	if ((flags & KMQ_DECODE_CRC) &&
	    kmq_body_crc(r->body, r->body_len) != r->body_crc)
		return -KMQ_FMT_ECRC;
	return 0;
}

/**
 * kmq_blank_encode() - write the end-of-segment filler.
 * @buf: where the filler starts
 * @remaining: bytes left in the segment, at least KMQ_BLANK_SIZE
 *
 * Only the 8 bytes of [be32 @remaining][be32 KMQ_MAGIC_BLANK] are
 * written, the size last; the rest of the segment is left as it is.
 *
 * Return: 0, or -KMQ_FMT_ENOSPACE.
 */
int kmq_blank_encode(void *buf, __u32 remaining)
{
	__u8 *b = buf;

	if (remaining < KMQ_BLANK_SIZE)
		return -KMQ_FMT_ENOSPACE;
	kmq_put_be32(b + KMQ_REC_OFF_MAGIC, KMQ_MAGIC_BLANK);
	kmq_compiler_barrier();
	kmq_put_be32(b + KMQ_REC_OFF_TOTALSIZE, remaining);
	return 0;
}

/**
 * kmq_body_crc() - BODYCRC of a body.
 * @body: the body as stored (compressed or not)
 * @len: its length
 *
 * Return: zlib's crc32 of @body masked with KMQ_BODY_CRC_MASK.
 */
__u32 kmq_body_crc(const void *body, __u32 len)
{
	return kmq_crc32(0, body, len) & KMQ_BODY_CRC_MASK;
}

static const char * const kmq_fmt_errs[KMQ_FMT_NERR] = {
	[KMQ_FMT_OK]		= "success",
	[KMQ_FMT_ESHORT]	= "buffer too short",
	[KMQ_FMT_EMAGIC]	= "bad magic code",
	[KMQ_FMT_ETOTALSIZE]	= "total size out of range",
	[KMQ_FMT_EBODYLEN]	= "body length past the record end",
	[KMQ_FMT_ETOPICLEN]	= "bad topic length",
	[KMQ_FMT_EPROPLEN]	= "bad properties length",
	[KMQ_FMT_ESIZEMISMATCH]	= "parts do not add up to TOTALSIZE",
	[KMQ_FMT_ECRC]		= "body CRC mismatch",
	[KMQ_FMT_ETOOBIG]	= "field too long for its length prefix",
	[KMQ_FMT_ENOSPACE]	= "output buffer too small",
	[KMQ_FMT_EPROPS]	= "malformed properties",
	[KMQ_FMT_EMSGID]	= "malformed message id",
	[KMQ_FMT_ENOENT]	= "no such property",
	[KMQ_FMT_EPHYS]		= "PHYSICALOFFSET is not where the record is",
	[KMQ_FMT_EBLANK]	= "bad blank filler size",
};

/**
 * kmq_fmt_strerror() - a short English text for a kmq_fmt_err.
 * @err: the negated code as returned (the positive code is accepted too)
 *
 * Return: a static string, "unknown format error" for other values.
 */
const char *kmq_fmt_strerror(int err)
{
	__u32 i = err < 0 ? -(__u32)err : (__u32)err;

	if (i >= KMQ_FMT_NERR)
		return "unknown format error";
	return kmq_fmt_errs[i];
}
