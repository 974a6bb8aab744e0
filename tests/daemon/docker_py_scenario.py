"""docker-py (the Python SDK, unchanged) against berthd: create, start, wait, logs,
inspect, run with remove, detached run, exec, list, stop, remove, images (save and
load too), volumes, files in and out (put_archive, get_archive), commit, info,
version, swarm's absence, and
a web server on the default bridge behind a published port, and a user network
(`client.networks.*`) whose containers reach each other by name and alias.
Prints OK at the end; any failed assertion exits non-zero with a traceback."""
import sys

import docker

client = docker.DockerClient(base_url=sys.argv[1], version="auto")
assert client.ping()
assert client.version()["ApiVersion"]
assert client.info()["Name"]

tags = [t for image in client.images.list() for t in image.tags]
assert "busybox:latest" in tags, tags
image = client.images.get("busybox")
assert image.attrs["Config"]["Cmd"] == ["sh"], image.attrs["Config"]

c = client.containers.create(
    "busybox", ["sh", "-c", "echo hello; echo err >&2; exit 3"], name="py-created", labels={"k": "v"}
)
assert c.status == "created", c.status
c.start()
result = c.wait()
assert result["StatusCode"] == 3, result
assert c.logs(stdout=True, stderr=False) == b"hello\n"
assert c.logs(stdout=False, stderr=True) == b"err\n"
c.reload()
assert c.status == "exited" and c.labels["k"] == "v" and c.attrs["State"]["ExitCode"] == 3

out = client.containers.run("busybox", ["echo", "run-and-remove"], remove=True)
assert out == b"run-and-remove\n", out

d = client.containers.run("busybox", ["sleep", "100"], detach=True, name="py-detached")
d.reload()
assert d.status == "running", d.status
assert [x.name for x in client.containers.list()] == ["py-detached"]
assert {x.name for x in client.containers.list(all=True)} == {"py-detached", "py-created"}
# exec_run, and the low-level API's exec: framed as the start asks, whatever the
# create asked (a terminal exec read as frames, a plain one read raw).
code, out = d.exec_run(["sh", "-c", "echo in-exec"])
assert (code, out) == (0, b"in-exec\n"), (code, out)
api = client.api
eid = api.exec_create(d.id, ["sh", "-c", "echo out; echo err >&2"], tty=True)["Id"]
assert api.exec_start(eid, tty=False, demux=True) == (b"out\r\nerr\r\n", None)
eid = api.exec_create(d.id, ["echo", "raw"], tty=False)["Id"]
assert api.exec_start(eid, tty=True) == b"raw\n"
d.stop(timeout=1)
d.reload()
assert d.status == "exited"
d.remove()
c.remove()
assert client.containers.list(all=True) == []

# A web server on the default bridge, published on a free host port of 127.0.0.1.
import socket
import time

web = client.containers.run(
    "busybox",
    ["sh", "-c", "mkdir -p /www && echo from-py > /www/index.html && httpd -f -p 80 -h /www"],
    detach=True,
    name="py-web",
    ports={"80/tcp": ("127.0.0.1", None)},
)
web.reload()
assert web.attrs["HostConfig"]["NetworkMode"] == "bridge", web.attrs["HostConfig"]["NetworkMode"]
assert web.attrs["NetworkSettings"]["IPAddress"], web.attrs["NetworkSettings"]
binding = web.ports["80/tcp"][0]
assert binding["HostIp"] == "127.0.0.1", web.ports
body = b""
for _ in range(50):
    try:
        with socket.create_connection(("127.0.0.1", int(binding["HostPort"])), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while chunk := s.recv(4096):
                body += chunk
        if body.endswith(b"from-py\n"):
            break
    except OSError:
        pass
    body = b""
    time.sleep(0.1)
assert body.endswith(b"from-py\n"), body
web.remove(force=True)

# A user network on the subnet and bridge the test claimed (argv 2 and 3).
net, bridge = sys.argv[2], sys.argv[3]
pool = docker.types.IPAMPool(subnet=f"{net}.0/24", gateway=f"{net}.1")
backend = client.networks.create(
    "py-backend", driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=[pool]),
    options={"com.docker.network.bridge.name": bridge}, labels={"app": "py"},
)
assert backend.name == "py-backend" and len(backend.id) == 64
assert [n.name for n in client.networks.list(names=["py-backend"])] == ["py-backend"]
assert "py-backend" in [n.name for n in client.networks.list(filters={"label": "app=py"})]
assert client.networks.get("py-backend").attrs["IPAM"]["Config"][0]["Subnet"] == f"{net}.0/24"
db = client.containers.run("busybox", ["sleep", "100"], detach=True, name="py-db", network="py-backend")
db.reload()
db_ip = db.attrs["NetworkSettings"]["Networks"]["py-backend"]["IPAddress"]
assert db_ip == f"{net}.2", db.attrs["NetworkSettings"]
backend.reload()
assert [c.name for c in backend.containers] == ["py-db"], backend.attrs["Containers"]
# Connected with an alias, a second container finds it by it.
other = client.containers.run("busybox", ["sleep", "100"], detach=True, name="py-other")
backend.connect(other, aliases=["cache"])
other.reload()
assert set(other.attrs["NetworkSettings"]["Networks"]) == {"bridge", "py-backend"}
found = b""
for _ in range(50):
    found = client.containers.run("busybox", ["nslookup", "cache"], network="py-backend", remove=True)
    if other.attrs["NetworkSettings"]["Networks"]["py-backend"]["IPAddress"].encode() in found:
        break
    time.sleep(0.1)
