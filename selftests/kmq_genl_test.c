// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_genl_test.c - the "kmq" generic netlink family through libnl-genl-3:
 * every command (doit and dumpit) on valid input, hostile attributes,
 * unknown commands, admin commands without CAP_NET_ADMIN, and the events
 * of the multicast group (arrived and coalesced, rolled, flushed,
 * detached).
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kmq_st.h"
#include "kmq_nl.h"

#define SEG		(64u * 1024)
#define NAMES_CAP	(1u << 16)

FIXTURE(nl)
{
	struct kmq_st_store s;
	struct kmq_nl nl;
	__u32 id;
};

FIXTURE_SETUP(nl)
{
	/* The store last: a failed setup gets no teardown. */
	ASSERT_EQ(0, kmq_nl_open(&self->nl));
	ASSERT_EQ(0, kmq_st_up(&self->s, "genl", SEG, 8,
			       KMQ_FLUSH_MODE_ASYNC));
	self->id = self->s.att.store_id;
}

FIXTURE_TEARDOWN(nl)
{
	kmq_nl_close(&self->nl);
	kmq_st_down(&self->s);
}

/* What replies said, gathered by the callbacks. */
struct seen {
	int n;
	int cmd;
	__u32 ids[64];
	__u32 store_id, flush_mode, ring, topics;
	__u32 read_queues, write_queues, perm, nqueues;
	__u64 seg_size, write_offset, q4_max;
	__u64 appends, append_bytes;
	char name[KMQ_STORE_NAME_MAX], path[256];
	char topic[KMQ_TOPIC_NAME_MAX];
	int has_all_stats;
	char *names;	/* dump: topic names seen, '\n'-separated */
	size_t names_len;
};

static void on_store(int cmd, struct nlattr **tb, struct nlmsghdr *nlh,
		     void *arg)
{
	struct seen *s = arg;

	s->cmd = cmd;
	if (tb[KMQ_A_STORE_ID]) {
		s->store_id = nla_get_u32(tb[KMQ_A_STORE_ID]);
		if (s->n < 64)
			s->ids[s->n] = s->store_id;
	}
	s->n++;
	if (tb[KMQ_A_STORE_NAME])
		snprintf(s->name, sizeof(s->name), "%s",
			 nla_get_string(tb[KMQ_A_STORE_NAME]));
	if (tb[KMQ_A_STORE_PATH])
		snprintf(s->path, sizeof(s->path), "%s",
			 nla_get_string(tb[KMQ_A_STORE_PATH]));
	if (tb[KMQ_A_FLUSH_MODE])
		s->flush_mode = nla_get_u32(tb[KMQ_A_FLUSH_MODE]);
	if (tb[KMQ_A_SEGMENT_SIZE])
		s->seg_size = nla_get_u64(tb[KMQ_A_SEGMENT_SIZE]);
	if (tb[KMQ_A_RING_SEGMENTS])
		s->ring = nla_get_u32(tb[KMQ_A_RING_SEGMENTS]);
	if (tb[KMQ_A_WRITE_OFFSET])
		s->write_offset = nla_get_u64(tb[KMQ_A_WRITE_OFFSET]);
	if (tb[KMQ_A_TOPICS])
		s->topics = nla_get_u32(tb[KMQ_A_TOPICS]);
	if (tb[KMQ_A_STAT_APPENDS])
		s->appends = nla_get_u64(tb[KMQ_A_STAT_APPENDS]);
	if (tb[KMQ_A_STAT_APPEND_BYTES])
		s->append_bytes = nla_get_u64(tb[KMQ_A_STAT_APPEND_BYTES]);
	s->has_all_stats = tb[KMQ_A_STAT_APPENDS] &&
		tb[KMQ_A_STAT_APPEND_BYTES] && tb[KMQ_A_STAT_READS] &&
		tb[KMQ_A_STAT_READ_BYTES] && tb[KMQ_A_STAT_SPLICE_BYTES] &&
		tb[KMQ_A_STAT_COPY_BYTES] && tb[KMQ_A_STAT_ERRORS];
}

