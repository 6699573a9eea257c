/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_st.h - helpers shared by kmq.ko's selftests: /dev/kmq, a scratch
 * store on the VM's disk, topics, appends and reads through the ioctls of
 * uapi/kmq_ioctl.h, deterministic bodies, dropping privileges.
 *
 * Include after kselftest_harness.h. Every helper returns 0 or a negated
 * errno, so a test can say ASSERT_EQ(-ENOENT, kmq_st_...(...)).
 */
#ifndef KMQ_ST_H
#define KMQ_ST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "kmq_ioctl.h"
#include "kmq_msgid.h"
#include "kmq_props.h"
#include "kmq_record.h"

#define KMQ_ST_DEV		"/dev/kmq"
#define KMQ_ST_TOPIC		"StTopic"
#define KMQ_ST_QUEUES		4
#define KMQ_ST_SEG_SIZE		(256u * 1024)
#define KMQ_ST_RING		8
#define KMQ_ST_PORT		10911
#define KMQ_ST_NOBODY		65534
/* Room for a read of many records. */
#define KMQ_ST_BUF		(1u << 20)

/**
 * struct kmq_st_store - a scratch store attached for one test.
 * @fd: /dev/kmq, bound to the store
 * @dir: the store directory, on the VM's disk
 * @name: its unique name
 * @att: the attach request, with what the module answered
 */
struct kmq_st_store {
	int fd;
	char dir[256];
	char name[KMQ_STORE_NAME_MAX];
	struct kmq_attach att;
};

static inline int kmq_st_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

static inline int kmq_st_open(void)
{
	return open(KMQ_ST_DEV, O_RDWR | O_CLOEXEC);
}

/* Where scratch stores go: $KMQ_MNT (the VM's ext4 disk), else /tmp. */
static inline const char *kmq_st_base(void)
{
	const char *mnt = getenv("KMQ_MNT");

	return mnt && *mnt ? mnt : "/tmp";
}

/**
 * kmq_st_mkdir_in() - make an empty, unique store directory under @base
 * and a store name.
 * @st: fills @st->dir and @st->name
 * @base: the folder (its filesystem is the store's)
 * @tag: a short word naming the test (part of both)
 */
static inline int kmq_st_mkdir_in(struct kmq_st_store *st, const char *base,
				  const char *tag)
{
	static unsigned int seq;
	char top[200];

	snprintf(top, sizeof(top), "%s/kmq-st", base);
	if (mkdir(top, 0755) && errno != EEXIST)
		return -errno;
	snprintf(st->dir, sizeof(st->dir), "%s/%s-%d-%u", top, tag,
		 (int)getpid(), seq);
	snprintf(st->name, sizeof(st->name), "%s-%d-%u", tag, (int)getpid(),
		 seq);
	seq++;
	return mkdir(st->dir, 0755) ? -errno : 0;
}

/* kmq_st_mkdir_in() on the VM's disk (kmq_st_base()). */
static inline int kmq_st_mkdir(struct kmq_st_store *st, const char *tag)
{
	return kmq_st_mkdir_in(st, kmq_st_base(), tag);
}

static inline void kmq_st_host(struct kmq_uhost *h)
{
	memset(h, 0, sizeof(*h));
	h->addr[0] = 127;
	h->addr[3] = 1;
	h->port = KMQ_ST_PORT;
	h->family = 4;
}

/**
 * kmq_st_attach_init() - a KMQ_IOC_ATTACH request creating @st's store.
 * @st: its @dir and @name are used
 * @seg: segment size
 * @ring: ring segments
 * @flush_mode: KMQ_FLUSH_MODE_*
 */
static inline void kmq_st_attach_init(struct kmq_st_store *st, __u64 seg,
				      __u32 ring, __u32 flush_mode)
{
	struct kmq_attach *a = &st->att;

	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->flags = KMQ_ATTACH_CREATE;
	a->dirfd = AT_FDCWD;
	a->flush_mode = flush_mode;
	a->path = (uintptr_t)st->dir;
	snprintf(a->name, sizeof(a->name), "%s", st->name);
	a->segment_size = seg;
	a->ring_segments = ring;
	kmq_st_host(&a->store_host);
}

