#!/usr/bin/env bash
# Joining a loaded Master (`npm run bench:join -- [--peers N] [--load-window W] …`, see scripts/join-bench.ts):
#   - installs ActiveMQ when missing (scripts/broker.sh ensure-installed) and gcc (apt-get) for the load generator;
#   - compiles scripts/loadgen.c into .bench/loadgen (scripts/ensure-loadgen.sh);
#   - builds the project when dist/ lacks the entry or the benchmark;
#   - runs node dist/scripts/join-bench.js with the flags given. It starts its own broker and three trackers on
#     loopback and stops every process it started at the end, on errors, on Ctrl-C and at its hard timeout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly PREFIX=.bench

say() { echo "join-bench.sh: $*" >&2; }

bash scripts/broker.sh ensure-installed

bash scripts/ensure-loadgen.sh

if [[ ! -d node_modules ]]; then
  say "installing the project's dependencies (npm install; builds dist/)"
  npm install >&2
fi
if [[ ! -f dist/main.js || ! -f dist/scripts/join-bench.js ]]; then
  say "building dist/"
  npx tsc -p tsconfig.json >&2 || say "tsc reported errors (it still emitted dist/)"
  node scripts/write-entry.mjs
  [[ -f dist/scripts/join-bench.js ]] || { say "build failed: dist/scripts/join-bench.js missing"; exit 1; }
fi

exec node dist/scripts/join-bench.js --loadgen "$PREFIX/loadgen" "$@"
