#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vminterop.sh - the ali-ons interop suite (daemon/tests/interop/run.sh)
# against kmqd on its kernel backend: kmqd runs inside QEMU on one kernel
# with kmq.ko, the real npm client stays on the host. One TAP stream (run
# by prove: `make vmtest-interop`).
#
#   6.1 | 6.12   Debian's stock kernel of that series, as vmtest.sh
#   debug        the debug kernel of kmod/scripts/kunit-kernel.sh, when
#                .cache/kdebug/READY says it is built and it has virtio-net
#                built in (today it has not: skipped); not in `make
#                vmtest-interop`
#   <kver>       a kernel named exactly
#
# The VM is vmtest-kmqd.sh's (vmlib.sh, mkinitramfs.sh, init.sh in "tests"
# mode, results2tap.awk, the static kmqd) with a virtio NIC on QEMU's user
# network: host 127.0.0.1:P goes to guest port P for the name server and
# the broker (same numbers on both sides, so the broker registers
# brokerIP1=127.0.0.1 and its route works from the host), and a third
# forwarded port reaches the guest's control agent. init.sh runs the
# agent (vminterop-agent.sh) as its one suite, "interop": it starts,
# stops and kills kmqd when the host asks (vminterop-cmd.sh, through
# vminterop-ctl.sh, run.sh's KMQ_INTEROP_REMOTE), with the store on the
# VM's ext4 disk and storeBackend=auto (kernel: /dev/kmq exists).
#
# The host runs run.sh with every scenario and KMQ_INTEROP_CRASH_BEFORE=
# restart: before the restart scenario the broker is killed with SIGKILL
# and started again on the store kmq.ko kept; every queue's offsets and
# every group's committed offsets must be as before. run.sh's tests count
# here as "<kernel> interop: ...". Then the agent's own checks (every
# broker start on the kernel backend, the restart bound to the kept store,
# clean SIGTERM stops, no core, no store left attached), rmmod, and the
# dmesg and kernel console judged as in vmtest-kmqd.sh.
#
# Usage: vminterop.sh [-c CACHE] [-b BUILD] <6.1|6.12|debug|kver>
# Environment:
#   KMQ_INTEROP_BUDGET   run.sh's test budget in s (default 420, debug 900)
#   KMQ_INTEROP_ONLY     scenarios (run.sh's default: all four)
#   KMQ_VMINTEROP_CRASH  scenario before which the broker is killed
#                        (default restart; "none" for no crash)
#   KMQ_VMINTEROP_BOOT   seconds for the guest to boot and serve its
#                        agent (default 300, debug 900)
#   KMQD_VM_DISK         size of the sparse ext4 disk (default 16G)
#   KMQ_MODULE_SRC       take Kbuild, kmod/ and uapi/ from another tree
# Work files go to BUILD/vm/<kver>/interop/; the static kmqd to
# BUILD/vm-kmqd/ (shared with vmtest-kmqd.sh).
set -uo pipefail

VM_NAME=vminterop
# shellcheck source-path=SCRIPTDIR source=vmlib.sh
. "$(dirname "$0")/vmlib.sh"
vm_args "$@"

GUEST_CTL_PORT=7070
T0=$(now)
QPID=
trap '[ -z "$QPID" ] || kill -KILL "$QPID" 2>/dev/null' EXIT

# --- the kernel, kmq.ko, kmqd and kmqadmin ------------------------------------
vm_kernel ""
# The guest needs a NIC: Debian's kernels have virtio_net as a module, a
# kernel with everything built in (the debug kernel) must have it built in.
if [ -z "$MODROOT" ] && ! grep -qx 'CONFIG_VIRTIO_NET=y' "$KDIR/.config" 2>/dev/null; then
	echo "1..0 # SKIP $TARGET: no virtio-net in $KVER (CONFIG_VIRTIO_NET=y missing from $KDIR/.config)"
	exit 0
fi
if [ "$DEBUG" = 1 ]; then
	BUDGET=${KMQ_INTEROP_BUDGET:-900}
	BOOT_TMO=${KMQ_VMINTEROP_BOOT:-900}
else
	BUDGET=${KMQ_INTEROP_BUDGET:-420}
	BOOT_TMO=${KMQ_VMINTEROP_BOOT:-300}
fi
CRASH=${KMQ_VMINTEROP_CRASH:-restart}
[ "$CRASH" != none ] || CRASH=
OUT=$BUILD/vm/$KVER/interop
mkdir -p "$OUT"
vm_build_kmq "$OUT"

SB=$BUILD/vm-kmqd
# shellcheck disable=SC2317 # called by vm_build_kmqd
build_kmqadmin() {	# build_kmqadmin: kmqadmin for the host, in BUILD
	make -C "$ROOT" -s -j"$(nproc)" BUILD="$BUILD" "$BUILD/kmqadmin"
}
vm_build_kmqd "$SB" "$OUT/build.log" "kmqd (static) and kmqadmin build" \
	-e build_kmqadmin

