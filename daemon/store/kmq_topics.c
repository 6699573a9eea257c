// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_topics.c - the store's topic table and config/topics.json.
 *
 * topics.json has RocketMQ's shape ({"topicConfigTable": {name: {...}},
 * "dataVersion": {...}}) so a broker's existing file is read as it is.
 * Each change rewrites the file atomically.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kmq_store_int.h"

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

static int kmq_topics_save(struct kmq_store *s)
{
	json_t *root = json_object(), *table = json_object(), *ver;
	struct kmq_topic *t;
	char *text = NULL;
	int ret = -ENOMEM, dfd;
	uint32_t b;

	if (!root || !table)
		goto out;
	for (b = 0; b < KMQ_TOPIC_BUCKETS; b++) {
		for (t = s->topics[b]; t; t = t->next) {
			json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:s, s:i, s:b}",
					      "topicName", t->name,
					      "readQueueNums", (int)t->read_queues,
					      "writeQueueNums", (int)t->write_queues,
					      "perm", (int)t->perm,
					      "topicFilterType", "SINGLE_TAG",
					      "topicSysFlag", 0,
					      "order", 0);

			if (!o || json_object_set_new(table, t->name, o))
				goto out;
		}
	}
	s->topics_version++;
	ver = json_pack("{s:I, s:I}", "timestamp", (json_int_t)kmq_now_ms(),
			"counter", (json_int_t)s->topics_version);
	if (!ver || json_object_set_new(root, "dataVersion", ver) ||
	    json_object_set(root, "topicConfigTable", table))
		goto out;
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		goto out;
	dfd = openat(s->root_fd, "config", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		goto out;
	}
	ret = kmq_write_file_atomic(dfd, "topics.json", text, strlen(text));
	close(dfd);
	if (ret)
		kmq_err(ret, "write %s/config/topics.json: %s", s->root,
			strerror(-ret));
out:
	free(text);
	json_decref(table);
	json_decref(root);
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

int kmq_topics_load(struct kmq_store *s)
{
	char path[512];
	json_error_t jerr;
	json_t *root, *table, *o;
	const char *name;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/config/topics.json", s->root);
	if (access(path, F_OK))
		return 0;
	root = json_load_file(path, 0, &jerr);
	if (!root)
		return kmq_err(-KMQ_ECORRUPT, "%s:%d: %s", path, jerr.line,
			       jerr.text);
	table = json_object_get(root, "topicConfigTable");
	if (!json_is_object(table)) {
		json_decref(root);
		return kmq_err(-KMQ_ECORRUPT, "%s: no topicConfigTable", path);
	}
	json_object_foreach(table, name, o) {
		json_int_t r = json_integer_value(json_object_get(o, "readQueueNums"));
		json_int_t w = json_integer_value(json_object_get(o, "writeQueueNums"));
		uint32_t len, n = r > w ? r : w;
		struct kmq_topic *t;

		if (kmq_topic_name_check(name, &len) || n > KMQ_QUEUES_MAX) {
			ret = kmq_err(-KMQ_ECORRUPT, "%s: bad topic entry %s",
				      path, name);
			break;
		}
		t = kmq_topic_add(s, name, len, n);
		if (!t) {
			ret = -ENOMEM;
			break;
		}
		t->read_queues = r;
		t->write_queues = w;
		if (json_is_integer(json_object_get(o, "perm")))
			t->perm = json_integer_value(json_object_get(o, "perm")) &
				  (KMQ_PERM_READ | KMQ_PERM_WRITE);
		ret = kmq_topic_load_queues(s, t);
		if (ret)
			break;
	}
	json_decref(root);
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

int kmq_store_topic_create(struct kmq_store *s, const char *topic,
			   uint32_t queues)
{
	struct kmq_topic *t;
	uint32_t len, old = 0;
	int ret;

	ret = kmq_topic_name_check(topic, &len);
	if (ret)
		return ret;
	if (!queues || queues > KMQ_QUEUES_MAX)
		return kmq_err(-EINVAL, "topic %s: queue count %u not in 1..%d",
			       topic, queues, KMQ_QUEUES_MAX);
	pthread_mutex_lock(&s->lock);
	t = kmq_topic_find(s, topic, len);
	if (t) {
		old = t->nqueues;
		t->nqueues = queues;
		t->read_queues = queues;
		t->write_queues = queues;
	} else {
		t = kmq_topic_add(s, topic, len, queues);
		if (!t) {
			pthread_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
	}
	ret = kmq_topics_save(s);
	if (ret && old) {
		t->nqueues = old;
		t->read_queues = old;
		t->write_queues = old;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void kmq_topic_fill(const struct kmq_topic *t, struct kmq_topic_info *ti)
{
	memcpy(ti->name, t->name, t->name_len + 1);
	ti->read_queues = t->read_queues;
	ti->write_queues = t->write_queues;
	ti->perm = t->perm;
}

int kmq_store_topic_config(struct kmq_store *s, const struct kmq_topic_info *ti)
{
	uint32_t len, n = ti->read_queues > ti->write_queues ?
			  ti->read_queues : ti->write_queues;
	struct kmq_topic *t, saved;
	int ret;

	ret = kmq_topic_name_check(ti->name, &len);
	if (ret)
		return ret;
	if (!n || n > KMQ_QUEUES_MAX)
		return kmq_err(-EINVAL, "topic %s: queue counts %u/%u not in 1..%d",
			       ti->name, ti->read_queues, ti->write_queues,
			       KMQ_QUEUES_MAX);
	if (ti->perm & ~(KMQ_PERM_READ | KMQ_PERM_WRITE))
		return kmq_err(-EINVAL, "topic %s: perm %u has unknown bits",
			       ti->name, ti->perm);
	pthread_mutex_lock(&s->lock);
	t = kmq_topic_find(s, ti->name, len);
	if (!t) {
		t = kmq_topic_add(s, ti->name, len, n);
		if (!t) {
			pthread_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
	}
	saved = *t;
	t->nqueues = n;
	t->read_queues = ti->read_queues;
	t->write_queues = ti->write_queues;
	t->perm = ti->perm;
	ret = kmq_topics_save(s);
	if (ret) {
		t->nqueues = saved.nqueues;
		t->read_queues = saved.read_queues;
		t->write_queues = saved.write_queues;
		t->perm = saved.perm;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
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