/* One nested KMQ_A_QUEUE of a topic. */
static void on_queue(struct nlattr *a, void *arg)
{
	struct nlattr *qt[KMQ_A_MAX + 1];
	struct seen *s = arg;

	if (nla_parse_nested(qt, KMQ_A_MAX, a, NULL))
		return;
	s->nqueues++;
	if (qt[KMQ_A_QUEUE_ID] && nla_get_u32(qt[KMQ_A_QUEUE_ID]) == 4 &&
	    qt[KMQ_A_MAX_OFFSET])
		s->q4_max = nla_get_u64(qt[KMQ_A_MAX_OFFSET]);
}

static void on_topic(int cmd, struct nlattr **tb, struct nlmsghdr *nlh,
		     void *arg)
{
	struct seen *s = arg;

	s->n++;
	if (tb[KMQ_A_TOPIC]) {
		const char *t = nla_get_string(tb[KMQ_A_TOPIC]);

		snprintf(s->topic, sizeof(s->topic), "%s", t);
		/* "\nA\nB\n...": each name between newlines. */
		if (s->names && s->names_len + strlen(t) + 3 < NAMES_CAP)
			s->names_len += sprintf(s->names + s->names_len,
						"\n%s\n", t) - 1;
	}
	if (tb[KMQ_A_READ_QUEUES])
		s->read_queues = nla_get_u32(tb[KMQ_A_READ_QUEUES]);
	if (tb[KMQ_A_WRITE_QUEUES])
		s->write_queues = nla_get_u32(tb[KMQ_A_WRITE_QUEUES]);
	if (tb[KMQ_A_PERM])
		s->perm = nla_get_u32(tb[KMQ_A_PERM]);
	s->nqueues = 0;
	kmq_nl_count(nlh, KMQ_A_QUEUE, on_queue, s);
}

static struct nl_msg *store_msg(struct kmq_nl *nl, int cmd, int flags,
				__u32 id)
{
	struct nl_msg *m = kmq_nl_msg(nl, cmd, flags);

	if (m)
		nla_put_u32(m, KMQ_A_STORE_ID, id);
	return m;
}

static struct nl_msg *topic_msg(struct kmq_nl *nl, int cmd, __u32 id,
				const char *topic)
{
	struct nl_msg *m = store_msg(nl, cmd, 0, id);

	if (m)
		nla_put_string(m, KMQ_A_TOPIC, topic);
	return m;
}

/* Errors the netlink core gives for an attribute of the wrong shape. */
static int shape_error(int ret)
{
	return ret == -EINVAL || ret == -ERANGE;
}

TEST(family_and_group_resolve)
{
	struct kmq_nl nl = { 0 };

	ASSERT_EQ(0, kmq_nl_open(&nl));
	EXPECT_LT(0, nl.family);
	EXPECT_LT(0, genl_ctrl_resolve_grp(nl.sk, KMQ_GENL_NAME,
					   KMQ_MCGRP_EVENTS));
	kmq_nl_close(&nl);
}

TEST_F(nl, store_get_by_id_and_name)
{
	struct seen s = { 0 };
	struct nl_msg *m;

	m = store_msg(&self->nl, KMQ_CMD_STORE_GET, 0, self->id);
	ASSERT_EQ(0, kmq_nl_call(&self->nl, m, on_store, &s));
	ASSERT_EQ(1, s.n);
	EXPECT_EQ(KMQ_CMD_STORE_GET, s.cmd);
	EXPECT_EQ(self->id, s.store_id);
	EXPECT_STREQ(self->s.name, s.name);
	EXPECT_NE(NULL, strstr(s.path, strrchr(self->s.dir, '/') + 1));
	EXPECT_EQ(SEG, s.seg_size);
	EXPECT_EQ(8, s.ring);
	EXPECT_EQ(KMQ_FLUSH_MODE_ASYNC, s.flush_mode);
	EXPECT_EQ(1, s.topics);
	EXPECT_EQ(0, s.write_offset);

	memset(&s, 0, sizeof(s));
	m = kmq_nl_msg(&self->nl, KMQ_CMD_STORE_GET, 0);
	nla_put_string(m, KMQ_A_STORE_NAME, self->s.name);
	ASSERT_EQ(0, kmq_nl_call(&self->nl, m, on_store, &s));
	EXPECT_EQ(self->id, s.store_id);
}

