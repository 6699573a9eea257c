// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_rmt_json.c - the JSON command header (serialize type 0), with
 * jansson: {"code","language","version","opaque","flag","remark",
 * "extFields","serializeTypeCurrentRPC"}. Decoding is lenient where
 * clients differ (extFields values may be numbers or booleans, absent
 * members take Java's defaults) and strict where a wrong type would be
 * silently misread (code, opaque, flag, version must be int32 integers).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_rmt_int.h"

/* Enough for any json_int_t and any double printed with %.17g. */
#define KMQ_JSON_NUM_MAX	40

/* Read an int32 member: absent or null gives 0, unless @required. */
static int kmq_json_int32(json_t *root, const char *name, int required,
			  int32_t *out)
{
	json_t *v = json_object_get(root, name);
	json_int_t i;

	if (!v || json_is_null(v)) {
		if (required)
			return kmq_rmt_err(KMQ_RMT_EFIELD,
					   "JSON header: no '%s'", name);
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v))
		return kmq_rmt_err(KMQ_RMT_EFIELD,
				   "JSON header: '%s' is not an integer", name);
	i = json_integer_value(v);
	if (i < INT32_MIN || i > INT32_MAX)
		return kmq_rmt_err(KMQ_RMT_EFIELD,
				   "JSON header: '%s' %lld is out of the int32 range",
				   name, (long long)i);
	*out = (int32_t)i;
	return 0;
}

/* The shortest %g text that reads back as @d. */
static void kmq_json_real_text(char *buf, size_t n, double d)
{
	int prec;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, n, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
	snprintf(buf, n, "%.17g", d);
}

static int kmq_json_ext(json_t *ext, struct kmq_rmt_cmd *cmd)
{
	char num[KMQ_JSON_NUM_MAX];
	const char *key, *s;
	json_t *val;
	size_t n;

	json_object_foreach(ext, key, val) {
		switch (json_typeof(val)) {
		case JSON_STRING:
			s = json_string_value(val);
			break;
		case JSON_INTEGER:
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(val));
			s = num;
			break;
		case JSON_REAL:
			kmq_json_real_text(num, sizeof(num),
					   json_real_value(val));
			s = num;
			break;
		case JSON_TRUE:
			s = "true";
			break;
		case JSON_FALSE:
			s = "false";
			break;
		case JSON_NULL:
			continue;
		default:
			return kmq_rmt_err(KMQ_RMT_EFIELD,
					   "JSON header: extFields '%.64s' is %s, not a string",
					   key, json_is_object(val) ?
					   "an object" : "an array");
		}
		if (cmd->nfields >= KMQ_RMT_MAX_FIELDS)
			return kmq_rmt_err(KMQ_RMT_EFIELD,
					   "JSON header: more than %d extFields",
					   KMQ_RMT_MAX_FIELDS);
		/* jansson refuses \u0000 without JSON_ALLOW_NUL. */
		n = strlen(s);
		if (kmq_rmt_add_field(cmd, key, strlen(key), s, n))
			return kmq_rmt_err(KMQ_RMT_ENOMEM,
					   "JSON header: out of memory");
	}
	return 0;
}

static int kmq_json_fields(json_t *root, struct kmq_rmt_cmd *cmd)
{
	json_t *v;
	int ret;

	ret = kmq_json_int32(root, "code", 1, &cmd->code);
	if (!ret)
		ret = kmq_json_int32(root, "version", 0, &cmd->version);
	if (!ret)
		ret = kmq_json_int32(root, "opaque", 0, &cmd->opaque);
	if (!ret)
		ret = kmq_json_int32(root, "flag", 0, &cmd->flag);
	if (ret)
		return ret;

	/*
	 * Java's default language is JAVA; a name that cannot be one (empty
	 * or too long for cmd->language) is OTHER.
	 */
	v = json_object_get(root, "language");
	if (!v || json_is_null(v)) {
		snprintf(cmd->language, sizeof(cmd->language), "JAVA");
	} else if (!json_is_string(v)) {
		return kmq_rmt_err(KMQ_RMT_EFIELD,
				   "JSON header: 'language' is not a string");
	} else if (json_string_length(v) &&
		   json_string_length(v) < sizeof(cmd->language)) {
		snprintf(cmd->language, sizeof(cmd->language), "%s",
			 json_string_value(v));
	} else {
		snprintf(cmd->language, sizeof(cmd->language), "OTHER");
	}

	v = json_object_get(root, "remark");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return kmq_rmt_err(KMQ_RMT_EFIELD,
					   "JSON header: 'remark' is not a string");
		cmd->remark = strdup(json_string_value(v));
		if (!cmd->remark)
			return kmq_rmt_err(KMQ_RMT_ENOMEM,
					   "JSON header: out of memory");
	}

	v = json_object_get(root, "extFields");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return kmq_rmt_err(KMQ_RMT_EFIELD,
				   "JSON header: 'extFields' is not an object");
	return kmq_json_ext(v, cmd);
}

