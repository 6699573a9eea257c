#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vmtest-kmqd.sh - kmqd on its kernel backend: kmqd's protocol suites run
# inside QEMU against kmq.ko on one kernel, as one TAP stream (run by
# prove: `make vmtest-kmqd`).
#
#   6.1 | 6.12   Debian's stock kernel of that series, as vmtest.sh
#   debug        the debug kernel of kmod/scripts/kunit-kernel.sh (KASAN,
#                lockdep, panic_on_warn) when .cache/kdebug/READY says it
#                is built; skipped otherwise
#   <kver>       a kernel named exactly
#
# kmqd and the suites are linked static (make BUILD=$BUILD/vm-kmqd
# LDFLAGS=-static) and go into the initramfs of vmtest.sh's machinery
# (mkinitramfs.sh, init.sh in "tests" mode, boot.sh, results2tap.awk):
# each suite is run by kmqd-run.sh, which puts /tmp on the VM's ext4
# disk, lets kmqd pick its backend (storeBackend=auto: kernel, since
# /dev/kmq exists) and adds a test that every kmqd the suite started
# logged "store backend: kernel". t_kmqd_crash kills kmqd with SIGKILL
# under produce load and checks that the restarted kmqd, bound to the
# store kmq.ko kept, has every acknowledged message and resumes the
# consumers from their committed offsets. After the suites kmq.ko is
# unloaded and the dmesg judged as in vmtest.sh: any warning, lockdep or
# KASAN report, oops or call trace after kmq.ko was loaded fails.
#
# Usage: vmtest-kmqd.sh [-c CACHE] [-b BUILD] <6.1|6.12|debug|kver>
# Environment:
#   KMQD_VM_SUITES    suites to run (default below; the debug kernel runs
#                     KMQD_VM_DEBUG_SUITES)
#   KMQD_VM_TIMEOUT   seconds for the whole boot (default 1500, debug 2400)
#   KMQD_SUITE_TIMEOUT seconds for one suite (default 600, debug 1200)
#   KD_TIME_SCALE     how much the suites' latency limits (kd_slow_ms())
#                     stretch under emulation (default 4, debug 10)
#   KMQD_VM_DISK      size of the sparse ext4 disk (default 24G: kmq.ko
#                     allocates 1 GiB segments whole for a default kmqd)
#   KMQ_MODULE_SRC    take Kbuild, kmod/ and uapi/ from another tree
#                     (build-kmq.sh)
#   KMQD_VM_KEEP_DISK=1 keep the disk image (kmqd cores are in tmp/cores)
#   KMQD_VM_BACKEND=userspace  run the suites on the userspace store in
#                     the VM instead (to compare; kmq.ko is loaded anyway)
# Work files go to BUILD/vm/<kver>/kmqd/; the static binaries to
# BUILD/vm-kmqd/.
set -uo pipefail

VM_NAME=vmtest-kmqd
# shellcheck source-path=SCRIPTDIR source=vmlib.sh
. "$(dirname "$0")/vmlib.sh"
vm_args "$@"

# Suite name in the VM -> test binary. The debug kernel (KASAN: several
# times slower again) runs the suites that exercise the most module code
# per second.
DEFAULT_SUITES="kmqd_protocol kmqd_badinput kmqd_delivery kmqd_admin
kmqd_crash libkmq_pull libkmq_producer libkmq_restart"
DEBUG_SUITES="kmqd_delivery kmqd_crash kmqd_admin"
SUITE_BINS="t_kmqd_protocol t_kmqd_badinput t_kmqd_delivery t_kmqd_admin
t_kmqd_crash"
# libkmq's suites against kmqd (the quick ones: push and orderly spend
# most of a minute waiting on rebalance timers natively). Linked here:
# make's rule for them also wants the shared library, which -static
# cannot make.
LIBKMQ_BINS="t_libkmq_pull t_libkmq_producer t_libkmq_restart"

T0=$(now)

# --- the kernel, kmq.ko, kmqd and the suites ---------------------------------
vm_kernel ""	# the headers only: no kselftest harness here
if [ "$DEBUG" = 1 ]; then
	TIMEOUT=${KMQD_VM_TIMEOUT:-2400}
	SUITE_TIMEOUT=${KMQD_SUITE_TIMEOUT:-1200}
	SUITES=${KMQD_VM_SUITES:-$DEBUG_SUITES}
	TIME_SCALE=${KD_TIME_SCALE:-10}
else
	TIMEOUT=${KMQD_VM_TIMEOUT:-1500}
	SUITE_TIMEOUT=${KMQD_SUITE_TIMEOUT:-600}
	SUITES=${KMQD_VM_SUITES:-$DEFAULT_SUITES}
	TIME_SCALE=${KD_TIME_SCALE:-4}
