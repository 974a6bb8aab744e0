//! Image formats: OCI image manifests and indexes, Docker schema2 manifests and
//! manifest lists, image configs; their media types; layer compression by media type;
//! and platform selection from an index ([`platform`]).
//!
//! Every parsed document keeps the exact bytes it came from next to its digest: we
//! never re-serialise a manifest or config to store or hash it, so digests cannot
//! change under us. The parsed form (oci-spec's types for manifests and indexes, our
//! [`ImageConfig`] for configs, which has Docker's extra fields) is for reading only.

mod config;
pub mod platform;

use std::collections::BTreeMap;

use oci_spec::image::{ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::Digest;

pub use config::{ContainerConfig, HealthConfig, History, ImageConfig, RootFs};
pub use platform::{Platform, select};

// OCI image-spec media types.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_LAYER_NONDISTRIBUTABLE: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const OCI_LAYER_NONDISTRIBUTABLE_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const OCI_LAYER_NONDISTRIBUTABLE_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

// Docker image manifest v2 schema 2 media types.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
/// Windows base layers that registries may not serve ("foreign"): fetched from `urls`.
pub const DOCKER_LAYER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar";
pub const DOCKER_LAYER_FOREIGN_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Schema 1 manifests: recognised only to refuse them clearly.
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "unsupported layer media type {0:?}: berth unpacks tar, tar+gzip and tar+zstd layers (OCI or Docker media types)"
    )]
    UnknownLayerType(String),
    #[error(
        "unsupported manifest media type {0:?}: berth reads OCI image manifests and indexes and Docker schema2 manifests and manifest lists"
    )]
    UnknownMediaType(String),
    #[error(
        "Docker image manifest schema 1 is not supported (deprecated by Docker); the image must be re-pushed with a current tool"
    )]
    Schema1,
    #[error("{what} {digest}: invalid JSON: {source}")]
    Json {
        what: &'static str,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what} {digest}: {reason}")]
    Invalid {
        what: &'static str,
        digest: Digest,
        reason: String,
    },
    #[error("expected {expected}, but {digest} is {actual}")]
    WrongKind {
        expected: &'static str,
        actual: &'static str,
        digest: Digest,
    },
    #[error("digest mismatch: expected {expected}, the bytes hash to {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error(
        "invalid platform {input:?}: {reason}; use os[/arch[/variant]], e.g. linux/amd64 or linux/arm/v7"
    )]
    InvalidPlatform { input: String, reason: String },
    #[error(
        "no matching manifest for {wanted} in the manifest list entries; available: {available}; pick one with --platform"
    )]
    NoMatchingPlatform { wanted: String, available: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a layer blob is compressed: one type shared with layer apply/diff.
pub use crate::layer::Compression;

/// The compression of a layer with this media type, or a clear error for anything
/// that is not a layer tar (attestations, encrypted layers, unknown types).
pub fn layer_compression(media_type: &str) -> Result<Compression> {
    match media_type {
        OCI_LAYER | OCI_LAYER_NONDISTRIBUTABLE | DOCKER_LAYER | DOCKER_LAYER_FOREIGN => {
            Ok(Compression::None)
        }
        OCI_LAYER_GZIP
        | OCI_LAYER_NONDISTRIBUTABLE_GZIP
        | DOCKER_LAYER_GZIP
        | DOCKER_LAYER_FOREIGN_GZIP => Ok(Compression::Gzip),
        OCI_LAYER_ZSTD | OCI_LAYER_NONDISTRIBUTABLE_ZSTD | DOCKER_LAYER_ZSTD => {
            Ok(Compression::Zstd)
        }
        other => Err(Error::UnknownLayerType(other.to_string())),
    }
}

/// Layers a registry may refuse to serve (Docker "foreign", OCI "nondistributable"):
/// a puller fetches them from the descriptor's `urls`, and pushing skips them.
pub fn is_non_distributable(media_type: &str) -> bool {
    matches!(
        media_type,
        OCI_LAYER_NONDISTRIBUTABLE
            | OCI_LAYER_NONDISTRIBUTABLE_GZIP
            | OCI_LAYER_NONDISTRIBUTABLE_ZSTD
            | DOCKER_LAYER_FOREIGN
            | DOCKER_LAYER_FOREIGN_GZIP
    )
}

/// Whether the media type names an image config (OCI or Docker).
pub fn is_config(media_type: &str) -> bool {
    media_type == OCI_CONFIG || media_type == DOCKER_CONFIG
}

/// What a manifest-like document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OciManifest,
    OciIndex,
    DockerManifest,
    DockerManifestList,
}

