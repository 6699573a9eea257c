#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# run-remote.sh - the broker matrix of docs/benchmarks.md: kmq-bench
# produce and drain against kmqd over loopback.
#
#   tools/bench/run-remote.sh [KMQ_BENCH [KMQD]]
#
# Parts, in this order (BENCH_ONLY picks some):
#   echo   produce against `kmq-bench echo` (answers at once, no broker):
#          the round trip and the load generator alone
#   async  kmqd with ASYNC_FLUSH on a fresh store: for 100 B and 1 KiB
#          bodies, produce with one request in flight (unpinned, then with
#          the server on CPU 0 and kmq-bench on CPU 1) and pipelined (each
#          of BENCH_PIPELINES)
#   sync   the same with SYNC_FLUSH
#   batch  1 KiB in SEND_BATCH_MESSAGE requests of 32 (ASYNC_FLUSH), on a
#          fresh store and on one with ringSegments=4 (recycled segments),
#          where the non-batched 4x64 run is repeated too
#   drain  produce a backlog of BENCH_BACKLOG 1 KiB messages, then drain
#          it (each of BENCH_DRAINS)
# Every run uses a topic of its own, named after it.
#
# BENCH_DIR: parent of the store, on a real disk, not tmpfs (default
#	/var/tmp); the store is removed after each kmqd.
# BENCH_DURATION: seconds per produce run (default 10).
# BENCH_OUT: folder for each run's JSON summary (NAME.json), progress
#	lines (NAME.log) and CPU use (NAME.cpu), and the servers' logs;
#	without it text goes to stdout.
# BENCH_PORT: broker port (default 20911; the name server takes
#	BENCH_PORT - 1035).
# BENCH_PIPELINES: connections x in flight (default "4x64 2x256 8x128").
# BENCH_BACKLOG: messages of 1 KiB produced for drain (default 2000000).
# BENCH_DRAINS: connections x pulls per queue (default "1x1 2x1 2x2").
# BENCH_ONLY: the parts to run (default "echo async sync batch drain").
#
# NAME.cpu has the CPU time each server thread used during the run and
# the machine's busy time (/proc/stat): what else ran shows as busy time
# that neither the server nor kmq-bench (its JSON: cpu_s) used.

set -u
KMQ_BENCH=${1:-build/kmq-bench}
KMQD=${2:-build/kmqd}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
DURATION=${BENCH_DURATION:-10}
OUT=${BENCH_OUT:-}
PORT=${BENCH_PORT:-20911}
NS_PORT=$((PORT - 1035))
PIPELINES=${BENCH_PIPELINES:-4x64 2x256 8x128}
BACKLOG=${BENCH_BACKLOG:-2000000}
DRAINS=${BENCH_DRAINS:-1x1 2x1 2x2}
ONLY=${BENCH_ONLY:-echo async sync batch drain}
BROKER=127.0.0.1:$PORT
STORE=$BENCH_DIR/kmq-bench-remote.$$
srv_pid=
PIN=
status=0

[ -n "$OUT" ] && mkdir -p "$OUT"

# server_log NAME: where a server's output goes.
server_log() {
	if [ -n "$OUT" ]; then
		echo "$OUT/$1.log"
	else
		echo "$STORE.log"
	fi
}

# wait_for LOG TEXT: until the server says TEXT (60 s at most).
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		if ! kill -0 "$srv_pid" 2>/dev/null || [ $i -ge 600 ]; then
			echo "the server did not start; its log: $1" >&2
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# start_kmqd NAME ARGS...: kmqd all on a fresh store.
start_kmqd() {
	name=$1
	shift
	rm -rf "$STORE"
	slog=$(server_log "kmqd-$name")
	echo "== kmqd all --namesrvListenPort=$NS_PORT --listenPort=$PORT --storePathRootDir=$STORE $*" >&2
	"$KMQD" all --namesrvListenPort="$NS_PORT" --listenPort="$PORT" \
		--storePathRootDir="$STORE" "$@" >"$slog" 2>&1 &
	srv_pid=$!
	wait_for "$slog" 'serving at'
	wait_idle
}

# wait_idle: until the server uses under 2% of a CPU for a second (the
# store prepares its first segments while the broker already serves), at
# most 60 s.
wait_idle() {
	hz=$(getconf CLK_TCK)
	i=0
	last=-1
	while [ $i -lt 60 ]; do
		now=$(sed 's/^.*) //' /proc/"$srv_pid"/stat |
		      awk '{ print $12 + $13 }')
		[ "$last" -ge 0 ] && [ $((now - last)) -le $((hz / 50)) ] &&
			break
		last=$now
		sleep 1
		i=$((i + 1))
	done
}

start_echo() {
	slog=$(server_log echo)
	echo "== kmq-bench echo --listen $PORT" >&2
	"$KMQ_BENCH" echo --listen "$PORT" >"$slog" 2>&1 &
	srv_pid=$!
	wait_for "$slog" 'answering'
}

