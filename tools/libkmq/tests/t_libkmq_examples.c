// SPDX-License-Identifier: GPL-2.0-only
/*
 * t_libkmq_examples.c - the C examples of docs/client.md (docs/examples,
 * built against the shared library into $(BUILD)/examples) run against a
 * real kmqd, and every C block of docs/client.md found in one of them, so
 * the guide shows code that compiles and works.
 *
 * The examples are "$(dirname argv[0])/../examples/NAME"; the guide is
 * docs/client.md from the source tree ($LK_SRCDIR, else the working
 * directory, as make check runs from it).
 */
#include "lk_test_util.h"

static char exdir[PATH_MAX];

/* Run example @name with @args; its stdout into @out. Return: exit code. */
static int run(const char *name, const char *a1, const char *a2,
	       const char *a3, char *out, size_t olen)
{
	char path[PATH_MAX + 64];
	double deadline = kd_mono_ms() + 60000;
	size_t n = 0;
	int pfd[2], status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", exdir, name);
	if (pipe(pfd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (!pid) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(path, name, a1, a2, a3, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while (pid > 0 && kd_mono_ms() < deadline) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 200) <= 0)
			continue;
		r = read(pfd[0], out + n, olen - 1 - n);
		if (r <= 0)
			break;
		n += r;
		if (n == olen - 1)
			n = 0;	/* keep the tail */
	}
	out[n] = '\0';
	close(pfd[0]);
	if (kd_mono_ms() >= deadline)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return kd_exit_status(status);
}

static unsigned int count_of(const char *text, const char *needle)
{
	unsigned int n = 0;

	while ((text = strstr(text, needle))) {
		n++;
		text += strlen(needle);
	}
	return n;
}

/* Every ```c block of the guide is in one of the examples, verbatim. */
static void check_guide(void)
{
	static const char * const names[] = {
		"producer.c", "consumer.c", "ordered.c", "pull.c", "admin.c",
	};
	const char *src = getenv("LK_SRCDIR");
	char path[PATH_MAX], *guide, *all = NULL, *p, *end;
	unsigned int i, blocks = 0, missing = 0;
	size_t total = 0;

	snprintf(path, sizeof(path), "%s/docs/client.md", src ? src : ".");
	guide = kd_read_file(path, NULL);
	if (!guide) {
		ok(0, "read %s", path);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		char *text;
		size_t len;

		snprintf(path, sizeof(path), "%s/docs/examples/%s",
			 src ? src : ".", names[i]);
		text = kd_read_file(path, &len);
		if (!text)
			continue;
		all = realloc(all, total + len + 1);
		memcpy(all + total, text, len + 1);
		total += len;
		free(text);
	}
	for (p = guide; all && (p = strstr(p, "```c\n")); p = end + 3) {
		p += 5;
		end = strstr(p, "```");
		if (!end)
			break;
		*end = '\0';
		blocks++;
		if (!strstr(all, p)) {
			missing++;
			diag("a C block of docs/client.md is in no example:\n%s",
			     p);
		}
	}
	ok(blocks >= 5 && !missing,
	   "docs/client.md: its %u C blocks are all in docs/examples/*.c (%u missing)",
	   blocks, missing);
	free(all);
	free(guide);
}

int main(int argc, char **argv)
{
	static const char * const args[] = {
		"--ioThreads=2", "--mapedFileSizeCommitLog=16777216", NULL,
	};
	static char out[1 << 16];
	struct lk_env env;
	char *slash;

	snprintf(exdir, sizeof(exdir), "%s", argv[0]);
	slash = strrchr(exdir, '/');
	snprintf(slash ? slash + 1 : exdir,
		 sizeof(exdir) - (slash ? slash + 1 - exdir : 0),
		 "../examples");
	check_guide();
	lk_start(&env, argv[0], "lkex", args);
	lk_topic(&env, "DemoTopic", 4);
	lk_topic(&env, "OrderTopic", 4);

	is_int(run("producer", env.ns, "DemoTopic", "10", out, sizeof(out)),
	       0, "examples/producer exits 0");
	ok(count_of(out, "SEND_OK") == 10 &&
	   strstr(out, "async: 10 of 10 acknowledged"),
	   "10 sync sends SEND_OK, 10 async acknowledged");
	is_int(run("consumer", env.ns, "DemoTopic", "10", out, sizeof(out)),
	       0, "examples/consumer exits 0");
	ok(count_of(out, "hello ") == 10 && strstr(out, "(tags TagA)"),
	   "it consumed the 10 tagged messages (TagA || TagB)");
	is_int(run("ordered", env.ns, "OrderTopic", NULL, out, sizeof(out)),
	       0, "examples/ordered exits 0");
	ok(!!strstr(out, "100 messages, 0 out of order"),
	   "100 ordered messages, none out of order");
	is_int(run("pull", env.ns, "DemoTopic", NULL, out, sizeof(out)), 0,
	       "examples/pull exits 0");
	ok(!!strstr(out, "pulled 21"),
	   "it pulled all 21 (10 sync, 10 async, 1 oneway)");
	is_int(run("pull", env.ns, "DemoTopic", NULL, out, sizeof(out)), 1,
	       "run again, it starts at the committed offsets: nothing left");
	is_int(run("admin", env.ns, "DemoTopic", NULL, out, sizeof(out)), 0,
	       "examples/admin exits 0");
	ok(strstr(out, "4 read, 4 write queues") &&
	   strstr(out, "max offset "), "it printed the route and an offset");
	kd_server_cleanup(&env.s);
	return kmq_tap_done();
}
