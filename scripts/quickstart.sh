#!/usr/bin/env bash
# Fresh Debian machine, as root: install what berth needs, build it, start berthd (on
# /run/berth/berth.sock, data in /var/lib/berth) unless one already answers, load a
# busybox image made from Debian's busybox-static, and run a container with `berth run`.
# berthd keeps running afterwards: try `target/release/berth ps -a`, or the docker CLI
# with DOCKER_HOST=unix:///run/berth/berth.sock.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --workspace --bins --locked
bin=$PWD/target/release
if ! "$bin/berth" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  mkdir -p /run/berth
  nohup "$bin/berthd" >/run/berth/berthd.log 2>&1 &
  for _ in $(seq 200); do "$bin/berth" version >/dev/null 2>&1 && break; sleep 0.05; done
  echo "berthd started (log: /run/berth/berthd.log)"
fi
if ! "$bin/berth" image inspect busybox:latest >/dev/null 2>&1; then
  archive=$(mktemp /tmp/berth-busybox.XXXXXX.tar)
  "$bin/berth-fixture" docker-archive "$archive" --tag busybox:latest
  "$bin/berth" load -i "$archive"
  rm -f "$archive"
fi
"$bin/berth" run --rm busybox sh -c 'echo "hello from berth: pid $$ on $(hostname)"; id'
