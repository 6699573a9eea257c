#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# t_bench_remote_smoke.sh - functional smoke test of kmq-bench's produce
# and drain modes against a real kmqd (TAP). Starts `kmqd all` on free
# loopback ports with a temporary store, produces a fixed count, drains it
# back, and checks exit statuses and the JSON counts; it asserts nothing
# about speed. make turns it into $(BUILD)/tests/t_bench_remote_smoke with
# the binaries' paths filled in; KMQ_BENCH and KMQD override them.

KMQ_BENCH=${KMQ_BENCH:-@KMQ_BENCH@}
KMQD=${KMQD:-@KMQD@}
COUNT=5000
n=0
failed=0
kmqd_pid=

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# json_get FILE EXPR: print a field of the summary (python3, else jq).
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

stop_kmqd() {
	[ -n "$kmqd_pid" ] || return 0
	kill -TERM "$kmqd_pid" 2>/dev/null
	i=0
	while kill -0 "$kmqd_pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$kmqd_pid" 2>/dev/null; then
		kill -KILL "$kmqd_pid" 2>/dev/null
		wait "$kmqd_pid" 2>/dev/null
		kmqd_pid=
		return 1
	fi
	wait "$kmqd_pid"
	rc=$?
	kmqd_pid=
	return $rc
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmq-bench-remote.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'stop_kmqd; rm -rf "$tmp"' EXIT

if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 is needed to pick free ports"
	exit 0
fi

ns_port=$(free_port)
port=$(free_port)
while [ "$port" = "$ns_port" ]; do
	port=$(free_port)
done
broker=127.0.0.1:$port

# Small segments keep the store small and its preparation short.
"$KMQD" all --namesrvListenPort="$ns_port" --listenPort="$port" \
	--storePathRootDir="$tmp/store" --mapedFileSizeCommitLog=67108864 \
	--ioThreads=2 >"$tmp/kmqd.log" 2>&1 &
kmqd_pid=$!
i=0
while ! grep -q 'serving at' "$tmp/kmqd.log" 2>/dev/null; do
	if ! kill -0 "$kmqd_pid" 2>/dev/null || [ $i -ge 200 ]; then
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
grep -q 'serving at' "$tmp/kmqd.log"
rc=$?
ok $rc "kmqd all serves on $broker"
if [ $rc -ne 0 ]; then
	sed 's/^/# /' "$tmp/kmqd.log"
	echo "Bail out! kmqd did not start"
	exit 1
fi

"$KMQ_BENCH" --help >"$tmp/help" 2>&1
grep -q -- '--inflight' "$tmp/help" && grep -q -- '--depth' "$tmp/help"
ok $? "--help documents the produce and drain flags"

"$KMQ_BENCH" produce --broker "$broker" --topic SmokeT --queues 8 \
	--count $COUNT --size 100 --connections 2 --inflight 16 \
	--check-responses --json --quiet >"$tmp/produce.json" 2>"$tmp/err"
rc=$?
ok $rc "produce --count $COUNT --connections 2 --inflight 16 exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/err"
[ "$(json_get "$tmp/produce.json" ok)" = true ]
ok $? "the produce summary parses and says ok"
[ "$(json_get "$tmp/produce.json" produce.records)" = $COUNT ]
ok $? "produce.records is $COUNT"
[ "$(json_get "$tmp/produce.json" produce.acknowledged)" = $COUNT ]
ok $? "produce.acknowledged is $COUNT"
[ "$(json_get "$tmp/produce.json" produce.errors)" = 0 ]
ok $? "no error responses"

"$KMQ_BENCH" produce --broker "$broker" --topic SmokeT --queues 8 \
	--no-create --count 1000 --size 1K --connections 1 --inflight 1 \
	--serialize json --check-responses --quiet >"$tmp/out2" 2>&1
rc=$?
ok $rc "produce one in flight with JSON headers exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/out2"

# 1000 is not a multiple of 7: the last batch of each connection is short.
"$KMQ_BENCH" produce --broker "$broker" --topic SmokeT --queues 8 \
	--no-create --count 1000 --size 200 --batch 7 --connections 2 \
	--inflight 4 --check-responses --json --quiet >"$tmp/batch.json" \
	2>"$tmp/err"
rc=$?
ok $rc "produce --batch 7 (SEND_BATCH_MESSAGE) exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/err"
[ "$(json_get "$tmp/batch.json" produce.acknowledged)" = 1000 ] &&
	[ "$(json_get "$tmp/batch.json" produce.requests)" = 144 ]
ok $? "... 1000 messages acknowledged in 144 requests"
total=$((COUNT + 2000))

"$KMQ_BENCH" drain --broker "$broker" --topic SmokeT --queues 8 \
	--connections 2 --json --quiet >"$tmp/drain.json" 2>"$tmp/err"
rc=$?
ok $rc "drain --connections 2 exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/err"
[ "$(json_get "$tmp/drain.json" ok)" = true ]
ok $? "the drain summary parses and says ok"
[ "$(json_get "$tmp/drain.json" drain.expected)" = $total ]
ok $? "drain.expected (the max offsets' sum) is $total"
[ "$(json_get "$tmp/drain.json" drain.records)" = $total ]
ok $? "drain.records is $total"
[ "$(json_get "$tmp/drain.json" drain.verified)" = $total ]
ok $? "every record drained was decoded and checked"

"$KMQ_BENCH" drain --broker "$broker" --topic SmokeT --queues 8 \
	--connections 1 --depth 3 --max-msgs 7 --serialize json --json \
	--quiet >"$tmp/drain2.json" 2>"$tmp/err"
rc=$?
ok $rc "drain --depth 3 --max-msgs 7 with JSON headers exits 0"
[ "$(json_get "$tmp/drain2.json" drain.verified)" = $total ]
ok $? "... and checks all $total records"

# A message that kmq-bench did not write (a JSON SEND_MESSAGE_V2 made
# here) fails drain's body check: exit 1.
python3 - "$port" <<'PY' >"$tmp/foreign" 2>&1
import json, socket, struct, sys
hdr = json.dumps({"code": 310, "language": "JAVA", "version": 0,
		  "opaque": 7, "flag": 0, "extFields": {
		  "a": "SmokeP", "b": "SmokeBad", "c": "TBW102", "d": "1",
		  "e": "0", "f": "0", "g": "0", "h": "0", "i": "",
		  "j": "0", "k": "false", "m": "false"}}).encode()
body = b"not a kmq-bench body, but long enough for its header"
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(struct.pack(">II", 4 + len(hdr) + len(body), len(hdr)) + hdr +
	  body)
head = b""
while len(head) < 8:
	head += s.recv(8 - len(head))
size, hlen = struct.unpack(">II", head)
rest = b""
while len(rest) < size - 4:
	rest += s.recv(size - 4 - len(rest))
print(json.loads(rest[:hlen & 0xffffff])["code"])
PY
[ "$(cat "$tmp/foreign")" = 0 ]
ok $? "a foreign message is stored in topic SmokeBad"
"$KMQ_BENCH" drain --broker "$broker" --topic SmokeBad --queues 1 \
	--json --quiet >"$tmp/bad.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && [ "$(json_get "$tmp/bad.json" ok)" = false ] &&
	grep -q 'magic' "$tmp/err"
ok $? "drain exits 1 on a body it did not write (rc $rc)"

"$KMQ_BENCH" produce --broker "$broker" --size 8 --count 1 \
	>/dev/null 2>&1
[ $? -eq 2 ]
ok $? "a body smaller than the bench header is refused"

"$KMQ_BENCH" produce --broker 127.0.0.1:1 --count 1 --connect-timeout 0 \
	--quiet >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "an unreachable broker is a setup error (exit 2)"

stop_kmqd
ok $? "kmqd exits 0 on SIGTERM"

echo "1..$n"
[ $failed -eq 0 ]
