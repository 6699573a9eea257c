// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_reset_helper.c - both halves of the hard-reset test (run by the VM's
 * init, judged by kmod/scripts/vm/vmtest.sh).
 *
 * KMQ_MODE=reset-write: attach a SYNC_FLUSH store on the disk and append
 * records for ever, printing "KMQ-ACK <queue offset> <phys offset> <body
 * crc>" for each append acknowledged as durable (status KMQ_APPEND_OK).
 * The host kills the VM after enough of them.
 *
 * KMQ_MODE=reset-verify: after the reboot, attach the same store (recovery
 * runs), read the whole queue, check every record (decodes, body CRC,
 * body is the one written for its queue offset, offsets contiguous),
 * print "KMQ-REC <queue offset> <phys offset> <body crc>" for each, as
 * TAP. The host checks every acknowledged record is among them.
 *
 * The body of queue offset N is kmq_st_fill() of seed N, 100 to 2099
 * bytes long: the record says by itself what it must contain.
 */
#include <stdarg.h>

#include "kselftest.h"
#include "kmq_st.h"

#define RESET_DIR_NAME	"reset-store"
#define RESET_NAME	"reset"
#define RESET_TOPIC	"ResetTopic"
#define RESET_SEG	(1u << 20)
#define RESET_RING	32
#define RESET_MAX	200000

static __u32 body_len(__u64 n)
{
	return 100 + (__u32)((n * 7919) % 2000);
}

static void attach_init(struct kmq_st_store *st, __u32 flags)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->dir, sizeof(st->dir), "%s/%s", kmq_st_base(),
		 RESET_DIR_NAME);
	snprintf(st->name, sizeof(st->name), "%s", RESET_NAME);
	kmq_st_attach_init(st, RESET_SEG, RESET_RING, KMQ_FLUSH_MODE_SYNC);
	st->att.flags = flags;
	st->att.flush_timeout_ms = 10000;
}

static int do_write(void)
{
	struct kmq_append_res res;
	struct kmq_append_msg m;
	struct kmq_st_store st;
	struct kmq_append a;
	char *body;
	__u64 n;
	int ret;

	attach_init(&st, KMQ_ATTACH_CREATE);
	if (mkdir(st.dir, 0755) && errno != EEXIST) {
		printf("# mkdir %s: %s\n", st.dir, strerror(errno));
		return 1;
	}
	st.fd = kmq_st_open();
	if (st.fd < 0) {
		printf("# open %s: %s\n", KMQ_ST_DEV, strerror(errno));
		return 1;
	}
	ret = kmq_st_attach(&st);
	if (ret) {
		printf("# attach %s: %s\n", st.dir, strerror(-ret));
		return 1;
	}
	ret = kmq_st_topic(st.fd, RESET_TOPIC, 1);
	if (ret) {
		printf("# topic: %s\n", strerror(-ret));
		return 1;
	}
	body = malloc(4096);
	if (!body)
		return 1;
	for (n = 0; n < RESET_MAX; n++) {
		__u32 len = body_len(n);

		kmq_st_fill(body, len, n);
		kmq_st_msg(&m, RESET_TOPIC, 0, body, len, NULL);
		ret = kmq_st_append(st.fd, &m, &res, 1, &a);
		if (ret) {
			printf("# append %llu: %s\n", (unsigned long long)n,
			       strerror(-ret));
			return 1;
		}
		if (res.queue_offset != n) {
			printf("# append %llu got queue offset %llu\n",
			       (unsigned long long)n,
			       (unsigned long long)res.queue_offset);
			return 1;
		}
		if (a.status != KMQ_APPEND_OK) {
			/* Stored but not known durable: not acknowledged. */
			printf("# append %llu: status %u\n",
			       (unsigned long long)n, a.status);
			continue;
		}
		printf("KMQ-ACK %llu %llu %u\n", (unsigned long long)n,
		       (unsigned long long)res.phys_offset,
		       kmq_body_crc(body, len));
		fflush(stdout);
	}
	printf("# wrote %d records without being killed\n", RESET_MAX);
	return 0;
}

static int do_verify(void)
{
	__u64 next = 0, nrec = 0, bad = 0, gaps = 0;
	struct kmq_queue_info qi;
	struct kmq_st_store st;
	struct kmq_record rec;
	struct kmq_read r;
	char *buf;
	int ret;

	ksft_print_header();
	ksft_set_plan(4);
	attach_init(&st, 0);
	st.fd = kmq_st_open();
	ret = st.fd < 0 ? -errno : kmq_st_attach(&st);
	if (ret) {
		ksft_test_result_fail("re-attach after the hard reset: %s\n",
				      strerror(-ret));
		ksft_exit_fail();
	}
	ksft_test_result_pass("re-attach after the hard reset (recovery)\n");
	ksft_print_msg("write offset %llu after recovery\n",
		       (unsigned long long)st.att.write_offset);

	ret = kmq_st_queue_info(st.fd, RESET_TOPIC, 0, &qi);
	ksft_test_result(ret == 0 && qi.min_offset == 0,
			 "queue info: offsets from 0\n");
	buf = malloc(KMQ_ST_BUF);
	if (!buf)
		ksft_exit_fail();
	while (!ret && next < qi.max_offset) {
		__u32 pos = 0;

		kmq_st_read_init(&r, RESET_TOPIC, 0, next, buf, KMQ_ST_BUF,
				 1000);
		ret = kmq_st_read(st.fd, &r);
		if (ret || r.status != KMQ_RD_FOUND || !r.count) {
			ksft_print_msg("read at %llu: ret %d status %u\n",
				       (unsigned long long)next, ret,
				       r.status);
			bad++;
			break;
		}
		while (kmq_st_next(buf, r.bytes, &pos, &rec) == 0) {
			if (rec.queue_offset != next)
				gaps++;
			if (rec.body_len != body_len(rec.queue_offset) ||
			    !kmq_st_body_ok(rec.body, rec.body_len,
					    rec.queue_offset))
				bad++;
			printf("KMQ-REC %llu %llu %u\n",
			       (unsigned long long)rec.queue_offset,
			       (unsigned long long)rec.phys_offset,
			       rec.body_crc);
			next = rec.queue_offset + 1;
			nrec++;
		}
		if (pos != r.bytes)
			bad++;
	}
	ksft_print_msg("%llu records, %llu bad, %llu out of order\n",
		       (unsigned long long)nrec, (unsigned long long)bad,
		       (unsigned long long)gaps);
	ksft_test_result(!bad && nrec == qi.max_offset,
			 "every record intact: decodes, body CRC, body of its offset\n");
	ksft_test_result(!gaps, "queue offsets contiguous\n");
	kmq_st_detach(st.fd, st.name);
	close(st.fd);
	free(buf);
	ksft_finished();
	return 0;
}

int main(void)
{
	const char *mode = getenv("KMQ_MODE");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mode && !strcmp(mode, "reset-write"))
		return do_write();
	if (mode && !strcmp(mode, "reset-verify"))
		return do_verify();
	printf("# KMQ_MODE must be reset-write or reset-verify\n");
	return 2;
}
