// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_config.c - kmqd's configuration: the key table, value parsing, the
 * Java properties reader for broker.conf, the command line, the rules
 * between keys, printing, and the mapping onto the store's configuration.
 * See kmqd_config.h and docs/configuration.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmq_store.h"
#include "kmqd_config.h"
#include "kmqd_log.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define KIB			1024ull
#define MIB			(1024 * KIB)
#define GIB			(1024 * MIB)

/* A broker.conf larger than this is surely not one. */
#define CONF_FILE_MAX		(1u << 20)

/* Key indexes, in the order kmqd_config_print() prints them (by name). */
enum {
	K_AUTO_CREATE,
	K_CLUSTER_NAME,
	K_BROKER_IP1,
	K_BROKER_ID,
	K_BROKER_NAME,
	K_BROKER_ROLE,
	K_QUEUE_NUMS,
	K_DELETE_WHEN,
	K_RESERVED_TIME,
	K_FLUSH_TYPE,
	K_IO_THREADS,
	K_LISTEN_ADDR,
	K_LISTEN_PORT,
	K_LOG_FILE,
	K_LOG_LEVEL,
	K_MAPED_SIZE,
	K_MAX_MSG_SIZE,
	K_NAMESRV_ADDR,
	K_NAMESRV_PORT,
	K_RING_SEGMENTS,
	K_STORE_BACKEND,
	K_STORE_ROOT,
	K_SYNC_FLUSH_TIMEOUT,
	K_TRANSFER_BY_HEAP,
	K_NKEYS
};

_Static_assert(K_NKEYS == KMQD_CONFIG_NKEYS, "KMQD_CONFIG_NKEYS is stale");

/* struct kmqd_config_origin.kind */
enum {
	ORIGIN_DEFAULT = 0,
	ORIGIN_ENV,
	ORIGIN_FILE,
	ORIGIN_FLAG,
	ORIGIN_DERIVED,
};

enum key_type {
	KT_UINT,	/* unsigned int in [min, max] */
	KT_U64,		/* uint64_t in [min, max] */
	KT_BOOL,	/* bool: true or false */
	KT_ENUM,	/* an enum: one of names[] */
	KT_LEVEL,	/* int: a log level */
	KT_STR,		/* parsed and stored by parse() */
};

/**
 * struct key - one configuration key.
 * @name: as written in broker.conf
 * @type: how the value is parsed
 * @off: offset of the field in struct kmqd_config
 * @min: KT_UINT lower bound
 * @max: KT_UINT upper bound
 * @check: KT_UINT further rule: NULL or why @v is refused
 * @names: KT_ENUM names, by value, NULL-terminated
 * @parse: KT_STR: check @v and store it; on failure may say why
 * @print: KT_STR: print the value (NULL: the field is a string)
 * @expect: what a good value looks like, for messages
 */
struct key {
	const char *name;
	enum key_type type;
	size_t off;
	uint64_t min;
	uint64_t max;
	const char *(*check)(uint64_t v);
	const char *const *names;
	int (*parse)(struct kmqd_config *c, const char *v, char *why,
		     size_t whylen);
	const char *expect;
};

/* ---- messages ---------------------------------------------------- */

static __attribute__((format(printf, 3, 4)))
void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * quote() - @s for a message: at most 64 bytes, non-printable bytes as
 * \xNN. @buf needs 4 * 64 + 4 bytes.
 */
#define QUOTE_BUF	(4 * 64 + 4)

static const char *quote(const char *s, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	for (i = 0; s[i] && i < 64; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[ch >> 4];
			buf[n++] = hex[ch & 15];
		} else {
			buf[n++] = (char)ch;
		}
	}
	if (s[i]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = 0;
	return buf;
}

/* ---- value parsers ----------------------------------------------- */

/* Decimal, an optional '+', no sign otherwise, no spaces, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '+')
		s++;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\f';
}

/* Copy @s[0..@n) into @out (@outsz bytes) without surrounding blanks. */
static int copy_trimmed(const char *s, size_t n, char *out, size_t outsz)
{
	while (n && is_ws(*s)) {
		s++;
		n--;
	}
	while (n && is_ws(s[n - 1]))
		n--;
	if (n >= outsz)
		return -1;
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

static int parse_port(const char *s, unsigned int *port)
{
	uint64_t v;

	if (parse_u64(s, &v) || v < 1 || v > 65535)
		return -1;
	*port = (unsigned int)v;
	return 0;
}

static bool is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static bool is_wildcard(const char *ip)
{
	return !strcmp(ip, "0.0.0.0") || !strcmp(ip, "::");
}

/*
 * A host name: letters, digits, '-', '_' and '.', labels not empty, not
 * starting with '-'. Only digits and dots must make an IPv4 address.
 */
static bool is_host_name(const char *s)
{
	size_t i, n = strlen(s);
	bool label_start = true, numeric = true;

	if (!n || n > KMQD_HOST_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (label_start)
				return false;
			label_start = true;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
		if (label_start && ch == '-')
			return false;
		if (ch < '0' || ch > '9')
			numeric = false;
		label_start = false;
	}
	if (numeric)
		return is_ip(s);
	return true;
}

/*
 * One namesrvAddr entry: host:port, split at the last ':' as RocketMQ
 * does ("::1:9876" is [::1]:9876); "[v6]:port" is accepted too.
 */
static int parse_hostport(const char *s, struct kmqd_hostport *hp,
			  char *why, size_t whylen)
{
	char q[QUOTE_BUF];
	const char *colon = strrchr(s, ':');
	const char *host = s;
	size_t hlen;

	if (!colon) {
		set_err(why, whylen, "entry \"%s\" has no port", quote(s, q));
		return -1;
	}
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		host = s + 1;
		hlen -= 2;
	}
	if (!hlen || hlen > KMQD_HOST_MAX) {
		set_err(why, whylen, "entry \"%s\": bad host", quote(s, q));
		return -1;
	}
	memcpy(hp->host, host, hlen);
	hp->host[hlen] = 0;
	if (host != s) {
		unsigned char a[16];

		if (inet_pton(AF_INET6, hp->host, a) != 1) {
			set_err(why, whylen,
				"entry \"%s\": not an IPv6 address in brackets",
				quote(s, q));
			return -1;
		}
	} else if (strchr(hp->host, ':') ? !is_ip(hp->host) :
		   !is_host_name(hp->host)) {
		set_err(why, whylen, "entry \"%s\": bad host", quote(s, q));
		return -1;
	}
	if (parse_port(colon + 1, &hp->port)) {
		set_err(why, whylen, "entry \"%s\": port is not 1..65535",
			quote(s, q));
		return -1;
	}
	return 0;
}

