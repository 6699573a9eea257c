// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_main.c - kmqadmin's entry: the subcommand table, options (the
 * common ones and each subcommand's, parsed from its kadm_opt list), the
 * name servers (-n, NAMESRV_ADDR), help, and the dispatch.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmqadmin.h"

/* A parse step that printed help: exit 0 without running anything. */
#define KADM_DONE	(-100)

enum {
	KADM_OPT_JSON = 256,
	KADM_OPT_PROGRESS,
	KADM_OPT_TIMEOUT,
};

static const struct kadm_cmd *const kadm_groups[] = {
	kadm_topic_cmds, kadm_cluster_cmds, kadm_consumer_cmds,
	kadm_message_cmds, kadm_brokercfg_cmds,
};

static const struct kadm_cmd *kadm_find(const char *name)
{
	const struct kadm_cmd *c;
	unsigned int g;

	for (g = 0; g < ARRAY_SIZE(kadm_groups); g++)
		for (c = kadm_groups[g]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

static void kadm_common_help(FILE *f)
{
	fprintf(f,
		"common options (before or after the subcommand):\n"
		"  -n, --namesrvAddr ADDR   name servers, host:port[;host:port...]\n"
		"                           (default: $NAMESRV_ADDR, else %s)\n"
		"      --json               one JSON document on stdout instead of tables\n"
		"      --progress           progress lines on stderr (default: when a tty)\n"
		"      --timeout MS         connect and request timeout (default %u)\n"
		"  -h, --help               this help\n",
		KADM_DEFAULT_NAMESRV, KADM_DEFAULT_TIMEOUT_MS);
}

static void kadm_main_help(FILE *f)
{
	const struct kadm_cmd *c;
	unsigned int g;

	fprintf(f, "usage: kmqadmin [common options] SUBCOMMAND [options]\n\n"
		"kmq's administration tool, named and flagged as RocketMQ's mqadmin.\n\n"
		"subcommands:\n");
	for (g = 0; g < ARRAY_SIZE(kadm_groups); g++)
		for (c = kadm_groups[g]; c->name; c++)
			fprintf(f, "  %-20s %s\n", c->name, c->desc);
	fprintf(f, "\n");
	kadm_common_help(f);
	fprintf(f, "\n`kmqadmin SUBCOMMAND -h` shows a subcommand's options.\n"
		"Exit status: 0 done, 1 a request or operation failed, 2 bad command line.\n");
}

static void kadm_cmd_help(const struct kadm_cmd *c, FILE *f)
{
	const struct kadm_opt *o;
	char left[64];

	fprintf(f, "usage: kmqadmin %s [options]\n%s\n\noptions (* required):\n",
		c->name, c->desc);
	for (o = c->opts; o->key; o++) {
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "%c %-30s %s\n", o->required ? '*' : ' ', left,
			o->help);
	}
	fprintf(f, "\n");
	kadm_common_help(f);
}

/* Split the name server list into @k->ns; false on a malformed entry. */
static bool kadm_split_ns(struct kadm *k)
{
	char *save = NULL, *tok, *colon, *end;
	long port;

	free(k->ns_buf);
	k->ns_buf = strdup(k->namesrv);
	k->nns = 0;
	if (!k->ns_buf)
		return false;
	for (tok = strtok_r(k->ns_buf, ";", &save); tok;
	     tok = strtok_r(NULL, ";", &save)) {
		colon = strrchr(tok, ':');
		if (!colon || colon == tok || k->nns == KADM_MAX_NS)
			return false;
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno || *end || end == colon + 1 || port < 1 ||
		    port > 65535 || strlen(tok) > KMQ_ADDR_MAX)
			return false;
		k->ns[k->nns++] = tok;
	}
	return k->nns > 0;
}

/*
 * Parse one option of the common set. Return: 1 handled, 0 not common,
 * -1 bad value (printed).
 */
static int kadm_common_opt(struct kadm *k, int ch, const char *arg)
{
	char *end;
	long v;

	switch (ch) {
	case 'n':
		k->namesrv = arg;
		return 1;
	case KADM_OPT_JSON:
		k->json = true;
		return 1;
	case KADM_OPT_PROGRESS:
		k->progress = true;
		return 1;
	case KADM_OPT_TIMEOUT:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || end == arg || v < 1 || v > 3600000) {
			kadm_usage_err(k, "--timeout '%s': milliseconds, 1..3600000",
				       arg);
			return -1;
		}
		k->timeout_ms = v;
		return 1;
	}
	return 0;
}

/* The long options common to every subcommand, and the array's end. */
static const struct option kadm_common_long[] = {
	{ "namesrvAddr", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, KADM_OPT_JSON },
	{ "progress", no_argument, NULL, KADM_OPT_PROGRESS },
	{ "timeout", required_argument, NULL, KADM_OPT_TIMEOUT },
	{ 0 }
};

