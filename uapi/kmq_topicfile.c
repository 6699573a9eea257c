// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmq_topicfile.c - read and write config/topics.json (kmq_topicfile.h).
 *
 * The reader is a small JSON scanner without recursion and without
 * allocation: the three levels it cares about (the document, the
 * topicConfigTable object, one topic) are walked by one function each,
 * and every other value is skipped by a loop that keeps its nesting in
 * the bits of one integer. The document is scanned twice, first only to
 * check it, then to hand the topics over, so a caller never sees part of
 * a damaged table.
 *
 * The writer prints the table as jansson does with JSON_INDENT(2) |
 * JSON_SORT_KEYS; decimal numbers are made without 64-bit division.
 *
 * Shared verbatim by kmq.ko and userspace.
 */
#include "kmq_types.h"
#include "kmq_topicfile.h"

#define KMQ_TF_TABLE_KEY	"topicConfigTable"
#define KMQ_TF_INT_MAX		0x7fffffffu

/* Nesting of the containers the reader walks itself. */
#define KMQ_TF_DEPTH_ROOT	1	/* the document */
#define KMQ_TF_DEPTH_TABLE	2	/* topicConfigTable */
#define KMQ_TF_DEPTH_ENTRY	3	/* one topic */

/* The input and the scanner's position in it. */
struct kmq_tf_in {
	const char *p;
	__u32 len;
	__u32 pos;
};

/*
 * A decoded key or string: the first KMQ_TOPICFILE_NAME_SIZE - 1 bytes,
 * @over set when there were more (such a string is no name and no key
 * the reader looks for).
 */
struct kmq_tf_str {
	char s[KMQ_TOPICFILE_NAME_SIZE];
	__u32 len;
	bool over;
};

/*
 * The reader's buffers, one set per parse: @key holds a top-level key,
 * then, inside topicConfigTable, a topic's field names (the two are never
 * needed at once); @topic a topic's key; @name its topicName.
 */
struct kmq_tf_scratch {
	struct kmq_tf_str key;
	struct kmq_tf_str topic;
	struct kmq_tf_str name;
	struct kmq_topicfile_entry e;
};

static bool kmq_tf_end(const struct kmq_tf_in *in)
{
	return in->pos >= in->len;
}

static __u8 kmq_tf_cur(const struct kmq_tf_in *in)
{
	return (__u8)in->p[in->pos];
}

/* Skip JSON white space: space, tab, line feed, carriage return. */
static void kmq_tf_ws(struct kmq_tf_in *in)
{
	while (!kmq_tf_end(in)) {
		__u8 c = kmq_tf_cur(in);

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		in->pos++;
	}
}

/* Append @n bytes to @out (which may be NULL), noting an overflow. */
static void kmq_tf_str_put(struct kmq_tf_str *out, const __u8 *b, __u32 n)
{
	__u32 i;

	if (!out)
		return;
	for (i = 0; i < n; i++) {
		if (out->len >= KMQ_TOPICFILE_NAME_SIZE - 1) {
			out->over = true;
			return;
		}
		out->s[out->len++] = (char)b[i];
	}
}

