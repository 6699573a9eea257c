// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_view.c - a stored message by its offset message id: the id decoded
 * (uapi kmq_msgid), VIEW_MESSAGE_BY_ID (33) sent to the store host it
 * names, the record answered decoded like a pulled one; and any body of
 * records decoded into messages (kmq_view.h).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq/kmq_view.h"
#include "kmq_consumer_int.h"
#include "kmq_msgid.h"

/* "ip:port" ("[ip]:port" for IPv6) of @h into @buf. */
static int kmqc_view_addr(const struct kmq_host *h, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(h->v6 ? AF_INET6 : AF_INET, h->addr, ip, sizeof(ip)))
		return -EINVAL;
	snprintf(buf, len, h->v6 ? "[%s]:%u" : "%s:%u", ip, h->port);
	return 0;
}

static struct kmqc_msg *kmqc_view_msg(struct kmq_message_ext *m)
{
	return (struct kmqc_msg *)((char *)m - offsetof(struct kmqc_msg, pub));
}

int kmq_client_view_message(struct kmq_client *c, const char *msg_id,
			    struct kmq_message_ext **out)
{
	char addr[KMQ_ADDR_MAX + 1], off[24];
	struct kmq_field f = { "offset", off };
	struct kmq_response *resp = NULL;
	struct kmqc_msg **v = NULL;
	struct kmq_host host;
	__u64 phys;
	size_t len;
	int ret, n, i;

	if (!c || !msg_id || !out)
		return kmqc_fail(-EINVAL, "%s arguments", __func__);
	*out = NULL;
	len = strlen(msg_id);
	if ((len != KMQ_MSGID_LEN_V4 && len != KMQ_MSGID_LEN_V6) ||
	    kmq_msgid_decode(msg_id, len, &host, &phys) ||
	    kmqc_view_addr(&host, addr, sizeof(addr)) || !host.port ||
	    host.port > 65535)
		return kmqc_fail(-EINVAL,
				 "message id '%s': not an offset message id (%d or %d hex characters: store host, port, commitlog offset)",
				 msg_id, KMQ_MSGID_LEN_V4, KMQ_MSGID_LEN_V6);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)phys);
	ret = kmq_client_request(c, addr, KMQ_REQ_VIEW_MESSAGE_BY_ID, &f, 1,
				 NULL, 0, 0, &resp);
	if (ret)
		return ret;
	if (resp->code) {
		ret = kmqc_fail(KMQ_ERR_BROKER(resp->code),
				"VIEW_MESSAGE_BY_ID %s at %s: %s", msg_id,
				addr, resp->remark ? resp->remark :
				"(no remark)");
		kmq_response_free(resp);
		return ret;
	}
	n = kmqc_msgs_decode(resp->body, resp->body_len, addr, &v);
	kmq_response_free(resp);
	ret = 0;
	if (n < 1 || v[0]->pub.commitlog_offset != (int64_t)phys)
		ret = kmqc_fail(-EPROTO,
				"VIEW_MESSAGE_BY_ID %s at %s: the answer is not the record at offset %llu",
				msg_id, addr, (unsigned long long)phys);
	else
		*out = &v[0]->pub;
	for (i = ret ? 0 : 1; i < n; i++)
		kmqc_msg_free(v[i]);
	free(v);
	return ret;
}

int kmq_messages_decode(const void *body, size_t len,
			const char *broker_name, struct kmq_message_ext ***out)
{
	struct kmq_message_ext **pub;
	struct kmqc_msg **v = NULL;
	int n, i;

	if (!out || (len && !body) || !broker_name)
		return kmqc_fail(-EINVAL, "%s arguments", __func__);
	*out = NULL;
	n = kmqc_msgs_decode(body, len, broker_name, &v);
	if (!n) {
		free(v);
		return 0;
	}
	pub = malloc(n * sizeof(*pub));
	if (!pub) {
		for (i = 0; i < n; i++)
			kmqc_msg_free(v[i]);
		free(v);
		return kmqc_fail(-ENOMEM, "decode %d messages", n);
	}
	for (i = 0; i < n; i++)
		pub[i] = &v[i]->pub;
	free(v);
	*out = pub;
	return n;
}

void kmq_message_ext_free(struct kmq_message_ext *m)
{
	if (m)
		kmqc_msg_free(kmqc_view_msg(m));
}
