// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_route.c - topic routes from the name servers (GET_ROUTEINFO_BY_TOPIC,
 * 105): parsed (standard JSON, or the Java name server's unquoted numeric
 * keys), turned into the topic's writable and readable queues, cached per
 * client and refreshed every route_interval_ms. A failed refresh keeps
 * the route known so far (a broker restarting is still routed to).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_client_int.h"

#define KMQC_QUEUES_MAX		65535

int kmqc_mq_cmp(const void *a, const void *b)
{
	const struct kmq_mq *x = a, *y = b;
	int r = strcmp(x->topic, y->topic);

	if (r)
		return r;
	r = strcmp(x->broker_name, y->broker_name);
	if (r)
		return r;
	return (x->queue_id > y->queue_id) - (x->queue_id < y->queue_id);
}

/*
 * Quote the bare numeric object keys of Java's name server output
 * ({0:"a"} -> {"0":"a"}). Return: a new string (free()), or NULL.
 */
static char *kmqc_json_quote_keys(const char *in, size_t len)
{
	char *out = malloc(len * 3 + 1);
	bool str = false, esc = false;
	size_t i, o = 0;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		char ch = in[i];

		out[o++] = ch;
		if (str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				str = false;
			continue;
		}
		if (ch == '"') {
			str = true;
			continue;
		}
		if (ch == '{' || ch == ',') {
			size_t j = i + 1, k, m;

			while (j < len && (in[j] == ' ' || in[j] == '\n' ||
					   in[j] == '\t' || in[j] == '\r'))
				j++;
			k = j;
			if (k < len && in[k] == '-')
				k++;
			while (k < len && in[k] >= '0' && in[k] <= '9')
				k++;
			if (k == j || (k == j + 1 && in[j] == '-'))
				continue;
			m = k;
			while (m < len && (in[m] == ' ' || in[m] == '\t'))
				m++;
			if (m >= len || in[m] != ':')
				continue;
			memcpy(out + o, in + i + 1, j - i - 1);
			o += j - i - 1;
			out[o++] = '"';
			memcpy(out + o, in + j, k - j);
			o += k - j;
			out[o++] = '"';
			i = k - 1;
		}
	}
	out[o] = '\0';
	return out;
}

static bool kmqc_json_str(json_t *o, const char *key, char *buf, size_t len,
			  bool required)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return !required;
	if (!json_is_string(v) || json_string_length(v) >= len)
		return false;
	snprintf(buf, len, "%s", json_string_value(v));
	return true;
}

/* An integer member, also given as a string of digits; @def if absent. */
static bool kmqc_json_int(json_t *o, const char *key, int64_t def,
			  int64_t min, int64_t max, int *out)
{
	json_t *v = json_object_get(o, key);
	int64_t x = def;
	char *end;

	if (json_is_integer(v)) {
		x = json_integer_value(v);
	} else if (json_is_string(v)) {
		x = strtoll(json_string_value(v), &end, 10);
		if (end == json_string_value(v) || *end)
			return false;
	} else if (v && !json_is_null(v)) {
		return false;
	}
	if (x < min || x > max)
		return false;
	*out = (int)x;
	return true;
}

static int kmqc_broker_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kmq_broker_data *)a)->name,
		      ((const struct kmq_broker_data *)b)->name);
}

static int kmqc_qdata_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kmq_queue_data *)a)->broker_name,
		      ((const struct kmq_queue_data *)b)->broker_name);
}

