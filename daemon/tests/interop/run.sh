#!/usr/bin/env bash
# kmq interop suite: the real npm RocketMQ client ali-ons 3.12.0 against
# kmqd (name server + broker started here). Prints TAP; run it with
#   prove -v -e bash daemon/tests/interop/run.sh
# See README.md beside this file for what it checks and the knobs.
#
# KMQ_INTEROP_REMOTE=COMMAND runs kmqd elsewhere (kmod/scripts/vm/vminterop.sh:
# inside a QEMU VM, on kmq.ko): the name server and the broker are started,
# checked, stopped and their logs fetched through
#   COMMAND ping | start NAME PORT ARG... | alive NAME | stop NAME |
#           kill NAME | log NAME LINES
# (NAME namesrv or broker; start exits 0 listening, 1 not in time, 2 it
# exited), and their ports, fixed with KMQ_INTEROP_NAMESRV_PORT and
# KMQ_INTEROP_BROKER_PORT, must reach them on the host's 127.0.0.1.
# KMQ_INTEROP_CRASH_BEFORE=SCENARIO kills the broker with SIGKILL before
# that scenario and starts it again on the same store (needs build/kmqadmin).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)

KMQD=${KMQD:-$ROOT/build/kmqd}
KMQ_CACHE=${KMQ_CACHE:-$ROOT/.cache}
NPM_DIR=$KMQ_CACHE/interop
SUITE_BUDGET=${KMQ_INTEROP_BUDGET:-285}   # seconds, after the npm install
ONLY=${KMQ_INTEROP_ONLY:-basic,retry,restart,split}
REMOTE=${KMQ_INTEROP_REMOTE:-}
CRASH_BEFORE=${KMQ_INTEROP_CRASH_BEFORE:-}
KMQADMIN=${KMQADMIN:-$ROOT/build/kmqadmin}
QUEUES=4
TOPIC_MAIN=kmq_interop_main
TOPIC_RETRY=kmq_interop_retry
TOPIC_RESTART=kmq_interop_restart
TOPIC_SPLIT=kmq_interop_split

# ---- how the daemons are started: adjust here when kmqd's CLI settles ----
# NAMESRV_PORT, BROKER_PORT and WORK are set before these are called.
# Remote: kmqd's arguments only; the remote side adds its binary, listen
# and advertised addresses and store directory.
namesrv_command() {
	if [ -n "$REMOTE" ]; then
		NAMESRV_CMD=(namesrv --namesrvListenPort="$NAMESRV_PORT")
		return
	fi
	NAMESRV_CMD=("$KMQD" namesrv --namesrvListenPort="$NAMESRV_PORT" --listenAddr=127.0.0.1)
}
broker_command() {
	if [ -n "$REMOTE" ]; then
		BROKER_CMD=(broker --listenPort="$BROKER_PORT"
			--namesrvAddr="127.0.0.1:$NAMESRV_PORT"
			--brokerName=broker-a --autoCreateTopicEnable=false)
		return
	fi
	BROKER_CMD=("$KMQD" broker --listenPort="$BROKER_PORT"
		--namesrvAddr="127.0.0.1:$NAMESRV_PORT" --storePathRootDir="$WORK/store"
		--brokerName=broker-a --autoCreateTopicEnable=false)
}

# ------------------------------------------------------------------- TAP
T=0
FAILED=0
ok() { T=$((T + 1)); echo "ok $T - $*"; }
not_ok() { T=$((T + 1)); FAILED=$((FAILED + 1)); echo "not ok $T - $*"; }
diag() { sed -e 's/^/# /'; }
bail() {
	echo "Bail out! $*"
	exit 1
}
# Relay the unnumbered TAP lines a node script printed, numbering them.
relay() {
	local line n=0
	while IFS= read -r line; do
		case $line in
		'ok - '*) n=$((n + 1)); ok "${line#ok - }" ;;
		'not ok - '*) n=$((n + 1)); not_ok "${line#not ok - }" ;;
		'#'*) echo "$line" ;;
		'') ;;
		*) echo "# $line" ;;
		esac
	done <"$1"
	RELAYED=$n
}
tail_log() { # file [lines]
	if [ -s "$1" ]; then
		echo "# --- last ${2:-30} lines of $1"
		tail -n "${2:-30}" "$1" | diag
	fi
}
# The end of a kmqd's log, fetched first when it runs remotely.
daemon_log() { # namesrv|broker [lines]
	if [ -n "$REMOTE" ]; then
		"$REMOTE" log "$1" 200 >"$WORK/$1.log" 2>&1 || true
	fi
	tail_log "$WORK/$1.log" "${2:-30}"
}

