// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_brokercfg.c - the broker configuration subcommands:
 * getBrokerConfig (GET_BROKER_CONFIG, 26, of -b or of every master of -c:
 * the body's Java properties lines as a key/value table, or --json with
 * the configuration's version) and updateBrokerConfig (-k KEY -v VALUE
 * as UPDATE_BROKER_CONFIG, 25, to the same brokers).
 */
#include <stdlib.h>
#include <string.h>

#include "kmqadmin.h"

/* The value of extField @key of @r, or NULL. */
static const char *kadm_field(const struct kmq_response *r, const char *key)
{
	unsigned int i;

	for (i = 0; i < r->nfields; i++)
		if (!strcmp(r->fields[i].key, key))
			return r->fields[i].value;
	return NULL;
}

/*
 * A properties value as written by the broker back to text: \t \n \r \f,
 * \uXXXX below 0x80, and a backslash before any other character stand
 * for that character. @s is changed in place.
 */
static void kadm_prop_unescape(char *s)
{
	char *o = s;

	while (*s) {
		unsigned int cp;
		char *end;

		if (*s != '\\' || !s[1]) {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 't':
			*o++ = '\t';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'u': {
			char hex[5] = { 0 };

			memcpy(hex, s + 1, strnlen(s + 1, 4));
			cp = (unsigned int)strtoul(hex, &end, 16);
			if (end == hex + 4 && cp && cp < 0x80) {
				*o++ = (char)cp;
				s += 4;
			} else {
				*o++ = '\\';
				*o++ = 'u';
			}
			break;
		}
		default:
			*o++ = *s;
		}
		s++;
	}
	*o = '\0';
}

/*
 * GET_BROKER_CONFIG (26) of @b: {"version": {...} or null, "config":
 * {key: value}} with the keys in the broker's order, or NULL (@k->err).
 */
static json_t *kadm_broker_config(struct kadm *k, const struct kadm_broker *b)
{
	struct kmq_response *resp;
	json_t *doc = NULL, *cfg, *ver;
	char *text, *line, *save = NULL;
	const char *v;

	if (kadm_call(k, b->addr, b->where, KMQ_REQ_GET_BROKER_CONFIG, NULL,
		      0, NULL, 0, &resp)) {
		kmq_response_free(resp);
		return NULL;
	}
	text = strndup(resp->body ? resp->body : "", resp->body_len);
	v = kadm_field(resp, "version");
	ver = v ? json_loads(v, 0, NULL) : NULL;
	kmq_response_free(resp);
	if (!text) {
		json_decref(ver);
		kadm_seterr(k, "out of memory");
		return NULL;
	}
	doc = json_pack("{s:o, s:{}}", "version", ver ? ver : json_null(),
			"config");
	cfg = json_object_get(doc, "config");
	for (line = strtok_r(text, "\r\n", &save); line && cfg;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char *eq = strchr(line, '=');

		if (line[0] == '#' || line[0] == '!' || !eq)
			continue;
		*eq = '\0';
		kadm_prop_unescape(line);
		kadm_prop_unescape(eq + 1);
		json_object_set_new(cfg, line, json_string(eq + 1));
	}
	free(text);
	if (!cfg) {
		json_decref(doc);
		kadm_seterr(k, "GET_BROKER_CONFIG (26) to %s: out of memory",
			    b->where);
		return NULL;
	}
	return doc;
}

/* ---- getBrokerConfig ------------------------------------------------------- */

