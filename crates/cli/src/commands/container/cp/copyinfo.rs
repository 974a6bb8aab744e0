//! Where a copy's entries land: what the source and destination are
//! (`CopyInfoSourcePath`, `CopyInfoDestinationPath`), and the directory to
//! extract into with the renaming that gives the copy its name
//! (`PrepareArchiveCopy`), as docker decides them.

use std::os::unix::ffi::OsStrExt;

use super::error::Error;
use super::gopath::{
    as_path, asserts_directory, base, eval_symlinks, has_trailing_separator, is_abs, join, rebase_name, replace_first,
    split, split_path_dir_entry,
};

/// A source or destination of a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyInfo {
    pub path: Vec<u8>,
    pub exists: bool,
    pub is_dir: bool,
    /// The name the source's entries take instead of its own base name (a
    /// followed symlink's name).
    pub rebase_name: Option<Vec<u8>>,
}

/// The rewriting of archive entry names that docker's `RebaseArchiveEntries`
/// does: the first occurrence of `old` in a name becomes `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    old: Vec<u8>,
    new: Vec<u8>,
}

impl Rename {
    pub fn new(old: &[u8], new: &[u8]) -> Rename {
        // The root as the old base: names start with `/` already, so nothing is
        // replaced and the new name goes in front.
        let old = if old == b"/" { Vec::new() } else { old.to_vec() };
        Rename { old, new: new.to_vec() }
    }

    pub fn apply(&self, name: &[u8]) -> Vec<u8> {
        replace_first(name, &self.old, &self.new)
    }
}

/// Renames applied in order.
pub fn rename_all(renames: &[Rename], name: &[u8]) -> Vec<u8> {
    renames.iter().fold(name.to_vec(), |n, r| r.apply(&n))
}

/// A local copy source (absolute): symlinks before the last element resolved
/// (all of them with `follow_link`, the result renamed back to the link's name);
/// it must exist.
pub fn source_info(path: &[u8], follow_link: bool) -> Result<CopyInfo, Error> {
    let (resolved, rebase) = if follow_link {
        let resolved = eval_symlinks(path)?;
        rebase_name(path, &resolved)
    } else {
        let (dir, name) = split(path);
        let resolved = [&eval_symlinks(dir)?[..], b"/", name].concat();
        // `link/` copies what the link leads to, named after the link.
        let rebase = (has_trailing_separator(path) && base(path) != base(&resolved)).then(|| base(path));
        (resolved, rebase)
    };
    let meta = std::fs::symlink_metadata(as_path(&resolved)).map_err(|e| Error::path("lstat", &resolved, e))?;
    Ok(CopyInfo { path: resolved, exists: true, is_dir: meta.is_dir(), rebase_name: rebase })
}

/// A local copy destination (absolute): a symlink is followed (10 times at
/// most); one that is missing needs an existing parent directory.
pub fn destination_info(path: &[u8]) -> Result<CopyInfo, Error> {
    const MAX_LINKS: usize = 10;
    let original = path;
    let mut path = path.to_vec();
    let mut stat = std::fs::symlink_metadata(as_path(&path));
    let mut followed = 0;
    while let Ok(meta) = &stat
        && meta.file_type().is_symlink()
    {
        if followed > MAX_LINKS {
            return Err(Error::TooManySymlinks(original.to_vec()));
        }
        followed += 1;
        let target = std::fs::read_link(as_path(&path)).map_err(|e| Error::path("readlink", &path, e))?;
        let target = target.as_os_str().as_bytes().to_vec();
        path = if is_abs(&target) { target } else { join(&split_path_dir_entry(&path).0, &target) };
        stat = std::fs::symlink_metadata(as_path(&path));
    }
    match stat {
        Ok(meta) => Ok(CopyInfo { path, exists: true, is_dir: meta.is_dir(), rebase_name: None }),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::path("lstat", &path, e)),
        Err(_) => {
            let parent = split_path_dir_entry(&path).0;
            let meta = std::fs::metadata(as_path(&parent)).map_err(|e| Error::path("stat", &parent, e))?;
            if !meta.is_dir() {
                return Err(Error::NotDirectory);
            }
            Ok(CopyInfo { path, ..CopyInfo::default() })
        }
    }
}

