// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_topics.c - the store's topic table and config/topics.json.
 *
 * topics.json has RocketMQ's shape ({"topicConfigTable": {name: {...}},
 * "dataVersion": {...}}) so a broker's existing file is read as it is.
 * It is read and written by uapi/kmq_topicfile.c, the codec kmq.ko uses
 * too, so both backends write the same bytes. Each change rewrites the
 * file atomically.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmq_store_int.h"
#include "kmq_topicfile.h"

#define KMQ_QUEUES_MAX	65535

static uint32_t kmq_topic_hash(const char *name, uint32_t len)
{
	uint32_t h = 2166136261u;
	uint32_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h % KMQ_TOPIC_BUCKETS;
}

/* kmq_topic_name_check() - RocketMQ's rule: [%|a-zA-Z0-9_-]{1,127}. */
int kmq_topic_name_check(const char *name, uint32_t *len)
{
	uint32_t i;

	if (!name)
		return kmq_err(-KMQ_EBADTOPIC, "topic name missing");
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= KMQ_TOPIC_MAX_V1)
			return kmq_err(-KMQ_EBADTOPIC,
				       "topic name longer than %d bytes",
				       KMQ_TOPIC_MAX_V1);
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '%' || c == '|' ||
		    c == '_' || c == '-')
			continue;
		return kmq_err(-KMQ_EBADTOPIC,
			       "topic name has illegal character 0x%02x at %u",
			       (uint8_t)c, i);
	}
	if (!i)
		return kmq_err(-KMQ_EBADTOPIC, "topic name is empty");
	*len = i;
	return 0;
}

struct kmq_topic *kmq_topic_find(struct kmq_store *s, const char *name,
				 uint32_t len)
{
	struct kmq_topic *t = s->topics[kmq_topic_hash(name, len)];

	for (; t; t = t->next)
		if (t->name_len == len && !memcmp(t->name, name, len))
			return t;
	return NULL;
}

/* kmq_queue_get() - the queue @qid of @t, created in memory on first use. */
struct kmq_queue *kmq_queue_get(struct kmq_store *s, struct kmq_topic *t,
				uint32_t qid, int *err)
{
	struct kmq_queue *q;

	if (qid >= KMQ_QUEUES_MAX) {
		*err = kmq_err(-KMQ_EBADQUEUE, "queue %u of %s out of range",
			       qid, t->name);
		return NULL;
	}
	if (qid >= t->nallocated) {
		uint32_t n = qid + 1 > t->nqueues ? qid + 1 : t->nqueues;
		struct kmq_queue **nq = realloc(t->queues, n * sizeof(*nq));

		if (!nq) {
			*err = -ENOMEM;
			return NULL;
		}
		memset(nq + t->nallocated, 0,
		       (n - t->nallocated) * sizeof(*nq));
		t->queues = nq;
		t->nallocated = n;
	}
	q = t->queues[qid];
	if (q)
		return q;
	q = calloc(1, sizeof(*q));
	if (!q) {
		*err = -ENOMEM;
		return NULL;
	}
	q->topic = t;
	q->id = qid;
	t->queues[qid] = q;
	return q;
}

static struct kmq_topic *kmq_topic_add(struct kmq_store *s, const char *name,
				       uint32_t len, uint32_t queues)
{
	struct kmq_topic *t = calloc(1, sizeof(*t));
	uint32_t b = kmq_topic_hash(name, len);

	if (!t)
		return NULL;
	memcpy(t->name, name, len);
	t->name_len = len;
	t->nqueues = queues;
	t->read_queues = queues;
	t->write_queues = queues;
	t->perm = KMQ_PERM_READ | KMQ_PERM_WRITE;
	t->next = s->topics[b];
	s->topics[b] = t;
	s->ntopics++;
	return t;
}

static void kmq_topic_free(struct kmq_topic *t)
{
	uint32_t i;

	for (i = 0; i < t->nallocated; i++) {
		if (!t->queues[i])
			continue;
		kmq_cq_free(t->queues[i]);
		free(t->queues[i]);
	}
	free(t->queues);
	free(t);
}

