/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_view.h - libkmq: a stored message looked up by its offset message
 * id (VIEW_MESSAGE_BY_ID, 33), as mqadmin's queryMsgById does, and the
 * records of a raw answer (QUERY_MESSAGE, 12) decoded into messages. Part
 * of the public API of libkmq next to kmq.h; same rules for threads,
 * ownership and errors (see kmq.h).
 */
#ifndef KMQ_VIEW_H
#define KMQ_VIEW_H

#include "kmq/kmq.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * kmq_client_view_message() - fetch the message whose offset message id
 * (32 hex characters for an IPv4 store host, 56 for IPv6; either case) is
 * @msg_id from the broker whose address the id holds.
 * @c: the client
 * @msg_id: the broker's id of the record (kmq_message_ext.offset_msg_id,
 *	kmq_send_result.offset_msg_id)
 * @out: the message, released with kmq_message_ext_free(); its
 *	broker_name is the store host address ("ip:port") from the id
 *
 * Return: 0 and *@out; -EINVAL for an id that is not an offset message
 * id; KMQ_ERR_BROKER(code) when the broker answers an error (1
 * SYSTEM_ERROR when it holds no record at that offset); -EPROTO when the
 * answer is not a record at that offset; or a request error.
 */
KMQ_API int kmq_client_view_message(struct kmq_client *c, const char *msg_id,
				    struct kmq_message_ext **out);

/**
 * kmq_messages_decode() - the commitlog records of @body (@len bytes, as
 * a pull or QUERY_MESSAGE answer carries them) as messages: body CRC
 * checked, bodies inflated; a malformed record ends the list.
 * @broker_name: what the messages' broker_name says
 * @out: the array (free()) of messages (each kmq_message_ext_free())
 * Return: how many (0 with *@out NULL for none), or -EINVAL.
 */
KMQ_API int kmq_messages_decode(const void *body, size_t len,
				const char *broker_name,
				struct kmq_message_ext ***out);

/** kmq_message_ext_free() - free a message of this header's functions. */
KMQ_API void kmq_message_ext_free(struct kmq_message_ext *m);

#ifdef __cplusplus
}
#endif

#endif /* KMQ_VIEW_H */
