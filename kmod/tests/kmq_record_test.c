// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_record_test.c - KUnit suite "kmq_record": the commitlog record codec
 * (uapi/kmq_record.c) as compiled into kmq.ko.
 *
 * A record laid out byte by byte from the field table of kmq_record.h is
 * decoded and re-encoded; every host and magic combination round trips;
 * each kind of damage is refused with its own enum kmq_fmt_err, from a
 * buffer of exactly the length handed to the decoder so that KASAN sees
 * any read past it; a hardware watchpoint shows TOTALSIZE is the last
 * field stored.
 */
#include <kunit/test.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <linux/ptrace.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kmq_record.h"

/*
 * v1, IPv4 hosts, body "123456789", topic "TopicTest", properties
 * "TAGS\1TagA\2KEYS\1k1\2": 91 fixed bytes + 9 + 9 + 18 = 127.
 */
#define KMQ_T_REC_SIZE		127
#define KMQ_T_OFF_BODYLEN	84
#define KMQ_T_OFF_BODY		88
#define KMQ_T_OFF_TOPICLEN	97
#define KMQ_T_OFF_TOPIC		98
#define KMQ_T_OFF_PROPLEN	107
#define KMQ_T_OFF_PROPS		109

static const u8 kmq_t_rec[KMQ_T_REC_SIZE] = {
	0x00, 0x00, 0x00, 0x7f,				/* TOTALSIZE 127 */
	0xda, 0xa3, 0x20, 0xa7,				/* MAGICCODE v1 */
	0x4b, 0xf4, 0x39, 0x26,		/* BODYCRC: 0xcbf43926 & 0x7fffffff */
	0x00, 0x00, 0x00, 0x03,				/* QUEUEID 3 */
	0x0a, 0x0b, 0x0c, 0x0d,				/* FLAG */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* QUEUEOFFSET */
	0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,	/* PHYSICALOFFSET */
	0x00, 0x00, 0x00, 0x08,				/* SYSFLAG: COMMIT */
	0x00, 0x00, 0x01, 0x8a, 0x2b, 0x3c, 0x4d, 0x5e,	/* BORNTIMESTAMP */
	192, 168, 1, 10, 0x00, 0x00, 0xd4, 0x31,	/* BORNHOST :54321 */
	0x00, 0x00, 0x01, 0x8a, 0x2b, 0x3c, 0x4d, 0x5f,	/* STORETIMESTAMP */
	10, 0, 0, 1, 0x00, 0x00, 0x2a, 0x9f,		/* STOREHOST :10911 */
	0x00, 0x00, 0x00, 0x02,				/* RECONSUMETIMES */
	0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,	/* PREPARED TX OFF */
	0x00, 0x00, 0x00, 0x09,				/* BODYLEN 9 */
	'1', '2', '3', '4', '5', '6', '7', '8', '9',	/* BODY */
	0x09,						/* TOPICLEN 9 */
	'T', 'o', 'p', 'i', 'c', 'T', 'e', 's', 't',	/* TOPIC */
	0x00, 0x12,					/* PROPLEN 18 */
	'T', 'A', 'G', 'S', 0x01, 'T', 'a', 'g', 'A', 0x02,
	'K', 'E', 'Y', 'S', 0x01, 'k', '1', 0x02,	/* PROPERTIES */
};

static const char kmq_t_props[] = "TAGS\001TagA\002KEYS\001k1\002";

static const u8 kmq_t_v6_born[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
};

static const u8 kmq_t_v6_store[16] = {
	0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33,
	0x44, 0x55
};

/* The struct kmq_t_rec describes. */
static void kmq_t_rec_struct(struct kmq_record *r)
{
	memset(r, 0, sizeof(*r));
	r->magic = KMQ_MAGIC_V1;
	r->body_crc = 0x4bf43926;
	r->queue_id = 3;
	r->flag = 0x0a0b0c0d;
	r->queue_offset = 0x0102030405060708ULL;
	r->phys_offset = 0x1112131415161718ULL;
	r->sys_flag = KMQ_SYSFLAG_TX_COMMIT;
	r->born_ts = 0x0000018a2b3c4d5eULL;
	memcpy(r->born_host.addr, "\xc0\xa8\x01\x0a", 4);
	r->born_host.port = 54321;
	r->store_ts = 0x0000018a2b3c4d5fULL;
	memcpy(r->store_host.addr, "\x0a\x00\x00\x01", 4);
	r->store_host.port = 10911;
	r->reconsume_times = 2;
	r->prepared_tx_offset = 0x2122232425262728ULL;
	r->body = "123456789";
	r->body_len = 9;
	r->topic = "TopicTest";
	r->topic_len = 9;
	r->props = kmq_t_props;
	r->props_len = sizeof(kmq_t_props) - 1;
}

/*
 * A test-managed copy of @len bytes: the first @n of @src, zeros after.
 * Sized exactly, so KASAN reports any access at or past @len.
 */