static int kmqc_addr_cmp(const void *a, const void *b)
{
	const struct kmq_broker_addr *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int kmqc_parse_broker(json_t *d, struct kmq_broker_data *b)
{
	json_t *addrs = json_object_get(d, "brokerAddrs"), *a;
	const char *id;
	char *end;

	if (!json_is_object(d) ||
	    !kmqc_json_str(d, "brokerName", b->name, sizeof(b->name), true) ||
	    !b->name[0] ||
	    !kmqc_json_str(d, "cluster", b->cluster, sizeof(b->cluster),
			   false) ||
	    (addrs && !json_is_object(addrs)))
		return -EPROTO;
	b->addrs = calloc(json_object_size(addrs) + 1, sizeof(*b->addrs));
	if (!b->addrs)
		return -ENOMEM;
	json_object_foreach(addrs, id, a) {
		struct kmq_broker_addr *x = &b->addrs[b->naddrs];

		x->id = strtoll(id, &end, 10);
		if (end == id || *end || !json_is_string(a) ||
		    json_string_length(a) > KMQ_ADDR_MAX)
			return -EPROTO;
		snprintf(x->addr, sizeof(x->addr), "%s", json_string_value(a));
		b->naddrs++;
	}
	qsort(b->addrs, b->naddrs, sizeof(*b->addrs), kmqc_addr_cmp);
	return 0;
}

static int kmqc_parse_qdata(json_t *d, struct kmq_queue_data *q)
{
	if (!json_is_object(d) ||
	    !kmqc_json_str(d, "brokerName", q->broker_name,
			   sizeof(q->broker_name), true) ||
	    !kmqc_json_int(d, "readQueueNums", 0, 0, KMQC_QUEUES_MAX,
			   &q->read_queues) ||
	    !kmqc_json_int(d, "writeQueueNums", 0, 0, KMQC_QUEUES_MAX,
			   &q->write_queues) ||
	    !kmqc_json_int(d, "perm", 6, 0, 0xff, &q->perm) ||
	    !kmqc_json_int(d, "topicSysFlag", 0, INT32_MIN, INT32_MAX,
			   &q->sys_flag))
		return -EPROTO;
	return 0;
}

void kmq_topic_route_free(struct kmq_topic_route *r)
{
	unsigned int i;

	if (!r)
		return;
	for (i = 0; i < r->nbrokers; i++)
		free(r->brokers[i].addrs);
	free(r->brokers);
	free(r->queues);
	free(r);
}

int kmqc_route_parse(const void *body, size_t len,
		     struct kmq_topic_route **out)
{
	json_t *doc, *bds, *qds, *d;
	struct kmq_topic_route *r;
	json_error_t jerr;
	size_t i;
	int ret = -EPROTO;

	doc = json_loadb(body, len, 0, &jerr);
	if (!doc) {
		char *fixed = kmqc_json_quote_keys(body, len);

		doc = fixed ? json_loads(fixed, 0, &jerr) : NULL;
		free(fixed);
	}
	bds = json_object_get(doc, "brokerDatas");
	qds = json_object_get(doc, "queueDatas");
	if (!json_is_array(bds) || !json_is_array(qds)) {
		json_decref(doc);
		return kmqc_fail(-EPROTO, "route body: %s",
				 doc ? "no brokerDatas/queueDatas arrays" :
				 jerr.text);
	}
	r = calloc(1, sizeof(*r));
	if (r) {
		r->brokers = calloc(json_array_size(bds) + 1,
				    sizeof(*r->brokers));
		r->queues = calloc(json_array_size(qds) + 1,
				   sizeof(*r->queues));
	}
	if (!r || !r->brokers || !r->queues) {
		ret = -ENOMEM;
		goto fail;
	}
	json_array_foreach(bds, i, d) {
		ret = kmqc_parse_broker(d, &r->brokers[i]);
		r->nbrokers++;
		if (ret)
			goto fail;
	}
	json_array_foreach(qds, i, d) {
		ret = kmqc_parse_qdata(d, &r->queues[i]);
		if (ret)
			goto fail;
		r->nqueues++;
	}
	qsort(r->brokers, r->nbrokers, sizeof(*r->brokers), kmqc_broker_cmp);
	qsort(r->queues, r->nqueues, sizeof(*r->queues), kmqc_qdata_cmp);
	json_decref(doc);
	*out = r;
	return 0;
fail:
	json_decref(doc);
	kmq_topic_route_free(r);
	return kmqc_fail(ret, "route body: a broker or queue entry is malformed");
}

int kmqc_route_fetch(struct kmq_client *c, const char *topic,
		     struct kmq_topic_route **out)
{
	struct kmq_rmt_cmd req;
	struct kmqc_frame *f;
	char what[KMQ_TOPIC_MAX + 32];
	int ret;

	ret = kmqc_req(c, &req, KMQ_REQ_GET_ROUTEINFO_BY_TOPIC);
	if (!ret)
		ret = kmqc_exts(&req, "topic", topic, NULL);
	if (ret) {
		kmq_rmt_cmd_free(&req);
		return kmqc_fail(ret, "route of %s", topic);
	}
	snprintf(what, sizeof(what), "route of %s", topic);
	ret = kmqc_call_ok(c, NULL, &req, NULL, 0, 0, &f, what);
	kmq_rmt_cmd_free(&req);
	if (ret)
		return ret;
	if (!f->cmd.body_len) {
		kmqc_frame_free(f);
		return kmqc_fail(KMQ_ERR_BROKER(KMQ_RESP_TOPIC_NOT_EXIST),
				 "route of %s: empty", topic);
	}
	ret = kmqc_route_parse(f->cmd.body, f->cmd.body_len, out);
	kmqc_frame_free(f);
	return ret;
}

int kmq_client_topic_route(struct kmq_client *c, const char *topic,
			   struct kmq_topic_route **out)
{
	if (!c || !out || !kmqc_name_ok(topic, KMQ_TOPIC_MAX))
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	return kmqc_route_fetch(c, topic, out);
}

static const struct kmq_broker_data *
kmqc_route_broker(const struct kmq_topic_route *tr, const char *name)
{
	unsigned int i;

	for (i = 0; i < tr->nbrokers; i++)
		if (!strcmp(tr->brokers[i].name, name))
			return &tr->brokers[i];
	return NULL;
}

static bool kmqc_has_master(const struct kmq_broker_data *b)
{
	return b && b->naddrs && b->addrs[0].id == 0;
}

/* Queues of @q into @v (at most @max ids each). */
static unsigned int kmqc_add_mqs(struct kmq_mq *v, const char *topic,
				 const struct kmq_queue_data *q,
				 unsigned int nq)
{
	unsigned int i;

	for (i = 0; i < nq; i++) {
		snprintf(v[i].topic, sizeof(v[i].topic), "%s", topic);
		snprintf(v[i].broker_name, sizeof(v[i].broker_name), "%s",
			 q->broker_name);
		v[i].queue_id = i;
	}
	return nq;
}

struct kmqc_route *kmqc_route_build(const char *topic,
				    struct kmq_topic_route *tr,
				    unsigned int default_queues)
{
	struct kmqc_route *r = calloc(1, sizeof(*r));
	unsigned int i, nw = 0, nr = 0;

	if (!r)
		return NULL;
	for (i = 0; i < tr->nqueues; i++) {
		nw += tr->queues[i].write_queues;
		nr += tr->queues[i].read_queues;
	}
	r->wmqs = calloc(nw + 1, sizeof(*r->wmqs));
	r->rmqs = calloc(nr + 1, sizeof(*r->rmqs));
	if (!r->wmqs || !r->rmqs) {
		free(r->wmqs);
		free(r->rmqs);
		free(r);
		return NULL;
	}
	r->refs = 1;
	r->tr = tr;
	r->from_default = default_queues > 0;
	snprintf(r->topic, sizeof(r->topic), "%s", topic);
	for (i = 0; i < tr->nqueues; i++) {
		const struct kmq_queue_data *q = &tr->queues[i];
		unsigned int w = q->write_queues, rd = q->read_queues;

		if (default_queues) {
			if (w > default_queues)
				w = default_queues;
			rd = w;
		}
		if ((q->perm & KMQ_QUEUE_PERM_WRITE) &&
		    kmqc_has_master(kmqc_route_broker(tr, q->broker_name)))
			r->nw += kmqc_add_mqs(r->wmqs + r->nw, topic, q, w);
		if (q->perm & KMQ_QUEUE_PERM_READ)
			r->nr += kmqc_add_mqs(r->rmqs + r->nr, topic, q, rd);
	}
	qsort(r->wmqs, r->nw, sizeof(*r->wmqs), kmqc_mq_cmp);
	qsort(r->rmqs, r->nr, sizeof(*r->rmqs), kmqc_mq_cmp);
	return r;
}

void kmqc_route_put(struct kmqc_route *r)
{
	if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL))
		return;
	kmq_topic_route_free(r->tr);
	free(r->wmqs);
	free(r->rmqs);
	free(r);
}

