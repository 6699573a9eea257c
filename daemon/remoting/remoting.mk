# SPDX-License-Identifier: GPL-2.0-only
# daemon/remoting/remoting.mk - the remoting codec's libFuzzer target
# (daemon.mk builds the library, build/libkmqrmt.a, and the TAP test).
#
#   make fuzz-remoting [FUZZ_SECONDS=20]
#
# Runs fuzz_remoting for FUZZ_SECONDS on a corpus seeded at run time by
# gen_seeds under $(FUZZ_DIR)/corpus/remoting, with remoting.dict; a crash
# stops make with the reproducer in $(FUZZ_DIR)/crash-remoting-*. The
# top-level `make fuzz` (uapi/uapi.mk) runs it too.

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 20
FUZZ_DIR	?= $(BUILD)/fuzz

RMT_FUZZ_DIR	:= $(FUZZ_DIR)/remoting
RMT_FUZZ_SRCS	:= $(wildcard daemon/remoting/*.c)
RMT_FUZZ_HDRS	:= $(wildcard daemon/remoting/*.h)
RMT_FUZZ_CFLAGS	:= -std=gnu11 -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE \
		   -Idaemon/remoting -fsanitize=address,undefined \
		   -fno-sanitize-recover=undefined

$(RMT_FUZZ_DIR)/fuzz_remoting: daemon/remoting/fuzz/fuzz_remoting.c \
			       $(RMT_FUZZ_SRCS) $(RMT_FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(RMT_FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(RMT_FUZZ_SRCS) -ljansson

$(RMT_FUZZ_DIR)/gen_seeds: daemon/remoting/fuzz/gen_seeds.c \
			   $(RMT_FUZZ_SRCS) $(RMT_FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(RMT_FUZZ_CFLAGS) -o $@ $< $(RMT_FUZZ_SRCS) -ljansson

.PHONY: fuzz-remoting
fuzz-remoting: $(RMT_FUZZ_DIR)/fuzz_remoting $(RMT_FUZZ_DIR)/gen_seeds
	@mkdir -p $(FUZZ_DIR)/corpus
	$(RMT_FUZZ_DIR)/gen_seeds $(FUZZ_DIR)/corpus/remoting
	@echo "fuzz_remoting: $(FUZZ_SECONDS)s"; \
	log=$(FUZZ_DIR)/fuzz_remoting.log; \
	if ! $(RMT_FUZZ_DIR)/fuzz_remoting \
		-dict=daemon/remoting/fuzz/remoting.dict \
		-max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/crash-remoting- \
		$(FUZZ_DIR)/corpus/remoting >$$log 2>&1; then \
		tail -n 60 $$log; \
		echo "fuzz_remoting: FAIL (log: $$log)"; \
		exit 1; \
	fi; \
	grep -E '^(Done|stat::number_of_executed_units)' $$log; \
	echo "fuzz_remoting: OK"

fuzz: fuzz-remoting