static u8 *kmq_t_exact(struct kunit *test, const void *src, size_t n,
		       size_t len)
{
	u8 *p = kunit_kzalloc(test, len ? len : 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
	memcpy(p, src, min(n, len));
	return p;
}

static void kmq_record_test_decode_known(struct kunit *test)
{
	u8 *b = kmq_t_exact(test, kmq_t_rec, KMQ_T_REC_SIZE, KMQ_T_REC_SIZE);
	struct kmq_record r;

	KUNIT_ASSERT_EQ(test, kmq_record_decode(b, KMQ_T_REC_SIZE, &r,
						KMQ_DECODE_CRC), 0);
	KUNIT_EXPECT_EQ(test, r.total_size, 127U);
	KUNIT_EXPECT_EQ(test, r.magic, KMQ_MAGIC_V1);
	KUNIT_EXPECT_EQ(test, r.body_crc, 0x4bf43926U);
	KUNIT_EXPECT_EQ(test, r.queue_id, 3U);
	KUNIT_EXPECT_EQ(test, r.flag, 0x0a0b0c0dU);
	KUNIT_EXPECT_EQ(test, r.queue_offset, 0x0102030405060708ULL);
	KUNIT_EXPECT_EQ(test, r.phys_offset, 0x1112131415161718ULL);
	KUNIT_EXPECT_EQ(test, r.sys_flag, (u32)KMQ_SYSFLAG_TX_COMMIT);
	KUNIT_EXPECT_EQ(test, r.born_ts, 0x0000018a2b3c4d5eULL);
	KUNIT_EXPECT_FALSE(test, r.born_host.v6);
	KUNIT_EXPECT_MEMEQ(test, r.born_host.addr, "\xc0\xa8\x01\x0a", 4);
	KUNIT_EXPECT_EQ(test, r.born_host.port, 54321U);
	KUNIT_EXPECT_EQ(test, r.store_ts, 0x0000018a2b3c4d5fULL);
	KUNIT_EXPECT_FALSE(test, r.store_host.v6);
	KUNIT_EXPECT_MEMEQ(test, r.store_host.addr, "\x0a\x00\x00\x01", 4);
	KUNIT_EXPECT_EQ(test, r.store_host.port, 10911U);
	KUNIT_EXPECT_EQ(test, r.reconsume_times, 2U);
	KUNIT_EXPECT_EQ(test, r.prepared_tx_offset, 0x2122232425262728ULL);
	KUNIT_EXPECT_EQ(test, r.body_len, 9U);
	KUNIT_EXPECT_PTR_EQ(test, r.body, (const void *)(b + KMQ_T_OFF_BODY));
	KUNIT_EXPECT_EQ(test, r.topic_len, 9U);
	KUNIT_EXPECT_PTR_EQ(test, (const void *)r.topic,
			    (const void *)(b + KMQ_T_OFF_TOPIC));
	KUNIT_EXPECT_EQ(test, r.props_len, 18U);
	KUNIT_EXPECT_PTR_EQ(test, (const void *)r.props,
			    (const void *)(b + KMQ_T_OFF_PROPS));
	KUNIT_EXPECT_MEMEQ(test, r.props, kmq_t_props, 18);
}

static void kmq_record_test_encode_known(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, KMQ_T_REC_SIZE + 1, GFP_KERNEL);
	struct kmq_record r;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	kmq_t_rec_struct(&r);
	r.total_size = 12345;	/* computed by the encoder, not taken */
	memset(buf, 0xee, KMQ_T_REC_SIZE + 1);
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, KMQ_T_REC_SIZE + 1, &r),
			KMQ_T_REC_SIZE);
	KUNIT_EXPECT_MEMEQ(test, buf, kmq_t_rec, KMQ_T_REC_SIZE);
	KUNIT_EXPECT_EQ(test, buf[KMQ_T_REC_SIZE], 0xee);

	/* Host bits of sys_flag follow the hosts, whatever the caller set. */
	r.sys_flag |= KMQ_SYSFLAG_BORNHOST_V6 | KMQ_SYSFLAG_STOREHOST_V6;
	r.magic = 0;		/* 0 means v1 */
	memset(buf, 0xee, KMQ_T_REC_SIZE + 1);
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, KMQ_T_REC_SIZE, &r),
			KMQ_T_REC_SIZE);
	KUNIT_EXPECT_MEMEQ(test, buf, kmq_t_rec, KMQ_T_REC_SIZE);
}

static void kmq_record_test_size(struct kunit *test)
{
	const u32 v6 = KMQ_SYSFLAG_BORNHOST_V6 | KMQ_SYSFLAG_STOREHOST_V6;

	KUNIT_EXPECT_EQ(test, KMQ_REC_FIXED_V4, 91);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1, 0, 0, 1, 0), 92U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(0, 0, 9, 9, 18), 127U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V2, 0, 9, 9, 18),
			128U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1,
					      KMQ_SYSFLAG_BORNHOST_V6,
					      9, 9, 18), 139U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1,
					      KMQ_SYSFLAG_STOREHOST_V6,
					      9, 9, 18), 139U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1, v6, 9, 9, 18),
			151U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1, 0, 0,
					      KMQ_TOPIC_MAX_V1,
					      KMQ_PROPS_MAX),
			91U + 127 + 32767);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1, 0, 0, 128, 0), 0U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V2, 0, 0, 32767, 0),
			92U + 32767);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V2, 0, 0, 32768, 0),
			0U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1, 0, 0, 1, 32768),
			0U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1, 0, 0, 0, 0), 0U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_BLANK, 0, 0, 1, 0),
			0U);
	KUNIT_EXPECT_EQ(test, kmq_record_size(KMQ_MAGIC_V1, 0, 0x7fffffffU,
					      1, 0), 0U);
}

