#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vmbench-run.sh - inside the benchmark VM (busybox sh): the runs of
# vmbench.sh, which copies this script to /selftests/vmbench-run; the
# "suites" vmbench_store and vmbench_drain of init.sh's tests mode call
# it with "store" or "drain". kmq.ko is loaded, the virtio disk (ext4) is
# on /mnt: every store lives there.
#
#   store   kmq-bench store, for each body size and batch, --backend
#           userspace then kernel: one run for speed, then a shorter one
#           with --syscalls (system calls per append call and per read
#           call, counted by the kernel's syscall tracepoints)
#   drain   for each body size and backend, kmqd (storeBackend=that,
#           ASYNC_FLUSH) on a fresh store: kmq-bench produce writes a
#           backlog, kmq-bench drain reads it for speed; kmq_vm_sysc counts
#           kmqd's system calls for VMB_IDLE idle seconds (its timers),
#           then during a second drain
#
# Each run's output goes to the results port framed as
#   KMQ-VMBENCH-BEGIN <part> backend=B size=S batch=N rep=R kind=K
#   <kmq-bench's JSON summary>
#   KMQ-VMBENCH-SYSC <kmq_vm_sysc's JSON>     (drain, kind=idle|syscalls)
#   KMQ-VMBENCH-END rc=N secs=S
# and progress as "# vmbench: ..." lines (vmbench.sh shows them live).
# The knobs come from /etc/kmq-vm.conf (vmbench.sh writes them):
#   VMB_SIZES VMB_BATCHES VMB_BACKENDS VMB_SEGMENT VMB_SYSC_SEGMENT
#   VMB_STORE_COUNT_<size> VMB_SYSC_DIV VMB_DRAIN_COUNT_<size> VMB_PULL
#   VMB_REPEAT (the whole part that many times; runs carry rep=N)
#   VMB_IDLE (seconds kmqd's system calls are counted idle, default 3)
# A store run's records fit in its first segment (no segment is prepared
# while it appends); the counted runs do 1/VMB_SYSC_DIV of the records in
# smaller segments, which are quicker to prepare.
ST=/selftests
BENCH=$ST/kmq-bench
WORK=/mnt/vmbench
NS=127.0.0.1:9876
SIZES=${VMB_SIZES:-100 1024}
BATCHES=${VMB_BATCHES:-1 32}
BACKENDS=${VMB_BACKENDS:-userspace kernel}
SEGMENT=${VMB_SEGMENT:-128M}
SYSC_SEGMENT=${VMB_SYSC_SEGMENT:-64M}
SYSC_DIV=${VMB_SYSC_DIV:-4}
PULL=${VMB_PULL:-32}
REPEAT=${VMB_REPEAT:-1}
IDLE=${VMB_IDLE:-3}
# A send's or pull's timeout (ms): the emulated guest on a busy host can
# stall for seconds.
TMO=60000
status=0

say() { echo "# vmbench: $*"; }
uptime_s() { awk '{ print $1 }' /proc/uptime; }

# count KIND SIZE: the message count of that part and size.
count() {
	eval "n=\${VMB_${1}_COUNT_$2:-}"
	# shellcheck disable=SC2154 # set by the eval
	[ -n "$n" ] || n=20000
	echo "$n"
}

# settle: write back and drop the page cache, so that each run starts
# from the same state.
settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# framed PART ATTRS CMD...: one run between BEGIN and END lines.
framed() {
	part=$1
	attrs=$2
	shift 2
	echo "KMQ-VMBENCH-BEGIN $part $attrs"
	t0=$(uptime_s)
	"$@" 2>"$WORK/stderr"
	rc=$?
	t1=$(uptime_s)
	if [ $rc -ne 0 ]; then
		status=1
		sed 's/^/# stderr: /' "$WORK/stderr" | tail -n 20
	fi
	echo "KMQ-VMBENCH-END rc=$rc secs=$(awk "BEGIN { print $t1 - $t0 }")"
	say "$part $attrs: rc $rc, $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
}

