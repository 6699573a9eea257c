// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_msg.c - outgoing messages on the wire: the properties string
 * (KEYS, TAGS, DELAY, WAIT, UNIQ_KEY and the application's own), the
 * message id a producer gives each message (UNIQ_KEY), the header of
 * SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320), and a batch body.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "kmq_endian.h"
#include "kmq_props.h"
#include "kmq_record.h"
#include "kmq_send_int.h"

#define KMQC_DELAY_LEVELS	18

int kmqc_msg_check(const struct kmq_message *m, size_t max_size)
{
	if (!m)
		return kmqc_fail(-EINVAL, "no message");
	if (!kmqc_name_ok(m->topic, KMQ_TOPIC_MAX))
		return kmqc_fail(-EINVAL, "topic: 1..%d printable bytes",
				 KMQ_TOPIC_MAX);
	if (m->body_len && !m->body)
		return kmqc_fail(-EINVAL, "body_len %zu without a body",
				 m->body_len);
	if (!m->body_len)
		return kmqc_fail(-EINVAL, "the message body is empty");
	if (m->body_len > max_size)
		return kmqc_fail(-EMSGSIZE, "body of %zu bytes, at most %zu",
				 m->body_len, max_size);
	if (m->delay_level < 0 || m->delay_level > KMQC_DELAY_LEVELS)
		return kmqc_fail(-EINVAL, "delay level %d not in 0..%d",
				 m->delay_level, KMQC_DELAY_LEVELS);
	if (m->nprops && !m->props)
		return kmqc_fail(-EINVAL, "nprops without props");
	return 0;
}

static bool kmqc_prop_text_ok(const char *s)
{
	return s && !strchr(s, KMQ_PROP_NAME_SEP) &&
	       !strchr(s, KMQ_PROP_PAIR_SEP);
}

/* Append one pair at *@pos to @buf, of @cap bytes and one for a NUL. */
static int kmqc_prop_add(char *buf, uint32_t cap, uint32_t *pos,
			 const char *name, const char *value)
{
	int ret;

	if (!kmqc_prop_text_ok(name) || !*name || !kmqc_prop_text_ok(value))
		return kmqc_fail(-EINVAL,
				 "property %s: empty name, or \\1 or \\2 in it",
				 name ? name : "(null)");
	ret = kmq_props_put(buf, cap, pos, name, strlen(name), value,
			    strlen(value));
	if (ret == -KMQ_FMT_ENOSPACE)
		return kmqc_fail(-EMSGSIZE, "properties over %d bytes",
				 KMQ_PROPS_MAX);
	return ret ? kmqc_fail(-EINVAL, "property %s", name) : 0;
}

/* The length of a pair, at most KMQ_PROPS_MAX + 1 (then too long). */
static size_t kmqc_pair_len(const char *name, const char *value)
{
	size_t n = name ? strnlen(name, KMQ_PROPS_MAX) : 0;

	n += value ? strnlen(value, KMQ_PROPS_MAX) : 0;
	return n + 2 > KMQ_PROPS_MAX ? KMQ_PROPS_MAX + 1 : n + 2;
}

size_t kmqc_msg_props_size(const struct kmq_message *m, bool uniq)
{
	size_t n = kmqc_pair_len(KMQ_PROP_WAIT, "true");
	unsigned int i;

	if (m->keys)
		n += kmqc_pair_len(KMQ_PROP_KEYS, m->keys);
	if (m->tags)
		n += kmqc_pair_len(KMQ_PROP_TAGS, m->tags);
	if (m->delay_level > 0)
		n += kmqc_pair_len(KMQ_PROP_DELAY, "18");
	if (uniq)
		n += strlen(KMQ_PROP_UNIQ_KEY) + KMQC_UNIQ_LEN + 2;
	for (i = 0; i < m->nprops && n <= KMQ_PROPS_MAX; i++)
		n += kmqc_pair_len(m->props[i].name, m->props[i].value);
	return n > KMQ_PROPS_MAX ? KMQ_PROPS_MAX : n;
}

int kmqc_msg_props_put(const struct kmq_message *m, const char *uniq,
		       char *buf, size_t cap)
{
	uint32_t pos = 0, c = cap > KMQ_PROPS_MAX ? KMQ_PROPS_MAX : cap;
	char level[12];
	unsigned int i;
	int ret = 0;

	if (m->keys)
		ret = kmqc_prop_add(buf, c, &pos, KMQ_PROP_KEYS, m->keys);
	if (!ret && m->tags)
		ret = kmqc_prop_add(buf, c, &pos, KMQ_PROP_TAGS, m->tags);
	if (!ret && m->delay_level > 0) {
		kmqc_i64_str(m->delay_level, level);
		ret = kmqc_prop_add(buf, c, &pos, KMQ_PROP_DELAY, level);
	}
	if (!ret)
		ret = kmqc_prop_add(buf, c, &pos, KMQ_PROP_WAIT, "true");
	if (!ret && uniq)
		ret = kmqc_prop_add(buf, c, &pos, KMQ_PROP_UNIQ_KEY, uniq);
	for (i = 0; !ret && i < m->nprops; i++)
		ret = kmqc_prop_add(buf, c, &pos, m->props[i].name,
				    m->props[i].value);
	if (ret)
		return ret;
	buf[pos] = '\0';
	return pos;
}

