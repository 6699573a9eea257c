#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# t_bench_remote_smoke.sh - functional smoke test of kmq-bench's client
# modes (produce, consume, pipeline, drain, all on libkmq) and of echo,
# against a real kmqd (TAP). Starts `kmqd all` on free loopback ports with
# a temporary store, produces fixed counts, drains and consumes them back,
# runs a pipeline, and checks exit statuses and the JSON counts. A topic
# into which the test itself writes kmq-bench bodies with a gap, a
# duplicate, a bad checksum and a foreign body checks that drain and
# consume count them and fail. Nothing about speed is asserted. make
# turns it into $(BUILD)/tests/t_bench_remote_smoke with the binaries'
# paths filled in; KMQ_BENCH and KMQD override them.

# The shared TAP plumbing (lib_tap.sh) sits next to this script.
. "$(dirname "$0")/lib_tap.sh"

KMQ_BENCH=${KMQ_BENCH:-@KMQ_BENCH@}
KMQD=${KMQD:-@KMQD@}
COUNT=5000
echo_pid=

# show FILE: a failed step's output, as TAP comments.
show() {
	sed 's/^/# /' "$1" | tail -20
}

# json_is FILE EXPR VALUE ...: every field has its value.
json_is() {
	f=$1
	shift
	while [ $# -ge 2 ]; do
		v=$(json_get "$f" "$1")
		if [ "$v" != "$2" ]; then
			echo "# $1 is '$v', not '$2'"
			return 1
		fi
		shift 2
	done
	return 0
}

# tap_at_exit: the echo stand-in goes too.
tap_at_exit() {
	stop_pid "$echo_pid"
}

tap_tmpdir kmq-bench-remote

tap_need_python3 "to pick free ports and read JSON"

kmqd_start 'serving at'
rc=$?
ns=127.0.0.1:$ns_port
ok $rc "kmqd all serves (name server $ns, broker port $port)"
if [ $rc -ne 0 ]; then
	show "$tmp/kmqd.log"
	echo "Bail out! kmqd did not start"
	exit 1
fi

"$KMQ_BENCH" --help >"$tmp/help" 2>&1
grep -q -- '--inflight' "$tmp/help" && grep -q -- '--consumers' "$tmp/help" &&
	grep -q -- '--drain-timeout' "$tmp/help" &&
	grep -q -- '--pull-batch' "$tmp/help" &&
	grep -q '^consume mode' "$tmp/help" && grep -q '^pipeline mode' "$tmp/help"
ok $? "--help documents the produce, consume, pipeline and drain flags"

# --- produce ---------------------------------------------------------

"$KMQ_BENCH" produce --namesrv "$ns" --topic SmokeT --queues 8 \
	--count $COUNT --size 100 --connections 2 --inflight 16 \
	--check-responses --json --quiet >"$tmp/produce.json" 2>"$tmp/err"
rc=$?
ok $rc "produce --count $COUNT --connections 2 --inflight 16 exits 0"
[ $rc -eq 0 ] || show "$tmp/err"
json_is "$tmp/produce.json" ok true mode produce \
	config.serialize rocketmq
ok $? "the produce summary parses, says ok, binary headers by default"
json_is "$tmp/produce.json" produce.records $COUNT \
	produce.acknowledged $COUNT produce.messages_sent $COUNT \
	produce.errors 0 produce.send_status.SEND_OK $COUNT
ok $? "produce: $COUNT sent, acknowledged SEND_OK, no errors"
[ "$(json_get "$tmp/produce.json" produce.latency_ns.count)" = $COUNT ] &&
	[ "$(json_get "$tmp/produce.json" produce.latency_ns.p99_9)" -gt 0 ]
ok $? "every send was timed (p50..p99.9, max in the summary)"

"$KMQ_BENCH" produce --namesrv "$ns" --topic SmokeT --no-create \
	--count 1000 --size 1K --connections 1 --threads 2 --inflight 1 \
	--serialize json --check-responses --quiet >"$tmp/out2" 2>&1
rc=$?
ok $rc "produce --threads 2, one in flight, JSON headers exits 0"
[ $rc -eq 0 ] || show "$tmp/out2"

# 1000 is not a multiple of 7: the last batch of each sender is short.
"$KMQ_BENCH" produce --namesrv "$ns" --topic SmokeT --no-create \
	--count 1000 --size 200 --batch 7 --connections 2 --inflight 4 \
	--check-responses --json --quiet >"$tmp/batch.json" 2>"$tmp/err"
rc=$?
ok $rc "produce --batch 7 (SEND_BATCH_MESSAGE) exits 0"
[ $rc -eq 0 ] || show "$tmp/err"
json_is "$tmp/batch.json" produce.acknowledged 1000 produce.requests 144
ok $? "... 1000 messages acknowledged in 144 sends"

# 2000 messages at 2000 a second take about a second, however fast the
# machine is (a slow one only takes longer).
"$KMQ_BENCH" produce --namesrv "$ns" --topic SmokeT --no-create \
	--count 2000 --rate 2000 --size 100 --connections 2 --inflight 4 \
	--json --quiet >"$tmp/rate.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && json_is "$tmp/rate.json" produce.acknowledged 2000 &&
	python3 -c 'import json, sys
sys.exit(json.load(open(sys.argv[1]))["produce"]["seconds"] < 0.9)' \
		"$tmp/rate.json"
ok $? "produce --rate 2000 paces 2000 messages over about a second"
[ $rc -eq 0 ] || show "$tmp/err"
total=$((COUNT + 4000))

# --- drain -----------------------------------------------------------

"$KMQ_BENCH" drain --namesrv "$ns" --topic SmokeT --connections 2 \
	--threads 2 --json --quiet >"$tmp/drain.json" 2>"$tmp/err"
rc=$?
ok $rc "drain --connections 2 --threads 2 exits 0"
[ $rc -eq 0 ] || show "$tmp/err"
json_is "$tmp/drain.json" ok true drain.expected $total \
	drain.records $total drain.verified $total
ok $? "drain read and checked all $total messages"
json_is "$tmp/drain.json" drain.lost 0 drain.duplicated 0 \
	drain.corrupted 0 drain.streams 8
ok $? "... none lost, duplicated or corrupted, in 8 streams (four runs of 2 senders)"

"$KMQ_BENCH" drain --namesrv "$ns" --topic SmokeT --pull-batch 7 \
	--serialize json --json --quiet >"$tmp/drain2.json" 2>"$tmp/err"
rc=$?
ok $rc "drain --pull-batch 7 with JSON headers exits 0"
json_is "$tmp/drain2.json" drain.verified $total
ok $? "... and checks all $total messages"

# --- consume ---------------------------------------------------------

"$KMQ_BENCH" consume --namesrv "$ns" --topic SmokeT --group SmokeC1 \
	--idle-timeout 3 --json --quiet >"$tmp/consume.json" 2>"$tmp/err"
rc=$?
ok $rc "consume (push consumer, group SmokeC1) exits 0"
[ $rc -eq 0 ] || show "$tmp/err"
json_is "$tmp/consume.json" ok true mode consume consume.unique $total \
	consume.lost 0 consume.corrupted 0 consume.stopped_by idle
ok $? "consume received all $total, none lost or corrupted, stopped idle"
[ "$(json_get "$tmp/consume.json" consume.latency_ns.count)" = $total ] &&
	[ "$(json_get "$tmp/consume.json" consume.latency_ns.p50)" -gt 0 ]
ok $? "... each first delivery timed end to end"

"$KMQ_BENCH" consume --namesrv "$ns" --topic SmokeT --group SmokeC1 \
	--idle-timeout 2 --json --quiet >"$tmp/again.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && json_is "$tmp/again.json" consume.delivered 0
ok $? "the same group again gets nothing (offsets committed): exit 1 (rc $rc)"

"$KMQ_BENCH" consume --namesrv "$ns" --topic SmokeT --group SmokeC2 \
	--consumers 2 --consume-threads 2 --consume-batch 4 --pull-batch 16 \
	--count $total --idle-timeout 10 --json --quiet \
	>"$tmp/consume2.json" 2>"$tmp/err"
rc=$?
ok $rc "consume --consumers 2 --count $total (another group) exits 0"
[ $rc -eq 0 ] || show "$tmp/err"
json_is "$tmp/consume2.json" consume.stopped_by count consume.corrupted 0 &&
	[ "$(json_get "$tmp/consume2.json" consume.unique)" -ge $total ]
ok $? "... stopped by the count with every message received"

# --- pipeline --------------------------------------------------------

"$KMQ_BENCH" pipeline --namesrv "$ns" --topic SmokeP --queues 4 \
	--count 3000 --size 512 --connections 2 --inflight 8 --consumers 2 \
	--json --quiet >"$tmp/pipe.json" 2>"$tmp/err"
rc=$?
ok $rc "pipeline --count 3000, 2 producers, 2 consumers exits 0"
[ $rc -eq 0 ] || show "$tmp/err"
json_is "$tmp/pipe.json" ok true mode pipeline produce.acknowledged 3000 \
	consume.unique 3000 consume.expected 3000 lost 0 corrupted 0
ok $? "pipeline: 3000 acknowledged, 3000 received, none lost"
[ "$(json_get "$tmp/pipe.json" consume.latency_ns.count)" = 3000 ] &&
	[ "$(json_get "$tmp/pipe.json" produce.latency_ns.count)" = 3000 ]
ok $? "... both sides timed (send to ack, send to listener)"

"$KMQ_BENCH" pipeline --namesrv "$ns" --topic SmokeP --no-create \
	--group SmokeP2 --duration 2 --size 100 --inflight 32 --serialize json \
	--consume-batch 8 --quiet >"$tmp/pipe2" 2>&1
rc=$?
ok $rc "pipeline --duration 2 into a topic with an earlier run exits 0"
[ $rc -eq 0 ] || show "$tmp/pipe2"
grep -q 'of earlier runs 3000' "$tmp/pipe2"
ok $? "... and tells the earlier run's 3000 apart"

# --- a gap, a duplicate, a bad checksum, a foreign body --------------

# Bodies laid out as bench_body.h says, sent as JSON SEND_MESSAGE_V2
# requests made here (not by kmq-bench): stream 0 of a run has sequence
# numbers 0, 1, 1, 3, 4 (2 is missing, 1 twice), then one more with its
# header checksum broken and one that is not a kmq-bench body at all.
python3 - "$port" <<'PY' >"$tmp/inject" 2>&1
import json, socket, struct, sys, time, zlib
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)

