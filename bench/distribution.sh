#!/usr/bin/env bash
# Pull and push, berth and Docker side by side in one run, against the same
# distribution registries on loopback (as root):
#
#   the "big" image: busybox, then one layer each of /usr/share/perl,
#   /usr/lib/x86_64-linux-gnu/perl, the Python standard library with
#   /usr/lib/x86_64-linux-gnu (this host has no 700 MB pyenv tree: the libraries
#   make up its weight) and /usr/share/doc, then a small one, as an OCI layout copied
#   into a source registry by skopeo;
#   0. a cold pull (nothing of it local: berthd restarted on an empty data root,
#      dockerd with the image removed) and berthd's peak memory during it;
#   1. a warm pull (the image there already);
#   2. a push to a second registry, emptied before each run.
#
# SKIP_DOCKER=1 measures berth alone; RUNS sets hyperfine's runs (3).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/daemons.sh
runs=${RUNS:-3}

# Registries: the source, and the push target (its storage emptied per run).
registry() { # NAME PORT
  mkdir -p "$tmp/reg-$1"
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$tmp/reg-$1/data" "$2" >"$tmp/reg-$1/config.yml"
  docker-registry serve "$tmp/reg-$1/config.yml" >>"$tmp/reg-$1/log" 2>&1 &
  echo $! >"$tmp/reg-$1/pid"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/v2/" >/dev/null && return; sleep 0.05; done
  echo "registry $1 did not start"; exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
src_port=$(free_port); dst_port=$(free_port)
registry src "$src_port"
registry dst "$dst_port"
stop_registries() {
  for r in src dst; do [[ -f $tmp/reg-$r/pid ]] && kill "$(cat "$tmp/reg-$r/pid")" 2>/dev/null; done
  # berthd may have been started afresh meanwhile: the one running now is stopped.
  berthd_pid=$(cat "$tmp/berthd.pid" 2>/dev/null || echo "$berthd_pid")
  cleanup
}
trap stop_registries EXIT
cat >"$tmp/reset-dst.sh" <<EOF
kill \$(cat $tmp/reg-dst/pid) 2>/dev/null; while kill -0 \$(cat $tmp/reg-dst/pid) 2>/dev/null; do sleep 0.05; done
rm -rf $tmp/reg-dst/data
docker-registry serve $tmp/reg-dst/config.yml >>$tmp/reg-dst/log 2>&1 &
echo \$! >$tmp/reg-dst/pid
for _ in \$(seq 100); do curl -sf http://127.0.0.1:$dst_port/v2/ >/dev/null && exit 0; sleep 0.05; done
exit 1
EOF

echo "== the big image, into the source registry"
python3 - "$tmp/big" "$rel/berth-fixture" <<'EOF'
import gzip, hashlib, io, json, os, subprocess, sys, tarfile
out, fixture = sys.argv[1], sys.argv[2]
subprocess.run([fixture, "oci-layout", out], check=True)
blobs = os.path.join(out, "blobs", "sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d, len(data)
index = json.load(open(os.path.join(out, "index.json")))
manifest = json.load(open(os.path.join(blobs, index["manifests"][0]["digest"][7:])))
config = json.load(open(os.path.join(blobs, manifest["config"]["digest"][7:])))
python = "/usr/lib/python3.%d" % sys.version_info.minor
for src in [["/usr/share/perl"], ["/usr/lib/x86_64-linux-gnu/perl"], [python, "/usr/lib/x86_64-linux-gnu"], ["/usr/share/doc"], None]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        if src:
            for d in src:
                t.add(d, arcname=d.lstrip("/"))
        else:
            data = b"built\n"
            info = tarfile.TarInfo("built"); info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    tar = raw.getvalue()
    digest, size = put(gzip.compress(tar, compresslevel=6, mtime=0))
    manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
    config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(tar).hexdigest())
    config.setdefault("history", []).append({"created_by": "COPY %s" % (" ".join(src) if src else "built")})
digest, size = put(json.dumps(config).encode())
manifest["config"].update({"digest": digest, "size": size})
digest, size = put(json.dumps(manifest).encode())
index["manifests"][0].update({"digest": digest, "size": size})
index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = "big"
json.dump(index, open(os.path.join(out, "index.json"), "w"))
EOF
skopeo copy -q --dest-tls-verify=false "oci:$tmp/big:big" "docker://127.0.0.1:$src_port/big:1"
du -sh "$tmp/reg-src/data" | sed 's/^/source registry: /'
find "$tmp/big" -type f | wc -l >/dev/null
src=127.0.0.1:$src_port/big:1

# berthd afresh on an empty data root (the bench's own flags), for a cold pull.
cat >"$tmp/berth-fresh.sh" <<EOF
pid=\$(cat $tmp/berthd.pid 2>/dev/null)
if [[ -n \$pid ]]; then kill \$pid 2>/dev/null; while kill -0 \$pid 2>/dev/null; do sleep 0.05; done; fi
findmnt -rn -o TARGET | grep "^$tmp/berth-data/" | sort -r | while read -r m; do umount -l "\$m"; done
rm -rf $tmp/berth-data
nohup $rel/berthd --data-root $tmp/berth-data --exec-root $run_tmp/berth-exec -H unix://$tmp/berth.sock \
  --pidfile $tmp/berthd.pid --config-file $tmp/empty.json --cgroup-parent $cg_parent \
  --bridge $bench_bridge --bip $bench_bip >>$tmp/berthd.log 2>&1 &
for _ in \$(seq 500); do curl -sf --unix-socket $tmp/berth.sock http://x/_ping >/dev/null && exit 0; sleep 0.01; done
exit 1
EOF
dberth() { DOCKER_HOST=unix://$tmp/berth.sock "$docker_cli" "$@"; }

echo "== 0. cold pull of $src"
cmds=(-n "berthd: docker pull (cold)" --prepare "bash $tmp/berth-fresh.sh" "env DOCKER_HOST=unix://$tmp/berth.sock $docker_cli pull -q $src")
if [[ -n $with_docker ]]; then
  cmds+=(-n "dockerd: docker pull (cold)" --prepare "bash -c 'DOCKER_HOST=unix://$tmp/docker.sock $docker_cli rmi -f $src >/dev/null 2>&1; true'" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli pull -q $src")
fi
hyperfine -N --runs "$runs" "${cmds[@]}"
berthd_pid=$(cat "$tmp/berthd.pid")
echo "berthd peak memory (VmHWM) over its life, one cold pull: $(grep VmHWM /proc/"$berthd_pid"/status | awk '{print $2, $3}')"

echo "== 1. warm pull (the image there already)"
cmds=(-n "berthd: docker pull (warm)" "env DOCKER_HOST=unix://$tmp/berth.sock $docker_cli pull -q $src")
[[ -z $with_docker ]] || cmds+=(-n "dockerd: docker pull (warm)" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli pull -q $src")
hyperfine -N --warmup 1 --runs "$runs" "${cmds[@]}"

echo "== 2. push to an empty registry"
dst=127.0.0.1:$dst_port/big:1
dberth tag "$src" "$dst"
cmds=(-n "berthd: docker push" --prepare "bash $tmp/reset-dst.sh" "env DOCKER_HOST=unix://$tmp/berth.sock $docker_cli push -q $dst")
if [[ -n $with_docker ]]; then
  docker tag "$src" "$dst"
  cmds+=(-n "dockerd: docker push" --prepare "bash $tmp/reset-dst.sh" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli push -q $dst")
fi
hyperfine -N --runs "$runs" "${cmds[@]}"
