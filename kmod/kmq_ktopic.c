// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_ktopic.c - the store's topic table and config/topics.json.
 *
 * Topics sit in an rbtree by name (strcmp order, which TOPIC_LIST pages
 * through), each with its queues, created on first use. The table is
 * persisted in RocketMQ's shape through the shared codec
 * (uapi/kmq_topicfile.h), the file replaced atomically on every change,
 * so the userspace store and a RocketMQ broker read it as it is.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kmq.h"
#include "kmq_topicfile.h"

/* Topics copied per TOPIC_LIST call at most (the caller pages on). */
#define KMQ_TOPIC_LIST_BATCH	256

/**
 * kmq_topic_find() - the topic called @name (s->lock held).
 * @s: store
 * @name: NUL-terminated name
 *
 * Return: the topic (no reference taken), or NULL.
 */
struct kmq_ktopic *kmq_topic_find(struct kmq_kstore *s, const char *name)
{
	struct rb_node *n = s->topics.rb_node;

	while (n) {
		struct kmq_ktopic *t = rb_entry(n, struct kmq_ktopic, node);
		int c = strcmp(name, t->name);

		if (!c)
			return t;
		n = c < 0 ? n->rb_left : n->rb_right;
	}
	return NULL;
}

/**
 * kmq_topic_get() - the topic called @name, with a reference.
 * @s: store
 * @name: NUL-terminated name
 *
 * Return: the topic (kmq_topic_put() it), or NULL.
 */
struct kmq_ktopic *kmq_topic_get(struct kmq_kstore *s, const char *name)
{
	struct kmq_ktopic *t;

	mutex_lock(&s->lock);
	t = kmq_topic_find(s, name);
	if (t)
		kref_get(&t->ref);
	mutex_unlock(&s->lock);
	return t;
}

static void kmq_topic_release(struct kref *ref)
{
	struct kmq_ktopic *t = container_of(ref, struct kmq_ktopic, ref);
	u32 i;

	for (i = 0; i < t->nallocated; i++) {
		if (!t->queues[i])
			continue;
		kmq_cq_free(t->queues[i]);
		kfree(t->queues[i]);
	}
	kvfree(t->queues);
	kfree(t);
}

void kmq_topic_put(struct kmq_ktopic *t)
{
	kref_put(&t->ref, kmq_topic_release);
}

/**
 * kmq_queue_get() - queue @qid of @t, created on first use (s->lock
 * held). Queues live as long as their topic.
 * @t: topic
 * @qid: queue id, below KMQ_QUEUES_MAX
 * @err: out: the error when NULL is returned
 *
 * Return: the queue, or NULL.
 */
struct kmq_kqueue *kmq_queue_get(struct kmq_ktopic *t, u32 qid, int *err)
{
	struct kmq_kqueue *q;

	if (qid >= KMQ_QUEUES_MAX) {
		*err = -ERANGE;
		return NULL;
	}
	if (qid >= t->nallocated) {
		u32 n = max(qid + 1, t->nqueues);
		struct kmq_kqueue **nq;

		nq = kvcalloc(n, sizeof(*nq), GFP_KERNEL);
		if (!nq) {
			*err = -ENOMEM;
			return NULL;
		}
		if (t->nallocated)
			memcpy(nq, t->queues, t->nallocated * sizeof(*nq));
		kvfree(t->queues);
		t->queues = nq;
		t->nallocated = n;
	}
	q = t->queues[qid];
	if (q)
		return q;
	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q) {
		*err = -ENOMEM;
		return NULL;
	}
	q->topic = t;
	INIT_LIST_HEAD(&q->evt_node);
	q->id = qid;
	t->queues[qid] = q;
	return q;
}

static struct kmq_ktopic *kmq_topic_alloc(const char *name, u32 len)
{
	struct kmq_ktopic *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return NULL;
	kref_init(&t->ref);
	memcpy(t->name, name, len);
	t->name_len = len;
	RB_CLEAR_NODE(&t->node);
	return t;
}

