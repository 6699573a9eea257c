// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_topic_test.c - KMQ_IOC_TOPIC_SET, KMQ_IOC_TOPIC_DEL and
 * KMQ_IOC_TOPIC_LIST: create, change, delete, list in pages, RocketMQ's
 * name and queue-count rules, and topics surviving a re-attach.
 */
#include "kselftest_harness.h"
#include "kmq_st.h"

FIXTURE(store)
{
	struct kmq_st_store s;
};

FIXTURE_SETUP(store)
{
	memset(&self->s, 0, sizeof(self->s));
	self->s.fd = kmq_st_open();
	ASSERT_LE(0, self->s.fd);
	ASSERT_EQ(0, kmq_st_mkdir(&self->s, "topic"));
	kmq_st_attach_init(&self->s, KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			   KMQ_FLUSH_MODE_ASYNC);
	ASSERT_EQ(0, kmq_st_attach(&self->s));
}

FIXTURE_TEARDOWN(store)
{
	kmq_st_down(&self->s);
}

/* One page of the topic list. */
static int list_page(int fd, const char *after, struct kmq_topic *ents,
		     __u32 max, struct kmq_topic_list *l)
{
	memset(l, 0, sizeof(*l));
	memset(ents, 0xa5, sizeof(*ents) * max);
	l->size = sizeof(*l);
	l->entries = (uintptr_t)ents;
	l->entry_size = sizeof(*ents);
	l->max_entries = max;
	snprintf(l->after, sizeof(l->after), "%s", after);
	return kmq_st_ioctl(fd, KMQ_IOC_TOPIC_LIST, l);
}

/* The entry for @name in the whole list, or -ENOENT. */
static int find_topic(int fd, const char *name, struct kmq_topic *out)
{
	struct kmq_topic ents[16];
	struct kmq_topic_list l;
	char after[KMQ_TOPIC_NAME_MAX] = "";
	__u32 i;
	int ret;

	for (;;) {
		ret = list_page(fd, after, ents, 16, &l);
		if (ret)
			return ret;
		for (i = 0; i < l.count; i++) {
			if (!strcmp(ents[i].name, name)) {
				*out = ents[i];
				return 0;
			}
		}
		if (l.count < 16)
			return -ENOENT;
		snprintf(after, sizeof(after), "%s", ents[l.count - 1].name);
	}
}

TEST_F(store, empty_list)
{
	struct kmq_topic ents[4];
	struct kmq_topic_list l;

	ASSERT_EQ(0, list_page(self->s.fd, "", ents, 4, &l));
	EXPECT_EQ(0, l.count);
	EXPECT_EQ(0, l.total);
}

TEST_F(store, set_creates)
{
	struct kmq_topic t, got;

	kmq_st_topic_init(&t, "TopicA", 4, 2);
	t.perm = KMQ_TOPIC_PERM_READ;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	ASSERT_EQ(0, find_topic(self->s.fd, "TopicA", &got));
	EXPECT_EQ(sizeof(got), got.size);
	EXPECT_EQ(0, got.flags);
	EXPECT_EQ(4, got.read_queues);
	EXPECT_EQ(2, got.write_queues);
	EXPECT_EQ(KMQ_TOPIC_PERM_READ, got.perm);
	EXPECT_EQ(0, got.__rsvd);
}

TEST_F(store, set_changes_queue_counts)
{
	struct kmq_topic t, got;

	ASSERT_EQ(0, kmq_st_topic(self->s.fd, "TopicA", 4));
	kmq_st_topic_init(&t, "TopicA", 8, 2);
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	ASSERT_EQ(0, find_topic(self->s.fd, "TopicA", &got));
	EXPECT_EQ(8, got.read_queues);
	EXPECT_EQ(2, got.write_queues);
	/* Records go to queue ids below max(read, write) = 8. */
	EXPECT_EQ(0, kmq_st_append_seed(self->s.fd, "TopicA", 7, 1, 10, NULL));
	EXPECT_EQ(-ERANGE, kmq_st_append_seed(self->s.fd, "TopicA", 8, 1, 10,
					      NULL));
}