TEST_F(nl, store_get_errors)
{
	struct nl_msg *m;

	m = store_msg(&self->nl, KMQ_CMD_STORE_GET, 0, 0x7ffffff0);
	EXPECT_EQ(-ENOENT, kmq_nl_call(&self->nl, m, NULL, NULL));
	m = kmq_nl_msg(&self->nl, KMQ_CMD_STORE_GET, 0);
	nla_put_string(m, KMQ_A_STORE_NAME, "no-such-store");
	EXPECT_EQ(-ENOENT, kmq_nl_call(&self->nl, m, NULL, NULL));
	/* Neither id nor name. */
	m = kmq_nl_msg(&self->nl, KMQ_CMD_STORE_GET, 0);
	EXPECT_EQ(-EINVAL, kmq_nl_call(&self->nl, m, NULL, NULL));
}

TEST_F(nl, store_dump)
{
	struct kmq_st_store other;
	struct seen s = { 0 };
	int i, found = 0, found2 = 0;

	ASSERT_EQ(0, kmq_st_up(&other, "genl2", SEG, 4,
			       KMQ_FLUSH_MODE_SYNC));
	ASSERT_EQ(0, kmq_nl_call(&self->nl,
				 kmq_nl_msg(&self->nl, KMQ_CMD_STORE_GET,
					    NLM_F_DUMP), on_store, &s));
	for (i = 0; i < s.n && i < 64; i++) {
		found += s.ids[i] == self->id;
		found2 += s.ids[i] == other.att.store_id;
	}
	EXPECT_EQ(1, found);
	EXPECT_EQ(1, found2);
	kmq_st_down(&other);
}

TEST_F(nl, topic_set_get_del)
{
	struct seen s = { 0 };
	struct nl_msg *m;
	int i;

	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_SET, self->id, "NlTopic");
	nla_put_u32(m, KMQ_A_READ_QUEUES, 3);
	nla_put_u32(m, KMQ_A_WRITE_QUEUES, 5);
	nla_put_u32(m, KMQ_A_PERM, KMQ_TOPIC_PERM_READ | KMQ_TOPIC_PERM_WRITE);
	ASSERT_EQ(0, kmq_nl_call(&self->nl, m, NULL, NULL));
	/* The ioctl side sees it: queue 4 exists, 5 does not. */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, "NlTopic", 4, i, 20,
						NULL));
	EXPECT_EQ(-ERANGE, kmq_st_append_seed(self->s.fd, "NlTopic", 5, 1, 20,
					      NULL));

	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_GET, self->id, "NlTopic");
	ASSERT_EQ(0, kmq_nl_call(&self->nl, m, on_topic, &s));
	ASSERT_EQ(1, s.n);
	EXPECT_STREQ("NlTopic", s.topic);
	EXPECT_EQ(3, s.read_queues);
	EXPECT_EQ(5, s.write_queues);
	EXPECT_EQ(KMQ_TOPIC_PERM_READ | KMQ_TOPIC_PERM_WRITE, s.perm);
	EXPECT_EQ(5, s.nqueues);
	EXPECT_EQ(2, s.q4_max);

	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_DEL, self->id, "NlTopic");
	ASSERT_EQ(0, kmq_nl_call(&self->nl, m, NULL, NULL));
	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_GET, self->id, "NlTopic");
	EXPECT_EQ(-ENOENT, kmq_nl_call(&self->nl, m, NULL, NULL));
	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_DEL, self->id, "NlTopic");
	EXPECT_EQ(-ENOENT, kmq_nl_call(&self->nl, m, NULL, NULL));
	EXPECT_EQ(-ENOENT, kmq_st_append_seed(self->s.fd, "NlTopic", 0, 1, 20,
					      NULL));
}

