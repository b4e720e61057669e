#!/usr/bin/env bash
# Joining a loaded Master (`npm run bench:join -- [--peers N] [--load-window W] …`, see scripts/join-bench.ts):
#   - installs ActiveMQ when missing (scripts/broker.sh ensure-installed) and gcc (apt-get) for the load generator;
#   - compiles scripts/loadgen.c into .bench/loadgen;
#   - builds the project when dist/ lacks the entry or the benchmark;
#   - runs node dist/scripts/join-bench.js with the flags given. It starts its own broker and three trackers on
#     loopback and stops every process it started at the end, on errors, on Ctrl-C and at its hard timeout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly PREFIX=.bench

say() { echo "join-bench.sh: $*" >&2; }
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "need root to run: $*"; exit 1
  fi
}

bash scripts/broker.sh ensure-installed

if ! command -v gcc >/dev/null; then
  say "installing gcc with apt-get (for the load generator)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y gcc libc6-dev
fi
mkdir -p "$PREFIX"
if [[ ! -x $PREFIX/loadgen || scripts/loadgen.c -nt $PREFIX/loadgen ]]; then
  say "compiling scripts/loadgen.c"
  gcc -O2 -Wall -o "$PREFIX/loadgen" scripts/loadgen.c
fi

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