#define KADM_NCOMMON	(ARRAY_SIZE(kadm_common_long) - 1)

/* The common options before the subcommand. Return: index of it, or < 0. */
static int kadm_parse_global(struct kadm *k, int argc, char **argv)
{
	const struct option *lo = kadm_common_long;
	int ch, r;

	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+:n:h", lo, NULL)) != -1) {
		if (ch == 'h') {
			kadm_main_help(stdout);
			return KADM_DONE;
		}
		if (ch == '?' || ch == ':') {
			kadm_usage_err(k, "%s option '%s'",
				       ch == ':' ? "missing value of" :
				       "unknown", argv[optind - 1]);
			return -KADM_EXIT_USAGE;
		}
		r = kadm_common_opt(k, ch, optarg);
		if (r < 0)
			return -KADM_EXIT_USAGE;
	}
	return optind;
}

static int kadm_parse_cmd(struct kadm *k, int argc, char **argv)
{
	const struct kadm_cmd *c = k->cmd;
	struct option lo[64] = { { 0 } };
	char sopts[160] = ":n:h";
	unsigned int nl = KADM_NCOMMON, ns = strlen(sopts);
	const struct kadm_opt *o;
	int ch, r;

	memcpy(lo, kadm_common_long, KADM_NCOMMON * sizeof(lo[0]));
	for (o = c->opts; o->key && nl < 62 && ns < sizeof(sopts) - 3; o++) {
		lo[nl].name = o->name;
		lo[nl].has_arg = o->arg ? required_argument : no_argument;
		lo[nl].val = o->key;
		nl++;
		sopts[ns++] = o->key;
		if (o->arg)
			sopts[ns++] = ':';
	}
	sopts[ns] = '\0';
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, sopts, lo, NULL)) != -1) {
		if (ch == 'h') {
			kadm_cmd_help(c, stdout);
			return KADM_DONE;
		}
		if (ch == '?' || ch == ':')
			return kadm_usage_err(k, "%s option '%s'",
					      ch == ':' ? "missing value of" :
					      "unknown", argv[optind - 1]);
		r = kadm_common_opt(k, ch, optarg);
		if (r < 0)
			return KADM_EXIT_USAGE;
		if (!r)
			k->val[ch & 127] = optarg ? optarg : "";
	}
	if (optind < argc)
		return kadm_usage_err(k, "unexpected argument '%s'",
				      argv[optind]);
	for (o = c->opts; o->key; o++)
		if (o->required && !kadm_opt_val(k, o->key))
			return kadm_usage_err(k, "-%c (--%s) is required",
					      o->key, o->name);
	return 0;
}

static int kadm_run(struct kadm *k, int argc, char **argv)
{
	const char *env;
	int idx, ret;

	k->timeout_ms = KADM_DEFAULT_TIMEOUT_MS;
	idx = kadm_parse_global(k, argc, argv);
	if (idx == KADM_DONE)
		return KADM_EXIT_OK;
	if (idx < 0)
		return -idx;
	if (idx >= argc) {
		kadm_main_help(stderr);
		return KADM_EXIT_USAGE;
	}
	if (!strcmp(argv[idx], "help")) {
		k->cmd = idx + 1 < argc ? kadm_find(argv[idx + 1]) : NULL;
		if (k->cmd) {
			kadm_cmd_help(k->cmd, stdout);
			return KADM_EXIT_OK;
		}
		kadm_main_help(stdout);
		return idx + 1 < argc ? KADM_EXIT_USAGE : KADM_EXIT_OK;
	}
	k->cmd = kadm_find(argv[idx]);
	if (!k->cmd)
		return kadm_usage_err(k, "unknown subcommand '%s' (kmqadmin -h lists them)",
				      argv[idx]);
	ret = kadm_parse_cmd(k, argc - idx, argv + idx);
	if (ret == KADM_DONE)
		return KADM_EXIT_OK;
	if (ret)
		return ret;
	if (!k->namesrv) {
		env = getenv("NAMESRV_ADDR");
		k->namesrv = env && *env ? env : KADM_DEFAULT_NAMESRV;
	}
	if (!kadm_split_ns(k))
		return kadm_usage_err(k,
				      "name server address '%s': expected host:port[;host:port...]",
				      k->namesrv);
	k->progress_tty = isatty(STDERR_FILENO);
	if (k->progress_tty)
		k->progress = true;
	return k->cmd->run(k);
}

int main(int argc, char **argv)
{
	struct kadm k = { 0 };
	int ret;

	kmq_set_log(KMQ_LOG_ERROR, NULL, NULL);
	ret = kadm_run(&k, argc, argv);
	if (k.client)
		kmq_client_free(k.client);
	free(k.ns_buf);
	fflush(stdout);
	if (ferror(stdout) && !ret) {
		fprintf(stderr, "kmqadmin: writing the output failed\n");
		ret = KADM_EXIT_FAIL;
	}
	return ret;
}
