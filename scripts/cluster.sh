#!/usr/bin/env bash
# Demo: a redundant ActiveMQ (a shared-storage pair: one serves, the other takes over if it dies) and three
# tracker instances (IDs 1, 2, 3) on this host, all listening on the multicast group 239.192.0.1:PORT and sharing
# the service address 127.0.0.1:PORT (held by the Master); each instance lists both brokers in failover order.
# Logs of every instance are interleaved on stderr. Ctrl-C stops the trackers (each empties its repository)
# and the brokers.   Usage: scripts/cluster.sh [PORT] [BROKER_PORTS] [tracker flags…]
#   (defaults 6969 and 61613,61614; BROKER_PORTS of one port starts a single broker instead of a pair)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-6969}
broker_ports=${2:-61613,61614}
[ -f dist/main.js ] || npm run build >&2

bash scripts/broker.sh ensure-installed >&2
brokers=$(bash scripts/broker-up.sh "$broker_ports" .broker)
pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  bash scripts/broker-up.sh stop .broker >&2 || true
}
trap cleanup INT TERM EXIT

for id in 1 2 3; do
  node dist/main.js --id "$id" --broker "$brokers" --broker-credentials .broker/credentials --port "$port" --cluster-size 3 \
    --db "data/cluster-$id.sqlite" --headless "${@:3}" &
  pids+=($!)
done
echo "cluster up: peers use udp://239.192.0.1:$port (group) or udp://127.0.0.1:$port (service address); Ctrl-C stops it" >&2
wait
