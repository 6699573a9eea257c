# SPDX-License-Identifier: GPL-2.0-only
# kmod/kmod.mk - building and checking kmq.ko out of tree (the sources are
# listed in Kbuild).
#
#   make module         kmq.ko against KDIR, in place
#   make module-check   W=1 C=1 builds for Debian's 6.1 and 6.12, checkpatch
#                       over all C, dkms build for both (TAP, see
#                       kmod/scripts/check-module.sh)
#   make dkms-check     the dkms part alone
#
# The checks unpack Debian's kernel headers into KMQ_CACHE (default .cache/).

KDIR	?= /lib/modules/$(shell uname -r)/build

.PHONY: module module-check dkms-check
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

module-check:
	kmod/scripts/check-module.sh

dkms-check:
	kmod/scripts/check-module.sh dkms
