// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_message.c - received messages: the records of a pull body decoded
 * by the uapi format code (body CRC checked), bodies inflated, tags, keys
 * and ids extracted, and a re-delivered message given back its original
 * topic (property RETRY_TOPIC). Also kmq_message_prop().
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"
#include "kmq_msgid.h"
#include "kmq_props.h"
#include "kmq_record.h"

/* Append the decimal @v at *@p. */
static void kmqc_put_dec(char **p, uint32_t v)
{
	char tmp[10];
	unsigned int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*(*p)++ = tmp[--n];
}

/* "ip:port" ("[ip6]:port"); IPv4 without printf, as every message has two. */
static void kmqc_host_str(const struct kmq_host *h, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN], *p = buf;
	unsigned int i;

	if (h->v6 || len < sizeof("255.255.255.255:4294967295")) {
		if (!inet_ntop(h->v6 ? AF_INET6 : AF_INET, h->addr, ip,
			       sizeof(ip)))
			snprintf(ip, sizeof(ip), "?");
		snprintf(buf, len, h->v6 ? "[%s]:%u" : "%s:%u", ip, h->port);
		return;
	}
	for (i = 0; i < 4; i++) {
		kmqc_put_dec(&p, h->addr[i]);
		*p++ = i < 3 ? '.' : ':';
	}
	kmqc_put_dec(&p, h->port);
	*p = '\0';
}

/* Copy @n bytes and a NUL to *@p; return where they went. */
static char *kmqc_put_str(char **p, const char *s, size_t n)
{
	char *at = *p;

	memcpy(at, s, n);
	at[n] = '\0';
	*p += n + 1;
	return at;
}

/* The properties a received message shows, found in one pass. */
enum {
	KMQC_RP_TAGS,
	KMQC_RP_KEYS,
	KMQC_RP_UNIQ,
	KMQC_RP_RETRY,
	KMQC_RP_N,
};

/*
 * Each of the properties above in @v and @vl (NULL and 0 when absent),
 * as kmq_props_get() finds them: the last of a name wins, and in a
 * malformed string none is found.
 */
static void kmqc_rec_props(const struct kmq_record *r, const char **v,
			   uint32_t *vl)
{
	static const char * const names[KMQC_RP_N] = {
		[KMQC_RP_TAGS] = KMQ_PROP_TAGS,
		[KMQC_RP_KEYS] = KMQ_PROP_KEYS,
		[KMQC_RP_UNIQ] = KMQ_PROP_UNIQ_KEY,
		[KMQC_RP_RETRY] = KMQ_PROP_RETRY_TOPIC,
	};
	struct kmq_prop pr;
	uint32_t pos = 0;
	unsigned int i;
	int ret;

	memset(v, 0, KMQC_RP_N * sizeof(*v));
	memset(vl, 0, KMQC_RP_N * sizeof(*vl));
	while ((ret = kmq_props_next(r->props, r->props_len, &pos, &pr)) > 0) {
		for (i = 0; i < KMQC_RP_N; i++) {
			if (pr.name_len == strlen(names[i]) &&
			    !memcmp(pr.name, names[i], pr.name_len)) {
				v[i] = pr.value;
				vl[i] = pr.value_len;
				break;
			}
		}
	}
	if (ret < 0) {
		memset(v, 0, KMQC_RP_N * sizeof(*v));
		memset(vl, 0, KMQC_RP_N * sizeof(*vl));
	}
}

