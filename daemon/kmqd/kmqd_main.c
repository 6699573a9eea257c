// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_main.c - kmqd's entry point: `kmqd namesrv`, `kmqd broker` or
 * `kmqd all` (both roles in one process). Reads the configuration, starts
 * the io loops and the roles, and on SIGINT or SIGTERM stops the loops,
 * then closes the broker's store with everything flushed.
 *
 * Threads: the main thread only waits for signals; the io loops (one per
 * CPU by default, ioThreads) serve every connection; the store runs its
 * flusher and allocator; the broker runs the delay-level thread.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmq_store.h"
#include "kmqd_broker.h"
#include "kmqd_config.h"
#include "kmqd_log.h"
#include "kmqd_loop.h"
#include "kmqd_namesrv.h"

#define KMQD_MAIN_THREAD	"kmqd-signals"

static void kmqd_broker_opts_from(const struct kmqd_config *cfg,
				  struct kmqd_broker_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cluster = cfg->broker_cluster_name;
	o->name = cfg->broker_name;
	o->id = cfg->broker_id;
	o->listen_addr = cfg->listen_addr;
	o->port = cfg->listen_port;
	o->broker_ip = cfg->broker_ip1;
	o->namesrv_addrs = cfg->namesrv_addr;
	o->auto_create_topic = cfg->auto_create_topic_enable;
	o->default_queues = cfg->default_topic_queue_nums;
	o->max_message_size = cfg->max_message_size;
	o->transfer_by_heap = cfg->transfer_msg_by_heap;
	o->backend = cfg->store_backend;
	kmqd_config_store(cfg, &o->store);
}

int main(int argc, char **argv)
{
	struct kmqd_broker_opts opts;
	struct kmqd_config cfg;
	sigset_t sigs;
	char err[1024];
	long ncpu;
	int ret, sig = 0;

	ret = kmqd_config_parse_args(&cfg, argc, argv, stdout, err,
				     sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "kmqd: %s\n", err);
		return 2;
	}
	if (ret == KMQD_ARGS_EXIT)
		return 0;
	ret = kmqd_log_open(cfg.log_file[0] ? cfg.log_file : NULL,
			    cfg.log_level);
	if (ret) {
		fprintf(stderr, "kmqd: cannot open log file %s: %s\n",
			cfg.log_file, strerror(-ret));
		return 2;
	}
	kmqd_log_set_thread_name(KMQD_MAIN_THREAD);
	signal(SIGPIPE, SIG_IGN);
	/* A shell's background job starts with SIGINT ignored: undo that. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	ret = kmqd_loops_start(cfg.io_threads ? cfg.io_threads :
			       ncpu > 0 ? ncpu : 1);
	if (ret) {
		log_err("cannot start io loops: %s", strerror(-ret));
		return 1;
	}
	if (cfg.role & KMQD_ROLE_NAMESRV) {
		ret = kmqd_namesrv_start(cfg.listen_addr,
					 cfg.namesrv_listen_port);
		if (ret)
			goto stop;
	}
	if (cfg.role & KMQD_ROLE_BROKER) {
		kmqd_broker_opts_from(&cfg, &opts);
		ret = kmqd_broker_start(&opts);
		if (ret)
			goto stop;
	}
	log_info("kmqd %s running (%u io loops); SIGINT or SIGTERM stops it",
		 kmqd_role_name(cfg.role), kmqd_loop_count());
	sigwait(&sigs, &sig);
	log_info("signal %d: shutting down", sig);
stop:
	kmqd_loops_stop();
	kmqd_loops_join();
	kmqd_broker_stop();
	kmqd_namesrv_stop();
	log_info("kmqd stopped");
	kmqd_log_close();
	return ret ? 1 : 0;
}
