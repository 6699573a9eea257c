// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * t_record.c - TAP tests of the commitlog record code (uapi/kmq_record.c):
 * a record written byte by byte from the format description, round trips
 * over every host/magic combination, and one test per kind of damage.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_tap.h"
#include "kmq_record.h"

/*
 * A v1 record with IPv4 hosts, written by hand from the field table
 * (docs/format.md): body "123456789", topic "TopicTest", properties
 * "TAGS\1TagA\2KEYS\1k1\2". Size 91 + 9 + 9 + 18 = 127 = 0x7f.
 */
static const unsigned char hand_rec[127] = {
	/*   0 TOTALSIZE */ 0x00, 0x00, 0x00, 0x7f,
	/*   4 MAGICCODE */ 0xda, 0xa3, 0x20, 0xa7,
	/*
	 *   8 BODYCRC: crc32("123456789") is the CRC-32 check value
	 *     0xcbf43926; masked with 0x7fffffff that is 0x4bf43926.
	 */
			    0x4b, 0xf4, 0x39, 0x26,
	/*  12 QUEUEID */   0x00, 0x00, 0x00, 0x03,
	/*  16 FLAG */      0x0a, 0x0b, 0x0c, 0x0d,
	/*  20 QUEUEOFFSET */
			    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	/*  28 PHYSICALOFFSET */
			    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	/*  36 SYSFLAG: TX COMMIT */
			    0x00, 0x00, 0x00, 0x08,
	/*  40 BORNTIMESTAMP */
			    0x00, 0x00, 0x01, 0x8a, 0x2b, 0x3c, 0x4d, 0x5e,
	/*  48 BORNHOST 192.168.1.10 port 54321 = 0xd431 */
			    0xc0, 0xa8, 0x01, 0x0a, 0x00, 0x00, 0xd4, 0x31,
	/*  56 STORETIMESTAMP */
			    0x00, 0x00, 0x01, 0x8a, 0x2b, 0x3c, 0x4d, 0x5f,
	/*  64 STOREHOST 10.0.0.1 port 10911 = 0x2a9f */
			    0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x2a, 0x9f,
	/*  72 RECONSUMETIMES */
			    0x00, 0x00, 0x00, 0x02,
	/*  76 PREPARED TRANSACTION OFFSET */
			    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
	/*  84 BODYLEN */   0x00, 0x00, 0x00, 0x09,
	/*  88 BODY */      '1', '2', '3', '4', '5', '6', '7', '8', '9',
	/*  97 TOPICLEN */  0x09,
	/*  98 TOPIC */     'T', 'o', 'p', 'i', 'c', 'T', 'e', 's', 't',
	/* 107 PROPLEN */   0x00, 0x12,
	/* 109 PROPERTIES */
			    'T', 'A', 'G', 'S', 0x01, 'T', 'a', 'g', 'A', 0x02,
			    'K', 'E', 'Y', 'S', 0x01, 'k', '1', 0x02,
	/* 127 end */
};

#define HAND_OFF_BODYLEN	84
#define HAND_OFF_BODY		88
#define HAND_OFF_TOPICLEN	97
#define HAND_OFF_PROPLEN	107

static const char hand_props[] = "TAGS\001TagA\002KEYS\001k1\002";

/* The struct that describes hand_rec. */
static void hand_struct(struct kmq_record *r)
{
	memset(r, 0, sizeof(*r));
	r->magic = KMQ_MAGIC_V1;
	r->body_crc = 0x4bf43926;
	r->queue_id = 3;
	r->flag = 0x0a0b0c0d;
	r->queue_offset = 0x0102030405060708ull;
	r->phys_offset = 0x1112131415161718ull;
	r->sys_flag = KMQ_SYSFLAG_TX_COMMIT;
	r->born_ts = 0x0000018a2b3c4d5eull;
	memcpy(r->born_host.addr, "\xc0\xa8\x01\x0a", 4);
	r->born_host.port = 54321;
	r->store_ts = 0x0000018a2b3c4d5full;
	memcpy(r->store_host.addr, "\x0a\x00\x00\x01", 4);
	r->store_host.port = 10911;
	r->reconsume_times = 2;
	r->prepared_tx_offset = 0x2122232425262728ull;
	r->body = "123456789";
	r->body_len = 9;
	r->topic = "TopicTest";
	r->topic_len = 9;
	r->props = hand_props;
	r->props_len = 18;
}

