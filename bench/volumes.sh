#!/usr/bin/env bash
# berth's data paths, side by side with Docker in one run (as root):
#
#   0. cp of a 1 GB, 50,000-file directory out of a container: as a tar stream
#      (`cp CTR:/tree - > /dev/null`) beside `tar -c` of the same tree on the host
#      read whole (piped, so that tar reads the data: to /dev/null itself GNU tar
#      skips reading files), and into a host directory; Docker's `docker cp` from
#      dockerd beside each. The docker CLI drives both daemons, so the clients are
#      the same; berth's own CLI is measured beside them.
#   1. commit of a container that changed 100 MB in 10,000 files.
#   2. 1,000 volumes created then removed through the API (one connection each way,
#      no CLI start per volume, the same client for both).
#
# SKIP_DOCKER=1 measures berth alone. FILES and MB scale step 0.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/daemons.sh

files=${FILES:-50000}
mb=${MB:-1000}
dberth() { DOCKER_HOST=unix://$tmp/berth.sock "$docker_cli" "$@"; }

echo "== 0. cp of a ${mb} MB, ${files}-file directory out of a container"
# The tree: $files files of equal size in 100 directories, random bytes.
tree=$tmp/tree
python3 - "$tree" "$files" "$mb" <<'EOF'
import os, sys
root, files, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = mb * 1000 * 1000 // files
block = os.urandom(1 << 20)
for i in range(files):
    d = os.path.join(root, f"d{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    off = (i * 4099) % (len(block) - size) if size < len(block) else 0
    with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
        f.write((block * (size // len(block) + 1))[off:off + size])
EOF
berth run -d --name cp-src busybox sleep 3600 >/dev/null
dberth cp "$tree" cp-src:/ >/dev/null
if [[ -n $with_docker ]]; then
  docker run -d --name cp-src busybox sleep 3600 >/dev/null
  docker cp "$tree" cp-src:/ >/dev/null
fi
cmds=(-n "tar -c of the tree on the host, read whole" "bash -c 'tar -cf - -C $tmp tree | cat >/dev/null'"
      -n "berthd: docker cp cp-src:/tree - (tar to /dev/null)" "bash -c 'DOCKER_HOST=unix://$tmp/berth.sock $docker_cli cp cp-src:/tree - >/dev/null'"
      -n "berthd: berth cp cp-src:/tree - (tar to /dev/null)" "bash -c '$rel/berth -H unix://$tmp/berth.sock cp cp-src:/tree - >/dev/null'")
if [[ -n $with_docker ]]; then
  cmds+=(-n "dockerd: docker cp cp-src:/tree - (tar to /dev/null)" "bash -c 'DOCKER_HOST=unix://$tmp/docker.sock $docker_cli cp cp-src:/tree - >/dev/null'")
fi
hyperfine -N --warmup 1 --runs "${RUNS:-5}" "${cmds[@]}"
out=$tmp/out
cmds=(-n "berthd: docker cp cp-src:/tree DIR" "DOCKER_HOST=unix://$tmp/berth.sock $docker_cli cp cp-src:/tree $out"
      -n "berthd: berth cp cp-src:/tree DIR" "$rel/berth -H unix://$tmp/berth.sock cp cp-src:/tree $out")
if [[ -n $with_docker ]]; then
  cmds+=(-n "dockerd: docker cp cp-src:/tree DIR" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli cp cp-src:/tree $out")
fi
hyperfine -N --warmup 1 --runs "${RUNS:-5}" --prepare "rm -rf $out" "${cmds[@]}"
rm -rf "$out"
berth rm -f cp-src >/dev/null
[[ -z $with_docker ]] || docker rm -f cp-src >/dev/null

echo "== 1. commit of a container that changed 100 MB in 10,000 files"
change='i=0; while [ $i -lt 10000 ]; do d=/changed/d$((i % 100)); mkdir -p $d; head -c 10000 /dev/urandom > $d/f$i; i=$((i + 1)); done'
berth run --name changed busybox sh -c "$change"
cmds=(-n "berthd: commit" "$rel/berth -H unix://$tmp/berth.sock commit changed committed")
if [[ -n $with_docker ]]; then
  docker run --name changed busybox sh -c "$change"
  cmds+=(-n "dockerd: commit" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli commit changed committed")
fi
hyperfine -N --warmup 1 --runs "${RUNS:-5}" "${cmds[@]}"
berth rm changed >/dev/null
[[ -z $with_docker ]] || docker rm changed >/dev/null

echo "== 2. 1,000 volumes created, then removed, through the API"
volumes() {
  python3 - "$1" <<'EOF'
import http.client, json, socket, sys, time

class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)

c = Unix(sys.argv[1])
def call(method, url, body=None):
    c.request(method, url, body=json.dumps(body) if body is not None else None, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status < 300, (method, url, r.status)
t0 = time.monotonic()
for i in range(1000):
    call("POST", "/v1.41/volumes/create", {"Name": f"bench-{i:04d}"})
t1 = time.monotonic()
for i in range(1000):
    call("DELETE", f"/v1.41/volumes/bench-{i:04d}")
t2 = time.monotonic()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
EOF
}
read -r bc br < <(volumes "$tmp/berth.sock")
echo "berthd: 1,000 volume creates ${bc} s, 1,000 removals ${br} s"
if [[ -n $with_docker ]]; then
  read -r dc dr < <(volumes "$tmp/docker.sock")
  echo "dockerd: 1,000 volume creates ${dc} s, 1,000 removals ${dr} s"
  awk -v b="$bc" -v r="$br" -v d="$dc" -v e="$dr" 'BEGIN{printf "berth takes %.1f%% of Docker'\''s time (create + remove)\n", 100 * (b + r) / (d + e)}'
fi
