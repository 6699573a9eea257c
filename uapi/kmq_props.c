// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmq_props.c - message properties and the tag hash (kmq_props.h).
 *
 * Properties are "name \x01 value \x02" pairs. The tag hash must equal
 * what a Java client computes with String.hashCode() on the tag it
 * subscribes to, so the UTF-8 tag is decoded to UTF-16 code units exactly
 * as Java's UTF-8 decoder does, malformed input included.
 *
 * Shared verbatim by kmq.ko and userspace.
 */
#include "kmq_types.h"
#include "kmq_record.h"
#include "kmq_props.h"

/* U+FFFD, what Java's decoder yields for a malformed sequence. */
#define KMQ_UTF16_REPLACEMENT	0xfffdu

static bool kmq_bytes_eq(const char *a, const char *b, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Whether @s holds a \x01 or \x02, which a name or value may not. */
static bool kmq_has_sep(const char *s, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (s[i] == KMQ_PROP_NAME_SEP || s[i] == KMQ_PROP_PAIR_SEP)
			return true;
	return false;
}

/**
 * kmq_props_next() - iterate: decode the pair that starts at *@pos.
 * @props: properties bytes
 * @len: their length
 * @pos: cursor, 0 to start; moved past the pair
 * @out: the pair, pointing into @props
 *
 * A name is one or more bytes up to \x01 and holds no \x02; a value,
 * possibly empty, runs up to \x02 or the end and holds no \x01. A final
 * pair without its trailing \x02 is accepted (clients send both). On an
 * error *@pos is left where it was.
 *
 * Return: 1 with a pair, 0 at the end, -KMQ_FMT_EPROPS if malformed.
 */
int kmq_props_next(const char *props, __u32 len, __u32 *pos,
		   struct kmq_prop *out)
{
	__u32 start = *pos;
	__u32 i = start;

	if (i == len)
		return 0;
	if (i > len)
		return -KMQ_FMT_EPROPS;

	while (i < len && props[i] != KMQ_PROP_NAME_SEP) {
		if (props[i] == KMQ_PROP_PAIR_SEP)
			return -KMQ_FMT_EPROPS;
		i++;
	}
	if (i == len || i == start)
		return -KMQ_FMT_EPROPS;
	out->name = props + start;
	out->name_len = i - start;

	start = ++i;
	while (i < len && props[i] != KMQ_PROP_PAIR_SEP) {
		if (props[i] == KMQ_PROP_NAME_SEP)
			return -KMQ_FMT_EPROPS;
		i++;
	}
	out->value = props + start;
	out->value_len = i - start;
	*pos = i < len ? i + 1 : len;
	return 1;
}

/**
 * kmq_props_get() - find the value of @name.
 * @props: properties bytes
 * @len: their length
 * @name: the name looked for
 * @name_len: its length
 * @value: set to the value, pointing into @props
 * @value_len: set to its length
 *
 * The whole string is checked. When a name occurs twice the last one
 * wins, as when Java's broker and clients load properties into a map.
 *
 * Return: 0 and the value, -KMQ_FMT_ENOENT, or -KMQ_FMT_EPROPS.
 */
int kmq_props_get(const char *props, __u32 len, const char *name,
		  __u32 name_len, const char **value, __u32 *value_len)
{
	struct kmq_prop p;
	__u32 pos = 0;
	bool found = false;
	int ret;

	while ((ret = kmq_props_next(props, len, &pos, &p)) > 0) {
		if (p.name_len == name_len &&
		    kmq_bytes_eq(p.name, name, name_len)) {
			*value = p.value;
			*value_len = p.value_len;
			found = true;
		}
	}
	if (ret < 0)
		return ret;
	return found ? 0 : -KMQ_FMT_ENOENT;
}

/**
 * kmq_props_put() - append "name\1value\2" at *@pos in @buf.
 * @buf: the properties being built
 * @cap: size of @buf
 * @pos: where to write; advanced past the pair on success
 * @name: a non-empty name
 * @name_len: its length
 * @value: the value, may be empty
 * @value_len: its length
 *
 * Names and values must not contain \x01 or \x02. Nothing is written on
 * error.
 *
 * Return: 0, -KMQ_FMT_ENOSPACE or -KMQ_FMT_EPROPS.
 */
int kmq_props_put(char *buf, __u32 cap, __u32 *pos, const char *name,
		  __u32 name_len, const char *value, __u32 value_len)
{
	__u64 need = (__u64)name_len + value_len + 2;
	__u32 p = *pos;

	if (!name_len || kmq_has_sep(name, name_len) ||
	    kmq_has_sep(value, value_len))
		return -KMQ_FMT_EPROPS;
	if (p > cap || need > cap - p)
		return -KMQ_FMT_ENOSPACE;

	kmq_memcpy(buf + p, name, name_len);
	p += name_len;
	buf[p++] = KMQ_PROP_NAME_SEP;
	if (value_len)
		kmq_memcpy(buf + p, value, value_len);
	p += value_len;
	buf[p++] = KMQ_PROP_PAIR_SEP;
	*pos = p;
	return 0;
}

/**
 * kmq_props_validate() - check every pair of a properties string.
 * @props: properties bytes
 * @len: their length; 0 is valid
 *
 * Return: 0 if every pair is well formed, else -KMQ_FMT_EPROPS.
 */
int kmq_props_validate(const char *props, __u32 len)
{
	struct kmq_prop p;
	__u32 pos = 0;
	int ret;

	do {
		ret = kmq_props_next(props, len, &pos, &p);
	} while (ret > 0);
	return ret;
}

static __u32 kmq_hash_unit(__u32 h, __u32 unit)
{
	return h * 31 + unit;
}

/**
 * kmq_tag_hash() - Java String.hashCode() of a UTF-8 tag, as int64.
 * @tag: UTF-8 bytes, not NUL-terminated
 * @len: their length
 *
 * h = 31 * h + u over the UTF-16 code units u of the decoded tag, in
 * 32-bit arithmetic that wraps, then sign-extended.
 *
 * Decoding follows Java's UTF-8 decoder with replacement: a malformed
 * sequence becomes one U+FFFD per maximal subpart (the longest prefix
 * of a well-formed sequence; a byte that cannot start one counts alone,
 * and the byte that breaks a sequence starts the next). One difference
 * from the Unicode recommendation is Java's: ED followed by A0..BF is
 * taken as the start of a 3-byte sequence, and a complete one (an
 * encoded surrogate) gives a single U+FFFD for its 3 bytes.
 *
 * Return: the hash; 0 for an empty tag.
 */
__s64 kmq_tag_hash(const char *tag, __u32 len)
{
	const __u8 *s = (const __u8 *)tag;
	__u32 h = 0;
	__u32 i = 0;

	while (i < len) {
		__u32 lead = s[i++];
		__u32 lo = 0x80, hi = 0xbf;
		__u32 cp, need, n;

		if (lead < 0x80) {
			h = kmq_hash_unit(h, lead);
			continue;
		}
		if (lead >= 0xc2 && lead <= 0xdf) {
			need = 1;
			cp = lead & 0x1f;
		} else if (lead >= 0xe0 && lead <= 0xef) {
			need = 2;
			cp = lead & 0x0f;
			if (lead == 0xe0)
				lo = 0xa0;	/* overlong below */
		} else if (lead >= 0xf0 && lead <= 0xf4) {
			need = 3;
			cp = lead & 0x07;
			if (lead == 0xf0)
				lo = 0x90;	/* overlong below */
			else if (lead == 0xf4)
				hi = 0x8f;	/* past U+10FFFF above */
		} else {
			/* 80..C1 and F5..FF never start a sequence. */
			h = kmq_hash_unit(h, KMQ_UTF16_REPLACEMENT);
			continue;
		}

		for (n = 0; n < need; n++) {
			if (i >= len || s[i] < lo || s[i] > hi)
				break;
			cp = cp << 6 | (s[i++] & 0x3f);
			lo = 0x80;
			hi = 0xbf;
		}
		if (n < need || (cp >= 0xd800 && cp <= 0xdfff)) {
			h = kmq_hash_unit(h, KMQ_UTF16_REPLACEMENT);
		} else if (cp >= 0x10000) {
			cp -= 0x10000;
			h = kmq_hash_unit(h, 0xd800 + (cp >> 10));
			h = kmq_hash_unit(h, 0xdc00 + (cp & 0x3ff));
		} else {
			h = kmq_hash_unit(h, cp);
		}
	}
	return (__s32)h;
}

/**
 * kmq_props_tags_code() - tags code of a record's properties.
 * @props: properties bytes
 * @len: their length
 *
 * Return: kmq_tag_hash() of the TAGS value; 0 when there is none, it is
 * empty or the properties are malformed.
 */
__s64 kmq_props_tags_code(const char *props, __u32 len)
{
	const char *v;
	__u32 vlen;

	if (kmq_props_get(props, len, KMQ_PROP_TAGS,
			  sizeof(KMQ_PROP_TAGS) - 1, &v, &vlen) < 0)
		return 0;
	return kmq_tag_hash(v, vlen);
}
