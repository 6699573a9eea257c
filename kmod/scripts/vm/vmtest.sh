#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vmtest.sh - kmq.ko and its kselftest suites inside QEMU on one kernel,
# as one TAP stream (run by prove: `make vmtest`).
#
#   6.1 | 6.12   Debian's stock kernel of that series (the one the headers
#                in .cache/kernels.list are for), its modules.dep-resolved
#                virtio and ext4 modules in the initramfs
#   debug        the debug kernel of kmod/scripts/kunit-kernel.sh (KASAN,
#                lockdep, panic_on_warn), when .cache/kdebug/READY says it
#                is built; skipped otherwise
#   <kver>       a kernel named exactly
#
# One boot runs every suite of selftests/ (as root, and kmq_unpriv_test as
# nobody), unloads kmq.ko and sends the dmesg back; any warning, lockdep
# report, KASAN report, oops or call trace after kmq.ko was loaded fails
# "dmesg clean". Then the hard-reset test: a SYNC_FLUSH appender prints
# each acknowledged record; after KMQ_RESET_ACKS of them QEMU is killed
# (SIGKILL; the disk is cache=none), the VM boots again on the same disk,
# re-attaches the store and dumps it; every acknowledged record must be
# there, intact.
#
# Usage: vmtest.sh [-c CACHE] [-b BUILD] <6.1|6.12|debug|kver>
# Environment:
#   KMQ_VM_SUITES     suites to run (default: every one, in a fixed order)
#   KMQ_VM_TIMEOUT    seconds for the test boot (default 300, debug 900)
#   KMQ_RESET_TIMEOUT seconds for each hard-reset boot (default 120,
#                     debug 400)
#   KMQ_VM_RESET=0    skip the hard-reset test
#   KMQ_RESET_ACKS    acknowledged appends before the kill (default 200)
# Work files (initramfs, disk images, logs) go to BUILD/vm/<kver>/.
set -uo pipefail
# tap() runs last in pipelines and must count in this shell.
shopt -s lastpipe

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
VM=$ROOT/kmod/scripts/vm
CACHE=${KMQ_CACHE:-$ROOT/.cache}
BUILD=${BUILD:-$ROOT/build}

while [ $# -gt 0 ]; do
	case $1 in
	-c) CACHE=$2; shift 2 ;;
	-b) BUILD=$2; shift 2 ;;
	-*) echo "usage: $0 [-c CACHE] [-b BUILD] <6.1|6.12|debug|kver>" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [-c CACHE] [-b BUILD] <6.1|6.12|debug|kver>" >&2; exit 2; }
TARGET=$1
mkdir -p "$CACHE" "$BUILD"
CACHE=$(cd "$CACHE" && pwd)
BUILD=$(cd "$BUILD" && pwd)

# The suites, in the order they run. kmq_unload_test unloads and reloads
# kmq.ko, so it goes last.
DEFAULT_SUITES="kmq_attach_test kmq_topic_test kmq_append_test kmq_read_test
kmq_poll_test kmq_mmap_test kmq_badinput_test kmq_genl_test
kmq_concurrency_test kmq_cross_test kmq_pull_send_test kmq_unpriv_test@nobody
kmq_unload_test"
# One line, single spaces.
read -r -a SUITE_LIST <<<"$(echo "${KMQ_VM_SUITES:-$DEFAULT_SUITES}" | tr '\n' ' ')"
SUITES="${SUITE_LIST[*]}"
ACKS=${KMQ_RESET_ACKS:-200}

# --- TAP -------------------------------------------------------------------
N=0
FAILED=0
tap() {		# tap: number the "ok - " / "not ok - " lines of stdin
	local line

	while IFS= read -r line; do
		case $line in
		"ok - "*)
			N=$((N + 1))
			echo "ok $N ${line#ok }"
			;;
		"not ok - "*)
			N=$((N + 1))
			FAILED=$((FAILED + 1))
			echo "not ok $N ${line#not ok }"
			;;
		*) echo "$line" ;;
		esac
	done
}
ok() {		# ok <0|1 as status> <name>
	if [ "$1" -eq 0 ]; then
		echo "ok - $TARGET $2"
	else
		echo "not ok - $TARGET $2"
	fi | tap
}
diag() { sed 's/^/# /'; }
say() { echo "# vmtest $TARGET: $*"; }
finish() {
	echo "1..$N"
	[ $FAILED -eq 0 ]
	exit
}
bail() {
	echo "not ok - $TARGET $*" | tap
	finish
}
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

T0=$(now)

# --- the kernel --------------------------------------------------------------
KVER='' KDIR='' KERNEL='' MODROOT='' APPEND=''
TIMEOUT=${KMQ_VM_TIMEOUT:-300}
RESET_TIMEOUT=${KMQ_RESET_TIMEOUT:-120}

