// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_pull_send_test.c - zero-copy pull delivery: KMQ_IOC_PULL_PREPARE and
 * KMQ_IOC_PULL_SEND into a TCP connection over loopback (127.0.0.1, not a
 * socketpair), and KMQ_IOC_READ_AT.
 *
 * What arrives at the peer is one remoting frame whose body is, byte for
 * byte, the records KMQ_IOC_READ returns for the same pull; a pull costs
 * two system calls (counted with ptrace); the bytes go by splice, not by
 * copy (counters, /proc, sysfs); a non-blocking socket that fills up gets
 * part of the frame and the rest on resume; a peer that goes away is an
 * error and the handle is gone; the ring reusing a segment while its
 * records sit in socket buffers, or while a pull is prepared, never puts
 * other records' bytes on the wire; every bad input is a clear errno.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kmq_st.h"

#define PS_SEG		(128u * 1024)
#define PS_RING		6
#define PS_MSGS		32
#define PS_TMPFS_MAGIC	0x01021994

/* A JSON remoting header, as a broker answers (type byte 0). */
static const char ps_json[] =
	"{\"code\":0,\"flag\":1,\"language\":\"JAVA\",\"opaque\":7}";

/* Bring loopback up: the test VM's init does not. */
static int ps_lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ret = -errno;
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			ret = -errno;
	}
	close(fd);
	return ret;
}

/*
 * A TCP connection over 127.0.0.1: *@snd is the broker's end (what
 * PULL_SEND writes to), *@rcv the consumer's. @rcvbuf, when non-zero,
 * shrinks the consumer's receive buffer (before the handshake, so the
 * window is small too).
 */
static int ps_tcp_pair(int *snd, int *rcv, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, c, s;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen)) {
		close(l);
		return -errno;
	}
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || (rcvbuf && setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
					   sizeof(rcvbuf))) ||
	    connect(c, (struct sockaddr *)&a, sizeof(a))) {
		close(l);
		return -errno;
	}
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	if (s < 0)
		return -errno;
	*snd = s;
	*rcv = c;
	return 0;
}

static int ps_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) ? -errno : 0;
}

/* Socket buffers small enough for a pull to fill them. */
#define PS_SMALL_BUF	4096

/*
 * ps_tcp_pair() with PS_SMALL_BUF buffers both ways, the broker's end
 * non-blocking if @nonblock.
 */
static int ps_small_pair(int *snd, int *rcv, int nonblock)
{
	int small = PS_SMALL_BUF;
	int ret = ps_tcp_pair(snd, rcv, small);

	if (ret)
		return ret;
	if (setsockopt(*snd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)))
		return -errno;
	return nonblock ? ps_set_nonblock(*snd, 1) : 0;
}

/* Read exactly @n bytes (blocking). */
static int ps_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		got += r;
	}
	return 0;
}

/* Bytes waiting to be read on @fd, read without blocking; -errno. */
static ssize_t ps_drain(int fd, void *buf, size_t cap)
{
	ssize_t r = recv(fd, buf, cap, MSG_DONTWAIT);

	if (r < 0)
		return errno == EAGAIN ? 0 : -errno;
	return r;
}

static void ps_pull_init(struct kmq_pull *p, __u32 queue, __u64 offset,
			 __u32 max_msgs, __u32 max_bytes)
{
	memset(p, 0, sizeof(*p));
	p->size = sizeof(*p);
	p->offset = offset;
	p->queue_id = queue;
	p->max_msgs = max_msgs;
	p->max_bytes = max_bytes;
	snprintf(p->topic, sizeof(p->topic), "%s", KMQ_ST_TOPIC);
}

static int ps_prepare(int fd, struct kmq_pull *p)
{
	return kmq_st_ioctl(fd, KMQ_IOC_PULL_PREPARE, p);
}

static void ps_send_init(struct kmq_pull_send *ps, __u32 handle, int sock,
			 const void *hdr, __u32 hdr_len, __u64 offset,
			 __u32 flags)
{
	memset(ps, 0, sizeof(*ps));
	ps->size = sizeof(*ps);
	ps->flags = flags;
	ps->handle = handle;
	ps->sockfd = sock;
	ps->hdr = (uintptr_t)hdr;
	ps->hdr_len = hdr_len;
	ps->offset = offset;
}

static int ps_send(int fd, struct kmq_pull_send *ps)
{
	return kmq_st_ioctl(fd, KMQ_IOC_PULL_SEND, ps);
}

/*
 * Resume a started send until the socket takes nothing more (the peer
 * does not read). Return: the last result (-EAGAIN once full).
 */
static int ps_send_until_full(int fd, __u32 handle, int sock, __u64 *sent,
			      __u64 total, __u32 flags)
{
	struct kmq_pull_send ps;
	int i, ret = 0;

	for (i = 0; i < 1000 && *sent < total; i++) {
		ps_send_init(&ps, handle, sock, NULL, 0, *sent, flags);
		ret = ps_send(fd, &ps);
		if (ret)
			break;
		if (ps.sent <= *sent)
			return -EPROTO;	/* 0 must mean progress */
		*sent = ps.sent;
		usleep(2000);
	}
	return ret;
}

/*
 * The consumer reads what arrives into @got while the broker resumes the
 * send whenever the socket takes more, until all @total bytes of the
 * response are there; *@sent is where the send stands. Every resume
 * that is not -EAGAIN must make progress. Return: the rounds it took,
 * or -errno (-ETIMEDOUT: nothing arrived for 5 s or too many rounds;
 * -EPROTO: a resume that moved nothing).
 */
static int ps_recv_resuming(int fd, __u32 handle, int snd, int rcv,
			    char *got, __u64 total, __u64 *sent)
{
	struct kmq_pull_send ps;
	__u64 have = 0;
	int rounds = 0;

	while (have < total) {
		struct pollfd pf = { .fd = rcv, .events = POLLIN };
		ssize_t n;
		int ret;

		if (rounds++ >= 100000 || poll(&pf, 1, 5000) != 1)
			return -ETIMEDOUT;
		n = ps_drain(rcv, got + have, total - have);
		if (n < 0)
			return n;
		have += n;
		if (*sent == total)
			continue;
		ps_send_init(&ps, handle, snd, NULL, 0, *sent, 0);
		ret = ps_send(fd, &ps);
		if (ret == -EAGAIN)
			continue;
		if (ret)
			return ret;
		if (ps.sent <= *sent)
			return -EPROTO;
		*sent = ps.sent;
	}
	return rounds;
}

