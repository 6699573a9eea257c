// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_rmt_frame.c - the remoting frame: its 8-byte prefix (total length,
 * serialize type and header length), splitting a frame into header and
 * body, framing an encoded header, and the per-thread error message.
 * The header itself is the business of kmq_rmt_json.c and kmq_rmt_binary.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kmq_rmt_int.h"

/* The length field is a Java int. */
#define KMQ_RMT_MAX_LENGTH	0x7fffffffu

static __thread char kmq_rmt_errbuf[256];

int kmq_rmt_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kmq_rmt_errbuf, sizeof(kmq_rmt_errbuf), fmt, ap);
	va_end(ap);
	return -err;
}

const char *kmq_rmt_errmsg(void)
{
	return kmq_rmt_errbuf[0] ? kmq_rmt_errbuf : "no error";
}

int64_t kmq_rmt_frame_len(const uint8_t *buf, size_t len, uint32_t max_frame)
{
	uint64_t total;
	uint32_t flen;

	if (len < 4)
		return 0;
	flen = kmq_rmt_get_be32(buf);
	if (flen < 4)
		return kmq_rmt_err(KMQ_RMT_EFRAME,
				   "frame: length field %u < 4", flen);
	total = (uint64_t)flen + 4;
	if (total > max_frame)
		return kmq_rmt_err(KMQ_RMT_EFRAME,
				   "frame: %" PRIu64 " bytes, more than the maximum %u",
				   total, max_frame);
	if (len < total)
		return 0;
	return (int64_t)total;
}

int kmq_rmt_decode(const uint8_t *frame, size_t len, struct kmq_rmt_cmd *cmd)
{
	uint32_t flen, word, hlen, ser;
	uint64_t total;
	int ret;

	memset(cmd, 0, sizeof(*cmd));
	if (len < 4)
		return kmq_rmt_err(KMQ_RMT_ESHORT,
				   "frame: %zu bytes, no room for the length field",
				   len);
	flen = kmq_rmt_get_be32(frame);
	if (flen < 4)
		return kmq_rmt_err(KMQ_RMT_EFRAME,
				   "frame: length field %u < 4", flen);
	if (flen > KMQ_RMT_MAX_LENGTH)
		return kmq_rmt_err(KMQ_RMT_EFRAME,
				   "frame: length field %u is negative as a Java int",
				   flen);
	total = (uint64_t)flen + 4;
	if (len < total)
		return kmq_rmt_err(KMQ_RMT_ESHORT,
				   "frame: length field says %" PRIu64 " bytes, only %zu given",
				   total, len);
	if (len > total)
		return kmq_rmt_err(KMQ_RMT_EFRAME,
				   "frame: length field says %" PRIu64 " bytes, %zu given",
				   total, len);

	word = kmq_rmt_get_be32(frame + 4);
	ser = word >> 24;
	hlen = word & KMQ_RMT_MAX_HEADER;
	if (ser != KMQ_RMT_JSON && ser != KMQ_RMT_ROCKETMQ)
		return kmq_rmt_err(KMQ_RMT_ESERIALIZE,
				   "frame: unknown serialize type %u", ser);
	if (hlen > flen - 4)
		return kmq_rmt_err(KMQ_RMT_EHDRLEN,
				   "frame: header length %u past the %u bytes after the prefix",
				   hlen, flen - 4);

	if (ser == KMQ_RMT_JSON)
		ret = kmq_rmt_json_decode(frame + KMQ_RMT_PREFIX, hlen, cmd);
	else
		ret = kmq_rmt_bin_decode(frame + KMQ_RMT_PREFIX, hlen, cmd);
	if (ret) {
		kmq_rmt_cmd_free(cmd);
		return ret;
	}
	cmd->ser = ser;
	cmd->body_len = flen - 4 - hlen;
	cmd->body = cmd->body_len ? frame + KMQ_RMT_PREFIX + hlen : NULL;
	return 0;
}

/*
 * kmq_rmt_encode() also returns -EINVAL for a @cmd->ser that is neither
 * serialization. On any error @out is as it was.
 */
int kmq_rmt_encode(struct kmq_buf *out, const struct kmq_rmt_cmd *cmd,
		   uint32_t body_len)
{
	uint8_t prefix[KMQ_RMT_PREFIX] = { 0 };
	size_t start = out->len;
	uint64_t hlen;
	int ret;

	if (cmd->ser != KMQ_RMT_JSON && cmd->ser != KMQ_RMT_ROCKETMQ)
		return -EINVAL;
	ret = kmq_buf_put(out, prefix, sizeof(prefix));
	if (ret)
		return ret;
	if (cmd->ser == KMQ_RMT_JSON)
		ret = kmq_rmt_json_encode(out, cmd);
	else
		ret = kmq_rmt_bin_encode(out, cmd);
	if (ret)
		goto fail;

	hlen = out->len - start - sizeof(prefix);
	if (hlen > KMQ_RMT_MAX_HEADER ||
	    4 + hlen + body_len > KMQ_RMT_MAX_LENGTH) {
		ret = -EMSGSIZE;
		goto fail;
	}
	kmq_rmt_put_be32(out->data + start, (uint32_t)(4 + hlen + body_len));
	kmq_rmt_put_be32(out->data + start + 4,
			 (uint32_t)cmd->ser << 24 | (uint32_t)hlen);
	return 0;
fail:
	out->len = start;
	return ret;
}
