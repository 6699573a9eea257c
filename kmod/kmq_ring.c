// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_ring.c - pure decision helpers of the kernel store (kmq_ring.h):
 * the arithmetic of the segment ring, the rule by which recovery accepts
 * a record, a read's starting status and size limit, the tag filter, the
 * name rules, a pull's frame prefix and range lookup, and where a
 * consume-queue entry lives (file, slot, name) and the binary search over
 * a queue's entries.
 * They touch no file and take no lock, so KUnit tests them directly.
 */
#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/math64.h>

#include "kmq_endian.h"
#include "kmq_ioctl.h"
#include "kmq_ring.h"

u64 kmq_ring_seg_start(u64 phys, u64 seg_size)
{
	u64 rem;

	div64_u64_rem(phys, seg_size, &rem);
	return phys - rem;
}

int kmq_ring_index(u64 first, u64 seg_size, u32 nsegs, u64 phys)
{
	u64 idx;

	if (!nsegs || !seg_size || phys < first)
		return -1;
	idx = div64_u64(phys - first, seg_size);
	return idx < nsegs ? (int)idx : -1;
}

bool kmq_ring_fits(u64 off, u64 seg_size, u64 bytes)
{
	u64 left;

	if (off > seg_size)
		return false;
	left = seg_size - off;
	/* Written so that no sum can wrap. */
	return bytes <= left && left - bytes >= KMQ_BLANK_SIZE;
}

enum kmq_scan_verdict kmq_scan_check(const void *buf, u32 len, u64 pos,
				     u64 seg_left, bool has_next,
				     struct kmq_record *r, u32 *need)
{
	u32 total;
	int rc;

	if (seg_left < KMQ_BLANK_SIZE)
		return KMQ_SCAN_END;
	if (len < KMQ_BLANK_SIZE) {
		*need = KMQ_BLANK_SIZE;
		return KMQ_SCAN_MORE;
	}
	total = kmq_get_be32(buf);
	if (total < KMQ_BLANK_SIZE || total > seg_left)
		return KMQ_SCAN_END;
	if (total > len) {
		*need = total;
		return KMQ_SCAN_MORE;
	}
	rc = kmq_record_decode(buf, total, r, KMQ_DECODE_CRC);
	if (rc == 1)
		return total == seg_left && has_next ? KMQ_SCAN_BLANK :
						       KMQ_SCAN_END;
	if (rc || r->phys_offset != pos)
		return KMQ_SCAN_END;
	return KMQ_SCAN_RECORD;
}

u32 kmq_read_start_status(u64 min, u64 max, u64 offset, u64 *next)
{
	*next = offset;
	if (!max) {
		*next = 0;
		return KMQ_RD_NO_MESSAGE;
	}
	if (offset < min) {
		*next = min;
		return KMQ_RD_OFFSET_TOO_SMALL;
	}
	if (offset == max)
		return KMQ_RD_NO_NEW;
	if (offset > max) {
		*next = max;
		return KMQ_RD_OFFSET_OVERFLOW;
	}
	return KMQ_RD_NO_MATCH;
}

bool kmq_tags_match(const s64 *tags, u32 ntags, s64 code)
{
	u32 i;

	if (!ntags)
		return true;
	for (i = 0; i < ntags; i++)
		if (tags[i] == code)
			return true;
	return false;
}

int kmq_topic_name_len(const char *name, u32 cap)
{
	u32 i;

	for (i = 0; i < cap && name[i]; i++) {
		char c = name[i];

		if (i >= KMQ_TOPIC_MAX_V1)
			return -EINVAL;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '%' || c == '|' ||
		    c == '_' || c == '-')
			continue;
		return -EINVAL;
	}
	if (!i || i == cap)
		return -EINVAL;
	return i;
}

int kmq_store_name_len(const char *name, u32 cap)
{
	u32 i;

	for (i = 0; i < cap && name[i]; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		    c == '-')
			continue;
		return -EINVAL;
	}
	if (!i || i == cap)
		return -EINVAL;
	if (name[0] == '.' && (i == 1 || (i == 2 && name[1] == '.')))
		return -EINVAL;
	return i;
}

