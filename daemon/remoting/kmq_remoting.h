/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_remoting.h - RocketMQ's remoting protocol: frames and command
 * headers, in JSON and in the ROCKETMQ binary serialization.
 *
 *   [be32 length = 4 + header length + body length]
 *   [be32 (serialize type << 24) | header length]
 *   [header][body]
 *
 * Everything here parses bytes from the network: it never trusts a length,
 * never reads past what it was given, and reports each malformation with
 * its own error and a message (kmq_rmt_errmsg()).
 */
#ifndef KMQ_REMOTING_H
#define KMQ_REMOTING_H

#include <stddef.h>
#include <stdint.h>

#define KMQ_RMT_MAX_FRAME	(16u << 20)	/* RocketMQ's default */
#define KMQ_RMT_PREFIX		8		/* length + header length */

enum kmq_rmt_serialize {
	KMQ_RMT_JSON = 0,
	KMQ_RMT_ROCKETMQ = 1,
};

#define KMQ_RMT_FLAG_RESPONSE	0x1
#define KMQ_RMT_FLAG_ONEWAY	0x2

/* Errors of the decoder, returned negated. */
enum {
	KMQ_RMT_ESHORT = 1,	/* frame shorter than its prefix says */
	KMQ_RMT_EFRAME,		/* length field < 4 or > max frame */
	KMQ_RMT_EHDRLEN,	/* header length past the frame */
	KMQ_RMT_ESERIALIZE,	/* unknown serialize type */
	KMQ_RMT_EJSON,		/* header is not a JSON object of the shape */
	KMQ_RMT_EBINARY,	/* binary header truncated or lengths lie */
	KMQ_RMT_EFIELD,		/* a header field missing or of a bad type */
	KMQ_RMT_ENOMEM,
};

/**
 * struct kmq_rmt_field - one extFields entry; both strings are owned,
 * NUL-terminated copies. JSON numbers and booleans arrive as their text
 * ("15", "true"), so handlers read every field the same way.
 */
struct kmq_rmt_field {
	char *key;
	char *val;
};

/**
 * struct kmq_rmt_cmd - a decoded request or response, or one to encode.
 * @code: request code, or response code
 * @language: "JAVA", "CPP", ... (binary headers carry a byte, mapped)
 * @version: client version
 * @opaque: echoed in the response
 * @flag: KMQ_RMT_FLAG_*
 * @remark: NULL when absent; owned
 * @fields: extFields, owned
 * @nfields: their number
 * @ser: the serialization it came in (a response uses the request's)
 * @body: points into the decoded frame (not owned); NULL when empty
 * @body_len: its length
 */
struct kmq_rmt_cmd {
	int32_t code;
	char language[16];
	int32_t version;
	int32_t opaque;
	int32_t flag;
	char *remark;
	struct kmq_rmt_field *fields;
	uint32_t nfields;
	uint32_t fields_cap;
	enum kmq_rmt_serialize ser;
	const uint8_t *body;
	uint32_t body_len;
};

/**
 * kmq_rmt_frame_len() - is a whole frame at the start of @buf?
 * @max_frame: largest frame accepted (length field + 4)
 * Return: the frame's total size (length field + 4) when all of it is in
 * @buf, 0 when more bytes are needed, -KMQ_RMT_EFRAME when the length
 * field is impossible (the connection must be closed).
 */
int64_t kmq_rmt_frame_len(const uint8_t *buf, size_t len, uint32_t max_frame);

/**
 * kmq_rmt_decode() - decode the complete frame @frame of @len bytes.
 * @len must be exactly the frame's size (kmq_rmt_frame_len()); more is
 * -KMQ_RMT_EFRAME. On success @cmd owns its strings (kmq_rmt_cmd_free())
 * and its body points into @frame. On failure nothing needs freeing.
 * Return: 0 or a negated KMQ_RMT_E* code.
 */
int kmq_rmt_decode(const uint8_t *frame, size_t len, struct kmq_rmt_cmd *cmd);

void kmq_rmt_cmd_free(struct kmq_rmt_cmd *cmd);

/** kmq_rmt_ext() - the value of extField @key, or NULL. */
const char *kmq_rmt_ext(const struct kmq_rmt_cmd *cmd, const char *key);

/**
 * kmq_rmt_ext_i64() - extField @key as a decimal integer (leading and
 * trailing blanks allowed, nothing else). Return: 0, -ENOENT, -EINVAL,
 * -ERANGE.
 */
int kmq_rmt_ext_i64(const struct kmq_rmt_cmd *cmd, const char *key,
		    int64_t *out);
/** kmq_rmt_ext_i32() - as kmq_rmt_ext_i64(), within int32 range. */
int kmq_rmt_ext_i32(const struct kmq_rmt_cmd *cmd, const char *key,
		    int32_t *out);
/** kmq_rmt_ext_bool() - "true"/"false" (any case), or 1/0. */
int kmq_rmt_ext_bool(const struct kmq_rmt_cmd *cmd, const char *key,
		     int *out);

/**
 * kmq_rmt_response() - initialise @resp as the response to @req: same
 * opaque and serialization, flag RESPONSE, @code, a copy of @remark
 * (may be NULL), language "JAVA" (what RocketMQ's servers send),
 * version of the request.
 */
int kmq_rmt_response(struct kmq_rmt_cmd *resp, const struct kmq_rmt_cmd *req,
		     int32_t code, const char *remark);
/** kmq_rmt_request() - initialise a request (broker to name server). */
int kmq_rmt_request(struct kmq_rmt_cmd *req, int32_t code, int32_t opaque,
		    enum kmq_rmt_serialize ser);

/** kmq_rmt_set_ext() - add or replace extField @key (copies both). */
int kmq_rmt_set_ext(struct kmq_rmt_cmd *cmd, const char *key,
		    const char *val);
/** kmq_rmt_set_extf() - the same with a printf-formatted value. */
int kmq_rmt_set_extf(struct kmq_rmt_cmd *cmd, const char *key,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/**
 * struct kmq_buf - a growable byte buffer.
 */
struct kmq_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

int kmq_buf_reserve(struct kmq_buf *b, size_t more);
int kmq_buf_put(struct kmq_buf *b, const void *p, size_t n);
void kmq_buf_free(struct kmq_buf *b);

/**
 * kmq_rmt_encode() - append @cmd's frame prefix and header to @out, with
 * the length field counting a body of @body_len bytes that the caller
 * sends right after (from @cmd->body or from elsewhere, e.g. file ranges).
 * The header is in @cmd->ser. Return: 0 or -ENOMEM/-EMSGSIZE.
 */
int kmq_rmt_encode(struct kmq_buf *out, const struct kmq_rmt_cmd *cmd,
		   uint32_t body_len);

/** kmq_rmt_errmsg() - details of this thread's last decode error. */
const char *kmq_rmt_errmsg(void);

#endif /* KMQ_REMOTING_H */
