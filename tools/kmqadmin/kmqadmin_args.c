// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_args.c - option values checked and converted: integers in a
 * range, true/false, timestamps (milliseconds, "now", or mqadmin's
 * yyyy-MM-dd#HH:mm:ss:SSS), topic and group names, addresses. A bad value
 * is a usage error naming the option and what it takes.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmqadmin.h"

uint64_t kadm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *kadm_opt_name(const struct kadm *k, char key)
{
	const struct kadm_opt *o;

	for (o = k->cmd->opts; o->key; o++)
		if (o->key == key)
			return o->name;
	return "?";
}

int kadm_arg_int(struct kadm *k, char key, int64_t min, int64_t max,
		 int64_t def, int64_t *out)
{
	const char *s = kadm_opt_val(k, key);
	long long v;
	char *end;

	*out = def;
	if (!s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return kadm_usage_err(k, "-%c (--%s) '%s': an integer in %" PRId64 "..%" PRId64,
				      key, kadm_opt_name(k, key), s, min, max);
	*out = v;
	return 0;
}

int kadm_arg_bool(struct kadm *k, char key, bool *out)
{
	const char *s = kadm_opt_val(k, key);

	if (!s)
		return 0;
	if (!strcasecmp(s, "true")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "false")) {
		*out = false;
		return 0;
	}
	return kadm_usage_err(k, "-%c (--%s) '%s': true or false", key,
			      kadm_opt_name(k, key), s);
}

/* yyyy-MM-dd#HH:mm:ss:SSS in local time; false if malformed. */
static bool kadm_parse_date(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, se, milli, n = 0;
	struct tm tm = { 0 };
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d#%2d:%2d:%2d:%3d%n", &y, &mo, &d, &h, &mi,
		   &se, &milli, &n) != 7 || s[n] || strlen(s) != 23)
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || y < 1970 || milli < 0 || h < 0 || mi < 0 || se < 0)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_mday != d)
		return false;
	*ms = (int64_t)t * 1000 + milli;
	return true;
}

int kadm_arg_time(struct kadm *k, char key, int64_t now_val, int64_t *out)
{
	const char *s = kadm_opt_val(k, key);
	long long v;
	char *end;

	if (!s)
		return 0;
	if (!strcmp(s, "now")) {
		*out = now_val;
		return 0;
	}
	if (isdigit((unsigned char)s[0])) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (!errno && !*end) {
			*out = v;
			return 0;
		}
	}
	if (kadm_parse_date(s, out))
		return 0;
	return kadm_usage_err(k,
			      "-%c (--%s) '%s': ms since the epoch, now, or yyyy-MM-dd#HH:mm:ss:SSS",
			      key, kadm_opt_name(k, key), s);
}

int kadm_arg_topic(struct kadm *k, char key, const char **out)
{
	const char *s = kadm_opt_val(k, key), *p;

	*out = s;
	if (!s)
		return 0;
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_-%|", *p))
			break;
	if (!*s || *p || strlen(s) > KMQ_TOPIC_MAX)
		return kadm_usage_err(k, "-%c (--%s) '%s': 1..%d characters of [a-zA-Z0-9_%%|-]",
				      key, kadm_opt_name(k, key), s,
				      KMQ_TOPIC_MAX);
	return 0;
}

int kadm_arg_name(struct kadm *k, char key, const char **out)
{
	const char *s = kadm_opt_val(k, key), *p;

	*out = s;
	if (!s)
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			break;
	if (!*s || *p || strlen(s) > KMQ_NAME_MAX)
		return kadm_usage_err(k, "-%c (--%s) '%s': 1..%d printable characters, no spaces",
				      key, kadm_opt_name(k, key), s,
				      KMQ_NAME_MAX);
	return 0;
}

int kadm_arg_addr(struct kadm *k, char key, const char **out)
{
	const char *s = kadm_opt_val(k, key), *colon;
	long port;
	char *end;

	*out = s;
	if (!s)
		return 0;
	colon = strrchr(s, ':');
	if (colon && colon != s && strlen(s) <= KMQ_ADDR_MAX) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (!errno && !*end && end != colon + 1 && port > 0 &&
		    port < 65536)
			return 0;
	}
	return kadm_usage_err(k, "-%c (--%s) '%s': a broker address, host:port",
			      key, kadm_opt_name(k, key), s);
}
