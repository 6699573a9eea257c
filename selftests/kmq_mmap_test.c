// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_mmap_test.c - read-only mmap() of sealed segments through /dev/kmq:
 * the mapping holds the segment file's bytes, and writable, private,
 * active-segment and off-grid mappings are refused with the documented
 * errors.
 */
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "kmq_st.h"

#define SEG	(64u * 1024)

FIXTURE(store)
{
	struct kmq_st_store s;
	__u64 write_offset;
};

FIXTURE_SETUP(store)
{
	struct kmq_store_info si;
	int i = 0;

	ASSERT_EQ(0, kmq_st_up(&self->s, "mmap", SEG, 8,
			       KMQ_FLUSH_MODE_ASYNC));
	/* Records until the writer is in the third segment. */
	do {
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0, i,
						1000 + (i % 5) * 300, NULL));
		ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &si));
		i++;
	} while (si.write_offset < 2 * SEG + 100);
	self->write_offset = si.write_offset;
}

FIXTURE_TEARDOWN(store)
{
	kmq_st_down(&self->s);
}

TEST_F(store, sealed_segment_bytes)
{
	char path[400], *file, *map;
	__u32 pos = 0, n = 0;
	struct kmq_record rec;
	int sfd, ret;

	map = mmap(NULL, SEG, PROT_READ, MAP_SHARED, self->s.fd, 0);
	ASSERT_NE(MAP_FAILED, map) {
		TH_LOG("mmap: %s", strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/commitlog/%020llu", self->s.dir, 0ull);
	sfd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, sfd);
	file = malloc(SEG);
	ASSERT_NE(NULL, file);
	ASSERT_EQ(SEG, pread(sfd, file, SEG, 0));
	EXPECT_EQ(0, memcmp(map, file, SEG));
	/* Records from the start up to the BLANK filler. */
	while ((ret = kmq_record_decode(map + pos, SEG - pos, &rec,
					KMQ_DECODE_CRC)) == 0) {
		EXPECT_EQ(pos, rec.phys_offset);
		EXPECT_TRUE(kmq_st_body_ok(rec.body, rec.body_len, n));
		pos += rec.total_size;
		n++;
	}
	EXPECT_EQ(1, ret);
	EXPECT_LT(0, n);
	free(file);
	close(sfd);
	munmap(map, SEG);
}

TEST_F(store, second_sealed_segment)
{
	struct kmq_record rec;
	char *map;

	map = mmap(NULL, SEG, PROT_READ, MAP_SHARED, self->s.fd, SEG);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, kmq_record_decode(map, SEG, &rec, KMQ_DECODE_CRC));
	EXPECT_EQ(SEG, rec.phys_offset);
	munmap(map, SEG);
}

TEST_F(store, writable_eacces)
{
	void *map = mmap(NULL, SEG, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->s.fd, 0);

	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EACCES, errno);
}

TEST_F(store, private_einval)
{
	void *map = mmap(NULL, SEG, PROT_READ, MAP_PRIVATE, self->s.fd, 0);

	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(store, no_upgrade_to_write)
{
	void *map = mmap(NULL, SEG, PROT_READ, MAP_SHARED, self->s.fd, 0);

	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-1, mprotect(map, SEG, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(map, SEG);
}

TEST_F(store, active_segment_ebusy)
{
	__u64 active = self->write_offset - self->write_offset % SEG;
	void *map = mmap(NULL, SEG, PROT_READ, MAP_SHARED, self->s.fd, active);

	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EBUSY, errno);
}

TEST_F(store, not_a_segment_start_enxio)
{
	void *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->s.fd, 4096);

	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(ENXIO, errno);
	map = mmap(NULL, SEG, PROT_READ, MAP_SHARED, self->s.fd, 64 * SEG);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(ENXIO, errno);
}

TEST_F(store, mapping_outlives_fd)
{
	char *map = mmap(NULL, SEG, PROT_READ, MAP_SHARED, self->s.fd, 0);
	struct kmq_record rec;
	int fd2;

	ASSERT_NE(MAP_FAILED, map);
	/* The mapping holds its own reference to the segment. */
	fd2 = kmq_st_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, kmq_st_bind(fd2, self->s.name));
	close(self->s.fd);
	self->s.fd = fd2;
	EXPECT_EQ(0, kmq_record_decode(map, SEG, &rec, KMQ_DECODE_CRC));
	munmap(map, SEG);
}

TEST(unbound_fd_enxio)
{
	int fd = kmq_st_open();
	void *map;

	ASSERT_LE(0, fd);
	map = mmap(NULL, SEG, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(ENXIO, errno);
	close(fd);
}

TEST_HARNESS_MAIN
