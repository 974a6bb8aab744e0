//! A pull: the manifest the reference names (an index resolved to the wanted
//! platform), the config, then every layer not unpacked yet, several at once, each in
//! one streaming pass: downloaded, kept in the content store (a resumable ingest)
//! and unpacked into its snapshot while it arrives, its digest and size checked at
//! its end, before the snapshot is installed. A broken download is tried again from
//! where it broke (HTTP `Range`). The image is added and tagged only when every layer
//! is verified and unpacked: a pull that fails or is killed leaves nothing a user
//! sees, and the next one resumes the blobs already partly fetched.

use std::io::{self, Read, Write};
use std::time::Duration;

use image::content::Writer;
use image::manifest::{self, Compression, Config, Document, Manifest, Platform};
use image::metadata::{Image, NewImage, Target};
use image::snapshot::Layer;
use image::{Digest, Reference};

use crate::auth::Credentials;
use crate::error::{Error, RegistryError, Result};
use crate::progress::{Progress, short_id};
use crate::registry::{Client, Registry, transport};

/// The most a manifest or an index may weigh.
pub const MANIFEST_MAX: u64 = 4 << 20;
/// The most an image config may weigh.
const CONFIG_MAX: u64 = 8 << 20;
/// Layers fetched at once (Docker fetches 3).
pub const DEFAULT_PARALLEL: usize = 4;
/// Tries of a blob download before it fails.
const ATTEMPTS: u32 = 5;
/// A pull's blobs are kept from garbage collection this long at most.
const LEASE_TTL: Duration = Duration::from_secs(6 * 60 * 60);

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// How to pull.
#[derive(Debug, Clone)]
pub struct Options {
    /// The platform to pick from an index; the host's when not given.
    pub platform: Option<Platform>,
    pub credentials: Option<Credentials>,
    /// Layers fetched at once.
    pub parallel: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { platform: None, credentials: None, parallel: DEFAULT_PARALLEL }
    }
}

/// What a pull made.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub image: Image,
    /// The digest the reference resolved to (an index's, for a multi-platform image):
    /// the one Docker prints and records as the repo digest.
    pub digest: Digest,
    /// The reference already named this image and nothing was fetched.
    pub up_to_date: bool,
}

/// Pulls `reference` into `store`; see the module docs. `progress` is called from
/// several threads.
pub fn pull(client: &Client, store: &image::Store, reference: &Reference, opts: &Options, progress: &(dyn Fn(Progress) + Sync)) -> Result<Pulled> {
    let endpoints = client.endpoints(reference.domain())?;
    let last = endpoints.len() - 1;
    for (i, registry) in endpoints.iter().enumerate() {
        match pull_from(registry, store, reference, opts, progress) {
            // A mirror that fails is passed over, as Docker does; the registry's own
            // answer is the last word.
            Err(_) if i < last => continue,
            outcome => return outcome,
        }
    }
    unreachable!("the registry itself is always the last endpoint")
}