/* Round trips: v1 and v2, each with the four host combinations. */
struct kmq_t_trip {
	const char *desc;
	u32 magic;
	bool born_v6;
	bool store_v6;
	u32 size;
};

static const struct kmq_t_trip kmq_t_trips[] = {
	{ "v1 v4/v4", KMQ_MAGIC_V1, false, false, 127 },
	{ "v1 v6/v4", KMQ_MAGIC_V1, true, false, 139 },
	{ "v1 v4/v6", KMQ_MAGIC_V1, false, true, 139 },
	{ "v1 v6/v6", KMQ_MAGIC_V1, true, true, 151 },
	{ "v2 v4/v4", KMQ_MAGIC_V2, false, false, 128 },
	{ "v2 v6/v4", KMQ_MAGIC_V2, true, false, 140 },
	{ "v2 v4/v6", KMQ_MAGIC_V2, false, true, 140 },
	{ "v2 v6/v6", KMQ_MAGIC_V2, true, true, 152 },
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_trip, kmq_t_trips, desc);

static void kmq_t_expect_host(struct kunit *test, const struct kmq_host *a,
			      const struct kmq_host *b)
{
	KUNIT_EXPECT_EQ(test, a->v6, b->v6);
	KUNIT_EXPECT_EQ(test, a->port, b->port);
	KUNIT_EXPECT_MEMEQ(test, a->addr, b->addr, a->v6 ? 16 : 4);
}

