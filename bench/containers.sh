#!/usr/bin/env bash
# berthd's container figures, side by side with Docker in one run (as root):
#
#   1. `run --rm --network none busybox true` (and without --rm, and on berth's default
#      bridge): hyperfine, berth CLI → berthd vs docker CLI → dockerd (whose bridge is
#      off here: it would rewrite the host's iptables);
#   2. 100 `run -d … sleep 600` in a row (Docker: 20, as in PEERS.md; it takes seconds each);
#   3. memory per idle running container: host used memory (MemTotal − MemAvailable)
#      with the 100 berth containers running, minus before, divided by 100; shim RSS
#      and PSS;
#   4. daemon start with 1,000 containers in the store: berthd restarted, time until
#      /_ping answers.
#
# Both daemons run privately under one temp directory (their own roots, sockets, and
# for Docker its own containerd; no bridge, no iptables), and are stopped by pid with
# everything they made removed on exit. SKIP_DOCKER=1 measures berth alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/daemons.sh

echo "== 1. run --rm --network none busybox true"
cmds=(-n "berth run --rm" "$rel/berth -H unix://$tmp/berth.sock run --rm --network none busybox true"
      -n "berth run" "$rel/berth -H unix://$tmp/berth.sock run --network none busybox true"
      -n "berth run --rm, default bridge" "$rel/berth -H unix://$tmp/berth.sock run --rm busybox true")
if [[ -n $with_docker ]]; then
  cmds+=(-n "docker run --rm" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli run --rm --network none busybox true")
fi
hyperfine -N --warmup 5 --runs "${RUNS:-100}" "${cmds[@]}"
berth container prune -f >/dev/null

echo "== 2. 100 run -d … sleep in a row"
# Used memory = MemTotal − MemAvailable, with clean caches dropped first both times;
# also the kernel's and the processes' own shares (anon pages, unreclaimable slab,
# kernel stacks, page tables, per-cpu).
meminfo() {
  sync; echo 3 >/proc/sys/vm/drop_caches; sleep 2
  awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} /^(AnonPages|SUnreclaim|KernelStack|PageTables|Percpu):/{k+=$2} END{print t-a, k}' /proc/meminfo
}
read -r mem_before kern_before < <(meminfo)
t0=$(date +%s.%N)
for i in $(seq 100); do berth run -d --network none busybox sleep 600 >/dev/null; done
t1=$(date +%s.%N)
echo "berth: 100 detached runs in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"

echo "== 3. memory per idle running container (100 berth containers)"
read -r mem_after kern_after < <(meminfo)
echo "host used memory: +$(( (mem_after - mem_before) / 100 )) KiB per container (anon+slab+stacks+page tables+percpu: +$(( (kern_after - kern_before) / 100 )) KiB)"
rss=0 pss=0 n=0
for p in $(pgrep -x berth-shim); do
  rss=$((rss + $(awk '/^Rss:/{print $2}' /proc/$p/smaps_rollup)))
  pss=$((pss + $(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup)))
  n=$((n + 1))
done
((n)) && echo "berth-shim ($n): RSS $((rss / n)) KiB, PSS $((pss / n)) KiB each"
berth ps -q | xargs -r "$rel/berth" -H "unix://$tmp/berth.sock" rm -f >/dev/null
if [[ -n $with_docker ]]; then
  read -r mem_before kern_before < <(meminfo)
  t0=$(date +%s.%N)
  for i in $(seq 20); do docker run -d --network none busybox sleep 600 >/dev/null; done
  t1=$(date +%s.%N)
  echo "docker: 20 detached runs in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
  read -r mem_after kern_after < <(meminfo)
  echo "docker: host used memory +$(( (mem_after - mem_before) / 20 )) KiB per container (anon+slab+stacks+page tables+percpu: +$(( (kern_after - kern_before) / 20 )) KiB)"
  docker ps -aq | xargs -r env DOCKER_HOST="unix://$tmp/docker.sock" "$docker_cli" rm -f >/dev/null
fi

echo "== 4. berthd start with 1,000 containers in the store"
for i in $(seq 1000); do berth create --network none busybox true >/dev/null; done
kill "$berthd_pid"; wait "$berthd_pid" 2>/dev/null || true
t0=$(date +%s%N)
start_berthd
t1=$(date +%s%N)
echo "berthd answered /_ping $(( (t1 - t0) / 1000000 )) ms after start with $(berth ps -aq | wc -l) containers"