/*
 * Append 1500-byte records to queue 1 of the store on @fd until its
 * commitlog passes four segments of @seg bytes (the ring of three
 * reuses the first ones). *@si: the store's info at the end.
 */
static int ps_wrap_ring(int fd, __u64 seg, __u64 seed0,
			struct kmq_store_info *si)
{
	int i, ret;

	for (i = 0; i < 2000; i++) {
		ret = kmq_st_append_seed(fd, KMQ_ST_TOPIC, 1, seed0 + i, 1500,
					 NULL);
		if (!ret)
			ret = kmq_st_store_info(fd, si);
		if (ret)
			return ret;
		if (si->write_offset > 4 * seg)
			return 0;
	}
	return -ENOSPC;
}

/*
 * A remoting frame's first bytes for @body_len bytes of body: prefix
 * and the JSON header. Return: its length.
 */
static __u32 ps_frame(void *buf, __u32 body_len)
{
	__u32 hlen = sizeof(ps_json) - 1;
	__u8 *b = buf;

	b[0] = (4 + hlen + body_len) >> 24;
	b[1] = (4 + hlen + body_len) >> 16;
	b[2] = (4 + hlen + body_len) >> 8;
	b[3] = 4 + hlen + body_len;
	b[4] = 0;			/* JSON */
	b[5] = hlen >> 16;
	b[6] = hlen >> 8;
	b[7] = hlen;
	memcpy(b + 8, ps_json, hlen);
	return 8 + hlen;
}

/* Append @n records to @queue, bodies from seeds @seed0.., @len0 + 211 i. */
static int ps_fill(int fd, __u32 queue, int n, __u64 seed0, __u32 len0)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = kmq_st_append_seed(fd, KMQ_ST_TOPIC, queue, seed0 + i,
					 len0 + 211 * i, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* What KMQ_IOC_READ returns for the same pull: the body expected. */
static int ps_expect(int fd, __u32 queue, __u64 offset, __u32 max_msgs,
		     void *buf, __u32 *len)
{
	struct kmq_read r;
	int ret;

	kmq_st_read_init(&r, KMQ_ST_TOPIC, queue, offset, buf, KMQ_ST_BUF,
			 max_msgs);
	ret = kmq_st_read(fd, &r);
	*len = r.bytes;
	return ret;
}

/* Whether @body holds @n records of @queue, bodies from @seed0 on. */
static int ps_records_ok(const void *body, __u32 len, int n, __u32 queue,
			 __u64 offset0, __u64 seed0)
{
	struct kmq_record rec;
	__u32 pos = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (kmq_st_next(body, len, &pos, &rec) ||
		    rec.queue_id != queue || rec.queue_offset != offset0 + i ||
		    !kmq_st_body_ok(rec.body, rec.body_len, seed0 + i))
			return 0;
	}
	return pos == len;
}

/* A counter of the store's sysfs folder; -1 on error. */
static long long ps_sysfs(const char *store, const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "/sys/kernel/kmq/%s/%s", store, name);
	if (kmq_st_slurp(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

/* splice_bytes and copy_bytes of @store's line in /proc/kmq/stats. */
static int ps_proc_stats(const char *store, long long *splice,
			 long long *copy)
{
	static char buf[16384];
	char *line, *save = NULL;

	if (kmq_st_slurp("/proc/kmq/stats", buf, sizeof(buf)) <= 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[KMQ_STORE_NAME_MAX];
		long long v[7];

		if (sscanf(line, "%63s %lld %lld %lld %lld %lld %lld %lld",
			   name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6]) == 8 && !strcmp(name, store)) {
			*splice = v[4];
			*copy = v[5];
			return 0;
		}
	}
	return -1;
}

FIXTURE(ps)
{
	struct kmq_st_store s;
	char *buf;		/* expected body */
	char *got;		/* what arrived */
	int snd, rcv;
};

FIXTURE_SETUP(ps)
{
	self->snd = -1;
	self->rcv = -1;
	ASSERT_EQ(0, ps_lo_up());
	ASSERT_EQ(0, kmq_st_up(&self->s, "pull", PS_SEG, PS_RING,
			       KMQ_FLUSH_MODE_ASYNC));
	self->buf = malloc(KMQ_ST_BUF);
	self->got = malloc(KMQ_ST_BUF + 65536);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->got);
	/* A SIGPIPE would kill the test: PULL_SEND must never raise one. */
	signal(SIGPIPE, SIG_DFL);
}

FIXTURE_TEARDOWN(ps)
{
	if (self->snd >= 0)
		close(self->snd);
	if (self->rcv >= 0)
		close(self->rcv);
	free(self->buf);
	free(self->got);
	kmq_st_down(&self->s);
}

/*
 * 32 records, across a segment boundary, in one frame: prefix and header
 * as the module framed them, the body the records as stored, moved by
 * splice (STORE_INFO, /proc/kmq/stats, sysfs), not by copy.
 */
