#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# kmqd-run.sh - inside the kmqd test VM (busybox sh): run one of kmqd's
# TAP suites against kmq.ko. vmtest-kmqd.sh copies it to
# /selftests/kmqd-run; each suite's entry in /selftests is a two-line
# script calling it, so init.sh's "tests" mode runs it like a selftest.
#
#  - /tmp, where the suites make their stores, becomes a directory of the
#    ext4 virtio disk (init.sh mounts it on /mnt; /tmp was a tmpfs):
#    kmq.ko allocates whole segments with fallocate, and the disk is the
#    file system the module is meant for.
#  - The suite starts /selftests/kmqd (KMQD) with storeBackend=auto, which
#    picks the kernel backend because /dev/kmq exists. KD_KEEP keeps each
#    kmqd's directory, so that its log can be read afterwards.
#  - The suite's TAP goes out as it comes, but its plan (the last line,
#    kmq_tap.h) is held back: two more tests are appended, "the suite ran
#    to its plan" (it printed one, and exited 0 unless a test failed: a
#    suite that crashed or was killed fails) and "every kmqd of the suite
#    logged store backend: kernel" (a suite that ran on the userspace
#    store by mistake fails), then the plan.
#  - kmqd's log lines at warn or error level are shown as diagnostics
#    (and the end of every kmqd log when a test failed), so are core
#    dumps; stores a killed kmqd left attached are detached
#    (kmqd_vm_detach); the suite's directories are removed.
#  - A suite still running after KMQD_RUN_TIMEOUT seconds is killed.
#
# Usage: kmqd-run <suite binary in /selftests> [args...]
SUITE=$1
shift
ST=/selftests
export KMQD=$ST/kmqd
export KD_KEEP=1
# KMQD_VM_BACKEND=userspace (from vmtest-kmqd.sh, for comparison): every
# kmqd gets --storeBackend=userspace, and that is what is checked.
BACKEND=${KMQD_VM_BACKEND:-kernel}
WHY='(/dev/kmq exists)'

if ! awk '$2 == "/tmp" && $3 == "ext4" { f = 1 } END { exit !f }' \
	/proc/mounts; then
	mkdir -p /mnt/tmp && chmod 1777 /mnt/tmp &&
		mount --bind /mnt/tmp /tmp ||
		echo "# kmqd-run: cannot put /tmp on the ext4 disk"
fi
cd /tmp || exit 1
rm -rf /tmp/kmqd-*
# kmqd and the suites talk over loopback.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
# A kmqd that crashes leaves a core on the disk (vmtest-kmqd.sh keeps the
# disk image with KMQD_VM_KEEP_DISK=1, for gdb on the host).
mkdir -p /tmp/cores
if [ -w /proc/sys/kernel/core_pattern ]; then	# the debug kernel has none
	echo '/tmp/cores/core.%e.%p' >/proc/sys/kernel/core_pattern
	# shellcheck disable=SC3045 # busybox sh has ulimit -c
	ulimit -c unlimited
fi
touch /tmp/cores/.mark
if [ "$BACKEND" != kernel ]; then
	printf '#!/bin/sh\nexec %s "$@" --storeBackend=%s\n' "$KMQD" \
		"$BACKEND" >/tmp/kmqd-backend
	chmod 755 /tmp/kmqd-backend
	export KMQD=/tmp/kmqd-backend
	WHY="(storeBackend=$BACKEND)"
fi

t0=$(awk '{ print $1 }' /proc/uptime)
# The suite's output streams; its plan line is kept for after.
# A suite that hangs is killed here, before init.sh's own limit ends
# this script and leaves the suite running behind the next one.
{
	timeout -s KILL "${KMQD_RUN_TIMEOUT:-570}" "$ST/$SUITE" "$@"
	echo $? >/tmp/.kmqd-run-rc
} 2>&1 | awk -v planf=/tmp/.kmqd-run-plan '
	BEGIN { plan = -1 }
	/^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; next }
	/^(not )?ok [0-9]+/ { results++ }
	/^not ok / { failed++ }
	{ print; fflush() }
	END { print plan, results + 0, failed + 0 > planf }'
read -r plan results failed </tmp/.kmqd-run-plan
read -r rc </tmp/.kmqd-run-rc
rm -f /tmp/.kmqd-run-plan /tmp/.kmqd-run-rc
[ "$rc" != 137 ] ||
	echo "# kmqd-run: $SUITE killed after ${KMQD_RUN_TIMEOUT:-570} s"
t1=$(awk '{ print $1 }' /proc/uptime)
echo "# kmqd-run: $SUITE ran $(awk "BEGIN { print $t1 - $t0 }") s"

logs=$(ls /tmp/kmqd-*/kmqd.log 2>/dev/null)
starts=0
chosen=0
if [ -n "$logs" ]; then
	# shellcheck disable=SC2086 # one word per log
	starts=$(cat $logs | grep -c 'store backend: ')
	# shellcheck disable=SC2086
	chosen=$(cat $logs | grep -cF "store backend: $BACKEND $WHY")
	# shellcheck disable=SC2086
	binds=$(cat $logs | grep -c 'bound to it')
	echo "# kmqd-run: $starts kmqd starts, $chosen on the $BACKEND backend, $binds bound to a store kmq.ko kept"
	# shellcheck disable=SC2086
	grep -H -E ' (WARN|ERROR) |kmq.ko ' $logs |
		grep -v -E 'kmq.ko (attached|still had)' | head -n 40 |
		sed 's/^/# kmqd log: /'
	if [ "${failed:-0}" -gt 0 ]; then
		for l in $logs; do
			echo "# kmqd-run: the end of $l:"
			tail -n 12 "$l" | sed 's/^/#   /'
		done
	fi
fi
find /tmp/cores -name 'core.*' -newer /tmp/cores/.mark |
	sed 's|^|# kmqd-run: core dumped: |'
# A suite that died (no plan: a crash, or killed on its timeout) or
# exited non-zero with every test passed fails here, whatever it printed.
n=$plan
[ "$plan" -ge 0 ] || n=$results
n=$((n + 1))
if [ "$plan" -ge 0 ] && { [ "$rc" = 0 ] || [ "$failed" -gt 0 ]; }; then
	echo "ok $n - $SUITE ran to its plan (exit status $rc)"
else
	[ "$plan" -ge 0 ] || plan=none
	echo "not ok $n - $SUITE ran to its plan (exit status $rc, $results results, plan $plan)"
	failed=$((failed + 1))
fi
n=$((n + 1))
if [ "$starts" -gt 0 ] && [ "$starts" -eq "$chosen" ]; then
	echo "ok $n - every kmqd of $SUITE logged \"store backend: $BACKEND\" ($chosen starts)"
else
	echo "not ok $n - every kmqd of $SUITE logged \"store backend: $BACKEND\" ($chosen of $starts starts)"
	failed=$((failed + 1))
fi
echo "1..$n"
# Stores of kmqds killed and not started again stay attached (by design):
# detached here, named, so the next suite and rmmod start clean.
"$ST/kmqd_vm_detach"
rm -rf /tmp/kmqd-*
# init.sh's KMQ-END shows it: 1 when any test above failed.
[ "$failed" -eq 0 ]
