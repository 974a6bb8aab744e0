#!/usr/bin/env bash
# `stats --no-stream` of many running containers (as root): 100 berth containers, the
# berth CLI and the docker CLI against berthd; Docker 20.10 with 20 containers (its
# one-shot stats wait a sampling interval per container), side by side in one run.
#
# Both daemons run privately under one temp directory (see bench/lib/daemons.sh) and
# are stopped by pid with everything they made removed on exit. SKIP_DOCKER=1 measures
# berth alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/daemons.sh

for i in $(seq 100); do berth run -d --network none busybox sleep 600 >/dev/null; done
cmds=(-n "berth stats --no-stream (100)" "$rel/berth -H unix://$tmp/berth.sock stats --no-stream"
      -n "docker CLI → berthd (100)" "env DOCKER_HOST=unix://$tmp/berth.sock $docker_cli stats --no-stream")
if [[ -n $with_docker ]]; then
  for i in $(seq 20); do docker run -d --network none busybox sleep 600 >/dev/null; done
  cmds+=(-n "docker CLI → dockerd (20)" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli stats --no-stream")
fi
hyperfine -N --warmup 2 --runs "${RUNS:-10}" "${cmds[@]}"
