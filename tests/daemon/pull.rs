//! Pulls through berthd, driven by the real docker CLI, from a distribution registry
//! on loopback that skopeo pushed the busybox fixture to: Docker's progress lines,
//! digest and status; the tag and repo digest recorded; the image runs; a second pull
//! is up to date; an index gives the host's platform or `--platform`'s, and a clear
//! refusal for a platform it lacks; unknown tags, and blobs that are not what their
//! digest says, fail the pull and leave no image, tag or blob.

use std::path::Path;
use std::process::Output;

use berth_tests::daemon::Daemon;
use berth_tests::registry::Registry;
use serde_json::{Value, json};

fn ok(o: Output) -> String {
    assert!(o.status.success(), "status {:?}, stderr: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

/// `GET path` on the daemon: status and JSON body.
fn api_get(d: &Daemon, path: &str) -> (u16, Value) {
    let client = api::Client::new(&d.host()).unwrap();
    berth_tests::daemon::block_on(async {
        match client.get(path, &[], None).await {
            Ok(r) => (r.status.as_u16(), serde_json::from_str(&r.text()).unwrap_or(Value::Null)),
            Err(api::ClientError::Api { status, message }) => (status, json!({ "message": message })),
            Err(e) => panic!("{e}"),
        }
    })
}

/// The digest the registry gives for `repo:reference` (`Docker-Content-Digest`).
fn registry_digest(reg: &Registry, repo: &str, reference: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(&reg.host).unwrap();
    let accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
    write!(s, "HEAD /v2/{repo}/manifests/{reference} HTTP/1.0\r\nAccept: {accept}\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer.lines().find_map(|l| l.strip_prefix("Docker-Content-Digest: ")).unwrap_or_else(|| panic!("no digest: {answer}")).trim().to_string()
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))).unwrap()
}

/// The fixture layout's manifest, as JSON, and its digest.
fn layout_manifest(layout: &Path) -> (Value, String) {
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap().to_string();
    (serde_json::from_slice(&blob(layout, &digest)).unwrap(), digest)
}

fn put_blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let digest = fixture::sha256_digest(bytes);
    std::fs::write(layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:")), bytes).unwrap();
    (digest, bytes.len())
}

#[test]
fn pulls_by_tag_and_digest_as_docker_shows_them() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start() else { return };
    let Some(d) = Daemon::for_docker() else { return };
    let layout = reg.push_busybox("bb:latest");
    let (manifest, _) = layout_manifest(&layout);
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let short = &layer["sha256:".len().."sha256:".len() + 12];
    let digest = registry_digest(&reg, "bb", "latest");
    let name = format!("{}/bb:latest", reg.host);

    let out = ok(docker(&d, &["pull", &name]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "latest: Pulling from bb", "{out}");
    assert!(lines.contains(&format!("{short}: Pull complete").as_str()), "{out}");
    assert!(lines.contains(&format!("Digest: {digest}").as_str()), "{out}");
    assert!(lines.contains(&format!("Status: Downloaded newer image for {name}").as_str()), "{out}");
    assert_eq!(lines.last(), Some(&name.as_str()), "{out}");

    let shown = ok(docker(&d, &["image", "inspect", "-f", "{{json .RepoTags}} {{json .RepoDigests}} {{.Os}}/{{.Architecture}}", &name]));
    let host_arch = fixture::host_architecture().unwrap();
    assert_eq!(shown.trim(), format!("{} {} linux/{host_arch}", json!([name]), json!([format!("{}/bb@{digest}", reg.host)])));
    assert_eq!(ok(docker(&d, &["run", "--rm", &name, "echo", "pulled and ran"])), "pulled and ran\n");

    // zstd layers (skopeo recompresses the fixture's).
    reg.push_layout_with(&layout, "latest", "zbb:1", &["--dest-compress", "--dest-compress-format", "zstd"]);
    let zmanifest = registry_digest(&reg, "zbb", "1");
    let out = ok(docker(&d, &["pull", &format!("{}/zbb:1", reg.host)]));
    assert!(out.contains(&format!("Digest: {zmanifest}")), "{out}");
    assert_eq!(ok(docker(&d, &["run", "--rm", &format!("{}/zbb:1", reg.host), "echo", "from zstd"])), "from zstd\n");

    // Again: nothing fetched, and said so.
    let again = ok(docker(&d, &["pull", &name]));
    assert!(again.contains(&format!("Status: Image is up to date for {name}")) && !again.contains("Pull complete"), "{again}");
    // By digest: the same image.
    let by_digest = format!("{}/bb@{digest}", reg.host);
    let out = ok(docker(&d, &["pull", &by_digest]));
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    let id = |r: &str| ok(docker(&d, &["image", "inspect", "-f", "{{.Id}}", r]));
    assert_eq!(id(&by_digest), id(&name));

    // An unknown tag: Docker's words, exit 1, nothing made.
    let listed = ok(docker(&d, &["images", "-q"]));
    let o = docker(&d, &["pull", &format!("{}/bb:nope", reg.host)]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("manifest for {}/bb:nope not found: manifest unknown", reg.host)), "{err}");
    assert_eq!(ok(docker(&d, &["images", "-q"])), listed);
    // A registry that is not there: said so, at once.
    let o = docker(&d, &["pull", "127.0.0.1:9/gone:1"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("127.0.0.1:9/v2/") && err.contains("Connection refused"), "{err}");
}