impl Kind {
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::OciManifest => OCI_MANIFEST,
            Kind::OciIndex => OCI_INDEX,
            Kind::DockerManifest => DOCKER_MANIFEST,
            Kind::DockerManifestList => DOCKER_MANIFEST_LIST,
        }
    }

    /// The kind a media type names, if it is one of the four.
    pub fn from_media_type(media_type: &str) -> Option<Kind> {
        Some(match media_type {
            OCI_MANIFEST => Kind::OciManifest,
            OCI_INDEX => Kind::OciIndex,
            DOCKER_MANIFEST => Kind::DockerManifest,
            DOCKER_MANIFEST_LIST => Kind::DockerManifestList,
            _ => return None,
        })
    }

    /// An index or manifest list: it names manifests, not layers.
    pub fn is_index(self) -> bool {
        matches!(self, Kind::OciIndex | Kind::DockerManifestList)
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::OciManifest => "an OCI image manifest",
            Kind::OciIndex => "an OCI image index",
            Kind::DockerManifest => "a Docker schema2 manifest",
            Kind::DockerManifestList => "a Docker manifest list",
        }
    }
}

/// The fields that tell documents apart, without parsing the rest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<serde_json::Value>,
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
    config: Option<serde::de::IgnoredAny>,
    layers: Option<serde::de::IgnoredAny>,
    fs_layers: Option<serde::de::IgnoredAny>,
}

/// What kind of document `raw` is: from its `mediaType` when present, else from its
/// shape (`manifests` → OCI index; `config` + `layers` → OCI manifest), as OCI allows
/// the field to be absent. `digest` only labels errors.
pub fn detect_kind(raw: &[u8], digest: &Digest) -> Result<Kind> {
    let probe: Probe = serde_json::from_slice(raw).map_err(|source| Error::Json {
        what: "manifest",
        digest: digest.clone(),
        source,
    })?;
    if let Some(mt) = probe.media_type.as_deref() {
        if mt == DOCKER_SCHEMA1 || mt == DOCKER_SCHEMA1_SIGNED {
            return Err(Error::Schema1);
        }
        return Kind::from_media_type(mt).ok_or_else(|| Error::UnknownMediaType(mt.to_string()));
    }
    if probe.schema_version.as_ref().and_then(|v| v.as_u64()) == Some(1)
        || probe.fs_layers.is_some()
    {
        return Err(Error::Schema1);
    }
    let invalid = |reason: &str| Error::Invalid {
        what: "manifest",
        digest: digest.clone(),
        reason: reason.to_string(),
    };
    match (
        probe.manifests.is_some(),
        probe.config.is_some() && probe.layers.is_some(),
    ) {
        (true, false) => Ok(Kind::OciIndex),
        (false, true) => Ok(Kind::OciManifest),
        (true, true) => Err(invalid(
            "has no mediaType and both \"manifests\" and \"layers\"; cannot tell an index from a manifest",
        )),
        (false, false) => Err(invalid(
            "has no mediaType and neither \"manifests\" nor \"config\" and \"layers\"; not an image manifest or index",
        )),
    }
}

/// A content descriptor with a validated digest (what manifests and indexes point at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    pub platform: Option<Platform>,
    pub annotations: BTreeMap<String, String>,
    /// Where non-distributable layers can be fetched from.
    pub urls: Vec<String>,
}

impl Descriptor {
    fn from_oci(
        d: &oci_spec::image::Descriptor,
        what: &'static str,
        parent: &Digest,
    ) -> Result<Descriptor> {
        let digest = d.digest().to_string().parse().map_err(|e| Error::Invalid {
            what,
            digest: parent.clone(),
            reason: format!("{e}"),
        })?;
        let platform = d.platform().as_ref().map(|p| Platform {
            os: p.os().to_string(),
            architecture: p.architecture().to_string(),
            variant: p.variant().clone().filter(|v| !v.is_empty()),
        });
        Ok(Descriptor {
            media_type: d.media_type().to_string(),
            digest,
            size: d.size(),
            platform,
            annotations: d
                .annotations()
                .as_ref()
                .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            urls: d.urls().clone().unwrap_or_default(),
        })
    }
}

