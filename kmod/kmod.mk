# SPDX-License-Identifier: GPL-2.0-only
# kmod/kmod.mk - building kmq.ko out of tree (the sources are listed in Kbuild).

KDIR	?= /lib/modules/$(shell uname -r)/build

.PHONY: module
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
