// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_ksend.c - KMQ_IOC_PULL_SEND: a prepared pull's response into a
 * connected TCP socket, the records straight from the page cache.
 *
 * The response is the caller's header (the remoting frame's prefix and
 * header, copied in: it is small) and then the pull's ranges. Record
 * bytes are never copied by the CPU: each page-cache page is looked up
 * (kmq_vfs_folio()) and lent to TCP, which takes its own reference
 * (kmq_compat.h: MSG_SPLICE_PAGES over a bvec, or sendpage before 6.5).
 * With KMQ_PULL_SEND_COPY the same pages go through an ordinary sendmsg
 * instead, which copies them (RocketMQ's transferMsgByHeap).
 *
 * A send goes as far as the socket takes. The pull remembers how far
 * (@sent), so a non-blocking caller resumes where it stopped and the
 * peer never sees a frame cut short unless the connection dies. Up to
 * KMQ_SEND_PAGES pages go per sendmsg; MSG_MORE is set until the last
 * byte of the response, so TCP packs header and records into full
 * segments.
 *
 * Pages stay the records' after the send: TCP may hold them (retransmit
 * queue, a loopback peer's receive queue) long after the pull is freed;
 * the ring punches a reused segment's pages out of the page cache, so
 * the new records go to new pages and the held ones keep the old bytes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/in.h>
#include <linux/net.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "kmq.h"
#include "kmq_compat.h"

#define KMQ_SEND_PAGES	16	/* page pieces per sendmsg */

/* The socket of @fd if it is a TCP one. */
static struct socket *kmq_tcp_lookup(int fd, int *err)
{
	struct socket *sock = sockfd_lookup(fd, err);
	struct sock *sk;

	if (!sock)
		return NULL;
	sk = sock->sk;
	if (sock->type != SOCK_STREAM || !sk ||
	    sk->sk_protocol != IPPROTO_TCP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)) {
		sockfd_put(sock);
		*err = -EOPNOTSUPP;
		return NULL;
	}
	return sock;
}

/* Send the rest of the header; bytes taken or -errno. */
static int kmq_send_hdr(struct kmq_kpull *h, struct socket *sock, int flags,
			u32 *want)
{
	struct msghdr msg = { .msg_flags = flags | MSG_MORE };
	struct kvec kv = {
		.iov_base = h->hdr + h->sent,
		.iov_len = h->hdr_len - h->sent,
	};

	*want = kv.iov_len;
	return kernel_sendmsg(sock, &msg, &kv, 1, kv.iov_len);
}

/* An ordinary sendmsg of the pieces: TCP copies them. */
static int kmq_sock_send_copy(struct socket *sock, struct bio_vec *bv,
			      unsigned int n, size_t len, int flags)
{
	struct msghdr msg = { .msg_flags = flags };

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, n, len);
	return sock_sendmsg(sock, &msg);
}

/*
 * Send up to KMQ_SEND_PAGES page pieces of the body from where @h
 * stands; bytes taken or -errno. *@want: bytes offered.
 */
static int kmq_send_body(struct kmq_kpull *h, struct socket *sock, int flags,
			 bool copy, u32 *want)
{
	struct folio *folios[KMQ_SEND_PAGES];
	struct bio_vec bv[KMQ_SEND_PAGES];
	u64 off = h->sent - h->hdr_len, in;
	unsigned int n = 0, i;
	u32 idx, bytes = 0;
	int ret = 0;

	idx = kmq_pull_locate(h->ranges, h->nranges, off, &in);
	while (idx < h->nranges && n < KMQ_SEND_PAGES) {
		const struct kmq_prange *r = &h->ranges[idx];
		struct file *f = r->seg->file;
		u64 pos = r->pos + in;
		struct folio *folio;
		u32 piece;

		folio = kmq_vfs_folio(f, pos);
		if (IS_ERR(folio)) {
			ret = PTR_ERR(folio);
			break;
		}
		piece = min_t(u64, PAGE_SIZE - offset_in_page(pos),
			      r->len - in);
		bvec_set_page(&bv[n], folio_file_page(folio, pos >> PAGE_SHIFT),
			      piece, offset_in_page(pos));
		folios[n++] = folio;
		bytes += piece;
		in += piece;
		if (in == r->len) {
			idx++;
			in = 0;
		}
	}
	*want = bytes;
	if (n) {
		if (off + bytes < h->body_len)
			flags |= MSG_MORE;
		ret = copy ? kmq_sock_send_copy(sock, bv, n, bytes, flags) :
			     kmq_sock_send_pages(sock, bv, n, bytes, flags);
	}
	for (i = 0; i < n; i++)
		folio_put(folios[i]);
	return ret;
}

/*
 * Send from @h->sent on until the response is out or the socket takes
 * less than offered. Return: bytes sent by this call if any, else the
 * error (-EAGAIN when the socket took nothing).
 */
