// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_msg.c - outgoing messages on the wire: the properties string
 * (KEYS, TAGS, DELAY, WAIT, UNIQ_KEY and the application's own), the
 * message id a producer gives each message (UNIQ_KEY), the header of
 * SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320), and a batch body.
 */
#include <arpa/inet.h>
#include <inttypes.h>
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

/* Append one pair to @buf (KMQ_PROPS_MAX + 1 bytes) at *@pos. */
static int kmqc_prop_add(char *buf, uint32_t *pos, const char *name,
			 const char *value)
{
	int ret;

	if (!kmqc_prop_text_ok(name) || !*name || !kmqc_prop_text_ok(value))
		return kmqc_fail(-EINVAL,
				 "property %s: empty name, or \\1 or \\2 in it",
				 name ? name : "(null)");
	ret = kmq_props_put(buf, KMQ_PROPS_MAX, pos, name, strlen(name),
			    value, strlen(value));
	if (ret == -KMQ_FMT_ENOSPACE)
		return kmqc_fail(-EMSGSIZE, "properties over %d bytes",
				 KMQ_PROPS_MAX);
	return ret ? kmqc_fail(-EINVAL, "property %s", name) : 0;
}

int kmqc_msg_props(const struct kmq_message *m, const char *uniq, char **out)
{
	char *buf = malloc(KMQ_PROPS_MAX + 1), level[12];
	uint32_t pos = 0;
	unsigned int i;
	int ret = 0;

	if (!buf)
		return kmqc_fail(-ENOMEM, "properties");
	if (m->keys)
		ret = kmqc_prop_add(buf, &pos, KMQ_PROP_KEYS, m->keys);
	if (!ret && m->tags)
		ret = kmqc_prop_add(buf, &pos, KMQ_PROP_TAGS, m->tags);
	if (!ret && m->delay_level > 0) {
		snprintf(level, sizeof(level), "%d", m->delay_level);
		ret = kmqc_prop_add(buf, &pos, KMQ_PROP_DELAY, level);
	}
	if (!ret)
		ret = kmqc_prop_add(buf, &pos, KMQ_PROP_WAIT, "true");
	if (!ret && uniq)
		ret = kmqc_prop_add(buf, &pos, KMQ_PROP_UNIQ_KEY, uniq);
	for (i = 0; !ret && i < m->nprops; i++)
		ret = kmqc_prop_add(buf, &pos, m->props[i].name,
				    m->props[i].value);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[pos] = '\0';
	*out = buf;
	return pos;
}

/*
 * UNIQ_KEY: 16 bytes in uppercase hex: the client's IPv4 address, the low
 * 16 bits of the pid, 4 random bytes drawn once per process, and a 48-bit
 * counter starting at a random value. Unique within a process, and across
 * processes unless their random parts collide.
 */
static uint32_t kmqc_uniq_rnd;
static uint64_t kmqc_uniq_counter;
static pthread_once_t kmqc_uniq_once = PTHREAD_ONCE_INIT;

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
}

void kmqc_uniq_id(const char *client_ip, char out[KMQC_UNIQ_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t b[16] = { 0 };
	unsigned int i;
	uint64_t n;

	pthread_once(&kmqc_uniq_once, kmqc_uniq_seed);
	inet_pton(AF_INET, client_ip, b);
	kmq_put_be16(b + 4, (uint16_t)getpid());
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

int kmqc_send_req(struct kmq_client *c, struct kmq_rmt_cmd *req,
		  const struct kmqc_send_hdr *h)
{
	char d[16], e[16], f[16], g[24], hf[16];
	int ret;

	ret = kmqc_req(c, req, h->batch ? KMQ_REQ_SEND_BATCH_MESSAGE :
		       KMQ_REQ_SEND_MESSAGE_V2);
	if (ret)
		return ret;
	snprintf(d, sizeof(d), "%u", h->default_queues);
	snprintf(e, sizeof(e), "%d", h->queue_id);
	snprintf(f, sizeof(f), "%u", h->sys_flag);
	snprintf(g, sizeof(g), "%" PRIu64, h->born_ts);
	snprintf(hf, sizeof(hf), "%d", h->flag);
	/* SEND_MESSAGE_V2's one-letter names of SEND_MESSAGE's fields. */
	ret = kmqc_exts(req, "a", h->group, "b", h->topic,
			"c", h->default_topic, "d", d, "e", e, "f", f,
			"g", g, "h", hf, "i", h->props ? h->props : "",
			"j", "0", "k", "false",
			"m", h->batch ? "true" : "false", NULL);
	if (ret)
		kmq_rmt_cmd_free(req);
	return ret;
}
