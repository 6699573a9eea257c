// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmq_send_policy.c - what a send's outcome means: the status of a stored
 * message from the response code (SEND_OK, FLUSH_DISK_TIMEOUT,
 * FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE), and which failures are worth
 * another attempt on another broker (those of RocketMQ's producer).
 */
#include "kmq_send_int.h"

static const char * const kmqc_status_names[] = {
	[KMQ_SEND_OK] = "SEND_OK",
	[KMQ_SEND_FLUSH_DISK_TIMEOUT] = "FLUSH_DISK_TIMEOUT",
	[KMQ_SEND_FLUSH_SLAVE_TIMEOUT] = "FLUSH_SLAVE_TIMEOUT",
	[KMQ_SEND_SLAVE_NOT_AVAILABLE] = "SLAVE_NOT_AVAILABLE",
};

const char *kmq_send_status_name(enum kmq_send_status s)
{
	if ((unsigned int)s >= ARRAY_SIZE(kmqc_status_names))
		return "UNKNOWN";
	return kmqc_status_names[s];
}

int kmqc_send_status(int code, enum kmq_send_status *st)
{
	switch (code) {
	case KMQ_RESP_SUCCESS:
		*st = KMQ_SEND_OK;
		return 0;
	case KMQ_RESP_FLUSH_DISK_TIMEOUT:
		*st = KMQ_SEND_FLUSH_DISK_TIMEOUT;
		return 0;
	case KMQ_RESP_FLUSH_SLAVE_TIMEOUT:
		*st = KMQ_SEND_FLUSH_SLAVE_TIMEOUT;
		return 0;
	case KMQ_RESP_SLAVE_NOT_AVAILABLE:
		*st = KMQ_SEND_SLAVE_NOT_AVAILABLE;
		return 0;
	default:
		return KMQ_ERR_BROKER(code);
	}
}

/*
 * Response codes RocketMQ's producer retries: NO_BUYER_ID 204 and
 * NOT_IN_CURRENT_UNIT 205 are Alibaba's, kept for their brokers.
 */
static const int kmqc_retry_codes[] = {
	KMQ_RESP_SYSTEM_ERROR,
	KMQ_RESP_SERVICE_NOT_AVAILABLE,
	KMQ_RESP_NO_PERMISSION,
	KMQ_RESP_TOPIC_NOT_EXIST,
	204,
	205,
};

bool kmqc_send_retryable(int err)
{
	unsigned int i;

	if (kmq_err_is_broker(err)) {
		for (i = 0; i < ARRAY_SIZE(kmqc_retry_codes); i++)
			if (kmq_err_broker_code(err) == kmqc_retry_codes[i])
				return true;
		return false;
	}
	switch (err) {
	case -EINVAL:
	case -ENOMEM:
	case -EMSGSIZE:
	case -ESHUTDOWN:
		return false;
	default:
		/* Timeouts, connections, no route or address yet. */
		return err < 0;
	}
}