int kmq_rmt_json_decode(const uint8_t *hdr, uint32_t len,
			struct kmq_rmt_cmd *cmd)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	root = json_loadb((const char *)hdr, len, 0, &jerr);
	if (!root)
		return kmq_rmt_err(KMQ_RMT_EJSON,
				   "JSON header: %s at byte %d", jerr.text,
				   jerr.position);
	if (!json_is_object(root)) {
		json_decref(root);
		return kmq_rmt_err(KMQ_RMT_EJSON,
				   "JSON header: not an object");
	}
	ret = kmq_json_fields(root, cmd);
	json_decref(root);
	return ret;
}

/* A JSON string for @s, with ill-formed UTF-8 replaced by U+FFFD. */
static json_t *kmq_json_str(const char *s)
{
	json_t *j;
	char *fixed;

	if (kmq_rmt_utf8_valid((const uint8_t *)s, strlen(s)))
		return json_string_nocheck(s);
	fixed = kmq_rmt_utf8_fix((const uint8_t *)s, strlen(s));
	if (!fixed)
		return NULL;
	j = json_string_nocheck(fixed);
	free(fixed);
	return j;
}

/* Set @obj[@key] = @val, repairing @key like kmq_json_str(). */
static int kmq_json_set(json_t *obj, const char *key, json_t *val)
{
	char *fixed;
	int ret;

	if (!val)
		return -1;
	if (kmq_rmt_utf8_valid((const uint8_t *)key, strlen(key)))
		return json_object_set_new_nocheck(obj, key, val);
	fixed = kmq_rmt_utf8_fix((const uint8_t *)key, strlen(key));
	if (!fixed) {
		json_decref(val);
		return -1;
	}
	ret = json_object_set_new_nocheck(obj, fixed, val);
	free(fixed);
	return ret;
}

static int kmq_json_put(const char *p, size_t n, void *data)
{
	return kmq_buf_put(data, p, n) ? -1 : 0;
}

static json_t *kmq_json_build(const struct kmq_rmt_cmd *cmd)
{
	const char *lang = "JAVA";
	json_t *root, *ext;
	int err = 0;
	uint32_t i;

	if (cmd->language[0] &&
	    memchr(cmd->language, '\0', sizeof(cmd->language)))
		lang = cmd->language;
	root = json_object();
	ext = json_object();
	if (!root || !ext) {
		json_decref(root);
		json_decref(ext);
		return NULL;
	}
	for (i = 0; i < cmd->nfields; i++)
		err |= kmq_json_set(ext, cmd->fields[i].key,
				    kmq_json_str(cmd->fields[i].val));
	err |= kmq_json_set(root, "code", json_integer(cmd->code));
	err |= kmq_json_set(root, "language", kmq_json_str(lang));
	err |= kmq_json_set(root, "version", json_integer(cmd->version));
	err |= kmq_json_set(root, "opaque", json_integer(cmd->opaque));
	err |= kmq_json_set(root, "flag", json_integer(cmd->flag));
	if (cmd->remark)
		err |= kmq_json_set(root, "remark", kmq_json_str(cmd->remark));
	err |= kmq_json_set(root, "extFields", ext);
	err |= kmq_json_set(root, "serializeTypeCurrentRPC",
			    json_string_nocheck("JSON"));
	if (err) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/*
 * Append @cmd's JSON header to @out. Strings that are not well-formed
 * UTF-8 go out repaired, so the output is always valid JSON.
 */
int kmq_rmt_json_encode(struct kmq_buf *out, const struct kmq_rmt_cmd *cmd)
{
	json_t *root = kmq_json_build(cmd);
	int ret;

	if (!root)
		return -ENOMEM;
	ret = json_dump_callback(root, kmq_json_put, out, JSON_COMPACT);
	json_decref(root);
	return ret ? -ENOMEM : 0;
}
