// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_config.c - kmqd's configuration and log: RocketMQ's broker.conf keys
 * and their defaults, the Java properties syntax, unknown keys (warned)
 * and bad values (refused, key named), the command line and its
 * precedence, --print-config, the rules between keys, the mapping onto
 * the store's configuration, and the log's format, levels and threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmq_store.h"
#include "kmq_tap.h"
#include "kmqd_config.h"
#include "kmqd_log.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static char tdir[64];
static char errbuf[1024];

static const char *tpath(const char *name)
{
	static char bufs[4][256];
	static unsigned int next;
	char *p = bufs[next++ % 4];

	snprintf(p, 256, "%s/%s", tdir, name);
	return p;
}

/* Write @text to @name in the test directory; return its path. */
static const char *wfile(const char *name, const char *text)
{
	const char *p = tpath(name);
	FILE *f = fopen(p, "w");

	if (!f)
		kmq_tap_bail("cannot write a test file");
	fputs(text, f);
	fclose(f);
	return p;
}

/* The contents of @path, malloc()ed ("" if absent). */
static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r"), *m;
	int ch;

	m = open_memstream(&buf, &len);
	if (f) {
		while ((ch = fgetc(f)) != EOF)
			fputc(ch, m);
		fclose(f);
	}
	fclose(m);
	return buf;
}

static int load(struct kmqd_config *c, const char *name, const char *text)
{
	errbuf[0] = 0;
	return kmqd_config_load_file(c, wfile(name, text), errbuf,
				     sizeof(errbuf));
}

/*
 * run() - kmqd_config_parse_args() on "kmqd" and the NULL-terminated
 * arguments; *@out gets what it printed (free it).
 */
static int run(struct kmqd_config *c, char **out, ...)
{
	char *argv[32], *buf = NULL;
	size_t len = 0;
	int argc = 0, ret;
	va_list ap;
	FILE *f;

	argv[argc++] = "kmqd";
	va_start(ap, out);
	while (argc < 31) {
		argv[argc] = va_arg(ap, char *);
		if (!argv[argc])
			break;
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	f = open_memstream(&buf, &len);
	errbuf[0] = 0;
	ret = kmqd_config_parse_args(c, argc, argv, f, errbuf, sizeof(errbuf));
	fclose(f);
	if (out)
		*out = buf;
	else
		free(buf);
	return ret;
}

static char *printed(const struct kmqd_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	kmqd_config_print(c, f);
	fclose(f);
	return buf;
}

/* Send the log to a fresh file; log_text() reads it back. */
static const char *log_capture(int level)
{
	const char *p = tpath("kmqd.log");

	unlink(p);
	if (kmqd_log_open(p, level))
		kmq_tap_bail("cannot open the log file");
	return p;
}

static char *log_text(void)
{
	return slurp(tpath("kmqd.log"));
}

/* Between captures the log goes to a file too, keeping prove's output clean. */
static void log_release(void)
{
	if (kmqd_log_open(tpath("other.log"), KMQD_LOG_INFO))
		kmq_tap_bail("cannot open the log file");
}

/* ---- defaults ---------------------------------------------------- */

static const char default_print[] =
	"autoCreateTopicEnable=true\n"
	"brokerClusterName=DefaultCluster\n"
	"brokerIP1=127.0.0.1\n"
	"brokerId=0\n"
	"brokerName=broker-a\n"
	"brokerRole=ASYNC_MASTER\n"
	"defaultTopicQueueNums=8\n"
	"deleteWhen=04\n"
	"fileReservedTime=72\n"
	"flushDiskType=ASYNC_FLUSH\n"
	"ioThreads=0\n"
	"listenAddr=127.0.0.1\n"
	"listenPort=10911\n"
	"logFile=\n"
	"logLevel=info\n"
	"mapedFileSizeCommitLog=1073741824\n"
	"maxMessageSize=4194304\n"
	"namesrvAddr=\n"
	"namesrvListenPort=9876\n"
	"ringSegments=0\n"
	"storeBackend=auto\n"
	"storePathRootDir=./store\n"
	"syncFlushTimeout=5000\n"
	"transferMsgByHeap=false\n";

static void test_defaults(void)
{
	struct kmqd_config c;
	char *out;

	memset(&c, 0x5a, sizeof(c));
	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	ok(!strcmp(c.broker_cluster_name, "DefaultCluster"),
	   "default brokerClusterName DefaultCluster");
	ok(!strcmp(c.broker_name, "broker-a"), "default brokerName broker-a");
	is_int(c.broker_id, 0, "default brokerId 0");
	ok(!c.namesrv_addr[0] && !c.namesrv_count, "default namesrvAddr empty");
	is_int(c.listen_port, 10911, "default listenPort 10911");
	ok(!strcmp(c.store_path_root_dir, "./store"),
	   "default storePathRootDir ./store");
	is_int(c.broker_role, KMQD_ASYNC_MASTER, "default brokerRole ASYNC_MASTER");
	is_int(c.flush_disk_type, KMQD_ASYNC_FLUSH,
	       "default flushDiskType ASYNC_FLUSH");
	ok(!strcmp(c.delete_when, "04") && c.delete_hours == 1u << 4,
	   "default deleteWhen 04");
	is_int(c.file_reserved_time, 72, "default fileReservedTime 72");
	ok(c.auto_create_topic_enable, "default autoCreateTopicEnable true");
	is_int(c.default_topic_queue_nums, 8, "default defaultTopicQueueNums 8");
	is_int(c.maped_file_size_commit_log, 1073741824,
	       "default mapedFileSizeCommitLog 1 GiB");
	is_int(c.max_message_size, 4194304, "default maxMessageSize 4 MiB");
	is_int(c.namesrv_listen_port, 9876, "default namesrvListenPort 9876");
	ok(!strcmp(c.listen_addr, "127.0.0.1"), "default listenAddr 127.0.0.1");
	is_int(c.ring_segments, 0, "default ringSegments 0");
	is_int(c.log_level, KMQD_LOG_INFO, "default logLevel info");
	ok(!c.log_file[0], "default logFile empty (stderr)");
	is_int(c.io_threads, 0, "default ioThreads 0");
	is_int(kmqd_config_validate(&c, errbuf, sizeof(errbuf)), 0,
	       "defaults validate");
	ok(!strcmp(c.broker_ip1, "127.0.0.1"), "default brokerIP1 127.0.0.1");

	out = printed(&c);
	ok(!strcmp(out, default_print), "print: defaults, sorted by key");
	if (strcmp(out, default_print))
		diag("got:\n%s", out);
	free(out);

	is_int(run(&c, &out, "broker", "-p", NULL), KMQD_ARGS_EXIT,
	       "kmqd broker -p: exit 0");
	ok(out && !strcmp(out, default_print), "kmqd broker -p: the defaults");
	free(out);
}

/* ---- broker.conf files ------------------------------------------- */

/* Shaped like the broker.conf shipped in RocketMQ's conf/ directory. */
static const char stock_conf[] =
	"#  A broker.conf as RocketMQ ships it: a license header, then a\n"
	"#  handful of keys with blanks around '='.\n"
	"#\n"
	"#  http://www.apache.org/licenses/LICENSE-2.0\n"
	"\n"
	"brokerClusterName = DefaultCluster\n"
	"brokerName = broker-a\n"
	"brokerId = 0\n"
	"deleteWhen = 04\n"
	"fileReservedTime = 48\n"
	"brokerRole = ASYNC_MASTER\n"
	"flushDiskType = ASYNC_FLUSH\n";

static void test_stock_conf(void)
{
	struct kmqd_config c;
	char *text;

	log_capture(KMQD_LOG_DEBUG);
	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "broker.conf", stock_conf), 0, "stock broker.conf loads");
	ok(!strcmp(c.broker_cluster_name, "DefaultCluster") &&
	   !strcmp(c.broker_name, "broker-a") && c.broker_id == 0,
	   "stock: cluster, name, id");
	ok(!strcmp(c.delete_when, "04") && c.file_reserved_time == 48,
	   "stock: deleteWhen 04, fileReservedTime 48");
	ok(c.broker_role == KMQD_ASYNC_MASTER &&
	   c.flush_disk_type == KMQD_ASYNC_FLUSH, "stock: role and flush type");
	ok(!strcmp(c.config_file, tpath("broker.conf")),
	   "config_file remembered");
	text = log_text();
	ok(!text[0], "stock: nothing logged");
	free(text);
	log_release();
}

