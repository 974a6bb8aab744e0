//! Pushes through berthd to a distribution registry on loopback, driven by the docker
//! CLI and docker-py: Docker's progress lines; blobs the registry has are not sent
//! again and those another repository has are mounted; a committed image's
//! uncompressed layer goes gzipped; the digest is printed and recorded; `push -a`
//! pushes every tag; skopeo reads what berth pushed, and berth pulls it back.

use std::process::Output;

use berth_tests::daemon::Daemon;
use berth_tests::registry::Registry;

fn ok(o: Output) -> String {
    assert!(o.status.success(), "status {:?}, stderr: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

/// The `<tag>: digest: <digest> size: <n>` line's digest.
fn pushed_digest(out: &str, tag: &str) -> String {
    let line = out.lines().find(|l| l.starts_with(&format!("{tag}: digest: sha256:"))).unwrap_or_else(|| panic!("no digest line: {out}"));
    line.split(' ').nth(2).unwrap().to_string()
}

#[test]
fn pushes_send_what_the_registry_lacks_and_other_clients_read_it() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start() else { return };
    let Some(d) = Daemon::for_docker() else { return };
    reg.push_busybox("bb:1");
    let h = &reg.host;
    ok(docker(&d, &["pull", &format!("{h}/bb:1")]));

    // Another repository: its layer mounted from bb, not sent.
    ok(docker(&d, &["tag", &format!("{h}/bb:1"), &format!("{h}/copy:v1")]));
    let out = ok(docker(&d, &["push", &format!("{h}/copy:v1")]));
    assert!(out.starts_with(&format!("The push refers to repository [{h}/copy]\n")), "{out}");
    assert!(out.contains(": Mounted from bb\n") && !out.contains(": Pushed\n"), "{out}");
    let digest = pushed_digest(&out, "v1");
    // Again: nothing sent.
    let out = ok(docker(&d, &["push", &format!("{h}/copy:v1")]));
    assert!(out.contains(": Layer already exists\n"), "{out}");
    assert_eq!(pushed_digest(&out, "v1"), digest);
    let digests = ok(docker(&d, &["image", "inspect", "-f", "{{json .RepoDigests}}", &format!("{h}/copy:v1")]));
    assert!(digests.contains(&format!("\"{h}/copy@{digest}\"")), "{digests}");

    // A commit: its new layer (kept uncompressed) gzipped and sent, the base mounted.
    ok(docker(&d, &["run", "--name", "changer", &format!("{h}/bb:1"), "sh", "-c", "echo changed > /changed"]));
    ok(docker(&d, &["commit", "changer", &format!("{h}/committed:1")]));
    ok(docker(&d, &["rm", "changer"]));
    let out = ok(docker(&d, &["push", &format!("{h}/committed:1")]));
    assert!(out.contains(": Pushed\n") && out.contains(": Mounted from "), "{out}");
    let committed = pushed_digest(&out, "1");

    // skopeo reads it: the manifest names a gzip layer holding the change.
    let dir = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false", &format!("docker://{h}/committed:1")])
        .arg(format!("oci:{}:x", dir.path().display()))
        .output()
        .unwrap();
    assert!(copied.status.success(), "{}", String::from_utf8_lossy(&copied.stderr));
    let inspected = std::process::Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{h}/committed:1")]).output().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert!(layers.iter().all(|l| l["mediaType"].as_str().unwrap().ends_with("gzip")), "{manifest}");
    assert_eq!(fixture::sha256_digest(&inspected.stdout), committed);

    // Pulled back into a berth that never had it: the change is there.
    ok(docker(&d, &["rmi", &format!("{h}/committed:1")]));
    ok(docker(&d, &["pull", &format!("{h}/committed:1")]));
    assert_eq!(ok(docker(&d, &["run", "--rm", &format!("{h}/committed:1"), "cat", "/changed"])), "changed\n");

    // Every tag of a repository.
    ok(docker(&d, &["tag", &format!("{h}/bb:1"), &format!("{h}/copy:v2")]));
    let out = ok(docker(&d, &["push", "--all-tags", &format!("{h}/copy")]));
    assert!(out.contains("v1: digest: ") && out.contains("v2: digest: "), "{out}");

    // A tag berth does not have: refused, exit 1.
    let o = docker(&d, &["push", &format!("{h}/nothing:1")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("An image does not exist locally with the tag: {h}/nothing")), "{o:?}");
}

#[test]
fn docker_py_pulls_and_pushes() {
    berth_tests::require_root!();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join("target/docker-py/bin/python");
    if !python.exists() {
        berth_tests::skip(&format!("no docker-py at {} (scripts/test.sh installs it)", python.display()));
        return;
    }
    let Some(reg) = Registry::start() else { return };
    reg.push_busybox("bb:1");
    let d = Daemon::start();
    let script = r#"
import sys, docker
client = docker.DockerClient(base_url=sys.argv[1])
host = sys.argv[2]
image = client.images.pull(f"{host}/bb", tag="1")
assert f"{host}/bb:1" in image.tags, image.tags
assert any(d.startswith(f"{host}/bb@sha256:") for d in image.attrs["RepoDigests"]), image.attrs
image.tag(f"{host}/py", tag="2")
lines = list(client.images.push(f"{host}/py", tag="2", stream=True, decode=True))
aux = [l["aux"] for l in lines if "aux" in l]
assert aux and aux[0]["Tag"] == "2" and aux[0]["Digest"].startswith("sha256:"), lines
assert not any("error" in l for l in lines), lines
try:
    client.images.pull(f"{host}/bb", tag="nope")
    raise AssertionError("expected NotFound")
except docker.errors.NotFound:
    pass
print("OK")
"#;
    let out = std::process::Command::new(&python).arg("-c").arg(script).arg(d.host()).arg(&reg.host).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "docker-py failed:\n{stdout}\n{stderr}\nberthd log:\n{}", d.log());
    assert_eq!(stdout.trim(), "OK");
}
