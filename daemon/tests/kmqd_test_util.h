/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqd_test_util.h - helpers shared by the kmqd suites that talk to a real
 * kmqd over TCP (daemon/tests/t_kmqd_*.c): free loopback ports, starting
 * and stopping kmqd on a temporary store, connections with timeouts,
 * requests and responses through the remoting codec, send (10, 310, 320)
 * and pull (11) requests, and the records of a pull body.
 *
 * Which kmqd: "$(dirname argv[0])/../kmqd" when it exists (build/tests/x
 * runs build/kmqd, build/san/tests/x runs build/san/kmqd), else $KMQD,
 * else build/kmqd.
 *
 * Every wait has a timeout, so a hang fails a test instead of blocking.
 * Everything is static inline so each test is a single translation unit.
 */
#ifndef KMQD_TEST_UTIL_H
#define KMQD_TEST_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "kmq_endian.h"
#include "kmq_msgid.h"
#include "kmq_props.h"
#include "kmq_record.h"
#include "kmq_remoting.h"
#include "kmq_tap.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#define KD_TIMEOUT_MS		5000	/* one request and its response */
#define KD_START_TIMEOUT_MS	20000	/* kmqd up and registered */
#define KD_STOP_TIMEOUT_MS	20000	/* SIGTERM to exit */
#define KD_MAX_ARGS		16
#define KD_MAX_FRAME_IN		(64u << 20)
#define KD_VERIFY_GROUP		"kd_verify_group"
#define KD_HEALTH_TOPIC		"KdHealth"

/* Codes the suites use (RocketMQ's numbers, rocketmq.md section 4). */
enum {
	KD_SEND_MESSAGE = 10,
	KD_PULL_MESSAGE = 11,
	KD_QUERY_CONSUMER_OFFSET = 14,
	KD_UPDATE_CONSUMER_OFFSET = 15,
	KD_UPDATE_AND_CREATE_TOPIC = 17,
	KD_GET_BROKER_RUNTIME_INFO = 28,
	KD_SEARCH_OFFSET_BY_TIMESTAMP = 29,
	KD_GET_MAX_OFFSET = 30,
	KD_GET_MIN_OFFSET = 31,
	KD_GET_EARLIEST_MSG_STORETIME = 32,
	KD_HEART_BEAT = 34,
	KD_UNREGISTER_CLIENT = 35,
	KD_CONSUMER_SEND_MSG_BACK = 36,
	KD_GET_CONSUMER_LIST_BY_GROUP = 38,
	KD_NOTIFY_CONSUMER_IDS_CHANGED = 40,
	KD_REGISTER_BROKER = 103,
	KD_UNREGISTER_BROKER = 104,
	KD_GET_ROUTEINFO_BY_TOPIC = 105,
	KD_GET_BROKER_CLUSTER_INFO = 106,
	KD_SEND_MESSAGE_V2 = 310,
	KD_SEND_BATCH_MESSAGE = 320,
};

enum {
	KD_SUCCESS = 0,
	KD_SYSTEM_ERROR = 1,
	KD_REQUEST_CODE_NOT_SUPPORTED = 3,
	KD_MESSAGE_ILLEGAL = 13,
	KD_TOPIC_NOT_EXIST = 17,
	KD_PULL_NOT_FOUND = 19,
	KD_PULL_RETRY_IMMEDIATELY = 20,
	KD_PULL_OFFSET_MOVED = 21,
	KD_QUERY_NOT_FOUND = 22,
	KD_INVALID_PARAMETER = 29,
};

#define KD_PULL_COMMIT		0x1
#define KD_PULL_SUSPEND		0x2
#define KD_PULL_SUBSCRIPTION	0x4

/*
 * kd_give_up() - the suite cannot go on (kmqd does not start): one failed
 * test saying why, the plan, and exit. Unlike a TAP bail-out, prove still
 * runs the other files.
 */
static inline void kd_give_up(const char *why)
{
	ok(0, "%s", why);
	exit(kmq_tap_done());
}

/* ---- time ----------------------------------------------------------- */

static inline double kd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static inline uint64_t kd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * kd_slow_ms() - a latency limit of @ms, stretched by $KD_TIME_SCALE
 * (at least 1) where everything runs slower: the kmqd suites inside the
 * emulated (TCG) VM of kmod/scripts/vm/vmtest-kmqd.sh.
 */
static inline double kd_slow_ms(double ms)
{
	const char *e = getenv("KD_TIME_SCALE");
	double k = e ? strtod(e, NULL) : 1.0;

	return k > 1.0 ? ms * k : ms;
}

static inline void kd_sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- files ---------------------------------------------------------- */

static inline int kd_rm_one(const char *path, const struct stat *st,
			    int type, struct FTW *ftw)
{
	return remove(path) ? -errno : 0;
}

static inline int kd_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	return nftw(path, kd_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline bool kd_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* kd_read_file() - the whole file, NUL-terminated (free it), or NULL. */
static inline char *kd_read_file(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* ---- ports, fds ----------------------------------------------------- */

/*
 * kd_free_ports() - @n distinct free loopback ports: bind port 0, read
 * it, and close only once all are known.
 */
static inline int kd_free_ports(unsigned int *ports, unsigned int n)
{
	int fds[8];
	unsigned int i;
	int ret = 0;

	if (n > ARRAY_SIZE(fds))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t len = sizeof(sa);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 ||
		    bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) ||
		    getsockname(fds[i], (struct sockaddr *)&sa, &len)) {
			ret = -errno;
			if (fds[i] >= 0)
				close(fds[i]);
			break;
		}
		ports[i] = ntohs(sa.sin_port);
	}
	while (i--)
		close(fds[i]);
	return ret;
}

/* kd_raise_nofile() - soft RLIMIT_NOFILE to at least @want if allowed. */
static inline rlim_t kd_raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur >= want)
		return rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ?
		      want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

/* ---- kmqd ----------------------------------------------------------- */

