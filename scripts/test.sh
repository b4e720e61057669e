#!/usr/bin/env bash
# `npm test`: install what the tests need (ActiveMQ from Debian), build, lint, start a broker on a free port for
# the suites, run every spec, always stop the broker. The last line is `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/broker.sh ensure-installed >&2 || { echo "could not install ActiveMQ"; echo "0 passed, 1 failed"; exit 1; }
# Debian packages the suites drive: tmux (a real pseudo-terminal for the UI test), iproute2 (network namespaces
# for the partition test).
apt_install() {
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "$@" || { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "$@"; }; } >&2
}
command -v tmux >/dev/null 2>&1 || apt_install tmux || { echo "could not install tmux"; echo "0 passed, 1 failed"; exit 1; }
command -v ip >/dev/null 2>&1 || apt_install iproute2 || { echo "could not install iproute2"; echo "0 passed, 1 failed"; exit 1; }
# gcc for the C load generator that fills a cluster in the join and chaos suites (scripts/loadgen.c).
command -v gcc >/dev/null 2>&1 || apt_install gcc libc6-dev || { echo "could not install gcc"; echo "0 passed, 1 failed"; exit 1; }
# Real BitTorrent clients for the end-to-end suite: python3-libtorrent and aria2.
bash scripts/ensure-clients.sh >&2 || { echo "could not install the real clients"; echo "0 passed, 1 failed"; exit 1; }
npm run build >&2 || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
# The linter (Biome: lint rules and formatting) counts as one test in the totals; run-specs adds its row.
lint_started=$(date +%s%N)
npm run -s lint
export LINT_EXIT=$?
export LINT_MS=$(( ($(date +%s%N) - lint_started) / 1000000 ))

broker_dir=$(mktemp -d /tmp/tracker-test-broker.XXXXXX)
cleanup() { bash scripts/broker.sh stop --dir "$broker_dir" >/dev/null 2>&1; rm -rf "$broker_dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
port=$(bash scripts/broker.sh start --port 0 --dir "$broker_dir" | tail -n 1)
if [[ ! "$port" =~ ^[0-9]+$ ]]; then echo "broker did not start"; echo "0 passed, 1 failed"; exit 1; fi
export TEST_BROKER_URL="stomp://127.0.0.1:$port"
# The broker refuses unauthenticated clients: the instances and the specs' own clients log in with this.
export TEST_BROKER_CREDENTIALS="$broker_dir/credentials"
echo "test broker at $TEST_BROKER_URL" >&2

node dist/scripts/run-specs.js dist/spec "${1:-}"
