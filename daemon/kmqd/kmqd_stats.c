// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_stats.c - the broker's counters and GET_BROKER_RUNTIME_INFO (28).
 *
 * Counted since the broker started: messages stored (the store's
 * appends, retries and delayed deliveries included, as RocketMQ's
 * putMessageTimesTotal) and messages handed to consumers in pull answers
 * (RocketMQ's getMessageTransferedMsgCount), the latter also per consumer
 * group and topic. Loop 0's tick samples the totals every second (ten
 * minutes kept) and the per-group counts every 10 s (a minute kept);
 * rates are differences between the present and a sample, over at least
 * one second:
 *
 *   putTps, getTransferedTps   "<10 s> <1 min> <10 min>" messages/s, each
 *                              over the part of its window the broker has
 *                              been up
 *   consumeTps of a group      over the last minute (GET_CONSUME_STATS)
 *
 * 28 answers a KVTable ({"table":{"key":"value",...}}) with the keys of
 * RocketMQ's runtime info that kmqd can fill with real values; the
 * others are left out rather than invented.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "kmqd_admin.h"
#include "kmqd_broker.h"
#include "kmqd_codes.h"
#include "kmqd_log.h"

#define KMQD_STATS_RING		601	/* one sample a second, 10 min */
#define KMQD_GSTAT_BUCKETS	256
#define KMQD_GSTAT_SAMPLES	7	/* one every 10 s: a minute */
#define KMQD_GSTAT_PERIOD_MS	10000
#define KMQD_GSTAT_IDLE_MS	600000	/* forgotten after 10 idle min */

struct kmqd_sample {
	uint64_t ms;
	uint64_t puts;
	uint64_t gets;
};

/* Pulled messages of one "topic@group". */
struct kmqd_gstat {
	char *key;
	uint64_t count;
	uint64_t active_ms;
	uint64_t t[KMQD_GSTAT_SAMPLES];
	uint64_t c[KMQD_GSTAT_SAMPLES];
	unsigned int n;
	unsigned int head;
	struct kmqd_gstat *next;
};

static pthread_mutex_t kmqd_stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmqd_sample kmqd_ring[KMQD_STATS_RING];
static unsigned int kmqd_ring_head;	/* next slot */
static unsigned int kmqd_ring_n;
static uint64_t kmqd_gets_total;	/* atomic */
static uint64_t kmqd_boot_wall_ms;
static uint64_t kmqd_last_sample_ms;
static uint64_t kmqd_last_gsample_ms;
static int kmqd_today = -1;		/* year * 1000 + day of year */
static uint64_t kmqd_put_today_morning, kmqd_put_yesterday_morning;
static uint64_t kmqd_get_today_morning, kmqd_get_yesterday_morning;
static struct kmqd_gstat *kmqd_gstats[KMQD_GSTAT_BUCKETS];

static uint64_t kmqd_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t kmqd_puts_total(void)
{
	struct kmq_store_stats st;

	kmqd_st_stats(kmqd_brk->store, &st);
	return st.appends;
}

static uint64_t kmqd_gets_now(void)
{
	return __atomic_load_n(&kmqd_gets_total, __ATOMIC_RELAXED);
}

static uint32_t kmqd_gstat_hash(const char *topic, const char *group)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = topic; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ '@') * 16777619u;
	for (p = group; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % KMQD_GSTAT_BUCKETS;
}

static bool kmqd_gstat_is(const struct kmqd_gstat *g, const char *topic,
			  const char *group)
{
	size_t tl = strlen(topic);

	return !strncmp(g->key, topic, tl) && g->key[tl] == '@' &&
	       !strcmp(g->key + tl + 1, group);
}

/* The entry of (@topic, @group), created if @create (lock held). */
static struct kmqd_gstat *kmqd_gstat_find(const char *topic,
					  const char *group, bool create,
					  uint64_t now)
{
	uint32_t b = kmqd_gstat_hash(topic, group);
	struct kmqd_gstat *g;
	size_t len;

	for (g = kmqd_gstats[b]; g; g = g->next)
		if (kmqd_gstat_is(g, topic, group))
			return g;
	if (!create)
		return NULL;
	g = calloc(1, sizeof(*g));
	len = strlen(topic) + strlen(group) + 2;
	if (g)
		g->key = malloc(len);
	if (!g || !g->key) {
		free(g);
		return NULL;
	}
	snprintf(g->key, len, "%s@%s", topic, group);
	/* The first sample: nothing pulled yet, now. */
	g->t[0] = now;
	g->c[0] = 0;
	g->n = 1;
	g->head = 1;
	g->next = kmqd_gstats[b];
	kmqd_gstats[b] = g;
	return g;
}