struct kd_server {
	char bin[PATH_MAX];
	char dir[256];			/* temporary directory */
	char store[PATH_MAX];		/* storePathRootDir: dir/store */
	char log[PATH_MAX];		/* kmqd's stdout and stderr */
	unsigned int ns_port;
	unsigned int port;
	char args[KD_MAX_ARGS][128];	/* extra --key=value */
	unsigned int nargs;
	pid_t pid;
	int status;			/* last exit status, -1 unknown */
};

/* kd_find_kmqd() - which kmqd to run (see the top of this file). */
static inline void kd_find_kmqd(const char *argv0, char *out, size_t len)
{
	const char *env = getenv("KMQD");
	char dir[PATH_MAX - 16];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", argv0 ? argv0 : "");
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		snprintf(out, len, "%s/../kmqd", dir);
		if (!access(out, X_OK))
			return;
	}
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	snprintf(out, len, "build/kmqd");
}

/*
 * kd_server_init() - a temporary store directory and two free ports;
 * @args: extra "--key=value" arguments, NULL-terminated (may be NULL).
 */
static inline int kd_server_init(struct kd_server *s, const char *argv0,
				 const char *tag, const char * const *args)
{
	unsigned int ports[2];

	memset(s, 0, sizeof(*s));
	s->pid = -1;
	s->status = -1;
	kd_find_kmqd(argv0, s->bin, sizeof(s->bin));
	snprintf(s->dir, sizeof(s->dir), "/tmp/kmqd-%s-XXXXXX", tag);
	if (!mkdtemp(s->dir))
		return -errno;
	snprintf(s->store, sizeof(s->store), "%s/store", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/kmqd.log", s->dir);
	if (kd_free_ports(ports, 2))
		return -EADDRNOTAVAIL;
	s->ns_port = ports[0];
	s->port = ports[1];
	while (args && *args && s->nargs < KD_MAX_ARGS) {
		snprintf(s->args[s->nargs++], sizeof(s->args[0]), "%s", *args);
		args++;
	}
	return 0;
}

static inline int kd_connect(unsigned int port);
static inline int kd_cluster_has(int fd, const char *addr);

/*
 * kd_log_tail() - kmqd's log as diagnostics: the first sanitizer report
 * (40 lines from its first line) if there is one, else the last @lines
 * lines.
 */
static inline void kd_log_tail(const struct kd_server *s, unsigned int lines)
{
	static const char * const marks[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
		"runtime error:",
	};
	char *text = kd_read_file(s->log, NULL);
	char *p = NULL, *line, *save = NULL;
	unsigned int i, n = 0;

	if (!text)
		return;
	for (i = 0; i < ARRAY_SIZE(marks) && !p; i++)
		p = strstr(text, marks[i]);
	if (p) {
		while (p > text && p[-1] != '\n')
			p--;
		lines = 40;
	} else {
		p = text + strlen(text);
		while (p > text && n <= lines) {
			p--;
			if (*p == '\n')
				n++;
		}
	}
	diag("kmqd log %s (%s):", s->log, n ? "tail" : "sanitizer report");
	line = strtok_r(p, "\n", &save);
	for (n = 0; line && n < lines + 1; n++) {
		diag("  %s", line);
		line = strtok_r(NULL, "\n", &save);
	}
	free(text);
}

/* kd_exit_status() - the exit code, or 128 + signal. */
static inline int kd_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

/*
 * kd_server_start() - run kmqd all on the ports and store of @s; wait
 * until both ports accept and the broker is registered with the name
 * server. Return: 0, or -1 (diagnostics printed).
 */
static inline int kd_server_start(struct kd_server *s)
{
	char nsport[64], port[64], store[PATH_MAX + 32];
	const char *argv[KD_MAX_ARGS + 8];
	char addr[64];
	unsigned int i, n = 0;
	double deadline;
	pid_t pid;
	int logfd;

	snprintf(nsport, sizeof(nsport), "--namesrvListenPort=%u", s->ns_port);
	snprintf(port, sizeof(port), "--listenPort=%u", s->port);
	snprintf(store, sizeof(store), "--storePathRootDir=%s", s->store);
	argv[n++] = s->bin;
	argv[n++] = "all";
	argv[n++] = nsport;
	argv[n++] = port;
	argv[n++] = store;
	for (i = 0; i < s->nargs; i++)
		argv[n++] = s->args[i];
	argv[n] = NULL;
	logfd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		diag("open %s: %s", s->log, strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(logfd);
		return -1;
	}
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execv(s->bin, (char * const *)argv);
		fprintf(stderr, "exec %s: %s\n", s->bin, strerror(errno));
		_exit(127);
	}
	close(logfd);
	s->pid = pid;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", s->port);
	deadline = kd_mono_ms() + KD_START_TIMEOUT_MS;
	while (kd_mono_ms() < deadline) {
		int wstatus, nfd, bfd;

		if (waitpid(pid, &wstatus, WNOHANG) == pid) {
			s->pid = -1;
			s->status = kd_exit_status(wstatus);
			diag("kmqd %s exited with %d at start", s->bin,
			     s->status);
			kd_log_tail(s, 20);
			return -1;
		}
		nfd = kd_connect(s->ns_port);
		bfd = nfd >= 0 ? kd_connect(s->port) : -1;
		if (bfd >= 0 && kd_cluster_has(nfd, addr) > 0) {
			close(nfd);
			close(bfd);
			return 0;
		}
		if (nfd >= 0)
			close(nfd);
		if (bfd >= 0)
			close(bfd);
		kd_sleep_ms(20);
	}
	diag("kmqd did not come up in %d ms", KD_START_TIMEOUT_MS);
	kd_log_tail(s, 20);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	s->pid = -1;
	return -1;
}

/*
 * kd_server_signal_wait() - send @sig, wait for the exit (SIGKILL after
 * @timeout_ms). Return: the exit status (kd_exit_status()), or -1 if it
 * had to be killed.
 */
