// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_genl.c - the "kmq" generic netlink family (uapi/kmq_genl.h):
 * stores, topics and statistics for tools that speak netlink, and a
 * multicast group of events.
 *
 * Requests are strictly validated against one family policy; the topic
 * changes need CAP_NET_ADMIN (GENL_ADMIN_PERM). Registered with genl_ops,
 * a family policy and resv_start_op, which 6.1 and 6.12 both take.
 *
 * Events are built only while someone listens. ARRIVED is coalesced: an
 * append marks its queues (s->evt_queues) and kicks a delayed work one
 * tick later, which sends one event per marked queue with its max offset
 * at that moment - never one event per message under load. FLUSHED is
 * coalesced the same way; ROLLED and DETACHED are sent as they happen.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/rbtree.h>
#include <linux/skbuff.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netlink.h>

#include "kmq.h"
#include "kmq_compat.h"
#include "kmq_genl.h"

#define KMQ_GRP_EVENTS	0	/* index in kmq_genl_mcgrps */

static const struct nla_policy kmq_genl_policy[KMQ_A_MAX + 1] = {
	[KMQ_A_STORE_ID]	= { .type = NLA_U32 },
	[KMQ_A_STORE_NAME]	= { .type = NLA_NUL_STRING,
				    .len = KMQ_STORE_NAME_MAX - 1 },
	[KMQ_A_TOPIC]		= { .type = NLA_NUL_STRING,
				    .len = KMQ_TOPIC_NAME_MAX - 1 },
	[KMQ_A_READ_QUEUES]	= NLA_POLICY_RANGE(NLA_U32, 1, KMQ_QUEUES_MAX),
	[KMQ_A_WRITE_QUEUES]	= NLA_POLICY_RANGE(NLA_U32, 1, KMQ_QUEUES_MAX),
	[KMQ_A_PERM]		= NLA_POLICY_MASK(NLA_U32,
						  KMQ_TOPIC_PERM_MASK),
};

static struct genl_family kmq_genl_family;

/**
 * kmq_genl_listening() - whether anyone listens to the event group.
 *
 * Return: true if events should be built.
 */
bool kmq_genl_listening(void)
{
	return genl_has_listeners(&kmq_genl_family, &init_net, KMQ_GRP_EVENTS);
}

/* The store a request names, with a reference; extack says why not. */
static struct kmq_kstore *kmq_nl_store(struct nlattr **attrs,
				       struct netlink_ext_ack *extack,
				       int *err)
{
	struct kmq_kstore *s = NULL;
	struct nlattr *a;

	if (attrs[KMQ_A_STORE_ID]) {
		a = attrs[KMQ_A_STORE_ID];
		s = kmq_store_lookup(nla_get_u32(a) ?: U32_MAX, NULL);
	} else if (attrs[KMQ_A_STORE_NAME]) {
		a = attrs[KMQ_A_STORE_NAME];
		s = kmq_store_lookup(0, nla_data(a));
	} else {
		NL_SET_ERR_MSG(extack, "store id or name required");
		*err = -EINVAL;
		return NULL;
	}
	if (!s) {
		NL_SET_ERR_MSG_ATTR(extack, a, "no such store");
		*err = -ENOENT;
		return NULL;
	}
	*err = kmq_store_enter(s);
	if (*err) {
		NL_SET_ERR_MSG_ATTR(extack, a, "store detached");
		kmq_store_put(s);
		return NULL;
	}
	return s;
}

static void kmq_nl_store_done(struct kmq_kstore *s)
{
	kmq_store_leave(s);
	kmq_store_put(s);
}

