// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_retry.c - retry, dead letters and delay levels.
 *
 * CONSUMER_SEND_MSG_BACK (36) takes the failed record by its commitlog
 * offset and appends a copy for %RETRY%<group> with reconsumeTimes + 1,
 * delayed by level 3 + reconsumeTimes (or the level asked for); at
 * maxReconsumeTimes, or for a negative level, it goes to %DLQ%<group>.
 *
 * A delayed message (from a send-back, or sent with the DELAY property)
 * is parked in SCHEDULE_TOPIC_XXXX, queue level - 1, with REAL_TOPIC and
 * REAL_QID. The delay thread moves each queue's head to its real topic
 * once its store time plus the level's delay has passed; progress per
 * level persists in config/delayOffset.json. The same thread (kmqd-timer)
 * persists the consumer offsets every 5 s, off the io loops.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "kmq_fs.h"
#include "kmq_props.h"
#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

#define KMQD_DEFAULT_MAX_RECONSUME	16
#define KMQD_PROPS_BUF			(KMQ_PROPS_MAX + 1)
#define KMQD_DELAY_POLL_MS		100

/* "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h" */
static const uint32_t kmqd_delay_s[KMQD_DELAY_LEVELS] = {
	1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600,
	1200, 1800, 3600, 7200,
};

static uint64_t kmqd_delay_offsets[KMQD_DELAY_LEVELS];
/*
 * A level is read again when a message reached it (kmqd_delay_notify())
 * or its head message is due, at the latest KMQD_DELAY_RESCAN_MS after
 * the last read: an idle broker makes no store read per level and tick
 * (each is a system call on kmq.ko). idle_until: the delay thread's.
 */
#define KMQD_DELAY_RESCAN_MS	5000
static uint64_t kmqd_delay_idle_until[KMQD_DELAY_LEVELS];
static atomic_bool kmqd_delay_new[KMQD_DELAY_LEVELS];
static bool kmqd_delay_dirty;
static pthread_t kmqd_delay_thread;
static pthread_mutex_t kmqd_delay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kmqd_delay_cv = PTHREAD_COND_INITIALIZER;
static bool kmqd_delay_running;

/*
 * Copy @src without the properties named in @drop, then append @nadd
 * name/value pairs. Return: the length, or -1 if it does not fit.
 */
static int kmqd_props_edit(char *out, const char *src, uint32_t len,
			   const char * const *drop, unsigned int ndrop,
			   const char * const (*add)[2], unsigned int nadd)
{
	struct kmq_prop pr;
	uint32_t pos = 0, o = 0;
	unsigned int i;
	int r;

	while ((r = kmq_props_next(src, len, &pos, &pr)) == 1) {
		bool skip = false;

		for (i = 0; i < ndrop; i++)
			if (pr.name_len == strlen(drop[i]) &&
			    !memcmp(pr.name, drop[i], pr.name_len))
				skip = true;
		if (skip)
			continue;
		if (kmq_props_put(out, KMQ_PROPS_MAX, &o, pr.name, pr.name_len,
				  pr.value, pr.value_len))
			return -1;
	}
	if (r < 0)
		return -1;
	for (i = 0; i < nadd; i++)
		if (kmq_props_put(out, KMQ_PROPS_MAX, &o, add[i][0],
				  strlen(add[i][0]), add[i][1],
				  strlen(add[i][1])))
			return -1;
	return o;
}

/* kmqd_props_without() - @src without the properties named in @drop. */
int kmqd_props_without(char *out, const char *src, uint32_t len,
		       const char * const *drop, unsigned int ndrop)
{
	return kmqd_props_edit(out, src, len, drop, ndrop, NULL, 0);
}

static bool kmqd_prop_has(const struct kmq_record *r, const char *name)
{
	const char *v;
	uint32_t vl;

	return !kmq_props_get(r->props, r->props_len, name, strlen(name), &v,
			      &vl);
}

