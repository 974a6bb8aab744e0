//! A private registry for a test: Debian's `docker-registry` (the CNCF distribution
//! registry) on a loopback port of its own, storing under a temp directory, stopped
//! by its pid when dropped; and images put into it with `skopeo` from the busybox
//! fixture, so that what berth pulls was pushed by another client.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// The one user's name and password, when it asks for them.
    creds: Option<(String, String)>,
    /// The token server it sends clients to, if it takes tokens.
    pub tokens: Option<TokenServer>,
    /// For one that speaks TLS and asks for a client certificate: the directory with
    /// `ca.crt`, `client.cert` and `client.key` (a `certs.d/<host>` as Docker's).
    pub tls: Option<PathBuf>,
}

impl Registry {
    /// Starts one; `None` (a skip, a failure under CI) when `docker-registry` or
    /// `skopeo` is missing.
    pub fn start() -> Option<Registry> {
        Registry::start_inner(None, false, false)
    }

    /// One on HTTPS with a certificate of a CA of the test's own, that lets in only
    /// clients with a certificate of that CA.
    pub fn start_with_client_certificates() -> Option<Registry> {
        Registry::start_inner(None, false, true)
    }

    /// One that lets in only `user` with `password` (HTTP Basic, htpasswd).
    pub fn start_with_user(user: &str, password: &str) -> Option<Registry> {
        Registry::start_inner(Some((user.to_string(), password.to_string())), false, false)
    }

    /// One that takes bearer tokens from a [`TokenServer`] of its own, which gives
    /// `user` with `password` what they ask for.
    pub fn start_with_tokens(user: &str, password: &str) -> Option<Registry> {
        Registry::start_inner(Some((user.to_string(), password.to_string())), true, false)
    }

