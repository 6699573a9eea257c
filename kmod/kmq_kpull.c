// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_kpull.c - KMQ_IOC_PULL_PREPARE and the fd's table of prepared
 * pulls (uapi/kmq_ioctl.h, "Zero-copy pull delivery").
 *
 * A prepare runs the lookup of KMQ_IOC_READ (kmq_lookup()) with a sink that
 * keeps each run of records as a range of its segment, pinned, instead of
 * copying it. A pull that found records gets a handle: an id in the fd's
 * XArray, given cyclically so a stale id does not name a new pull soon.
 * KMQ_IOC_PULL_SEND (kmq_ksend.c) claims the handle while it sends (a
 * second sender gets -EBUSY), and drops it once the response is out, on
 * CANCEL or on a socket error; whatever is left goes with the fd.
 *
 * Pins keep the bytes: the ring never renames a pinned segment for reuse,
 * it unlinks it (kmq_kseg.c), and the unlinked file stays readable until
 * the last pin goes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "kmq.h"

static struct kmq_kpull *kmq_pull_alloc(u32 max_msgs)
{
	struct kmq_kpull *h;

	h = kvzalloc(struct_size(h, ranges, max_msgs), GFP_KERNEL);
	if (h)
		h->cap = max_msgs;
	return h;
}

static void kmq_pull_free(struct kmq_kpull *h)
{
	u32 i;

	for (i = 0; i < h->nranges; i++)
		kmq_seg_put(h->ranges[i].seg);
	if (h->store)
		kmq_store_put(h->store);
	kfree(h->hdr);
	kvfree(h);
}

/* The lookup's sink: keep the run, pinned. */
static int kmq_pull_sink(struct kmq_lookup *sc, struct kmq_kseg *seg, u64 phys,
			 u32 len)
{
	struct kmq_kpull *h = sc->arg;
	struct kmq_prange *r;

	/* A run holds at least one record: never more runs than records. */
	if (WARN_ON_ONCE(h->nranges >= h->cap))
		return -EOVERFLOW;
	r = &h->ranges[h->nranges++];
	kmq_seg_get(seg);
	r->seg = seg;
	r->pos = phys - seg->start;
	r->len = len;
	return 0;
}

/* Give @h a handle in @fc's table. */
static int kmq_pull_insert(struct kmq_fctx *fc, struct kmq_kpull *h)
{
	int ret;

	mutex_lock(&fc->lock);
	if (fc->npulls >= KMQ_PULL_HANDLES_MAX) {
		ret = -ENOBUFS;
	} else {
		ret = xa_alloc_cyclic(&fc->pulls, &h->id, h,
				      XA_LIMIT(1, U32_MAX), &fc->pull_next,
				      GFP_KERNEL);
		if (ret >= 0) {
			fc->npulls++;
			ret = 0;
		} else if (ret == -EBUSY) {
			ret = -ENOBUFS;	/* every id taken */
		}
	}
	mutex_unlock(&fc->lock);
	return ret;
}

/**
 * kmq_pull_prepare() - KMQ_IOC_PULL_PREPARE.
 * @fc: the fd, which keeps the handle
 * @s: its store
 * @p: the request; status, count, bytes, handle and offsets are filled
 *
 * Return: 0 (see @p->status; @p->handle is non-zero when @p->count is),
 * -EINVAL, -ENOENT, -ERANGE, -EFAULT, -ENOMEM, -ENOBUFS (the fd holds
 * KMQ_PULL_HANDLES_MAX prepared pulls).
 */
int kmq_pull_prepare(struct kmq_fctx *fc, struct kmq_kstore *s,
		     struct kmq_pull *p)
{
	struct kmq_lookup sc = {
		.topic = p->topic,
		.queue_id = p->queue_id,
		.offset = p->offset,
		.max_msgs = p->max_msgs,
		.max_bytes = p->max_bytes && p->max_bytes < KMQ_PULL_BYTES_MAX ?
			     p->max_bytes : KMQ_PULL_BYTES_MAX,
		.first_always = true,
		.ntags = p->ntags,
		.sink = kmq_pull_sink,
	};
	struct kmq_kpull *h;
	int ret;

	if (p->flags || !p->max_msgs || p->max_msgs > KMQ_PULL_MSGS_MAX)
		return -EINVAL;
	h = kmq_pull_alloc(p->max_msgs);
	if (!h)
		return -ENOMEM;
	sc.arg = h;
	ret = kmq_lookup_user(s, &sc, p->tags);
	p->ntags = sc.ntags;
	p->status = sc.status;
	p->count = ret ? 0 : sc.count;
	p->bytes = ret ? 0 : sc.bytes;
	p->handle = 0;
	p->next_offset = sc.next_offset;
	p->min_offset = sc.min_offset;
	p->max_offset = sc.max_offset;
	if (!ret && sc.count) {
		kmq_store_get(s);
		h->store = s;
		h->body_len = sc.bytes;
		ret = kmq_pull_insert(fc, h);
		if (!ret) {
			p->handle = h->id;
			h = NULL;
			atomic64_inc(&s->pulls);
		}
	}
	if (h)
		kmq_pull_free(h);
	return ret;
}

/**
 * kmq_pull_claim() - take the prepared pull @handle for a send.
 * @fc: the fd
 * @handle: its id
 *
 * Return: the pull, busy until kmq_pull_unclaim() or kmq_pull_drop();
 * ERR_PTR(-ENOENT) when @fc has no such pull, ERR_PTR(-EBUSY) while
 * another thread sends it.
 */
struct kmq_kpull *kmq_pull_claim(struct kmq_fctx *fc, u32 handle)
{
	struct kmq_kpull *h;

	mutex_lock(&fc->lock);
	h = handle ? xa_load(&fc->pulls, handle) : NULL;
	if (!h)
		h = ERR_PTR(-ENOENT);
	else if (h->busy)
		h = ERR_PTR(-EBUSY);
	else
		h->busy = true;
	mutex_unlock(&fc->lock);
	return h;
}

/**
 * kmq_pull_unclaim() - give a claimed pull back to the table.
 * @fc: the fd
 * @h: the pull
 */
void kmq_pull_unclaim(struct kmq_fctx *fc, struct kmq_kpull *h)
{
	mutex_lock(&fc->lock);
	h->busy = false;
	mutex_unlock(&fc->lock);
}

/**
 * kmq_pull_drop() - remove a claimed pull and free it (its pins go).
 * @fc: the fd
 * @h: the pull
 */
void kmq_pull_drop(struct kmq_fctx *fc, struct kmq_kpull *h)
{
	mutex_lock(&fc->lock);
	xa_erase(&fc->pulls, h->id);
	fc->npulls--;
	mutex_unlock(&fc->lock);
	kmq_pull_free(h);
}

/**
 * kmq_pulls_init() - an empty table for a new fd.
 * @fc: the fd
 */
void kmq_pulls_init(struct kmq_fctx *fc)
{
	xa_init_flags(&fc->pulls, XA_FLAGS_ALLOC1);
	fc->npulls = 0;
	fc->pull_next = 1;
}

/**
 * kmq_pulls_release() - free every pull of a closing fd (no ioctl can
 * run on it any more).
 * @fc: the fd
 */
void kmq_pulls_release(struct kmq_fctx *fc)
{
	struct kmq_kpull *h;
	unsigned long id;

	xa_for_each(&fc->pulls, id, h) {
		xa_erase(&fc->pulls, id);
		kmq_pull_free(h);
	}
	xa_destroy(&fc->pulls);
	fc->npulls = 0;
}