/*
 * Park @m for delay @level: SCHEDULE_TOPIC_XXXX queue level - 1, with its
 * real topic and queue in properties. @props must hold KMQD_PROPS_BUF.
 */
static int kmqd_delay_park(struct kmq_msg *m, int level, char *props)
{
	char qid[16], lvl[8];
	const char * const drop[] = {
		KMQ_PROP_REAL_TOPIC, KMQ_PROP_REAL_QID, KMQ_PROP_DELAY,
	};
	const char * const add[][2] = {
		{ KMQ_PROP_REAL_TOPIC, m->topic },
		{ KMQ_PROP_REAL_QID, qid },
		{ KMQ_PROP_DELAY, lvl },
	};
	int n;

	snprintf(qid, sizeof(qid), "%u", m->queue_id);
	snprintf(lvl, sizeof(lvl), "%d", level);
	n = kmqd_props_edit(props, m->props, m->props_len, drop,
			    ARRAY_SIZE(drop), add, ARRAY_SIZE(add));
	if (n < 0)
		return -KMQ_EBADPROPS;
	m->props = props;
	m->props_len = n;
	m->topic = KMQD_SCHEDULE_TOPIC;
	m->queue_id = level - 1;
	return 0;
}

/*
 * kmqd_delay_redirect() - a message sent with a DELAY level goes to the
 * schedule topic first. Return: 0 (m changed or not), or an error.
 */
int kmqd_delay_redirect(struct kmq_msg *m, char *props)
{
	const char *v;
	uint32_t vl;
	int level;

	if (!m->props_len || !strcmp(m->topic, KMQD_SCHEDULE_TOPIC) ||
	    kmq_props_get(m->props, m->props_len, KMQ_PROP_DELAY,
			  strlen(KMQ_PROP_DELAY), &v, &vl) || !vl || vl > 3)
		return 0;
	level = 0;
	while (vl--) {
		if (*v < '0' || *v > '9')
			return 0;
		level = level * 10 + (*v++ - '0');
	}
	if (level <= 0)
		return 0;
	if (level > KMQD_DELAY_LEVELS)
		level = KMQD_DELAY_LEVELS;
	return kmqd_delay_park(m, level, props);
}