static struct kmqc_msg *kmqc_msg_from_record(const struct kmq_record *r,
					     const char *broker)
{
	const char *tags, *keys, *rtopic = NULL, *uniq, *pv[KMQC_RP_N];
	uint32_t tl, kl, rl = 0, ul, pl[KMQC_RP_N];
	size_t blen = strlen(broker), size;
	struct kmq_message_ext *x;
	void *inflated = NULL;
	struct kmqc_msg *m;
	size_t ilen = 0;
	char *p;
	int raw = 0;

	kmqc_rec_props(r, pv, pl);
	tags = pv[KMQC_RP_TAGS];
	tl = pl[KMQC_RP_TAGS];
	keys = pv[KMQC_RP_KEYS];
	kl = pl[KMQC_RP_KEYS];
	uniq = pv[KMQC_RP_UNIQ];
	ul = pl[KMQC_RP_UNIQ];
	if (r->topic_len >= strlen(KMQC_RETRY_PREFIX) &&
	    !memcmp(r->topic, KMQC_RETRY_PREFIX, strlen(KMQC_RETRY_PREFIX))) {
		rtopic = pv[KMQC_RP_RETRY];
		rl = pl[KMQC_RP_RETRY];
	}
	if (rtopic && !rl)
		rtopic = NULL;
	if (r->sys_flag & KMQ_SYSFLAG_COMPRESSED) {
		uint32_t type = r->sys_flag & KMQ_SYSFLAG_COMPRESS_TYPE_MASK;

		if ((type && type != KMQ_SYSFLAG_COMPRESS_ZLIB) ||
		    kmqc_decompress(r->body, r->body_len, KMQC_INFLATE_MAX,
				    &inflated, &ilen)) {
			kmqc_warn("message at %s offset %llu: body cannot be inflated, delivered as stored",
				  broker, (unsigned long long)r->phys_offset);
			raw = 1;
		}
	}
	size = sizeof(*m) + (rtopic ? rl : r->topic_len) + 1 + tl + 1 + kl +
	       1 + r->props_len + 1 + blen + 1 +
	       (inflated ? 0 : r->body_len + 1);
	m = calloc(1, size);
	if (!m) {
		free(inflated);
		return NULL;
	}
	x = &m->pub;
	p = m->data;
	x->topic = rtopic ? kmqc_put_str(&p, rtopic, rl) :
		   kmqc_put_str(&p, r->topic, r->topic_len);
	x->tags = tags ? kmqc_put_str(&p, tags, tl) : NULL;
	x->keys = keys ? kmqc_put_str(&p, keys, kl) : NULL;
	x->props = kmqc_put_str(&p, r->props ? r->props : "", r->props_len);
	x->props_len = r->props_len;
	x->broker_name = kmqc_put_str(&p, broker, blen);
	if (inflated) {
		m->body_heap = inflated;
		x->body = inflated;
		x->body_len = ilen;
	} else {
		/* calloc()ed: a NUL follows the body, as after an inflated one */
		memcpy(p, r->body, r->body_len);
		x->body = p;
		x->body_len = r->body_len;
	}
	x->body_raw = raw;
	x->flag = (int32_t)r->flag;
	x->sys_flag = r->sys_flag;
	x->body_crc = r->body_crc;
	x->queue_id = r->queue_id;
	x->queue_offset = r->queue_offset;
	x->commitlog_offset = r->phys_offset;
	x->reconsume_times = r->reconsume_times;
	x->born_ts = r->born_ts;
	x->store_ts = r->store_ts;
	kmqc_host_str(&r->born_host, x->born_host, sizeof(x->born_host));
	kmqc_host_str(&r->store_host, x->store_host, sizeof(x->store_host));
	kmq_msgid_encode(x->offset_msg_id, &r->store_host, r->phys_offset);
	if (uniq && ul && ul <= KMQ_MSG_ID_MAX)
		memcpy(x->msg_id, uniq, ul);	/* calloc()ed: NUL-ended */
	else
		memcpy(x->msg_id, x->offset_msg_id, sizeof(x->msg_id));
	return m;
}

void kmqc_msg_free(struct kmqc_msg *m)
{
	if (!m)
		return;
	free(m->body_heap);
	free(m);
}

int kmqc_msgs_decode(const uint8_t *body, size_t len, const char *broker,
		     struct kmqc_msg ***out)
{
	struct kmqc_msg **v = NULL;
	unsigned int n = 0, cap = 0;
	size_t off = 0;

	while (off < len) {
		struct kmq_record r;
		struct kmqc_msg *m;
		size_t left = len - off;
		int ret;

		ret = kmq_record_decode(body + off,
					left > UINT32_MAX ? UINT32_MAX : left,
					&r, KMQ_DECODE_CRC);
		if (ret) {
			kmqc_warn("pull body from %s: record at byte %zu: %s; the rest is dropped",
				  broker, off, ret < 0 ? kmq_fmt_strerror(ret) :
				  "end-of-segment filler");
			break;
		}
		off += r.total_size;
		m = kmqc_msg_from_record(&r, broker);
		if (!m)
			break;
		if (n == cap) {
			unsigned int ncap = cap ? cap * 2 : 32;
			struct kmqc_msg **nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				kmqc_msg_free(m);
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = m;
	}
	*out = v;
	return n;
}

int kmq_message_prop(const struct kmq_message_ext *m, const char *name,
		     char *buf, size_t len)
{
	const char *v;
	uint32_t vl;

	if (!m || !name || kmq_props_get(m->props, m->props_len, name,
					 strlen(name), &v, &vl))
		return -ENOENT;
	if (buf && len)
		snprintf(buf, len, "%.*s", (int)vl, v);
	return vl;
}
