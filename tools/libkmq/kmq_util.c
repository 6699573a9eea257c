// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_util.c - small helpers shared by the library: received frames,
 * strings and names, Java's string hash.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_int.h"
#include "kmq_props.h"

void kmqc_frame_free(struct kmqc_frame *f)
{
	if (!f)
		return;
	kmq_rmt_cmd_free(&f->cmd);
	free(f);		/* @raw is in the same allocation */
}

int64_t kmqc_ext_i64(const struct kmqc_frame *f, const char *key, int64_t def)
{
	int64_t v;

	if (!f || kmq_rmt_ext_i64(&f->cmd, key, &v))
		return def;
	return v;
}

void kmqc_strcpy(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool kmqc_strdup(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

bool kmqc_name_ok(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (!n || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int32_t kmqc_java_hash(const char *s)
{
	return (int32_t)kmq_tag_hash(s, strlen(s));
}