    fn start_inner(creds: Option<(String, String)>, with_tokens: bool, with_tls: bool) -> Option<Registry> {
        for tool in ["docker-registry", "skopeo"] {
            if Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
                crate::skip(&format!("no {tool}"));
                return None;
            }
        }
        let dir = tempfile::Builder::new().prefix("berth-registry").tempdir().expect("tempdir");
        let mut tokens = None;
        let tls = with_tls.then(|| make_certificates(dir.path()));
        // A port free now; another test taking it in between makes the start fail, and
        // then another is tried.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let host = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            let storage = dir.path().join("data");
            let mut yaml = format!("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n", storage.display());
            if let (true, Some((user, password))) = (with_tokens, &creds) {
                let server = tokens.get_or_insert_with(|| TokenServer::start(dir.path(), user, password));
                yaml.push_str(&format!(
                    "auth:\n  token:\n    realm: http://{}/token\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                    server.addr,
                    server.cert.display()
                ));
            } else if let Some((user, password)) = &creds {
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{user}:{}\n", bcrypt::hash(password, 5).unwrap())).unwrap();
                yaml.push_str(&format!("auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n", htpasswd.display()));
            }
            if let Some(certs) = &tls {
                yaml.push_str(&format!(
                    "  tls:\n    certificate: {0}/server.crt\n    key: {0}/server.key\n    clientcas:\n      - {0}/ca.crt\n",
                    certs.parent().expect("tls/client").display()
                ));
            }
            std::fs::write(&config, yaml).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new("docker-registry").arg("serve").arg(&config).stdout(log.try_clone().unwrap()).stderr(log).spawn().expect("start docker-registry");
            if tls.is_some() || ready(&mut child, &host) {
                if tls.is_some() {
                    // Its readiness over TLS: a port that accepts.
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while std::net::TcpStream::connect(&host).is_err() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                return Some(Registry { child, dir, host, creds, tokens, tls });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start");
    }

    /// Where the registry keeps the blob `hex` (to corrupt it).
    pub fn blob_data(&self, hex: &str) -> PathBuf {
        self.dir.path().join("data/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// Copies the OCI layout `layout` (its `reference`, every platform of an index)
    /// to `repo_tag` here, with skopeo.
    pub fn push_layout(&self, layout: &Path, reference: &str, repo_tag: &str) {
        self.push_layout_with(layout, reference, repo_tag, &[]);
    }

    /// [`Registry::push_layout`] with more of skopeo's flags (`--dest-compress-format`).
    pub fn push_layout_with(&self, layout: &Path, reference: &str, repo_tag: &str, extra: &[&str]) {
        let mut skopeo = Command::new("skopeo");
        skopeo.args(["copy", "--all", "--dest-tls-verify=false", "--quiet"]).args(extra);
        if let Some((user, password)) = &self.creds {
            skopeo.arg(format!("--dest-creds={user}:{password}"));
        }
        if let Some(certs) = &self.tls {
            skopeo.arg(format!("--dest-cert-dir={}", certs.display()));
        }
        let out = skopeo
            .arg(format!("oci:{}:{reference}", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .expect("run skopeo");
        assert!(out.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The busybox fixture as `repo_tag` here.
    pub fn push_busybox(&self, repo_tag: &str) -> PathBuf {
        let layout = self.dir.path().join(format!("layout-{}", crate::unique("bb")));
        fixture::write_oci_layout(&layout, "latest").expect("write the fixture layout");
        self.push_layout(&layout, "latest", repo_tag);
        layout
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by
/// it, made with openssl under `dir/tls`; returns `dir/tls/client`, with what a
/// client needs (`ca.crt`, `client.cert`, `client.key`) and nothing else. Beside it,
/// `tls/old-client.pem`: the same client's certificate as X.509 v1.
fn make_certificates(dir: &Path) -> PathBuf {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(&tls).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=berth-test-ca", "-keyout", "ca.key", "-out", "ca.crt"]);
    std::fs::write(tls.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"]);
    openssl(&["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "server.ext", "-out", "server.crt"]);
    openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=berth-test-client", "-keyout", "client.key", "-out", "client.csr"]);
    std::fs::write(tls.join("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n").unwrap();
    openssl(&["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "client.ext", "-out", "client.cert"]);
    // Without extensions: an X.509 v1 certificate, which rustls refuses.
    openssl(&["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out", "client-v1.pem"]);
    let client = tls.join("client");
    std::fs::create_dir_all(&client).unwrap();
    for f in ["ca.crt", "client.cert", "client.key"] {
        std::fs::copy(tls.join(f), client.join(f)).unwrap();
    }
    std::fs::copy(tls.join("client-v1.pem"), tls.join("old-client.pem")).unwrap();
    client
}

/// Whether the registry answers `/v2/` within a few seconds (false if it exited).
fn ready(child: &mut Child, host: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = std::net::TcpStream::connect(host) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            // 401 from one that asks for a password: up all the same.
            if ["200", "401"].iter().any(|code| answer.starts_with(&format!("HTTP/1.0 {code}")) || answer.starts_with(&format!("HTTP/1.1 {code}"))) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A token server (the distribution token spec's, as Docker Hub's auth service):
/// tokens are RS256 JWTs with the signing certificate in `x5c`, granting the asked
/// actions to `user` with `password` (HTTP Basic on the token request), and none to
/// anyone else. Counts the tokens it gives; stopped when dropped.
pub struct TokenServer {
    pub addr: String,
    pub cert: PathBuf,
    pub issued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub const TOKEN_SERVICE: &str = "berth-registry";
pub const TOKEN_ISSUER: &str = "berth-test-issuer";

impl TokenServer {
    pub fn start(dir: &Path, user: &str, password: &str) -> TokenServer {
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        let (key, cert) = (dir.join("token.key"), dir.join("token.crt"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=berth-test-token", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(made.success(), "openssl req");
        let der = Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(&cert).output().expect("openssl x509").stdout;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (issued, stop) = (std::sync::Arc::new(AtomicUsize::new(0)), std::sync::Arc::new(AtomicBool::new(false)));
        let basic = format!("Basic {}", b64(format!("{user}:{password}").as_bytes(), false));
        let (count, stopping) = (issued.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = serve_token(&mut conn, &basic, &key, &der, &count);
            }
        });
        TokenServer { addr, cert, issued, stop, thread: Some(thread) }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn b64(data: &[u8], url: bool) -> String {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let table = if url { URL } else { STD };
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(table[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if !url {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// One token request: the scopes granted to the right user, none to anyone else.
fn serve_token(conn: &mut std::net::TcpStream, basic: &str, key: &Path, der: &[u8], count: &std::sync::atomic::AtomicUsize) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Write};
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(v.trim().to_string());
        }
    }
    let target = request.split(' ').nth(1).unwrap_or("");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let scopes: Vec<String> = query.split('&').filter_map(|kv| kv.strip_prefix("scope=")).map(|s| s.replace("%3A", ":").replace("%2F", "/").replace("%2C", ",")).collect();
    let respond = |conn: &mut std::net::TcpStream, status: &str, body: &str| {
        write!(conn, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    };
    let granted = match authorization.as_deref() {
        Some(a) if a == basic => true,
        Some(_) => return respond(conn, "401 Unauthorized", r#"{"details":"incorrect username or password"}"#),
        None => false,
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter(|_| granted)
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({ "type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>() }))
        })
        .collect();
    let header = serde_json::json!({ "typ": "JWT", "alg": "RS256", "x5c": [b64(der, false)] });
    let claims = serde_json::json!({
        "iss": TOKEN_ISSUER, "sub": "tester", "aud": TOKEN_SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", count.load(std::sync::atomic::Ordering::Relaxed)),
        "access": access,
    });
    let signing = format!("{}.{}", b64(header.to_string().as_bytes(), true), b64(claims.to_string().as_bytes(), true));
    let mut sign = Command::new("openssl").args(["dgst", "-sha256", "-sign"]).arg(key).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    sign.stdin.take().expect("piped").write_all(signing.as_bytes())?;
    let signature = sign.wait_with_output()?.stdout;
    let token = format!("{signing}.{}", b64(&signature, true));
    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    respond(conn, "200 OK", &serde_json::json!({ "token": token, "expires_in": 300 }).to_string())
}

/// A registry of the test's own making, answering each request as its handler says:
/// for what a real registry never does (lies, endless bodies, redirect loops,
/// dropped connections). One thread per connection; stopped when dropped.
pub struct FakeRegistry {
    /// `127.0.0.1:<port>`.
    pub host: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The `Range` header's first byte, if one was asked for.
    pub range_from: Option<u64>,
}

/// What the fake sends back.
pub enum Reply {
    /// Status, headers, body (with its length).
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// 200 with a body that never ends (chunked): these bytes, then zeros.
    Endless(Vec<u8>),
    /// 200 announcing `bytes`' length, then only its first `sent` bytes, then the
    /// connection closed.
    Cut { bytes: Vec<u8>, sent: usize },
    /// As `Cut`, but the connection then stays open, silent, until the fake stops.
    Stall { bytes: Vec<u8>, sent: usize },
}

impl FakeRegistry {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FakeRegistry {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (stopping, handler) = (stop.clone(), std::sync::Arc::new(handler));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (handler, stopping) = (handler.clone(), stopping.clone());
                std::thread::spawn(move || {
                    let _ = serve_fake(conn, &*handler, &stopping);
                });
            }
        });
        FakeRegistry { host, stop, thread: Some(thread) }
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(&self.host);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_fake(conn: std::net::TcpStream, handler: &(dyn Fn(&Request) -> Reply + Send + Sync), stop: &std::sync::atomic::AtomicBool) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Read, Write};
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    // A TLS handshake (a client trying HTTPS first): refused at once, as a plain HTTP
    // server's is.
    let mut first = [0u8; 1];
    if conn.peek(&mut first)? == 1 && first[0] == 0x16 {
        return Ok(());
    }
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let (mut range_from, mut length) = (None, 0usize);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or((&h, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range_from = v.trim().strip_prefix("bytes=").and_then(|r| r.trim_end_matches('-').parse().ok()),
                "content-length" => length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
        std::io::copy(&mut (&mut reader).take(length as u64), &mut std::io::sink())?;
        match handler(&Request { method, path, range_from }) {
            Reply::Full(status, headers, body) => {
                write!(out, "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len())?;
                for (k, v) in headers {
                    write!(out, "{k}: {v}\r\n")?;
                }
                out.write_all(b"\r\n")?;
                out.write_all(&body)?;
            }
            Reply::Endless(prefix) => {
                out.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n")?;
                if !prefix.is_empty() {
                    write!(out, "{:x}\r\n", prefix.len())?;
                    out.write_all(&prefix)?;
                    out.write_all(b"\r\n")?;
                }
                let chunk = vec![0u8; 64 << 10];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    write!(out, "{:x}\r\n", chunk.len())?;
                    out.write_all(&chunk)?;
                    out.write_all(b"\r\n")?;
                }
                return Ok(());
            }
            Reply::Cut { bytes, sent } => {
                write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", bytes.len())?;
                out.write_all(&bytes[..sent])?;
                return Ok(());
            }
            Reply::Stall { bytes, sent } => {
                write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", bytes.len())?;
                out.write_all(&bytes[..sent])?;
                out.flush()?;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return Ok(());
            }
        }
    }
}