/* Put @r in the cache in place of its topic's route. */
static int kmqc_route_store(struct kmq_client *c, struct kmqc_route *r)
{
	struct kmqc_routes *rs = &c->routes;
	struct kmqc_route *old = NULL;
	unsigned int i;

	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < rs->n; i++) {
		if (!strcmp(rs->v[i]->topic, r->topic)) {
			old = rs->v[i];
			rs->v[i] = r;
			break;
		}
	}
	if (i == rs->n) {
		if (rs->n == rs->cap) {
			unsigned int cap = rs->cap ? rs->cap * 2 : 8;
			struct kmqc_route **nv = realloc(rs->v,
							 cap * sizeof(*nv));

			if (!nv) {
				pthread_mutex_unlock(&rs->lock);
				kmqc_route_put(r);
				return -ENOMEM;
			}
			rs->v = nv;
			rs->cap = cap;
		}
		rs->v[rs->n++] = r;
	}
	pthread_mutex_unlock(&rs->lock);
	kmqc_route_put(old);
	return 0;
}

static struct kmqc_route *kmqc_route_cached(struct kmq_client *c,
					    const char *topic)
{
	struct kmqc_routes *rs = &c->routes;
	struct kmqc_route *r = NULL;
	unsigned int i;

	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < rs->n; i++) {
		if (!strcmp(rs->v[i]->topic, topic)) {
			r = rs->v[i];
			__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&rs->lock);
	return r;
}

