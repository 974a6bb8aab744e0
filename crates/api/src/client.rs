//! An async Engine API client over a unix socket (hyper 1, HTTP/1.1, one
//! connection per request): plain requests with the whole body read, JSON
//! helpers, streamed bodies (logs, events, pull progress) and protocol upgrades
//! (attach, exec start).
//!
//! Every request method turns a status ≥ 400 into [`ClientError::Api`] carrying
//! Docker's `{"message": …}`; 1xx–3xx replies (e.g. 304 from a start of a running
//! container) are returned as they are.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, HeaderMap, UPGRADE, USER_AGENT};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use crate::errors::ErrorResponse;
use crate::query::encode_pairs;
use crate::stream::{Frame, FrameDecoder, FrameError, MULTIPLEXED_CONTENT_TYPE};
use crate::version::{API_VERSION, ApiVersion};

/// Where the client connects when neither `BERTH_HOST` nor `DOCKER_HOST` is set.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// A failed client call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid host {host:?}: {reason}")]
    InvalidHost { host: String, reason: String },
    #[error("cannot connect to the berth daemon at unix://{}: {source}", path.display())]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The daemon answered with an error status.
    #[error("Error response from daemon: {message}")]
    Api { status: u16, message: String },
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("invalid request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("encoding request body: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("decoding {context}: {source}")]
    Decode {
        context: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("bad stream: {0}")]
    Frame(#[from] FrameError),
    #[error("daemon did not switch protocols (status {status})")]
    NotUpgraded { status: u16 },
}

impl ClientError {
    /// The HTTP status of an [`ClientError::Api`] error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for a 404 from the daemon ("No such container" …).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

type Result<T> = std::result::Result<T, ClientError>;

/// A request body with its content type: bytes in memory, or a stream read
/// as it is sent.
#[derive(Debug)]
pub struct Body {
    content_type: Option<String>,
    data: BodyData,
}

#[derive(Debug)]
enum BodyData {
    Full(Bytes),
    Stream(BodyStream),
}

impl Body {
    /// `application/json` of `value`.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        let data = serde_json::to_vec(value).map_err(ClientError::Encode)?;
        Ok(Body { content_type: Some("application/json".into()), data: BodyData::Full(data.into()) })
    }

    /// Raw bytes with the given content type (`application/x-tar` …).
    pub fn raw(content_type: &str, data: impl Into<Bytes>) -> Self {
        Body { content_type: Some(content_type.to_string()), data: BodyData::Full(data.into()) }
    }

    /// The bytes of `reader`, sent (chunked) as they are read, so an image
    /// archive of any size never sits in memory (`docker load < file`). The
    /// reader runs on a thread of its own since files and stdin block; a read
    /// error aborts the request.
    pub fn reader(content_type: &str, reader: impl std::io::Read + Send + 'static) -> Self {
        Body { content_type: Some(content_type.to_string()), data: BodyData::Stream(BodyStream::spawn(reader)) }
    }
}

/// Chunks from a reader thread, as a hyper body.
#[derive(Debug)]
struct BodyStream {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
}

impl BodyStream {
    const CHUNK: usize = 256 << 10;

    fn spawn(mut reader: impl std::io::Read + Send + 'static) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; Self::CHUNK];
            loop {
                let item = match reader.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => Ok(Bytes::copy_from_slice(&buf[..n])),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                // A closed channel means the request is over (the daemon answered).
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        BodyStream { rx }
    }
}

impl hyper::body::Body for BodyStream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        self.rx.poll_recv(cx).map(|item| item.map(|r| r.map(hyper::body::Frame::data)))
    }
}

/// What a request carries on the wire.
type RequestBody = http_body_util::Either<Full<Bytes>, BodyStream>;

/// A reply read in full.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// Decodes the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|source| ClientError::Decode {
            context: format!("{} reply body", self.status),
            source,
        })
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A reply whose body is read as it arrives. Use one reader per stream:
/// [`chunk`](Self::chunk), [`next_line`](Self::next_line) /
/// [`next_json`](Self::next_json), or [`next_frame`](Self::next_frame).
#[derive(Debug)]
pub struct ResponseStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: Incoming,
    lines: BytesMut,
    frames: FrameDecoder,
    done: bool,
}