# --------------------------------------------------------------- cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kmq-interop.XXXXXX")
NAMESRV_PID=
BROKER_PID=
CHILD_PID=
REMOTE_STARTED=
stop_pid() {
	local pid=$1 tries=50
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	while [ "$tries" -gt 0 ]; do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "# pid $pid ignored SIGTERM for 5 s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}
# Remote daemons: stopped (SIGTERM, then SIGKILL: the remote side's
# limits), their whole logs fetched into the work directory.
remote_stop() {
	local d
	for d in broker namesrv; do
		case " $REMOTE_STARTED " in *" $d "*) ;; *) continue ;; esac
		"$REMOTE" stop "$d" 2>&1 | diag || true
		"$REMOTE" log "$d" 1000000 >"$WORK/$d.log" 2>&1 || true
	done
}
cleanup() {
	local rc=$?
	stop_pid "$CHILD_PID"
	stop_pid "$BROKER_PID"
	stop_pid "$NAMESRV_PID"
	remote_stop
	if [ "$rc" -eq 0 ] && [ "$FAILED" -eq 0 ] && [ -z "${KMQ_INTEROP_KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "# logs and store kept in $WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a command in the background and wait for it, so that a signal to
# this script is handled at once (the trap stops the child).
run_child() { # output-file command...
	local out=$1 rc=0
	shift
	"$@" >"$out" 2>>"$out.log" &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=
	return "$rc"
}

# --------------------------------------------------------- prerequisites
command -v node >/dev/null 2>&1 ||
	bail "node not found: the project's install script installs nodejs and npm (Debian packages)"
command -v npm >/dev/null 2>&1 ||
	bail "npm not found: the project's install script installs nodejs and npm (Debian packages)"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 18 ] || bail "node $(node --version) is too old; the suite needs node >= 18"
ok "node $(node --version) and npm $(npm --version 2>/dev/null) present"

# ali-ons from the lock file, installed once per lock into $NPM_DIR.
install_deps() {
	local want have=
	want=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)
	mkdir -p "$NPM_DIR"
	exec 9>"$KMQ_CACHE/interop.lock"
	if command -v flock >/dev/null 2>&1; then
		flock -w 300 9 || return 1
	fi
	[ -f "$NPM_DIR/.kmq-lock-sha256" ] && have=$(cat "$NPM_DIR/.kmq-lock-sha256")
	if [ "$have" = "$want" ] && [ -f "$NPM_DIR/node_modules/ali-ons/package.json" ]; then
		INSTALL_NOTE="already installed for this lock in $NPM_DIR"
		return 0
	fi
	rm -f "$NPM_DIR/.kmq-lock-sha256"
	cp "$HERE/package.json" "$HERE/package-lock.json" "$NPM_DIR/"
	if ! (cd "$NPM_DIR" && timeout 240 npm ci --ignore-scripts --no-audit --no-fund) >"$WORK/npm.log" 2>&1; then
		return 1
	fi
	echo "$want" >"$NPM_DIR/.kmq-lock-sha256"
	INSTALL_NOTE="installed with npm ci into $NPM_DIR"
}
INSTALL_NOTE=
if ! install_deps; then
	not_ok "install ali-ons from daemon/tests/interop/package-lock.json"
	tail_log "$WORK/npm.log" 40
	bail "npm ci failed (is the npm registry reachable?)"
fi
exec 9>&-
export NODE_PATH=$NPM_DIR/node_modules
ALI_VERSION=$(node -p 'require("ali-ons/package.json").version' 2>/dev/null || echo none)
if [ "$ALI_VERSION" = "3.12.0" ]; then
	ok "ali-ons 3.12.0 from the lock ($INSTALL_NOTE)"
else
	not_ok "ali-ons 3.12.0 from the lock (found: $ALI_VERSION)"
	bail "wrong ali-ons in $NPM_DIR"
fi

