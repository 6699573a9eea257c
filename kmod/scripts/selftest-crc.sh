#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# selftest-crc.sh - the constants of kmq.ko's load-time format self check.
#
# Lays out, byte by byte from the table in uapi/kmq_record.h and without
# kmq's own code, the record kmod/kmq_main.c encodes at load, and prints
# its size, its BODYCRC and the zlib crc32() of the whole record (taken
# from a gzip trailer) as the #defines kmq_main.c carries. check-module.sh
# compares them with kmq_main.c.
set -euo pipefail

body='kmq self check'
topic='kmq-selftest'
props=$'TAGS\001check\002'

byte() { printf '%b' "\\0$(printf '%03o' $(($1 & 255)))"; }
be16() { byte $(($1 >> 8)); byte "$1"; }
be32() { be16 $(($1 >> 16)); be16 "$1"; }
be64() { be32 $(($1 >> 32)); be32 "$1"; }
host() { printf '\177\000\000\001'; be32 10911; }	# 127.0.0.1:10911
# zlib crc32() of stdin, from the little-endian CRC in gzip's trailer.
crc32() {
	gzip -c | tail -c 8 | head -c 4 | od -An -tu1 |
		awk '{ printf "%u\n", $1 + $2 * 256 + $3 * 65536 + $4 * 16777216 }'
}

size=$((91 + ${#body} + ${#topic} + ${#props}))
body_crc=$(($(printf '%s' "$body" | crc32) & 0x7fffffff))

record() {
	be32 $size
	be32 0xdaa320a7		# KMQ_MAGIC_V1
	be32 $body_crc
	be32 3			# QUEUEID
	be32 0x5a		# FLAG
	be64 42			# QUEUEOFFSET
	be64 4096		# PHYSICALOFFSET
	be32 0			# SYSFLAG
	be64 1700000000000	# BORNTIMESTAMP
	host
	be64 1700000000007	# STORETIMESTAMP
	host
	be32 1			# RECONSUMETIMES
	be64 0			# PREPARED TRANSACTION OFFSET
	be32 ${#body}
	printf '%s' "$body"
	byte ${#topic}
	printf '%s' "$topic"
	be16 ${#props}
	printf '%s' "$props"
}

[ "$(record | wc -c)" -eq $size ] || { echo "record is not $size bytes" >&2; exit 1; }
printf '#define KMQ_SELFTEST_SIZE\t%u\n' $size
printf '#define KMQ_SELFTEST_BODY_CRC\t0x%08x\n' $body_crc
printf '#define KMQ_SELFTEST_CRC\t0x%08x\n' "$(record | crc32)"