TEST_F(ps, pull_32_by_splice)
{
	struct kmq_store_info before, after;
	long long psplice, pcopy;
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u8 hdr[512], pre[8];
	__u32 hlen, exp_len;

	ASSERT_EQ(0, ps_fill(self->s.fd, 1, PS_MSGS, 1000, 1000));
	ASSERT_EQ(0, ps_expect(self->s.fd, 1, 0, PS_MSGS, self->buf,
			       &exp_len));
	ASSERT_GT(exp_len, PS_SEG);	/* the pull spans two segments */
	ASSERT_EQ(0, ps_tcp_pair(&self->snd, &self->rcv, 0));
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &before));

	ps_pull_init(&p, 1, 0, PS_MSGS, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	EXPECT_EQ(KMQ_RD_FOUND, p.status);
	EXPECT_EQ(PS_MSGS, p.count);
	EXPECT_EQ(exp_len, p.bytes);
	EXPECT_EQ(PS_MSGS, p.next_offset);
	EXPECT_EQ(0, p.min_offset);
	EXPECT_EQ(PS_MSGS, p.max_offset);
	ASSERT_NE(0, p.handle);

	/* The module fills both lengths; garbage there must not matter. */
	hlen = ps_frame(hdr, 0);
	memset(hdr, 0xee, 4);
	memset(hdr + 5, 0xee, 3);
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0,
		     KMQ_PULL_SEND_FRAME);
	ASSERT_EQ(0, ps_send(self->s.fd, &ps));
	EXPECT_EQ(hlen + exp_len, ps.total);
	EXPECT_EQ(ps.total, ps.sent);

	ASSERT_EQ(0, ps_read_full(self->rcv, pre, 8));
	EXPECT_EQ(4 + (hlen - 8) + exp_len, ntohl(*(__u32 *)pre));
	EXPECT_EQ(hlen - 8, ntohl(*(__u32 *)(pre + 4)));
	ASSERT_EQ(0, ps_read_full(self->rcv, self->got, hlen - 8 + exp_len));
	EXPECT_EQ(0, memcmp(self->got, ps_json, hlen - 8));
	EXPECT_EQ(0, memcmp(self->got + hlen - 8, self->buf, exp_len));
	EXPECT_TRUE(ps_records_ok(self->got + hlen - 8, exp_len, PS_MSGS, 1,
				  0, 1000));

	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &after));
	EXPECT_EQ(before.splice_bytes + exp_len, after.splice_bytes);
	EXPECT_EQ(before.copy_bytes, after.copy_bytes);
	EXPECT_EQ(after.splice_bytes, ps_sysfs(self->s.name, "splice_bytes"));
	EXPECT_EQ(after.copy_bytes, ps_sysfs(self->s.name, "copy_bytes"));
	ASSERT_EQ(0, ps_proc_stats(self->s.name, &psplice, &pcopy));
	EXPECT_EQ(after.splice_bytes, psplice);
	EXPECT_EQ(after.copy_bytes, pcopy);
	/* The whole pull, two segments' worth, in two system calls. */
	EXPECT_EQ(before.pulls + 1, after.pulls);
	EXPECT_EQ(before.pull_sends + 1, after.pull_sends);
	EXPECT_EQ(after.pulls, ps_sysfs(self->s.name, "pulls"));
	EXPECT_EQ(after.pull_sends, ps_sysfs(self->s.name, "pull_sends"));

	/* Sent: the handle is gone. */
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, 0, 0);
	EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));
}

/* transferMsgByHeap: the same bytes, counted as copied. */
TEST_F(ps, copy_mode_counts_copy)
{
	struct kmq_store_info before, after;
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u32 exp_len, hlen;
	__u8 hdr[512];

	ASSERT_EQ(0, ps_fill(self->s.fd, 0, 8, 7, 300));
	ASSERT_EQ(0, ps_expect(self->s.fd, 0, 0, 8, self->buf, &exp_len));
	ASSERT_EQ(0, ps_tcp_pair(&self->snd, &self->rcv, 0));
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &before));
	ps_pull_init(&p, 0, 0, 8, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	ASSERT_EQ(8, p.count);
	hlen = ps_frame(hdr, p.bytes);		/* framed by the caller */
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0,
		     KMQ_PULL_SEND_COPY);
	ASSERT_EQ(0, ps_send(self->s.fd, &ps));
	ASSERT_EQ(ps.total, ps.sent);
	ASSERT_EQ(0, ps_read_full(self->rcv, self->got, hlen + exp_len));
	EXPECT_EQ(0, memcmp(self->got, hdr, hlen));
	EXPECT_EQ(0, memcmp(self->got + hlen, self->buf, exp_len));
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &after));
	EXPECT_EQ(before.copy_bytes + exp_len, after.copy_bytes);
	EXPECT_EQ(before.splice_bytes, after.splice_bytes);
}

/*
 * The system calls of one pull, counted by a tracer between two marker
 * calls in a child: PULL_PREPARE and PULL_SEND, whatever the count.
 */
TEST_F(ps, two_syscalls_per_pull)
{
	int status, in_call = 0, counting = 0, nsys = 0, nioctl = 0;
	struct user_regs_struct regs;
	__u32 exp_len, hlen;
	__u8 hdr[512];
	pid_t pid;

	ASSERT_EQ(0, ps_fill(self->s.fd, 2, PS_MSGS, 77, 100));
	ASSERT_EQ(0, ps_expect(self->s.fd, 2, 0, PS_MSGS, self->buf,
			       &exp_len));
	ASSERT_EQ(0, ps_tcp_pair(&self->snd, &self->rcv, 0));
	hlen = ps_frame(hdr, 0);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kmq_pull_send ps;
		struct kmq_pull p;
		int ok = 1;

		ps_pull_init(&p, 2, 0, PS_MSGS, 0);
		ps_send_init(&ps, 0, self->snd, hdr, hlen, 0,
			     KMQ_PULL_SEND_FRAME);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(2);
		raise(SIGSTOP);
		syscall(SYS_getpid);		/* marker: start */
		ok &= !ioctl(self->s.fd, KMQ_IOC_PULL_PREPARE, &p);
		ps.handle = p.handle;
		ok &= !ioctl(self->s.fd, KMQ_IOC_PULL_SEND, &ps);
		syscall(SYS_getppid);		/* marker: end */
		ok &= p.count == PS_MSGS && ps.sent == ps.total;
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, ptrace(PTRACE_SETOPTIONS, pid, NULL,
			    (void *)PTRACE_O_TRACESYSGOOD));
	for (;;) {
		ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, pid, NULL, NULL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (WIFEXITED(status))
			break;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		in_call = !in_call;
		if (!in_call)
			continue;		/* a syscall's exit */
		ASSERT_EQ(0, ptrace(PTRACE_GETREGS, pid, NULL, &regs));
		if (regs.orig_rax == SYS_getpid) {
			counting = 1;
		} else if (regs.orig_rax == SYS_getppid) {
			counting = 0;
		} else if (counting) {
			nsys++;
			nioctl += regs.orig_rax == SYS_ioctl;
		}
	}
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(2, nsys);
	EXPECT_EQ(2, nioctl);
	ASSERT_EQ(0, ps_read_full(self->rcv, self->got, hlen + exp_len));
	EXPECT_EQ(0, memcmp(self->got + hlen, self->buf, exp_len));
}

