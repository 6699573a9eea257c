// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_brokercfg.c - the broker's configuration over the wire, as mqadmin
 * getBrokerConfig/updateBrokerConfig and dashboards ask for it:
 *
 *   26 GET_BROKER_CONFIG     body: the effective configuration as Java
 *                            properties ("key=value\n", sorted by key, as
 *                            `kmqd -p` prints it); extField "version": the
 *                            configuration's DataVersion as JSON
 *   25 UPDATE_BROKER_CONFIG  body: "key=value" lines. Keys kmqd can change
 *                            while it runs are applied, all or none: a
 *                            single unknown key, bad value or read-only
 *                            key refuses the request, naming the key
 *
 * The effective configuration is what the broker runs with: its options
 * (kmqd_broker_opts, filled from the configuration at start), the backend
 * actually open, the io loops actually running, the log level now. Keys
 * the broker does not keep (brokerRole, deleteWhen, logFile,
 * namesrvListenPort) are left out rather than guessed.
 *
 * Changeable while running: autoCreateTopicEnable, defaultTopicQueueNums,
 * transferMsgByHeap, logLevel. Changes live until kmqd stops; broker.conf
 * is not rewritten.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_config.h"
#include "kmqd_log.h"

/* Largest UPDATE_BROKER_CONFIG body, and keys in it. */
#define KMQD_BROKERCFG_BODY_MAX		(64u << 10)
#define KMQD_BROKERCFG_KEYS_MAX		64

/* Keys the broker does not keep: not in 26's answer. */
static const char *const kmqd_brokercfg_unknown[] = {
	"brokerRole", "deleteWhen", "logFile", "namesrvListenPort",
};

/* Keys 25 may change. */
static const char *const kmqd_brokercfg_runtime[] = {
	"autoCreateTopicEnable", "defaultTopicQueueNums", "logLevel",
	"transferMsgByHeap",
};

/* The configuration's DataVersion; changed under the lock. */
static pthread_mutex_t kmqd_brokercfg_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t kmqd_brokercfg_counter;
static uint64_t kmqd_brokercfg_stamp;	/* ms, 0: not asked yet */

static uint64_t kmqd_brokercfg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool kmqd_brokercfg_in(const char *const *names, size_t n,
			      const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && !memcmp(names[i], key, len))
			return true;
	return false;
}

/* The broker's effective configuration in @c (the lock held). */
static void kmqd_brokercfg_effective(struct kmqd_config *c)
{
	const struct kmqd_broker_opts *o = &kmqd_brk->opts;
	const struct kmq_store_config *sc = &o->store;

	kmqd_config_init(c, KMQD_ROLE_BROKER);
	snprintf(c->broker_cluster_name, sizeof(c->broker_cluster_name), "%s",
		 o->cluster);
	snprintf(c->broker_name, sizeof(c->broker_name), "%s", o->name);
	c->broker_id = (uint64_t)o->id;
	snprintf(c->namesrv_addr, sizeof(c->namesrv_addr), "%s",
		 o->namesrv_addrs ? o->namesrv_addrs : "");
	c->listen_port = o->port;
	snprintf(c->listen_addr, sizeof(c->listen_addr), "%s",
		 o->listen_addr);
	snprintf(c->broker_ip1, sizeof(c->broker_ip1), "%s", o->broker_ip);
	snprintf(c->store_path_root_dir, sizeof(c->store_path_root_dir), "%s",
		 sc->root);
	c->flush_disk_type = sc->flush_mode == KMQ_FLUSH_SYNC ?
			     KMQD_SYNC_FLUSH : KMQD_ASYNC_FLUSH;
	c->file_reserved_time = (unsigned int)(sc->retention_ms / 3600000);
	c->maped_file_size_commit_log = sc->segment_size;
	c->ring_segments = sc->ring_segments;
	c->max_message_size = o->max_message_size;
	c->auto_create_topic_enable = __atomic_load_n(&o->auto_create_topic,
						      __ATOMIC_RELAXED);
	c->default_topic_queue_nums = __atomic_load_n(&o->default_queues,
						      __ATOMIC_RELAXED);
	c->transfer_msg_by_heap = __atomic_load_n(&o->transfer_by_heap,
						  __ATOMIC_RELAXED);
	c->log_level = kmqd_log_get_level();
	c->io_threads = kmqd_loop_count();
	c->store_backend = !strcmp(kmqd_brk->store->ops->name, "kernel") ?
			   KMQD_BACKEND_KERNEL : KMQD_BACKEND_USER;
}

/*
 * kmqd_brokercfg_text() - 26's body: `kmqd -p`'s lines of @c without the
 * keys the broker does not keep, mapedFileSizeCommitLog also under
 * RocketMQ 4.9's spelling mappedFileSizeCommitLog. malloc'ed, or NULL.
 */
