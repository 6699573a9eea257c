#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fetch-kernel.sh - unpack the kernel pieces kmq.ko is checked against.
#
# Without installing anything system-wide, puts into the cache folder:
#   kernels/<kver>/   Debian's linux-headers-<kver>, its -common package and
#                     the linux-kbuild package they need, for the newest
#                     6.1 and the newest 6.12 amd64 flavour apt offers;
#                     build with make -C <kernels/<kver>/usr/src/linux-headers-<kver>> M=...
#   kernels.list      one line per kernel: <series> <kver> <headers dir>
#   linux-source/     from linux-source-6.12: checkpatch.pl and its data
#                     files, kselftest_harness.h and kselftest.h
# What is already there is reused; kernels no longer the newest are removed.
#
# Usage: fetch-kernel.sh [-c CACHE] [--no-source]
#   -c CACHE     cache folder (default: $KMQ_CACHE, else <repo>/.cache)
#   --no-source  skip linux-source (headers only)
# KMQ_KERNELS="<kver> ..." picks the kernels instead of the newest ones.
# Progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${KMQ_CACHE:-$ROOT/.cache}
SOURCE=1

while [ $# -gt 0 ]; do
	case $1 in
	-c) CACHE=$2; shift 2 ;;
	--no-source) SOURCE=0; shift ;;
	*) echo "usage: $0 [-c CACHE] [--no-source]" >&2; exit 2 ;;
	esac
done
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

say() { echo "fetch-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

# apt-get download as root warns that _apt cannot write the folder.
APT_OPTS=()
[ "$(id -u)" -eq 0 ] && APT_OPTS=(-o APT::Sandbox::User=root)

# Candidate version of a package, empty if apt does not know it.
candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' |
		grep -v '(none)' || true
}

# Newest package name matching an extended regex.
newest() {
	apt-cache pkgnames linux-headers- | grep -E "$1" | sort -V | tail -n 1
}

# Package lists are needed; fetch them once if this machine never did.
if [ -z "$(apt-cache pkgnames linux-headers-6.1 | head -n 1)" ]; then
	[ "$(id -u)" -eq 0 ] || die "no apt lists: run apt-get update as root"
	say "apt-get update"
	apt-get update -qq >&2
fi

if [ -n "${KMQ_KERNELS:-}" ]; then
	read -r -a KVERS <<<"$KMQ_KERNELS"
else
	KVERS=()
	for re in '^linux-headers-6\.1\.0-[0-9]+-amd64$' \
		  '^linux-headers-6\.12\.[0-9][^-]*-amd64$'; do
		pkg=$(newest "$re")
		[ -n "$pkg" ] || die "apt offers no package matching $re"
		KVERS+=("${pkg#linux-headers-}")
	done
fi

