#!/usr/bin/env bash
# Interoperability of berth's image archives with Docker (as root; not part of CI).
#
#   (a) berth → Docker: the busybox fixture is loaded into a berth store and saved by
#       berth (`docker save` layout); Docker loads it and `docker run --rm busybox echo
#       hi` prints hi. Likewise an image berth *imported* from a rootfs tarball, with
#       a CMD given as a change.
#   (b) Docker → berth: Docker commits a container (a 2-layer image of its own making)
#       and `docker save`s it; berth loads it, unpacks it, exports its root filesystem,
#       and berth-runtime runs `echo hi` in it (a berth-fixture bundle whose rootfs is
#       replaced by the exported one).
#
# Docker runs privately: Debian's docker.io (installed if missing) with its own
# containerd, each with its own root, state and socket under one temp directory, no
# bridge and no iptables rules, so nothing outside that directory is touched; both are
# stopped by pid and the directory removed on exit. The docker CLI is
# /usr/local/bin/docker when present (else Debian's), always with
# DOCKER_HOST=unix://<tmp>/docker.sock. Prints PASS/FAIL per check and a summary;
# exits non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null; then
  echo "installing docker.io (dockerd, containerd, runc)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
BERTH_PEERS=1 bash scripts/install-deps.sh
cargo build --release -p berth-runtime -p berth-fixture --examples -p berth-image 2>&1 | tail -1
rel=$PWD/target/release
berth_image=$rel/examples/berth-image
docker_cli=/usr/local/bin/docker
[[ -x $docker_cli ]] || docker_cli=$(command -v docker)

tmp=$(mktemp -d /tmp/berth-interop.XXXXXX)
run_docker_was=$([[ -d /run/docker ]] && echo 1 || true)
export DOCKER_HOST=unix://$tmp/docker.sock
ctd_pid= dockerd_pid=
cleanup() {
  set +e
  if [[ -n $dockerd_pid ]]; then kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null; fi
  if [[ -n $ctd_pid ]]; then kill "$ctd_pid" 2>/dev/null; wait "$ctd_pid" 2>/dev/null; fi
  # Whatever the daemons left mounted under the temp dir (overlays, shm, netns).
  findmnt -rn -o TARGET | grep "^$tmp/" | sort -r | while read -r m; do umount -l "$m"; done
  for d in /sys/fs/cgroup/*/"berth-interop-$$"; do [[ -d $d ]] && rmdir "$d"; done
  # dockerd makes /run/docker/plugins whatever its exec-root: gone again if it made it.
  [[ -n ${run_docker_was:-} ]] || rmdir /run/docker/plugins /run/docker 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
docker() { "$docker_cli" "$@"; }

mkdir -p "$tmp/ctd/root" "$tmp/ctd/state"
echo '{}' >"$tmp/empty.json"
cat >"$tmp/containerd.toml" <<EOF
version = 2
root = "$tmp/ctd/root"
state = "$tmp/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$tmp/ctd/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$tmp/ctd/opt"
EOF
containerd --config "$tmp/containerd.toml" >"$tmp/containerd.log" 2>&1 &
ctd_pid=$!
for _ in $(seq 50); do [[ -S $tmp/ctd/containerd.sock ]] && break; sleep 0.2; done
dockerd --containerd="$tmp/ctd/containerd.sock" --data-root "$tmp/docker" --exec-root "$tmp/exec" \
  -H "unix://$tmp/docker.sock" --pidfile "$tmp/docker.pid" --bridge=none --iptables=false \
  --cgroup-parent "/berth-interop-$$" --config-file "$tmp/empty.json" \
  >"$tmp/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.3; done
if ! docker info >/dev/null 2>&1; then
  fail "dockerd did not come up; its log:"
  tail -30 "$tmp/dockerd.log" "$tmp/containerd.log"
  echo "SUMMARY: $passed passed, $failed failed"
  exit 1
fi
pass "dockerd $(docker version --format '{{.Server.Version}}') answers on $DOCKER_HOST"

# (a) berth → Docker.
R=$tmp/berth
"$rel/berth-fixture" docker-archive "$tmp/fixture.tar" --tag busybox:latest
"$berth_image" --root "$R" load "$tmp/fixture.tar"
"$berth_image" --root "$R" save busybox:latest -o "$tmp/berth-saved.tar" --format docker
if out=$(docker load -i "$tmp/berth-saved.tar" 2>&1) && grep -q "busybox:latest" <<<"$out"; then
  pass "docker load of berth's save: $out"
else
  fail "docker load of berth's save: $out"
fi
if out=$(docker run --rm --network none busybox echo hi 2>&1) && [[ $out == hi ]]; then
  pass "docker run --rm busybox echo hi printed hi"
else
  fail "docker run --rm busybox echo hi: $out"
fi
mkdir "$tmp/rootfs"
"$rel/berth-fixture" rootfs "$tmp/rootfs"
tar -C "$tmp/rootfs" -czf "$tmp/rootfs.tar.gz" .
"$berth_image" --root "$R" import "$tmp/rootfs.tar.gz" --change 'CMD ["echo", "imported"]' --tag berth/imported:1
"$berth_image" --root "$R" save berth/imported:1 -o "$tmp/imported.tar"
if docker load -i "$tmp/imported.tar" >/dev/null 2>&1 \
  && out=$(docker run --rm --network none berth/imported:1 2>&1) && [[ $out == imported ]]; then
  pass "an image berth imported runs in Docker with its CMD change"
else
  fail "berth-imported image in Docker: ${out:-load failed}"
fi

# (b) Docker → berth.
docker rm -f interop-commit >/dev/null 2>&1 || true
if docker run --network none --name interop-commit busybox sh -c 'echo from-docker >/made-by-docker' >/dev/null 2>&1 \
  && docker commit interop-commit docker-made/busybox:1 >/dev/null && docker save docker-made/busybox:1 -o "$tmp/docker-saved.tar"; then
  pass "docker commit + docker save of a 2-layer image"
else
  fail "docker commit/save"
fi
R2=$tmp/berth2
if out=$("$berth_image" --root "$R2" load "$tmp/docker-saved.tar" 2>&1) && grep -q "docker-made/busybox:1" <<<"$out"; then
  pass "berth load of docker's save: $out"
else
  fail "berth load of docker's save: $out"
fi
if "$berth_image" --root "$R2" unpack docker-made/busybox:1 \
  && "$berth_image" --root "$R2" export docker-made/busybox:1 -o "$tmp/exported.tar"; then
  pass "berth unpacked and exported it"
else
  fail "berth unpack/export"
fi
"$rel/berth-fixture" bundle "$tmp/bundle" -- echo hi
rm -rf "$tmp/bundle/rootfs" && mkdir "$tmp/bundle/rootfs"
tar -xf "$tmp/exported.tar" -C "$tmp/bundle/rootfs" 2>/dev/null || true
if [[ $(cat "$tmp/bundle/rootfs/made-by-docker" 2>/dev/null) == from-docker ]]; then
  pass "the exported rootfs has Docker's committed layer"
else
  fail "/made-by-docker missing from the exported rootfs"
fi
if out=$("$rel/berth-runtime" --root "$tmp/rt" run -b "$tmp/bundle" interop-echo 2>&1) && [[ $out == hi ]]; then
  pass "berth-runtime ran echo hi in the rootfs berth loaded from Docker"
else
  fail "berth-runtime run: $out"
fi

echo "SUMMARY: $passed passed, $failed failed"
((failed == 0))