void kmqd_stats_get(const char *group, const char *topic, uint32_t n)
{
	uint64_t now = kmqd_mono_ms();
	struct kmqd_gstat *g;

	__atomic_add_fetch(&kmqd_gets_total, n, __ATOMIC_RELAXED);
	pthread_mutex_lock(&kmqd_stats_lock);
	g = kmqd_gstat_find(topic, group, true, now);
	if (g) {
		g->count += n;
		g->active_ms = now;
	}
	pthread_mutex_unlock(&kmqd_stats_lock);
}

/* Rate from the sample (@t, @c) to (@now, @cur), over at least 1 s. */
static double kmqd_rate(uint64_t c, uint64_t t, uint64_t cur, uint64_t now)
{
	uint64_t dt = now > t ? now - t : 0;

	if (dt < 1000)
		dt = 1000;
	return cur >= c ? (double)(cur - c) * 1000.0 / (double)dt : 0.0;
}

double kmqd_stats_group_tps(const char *group, const char *topic)
{
	uint64_t now = kmqd_mono_ms();
	struct kmqd_gstat *g;
	double tps = 0.0;

	pthread_mutex_lock(&kmqd_stats_lock);
	g = kmqd_gstat_find(topic, group, false, now);
	if (g) {
		/* The oldest sample kept is at most a minute old. */
		unsigned int oldest = (g->head + KMQD_GSTAT_SAMPLES - g->n) %
				      KMQD_GSTAT_SAMPLES;

		tps = kmqd_rate(g->c[oldest], g->t[oldest], g->count, now);
	}
	pthread_mutex_unlock(&kmqd_stats_lock);
	return tps;
}

/* Sample of the totals taken about @window_ms ago, or the oldest. */
static const struct kmqd_sample *kmqd_sample_before(uint64_t now,
						    uint64_t window_ms)
{
	const struct kmqd_sample *best = NULL;
	unsigned int i;

	for (i = 1; i <= kmqd_ring_n; i++) {
		const struct kmqd_sample *s =
			&kmqd_ring[(kmqd_ring_head + KMQD_STATS_RING - i) %
				   KMQD_STATS_RING];

		best = s;
		if (now - s->ms >= window_ms)
			break;
	}
	return best;
}

/* "<10 s> <1 min> <10 min>" rates of puts or gets (lock held). */
static void kmqd_tps3(char *buf, size_t len, bool puts, uint64_t cur,
		      uint64_t now)
{
	static const uint64_t windows[3] = { 10000, 60000, 600000 };
	size_t o = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < 3 && o < len; i++) {
		const struct kmqd_sample *s = kmqd_sample_before(now,
								 windows[i]);
		double r = s ? kmqd_rate(puts ? s->puts : s->gets, s->ms, cur,
					 now) : 0.0;

		o += snprintf(buf + o, len - o, "%s%.2f", i ? " " : "", r);
	}
}

static void kmqd_stats_day(uint64_t puts, uint64_t gets)
{
	time_t now = time(NULL);
	struct tm tm;
	int day;

	localtime_r(&now, &tm);
	day = (tm.tm_year + 1900) * 1000 + tm.tm_yday;
	if (day == kmqd_today)
		return;
	if (kmqd_today >= 0) {
		kmqd_put_yesterday_morning = kmqd_put_today_morning;
		kmqd_get_yesterday_morning = kmqd_get_today_morning;
		kmqd_put_today_morning = puts;
		kmqd_get_today_morning = gets;
	}
	kmqd_today = day;
}

