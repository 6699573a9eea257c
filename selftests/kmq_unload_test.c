// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_unload_test.c - kmq.ko refuses to unload while an fd is open or a
 * store is attached, unloads cleanly otherwise and loads again (from
 * $KMQ_KO, the module file the VM's init loaded). Runs last: it leaves
 * kmq.ko loaded, but every store of earlier suites must be gone.
 */
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kmq_st.h"

static int unload(void)
{
	return syscall(SYS_delete_module, "kmq", O_NONBLOCK) ? -errno : 0;
}

static int load(void)
{
	const char *ko = getenv("KMQ_KO");
	int fd, ret;

	fd = open(ko ? ko : "/lib/modules/kmq.ko", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int loaded(void)
{
	struct stat st;

	return stat("/sys/module/kmq", &st) == 0;
}

/* Wait up to 2 s for devtmpfs to (un)create /dev/kmq. */
static int dev_present(int want)
{
	struct stat st;
	int i;

	for (i = 0; i < 200; i++) {
		if ((stat(KMQ_ST_DEV, &st) == 0) == want)
			return want;
		usleep(10 * 1000);
	}
	return !want;
}

static int refused(int ret)
{
	return ret == -EWOULDBLOCK || ret == -EBUSY;
}

TEST(refused_with_fd_open)
{
	int fd = kmq_st_open(), ret;

	ASSERT_LE(0, fd);
	ret = unload();
	EXPECT_TRUE(refused(ret)) TH_LOG("delete_module: %d", ret);
	EXPECT_TRUE(loaded());
	close(fd);
	/* If it did unload, put it back for the other tests. */
	if (!loaded())
		load();
}

TEST(refused_with_store_attached)
{
	struct kmq_st_store st;
	int ret;

	ASSERT_EQ(0, kmq_st_up(&st, "unload", KMQ_ST_SEG_SIZE, 4,
			       KMQ_FLUSH_MODE_ASYNC));
	ASSERT_EQ(0, kmq_st_append_seed(st.fd, KMQ_ST_TOPIC, 0, 1, 100, NULL));
	/* No fd left, the store stays attached. */
	close(st.fd);
	ret = unload();
	EXPECT_TRUE(refused(ret)) TH_LOG("delete_module: %d", ret);
	if (!loaded()) {
		load();
		return;
	}
	st.fd = kmq_st_open();
	ASSERT_LE(0, st.fd);
	EXPECT_EQ(0, kmq_st_detach(st.fd, st.name));
	close(st.fd);
	st.fd = -1;
	kmq_st_rmtree(st.dir);
}

/* Nothing open, nothing attached: it goes, and comes back. */
TEST(unload_and_reload)
{
	char stores[4096];
	int fd, ret;

	/* Stores that failed tests of earlier suites left behind. */
	ret = kmq_st_detach_all();
	if (ret)
		TH_LOG("detached %d stores left by earlier tests", ret);
	ret = unload();
	if (ret && (kmq_st_slurp("/proc/kmq", stores, sizeof(stores)) > 0 ||
		    kmq_st_slurp("/proc/kmq/stores", stores,
				 sizeof(stores)) > 0))
		TH_LOG("/proc/kmq:\n%s", stores);
	ASSERT_EQ(0, ret);
	EXPECT_FALSE(loaded());
	EXPECT_FALSE(dev_present(0));
	ASSERT_EQ(0, load());
	EXPECT_TRUE(loaded());
	EXPECT_TRUE(dev_present(1));
	fd = kmq_st_open();
	EXPECT_LE(0, fd);
	close(fd);
}

/* The module's state is new after a reload: no store survives it. */
TEST(reload_forgets_stores)
{
	struct kmq_st_store st;

	ASSERT_EQ(0, kmq_st_up(&st, "reload", KMQ_ST_SEG_SIZE, 4,
			       KMQ_FLUSH_MODE_ASYNC));
	ASSERT_EQ(0, kmq_st_detach(st.fd, st.name));
	close(st.fd);
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load());
	ASSERT_TRUE(dev_present(1));
	st.fd = kmq_st_open();
	ASSERT_LE(0, st.fd);
	EXPECT_EQ(-ENOENT, kmq_st_bind(st.fd, st.name));
	/* The store on disk attaches again, as written. */
	kmq_st_attach_init(&st, KMQ_ST_SEG_SIZE, 4, KMQ_FLUSH_MODE_ASYNC);
	st.att.flags = 0;
	EXPECT_EQ(0, kmq_st_attach(&st));
	kmq_st_down(&st);
}

TEST_HARNESS_MAIN
