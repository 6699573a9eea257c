# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# vmlib.sh - the plumbing vmtest.sh and vmtest-kmqd.sh share, sourced by
# both (bash): the command line, one numbered TAP stream, the kernel to
# boot (Debian's stock image or the debug kernel), kmq.ko built for it, a
# VM boot with its one retry, and the kernel console check.
#
# The sourcing script sets VM_NAME (its name in progress lines), then
#   vm_args "$@"         -c CACHE, -b BUILD, the target: CACHE, BUILD,
#                        TARGET
#   vm_kernel [FILE]     KVER, KDIR, KERNEL, MODROOT, APPEND and DEBUG
#                        (1 for the debug kernel) of TARGET; FILE, under
#                        CACHE, must exist too (else fetch-kernel.sh runs)
#   vm_build_kmq DIR     KO: kmq.ko built in DIR (reused while no source
#                        is newer), and its TAP line
#   vm_build_kmqd ...    kmqd and the caller's other programs linked
#                        static into one build dir, and its TAP line
#   vm_boot ...          one VM run (below)
#   console_clean ...    the kernel console's TAP line
# and prints TAP through ok / tap, ending with finish.

# tap() runs last in pipelines and must count in this shell.
shopt -s lastpipe

VM=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$VM/../../.." && pwd)
CACHE=${KMQ_CACHE:-$ROOT/.cache}
BUILD=${BUILD:-$ROOT/build}

# --- TAP -------------------------------------------------------------------
N=0
FAILED=0
tap() {		# tap: number the "ok - " / "not ok - " lines of stdin
	local line

	while IFS= read -r line; do
		case $line in
		"ok - "*)
			N=$((N + 1))
			echo "ok $N ${line#ok }"
			;;
		"not ok - "*)
			N=$((N + 1))
			FAILED=$((FAILED + 1))
			echo "not ok $N ${line#not ok }"
			;;
		*) echo "$line" ;;
		esac
	done
}
ok() {		# ok <0|1 as status> <name>
	if [ "$1" -eq 0 ]; then
		echo "ok - $TARGET $2"
	else
		echo "not ok - $TARGET $2"
	fi | tap
}
diag() { sed 's/^/# /'; }
say() { echo "# $VM_NAME $TARGET: $*"; }
finish() {
	echo "1..$N"
	[ $FAILED -eq 0 ]
	exit
}
bail() {
	echo "not ok - $TARGET $*" | tap
	finish
}
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

vm_args() {
	local usage="usage: $0 [-c CACHE] [-b BUILD] <6.1|6.12|debug|kver>"

	while [ $# -gt 0 ]; do
		case $1 in
		-c) CACHE=$2; shift 2 ;;
		-b) BUILD=$2; shift 2 ;;
		-*) echo "$usage" >&2; exit 2 ;;
		*) break ;;
		esac
	done
	[ $# -eq 1 ] || { echo "$usage" >&2; exit 2; }
	TARGET=$1
	mkdir -p "$CACHE" "$BUILD"
	CACHE=$(cd "$CACHE" && pwd)
	BUILD=$(cd "$BUILD" && pwd)
}