/* A heap copy of exactly @n bytes, so ASan sees any read past them. */
static unsigned char *dup_exact(const void *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);

	if (!d)
		kmq_tap_bail("out of memory");
	if (n)
		memcpy(d, p, n);
	return d;
}

static int decode_copy(const void *p, size_t n, struct kmq_record *r,
		       unsigned int flags)
{
	unsigned char *d = dup_exact(p, n);
	int ret = kmq_record_decode(d, n, r, flags);

	free(d);
	return ret;
}

static void test_hand_decode(void)
{
	const unsigned char *b = hand_rec;
	struct kmq_record r;

	is_int(kmq_record_decode(b, sizeof(hand_rec), &r, KMQ_DECODE_CRC), 0,
	       "hand-built record decodes with CRC check");
	is_int(r.total_size, 127, "TOTALSIZE");
	is_int(r.magic, KMQ_MAGIC_V1, "MAGICCODE v1");
	is_int(r.body_crc, 0x4bf43926, "BODYCRC");
	is_int(r.queue_id, 3, "QUEUEID");
	is_int(r.flag, 0x0a0b0c0d, "FLAG");
	ok(r.queue_offset == 0x0102030405060708ull, "QUEUEOFFSET");
	ok(r.phys_offset == 0x1112131415161718ull, "PHYSICALOFFSET");
	is_int(r.sys_flag, KMQ_SYSFLAG_TX_COMMIT, "SYSFLAG");
	ok(r.born_ts == 0x0000018a2b3c4d5eull, "BORNTIMESTAMP");
	ok(!r.born_host.v6, "BORNHOST is v4");
	is_mem(r.born_host.addr, "\xc0\xa8\x01\x0a", 4, "BORNHOST address");
	is_int(r.born_host.port, 54321, "BORNHOST port");
	ok(r.store_ts == 0x0000018a2b3c4d5full, "STORETIMESTAMP");
	ok(!r.store_host.v6, "STOREHOST is v4");
	is_mem(r.store_host.addr, "\x0a\x00\x00\x01", 4, "STOREHOST address");
	is_int(r.store_host.port, 10911, "STOREHOST port");
	is_int(r.reconsume_times, 2, "RECONSUMETIMES");
	ok(r.prepared_tx_offset == 0x2122232425262728ull,
	   "PREPARED TRANSACTION OFFSET");
	is_int(r.body_len, 9, "BODYLEN");
	ok(r.body == b + HAND_OFF_BODY, "body points at offset 88");
	is_int(r.topic_len, 9, "TOPICLEN");
	ok((const unsigned char *)r.topic == b + HAND_OFF_TOPICLEN + 1,
	   "topic points at offset 98");
	is_mem(r.topic, "TopicTest", 9, "TOPIC");
	is_int(r.props_len, 18, "PROPLEN");
	ok((const unsigned char *)r.props == b + HAND_OFF_PROPLEN + 2,
	   "properties point at offset 109");
	is_mem(r.props, hand_props, 18, "PROPERTIES");
	is_int(kmq_body_crc("123456789", 9), 0x4bf43926,
	       "kmq_body_crc() of the check string");
}

static void test_hand_encode(void)
{
	unsigned char buf[200];
	struct kmq_record r;

	hand_struct(&r);
	r.total_size = 12345;	/* ignored */
	memset(buf, 0xee, sizeof(buf));
	is_int(kmq_record_encode(buf, sizeof(buf), &r), 127,
	       "encode returns the size");
	is_mem(buf, hand_rec, sizeof(hand_rec),
	       "encoder output equals the hand-built bytes");
	is_int(buf[127], 0xee, "nothing written past the record");

	/* Stray host bits in sys_flag are replaced by the hosts' v6. */
	r.sys_flag |= KMQ_SYSFLAG_BORNHOST_V6 | KMQ_SYSFLAG_STOREHOST_V6;
	memset(buf, 0xee, sizeof(buf));
	is_int(kmq_record_encode(buf, 127, &r), 127, "encode into exact cap");
	is_mem(buf, hand_rec, sizeof(hand_rec),
	       "host bits follow born_host.v6/store_host.v6");

	r.magic = 0;
	is_int(kmq_record_encode(buf, sizeof(buf), &r), 127,
	       "magic 0 means v1");
	is_mem(buf, hand_rec, sizeof(hand_rec), "magic 0 writes v1");
}

