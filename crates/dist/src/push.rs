//! A push: each layer blob the registry lacks is sent (several at once), after a
//! `HEAD` that finds those it has and a cross-repository mount from a repository of
//! the same registry the image came from or went to; then the config, then the
//! manifest last, so that the tag never names what is not all there. A layer kept
//! uncompressed (a commit's) is gzipped into the content store first, and the
//! manifest pushed names the compressed blob. The pushed digest is recorded as the
//! image's repo digest.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;

use image::digest::Digest;
use image::manifest;
use image::{Reference, Store};
use serde_json::Value;

use crate::auth::Credentials;
use crate::error::{Error, RegistryError, Result};
use crate::progress::short_id;
use crate::registry::{Client, Method, Payload, Registry};

/// Blobs sent at once.
pub const DEFAULT_PARALLEL: usize = 4;

/// One step of a push, in Docker's terms; `id` is a layer's short diff id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushProgress {
    /// The repository the push goes to (its full name).
    Refers { repository: String },
    Preparing { id: String },
    Waiting { id: String },
    Pushing { id: String, current: u64, total: u64 },
    Pushed { id: String },
    AlreadyExists { id: String },
    MountedFrom { id: String, repository: String },
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub credentials: Option<Credentials>,
}

/// What a push of one tag did.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub tag: String,
    pub digest: Digest,
    /// The manifest's length.
    pub size: u64,
}

/// One layer to send.
struct Blob {
    id: String,
    digest: Digest,
    size: u64,
}

