// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_sub.c - subscriptions: a topic and a tag expression ("*", or tags
 * joined by "||"), the set of tags a message must carry one of (checked
 * on the client too, as the broker filters by tag hash only), and their
 * shape in a heartbeat (subscriptionDataSet).
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_consumer_int.h"

void kmqc_sub_free(struct kmqc_sub *s)
{
	unsigned int i;

	for (i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	free(s->expr);
	memset(s, 0, sizeof(*s));
}

int kmqc_sub_init(struct kmqc_sub *s, const char *topic, const char *expr)
{
	const char *p;

	memset(s, 0, sizeof(*s));
	if (!kmqc_name_ok(topic, KMQ_TOPIC_MAX))
		return kmqc_fail(-EINVAL, "topic: 1..%d printable bytes",
				 KMQ_TOPIC_MAX);
	if (!expr || !*expr)
		expr = "*";
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	s->expr = strdup(expr);
	s->tags = calloc(strlen(expr) / 3 + 2, sizeof(*s->tags));
	if (!s->expr || !s->tags)
		goto nomem;
	s->version = (int64_t)kmqc_now_ms();
	for (p = expr; *p;) {
		const char *end = strstr(p, "||"), *a = p;
		const char *b = end ? end : p + strlen(p);

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b - a == 1 && *a == '*') {
			/* "*" anywhere: every message. */
			while (s->ntags)
				free(s->tags[--s->ntags]);
			break;
		}
		if (b > a) {
			s->tags[s->ntags] = strndup(a, b - a);
			if (!s->tags[s->ntags])
				goto nomem;
			s->ntags++;
		}
		if (!end)
			break;
		p = end + 2;
	}
	return 0;
nomem:
	kmqc_sub_free(s);
	return kmqc_fail(-ENOMEM, "subscription");
}

bool kmqc_sub_match(const struct kmqc_sub *s, const char *tags)
{
	unsigned int i;

	if (!s || !s->ntags)
		return true;
	if (!tags)
		return false;
	for (i = 0; i < s->ntags; i++)
		if (!strcmp(s->tags[i], tags))
			return true;
	return false;
}

json_t *kmqc_sub_json(const struct kmqc_sub *s)
{
	json_t *d, *tags, *codes;
	unsigned int i;

	d = json_pack("{s:s, s:s, s:[], s:[], s:I, s:s, s:b}",
		      "topic", s->topic, "subString",
		      s->ntags ? s->expr : "*", "tagsSet", "codeSet",
		      "subVersion", (json_int_t)s->version, "expressionType",
		      "TAG", "classFilterMode", 0);
	tags = json_object_get(d, "tagsSet");
	codes = json_object_get(d, "codeSet");
	for (i = 0; d && i < s->ntags; i++) {
		json_array_append_new(tags, json_string(s->tags[i]));
		json_array_append_new(codes,
				      json_integer(kmqc_java_hash(s->tags[i])));
	}
	return d;
}