static inline int kd_server_signal_wait(struct kd_server *s, int sig,
					unsigned int timeout_ms)
{
	double deadline = kd_mono_ms() + timeout_ms;
	int wstatus;

	if (s->pid <= 0)
		return s->status;
	kill(s->pid, sig);
	while (kd_mono_ms() < deadline) {
		pid_t r = waitpid(s->pid, &wstatus, WNOHANG);

		if (r == s->pid) {
			s->pid = -1;
			s->status = kd_exit_status(wstatus);
			return s->status;
		}
		kd_sleep_ms(10);
	}
	diag("kmqd %d did not exit %u ms after signal %d: SIGKILL",
	     (int)s->pid, timeout_ms, sig);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &wstatus, 0);
	s->pid = -1;
	s->status = -1;
	return -1;
}

/* kd_server_stop() - SIGTERM; the exit status (0 expected). */
static inline int kd_server_stop(struct kd_server *s)
{
	return kd_server_signal_wait(s, SIGTERM, KD_STOP_TIMEOUT_MS);
}

/* kd_server_alive() - kmqd still running (not exited, not a zombie). */
static inline bool kd_server_alive(struct kd_server *s)
{
	int wstatus;

	if (s->pid <= 0)
		return false;
	if (waitpid(s->pid, &wstatus, WNOHANG) == s->pid) {
		s->status = kd_exit_status(wstatus);
		diag("kmqd exited with status %d", s->status);
		s->pid = -1;
		return false;
	}
	return true;
}

/* kd_log_sanitizer() - kmqd's log holds an ASan/UBSan/LSan report. */
static inline bool kd_log_sanitizer(const struct kd_server *s)
{
	static const char * const marks[] = {
		"AddressSanitizer", "LeakSanitizer", "runtime error:",
		"UndefinedBehaviorSanitizer", "ThreadSanitizer",
	};
	char *text = kd_read_file(s->log, NULL);
	bool found = false;
	unsigned int i;

	for (i = 0; text && i < ARRAY_SIZE(marks); i++)
		if (strstr(text, marks[i]))
			found = true;
	free(text);
	return found;
}

/* kd_log_count() - lines of kmqd's log containing @needle. */
static inline unsigned int kd_log_count(const struct kd_server *s,
					const char *needle)
{
	char *text = kd_read_file(s->log, NULL);
	unsigned int n = 0;
	const char *p = text;

	while (p) {
		p = strstr(p, needle);
		if (p) {
			n++;
			p += strlen(needle);
		}
	}
	free(text);
	return n;
}

/*
 * kd_server_cleanup() - kill kmqd if still running, then remove its
 * directory; when a test failed its log is kept (and named), and with
 * KD_KEEP set the store too.
 */
static inline void kd_server_cleanup(struct kd_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = -1;
	}
	if (!s->dir[0])
		return;
	if (getenv("KD_KEEP")) {
		diag("kept %s (store, kmqd.log)", s->dir);
		return;
	}
	if (kmq_tap_failed) {
		kd_rm_rf(s->store);
		diag("kept %s", s->log);
		return;
	}
	kd_rm_rf(s->dir);
}

/* kd_rss_kib() - resident set size of @pid in KiB, or -1. */
static inline long kd_rss_kib(pid_t pid)
{
	char path[64], *text, *p;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = kd_read_file(path, NULL);
	p = text ? strstr(text, "VmRSS:") : NULL;
	if (p)
		kib = strtol(p + 6, NULL, 10);
	free(text);
	return kib;
}

/* ---- sockets -------------------------------------------------------- */

/* kd_connect() - a blocking TCP connection to 127.0.0.1:@port, or -errno. */
static inline int kd_connect(unsigned int port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};
	int fd, one = 1, err;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static inline int kd_remaining(double deadline)
{
	double left = deadline - kd_mono_ms();

	return left <= 0 ? 0 : (int)left + 1;
}

