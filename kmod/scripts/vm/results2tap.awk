# SPDX-License-Identifier: GPL-2.0-only
#
# results2tap.awk - turn a VM's results log (what init.sh wrote to the
# results port) into TAP test lines for prove.
#
# Prints unnumbered "ok - ..." / "not ok - ..." lines and "# ..." comments
# (vmtest.sh numbers them and prints the plan):
#   - the VM booted; the disk mounted; insmod kmq.ko
#   - every result line of every suite, as "<suite>: <test>", and one
#     "<suite>: finished, every planned test reported" per suite
#   - rmmod kmq (when the mode unloads it)
#   - "dmesg clean": no line matching BAD below after the "loading kmq.ko"
#     mark init.sh writes to /dev/kmsg just before insmod (boot noise of
#     the kernel before it is shown, not judged)
#   - "kmemleak: no object of kmq.ko leaked" on kernels with kmemleak: no
#     unreferenced object whose allocation backtrace names kmq
#   - the VM ran to completion (KMQ-DONE)
# Variables (-v): label (prefix of every name, e.g. "6.1"),
# rmmod=1 to expect KMQ-RMMOD, suites="a b c" the suites that must run.
# The input must have its carriage returns removed.

function emit(st, name) {
	printf "%sok - %s%s\n", st ? "" : "not ", label, name
}

function diag(line) {
	print "# " line
}

# A suite whose output stopped without KMQ-END.
function close_suite() {
	if (suite == "")
		return
	emit(0, suite ": finished, every planned test reported")
	diag(suite ": no KMQ-END: the suite or the VM died")
	suite = ""
}

BEGIN {
	BAD = "WARNING:|BUG:|KASAN|lockdep|possible circular locking|Oops|general protection|Call Trace"
	label = label == "" ? "" : label " "
	booted = 0; done = 0; indmesg = 0; marked = 0; nbad = 0; ndm = 0
	suite = ""
	nwant = split(suites, want, " ")
}

/^KMQ-BOOTED / {
	booted = 1
	emit(1, "VM booted (" substr($0, 12) ")")
	next
}

/^KMQ-MODULE-FAILED / {
	diag("insmod of " $2 " failed")
	next
}

/^KMQ-MOUNT / {
	emit($2 == "rc=0", "virtio disk mounted (ext4)")
	next
}

/^KMQ-INSMOD / {
	emit($2 == "rc=0", "insmod kmq.ko")
	next
}

/^KMQ-BEGIN / {
	close_suite()
	suite = $2
	plan = -1; nres = 0
	ran[suite] = 1
	next
}

/^KMQ-END / {
	ok = plan >= 0 && nres == plan
	emit(ok, suite ": finished, every planned test reported")
	if (!ok)
		diag(suite ": planned " plan ", reported " nres ", " $3)
	diag(suite ": " $3 ", " $4 " s")
	suite = ""
	next
}

/^KMQ-RMMOD / {
	emit($2 == "rc=0", "rmmod kmq")
	rmmod_seen = 1
	next
}

/^KMQ-KMEMLEAK-BEGIN/ {
	close_suite()
	inleak = 1
	leak_seen = 1
	obj = ""
	next
}

/^KMQ-KMEMLEAK-END/ {
	inleak = 0
	if (obj != "" && obj_kmq)
		leaks[++nleak] = obj
	obj = ""
	next
}

# kmemleak: "unreferenced object ..." blocks; those whose backtrace has
# a function of the module ("[kmq]") are kmq's.
inleak {
	if ($0 ~ /^unreferenced object/) {
		if (obj != "" && obj_kmq)
			leaks[++nleak] = obj
		obj = $0
		obj_kmq = 0
	} else {
		obj = obj "\n" $0
		if ($0 ~ /\[kmq\]/)
			obj_kmq = 1
	}
	next
}

/^KMQ-DMESG-BEGIN/ {
	close_suite()
	indmesg = 1
	next
}

/^KMQ-DMESG-END/ {
	indmesg = 0
	dmesg_seen = 1
	next
}

/^KMQ-DONE/ {
	done = 1
	next
}

indmesg {
	if (index($0, "kmq-vm: loading kmq.ko"))
		marked = 1
	if ($0 ~ BAD) {
		if (marked)
			bad[++nbad] = $0
		else
			diag("boot (before kmq.ko): " $0)
	}
	if (marked)
		dm[++ndm] = $0
	next
}

# Data lines of the hard-reset helper: vmtest.sh reads them itself.
/^KMQ-(ACK|REC) / {
	next
}

suite != "" && /^[0-9]+\.\.[0-9]+/ {
	plan = $0
	sub(/^[0-9]+\.\./, "", plan)
	plan = plan + 0
	next
}

suite != "" && /^(not )?ok [0-9]+ / {
	st = $1 == "ok"
	line = $0
	sub(/^(not )?ok [0-9]+ (- )?/, "", line)
	nres++
	printf "%sok - %s%s: %s\n", st ? "" : "not ", label, suite, line
	next
}

suite != "" {
	diag(suite "| " $0)
	next
}

{
	if ($0 != "")
		diag("| " $0)
}

END {
	close_suite()
	if (!booted)
		emit(0, "VM booted")
	for (i = 1; i <= nwant; i++)
		if (!(want[i] in ran))
			emit(0, want[i] ": ran")
	if (rmmod && !rmmod_seen)
		emit(0, "rmmod kmq")
	if (!dmesg_seen) {
		emit(0, "dmesg clean")
		diag("no dmesg came back from the VM")
	} else {
		emit(nbad == 0 && marked, "dmesg clean")
		if (!marked)
			diag("dmesg lacks the \"kmq-vm: loading kmq.ko\" mark")
		if (nbad > 0) {
			for (i = 1; i <= nbad && i <= 40; i++)
				diag("BAD: " bad[i])
			diag("dmesg since kmq.ko was loaded:")
			for (i = 1; i <= ndm && i <= 300; i++)
				diag(dm[i])
		}
	}
	if (leak_seen) {
		emit(nleak == 0, "kmemleak: no object of kmq.ko leaked")
		for (i = 1; i <= nleak && i <= 10; i++) {
			n = split(leaks[i], l, "\n")
			for (j = 1; j <= n; j++)
				diag("leak: " l[j])
		}
	}
	emit(done, "VM ran to completion")
}