TEST_F(store, del_removes)
{
	struct kmq_topic got;
	char path[400];
	struct stat st;

	ASSERT_EQ(0, kmq_st_topic(self->s.fd, "Doomed", 2));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, "Doomed", 1, 1, 10, NULL));
	ASSERT_EQ(0, kmq_st_topic_del(self->s.fd, "Doomed"));
	EXPECT_EQ(-ENOENT, find_topic(self->s.fd, "Doomed", &got));
	EXPECT_EQ(-ENOENT, kmq_st_append_seed(self->s.fd, "Doomed", 0, 1, 10,
					      NULL));
	EXPECT_EQ(-ENOENT, kmq_st_topic_del(self->s.fd, "Doomed"));
	/* Its consume queues went with it. */
	snprintf(path, sizeof(path), "%s/consumequeue/Doomed", self->s.dir);
	EXPECT_EQ(-1, stat(path, &st));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(store, del_unknown_enoent)
{
	EXPECT_EQ(-ENOENT, kmq_st_topic_del(self->s.fd, "Never"));
}

TEST_F(store, list_pages_in_name_order)
{
	static const char * const names[] = {
		"m", "B", "a", "zz", "%RETRY%grp", "A-1", "a_b", "Z", "0",
		"y|x",
	};
	const int n = ARRAY_SIZE(names);
	char after[KMQ_TOPIC_NAME_MAX] = "", prev[KMQ_TOPIC_NAME_MAX] = "";
	struct kmq_topic ents[3];
	struct kmq_topic_list l;
	int i, seen = 0;
	__u32 j;

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, kmq_st_topic(self->s.fd, names[i], 1));
	do {
		ASSERT_EQ(0, list_page(self->s.fd, after, ents, 3, &l));
		EXPECT_EQ(n, l.total);
		ASSERT_GE(3, l.count);
		for (j = 0; j < l.count; j++) {
			EXPECT_LT(0, strcmp(ents[j].name, prev)) {
				TH_LOG("%s listed after %s", ents[j].name,
				       prev);
			}
			snprintf(prev, sizeof(prev), "%s", ents[j].name);
			seen++;
		}
		if (l.count)
			snprintf(after, sizeof(after), "%s",
				 ents[l.count - 1].name);
	} while (l.count == 3);
	EXPECT_EQ(n, seen);
}

TEST_F(store, list_entry_bytes_clean)
{
	struct kmq_topic ents[2];
	struct kmq_topic_list l;
	size_t k, len;

	ASSERT_EQ(0, kmq_st_topic(self->s.fd, "Clean", 1));
	ASSERT_EQ(0, list_page(self->s.fd, "", ents, 2, &l));
	ASSERT_EQ(1, l.count);
	/* The name is NUL-padded: no stale or kernel bytes after it. */
	len = strlen(ents[0].name);
	for (k = len; k < sizeof(ents[0].name); k++)
		ASSERT_EQ(0, ents[0].name[k]);
	EXPECT_EQ(0, ents[0].__rsvd);
	/* Entries past count are not written. */
	EXPECT_EQ(0xa5a5a5a5, ents[1].size);
}

