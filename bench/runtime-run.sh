#!/usr/bin/env bash
# OCI bundle `run` of `true`: berth-runtime vs runc vs crun, side by side in one
# hyperfine run (as root). Prints hyperfine's table; --export-markdown FILE also works.
#
# crun refuses a cgroup-v1 hybrid host whose cgroup2 mount carries the hugetlb
# controller; for the benchmark only, hugetlb gets a v1 mount of its own, which is
# removed again on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH_PEERS=1 bash scripts/install-deps.sh
cargo build --release --locked -p berth-runtime -p berth-fixture 2>&1 | tail -1

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
mounted_hugetlb=
cleanup() {
  "$rt_bin_berth" --root "$work/berth" delete --force bench-berth 2>/dev/null || true
  runc --root "$work/runc" delete --force bench-runc 2>/dev/null || true
  crun --root "$work/crun" delete --force bench-crun 2>/dev/null || true
  if [[ -n "$mounted_hugetlb" ]]; then umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb; fi
  rm -rf "$work"
}
rt_bin_berth=$PWD/target/release/berth-runtime
trap cleanup EXIT

target/release/berth-fixture bundle "$work/bundle" -- true
# crun 1.8 knows spec versions up to 1.0.x; the bundle uses nothing newer.
sed -i 's/"ociVersion": *"[^"]*"/"ociVersion": "1.0.2"/' "$work/bundle/config.json"
if grep -q hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
  mounted_hugetlb=1
fi

cd "$work/bundle"
hyperfine -N --warmup 10 --runs "${RUNS:-200}" "$@" \
  -n berth-runtime "$rt_bin_berth --root $work/berth run bench-berth" \
  -n runc "runc --root $work/runc run bench-runc" \
  -n crun "crun --root $work/crun run bench-crun"
