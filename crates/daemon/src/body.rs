//! Bridges between the async HTTP bodies and the synchronous stores: a request body
//! read as a blocking `Read`, and a blocking `Write` that becomes a streamed response
//! body. Either way nothing is held in memory beyond a few chunks.

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;

/// An mpsc receiver as the `Stream` a streaming body wants.
pub struct ChunkStream<T>(pub tokio::sync::mpsc::Receiver<Result<T, std::io::Error>>);

impl<T> futures_core::Stream for ChunkStream<T> {
    type Item = Result<T, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A request body as a blocking `Read`, fed by a task that pulls the body's frames.
pub struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    chunk: Bytes,
}

impl BodyReader {
    pub fn spawn(mut body: Body) -> BodyReader {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            while let Some(frame) = body.frame().await {
                let item = match frame {
                    Ok(f) => match f.into_data() {
                        Ok(data) => Ok(data),
                        Err(_) => continue, // trailers
                    },
                    Err(e) => Err(std::io::Error::other(e)),
                };
                if tx.send(item).await.is_err() {
                    break;
                }
            }
        });
        BodyReader {
            rx,
            chunk: Bytes::new(),
        }
    }
}

impl std::io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(next)) => self.chunk = next,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// A blocking writer whose bytes become a response body as they are written; the
/// write fails once the client has gone away.
pub struct BodyWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl BodyWriter {
    pub fn new() -> (BodyWriter, Body) {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        (BodyWriter { tx }, Body::from_stream(ChunkStream(rx)))
    }

    /// Ends the body with an error (the client sees a truncated stream).
    pub fn fail(self, e: std::io::Error) {
        let _ = self.tx.blocking_send(Err(e));
    }
}

impl std::io::Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
