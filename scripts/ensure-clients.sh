#!/usr/bin/env bash
# Install the real BitTorrent clients that spec/process/real-clients.spec.ts drives, from Debian, if missing:
#   python3-libtorrent  imported by /usr/bin/python3 (a pyenv python3 earlier on PATH lacks it)
#   aria2               aria2c
#   iproute2            `ip`, to bring up loopback in the aria2 test's network namespace
# Idempotent: does nothing when all are there. Runs apt-get update only if a plain install fails (a stale or
# empty package index). Exits non-zero with a message naming what is still missing.
#
#   scripts/ensure-clients.sh
set -euo pipefail

die() { echo "ensure-clients.sh: $*" >&2; exit 1; }
say() { echo "ensure-clients.sh: $*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $*"
  fi
}

apt_get() { as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }

# The Debian packages still missing, one a line.
missing() {
  /usr/bin/python3 -c 'import libtorrent' >/dev/null 2>&1 || echo python3-libtorrent
  command -v aria2c >/dev/null || echo aria2
  command -v ip >/dev/null || echo iproute2
}

main() {
  local want
  mapfile -t want < <(missing)
  ((${#want[@]} == 0)) && return 0
  say "installing ${want[*]} with apt-get"
  if ! apt_get install -y "${want[@]}" >&2; then
    say "install failed; updating the package index and retrying"
    apt_get update >&2 || die "apt-get update failed"
    apt_get install -y "${want[@]}" >&2 || die "apt-get install ${want[*]} failed"
  fi
  mapfile -t want < <(missing)
  ((${#want[@]} == 0)) || die "still missing after install: ${want[*]}"
  say "installed"
}

main "$@"