/*
 * A non-blocking socket whose peer does not read: part of the frame,
 * then -EAGAIN with nothing more, then the rest on resume as the peer
 * reads; the peer gets exactly one whole frame.
 */
TEST_F(ps, nonblocking_partial_resume)
{
	struct kmq_pull_send ps;
	struct kmq_pull p;
	int other_snd, other_rcv, rounds;
	__u32 exp_len, hlen;
	__u8 hdr[512];
	__u64 sent;

	ASSERT_EQ(0, ps_fill(self->s.fd, 3, PS_MSGS, 500, 6000));
	ASSERT_EQ(0, ps_expect(self->s.fd, 3, 0, PS_MSGS, self->buf,
			       &exp_len));
	ASSERT_EQ(0, ps_small_pair(&self->snd, &self->rcv, 1));

	ps_pull_init(&p, 3, 0, PS_MSGS, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	ASSERT_EQ(exp_len, p.bytes);
	hlen = ps_frame(hdr, p.bytes);
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0);
	ASSERT_EQ(0, ps_send(self->s.fd, &ps));
	ASSERT_LT(ps.sent, ps.total);
	ASSERT_GT(ps.sent, 0);
	sent = ps.sent;

	/* Full: nothing more goes, and the handle stays. */
	ASSERT_EQ(-EAGAIN, ps_send_until_full(self->s.fd, p.handle, self->snd,
					      &sent, ps.total, 0));
	ASSERT_LT(sent, hlen + exp_len);
	/* Resuming wrong: the offset, a header again, another socket. */
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, sent - 1, 0);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, sent, 0);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ASSERT_EQ(0, ps_tcp_pair(&other_snd, &other_rcv, 0));
	ps_send_init(&ps, p.handle, other_snd, NULL, 0, sent, 0);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	close(other_snd);
	close(other_rcv);

	/* Read some, resume, until all is there. */
	rounds = ps_recv_resuming(self->s.fd, p.handle, self->snd, self->rcv,
				  self->got, hlen + exp_len, &sent);
	ASSERT_LE(0, rounds);
	EXPECT_EQ(hlen + exp_len, sent);
	EXPECT_GT(rounds, 2);
	EXPECT_EQ(0, memcmp(self->got, hdr, hlen));
	EXPECT_EQ(0, memcmp(self->got + hlen, self->buf, exp_len));
	EXPECT_TRUE(ps_records_ok(self->got + hlen, exp_len, PS_MSGS, 3, 0,
				  500));
	/* Done: released. Nothing else arrived. */
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, sent, 0);
	EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));
	EXPECT_EQ(0, ps_drain(self->rcv, self->got, 16));
}

/* The flag alone makes a blocking socket's send non-blocking. */
TEST_F(ps, nonblock_flag)
{
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u8 hdr[512];
	__u64 sent;
	__u32 hlen;

	ASSERT_EQ(0, ps_fill(self->s.fd, 3, PS_MSGS, 500, 6000));
	ASSERT_EQ(0, ps_small_pair(&self->snd, &self->rcv, 0));
	ps_pull_init(&p, 3, 0, PS_MSGS, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	hlen = ps_frame(hdr, p.bytes);
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0,
		     KMQ_PULL_SEND_NONBLOCK);
	ASSERT_EQ(0, ps_send(self->s.fd, &ps));
	ASSERT_LT(ps.sent, ps.total);
	sent = ps.sent;
	EXPECT_EQ(-EAGAIN, ps_send_until_full(self->s.fd, p.handle, self->snd,
					      &sent, ps.total,
					      KMQ_PULL_SEND_NONBLOCK));
	EXPECT_LT(sent, ps.total);
}

/*
 * The peer resets the connection half way: the send is an error (never
 * a SIGPIPE), the handle is released, the error counted.
 */
TEST_F(ps, peer_closes_mid_send)
{
	struct kmq_store_info before, after;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct kmq_pull_send ps;
	struct kmq_pull p;
	int ret = 0, i;
	__u8 hdr[512];
	__u64 sent;

	ASSERT_EQ(0, ps_fill(self->s.fd, 0, PS_MSGS, 900, 6000));
	ASSERT_EQ(0, ps_small_pair(&self->snd, &self->rcv, 1));
	ps_pull_init(&p, 0, 0, PS_MSGS, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	ps_send_init(&ps, p.handle, self->snd, hdr, ps_frame(hdr, p.bytes), 0,
		     0);
	ASSERT_EQ(0, ps_send(self->s.fd, &ps));
	ASSERT_LT(ps.sent, ps.total);
	sent = ps.sent;
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &before));

	/* Unread data and SO_LINGER 0: the close sends a reset. */
	ASSERT_EQ(0, setsockopt(self->rcv, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	close(self->rcv);
	self->rcv = -1;
	usleep(100000);
	for (i = 0; i < 100; i++) {
		ps_send_init(&ps, p.handle, self->snd, NULL, 0, sent, 0);
		ret = ps_send(self->s.fd, &ps);
		if (ret != 0 && ret != -EAGAIN)
			break;
		sent = ps.sent;
		usleep(10000);
	}
	EXPECT_TRUE(ret == -ECONNRESET || ret == -EPIPE) {
		TH_LOG("send after the reset: %d", ret);
	}
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, sent, 0);
	EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &after));
	EXPECT_LT(before.errors, after.errors);
}

