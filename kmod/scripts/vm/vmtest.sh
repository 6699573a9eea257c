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

VM_NAME=vmtest
# shellcheck source-path=SCRIPTDIR source=vmlib.sh
. "$(dirname "$0")/vmlib.sh"
vm_args "$@"

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

T0=$(now)

# --- the kernel, kmq.ko and the selftests --------------------------------------
vm_kernel linux-source/tools/testing/selftests/kselftest_harness.h
if [ "$DEBUG" = 1 ]; then
	TIMEOUT=${KMQ_VM_TIMEOUT:-900}
	RESET_TIMEOUT=${KMQ_RESET_TIMEOUT:-400}
else
	TIMEOUT=${KMQ_VM_TIMEOUT:-300}
	RESET_TIMEOUT=${KMQ_RESET_TIMEOUT:-120}
fi
OUT=$BUILD/vm/$KVER
mkdir -p "$OUT"
vm_build_kmq "$OUT"

say "building the selftests (static)"
make -C "$ROOT" -s BUILD="$BUILD" KMQ_CACHE="$CACHE" selftests \
	>"$OUT/selftests-build.log" 2>&1
st=$?
ok $st "selftests build (static)"
[ $st -eq 0 ] || { tail -n 40 "$OUT/selftests-build.log" | diag; finish; }
TESTDIR=$BUILD/selftests

# --- a VM run ------------------------------------------------------------------
# shellcheck disable=SC2317 # called by vm_boot
new_disk() {	# new_disk <path>: a fresh sparse ext4 image
	rm -f "$1"
	truncate -s 512M "$1" && mkfs.ext4 -F -q -E lazy_itable_init=0 "$1"
}

# run_vm <name> <mode> <disk> <timeout> <fresh> [boot.sh -w/-n options]:
# initramfs for the mode, boot (vm_boot), logs in $OUT/<name>/. Sets
# BOOT_ST. With <fresh> 1 the disk is made anew first.
run_vm() {
	local name=$1 mode=$2 disk=$3 tmo=$4 fresh=$5 dir=$OUT/$1

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
	vm_boot "$name ($mode)" "$dir" "$dir/initrd.gz" "$disk" "$tmo" \
		"$([ "$fresh" = 1 ] && echo new_disk || echo -)" "$@"
}

# --- the suites ----------------------------------------------------------------
run_vm tests tests "$OUT/disk.img" "$TIMEOUT" 1
ok $((BOOT_ST != 0)) "test VM ended by itself (boot.sh status $BOOT_ST)"
awk -v label="$TARGET" -v rmmod=1 -v suites="$SUITES" \
	-f "$VM/results2tap.awk" "$OUT/tests/results.txt" | tap
console_clean "$OUT/tests/console.txt" tests

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
	console_clean "$w/console.txt" reset-write

	run_vm reset-verify reset-verify "$OUT/reset.img" "$RESET_TIMEOUT" 0
	v=$OUT/reset-verify
	ok $((BOOT_ST != 0)) "reset: recovery VM ended by itself (boot.sh status $BOOT_ST)"
	awk -v label="$TARGET reset:" -v rmmod=1 -v suites="$SUITES" \
		-f "$VM/results2tap.awk" "$v/results.txt" | tap
	console_clean "$v/console.txt" reset-verify
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