static char *kmqd_brokercfg_text(const struct kmqd_config *c, size_t *len)
{
	static const char maped[] = "mapedFileSizeCommitLog=";
	char *all = NULL, *out = NULL, *p, *nl;
	size_t alllen = 0, n = 0;
	FILE *f;

	f = open_memstream(&all, &alllen);
	if (!f)
		return NULL;
	kmqd_config_print(c, f);
	if (fclose(f) || !all)
		goto out;
	/* Each kept line once, the alias line once more. */
	out = malloc(alllen * 2 + 1);
	if (!out)
		goto out;
	for (p = all; *p; p = nl + 1) {
		size_t klen = strcspn(p, "="), llen;

		nl = strchr(p, '\n');
		if (!nl)
			break;
		llen = (size_t)(nl - p) + 1;
		if (kmqd_brokercfg_in(kmqd_brokercfg_unknown,
				      ARRAY_SIZE(kmqd_brokercfg_unknown), p,
				      klen))
			continue;
		memcpy(out + n, p, llen);
		n += llen;
		if (!strncmp(p, maped, sizeof(maped) - 1)) {
			/* "map" + "p" + "edFileSizeCommitLog=...\n" */
			memcpy(out + n, "mapp", 4);
			memcpy(out + n + 4, p + 3, llen - 3);
			n += llen + 1;
		}
	}
	out[n] = '\0';
	*len = n;
out:
	free(all);
	return out;
}

/* The DataVersion JSON of the configuration (the lock held). */
static void kmqd_brokercfg_version(char *buf, size_t len)
{
	if (!kmqd_brokercfg_stamp)
		kmqd_brokercfg_stamp = kmqd_brokercfg_now_ms();
	snprintf(buf, len,
		 "{\"counter\":%" PRIu64 ",\"stateVersion\":0,\"timestamp\":%" PRIu64 "}",
		 kmqd_brokercfg_counter, kmqd_brokercfg_stamp);
}

/* 26: the configuration and its version. */
static void kmqd_brokercfg_get(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	struct kmqd_config cfg;
	struct kmq_rmt_cmd resp;
	char version[128];
	size_t len = 0;
	char *text;

	pthread_mutex_lock(&kmqd_brokercfg_lock);
	kmqd_brokercfg_effective(&cfg);
	kmqd_brokercfg_version(version, sizeof(version));
	pthread_mutex_unlock(&kmqd_brokercfg_lock);
	text = kmqd_brokercfg_text(&cfg, &len);
	if (!text) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	if (!(req->flag & KMQ_RMT_FLAG_ONEWAY) &&
	    !kmq_rmt_response(&resp, req, KMQ_RESP_SUCCESS, NULL)) {
		if (!kmq_rmt_set_ext(&resp, "version", version))
			kmqd_conn_reply(c, &resp, text, len);
		else
			kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR,
				   "out of memory");
		kmq_rmt_cmd_free(&resp);
	}
	free(text);
}

/* ---- 25 ------------------------------------------------------------ */

struct kmqd_prop {
	char *key;
	char *val;
};

static bool kmqd_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\f';
}

/*
 * kmqd_props_split() - "key=value" lines of @text (NUL-terminated, cut
 * in place) into @p: '=' or ':' separates, blanks around key and value
 * go, blank lines and '#' or '!' comments are skipped, a line without a
 * separator is a key with an empty value (as Java's Properties). A
 * backslash (an escape) is refused: no key kmqd changes needs one.
 * Return: how many, or -1 with @why set.
 */
static int kmqd_props_split(char *text, struct kmqd_prop *p, int max,
			    char *why, size_t whylen)
{
	unsigned int line = 0;
	char *s = text, *next;
	int n = 0;

	for (; s && *s; s = next) {
		char *k, *v, *e;

		line++;
		next = s + strcspn(s, "\r\n");
		if (*next == '\r' && next[1] == '\n')
			*next++ = '\0';
		if (*next)
			*next++ = '\0';
		else
			next = NULL;
		while (kmqd_blank(*s))
			s++;
		if (!*s || *s == '#' || *s == '!')
			continue;
		if (strchr(s, '\\')) {
			snprintf(why, whylen,
				 "line %u: backslash escapes are not supported",
				 line);
			return -1;
		}
		if (n == max) {
			snprintf(why, whylen, "more than %d keys", max);
			return -1;
		}
		k = s;
		v = k + strcspn(k, "=: \t\f");
		e = v;
		while (kmqd_blank(*v))
			v++;
		if (*v == '=' || *v == ':')
			v++;
		*e = '\0';
		while (kmqd_blank(*v))
			v++;
		e = v + strlen(v);
		while (e > v && kmqd_blank(e[-1]))
			*--e = '\0';
		p[n].key = k;
		p[n].val = v;
		n++;
	}
	return n;
}

static bool kmqd_brokercfg_changeable(const char *key)
{
	return kmqd_brokercfg_in(kmqd_brokercfg_runtime,
				 ARRAY_SIZE(kmqd_brokercfg_runtime), key,
				 strlen(key));
}