static const char every_key_conf[] =
	"brokerClusterName=ProdCluster\n"
	"brokerName=broker-b\n"
	"brokerId=2\n"
	"namesrvAddr=10.0.0.1:9876;10.0.0.2:9877\n"
	"listenPort=20911\n"
	"storePathRootDir=/data/kmq/store\n"
	"brokerRole=SLAVE\n"
	"flushDiskType=SYNC_FLUSH\n"
	"deleteWhen=01;13\n"
	"fileReservedTime=24\n"
	"brokerIP1=192.168.1.20\n"
	"autoCreateTopicEnable=false\n"
	"defaultTopicQueueNums=16\n"
	"mapedFileSizeCommitLog=268435456\n"
	"maxMessageSize=1048576\n"
	"namesrvListenPort=19876\n"
	"listenAddr=0.0.0.0\n"
	"ringSegments=8\n"
	"logLevel=debug\n"
	"logFile=/var/log/kmqd.log\n"
	"ioThreads=4\n";

static void test_every_key(void)
{
	struct kmqd_config c;

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "every.conf", every_key_conf), 0, "every key loads");
	if (errbuf[0])
		diag("%s", errbuf);
	ok(!strcmp(c.broker_cluster_name, "ProdCluster"), "brokerClusterName");
	ok(!strcmp(c.broker_name, "broker-b"), "brokerName");
	is_int(c.broker_id, 2, "brokerId");
	ok(!strcmp(c.namesrv_addr, "10.0.0.1:9876;10.0.0.2:9877"),
	   "namesrvAddr text");
	ok(c.namesrv_count == 2 && !strcmp(c.namesrv[0].host, "10.0.0.1") &&
	   c.namesrv[0].port == 9876 && !strcmp(c.namesrv[1].host, "10.0.0.2") &&
	   c.namesrv[1].port == 9877, "namesrvAddr entries");
	is_int(c.listen_port, 20911, "listenPort");
	ok(!strcmp(c.store_path_root_dir, "/data/kmq/store"), "storePathRootDir");
	is_int(c.broker_role, KMQD_SLAVE, "brokerRole");
	is_int(c.flush_disk_type, KMQD_SYNC_FLUSH, "flushDiskType");
	ok(!strcmp(c.delete_when, "01;13") &&
	   c.delete_hours == ((1u << 1) | (1u << 13)), "deleteWhen hours");
	is_int(c.file_reserved_time, 24, "fileReservedTime");
	ok(!strcmp(c.broker_ip1, "192.168.1.20"), "brokerIP1");
	ok(!c.auto_create_topic_enable, "autoCreateTopicEnable");
	is_int(c.default_topic_queue_nums, 16, "defaultTopicQueueNums");
	is_int(c.maped_file_size_commit_log, 268435456, "mapedFileSizeCommitLog");
	is_int(c.max_message_size, 1048576, "maxMessageSize");
	is_int(c.namesrv_listen_port, 19876, "namesrvListenPort");
	ok(!strcmp(c.listen_addr, "0.0.0.0"), "listenAddr");
	is_int(c.ring_segments, 8, "ringSegments");
	is_int(c.log_level, KMQD_LOG_DEBUG, "logLevel");
	ok(!strcmp(c.log_file, "/var/log/kmqd.log"), "logFile");
	is_int(c.io_threads, 4, "ioThreads");
	is_int(kmqd_config_validate(&c, errbuf, sizeof(errbuf)), 0,
	       "every key: validates");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "alias.conf", "mappedFileSizeCommitLog=131072\n"), 0,
	       "mappedFileSizeCommitLog (newer spelling) accepted");
	is_int(c.maped_file_size_commit_log, 131072,
	       "mappedFileSizeCommitLog sets mapedFileSizeCommitLog");
}