SUITE_DEADLINE=$((SECONDS + SUITE_BUDGET))

RELAYED=0
rc=0
run_child "$WORK/selftest.tap" node "$HERE/admin.js" selftest || rc=$?
relay "$WORK/selftest.tap"
if [ "$rc" -ne 0 ] && [ "$RELAYED" -eq 0 ]; then
	not_ok "frame codec self-test (exit status $rc)"
	tail_log "$WORK/selftest.tap.log"
fi

if [ -n "$REMOTE" ]; then
	if "$REMOTE" ping >"$WORK/remote.out" 2>&1; then
		ok "remote kmqd host answers: $(head -n 1 "$WORK/remote.out")"
	else
		not_ok "remote kmqd host answers ($REMOTE ping)"
		diag <"$WORK/remote.out"
		bail "no remote kmqd host"
	fi
else
	[ -x "$KMQD" ] || bail "kmqd not found or not executable: $KMQD (build it, or set KMQD=/path/to/kmqd)"
fi
[ -z "$CRASH_BEFORE" ] || [ -x "$KMQADMIN" ] ||
	bail "KMQ_INTEROP_CRASH_BEFORE needs kmqadmin: $KMQADMIN (make, or set KMQADMIN)"

# ----------------------------------------------------------------- ports
if [ -z "${KMQ_INTEROP_NAMESRV_PORT:-}" ] || [ -z "${KMQ_INTEROP_BROKER_PORT:-}" ]; then
	read -r NAMESRV_PORT BROKER_PORT < <(node "$HERE/admin.js" pick-ports) ||
		bail "could not find free ports on 127.0.0.1"
else
	NAMESRV_PORT=$KMQ_INTEROP_NAMESRV_PORT
	BROKER_PORT=$KMQ_INTEROP_BROKER_PORT
fi
NAMESRV=127.0.0.1:$NAMESRV_PORT
BROKER=127.0.0.1:$BROKER_PORT
echo "# work dir $WORK; name server $NAMESRV, broker $BROKER"

# --------------------------------------------------------------- daemons
wait_port() { # port pid seconds; 0 listening, 1 timeout, 2 process gone
	local port=$1 pid=$2 end=$((SECONDS + $3))
	while [ "$SECONDS" -lt "$end" ]; do
		kill -0 "$pid" 2>/dev/null || return 2
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}
# Remote: the remote side waits for the port (QEMU's forwarded ports
# accept connections on the host before anything listens behind them).
start_remote() { # name port arguments...
	local name=$1 port=$2 rc=0
	shift 2
	echo "# starting $name remotely: $*"
	REMOTE_STARTED="$REMOTE_STARTED $name"
	"$REMOTE" start "$name" "$port" "$@" >"$WORK/$name.start" 2>&1 || rc=$?
	pid=$(sed -n 's/^pid //p' "$WORK/$name.start" | head -n 1)
	[ "$rc" -eq 0 ] || diag <"$WORK/$name.start"
	return "$rc"
}
start_daemon() { # name port command...
	local name=$1 port=$2 rc=0 pid limit=20
	shift 2
	if [ -n "$REMOTE" ]; then
		limit=90
		start_remote "$name" "$port" "$@" || rc=$?
	else
		echo "# starting $name: $*"
		"$@" >>"$WORK/$name.log" 2>&1 &
		pid=$!
		case $name in
		namesrv) NAMESRV_PID=$pid ;;
		broker) BROKER_PID=$pid ;;
		esac
		wait_port "$port" "$pid" 20 || rc=$?
	fi
	case $rc in
	0) ok "kmqd $name listening on 127.0.0.1:$port (pid $pid)" ;;
	1) not_ok "kmqd $name listening on 127.0.0.1:$port within $limit s" ;;
	2) not_ok "kmqd $name listening on 127.0.0.1:$port (the process exited)" ;;
	*) not_ok "kmqd $name listening on 127.0.0.1:$port (no answer from $REMOTE)" ;;
	esac
	if [ "$rc" -ne 0 ]; then
		daemon_log "$name" 40
		bail "kmqd $name did not start"
	fi
}
namesrv_command
broker_command
start_daemon namesrv "$NAMESRV_PORT" "${NAMESRV_CMD[@]}"
start_daemon broker "$BROKER_PORT" "${BROKER_CMD[@]}"

