#!/usr/bin/env bash
# `docker images`-style listing with 1,000 tags: how long `berth-image images` takes
# from process start to the last row (open the store, list, compute sizes and shared
# sizes, print), timed by hyperfine. Target: under 50 ms.
#
# The store holds 10 images (the busybox fixture, unpacked, and 9 imports of its
# rootfs) with 100 tags each. `berth-image images --time` also prints the split
# between opening the store and listing (stderr).
#
# Usage: bench/image-list.sh [hyperfine options]   (RUNS=N, default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH_PEERS=1 bash scripts/install-deps.sh
cargo build --release -p berth-image --examples -p berth-fixture 2>&1 | tail -1
bin=$PWD/target/release/examples/berth-image
fixture=$PWD/target/release/berth-fixture
work=$(mktemp -d /tmp/berth-bench-list.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root

"$fixture" docker-archive "$work/busybox.tar"
"$bin" --root "$root" load "$work/busybox.tar" >/dev/null
"$bin" --root "$root" unpack busybox:latest >/dev/null 2>&1
mkdir "$work/rootfs"
"$fixture" rootfs "$work/rootfs"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
images=(busybox:latest)
for i in $(seq 1 9); do
  "$bin" --root "$root" import "$work/rootfs.tar" --message "import $i" --tag "bench/imported-$i:base" >/dev/null
  images+=("bench/imported-$i:base")
done
for i in "${!images[@]}"; do
  # 100 tags per image: the base tag and 99 more.
  tags=()
  for n in $(seq 1 99); do tags+=("bench/app-$i:v$n"); done
  "$bin" --root "$root" tag "${images[$i]}" "${tags[@]}"
done
rows=$("$bin" --root "$root" images | tail -n +2 | wc -l)
echo "$rows rows listed"
"$bin" --root "$root" images --time >/dev/null
hyperfine -N --warmup 5 --runs "${RUNS:-50}" "$@" -n "berth-image images (1,000 tags)" "$bin --root $root images"
