/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * kmq_types.h - the few portable definitions the shared format code needs.
 *
 * The format sources in uapi/ compile unchanged into kmq.ko and into
 * userspace. They use only fixed-width kernel types, bool, and the
 * compiler builtins below: no libc and no kernel library calls, except
 * kmq_crc32(), which each world provides (kmod/kmq_crc.c, daemon/store).
 */
#ifndef _UAPI_KMQ_TYPES_H
#define _UAPI_KMQ_TYPES_H

#include <linux/types.h>
#ifndef __KERNEL__
#include <stdbool.h>
#include <stddef.h>
#endif

/* Compiler-only barrier: orders the stores of one thread as the code says. */
#define kmq_compiler_barrier()	({ __asm__ __volatile__("" : : : "memory"); })
#define kmq_memcpy(d, s, n)	__builtin_memcpy((d), (s), (n))
#define kmq_memset(d, c, n)	__builtin_memset((d), (c), (n))

/**
 * kmq_crc32() - CRC-32 with zlib's polynomial and conventions.
 * @crc: running value, 0 to start
 * @buf: bytes
 * @len: number of bytes
 *
 * Same result as zlib's crc32(crc, buf, len). Provided by the kernel
 * module (crc32_le) and by userspace (libdeflate), not by uapi/.
 *
 * Return: the updated CRC.
 */
__u32 kmq_crc32(__u32 crc, const void *buf, __u32 len);

#endif /* _UAPI_KMQ_TYPES_H */