/* A dump bigger than one netlink message resumes where it stopped. */
TEST_F(nl, topic_dump_in_parts)
{
	struct seen s = { 0 };
	char name[32], want[40];
	int i;

	s.names = calloc(1, NAMES_CAP);
	ASSERT_NE(NULL, s.names);
	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "DumpTopic%04d", i);
		ASSERT_EQ(0, kmq_st_topic(self->s.fd, name, 8));
	}
	ASSERT_EQ(0, kmq_nl_call(&self->nl,
				 store_msg(&self->nl, KMQ_CMD_TOPIC_GET,
					   NLM_F_DUMP, self->id),
				 on_topic, &s));
	EXPECT_EQ(401, s.n);
	for (i = 0; i < 400; i++) {
		snprintf(want, sizeof(want), "\nDumpTopic%04d\n", i);
		EXPECT_NE(NULL, strstr(s.names, want)) TH_LOG("%s missing",
							      want + 1);
	}
	free(s.names);
}

TEST_F(nl, stats_get)
{
	struct kmq_append_res res;
	struct seen s = { 0 };
	__u64 bytes = 0;
	int i;

	for (i = 0; i < 7; i++) {
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 1, i,
						100 + i, &res));
		bytes += res.size;
	}
	ASSERT_EQ(0, kmq_nl_call(&self->nl,
				 store_msg(&self->nl, KMQ_CMD_STATS_GET, 0,
					   self->id), on_store, &s));
	EXPECT_TRUE(s.has_all_stats);
	EXPECT_EQ(7, s.appends);
	EXPECT_EQ(bytes, s.append_bytes);
}

TEST_F(nl, hostile_attributes)
{
	char longname[200];
	__u8 byte = 1;
	struct nl_msg *m;
	int ret;

	/* A u32 of one byte. */
	m = kmq_nl_msg(&self->nl, KMQ_CMD_STORE_GET, 0);
	nla_put(m, KMQ_A_STORE_ID, 1, &byte);
	ret = kmq_nl_call(&self->nl, m, NULL, NULL);
	EXPECT_TRUE(shape_error(ret)) TH_LOG("short u32: %d", ret);
	/* An attribute type past KMQ_A_MAX (strict policy). */
	m = store_msg(&self->nl, KMQ_CMD_STORE_GET, 0, self->id);
	nla_put_u32(m, KMQ_A_MAX + 10, 1);
	ret = kmq_nl_call(&self->nl, m, NULL, NULL);
	EXPECT_TRUE(shape_error(ret)) TH_LOG("unknown attribute: %d", ret);
	/* Names: not NUL-terminated, too long. */
	m = kmq_nl_msg(&self->nl, KMQ_CMD_STORE_GET, 0);
	nla_put(m, KMQ_A_STORE_NAME, 5, "abcde");
	ret = kmq_nl_call(&self->nl, m, NULL, NULL);
	EXPECT_TRUE(shape_error(ret)) TH_LOG("unterminated name: %d", ret);
	memset(longname, 'L', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	m = kmq_nl_msg(&self->nl, KMQ_CMD_STORE_GET, 0);
	nla_put_string(m, KMQ_A_STORE_NAME, longname);
	ret = kmq_nl_call(&self->nl, m, NULL, NULL);
	EXPECT_TRUE(shape_error(ret)) TH_LOG("long name: %d", ret);
	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_GET, self->id, longname);
	ret = kmq_nl_call(&self->nl, m, NULL, NULL);
	EXPECT_TRUE(shape_error(ret)) TH_LOG("long topic: %d", ret);
	/* A nest where a u32 belongs, and garbage in a nest. */
	m = kmq_nl_msg(&self->nl, KMQ_CMD_STORE_GET, 0);
	nla_put(m, KMQ_A_STORE_ID | NLA_F_NESTED, 4, &self->id);
	ret = kmq_nl_call(&self->nl, m, NULL, NULL);
	EXPECT_TRUE(shape_error(ret)) TH_LOG("nested id: %d", ret);
	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_SET, self->id, "Garbage");
	nla_put_u32(m, KMQ_A_READ_QUEUES, 1);
	nla_put_u32(m, KMQ_A_WRITE_QUEUES, 1);
	nla_put(m, KMQ_A_QUEUE | NLA_F_NESTED, 6, "\x05\x00\x99\x00zz");
	ret = kmq_nl_call(&self->nl, m, NULL, NULL);
	EXPECT_TRUE(shape_error(ret)) TH_LOG("garbage nest: %d", ret);
	/* The store still answers. */
	EXPECT_EQ(0, kmq_nl_call(&self->nl,
				 store_msg(&self->nl, KMQ_CMD_STORE_GET, 0,
					   self->id), NULL, NULL));
}

