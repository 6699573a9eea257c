// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_badinput_test.c - every /dev/kmq ioctl against hostile input: struct
 * sizes (below VER0, larger with a zero or non-zero tail), unknown flags,
 * non-zero reserved fields, bad, unaligned and straddling user pointers,
 * lengths at and past the limits, unknown topics and queues, unknown
 * commands, unprivileged callers, and no uninitialised byte coming back.
 */
#include <stddef.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kmq_st.h"

#define PAGE		4096
#define TAIL		64
#define MAX_RSVD	3

/* What the prep functions point into: stays valid for the whole test. */
struct bi_ctx {
	struct kmq_st_store *st;
	struct kmq_append_msg msg;
	struct kmq_append_res res;
	char body[64];
	struct kmq_topic ents[4];
	struct kmq_subscribe subs[4];
	char *rbuf;
};

/**
 * struct bi_case - one ioctl and how to make a valid request for it.
 * @name: for messages
 * @req: the ioctl number
 * @size: sizeof() its struct
 * @ver0: its KMQ_*_SIZE_VER0
 * @rsvd: offsets of its reserved fields, all __u32 (0 ends the list)
 * @fresh: run on a new, unbound fd (ATTACH)
 * @writes: the ioctl writes its struct back (_IOWR)
 * @prep: fill a valid request
 */
struct bi_case {
	const char *name;
	unsigned long req;
	__u32 size, ver0;
	__u32 rsvd[MAX_RSVD];
	int fresh, writes;
	void (*prep)(struct bi_ctx *c, void *arg);
};

static void prep_attach(struct bi_ctx *c, void *arg)
{
	struct kmq_attach *a = arg;

	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->flags = KMQ_ATTACH_EXISTING;
	a->dirfd = AT_FDCWD;
	snprintf(a->name, sizeof(a->name), "%s", c->st->name);
}

static void prep_detach(struct bi_ctx *c, void *arg)
{
	struct kmq_detach *d = arg;

	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	snprintf(d->name, sizeof(d->name), "no-such-store");
}

static void prep_topic_set(struct bi_ctx *c, void *arg)
{
	kmq_st_topic_init(arg, "BadInputTopic", 2, 2);
}

static void prep_topic_del(struct bi_ctx *c, void *arg)
{
	kmq_st_topic_init(arg, "NeverCreated", 1, 1);
}

static void prep_topic_list(struct bi_ctx *c, void *arg)
{
	struct kmq_topic_list *l = arg;

	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->entries = (uintptr_t)c->ents;
	l->entry_size = sizeof(c->ents[0]);
	l->max_entries = 4;
}

static void prep_append(struct bi_ctx *c, void *arg)
{
	kmq_st_fill(c->body, sizeof(c->body), 1);
	kmq_st_msg(&c->msg, KMQ_ST_TOPIC, 0, c->body, sizeof(c->body), NULL);
	kmq_st_append_init(arg, &c->msg, &c->res, 1);
}

static void prep_read(struct bi_ctx *c, void *arg)
{
	kmq_st_read_init(arg, KMQ_ST_TOPIC, 0, 0, c->rbuf, KMQ_ST_BUF, 8);
}

static void prep_queue_info(struct bi_ctx *c, void *arg)
{
	struct kmq_queue_info *qi = arg;

	memset(qi, 0, sizeof(*qi));
	qi->size = sizeof(*qi);
	snprintf(qi->topic, sizeof(qi->topic), "%s", KMQ_ST_TOPIC);
}

static void prep_flush(struct bi_ctx *c, void *arg)
{
	struct kmq_flush *f = arg;

	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	f->offset = ~0ull;
	f->timeout_ms = 5000;
}

static void prep_subscribe(struct bi_ctx *c, void *arg)
{
	struct kmq_subscribe *s = arg;

	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->queue_id = 1;
	snprintf(s->topic, sizeof(s->topic), "%s", KMQ_ST_TOPIC);
}

static void prep_ready(struct bi_ctx *c, void *arg)
{
	struct kmq_ready *r = arg;

	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->entries = (uintptr_t)c->subs;
	r->entry_size = sizeof(c->subs[0]);
	r->max_entries = 4;
}

static void prep_store_info(struct bi_ctx *c, void *arg)
{
	struct kmq_store_info *si = arg;

	memset(si, 0, sizeof(*si));
	si->size = sizeof(*si);
}

#define SZ(s)		sizeof(struct s)
#define OFF(s, f)	offsetof(struct s, f)

