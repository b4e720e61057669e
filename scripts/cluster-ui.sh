#!/usr/bin/env bash
# Demo with the terminal UI: a redundant ActiveMQ pair (as in cluster.sh) and trackers 1, 2, 3, each in its own tmux pane (one window,
# three panes). Switch panes with Ctrl-b then an arrow key; in a pane, 1/2/3 switch tabs and, on the Config
# tab, f simulates a lost connection (watch the others elect a new Master). `q` in every pane, or
# `tmux kill-session -t tracker-cluster`, ends the demo; the broker is stopped when the session ends.
#   Usage: scripts/cluster-ui.sh [PORT] [BROKER_PORTS]     (defaults 6969 and 61613,61614)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-6969}
broker_ports=${2:-61613,61614}
[ -f dist/main.js ] || npm run build >&2
command -v tmux >/dev/null || { echo "tmux is needed: apt-get install -y tmux" >&2; exit 1; }
bash scripts/broker.sh ensure-installed >&2
brokers=$(bash scripts/broker-up.sh "$broker_ports" .broker)
run() { echo "node dist/main.js --id $1 --broker $brokers --broker-credentials .broker/credentials --port $port --cluster-size 3 --db data/cluster-$1.sqlite"; }
tmux new-session -d -s tracker-cluster -x 240 -y 60 "$(run 1)"
tmux split-window -h -t tracker-cluster "$(run 2)"
tmux split-window -h -t tracker-cluster "$(run 3)"
tmux select-layout -t tracker-cluster even-horizontal
tmux attach -t tracker-cluster || true
# Detached or ended: stop the broker once no tracker pane is left.
while tmux has-session -t tracker-cluster 2>/dev/null; do sleep 1; done
bash scripts/broker-up.sh stop .broker >&2