/// Hashes `raw` with `expected`'s algorithm and compares, or computes sha256.
fn check_digest(raw: &[u8], expected: Option<Digest>) -> Result<Digest> {
    match expected {
        None => Ok(Digest::sha256_of(raw)),
        Some(expected) => {
            let mut h = expected.algorithm().hasher();
            h.update(raw);
            let actual = h.finish();
            if actual != expected {
                return Err(Error::DigestMismatch { expected, actual });
            }
            Ok(actual)
        }
    }
}

/// An image manifest (OCI or Docker schema2): exact bytes, digest, parsed form.
#[derive(Debug, Clone)]
pub struct Manifest {
    raw: Vec<u8>,
    digest: Digest,
    kind: Kind,
    parsed: ImageManifest,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

impl Manifest {
    /// Parses `raw`; its digest is the sha256 of the bytes.
    pub fn parse(raw: Vec<u8>) -> Result<Manifest> {
        Manifest::parse_inner(raw, None)
    }

    /// Parses `raw` and checks it hashes to `digest` (with `digest`'s algorithm).
    pub fn parse_as(raw: Vec<u8>, digest: &Digest) -> Result<Manifest> {
        Manifest::parse_inner(raw, Some(digest.clone()))
    }

    fn parse_inner(raw: Vec<u8>, expected: Option<Digest>) -> Result<Manifest> {
        let digest = check_digest(&raw, expected)?;
        let kind = detect_kind(&raw, &digest)?;
        if kind.is_index() {
            return Err(Error::WrongKind {
                expected: "an image manifest",
                actual: kind.describe(),
                digest,
            });
        }
        let parsed: ImageManifest = serde_json::from_slice(&raw).map_err(|source| Error::Json {
            what: "manifest",
            digest: digest.clone(),
            source,
        })?;
        let config = Descriptor::from_oci(parsed.config(), "manifest config", &digest)?;
        let layers = parsed
            .layers()
            .iter()
            .map(|l| Descriptor::from_oci(l, "manifest layer", &digest))
            .collect::<Result<Vec<_>>>()?;
        Ok(Manifest {
            raw,
            digest,
            kind,
            parsed,
            config,
            layers,
        })
    }

    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn media_type(&self) -> &'static str {
        self.kind.media_type()
    }

    /// The config descriptor: its digest is the image ID.
    pub fn config(&self) -> &Descriptor {
        &self.config
    }

    /// Layers, base first.
    pub fn layers(&self) -> &[Descriptor] {
        &self.layers
    }

    /// Sum of config and compressed layer sizes: the bytes a pull transfers.
    pub fn content_size(&self) -> u64 {
        self.config.size + self.layers.iter().map(|l| l.size).sum::<u64>()
    }

    /// oci-spec's view, for fields not surfaced here (annotations, subject…).
    pub fn oci(&self) -> &ImageManifest {
        &self.parsed
    }
}

/// An image index or Docker manifest list.
#[derive(Debug, Clone)]
pub struct Index {
    raw: Vec<u8>,
    digest: Digest,
    kind: Kind,
    parsed: ImageIndex,
    manifests: Vec<Descriptor>,
}

impl Index {
    pub fn parse(raw: Vec<u8>) -> Result<Index> {
        Index::parse_inner(raw, None)
    }

    pub fn parse_as(raw: Vec<u8>, digest: &Digest) -> Result<Index> {
        Index::parse_inner(raw, Some(digest.clone()))
    }

    fn parse_inner(raw: Vec<u8>, expected: Option<Digest>) -> Result<Index> {
        let digest = check_digest(&raw, expected)?;
        let kind = detect_kind(&raw, &digest)?;
        if !kind.is_index() {
            return Err(Error::WrongKind {
                expected: "an image index or manifest list",
                actual: kind.describe(),
                digest,
            });
        }
        let parsed: ImageIndex = serde_json::from_slice(&raw).map_err(|source| Error::Json {
            what: "index",
            digest: digest.clone(),
            source,
        })?;
        let manifests = parsed
            .manifests()
            .iter()
            .map(|m| Descriptor::from_oci(m, "index entry", &digest))
            .collect::<Result<Vec<_>>>()?;
        Ok(Index {
            raw,
            digest,
            kind,
            parsed,
            manifests,
        })
    }

    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn media_type(&self) -> &'static str {
        self.kind.media_type()
    }

    pub fn manifests(&self) -> &[Descriptor] {
        &self.manifests
    }

    pub fn oci(&self) -> &ImageIndex {
        &self.parsed
    }
}

/// Either kind of document, for code that follows whatever a reference points at.
#[derive(Debug, Clone)]
pub enum Document {
    Manifest(Box<Manifest>),
    Index(Box<Index>),
}

