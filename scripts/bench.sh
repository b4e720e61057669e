#!/usr/bin/env bash
# Benchmark against reference trackers, end to end on a clean machine (`npm run bench -- [flags]`):
#   - installs what is missing: opentracker (apt-get), ActiveMQ (scripts/broker.sh ensure-installed),
#     bittorrent-tracker@11.2.3 from npm into .bench/ (its own prefix, --ignore-scripts: not a project dependency);
#   - compiles the load generator scripts/loadgen.c with gcc (installed with apt-get when missing) into
#     .bench/loadgen;
#   - builds the project when dist/ lacks the entry or the benchmark;
#   - runs node dist/scripts/bench.js with the flags given (see --help): single instance, 3-node cluster,
#     opentracker, a Node dgram server (the floor) and bittorrent-tracker one after another on loopback; one
#     table on stdout, JSON in bench-results.json. Every process it starts is stopped at the end, on errors and on Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly BT_VERSION=11.2.3
readonly PREFIX=.bench

say() { echo "bench.sh: $*" >&2; }
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "need root to run: $*"; exit 1
  fi
}

if ! command -v opentracker >/dev/null; then
  say "installing opentracker with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y opentracker
  # The package enables a system service (whitelist-only tracker on port 6969, all interfaces). The
  # benchmark starts its own on loopback; do not leave a tracker running on the machine behind it.
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    say "disabling the opentracker system service the package enabled"
    as_root systemctl disable --now opentracker.service || true
  fi
fi

bash scripts/broker.sh ensure-installed

bash scripts/ensure-loadgen.sh

installed=$(node -e "try{process.stdout.write(require('./$PREFIX/node_modules/bittorrent-tracker/package.json').version)}catch{}")
if [[ $installed != "$BT_VERSION" ]]; then
  say "installing bittorrent-tracker@$BT_VERSION into $PREFIX/ (npm, --ignore-scripts)"
  mkdir -p "$PREFIX"
  npm install --prefix "$PREFIX" --ignore-scripts --no-audit --no-fund --save-exact "bittorrent-tracker@$BT_VERSION" >&2
fi

if [[ ! -d node_modules ]]; then
  say "installing the project's dependencies (npm install; builds dist/)"
  npm install >&2
fi
if [[ ! -f dist/main.js || ! -f dist/scripts/bench.js || ! -f dist/scripts/load.js ]]; then
  say "building dist/"
  npx tsc -p tsconfig.json >&2 || say "tsc reported errors (it still emitted dist/)"
  node scripts/write-entry.mjs
  [[ -f dist/scripts/bench.js ]] || { say "build failed: dist/scripts/bench.js missing"; exit 1; }
fi

exec node dist/scripts/bench.js --loadgen "$PREFIX/loadgen" "$@"
