# SPDX-License-Identifier: GPL-2.0-only
# tools/kmqadmin/kmqadmin.mk - kmqadmin, the mqadmin-style command line,
# built on libkmq only (static: $(BUILD)/libkmq.a), and its TAP suite
# (tools/tests/t_kmqadmin.sh against a kmqd it starts).

KMQADMIN_SRCS	:= $(wildcard tools/kmqadmin/*.c)
KMQADMIN_OBJS	:= $(KMQADMIN_SRCS:%.c=$(BUILD)/%.o)
KMQADMIN	:= $(BUILD)/kmqadmin
TOOL_BINS	+= $(KMQADMIN)

$(KMQADMIN_OBJS): CFLAGS += $(LIBKMQ_INC)

$(KMQADMIN): $(KMQADMIN_OBJS) $(LIBKMQ_A)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(KMQADMIN_OBJS) $(LIBKMQ_A) \
		$(LIBKMQ_LDLIBS)

KMQADMIN_TEST	:= $(BUILD)/tests/t_kmqadmin
TEST_BINS	+= $(KMQADMIN_TEST)

$(KMQADMIN_TEST): tools/tests/t_kmqadmin.sh $(KMQADMIN) $(KMQD)
	@mkdir -p $(dir $@)
	sed -e 's|@KMQADMIN@|$(abspath $(KMQADMIN))|' \
	    -e 's|@KMQD@|$(abspath $(KMQD))|' $< > $@
	chmod +x $@

.PHONY: kmqadmin
kmqadmin: $(KMQADMIN)