fn pull_from(registry: &Registry, store: &image::Store, reference: &Reference, opts: &Options, progress: &(dyn Fn(Progress) + Sync)) -> Result<Pulled> {
    let repo = Repo { registry, name: reference.path().to_string(), creds: opts.credentials.as_ref(), reference, content: Some(store.content()) };
    let wanted = opts.platform.clone().unwrap_or_else(Platform::host);
    let asked = asked(reference);
    let (top_raw, top_digest) = repo.manifest(&asked, reference.digest())?;
    let top = Document::parse(top_raw.clone(), Some(&top_digest)).map_err(|e| Error::Invalid(format!("the manifest of {}: {e}", reference.familiar())))?;
    let mut documents = vec![(top_raw, top_digest.clone())];
    let manifest = match top {
        Document::Manifest(m) => *m,
        Document::Index(index) => {
            let chosen = manifest::select(&index, &wanted).map_err(|source| Error::NoMatchingPlatform { wanted: wanted.to_string(), source })?;
            let (raw, digest) = repo.manifest(&chosen.digest.to_string(), Some(&chosen.digest))?;
            documents.push((raw.clone(), digest.clone()));
            Manifest::parse_as(raw, &digest).map_err(|e| Error::Invalid(format!("the manifest {digest}: {e}")))?
        }
    };
    let before = store.images().resolve(&reference.familiar()).ok().map(|i| i.id);
    progress(Progress::Resolved { tag: asked.clone(), repository: reference.path().to_string() });

    let lease = store.leases().create("pull", LEASE_TTL).map_err(store_error)?;
    let content = store.content();
    let config_desc = manifest.config();
    if config_desc.size > CONFIG_MAX {
        return Err(Error::Invalid(format!("the config {} is {} bytes, over the {CONFIG_MAX}-byte limit", config_desc.digest, config_desc.size)));
    }
    if !content.exists(&config_desc.digest) {
        let raw = repo.small_blob(&config_desc.digest, config_desc.size)?;
        content.put_bytes(&raw).map_err(store_error)?;
    }
    lease.add(&config_desc.digest).map_err(store_error)?;
    let config = Config::parse_as(content.read_bytes(&config_desc.digest).map_err(store_error)?, &config_desc.digest)
        .map_err(|e| Error::Invalid(format!("the config {}: {e}", config_desc.digest)))?;
    let parsed = config.parsed();
    let got = Platform::new(&parsed.os, &parsed.architecture, parsed.variant.as_deref());
    if opts.platform.is_some() && (got.os != wanted.os || got.architecture != wanted.architecture) {
        return Err(Error::NoMatchingPlatform {
            wanted: wanted.to_string(),
            source: image::manifest::Error::NoMatchingPlatform { wanted: wanted.to_string(), available: got.to_string() },
        });
    }
    let diff_ids = &parsed.rootfs.diff_ids;
    if diff_ids.len() != manifest.layers().len() {
        return Err(Error::Invalid(format!("the manifest has {} layers and its config {}", manifest.layers().len(), diff_ids.len())));
    }

    // An image the store has whole shows no layer lines, as Docker's "up to date".
    let known = store.images().get(&config_desc.digest).is_some();
    let chain = image::chain_ids(diff_ids);
    let present: Vec<bool> = chain.iter().map(|c| store.snapshots().stat(&c.to_string()).is_ok_and(|i| i.kind == image::snapshot::Kind::Committed)).collect();
    let mut layers = Vec::new();
    let mut fetched = Vec::new();
    for (i, (desc, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
        let id = short_id(&desc.digest);
        if present[i] {
            if !known {
                progress(Progress::AlreadyExists { id });
            }
            continue;
        }
        if manifest::is_non_distributable(&desc.media_type) {
            return Err(Error::Unsupported(format!("layer {} is a foreign layer ({}): berth pulls only layers the registry serves", desc.digest, desc.media_type)));
        }
        let compression = manifest::layer_compression(&desc.media_type).map_err(|e| Error::Invalid(format!("layer {}: {e}", desc.digest)))?;
        progress(Progress::PullingFsLayer { id: id.clone() });
        fetched.push((i, id));
        let blob = (desc.digest.clone(), desc.size);
        let repo = &repo;
        layers.push(Layer::new(diff_id.clone(), compression, move || repo.layer_stream(blob.0, blob.1, progress)).with_size_hint(desc.size));
        lease.add(&desc.digest).map_err(store_error)?;
    }
    let parallel = opts.parallel.max(1);
    for (_, id) in fetched.iter().skip(parallel) {
        progress(Progress::Waiting { id: id.clone() });
    }
    if !layers.is_empty() {
        // Layers already there are in the chain but never opened.
        let all: Vec<Layer<'_>> = {
            let mut missing = layers.into_iter();
            (0..chain.len())
                .map(|i| match present[i] {
                    true => Layer::new(diff_ids[i].clone(), Compression::None, || Err::<io::Empty, _>(io::Error::other("unpacked already"))),
                    false => missing.next().expect("one per missing layer"),
                })
                .collect()
        };
        store.snapshots().unpack_with(all, parallel).map_err(|e| Error::Invalid(e.to_string()))?;
        for (_, id) in &fetched {
            progress(Progress::PullComplete { id: id.clone() });
        }
    }

    for (raw, digest) in &documents {
        let stored = content.put_bytes(raw).map_err(store_error)?;
        if &stored != digest {
            return Err(Error::Unsupported(format!("manifest digest {digest}: only sha256 digests are stored")));
        }
        lease.add(digest).map_err(store_error)?;
    }
    let target = Target { media_type: manifest.media_type().to_string(), digest: manifest.digest().clone(), size: manifest.raw().len() as u64 };
    let mut img = store.images().add(NewImage { id: config_desc.digest.clone(), target, manifest: manifest.digest().clone(), size: 0 }).map_err(store_error)?;
    if reference.digest().is_none() {
        let tagged = reference.repository_only().with_tag(&asked).map_err(|e| Error::InvalidReference(e.to_string()))?;
        store.images().tag(&tagged, &img.id).map_err(store_error)?;
    }
    store.images().add_repo_digest(&reference.repository_only().with_digest(top_digest.clone()), &img.id).map_err(store_error)?;
    // Its size, from the snapshots now all there (whatever its platform: one asked
    // for with --platform is kept, as Docker keeps it).
    store.record_size(&img, &chain).map_err(store_error)?;
    img = store.images().get(&img.id).unwrap_or(img);
    let _ = lease.release();
    let up_to_date = fetched.is_empty() && before.as_ref() == Some(&img.id);
    Ok(Pulled { image: img, digest: top_digest, up_to_date })
}