static int parse_namesrv_addr(struct kmqd_config *c, const char *v,
			      char *why, size_t whylen)
{
	struct kmqd_hostport hp[KMQD_NAMESRV_MAX];
	char norm[KMQD_NAMESRV_ADDR_MAX + 1];
	char entry[KMQD_NAMESRV_ADDR_MAX + 1];
	unsigned int n = 0;
	size_t len = 0, elen;
	const char *p = v, *semi;

	for (;;) {
		semi = strchr(p, ';');
		elen = semi ? (size_t)(semi - p) : strlen(p);
		if (copy_trimmed(p, elen, entry, sizeof(entry))) {
			set_err(why, whylen, "longer than %d bytes",
				KMQD_NAMESRV_ADDR_MAX);
			return -1;
		}
		if (entry[0]) {
			if (n == KMQD_NAMESRV_MAX) {
				set_err(why, whylen, "more than %d entries",
					KMQD_NAMESRV_MAX);
				return -1;
			}
			if (parse_hostport(entry, &hp[n], why, whylen))
				return -1;
			/* RocketMQ's form: host:port split at the last ':'. */
			elen = (size_t)snprintf(entry, sizeof(entry), "%s:%u",
						hp[n].host, hp[n].port);
			if (len + !!n + elen > KMQD_NAMESRV_ADDR_MAX) {
				set_err(why, whylen, "longer than %d bytes",
					KMQD_NAMESRV_ADDR_MAX);
				return -1;
			}
			if (n)
				norm[len++] = ';';
			memcpy(norm + len, entry, elen);
			len += elen;
			n++;
		}
		if (!semi)
			break;
		p = semi + 1;
	}
	norm[len] = 0;
	memcpy(c->namesrv, hp, n * sizeof(hp[0]));
	c->namesrv_count = n;
	memcpy(c->namesrv_addr, norm, len + 1);
	return 0;
}

/* deleteWhen: hours 0-23 separated by ';', e.g. "04" or "04;16". */
static int parse_delete_when(struct kmqd_config *c, const char *v,
			     char *why, size_t whylen)
{
	char entry[KMQD_DELETE_WHEN_MAX + 1];
	const char *p = v, *semi;
	uint32_t mask = 0;
	uint64_t h;
	size_t elen;

	if (strlen(v) > KMQD_DELETE_WHEN_MAX) {
		set_err(why, whylen, "longer than %d bytes",
			KMQD_DELETE_WHEN_MAX);
		return -1;
	}
	for (;;) {
		semi = strchr(p, ';');
		elen = semi ? (size_t)(semi - p) : strlen(p);
		copy_trimmed(p, elen, entry, sizeof(entry));
		if (entry[0]) {
			if (parse_u64(entry, &h) || h > 23) {
				char q[QUOTE_BUF];

				set_err(why, whylen, "\"%s\" is not an hour",
					quote(entry, q));
				return -1;
			}
			mask |= 1u << h;
		}
		if (!semi)
			break;
		p = semi + 1;
	}
	if (!mask)
		return -1;
	c->delete_hours = mask;
	strcpy(c->delete_when, v);
	return 0;
}

/* brokerClusterName, brokerName: printable, no blanks, 1..127 bytes. */
static int check_name(const char *v, char *why, size_t whylen)
{
	size_t i, n = strlen(v);

	if (!n || n > KMQD_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= ' ' || ch == 0x7f) {
			set_err(why, whylen, "blank or control character");
			return -1;
		}
	}
	return 0;
}

static int parse_cluster_name(struct kmqd_config *c, const char *v,
			      char *why, size_t whylen)
{
	if (check_name(v, why, whylen))
		return -1;
	strcpy(c->broker_cluster_name, v);
	return 0;
}

static int parse_broker_name(struct kmqd_config *c, const char *v,
			     char *why, size_t whylen)
{
	if (check_name(v, why, whylen))
		return -1;
	strcpy(c->broker_name, v);
	return 0;
}

/* brokerIP1: a numeric address; "" means the default (see validate). */
static int parse_broker_ip1(struct kmqd_config *c, const char *v,
			    char *why, size_t whylen)
{
	if (v[0] && (strlen(v) > KMQD_IP_MAX || !is_ip(v)))
		return -1;
	if (v[0] && is_wildcard(v)) {
		set_err(why, whylen, "a wildcard cannot be advertised");
		return -1;
	}
	strcpy(c->broker_ip1, v);
	return 0;
}

static int parse_listen_addr(struct kmqd_config *c, const char *v,
			     char *why, size_t whylen)
{
	if (strlen(v) > KMQD_IP_MAX || !is_ip(v))
		return -1;
	strcpy(c->listen_addr, v);
	return 0;
}

