// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_backend.c - choosing and opening kmqd's storage backend: the kernel
 * module when /dev/kmq exists (or storeBackend=kernel), else the
 * userspace store. The choice is logged with its reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "kmq_ioctl.h"
#include "kmqd_backend.h"
#include "kmqd_log.h"

#define KMQD_DEV_PATH	"/dev/" KMQ_DEV_NAME

static const struct kmqd_backend_ops *kmqd_be_current = &kmqd_backend_user;

int kmqd_store_open(enum kmqd_backend_kind kind,
		    const struct kmq_store_config *cfg,
		    struct kmqd_store **out)
{
	const struct kmqd_backend_ops *ops;
	const char *why;
	struct kmqd_store *st;
	int ret;

	switch (kind) {
	case KMQD_BACKEND_USER:
		ops = &kmqd_backend_user;
		why = "storeBackend=userspace";
		break;
	case KMQD_BACKEND_KERNEL:
		ops = &kmqd_backend_kernel;
		why = "storeBackend=kernel";
		break;
	default:
		if (access(KMQD_DEV_PATH, F_OK) == 0) {
			ops = &kmqd_backend_kernel;
			why = KMQD_DEV_PATH " exists";
		} else {
			ops = &kmqd_backend_user;
			why = "no " KMQD_DEV_PATH;
		}
		break;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->ops = ops;
	kmqd_be_current = ops;
	log_info("store backend: %s (%s), store %s", ops->name, why,
		 cfg->root);
	ret = ops->open(cfg, &st->h);
	if (ret) {
		free(st);
		return ret;
	}
	*out = st;
	return 0;
}

void kmqd_store_close(struct kmqd_store *st)
{
	if (!st)
		return;
	st->ops->close(st->h);
	free(st);
}

const char *kmqd_st_errmsg(void)
{
	return kmqd_be_current->errmsg();
}
