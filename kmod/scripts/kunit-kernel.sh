#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kunit-kernel.sh - build (once) the debug kernel kmq.ko is tested on.
#
# From Debian's linux-source-6.12 and kmod/scripts/kunit-kernel.config
# (merged over tinyconfig: KUnit, KASAN, lockdep, DEBUG_ATOMIC_SLEEP,
# kmemleak, ext4, virtio, serial console), into the cache folder:
#   kdebug/src/     the unpacked source tree (.kmq-stamp: package=version)
#   kdebug/build/   the O= build: arch/x86/boot/bzImage, and the folder
#                   to build modules against (make -C kdebug/build M=...)
#   kdebug/READY    shell variables for the users of this kernel:
#                   KDEBUG_KVER, KDEBUG_SRC, KDEBUG_KDIR, KDEBUG_BZIMAGE,
#                   KDEBUG_CMDLINE (the boot parameters to use), KDEBUG_STAMP
# The build is reused while the source version, the config fragment, this
# script's recipe and the compiler are the same (kdebug/build/.kmq-stamp).
# A new fragment rebuilds incrementally (kbuild recompiles what the changed
# options touch); another source version, recipe or compiler starts over.
# READY is removed while a build runs.
#
# Usage: kunit-kernel.sh [-c CACHE] [-j JOBS]
#   -c CACHE   cache folder (default: $KMQ_CACHE, else <repo>/.cache)
#   -j JOBS    make jobs (default: nproc)
# KMQ_KDEBUG_SOURCE=<debian version> picks a linux-source-6.12 version; by
# default an unpacked source is reused, else apt's candidate is fetched.
# Progress goes to stderr; the full make log to kdebug/build.log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${KMQ_CACHE:-$ROOT/.cache}
JOBS=$(nproc 2>/dev/null || echo 2)
FRAGMENT=$ROOT/kmod/scripts/kunit-kernel.config
PKG=linux-source-6.12
# Bump when the way the config or the build is made changes.
RECIPE=1

while [ $# -gt 0 ]; do
	case $1 in
	-c) CACHE=$2; shift 2 ;;
	-j) JOBS=$2; shift 2 ;;
	*) echo "usage: $0 [-c CACHE] [-j JOBS]" >&2; exit 2 ;;
	esac
done
mkdir -p "$CACHE/kdebug"
CACHE=$(cd "$CACHE" && pwd)
KD=$CACHE/kdebug
SRC=$KD/src
OUT=$KD/build