static int kmq_nl_put_store(struct sk_buff *skb, struct kmq_kstore *s)
{
	struct kmq_store_info si = {};

	kmq_store_fill_info(s, &si);
	if (nla_put_u32(skb, KMQ_A_STORE_ID, si.store_id) ||
	    nla_put_string(skb, KMQ_A_STORE_NAME, s->name) ||
	    nla_put_string(skb, KMQ_A_STORE_PATH, s->path_str ?: "") ||
	    nla_put_u32(skb, KMQ_A_FLUSH_MODE, si.flush_mode) ||
	    nla_put_u64_64bit(skb, KMQ_A_SEGMENT_SIZE, si.segment_size,
			      KMQ_A_PAD) ||
	    nla_put_u32(skb, KMQ_A_RING_SEGMENTS, si.ring_segments) ||
	    nla_put_u32(skb, KMQ_A_SEGMENTS, si.segments) ||
	    nla_put_u64_64bit(skb, KMQ_A_RETENTION_MS, si.retention_ms,
			      KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_MIN_OFFSET, si.min_offset,
			      KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_WRITE_OFFSET, si.write_offset,
			      KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_FLUSHED_OFFSET, si.flushed_offset,
			      KMQ_A_PAD) ||
	    nla_put_u32(skb, KMQ_A_TOPICS, si.topics))
		return -EMSGSIZE;
	return 0;
}

static int kmq_nl_put_stats(struct sk_buff *skb, struct kmq_kstore *s)
{
	struct kmq_store_info si = {};

	kmq_store_fill_info(s, &si);
	if (nla_put_u32(skb, KMQ_A_STORE_ID, si.store_id) ||
	    nla_put_string(skb, KMQ_A_STORE_NAME, s->name) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_APPENDS, si.appends,
			      KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_APPEND_BYTES, si.append_bytes,
			      KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_READS, si.reads, KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_READ_BYTES, si.read_bytes,
			      KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_SPLICE_BYTES, si.splice_bytes,
			      KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_COPY_BYTES, si.copy_bytes,
			      KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_ERRORS, si.errors, KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_PULLS, si.pulls, KMQ_A_PAD) ||
	    nla_put_u64_64bit(skb, KMQ_A_STAT_PULL_SENDS, si.pull_sends,
			      KMQ_A_PAD))
		return -EMSGSIZE;
	return 0;
}

/* A topic's configuration (s->lock held); with its queues for doit. */
static int kmq_nl_put_topic(struct sk_buff *skb, struct kmq_kstore *s,
			    struct kmq_ktopic *t, bool queues)
{
	u32 i;

	if (nla_put_u32(skb, KMQ_A_STORE_ID, s->id) ||
	    nla_put_string(skb, KMQ_A_TOPIC, t->name) ||
	    nla_put_u32(skb, KMQ_A_READ_QUEUES, t->read_queues) ||
	    nla_put_u32(skb, KMQ_A_WRITE_QUEUES, t->write_queues) ||
	    nla_put_u32(skb, KMQ_A_PERM, t->perm))
		return -EMSGSIZE;
	if (!queues)
		return 0;
	for (i = 0; i < max(t->nqueues, t->nallocated); i++) {
		struct kmq_kqueue *q = i < t->nallocated ? t->queues[i] : NULL;
		struct nlattr *nest = nla_nest_start(skb, KMQ_A_QUEUE);

		if (!nest ||
		    nla_put_u32(skb, KMQ_A_QUEUE_ID, i) ||
		    nla_put_u64_64bit(skb, KMQ_A_MIN_OFFSET, q ? q->min : 0,
				      KMQ_A_PAD) ||
		    nla_put_u64_64bit(skb, KMQ_A_MAX_OFFSET, q ? q->max : 0,
				      KMQ_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	return 0;
}

static int kmq_nl_reply(struct genl_info *info, size_t size, u8 cmd,
			int (*fill)(struct sk_buff *, void *), void *arg)
{
	struct sk_buff *msg = genlmsg_new(size, GFP_KERNEL);
	void *hdr;
	int ret;

	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kmq_genl_family, 0, cmd);
	if (!hdr) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	ret = fill(msg, arg);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int kmq_nl_fill_store(struct sk_buff *skb, void *arg)
{
	return kmq_nl_put_store(skb, arg);
}

static int kmq_nl_fill_stats(struct sk_buff *skb, void *arg)
{
	return kmq_nl_put_stats(skb, arg);
}

static int kmq_nl_store_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_kstore *s;
	int ret;

	s = kmq_nl_store(info->attrs, info->extack, &ret);
	if (!s)
		return ret;
	ret = kmq_nl_reply(info, NLMSG_DEFAULT_SIZE, KMQ_CMD_STORE_GET,
			   kmq_nl_fill_store, s);
	kmq_nl_store_done(s);
	return ret;
}

static int kmq_nl_store_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	u32 n = cb->args[0];
	struct kmq_kstore *s;

	while ((s = kmq_store_nth(n))) {
		void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, &kmq_genl_family,
					NLM_F_MULTI, KMQ_CMD_STORE_GET);
		int ret = hdr ? kmq_nl_put_store(skb, s) : -EMSGSIZE;

		kmq_store_put(s);
		if (ret) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		n++;
	}
	cb->args[0] = n;
	return skb->len;
}

