// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_crc.c - kmq_crc32() for the shared format code inside kmq.ko.
 *
 * The format code wants zlib's crc32(): same polynomial as crc32_le(),
 * but with the register inverted on the way in and on the way out.
 * Userspace gets the same function from libdeflate (uapi/user/).
 */
#include <linux/crc32.h>

#include "kmq_types.h"

__u32 kmq_crc32(__u32 crc, const void *buf, __u32 len)
{
	return ~crc32_le(~crc, buf, len);
}
