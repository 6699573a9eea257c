/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_compat.h - differences between the kernels kmq.ko builds for.
 *
 * kmq supports Debian's 6.1 and 6.12 kernels. Where their APIs differ,
 * the difference is bridged here, once, so the rest of kmod/ reads as
 * plain code for the newer kernel. Key each shim on the feature (a macro
 * or header that the newer API brings) rather than on LINUX_VERSION_CODE
 * alone: Debian backports features into 6.1 point releases.
 *
 * Nothing needs bridging yet.
 */
#ifndef _KMQ_COMPAT_H
#define _KMQ_COMPAT_H

#endif /* _KMQ_COMPAT_H */