static void kmq_record_test_roundtrip(struct kunit *test)
{
	const struct kmq_t_trip *t = test->param_value;
	struct kmq_record in, out;
	u32 want_flag;
	u8 *buf;
	int n;

	kmq_t_rec_struct(&in);
	in.magic = t->magic;
	in.sys_flag = KMQ_SYSFLAG_COMPRESSED | KMQ_SYSFLAG_COMPRESS_ZLIB |
		      KMQ_SYSFLAG_TX_PREPARED;
	in.body_crc = kmq_body_crc(in.body, in.body_len);
	want_flag = in.sys_flag;
	if (t->born_v6) {
		in.born_host.v6 = true;
		memcpy(in.born_host.addr, kmq_t_v6_born, 16);
		want_flag |= KMQ_SYSFLAG_BORNHOST_V6;
	}
	if (t->store_v6) {
		in.store_host.v6 = true;
		memcpy(in.store_host.addr, kmq_t_v6_store, 16);
		want_flag |= KMQ_SYSFLAG_STOREHOST_V6;
	}
	KUNIT_EXPECT_EQ(test, kmq_record_size(t->magic, want_flag, 9, 9, 18),
			t->size);

	buf = kunit_kzalloc(test, t->size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	n = kmq_record_encode(buf, t->size, &in);
	KUNIT_ASSERT_EQ(test, n, (int)t->size);
	KUNIT_ASSERT_EQ(test, kmq_record_decode(buf, n, &out, KMQ_DECODE_CRC),
			0);
	KUNIT_EXPECT_EQ(test, out.total_size, t->size);
	KUNIT_EXPECT_EQ(test, out.magic, t->magic);
	KUNIT_EXPECT_EQ(test, out.sys_flag, want_flag);
	KUNIT_EXPECT_EQ(test, out.body_crc, in.body_crc);
	KUNIT_EXPECT_EQ(test, out.queue_id, in.queue_id);
	KUNIT_EXPECT_EQ(test, out.flag, in.flag);
	KUNIT_EXPECT_EQ(test, out.queue_offset, in.queue_offset);
	KUNIT_EXPECT_EQ(test, out.phys_offset, in.phys_offset);
	KUNIT_EXPECT_EQ(test, out.born_ts, in.born_ts);
	KUNIT_EXPECT_EQ(test, out.store_ts, in.store_ts);
	KUNIT_EXPECT_EQ(test, out.reconsume_times, in.reconsume_times);
	KUNIT_EXPECT_EQ(test, out.prepared_tx_offset, in.prepared_tx_offset);
	kmq_t_expect_host(test, &out.born_host, &in.born_host);
	kmq_t_expect_host(test, &out.store_host, &in.store_host);
	KUNIT_ASSERT_EQ(test, out.body_len, in.body_len);
	KUNIT_EXPECT_MEMEQ(test, out.body, in.body, in.body_len);
	KUNIT_ASSERT_EQ(test, out.topic_len, in.topic_len);
	KUNIT_EXPECT_MEMEQ(test, out.topic, in.topic, in.topic_len);
	KUNIT_ASSERT_EQ(test, out.props_len, in.props_len);
	KUNIT_EXPECT_MEMEQ(test, out.props, in.props, in.props_len);
}

/* Offsets of a v6/v6 record, from the field table. */
static void kmq_record_test_v6_layout(struct kunit *test)
{
	u8 *buf = kunit_kzalloc(test, 151, GFP_KERNEL);
	struct kmq_record r;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	kmq_t_rec_struct(&r);
	r.born_host.v6 = true;
	memcpy(r.born_host.addr, kmq_t_v6_born, 16);
	r.store_host.v6 = true;
	memcpy(r.store_host.addr, kmq_t_v6_store, 16);
	KUNIT_ASSERT_EQ(test, kmq_record_encode(buf, 151, &r), 151);
	KUNIT_EXPECT_MEMEQ(test, buf, "\x00\x00\x00\x97", 4);
	KUNIT_EXPECT_MEMEQ(test, buf + 36, "\x00\x00\x00\x38", 4);
	KUNIT_EXPECT_MEMEQ(test, buf + 48, kmq_t_v6_born, 16);
	KUNIT_EXPECT_MEMEQ(test, buf + 64, "\x00\x00\xd4\x31", 4);
	KUNIT_EXPECT_MEMEQ(test, buf + 68,
			   "\x00\x00\x01\x8a\x2b\x3c\x4d\x5f", 8);
	KUNIT_EXPECT_MEMEQ(test, buf + 76, kmq_t_v6_store, 16);
	KUNIT_EXPECT_MEMEQ(test, buf + 92, "\x00\x00\x2a\x9f", 4);
	KUNIT_EXPECT_MEMEQ(test, buf + 96, "\x00\x00\x00\x02", 4);
	KUNIT_EXPECT_MEMEQ(test, buf + 100,
			   "\x21\x22\x23\x24\x25\x26\x27\x28", 8);
	KUNIT_EXPECT_MEMEQ(test, buf + 108, "\000\000\000\011123456789",
			   13);
	KUNIT_EXPECT_MEMEQ(test, buf + 121, "\x09TopicTest", 10);
	KUNIT_EXPECT_MEMEQ(test, buf + 131, "\x00\x12", 2);
	KUNIT_EXPECT_MEMEQ(test, buf + 133, kmq_t_props, 18);
}

/* v2: a 200-byte topic, too long for v1's one-byte TOPICLEN. */
static void kmq_record_test_v2_topic(struct kunit *test)
{
	const u32 size = 92 + 9 + 200 + 18;
	u8 *buf = kunit_kzalloc(test, size, GFP_KERNEL);
	char *topic = kunit_kmalloc(test, 200, GFP_KERNEL);
	struct kmq_record r, out;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, topic);
	memset(topic, 'x', 200);
	kmq_t_rec_struct(&r);
	r.magic = KMQ_MAGIC_V2;
	r.topic = topic;
	r.topic_len = 200;
	KUNIT_ASSERT_EQ(test, kmq_record_encode(buf, size, &r), (int)size);
	KUNIT_EXPECT_MEMEQ(test, buf + 4, "\xda\xa3\x20\xab", 4);
	KUNIT_EXPECT_MEMEQ(test, buf + 97, "\x00\xc8", 2);
	KUNIT_ASSERT_EQ(test, kmq_record_decode(buf, size, &out,
						KMQ_DECODE_CRC), 0);
	KUNIT_EXPECT_EQ(test, out.topic_len, 200U);
	KUNIT_EXPECT_PTR_EQ(test, (const void *)out.topic,
			    (const void *)(buf + 99));

	r.magic = KMQ_MAGIC_V1;
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, size, &r),
			-KMQ_FMT_ETOOBIG);
}

static void kmq_record_test_encode_errors(struct kunit *test)
{
	u8 *big = kunit_kzalloc(test, KMQ_PROPS_MAX + 1, GFP_KERNEL);
	u8 *buf = kunit_kmalloc(test, 256, GFP_KERNEL);
	struct kmq_record r;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, big);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	kmq_t_rec_struct(&r);
	memset(buf, 0xee, 256);
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, KMQ_T_REC_SIZE - 1, &r),
			-KMQ_FMT_ENOSPACE);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(buf, 0xee, 256),
			      "bytes written on ENOSPACE");

	r.topic = (const char *)big;
	r.topic_len = KMQ_TOPIC_MAX_V1 + 1;
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, 256, &r),
			-KMQ_FMT_ETOOBIG);
	r.topic_len = KMQ_TOPIC_MAX_V1;
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, 256, &r),
			91 + 9 + 127 + 18);
	r.topic_len = 0;
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, 256, &r),
			-KMQ_FMT_ETOPICLEN);

	kmq_t_rec_struct(&r);
	r.props = (const char *)big;
	r.props_len = KMQ_PROPS_MAX + 1;
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, 256, &r),
			-KMQ_FMT_ETOOBIG);

	kmq_t_rec_struct(&r);
	r.magic = 0xdeadbeef;
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, 256, &r),
			-KMQ_FMT_EMAGIC);
	r.magic = KMQ_MAGIC_BLANK;
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, 256, &r),
			-KMQ_FMT_EMAGIC);

	/* Empty body and properties; BODYCRC is written as given. */
	kmq_t_rec_struct(&r);
	r.body = NULL;
	r.body_len = 0;
	r.props = NULL;
	r.props_len = 0;
	KUNIT_EXPECT_EQ(test, kmq_record_encode(buf, 256, &r), 100);
	KUNIT_EXPECT_EQ(test, kmq_record_decode(buf, 100, &r, KMQ_DECODE_CRC),
			-KMQ_FMT_ECRC);
	KUNIT_EXPECT_EQ(test, kmq_record_decode(buf, 100, &r, 0), 0);
	KUNIT_EXPECT_EQ(test, r.body_len + r.props_len, 0U);
}