static int kmq_nl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_kstore *s;
	int ret;

	s = kmq_nl_store(info->attrs, info->extack, &ret);
	if (!s)
		return ret;
	ret = kmq_nl_reply(info, NLMSG_DEFAULT_SIZE, KMQ_CMD_STATS_GET,
			   kmq_nl_fill_stats, s);
	kmq_nl_store_done(s);
	return ret;
}

/* KMQ_A_TOPIC of a request, checked against RocketMQ's rule. */
static const char *kmq_nl_topic(struct genl_info *info)
{
	struct nlattr *a = info->attrs[KMQ_A_TOPIC];

	if (!a) {
		NL_SET_ERR_MSG(info->extack, "topic required");
		return NULL;
	}
	if (kmq_topic_name_len(nla_data(a), nla_len(a)) < 0) {
		NL_SET_ERR_MSG_ATTR(info->extack, a,
				    "topic name: [%|a-zA-Z0-9_-], 1 to 127 bytes");
		return NULL;
	}
	return nla_data(a);
}

struct kmq_nl_topic_arg {
	struct kmq_kstore *s;
	struct kmq_ktopic *t;
};

static int kmq_nl_fill_topic(struct sk_buff *skb, void *arg)
{
	struct kmq_nl_topic_arg *ta = arg;
	int ret;

	mutex_lock(&ta->s->lock);
	ret = kmq_nl_put_topic(skb, ta->s, ta->t, true);
	mutex_unlock(&ta->s->lock);
	return ret;
}

static int kmq_nl_topic_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_nl_topic_arg ta;
	const char *name;
	int ret;

	name = kmq_nl_topic(info);
	if (!name)
		return -EINVAL;
	ta.s = kmq_nl_store(info->attrs, info->extack, &ret);
	if (!ta.s)
		return ret;
	ta.t = kmq_topic_get(ta.s, name);
	if (!ta.t) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[KMQ_A_TOPIC],
				    "no such topic");
		ret = -ENOENT;
	} else {
		ret = kmq_nl_reply(info, NLMSG_DEFAULT_SIZE +
				   (size_t)KMQ_QUEUES_MAX * 48,
				   KMQ_CMD_TOPIC_GET, kmq_nl_fill_topic, &ta);
		kmq_topic_put(ta.t);
	}
	kmq_nl_store_done(ta.s);
	return ret;
}

static int kmq_nl_topic_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = kmq_genl_dump_attrs(cb);
	u32 skip = cb->args[0], i = 0;
	struct kmq_kstore *s;
	struct rb_node *n;
	int ret;

	s = kmq_nl_store(attrs, cb->extack, &ret);
	if (!s)
		return ret;
	mutex_lock(&s->lock);
	for (n = rb_first(&s->topics); n; n = rb_next(n), i++) {
		struct kmq_ktopic *t = rb_entry(n, struct kmq_ktopic, node);
		void *hdr;

		if (i < skip)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &kmq_genl_family,
				  NLM_F_MULTI, KMQ_CMD_TOPIC_GET);
		if (!hdr)
			break;
		if (kmq_nl_put_topic(skb, s, t, false)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&s->lock);
	kmq_nl_store_done(s);
	cb->args[0] = i;
	return skb->len;
}

