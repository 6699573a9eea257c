// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_rmt_cmd.c - struct kmq_rmt_cmd in memory: building requests and
 * responses, extFields (set, look up, read as numbers and booleans) and
 * freeing. Nothing here touches bytes from the network.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kmq_rmt_int.h"

#define KMQ_RMT_FIELDS_MIN	8

void kmq_rmt_cmd_free(struct kmq_rmt_cmd *cmd)
{
	uint32_t i;

	for (i = 0; i < cmd->nfields; i++) {
		free(cmd->fields[i].key);
		free(cmd->fields[i].val);
	}
	free(cmd->fields);
	free(cmd->remark);
	memset(cmd, 0, sizeof(*cmd));
}

static struct kmq_rmt_field *kmq_rmt_find(const struct kmq_rmt_cmd *cmd,
					  const char *key)
{
	uint32_t i;

	for (i = 0; i < cmd->nfields; i++)
		if (!strcmp(cmd->fields[i].key, key))
			return &cmd->fields[i];
	return NULL;
}

const char *kmq_rmt_ext(const struct kmq_rmt_cmd *cmd, const char *key)
{
	const struct kmq_rmt_field *f = kmq_rmt_find(cmd, key);

	return f ? f->val : NULL;
}

static int kmq_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Decimal with optional sign between optional blanks, nothing else. */
static int kmq_parse_i64(const char *s, int64_t *out)
{
	uint64_t v = 0, lim;
	int digits = 0, over = 0, neg = 0;
	unsigned int d;

	while (kmq_is_blank(*s))
		s++;
	if (*s == '+' || *s == '-') {
		neg = *s == '-';
		s++;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = *s - '0';
		if (v > (lim - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
		digits++;
	}
	while (kmq_is_blank(*s))
		s++;
	if (!digits || *s)
		return -EINVAL;
	if (over)
		return -ERANGE;
	if (!neg)
		*out = (int64_t)v;
	else if (v == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)v;
	return 0;
}

int kmq_rmt_ext_i64(const struct kmq_rmt_cmd *cmd, const char *key,
		    int64_t *out)
{
	const char *s = kmq_rmt_ext(cmd, key);

	if (!s)
		return -ENOENT;
	return kmq_parse_i64(s, out);
}

int kmq_rmt_ext_i32(const struct kmq_rmt_cmd *cmd, const char *key,
		    int32_t *out)
{
	int64_t v;
	int ret;

	ret = kmq_rmt_ext_i64(cmd, key, &v);
	if (ret)
		return ret;
	if (v < INT32_MIN || v > INT32_MAX)
		return -ERANGE;
	*out = (int32_t)v;
	return 0;
}

/* Blanks around the word are allowed, as for the integers. */
int kmq_rmt_ext_bool(const struct kmq_rmt_cmd *cmd, const char *key,
		     int *out)
{
	const char *s = kmq_rmt_ext(cmd, key);
	size_t n;

	if (!s)
		return -ENOENT;
	while (kmq_is_blank(*s))
		s++;
	n = strlen(s);
	while (n && kmq_is_blank(s[n - 1]))
		n--;
	if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 1 && *s == '1'))
		*out = 1;
	else if ((n == 5 && !strncasecmp(s, "false", 5)) ||
		 (n == 1 && *s == '0'))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

static void kmq_rmt_init(struct kmq_rmt_cmd *cmd, int32_t code,
			 enum kmq_rmt_serialize ser)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->code = code;
	cmd->ser = ser;
	snprintf(cmd->language, sizeof(cmd->language), "JAVA");
}

int kmq_rmt_response(struct kmq_rmt_cmd *resp, const struct kmq_rmt_cmd *req,
		     int32_t code, const char *remark)
{
	kmq_rmt_init(resp, code, req->ser);
	resp->version = req->version;
	resp->opaque = req->opaque;
	resp->flag = KMQ_RMT_FLAG_RESPONSE;
	if (remark) {
		resp->remark = strdup(remark);
		if (!resp->remark)
			return -ENOMEM;
	}
	return 0;
}

/*
 * The version is left 0: a caller whose peer looks at it sets it itself.
 * Return: 0, or -EINVAL for an unknown @ser.
 */
