// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_dev.c - /dev/kmq, the misc device kmqd and local consumers talk to:
 * open/release of the per-fd context (its bound store, its
 * subscriptions, its prepared pulls), ioctl, poll and mmap entry points.
 *
 * The node is created mode 0660, owned by root; the udev rule shipped in
 * kmod/udev/60-kmq.rules gives it to group kmq where that group exists.
 * The fops' owner pins the module while an fd is open.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "kmq.h"

static int kmq_open(struct inode *inode, struct file *file)
{
	struct kmq_fctx *fc = kzalloc(sizeof(*fc), GFP_KERNEL);

	if (!fc)
		return -ENOMEM;
	mutex_init(&fc->lock);
	kmq_pulls_init(fc);
	file->private_data = fc;
	return nonseekable_open(inode, file);
}

static int kmq_release(struct inode *inode, struct file *file)
{
	struct kmq_fctx *fc = file->private_data;

	kmq_subs_clear(fc);
	kmq_pulls_release(fc);
	if (fc->store)
		kmq_store_put(fc->store);
	kfree(fc->subs);
	kfree(fc);
	return 0;
}

/**
 * kmq_fctx_store() - the store @fc is bound to, with a reference.
 * @fc: the fd's context
 *
 * Return: the store (kmq_store_put() it), or NULL when unbound.
 */
struct kmq_kstore *kmq_fctx_store(struct kmq_fctx *fc)
{
	struct kmq_kstore *s;

	mutex_lock(&fc->lock);
	s = fc->store;
	if (s)
		kmq_store_get(s);
	mutex_unlock(&fc->lock);
	return s;
}

/**
 * kmq_fctx_bound() - whether @fc is bound to a store still attached.
 * @fc: the fd's context
 *
 * Return: true if bound to a live store.
 */
bool kmq_fctx_bound(struct kmq_fctx *fc)
{
	bool ret;

	mutex_lock(&fc->lock);
	ret = fc->store && !READ_ONCE(fc->store->detaching);
	mutex_unlock(&fc->lock);
	return ret;
}

/**
 * kmq_fctx_bind() - bind @fc to @s (a detached store's binding is
 * replaced, and its subscriptions dropped).
 * @fc: the fd's context
 * @s: the store; the binding takes its own reference
 *
 * Return: 0, or -EBUSY when @fc is bound to a live store.
 */
int kmq_fctx_bind(struct kmq_fctx *fc, struct kmq_kstore *s)
{
	struct kmq_kstore *old;

	mutex_lock(&fc->lock);
	old = fc->store;
	if (old && !READ_ONCE(old->detaching)) {
		mutex_unlock(&fc->lock);
		return -EBUSY;
	}
	mutex_unlock(&fc->lock);
	kmq_subs_clear(fc);
	mutex_lock(&fc->lock);
	if (fc->store != old) {
		mutex_unlock(&fc->lock);
		return -EBUSY;
	}
	kmq_store_get(s);
	fc->store = s;
	mutex_unlock(&fc->lock);
	if (old)
		kmq_store_put(old);
	return 0;
}

static const struct file_operations kmq_fops = {
	.owner		= THIS_MODULE,
	.open		= kmq_open,
	.release	= kmq_release,
	.unlocked_ioctl	= kmq_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= kmq_poll,
	.mmap		= kmq_mmap,
};

static struct miscdevice kmq_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= KMQ_DEV_NAME,
	.fops	= &kmq_fops,
	.mode	= 0660,
};

int kmq_dev_init(void)
{
	return misc_register(&kmq_misc);
}

void kmq_dev_exit(void)
{
	misc_deregister(&kmq_misc);
}
