#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# boot.sh - boot one kmq test VM under QEMU (TCG) and wait for it.
#
# The kernel console (ttyS0) goes to OUTDIR/console.log, the results port
# (ttyS1, see init.sh) to OUTDIR/results.log. The VM powers itself off when
# its init is done; boot.sh kills it (SIGKILL, like pulling the plug) when
# the timeout passes or, with -w, as soon as results.log holds COUNT lines
# matching the extended regex PATTERN (the hard-reset test).
#
# Never KVM: nested KVM hangs on these machines; TCG is always used.
#
# Usage: boot.sh -k KERNEL -i INITRD -d DISK -o OUTDIR [-t SECS]
#                [-w PATTERN -n COUNT] [-a EXTRA_APPEND]
# Exit: 0 the VM powered off by itself, 3 killed after -w matched,
#       124 timeout, 1 QEMU failed to start.
# Prints "boot: <what happened> after <secs> s" on stderr.
set -uo pipefail

KERNEL='' INITRD='' DISK='' OUT='' TIMEOUT=300 PATTERN='' COUNT=0 APPEND=''
usage() {
	echo "usage: $0 -k KERNEL -i INITRD -d DISK -o OUTDIR [-t SECS] [-w PATTERN -n COUNT] [-a APPEND]" >&2
	exit 2
}
while getopts "k:i:d:o:t:w:n:a:" opt; do
	case $opt in
	k) KERNEL=$OPTARG ;;
	i) INITRD=$OPTARG ;;
	d) DISK=$OPTARG ;;
	o) OUT=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	w) PATTERN=$OPTARG ;;
	n) COUNT=$OPTARG ;;
	a) APPEND=$OPTARG ;;
	*) usage ;;
	esac
done
if [ -z "$KERNEL" ] || [ -z "$INITRD" ] || [ -z "$DISK" ] || [ -z "$OUT" ]; then
	usage
fi

mkdir -p "$OUT"
CONSOLE=$OUT/console.log
RESULTS=$OUT/results.log
: >"$CONSOLE"
: >"$RESULTS"

# -cpu max under TCG has SSE4.2 and friends, so crc32c-intel loads;
# 2 vCPUs let the concurrency suites run appenders on both CPUs.
qemu-system-x86_64 \
	-machine q35,accel=tcg -cpu max -m 2G -smp 2 \
	-nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 quiet $APPEND" \
	-drive "file=$DISK,if=virtio,format=raw,cache=none" \
	-serial mon:stdio -serial "file:$RESULTS" \
	-nic none \
	</dev/null >"$CONSOLE" 2>&1 &
QPID=$!

start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

status=0
while :; do
	if ! kill -0 "$QPID" 2>/dev/null; then
		wait "$QPID"
		st=$?
		if [ $st -ne 0 ] && ! grep -q 'KMQ-BOOTED' "$RESULTS"; then
			echo "boot: QEMU exited with $st after $(elapsed) s" >&2
			status=1
		else
			echo "boot: the VM ended by itself after $(elapsed) s" >&2
		fi
		break
	fi
	if [ -n "$PATTERN" ] &&
	   [ "$(grep -cE "$PATTERN" "$RESULTS" 2>/dev/null)" -ge "$COUNT" ]; then
		kill -KILL "$QPID" 2>/dev/null
		wait "$QPID" 2>/dev/null
		echo "boot: killed (hard reset) after $COUNT matches, $(elapsed) s" >&2
		status=3
		break
	fi
	if awk -v s="$start" -v e="$(date +%s.%N)" -v t="$TIMEOUT" \
	       'BEGIN { exit !(e - s > t) }'; then
		kill -KILL "$QPID" 2>/dev/null
		wait "$QPID" 2>/dev/null
		echo "boot: timeout, killed after $(elapsed) s" >&2
		status=124
		break
	fi
	sleep 0.2
done
exit $status
