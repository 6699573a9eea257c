#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# t_bench_smoke.sh - functional smoke test of kmq-bench's store mode (TAP).
# Checks exit statuses, the JSON summary and its record counts; it asserts
# nothing about speed. make turns it into $(BUILD)/tests/t_bench_smoke
# with the binary's path filled in; KMQ_BENCH overrides it.

# The shared TAP plumbing (lib_tap.sh) sits next to this script.
. "$(dirname "$0")/lib_tap.sh"

KMQ_BENCH=${KMQ_BENCH:-@KMQ_BENCH@}
COUNT=20000
tap_tmpdir kmq-bench-smoke

"$KMQ_BENCH" --help >"$tmp/help" 2>&1
ok $? "kmq-bench --help exits 0"
grep -q -- '--appenders' "$tmp/help"
ok $? "--help documents the store flags"

"$KMQ_BENCH" store --dir "$tmp/store" --count $COUNT --size 100 \
	--flush sync --appenders 4 --segment-size 1M --json --quiet \
	>"$tmp/out.json" 2>"$tmp/err"
rc=$?
ok $rc "store --flush sync --appenders 4 --count $COUNT exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/err"

json_get "$tmp/out.json" ok >"$tmp/okfield"
ok $? "the --json summary parses"
[ "$(cat "$tmp/okfield")" = true ]
ok $? "the summary says ok"
[ "$(json_get "$tmp/out.json" append.records)" = $COUNT ]
ok $? "append.records is $COUNT"
[ "$(json_get "$tmp/out.json" read.records)" = $COUNT ]
ok $? "read.records is $COUNT"
[ "$(json_get "$tmp/out.json" read.decoded)" = $COUNT ]
ok $? "every record read back was decoded and checked"
[ "$(json_get "$tmp/out.json" config.flush)" = SYNC_FLUSH ]
ok $? "the summary names the flush mode"

"$KMQ_BENCH" store --dir "$tmp/store" --count 10 --quiet \
	>/dev/null 2>&1
[ $? -eq 2 ]
ok $? "a non-empty --dir is refused without --reuse"

"$KMQ_BENCH" store --dir "$tmp/store" --reuse --count 1000 --size 1K \
	--appenders 4 --segment-size 1M --quiet >"$tmp/out2" 2>&1
ok $? "--reuse appends to the existing store and reads the new records"

"$KMQ_BENCH" store --dir "$tmp/store2" --count 100 --batch 0 \
	>/dev/null 2>&1
[ $? -eq 2 ]
ok $? "--batch 0 is refused"

tap_done