static void test_size(void)
{
	is_int(kmq_record_size(KMQ_MAGIC_V1, 0, 0, 1, 0), 92,
	       "v1 v4 size: 91 + topic");
	is_int(kmq_record_size(0, 0, 9, 9, 18), 127, "magic 0 is v1");
	is_int(kmq_record_size(KMQ_MAGIC_V2, 0, 9, 9, 18), 128,
	       "v2 adds one byte of TOPICLEN");
	is_int(kmq_record_size(KMQ_MAGIC_V1, KMQ_SYSFLAG_BORNHOST_V6, 9, 9, 18),
	       139, "born v6 adds 12");
	is_int(kmq_record_size(KMQ_MAGIC_V1, KMQ_SYSFLAG_STOREHOST_V6, 9, 9,
			       18), 139, "store v6 adds 12");
	is_int(kmq_record_size(KMQ_MAGIC_V1, KMQ_SYSFLAG_BORNHOST_V6 |
			       KMQ_SYSFLAG_STOREHOST_V6, 9, 9, 18), 151,
	       "both v6 add 24");
	is_int(kmq_record_size(KMQ_MAGIC_V1, 0, 0, 127, 32767),
	       91 + 127 + 32767, "v1 limits accepted");
	is_int(kmq_record_size(KMQ_MAGIC_V1, 0, 0, 128, 0), 0,
	       "v1 topic of 128 refused");
	is_int(kmq_record_size(KMQ_MAGIC_V2, 0, 0, 32767, 0), 92 + 32767,
	       "v2 topic of 32767 accepted");
	is_int(kmq_record_size(KMQ_MAGIC_V2, 0, 0, 32768, 0), 0,
	       "v2 topic of 32768 refused");
	is_int(kmq_record_size(KMQ_MAGIC_V1, 0, 0, 1, 32768), 0,
	       "props of 32768 refused");
	is_int(kmq_record_size(KMQ_MAGIC_V1, 0, 0, 0, 0), 0,
	       "empty topic refused");
	is_int(kmq_record_size(0x12345678, 0, 0, 1, 0), 0,
	       "unknown magic refused");
	is_int(kmq_record_size(KMQ_MAGIC_V1, 0, 0x7fffffffu, 1, 0), 0,
	       "size past 2^31 - 1 refused");
}

static int same_host(const struct kmq_host *a, const struct kmq_host *b)
{
	return a->v6 == b->v6 && a->port == b->port &&
	       !memcmp(a->addr, b->addr, a->v6 ? 16 : 4);
}

static void check_same(const struct kmq_record *a, const struct kmq_record *b,
		       const char *what)
{
	ok(a->body_crc == b->body_crc && a->queue_id == b->queue_id &&
	   a->flag == b->flag && a->queue_offset == b->queue_offset &&
	   a->phys_offset == b->phys_offset && a->born_ts == b->born_ts &&
	   a->store_ts == b->store_ts &&
	   a->reconsume_times == b->reconsume_times &&
	   a->prepared_tx_offset == b->prepared_tx_offset,
	   "%s: integer fields survive", what);
	ok(same_host(&a->born_host, &b->born_host) &&
	   same_host(&a->store_host, &b->store_host),
	   "%s: hosts survive", what);
	ok(a->body_len == b->body_len &&
	   !memcmp(a->body, b->body, a->body_len) &&
	   a->topic_len == b->topic_len &&
	   !memcmp(a->topic, b->topic, a->topic_len) &&
	   a->props_len == b->props_len &&
	   !memcmp(a->props, b->props, a->props_len),
	   "%s: body, topic and properties survive", what);
}

static const unsigned char v6_born[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
};

static const unsigned char v6_store[16] = {
	0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33,
	0x44, 0x55
};