void kmq_queues_walk(struct kmq_store *s, kmq_queue_fn fn, void *arg)
{
	struct kmq_topic *t;
	uint32_t b, i;

	for (b = 0; b < KMQ_TOPIC_BUCKETS; b++) {
		for (t = s->topics[b]; t; t = t->next) {
			for (i = 0; i < t->nallocated; i++) {
				if (t->queues[i])
					fn(s, t->queues[i], arg);
			}
		}
	}
}

static int kmq_topic_entry_cmp(const void *a, const void *b)
{
	const struct kmq_topicfile_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * kmq_topics_save() - rewrite config/topics.json from the table, through
 * the codec the module shares (uapi/kmq_topicfile.h), topics sorted by
 * name as the codec wants them.
 */
static int kmq_topics_save(struct kmq_store *s)
{
	struct kmq_topicfile_entry *e;
	struct kmq_topic *t;
	char *text = NULL;
	uint32_t b, n = 0;
	uint64_t ts;
	int ret, len, dfd;

	e = calloc(s->ntopics ? s->ntopics : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (b = 0; b < KMQ_TOPIC_BUCKETS; b++) {
		for (t = s->topics[b]; t && n < s->ntopics; t = t->next) {
			memcpy(e[n].name, t->name, t->name_len + 1);
			e[n].read_queues = t->read_queues;
			e[n].write_queues = t->write_queues;
			e[n].perm = t->perm;
			n++;
		}
	}
	qsort(e, n, sizeof(*e), kmq_topic_entry_cmp);
	s->topics_version++;
	ts = kmq_now_ms();
	len = kmq_topicfile_emit(NULL, 0, e, n, ts, s->topics_version);
	if (len >= 0) {
		text = malloc(len);
		if (!text) {
			ret = -ENOMEM;
			goto out;
		}
		len = kmq_topicfile_emit(text, len, e, n, ts,
					 s->topics_version);
	}
	if (len < 0) {
		ret = kmq_err(-EINVAL, "write %s/config/topics.json: %s",
			      s->root, kmq_topicfile_strerror(len));
		goto out;
	}
	dfd = openat(s->root_fd, "config", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		goto out;
	}
	ret = kmq_write_file_atomic(dfd, "topics.json", text, len);
	close(dfd);
	if (ret)
		kmq_err(ret, "write %s/config/topics.json: %s", s->root,
			strerror(-ret));
out:
	free(text);
	free(e);
	return ret;
}

/* Load the queues found under consumequeue/<topic>/. */
static int kmq_topic_load_queues(struct kmq_store *s, struct kmq_topic *t)
{
	char path[512];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/consumequeue/%s", s->root, t->name);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		struct kmq_queue *q;
		char *end;
		unsigned long qid;

		if (de->d_name[0] == '.')
			continue;
		qid = strtoul(de->d_name, &end, 10);
		if (*end || end == de->d_name || qid >= KMQ_QUEUES_MAX)
			continue;
		q = kmq_queue_get(s, t, qid, &ret);
		if (!q)
			break;
		ret = kmq_cq_load(s, q);
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}

/* The largest topics.json read: far more than RocketMQ's topic limits. */
#define KMQ_TOPICS_FILE_MAX	(256u << 20)

/* Read all of @path into a new buffer. Return: 0, -errno, -KMQ_ECORRUPT. */
static int kmq_topics_read(const char *path, char **buf, uint32_t *len)
{
	struct stat st;
	size_t done = 0;
	char *p;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (st.st_size > KMQ_TOPICS_FILE_MAX) {
		ret = kmq_err(-KMQ_ECORRUPT, "%s: %lld bytes, more than %u",
			      path, (long long)st.st_size,
			      KMQ_TOPICS_FILE_MAX);
		goto out;
	}
	p = malloc(st.st_size ? st.st_size : 1);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, p + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n ? -errno : kmq_err(-KMQ_ECORRUPT,
						   "%s: shrank while read",
						   path);
			free(p);
			goto out;
		}
		done += n;
	}
	*buf = p;
	*len = done;
out:
	close(fd);
	return ret;
}

struct kmq_topics_loader {
	struct kmq_store *s;
	const char *path;
};

/*
 * A topic read from topics.json: added to the table with its queues.
 * A name the file holds twice keeps the last entry, as RocketMQ does.
 */