# Unpack linux-headers-$1 with the -common and linux-kbuild packages it
# depends on (the other dependencies are tools: gcc-12, pahole, ...).
unpack_kernel() {
	local kver=$1 pkg=linux-headers-$1 dir=$CACHE/kernels/$1
	local ver deps dep pkgs tmp link target

	ver=$(candidate "$pkg")
	[ -n "$ver" ] || die "apt offers no $pkg"
	if [ "$(cat "$dir/.kmq-stamp" 2>/dev/null)" = "$pkg=$ver" ]; then
		say "$kver: reusing $dir"
		return
	fi

	# -common is pinned to the same version; linux-kbuild comes from the
	# same source package, so take that version too, not the newest one.
	deps=$(apt-cache show "$pkg=$ver" | sed -n 's/^Depends: //p' | head -n 1)
	pkgs=("$pkg=$ver")
	for dep in $(echo "$deps" | sed 's/[,|]/\n/g' | awk '{ print $1 }'); do
		case $dep in
		linux-headers-*-common|linux-kbuild-*) pkgs+=("$dep=$ver") ;;
		esac
	done
	[ ${#pkgs[@]} -eq 3 ] || die "$pkg: cannot find -common and kbuild in: $deps"

	say "$kver: downloading ${pkgs[*]}"
	tmp=$CACHE/kernels/.tmp-$kver
	rm -rf "$tmp" "$CACHE/debs"
	mkdir -p "$tmp" "$CACHE/debs"
	(cd "$CACHE/debs" && apt-get download -q "${APT_OPTS[@]}" "${pkgs[@]}" >&2)
	for deb in "$CACHE"/debs/*.deb; do
		dpkg -x "$deb" "$tmp"
	done
	rm -rf "$CACHE/debs"

	# Absolute symlinks (/lib/modules/<kver>/build, .../source) would
	# point outside the unpacked tree: make them relative to it.
	while IFS= read -r -d '' link; do
		target=$(readlink "$link")
		ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" \
			"$tmp$target")" "$link"
	done < <(find "$tmp" -type l -lname '/*' -print0)

	# The flavour's Makefile includes /usr/src/linux-headers-*-common/
	# Makefile by absolute path: include it relative to itself instead.
	# shellcheck disable=SC2016 # $(...) is make's, not the shell's
	sed -i 's|^include /usr/src/\(.*\)$|include $(dir $(lastword $(MAKEFILE_LIST)))../\1|' \
		"$tmp/usr/src/$pkg/Makefile"
	[ -f "$tmp/usr/src/$pkg/scripts/basic/fixdep" ] ||
		die "$kver: scripts/ is not reachable from the headers"

	echo "$pkg=$ver" >"$tmp/.kmq-stamp"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	say "$kver: unpacked into $dir"
}

mkdir -p "$CACHE/kernels"
LIST=$CACHE/kernels.list.tmp
: >"$LIST"
for kver in "${KVERS[@]}"; do
	unpack_kernel "$kver"
	series=$(echo "$kver" | cut -d. -f1,2)
	echo "$series $kver $CACHE/kernels/$kver/usr/src/linux-headers-$kver" >>"$LIST"
done
mv "$LIST" "$CACHE/kernels.list"

# Drop kernels that are no longer the ones checked.
for dir in "$CACHE"/kernels/*/; do
	kver=$(basename "$dir")
	[ -f "$dir/.kmq-stamp" ] || continue
	grep -q " $kver " "$CACHE/kernels.list" && continue
	say "removing old $dir"
	rm -rf "$dir"
done

# checkpatch.pl and the kselftest headers, from linux-source-6.12.
fetch_source() {
	local pkg=linux-source-6.12 ver dst=$CACHE/linux-source tmp
	local files=(scripts/checkpatch.pl scripts/spelling.txt
		     scripts/const_structs.checkpatch
		     tools/testing/selftests/kselftest_harness.h
		     tools/testing/selftests/kselftest.h)

	# Reuse whatever version is there: checkpatch moves slowly.
	if [ -f "$dst/.kmq-stamp" ]; then
		say "reusing $dst ($(cat "$dst/.kmq-stamp"))"
		return
	fi
	ver=$(candidate $pkg)
	[ -n "$ver" ] || die "apt offers no $pkg"
	say "downloading $pkg=$ver (about 150 MB)"
	tmp=$CACHE/.tmp-linux-source
	rm -rf "$tmp"
	mkdir -p "$tmp/debs" "$tmp/tree"
	(cd "$tmp/debs" && apt-get download -q "${APT_OPTS[@]}" "$pkg=$ver" >&2)
	dpkg-deb --fsys-tarfile "$tmp"/debs/*.deb |
		tar -xO "./usr/src/$pkg.tar.xz" | xz -dc |
		tar -x -C "$tmp/tree" --strip-components=1 "${files[@]/#/$pkg/}"
	echo "$pkg=$ver" >"$tmp/tree/.kmq-stamp"
	rm -rf "$dst"
	mv "$tmp/tree" "$dst"
	rm -rf "$tmp"
	say "extracted checkpatch and kselftest headers into $dst"
}

[ $SOURCE -eq 1 ] && fetch_source
exit 0
