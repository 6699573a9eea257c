#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# t_kmqadmin.sh - kmqadmin against a real kmqd (TAP). Starts `kmqd all` on
# free loopback ports with a temporary store and runs every subcommand:
# its table, its --json document (parsed by python3), and its errors (bad
# flags exit 2; unknown topics, groups, clusters and unreachable name
# servers or brokers exit 1 with a message naming the request, the
# address and the broker's code and remark). make turns it into
# $(BUILD)/tests/t_kmqadmin with the binaries' paths filled in; KMQADMIN
# and KMQD override them.

# The shared TAP plumbing (lib_tap.sh) sits next to this script.
. "$(dirname "$0")/lib_tap.sh"

KMQADMIN=${KMQADMIN:-@KMQADMIN@}
KMQD=${KMQD:-@KMQD@}
hb_pid=

# ok_failed: after a "not ok", the last run's output.
ok_failed() {
	echo "# last: kmqadmin $last (exit $rc)"
	sed 's/^/# stdout: /' "$tmp/out" 2>/dev/null | head -20
	sed 's/^/# stderr: /' "$tmp/err" 2>/dev/null | head -20
}

# adm ARGS...: run kmqadmin; stdout in $tmp/out, stderr in $tmp/err.
adm() {
	last="$*"
	"$KMQADMIN" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# j EXPR: a Python expression over d, the JSON document of $tmp/out.
j() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(str(v).lower() if isinstance(v, bool) else v)' "$tmp/out" "$1" \
		2>/dev/null
}

# The last run exited @1 and its stderr holds every other argument.
err_is() {
	want=$1
	shift
	[ "$rc" -eq "$want" ] || return 1
	for s in "$@"; do
		grep -qF -- "$s" "$tmp/err" || return 1
	done
	return 0
}

stop_hb() {
	[ -n "$hb_pid" ] || return 0
	kill "$hb_pid" 2>/dev/null
	wait "$hb_pid" 2>/dev/null
	hb_pid=
}

# tap_at_exit: the heartbeat client goes too.
tap_at_exit() {
	stop_hb
}

tap_tmpdir kmqadmin-test
tap_need_python3 "for free ports and JSON"

kmqd_start registered
rc=$?
broker=127.0.0.1:$port
NS=127.0.0.1:$ns_port
dead=127.0.0.1:1
unset NAMESRV_ADDR
ok $rc "kmqd all serves on $broker and registered with $NS"
if [ $rc -ne 0 ]; then
	sed 's/^/# /' "$tmp/kmqd.log"
	echo "Bail out! kmqd did not start"
	exit 1
fi