assert other.attrs["NetworkSettings"]["Networks"]["py-backend"]["IPAddress"].encode() in found, found
assert db_ip.encode() in client.containers.run("busybox", ["nslookup", "py-db"], network="py-backend", remove=True)
backend.disconnect(other)
other.reload()
assert set(other.attrs["NetworkSettings"]["Networks"]) == {"bridge"}
try:
    backend.remove()
    raise AssertionError("a network in use is not removed")
except docker.errors.APIError as e:
    assert "active endpoints" in str(e), e
db.remove(force=True)
other.remove(force=True)
assert client.networks.prune(filters={"label": "app=py"})["NetworksDeleted"] == ["py-backend"]
try:
    client.networks.get("py-backend")
    raise AssertionError("expected NotFound")
except docker.errors.NotFound:
    pass

# One image saved (`/images/{name}/get`) and loaded back; a bad archive is a load
# error, raised from the answer's stream.
import io
import tarfile

saved = b"".join(client.images.get("busybox").save())
assert "manifest.json" in tarfile.open(fileobj=io.BytesIO(saved)).getnames()
assert [i.tags for i in client.images.load(saved)] == [["busybox:latest"]]
# A tag removed (only the tag goes), the disk usage, and the events of what was done.
client.images.get("busybox").tag("py/extra", "v1")
client.images.remove("py/extra:v1")
assert "py/extra:v1" not in [t for i in client.images.list() for t in i.tags]
df = client.df()
assert df["Images"] and "LayersSize" in df and "Containers" in df, df
since = int(time.time()) - 600
seen = {(e["Type"], e["Action"]) for e in client.events(since=since, until=int(time.time()) + 1, decode=True)}
assert ("container", "start") in seen and ("image", "untag") in seen, seen

try:
    client.images.load(b"this is not a tar archive")
    raise AssertionError("expected ImageLoadError")
except docker.errors.ImageLoadError:
    pass

# No swarm here: said as an inactive dockerd says it (503), which docker-py raises
# as an API error with that status.
for call in (client.services.list, client.nodes.list, client.secrets.list, client.configs.list):
    try:
        call()
        raise AssertionError("expected an APIError")
    except docker.errors.APIError as e:
        assert e.status_code == 503 and "not a swarm manager" in str(e), e

# Volumes: made, listed, mounted by name, kept across containers, refused removal
# while in use, removed, pruned.
vol = client.volumes.create(name="py-vol", labels={"app": "py"})
assert vol.name == "py-vol" and vol.attrs["Labels"] == {"app": "py"}, vol.attrs
assert [v.name for v in client.volumes.list(filters={"label": "app=py"})] == ["py-vol"]
client.containers.run("busybox", ["sh", "-c", "echo stored > /d/f"], volumes={"py-vol": {"bind": "/d", "mode": "rw"}}, remove=True)
held = client.containers.run("busybox", ["sleep", "100"], detach=True, volumes=["py-vol:/d:ro"])
assert held.exec_run(["cat", "/d/f"]).output == b"stored\n"
try:
    client.volumes.get("py-vol").remove()
    raise AssertionError("expected a conflict")
except docker.errors.APIError as e:
    assert e.status_code == 409 and "volume is in use" in str(e), e
held.remove(force=True)
client.volumes.get("py-vol").remove()
try:
    client.volumes.get("py-vol")
    raise AssertionError("expected NotFound")
except docker.errors.NotFound:
    pass
anon = client.containers.run("busybox", ["true"], volumes=["/scratch"], detach=True)
anon.wait()
anon.remove()
assert client.volumes.prune()["VolumesDeleted"], "the anonymous volume is pruned"

# Files in and out through the archive endpoints, then the changes committed.
import io
import tarfile

box = client.containers.run("busybox", ["sleep", "100"], detach=True, name="py-files")
payload = io.BytesIO()
with tarfile.open(fileobj=payload, mode="w") as t:
    data = b"from python\n"
    info = tarfile.TarInfo("note.txt")
    info.size = len(data)
    info.mode = 0o640
    t.addfile(info, io.BytesIO(data))
assert box.put_archive("/tmp", payload.getvalue())
assert box.exec_run(["cat", "/tmp/note.txt"]).output == b"from python\n"
stream, stat = box.get_archive("/tmp/note.txt")
assert stat["name"] == "note.txt" and stat["size"] == 12 and stat["mode"] == 0o640, stat
back = tarfile.open(fileobj=io.BytesIO(b"".join(stream)))
assert back.extractfile("note.txt").read() == b"from python\n"
try:
    box.get_archive("/no/such/file")
    raise AssertionError("expected NotFound")
except docker.errors.NotFound:
    pass
committed = box.commit(repository="py-committed", tag="v1", message="from docker-py", changes=["ENV FROM_PY=1"])
assert "FROM_PY=1" in committed.attrs["Config"]["Env"], committed.attrs["Config"]
assert committed.attrs["Comment"] == "from docker-py"
assert client.containers.run("py-committed:v1", ["cat", "/tmp/note.txt"], remove=True) == b"from python\n"
box.remove(force=True)

try:
    client.containers.get("py-gone")
    raise AssertionError("expected NotFound")
except docker.errors.NotFound:
    pass
try:
    client.containers.run("nosuchimage:1", "true")
    raise AssertionError("expected an error")
except (docker.errors.ImageNotFound, docker.errors.APIError):
    pass
print("OK")