static ssize_t kmq_send_run(struct kmq_kpull *h, struct socket *sock,
			    int flags, bool copy)
{
	u64 total = (u64)h->hdr_len + h->body_len, start = h->sent;
	u64 body_before = start > h->hdr_len ? start - h->hdr_len : 0;
	u64 body;
	int ret = 0;

	while (h->sent < total) {
		u32 want;

		if (h->sent < h->hdr_len)
			ret = kmq_send_hdr(h, sock, flags, &want);
		else
			ret = kmq_send_body(h, sock, flags, copy, &want);
		if (ret <= 0)
			break;
		h->sent += ret;
		if ((u32)ret < want)
			break;
		cond_resched();
	}
	body = (h->sent > h->hdr_len ? h->sent - h->hdr_len : 0) - body_before;
	if (body)
		atomic64_add(body, copy ? &h->store->copy_bytes :
					  &h->store->splice_bytes);
	if (h->sent > start)
		return h->sent - start;
	return ret ?: -EAGAIN;
}

/* The header of a first call, framed if asked. */
static int kmq_send_take_hdr(struct kmq_kpull *h,
			     const struct kmq_pull_send *ps)
{
	u8 *hdr = NULL;

	if (ps->hdr_len > KMQ_PULL_HDR_MAX || !ps->hdr != !ps->hdr_len)
		return -EINVAL;
	if (ps->hdr_len) {
		hdr = memdup_user(u64_to_user_ptr(ps->hdr), ps->hdr_len);
		if (IS_ERR(hdr))
			return PTR_ERR(hdr);
	}
	if (ps->flags & KMQ_PULL_SEND_FRAME) {
		int ret = hdr ? kmq_pull_frame(hdr, ps->hdr_len, h->body_len) :
				-EINVAL;

		if (ret) {
			kfree(hdr);
			return ret;
		}
	}
	kfree(h->hdr);
	h->hdr = hdr;
	h->hdr_len = ps->hdr_len;
	return 0;
}

/* Check a call against where @h stands; take the header of a first. */
static int kmq_send_check(struct kmq_kpull *h, const struct kmq_pull_send *ps)
{
	if (ps->offset != h->sent)
		return -EINVAL;
	if (!ps->offset)
		return kmq_send_take_hdr(h, ps);
	if (ps->hdr || ps->hdr_len || (ps->flags & KMQ_PULL_SEND_FRAME))
		return -EINVAL;
	return 0;
}

/**
 * kmq_pull_send() - KMQ_IOC_PULL_SEND.
 * @fc: the fd holding the prepared pull
 * @ps: the request; sent and total are filled
 *
 * Return: 0 (all sent: the pull is gone; or part: resume from
 * @ps->sent), or -errno as uapi/kmq_ioctl.h lists.
 */
int kmq_pull_send(struct kmq_fctx *fc, struct kmq_pull_send *ps)
{
	int flags = MSG_NOSIGNAL, err = 0;
	struct kmq_kpull *h;
	struct socket *sock;
	ssize_t n;

	if (ps->flags & ~KMQ_PULL_SEND_FLAGS || ps->__rsvd)
		return -EINVAL;
	h = kmq_pull_claim(fc, ps->handle);
	if (IS_ERR(h))
		return PTR_ERR(h);
	ps->sent = h->sent;
	ps->total = (u64)h->hdr_len + h->body_len;
	if (ps->flags & KMQ_PULL_SEND_CANCEL) {
		kmq_pull_drop(fc, h);
		return 0;
	}
	/* Detached: the store's files may be someone else's soon. */
	if (READ_ONCE(h->store->detaching)) {
		kmq_pull_drop(fc, h);
		return -ENXIO;
	}
	atomic64_inc(&h->store->pull_sends);
	err = kmq_send_check(h, ps);
	if (err)
		goto unclaim;
	ps->total = (u64)h->hdr_len + h->body_len;
	sock = kmq_tcp_lookup(ps->sockfd, &err);
	if (!sock)
		goto unclaim;
	if (h->sent && (h->sock != sock ||
			h->sock_ino != SOCK_INODE(sock)->i_ino)) {
		sockfd_put(sock);
		err = -EINVAL;
		goto unclaim;
	}
	if ((ps->flags & KMQ_PULL_SEND_NONBLOCK) ||
	    (sock->file->f_flags & O_NONBLOCK))
		flags |= MSG_DONTWAIT;
	n = kmq_send_run(h, sock, flags, ps->flags & KMQ_PULL_SEND_COPY);
	if (h->sent && !h->sock) {
		h->sock = sock;
		h->sock_ino = SOCK_INODE(sock)->i_ino;
	}
	sockfd_put(sock);
	ps->sent = h->sent;
	if (n > 0) {
		if (h->sent == ps->total)
			kmq_pull_drop(fc, h);
		else
			kmq_pull_unclaim(fc, h);
		return 0;
	}
	err = n;
	if (err == -EAGAIN || err == -EINTR || err == -ERESTARTSYS)
		goto unclaim;
	/* The socket failed: this response can never complete. */
	atomic64_inc(&h->store->errors);
	kmq_pull_drop(fc, h);
	return err;
unclaim:
	kmq_pull_unclaim(fc, h);
	return err;
}
