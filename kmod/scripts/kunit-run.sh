#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kunit-run.sh - `make kunit`: kmq.ko's KUnit suites on the debug kernel,
# as TAP (runs under prove).
#
#   1. the debug kernel (kunit-kernel.sh: Debian's linux-source-6.12 with
#      KUnit, KASAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak; built once,
#      then reused from the cache)
#   2. kmq.ko built against it with W=1 C=1: CONFIG_KUNIT=y links the
#      suites of kmod/tests/ into the module (Kbuild)
#   3. a busybox initramfs boots that kernel in QEMU (TCG, never KVM) with
#      panic_on_warn; its init insmods kmq.ko (the suites run at load),
#      copies /sys/kernel/debug/kunit/<suite>/results to a second serial
#      port, rmmods kmq and asks kmemleak for leaks
#   4. the KTAP is parsed by the kernel's kunit_parser (kunit-tap.py): one
#      TAP line per test case; then the console is searched for WARNING,
#      BUG, KASAN, lockdep and UBSAN reports and kmemleak for kmq objects
#
# Usage: kunit-run.sh [-c CACHE]
#   -c CACHE   cache folder (default: $KMQ_CACHE, else <repo>/.cache)
# KMQ_KUNIT_TIMEOUT (seconds, default 900) bounds the VM run. The console
# and KTAP of the last run stay in build/kunit/. Missing Debian packages
# are installed when run as root. Progress goes to stderr.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPTS=$ROOT/kmod/scripts
CACHE=${KMQ_CACHE:-$ROOT/.cache}
TIMEOUT=${KMQ_KUNIT_TIMEOUT:-900}
OUT=$ROOT/build/kunit

while [ $# -gt 0 ]; do
	case $1 in
	-c) CACHE=$2; shift 2 ;;
	*) echo "usage: $0 [-c CACHE]" >&2; exit 2 ;;
	esac
done

N=0
FAILED=0
ok() {		# ok <0|1 as status> <name>
	N=$((N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $N - $2"
	else
		echo "not ok $N - $2"
		FAILED=$((FAILED + 1))
	fi
}
diag() { sed 's/^/# /'; }
bail() { echo "Bail out! $*"; exit 1; }
say() { echo "kunit: $*" >&2; }
now() { date +%s; }

rm -rf "$OUT"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/kmq-kunit.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# --- dependencies ------------------------------------------------------------
#
# <test> <package>: the package is missing when the test fails.
missing=()
dep() {
	eval "$1" >/dev/null 2>&1 || missing+=("$2")
}
dep "command -v make" make
dep "command -v gcc" gcc
dep "command -v flex" flex
dep "command -v bison" bison
dep "command -v bc" bc
dep "command -v perl" perl
dep "command -v xz" xz-utils
dep "command -v cpio" cpio
dep "command -v python3" python3
dep "command -v sparse" sparse
dep "command -v qemu-system-x86_64" qemu-system-x86
dep "test -f /usr/include/libelf.h" libelf-dev
dep "test -f /usr/include/openssl/ssl.h" libssl-dev
dep "dpkg-query -W -f='\${Status}' busybox-static | grep -q 'ok installed'" \
	busybox-static
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] ||
		bail "missing packages: apt-get install ${missing[*]}"
	say "installing ${missing[*]}"
	{ apt-get update -qq &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}"; } >"$WORK/apt.log" 2>&1 ||
		{ diag <"$WORK/apt.log"; bail "apt-get install ${missing[*]}"; }
fi
BUSYBOX=$(dpkg -L busybox-static | grep -m1 '/busybox$')
[ -x "$BUSYBOX" ] || bail "busybox-static installs no busybox"

# --- 1. the debug kernel ---------------------------------------------------------
t0=$(now)
st=0
"$SCRIPTS/kunit-kernel.sh" -c "$CACHE" 2> >(tee "$WORK/kernel.log" >&2) ||
	st=1
wait
if [ $st -ne 0 ] || [ ! -f "$CACHE/kdebug/READY" ]; then
	ok 1 "debug kernel from linux-source-6.12"
	tail -n 40 "$WORK/kernel.log" | diag
	bail "no debug kernel"
fi
# shellcheck source=/dev/null
. "$CACHE/kdebug/READY"
how=reused
grep -q 'built in' "$WORK/kernel.log" && how="built in $(($(now) - t0)) s"
ok 0 "debug kernel $KDEBUG_KVER ($how)"

# --- 2. kmq.ko with the suites, W=1 C=1 --------------------------------------
#
# A copy of the sources, so the work tree's objects (other kernels) and
# this build never mix; any compiler, sparse or modpost warning fails.
WARN_RE='(^|: )(warning|error|WARNING|ERROR):|\*\*\*'
MOD=$WORK/mod
mkdir -p "$MOD"
cp -r "$ROOT/Kbuild" "$ROOT/kmod" "$ROOT/uapi" "$MOD/"
find "$MOD" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \
	-o -name '*.mod' -o -name '*.mod.c' \) -delete
