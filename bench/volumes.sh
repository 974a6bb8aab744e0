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
# SKIP_DOCKER=1 measures berth alone. FILES and MB scale step 0; STEPS=02 runs
# steps 0 and 2 only.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/daemons.sh

files=${FILES:-50000}
mb=${MB:-1000}
dberth() { DOCKER_HOST=unix://$tmp/berth.sock "$docker_cli" "$@"; }

steps=${STEPS:-012}
if [[ $steps == *0* ]]; then
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
cmds=(-n "berthd: docker cp cp-src:/tree DIR" "env DOCKER_HOST=unix://$tmp/berth.sock $docker_cli cp cp-src:/tree $out"
      -n "berthd: berth cp cp-src:/tree DIR" "$rel/berth -H unix://$tmp/berth.sock cp cp-src:/tree $out")
if [[ -n $with_docker ]]; then
  cmds+=(-n "dockerd: docker cp cp-src:/tree DIR" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli cp cp-src:/tree $out")
fi
hyperfine -N --warmup 1 --runs "${RUNS:-5}" --prepare "rm -rf $out" "${cmds[@]}"
rm -rf "$out"
berth rm -f cp-src >/dev/null
[[ -z $with_docker ]] || docker rm -f cp-src >/dev/null
fi

if [[ $steps == *1* ]]; then
echo "== 1. commit of a container that changed 100 MB in 10,000 files"
change='i=0; while [ $i -lt 10000 ]; do d=/changed/d$((i % 100)); mkdir -p $d; head -c 10000 /dev/urandom > $d/f$i; i=$((i + 1)); done'
berth run --name changed busybox sh -c "$change"
cmds=(-n "berthd: berth commit" "$rel/berth -H unix://$tmp/berth.sock commit changed committed"
      -n "berthd: docker commit" "env DOCKER_HOST=unix://$tmp/berth.sock $docker_cli commit changed committed")
if [[ -n $with_docker ]]; then
  docker run --name changed busybox sh -c "$change"
  cmds+=(-n "dockerd: docker commit" "env DOCKER_HOST=unix://$tmp/docker.sock $docker_cli commit changed committed")
fi
hyperfine -N --warmup 1 --runs "${RUNS:-5}" "${cmds[@]}"
berth rm changed >/dev/null
[[ -z $with_docker ]] || docker rm changed >/dev/null
fi

[[ $steps == *2* ]] || exit 0
echo "== 2. 1,000 volumes created, then removed, through the API"
# A client of a few lines on a raw socket, the same for both daemons, so that the
# client's own cost (python's http.client adds ~0.2 ms a request here) does not
# hide the daemons'; 1,000 pings after, for the floor of a request.
cat >"$tmp/volumes.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
buf = b""
def call(req):
    global buf
    s.sendall(req)
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    fields = dict((k.strip().lower(), v.strip()) for k, _, v in (l.partition(b":") for l in head.split(b"\r\n")[1:]))
    if b"chunked" in fields.get(b"transfer-encoding", b""):
        while b"0\r\n\r\n" not in rest:
            rest += s.recv(65536)
        buf = rest.split(b"0\r\n\r\n", 1)[1]
    else:
        length = int(fields.get(b"content-length", b"0"))
        while len(rest) < length:
            rest += s.recv(65536)
        buf = rest[length:]
    assert status < 300, (req, head)
t0 = time.monotonic()
for i in range(1000):
    body = b'{"Name": "bench-%04d"}' % i
    call(b"POST /v1.41/volumes/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
t1 = time.monotonic()
for i in range(1000):
    call(b"DELETE /v1.41/volumes/bench-%04d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
t2 = time.monotonic()
for i in range(1000):
    call(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
t3 = time.monotonic()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}")
EOF
for round in 1 2; do
  read -r bc br bp < <(python3 "$tmp/volumes.py" "$tmp/berth.sock")
  echo "berthd: 1,000 volume creates ${bc} s, 1,000 removals ${br} s (1,000 pings: ${bp} s)"
  if [[ -n $with_docker ]]; then
    read -r dc dr dp < <(python3 "$tmp/volumes.py" "$tmp/docker.sock")
    echo "dockerd: 1,000 volume creates ${dc} s, 1,000 removals ${dr} s (1,000 pings: ${dp} s)"
    awk -v b="$bc" -v r="$br" -v d="$dc" -v e="$dr" 'BEGIN{printf "berth takes %.1f%% of Docker'\''s time (create + remove)\n", 100 * (b + r) / (d + e)}'
  fi
done
