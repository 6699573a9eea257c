/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqadmin.h - what the files of kmqadmin, the mqadmin-style command line
 * of kmq, share: the run's context (options, name servers, the libkmq
 * client), the subcommand table, output (tables, JSON, progress, errors),
 * requests to brokers and name servers, and the parsing of arguments.
 *
 * Files: kmqadmin_main.c (main, options, dispatch), kmqadmin_out.c
 * (tables, JSON, errors, progress), kmqadmin_args.c (numbers, booleans,
 * timestamps, names), kmqadmin_rpc.c (requests, cluster and route
 * lookups), kmqadmin_mqmap.c (fastjson maps keyed by message queues),
 * kmqadmin_topic.c, kmqadmin_cluster.c, kmqadmin_consumer.c,
 * kmqadmin_message.c, kmqadmin_brokercfg.c (the subcommands).
 */
#ifndef KMQADMIN_H
#define KMQADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "kmq/kmq.h"
#include "kmq/kmq_view.h"
#include "kmqd_codes.h"
#include "kmqd_admin.h"

#define KADM_PRINTF(a, b)	__attribute__((format(printf, a, b)))

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* Exit statuses. */
#define KADM_EXIT_OK		0
#define KADM_EXIT_FAIL		1	/* a request or an operation failed */
#define KADM_EXIT_USAGE		2	/* bad command line */

#define KADM_DEFAULT_NAMESRV	"127.0.0.1:9876"
#define KADM_DEFAULT_TIMEOUT_MS	5000
#define KADM_TOOLS_GROUP	"TOOLS_CONSUMER"	/* mqadmin's group */
#define KADM_ERR_MAX		1024
#define KADM_MAX_NS		16

/**
 * struct kadm_opt - one option of a subcommand.
 * @key: the short option letter (also the index of its value)
 * @name: the long option (mqadmin's name)
 * @arg: the argument's placeholder in the help, NULL for a flag
 * @required: the subcommand refuses to run without it
 * @help: one line of help
 */
struct kadm_opt {
	char key;
	const char *name;
	const char *arg;
	bool required;
	const char *help;
};

struct kadm;

/**
 * struct kadm_cmd - a subcommand.
 * @name: as mqadmin names it
 * @desc: one line for the list of subcommands
 * @opts: its options, ended by a zero entry (-n, -h, --json, --progress
 *	and --timeout are common to all and not listed)
 * @run: carry it out; returns an exit status
 */
struct kadm_cmd {
	const char *name;
	const char *desc;
	const struct kadm_opt *opts;
	int (*run)(struct kadm *k);
};

/**
 * struct kadm - one run of kmqadmin.
 * @cmd: the subcommand
 * @namesrv: the name servers, "host:port;host:port"
 * @ns: @nns of them, split
 * @json: --json: one JSON document on stdout instead of tables
 * @progress: progress lines on stderr (a tty, or --progress)
 * @progress_tty: overwrite the line in place (stderr is a tty)
 * @timeout_ms: connect and request timeout
 * @client: the libkmq client, made on first use (kadm_client())
 * @val: the value of option letter c, or NULL; flags hold ""
 * @err: the description of the last failure (kadm_call() and friends)
 * @progress_ms: when the last progress line went out
 */
struct kadm {
	const struct kadm_cmd *cmd;
	const char *namesrv;
	char *ns_buf;
	char *ns[KADM_MAX_NS];
	unsigned int nns;
	bool json;
	bool progress;
	bool progress_tty;
	unsigned int timeout_ms;
	struct kmq_client *client;
	const char *val[128];
	char err[KADM_ERR_MAX];
	uint64_t progress_ms;
	bool progress_open;
};

/* ---- the subcommands (one array per file) ---------------------------- */

extern const struct kadm_cmd kadm_topic_cmds[];
extern const struct kadm_cmd kadm_cluster_cmds[];
extern const struct kadm_cmd kadm_consumer_cmds[];
extern const struct kadm_cmd kadm_message_cmds[];
extern const struct kadm_cmd kadm_brokercfg_cmds[];

/* kadm_opt_val() - the value of option @key, or NULL when not given. */
static inline const char *kadm_opt_val(const struct kadm *k, char key)
{
	return k->val[(unsigned char)key & 127];
}