/* The same with a blocking socket: the peer goes while the send waits. */
TEST_F(ps, peer_closes_blocking_send)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct kmq_pull_send ps;
	struct kmq_pull p;
	int ret = 0, i;
	__u8 hdr[512];
	pid_t pid;

	ASSERT_EQ(0, ps_fill(self->s.fd, 0, PS_MSGS, 900, 6000));
	ASSERT_EQ(0, ps_small_pair(&self->snd, &self->rcv, 0));
	ASSERT_EQ(0, setsockopt(self->rcv, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		usleep(300000);
		close(self->rcv);	/* the child's copy... */
		_exit(0);
	}
	close(self->rcv);		/* ...and ours: the reset goes */
	self->rcv = -1;
	ps_pull_init(&p, 0, 0, PS_MSGS, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	ps_send_init(&ps, p.handle, self->snd, hdr, ps_frame(hdr, p.bytes), 0,
		     0);
	for (i = 0; i < 100; i++) {
		ret = ps_send(self->s.fd, &ps);
		if (ret)
			break;
		if (ps.sent == ps.total)
			break;
		ps_send_init(&ps, p.handle, self->snd, NULL, 0, ps.sent, 0);
	}
	waitpid(pid, NULL, 0);
	EXPECT_TRUE(ret == -ECONNRESET || ret == -EPIPE) {
		TH_LOG("blocking send after the reset: %d (sent %llu of %llu)",
		       ret, (unsigned long long)ps.sent,
		       (unsigned long long)ps.total);
	}
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, 0, 0);
	EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));
}

/*
 * Records sent whole but still in socket buffers (the peer has not read
 * them) when the ring reuses their segment and new records fill it: the
 * peer still reads the old records, never the new bytes.
 */
TEST_F(ps, ring_reuse_after_send)
{
	struct kmq_st_store s2;
	struct kmq_store_info si;
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u32 exp_len, hlen;
	__u8 hdr[512];

	ASSERT_EQ(0, kmq_st_up(&s2, "pullring", 64 * 1024, 3,
			       KMQ_FLUSH_MODE_ASYNC));
	ASSERT_EQ(0, ps_fill(s2.fd, 0, 8, 3000, 1500));
	ASSERT_EQ(0, ps_expect(s2.fd, 0, 0, 8, self->buf, &exp_len));
	ASSERT_EQ(0, ps_tcp_pair(&self->snd, &self->rcv, 0));
	ps_pull_init(&p, 0, 0, 8, 0);
	ASSERT_EQ(0, ps_prepare(s2.fd, &p));
	hlen = ps_frame(hdr, p.bytes);
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0);
	ASSERT_EQ(0, ps_send(s2.fd, &ps));
	ASSERT_EQ(ps.total, ps.sent);

	/* Wrap the ring until segment 0's file is reused and rewritten. */
	ASSERT_EQ(0, ps_wrap_ring(s2.fd, 64 * 1024, 100000, &si));
	ASSERT_GE(si.min_offset, 2 * 64 * 1024);
	ASSERT_GT(si.write_offset, 4 * 64 * 1024);

	ASSERT_EQ(0, ps_read_full(self->rcv, self->got, hlen + exp_len));
	EXPECT_EQ(0, memcmp(self->got + hlen, self->buf, exp_len));
	EXPECT_TRUE(ps_records_ok(self->got + hlen, exp_len, 8, 0, 0, 3000));
	kmq_st_down(&s2);
}

/*
 * A pull prepared and half sent when the ring reclaims its segment: the
 * pinned segment is unlinked, not rewritten, and the rest of the frame
 * still carries the old records.
 */
TEST_F(ps, ring_reuse_while_prepared)
{
	__u32 exp_len, hlen;
	struct kmq_st_store s2;
	struct kmq_store_info si;
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u8 hdr[512];
	__u64 sent;

	ASSERT_EQ(0, kmq_st_up(&s2, "pullpin", 64 * 1024, 3,
			       KMQ_FLUSH_MODE_ASYNC));
	ASSERT_EQ(0, ps_fill(s2.fd, 0, 8, 4000, 6000));
	ASSERT_EQ(0, ps_expect(s2.fd, 0, 0, 8, self->buf, &exp_len));
	ASSERT_EQ(0, ps_small_pair(&self->snd, &self->rcv, 1));
	ps_pull_init(&p, 0, 0, 8, 0);
	ASSERT_EQ(0, ps_prepare(s2.fd, &p));
	hlen = ps_frame(hdr, p.bytes);
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0);
	ASSERT_EQ(0, ps_send(s2.fd, &ps));
	ASSERT_LT(ps.sent, ps.total);
	sent = ps.sent;

	ASSERT_EQ(0, ps_wrap_ring(s2.fd, 64 * 1024, 200000, &si));
	ASSERT_GE(si.min_offset, 2 * 64 * 1024);
	ASSERT_LE(0, ps_recv_resuming(s2.fd, p.handle, self->snd, self->rcv,
				      self->got, hlen + exp_len, &sent));
	EXPECT_EQ(0, memcmp(self->got + hlen, self->buf, exp_len));
	EXPECT_TRUE(ps_records_ok(self->got + hlen, exp_len, 8, 0, 0, 4000));
	kmq_st_down(&s2);
}

/*
 * A store on tmpfs (no ->read_folio: its pages come from shmem): a pull
 * sends the records as stored, by splice and by copy, before and after
 * the ring reuses segments. Skipped when /tmp is not tmpfs.
 */