int kmqc_route_update(struct kmq_client *c, const char *topic)
{
	struct kmq_topic_route *tr;
	struct kmqc_route *r;
	int ret;

	ret = kmqc_route_fetch(c, topic, &tr);
	if (ret)
		return ret;
	r = kmqc_route_build(topic, tr, 0);
	if (!r) {
		kmq_topic_route_free(tr);
		return kmqc_fail(-ENOMEM, "route of %s", topic);
	}
	return kmqc_route_store(c, r);
}

int kmqc_route_get(struct kmq_client *c, const char *topic,
		   struct kmqc_route **out)
{
	int ret;

	*out = kmqc_route_cached(c, topic);
	if (*out)
		return 0;
	ret = kmqc_route_update(c, topic);
	if (ret)
		return ret;
	*out = kmqc_route_cached(c, topic);
	return *out ? 0 : kmqc_fail(-ENOENT, "route of %s", topic);
}

int kmqc_route_get_publish(struct kmq_client *c, const char *topic,
			   const char *default_key,
			   unsigned int default_queues,
			   struct kmqc_route **out)
{
	struct kmq_topic_route *tr;
	struct kmqc_route *r;
	int ret;

	*out = kmqc_route_cached(c, topic);
	if (*out && (*out)->nw)
		return 0;
	kmqc_route_put(*out);
	*out = NULL;
	ret = kmqc_route_update(c, topic);
	if (!ret) {
		*out = kmqc_route_cached(c, topic);
		if (*out && (*out)->nw)
			return 0;
		kmqc_route_put(*out);
		*out = NULL;
		return kmqc_fail(-ENOENT, "topic %s has no writable queue",
				 topic);
	}
	if (ret != KMQ_ERR_BROKER(KMQ_RESP_TOPIC_NOT_EXIST) || !default_key)
		return ret;
	/* Unknown topic: its first send creates it (autoCreateTopicEnable). */
	ret = kmqc_route_fetch(c, default_key, &tr);
	if (ret)
		return kmqc_fail(KMQ_ERR_BROKER(KMQ_RESP_TOPIC_NOT_EXIST),
				 "no route for topic %s nor for %s", topic,
				 default_key);
	r = kmqc_route_build(topic, tr, default_queues);
	if (!r) {
		kmq_topic_route_free(tr);
		return kmqc_fail(-ENOMEM, "route of %s", topic);
	}
	if (!r->nw) {
		kmqc_route_put(r);
		return kmqc_fail(KMQ_ERR_BROKER(KMQ_RESP_TOPIC_NOT_EXIST),
				 "topic %s: no broker may create it", topic);
	}
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	if (kmqc_route_store(c, r)) {
		kmqc_route_put(r);
		return kmqc_fail(-ENOMEM, "route of %s", topic);
	}
	*out = r;
	return 0;
}