# wait_route TOPIC [absent]: until topicRoute succeeds (or fails), 10 s.
wait_route() {
	i=0
	while [ $i -lt 100 ]; do
		adm topicRoute -n "$NS" -t "$1"
		if [ -z "$2" ] && [ $rc -eq 0 ]; then
			return 0
		fi
		if [ -n "$2" ] && [ $rc -eq 1 ]; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---- the command line --------------------------------------------------

adm -h
all=0
for c in updateTopic deleteTopic topicList topicRoute topicStatus \
	 clusterList brokerStatus consumerProgress queryMsgById \
	 queryMsgByKey queryMsgByOffset resetOffsetByTime sendMessage \
	 consumeMessage updateSubGroup getBrokerConfig updateBrokerConfig; do
	grep -q "^  $c " "$tmp/out" || all=1
	"$KMQADMIN" "$c" -h >"$tmp/help" 2>&1 || all=1
	grep -q "usage: kmqadmin $c" "$tmp/help" || all=1
done
[ $rc -eq 0 ] && [ $all -eq 0 ]
ok $? "-h lists the 17 subcommands; each answers -h with its usage"

adm topicStatus -n "$NS" -t AdmT -z
err_is 2 "unknown option '-z'" "kmqadmin topicStatus -h"
ok $? "a bad flag exits 2 and points at the help"
adm topicStatus -n "$NS"
err_is 2 "-t (--topic) is required"
ok $? "a missing required flag exits 2 and names it"
adm noSuchCommand
err_is 2 "unknown subcommand 'noSuchCommand'"
ok $? "an unknown subcommand exits 2"
adm topicList -n "nocolon"
err_is 2 "name server address 'nocolon'"
ok $? "a malformed -n exits 2"
adm --timeout 0 topicList -n "$NS"
err_is 2 "--timeout '0'"
ok $? "a bad --timeout exits 2"

# ---- clusterList -------------------------------------------------------

adm clusterList -n "$NS"
[ $rc -eq 0 ] && grep -q "^#Cluster Name" "$tmp/out" &&
	grep "DefaultCluster" "$tmp/out" | grep "broker-a" | grep -q "$broker"
ok $? "clusterList: a table row DefaultCluster broker-a $broker"
adm clusterList -n "$NS" --json
[ $rc -eq 0 ] && [ "$(j 'd["brokers"][0]["brokerName"]')" = broker-a ] &&
	[ "$(j 'd["brokers"][0]["brokerId"]')" = 0 ] &&
	[ "$(j 'd["brokers"][0]["addr"]')" = "$broker" ] &&
	[ "$(j '"brokerVersion" in d["brokers"][0]["runtime"]')" = true ]
ok $? "clusterList --json: broker-a, id 0, its address and runtime figures"
adm clusterList -n "$dead"
err_is 1 "GET_BROKER_CLUSTER_INFO (106) to name server $dead" \
	"connection refused"
ok $? "clusterList, name server unreachable: exit 1 naming it"
adm clusterList -n "$NS" -c NoSuchCluster
err_is 1 "cluster 'NoSuchCluster' is not known"
ok $? "clusterList -c of an unknown cluster: exit 1"

# ---- updateTopic -------------------------------------------------------

adm updateTopic -n "$NS" -c DefaultCluster -t AdmT -r 4 -w 4
[ $rc -eq 0 ] && grep "$broker" "$tmp/out" | grep AdmT | grep -q OK
ok $? "updateTopic -c DefaultCluster -t AdmT -r 4 -w 4"
wait_route AdmT
ok $? "... and the name server routes AdmT"
adm updateTopic -n "$NS" -b "$broker" -t AdmJ -r 2 -w 2 -p 6 --json
[ $rc -eq 0 ] && [ "$(j 'd["brokers"][0]["ok"]')" = true ] &&
	[ "$(j 'd["brokers"][0]["addr"]')" = "$broker" ] &&
	[ "$(j 'd["readQueueNums"]')" = 2 ]
ok $? "updateTopic -b ADDR --json: ok, the address, the queue numbers"
adm updateTopic -n "$NS" -b "$dead" -t AdmT
err_is 1 "UPDATE_AND_CREATE_TOPIC (17) to broker $dead"
ok $? "updateTopic to an unreachable broker: exit 1 naming it"
adm updateTopic -n "$NS" -b "$broker" -t 'bad topic'
err_is 2 "'bad topic'"
ok $? "updateTopic with a bad topic name: exit 2"
adm updateTopic -n "$NS" -b "$broker" -t AdmT -r 0
err_is 2 "-r (--readQueueNums) '0'"
ok $? "updateTopic -r 0: exit 2"
adm updateTopic -n "$NS" -t AdmT
err_is 2 "give -b BROKER_ADDR or -c CLUSTER"
ok $? "updateTopic without -b or -c: exit 2"
adm updateTopic -n "$NS" -c NoSuchCluster -t AdmT
err_is 1 "cluster 'NoSuchCluster' is not known"
ok $? "updateTopic -c of an unknown cluster: exit 1"

# ---- topicList, topicRoute ----------------------------------------------

adm topicList -n "$NS"
[ $rc -eq 0 ] && grep -qx "AdmT" "$tmp/out" && grep -qx "#Topic" "$tmp/out"
ok $? "topicList lists AdmT"
adm topicList -n "$NS" --json
[ $rc -eq 0 ] && [ "$(j '"AdmT" in d["topicList"]')" = true ]
ok $? "topicList --json: topicList holds AdmT"
adm topicList -n "$NS" -c --json
[ $rc -eq 0 ] &&
	[ "$(j '[t["clusters"] for t in d["topics"] if t["topic"] == "AdmT"][0]')" = "['DefaultCluster']" ]
ok $? "topicList -c --json: AdmT is in DefaultCluster"
adm topicList -n "$dead;$NS"
[ $rc -eq 0 ] && grep -qx "AdmT" "$tmp/out"
ok $? "topicList with a dead first name server uses the second"
adm topicList -n "$dead"
err_is 1 "GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206) to name server $dead"
ok $? "topicList, name server unreachable: exit 1 naming it"

adm topicRoute -n "$NS" -t AdmT
[ $rc -eq 0 ] && grep "broker-a" "$tmp/out" | grep "0:$broker" |
	grep -Eq ' 4 +4 +6$'
ok $? "topicRoute: broker-a at $broker, 4 read, 4 write, perm 6"
adm topicRoute -n "$NS" -t AdmT --json
[ $rc -eq 0 ] && [ "$(j 'd["queueDatas"][0]["readQueueNums"]')" = 4 ] &&
	[ "$(j 'd["brokerDatas"][0]["brokerAddrs"]["0"]')" = "$broker" ]
ok $? "topicRoute --json: queueDatas and brokerDatas"
adm topicRoute -n "$NS" -t NoSuchTopic
err_is 1 "GET_ROUTEINFO_BY_TOPIC (105) to name server $NS" \
	"TOPIC_NOT_EXIST (17)" "NoSuchTopic"
ok $? "topicRoute of an unknown topic: exit 1, TOPIC_NOT_EXIST and the topic"

# ---- sendMessage -------------------------------------------------------

adm sendMessage -n "$NS" -t AdmT -p "hello kmq" -k "k1 k2" -c TagA \
	-b broker-a -i 0
[ $rc -eq 0 ] && grep -q "^#Broker Name" "$tmp/out" &&
	grep -Eq "^broker-a +0 +SEND_OK " "$tmp/out"
ok $? "sendMessage -b broker-a -i 0: SEND_OK from queue 0"
adm sendMessage -n "$NS" -t AdmT -p "to queue 2" -b broker-a -i 2 --json
[ $rc -eq 0 ] && [ "$(j 'd["queueId"]')" = 2 ] &&
	[ "$(j 'd["sendStatus"]')" = SEND_OK ] &&
	[ "$(j 'd["queueOffset"]')" = 0 ]
ok $? "sendMessage -b broker-a -i 2 --json: queue 2, offset 0, SEND_OK"
offset_id=$(j 'd["offsetMsgId"]')
all=0
for i in 0 1 2 3 4; do
	"$KMQADMIN" sendMessage -n "$NS" -t AdmT -p "q1-$i" -k "key$i" \
		-b broker-a -i 1 >/dev/null 2>&1 || all=1
done
ok $all "sendMessage x5 to queue 1"
adm sendMessage -n "$NS" -t AdmT -p x -i 1
err_is 2 "-i (--qid) needs -b"
ok $? "sendMessage -i without -b: exit 2"
adm sendMessage -n "$NS" -t AdmT -p x -b broker-a -i 9
err_is 1 "no writable queue 9 on broker broker-a"
ok $? "sendMessage to a queue the topic does not have: exit 1"
adm sendMessage -n "$dead" -t AdmT -p x
err_is 1 "$dead" "connection refused"
ok $? "sendMessage, name server unreachable: exit 1 naming it"

# ---- topicStatus -------------------------------------------------------

adm topicStatus -n "$NS" -t AdmT
[ $rc -eq 0 ] && [ "$(grep -c '^broker-a' "$tmp/out")" = 4 ] &&
	grep -Eq '^broker-a +1 +0 +5 ' "$tmp/out"
ok $? "topicStatus: 4 queues, queue 1 holds 0..5"
adm topicStatus -n "$NS" -t AdmT --json
[ $rc -eq 0 ] && [ "$(j 'd["queues"][2]["maxOffset"]')" = 1 ] &&
	[ "$(j 'd["queues"][1]["maxOffset"]')" = 5 ] &&
	[ "$(j 'd["queues"][1]["lastUpdateTimestamp"] > 0')" = true ]
ok $? "topicStatus --json: max offsets and last update times"
adm topicStatus -n "$NS" -t NoSuchTopic
err_is 1 "TOPIC_NOT_EXIST (17)" "NoSuchTopic"
ok $? "topicStatus of an unknown topic: exit 1"

# ---- brokerStatus ------------------------------------------------------

adm brokerStatus -n "$NS" -b "$broker"
[ $rc -eq 0 ] && grep -Eq '^brokerVersion +401' "$tmp/out" &&
	grep -Eq '^putMessageTimesTotal +[0-9]+' "$tmp/out"
ok $? "brokerStatus -b: key/value table with brokerVersion"
adm brokerStatus -n "$NS" -c DefaultCluster --json
[ $rc -eq 0 ] &&
	[ "$(j 'int(d["brokers"]["'"$broker"'"]["putMessageTimesTotal"]) >= 7')" = true ]
ok $? "brokerStatus -c --json: the broker's table, 7 puts or more"
adm brokerStatus -n "$NS" -b "$dead"
err_is 1 "GET_BROKER_RUNTIME_INFO (28) to broker $dead" "connection refused"
ok $? "brokerStatus of an unreachable broker: exit 1 naming it"
adm brokerStatus -n "$NS" -b nocolon
err_is 2 "'nocolon': a broker address"
ok $? "brokerStatus -b without a port: exit 2"

# ---- getBrokerConfig, updateBrokerConfig ------------------------------

adm getBrokerConfig -n "$NS" -b "$broker"
[ $rc -eq 0 ] && grep -Eq '^#Key +#Value$' "$tmp/out" &&
	grep -Eq '^brokerName +broker-a$' "$tmp/out" &&
	grep -Eq "^listenPort +$port\$" "$tmp/out" &&
	grep -Eq '^mapedFileSizeCommitLog +67108864$' "$tmp/out" &&
	grep -Eq '^defaultTopicQueueNums +8$' "$tmp/out"
ok $? "getBrokerConfig -b: key/value table of the broker's configuration"
adm getBrokerConfig -n "$NS" -c DefaultCluster --json
[ $rc -eq 0 ] &&
	[ "$(j 'd["brokers"]["'"$broker"'"]["config"]["storePathRootDir"]')" = "$tmp/store" ] &&
	[ "$(j 'd["brokers"]["'"$broker"'"]["version"]["counter"]')" = 0 ]
ok $? "getBrokerConfig -c --json: config and version of each master"
adm updateBrokerConfig -n "$NS" -b "$broker" -k defaultTopicQueueNums -v 3
[ $rc -eq 0 ] && grep -q "^update broker config success, $broker$" "$tmp/out"
ok $? "updateBrokerConfig -b -k defaultTopicQueueNums -v 3"
adm getBrokerConfig -n "$NS" -b "$broker" --json
[ $rc -eq 0 ] &&
	[ "$(j 'd["brokers"]["'"$broker"'"]["config"]["defaultTopicQueueNums"]')" = 3 ] &&
	[ "$(j 'd["brokers"]["'"$broker"'"]["version"]["counter"]')" = 1 ]
ok $? "... getBrokerConfig shows 3 and the next version"
adm updateBrokerConfig -n "$NS" -c DefaultCluster -k brokerName -v other
err_is 1 "UPDATE_BROKER_CONFIG (25) to broker broker-a ($broker)" \
	"NO_PERMISSION (16)" "brokerName cannot change while kmqd runs"
ok $? "updateBrokerConfig of a read-only key: exit 1, code and remark"
adm updateBrokerConfig -n "$NS" -b "$broker" -k noSuchKey -v 1 --json
[ $rc -eq 1 ] && [ "$(j 'd["brokers"][0]["ok"]')" = false ] &&
	[ "$(j '"unknown key" in d["brokers"][0]["error"]')" = true ]
ok $? "updateBrokerConfig of an unknown key --json: ok false, the error"
adm updateBrokerConfig -n "$NS" -b "$broker" -k 'a=b' -v 1
err_is 2 "-k 'a=b': a configuration key"
ok $? "updateBrokerConfig -k with a separator: exit 2"
adm updateBrokerConfig -n "$NS" -b "$broker" -k defaultTopicQueueNums
err_is 2 "-v (--value) is required"
ok $? "updateBrokerConfig without -v: exit 2"
adm getBrokerConfig -n "$NS" -b "$dead"
err_is 1 "GET_BROKER_CONFIG (26) to broker $dead" "connection refused"
ok $? "getBrokerConfig of an unreachable broker: exit 1 naming it"
adm updateBrokerConfig -n "$NS" -b "$broker" -k defaultTopicQueueNums -v 8
[ $rc -eq 0 ]
ok $? "updateBrokerConfig puts defaultTopicQueueNums back to 8"

# ---- queryMsgById, queryMsgByOffset, queryMsgByKey -------------------

adm queryMsgById -n "$NS" -i "$offset_id"
[ $rc -eq 0 ] && grep -q "^Message Body: *to queue 2$" "$tmp/out" &&
	grep -q "^Broker Name: *broker-a$" "$tmp/out"
ok $? "queryMsgById: the body and the broker of the message"
adm queryMsgById -n "$NS" -i "$offset_id" --json
[ $rc -eq 0 ] && [ "$(j 'd["messages"][0]["body"]')" = "to queue 2" ] &&
	[ "$(j 'd["messages"][0]["queueId"]')" = 2 ] &&
	[ "$(j 'd["messages"][0]["offsetMsgId"]')" = "$offset_id" ]
ok $? "queryMsgById --json: body, queue and id"
adm queryMsgById -n "$NS" -i 0123ABCD
err_is 1 "'0123ABCD': not an offset message id"
ok $? "queryMsgById of a malformed id: exit 1"
far=$(echo "$offset_id" | cut -c1-16)00000000FFFFFFF0
adm queryMsgById -n "$NS" -i "$far"
err_is 1 "VIEW_MESSAGE_BY_ID" "$broker" "SYSTEM_ERROR (1)"
ok $? "queryMsgById of an offset the broker does not hold: exit 1, code, remark"

adm queryMsgByOffset -n "$NS" -t AdmT -b broker-a -i 1 -o 3
[ $rc -eq 0 ] && grep -q "^Message Body: *q1-3$" "$tmp/out" &&
	grep -q "^Keys: *key3$" "$tmp/out"
ok $? "queryMsgByOffset: queue 1 offset 3 is q1-3 with key3"
adm queryMsgByOffset -n "$NS" -t AdmT -b broker-a -i 1 -o 4 --json
[ $rc -eq 0 ] && [ "$(j 'd["body"]')" = q1-4 ] &&
	[ "$(j 'd["queueOffset"]')" = 4 ]
ok $? "queryMsgByOffset --json: body and offset"
adm queryMsgByOffset -n "$NS" -t AdmT -b broker-a -i 1 -o 99
err_is 1 "no message at offset 99 of queue AdmT/broker-a/1"
ok $? "queryMsgByOffset past the end: exit 1"
adm queryMsgByOffset -n "$NS" -t AdmT -i 1 -o 0
err_is 2 "-b (--brokerName) is required"
ok $? "queryMsgByOffset without -b: exit 2"

adm queryMsgByKey -n "$NS" -t AdmT -k key3
err_is 1 "QUERY_MESSAGE (12) to broker broker-a ($broker)" \
	"REQUEST_CODE_NOT_SUPPORTED (3)" "not supported by this broker"
ok $? "queryMsgByKey: exit 1, kmqd says query by key is not supported"
adm queryMsgByKey -n "$NS" -t AdmT -k key3 --json
[ $rc -eq 1 ] && [ ! -s "$tmp/out" ] &&
	grep -q "not supported by this broker" "$tmp/err"
ok $? "queryMsgByKey --json: no document, the error on stderr"
adm queryMsgByKey -n "$NS" -t NoSuchTopic -k k
err_is 1 "TOPIC_NOT_EXIST (17)"
ok $? "queryMsgByKey of an unknown topic: exit 1"

# ---- consumeMessage ----------------------------------------------------

adm consumeMessage -n "$NS" -t AdmT
[ $rc -eq 0 ] && [ "$(grep -c '^broker-a' "$tmp/out")" = 7 ] &&
	grep -q "hello kmq" "$tmp/out" && [ ! -s "$tmp/err" ]
ok $? "consumeMessage: the 7 messages, no progress lines off a tty"
adm consumeMessage -n "$NS" -t AdmT -b broker-a -i 1 -o 2 --json
[ $rc -eq 0 ] && [ "$(j 'd["count"]')" = 3 ] &&
	[ "$(j '[m["body"] for m in d["messages"]]')" = "['q1-2', 'q1-3', 'q1-4']" ]
ok $? "consumeMessage -b -i 1 -o 2 --json: q1-2..q1-4"
adm consumeMessage -n "$NS" -t AdmT -c 2 --json
[ $rc -eq 0 ] && [ "$(j 'd["count"]')" = 2 ]
ok $? "consumeMessage -c 2 stops at 2"
adm consumeMessage -n "$NS" -t AdmT -s "$(($(date +%s) + 3600))000" --json
[ $rc -eq 0 ] && [ "$(j 'd["count"]')" = 0 ]
ok $? "consumeMessage -s in the future: nothing"
adm consumeMessage -n "$NS" -t NoSuchTopic
err_is 1 "queues of topic NoSuchTopic" "TOPIC_NOT_EXIST (17)"
ok $? "consumeMessage of an unknown topic: exit 1"
adm consumeMessage -n "$NS" -t AdmT -o 3
err_is 2 "-o (--offset) needs -i"
ok $? "consumeMessage -o without -i: exit 2"

# A longer run: 40 more messages, read with --progress.
all=0
for i in $(seq 1 40); do
	"$KMQADMIN" sendMessage -n "$NS" -t AdmT -p "bulk-$i" >/dev/null \
		2>&1 || all=1
done
adm consumeMessage -n "$NS" -t AdmT -c 1000 --progress --json
[ $all -eq 0 ] && [ $rc -eq 0 ] && [ "$(j 'd["count"]')" = 47 ] &&
	grep -q "^kmqadmin consumeMessage: progress: 47 messages from 4 queues$" \
		"$tmp/err"
ok $? "consumeMessage --progress: 47 messages and a progress line on stderr"

# ---- updateSubGroup ----------------------------------------------------

adm updateSubGroup -n "$NS" -b "$broker" -g SgT -r 3 -s false
[ $rc -eq 0 ] && grep -q "create subscription group to $broker success" \
	"$tmp/out" && grep -Eq '^retryMaxTimes +3$' "$tmp/out" &&
	grep -Eq '^consumeEnable +false$' "$tmp/out"
ok $? "updateSubGroup -b -r 3 -s false: stored and shown"
adm updateSubGroup -n "$NS" -c DefaultCluster -g PrG -q 2 --json
[ $rc -eq 0 ] && [ "$(j 'd["config"]["retryQueueNums"]')" = 2 ] &&
	[ "$(j 'd["config"]["consumeEnable"]')" = true ] &&
	[ "$(j 'd["brokers"][0]["ok"]')" = true ]
ok $? "updateSubGroup -c --json: the broker's stored config"
adm updateSubGroup -n "$NS" -b "$broker" -g SgT -s maybe
err_is 2 "-s (--consumeEnable) 'maybe': true or false"
ok $? "updateSubGroup -s maybe: exit 2"
adm updateSubGroup -n "$NS" -g SgT
err_is 2 "give -b BROKER_ADDR or -c CLUSTER"
ok $? "updateSubGroup without -b or -c: exit 2"
adm updateSubGroup -n "$NS" -b "$dead" -g SgT
err_is 1 "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) to broker $dead"
ok $? "updateSubGroup to an unreachable broker: exit 1 naming it"

# ---- resetOffsetByTime, consumerProgress -------------------------------

adm resetOffsetByTime -n "$NS" -g PrG -t AdmT -s now
[ $rc -eq 0 ] && grep -q "group\[PrG\], topic\[AdmT\], force\[true\]" \
	"$tmp/out" &&
	[ "$(awk '/^broker-a/ { s += $3 } END { print s }' "$tmp/out")" = 47 ]
ok $? "resetOffsetByTime -s now: every queue to its end, 47 in all"
adm consumerProgress -n "$NS" -g PrG --json
[ $rc -eq 0 ] && [ "$(j 'd["diffTotal"]')" = 0 ] &&
	[ "$(j 'len(d["queues"])')" = 4 ]
ok $? "consumerProgress -g --json: 4 queues, no lag after the reset"
adm resetOffsetByTime -n "$NS" -g PrG -t AdmT -s 0 --json --progress
[ $rc -eq 0 ] && [ "$(j 'sum(q["offset"] for q in d["offsetTable"])')" = 0 ] &&
	[ "$(j 'd["force"]')" = true ] &&
	grep -q "^kmqadmin resetOffsetByTime: progress: 1 brokers, 4 queues reset$" \
		"$tmp/err"
ok $? "resetOffsetByTime -s 0 --json --progress: every offset 0, a progress line"
adm consumerProgress -n "$NS" -g PrG -t AdmT
[ $rc -eq 0 ] && grep -Eq '^AdmT +broker-a +1 +([0-9]+) +0 +\1 ' "$tmp/out" &&
	grep -q "^Consume Diff Total: 47$" "$tmp/out"
ok $? "consumerProgress -g -t: queue 1 lags by its max offset, 47 in all"
adm resetOffsetByTime -n "$NS" -g PrG -t AdmT -s 2000-01-01#00:00:00:000 \
	-f false --json
[ $rc -eq 0 ] && [ "$(j 'd["timestamp"] > 0')" = true ] &&
	[ "$(j 'd["force"]')" = false ]
ok $? "resetOffsetByTime takes yyyy-MM-dd#HH:mm:ss:SSS and -f false"
adm resetOffsetByTime -n "$NS" -g NoSuchGroup -t AdmT -s now
err_is 1 "INVOKE_BROKER_TO_RESET_OFFSET (222) to broker broker-a ($broker)" \
	"SUBSCRIPTION_GROUP_NOT_EXIST (26)" "NoSuchGroup"
ok $? "resetOffsetByTime of an unknown group: exit 1 with code and remark"
adm resetOffsetByTime -n "$NS" -g PrG -t NoSuchTopic -s now
err_is 1 "TOPIC_NOT_EXIST (17)"
ok $? "resetOffsetByTime of an unknown topic: exit 1"
adm resetOffsetByTime -n "$NS" -g PrG -t AdmT -s yesterday
err_is 2 "-s (--timestamp) 'yesterday'"
ok $? "resetOffsetByTime -s yesterday: exit 2"

# A consumer of PrG online (its heartbeat over a connection held open).
python3 - "$port" >"$tmp/hb.out" 2>&1 <<'PY' &
import json, socket, struct, sys, time
body = json.dumps({"clientID": "127.0.0.1@kmqadmin-test",
	"consumerDataSet": [{"groupName": "PrG",
		"consumeType": "CONSUME_PASSIVELY",
		"messageModel": "CLUSTERING",
		"consumeFromWhere": "CONSUME_FROM_FIRST_OFFSET",
		"subscriptionDataSet": [{"topic": "AdmT", "subString": "*",
			"tagsSet": [], "codeSet": [], "subVersion": 1,
			"expressionType": "TAG"}], "unitMode": False}],
	"producerDataSet": []}).encode()
hdr = json.dumps({"code": 34, "language": "JAVA", "version": 401,
		  "opaque": 1, "flag": 0, "extFields": {}}).encode()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(struct.pack(">II", 4 + len(hdr) + len(body), len(hdr)) + hdr +
	  body)
head = b""
while len(head) < 8:
	head += s.recv(8 - len(head))
print("heartbeat sent", flush=True)
time.sleep(60)
PY
hb_pid=$!
i=0
while ! grep -q "heartbeat sent" "$tmp/hb.out" && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
adm consumerProgress -n "$NS"
[ $rc -eq 0 ] &&
	grep -Eq '^PrG +1 +401 +CONSUME_PASSIVELY +CLUSTERING +[0-9.]+ +47$' \
		"$tmp/out" && grep -Eq '^SgT +0 ' "$tmp/out"
ok $? "consumerProgress: PrG has 1 consumer online and lags 47; SgT listed"
adm consumerProgress -n "$NS" --json
[ $rc -eq 0 ] &&
	[ "$(j '[g["count"] for g in d["groups"] if g["group"] == "PrG"][0]')" = 1 ] &&
	[ "$(j '[g["messageModel"] for g in d["groups"] if g["group"] == "PrG"][0]')" = CLUSTERING ]
ok $? "consumerProgress --json: PrG count 1, CLUSTERING"
stop_hb
adm consumerProgress -n "$NS" -g NoSuchGroup
err_is 1 "consumer group 'NoSuchGroup' is not known to any broker" \
	"SUBSCRIPTION_GROUP_NOT_EXIST (26)"
ok $? "consumerProgress of an unknown group: exit 1"
adm consumerProgress -n "$NS" -t AdmT
err_is 2 "-t needs -g"
ok $? "consumerProgress -t without -g: exit 2"
adm consumerProgress -n "$dead" -g PrG
err_is 1 "name server $dead"
ok $? "consumerProgress, name server unreachable: exit 1 naming it"

# ---- deleteTopic -------------------------------------------------------

adm updateTopic -n "$NS" -b "$broker" -t DelT -r 2 -w 2
wait_route DelT
ok $? "DelT created and routed"
adm deleteTopic -n "$NS" -t DelT -c DefaultCluster
[ $rc -eq 0 ] && grep -Eq "^broker broker-a +$broker +deleted$" "$tmp/out" &&
	grep -Eq "^name server +$NS +deleted$" "$tmp/out"
ok $? "deleteTopic -c: deleted on the broker and the name server"
wait_route DelT absent
grep -q "TOPIC_NOT_EXIST" "$tmp/err"
ok $? "... and the route of DelT is gone"
adm updateTopic -n "$NS" -b "$broker" -t DelJ -r 1 -w 1
wait_route DelJ
adm deleteTopic -n "$NS" -t DelJ --json
[ $rc -eq 0 ] && [ "$(j 'd["brokers"][0]["ok"]')" = true ] &&
	[ "$(j 'd["nameServers"][0]["addr"]')" = "$NS" ]
ok $? "deleteTopic (brokers of the route) --json"
adm deleteTopic -n "$NS" -t NoSuchTopic
err_is 1 "TOPIC_NOT_EXIST (17)" "NoSuchTopic"
ok $? "deleteTopic of an unknown topic without -c: exit 1"
adm deleteTopic -n "$NS" -t AdmT -c NoSuchCluster
err_is 1 "cluster 'NoSuchCluster' is not known"
ok $? "deleteTopic -c of an unknown cluster: exit 1"

# ---- NAMESRV_ADDR ------------------------------------------------------

NAMESRV_ADDR=$NS "$KMQADMIN" topicList >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && grep -qx AdmT "$tmp/out"
ok $? "NAMESRV_ADDR is used without -n"
NAMESRV_ADDR=$dead "$KMQADMIN" topicList >"$tmp/out" 2>"$tmp/err"
rc=$?
err_is 1 "name server $dead"
ok $? "... and an unreachable NAMESRV_ADDR is named in the error"

kmqd_stop
ok $? "kmqd exits 0 on SIGTERM"

tap_done