static const struct bi_case cases[] = {
	{ "ATTACH", KMQ_IOC_ATTACH, SZ(kmq_attach), KMQ_ATTACH_SIZE_VER0,
	  { OFF(kmq_attach, __rsvd0), OFF(kmq_attach, __rsvd1) },
	  1, 1, prep_attach },
	{ "DETACH", KMQ_IOC_DETACH, SZ(kmq_detach), KMQ_DETACH_SIZE_VER0,
	  { 0 }, 0, 0, prep_detach },
	{ "TOPIC_SET", KMQ_IOC_TOPIC_SET, SZ(kmq_topic), KMQ_TOPIC_SIZE_VER0,
	  { OFF(kmq_topic, __rsvd) }, 0, 0, prep_topic_set },
	{ "TOPIC_DEL", KMQ_IOC_TOPIC_DEL, SZ(kmq_topic), KMQ_TOPIC_SIZE_VER0,
	  { OFF(kmq_topic, __rsvd) }, 0, 0, prep_topic_del },
	{ "TOPIC_LIST", KMQ_IOC_TOPIC_LIST, SZ(kmq_topic_list),
	  KMQ_TOPIC_LIST_SIZE_VER0, { 0 }, 0, 1, prep_topic_list },
	{ "APPEND", KMQ_IOC_APPEND, SZ(kmq_append), KMQ_APPEND_SIZE_VER0,
	  { 0 }, 0, 1, prep_append },
	{ "READ", KMQ_IOC_READ, SZ(kmq_read), KMQ_READ_SIZE_VER0,
	  { OFF(kmq_read, __rsvd) }, 0, 1, prep_read },
	{ "QUEUE_INFO", KMQ_IOC_QUEUE_INFO, SZ(kmq_queue_info),
	  KMQ_QUEUE_INFO_SIZE_VER0, { OFF(kmq_queue_info, __rsvd) },
	  0, 1, prep_queue_info },
	{ "OFFSET_BY_TIME", KMQ_IOC_OFFSET_BY_TIME, SZ(kmq_queue_info),
	  KMQ_QUEUE_INFO_SIZE_VER0, { OFF(kmq_queue_info, __rsvd) },
	  0, 1, prep_queue_info },
	{ "FLUSH", KMQ_IOC_FLUSH, SZ(kmq_flush), KMQ_FLUSH_SIZE_VER0,
	  { OFF(kmq_flush, __rsvd) }, 0, 1, prep_flush },
	{ "SUBSCRIBE", KMQ_IOC_SUBSCRIBE, SZ(kmq_subscribe),
	  KMQ_SUBSCRIBE_SIZE_VER0, { OFF(kmq_subscribe, __rsvd) },
	  0, 0, prep_subscribe },
	{ "READY", KMQ_IOC_READY, SZ(kmq_ready), KMQ_READY_SIZE_VER0,
	  { OFF(kmq_ready, __rsvd) }, 0, 1, prep_ready },
	{ "STORE_INFO", KMQ_IOC_STORE_INFO, SZ(kmq_store_info),
	  KMQ_STORE_INFO_SIZE_VER0, { OFF(kmq_store_info, __rsvd) },
	  0, 1, prep_store_info },
};

#define NCASES	ARRAY_SIZE(cases)

FIXTURE(bi)
{
	struct kmq_st_store s;
	struct bi_ctx c;
	char *pages;	/* two pages, the second PROT_NONE */
	__u64 write_offset;
};

FIXTURE_SETUP(bi)
{
	ASSERT_EQ(0, kmq_st_up(&self->s, "badin", KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			       KMQ_FLUSH_MODE_ASYNC));
	memset(&self->c, 0, sizeof(self->c));
	self->c.st = &self->s;
	self->c.rbuf = malloc(KMQ_ST_BUF);
	ASSERT_NE(NULL, self->c.rbuf);
	self->pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->pages);
	ASSERT_EQ(0, mprotect(self->pages + PAGE, PAGE, PROT_NONE));
	/* Something to read, and something ready for READY. */
	ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 1, 1, 10,
					NULL));
	ASSERT_EQ(0, kmq_st_subscribe(self->s.fd, KMQ_ST_TOPIC, 1, 0, 0));
}

FIXTURE_TEARDOWN(bi)
{
	free(self->c.rbuf);
	munmap(self->pages, 2 * PAGE);
	kmq_st_down(&self->s);
}