/*
 * Damage: up to two patches over a copy of kmq_t_rec, then @len bytes
 * (zero-padded past 127) are decoded from an exactly sized buffer.
 */
struct kmq_t_damage {
	const char *desc;
	u32 len;
	unsigned int flags;
	int want;
	u32 off1;
	const char *patch1;
	u32 len1;
	u32 off2;
	const char *patch2;
	u32 len2;
};

#define KMQ_T_CUT(d, n, w)	{ .desc = d, .len = n, .want = w }
#define KMQ_T_BAD(d, o, p, w) \
	{ .desc = d, .len = KMQ_T_REC_SIZE, .want = w, \
	  .off1 = o, .patch1 = p, .len1 = sizeof(p) - 1 }

static const struct kmq_t_damage kmq_t_damages[] = {
	KMQ_T_CUT("3 bytes: ESHORT", 3, -KMQ_FMT_ESHORT),
	KMQ_T_CUT("7 bytes: ESHORT", 7, -KMQ_FMT_ESHORT),
	KMQ_T_CUT("90 bytes, below the v1 fixed part: ESHORT", 90,
		  -KMQ_FMT_ESHORT),
	KMQ_T_CUT("126 of 127 bytes: ETOTALSIZE", 126, -KMQ_FMT_ETOTALSIZE),
	KMQ_T_BAD("magic DAA320A8: EMAGIC", 4, "\xda\xa3\x20\xa8",
		  -KMQ_FMT_EMAGIC),
	KMQ_T_BAD("magic 0: EMAGIC", 4, "\0\0\0\0", -KMQ_FMT_EMAGIC),
	KMQ_T_BAD("TOTALSIZE 90, below the minimum: ETOTALSIZE", 0,
		  "\x00\x00\x00\x5a", -KMQ_FMT_ETOTALSIZE),
	KMQ_T_BAD("TOTALSIZE 0: ETOTALSIZE", 0, "\0\0\0\0",
		  -KMQ_FMT_ETOTALSIZE),
	KMQ_T_BAD("TOTALSIZE 128 past the buffer: ETOTALSIZE", 0,
		  "\x00\x00\x00\x80", -KMQ_FMT_ETOTALSIZE),
	KMQ_T_BAD("TOTALSIZE 2^32-1: ETOTALSIZE", 0, "\xff\xff\xff\xff",
		  -KMQ_FMT_ETOTALSIZE),
	{ .desc = "TOTALSIZE 110 below the v6/v6 fixed part: ETOTALSIZE",
	  .len = KMQ_T_REC_SIZE, .want = -KMQ_FMT_ETOTALSIZE,
	  .off1 = 0, .patch1 = "\x00\x00\x00\x6e", .len1 = 4,
	  .off2 = 36, .patch2 = "\x00\x00\x00\x38", .len2 = 4 },
	/* Born v6 shifts BODYLEN to offset 96: '9' 09 'T' 'o'. */
	KMQ_T_BAD("v6 bit on a v4 record: EBODYLEN", 36, "\x00\x00\x00\x18",
		  -KMQ_FMT_EBODYLEN),
	KMQ_T_BAD("BODYLEN 200: EBODYLEN", KMQ_T_OFF_BODYLEN,
		  "\x00\x00\x00\xc8", -KMQ_FMT_EBODYLEN),
	KMQ_T_BAD("BODYLEN negative: EBODYLEN", KMQ_T_OFF_BODYLEN,
		  "\x80\x00\x00\x00", -KMQ_FMT_EBODYLEN),
	/* 39 bytes follow BODYLEN, 3 of them the two lengths. */
	KMQ_T_BAD("BODYLEN 37 eats PROPLEN: EBODYLEN", KMQ_T_OFF_BODYLEN,
		  "\x00\x00\x00\x25", -KMQ_FMT_EBODYLEN),
	KMQ_T_BAD("TOPICLEN 100: ETOPICLEN", KMQ_T_OFF_TOPICLEN, "\x64",
		  -KMQ_FMT_ETOPICLEN),
	KMQ_T_BAD("TOPICLEN 28 eats PROPLEN: ETOPICLEN", KMQ_T_OFF_TOPICLEN,
		  "\x1c", -KMQ_FMT_ETOPICLEN),
	KMQ_T_BAD("TOPICLEN 0: ETOPICLEN", KMQ_T_OFF_TOPICLEN, "\x00",
		  -KMQ_FMT_ETOPICLEN),
	KMQ_T_BAD("TOPICLEN negative: ETOPICLEN", KMQ_T_OFF_TOPICLEN, "\x80",
		  -KMQ_FMT_ETOPICLEN),
	/* As v2, TOPICLEN reads 09 'T' = 2388. */
	KMQ_T_BAD("v1 record relabelled v2: ETOPICLEN", 4, "\xda\xa3\x20\xab",
		  -KMQ_FMT_ETOPICLEN),
	KMQ_T_BAD("PROPLEN 19: EPROPLEN", KMQ_T_OFF_PROPLEN, "\x00\x13",
		  -KMQ_FMT_EPROPLEN),
	KMQ_T_BAD("PROPLEN negative: EPROPLEN", KMQ_T_OFF_PROPLEN, "\x80\x00",
		  -KMQ_FMT_EPROPLEN),
	KMQ_T_BAD("TOTALSIZE 110 leaves 3 bytes for PROPLEN 18: EPROPLEN", 0,
		  "\x00\x00\x00\x6e", -KMQ_FMT_EPROPLEN),
	KMQ_T_BAD("PROPLEN 17: ESIZEMISMATCH", KMQ_T_OFF_PROPLEN, "\x00\x11",
		  -KMQ_FMT_ESIZEMISMATCH),
	{ .desc = "TOTALSIZE 130, parts add up to 127: ESIZEMISMATCH",
	  .len = 130, .want = -KMQ_FMT_ESIZEMISMATCH,
	  .off1 = 0, .patch1 = "\x00\x00\x00\x82", .len1 = 4 },
	{ .desc = "body byte changed: ECRC", .len = KMQ_T_REC_SIZE,
	  .flags = KMQ_DECODE_CRC, .want = -KMQ_FMT_ECRC,
	  .off1 = KMQ_T_OFF_BODY, .patch1 = "X", .len1 = 1 },
	KMQ_T_BAD("body byte changed, CRC not asked: accepted",
		  KMQ_T_OFF_BODY, "X", 0),
	{ .desc = "BODYCRC not masked: ECRC", .len = KMQ_T_REC_SIZE,
	  .flags = KMQ_DECODE_CRC, .want = -KMQ_FMT_ECRC,
	  .off1 = 8, .patch1 = "\xcb\xf4\x39\x26", .len1 = 4 },
	KMQ_T_BAD("BLANK of 4 bytes: EBLANK", 0,
		  "\x00\x00\x00\x04\xcb\xd4\x31\x94", -KMQ_FMT_EBLANK),
	KMQ_T_BAD("BLANK past the buffer: EBLANK", 0,
		  "\x00\x00\x00\x80\xcb\xd4\x31\x94", -KMQ_FMT_EBLANK),
	{ .desc = "v2 in 91 bytes, below its fixed part: ESHORT", .len = 91,
	  .want = -KMQ_FMT_ESHORT,
	  .off1 = 4, .patch1 = "\xda\xa3\x20\xab", .len1 = 4 },
};

