// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_unpriv_test.c - what an unprivileged user (the VM's init runs this
 * suite as nobody) can and cannot do: /dev/kmq is root's alone without
 * the kmq group, admin netlink commands are refused, reading store lists
 * and joining the events group are allowed.
 */
#include "kselftest_harness.h"
#include "kmq_st.h"
#include "kmq_nl.h"

TEST(runs_unprivileged)
{
	ASSERT_NE(0, geteuid()) TH_LOG("run this suite as nobody (su)");
}

TEST(dev_open_eacces)
{
	int fd;

	if (geteuid() == 0)
		SKIP(return, "root");
	fd = kmq_st_open();
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EACCES, errno);
	if (fd >= 0)
		close(fd);
}

TEST(genl_reads_allowed)
{
	struct kmq_nl nl = { 0 };

	ASSERT_EQ(0, kmq_nl_open(&nl));
	EXPECT_EQ(0, kmq_nl_call(&nl, kmq_nl_msg(&nl, KMQ_CMD_STORE_GET,
						 NLM_F_DUMP), NULL, NULL));
	kmq_nl_close(&nl);
}

TEST(genl_admin_eperm)
{
	struct kmq_nl nl = { 0 };
	struct nl_msg *m;

	if (geteuid() == 0)
		SKIP(return, "root");
	ASSERT_EQ(0, kmq_nl_open(&nl));
	/* Refused before the store is even looked up. */
	m = kmq_nl_msg(&nl, KMQ_CMD_TOPIC_SET, 0);
	nla_put_u32(m, KMQ_A_STORE_ID, 1);
	nla_put_string(m, KMQ_A_TOPIC, "Unpriv");
	nla_put_u32(m, KMQ_A_READ_QUEUES, 1);
	nla_put_u32(m, KMQ_A_WRITE_QUEUES, 1);
	EXPECT_EQ(-EPERM, kmq_nl_call(&nl, m, NULL, NULL));
	m = kmq_nl_msg(&nl, KMQ_CMD_TOPIC_DEL, 0);
	nla_put_u32(m, KMQ_A_STORE_ID, 1);
	nla_put_string(m, KMQ_A_TOPIC, "Unpriv");
	EXPECT_EQ(-EPERM, kmq_nl_call(&nl, m, NULL, NULL));
	kmq_nl_close(&nl);
}

TEST(genl_events_join)
{
	struct kmq_nl ev = { 0 };

	EXPECT_EQ(0, kmq_nl_events(&ev));
	kmq_nl_close(&ev);
}

TEST_HARNESS_MAIN
