/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_ring.h - pure decision helpers of the kernel store: ring
 * arithmetic, the recovery scan's acceptance rule, read statuses, tag
 * filters, name rules. No I/O, no locks, no allocation: KUnit suites
 * (kmod/tests/) call them directly.
 */
#ifndef _KMQ_RING_H
#define _KMQ_RING_H

#include <linux/bits.h>
#include <linux/types.h>

#include "kmq_cq.h"
#include "kmq_record.h"

/* Entries a read may scan for tag filtering, as RocketMQ's broker. */
#define KMQ_READ_SCAN_MAX	16000u
/* Length of a segment or consume-queue file name: 20 decimal digits. */
#define KMQ_OFFSET_NAME_LEN	20

/**
 * kmq_ring_seg_start() - start offset of the segment holding @phys.
 * @phys: commitlog offset
 * @seg_size: segment size (non-zero)
 *
 * Return: @phys rounded down to a multiple of @seg_size.
 */
u64 kmq_ring_seg_start(u64 phys, u64 seg_size);

/**
 * kmq_ring_index() - index in the ring of the segment holding @phys.
 * @first: start offset of the oldest segment of the ring
 * @seg_size: segment size
 * @nsegs: segments in the ring
 * @phys: commitlog offset
 *
 * Return: the index (0 = oldest), or -1 when @phys is not in the ring.
 */
int kmq_ring_index(u64 first, u64 seg_size, u32 nsegs, u64 phys);

/**
 * kmq_ring_fits() - whether @bytes more fit in a segment at @off, with
 * room left for the BLANK filler that closes it.
 * @off: write position inside the segment
 * @seg_size: segment size
 * @bytes: bytes to append (one record or a whole batch)
 *
 * Return: true if @bytes + KMQ_BLANK_SIZE <= @seg_size - @off.
 */
bool kmq_ring_fits(u64 off, u64 seg_size, u64 bytes);

/**
 * enum kmq_scan_verdict - what the recovery scan found at a position.
 * @KMQ_SCAN_RECORD: a record that decodes, whose body CRC matches and
 *	whose PHYSICALOFFSET is where it was found: accept it
 * @KMQ_SCAN_BLANK: a BLANK filler closing the segment exactly, with a
 *	next segment in the ring: continue at the next segment's start
 * @KMQ_SCAN_END: anything else: the commitlog ends here
 * @KMQ_SCAN_MORE: the record continues past the bytes given; call again
 *	with at least @need bytes (only when the segment has them)
 */
enum kmq_scan_verdict {
	KMQ_SCAN_RECORD,
	KMQ_SCAN_BLANK,
	KMQ_SCAN_END,
	KMQ_SCAN_MORE,
};

/**
 * kmq_scan_check() - the recovery rule for the bytes at commitlog @pos.
 * @buf: bytes starting at @pos
 * @len: bytes available at @buf
 * @pos: commitlog offset of @buf
 * @seg_left: bytes from @pos to the end of its segment
 * @has_next: the ring has a segment after this one
 * @r: the decoded record (KMQ_SCAN_RECORD) or BLANK (KMQ_SCAN_BLANK)
 * @need: with KMQ_SCAN_MORE, the bytes needed at @buf
 *
 * Return: an enum kmq_scan_verdict.
 */
enum kmq_scan_verdict kmq_scan_check(const void *buf, u32 len, u64 pos,
				     u64 seg_left, bool has_next,
				     struct kmq_record *r, u32 *need);

/**
 * kmq_read_start_status() - a read's status before any entry is looked
 * at, as the userspace store's kmq_store_read() decides it.
 * @min: queue's min offset
 * @max: queue's max offset (one past the last entry)
 * @offset: requested offset
 * @next: out: next offset to report
 *
 * Return: a KMQ_RD_* status; KMQ_RD_NO_MATCH means "scan the entries"
 * (FOUND once one matches).
 */
u32 kmq_read_start_status(u64 min, u64 max, u64 offset, u64 *next);

/**
 * kmq_tags_match() - whether a tags code passes a read's filter.
 * @tags: tag codes
 * @ntags: their number; 0 matches everything
 * @code: the consume-queue entry's tags code
 *
 * Return: true if @ntags is 0 or @code is one of @tags.
 */
