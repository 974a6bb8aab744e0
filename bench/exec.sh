#!/usr/bin/env bash
# `exec` of `true` in a running container, side by side in one hyperfine run (as root):
# berth CLI → berthd, docker CLI → berthd, docker CLI → dockerd 20.10 (its own
# containerd and runc), and `runc exec` straight on a bundle.
#
# Both daemons run privately under one temp directory (their own roots, sockets, and
# for Docker its own containerd; no bridge, no iptables), and are stopped by pid with
# everything they made removed on exit. SKIP_DOCKER=1 measures berth alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/daemons.sh

berth run -d --name bench-exec --network none busybox sleep 600 >/dev/null
cmds=(-n "berth exec" "$rel/berth -H unix://$tmp/berth.sock exec bench-exec true"
      -n "docker CLI → berthd" "env DOCKER_HOST=unix://$tmp/berth.sock $docker_cli exec bench-exec true")
if [[ -n $with_docker ]]; then
  docker run -d --name bench-exec --network none busybox sleep 600 >/dev/null
  cmds+=(-n "docker CLI → dockerd" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli exec bench-exec true")
fi
if command -v runc >/dev/null; then
  "$rel/berth-fixture" bundle "$tmp/bundle" -- sleep 600 >/dev/null
  sed -i 's/"terminal": *true/"terminal": false/' "$tmp/bundle/config.json"
  runc --root "$tmp/runc" run -d --bundle "$tmp/bundle" bench-runc >/dev/null 2>&1 </dev/null && runc_started=1
  [[ -n ${runc_started:-} ]] && cmds+=(-n "runc exec" "runc --root $tmp/runc exec bench-runc true")
fi
hyperfine -N --warmup 5 --runs "${RUNS:-100}" "${cmds[@]}"
[[ -n ${runc_started:-} ]] && runc --root "$tmp/runc" delete --force bench-runc