# --- the kernel --------------------------------------------------------------
vm_kernel() {	# vm_kernel [file under CACHE that must exist]
	local need=${1:-} img st log d k

	# shellcheck disable=SC2034 # for the sourcing script
	KVER='' KDIR='' KERNEL='' MODROOT='' APPEND='' DEBUG=0
	if [ "$TARGET" = debug ]; then
		local ready=$CACHE/kdebug/READY

		if [ ! -f "$ready" ]; then
			echo "1..0 # SKIP no debug kernel ($ready absent: run kmod/scripts/kunit-kernel.sh)"
			exit 0
		fi
		# shellcheck disable=SC1090
		. "$ready"
		# shellcheck disable=SC2034
		DEBUG=1
		KVER=${KDEBUG_KVER:-} KDIR=${KDEBUG_KDIR:-}
		KERNEL=${KDEBUG_BZIMAGE:-}
		APPEND=${KDEBUG_CMDLINE:-"panic_on_warn=1 oops=panic"}
		if [ -z "$KVER" ] || [ ! -f "$KERNEL" ] ||
		   [ ! -f "$KDIR/Makefile" ]; then
			bail "debug kernel: $ready names no usable kernel"
		fi
		return
	fi
	if [ ! -f "$CACHE/kernels.list" ] ||
	   { [ -n "$need" ] && [ ! -f "$CACHE/$need" ]; }; then
		say "fetching the kernel headers${need:+ and $(basename "$need")}"
		"$ROOT/kmod/scripts/fetch-kernel.sh" -c "$CACHE" 2>&1 | diag
	fi
	read -r _ KVER KDIR < <(awk -v t="$TARGET" '$1 == t || $2 == t' \
				"$CACHE/kernels.list" 2>/dev/null)
	[ -n "$KVER" ] || bail "kernel $TARGET: not in $CACHE/kernels.list"
	say "fetching linux-image-$KVER"
	log=$(mktemp "$BUILD/.fetch-image.XXXXXX")
	img=$("$VM/fetch-image.sh" -c "$CACHE" "$KVER" 2>"$log")
	st=$?
	[ $st -eq 0 ] || diag <"$log"
	rm -f "$log"
	ok $st "kernel image linux-image-$KVER unpacked"
	[ $st -eq 0 ] || finish
	KERNEL=$img/boot/vmlinuz-$KVER
	# shellcheck disable=SC2034
	MODROOT=$img
	# Images of kernels no longer in kernels.list go.
	for d in "$CACHE"/vm/*/; do
		k=$(basename "$d")
		[ -f "$d/.kmq-stamp" ] || continue
		awk -v k="$k" '$2 == k { f = 1 } END { exit !f }' \
			"$CACHE/kernels.list" || rm -rf "$d"
	done
}

# --- kmq.ko ------------------------------------------------------------------
# The module of an earlier run in DIR is reused while no source is newer
# (and KMQ_MODULE_SRC, build-kmq.sh's other tree, is not set).
vm_build_kmq() {	# vm_build_kmq <dir>: sets KO
	local dir=$1 src=${KMQ_MODULE_SRC:-$ROOT} st

	KO=$dir/kmq/src/kmq.ko
	if [ -f "$KO" ] && [ -z "${KMQ_MODULE_SRC:-}" ] &&
	   [ -z "$(find "$src/Kbuild" "$src/kmod" "$src/uapi" \
		   "$KDIR/Makefile" -newer "$KO" -print -quit 2>/dev/null)" ]; then
		say "kmq.ko for $KVER is up to date"
		st=0
	else
		say "building kmq.ko against $KDIR"
		KO=$("$VM/build-kmq.sh" "$KDIR" "$dir/kmq" 2>"$dir/kmq-build.err")
		st=$?
	fi
	ok $st "kmq.ko builds for $KVER"
	[ $st -eq 0 ] || { diag <"$dir/kmq-build.err"; finish; }
}

# --- kmqd and friends, static ---------------------------------------------------
# The VM has no libc of its own: everything run in it is linked static, in
# a build dir of its own (make does not relink when only LDFLAGS change),
# which make reuses while no source is newer.
#
# vm_build_kmqd <dir> <log> <tap name> [-e FUNC] [target ...]: make
# <dir>/kmqd and <dir>/<target> with BUILD=<dir> LDFLAGS=-static, then, if
# make succeeded, run FUNC <dir> for the steps make has no rule for; all
# output goes to <log>. Prints the TAP line <tap name>; on a failure the
# end of <log> follows and the run finishes.
vm_build_kmqd() {
	local dir=$1 log=$2 name=$3 extra='' st t
	local -a targets=("$dir/kmqd")

	shift 3
	if [ "${1:-}" = -e ]; then
		extra=$2
		shift 2
	fi
	for t in "$@"; do
		targets+=("$dir/$t")
	done
	say "building kmqd${*:+ $*} (static) in $dir"
	make -C "$ROOT" -s -j"$(nproc)" BUILD="$dir" LDFLAGS=-static \
		"${targets[@]}" >"$log" 2>&1
	st=$?
	if [ $st -eq 0 ] && [ -n "$extra" ]; then
		"$extra" "$dir" >>"$log" 2>&1
		st=$?
	fi
	ok $st "$name"
	if [ $st -ne 0 ]; then
		grep -v 'statically linked applications' "$log" |
			tail -n 40 | diag
		finish
	fi
}

# --- a VM run ------------------------------------------------------------------
# vm_boot <name> <dir> <initrd> <disk> <timeout> <mkdisk> [boot.sh -w/-n ...]:
# boot the VM, logs in <dir> (results.txt and console.txt without carriage
# returns). <mkdisk> is a function making <disk> anew before each boot
# (called with its path), or - to boot the disk as it is. Sets BOOT_ST,
# boot.sh's status.
#
# Under TCG on a loaded host a vCPU sometimes stops getting its timer
# interrupts (RCU stall reports with "timer wakeup didn't happen", an idle
# CPU, and the guest makes no progress), or the guest dies in its own
# boot (an oops in the timer code on a patched instruction). Such a boot,
# one that timed out stalled or ended before kmq.ko was loaded, is
# retried once, and says so; the first console stays as console-try1.txt.
vm_boot() {
	local name=$1 dir=$2 initrd=$3 disk=$4 tmo=$5 mkdisk=$6 t0 try

	shift 6
	for try in 1 2; do
		if [ "$mkdisk" != - ] &&
		   ! "$mkdisk" "$disk" >"$dir/mkfs.log" 2>&1; then
			diag <"$dir/mkfs.log"
			BOOT_ST=1
			return
		fi
		t0=$(now)
		say "booting $name, timeout $tmo s"
		"$VM/boot.sh" -k "$KERNEL" -i "$initrd" -d "$disk" -o "$dir" \
			-t "$tmo" -a "$APPEND" "$@" 2>"$dir/boot.log"
		BOOT_ST=$?
		diag <"$dir/boot.log"
		tr -d '\r' <"$dir/results.log" >"$dir/results.txt"
		tr -d '\r' <"$dir/console.log" >"$dir/console.txt"
		say "$name: wall time $(since "$t0") s, logs in $dir"
		[ $try -eq 1 ] || break
		if [ "$BOOT_ST" -eq 124 ] &&
		   grep -q "timer wakeup didn't happen" "$dir/console.txt"; then
			say "$name: the guest stalled (TCG timer), booting it again"
		elif [ "$BOOT_ST" -ne 3 ] &&
		     ! grep -q '^KMQ-INSMOD' "$dir/results.txt"; then
			say "$name: the guest died before kmq.ko was loaded, booting it again:"
			grep -E -A12 'Oops|Kernel panic|BUG:' "$dir/console.txt" |
				head -n 20 | diag
		else
			break
		fi
		mv "$dir/console.txt" "$dir/console-try1.txt"
	done
}

# The kernel console must show no panic, oops or warning (with
# panic_on_warn a warning ends the VM before init can send the dmesg).
console_clean() {	# console_clean <console.txt> [label]
	local re='Kernel panic|WARNING:|BUG:|KASAN|lockdep|possible circular locking|Oops|general protection|Call Trace'
	local what="${2:+$2: }kernel console shows no panic, oops or warning"

	if grep -qE "$re" "$1"; then
		ok 1 "$what"
		grep -E -B2 -A40 "$re" "$1" | head -n 120 | diag
	else
		ok 0 "$what"
	fi
}
