#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# init.sh - PID 1 of the kmq test VM (busybox sh); mkinitramfs.sh copies
# it to /init.
#
# Mounts proc, sysfs, devtmpfs and a tmpfs on /tmp, loads the modules of
# /etc/modules.load, mounts the virtio disk (ext4) on /mnt, loads kmq.ko,
# then, by KMQ_MODE in /etc/kmq-vm.conf:
#   tests         runs each selftest of KMQ_SUITES ("name" as root,
#                 "name@user" as that user, through su)
#   reset-write   runs the SYNC_FLUSH appender until the host kills the
#                 VM (the hard reset)
#   reset-verify  re-attaches the store on the same disk and dumps it
# Everything meant for the host goes to the results port, /dev/ttyS1 (the
# second serial port; the kernel console is ttyS0), as lines:
#   KMQ-BOOTED up=S, KMQ-MOUNT rc=N, KMQ-INSMOD rc=N,
#   KMQ-BEGIN name, <the suite's TAP>, KMQ-END name rc=N secs=S,
#   KMQ-KMEMLEAK-BEGIN, <kmemleak report>, KMQ-KMEMLEAK-END (debug kernels),
#   KMQ-RMMOD rc=N, KMQ-DMESG-BEGIN, <dmesg>, KMQ-DMESG-END, KMQ-DONE up=S
# and the VM reboots, which ends QEMU (-no-reboot).

export PATH=/bin:/sbin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
chmod 1777 /tmp

# shellcheck disable=SC1091 # written by vmtest.sh into the initramfs
. /etc/kmq-vm.conf
: "${KMQ_MODE:=tests}"
export KMQ_MODE
: "${KMQ_SUITE_TIMEOUT:=300}"
export KMQ_KO=/lib/modules/kmq.ko
export KMQ_MNT=/mnt

if [ -c /dev/ttyS1 ]; then
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	exec 3>/dev/ttyS1
else
	echo "kmq-vm: no results port /dev/ttyS1, using the console" >/dev/console
	exec 3>/dev/console
fi

uptime_s() {
	read -r up _ </proc/uptime
	echo "$up"
}
res() { echo "$*" >&3; }
con() { echo "kmq-vm: $*" >/dev/console; }

finish() {
	sync
	umount /mnt 2>/dev/null
	res "KMQ-DMESG-BEGIN"
	dmesg >&3
	res "KMQ-DMESG-END"
	res "KMQ-DONE up=$(uptime_s)"
	con "done"
	sync
	# QEMU runs with -no-reboot: a reset ends it, with or without ACPI
	# (the debug kernel has none, so poweroff would not).
	reboot -f
	sleep 10
	echo b >/proc/sysrq-trigger
}

# With kmemleak: objects kmq.ko allocated and lost, while its symbols can
# still be resolved (before rmmod). Objects must be 5 s old to count.
kmemleak_report() {
	[ -w $LEAKS ] || return
	sleep 6
	echo scan >$LEAKS
	echo scan >$LEAKS
	res "KMQ-KMEMLEAK-BEGIN"
	cat $LEAKS >&3
	res "KMQ-KMEMLEAK-END"
	echo clear >$LEAKS
}

res "KMQ-BOOTED up=$(uptime_s) kernel=$(uname -r)"
con "booted $(uname -r), mode $KMQ_MODE"

while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/$m" 2>/dev/null || res "KMQ-MODULE-FAILED $m"
done </etc/modules.load

# The disk appears once virtio probing is done.
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
mount -t ext4 /dev/vda /mnt
res "KMQ-MOUNT rc=$?"

# Debug kernels have kmemleak: forget what boot left, look after the suites.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
LEAKS=/sys/kernel/debug/kmemleak
[ -w $LEAKS ] && echo clear >$LEAKS

# Warnings after this line are kmq's business (see vmtest.sh).
echo "kmq-vm: loading kmq.ko" >/dev/kmsg
insmod "$KMQ_KO"
res "KMQ-INSMOD rc=$?"

run_suite() {	# run_suite <name>[@<user>]
	name=${1%@*}
	user=
	[ "$name" = "$1" ] || user=${1#*@}
	t0=$(uptime_s)
	res "KMQ-BEGIN $1"
	con "running $1"
	if [ -z "$user" ]; then
		(cd /tmp && exec timeout -s KILL "$KMQ_SUITE_TIMEOUT" \
			"/selftests/$name") </dev/null >&3 2>&1
	else
		(cd /tmp && exec timeout -s KILL "$KMQ_SUITE_TIMEOUT" \
			su -s /bin/sh "$user" -c "exec /selftests/$name") \
			</dev/null >&3 2>&1
	fi
	rc=$?
	t1=$(uptime_s)
	res "KMQ-END $1 rc=$rc secs=$(awk "BEGIN { print $t1 - $t0 }")"
}

case $KMQ_MODE in
tests)
	for s in $KMQ_SUITES; do
		# The unload test reloads kmq.ko: look for leaks of this
		# instance while its symbols still resolve.
		[ "$s" = kmq_unload_test ] && kmemleak_report
		run_suite "$s"
	done
	kmemleak_report
	rmmod kmq
	res "KMQ-RMMOD rc=$?"
	;;
reset-write)
	# The host kills the VM after enough acknowledgements; if the
	# appender stops first, the host sees KMQ-END and the dmesg.
	run_suite kmq_reset_helper
	;;
reset-verify)
	run_suite kmq_reset_helper
	rmmod kmq
	res "KMQ-RMMOD rc=$?"
	;;
*)
	res "KMQ-ERROR unknown mode $KMQ_MODE"
	;;
esac
finish
