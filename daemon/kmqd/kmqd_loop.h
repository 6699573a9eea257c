/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqd_loop.h - kmqd's event loops: one thread per loop, each with its own
 * io_uring, its own listening sockets (SO_REUSEPORT, so the kernel spreads
 * connections over the loops) and the connections it accepted. A
 * connection lives on one loop for its whole life; shared state (routes,
 * topics, consumer groups) is locked by its owner.
 *
 * Other threads reach a loop by posting a function to it
 * (kmqd_loop_post()), which runs on the loop thread.
 */
#ifndef KMQD_LOOP_H
#define KMQD_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "kmq_remoting.h"

struct kmqd_loop;
struct kmqd_conn;

/*
 * struct kmqd_service - one role (name server, broker) behind a
 * listening port.
 * @name: for logs
 * @handle: called on the loop thread for every request decoded on one of
 *	its connections; owns nothing of @req after returning
 * @closed: a connection of this service is going away (may be NULL)
 * @tick: every 250 ms on every loop (may be NULL)
 */
struct kmqd_service {
	const char *name;
	void (*handle)(struct kmqd_conn *c, struct kmq_rmt_cmd *req);
	void (*closed)(struct kmqd_conn *c);
	void (*tick)(struct kmqd_loop *l, uint64_t now_ms);
	void *priv;
};

/* Called with the response to a request sent by kmqd_conn_request(). */
typedef void (*kmqd_reply_fn)(struct kmqd_conn *c, struct kmq_rmt_cmd *resp,
			      void *arg);

/* kmqd_mono_ms() - CLOCK_MONOTONIC in milliseconds, kmqd's one clock for timeouts. */
uint64_t kmqd_mono_ms(void);

int kmqd_loops_start(unsigned int n);
/* kmqd_listen() - listen on @addr:@port on every loop for @svc. */
int kmqd_listen(const char *addr, uint16_t port, struct kmqd_service *svc);
void kmqd_loops_stop(void);
void kmqd_loops_join(void);
unsigned int kmqd_loop_count(void);
struct kmqd_loop *kmqd_loop_get(unsigned int i);
unsigned int kmqd_loop_index(struct kmqd_loop *l);

/* kmqd_loop_post() - run @fn(@arg) on @l's thread, soon. */
int kmqd_loop_post(struct kmqd_loop *l, void (*fn)(void *arg), void *arg);

/*
 * kmqd_conn_reply() - queue @resp's frame and @body_len bytes of @body on
 * @c (loop thread only). A connection whose queued output exceeds the
 * limit (the peer stopped reading) is closed.
 */
int kmqd_conn_reply(struct kmqd_conn *c, const struct kmq_rmt_cmd *resp,
		    const void *body, uint32_t body_len);
/* kmqd_conn_replyv() - the same with a body in pieces (e.g. store ranges). */
int kmqd_conn_replyv(struct kmqd_conn *c, const struct kmq_rmt_cmd *resp,
		     const struct iovec *iov, unsigned int n);

/**
 * struct kmqd_file_range - bytes of a file to send as they are.
 * @fd: the file (a commitlog segment)
 * @off: offset of the first byte
 * @len: byte count
 * @release: called once the bytes are sent or the connection is gone,
 *	on any thread (unpins the segment)
 * @arg: for @release
 */
struct kmqd_file_range {
	int fd;
	uint64_t off;
	uint32_t len;
	void (*release)(void *arg);
	void *arg;
};

/*
 * kmqd_conn_reply_files() - queue @resp's frame with a body made of @n
 * file ranges, sent with sendfile(): the page-cache pages go to the
 * socket by reference, nothing is copied into kmqd. On success each
 * range's @release is called once it is sent (or dropped with the
 * connection); on error none is called and nothing was queued.
 */
int kmqd_conn_reply_files(struct kmqd_conn *c, const struct kmq_rmt_cmd *resp,
			  const struct kmqd_file_range *r, unsigned int n);

/**
 * struct kmqd_frame_sender - a reply whose whole frame (its start, then
 * a body the store holds) a backend sends itself: kmq.ko's PULL_SEND,
 * which lends page-cache pages to the socket.
 * @send: send the frame from its byte @off on the non-blocking socket
 *	@sockfd; @hdr and @hdr_len are the frame's start (length prefix and
 *	header) when @off is 0, NULL and 0 after. Sets *@sent to the bytes
 *	of the frame out so far. Return: 0 (progress, maybe the whole
 *	frame), -EAGAIN (nothing went: wait for room), or another -errno
 *	(the connection closes)
 * @done: called once: @whole when the frame is out (loop thread), else
 *	the reply was dropped with its connection (any thread) and the
 *	backend lets go of the body
 * @arg: for both
 * @cookie: for both (the backend's handle)
 * @body_len: bytes of the body
 * @zero_copy: the body goes by reference (counted with sendfile's bytes),
 *	not copied
 */
struct kmqd_frame_sender {
	int (*send)(void *arg, uint64_t cookie, int sockfd, const void *hdr,
		    uint32_t hdr_len, uint64_t off, uint64_t *sent);
	void (*done)(void *arg, uint64_t cookie, bool whole);
	void *arg;
	uint64_t cookie;
	uint32_t body_len;
	bool zero_copy;
};

/*
 * kmqd_conn_reply_sender() - queue @resp's frame with a body of
 * @s->body_len bytes that @s sends: its first call comes when every byte
 * queued before it is out, on the loop thread, and right away when the
 * connection has nothing queued (one system call for the whole frame).
 * On success @s->done is called once; on error it is not, nothing was
 * queued and the caller still owns the body.
 */
int kmqd_conn_reply_sender(struct kmqd_conn *c, const struct kmq_rmt_cmd *resp,
			   const struct kmqd_frame_sender *s);

/*
 * kmqd_delivery_stats() - record bytes sent to consumers since start: by
 * reference (zero copy: sendfile, or kmq.ko's PULL_SEND) and copied
 * through a send buffer.
 */
void kmqd_delivery_stats(uint64_t *sendfile_bytes, uint64_t *copy_bytes);

/*
 * kmqd_conn_connect() - open an outbound connection from loop @l (its
 * thread only) to @addr ("host:port"); @svc handles requests the peer
 * sends. Responses go to the callbacks given to kmqd_conn_request().
 */
struct kmqd_conn *kmqd_conn_connect(struct kmqd_loop *l, const char *addr,
				    struct kmqd_service *svc);
/* kmqd_conn_request() - send @req with a fresh opaque; @fn gets the reply. */
int kmqd_conn_request(struct kmqd_conn *c, struct kmq_rmt_cmd *req,
		      const void *body, uint32_t body_len, kmqd_reply_fn fn,
		      void *arg);
void kmqd_conn_close(struct kmqd_conn *c);
bool kmqd_conn_is_open(const struct kmqd_conn *c);

struct kmqd_loop *kmqd_conn_loop(struct kmqd_conn *c);
/* "ip:port" of the peer. */
const char *kmqd_conn_peer(const struct kmqd_conn *c);
/* Per-connection slot for the service's own state. */
void *kmqd_conn_priv(struct kmqd_conn *c);
void kmqd_conn_set_priv(struct kmqd_conn *c, void *priv);
/* A reference keeps the connection's memory (not the socket) alive. */
void kmqd_conn_get(struct kmqd_conn *c);
void kmqd_conn_put(struct kmqd_conn *c);

#endif /* KMQD_LOOP_H */