int kmqc_msg_props(const struct kmq_message *m, const char *uniq, char **out)
{
	size_t cap = kmqc_msg_props_size(m, uniq);
	char *buf = malloc(cap + 1);
	int ret;

	if (!buf)
		return kmqc_fail(-ENOMEM, "properties");
	ret = kmqc_msg_props_put(m, uniq, buf, cap);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	return ret;
}

/*
 * UNIQ_KEY: 16 bytes in uppercase hex: the client's IPv4 address, the low
 * 16 bits of the pid, 4 random bytes drawn once per process, and a 48-bit
 * counter starting at a random value. Unique within a process, and across
 * processes unless their random parts collide.
 */
static uint32_t kmqc_uniq_rnd;
static uint64_t kmqc_uniq_counter;
static uint16_t kmqc_uniq_pid;	/* getpid() is a system call */
static pthread_once_t kmqc_uniq_once = PTHREAD_ONCE_INIT;

static void kmqc_uniq_forked(void)
{
	kmqc_uniq_pid = (uint16_t)getpid();
}

static void kmqc_uniq_seed(void)
{
	uint8_t r[10] = { 0 };

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		uint64_t t = kmqc_now_ms() ^ ((uint64_t)getpid() << 32);

		memcpy(r, &t, sizeof(t));
	}
	kmqc_uniq_rnd = kmq_get_be32(r);
	kmqc_uniq_counter = (uint64_t)kmq_get_be16(r + 4) << 32 |
			    kmq_get_be32(r + 6) >> 1;
	kmqc_uniq_pid = (uint16_t)getpid();
	pthread_atfork(NULL, NULL, kmqc_uniq_forked);
}

void kmqc_uniq_id(const char *client_ip, char out[KMQC_UNIQ_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t b[16] = { 0 };
	unsigned int i;
	uint64_t n;

	pthread_once(&kmqc_uniq_once, kmqc_uniq_seed);
	inet_pton(AF_INET, client_ip, b);
	kmq_put_be16(b + 4, __atomic_load_n(&kmqc_uniq_pid, __ATOMIC_RELAXED));
	kmq_put_be32(b + 6, kmqc_uniq_rnd);
	n = __atomic_add_fetch(&kmqc_uniq_counter, 1, __ATOMIC_RELAXED);
	kmq_put_be16(b + 10, (uint16_t)(n >> 32));
	kmq_put_be32(b + 12, (uint32_t)n);
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[KMQC_UNIQ_LEN] = '\0';
}

int kmqc_batch_body(const struct kmq_message *msgs, unsigned int n,
		    const struct kmqc_uniq *uniq, struct kmq_buf *out)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		const struct kmq_message *m = &msgs[i];
		uint8_t h[20], p2[2];
		char *props;
		int plen;

		plen = kmqc_msg_props(m, uniq ? uniq[i].s : NULL, &props);
		if (plen < 0)
			return plen;
		/* [size][magic 0][crc 0][flag][bodyLen][body][propLen][props] */
		kmq_put_be32(h, 20 + m->body_len + 2 + plen);
		kmq_put_be32(h + 4, 0);
		kmq_put_be32(h + 8, 0);
		kmq_put_be32(h + 12, (uint32_t)m->flag);
		kmq_put_be32(h + 16, m->body_len);
		kmq_put_be16(p2, plen);
		ret = kmq_buf_put(out, h, sizeof(h));
		if (!ret)
			ret = kmq_buf_put(out, m->body, m->body_len);
		if (!ret)
			ret = kmq_buf_put(out, p2, sizeof(p2));
		if (!ret)
			ret = kmq_buf_put(out, props, plen);
		free(props);
		if (ret)
			return kmqc_fail(-ENOMEM, "batch body");
	}
	return 0;
}

void kmqc_send_req(struct kmq_client *c, struct kmqc_req *r,
		   const struct kmqc_send_hdr *h)
{
	kmqc_req_init(c, r, h->batch ? KMQ_REQ_SEND_BATCH_MESSAGE :
		      KMQ_REQ_SEND_MESSAGE_V2);
	/* SEND_MESSAGE_V2's one-letter names of SEND_MESSAGE's fields. */
	kmqc_req_add(r, "a", h->group);
	kmqc_req_add(r, "b", h->topic);
	kmqc_req_add(r, "c", h->default_topic);
	kmqc_req_add_i64(r, "d", h->default_queues);
	kmqc_req_add_i64(r, "e", h->queue_id);
	kmqc_req_add_i64(r, "f", h->sys_flag);
	kmqc_req_add_i64(r, "g", (int64_t)h->born_ts);
	kmqc_req_add_i64(r, "h", h->flag);
	kmqc_req_add(r, "i", h->props ? h->props : "");
	kmqc_req_add(r, "j", "0");
	kmqc_req_add(r, "k", "false");
	kmqc_req_add(r, "m", h->batch ? "true" : "false");
}