static int kmq_nl_topic_set(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_topic kt = { .size = sizeof(kt) };
	struct kmq_kstore *s;
	const char *name;
	int ret;

	name = kmq_nl_topic(info);
	if (!name)
		return -EINVAL;
	if (GENL_REQ_ATTR_CHECK(info, KMQ_A_READ_QUEUES) ||
	    GENL_REQ_ATTR_CHECK(info, KMQ_A_WRITE_QUEUES))
		return -EINVAL;
	strscpy(kt.name, name, sizeof(kt.name));
	kt.read_queues = nla_get_u32(info->attrs[KMQ_A_READ_QUEUES]);
	kt.write_queues = nla_get_u32(info->attrs[KMQ_A_WRITE_QUEUES]);
	kt.perm = info->attrs[KMQ_A_PERM] ?
		  nla_get_u32(info->attrs[KMQ_A_PERM]) : KMQ_TOPIC_PERM_MASK;
	s = kmq_nl_store(info->attrs, info->extack, &ret);
	if (!s)
		return ret;
	ret = kmq_topic_set(s, &kt);
	if (ret)
		NL_SET_ERR_MSG(info->extack, "topic table not saved");
	kmq_nl_store_done(s);
	return ret;
}

static int kmq_nl_topic_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_kstore *s;
	const char *name;
	int ret;

	name = kmq_nl_topic(info);
	if (!name)
		return -EINVAL;
	s = kmq_nl_store(info->attrs, info->extack, &ret);
	if (!s)
		return ret;
	ret = kmq_topic_del(s, name);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[KMQ_A_TOPIC],
				    "no such topic");
	kmq_nl_store_done(s);
	return ret;
}

static const struct genl_ops kmq_genl_ops[] = {
	{
		.cmd	= KMQ_CMD_STORE_GET,
		.doit	= kmq_nl_store_get,
		.dumpit	= kmq_nl_store_dump,
	},
	{
		.cmd	= KMQ_CMD_TOPIC_GET,
		.doit	= kmq_nl_topic_get,
		.dumpit	= kmq_nl_topic_dump,
	},
	{
		.cmd	= KMQ_CMD_TOPIC_SET,
		.doit	= kmq_nl_topic_set,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= KMQ_CMD_TOPIC_DEL,
		.doit	= kmq_nl_topic_del,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= KMQ_CMD_STATS_GET,
		.doit	= kmq_nl_stats_get,
	},
};

static const struct genl_multicast_group kmq_genl_mcgrps[] = {
	[KMQ_GRP_EVENTS] = { .name = KMQ_MCGRP_EVENTS },
};

static struct genl_family kmq_genl_family __ro_after_init = {
	.name		= KMQ_GENL_NAME,
	.version	= KMQ_GENL_VERSION,
	.maxattr	= KMQ_A_MAX,
	.policy		= kmq_genl_policy,
	.module		= THIS_MODULE,
	.parallel_ops	= true,
	.ops		= kmq_genl_ops,
	.n_ops		= ARRAY_SIZE(kmq_genl_ops),
	.resv_start_op	= KMQ_CMD_STATS_GET + 1,
	.mcgrps		= kmq_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(kmq_genl_mcgrps),
};

/* A new event message for @s, or NULL (no memory, no room). */
static struct sk_buff *kmq_evt_new(struct kmq_kstore *s, u8 cmd, void **hdr)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);

	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &kmq_genl_family, 0, cmd);
	if (!*hdr || nla_put_u32(skb, KMQ_A_STORE_ID, s->id)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

static void kmq_evt_send(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&kmq_genl_family, skb, 0, KMQ_GRP_EVENTS, GFP_KERNEL);
}

/**
 * kmq_evt_arrived() - note that @q's max offset moved (s->lock held).
 * @s: store
 * @q: queue
 */
void kmq_evt_arrived(struct kmq_kstore *s, struct kmq_kqueue *q)
{
	if (list_empty(&q->evt_node))
		list_add_tail(&q->evt_node, &s->evt_queues);
}

/**
 * kmq_evt_kick() - have the event work run one tick from now, unless it
 * is due already (that is the coalescing).
 * @s: store
 */