static void test_syntax(void)
{
	struct kmqd_config c;
	char *text;

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "sep.conf",
		    "brokerName:colon\n"
		    "brokerClusterName   blank\n"
		    "listenPort\t=\t1234\n"
		    "   maxMessageSize = 2048\x20\x20\t\n"
		    "defaultTopicQueueNums : 4\n"), 0,
	       "separators '=', ':', blanks");
	ok(!strcmp(c.broker_name, "colon"), "key:value");
	ok(!strcmp(c.broker_cluster_name, "blank"), "key value");
	is_int(c.listen_port, 1234, "key\\t=\\tvalue");
	is_int(c.max_message_size, 2048,
	       "leading blanks skipped, trailing blanks trimmed");
	is_int(c.default_topic_queue_nums, 4, "key : value");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "comments.conf",
		    "# comment\n"
		    "! also a comment\n"
		    "   # indented comment\n"
		    "# a comment ending in a backslash does not continue \\\n"
		    "listenPort=1001\n"
		    "\n"
		    "   \t\n"
		    "brokerName=x#not-a-comment\n"), 0, "comments and blank lines");
	is_int(c.listen_port, 1001, "line after a comment ending in '\\'");
	ok(!strcmp(c.broker_name, "x#not-a-comment"),
	   "'#' inside a value is kept");

	/* A continued line starting with '#' is value, not a comment. */
	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "cont.conf",
		    "namesrvAddr=10.0.0.1:9876;\\\n"
		    "  #10.0.0.3:9876\n"), -EINVAL,
	       "a continued '#' line is part of the value");
	ok(!!strstr(errbuf,
		    "cont.conf:1: namesrvAddr: bad value \"10.0.0.1:9876;#10.0.0.3:9876\""),
	   "and refused as a host, at the first line (%s)", errbuf);

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "cont2.conf",
		    "namesrvAddr=10.0.0.1:9876;\\\n"
		    "            10.0.0.2:9876;\\\n"
		    "  10.0.0.3:9876\n"
		    "brokerName=b\\\\\n"
		    "listenPort=1002\n"), 0, "continuation lines");
	is_int(c.namesrv_count, 3, "continuation joins three entries");
	ok(!strcmp(c.namesrv_addr, "10.0.0.1:9876;10.0.0.2:9876;10.0.0.3:9876"),
	   "continuation: leading blanks of the next line skipped");
	ok(!strcmp(c.broker_name, "b\\"),
	   "an even number of backslashes does not continue");
	is_int(c.listen_port, 1002, "line after continuation");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "esc.conf",
		    "logFile=/tmp/a\\tb\\\\c\\nd\\re\\ff\\=\\:\\#\n"
		    "storePathRootDir=/st\\u00e9re/\\uD83D\\uDE00\n"
		    "brok\\erName=escaped-key\n"
		    "broker\\u004eame2=unknown\n"), 0, "escapes");
	ok(!strcmp(c.log_file, "/tmp/a\tb\\c\nd\re\ff=:#"),
	   "\\t \\\\ \\n \\r \\f and \\x for other x");
	ok(!strcmp(c.store_path_root_dir, "/st\xc3\xa9re/\xf0\x9f\x98\x80"),
	   "\\uXXXX as UTF-8, surrogate pairs joined");
	ok(!strcmp(c.broker_name, "escaped-key"), "escapes in keys");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "trail.conf", "logFile=x\\\x20\n"), 0, "escaped blank");
	ok(!strcmp(c.log_file, "x "), "an escaped trailing blank is kept");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "crlf.conf",
		    "\xef\xbb\xbflistenPort=1003\r\n"
		    "brokerName=crlf  \r\n"
		    "namesrvAddr=\\\r\n"
		    "  1.2.3.4:5\r"
		    "maxMessageSize=4096"), 0,
	       "BOM, CRLF and CR line ends, no final newline");
	is_int(c.listen_port, 1003, "key after a BOM");
	ok(!strcmp(c.broker_name, "crlf"), "CR not part of the value");
	ok(!strcmp(c.namesrv_addr, "1.2.3.4:5"), "continuation over CRLF");
	is_int(c.max_message_size, 4096, "last line without newline");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "empty.conf", "namesrvAddr\nlogFile=\n"), 0,
	       "a key alone means an empty value");
	ok(!c.namesrv_count && !c.log_file[0], "empty values");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "dup.conf", "listenPort=1\nlistenPort=2\n"), 0,
	       "duplicate keys");
	is_int(c.listen_port, 2, "the last duplicate wins, as in Java");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "badu.conf", "listenPort=1\n\nlogFile=\\u12G4\n"),
	       -EINVAL, "malformed \\u refused");
	ok(strstr(errbuf, "badu.conf:3:") && strstr(errbuf, "\\u"),
	   "malformed \\u: file:line named (%s)", errbuf);
	is_int(load(&c, "surr.conf", "logFile=\\uD83D\n"), -EINVAL,
	       "unpaired surrogate refused");
	is_int(load(&c, "nul.conf", "listenPort=1\n"), 0, "(setup)");
	{
		int fd = open(tpath("nul.conf"), O_WRONLY | O_APPEND);

		if (fd >= 0) {
			if (write(fd, "a\0b=c\n", 6) != 6)
				diag("short write");
			close(fd);
		}
	}
	errbuf[0] = 0;
	is_int(kmqd_config_load_file(&c, tpath("nul.conf"), errbuf,
				     sizeof(errbuf)), -EINVAL,
	       "a NUL byte is refused");
	ok(!!strstr(errbuf, "nul.conf:2:"), "NUL: line named (%s)", errbuf);

	errbuf[0] = 0;
	is_int(kmqd_config_load_file(&c, tpath("missing.conf"), errbuf,
				     sizeof(errbuf)), -ENOENT,
	       "missing file: -ENOENT");
	ok(!!strstr(errbuf, "missing.conf"), "missing file named (%s)",
	   errbuf);
	is_int(kmqd_config_load_file(&c, tdir, errbuf, sizeof(errbuf)), -EISDIR,
	       "a directory: -EISDIR");

	/* Line numbers count continued lines. */
	log_capture(KMQD_LOG_INFO);
	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "lines.conf",
		    "namesrvAddr=1.1.1.1:1;\\\n"
		    "  2.2.2.2:2\n"
		    "\n"
		    "noSuchKey=1\n"), 0, "unknown key after a continuation");
	text = log_text();
	ok(!!strstr(text, "lines.conf:4:"),
	   "warning counts the continued line");
	free(text);
	log_release();
}

static void test_unknown_keys(void)
{
	struct kmqd_config c;
	char *text, *line;

	log_capture(KMQD_LOG_INFO);
	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "unknown.conf",
		    "brokerName=broker-u\n"
		    "# comment\n"
		    "fooBarBaz=1\n"
		    "listenport=1234\n"
		    "brokerIP2=10.0.0.9\n"
		    "listenPort=4321\n"), 0, "unknown keys: the file loads");
	ok(!strcmp(c.broker_name, "broker-u") && c.listen_port == 4321,
	   "unknown keys: the known ones are applied");
	text = log_text();
	line = strstr(text, "fooBarBaz");
	ok(line && strstr(text, "unknown.conf:3: unknown key \"fooBarBaz\""),
	   "warning names file, line and key");
	ok(!!strstr(text, "unknown.conf:4: unknown key \"listenport\""),
	   "a key in the wrong case is unknown");
	ok(!!strstr(text, "(did you mean listenPort?)"), "did you mean");
	ok(!!strstr(text,
		    "unknown.conf:5: brokerIP2 is a RocketMQ key kmq does not support"),
	   "a RocketMQ key kmq lacks is told apart");
	ok(!!strstr(text, " WARN  ["), "logged at WARN");
	if (!line || !strstr(text, "unknown.conf:3:"))
		diag("log:\n%s", text);
	free(text);
	log_release();

	errbuf[0] = 0;
	is_int(kmqd_config_set(&c, "fooBarBaz", "1", errbuf, sizeof(errbuf)),
	       -ENOENT, "kmqd_config_set: unknown key is -ENOENT");
	ok(!!strstr(errbuf, "fooBarBaz"), "and named (%s)", errbuf);
}

/* ---- bad values -------------------------------------------------- */

