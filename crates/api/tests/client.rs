//! The client against a tiny hyper server on a unix socket in a tempdir: ping,
//! JSON bodies, error statuses, streamed bodies (JSON lines and multiplexed
//! frames split across chunks) and a protocol upgrade.

use std::convert::Infallible;
use std::path::Path;

use api::containers::{ContainerCreateBody, ContainerCreateResponse};
use api::events::EventMessage;
use api::stream::{MULTIPLEXED_CONTENT_TYPE, StreamType, encode_frame};
use api::{ApiVersion, Client, ClientError};
use bytes::Bytes;
use http_body_util::channel::Channel;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

type Body = BoxBody<Bytes, Infallible>;

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()).boxed());
    *resp.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert("content-type", v);
    }
    resp
}

/// Sends `chunks` one by one as separate body frames.
fn chunked(content_type: &str, chunks: Vec<Vec<u8>>) -> Response<Body> {
    let (mut tx, body) = Channel::<Bytes, Infallible>::new(1);
    tokio::spawn(async move {
        for c in chunks {
            if tx.send_data(Bytes::from(c)).await.is_err() {
                return;
            }
        }
    });
    let mut resp = Response::new(body.boxed());
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert("content-type", v);
    }
    resp
}

async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().clone();
    let resp = match (method.as_str(), path.as_str()) {
        ("GET" | "HEAD", "/_ping") => {
            let mut r = full(StatusCode::OK, "text/plain; charset=utf-8", "OK");
            r.headers_mut().insert("api-version", hyper::header::HeaderValue::from_static("1.47"));
            r
        }
        ("POST", "/v1.45/containers/create") => {
            let is_json = req.headers().get("content-type").is_some_and(|v| v == "application/json");
            let body = req.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            match serde_json::from_slice::<ContainerCreateBody>(&body) {
                Ok(b) if is_json => {
                    let reply = ContainerCreateResponse { id: format!("id-for-{}", b.config.image), warnings: vec![] };
                    let json = serde_json::to_vec(&reply).unwrap_or_default();
                    full(StatusCode::CREATED, "application/json", json)
                }
                _ => full(StatusCode::BAD_REQUEST, "application/json", r#"{"message":"bad body"}"#),
            }
        }
        ("GET", "/v1.45/echo-query") => full(StatusCode::OK, "text/plain", query),
        ("POST", "/v1.45/images/load") => {
            let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let chunked = req.headers().get("transfer-encoding").is_some_and(|v| v == "chunked");
            match req.into_body().collect().await {
                Ok(body) => {
                    let body = body.to_bytes();
                    let sum: u64 = body.iter().map(|b| u64::from(*b)).sum();
                    full(StatusCode::OK, "text/plain", format!("{ct} chunked={chunked} {} {sum}", body.len()))
                }
                Err(_) => full(StatusCode::BAD_REQUEST, "text/plain", "truncated"),
            }
        }
        ("GET", "/v1.45/containers/missing/json") => {
            full(StatusCode::NOT_FOUND, "application/json", r#"{"message":"No such container: missing"}"#)
        }
        ("POST", "/v1.45/containers/running/start") => full(StatusCode::NOT_MODIFIED, "text/plain", ""),
        ("GET", "/v1.45/plain-error") => full(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "boom\n"),
        ("GET", "/v1.45/events") => {
            let e1 = serde_json::to_string(&EventMessage::new("container", "start", "abc", Default::default(), 5))
                .unwrap_or_default();
            let e2 = serde_json::to_string(&EventMessage::new("image", "pull", "alpine", Default::default(), 6))
                .unwrap_or_default();
            let all = format!("{e1}\n\n{e2}\n").into_bytes();
            let (a, b) = all.split_at(e1.len() / 2);
            chunked("application/json", vec![a.to_vec(), b.to_vec()])
        }
        ("GET", "/v1.45/containers/c/logs") => {
            let mut wire = encode_frame(StreamType::Stdout, b"hello\n");
            wire.extend(encode_frame(StreamType::Stderr, b"warn\n"));
            let chunks = wire.chunks(3).map(<[u8]>::to_vec).collect();
            chunked(MULTIPLEXED_CONTENT_TYPE, chunks)
        }
        ("POST", "/v1.45/exec/e1/start") => upgrade_echo(req),
        _ => full(StatusCode::NOT_FOUND, "application/json", r#"{"message":"page not found"}"#),
    };
    Ok(resp)
}

/// Answers 101 and echoes what the client writes, upper-cased.
fn upgrade_echo(req: Request<Incoming>) -> Response<Body> {
    let wants_upgrade = req.headers().get("upgrade").is_some_and(|v| v == "tcp")
        && req.headers().get("connection").is_some_and(|v| v == "Upgrade");
    if !wants_upgrade {
        return full(StatusCode::BAD_REQUEST, "application/json", r#"{"message":"no upgrade"}"#);
    }
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else { return };
        let mut io = TokioIo::new(upgraded);
        let mut buf = [0u8; 64];
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let up = buf[..n].to_ascii_uppercase();
            if io.write_all(&up).await.is_err() {
                break;
            }
        }
    });
    let mut resp = full(StatusCode::SWITCHING_PROTOCOLS, "application/vnd.docker.raw-stream", Bytes::new());
    resp.headers_mut().insert("connection", hyper::header::HeaderValue::from_static("Upgrade"));
    resp.headers_mut().insert("upgrade", hyper::header::HeaderValue::from_static("tcp"));
    resp
}

fn start_server(sock: &Path) {
    let listener = UnixListener::bind(sock).expect("bind test socket");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .with_upgrades();
                let _ = conn.await;
            });
        }
    });
}