if [ "$TARGET" = debug ]; then
	READY=$CACHE/kdebug/READY
	if [ ! -f "$READY" ]; then
		echo "1..0 # SKIP no debug kernel ($READY absent: run kmod/scripts/kunit-kernel.sh)"
		exit 0
	fi
	# shellcheck disable=SC1090
	. "$READY"
	KVER=${KDEBUG_KVER:-} KDIR=${KDEBUG_KDIR:-} KERNEL=${KDEBUG_BZIMAGE:-}
	APPEND=${KDEBUG_CMDLINE:-"panic_on_warn=1 oops=panic"}
	TIMEOUT=${KMQ_VM_TIMEOUT:-900}
	RESET_TIMEOUT=${KMQ_RESET_TIMEOUT:-400}
	if [ -z "$KVER" ] || [ ! -f "$KERNEL" ] || [ ! -f "$KDIR/Makefile" ]; then
		bail "debug kernel: $READY names no usable kernel"
	fi
else
	need_fetch=0
	[ -f "$CACHE/kernels.list" ] || need_fetch=1
	[ -f "$CACHE/linux-source/tools/testing/selftests/kselftest_harness.h" ] ||
		need_fetch=1
	if [ $need_fetch -eq 1 ]; then
		say "fetching kernel headers and kselftest headers"
		"$ROOT/kmod/scripts/fetch-kernel.sh" -c "$CACHE" 2>&1 | diag
	fi
	read -r _ KVER KDIR < <(awk -v t="$TARGET" '$1 == t || $2 == t' \
				"$CACHE/kernels.list" 2>/dev/null)
	[ -n "$KVER" ] || bail "kernel $TARGET: not in $CACHE/kernels.list"
	say "fetching linux-image-$KVER"
	img=$("$VM/fetch-image.sh" -c "$CACHE" "$KVER" 2>"$BUILD/.fetch-image.log")
	st=$?
	[ $st -eq 0 ] || diag <"$BUILD/.fetch-image.log"
	rm -f "$BUILD/.fetch-image.log"
	ok $st "kernel image linux-image-$KVER unpacked"
	[ $st -eq 0 ] || finish
	KERNEL=$img/boot/vmlinuz-$KVER
	MODROOT=$img
	# Images of kernels no longer in kernels.list go.
	for d in "$CACHE"/vm/*/; do
		k=$(basename "$d")
		[ -f "$d/.kmq-stamp" ] || continue
		awk -v k="$k" '$2 == k { f = 1 } END { exit !f }' \
			"$CACHE/kernels.list" || rm -rf "$d"
	done
fi
OUT=$BUILD/vm/$KVER
mkdir -p "$OUT"

# --- kmq.ko and the selftests ------------------------------------------------
say "building kmq.ko against $KDIR"
KO=$("$VM/build-kmq.sh" "$KDIR" "$OUT/kmq" 2>"$OUT/kmq-build.err")
st=$?
ok $st "kmq.ko builds for $KVER"
[ $st -eq 0 ] || { diag <"$OUT/kmq-build.err"; finish; }

say "building the selftests (static)"
make -C "$ROOT" -s BUILD="$BUILD" KMQ_CACHE="$CACHE" selftests \
	>"$OUT/selftests-build.log" 2>&1
st=$?
ok $st "selftests build (static)"
[ $st -eq 0 ] || { tail -n 40 "$OUT/selftests-build.log" | diag; finish; }
TESTDIR=$BUILD/selftests

# --- a VM run ------------------------------------------------------------------
new_disk() {	# new_disk <path>: a fresh sparse ext4 image
	rm -f "$1"
	truncate -s 512M "$1" && mkfs.ext4 -F -q -E lazy_itable_init=0 "$1"
}

# run_vm <name> <mode> <disk> <timeout> <fresh> [boot.sh -w/-n options]:
# initramfs for the mode, boot, logs in $OUT/<name>/. Sets BOOT_ST. With
# <fresh> 1 the disk is made anew first.
#
# Under TCG on a loaded host a vCPU sometimes stops getting its timer
# interrupts (RCU stall reports with "timer wakeup didn't happen", an idle
# CPU, and the guest makes no progress). Such a boot that runs into its
# timeout is retried once, and says so.
run_vm() {
	local name=$1 mode=$2 disk=$3 tmo=$4 fresh=$5 dir=$OUT/$1 t0 try

	shift 5
	mkdir -p "$dir"
	cat >"$dir/kmq-vm.conf" <<-EOF
	KMQ_MODE=$mode
	KMQ_SUITES="$SUITES"
	KMQ_SUITE_TIMEOUT=$((tmo / 2))
	EOF
	if ! "$VM/mkinitramfs.sh" -o "$dir/initrd.gz" -K "$KO" \
	     -c "$dir/kmq-vm.conf" -t "$TESTDIR" \
	     ${MODROOT:+-k "$KVER" -M "$MODROOT"} >"$dir/mkinitramfs.log" 2>&1; then
		diag <"$dir/mkinitramfs.log"
		BOOT_ST=1
		return
	fi
	for try in 1 2; do
		if [ "$fresh" = 1 ] && ! new_disk "$disk" >"$dir/mkfs.log" 2>&1; then
			diag <"$dir/mkfs.log"
			BOOT_ST=1
			return
		fi
		t0=$(now)
		say "booting $name ($mode), timeout $tmo s"
		"$VM/boot.sh" -k "$KERNEL" -i "$dir/initrd.gz" -d "$disk" \
			-o "$dir" -t "$tmo" -a "$APPEND" "$@" 2>"$dir/boot.log"
		BOOT_ST=$?
		diag <"$dir/boot.log"
		tr -d '\r' <"$dir/results.log" >"$dir/results.txt"
		tr -d '\r' <"$dir/console.log" >"$dir/console.txt"
		say "$name: wall time $(since "$t0") s, logs in $dir"
		if [ "$BOOT_ST" -ne 124 ] || [ $try -ne 1 ] ||
		   ! grep -q "timer wakeup didn't happen" "$dir/console.txt"; then
			break
		fi
		say "$name: the guest stalled (TCG timer), booting it again"
		mv "$dir/console.txt" "$dir/console-stalled.txt"
	done
}

# The kernel console must show no panic, oops or warning (with
# panic_on_warn a warning ends the VM before init can send the dmesg).
console_clean() {	# console_clean <name> <console.txt>
	local re='Kernel panic|WARNING:|BUG:|KASAN|lockdep|possible circular locking|Oops|general protection|Call Trace'

	if grep -qE "$re" "$2"; then
		ok 1 "$1: kernel console shows no panic, oops or warning"
		grep -E -B2 -A40 "$re" "$2" | head -n 120 | diag
	else
		ok 0 "$1: kernel console shows no panic, oops or warning"
	fi
}

# --- the suites ----------------------------------------------------------------
run_vm tests tests "$OUT/disk.img" "$TIMEOUT" 1
ok $((BOOT_ST != 0)) "test VM ended by itself (boot.sh status $BOOT_ST)"
awk -v label="$TARGET" -v rmmod=1 -v suites="$SUITES" \
	-f "$VM/results2tap.awk" "$OUT/tests/results.txt" | tap
console_clean tests "$OUT/tests/console.txt"

# --- the hard reset ------------------------------------------------------------
if [ "${KMQ_VM_RESET:-1}" != 0 ]; then
	SUITES=kmq_reset_helper
	run_vm reset-write reset-write "$OUT/reset.img" "$RESET_TIMEOUT" 1 \
		-w '^KMQ-ACK ' -n "$ACKS"
	w=$OUT/reset-write
	grep '^KMQ-ACK ' "$w/results.txt" | awk '{ print $2, $3, $4 }' \
		>"$w/acks"
	nacks=$(wc -l <"$w/acks")
	ok $((BOOT_ST != 3)) "reset: VM killed after $ACKS acknowledged SYNC_FLUSH appends (got $nacks)"
	if [ "$BOOT_ST" -ne 3 ]; then
		grep -vE '^KMQ-(ACK|DMESG)|^\[' "$w/results.txt" | tail -n 30 | diag
	fi
	console_clean reset-write "$w/console.txt"

	run_vm reset-verify reset-verify "$OUT/reset.img" "$RESET_TIMEOUT" 0
	v=$OUT/reset-verify
	ok $((BOOT_ST != 0)) "reset: recovery VM ended by itself (boot.sh status $BOOT_ST)"
	awk -v label="$TARGET reset:" -v rmmod=1 -v suites="$SUITES" \
		-f "$VM/results2tap.awk" "$v/results.txt" | tap
	console_clean reset-verify "$v/console.txt"
	grep '^KMQ-REC ' "$v/results.txt" | awk '{ print $2, $3, $4 }' \
		>"$v/recs"
	# Every acknowledged (queue offset, commitlog offset, body CRC) must
	# be among the records found after recovery.
	missing=$(awk 'NR == FNR { have[$0] = 1; next } !($0 in have)' \
		  "$v/recs" "$w/acks")
	st=0
	[ "$nacks" -gt 0 ] && [ -z "$missing" ] || st=1
	ok $st "reset: every acknowledged record present and intact after recovery ($nacks acked, $(wc -l <"$v/recs") found)"
	[ -z "$missing" ] || { echo "missing (queue offset, phys offset, body crc):"; echo "$missing" | head -n 20; } | diag
fi

say "total $(since "$T0") s"
finish