/* Link @t into the tree (s->lock held; the name is not there). */
static void kmq_topic_link(struct kmq_kstore *s, struct kmq_ktopic *t)
{
	struct rb_node **p = &s->topics.rb_node, *parent = NULL;

	while (*p) {
		struct kmq_ktopic *o = rb_entry(*p, struct kmq_ktopic, node);

		parent = *p;
		p = strcmp(t->name, o->name) < 0 ? &(*p)->rb_left :
						   &(*p)->rb_right;
	}
	rb_link_node(&t->node, parent, p);
	rb_insert_color(&t->node, &s->topics);
	s->ntopics++;
}

static void kmq_topic_unlink(struct kmq_kstore *s, struct kmq_ktopic *t)
{
	u32 i;

	/* No event may name its queues once it is gone. */
	for (i = 0; i < t->nallocated; i++)
		if (t->queues[i])
			list_del_init(&t->queues[i]->evt_node);
	rb_erase(&t->node, &s->topics);
	RB_CLEAR_NODE(&t->node);
	s->ntopics--;
	t->deleted = true;
}

static void kmq_topic_conf(struct kmq_ktopic *t, u32 rq, u32 wq, u32 perm)
{
	t->read_queues = rq;
	t->write_queues = wq;
	t->perm = perm;
	t->nqueues = max(rq, wq);
}

/*
 * Rewrite config/topics.json from the table (append_mutex held, so the
 * table only changes through the caller).
 */
static int kmq_topics_save(struct kmq_kstore *s)
{
	struct kmq_topicfile_entry *e;
	struct rb_node *n;
	u32 cnt = 0;
	char *buf;
	int len, ret;

	mutex_lock(&s->lock);
	e = kvmalloc_array(max(s->ntopics, 1U), sizeof(*e), GFP_KERNEL);
	if (e) {
		for (n = rb_first(&s->topics); n; n = rb_next(n)) {
			struct kmq_ktopic *t = rb_entry(n, struct kmq_ktopic,
							node);

			memcpy(e[cnt].name, t->name, sizeof(e[cnt].name));
			e[cnt].read_queues = t->read_queues;
			e[cnt].write_queues = t->write_queues;
			e[cnt].perm = t->perm;
			cnt++;
		}
	}
	s->topics_version++;
	mutex_unlock(&s->lock);
	if (!e)
		return -ENOMEM;

	len = kmq_topicfile_emit(NULL, 0, e, cnt, kmq_now_ms(),
				 s->topics_version);
	if (len < 0 || len > KMQ_TOPICS_FILE_MAX) {
		pr_warn("%s: topics.json: %s\n", s->name,
			len < 0 ? kmq_topicfile_strerror(len) : "too big");
		kvfree(e);
		return -EINVAL;
	}
	buf = kvmalloc(len + 1, GFP_KERNEL);
	if (!buf) {
		kvfree(e);
		return -ENOMEM;
	}
	ret = kmq_topicfile_emit(buf, len + 1, e, cnt, kmq_now_ms(),
				 s->topics_version);
	kvfree(e);
	if (ret >= 0)
		ret = kmq_vfs_write_atomic(s, "config", "topics.json", buf,
					   ret);
	else
		ret = -EINVAL;
	kvfree(buf);
	if (ret)
		pr_warn("%s: write config/topics.json: %d\n", s->name, ret);
	return ret;
}

/**
 * kmq_topic_set() - create a topic or change it (TOPIC_SET): in
 * topics.json before this returns.
 * @s: store
 * @kt: the request, validated (name, counts, perm)
 *
 * Return: 0 or -errno (the table is unchanged then).
 */
int kmq_topic_set(struct kmq_kstore *s, const struct kmq_topic *kt)
{
	struct kmq_ktopic *t, *fresh;
	u32 orq = 0, owq = 0, operm = 0;
	bool created = false;
	int ret;

	fresh = kmq_topic_alloc(kt->name, strlen(kt->name));
	if (!fresh)
		return -ENOMEM;
	mutex_lock(&s->append_mutex);
	mutex_lock(&s->lock);
	t = kmq_topic_find(s, kt->name);
	if (!t) {
		t = fresh;
		fresh = NULL;
		created = true;
		kmq_topic_link(s, t);
	} else {
		orq = t->read_queues;
		owq = t->write_queues;
		operm = t->perm;
	}
	kmq_topic_conf(t, kt->read_queues, kt->write_queues, kt->perm);
	mutex_unlock(&s->lock);

	ret = kmq_topics_save(s);
	if (ret) {
		mutex_lock(&s->lock);
		if (created)
			kmq_topic_unlink(s, t);
		else
			kmq_topic_conf(t, orq, owq, operm);
		mutex_unlock(&s->lock);
		if (created)
			kmq_topic_put(t);
	}
	mutex_unlock(&s->append_mutex);
	if (fresh)
		kmq_topic_put(fresh);
	return ret;
}

