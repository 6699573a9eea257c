// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_offset_store.c - a consumer group's offsets (the next offset to
 * consume of each queue): kept in memory as messages are consumed, and
 * stored at the broker (clustering: QUERY_CONSUMER_OFFSET 14 and
 * UPDATE_CONSUMER_OFFSET 15) or in a local file (broadcasting, where every
 * consumer has its own progress):
 *
 *   {"offsetTable": [{"topic": "T", "brokerName": "b", "queueId": 0,
 *                     "offset": 12}, ...]}
 *
 * written whole to a temporary file, synced and renamed over the old one.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmq_consumer_int.h"

static bool kmqc_mq_eq(const struct kmq_mq *a, const struct kmq_mq *b)
{
	return a->queue_id == b->queue_id && !strcmp(a->topic, b->topic) &&
	       !strcmp(a->broker_name, b->broker_name);
}

/* ---- at the broker -------------------------------------------------- */

int kmqc_offset_query(struct kmq_client *c, const char *group,
		      const struct kmq_mq *mq, int64_t *offset)
{
	char addr[KMQ_ADDR_MAX + 1], qid[16];
	struct kmq_rmt_cmd req;
	struct kmqc_frame *f;
	int ret;

	ret = kmqc_broker_addr(c, mq->broker_name, addr, sizeof(addr));
	if (ret)
		return ret;
	snprintf(qid, sizeof(qid), "%d", mq->queue_id);
	ret = kmqc_req(c, &req, KMQ_REQ_QUERY_CONSUMER_OFFSET);
	if (!ret)
		ret = kmqc_exts(&req, "consumerGroup", group, "topic",
				mq->topic, "queueId", qid, NULL);
	if (!ret)
		ret = kmqc_call(c, addr, &req, NULL, 0, 0, &f);
	kmq_rmt_cmd_free(&req);
	if (ret)
		return ret;
	if (f->cmd.code == KMQ_RESP_QUERY_NOT_FOUND) {
		kmqc_frame_free(f);
		return -ENOENT;
	}
	if (f->cmd.code) {
		ret = kmqc_fail_resp(&f->cmd, "query consumer offset");
		kmqc_frame_free(f);
		return ret;
	}
	*offset = kmqc_ext_i64(f, "offset", -1);
	kmqc_frame_free(f);
	return *offset < 0 ? -ENOENT : 0;
}

int kmqc_offset_commit(struct kmq_client *c, const char *group,
		       const struct kmq_mq *mq, int64_t offset, bool sync)
{
	char addr[KMQ_ADDR_MAX + 1], qid[16], off[24];
	struct kmq_rmt_cmd req;
	int ret;

	ret = kmqc_broker_addr(c, mq->broker_name, addr, sizeof(addr));
	if (ret)
		return ret;
	snprintf(qid, sizeof(qid), "%d", mq->queue_id);
	snprintf(off, sizeof(off), "%" PRId64, offset);
	ret = kmqc_req(c, &req, KMQ_REQ_UPDATE_CONSUMER_OFFSET);
	if (!ret)
		ret = kmqc_exts(&req, "consumerGroup", group, "topic",
				mq->topic, "queueId", qid, "commitOffset", off,
				NULL);
	if (!ret)
		ret = sync ? kmqc_call_ok(c, addr, &req, NULL, 0, 0, NULL,
					  "commit offset") :
		      kmqc_call_oneway(c, addr, &req, NULL, 0);
	kmq_rmt_cmd_free(&req);
	return ret;
}

/* ---- the local file ------------------------------------------------- */

