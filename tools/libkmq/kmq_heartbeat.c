// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_heartbeat.c - the client's timers and its presence at the brokers:
 * routes refreshed and HEART_BEAT (34) sent to every known broker every
 * interval, a heartbeat at once on a new broker connection (a restarted
 * broker learns the client's groups again), UNREGISTER_CLIENT (35) on
 * close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_client_int.h"

int kmqc_heartbeat(struct kmq_client *c)
{
	struct kmqc_addr *addrs = NULL;
	json_t *hb, *cons, *prods;
	struct kmq_rmt_cmd req;
	char *body = NULL;
	int n, i, ret, good = 0;

	if (!c->own.hb_build)
		return 0;
	hb = json_pack("{s:s, s:[], s:[]}", "clientID", c->id,
		       "consumerDataSet", "producerDataSet");
	cons = json_object_get(hb, "consumerDataSet");
	prods = json_object_get(hb, "producerDataSet");
	ret = hb ? c->own.hb_build(c->own.owner, cons, prods) : -ENOMEM;
	if (!ret) {
		body = json_dumps(hb, JSON_COMPACT);
		if (!body)
			ret = -ENOMEM;
	}
	json_decref(hb);
	if (ret)
		return kmqc_fail(ret, "heartbeat body");
	n = kmqc_broker_addrs(c, &addrs);
	for (i = 0; i < n; i++) {
		struct kmqc_frame *f = NULL;

		ret = kmqc_req(c, &req, KMQ_REQ_HEART_BEAT);
		if (!ret)
			ret = kmqc_call_ok(c, addrs[i].s, &req, body,
					   strlen(body), 0, &f, "heartbeat");
		kmq_rmt_cmd_free(&req);
		kmqc_frame_free(f);
		if (ret)
			kmqc_info("%s: heartbeat to %s: %s", c->id, addrs[i].s,
				  kmq_errmsg());
		else
			good++;
	}
	free(addrs);
	free(body);
	return n < 0 ? n : good;
}

static void kmqc_heartbeat_task(void *arg, bool run)
{
	struct kmq_client *c = arg;

	if (!run)
		return;
	__atomic_store_n(&c->hb_queued, false, __ATOMIC_RELAXED);
	kmqc_heartbeat(c);
}

void kmqc_heartbeat_soon(struct kmq_client *c)
{
	if (__atomic_exchange_n(&c->hb_queued, true, __ATOMIC_RELAXED))
		return;
	if (kmqc_wq_post(&c->svc, 0, kmqc_heartbeat_task, c))
		__atomic_store_n(&c->hb_queued, false, __ATOMIC_RELAXED);
}

static void kmqc_heartbeat_timer(void *arg, bool run)
{
	struct kmq_client *c = arg;

	if (!run)
		return;
	kmqc_heartbeat(c);
	kmqc_wq_post(&c->svc, c->cfg.heartbeat_interval_ms,
		     kmqc_heartbeat_timer, c);
}

static void kmqc_route_timer(void *arg, bool run)
{
	struct kmq_client *c = arg;

	if (!run)
		return;
	kmqc_routes_refresh(c);
	kmqc_wq_post(&c->svc, c->cfg.route_interval_ms, kmqc_route_timer, c);
}

void kmqc_client_start_timers(struct kmq_client *c)
{
	if (__atomic_exchange_n(&c->timers_started, true, __ATOMIC_RELAXED))
		return;
	kmqc_wq_post(&c->svc, c->cfg.route_interval_ms, kmqc_route_timer, c);
	if (c->own.hb_build)
		kmqc_wq_post(&c->svc, c->cfg.heartbeat_interval_ms,
			     kmqc_heartbeat_timer, c);
}

void kmqc_unregister(struct kmq_client *c, const char *producer_group,
		     const char *consumer_group)
{
	struct kmqc_addr *addrs = NULL;
	struct kmq_rmt_cmd req;
	int n, i, ret;

	n = kmqc_broker_addrs(c, &addrs);
	for (i = 0; i < n; i++) {
		ret = kmqc_req(c, &req, KMQ_REQ_UNREGISTER_CLIENT);
		if (!ret)
			ret = kmqc_exts(&req, "clientID", c->id,
					"producerGroup", producer_group,
					"consumerGroup", consumer_group, NULL);
		if (!ret)
			ret = kmqc_call_ok(c, addrs[i].s, &req, NULL, 0, 0, NULL,
					   "unregister");
		kmq_rmt_cmd_free(&req);
		if (ret)
			kmqc_dbg("%s: unregister at %s: %s", c->id, addrs[i].s,
				 kmq_errmsg());
	}
	free(addrs);
}