admin() { # description, then admin.js arguments
	local what=$1 rc=0
	shift
	run_child "$WORK/admin.out" node "$HERE/admin.js" "$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$what"
		cat "$WORK/admin.out"
	else
		not_ok "$what"
		cat "$WORK/admin.out"
		tail_log "$WORK/admin.out.log"
	fi
	return "$rc"
}

admin "name server answers GET_ROUTEINFO_BY_TOPIC (105) for an unknown topic with 17 TOPIC_NOT_EXIST" \
	expect-no-route --namesrv="$NAMESRV" --topic="kmq_interop_no_such_topic_$$" || true

topics_ok=1
for topic in "$TOPIC_MAIN" "$TOPIC_RETRY" "$TOPIC_RESTART" "$TOPIC_SPLIT"; do
	if ! admin "UPDATE_AND_CREATE_TOPIC (17) $topic with $QUEUES queues on the broker" \
		create-topic --broker="$BROKER" --topic="$topic" --queues="$QUEUES" --timeout=15; then
		topics_ok=0
		break
	fi
	if ! admin "name server routes $topic: $QUEUES queues, perm RW, master address" \
		wait-route --namesrv="$NAMESRV" --topic="$topic" --queues="$QUEUES" --timeout=45; then
		topics_ok=0
		break
	fi
done
if [ "$topics_ok" -ne 1 ]; then
	daemon_log broker 40
	daemon_log namesrv 20
	bail "topics could not be created and routed; the ali-ons scenarios need them"
fi

# ------------------------------------------------------------- the crash
# What the broker must keep across a SIGKILL, one line each: the min and
# max offset of every queue of the four topics (kmqadmin topicStatus), and
# every group's committed offsets (kmqadmin consumerProgress).
offsets_snapshot() { # file
	local t g
	: >"$1.tmp"
	for t in "$TOPIC_MAIN" "$TOPIC_RETRY" "$TOPIC_RESTART" "$TOPIC_SPLIT"; do
		kmqadmin_json topicStatus -t "$t" >>"$1.tmp" || return 1
	done
	kmqadmin_json consumerProgress >"$WORK/groups.txt" || return 1
	while read -r g; do
		kmqadmin_json consumerProgress -g "$g" >>"$1.tmp" || return 1
	done <"$WORK/groups.txt"
	LC_ALL=C sort "$1.tmp" >"$1"
}
kmqadmin_json() { # subcommand and options: its JSON answer, as lines
	"$KMQADMIN" -n "$NAMESRV" --timeout 15000 --json "$@" \
		>"$WORK/kmqadmin.json" 2>>"$WORK/kmqadmin.err" || return 1
	# shellcheck disable=SC2016 # JavaScript template strings
	node -e '
		const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
		for (const q of (j.topic && j.queues) || [])
			console.log(`queue ${j.topic} ${q.brokerName} ${q.queueId}` +
				    ` min ${q.minOffset} max ${q.maxOffset}`);
		for (const q of (j.group && j.queues) || [])
			console.log(`group ${j.group} ${q.topic} ${q.brokerName}` +
				    ` ${q.queueId} broker ${q.brokerOffset}` +
				    ` committed ${q.consumerOffset}`);
		for (const g of j.groups || [])
			console.log(g.group);' <"$WORK/kmqadmin.json"
}
# Before scenario $1: SIGKILL the broker, start it again on its store, and
# check it kept everything.
crash_broker() {
	local before=$WORK/crash-before.txt after=$WORK/crash-after.txt rc=0 t
	echo "# crash: the broker is killed with SIGKILL before scenario $1"
	if ! offsets_snapshot "$before"; then
		not_ok "crash: queue and group offsets read before the kill (kmqadmin)"
		tail_log "$WORK/kmqadmin.err"
		return
	fi
	ok "crash: offsets of $(grep -c '^queue' "$before") queues and $(grep -c '^group' "$before") group queues read before the kill"
	# kmqd writes the committed offsets out every 5 s (as RocketMQ):
	# those of the last 5 s before a crash are not promised.
	sleep 7
	if [ -n "$REMOTE" ]; then
		"$REMOTE" kill broker >"$WORK/kill.out" 2>&1 || rc=$?
		diag <"$WORK/kill.out"
	else
		kill -KILL "$BROKER_PID" 2>/dev/null || rc=$?
		wait "$BROKER_PID" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ]; then
		not_ok "crash: broker killed with SIGKILL"
		return
	fi
	ok "crash: broker killed with SIGKILL"
	start_daemon broker "$BROKER_PORT" "${BROKER_CMD[@]}"
	for t in "$TOPIC_MAIN" "$TOPIC_RETRY" "$TOPIC_RESTART" "$TOPIC_SPLIT"; do
		admin "after the crash: name server routes $t again" \
			wait-route --namesrv="$NAMESRV" --topic="$t" \
			--queues="$QUEUES" --timeout=45 || true
	done
	if ! offsets_snapshot "$after"; then
		not_ok "after the crash: queue and group offsets read (kmqadmin)"
		tail_log "$WORK/kmqadmin.err"
		return
	fi
	if diff <(grep '^queue' "$before") <(grep '^queue' "$after") >"$WORK/crash.diff"; then
		ok "after the crash: every queue has the min and max offset it had (every stored message kept)"
	else
		not_ok "after the crash: every queue has the min and max offset it had (every stored message kept)"
		diag <"$WORK/crash.diff"
	fi
	if diff <(grep '^group' "$before") <(grep '^group' "$after") >"$WORK/crash.diff"; then
		ok "after the crash: every group has the offsets it committed before"
	else
		not_ok "after the crash: every group has the offsets it committed before"
		diag <"$WORK/crash.diff"
	fi
}

