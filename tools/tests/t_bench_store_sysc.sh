#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# t_bench_store_sysc.sh - kmq-bench store through kmqd's storage
# interface (--backend) and its system call counts (--syscalls), TAP.
# Checks records and counts, never speed: the userspace backend with
# batches under SYNC_FLUSH (kmqd_st_append_async() completed by the group
# commit), --backend kernel refused cleanly without /dev/kmq, bad
# --backend values, and that the kernel's syscall counters see what the
# store does: a SYNC_FLUSH append waits in at least one system call, an
# ASYNC_FLUSH append to the mapped segment makes none. The counter tests
# are skipped where tracefs or perf events are not available (not root).
# make turns it into $(BUILD)/tests/t_bench_store_sysc with the binary's
# path filled in; KMQ_BENCH overrides it. The kernel backend itself is
# run in QEMU by kmod/scripts/vm/vmbench.sh.

# The shared TAP plumbing (lib_tap.sh) sits next to this script.
. "$(dirname "$0")/lib_tap.sh"

KMQ_BENCH=${KMQ_BENCH:-@KMQ_BENCH@}
COUNT=4000
# cmp_float A OP B: awk comparison of two numbers.
cmp_float() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		if (op == "<") exit !(a < b)
		if (op == ">=") exit !(a >= b)
		exit 1
	}'
}

tap_tmpdir kmq-bench-sysc

"$KMQ_BENCH" store --help >"$tmp/help" 2>&1
grep -q -- '--backend' "$tmp/help" && grep -q -- '--syscalls' "$tmp/help"
ok $? "store --help documents --backend and --syscalls"

# Batches under SYNC_FLUSH go through append_async and wait for the sync.
"$KMQ_BENCH" store --backend userspace --dir "$tmp/s1" --count $COUNT \
	--size 100 --batch 16 --flush sync --appenders 2 --segment-size 1M \
	--json --quiet --rm >"$tmp/s1.json" 2>"$tmp/err"
rc=$?
ok $rc "store --backend userspace --batch 16 --flush sync exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/err"
[ "$(json_get "$tmp/s1.json" config.backend)" = userspace ]
ok $? "the summary names the userspace backend"
[ "$(json_get "$tmp/s1.json" append.records)" = $COUNT ] &&
	[ "$(json_get "$tmp/s1.json" read.records)" = $COUNT ] &&
	[ "$(json_get "$tmp/s1.json" read.decoded)" = $COUNT ]
ok $? "$COUNT records appended, read back and decoded"
[ "$(json_get "$tmp/s1.json" append.calls)" = $((COUNT / 16)) ]
ok $? "$((COUNT / 16)) append calls of 16 records"

# No /dev/kmq here: a clear error, exit status 2, no crash.
if [ -e /dev/kmq ]; then
	skip "--backend kernel without /dev/kmq fails cleanly" "/dev/kmq exists"
else
	"$KMQ_BENCH" store --backend kernel --dir "$tmp/k" --count 10 \
		--quiet >"$tmp/k.out" 2>"$tmp/k.err"
	rc=$?
	[ $rc -eq 2 ] && grep -q '/dev/kmq' "$tmp/k.err"
	ok $? "--backend kernel without /dev/kmq exits 2 naming /dev/kmq (rc $rc)"
fi
"$KMQ_BENCH" store --backend nosuch --dir "$tmp/x" --count 10 --quiet \
	>/dev/null 2>"$tmp/x.err"
rc=$?
[ $rc -eq 2 ] && grep -q "bad value 'nosuch' for --backend" "$tmp/x.err"
ok $? "--backend nosuch exits 2 with a message (rc $rc)"

# The counters: SYNC_FLUSH appends wait in the kernel, ASYNC ones do not.
"$KMQ_BENCH" store --dir "$tmp/c1" --count $COUNT --size 100 \
	--flush sync --segment-size 1M --syscalls --json --quiet --rm \
	>"$tmp/c1.json" 2>"$tmp/c1.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'syscall counters' "$tmp/c1.err"; then
	why=$(grep -m1 'syscall counters' "$tmp/c1.err")
	skip "--syscalls counts SYNC_FLUSH appends" "$why"
	skip "--syscalls: ASYNC_FLUSH appends make no system call" "$why"
	skip "--syscalls counts the read phase" "$why"
else
	sync_pc=$(json_get "$tmp/c1.json" append.syscalls.per_call)
	[ $rc -eq 0 ] && cmp_float "${sync_pc:-0}" ">=" 1
	ok $? "--syscalls: a SYNC_FLUSH append makes >= 1 system call (${sync_pc:-none} per call)"
	"$KMQ_BENCH" store --dir "$tmp/c2" --count $COUNT --size 100 \
		--flush async --segment-size 1M --syscalls --json --quiet \
		--rm >"$tmp/c2.json" 2>"$tmp/c2.err"
	rc=$?
	async_pc=$(json_get "$tmp/c2.json" append.syscalls.per_call)
	[ $rc -eq 0 ] && cmp_float "${async_pc:-1}" "<" 0.5
	ok $? "--syscalls: an ASYNC_FLUSH append makes none (${async_pc:-none} per call)"
	[ "$(json_get "$tmp/c2.json" read.syscalls.calls)" = \
	  "$(json_get "$tmp/c2.json" read.read_calls)" ]
	ok $? "--syscalls counts the read phase per read call"
fi

tap_done
