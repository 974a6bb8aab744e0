//! The in-memory index behind [`ImageStore`](super::ImageStore) and how records reach
//! the disk: lookups by reference, ID and ID prefix; atomic record writes.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Error, Image, Result};
use crate::content;
use crate::digest::Digest;
use crate::reference::{self, Reference, is_id_prefix};

/// In-memory index plus where records live.
pub(super) struct State {
    pub(super) dir: PathBuf,
    pub(super) images: HashMap<Digest, Image>,
    /// `<alg>:<hex>` → id, ordered so an ID prefix is a range scan.
    pub(super) by_id_text: BTreeMap<String, Digest>,
    pub(super) tags: HashMap<Reference, Digest>,
    pub(super) digests: HashMap<Reference, Digest>,
}

/// A bare name means `:latest`; a `name:tag@digest` is looked up by its digest.
pub(super) fn normalise_ref(r: &Reference) -> Result<Reference> {
    Ok(match (r.tag(), r.digest()) {
        (_, Some(d)) => r.repository_only().with_digest(d.clone()),
        (Some(_), None) => r.clone(),
        (None, None) => r.with_tag(reference::DEFAULT_TAG)?,
    })
}

pub(super) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

pub(super) fn record_path(dir: &Path, id: &Digest) -> PathBuf {
    dir.join(format!("{}-{}.json", id.algorithm().name(), id.hex()))
}

impl State {
    pub(super) fn persist(&self, img: &Image) -> Result<()> {
        let path = record_path(&self.dir, &img.id);
        let bytes = serde_json::to_vec_pretty(img).map_err(|e| Error::Store {
            path: path.clone(),
            reason: format!("cannot encode record: {e}"),
        })?;
        content::write_atomic(&path, &bytes).map_err(|e| Error::Store {
            path,
            reason: e.to_string(),
        })
    }

    pub(super) fn remove_record(&mut self, id: &Digest) -> Result<()> {
        let path = record_path(&self.dir, id);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &path)(e)),
        }
        content::fsync_dir(&self.dir).map_err(|e| Error::Store {
            path: self.dir.clone(),
            reason: e.to_string(),
        })?;
        if let Some(img) = self.images.remove(id) {
            for r in img.repo_tags {
                self.tags.remove(&r);
            }
            for r in img.repo_digests {
                self.digests.remove(&r);
            }
        }
        self.by_id_text.remove(&id.to_string());
        Ok(())
    }

    /// Removes `r` from image `id` in memory (callers persist the image).
    pub(super) fn drop_ref(&mut self, id: &Digest, r: &Reference) {
        if let Some(img) = self.images.get_mut(id) {
            img.repo_tags.retain(|t| t != r);
            img.repo_digests.retain(|t| t != r);
        }
        if self.tags.get(r) == Some(id) {
            self.tags.remove(r);
        }
        if self.digests.get(r) == Some(id) {
            self.digests.remove(r);
        }
    }

    pub(super) fn lookup_ref(&self, key: &Reference) -> Option<Digest> {
        if key.digest().is_some() {
            self.digests.get(key).cloned()
        } else {
            self.tags.get(key).cloned()
        }
    }

    pub(super) fn resolve(&self, s: &str) -> Result<Digest> {
        if let Ok(d) = s.parse::<Digest>() {
            return self
                .images
                .get(&d)
                .map(|i| i.id.clone())
                .ok_or_else(|| Error::NotFound(s.to_string()));
        }
        let parsed = Reference::parse(s);
        if let Ok(r) = &parsed
            && let Some(id) = self.resolve_ref(r)
        {
            return Ok(id);
        }
        if is_id_prefix(s) {
            return self.resolve_prefix(s);
        }
        match parsed {
            Err(e) => Err(e.into()),
            Ok(_) => Err(Error::NotFound(s.to_string())),
        }
    }

    fn resolve_ref(&self, r: &Reference) -> Option<Digest> {
        let key = normalise_ref(r).ok()?;
        if let Some(id) = self.lookup_ref(&key) {
            return Some(id);
        }
        // `name@digest` for an image pulled by tag: its target (or platform manifest)
        // digest, in the same repository.
        let d = key.digest()?;
        let repo = key.repository();
        let mut candidates: Vec<&Image> = self
            .images
            .values()
            .filter(|i| &i.target.digest == d || &i.manifest == d)
            .filter(|i| {
                i.repo_tags
                    .iter()
                    .chain(&i.repo_digests)
                    .any(|t| t.repository() == repo)
            })
            .collect();
        candidates.sort_by(|a, b| a.id.cmp(&b.id));
        candidates.first().map(|i| i.id.clone())
    }

    fn resolve_prefix(&self, s: &str) -> Result<Digest> {
        let prefix = if s.contains(':') {
            s.to_string()
        } else {
            format!("sha256:{s}")
        };
        let mut matches = self
            .by_id_text
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, id)| id.clone());
        match (matches.next(), matches.next()) {
            (None, _) => Err(Error::NotFound(s.to_string())),
            (Some(id), None) => Ok(id),
            (Some(_), Some(_)) => Err(Error::Ambiguous {
                prefix: s.to_string(),
                count: 2 + matches.count(),
            }),
        }
    }
}