static void test_roundtrip(void)
{
	static const char * const names[4] = {
		"v4/v4", "v6/v4", "v4/v6", "v6/v6"
	};
	unsigned char buf[512];
	struct kmq_record in, out;
	int i, m, n;

	for (m = 0; m < 2; m++) {
		for (i = 0; i < 4; i++) {
			char what[64];
			__u32 want;

			hand_struct(&in);
			in.magic = m ? KMQ_MAGIC_V2 : KMQ_MAGIC_V1;
			in.sys_flag = KMQ_SYSFLAG_COMPRESSED |
				      KMQ_SYSFLAG_COMPRESS_ZLIB;
			in.body_crc = kmq_body_crc(in.body, in.body_len);
			if (i & 1) {
				in.born_host.v6 = true;
				memcpy(in.born_host.addr, v6_born, 16);
			}
			if (i & 2) {
				in.store_host.v6 = true;
				memcpy(in.store_host.addr, v6_store, 16);
			}
			snprintf(what, sizeof(what), "%s %s", m ? "v2" : "v1",
				 names[i]);
			want = 127 + m + ((i & 1) ? 12 : 0) +
			       ((i & 2) ? 12 : 0);
			n = kmq_record_encode(buf, sizeof(buf), &in);
			is_int(n, want, "%s: encoded size", what);
			is_int(kmq_record_decode(buf, n, &out, KMQ_DECODE_CRC),
			       0, "%s: decodes", what);
			is_int(out.magic, in.magic, "%s: magic", what);
			is_int(out.total_size, want, "%s: total size", what);
			is_int(out.sys_flag,
			       in.sys_flag |
			       ((i & 1) ? KMQ_SYSFLAG_BORNHOST_V6 : 0) |
			       ((i & 2) ? KMQ_SYSFLAG_STOREHOST_V6 : 0),
			       "%s: sysflag host bits", what);
			check_same(&in, &out, what);
		}
	}
}

/* Offsets of a v6/v6 record computed by hand from the field table. */
static void test_v6_layout(void)
{
	unsigned char buf[256];
	struct kmq_record r;

	hand_struct(&r);
	r.born_host.v6 = true;
	memcpy(r.born_host.addr, v6_born, 16);
	r.store_host.v6 = true;
	memcpy(r.store_host.addr, v6_store, 16);
	is_int(kmq_record_encode(buf, sizeof(buf), &r), 151,
	       "v6/v6 size 127 + 24");
	/* SYSFLAG 0x08 | 0x10 | 0x20 = 0x38 */
	is_mem(buf + 36, "\x00\x00\x00\x38", 4, "v6: SYSFLAG at 36");
	is_mem(buf + 48, v6_born, 16, "v6: BORNHOST address at 48");
	is_mem(buf + 64, "\x00\x00\xd4\x31", 4, "v6: BORNHOST port at 64");
	is_mem(buf + 68, "\x00\x00\x01\x8a\x2b\x3c\x4d\x5f", 8,
	       "v6: STORETIMESTAMP at 68");
	is_mem(buf + 76, v6_store, 16, "v6: STOREHOST address at 76");
	is_mem(buf + 92, "\x00\x00\x2a\x9f", 4, "v6: STOREHOST port at 92");
	is_mem(buf + 96, "\x00\x00\x00\x02", 4, "v6: RECONSUMETIMES at 96");
	is_mem(buf + 100, "\x21\x22\x23\x24\x25\x26\x27\x28", 8,
	       "v6: PREPARED TRANSACTION OFFSET at 100");
	is_mem(buf + 108, "\0\0\0\011123456789", 13,
	       "v6: BODYLEN at 108, BODY at 112");
	is_mem(buf + 121, "\011TopicTest", 10, "v6: TOPICLEN at 121");
	is_mem(buf + 131, "\x00\x12", 2, "v6: PROPLEN at 131");
}

static void test_v2(void)
{
	unsigned char buf[512];
	char topic[200];
	struct kmq_record r, out;

	memset(topic, 'x', sizeof(topic));
	hand_struct(&r);
	r.magic = KMQ_MAGIC_V2;
	r.topic = topic;
	r.topic_len = sizeof(topic);
	is_int(kmq_record_encode(buf, sizeof(buf), &r), 92 + 9 + 200 + 18,
	       "v2 record with a 200-byte topic");
	is_mem(buf + 4, "\xda\xa3\x20\xab", 4, "v2 MAGICCODE");
	is_mem(buf + 97, "\x00\xc8", 2, "v2 TOPICLEN is 2 bytes at 97");
	is_int(kmq_record_decode(buf, sizeof(buf), &out, KMQ_DECODE_CRC), 0,
	       "v2 record decodes");
	is_int(out.topic_len, 200, "v2 topic length");
	ok((const unsigned char *)out.topic == buf + 99, "v2 topic at 99");

	r.magic = KMQ_MAGIC_V1;
	is_int(kmq_record_encode(buf, sizeof(buf), &r), -KMQ_FMT_ETOOBIG,
	       "v1 refuses a 200-byte topic");
}