TEST_F(ps, send_from_tmpfs)
{
	struct kmq_st_store s2;
	struct kmq_store_info si;
	struct kmq_queue_info qi;
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u32 exp_len, hlen;
	struct statfs sf;
	__u8 hdr[512];
	int tries;

	ASSERT_EQ(0, statfs("/tmp", &sf));
	if (sf.f_type != PS_TMPFS_MAGIC)
		SKIP(return, "/tmp is not tmpfs");
	ASSERT_EQ(0, kmq_st_up_in(&s2, "/tmp", "pulltmpfs", 64 * 1024, 3,
				  KMQ_FLUSH_MODE_ASYNC));
	ASSERT_EQ(0, ps_tcp_pair(&self->snd, &self->rcv, 0));

	/* Fresh segments, by splice. */
	ASSERT_EQ(0, ps_fill(s2.fd, 0, 8, 5000, 1500));
	ASSERT_EQ(0, ps_expect(s2.fd, 0, 0, 8, self->buf, &exp_len));
	ps_pull_init(&p, 0, 0, 8, 0);
	ASSERT_EQ(0, ps_prepare(s2.fd, &p));
	ASSERT_EQ(exp_len, p.bytes);
	hlen = ps_frame(hdr, p.bytes);
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0);
	ASSERT_EQ(0, ps_send(s2.fd, &ps));
	ASSERT_EQ(ps.total, ps.sent);
	ASSERT_EQ(0, ps_read_full(self->rcv, self->got, hlen + exp_len));
	EXPECT_EQ(0, memcmp(self->got + hlen, self->buf, exp_len));
	EXPECT_TRUE(ps_records_ok(self->got + hlen, exp_len, 8, 0, 0, 5000));

	/*
	 * Reused segments (their shmem pages punched out), by copy. The
	 * ring's worker may reclaim the oldest segment between the queue's
	 * min and the pull: from the new min then.
	 */
	ASSERT_EQ(0, ps_wrap_ring(s2.fd, 64 * 1024, 300000, &si));
	for (tries = 0; tries < 20; tries++) {
		ASSERT_EQ(0, kmq_st_queue_info(s2.fd, KMQ_ST_TOPIC, 1, &qi));
		ASSERT_LT(0, qi.min_offset);
		ASSERT_EQ(0, ps_expect(s2.fd, 1, qi.min_offset, 8, self->buf,
				       &exp_len));
		ps_pull_init(&p, 1, qi.min_offset, 8, 0);
		ASSERT_EQ(0, ps_prepare(s2.fd, &p));
		if (p.status != KMQ_RD_OFFSET_TOO_SMALL)
			break;
		usleep(20000);
	}
	ASSERT_EQ(KMQ_RD_FOUND, p.status);
	ASSERT_EQ(8, p.count);
	ASSERT_EQ(exp_len, p.bytes);
	hlen = ps_frame(hdr, p.bytes);
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0,
		     KMQ_PULL_SEND_COPY);
	ASSERT_EQ(0, ps_send(s2.fd, &ps));
	ASSERT_EQ(ps.total, ps.sent);
	ASSERT_EQ(0, ps_read_full(self->rcv, self->got, hlen + exp_len));
	EXPECT_EQ(0, memcmp(self->got + hlen, self->buf, exp_len));
	EXPECT_TRUE(ps_records_ok(self->got + hlen, exp_len, 8, 1,
				  qi.min_offset, 300000 + qi.min_offset));
	kmq_st_down(&s2);
}

/* Statuses as READ's; no handle without records; tags; the byte limit. */
TEST_F(ps, prepare_statuses_and_limits)
{
	struct kmq_pull_send ps;
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_pull p;
	char props[32], body[64];
	__s64 code;
	int i;

	ps_pull_init(&p, 2, 0, 32, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	EXPECT_EQ(KMQ_RD_NO_MESSAGE, p.status);
	EXPECT_EQ(0, p.count);
	EXPECT_EQ(0, p.handle);

	ASSERT_EQ(0, ps_fill(self->s.fd, 2, 4, 10, 3000));
	ps_pull_init(&p, 2, 4, 32, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	EXPECT_EQ(KMQ_RD_NO_NEW, p.status);
	EXPECT_EQ(0, p.handle);
	ps_pull_init(&p, 2, 9, 32, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	EXPECT_EQ(KMQ_RD_OFFSET_OVERFLOW, p.status);
	EXPECT_EQ(4, p.next_offset);

	/* The first record goes even if larger than max_bytes; no more. */
	ps_pull_init(&p, 2, 0, 32, 100);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	EXPECT_EQ(KMQ_RD_FOUND, p.status);
	EXPECT_EQ(1, p.count);
	EXPECT_EQ(1, p.next_offset);
	EXPECT_NE(0, p.handle);
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, 0,
		     KMQ_PULL_SEND_CANCEL);
	EXPECT_EQ(0, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, 0,
		     KMQ_PULL_SEND_CANCEL);
	EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));

	ps_pull_init(&p, 2, 1, 2, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	EXPECT_EQ(2, p.count);
	EXPECT_EQ(3, p.next_offset);

	/* Tags: only matching records; none matching is NO_MATCH. */
	for (i = 0; i < 6; i++) {
		snprintf(props, sizeof(props), "TAGS%c%s%c", KMQ_PROP_NAME_SEP,
			 i % 3 ? "B" : "A", KMQ_PROP_PAIR_SEP);
		kmq_st_fill(body, sizeof(body), 50 + i);
		kmq_st_msg(&m, KMQ_ST_TOPIC, 1, body, sizeof(body), props);
		ASSERT_EQ(0, kmq_st_append(self->s.fd, &m, &res, 1, NULL));
	}
	code = kmq_tag_hash("A", 1);
	ps_pull_init(&p, 1, 0, 32, 0);
	p.tags = (uintptr_t)&code;
	p.ntags = 1;
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	EXPECT_EQ(KMQ_RD_FOUND, p.status);
	EXPECT_EQ(2, p.count);
	EXPECT_EQ(6, p.next_offset);
	code = kmq_tag_hash("Z", 1);
	ps_pull_init(&p, 1, 0, 32, 0);
	p.tags = (uintptr_t)&code;
	p.ntags = 1;
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	EXPECT_EQ(KMQ_RD_NO_MATCH, p.status);
	EXPECT_EQ(0, p.handle);
}

/*
 * Handles: at most KMQ_PULL_HANDLES_MAX per fd, freed by CANCEL and by
 * closing the fd (its pins go with it).
 */
TEST_F(ps, handles_bounded_and_freed_on_close)
{
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u32 first = 0;
	int fd2, i;

	ASSERT_EQ(0, ps_fill(self->s.fd, 0, 2, 1, 100));
	fd2 = kmq_st_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, kmq_st_bind(fd2, self->s.name));
	for (i = 0; i < KMQ_PULL_HANDLES_MAX; i++) {
		ps_pull_init(&p, 0, 0, 2, 0);
		ASSERT_EQ(0, ps_prepare(fd2, &p));
		ASSERT_NE(0, p.handle);
		if (!first)
			first = p.handle;
	}
	ps_pull_init(&p, 0, 0, 2, 0);
	EXPECT_EQ(-ENOBUFS, ps_prepare(fd2, &p));
	/* Another fd has its own table. */
	ps_pull_init(&p, 0, 0, 2, 0);
	EXPECT_EQ(0, ps_prepare(self->s.fd, &p));
	/* A handle of fd2 means nothing on this fd. */
	ps_send_init(&ps, first, self->snd, NULL, 0, 0, KMQ_PULL_SEND_CANCEL);
	if (first != p.handle)
		EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));
	EXPECT_EQ(0, ps_send(fd2, &ps));
	ps_pull_init(&p, 0, 0, 2, 0);
	EXPECT_EQ(0, ps_prepare(fd2, &p));
	EXPECT_NE(first, p.handle);	/* given cyclically */
	close(fd2);			/* 1024 pulls go with the fd */

	fd2 = kmq_st_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, kmq_st_bind(fd2, self->s.name));
	ps_pull_init(&p, 0, 0, 2, 0);
	EXPECT_EQ(0, ps_prepare(fd2, &p));
	close(fd2);
}

