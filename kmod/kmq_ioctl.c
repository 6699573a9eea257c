// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_ioctl.c - /dev/kmq's ioctl dispatch (uapi/kmq_ioctl.h).
 *
 * Commands are told apart by type and number only; each argument struct
 * carries its own size, read first: below the command's first published
 * size is -EINVAL, above what the module knows is accepted only when the
 * extra bytes are zero (copy_struct_from_user(), -E2BIG otherwise).
 * Outputs go back up to the smaller of the two sizes, from a struct that
 * was zeroed or copied from the caller: never an uninitialised byte.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/uaccess.h>

#include "kmq.h"

union kmq_ioc_arg {
	struct kmq_attach attach;
	struct kmq_detach detach;
	struct kmq_topic topic;
	struct kmq_topic_list topic_list;
	struct kmq_append append;
	struct kmq_read read;
	struct kmq_queue_info queue_info;
	struct kmq_flush flush;
	struct kmq_subscribe subscribe;
	struct kmq_ready ready;
	struct kmq_store_info store_info;
	struct kmq_read_at read_at;
	struct kmq_pull_send pull_send;
	struct kmq_pull pull;
};

/**
 * struct kmq_ioc_desc - what the module knows of a command.
 * @ksize: sizeof() of its struct here
 * @ver0: its first published size
 * @out: the struct carries outputs to write back
 * @store: works on the fd's bound store
 */
struct kmq_ioc_desc {
	u32 ksize;
	u32 ver0;
	bool out;
	bool store;
};

#define KMQ_DESC(nr, type, v0, o, st)					\
	[nr] = { .ksize = sizeof(type), .ver0 = (v0), .out = (o), .store = (st) }

static const struct kmq_ioc_desc kmq_ioc_descs[] = {
	KMQ_DESC(1, struct kmq_attach, KMQ_ATTACH_SIZE_VER0, true, false),
	KMQ_DESC(2, struct kmq_detach, KMQ_DETACH_SIZE_VER0, false, false),
	KMQ_DESC(3, struct kmq_topic, KMQ_TOPIC_SIZE_VER0, false, true),
	KMQ_DESC(4, struct kmq_topic, KMQ_TOPIC_SIZE_VER0, false, true),
	KMQ_DESC(5, struct kmq_topic_list, KMQ_TOPIC_LIST_SIZE_VER0, true,
		 true),
	KMQ_DESC(6, struct kmq_append, KMQ_APPEND_SIZE_VER0, true, true),
	KMQ_DESC(7, struct kmq_read, KMQ_READ_SIZE_VER0, true, true),
	KMQ_DESC(8, struct kmq_queue_info, KMQ_QUEUE_INFO_SIZE_VER0, true,
		 true),
	KMQ_DESC(9, struct kmq_queue_info, KMQ_QUEUE_INFO_SIZE_VER0, true,
		 true),
	KMQ_DESC(10, struct kmq_flush, KMQ_FLUSH_SIZE_VER0, true, true),
	KMQ_DESC(11, struct kmq_subscribe, KMQ_SUBSCRIBE_SIZE_VER0, false,
		 false),
	KMQ_DESC(12, struct kmq_ready, KMQ_READY_SIZE_VER0, true, false),
	KMQ_DESC(13, struct kmq_store_info, KMQ_STORE_INFO_SIZE_VER0, true,
		 true),
	KMQ_DESC(14, struct kmq_read_at, KMQ_READ_AT_SIZE_VER0, true, true),
	/* A prepared pull belongs to the fd: it outlives a detach. */
	KMQ_DESC(15, struct kmq_pull_send, KMQ_PULL_SEND_SIZE_VER0, true,
		 false),
	KMQ_DESC(16, struct kmq_pull, KMQ_PULL_SIZE_VER0, true, true),
};

static int kmq_topic_check(const struct kmq_topic *t, bool set)
{
	if (t->flags || t->__rsvd ||
	    kmq_topic_name_len(t->name, sizeof(t->name)) < 0)
		return -EINVAL;
	if (!set)
		return 0;
	if (!t->read_queues || t->read_queues > KMQ_QUEUES_MAX ||
	    !t->write_queues || t->write_queues > KMQ_QUEUES_MAX ||
	    t->perm & ~KMQ_TOPIC_PERM_MASK)
		return -EINVAL;
	return 0;
}

static int kmq_topic_list_check(const struct kmq_topic_list *tl)
{
	if (tl->flags || tl->entry_size < KMQ_TOPIC_SIZE_VER0 ||
	    tl->entry_size > PAGE_SIZE ||
	    !memchr(tl->after, '\0', sizeof(tl->after)))
		return -EINVAL;
	return 0;
}

/**
 * kmq_put_entry() - write one entry of an output array whose entry size
 * the caller chose (append results, topic list, ready list): the
 * module's struct up to that size, zeros past it.
 * @dst: the entry, in userspace
 * @usize: the caller's entry size
 * @src: the module's struct
 * @ksize: its size
 *
 * Return: 0 or -EFAULT.
 */
int kmq_put_entry(void __user *dst, u32 usize, const void *src, size_t ksize)
{
	size_t n = min_t(size_t, usize, ksize);

	if (copy_to_user(dst, src, n))
		return -EFAULT;
	if (usize > n && clear_user((u8 __user *)dst + n, usize - n))
		return -EFAULT;
	return 0;
}