KUNIT_ARRAY_PARAM_DESC(kmq_t_damage, kmq_t_damages, desc);

static void kmq_record_test_malformed(struct kunit *test)
{
	const struct kmq_t_damage *d = test->param_value;
	u8 *img = kunit_kzalloc(test, 256, GFP_KERNEL);
	struct kmq_record r;
	u8 *b;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, img);
	memcpy(img, kmq_t_rec, KMQ_T_REC_SIZE);
	memcpy(img + d->off1, d->patch1, d->len1);
	if (d->patch2)
		memcpy(img + d->off2, d->patch2, d->len2);
	b = kmq_t_exact(test, img, 256, d->len);
	KUNIT_EXPECT_EQ_MSG(test, kmq_record_decode(b, d->len, &r, d->flags),
			    d->want, "%s", d->desc);
}

/* Every strict prefix of the record is refused, without overreading. */
static void kmq_record_test_truncated(struct kunit *test)
{
	struct kmq_record r;
	u32 len;
	u8 *b;

	for (len = 0; len < KMQ_T_REC_SIZE; len++) {
		b = kmq_t_exact(test, kmq_t_rec, KMQ_T_REC_SIZE, len);
		KUNIT_EXPECT_LT_MSG(test, kmq_record_decode(b, len, &r,
							    KMQ_DECODE_CRC),
				    0, "prefix of %u bytes accepted", len);
		kunit_kfree(test, b);
	}
}