void kmq_evt_kick(struct kmq_kstore *s)
{
	if (!READ_ONCE(s->detaching))
		queue_delayed_work(kmq_wq, &s->evt_work, 1);
}

/**
 * kmq_evt_flushed() - note that the flushed offset moved.
 * @s: store
 */
void kmq_evt_flushed(struct kmq_kstore *s)
{
	WRITE_ONCE(s->evt_flushed, true);
	kmq_evt_kick(s);
}

/**
 * kmq_evt_work() - send the ARRIVED and FLUSHED events due: one per
 * marked queue with its max offset now, one FLUSHED with the flushed
 * offset now.
 * @work: s->evt_work
 */
void kmq_evt_work(struct work_struct *work)
{
	struct kmq_kstore *s = container_of(to_delayed_work(work),
					    struct kmq_kstore, evt_work);
	struct sk_buff_head q;
	struct sk_buff *skb;
	void *hdr;

	__skb_queue_head_init(&q);
	mutex_lock(&s->lock);
	while (!list_empty(&s->evt_queues)) {
		struct kmq_kqueue *kq = list_first_entry(&s->evt_queues,
							 struct kmq_kqueue,
							 evt_node);

		list_del_init(&kq->evt_node);
		skb = kmq_evt_new(s, KMQ_EVT_ARRIVED, &hdr);
		if (!skb)
			continue;
		if (nla_put_string(skb, KMQ_A_TOPIC, kq->topic->name) ||
		    nla_put_u32(skb, KMQ_A_QUEUE_ID, kq->id) ||
		    nla_put_u64_64bit(skb, KMQ_A_MAX_OFFSET, kq->max,
				      KMQ_A_PAD)) {
			nlmsg_free(skb);
			continue;
		}
		genlmsg_end(skb, hdr);
		__skb_queue_tail(&q, skb);
	}
	mutex_unlock(&s->lock);
	while ((skb = __skb_dequeue(&q)))
		genlmsg_multicast(&kmq_genl_family, skb, 0, KMQ_GRP_EVENTS,
				  GFP_KERNEL);

	if (READ_ONCE(s->evt_flushed)) {
		WRITE_ONCE(s->evt_flushed, false);
		skb = kmq_evt_new(s, KMQ_EVT_FLUSHED, &hdr);
		if (skb && nla_put_u64_64bit(skb, KMQ_A_FLUSHED_OFFSET,
					     READ_ONCE(s->flushed), KMQ_A_PAD))
			nlmsg_free(skb);
		else if (skb)
			kmq_evt_send(skb, hdr);
	}
}

/**
 * kmq_evt_rolled() - the writer moved into the segment at @start.
 * @s: store
 * @start: the new segment's start offset
 */
void kmq_evt_rolled(struct kmq_kstore *s, u64 start)
{
	struct sk_buff *skb;
	void *hdr;

	if (!kmq_genl_listening())
		return;
	skb = kmq_evt_new(s, KMQ_EVT_ROLLED, &hdr);
	if (!skb)
		return;
	if (nla_put_u64_64bit(skb, KMQ_A_SEG_START, start, KMQ_A_PAD)) {
		nlmsg_free(skb);
		return;
	}
	kmq_evt_send(skb, hdr);
}

/**
 * kmq_evt_detached() - @s is detached.
 * @s: store
 */
void kmq_evt_detached(struct kmq_kstore *s)
{
	struct sk_buff *skb;
	void *hdr;

	if (!kmq_genl_listening())
		return;
	skb = kmq_evt_new(s, KMQ_EVT_DETACHED, &hdr);
	if (!skb)
		return;
	if (nla_put_string(skb, KMQ_A_STORE_NAME, s->name)) {
		nlmsg_free(skb);
		return;
	}
	kmq_evt_send(skb, hdr);
}

int kmq_genl_init(void)
{
	return genl_register_family(&kmq_genl_family);
}

void kmq_genl_exit(void)
{
	genl_unregister_family(&kmq_genl_family);
}

MODULE_ALIAS_GENL_FAMILY(KMQ_GENL_NAME);
