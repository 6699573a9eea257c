// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_rmt_binary.c - the ROCKETMQ binary command header (serialize type
 * 1), all big-endian:
 *
 *   int16 code, uint8 language, int16 version, int32 opaque, int32 flag,
 *   int32 remark length + remark (0: none),
 *   int32 extFields length + { int16 key length, key,
 *                              int32 value length, value } ...
 *
 * Every length is checked against what is left of its enclosing part,
 * the extFields must end the header exactly, and strings must be
 * NUL-free, well-formed UTF-8 (what a Java client can send, and what can
 * be passed on in a JSON header).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_rmt_int.h"

/* code, language, version, opaque, flag, remark length */
#define KMQ_BIN_FIXED	(2 + 1 + 2 + 4 + 4 + 4)
#define KMQ_BIN_LANG_OTHER	7

/* RocketMQ's LanguageCode values. */
static const char * const kmq_bin_langs[] = {
	"JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY",
	"OTHER", "HTTP", "GO", "PHP", "OMS", "RUST",
};

static uint8_t kmq_bin_lang_code(const char *name)
{
	unsigned int i;

	if (!name[0])
		return 0;
	for (i = 0; i < ARRAY_SIZE(kmq_bin_langs); i++)
		if (!strcmp(name, kmq_bin_langs[i]))
			return (uint8_t)i;
	return KMQ_BIN_LANG_OTHER;
}

/* Is @s (@n bytes) a string kmq can hold and pass on? */
static int kmq_bin_check_str(const uint8_t *s, uint32_t n, const char *what)
{
	if (memchr(s, '\0', n))
		return kmq_rmt_err(KMQ_RMT_EFIELD,
				   "binary header: %s contains a NUL byte",
				   what);
	if (!kmq_rmt_utf8_valid(s, n))
		return kmq_rmt_err(KMQ_RMT_EFIELD,
				   "binary header: %s is not valid UTF-8", what);
	return 0;
}

/* Check length @n of @what against the @left bytes that remain. */
static int kmq_bin_len(const char *what, int32_t n, uint32_t left)
{
	if (n < 0)
		return kmq_rmt_err(KMQ_RMT_EBINARY,
				   "binary header: %s %d is negative", what, n);
	if ((uint32_t)n > left)
		return kmq_rmt_err(KMQ_RMT_EBINARY,
				   "binary header: %s %d past the %u bytes left",
				   what, n, left);
	return 0;
}

/* @what, a length field of @size bytes, starts at @pos: is it there? */
static int kmq_bin_room(const char *what, uint32_t size, uint32_t pos,
			uint32_t end)
{
	if (end - pos < size)
		return kmq_rmt_err(KMQ_RMT_EBINARY,
				   "binary header: %s truncated at byte %u",
				   what, pos);
	return 0;
}

/* One extFields entry at @p[*pos], the extFields ending at @end. */
static int kmq_bin_field(const uint8_t *p, uint32_t *pos, uint32_t end,
			 struct kmq_rmt_cmd *cmd)
{
	const uint8_t *key, *val;
	int32_t vlen;
	int16_t klen;
	int ret;

	ret = kmq_bin_room("extFields key length", 2, *pos, end);
	if (ret)
		return ret;
	klen = (int16_t)kmq_rmt_get_be16(p + *pos);
	*pos += 2;
	ret = kmq_bin_len("extFields key length", klen, end - *pos);
	if (ret)
		return ret;
	key = p + *pos;
	*pos += klen;

	ret = kmq_bin_room("extFields value length", 4, *pos, end);
	if (ret)
		return ret;
	vlen = (int32_t)kmq_rmt_get_be32(p + *pos);
	*pos += 4;
	ret = kmq_bin_len("extFields value length", vlen, end - *pos);
	if (ret)
		return ret;
	val = p + *pos;
	*pos += vlen;

	ret = kmq_bin_check_str(key, klen, "an extFields key");
	if (!ret)
		ret = kmq_bin_check_str(val, vlen, "an extFields value");
	if (ret)
		return ret;
	if (cmd->nfields >= KMQ_RMT_MAX_FIELDS)
		return kmq_rmt_err(KMQ_RMT_EFIELD,
				   "binary header: more than %d extFields",
				   KMQ_RMT_MAX_FIELDS);
	if (kmq_rmt_add_field(cmd, (const char *)key, klen,
			      (const char *)val, vlen))
		return kmq_rmt_err(KMQ_RMT_ENOMEM,
				   "binary header: out of memory");
	return 0;
}

int kmq_rmt_bin_decode(const uint8_t *hdr, uint32_t len,
		       struct kmq_rmt_cmd *cmd)
{
	int32_t rlen, elen;
	uint32_t pos, end;
	uint8_t lang;
	int ret;

