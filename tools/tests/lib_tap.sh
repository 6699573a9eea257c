# SPDX-License-Identifier: GPL-2.0-only
#
# lib_tap.sh - the TAP plumbing the shell tests of tools/tests share,
# sourced (never run) from the directory of the test, in the tree or in
# $(BUILD)/tests: ok/skip/tap_done for the TAP lines and plan, a temporary
# directory removed on exit, JSON fields, free loopback ports, and
# `kmqd all` started and stopped. A test may define ok_failed (more output
# after a "not ok") and tap_at_exit (more cleanup) after sourcing it.

n=0
failed=0
tmp=
kmqd_pid=

# ok_failed: called after a "not ok" line; a test redefines it.
ok_failed() {
	:
}

# tap_at_exit: called on exit before $tmp goes; a test redefines it.
tap_at_exit() {
	:
}

# ok STATUS DESCRIPTION: "ok" when STATUS is 0, else "not ok".
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		ok_failed
	fi
}

# skip DESCRIPTION WHY: a skipped test.
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# tap_done: the plan, and the exit status (0 when nothing failed).
tap_done() {
	echo "1..$n"
	[ $failed -eq 0 ]
}

# tap_tmpdir NAME: $tmp, a new directory removed on exit (after
# tap_at_exit and kmqd_stop); bails out when it cannot be made.
tap_tmpdir() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || {
		echo "Bail out! mktemp failed"
		exit 1
	}
	trap 'tap_at_exit; kmqd_stop; rm -rf "$tmp"' EXIT
}

# tap_need_python3 WHY: skip the whole test without python3.
tap_need_python3() {
	if ! command -v python3 >/dev/null 2>&1; then
		echo "1..0 # SKIP python3 is needed $1"
		exit 0
	fi
}

# json_get FILE EXPR: print a field of a JSON file (python3, else jq).
json_get() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
	d = d[k]
print(str(d).lower() if isinstance(d, bool) else d)' "$1" "$2" 2>/dev/null
	else
		jq -e -r ".$2" "$1" 2>/dev/null
	fi
}

# free_port: a loopback port nobody listens on right now.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# stop_pid PID: SIGTERM, 10 s, then SIGKILL (status 1); else its status.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 1
	fi
	wait "$1"
}

# kmqd_start PATTERN: `$KMQD all` on two free loopback ports ($ns_port for
# its name server, $port for the broker) with a small store in $tmp/store,
# its log in $tmp/kmqd.log; waits up to 20 s for PATTERN in the log.
# Returns 0 once it is there.
kmqd_start() {
	ns_port=$(free_port)
	port=$(free_port)
	while [ "$port" = "$ns_port" ]; do
		port=$(free_port)
	done
	# Small segments keep the store small and its preparation short.
	"$KMQD" all --namesrvListenPort="$ns_port" --listenPort="$port" \
		--storePathRootDir="$tmp/store" \
		--mapedFileSizeCommitLog=67108864 \
		--ioThreads=2 >"$tmp/kmqd.log" 2>&1 &
	kmqd_pid=$!
	i=0
	while ! grep -q "$1" "$tmp/kmqd.log" 2>/dev/null; do
		if ! kill -0 "$kmqd_pid" 2>/dev/null || [ $i -ge 200 ]; then
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$1" "$tmp/kmqd.log"
}

# kmqd_stop: stop kmqd if it runs; its exit status, also in $rc.
kmqd_stop() {
	stop_pid "$kmqd_pid"
	rc=$?
	kmqd_pid=
	return $rc
}
