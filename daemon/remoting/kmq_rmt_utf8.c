// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_rmt_utf8.c - UTF-8 well-formedness for header strings. Binary
 * headers carry raw bytes; JSON (and jansson) accept only well-formed
 * UTF-8, so the binary decoder checks strings with this and the JSON
 * encoder repairs whatever a handler put into a command.
 */
#include <stdlib.h>
#include <string.h>

#include "kmq_rmt_int.h"

/* U+FFFD REPLACEMENT CHARACTER */
static const uint8_t kmq_utf8_repl[] = { 0xef, 0xbf, 0xbd };

/*
 * Length of the well-formed sequence at @s (at most @n bytes), 0 if there
 * is none: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static size_t kmq_utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	if (s[0] < 0xe0)
		len = 2;
	else if (s[0] < 0xf0)
		len = 3;
	else
		len = 4;
	if (len > n)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool kmq_rmt_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = kmq_utf8_seq(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

char *kmq_rmt_utf8_fix(const uint8_t *s, size_t n)
{
	size_t i = 0, o = 0, k;
	char *out;

	if (n > (SIZE_MAX - 1) / sizeof(kmq_utf8_repl))
		return NULL;
	out = malloc(n * sizeof(kmq_utf8_repl) + 1);
	if (!out)
		return NULL;
	while (i < n) {
		k = kmq_utf8_seq(s + i, n - i);
		if (k) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, kmq_utf8_repl, sizeof(kmq_utf8_repl));
			o += sizeof(kmq_utf8_repl);
			i++;
		}
	}
	out[o] = '\0';
	return out;
}