/* A leading "~" or "~/" is $HOME, as a shell would do. */
static int expand_path(const char *v, char *out, size_t outsz)
{
	const char *home = NULL;
	struct passwd *pw;

	if (v[0] == '~' && (v[1] == '/' || !v[1])) {
		home = getenv("HOME");
		if (!home || !home[0]) {
			pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
	}
	if (!home)
		home = "";
	else
		v++;
	if (strlen(home) + strlen(v) >= outsz)
		return -1;
	strcpy(out, home);
	strcat(out, v);
	return 0;
}

static int parse_store_root(struct kmqd_config *c, const char *v,
			    char *why, size_t whylen)
{
	char path[KMQD_PATH_MAX + 1];

	if (!v[0]) {
		set_err(why, whylen, "empty");
		return -1;
	}
	if (expand_path(v, path, sizeof(path))) {
		set_err(why, whylen, "longer than %d bytes", KMQD_PATH_MAX);
		return -1;
	}
	strcpy(c->store_path_root_dir, path);
	return 0;
}

static int parse_log_file(struct kmqd_config *c, const char *v,
			  char *why, size_t whylen)
{
	char path[KMQD_PATH_MAX + 1];

	if (expand_path(v, path, sizeof(path))) {
		set_err(why, whylen, "longer than %d bytes", KMQD_PATH_MAX);
		return -1;
	}
	strcpy(c->log_file, path);
	return 0;
}

static const char *check_page_multiple(uint64_t v)
{
	return v % 4096 ? "not a multiple of 4096" : NULL;
}

static const char *check_ring(uint64_t v)
{
	return v == 1 ? "a ring needs the current segment and the next" : NULL;
}

/* ---- the key table ----------------------------------------------- */

static const char *const broker_role_names[] = {
	[KMQD_ASYNC_MASTER] = "ASYNC_MASTER",
	[KMQD_SYNC_MASTER] = "SYNC_MASTER",
	[KMQD_SLAVE] = "SLAVE",
	NULL
};

static const char *const store_backend_names[] = {
	[KMQD_BACKEND_AUTO] = "auto",
	[KMQD_BACKEND_USER] = "userspace",
	[KMQD_BACKEND_KERNEL] = "kernel",
	NULL
};

static const char *const flush_type_names[] = {
	[KMQD_ASYNC_FLUSH] = "ASYNC_FLUSH",
	[KMQD_SYNC_FLUSH] = "SYNC_FLUSH",
	NULL
};

#define FIELD(f)	.off = offsetof(struct kmqd_config, f)
#define UINT_KEY(n, f, lo, hi, exp)					\
	{ .name = n, .type = KT_UINT, FIELD(f), .min = lo, .max = hi,	\
	  .expect = exp }
#define STR_KEY(n, f, fn, exp)						\
	{ .name = n, .type = KT_STR, FIELD(f), .parse = fn, .expect = exp }
#define ENUM_KEY(n, f, tab, exp)					\
	{ .name = n, .type = KT_ENUM, FIELD(f), .names = tab, .expect = exp }

static const struct key keys[K_NKEYS] = {
	[K_AUTO_CREATE] = { .name = "autoCreateTopicEnable", .type = KT_BOOL,
			    FIELD(auto_create_topic_enable),
			    .expect = "true or false" },
	[K_CLUSTER_NAME] = STR_KEY("brokerClusterName", broker_cluster_name,
				   parse_cluster_name,
				   "1 to 127 printable characters, no blanks"),
	[K_BROKER_IP1] = STR_KEY("brokerIP1", broker_ip1, parse_broker_ip1,
				 "a numeric IPv4 or IPv6 address"),
	[K_BROKER_ID] = { .name = "brokerId", .type = KT_U64, FIELD(broker_id),
			  .min = 0, .max = INT64_MAX,
			  .expect = "an integer from 0 (master) to 9223372036854775807" },
	[K_BROKER_NAME] = STR_KEY("brokerName", broker_name, parse_broker_name,
				  "1 to 127 printable characters, no blanks"),
	[K_BROKER_ROLE] = ENUM_KEY("brokerRole", broker_role,
				   broker_role_names,
				   "ASYNC_MASTER, SYNC_MASTER or SLAVE"),
	[K_QUEUE_NUMS] = UINT_KEY("defaultTopicQueueNums",
				  default_topic_queue_nums, 1, 1024,
				  "an integer from 1 to 1024"),
	[K_DELETE_WHEN] = STR_KEY("deleteWhen", delete_when, parse_delete_when,
				  "hours from 0 to 23 separated by ';', e.g. 04 or 04;16"),
	[K_RESERVED_TIME] = UINT_KEY("fileReservedTime", file_reserved_time, 0,
				     INT32_MAX,
				     "a number of hours from 0 to 2147483647"),
	[K_FLUSH_TYPE] = ENUM_KEY("flushDiskType", flush_disk_type,
				  flush_type_names,
				  "ASYNC_FLUSH or SYNC_FLUSH"),
	[K_IO_THREADS] = UINT_KEY("ioThreads", io_threads, 0, 1024,
				  "an integer from 0 (one per CPU) to 1024"),
	[K_LISTEN_ADDR] = STR_KEY("listenAddr", listen_addr, parse_listen_addr,
				  "a numeric IPv4 or IPv6 address, e.g. 127.0.0.1 or 0.0.0.0"),
	[K_LISTEN_PORT] = UINT_KEY("listenPort", listen_port, 1, 65535,
				   "an integer from 1 to 65535"),
	[K_LOG_FILE] = STR_KEY("logFile", log_file, parse_log_file,
			       "a file name, or nothing for stderr"),
	[K_LOG_LEVEL] = { .name = "logLevel", .type = KT_LEVEL,
			  FIELD(log_level),
			  .expect = "error, warn, info or debug" },
	[K_MAPED_SIZE] = {
		.name = "mapedFileSizeCommitLog", .type = KT_U64,
		FIELD(maped_file_size_commit_log),
		.min = 64 * KIB, .max = 64 * GIB, .check = check_page_multiple,
		.expect = "bytes, a multiple of 4096 from 65536 to 68719476736"
	},
	[K_MAX_MSG_SIZE] = UINT_KEY("maxMessageSize", max_message_size, 1, GIB,
				    "a size in bytes from 1 to 1073741824"),
	[K_NAMESRV_ADDR] = {
		.name = "namesrvAddr", .type = KT_STR, FIELD(namesrv_addr),
		.parse = parse_namesrv_addr,
		.expect = "host:port entries separated by ';', e.g. 127.0.0.1:9876;10.0.0.2:9876"
	},
	[K_NAMESRV_PORT] = UINT_KEY("namesrvListenPort", namesrv_listen_port,
				    1, 65535, "an integer from 1 to 65535"),
	[K_RING_SEGMENTS] = { .name = "ringSegments", .type = KT_UINT,
			      FIELD(ring_segments), .min = 0, .max = 1u << 20,
			      .check = check_ring,
			      .expect = "0 (no limit) or a number of segments from 2 to 1048576" },
	[K_STORE_BACKEND] = ENUM_KEY("storeBackend", store_backend,
				     store_backend_names,
				     "auto, userspace or kernel"),
	[K_STORE_ROOT] = STR_KEY("storePathRootDir", store_path_root_dir,
				 parse_store_root, "a directory"),
	[K_SYNC_FLUSH_TIMEOUT] = UINT_KEY("syncFlushTimeout",
					  sync_flush_timeout, 1, 3600000,
					  "milliseconds from 1 to 3600000"),
	[K_TRANSFER_BY_HEAP] = { .name = "transferMsgByHeap", .type = KT_BOOL,
				 FIELD(transfer_msg_by_heap),
				 .expect = "true or false" },
};

/* Older and newer spellings of a key. */
static const struct {
	const char *name;
	unsigned int key;
} key_aliases[] = {
	{ "mappedFileSizeCommitLog", K_MAPED_SIZE },
};

/*
 * RocketMQ broker keys that kmq does not implement: told apart from typos
 * in the warning.
 */
static const char *const rocketmq_keys[] = {
	"aclEnable", "autoCreateSubscriptionGroup", "brokerIP2",
	"brokerPermission", "clusterTopicEnable", "brokerTopicEnable",
	"diskMaxUsedSpaceRatio", "enablePropertyFilter", "fetchNamesrvAddrByAddressServer",
	"flushCommitLogLeastPages", "flushIntervalCommitLog",
	"flushIntervalConsumeQueue", "haListenPort", "mapedFileSizeConsumeQueue",
	"mappedFileSizeConsumeQueue", "maxTransferCountOnMessageInMemory",
	"messageDelayLevel", "pullMessageThreadPoolNums", "rocketmqHome",
	"sendMessageThreadPoolNums", "storePathCommitLog",
	"storePathConsumeQueue", "storePathIndex", "traceTopicEnable",
	"transientStorePoolEnable", "useReentrantLockWhenPutMessage",
	"waitTimeMillsInSendQueue",
};

static int find_key(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < K_NKEYS; i++)
		if (strlen(keys[i].name) == len &&
		    !memcmp(keys[i].name, name, len))
			return (int)i;
	for (i = 0; i < ARRAY_SIZE(key_aliases); i++)
		if (strlen(key_aliases[i].name) == len &&
		    !memcmp(key_aliases[i].name, name, len))
			return (int)key_aliases[i].key;
	return -1;
}