static void kmq_record_test_blank(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, 40, GFP_KERNEL);
	struct kmq_record r;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	memset(buf, 0xee, 40);
	KUNIT_EXPECT_EQ(test, kmq_blank_encode(buf, KMQ_BLANK_SIZE - 1),
			-KMQ_FMT_ENOSPACE);
	KUNIT_EXPECT_EQ(test, buf[0], 0xee);
	KUNIT_EXPECT_EQ(test, kmq_blank_encode(buf, 40), 0);
	KUNIT_EXPECT_MEMEQ(test, buf, "\x00\x00\x00\x28\xcb\xd4\x31\x94", 8);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(buf + 8, 0xee, 32),
			      "BLANK wrote past its 8 bytes");
	KUNIT_EXPECT_EQ(test, kmq_record_decode(buf, 40, &r, KMQ_DECODE_CRC),
			1);
	KUNIT_EXPECT_EQ(test, r.total_size, 40U);
	KUNIT_EXPECT_EQ(test, r.magic, KMQ_MAGIC_BLANK);
	KUNIT_EXPECT_EQ(test, kmq_blank_encode(buf, KMQ_BLANK_SIZE), 0);
	KUNIT_EXPECT_EQ(test, kmq_record_decode(buf, 8, &r, 0), 1);
	KUNIT_EXPECT_EQ(test, kmq_record_decode(buf, 7, &r, 0),
			-KMQ_FMT_ESHORT);
}

/* A segment walked as recovery does: records, then a BLANK to the end. */
static void kmq_record_test_walk(struct kunit *test)
{
	const u32 seg_size = 400;
	u8 *seg = kunit_kzalloc(test, seg_size, GFP_KERNEL);
	int n, i, recs = 0, blanks = 0;
	struct kmq_record r;
	u32 pos = 0;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, seg);
	for (i = 0; i < 3; i++) {
		kmq_t_rec_struct(&r);
		r.phys_offset = pos;
		r.queue_offset = i;
		n = kmq_record_encode(seg + pos, seg_size - pos, &r);
		KUNIT_ASSERT_EQ(test, n, KMQ_T_REC_SIZE);
		pos += n;
	}
	KUNIT_ASSERT_LT(test, seg_size - pos, KMQ_T_REC_SIZE + KMQ_BLANK_SIZE);
	KUNIT_ASSERT_EQ(test, kmq_blank_encode(seg + pos, seg_size - pos), 0);

	pos = 0;
	while (pos < seg_size) {
		n = kmq_record_decode(seg + pos, seg_size - pos, &r,
				      KMQ_DECODE_CRC);
		KUNIT_ASSERT_GE_MSG(test, n, 0, "at %u", pos);
		if (n == 1) {
			blanks++;
		} else {
			KUNIT_EXPECT_EQ(test, r.phys_offset, (u64)pos);
			KUNIT_EXPECT_EQ(test, r.queue_offset, (u64)recs);
			recs++;
		}
		pos += r.total_size;
	}
	KUNIT_EXPECT_EQ(test, recs, 3);
	KUNIT_EXPECT_EQ(test, blanks, 1);
	KUNIT_EXPECT_EQ(test, pos, seg_size);
}

/* Known CRC-32 values (zlib's), masked as BODYCRC is. */
static void kmq_record_test_body_crc(struct kunit *test)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog";

	KUNIT_EXPECT_EQ(test, kmq_body_crc("123456789", 9), 0x4bf43926U);
	KUNIT_EXPECT_EQ(test, kmq_body_crc("a", 1), 0x68b7be43U);
	KUNIT_EXPECT_EQ(test, kmq_body_crc("abc", 3), 0x352441c2U);
	KUNIT_EXPECT_EQ(test, kmq_body_crc("kmq self check", 14),
			0x7b5a5d0cU);
	KUNIT_EXPECT_EQ(test, kmq_body_crc(NULL, 0), 0U);
	KUNIT_EXPECT_EQ(test, kmq_crc32(0, "123456789", 9), 0xcbf43926U);
	KUNIT_EXPECT_EQ(test, kmq_crc32(kmq_crc32(0, "1234", 4), "56789", 5),
			0xcbf43926U);
	KUNIT_EXPECT_EQ(test, kmq_crc32(0, fox, sizeof(fox) - 1), 0x414fa339U);
}

static void kmq_record_test_strerror(struct kunit *test)
{
	const char *unknown = kmq_fmt_strerror(-KMQ_FMT_NERR);
	int i, j;

	KUNIT_EXPECT_STREQ(test, kmq_fmt_strerror(-1000), unknown);
	KUNIT_EXPECT_STREQ(test, kmq_fmt_strerror(INT_MIN), unknown);
	KUNIT_EXPECT_STREQ(test, kmq_fmt_strerror(KMQ_FMT_ECRC),
			   kmq_fmt_strerror(-KMQ_FMT_ECRC));
	for (i = 0; i < KMQ_FMT_NERR; i++) {
		const char *s = kmq_fmt_strerror(-i);

		KUNIT_ASSERT_NOT_NULL(test, s);
		KUNIT_EXPECT_NE(test, s[0], '\0');
		KUNIT_EXPECT_STRNEQ(test, s, unknown);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_STRNEQ(test, s, kmq_fmt_strerror(-j));
	}
}

