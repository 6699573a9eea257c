/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_endian.h - big-endian loads and stores at any byte alignment.
 *
 * Every integer in a commitlog record, consume-queue entry and remoting
 * frame is big-endian and most sit at unaligned offsets.
 */
#ifndef _UAPI_KMQ_ENDIAN_H
#define _UAPI_KMQ_ENDIAN_H

#include "kmq_types.h"

static inline void kmq_put_be16(void *p, __u16 v)
{
	__u8 *b = p;

	b[0] = (v >> 8) & 0xff;
	b[1] = v & 0xff;
}

static inline void kmq_put_be32(void *p, __u32 v)
{
	__u8 *b = p;

	b[0] = (v >> 24) & 0xff;
	b[1] = (v >> 16) & 0xff;
	b[2] = (v >> 8) & 0xff;
	b[3] = v & 0xff;
}

static inline void kmq_put_be64(void *p, __u64 v)
{
	kmq_put_be32(p, v >> 32);
	kmq_put_be32((__u8 *)p + 4, (__u32)v);
}

static inline __u16 kmq_get_be16(const void *p)
{
	const __u8 *b = p;

	return (__u16)(b[0] << 8 | b[1]);
}

static inline __u32 kmq_get_be32(const void *p)
{
	const __u8 *b = p;

	return (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
}

static inline __u64 kmq_get_be64(const void *p)
{
	return (__u64)kmq_get_be32(p) << 32 | kmq_get_be32((const __u8 *)p + 4);
}

#endif /* _UAPI_KMQ_ENDIAN_H */
