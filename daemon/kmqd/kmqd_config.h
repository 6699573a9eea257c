/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqd_config.h - kmqd's configuration: RocketMQ's broker.conf keys and
 * kmq's own, from a Java properties file and the command line.
 *
 * Precedence, lowest first: the defaults (kmqd_config_init()), the
 * NAMESRV_ADDR environment variable, the file given with -c, the
 * command-line flags. kmqd_config_parse_args() does all of it and then
 * kmqd_config_validate(). docs/configuration.md lists every key.
 *
 * Strings live in the structure: nothing to free, and the structure may be
 * copied.
 */
#ifndef KMQD_CONFIG_H
#define KMQD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kmqd_backend.h"

struct kmq_store_config;

#define KMQD_NAME_MAX		127	/* brokerClusterName, brokerName */
#define KMQD_PATH_MAX		4095	/* storePathRootDir, logFile */
#define KMQD_HOST_MAX		253	/* a host name in namesrvAddr */
#define KMQD_IP_MAX		45	/* a numeric IPv4 or IPv6 address */
#define KMQD_NAMESRV_MAX	16	/* entries in namesrvAddr */
#define KMQD_NAMESRV_ADDR_MAX	1023	/* namesrvAddr as written */
#define KMQD_DELETE_WHEN_MAX	127	/* deleteWhen as written */

/* Keys, counted for the private bookkeeping below. */
#define KMQD_CONFIG_NKEYS	24

/* What the process runs: the first word of the command line. */
enum kmqd_role {
	KMQD_ROLE_NAMESRV = 1,				/* kmqd namesrv */
	KMQD_ROLE_BROKER = 2,				/* kmqd broker */
	KMQD_ROLE_ALL = KMQD_ROLE_NAMESRV | KMQD_ROLE_BROKER,	/* kmqd all */
};

/* brokerRole */
enum kmqd_broker_role {
	KMQD_ASYNC_MASTER = 0,
	KMQD_SYNC_MASTER,
	KMQD_SLAVE,
};

/* flushDiskType */
enum kmqd_flush_type {
	KMQD_ASYNC_FLUSH = 0,
	KMQD_SYNC_FLUSH,
};

/**
 * struct kmqd_hostport - one name server of namesrvAddr.
 * @host: a host name or a numeric address (IPv6 without brackets)
 * @port: 1..65535
 */
struct kmqd_hostport {
	char host[KMQD_HOST_MAX + 1];
	unsigned int port;
};

/* Where a key's value came from (private; for messages). */
struct kmqd_config_origin {
	unsigned char kind;
	unsigned int line;
};

/**
 * struct kmqd_config - the effective configuration. Fields are named after
 * the keys; the comments give the key and kmq's default.
 * @role: namesrv, broker or both
 * @config_file: the -c file, "" if none
 * @broker_cluster_name: brokerClusterName, "DefaultCluster"
 * @broker_name: brokerName, "broker-a"
 * @broker_id: brokerId, 0 (master)
 * @namesrv_addr: namesrvAddr, "" (normalised: "host:port" entries joined
 *	by ';', IPv6 hosts without brackets, split at the last ':')
 * @namesrv: namesrvAddr's entries, @namesrv_count of them
 * @namesrv_count: entries in @namesrv
 * @listen_port: listenPort, 10911 (the broker's port)
 * @store_path_root_dir: storePathRootDir, "./store" ("~" expanded)
 * @broker_role: brokerRole, ASYNC_MASTER
 * @flush_disk_type: flushDiskType, ASYNC_FLUSH
 * @delete_when: deleteWhen, "04"
 * @delete_hours: deleteWhen as a mask: bit h set for hour h
 * @file_reserved_time: fileReservedTime, 72 (hours)
 * @broker_ip1: brokerIP1, the address advertised to clients and in
 *	message ids: listenAddr when that is a specific address, else
 *	127.0.0.1
 * @auto_create_topic_enable: autoCreateTopicEnable, true
 * @default_topic_queue_nums: defaultTopicQueueNums, 8
 * @maped_file_size_commit_log: mapedFileSizeCommitLog (also spelt
 *	mappedFileSizeCommitLog), 1 GiB
 * @max_message_size: maxMessageSize, 4 MiB
 * @namesrv_listen_port: namesrvListenPort, 9876 (the name server's port)
 * @listen_addr: listenAddr, "127.0.0.1" (both roles listen on it)
 * @ring_segments: ringSegments, 0 (no ring limit)
 * @log_level: logLevel, KMQD_LOG_INFO
 * @log_file: logFile, "" (stderr)
 * @io_threads: ioThreads, 0 (one per CPU)
 * @store_backend: storeBackend, auto: kmq.ko when /dev/kmq exists, else
 *	the userspace store
 * @sync_flush_timeout: syncFlushTimeout, 5000: milliseconds a SYNC_FLUSH
 *	send waits for its flush before it is answered FLUSH_DISK_TIMEOUT
 * @transfer_msg_by_heap: transferMsgByHeap, false: pulled records go to
 *	the socket by sendfile() from the page cache; true: copied through
 *	kmqd's send buffer (RocketMQ's default, kept for comparison)
 * @origin: private: where each key was last set
 */
