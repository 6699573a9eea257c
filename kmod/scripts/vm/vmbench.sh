#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vmbench.sh - the VM benchmarks (`make vmbench`): kmq.ko against the
# userspace store inside ONE QEMU VM (TCG) on Debian's stock kernel, on a
# virtio disk image (ext4), as docs/benchmarks.md ("Inside a VM")
# records them. A benchmark, not a test: it is not part of `make test`.
#
#   store  kmq-bench store --backend userspace|kernel: the same append and
#          read-back loop through kmqd's storage interface, for each body
#          size and batch, ASYNC_FLUSH, a fixed record count; then a
#          shorter run of each with --syscalls (system calls per append
#          call and per read call)
#   drain  kmqd (static, storeBackend=userspace|kernel, ASYNC_FLUSH, a
#          fresh store per cell): kmq-bench produce writes a backlog,
#          kmq-bench drain pulls it (32 messages a pull), then once more
#          while kmq_vm_sysc counts kmqd's system calls (per pull, and
#          its /dev/kmq ioctls by command)
# The two backends of a cell run back to back, so that a change in the
# host's load falls on both.
# System calls are counted by the kernel's syscall tracepoints through
# perf counters (tools/bench/bench_store_sysc.c), not by ptrace: the
# counted program runs at about its speed, and every thread is counted.
#
# It reuses vmtest's machinery (vmlib.sh, mkinitramfs.sh, init.sh in
# "tests" mode, boot.sh): kmq-bench, kmqd and kmq_vm_sysc are linked
# static into the initramfs with vmbench-run.sh, which runs the parts;
# progress lines show as they come, then the summary table
# (vmbench-summary.py) with the ratio kernel / userspace of each cell.
#
# Usage: vmbench.sh [-c CACHE] [-b BUILD] [6.12|6.1|kver]   (default 6.12)
# Environment (defaults sized for the whole VM run to take < 10 min
# under TCG on 2 host CPUs):
#   VMBENCH_PARTS       "store drain"
#   VMBENCH_SIZES       body sizes, "100 1024"
#   VMBENCH_BATCHES     store: records per append call, "1 32"
#   VMBENCH_STORE_COUNT_<size>  store records per speed run (100: 400000,
#                       1024: 100000; the syscall runs do a quarter)
#   VMBENCH_DRAIN_COUNT_<size>  drain backlog (100: 40000, 1024: 30000)
#   VMBENCH_SEGMENT     segment size of the stores of the speed runs and
#                       of kmqd (128M): a run fits in its first segment
#   VMBENCH_REPEAT      runs of each cell (default 1); the summary shows
#                       the median and the range
#   VMBENCH_TIMEOUT     seconds for the whole VM (default 1500 a repeat)
#   VMBENCH_DISK        size of the sparse ext4 disk image (default 16G)
# Logs and the raw results go to BUILD/vm/<kver>/bench/ (results.txt,
# console.txt, summary.txt, summary.json).
# Exit: 0, or 1 when a run failed (its check or its exit status), the VM
# did not end by itself, rmmod failed or the kernel logged a warning.
set -uo pipefail

VM_NAME=vmbench
# shellcheck source-path=SCRIPTDIR source=vmlib.sh
. "$(dirname "$0")/vmlib.sh"
# The kernel is the last argument; 6.12 when there is none.
if [ $# -eq 0 ]; then
	set -- 6.12
else
	prev=
	[ $# -lt 2 ] || prev=${*: -2:1}
	case $prev in
	-c | -b) set -- "$@" 6.12 ;;
	esac
fi
vm_args "$@"

PARTS=${VMBENCH_PARTS:-store drain}
SIZES=${VMBENCH_SIZES:-100 1024}
BATCHES=${VMBENCH_BATCHES:-1 32}
SEGMENT=${VMBENCH_SEGMENT:-128M}
REPEAT=${VMBENCH_REPEAT:-1}
TIMEOUT=${VMBENCH_TIMEOUT:-$((1500 * REPEAT))}
DISK_SIZE=${VMBENCH_DISK:-16G}
T0=$(now)

vm_kernel ""
OUT=$BUILD/vm/$KVER/bench
mkdir -p "$OUT"
vm_build_kmq "$OUT"

# --- static binaries -----------------------------------------------------------
# A build folder of its own: vmtest-kmqd may build build/vm-kmqd meanwhile.
SB=$BUILD/vm-bench
# shellcheck disable=SC2317 # called by vm_build_kmqd
build_sysc() {	# build_sysc <dir>: <dir>/kmq_vm_sysc, static
	${CC:-cc} -static -O2 -Wall -D_GNU_SOURCE -I"$ROOT/tools/bench" \
		-I"$ROOT/uapi" -o "$1/kmq_vm_sysc" "$VM/kmq_vm_sysc.c" \
		"$ROOT/tools/bench/bench_store_sysc.c" -ljansson
}
vm_build_kmqd "$SB" "$OUT/static-build.log" \
	"kmq-bench, kmqd and kmq_vm_sysc build static" -e build_sysc kmq-bench

STAGE=$OUT/stage
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp "$SB/kmq-bench" "$SB/kmqd" "$SB/kmq_vm_sysc" "$STAGE/"
install -m 755 "$VM/vmbench-run.sh" "$STAGE/vmbench-run"
SUITES=
for p in $PARTS; do
	case $p in
	store | drain) ;;
	*) echo "vmbench: unknown part $p (VMBENCH_PARTS: store drain)" >&2
	   exit 2 ;;
	esac
	printf '#!/bin/sh\nexec /selftests/vmbench-run %s\n' "$p" \
		>"$STAGE/vmbench_$p"
	chmod 755 "$STAGE/vmbench_$p"
	SUITES="$SUITES vmbench_$p"