/**
 * kmq_topic_del() - remove a topic and its consume queues (TOPIC_DEL).
 * @s: store
 * @name: valid topic name
 *
 * Return: 0, -ENOENT, or the error of rewriting topics.json (the topic
 * is gone from memory then too, as in the userspace store).
 */
int kmq_topic_del(struct kmq_kstore *s, const char *name)
{
	struct kmq_ktopic *t;
	char *rel;
	int ret;

	mutex_lock(&s->append_mutex);
	mutex_lock(&s->lock);
	t = kmq_topic_find(s, name);
	if (t)
		kmq_topic_unlink(s, t);
	mutex_unlock(&s->lock);
	if (!t) {
		mutex_unlock(&s->append_mutex);
		return -ENOENT;
	}
	ret = kmq_topics_save(s);
	rel = kasprintf(GFP_KERNEL, "consumequeue/%s", name);
	if (rel)
		kmq_vfs_rmtree(s, rel);
	kfree(rel);
	mutex_unlock(&s->append_mutex);
	kmq_topic_put(t);
	return ret;
}

static void kmq_topic_fill(const struct kmq_ktopic *t, struct kmq_topic *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->read_queues = t->read_queues;
	o->write_queues = t->write_queues;
	o->perm = t->perm;
	memcpy(o->name, t->name, sizeof(o->name));
}

/**
 * kmq_topic_list() - a page of the table, in name order, after
 * @tl->after (TOPIC_LIST).
 * @s: store
 * @tl: the request; count and total are filled
 *
 * Return: 0, -EFAULT or -ENOMEM.
 */
int kmq_topic_list(struct kmq_kstore *s, struct kmq_topic_list *tl)
{
	u32 max = min_t(u32, tl->max_entries, KMQ_TOPIC_LIST_BATCH);
	u8 __user *dst = u64_to_user_ptr(tl->entries);
	struct kmq_topic *page = NULL;
	struct rb_node *n;
	u32 cnt = 0, i;
	int ret = 0;

	if (max) {
		page = kvmalloc_array(max, sizeof(*page), GFP_KERNEL);
		if (!page)
			return -ENOMEM;
	}
	mutex_lock(&s->lock);
	for (n = rb_first(&s->topics); n && cnt < max; n = rb_next(n)) {
		struct kmq_ktopic *t = rb_entry(n, struct kmq_ktopic, node);

		if (tl->after[0] && strcmp(t->name, tl->after) <= 0)
			continue;
		kmq_topic_fill(t, &page[cnt++]);
	}
	tl->total = s->ntopics;
	mutex_unlock(&s->lock);

	for (i = 0; i < cnt; i++) {
		page[i].size = tl->entry_size;
		ret = kmq_put_entry(dst, tl->entry_size, &page[i],
				    sizeof(*page));
		if (ret)
			break;
		dst += tl->entry_size;
	}
	tl->count = i;
	kvfree(page);
	return ret;
}

static void kmq_queues_of(struct kmq_kstore *s, struct kmq_ktopic *t,
			  kmq_queue_fn fn, void *arg)
{
	u32 i;

	for (i = 0; i < t->nallocated; i++)
		if (t->queues[i])
			fn(s, t, t->queues[i], arg);
}

/**
 * kmq_queues_walk() - call @fn for every queue of every topic (s->lock
 * held, or no one else running).
 * @s: store
 * @fn: called per queue
 * @arg: for @fn
 */