/* Every bad input is a clear errno; a refused send leaves the handle. */
TEST_F(ps, bad_input)
{
	struct kmq_pull_send ps;
	struct kmq_pull p;
	int udp, us[2], fd2;
	__u8 hdr[KMQ_PULL_HDR_MAX + 1];
	__u32 hlen, exp_len;
	__s64 code = 1;

	memset(hdr, 0, sizeof(hdr));
	ASSERT_EQ(0, ps_fill(self->s.fd, 0, 3, 1, 100));
	ASSERT_EQ(0, ps_expect(self->s.fd, 0, 0, 3, self->buf, &exp_len));
	ASSERT_EQ(0, ps_tcp_pair(&self->snd, &self->rcv, 0));

	ps_pull_init(&p, 0, 0, 3, 0);
	p.flags = 1;
	EXPECT_EQ(-EINVAL, ps_prepare(self->s.fd, &p));
	ps_pull_init(&p, 0, 0, 0, 0);
	EXPECT_EQ(-EINVAL, ps_prepare(self->s.fd, &p));
	ps_pull_init(&p, 0, 0, KMQ_PULL_MSGS_MAX + 1, 0);
	EXPECT_EQ(-EINVAL, ps_prepare(self->s.fd, &p));
	ps_pull_init(&p, 0, 0, 3, 0);
	p.ntags = KMQ_TAGS_MAX + 1;
	p.tags = (uintptr_t)&code;
	EXPECT_EQ(-EINVAL, ps_prepare(self->s.fd, &p));
	ps_pull_init(&p, 0, 0, 3, 0);
	p.ntags = 1;
	p.tags = 8;
	EXPECT_EQ(-EFAULT, ps_prepare(self->s.fd, &p));
	ps_pull_init(&p, 0, 0, 3, 0);
	snprintf(p.topic, sizeof(p.topic), "NoSuchTopic");
	EXPECT_EQ(-ENOENT, ps_prepare(self->s.fd, &p));
	ps_pull_init(&p, 0, 0, 3, 0);
	snprintf(p.topic, sizeof(p.topic), "bad/name");
	EXPECT_EQ(-EINVAL, ps_prepare(self->s.fd, &p));
	ps_pull_init(&p, KMQ_ST_QUEUES, 0, 3, 0);
	EXPECT_EQ(-ERANGE, ps_prepare(self->s.fd, &p));
	ps_pull_init(&p, 0, 0, 3, 0);
	p.size = KMQ_PULL_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, ps_prepare(self->s.fd, &p));
	/* Not bound to a store. */
	fd2 = kmq_st_open();
	ASSERT_LE(0, fd2);
	ps_pull_init(&p, 0, 0, 3, 0);
	EXPECT_EQ(-ENXIO, ps_prepare(fd2, &p));
	close(fd2);

	ps_pull_init(&p, 0, 0, 3, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	hlen = ps_frame(hdr, p.bytes);
	ps_send_init(&ps, 0, self->snd, hdr, hlen, 0, 0);
	EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle + 1000, self->snd, hdr, hlen, 0, 0);
	EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0x100);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0);
	ps.__rsvd = 1;
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, hdr, KMQ_PULL_HDR_MAX + 1, 0,
		     0);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, hdr, 7, 0,
		     KMQ_PULL_SEND_FRAME);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, 0,
		     KMQ_PULL_SEND_FRAME);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, NULL, hlen, 0, 0);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, (void *)8, hlen, 0, 0);
	EXPECT_EQ(-EFAULT, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 5, 0);
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, self->s.fd, hdr, hlen, 0, 0);
	EXPECT_EQ(-ENOTSOCK, ps_send(self->s.fd, &ps));
	ps_send_init(&ps, p.handle, 9999, hdr, hlen, 0, 0);
	EXPECT_EQ(-EBADF, ps_send(self->s.fd, &ps));
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, udp);
	ps_send_init(&ps, p.handle, udp, hdr, hlen, 0, 0);
	EXPECT_EQ(-EOPNOTSUPP, ps_send(self->s.fd, &ps));
	close(udp);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, us));
	ps_send_init(&ps, p.handle, us[0], hdr, hlen, 0, 0);
	EXPECT_EQ(-EOPNOTSUPP, ps_send(self->s.fd, &ps));
	close(us[0]);
	close(us[1]);
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0);
	ps.size = KMQ_PULL_SEND_SIZE_VER0 - 4;
	EXPECT_EQ(-EINVAL, ps_send(self->s.fd, &ps));

	/* After all that the handle is intact and sends the whole frame. */
	ps_send_init(&ps, p.handle, self->snd, hdr, hlen, 0, 0);
	ASSERT_EQ(0, ps_send(self->s.fd, &ps));
	ASSERT_EQ(ps.total, ps.sent);
	ASSERT_EQ(0, ps_read_full(self->rcv, self->got, hlen + exp_len));
	EXPECT_EQ(0, memcmp(self->got, hdr, hlen));
	EXPECT_EQ(0, memcmp(self->got + hlen, self->buf, exp_len));
	EXPECT_EQ(0, ps_drain(self->rcv, self->got, 16));
}

