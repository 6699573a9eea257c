/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_nl.h - libnl-genl-3 helpers for the selftests of the "kmq" generic
 * netlink family (uapi/kmq_genl.h): a request socket, requests with
 * their netlink error as a negated errno, dumps, and an event socket on
 * the "events" multicast group.
 */
#ifndef KMQ_NL_H
#define KMQ_NL_H

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "kmq_genl.h"

/**
 * struct kmq_nl - a generic netlink socket and the family's id.
 * @sk: the socket
 * @family: resolved id of "kmq" (negative libnl error if it failed)
 */
struct kmq_nl {
	struct nl_sock *sk;
	int family;
};

/*
 * Callback for each message of a reply or event: @tb indexed by KMQ_A_*
 * (the last of repeated attributes), @nlh to walk repeated ones.
 */
typedef void (*kmq_nl_fn)(int cmd, struct nlattr **tb, struct nlmsghdr *nlh,
			  void *arg);

struct kmq_nl_wait {
	int err;	/* the netlink error, a negated errno */
	int done;
	int msgs;
	kmq_nl_fn fn;
	void *arg;
};

static inline int kmq_nl_open(struct kmq_nl *nl)
{
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	if (genl_connect(nl->sk))
		return -ECONNREFUSED;
	nl->family = genl_ctrl_resolve(nl->sk, KMQ_GENL_NAME);
	return nl->family < 0 ? -ENOENT : 0;
}

static inline void kmq_nl_close(struct kmq_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

static inline int kmq_nl_valid(struct nl_msg *msg, void *arg)
{
	struct kmq_nl_wait *w = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *tb[KMQ_A_MAX + 1];

	w->msgs++;
	if (genlmsg_parse(nlh, 0, tb, KMQ_A_MAX, NULL))
		return NL_SKIP;
	if (w->fn)
		w->fn(gnlh->cmd, tb, nlh, w->arg);
	return NL_OK;
}

static inline int kmq_nl_error(struct sockaddr_nl *nla, struct nlmsgerr *e,
			       void *arg)
{
	struct kmq_nl_wait *w = arg;

	w->err = e->error;
	w->done = 1;
	return NL_STOP;
}

/* Events carry sequence number 0: no sequence check on their socket. */
static inline int kmq_nl_no_seq_check(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static inline int kmq_nl_done(struct nl_msg *msg, void *arg)
{
	struct kmq_nl_wait *w = arg;

	w->done = 1;
	return NL_STOP;
}

/**
 * kmq_nl_count() - how many top-level attributes of @type @nlh has, each
 * handed to @fn (may be NULL).
 */
static inline int kmq_nl_count(struct nlmsghdr *nlh, int type,
			       void (*fn)(struct nlattr *a, void *arg),
			       void *arg)
{
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *a;
	int rem, n = 0;

	nla_for_each_attr(a, genlmsg_attrdata(gnlh, 0),
			  genlmsg_attrlen(gnlh, 0), rem) {
		if (nla_type(a) != type)
			continue;
		n++;
		if (fn)
			fn(a, arg);
	}
	return n;
}

/* A new request of @cmd; NLM_F_DUMP in @flags makes it a dump. */
static inline struct nl_msg *kmq_nl_msg(struct kmq_nl *nl, int cmd,
					int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family,
				0, flags | NLM_F_ACK, cmd, KMQ_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/**
 * kmq_nl_call() - send @msg (freed) and wait for the whole answer.
 * @fn: called for each message of the answer (may be NULL)
 * Return: 0, or the netlink error as a negated errno.
 */
static inline int kmq_nl_call(struct kmq_nl *nl, struct nl_msg *msg,
			      kmq_nl_fn fn, void *arg)
{
	struct kmq_nl_wait w = { .fn = fn, .arg = arg };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb || !msg) {
		nlmsg_free(msg);
		nl_cb_put(cb);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, kmq_nl_valid, &w);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, kmq_nl_done, &w);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, kmq_nl_done, &w);
	nl_cb_err(cb, NL_CB_CUSTOM, kmq_nl_error, &w);
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	while (ret >= 0 && !w.done)
		ret = nl_recvmsgs(nl->sk, cb);
	nl_cb_put(cb);
	if (ret < 0 && !w.err)
		return -EIO;
	return w.err;
}

/**
 * kmq_nl_events() - a socket on the events group.
 * Return: 0 or a negated errno.
 */
static inline int kmq_nl_events(struct kmq_nl *nl)
{
	int grp, ret = kmq_nl_open(nl);

	if (ret)
		return ret;
	grp = genl_ctrl_resolve_grp(nl->sk, KMQ_GENL_NAME, KMQ_MCGRP_EVENTS);
	if (grp < 0)
		return -ENOENT;
	nl_socket_disable_seq_check(nl->sk);
	if (nl_socket_add_membership(nl->sk, grp))
		return -EPERM;
	nl_socket_set_nonblocking(nl->sk);
	return 0;
}

/**
 * kmq_nl_drain() - deliver the events that arrive within @ms to @fn.
 * Return: the number of messages.
 */
static inline int kmq_nl_drain(struct kmq_nl *nl, int ms, kmq_nl_fn fn,
			       void *arg)
{
	struct kmq_nl_wait w = { .fn = fn, .arg = arg };
	struct pollfd p = { .fd = nl_socket_get_fd(nl->sk), .events = POLLIN };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return 0;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, kmq_nl_valid, &w);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, kmq_nl_no_seq_check, NULL);
	while (poll(&p, 1, ms) > 0)
		if (nl_recvmsgs(nl->sk, cb) < 0)
			break;
	nl_cb_put(cb);
	return w.msgs;
}

#endif /* KMQ_NL_H */