/* ---- output (kmqadmin_out.c) ----------------------------------------- */

/**
 * kadm_fail() - print "kmqadmin CMD: message" on stderr.
 * Return: KADM_EXIT_FAIL.
 */
int kadm_fail(struct kadm *k, const char *fmt, ...) KADM_PRINTF(2, 3);

/* kadm_fail_err() - print @k->err as kadm_fail() does. */
int kadm_fail_err(struct kadm *k);

/**
 * kadm_usage_err() - print a command-line error and where help is.
 * Return: KADM_EXIT_USAGE.
 */
int kadm_usage_err(struct kadm *k, const char *fmt, ...) KADM_PRINTF(2, 3);

/* kadm_note() - a remark for people on stderr (not in JSON). */
void kadm_note(struct kadm *k, const char *fmt, ...) KADM_PRINTF(2, 3);

/* kadm_seterr() - set @k->err. Return: KADM_EXIT_FAIL. */
int kadm_seterr(struct kadm *k, const char *fmt, ...) KADM_PRINTF(2, 3);

/**
 * kadm_progress() - a progress line on stderr when @k->progress: at most
 * every 500 ms, always when @last (which also ends the line on a tty).
 */
void kadm_progress(struct kadm *k, bool last, const char *fmt, ...)
	KADM_PRINTF(3, 4);

/**
 * struct kadm_table - an aligned table: a header row of "#Name" cells,
 * then rows; a column whose header was given as ">Name" is right-aligned.
 */
struct kadm_table {
	unsigned int ncols;
	char **head;
	bool *right;
	char **cells;		/* nrows * ncols */
	unsigned int nrows;
	unsigned int cap;
	unsigned int cur;	/* cells of the row being filled */
};

struct kadm_table *kadm_table_new(unsigned int ncols, ...);
/* kadm_cell() - the next cell of the current row (printf format). */
void kadm_cell(struct kadm_table *t, const char *fmt, ...) KADM_PRINTF(2, 3);
/* kadm_table_print() - print to @f; rows as filled. */
void kadm_table_print(const struct kadm_table *t, FILE *f);
void kadm_table_free(struct kadm_table *t);

/* kadm_json_print() - @doc on stdout, indented; takes the reference. */
void kadm_json_print(json_t *doc);

/* kadm_time_str() - @ms as local "YYYY-MM-DD HH:MM:SS.mmm", 0 as "-". */
const char *kadm_time_str(int64_t ms, char *buf, size_t len);

/* kadm_body_str() - @len bytes as text, non-printable bytes escaped. */
char *kadm_body_str(const void *body, size_t len);

/* kadm_body_json() - the body as a JSON string if UTF-8, else hex. */
void kadm_body_json(json_t *o, const void *body, size_t len);

/* kadm_msg_json() - a received message as a JSON object. */
json_t *kadm_msg_json(const struct kmq_message_ext *m);

/* kadm_msg_print() - a received message as "Key: value" lines. */
void kadm_msg_print(const struct kmq_message_ext *m, FILE *f);

/* ---- arguments (kmqadmin_args.c) ------------------------------------- */

/* Each returns 0, or prints a usage error and returns KADM_EXIT_USAGE. */
int kadm_arg_int(struct kadm *k, char key, int64_t min, int64_t max,
		 int64_t def, int64_t *out);
int kadm_arg_bool(struct kadm *k, char key, bool *out);
/*
 * kadm_arg_time() - option @key as ms since the epoch: digits (ms), or
 * mqadmin's yyyy-MM-dd#HH:mm:ss:SSS (local time); "now" gives @now_val.
 */
int kadm_arg_time(struct kadm *k, char key, int64_t now_val, int64_t *out);
/* kadm_arg_topic() - option @key as a topic name (1..127 bytes of
 * [A-Za-z0-9_%|-]).
 */
int kadm_arg_topic(struct kadm *k, char key, const char **out);
/* kadm_arg_name() - a group or broker name: 1..127 printable bytes. */
int kadm_arg_name(struct kadm *k, char key, const char **out);
/* kadm_arg_addr() - "host:port". */
int kadm_arg_addr(struct kadm *k, char key, const char **out);
uint64_t kadm_now_ms(void);

/* ---- requests (kmqadmin_rpc.c) --------------------------------------- */

