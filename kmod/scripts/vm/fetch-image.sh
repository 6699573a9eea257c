#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fetch-image.sh - unpack Debian's stock kernel image for a VM run.
#
# For each <kver> named (as in .cache/kernels.list: 6.1.0-56-amd64,
# 6.12.117+deb12-amd64) puts Debian's linux-image-<kver> into
#   <cache>/vm/<kver>/boot/vmlinuz-<kver>
#   <cache>/vm/<kver>/lib/modules/<kver>/   with modules.dep (depmod -b)
# by apt-get download + dpkg -x, nothing installed on the machine. What is
# already there (same package version) is reused.
#
# Usage: fetch-image.sh [-c CACHE] <kver>...
# Progress goes to stderr; the unpacked root of each kernel to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
CACHE=${KMQ_CACHE:-$ROOT/.cache}

while [ $# -gt 0 ]; do
	case $1 in
	-c) CACHE=$2; shift 2 ;;
	-*) echo "usage: $0 [-c CACHE] <kver>..." >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [-c CACHE] <kver>..." >&2; exit 2; }
mkdir -p "$CACHE/vm"
CACHE=$(cd "$CACHE" && pwd)

say() { echo "fetch-image: $*" >&2; }
die() { say "$*"; exit 1; }

APT_OPTS=()
[ "$(id -u)" -eq 0 ] && APT_OPTS=(-o APT::Sandbox::User=root)

candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' |
		grep -v '(none)' || true
}

command -v depmod >/dev/null || die "depmod missing (Debian package kmod)"

unpack_image() {
	local kver=$1 pkg=linux-image-$1 dir=$CACHE/vm/$1 ver tmp

	ver=$(candidate "$pkg")
	if [ -f "$dir/.kmq-stamp" ] &&
	   { [ -z "$ver" ] || [ "$(cat "$dir/.kmq-stamp")" = "$pkg=$ver" ]; }; then
		say "$kver: reusing $dir"
		echo "$dir"
		return
	fi
	[ -n "$ver" ] || die "apt offers no $pkg"

	say "$kver: downloading $pkg=$ver"
	tmp=$CACHE/vm/.tmp-$kver
	rm -rf "$tmp"
	mkdir -p "$tmp/debs" "$tmp/root"
	(cd "$tmp/debs" && apt-get download -q "${APT_OPTS[@]}" "$pkg=$ver" >&2)
	say "$kver: unpacking"
	dpkg -x "$tmp"/debs/*.deb "$tmp/root"
	[ -f "$tmp/root/boot/vmlinuz-$kver" ] || die "$pkg has no vmlinuz"
	# The package's postinst runs depmod; do it on the unpacked tree.
	depmod -b "$tmp/root" "$kver" ||
		die "$kver: depmod failed"
	echo "$pkg=$ver" >"$tmp/root/.kmq-stamp"
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
	rm -rf "$tmp"
	say "$kver: unpacked into $dir"
	echo "$dir"
}

for kver in "$@"; do
	unpack_image "$kver"
done