void kmq_queues_walk(struct kmq_kstore *s, kmq_queue_fn fn, void *arg)
{
	struct rb_node *n;

	for (n = rb_first(&s->topics); n; n = rb_next(n))
		kmq_queues_of(s, rb_entry(n, struct kmq_ktopic, node), fn,
			      arg);
}

struct kmq_tload_ctx {
	struct kmq_kstore *s;
	struct kmq_ktopic *t;
};

static int kmq_topic_load_entry(void *arg, const struct kmq_topicfile_entry *e)
{
	struct kmq_kstore *s = arg;
	struct kmq_ktopic *t;
	int len;

	len = kmq_topic_name_len(e->name, sizeof(e->name));
	if (len < 0 || max(e->read_queues, e->write_queues) > KMQ_QUEUES_MAX) {
		pr_warn("%s: config/topics.json: bad topic entry %.127s\n",
			s->name, e->name);
		return -EUCLEAN;
	}
	t = kmq_topic_find(s, e->name);
	if (!t) {
		t = kmq_topic_alloc(e->name, len);
		if (!t)
			return -ENOMEM;
		kmq_topic_link(s, t);
	}
	kmq_topic_conf(t, e->read_queues, e->write_queues,
		       e->perm & KMQ_TOPIC_PERM_MASK);
	return 0;
}

static int kmq_topic_load_queue(void *arg, const char *name, u32 len,
				unsigned int type)
{
	struct kmq_tload_ctx *c = arg;
	struct kmq_kqueue *q;
	u32 qid = 0, i;
	int ret = 0;

	if (!len || len > 4)
		return 0;
	for (i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		qid = qid * 10 + name[i] - '0';
	}
	if (qid >= KMQ_QUEUES_MAX)
		return 0;
	mutex_lock(&c->s->lock);
	q = kmq_queue_get(c->t, qid, &ret);
	mutex_unlock(&c->s->lock);
	if (!q)
		return ret;
	return kmq_cq_load(c->s, c->t, q);
}

/**
 * kmq_topics_load() - read config/topics.json (absent: no topics) and
 * open the consume queues found under consumequeue/<topic>/.
 * @s: store, being attached
 *
 * Return: 0, -EUCLEAN for a damaged file, or -errno.
 */
int kmq_topics_load(struct kmq_kstore *s)
{
	struct rb_node *n;
	struct file *f;
	char *buf;
	u64 size;
	int ret;

	f = kmq_vfs_open(s, "config/topics.json", O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f) == -ENOENT ? 0 : PTR_ERR(f);
	size = kmq_vfs_size(f);
	if (size > KMQ_TOPICS_FILE_MAX) {
		fput(f);
		return -EFBIG;
	}
	buf = kvmalloc(size + 1, GFP_KERNEL);
	if (!buf) {
		fput(f);
		return -ENOMEM;
	}
	ret = kmq_vfs_read(f, buf, size, 0);
	fput(f);
	if (ret >= 0) {
		ret = kmq_topicfile_parse(buf, ret, kmq_topic_load_entry, s);
		if (ret <= -KMQ_TF_EBASE) {
			pr_warn("%s: config/topics.json: %s\n", s->name,
				kmq_topicfile_strerror(ret));
			ret = -EUCLEAN;
		}
	}
	kvfree(buf);
	if (ret)
		return ret;

	for (n = rb_first(&s->topics); n; n = rb_next(n)) {
		struct kmq_tload_ctx c = {
			.s = s,
			.t = rb_entry(n, struct kmq_ktopic, node),
		};
		char *rel = kasprintf(GFP_KERNEL, "consumequeue/%s",
				      c.t->name);

		if (!rel)
			return -ENOMEM;
		ret = kmq_vfs_readdir(s, rel, kmq_topic_load_queue, &c);
		kfree(rel);
		if (ret && ret != -ENOENT)
			return ret;
	}
	return 0;
}

/**
 * kmq_topics_free() - drop the table's references (detach).
 * @s: store
 */
void kmq_topics_free(struct kmq_kstore *s)
{
	struct rb_node *n;

	while ((n = rb_first(&s->topics))) {
		struct kmq_ktopic *t = rb_entry(n, struct kmq_ktopic, node);

		kmq_topic_unlink(s, t);
		kmq_topic_put(t);
	}
}
