//! Test support shared by the end-to-end suites: where the built binaries are, and
//! guards that remove everything a test made (containers, cgroups, dirs) even when
//! the test fails.

pub mod daemon;
pub mod dockerd;
pub mod pty;
pub mod registry;
pub mod runtime;

use std::path::PathBuf;

/// A binary of the workspace, built by `cargo build --workspace --bins` (the test
/// script does this first) next to the test executable's target directory.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A name unique to this test process and call, for ids, cgroups and roots.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Skips (returns early from) a test that needs root, saying why.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::is_root() {
            $crate::skip("needs root");
            return;
        }
    };
    ($ret:expr) => {
        if !$crate::is_root() {
            $crate::skip("needs root");
            return $ret;
        }
    };
}

/// A test that cannot run here says why and passes; under CI (`CI=true`), which
/// installs every prerequisite, a missing one is a failure instead.
pub fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("a prerequisite is missing under CI: {reason}");
    }
    eprintln!("skipped: {reason}");
}