impl Document {
    /// Parses `raw` as whatever [`detect_kind`] says it is; checks `digest` if given.
    pub fn parse(raw: Vec<u8>, digest: Option<&Digest>) -> Result<Document> {
        let label = digest.cloned().unwrap_or_else(|| Digest::sha256_of(&raw));
        if detect_kind(&raw, &label)?.is_index() {
            Index::parse_inner(raw, digest.cloned()).map(|i| Document::Index(Box::new(i)))
        } else {
            Manifest::parse_inner(raw, digest.cloned()).map(|m| Document::Manifest(Box::new(m)))
        }
    }

    pub fn digest(&self) -> &Digest {
        match self {
            Document::Manifest(m) => m.digest(),
            Document::Index(i) => i.digest(),
        }
    }

    /// Everything this document points at directly.
    pub fn children(&self) -> Vec<&Descriptor> {
        match self {
            Document::Manifest(m) => std::iter::once(m.config()).chain(m.layers()).collect(),
            Document::Index(i) => i.manifests().iter().collect(),
        }
    }
}

/// An image config blob: exact bytes, digest (the image ID) and parsed form.
#[derive(Debug, Clone)]
pub struct Config {
    raw: Vec<u8>,
    digest: Digest,
    parsed: ImageConfig,
}

impl Config {
    pub fn parse(raw: Vec<u8>) -> Result<Config> {
        Config::parse_inner(raw, None)
    }

    pub fn parse_as(raw: Vec<u8>, digest: &Digest) -> Result<Config> {
        Config::parse_inner(raw, Some(digest.clone()))
    }

    fn parse_inner(raw: Vec<u8>, expected: Option<Digest>) -> Result<Config> {
        let digest = check_digest(&raw, expected)?;
        let parsed = serde_json::from_slice(&raw).map_err(|source| Error::Json {
            what: "image config",
            digest: digest.clone(),
            source,
        })?;
        Ok(Config {
            raw,
            digest,
            parsed,
        })
    }

    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The image ID.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn parsed(&self) -> &ImageConfig {
        &self.parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busybox() -> &'static fixture::Image {
        fixture::Image::busybox().unwrap()
    }

