//! A container's volumes: which it mounts where, resolved once at create from its
//! `-v` binds with a volume's name or none (`-v data:/d`, `-v /d`), its
//! `--mount type=volume`, and its image's `VOLUME`s that nothing else covers; named
//! volumes made when missing, anonymous ones made for it. At each start a volume
//! that is still empty is filled with the image's content at its path (copy-up);
//! at its removal with `-v` (or `--rm`) its anonymous volumes go with it.

use std::collections::BTreeMap;
use std::path::Path;

use api::binds::{Bind, Propagation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A volume mounted in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    pub name: String,
    /// Where its data is on the host (inspect's `Source`).
    #[serde(default)]
    pub source: String,
    pub destination: String,
    pub read_only: bool,
    /// `nocopy`: never filled from the image's content.
    #[serde(default)]
    pub nocopy: bool,
    /// Made for this container alone (`-v /d`, `VOLUME`): removed with it by `rm -v`.
    #[serde(default)]
    pub anonymous: bool,
    /// The mode as given with `-v` (inspect shows it); empty otherwise.
    #[serde(default)]
    pub mode: String,
    /// `volume-subpath`: the path inside the volume mounted instead of its root.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

/// What a create asks for: the volumes it mounts, in the order of its binds, mounts,
/// the volumes of `--volumes-from` (`inherited`) and the image's volumes; every
/// destination once, the first to name it winning.
pub fn wanted(
    binds: &[Bind],
    mounts: &[api::hostconfig::Mount],
    tmpfs: &BTreeMap<String, String>,
    inherited: Vec<Wanted>,
    image_volumes: &BTreeMap<String, api::EmptyObject>,
) -> Result<Vec<Wanted>> {
    // What the container's own host binds, tmpfs and non-volume mounts take.
    let taken: Vec<&str> = binds
        .iter()
        .filter(|b| b.is_host_path())
        .map(|b| b.destination.as_str())
        .chain(tmpfs.keys().map(String::as_str))
        .chain(mounts.iter().filter(|m| m.r#type != "volume").map(|m| m.target.as_str()))
        .collect();
    let mut out: Vec<Wanted> = Vec::new();
    let check = |name: &str| match name.is_empty() || volume::store::valid_name(name) {
        true => Ok(()),
        false => Err(store_error(volume::Error::InvalidName(name.to_string()))),
    };
    for b in binds.iter().filter(|b| !b.is_host_path()) {
        check(&b.source)?;
        out.push(Wanted {
            name: (!b.source.is_empty()).then(|| b.source.clone()),
            destination: b.destination.clone(),
            read_only: b.read_only,
            nocopy: b.nocopy,
            anonymous: false,
            mode: b.mode.clone(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            subpath: String::new(),
        });
    }
    for m in mounts.iter().filter(|m| m.r#type == "volume") {
        let options = m.volume_options.clone().unwrap_or_default();
        let driver = options.driver_config.clone().unwrap_or_default();
        if !matches!(driver.name.as_str(), "" | "local") {
            return Err(Error::not_found(format!("plugin \"{}\" not found", driver.name)));
        }
        if !options.subpath.is_empty() {
            let bad = |why: &str| Error::invalid(format!("invalid mount config for type \"volume\": {why}"));
            if m.source.is_empty() {
                return Err(bad("must not set Subpath when using anonymous volumes"));
            }
            if !volume::subpath::is_local(&options.subpath) {
                return Err(bad("subpath must be a relative path within the volume"));
            }
        }
        check(&m.source)?;
        out.push(Wanted {
            name: (!m.source.is_empty()).then(|| m.source.clone()),
            destination: m.target.clone(),
            read_only: m.read_only,
            nocopy: options.no_copy,
            anonymous: false,
            mode: String::new(),
            labels: options.labels.clone(),
            options: driver.options.clone(),
            subpath: options.subpath.clone(),
        });
    }
    // The other containers' volumes, then the image's, where nothing of the
    // container's own (bind, mount, tmpfs) is.
    let covered = |out: &[Wanted], dst: &str| out.iter().any(|w| same_path(&w.destination, dst)) || taken.iter().any(|t| same_path(t, dst));
    for w in inherited {
        if !covered(&out, &w.destination) {
            out.push(w);
        }
    }
    let image: Vec<Wanted> = image_volumes
        .keys()
        .filter(|dst| !covered(&out, dst))
        .map(|dst| Wanted {
            name: None,
            destination: dst.clone(),
            read_only: false,
            nocopy: false,
            anonymous: true,
            mode: String::new(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            subpath: String::new(),
        })
        .collect();
    out.extend(image);
    for w in &out {
        if !w.destination.starts_with('/') {
            return Err(Error::invalid(format!("invalid mount config for type \"volume\": invalid mount path: '{}' mount path must be absolute", w.destination)));
        }
    }
    Ok(out)
}

/// `/data/` and `/data` are one mount point.
fn same_path(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// A volume a create asks for, before it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// None: an anonymous one, named by a new id.
    pub name: Option<String>,
    pub destination: String,
    pub read_only: bool,
    pub nocopy: bool,
    /// Anonymous: made for one container (inherited ones keep their kind).
    pub anonymous: bool,
    pub mode: String,
    /// For a volume made by this create (`--mount volume-label=…`, `volume-opt=…`).
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// `volume-subpath`, checked to stay inside the volume.
    pub subpath: String,
}

/// One `--volumes-from` entry (`NAME[:ro|rw]`): the container's record and the mode
/// asked for, if any.
fn volumes_from(d: &super::Containers, spec: &str) -> Result<(std::sync::Arc<super::Container>, Option<bool>)> {
    let (name, mode) = spec.split_once(':').unwrap_or((spec, ""));
    let read_only = match mode {
        "" => None,
        "ro" => Some(true),
        "rw" => Some(false),
        other => return Err(Error::invalid(format!("invalid mode: {other}"))),
    };
    // A bad parameter of the create, not a missing resource: a 404 would make
    // clients look for the image instead.
    let source = d.get(name).map_err(|e| Error::invalid(e.message))?;
    Ok((source, read_only))
}

/// `--volumes-from`: the host binds of each container named, where it binds them,
/// read-only as asked or as it has them; none at a destination in `own` (what the
/// new container mounts there itself wins).
pub fn inherited_binds(d: &super::Containers, from: &[String], own: &[&str]) -> Result<Vec<Bind>> {
    let mut out: Vec<Bind> = Vec::new();
    for spec in from {
        let (source, read_only) = volumes_from(d, spec)?;
        for mut b in source.record().all_binds() {
            let dst = b.destination.clone();
            if own.iter().any(|o| same_path(o, &dst)) || out.iter().any(|o| same_path(&o.destination, &dst)) {
                continue;
            }
            if let Some(ro) = read_only {
                b.read_only = ro;
                b.mode = String::new();
            }
            out.push(b);
        }
    }
    Ok(out)
}

/// `--volumes-from`: the volumes of each container named (`NAME[:ro|rw]`), mounted
/// where it mounts them, read-only as asked or as it has them.
pub fn inherited(d: &super::Containers, from: &[String]) -> Result<Vec<Wanted>> {
    let mut out = Vec::new();
    for spec in from {
        let (source, read_only) = volumes_from(d, spec)?;
        out.extend(source.record().volumes.iter().map(|v| Wanted {
            name: Some(v.name.clone()),
            destination: v.destination.clone(),
            read_only: read_only.unwrap_or(v.read_only),
            // Its content is the other container's already.
            nocopy: true,
            anonymous: v.anonymous,
            mode: String::new(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            subpath: v.subpath.clone(),
        }));
    }
    Ok(out)
}

/// Makes what `wanted` names that is missing; returns the mounts and the names of
/// the volumes made (for their `create` events). A failure removes what it made.
pub fn make(store: &volume::Store, wanted: Vec<Wanted>) -> Result<(Vec<VolumeMount>, Vec<String>)> {
    let mut mounts = Vec::new();
    let mut made: Vec<String> = Vec::new();
    for w in wanted {
        let anonymous = w.anonymous || w.name.is_none();
        let name = w.name.unwrap_or_else(super::names::new_id);
        match store.create(&name, w.labels, w.options, anonymous) {
            Ok((_, true)) => made.push(name.clone()),
            Ok((_, false)) => {}
            Err(e) => {
                for m in &made {
                    let _ = store.remove(m);
                }
                return Err(store_error(e));
            }
        }
        let source = store.data(&name).display().to_string();
        mounts.push(VolumeMount {
            name,
            source,
            destination: w.destination,
            read_only: w.read_only,
            nocopy: w.nocopy,
            anonymous,
            mode: w.mode,
            subpath: w.subpath,
        });
    }
    Ok((mounts, made))
}

/// The containers that mount volume `name` (running or not), by id.
pub fn users(d: &super::Containers, name: &str) -> Vec<String> {
    d.all().into_iter().filter(|c| c.record().volumes.iter().any(|v| v.name == name)).map(|c| c.id.clone()).collect()
}

/// Removes the anonymous volumes among `mounts` that no container mounts any more
/// (a removed container's, with `rm -v` or `--rm`). Blocking.
pub fn drop_anonymous(d: &super::Containers, mounts: &[VolumeMount]) {
    for m in mounts.iter().filter(|m| m.anonymous) {
        if !users(d, &m.name).is_empty() {
            continue;
        }
        match d.volumes.remove(&m.name) {
            Ok(()) => d.events.publish("volume", "destroy", &m.name, [("driver".to_string(), "local".to_string())].into()),
            Err(e) => tracing::warn!(volume = %m.name, "remove the anonymous volume: {e}"),
        }
    }
}

/// The volume store's error as the API's.
pub fn store_error(e: volume::Error) -> Error {
    match e {
        volume::Error::NotFound(name) => Error::not_found(format!("get {name}: no such volume")),
        e @ (volume::Error::InvalidName(_) | volume::Error::InvalidOption(_) | volume::Error::MissingOption(_)) => {
            Error::invalid(e.to_string())
        }
        e @ (volume::Error::Io(..) | volume::Error::Mount { .. }) => Error::internal(e.to_string()),
    }
}

/// The volume mounts that mount a subpath ([`volume::subpath`]), each resolved and
/// mounted on a staging path under `staging` (the run's directory): what the runtime
/// then binds is that inode, whatever the container does to the volume meanwhile.
pub fn stage_subpaths(store: &volume::Store, mounts: &[VolumeMount], staging: &Path) -> Result<Vec<Bind>> {
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate().filter(|(_, m)| !m.subpath.is_empty()) {
        let fd = volume::subpath::open(&store.data(&m.name), &m.subpath).map_err(|e| match e {
            volume::subpath::SubpathError::NotAccessible { .. } => Error::not_found(e.to_string()),
            volume::subpath::SubpathError::Escapes { .. } => Error::invalid(e.to_string()),
        })?;
        let is_dir = nix::sys::stat::fstat(&fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
        let at = staging.join(format!("subpath-{i}"));
        std::fs::create_dir_all(staging).map_err(|e| Error::internal(format!("create {}: {e}", staging.display())))?;
        let made = match is_dir {
            true => std::fs::create_dir_all(&at),
            false => std::fs::File::create(&at).map(drop),
        };
        made.map_err(|e| Error::internal(format!("create {}: {e}", at.display())))?;
        let flags = nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC;
        nix::mount::mount(Some(&runtime::rootfs::fd_path(&fd)), &at, None::<&str>, flags, None::<&str>)
            .map_err(|e| Error::internal(format!("mount the subpath {} of volume {}: {e}", m.subpath, m.name)))?;
        out.push(Bind {
            source: at.display().to_string(),
            destination: m.destination.clone(),
            mode: m.mode.clone(),
            read_only: m.read_only,
            propagation: Propagation::RPrivate,
            nocopy: true,
        });
    }
    Ok(out)
}

/// Undoes [`stage_subpaths`] for `mounts` (at the end of a run, and before the next
/// stages them again). Safe to repeat; nothing to do without a subpath.
pub fn unstage_subpaths(mounts: &[VolumeMount], staging: &Path) {
    for (i, _) in mounts.iter().enumerate().filter(|(_, m)| !m.subpath.is_empty()) {
        let at = staging.join(format!("subpath-{i}"));
        let _ = nix::mount::umount2(&at, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&at).or_else(|_| std::fs::remove_file(&at));
    }
}

/// A run's hold of its volumes that are mounted while used ([`volume::mounts`]):
/// released on drop unless the run started ([`Attached::keep`]); the run's end
/// releases them then.
pub struct Attached<'a> {
    store: &'a volume::Store,
    holder: String,
    names: Vec<String>,
}

impl Attached<'_> {
    pub fn keep(mut self) {
        self.names.clear();
    }
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        for n in &self.names {
            self.store.detach(n, &self.holder);
        }
    }
}

/// Mounts what `mounts` need mounted for container `id`'s run.
pub fn attach<'a>(store: &'a volume::Store, id: &str, mounts: &[VolumeMount]) -> Result<Attached<'a>> {
    let mut held = Attached { store, holder: id.to_string(), names: Vec::new() };
    for m in mounts {
        store.attach(&m.name, id).map_err(store_error)?;
        held.names.push(m.name.clone());
    }
    Ok(held)
}

/// Lets go of what [`attach`] mounted for container `id` (at the end of its run).
pub fn detach(store: &volume::Store, id: &str, mounts: &[VolumeMount]) {
    for m in mounts {
        store.detach(&m.name, id);
    }
}

/// The binds that mount `mounts` from `store`, for the runtime's spec.
pub fn binds(store: &volume::Store, mounts: &[VolumeMount]) -> Vec<Bind> {
    mounts
        .iter()
        .filter(|m| m.subpath.is_empty())
        .map(|m| Bind {
            source: store.data(&m.name).display().to_string(),
            destination: m.destination.clone(),
            mode: m.mode.clone(),
            read_only: m.read_only,
            propagation: Propagation::RPrivate,
            nocopy: m.nocopy,
        })
        .collect()
}

/// Docker's copy-up, before a start: each of `mounts` that is empty and may be
/// filled is given what the container's root (`rootfs`, mounted) holds at its path,
/// looked up inside the root. Returns how many volumes were filled.
pub fn copy_up(store: &volume::Store, mounts: &[VolumeMount], rootfs: &Path) -> std::io::Result<usize> {
    use std::os::fd::AsFd;
    let mut filled = 0;
    if mounts.iter().all(|m| m.nocopy || !m.subpath.is_empty()) {
        return Ok(0);
    }
    let root: std::os::fd::OwnedFd = std::fs::File::open(rootfs)?.into();
    // A subpath is a part of the volume the image's content is not meant for.
    for m in mounts.iter().filter(|m| !m.nocopy && m.subpath.is_empty()) {
        let data = store.data(&m.name);
        if std::fs::read_dir(&data)?.next().is_some() {
            continue;
        }
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let Ok(src) = runtime::rootfs::open_in_root(&root, Path::new(m.destination.trim_start_matches('/')), flags, 0) else { continue };
        let dst: std::os::fd::OwnedFd = std::fs::File::open(&data)?.into();
        volume::copy_up::copy_up(src.as_fd(), dst.as_fd())?;
        filled += 1;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_mounts_and_image_volumes_each_once() {
        let binds = [Bind::parse("data:/var/lib/db:ro").unwrap(), Bind::parse("/logs").unwrap(), Bind::parse("/srv:/srv").unwrap()];
        let mount = api::hostconfig::Mount {
            r#type: "volume".into(),
            source: "cache".into(),
            target: "/cache".into(),
            volume_options: Some(api::hostconfig::VolumeOptions { no_copy: true, ..Default::default() }),
            ..Default::default()
        };
        let image: BTreeMap<String, api::EmptyObject> = ["/var/lib/db", "/extra", "/tmpfs"].iter().map(|s| (s.to_string(), api::EmptyObject)).collect();
        let other = Wanted {
            name: Some("theirs".into()),
            destination: "/shared".into(),
            read_only: true,
            nocopy: true,
            anonymous: true,
            mode: String::new(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            subpath: String::new(),
        };
        let shadowed = Wanted { destination: "/logs".into(), ..other.clone() };
        let tmpfs: BTreeMap<String, String> = [("/tmpfs".to_string(), String::new())].into();
        let w = wanted(&binds, &[mount], &tmpfs, vec![other, shadowed], &image).unwrap();
        let shown: Vec<(Option<&str>, &str, bool, bool)> = w.iter().map(|w| (w.name.as_deref(), w.destination.as_str(), w.read_only, w.nocopy)).collect();
        assert_eq!(
            shown,
            [
                (Some("data"), "/var/lib/db", true, false),
                (None, "/logs", false, false),
                (Some("cache"), "/cache", false, true),
                (Some("theirs"), "/shared", true, true),
                (None, "/extra", false, false)
            ]
        );
        let bad = [Bind { source: "bad name".into(), ..Bind::parse("x:/x").unwrap() }];
        assert!(wanted(&bad, &[], &BTreeMap::new(), Vec::new(), &BTreeMap::new()).unwrap_err().message.contains("invalid characters"));
    }
}
