#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vminterop-agent.sh - inside the interop VM (busybox sh): the guest half
# of `make vmtest-interop`. vminterop.sh puts it in the initramfs as the
# one "suite" of init.sh's tests mode (/selftests/guest), so init.sh has
# mounted the ext4 disk on /mnt and loaded kmq.ko before it runs, and
# unloads kmq.ko and sends the dmesg back after it.
#
# It brings the virtio NIC up (QEMU user networking: the guest is
# 10.0.2.15; the host forwards its own 127.0.0.1 ports to the guest's
# name server, broker and control ports), then serves the control port
# (vminterop-cmd.sh, one command per connection) while the host runs
# the interop suite against the kmqd it starts here, until the host says
# "finish" or KMQ_VMINTEROP_WAIT seconds pass. Then it stops whatever
# still runs and prints its own checks as TAP on stdout (the results
# port):
#   - the network came up
#   - the host finished in time
#   - every broker start logged "store backend: kernel (/dev/kmq exists)"
#   - every broker started again after a SIGKILL bound to the store kmq.ko
#     had kept ("bound to it"), when there was such a kill
#   - every kmqd stopped with SIGTERM exited with status 0
#   - no kmqd dumped core
#   - the clean stops left no kmqd store attached in kmq.ko
# kmqd's WARN and ERROR log lines are shown as diagnostics.
ST=/selftests
D=/mnt/interop
PORT=${KMQ_VMINTEROP_CTL_PORT:-7070}
WAIT=${KMQ_VMINTEROP_WAIT:-900}

N=0
FAILED=0
ok() {		# ok <0|1 as status> <name>
	N=$((N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $N - $2"
	else
		echo "not ok $N - $2"
		FAILED=$((FAILED + 1))
	fi
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
count() {	# count <pattern> <file>: matching lines (0 without the file)
	if [ -f "$2" ]; then
		grep -c -- "$1" "$2"
	else
		echo 0
	fi
}

mkdir -p "$D/cores" || exit 1
: >"$D/events"
rm -f "$D/finish"

# --- the network -----------------------------------------------------------
ip link set lo up &&
	ip link set eth0 up &&
	ip addr add 10.0.2.15/24 dev eth0 &&
	ip route add default via 10.0.2.2
st=$?
ok $st "network: lo and eth0 (virtio-net) up, 10.0.2.15/24"
[ $st -eq 0 ] || ip addr | sed 's/^/# /'

if [ -w /proc/sys/kernel/core_pattern ]; then	# the debug kernel has none
	echo "$D/cores/core.%e.%p" >/proc/sys/kernel/core_pattern
	# shellcheck disable=SC3045 # busybox sh has ulimit -c
	ulimit -c unlimited
fi

# --- serve the host ----------------------------------------------------------
nc -ll -p "$PORT" -e "$ST/vminterop-cmd" </dev/null >/dev/null 2>&1 &
NC=$!
t0=$(uptime_s)
# vminterop.sh waits for this line before it connects.
echo "# vminterop: control agent listening on port $PORT (nc pid $NC)"
i=0
while [ ! -f "$D/finish" ] && [ "$i" -lt "$WAIT" ]; do
	sleep 1
	i=$((i + 1))
done
t1=$(uptime_s)
secs=$(awk "BEGIN { print $t1 - $t0 }")
if [ -f "$D/finish" ]; then
	ok 0 "the host ran the interop suite and finished ($secs s)"
else
	ok 1 "the host ran the interop suite and finished (no word after $WAIT s)"
fi
kill "$NC" 2>/dev/null

# Whatever still runs (the host stops both daemons itself) stops here,
# with SIGTERM, and counts as a stop.
for n in broker namesrv; do
	echo "stop $n" | "$ST/vminterop-cmd" | grep -v '^KMQ-CTL' |
		grep -v 'already exited\|was not started' | sed 's/^/# /'
done

# --- the checks ------------------------------------------------------------
log=$D/broker.log
starts=$(count '^start broker$' "$D/events")
kernel=$(count 'store backend: kernel (/dev/kmq exists)' "$log")
ok $((starts == 0 || starts != kernel)) \
	"every broker start logged \"store backend: kernel (/dev/kmq exists)\" ($kernel of $starts)"
grep 'store backend: ' "$log" 2>/dev/null | head -n 4 | sed 's/^/# broker: /'

# A start right after a SIGKILL of the broker must find its store still
# attached in kmq.ko and bind to it.
rebinds=$(awk '$1 == "kill" && $2 == "broker" { k = 1; next }
	       $1 == "start" && $2 == "broker" && k { n++; k = 0 }
	       END { print n + 0 }' "$D/events")
if [ "$rebinds" -gt 0 ]; then
	bound=$(count 'bound to it' "$log")
	ok $((bound != rebinds)) \
		"every broker restarted after SIGKILL bound to the store kmq.ko kept ($bound of $rebinds)"
	grep 'bound to it' "$log" | sed 's/^/# broker: /'
fi

stops=$(awk '$1 == "stop"' "$D/events" | wc -l)
bad=$(awk '$1 == "stop" && $3 != "0"' "$D/events" | wc -l)
ok $((stops == 0 || bad != 0)) \
	"every kmqd stopped with SIGTERM exited with status 0 ($stops stops)"
awk '$1 == "stop" && $3 != "0" { print "# " $2 ": exit status " $3 }' \
	"$D/events"

cores=$(find "$D/cores" -name 'core.*' | wc -l)
ok $((cores != 0)) "no kmqd dumped core"
find "$D/cores" -name 'core.*' | sed 's/^/# core: /'

# A clean stop detaches the store; kmqd_vm_detach names (and detaches,
# so that rmmod can go on) any left behind.
"$ST/kmqd_vm_detach" >"$D/detach.out" 2>&1
left=$(count 'was still attached' "$D/detach.out")
ok $((left != 0)) "the clean stops left no kmqd store attached in kmq.ko"
sed 's/^# *//; s/^/# /' "$D/detach.out"

for n in namesrv broker; do
	grep -E ' (WARN|ERROR) ' "$D/$n.log" 2>/dev/null | head -n 20 |
		sed "s/^/# $n log: /"
done
echo "1..$N"
[ "$FAILED" -eq 0 ]