static int kmq_topics_load_one(void *arg, const struct kmq_topicfile_entry *e)
{
	struct kmq_topics_loader *l = arg;
	struct kmq_store *s = l->s;
	uint32_t n = e->read_queues > e->write_queues ?
		     e->read_queues : e->write_queues;
	uint32_t len = strlen(e->name);
	struct kmq_topic *t;
	bool added = false;

	if (n > KMQ_QUEUES_MAX)
		return kmq_err(-KMQ_ECORRUPT,
			       "%s: topic %s: %u queues, more than %d",
			       l->path, e->name, n, KMQ_QUEUES_MAX);
	t = kmq_topic_find(s, e->name, len);
	if (!t) {
		t = kmq_topic_add(s, e->name, len, n);
		if (!t)
			return -ENOMEM;
		added = true;
	}
	t->nqueues = n;
	t->read_queues = e->read_queues;
	t->write_queues = e->write_queues;
	t->perm = e->perm & (KMQ_PERM_READ | KMQ_PERM_WRITE);
	return added ? kmq_topic_load_queues(s, t) : 0;
}

int kmq_topics_load(struct kmq_store *s)
{
	struct kmq_topics_loader l = { .s = s };
	char path[512];
	char *text = NULL;
	uint32_t len = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/config/topics.json", s->root);
	l.path = path;
	ret = kmq_topics_read(path, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	ret = kmq_topicfile_parse(text, len, kmq_topics_load_one, &l);
	free(text);
	if (ret <= -KMQ_TF_EBASE && ret > -KMQ_TF_ELAST)
		return kmq_err(-KMQ_ECORRUPT, "%s: %s", path,
			       kmq_topicfile_strerror(ret));
	return ret;
}

void kmq_topics_free(struct kmq_store *s)
{
	uint32_t b;

	for (b = 0; b < KMQ_TOPIC_BUCKETS; b++) {
		while (s->topics[b]) {
			struct kmq_topic *t = s->topics[b];

			s->topics[b] = t->next;
			kmq_topic_free(t);
		}
	}
	s->ntopics = 0;
}

int kmq_store_topic_check(const struct kmq_topic_info *ti,
			  uint32_t max_queues)
{
	uint32_t len, n = ti->read_queues > ti->write_queues ?
			  ti->read_queues : ti->write_queues;
	int ret = kmq_topic_name_check(ti->name, &len);

	if (ret)
		return ret;
	if (!n || n > max_queues)
		return kmq_err(-EINVAL, "topic %s: queue counts %u/%u not in 1..%u",
			       ti->name, ti->read_queues, ti->write_queues,
			       max_queues);
	if (ti->perm & ~(KMQ_PERM_READ | KMQ_PERM_WRITE))
		return kmq_err(-EINVAL, "topic %s: perm %u has unknown bits",
			       ti->name, ti->perm);
	return 0;
}

/*
 * Create or update a topic from @ti (checked), keeping an existing
 * topic's perm if @keep_perm, and write topics.json; on a failed write
 * the table is as it was.
 */
static int kmq_topic_apply(struct kmq_store *s, const struct kmq_topic_info *ti,
			   bool keep_perm)
{
	uint32_t len = strlen(ti->name), n = ti->read_queues > ti->write_queues ?
		       ti->read_queues : ti->write_queues;
	struct kmq_topic *t, saved, **pp;
	bool added = false;
	int ret;

	pthread_mutex_lock(&s->lock);
	t = kmq_topic_find(s, ti->name, len);
	if (!t) {
		t = kmq_topic_add(s, ti->name, len, n);
		if (!t) {
			pthread_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
		added = true;
	}
	saved = *t;
	t->nqueues = n;
	t->read_queues = ti->read_queues;
	t->write_queues = ti->write_queues;
	if (!keep_perm || added)
		t->perm = ti->perm;
	ret = kmq_topics_save(s);
	if (ret && added) {
		/* Not in topics.json: it must not outlive a restart either. */
		for (pp = &s->topics[kmq_topic_hash(ti->name, len)]; *pp != t;
		     pp = &(*pp)->next)
			;
		*pp = t->next;
		s->ntopics--;
		kmq_topic_free(t);
	} else if (ret) {
		t->nqueues = saved.nqueues;
		t->read_queues = saved.read_queues;
		t->write_queues = saved.write_queues;
		t->perm = saved.perm;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int kmq_store_topic_create(struct kmq_store *s, const char *topic,
			   uint32_t queues)
{
	struct kmq_topic_info ti = {
		.read_queues = queues,
		.write_queues = queues,
		.perm = KMQ_PERM_READ | KMQ_PERM_WRITE,
	};
	uint32_t len;
	int ret;

	ret = kmq_topic_name_check(topic, &len);
	if (ret)
		return ret;
	memcpy(ti.name, topic, len + 1);
	ret = kmq_store_topic_check(&ti, KMQ_QUEUES_MAX);
	return ret ? ret : kmq_topic_apply(s, &ti, true);
}

int kmq_store_topic_config(struct kmq_store *s, const struct kmq_topic_info *ti)
{
	int ret = kmq_store_topic_check(ti, KMQ_QUEUES_MAX);

	return ret ? ret : kmq_topic_apply(s, ti, false);
}

static void kmq_topic_fill(const struct kmq_topic *t, struct kmq_topic_info *ti)
{
	memcpy(ti->name, t->name, t->name_len + 1);
	ti->read_queues = t->read_queues;
	ti->write_queues = t->write_queues;
	ti->perm = t->perm;
}

int kmq_store_topic_info(struct kmq_store *s, const char *topic,
			 struct kmq_topic_info *out)
{
	struct kmq_topic *t;
	uint32_t len;
	int ret;

	ret = kmq_topic_name_check(topic, &len);
	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	t = kmq_topic_find(s, topic, len);
	if (t)
		kmq_topic_fill(t, out);
	pthread_mutex_unlock(&s->lock);
	return t ? 0 : kmq_err(-KMQ_ENOTOPIC, "topic %s does not exist", topic);
}

int kmq_store_topic_list_info(struct kmq_store *s,
			      void (*fn)(void *arg,
					 const struct kmq_topic_info *ti),
			      void *arg)
{
	struct kmq_topic_info ti;
	struct kmq_topic *t;
	uint32_t b;

	pthread_mutex_lock(&s->lock);
	for (b = 0; b < KMQ_TOPIC_BUCKETS; b++) {
		for (t = s->topics[b]; t; t = t->next) {
			kmq_topic_fill(t, &ti);
			fn(arg, &ti);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int kmq_store_topic_delete(struct kmq_store *s, const char *topic)
{
	struct kmq_topic **pp, *t;
	char path[512];
	uint32_t len;
	int ret;

	ret = kmq_topic_name_check(topic, &len);
	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	for (pp = &s->topics[kmq_topic_hash(topic, len)]; *pp;
	     pp = &(*pp)->next)
		if ((*pp)->name_len == len && !memcmp((*pp)->name, topic, len))
			break;
	t = *pp;
	if (!t) {
		pthread_mutex_unlock(&s->lock);
		return kmq_err(-KMQ_ENOTOPIC, "topic %s does not exist", topic);
	}
	*pp = t->next;
	s->ntopics--;
	ret = kmq_topics_save(s);
	kmq_topic_free(t);
	snprintf(path, sizeof(path), "%s/consumequeue/%s", s->root, topic);
	kmq_rmtree(path);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int kmq_store_topic_queues(struct kmq_store *s, const char *topic)
{
	struct kmq_topic *t;
	uint32_t len;
	int ret;

	ret = kmq_topic_name_check(topic, &len);
	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	t = kmq_topic_find(s, topic, len);
	ret = t ? (int)t->nqueues :
		  kmq_err(-KMQ_ENOTOPIC, "topic %s does not exist", topic);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int kmq_store_topic_list(struct kmq_store *s,
			 void (*fn)(void *arg, const char *topic,
				    uint32_t queues),
			 void *arg)
{
	struct kmq_topic *t;
	uint32_t b;

	pthread_mutex_lock(&s->lock);
	for (b = 0; b < KMQ_TOPIC_BUCKETS; b++)
		for (t = s->topics[b]; t; t = t->next)
			fn(arg, t->name, t->nqueues);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