static const struct {
	const char *key;
	const char *value;
} bad_values[] = {
	{ "listenPort", "abc" },
	{ "listenPort", "12abc" },
	{ "listenPort", "-1" },
	{ "listenPort", "0" },
	{ "listenPort", "65536" },
	{ "listenPort", "" },
	{ "listenPort", "1 2" },
	{ "listenPort", "0x10" },
	{ "listenPort", "99999999999999999999999" },
	{ "namesrvListenPort", "0" },
	{ "namesrvListenPort", "70000" },
	{ "brokerId", "-1" },
	{ "brokerId", "one" },
	{ "brokerId", "9223372036854775808" },
	{ "brokerRole", "MASTER" },
	{ "brokerRole", "" },
	{ "flushDiskType", "SYNC" },
	{ "syncFlushTimeout", "0" },
	{ "syncFlushTimeout", "3600001" },
	{ "deleteWhen", "24" },
	{ "deleteWhen", "04;25" },
	{ "deleteWhen", "" },
	{ "deleteWhen", ";" },
	{ "deleteWhen", "4am" },
	{ "fileReservedTime", "-1" },
	{ "fileReservedTime", "1.5" },
	{ "fileReservedTime", "2147483648" },
	{ "brokerIP1", "localhost" },
	{ "brokerIP1", "1.2.3" },
	{ "brokerIP1", "0.0.0.0" },
	{ "autoCreateTopicEnable", "yes" },
	{ "autoCreateTopicEnable", "1" },
	{ "autoCreateTopicEnable", "" },
	{ "defaultTopicQueueNums", "0" },
	{ "defaultTopicQueueNums", "1025" },
	{ "mapedFileSizeCommitLog", "65535" },
	{ "mapedFileSizeCommitLog", "65537" },
	{ "mapedFileSizeCommitLog", "1G" },
	{ "mapedFileSizeCommitLog", "68719480832" },
	{ "mappedFileSizeCommitLog", "100" },
	{ "maxMessageSize", "0" },
	{ "maxMessageSize", "1073741825" },
	{ "maxMessageSize", "4M" },
	{ "namesrvAddr", "127.0.0.1" },
	{ "namesrvAddr", "127.0.0.1:0" },
	{ "namesrvAddr", "127.0.0.1:65536" },
	{ "namesrvAddr", "127.0.0.1:9876;host:port" },
	{ "namesrvAddr", "bad host:9876" },
	{ "namesrvAddr", "1.2.3:9876" },
	{ "namesrvAddr", "[::1:9876" },
	{ "namesrvAddr", "[1.2.3.4]:9876" },
	{ "namesrvAddr", ":9876" },
	{ "namesrvAddr", "-host:9876" },
	{ "brokerName", "" },
	{ "brokerName", "a b" },
	{ "brokerClusterName", "" },
	{ "brokerClusterName", "tab\there" },
	{ "storePathRootDir", "" },
	{ "listenAddr", "" },
	{ "listenAddr", "localhost" },
	{ "logLevel", "verbose" },
	{ "ringSegments", "1" },
	{ "ringSegments", "1048577" },
	{ "ioThreads", "1025" },
	{ "ioThreads", "-4" },
};

static void test_bad_values(void)
{
	struct kmqd_config c, before;
	char conf[256], name[64], long_name[200], many[1024];
	unsigned int i, bad_msgs = 0, bad_file = 0, changed = 0;
	int ret;

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	for (i = 0; i < ARRAY_SIZE(bad_values); i++) {
		const char *k = bad_values[i].key, *v = bad_values[i].value;

		before = c;
		errbuf[0] = 0;
		ret = kmqd_config_set(&c, k, v, errbuf, sizeof(errbuf));
		ok(ret == -EINVAL, "%s=\"%s\" refused", k, v);
		if (ret != -EINVAL || !strstr(errbuf, k) ||
		    !strstr(errbuf, strchr(v, '\t') ? "tab\\x09here" : v) ||
		    !strstr(errbuf, "expected")) {
			bad_msgs++;
			diag("message: %s", errbuf);
		}
		if (memcmp(&before, &c, sizeof(c)))
			changed++;

		/* The same through a file: file:line named. */
		snprintf(name, sizeof(name), "bad%u.conf", i);
		snprintf(conf, sizeof(conf), "# bad value\nbrokerName=b\n%s=%s\n",
			 k, v);
		ret = load(&c, name, conf);
		snprintf(conf, sizeof(conf), "%s:3: %s: bad value", name, k);
		/* Blanks around a file's value are trimmed: "1 2" stays bad. */
		if (ret != -EINVAL || !strstr(errbuf, conf)) {
			bad_file++;
			diag("file message: %s", errbuf);
		}
	}
	is_int(bad_msgs, 0, "every bad value's message names key, value, expectation");
	is_int(changed, 0, "a refused value leaves the configuration unchanged");
	is_int(bad_file, 0, "every bad value in a file: file:line and key named");

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	ret = kmqd_config_set(&c, "listenPort", "12abc", errbuf, sizeof(errbuf));
	ok(!strcmp(errbuf,
		   "listenPort: bad value \"12abc\": expected an integer from 1 to 65535"),
	   "message text: %s", errbuf);
	kmqd_config_set(&c, "mapedFileSizeCommitLog", "65537", errbuf,
			sizeof(errbuf));
	ok(!!strstr(errbuf, "not a multiple of 4096"),
	   "the reason is given when there is one: %s", errbuf);

	memset(long_name, 'n', 128);
	long_name[128] = 0;
	is_int(kmqd_config_set(&c, "brokerName", long_name, errbuf,
			       sizeof(errbuf)), -EINVAL, "brokerName of 128 bytes");
	long_name[127] = 0;
	is_int(kmqd_config_set(&c, "brokerName", long_name, errbuf,
			       sizeof(errbuf)), 0, "brokerName of 127 bytes");

	many[0] = 0;
	for (i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "10.0.0.%u:9876;", i);
	is_int(kmqd_config_set(&c, "namesrvAddr", many, errbuf, sizeof(errbuf)),
	       -EINVAL, "17 name servers refused (%s)", errbuf);
	many[strlen(many) - strlen("10.0.0.16:9876;")] = 0;
	is_int(kmqd_config_set(&c, "namesrvAddr", many, errbuf, sizeof(errbuf)),
	       0, "16 name servers accepted");
	is_int(c.namesrv_count, 16, "16 entries");

	/* The load stops at the first bad value; the error says where. */
	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(load(&c, "stop.conf",
		    "listenPort=1111\nbrokerRole=LEADER\nmaxMessageSize=5\n"),
	       -EINVAL, "bad brokerRole fails the load");
	ok(!!strstr(errbuf, "stop.conf:2: brokerRole: bad value \"LEADER\""),
	   "the first bad line is named: %s", errbuf);
	ok(!!strstr(errbuf, "expected ASYNC_MASTER, SYNC_MASTER or SLAVE"),
	   "with what is expected");
}