fi
# One line, single spaces.
read -r -a SUITE_LIST <<<"$(echo "$SUITES" | tr '\n' ' ')"
SUITES="${SUITE_LIST[*]}"
OUT=$BUILD/vm/$KVER/kmqd
mkdir -p "$OUT"
vm_build_kmq "$OUT"

SB=$BUILD/vm-kmqd
# shellcheck disable=SC2317 # called by vm_build_kmqd
link_libkmq_tests() {	# link_libkmq_tests <dir>: LIBKMQ_BINS, static
	local b

	mkdir -p "$1/tests" || return
	for b in $LIBKMQ_BINS; do
		${CC:-cc} -O2 -g -pthread -static -o "$1/tests/$b" \
			"$1/tools/libkmq/tests/$b.o" "$1/libkmq.a" -luring \
			-ljansson -lz -ldeflate -lpthread || return
	done
}
targets=(libkmq.a)
for b in $SUITE_BINS; do
	targets+=("tests/$b")
done
for b in $LIBKMQ_BINS; do
	targets+=("tools/libkmq/tests/$b.o")
done
vm_build_kmqd "$SB" "$OUT/static-build.log" \
	"kmqd and its suites build static" -e link_libkmq_tests "${targets[@]}"

# /selftests of the VM: kmqd, the suite binaries, kmqd-run and one entry
# per suite (init.sh runs /selftests/<suite> from /tmp).
STAGE=$OUT/stage
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp "$SB/kmqd" "$STAGE/kmqd"
for b in $SUITE_BINS $LIBKMQ_BINS; do
	cp "$SB/tests/$b" "$STAGE/$b"
done
install -m 755 "$VM/kmqd-run.sh" "$STAGE/kmqd-run"
if ! ${CC:-cc} -static -O2 -Wall -I"$ROOT/uapi" -o "$STAGE/kmqd_vm_detach" \
     "$VM/kmqd_vm_detach.c" >"$OUT/detach-build.log" 2>&1; then
	diag <"$OUT/detach-build.log"
	bail "kmqd_vm_detach builds"
fi
for s in "${SUITE_LIST[@]}"; do
	b=t_${s}
	[ -x "$STAGE/$b" ] || bail "suite $s: no binary $b (SUITE_BINS)"
	printf '#!/bin/sh\nexec /selftests/kmqd-run %s\n' "$b" >"$STAGE/$s"
	chmod 755 "$STAGE/$s"
done

# --- the VM --------------------------------------------------------------------
# A sparse disk: fallocate'd segments become unwritten extents, which
# cost the host file nothing.
DISK=$OUT/disk.img
DISK_SIZE=${KMQD_VM_DISK:-24G}
cat >"$OUT/kmq-vm.conf" <<-EOF
KMQ_MODE=tests
KMQ_SUITES="$SUITES"
KMQ_SUITE_TIMEOUT=$SUITE_TIMEOUT
export KMQD_VM_BACKEND=${KMQD_VM_BACKEND:-kernel}
export KD_TIME_SCALE=$TIME_SCALE
export KMQD_RUN_TIMEOUT=$((SUITE_TIMEOUT - 30))
EOF
if ! "$VM/mkinitramfs.sh" -o "$OUT/initrd.gz" -K "$KO" -c "$OUT/kmq-vm.conf" \
     -t "$STAGE" ${MODROOT:+-k "$KVER" -M "$MODROOT"} \
     >"$OUT/mkinitramfs.log" 2>&1; then
	diag <"$OUT/mkinitramfs.log"
	bail "initramfs"
fi

# shellcheck disable=SC2317 # called by vm_boot
new_disk() {	# new_disk <path>: a fresh sparse ext4 image of DISK_SIZE
	rm -f "$1"
	truncate -s "$DISK_SIZE" "$1" &&
		mkfs.ext4 -F -q -T largefile -E lazy_itable_init=1 "$1"
}

vm_boot "kmqd (suites: $SUITES)" "$OUT" "$OUT/initrd.gz" "$DISK" "$TIMEOUT" \
	new_disk
[ "${KMQD_VM_KEEP_DISK:-0}" = 1 ] || rm -f "$DISK"

ok $((BOOT_ST != 0)) "kmqd VM ended by itself (boot.sh status $BOOT_ST)"
awk -v label="$TARGET" -v rmmod=1 -v suites="$SUITES" \
	-f "$VM/results2tap.awk" "$OUT/results.txt" | tap
console_clean "$OUT/console.txt"

say "total $(since "$T0") s"
finish
