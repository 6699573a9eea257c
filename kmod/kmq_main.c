// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_main.c - kmq.ko's entry points.
 *
 * At load the shared record format code (uapi/) is checked first: a
 * record is encoded, decoded and compared with constants worked out in
 * userspace, so a format miscompiled for the kernel refuses to load
 * instead of corrupting a commitlog. Then the store's workqueue and
 * /dev/kmq come up, in that order, and go in the reverse order.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kmq.h"
#include "kmq_record.h"

/* Flushers, checkpoints and segment preparation of every store. */
struct workqueue_struct *kmq_wq;

/* From kmod/scripts/selftest-crc.sh, which lays the record out by hand. */
#define KMQ_SELFTEST_SIZE	128
#define KMQ_SELFTEST_BODY_CRC	0x7b5a5d0c
#define KMQ_SELFTEST_CRC	0xed5e0c3e

static const char kmq_st_body[] = "kmq self check";
static const char kmq_st_topic[] = "kmq-selftest";
static const char kmq_st_props[] = "TAGS\001check\002";

static int __init kmq_format_selftest(void)
{
	struct kmq_record in = {
		.queue_id = 3,
		.flag = 0x5a,
		.queue_offset = 42,
		.phys_offset = 4096,
		.born_ts = 1700000000000ULL,
		.born_host = { .addr = { 127, 0, 0, 1 }, .port = 10911 },
		.store_ts = 1700000000007ULL,
		.store_host = { .addr = { 127, 0, 0, 1 }, .port = 10911 },
		.reconsume_times = 1,
		.body = kmq_st_body,
		.body_len = sizeof(kmq_st_body) - 1,
		.topic = kmq_st_topic,
		.topic_len = sizeof(kmq_st_topic) - 1,
		.props = kmq_st_props,
		.props_len = sizeof(kmq_st_props) - 1,
	};
	struct kmq_record out;
	void *buf;
	int ret;

	in.body_crc = kmq_body_crc(in.body, in.body_len);
	buf = kzalloc(KMQ_SELFTEST_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;

	ret = kmq_record_encode(buf, KMQ_SELFTEST_SIZE, &in);
	if (ret != KMQ_SELFTEST_SIZE) {
		pr_err("self check: encode returned %d\n", ret);
		goto fail;
	}
	ret = kmq_record_decode(buf, KMQ_SELFTEST_SIZE, &out, KMQ_DECODE_CRC);
	if (ret) {
		pr_err("self check: decode: %s\n", kmq_fmt_strerror(ret));
		goto fail;
	}
	if (out.total_size != KMQ_SELFTEST_SIZE || out.magic != KMQ_MAGIC_V1 ||
	    out.body_crc != KMQ_SELFTEST_BODY_CRC ||
	    out.queue_offset != in.queue_offset ||
	    out.store_host.port != in.store_host.port ||
	    out.topic_len != in.topic_len ||
	    memcmp(out.topic, kmq_st_topic, out.topic_len) ||
	    out.props_len != in.props_len) {
		pr_err("self check: decoded record differs\n");
		goto fail;
	}
	if (kmq_crc32(0, buf, KMQ_SELFTEST_SIZE) != KMQ_SELFTEST_CRC) {
		pr_err("self check: record bytes differ from the reference\n");
		goto fail;
	}
	kfree(buf);
	return 0;

fail:
	print_hex_dump(KERN_ERR, KBUILD_MODNAME ": ", DUMP_PREFIX_OFFSET,
		       16, 1, buf, KMQ_SELFTEST_SIZE, false);
	kfree(buf);
	return -EINVAL;
}

static int __init kmq_init(void)
{
	int ret;

	ret = kmq_format_selftest();
	if (ret)
		return ret;
	pr_info("record format self check passed\n");

	kmq_wq = alloc_workqueue("kmq", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!kmq_wq)
		return -ENOMEM;
	ret = kmq_sysfs_init();
	if (ret)
		goto err_wq;
	ret = kmq_proc_init();
	if (ret)
		goto err_sysfs;
	ret = kmq_genl_init();
	if (ret)
		goto err_proc;
	ret = kmq_dev_init();
	if (ret)
		goto err_genl;
	return 0;

err_genl:
	kmq_genl_exit();
err_proc:
	kmq_proc_exit();
err_sysfs:
	kmq_sysfs_exit();
err_wq:
	destroy_workqueue(kmq_wq);
	return ret;
}

static void __exit kmq_exit(void)
{
	kmq_dev_exit();
	kmq_genl_exit();
	kmq_proc_exit();
	kmq_sysfs_exit();
	destroy_workqueue(kmq_wq);
	kmq_stores_exit();
}

module_init(kmq_init);
module_exit(kmq_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmq developers");
MODULE_DESCRIPTION("kmq: RocketMQ-compatible message store");