void kmqc_routes_refresh(struct kmq_client *c)
{
	char (*topics)[KMQ_TOPIC_MAX + 1] = NULL;
	struct kmqc_routes *rs = &c->routes;
	unsigned int i, n;
	int ret;

	pthread_mutex_lock(&rs->lock);
	n = rs->n;
	if (n)
		topics = calloc(n, sizeof(*topics));
	for (i = 0; topics && i < n; i++)
		snprintf(topics[i], sizeof(topics[i]), "%s", rs->v[i]->topic);
	pthread_mutex_unlock(&rs->lock);
	for (i = 0; topics && i < n; i++) {
		ret = kmqc_route_update(c, topics[i]);
		if (ret && ret != -ESHUTDOWN)
			kmqc_dbg("%s: refresh route of %s: %s", c->id,
				 topics[i], kmq_errmsg());
	}
	free(topics);
}

void kmqc_routes_free(struct kmq_client *c)
{
	struct kmqc_routes *rs = &c->routes;
	unsigned int i;

	for (i = 0; i < rs->n; i++)
		kmqc_route_put(rs->v[i]);
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
	rs->cap = 0;
}

int kmqc_broker_addr(struct kmq_client *c, const char *broker, char *addr,
		     size_t len)
{
	struct kmqc_routes *rs = &c->routes;
	const struct kmq_broker_data *b;
	unsigned int i;
	int ret = -ENOENT;

	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < rs->n && ret; i++) {
		b = kmqc_route_broker(rs->v[i]->tr, broker);
		if (b && b->naddrs) {
			kmqc_strcpy(addr, b->addrs[0].addr, len);
			ret = 0;
		}
	}
	pthread_mutex_unlock(&rs->lock);
	if (ret)
		return kmqc_fail(ret, "no address known for broker %s",
				 broker);
	return 0;
}

int kmqc_broker_addrs(struct kmq_client *c, struct kmqc_addr **addrs)
{
	struct kmqc_routes *rs = &c->routes;
	struct kmqc_addr *v = NULL;
	unsigned int i, j, k, n = 0, cap = 0;

	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < rs->n; i++)
		cap += rs->v[i]->tr->nbrokers;
	v = calloc(cap + 1, sizeof(*v));
	for (i = 0; v && i < rs->n; i++) {
		const struct kmq_topic_route *tr = rs->v[i]->tr;

		for (j = 0; j < tr->nbrokers; j++) {
			const struct kmq_broker_data *b = &tr->brokers[j];

			if (!kmqc_has_master(b))
				continue;
			for (k = 0; k < n; k++)
				if (!strcmp(v[k].s, b->addrs[0].addr))
					break;
			if (k == n)
				snprintf(v[n++].s, sizeof(v[0].s), "%s",
					 b->addrs[0].addr);
		}
	}
	pthread_mutex_unlock(&rs->lock);
	*addrs = v;
	return v ? (int)n : -ENOMEM;
}