/* kd_write_all() - all of @p, or -errno / -ETIMEDOUT. */
static inline int kd_write_all(int fd, const void *p, size_t n,
			       unsigned int timeout_ms)
{
	double deadline = kd_mono_ms() + timeout_ms;
	const uint8_t *b = p;

	while (n) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t w;
		int r;

		r = poll(&pfd, 1, kd_remaining(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -ETIMEDOUT;
		w = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= w;
	}
	return 0;
}

/*
 * kd_read_full() - exactly @n bytes before @deadline (kd_mono_ms()).
 * Return: 0, -EPIPE at end of stream, -ETIMEDOUT, or -errno.
 */
static inline int kd_read_full(int fd, void *p, size_t n, double deadline)
{
	uint8_t *b = p;

	while (n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;
		int pr;

		pr = poll(&pfd, 1, kd_remaining(deadline));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (!pr)
			return -ETIMEDOUT;
		r = recv(fd, b, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -EPIPE;
		b += r;
		n -= r;
	}
	return 0;
}

/*
 * kd_wait_closed() - read and discard until the peer closes.
 * Return: 1 closed (EOF or reset), 0 still open after @timeout_ms;
 * @got (may be NULL): bytes received meanwhile.
 */
static inline int kd_wait_closed(int fd, unsigned int timeout_ms,
				 size_t *got)
{
	double deadline = kd_mono_ms() + timeout_ms;
	uint8_t buf[4096];

	if (got)
		*got = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;
		int pr;

		pr = poll(&pfd, 1, kd_remaining(deadline));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return 0;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return 1;
		if (got)
			*got += r;
	}
}

/* ---- frames --------------------------------------------------------- */

/* A received frame: its raw bytes and the decoded command. */
struct kd_frame {
	uint8_t *raw;
	size_t len;
	struct kmq_rmt_cmd cmd;
	bool decoded;
};

static inline void kd_frame_free(struct kd_frame *f)
{
	if (f->decoded)
		kmq_rmt_cmd_free(&f->cmd);
	free(f->raw);
	memset(f, 0, sizeof(*f));
}

/*
 * kd_recv_frame() - read one frame and decode it.
 * Return: 0, -ETIMEDOUT, -EPIPE (closed), -ECONNRESET, -EPROTO.
 */
static inline int kd_recv_frame(int fd, struct kd_frame *f,
				unsigned int timeout_ms)
{
	double deadline = kd_mono_ms() + timeout_ms;
	uint8_t pre[4];
	uint32_t len;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = kd_read_full(fd, pre, 4, deadline);
	if (ret)
		return ret;
	len = kmq_get_be32(pre);
	if (len < 4 || len > KD_MAX_FRAME_IN)
		return -EPROTO;
	f->raw = malloc((size_t)len + 4);
	if (!f->raw)
		return -ENOMEM;
	memcpy(f->raw, pre, 4);
	f->len = (size_t)len + 4;
	ret = kd_read_full(fd, f->raw + 4, len, deadline);
	if (ret) {
		kd_frame_free(f);
		return ret;
	}
	if (kmq_rmt_decode(f->raw, f->len, &f->cmd)) {
		diag("undecodable frame from kmqd: %s", kmq_rmt_errmsg());
		kd_frame_free(f);
		return -EPROTO;
	}
	f->decoded = true;
	return 0;
}

/* ---- requests ------------------------------------------------------- */

static int32_t kd_opaque_seq = 1000;

/* Server-initiated requests (flag without RESPONSE) seen by kd_call(). */
static unsigned int kd_server_requests;
static int kd_server_request_code;

static inline int32_t kd_next_opaque(void)
{
	return __atomic_fetch_add(&kd_opaque_seq, 1, __ATOMIC_RELAXED);
}

/* kd_req() - a request of @code with a fresh opaque; bails on failure. */
static inline void kd_req(struct kmq_rmt_cmd *c, int code,
			  enum kmq_rmt_serialize ser)
{
	if (kmq_rmt_request(c, code, kd_next_opaque(), ser))
		kmq_tap_bail("kmq_rmt_request failed");
	c->version = 401;
}

static inline void kd_ext(struct kmq_rmt_cmd *c, const char *key,
			  const char *val)
{
	if (kmq_rmt_set_ext(c, key, val))
		kmq_tap_bail("kmq_rmt_set_ext failed");
}

static inline __attribute__((format(printf, 3, 4)))
void kd_extf(struct kmq_rmt_cmd *c, const char *key, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kd_ext(c, key, buf);
}

/*
 * kd_json() - concatenate the NULL-terminated string arguments into @buf
 * (bails out if it does not fit), turning every ' into ": JSON written
 * without escaped quotes, in pieces of a line each.
 */
static inline char *kd_json(char *buf, size_t len, ...)
{
	const char *piece;
	size_t n = 0, i;
	va_list ap;

	va_start(ap, len);
	for (;;) {
		piece = va_arg(ap, const char *);
		if (!piece)
			break;
		if (n + strlen(piece) >= len)
			kmq_tap_bail("JSON text too long for its buffer");
		memcpy(buf + n, piece, strlen(piece));
		n += strlen(piece);
	}
	va_end(ap);
	buf[n] = '\0';
	for (i = 0; i < n; i++)
		if (buf[i] == '\'')
			buf[i] = '"';
	return buf;
}

/* kd_encode() - @c's frame with @body into @out (appended). */
static inline void kd_encode(struct kmq_buf *out, const struct kmq_rmt_cmd *c,
			     const void *body, uint32_t blen)
{
	if (kmq_rmt_encode(out, c, blen) ||
	    (blen && kmq_buf_put(out, body, blen)))
		kmq_tap_bail("kmq_rmt_encode failed");
}

/* kd_send_cmd() - write @c and @body as one frame. */
static inline int kd_send_cmd(int fd, const struct kmq_rmt_cmd *c,
			      const void *body, uint32_t blen)
{
	struct kmq_buf b = { 0 };
	int ret;

	kd_encode(&b, c, body, blen);
	ret = kd_write_all(fd, b.data, b.len, KD_TIMEOUT_MS);
	kmq_buf_free(&b);
	return ret;
}

/*
 * kd_recv_response() - the response with @opaque; server requests met
 * on the way are counted (kd_server_requests) and dropped, as are
 * responses to other opaques.
 */
static inline int kd_recv_response(int fd, int32_t opaque, struct kd_frame *f,
				   unsigned int timeout_ms)
{
	double deadline = kd_mono_ms() + timeout_ms;

	for (;;) {
		int ret = kd_recv_frame(fd, f, kd_remaining(deadline));

		if (ret)
			return ret;
		if ((f->cmd.flag & KMQ_RMT_FLAG_RESPONSE) &&
		    f->cmd.opaque == opaque)
			return 0;
		if (!(f->cmd.flag & KMQ_RMT_FLAG_RESPONSE)) {
			kd_server_requests++;
			kd_server_request_code = f->cmd.code;
		} else {
			diag("response to opaque %d while waiting for %d",
			     f->cmd.opaque, opaque);
		}
		kd_frame_free(f);
	}
}

/* kd_call() - send @c and @body, read its response into @f. */
static inline int kd_call(int fd, const struct kmq_rmt_cmd *c,
			  const void *body, uint32_t blen, struct kd_frame *f,
			  unsigned int timeout_ms)
{
	int ret = kd_send_cmd(fd, c, body, blen);

	memset(f, 0, sizeof(*f));
	if (ret)
		return ret;
	return kd_recv_response(fd, c->opaque, f, timeout_ms);
}

/*
 * kd_callv() - a JSON request of @code with extFields given as key,
 * value pairs ending with NULL; the response code, or -errno (the
 * response, if any, stays in @f: kd_frame_free() it).
 */
static inline int kd_callv(int fd, struct kd_frame *f, int code,
			   const void *body, uint32_t blen, ...)
{
	struct kmq_rmt_cmd c;
	const char *k, *v;
	va_list ap;
	int ret;

	kd_req(&c, code, KMQ_RMT_JSON);
	va_start(ap, blen);
	for (;;) {
		k = va_arg(ap, const char *);
		if (!k)
			break;
		v = va_arg(ap, const char *);
		kd_ext(&c, k, v);
	}
	va_end(ap);
	ret = kd_call(fd, &c, body, blen, f, KD_TIMEOUT_MS);
	kmq_rmt_cmd_free(&c);
	return ret ? ret : f->cmd.code;
}

/* kd_remark() - the response's remark, "" when absent. */
static inline
const char *kd_remark(const struct kd_frame *f)
{
	return f->decoded && f->cmd.remark ? f->cmd.remark : "";
}

/* kd_ext_i64() - an extField of a response as an integer, or @def. */
static inline int64_t kd_ext_i64(const struct kd_frame *f, const char *key,
				 int64_t def)
{
	int64_t v;

	if (!f->decoded || kmq_rmt_ext_i64(&f->cmd, key, &v))
		return def;
	return v;
}

/* kd_body_json() - the response body parsed as JSON, or NULL. */
static inline json_t *kd_body_json(const struct kd_frame *f)
{
	if (!f->decoded || !f->cmd.body_len)
		return NULL;
	return json_loadb((const char *)f->cmd.body, f->cmd.body_len, 0, NULL);
}

/* ---- name server ---------------------------------------------------- */

/* kd_cluster_has() - 106 on @fd lists broker address @addr: 1, 0, -err. */
static inline int kd_cluster_has(int fd, const char *addr)
{
	struct kd_frame f;
	json_t *info, *b, *addrs, *a;
	const char *name, *id;
	int ret, found = 0;

	ret = kd_callv(fd, &f, KD_GET_BROKER_CLUSTER_INFO, NULL, 0, NULL);
	if (ret) {
		kd_frame_free(&f);
		return ret < 0 ? ret : -EPROTO;
	}
	info = kd_body_json(&f);
	json_object_foreach(json_object_get(info, "brokerAddrTable"), name, b) {
		addrs = json_object_get(b, "brokerAddrs");
		json_object_foreach(addrs, id, a)
			if (json_is_string(a) &&
			    !strcmp(json_string_value(a), addr))
				found = 1;
	}
	json_decref(info);
	kd_frame_free(&f);
	return found;
}

/*
 * kd_route() - 105 for @topic: the response code (or -errno) and, on
 * success, the parsed body in *@route (json_decref() it).
 */
static inline int kd_route(int fd, const char *topic, json_t **route,
			   char *remark, size_t rlen)
{
	struct kd_frame f;
	int ret;

	*route = NULL;
	ret = kd_callv(fd, &f, KD_GET_ROUTEINFO_BY_TOPIC, NULL, 0,
		       "topic", topic, NULL);
	if (remark)
		snprintf(remark, rlen, "%s", kd_remark(&f));
	if (!ret)
		*route = kd_body_json(&f);
	kd_frame_free(&f);
	return ret;
}

/*
 * kd_wait_route() - poll 105 until @topic has a route (@want_ok) or has
 * none (!@want_ok), for up to @timeout_ms. Return: the last code.
 */
static inline int kd_wait_route(unsigned int ns_port, const char *topic,
				bool want_ok, json_t **route,
				unsigned int timeout_ms)
{
	double deadline = kd_mono_ms() + timeout_ms;
	int fd = kd_connect(ns_port), ret = -ECONNREFUSED;

	*route = NULL;
	if (fd < 0)
		return fd;
	for (;;) {
		json_decref(*route);
		ret = kd_route(fd, topic, route, NULL, 0);
		if ((want_ok && !ret) || (!want_ok && ret > 0) || ret < 0 ||
		    kd_mono_ms() > deadline)
			break;
		kd_sleep_ms(25);
	}
	close(fd);
	return ret;
}

/* ---- topics, offsets ------------------------------------------------ */

/* kd_create_topic() - 17 on the broker; the response code. */
static inline int kd_create_topic(int fd, const char *topic,
				  unsigned int queues)
{
	struct kd_frame f;
	char n[16];
	int ret;

	snprintf(n, sizeof(n), "%u", queues);
	ret = kd_callv(fd, &f, KD_UPDATE_AND_CREATE_TOPIC, NULL, 0,
		       "topic", topic, "defaultTopic", "TBW102",
		       "readQueueNums", n, "writeQueueNums", n, "perm", "6",
		       "topicFilterType", "SINGLE_TAG", "topicSysFlag", "0",
		       "order", "false", NULL);
	if (ret)
		diag("create topic %s: code %d %s", topic, ret, kd_remark(&f));
	kd_frame_free(&f);
	return ret;
}

/*
 * kd_queue_offset() - 30 (max) or 31 (min) or 32 (earliest store time)
 * of a queue; the value, or -1000 - code on an error response.
 */
static inline int64_t kd_queue_offset(int fd, int code, const char *topic,
				      unsigned int qid)
{
	struct kd_frame f;
	char q[16];
	int64_t v;
	int ret;

	snprintf(q, sizeof(q), "%u", qid);
	ret = kd_callv(fd, &f, code, NULL, 0, "topic", topic, "queueId", q,
		       NULL);
	if (ret)
		v = ret < 0 ? ret : -1000 - ret;
	else
		v = kd_ext_i64(&f, code == KD_GET_EARLIEST_MSG_STORETIME ?
			       "timestamp" : "offset", -2);
	kd_frame_free(&f);
	return v;
}

/*
 * kd_offset_commit() - 15 UPDATE_CONSUMER_OFFSET of (@group, @topic,
 * @qid) to @off; the response code.
 */
static inline int kd_offset_commit(int fd, const char *group,
				   const char *topic, unsigned int qid,
				   int64_t off)
{
	struct kd_frame f;
	char q[16], o[32];
	int ret;

	snprintf(q, sizeof(q), "%u", qid);
	snprintf(o, sizeof(o), "%" PRId64, off);
	ret = kd_callv(fd, &f, KD_UPDATE_CONSUMER_OFFSET, NULL, 0,
		       "consumerGroup", group, "topic", topic, "queueId", q,
		       "commitOffset", o, NULL);
	kd_frame_free(&f);
	return ret;
}

/*
 * kd_offset_query() - 14 QUERY_CONSUMER_OFFSET of (@group, @topic, @qid):
 * the offset field (-1 if none), the response code in @code.
 */
static inline int64_t kd_offset_query(int fd, const char *group,
				      const char *topic, unsigned int qid,
				      int *code)
{
	struct kd_frame f;
	char q[16];
	int64_t v;

	snprintf(q, sizeof(q), "%u", qid);
	*code = kd_callv(fd, &f, KD_QUERY_CONSUMER_OFFSET, NULL, 0,
			 "consumerGroup", group, "topic", topic, "queueId", q,
			 NULL);
	v = kd_ext_i64(&f, "offset", -1);
	kd_frame_free(&f);
	return v;
}

/*
 * kd_runtime_table() - the "table" object of 28 GET_BROKER_RUNTIME_INFO
 * (json_decref() it), or NULL.
 */
static inline json_t *kd_runtime_table(int fd)
{
	struct kd_frame f;
	json_t *doc = NULL, *t;

	if (!kd_callv(fd, &f, KD_GET_BROKER_RUNTIME_INFO, NULL, 0, NULL))
		doc = kd_body_json(&f);
	kd_frame_free(&f);
	t = json_incref(json_object_get(doc, "table"));
	json_decref(doc);
	return t;
}

/* ---- sends ---------------------------------------------------------- */

struct kd_msg {
	const char *topic;
	int queue_id;			/* -1: the broker picks */
	const void *body;
	uint32_t body_len;
	const char *props;		/* NULL: none */
	uint32_t flag;
	uint32_t sys_flag;
	uint32_t reconsume_times;
	int max_reconsume_times;	/* < 0: not sent */
	uint64_t born_ts;		/* 0: now */
};

struct kd_sent {
	int code;			/* response code, or -errno */
	char remark[256];
	char msg_id[36 * 1024];	/* a batch of 1000: 1000 ids */
	int64_t queue_id;
	int64_t queue_offset;
	int ser;			/* serialization of the response */
};

/*
 * kd_send_req() - build a send of @code: SEND_MESSAGE (10, named
 * fields), SEND_MESSAGE_V2 (310, fields a..n) or SEND_BATCH_MESSAGE
 * (320, v2 fields with batch true).
 */
static inline void kd_send_req(struct kmq_rmt_cmd *c, int code,
			       const struct kd_msg *m,
			       enum kmq_rmt_serialize ser)
{
	static const char * const names[][2] = {
		{ "producerGroup", "a" }, { "topic", "b" },
		{ "defaultTopic", "c" }, { "defaultTopicQueueNums", "d" },
		{ "queueId", "e" }, { "sysFlag", "f" },
		{ "bornTimestamp", "g" }, { "flag", "h" },
		{ "properties", "i" }, { "reconsumeTimes", "j" },
		{ "unitMode", "k" }, { "maxReconsumeTimes", "l" },
		{ "batch", "m" },
	};
	char vals[ARRAY_SIZE(names)][64];
	const char *v[ARRAY_SIZE(names)];
	unsigned int i, k = code == KD_SEND_MESSAGE ? 0 : 1;

	snprintf(vals[4], sizeof(vals[4]), "%d", m->queue_id);
	snprintf(vals[5], sizeof(vals[5]), "%u", m->sys_flag);
	snprintf(vals[6], sizeof(vals[6]), "%" PRIu64,
		 m->born_ts ? m->born_ts : kd_now_ms());
	snprintf(vals[7], sizeof(vals[7]), "%u", m->flag);
	snprintf(vals[9], sizeof(vals[9]), "%u", m->reconsume_times);
	snprintf(vals[11], sizeof(vals[11]), "%d", m->max_reconsume_times);
	v[0] = "kd_producer";
	v[1] = m->topic;
	v[2] = "TBW102";
	v[3] = "4";
	v[4] = vals[4];
	v[5] = vals[5];
	v[6] = vals[6];
	v[7] = vals[7];
	v[8] = m->props;
	v[9] = vals[9];
	v[10] = "false";
	v[11] = m->max_reconsume_times >= 0 ? vals[11] : NULL;
	v[12] = code == KD_SEND_BATCH_MESSAGE ? "true" : "false";
	kd_req(c, code, ser);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (v[i])
			kd_ext(c, names[i][k], v[i]);
}

/* kd_sent_from() - the fields of a send response. */
static inline void kd_sent_from(const struct kd_frame *f, struct kd_sent *out)
{
	const char *id = kmq_rmt_ext(&f->cmd, "msgId");

	out->code = f->cmd.code;
	snprintf(out->remark, sizeof(out->remark), "%s", kd_remark(f));
	snprintf(out->msg_id, sizeof(out->msg_id), "%s", id ? id : "");
	out->queue_id = kd_ext_i64(f, "queueId", -1);
	out->queue_offset = kd_ext_i64(f, "queueOffset", -1);
	out->ser = f->len >= 8 ? f->raw[4] : -1;
}

/* kd_send_ser() - send one message (or a batch body) and read the answer. */
static inline int kd_send_ser(int fd, int code, const struct kd_msg *m,
			      enum kmq_rmt_serialize ser, struct kd_sent *out)
{
	struct kmq_rmt_cmd c;
	struct kd_frame f;
	int ret;

	memset(out, 0, sizeof(*out));
	out->queue_id = -1;
	out->queue_offset = -1;
	kd_send_req(&c, code, m, ser);
	ret = kd_call(fd, &c, m->body, m->body_len, &f, KD_TIMEOUT_MS);
	kmq_rmt_cmd_free(&c);
	if (ret) {
		out->code = ret;
		return ret;
	}
	kd_sent_from(&f, out);
	kd_frame_free(&f);
	return out->code;
}

static inline int kd_send(int fd, int code, const struct kd_msg *m,
			  struct kd_sent *out)
{
	return kd_send_ser(fd, code, m, KMQ_RMT_JSON, out);
}

/*
 * kd_batch_add() - one SEND_BATCH_MESSAGE item: [size][magic 0][crc 0]
 * [flag][bodyLen][body][propLen][props].
 */
static inline void kd_batch_add(struct kmq_buf *b, uint32_t flag,
				const void *body, uint32_t blen,
				const char *props)
{
	uint32_t plen = props ? strlen(props) : 0;
	uint8_t h[20], p2[2];

	kmq_put_be32(h, 20 + blen + 2 + plen);
	kmq_put_be32(h + 4, 0);
	kmq_put_be32(h + 8, 0);
	kmq_put_be32(h + 12, flag);
	kmq_put_be32(h + 16, blen);
	kmq_put_be16(p2, plen);
	if (kmq_buf_put(b, h, sizeof(h)) || kmq_buf_put(b, body, blen) ||
	    kmq_buf_put(b, p2, 2) || kmq_buf_put(b, props, plen))
		kmq_tap_bail("out of memory");
}

/* kd_props2() - "n1\1v1\2n2\2v2\2" (n2 may be NULL) into @buf. */
static inline char *kd_props2(char *buf, size_t len, const char *n1,
			      const char *v1, const char *n2, const char *v2)
{
	if (n2)
		snprintf(buf, len, "%s\x01%s\x02%s\x01%s\x02", n1, v1, n2, v2);
	else
		snprintf(buf, len, "%s\x01%s\x02", n1, v1);
	return buf;
}

/* ---- pulls ---------------------------------------------------------- */

struct kd_pull_args {
	const char *group;
	const char *topic;
	unsigned int queue_id;
	int64_t offset;
	unsigned int max_msgs;
	unsigned int sys_flag;
	int64_t suspend_ms;
	const char *subscription;	/* NULL: not sent */
	int64_t commit_offset;
};

struct kd_pulled {
	int code;			/* response code, or -errno */
	char remark[256];
	bool has_next;
	int64_t next;
	int64_t min;
	int64_t max;
	uint8_t *body;			/* owned copy */
	uint32_t body_len;
};

static inline void kd_pulled_free(struct kd_pulled *p)
{
	free(p->body);
	memset(p, 0, sizeof(*p));
}

static inline void kd_pull_req(struct kmq_rmt_cmd *c,
			       const struct kd_pull_args *a)
{
	kd_req(c, KD_PULL_MESSAGE, KMQ_RMT_JSON);
	kd_ext(c, "consumerGroup", a->group ? a->group : KD_VERIFY_GROUP);
	kd_ext(c, "topic", a->topic);
	kd_extf(c, "queueId", "%u", a->queue_id);
	kd_extf(c, "queueOffset", "%" PRId64, a->offset);
	kd_extf(c, "maxMsgNums", "%u", a->max_msgs ? a->max_msgs : 32);
	kd_extf(c, "sysFlag", "%u", a->sys_flag);
	kd_extf(c, "commitOffset", "%" PRId64, a->commit_offset);
	kd_extf(c, "suspendTimeoutMillis", "%" PRId64, a->suspend_ms);
	if (a->subscription)
		kd_ext(c, "subscription", a->subscription);
	kd_ext(c, "subVersion", "0");
	kd_ext(c, "expressionType", "TAG");
}

static inline void kd_pulled_from(const struct kd_frame *f,
				  struct kd_pulled *out)
{
	memset(out, 0, sizeof(*out));
	out->code = f->cmd.code;
	snprintf(out->remark, sizeof(out->remark), "%s", kd_remark(f));
	out->has_next = kmq_rmt_ext(&f->cmd, "nextBeginOffset");
	out->next = kd_ext_i64(f, "nextBeginOffset", -1);
	out->min = kd_ext_i64(f, "minOffset", -1);
	out->max = kd_ext_i64(f, "maxOffset", -1);
	if (f->cmd.body_len) {
		out->body = malloc(f->cmd.body_len);
		if (!out->body)
			kmq_tap_bail("out of memory");
		memcpy(out->body, f->cmd.body, f->cmd.body_len);
		out->body_len = f->cmd.body_len;
	}
}

/* kd_pull() - one pull, answered within @timeout_ms; the code. */
static inline int kd_pull(int fd, const struct kd_pull_args *a,
			  struct kd_pulled *out, unsigned int timeout_ms)
{
	struct kmq_rmt_cmd c;
	struct kd_frame f;
	int ret;

	memset(out, 0, sizeof(*out));
	kd_pull_req(&c, a);
	ret = kd_call(fd, &c, NULL, 0, &f, timeout_ms);
	kmq_rmt_cmd_free(&c);
	if (ret) {
		out->code = ret;
		return ret;
	}
	kd_pulled_from(&f, out);
	kd_frame_free(&f);
	return out->code;
}

/* ---- records -------------------------------------------------------- */

/*
 * kd_records() - split a pull body into records (CRC checked).
 * Return: how many (at most @max are stored), or a negated kmq_fmt_err
 * when a record is malformed or bytes are left over.
 */
static inline int kd_records(const uint8_t *body, uint32_t len,
			     struct kmq_record *recs, unsigned int max)
{
	uint32_t off = 0;
	int n = 0, ret;

	while (off < len) {
		struct kmq_record r;

		ret = kmq_record_decode(body + off, len - off, &r,
					KMQ_DECODE_CRC);
		if (ret)
			return ret < 0 ? ret : -KMQ_FMT_EBLANK;
		if ((unsigned int)n < max)
			recs[n] = r;
		n++;
		off += r.total_size;
	}
	return n;
}

/* kd_rec_prop() - property @name of @r into @buf; false if absent. */
static inline bool kd_rec_prop(const struct kmq_record *r, const char *name,
			       char *buf, size_t len)
{
	const char *v;
	uint32_t vl;

	if (kmq_props_get(r->props, r->props_len, name, strlen(name), &v, &vl))
		return false;
	snprintf(buf, len, "%.*s", (int)vl, v);
	return true;
}

static inline bool kd_rec_topic_is(const struct kmq_record *r,
				   const char *topic)
{
	return r->topic_len == strlen(topic) &&
	       !memcmp(r->topic, topic, r->topic_len);
}

static inline bool kd_rec_body_is(const struct kmq_record *r,
				  const void *body, uint32_t len)
{
	return r->body_len == len && (!len || !memcmp(r->body, body, len));
}

/* kd_rec_msgid() - the offset message id of @r. */
static inline void kd_rec_msgid(const struct kmq_record *r, char *out)
{
	kmq_msgid_encode(out, &r->store_host, r->phys_offset);
}

/*
 * kd_fetch() - the record at (@topic, @qid, @offset) copied into @copy
 * (KMQ_REC_FIXED_V4 + body + ... bytes, malloc'ed) and decoded into @r.
 * Return: 0, or the pull's code / a negated error.
 */
static inline int kd_fetch(int fd, const char *topic, unsigned int qid,
			   int64_t offset, struct kmq_record *r, uint8_t **copy)
{
	struct kd_pull_args a = {
		.topic = topic, .queue_id = qid, .offset = offset,
		.max_msgs = 1,
	};
	struct kd_pulled p;
	int ret = kd_pull(fd, &a, &p, KD_TIMEOUT_MS);

	*copy = NULL;
	if (ret) {
		kd_pulled_free(&p);
		return ret;
	}
	ret = kd_records(p.body, p.body_len, r, 1);
	if (ret != 1 || r->queue_offset != (uint64_t)offset) {
		kd_pulled_free(&p);
		return ret < 0 ? ret : -EBADMSG;
	}
	*copy = p.body;
	return 0;
}

/* ---- acknowledged messages ------------------------------------------ */

struct kd_ack {
	char topic[KMQ_TOPIC_MAX_V1 + 1];
	uint32_t queue_id;
	uint64_t queue_offset;
	uint32_t body_len;
	uint32_t body_crc;
};

struct kd_acks {
	struct kd_ack *v;
	unsigned int n;
	unsigned int cap;
	pthread_mutex_t lock;
};

#define KD_ACKS_INIT	{ .lock = PTHREAD_MUTEX_INITIALIZER }

static inline void kd_acks_add(struct kd_acks *a, const char *topic,
			       uint32_t qid, uint64_t qoff, const void *body,
			       uint32_t blen)
{
	struct kd_ack *k;

	pthread_mutex_lock(&a->lock);
	if (a->n == a->cap) {
		unsigned int cap = a->cap ? a->cap * 2 : 256;
		struct kd_ack *nv = realloc(a->v, cap * sizeof(*nv));

		if (!nv)
			kmq_tap_bail("out of memory");
		a->v = nv;
		a->cap = cap;
	}
	k = &a->v[a->n++];
	snprintf(k->topic, sizeof(k->topic), "%s", topic);
	k->queue_id = qid;
	k->queue_offset = qoff;
	k->body_len = blen;
	k->body_crc = kmq_body_crc(body, blen);
	pthread_mutex_unlock(&a->lock);
}

static inline void kd_acks_free(struct kd_acks *a)
{
	free(a->v);
	a->v = NULL;
	a->n = 0;
	a->cap = 0;
}

/*
 * kd_acks_verify() - pull every acknowledged message back from @port.
 * Return: how many are missing or differ (the first few are diagnosed).
 */
static inline unsigned int kd_acks_verify(unsigned int port,
					  const struct kd_acks *a)
{
	unsigned int i, bad = 0;
	int fd = kd_connect(port);

	if (fd < 0)
		return a->n ? a->n : 1;
	for (i = 0; i < a->n; i++) {
		const struct kd_ack *k = &a->v[i];
		struct kmq_record r;
		uint8_t *copy;
		int ret;

		ret = kd_fetch(fd, k->topic, k->queue_id, k->queue_offset, &r,
			       &copy);
		if (!ret && (r.body_len != k->body_len ||
			     kmq_body_crc(r.body, r.body_len) != k->body_crc ||
			     !kd_rec_topic_is(&r, k->topic)))
			ret = -EBADMSG;
		free(copy);
		if (ret && bad++ < 5)
			diag("acknowledged %s/%u offset %" PRIu64 ": %d",
			     k->topic, k->queue_id, k->queue_offset, ret);
		if (ret == -EPIPE || ret == -ETIMEDOUT) {
			bad += a->n - i - 1;
			break;
		}
	}
	close(fd);
	return bad;
}

/*
 * kd_health() - on a new connection, send one message to KdHealth and
 * pull it back. Return: true when both worked (the message is added to
 * @acks).
 */
static inline bool kd_health(unsigned int port, struct kd_acks *acks)
{
	static unsigned int seq;
	char body[64];
	struct kd_msg m = { .topic = KD_HEALTH_TOPIC, .queue_id = 0,
			    .max_reconsume_times = -1 };
	struct kmq_record r;
	struct kd_sent s;
	uint8_t *copy = NULL;
	int fd = kd_connect(port), ret;
	bool good = false;

	if (fd < 0) {
		diag("health: connect: %s", strerror(-fd));
		return false;
	}
	snprintf(body, sizeof(body), "health-%u-%" PRIu64, seq++, kd_now_ms());
	m.body = body;
	m.body_len = strlen(body);
	ret = kd_send(fd, KD_SEND_MESSAGE_V2, &m, &s);
	if (ret) {
		diag("health: send: %d %s", ret, s.remark);
		goto out;
	}
	if (acks)
		kd_acks_add(acks, m.topic, 0, s.queue_offset, body,
			    m.body_len);
	ret = kd_fetch(fd, m.topic, 0, s.queue_offset, &r, &copy);
	if (ret) {
		diag("health: pull offset %" PRId64 ": %d", s.queue_offset,
		     ret);
		goto out;
	}
	good = kd_rec_body_is(&r, body, m.body_len);
out:
	free(copy);
	close(fd);
	return good;
}

#endif /* KMQD_TEST_UTIL_H */
