//! Hostile layers. Each test applies a tar built to escape the target directory and
//! then checks the directory beside it (standing for the host) is exactly as it was:
//! the test fails if any escape succeeds, whether apply returned an error or not.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::super::testutil::{Tar, is_root, tempdir};
use super::super::{ApplyOptions, ApplyStats, Error, Result};
use super::{apply_tar, delete_mode};

/// `<tmp>/target` (where layers go) beside `<tmp>/outside` (the "host", holding
/// `host-file`).
struct Host {
    _tmp: tempfile::TempDir,
    target: PathBuf,
    outside: PathBuf,
}

impl Host {
    fn new() -> Host {
        let tmp = tempdir();
        let target = tmp.path().join("target");
        let outside = tmp.path().join("outside");
        fs::create_dir(&target).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("host-file"), b"host").unwrap();
        fs::set_permissions(outside.join("host-file"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o700)).unwrap();
        Host { _tmp: tmp, target, outside }
    }

    fn out(&self) -> &str {
        self.outside.to_str().unwrap()
    }

    fn apply(&self, tar: &[u8], opts: &ApplyOptions) -> Result<ApplyStats> {
        let r = apply_tar(tar, &self.target, opts);
        self.assert_untouched();
        r
    }

    /// The host dir holds exactly `host-file`, unchanged, unlinked, and the target is
    /// still a plain directory.
    fn assert_untouched(&self) {
        let names: Vec<_> = fs::read_dir(&self.outside).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["host-file"], "something was created outside the target");
        let md = fs::symlink_metadata(self.outside.join("host-file")).unwrap();
        assert!(md.is_file());
        assert_eq!(md.nlink(), 1, "the host file was hard-linked");
        assert_eq!(md.mode() & 0o7777, 0o644, "the host file was chmodded");
        assert_eq!((md.uid(), md.gid()), (0, 0), "the host file was chowned");
        assert_eq!(fs::read(self.outside.join("host-file")).unwrap(), b"host", "the host file was written");
        assert_eq!(fs::metadata(&self.outside).unwrap().mode() & 0o7777, 0o700, "the host dir was chmodded");
        assert!(fs::symlink_metadata(&self.target).unwrap().is_dir(), "the target root was replaced");
    }
}

/// The apply was refused with an error naming `entry` and containing `why`.
fn assert_refused(r: Result<ApplyStats>, entry: &str, why: &str) {
    match r {
        Err(Error::Refused { entry: e, reason }) => {
            assert_eq!(e, entry);
            assert!(reason.contains(why), "reason {reason:?} lacks {why:?}");
            let msg = Error::Refused { entry: e, reason }.to_string();
            assert!(msg.contains(&format!("{entry:?}")), "{msg}");
        }
        other => panic!("expected {entry:?} refused ({why}), got {other:?}"),
    }
}

#[test]
fn dotdot_paths_are_refused() {
    if !is_root() {
        return;
    }
    for name in ["../outside/pwned", "a/../../outside/pwned", "./../outside/host-file"] {
        let h = Host::new();
        let tar = Tar::new().file(name, 0o644, b"pwned").finish();
        assert_refused(h.apply(&tar, &ApplyOptions::default()), name, "`..`");
    }
}

#[test]
fn absolute_paths_are_confined() {
    if !is_root() {
        return;
    }
    let h = Host::new();
    let name = format!("{}/pwned", h.out());
    let tar = Tar::new().file(&name, 0o644, b"pwned").finish();
    h.apply(&tar, &ApplyOptions::default()).unwrap();
    let inside = h.target.join(name.trim_start_matches('/'));
    assert_eq!(fs::read(inside).unwrap(), b"pwned");
}

#[test]
fn files_through_symlinks_stay_inside() {
    if !is_root() {
        return;
    }
    let cases: Vec<(String, &str)> = vec![
        ("OUT".into(), "a/pwned"),           // absolute symlink to the host dir
        ("../outside".into(), "a/pwned"),    // relative symlink climbing out
        ("../../..".into(), "a/pwned"),      // climbing to /
        ("OUT".into(), "a/sub/pwned"),       // a directory to create through it
        ("OUT/host-file".into(), "a"),       // a file written over the symlink itself
    ];
    for (target, entry) in cases {
        let h = Host::new();
        let target = target.replace("OUT", h.out());
        let tar = Tar::new().symlink("a", &target).file(entry, 0o600, b"pwned").finish();
        let r = h.apply(&tar, &ApplyOptions::default());
        if entry == "a/pwned" && target == "../../.." {
            // Confined: `..` stops at the target root.
            r.unwrap();
            assert_eq!(fs::read(h.target.join("pwned")).unwrap(), b"pwned");
        } else if entry == "a" {
            r.unwrap();
            assert!(fs::symlink_metadata(h.target.join("a")).unwrap().is_file());
        } else {
            assert!(r.is_err(), "{target} {entry}: {r:?}");
        }
    }
}

#[test]
fn directory_entries_never_chmod_through_symlinks() {
    if !is_root() {
        return;
    }
    let h = Host::new();
    let tar = Tar::new().symlink("d", h.out()).dir("d/", 0o777).file("d/f", 0o644, b"in").finish();
    h.apply(&tar, &ApplyOptions::default()).unwrap();
    let d = fs::symlink_metadata(h.target.join("d")).unwrap();
    assert!(d.is_dir() && d.mode() & 0o7777 == 0o777);
    assert_eq!(fs::read(h.target.join("d/f")).unwrap(), b"in");
}

