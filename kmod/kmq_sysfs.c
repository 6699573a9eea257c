// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_sysfs.c - /sys/kernel/kmq/<store>/: one read-only attribute per
 * value, for each attached store: geometry (segment_size, ring_segments,
 * retention_ms), positions (write_offset, flushed_offset, min_offset)
 * and counters (appends, append_bytes, reads, read_bytes, splice_bytes,
 * copy_bytes, errors, pulls, pull_sends). The folder comes with ATTACH and goes with
 * DETACH; it holds a reference on its store until the last reader of
 * an attribute is done.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "kmq.h"

static struct kobject *kmq_sysfs_root;

/* A store's folder: its kobject and the store it shows. */
struct kmq_skobj {
	struct kobject kobj;
	struct kmq_kstore *s;
};

static void kmq_skobj_release(struct kobject *kobj)
{
	struct kmq_skobj *k = container_of(kobj, struct kmq_skobj, kobj);

	kmq_store_put(k->s);
	kfree(k);
}

enum kmq_sysfs_field {
	KMQ_SF_SEGMENT_SIZE,
	KMQ_SF_RING_SEGMENTS,
	KMQ_SF_RETENTION_MS,
	KMQ_SF_WRITE_OFFSET,
	KMQ_SF_FLUSHED_OFFSET,
	KMQ_SF_MIN_OFFSET,
	KMQ_SF_APPENDS,
	KMQ_SF_APPEND_BYTES,
	KMQ_SF_READS,
	KMQ_SF_READ_BYTES,
	KMQ_SF_SPLICE_BYTES,
	KMQ_SF_COPY_BYTES,
	KMQ_SF_ERRORS,
	KMQ_SF_PULLS,
	KMQ_SF_PULL_SENDS,
};

struct kmq_sattr {
	struct kobj_attribute attr;
	enum kmq_sysfs_field field;
};

static u64 kmq_sysfs_value(const struct kmq_store_info *si,
			   enum kmq_sysfs_field f)
{
	switch (f) {
	case KMQ_SF_SEGMENT_SIZE:
		return si->segment_size;
	case KMQ_SF_RING_SEGMENTS:
		return si->ring_segments;
	case KMQ_SF_RETENTION_MS:
		return si->retention_ms;
	case KMQ_SF_WRITE_OFFSET:
		return si->write_offset;
	case KMQ_SF_FLUSHED_OFFSET:
		return si->flushed_offset;
	case KMQ_SF_MIN_OFFSET:
		return si->min_offset;
	case KMQ_SF_APPENDS:
		return si->appends;
	case KMQ_SF_APPEND_BYTES:
		return si->append_bytes;
	case KMQ_SF_READS:
		return si->reads;
	case KMQ_SF_READ_BYTES:
		return si->read_bytes;
	case KMQ_SF_SPLICE_BYTES:
		return si->splice_bytes;
	case KMQ_SF_COPY_BYTES:
		return si->copy_bytes;
	case KMQ_SF_ERRORS:
		return si->errors;
	case KMQ_SF_PULLS:
		return si->pulls;
	case KMQ_SF_PULL_SENDS:
		return si->pull_sends;
	}
	return 0;
}

static ssize_t kmq_sattr_show(struct kobject *kobj, struct kobj_attribute *a,
			      char *buf)
{
	struct kmq_skobj *k = container_of(kobj, struct kmq_skobj, kobj);
	struct kmq_sattr *sa = container_of(a, struct kmq_sattr, attr);
	struct kmq_store_info si = {};

	kmq_store_fill_info(k->s, &si);
	return sysfs_emit(buf, "%llu\n", kmq_sysfs_value(&si, sa->field));
}

#define KMQ_SATTR(_name, _field)					\
	static struct kmq_sattr kmq_sattr_##_name = {			\
		.attr = __ATTR(_name, 0444, kmq_sattr_show, NULL),	\
		.field = (_field),					\
	}

KMQ_SATTR(segment_size, KMQ_SF_SEGMENT_SIZE);
KMQ_SATTR(ring_segments, KMQ_SF_RING_SEGMENTS);
KMQ_SATTR(retention_ms, KMQ_SF_RETENTION_MS);
KMQ_SATTR(write_offset, KMQ_SF_WRITE_OFFSET);
KMQ_SATTR(flushed_offset, KMQ_SF_FLUSHED_OFFSET);
KMQ_SATTR(min_offset, KMQ_SF_MIN_OFFSET);
KMQ_SATTR(appends, KMQ_SF_APPENDS);
KMQ_SATTR(append_bytes, KMQ_SF_APPEND_BYTES);
KMQ_SATTR(reads, KMQ_SF_READS);
KMQ_SATTR(read_bytes, KMQ_SF_READ_BYTES);
KMQ_SATTR(splice_bytes, KMQ_SF_SPLICE_BYTES);
KMQ_SATTR(copy_bytes, KMQ_SF_COPY_BYTES);
KMQ_SATTR(errors, KMQ_SF_ERRORS);
KMQ_SATTR(pulls, KMQ_SF_PULLS);
KMQ_SATTR(pull_sends, KMQ_SF_PULL_SENDS);

static struct attribute *kmq_store_attrs[] = {
	&kmq_sattr_segment_size.attr.attr,
	&kmq_sattr_ring_segments.attr.attr,
	&kmq_sattr_retention_ms.attr.attr,
	&kmq_sattr_write_offset.attr.attr,
	&kmq_sattr_flushed_offset.attr.attr,
	&kmq_sattr_min_offset.attr.attr,
	&kmq_sattr_appends.attr.attr,
	&kmq_sattr_append_bytes.attr.attr,
	&kmq_sattr_reads.attr.attr,
	&kmq_sattr_read_bytes.attr.attr,
	&kmq_sattr_splice_bytes.attr.attr,
	&kmq_sattr_copy_bytes.attr.attr,
	&kmq_sattr_errors.attr.attr,
	&kmq_sattr_pulls.attr.attr,
	&kmq_sattr_pull_sends.attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kmq_store);

static const struct kobj_type kmq_skobj_type = {
	.release	= kmq_skobj_release,
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= kmq_store_groups,
};

/**
 * kmq_sysfs_add() - create /sys/kernel/kmq/<store>/.
 * @s: the store, being attached
 *
 * Return: 0 or -errno.
 */
int kmq_sysfs_add(struct kmq_kstore *s)
{
	struct kmq_skobj *k = kzalloc(sizeof(*k), GFP_KERNEL);
	int ret;

	if (!k)
		return -ENOMEM;
	kmq_store_get(s);
	k->s = s;
	ret = kobject_init_and_add(&k->kobj, &kmq_skobj_type, kmq_sysfs_root,
				   "%s", s->name);
	if (ret) {
		kobject_put(&k->kobj);
		return ret;
	}
	s->kobj = &k->kobj;
	return 0;
}

/**
 * kmq_sysfs_del() - remove the store's folder (detach).
 * @s: the store
 */
void kmq_sysfs_del(struct kmq_kstore *s)
{
	if (!s->kobj)
		return;
	kobject_del(s->kobj);
	kobject_put(s->kobj);
	s->kobj = NULL;
}

int kmq_sysfs_init(void)
{
	kmq_sysfs_root = kobject_create_and_add(KBUILD_MODNAME, kernel_kobj);
	return kmq_sysfs_root ? 0 : -ENOMEM;
}

void kmq_sysfs_exit(void)
{
	kobject_put(kmq_sysfs_root);
}