static inline int kmq_st_attach(struct kmq_st_store *st)
{
	return kmq_st_ioctl(st->fd, KMQ_IOC_ATTACH, &st->att);
}

/* Bind @fd to the attached store @name. */
static inline int kmq_st_bind(int fd, const char *name)
{
	struct kmq_attach a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = KMQ_ATTACH_EXISTING;
	a.dirfd = AT_FDCWD;
	snprintf(a.name, sizeof(a.name), "%s", name);
	return kmq_st_ioctl(fd, KMQ_IOC_ATTACH, &a);
}

static inline int kmq_st_detach(int fd, const char *name)
{
	struct kmq_detach d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	snprintf(d.name, sizeof(d.name), "%s", name);
	return kmq_st_ioctl(fd, KMQ_IOC_DETACH, &d);
}

static inline void kmq_st_topic_init(struct kmq_topic *t, const char *name,
				     __u32 rq, __u32 wq)
{
	memset(t, 0, sizeof(*t));
	t->size = sizeof(*t);
	t->read_queues = rq;
	t->write_queues = wq;
	t->perm = KMQ_TOPIC_PERM_READ | KMQ_TOPIC_PERM_WRITE;
	snprintf(t->name, sizeof(t->name), "%s", name);
}

static inline int kmq_st_topic(int fd, const char *name, __u32 queues)
{
	struct kmq_topic t;

	kmq_st_topic_init(&t, name, queues, queues);
	return kmq_st_ioctl(fd, KMQ_IOC_TOPIC_SET, &t);
}

static inline int kmq_st_topic_del(int fd, const char *name)
{
	struct kmq_topic t;

	kmq_st_topic_init(&t, name, 0, 0);
	t.perm = 0;
	return kmq_st_ioctl(fd, KMQ_IOC_TOPIC_DEL, &t);
}

/**
 * kmq_st_up_in() - open /dev/kmq, attach a fresh store under @base with
 * @KMQ_ST_TOPIC (@KMQ_ST_QUEUES queues).
 * @st: the store
 * @base: the folder the store's directory goes in
 * @tag: names it
 * @seg: segment size
 * @ring: ring segments
 * @flush_mode: KMQ_FLUSH_MODE_*
 */
static inline int kmq_st_up_in(struct kmq_st_store *st, const char *base,
			       const char *tag, __u64 seg, __u32 ring,
			       __u32 flush_mode)
{
	int ret;

	memset(st, 0, sizeof(*st));
	st->fd = kmq_st_open();
	if (st->fd < 0)
		return -errno;
	ret = kmq_st_mkdir_in(st, base, tag);
	if (ret)
		return ret;
	kmq_st_attach_init(st, seg, ring, flush_mode);
	ret = kmq_st_attach(st);
	if (ret)
		return ret;
	ret = kmq_st_topic(st->fd, KMQ_ST_TOPIC, KMQ_ST_QUEUES);
	if (ret)
		kmq_st_detach(st->fd, st->name);
	return ret;
}

/* kmq_st_up_in() on the VM's disk (kmq_st_base()). */
static inline int kmq_st_up(struct kmq_st_store *st, const char *tag,
			    __u64 seg, __u32 ring, __u32 flush_mode)
{
	return kmq_st_up_in(st, kmq_st_base(), tag, seg, ring, flush_mode);
}