static void test_good_values(void)
{
	struct kmqd_config c;

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
#define SET(k, v) kmqd_config_set(&c, k, v, errbuf, sizeof(errbuf))
	ok(!SET("autoCreateTopicEnable", "FALSE") && !c.auto_create_topic_enable,
	   "booleans in any case: FALSE");
	ok(!SET("autoCreateTopicEnable", "True") && c.auto_create_topic_enable,
	   "True");
	ok(!SET("listenPort", "+10912") && c.listen_port == 10912,
	   "integers: a leading '+' (as Java's parseInt)");
	ok(!SET("listenPort", "010911") && c.listen_port == 10911,
	   "integers: leading zeros are decimal");
	ok(!SET("brokerRole", "slave") && c.broker_role == KMQD_SLAVE,
	   "enum names in any case");
	ok(!SET("flushDiskType", "sync_flush") &&
	   c.flush_disk_type == KMQD_SYNC_FLUSH, "flushDiskType lower case");
	ok(!SET("deleteWhen", "0;23;04;") &&
	   c.delete_hours == ((1u << 0) | (1u << 23) | (1u << 4)),
	   "deleteWhen: several hours, trailing ';'");
	ok(!SET("namesrvAddr", " a.example:1 ; b-2.example:2;; ") &&
	   !strcmp(c.namesrv_addr, "a.example:1;b-2.example:2") &&
	   c.namesrv_count == 2, "namesrvAddr: host names, blanks, empty entries");
	ok(!SET("namesrvAddr", "[::1]:9876;::1:9877;localhost:9878") &&
	   c.namesrv_count == 3 && !strcmp(c.namesrv[0].host, "::1") &&
	   c.namesrv[0].port == 9876 && !strcmp(c.namesrv[1].host, "::1") &&
	   c.namesrv[1].port == 9877 && !strcmp(c.namesrv[2].host, "localhost"),
	   "namesrvAddr: IPv6 with and without brackets");
	ok(!strcmp(c.namesrv_addr, "::1:9876;::1:9877;localhost:9878"),
	   "namesrvAddr normalised as RocketMQ splits it (%s)", c.namesrv_addr);
	ok(!SET("namesrvAddr", "h:09876") && !strcmp(c.namesrv_addr, "h:9876"),
	   "namesrvAddr: port written as a number");
	ok(!SET("namesrvAddr", "") && !c.namesrv_count && !c.namesrv_addr[0],
	   "namesrvAddr may be emptied");
	ok(!SET("brokerIP1", "fe80::1") && !strcmp(c.broker_ip1, "fe80::1"),
	   "brokerIP1 IPv6");
	ok(!SET("listenAddr", "::") && !strcmp(c.listen_addr, "::"),
	   "listenAddr ::");
	ok(!SET("logLevel", "WARNING") && c.log_level == KMQD_LOG_WARN,
	   "logLevel warning");
	ok(!SET("logLevel", "error") && c.log_level == KMQD_LOG_ERR,
	   "logLevel error");
	ok(!SET("fileReservedTime", "0") && c.file_reserved_time == 0,
	   "fileReservedTime 0");
	ok(!SET("mapedFileSizeCommitLog", "65536") &&
	   c.maped_file_size_commit_log == 65536, "mapedFileSizeCommitLog 64 KiB");
	ok(!SET("mapedFileSizeCommitLog", "68719476736") &&
	   c.maped_file_size_commit_log == 68719476736ull,
	   "mapedFileSizeCommitLog 64 GiB");
	ok(!SET("maxMessageSize", "1073741824") &&
	   c.max_message_size == 1073741824u, "maxMessageSize 1 GiB");
	ok(!SET("brokerId", "9223372036854775807") &&
	   c.broker_id == 9223372036854775807ull, "brokerId, a Java long");
	ok(!SET("ringSegments", "2") && c.ring_segments == 2, "ringSegments 2");

	setenv("HOME", "/home/kmq", 1);
	ok(!SET("storePathRootDir", "~/store") &&
	   !strcmp(c.store_path_root_dir, "/home/kmq/store"), "~/ is $HOME");
	ok(!SET("logFile", "~") && !strcmp(c.log_file, "/home/kmq"),
	   "~ alone is $HOME");
	ok(!SET("storePathRootDir", "~other/store") &&
	   !strcmp(c.store_path_root_dir, "~other/store"), "~user is left alone");
#undef SET
}

/* ---- the command line -------------------------------------------- */

