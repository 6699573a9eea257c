/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqd_backend.h - the one storage interface of kmqd, with two
 * implementations: the userspace store (daemon/store, kmqd_be_user.c) and
 * kmq.ko through /dev/kmq (kmqd_be_kernel.c). Both store the same bytes
 * in the same directory layout; kmqd's protocol code sees no difference
 * except how a pull's records reach the socket: the userspace store
 * returns ranges of its segment files to sendfile() from; kmq.ko prepares
 * the pull (pull_prepare) and sends the whole response frame itself from
 * the page cache (pull_send), and its read returns bytes in memory
 * (kmq_range.fd -1) for the other readers.
 *
 * The calls, types and error codes are those of kmq_store.h, so each
 * implementation answers exactly as the userspace store does: the
 * kernel one maps errnos back to -KMQ_E* codes.
 */
#ifndef KMQD_BACKEND_H
#define KMQD_BACKEND_H

#include "kmq_store.h"

/**
 * struct kmqd_prepared - a pull whose records the backend holds for
 * pull_send (kmq.ko: a PULL_PREPARE handle of the store's fd).
 * @handle: the backend's
 * @body_len: bytes of the records, the response's body
 * @copy: pull_send copies the records (transferMsgByHeap) instead of
 *	lending their pages
 */
struct kmqd_prepared {
	uint32_t handle;
	uint32_t body_len;
	bool copy;
};

enum kmqd_backend_kind {
	KMQD_BACKEND_AUTO = 0,		/* kernel if /dev/kmq exists */
	KMQD_BACKEND_USER,
	KMQD_BACKEND_KERNEL,
};

struct kmqd_store;

/**
 * struct kmqd_backend_ops - one implementation; see kmq_store.h for what
 * each call does, its arguments and its returns.
 * @name: "userspace" or "kernel", as logged at start
 * @release: as kmq_store_release(): reads only each range's seg, so a
 *	range may be released alone from a copy holding just its seg
 * @pull_prepare: optional (NULL: use @read). As @read, but the records
 *	found stay with the backend, in @pp when @res->count is not 0, for
 *	one pull_send or pull_cancel; @copy as kmqd_prepared. -ENOBUFS:
 *	too many prepared at once (use @read)
 * @pull_send: send the response frame of @pp on the non-blocking socket
 *	@sockfd from its byte @off: @hdr and @hdr_len (the frame's length
 *	prefix and header) with @off 0, NULL and 0 after; *@sent is then
 *	the bytes of the frame out. 0 (progress; when the whole frame is
 *	out @pp is gone), -EAGAIN (nothing went: @pp stays), or -errno
 *	(@pp is gone)
 * @pull_cancel: let go of @pp, not (wholly) sent
 * @errmsg: the calling thread's last detailed error message
 */
struct kmqd_backend_ops {
	const char *name;
	int (*open)(const struct kmq_store_config *cfg, void **h);
	void (*close)(void *h);
	int (*topic_create)(void *h, const char *topic, uint32_t queues);
	int (*topic_delete)(void *h, const char *topic);
	int (*topic_config)(void *h, const struct kmq_topic_info *ti);
	int (*topic_info)(void *h, const char *topic,
			  struct kmq_topic_info *out);
	int (*topic_list_info)(void *h,
			       void (*fn)(void *arg,
					  const struct kmq_topic_info *ti),
			       void *arg);
	int (*append)(void *h, const struct kmq_msg *msg,
		      struct kmq_append_result *res);
	int (*append_async)(void *h, const struct kmq_msg *msgs, uint32_t n,
			    struct kmq_append_result *res,
			    kmq_append_done_fn done, void *arg);
	int (*read)(void *h, const struct kmq_read_req *req,
		    struct kmq_range *ranges, uint32_t max_ranges,
		    struct kmq_read_result *res);
	void (*release)(void *h, struct kmq_range *ranges, uint32_t n);
	int (*pull_prepare)(void *h, const struct kmq_read_req *req, bool copy,
			    struct kmq_read_result *res,
			    struct kmqd_prepared *pp);
	int (*pull_send)(void *h, const struct kmqd_prepared *pp, int sockfd,
			 const void *hdr, uint32_t hdr_len, uint64_t off,
			 uint64_t *sent);
	void (*pull_cancel)(void *h, const struct kmqd_prepared *pp);
	int (*queue_offsets)(void *h, const char *topic, uint32_t queue_id,
			     uint64_t *min, uint64_t *max);
	int (*read_at)(void *h, uint64_t phys, void *buf, uint32_t cap);
	int (*flush)(void *h);
	void (*stats)(void *h, struct kmq_store_stats *st);
	const char *(*errmsg)(void);
};

