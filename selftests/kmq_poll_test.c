// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_poll_test.c - KMQ_IOC_SUBSCRIBE, KMQ_IOC_READY, poll() and epoll on
 * /dev/kmq: wakeups when a subscribed queue passes its offset, none
 * otherwise, removal, the per-fd limit, and EPOLLERR on detach.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>

#include "kselftest_harness.h"
#include "kmq_st.h"

FIXTURE(store)
{
	struct kmq_st_store s;
	int rfd;	/* the polling fd, bound to the same store */
};

FIXTURE_SETUP(store)
{
	ASSERT_EQ(0, kmq_st_up(&self->s, "poll", KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			       KMQ_FLUSH_MODE_ASYNC));
	self->rfd = kmq_st_open();
	ASSERT_LE(0, self->rfd);
	ASSERT_EQ(0, kmq_st_bind(self->rfd, self->s.name));
}

FIXTURE_TEARDOWN(store)
{
	if (self->rfd >= 0)
		close(self->rfd);
	kmq_st_down(&self->s);
}

static int poll_in(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, ms);

	if (n < 0)
		return -errno;
	return n ? p.revents : 0;
}

static int ready(int fd, struct kmq_subscribe *ents, __u32 max, __u32 *count)
{
	struct kmq_ready r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.entries = (uintptr_t)ents;
	r.entry_size = sizeof(*ents);
	r.max_entries = max;
	ret = kmq_st_ioctl(fd, KMQ_IOC_READY, &r);
	*count = r.count;
	return ret;
}

struct later {
	int fd;
	int delay_ms;
	__u32 queue;
};

static void *append_later(void *arg)
{
	struct later *l = arg;

	usleep(l->delay_ms * 1000);
	kmq_st_append_seed(l->fd, KMQ_ST_TOPIC, l->queue, 1, 64, NULL);
	return NULL;
}

TEST_F(store, no_subscription_no_event)
{
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 1, 10,
					NULL));
	EXPECT_EQ(0, poll_in(self->rfd, 0));
}

TEST_F(store, append_wakes_poll)
{
	struct later l = { .fd = self->s.fd, .delay_ms = 200, .queue = 1 };
	struct kmq_subscribe ents[4];
	pthread_t th;
	__u32 n;

	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 1, 0, 0));
	EXPECT_EQ(0, poll_in(self->rfd, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, append_later, &l));
	EXPECT_EQ(POLLIN, poll_in(self->rfd, 5000) & (POLLIN | POLLERR));
	pthread_join(th, NULL);
	ASSERT_EQ(0, ready(self->rfd, ents, 4, &n));
	ASSERT_EQ(1, n);
	EXPECT_STREQ(KMQ_ST_TOPIC, ents[0].topic);
	EXPECT_EQ(1, ents[0].queue_id);
	EXPECT_EQ(0, ents[0].offset);
	EXPECT_EQ(0, ents[0].__rsvd);
}

TEST_F(store, ready_at_once)
{
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 1, 10,
					NULL));
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 0, 0));
	EXPECT_EQ(POLLIN, poll_in(self->rfd, 0) & POLLIN);
}

TEST_F(store, offset_matters)
{
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, i,
						10, NULL));
	/* Caught up at 3: nothing to read yet. */
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 3, 0));
	EXPECT_EQ(0, poll_in(self->rfd, 0));
	/* Re-subscribing moves the offset back: ready. */
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 2, 0));
	EXPECT_EQ(POLLIN, poll_in(self->rfd, 0) & POLLIN);
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 5, 0));
	EXPECT_EQ(0, poll_in(self->rfd, 0));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 9, 10,
					NULL));
	EXPECT_EQ(0, poll_in(self->rfd, 100));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 9, 10,
					NULL));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 9, 10,
					NULL));
	EXPECT_EQ(POLLIN, poll_in(self->rfd, 1000) & POLLIN);
}

TEST_F(store, other_queue_no_event)
{
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 2, 0, 0));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 3, 1, 10,
					NULL));
	EXPECT_EQ(0, poll_in(self->rfd, 100));
}