def body(seq, size=100, bad_crc=False):
	h = struct.pack(">IIIIQQ", 0x4b4d5142, 0x5eed, 0, size, seq,
			time.monotonic_ns())
	crc = zlib.crc32(h) ^ (1 if bad_crc else 0)
	h += struct.pack(">I", crc)
	return h + bytes((i * 131 + 17) & 0xff for i in range(len(h), size))

def send(b, opaque):
	hdr = json.dumps({"code": 310, "language": "JAVA", "version": 0,
			  "opaque": opaque, "flag": 0, "extFields": {
			  "a": "SmokeP", "b": "SmokeBad", "c": "TBW102",
			  "d": "1", "e": "0", "f": "0", "g": "0", "h": "0",
			  "i": "", "j": "0", "k": "false", "m": "false"}}).encode()
	s.sendall(struct.pack(">II", 4 + len(hdr) + len(b), len(hdr)) +
		  hdr + b)
	head = b""
	while len(head) < 8:
		head += s.recv(8 - len(head))
	size, hlen = struct.unpack(">II", head)
	rest = b""
	while len(rest) < size - 4:
		rest += s.recv(size - 4 - len(rest))
	return json.loads(rest[:hlen & 0xffffff])["code"]

codes = [send(body(q), i) for i, q in enumerate([0, 1, 1, 3, 4])]
codes.append(send(body(5, bad_crc=True), 10))
codes.append(send(b"not a kmq-bench body, but long enough for its header",
		  11))
