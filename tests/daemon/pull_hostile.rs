//! Pulls from a registry that lies or breaks, one of the test's own making: a manifest
//! over the size limit, a redirect loop, an endless blob, a blob shorter than its
//! descriptor says, a layer whose media type lies, a layer whose paths climb out of
//! its root; each fails the pull clearly, leaving no image and no layer blob (and
//! nothing outside the root). A download that breaks is retried from where it broke
//! (a 500, then a connection cut half way, then the rest asked for with `Range`).
//! And `search`, against a registry offering `/v1/search`.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use berth_tests::daemon::Daemon;
use berth_tests::registry::{FakeRegistry, Reply, Request};
use serde_json::{Value, json};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// An image's manifest, config and layer as a registry would serve them.
#[derive(Clone)]
struct Image {
    manifest: Vec<u8>,
    config: Vec<u8>,
    layer: Vec<u8>,
}

fn digest(bytes: &[u8]) -> String {
    fixture::sha256_digest(bytes)
}

/// The busybox fixture's config, with `layer` (gzip of `tar`) as its one layer,
/// described with `media_type` and `size`.
fn image(tar: &[u8], media_type: &str, size: Option<usize>) -> Image {
    let dir = tempfile::tempdir().unwrap();
    fixture::write_oci_layout(dir.path(), "latest").unwrap();
    let blob = |d: &str| std::fs::read(dir.path().join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
    let index: Value = serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let mut manifest: Value = serde_json::from_slice(&blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    let mut config: Value = serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let layer = fixture::gzip(tar).unwrap();
    config["rootfs"]["diff_ids"] = json!([digest(tar)]);
    let config = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = json!(digest(&config));
    manifest["config"]["size"] = json!(config.len());
    manifest["layers"] = json!([{ "mediaType": media_type, "digest": digest(&layer), "size": size.unwrap_or(layer.len()) }]);
    Image { manifest: serde_json::to_vec(&manifest).unwrap(), config, layer }
}

/// The fixture's own layer, uncompressed.
fn busybox_tar() -> Vec<u8> {
    fixture::tar(fixture::rootfs().unwrap()).unwrap()
}

/// A tar whose one file is named `name` as given, `..` and all.
fn tar_with_path(name: &str) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(5);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(b"owned");
    out.resize(out.len() + 512 - 5, 0);
    out.resize(out.len() + 1024, 0);
    out
}

fn ok_json(body: Vec<u8>, content_type: &str) -> Reply {
    let d = digest(&body);
    Reply::Full(200, vec![("Content-Type".into(), content_type.into()), ("Docker-Content-Digest".into(), d)], body)
}

fn not_found() -> Reply {
    Reply::Full(404, vec![], br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.to_vec())
}

/// Serves `images` by repository name; `layer` may answer a repository's layer
/// requests its own way.
fn serve(images: HashMap<String, Image>, layer: impl Fn(&str, &Request, &Image) -> Option<Reply> + Send + Sync + 'static) -> FakeRegistry {
    FakeRegistry::start(move |req| {
        let path = req.path.trim_start_matches("/v2/");
        if path.is_empty() {
            return Reply::Full(200, vec![], b"{}".to_vec());
        }
        let Some((repo, rest)) = path.split_once('/') else { return not_found() };
        let Some(img) = images.get(repo) else { return not_found() };
        if rest.starts_with("manifests/") {
            return ok_json(img.manifest.clone(), MANIFEST);
        }
        let asked = rest.trim_start_matches("blobs/");
        if asked == digest(&img.config) {
            return ok_json(img.config.clone(), "application/octet-stream");
        }
        if asked == digest(&img.layer) {
            return layer(repo, req, img).unwrap_or_else(|| Reply::Full(200, vec![], img.layer.clone()));
        }
        not_found()
    })
}

/// The layer from where `req` asks (`Range`), as a registry answers it.
fn rest_of(img: &Image, req: &Request) -> Reply {
    let from = req.range_from.unwrap_or(0) as usize;
    let range = format!("bytes {from}-{}/{}", img.layer.len() - 1, img.layer.len());
    Reply::Full(if from > 0 { 206 } else { 200 }, vec![("Content-Range".into(), range)], img.layer[from..].to_vec())
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

/// The pull of `repo` fails with `words` in its error, and leaves no image and no
/// blob that is not whole (each one's content is its name's digest; a layer whose
/// bytes were right but whose files were refused may stay, for the collector).
fn refused(d: &Daemon, host: &str, repo: &str, words: &[&str]) {
    let o = docker(d, &["pull", &format!("{host}/{repo}:1")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{repo}: {o:?}");
    assert!(words.iter().any(|w| err.contains(w)), "{repo}: {err}");
    let images = String::from_utf8_lossy(&docker(d, &["images", "-q"]).stdout).into_owned();
    assert!(images.is_empty(), "{repo}: no image: {images}");
    let blobs = d.dir.path().join("data/content/blobs/sha256");
    for entry in std::fs::read_dir(&blobs).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert_eq!(digest(&std::fs::read(entry.path()).unwrap()), format!("sha256:{name}"), "{repo}: a blob not whole");
    }
}

#[test]
fn lies_and_breakage_fail_the_pull_and_leave_nothing() {
    berth_tests::require_root!();
    let Some(d) = Daemon::for_docker() else { return };
    let good = image(&busybox_tar(), "application/vnd.oci.image.layer.v1.tar+gzip", None);
    let mut images = HashMap::new();
    images.insert("endless".to_string(), good.clone());
    images.insert("short".to_string(), image(&busybox_tar(), "application/vnd.oci.image.layer.v1.tar+gzip", Some(good.layer.len() + 100)));
    images.insert("zstdlie".to_string(), image(&busybox_tar(), "application/vnd.oci.image.layer.v1.tar+zstd", None));
    images.insert("escape".to_string(), image(&tar_with_path("../../berth-escaped"), "application/vnd.oci.image.layer.v1.tar+gzip", None));
    let big = Image { manifest: vec![b' '; 5 << 20], ..good.clone() };
    images.insert("big".to_string(), big.clone());
    let reg = serve(images.clone(), |repo, _req, img| match repo {
        // The layer, and then more, for ever.
        "endless" => Some(Reply::Endless(img.layer.clone())),
        _ => None,
    });
    let h = reg.host.clone();
    refused(&d, &h, "big", &["over the 4194304-byte limit"]);
    refused(&d, &h, "endless", &["more than the"]);
    refused(&d, &h, "short", &["bytes of", "closed after"]);
    refused(&d, &h, "zstdlie", &["layer", "zstd", "Unknown frame"]);
    refused(&d, &h, "escape", &["../../berth-escaped"]);
    assert!(!Path::new("/berth-escaped").exists() && !d.dir.path().join("berth-escaped").exists());

    // A redirect loop.
    let looping = FakeRegistry::start(|req| match req.path.as_str() {
        "/v2/" => Reply::Full(200, vec![], b"{}".to_vec()),
        p => Reply::Full(302, vec![("Location".into(), p.to_string())], Vec::new()),
    });
    let o = docker(&d, &["pull", &format!("{}/loop:1", looping.host)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("too many redirects"), "{o:?}");
}

#[test]
fn a_broken_download_is_resumed_where_it_broke() {
    berth_tests::require_root!();
    let Some(d) = Daemon::for_docker() else { return };
    let good = image(&busybox_tar(), "application/vnd.oci.image.layer.v1.tar+gzip", None);
    let asks = Arc::new(AtomicUsize::new(0));
    let ranges = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (seen, asked_from) = (asks.clone(), ranges.clone());
    let reg = serve([("flaky".to_string(), good.clone())].into(), move |_repo, req, img| {
        asked_from.lock().unwrap().push(req.range_from);
        Some(match seen.fetch_add(1, Ordering::Relaxed) {
            // A server error, then a connection cut half way, then the rest.
            0 => Reply::Full(500, vec![], br#"{"errors":[{"code":"UNKNOWN","message":"try again"}]}"#.to_vec()),
            1 => Reply::Cut { bytes: img.layer.clone(), sent: img.layer.len() / 2 },
            _ => rest_of(img, req),
        })
    });
    let out = docker(&d, &["pull", &format!("{}/flaky:1", reg.host)]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(asks.load(Ordering::Relaxed), 3, "one failure, one cut, one resume");
    let half = (good.layer.len() / 2) as u64;
    assert_eq!(*ranges.lock().unwrap(), [None, None, Some(half)], "the rest asked for from where it broke");
    let ran = docker(&d, &["run", "--rm", &format!("{}/flaky:1", reg.host), "echo", "whole"]);
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "whole\n", "{ran:?}");
}

/// `search` against a registry that offers `/v1/search` (the test's own): the docker
/// CLI and berth's print its answers in Docker's table, filtered and limited as asked;
/// a limit out of range is refused in Docker's words.
#[test]
fn search_asks_the_registry_and_filters_its_answers() {
    berth_tests::require_root!();
    let Some(d) = Daemon::for_docker() else { return };
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    let reg = FakeRegistry::start(move |req| {
        seen.lock().unwrap().push(req.path.clone());
        let results = json!({"num_results": 3, "query": "tools", "results": [
            {"name": "acme/tools", "description": "Tools of acme", "star_count": 12, "is_official": false, "is_automated": false},
            {"name": "tools", "description": "The official tools", "star_count": 900, "is_official": true, "is_automated": false},
            {"name": "nobody/tools", "description": "", "star_count": 0, "is_official": false, "is_automated": true},
        ]});
        Reply::Full(200, vec![("Content-Type".into(), "application/json".into())], results.to_string().into_bytes())
    });
    let term = format!("{}/tools", reg.host);
    let out = docker(&d, &["search", &term]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("NAME ") && text.contains("tools          The official tools   900       [OK]"), "{text}");
    assert_eq!(asked.lock().unwrap().last().map(String::as_str), Some("/v1/search?q=tools&n=25"));
    let berth = std::process::Command::new(berth_tests::bin("berth")).env("DOCKER_HOST", d.host()).args(["search", "--filter", "stars=10", "--format", "{{.Name}}:{{.StarCount}}:{{.IsOfficial}}", &term]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&berth.stdout), "acme/tools:12:\ntools:900:[OK]\n", "{berth:?}");
    let out = docker(&d, &["search", "--filter", "is-official=true", "--limit", "5", "--format", "{{.Name}}", &term]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tools\n", "{out:?}");
    let out = docker(&d, &["search", "--limit", "101", &term]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("limit 101 is outside the range of [1, 100]"), "{out:?}");
}

/// A `kill -9` of berthd in the middle of a download leaves no image, and the pull
/// after the restart asks only for the rest of the blob (`Range` from where it was).
#[test]
fn a_pull_killed_with_berthd_resumes_after_its_restart() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::for_docker() else { return };
    let good = image(&busybox_tar(), "application/vnd.oci.image.layer.v1.tar+gzip", None);
    let ranges = Arc::new(std::sync::Mutex::new(Vec::new()));
    let asked_from = ranges.clone();
    let half = good.layer.len() / 2;
    let reg = serve([("slow".to_string(), good.clone())].into(), move |_repo, req, img| {
        let mut seen = asked_from.lock().unwrap();
        seen.push(req.range_from);
        Some(match seen.len() {
            // Half, then silence: the daemon is killed meanwhile.
            1 => Reply::Stall { bytes: img.layer.clone(), sent: half },
            _ => rest_of(img, req),
        })
    });
    let name = format!("{}/slow:1", reg.host);
    let mut pulling = std::process::Command::new("/usr/local/bin/docker")
        .env("DOCKER_HOST", d.host())
        .args(["pull", &name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Until the daemon has the first half on disk.
    let ingest = d.dir.path().join("data/content/ingest");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let partial = || {
        std::fs::read_dir(&ingest).into_iter().flatten().flatten().any(|e| std::fs::metadata(e.path().join("data")).is_ok_and(|m| m.len() as usize == half))
    };
    while !partial() {
        assert!(std::time::Instant::now() < deadline, "no half-fetched blob in {}", ingest.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    d.kill9_and_restart();
    let _ = pulling.wait();
    assert!(String::from_utf8_lossy(&docker(&d, &["images", "-q"]).stdout).is_empty(), "nothing a user sees");
    let out = docker(&d, &["pull", &name]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(*ranges.lock().unwrap(), [None, Some(half as u64)], "the second pull asked for the rest only");
    let ran = docker(&d, &["run", "--rm", &name, "echo", "resumed"]);
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "resumed\n", "{ran:?}");
}
