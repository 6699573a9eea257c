#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# t_results2tap.sh - TAP test of results2tap.awk, the judge of every VM
# run, without a VM: made-up results logs must give the verdicts
# vmtest.sh relies on (a warning after kmq.ko was loaded fails "dmesg
# clean", a suite that died or skipped part of its plan fails, kmemleak
# reports of kmq.ko fail, a VM that did not finish fails).
# Runs in `make check` (selftests/selftests.mk adds it to TEST_BINS).
set -uo pipefail
# check() runs last in pipelines and must count in this shell.
shopt -s lastpipe

AWK=$(cd "$(dirname "$0")" && pwd)/results2tap.awk
N=0
FAILED=0

check() {	# check <name> <expected line regex> <awk args...> < log
	local name=$1 want=$2 out

	shift 2
	out=$(awk "$@" -f "$AWK")
	N=$((N + 1))
	# Never a line prove would take for its own ("Bail out!", a plan).
	if grep -qE "$want" <<<"$out" &&
	   ! grep -qE '^(Bail out!|[0-9]+\.\.[0-9]+)' <<<"$out"; then
		echo "ok $N - $name"
	else
		echo "not ok $N - $name"
		FAILED=$((FAILED + 1))
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}

good() {
	cat <<-'EOF'
	KMQ-BOOTED up=3.5 kernel=6.1.0-56-amd64
	KMQ-MOUNT rc=0
	KMQ-INSMOD rc=0
	KMQ-BEGIN kmq_x_test
	TAP version 13
	1..3
	ok 1 fix.one
	not ok 2 fix.two
	ok 3 fix.three # SKIP no reason
	KMQ-END kmq_x_test rc=1 secs=0.5
	KMQ-RMMOD rc=0
	KMQ-DMESG-BEGIN
	[    0.1] WARNING: boot noise before kmq
	[    4.0] kmq-vm: loading kmq.ko
	[    4.1] kmq: loaded
	KMQ-DMESG-END
	KMQ-DONE up=5.0
	EOF
}

good | check "suite results become tests" '^ok - L kmq_x_test: fix.one$' \
	-v label=L -v rmmod=1 -v suites=kmq_x_test
good | check "a failed result stays failed" '^not ok - L kmq_x_test: fix.two$' \
	-v label=L
good | check "SKIP directive kept" '^ok - L kmq_x_test: fix.three # SKIP no reason$' \
	-v label=L
good | check "complete suite" '^ok - L kmq_x_test: finished, every planned test reported$' \
	-v label=L
good | check "boot noise before kmq.ko is not judged" '^ok - L dmesg clean$' \
	-v label=L
good | check "VM ran to completion" '^ok - L VM ran to completion$' -v label=L
good | check "insmod and rmmod" '^ok - L rmmod kmq$' -v label=L -v rmmod=1

good | sed 's/kmq: loaded/WARNING: CPU: 0 PID: 9 at kmod\/kmq_x.c:1/' |
	check "a WARNING after insmod fails dmesg clean" '^not ok - L dmesg clean$' \
		-v label=L
for bad in 'BUG: KASAN: use-after-free' 'possible circular locking dependency' \
	   'Oops: 0000' 'general protection fault' 'Call Trace:' \
	   'WARNING: bad unlock balance detected! (lockdep)'; do
	good | sed "s/kmq: loaded/$bad/" |
		check "\"$bad\" fails dmesg clean" '^not ok - L dmesg clean$' \
			-v label=L
done

good | sed '/^ok 3 /d' |
	check "a missing result fails the suite" '^not ok - L kmq_x_test: finished' \
		-v label=L
good | sed '/^KMQ-END/,$d' |
	check "a suite cut short fails" '^not ok - L kmq_x_test: finished' \
		-v label=L
good | sed '/^KMQ-DONE/d' |
	check "no KMQ-DONE fails completion" '^not ok - L VM ran to completion$' \
		-v label=L
good | sed '/^KMQ-DMESG/d' |
	check "no dmesg fails dmesg clean" '^not ok - L dmesg clean$' -v label=L
good | check "a suite that never ran fails" '^not ok - L kmq_y_test: ran$' \
	-v label=L -v suites="kmq_x_test kmq_y_test"
good | sed '/^KMQ-RMMOD/d' |
	check "a missing rmmod fails" '^not ok - L rmmod kmq$' -v label=L -v rmmod=1
good | sed 's/^KMQ-INSMOD rc=0/KMQ-INSMOD rc=1/' |
	check "a failed insmod fails" '^not ok - L insmod kmq.ko$' -v label=L

leak() {
	good | sed "/^KMQ-RMMOD/i KMQ-KMEMLEAK-BEGIN\\
unreferenced object 0xffff888001 (size 64):\\
  comm \"kmq_x_test\", pid 70\\
  backtrace (crc 0):\\
    $1\\
KMQ-KMEMLEAK-END"
}
leak 'kmq_kstore_new+0x1/0x9 [kmq]' |
	check "a kmq.ko leak fails kmemleak" '^not ok - L kmemleak: no object of kmq.ko leaked$' \
		-v label=L
leak 'kmalloc_trace+0x1/0x9' |
	check "another leak (comm kmq_*) is not kmq.ko's" '^ok - L kmemleak: no object of kmq.ko leaked$' \
		-v label=L

good | sed 's/^ok 1 fix.one/ok 1 fix.one\nBail out! not from us/' |
	check "suite output cannot bail out prove" '^# kmq_x_test\| Bail out!' -v label=L

echo "1..$N"
[ $FAILED -eq 0 ]