print(" ".join(str(c) for c in codes))
PY
[ "$(cat "$tmp/inject")" = "0 0 0 0 0 0 0" ]
ok $? "7 hand-made messages are stored in topic SmokeBad"
[ "$(cat "$tmp/inject")" = "0 0 0 0 0 0 0" ] || show "$tmp/inject"

"$KMQ_BENCH" drain --namesrv "$ns" --topic SmokeBad --json --quiet \
	>"$tmp/bad.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && json_is "$tmp/bad.json" ok false drain.records 7 \
	drain.lost 1 drain.duplicated 1 drain.corrupted 2
ok $? "drain exits 1 and counts 1 lost, 1 duplicated, 2 corrupted (rc $rc)"
grep -q 'checksum' "$tmp/err" && grep -q 'magic' "$tmp/err" &&
	grep -q 'lost' "$tmp/err"
ok $? "... and says which and why on stderr"

"$KMQ_BENCH" consume --namesrv "$ns" --topic SmokeBad --group SmokeBadC \
	--idle-timeout 3 --json --quiet >"$tmp/badc.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && json_is "$tmp/badc.json" ok false consume.delivered 7 \
	consume.lost 1 consume.duplicated 1 consume.corrupted 2
ok $? "consume exits 1 and counts 1 lost, 1 duplicated, 2 corrupted (rc $rc)"

# --- bad input and echo ----------------------------------------------

"$KMQ_BENCH" produce --namesrv "$ns" --size 8 --count 1 >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "a body smaller than the bench header is refused (exit 2)"

"$KMQ_BENCH" produce --namesrv 127.0.0.1:1 --count 1 --connect-timeout 200 \
	--quiet >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "an unreachable name server is a setup error (exit 2)"

"$KMQ_BENCH" drain --namesrv "$ns" --topic NoSuchTopic --quiet \
	>/dev/null 2>&1
[ $? -eq 2 ]
ok $? "draining a topic without a route is a setup error (exit 2)"

echo_port=$(free_port)
"$KMQ_BENCH" echo --listen "$echo_port" --queues 4 >"$tmp/echo.log" 2>&1 &
echo_pid=$!
i=0
while ! grep -q answering "$tmp/echo.log" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
"$KMQ_BENCH" produce --namesrv 127.0.0.1:"$echo_port" --topic E --no-create \
	--count 2000 --connections 2 --inflight 8 --json --quiet \
	>"$tmp/echo.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && json_is "$tmp/echo.json" produce.acknowledged 2000
ok $? "produce against the echo stand-in (its own route, no broker) acks 2000"
[ $rc -eq 0 ] || show "$tmp/err"
stop_pid "$echo_pid"
ok $? "echo exits on SIGTERM"
echo_pid=

kmqd_stop
ok $? "kmqd exits 0 on SIGTERM"

tap_done
