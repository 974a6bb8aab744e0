# Shared by bench/containers.sh and bench/exec.sh (sourced, not run): builds berth,
# starts a private berthd and, unless SKIP_DOCKER=1, a private dockerd 20.10 with its
# own containerd (no iptables; no bridge unless DOCKER_BRIDGE=1, then one of the
# bench's own, with Docker's userland proxy for published ports), both under one temp
# directory, loads busybox into both, and on exit stops them by pid and removes
# everything they made.
# Sets: rel, tmp, docker_cli, with_docker; defines berth(), docker(), start_berthd().
# BENCH_TMP: where the data roots go (/tmp by default), e.g. a freshly made file system.
BERTH_PEERS=1 bash scripts/install-deps.sh
cargo build --release --locked -p berth-cli -p berth-daemon -p berth-shim -p berth-runtime -p berth-fixture 2>&1 | tail -1
rel=$PWD/target/release
docker_cli=/usr/local/bin/docker
[[ -x $docker_cli ]] || docker_cli=$(command -v docker || true)

tmp=$(mktemp -d "${BENCH_TMP:-/tmp}/berth-bench.XXXXXX")
# Exec roots on tmpfs, where both daemons keep them by default (/run/berth, /run/docker);
# data roots on disk (/tmp here, as /var/lib by default).
run_tmp=$(mktemp -d /run/berth-bench.XXXXXX)
cg_parent=/berth-bench-$$
# berthd's default bridge for the bench: a name and subnet of its own, removed on exit.
bench_bridge=bb$(( $$ % 100000 ))
bench_bip=10.253.$(( $$ % 250 )).1/24
docker_bridge=bd$(( $$ % 100000 ))
docker_bip=10.252.$(( $$ % 250 )).1/24
berthd_pid= ctd_pid= dockerd_pid=
run_docker_was=$([[ -d /run/docker ]] && echo 1 || true)
cleanup() {
  set +e
  command -v runc >/dev/null && runc --root "$tmp/runc" delete --force bench-runc >/dev/null 2>&1
  if [[ -n $berthd_pid ]]; then
    "$rel/berth" -H "unix://$tmp/berth.sock" ps -aq 2>/dev/null | xargs -r "$rel/berth" -H "unix://$tmp/berth.sock" rm -f >/dev/null 2>&1
    kill "$berthd_pid" 2>/dev/null; wait "$berthd_pid" 2>/dev/null
  fi
  if [[ -n $dockerd_pid ]]; then
    DOCKER_HOST=unix://$tmp/docker.sock "$docker_cli" ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$tmp/docker.sock" "$docker_cli" rm -f >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null
  fi
  if [[ -n $ctd_pid ]]; then kill "$ctd_pid" 2>/dev/null; wait "$ctd_pid" 2>/dev/null; fi
  findmnt -rn -o TARGET | grep "^$tmp/" | sort -r | while read -r m; do umount -l "$m"; done
  for d in /sys/fs/cgroup/*/"${cg_parent#/}" /sys/fs/cgroup/*/"${cg_parent#/}-docker"; do [[ -d $d ]] && rmdir "$d"; done
  # dockerd makes /run/docker/plugins whatever its exec-root: gone again if it made it.
  [[ -n ${run_docker_was:-} ]] || rmdir /run/docker/plugins /run/docker 2>/dev/null
  findmnt -rn -o TARGET | grep "^$run_tmp/" | sort -r | while read -r m; do umount -l "$m"; done
  ip link del "$bench_bridge" 2>/dev/null
  ip link del "$docker_bridge" 2>/dev/null
  nft delete table ip "berth_$bench_bridge" 2>/dev/null
  rm -rf "$tmp" "$run_tmp"
}
trap cleanup EXIT

ping_berthd() { curl -sf --unix-socket "$tmp/berth.sock" http://x/_ping >/dev/null 2>&1; }
berth() { "$rel/berth" -H "unix://$tmp/berth.sock" "$@"; }
docker() { DOCKER_HOST=unix://$tmp/docker.sock "$docker_cli" "$@"; }

echo '{}' >"$tmp/empty.json"
start_berthd() {
  "$rel/berthd" --data-root "$tmp/berth-data" --exec-root "$run_tmp/berth-exec" -H "unix://$tmp/berth.sock" \
    --pidfile "$tmp/berthd.pid" --config-file "$tmp/empty.json" --cgroup-parent "$cg_parent" \
    --bridge "$bench_bridge" --bip "$bench_bip" >>"$tmp/berthd.log" 2>&1 &
  berthd_pid=$!
  for _ in $(seq 500); do ping_berthd && return; sleep 0.01; done
  echo "berthd did not start:"; cat "$tmp/berthd.log"; exit 1
}
start_berthd
"$rel/berth-fixture" docker-archive "$tmp/busybox.tar" --tag busybox:latest
berth load -q -i "$tmp/busybox.tar" >/dev/null

with_docker=
if [[ ${SKIP_DOCKER:-} != 1 ]] && command -v dockerd >/dev/null && [[ -n $docker_cli ]]; then
  mkdir -p "$tmp/ctd/root" "$run_tmp/ctd-state"
  printf 'version = 2\nroot = "%s"\nstate = "%s"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s"\n[plugins."io.containerd.internal.v1.opt"]\n  path = "%s"\n' \
    "$tmp/ctd/root" "$run_tmp/ctd-state" "$tmp/ctd/containerd.sock" "$tmp/ctd/opt" >"$tmp/containerd.toml"
  containerd --config "$tmp/containerd.toml" >"$tmp/containerd.log" 2>&1 &
  ctd_pid=$!
  for _ in $(seq 50); do [[ -S $tmp/ctd/containerd.sock ]] && break; sleep 0.2; done
  bridge_args=(--bridge=none)
  if [[ ${DOCKER_BRIDGE:-} == 1 ]]; then
    # A bridge of the bench's own (never docker0): Docker's published ports go through
    # its userland proxy, as iptables stays off so that the host's rules are left alone.
    ip link add "$docker_bridge" type bridge && ip addr add "$docker_bip" dev "$docker_bridge" && ip link set "$docker_bridge" up
    bridge_args=(--bridge="$docker_bridge" --ip-masq=false)
  fi
  dockerd --containerd="$tmp/ctd/containerd.sock" --data-root "$tmp/docker" --exec-root "$run_tmp/dexec" \
    -H "unix://$tmp/docker.sock" --pidfile "$tmp/docker.pid" "${bridge_args[@]}" --iptables=false \
    --cgroup-parent "$cg_parent-docker" --config-file "$tmp/empty.json" \
    >"$tmp/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.3; done
  docker load -q -i "$tmp/busybox.tar" >/dev/null && with_docker=1
fi