static void test_encode_errors(void)
{
	static char big[32768];
	unsigned char buf[256];
	struct kmq_record r;

	hand_struct(&r);
	memset(buf, 0xee, sizeof(buf));
	is_int(kmq_record_encode(buf, 126, &r), -KMQ_FMT_ENOSPACE,
	       "cap one short: ENOSPACE");
	is_int(buf[0] & buf[3] & buf[125], 0xee,
	       "nothing written on ENOSPACE");
	r.topic = big;
	r.topic_len = 128;
	is_int(kmq_record_encode(buf, sizeof(buf), &r), -KMQ_FMT_ETOOBIG,
	       "v1 topic 128: ETOOBIG");
	r.topic_len = 127;
	is_int(kmq_record_encode(buf, sizeof(buf), &r), 91 + 9 + 127 + 18,
	       "v1 topic 127 fits");
	r.topic_len = 0;
	is_int(kmq_record_encode(buf, sizeof(buf), &r), -KMQ_FMT_ETOPICLEN,
	       "empty topic: ETOPICLEN");
	hand_struct(&r);
	r.props = big;
	r.props_len = 32768;
	is_int(kmq_record_encode(buf, sizeof(buf), &r), -KMQ_FMT_ETOOBIG,
	       "props 32768: ETOOBIG");
	hand_struct(&r);
	r.magic = 0xdeadbeef;
	is_int(kmq_record_encode(buf, sizeof(buf), &r), -KMQ_FMT_EMAGIC,
	       "unknown magic: EMAGIC");
	hand_struct(&r);
	r.body = NULL;
	r.body_len = 0;
	r.props = NULL;
	r.props_len = 0;
	is_int(kmq_record_encode(buf, sizeof(buf), &r), 100,
	       "empty body and properties: 91 + 9");
	is_int(kmq_record_decode(buf, 100, &r, KMQ_DECODE_CRC),
	       -KMQ_FMT_ECRC, "its BODYCRC was written as given");
	is_int(kmq_record_decode(buf, 100, &r, 0), 0, "and decodes without");
	is_int(r.body_len + r.props_len, 0, "empty parts decode empty");
}

/* Decode a damaged copy of hand_rec: @patch bytes at @off, @len bytes. */
static int damaged(size_t off, const void *patch, size_t plen, size_t len,
		   unsigned int flags)
{
	unsigned char buf[256];
	struct kmq_record r;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, hand_rec, sizeof(hand_rec));
	memcpy(buf + off, patch, plen);
	return decode_copy(buf, len, &r, flags);
}

