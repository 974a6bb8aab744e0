//! Archive entry names as map keys. A name is normalised lexically (`./a//b` → `a/b`,
//! `a/../b` → `b`); one that climbs above the archive root, holds a NUL, is not UTF-8
//! or is absurdly long or deep is refused. Links (symlinks, and hard links) are kept
//! as name → name and followed inside the archive only, so a load never touches the
//! filesystem by an archive path.

use std::collections::BTreeMap;

use super::{Error, Result};

/// Longest entry name accepted (Linux's PATH_MAX).
pub(super) const MAX_PATH: usize = 4096;
/// Most path components accepted.
const MAX_DEPTH: usize = 128;
/// Most links followed while resolving one name.
const MAX_HOPS: usize = 40;

/// The normalised form of `raw`: components joined by `/`, no `.`, `..` or empty
/// components, no leading `/` (an absolute name is taken from the archive root).
/// The empty string names the archive root.
pub(super) fn normalize(raw: &[u8]) -> Result<String> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    let bad = |reason: &str| Error::BadPath { path: shown(), reason: reason.to_string() };
    if raw.len() > MAX_PATH {
        return Err(bad(&format!("the name is longer than {MAX_PATH} bytes")));
    }
    if raw.contains(&0) {
        return Err(bad("the name contains a NUL byte"));
    }
    let s = std::str::from_utf8(raw).map_err(|_| bad("the name is not UTF-8"))?;
    let mut out: Vec<&str> = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(bad("it climbs above the archive root with `..`"));
                }
            }
            c => out.push(c),
        }
        if out.len() > MAX_DEPTH {
            return Err(bad(&format!("it has more than {MAX_DEPTH} components")));
        }
    }
    Ok(out.join("/"))
}

/// Where a link entry at `path` points, as a normalised archive name: a symlink's
/// relative target is taken from the link's directory, an absolute one from the
/// archive root; a hard link's target is always from the archive root.
pub(super) fn link_target(path: &str, target: &[u8], symlink: bool) -> Result<String> {
    let bad = |reason: String| Error::BadLink { path: path.to_string(), reason };
    if target.is_empty() {
        return Err(bad("the link target is empty".into()));
    }
    let joined: Vec<u8> = match (symlink, target.first(), path.rsplit_once('/')) {
        (true, Some(b'/'), _) | (false, _, _) | (true, _, None) => target.to_vec(),
        (true, _, Some((dir, _))) => [dir.as_bytes(), b"/", target].concat(),
    };
    normalize(&joined).map_err(|e| bad(format!("target {:?}: {e}", String::from_utf8_lossy(target))))
}

/// Follows `links` (name → target) in `path` and each of its parent directories
/// until no component is a link. Loops and chains longer than [`MAX_HOPS`] fail.
pub(super) fn resolve(links: &BTreeMap<String, String>, path: &str) -> Result<String> {
    let mut cur = path.to_string();
    let mut hops = 0;
    'outer: loop {
        let comps: Vec<&str> = cur.split('/').collect();
        for i in 1..=comps.len() {
            let prefix = comps[..i].join("/");
            if let Some(target) = links.get(&prefix) {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(Error::BadLink {
                        path: path.to_string(),
                        reason: format!("more than {MAX_HOPS} links deep (a link loop?)"),
                    });
                }
                let rest = &comps[i..];
                cur = if rest.is_empty() { target.clone() } else { format!("{target}/{}", rest.join("/")) };
                cur = normalize(cur.as_bytes())?;
                continue 'outer;
            }
        }
        return Ok(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_and_absurd_ones_are_refused() {
        assert_eq!(normalize(b"./a//b/").unwrap(), "a/b");
        assert_eq!(normalize(b"/manifest.json").unwrap(), "manifest.json");
        assert_eq!(normalize(b"a/../b").unwrap(), "b");
        assert_eq!(normalize(b"./").unwrap(), "");
        for bad in [&b"../etc/passwd"[..], b"a/../../b", b"a\0b", b"\xff"] {
            assert!(matches!(normalize(bad), Err(Error::BadPath { .. })), "{bad:?}");
        }
        assert!(normalize(&vec![b'a'; MAX_PATH + 1]).is_err());
        assert!(normalize("a/".repeat(200).as_bytes()).is_err());
    }

    #[test]
    fn links_resolve_inside_the_archive() {
        assert_eq!(link_target("x/layer.tar", b"../y/layer.tar", true).unwrap(), "y/layer.tar");
        assert_eq!(link_target("x/layer.tar", b"/y/layer.tar", true).unwrap(), "y/layer.tar");
        assert_eq!(link_target("x/layer.tar", b"y/layer.tar", false).unwrap(), "y/layer.tar");
        assert!(link_target("x/layer.tar", b"../../etc/passwd", true).is_err());
        let links = BTreeMap::from([
            ("a/layer.tar".to_string(), "b/layer.tar".to_string()),
            ("b".to_string(), "c".to_string()),
            ("loop1".to_string(), "loop2".to_string()),
            ("loop2".to_string(), "loop1".to_string()),
        ]);
        assert_eq!(resolve(&links, "a/layer.tar").unwrap(), "c/layer.tar");
        assert_eq!(resolve(&links, "plain").unwrap(), "plain");
        assert!(matches!(resolve(&links, "loop1"), Err(Error::BadLink { .. })));
    }
}