impl ResponseStream {
    /// The next chunk of body bytes; `None` at the end.
    pub async fn chunk(&mut self) -> Option<Result<Bytes>> {
        while !self.done {
            match self.body.frame().await {
                None => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e.into()));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        return Some(Ok(data));
                    }
                }
            }
        }
        None
    }

    /// The next `\n`-terminated line (without the newline); a final unterminated
    /// line is returned too.
    pub async fn next_line(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Some(i) = self.lines.iter().position(|b| *b == b'\n') {
                let mut line = self.lines.split_to(i + 1);
                line.truncate(i);
                return Ok(Some(line.freeze()));
            }
            match self.chunk().await {
                Some(chunk) => self.lines.extend_from_slice(&chunk?),
                None if self.lines.is_empty() => return Ok(None),
                None => return Ok(Some(self.lines.split().freeze())),
            }
        }
    }

    /// The next JSON object of a JSON-lines stream (events, pull progress);
    /// blank lines are skipped.
    pub async fn next_json<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        while let Some(line) = self.next_line().await? {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return serde_json::from_slice(&line)
                .map(Some)
                .map_err(|source| ClientError::Decode { context: "stream message".into(), source });
        }
        Ok(None)
    }

    /// The next frame of a multiplexed stdout/stderr stream.
    pub async fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.frames.next_frame()? {
                return Ok(Some(frame));
            }
            match self.chunk().await {
                Some(chunk) => self.frames.push(&chunk?),
                None => {
                    self.frames.finish()?;
                    return Ok(None);
                }
            }
        }
    }

    /// Whether the body is multiplexed (by `Content-Type`).
    pub fn is_multiplexed(&self) -> bool {
        content_type_is(&self.headers, MULTIPLEXED_CONTENT_TYPE)
    }

    /// The underlying hyper body.
    pub fn into_body(self) -> Incoming {
        self.body
    }
}

/// A connection switched to a raw byte stream (attach, exec start).
#[derive(Debug)]
pub struct UpgradedStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// Read/write with tokio's `AsyncRead`/`AsyncWrite`.
    pub io: TokioIo<hyper::upgrade::Upgraded>,
}

impl UpgradedStream {
    /// Whether the output is multiplexed (no TTY) rather than raw.
    pub fn is_multiplexed(&self) -> bool {
        content_type_is(&self.headers, MULTIPLEXED_CONTENT_TYPE)
    }
}

fn content_type_is(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == want)
}

/// The first non-empty of `berth`, `docker`, else [`DEFAULT_HOST`].
fn pick_host<'a>(berth: Option<&'a str>, docker: Option<&'a str>) -> &'a str {
    [berth, docker].into_iter().flatten().find(|h| !h.is_empty()).unwrap_or(DEFAULT_HOST)
}

/// An Engine API client bound to one unix socket.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
    version: Option<ApiVersion>,
}

/// Extra request headers, e.g. `[("X-Registry-Auth", token)]`.
pub type Headers<'a> = &'a [(&'a str, &'a str)];

impl Client {
    /// A client for `unix:///path` (or a bare absolute path).
    pub fn new(host: &str) -> Result<Self> {
        let invalid = |reason: &str| ClientError::InvalidHost { host: host.to_string(), reason: reason.to_string() };
        let path = if let Some(p) = host.strip_prefix("unix://") {
            p
        } else if host.starts_with('/') {
            host
        } else if host.contains("://") {
            return Err(invalid("only unix:// sockets are supported"));
        } else {
            return Err(invalid("want unix:///path/to/socket"));
        };
        if path.is_empty() {
            return Err(invalid("empty socket path"));
        }
        Ok(Client { socket: PathBuf::from(path), version: None })
    }

