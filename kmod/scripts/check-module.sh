#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-module.sh - kmq.ko's static checks, as TAP (runs under prove).
#
#   build     kmq.ko for Debian's newest 6.1 and 6.12 amd64 kernels with
#             W=1 C=1 (sparse): not ok on any warning
#   checkpatch --strict over every .c/.h under kmod/ uapi/ daemon/ tools/
#             selftests/, one test per file
#   dkms      dkms add/build/remove of the tree for both kernels (root;
#             replaces a kmq/<ver> already added to this machine's dkms)
#
# Usage: check-module.sh [-c CACHE] [build] [checkpatch] [dkms]
#   no part named runs all three; -c as in fetch-kernel.sh.
# The kernels come from fetch-kernel.sh (run first, reuses its cache).
# Missing Debian tools (sparse, pahole, dkms, ...) are installed as root.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPTS=$ROOT/kmod/scripts
CACHE=${KMQ_CACHE:-$ROOT/.cache}
PARTS=()

while [ $# -gt 0 ]; do
	case $1 in
	-c) CACHE=$2; shift 2 ;;
	build|checkpatch|dkms) PARTS+=("$1"); shift ;;
	*) echo "usage: $0 [-c CACHE] [build] [checkpatch] [dkms]" >&2; exit 2 ;;
	esac
done
[ ${#PARTS[@]} -gt 0 ] || PARTS=(build checkpatch dkms)
want() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }

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
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }
bail() { echo "Bail out! $*"; exit 1; }

WORK=$(mktemp -d /tmp/kmq-check.XXXXXX)
CLEANUP=()
cleanup() {
	local i

	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[i]}" >/dev/null 2>&1
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