# keeper_start: a set of syscall counters on an idle task, held for the
# rest of the VM's life. The first counter enables the syscall tracepoint
# (a static key and static calls) and perf's scheduler hooks (a static
# key); the last one would disable them. Each is a patch of kernel text,
# and TCG, patching code one vCPU may be running, now and then loses the
# guest: once an "Oops: int3" in __schedule (a stale int3 of a patch),
# once both vCPUs stuck for good (soft lockups). So the patching happens
# once, with the other CPUs offline, before any run; with the keeper's
# counters held, later counters find everything enabled and patch
# nothing. The price: every system call of every task takes the
# tracepoint path, in the speed runs too, both backends alike. The first
# part starts it, the next finds it running.
KEEP_READY=/tmp/.vmbench-keeper
keeper_start() {
	[ -f "$KEEP_READY" ] && return
	others=$(ls -d /sys/devices/system/cpu/cpu[1-9]* 2>/dev/null)
	for c in $others; do
		echo 0 >"$c/online"
	done
	sleep 2147483647 &
	idle=$!
	"$ST/kmq_vm_sysc" -p "$idle" -o /dev/null -- sh -c \
		"touch $KEEP_READY; while kill -0 $idle; do sleep 60; done" \
		</dev/null >/dev/null 2>&1 &
	i=0
	while [ ! -f "$KEEP_READY" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	for c in $others; do
		echo 1 >"$c/online"
	done
	[ -f "$KEEP_READY" ] || say "WARNING: the counters' keeper did not start"
	say "syscall counters held on an idle task (pid $idle), CPUs back: $(cat /sys/devices/system/cpu/online)"
}

mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
keeper_start
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
mkdir -p "$WORK" || exit 1
cd "$WORK" || exit 1
CLOCK=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
say "$(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 / 1024 }' /proc/meminfo) MiB, clocksource $CLOCK"
[ "$CLOCK" = tsc ] ||
	say "WARNING: clocksource $CLOCK: every clock_gettime() is a system call"

# store_cell REP SIZE BATCH BACKEND: the speed run and the counted run.
store_cell() {
	n=$(count STORE "$2")
	a="backend=$4 size=$2 batch=$3 rep=$1"
	d=$WORK/store-$4-$2-$3
	settle
	say "store $a: $n records"
	framed store "$a kind=speed" \
		"$BENCH" store --backend "$4" --dir "$d" --size "$2" \
		--count "$n" --batch "$3" --segment-size "$SEGMENT" --ring 0 \
		--json --quiet --rm
	settle
	framed store "$a kind=syscalls" \
		"$BENCH" store --backend "$4" --dir "$d" --size "$2" \
		--count $((n / SYSC_DIV)) --batch "$3" \
		--segment-size "$SYSC_SEGMENT" --ring 0 --syscalls \
		--json --quiet --rm
}

# The two backends of a cell run one after the other, so that a change
# of the host's load falls on both.
part_store() {
	for rep in $(seq "$REPEAT"); do
		for s in $SIZES; do
			for batch in $BATCHES; do
				for b in $BACKENDS; do
					store_cell "$rep" "$s" "$batch" "$b"
				done
			done
		done
	done
}

# kmqd_start BACKEND: kmqd all on a fresh store; sets KMQD_PID.
kmqd_start() {
	rm -rf "$WORK/kmqd"
	mkdir -p "$WORK/kmqd"
	"$ST/kmqd" all --storePathRootDir="$WORK/kmqd/store" \
		--storeBackend="$1" --flushDiskType=ASYNC_FLUSH \
		--mapedFileSizeCommitLog="$SEGMENT_BYTES" \
		>"$WORK/kmqd/kmqd.log" 2>&1 &
	KMQD_PID=$!
	i=0
	while ! grep -q 'serving at' "$WORK/kmqd/kmqd.log" 2>/dev/null; do
		if ! kill -0 "$KMQD_PID" 2>/dev/null || [ $i -ge 600 ]; then
			say "kmqd did not start:"
			sed 's/^/# kmqd: /' "$WORK/kmqd/kmqd.log" | tail -n 20
			return 1
		fi
		sleep 0.2
		i=$((i + 1))
	done
	grep 'store backend' "$WORK/kmqd/kmqd.log" | sed 's/^/# kmqd: /'
}

kmqd_stop() {
	kill -TERM "$KMQD_PID" 2>/dev/null
	wait "$KMQD_PID"
	rc=$?
	if [ $rc -ne 0 ]; then
		say "kmqd exited with $rc"
		status=1
	fi
	grep -E ' (WARN|ERROR) ' "$WORK/kmqd/kmqd.log" | head -n 20 |
		sed 's/^/# kmqd: /'
	rm -rf "$WORK/kmqd"
}

# sysc_run FILE CMD...: CMD under kmq_vm_sysc counting kmqd, then the
# counts as a KMQ-VMBENCH-SYSC line.
# shellcheck disable=SC2317 # called through framed
sysc_run() {
	f=$1
	shift
	"$ST/kmq_vm_sysc" -p "$KMQD_PID" -o "$f" -- "$@"
	src=$?
	echo "KMQ-VMBENCH-SYSC $(cat "$f" 2>/dev/null)"
	rm -f "$f"
	return "$src"
}

# drain_cell REP SIZE BACKEND: a fresh kmqd, the backlog, two drains.
drain_cell() {
	b=$3
	s=$2
	say "drain: kmqd on the $b backend"
	kmqd_start "$b" || { status=1; return; }
	n=$(count DRAIN "$s")
	t=Drain$s
	a="backend=$b size=$s batch=$PULL rep=$1"
	say "drain $a: producing $n messages"
	framed backlog "$a kind=produce" \
		"$BENCH" produce --namesrv "$NS" --topic "$t" --queues 4 \
		--size "$s" --connections 2 --inflight 64 --count "$n" \
		--timeout "$TMO" --json --quiet
	framed drain "$a kind=speed" \
		"$BENCH" drain --namesrv "$NS" --topic "$t" \
		--pull-batch "$PULL" --timeout "$TMO" --json --quiet
	# kmqd's own pace when idle (timers), to tell from the pulls' cost.
	framed drain "$a kind=idle" sysc_run "$WORK/sysc.json" sleep "$IDLE"
	framed drain "$a kind=syscalls" sysc_run "$WORK/sysc.json" \
		"$BENCH" drain --namesrv "$NS" --topic "$t" --pull-batch "$PULL" \
		--timeout "$TMO" --json --quiet
	kmqd_stop
	settle
}

part_drain() {
	for rep in $(seq "$REPEAT"); do
		for s in $SIZES; do
			for b in $BACKENDS; do
				drain_cell "$rep" "$s" "$b"
			done
		done
	done
}

# kmqd takes the segment size in bytes.
SEGMENT_BYTES=$(echo "$SEGMENT" | awk '
	/[Kk]$/ { print $0 * 1024; next }
	/[Mm]$/ { print $0 * 1048576; next }
	/[Gg]$/ { print $0 * 1073741824; next }
	{ print $0 + 0 }')

case ${1:-} in
store) part_store ;;
drain) part_drain ;;
*) echo "usage: vmbench-run store|drain" >&2; exit 2 ;;
esac
rm -rf "$WORK"
exit $status
