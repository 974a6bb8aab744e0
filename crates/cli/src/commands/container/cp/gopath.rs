//! The path rules `docker cp` decides with: Go's `path/filepath` on unix
//! (`Clean`, `Dir`, `Base`, `Split`, `Join`, `Abs`, `EvalSymlinks`) and the
//! archive-copy helpers built on them (`SplitPathDirEntry`,
//! `PreserveTrailingDotOrSeparator`, `GetRebaseName`). Paths are raw bytes: a
//! file name need not be UTF-8, in a container or here.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::error::Error;

const SEP: u8 = b'/';

/// A byte path as a `Path` for the standard library.
pub fn as_path(p: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(p))
}

/// Go's `filepath.Clean`: the shortest lexically equal path (`a/./b/../c` →
/// `a/c`, `/..` → `/`, `""` → `.`).
pub fn clean(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b".".to_vec();
    }
    let rooted = path[0] == SEP;
    let n = path.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    // `dotdot` is where `..` can no longer back up past.
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(SEP);
        r = 1;
        dotdot = 1;
    }
    while r < n {
        let at_end = |i: usize| i == n || path[i] == SEP;
        if path[r] == SEP || (path[r] == b'.' && at_end(r + 1)) {
            // An empty element or `.`.
            r += 1;
        } else if path[r] == b'.' && path[r + 1] == b'.' && at_end(r + 2) {
            r += 2;
            if out.len() > dotdot {
                // Back up to the previous separator (or to `dotdot`).
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != SEP {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(SEP);
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(SEP);
            }
            while r < n && path[r] != SEP {
                out.push(path[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        out.push(b'.');
    }
    out
}

/// Go's `filepath.Join` of two elements: empty ones are skipped, the result cleaned.
pub fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Vec::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => clean(&[a, b"/", b].concat()),
    }
}

/// Go's `filepath.Split`: everything up to and including the last `/`, and the rest.
pub fn split(path: &[u8]) -> (&[u8], &[u8]) {
    let i = path.iter().rposition(|&b| b == SEP).map_or(0, |i| i + 1);
    path.split_at(i)
}

/// Go's `filepath.Dir`: the path without its last element, cleaned.
pub fn dir(path: &[u8]) -> Vec<u8> {
    clean(split(path).0)
}

/// Go's `filepath.Base`: the last element, trailing slashes ignored (`"/"` for
/// the root, `"."` for an empty path).
pub fn base(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b".".to_vec();
    }
    let end = path.iter().rposition(|&b| b != SEP).map_or(0, |i| i + 1);
    let trimmed = &path[..end];
    if trimmed.is_empty() {
        return b"/".to_vec();
    }
    split(trimmed).1.to_vec()
}

pub fn is_abs(path: &[u8]) -> bool {
    path.first() == Some(&SEP)
}

pub fn has_trailing_separator(path: &[u8]) -> bool {
    path.last() == Some(&SEP)
}

/// Whether the last element is `.` (`dir/.`).
pub fn specifies_current_dir(path: &[u8]) -> bool {
    base(path) == b"."
}

/// Whether the path says it is a directory: a trailing `/` or `/.`.
pub fn asserts_directory(path: &[u8]) -> bool {
    has_trailing_separator(path) || specifies_current_dir(path)
}

/// `cleaned` with the trailing `/.` or `/` that `original` had and cleaning dropped.
pub fn preserve_trailing_dot_or_separator(cleaned: &[u8], original: &[u8]) -> Vec<u8> {
    let mut out = cleaned.to_vec();
    if !specifies_current_dir(&out) && specifies_current_dir(original) {
        if !has_trailing_separator(&out) {
            out.push(SEP);
        }
        out.push(b'.');
    }
    if !has_trailing_separator(&out) && has_trailing_separator(original) {
        out.push(SEP);
    }
    out
}

/// The directory and the entry in it that a copy names, keeping a final `.`
/// (`a/b/.` → (`a/b`, `.`); `a/b/` → (`a`, `b`)).
pub fn split_path_dir_entry(path: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut cleaned = clean(path);
    if specifies_current_dir(path) {
        cleaned.extend_from_slice(b"/.");
    }
    (dir(&cleaned), base(&cleaned))
}

/// Go's `strings.Replace(s, old, new, 1)`: the first occurrence, anywhere; an
/// empty `old` matches at the start.
pub fn replace_first(s: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let at = if old.is_empty() { Some(0) } else { s.windows(old.len()).position(|w| w == old) };
    match at {
        Some(i) => [&s[..i], new, &s[i + old.len()..]].concat(),
        None => s.to_vec(),
    }
}

/// `resolved` (a symlink's target) with `path`'s trailing `/` or `/.`, and the
/// name its entries must take back when the base names differ.
pub fn rebase_name(path: &[u8], resolved: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut resolved = resolved.to_vec();
    if specifies_current_dir(path) && !specifies_current_dir(&resolved) {
        resolved.extend_from_slice(b"/.");
    }
    if has_trailing_separator(path) && !has_trailing_separator(&resolved) {
        resolved.push(SEP);
    }
    let name = (base(path) != base(&resolved)).then(|| base(path));
    (resolved, name)
}

/// The working directory as Go's `os.Getwd` gives it: `$PWD` when it names the
/// same directory (so a directory reached through a symlink keeps that name).
fn working_dir() -> Result<Vec<u8>, Error> {
    let dot = std::fs::metadata(".").map_err(|e| Error::path("stat", b".", e))?;
    if let Some(pwd) = std::env::var_os("PWD")
        && is_abs(pwd.as_bytes())
        && std::fs::metadata(&pwd).is_ok_and(|m| m.dev() == dot.dev() && m.ino() == dot.ino())
    {
        return Ok(pwd.as_bytes().to_vec());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::path("getwd", b".", e))?;
    Ok(cwd.as_os_str().as_bytes().to_vec())
}

/// Go's `filepath.Abs`.
pub fn abs(path: &[u8]) -> Result<Vec<u8>, Error> {
    if is_abs(path) { Ok(clean(path)) } else { Ok(join(&working_dir()?, path)) }
}

/// A local path made absolute, keeping a trailing `/` or `/.`.
pub fn resolve_local_path(path: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(preserve_trailing_dot_or_separator(&abs(path)?, path))
}

/// Go's `filepath.EvalSymlinks` on unix: every symlink resolved, component by
/// component, with its errors (`lstat /a/b: no such file or directory`, a bare
/// `not a directory` when a file is followed by more components).
pub fn eval_symlinks(path: &[u8]) -> Result<Vec<u8>, Error> {
    let mut path = path.to_vec();
    let mut vol_len = usize::from(is_abs(&path));
    let mut dest: Vec<u8> = path[..vol_len].to_vec();
    let mut links = 0;
    let mut end = vol_len;
    while end < path.len() {
        let mut start = end;
        while start < path.len() && path[start] == SEP {
            start += 1;
        }
        end = start;
        while end < path.len() && path[end] != SEP {
            end += 1;
        }
        let component = &path[start..end];
        if component.is_empty() {
            break;
        }
        if component == b"." {
            continue;
        }
        if component == b".." {
            let slash = dest[vol_len..].iter().rposition(|&b| b == SEP).map(|i| i + vol_len);
            match slash {
                Some(r) if &dest[r + 1..] != b".." => dest.truncate(r),
                // No slash (or a `..` that had to stay): keep this one too.
                _ => {
                    if dest.len() > vol_len {
                        dest.push(SEP);
                    }
                    dest.extend_from_slice(b"..");
                }
            }
            continue;
        }
        if !dest.is_empty() && dest[dest.len() - 1] != SEP {
            dest.push(SEP);
        }
        dest.extend_from_slice(component);
        let meta = std::fs::symlink_metadata(as_path(&dest)).map_err(|e| Error::path("lstat", &dest, e))?;
        if !meta.file_type().is_symlink() {
            if !meta.is_dir() && end < path.len() {
                return Err(Error::Errno(std::io::Error::from_raw_os_error(libc::ENOTDIR)));
            }
            continue;
        }
        links += 1;
        if links > 255 {
            return Err(Error::TooManyLinks);
        }
        let link = std::fs::read_link(as_path(&dest)).map_err(|e| Error::path("readlink", &dest, e))?;
        let link = link.as_os_str().as_bytes();
        path = [link, &path[end..]].concat();
        if is_abs(link) {
            dest = b"/".to_vec();
            vol_len = 1;
            end = 1;
        } else {
            // A relative target replaces the link's own element.
            match dest[vol_len..].iter().rposition(|&b| b == SEP) {
                Some(r) => dest.truncate(r + vol_len),
                None => dest.truncate(vol_len),
            }
            end = 0;
        }
    }
    Ok(clean(&dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Vec<u8>) -> String {
        String::from_utf8(v).expect("utf-8")
    }

    #[test]
    fn cleans_like_go() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("//", "/"),
            ("a/b/", "a/b"),
            ("a/./b", "a/b"),
            ("a/b/../c", "a/c"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("a/../../b", "../b"),
            ("/../a", "/a"),
            ("/a/b/..", "/a"),
            ("./", "."),
            ("/.", "/"),
            ("abc/def/../../..", ".."),
            ("..", ".."),
            ("../..", "../.."),
            ("a/..", "."),
        ] {
            assert_eq!(s(clean(input.as_bytes())), want, "{input:?}");
        }
    }

    #[test]
    fn splits_like_go() {
        assert_eq!(s(dir(b"/a/b")), "/a");
        assert_eq!(s(dir(b"a")), ".");
        assert_eq!(s(dir(b"/a/b/")), "/a/b");
        assert_eq!(s(base(b"/a/b/")), "b");
        assert_eq!(s(base(b"/")), "/");
        assert_eq!(s(base(b"")), ".");
        assert_eq!(split(b"/a/b"), (&b"/a/"[..], &b"b"[..]));
        assert_eq!(split(b"/a/b/"), (&b"/a/b/"[..], &b""[..]));
        assert_eq!(s(join(b"/a", b"/etc")), "/a/etc");
        assert_eq!(s(join(b"/a/b", b"../../..")), "/");
    }

    #[test]
    fn archive_copy_path_helpers() {
        let pair = |(a, b): (Vec<u8>, Vec<u8>)| (s(a), s(b));
        assert_eq!(pair(split_path_dir_entry(b"/a/b/.")), ("/a/b".into(), ".".into()));
        assert_eq!(pair(split_path_dir_entry(b"/a/b/")), ("/a".into(), "b".into()));
        assert_eq!(pair(split_path_dir_entry(b"/")), ("/".into(), "/".into()));
        assert_eq!(pair(split_path_dir_entry(b"x")), (".".into(), "x".into()));
        assert_eq!(s(preserve_trailing_dot_or_separator(b"/a/b", b"b/.")), "/a/b/.");
        assert_eq!(s(preserve_trailing_dot_or_separator(b"/a/b", b"b/")), "/a/b/");
        assert_eq!(s(preserve_trailing_dot_or_separator(b"/", b"./")), "/./");
        assert!(asserts_directory(b"x/") && asserts_directory(b"x/.") && !asserts_directory(b"x"));
        assert_eq!(s(replace_first(b"data/sub/data", b"data", b"x")), "x/sub/data");
        assert_eq!(s(replace_first(b"bin/sh", b"", b"root")), "rootbin/sh");
        assert_eq!(s(replace_first(b"abc", b"z", b"y")), "abc");
        let (p, n) = rebase_name(b"/d/link/", b"/d/target");
        assert_eq!((s(p), n.map(s)), ("/d/target/".into(), Some("link".into())));
        let (p, n) = rebase_name(b"/d/link/.", b"/d/target");
        assert_eq!((s(p), n), ("/d/target/.".into(), None));
    }

    #[test]
    fn evaluates_symlinks_like_go() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path().canonicalize().expect("canonical");
        let r = root.as_os_str().as_bytes();
        std::fs::create_dir(root.join("dir")).expect("dir");
        std::fs::write(root.join("dir/f"), "x").expect("file");
        std::os::unix::fs::symlink("dir", root.join("rel")).expect("link");
        std::os::unix::fs::symlink(root.join("dir/f"), root.join("abs")).expect("link");
        std::os::unix::fs::symlink("../dir/../rel/f", root.join("dir/up")).expect("link");
        let eval = |p: &str| eval_symlinks(&[r, p.as_bytes()].concat()).map(s).map_err(|e| e.to_string());
        let r = s(r.to_vec());
        assert_eq!(eval("/rel/f"), Ok(format!("{r}/dir/f")));
        assert_eq!(eval("/abs"), Ok(format!("{r}/dir/f")));
        assert_eq!(eval("/dir/up"), Ok(format!("{r}/dir/f")));
        assert_eq!(eval("/rel/"), Ok(format!("{r}/dir")));
        assert_eq!(eval("/dir/f/"), Err("not a directory".into()));
        assert_eq!(eval("/nope/x"), Err(format!("lstat {r}/nope: no such file or directory")));
    }
}
