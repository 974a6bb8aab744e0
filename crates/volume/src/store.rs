//! Volumes on disk: `<root>/<name>/_data` (what containers mount) and
//! `<root>/<name>/volume.json` (its record). A volume is made whole under a hidden
//! temporary name and renamed into place; it is removed by renaming it out of the
//! way first, and kept as a spare for the next create when it can be emptied
//! ([`crate::spares`]). Whatever a crash leaves under those hidden names is removed
//! (or emptied, for a spare) at open.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::background::Job;
use crate::error::{Error, Result};
use crate::layout::{DATA, RECORD};
use crate::spares::{self, Spares};

/// A volume's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The local driver's options (`type`, `device`, `o`), as given.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Made for a container's `-v /path` or its image's `VOLUME`, named by a random id:
    /// removed with that container when it is removed with `-v` or ran with `--rm`.
    #[serde(default)]
    pub anonymous: bool,
}

/// The volumes under one root.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    /// Who holds the volumes mounted with options ([`crate::mounts`]).
    holders: std::sync::Arc<crate::mounts::Holders>,
    /// Syncs and deletions done off the caller's path ([`crate::background`]).
    background: std::sync::Arc<crate::background::Background>,
    /// Removed volumes' directories, emptied, to be the next made.
    spares: std::sync::Arc<Spares>,
}