# Debian packages behind the commands used here; installed when missing.
need() {	# need <command> <package> ...
	local missing=() cmd

	while [ $# -gt 1 ]; do
		cmd=$1
		command -v "$cmd" >/dev/null || missing+=("$2")
		shift 2
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || bail "missing packages: ${missing[*]}"
	echo "# installing ${missing[*]}"
	apt-get update -qq >"$WORK/apt.log" 2>&1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
		{ diag <"$WORK/apt.log"; bail "apt-get install ${missing[*]}"; }
}

need make make gcc-12 gcc-12 perl perl xz xz-utils dpkg-deb dpkg
want build && need sparse sparse pahole pahole

src_opt=--no-source
want checkpatch && src_opt=
"$SCRIPTS/fetch-kernel.sh" -c "$CACHE" $src_opt >"$WORK/fetch.log" 2>&1 ||
	{ diag <"$WORK/fetch.log"; bail "fetch-kernel.sh failed"; }
mapfile -t KERNELS <"$CACHE/kernels.list"
[ ${#KERNELS[@]} -gt 0 ] || bail "no kernels in $CACHE/kernels.list"

# --- build ---------------------------------------------------------------
#
# Each kernel builds a fresh copy of the module sources, so the work tree
# is left alone and no object of one kernel leaks into the other. Only
# kmq's own files are compiled by an M= build, so every compiler, sparse
# or modpost warning in the output is kmq's: any one fails the test
# (gcc's and sparse's "file:line: warning:", modpost's "WARNING: modpost:",
# make's "*** ... Error").
WARN_RE='(^|: )(warning|error|WARNING|ERROR):|\*\*\*'

build_one() {	# build_one <series> <kver> <kdir>
	local series=$1 kver=$2 kdir=$3 dir=$WORK/build-$1 log=$WORK/build-$1.log
	local st=0

	mkdir -p "$dir"
	cp -r "$ROOT/Kbuild" "$ROOT/kmod" "$ROOT/uapi" "$dir/"
	make -C "$kdir" M="$dir" W=1 C=1 -j"$(nproc)" modules >"$log" 2>&1 ||
		st=1
	[ -f "$dir/kmq.ko" ] || st=1
	grep -Eq "$WARN_RE" "$log" && st=1
	ok $st "build $series W=1 C=1 ($kver)"
	if [ $st -ne 0 ]; then
		grep -E "$WARN_RE|: note: |In function|included from" "$log" |
			sed "s|$dir/||g" | head -n 60 | diag
	fi
}

if want build; then
	# The self check's constants must be what the reference layout gives.
	"$SCRIPTS/selftest-crc.sh" >"$WORK/selftest.h" 2>&1
	st=0
	while read -r _ name val; do
		grep -Eq "^#define ${name}[[:space:]]+${val}\$" "$ROOT/kmod/kmq_main.c" ||
			{ st=1; echo "$name should be $val" | diag; }
	done <"$WORK/selftest.h"
	ok $st "self check constants in kmq_main.c match selftest-crc.sh"

	for line in "${KERNELS[@]}"; do
		# shellcheck disable=SC2086
		build_one $line
	done
fi

# --- checkpatch ----------------------------------------------------------
#
# kmod/ and the shared format code in uapi/ are kernel code: no check is
# ignored. The userspace C (uapi/'s subfolders, daemon/, tools/,
# selftests/) follows the same style, less the checks whose advice
# cannot be followed outside the kernel:
#   PREFER_KERNEL_TYPES             u8/u32/... are kernel typedefs; libc has
#                                   uint8_t/uint32_t
#   PREFER_DEFINED_ATTRIBUTE_MACRO  __printf(), __aligned(), __packed come
#                                   from the kernel's compiler_attributes.h
#   CAMELCASE                       names userspace must use as they are:
#                                   PRIu64 (libc), LLVMFuzzerTestOneInput
#   BIT_MACRO                       BIT() is a kernel macro
#   SSCANF_TO_KSTRTO CONSIDER_KSTRTO  kstrto*() are kernel functions
#   STRCPY STRLCPY STRNCPY          they point at strscpy(), kernel only
#   OOM_MESSAGE                     the kernel warns on a failed allocation
#                                   by itself; malloc() does not
#   VOLATILE                        C requires volatile sig_atomic_t for a
#                                   signal handler's flag; READ_ONCE() and
#                                   friends are kernel only
USER_IGNORE=PREFER_KERNEL_TYPES,PREFER_DEFINED_ATTRIBUTE_MACRO,CAMELCASE
USER_IGNORE=$USER_IGNORE,BIT_MACRO,SSCANF_TO_KSTRTO,CONSIDER_KSTRTO
USER_IGNORE=$USER_IGNORE,STRCPY,STRLCPY,STRNCPY,OOM_MESSAGE,VOLATILE

if want checkpatch; then
	CHECKPATCH=$CACHE/linux-source/scripts/checkpatch.pl
	[ -f "$CHECKPATCH" ] || bail "no $CHECKPATCH"
	# checkpatch leaves a CamelCase cache (.checkpatch-camelcase.*) in
	# its working folder and, for it, lists <root>/include: run it in a
	# scratch folder that links the source folders under their own names.
	mkdir -p "$WORK/cp/include"
	for d in kmod uapi daemon tools selftests; do
		[ -d "$ROOT/$d" ] && ln -s "$ROOT/$d" "$WORK/cp/$d"
	done
	cd "$WORK/cp" || bail "cd $WORK/cp"
	mapfile -t FILES < <(find -L kmod uapi daemon tools selftests \
			     -name '*.[ch]' 2>/dev/null | LC_ALL=C sort)
	KFILES=()
	UFILES=()
	for f in "${FILES[@]}"; do
		case $f in
		uapi/*/*) UFILES+=("$f") ;;
		kmod/*|uapi/*) KFILES+=("$f") ;;
		*) UFILES+=("$f") ;;
		esac
	done
	# One checkpatch run per group (perl starts slowly), then one test
	# per file from the terse "file:line: TYPE: message" lines.
	CP_OPTS=(--strict --no-tree --root="$WORK/cp" --terse --show-types
		 --no-summary)
	: >"$WORK/cp.log"
	[ ${#KFILES[@]} -gt 0 ] &&
		perl "$CHECKPATCH" "${CP_OPTS[@]}" -f "${KFILES[@]}" \
			>>"$WORK/cp.log" 2>&1
	[ ${#UFILES[@]} -gt 0 ] &&
		perl "$CHECKPATCH" "${CP_OPTS[@]}" --ignore "$USER_IGNORE" \
			-f "${UFILES[@]}" >>"$WORK/cp.log" 2>&1
	for f in "${FILES[@]}"; do
		awk -v f="$f:" 'index($0, f) == 1' "$WORK/cp.log" \
			>"$WORK/cp-one.log"
		st=0
		[ -s "$WORK/cp-one.log" ] && st=1
		ok $st "checkpatch $f"
		diag <"$WORK/cp-one.log"
	done
	# Anything not tied to a file (a checkpatch failure) fails too.
	grep -v -E '^[^ :]+:[0-9]+: ' "$WORK/cp.log" >"$WORK/cp-rest.log"
	st=0
	[ -s "$WORK/cp-rest.log" ] && st=1
	ok $st "checkpatch ran cleanly"
	diag <"$WORK/cp-rest.log"
	cd - >/dev/null || true
fi

# --- dkms ----------------------------------------------------------------
#
# dkms builds against /lib/modules/<kver>/build. For a kernel this machine
# has no headers for, that link is made to the unpacked headers and taken
# away afterwards, with anything else this test created.
dkms_all() {
	local ver kver series kdir log ko st

	ver=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$ROOT/dkms.conf")
	[ -n "$ver" ] || bail "no PACKAGE_VERSION in dkms.conf"

	# Leftovers of an interrupted run.
	if [ -n "$(dkms status -m kmq -v "$ver" 2>/dev/null)" ]; then
		dkms remove -m kmq -v "$ver" --all >/dev/null 2>&1
	fi
	rm -rf "/usr/src/kmq-$ver"

	mkdir -p "/usr/src/kmq-$ver"
	CLEANUP+=("rm -rf /usr/src/kmq-$ver")
	tar -C "$ROOT" -c --exclude=.git --exclude=.cache --exclude=./build \
		--exclude='*.o' --exclude='*.ko' --exclude='*.ko.xz' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
		--exclude=modules.order --exclude=Module.symvers . |
		tar -C "/usr/src/kmq-$ver" -x
	log=$WORK/dkms-add.log
	dkms add -m kmq -v "$ver" >"$log" 2>&1
	st=$?
	CLEANUP+=("dkms remove -m kmq -v $ver --all")
	ok $st "dkms add kmq/$ver"
	[ $st -eq 0 ] || { diag <"$log"; return; }

	for line in "${KERNELS[@]}"; do
		read -r series kver kdir <<<"$line"
		if [ ! -e "/lib/modules/$kver/build" ]; then
			if [ ! -d "/lib/modules/$kver" ]; then
				mkdir -p "/lib/modules/$kver"
				CLEANUP+=("rmdir /lib/modules/$kver")
			fi
			ln -sfn "$kdir" "/lib/modules/$kver/build"
			CLEANUP+=("rm -f /lib/modules/$kver/build")
		fi
		log=$WORK/dkms-$series.log
		dkms build -m kmq -v "$ver" -k "$kver" >"$log" 2>&1
		st=$?
		ko=$(find "/var/lib/dkms/kmq/$ver/$kver" -path '*/module/*' \
			\( -name kmq.ko -o -name kmq.ko.xz \) 2>/dev/null | head -n 1)
		[ -n "$ko" ] || st=1
		ok $st "dkms build $series ($kver)"
		if [ $st -ne 0 ]; then
			diag <"$log"
			diag <"/var/lib/dkms/kmq/$ver/build/make.log" 2>/dev/null
		else
			echo "$ko" | diag
			modinfo "$ko" | grep -E "^(vermagic|signer|sig_hashalgo):" | diag
		fi
	done

	dkms remove -m kmq -v "$ver" --all >"$WORK/dkms-remove.log" 2>&1
	st=$?
	[ -e "/var/lib/dkms/kmq/$ver" ] && st=1
	ok $st "dkms remove kmq/$ver"
	[ $st -eq 0 ] || diag <"$WORK/dkms-remove.log"
}

if want dkms; then
	if [ "$(id -u)" -ne 0 ]; then
		skip "dkms" "needs root"
	else
		need dkms dkms modinfo kmod openssl openssl
		dkms_all
	fi
fi

echo "1..$N"
[ $FAILED -eq 0 ]