#[test]
fn hard_links_never_reach_host_files() {
    if !is_root() {
        return;
    }
    let h = Host::new();
    let abs = format!("{}/host-file", h.out());
    // Absolute target: resolved inside the layer, where it does not exist.
    let tar = Tar::new().hardlink("h", &abs).finish();
    assert_refused(h.apply(&tar, &ApplyOptions::default()), "h", "does not exist");
    // Climbing target.
    let tar = Tar::new().hardlink("h", "../outside/host-file").finish();
    assert_refused(h.apply(&tar, &ApplyOptions::default()), "h", "`..`");
    // Through a symlink to the host dir, as the target...
    let tar = Tar::new().symlink("s", h.out()).hardlink("h", "s/host-file").finish();
    assert_refused(h.apply(&tar, &ApplyOptions::default()), "h", "does not exist");
    // ...and as the link's own parent.
    let h2 = Host::new();
    let tar = Tar::new().file("x", 0o644, b"x").symlink("s", h2.out()).hardlink("s/h", "x").finish();
    assert!(h2.apply(&tar, &ApplyOptions::default()).is_err());
}

#[test]
fn hard_link_to_a_symlink_links_the_symlink() {
    if !is_root() {
        return;
    }
    let h = Host::new();
    let abs = format!("{}/host-file", h.out());
    // `h` becomes a second name of the symlink, not of the host file; then a file
    // entry `h` replaces that name instead of writing through it.
    let tar = Tar::new().symlink("s", &abs).hardlink("h", "s").finish();
    h.apply(&tar, &ApplyOptions::default()).unwrap();
    let (s, l) = (fs::symlink_metadata(h.target.join("s")).unwrap(), fs::symlink_metadata(h.target.join("h")).unwrap());
    assert!(l.file_type().is_symlink() && l.ino() == s.ino() && s.nlink() == 2);
    let tar = Tar::new().file("h", 0o644, b"pwned").finish();
    h.apply(&tar, &ApplyOptions::default()).unwrap();
    assert_eq!(fs::read(h.target.join("h")).unwrap(), b"pwned");
    assert!(fs::symlink_metadata(h.target.join("s")).unwrap().file_type().is_symlink());
}

#[test]
fn devices_are_refused_when_not_allowed() {
    if !is_root() {
        return;
    }
    let h = Host::new();
    let tar = Tar::new().node("sda", EntryType::Block, 8, 0, 0o666).finish();
    let opts = ApplyOptions { allow_devices: false, ..ApplyOptions::default() };
    assert_refused(h.apply(&tar, &opts), "sda", "device nodes are not allowed");
    assert!(!h.target.join("sda").exists());
    // A fifo is not a device.
    let tar = Tar::new().node("p", EntryType::Fifo, 0, 0, 0o644).finish();
    h.apply(&tar, &opts).unwrap();
}

#[test]
fn whiteouts_of_dot_and_dotdot_are_refused() {
    if !is_root() {
        return;
    }
    for opts in [ApplyOptions::default(), delete_mode()] {
        for name in ["a/.wh...", ".wh..", ".wh."] {
            let h = Host::new();
            fs::create_dir(h.target.join("a")).unwrap();
            let tar = Tar::new().whiteout(name).finish();
            assert_refused(h.apply(&tar, &opts), name, "whiteout names");
            assert!(h.target.join("a").is_dir());
        }
    }
}

#[test]
fn whiteouts_through_symlinks_stay_inside() {
    if !is_root() {
        return;
    }
    for opts in [ApplyOptions::default(), delete_mode()] {
        for wh in ["s/.wh.host-file", "s/.wh..wh..opq"] {
            let h = Host::new();
            let tar = Tar::new().symlink("s", h.out()).whiteout(wh).finish();
            let _ = h.apply(&tar, &opts);
        }
    }
}

#[test]
fn the_root_cannot_be_replaced() {
    if !is_root() {
        return;
    }
    for name in [".", "./", "/"] {
        let h = Host::new();
        let tar = Tar::new().symlink(name, h.out()).finish();
        assert_refused(h.apply(&tar, &ApplyOptions::default()), name, "target directory itself");
        let tar = Tar::new().file(name, 0o644, b"x").finish();
        assert_refused(h.apply(&tar, &ApplyOptions::default()), name, "target directory itself");
    }
    // A directory entry for the root just sets its metadata.
    let h = Host::new();
    let tar = Tar::new().dir("./", 0o751).finish();
    h.apply(&tar, &ApplyOptions::default()).unwrap();
    assert_eq!(fs::metadata(&h.target).unwrap().mode() & 0o7777, 0o751);
}

#[test]
fn long_pax_paths_work_and_are_checked_too() {
    if !is_root() {
        return;
    }
    let h = Host::new();
    let deep = format!("{}/{}/{}", "d".repeat(120), "e".repeat(120), "f".repeat(120));
    let link = format!("{}/{}", "t".repeat(90), "u".repeat(90));
    let tar = Tar::new().file(&deep, 0o644, b"deep").symlink("l", &link).finish();
    h.apply(&tar, &ApplyOptions::default()).unwrap();
    assert_eq!(fs::read(h.target.join(&deep)).unwrap(), b"deep");
    assert_eq!(fs::read_link(h.target.join("l")).unwrap(), Path::new(&link));

    let evil = format!("{}/../../../outside/pwned", "x/".repeat(60));
    let tar = Tar::new().file(&evil, 0o644, b"pwned").finish();
    assert_refused(h.apply(&tar, &ApplyOptions::default()), &evil, "`..`");

    let tar = Tar::new().pax(&[("path", b"a\0b")]).file("ignored", 0o644, b"x").finish();
    assert_refused(h.apply(&tar, &ApplyOptions::default()), "a\0b", "NUL");
}
