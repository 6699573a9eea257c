# SPDX-License-Identifier: GPL-2.0-only
# daemon/daemon.mk - kmqd and its libraries: the userspace store
# (daemon/store), the remoting codec (daemon/remoting), the daemon itself
# (daemon/kmqd); and the tests in daemon/tests.

STORE_SRCS	:= $(wildcard daemon/store/*.c)
STORE_OBJS	:= $(STORE_SRCS:%.c=$(BUILD)/%.o)
LIBKMQSTORE	:= $(BUILD)/libkmqstore.a
LIBS		+= $(LIBKMQSTORE)

$(LIBKMQSTORE): $(STORE_OBJS)
	$(AR) rcs $@ $^

RMT_SRCS	:= $(wildcard daemon/remoting/*.c)
RMT_OBJS	:= $(RMT_SRCS:%.c=$(BUILD)/%.o)
LIBKMQRMT	:= $(BUILD)/libkmqrmt.a
LIBS		+= $(LIBKMQRMT)

$(LIBKMQRMT): $(RMT_OBJS)
	$(AR) rcs $@ $^

# kmqd: everything but main() goes in a library the tests link too.
KMQD_SRCS	:= $(filter-out daemon/kmqd/kmqd_main.c,$(wildcard daemon/kmqd/*.c))
KMQD_OBJS	:= $(KMQD_SRCS:%.c=$(BUILD)/%.o)
LIBKMQD		:= $(BUILD)/libkmqd.a
KMQD		:= $(BUILD)/kmqd
LIBS		+= $(LIBKMQD)
ifneq ($(wildcard daemon/kmqd/kmqd_main.c),)
TOOL_BINS	+= $(KMQD)
endif

$(LIBKMQD): $(KMQD_OBJS)
	$(AR) rcs $@ $^

DAEMON_LIBS	:= $(LIBKMQD) $(LIBKMQSTORE) $(LIBKMQRMT) $(LIBKMQFMT)
DAEMON_LDLIBS	:= -lz

$(KMQD): $(BUILD)/daemon/kmqd/kmqd_main.o $(DAEMON_LIBS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LDLIBS) $(LDLIBS)

DAEMON_TESTS	:= $(patsubst daemon/tests/%.c,$(BUILD)/tests/%,$(wildcard daemon/tests/t_*.c))
TEST_BINS	+= $(DAEMON_TESTS)

# Tests that start kmqd run the one of their own build (build/ or build/san/).
$(DAEMON_TESTS): $(BUILD)/tests/%: $(BUILD)/daemon/tests/%.o $(DAEMON_LIBS) | $(KMQD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LDLIBS) $(LDLIBS)

-include daemon/remoting/remoting.mk

# make run: name server on 127.0.0.1:9876 and broker on 127.0.0.1:10911 in
# one process, userspace store in ./store, in the foreground (Ctrl-C stops).
RUN_ARGS	?=
.PHONY: run
run: $(KMQD)
	$(KMQD) all --storePathRootDir=$(CURDIR)/store $(RUN_ARGS)
