// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * fuzz_topicfile.c - libFuzzer target: the topics.json reader on any
 * bytes. It must return 0 or one of its own codes, hand over only legal
 * topics, do so only for a valid document, stop when the callback says
 * so, and agree with the writer: what it read, written again (sorted,
 * last of a repeated name kept), reads back the same.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_topicfile.h"

#define CHECK(cond)					\
	do {						\
		if (!(cond))				\
			__builtin_trap();		\
	} while (0)

#define MAXE	256

struct coll {
	__u32 n;
	__u32 stop_at;
	struct kmq_topicfile_entry e[MAXE];
};

static bool legal(const char *s)
{
	size_t n = strnlen(s, KMQ_TOPICFILE_NAME_SIZE), i;

	if (!n || n >= KMQ_TOPICFILE_NAME_SIZE)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("%|_-", s[i]) &&
		    !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9'))
			return false;
	return true;
}

static int collect(void *arg, const struct kmq_topicfile_entry *e)
{
	struct coll *c = arg;
	size_t i;

	CHECK(legal(e->name));
	for (i = strlen(e->name); i < sizeof(e->name); i++)
		CHECK(!e->name[i]);
	CHECK(e->read_queues <= KMQ_TOPICFILE_VALUE_MAX);
	CHECK(e->write_queues <= KMQ_TOPICFILE_VALUE_MAX);
	CHECK(e->perm <= KMQ_TOPICFILE_VALUE_MAX);
	if (c->n < MAXE)
		c->e[c->n] = *e;
	c->n++;
	return c->stop_at && c->n == c->stop_at ? 1000 : 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct kmq_topicfile_entry *)a)->name,
		      ((const struct kmq_topicfile_entry *)b)->name);
}

/* Sort by name keeping, for a repeated name, the last one read. */
static __u32 sort_last_wins(struct kmq_topicfile_entry *e, __u32 n)
{
	__u32 i, k = 0;

	for (i = 0; i < n; i++) {
		__u32 j;

		for (j = 0; j < k; j++)
			if (!strcmp(e[j].name, e[i].name))
				break;
		e[j] = e[i];
		if (j == k)
			k++;
	}
	qsort(e, k, sizeof(e[0]), cmp_entry);
	return k;
}

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	static struct coll c, c2;
	__u32 len = size > 0xffffff ? 0xffffff : (__u32)size;
	char *in = malloc(len ? len : 1), *out;
	int ret, need, n;
	__u32 i;

	CHECK(in);
	memcpy(in, data, len);
	memset(&c, 0, sizeof(c));
	ret = kmq_topicfile_parse(in, len, collect, &c);
	CHECK(kmq_topicfile_parse(in, len, NULL, NULL) == ret);
	if (ret) {
		CHECK(ret <= -KMQ_TF_EBASE && ret > -KMQ_TF_ELAST);
		CHECK(ret != -KMQ_TF_ENOSPACE && ret != -KMQ_TF_EORDER &&
		      ret != -KMQ_TF_ETOOBIG);
		CHECK(c.n == 0);
		free(in);
		return 0;
	}

	/* The callback stops the walk. */
	if (c.n) {
		memset(&c2, 0, sizeof(c2));
		c2.stop_at = (c.n + 1) / 2;
		CHECK(kmq_topicfile_parse(in, len, collect, &c2) == 1000);
		CHECK(c2.n == c2.stop_at);
	}
	free(in);
	if (c.n > MAXE)
		return 0;

	/* Written again and read back: the same topics. */
	n = sort_last_wins(c.e, c.n);
	need = kmq_topicfile_emit(NULL, 0, c.e, n, 1, 2);
	CHECK(need > 0);
	out = malloc(need);
	CHECK(out);
	CHECK(kmq_topicfile_emit(out, need - 1, c.e, n, 1, 2) ==
	      -KMQ_TF_ENOSPACE);
	CHECK(kmq_topicfile_emit(out, need, c.e, n, 1, 2) == need);
	memset(&c2, 0, sizeof(c2));
	CHECK(kmq_topicfile_parse(out, need, collect, &c2) == 0);
	CHECK(c2.n == (__u32)n);
	for (i = 0; i < c2.n; i++)
		CHECK(!memcmp(&c2.e[i], &c.e[i], sizeof(c.e[i])));
	free(out);
	return 0;
}