static inline int kmq_st_rm_one(const char *path, const struct stat *sb,
				int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Remove a directory tree (best effort). */
static inline void kmq_st_rmtree(const char *dir)
{
	nftw(dir, kmq_st_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Detach, close and remove what kmq_st_up() made (best effort). */
static inline void kmq_st_down(struct kmq_st_store *st)
{
	if (st->fd > 0) {
		kmq_st_detach(st->fd, st->name);
		close(st->fd);
		st->fd = -1;
	}
	if (st->dir[0])
		kmq_st_rmtree(st->dir);
}

/**
 * kmq_st_detach_all() - detach every store a selftest left attached (a
 * test that failed half way): each directory under <base>/kmq-st names
 * its store.
 * Return: how many were still attached, or a negated errno.
 */
static inline int kmq_st_detach_all(void)
{
	char top[200];
	struct dirent *de;
	int fd, n = 0;
	DIR *d;

	snprintf(top, sizeof(top), "%s/kmq-st", kmq_st_base());
	d = opendir(top);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	fd = kmq_st_open();
	if (fd < 0) {
		closedir(d);
		return -errno;
	}
	while ((de = readdir(d))) {
		char name[KMQ_STORE_NAME_MAX];
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len >= sizeof(name))
			continue;
		memcpy(name, de->d_name, len + 1);
		if (!kmq_st_detach(fd, name))
			n++;
	}
	close(fd);
	closedir(d);
	return n;
}

/*
 * Bodies are a pure function of a seed, so a reader can tell a record
 * from any other: the seed in the first 8 bytes, then bytes derived from
 * it and the position.
 */
static inline __u8 kmq_st_byte(__u64 seed, __u32 i)
{
	__u64 x = seed * 0x9e3779b97f4a7c15ull + i * 0xff51afd7ed558ccdull;

	return (__u8)(x >> 56);
}

static inline void kmq_st_fill(void *buf, __u32 len, __u64 seed)
{
	__u8 *p = buf;
	__u32 i;

	for (i = 0; i < len; i++)
		p[i] = i < 8 ? (__u8)(seed >> (8 * i)) : kmq_st_byte(seed, i);
}

/* Whether @buf is the body kmq_st_fill() makes for @seed. */
static inline int kmq_st_body_ok(const void *buf, __u32 len, __u64 seed)
{
	const __u8 *p = buf;
	__u32 i;

	for (i = 0; i < len; i++) {
		__u8 want = i < 8 ? (__u8)(seed >> (8 * i)) :
				    kmq_st_byte(seed, i);

		if (p[i] != want)
			return 0;
	}
	return 1;
}

/* The seed kmq_st_fill() put in a body of at least 8 bytes. */
static inline __u64 kmq_st_seed(const void *buf)
{
	const __u8 *p = buf;
	__u64 seed = 0;
	int i;

	for (i = 7; i >= 0; i--)
		seed = seed << 8 | p[i];
	return seed;
}

/**
 * kmq_st_msg() - one record of an append.
 * @m: filled
 * @topic: topic
 * @queue: queue id
 * @body: body bytes
 * @len: their count
 * @props: properties string, or NULL
 */
static inline void kmq_st_msg(struct kmq_append_msg *m, const char *topic,
			      __u32 queue, const void *body, __u32 len,
			      const char *props)
{
	memset(m, 0, sizeof(*m));
	m->body = (uintptr_t)body;
	m->body_len = len;
	if (props) {
		m->props = (uintptr_t)props;
		m->props_len = strlen(props);
	}
	m->born_ts = 1700000000000ull;
	m->queue_id = queue;
	kmq_st_host(&m->born_host);
	m->born_host.port = 40000;
	snprintf(m->topic, sizeof(m->topic), "%s", topic);
}

static inline void kmq_st_append_init(struct kmq_append *a,
				      struct kmq_append_msg *msgs,
				      struct kmq_append_res *res, __u32 n)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->msgs = (uintptr_t)msgs;
	a->results = (uintptr_t)res;
	a->count = n;
	a->msg_size = sizeof(*msgs);
	a->res_size = sizeof(*res);
}

/* Append @n records; @a (may be NULL) gets status and end offset. */
static inline int kmq_st_append(int fd, struct kmq_append_msg *msgs,
				struct kmq_append_res *res, __u32 n,
				struct kmq_append *a)
{
	struct kmq_append local;

	if (!a)
		a = &local;
	kmq_st_append_init(a, msgs, res, n);
	return kmq_st_ioctl(fd, KMQ_IOC_APPEND, a);
}

/* Append one body made from @seed, @len bytes, to (@topic, @queue). */
static inline int kmq_st_append_seed(int fd, const char *topic, __u32 queue,
				     __u64 seed, __u32 len,
				     struct kmq_append_res *res)
{
	struct kmq_append_res local;
	struct kmq_append_msg m;
	char *body = malloc(len ? len : 1);
	int ret;

	if (!body)
		return -ENOMEM;
	kmq_st_fill(body, len, seed);
	kmq_st_msg(&m, topic, queue, body, len, NULL);
	ret = kmq_st_append(fd, &m, res ? res : &local, 1, NULL);
	free(body);
	return ret;
}

static inline void kmq_st_read_init(struct kmq_read *r, const char *topic,
				    __u32 queue, __u64 offset, void *buf,
				    __u32 len, __u32 max)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->offset = offset;
	r->buf = (uintptr_t)buf;
	r->buf_len = len;
	r->queue_id = queue;
	r->max_msgs = max;
	snprintf(r->topic, sizeof(r->topic), "%s", topic);
}

