// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmq_crc32.c - userspace kmq_crc32(): libdeflate's PCLMUL-accelerated
 * CRC-32 (zlib polynomial and conventions). The module's twin is
 * kmod/kmq_crc.c on crc32_le().
 */
#include <libdeflate.h>

#include "kmq_types.h"

__u32 kmq_crc32(__u32 crc, const void *buf, __u32 len)
{
	return libdeflate_crc32(crc, buf, len);
}