t0=$(now)
say "building kmq.ko against $KDEBUG_KDIR (W=1 C=1)"
st=0
make -C "$KDEBUG_KDIR" M="$MOD" W=1 C=1 -j"$(nproc)" modules \
	>"$WORK/module.log" 2>&1 || st=1
[ -f "$MOD/kmq.ko" ] || st=1
grep -Eq "$WARN_RE" "$WORK/module.log" && st=1
# Every suite of kmod/tests/ must be in the module: its
# .kunit_test_suites section holds one pointer per suite.
SUITES=()
mapfile -t SUITES < <(sed -n 's/^[[:space:]]*\.name = "\(kmq_[a-z0-9_]*\)",$/\1/p' \
	"$ROOT"/kmod/tests/*_test.c 2>/dev/null | sort -u)
if [ $st -eq 0 ]; then
	size=$(objdump -h "$MOD/kmq.ko" |
	       awk '$2 == ".kunit_test_suites" { print $3 }')
	linked=$(( ${size:+0x$size} + 0 ))
	if [ $((linked / 8)) -ne ${#SUITES[@]} ]; then
		echo "kmq.ko links $((linked / 8)) suites, kmod/tests/ has ${#SUITES[@]}: is Kbuild missing one?" \
			>>"$WORK/module.log"
		st=1
	fi
fi
ok $st "kmq.ko with ${#SUITES[@]} KUnit suites builds against it, W=1 C=1 ($(($(now) - t0)) s)"
if [ $st -ne 0 ]; then
	grep -E "$WARN_RE|: note: |In function|included from|suites" \
		"$WORK/module.log" | sed "s|$MOD/||g" | head -n 60 | diag
	bail "no kmq.ko"
fi
cp "$WORK/module.log" "$OUT/module.log"

# --- 3. the VM ---------------------------------------------------------------
#
# init writes its findings to ttyS1 (build/kunit/ktap.log) between
# "kmq-kunit:" marker lines, so the kernel's console (ttyS0,
# build/kunit/console.log) never interleaves with them.
IRD=$WORK/initramfs
mkdir -p "$IRD"/{bin,dev,proc,sys,tmp}
cp "$BUSYBOX" "$IRD/bin/busybox"
cp "$MOD/kmq.ko" "$IRD/kmq.ko"
cat >"$IRD/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
exec 3>/dev/ttyS1
mark() { echo "kmq-kunit: $*" >&3; }
mark "boot $(uname -r)"
insmod /kmq.ko
mark "insmod $?"
for d in /sys/kernel/debug/kunit/kmq_*; do
	[ -f "$d/results" ] && cat "$d/results" >&3
done
mark "results end"
rmmod kmq
mark "rmmod $?"
if [ -f /sys/kernel/debug/kmemleak ]; then
	# kmemleak reports an object unreferenced for 5 s or more, and
	# unchanged between two scans.
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	sleep 1
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >/tmp/kmemleak
	mark "kmemleak $(wc -c </tmp/kmemleak) bytes"
	cat /tmp/kmemleak >&3
fi
mark "end"
sync
reboot -f
EOF
chmod +x "$IRD/init"
(cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.gz"

QEMU=(qemu-system-x86_64 -accel tcg -smp 2 -m 1024 -nodefaults -no-reboot
      -display none -serial "file:$OUT/console.log"
      -serial "file:$OUT/ktap.raw" -kernel "$KDEBUG_BZIMAGE"
      -initrd "$WORK/initrd.gz" -append "$KDEBUG_CMDLINE rdinit=/init")
[ -f /usr/share/qemu/qboot.rom ] && QEMU+=(-bios qboot.rom)
say "booting $KDEBUG_KVER in QEMU (TCG, timeout $TIMEOUT s)"
t0=$(now)
timeout "$TIMEOUT" "${QEMU[@]}" >"$WORK/qemu.log" 2>&1
qst=$?
vm_secs=$(($(now) - t0))
say "VM done in $vm_secs s (status $qst)"
touch "$OUT/ktap.raw" "$OUT/console.log"
tr -d '\r' <"$OUT/ktap.raw" >"$OUT/ktap.log"
rm -f "$OUT/ktap.raw"
ended=0
grep -qx 'kmq-kunit: end' "$OUT/ktap.log" && ended=1

marker() { sed -n "s/^kmq-kunit: $1 //p" "$OUT/ktap.log" | head -n 1; }
console_tail() {
	diag <"$WORK/qemu.log"
	tail -n 60 "$OUT/console.log" | tr -d '\r' | diag
}

st=0
[ "$(marker insmod)" = 0 ] || st=1
ok $st "VM boots $(marker boot) and insmod kmq.ko succeeds"
[ $st -eq 0 ] || console_tail

# --- 4. results ----------------------------------------------------------------
sed -n '/^kmq-kunit: insmod/,/^kmq-kunit: results end/p' "$OUT/ktap.log" |
	grep -v '^kmq-kunit:' >"$WORK/ktap"
expect=()
for s in "${SUITES[@]}"; do
	expect+=(--expect "$s")
done
python3 "$SCRIPTS/kunit-tap.py" --kunit-dir "$KDEBUG_SRC/tools/testing/kunit" \
	--start $((N + 1)) "${expect[@]}" "$WORK/ktap" >"$WORK/tap" 2>&1
count=$(sed -n 's/^count=//p' "$WORK/tap")
if [ -z "$count" ]; then
	ok 1 "KTAP parsed by kunit_parser"
	diag <"$WORK/tap"
else
	grep -v '^count=' "$WORK/tap"
	FAILED=$((FAILED + $(grep -c '^not ok' "$WORK/tap")))
	N=$((N + count))
fi

st=0
[ "$(marker rmmod)" = 0 ] || st=1
ok $st "rmmod kmq"

# Reports the debug options print. panic_on_warn turns most into a
# panic, which also ends the run early; either way they fail here.
REPORT_RE='WARNING:|BUG:|INFO: |UBSAN:|Kernel panic|Oops|general protection fault|kernel BUG at|Call Trace:'
tr -d '\r' <"$OUT/console.log" >"$WORK/console"
st=0
grep -Eq "$REPORT_RE" "$WORK/console" && st=1
[ $ended -eq 1 ] || st=1
ok $st "VM ran to the end, no WARNING/BUG/KASAN/lockdep/UBSAN report ($vm_secs s)"
if [ $st -ne 0 ]; then
	grep -E -A 30 "$REPORT_RE" "$WORK/console" | head -n 80 | diag
	[ $ended -eq 1 ] || console_tail
fi

# kmemleak: the debug kernel may have unrelated boot-time suspects. An
# object kmq.ko allocated has a kmq frame in its backtrace: by name while
# the module is loaded, as a bare address in module space (the only
# module ever loaded here is kmq) once it is gone.
sed -n '/^kmq-kunit: kmemleak/,/^kmq-kunit: end/p' "$OUT/ktap.log" |
	grep -v '^kmq-kunit:' >"$WORK/kmemleak"
st=0
grep -q '^kmq-kunit: kmemleak' "$OUT/ktap.log" || st=1
awk '/\[kmq\]|kmq_/ { bad = 1 }
     match($0, /0x[0-9a-f]+/) && RLENGTH == 18 {
	a = substr($0, RSTART + 2, 16)
	if (a >= "ffffffffa0000000" && a < "ffffffffff000000")
		bad = 1
     }
     END { exit !bad }' "$WORK/kmemleak" && st=1
ok $st "kmemleak: no object allocated by kmq.ko leaked"
[ $st -eq 0 ] || head -n 60 "$WORK/kmemleak" | diag

echo "1..$N"
[ $FAILED -eq 0 ]
