// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_call.c - requests: building them, writing them on the connection
 * to an address, and waiting for (sync), being called back with (async)
 * or not expecting (oneway) the response; name-server calls that try each
 * name server; the raw request API of struct kmq_client.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_client_int.h"

int kmqc_req(struct kmq_client *c, struct kmq_rmt_cmd *req, int code)
{
	int ret = kmq_rmt_request(req, code, 0, (enum kmq_rmt_serialize)
				  c->cfg.serialize);

	if (ret)
		return ret;
	snprintf(req->language, sizeof(req->language), "%s", KMQC_LANGUAGE);
	req->version = KMQC_VERSION;
	return 0;
}

void kmqc_req_init(struct kmq_client *c, struct kmqc_req *r, int code)
{
	/* The client's serialization was checked when it was made. */
	kmq_rmt_request(&r->cmd, code, 0, (enum kmq_rmt_serialize)
			c->cfg.serialize);
	snprintf(r->cmd.language, sizeof(r->cmd.language), "%s",
		 KMQC_LANGUAGE);
	r->cmd.version = KMQC_VERSION;
	r->cmd.fields = r->f;
	r->cmd.nfields = 0;
	r->cmd.fields_cap = KMQC_REQ_FIELDS;
}

void kmqc_req_add(struct kmqc_req *r, const char *key, const char *val)
{
	struct kmq_rmt_field *f;

	if (r->cmd.nfields == KMQC_REQ_FIELDS) {
		kmqc_err("request %d: more than %d fields", r->cmd.code,
			 KMQC_REQ_FIELDS);
		return;
	}
	f = &r->f[r->cmd.nfields++];
	f->key = (char *)key;
	f->val = (char *)val;
}

unsigned int kmqc_i64_str(int64_t v, char *buf)
{
	char tmp[KMQC_NUM_LEN];
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	unsigned int n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

void kmqc_req_add_i64(struct kmqc_req *r, const char *key, int64_t v)
{
	char *num = r->num[r->cmd.nfields % KMQC_REQ_FIELDS];

	kmqc_i64_str(v, num);
	kmqc_req_add(r, key, num);
}

int kmqc_exts(struct kmq_rmt_cmd *req, ...)
{
	const char *k, *v;
	va_list ap;
	int ret = 0;

	va_start(ap, req);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!ret && v)
			ret = kmq_rmt_set_ext(req, k, v);
	}
	va_end(ap);
	return ret;
}

int kmqc_send(struct kmq_client *c, const char *addr, struct kmq_rmt_cmd *req,
	      const void *body, size_t blen, struct kmqc_pending *p,
	      uint64_t deadline)
{
	enum kmqc_wmode mode = KMQC_W_WAIT;
	struct kmqc_conn *conn;
	bool lost;
	int ret;

	if (blen > KMQ_RMT_MAX_FRAME)
		return kmqc_fail(-EMSGSIZE, "request %d of %zu bytes",
				 req->code, blen);
	ret = kmqc_conn_get(c, addr, &conn);
	if (ret)
		return ret;
	req->opaque = (int32_t)(__atomic_add_fetch(&c->opaque, 1,
						   __ATOMIC_RELAXED) &
				0x7fffffff);
	if (p) {
		p->opaque = req->opaque;
		p->code = req->code;
		p->conn = conn;
		p->deadline = deadline;
		p->done = false;
		p->sending = !p->cv;
		p->deferred = false;
		kmqc_strcpy(p->addr, addr, sizeof(p->addr));
		pthread_mutex_lock(&c->pend_lock);
		if (c->stopping)
			ret = -ESHUTDOWN;
		else if (conn->dead)
			ret = -ECONNRESET;
		if (!ret)
			kmqc_pending_add(c, p);
		pthread_mutex_unlock(&c->pend_lock);
		if (ret) {
			kmqc_conn_put(c, conn);
			return kmqc_fail(ret, "request %d to %s", req->code,
					 addr);
		}
		/*
		 * A caller that waits writes at once; so does the first of
		 * a stream. Requests following others still unanswered are
		 * written together by the I/O thread.
		 */
		mode = p->cv || __atomic_load_n(&conn->npend,
						__ATOMIC_RELAXED) <= 1 ?
		       KMQC_W_NOW : KMQC_W_SOON;
	}
	ret = kmqc_conn_send(conn, req, body, blen, deadline, mode, &lost);
	if (ret && lost) {
		/* A part of a frame may be out: the connection is lost. */
		kmqc_conn_fail(c, conn, ret);
		if (!p)
			ret = kmqc_fail(ret, "write request %d to %s",
					req->code, addr);
		else
			ret = 0;	/* @p got the error */
	} else if (ret) {
		ret = kmqc_fail(ret, "encode request %d", req->code);
		if (p) {
			pthread_mutex_lock(&c->pend_lock);
			if (!kmqc_pending_unlink(c, p))
				ret = 0;	/* completed meanwhile */
			p->sending = false;
			pthread_mutex_unlock(&c->pend_lock);
			if (!ret && !p->cv)
				kmqc_sent(c, p);
			kmqc_conn_put(c, conn);
			return ret;
		}
	}
	if (p && !p->cv)
		kmqc_sent(c, p);
	kmqc_conn_put(c, conn);
	return ret;
}