/* Append code point @cp (below 0x110000, no surrogate) as UTF-8. */
static void kmq_tf_str_put_cp(struct kmq_tf_str *out, __u32 cp)
{
	__u8 b[4];
	__u32 n;

	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | (cp >> 6 & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | cp >> 18;
		b[1] = 0x80 | (cp >> 12 & 0x3f);
		b[2] = 0x80 | (cp >> 6 & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	kmq_tf_str_put(out, b, n);
}

static int kmq_tf_hexval(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Read "uXXXX" at the cursor (the backslash already consumed). */
static int kmq_tf_hex4(struct kmq_tf_in *in, __u32 *cp)
{
	__u32 i, v = 0;

	if (kmq_tf_end(in))
		return -KMQ_TF_ETRUNC;
	if (kmq_tf_cur(in) != 'u')
		return -KMQ_TF_EESCAPE;
	in->pos++;
	for (i = 0; i < 4; i++) {
		int h;

		if (kmq_tf_end(in))
			return -KMQ_TF_ETRUNC;
		h = kmq_tf_hexval(kmq_tf_cur(in));
		if (h < 0)
			return -KMQ_TF_EESCAPE;
		v = v << 4 | h;
		in->pos++;
	}
	*cp = v;
	return 0;
}

/* A \u escape, with the second half of a surrogate pair. */
static int kmq_tf_unicode(struct kmq_tf_in *in, struct kmq_tf_str *out)
{
	__u32 cp, lo;
	int ret;

	ret = kmq_tf_hex4(in, &cp);
	if (ret)
		return ret;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -KMQ_TF_EESCAPE;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (kmq_tf_end(in))
			return -KMQ_TF_ETRUNC;
		if (kmq_tf_cur(in) != '\\')
			return -KMQ_TF_EESCAPE;
		in->pos++;
		ret = kmq_tf_hex4(in, &lo);
		if (ret)
			return ret;
		if (lo < 0xdc00 || lo > 0xdfff)
			return -KMQ_TF_EESCAPE;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	kmq_tf_str_put_cp(out, cp);
	return 0;
}

/* One escape sequence; the cursor is on the backslash. */
static int kmq_tf_escape(struct kmq_tf_in *in, struct kmq_tf_str *out)
{
	__u8 c;

	in->pos++;
	if (kmq_tf_end(in))
		return -KMQ_TF_ETRUNC;
	switch (kmq_tf_cur(in)) {
	case '"':
	case '\\':
	case '/':
		c = kmq_tf_cur(in);
		break;
	case 'b':
		c = '\b';
		break;
	case 'f':
		c = '\f';
		break;
	case 'n':
		c = '\n';
		break;
	case 'r':
		c = '\r';
		break;
	case 't':
		c = '\t';
		break;
	case 'u':
		return kmq_tf_unicode(in, out);
	default:
		return -KMQ_TF_EESCAPE;
	}
	in->pos++;
	kmq_tf_str_put(out, &c, 1);
	return 0;
}

/*
 * One UTF-8 sequence of 2 to 4 bytes at the cursor, checked as RFC 3629
 * says: no overlong form, no surrogate, nothing above U+10FFFF.
 */
static int kmq_tf_utf8(struct kmq_tf_in *in, struct kmq_tf_str *out)
{
	const __u8 *s = (const __u8 *)in->p + in->pos;
	__u8 lead = s[0], lo = 0x80, hi = 0xbf;
	__u32 need, i;

	if (lead >= 0xc2 && lead <= 0xdf) {
		need = 1;
	} else if (lead >= 0xe0 && lead <= 0xef) {
		need = 2;
		if (lead == 0xe0)
			lo = 0xa0;
		else if (lead == 0xed)
			hi = 0x9f;
	} else if (lead >= 0xf0 && lead <= 0xf4) {
		need = 3;
		if (lead == 0xf0)
			lo = 0x90;
		else if (lead == 0xf4)
			hi = 0x8f;
	} else {
		return -KMQ_TF_EUTF8;
	}
	for (i = 1; i <= need; i++) {
		if (in->pos + i >= in->len)
			return -KMQ_TF_ETRUNC;
		if (s[i] < lo || s[i] > hi)
			return -KMQ_TF_EUTF8;
		lo = 0x80;
		hi = 0xbf;
	}
	kmq_tf_str_put(out, s, need + 1);
	in->pos += need + 1;
	return 0;
}

/*
 * A string; the cursor is on its opening quote and ends past the closing
 * one. Decoded into @out unless it is NULL.
 */
static int kmq_tf_string(struct kmq_tf_in *in, struct kmq_tf_str *out)
{
	int ret;

	if (out) {
		out->len = 0;
		out->over = false;
	}
	in->pos++;
	for (;;) {
		__u8 c;

		if (kmq_tf_end(in))
			return -KMQ_TF_ETRUNC;
		c = kmq_tf_cur(in);
		if (c == '"') {
			in->pos++;
			return 0;
		}
		if (c == '\\') {
			ret = kmq_tf_escape(in, out);
		} else if (c < 0x20) {
			return -KMQ_TF_ESTRING;
		} else if (c < 0x80) {
			kmq_tf_str_put(out, &c, 1);
			in->pos++;
			ret = 0;
		} else {
			ret = kmq_tf_utf8(in, out);
		}
		if (ret)
			return ret;
	}
}

static bool kmq_tf_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

/* One or more digits. */
static int kmq_tf_digits(struct kmq_tf_in *in)
{
	if (kmq_tf_end(in))
		return -KMQ_TF_ETRUNC;
	if (!kmq_tf_digit(kmq_tf_cur(in)))
		return -KMQ_TF_ENUMBER;
	while (!kmq_tf_end(in) && kmq_tf_digit(kmq_tf_cur(in)))
		in->pos++;
	return 0;
}

/*
 * A number, by JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * *@val is its value when it is a plain integer from 0 to
 * KMQ_TOPICFILE_VALUE_MAX, else *@val is set above that.
 */
static int kmq_tf_number(struct kmq_tf_in *in, __u64 *val)
{
	bool plain = true;
	__u64 v = 0;
	__u32 start;
	int ret;

	if (kmq_tf_cur(in) == '-') {
		plain = false;
		in->pos++;
	}
	start = in->pos;
	ret = kmq_tf_digits(in);
	if (ret)
		return ret;
	if (in->p[start] == '0' && in->pos - start > 1)
		return -KMQ_TF_ENUMBER;
	for (; start < in->pos && v <= KMQ_TOPICFILE_VALUE_MAX; start++)
		v = v * 10 + (in->p[start] - '0');
	if (!kmq_tf_end(in) && kmq_tf_cur(in) == '.') {
		plain = false;
		in->pos++;
		ret = kmq_tf_digits(in);
		if (ret)
			return ret;
	}
	if (!kmq_tf_end(in) &&
	    (kmq_tf_cur(in) == 'e' || kmq_tf_cur(in) == 'E')) {
		plain = false;
		in->pos++;
		if (!kmq_tf_end(in) &&
		    (kmq_tf_cur(in) == '+' || kmq_tf_cur(in) == '-'))
			in->pos++;
		ret = kmq_tf_digits(in);
		if (ret)
			return ret;
	}
	*val = plain ? v : (__u64)KMQ_TOPICFILE_VALUE_MAX + 1;
	return 0;
}

/* true, false or null; the cursor is on its first letter. */
static int kmq_tf_literal(struct kmq_tf_in *in)
{
	const char *w;
	__u32 i;

	switch (kmq_tf_cur(in)) {
	case 't':
		w = "true";
		break;
	case 'f':
		w = "false";
		break;
	case 'n':
		w = "null";
		break;
	default:
		return -KMQ_TF_EVALUE;
	}
	for (i = 0; w[i]; i++, in->pos++) {
		if (kmq_tf_end(in))
			return -KMQ_TF_ETRUNC;
		if (kmq_tf_cur(in) != (__u8)w[i])
			return -KMQ_TF_ELITERAL;
	}
	return 0;
}

/* A string, number or literal at the cursor. */
static int kmq_tf_scalar(struct kmq_tf_in *in)
{
	__u8 c = kmq_tf_cur(in);
	__u64 v;

	if (c == '"')
		return kmq_tf_string(in, NULL);
	if (c == '-' || kmq_tf_digit(c))
		return kmq_tf_number(in, &v);
	return kmq_tf_literal(in);
}

/* fastjson's unquoted keys: words of these characters. */
static bool kmq_tf_bare(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       kmq_tf_digit(c) || c == '_' || c == '$' || c == '%' ||
	       c == '|' || c == '.' || c == '+' || c == '-';
}

/* A key and its colon; white space before both is skipped. */
static int kmq_tf_key(struct kmq_tf_in *in, struct kmq_tf_str *key)
{
	int ret;

	kmq_tf_ws(in);
	if (kmq_tf_end(in))
		return -KMQ_TF_ETRUNC;
	if (kmq_tf_cur(in) == '"') {
		ret = kmq_tf_string(in, key);
		if (ret)
			return ret;
	} else if (kmq_tf_bare(kmq_tf_cur(in))) {
		if (key) {
			key->len = 0;
			key->over = false;
		}
		while (!kmq_tf_end(in) && kmq_tf_bare(kmq_tf_cur(in))) {
			kmq_tf_str_put(key, (const __u8 *)in->p + in->pos, 1);
			in->pos++;
		}
	} else {
		return -KMQ_TF_EKEY;
	}
	kmq_tf_ws(in);
	if (kmq_tf_end(in))
		return -KMQ_TF_ETRUNC;
	if (kmq_tf_cur(in) != ':')
		return -KMQ_TF_ECOLON;
	in->pos++;
	return 0;
}

/*
 * kmq_tf_skip() - check and pass over one value of any kind.
 * @in: the cursor, on or before the value
 * @depth: nesting of the object or array that holds the value
 *
 * Bit i of @objects tells whether the i-th container opened here is an
 * object (else an array); @n of them are open.
 */
static int kmq_tf_skip(struct kmq_tf_in *in, __u32 depth)
{
	__u64 objects = 0;
	__u32 n = 0;
	int ret;
	__u8 c;

	for (;;) {
		/* A value is expected. */
		kmq_tf_ws(in);
		if (kmq_tf_end(in))
			return -KMQ_TF_ETRUNC;
		c = kmq_tf_cur(in);
		if (c == '{' || c == '[') {
			if (depth + n + 1 > KMQ_TOPICFILE_DEPTH_MAX)
				return -KMQ_TF_EDEPTH;
			if (c == '{')
				objects |= 1ull << n;
			else
				objects &= ~(1ull << n);
			n++;
			in->pos++;
			kmq_tf_ws(in);
			if (kmq_tf_end(in))
				return -KMQ_TF_ETRUNC;
			if (kmq_tf_cur(in) == (c == '{' ? '}' : ']')) {
				in->pos++;
				n--;
			} else {
				if (c == '{') {
					ret = kmq_tf_key(in, NULL);
					if (ret)
						return ret;
				}
				continue;
			}
		} else {
			ret = kmq_tf_scalar(in);
			if (ret)
				return ret;
		}

		/* A value ended: close containers until one goes on. */
		for (;;) {
			bool obj;

			if (!n)
				return 0;
			obj = objects >> (n - 1) & 1;
			kmq_tf_ws(in);
			if (kmq_tf_end(in))
				return -KMQ_TF_ETRUNC;
			c = kmq_tf_cur(in);
			if (c == ',')
				break;
			if (c != (obj ? '}' : ']'))
				return -KMQ_TF_ESEP;
			in->pos++;
			n--;
		}
		in->pos++;
		if (objects >> (n - 1) & 1) {
			ret = kmq_tf_key(in, NULL);
			if (ret)
				return ret;
		}
	}
}

/*
 * kmq_tf_member() - step to the next member of an object being walked.
 * @in: the cursor, past '{' or past the previous member's value
 * @first: true before the first member, cleared here
 * @key: the member's key
 *
 * Return: 1 with the cursor on the member's value (white space skipped),
 * 0 past the closing brace, or a negated enum kmq_tf_err.
 */
static int kmq_tf_member(struct kmq_tf_in *in, bool *first,
			 struct kmq_tf_str *key)
{
	int ret;

	kmq_tf_ws(in);
	if (kmq_tf_end(in))
		return -KMQ_TF_ETRUNC;
	if (kmq_tf_cur(in) == '}') {
		in->pos++;
		return 0;
	}
	if (!*first) {
		if (kmq_tf_cur(in) != ',')
			return -KMQ_TF_ESEP;
		in->pos++;
	}
	*first = false;
	ret = kmq_tf_key(in, key);
	if (ret)
		return ret;
	kmq_tf_ws(in);
	if (kmq_tf_end(in))
		return -KMQ_TF_ETRUNC;
	return 1;
}

static bool kmq_tf_str_is(const struct kmq_tf_str *k, const char *word)
{
	__u32 i;

	if (k->over)
		return false;
	for (i = 0; i < k->len; i++)
		if (!word[i] || k->s[i] != word[i])
			return false;
	return !word[i];
}

/* RocketMQ's rule for a topic name: [%|a-zA-Z0-9_-]{1,127}. */
static bool kmq_tf_name_ok(const char *s, __u32 len)
{
	__u32 i;

	if (!len || len >= KMQ_TOPICFILE_NAME_SIZE)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '%' || c == '|' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* A topic's queue count or perm: an integer from 0 to 2^31 - 1. */
static int kmq_tf_value(struct kmq_tf_in *in, __u32 *out)
{
	__u8 c = kmq_tf_cur(in);
	__u64 v;
	int ret;

	if (c != '-' && !kmq_tf_digit(c)) {
		ret = kmq_tf_skip(in, KMQ_TF_DEPTH_ENTRY);
		return ret ? ret : -KMQ_TF_EFIELD;
	}
	ret = kmq_tf_number(in, &v);
	if (ret)
		return ret;
	if (v > KMQ_TOPICFILE_VALUE_MAX)
		return -KMQ_TF_ERANGE;
	*out = (__u32)v;
	return 0;
}

/* Fields of a topic the reader keeps track of. */
#define KMQ_TF_HAVE_NAME	0x1
#define KMQ_TF_HAVE_READ	0x2
#define KMQ_TF_HAVE_WRITE	0x4

/*
 * kmq_tf_entry() - one topic: the cursor is on its '{', @sc->topic holds
 * its key. Fills @sc->e.
 */
static int kmq_tf_entry(struct kmq_tf_in *in, struct kmq_tf_scratch *sc)
{
	struct kmq_topicfile_entry *e = &sc->e;
	struct kmq_tf_str *field = &sc->key, *name = &sc->name;
	const struct kmq_tf_str *use = &sc->topic;
	unsigned int have = 0;
	bool first = true;
	int ret;

	kmq_memset(e, 0, sizeof(*e));
	e->perm = KMQ_TOPICFILE_PERM_DEFAULT;
	in->pos++;
	while ((ret = kmq_tf_member(in, &first, field)) > 0) {
		if (kmq_tf_str_is(field, "topicName")) {
			if (kmq_tf_cur(in) != '"') {
				ret = kmq_tf_skip(in, KMQ_TF_DEPTH_ENTRY);
				return ret ? ret : -KMQ_TF_EFIELD;
			}
			ret = kmq_tf_string(in, name);
			have |= KMQ_TF_HAVE_NAME;
		} else if (kmq_tf_str_is(field, "readQueueNums")) {
			ret = kmq_tf_value(in, &e->read_queues);
			have |= KMQ_TF_HAVE_READ;
		} else if (kmq_tf_str_is(field, "writeQueueNums")) {
			ret = kmq_tf_value(in, &e->write_queues);
			have |= KMQ_TF_HAVE_WRITE;
		} else if (kmq_tf_str_is(field, "perm")) {
			ret = kmq_tf_value(in, &e->perm);
		} else {
			ret = kmq_tf_skip(in, KMQ_TF_DEPTH_ENTRY);
		}
		if (ret)
			return ret;
	}
	if (ret)
		return ret;
	if (have & KMQ_TF_HAVE_NAME)
		use = name;
	if (use->over || !kmq_tf_name_ok(use->s, use->len))
		return -KMQ_TF_ENAME;
	if (!(have & KMQ_TF_HAVE_READ) || !(have & KMQ_TF_HAVE_WRITE))
		return -KMQ_TF_ENOQUEUES;
	kmq_memcpy(e->name, use->s, use->len);
	e->name[use->len] = '\0';
	return 0;
}

/* The topicConfigTable object; the cursor is on its value. */
static int kmq_tf_table(struct kmq_tf_in *in, struct kmq_tf_scratch *sc,
			int (*fn)(void *arg,
				  const struct kmq_topicfile_entry *e),
			void *arg)
{
	bool first = true;
	int ret;

	if (kmq_tf_cur(in) != '{') {
		ret = kmq_tf_skip(in, KMQ_TF_DEPTH_ROOT);
		return ret ? ret : -KMQ_TF_ETABLE;
	}
	in->pos++;
	while ((ret = kmq_tf_member(in, &first, &sc->topic)) > 0) {
		if (kmq_tf_cur(in) != '{') {
			ret = kmq_tf_skip(in, KMQ_TF_DEPTH_TABLE);
			return ret ? ret : -KMQ_TF_EENTRY;
		}
		ret = kmq_tf_entry(in, sc);
		if (!ret && fn)
			ret = fn(arg, &sc->e);
		if (ret)
			return ret;
	}
	return ret;
}

/* One walk over the document; @fn NULL only checks it. */
static int kmq_tf_walk(const char *buf, __u32 len, struct kmq_tf_scratch *sc,
		       int (*fn)(void *arg,
				 const struct kmq_topicfile_entry *e),
		       void *arg)
{
	struct kmq_tf_in in = { .p = buf, .len = len, .pos = 0 };
	bool first = true, table = false;
	int ret;

	kmq_tf_ws(&in);
	if (kmq_tf_end(&in))
		return -KMQ_TF_ETRUNC;
	if (kmq_tf_cur(&in) != '{')
		return -KMQ_TF_EROOT;
	in.pos++;
	while ((ret = kmq_tf_member(&in, &first, &sc->key)) > 0) {
		if (kmq_tf_str_is(&sc->key, KMQ_TF_TABLE_KEY)) {
			if (table)
				return -KMQ_TF_EDUPTABLE;
			table = true;
			ret = kmq_tf_table(&in, sc, fn, arg);
		} else {
			ret = kmq_tf_skip(&in, KMQ_TF_DEPTH_ROOT);
		}
		if (ret)
			return ret;
	}
	if (ret)
		return ret;
	kmq_tf_ws(&in);
	if (!kmq_tf_end(&in))
		return -KMQ_TF_ETRAILING;
	return table ? 0 : -KMQ_TF_ENOTABLE;
}

/**
 * kmq_topicfile_parse() - read a topics.json and hand over each topic.
 * @buf: the file's bytes, not necessarily NUL-terminated
 * @len: their number
 * @fn: called once per topic, in document order
 * @arg: passed to @fn
 *
 * Checks the whole document, then walks it again calling @fn.
 *
 * Return: 0, what @fn returned if not 0, or a negated enum kmq_tf_err.
 */
int kmq_topicfile_parse(const char *buf, __u32 len,
			int (*fn)(void *arg, const struct kmq_topicfile_entry *e),
			void *arg)
{
	struct kmq_tf_scratch sc;
	int ret = kmq_tf_walk(buf, len, &sc, NULL, NULL);

	if (ret || !fn)
		return ret;
	return kmq_tf_walk(buf, len, &sc, fn, arg);
}

/* The document being written; @pos goes on past @cap to count. */
struct kmq_tf_out {
	char *buf;
	__u32 cap;
	__u64 pos;
};

static void kmq_tf_put(struct kmq_tf_out *o, const char *s, __u32 n)
{
	if (o->buf && o->pos + n <= o->cap)
		kmq_memcpy(o->buf + o->pos, s, n);
	o->pos += n;
}

static void kmq_tf_puts(struct kmq_tf_out *o, const char *s)
{
	__u32 n = 0;

	while (s[n])
		n++;
	kmq_tf_put(o, s, n);
}

/* 10^19 .. 10^0: every power of ten a __u64 holds. */
#define KMQ_TF_POW10_N		20

/* @v in decimal, by subtracting powers of ten (no 64-bit division). */
static void kmq_tf_put_u64(struct kmq_tf_out *o, __u64 v)
{
	static const __u64 pow10[KMQ_TF_POW10_N] = {
		10000000000000000000ull, 1000000000000000000ull,
		100000000000000000ull, 10000000000000000ull,
		1000000000000000ull, 100000000000000ull, 10000000000000ull,
		1000000000000ull, 100000000000ull, 10000000000ull,
		1000000000ull, 100000000ull, 10000000ull, 1000000ull,
		100000ull, 10000ull, 1000ull, 100ull, 10ull, 1ull,
	};
	char digits[20];
	__u32 i, n = 0;

	for (i = 0; i < KMQ_TF_POW10_N; i++) {
		char d = '0';

		while (v >= pow10[i]) {
			v -= pow10[i];
			d++;
		}
		if (n || d != '0' || i == KMQ_TF_POW10_N - 1)
			digits[n++] = d;
	}
	kmq_tf_put(o, digits, n);
}

/* The length of a legal name of @e, or 0 if it is not one. */
static __u32 kmq_tf_entry_name_len(const struct kmq_topicfile_entry *e)
{
	__u32 n = 0;

	while (n < KMQ_TOPICFILE_NAME_SIZE && e->name[n])
		n++;
	return kmq_tf_name_ok(e->name, n) ? n : 0;
}

/* Whether name @a sorts strictly before @b, bytes compared unsigned. */
static bool kmq_tf_before(const char *a, const char *b)
{
	__u32 i;

	for (i = 0; a[i] && a[i] == b[i]; i++)
		;
	return (__u8)a[i] < (__u8)b[i];
}

static int kmq_tf_check(const struct kmq_topicfile_entry *e, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		if (!kmq_tf_entry_name_len(&e[i]))
			return -KMQ_TF_ENAME;
		if (e[i].read_queues > KMQ_TOPICFILE_VALUE_MAX ||
		    e[i].write_queues > KMQ_TOPICFILE_VALUE_MAX ||
		    e[i].perm > KMQ_TOPICFILE_VALUE_MAX)
			return -KMQ_TF_ERANGE;
		if (i && !kmq_tf_before(e[i - 1].name, e[i].name))
			return -KMQ_TF_EORDER;
	}
	return 0;
}

static void kmq_tf_put_entry(struct kmq_tf_out *o,
			     const struct kmq_topicfile_entry *e)
{
	__u32 len = kmq_tf_entry_name_len(e);

	kmq_tf_puts(o, "    \"");
	kmq_tf_put(o, e->name, len);
	kmq_tf_puts(o, "\": {\n      \"order\": false,\n      \"perm\": ");
	kmq_tf_put_u64(o, e->perm);
	kmq_tf_puts(o, ",\n      \"readQueueNums\": ");
	kmq_tf_put_u64(o, e->read_queues);
	kmq_tf_puts(o, ",\n      \"topicFilterType\": \"SINGLE_TAG\",\n"
		    "      \"topicName\": \"");
	kmq_tf_put(o, e->name, len);
	kmq_tf_puts(o, "\",\n      \"topicSysFlag\": 0,\n"
		    "      \"writeQueueNums\": ");
	kmq_tf_put_u64(o, e->write_queues);
	kmq_tf_puts(o, "\n    }");
}

/**
 * kmq_topicfile_emit() - write a topics.json.
 * @buf: where to write, or NULL to only compute the length
 * @cap: size of @buf
 * @e: the topics, sorted by name, no name twice
 * @n: their number
 * @timestamp_ms: dataVersion.timestamp
 * @counter: dataVersion.counter
 *
 * The entries are checked before anything is written.
 *
 * Return: the document's length, or a negated enum kmq_tf_err.
 */
int kmq_topicfile_emit(char *buf, __u32 cap,
		       const struct kmq_topicfile_entry *e, __u32 n,
		       __u64 timestamp_ms, __u64 counter)
{
	struct kmq_tf_out o = { .buf = buf, .cap = cap, .pos = 0 };
	__u32 i;
	int ret;

	ret = kmq_tf_check(e, n);
	if (ret)
		return ret;
	kmq_tf_puts(&o, "{\n  \"dataVersion\": {\n    \"counter\": ");
	kmq_tf_put_u64(&o, counter);
	kmq_tf_puts(&o, ",\n    \"timestamp\": ");
	kmq_tf_put_u64(&o, timestamp_ms);
	kmq_tf_puts(&o, "\n  },\n  \"" KMQ_TF_TABLE_KEY "\": {");
	for (i = 0; i < n; i++) {
		kmq_tf_puts(&o, i ? ",\n" : "\n");
		kmq_tf_put_entry(&o, &e[i]);
		if (o.pos > KMQ_TF_INT_MAX)
			return -KMQ_TF_ETOOBIG;
	}
	kmq_tf_puts(&o, n ? "\n  }\n}" : "}\n}");
	if (o.pos > KMQ_TF_INT_MAX)
		return -KMQ_TF_ETOOBIG;
	if (buf && o.pos > cap)
		return -KMQ_TF_ENOSPACE;
	return (int)o.pos;
}

static const char * const kmq_tf_errs[KMQ_TF_ELAST - KMQ_TF_EBASE] = {
	[KMQ_TF_ETRUNC - KMQ_TF_EBASE]	  = "document ends too early",
	[KMQ_TF_EDEPTH - KMQ_TF_EBASE]	  = "objects and arrays nest too deep",
	[KMQ_TF_EVALUE - KMQ_TF_EBASE]	  = "no value starts here",
	[KMQ_TF_ELITERAL - KMQ_TF_EBASE]  = "not true, false or null",
	[KMQ_TF_ENUMBER - KMQ_TF_EBASE]	  = "malformed number",
	[KMQ_TF_ESTRING - KMQ_TF_EBASE]	  = "control character in a string",
	[KMQ_TF_EESCAPE - KMQ_TF_EBASE]	  = "bad escape in a string",
	[KMQ_TF_EUTF8 - KMQ_TF_EBASE]	  = "string is not UTF-8",
	[KMQ_TF_EKEY - KMQ_TF_EBASE]	  = "object member without a key",
	[KMQ_TF_ECOLON - KMQ_TF_EBASE]	  = "key without ':'",
	[KMQ_TF_ESEP - KMQ_TF_EBASE]	  = "missing ',' or closing bracket",
	[KMQ_TF_ETRAILING - KMQ_TF_EBASE] = "text after the document",
	[KMQ_TF_EROOT - KMQ_TF_EBASE]	  = "document is not an object",
	[KMQ_TF_ENOTABLE - KMQ_TF_EBASE]  = "no topicConfigTable",
	[KMQ_TF_ETABLE - KMQ_TF_EBASE]	  = "topicConfigTable is not an object",
	[KMQ_TF_EDUPTABLE - KMQ_TF_EBASE] = "topicConfigTable twice",
	[KMQ_TF_EENTRY - KMQ_TF_EBASE]	  = "topic entry is not an object",
	[KMQ_TF_ENAME - KMQ_TF_EBASE]	  = "illegal topic name",
	[KMQ_TF_EFIELD - KMQ_TF_EBASE]	  = "topic field of the wrong type",
	[KMQ_TF_ERANGE - KMQ_TF_EBASE]	  = "queue count or perm out of range",
	[KMQ_TF_ENOQUEUES - KMQ_TF_EBASE] = "topic without queue counts",
	[KMQ_TF_ENOSPACE - KMQ_TF_EBASE]  = "output buffer too small",
	[KMQ_TF_EORDER - KMQ_TF_EBASE]	  = "topics not sorted or repeated",
	[KMQ_TF_ETOOBIG - KMQ_TF_EBASE]	  = "topic file too large",
};

/**
 * kmq_topicfile_strerror() - a short English text for a topic file error.
 * @err: the negated code as returned (the positive code is accepted too)
 *
 * Return: a static string, "unknown topic file error" for other values.
 */
const char *kmq_topicfile_strerror(int err)
{
	__u32 i = err < 0 ? -(__u32)err : (__u32)err;

	if (i < KMQ_TF_EBASE || i >= KMQ_TF_ELAST)
		return "unknown topic file error";
	return kmq_tf_errs[i - KMQ_TF_EBASE];
}