/// Pushes the image `reference` (a tag of a local image) to its registry.
pub fn push(client: &Client, store: &Store, reference: &Reference, opts: &Options, progress: &(dyn Fn(PushProgress) + Sync)) -> Result<Pushed> {
    let tag = reference.tag().unwrap_or(image::reference::DEFAULT_TAG).to_string();
    let img = store
        .images()
        .resolve(&reference.familiar())
        .ok()
        .filter(|i| i.repo_tags.iter().any(|t| t == reference))
        .ok_or_else(|| Error::NotLocal(reference.familiar()))?;
    let registry = client.registry(reference.domain())?;
    let name = reference.path().to_string();
    let creds = opts.credentials.as_ref();
    let scope = format!("repository:{name}:pull,push");
    progress(PushProgress::Refers { repository: reference.repository_only().familiar() });
    let stored = store.manifest(&img).map_err(store_error)?;
    let config = store.config(&img).map_err(store_error)?;
    let diff_ids = &config.parsed().rootfs.diff_ids;

    // Each layer as it will be pushed: compressed if it is kept uncompressed.
    let mut manifest: Value = serde_json::from_slice(stored.raw()).map_err(|e| Error::Invalid(format!("the manifest of {}: {e}", reference.familiar())))?;
    let mut changed = false;
    let mut blobs = Vec::new();
    for (i, desc) in stored.layers().iter().enumerate() {
        let id = short_id(diff_ids.get(i).unwrap_or(&desc.digest));
        progress(PushProgress::Preparing { id: id.clone() });
        if !store.content().exists(&desc.digest) {
            return Err(Error::Unsupported(format!(
                "layer {} of {} is not in the content store (it was unpacked from another image's blob): pull or load the image again to push it",
                desc.digest,
                reference.familiar()
            )));
        }
        let (digest, size, media_type) = match desc.media_type.as_str() {
            manifest::OCI_LAYER | manifest::DOCKER_LAYER => {
                let (digest, size) = compress(store, &desc.digest)?;
                let media_type = if desc.media_type == manifest::OCI_LAYER { manifest::OCI_LAYER_GZIP } else { manifest::DOCKER_LAYER_GZIP };
                changed = true;
                (digest, size, media_type.to_string())
            }
            _ => (desc.digest.clone(), desc.size, desc.media_type.clone()),
        };
        manifest["layers"][i]["digest"] = Value::String(digest.to_string());
        manifest["layers"][i]["size"] = Value::from(size);
        manifest["layers"][i]["mediaType"] = Value::String(media_type);
        blobs.push(Blob { id, digest, size });
    }
    // A token for pushing, up front: blob bodies stream and are sent once.
    registry.authorize(&scope, creds)?;
    for b in blobs.iter().skip(DEFAULT_PARALLEL) {
        progress(PushProgress::Waiting { id: b.id.clone() });
    }
    let sources = mount_sources(store, reference);
    let target = Target { registry: &registry, name: &name, scope: &scope, creds };
    let queue = Mutex::new(blobs.iter());
    let failed: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..DEFAULT_PARALLEL.min(blobs.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next();
                    let Some(blob) = next else { break };
                    if failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some() {
                        break;
                    }
                    if let Err(e) = target.layer(store, blob, &sources, progress) {
                        failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(e);
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        return Err(e);
    }
    // The config, whole in one request.
    if !target.exists(&img.id)? {
        target.upload_bytes(&img.id, config.raw())?;
    }
    // The manifest last.
    let (bytes, media_type) = match changed {
        true => (serde_json::to_vec(&manifest).map_err(|e| Error::Invalid(e.to_string()))?, stored.media_type().to_string()),
        false => (stored.raw().to_vec(), stored.media_type().to_string()),
    };
    let digest = Digest::sha256_of(&bytes);
    let mut response = registry.send(
        Method::Put,
        &format!("{name}/manifests/{tag}"),
        &scope,
        creds,
        &[("Content-Type", media_type)],
        Payload::Bytes(&bytes),
    )?;
    let status = response.status().as_u16();
    if status != 201 && status != 200 {
        let body = response.body_mut().with_config().limit(1 << 16).read_to_vec().unwrap_or_default();
        return Err(refusal(status, &body, &format!("push the manifest of {}", reference.familiar())));
    }
    if changed {
        store.content().put_bytes(&bytes).map_err(store_error)?;
    }
    store.images().add_repo_digest(&reference.repository_only().with_digest(digest.clone()), &img.id).map_err(store_error)?;
    Ok(Pushed { tag, digest, size: bytes.len() as u64 })
}

fn store_error(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

/// A registry's refusal of a push step.
fn refusal(status: u16, body: &[u8], what: &str) -> Error {
    let cause = RegistryError::from_body(status, body);
    match status {
        401 | 403 => Error::Unauthorized(cause),
        _ => Error::Registry { what: what.to_string(), cause },
    }
}

/// For each blob, the other repositories of the same registry that hold it: those
/// of every local image that names it and was pulled from or pushed to there.
fn mount_sources(store: &Store, reference: &Reference) -> HashMap<Digest, Vec<String>> {
    let mut out: HashMap<Digest, Vec<String>> = HashMap::new();
    for img in store.images().all() {
        let repos: Vec<&str> = img.repo_tags.iter().chain(&img.repo_digests).filter(|r| r.domain() == reference.domain() && r.path() != reference.path()).map(|r| r.path()).collect();
        if repos.is_empty() {
            continue;
        }
        let Ok(manifest) = store.manifest(&img) else { continue };
        for layer in manifest.layers() {
            let known = out.entry(layer.digest.clone()).or_default();
            for r in &repos {
                if !known.iter().any(|k| k == r) {
                    known.push(r.to_string());
                }
            }
        }
    }
    out
}

/// The uncompressed layer blob `digest` gzipped into the content store: its digest
/// and size (the same each time: the compressor is deterministic).
fn compress(store: &Store, digest: &Digest) -> Result<(Digest, u64)> {
    let content = store.content();
    let mut input = io::BufReader::with_capacity(1 << 20, content.reader(digest).map_err(store_error)?);
    let writer = content.writer(None).map_err(store_error)?;
    let mut gz = flate2::write::GzEncoder::new(writer, flate2::Compression::default());
    io::copy(&mut input, &mut gz).map_err(|e| Error::Store(format!("compress layer {digest}: {e}")))?;
    let writer = gz.finish().map_err(|e| Error::Store(format!("compress layer {digest}: {e}")))?;
    let size = writer.offset();
    let compressed = writer.commit().map_err(store_error)?;
    Ok((compressed, size))
}

/// The repository pushed to.
struct Target<'a> {
    registry: &'a Registry,
    name: &'a str,
    scope: &'a str,
    creds: Option<&'a Credentials>,
}

impl Target<'_> {
    fn exists(&self, digest: &Digest) -> Result<bool> {
        let response = self.registry.send(Method::Head, &format!("{}/blobs/{digest}", self.name), self.scope, self.creds, &[], Payload::None)?;
        match response.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            s => Err(refusal(s, &[], &format!("check blob {digest}"))),
        }
    }

    /// One layer: there already, mounted, or sent.
    fn layer(&self, store: &Store, blob: &Blob, sources: &HashMap<Digest, Vec<String>>, progress: &(dyn Fn(PushProgress) + Sync)) -> Result<()> {
        if self.exists(&blob.digest)? {
            progress(PushProgress::AlreadyExists { id: blob.id.clone() });
            return Ok(());
        }
        let mut location = None;
        for from in sources.get(&blob.digest).into_iter().flatten() {
            let path = format!("{}/blobs/uploads/?mount={}&from={from}", self.name, blob.digest);
            let response = self.registry.send(Method::Post, &path, self.scope, self.creds, &[], Payload::None)?;
            match response.status().as_u16() {
                201 => {
                    progress(PushProgress::MountedFrom { id: blob.id.clone(), repository: from.clone() });
                    return Ok(());
                }
                // Not mountable: the registry opened an upload instead.
                202 => {
                    location = header(&response, "location");
                    break;
                }
                _ => {}
            }
        }
        let location = match location {
            Some(l) => l,
            None => self.start()?,
        };
        // The blob in one PATCH, streamed, then the PUT that names its digest.
        let file = store.content().reader(&blob.digest).map_err(store_error)?;
        let mut counted = Counted { inner: io::BufReader::with_capacity(1 << 20, file), sent: 0, reported: 0, blob, progress };
        let response = self.registry.send(
            Method::Patch,
            &location,
            self.scope,
            self.creds,
            &[("Content-Type", "application/octet-stream".to_string())],
            Payload::Stream { reader: &mut counted, len: blob.size },
        )?;
        let location = self.expect(response, 202, &format!("upload blob {}", blob.digest))?.unwrap_or(location);
        self.finish(&location, &blob.digest, Payload::None)?;
        progress(PushProgress::Pushed { id: blob.id.clone() });
        Ok(())
    }

    /// A small blob in one request (POST, then PUT with the body and its digest).
    fn upload_bytes(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        let location = self.start()?;
        self.finish(&location, digest, Payload::Bytes(bytes))
    }

    /// Opens an upload: its location.
    fn start(&self) -> Result<String> {
        let response = self.registry.send(Method::Post, &format!("{}/blobs/uploads/", self.name), self.scope, self.creds, &[], Payload::None)?;
        self.expect(response, 202, "start an upload")?.ok_or_else(|| Error::Invalid("the registry opened an upload without a Location".into()))
    }

    /// Closes the upload at `location` as blob `digest`.
    fn finish(&self, location: &str, digest: &Digest, payload: Payload<'_>) -> Result<()> {
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        let headers = [("Content-Type", "application/octet-stream".to_string())];
        let response = self.registry.send(Method::Put, &url, self.scope, self.creds, &headers, payload)?;
        self.expect(response, 201, &format!("finish blob {digest}")).map(|_| ())
    }

    /// The response's `Location` when its status is `want`, else the registry's error.
    fn expect(&self, mut response: crate::registry::Response, want: u16, what: &str) -> Result<Option<String>> {
        let status = response.status().as_u16();
        if status == want {
            return Ok(header(&response, "location"));
        }
        let body = response.body_mut().with_config().limit(1 << 16).read_to_vec().unwrap_or_default();
        Err(refusal(status, &body, what))
    }
}

fn header(response: &crate::registry::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(String::from)
}

/// A blob's bytes on their way, reported as Docker's "Pushing".
struct Counted<'a, R> {
    inner: R,
    sent: u64,
    reported: u64,
    blob: &'a Blob,
    progress: &'a (dyn Fn(PushProgress) + Sync),
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent += n as u64;
        if self.sent - self.reported >= 512 << 10 || (n == 0 && self.sent > self.reported) {
            self.reported = self.sent;
            (self.progress)(PushProgress::Pushing { id: self.blob.id.clone(), current: self.sent, total: self.blob.size });
        }
        Ok(n)
    }
}
