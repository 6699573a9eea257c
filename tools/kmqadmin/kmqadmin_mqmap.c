// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_mqmap.c - bodies holding maps keyed by message queues (202,
 * 208, 222). RocketMQ writes Map<MessageQueue, V> as fastjson does: the
 * key is the MessageQueue object itself, {{"brokerName":"b","queueId":0,
 * "topic":"T"}:{...}}, which is not JSON. Every object in a key position
 * is turned into a string holding its text, then jansson parses the rest;
 * kadm_mq_key() reads such a key back.
 */
#include <stdlib.h>
#include <string.h>

#include "kmqadmin.h"

#define KADM_MQMAP_DEPTH	64

/* Index of the '}' closing the object that starts at @i, or @len. */
static size_t kadm_obj_end(const char *s, size_t i, size_t len)
{
	unsigned int depth = 0;
	bool in_str = false;

	for (; i < len; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '{') {
			depth++;
		} else if (ch == '}' && !--depth) {
			return i;
		}
	}
	return len;
}

/* Append @n bytes of @s to @o as the body of a JSON string. */
static char *kadm_put_escaped(char *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			*o++ = '\\';
		if ((unsigned char)s[i] < 0x20)
			continue;	/* whitespace between tokens */
		*o++ = s[i];
	}
	return o;
}

json_t *kadm_mqmap_load(const char *text, size_t len)
{
	char stack[KADM_MQMAP_DEPTH], *out, *o;
	bool in_str = false, key_pos = false;
	unsigned int depth = 0;
	json_t *doc = NULL;
	size_t i, end;

	out = malloc(len * 2 + 1);
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i < len; i++) {
		char ch = text[i];

		if (in_str) {
			*o++ = ch;
			if (ch == '\\' && i + 1 < len)
				*o++ = text[++i];
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (key_pos && ch == '{') {
			end = kadm_obj_end(text, i, len);
			if (end == len)
				goto out;
			*o++ = '"';
			o = kadm_put_escaped(o, text + i, end + 1 - i);
			*o++ = '"';
			i = end;
			key_pos = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			if (depth == KADM_MQMAP_DEPTH)
				goto out;
			stack[depth++] = ch;
		} else if ((ch == '}' || ch == ']') && depth) {
			depth--;
		}
		if (ch == '{' || (ch == ',' && depth && stack[depth - 1] == '{'))
			key_pos = true;
		else if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r')
			key_pos = false;
		*o++ = ch;
	}
	doc = json_loadb(out, o - out, 0, NULL);
out:
	free(out);
	return doc;
}

bool kadm_mq_key(const char *key, struct kmq_mq *mq)
{
	json_t *o = json_loads(key, 0, NULL);
	json_t *t = json_object_get(o, "topic");
	json_t *b = json_object_get(o, "brokerName");
	json_t *q = json_object_get(o, "queueId");
	bool ok = json_is_string(t) && json_is_string(b) &&
		  json_is_integer(q) &&
		  strlen(json_string_value(t)) <= KMQ_TOPIC_MAX &&
		  strlen(json_string_value(b)) <= KMQ_NAME_MAX;

	if (ok) {
		snprintf(mq->topic, sizeof(mq->topic), "%s",
			 json_string_value(t));
		snprintf(mq->broker_name, sizeof(mq->broker_name), "%s",
			 json_string_value(b));
		mq->queue_id = (int)json_integer_value(q);
	}
	json_decref(o);
	return ok;
}

int kadm_mq_cmp(const struct kmq_mq *a, const struct kmq_mq *b)
{
	int c = strcmp(a->topic, b->topic);

	if (!c)
		c = strcmp(a->broker_name, b->broker_name);
	return c ? c : (a->queue_id > b->queue_id) - (a->queue_id < b->queue_id);
}
