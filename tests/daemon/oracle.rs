//! The differential oracle: the same requests to berthd and to a real dockerd (20.10,
//! API 1.41, private to the test), the answers compared as clients read them: the
//! status, the content type, for JSON the key sets and value types all the way down
//! (not the values: ids and times differ), an error's message (ids masked), and a
//! stream's framing. A difference is a failure unless the
//! allow-list below names it with its reason; an allow-list entry that no longer
//! matches anything is a failure too, so the list stays true.
//!
//! Requests go through `/v1.41/`, the highest version both serve, unless a case asks
//! for another prefix.

use std::collections::BTreeSet;

use api::client::Body;
use berth_tests::daemon::{Daemon, block_on};
use berth_tests::dockerd::Dockerd;
use hyper::Method;
use serde_json::{Value, json};

/// One request, sent to both.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    /// Its content type and bytes.
    body: Option<(String, Vec<u8>)>,
}

fn case(name: &'static str, method: Method, path: &str) -> Case {
    Case { name, method, path: format!("/v1.41{path}"), query: Vec::new(), body: None }
}

impl Case {
    fn query(mut self, k: &'static str, v: &str) -> Case {
        self.query.push((k, v.to_string()));
        self
    }

    fn json(mut self, v: Value) -> Case {
        self.body = Some(("application/json".into(), serde_json::to_vec(&v).unwrap()));
        self
    }

    fn raw(mut self, content_type: &str, bytes: &[u8]) -> Case {
        self.body = Some((content_type.into(), bytes.to_vec()));
        self
    }

    fn unversioned(mut self) -> Case {
        self.path = self.path.trim_start_matches("/v1.41").to_string();
        self
    }

    fn at(mut self, version: &str) -> Case {
        self.path = self.path.replacen("/v1.41", &format!("/v{version}"), 1);
        self
    }
}

/// Differences berth keeps, each with its reason: (case, a difference it reports,
/// why). A case ending in `*` names every case it begins; `*x*` every case holding
/// x; `*` alone every case.
const ALLOWED: &[(&str, &str, &str)] = &[
    ("version*", "/Components/0/Details/", "berth's component details are its own: it has no containerd, runc or docker-init to report on"),
    ("version too new", "message:", "each names its own highest API version (berth 1.47)"),
    ("info*", "extra", "fields of API versions after 1.41 (berth serves up to 1.47 at every version)"),
    ("info*", "/Runtimes/", "each lists the runtimes it has (berth: berth, runc, crun; dockerd: containerd's shims)"),
    ("info*", "Commit/Expected", "dockerd's build-time expectations of its containerd, runc and init: berth has none of them"),
    ("info*", "missing /ExecutionDriver", "gone from dockerd since API 1.24"),
    ("info*", "missing /KernelMemory", "kernel memory limits are gone from cgroup v2; dockerd 25+ no longer applies them"),
    ("info*", "missing /RegistryConfig", "registries are issue 12"),
    ("*bad repo*", "status: docker 500, berth 400", "a bad reference is the client's error: 400, as dockerd answers since 23 (20.10 answers 500)"),
    ("*bad repo*", "message:", "the reference named in the message, as dockerd 25+ words it"),
    ("image inspect missing", "message:", "dockerd 25+'s words (20.10 says it twice)"),
    ("*bad filter*", "message:", "dockerd 25+'s words (lower case)"),
    ("create bad json", "status: docker 500, berth 400", "a body that is not JSON is the client's error: 400, as dockerd answers since 23"),
    ("create wrong type", "status: docker 500, berth 400", "a field of the wrong type is the client's error: 400, as dockerd answers since 23"),
    ("create bad json", "message:", "the JSON parser's own words (Go's and serde's differ); clients act on the status"),
    ("create wrong type", "message:", "the JSON parser's own words (Go's and serde's differ); clients act on the status"),
    ("remove running", "message:", "dockerd 25+'s words"),
    ("logs", "content type:", "the multiplexed stream named as such at every version, as dockerd names it from 1.42"),
    ("export", "content type:", "application/x-tar, as dockerd 25+ names it"),
    ("network create no name", "", "a missing name is the client's error: 400 and berth's words (20.10 answers 500 \"invalid name: \")"),
    ("network disconnect again", "status: docker 500, berth 403", "not connected is refused as dockerd 25+ refuses it (403)"),
    ("*inspect*", "missing /HostConfig/KernelMemory", "kernel memory limits are gone from cgroup v2 and ignored by dockerd since 25, which omits them too"),
    ("*inspect*", "extra /HostConfig/Init", "shown when set, as dockerd does from API 1.25 (20.10 omits it while unset)"),
    ("inspect created", "extra /HostConfig/Runtime", "the runtime is known from the create on (20.10 fills it at the start)"),
    ("image inspect*", "missing /Container", "the builder's or committer's container and its config (deprecated, gone in API 1.45)"),
    ("image inspect*", "missing /GraphDriver/Data/", "an image's layers are berth's snapshots, shown in its containers' GraphDriver"),
    ("archive get no path", "message:", "dockerd 20.10's typo (\"pathcannot\"), mended in later releases"),
    ("archive put not a directory", "status: docker 500, berth 400", "the client's error: 400, as dockerd answers since 23"),
    ("*", "/DNSNames", "API 1.44's field"),
    ("*", "/GwPriority", "API 1.48's field"),
    ("*", "/EnableIPv4", "API 1.47's field"),
    ("system df", "missing /BuilderSize", "deprecated in API 1.42 for BuildCache"),
    ("system df", "missing /Images/0/VirtualSize", "removed in API 1.44; berth keeps it for older clients in the image list and inspect only"),
    ("stats one-shot", "extra /memory_stats/stats/", "all of the kernel's memory.stat counters (dockerd keeps a fixed list of them)"),
    ("stats one-shot", "extra /memory_stats/failcnt", "the limit's hit count, which dockerd keeps from v1 only when non-zero"),
];

