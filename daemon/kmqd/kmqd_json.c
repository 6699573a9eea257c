// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_json.c - reading RocketMQ's own JSON files under config/.
 *
 * RocketMQ writes consumerOffset.json and delayOffset.json with fastjson,
 * which leaves integer map keys unquoted ({"T@G":{0:350,1:0}}). Standard
 * JSON parsers refuse that, so keys that are bare integers are quoted
 * before parsing; everything else is left as it is.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmqd_broker.h"

/* Quote bare integer object keys of @in (@len bytes); NUL-terminated. */
static char *kmqd_json_quote_keys(const char *in, size_t len)
{
	char *out = malloc(len * 3 + 1), *o = out;
	bool in_str = false, key_pos = false;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		char ch = in[i];

		if (in_str) {
			*o++ = ch;
			if (ch == '\\' && i + 1 < len)
				*o++ = in[++i];
			else if (ch == '"')
				in_str = false;
			i++;
			continue;
		}
		if (key_pos && (isdigit((unsigned char)ch) || ch == '-')) {
			size_t j = i + 1, k;

			while (j < len && isdigit((unsigned char)in[j]))
				j++;
			k = j;
			while (k < len && isspace((unsigned char)in[k]))
				k++;
			if (k < len && in[k] == ':') {
				*o++ = '"';
				memcpy(o, in + i, j - i);
				o += j - i;
				*o++ = '"';
				i = j;
				key_pos = false;
				continue;
			}
		}
		if (ch == '"')
			in_str = true;
		if (ch == '{' || ch == ',')
			key_pos = true;
		else if (!isspace((unsigned char)ch))
			key_pos = false;
		*o++ = ch;
		i++;
	}
	*o = '\0';
	return out;
}

/*
 * kmqd_json_load_file() - parse @path as JSON, accepting fastjson's
 * unquoted integer keys. Return: the document, or NULL with @err set
 * (err->line 0 and text "" when the file cannot be read).
 */
json_t *kmqd_json_load_file(const char *path, json_error_t *err)
{
	char *text = NULL, *fixed;
	size_t len = 0, cap = 0;
	json_t *doc;
	FILE *f;

	memset(err, 0, sizeof(*err));
	f = fopen(path, "re");
	if (!f) {
		snprintf(err->text, sizeof(err->text), "%s", strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			char *t = realloc(text, cap ? cap * 2 : 4096);

			if (!t)
				break;
			text = t;
			cap = cap ? cap * 2 : 4096;
		}
		n = fread(text + len, 1, cap - len, f);
		if (!n)
			break;
		len += n;
	}
	fclose(f);
	fixed = text ? kmqd_json_quote_keys(text, len) : NULL;
	free(text);
	if (!fixed) {
		snprintf(err->text, sizeof(err->text), "out of memory");
		return NULL;
	}
	doc = json_loads(fixed, 0, err);
	free(fixed);
	return doc;
}
