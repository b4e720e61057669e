#!/usr/bin/env bash
# Record a UDP tracker's traffic to a pcap file, for scripts/replay.ts:
#
#   scripts/record.sh PORT OUT.pcap [IFACE]      (IFACE defaults to lo)
#
# Captures `udp port PORT` with tcpdump (installed from Debian when missing) until SIGINT or SIGTERM, then
# lets tcpdump finish the file. Prints tcpdump's "listening on ..." line on stderr once capturing, so a caller
# can wait for it. Only loopback traffic, or any interface inside a network namespace of our own, is
# recorded: a capture on a real network interface of this machine is refused.
set -euo pipefail

usage() { echo "usage: $0 PORT OUT.pcap [IFACE]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
port=$1 out=$2 iface=${3:-lo}
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || { echo "error: bad port '$port'" >&2; usage; }
[ -e "/sys/class/net/$iface" ] || { echo "error: no interface '$iface'" >&2; exit 2; }

# IFF_LOOPBACK is 0x8 in the interface flags. Elsewhere, only a namespace made with `ip netns` counts as ours.
flags=$(cat "/sys/class/net/$iface/flags")
if (( (flags & 0x8) == 0 )) && [ -z "$(ip netns identify $$ 2>/dev/null || true)" ]; then
  echo "error: '$iface' is not a loopback interface and this is not a network namespace of our own; refusing to capture" >&2
  exit 2
fi

if ! command -v tcpdump >/dev/null 2>&1; then
  echo "installing tcpdump" >&2
  { apt-get install -y tcpdump || { apt-get update && apt-get install -y tcpdump; }; } >&2 \
    || { echo "error: could not install tcpdump" >&2; exit 1; }
fi

# -U with --immediate-mode: every packet reaches the file at once, so nothing is lost when we are stopped.
# -Z root: Debian's tcpdump otherwise drops to user tcpdump before opening OUT, which it then may not create.
tcpdump -i "$iface" -n -U --immediate-mode -Z root -w "$out" "udp port $port" &
pid=$!
# A background job of a script ignores SIGINT, so tcpdump is told with SIGTERM (it ends cleanly on either).
stop() { kill -TERM "$pid" 2>/dev/null || true; }
trap stop INT TERM
# `wait` returns early when a trapped signal arrives; then wait again for tcpdump to close the file.
status=0
wait "$pid" || status=$?
if kill -0 "$pid" 2>/dev/null; then status=0; wait "$pid" || status=$?; fi
# Stopped by us, tcpdump exits 0 (or 143 when the signal came before its handler was set up).
[ "$status" -eq 143 ] && status=0
exit "$status"