int kmqc_call(struct kmq_client *c, const char *addr, struct kmq_rmt_cmd *req,
	      const void *body, size_t blen, unsigned int timeout_ms,
	      struct kmqc_frame **resp)
{
	struct kmqc_pending p;
	pthread_cond_t cv;
	int ret;

	memset(&p, 0, sizeof(p));
	if (!timeout_ms)
		timeout_ms = c->cfg.request_timeout_ms;
	ret = kmqc_cond_init(&cv);
	if (ret)
		return kmqc_fail(ret, "request %d", req->code);
	p.cv = &cv;
	ret = kmqc_send(c, addr, req, body, blen, &p,
			kmqc_mono_ms() + timeout_ms);
	if (ret) {
		pthread_cond_destroy(&cv);
		return ret;
	}
	pthread_mutex_lock(&c->pend_lock);
	while (!p.done) {
		if (kmqc_cond_wait_until(&cv, &c->pend_lock, p.deadline) ==
		    ETIMEDOUT && !p.done) {
			kmqc_pending_unlink(c, &p);
			p.done = true;
			p.err = -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&c->pend_lock);
	pthread_cond_destroy(&cv);
	if (p.err)
		return kmqc_fail(p.err, "request %d to %s", req->code, addr);
	*resp = p.resp;
	return 0;
}

int kmqc_call_async_p(struct kmq_client *c, const char *addr,
		      struct kmq_rmt_cmd *req, const void *body, size_t blen,
		      uint64_t deadline, struct kmqc_pending *p,
		      kmqc_done_fn fn, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->own = true;
	p->fn = fn;
	p->arg = arg;
	return kmqc_send(c, addr, req, body, blen, p, deadline);
}

int kmqc_call_async(struct kmq_client *c, const char *addr,
		    struct kmq_rmt_cmd *req, const void *body, size_t blen,
		    unsigned int timeout_ms, kmqc_done_fn fn, void *arg)
{
	struct kmqc_pending *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return kmqc_fail(-ENOMEM, "request %d", req->code);
	p->fn = fn;
	p->arg = arg;
	ret = kmqc_send(c, addr, req, body, blen, p, kmqc_mono_ms() +
			(timeout_ms ? timeout_ms : c->cfg.request_timeout_ms));
	if (ret)
		free(p);
	return ret;
}

int kmqc_call_oneway(struct kmq_client *c, const char *addr,
		     struct kmq_rmt_cmd *req, const void *body, size_t blen)
{
	req->flag |= KMQ_RMT_FLAG_ONEWAY;
	return kmqc_send(c, addr, req, body, blen, NULL,
			 kmqc_mono_ms() + c->cfg.request_timeout_ms);
}

int kmqc_call_ns(struct kmq_client *c, struct kmq_rmt_cmd *req,
		 unsigned int timeout_ms, struct kmqc_frame **resp)
{
	unsigned int start = __atomic_load_n(&c->ns_cur, __ATOMIC_RELAXED);
	unsigned int i, idx;
	int ret = -ENOENT;

	for (i = 0; i < c->nns; i++) {
		idx = (start + i) % c->nns;
		ret = kmqc_call(c, c->ns[idx], req, NULL, 0, timeout_ms, resp);
		if (!ret) {
			__atomic_store_n(&c->ns_cur, idx, __ATOMIC_RELAXED);
			return 0;
		}
		if (ret == -ESHUTDOWN)
			break;
	}
	return ret;
}

int kmqc_call_ok(struct kmq_client *c, const char *addr,
		 struct kmq_rmt_cmd *req, const void *body, size_t blen,
		 unsigned int timeout_ms, struct kmqc_frame **resp,
		 const char *what)
{
	struct kmqc_frame *f = NULL;
	int ret;

	if (addr)
		ret = kmqc_call(c, addr, req, body, blen, timeout_ms, &f);
	else
		ret = kmqc_call_ns(c, req, timeout_ms, &f);
	if (ret)
		return ret;
	if (f->cmd.code != KMQ_RESP_SUCCESS) {
		ret = kmqc_fail_resp(&f->cmd, what);
		kmqc_frame_free(f);
		return ret;
	}
	if (resp)
		*resp = f;
	else
		kmqc_frame_free(f);
	return 0;
}

/* ---- raw requests (public) ------------------------------------------ */

struct kmqc_response {
	struct kmq_response pub;
	struct kmqc_frame *f;
	struct kmq_field *fields;
};

static int kmqc_request_build(struct kmq_client *c, struct kmq_rmt_cmd *req,
			      int code, const struct kmq_field *fields,
			      unsigned int nfields)
{
	unsigned int i;
	int ret;

	ret = kmqc_req(c, req, code);
	if (ret)
		return kmqc_fail(ret, "request %d", code);
	for (i = 0; i < nfields; i++) {
		if (!fields[i].key || !fields[i].value) {
			kmq_rmt_cmd_free(req);
			return kmqc_fail(-EINVAL, "field %u has no key or value",
					 i);
		}
		ret = kmq_rmt_set_ext(req, fields[i].key, fields[i].value);
		if (ret) {
			kmq_rmt_cmd_free(req);
			return kmqc_fail(ret, "request %d", code);
		}
	}
	return 0;
}

int kmq_client_request(struct kmq_client *c, const char *addr, int code,
		       const struct kmq_field *fields, unsigned int nfields,
		       const void *body, size_t body_len,
		       unsigned int timeout_ms, struct kmq_response **resp)
{
	struct kmqc_response *r;
	struct kmq_rmt_cmd req;
	struct kmqc_frame *f;
	unsigned int i;
	int ret;

	if (!c || !resp || (nfields && !fields) || (body_len && !body))
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	*resp = NULL;
	ret = kmqc_request_build(c, &req, code, fields, nfields);
	if (ret)
		return ret;
	if (addr)
		ret = kmqc_call(c, addr, &req, body, body_len, timeout_ms, &f);
	else
		ret = kmqc_call_ns(c, &req, timeout_ms, &f);
	kmq_rmt_cmd_free(&req);
	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (r && f->cmd.nfields)
		r->fields = calloc(f->cmd.nfields, sizeof(*r->fields));
	if (!r || (f->cmd.nfields && !r->fields)) {
		free(r);
		kmqc_frame_free(f);
		return kmqc_fail(-ENOMEM, "response to request %d", code);
	}
	for (i = 0; i < f->cmd.nfields; i++) {
		r->fields[i].key = f->cmd.fields[i].key;
		r->fields[i].value = f->cmd.fields[i].val;
	}
	r->f = f;
	r->pub.code = f->cmd.code;
	r->pub.remark = f->cmd.remark;
	r->pub.nfields = f->cmd.nfields;
	r->pub.fields = r->fields;
	r->pub.body = f->cmd.body;
	r->pub.body_len = f->cmd.body_len;
	*resp = &r->pub;
	return 0;
}

int kmq_client_oneway(struct kmq_client *c, const char *addr, int code,
		      const struct kmq_field *fields, unsigned int nfields,
		      const void *body, size_t body_len)
{
	struct kmq_rmt_cmd req;
	int ret;

	if (!c || (nfields && !fields) || (body_len && !body))
		return kmqc_fail(-EINVAL, "%s: bad arguments", __func__);
	if (!addr)
		addr = c->ns[__atomic_load_n(&c->ns_cur, __ATOMIC_RELAXED)];
	ret = kmqc_request_build(c, &req, code, fields, nfields);
	if (ret)
		return ret;
	ret = kmqc_call_oneway(c, addr, &req, body, body_len);
	kmq_rmt_cmd_free(&req);
	return ret;
}

const char *kmq_response_field(const struct kmq_response *r, const char *key)
{
	unsigned int i;

	if (!r || !key)
		return NULL;
	for (i = 0; i < r->nfields; i++)
		if (!strcmp(r->fields[i].key, key))
			return r->fields[i].value;
	return NULL;
}

void kmq_response_free(struct kmq_response *r)
{
	struct kmqc_response *x;

	if (!r)
		return;
	x = (struct kmqc_response *)r;
	kmqc_frame_free(x->f);
	free(x->fields);
	free(x);
}
