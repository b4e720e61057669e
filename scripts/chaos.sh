#!/usr/bin/env bash
# `npm run chaos -- --minutes N [--seed S] [--preload P]`: a randomized fault schedule against a real 3-node
# cluster on a broker pair of its own (scripts/chaos.ts). Installs ActiveMQ from Debian when missing and builds
# dist/ when it lacks the runner; everything it starts is stopped at the end, on errors and on Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/broker.sh ensure-installed
if [[ ! -d node_modules ]]; then
  echo "chaos.sh: installing the project's dependencies (npm install; builds dist/)" >&2
  npm install >&2
fi
if [[ ! -f dist/main.js || ! -f dist/scripts/chaos.js ]]; then
  echo "chaos.sh: building dist/" >&2
  npm run build >&2
fi
# --preload fills the cluster with the C load generator: gcc from Debian when missing (the run compiles
# scripts/loadgen.c into its work folder).
if [[ " $* " == *" --preload"* ]] && ! command -v gcc >/dev/null; then bash scripts/ensure-loadgen.sh; fi
exec node dist/scripts/chaos.js "$@"