/* Run one case's ioctl with @arg; a fresh fd for ATTACH. */
static int run(struct kmq_st_store *st, const struct bi_case *bc, void *arg)
{
	int fd = st->fd, ret;

	if (bc->fresh) {
		fd = kmq_st_open();
		if (fd < 0)
			return -errno;
	}
	ret = kmq_st_ioctl(fd, bc->req, arg);
	if (bc->fresh)
		close(fd);
	return ret;
}

/* The result of the well-formed request (what bigger sizes must match). */
static int baseline(struct kmq_st_store *st, struct bi_ctx *c,
		    const struct bi_case *bc)
{
	char arg[512];

	bc->prep(c, arg);
	return run(st, bc, arg);
}

TEST_F(bi, baseline_valid)
{
	int ret, want;
	size_t i;

	for (i = 0; i < NCASES; i++) {
		ret = baseline(&self->s, &self->c, &cases[i]);
		want = 0;
		if (cases[i].req == KMQ_IOC_DETACH ||
		    cases[i].req == KMQ_IOC_TOPIC_DEL)
			want = -ENOENT;
		EXPECT_EQ(want, ret) TH_LOG("%s", cases[i].name);
	}
}

TEST_F(bi, size_below_ver0_einval)
{
	__u32 sizes[] = { 0, 4, 0 };
	char arg[512];
	size_t i, k;

	for (i = 0; i < NCASES; i++) {
		sizes[2] = cases[i].ver0 - 1;
		for (k = 0; k < 3; k++) {
			cases[i].prep(&self->c, arg);
			*(__u32 *)arg = sizes[k];
			EXPECT_EQ(-EINVAL, run(&self->s, &cases[i], arg))
				TH_LOG("%s size %u", cases[i].name, sizes[k]);
		}
	}
}

TEST_F(bi, bigger_zero_tail_accepted)
{
	char arg[512 + TAIL];
	size_t i, k;
	int want;

	for (i = 0; i < NCASES; i++) {
		want = baseline(&self->s, &self->c, &cases[i]);
		memset(arg, 0, sizeof(arg));
		cases[i].prep(&self->c, arg);
		*(__u32 *)arg = cases[i].size + TAIL;
		EXPECT_EQ(want, run(&self->s, &cases[i], arg))
			TH_LOG("%s", cases[i].name);
		/* Nothing written past the struct the module knows. */
		for (k = cases[i].size; k < cases[i].size + TAIL; k++) {
			if (arg[k]) {
				EXPECT_EQ(0, arg[k]) TH_LOG("%s byte %zu",
							    cases[i].name, k);
				break;
			}
		}
	}
}

TEST_F(bi, bigger_nonzero_tail_e2big)
{
	char arg[512 + TAIL];
	size_t i;

	for (i = 0; i < NCASES; i++) {
		memset(arg, 0, sizeof(arg));
		cases[i].prep(&self->c, arg);
		*(__u32 *)arg = cases[i].size + TAIL;
		arg[cases[i].size + TAIL - 1] = 1;
		EXPECT_EQ(-E2BIG, run(&self->s, &cases[i], arg))
			TH_LOG("%s", cases[i].name);
		arg[cases[i].size + TAIL - 1] = 0;
		arg[cases[i].size] = 0x80;
		EXPECT_EQ(-E2BIG, run(&self->s, &cases[i], arg))
			TH_LOG("%s", cases[i].name);
	}
}

TEST_F(bi, unknown_flags_einval)
{
	char arg[512];
	size_t i;

	for (i = 0; i < NCASES; i++) {
		cases[i].prep(&self->c, arg);
		((__u32 *)arg)[1] |= 0x80000000u;
		EXPECT_EQ(-EINVAL, run(&self->s, &cases[i], arg))
			TH_LOG("%s", cases[i].name);
		cases[i].prep(&self->c, arg);
		((__u32 *)arg)[1] |= 0x100;
		EXPECT_EQ(-EINVAL, run(&self->s, &cases[i], arg))
			TH_LOG("%s", cases[i].name);
	}
}

TEST_F(bi, reserved_nonzero_einval)
{
	char arg[512];
	size_t i, r;

	for (i = 0; i < NCASES; i++) {
		for (r = 0; r < MAX_RSVD && cases[i].rsvd[r]; r++) {
			cases[i].prep(&self->c, arg);
			*(__u32 *)(arg + cases[i].rsvd[r]) = 1;
			EXPECT_EQ(-EINVAL, run(&self->s, &cases[i], arg))
				TH_LOG("%s reserved field at %u", cases[i].name,
				       cases[i].rsvd[r]);
		}
	}
}

