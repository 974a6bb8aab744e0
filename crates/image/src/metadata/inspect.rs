//! `docker image inspect` and `docker history` output, built from a record and the
//! image's config (read from the content store). The JSON shapes are Docker's.

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Error, Image, ImageStore, Result};
use crate::digest::{Digest, chain_ids};
use crate::manifest::{ImageConfig, Manifest};

/// Go's zero `time.Time`, which Docker prints for times it does not have.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// Go's zero time as Unix seconds (what history shows for a missing `created`).
const ZERO_UNIX: i64 = -62_135_596_800;

/// One row of `GET /images/{name}/history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEntry {
    /// The image ID for the top row; `<missing>` below it (pulled images carry no
    /// IDs for their intermediate steps).
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub created_by: String,
    /// The image's tags on the top row; `null` elsewhere.
    pub tags: Option<Vec<String>>,
    /// The layer's size, 0 for steps that made no layer.
    pub size: u64,
    pub comment: String,
}

/// Go's RFC3339Nano in UTC: fractional seconds without trailing zeros.
fn go_time(t: &DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

/// The `docker image inspect` object for `img` with config `config`. `GraphDriver.Data`
/// is left empty for the caller (the snapshotter knows the paths).
pub fn inspect_json(img: &Image, config: &ImageConfig) -> Value {
    let mut v = json!({
        "Id": img.id.to_string(),
        "RepoTags": img.familiar_tags(),
        "RepoDigests": img.familiar_digests(),
        "Parent": "",
        "Comment": config.comment.clone().unwrap_or_default(),
        "Created": config.created.clone().unwrap_or_else(|| ZERO_TIME.to_string()),
        "DockerVersion": config.docker_version.clone().unwrap_or_default(),
        "Author": config.author.clone().unwrap_or_default(),
        "Config": config.config.clone().unwrap_or_default().to_docker_json(),
        "Architecture": config.architecture,
        "Os": config.os,
        "Size": img.size,
        "GraphDriver": {"Data": {}, "Name": "overlay2"},
        "RootFS": {
            "Type": config.rootfs.kind,
            "Layers": config.rootfs.diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        },
        "Metadata": {
            "LastTagTime": img.last_tag_time.as_ref().map_or_else(|| ZERO_TIME.to_string(), go_time),
        },
    });
    // Go's `omitempty` fields: present only when set.
    if let Some(obj) = v.as_object_mut() {
        if let Some(variant) = config.variant.as_ref().filter(|s| !s.is_empty()) {
            obj.insert("Variant".into(), json!(variant));
        }
        if let Some(ver) = config.os_version.as_ref().filter(|s| !s.is_empty()) {
            obj.insert("OsVersion".into(), json!(ver));
        }
    }
    v
}

/// History rows for `img`: `layer_sizes[i]` is the size of the i-th non-empty layer.
pub fn history_entries(
    img: &Image,
    config: &ImageConfig,
    layer_sizes: &[u64],
) -> Vec<HistoryEntry> {
    let mut layer = 0;
    let mut rows: Vec<HistoryEntry> = config
        .history
        .iter()
        .map(|h| {
            let size = if h.empty_layer {
                0
            } else {
                layer += 1;
                layer_sizes.get(layer - 1).copied().unwrap_or(0)
            };
            HistoryEntry {
                id: "<missing>".into(),
                created: h
                    .created
                    .as_deref()
                    .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                    .map_or(ZERO_UNIX, |t| t.timestamp()),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: None,
                size,
                comment: h.comment.clone().unwrap_or_default(),
            }
        })
        .collect();
    rows.reverse();
    if let Some(top) = rows.first_mut() {
        top.id = img.id.to_string();
        let tags = img.familiar_tags();
        top.tags = (!tags.is_empty()).then_some(tags);
    }
    rows
}

impl ImageStore {
    /// `docker image inspect NAME|ID`.
    pub fn inspect(&self, name_or_id: &str) -> Result<Value> {
        let img = self.resolve(name_or_id)?;
        let config = self.read_config(&img.id)?;
        Ok(inspect_json(&img, config.parsed()))
    }

    /// `docker history NAME|ID`, with layer sizes from the manifest (compressed sizes).
    pub fn history(&self, name_or_id: &str) -> Result<Vec<HistoryEntry>> {
        self.history_with_sizes(name_or_id, &|_| None)
    }

    /// Like [`history`](Self::history), asking `layer_size(chain_id)` first (the
    /// snapshotter knows unpacked sizes, which is what Docker shows) and falling back
    /// to the manifest's compressed sizes.
    pub fn history_with_sizes(
        &self,
        name_or_id: &str,
        layer_size: &dyn Fn(&Digest) -> Option<u64>,
    ) -> Result<Vec<HistoryEntry>> {
        let img = self.resolve(name_or_id)?;
        let config = self.read_config(&img.id)?;
        // The manifest is only a fallback for sizes: an image loaded without one still
        // has a history.
        let compressed: Vec<u64> = self
            .content
            .read_bytes(&img.manifest)
            .ok()
            .and_then(|raw| Manifest::parse_as(raw, &img.manifest).ok())
            .map(|m| m.layers().iter().map(|l| l.size).collect())
            .unwrap_or_default();
        let chains = chain_ids(&config.parsed().rootfs.diff_ids);
        let sizes: Vec<u64> = chains
            .iter()
            .enumerate()
            .map(|(i, c)| {
                layer_size(c)
                    .or_else(|| compressed.get(i).copied())
                    .unwrap_or(0)
            })
            .collect();
        let nonempty = config
            .parsed()
            .history
            .iter()
            .filter(|h| !h.empty_layer)
            .count();
        if nonempty > chains.len() {
            return Err(Error::Store {
                path: self.content.blob_path(&img.id),
                reason: format!(
                    "image config lists {nonempty} non-empty history entries but only {} layers",
                    chains.len()
                ),
            });
        }
        Ok(history_entries(&img, config.parsed(), &sizes))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{add_image, fixture, r};
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn go_time_trims_like_rfc3339nano() {
        let t = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(go_time(&t), "2024-01-02T03:04:05Z");
        let t = t + chrono::Duration::nanoseconds(120_000_000);
        assert_eq!(go_time(&t), "2024-01-02T03:04:05.12Z");
    }

    #[test]
    fn inspect_has_dockers_shape() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[("a", "b")]);
        let untagged = s.inspect(id.hex()).unwrap();
        assert_eq!(untagged["RepoTags"], json!([]));
        assert_eq!(untagged["Metadata"]["LastTagTime"], ZERO_TIME);
        s.tag(&r("busybox"), &id).unwrap();
        s.tag(&r("me/app:2"), &id).unwrap();
        let v = s.inspect("busybox").unwrap();
        assert_eq!(v["Id"], id.to_string());
        assert_eq!(v["RepoTags"], json!(["busybox:latest", "me/app:2"]));
        assert_eq!(v["RepoDigests"], json!([]));
        assert_eq!(v["Parent"], "");
        assert_eq!(v["Comment"], "");
        assert_eq!(v["DockerVersion"], "");
        assert_eq!(v["Author"], "");
        assert_eq!(v["Created"], "2024-01-01T00:00:00Z");
        assert_eq!(v["Architecture"], "amd64");
        assert_eq!(v["Os"], "linux");
        assert!(v.get("Variant").is_none());
        assert_eq!(v["Size"], 1001);
        assert_eq!(v["GraphDriver"], json!({"Data": {}, "Name": "overlay2"}));
        assert_eq!(v["RootFS"]["Type"], "layers");
        assert_eq!(
            v["RootFS"]["Layers"],
            json!([Digest::sha256_of(&1u32.to_be_bytes()).to_string()])
        );
        assert_eq!(v["Config"]["Labels"], json!({"a": "b"}));
        assert_eq!(v["Config"]["Env"], json!(["N=1"]));
        assert_eq!(v["Config"]["Cmd"], Value::Null);
        assert_eq!(v["Config"]["Hostname"], "");
        let ltt = v["Metadata"]["LastTagTime"].as_str().unwrap();
        assert!(ltt.ends_with('Z') && ltt != ZERO_TIME, "{ltt}");
    }

    #[test]
    fn history_is_newest_first_with_missing_ids() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        s.tag(&r("busybox"), &id).unwrap();
        let h = s.history("busybox").unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].id, id.to_string());
        assert_eq!(h[0].created_by, "CMD");
        assert_eq!(h[0].size, 0);
        assert_eq!(h[0].created, ZERO_UNIX);
        assert_eq!(h[0].tags, Some(vec!["busybox:latest".to_string()]));
        assert_eq!(h[1].id, "<missing>");
        assert_eq!(h[1].created, 1704067200);
        assert_eq!(h[1].created_by, "layer 1");
        assert_eq!(h[1].tags, None);
        // The manifest blob is not stored in this fixture: size falls back to 0,
        // or comes from the snapshotter when it knows it.
        assert_eq!(h[1].size, 0);
        let h = s.history_with_sizes("busybox", &|_| Some(4096)).unwrap();
        assert_eq!(h[1].size, 4096);
        let json = serde_json::to_value(&h[1]).unwrap();
        assert_eq!(
            json,
            json!({"Id": "<missing>", "Created": 1704067200, "CreatedBy": "layer 1", "Tags": null, "Size": 4096, "Comment": ""})
        );
    }

    #[test]
    fn real_busybox_history_uses_manifest_sizes() {
        let img = fixture::Image::busybox().unwrap();
        let f = fixture();
        let s = &f.store;
        let id = s.content().put_bytes(img.config()).unwrap();
        let manifest = s.content().put_bytes(img.manifest()).unwrap();
        s.add(super::super::NewImage {
            id: id.clone(),
            target: super::super::Target {
                media_type: crate::manifest::OCI_MANIFEST.into(),
                digest: manifest.clone(),
                size: img.manifest_size(),
            },
            manifest,
            size: 0,
        })
        .unwrap();
        let h = s.history(id.hex()).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].size, img.layer_size());
        let v = s.inspect(&id.to_string()).unwrap();
        assert_eq!(v["Config"]["Cmd"], json!(["sh"]));
        assert_eq!(v["Architecture"], img.architecture());
    }
}
