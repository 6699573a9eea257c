# SPDX-License-Identifier: GPL-2.0-only
# uapi/uapi.mk - the shared format code as a userspace library, its tests.

UAPI_SRCS	:= $(wildcard uapi/*.c) uapi/user/kmq_crc32.c
UAPI_OBJS	:= $(UAPI_SRCS:%.c=$(BUILD)/%.o)
LIBKMQFMT	:= $(BUILD)/libkmqfmt.a
LIBS		+= $(LIBKMQFMT)

$(LIBKMQFMT): $(UAPI_OBJS)
	$(AR) rcs $@ $^

UAPI_TESTS	:= $(patsubst uapi/tests/%.c,$(BUILD)/tests/%,$(wildcard uapi/tests/t_*.c))
TEST_BINS	+= $(UAPI_TESTS)

$(UAPI_TESTS): $(BUILD)/tests/%: $(BUILD)/uapi/tests/%.o $(LIBKMQFMT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