static void test_args(void)
{
	struct kmqd_config c;
	char file[256];
	char *out;
	char *text;

	snprintf(file, sizeof(file), "%s",
		 wfile("args.conf",
		       "listenPort=999\n"
		       "brokerName=from-file\n"
		       "namesrvAddr=1.1.1.1:9876\n"
		       "maxMessageSize=1000\n"));

	is_int(run(&c, NULL, "broker", "--listenPort=1234", "-c", file, NULL),
	       KMQD_ARGS_RUN, "broker with a flag before -c");
	is_int(c.listen_port, 1234, "a flag before -c overrides the file");
	ok(!strcmp(c.broker_name, "from-file"), "the file applies");
	is_int(c.role, KMQD_ROLE_BROKER, "role broker");
	ok(!strcmp(c.config_file, file), "config_file recorded");

	is_int(run(&c, NULL, "broker", "-c", file, "--brokerName", "flag",
		   "-n", "2.2.2.2:9876;3.3.3.3:9876", NULL),
	       KMQD_ARGS_RUN, "--key value and -n ADDR");
	ok(!strcmp(c.broker_name, "flag"), "--key value form");
	ok(!strcmp(c.namesrv_addr, "2.2.2.2:9876;3.3.3.3:9876") &&
	   c.namesrv_count == 2, "-n overrides the file's namesrvAddr");

	is_int(run(&c, NULL, "broker", "-n4.4.4.4:1", "-c", file,
		   "--namesrvAddr=5.5.5.5:2", NULL), KMQD_ARGS_RUN,
	       "-nADDR then --namesrvAddr");
	ok(!strcmp(c.namesrv_addr, "5.5.5.5:2"), "among flags the last wins");

	is_int(run(&c, NULL, "broker", "--config=", NULL), -EINVAL,
	       "--config= without a file");
	is_int(run(&c, NULL, "broker", "--config", file,
		   "--mappedFileSizeCommitLog=131072", NULL), KMQD_ARGS_RUN,
	       "--config FILE and an alias as a flag");
	is_int(c.maped_file_size_commit_log, 131072, "alias flag applied");

	is_int(run(&c, NULL, "broker", "-c", file, "--listenPort=abc", NULL),
	       -EINVAL, "bad flag value");
	ok(strstr(errbuf, "--listenPort=abc") && strstr(errbuf, "listenPort: bad value \"abc\""),
	   "bad flag: option and key named (%s)", errbuf);
	is_int(run(&c, NULL, "broker", "--listenprot=1", NULL), -EINVAL,
	       "unknown flag refused (not just warned)");
	ok(!!strstr(errbuf, "listenprot"), "unknown flag named (%s)",
	   errbuf);
	is_int(run(&c, NULL, "broker", "--listenPort", NULL), -EINVAL,
	       "flag without a value");
	is_int(run(&c, NULL, "broker", "-c", NULL), -EINVAL, "-c without a file");
	is_int(run(&c, NULL, "broker", "-c", file, "-c", file, NULL), -EINVAL,
	       "two -c refused");
	is_int(run(&c, NULL, "broker", "extra", NULL), -EINVAL,
	       "a stray argument refused");
	ok(!!strstr(errbuf, "extra"), "stray argument named (%s)", errbuf);
	is_int(run(&c, NULL, "-x", NULL), -EINVAL, "bad role refused");
	is_int(run(&c, NULL, "mqbroker", NULL), -EINVAL, "unknown role refused");
	ok(!!strstr(errbuf, "namesrv, broker or all"), "roles listed (%s)",
	   errbuf);
	is_int(run(&c, NULL, NULL), -EINVAL, "no role refused");
	is_int(run(&c, NULL, "broker", "-c", tpath("nope.conf"), NULL), -ENOENT,
	       "missing -c file");
	ok(!!strstr(errbuf, "nope.conf"), "missing file named (%s)",
	   errbuf);

	is_int(run(&c, &out, "-h", NULL), KMQD_ARGS_EXIT, "kmqd -h: exit 0");
	ok(out && strstr(out, "usage: kmqd namesrv|broker|all"), "usage printed");
	free(out);
	is_int(run(&c, &out, "broker", "--listenPort=bad", "--help", NULL),
	       KMQD_ARGS_EXIT, "--help wins over bad flags");
	ok(out && strstr(out, "--print-config"), "usage lists --print-config");
	free(out);

	is_int(run(&c, NULL, "namesrv", NULL), KMQD_ARGS_RUN, "kmqd namesrv");
	is_int(c.role, KMQD_ROLE_NAMESRV, "role namesrv");
	is_int(run(&c, NULL, "all", NULL), KMQD_ARGS_RUN, "kmqd all");
	is_int(c.role, KMQD_ROLE_ALL, "role all");

	/* -p prints the effective configuration. */
	is_int(run(&c, &out, "broker", "-p", "-c", file, "--listenPort=4321",
		   NULL), KMQD_ARGS_EXIT, "-p with -c and a flag");
	ok(out && strstr(out, "\nlistenPort=4321\n") &&
	   strstr(out, "\nbrokerName=from-file\n") &&
	   strstr(out, "\nmaxMessageSize=1000\n") &&
	   strstr(out, "\nnamesrvAddr=1.1.1.1:9876\n"),
	   "-p: file and flags applied");
	{
		char *p = out, *nl, prev[128] = "";
		unsigned int lines = 0, sorted = 1, shaped = 1;

		while (p && *p) {
			nl = strchr(p, '\n');
			if (!nl)
				break;
			*nl = 0;
			if (!strchr(p, '=') || p[0] == '=')
				shaped = 0;
			*strchr(p, '=') = 0;
			if (strcmp(prev, p) >= 0)
				sorted = 0;
			snprintf(prev, sizeof(prev), "%s", p);
			lines++;
			p = nl + 1;
		}
		is_int(lines, KMQD_CONFIG_NKEYS, "-p: one line per key");
		ok(sorted, "-p: sorted by key");
		ok(shaped, "-p: key=value lines");
	}
	free(out);

	is_int(run(&c, &out, "broker", "--print-config", "--logFile= a\\b\tc ",
		   NULL), KMQD_ARGS_EXIT, "--print-config");
	ok(out && strstr(out, "\nlogFile=\\ a\\\\b\\tc\\\x20\n"),
	   "-p escapes values as properties");
	wfile("printed.conf", out ? out : "");
	free(out);
	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(kmqd_config_load_file(&c, tpath("printed.conf"), errbuf,
				     sizeof(errbuf)), 0,
	       "the printed configuration loads back");
	ok(!strcmp(c.log_file, " a\\b\tc "), "round trip keeps the value");
	text = printed(&c);
	out = slurp(tpath("printed.conf"));
	ok(!strcmp(text, out), "and prints the same");
	free(text);
	free(out);

	/* NAMESRV_ADDR, below the file. */
	setenv("NAMESRV_ADDR", "9.9.9.9:9876", 1);
	is_int(run(&c, NULL, "broker", NULL), KMQD_ARGS_RUN, "NAMESRV_ADDR");
	ok(!strcmp(c.namesrv_addr, "9.9.9.9:9876"), "NAMESRV_ADDR applies");
	is_int(run(&c, NULL, "broker", "-c", file, NULL), KMQD_ARGS_RUN,
	       "NAMESRV_ADDR and a file");
	ok(!strcmp(c.namesrv_addr, "1.1.1.1:9876"), "the file beats NAMESRV_ADDR (%s)",
	   c.namesrv_addr);
	setenv("NAMESRV_ADDR", "nonsense", 1);
	is_int(run(&c, NULL, "broker", NULL), -EINVAL, "bad NAMESRV_ADDR refused");
	ok(!!strstr(errbuf, "NAMESRV_ADDR"), "and named (%s)", errbuf);
	unsetenv("NAMESRV_ADDR");
}

/* ---- rules between keys ------------------------------------------ */