static void test_malformed(void)
{
	unsigned char b2[sizeof(hand_rec)];
	struct kmq_record r;
	size_t i;
	int bad = 0;

	/* Every strict prefix fails; exact-size copies let ASan watch. */
	for (i = 0; i < sizeof(hand_rec); i++)
		if (decode_copy(hand_rec, i, &r, KMQ_DECODE_CRC) >= 0)
			bad++;
	is_int(bad, 0, "every truncation of the record is refused");
	is_int(decode_copy(hand_rec, 3, &r, 0), -KMQ_FMT_ESHORT,
	       "3 bytes: ESHORT");
	is_int(decode_copy(hand_rec, 7, &r, 0), -KMQ_FMT_ESHORT,
	       "7 bytes: ESHORT");
	is_int(decode_copy(hand_rec, 90, &r, 0), -KMQ_FMT_ESHORT,
	       "90 bytes, below the fixed part: ESHORT");
	is_int(decode_copy(hand_rec, 126, &r, 0), -KMQ_FMT_ETOTALSIZE,
	       "126 bytes of a 127-byte record: ETOTALSIZE");

	is_int(damaged(4, "\xda\xa3\x20\xa8", 4, 127, 0), -KMQ_FMT_EMAGIC,
	       "bad magic: EMAGIC");
	is_int(damaged(0, "\x00\x00\x00\x5a", 4, 127, 0), -KMQ_FMT_ETOTALSIZE,
	       "TOTALSIZE 90 below the minimum: ETOTALSIZE");
	is_int(damaged(0, "\x00\x00\x00\x00", 4, 127, 0), -KMQ_FMT_ETOTALSIZE,
	       "TOTALSIZE 0: ETOTALSIZE");
	is_int(damaged(0, "\x00\x00\x00\x80", 4, 127, 0), -KMQ_FMT_ETOTALSIZE,
	       "TOTALSIZE 128 past a 127-byte buffer: ETOTALSIZE");
	is_int(damaged(0, "\xff\xff\xff\xff", 4, 127, 0), -KMQ_FMT_ETOTALSIZE,
	       "TOTALSIZE 2^32 - 1: ETOTALSIZE");
	/*
	 * Born v6 needs 12 more fixed bytes: 103 <= 127, so BODYLEN is now
	 * read at 96 from '9', 0x09, 'T', 'o': far too long.
	 */
	is_int(damaged(36, "\x00\x00\x00\x18", 4, 127, 0), -KMQ_FMT_EBODYLEN,
	       "v6 bit on a v4 record: EBODYLEN");
	/* Both hosts v6: the fixed part is 115; TOTALSIZE 110 is below. */
	is_int(damaged(0, "\x00\x00\x00\x6e", 4, 127, 0), -KMQ_FMT_EPROPLEN,
	       "TOTALSIZE 110 with v4 hosts: 3 bytes for PROPLEN 18: EPROPLEN");
	memcpy(b2, hand_rec, sizeof(b2));
	b2[3] = 110;
	b2[39] = 0x38;
	is_int(decode_copy(b2, sizeof(b2), &r, 0), -KMQ_FMT_ETOTALSIZE,
	       "TOTALSIZE 110 below the v6/v6 fixed part: ETOTALSIZE");

	is_int(damaged(HAND_OFF_BODYLEN, "\x00\x00\x00\xc8", 4, 127, 0),
	       -KMQ_FMT_EBODYLEN, "BODYLEN 200: EBODYLEN");
	is_int(damaged(HAND_OFF_BODYLEN, "\x80\x00\x00\x00", 4, 127, 0),
	       -KMQ_FMT_EBODYLEN, "negative BODYLEN: EBODYLEN");
	/* 127 - 88 = 39 bytes after BODYLEN; 1 + 2 are for the lengths. */
	is_int(damaged(HAND_OFF_BODYLEN, "\x00\x00\x00\x25", 4, 127, 0),
	       -KMQ_FMT_EBODYLEN, "BODYLEN 37 eats PROPLEN: EBODYLEN");
	is_int(damaged(HAND_OFF_TOPICLEN, "\x64", 1, 127, 0),
	       -KMQ_FMT_ETOPICLEN, "TOPICLEN 100: ETOPICLEN");
	is_int(damaged(HAND_OFF_TOPICLEN, "\x1c", 1, 127, 0),
	       -KMQ_FMT_ETOPICLEN, "TOPICLEN 28 eats PROPLEN: ETOPICLEN");
	is_int(damaged(HAND_OFF_TOPICLEN, "\x00", 1, 127, 0),
	       -KMQ_FMT_ETOPICLEN, "TOPICLEN 0: ETOPICLEN");
	is_int(damaged(HAND_OFF_TOPICLEN, "\x80", 1, 127, 0),
	       -KMQ_FMT_ETOPICLEN, "TOPICLEN negative (0x80): ETOPICLEN");
	is_int(damaged(HAND_OFF_PROPLEN, "\x00\x13", 2, 127, 0),
	       -KMQ_FMT_EPROPLEN, "PROPLEN 19: EPROPLEN");
	is_int(damaged(HAND_OFF_PROPLEN, "\x80\x00", 2, 127, 0),
	       -KMQ_FMT_EPROPLEN, "PROPLEN negative: EPROPLEN");
	/* TOTALSIZE 130 over a 130-byte buffer: three bytes unaccounted. */
	is_int(damaged(0, "\x00\x00\x00\x82", 4, 130, 0),
	       -KMQ_FMT_ESIZEMISMATCH, "parts short of TOTALSIZE");
	is_int(damaged(HAND_OFF_PROPLEN, "\x00\x11", 2, 127, 0),
	       -KMQ_FMT_ESIZEMISMATCH, "PROPLEN one short: ESIZEMISMATCH");
	is_int(damaged(HAND_OFF_BODY, "X", 1, 127, KMQ_DECODE_CRC),
	       -KMQ_FMT_ECRC, "flipped body byte: ECRC");
	is_int(damaged(HAND_OFF_BODY, "X", 1, 127, 0), 0,
	       "without KMQ_DECODE_CRC the body is not checked");
	is_int(damaged(8, "\xcb\xf4\x39\x26", 4, 127, KMQ_DECODE_CRC),
	       -KMQ_FMT_ECRC, "unmasked CRC in BODYCRC: ECRC");
	is_int(damaged(0, "\x00\x00\x00\x04\xcb\xd4\x31\x94", 8, 127, 0),
	       -KMQ_FMT_EBLANK, "BLANK of 4 bytes: EBLANK");
	is_int(damaged(0, "\x00\x00\x00\x80\xcb\xd4\x31\x94", 8, 127, 0),
	       -KMQ_FMT_EBLANK, "BLANK past the buffer: EBLANK");
}