/* The key spelt like @name but for case, for "did you mean". */
static const char *similar_key(const char *name)
{
	unsigned int i;

	for (i = 0; i < K_NKEYS; i++)
		if (!strcasecmp(keys[i].name, name))
			return keys[i].name;
	for (i = 0; i < ARRAY_SIZE(key_aliases); i++)
		if (!strcasecmp(key_aliases[i].name, name))
			return key_aliases[i].name;
	return NULL;
}

static bool is_rocketmq_key(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rocketmq_keys); i++)
		if (!strcmp(rocketmq_keys[i], name))
			return true;
	return false;
}

const char *kmqd_broker_role_name(enum kmqd_broker_role r)
{
	if ((unsigned int)r >= ARRAY_SIZE(broker_role_names) - 1)
		return "?";
	return broker_role_names[r];
}

const char *kmqd_flush_type_name(enum kmqd_flush_type t)
{
	if ((unsigned int)t >= ARRAY_SIZE(flush_type_names) - 1)
		return "?";
	return flush_type_names[t];
}

const char *kmqd_role_name(enum kmqd_role r)
{
	switch (r) {
	case KMQD_ROLE_NAMESRV:
		return "namesrv";
	case KMQD_ROLE_BROKER:
		return "broker";
	case KMQD_ROLE_ALL:
		return "all";
	}
	return "?";
}

/* ---- setting a key ----------------------------------------------- */

static void *field(struct kmqd_config *c, const struct key *k)
{
	return (char *)c + k->off;
}

static const void *cfield(const struct kmqd_config *c, const struct key *k)
{
	return (const char *)c + k->off;
}

/*
 * Parse @v into key @ki of @c; on failure fill @err ("name: ..."), @name
 * being the key as the user spelt it.
 */
static int apply(struct kmqd_config *c, unsigned int ki, const char *name,
		 const char *v, char *err, size_t errlen)
{
	const struct key *k = &keys[ki];
	char why[256] = "";
	char q[QUOTE_BUF];
	const char *reason;
	unsigned int i;
	uint64_t u;
	int lvl;

	switch (k->type) {
	case KT_UINT:
	case KT_U64:
		if (parse_u64(v, &u) || u < k->min || u > k->max)
			goto bad;
		reason = k->check ? k->check(u) : NULL;
		if (reason) {
			snprintf(why, sizeof(why), "%s", reason);
			goto bad;
		}
		if (k->type == KT_U64)
			*(uint64_t *)field(c, k) = u;
		else
			*(unsigned int *)field(c, k) = (unsigned int)u;
		return 0;
	case KT_BOOL:
		if (!strcasecmp(v, "true"))
			*(bool *)field(c, k) = true;
		else if (!strcasecmp(v, "false"))
			*(bool *)field(c, k) = false;
		else
			goto bad;
		return 0;
	case KT_ENUM:
		for (i = 0; k->names[i]; i++) {
			if (!strcasecmp(v, k->names[i])) {
				*(int *)field(c, k) = (int)i;
				return 0;
			}
		}
		goto bad;
	case KT_LEVEL:
		lvl = kmqd_log_level_parse(v);
		if (lvl < 0)
			goto bad;
		*(int *)field(c, k) = lvl;
		return 0;
	case KT_STR:
		if (k->parse(c, v, why, sizeof(why)))
			goto bad;
		return 0;
	}
bad:
	set_err(err, errlen, "%s: bad value \"%s\": expected %s%s%s%s",
		name ? name : k->name, quote(v, q), k->expect, why[0] ? " (" : "", why,
		why[0] ? ")" : "");
	return -EINVAL;
}

static int set_key(struct kmqd_config *c, int ki, const char *name,
		   const char *v, unsigned char kind, unsigned int line,
		   char *err, size_t errlen)
{
	int ret = apply(c, (unsigned int)ki, name, v, err, errlen);

	if (!ret) {
		c->origin[ki].kind = kind;
		c->origin[ki].line = line;
	}
	return ret;
}