TEST_F(nl, topic_set_checks)
{
	static const __u32 bad[][3] = {
		{ 0, 1, 6 }, { 1, 0, 6 }, { 1025, 1, 6 }, { 1, 2000, 6 },
		{ 1, 1, 0x80 },
	};
	struct nl_msg *m;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		m = topic_msg(&self->nl, KMQ_CMD_TOPIC_SET, self->id, "Chk");
		nla_put_u32(m, KMQ_A_READ_QUEUES, bad[i][0]);
		nla_put_u32(m, KMQ_A_WRITE_QUEUES, bad[i][1]);
		nla_put_u32(m, KMQ_A_PERM, bad[i][2]);
		ret = kmq_nl_call(&self->nl, m, NULL, NULL);
		EXPECT_TRUE(shape_error(ret)) TH_LOG("case %zu: %d", i, ret);
	}
	/* Missing queue counts, missing topic, bad name, no store. */
	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_SET, self->id, "Chk");
	EXPECT_EQ(-EINVAL, kmq_nl_call(&self->nl, m, NULL, NULL));
	m = store_msg(&self->nl, KMQ_CMD_TOPIC_SET, 0, self->id);
	nla_put_u32(m, KMQ_A_READ_QUEUES, 1);
	nla_put_u32(m, KMQ_A_WRITE_QUEUES, 1);
	EXPECT_EQ(-EINVAL, kmq_nl_call(&self->nl, m, NULL, NULL));
	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_SET, self->id, "bad name");
	nla_put_u32(m, KMQ_A_READ_QUEUES, 1);
	nla_put_u32(m, KMQ_A_WRITE_QUEUES, 1);
	EXPECT_EQ(-EINVAL, kmq_nl_call(&self->nl, m, NULL, NULL));
	m = kmq_nl_msg(&self->nl, KMQ_CMD_TOPIC_SET, 0);
	nla_put_string(m, KMQ_A_TOPIC, "Chk");
	nla_put_u32(m, KMQ_A_READ_QUEUES, 1);
	nla_put_u32(m, KMQ_A_WRITE_QUEUES, 1);
	EXPECT_EQ(-EINVAL, kmq_nl_call(&self->nl, m, NULL, NULL));
	m = topic_msg(&self->nl, KMQ_CMD_TOPIC_SET, 0x7ffffff0, "Chk");
	nla_put_u32(m, KMQ_A_READ_QUEUES, 1);
	nla_put_u32(m, KMQ_A_WRITE_QUEUES, 1);
	EXPECT_EQ(-ENOENT, kmq_nl_call(&self->nl, m, NULL, NULL));
}