struct kmqd_config {
	enum kmqd_role role;
	char config_file[KMQD_PATH_MAX + 1];

	char broker_cluster_name[KMQD_NAME_MAX + 1];
	char broker_name[KMQD_NAME_MAX + 1];
	uint64_t broker_id;
	char namesrv_addr[KMQD_NAMESRV_ADDR_MAX + 1];
	struct kmqd_hostport namesrv[KMQD_NAMESRV_MAX];
	unsigned int namesrv_count;
	unsigned int listen_port;
	char store_path_root_dir[KMQD_PATH_MAX + 1];
	enum kmqd_broker_role broker_role;
	enum kmqd_flush_type flush_disk_type;
	char delete_when[KMQD_DELETE_WHEN_MAX + 1];
	uint32_t delete_hours;
	unsigned int file_reserved_time;
	char broker_ip1[KMQD_IP_MAX + 1];
	bool auto_create_topic_enable;
	unsigned int default_topic_queue_nums;
	uint64_t maped_file_size_commit_log;
	unsigned int max_message_size;

	unsigned int namesrv_listen_port;
	char listen_addr[KMQD_IP_MAX + 1];
	unsigned int ring_segments;
	int log_level;
	char log_file[KMQD_PATH_MAX + 1];
	unsigned int io_threads;
	bool transfer_msg_by_heap;
	enum kmqd_backend_kind store_backend;
	unsigned int sync_flush_timeout;

	struct kmqd_config_origin origin[KMQD_CONFIG_NKEYS];
};

/** kmqd_config_init() - the defaults, for @role. */
void kmqd_config_init(struct kmqd_config *c, enum kmqd_role role);

/**
 * kmqd_config_set() - set one key from its text, as a flag would.
 * @key: a key name (exact case), e.g. "listenPort"
 * @value: its value, e.g. "10911"
 * @err: on failure, a message naming the key, the value and what is
 *	expected
 * Return: 0; -ENOENT for an unknown key; -EINVAL for a bad value.
 */
int kmqd_config_set(struct kmqd_config *c, const char *key,
		    const char *value, char *err, size_t errlen);

/**
 * kmqd_config_load_file() - apply a Java properties file (broker.conf).
 *
 * Unknown keys are logged as warnings (file, line and key) and skipped;
 * the first bad value fails the load with "file:line: key: ..." in @err
 * (keys before it stay applied). Records @path as @c->config_file.
 * Return: 0, -errno if the file cannot be read, -EINVAL on a bad value or
 * a syntax error.
 */
int kmqd_config_load_file(struct kmqd_config *c, const char *path,
			  char *err, size_t errlen);

/**
 * kmqd_config_validate() - the rules between keys, once everything is
 * applied. Like RocketMQ, a master's brokerId is forced to 0 (with a
 * warning) and a SLAVE needs brokerId > 0. Also fills the derived
 * defaults: brokerIP1 from listenAddr, and for "kmqd all" an empty
 * namesrvAddr becomes the process's own name server.
 * Return: 0 or -EINVAL with @err naming the keys.
 */
int kmqd_config_validate(struct kmqd_config *c, char *err, size_t errlen);

/* kmqd_config_parse_args() results besides errors. */
#define KMQD_ARGS_RUN	0	/* go on and run */
#define KMQD_ARGS_EXIT	1	/* help or the configuration printed: exit 0 */

/**
 * kmqd_config_parse_args() - the whole command line:
 *
 *   kmqd namesrv|broker|all [-c FILE] [-n ADDR] [--key=value ...]
 *        [-p|--print-config] [-h|--help]
 *
 * Initialises @c (kmqd_config_init()), applies NAMESRV_ADDR, the file and
 * the flags (flags win whatever their order), and validates. -p prints the
 * effective configuration to @out; -h prints the usage to @out.
 * Return: KMQD_ARGS_RUN, KMQD_ARGS_EXIT, or a negative errno with the
 * message in @err (-EINVAL for usage and configuration errors).
 */
int kmqd_config_parse_args(struct kmqd_config *c, int argc, char **argv,
			   FILE *out, char *err, size_t errlen);

/** kmqd_config_usage() - the usage text that -h prints. */
void kmqd_config_usage(FILE *f);

/**
 * kmqd_config_print() - every key as a "key=value" line, sorted by key,
 * values escaped so that the output loads back as a properties file.
 */
void kmqd_config_print(const struct kmqd_config *c, FILE *f);

/**
 * kmqd_config_store() - the store's configuration: kmq_store_config_init()
 * defaults, then storePathRootDir, mapedFileSizeCommitLog, ringSegments,
 * flushDiskType, fileReservedTime (hours to ms), maxMessageSize, and the
 * store host brokerIP1:listenPort; flags KMQ_STORE_CREATE.
 * @sc->root points into @c, which must outlive @sc.
 */
void kmqd_config_store(const struct kmqd_config *c,
		       struct kmq_store_config *sc);

const char *kmqd_broker_role_name(enum kmqd_broker_role r);
const char *kmqd_flush_type_name(enum kmqd_flush_type t);
const char *kmqd_role_name(enum kmqd_role r);

#endif /* KMQD_CONFIG_H */