/// Docker's rule for a local volume's name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl Store {
    /// The store at `root` (made if missing), with what a crash left half-made or
    /// half-removed cleared away.
    ///
    /// A volume found without a readable record (made just before a power loss, its
    /// record not yet on disk) gets a new one when its data directory is there, and
    /// is removed when not (it was never handed out whole).
    pub fn open(root: &Path) -> std::io::Result<Store> {
        std::fs::create_dir_all(root)?;
        let spares = std::sync::Arc::new(Spares::default());
        let background = std::sync::Arc::new(crate::background::Background::new(spares.clone()));
        let store = Store { root: root.to_path_buf(), holders: Default::default(), background, spares };
        for entry in std::fs::read_dir(root)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(spares::PREFIX) {
                // Emptied again: a crash may have stopped it half way.
                store.background.push(root, Job::Recycle(entry.path()));
                continue;
            }
            if name.starts_with('.') {
                let _ = std::fs::remove_dir_all(entry.path());
                continue;
            }
            if !valid_name(&name) || store.get(&name).is_ok() {
                continue;
            }
            if entry.path().join(DATA).is_dir() {
                let volume = Volume { name: name.clone(), created: Utc::now(), labels: BTreeMap::new(), options: BTreeMap::new(), anonymous: false };
                let record = serde_json::to_vec_pretty(&volume).map_err(std::io::Error::other)?;
                atomic_file::write(&entry.path().join(RECORD), &record, atomic_file::Durability::Durable)?;
            } else {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(store)
    }

    /// Waits for the syncs and deletions still in the background.
    pub fn settle(&self) {
        self.background.settle();
    }

    /// `holder` uses volume `name` from now on: a volume with mount options is
    /// mounted for its first holder ([`crate::mounts`]).
    pub fn attach(&self, name: &str, holder: &str) -> Result<()> {
        let v = self.get(name)?;
        self.holders.attach(name, &self.data(name), &v.options, holder)
    }

    /// `holder` no longer uses volume `name`: unmounted when it was the last. Safe to
    /// repeat.
    pub fn detach(&self, name: &str, holder: &str) {
        self.holders.detach(name, &self.data(name), holder);
    }

    /// After a daemon restart: the running containers hold their volumes again
    /// (`live`: volume and container pairs), already mounted; a volume mounted with
    /// no holder (its containers ended while no daemon ran) is unmounted.
    pub fn restore_mounts(&self, live: impl IntoIterator<Item = (String, String)>) {
        let mounted: Vec<(String, PathBuf)> =
            self.list().into_iter().filter(|v| !v.options.is_empty()).map(|v| (v.name.clone(), self.data(&v.name))).collect();
        self.holders.restore(live, &mounted);
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the volume `name`'s data is: what containers mount.
    pub fn data(&self, name: &str) -> PathBuf {
        self.root.join(name).join(DATA)
    }

    /// Makes the volume `name`; one that exists is returned as it is (Docker's create
    /// is idempotent for the local driver), with `false`: whether this call made it.
    /// Checked before anything is made.
    pub fn create(&self, name: &str, labels: BTreeMap<String, String>, options: BTreeMap<String, String>, anonymous: bool) -> Result<(Volume, bool)> {
        if !valid_name(name) {
            return Err(Error::InvalidName(name.to_string()));
        }
        crate::mounts::check_options(&options)?;
        if let Ok(v) = self.get(name) {
            return Ok((v, false));
        }
        let volume = Volume { name: name.to_string(), created: Utc::now(), labels, options, anonymous };
        let io = |e| Error::Io(name.to_string(), e);
        let record = serde_json::to_vec_pretty(&volume).map_err(|e| io(std::io::Error::other(e)))?;
        // Whole or absent after a crash (the rename); on the disk shortly after, in
        // the background's batch.
        let path = self.root.join(name);
        let made = match self.spares.take() {
            Some(spare) => reuse(&spare, &record, &path).map(|()| Job::SyncRecord(path.join(RECORD))).inspect_err(|_| self.background.push(&self.root, Job::Delete(spare))),
            None => self.make(name, &record).map(|()| Job::Sync(path.join(RECORD))),
        };
        match made {
            Ok(sync) => {
                self.background.push(&self.root, sync);
                Ok((volume, true))
            }
            // Made by someone else meanwhile: theirs is the volume.
            Err(e) => self.get(name).map(|v| (v, false)).or(Err(io(e))),
        }
    }

    /// A volume made from nothing, under a hidden name, then renamed to `name`.
    fn make(&self, name: &str, record: &[u8]) -> std::io::Result<()> {
        let tmp = self.root.join(format!(".new-{name}-{}", unique()));
        let made = (|| {
            std::fs::create_dir(&tmp)?;
            // As Docker's: the data directory is open to the container's users.
            std::fs::create_dir(tmp.join(DATA))?;
            std::fs::write(tmp.join(RECORD), record)?;
            std::fs::rename(&tmp, self.root.join(name))
        })();
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        made
    }

    /// Whether a create now would use a spare (no inode made: a rename's cost).
    pub fn has_spare(&self) -> bool {
        self.spares.has_one()
    }

    /// The volume `name`.
    pub fn get(&self, name: &str) -> Result<Volume> {
        if !valid_name(name) {
            return Err(Error::NotFound(name.to_string()));
        }
        let bytes = std::fs::read(self.root.join(name).join(RECORD)).map_err(|_| Error::NotFound(name.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Io(name.to_string(), std::io::Error::other(e)))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Vec<Volume> {
        let mut out: Vec<Volume> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| self.get(&e.file_name().to_string_lossy()).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Removes the volume `name` and its data. Whether it is in use is the caller's
    /// to know.
    pub fn remove(&self, name: &str) -> Result<()> {
        let v = self.get(name)?;
        // A mount left by a daemon that died with the volume in use: its files are
        // the device's, not the volume's to delete.
        if !v.options.is_empty() && crate::mounts::is_mounted(&self.data(name)) {
            let _ = nix::mount::umount2(&self.data(name), nix::mount::MntFlags::MNT_DETACH);
        }
        // Gone for users with the rename; its files are deleted in the background
        // (or, after a crash, at the next open), its directory kept as a spare
        // unless it was a mount's.
        let (prefix, job): (&str, fn(PathBuf) -> Job) = match v.options.is_empty() {
            true => (spares::PREFIX, Job::Recycle),
            false => (".gone-", Job::Delete),
        };
        let gone = self.root.join(format!("{prefix}{}", unique()));
        std::fs::rename(self.root.join(name), &gone).map_err(|e| Error::Io(name.to_string(), e))?;
        self.background.push(&self.root, job(gone));
        Ok(())
    }

    /// The bytes the volume's data holds (files counted once per inode).
    pub fn size(&self, name: &str) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let mut seen = std::collections::HashSet::new();
        let mut total = 0;
        let mut stack = vec![self.data(name)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let Ok(meta) = entry.path().symlink_metadata() else { continue };
                if meta.is_dir() {
                    stack.push(entry.path());
                } else if seen.insert((meta.dev(), meta.ino())) {
                    total += meta.len();
                }
            }
        }
        total
    }
}

/// The spare `dir` (empty, as new) made the volume at `to`, with `record`: the record
/// rewritten in place and the directory renamed, no inode made.
fn reuse(dir: &Path, record: &[u8], to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new().write(true).open(dir.join(RECORD))?;
    file.write_all_at(record, 0)?;
    file.set_len(record.len() as u64)?;
    drop(file);
    // Made now, as far as anyone looking at its times can tell.
    let now = nix::sys::time::TimeSpec::UTIME_NOW;
    nix::sys::stat::utimensat(nix::fcntl::AT_FDCWD, &dir.join(DATA), &now, &now, nix::sys::stat::UtimensatFlags::NoFollowSymlink)?;
    std::fs::rename(dir, to)
}

/// A suffix no other call of this process uses.
fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_are_made_listed_and_removed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (v, made) = store.create("data", [("app".to_string(), "web".to_string())].into(), BTreeMap::new(), false).unwrap();
        assert!(made);
        assert!(store.data("data").is_dir());
        std::fs::write(store.data("data").join("f"), b"12345").unwrap();
        // Made again: the same volume, content kept.
        assert_eq!(store.create("data", BTreeMap::new(), BTreeMap::new(), false).unwrap(), (v, false));
        assert_eq!(store.size("data"), 5);
        assert_eq!(store.list().iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["data"]);
        store.remove("data").unwrap();
        assert!(matches!(store.get("data"), Err(Error::NotFound(_))));
        store.settle();
        // Its directory is a spare, emptied: the next volume made is it, with nothing
        // of the old one's, the old record's longer text included.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].file_name().unwrap().to_str().unwrap().starts_with(".spare-"), "{left:?}");
        let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
        let spare_inode = inode(&left[0]);
        let (w, made) = store.create("ww", BTreeMap::new(), BTreeMap::new(), false).unwrap();
        assert!(made);
        assert_eq!(inode(&dir.path().join("ww")), spare_inode, "the spare was used");
        assert_eq!(std::fs::read_dir(store.data("ww")).unwrap().count(), 0, "empty");
        assert_eq!(store.get("ww").unwrap(), w);
        assert!(store.list().iter().map(|v| v.name.as_str()).eq(["ww"]));
        // Another, with no spare left: made from nothing.
        store.create("xx", BTreeMap::new(), BTreeMap::new(), false).unwrap();
        assert!(store.data("xx").is_dir());
    }

    #[test]
    fn spares_left_by_a_crash_are_emptied_at_open_and_used() {
        let dir = tempfile::tempdir().unwrap();
        let spare = dir.path().join(".spare-9-9");
        std::fs::create_dir_all(spare.join("_data/half")).unwrap();
        std::fs::write(spare.join("_data/half/f"), b"old").unwrap();
        std::fs::write(spare.join("volume.json"), b"{}").unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.settle();
        assert!(store.list().is_empty(), "a spare is no volume");
        store.create("new", BTreeMap::new(), BTreeMap::new(), false).unwrap();
        assert!(!spare.exists(), "used");
        assert_eq!(std::fs::read_dir(store.data("new")).unwrap().count(), 0);
        // A mount volume's directory is never kept: deleted.
        let opts: BTreeMap<String, String> = [("type".to_string(), "tmpfs".to_string()), ("device".to_string(), "tmpfs".to_string())].into();
        store.create("mnt", BTreeMap::new(), opts, false).unwrap();
        store.remove("mnt").unwrap();
        store.remove("new").unwrap();
        store.settle();
        let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.len() == 1 && names[0].starts_with(".spare-"), "{names:?}");
    }

    #[test]
    fn bad_names_and_options_are_refused_and_leftovers_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for bad in ["", "a", "-x", "../up", "a/b", ".hidden", "x y"] {
            assert!(matches!(store.create(bad, BTreeMap::new(), BTreeMap::new(), false), Err(Error::InvalidName(_))), "{bad}");
        }
        let opts = [("bogus".to_string(), "1".to_string())].into();
        assert!(matches!(store.create("ok", BTreeMap::new(), opts, false), Err(Error::InvalidOption(_))));
        assert!(store.list().is_empty());
        // A crash's leftovers (hidden names) go at the next open.
        std::fs::create_dir_all(dir.path().join(".new-x-1/_data")).unwrap();
        std::fs::create_dir_all(dir.path().join(".gone-y-1")).unwrap();
        Store::open(dir.path()).unwrap();
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn a_volume_found_without_its_record_is_repaired() {
        let dir = tempfile::tempdir().unwrap();
        // A power loss took the record of one with data, and of one half made.
        std::fs::create_dir_all(dir.path().join("kept/_data")).unwrap();
        std::fs::write(dir.path().join("kept/_data/f"), b"x").unwrap();
        std::fs::write(dir.path().join("kept/volume.json"), b"").unwrap();
        std::fs::create_dir_all(dir.path().join("half")).unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.list().iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["kept"]);
        assert_eq!(store.size("kept"), 1);
        assert!(!dir.path().join("half").exists());
    }
}
