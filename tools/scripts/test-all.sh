#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-all.sh - `make test`: install what the tests need, build, and run
# every suite this machine can run:
#   1. userspace TAP suites (format, store, crash test, bench smoke) by prove
#   2. the same suites built with ASan and UBSan
#   3. the interop suite: ali-ons (a real RocketMQ client) against kmqd
#   4. libFuzzer targets of the untrusted-input parsers, time-bounded
#   5. kmq.ko against Debian's 6.1 and 6.12 headers: W=1, sparse,
#      checkpatch --strict, dkms build (TAP, by prove)
#   6. KUnit suites of kmq.ko on a debug kernel in QEMU (make kunit)
#   7. kmq.ko's selftests in QEMU on Debian's 6.1 and 6.12 kernels and the
#      debug kernel, with a hard reset (make vmtest; TAP, by prove)
#   8. kmqd's protocol suites and its crash test on the kernel backend in
#      QEMU against kmq.ko, same kernels (make vmtest-kmqd; TAP, by prove)
#   9. the interop suite (ali-ons on the host) against kmqd on the kernel
#      backend in QEMU, 6.1 and 6.12 (make vmtest-interop; TAP, by prove)
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

jobs=$(nproc 2>/dev/null || echo 2)
step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
tools/scripts/install-deps.sh

step "build"
make -j"$jobs" all tests

step "uapi/ compiles freestanding: no libc, only kmq_crc32/memcpy/memset"
make uapi-freestanding

step "userspace suites"
make check

step "userspace suites under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
make -j"$jobs" SAN=1 BUILD=build/san tests
make SAN=1 BUILD=build/san check
unset ASAN_OPTIONS UBSAN_OPTIONS

step "interop: the real RocketMQ client ali-ons (npm) against kmqd"
KMQD="$PWD/build/kmqd" prove -v -e bash daemon/tests/interop/run.sh

step "fuzz targets (FUZZ_SECONDS=${FUZZ_SECONDS:-20} each)"
make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}"

step "kernel module: 6.1 and 6.12 builds, sparse, checkpatch, dkms"
prove -v -e "" kmod/scripts/check-module.sh

step "KUnit: kmq.ko's suites on the debug 6.12 kernel (KASAN, lockdep) in QEMU"
prove -v -e "" kmod/scripts/kunit-run.sh

step "vmtest: kmq.ko's selftests in QEMU on 6.1, 6.12 and the debug kernel"
make vmtest

step "vmtest-kmqd: kmqd's suites on the kernel backend in QEMU on 6.1, 6.12 and the debug kernel"
make vmtest-kmqd

step "vmtest-interop: ali-ons against kmqd on the kernel backend in QEMU on 6.1 and 6.12"
make vmtest-interop

step "all suites passed"
