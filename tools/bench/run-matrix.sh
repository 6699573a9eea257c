#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# run-matrix.sh - the store benchmark matrix of docs/benchmarks.md.
#
#   tools/bench/run-matrix.sh [KMQ_BENCH]      (make bench runs it)
#
# BENCH_DIR: parent of the store directories, on a real disk, not tmpfs
#	(default /var/tmp); each run makes and removes its own store.
# BENCH_DURATION: seconds per configuration (default 10).
# BENCH_OUT: folder for each run's JSON summary (NAME.json) and progress
#	lines (NAME.log); without it the text summaries go to stdout.
# Segments are 1 GiB with a ring of 6: at most about 6 GiB on disk.

set -u
KMQ_BENCH=${1:-build/kmq-bench}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
DURATION=${BENCH_DURATION:-10}
OUT=${BENCH_OUT:-}
COMMON="--segment-size 1G --ring 6 --duration $DURATION --rm"
status=0

run() {
	name=$1
	shift
	dir=$BENCH_DIR/kmq-bench.$$.$name
	echo "== $name: kmq-bench store --dir $dir $* $COMMON" >&2
	# $COMMON is split into its flags on purpose.
	# shellcheck disable=SC2086
	if [ -n "$OUT" ]; then
		mkdir -p "$OUT"
		"$KMQ_BENCH" store --dir "$dir" "$@" $COMMON --json \
			>"$OUT/$name.json" 2>"$OUT/$name.log" || status=1
	else
		"$KMQ_BENCH" store --dir "$dir" "$@" $COMMON || status=1
	fi
	rm -rf "$dir"
}

for size in 100 1024; do
	run async-$size-a1 --size $size --flush async --appenders 1
	run async-$size-a1-nowait --size $size --flush async --appenders 1 \
		--no-wait
	run async-$size-a1-lat64 --size $size --flush async --appenders 1 \
		--lat-every 64
	run sync-$size-a1 --size $size --flush sync --appenders 1
	run sync-$size-a4 --size $size --flush sync --appenders 4
	run sync-$size-a16 --size $size --flush sync --appenders 16
	run sync-$size-a16-b16 --size $size --flush sync --appenders 16 \
		--batch 16
	run sync-$size-a16-b64 --size $size --flush sync --appenders 16 \
		--batch 64
done
exit $status