int kmq_rmt_request(struct kmq_rmt_cmd *req, int32_t code, int32_t opaque,
		    enum kmq_rmt_serialize ser)
{
	kmq_rmt_init(req, code, KMQ_RMT_JSON);
	if (ser != KMQ_RMT_JSON && ser != KMQ_RMT_ROCKETMQ)
		return -EINVAL;
	req->ser = ser;
	req->opaque = opaque;
	return 0;
}

/* Make room for one more field. */
static int kmq_rmt_grow(struct kmq_rmt_cmd *cmd)
{
	struct kmq_rmt_field *f;
	uint32_t cap;

	if (cmd->nfields < cmd->fields_cap)
		return 0;
	if (cmd->fields_cap > UINT32_MAX / 2)
		return -ENOMEM;
	cap = cmd->fields_cap ? cmd->fields_cap * 2 : KMQ_RMT_FIELDS_MIN;
	f = reallocarray(cmd->fields, cap, sizeof(*f));
	if (!f)
		return -ENOMEM;
	cmd->fields = f;
	cmd->fields_cap = cap;
	return 0;
}

int kmq_rmt_add_field(struct kmq_rmt_cmd *cmd, const char *key, size_t klen,
		      const char *val, size_t vlen)
{
	struct kmq_rmt_field *f;
	char *k, *v;

	if (kmq_rmt_grow(cmd))
		return -ENOMEM;
	k = strndup(key, klen);
	v = strndup(val, vlen);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	f = &cmd->fields[cmd->nfields++];
	f->key = k;
	f->val = v;
	return 0;
}

/* Sort order for kmq_rmt_dedup_fields(): key, then position. */
static int kmq_rmt_field_cmp(const void *a, const void *b)
{
	const struct kmq_rmt_field *fa = *(struct kmq_rmt_field * const *)a;
	const struct kmq_rmt_field *fb = *(struct kmq_rmt_field * const *)b;
	int c = strcmp(fa->key, fb->key);

	if (c)
		return c;
	return (fa > fb) - (fa < fb);
}

int kmq_rmt_dedup_fields(struct kmq_rmt_cmd *cmd)
{
	struct kmq_rmt_field **v;
	uint32_t i, j, n = cmd->nfields;

	if (n < 2)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = &cmd->fields[i];
	qsort(v, n, sizeof(*v), kmq_rmt_field_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i - 1]->key, v[i]->key))
			continue;
		free(v[i - 1]->key);
		free(v[i - 1]->val);
		v[i - 1]->key = NULL;
		v[i - 1]->val = NULL;
	}
	free(v);
	for (i = 0, j = 0; i < n; i++)
		if (cmd->fields[i].key)
			cmd->fields[j++] = cmd->fields[i];
	cmd->nfields = j;
	return 0;
}

/* Like kmq_rmt_set_ext(), taking ownership of @val (even on failure). */
static int kmq_rmt_set_ext_owned(struct kmq_rmt_cmd *cmd, const char *key,
				 char *val)
{
	struct kmq_rmt_field *f = kmq_rmt_find(cmd, key);
	char *k;

	if (f) {
		free(f->val);
		f->val = val;
		return 0;
	}
	k = strdup(key);
	if (!k || kmq_rmt_grow(cmd)) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	f = &cmd->fields[cmd->nfields++];
	f->key = k;
	f->val = val;
	return 0;
}

/* Return: 0, -ENOMEM, or -EINVAL when @key or @val is NULL. */
int kmq_rmt_set_ext(struct kmq_rmt_cmd *cmd, const char *key,
		    const char *val)
{
	char *v;

	if (!key || !val)
		return -EINVAL;
	v = strdup(val);
	if (!v)
		return -ENOMEM;
	return kmq_rmt_set_ext_owned(cmd, key, v);
}

int kmq_rmt_set_extf(struct kmq_rmt_cmd *cmd, const char *key,
		     const char *fmt, ...)
{
	va_list ap;
	char *v;
	int n;

	if (!key || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return kmq_rmt_set_ext_owned(cmd, key, v);
}