TEST_F(bi, bad_arg_pointer_efault)
{
	void *bad[] = { NULL, (void *)1, self->pages + PAGE,
			(void *)0xffff888000000000ull };
	size_t i, k;

	for (i = 0; i < NCASES; i++) {
		for (k = 0; k < ARRAY_SIZE(bad); k++) {
			EXPECT_EQ(-EFAULT, run(&self->s, &cases[i], bad[k]))
				TH_LOG("%s arg %p", cases[i].name, bad[k]);
		}
	}
}

/* The struct runs into an unmapped page: only @size is readable. */
TEST_F(bi, arg_straddles_guard_efault)
{
	char arg[512];
	size_t i;

	for (i = 0; i < NCASES; i++) {
		char *at = self->pages + PAGE - 8;

		cases[i].prep(&self->c, arg);
		memcpy(at, arg, 8);
		EXPECT_EQ(-EFAULT, run(&self->s, &cases[i], at))
			TH_LOG("%s", cases[i].name);
	}
}

/* A struct at an odd address is read and written like any other. */
TEST_F(bi, unaligned_arg_works)
{
	char arg[512], *raw = malloc(1024);
	size_t i;
	int want;

	ASSERT_NE(NULL, raw);
	for (i = 0; i < NCASES; i++) {
		want = baseline(&self->s, &self->c, &cases[i]);
		cases[i].prep(&self->c, arg);
		memcpy(raw + 1, arg, cases[i].size);
		EXPECT_EQ(want, run(&self->s, &cases[i], raw + 1))
			TH_LOG("%s", cases[i].name);
	}
	free(raw);
}

/* Commands that write their struct back fault on read-only memory. */
TEST_F(bi, readonly_arg_efault)
{
	char arg[512];
	size_t i;

	for (i = 0; i < NCASES; i++) {
		if (!cases[i].writes)
			continue;
		cases[i].prep(&self->c, arg);
		memcpy(self->pages, arg, cases[i].size);
		ASSERT_EQ(0, mprotect(self->pages, PAGE, PROT_READ));
		EXPECT_EQ(-EFAULT, run(&self->s, &cases[i], self->pages))
			TH_LOG("%s", cases[i].name);
		ASSERT_EQ(0, mprotect(self->pages, PAGE,
				      PROT_READ | PROT_WRITE));
	}
}

TEST_F(bi, unknown_commands_enotty)
{
	char arg[512] = { 0 };

	*(__u32 *)arg = 64;
	EXPECT_EQ(-ENOTTY, kmq_st_ioctl(self->s.fd,
					_IOWR(KMQ_IOC_MAGIC, 99, __u64), arg));
	EXPECT_EQ(-ENOTTY, kmq_st_ioctl(self->s.fd,
					_IOWR(KMQ_IOC_MAGIC, 0, __u64), arg));
	EXPECT_EQ(-ENOTTY, kmq_st_ioctl(self->s.fd,
					_IOWR(KMQ_IOC_MAGIC + 1, 1,
					      struct kmq_attach), arg));
	EXPECT_EQ(-ENOTTY, kmq_st_ioctl(self->s.fd, 0, arg));
}

/* --- APPEND's inner pointers and limits ---------------------------------- */

static __u64 write_offset(int fd)
{
	struct kmq_store_info si;

	return kmq_st_store_info(fd, &si) ? ~0ull : si.write_offset;
}