static void unknown_key_msg(const char *key, char *buf, size_t n)
{
	const char *like = similar_key(key);
	char q[QUOTE_BUF];

	if (is_rocketmq_key(key))
		snprintf(buf, n, "%s is a RocketMQ key kmq does not support",
			 key);
	else if (like)
		snprintf(buf, n, "unknown key \"%s\" (did you mean %s?)",
			 quote(key, q), like);
	else
		snprintf(buf, n, "unknown key \"%s\"", quote(key, q));
}

int kmqd_config_set(struct kmqd_config *c, const char *key,
		    const char *value, char *err, size_t errlen)
{
	int ki = find_key(key, strlen(key));

	if (ki < 0) {
		char msg[512];

		unknown_key_msg(key, msg, sizeof(msg));
		set_err(err, errlen, "%s", msg);
		return -ENOENT;
	}
	return set_key(c, ki, key, value, ORIGIN_FLAG, 0, err, errlen);
}

void kmqd_config_init(struct kmqd_config *c, enum kmqd_role role)
{
	memset(c, 0, sizeof(*c));
	c->role = role;
	strcpy(c->broker_cluster_name, "DefaultCluster");
	strcpy(c->broker_name, "broker-a");
	c->broker_id = 0;
	c->listen_port = 10911;
	strcpy(c->store_path_root_dir, "./store");
	c->broker_role = KMQD_ASYNC_MASTER;
	c->flush_disk_type = KMQD_ASYNC_FLUSH;
	strcpy(c->delete_when, "04");
	c->delete_hours = 1u << 4;
	c->file_reserved_time = 72;
	c->auto_create_topic_enable = true;
	c->default_topic_queue_nums = 8;
	c->maped_file_size_commit_log = GIB;
	c->max_message_size = 4 * MIB;
	c->sync_flush_timeout = 5000;
	c->namesrv_listen_port = 9876;
	strcpy(c->listen_addr, "127.0.0.1");
	c->ring_segments = 0;
	c->log_level = KMQD_LOG_INFO;
	c->io_threads = 0;
	c->transfer_msg_by_heap = false;
}

/* ---- Java properties --------------------------------------------- */

static bool is_eol(char ch)
{
	return ch == '\n' || ch == '\r';
}

/* Append @n bytes to a growing buffer. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char *np;
	size_t cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int read_u16_escape(const char *s, size_t n, unsigned int *out)
{
	unsigned int v = 0;
	size_t i;
	int h;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | (unsigned int)h;
	}
	*out = v;
	return 0;
}

static size_t utf8_encode(unsigned int cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * unescape() - the text of @s[0..@n) with Java's escapes: \t \n \r \f,
 * \uXXXX (UTF-8 out, surrogate pairs joined), and \x for any other x.
 * A lone trailing backslash is dropped. *@kept is set to the length up to
 * the last escaped character, which trimming must not remove.
 */
static int unescape(const char *s, size_t n, struct sbuf *out, size_t *kept,
		    const char **bad)
{
	char u[4];
	unsigned int cp, lo;
	size_t i = 0, ulen;
	char ch;
	int ret;

	*kept = 0;
	out->len = 0;
	ret = sbuf_add(out, "", 0);
	while (!ret && i < n) {
		if (s[i] != '\\') {
			ret = sbuf_add(out, s + i++, 1);
			continue;
		}
		if (++i == n)
			break;
		ch = s[i++];
		switch (ch) {
		case 't':
			ch = '\t';
			break;
		case 'n':
			ch = '\n';
			break;
		case 'r':
			ch = '\r';
			break;
		case 'f':
			ch = '\f';
			break;
		case 'u':
			if (read_u16_escape(s + i, n - i, &cp)) {
				*bad = "malformed \\uXXXX escape";
				return -EINVAL;
			}
			i += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				*bad = "\\u escape: unpaired low surrogate";
				return -EINVAL;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u' ||
				    read_u16_escape(s + i + 2, n - i - 2, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff) {
					*bad = "\\u escape: unpaired high surrogate";
					return -EINVAL;
				}
				i += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			if (!cp) {
				*bad = "\\u0000 in a value";
				return -EINVAL;
			}
			ulen = utf8_encode(cp, u);
			ret = sbuf_add(out, u, ulen);
			*kept = out->len;
			continue;
		}
		ret = sbuf_add(out, &ch, 1);
		*kept = out->len;
	}
	return ret;
}

/*
 * One logical line, continuations joined: a natural line ending in an odd
 * number of backslashes goes on with the next one, whose leading blanks
 * are skipped. *@pos moves past it; *@lines counts the natural lines.
 */
static int logical_line(const char *buf, size_t len, size_t *pos,
			unsigned int *lines, struct sbuf *out)
{
	size_t p = *pos, start, end, bs;
	int ret;

	out->len = 0;
	ret = sbuf_add(out, "", 0);
	for (;;) {
		start = p;
		while (p < len && !is_eol(buf[p]))
			p++;
		end = p;
		if (p < len && buf[p] == '\r')
			p++;
		if (p < len && buf[p] == '\n' && (p == end || buf[p - 1] == '\r'))
			p++;
		(*lines)++;
		for (bs = 0; end - bs > start && buf[end - bs - 1] == '\\'; bs++)
			;
		if (ret)
			break;
		if (bs % 2 == 0 || p >= len) {
			ret = sbuf_add(out, buf + start, end - start);
			break;
		}
		ret = sbuf_add(out, buf + start, end - start - 1);
		while (p < len && is_ws(buf[p]))
			p++;
	}
	*pos = p;
	return ret;
}

/* Split a logical line (leading blanks skipped) into raw key and value. */
static void split_line(const char *l, size_t n, size_t *klen,
		       const char **val, size_t *vlen)
{
	size_t i = 0, v;

	while (i < n) {
		if (l[i] == '\\') {
			i += 2;
			continue;
		}
		if (l[i] == '=' || l[i] == ':' || is_ws(l[i]))
			break;
		i++;
	}
	if (i > n)
		i = n;
	*klen = i;
	v = i;
	while (v < n && is_ws(l[v]))
		v++;
	if (v < n && (l[v] == '=' || l[v] == ':'))
		v++;
	while (v < n && is_ws(l[v]))
		v++;
	*val = l + v;
	*vlen = n - v;
}