say() { echo "kunit-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

# One build at a time (make kunit and make vmtest may both want it).
exec 9>"$KD/.lock"
flock 9

APT_OPTS=()
[ "$(id -u)" -eq 0 ] && APT_OPTS=(-o APT::Sandbox::User=root)

# --- source ----------------------------------------------------------------
want_ver=${KMQ_KDEBUG_SOURCE:-}
have=$(cat "$SRC/.kmq-stamp" 2>/dev/null || true)
if [ -z "$want_ver" ] && [ -n "$have" ]; then
	say "reusing $SRC ($have)"
elif [ -n "$want_ver" ] && [ "$have" = "$PKG=$want_ver" ]; then
	say "reusing $SRC ($have)"
else
	candidate() {
		apt-cache policy $PKG 2>/dev/null |
			sed -n 's/^ *Candidate: //p' | grep -v '(none)' || true
	}
	if [ -z "$want_ver" ]; then
		want_ver=$(candidate)
		if [ -z "$want_ver" ] && [ "$(id -u)" -eq 0 ]; then
			say "apt-get update"
			apt-get update -qq >&2
			want_ver=$(candidate)
		fi
		[ -n "$want_ver" ] || die "apt offers no $PKG (apt-get update?)"
	fi
	mkdir -p "$KD/debs"
	deb=$(ls "$KD"/debs/${PKG}_"${want_ver//:/%3a}"_all.deb 2>/dev/null ||
	      true)
	if [ -z "$deb" ]; then
		say "downloading $PKG=$want_ver (about 150 MB)"
		rm -f "$KD"/debs/*.deb
		(cd "$KD/debs" &&
		 apt-get download -q "${APT_OPTS[@]}" "$PKG=$want_ver" >&2)
		deb=$(ls "$KD"/debs/*.deb)
	fi
	say "unpacking $(basename "$deb") (1.7 GB)"
	rm -rf "$KD/src.tmp"
	mkdir -p "$KD/src.tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$PKG.tar.xz" |
		xz -dc -T"$JOBS" | tar -x -C "$KD/src.tmp" --strip-components=1
	echo "$PKG=$want_ver" >"$KD/src.tmp/.kmq-stamp"
	rm -rf "$SRC"
	mv "$KD/src.tmp" "$SRC"
	rm -rf "$KD/debs"
fi
have=$(cat "$SRC/.kmq-stamp")

# --- configuration and build -------------------------------------------------
base="$have recipe=$RECIPE $(gcc --version | head -n 1)"
stamp=$( {
	echo "$base"
	cat "$FRAGMENT"
} | sha256sum | cut -d' ' -f1)
BZIMAGE=$OUT/arch/x86/boot/bzImage
KVER=

write_ready() {
	KVER=$(cat "$OUT/include/config/kernel.release")
	cat >"$KD/READY.tmp" <<-EOF
	# Written by kmod/scripts/kunit-kernel.sh: the debug kernel is built.
	KDEBUG_KVER=$KVER
	KDEBUG_SRC=$SRC
	KDEBUG_KDIR=$OUT
	KDEBUG_BZIMAGE=$BZIMAGE
	KDEBUG_CMDLINE="console=ttyS0 panic_on_warn=1 panic=-1 oops=panic kasan.fault=panic"
	KDEBUG_STAMP=$stamp
	EOF
	mv "$KD/READY.tmp" "$KD/READY"
}

if [ "$(cat "$OUT/.kmq-stamp" 2>/dev/null)" = "$stamp" ] &&
   [ -f "$BZIMAGE" ] && [ -f "$OUT/Module.symvers" ]; then
	say "reusing $OUT"
	[ -f "$KD/READY" ] || write_ready
	exit 0
fi

rm -f "$KD/READY"
if [ "$(cat "$OUT/.kmq-base" 2>/dev/null)" != "$base" ]; then
	rm -rf "$OUT"
	mkdir -p "$OUT"
	echo "$base" >"$OUT/.kmq-base"
else
	say "the fragment changed: rebuilding incrementally"
	rm -f "$OUT/.kmq-stamp"
fi
LOG=$KD/build.log
: >"$LOG"
mk() { make -C "$SRC" O="$OUT" ARCH=x86_64 "$@" >>"$LOG" 2>&1; }

say "configuring: tinyconfig + $(basename "$FRAGMENT")"
mk tinyconfig || { tail -n 30 "$LOG" >&2; die "tinyconfig failed"; }
(cd "$OUT" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" \
	"$OUT/.config" "$FRAGMENT" >>"$LOG" 2>&1) ||
	{ tail -n 30 "$LOG" >&2; die "merge_config failed"; }
mk olddefconfig || { tail -n 30 "$LOG" >&2; die "olddefconfig failed"; }

# Every line of the fragment must have survived (a dependency missing
# would silently drop e.g. KASAN).
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$OUT/.config" || {
			say "config: wanted $line, got: $(grep -E \
			    "^(# )?${line%%=*}[= ]" "$OUT/.config" || echo unset)"
			bad=1
		} ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		grep -q "^$opt=" "$OUT/.config" && {
			say "config: wanted $opt unset, got $(grep "^$opt=" \
			    "$OUT/.config")"
			bad=1
		} ;;
	esac
done <"$FRAGMENT"
[ $bad -eq 0 ] || die "the config fragment does not apply to $have"

say "building $have with -j$JOBS (log: $LOG)"
start=$(date +%s)
# Progress: one line a minute with the number of objects built so far.
( while sleep 60; do
	say "  ... $(( $(date +%s) - start )) s, $(find "$OUT" -name '*.o' |
	    wc -l) objects"
  done ) &
ticker=$!
st=0
mk -j"$JOBS" all || st=$?
kill "$ticker" 2>/dev/null || true
wait "$ticker" 2>/dev/null || true
if [ $st -ne 0 ] || [ ! -f "$BZIMAGE" ]; then
	grep -E 'error|Error' "$LOG" | head -n 30 >&2
	die "kernel build failed (see $LOG)"
fi
say "built in $(( $(date +%s) - start )) s"
echo "$stamp" >"$OUT/.kmq-stamp"
write_ready
say "ready: $BZIMAGE ($KVER)"