fn setup() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("berth.sock");
    start_server(&sock);
    let host = format!("unix://{}", sock.display());
    let client = Client::new(&host).expect("client").with_version(ApiVersion::new(1, 45));
    (dir, client)
}

#[tokio::test]
async fn ping_and_negotiate() {
    let (_dir, client) = setup();
    let resp = client.get("/_ping", &[], None).await.expect("ping");
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.text(), "OK");
    assert_eq!(resp.header("Api-Version"), Some("1.47"));
    let head = client.head("/_ping", &[], None).await.expect("head ping");
    assert!(head.body.is_empty());
    let mut c = Client::new(&format!("unix://{}", client.socket_path().display())).expect("client");
    assert_eq!(c.negotiate_version().await.expect("negotiate"), ApiVersion::new(1, 47));
    assert_eq!(c.version(), Some(ApiVersion::new(1, 47)));
}

#[tokio::test]
async fn post_json_and_query() {
    let (_dir, client) = setup();
    let mut body = ContainerCreateBody::default();
    body.config.image = "alpine".into();
    let reply: ContainerCreateResponse =
        client.post_json("/containers/create", &[("name", "web")], &body).await.expect("create");
    assert_eq!(reply.id, "id-for-alpine");
    let resp = client.get("/echo-query", &[("filters", r#"{"a":["b c"]}"#)], None).await.expect("echo");
    let q = api::query::Query::parse(&resp.text()).expect("query");
    assert!(q.filters().expect("filters").contains("a", "b c"));
    let not_modified = client.post("/containers/running/start", &[], None).await.expect("304 is not an error");
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn error_statuses_become_api_errors() {
    let (_dir, client) = setup();
    let err = client.get_json::<serde_json::Value>("/containers/missing/json", &[]).await.expect_err("404");
    match &err {
        ClientError::Api { status, message } => {
            assert_eq!(*status, 404);
            assert_eq!(message, "No such container: missing");
        }
        other => panic!("want Api error, got {other:?}"),
    }
    assert!(err.is_not_found());
    assert_eq!(err.to_string(), "Error response from daemon: No such container: missing");
    let err = client.get("/plain-error", &[], None).await.expect_err("500");
    assert!(matches!(err, ClientError::Api { status: 500, ref message } if message == "boom"));
}

#[tokio::test]
async fn connect_error_is_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Client::new(&format!("unix://{}/nobody.sock", dir.path().display())).expect("client");
    let err = client.get("/_ping", &[], None).await.expect_err("no server");
    assert!(matches!(err, ClientError::Connect { ref path, .. } if path.ends_with("nobody.sock")));
}

/// Fails after `ok` bytes.
struct FailingReader {
    ok: usize,
}

impl std::io::Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.ok == 0 {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.ok);
        buf[..n].fill(1);
        self.ok -= n;
        Ok(n)
    }
}

#[tokio::test]
async fn streams_request_bodies_from_a_reader() {
    let (_dir, client) = setup();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let sum: u64 = data.iter().map(|b| u64::from(*b)).sum();
    let body = api::Body::reader("application/x-tar", std::io::Cursor::new(data));
    let resp = client.post("/images/load", &[], Some(body)).await.expect("load");
    assert_eq!(resp.text(), format!("application/x-tar chunked=true 3000000 {sum}"));
    // A read error aborts the request instead of sending a short body as if complete.
    let body = api::Body::reader("application/x-tar", FailingReader { ok: 1 << 20 });
    match client.post("/images/load", &[], Some(body)).await {
        Err(_) => {}
        Ok(resp) => assert_eq!(resp.text(), "truncated"),
    }
}

#[tokio::test]
async fn streams_json_lines() {
    let (_dir, client) = setup();
    let mut stream = client.get_stream("/events", &[]).await.expect("events");
    let first: EventMessage = stream.next_json().await.expect("ok").expect("first");
    let second: EventMessage = stream.next_json().await.expect("ok").expect("second");
    assert_eq!((first.action.as_str(), first.actor.id.as_str()), ("start", "abc"));
    assert_eq!((second.r#type.as_str(), second.time_nano), ("image", 6));
    assert!(stream.next_json::<EventMessage>().await.expect("ok").is_none());
}

#[tokio::test]
async fn streams_multiplexed_frames() {
    let (_dir, client) = setup();
    let mut stream = client.get_stream("/containers/c/logs", &[("stdout", "1"), ("stderr", "1")]).await.expect("logs");
    assert!(stream.is_multiplexed());
    let mut got = Vec::new();
    while let Some(frame) = stream.next_frame().await.expect("valid frames") {
        got.push((frame.stream, frame.data));
    }
    assert_eq!(
        got,
        [(StreamType::Stdout, Bytes::from_static(b"hello\n")), (StreamType::Stderr, Bytes::from_static(b"warn\n"))]
    );
}

#[tokio::test]
async fn upgrades_for_exec_start() {
    let (_dir, client) = setup();
    let body = api::client::Body::json(&api::exec::ExecStartBody::default()).expect("body");
    let mut up = client.post_upgrade("/exec/e1/start", &[], Some(body)).await.expect("upgrade");
    assert_eq!(up.status, StatusCode::SWITCHING_PROTOCOLS);
    assert!(!up.is_multiplexed());
    up.io.write_all(b"hi there").await.expect("write");
    let mut buf = [0u8; 8];
    up.io.read_exact(&mut buf).await.expect("read");
    assert_eq!(&buf, b"HI THERE");
    let err = client.post_upgrade("/containers/running/start", &[], None).await.expect_err("no 101");
    assert!(matches!(err, ClientError::NotUpgraded { status: 304 }));
}
