// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_subgroup.c - subscription group configurations, as RocketMQ's
 * SubscriptionGroupManager: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200),
 * GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP (207),
 * kept in config/subscriptionGroup.json in RocketMQ's shape:
 *
 *   {"dataVersion":{"counter":3,"timestamp":1700000000000},
 *    "subscriptionGroupTable":{"G":{"groupName":"G","consumeEnable":true,
 *      "retryMaxTimes":16,...}}}
 *
 * A group met in a heartbeat or a pull gets a configuration with
 * RocketMQ's defaults (autoCreateSubscriptionGroup). kmqd applies
 * consumeEnable (a disabled group's pulls get NO_PERMISSION) and
 * retryMaxTimes (the send-back limit when the client sends none); the
 * other fields are kept and returned as given.
 *
 * 200 and 207 write the file before answering, as topic changes do;
 * groups created on the fly are written by the timer thread (every 5 s)
 * and at shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "kmq_fs.h"
#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

#define KMQD_SUBGROUP_FILE	"subscriptionGroup.json"
#define KMQD_GROUP_NAME_MAX	255

enum kmqd_sg_type { KMQD_SG_BOOL, KMQD_SG_INT };

/* The fields of SubscriptionGroupConfig kmqd knows, with their defaults. */
static const struct {
	const char *name;
	enum kmqd_sg_type type;
	json_int_t def;
	json_int_t min;
	json_int_t max;
} kmqd_sg_fields[] = {
	{ "consumeEnable", KMQD_SG_BOOL, 1, 0, 1 },
	{ "consumeFromMinEnable", KMQD_SG_BOOL, 1, 0, 1 },
	{ "consumeBroadcastEnable", KMQD_SG_BOOL, 1, 0, 1 },
	{ "consumeMessageOrderly", KMQD_SG_BOOL, 0, 0, 1 },
	{ "retryQueueNums", KMQD_SG_INT, 1, 0, 1024 },
	{ "retryMaxTimes", KMQD_SG_INT, KMQD_SUBGROUP_RETRY_MAX, -1, 65535 },
	{ "brokerId", KMQD_SG_INT, 0, 0, INT32_MAX },
	{ "whichBrokerWhenConsumeSlowly", KMQD_SG_INT, 1, 0, INT32_MAX },
	{ "notifyConsumerIdsChangedEnable", KMQD_SG_BOOL, 1, 0, 1 },
	{ "groupSysFlag", KMQD_SG_INT, 0, INT32_MIN, INT32_MAX },
	{ "consumeTimeoutMinute", KMQD_SG_INT, 15, 0, INT32_MAX },
};

static pthread_mutex_t kmqd_sg_lock = PTHREAD_MUTEX_INITIALIZER;
/* Serialises writers of the file, so versions land in order. */
static pthread_mutex_t kmqd_sg_file_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *kmqd_sg_table;		/* group name -> configuration */
static json_int_t kmqd_sg_counter;
static bool kmqd_sg_dirty;

static json_int_t kmqd_sg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Names of groups: RocketMQ's characters for topics, at most 255 bytes. */
static bool kmqd_sg_name_ok(const char *name)
{
	const char *p;

	if (!name || !*name || strlen(name) > KMQD_GROUP_NAME_MAX)
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '%' || *p == '|' ||
		      *p == '-' || *p == '_'))
			return false;
	return true;
}

/*
 * Normalise @cfg in place: every known field present with its type
 * (defaults filled in; "true"/"12" strings accepted as fastjson does).
 * Return: NULL, or the name of the first field of a wrong type or out of
 * range.
 */
static const char *kmqd_sg_normalise(json_t *cfg, const char *name)
{
	unsigned int i;

	json_object_set_new(cfg, "groupName", json_string(name));
	for (i = 0; i < ARRAY_SIZE(kmqd_sg_fields); i++) {
		const char *f = kmqd_sg_fields[i].name;
		json_t *v = json_object_get(cfg, f);
		json_int_t x = kmqd_sg_fields[i].def;

		if (!v || json_is_null(v)) {
			/* the default */
		} else if (kmqd_sg_fields[i].type == KMQD_SG_BOOL) {
			const char *s = json_string_value(v);

			if (json_is_boolean(v))
				x = json_is_true(v);
			else if (s && !strcasecmp(s, "true"))
				x = 1;
			else if (s && !strcasecmp(s, "false"))
				x = 0;
			else
				return f;
		} else {
			const char *s = json_string_value(v);
			char *end;

			if (json_is_integer(v)) {
				x = json_integer_value(v);
			} else if (s && *s) {
				errno = 0;
				x = strtoll(s, &end, 10);
				if (errno || *end)
					return f;
			} else {
				return f;
			}
		}
		if (x < kmqd_sg_fields[i].min || x > kmqd_sg_fields[i].max)
			return f;
		json_object_set_new(cfg, f, kmqd_sg_fields[i].type ==
				    KMQD_SG_BOOL ? json_boolean(x) :
				    json_integer(x));
	}
	if (!json_is_object(json_object_get(cfg, "attributes")))
		json_object_set_new(cfg, "attributes", json_object());
	return NULL;
}