/// The directory to extract `src`'s archive into so that it becomes `dst`, and
/// the renaming its entries need.
pub fn prepare(src: &CopyInfo, dst: &CopyInfo) -> Result<(Vec<u8>, Option<Rename>), Error> {
    let (dst_dir, dst_base) = split_path_dir_entry(&dst.path);
    let src_base = match &src.rebase_name {
        Some(name) => name.clone(),
        None => split_path_dir_entry(&src.path).1,
    };
    let renamed = || Ok((dst_dir.clone(), Some(Rename::new(&src_base, &dst_base))));
    match (dst.exists, dst.is_dir, src.is_dir) {
        // Into an existing directory: entries as they are.
        (true, true, _) => Ok((dst.path.clone(), None)),
        (true, false, true) => Err(Error::CannotCopyDir),
        // Over an existing file, or a new name.
        (true, false, false) | (false, _, true) => renamed(),
        (false, _, false) if asserts_directory(&dst.path) => Err(Error::DirNotExists),
        (false, _, false) => renamed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(path: &str, exists: bool, is_dir: bool) -> CopyInfo {
        CopyInfo { path: path.as_bytes().to_vec(), exists, is_dir, rebase_name: None }
    }

    fn prepared(src: &CopyInfo, dst: &CopyInfo, name: &str) -> Result<(String, String), String> {
        prepare(src, dst)
            .map(|(dir, r)| {
                let renamed = r.map_or_else(|| name.as_bytes().to_vec(), |r| r.apply(name.as_bytes()));
                (String::from_utf8_lossy(&dir).into_owned(), String::from_utf8_lossy(&renamed).into_owned())
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn decides_like_prepare_archive_copy() {
        let file = info("/c/data/a.txt", true, false);
        let dir = info("/c/data", true, true);
        let contents = info("/c/data/.", true, true);
        // Into an existing directory, unchanged.
        assert_eq!(prepared(&file, &info("/out", true, true), "a.txt"), Ok(("/out".into(), "a.txt".into())));
        // Over a file, or to a new name: the parent, renamed.
        assert_eq!(prepared(&file, &info("/out/f", true, false), "a.txt"), Ok(("/out".into(), "f".into())));
        assert_eq!(prepared(&file, &info("/out/new", false, false), "a.txt"), Ok(("/out".into(), "new".into())));
        assert_eq!(
            prepared(&dir, &info("/out/nd", false, false), "data/sub/b"),
            Ok(("/out".into(), "nd/sub/b".into()))
        );
        assert_eq!(prepared(&contents, &info("/out/nd", false, false), "./b"), Ok(("/out".into(), "nd/b".into())));
        assert_eq!(prepared(&dir, &info("/out/f", true, false), "x"), Err("cannot copy directory".into()));
        assert_eq!(prepared(&file, &info("/out/n/", false, false), "x"), Err("no such directory".into()));
        assert_eq!(prepared(&file, &info("/out/n/.", false, false), "x"), Err("no such directory".into()));
        // A followed link's entries are renamed from its own name.
        let mut linked = info("/c/data/sub", true, true);
        linked.rebase_name = Some(b"dlink".to_vec());
        assert_eq!(prepared(&linked, &info("/out/x", false, false), "dlink/b"), Ok(("/out".into(), "x/b".into())));
        // The root's entries get the new name in front.
        assert_eq!(
            prepared(&info("/", true, true), &info("/out/r", false, false), "/bin"),
            Ok(("/out".into(), "r/bin".into()))
        );
    }

    #[test]
    fn destinations_follow_links_and_need_a_parent() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path().as_os_str().as_bytes().to_vec();
        let p = |s: &str| [&root[..], s.as_bytes()].concat();
        std::fs::create_dir(t.path().join("d")).expect("dir");
        std::fs::write(t.path().join("f"), "x").expect("file");
        std::os::unix::fs::symlink("d", t.path().join("dl")).expect("link");
        std::os::unix::fs::symlink("nowhere", t.path().join("broken")).expect("link");
        std::os::unix::fs::symlink("loop", t.path().join("loop")).expect("link");
        assert_eq!(
            destination_info(&p("/dl")).expect("dl"),
            CopyInfo { path: p("/d"), exists: true, is_dir: true, rebase_name: None }
        );
        assert_eq!(destination_info(&p("/broken")).expect("broken").path, p("/nowhere"));
        assert_eq!(destination_info(&p("/new")).expect("new"), CopyInfo { path: p("/new"), ..CopyInfo::default() });
        let err = |s: &str| destination_info(&p(s)).expect_err(s).to_string();
        assert_eq!(err("/f/x"), format!("lstat {}/f/x: not a directory", t.path().display()));
        assert_eq!(err("/no/x"), format!("stat {}/no: no such file or directory", t.path().display()));
        assert_eq!(err("/loop"), format!("too many symlinks in {}/loop", t.path().display()));
    }
}