# ------------------------------------------------------------- scenarios
RUN_ID=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
scenario() { # name default-budget-seconds
	local name=$1 budget=$2 left rc=0 before
	case ",$ONLY," in *",$name,"*) ;; *) return 0 ;; esac
	[ "$name" != "$CRASH_BEFORE" ] || crash_broker "$name"
	left=$((SUITE_DEADLINE - SECONDS - 10))
	[ "$left" -lt "$budget" ] && budget=$left
	if [ "$budget" -lt 20 ]; then
		not_ok "scenario $name not run: the suite's time budget of ${SUITE_BUDGET} s is spent"
		return 0
	fi
	echo "# scenario $name (budget ${budget} s)"
	before=$FAILED
	run_child "$WORK/scenario-$name.tap" env \
		KMQ_INTEROP_NAMESRV="$NAMESRV" \
		KMQ_INTEROP_RUN_ID="$RUN_ID" \
		KMQ_INTEROP_BUDGET_MS=$((budget * 1000)) \
		KMQ_INTEROP_QUEUES="$QUEUES" \
		KMQ_INTEROP_TOPIC_MAIN="$TOPIC_MAIN" \
		KMQ_INTEROP_TOPIC_RETRY="$TOPIC_RETRY" \
		KMQ_INTEROP_TOPIC_RESTART="$TOPIC_RESTART" \
		KMQ_INTEROP_TOPIC_SPLIT="$TOPIC_SPLIT" \
		timeout --kill-after=5 "$((budget + 5))" node "$HERE/scenario_$name.js" || rc=$?
	relay "$WORK/scenario-$name.tap"
	if [ "$rc" -ne 0 ] && [ "$FAILED" -eq "$before" ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			not_ok "scenario $name finished within ${budget} s (killed by timeout)"
		else
			not_ok "scenario $name exited with status $rc"
		fi
	fi
	if [ "$FAILED" -ne "$before" ]; then
		tail_log "$WORK/scenario-$name.tap.log" 40
		daemon_log broker 20
	fi
}
scenario basic 110
scenario retry 80
scenario restart 75
scenario split 90

running() { # namesrv|broker
	local pid=$NAMESRV_PID
	if [ -n "$REMOTE" ]; then
		"$REMOTE" alive "$1" 2>&1 | diag
		return "${PIPESTATUS[0]}"
	fi
	[ "$1" = broker ] && pid=$BROKER_PID
	kill -0 "$pid" 2>/dev/null
}
for d in namesrv broker; do
	if running "$d"; then
		ok "kmqd $d still running at the end"
	else
		not_ok "kmqd $d still running at the end"
		daemon_log "$d" 40
	fi
done

echo "1..$T"
[ "$FAILED" -eq 0 ]