TEST_F(bi, append_bad_inner_pointers)
{
	struct kmq_append_msg m;
	struct kmq_append_res res;
	struct kmq_append a;
	char body[32] = "body";
	__u64 before = write_offset(self->s.fd);

	kmq_st_msg(&m, KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);
	kmq_st_append_init(&a, &m, &res, 1);
	a.msgs = 1;
	EXPECT_EQ(-EFAULT, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));
	a.msgs = (uintptr_t)(self->pages + PAGE);
	EXPECT_EQ(-EFAULT, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));
	/* Two messages, the second one in the guard page. */
	memcpy(self->pages + PAGE - sizeof(m), &m, sizeof(m));
	kmq_st_append_init(&a, (void *)(self->pages + PAGE - sizeof(m)), &res,
			   2);
	EXPECT_EQ(-EFAULT, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));

	/* Body unmapped, or running into the guard page. */
	m.body = (uintptr_t)(self->pages + PAGE);
	EXPECT_EQ(-EFAULT, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	m.body = (uintptr_t)(self->pages + PAGE - 16);
	EXPECT_EQ(-EFAULT, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	m.body = 0;
	EXPECT_EQ(-EFAULT, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	m.body = (uintptr_t)body;
	m.props = (uintptr_t)(self->pages + PAGE);
	m.props_len = 8;
	EXPECT_EQ(-EFAULT, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	/* Nothing was stored by any of them. */
	EXPECT_EQ(before, write_offset(self->s.fd));

	m.props = 0;
	m.props_len = 0;
	kmq_st_append_init(&a, &m, &res, 1);
	a.results = (uintptr_t)(self->pages + PAGE);
	EXPECT_EQ(-EFAULT, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));
}

TEST_F(bi, append_entry_sizes)
{
	struct kmq_append_msg m[2];
	struct kmq_append_res res[2];
	struct kmq_append a;
	char body[16] = "entry sizes";
	char *big;

	kmq_st_msg(&m[0], KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);
	kmq_st_append_init(&a, m, res, 1);
	a.msg_size = sizeof(m[0]) - 1;
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));
	a.msg_size = 0;
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));
	kmq_st_append_init(&a, m, res, 1);
	a.res_size = sizeof(res[0]) - 1;
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));

	/* Bigger entries: a zero tail is fine, anything else E2BIG. */
	big = calloc(2, sizeof(m[0]) + 16);
	ASSERT_NE(NULL, big);
	memcpy(big, &m[0], sizeof(m[0]));
	memcpy(big + sizeof(m[0]) + 16, &m[0], sizeof(m[0]));
	kmq_st_append_init(&a, (void *)big, res, 2);
	a.msg_size = sizeof(m[0]) + 16;
	EXPECT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));
	big[2 * (sizeof(m[0]) + 16) - 1] = 1;
	EXPECT_EQ(-E2BIG, kmq_st_ioctl(self->s.fd, KMQ_IOC_APPEND, &a));
	free(big);
}

