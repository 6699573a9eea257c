#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# install-deps.sh - install the Debian packages kmq's build and tests need.
# As root it runs apt-get; otherwise it prints the exact command and fails
# if anything is missing.
set -euo pipefail

pkgs=(
	# userspace build and TAP suites
	build-essential binutils linux-libc-dev pkg-config perl python3
	libdeflate-dev libjansson-dev liburing-dev zlib1g-dev
	# fuzz targets (libFuzzer lives in libclang-rt)
	clang libclang-rt-14-dev
	# module builds against Debian's headers, sparse, dkms
	gcc-12 make sparse pahole xz-utils dpkg gzip dkms kmod openssl
	# make kunit: the debug kernel from linux-source-6.12, run in QEMU
	flex bison bc libelf-dev libssl-dev cpio busybox-static qemu-system-x86
	# make vmtest: selftests in QEMU on a disk image, static test binaries
	e2fsprogs libnl-genl-3-dev libc6-dev
)

# The interop suite drives the real RocketMQ client ali-ons (npm): it needs
# node and npm, from Debian unless the machine already has them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	     grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "kmq: missing packages; run as root:" >&2
	echo "  apt-get update && $cmd" >&2
	exit 1
fi
echo "kmq: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$cmd -qq