int kmq_parse_offset_name(const char *name, u32 len, u64 *out)
{
	u64 v = 0;
	u32 i;

	if (len != KMQ_OFFSET_NAME_LEN)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		u64 d;

		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		d = name[i] - '0';
		if (v > div64_u64(U64_MAX - d, 10))
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int kmq_rec_store_ts(const void *hdr, u32 len, u64 *ts)
{
	const u8 *b = hdr;
	u32 magic, sys, off;

	if (len < KMQ_REC_OFF_BORNHOST)
		return -EINVAL;
	magic = kmq_get_be32(b + KMQ_REC_OFF_MAGIC);
	if (magic != KMQ_MAGIC_V1 && magic != KMQ_MAGIC_V2)
		return -EINVAL;
	sys = kmq_get_be32(b + KMQ_REC_OFF_SYSFLAG);
	off = KMQ_REC_OFF_BORNHOST + (sys & KMQ_SYSFLAG_BORNHOST_V6 ?
				      KMQ_HOST_V6_SIZE : KMQ_HOST_V4_SIZE);
	if (len < off + 8)
		return -EINVAL;
	*ts = kmq_get_be64(b + off);
	return 0;
}

bool kmq_rec_is_entry(const void *hdr, u32 len, const struct kmq_cq_entry *e,
		      u32 queue_id, u64 queue_offset)
{
	const u8 *b = hdr;
	u32 magic;

	if (len < KMQ_REC_ENTRY_PEEK)
		return false;
	magic = kmq_get_be32(b + KMQ_REC_OFF_MAGIC);
	return kmq_get_be32(b + KMQ_REC_OFF_TOTALSIZE) == e->size &&
	       (magic == KMQ_MAGIC_V1 || magic == KMQ_MAGIC_V2) &&
	       kmq_get_be32(b + KMQ_REC_OFF_QUEUEID) == queue_id &&
	       kmq_get_be64(b + KMQ_REC_OFF_QUEUEOFFSET) == queue_offset &&
	       kmq_get_be64(b + KMQ_REC_OFF_PHYSOFFSET) == e->phys_offset;
}

bool kmq_async_flush_due(u64 dirty, u64 min_bytes, u64 now_ms,
			 u64 last_full_ms, u64 full_ms)
{
	if (!dirty)
		return false;
	if (dirty >= min_bytes)
		return true;
	return now_ms - last_full_ms >= full_ms;
}

int kmq_lookup_take(u32 count, u64 bytes, u32 size, u64 max_bytes,
		    bool first_always)
{
	if (bytes + size <= max_bytes)
		return 1;
	if (count)
		return 0;
	return first_always ? 1 : -ENOSPC;
}

int kmq_pull_frame(u8 *frame, u32 hdr_len, u64 body_len)
{
	u64 total;
	u32 hlen;

	if (hdr_len < KMQ_FRAME_PREFIX)
		return -EINVAL;
	hlen = hdr_len - KMQ_FRAME_PREFIX;
	if (body_len > S32_MAX || hlen > 0xffffff)
		return -EMSGSIZE;
	total = (u64)hdr_len - 4 + body_len;	/* cannot wrap now */
	if (total > S32_MAX)
		return -EMSGSIZE;
	kmq_put_be32(frame, (u32)total);
	frame[5] = (hlen >> 16) & 0xff;
	frame[6] = (hlen >> 8) & 0xff;
	frame[7] = hlen & 0xff;
	return 0;
}

u32 kmq_pull_locate(const struct kmq_prange *r, u32 n, u64 off, u64 *in)
{
	u32 i;

	for (i = 0; i < n; i++) {
		if (off < r[i].len) {
			*in = off;
			return i;
		}
		off -= r[i].len;
	}
	*in = 0;
	return n;
}

u64 kmq_cq_locate(u64 idx, u32 per, u32 *pos)
{
	return div_u64_rem(idx, per, pos);
}

u64 kmq_cq_file_offset(u64 fidx, u32 per)
{
	return fidx * ((u64)per * KMQ_CQ_ENTRY_SIZE);
}

int kmq_cq_file_index(u64 off, u32 per, u64 *fidx)
{
	u64 rem, q;

	q = div64_u64_rem(off, (u64)per * KMQ_CQ_ENTRY_SIZE, &rem);
	if (rem)
		return -EINVAL;
	*fidx = q;
	return 0;
}

int kmq_cq_window(u64 first, u64 n, u64 fidx, u64 *nfirst, u64 *ncnt)
{
	u64 last;

	*nfirst = first;
	*ncnt = n;
	if (n && fidx >= first && fidx - first < n)
		return 0;
	last = n && first + n - 1 > fidx ? first + n - 1 : fidx;
	if (n && first < fidx)
		fidx = first;
	if (last - fidx >= KMQ_CQ_SLOTS_MAX)
		return -EFBIG;
	*nfirst = fidx;
	*ncnt = last - fidx + 1;
	return 1;
}

u64 kmq_lower_bound(u64 lo, u64 hi, bool (*pred)(void *arg, u64 idx),
		    void *arg)
{
	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;

		if (pred(arg, mid))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}