TEST_F(bi, append_field_checks)
{
	struct kmq_append_msg m;
	struct kmq_append_res res;
	char body[16] = "field checks";
	__u64 before = write_offset(self->s.fd);

	kmq_st_msg(&m, KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);
	snprintf(m.topic, sizeof(m.topic), "NoSuchTopic");
	EXPECT_EQ(-ENOENT, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	memset(m.topic, 'x', sizeof(m.topic));
	EXPECT_EQ(-EINVAL, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	snprintf(m.topic, sizeof(m.topic), "bad topic");
	EXPECT_EQ(-EINVAL, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	snprintf(m.topic, sizeof(m.topic), "%s", KMQ_ST_TOPIC);
	m.queue_id = KMQ_ST_QUEUES;
	EXPECT_EQ(-ERANGE, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	m.queue_id = 0xffffffffu;
	EXPECT_EQ(-ERANGE, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	m.queue_id = 0;
	m.born_host.family = 5;
	EXPECT_EQ(-EINVAL, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	m.born_host.family = 4;
	m.born_host.__rsvd[2] = 1;
	EXPECT_EQ(-EINVAL, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	m.born_host.__rsvd[2] = 0;
	m.props = (uintptr_t)"no separators";
	m.props_len = 13;
	EXPECT_EQ(-EINVAL, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	m.props_len = KMQ_PROPS_MAX + 1;
	m.props = (uintptr_t)self->c.rbuf;
	EXPECT_NE(0, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	EXPECT_EQ(before, write_offset(self->s.fd));
	/* Still fine after all that. */
	m.props = 0;
	m.props_len = 0;
	EXPECT_EQ(0, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
}

/* --- READ, lists and READY ----------------------------------------------- */

TEST_F(bi, read_checks)
{
	struct kmq_read r;
	__s64 tags[KMQ_TAGS_MAX + 1] = { 0 };

	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->pages + PAGE, 4096, 8);
	EXPECT_EQ(-EFAULT, kmq_st_read(self->s.fd, &r));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->pages + PAGE - 8, 4096,
			 8);
	EXPECT_EQ(-EFAULT, kmq_st_read(self->s.fd, &r));
	ASSERT_EQ(0, mprotect(self->pages, PAGE, PROT_READ));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->pages, PAGE, 8);
	EXPECT_EQ(-EFAULT, kmq_st_read(self->s.fd, &r));
	ASSERT_EQ(0, mprotect(self->pages, PAGE, PROT_READ | PROT_WRITE));

	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->c.rbuf, KMQ_ST_BUF, 8);
	r.tags = (uintptr_t)(self->pages + PAGE);
	r.ntags = 1;
	EXPECT_EQ(-EFAULT, kmq_st_read(self->s.fd, &r));
	r.tags = (uintptr_t)tags;
	r.ntags = KMQ_TAGS_MAX;
	EXPECT_EQ(0, kmq_st_read(self->s.fd, &r));
	/* Arrays at odd addresses are read like any other. */
	r.tags = (uintptr_t)((char *)tags + 1);
	r.ntags = KMQ_TAGS_MAX - 1;
	EXPECT_EQ(0, kmq_st_read(self->s.fd, &r));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->c.rbuf + 3,
			 KMQ_ST_BUF - 3, 8);
	EXPECT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(1, r.count);
	r.ntags = KMQ_TAGS_MAX + 1;
	EXPECT_EQ(-EINVAL, kmq_st_read(self->s.fd, &r));

	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->c.rbuf, KMQ_ST_BUF, 0);
	EXPECT_EQ(-EINVAL, kmq_st_read(self->s.fd, &r));
	r.max_msgs = 16000;
	EXPECT_EQ(0, kmq_st_read(self->s.fd, &r));
	r.max_msgs = 16001;
	EXPECT_EQ(-EINVAL, kmq_st_read(self->s.fd, &r));

	kmq_st_read_init(&r, "NoSuchTopic", 0, 0, self->c.rbuf, KMQ_ST_BUF, 8);
	EXPECT_EQ(-ENOENT, kmq_st_read(self->s.fd, &r));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, KMQ_ST_QUEUES, 0, self->c.rbuf,
			 KMQ_ST_BUF, 8);
	EXPECT_EQ(-ERANGE, kmq_st_read(self->s.fd, &r));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->c.rbuf, KMQ_ST_BUF, 8);
	memset(r.topic, 'y', sizeof(r.topic));
	EXPECT_EQ(-EINVAL, kmq_st_read(self->s.fd, &r));
}

TEST_F(bi, queue_info_checks)
{
	struct kmq_queue_info qi;

	EXPECT_EQ(-ENOENT, kmq_st_queue_info(self->s.fd, "NoSuchTopic", 0,
					     &qi));
	EXPECT_EQ(-ERANGE, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC,
					     KMQ_ST_QUEUES, &qi));
	EXPECT_EQ(-EINVAL, kmq_st_queue_info(self->s.fd, "", 0, &qi));
}

TEST_F(bi, list_checks)
{
	struct kmq_topic_list l;
	struct kmq_ready r;

	prep_topic_list(&self->c, &l);
	l.entry_size = KMQ_TOPIC_SIZE_VER0 - 1;
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_LIST, &l));
	prep_topic_list(&self->c, &l);
	l.entries = (uintptr_t)(self->pages + PAGE);
	EXPECT_EQ(-EFAULT, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_LIST, &l));
	/* Entries at an odd address. */
	prep_topic_list(&self->c, &l);
	l.entries = (uintptr_t)(self->c.rbuf + 1);
	EXPECT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_LIST, &l));
	EXPECT_EQ(1, l.count);
	prep_topic_list(&self->c, &l);
	memset(l.after, 'z', sizeof(l.after));
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_TOPIC_LIST, &l));

	prep_ready(&self->c, &r);
	r.entry_size = KMQ_SUBSCRIBE_SIZE_VER0 - 1;
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_READY, &r));
	prep_ready(&self->c, &r);
	r.entries = (uintptr_t)(self->pages + PAGE);
	EXPECT_EQ(-EFAULT, kmq_st_ioctl(self->s.fd, KMQ_IOC_READY, &r));
}

/* --- ATTACH's own fields ------------------------------------------------- */

enum att_edit {
	A_NONE, A_SEG_UNALIGNED, A_SEG_SMALL, A_SEG_ZERO, A_RING_ONE,
	A_MODE_BAD, A_NAME_EMPTY, A_NAME_NO_NUL, A_HOST_BAD, A_PATH_BAD,
	A_PATH_NULL, A_DIRFD_BAD, A_BOTH_FLAGS, A_HOST_RSVD,
};

