//! Fetching a root-filesystem tarball for `import` from an http:// URL (Docker's
//! `docker import URL`, `POST /images/create?fromSrc=URL`): a plain HTTP/1.0 GET whose
//! body is streamed to the caller, never buffered. https is refused with a clear
//! error until the registry client brings TLS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{Error, Result};

const MAX_REDIRECTS: usize = 5;
const MAX_HEADER_BYTES: usize = 64 * 1024;

fn fail(url: &str, reason: impl Into<String>) -> Error {
    Error::Fetch { url: url.to_string(), reason: reason.into() }
}

/// Opens `url` and returns its body as a stream.
pub fn fetch(url: &str) -> Result<Box<dyn Read + Send>> {
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        match get(&current)? {
            Reply::Body(body) => return Ok(body),
            Reply::Redirect(to) => current = to,
        }
    }
    Err(fail(url, format!("more than {MAX_REDIRECTS} redirects")))
}

enum Reply {
    Body(Box<dyn Read + Send>),
    Redirect(String),
}

fn get(url: &str) -> Result<Reply> {
    let rest = match url.strip_prefix("http://") {
        Some(r) => r,
        None if url.starts_with("https://") => return Err(fail(url, "https is not supported yet; use http://")),
        None => return Err(fail(url, "only http:// URLs can be imported")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(fail(url, "the URL needs a host (and no user info)"));
    }
    let addr = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&addr).map_err(|e| fail(url, format!("connect {addr}: {e}")))?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: berth\r\nAccept: */*\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| fail(url, format!("send request: {e}")))?;
    let mut reader = BufReader::new(stream);
    let mut head_bytes = 0;
    let mut line = String::new();
    let mut read_line = |reader: &mut BufReader<TcpStream>, line: &mut String| -> Result<()> {
        line.clear();
        let n = reader.read_line(line).map_err(|e| fail(url, format!("read response: {e}")))?;
        head_bytes += n;
        if n == 0 || head_bytes > MAX_HEADER_BYTES {
            return Err(fail(url, "malformed HTTP response"));
        }
        Ok(())
    };
    read_line(&mut reader, &mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| fail(url, format!("malformed status line {:?}", line.trim_end())))?;
    let mut location = None;
    loop {
        read_line(&mut reader, &mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("location")
        {
            location = Some(v.trim().to_string());
        }
    }
    match status {
        200 => Ok(Reply::Body(Box::new(reader))),
        301 | 302 | 303 | 307 | 308 => {
            let to = location.ok_or_else(|| fail(url, format!("redirect {status} without a Location")))?;
            let to = if to.starts_with('/') { format!("http://{authority}{to}") } else { to };
            Ok(Reply::Redirect(to))
        }
        _ => Err(fail(url, format!("server answered {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot HTTP server on loopback answering each connection with `replies`.
    fn serve(replies: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            for reply in replies {
                let (mut conn, _) = listener.accept().unwrap();
                read_request(&mut conn);
                conn.write_all(&reply).unwrap();
            }
        });
        (addr, handle)
    }

    fn read_request(conn: &mut std::net::TcpStream) {
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn body_is_streamed_and_redirects_followed() {
        let body = b"tar bytes here".to_vec();
        let mut ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n\r\n".to_vec();
        ok.extend_from_slice(&body);
        let (addr, h) = serve(vec![b"HTTP/1.1 302 Found\r\nLocation: /real.tar\r\n\r\n".to_vec(), ok]);
        let mut out = Vec::new();
        fetch(&format!("http://{addr}/start.tar")).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, body);
        h.join().unwrap();
    }

    #[test]
    fn errors_say_what_failed() {
        let (addr, h) = serve(vec![b"HTTP/1.1 404 Not Found\r\n\r\n".to_vec()]);
        let e = fetch(&format!("http://{addr}/x")).err().unwrap().to_string();
        assert!(e.contains("answered 404"), "{e}");
        h.join().unwrap();
        assert!(fetch("https://127.0.0.1/x").err().unwrap().to_string().contains("https is not supported"));
        assert!(fetch("ftp://x/y").err().unwrap().to_string().contains("only http://"));
        assert!(fetch("http:///nohost").is_err());
    }
}
