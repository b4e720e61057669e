#!/usr/bin/env bash
# The C load generator the benchmarks drive trackers with: gcc from Debian when missing (as root, or through
# sudo), scripts/loadgen.c compiled into .bench/loadgen when missing or older than its source.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "ensure-loadgen.sh: $*" >&2; }
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "need root to run: $*"; exit 1
  fi
}
if ! command -v gcc >/dev/null; then
  say "installing gcc with apt-get (for the load generator)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y gcc libc6-dev
fi
mkdir -p .bench
if [[ ! -x .bench/loadgen || scripts/loadgen.c -nt .bench/loadgen ]]; then
  say "compiling scripts/loadgen.c"
  gcc -O2 -Wall -o .bench/loadgen scripts/loadgen.c
fi
