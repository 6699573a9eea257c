// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqadmin_out.c - what kmqadmin prints: aligned tables for people, one
 * JSON document for scripts (--json), errors and remarks on stderr, the
 * progress line of long operations, and received messages in both forms.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmqadmin.h"

#define KADM_PROGRESS_MS	500

static const char *kadm_cmd_name(const struct kadm *k)
{
	return k->cmd ? k->cmd->name : NULL;
}

static void kadm_vprefix(struct kadm *k, const char *fmt, va_list ap)
{
	if (k->progress_open) {
		fputc('\n', stderr);
		k->progress_open = false;
	}
	fprintf(stderr, "kmqadmin%s%s: ", kadm_cmd_name(k) ? " " : "",
		kadm_cmd_name(k) ? kadm_cmd_name(k) : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int kadm_fail(struct kadm *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kadm_vprefix(k, fmt, ap);
	va_end(ap);
	return KADM_EXIT_FAIL;
}

int kadm_fail_err(struct kadm *k)
{
	return kadm_fail(k, "%s", k->err[0] ? k->err : "failed");
}

int kadm_seterr(struct kadm *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->err, sizeof(k->err), fmt, ap);
	va_end(ap);
	return KADM_EXIT_FAIL;
}

int kadm_usage_err(struct kadm *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kadm_vprefix(k, fmt, ap);
	va_end(ap);
	fprintf(stderr, "(see: kmqadmin %s%s-h)\n",
		kadm_cmd_name(k) ? kadm_cmd_name(k) : "",
		kadm_cmd_name(k) ? " " : "");
	return KADM_EXIT_USAGE;
}

void kadm_note(struct kadm *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kadm_vprefix(k, fmt, ap);
	va_end(ap);
}

void kadm_progress(struct kadm *k, bool last, const char *fmt, ...)
{
	uint64_t now = kadm_now_ms();
	va_list ap;

	if (!k->progress)
		return;
	if (!last && k->progress_ms && now - k->progress_ms < KADM_PROGRESS_MS)
		return;
	k->progress_ms = now;
	fprintf(stderr, "%skmqadmin %s: progress: ", k->progress_tty ? "\r" : "",
		kadm_cmd_name(k));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (k->progress_tty && !last) {
		fputs("\033[K", stderr);
		k->progress_open = true;
	} else {
		fputc('\n', stderr);
		k->progress_open = false;
	}
	fflush(stderr);
}

/* ---- tables ------------------------------------------------------------ */

struct kadm_table *kadm_table_new(unsigned int ncols, ...)
{
	struct kadm_table *t = calloc(1, sizeof(*t));
	unsigned int i;
	va_list ap;

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->head = calloc(ncols, sizeof(*t->head));
	t->right = calloc(ncols, sizeof(*t->right));
	if (!t->head || !t->right) {
		kadm_table_free(t);
		return NULL;
	}
	va_start(ap, ncols);
	for (i = 0; i < ncols; i++) {
		const char *h = va_arg(ap, const char *);

		t->right[i] = h[0] == '>';
		if (asprintf(&t->head[i], "#%s", h + t->right[i]) < 0)
			t->head[i] = NULL;
	}
	va_end(ap);
	return t;
}

void kadm_cell(struct kadm_table *t, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	if (!t)
		return;
	if (!t->cur) {
		if (t->nrows == t->cap) {
			unsigned int ncap = t->cap ? t->cap * 2 : 16;
			char **nc = realloc(t->cells, (size_t)ncap * t->ncols *
					    sizeof(*nc));

			if (!nc)
				return;
			t->cells = nc;
			t->cap = ncap;
		}
		memset(t->cells + (size_t)t->nrows * t->ncols, 0,
		       t->ncols * sizeof(*t->cells));
		t->nrows++;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	t->cells[(size_t)(t->nrows - 1) * t->ncols + t->cur] = s;
	t->cur = (t->cur + 1) % t->ncols;
}

static void kadm_pad(FILE *f, const char *s, size_t w, bool right, bool end)
{
	size_t n = strlen(s);

	if (right)
		fprintf(f, "%*s%s", (int)(w - n), "", s);
	else if (end)
		fputs(s, f);
	else
		fprintf(f, "%s%*s", s, (int)(w - n), "");
}

void kadm_table_print(const struct kadm_table *t, FILE *f)
{
	size_t *w;
	unsigned int r, c;

	if (!t)
		return;
	w = calloc(t->ncols, sizeof(*w));
	if (!w)
		return;
	for (c = 0; c < t->ncols; c++) {
		w[c] = t->head[c] ? strlen(t->head[c]) : 0;
		for (r = 0; r < t->nrows; r++) {
			const char *s = t->cells[(size_t)r * t->ncols + c];

			if (s && strlen(s) > w[c])
				w[c] = strlen(s);
		}
	}
	for (r = 0; r <= t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = !r ? t->head[c] :
				t->cells[(size_t)(r - 1) * t->ncols + c];

			kadm_pad(f, s ? s : "", w[c], r && t->right[c],
				 c == t->ncols - 1);
			if (c + 1 < t->ncols)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
	free(w);
}

void kadm_table_free(struct kadm_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < (size_t)t->nrows * t->ncols; i++)
		free(t->cells[i]);
	for (i = 0; t->head && i < t->ncols; i++)
		free(t->head[i]);
	free(t->cells);
	free(t->head);
	free(t->right);
	free(t);
}

/* ---- JSON and values ----------------------------------------------------- */

void kadm_json_print(json_t *doc)
{
	if (!doc)
		return;
	json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(doc);
}

const char *kadm_time_str(int64_t ms, char *buf, size_t len)
{
	time_t s = ms / 1000;
	struct tm tm;
	size_t n;

	if (ms <= 0 || !localtime_r(&s, &tm)) {
		snprintf(buf, len, "-");
		return buf;
	}
	n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03d", (int)(ms % 1000));
	return buf;
}

char *kadm_body_str(const void *body, size_t len)
{
	const unsigned char *b = body;
	char *out = malloc(len * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (b[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (b[i] == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (b[i] >= 0x20 && b[i] != 0x7f) {
			*o++ = b[i];	/* UTF-8 sequences pass through */
		} else {
			o += sprintf(o, "\\x%02x", b[i]);
		}
	}
	*o = '\0';
	return out;
}

void kadm_body_json(json_t *o, const void *body, size_t len)
{
	json_t *s = json_stringn(body ? body : "", len);
	const unsigned char *b = body;
	char *hex;
	size_t i;

	if (s) {
		json_object_set_new(o, "body", s);
		return;
	}
	hex = malloc(len * 2 + 1);
	if (!hex)
		return;
	for (i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", b[i]);
	hex[2 * len] = '\0';
	json_object_set_new(o, "bodyHex", json_string(hex));
	free(hex);
}

/* The properties string "k\1v\2..." as an object. */
static json_t *kadm_props_json(const char *p, size_t len)
{
	json_t *o = json_object();
	const char *end = p + len;

	while (p && p < end) {
		const char *sep = memchr(p, 1, end - p), *pair;
		char name[256];

		if (!sep)
			break;
		pair = memchr(sep + 1, 2, end - sep - 1);
		if (!pair)
			pair = end;
		snprintf(name, sizeof(name), "%.*s", (int)(sep - p), p);
		json_object_set_new(o, name, json_stringn(sep + 1,
							  pair - sep - 1));
		p = pair + 1;
	}
	return o;
}

json_t *kadm_msg_json(const struct kmq_message_ext *m)
{
	static const char fmt[] =
		"{s:s,s:s,s:s,s:s?,s:s?,s:i,s:I,s:I,s:i,s:I,s:I,s:s,s:s,s:i,s:i,s:I}";
	json_t *o = json_pack(fmt, "msgId", m->msg_id,
			      "offsetMsgId", m->offset_msg_id,
			      "topic", m->topic, "tags", m->tags,
			      "keys", m->keys,
			      "queueId", m->queue_id,
			      "queueOffset", (json_int_t)m->queue_offset,
			      "commitLogOffset",
			      (json_int_t)m->commitlog_offset,
			      "reconsumeTimes", m->reconsume_times,
			      "bornTimestamp", (json_int_t)m->born_ts,
			      "storeTimestamp", (json_int_t)m->store_ts,
			      "bornHost", m->born_host,
			      "storeHost", m->store_host,
			      "sysFlag", (int)m->sys_flag,
			      "flag", m->flag,
			      "bodyCRC", (json_int_t)m->body_crc);

	if (!o)
		return NULL;
	json_object_set_new(o, "brokerName", json_string(m->broker_name));
	json_object_set_new(o, "properties",
			    kadm_props_json(m->props, m->props_len));
	kadm_body_json(o, m->body, m->body_len);
	return o;
}

/* The properties string "k\1v\2..." as "{k=v, k=v}" (escaped). */
static char *kadm_props_str(const char *p, size_t len)
{
	char *out = malloc(len * 4 + 3), *o = out, *e;
	const char *end = p + len;

	if (!out)
		return NULL;
	*o++ = '{';
	while (p && p < end) {
		const char *sep = memchr(p, 1, end - p), *pair;

		if (!sep)
			break;
		pair = memchr(sep + 1, 2, end - sep - 1);
		if (!pair)
			pair = end;
		if (o > out + 1) {
			*o++ = ',';
			*o++ = ' ';
		}
		e = kadm_body_str(p, sep - p);
		o += sprintf(o, "%s=", e ? e : "");
		free(e);
		e = kadm_body_str(sep + 1, pair - sep - 1);
		o += sprintf(o, "%s", e ? e : "");
		free(e);
		p = pair + 1;
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

static void kadm_line(FILE *f, const char *label, const char *fmt, ...)
	KADM_PRINTF(3, 4);

static void kadm_line(FILE *f, const char *label, const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "%-18s", label);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

void kadm_msg_print(const struct kmq_message_ext *m, FILE *f)
{
	char *body = kadm_body_str(m->body, m->body_len);
	char *props = kadm_props_str(m->props, m->props_len);
	char born[40], store[40];

	kadm_line(f, "MsgId:", "%s", m->msg_id);
	kadm_line(f, "OffsetID:", "%s", m->offset_msg_id);
	kadm_line(f, "Topic:", "%s", m->topic);
	kadm_line(f, "Tags:", "%s", m->tags ? m->tags : "");
	kadm_line(f, "Keys:", "%s", m->keys ? m->keys : "");
	kadm_line(f, "Broker Name:", "%s", m->broker_name);
	kadm_line(f, "Queue ID:", "%d", m->queue_id);
	kadm_line(f, "Queue Offset:", "%" PRId64, m->queue_offset);
	kadm_line(f, "CommitLog Offset:", "%" PRId64, m->commitlog_offset);
	kadm_line(f, "Reconsume Times:", "%d", m->reconsume_times);
	kadm_line(f, "Born Timestamp:", "%s",
		  kadm_time_str(m->born_ts, born, sizeof(born)));
	kadm_line(f, "Store Timestamp:", "%s",
		  kadm_time_str(m->store_ts, store, sizeof(store)));
	kadm_line(f, "Born Host:", "%s", m->born_host);
	kadm_line(f, "Store Host:", "%s", m->store_host);
	kadm_line(f, "System Flag:", "%u", m->sys_flag);
	kadm_line(f, "Properties:", "%s", props ? props : "");
	kadm_line(f, "Body Length:", "%zu", m->body_len);
	kadm_line(f, "Message Body:", "%s", body ? body : "");
	free(body);
	free(props);
}