    /// A client for `$BERTH_HOST`, else `$DOCKER_HOST`, else [`DEFAULT_HOST`].
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).ok();
        Self::new(pick_host(var("BERTH_HOST").as_deref(), var("DOCKER_HOST").as_deref()))
    }

    /// Prefixes every path (except `/_ping`) with `/v{version}`.
    pub fn with_version(mut self, version: ApiVersion) -> Self {
        self.version = Some(version);
        self
    }

    /// The socket this client connects to.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The version prefix in use, if any.
    pub fn version(&self) -> Option<ApiVersion> {
        self.version
    }

    /// `GET /_ping`; returns the daemon's `Api-Version` header, if any.
    pub async fn ping(&self) -> Result<Option<ApiVersion>> {
        let resp = self.get("/_ping", &[], None).await?;
        Ok(resp.header("Api-Version").and_then(|v| v.parse().ok()))
    }

    /// Pings and pins the version to min(daemon's, [`API_VERSION`]).
    pub async fn negotiate_version(&mut self) -> Result<ApiVersion> {
        let server = self.ping().await?.unwrap_or(API_VERSION);
        let v = server.min(API_VERSION);
        self.version = Some(v);
        Ok(v)
    }

    /// `GET`, body read in full.
    pub async fn get(&self, path: &str, query: &[(&str, &str)], body: Option<Body>) -> Result<Response> {
        self.request(Method::GET, path, query, &[], body).await
    }

    /// `POST`, body read in full.
    pub async fn post(&self, path: &str, query: &[(&str, &str)], body: Option<Body>) -> Result<Response> {
        self.request(Method::POST, path, query, &[], body).await
    }

    /// `PUT`, body read in full (an archive extracted into a container).
    pub async fn put(&self, path: &str, query: &[(&str, &str)], body: Option<Body>) -> Result<Response> {
        self.request(Method::PUT, path, query, &[], body).await
    }

    /// `DELETE`, body read in full.
    pub async fn delete(&self, path: &str, query: &[(&str, &str)], body: Option<Body>) -> Result<Response> {
        self.request(Method::DELETE, path, query, &[], body).await
    }

    /// `HEAD` (the body is empty).
    pub async fn head(&self, path: &str, query: &[(&str, &str)], body: Option<Body>) -> Result<Response> {
        self.request(Method::HEAD, path, query, &[], body).await
    }

    /// `GET` and decode the JSON reply.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T> {
        self.get(path, query, None).await?.json()
    }

    /// `POST` a JSON body and decode the JSON reply.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T> {
        self.post(path, query, Some(Body::json(body)?)).await?.json()
    }

    /// Any method with extra headers; body read in full.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        headers: Headers<'_>,
        body: Option<Body>,
    ) -> Result<Response> {
        read_whole(self.send(method, path, query, headers, body, false).await?).await
    }

    /// `GET` with the body streamed (logs, events, stats).
    pub async fn get_stream(&self, path: &str, query: &[(&str, &str)]) -> Result<ResponseStream> {
        self.request_stream(Method::GET, path, query, &[], None).await
    }

    /// `POST` with the reply body streamed (pull, push, load, build progress).
    pub async fn post_stream(&self, path: &str, query: &[(&str, &str)], body: Option<Body>) -> Result<ResponseStream> {
        self.request_stream(Method::POST, path, query, &[], body).await
    }

    /// Any method with extra headers; reply body streamed.
    pub async fn request_stream(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        headers: Headers<'_>,
        body: Option<Body>,
    ) -> Result<ResponseStream> {
        let resp = self.send(method, path, query, headers, body, false).await?;
        let (parts, body) = resp.into_parts();
        Ok(ResponseStream {
            status: parts.status,
            headers: parts.headers,
            body,
            lines: BytesMut::new(),
            frames: FrameDecoder::new(),
            done: false,
        })
    }

    /// `POST` with `Connection: Upgrade`, `Upgrade: tcp` and take over the
    /// connection once the daemon answers 101 (attach, exec start).
    pub async fn post_upgrade(&self, path: &str, query: &[(&str, &str)], body: Option<Body>) -> Result<UpgradedStream> {
        let resp = self.send(Method::POST, path, query, &[], body, true).await?;
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            return Err(ClientError::NotUpgraded { status: resp.status().as_u16() });
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let upgraded = hyper::upgrade::on(resp).await?;
        Ok(UpgradedStream { status, headers, io: TokioIo::new(upgraded) })
    }

    fn uri(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut uri = String::new();
        if let Some(v) = self.version
            && path != "/_ping"
        {
            uri.push_str(&format!("/v{v}"));
        }
        if !path.starts_with('/') {
            uri.push('/');
        }
        uri.push_str(path);
        if !query.is_empty() {
            uri.push(if path.contains('?') { '&' } else { '?' });
            uri.push_str(&encode_pairs(query));
        }
        uri
    }

    async fn connect(&self, streamed_body: bool) -> Result<SendRequest<RequestBody>> {
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|source| ClientError::Connect { path: self.socket.clone(), source })?;
        let io = Connection { stream, keep_answer: streamed_body, peer_gone: false };
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
        // The connection task ends when the reply (or upgraded stream) is dropped;
        // its errors surface through the reply body, so the result is not needed.
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(sender)
    }

    /// Any method; the answer whatever its status (an error status is no error
    /// here), body read in full. For tools that compare answers.
    pub async fn exchange(&self, method: Method, path: &str, query: &[(&str, &str)], body: Option<Body>) -> Result<Response> {
        read_whole(self.send_any(method, path, query, &[], body, false).await?).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        headers: Headers<'_>,
        body: Option<Body>,
        upgrade: bool,
    ) -> Result<hyper::Response<Incoming>> {
        let resp = self.send_any(method, path, query, headers, body, upgrade).await?;
        if resp.status().as_u16() >= 400 {
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            let message = ErrorResponse::message_from_body(&body)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("request failed").to_string());
            return Err(ClientError::Api { status: status.as_u16(), message });
        }
        Ok(resp)
    }

    async fn send_any(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        headers: Headers<'_>,
        body: Option<Body>,
        upgrade: bool,
    ) -> Result<hyper::Response<Incoming>> {
        let mut builder = hyper::Request::builder()
            .method(method.clone())
            .uri(self.uri(path, query))
            .header(HOST, "berth")
            .header(USER_AGENT, concat!("berth-api/", env!("CARGO_PKG_VERSION")));
        if upgrade {
            builder = builder.header(CONNECTION, "Upgrade").header(UPGRADE, "tcp");
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let streamed = matches!(body, Some(Body { data: BodyData::Stream(_), .. }));
        let data = match body {
            Some(b) => {
                if let Some(ct) = b.content_type {
                    builder = builder.header(CONTENT_TYPE, ct);
                }
                match b.data {
                    BodyData::Full(bytes) => RequestBody::Left(Full::new(bytes)),
                    BodyData::Stream(stream) => RequestBody::Right(stream),
                }
            }
            None => RequestBody::Left(Full::new(Bytes::new())),
        };
        let req = builder.body(data)?;
        let mut sender = self.connect(streamed).await?;
        Ok(sender.send_request(req).await?)
    }
}