static void test_blank(void)
{
	unsigned char buf[64];
	struct kmq_record r;

	memset(buf, 0xee, sizeof(buf));
	is_int(kmq_blank_encode(buf, 7), -KMQ_FMT_ENOSPACE,
	       "BLANK of 7: ENOSPACE");
	is_int(buf[0], 0xee, "nothing written");
	is_int(kmq_blank_encode(buf, 40), 0, "BLANK of 40");
	is_mem(buf, "\x00\x00\x00\x28\xcb\xd4\x31\x94", 8, "BLANK bytes");
	is_int(buf[8], 0xee, "only 8 bytes written");
	is_int(decode_copy(buf, 40, &r, KMQ_DECODE_CRC), 1,
	       "BLANK decodes to 1");
	is_int(r.total_size, 40, "BLANK size");
	is_int(r.magic, KMQ_MAGIC_BLANK, "BLANK magic");
	is_int(kmq_blank_encode(buf, 8), 0, "BLANK of exactly 8");
	is_int(decode_copy(buf, 8, &r, 0), 1, "8-byte BLANK decodes");
	is_int(decode_copy(buf, 7, &r, 0), -KMQ_FMT_ESHORT,
	       "7 bytes of a BLANK: ESHORT");
}

/* Walk a segment as recovery does: records, then a BLANK to the end. */
static void test_walk(void)
{
	unsigned char seg[400];
	struct kmq_record r;
	__u32 pos = 0, left;
	int n, i, recs = 0, blanks = 0, errs = 0;

	memset(seg, 0, sizeof(seg));
	for (i = 0; i < 3; i++) {
		hand_struct(&r);
		r.phys_offset = pos;
		r.queue_offset = i;
		n = kmq_record_encode(seg + pos, sizeof(seg) - pos, &r);
		pos += n;
	}
	left = sizeof(seg) - pos;
	ok(left < 127 + KMQ_BLANK_SIZE, "a fourth record does not fit");
	kmq_blank_encode(seg + pos, left);

	pos = 0;
	while (pos < sizeof(seg)) {
		n = kmq_record_decode(seg + pos, sizeof(seg) - pos, &r,
				      KMQ_DECODE_CRC);
		if (n < 0) {
			errs++;
			break;
		}
		if (n == 1) {
			blanks++;
		} else {
			if (r.phys_offset != pos ||
			    r.queue_offset != (__u64)recs)
				errs++;
			recs++;
		}
		pos += r.total_size;
	}
	is_int(recs, 3, "walk: three records");
	is_int(blanks, 1, "walk: one BLANK");
	is_int(errs, 0, "walk: offsets match, no errors");
	is_int(pos, sizeof(seg), "walk: ends exactly at the segment end");
}

static void test_strerror(void)
{
	int i, j, dup = 0;

	for (i = 0; i < KMQ_FMT_NERR; i++) {
		const char *s = kmq_fmt_strerror(-i);

		if (!s || !*s || !strcmp(s, kmq_fmt_strerror(-KMQ_FMT_NERR)))
			dup++;
		for (j = 0; j < i; j++)
			if (!strcmp(s, kmq_fmt_strerror(-j)))
				dup++;
	}
	is_int(dup, 0, "every error code has its own text");
	ok(!strcmp(kmq_fmt_strerror(KMQ_FMT_ECRC),
		   kmq_fmt_strerror(-KMQ_FMT_ECRC)), "positive code accepted");
	ok(!!kmq_fmt_strerror(-1000), "unknown code has a text");
	ok(!!kmq_fmt_strerror(-2147483647 - 1), "INT_MIN has a text");
	diag("ETOTALSIZE: %s", kmq_fmt_strerror(-KMQ_FMT_ETOTALSIZE));
}

int main(void)
{
	test_hand_decode();
	test_hand_encode();
	test_size();
	test_roundtrip();
	test_v6_layout();
	test_v2();
	test_encode_errors();
	test_malformed();
	test_blank();
	test_walk();
	test_strerror();
	return kmq_tap_done();
}