static void test_validation(void)
{
	struct kmqd_config c;
	char f[256];
	char *text;

	snprintf(f, sizeof(f), "%s",
		 wfile("slave0.conf", "brokerRole=SLAVE\nbrokerId=0\n"));
	is_int(run(&c, NULL, "broker", "-c", f, NULL), -EINVAL,
	       "SLAVE with brokerId 0 refused (as RocketMQ)");
	ok(strstr(errbuf, "brokerRole=SLAVE") && strstr(errbuf, "brokerId") &&
	   strstr(errbuf, "slave0.conf:1"), "names both keys and where (%s)",
	   errbuf);
	is_int(run(&c, NULL, "broker", "-c", f, "--brokerId=1", NULL),
	       KMQD_ARGS_RUN, "SLAVE with brokerId 1");
	is_int(c.broker_id, 1, "slave keeps its brokerId");

	log_capture(KMQD_LOG_INFO);
	is_int(run(&c, NULL, "broker", "--brokerId=3", NULL), KMQD_ARGS_RUN,
	       "a master with brokerId 3 starts (as RocketMQ)");
	is_int(c.broker_id, 0, "and its brokerId is forced to 0");
	text = log_text();
	ok(strstr(text, "brokerId=3") && strstr(text, "WARN"),
	   "with a warning");
	free(text);
	log_release();

	is_int(run(&c, NULL, "namesrv", "-c", f, NULL), KMQD_ARGS_RUN,
	       "the broker's rules do not stop a name server");

	is_int(run(&c, NULL, "broker", "--maxMessageSize=1048576",
		   "--mapedFileSizeCommitLog=1114112", NULL), KMQD_ARGS_RUN,
	       "segment = maxMessageSize + 64 KiB");
	is_int(run(&c, NULL, "broker", "--maxMessageSize=1048576",
		   "--mapedFileSizeCommitLog=1110016", NULL), -EINVAL,
	       "segment < maxMessageSize + 64 KiB refused");
	ok(strstr(errbuf, "mapedFileSizeCommitLog") &&
	   strstr(errbuf, "maxMessageSize"), "names both (%s)", errbuf);
	is_int(run(&c, NULL, "broker", "--mapedFileSizeCommitLog=1048576", NULL),
	       -EINVAL, "1 MiB segments with the 4 MiB default maxMessageSize");

	is_int(run(&c, NULL, "all", "--listenPort=9876", NULL), -EINVAL,
	       "kmqd all: the two ports must differ");
	ok(strstr(errbuf, "listenPort") && strstr(errbuf, "namesrvListenPort"),
	   "names both (%s)", errbuf);
	is_int(run(&c, NULL, "namesrv", "--listenPort=9876", NULL),
	       KMQD_ARGS_RUN, "a name server alone does not care");

	is_int(run(&c, NULL, "all", NULL), KMQD_ARGS_RUN, "kmqd all");
	ok(!strcmp(c.namesrv_addr, "127.0.0.1:9876") && c.namesrv_count == 1,
	   "kmqd all: namesrvAddr is its own name server");
	is_int(run(&c, NULL, "all", "--listenAddr=::", "--namesrvListenPort=7000",
		   NULL), KMQD_ARGS_RUN, "kmqd all on ::");
	ok(!strcmp(c.namesrv_addr, "::1:7000") && !strcmp(c.namesrv[0].host, "::1"),
	   "on ::, the loopback ::1 (%s)", c.namesrv_addr);
	is_int(run(&c, NULL, "all", "-n", "10.0.0.1:9876", NULL), KMQD_ARGS_RUN,
	       "kmqd all -n");
	ok(!strcmp(c.namesrv_addr, "10.0.0.1:9876"), "an explicit -n is kept");

	is_int(run(&c, NULL, "broker", "--listenAddr=10.1.2.3", NULL),
	       KMQD_ARGS_RUN, "listenAddr specific");
	ok(!strcmp(c.broker_ip1, "10.1.2.3"), "brokerIP1 follows listenAddr");
	is_int(run(&c, NULL, "broker", "--listenAddr=10.1.2.3",
		   "--brokerIP1=10.9.9.9", NULL), KMQD_ARGS_RUN,
	       "brokerIP1 given");
	ok(!strcmp(c.broker_ip1, "10.9.9.9"), "an explicit brokerIP1 is kept");
	log_capture(KMQD_LOG_INFO);
	is_int(run(&c, NULL, "broker", "--listenAddr=0.0.0.0", NULL),
	       KMQD_ARGS_RUN, "listenAddr 0.0.0.0");
	ok(!strcmp(c.broker_ip1, "127.0.0.1"), "brokerIP1 stays 127.0.0.1");
	text = log_text();
	ok(!!strstr(text, "brokerIP1"), "with a warning to set brokerIP1");
	ok(!!strstr(text, "namesrvAddr is empty"),
	   "a broker without namesrvAddr is warned about");
	free(text);
	log_release();

	kmqd_config_init(&c, KMQD_ROLE_BROKER);
	is_int(kmqd_config_validate(&c, errbuf, sizeof(errbuf)), 0, "validate");
	is_int(kmqd_config_validate(&c, errbuf, sizeof(errbuf)), 0,
	       "validate twice");
}

/* ---- the store's configuration ----------------------------------- */

static void test_store_mapping(void)
{
	struct kmq_store_config sc;
	struct kmqd_config c;
	static const unsigned char v6[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7
	};

	is_int(run(&c, NULL, "broker", "--storePathRootDir=/srv/kmq",
		   "--mapedFileSizeCommitLog=8388608", "--ringSegments=4",
		   "--flushDiskType=SYNC_FLUSH", "--fileReservedTime=48",
		   "--maxMessageSize=65536", "--brokerIP1=10.2.3.4",
		   "--listenPort=10915", NULL), KMQD_ARGS_RUN, "store keys");
	memset(&sc, 0xa5, sizeof(sc));
	kmqd_config_store(&c, &sc);
	ok(sc.root == c.store_path_root_dir && !strcmp(sc.root, "/srv/kmq"),
	   "root = storePathRootDir");
	is_int(sc.segment_size, 8388608, "segment_size = mapedFileSizeCommitLog");
	is_int(sc.ring_segments, 4, "ring_segments = ringSegments");
	is_int(sc.flush_mode, KMQ_FLUSH_SYNC, "SYNC_FLUSH");
	is_int(sc.retention_ms, 48ull * 3600 * 1000,
	       "retention_ms = fileReservedTime hours");
	is_int(sc.max_message_size, 65536, "max_message_size");
	ok(!sc.store_host.v6 && sc.store_host.addr[0] == 10 &&
	   sc.store_host.addr[1] == 2 && sc.store_host.addr[2] == 3 &&
	   sc.store_host.addr[3] == 4 && sc.store_host.port == 10915,
	   "store_host = brokerIP1:listenPort");
	is_int(sc.flags, KMQ_STORE_CREATE, "KMQ_STORE_CREATE");
	is_int(sc.flush_timeout_ms, 5000,
	       "flush_timeout_ms = syncFlushTimeout's default 5000");
	is_int(sc.async_interval_ms, 500, "store defaults kept: 500 ms");
	is_int(sc.prealloc_segments, 0, "store defaults kept: prealloc");

	is_int(run(&c, NULL, "broker", "--brokerIP1=2001:db8::7", NULL),
	       KMQD_ARGS_RUN, "IPv6 brokerIP1");
	kmqd_config_store(&c, &sc);
	ok(sc.store_host.v6 && !memcmp(sc.store_host.addr, v6, 16) &&
	   sc.store_host.port == 10911, "store_host IPv6");
	is_int(sc.flush_mode, KMQ_FLUSH_ASYNC, "ASYNC_FLUSH");
	is_int(sc.segment_size, 1ull << 30, "default segment 1 GiB");
	is_int(sc.retention_ms, 72ull * 3600 * 1000, "default retention 72 h");
	ok(!strcmp(sc.root, "./store"), "default root ./store");

	is_int(run(&c, NULL, "broker", "--syncFlushTimeout=12000", NULL),
	       KMQD_ARGS_RUN, "syncFlushTimeout=12000");
	kmqd_config_store(&c, &sc);
	is_int(sc.flush_timeout_ms, 12000,
	       "flush_timeout_ms = syncFlushTimeout");
}

