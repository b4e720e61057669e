#!/usr/bin/env bash
# Reference tracker for the benchmark: opentracker (Debian package, C), UDP only, on 127.0.0.1.
#
#   scripts/reference/opentracker.sh PORT DIR
#
# DIR must hold whitelist.txt (40 hex characters a line): Debian builds opentracker whitelist-only, and an
# announce for a hash not listed gets a truncated 8-byte reply. opentracker chroots into DIR (as root) before
# it reads the whitelist, so the path is given relative to DIR; it then drops to `nobody`. It prints nothing
# when it is ready: probe it with a connect request. The script execs opentracker, so its PID is the tracker's
# and SIGTERM stops it.
set -euo pipefail
(($# == 2)) || { echo "usage: $0 PORT DIR" >&2; exit 2; }
port=$1
dir=$(cd "$2" && pwd -P)
[[ $port =~ ^[0-9]+$ ]] || { echo "opentracker.sh: bad port: $port" >&2; exit 2; }
[[ -f $dir/whitelist.txt ]] || { echo "opentracker.sh: $dir/whitelist.txt missing" >&2; exit 2; }
command -v opentracker >/dev/null || { echo "opentracker.sh: opentracker not installed (apt-get install opentracker)" >&2; exit 1; }
# `nobody` must be able to enter DIR after the privilege drop (mkdtemp makes it 0700).
chmod 755 "$dir"
chmod 644 "$dir/whitelist.txt"
if [[ $(id -u) -eq 0 ]]; then
  exec opentracker -i 127.0.0.1 -P "$port" -d "$dir" -w whitelist.txt -u nobody
fi
# Not root: no chroot, no user switch; opentracker then reads the whitelist relative to DIR anyway.
cd "$dir"
exec opentracker -i 127.0.0.1 -P "$port" -d "$dir" -w whitelist.txt
