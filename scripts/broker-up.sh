#!/usr/bin/env bash
# For the demos: start a broker pair (PORTS "P1,P2") or a single broker (PORTS "P") in DIR and print the
# --broker value for the trackers (stomp URLs in failover order); `broker-up.sh stop DIR` stops what is there.
#   Usage: scripts/broker-up.sh PORTS DIR | scripts/broker-up.sh stop DIR
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $1 == stop ]]; then
  if [[ -d $2/a ]]; then bash scripts/broker.sh stop-pair --dir "$2"; else bash scripts/broker.sh stop --dir "$2"; fi
  exit 0
fi
if [[ $1 == *,* ]]; then
  ports=$(bash scripts/broker.sh start-pair --ports "$1" --dir "$2" | tail -n 1)
  echo "stomp://127.0.0.1:${ports%,*},stomp://127.0.0.1:${ports#*,}"
else
  port=$(bash scripts/broker.sh start --port "$1" --dir "$2" | tail -n 1)
  echo "stomp://127.0.0.1:$port"
fi