/* ---- the log ----------------------------------------------------- */

static bool digits(const char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "2026-11-21 05:56:22.123 INFO  [name] message" */
static bool line_shaped(const char *l, const char *tag, const char *name,
			const char *msg)
{
	char want[256];

	if (!(digits(l, 4) && l[4] == '-' && digits(l + 5, 2) && l[7] == '-' &&
	      digits(l + 8, 2) && l[10] == ' ' && digits(l + 11, 2) &&
	      l[13] == ':' && digits(l + 14, 2) && l[16] == ':' &&
	      digits(l + 17, 2) && l[19] == '.' && digits(l + 20, 3) &&
	      l[23] == ' '))
		return false;
	snprintf(want, sizeof(want), "%-5s [%s] %s\n", tag, name, msg);
	return !strncmp(l + 24, want, strlen(want));
}

#define LOG_THREADS	4
#define LOG_LINES	500

static void *log_worker(void *arg)
{
	char name[16];
	int i, id = (int)(long)arg;

	snprintf(name, sizeof(name), "worker-%d", id);
	kmqd_log_set_thread_name(name);
	for (i = 0; i < LOG_LINES; i++)
		log_info("thread %d line %d %s", id, i,
			 "0123456789abcdefghijklmnopqrstuvwxyz0123456789");
	return NULL;
}

static void test_log(void)
{
	pthread_t th[LOG_THREADS];
	char *text, *p, *nl, big[KMQD_LOG_LINE_MAX * 2];
	unsigned int lines = 0, good = 0, counts[LOG_THREADS] = { 0 };
	int i, id, n, evaluated = 0;

	is_int(kmqd_log_level_parse("ERROR"), KMQD_LOG_ERR, "level error");
	is_int(kmqd_log_level_parse("warn"), KMQD_LOG_WARN, "level warn");
	is_int(kmqd_log_level_parse("warning"), KMQD_LOG_WARN, "level warning");
	is_int(kmqd_log_level_parse("Info"), KMQD_LOG_INFO, "level info");
	is_int(kmqd_log_level_parse("debug"), KMQD_LOG_DEBUG, "level debug");
	is_int(kmqd_log_level_parse("trace"), -1, "level trace unknown");
	ok(!strcmp(kmqd_log_level_name(KMQD_LOG_WARN), "warn"), "level name");

	kmqd_log_set_thread_name("t-main");
	log_capture(KMQD_LOG_INFO);
	is_int(kmqd_log_get_level(), KMQD_LOG_INFO, "kmqd_log_open sets the level");
	log_err("an error %d", 1);
	log_warn("a warning");
	log_info("some info");
	log_debug("hidden debug %d", ++evaluated);
	kmqd_log_set_level(KMQD_LOG_DEBUG);
	log_debug("shown debug");
	kmqd_log_set_level(KMQD_LOG_WARN);
	log_info("hidden info");
	log_warn("shown warning\n");
	text = log_text();
	p = text;
	ok(line_shaped(p, "ERROR", "t-main", "an error 1"), "ERROR line shape");
	p = strchr(p, '\n') + 1;
	ok(line_shaped(p, "WARN", "t-main", "a warning"), "WARN line shape");
	p = strchr(p, '\n') + 1;
	ok(line_shaped(p, "INFO", "t-main", "some info"), "INFO line shape");
	p = strchr(p, '\n') + 1;
	ok(line_shaped(p, "DEBUG", "t-main", "shown debug"),
	   "DEBUG shown once the level allows");
	p = strchr(p, '\n') + 1;
	ok(line_shaped(p, "WARN", "t-main", "shown warning"),
	   "one newline even if the message ends in one");
	p = strchr(p, '\n') + 1;
	ok(!*p, "lines above the level are dropped");
	is_int(evaluated, 0, "a dropped line's arguments are not evaluated");
	if (*p)
		diag("log:\n%s", text);
	free(text);

	/* A message longer than a line is cut, still one line. */
	log_capture(KMQD_LOG_INFO);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	log_info("%s", big);
	text = log_text();
	n = (int)strlen(text);
	is_int(n, KMQD_LOG_LINE_MAX, "a long message fills one line");
	ok(n > 4 && !strcmp(text + n - 4, "...\n"), "and ends in ...");
	free(text);

	/* Threads: every line whole, with its thread's name. */
	log_capture(KMQD_LOG_INFO);
	for (i = 0; i < LOG_THREADS; i++)
		pthread_create(&th[i], NULL, log_worker, (void *)(long)i);
	for (i = 0; i < LOG_THREADS; i++)
		pthread_join(th[i], NULL);
	text = log_text();
	for (p = text; *p; p = nl + 1) {
		char name[16], msg[128];

		nl = strchr(p, '\n');
		if (!nl)
			break;
		lines++;
		if (sscanf(p + 24, "INFO  [worker-%d] thread %d", &id, &n) != 2 ||
		    id < 0 || id >= LOG_THREADS || id != n)
			continue;
		snprintf(name, sizeof(name), "worker-%d", id);
		snprintf(msg, sizeof(msg), "thread %d line %u %s", id,
			 counts[id],
			 "0123456789abcdefghijklmnopqrstuvwxyz0123456789");
		if (line_shaped(p, "INFO", name, msg)) {
			counts[id]++;
			good++;
		}
	}
	is_int(lines, LOG_THREADS * LOG_LINES, "threads: every line written");
	is_int(good, LOG_THREADS * LOG_LINES,
	       "threads: every line whole, in order within its thread");
	free(text);

	/* Rotation: reopen under the same name. */
	rename(tpath("kmqd.log"), tpath("kmqd.log.1"));
	is_int(kmqd_log_reopen(), 0, "kmqd_log_reopen");
	log_info("after rotation");
	text = log_text();
	ok(strstr(text, "after rotation") && !strchr(strchr(text, '\n') + 1, '\n'),
	   "a reopened log starts a new file");
	free(text);

	is_int(kmqd_log_open(tpath("no/such/dir/log"), KMQD_LOG_INFO), -ENOENT,
	       "unopenable log file: -ENOENT");
	log_info("still here");
	text = log_text();
	ok(!!strstr(text, "still here"), "and the log is unchanged");
	free(text);
	kmqd_log_close();
	is_int(kmqd_log_get_level(), KMQD_LOG_INFO, "kmqd_log_close keeps the level");
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd))
		diag("cannot remove %s", tdir);
}

int main(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/kmq-t_config-XXXXXX");
	if (!mkdtemp(tdir))
		kmq_tap_bail("mkdtemp failed");
	unsetenv("NAMESRV_ADDR");
	log_release();

	test_defaults();
	test_stock_conf();
	test_every_key();
	test_syntax();
	test_unknown_keys();
	test_bad_values();
	test_good_values();
	test_args();
	test_validation();
	test_store_mapping();
	test_log();

	cleanup();
	return kmq_tap_done();
}
