// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_mmap.c - read-only shared mappings of sealed segments through
 * /dev/kmq. The mmap offset is the segment's start in the commitlog; the
 * VMA is handed to the segment file itself (vma_set_file() and its
 * ->mmap), with VM_MAYWRITE cleared so it can never become writable.
 * A mapped segment is marked: the ring never renames it for reuse, it
 * unlinks it instead, so mapped bytes never change.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>

#include "kmq.h"
#include "kmq_compat.h"

/* The sealed segment starting at @start, pinned and marked mapped. */
static struct kmq_kseg *kmq_mmap_seg(struct kmq_kstore *s, u64 start,
				     int *err)
{
	struct kmq_kseg *seg;

	mutex_lock(&s->lock);
	seg = s->dead || READ_ONCE(s->detaching) ? NULL :
	      kmq_ring_find(s, start);
	if (!seg || seg->start != start) {
		*err = -ENXIO;
		seg = NULL;
	} else if (seg == kmq_ring_writing(s)) {
		*err = -EBUSY;
		seg = NULL;
	} else {
		seg->mapped = true;
		kmq_seg_get(seg);
	}
	mutex_unlock(&s->lock);
	return seg;
}

/**
 * kmq_mmap() - mmap of /dev/kmq.
 * @file: the fd
 * @vma: the mapping: shared, not writable, offset a sealed segment's
 *	start, at most a segment long
 *
 * Return: 0, -EINVAL (private, too long), -EACCES (writable), -ENXIO
 * (no store, not a segment start in the ring), -EBUSY (the segment
 * being written), or the segment file's ->mmap error.
 */
int kmq_mmap(struct file *file, struct vm_area_struct *vma)
{
	u64 start = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	struct kmq_kstore *s;
	struct kmq_kseg *seg;
	int ret;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EACCES;
	/*
	 * mmap_lock is held: no kmq_store_enter() here (readers fault on
	 * user memory under it); s->lock alone decides, as detach drops
	 * the ring under it.
	 */
	s = kmq_fctx_store(file->private_data);
	if (!s)
		return -ENXIO;
	if (len > s->g.segment_size) {
		ret = -EINVAL;
		goto out;
	}
	seg = kmq_mmap_seg(s, start, &ret);
	if (!seg)
		goto out;
	kmq_vm_flags_clear(vma, VM_MAYWRITE);
	vma->vm_pgoff = 0;
	vma_set_file(vma, seg->file);
	ret = call_mmap(seg->file, vma);
	kmq_seg_put(seg);
out:
	kmq_store_put(s);
	return ret;
}