TEST_F(nl, unknown_commands)
{
	static const int cmds[] = {
		KMQ_CMD_UNSPEC, KMQ_EVT_ARRIVED, KMQ_EVT_ROLLED,
		KMQ_EVT_FLUSHED, KMQ_EVT_DETACHED, KMQ_CMD_MAX + 1, 200,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		EXPECT_EQ(-EOPNOTSUPP,
			  kmq_nl_call(&self->nl,
				      store_msg(&self->nl, cmds[i], 0,
						self->id), NULL, NULL))
			TH_LOG("command %d", cmds[i]);
	}
	/* STATS_GET has no dump. */
	EXPECT_EQ(-EOPNOTSUPP,
		  kmq_nl_call(&self->nl,
			      store_msg(&self->nl, KMQ_CMD_STATS_GET,
					NLM_F_DUMP, self->id), NULL, NULL));
}

enum { P_SET, P_DEL, P_GET, P_STATS, P_EVENTS, P_N };

TEST_F(nl, unprivileged_admin_eperm)
{
	int res[P_N], pfd[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kmq_nl nl = { 0 }, ev = { 0 };
		struct nl_msg *m;

		if (kmq_st_drop_privs() || kmq_nl_open(&nl))
			_exit(2);
		m = topic_msg(&nl, KMQ_CMD_TOPIC_SET, self->id, "Unpriv");
		nla_put_u32(m, KMQ_A_READ_QUEUES, 1);
		nla_put_u32(m, KMQ_A_WRITE_QUEUES, 1);
		res[P_SET] = kmq_nl_call(&nl, m, NULL, NULL);
		res[P_DEL] = kmq_nl_call(&nl, topic_msg(&nl, KMQ_CMD_TOPIC_DEL,
							self->id,
							KMQ_ST_TOPIC),
					 NULL, NULL);
		res[P_GET] = kmq_nl_call(&nl, store_msg(&nl, KMQ_CMD_STORE_GET,
							0, self->id),
					 NULL, NULL);
		res[P_STATS] = kmq_nl_call(&nl,
					   store_msg(&nl, KMQ_CMD_STATS_GET, 0,
						     self->id), NULL, NULL);
		res[P_EVENTS] = kmq_nl_events(&ev);
		_exit(write(pfd[1], res, sizeof(res)) == sizeof(res) ? 0 : 3);
	}
	close(pfd[1]);
	ASSERT_EQ(sizeof(res), read(pfd[0], res, sizeof(res)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-EPERM, res[P_SET]);
	EXPECT_EQ(-EPERM, res[P_DEL]);
	EXPECT_EQ(0, res[P_GET]);
	EXPECT_EQ(0, res[P_STATS]);
	/* Any listener may join the events group. */
	EXPECT_EQ(0, res[P_EVENTS]);
	close(pfd[0]);
}

/* --- events -------------------------------------------------------------- */

struct events {
	int n[KMQ_CMD_MAX + 1];
	__u32 store_id;
	__u32 queue;
	char topic[KMQ_TOPIC_NAME_MAX];
	__u64 max_offset, seg_start, flushed;
};

static void on_event(int cmd, struct nlattr **tb, struct nlmsghdr *nlh,
		     void *arg)
{
	struct events *e = arg;

	if (cmd < 0 || cmd > KMQ_CMD_MAX)
		return;
	/* Other tests' stores may speak too: only ours counts. */
	if (!tb[KMQ_A_STORE_ID] ||
	    nla_get_u32(tb[KMQ_A_STORE_ID]) != e->store_id)
		return;
	e->n[cmd]++;
	if (cmd == KMQ_EVT_ARRIVED) {
		if (tb[KMQ_A_TOPIC])
			snprintf(e->topic, sizeof(e->topic), "%s",
				 nla_get_string(tb[KMQ_A_TOPIC]));
		if (tb[KMQ_A_QUEUE_ID])
			e->queue = nla_get_u32(tb[KMQ_A_QUEUE_ID]);
		if (tb[KMQ_A_MAX_OFFSET])
			e->max_offset = nla_get_u64(tb[KMQ_A_MAX_OFFSET]);
	}
	if (cmd == KMQ_EVT_ROLLED && tb[KMQ_A_SEG_START])
		e->seg_start = nla_get_u64(tb[KMQ_A_SEG_START]);
	if (cmd == KMQ_EVT_FLUSHED && tb[KMQ_A_FLUSHED_OFFSET])
		e->flushed = nla_get_u64(tb[KMQ_A_FLUSHED_OFFSET]);
}

FIXTURE(ev)
{
	struct kmq_st_store s;
	struct kmq_nl nl;
	struct events e;
};

FIXTURE_SETUP(ev)
{
	ASSERT_EQ(0, kmq_nl_events(&self->nl));
	ASSERT_EQ(0, kmq_st_up(&self->s, "events", SEG, 8,
			       KMQ_FLUSH_MODE_ASYNC));
	memset(&self->e, 0, sizeof(self->e));
	self->e.store_id = self->s.att.store_id;
}

FIXTURE_TEARDOWN(ev)
{
	kmq_nl_close(&self->nl);
	kmq_st_down(&self->s);
}

TEST_F(ev, arrived)
{
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 2, 1, 50,
					NULL));
	kmq_nl_drain(&self->nl, 500, on_event, &self->e);
	ASSERT_LE(1, self->e.n[KMQ_EVT_ARRIVED]);
	EXPECT_STREQ(KMQ_ST_TOPIC, self->e.topic);
	EXPECT_EQ(2, self->e.queue);
	EXPECT_EQ(1, self->e.max_offset);
}

