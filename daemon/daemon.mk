# SPDX-License-Identifier: GPL-2.0-only
# daemon/daemon.mk - the userspace store library (kmqd's default backend)
# and its tests.

STORE_SRCS	:= $(wildcard daemon/store/*.c)
STORE_OBJS	:= $(STORE_SRCS:%.c=$(BUILD)/%.o)
LIBKMQSTORE	:= $(BUILD)/libkmqstore.a
LIBS		+= $(LIBKMQSTORE)

$(LIBKMQSTORE): $(STORE_OBJS)
	$(AR) rcs $@ $^

DAEMON_TESTS	:= $(patsubst daemon/tests/%.c,$(BUILD)/tests/%,$(wildcard daemon/tests/t_*.c))
TEST_BINS	+= $(DAEMON_TESTS)

$(DAEMON_TESTS): $(BUILD)/tests/%: $(BUILD)/daemon/tests/%.o $(LIBKMQSTORE) $(LIBKMQFMT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
