#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vminterop-ctl.sh - on the host: send one command to the interop VM's
# control agent and relay its answer. It is the KMQ_INTEROP_REMOTE command
# of daemon/tests/interop/run.sh under `make vmtest-interop`.
#
# The agent (vminterop-agent.sh, vminterop-cmd.sh) listens in the guest;
# QEMU forwards 127.0.0.1:KMQ_VMINTEROP_CTL_PORT of the host to it. One
# connection per command: the command line goes out, the answer comes back
# up to the agent's "KMQ-CTL rc=N" line, which is not printed: it is the
# exit status. No answer at all (QEMU's forwarder accepts, and closes when
# nothing listens in the guest) or none within KMQ_VMINTEROP_CTL_TIMEOUT
# seconds (default 150) is exit status 3.
#
# Usage: vminterop-ctl.sh COMMAND [ARG...]   (commands: vminterop-cmd.sh)
set -uo pipefail

PORT=${KMQ_VMINTEROP_CTL_PORT:?the host port forwarded to the agent}
TMO=${KMQ_VMINTEROP_CTL_TIMEOUT:-150}
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

if ! exec 3<>"/dev/tcp/127.0.0.1/$PORT"; then
	echo "vminterop-ctl: cannot connect to 127.0.0.1:$PORT" >&2
	exit 3
fi
printf '%s\n' "$*" >&3
rc=
end=$((SECONDS + TMO))
while [ "$SECONDS" -lt "$end" ]; do
	IFS= read -r -t "$((end - SECONDS))" line <&3 || break
	case $line in
	"KMQ-CTL rc="*) rc=${line#KMQ-CTL rc=} ;;
	*) printf '%s\n' "$line" ;;
	esac
done
exec 3>&-
case $rc in
'' | *[!0-9]*)
	echo "vminterop-ctl: no answer to \"$1\" from the VM's agent on 127.0.0.1:$PORT" >&2
	exit 3
	;;
esac
exit "$rc"
