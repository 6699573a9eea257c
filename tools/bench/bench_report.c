// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_report.c - per-second progress line and phase summaries for
 * kmq-bench (see bench_report.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "bench_report.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)

#define NSEC_PER_SEC	1000000000ull
#define MB		1e6

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void cpu_now(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void bench_cpu_start(struct bench_cpu *c)
{
	cpu_now(&c->user, &c->sys);
}

void bench_cpu_stop(struct bench_cpu *c)
{
	double u, s;

	cpu_now(&u, &s);
	c->user = u - c->user;
	c->sys = s - c->sys;
}

const char *bench_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.2f us", ns / 1e3);
	else if (ns < NSEC_PER_SEC)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

void bench_worker_init(struct bench_worker *w)
{
	w->msgs = 0;
	w->bytes = 0;
	w->rec_bytes = 0;
	bench_hist_init(&w->hist);
}

void bench_worker_count(struct bench_worker *w, uint64_t msgs, uint64_t bytes,
			uint64_t rec_bytes)
{
	STORE(&w->bytes, LOAD(&w->bytes) + bytes);
	STORE(&w->rec_bytes, LOAD(&w->rec_bytes) + rec_bytes);
	STORE(&w->msgs, LOAD(&w->msgs) + msgs);
}

void bench_worker_add(struct bench_worker *w, uint64_t msgs, uint64_t bytes,
		      uint64_t rec_bytes, uint64_t lat_ns)
{
	bench_hist_record(&w->hist, lat_ns);
	bench_worker_count(w, msgs, bytes, rec_bytes);
}

/* Sum the workers' counters into @h and the two totals. */
static void sum_workers(struct bench_phase *p, struct bench_hist *h,
			struct bench_hist *tmp, uint64_t *msgs,
			uint64_t *bytes)
{
	unsigned int i;

	bench_hist_init(h);
	*msgs = 0;
	*bytes = 0;
	for (i = 0; i < p->nworkers; i++) {
		*msgs += LOAD(&p->workers[i].msgs);
		*bytes += LOAD(&p->workers[i].bytes);
		bench_hist_snapshot(tmp, &p->workers[i].hist);
		bench_hist_add(h, tmp);
	}
}

static int push_rate(struct bench_phase *p, double msgs, double mb)
{
	double *a, *b;
	unsigned int cap;

	if (p->nrates == p->cap) {
		cap = p->cap ? p->cap * 2 : 64;
		a = realloc(p->rate_msgs, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		p->rate_msgs = a;
		b = realloc(p->rate_mb, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		p->rate_mb = b;
		p->cap = cap;
	}
	p->rate_msgs[p->nrates] = msgs;
	p->rate_mb[p->nrates] = mb;
	p->nrates++;
	return 0;
}

/*
 * One sample: the records, bytes and latencies since the previous one.
 * @full: a whole interval, kept for the min/median/max of the rates.
 */
static void sample(struct bench_phase *p, uint64_t now, bool full, bool print)
{
	uint64_t msgs, bytes, dt = now - p->prev_t;
	struct bench_hist *swap;
	double r_msgs, r_mb;
	char b50[32], b99[32];

	sum_workers(p, p->cur, p->tmp, &msgs, &bytes);
	if (!dt)
		dt = 1;
	r_msgs = (double)(msgs - p->prev_msgs) * NSEC_PER_SEC / dt;
	r_mb = (double)(bytes - p->prev_bytes) * NSEC_PER_SEC / dt / MB;
	if (full)
		push_rate(p, r_msgs, r_mb);
	if (print) {
		bench_hist_sub(p->tmp, p->cur, p->prev);
		fprintf(stderr,
			"%-8s %6.1fs %11.0f rec/s %9.1f MB/s  p50 %s  p99 %s  (%llu rec)\n",
			p->name, (now - p->t_start) / 1e9, r_msgs, r_mb,
			bench_fmt_ns(b50, sizeof(b50),
				     bench_hist_percentile(p->tmp, 50)),
			bench_fmt_ns(b99, sizeof(b99),
				     bench_hist_percentile(p->tmp, 99)),
			(unsigned long long)msgs);
	}
	swap = p->prev;
	p->prev = p->cur;
	p->cur = swap;
	p->prev_msgs = msgs;
	p->prev_bytes = bytes;
	p->prev_t = now;
}

static void *reporter(void *arg)
{
	struct bench_phase *p = arg;
	uint64_t next = p->t_start + NSEC_PER_SEC;
	struct timespec ts;

	pthread_setname_np(pthread_self(), "bench-report");
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		ts.tv_sec = next / NSEC_PER_SEC;
		ts.tv_nsec = next % NSEC_PER_SEC;
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		if (p->stopping)
			break;
		if (bench_now_ns() < next)
			continue;
		pthread_mutex_unlock(&p->lock);
		sample(p, bench_now_ns(), true, !p->quiet);
		pthread_mutex_lock(&p->lock);
		next += NSEC_PER_SEC;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int bench_phase_start(struct bench_phase *p, const char *name,
		      const char *lat_what, struct bench_worker *w,
		      unsigned int n, bool quiet)
{
	pthread_condattr_t ca;
	int err;

	memset(p, 0, sizeof(*p));
	p->name = name;
	p->lat_what = lat_what;
	p->quiet = quiet;
	p->workers = w;
	p->nworkers = n;
	p->prev = malloc(sizeof(*p->prev));
	p->cur = malloc(sizeof(*p->cur));
	p->tmp = malloc(sizeof(*p->tmp));
	p->lat = malloc(sizeof(*p->lat));
	if (!p->prev || !p->cur || !p->tmp || !p->lat)
		return -ENOMEM;
	bench_hist_init(p->prev);
	bench_hist_init(p->lat);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->t_start = bench_now_ns();
	p->prev_t = p->t_start;
	err = pthread_create(&p->thr, NULL, reporter, p);
	if (err)
		return -err;
	p->thr_started = true;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void rates(struct bench_rates *r, double *v, unsigned int n)
{
	memset(r, 0, sizeof(*r));
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	r->n = n;
	r->min = v[0];
	r->max = v[n - 1];
	r->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_phase_stop_at(struct bench_phase *p, uint64_t t_end)
{
	uint64_t msgs, bytes, whole;
	unsigned int i;

	if (p->thr_started) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thr, NULL);
		p->thr_started = false;
	}
	if (t_end < p->t_start)
		t_end = p->t_start;
	p->t_end = t_end;
	/* Samples of whole seconds that ended by t_end only. */
	whole = (t_end - p->t_start) / NSEC_PER_SEC;
	if (p->nrates > whole)
		p->nrates = (unsigned int)whole;
	/* The tail: a rate sample only if no whole second was sampled. */
	if (p->prev_t < t_end)
		sample(p, t_end, p->nrates == 0, !p->quiet);

	p->seconds = (p->t_end - p->t_start) / 1e9;
	sum_workers(p, p->lat, p->tmp, &msgs, &bytes);
	p->msgs = msgs;
	p->bytes = bytes;
	if (!p->nrates && p->seconds > 0)
		push_rate(p, msgs / p->seconds, bytes / p->seconds / MB);
	p->rec_bytes = 0;
	for (i = 0; i < p->nworkers; i++)
		p->rec_bytes += p->workers[i].rec_bytes;
	rates(&p->msgs_per_s, p->rate_msgs, p->nrates);
	rates(&p->mb_per_s, p->rate_mb, p->nrates);
}

void bench_phase_stop(struct bench_phase *p)
{
	bench_phase_stop_at(p, bench_now_ns());
}

void bench_phase_free(struct bench_phase *p)
{
	free(p->prev);
	free(p->cur);
	free(p->tmp);
	free(p->lat);
	free(p->rate_msgs);
	free(p->rate_mb);
	p->prev = NULL;
	p->cur = NULL;
	p->tmp = NULL;
	p->lat = NULL;
	p->rate_msgs = NULL;
	p->rate_mb = NULL;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

static double per_s(const struct bench_phase *p, double v)
{
	return p->seconds > 0 ? v / p->seconds : 0;
}

void bench_phase_print(const struct bench_phase *p, FILE *f)
{
	static const double pcts[] = { 50, 90, 99, 99.9 };
	static const char * const names[] = { "p50", "p90", "p99", "p99.9" };
	char b[32];
	unsigned int i;

	fprintf(f, "%s: %llu records in %.3f s\n", p->name,
		(unsigned long long)p->msgs, p->seconds);
	fprintf(f, "  %.0f rec/s, %.1f MB/s body", per_s(p, p->msgs),
		per_s(p, p->bytes) / MB);
	if (p->rec_bytes)
		fprintf(f, ", %.1f MB/s records", per_s(p, p->rec_bytes) / MB);
	fprintf(f, " (MB = 10^6 B)\n");
	fprintf(f, "  per second (%u samples): rec/s min %.0f median %.0f max %.0f;",
		p->msgs_per_s.n, p->msgs_per_s.min, p->msgs_per_s.median,
		p->msgs_per_s.max);
	fprintf(f, " MB/s body min %.1f median %.1f max %.1f\n",
		p->mb_per_s.min, p->mb_per_s.median, p->mb_per_s.max);
	fprintf(f, "  %s latency (%llu calls): mean %s", p->lat_what,
		(unsigned long long)p->lat->count,
		bench_fmt_ns(b, sizeof(b), (uint64_t)bench_hist_mean(p->lat)));
	for (i = 0; i < ARRAY_SIZE(pcts); i++)
		fprintf(f, " %s %s", names[i],
			bench_fmt_ns(b, sizeof(b),
				     bench_hist_percentile(p->lat, pcts[i])));
	fprintf(f, " max %s\n", bench_fmt_ns(b, sizeof(b), p->lat->max));
}

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static json_t *rates_json(const struct bench_rates *r)
{
	json_t *o = json_object();

	jset(o, "samples", json_integer(r->n));
	jset(o, "min", json_real(r->min));
	jset(o, "median", json_real(r->median));
	jset(o, "max", json_real(r->max));
	return o;
}

json_t *bench_phase_json(const struct bench_phase *p)
{
	const struct bench_hist *h = p->lat;
	json_t *o = json_object(), *ps = json_object(), *lat = json_object();

	jset(o, "name", json_string(p->name));
	jset(o, "seconds", json_real(p->seconds));
	jset(o, "records", json_integer(p->msgs));
	jset(o, "body_bytes", json_integer(p->bytes));
	jset(o, "record_bytes", json_integer(p->rec_bytes));
	jset(o, "records_per_s", json_real(per_s(p, p->msgs)));
	jset(o, "body_MB_per_s", json_real(per_s(p, p->bytes) / MB));
	jset(o, "record_MB_per_s", json_real(per_s(p, p->rec_bytes) / MB));

	jset(ps, "records_per_s", rates_json(&p->msgs_per_s));
	jset(ps, "body_MB_per_s", rates_json(&p->mb_per_s));
	jset(o, "per_second", ps);

	jset(lat, "per", json_string(p->lat_what));
	jset(lat, "count", json_integer(h->count));
	jset(lat, "mean", json_real(bench_hist_mean(h)));
	jset(lat, "min", json_integer(h->count ? h->min : 0));
	jset(lat, "p50", json_integer(bench_hist_percentile(h, 50)));
	jset(lat, "p90", json_integer(bench_hist_percentile(h, 90)));
	jset(lat, "p99", json_integer(bench_hist_percentile(h, 99)));
	jset(lat, "p99_9", json_integer(bench_hist_percentile(h, 99.9)));
	jset(lat, "max", json_integer(h->max));
	jset(o, "latency_ns", lat);
	return o;
}

#define BENCH_FAIL_PRINT	10

void bench_fail(struct bench_failures *f, const char *fmt, ...)
{
	uint64_t n = __atomic_fetch_add(&f->count, 1, __ATOMIC_RELAXED);
	char msg[sizeof(f->first)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n == 0)
		memcpy(f->first, msg, sizeof(msg));
	if (n < BENCH_FAIL_PRINT)
		fprintf(stderr, "kmq-bench: FAIL: %s\n", msg);
	else if (n == BENCH_FAIL_PRINT)
		fprintf(stderr, "kmq-bench: (further failures not shown)\n");
}

void bench_failures_json(json_t *j, const struct bench_failures *f)
{
	json_object_set_new(j, "failures", json_integer(f->count));
	json_object_set_new(j, "first_failure", f->count ?
			    json_string(f->first) : json_null());
	json_object_set_new(j, "ok", json_boolean(!f->count));
}

void bench_summary_end(json_t *j, const struct bench_cpu *cpu,
		       const struct bench_failures *f)
{
	if (!j) {
		printf("  kmq-bench CPU: %.2f s user, %.2f s system\n",
		       cpu->user, cpu->sys);
		printf("%s: %llu failure(s)%s%s\n", f->count ? "FAILED" : "ok",
		       (unsigned long long)f->count,
		       f->count ? "; the first: " : "", f->first);
		return;
	}
	json_object_set_new(j, "cpu_s", json_pack("{s:f, s:f}", "user",
						  cpu->user, "system",
						  cpu->sys));
	bench_failures_json(j, f);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	json_decref(j);
}

volatile sig_atomic_t bench_interrupted;

static void bench_on_signal(int sig)
{
	bench_interrupted = 1;
}

void bench_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