STAGE=$OUT/stage
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp "$SB/kmqd" "$STAGE/kmqd"
install -m 755 "$VM/vminterop-agent.sh" "$STAGE/guest"
install -m 755 "$VM/vminterop-cmd.sh" "$STAGE/vminterop-cmd"
if ! ${CC:-cc} -static -O2 -Wall -I"$ROOT/uapi" -o "$STAGE/kmqd_vm_detach" \
     "$VM/kmqd_vm_detach.c" >"$OUT/detach-build.log" 2>&1; then
	diag <"$OUT/detach-build.log"
	bail "kmqd_vm_detach builds"
fi

# The agent waits for the host's "finish" as long as the suite may take,
# init.sh's limit for the agent is a little longer.
WAIT=$((BUDGET + 300))
cat >"$OUT/kmq-vm.conf" <<-EOF
KMQ_MODE=tests
KMQ_SUITES=guest
KMQ_SUITE_TIMEOUT=$((WAIT + 120))
export KMQ_VMINTEROP_CTL_PORT=$GUEST_CTL_PORT
export KMQ_VMINTEROP_WAIT=$WAIT
EOF
if ! "$VM/mkinitramfs.sh" -o "$OUT/initrd.gz" -K "$KO" -c "$OUT/kmq-vm.conf" \
     -t "$STAGE" -m virtio_net ${MODROOT:+-k "$KVER" -M "$MODROOT"} \
     >"$OUT/mkinitramfs.log" 2>&1; then
	diag <"$OUT/mkinitramfs.log"
	bail "initramfs"
fi

# --- the VM ----------------------------------------------------------------------
DISK=$OUT/disk.img
new_disk() {	# new_disk <path>: a fresh sparse ext4 image
	rm -f "$1"
	truncate -s "${KMQD_VM_DISK:-16G}" "$1" &&
		mkfs.ext4 -F -q -T largefile -E lazy_itable_init=1 "$1"
}