/// A tar of one small file, to extract.
fn small_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, "oracle.txt", &b"hi\n"[..]).unwrap();
    b.into_inner().unwrap()
}

/// What a reply looks like to a client.
struct Seen {
    status: u16,
    content_type: String,
    json: Option<Value>,
    /// A body that is not JSON starts with a multiplexed stream's frame header.
    framed: Option<bool>,
}

/// Whether `body` starts as a multiplexed stream does: a stream byte (0–2), three
/// zeros, a length.
fn frame_header(body: &[u8]) -> bool {
    body.len() >= 8 && body[0] <= 2 && body[1..4] == [0, 0, 0]
}

/// `message` with ids (64 and 12 hex digits) masked.
fn masked(message: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in message.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() == 64 || run.len() == 12 {
            out.push_str("<id>");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

async fn send(c: &api::Client, case: &Case) -> Seen {
    let query: Vec<(&str, &str)> = case.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = case.body.as_ref().map(|(t, b)| Body::raw(t, b.clone()));
    let r = c.exchange(case.method.clone(), &case.path, &query, body).await;
    match r {
        Ok(r) => {
            let content_type = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let content_type = content_type.split(';').next().unwrap_or_default().trim().to_string();
            let json: Option<Value> = serde_json::from_slice(&r.body).ok();
            let framed = (json.is_none() && !r.body.is_empty()).then(|| frame_header(&r.body));
            Seen { status: r.status.as_u16(), content_type, json, framed }
        }
        Err(e) => panic!("{}: {e}", case.name),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The differences of `berth`'s JSON from `docker`'s: keys missing or extra, and
/// values of another type, by path.
fn shape_diff(path: &str, docker: &Value, berth: &Value, out: &mut Vec<String>) {
    match (docker, berth) {
        (Value::Object(d), Value::Object(b)) => {
            for (k, dv) in d {
                match b.get(k) {
                    Some(bv) => shape_diff(&format!("{path}/{k}"), dv, bv, out),
                    None => out.push(format!("missing {path}/{k}")),
                }
            }
            for k in b.keys().filter(|k| !d.contains_key(*k)) {
                out.push(format!("extra {path}/{k}"));
            }
        }
        (Value::Array(d), Value::Array(b)) => {
            // Elements with names (networks, say) are paired by name, whatever their
            // order; others by their first.
            let named = |v: &Value| v.get("Name").and_then(Value::as_str).map(String::from);
            let pairs: Vec<(&Value, &Value)> = match d.iter().filter_map(|dv| Some((dv, b.iter().find(|bv| named(bv).is_some() && named(bv) == named(dv))?))).collect::<Vec<_>>() {
                paired if !paired.is_empty() => paired,
                _ => d.first().zip(b.first()).into_iter().collect(),
            };
            for (dv, bv) in pairs {
                shape_diff(&format!("{path}/0"), dv, bv, out);
            }
        }
        // Where dockerd writes null for an empty list or map, berth writes it empty:
        // clients read both as empty (Python's iterate the one, fail on the other).
        (Value::Null, Value::Array(b)) if b.is_empty() => {}
        (Value::Null, Value::Object(b)) if b.is_empty() => {}
        (d, b) if kind(d) != kind(b) => out.push(format!("type {path}/: docker {}, berth {}", kind(d), kind(b))),
        _ => {}
    }
}

fn compare(case: &Case, docker: &Seen, berth: &Seen, found: &mut Vec<(String, String)>) {
    let mut diffs = Vec::new();
    if docker.status != berth.status {
        diffs.push(format!("status: docker {}, berth {}", docker.status, berth.status));
    }
    if docker.content_type != berth.content_type {
        diffs.push(format!("content type: docker {:?}, berth {:?}", docker.content_type, berth.content_type));
    }
    if docker.framed != berth.framed {
        diffs.push(format!("framing: docker {:?}, berth {:?}", docker.framed, berth.framed));
    }
    let message = |s: &Seen| s.json.as_ref().and_then(|j| j["message"].as_str()).map(masked);
    if docker.status >= 400 && berth.status >= 400 && message(docker) != message(berth) {
        diffs.push(format!("message: docker {:?}, berth {:?}", message(docker).unwrap_or_default(), message(berth).unwrap_or_default()));
    }
    match (&docker.json, &berth.json) {
        (Some(d), Some(b)) => shape_diff("", d, b, &mut diffs),
        (Some(_), None) => diffs.push("json: docker's is JSON, berth's is not".into()),
        (None, Some(_)) => diffs.push("json: berth's is JSON, docker's is not".into()),
        (None, None) => {}
    }
    found.extend(diffs.into_iter().map(|d| (case.name.to_string(), d)));
}

#[test]
fn berthd_answers_as_dockerd_does() {
    berth_tests::require_root!();
    let Some(docker) = Dockerd::start() else { return };
    let berth = Daemon::start();
    berth.load_busybox();
    docker.load_busybox();
    let (dc, bc) = (api::Client::new(&docker.host()).unwrap(), api::Client::new(&berth.host()).unwrap());
    let run = |cases: Vec<Case>, found: &mut Vec<(String, String)>| {
        block_on(async {
            for c in &cases {
                let (d, b) = (send(&dc, c).await, send(&bc, c).await);
                if std::env::var("ORACLE_SHOW").is_ok_and(|n| n == c.name) {
                    eprintln!("{}: docker {} {:?} {:?}\nberth {} {:?} {:?}", c.name, d.status, d.content_type, d.json, b.status, b.content_type, b.json);
                }
                compare(c, &d, &b, found);
            }
        })
    };
    let mut found = Vec::new();
    let create = json!({"Image": "busybox", "Cmd": ["sh", "-c", "echo out; echo err >&2; sleep 60"], "Labels": {"oracle": "1"}});
    run(
        vec![
            case("ping", Method::GET, "/_ping").unversioned(),
            case("version", Method::GET, "/version").unversioned(),
            case("version 1.24", Method::GET, "/version").at("1.24"),
            case("version too old", Method::GET, "/version").at("1.11"),
            case("version too new", Method::GET, "/version").at("1.99"),
            case("info", Method::GET, "/info"),
            case("unknown path", Method::GET, "/no/such/thing"),
            case("image list", Method::GET, "/images/json"),
            case("image inspect", Method::GET, "/images/busybox/json"),
            case("image history", Method::GET, "/images/busybox/history"),
            case("image inspect missing", Method::GET, "/images/nosuch:1/json"),
            case("image tag", Method::POST, "/images/busybox/tag").query("repo", "oracle/tagged").query("tag", "v1"),
            case("image tag bad repo", Method::POST, "/images/busybox/tag").query("repo", "UPPER"),
            case("image remove tag", Method::DELETE, "/images/oracle/tagged:v1"),
            case("image remove missing", Method::DELETE, "/images/nosuch:1"),
            case("image load bad archive", Method::POST, "/images/load").raw("application/x-tar", b"not a tar"),
            case("network list", Method::GET, "/networks"),
            case("network inspect", Method::GET, "/networks/bridge"),
            case("network inspect missing", Method::GET, "/networks/nosuch"),
            case("network remove predefined", Method::DELETE, "/networks/bridge"),
            case("volume list", Method::GET, "/volumes"),
            case("system df", Method::GET, "/system/df"),
            case("swarm", Method::GET, "/swarm"),
            case("services", Method::GET, "/services"),
            case("container list", Method::GET, "/containers/json"),
            case("container list bad filter", Method::GET, "/containers/json").query("filters", r#"{"bogus":["x"]}"#),
            case("create bad json", Method::POST, "/containers/create").raw("application/json", b"{not json"),
            case("create wrong type", Method::POST, "/containers/create").json(json!({"Image": "busybox", "Cmd": 5})),
            case("create no image", Method::POST, "/containers/create").json(json!({"Image": "nosuch:1"})),
            case("create bad name", Method::POST, "/containers/create").query("name", "a/b").json(json!({"Image": "busybox"})),
            case("create", Method::POST, "/containers/create").query("name", "oracle1").json(create.clone()),
            case("create duplicate name", Method::POST, "/containers/create").query("name", "oracle1").json(create.clone()),
            case("create lower-case keys", Method::POST, "/containers/create").query("name", "oracle2").json(json!({"image": "busybox", "cmd": ["true"]})),
            case("inspect created", Method::GET, "/containers/oracle1/json"),
            case("start", Method::POST, "/containers/oracle1/start"),
            case("start again", Method::POST, "/containers/oracle1/start"),
            case("container inspect", Method::GET, "/containers/oracle1/json"),
            case("container list running", Method::GET, "/containers/json"),
            case("container list all", Method::GET, "/containers/json").query("all", "1"),
            case("top", Method::GET, "/containers/oracle1/top"),
            case("stats one-shot", Method::GET, "/containers/oracle1/stats").query("stream", "0"),
            case("exec create", Method::POST, "/containers/oracle1/exec").json(json!({"Cmd": ["true"]})),
            case("exec create no cmd", Method::POST, "/containers/oracle1/exec").json(json!({})),
            case("exec inspect missing", Method::GET, "/exec/nosuch/json"),
            case("rename", Method::POST, "/containers/oracle2/rename").query("name", "oracle3"),
            case("rename taken", Method::POST, "/containers/oracle3/rename").query("name", "oracle1"),
            case("remove running", Method::DELETE, "/containers/oracle1"),
            case("pause", Method::POST, "/containers/oracle1/pause"),
            case("unpause", Method::POST, "/containers/oracle1/unpause"),
            case("kill bad signal", Method::POST, "/containers/oracle1/kill").query("signal", "SIGNOPE"),
            case("stop", Method::POST, "/containers/oracle1/stop").query("t", "0"),
            case("stop again", Method::POST, "/containers/oracle1/stop"),
            case("wait", Method::POST, "/containers/oracle1/wait"),
            case("inspect exited", Method::GET, "/containers/oracle1/json"),
            case("inspect missing", Method::GET, "/containers/nosuch/json"),
            case("start missing", Method::POST, "/containers/nosuch/start"),
            case("remove", Method::DELETE, "/containers/oracle1"),
            case("remove missing", Method::DELETE, "/containers/oracle1"),
            case("remove renamed", Method::DELETE, "/containers/oracle3").query("force", "1"),
            case("prune", Method::POST, "/containers/prune"),
            case("create unknown field", Method::POST, "/containers/create").query("name", "oracle4").json(json!({"Image": "busybox", "Cmd": ["sh", "-c", "echo out; echo err >&2; sleep 60"], "NoSuchField": 1})),
            case("start 4", Method::POST, "/containers/oracle4/start"),
            case("logs", Method::GET, "/containers/oracle4/logs").query("stdout", "1").query("stderr", "1"),
            case("logs none asked", Method::GET, "/containers/oracle4/logs"),
            case("changes", Method::GET, "/containers/oracle4/changes"),
            case("export", Method::GET, "/containers/oracle4/export"),
            case("update", Method::POST, "/containers/oracle4/update").json(json!({"Memory": 64 << 20, "MemorySwap": -1})),
            case("update bad", Method::POST, "/containers/oracle4/update").json(json!({"Memory": 1024})),
            case("restart", Method::POST, "/containers/oracle4/restart").query("t", "0"),
            case("kill", Method::POST, "/containers/oracle4/kill").query("signal", "SIGUSR1"),
            case("exec detached", Method::POST, "/containers/oracle4/exec").json(json!({"Cmd": ["true"]})),
            case("network create", Method::POST, "/networks/create").json(json!({"Name": "onet", "Labels": {"oracle": "1"}})),
            case("network create duplicate", Method::POST, "/networks/create").json(json!({"Name": "onet", "CheckDuplicate": true})),
            case("network create bad driver", Method::POST, "/networks/create").json(json!({"Name": "odrv", "Driver": "nosuch"})),
            case("network create no name", Method::POST, "/networks/create").json(json!({})),
            case("network inspect user", Method::GET, "/networks/onet"),
            case("network connect", Method::POST, "/networks/onet/connect").json(json!({"Container": "oracle4", "EndpointConfig": {"Aliases": ["db"]}})),
            case("network connect again", Method::POST, "/networks/onet/connect").json(json!({"Container": "oracle4"})),
            case("network connect missing", Method::POST, "/networks/onet/connect").json(json!({"Container": "nosuch"})),
            case("inspect connected", Method::GET, "/containers/oracle4/json"),
            case("network remove in use", Method::DELETE, "/networks/onet"),
            case("network disconnect", Method::POST, "/networks/onet/disconnect").json(json!({"Container": "oracle4"})),
            case("network disconnect again", Method::POST, "/networks/onet/disconnect").json(json!({"Container": "oracle4"})),
            case("network prune", Method::POST, "/networks/prune").query("filters", r#"{"label":["oracle=1"]}"#),
            case("network inspect pruned", Method::GET, "/networks/onet"),
            case("remove 4", Method::DELETE, "/containers/oracle4").query("force", "1"),
            case("image prune", Method::POST, "/images/prune"),
            case("events bounded", Method::GET, "/events").query("since", "0").query("until", "1"),
            case("volume create", Method::POST, "/volumes/create").json(json!({"Name": "ovol", "Labels": {"oracle": "1"}})),
            case("volume create again", Method::POST, "/volumes/create").json(json!({"Name": "ovol"})),
            case("volume create bad name", Method::POST, "/volumes/create").json(json!({"Name": "bad/name"})),
            case("volume create bad driver", Method::POST, "/volumes/create").json(json!({"Name": "odrv", "Driver": "nosuch"})),
            case("volume inspect", Method::GET, "/volumes/ovol"),
            case("volume inspect missing", Method::GET, "/volumes/nosuch"),
            case("volume list labelled", Method::GET, "/volumes").query("filters", r#"{"label":["oracle=1"]}"#),
            case("volume list bad filter", Method::GET, "/volumes").query("filters", r#"{"bogus":["1"]}"#),
            case("create with volume", Method::POST, "/containers/create").query("name", "oracle5").json(json!({"Image": "busybox", "HostConfig": {"Binds": ["ovol:/data", "/anon"]}})),
            case("inspect with volume", Method::GET, "/containers/oracle5/json"),
            case("volume remove in use", Method::DELETE, "/volumes/ovol"),
            case("remove with volumes", Method::DELETE, "/containers/oracle5").query("v", "1"),
            case("volume remove", Method::DELETE, "/volumes/ovol"),
            case("volume remove missing", Method::DELETE, "/volumes/ovol"),
            case("volume prune", Method::POST, "/volumes/prune"),
            case("create volumes-from missing", Method::POST, "/containers/create").json(json!({"Image": "busybox", "HostConfig": {"VolumesFrom": ["nosuch"]}})),
            case("create volumes-from bad mode", Method::POST, "/containers/create").json(json!({"Image": "busybox", "HostConfig": {"VolumesFrom": ["oracle1:rx"]}})),
            case("create 6", Method::POST, "/containers/create").query("name", "oracle6").json(json!({"Image": "busybox", "Cmd": ["sleep", "60"]})),
            case("archive stat of a stopped one", Method::HEAD, "/containers/oracle6/archive").query("path", "/bin"),
            case("start 6", Method::POST, "/containers/oracle6/start"),
            case("archive stat", Method::HEAD, "/containers/oracle6/archive").query("path", "/bin/"),
            case("archive stat missing", Method::HEAD, "/containers/oracle6/archive").query("path", "/nope"),
            case("archive stat no container", Method::HEAD, "/containers/nosuch/archive").query("path", "/bin"),
            case("archive get no path", Method::GET, "/containers/oracle6/archive"),
            case("archive get", Method::GET, "/containers/oracle6/archive").query("path", "/etc/passwd"),
            case("archive get missing", Method::GET, "/containers/oracle6/archive").query("path", "/nope/x"),
            case("archive put", Method::PUT, "/containers/oracle6/archive").query("path", "/tmp").raw("application/x-tar", &small_tar()),
            case("archive put not a directory", Method::PUT, "/containers/oracle6/archive").query("path", "/etc/passwd").raw("application/x-tar", &small_tar()),
            case("archive put missing", Method::PUT, "/containers/oracle6/archive").query("path", "/nope").raw("application/x-tar", &small_tar()),
            case("commit", Method::POST, "/commit").query("container", "oracle6").query("repo", "ocommit").query("tag", "v1").query("comment", "c"),
            case("commit missing", Method::POST, "/commit").query("container", "nosuch"),
            case("commit bad repo", Method::POST, "/commit").query("container", "oracle6").query("repo", "UPPER"),
            case("image inspect committed", Method::GET, "/images/ocommit:v1/json"),
            case("image remove committed", Method::DELETE, "/images/ocommit:v1"),
            case("remove 6", Method::DELETE, "/containers/oracle6").query("force", "1"),
        ],
        &mut found,
    );
    // Older clients, through each version prefix they send.
    for v in ["1.24", "1.30", "1.35", "1.40"] {
        run(
            vec![
                Case { name: "container list@", ..case("", Method::GET, "/containers/json").query("all", "1").at(v) },
                Case { name: "image list@", ..case("", Method::GET, "/images/json").at(v) },
                Case { name: "network list@", ..case("", Method::GET, "/networks").at(v) },
                Case { name: "info@", ..case("", Method::GET, "/info").at(v) },
                Case { name: "version@", ..case("", Method::GET, "/version").at(v) },
            ],
            &mut found,
        );
    }
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut unexplained = Vec::new();
    for (name, diff) in &found {
        let names = |pattern: &str| match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
            (Some(inner), Some(_)) => name.contains(inner.trim_end_matches('*')),
            (None, Some(prefix)) => name.starts_with(prefix),
            _ => pattern == name,
        };
        match ALLOWED.iter().position(|(n, d, _)| names(n) && diff.contains(d)) {
            Some(i) => {
                used.insert(i);
            }
            None => unexplained.push(format!("{name}: {diff}")),
        }
    }
    let stale: Vec<String> = ALLOWED.iter().enumerate().filter(|(i, _)| !used.contains(i)).map(|(_, (n, d, _))| format!("{n}: {d}")).collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "differences from dockerd that the allow-list does not explain:\n  {}\nallow-list entries nothing matched any more:\n  {}",
        unexplained.join("\n  "),
        stale.join("\n  ")
    );
}