    #[test]
    fn layer_media_types() {
        for (mt, c) in [
            (OCI_LAYER, Compression::None),
            (OCI_LAYER_GZIP, Compression::Gzip),
            (OCI_LAYER_ZSTD, Compression::Zstd),
            (OCI_LAYER_NONDISTRIBUTABLE, Compression::None),
            (OCI_LAYER_NONDISTRIBUTABLE_GZIP, Compression::Gzip),
            (OCI_LAYER_NONDISTRIBUTABLE_ZSTD, Compression::Zstd),
            (DOCKER_LAYER, Compression::None),
            (DOCKER_LAYER_GZIP, Compression::Gzip),
            (DOCKER_LAYER_ZSTD, Compression::Zstd),
            (DOCKER_LAYER_FOREIGN, Compression::None),
            (DOCKER_LAYER_FOREIGN_GZIP, Compression::Gzip),
        ] {
            assert_eq!(layer_compression(mt).unwrap(), c, "{mt}");
        }
        assert!(is_non_distributable(DOCKER_LAYER_FOREIGN_GZIP));
        assert!(is_non_distributable(OCI_LAYER_NONDISTRIBUTABLE));
        assert!(!is_non_distributable(OCI_LAYER_GZIP));
        let err = layer_compression("application/vnd.in-toto+json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unsupported layer media type") && err.contains("in-toto"),
            "{err}"
        );
        assert!(is_config(DOCKER_CONFIG) && is_config(OCI_CONFIG) && !is_config(OCI_MANIFEST));
    }

    #[test]
    fn busybox_manifest_keeps_its_bytes() {
        let img = busybox();
        let digest: Digest = img.manifest_digest().parse().unwrap();
        let m = Manifest::parse_as(img.manifest().to_vec(), &digest).unwrap();
        assert_eq!(m.raw(), img.manifest());
        assert_eq!(m.digest(), &digest);
        assert_eq!(m.kind(), Kind::OciManifest);
        assert_eq!(m.config().digest.to_string(), img.config_digest());
        assert_eq!(m.layers().len(), 1);
        assert_eq!(m.layers()[0].digest.to_string(), img.layer_digest());
        assert_eq!(
            layer_compression(&m.layers()[0].media_type).unwrap(),
            Compression::Gzip
        );
        assert_eq!(m.content_size(), img.config_size() + img.layer_size());
        assert_eq!(
            Manifest::parse(img.manifest().to_vec()).unwrap().digest(),
            &digest
        );

        let wrong = Digest::sha256_of(b"x");
        assert!(matches!(
            Manifest::parse_as(img.manifest().to_vec(), &wrong),
            Err(Error::DigestMismatch { .. })
        ));
    }

    #[test]
    fn docker_schema2_and_lists_parse() {
        let cfg = format!("sha256:{}", "c".repeat(64));
        let layer = format!("sha256:{}", "d".repeat(64));
        let raw = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"{DOCKER_CONFIG}","size":1469,"digest":"{cfg}"}},"layers":[{{"mediaType":"{DOCKER_LAYER_GZIP}","size":2,"digest":"{layer}"}},{{"mediaType":"{DOCKER_LAYER_FOREIGN_GZIP}","size":3,"digest":"{layer}","urls":["https://example.invalid/l"]}}]}}"#
        );
        let m = Manifest::parse(raw.clone().into_bytes()).unwrap();
        assert_eq!(m.kind(), Kind::DockerManifest);
        assert_eq!(m.media_type(), DOCKER_MANIFEST);
        assert_eq!(m.config().media_type, DOCKER_CONFIG);
        assert_eq!(
            m.layers()[1].urls,
            vec!["https://example.invalid/l".to_string()]
        );
        assert!(matches!(
            Index::parse(raw.into_bytes()),
            Err(Error::WrongKind { .. })
        ));

        let list = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_LIST}","manifests":[{{"mediaType":"{DOCKER_MANIFEST}","size":5,"digest":"{cfg}","platform":{{"architecture":"arm","os":"linux","variant":"v7","features":["x"]}}}}]}}"#
        );
        let i = Index::parse(list.into_bytes()).unwrap();
        assert_eq!(i.kind(), Kind::DockerManifestList);
        let p = i.manifests()[0].platform.clone().unwrap();
        assert_eq!(p.to_string(), "linux/arm/v7");
    }

    #[test]
    fn kind_from_shape_when_media_type_is_absent() {
        let d = Digest::sha256_of(b"");
        let dg = format!("sha256:{}", "e".repeat(64));
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","size":1,"digest":"{dg}"}}]}}"#
        );
        assert_eq!(detect_kind(index.as_bytes(), &d).unwrap(), Kind::OciIndex);
        let manifest = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{OCI_CONFIG}","size":1,"digest":"{dg}"}},"layers":[]}}"#
        );
        assert_eq!(
            detect_kind(manifest.as_bytes(), &d).unwrap(),
            Kind::OciManifest
        );
        assert!(matches!(
            Document::parse(index.into_bytes(), None).unwrap(),
            Document::Index(_)
        ));
        assert!(matches!(
            Document::parse(manifest.into_bytes(), None).unwrap(),
            Document::Manifest(_)
        ));

        for (raw, want) in [
            (r#"{"schemaVersion":1,"fsLayers":[]}"#, "schema 1"),
            (
                r#"{"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#,
                "schema 1",
            ),
            (
                r#"{"mediaType":"text/plain"}"#,
                "unsupported manifest media type \"text/plain\"",
            ),
            (r#"{"schemaVersion":2}"#, "neither"),
            (r#"{"manifests":[],"config":{},"layers":[]}"#, "cannot tell"),
            ("not json", "invalid JSON"),
        ] {
            let err = detect_kind(raw.as_bytes(), &d).unwrap_err().to_string();
            assert!(err.contains(want), "{raw}: {err}");
        }
    }

    #[test]
    fn bad_descriptor_digest_is_a_clear_error() {
        let raw = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","size":1,"digest":"sha384:{}"}},"layers":[]}}"#,
            "a".repeat(96)
        );
        let err = Manifest::parse(raw.into_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("manifest config") && err.contains("sha384"),
            "{err}"
        );
    }

    #[test]
    fn busybox_config_parses() {
        let img = busybox();
        let digest: Digest = img.config_digest().parse().unwrap();
        let c = Config::parse_as(img.config().to_vec(), &digest).unwrap();
        assert_eq!(c.digest(), &digest);
        let p = c.parsed();
        assert_eq!(p.architecture, img.architecture());
        assert_eq!(p.os, "linux");
        assert_eq!(p.rootfs.diff_ids[0].to_string(), img.diff_id());
        let cc = p.config.as_ref().unwrap();
        assert_eq!(cc.cmd.as_deref(), Some(&["sh".to_string()][..]));
    }
}