/// The socket to the daemon. For a request whose body is streamed, the daemon
/// may answer before reading it all (a missing container, a refused archive)
/// and close: the rest of the body is then dropped rather than failing with a
/// broken pipe, so that the answer waiting in the socket is still read.
struct Connection {
    stream: UnixStream,
    keep_answer: bool,
    peer_gone: bool,
}

impl Connection {
    /// A write's outcome: once the daemon has stopped reading, all of it is
    /// taken (and dropped).
    fn written(&mut self, result: std::io::Result<usize>, len: usize) -> std::io::Result<usize> {
        match result {
            Err(e)
                if self.keep_answer
                    && matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset) =>
            {
                self.peer_gone = true;
                Ok(len)
            }
            other => other,
        }
    }
}

impl tokio::io::AsyncRead for Connection {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Connection {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.peer_gone {
            return std::task::Poll::Ready(Ok(buf.len()));
        }
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf).map(|r| self.written(r, buf.len()))
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if self.peer_gone {
            return std::task::Poll::Ready(Ok(len));
        }
        std::pin::Pin::new(&mut self.stream).poll_write_vectored(cx, bufs).map(|r| self.written(r, len))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.peer_gone {
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.stream).poll_flush(cx).map(|r| self.written(r.map(|()| 0), 0).map(drop))
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx).map(|r| self.written(r.map(|()| 0), 0).map(drop))
    }
}

/// An answer with its body read in full.
async fn read_whole(resp: hyper::Response<Incoming>) -> Result<Response> {
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response { status: parts.status, headers: parts.headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts() {
        assert_eq!(Client::new("unix:///run/x.sock").expect("ok").socket_path(), Path::new("/run/x.sock"));
        assert_eq!(Client::new("/tmp/d.sock").expect("ok").socket_path(), Path::new("/tmp/d.sock"));
        for bad in ["", "unix://", "tcp://127.0.0.1:2375", "ssh://host", "relative.sock"] {
            assert!(matches!(Client::new(bad), Err(ClientError::InvalidHost { .. })), "{bad}");
        }
    }

    #[test]
    fn picks_host_from_env_values() {
        assert_eq!(pick_host(Some("unix:///b"), Some("unix:///d")), "unix:///b");
        assert_eq!(pick_host(Some(""), Some("unix:///d")), "unix:///d");
        assert_eq!(pick_host(None, None), DEFAULT_HOST);
    }

    #[test]
    fn builds_uris() {
        let c = Client::new("unix:///x").expect("ok");
        assert_eq!(c.uri("/info", &[]), "/info");
        let c = c.with_version(ApiVersion::new(1, 44));
        assert_eq!(c.uri("/containers/json", &[("all", "1"), ("filters", "{\"a\":[\"b c\"]}")]),
            "/v1.44/containers/json?all=1&filters=%7B%22a%22%3A%5B%22b%20c%22%5D%7D");
        assert_eq!(c.uri("/_ping", &[]), "/_ping");
        assert_eq!(c.uri("/images/create?fromImage=a", &[("tag", "1")]), "/v1.44/images/create?fromImage=a&tag=1");
    }

    #[test]
    fn an_early_answer_beats_the_upload() {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("d.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        // A daemon that refuses before reading the body, then hangs up.
        let daemon = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).expect("read") == 1 {
                head.push(byte[0]);
            }
            let body = "{\"message\":\"No such container: nosuch\"}\n";
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(answer.as_bytes()).expect("answer");
        });
        let client = Client::new(&format!("unix://{}", socket.display())).expect("client");
        let upload = std::io::repeat(0).take(64 << 20);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let result = runtime.block_on(client.put(
            "/containers/nosuch/archive",
            &[("path", "/")],
            Some(Body::reader("application/x-tar", upload)),
        ));
        daemon.join().expect("daemon");
        match result {
            Err(ClientError::Api { status, message }) => {
                assert_eq!((status, message.as_str()), (404, "No such container: nosuch"))
            }
            other => panic!("{other:?}"),
        }
    }
}
