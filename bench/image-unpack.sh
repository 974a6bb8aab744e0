#!/usr/bin/env bash
# Unpacking a big image: berth's parallel unpack vs `tar -xzf` of the same layers in
# sequence vs Docker's `docker load` (as root).
#
# The "big" image is built from host directories: the busybox base layer from
# berth-fixture, then one gzip layer each of /usr/share/perl,
# /usr/lib/x86_64-linux-gnu/perl, /root/.pyenv/versions/3.11.7/lib/python3.11 and
# /usr/share/doc (a missing directory is skipped, and said so), each written
# deterministically (sorted names, mtime 0, numeric root owner, gzip -n). It is loaded
# into a berth store first, so its blobs are already there; then hyperfine times
#   1. berth-image unpack (decompress + hash + extract, layers in parallel),
#   2. tar -xzf of the same layer blobs, one after another, into one directory,
#   3. docker load of the image as a `docker save` tar, only when a daemon answers
#      on $DOCKER_HOST (e.g. the one interop/docker.sh starts); otherwise skipped.
# Between runs, --prepare removes the unpacked snapshots / target directory and
# syncs, so no run pays for the previous one's writeback.
#
# Where: berth's store and tar's target live on a fresh ext4 filesystem (with a
# journal) in a loop-mounted sparse file, the same for both. Not this VM's root
# filesystem: it is ext4 *without* a journal, where the kernel refuses to reuse inodes
# deleted in the last 60-300 s and scans past each of them, so deleting ~50,000 files
# before a run makes inode creation, in berth and tar alike, several times slower and
# the numbers meaningless. BENCH_FS=host runs there anyway, moving outputs into a
# trash directory instead of deleting them (then do not run it within 5 minutes of
# deleting a big tree on that filesystem).
#
# Usage: bench/image-unpack.sh [hyperfine options]   (RUNS=N, default 5)
# Everything lives in one temp directory, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH_PEERS=1 bash scripts/install-deps.sh
cargo build --release -p berth-image --examples -p berth-fixture 2>&1 | tail -1
bin=$PWD/target/release/examples/berth-image
fixture=$PWD/target/release/berth-fixture
work=$(mktemp -d /var/tmp/berth-bench-unpack.XXXXXX)
fs=$work/fs
cleanup() {
  if [[ -n "${DOCKER_HOST:-}" ]]; then docker rmi -f berth-bench/big:latest >/dev/null 2>&1 || true; fi
  if mountpoint -q "$fs"; then umount "$fs"; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$fs"
if [[ ${BENCH_FS:-loop} == loop ]] && truncate -s 8G "$work/fs.img" && mkfs.ext4 -q -F "$work/fs.img" \
  && mount -o loop "$work/fs.img" "$fs"; then
  echo "unpacking on a fresh journaled ext4 (loop device) at $fs"
  clear_cmd() { echo "rm -rf $1"; }
else
  echo "unpacking on the host filesystem at $fs (outputs moved aside between runs, see above)"
  mkdir -p "$work/trash"
  clear_cmd() { echo "if [ -e $1 ]; then mv $1 $work/trash/\$(date +%s%N); fi"; }
fi

layout=$work/layout
mkdir -p "$layout/blobs/sha256" "$work/layers"
arch=$(dpkg --print-architecture)
diff_ids=()
layer_descs=()

# add_layer TAR: records TAR (uncompressed) as the next layer, gzip-compressed.
add_layer() {
  local tarfile=$1 diff gz digest size
  diff=$(sha256sum "$tarfile" | cut -d' ' -f1)
  gz=$work/layers/$(( ${#diff_ids[@]} )).tar.gz
  gzip -n -c "$tarfile" >"$gz"
  rm -f "$tarfile"
  digest=$(sha256sum "$gz" | cut -d' ' -f1)
  size=$(stat -c %s "$gz")
  ln "$gz" "$layout/blobs/sha256/$digest"
  diff_ids+=("\"sha256:$diff\"")
  layer_descs+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}")
}

echo "building the image layers in $work"
"$fixture" docker-archive "$work/busybox.tar"
mkdir "$work/bb"
tar -xf "$work/busybox.tar" -C "$work/bb"
add_layer "$(ls "$work"/bb/*/layer.tar)"
for dir in /usr/share/perl /usr/lib/x86_64-linux-gnu/perl /root/.pyenv/versions/3.11.7/lib/python3.11 /usr/share/doc; do
  if [[ ! -d "$dir" ]]; then
    echo "skipped $dir: not on this host"
    continue
  fi
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C / -cf "$work/layer.tar" "${dir#/}"
  echo "  $dir: $(du -sh "$work/layer.tar" | cut -f1) of tar"
  add_layer "$work/layer.tar"
done

join() { local IFS=,; echo "$*"; }
config="{\"architecture\":\"$arch\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$(join "${diff_ids[@]}")]}}"
printf '%s' "$config" >"$work/config.json"
cdigest=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$layout/blobs/sha256/$cdigest"
manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cdigest\",\"size\":${#config}},\"layers\":[$(join "${layer_descs[@]}")]}"
printf '%s' "$manifest" >"$work/manifest.json"
mdigest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
msize=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$layout/blobs/sha256/$mdigest"
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/berth-bench/big:latest","org.opencontainers.image.ref.name":"latest"}}]}' \
  "$mdigest" "$msize" >"$layout/index.json"

root=$fs/root
echo "loading into a berth store (blobs stored and verified once, outside the timing)"
start=$(date +%s%N)
tar -C "$layout" -cf - . | "$bin" --root "$root" load -
echo "  load took $(( ($(date +%s%N) - start) / 1000000 )) ms"
layers=("$work"/layers/*.tar.gz)
echo "${#layers[@]} layers, $(du -ch "${layers[@]}" | tail -1 | cut -f1) compressed"

out=$fs/tar-out
cmds=(
  --prepare "$(clear_cmd "$root/snapshots") && sync" -n "berth unpack (parallel)" "$bin --root $root unpack berth-bench/big:latest"
  --prepare "$(clear_cmd "$out") && mkdir $out && sync" -n "tar -xzf (sequential)"
  "sh -c 'for l in ${layers[*]}; do tar --numeric-owner -xzf \$l -C $out; done'"
)
hyperfine --runs "${RUNS:-5}" "$@" "${cmds[@]}"
if [[ -n "${DOCKER_HOST:-}" ]] && docker info >/dev/null 2>&1; then
  "$bin" --root "$root" save berth-bench/big:latest -o "$work/big-docker.tar" --format docker
  sync
  # One run: removing the image between runs would delete its ~50,000 files and
  # slow the next run's inode allocation (see above), so only a first load counts.
  docker rmi -f berth-bench/big:latest >/dev/null 2>&1 || true
  hyperfine --runs 1 "$@" -n "docker load" "docker load -q -i $work/big-docker.tar"
else
  echo "docker load: skipped (no daemon answers on \$DOCKER_HOST; interop/docker.sh starts one)"
fi
echo "unpacked size: $(du -sh "$root/snapshots" | cut -f1) (berth), $(du -sh "$out" | cut -f1) (tar)"
