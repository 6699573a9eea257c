# SPDX-License-Identifier: GPL-2.0-only
# selftests/selftests.mk - kmq.ko's kselftest suites, built static for the
# test VM's initramfs, and `make vmtest`.
#
#   make selftests   $(BUILD)/selftests/kmq_*_test and kmq_reset_helper
#   make vmtest      every suite in QEMU on Debian's stock 6.1 and 6.12
#                    kernels and on the debug kernel when it is built
#                    (kmod/scripts/vm/vmtest.sh, one TAP stream each)
#
# kselftest_harness.h and kselftest.h come from Debian's linux-source
# package, unpacked into $(KMQ_CACHE)/linux-source by fetch-kernel.sh;
# they are never committed.

KMQ_CACHE	?= .cache
KSFT_DIR	:= $(KMQ_CACHE)/linux-source/tools/testing/selftests
KSFT_HARNESS	:= $(KSFT_DIR)/kselftest_harness.h
ST_DIR		:= $(BUILD)/selftests
ST_SRCS		:= $(wildcard selftests/kmq_*_test.c selftests/kmq_*_helper.c)
ST_BINS		:= $(patsubst selftests/%.c,$(ST_DIR)/%,$(ST_SRCS))
ST_CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Wshadow \
		   -Wno-unused-parameter -Wno-sign-compare -Wno-clobbered \
		   -Werror=implicit-function-declaration \
		   -D_GNU_SOURCE -pthread -Iuapi -Iselftests -I$(KSFT_DIR)
ST_NL_CFLAGS	:= $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || \
			   echo -I/usr/include/libnl3)
ST_NL_LIBS	:= -lnl-genl-3 -lnl-3

# Extra flags and libraries per suite (static link order: users first).
$(ST_DIR)/kmq_genl_test $(ST_DIR)/kmq_unpriv_test: ST_EXTRA_CFLAGS := $(ST_NL_CFLAGS)
$(ST_DIR)/kmq_genl_test $(ST_DIR)/kmq_unpriv_test: ST_EXTRA_LIBS := $(ST_NL_LIBS)
$(ST_DIR)/kmq_cross_test: ST_EXTRA_CFLAGS := -Idaemon/store
$(ST_DIR)/kmq_cross_test: ST_EXTRA_LIBS := $(LIBKMQSTORE) $(LIBKMQFMT) \
	-luring -ldeflate -ljansson -lz
$(ST_DIR)/kmq_cross_test: $(LIBKMQSTORE)

# The VM runs' judge (results2tap.awk) is tested without a VM by make check.
TEST_BINS	+= kmod/scripts/vm/t_results2tap.sh

.PHONY: selftests vmtest
selftests: $(ST_BINS)

$(KSFT_HARNESS):
	kmod/scripts/fetch-kernel.sh -c $(KMQ_CACHE)

$(ST_DIR)/%: selftests/%.c $(wildcard selftests/*.h uapi/*.h) $(LIBKMQFMT) \
		| $(KSFT_HARNESS)
	@mkdir -p $(dir $@)
	$(CC) $(ST_CFLAGS) $(ST_EXTRA_CFLAGS) -static -o $@ $< \
		$(ST_EXTRA_LIBS) $(LIBKMQFMT) -ldeflate -lpthread

# Both stock kernels, then the debug kernel (a TAP SKIP until
# kmod/scripts/kunit-kernel.sh has built it).
vmtest: selftests
	BUILD=$(BUILD) KMQ_CACHE=$(KMQ_CACHE) \
		prove -v -e kmod/scripts/vm/vmtest.sh 6.1 6.12 debug

# kmqd's protocol suites on its kernel backend, inside QEMU against kmq.ko,
# on both stock kernels and the debug kernel (kmod/scripts/vm/vmtest-kmqd.sh;
# selftests/README.md, "kmqd on the kernel backend").
.PHONY: vmtest-kmqd
vmtest-kmqd:
	BUILD=$(BUILD) KMQ_CACHE=$(KMQ_CACHE) \
		prove -v -e kmod/scripts/vm/vmtest-kmqd.sh 6.1 6.12 debug

# The ali-ons interop suite (daemon/tests/interop) against kmqd on its
# kernel backend inside QEMU, the npm client on the host, on both stock
# kernels (kmod/scripts/vm/vminterop.sh; docs/daemon.md). The debug kernel
# has no NIC: `kmod/scripts/vm/vminterop.sh debug` skips.
.PHONY: vmtest-interop
vmtest-interop:
	BUILD=$(BUILD) KMQ_CACHE=$(KMQ_CACHE) \
		prove -v -e kmod/scripts/vm/vminterop.sh 6.1 6.12