/// What a reference names in its registry (`GET /distribution/{name}/json`).
#[derive(Debug, Clone)]
pub struct Distribution {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    /// The platforms it has: an index's entries, or a manifest's config's.
    pub platforms: Vec<Platform>,
}

/// Looks `reference` up in its registry without pulling it.
pub fn inspect(client: &Client, reference: &Reference, credentials: Option<&Credentials>) -> Result<Distribution> {
    let registry = client.registry(reference.domain())?;
    let repo = Repo { registry: &registry, name: reference.path().to_string(), creds: credentials, reference, content: None };
    let asked = asked(reference);
    let (raw, digest) = repo.manifest(&asked, reference.digest())?;
    let size = raw.len() as u64;
    let document = Document::parse(raw, Some(&digest)).map_err(|e| Error::Invalid(format!("the manifest of {}: {e}", reference.familiar())))?;
    let (media_type, platforms) = match document {
        Document::Index(index) => (index.media_type().to_string(), index.manifests().iter().filter_map(|m| m.platform.clone()).collect()),
        Document::Manifest(m) => {
            let config = repo.small_blob(&m.config().digest, m.config().size.min(CONFIG_MAX))?;
            let parsed = Config::parse_as(config, &m.config().digest).map_err(|e| Error::Invalid(format!("the config {}: {e}", m.config().digest)))?;
            let c = parsed.parsed();
            (m.media_type().to_string(), vec![Platform::new(&c.os, &c.architecture, c.variant.as_deref())])
        }
    };
    Ok(Distribution { media_type, digest, size, platforms })
}

/// One answer of a registry's search (`/v1/search`, the registry's protocol; the
/// daemon answers with the Engine API's type).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SearchResult {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
}

/// Searches the registry `term` names (`host/words`, else Docker Hub's index) for
/// `words`, up to `limit` answers.
pub fn search(client: &Client, term: &str, limit: u32, credentials: Option<&Credentials>) -> Result<Vec<SearchResult>> {
    let (index, words) = match term.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => (host.to_string(), rest.to_string()),
        _ => ("index.docker.io".to_string(), term.to_string()),
    };
    let registry = client.registry(&index)?;
    let encode = |s: &str| s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect::<String>();
    let path = format!("/v1/search?q={}&n={limit}", encode(&words));
    let mut response = registry.send(crate::registry::Method::Get, &path, "", credentials, &[], crate::registry::Payload::None)?;
    let status = response.status().as_u16();
    let body = response.body_mut().with_config().limit(MANIFEST_MAX).read_to_vec().map_err(|e| transport("Get", &path, e))?;
    if status != 200 {
        return Err(Error::Registry { what: format!("search {index}"), cause: RegistryError::from_body(status, &body) });
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        results: Vec<SearchResult>,
    }
    let answer: Answer = serde_json::from_slice(&body).map_err(|e| Error::Invalid(format!("the search of {index} answered: {e}")))?;
    Ok(answer.results)
}