static int kadm_get_broker_config(struct kadm *k)
{
	struct kadm_broker *bv;
	struct kadm_table *t;
	json_t *doc, *all;
	int n, i, failed = 0;

	n = kadm_targets(k, &bv);
	if (n < 0)
		return -n;
	t = n > 1 ? kadm_table_new(3, "Broker Addr", "Key", "Value") :
		    kadm_table_new(2, "Key", "Value");
	doc = json_pack("{s:{}}", "brokers");
	all = json_object_get(doc, "brokers");
	for (i = 0; i < n; i++) {
		json_t *bc = kadm_broker_config(k, &bv[i]), *v;
		const char *key;

		if (!bc) {
			failed++;
			kadm_fail_err(k);
			continue;
		}
		json_object_foreach(json_object_get(bc, "config"), key, v) {
			if (n > 1)
				kadm_cell(t, "%s", bv[i].addr);
			kadm_cell(t, "%s", key);
			kadm_cell(t, "%s", json_string_value(v));
		}
		json_object_set_new(all, bv[i].addr, bc);
	}
	if (k->json)
		kadm_json_print(doc);
	else if (failed < n)
		kadm_table_print(t, stdout);
	if (!k->json)
		json_decref(doc);
	kadm_table_free(t);
	free(bv);
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- updateBrokerConfig ---------------------------------------------------- */

/*
 * The key and value as one properties line, or a usage error: the line
 * carries them unescaped, so neither may hold a line break or a
 * backslash, nor the key a separator or a blank.
 */
static int kadm_config_line(struct kadm *k, char **out)
{
	const char *key = kadm_opt_val(k, 'k'), *val = kadm_opt_val(k, 'v');

	if (!*key || key[strcspn(key, "=: \t\f\r\n\\")] || key[0] == '#' ||
	    key[0] == '!')
		return kadm_usage_err(k,
				      "-k '%s': a configuration key (no blanks, '=', ':' or '\\')",
				      key);
	if (val[strcspn(val, "\r\n\\")])
		return kadm_usage_err(k, "-v: a value on one line, without '\\'");
	if (asprintf(out, "%s=%s\n", key, val) < 0) {
		*out = NULL;
		return kadm_fail(k, "out of memory");
	}
	return 0;
}

static int kadm_update_broker_config(struct kadm *k)
{
	struct kadm_broker *bv;
	json_t *doc, *arr;
	int n, i, failed = 0, ret;
	char *body;

	ret = kadm_config_line(k, &body);
	if (ret)
		return ret;
	n = kadm_targets(k, &bv);
	if (n < 0) {
		free(body);
		return -n;
	}
	doc = json_pack("{s:s, s:s, s:[]}", "key", kadm_opt_val(k, 'k'),
			"value", kadm_opt_val(k, 'v'), "brokers");
	arr = json_object_get(doc, "brokers");
	for (i = 0; i < n; i++) {
		struct kmq_response *resp;

		ret = kadm_call(k, bv[i].addr, bv[i].where,
				KMQ_REQ_UPDATE_BROKER_CONFIG, NULL, 0, body,
				strlen(body), &resp);
		kmq_response_free(resp);
		if (ret) {
			failed++;
			kadm_fail_err(k);
		} else if (!k->json) {
			printf("update broker config success, %s\n",
			       bv[i].addr);
		}
		json_array_append_new(arr, kadm_result_json(&bv[i], ret,
							    k->err));
	}
	if (k->json)
		kadm_json_print(doc);
	else
		json_decref(doc);
	free(body);
	free(bv);
	return failed ? KADM_EXIT_FAIL : KADM_EXIT_OK;
}

/* ---- the table ------------------------------------------------------------- */

static const struct kadm_opt kadm_get_config_opts[] = {
	{ 'b', "brokerAddr", "ADDR", false,
	  "this broker (host:port); wins over -c" },
	{ 'c', "clusterName", "NAME", false, "every master of this cluster" },
	{ 0 }
};

static const struct kadm_opt kadm_update_config_opts[] = {
	{ 'b', "brokerAddr", "ADDR", false,
	  "this broker (host:port); wins over -c" },
	{ 'c', "clusterName", "NAME", false, "every master of this cluster" },
	{ 'k', "key", "KEY", true,
	  "the key, e.g. defaultTopicQueueNums or logLevel" },
	{ 'v', "value", "VALUE", true, "its new value" },
	{ 0 }
};

const struct kadm_cmd kadm_brokercfg_cmds[] = {
	{ "getBrokerConfig", "Fetch a broker's configuration",
	  kadm_get_config_opts, kadm_get_broker_config },
	{ "updateBrokerConfig", "Change a broker's configuration while it runs",
	  kadm_update_config_opts, kadm_update_broker_config },
	{ NULL }
};
