# SPDX-License-Identifier: GPL-2.0-only
# tools/tools.mk - kmq-bench (store mode on either storage backend of
# kmqd; produce, consume, pipeline and drain on libkmq; echo), its smoke
# tests, and `make bench`.

BENCH_SRCS	:= $(wildcard tools/bench/*.c)
BENCH_OBJS	:= $(BENCH_SRCS:%.c=$(BUILD)/%.o)
KMQ_BENCH	:= $(BUILD)/kmq-bench
TOOL_BINS	+= $(KMQ_BENCH)

# libkmq (tools/libkmq/libkmq.mk) is included after this file, so its
# archive and header path are named here; the static library carries the
# remoting codec that echo mode uses too.
BENCH_LIBKMQ	:= $(BUILD)/libkmq.a
$(BENCH_OBJS): CFLAGS += -Itools/libkmq/include

# Store mode runs through kmqd's storage interface: libkmqd (its backend
# objects) goes before the store library it calls.
$(KMQ_BENCH): $(BENCH_OBJS) $(LIBKMQD) $(LIBKMQSTORE) $(BENCH_LIBKMQ) $(LIBKMQFMT)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lz $(LDLIBS)

# The smoke tests are TAP shell scripts; their built copies know the
# binaries (kmq-bench, and kmqd for the remote modes).
BENCH_SMOKE	:= $(BUILD)/tests/t_bench_smoke
BENCH_REMOTE_SMOKE := $(BUILD)/tests/t_bench_remote_smoke
TEST_BINS	+= $(BENCH_SMOKE) $(BENCH_REMOTE_SMOKE)

$(BENCH_SMOKE): tools/tests/t_bench_smoke.sh $(KMQ_BENCH)
	@mkdir -p $(dir $@)
	sed 's|@KMQ_BENCH@|$(abspath $(KMQ_BENCH))|' $< > $@
	chmod +x $@

$(BENCH_REMOTE_SMOKE): tools/tests/t_bench_remote_smoke.sh $(KMQ_BENCH) $(KMQD)
	@mkdir -p $(dir $@)
	sed -e 's|@KMQ_BENCH@|$(abspath $(KMQ_BENCH))|' \
	    -e 's|@KMQD@|$(abspath $(KMQD))|' $< > $@
	chmod +x $@

# The matrices of docs/benchmarks.md; BENCH_DIR picks the disk (not
# tmpfs). bench-remote starts kmqd itself (run-remote.sh: BENCH_* knobs).
.PHONY: bench-remote
bench: $(KMQ_BENCH)
	tools/bench/run-matrix.sh $(KMQ_BENCH)

bench-remote: $(KMQ_BENCH) $(KMQD)
	tools/bench/run-remote.sh $(KMQ_BENCH) $(KMQD)

# kmq-bench store's --backend and --syscalls (TAP).
BENCH_SYSC_TEST	:= $(BUILD)/tests/t_bench_store_sysc
TEST_BINS	+= $(BENCH_SYSC_TEST)

$(BENCH_SYSC_TEST): tools/tests/t_bench_store_sysc.sh $(KMQ_BENCH)
	@mkdir -p $(dir $@)
	sed 's|@KMQ_BENCH@|$(abspath $(KMQ_BENCH))|' $< > $@
	chmod +x $@

# The shell tests source lib_tap.sh from their own directory: a copy sits
# next to the built scripts (t_kmqadmin's rule is in kmqadmin.mk).
TAP_LIB		:= $(BUILD)/tests/lib_tap.sh

$(TAP_LIB): tools/tests/lib_tap.sh
	@mkdir -p $(dir $@)
	cp $< $@

$(BENCH_SMOKE) $(BENCH_REMOTE_SMOKE) $(BENCH_SYSC_TEST): $(TAP_LIB)
$(BUILD)/tests/t_kmqadmin: $(TAP_LIB)
