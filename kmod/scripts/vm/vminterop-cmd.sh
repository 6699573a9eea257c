#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vminterop-cmd.sh - inside the interop VM (busybox sh): one command of the
# host's control connection. vminterop-agent.sh serves the control port
# with `nc -ll -p PORT -e /selftests/vminterop-cmd`, so each connection
# runs this once, its stdin and stdout being the socket: it reads one
# line, does it, prints what it has to say and ends with the line
# "KMQ-CTL rc=N" (vminterop-ctl.sh, on the host, exits with N).
#
# Commands (NAME is namesrv or broker; one kmqd of each at a time):
#   ping                    answer "pong <kernel release>"
#   start NAME PORT ARG...  start /selftests/kmqd ARG... plus what this
#                           VM needs (below), and wait until it listens on
#                           PORT: rc 0 listening ("pid N"), 1 timeout,
#                           2 it exited (the end of its log is printed)
#   alive NAME              rc 0 when it runs, 1 when not
#   stop NAME               SIGTERM, SIGKILL after 20 s; rc 0 when it exited
#                           by itself with status 0
#   kill NAME               SIGKILL (the crash), rc 0 once it is gone
#   log NAME [LINES]        the end of its log (default 200 lines)
#   finish                  tell the agent the host is done
# What the VM adds to ARG: --listenAddr=0.0.0.0 (QEMU's port forwarding
# reaches the guest on its virtio NIC), and for the broker
# --brokerIP1=127.0.0.1 (the host's forwarded ports carry the same numbers,
# so the address the broker registers works from the host) and
# --storePathRootDir on the ext4 disk. The backend is left to kmqd
# (storeBackend=auto: kernel, since /dev/kmq exists); the agent checks it.
#
# State, on the ext4 disk in /mnt/interop: NAME.log (every run of NAME,
# appended), NAME.pid, NAME.rc (its exit status, once it ended),
# events (one line per start, stop and kill, for the agent's checks).
D=/mnt/interop
KMQD=/selftests/kmqd

reply() {	# reply <rc>
	echo "KMQ-CTL rc=$1"
	exit "$1"
}
say() { echo "$*"; }
event() { echo "$*" >>"$D/events"; }

running() {	# running <name>: its pid is alive and it has not ended
	[ -s "$D/$1.pid" ] && [ ! -f "$D/$1.rc" ] &&
		kill -0 "$(cat "$D/$1.pid")" 2>/dev/null
}

listening() {	# listening <port>
	netstat -ltn 2>/dev/null |
		awk -v p="$1" '$1 ~ /^tcp/ && $4 ~ (":" p "$") { f = 1 }
			       END { exit !f }'
}

# wait_end <name> <seconds>: 0 once NAME.rc exists
wait_end() {
	i=0
	while [ ! -f "$D/$1.rc" ] && [ "$i" -lt $(($2 * 5)) ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -f "$D/$1.rc" ]
}

cmd_start() {	# cmd_start <name> <port> <arg>...
	name=$1
	port=$2
	shift 2
	case $port in
	'' | *[!0-9]*) say "start: bad port \"$port\""; reply 1 ;;
	esac
	for a in "$@"; do
		case $a in
		*[!A-Za-z0-9=._:/,-]*)
			say "start: refusing argument \"$a\""
			reply 1
			;;
		esac
	done
	if running "$name"; then
		say "start: $name already runs (pid $(cat "$D/$name.pid"))"
		reply 1
	fi
	set -- "$@" --listenAddr=0.0.0.0
	[ "$name" = broker ] &&
		set -- "$@" --brokerIP1=127.0.0.1 --storePathRootDir="$D/store"
	rm -f "$D/$name.pid" "$D/$name.rc"
	echo "=== vminterop: start $* (uptime $(cut -d' ' -f1 /proc/uptime))" \
		>>"$D/$name.log"
	event "start $name"
	# The subshell records the exit status; kmqd itself is the pid.
	(
		sh -c 'echo $$ >"$0"; exec "$@"' "$D/$name.pid" "$KMQD" "$@" \
			</dev/null >>"$D/$name.log" 2>&1
		echo $? >"$D/$name.rc"
	) </dev/null >/dev/null 2>&1 &
	# Under TCG a cold kmqd needs a few seconds (the broker allocates
	# its first segment): 90 s before giving up.
	i=0
	while [ "$i" -lt 450 ]; do
		if [ -f "$D/$name.rc" ]; then
			say "start: $name exited with status $(cat "$D/$name.rc"); the end of its log:"
			tail -n 30 "$D/$name.log"
			reply 2
		fi
		if [ -s "$D/$name.pid" ] && listening "$port"; then
			say "pid $(cat "$D/$name.pid")"
			reply 0
		fi
		sleep 0.2
		i=$((i + 1))
	done
	say "start: $name not listening on port $port after 90 s"
	reply 1
}

cmd_stop() {	# cmd_stop <name> <TERM|KILL>
	name=$1
	if ! running "$name"; then
		if [ -f "$D/$name.rc" ]; then
			say "$name had already exited, status $(cat "$D/$name.rc")"
		else
			say "$name was not started"
		fi
		reply 1
	fi
	pid=$(cat "$D/$name.pid")
	kill "-$2" "$pid"
	if [ "$2" = KILL ]; then
		event "kill $name"
		wait_end "$name" 10 || { say "$name survived SIGKILL"; reply 1; }
		reply 0
	fi
	if wait_end "$name" 20; then
		rc=$(cat "$D/$name.rc")
		event "stop $name $rc"
		say "$name exited on SIGTERM with status $rc"
		[ "$rc" = 0 ] && reply 0
		reply 1
	fi
	kill -KILL "$pid"
	wait_end "$name" 10
	event "stop $name hung"
	say "$name ignored SIGTERM for 20 s: killed"
	reply 1
}

read -r cmd name port rest || reply 1
case $cmd in
ping) say "pong $(uname -r)"; reply 0 ;;
finish) : >"$D/finish"; reply 0 ;;
start | alive | stop | kill | log) ;;
*) say "unknown command \"$cmd\""; reply 1 ;;
esac
case $name in
namesrv | broker) ;;
*) say "$cmd: unknown daemon \"$name\""; reply 1 ;;
esac
case $cmd in
start)
	# shellcheck disable=SC2086 # one word per argument (checked above)
	cmd_start "$name" "$port" $rest
	;;
alive)
	running "$name" && reply 0
	[ -f "$D/$name.rc" ] && say "$name exited with status $(cat "$D/$name.rc")"
	reply 1
	;;
stop) cmd_stop "$name" TERM ;;
kill) cmd_stop "$name" KILL ;;
log)
	case $port in
	'' | *[!0-9]*) port=200 ;;
	esac
	tail -n "$port" "$D/$name.log" 2>/dev/null
	reply 0
	;;
esac
