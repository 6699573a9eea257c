// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_proc.c - /proc/kmq: one text file per view of the attached stores,
 * a header line naming the columns, then one line per store (stores,
 * stats) or per queue (topics). Field names match the sysfs attributes
 * and the netlink attributes.
 *
 *   /proc/kmq/stores  id name flush_mode segment_size ring_segments
 *                     segments retention_ms min_offset write_offset
 *                     flushed_offset topics path
 *   /proc/kmq/topics  store topic read_queues write_queues perm queue
 *                     min_offset max_offset
 *   /proc/kmq/stats   store appends append_bytes reads read_bytes
 *                     splice_bytes copy_bytes errors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/proc_fs.h>
#include <linux/rbtree.h>
#include <linux/seq_file.h>

#include "kmq.h"

static struct proc_dir_entry *kmq_proc_dir;

static void kmq_proc_store(struct seq_file *m, struct kmq_kstore *s)
{
	struct kmq_store_info si = {};

	kmq_store_fill_info(s, &si);
	seq_printf(m, "%u %s %s %llu %u %u %llu %llu %llu %llu %u %s\n",
		   si.store_id, s->name,
		   si.flush_mode == KMQ_FLUSH_MODE_SYNC ? "SYNC_FLUSH" :
							  "ASYNC_FLUSH",
		   si.segment_size, si.ring_segments, si.segments,
		   si.retention_ms, si.min_offset, si.write_offset,
		   si.flushed_offset, si.topics, s->path_str ?: "?");
}

static int kmq_proc_stores_show(struct seq_file *m, void *v)
{
	seq_puts(m, "id name flush_mode segment_size ring_segments segments retention_ms min_offset write_offset flushed_offset topics path\n");
	kmq_stores_walk(kmq_proc_store, m);
	return 0;
}

static void kmq_proc_stat(struct seq_file *m, struct kmq_kstore *s)
{
	struct kmq_store_info si = {};

	kmq_store_fill_info(s, &si);
	seq_printf(m, "%s %llu %llu %llu %llu %llu %llu %llu\n", s->name,
		   si.appends, si.append_bytes, si.reads, si.read_bytes,
		   si.splice_bytes, si.copy_bytes, si.errors);
}

static int kmq_proc_stats_show(struct seq_file *m, void *v)
{
	seq_puts(m, "store appends append_bytes reads read_bytes splice_bytes copy_bytes errors\n");
	kmq_stores_walk(kmq_proc_stat, m);
	return 0;
}

static void kmq_proc_topic(struct seq_file *m, struct kmq_kstore *s)
{
	struct rb_node *n;
	u32 i;

	mutex_lock(&s->lock);
	for (n = rb_first(&s->topics); n; n = rb_next(n)) {
		struct kmq_ktopic *t = rb_entry(n, struct kmq_ktopic, node);

		for (i = 0; i < max(t->nqueues, t->nallocated); i++) {
			struct kmq_kqueue *q = i < t->nallocated ?
					       t->queues[i] : NULL;

			seq_printf(m, "%s %s %u %u %u %u %llu %llu\n", s->name,
				   t->name, t->read_queues, t->write_queues,
				   t->perm, i, q ? q->min : 0, q ? q->max : 0);
		}
	}
	mutex_unlock(&s->lock);
}

static int kmq_proc_topics_show(struct seq_file *m, void *v)
{
	seq_puts(m, "store topic read_queues write_queues perm queue min_offset max_offset\n");
	kmq_stores_walk(kmq_proc_topic, m);
	return 0;
}

int kmq_proc_init(void)
{
	kmq_proc_dir = proc_mkdir(KBUILD_MODNAME, NULL);
	if (!kmq_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("stores", 0444, kmq_proc_dir,
				kmq_proc_stores_show) ||
	    !proc_create_single("topics", 0444, kmq_proc_dir,
				kmq_proc_topics_show) ||
	    !proc_create_single("stats", 0444, kmq_proc_dir,
				kmq_proc_stats_show)) {
		proc_remove(kmq_proc_dir);
		return -ENOMEM;
	}
	return 0;
}

void kmq_proc_exit(void)
{
	proc_remove(kmq_proc_dir);
}