/* Under load: far fewer events than records, the last one up to date. */
TEST_F(ev, arrived_coalesced)
{
	struct kmq_append_msg *m = calloc(200, sizeof(*m));
	struct kmq_append_res *res = calloc(200, sizeof(*res));
	char body[32] = "coalesce me";
	int i, b;

	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, res);
	for (i = 0; i < 200; i++)
		kmq_st_msg(&m[i], KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);
	for (b = 0; b < 5; b++)
		ASSERT_EQ(0, kmq_st_append(self->s.fd, m, res, 200, NULL));
	kmq_nl_drain(&self->nl, 500, on_event, &self->e);
	EXPECT_LE(1, self->e.n[KMQ_EVT_ARRIVED]);
	EXPECT_GE(100, self->e.n[KMQ_EVT_ARRIVED]);
	EXPECT_EQ(1000, self->e.max_offset);
	free(m);
	free(res);
}

TEST_F(ev, rolled)
{
	struct kmq_store_info si;
	int i = 0;

	do {
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0,
						i++, 3000, NULL));
		ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &si));
	} while (si.write_offset < SEG + 100);
	kmq_nl_drain(&self->nl, 500, on_event, &self->e);
	ASSERT_LE(1, self->e.n[KMQ_EVT_ROLLED]);
	EXPECT_EQ(SEG, self->e.seg_start);
}

TEST_F(ev, flushed)
{
	struct kmq_append_res res;
	__u64 end;

	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 1, 500,
					&res));
	end = res.phys_offset + res.size;
	ASSERT_EQ(0, kmq_st_flush(self->s.fd, ~0ull, 5000, NULL));
	kmq_nl_drain(&self->nl, 500, on_event, &self->e);
	ASSERT_LE(1, self->e.n[KMQ_EVT_FLUSHED]);
	EXPECT_LE(end, self->e.flushed);
}

TEST_F(ev, detached)
{
	ASSERT_EQ(0, kmq_st_detach(self->s.fd, self->s.name));
	kmq_nl_drain(&self->nl, 500, on_event, &self->e);
	EXPECT_EQ(1, self->e.n[KMQ_EVT_DETACHED]);
}

TEST_HARNESS_MAIN
