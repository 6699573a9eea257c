# SPDX-License-Identifier: GPL-2.0-only
# tools/libkmq/libkmq.mk - libkmq, the C client library, as
# $(BUILD)/libkmq.a and $(BUILD)/libkmq.so: position-independent objects
# of tools/libkmq/ and of the code it shares with kmqd (the remoting
# codec, the uapi format code). Also its TAP suites (tools/libkmq/tests)
# and the examples of docs/client.md (docs/examples), which link the
# shared library and are run against kmqd by t_libkmq_examples.

LIBKMQ_DIR	:= tools/libkmq
LIBKMQ_SRCS	:= $(wildcard $(LIBKMQ_DIR)/*.c)
LIBKMQ_OBJS	:= $(patsubst %.c,$(BUILD)/pic/%.o,\
		     $(LIBKMQ_SRCS) $(RMT_SRCS) $(UAPI_SRCS))
LIBKMQ_A	:= $(BUILD)/libkmq.a
LIBKMQ_SO	:= $(BUILD)/libkmq.so
LIBKMQ_INC	:= -I$(LIBKMQ_DIR)/include
LIBKMQ_LDLIBS	:= -ljansson -lz -ldeflate -lpthread
LIBS		+= $(LIBKMQ_A) $(LIBKMQ_SO)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIBKMQ_INC) -fPIC -fvisibility=hidden -MMD -MP \
		-c -o $@ $<

$(LIBKMQ_A): $(LIBKMQ_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBKMQ_SO): $(LIBKMQ_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,libkmq.so -o $@ $^ \
		$(LIBKMQ_LDLIBS)

# Suites: unit tests and integration tests against a kmqd they start.
LIBKMQ_TESTS	:= $(patsubst $(LIBKMQ_DIR)/tests/%.c,$(BUILD)/tests/%,\
		     $(wildcard $(LIBKMQ_DIR)/tests/t_*.c))
TEST_BINS	+= $(LIBKMQ_TESTS)

$(BUILD)/$(LIBKMQ_DIR)/tests/%.o: CFLAGS += $(LIBKMQ_INC) -I$(LIBKMQ_DIR) \
					    -Idaemon/tests

$(LIBKMQ_TESTS): $(BUILD)/tests/%: $(BUILD)/$(LIBKMQ_DIR)/tests/%.o \
				   $(LIBKMQ_A) | $(KMQD) libkmq-examples
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBKMQ_A) $(LIBKMQ_LDLIBS) \
		$(LDLIBS)

# docs/examples: only the public header, linked to the shared library.
LIBKMQ_EXAMPLES	:= $(patsubst docs/examples/%.c,$(BUILD)/examples/%,\
		     $(wildcard docs/examples/*.c))

$(LIBKMQ_EXAMPLES): $(BUILD)/examples/%: docs/examples/%.c $(LIBKMQ_SO) \
					 $(LIBKMQ_DIR)/include/kmq/kmq.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIBKMQ_INC) $(LDFLAGS) -o $@ $< \
		-L$(BUILD) -Wl,-rpath,$(abspath $(BUILD)) -lkmq

.PHONY: libkmq libkmq-examples
libkmq: $(LIBKMQ_A) $(LIBKMQ_SO)
libkmq-examples: $(LIBKMQ_EXAMPLES)