void kmqd_send_back_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	int64_t off, level = 0, max = KMQD_DEFAULT_MAX_RECONSUME;
	struct kmq_append_result res;
	const char *group, *origin_id;
	char topic[300], *buf = NULL, *props = NULL;
	struct kmq_record r;
	struct kmq_msg m;
	int ret, n;

	if (!kmqd_need_i64(c, req, "offset", &off) ||
	    !kmqd_need_str(c, req, "group", &group))
		return;
	/* The group's retryMaxTimes, unless the client sends its own. */
	kmqd_subgroup_ensure(group);
	max = kmqd_subgroup_retry_max(group);
	kmq_rmt_ext_i64(req, "delayLevel", &level);
	kmq_rmt_ext_i64(req, "maxReconsumeTimes", &max);
	origin_id = kmq_rmt_ext(req, "originMsgId");
	buf = malloc(kmqd_brk->opts.max_message_size + 65536);
	props = malloc(KMQD_PROPS_BUF);
	if (!buf || !props) {
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		goto out;
	}
	ret = off < 0 ? -ERANGE :
	      kmqd_st_read_at(kmqd_brk->store, off, buf,
			      kmqd_brk->opts.max_message_size + 65536);
	if (ret < 0 || kmq_record_decode(buf, ret, &r, 0)) {
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR,
			    "look message by offset failed, %lld",
			    (long long)off);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.flag = r.flag;
	m.sys_flag = r.sys_flag;
	m.born_ts = r.born_ts;
	m.born_host = r.born_host;
	m.body = r.body;
	m.body_len = r.body_len;
	m.reconsume_times = r.reconsume_times + 1;
	{
		char origin[KMQ_MSGID_MAX + 1];
		const char * const add[][2] = {
			{ KMQ_PROP_RETRY_TOPIC, "" },
			{ KMQ_PROP_ORIGIN_MESSAGE_ID, origin },
		};
		char rtopic[KMQ_TOPIC_MAX_V1 + 1];
		unsigned int nadd = 0;
		const char *adds[2][2];

		snprintf(rtopic, sizeof(rtopic), "%.*s", (int)r.topic_len,
			 r.topic);
		snprintf(origin, sizeof(origin), "%s",
			 origin_id && *origin_id ? origin_id : "");
		if (!origin[0])
			kmq_msgid_encode(origin, &r.store_host, r.phys_offset);
		if (!kmqd_prop_has(&r, KMQ_PROP_RETRY_TOPIC) &&
		    strncmp(rtopic, KMQD_RETRY_PREFIX,
			    strlen(KMQD_RETRY_PREFIX))) {
			adds[nadd][0] = add[0][0];
			adds[nadd++][1] = rtopic;
		}
		if (!kmqd_prop_has(&r, KMQ_PROP_ORIGIN_MESSAGE_ID)) {
			adds[nadd][0] = add[1][0];
			adds[nadd++][1] = origin;
		}
		n = kmqd_props_edit(props, r.props, r.props_len, NULL, 0,
				    (const char * const (*)[2])adds, nadd);
	}
	if (n < 0) {
		kmqd_reply(c, req, KMQ_RESP_MESSAGE_ILLEGAL,
			   "properties too long to retry");
		goto out;
	}
	m.props = props;
	m.props_len = n;
	if (r.reconsume_times >= max || level < 0) {
		snprintf(topic, sizeof(topic), "%s%s", KMQD_DLQ_PREFIX, group);
		level = 0;
	} else {
		snprintf(topic, sizeof(topic), "%s%s", KMQD_RETRY_PREFIX, group);
		if (!level)
			level = 3 + r.reconsume_times;
		if (level > KMQD_DELAY_LEVELS)
			level = KMQD_DELAY_LEVELS;
	}
	ret = kmqd_topic_ensure(topic, 1, true, NULL);
	if (ret) {
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR, "topic %s: %s",
			    topic, kmqd_st_errmsg());
		goto out;
	}
	m.topic = topic;
	m.queue_id = 0;
	if (level > 0) {
		char *moved = malloc(KMQD_PROPS_BUF);

		if (!moved || kmqd_delay_park(&m, level, moved)) {
			free(moved);
			kmqd_reply(c, req, KMQ_RESP_MESSAGE_ILLEGAL,
				   "properties too long to delay");
			goto out;
		}
		free(props);
		props = moved;
	}
	ret = kmqd_store_put(&m, &res);
	if (ret < 0)
		kmqd_replyf(c, req, KMQ_RESP_SYSTEM_ERROR, "%s",
			    kmqd_st_errmsg());
	else
		kmqd_reply(c, req, ret ? KMQ_RESP_FLUSH_DISK_TIMEOUT :
			   KMQ_RESP_SUCCESS, NULL);
out:
	free(buf);
	free(props);
}

/* The delay thread */

static void kmqd_delay_persist(void)
{
	char path[4096], *text;
	json_t *doc, *t;
	unsigned int i;
	int dfd;

	pthread_mutex_lock(&kmqd_delay_lock);
	if (!kmqd_delay_dirty) {
		pthread_mutex_unlock(&kmqd_delay_lock);
		return;
	}
	kmqd_delay_dirty = false;
	t = json_object();
	for (i = 0; i < KMQD_DELAY_LEVELS; i++) {
		char k[8];

		snprintf(k, sizeof(k), "%u", i + 1);
		json_object_set_new(t, k, json_integer(kmqd_delay_offsets[i]));
	}
	pthread_mutex_unlock(&kmqd_delay_lock);
	doc = json_pack("{s:o}", "offsetTable", t);
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/config", kmqd_brk->opts.store.root);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (text && dfd >= 0 &&
	    kmq_write_file_atomic(dfd, "delayOffset.json", text, strlen(text)))
		log_err("write %s/delayOffset.json failed", path);
	if (dfd >= 0)
		close(dfd);
	free(text);
}

