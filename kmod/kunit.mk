# SPDX-License-Identifier: GPL-2.0-only
# kmod/kunit.mk - `make kunit`: kmq.ko's KUnit suites (kmod/tests/) on a
# debug kernel (KUnit, KASAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak) built
# once from Debian's linux-source-6.12 and cached under $(KMQ_CACHE)
# (default .cache/kdebug/), run in QEMU; prints TAP. See
# kmod/scripts/kunit-run.sh.
#
#   make kunit          build or reuse the kernel, build kmq.ko, run
#   make kunit-kernel   only build (or reuse) the debug kernel

.PHONY: kunit kunit-kernel
kunit:
	kmod/scripts/kunit-run.sh

kunit-kernel:
	kmod/scripts/kunit-kernel.sh