static void kmqd_gstats_sample(uint64_t now)
{
	unsigned int b;

	for (b = 0; b < KMQD_GSTAT_BUCKETS; b++) {
		struct kmqd_gstat **pp = &kmqd_gstats[b], *g;

		while ((g = *pp)) {
			if (now - g->active_ms > KMQD_GSTAT_IDLE_MS) {
				*pp = g->next;
				free(g->key);
				free(g);
				continue;
			}
			g->t[g->head] = now;
			g->c[g->head] = g->count;
			g->head = (g->head + 1) % KMQD_GSTAT_SAMPLES;
			if (g->n < KMQD_GSTAT_SAMPLES)
				g->n++;
			pp = &g->next;
		}
	}
}

void kmqd_stats_tick(uint64_t now_ms)
{
	uint64_t puts, gets;

	if (now_ms - kmqd_last_sample_ms < 1000)
		return;
	puts = kmqd_puts_total();
	gets = kmqd_gets_now();
	pthread_mutex_lock(&kmqd_stats_lock);
	kmqd_last_sample_ms = now_ms;
	kmqd_ring[kmqd_ring_head] = (struct kmqd_sample){
		.ms = now_ms, .puts = puts, .gets = gets,
	};
	kmqd_ring_head = (kmqd_ring_head + 1) % KMQD_STATS_RING;
	if (kmqd_ring_n < KMQD_STATS_RING)
		kmqd_ring_n++;
	kmqd_stats_day(puts, gets);
	if (now_ms - kmqd_last_gsample_ms >= KMQD_GSTAT_PERIOD_MS) {
		kmqd_last_gsample_ms = now_ms;
		kmqd_gstats_sample(now_ms);
	}
	pthread_mutex_unlock(&kmqd_stats_lock);
}

void kmqd_stats_start(void)
{
	pthread_mutex_lock(&kmqd_stats_lock);
	kmqd_boot_wall_ms = kmqd_wall_ms();
	kmqd_ring_n = 0;
	kmqd_ring_head = 0;
	kmqd_today = -1;
	pthread_mutex_unlock(&kmqd_stats_lock);
	kmqd_last_sample_ms = 0;
	kmqd_last_gsample_ms = kmqd_mono_ms();
	kmqd_stats_tick(kmqd_mono_ms());
}

void kmqd_stats_free(void)
{
	unsigned int b;

	pthread_mutex_lock(&kmqd_stats_lock);
	for (b = 0; b < KMQD_GSTAT_BUCKETS; b++) {
		while (kmqd_gstats[b]) {
			struct kmqd_gstat *g = kmqd_gstats[b];

			kmqd_gstats[b] = g->next;
			free(g->key);
			free(g);
		}
	}
	pthread_mutex_unlock(&kmqd_stats_lock);
}

/* As Java's MixAll.humanReadableByteCount(bytes, false): "1.5 KiB". */
static void kmqd_human_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int exp = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	while (v >= 1024.0 && exp < 6) {
		v /= 1024.0;
		exp++;
	}
	snprintf(buf, len, "%.1f %ciB", v, units[exp - 1]);
}