extern const struct kmqd_backend_ops kmqd_backend_user;
extern const struct kmqd_backend_ops kmqd_backend_kernel;

/* struct kmqd_store - an open store and the backend behind it. */
struct kmqd_store {
	const struct kmqd_backend_ops *ops;
	void *h;
};

/**
 * kmqd_store_open() - open the store of @cfg with the backend @kind
 * chooses (AUTO: kernel when /dev/kmq exists, else userspace); the choice
 * and why are logged. Return: 0 or a negative code (kmqd_st_errmsg()).
 */
int kmqd_store_open(enum kmqd_backend_kind kind,
		    const struct kmq_store_config *cfg,
		    struct kmqd_store **out);
void kmqd_store_close(struct kmqd_store *st);

/* kmqd_st_errmsg() - the detailed message of this thread's last failure. */
const char *kmqd_st_errmsg(void);

static inline int kmqd_st_topic_create(struct kmqd_store *st,
				       const char *topic, uint32_t queues)
{
	return st->ops->topic_create(st->h, topic, queues);
}

static inline int kmqd_st_topic_delete(struct kmqd_store *st,
				       const char *topic)
{
	return st->ops->topic_delete(st->h, topic);
}

static inline int kmqd_st_topic_config(struct kmqd_store *st,
				       const struct kmq_topic_info *ti)
{
	return st->ops->topic_config(st->h, ti);
}

static inline int kmqd_st_topic_info(struct kmqd_store *st, const char *topic,
				     struct kmq_topic_info *out)
{
	return st->ops->topic_info(st->h, topic, out);
}

static inline int
kmqd_st_topic_list_info(struct kmqd_store *st,
			void (*fn)(void *arg, const struct kmq_topic_info *ti),
			void *arg)
{
	return st->ops->topic_list_info(st->h, fn, arg);
}

static inline int kmqd_st_append(struct kmqd_store *st,
				 const struct kmq_msg *msg,
				 struct kmq_append_result *res)
{
	return st->ops->append(st->h, msg, res);
}

static inline int kmqd_st_append_async(struct kmqd_store *st,
				       const struct kmq_msg *msgs, uint32_t n,
				       struct kmq_append_result *res,
				       kmq_append_done_fn done, void *arg)
{
	return st->ops->append_async(st->h, msgs, n, res, done, arg);
}

static inline int kmqd_st_read(struct kmqd_store *st,
			       const struct kmq_read_req *req,
			       struct kmq_range *ranges, uint32_t max_ranges,
			       struct kmq_read_result *res)
{
	return st->ops->read(st->h, req, ranges, max_ranges, res);
}

static inline void kmqd_st_release(struct kmqd_store *st,
				   struct kmq_range *ranges, uint32_t n)
{
	st->ops->release(st->h, ranges, n);
}

/* Whether the backend sends prepared pulls itself (pull_prepare). */
static inline bool kmqd_st_can_prepare(struct kmqd_store *st)
{
	return st->ops->pull_prepare;
}

static inline int kmqd_st_pull_prepare(struct kmqd_store *st,
				       const struct kmq_read_req *req,
				       bool copy, struct kmq_read_result *res,
				       struct kmqd_prepared *pp)
{
	return st->ops->pull_prepare(st->h, req, copy, res, pp);
}

static inline int kmqd_st_pull_send(struct kmqd_store *st,
				    const struct kmqd_prepared *pp, int sockfd,
				    const void *hdr, uint32_t hdr_len,
				    uint64_t off, uint64_t *sent)
{
	return st->ops->pull_send(st->h, pp, sockfd, hdr, hdr_len, off, sent);
}

static inline void kmqd_st_pull_cancel(struct kmqd_store *st,
				       const struct kmqd_prepared *pp)
{
	st->ops->pull_cancel(st->h, pp);
}

static inline int kmqd_st_queue_offsets(struct kmqd_store *st,
					const char *topic, uint32_t queue_id,
					uint64_t *min, uint64_t *max)
{
	return st->ops->queue_offsets(st->h, topic, queue_id, min, max);
}

static inline int kmqd_st_read_at(struct kmqd_store *st, uint64_t phys,
				  void *buf, uint32_t cap)
{
	return st->ops->read_at(st->h, phys, buf, cap);
}

static inline int kmqd_st_flush(struct kmqd_store *st)
{
	return st->ops->flush(st->h);
}

static inline void kmqd_st_stats(struct kmqd_store *st,
				 struct kmq_store_stats *s)
{
	st->ops->stats(st->h, s);
}

#endif /* KMQD_BACKEND_H */