static void kmqd_delay_load(void)
{
	char path[4096];
	json_t *doc, *t, *v;
	const char *k;

	snprintf(path, sizeof(path), "%s/config/delayOffset.json",
		 kmqd_brk->opts.store.root);
	{
		json_error_t jerr;

		doc = kmqd_json_load_file(path, &jerr);
		if (!doc && access(path, F_OK) == 0)
			log_err("%s:%d: %s", path, jerr.line, jerr.text);
	}
	t = json_object_get(doc, "offsetTable");
	json_object_foreach(t, k, v) {
		long l = strtol(k, NULL, 10);

		if (l >= 1 && l <= KMQD_DELAY_LEVELS && json_is_integer(v))
			kmqd_delay_offsets[l - 1] = json_integer_value(v);
	}
	json_decref(doc);
}

/* kmqd_delay_notify() - a message was stored in level @qid + 1's queue. */
void kmqd_delay_notify(uint32_t qid)
{
	if (qid < KMQD_DELAY_LEVELS)
		atomic_store(&kmqd_delay_new[qid], true);
}

/* Deliver due messages of one level; return how many moved. */
static int kmqd_delay_level(unsigned int level, uint64_t now)
{
	struct kmq_range rg[KMQD_PULL_MAX_MSGS];
	struct kmq_read_req rq = {
		.topic = KMQD_SCHEDULE_TOPIC, .queue_id = level - 1,
		.max_msgs = KMQD_PULL_MAX_MSGS, .max_bytes = 1u << 20,
	};
	char *props = malloc(KMQD_PROPS_BUF);
	struct kmq_read_result r;
	uint32_t i, moved = 0;
	uint64_t due;

	if (!props)
		return 0;
	if (!atomic_exchange(&kmqd_delay_new[level - 1], false) &&
	    now < kmqd_delay_idle_until[level - 1]) {
		free(props);
		return 0;
	}
	/* Nothing left, unless a record below says when. */
	kmqd_delay_idle_until[level - 1] = now + KMQD_DELAY_RESCAN_MS;
	rq.offset = kmqd_delay_offsets[level - 1];
	if (kmqd_st_read(kmqd_brk->store, &rq, rg, ARRAY_SIZE(rg), &r)) {
		kmqd_delay_idle_until[level - 1] = 0;
		free(props);
		return 0;
	}
	if (r.status == KMQ_READ_OFFSET_TOO_SMALL) {
		kmqd_delay_idle_until[level - 1] = 0;
		kmqd_delay_offsets[level - 1] = r.next_offset;
		free(props);
		return 0;
	}
	for (i = 0; r.status == KMQ_READ_FOUND && i < r.nranges; i++) {
		const uint8_t *p = rg[i].data, *end = p + rg[i].len;

		while (p < end) {
			const char * const drop[] = {
				KMQ_PROP_REAL_TOPIC, KMQ_PROP_REAL_QID,
				KMQ_PROP_DELAY,
			};
			char topic[KMQ_TOPIC_MAX_V1 + 1], qbuf[16];
			struct kmq_append_result res;
			const char *v;
			struct kmq_record rec;
			struct kmq_msg m = { 0 };
			uint32_t vl;
			int n;

			if (kmq_record_decode(p, end - p, &rec, 0)) {
				kmqd_delay_idle_until[level - 1] = 0;
				goto done;
			}
			due = rec.store_ts + kmqd_delay_s[level - 1] * 1000ull;
			if (due > now) {
				if (due < kmqd_delay_idle_until[level - 1])
					kmqd_delay_idle_until[level - 1] = due;
				goto done;
			}
			p += rec.total_size;
			moved++;
			kmqd_delay_offsets[level - 1]++;
			kmqd_delay_dirty = true;
			if (kmq_props_get(rec.props, rec.props_len,
					  KMQ_PROP_REAL_TOPIC, 10, &v, &vl) ||
			    vl > KMQ_TOPIC_MAX_V1)
				continue;
			snprintf(topic, sizeof(topic), "%.*s", (int)vl, v);
			if (kmq_props_get(rec.props, rec.props_len,
					  KMQ_PROP_REAL_QID, 8, &v, &vl) ||
			    vl >= sizeof(qbuf))
				continue;
			snprintf(qbuf, sizeof(qbuf), "%.*s", (int)vl, v);
			n = kmqd_props_edit(props, rec.props, rec.props_len,
					    drop, ARRAY_SIZE(drop), NULL, 0);
			if (n < 0)
				continue;
			m.topic = topic;
			m.queue_id = strtoul(qbuf, NULL, 10);
			m.flag = rec.flag;
			m.sys_flag = rec.sys_flag;
			m.born_ts = rec.born_ts;
			m.born_host = rec.born_host;
			m.reconsume_times = rec.reconsume_times;
			m.body = rec.body;
			m.body_len = rec.body_len;
			m.props = props;
			m.props_len = n;
			if (kmqd_store_put(&m, &res) < 0)
				log_warn("delayed message to %s/%u: %s", topic,
					 m.queue_id, kmqd_st_errmsg());
		}
	}
done:
	/* A full batch moved: more may be due at once. */
	if (moved == KMQD_PULL_MAX_MSGS)
		kmqd_delay_idle_until[level - 1] = 0;
	kmqd_st_release(kmqd_brk->store, rg, r.nranges);
	free(props);
	return moved;
}