static int read_conf(const char *path, char **out, size_t *outlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t r;
	char *buf;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto fail_fd;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto fail_fd;
	}
	if (st.st_size > CONF_FILE_MAX) {
		err = -EFBIG;
		goto fail_fd;
	}
	buf = malloc(CONF_FILE_MAX + 1);
	if (!buf) {
		err = -ENOMEM;
		goto fail_fd;
	}
	for (;;) {
		r = read(fd, buf + got, CONF_FILE_MAX + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto fail_buf;
		}
		if (!r)
			break;
		got += (size_t)r;
		if (got > CONF_FILE_MAX) {
			err = -EFBIG;
			goto fail_buf;
		}
	}
	close(fd);
	buf[got] = 0;
	*out = buf;
	*outlen = got;
	return 0;
fail_buf:
	free(buf);
fail_fd:
	close(fd);
	return err;
}

/* Apply one key=value of a file; unknown keys only warn. */
static int file_entry(struct kmqd_config *c, const char *path,
		      unsigned int line, const char *key, const char *val,
		      char *err, size_t errlen)
{
	char msg[512];
	int ki = find_key(key, strlen(key));

	if (ki < 0) {
		unknown_key_msg(key, msg, sizeof(msg));
		log_warn("%s:%u: %s; ignored", path, line, msg);
		return 0;
	}
	if (set_key(c, ki, key, val, ORIGIN_FILE, line, msg, sizeof(msg))) {
		set_err(err, errlen, "%s:%u: %s", path, line, msg);
		return -EINVAL;
	}
	return 0;
}

int kmqd_config_load_file(struct kmqd_config *c, const char *path,
			  char *err, size_t errlen)
{
	struct sbuf l = { 0 }, k = { 0 }, v = { 0 };
	unsigned int lines = 0, first;
	size_t len, pos = 0, i, klen, vlen, kept, vkept;
	const char *val, *bad = NULL, *nul;
	char *buf = NULL;
	int ret;

	len = 0;
	ret = read_conf(path, &buf, &len);
	if (ret) {
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (strlen(path) > KMQD_PATH_MAX) {
		set_err(err, errlen, "%s: path too long", path);
		ret = -ENAMETOOLONG;
		goto out;
	}
	strcpy(c->config_file, path);
	nul = memchr(buf, 0, len);
	if (nul) {
		for (i = 0, lines = 1; buf + i < nul; i++)
			lines += buf[i] == '\n';
		set_err(err, errlen, "%s:%u: NUL byte: not a text file", path,
			lines);
		ret = -EINVAL;
		goto out;
	}
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (!ret && pos < len) {
		/* Blank lines and comments end at their line break. */
		i = pos;
		while (i < len && is_ws(buf[i]))
			i++;
		if (i == len || is_eol(buf[i]) || buf[i] == '#' ||
		    buf[i] == '!') {
			while (i < len && !is_eol(buf[i]))
				i++;
			if (i < len && buf[i] == '\r')
				i++;
			if (i < len && buf[i] == '\n')
				i++;
			lines++;
			pos = i;
			continue;
		}
		pos = i;
		first = lines + 1;
		ret = logical_line(buf, len, &pos, &lines, &l);
		if (ret)
			break;
		split_line(l.p, l.len, &klen, &val, &vlen);
		ret = unescape(l.p, klen, &k, &kept, &bad);
		if (!ret)
			ret = unescape(val, vlen, &v, &vkept, &bad);
		if (ret == -EINVAL) {
			set_err(err, errlen, "%s:%u: %s", path, first, bad);
			break;
		}
		if (ret)
			break;
		/* Java keeps trailing blanks; they only ever cause trouble. */
		while (v.len > vkept && is_ws(v.p[v.len - 1]))
			v.p[--v.len] = 0;
		ret = file_entry(c, path, first, k.p, v.p, err, errlen);
	}
	if (ret == -ENOMEM)
		set_err(err, errlen, "%s: out of memory", path);
out:
	free(l.p);
	free(k.p);
	free(v.p);
	free(buf);
	return ret;
}

/* ---- rules between keys ------------------------------------------ */

static const char *origin_str(const struct kmqd_config *c, unsigned int ki,
			      char *buf, size_t n)
{
	const struct kmqd_config_origin *o = &c->origin[ki];

	switch (o->kind) {
	case ORIGIN_ENV:
		return "from NAMESRV_ADDR";
	case ORIGIN_FILE:
		snprintf(buf, n, "at %s:%u", c->config_file, o->line);
		return buf;
	case ORIGIN_FLAG:
		return "on the command line";
	case ORIGIN_DERIVED:
		return "derived";
	}
	return "by default";
}

static void loopback_of(const char *listen, char *out, size_t n)
{
	if (!strcmp(listen, "::"))
		snprintf(out, n, "::1");
	else if (is_wildcard(listen))
		snprintf(out, n, "127.0.0.1");
	else
		snprintf(out, n, "%s", listen);
}

static int validate_broker(struct kmqd_config *c, char *err, size_t errlen)
{
	char o1[KMQD_PATH_MAX + 32], o2[KMQD_PATH_MAX + 32];
	char ip[KMQD_IP_MAX + 1];

	if (c->broker_role == KMQD_SLAVE && !c->broker_id) {
		set_err(err, errlen,
			"brokerRole=SLAVE (set %s) needs brokerId > 0 (brokerId=0 %s)",
			origin_str(c, K_BROKER_ROLE, o1, sizeof(o1)),
			origin_str(c, K_BROKER_ID, o2, sizeof(o2)));
		return -EINVAL;
	}
	if (c->broker_role != KMQD_SLAVE && c->broker_id) {
		log_warn("brokerId=%llu (set %s) ignored: brokerRole=%s is a master, whose brokerId is 0",
			 (unsigned long long)c->broker_id,
			 origin_str(c, K_BROKER_ID, o1, sizeof(o1)),
			 kmqd_broker_role_name(c->broker_role));
		c->broker_id = 0;
		c->origin[K_BROKER_ID].kind = ORIGIN_DERIVED;
	}
	if (c->maped_file_size_commit_log <
	    (uint64_t)c->max_message_size + 64 * KIB) {
		set_err(err, errlen,
			"mapedFileSizeCommitLog=%llu (set %s) must be at least maxMessageSize=%u (set %s) + 65536",
			(unsigned long long)c->maped_file_size_commit_log,
			origin_str(c, K_MAPED_SIZE, o1, sizeof(o1)),
			c->max_message_size,
			origin_str(c, K_MAX_MSG_SIZE, o2, sizeof(o2)));
		return -EINVAL;
	}
	if (!c->broker_ip1[0]) {
		loopback_of(c->listen_addr, ip, sizeof(ip));
		if (is_wildcard(c->listen_addr))
			log_warn("listenAddr=%s accepts remote clients but brokerIP1 is %s: set brokerIP1 to an address they can reach",
				 c->listen_addr, ip);
		strcpy(c->broker_ip1, ip);
		c->origin[K_BROKER_IP1].kind = ORIGIN_DERIVED;
	}
	if (!c->namesrv_count && c->role == KMQD_ROLE_BROKER)
		log_warn("namesrvAddr is empty: the broker registers with no name server and clients cannot find it");
	return 0;
}

int kmqd_config_validate(struct kmqd_config *c, char *err, size_t errlen)
{
	char addr[KMQD_IP_MAX + 32], ip[KMQD_IP_MAX + 1];
	int ret;

	if (c->role & KMQD_ROLE_BROKER) {
		ret = validate_broker(c, err, errlen);
		if (ret)
			return ret;
	}
	if (c->role != KMQD_ROLE_ALL)
		return 0;
	if (c->listen_port == c->namesrv_listen_port) {
		set_err(err, errlen,
			"listenPort and namesrvListenPort are both %u: kmqd all needs two ports",
			c->listen_port);
		return -EINVAL;
	}
	if (!c->namesrv_count) {
		loopback_of(c->listen_addr, ip, sizeof(ip));
		snprintf(addr, sizeof(addr), "%s:%u", ip,
			 c->namesrv_listen_port);
		ret = parse_namesrv_addr(c, addr, NULL, 0);
		if (ret) {
			set_err(err, errlen, "namesrvAddr: cannot derive it");
			return -EINVAL;
		}
		c->origin[K_NAMESRV_ADDR].kind = ORIGIN_DERIVED;
	}
	return 0;
}

/* ---- printing ---------------------------------------------------- */

static void print_escaped(const char *s, FILE *f)
{
	size_t i, n = strlen(s), tail = n;

	while (tail && s[tail - 1] == ' ')
		tail--;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		switch (ch) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case ' ':
			fputs(i == 0 || i >= tail ? "\\ " : " ", f);
			break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				fprintf(f, "\\u%04x", ch);
			else
				fputc(ch, f);
		}
	}
}