/// The tags of `reference`'s repository (`pull -a`), as the registry lists them.
pub fn tags(client: &Client, reference: &Reference, credentials: Option<&Credentials>) -> Result<Vec<String>> {
    let registry = client.registry(reference.domain())?;
    let name = reference.path();
    let mut response = registry.get(&format!("{name}/tags/list"), &format!("repository:{name}:pull"), credentials, &[])?;
    let status = response.status().as_u16();
    let body = response.body_mut().with_config().limit(MANIFEST_MAX).read_to_vec().map_err(|e| transport("Get", &format!("{name}/tags/list"), e))?;
    if status != 200 {
        let cause = RegistryError::from_body(status, &body);
        return Err(match cause.code.as_str() {
            "NAME_UNKNOWN" => Error::NameUnknown { name: reference.familiar_repository(), cause },
            _ if status == 401 || status == 403 => Error::Denied { name: reference.familiar_repository(), cause },
            _ => Error::Registry { what: format!("list the tags of {}", reference.familiar_repository()), cause },
        });
    }
    #[derive(serde::Deserialize)]
    struct List {
        #[serde(default)]
        tags: Option<Vec<String>>,
    }
    let list: List = serde_json::from_slice(&body).map_err(|e| Error::Invalid(format!("the tags of {}: {e}", reference.familiar_repository())))?;
    Ok(list.tags.unwrap_or_default())
}

/// What `reference` asks its registry for: its digest, else its tag (`latest` when
/// it names neither).
fn asked(reference: &Reference) -> String {
    match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => image::reference::DEFAULT_TAG.to_string(),
    }
}

fn store_error(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

/// One repository of a registry, as one pull sees it.
struct Repo<'a> {
    registry: &'a Registry,
    name: String,
    creds: Option<&'a Credentials>,
    reference: &'a Reference,
    /// Where layers go (none for a look that pulls nothing).
    content: Option<&'a image::ContentStore>,
}

impl Repo<'_> {
    fn scope(&self) -> String {
        format!("repository:{}:pull", self.name)
    }

    /// The manifest `tag_or_digest` names: its bytes and digest (checked against
    /// `digest` when pulling by digest).
    fn manifest(&self, tag_or_digest: &str, digest: Option<&Digest>) -> Result<(Vec<u8>, Digest)> {
        let path = format!("{}/manifests/{tag_or_digest}", self.name);
        let mut response = self.registry.get(&path, &self.scope(), self.creds, &[("Accept", ACCEPT.to_string())])?;
        let status = response.status().as_u16();
        let url = format!("{}/v2/{path}", self.registry.host());
        let body = response.body_mut().with_config().limit(MANIFEST_MAX + 1).read_to_vec();
        let body = match body {
            Ok(b) => b,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(Error::Invalid(format!("the manifest {tag_or_digest} of {} is over the {MANIFEST_MAX}-byte limit", self.reference.familiar_repository()))),
            Err(e) => return Err(transport("Get", &url, e)),
        };
        if body.len() as u64 > MANIFEST_MAX {
            return Err(Error::Invalid(format!("the manifest {tag_or_digest} of {} is over the {MANIFEST_MAX}-byte limit", self.reference.familiar_repository())));
        }
        if status != 200 {
            return Err(self.refusal(status, &body));
        }
        let actual = Digest::sha256_of(&body);
        if let Some(want) = digest {
            let actual = match want.algorithm() {
                image::digest::Algorithm::Sha256 => actual,
                other => {
                    let mut h = other.hasher();
                    h.update(&body);
                    h.finish()
                }
            };
            if &actual != want {
                return Err(Error::Invalid(format!("manifest verification failed for digest {want}: the registry sent {actual}")));
            }
            return Ok((body, want.clone()));
        }
        Ok((body, actual))
    }

    /// A registry's refusal of a manifest, in Docker's words.
    fn refusal(&self, status: u16, body: &[u8]) -> Error {
        let cause = RegistryError::from_body(status, body);
        let name = self.reference.familiar_repository();
        match (status, cause.code.as_str()) {
            (_, "MANIFEST_UNKNOWN") => Error::ManifestUnknown { reference: self.reference.familiar(), cause },
            (_, "NAME_UNKNOWN") => Error::NameUnknown { name, cause },
            (401, _) if self.creds.is_some() => Error::Unauthorized(cause),
            (401 | 403, _) | (_, "DENIED" | "UNAUTHORIZED") => Error::Denied { name, cause: RegistryError { code: "DENIED".into(), message: "requested access to the resource is denied".into(), ..cause } },
            (404, _) => Error::ManifestUnknown { reference: self.reference.familiar(), cause: RegistryError { code: "MANIFEST_UNKNOWN".into(), message: "manifest unknown".into(), ..cause } },
            _ => Error::Registry { what: format!("pull {}", self.reference.familiar()), cause },
        }
    }

    /// A small blob (a config) whole, checked against its digest and size.
    fn small_blob(&self, digest: &Digest, size: u64) -> Result<Vec<u8>> {
        let mut stream = BlobStream::new(self, digest.clone(), size, None, None);
        let mut out = Vec::with_capacity(size as usize);
        stream.read_to_end(&mut out).map_err(|e| stream.error(e))?;
        let mut h = digest.algorithm().hasher();
        h.update(&out);
        let actual = h.finish();
        if &actual != digest || out.len() as u64 != size {
            return Err(Error::Invalid(format!("blob {digest}: the registry sent {} bytes of {actual}", out.len())));
        }
        Ok(out)
    }

    /// A layer's blob as a stream that also fills its resumable ingest and is
    /// committed (digest and size checked) at its end.
    fn layer_stream<'p>(&'p self, digest: Digest, size: u64, progress: &'p (dyn Fn(Progress) + Sync)) -> io::Result<BlobStream<'p>> {
        let content = self.content.ok_or_else(|| io::Error::other("no content store to pull into"))?;
        let ingest = content.resume(&format!("pull-{digest}"), Some((digest.clone(), size))).map_err(io::Error::other)?;
        Ok(BlobStream::new(self, digest, size, Some(ingest), Some(progress)))
    }
}

