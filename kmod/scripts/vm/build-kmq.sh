#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build-kmq.sh - build kmq.ko for one kernel, for a VM run.
#
# Copies Kbuild, kmod/ and uapi/ into OUTDIR (so the work tree is left
# alone and no object of one kernel leaks into another) and runs the
# kernel's module build there. Prints the path of kmq.ko.
#
# Usage: build-kmq.sh <kdir> <outdir>
#   kdir    the kernel's build tree (unpacked Debian headers, or the
#           debug kernel's build folder)
# KMQ_MODULE_SRC=<dir> takes Kbuild, kmod/ and uapi/ from another tree
# (e.g. a `git archive` of a commit) instead of this one.
# The build log goes to <outdir>/build.log; on failure its tail to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
[ $# -eq 2 ] || { echo "usage: $0 <kdir> <outdir>" >&2; exit 2; }
KDIR=$1
OUT=$2

[ -f "$KDIR/Makefile" ] || { echo "build-kmq: no kernel tree at $KDIR" >&2; exit 1; }
rm -rf "$OUT/src"
mkdir -p "$OUT/src"
OUT=$(cd "$OUT" && pwd)
SRC=${KMQ_MODULE_SRC:-$ROOT}
cp -r "$SRC/Kbuild" "$SRC/kmod" "$SRC/uapi" "$OUT/src/"
# Only the module's sources: tests, fuzz targets and scripts stay out.
rm -rf "$OUT/src/kmod/scripts" "$OUT/src/uapi/tests" "$OUT/src/uapi/fuzz"

if ! make -C "$KDIR" M="$OUT/src" -j"$(nproc)" modules >"$OUT/build.log" 2>&1 ||
   [ ! -f "$OUT/src/kmq.ko" ]; then
	echo "build-kmq: build against $KDIR failed:" >&2
	tail -n 40 "$OUT/build.log" >&2
	exit 1
fi
echo "$OUT/src/kmq.ko"