/* The file's document (lock held); NULL when out of memory. */
static json_t *kmqd_sg_doc(void)
{
	return json_pack("{s:O, s:{s:I, s:I}}",
			 "subscriptionGroupTable", kmqd_sg_table,
			 "dataVersion", "counter", kmqd_sg_counter,
			 "timestamp", kmqd_sg_now_ms());
}

/* A change (lock held). */
static void kmqd_sg_changed(void)
{
	kmqd_sg_counter++;
	kmqd_sg_dirty = true;
}

int kmqd_subgroups_persist(const char *root)
{
	char path[4096], *text = NULL;
	int dfd, ret;
	json_t *doc;

	pthread_mutex_lock(&kmqd_sg_file_lock);
	pthread_mutex_lock(&kmqd_sg_lock);
	if (kmqd_sg_dirty && kmqd_sg_table) {
		doc = kmqd_sg_doc();
		text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) :
		       NULL;
		json_decref(doc);
		if (text)
			kmqd_sg_dirty = false;
	}
	pthread_mutex_unlock(&kmqd_sg_lock);
	if (!text) {
		pthread_mutex_unlock(&kmqd_sg_file_lock);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/config", root);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = dfd < 0 ? -errno :
	      kmq_write_file_atomic(dfd, KMQD_SUBGROUP_FILE, text,
				    strlen(text));
	if (dfd >= 0)
		close(dfd);
	pthread_mutex_unlock(&kmqd_sg_file_lock);
	free(text);
	if (ret) {
		log_err("write %s/%s: %s", path, KMQD_SUBGROUP_FILE,
			strerror(-ret));
		pthread_mutex_lock(&kmqd_sg_lock);
		kmqd_sg_dirty = true;
		pthread_mutex_unlock(&kmqd_sg_lock);
	}
	return ret;
}

int kmqd_subgroups_load(const char *root)
{
	json_t *doc, *table, *cfg, *loaded, *ver;
	json_error_t jerr;
	char path[4096];
	const char *name;

	snprintf(path, sizeof(path), "%s/config/%s", root, KMQD_SUBGROUP_FILE);
	loaded = json_object();
	if (!loaded)
		return -ENOMEM;
	pthread_mutex_lock(&kmqd_sg_lock);
	json_decref(kmqd_sg_table);
	kmqd_sg_table = loaded;
	pthread_mutex_unlock(&kmqd_sg_lock);
	if (access(path, F_OK))
		return 0;
	doc = kmqd_json_load_file(path, &jerr);
	table = json_object_get(doc, "subscriptionGroupTable");
	if (!json_is_object(table)) {
		log_err("%s:%d: %s", path, jerr.line,
			doc ? "no subscriptionGroupTable object" : jerr.text);
		json_decref(doc);
		return -EINVAL;
	}
	pthread_mutex_lock(&kmqd_sg_lock);
	json_object_foreach(table, name, cfg) {
		const char *bad;

		if (!json_is_object(cfg) || !kmqd_sg_name_ok(name)) {
			log_warn("%s: group %s skipped: not a configuration",
				 path, name);
			continue;
		}
		cfg = json_deep_copy(cfg);
		bad = cfg ? kmqd_sg_normalise(cfg, name) : "memory";
		if (bad) {
			log_warn("%s: group %s skipped: bad %s", path, name,
				 bad);
			json_decref(cfg);
			continue;
		}
		json_object_set_new(kmqd_sg_table, name, cfg);
	}
	ver = json_object_get(doc, "dataVersion");
	kmqd_sg_counter = json_integer_value(json_object_get(ver, "counter"));
	log_info("subscription groups loaded from %s (%zu groups)", path,
		 json_object_size(kmqd_sg_table));
	pthread_mutex_unlock(&kmqd_sg_lock);
	json_decref(doc);
	return 0;
}

void kmqd_subgroups_free(void)
{
	pthread_mutex_lock(&kmqd_sg_lock);
	json_decref(kmqd_sg_table);
	kmqd_sg_table = NULL;
	pthread_mutex_unlock(&kmqd_sg_lock);
}

bool kmqd_subgroup_ensure(const char *group)
{
	bool enabled = true;
	json_t *cfg;

	pthread_mutex_lock(&kmqd_sg_lock);
	cfg = json_object_get(kmqd_sg_table, group);
	if (cfg) {
		enabled = json_is_true(json_object_get(cfg, "consumeEnable"));
	} else if (kmqd_sg_table && kmqd_sg_name_ok(group)) {
		cfg = json_object();
		if (cfg && kmqd_sg_normalise(cfg, group)) {
			json_decref(cfg);
			cfg = NULL;
		}
		if (cfg && !json_object_set_new(kmqd_sg_table, group, cfg)) {
			kmqd_sg_changed();
			log_info("subscription group %s created with the defaults",
				 group);
		}
	}
	pthread_mutex_unlock(&kmqd_sg_lock);
	return enabled;
}