/// A blob as it downloads: retried from where it broke, never longer than its
/// descriptor says, written to `ingest` when given (bytes already there from an
/// earlier, broken pull are read back first and not fetched again).
struct BlobStream<'a> {
    repo: &'a Repo<'a>,
    digest: Digest,
    size: u64,
    id: String,
    ingest: Option<Writer>,
    replay: Option<std::fs::File>,
    body: Option<Box<dyn Read + Send + 'a>>,
    /// Bytes handed to the reader so far.
    offset: u64,
    attempts: u32,
    reported: u64,
    progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    /// The registry's own error, kept to be told rather than a bare I/O error.
    failure: Option<Error>,
}

impl<'a> BlobStream<'a> {
    fn new(repo: &'a Repo<'a>, digest: Digest, size: u64, ingest: Option<Writer>, progress: Option<&'a (dyn Fn(Progress) + Sync)>) -> BlobStream<'a> {
        let replay = ingest.as_ref().filter(|w| w.offset() > 0).and_then(|w| w.read_back().ok());
        let id = short_id(&digest);
        BlobStream { repo, digest, size, id, ingest, replay, body: None, offset: 0, attempts: 0, reported: 0, progress, failure: None }
    }

    fn error(&mut self, e: io::Error) -> Error {
        self.failure.take().unwrap_or_else(|| Error::Transport { what: format!("blob {}", self.digest), reason: e.to_string() })
    }

    fn report(&mut self, p: Progress) {
        if let Some(f) = self.progress {
            f(p);
        }
    }

    /// Opens the body from `offset` on.
    fn open(&mut self) -> io::Result<()> {
        let path = format!("{}/blobs/{}", self.repo.name, self.digest);
        let mut headers = Vec::new();
        if self.offset > 0 {
            headers.push(("Range", format!("bytes={}-", self.offset)));
        }
        let response = self.repo.registry.get(&path, &self.repo.scope(), self.repo.creds, &headers).map_err(|e| self.fail(e))?;
        let status = response.status().as_u16();
        if status != 200 && status != 206 {
            let mut response = response;
            let body = response.body_mut().with_config().limit(1 << 16).read_to_vec().unwrap_or_default();
            let cause = RegistryError::from_body(status, &body);
            let e = match status {
                401 | 403 => Error::Unauthorized(cause),
                _ => Error::Registry { what: format!("blob {}", self.digest), cause },
            };
            // A server error may pass: tried again; anything else is final.
            let kind = if status >= 500 { io::ErrorKind::Interrupted } else { io::ErrorKind::PermissionDenied };
            return Err(io::Error::new(kind, self.fail(e)));
        }
        let mut body: Box<dyn Read + Send + 'a> = Box::new(response.into_body().into_reader());
        if status == 200 && self.offset > 0 {
            // The range was not honoured: skip what we have.
            io::copy(&mut (&mut body).take(self.offset), &mut io::sink())?;
        }
        self.body = Some(body);
        Ok(())
    }

    /// Keeps `e` to be told, and gives an I/O error that names it.
    fn fail(&mut self, e: Error) -> io::Error {
        let shown = io::Error::other(e.to_string());
        self.failure = Some(e);
        shown
    }

    /// Done: checks size and digest by committing the ingest.
    fn finish(&mut self) -> io::Result<()> {
        if self.offset != self.size {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("blob {}: {} bytes, its descriptor says {}", self.digest, self.offset, self.size)));
        }
        self.report(Progress::VerifyingChecksum { id: self.id.clone() });
        if let Some(w) = self.ingest.take() {
            w.commit().map_err(|e| {
                let shown = io::Error::new(io::ErrorKind::InvalidData, format!("filesystem layer verification failed for digest {}: {e}", self.digest));
                self.failure = Some(Error::Invalid(shown.to_string()));
                shown
            })?;
        }
        self.report(Progress::DownloadComplete { id: self.id.clone() });
        Ok(())
    }

    /// A broken body: tried again after a pause, up to the limit.
    fn retry(&mut self, e: io::Error) -> io::Result<()> {
        self.attempts += 1;
        self.body = None;
        if matches!(e.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidData) {
            return Err(e);
        }
        if self.attempts >= ATTEMPTS {
            if !matches!(self.failure, Some(Error::Registry { .. } | Error::Unauthorized(_))) {
                self.failure = Some(Error::Transport { what: format!("blob {}", self.digest), reason: format!("{e} (after {ATTEMPTS} tries)") });
            }
            return Err(e);
        }
        self.report(Progress::Retrying { id: self.id.clone(), attempt: self.attempts, reason: e.to_string() });
        std::thread::sleep(Duration::from_millis(100 << self.attempts.min(5)));
        Ok(())
    }
}