static void *kmqd_delay_main(void *arg)
{
	uint64_t last_persist = 0;

	kmqd_log_set_thread_name("kmqd-timer");
	pthread_mutex_lock(&kmqd_delay_lock);
	while (kmqd_delay_running) {
		struct timespec ts;
		uint64_t now, mono;
		unsigned int l;

		pthread_mutex_unlock(&kmqd_delay_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		for (l = 1; l <= KMQD_DELAY_LEVELS; l++)
			while (kmqd_delay_level(l, now) == KMQD_PULL_MAX_MSGS)
				;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		mono = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		/*
		 * Files are written here, never on an io loop: a sync on a
		 * busy disk must not stall the loop's connections.
		 */
		if (mono - last_persist >= 5000) {
			kmqd_delay_persist();
			kmqd_offsets_persist(kmqd_brk->opts.store.root);
			kmqd_subgroups_persist(kmqd_brk->opts.store.root);
			last_persist = mono;
		}
		pthread_mutex_lock(&kmqd_delay_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += KMQD_DELAY_POLL_MS * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (kmqd_delay_running)
			pthread_cond_timedwait(&kmqd_delay_cv, &kmqd_delay_lock,
					       &ts);
	}
	pthread_mutex_unlock(&kmqd_delay_lock);
	return NULL;
}

int kmqd_delay_start(void)
{
	int ret = kmqd_topic_ensure(KMQD_SCHEDULE_TOPIC, KMQD_DELAY_LEVELS,
				    true, NULL);

	if (ret) {
		log_err("%s: %s", KMQD_SCHEDULE_TOPIC, kmqd_st_errmsg());
		return ret;
	}
	kmqd_delay_load();
	kmqd_delay_running = true;
	ret = pthread_create(&kmqd_delay_thread, NULL, kmqd_delay_main, NULL);
	if (ret) {
		kmqd_delay_running = false;
		return -ret;
	}
	return 0;
}

void kmqd_delay_stop(void)
{
	pthread_mutex_lock(&kmqd_delay_lock);
	if (!kmqd_delay_running) {
		pthread_mutex_unlock(&kmqd_delay_lock);
		return;
	}
	kmqd_delay_running = false;
	pthread_cond_signal(&kmqd_delay_cv);
	pthread_mutex_unlock(&kmqd_delay_lock);
	pthread_join(kmqd_delay_thread, NULL);
	kmqd_delay_dirty = true;
	kmqd_delay_persist();
}
