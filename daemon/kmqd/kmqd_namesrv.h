/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmqd_namesrv.h - the name server role of kmqd.
 */
#ifndef KMQD_NAMESRV_H
#define KMQD_NAMESRV_H

#include <stdint.h>

/* Listen for clients and brokers on @addr:@port on every io loop. */
int kmqd_namesrv_start(const char *addr, uint16_t port);
/* Forget every broker (after the loops stopped). */
void kmqd_namesrv_stop(void);

#endif /* KMQD_NAMESRV_H */