bool kmq_tags_match(const s64 *tags, u32 ntags, s64 code);

/**
 * kmq_topic_name_len() - RocketMQ's topic rule: [%|a-zA-Z0-9_-], 1 to
 * 127 bytes, NUL-terminated within @cap bytes.
 * @name: the name
 * @cap: size of the array holding it
 *
 * Return: the length, or -EINVAL.
 */
int kmq_topic_name_len(const char *name, u32 cap);

/**
 * kmq_store_name_len() - a store name: [a-zA-Z0-9_.-], 1 to 63 bytes,
 * not "." or "..", NUL-terminated within @cap bytes (it names a sysfs
 * folder).
 * @name: the name
 * @cap: size of the array holding it
 *
 * Return: the length, or -EINVAL.
 */
int kmq_store_name_len(const char *name, u32 cap);

/**
 * kmq_parse_offset_name() - parse a 20-digit segment or consume-queue
 * file name.
 * @name: the name (need not be NUL-terminated)
 * @len: its length
 * @out: the value
 *
 * Return: 0, or -EINVAL if @name is not exactly 20 decimal digits.
 */
int kmq_parse_offset_name(const char *name, u32 len, u64 *out);

/**
 * kmq_rec_store_ts() - STORETIMESTAMP of a record from its first bytes.
 * @hdr: the record's first bytes
 * @len: bytes at @hdr
 * @ts: out: the store timestamp, ms
 *
 * Return: 0, or -EINVAL if @len does not reach the field or the magic
 * is not a record's.
 */
int kmq_rec_store_ts(const void *hdr, u32 len, u64 *ts);

/* Bytes of a record's start that kmq_rec_store_ts() may need. */
#define KMQ_REC_TS_PEEK	(KMQ_REC_OFF_BORNHOST + KMQ_HOST_V6_SIZE + 8)

/* Bytes of a record's start that kmq_rec_is_entry() reads. */
#define KMQ_REC_ENTRY_PEEK	(KMQ_REC_OFF_PHYSOFFSET + 8)

/**
 * kmq_rec_is_entry() - whether the bytes a consume-queue entry points at
 * start the record it names: TOTALSIZE is the entry's size, MAGIC a
 * record's, QUEUEID and QUEUEOFFSET the entry's queue and index,
 * PHYSICALOFFSET where the entry says. A read checks this before it hands
 * a record out, so it never passes another record's bytes off as this one.
 * @hdr: the first bytes at @e->phys_offset
 * @len: bytes at @hdr
 * @e: the consume-queue entry
 * @queue_id: its queue
 * @queue_offset: its index in the queue
 *
 * Return: true if they match (false too when @len < KMQ_REC_ENTRY_PEEK).
 */
bool kmq_rec_is_entry(const void *hdr, u32 len, const struct kmq_cq_entry *e,
		      u32 queue_id, u64 queue_offset);

/**
 * kmq_async_flush_due() - ASYNC_FLUSH's policy (RocketMQ's): flush when
 * at least @min_bytes are unsynced, or anything is and the last full
 * flush is @full_ms old.
 * @dirty: unsynced bytes
 * @min_bytes: threshold (4 pages)
 * @now_ms: now
 * @last_full_ms: when everything was last synced
 * @full_ms: full-flush interval (10 s)
 *
 * Return: true when a flush is due.
 */
bool kmq_async_flush_due(u64 dirty, u64 min_bytes, u64 now_ms,
			 u64 last_full_ms, u64 full_ms);

/**
 * kmq_lookup_take() - whether a read or a pull takes the next matching
 * record, given what it holds.
 * @count: records taken so far
 * @bytes: their bytes
 * @size: the record's TOTALSIZE
 * @max_bytes: the byte limit (READ: the buffer; pull: max_bytes)
 * @first_always: a pull takes its first record whatever its size
 *	(RocketMQ's broker does); a read cannot
 *
 * Return: 1 to take it, 0 to stop before it, -ENOSPC when it is the
 * first and does not fit (read).
 */
int kmq_lookup_take(u32 count, u64 bytes, u32 size, u64 max_bytes,
		    bool first_always);

/* Bytes of a remoting frame before its header: total and header length. */
#define KMQ_FRAME_PREFIX	8