stop_server() {
	[ -n "$srv_pid" ] || return
	kill -TERM "$srv_pid"
	wait "$srv_pid" || status=1
	srv_pid=
	rm -rf "$STORE" "$STORE.log"
}

trap 'stop_server' EXIT INT TERM

# cpu_snap FILE: clock ticks of the machine (busy, all) and of each
# server thread.
cpu_snap() {
	{
		awk '/^cpu / { print "machine", $2 + $3 + $4 + $7 + $8, \
			$2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat
		for t in /proc/"$srv_pid"/task/*; do
			# comm may hold blanks: fields from the last ')'.
			sed 's/^.*) //' "$t/stat" | awk -v c="$(cat "$t/comm")" \
				-v id="${t##*/}" '{ print "server." id "." c, $12 + $13 }'
		done
	} >"$1" 2>/dev/null
}

# cpu_diff BEFORE AFTER: seconds per line of cpu_snap, busy machine share.
cpu_diff() {
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" 'NR == FNR { a[$1] = $2; t[$1] = $3; next }
		$1 == "machine" {
			printf "machine busy %.2f s of %.2f s CPU\n",
				($2 - a[$1]) / hz, ($3 - t[$1]) / hz
			next
		}
		{ printf "%s %.2f s\n", $1, ($2 - a[$1]) / hz }' "$1" "$2"
}

# bench NAME MODE ARGS...: one kmq-bench run, its summary kept.
bench() {
	name=$1
	shift
	echo "== $name: ${PIN:+$PIN }kmq-bench $*" >&2
	# $PIN is empty or "taskset -c 1": split on purpose.
	# shellcheck disable=SC2086
	if [ -n "$OUT" ]; then
		cpu_snap "$OUT/.cpu0"
		$PIN "$KMQ_BENCH" "$@" --json >"$OUT/$name.json" \
			2>"$OUT/$name.log" || status=1
		cpu_snap "$OUT/.cpu1"
		cpu_diff "$OUT/.cpu0" "$OUT/.cpu1" >"$OUT/$name.cpu"
		rm -f "$OUT/.cpu0" "$OUT/.cpu1"
	else
		$PIN "$KMQ_BENCH" "$@" || status=1
	fi
}

produce() {
	name=$1
	shift
	bench "$name" produce --broker "$BROKER" --topic "$name" --queues 8 \
		--duration "$DURATION" "$@"
}

# One in flight with the server on CPU 0 and kmq-bench on CPU 1: the round
# trip crosses cores, as the loopback figure of limits-and-peers.md does.
produce_pinned() {
	taskset -a -p -c 0 "$srv_pid" >/dev/null
	echo "== (every server thread pinned to CPU 0: taskset -a -p -c 0)" >&2
	PIN="taskset -c 1"
	produce "$@"
	PIN=
	taskset -a -p -c 0-1 "$srv_pid" >/dev/null
}

# latency_and_pipelines TAG ARGS...: the runs of one server, both sizes.
latency_and_pipelines() {
	tag=$1
	shift
	for size in 100 1024; do
		produce "$tag-$size-c1i1" --size $size --connections 1 \
			--inflight 1 "$@"
		produce_pinned "$tag-$size-c1i1-pinned" --size $size \
			--connections 1 --inflight 1 "$@"
		for p in $PIPELINES; do
			produce "$tag-$size-c${p%x*}i${p#*x}" --size $size \
				--connections "${p%x*}" --inflight "${p#*x}" "$@"
		done
	done
}

for part in $ONLY; do
	case $part in
	echo)
		start_echo
		latency_and_pipelines echo --no-create
		stop_server
		;;
	async)
		start_kmqd ASYNC_FLUSH --flushDiskType=ASYNC_FLUSH
		latency_and_pipelines async
		stop_server
		;;
	sync)
		start_kmqd SYNC_FLUSH --flushDiskType=SYNC_FLUSH
		latency_and_pipelines sync
		stop_server
		;;
	batch)
		start_kmqd batch --flushDiskType=ASYNC_FLUSH
		produce batch-1024-c4i16b32 --size 1024 --connections 4 \
			--inflight 16 --batch 32
		stop_server
		start_kmqd ring4 --flushDiskType=ASYNC_FLUSH --ringSegments=4
		produce ring4-batch-1024-c4i16b32 --size 1024 --connections 4 \
			--inflight 16 --batch 32
		produce ring4-1024-c4i64 --size 1024 --connections 4 \
			--inflight 64
		stop_server
		;;
	drain)
		start_kmqd drain --flushDiskType=ASYNC_FLUSH
		bench backlog produce --broker "$BROKER" --topic Backlog \
			--queues 8 --size 1024 --connections 4 --inflight 64 \
			--count "$BACKLOG"
		for d in $DRAINS; do
			bench "drain-c${d%x*}d${d#*x}" drain --broker "$BROKER" \
				--topic Backlog --queues 8 \
				--connections "${d%x*}" --depth "${d#*x}"
		done
		stop_server
		;;
	*)
		echo "BENCH_ONLY: unknown part '$part'" >&2
		exit 2
		;;
	esac
done
exit $status
