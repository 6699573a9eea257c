# SPDX-License-Identifier: GPL-2.0-only
# tools/tools.mk - kmq-bench (store mode for now).
