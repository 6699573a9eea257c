// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_mqmap.c - maps keyed by message queues in the shape RocketMQ's
 * brokers write and its Java tools read back: fastjson serialises a
 * Map<MessageQueue, V> with each key written as the MessageQueue object
 * itself, fields in alphabetical order:
 *
 *   {{"brokerName":"b","queueId":0,"topic":"T"}:{"minOffset":0,...}}
 *
 * Standard JSON libraries cannot write (or read) that, so the text is
 * assembled here; keys and values are still produced by jansson, so every
 * string is escaped as JSON requires.
 */
#include <stdlib.h>
#include <string.h>

#include "kmqd_admin.h"

static void kmqd_mqmap_put(struct kmqd_mqmap *m, const char *s, size_t n)
{
	if (!m->failed && kmq_buf_put(&m->text, s, n))
		m->failed = true;
}

static void kmqd_mqmap_put_json(struct kmqd_mqmap *m, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
				 JSON_SORT_KEYS) : NULL;

	if (!s) {
		m->failed = true;
		return;
	}
	kmqd_mqmap_put(m, s, strlen(s));
	free(s);
}

void kmqd_mqmap_add(struct kmqd_mqmap *m, const char *topic,
		    const char *broker, uint32_t qid, json_t *value)
{
	json_t *key = json_pack("{s:s, s:i, s:s}", "brokerName", broker,
				"queueId", (int)qid, "topic", topic);

	kmqd_mqmap_put(m, m->n ? "," : "{", 1);
	kmqd_mqmap_put_json(m, key);
	kmqd_mqmap_put(m, ":", 1);
	kmqd_mqmap_put_json(m, value);
	json_decref(key);
	json_decref(value);
	m->n++;
}

void kmqd_mqmap_free(struct kmqd_mqmap *m)
{
	kmq_buf_free(&m->text);
	memset(m, 0, sizeof(*m));
}

char *kmqd_mqmap_doc(struct kmqd_mqmap *m, const char *key, json_t *rest)
{
	struct kmqd_mqmap doc = { 0 };
	json_t *k = json_string(key);
	char *r = NULL;

	if (!m->n)
		kmqd_mqmap_put(m, "{", 1);
	kmqd_mqmap_put(m, "}", 1);
	if (rest && json_object_size(rest)) {
		r = json_dumps(rest, JSON_COMPACT | JSON_SORT_KEYS);
		if (!r)
			doc.failed = true;
	}
	/* "{a:1,b:2}" less its closing brace, then ",key:map}" */
	if (r) {
		kmqd_mqmap_put(&doc, r, strlen(r) - 1);
		kmqd_mqmap_put(&doc, ",", 1);
	} else {
		kmqd_mqmap_put(&doc, "{", 1);
	}
	kmqd_mqmap_put_json(&doc, k);
	kmqd_mqmap_put(&doc, ":", 1);
	if (m->failed)
		doc.failed = true;
	else
		kmqd_mqmap_put(&doc, (const char *)m->text.data, m->text.len);
	kmqd_mqmap_put(&doc, "}", 2);	/* with the NUL */
	free(r);
	json_decref(k);
	kmqd_mqmap_free(m);
	if (doc.failed) {
		kmqd_mqmap_free(&doc);
		return NULL;
	}
	return (char *)doc.text.data;
}
