#!/usr/bin/env bash
# berth's networking, side by side with Docker in one run (as root):
#
#   0. `run --rm busybox true` on each engine's default bridge, and berth's with
#      `--network none` (hyperfine), then berth's two alternating (medians);
#   1. 100 `run -d -p 127.0.0.1::80 busybox sleep 600` in a row, on each engine's
#      default bridge: the time, and the daemon's memory growth per published port
#      (berthd: its RSS growth over 100 runs with a port less that over 100 without;
#      Docker: dockerd's RSS growth and its docker-proxy processes');
#   2. throughput of a bounded transfer (1 GB) from a container, through its published
#      port on 127.0.0.1 and straight to the container's own address, alternating, the
#      median of each; Docker's through its userland proxy beside them.
#
# Docker runs with a bridge of the bench's own and iptables off (so that the host's
# rules are left alone): its published ports go through docker-proxy, its default.
# SKIP_DOCKER=1 measures berth alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOCKER_BRIDGE=1
source bench/lib/daemons.sh

rss() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
proxies_rss() { local t=0; for p in $(pgrep -x docker-proxy); do t=$((t + $(rss "$p"))); done; echo "$t"; }

echo "== 0. run --rm busybox true, on the default bridge"
cmds=(-n "berth, default bridge" "$rel/berth -H unix://$tmp/berth.sock run --rm busybox true"
      -n "berth, --network none" "$rel/berth -H unix://$tmp/berth.sock run --rm --network none busybox true")
if [[ -n $with_docker ]]; then
  cmds+=(-n "docker, default bridge" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli run --rm busybox true")
fi
hyperfine -N --warmup 5 --runs "${RUNS:-50}" "${cmds[@]}"
# The bridge's own cost, free of the VM's drift: bridge and none runs alternating,
# the median of each.
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
bridged=() isolated=()
for _ in $(seq "${PAIRS_RUN:-100}"); do
  t0=$(date +%s%N); berth run --rm busybox true; t1=$(date +%s%N)
  berth run --rm --network none busybox true; t2=$(date +%s%N)
  bridged+=($(( (t1 - t0) / 1000 ))); isolated+=($(( (t2 - t1) / 1000 )))
done
b=$(printf '%s\n' "${bridged[@]}" | median); n=$(printf '%s\n' "${isolated[@]}" | median)
echo "berth, alternating: run --rm median ${b} µs on the default bridge, ${n} µs with --network none: the bridge costs $(( ${b%.*} - ${n%.*} )) µs"

echo "== 1. 100 run -d -p 127.0.0.1::80 … sleep in a row"
# berthd's growth for 100 containers without a port, then with one each: the port's
# own share is the difference.
hundred() {
  local before after t0 t1
  before=$(rss "$berthd_pid"); t0=$(date +%s.%N)
  for i in $(seq 100); do berth run -d "$@" busybox sleep 600 >/dev/null; done
  t1=$(date +%s.%N); after=$(rss "$berthd_pid")
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') $(( (after - before) * 1024 / 100 ))"
  berth ps -q | xargs -r "$rel/berth" -H "unix://$tmp/berth.sock" rm -f >/dev/null
}
read -r plain_s plain_b < <(hundred)
sleep 5  # the kernel tears the last batch's namespaces down in the background
read -r port_s port_b < <(hundred -p 127.0.0.1::80)
echo "berth: ${port_s} s with a port each (${plain_s} s without, the batch before); berthd RSS +${port_b} bytes per container with a port, +${plain_b} without: $(( port_b - plain_b )) bytes per published port; no proxy process"
sleep 5
# The port's own cost, free of the order: runs with and without a port, alternating.
with=0 without=0
for i in $(seq 50); do
  t0=$(date +%s%N); berth run -d busybox sleep 600 >/dev/null; t1=$(date +%s%N)
  berth run -d -p 127.0.0.1::80 busybox sleep 600 >/dev/null; t2=$(date +%s%N)
  without=$((without + t1 - t0)); with=$((with + t2 - t1))
done
echo "berth, alternating: run -d $((without / 50000)) µs without a port, $((with / 50000)) µs with one"
berth ps -q | xargs -r "$rel/berth" -H "unix://$tmp/berth.sock" rm -f >/dev/null
if [[ -n $with_docker ]]; then
  before=$(rss "$dockerd_pid")
  t0=$(date +%s.%N)
  for i in $(seq 100); do docker run -d -p 127.0.0.1::80 busybox sleep 600 >/dev/null; done
  t1=$(date +%s.%N)
  after=$(rss "$dockerd_pid")
  echo "docker: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s; dockerd RSS +$(( (after - before) * 1024 / 100 )) bytes per published port, docker-proxy ($(pgrep -xc docker-proxy)) $(( $(proxies_rss) * 1024 / 100 )) bytes per port"
  docker ps -q | xargs -r env DOCKER_HOST="unix://$tmp/docker.sock" "$docker_cli" rm -f >/dev/null
fi

echo "== 2. 1 GB from a container: through its published port on 127.0.0.1, and to its own address"
# Alternating transfers (the VM's speed drifts within a run; back-to-back batches
# would measure the drift), and each path's median.
serve=(busybox nc -ll -p 80 -e cat /dev/zero)
pull() { python3 bench/lib/pull.py "$1" "$2" 1000000000; }
wait_for() { for _ in $(seq 50); do bash -c "head -c 1 < /dev/tcp/$1/$2" >/dev/null 2>&1 && return; sleep 0.1; done; }
compare() { # NAME PUBLISHED_PORT CONTAINER_IP
  local published=() direct=()
  for _ in $(seq "${PAIRS:-25}"); do
    published+=("$(pull 127.0.0.1 "$2")"); direct+=("$(pull "$3" 80)")
  done
  local p d
  p=$(printf '%s\n' "${published[@]}" | median); d=$(printf '%s\n' "${direct[@]}" | median)
  echo "$1: published 127.0.0.1:$2 median $p s, container $3:80 median $d s ($(awk -v p="$p" -v d="$d" 'BEGIN{printf "%+.1f", (p/d-1)*100}') %)"
}
berth run -d --name bench-src -p 127.0.0.1::80 "${serve[@]}" >/dev/null
bport=$(berth port bench-src 80/tcp | sed 's/.*://')
bip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' bench-src)
wait_for 127.0.0.1 "$bport"
compare berth "$bport" "$bip"
if [[ -n $with_docker ]]; then
  docker run -d --name bench-src -p 127.0.0.1::80 "${serve[@]}" >/dev/null
  dport=$(docker port bench-src 80/tcp | sed 's/.*://')
  dip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' bench-src)
  wait_for 127.0.0.1 "$dport"
  compare "docker (docker-proxy)" "$dport" "$dip"
fi