bool kmqd_subgroup_exists(const char *group)
{
	bool found;

	pthread_mutex_lock(&kmqd_sg_lock);
	found = json_object_get(kmqd_sg_table, group);
	pthread_mutex_unlock(&kmqd_sg_lock);
	return found;
}

int kmqd_subgroup_retry_max(const char *group)
{
	json_t *v;
	int max = KMQD_SUBGROUP_RETRY_MAX;

	pthread_mutex_lock(&kmqd_sg_lock);
	v = json_object_get(json_object_get(kmqd_sg_table, group),
			    "retryMaxTimes");
	if (json_is_integer(v))
		max = json_integer_value(v);
	pthread_mutex_unlock(&kmqd_sg_lock);
	return max;
}

/* 200: the body is a SubscriptionGroupConfig; it replaces the group's. */
void kmqd_subgroup_update_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const char *name, *bad;
	json_error_t jerr;
	json_t *cfg;
	int ret;

	cfg = req->body_len ? json_loadb((const char *)req->body,
					 req->body_len, 0, &jerr) : NULL;
	if (!json_is_object(cfg)) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "the body must be a SubscriptionGroupConfig JSON object%s%s",
			    cfg || !req->body_len ? "" : ": ",
			    cfg || !req->body_len ? "" : jerr.text);
		json_decref(cfg);
		return;
	}
	name = json_string_value(json_object_get(cfg, "groupName"));
	if (!kmqd_sg_name_ok(name)) {
		kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
			    "groupName %s: need 1 to %d characters of a-z A-Z 0-9 %% | - _",
			    name ? name : "missing", KMQD_GROUP_NAME_MAX);
		json_decref(cfg);
		return;
	}
	name = strdup(name);
	bad = name ? kmqd_sg_normalise(cfg, name) : NULL;
	if (!name || bad) {
		if (bad)
			kmqd_replyf(c, req, KMQ_RESP_INVALID_PARAMETER,
				    "subscription group %s: %s has a wrong type or is out of range",
				    name, bad);
		else
			kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR,
				   "out of memory");
		free((char *)name);
		json_decref(cfg);
		return;
	}
	pthread_mutex_lock(&kmqd_sg_lock);
	if (kmqd_sg_table) {
		ret = json_object_set_new(kmqd_sg_table, name, cfg);
	} else {
		json_decref(cfg);
		ret = -1;
	}
	if (!ret)
		kmqd_sg_changed();
	pthread_mutex_unlock(&kmqd_sg_lock);
	if (ret) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		free((char *)name);
		return;
	}
	log_info("subscription group %s created or updated (from %s)", name,
		 kmqd_conn_peer(c));
	ret = kmqd_subgroups_persist(kmqd_brk->opts.store.root);
	if (ret)
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "subscription group %s updated but %s not written: %s",
			    name, KMQD_SUBGROUP_FILE, strerror(-ret));
	else
		kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
	free((char *)name);
}

/* 201: the whole file's document. */
void kmqd_subgroup_get_all_handle(struct kmqd_conn *c,
				  struct kmq_rmt_cmd *req)
{
	char *text = NULL;
	json_t *doc;

	/* The table is shared with other loops: dump it under the lock. */
	pthread_mutex_lock(&kmqd_sg_lock);
	doc = kmqd_sg_table ? kmqd_sg_doc() : NULL;
	if (doc)
		text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	pthread_mutex_unlock(&kmqd_sg_lock);
	if (!text) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	kmqd_reply_body(c, req, text, strlen(text));
	free(text);
}

/*
 * 207: groupName, and cleanOffset (also drop the group's consumer
 * offsets). Deleting an unknown group succeeds, as in RocketMQ, with a
 * remark saying so.
 */
void kmqd_subgroup_delete_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	const char *name;
	int clean = 0, ret;
	bool found;

	if (!kmqd_need_str(c, req, "groupName", &name))
		return;
	if (kmq_rmt_ext(req, "cleanOffset") &&
	    kmq_rmt_ext_bool(req, "cleanOffset", &clean)) {
		kmqd_reply(c, req, KMQ_RESP_INVALID_PARAMETER,
			   "the cleanOffset field is not a boolean");
		return;
	}
	pthread_mutex_lock(&kmqd_sg_lock);
	found = !json_object_del(kmqd_sg_table, name);
	if (found)
		kmqd_sg_changed();
	pthread_mutex_unlock(&kmqd_sg_lock);
	if (clean)
		kmqd_offsets_drop_group(name);
	if (!found) {
		kmqd_replyf(c, req, KMQ_RESP_SUCCESS,
			    "subscription group %s does not exist", name);
		return;
	}
	log_info("subscription group %s deleted%s (from %s)", name,
		 clean ? " with its offsets" : "", kmqd_conn_peer(c));
	ret = kmqd_subgroups_persist(kmqd_brk->opts.store.root);
	if (ret)
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "subscription group %s deleted but %s not written: %s",
			    name, KMQD_SUBGROUP_FILE, strerror(-ret));
	else
		kmqd_reply(c, req, KMQ_RESP_SUCCESS, NULL);
}