/* A detach releases the prepared pulls: the send is -ENXIO, once. */
TEST_F(ps, detach_releases_pulls)
{
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u8 hdr[512];

	ASSERT_EQ(0, ps_fill(self->s.fd, 0, 4, 1, 100));
	ASSERT_EQ(0, ps_tcp_pair(&self->snd, &self->rcv, 0));
	ps_pull_init(&p, 0, 0, 4, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	ASSERT_EQ(0, kmq_st_detach(self->s.fd, self->s.name));
	ps_send_init(&ps, p.handle, self->snd, hdr, ps_frame(hdr, p.bytes), 0,
		     0);
	EXPECT_EQ(-ENXIO, ps_send(self->s.fd, &ps));
	EXPECT_EQ(-ENOENT, ps_send(self->s.fd, &ps));
	EXPECT_EQ(0, ps_drain(self->rcv, self->got, 16));
	ps_pull_init(&p, 0, 0, 4, 0);
	EXPECT_EQ(-ENXIO, ps_prepare(self->s.fd, &p));
}

struct ps_sender {
	int fd;
	struct kmq_pull_send ps;
	int ret;
};

static void *ps_sender_main(void *arg)
{
	struct ps_sender *a = arg;

	a->ret = ps_send(a->fd, &a->ps);
	return NULL;
}

/* While one thread's blocking send waits, the handle is busy. */
TEST_F(ps, concurrent_send_busy)
{
	struct ps_sender a = { .fd = self->s.fd };
	struct kmq_pull_send ps;
	struct kmq_pull p;
	__u32 hlen, got = 0;
	pthread_t th;
	__u8 hdr[512];

	ASSERT_EQ(0, ps_fill(self->s.fd, 3, PS_MSGS, 500, 6000));
	ASSERT_EQ(0, ps_small_pair(&self->snd, &self->rcv, 0));
	ps_pull_init(&p, 3, 0, PS_MSGS, 0);
	ASSERT_EQ(0, ps_prepare(self->s.fd, &p));
	hlen = ps_frame(hdr, p.bytes);
	ps_send_init(&a.ps, p.handle, self->snd, hdr, hlen, 0, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, ps_sender_main, &a));
	usleep(300000);
	ps_send_init(&ps, p.handle, self->snd, NULL, 0, 0,
		     KMQ_PULL_SEND_CANCEL);
	EXPECT_EQ(-EBUSY, ps_send(self->s.fd, &ps));
	/* Read it all: the blocked send finishes the frame. */
	while (got < hlen + p.bytes) {
		ssize_t n = read(self->rcv, self->got + got,
				 hlen + p.bytes - got);

		ASSERT_LT(0, n);
		got += n;
	}
	pthread_join(th, NULL);
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(a.ps.total, a.ps.sent);
	EXPECT_EQ(0, memcmp(self->got, hdr, hlen));
	EXPECT_TRUE(ps_records_ok(self->got + hlen, p.bytes, PS_MSGS, 3, 0,
				  500));
}

/* READ_AT: every record at its commitlog offset, and its errors. */
TEST_F(ps, read_at)
{
	struct kmq_append_res res[5];
	struct kmq_store_info si;
	struct kmq_read_at ra;
	struct kmq_record rec;
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, kmq_st_append_seed(self->s.fd, KMQ_ST_TOPIC, 1,
						60 + i, 50 + 100 * i, &res[i]));
	for (i = 0; i < 5; i++) {
		memset(&ra, 0, sizeof(ra));
		ra.size = sizeof(ra);
		ra.phys_offset = res[i].phys_offset;
		ra.buf = (uintptr_t)self->got;
		ra.buf_len = KMQ_ST_BUF;
		ASSERT_EQ(0, kmq_st_ioctl(self->s.fd, KMQ_IOC_READ_AT, &ra));
		EXPECT_EQ(res[i].size, ra.record_size);
		ASSERT_EQ(0, kmq_record_decode(self->got, ra.record_size, &rec,
					       KMQ_DECODE_CRC));
		EXPECT_EQ(res[i].phys_offset, rec.phys_offset);
		EXPECT_EQ(res[i].queue_offset, rec.queue_offset);
		EXPECT_TRUE(kmq_st_body_ok(rec.body, rec.body_len, 60 + i));
	}
	memset(&ra, 0, sizeof(ra));
	ra.size = sizeof(ra);
	ra.buf = (uintptr_t)self->got;
	ra.phys_offset = res[2].phys_offset;
	ra.buf_len = res[2].size - 1;
	EXPECT_EQ(-ENOSPC, kmq_st_ioctl(self->s.fd, KMQ_IOC_READ_AT, &ra));
	EXPECT_EQ(res[2].size, ra.record_size);
	ra.buf_len = KMQ_ST_BUF;
	ra.phys_offset = res[2].phys_offset + 4;
	EXPECT_EQ(-EBADMSG, kmq_st_ioctl(self->s.fd, KMQ_IOC_READ_AT, &ra));
	ASSERT_EQ(0, kmq_st_store_info(self->s.fd, &si));
	ra.phys_offset = si.write_offset;
	EXPECT_EQ(-ERANGE, kmq_st_ioctl(self->s.fd, KMQ_IOC_READ_AT, &ra));
	ra.phys_offset = ~0ull;
	EXPECT_EQ(-ERANGE, kmq_st_ioctl(self->s.fd, KMQ_IOC_READ_AT, &ra));
	ra.phys_offset = res[0].phys_offset;
	ra.flags = 1;
	EXPECT_EQ(-EINVAL, kmq_st_ioctl(self->s.fd, KMQ_IOC_READ_AT, &ra));
	ra.flags = 0;
	ra.buf = 8;
	EXPECT_EQ(-EFAULT, kmq_st_ioctl(self->s.fd, KMQ_IOC_READ_AT, &ra));
}

TEST_HARNESS_MAIN
