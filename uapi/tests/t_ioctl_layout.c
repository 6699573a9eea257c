// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * t_ioctl_layout.c - TAP tests pinning the /dev/kmq ABI (uapi/kmq_ioctl.h)
 * and the netlink numbering (uapi/kmq_genl.h): struct sizes equal their
 * published VER0 sizes, fields sit where the ABI table says (no implicit
 * padding that 32-bit and 64-bit callers would lay out differently), and
 * every ioctl number is distinct and carries its struct's size.
 */
#include <stddef.h>
#include <string.h>

#include "kmq_tap.h"
#include "kmq_ioctl.h"
#include "kmq_genl.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define SIZE_IS(type, ver0) \
	is_int(sizeof(struct type), ver0, #type " is " #ver0 " bytes")
#define OFF_IS(type, field, off) \
	is_int(offsetof(struct type, field), off, #type "." #field " at " #off)

static void test_sizes(void)
{
	is_int(sizeof(struct kmq_uhost), 24, "kmq_uhost is 24 bytes");
	SIZE_IS(kmq_attach, KMQ_ATTACH_SIZE_VER0);
	SIZE_IS(kmq_detach, KMQ_DETACH_SIZE_VER0);
	SIZE_IS(kmq_topic, KMQ_TOPIC_SIZE_VER0);
	SIZE_IS(kmq_topic_list, KMQ_TOPIC_LIST_SIZE_VER0);
	is_int(sizeof(struct kmq_append_msg), 208, "kmq_append_msg is 208 bytes");
	is_int(sizeof(struct kmq_append_res), 96, "kmq_append_res is 96 bytes");
	SIZE_IS(kmq_append_msg, KMQ_APPEND_MSG_SIZE_VER0);
	SIZE_IS(kmq_append_res, KMQ_APPEND_RES_SIZE_VER0);
	SIZE_IS(kmq_append, KMQ_APPEND_SIZE_VER0);
	SIZE_IS(kmq_read, KMQ_READ_SIZE_VER0);
	SIZE_IS(kmq_queue_info, KMQ_QUEUE_INFO_SIZE_VER0);
	SIZE_IS(kmq_flush, KMQ_FLUSH_SIZE_VER0);
	SIZE_IS(kmq_subscribe, KMQ_SUBSCRIBE_SIZE_VER0);
	SIZE_IS(kmq_ready, KMQ_READY_SIZE_VER0);
	SIZE_IS(kmq_store_info, KMQ_STORE_INFO_SIZE_VER1);
	OFF_IS(kmq_store_info, pulls, KMQ_STORE_INFO_SIZE_VER0);
	SIZE_IS(kmq_read_at, KMQ_READ_AT_SIZE_VER0);
	SIZE_IS(kmq_pull, KMQ_PULL_SIZE_VER0);
	SIZE_IS(kmq_pull_send, KMQ_PULL_SEND_SIZE_VER0);
}

/* The ABI table: every field after a possible hole, by hand. */
static void test_offsets(void)
{
	OFF_IS(kmq_attach, path, 16);
	OFF_IS(kmq_attach, name, 24);
	OFF_IS(kmq_attach, segment_size, 88);
	OFF_IS(kmq_attach, retention_ms, 104);
	OFF_IS(kmq_attach, store_host, 128);
	OFF_IS(kmq_attach, store_id, 152);
	OFF_IS(kmq_attach, write_offset, 160);
	OFF_IS(kmq_topic_list, entries, 8);
	OFF_IS(kmq_topic_list, after, 24);
	OFF_IS(kmq_topic_list, count, 152);
	OFF_IS(kmq_append_msg, body_len, 32);
	OFF_IS(kmq_append_msg, born_host, 56);
	OFF_IS(kmq_append_msg, topic, 80);
	OFF_IS(kmq_append_res, msg_id, 32);
	OFF_IS(kmq_append, count, 24);
	OFF_IS(kmq_append, end_offset, 40);
	OFF_IS(kmq_read, buf_len, 32);
	OFF_IS(kmq_read, topic, 48);
	OFF_IS(kmq_read, status, 176);
	OFF_IS(kmq_read, next_offset, 192);
	OFF_IS(kmq_queue_info, timestamp, 16);
	OFF_IS(kmq_queue_info, min_offset, 152);
	OFF_IS(kmq_queue_info, offset, 176);
	OFF_IS(kmq_flush, timeout_ms, 16);
	OFF_IS(kmq_flush, flushed_offset, 24);
	OFF_IS(kmq_subscribe, topic, 24);
	OFF_IS(kmq_ready, count, 24);
	OFF_IS(kmq_store_info, name, 16);
	OFF_IS(kmq_store_info, segment_size, 80);
	OFF_IS(kmq_store_info, errors, 176);
	OFF_IS(kmq_pull, topic, 40);
	OFF_IS(kmq_pull, status, 168);
	OFF_IS(kmq_pull, next_offset, 184);
	OFF_IS(kmq_pull_send, hdr, 16);
	OFF_IS(kmq_pull_send, offset, 32);
	OFF_IS(kmq_pull_send, total, 48);
}

static const struct {
	const char *name;
	unsigned long cmd;
	unsigned int size;
} ioctls[] = {
	{ "ATTACH", KMQ_IOC_ATTACH, KMQ_ATTACH_SIZE_VER0 },
	{ "DETACH", KMQ_IOC_DETACH, KMQ_DETACH_SIZE_VER0 },
	{ "TOPIC_SET", KMQ_IOC_TOPIC_SET, KMQ_TOPIC_SIZE_VER0 },
	{ "TOPIC_DEL", KMQ_IOC_TOPIC_DEL, KMQ_TOPIC_SIZE_VER0 },
	{ "TOPIC_LIST", KMQ_IOC_TOPIC_LIST, KMQ_TOPIC_LIST_SIZE_VER0 },
	{ "APPEND", KMQ_IOC_APPEND, KMQ_APPEND_SIZE_VER0 },
	{ "READ", KMQ_IOC_READ, KMQ_READ_SIZE_VER0 },
	{ "QUEUE_INFO", KMQ_IOC_QUEUE_INFO, KMQ_QUEUE_INFO_SIZE_VER0 },
	{ "OFFSET_BY_TIME", KMQ_IOC_OFFSET_BY_TIME, KMQ_QUEUE_INFO_SIZE_VER0 },
	{ "FLUSH", KMQ_IOC_FLUSH, KMQ_FLUSH_SIZE_VER0 },
	{ "SUBSCRIBE", KMQ_IOC_SUBSCRIBE, KMQ_SUBSCRIBE_SIZE_VER0 },
	{ "READY", KMQ_IOC_READY, KMQ_READY_SIZE_VER0 },
	{ "STORE_INFO", KMQ_IOC_STORE_INFO, KMQ_STORE_INFO_SIZE_VER1 },
	{ "READ_AT", KMQ_IOC_READ_AT, KMQ_READ_AT_SIZE_VER0 },
	{ "PULL_SEND", KMQ_IOC_PULL_SEND, KMQ_PULL_SEND_SIZE_VER0 },
	{ "PULL_PREPARE", KMQ_IOC_PULL_PREPARE, KMQ_PULL_SIZE_VER0 },
};

static void test_numbers(void)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(ioctls); i++) {
		int unique = 1;

		for (j = 0; j < i; j++)
			if (_IOC_NR(ioctls[j].cmd) == _IOC_NR(ioctls[i].cmd))
				unique = 0;
		ok(unique && _IOC_TYPE(ioctls[i].cmd) == KMQ_IOC_MAGIC &&
		   _IOC_NR(ioctls[i].cmd) == i + 1,
		   "KMQ_IOC_%s: type 0x%x, number %zu, unique",
		   ioctls[i].name, KMQ_IOC_MAGIC, i + 1);
		is_int(_IOC_SIZE(ioctls[i].cmd), ioctls[i].size,
		       "KMQ_IOC_%s carries its struct's size", ioctls[i].name);
	}
}

static void test_genl(void)
{
	ok(strcmp(KMQ_GENL_NAME, "kmq") == 0, "genl family is \"kmq\"");
	is_int(KMQ_CMD_STORE_GET, 1, "KMQ_CMD_STORE_GET is 1");
	is_int(KMQ_EVT_DETACHED, KMQ_CMD_MAX, "events are the last commands");
	is_int(KMQ_A_STORE_ID, 2, "KMQ_A_STORE_ID is 2");
	is_int(KMQ_A_TOPICS, 28, "KMQ_A_TOPICS is 28");
	is_int(KMQ_A_STAT_PULL_SENDS, KMQ_A_MAX,
	       "KMQ_A_STAT_PULL_SENDS is the last attribute");
}

int main(void)
{
	test_sizes();
	test_offsets();
	test_numbers();
	test_genl();
	return kmq_tap_done();
}