static void att_edit(struct kmq_attach *a, enum att_edit e)
{
	switch (e) {
	case A_NONE:
		break;
	case A_SEG_UNALIGNED:
		a->segment_size += 100;
		break;
	case A_SEG_SMALL:
		a->segment_size = 32768;
		break;
	case A_SEG_ZERO:
		a->segment_size = 0;
		break;
	case A_RING_ONE:
		a->ring_segments = 1;
		break;
	case A_MODE_BAD:
		a->flush_mode = 2;
		break;
	case A_NAME_EMPTY:
		a->name[0] = 0;
		break;
	case A_NAME_NO_NUL:
		memset(a->name, 'n', sizeof(a->name));
		break;
	case A_HOST_BAD:
		a->store_host.family = 9;
		break;
	case A_PATH_BAD:
		a->path = 1;
		break;
	case A_PATH_NULL:
		a->path = 0;
		break;
	case A_DIRFD_BAD:
		a->dirfd = 999;
		a->path = (uintptr_t)"relative";
		break;
	case A_BOTH_FLAGS:
		a->flags = KMQ_ATTACH_CREATE | KMQ_ATTACH_EXISTING;
		break;
	case A_HOST_RSVD:
		a->store_host.__rsvd[1] = 1;
		break;
	}
}

/* Attach a new store with one field spoiled; detach it if that worked. */
static int attach_with(enum att_edit e)
{
	struct kmq_st_store n;
	int ret;

	memset(&n, 0, sizeof(n));
	ret = kmq_st_mkdir(&n, "badatt");
	if (ret)
		return ret;
	n.fd = kmq_st_open();
	if (n.fd < 0)
		return -errno;
	kmq_st_attach_init(&n, KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			   KMQ_FLUSH_MODE_ASYNC);
	att_edit(&n.att, e);
	ret = kmq_st_attach(&n);
	if (ret == 0)
		kmq_st_detach(n.fd, n.att.name);
	close(n.fd);
	kmq_st_rmtree(n.dir);
	return ret;
}

TEST_F(bi, attach_field_checks)
{
	EXPECT_EQ(0, attach_with(A_NONE));
	EXPECT_EQ(-EINVAL, attach_with(A_SEG_UNALIGNED));
	EXPECT_EQ(-EINVAL, attach_with(A_SEG_SMALL));
	EXPECT_EQ(-EINVAL, attach_with(A_SEG_ZERO));
	EXPECT_EQ(-EINVAL, attach_with(A_RING_ONE));
	EXPECT_EQ(-EINVAL, attach_with(A_MODE_BAD));
	EXPECT_EQ(-EINVAL, attach_with(A_NAME_EMPTY));
	EXPECT_EQ(-EINVAL, attach_with(A_NAME_NO_NUL));
	EXPECT_EQ(-EINVAL, attach_with(A_HOST_BAD));
	EXPECT_EQ(-EINVAL, attach_with(A_HOST_RSVD));
	EXPECT_EQ(-EFAULT, attach_with(A_PATH_BAD));
	EXPECT_EQ(-EBADF, attach_with(A_DIRFD_BAD));
	EXPECT_EQ(-EINVAL, attach_with(A_BOTH_FLAGS));
	/* No path and no directory fd: nothing names a directory. */
	EXPECT_NE(0, attach_with(A_PATH_NULL));
}

TEST_F(bi, attach_path_unterminated)
{
	struct kmq_st_store n;

	/* The path runs into the guard page without a NUL. */
	memset(&n, 0, sizeof(n));
	n.fd = kmq_st_open();
	ASSERT_LE(0, n.fd);
	snprintf(n.dir, sizeof(n.dir), "unterminated");
	snprintf(n.name, sizeof(n.name), "unterminated-%d", (int)getpid());
	kmq_st_attach_init(&n, KMQ_ST_SEG_SIZE, KMQ_ST_RING,
			   KMQ_FLUSH_MODE_ASYNC);
	memset(self->pages, 'p', PAGE);
	n.att.path = (uintptr_t)(self->pages + PAGE - 100);
	EXPECT_EQ(-EFAULT, kmq_st_attach(&n));
	close(n.fd);
}

/* --- unprivileged callers ------------------------------------------------ */

enum {
	U_ATTACH, U_BIND, U_DETACH, U_TOPIC_SET, U_TOPIC_DEL, U_INFO,
	U_APPEND, U_READ, U_N
};