/*
 * Check every key of @p against a copy of the configuration (@next gets
 * the values); 0, or the response code with @why naming the first bad key.
 */
static int kmqd_brokercfg_check(const struct kmqd_prop *p, int n,
				struct kmqd_config *next, char *why,
				size_t whylen)
{
	char err[512];
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = kmqd_config_set(next, p[i].key, p[i].val, err,
				      sizeof(err));
		if (ret == -ENOENT) {
			snprintf(why, whylen, "%s", err);
			return KMQ_RESP_SYSTEM_ERROR;
		}
		if (!kmqd_brokercfg_changeable(p[i].key)) {
			size_t j, at;

			at = snprintf(why, whylen,
				      "%s cannot change while kmqd runs (set it in broker.conf and restart; keys that can:",
				      p[i].key);
			for (j = 0; j < ARRAY_SIZE(kmqd_brokercfg_runtime) &&
			     at < whylen; j++)
				at += snprintf(why + at, whylen - at, " %s",
					       kmqd_brokercfg_runtime[j]);
			if (at < whylen)
				snprintf(why + at, whylen - at, ")");
			return KMQ_RESP_NO_PERMISSION;
		}
		if (ret) {
			snprintf(why, whylen, "%s", err);
			return KMQ_RESP_SYSTEM_ERROR;
		}
	}
	return 0;
}

/* Put @next's changeable values in force (the lock held). */
static void kmqd_brokercfg_apply(const struct kmqd_config *next)
{
	struct kmqd_broker_opts *o = &kmqd_brk->opts;

	__atomic_store_n(&o->auto_create_topic, next->auto_create_topic_enable,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&o->default_queues, next->default_topic_queue_nums,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&o->transfer_by_heap, next->transfer_msg_by_heap,
			 __ATOMIC_RELAXED);
	kmqd_log_set_level(next->log_level);
}

/* 25: check everything, then apply everything. */
static void kmqd_brokercfg_update(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	struct kmqd_prop props[KMQD_BROKERCFG_KEYS_MAX];
	struct kmqd_config cur, next;
	char why[768], *text;
	int n, code, i;

	if (req->body_len > KMQD_BROKERCFG_BODY_MAX) {
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "updateBrokerConfig: body of %u bytes, more than %u; nothing changed",
			    req->body_len, KMQD_BROKERCFG_BODY_MAX);
		return;
	}
	text = malloc(req->body_len + 1);
	if (!text) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	if (req->body_len)
		memcpy(text, req->body, req->body_len);
	text[req->body_len] = '\0';
	if (strlen(text) != req->body_len) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR,
			   "updateBrokerConfig: a NUL byte in the body; nothing changed");
		free(text);
		return;
	}
	n = kmqd_props_split(text, props, KMQD_BROKERCFG_KEYS_MAX, why,
			     sizeof(why));
	if (n < 0) {
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "updateBrokerConfig: %s; nothing changed", why);
		free(text);
		return;
	}

	pthread_mutex_lock(&kmqd_brokercfg_lock);
	kmqd_brokercfg_effective(&cur);
	next = cur;
	code = kmqd_brokercfg_check(props, n, &next, why, sizeof(why));
	/* autoCreateTopicEnable on: TBW102 first, as at start. */
	if (!code && next.auto_create_topic_enable &&
	    !cur.auto_create_topic_enable &&
	    kmqd_topic_ensure(KMQD_AUTO_CREATE_TOPIC,
			      next.default_topic_queue_nums, true, NULL)) {
		snprintf(why, sizeof(why), "cannot create %s: %s",
			 KMQD_AUTO_CREATE_TOPIC, kmqd_st_errmsg());
		code = KMQ_RESP_SYSTEM_ERROR;
	}
	if (!code && n) {
		kmqd_brokercfg_apply(&next);
		kmqd_brokercfg_counter++;
		kmqd_brokercfg_stamp = kmqd_brokercfg_now_ms();
	}
	pthread_mutex_unlock(&kmqd_brokercfg_lock);

	if (code) {
		log_info("updateBrokerConfig from %s refused: %s",
			 kmqd_conn_peer(c), why);
		kmqd_replyf(c, req, code,
			    "updateBrokerConfig: %s; nothing changed", why);
	} else {
		for (i = 0; i < n; i++)
			log_info("updateBrokerConfig from %s: %s=%s",
				 kmqd_conn_peer(c), props[i].key,
				 props[i].val);
		kmqd_reply(c, req, KMQ_RESP_SUCCESS, n ? NULL :
			   "updateBrokerConfig: no key given; nothing changed");
	}
	free(text);
}

bool kmqd_brokercfg_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	switch (req->code) {
	case KMQ_REQ_GET_BROKER_CONFIG:
		kmqd_brokercfg_get(c, req);
		return true;
	case KMQ_REQ_UPDATE_BROKER_CONFIG:
		kmqd_brokercfg_update(c, req);
		return true;
	}
	return false;
}