impl Drop for BlobStream<'_> {
    /// Left unfinished: what was fetched is kept for the next pull to resume only when
    /// the connection broke; after anything else (a layer that did not unpack, a
    /// registry's refusal) those bytes are suspect and go.
    fn drop(&mut self) {
        if let Some(w) = self.ingest.take()
            && !matches!(self.failure, Some(Error::Transport { .. }))
        {
            w.abort();
        }
    }
}

impl Read for BlobStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(replay) = &mut self.replay {
            let n = replay.read(buf)?;
            if n > 0 {
                self.offset += n as u64;
                return Ok(n);
            }
            self.replay = None;
        }
        loop {
            if self.offset == self.size && self.body.is_none() {
                if self.ingest.is_some() {
                    self.finish()?;
                }
                return Ok(0);
            }
            if self.body.is_none()
                && let Err(e) = self.open()
            {
                self.retry(e)?;
                continue;
            }
            let body = self.body.as_mut().expect("opened");
            // One byte past the end is read to tell an endless body.
            let room = (self.size - self.offset + 1).min(buf.len() as u64) as usize;
            match body.read(&mut buf[..room]) {
                Ok(0) if self.offset == self.size => {
                    self.body = None;
                    if self.ingest.is_some() {
                        self.finish()?;
                    }
                    return Ok(0);
                }
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::UnexpectedEof, format!("the connection closed after {} of {} bytes", self.offset, self.size));
                    self.retry(e)?;
                }
                Ok(n) if self.offset + n as u64 > self.size => {
                    let e = Error::Invalid(format!("blob {}: the registry sent more than the {} bytes its descriptor says", self.digest, self.size));
                    return Err(io::Error::new(io::ErrorKind::InvalidData, self.fail(e)));
                }
                Ok(n) => {
                    if let Some(w) = &mut self.ingest {
                        w.write_all(&buf[..n])?;
                    }
                    self.offset += n as u64;
                    if self.offset - self.reported >= 512 << 10 || self.offset == self.size {
                        self.reported = self.offset;
                        let (id, current, total) = (self.id.clone(), self.offset, self.size);
                        self.report(Progress::Downloading { id, current, total });
                    }
                    return Ok(n);
                }
                Err(e) => self.retry(e)?,
            }
        }
    }
}