TEST_F(store, names)
{
	char longest[KMQ_TOPIC_NAME_MAX];
	struct kmq_topic t;

	memset(longest, 'x', KMQ_TOPIC_NAME_MAX - 1);
	longest[KMQ_TOPIC_NAME_MAX - 1] = 0;
	EXPECT_EQ(0, kmq_st_topic(self->s.fd, longest, 1));
	EXPECT_EQ(0, kmq_st_topic(self->s.fd, "%DLQ%group_1", 1));
	EXPECT_EQ(0, kmq_st_topic(self->s.fd, "a|b-c_D9", 1));

	EXPECT_EQ(-EINVAL, kmq_st_topic(self->s.fd, "", 1));
	EXPECT_EQ(-EINVAL, kmq_st_topic(self->s.fd, "has space", 1));
	EXPECT_EQ(-EINVAL, kmq_st_topic(self->s.fd, "a/b", 1));
	EXPECT_EQ(-EINVAL, kmq_st_topic(self->s.fd, "..", 1));
	EXPECT_EQ(-EINVAL, kmq_st_topic(self->s.fd, "dot.ted", 1));
	EXPECT_EQ(-EINVAL, kmq_st_topic(self->s.fd, "t\xc3\xa9", 1));
	/* 128 bytes, no NUL inside the array. */
	kmq_st_topic_init(&t, "x", 1, 1);
	memset(t.name, 'y', sizeof(t.name));
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
}

TEST_F(store, queue_counts)
{
	struct kmq_topic t;

	kmq_st_topic_init(&t, "Q", 1024, 1024);
	EXPECT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	kmq_st_topic_init(&t, "Q", 0, 1);
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	kmq_st_topic_init(&t, "Q", 1, 0);
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	kmq_st_topic_init(&t, "Q", 1025, 1);
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	kmq_st_topic_init(&t, "Q", 1, 1025);
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
}

TEST_F(store, perm_bits)
{
	struct kmq_topic t;

	kmq_st_topic_init(&t, "P", 1, 1);
	t.perm = KMQ_TOPIC_PERM_WRITE;
	EXPECT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	t.perm = 0x8;
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	t.perm = KMQ_TOPIC_PERM_MASK | 0x100;
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
}

TEST_F(store, survive_reattach)
{
	struct kmq_topic t, got;

	kmq_st_topic_init(&t, "Kept", 3, 5);
	t.perm = KMQ_TOPIC_PERM_WRITE;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_SET, &t));
	ASSERT_EQ(0, kmq_st_topic(self->s.fd, "Other", 1));
	ASSERT_EQ(0, kmq_st_detach(self->s.fd, self->s.name));
	kmq_st_attach_init(&self->s, KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			   KMQ_FLUSH_MODE_ASYNC);
	self->s.att.flags = 0;
	ASSERT_EQ(0, kmq_st_attach(&self->s));
	ASSERT_EQ(0, find_topic(self->s.fd, "Kept", &got));
	EXPECT_EQ(3, got.read_queues);
	EXPECT_EQ(5, got.write_queues);
	EXPECT_EQ(KMQ_TOPIC_PERM_WRITE, got.perm);
	EXPECT_EQ(0, find_topic(self->s.fd, "Other", &got));
}

/* topics.json is RocketMQ's shape: the userspace store reads it too. */
TEST_F(store, topics_json_written)
{
	char path[400], *buf;

	ASSERT_EQ(0, kmq_st_topic(self->s.fd, "JsonTopic", 6));
	snprintf(path, sizeof(path), "%s/config/topics.json", self->s.dir);
	buf = malloc(1 << 16);
	ASSERT_NE(NULL, buf);
	ASSERT_LT(0, kmq_st_slurp(path, buf, 1 << 16));
	EXPECT_NE(NULL, strstr(buf, "\"topicConfigTable\""));
	EXPECT_NE(NULL, strstr(buf, "\"JsonTopic\""));
	EXPECT_NE(NULL, strstr(buf, "\"readQueueNums\""));
	free(buf);
}

TEST_F(store, many_topics)
{
	struct kmq_topic ents[64];
	struct kmq_topic_list l;
	char name[32];
	int i;

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "T%04d", i);
		ASSERT_EQ(0, kmq_st_topic(self->s.fd, name, 1));
	}
	ASSERT_EQ(0, list_page(self->s.fd, "T0149", ents, 64, &l));
	EXPECT_EQ(300, l.total);
	ASSERT_EQ(64, l.count);
	EXPECT_STREQ("T0150", ents[0].name);
	EXPECT_STREQ("T0213", ents[63].name);
}

TEST_HARNESS_MAIN