void kmqd_config_print(const struct kmqd_config *c, FILE *f)
{
	const struct key *k;
	unsigned int i;

	for (i = 0; i < K_NKEYS; i++) {
		k = &keys[i];
		fprintf(f, "%s=", k->name);
		switch (k->type) {
		case KT_UINT:
			fprintf(f, "%u", *(const unsigned int *)cfield(c, k));
			break;
		case KT_U64:
			fprintf(f, "%llu", (unsigned long long)
				*(const uint64_t *)cfield(c, k));
			break;
		case KT_BOOL:
			fputs(*(const bool *)cfield(c, k) ? "true" : "false",
			      f);
			break;
		case KT_ENUM:
			fputs(k->names[*(const int *)cfield(c, k)], f);
			break;
		case KT_LEVEL:
			fputs(kmqd_log_level_name(*(const int *)cfield(c, k)),
			      f);
			break;
		case KT_STR:
			print_escaped((const char *)cfield(c, k), f);
			break;
		}
		fputc('\n', f);
	}
}

/* ---- the store --------------------------------------------------- */

void kmqd_config_store(const struct kmqd_config *c,
		       struct kmq_store_config *sc)
{
	struct kmq_host *h = &sc->store_host;

	kmq_store_config_init(sc, c->store_path_root_dir);
	sc->segment_size = c->maped_file_size_commit_log;
	sc->ring_segments = c->ring_segments;
	sc->retention_ms = (uint64_t)c->file_reserved_time * 3600 * 1000;
	sc->flush_mode = c->flush_disk_type == KMQD_SYNC_FLUSH ?
			 KMQ_FLUSH_SYNC : KMQ_FLUSH_ASYNC;
	sc->max_message_size = c->max_message_size;
	sc->flush_timeout_ms = c->sync_flush_timeout;
	memset(h, 0, sizeof(*h));
	if (inet_pton(AF_INET6, c->broker_ip1, h->addr) == 1) {
		h->v6 = true;
	} else if (inet_pton(AF_INET, c->broker_ip1, h->addr) != 1) {
		h->addr[0] = 127;
		h->addr[3] = 1;
	}
	h->port = c->listen_port;
	sc->flags = KMQ_STORE_CREATE;
}

/* ---- the command line -------------------------------------------- */

void kmqd_config_usage(FILE *f)
{
	fputs("usage: kmqd namesrv|broker|all [options]\n"
	      "\n"
	      "  namesrv   the name server (port namesrvListenPort, 9876)\n"
	      "  broker    the broker (port listenPort, 10911)\n"
	      "  all       both in one process; the broker registers with it\n"
	      "\n"
	      "options:\n"
	      "  -c FILE, --config=FILE   read a broker.conf (Java properties)\n"
	      "  -n ADDR                  namesrvAddr, e.g. 127.0.0.1:9876;10.0.0.2:9876\n"
	      "  --KEY=VALUE              set any key, e.g. --listenPort=10911\n"
	      "  -p, --print-config       print the effective configuration and exit\n"
	      "  -h, --help               this text\n"
	      "\n"
	      "Flags override the file, which overrides NAMESRV_ADDR and the defaults.\n"
	      "Keys: autoCreateTopicEnable brokerClusterName brokerIP1 brokerId\n"
	      "  brokerName brokerRole defaultTopicQueueNums deleteWhen\n"
	      "  fileReservedTime flushDiskType ioThreads listenAddr listenPort\n"
	      "  logFile logLevel mapedFileSizeCommitLog maxMessageSize namesrvAddr\n"
	      "  namesrvListenPort ringSegments storePathRootDir\n"
	      "See docs/configuration.md.\n", f);
}