static inline int kmq_st_read(int fd, struct kmq_read *r)
{
	return kmq_st_ioctl(fd, KMQ_IOC_READ, r);
}

static inline int kmq_st_queue_info(int fd, const char *topic, __u32 queue,
				    struct kmq_queue_info *qi)
{
	memset(qi, 0, sizeof(*qi));
	qi->size = sizeof(*qi);
	qi->queue_id = queue;
	snprintf(qi->topic, sizeof(qi->topic), "%s", topic);
	return kmq_st_ioctl(fd, KMQ_IOC_QUEUE_INFO, qi);
}

static inline int kmq_st_store_info(int fd, struct kmq_store_info *si)
{
	memset(si, 0, sizeof(*si));
	si->size = sizeof(*si);
	return kmq_st_ioctl(fd, KMQ_IOC_STORE_INFO, si);
}

static inline int kmq_st_flush(int fd, __u64 offset, __u32 timeout_ms,
			       __u64 *flushed)
{
	struct kmq_flush f;
	int ret;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.offset = offset;
	f.timeout_ms = timeout_ms;
	ret = kmq_st_ioctl(fd, KMQ_IOC_FLUSH, &f);
	if (flushed)
		*flushed = f.flushed_offset;
	return ret;
}

static inline int kmq_st_subscribe(int fd, const char *topic, __u32 queue,
				   __u64 offset, __u32 flags)
{
	struct kmq_subscribe s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.flags = flags;
	s.offset = offset;
	s.queue_id = queue;
	snprintf(s.topic, sizeof(s.topic), "%s", topic);
	return kmq_st_ioctl(fd, KMQ_IOC_SUBSCRIBE, &s);
}

/**
 * kmq_st_next() - decode the record at *@pos of a read buffer and move
 * past it.
 * Return: 0 for a record with a good body CRC, 1 at the end of @len,
 * or a negated kmq_fmt_err.
 */
static inline int kmq_st_next(const void *buf, __u32 len, __u32 *pos,
			      struct kmq_record *r)
{
	int ret;

	if (*pos >= len)
		return 1;
	ret = kmq_record_decode((const __u8 *)buf + *pos, len - *pos, r,
				KMQ_DECODE_CRC);
	if (ret < 0)
		return ret;
	if (ret > 0)
		return -KMQ_FMT_EBLANK;
	*pos += r->total_size;
	return 0;
}

/* CLOCK_REALTIME in ms, as STORETIMESTAMP. */
static inline __u64 kmq_st_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Become nobody for good: no groups, no capabilities left. */
static inline int kmq_st_drop_privs(void)
{
	if (setgroups(0, NULL) || setresgid(KMQ_ST_NOBODY, KMQ_ST_NOBODY,
					    KMQ_ST_NOBODY) ||
	    setresuid(KMQ_ST_NOBODY, KMQ_ST_NOBODY, KMQ_ST_NOBODY))
		return -errno;
	return 0;
}

/* Read a whole small file into @buf (NUL-terminated); bytes or -errno. */
static inline int kmq_st_slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -errno;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return (int)n;
}

#endif /* KMQ_ST_H */