done

# --- the VM ----------------------------------------------------------------------
{
	echo "KMQ_MODE=tests"
	echo "KMQ_SUITES=\"${SUITES# }\""
	echo "KMQ_SUITE_TIMEOUT=$((TIMEOUT - 60))"
	echo "export VMB_SIZES=\"$SIZES\""
	echo "export VMB_BATCHES=\"$BATCHES\""
	echo "export VMB_SEGMENT=$SEGMENT"
	echo "export VMB_REPEAT=$REPEAT"
	for s in $SIZES; do
		def=20000
		case $s in
		100) def=400000 ;;
		1024) def=100000 ;;
		esac
		v=VMBENCH_STORE_COUNT_$s
		echo "export VMB_STORE_COUNT_$s=${!v:-$def}"
		case $s in
		100) def=40000 ;;
		1024) def=30000 ;;
		esac
		v=VMBENCH_DRAIN_COUNT_$s
		echo "export VMB_DRAIN_COUNT_$s=${!v:-$def}"
	done
} >"$OUT/kmq-vm.conf"
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

# The VM's progress lines, as they come (boot.sh empties results.log
# before QEMU starts; tail follows it by name).
: >"$OUT/results.log"
# $! is tail's: killed, it ends the filters too.
tail -n +1 -F "$OUT/results.log" 2>/dev/null > >(tr -d '\r' |
	grep --line-buffered -E '^# vmbench|^KMQ-(BEGIN|END|INSMOD|RMMOD)' |
	sed -u "s/^# vmbench: /# $VM_NAME $TARGET: /; s/^KMQ-/# $VM_NAME $TARGET: KMQ-/") &
TAILER=$!
trap 'kill $TAILER 2>/dev/null' EXIT

# The clock: 6.1 under TCG finds the vCPUs' TSCs unsynchronized and falls
# back to the HPET, where every clock_gettime() (two per timed call, one
# per append of the userspace store) becomes a system call and an
# emulated MMIO read. tsc=reliable keeps both kernels on the TSC, read in
# the vDSO.
APPEND="${APPEND:+$APPEND }tsc=reliable"
vm_boot "benchmarks (${SUITES# })" "$OUT" "$OUT/initrd.gz" "$OUT/disk.img" \
	"$TIMEOUT" new_disk
rm -f "$OUT/disk.img"
sleep 0.5
kill $TAILER 2>/dev/null

ok $((BOOT_ST != 0)) "benchmark VM ended by itself (boot.sh status $BOOT_ST)"
rm_rc=$(awk '/^KMQ-RMMOD/ { sub(/.*rc=/, ""); print }' "$OUT/results.txt")
ok $(( ${rm_rc:-1} != 0 )) "kmq.ko unloaded after the runs (rmmod rc ${rm_rc:-none})"
console_clean "$OUT/console.txt"

say "QEMU $(qemu-system-x86_64 --version | head -n 1 | awk '{ print $4 }'), TCG, -cpu max -smp 2 -m 2G, kernel $KVER ($APPEND); host: $(nproc) CPUs, $(lscpu | awk -F': *' '/^Model name/ { print $2 }')"
python3 "$VM/vmbench-summary.py" --json "$OUT/summary.json" \
	"$OUT/results.txt" | tee "$OUT/summary.txt"
sum_st=${PIPESTATUS[0]}
say "total $(since "$T0") s, logs in $OUT"
[ "$FAILED" -eq 0 ] && [ "$sum_st" -eq 0 ]