struct flag {
	const char *opt;	/* the argument as given, for messages */
	const char *key;
	size_t keylen;
	const char *val;
};

static int parse_role(const char *s, enum kmqd_role *role)
{
	if (!strcmp(s, "namesrv"))
		*role = KMQD_ROLE_NAMESRV;
	else if (!strcmp(s, "broker"))
		*role = KMQD_ROLE_BROKER;
	else if (!strcmp(s, "all"))
		*role = KMQD_ROLE_ALL;
	else
		return -1;
	return 0;
}

/* Apply the collected flags in order. */
static int apply_flags(struct kmqd_config *c, const struct flag *fl,
		       unsigned int n, char *err, size_t errlen)
{
	char key[128], msg[512], q[QUOTE_BUF];
	unsigned int i;
	int ki;

	for (i = 0; i < n; i++) {
		ki = find_key(fl[i].key, fl[i].keylen);
		if (ki < 0) {
			snprintf(key, sizeof(key), "%.*s",
				 (int)(fl[i].keylen < 127 ? fl[i].keylen : 127),
				 fl[i].key);
			unknown_key_msg(key, msg, sizeof(msg));
			set_err(err, errlen, "option %s: %s", quote(fl[i].opt, q),
				msg);
			return -EINVAL;
		}
		snprintf(key, sizeof(key), "%.*s",
			 (int)(fl[i].keylen < 127 ? fl[i].keylen : 127),
			 fl[i].key);
		if (set_key(c, ki, key, fl[i].val, ORIGIN_FLAG, 0, msg,
			    sizeof(msg))) {
			set_err(err, errlen, "option %s: %s", quote(fl[i].opt, q),
				msg);
			return -EINVAL;
		}
	}
	return 0;
}

/* The value of option @argv[*i]: after @eq if given, else the next one. */
static const char *opt_value(int argc, char **argv, int *i, const char *eq)
{
	if (eq)
		return eq;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int collect_args(int argc, char **argv, struct flag *fl,
			unsigned int *nfl, const char **file, bool *print,
			bool *help, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	const char *a, *eq, *v;
	int i;

	for (i = 2; i < argc; i++) {
		a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--print-config")) {
			*print = true;
		} else if (!strncmp(a, "-c", 2) || !strcmp(a, "--config") ||
			   !strncmp(a, "--config=", 9)) {
			if (a[1] == 'c')
				v = opt_value(argc, argv, &i,
					      a[2] ? a + 2 : NULL);
			else
				v = opt_value(argc, argv, &i,
					      a[8] ? a + 9 : NULL);
			if (!v || !v[0]) {
				set_err(err, errlen, "option %s needs a file",
					quote(a, q));
				return -EINVAL;
			}
			if (*file) {
				set_err(err, errlen, "only one -c file");
				return -EINVAL;
			}
			*file = v;
		} else if (!strncmp(a, "-n", 2)) {
			v = opt_value(argc, argv, &i, a[2] ? a + 2 : NULL);
			if (!v) {
				set_err(err, errlen, "option -n needs an address");
				return -EINVAL;
			}
			fl[*nfl].opt = a;
			fl[*nfl].key = "namesrvAddr";
			fl[*nfl].keylen = strlen("namesrvAddr");
			fl[(*nfl)++].val = v;
		} else if (!strncmp(a, "--", 2) && a[2] && a[2] != '=') {
			eq = strchr(a, '=');
			fl[*nfl].opt = a;
			fl[*nfl].key = a + 2;
			fl[*nfl].keylen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			v = opt_value(argc, argv, &i, eq ? eq + 1 : NULL);
			if (!v) {
				set_err(err, errlen, "option %s needs a value",
					quote(a, q));
				return -EINVAL;
			}
			fl[(*nfl)++].val = v;
		} else {
			set_err(err, errlen, "unexpected argument \"%s\"",
				quote(a, q));
			return -EINVAL;
		}
	}
	return 0;
}

int kmqd_config_parse_args(struct kmqd_config *c, int argc, char **argv,
			   FILE *out, char *err, size_t errlen)
{
	const char *file = NULL, *env;
	bool print = false, help = false;
	enum kmqd_role role;
	char q[QUOTE_BUF], msg[512];
	unsigned int nfl = 0;
	struct flag *fl;
	int ret;

	if (argc < 2) {
		set_err(err, errlen,
			"no role given: kmqd namesrv|broker|all [options]; -h for help");
		return -EINVAL;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		kmqd_config_usage(out);
		return KMQD_ARGS_EXIT;
	}
	if (parse_role(argv[1], &role)) {
		set_err(err, errlen,
			"unknown role \"%s\": expected namesrv, broker or all",
			quote(argv[1], q));
		return -EINVAL;
	}
	fl = calloc((size_t)argc, sizeof(*fl));
	if (!fl) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = collect_args(argc, argv, fl, &nfl, &file, &print, &help, err,
			   errlen);
	if (ret)
		goto out;
	if (help) {
		kmqd_config_usage(out);
		ret = KMQD_ARGS_EXIT;
		goto out;
	}
	kmqd_config_init(c, role);
	env = getenv("NAMESRV_ADDR");
	if (env && env[0]) {
		ret = set_key(c, K_NAMESRV_ADDR, NULL, env, ORIGIN_ENV, 0, msg,
			      sizeof(msg));
		if (ret) {
			set_err(err, errlen, "environment NAMESRV_ADDR: %s",
				msg);
			goto out;
		}
	}
	if (file) {
		ret = kmqd_config_load_file(c, file, err, errlen);
		if (ret)
			goto out;
	}
	ret = apply_flags(c, fl, nfl, err, errlen);
	if (ret)
		goto out;
	ret = kmqd_config_validate(c, err, errlen);
	if (ret)
		goto out;
	if (print) {
		kmqd_config_print(c, out);
		ret = KMQD_ARGS_EXIT;
	}
out:
	free(fl);
	return ret;
}
