# SPDX-License-Identifier: GPL-2.0-only
# tools/tools.mk - kmq-bench (store mode for now), its smoke test, and
# `make bench`.

BENCH_SRCS	:= $(wildcard tools/bench/*.c)
BENCH_OBJS	:= $(BENCH_SRCS:%.c=$(BUILD)/%.o)
KMQ_BENCH	:= $(BUILD)/kmq-bench
TOOL_BINS	+= $(KMQ_BENCH)

$(KMQ_BENCH): $(BENCH_OBJS) $(LIBKMQSTORE) $(LIBKMQFMT)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The smoke test is a TAP shell script; its built copy knows the binary.
BENCH_SMOKE	:= $(BUILD)/tests/t_bench_smoke
TEST_BINS	+= $(BENCH_SMOKE)

$(BENCH_SMOKE): tools/tests/t_bench_smoke.sh $(KMQ_BENCH)
	@mkdir -p $(dir $@)
	sed 's|@KMQ_BENCH@|$(abspath $(KMQ_BENCH))|' $< > $@
	chmod +x $@

# The matrix of docs/benchmarks.md; BENCH_DIR picks the disk (not tmpfs).
bench: $(KMQ_BENCH)
	tools/bench/run-matrix.sh $(KMQ_BENCH)