static void kmqd_kv(json_t *t, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kmqd_kv(json_t *t, const char *key, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_set_new(t, key, json_string(buf));
}

/* The store directory's disk: used fraction and "Total : x, Free : y." */
static void kmqd_runtime_disk(json_t *t)
{
	char total[32], avail[32];
	struct statvfs sv;
	uint64_t all, freeb;

	if (statvfs(kmqd_brk->opts.store.root, &sv) || !sv.f_blocks)
		return;
	all = (uint64_t)sv.f_blocks * sv.f_frsize;
	freeb = (uint64_t)sv.f_bavail * sv.f_frsize;
	kmqd_kv(t, "commitLogDiskRatio", "%.4f",
		(double)(all - freeb) / (double)all);
	kmqd_human_bytes(total, sizeof(total), all);
	kmqd_human_bytes(avail, sizeof(avail), freeb);
	kmqd_kv(t, "commitLogDirCapacity", "Total : %s, Free : %s.", total,
		avail);
}

/* STORETIMESTAMP of the oldest record still in the commitlog. */
static void kmqd_runtime_earliest(json_t *t, const struct kmq_store_stats *st)
{
	uint32_t cap = kmqd_brk->opts.max_message_size + 65536;
	struct kmq_record rec;
	uint8_t *buf;
	int n;

	if (st->min_offset >= st->write_offset)
		return;
	buf = malloc(cap);
	if (!buf)
		return;
	n = kmqd_st_read_at(kmqd_brk->store, st->min_offset, buf, cap);
	if (n > 0 && !kmq_record_decode(buf, n, &rec, 0))
		kmqd_kv(t, "earliestMessageTimeStamp", "%" PRIu64,
			(uint64_t)rec.store_ts);
	free(buf);
}

void kmqd_runtime_info_handle(struct kmqd_conn *c, struct kmq_rmt_cmd *req)
{
	uint64_t now = kmqd_mono_ms(), puts = kmqd_puts_total(), up;
	uint64_t gets = kmqd_gets_now(), sf, cp;
	struct kmq_store_stats st;
	json_t *body, *t;
	char buf[128];

	body = json_pack("{s:{}}", "table");
	t = json_object_get(body, "table");
	if (!t) {
		json_decref(body);
		kmqd_reply(c, req, KMQ_RESP_SYSTEM_ERROR, "out of memory");
		return;
	}
	kmqd_st_stats(kmqd_brk->store, &st);
	kmqd_kv(t, "brokerVersionDesc", "kmqd (RocketMQ remoting version %d)",
		KMQD_CLIENT_VERSION);
	kmqd_kv(t, "brokerVersion", "%d", KMQD_CLIENT_VERSION);
	pthread_mutex_lock(&kmqd_stats_lock);
	up = kmqd_wall_ms() - kmqd_boot_wall_ms;
	kmqd_kv(t, "bootTimestamp", "%" PRIu64, kmqd_boot_wall_ms);
	kmqd_kv(t, "runtime", "[ %" PRIu64 " days, %" PRIu64 " hours, %"
		PRIu64 " minutes, %" PRIu64 " seconds ]", up / 86400000,
		up / 3600000 % 24, up / 60000 % 60, up / 1000 % 60);
	kmqd_kv(t, "msgPutTotalTodayNow", "%" PRIu64, puts);
	kmqd_kv(t, "msgPutTotalTodayMorning", "%" PRIu64,
		kmqd_put_today_morning);
	kmqd_kv(t, "msgPutTotalYesterdayMorning", "%" PRIu64,
		kmqd_put_yesterday_morning);
	kmqd_kv(t, "msgGetTotalTodayNow", "%" PRIu64, gets);
	kmqd_kv(t, "msgGetTotalTodayMorning", "%" PRIu64,
		kmqd_get_today_morning);
	kmqd_kv(t, "msgGetTotalYesterdayMorning", "%" PRIu64,
		kmqd_get_yesterday_morning);
	kmqd_kv(t, "putMessageTimesTotal", "%" PRIu64, puts);
	kmqd_tps3(buf, sizeof(buf), true, puts, now);
	kmqd_kv(t, "putTps", "%s", buf);
	kmqd_tps3(buf, sizeof(buf), false, gets, now);
	/* RocketMQ 4.x spells it so; 5.x "getTransferredTps". */
	kmqd_kv(t, "getTransferedTps", "%s", buf);
	kmqd_kv(t, "getTransferredTps", "%s", buf);
	pthread_mutex_unlock(&kmqd_stats_lock);
	kmqd_kv(t, "commitLogMinOffset", "%" PRIu64, st.min_offset);
	kmqd_kv(t, "commitLogMaxOffset", "%" PRIu64, st.write_offset);
	/* Consume-queue entries are written with the record: none behind. */
	kmqd_kv(t, "dispatchBehindBytes", "0");
	kmqd_human_bytes(buf, sizeof(buf), st.write_offset > st.flushed_offset ?
			 st.write_offset - st.flushed_offset : 0);
	kmqd_kv(t, "remainHowManyDataToFlush", "%s", buf);
	kmqd_runtime_disk(t);
	kmqd_runtime_earliest(t, &st);
	kmqd_delivery_stats(&sf, &cp);
	/* kmq's own: how pulled records reached the sockets. */
	kmqd_kv(t, "kmqPullSendfileBytes", "%" PRIu64, sf);
	kmqd_kv(t, "kmqPullCopyBytes", "%" PRIu64, cp);
	kmqd_reply_json(c, req, body);
	json_decref(body);
}