#ifdef CONFIG_HAVE_HW_BREAKPOINT
/*
 * TOTALSIZE last: a write watchpoint on the first 4 bytes of the output,
 * which starts filled with KMQ_T_FILL, snapshots the buffer when a store
 * first changes them; everything after them must be final by then.
 *
 * Hits that change nothing are ignored: QEMU's TCG (7.2) also reports an
 * unaligned store anywhere later in the same page, such as memcpy()'s
 * tail store into the body.
 */
#define KMQ_T_FILL	0xee

struct kmq_t_watch {
	u8 *buf;
	u32 len;
	int stores;
	unsigned long ip;
	u8 snap[KMQ_T_REC_SIZE];
};

static void kmq_t_watch_hit(struct perf_event *bp,
			    struct perf_sample_data *data,
			    struct pt_regs *regs)
{
	struct kmq_t_watch *w = bp->overflow_handler_context;

	if (!memchr_inv(w->buf, KMQ_T_FILL, 4))
		return;
	if (!w->stores++) {
		memcpy(w->snap, w->buf, w->len);
		w->ip = instruction_pointer(regs);
	}
}

static void kmq_t_watch(struct kunit *test, struct kmq_t_watch *w,
			const struct kmq_record *r, bool blank)
{
	struct perf_event * __percpu *bp;
	struct perf_event_attr attr;
	int ret;

	memset(w->buf, KMQ_T_FILL, w->len);
	memset(w->snap, 0, sizeof(w->snap));
	w->stores = 0;
	hw_breakpoint_init(&attr);
	attr.bp_addr = (unsigned long)w->buf;
	attr.bp_len = HW_BREAKPOINT_LEN_4;
	attr.bp_type = HW_BREAKPOINT_W;
	bp = register_wide_hw_breakpoint(&attr, kmq_t_watch_hit, w);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(bp), "watchpoint: %ld",
			       PTR_ERR(bp));
	if (blank)
		ret = kmq_blank_encode(w->buf, w->len);
	else
		ret = kmq_record_encode(w->buf, w->len, r);
	unregister_wide_hw_breakpoint(bp);
	KUNIT_EXPECT_EQ(test, ret, blank ? 0 : (int)w->len);
	KUNIT_EXPECT_GE_MSG(test, w->stores, 1,
			    "the watchpoint never saw the size stored");
}

static void kmq_record_test_totalsize_last(struct kunit *test)
{
	struct kmq_t_watch *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct kmq_record r;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w);
	w->buf = kunit_kmalloc(test, KMQ_T_REC_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w->buf);
	w->len = KMQ_T_REC_SIZE;
	kmq_t_rec_struct(&r);
	kmq_t_watch(test, w, &r, false);
	KUNIT_EXPECT_MEMEQ(test, w->buf, kmq_t_rec, KMQ_T_REC_SIZE);
	KUNIT_EXPECT_MEMEQ_MSG(test, w->snap + 4, kmq_t_rec + 4,
			       KMQ_T_REC_SIZE - 4,
			       "record not complete when %pS stored TOTALSIZE",
			       (void *)w->ip);

	/* The filler: MAGICCODE before the size. */
	w->len = 16;
	kmq_t_watch(test, w, NULL, true);
	KUNIT_EXPECT_MEMEQ(test, w->buf, "\x00\x00\x00\x10\xcb\xd4\x31\x94",
			   8);
	KUNIT_EXPECT_MEMEQ_MSG(test, w->snap + 4, "\xcb\xd4\x31\x94", 4,
			       "BLANK magic not stored when %pS stored its size",
			       (void *)w->ip);
}
#else
static void kmq_record_test_totalsize_last(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_HAVE_HW_BREAKPOINT");
}
#endif

static struct kunit_case kmq_record_test_cases[] = {
	KUNIT_CASE(kmq_record_test_decode_known),
	KUNIT_CASE(kmq_record_test_encode_known),
	KUNIT_CASE(kmq_record_test_size),
	KUNIT_CASE_PARAM(kmq_record_test_roundtrip, kmq_t_trip_gen_params),
	KUNIT_CASE(kmq_record_test_v6_layout),
	KUNIT_CASE(kmq_record_test_v2_topic),
	KUNIT_CASE(kmq_record_test_encode_errors),
	KUNIT_CASE_PARAM(kmq_record_test_malformed, kmq_t_damage_gen_params),
	KUNIT_CASE(kmq_record_test_truncated),
	KUNIT_CASE(kmq_record_test_blank),
	KUNIT_CASE(kmq_record_test_walk),
	KUNIT_CASE(kmq_record_test_body_crc),
	KUNIT_CASE(kmq_record_test_strerror),
	KUNIT_CASE(kmq_record_test_totalsize_last),
	{}
};

static struct kunit_suite kmq_record_test_suite = {
	.name = "kmq_record",
	.test_cases = kmq_record_test_cases,
};

kunit_test_suite(kmq_record_test_suite);