static int kmqc_mkdirs(const char *path)
{
	char buf[4096], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int kmqc_offsets_load(struct kmqc_offsets *o)
{
	json_t *doc, *table, *e;
	json_error_t jerr;
	size_t i;

	if (access(o->path, F_OK))
		return errno == ENOENT ? 0 : kmqc_fail(-EIO, "%s", o->path);
	doc = json_load_file(o->path, 0, &jerr);
	table = json_object_get(doc, "offsetTable");
	if (!json_is_array(table)) {
		json_decref(doc);
		return kmqc_fail(-EIO, "%s:%d: %s", o->path, jerr.line,
				 doc ? "no offsetTable array" : jerr.text);
	}
	o->file = calloc(json_array_size(table) + 1, sizeof(*o->file));
	if (!o->file) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_array_foreach(table, i, e) {
		struct kmqc_offset *x = &o->file[o->nfile];
		const char *t = json_string_value(json_object_get(e, "topic"));
		const char *b = json_string_value(json_object_get(e,
								  "brokerName"));
		json_t *q = json_object_get(e, "queueId");
		json_t *off = json_object_get(e, "offset");

		if (!kmqc_name_ok(t, KMQ_TOPIC_MAX) ||
		    !kmqc_name_ok(b, KMQ_NAME_MAX) || !json_is_integer(q) ||
		    !json_is_integer(off) || json_integer_value(off) < 0) {
			kmqc_warn("%s: entry %zu ignored", o->path, i);
			continue;
		}
		snprintf(x->mq.topic, sizeof(x->mq.topic), "%s", t);
		snprintf(x->mq.broker_name, sizeof(x->mq.broker_name), "%s", b);
		x->mq.queue_id = (int)json_integer_value(q);
		x->offset = json_integer_value(off);
		o->nfile++;
	}
	json_decref(doc);
	return 0;
}

/* Write the table (lock held) and replace the file atomically. */
static int kmqc_offsets_write(struct kmqc_offsets *o)
{
	char tmp[4200], dir[4200];
	json_t *doc, *table;
	unsigned int i;
	char *text;
	int fd, ret = 0;
	size_t len, off = 0;

	doc = json_pack("{s:[]}", "offsetTable");
	table = json_object_get(doc, "offsetTable");
	for (i = 0; doc && i < o->n; i++) {
		const struct kmqc_offset *x = &o->v[i];

		if (x->offset < 0)
			continue;
		json_array_append_new(table,
				      json_pack("{s:s, s:s, s:i, s:I}",
						"topic", x->mq.topic,
						"brokerName", x->mq.broker_name,
						"queueId", x->mq.queue_id,
						"offset", (json_int_t)x->offset));
	}
	/* Queues of the file not (yet) taken again are kept as they were. */
	for (i = 0; doc && i < o->nfile; i++) {
		const struct kmqc_offset *x = &o->file[i];
		unsigned int j;

		for (j = 0; j < o->n; j++)
			if (kmqc_mq_eq(&o->v[j].mq, &x->mq) &&
			    o->v[j].offset >= 0)
				break;
		if (j < o->n)
			continue;
		json_array_append_new(table,
				      json_pack("{s:s, s:s, s:i, s:I}",
						"topic", x->mq.topic,
						"brokerName", x->mq.broker_name,
						"queueId", x->mq.queue_id,
						"offset", (json_int_t)x->offset));
	}
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp", o->path);
	snprintf(dir, sizeof(dir), "%s", o->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(text);
		return kmqc_fail(-EIO, "%s: %s", tmp, strerror(errno));
	}
	len = strlen(text);
	while (off < len && !ret) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			ret = -EIO;
		else
			off += w;
	}
	if (!ret && fsync(fd))
		ret = -EIO;
	close(fd);
	free(text);
	if (!ret && rename(tmp, o->path))
		ret = -EIO;
	if (ret) {
		unlink(tmp);
		return kmqc_fail(ret, "write %s", o->path);
	}
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* ---- the table ------------------------------------------------------ */

int kmqc_offsets_init(struct kmqc_offsets *o, struct kmq_client *c,
		      const char *group, const char *path)
{
	char dir[4200];
	int ret;

	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	o->client = c;
	o->group = group;
	if (!path)
		return 0;
	o->path = strdup(path);
	if (!o->path)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s", path);
	ret = kmqc_mkdirs(dirname(dir));
	if (ret)
		return kmqc_fail(-EIO, "directory of %s: %s", path,
				 strerror(-ret));
	return kmqc_offsets_load(o);
}

void kmqc_offsets_free(struct kmqc_offsets *o)
{
	free(o->v);
	free(o->file);
	free(o->path);
	pthread_mutex_destroy(&o->lock);
	memset(o, 0, sizeof(*o));
}

static struct kmqc_offset *kmqc_offsets_find(struct kmqc_offsets *o,
					     const struct kmq_mq *mq,
					     bool create)
{
	unsigned int i;

	for (i = 0; i < o->n; i++)
		if (kmqc_mq_eq(&o->v[i].mq, mq))
			return &o->v[i];
	if (!create)
		return NULL;
	if (o->n == o->cap) {
		unsigned int cap = o->cap ? o->cap * 2 : 16;
		struct kmqc_offset *nv = realloc(o->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		o->v = nv;
		o->cap = cap;
	}
	o->v[o->n].mq = *mq;
	o->v[o->n].offset = -1;
	return &o->v[o->n++];
}

void kmqc_offsets_update(struct kmqc_offsets *o, const struct kmq_mq *mq,
			 int64_t offset, bool increase_only)
{
	struct kmqc_offset *x;

	if (offset < 0)
		return;
	pthread_mutex_lock(&o->lock);
	x = kmqc_offsets_find(o, mq, true);
	if (x && (!increase_only || offset > x->offset))
		x->offset = offset;
	pthread_mutex_unlock(&o->lock);
}

int64_t kmqc_offsets_mem(struct kmqc_offsets *o, const struct kmq_mq *mq)
{
	struct kmqc_offset *x;
	int64_t v = -1;

	pthread_mutex_lock(&o->lock);
	x = kmqc_offsets_find(o, mq, false);
	if (x)
		v = x->offset;
	pthread_mutex_unlock(&o->lock);
	return v;
}

int kmqc_offsets_fetch(struct kmqc_offsets *o, const struct kmq_mq *mq,
		       int64_t *offset)
{
	unsigned int i;
	int ret = -ENOENT;

	if (!o->path)
		return kmqc_offset_query(o->client, o->group, mq, offset);
	pthread_mutex_lock(&o->lock);
	for (i = 0; i < o->nfile; i++) {
		if (kmqc_mq_eq(&o->file[i].mq, mq)) {
			*offset = o->file[i].offset;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&o->lock);
	return ret;
}

int kmqc_offsets_persist(struct kmqc_offsets *o, const struct kmq_mq *mq,
			 bool sync)
{
	struct kmqc_offset *v = NULL;
	unsigned int i, n = 0;
	int ret = 0, r;

	pthread_mutex_lock(&o->lock);
	if (o->path) {
		ret = kmqc_offsets_write(o);
		pthread_mutex_unlock(&o->lock);
		return ret;
	}
	v = calloc(o->n + 1, sizeof(*v));
	for (i = 0; v && i < o->n; i++)
		if (o->v[i].offset >= 0 && (!mq || kmqc_mq_eq(&o->v[i].mq, mq)))
			v[n++] = o->v[i];
	pthread_mutex_unlock(&o->lock);
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		r = kmqc_offset_commit(o->client, o->group, &v[i].mq,
				       v[i].offset, sync);
		if (r && !ret)
			ret = r;
	}
	free(v);
	return ret;
}

void kmqc_offsets_remove(struct kmqc_offsets *o, const struct kmq_mq *mq)
{
	unsigned int i;

	pthread_mutex_lock(&o->lock);
	for (i = 0; i < o->n; i++) {
		if (kmqc_mq_eq(&o->v[i].mq, mq)) {
			/* Broadcasting keeps it: the file holds every queue. */
			if (!o->path)
				o->v[i] = o->v[--o->n];
			break;
		}
	}
	pthread_mutex_unlock(&o->lock);
}
