// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_buf.c - struct kmq_buf, the growable byte buffer frames are encoded
 * into.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_remoting.h"

#define KMQ_BUF_MIN	256

/**
 * kmq_buf_reserve() - make room for @more bytes after @b->len.
 * Return: 0 or -ENOMEM (also when the size would overflow).
 */
int kmq_buf_reserve(struct kmq_buf *b, size_t more)
{
	size_t need, cap;
	uint8_t *p;

	if (more > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + more;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : KMQ_BUF_MIN;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* kmq_buf_put() - append @n bytes from @p. Return: 0 or -ENOMEM. */
int kmq_buf_put(struct kmq_buf *b, const void *p, size_t n)
{
	int ret;

	if (!n)
		return 0;
	ret = kmq_buf_reserve(b, n);
	if (ret)
		return ret;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* kmq_buf_free() - release @b's memory and leave it empty and reusable. */
void kmq_buf_free(struct kmq_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
