// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * t_msgid.c - TAP tests of the offset message id (uapi/kmq_msgid.c):
 * hex of store address, be32 port and be64 commitlog offset.
 */
#include <string.h>

#include "kmq_tap.h"
#include "kmq_msgid.h"

static void test_v4(void)
{
	/*
	 * 127.0.0.1 = 7F000001, port 10911 = 0x2a9f -> 00002A9F,
	 * offset 0x123 -> 0000000000000123.
	 */
	static const char want[] = "7F00000100002A9F0000000000000123";
	struct kmq_host h, got;
	char id[KMQ_MSGID_MAX + 1];
	__u64 off = 0;

	memset(&h, 0, sizeof(h));
	memcpy(h.addr, "\x7f\x00\x00\x01", 4);
	h.port = 10911;
	memset(id, '#', sizeof(id));
	is_int(kmq_msgid_encode(id, &h, 0x123), 32, "v4 id is 32 chars");
	ok(!strcmp(id, want), "v4 id %s", id);

	memset(&got, 0xaa, sizeof(got));
	is_int(kmq_msgid_decode(want, 32, &got, &off), 0, "v4 id decodes");
	ok(!got.v6, "decoded host is v4");
	is_mem(got.addr, "\x7f\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"
	       "\x00\x00\x00\x00", 16, "address, the rest zeroed");
	is_int(got.port, 10911, "port");
	ok(off == 0x123, "offset");

	is_int(kmq_msgid_decode("7f00000100002a9f0000000000000123", 32, &got,
				&off), 0, "lowercase accepted");
	is_int(kmq_msgid_decode("7f00000100002A9f000000000000012F", 32, &got,
				&off), 0, "mixed case accepted");
	ok(off == 0x12f, "mixed case offset");
}

static void test_v6(void)
{
	/*
	 * 2001:db8::1 = 20010DB8000000000000000000000001,
	 * port 8080 = 0x1f90 -> 00001F90, offset 2^64 - 1 -> 16 F.
	 */
	static const char want[] =
		"20010DB800000000000000000000000100001F90FFFFFFFFFFFFFFFF";
	static const unsigned char addr[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
	};
	struct kmq_host h, got;
	char id[KMQ_MSGID_MAX + 1];
	__u64 off = 0;

	memset(&h, 0, sizeof(h));
	memcpy(h.addr, addr, 16);
	h.port = 8080;
	h.v6 = true;
	is_int(kmq_msgid_encode(id, &h, ~0ull), 56, "v6 id is 56 chars");
	ok(!strcmp(id, want), "v6 id %s", id);
	is_int(kmq_msgid_decode(want, 56, &got, &off), 0, "v6 id decodes");
	ok(got.v6, "decoded host is v6");
	is_mem(got.addr, addr, 16, "v6 address");
	is_int(got.port, 8080, "v6 port");
	ok(off == ~0ull, "v6 offset");
}

static void test_bad(void)
{
	static const char good[] = "7F00000100002A9F0000000000000123";
	static const char v6_short[] =
		"20010DB800000000000000000000000100001F90FFFFFFFFFFFFFFF";
	static const char bad_chars[] = "GgXx -:/@`\x80\xff";
	struct kmq_host got;
	char id[40];
	__u64 off = 7;
	size_t i;
	int fails = 0;

	is_int(kmq_msgid_decode(good, 31, &got, &off), -KMQ_FMT_EMSGID,
	       "31 chars: EMSGID");
	is_int(kmq_msgid_decode("7F00000100002A9F00000000000001230", 33, &got,
				&off), -KMQ_FMT_EMSGID, "33 chars: EMSGID");
	is_int(kmq_msgid_decode("", 0, &got, &off), -KMQ_FMT_EMSGID,
	       "empty: EMSGID");
	is_int(kmq_msgid_decode(v6_short, 55, &got, &off), -KMQ_FMT_EMSGID,
	       "55 chars: EMSGID");
	for (i = 0; i < sizeof(bad_chars) - 1; i++) {
		memcpy(id, good, 32);
		id[i % 32] = bad_chars[i];
		if (kmq_msgid_decode(id, 32, &got, &off) != -KMQ_FMT_EMSGID)
			fails++;
	}
	is_int(fails, 0, "non-hex characters: EMSGID");
	memcpy(id, good, 32);
	id[31] = '\0';
	is_int(kmq_msgid_decode(id, 32, &got, &off), -KMQ_FMT_EMSGID,
	       "NUL inside: EMSGID");
	ok(off == 7, "offset untouched on error");
}

int main(void)
{
	test_v4();
	test_v6();
	test_bad();
	return kmq_tap_done();
}
