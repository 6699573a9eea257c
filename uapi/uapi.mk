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

# --- uapi-freestanding: prove the format code needs no libc --------------
#
# Each uapi/*.c is compiled as the module would see it: -ffreestanding and
# -nostdinc, with only the compiler's own headers (stddef.h, stdbool.h) and
# the kernel UAPI headers (linux/, asm/, asm-generic/) on the include path,
# and the warnings the kernel cares about (declarations after statements,
# VLAs, stack frames over 1 KiB) as errors. Then nm must show no undefined
# symbol but kmq_crc32 (provided per world) and memcpy/memset (what the
# compiler may lower __builtin_mem* to).

UAPI_FS_DIR	:= $(BUILD)/freestanding
UAPI_FS_OBJS	:= $(patsubst uapi/%.c,$(UAPI_FS_DIR)/%.o,$(wildcard uapi/*.c))
UAPI_FS_INC	:= $(UAPI_FS_DIR)/include
UAPI_FS_ALLOWED	:= kmq_crc32 memcpy memset
# Recursive (=): the shell calls run only when the target is built.
UAPI_FS_ASM	= $(firstword $(wildcard \
		    /usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)/asm \
		    /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null)/asm \
		    /usr/include/asm))
UAPI_FS_CFLAGS	= -std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter \
		   -Wdeclaration-after-statement -Wvla -Wstrict-prototypes \
		   -Wmissing-prototypes -Wframe-larger-than=1024 -Werror \
		   -ffreestanding -fno-stack-protector -fno-pic \
		   -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
		   -isystem $(UAPI_FS_INC) -Iuapi

$(UAPI_FS_INC)/.stamp:
	@test -n "$(UAPI_FS_ASM)" || \
		{ echo "uapi-freestanding: no kernel asm/ headers found"; exit 1; }
	@mkdir -p $(UAPI_FS_INC)
	ln -sfn /usr/include/linux $(UAPI_FS_INC)/linux
	ln -sfn /usr/include/asm-generic $(UAPI_FS_INC)/asm-generic
	ln -sfn $(UAPI_FS_ASM) $(UAPI_FS_INC)/asm
	@touch $@

$(UAPI_FS_DIR)/%.o: uapi/%.c $(wildcard uapi/*.h) $(UAPI_FS_INC)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(UAPI_FS_CFLAGS) -c -o $@ $<

.PHONY: uapi-freestanding
uapi-freestanding: $(UAPI_FS_OBJS)
	@undef=$$(nm -u $^ | awk 'NF == 2 && $$1 == "U" { print $$2 }' | \
		  sort -u); \
	bad=$$(for s in $$undef; do \
		case " $(UAPI_FS_ALLOWED) " in *" $$s "*) ;; *) echo $$s;; esac; \
	done); \
	if [ -n "$$bad" ]; then \
		echo "uapi-freestanding: FAIL, undefined symbols:" $$bad; \
		exit 1; \
	fi; \
	echo "uapi-freestanding: OK, $(words $^) objects, undefined:" $$undef

# --- fuzz: libFuzzer targets for everything that parses untrusted bytes ---
#
#   make fuzz [FUZZ_SECONDS=20]
#
# Each target runs for FUZZ_SECONDS on a corpus seeded at run time by
# gen_seeds under $(BUILD)/fuzz/corpus/<target>; a crash stops make with
# the reproducer in $(BUILD)/fuzz/crash-<target>-*.

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 20
FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_NAMES	:= record props msgid checkpoint
FUZZ_NAMES	+= topicfile
FUZZ_BINS	:= $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_SRCS	:= $(wildcard uapi/*.c) uapi/user/kmq_crc32.c
FUZZ_CFLAGS	:= -std=gnu11 -g -O1 -fno-omit-frame-pointer -Iuapi \
		   -fsanitize=address,undefined -fno-sanitize-recover=undefined

$(FUZZ_DIR)/fuzz_%: uapi/fuzz/fuzz_%.c $(FUZZ_SRCS) $(wildcard uapi/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_SRCS) \
		-ldeflate

$(FUZZ_DIR)/gen_seeds: uapi/fuzz/gen_seeds.c $(FUZZ_SRCS) $(wildcard uapi/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS) -ldeflate

.PHONY: fuzz
fuzz: $(FUZZ_BINS) $(FUZZ_DIR)/gen_seeds
	$(FUZZ_DIR)/gen_seeds $(FUZZ_DIR)/corpus
	@set -e; for t in $(FUZZ_NAMES); do \
		echo "fuzz_$$t: $(FUZZ_SECONDS)s"; \
		dict=; \
		if [ -f uapi/fuzz/$$t.dict ]; then \
			dict=-dict=uapi/fuzz/$$t.dict; \
		fi; \
		log=$(FUZZ_DIR)/fuzz_$$t.log; \
		if ! $(FUZZ_DIR)/fuzz_$$t $$dict \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/crash-$$t- \
			$(FUZZ_DIR)/corpus/$$t >$$log 2>&1; then \
			tail -n 60 $$log; \
			echo "fuzz_$$t: FAIL (log: $$log)"; \
			exit 1; \
		fi; \
		grep -E '^(Done|stat::number_of_executed_units)' $$log; \
		echo "fuzz_$$t: OK"; \
	done
