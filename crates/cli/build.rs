//! Records the compiler version for `berth version` (Docker shows its Go version there),
//! and links `berth` at a fixed position (non-PIE): it runs once per command, and the
//! loader then has no relative relocations to apply at each start.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(|n| format!("rust{n}")))
        .unwrap_or_else(|| "rust".to_string());
    println!("cargo:rustc-env=BERTH_RUSTC_VERSION={version}");
    println!("cargo:rustc-link-arg-bin=berth=-no-pie");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-env-changed=BERTH_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=BERTH_BUILD_TIME");
}
