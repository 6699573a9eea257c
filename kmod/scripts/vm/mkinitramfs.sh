#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkinitramfs.sh - the initramfs of a kmq test VM (cpio newc, gzip).
#
# Contents:
#   /init                 kmod/scripts/vm/init.sh
#   /bin/busybox          busybox-static, with a link per applet
#   /etc/kmq-vm.conf      the run's settings (-c), read by /init
#   /etc/modules.load     kernel modules to insmod in order, before kmq.ko
#   /lib/modules/*.ko     those modules (decompressed) and kmq.ko
#   /selftests/*          the static selftest binaries (-t)
# The modules come from the kernel's module tree (-M): virtio_pci,
# virtio_blk and ext4 plus whatever kmq.ko depends on (modinfo depends),
# each with its dependencies and soft dependencies in load order, as
# `modprobe --show-depends` resolves them from modules.dep. Modules built
# into the kernel are skipped; without -M (a kernel with everything built
# in) none are added.
#
# Usage: mkinitramfs.sh -o OUT -K kmq.ko -c CONF [-k KVER -M MODROOT]
#                       [-t TESTDIR] [-m MODULE]...
#   -m MODULE  another module to load before kmq.ko
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT='' KO='' CONF='' KVER='' MODROOT='' TESTDIR=''
EXTRA=()

usage() {
	echo "usage: $0 -o OUT -K kmq.ko -c CONF [-k KVER -M MODROOT] [-t TESTDIR] [-m MODULE]..." >&2
	exit 2
}
while getopts "o:K:c:k:M:t:m:" opt; do
	case $opt in
	o) OUT=$OPTARG ;;
	K) KO=$OPTARG ;;
	c) CONF=$OPTARG ;;
	k) KVER=$OPTARG ;;
	M) MODROOT=$OPTARG ;;
	t) TESTDIR=$OPTARG ;;
	m) EXTRA+=("$OPTARG") ;;
	*) usage ;;
	esac
done
if [ -z "$OUT" ] || [ -z "$KO" ] || [ -z "$CONF" ]; then
	usage
fi
[ -z "$MODROOT" ] || [ -n "$KVER" ] || usage

die() { echo "mkinitramfs: $*" >&2; exit 1; }
BUSYBOX=$(command -v busybox) || die "no busybox (Debian package busybox-static)"
readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'program interpreter' &&
	die "$BUSYBOX is not static (install busybox-static)"

WORK=$(mktemp -d /tmp/kmq-initramfs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,tmp,mnt,root,lib/modules,selftests}

cp "$BUSYBOX" "$R/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$R/bin/$applet"
done
cp "$HERE/init.sh" "$R/init"
chmod 755 "$R/init"
cp "$CONF" "$R/etc/kmq-vm.conf"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n' \
	>"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"

# Kernel modules, in load order, without duplicates.
: >"$R/etc/modules.load"
if [ -n "$MODROOT" ]; then
	wanted=(virtio_pci virtio_blk ext4 "${EXTRA[@]}")
	deps=$(modinfo -F depends "$KO" | tr ',' ' ')
	# shellcheck disable=SC2206 # word splitting wanted
	wanted+=($deps)
	n=0
	for m in "${wanted[@]}"; do
		[ -n "$m" ] || continue
		modprobe -d "$MODROOT" -S "$KVER" --show-depends "$m" 2>"$WORK/err" ||
			die "cannot resolve module $m: $(cat "$WORK/err")"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$WORK/order"
	while read -r path; do
		n=$((n + 1))
		name=$(printf '%02d-%s' "$n" "$(basename "${path%.xz}")")
		case $path in
		*.xz) xz -dc "$path" >"$R/lib/modules/$name" ;;
		*.zst) zstd -qdc "$path" >"$R/lib/modules/$name" ;;
		*) cp "$path" "$R/lib/modules/$name" ;;
		esac
		echo "$name" >>"$R/etc/modules.load"
	done <"$WORK/order"
fi
cp "$KO" "$R/lib/modules/kmq.ko"

if [ -n "$TESTDIR" ]; then
	for f in "$TESTDIR"/*; do
		[ -f "$f" ] && [ -x "$f" ] && cp "$f" "$R/selftests/"
	done
fi

mkdir -p "$(dirname "$OUT")"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
