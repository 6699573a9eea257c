// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_compress.c - message bodies as zlib streams (RFC 1950), as RocketMQ
 * producers send bodies of 4 KiB or more with SYSFLAG bit 0, and their
 * inflation on the consumer side, bounded against decompression bombs.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "kmq_send_int.h"

bool kmqc_should_compress(size_t len, size_t threshold)
{
	return threshold && len >= threshold;
}

int kmqc_compress(const void *in, size_t len, int level, void **out,
		  size_t *olen)
{
	uLongf cap = compressBound(len);
	void *buf;
	int ret;

	if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
		level = Z_DEFAULT_COMPRESSION;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	ret = compress2(buf, &cap, in, len, level);
	if (ret != Z_OK) {
		free(buf);
		return ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	*out = buf;
	*olen = cap;
	return 0;
}

int kmqc_decompress(const void *in, size_t len, size_t max, void **out,
		    size_t *olen)
{
	z_stream zs;
	size_t cap = len * 4 + 64;
	uint8_t *buf = NULL;
	int ret;

	if (len > UINT32_MAX)
		return -EMSGSIZE;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	for (;;) {
		uint8_t *nb;

		if (cap > max)
			cap = max;
		nb = realloc(buf, cap + 1);
		if (!nb) {
			ret = -ENOMEM;
			break;
		}
		buf = nb;
		zs.next_out = buf + zs.total_out;
		zs.avail_out = cap - zs.total_out;
		ret = inflate(&zs, Z_NO_FLUSH);
		if (ret == Z_STREAM_END) {
			ret = 0;
			break;
		}
		if (ret == Z_OK && zs.avail_out == 0) {
			if (cap >= max) {
				ret = -EMSGSIZE;
				break;
			}
			cap *= 2;
			continue;
		}
		/* Truncated (Z_BUF_ERROR with input left over) or corrupt. */
		ret = ret == Z_MEM_ERROR ? -ENOMEM : -EPROTO;
		break;
	}
	if (!ret && zs.avail_in)
		ret = -EPROTO;	/* bytes after the end of the stream */
	*olen = zs.total_out;
	inflateEnd(&zs);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[*olen] = '\0';
	*out = buf;
	return 0;
}
