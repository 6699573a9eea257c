// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_err.c - error values: names (kmq_strerror()) and the per-thread
 * message of the last failure (kmq_errmsg()).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kmq_int.h"

#define KMQC_ERRMSG_MAX	512

static __thread char kmqc_errmsg_buf[KMQC_ERRMSG_MAX];
static __thread char kmqc_strerror_buf[64];

static const struct {
	int code;
	const char *name;
} kmqc_codes[] = {
	{ KMQ_RESP_SUCCESS, "SUCCESS" },
	{ KMQ_RESP_SYSTEM_ERROR, "SYSTEM_ERROR" },
	{ KMQ_RESP_SYSTEM_BUSY, "SYSTEM_BUSY" },
	{ KMQ_RESP_REQUEST_CODE_NOT_SUPPORTED, "REQUEST_CODE_NOT_SUPPORTED" },
	{ KMQ_RESP_FLUSH_DISK_TIMEOUT, "FLUSH_DISK_TIMEOUT" },
	{ KMQ_RESP_SLAVE_NOT_AVAILABLE, "SLAVE_NOT_AVAILABLE" },
	{ KMQ_RESP_FLUSH_SLAVE_TIMEOUT, "FLUSH_SLAVE_TIMEOUT" },
	{ KMQ_RESP_MESSAGE_ILLEGAL, "MESSAGE_ILLEGAL" },
	{ KMQ_RESP_SERVICE_NOT_AVAILABLE, "SERVICE_NOT_AVAILABLE" },
	{ KMQ_RESP_NO_PERMISSION, "NO_PERMISSION" },
	{ KMQ_RESP_TOPIC_NOT_EXIST, "TOPIC_NOT_EXIST" },
	{ KMQ_RESP_TOPIC_EXIST_ALREADY, "TOPIC_EXIST_ALREADY" },
	{ KMQ_RESP_PULL_NOT_FOUND, "PULL_NOT_FOUND" },
	{ KMQ_RESP_PULL_RETRY_IMMEDIATELY, "PULL_RETRY_IMMEDIATELY" },
	{ KMQ_RESP_PULL_OFFSET_MOVED, "PULL_OFFSET_MOVED" },
	{ KMQ_RESP_QUERY_NOT_FOUND, "QUERY_NOT_FOUND" },
	{ KMQ_RESP_SUBSCRIPTION_PARSE_FAILED, "SUBSCRIPTION_PARSE_FAILED" },
	{ KMQ_RESP_SUBSCRIPTION_NOT_EXIST, "SUBSCRIPTION_NOT_EXIST" },
	{ KMQ_RESP_SUBSCRIPTION_NOT_LATEST, "SUBSCRIPTION_NOT_LATEST" },
	{ KMQ_RESP_SUBSCRIPTION_GROUP_NOT_EXIST,
	  "SUBSCRIPTION_GROUP_NOT_EXIST" },
	{ KMQ_RESP_INVALID_PARAMETER, "INVALID_PARAMETER" },
	{ KMQ_RESP_CONSUMER_NOT_ONLINE, "CONSUMER_NOT_ONLINE" },
};

static const struct {
	int err;
	const char *name;
} kmqc_errnos[] = {
	{ EINVAL, "invalid argument" },
	{ ENOMEM, "out of memory" },
	{ EMSGSIZE, "message too large" },
	{ ENOENT, "not found (no route, broker or offset)" },
	{ ETIMEDOUT, "timed out" },
	{ ECONNREFUSED, "connection refused" },
	{ ECONNRESET, "connection reset" },
	{ EPIPE, "connection closed" },
	{ EHOSTUNREACH, "host unreachable" },
	{ ENETUNREACH, "network unreachable" },
	{ EADDRNOTAVAIL, "address not available" },
	{ EPROTO, "protocol error" },
	{ ESHUTDOWN, "shut down" },
	{ EALREADY, "already started" },
	{ EIO, "input/output error" },
	{ EAGAIN, "try again" },
	{ EBUSY, "busy" },
};

/**
 * kmqc_code_name() - the name of response code @code, or NULL.
 */
static const char *kmqc_code_name(int code)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kmqc_codes); i++)
		if (kmqc_codes[i].code == code)
			return kmqc_codes[i].name;
	return NULL;
}

const char *kmq_strerror(int err)
{
	const char *name;
	unsigned int i;

	if (!err)
		return "success";
	if (kmq_err_is_broker(err)) {
		name = kmqc_code_name(kmq_err_broker_code(err));
		snprintf(kmqc_strerror_buf, sizeof(kmqc_strerror_buf),
			 "%s (%d)", name ? name : "broker error",
			 kmq_err_broker_code(err));
		return kmqc_strerror_buf;
	}
	for (i = 0; i < ARRAY_SIZE(kmqc_errnos); i++)
		if (kmqc_errnos[i].err == -err)
			return kmqc_errnos[i].name;
	snprintf(kmqc_strerror_buf, sizeof(kmqc_strerror_buf), "error %d",
		 err);
	return kmqc_strerror_buf;
}

const char *kmq_errmsg(void)
{
	return kmqc_errmsg_buf;
}

void kmqc_errmsg_set(const char *msg)
{
	snprintf(kmqc_errmsg_buf, sizeof(kmqc_errmsg_buf), "%s",
		 msg ? msg : "");
}

int kmqc_fail(int err, const char *fmt, ...)
{
	char msg[KMQC_ERRMSG_MAX - 80];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(kmqc_errmsg_buf, sizeof(kmqc_errmsg_buf), "%s: %s", msg,
		 kmq_strerror(err));
	return err;
}

int kmqc_fail_resp(const struct kmq_rmt_cmd *resp, const char *what)
{
	return kmqc_fail(KMQ_ERR_BROKER(resp->code), "%s: %s", what,
			 resp->remark ? resp->remark : "(no remark)");
}
