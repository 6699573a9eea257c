/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_remote.h - kmq-bench's side of RocketMQ's remoting protocol, for
 * the modes that talk to a broker (produce, drain): a blocking TCP
 * connection with a receive buffer that yields whole frames, one-off
 * requests (create a topic, ask a queue's offsets), and request templates.
 *
 * A template is a request's frame prefix and header, encoded once with
 * the remoting codec (kmq_rmt_encode()) and copied per send with its
 * opaque and bornTimestamp patched in place: a load generator sharing two
 * CPUs with the broker cannot spend microseconds encoding each header.
 * Patching needs fixed widths: opaques stay within [2^30, 2^31) (ten
 * decimal digits in a JSON header) and millisecond time stamps have
 * thirteen digits. Each template is checked once by decoding a patched
 * copy with kmq_rmt_decode().
 */
#ifndef BENCH_REMOTE_H
#define BENCH_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmq_remoting.h"

/* Request and response codes the remote modes use (rocketmq.md, 4). */
enum {
	BENCH_REQ_PULL_MESSAGE = 11,
	BENCH_REQ_UPDATE_AND_CREATE_TOPIC = 17,
	BENCH_REQ_GET_MAX_OFFSET = 30,
	BENCH_REQ_GET_MIN_OFFSET = 31,
	BENCH_REQ_SEND_MESSAGE_V2 = 310,
	BENCH_REQ_SEND_BATCH_MESSAGE = 320,
};

enum {
	BENCH_RESP_SUCCESS = 0,
	BENCH_RESP_FLUSH_DISK_TIMEOUT = 10,
	BENCH_RESP_PULL_NOT_FOUND = 19,
	BENCH_RESP_PULL_RETRY_IMMEDIATELY = 20,
	BENCH_RESP_PULL_OFFSET_MOVED = 21,
};

/* Opaques of pipelined requests: ten decimal digits, positive int32. */
#define BENCH_OPAQUE_BASE	(1u << 30)
#define BENCH_OPAQUE_MASK	(BENCH_OPAQUE_BASE - 1)

#define BENCH_RBUF_INITIAL	(256u << 10)
#define BENCH_MAX_FRAME		(KMQ_RMT_MAX_FRAME + KMQ_RMT_PREFIX)

/**
 * struct bench_conn - a connection to the broker.
 * @fd: blocking socket; reads time out after BENCH_RECV_TIMEOUT_MS
 * @addr: "host:port" as given
 * @rbuf: received bytes; [@rstart, @rend) not yet consumed
 * @next_opaque: opaque of the next bench_rpc() request
 * @rpc_out: bench_rpc()'s encoding buffer
 */
struct bench_conn {
	int fd;
	char addr[128];
	uint8_t *rbuf;
	size_t rcap;
	size_t rstart;
	size_t rend;
	int32_t next_opaque;
	struct kmq_buf rpc_out;
};

#define BENCH_RECV_TIMEOUT_MS	200

/*
 * bench_conn_open() - connect to "host:port" (TCP_NODELAY), retrying
 * refused connections for up to @wait_ms. Return: 0 or -errno (message
 * printed).
 */
int bench_conn_open(struct bench_conn *c, const char *addr,
		    unsigned int wait_ms);
void bench_conn_close(struct bench_conn *c);

/* bench_conn_write() - write all @n bytes. Return: 0 or -errno. */
int bench_conn_write(struct bench_conn *c, const void *p, size_t n);

/*
 * bench_conn_read() - read what has arrived into the buffer (blocking
 * until something does or the receive timeout passes). Frames returned by
 * bench_conn_frame() before this call are invalid after it.
 * Return: bytes read, -EAGAIN on timeout, -ECONNRESET when the broker
 * closed the connection, or -errno.
 */
long bench_conn_read(struct bench_conn *c);

/*
 * bench_conn_frame() - take the next whole frame from the buffer.
 * Return: 1 with @frame and @len set, 0 when more bytes are needed,
 * -EPROTO for an impossible length field.
 */
int bench_conn_frame(struct bench_conn *c, const uint8_t **frame,
		     size_t *len);

/*
 * bench_rpc() - send @req (its opaque is set here) with @body and wait
 * up to @timeout_ms for its response, decoded into @resp (its body points
 * into the receive buffer: valid until the next read). Frames with other
 * opaques are dropped. Return: 0 or -errno (message printed).
 */
int bench_rpc(struct bench_conn *c, struct kmq_rmt_cmd *req,
	      const void *body, uint32_t body_len, struct kmq_rmt_cmd *resp,
	      unsigned int timeout_ms);

/**
 * struct bench_peek - what a pipelined response is matched and counted by.
 */
struct bench_peek {
	int32_t code;
	int32_t opaque;
	int32_t flag;
};

/*
 * bench_peek() - code, opaque and flag of the frame @frame of @len bytes.
 * A ROCKETMQ binary header is read in place (int16 code, uint8 language,
 * int16 version, int32 opaque, int32 flag); a JSON one is decoded with
 * kmq_rmt_decode(). Return: 0 or a negated KMQ_RMT_E* code.
 */
int bench_peek(const uint8_t *frame, size_t len, struct bench_peek *pk);

/**
 * struct bench_tmpl - a request's prefix and header, patched per send.
 * @hdr: frame prefix and header (its length field counts @body_len)
 * @hdr_len: their size; the body follows at this offset
 * @body_len: the body size the length field counts
 * @ser: serialization of the header
 * @opaque_at: where the opaque is in @hdr (be32, or ten digits in JSON)
 * @born_at: where the 13-digit bornTimestamp value is, or 0 for none
 */
struct bench_tmpl {
	uint8_t *hdr;
	size_t hdr_len;
	uint32_t body_len;
	enum kmq_rmt_serialize ser;
	size_t opaque_at;
	size_t born_at;
};

/* The value a template's patched fields hold when it is encoded. */
#define BENCH_TMPL_OPAQUE	1999999999
#define BENCH_TMPL_BORN		"9999999999999"

/*
 * bench_tmpl_init() - encode @req (opaque BENCH_TMPL_OPAQUE; the extField
 * @born_key, unless NULL, BENCH_TMPL_BORN) for a body of @body_len bytes,
 * find the fields to patch, and check a patched copy decodes to what was
 * patched in. Return: 0 or -errno (message printed).
 */
int bench_tmpl_init(struct bench_tmpl *t, const struct kmq_rmt_cmd *req,
		    uint32_t body_len, const char *born_key);

/*
 * bench_tmpl_put() - copy the template to @dst (hdr_len bytes) with
 * @opaque (in [BENCH_OPAQUE_BASE, 2^31)) and @born_ms (13 digits).
 */
void bench_tmpl_put(const struct bench_tmpl *t, uint8_t *dst, int32_t opaque,
		    uint64_t born_ms);
void bench_tmpl_free(struct bench_tmpl *t);

/* bench_parse_serialize() - "json" or "rocketmq" (any case). */
int bench_parse_serialize(const char *s, enum kmq_rmt_serialize *ser);
const char *bench_serialize_name(enum kmq_rmt_serialize ser);

/* bench_now_ms_real() - CLOCK_REALTIME_COARSE in ms (bornTimestamp). */
uint64_t bench_now_ms_real(void);

/* bench_cpu_s() - CPU seconds this process used so far, user and system. */
void bench_cpu_s(double *user, double *sys);

#endif /* BENCH_REMOTE_H */