/*
 * A command on the fd's bound store. Whoever holds the fd may use the
 * store as a broker does, topics included (a broker creates them): the
 * device's mode and group decide who may; attaching a directory and
 * detaching need CAP_SYS_ADMIN (kmq_ioctl()).
 */
static int kmq_ioc_store(struct kmq_fctx *fc, struct kmq_kstore *s,
			 unsigned int nr, union kmq_ioc_arg *u)
{
	switch (nr) {
	case _IOC_NR(KMQ_IOC_TOPIC_SET):
		return kmq_topic_check(&u->topic, true) ?:
		       kmq_topic_set(s, &u->topic);
	case _IOC_NR(KMQ_IOC_TOPIC_DEL):
		return kmq_topic_check(&u->topic, false) ?:
		       kmq_topic_del(s, u->topic.name);
	case _IOC_NR(KMQ_IOC_TOPIC_LIST):
		return kmq_topic_list_check(&u->topic_list) ?:
		       kmq_topic_list(s, &u->topic_list);
	case _IOC_NR(KMQ_IOC_APPEND):
		return kmq_append(s, &u->append);
	case _IOC_NR(KMQ_IOC_READ):
		return kmq_read(s, &u->read);
	case _IOC_NR(KMQ_IOC_QUEUE_INFO):
		return kmq_queue_info(s, &u->queue_info, false);
	case _IOC_NR(KMQ_IOC_OFFSET_BY_TIME):
		return kmq_queue_info(s, &u->queue_info, true);
	case _IOC_NR(KMQ_IOC_FLUSH):
		return kmq_flush_ioctl(s, &u->flush);
	case _IOC_NR(KMQ_IOC_STORE_INFO):
		if (u->store_info.flags || u->store_info.__rsvd)
			return -EINVAL;
		kmq_store_fill_info(s, &u->store_info);
		return 0;
	case _IOC_NR(KMQ_IOC_READ_AT):
		return kmq_read_at(s, &u->read_at);
	case _IOC_NR(KMQ_IOC_PULL_PREPARE):
		return kmq_pull_prepare(fc, s, &u->pull);
	}
	return -ENOTTY;
}

static int kmq_ioc_dispatch(struct kmq_fctx *fc, unsigned int nr,
			    const struct kmq_ioc_desc *d, union kmq_ioc_arg *u)
{
	struct kmq_kstore *s;
	int ret;

	if (!d->store) {
		switch (nr) {
		case _IOC_NR(KMQ_IOC_ATTACH):
			return kmq_store_attach(fc, &u->attach);
		case _IOC_NR(KMQ_IOC_DETACH):
			if (!capable(CAP_SYS_ADMIN))
				return -EPERM;
			if (u->detach.flags ||
			    kmq_store_name_len(u->detach.name,
					       sizeof(u->detach.name)) < 0)
				return -EINVAL;
			return kmq_store_detach(u->detach.name);
		case _IOC_NR(KMQ_IOC_SUBSCRIBE):
			return kmq_subscribe(fc, &u->subscribe);
		case _IOC_NR(KMQ_IOC_READY):
			return kmq_ready(fc, &u->ready);
		case _IOC_NR(KMQ_IOC_PULL_SEND):
			return kmq_pull_send(fc, &u->pull_send);
		}
		return -ENOTTY;
	}
	s = kmq_fctx_store(fc);
	if (!s)
		return -ENXIO;
	ret = kmq_store_enter(s);
	if (!ret) {
		ret = kmq_ioc_store(fc, s, nr, u);
		if (ret && ret != -ENOSPC && ret != -ENOENT)
			atomic64_inc(&s->errors);
		kmq_store_leave(s);
	}
	kmq_store_put(s);
	return ret;
}

/**
 * kmq_ioctl() - unlocked_ioctl of /dev/kmq.
 * @file: the fd
 * @cmd: KMQ_IOC_*
 * @arg: user pointer to the command's struct
 *
 * Return: 0 or -errno; -ENOTTY for a command kmq does not know.
 */
long kmq_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct kmq_ioc_desc *d;
	union kmq_ioc_arg u;
	unsigned int nr;
	u32 usize;
	int ret;

	if (_IOC_TYPE(cmd) != KMQ_IOC_MAGIC)
		return -ENOTTY;
	nr = _IOC_NR(cmd);
	if (nr >= ARRAY_SIZE(kmq_ioc_descs) || !kmq_ioc_descs[nr].ksize)
		return -ENOTTY;
	d = &kmq_ioc_descs[nr];
	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < d->ver0)
		return -EINVAL;
	if (usize > PAGE_SIZE)		/* no struct will grow that far */
		return -E2BIG;
	ret = copy_struct_from_user(&u, d->ksize, uarg, usize);
	if (ret)
		return ret;

	ret = kmq_ioc_dispatch(file->private_data, nr, d, &u);
	/* A read whose first record does not fit says how big it is. */
	if (d->out && (!ret || (ret == -ENOSPC &&
				(nr == _IOC_NR(KMQ_IOC_READ) ||
				 nr == _IOC_NR(KMQ_IOC_READ_AT))))) {
		if (copy_to_user(uarg, &u, min(usize, d->ksize)))
			return -EFAULT;
	}
	return ret;
}
