# SPDX-License-Identifier: GPL-2.0-only
#
# kmq top-level Makefile.
#
#   make            userspace: the store library, daemon and tools
#   make module     kmq.ko against KDIR (default: the running kernel's build)
#   make test       install what the tests need, build, run every suite
#   make check      run the userspace TAP suites (prove) in $(BUILD)
#   make bench      the store benchmark (docs/benchmarks.md)
#
# Userspace objects go to $(BUILD) (default build/). SAN=1 builds with
# ASan and UBSan; `make test` runs the suites once plain and once so.

BUILD	?= build
CC	?= gcc
SAN	?=

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter \
	   -Wmissing-prototypes -Werror=implicit-function-declaration \
	   -D_GNU_SOURCE -pthread -Iuapi -Idaemon/store -Idaemon/remoting -Idaemon/kmqd -Itools/testing
LDLIBS	+= -luring -ldeflate -ljansson -lpthread

ifeq ($(SAN),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

# Filled in by the component makefiles below.
LIBS		:=
TEST_BINS	:=
TOOL_BINS	:=

include uapi/uapi.mk
include daemon/daemon.mk
include tools/tools.mk
include tools/libkmq/libkmq.mk
include tools/kmqadmin/kmqadmin.mk
include kmod/kmod.mk
include kmod/kunit.mk
include selftests/selftests.mk

.PHONY: all tests check test bench clean
all: $(LIBS) $(TOOL_BINS)

tests: $(TEST_BINS)

check: tests
	prove -j2 -e '' $(TEST_BINS)

test:
	tools/scripts/test-all.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

clean:
	rm -rf $(BUILD)
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# make vmbench: kmq.ko against the userspace store inside one QEMU VM, and
# kmqd's drain on both backends (kmod/scripts/vm/vmbench.sh, results in
# docs/benchmarks.md). A benchmark: not part of `make test`.
VMBENCH_KERNEL	?= 6.12
.PHONY: vmbench
vmbench:
	kmod/scripts/vm/vmbench.sh $(VMBENCH_KERNEL)