	if (len < KMQ_BIN_FIXED)
		return kmq_rmt_err(KMQ_RMT_EBINARY,
				   "binary header: %u bytes, the fixed part needs %d",
				   len, KMQ_BIN_FIXED);
	cmd->code = (int16_t)kmq_rmt_get_be16(hdr);
	lang = hdr[2];
	snprintf(cmd->language, sizeof(cmd->language), "%s",
		 lang < ARRAY_SIZE(kmq_bin_langs) ? kmq_bin_langs[lang] :
		 kmq_bin_langs[KMQ_BIN_LANG_OTHER]);
	cmd->version = (int16_t)kmq_rmt_get_be16(hdr + 3);
	cmd->opaque = (int32_t)kmq_rmt_get_be32(hdr + 5);
	cmd->flag = (int32_t)kmq_rmt_get_be32(hdr + 9);
	rlen = (int32_t)kmq_rmt_get_be32(hdr + 13);
	pos = KMQ_BIN_FIXED;

	ret = kmq_bin_len("remark length", rlen, len - pos);
	if (ret)
		return ret;
	if (rlen) {
		ret = kmq_bin_check_str(hdr + pos, rlen, "the remark");
		if (ret)
			return ret;
		cmd->remark = strndup((const char *)hdr + pos, rlen);
		if (!cmd->remark)
			return kmq_rmt_err(KMQ_RMT_ENOMEM,
					   "binary header: out of memory");
		pos += rlen;
	}

	ret = kmq_bin_room("extFields length", 4, pos, len);
	if (ret)
		return ret;
	elen = (int32_t)kmq_rmt_get_be32(hdr + pos);
	pos += 4;
	ret = kmq_bin_len("extFields length", elen, len - pos);
	if (ret)
		return ret;
	end = pos + elen;
	if (end != len)
		return kmq_rmt_err(KMQ_RMT_EBINARY,
				   "binary header: %u bytes after the extFields",
				   len - end);
	while (pos < end) {
		ret = kmq_bin_field(hdr, &pos, end, cmd);
		if (ret)
			return ret;
	}
	if (kmq_rmt_dedup_fields(cmd))
		return kmq_rmt_err(KMQ_RMT_ENOMEM,
				   "binary header: out of memory");
	return 0;
}

/*
 * Append @cmd's binary header to @out. Return: 0, -ENOMEM, or -EMSGSIZE
 * when a value does not fit its field (code or version outside int16, a
 * key longer than 32767 bytes, a header over 16 MiB).
 */
int kmq_rmt_bin_encode(struct kmq_buf *out, const struct kmq_rmt_cmd *cmd)
{
	uint64_t size, ext = 0;
	size_t rlen, klen, vlen;
	uint8_t *p;
	uint32_t i;
	int ret;

	if (cmd->code < INT16_MIN || cmd->code > INT16_MAX ||
	    cmd->version < INT16_MIN || cmd->version > INT16_MAX)
		return -EMSGSIZE;
	rlen = cmd->remark ? strlen(cmd->remark) : 0;
	for (i = 0; i < cmd->nfields; i++) {
		klen = strlen(cmd->fields[i].key);
		vlen = strlen(cmd->fields[i].val);
		if (klen > INT16_MAX || vlen > KMQ_RMT_MAX_HEADER)
			return -EMSGSIZE;
		ext += 2 + klen + 4 + vlen;
		if (ext > KMQ_RMT_MAX_HEADER)
			return -EMSGSIZE;
	}
	if (rlen > KMQ_RMT_MAX_HEADER)
		return -EMSGSIZE;
	size = KMQ_BIN_FIXED + rlen + 4 + ext;
	if (size > KMQ_RMT_MAX_HEADER)
		return -EMSGSIZE;
	ret = kmq_buf_reserve(out, size);
	if (ret)
		return ret;

	p = out->data + out->len;
	kmq_rmt_put_be16(p, (uint16_t)cmd->code);
	p[2] = memchr(cmd->language, '\0', sizeof(cmd->language)) ?
	       kmq_bin_lang_code(cmd->language) : 0;
	kmq_rmt_put_be16(p + 3, (uint16_t)cmd->version);
	kmq_rmt_put_be32(p + 5, (uint32_t)cmd->opaque);
	kmq_rmt_put_be32(p + 9, (uint32_t)cmd->flag);
	kmq_rmt_put_be32(p + 13, (uint32_t)rlen);
	p += KMQ_BIN_FIXED;
	if (rlen)
		memcpy(p, cmd->remark, rlen);
	p += rlen;
	kmq_rmt_put_be32(p, (uint32_t)ext);
	p += 4;
	for (i = 0; i < cmd->nfields; i++) {
		klen = strlen(cmd->fields[i].key);
		vlen = strlen(cmd->fields[i].val);
		kmq_rmt_put_be16(p, (uint16_t)klen);
		memcpy(p + 2, cmd->fields[i].key, klen);
		p += 2 + klen;
		kmq_rmt_put_be32(p, (uint32_t)vlen);
		memcpy(p + 4, cmd->fields[i].val, vlen);
		p += 4 + vlen;
	}
	out->len += size;
	return 0;
}