/**
 * kmq_pull_frame() - fill a remoting frame's length prefix:
 * [be32 total][type byte, be24 header length], total = 4 + header length
 * + body length. The serialization type (byte 4) is kept.
 * @frame: the frame's first @hdr_len bytes: prefix and header
 * @hdr_len: prefix plus header
 * @body_len: bytes of body that follow
 *
 * Return: 0, -EINVAL (@hdr_len below the prefix), -EMSGSIZE (the total
 * does not fit RocketMQ's signed 32-bit length, or the header its 24).
 */
int kmq_pull_frame(u8 *frame, u32 hdr_len, u64 body_len);

struct kmq_kseg;

/**
 * struct kmq_prange - a run of whole records of a prepared pull.
 * @seg: the segment holding them (pinned)
 * @pos: file offset in @seg
 * @len: bytes
 */
struct kmq_prange {
	struct kmq_kseg *seg;
	u64 pos;
	u32 len;
};

/**
 * kmq_pull_locate() - the range a body offset falls in.
 * @r: the ranges, in body order
 * @n: their number
 * @off: offset into the body (their concatenation)
 * @in: out: offset inside the range returned
 *
 * Return: the range's index, or @n when @off is at or past the end.
 */
u32 kmq_pull_locate(const struct kmq_prange *r, u32 n, u64 off, u64 *in);

/* Most file slots a queue's window (q->files) may span. */
#define KMQ_CQ_SLOTS_MAX	BIT(20)

/**
 * kmq_cq_locate() - where the entry at queue offset @idx lives: file
 * @idx / @per of the queue, at entry @idx % @per inside it (byte
 * @pos * KMQ_CQ_ENTRY_SIZE of that file).
 * @idx: queue offset
 * @per: entries per consume-queue file (non-zero)
 * @pos: out: the entry's index inside its file
 *
 * Return: the file's index (file 0 holds entries 0 to @per - 1).
 */
u64 kmq_cq_locate(u64 idx, u32 per, u32 *pos);

/**
 * kmq_cq_file_offset() - the byte offset that names file @fidx (its
 * 20-digit name): the queue's bytes before it, @fidx * @per entries.
 * @fidx: file index
 * @per: entries per consume-queue file
 *
 * Return: @fidx * @per * KMQ_CQ_ENTRY_SIZE.
 */
u64 kmq_cq_file_offset(u64 fidx, u32 per);

/**
 * kmq_cq_file_index() - the file index a consume-queue file's name
 * (a byte offset) stands for.
 * @off: the offset its name holds (kmq_parse_offset_name())
 * @per: entries per consume-queue file (non-zero)
 * @fidx: out: the file index
 *
 * Return: 0, or -EINVAL when @off is not a multiple of the file size.
 */
int kmq_cq_file_index(u64 off, u32 per, u64 *fidx);

/**
 * kmq_cq_window() - the file slots (q->files) a queue needs to hold file
 * @fidx too: the window [@first, @first + @n) stretched to reach it.
 * @first: file index of the window's first slot
 * @n: its slots (0: none yet)
 * @fidx: the file index wanted
 * @nfirst: out: the first file index of the window needed
 * @ncnt: out: its slots
 *
 * Return: 0 when @fidx is inside already (the outputs are the inputs), 1
 * when the window must become [@nfirst, @nfirst + @ncnt), -EFBIG when
 * that would span more than KMQ_CQ_SLOTS_MAX slots.
 */
int kmq_cq_window(u64 first, u64 n, u64 fidx, u64 *nfirst, u64 *ncnt);

/**
 * kmq_lower_bound() - binary search: the first index in [@lo, @hi) at
 * which @pred holds, for a @pred that is false up to some index and true
 * from there on (a queue's store times against a wanted time, its
 * entries' commitlog offsets against the ring's start). @pred is called
 * at most floor(log2(@hi - @lo)) + 1 times, never outside [@lo, @hi).
 * @lo: first index
 * @hi: one past the last index
 * @pred: the test of one index
 * @arg: passed to @pred
 *
 * Return: that index, or @hi when @pred holds nowhere (also when
 * @lo >= @hi).
 */
u64 kmq_lower_bound(u64 lo, u64 hi, bool (*pred)(void *arg, u64 idx),
		    void *arg);

#endif /* _KMQ_RING_H */