# Three distinct ports nothing listens on (QEMU fails to start when one is
# taken by then; the boot is tried again with others).
pick_ports() {
	local p n=0

	PORTS=()
	while [ ${#PORTS[@]} -lt 3 ] && [ $n -lt 1000 ]; do
		n=$((n + 1))
		p=$((20000 + RANDOM % 30000))
		case " ${PORTS[*]} " in *" $p "*) continue ;; esac
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		PORTS+=("$p")
	done
	NAMESRV_PORT=${PORTS[0]} BROKER_PORT=${PORTS[1]} CTL_PORT=${PORTS[2]}
}

# boot_vm: QEMU in the background (QPID), as boot.sh runs it plus the NIC.
# restrict=on: the guest reaches nothing; the forwarded ports still work.
# No option ROM on the NIC: nothing boots from the network.
boot_vm() {
	local fwd

	: >"$OUT/console.log"
	: >"$OUT/results.log"
	fwd="hostfwd=tcp:127.0.0.1:$NAMESRV_PORT-:$NAMESRV_PORT"
	fwd="$fwd,hostfwd=tcp:127.0.0.1:$BROKER_PORT-:$BROKER_PORT"
	fwd="$fwd,hostfwd=tcp:127.0.0.1:$CTL_PORT-:$GUEST_CTL_PORT"
	qemu-system-x86_64 \
		-machine q35,accel=tcg -cpu max -m 2G -smp 2 \
		-nographic -no-reboot \
		-kernel "$KERNEL" -initrd "$OUT/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet $APPEND" \
		-drive "file=$DISK,if=virtio,format=raw,cache=none" \
		-serial mon:stdio -serial "file:$OUT/results.log" \
		-netdev "user,id=net0,restrict=on,$fwd" \
		-device virtio-net-pci,netdev=net0,romfile= \
		</dev/null >"$OUT/console.log" 2>&1 &
	QPID=$!
}

# wait_ready: 0 once the agent answers a ping; 1 when the VM ended or
# BOOT_TMO passed first.
wait_ready() {
	local end=$((SECONDS + BOOT_TMO))

	while [ $SECONDS -lt $end ]; do
		kill -0 "$QPID" 2>/dev/null || return 1
		if grep -q 'vminterop: control agent listening' \
		   "$OUT/results.log" 2>/dev/null &&
		   KMQ_VMINTEROP_CTL_PORT=$CTL_PORT KMQ_VMINTEROP_CTL_TIMEOUT=20 \
		   "$VM/vminterop-ctl.sh" ping \
		   >"$OUT/ping.out" 2>&1; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# Stop the VM now (SIGKILL) and keep its logs apart.
kill_vm() {	# kill_vm <suffix>
	kill -KILL "$QPID" 2>/dev/null
	wait "$QPID" 2>/dev/null
	QPID=
	tr -d '\r' <"$OUT/console.log" >"$OUT/console-$1.txt"
}

# Up to three boots: one more when the guest stalled or died before its
# agent served (as vm_boot), another when QEMU could not take a port.
ready=1
for try in 1 2 3; do
	pick_ports
	if ! new_disk "$DISK" >"$OUT/mkfs.log" 2>&1; then
		diag <"$OUT/mkfs.log"
		bail "ext4 disk image"
	fi
	say "booting (try $try), ports: name server $NAMESRV_PORT, broker $BROKER_PORT, control $CTL_PORT"
	t0=$(now)
	boot_vm
	wait_ready
	ready=$?
	say "guest ready: $([ $ready -eq 0 ] && echo yes || echo no) after $(since "$t0") s"
	[ $ready -eq 0 ] && break
	kill_vm "try$try"
	if grep -q 'host forwarding' "$OUT/console-try$try.txt"; then
		say "QEMU could not forward a port:"
		grep 'host forwarding' "$OUT/console-try$try.txt" | diag
	elif grep -q "timer wakeup didn't happen" "$OUT/console-try$try.txt"; then
		say "the guest stalled (TCG timer), booting it again"
	elif ! grep -q '^KMQ-INSMOD' "$OUT/results.log"; then
		say "the guest died before kmq.ko was loaded, booting it again:"
		grep -E -A12 'Oops|Kernel panic|BUG:' "$OUT/console-try$try.txt" |
			head -n 20 | diag
	else
		break
	fi
done
ok $ready "guest booted, kmq.ko loaded, agent answers ($(cat "$OUT/ping.out" 2>/dev/null))"
if [ $ready -ne 0 ]; then
	tr -d '\r' <"$OUT/results.log" >"$OUT/results.txt"
	diag <"$OUT/results.txt"
	tail -n 40 "$OUT/console-try$try.txt" | diag
	finish
fi

# --- the interop suite, on the host ---------------------------------------------
export KMQ_VMINTEROP_CTL_PORT=$CTL_PORT
say "running daemon/tests/interop/run.sh against the VM (budget $BUDGET s)"
t0=$(now)
KMQ_INTEROP_REMOTE="$VM/vminterop-ctl.sh" \
KMQ_INTEROP_NAMESRV_PORT=$NAMESRV_PORT \
KMQ_INTEROP_BROKER_PORT=$BROKER_PORT \
KMQ_INTEROP_BUDGET=$BUDGET \
KMQ_INTEROP_CRASH_BEFORE=$CRASH \
KMQADMIN=$BUILD/kmqadmin \
	bash "$ROOT/daemon/tests/interop/run.sh" 2>&1 | tee "$OUT/interop.tap" |
	awk -v t="$TARGET interop: " '
		/^ok [0-9]+ / { sub(/^ok [0-9]+ (- )?/, ""); print "ok - " t $0; fflush(); next }
		/^not ok [0-9]+ / { sub(/^not ok [0-9]+ (- )?/, ""); print "not ok - " t $0; fflush(); next }
		/^1\.\.[0-9]+$/ { print "# interop plan " $0; fflush(); next }
		/^Bail out!/ { print "not ok - " t $0; fflush(); next }
		{ sub(/^# ?/, ""); print "# " $0; fflush() }' | tap
rc=${PIPESTATUS[0]}
plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$OUT/interop.tap" | tail -n 1)
nres=$(grep -cE '^(not )?ok [0-9]+ ' "$OUT/interop.tap")
ok $(( ${plan:-0} == 0 || plan != nres || rc != 0 )) \
	"interop suite ran to its plan and passed (exit status $rc, plan ${plan:-none}, $nres results, $(since "$t0") s)"

# --- the VM's end ---------------------------------------------------------------
"$VM/vminterop-ctl.sh" finish >/dev/null 2>&1
end=$((SECONDS + 180))
while kill -0 "$QPID" 2>/dev/null && [ $SECONDS -lt $end ]; do
	sleep 0.5
done
if kill -0 "$QPID" 2>/dev/null; then
	kill_vm end
	BOOT_ST=124
else
	wait "$QPID"
	BOOT_ST=$?
	QPID=
fi
tr -d '\r' <"$OUT/results.log" >"$OUT/results.txt"
tr -d '\r' <"$OUT/console.log" >"$OUT/console.txt"
rm -f "$DISK"
ok $((BOOT_ST != 0)) "interop VM ended by itself (QEMU status $BOOT_ST)"
awk -v label="$TARGET" -v rmmod=1 -v suites=guest \
	-f "$VM/results2tap.awk" "$OUT/results.txt" | tap
console_clean "$OUT/console.txt"

say "total $(since "$T0") s"
finish