#[test]
fn an_index_gives_the_hosts_platform_or_the_one_asked_for() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start() else { return };
    let Some(d) = Daemon::for_docker() else { return };
    let layout = reg.dir().join("multi-layout");
    fixture::write_oci_layout(&layout, "latest").unwrap();
    let host_arch = fixture::host_architecture().unwrap();
    let other_arch = if host_arch == "arm64" { "amd64" } else { "arm64" };
    // A second image for the other architecture: the same layer, its own config.
    let (manifest, host_digest) = layout_manifest(&layout);
    let mut config: Value = serde_json::from_slice(&blob(&layout, manifest["config"]["digest"].as_str().unwrap())).unwrap();
    config["architecture"] = json!(other_arch);
    let (config_digest, config_size) = put_blob(&layout, &serde_json::to_vec(&config).unwrap());
    let mut other = manifest.clone();
    other["config"]["digest"] = json!(config_digest);
    other["config"]["size"] = json!(config_size);
    let (other_digest, other_size) = put_blob(&layout, &serde_json::to_vec(&other).unwrap());
    let host_size = blob(&layout, &host_digest).len();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": other_digest, "size": other_size, "platform": { "os": "linux", "architecture": other_arch } },
            { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": host_digest, "size": host_size, "platform": { "os": "linux", "architecture": host_arch } },
        ],
    });
    let (index_digest, index_size) = put_blob(&layout, &serde_json::to_vec(&index).unwrap());
    let top = json!({
        "schemaVersion": 2,
        "manifests": [{ "mediaType": "application/vnd.oci.image.index.v1+json", "digest": index_digest, "size": index_size, "annotations": { "org.opencontainers.image.ref.name": "multi" } }],
    });
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    reg.push_layout(&layout, "multi", "multi:1");
    let name = format!("{}/multi:1", reg.host);

    // Looked up without a pull: the index and its platforms.
    let (status, found) = api_get(&d, &format!("/v1.47/distribution/{name}/json"));
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["Descriptor"]["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(found["Descriptor"]["digest"], index_digest.as_str());
    assert_eq!(found["Descriptor"]["size"], index_size);
    let platforms = found["Platforms"].as_array().unwrap();
    assert!(platforms.contains(&json!({"os": "linux", "architecture": host_arch})) && platforms.contains(&json!({"os": "linux", "architecture": other_arch})), "{found}");
    let (status, _) = api_get(&d, &format!("/v1.47/distribution/{}/multi:nope/json", reg.host));
    assert_eq!(status, 404);

    let o = docker(&d, &["pull", "--platform", "linux/s390x", &name]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no matching manifest for linux/s390x in the manifest list entries"), "{err}");
    assert!(ok(docker(&d, &["images", "-q"])).is_empty(), "nothing made");

    let out = ok(docker(&d, &["pull", &name]));
    assert!(out.contains(&format!("Digest: {index_digest}")), "the index's digest: {out}");
    assert_eq!(ok(docker(&d, &["image", "inspect", "-f", "{{.Architecture}}", &name])).trim(), host_arch);
    let digests = ok(docker(&d, &["image", "inspect", "-f", "{{json .RepoDigests}}", &name]));
    assert_eq!(digests.trim(), json!([format!("{}/multi@{index_digest}", reg.host)]).to_string());

    // The other platform, asked for: its config, the layer already there.
    let out = ok(docker(&d, &["pull", "--platform", &format!("linux/{other_arch}"), &name]));
    assert!(out.contains("Already exists") && !out.contains("Pull complete"), "{out}");
    assert_eq!(ok(docker(&d, &["image", "inspect", "-f", "{{.Architecture}}", &name])).trim(), other_arch);
}

#[test]
fn blobs_that_are_not_what_their_digest_says_fail_the_pull_and_leave_nothing() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start() else { return };
    let Some(d) = Daemon::for_docker() else { return };
    let layout = reg.push_busybox("bad:1");
    let (manifest, _) = layout_manifest(&layout);
    let name = format!("{}/bad:1", reg.host);
    let blobs = d.dir.path().join("data/content/blobs/sha256");
    let stored = || std::fs::read_dir(&blobs).map(|r| r.count()).unwrap_or(0);

    // The config, changed in the registry's storage: refused by its digest.
    let config = manifest["config"]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let original = std::fs::read(reg.blob_data(&config)).unwrap();
    let mut changed = original.clone();
    let at = changed.iter().position(|b| *b == b'{').unwrap();
    changed[at] = b' ';
    std::fs::write(reg.blob_data(&config), &changed).unwrap();
    let o = docker(&d, &["pull", &name]);
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("sha256:{config}")), "names the blob: {err}");
    std::fs::write(reg.blob_data(&config), &original).unwrap();
    assert!(ok(docker(&d, &["images", "-q"])).is_empty());

    // The layer, changed: the pull fails, no image, tag or layer blob is left.
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let original = std::fs::read(reg.blob_data(&layer)).unwrap();
    let mut changed = original.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0xff;
    std::fs::write(reg.blob_data(&layer), &changed).unwrap();
    let o = docker(&d, &["pull", &name]);
    assert_ne!(o.status.code(), Some(0), "{o:?}");
    assert!(ok(docker(&d, &["images", "-q"])).is_empty());
    assert!(!blobs.join(&layer).exists(), "no layer blob");
    let before = stored();

    // Put right, the same pull works.
    std::fs::write(reg.blob_data(&layer), &original).unwrap();
    let out = ok(docker(&d, &["pull", &name]));
    assert!(out.contains("Pull complete"), "{out}");
    assert!(blobs.join(&layer).exists() && stored() > before);
    assert_eq!(ok(docker(&d, &["run", "--rm", &name, "echo", "fine"])), "fine\n");
}

/// `registry-mirrors`: Docker Hub's images come from the mirror; one the mirror lacks
/// is asked of Docker Hub itself (here a proxy that is not there: the test never
/// leaves the machine), and that answer is the error.
#[test]
fn docker_hub_images_come_from_a_mirror_first() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start() else { return };
    reg.push_busybox("library/busybox:latest");
    let Some(d) = Daemon::for_docker_with(&["--registry-mirror", &format!("http://{}", reg.host)]) else { return };
    let out = ok(docker(&d, &["pull", "busybox"]));
    assert!(out.contains("Status: Downloaded newer image for busybox:latest"), "{out}");
    assert_eq!(ok(docker(&d, &["run", "--rm", "busybox", "echo", "mirrored"])), "mirrored\n");
    let digests = ok(docker(&d, &["image", "inspect", "-f", "{{json .RepoDigests}}", "busybox"]));
    assert!(digests.contains("\"busybox@sha256:"), "{digests}");

    let o = docker(&d, &["pull", "nothere"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("registry-1.docker.io"), "the origin's answer: {err}");
}
