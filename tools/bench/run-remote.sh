#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# run-remote.sh - the broker matrix of docs/benchmarks.md: kmq-bench's
# client modes (libkmq) against kmqd over loopback.
#
#   tools/bench/run-remote.sh [KMQ_BENCH [KMQD]]
#
# Parts, in this order (BENCH_ONLY picks some):
#   echo   produce against `kmq-bench echo` (a stand-in name server and
#          broker that answers at once): the round trip, libkmq and the
#          load generator alone
#   async  kmqd with ASYNC_FLUSH on a fresh store: for 100 B and 1 KiB
#          bodies, produce with one send in flight (unpinned, then with
#          the server on CPU 0 and kmq-bench on CPU 1) and pipelined (each
#          of BENCH_PIPELINES: producers x sends in flight each)
#   sync   the same with SYNC_FLUSH (produce --flush sync)
#   batch  1 KiB in SEND_BATCH_MESSAGE requests of 32 (ASYNC_FLUSH), on a
#          fresh store and on one with ringSegments=4 (recycled segments),
#          where the non-batched 4x64 run is repeated too
#   drain  produce a backlog of BENCH_BACKLOG 1 KiB messages, then drain
#          it with the pull consumer (each of BENCH_DRAINS: consumers x
#          threads), then consume it with push consumers (each of
#          BENCH_CONSUMES: consumers x listener threads x messages a call)
#   pipe   kmq-bench pipeline (ASYNC_FLUSH): producers and a push
#          consumer in one run, end-to-end latency from the send time in
#          the body; 1 KiB one in flight, then each of BENCH_PIPELINES
#   rate   the same, 4 producers x 64 in flight, paced at each of
#          BENCH_RATES messages a second: end-to-end latency below
#          saturation
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
# BENCH_DRAINS: pull consumers x threads (default "1x1 2x1 2x2").
# BENCH_CONSUMES: push consumers x listener threads x messages a call
#	(default "1x4x1 1x4x32 2x2x32").
# BENCH_RATES: messages a second of the rate part (default
#	"5000 20000 40000").
# BENCH_ONLY: the parts to run (default "echo async sync batch drain
#	pipe rate").
# BENCH_REPEAT: how many times the whole matrix runs (default 1); run
#	names get -rN when it is more than 1.
#
# NAME.cpu has the CPU time each server thread used during the run and
# the machine's busy time (/proc/stat): what else ran shows as busy time
# that neither the server nor kmq-bench (its JSON: cpu_s) used. NAME.load
# has `uptime` just before the run (the machine is shared).

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
CONSUMES=${BENCH_CONSUMES:-1x4x1 1x4x32 2x2x32}
RATES=${BENCH_RATES:-5000 20000 40000}
ONLY=${BENCH_ONLY:-echo async sync batch drain pipe rate}
REPEAT=${BENCH_REPEAT:-1}
NS=127.0.0.1:$NS_PORT
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

# start_echo: the stand-in, name server and broker on PORT.
start_echo() {
	slog=$(server_log echo)
	echo "== kmq-bench echo --listen $PORT --queues 8" >&2
	"$KMQ_BENCH" echo --listen "$PORT" --queues 8 >"$slog" 2>&1 &
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

# ^C or SIGTERM ends the whole matrix, not just the run in progress.
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

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
	name=$1$SUFFIX
	shift
	echo "== $name: ${PIN:+$PIN }kmq-bench $*" >&2
	# $PIN is empty or "taskset -c 1": split on purpose.
	# shellcheck disable=SC2086
	if [ -n "$OUT" ]; then
		uptime >"$OUT/$name.load"
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

# produce NAME ARGS...: against the server's name server ($NSA).
produce() {
	name=$1
	shift
	bench "$name" produce --namesrv "$NSA" --topic "$name$SUFFIX" \
		--queues 8 --duration "$DURATION" "$@"
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

one_part() {
	NSA=$NS
	case $1 in
	echo)
		start_echo
		NSA=127.0.0.1:$PORT
		latency_and_pipelines echo --no-create
		stop_server
		;;
	async)
		start_kmqd ASYNC_FLUSH --flushDiskType=ASYNC_FLUSH
		latency_and_pipelines async --flush async
		stop_server
		;;
	sync)
		start_kmqd SYNC_FLUSH --flushDiskType=SYNC_FLUSH
		latency_and_pipelines sync --flush sync
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
		bench backlog produce --namesrv "$NS" --topic Backlog \
			--queues 8 --size 1024 --connections 4 --inflight 64 \
			--count "$BACKLOG"
		for d in $DRAINS; do
			bench "drain-c${d%x*}t${d#*x}" drain --namesrv "$NS" \
				--topic Backlog --connections "${d%x*}" \
				--threads "${d#*x}"
		done
		for c in $CONSUMES; do
			n=${c%%x*}
			rest=${c#*x}
			bench "consume-n${n}t${rest%x*}b${rest#*x}" consume \
				--namesrv "$NS" --topic Backlog \
				--group "C$n-$rest$SUFFIX" --consumers "$n" \
				--consume-threads "${rest%x*}" \
				--consume-batch "${rest#*x}" --count "$BACKLOG" \
				--idle-timeout 10
		done
		stop_server
		;;
	pipe)
		start_kmqd pipe --flushDiskType=ASYNC_FLUSH
		bench pipe-1024-c1i1 pipeline --namesrv "$NS" \
			--topic "pipe-1024-c1i1$SUFFIX" --queues 8 --size 1024 \
			--duration "$DURATION" --flush async
		for p in $PIPELINES; do
			bench "pipe-1024-c${p%x*}i${p#*x}" pipeline \
				--namesrv "$NS" \
				--topic "pipe-1024-c${p%x*}i${p#*x}$SUFFIX" \
				--queues 8 --size 1024 --duration "$DURATION" \
				--connections "${p%x*}" --inflight "${p#*x}" \
				--flush async
		done
		stop_server
		;;
	rate)
		start_kmqd rate --flushDiskType=ASYNC_FLUSH
		for rt in $RATES; do
			bench "pipe-1024-c4i64-rate$rt" pipeline \
				--namesrv "$NS" \
				--topic "pipe-1024-c4i64-rate$rt$SUFFIX" \
				--queues 8 --size 1024 --duration "$DURATION" \
				--connections 4 --inflight 64 --rate "$rt" \
				--flush async
		done
		stop_server
		;;
	*)
		echo "BENCH_ONLY: unknown part '$1'" >&2
		exit 2
		;;
	esac
}

r=1
while [ $r -le "$REPEAT" ]; do
	SUFFIX=
	[ "$REPEAT" -gt 1 ] && SUFFIX=-r$r
	for part in $ONLY; do
		one_part "$part"
	done
	r=$((r + 1))
done
exit $status