TEST_F(bi, unprivileged_eperm)
{
	int res[U_N], pfd[2], fd2, status;
	pid_t pid;

	fd2 = kmq_st_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kmq_store_info si;
		struct kmq_attach a;
		struct kmq_read r;

		close(pfd[0]);
		if (kmq_st_drop_privs())
			_exit(2);
		/* Attaching a store opens files: CAP_SYS_ADMIN only. */
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.flags = KMQ_ATTACH_CREATE;
		a.dirfd = AT_FDCWD;
		a.path = (uintptr_t)"/tmp/kmq-unpriv-store";
		snprintf(a.name, sizeof(a.name), "unpriv");
		a.segment_size = 1 << 20;
		a.ring_segments = 4;
		res[U_ATTACH] = kmq_st_ioctl(fd2, KMQ_IOC_ATTACH, &a);
		/* Binding to an attached one needs only the device. */
		prep_attach(&self->c, &a);
		res[U_BIND] = kmq_st_ioctl(fd2, KMQ_IOC_ATTACH, &a);
		res[U_DETACH] = kmq_st_detach(self->s.fd, self->s.name);
		/* A broker bound to its store manages its topics. */
		res[U_TOPIC_SET] = kmq_st_topic(self->s.fd, "Unpriv", 1);
		res[U_TOPIC_DEL] = kmq_st_topic_del(self->s.fd, "Unpriv");
		res[U_INFO] = kmq_st_store_info(self->s.fd, &si);
		res[U_APPEND] = kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 0,
						   1, 10, NULL);
		kmq_st_read_init(&r, KMQ_ST_TOPIC, 1, 0, self->c.rbuf,
				 KMQ_ST_BUF, 8);
		res[U_READ] = kmq_st_read(self->s.fd, &r);
		_exit(write(pfd[1], res, sizeof(res)) == sizeof(res) ? 0 : 3);
	}
	close(pfd[1]);
	ASSERT_EQ(sizeof(res), read(pfd[0], res, sizeof(res)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-EPERM, res[U_ATTACH]);
	EXPECT_EQ(0, res[U_BIND]);
	EXPECT_EQ(-EPERM, res[U_DETACH]);
	EXPECT_EQ(0, res[U_TOPIC_SET]);
	EXPECT_EQ(0, res[U_TOPIC_DEL]);
	/* The fd it was given still works for data. */
	EXPECT_EQ(0, res[U_INFO]);
	EXPECT_EQ(0, res[U_APPEND]);
	EXPECT_EQ(0, res[U_READ]);
	close(fd2);
	close(pfd[0]);
}

/* --- nothing uninitialised comes back ------------------------------------ */

static int zero_after_nul(const char *s, size_t n)
{
	size_t len = strnlen(s, n), k;

	for (k = len; k < n; k++)
		if (s[k])
			return 0;
	return 1;
}

TEST_F(bi, outputs_fully_written)
{
	struct kmq_store_info si;
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_read r;
	struct kmq_queue_info qi;
	char body[8] = "abcdefg";

	memset(&si, 0xaa, sizeof(si));
	si.size = sizeof(si);
	si.flags = 0;
	si.__rsvd = 0;
	ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_STORE_INFO, &si));
	EXPECT_TRUE(zero_after_nul(si.name, sizeof(si.name)));
	EXPECT_EQ(0, si.__rsvd);
	EXPECT_NE(0xaaaaaaaaaaaaaaaaull, si.errors);
	EXPECT_NE(0xaaaaaaaaaaaaaaaaull, si.copy_bytes);
	EXPECT_NE(0xaaaaaaaaaaaaaaaaull, si.splice_bytes);

	memset(&res, 0xaa, sizeof(res));
	kmq_st_msg(&m, KMQ_ST_TOPIC, 0, body, sizeof(body), NULL);
	ASSERT_EQ(0, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	EXPECT_EQ(0, res.__rsvd);
	EXPECT_TRUE(zero_after_nul(res.msg_id, sizeof(res.msg_id)));

	memset(&r, 0xaa, sizeof(r));
	kmq_st_read_init(&r, KMQ_ST_TOPIC, 0, 0, self->c.rbuf, KMQ_ST_BUF, 8);
	ASSERT_EQ(0, kmq_st_read(self->s.fd, &r));
	EXPECT_EQ(0, r.__rsvd);

	memset(&qi, 0xaa, sizeof(qi));
	ASSERT_EQ(0, kmq_st_queue_info(self->s.fd, KMQ_ST_TOPIC, 0, &qi));
	EXPECT_EQ(0, qi.__rsvd);
	EXPECT_NE(0xaaaaaaaaaaaaaaaaull, qi.min_store_ts);
}

TEST_HARNESS_MAIN