TEST_F(store, remove_and_clear)
{
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 0, 0));
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 1, 0, 0));
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 0,
				      KMQ_SUB_REMOVE));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 1, 10,
					NULL));
	EXPECT_EQ(0, poll_in(self->rfd, 100));
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 0,
				      KMQ_SUB_CLEAR));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 1, 1, 10,
					NULL));
	EXPECT_EQ(0, poll_in(self->rfd, 100));
}

TEST_F(store, ready_lists_only_ready)
{
	struct kmq_subscribe ents[8];
	__u32 n, q;

	for (q = 0; q < KMQ_ST_QUEUES; q++)
		ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, q, 0,
					      0));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 1, 1, 10,
					NULL));
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 3, 1, 10,
					NULL));
	ASSERT_EQ(0, ready(self->rfd, ents, 8, &n));
	ASSERT_EQ(2, n);
	EXPECT_NE(ents[0].queue_id, ents[1].queue_id);
	EXPECT_TRUE(ents[0].queue_id == 1 || ents[0].queue_id == 3);
	EXPECT_TRUE(ents[1].queue_id == 1 || ents[1].queue_id == 3);
	/* Room for one: one. */
	ASSERT_EQ(0, ready(self->rfd, ents, 1, &n));
	EXPECT_EQ(1, n);
}

TEST_F(store, epoll_wakes)
{
	struct later l = { .fd = self->s.fd, .delay_ms = 200, .queue = 0 };
	struct epoll_event ev = { .events = EPOLLIN }, out;
	pthread_t th;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->rfd, &ev));
	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 0, 0));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, append_later, &l));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 5000));
	EXPECT_TRUE(out.events & EPOLLIN);
	pthread_join(th, NULL);
	close(ep);
}

TEST_F(store, subscribe_errors)
{
	EXPECT_EQ(-ENOENT, kmq_st_subscribe(self->rfd, "NoTopic", 0, 0, 0));
	EXPECT_EQ(-ERANGE, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC,
					    KMQ_ST_QUEUES, 0, 0));
	EXPECT_EQ(-EINVAL, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 0,
					    0x80));
}

TEST_F(store, subscription_limit)
{
	char name[16];
	int t, q, ret = 0;

	/* KMQ_SUBS_MAX pairs over four 1024-queue topics. */
	for (t = 0; t < 4; t++) {
		snprintf(name, sizeof(name), "Wide%d", t);
		ASSERT_EQ(0, kmq_st_topic(self->s.fd, name, 1024));
		for (q = 0; q < 1024 && !ret; q++)
			ret = kmq_st_subscribe(self->rfd, name, q, 0, 0);
	}
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-ENOSPC, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 0, 0));
	/* Moving an existing pair is no new subscription. */
	EXPECT_EQ(0, kmq_st_subscribe(self->rfd, "Wide0", 5, 10, 0));
}

struct poller {
	int fd;
	int revents;
};

static void *poll_long(void *arg)
{
	struct poller *p = arg;

	p->revents = poll_in(p->fd, 10000);
	return NULL;
}

/* Detach wakes a waiting poller with EPOLLERR. */
TEST_F(store, detach_wakes_pollers)
{
	struct poller p = { .fd = self->rfd };
	pthread_t th;

	ASSERT_EQ(0, kmq_st_subscribe(self->rfd, KMQ_ST_TOPIC, 0, 0, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, poll_long, &p));
	usleep(200 * 1000);
	ASSERT_EQ(0, kmq_st_detach(self->s.fd, self->s.name));
	pthread_join(th, NULL);
	EXPECT_TRUE(p.revents & POLLERR) {
		TH_LOG("revents 0x%x", p.revents);
	}
	EXPECT_TRUE(poll_in(self->rfd, 0) & POLLERR);
}

/* Closing the fd with subscriptions leaves nothing behind. */
TEST_F(store, close_with_subscriptions)
{
	int i, fd;

	for (i = 0; i < 50; i++) {
		fd = kmq_st_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, kmq_st_bind(fd, self->s.name));
		ASSERT_EQ(0, kmq_st_subscribe(fd, KMQ_ST_TOPIC, i % 4, 0, 0));
		close(fd);
	}
	EXPECT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, 1, 10,
					NULL));
}

TEST_HARNESS_MAIN