/* kadm_client() - the libkmq client (made on first call), or NULL. */
struct kmq_client *kadm_client(struct kadm *k);

/* kadm_req_name() - "GET_TOPIC_STATS_INFO (202)" for request @code. */
const char *kadm_req_name(int code, char *buf, size_t len);

/**
 * kadm_call() - request @code to @addr (@where names it in errors:
 * "broker broker-a (127.0.0.1:10911)").
 * Return: 0 (response code 0, *@resp set), the response code (> 0,
 * *@resp set, @k->err describes it), or a negative error (no response,
 * @k->err describes it).
 */
int kadm_call(struct kadm *k, const char *addr, const char *where, int code,
	      const struct kmq_field *fields, unsigned int nfields,
	      const void *body, size_t body_len, struct kmq_response **resp);

/* kadm_call_ns() - kadm_call() to each name server until one answers. */
int kadm_call_ns(struct kadm *k, int code, const struct kmq_field *fields,
		 unsigned int nfields, struct kmq_response **resp);

/* kadm_resp_json() - a response body as JSON (NULL: @k->err set). */
json_t *kadm_resp_json(struct kadm *k, const struct kmq_response *r,
		       const char *what);

/**
 * struct kadm_broker - a master broker to send requests to.
 * @where: "broker NAME (ADDR)" for errors
 */
struct kadm_broker {
	char cluster[KMQ_NAME_MAX + 1];
	char name[KMQ_NAME_MAX + 1];
	char addr[KMQ_ADDR_MAX + 1];
	char where[KMQ_NAME_MAX + KMQ_ADDR_MAX + 16];
};

/**
 * kadm_cluster_info() - GET_BROKER_CLUSTER_INFO (106) from a name
 * server: {"brokerAddrTable":{...},"clusterAddrTable":{...}}.
 * Return: the document, or NULL with @k->err set.
 */
json_t *kadm_cluster_info(struct kadm *k);

/**
 * kadm_masters() - the master brokers of @cluster (NULL: of every
 * cluster), sorted by name; an unknown cluster is an error.
 * Return: how many (*@out: free()), or -1 with @k->err set.
 */
int kadm_masters(struct kadm *k, const char *cluster,
		 struct kadm_broker **out);

/**
 * kadm_route() - @topic's route; kadm_route_masters() its master brokers
 * (those with queues of the topic), sorted by name.
 * Return: 0 / how many, or -1 with @k->err set.
 */
int kadm_route(struct kadm *k, const char *topic,
	       struct kmq_topic_route **out);
int kadm_route_masters(struct kadm *k, const struct kmq_topic_route *r,
		       struct kadm_broker **out);

/*
 * kadm_result_json() - {"brokerName","addr","ok","error"} of a request
 * to @b that returned @ret (@err: its error when not 0).
 */
json_t *kadm_result_json(const struct kadm_broker *b, int ret,
			 const char *err);

/* kadm_broker_at() - a target given by address only (-b ADDR). */
void kadm_broker_at(struct kadm_broker *b, const char *addr);

/*
 * kadm_targets() - the brokers of -b ADDR, else of -c CLUSTER (mqadmin's
 * rule: -b wins); neither is a usage error.
 * Return: how many (> 0), or -KADM_EXIT_USAGE / -KADM_EXIT_FAIL (printed).
 */
int kadm_targets(struct kadm *k, struct kadm_broker **out);

/* ---- maps keyed by message queues (kmqadmin_mqmap.c) ------------------ */

/**
 * kadm_mqmap_load() - parse a body holding fastjson maps keyed by
 * MessageQueue objects ({{"brokerName":..,"queueId":..,"topic":..}:v}):
 * each such key becomes a string holding the object's JSON text.
 * Return: the document, or NULL if the text is not JSON of that kind.
 */
json_t *kadm_mqmap_load(const char *text, size_t len);

/* kadm_mq_key() - a key of kadm_mqmap_load() back into @mq. */
bool kadm_mq_key(const char *key, struct kmq_mq *mq);

/* kadm_mq_cmp() - order of queues: topic, broker name, queue id. */
int kadm_mq_cmp(const struct kmq_mq *a, const struct kmq_mq *b);

#endif /* KMQADMIN_H */
