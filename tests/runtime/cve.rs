//! CVE-2019-5736: a container must not reach the host's runtime binary through
//! /proc/<pid>/exe of a runtime process that entered it.

use berth_tests::require_root;
use berth_tests::runtime::{Bundle, Runtime};
use serde_json::json;

/// Creates (not starts) a container, so its pid 1 is still the runtime's own code,
/// then looks at /proc/1/exe from a process exec'd into it.
fn probe(rt: &Runtime, b: &Bundle) -> String {
    rt.create(b);
    let r = rt.run(&["exec", &b.id, "sh", "-c", "readlink /proc/1/exe || echo no-readlink; (echo x >> /proc/1/exe) 2>/dev/null && echo WROTE || echo no-write"]);
    format!("{}{}", r.stdout, r.stderr)
}

#[test]
fn runtime_binary_is_unreachable_from_the_container() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["true"], |_| {});
    let out = probe(&rt, &b);
    assert!(out.contains("no-readlink") && out.contains("no-write"), "{out}");
    assert!(!out.contains("WROTE"));
}

#[test]
fn with_cap_sys_ptrace_the_runtime_runs_from_a_sealed_copy() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["true"], |s| {
        for set in ["bounding", "effective", "permitted"] {
            s["process"]["capabilities"][set].as_array_mut().unwrap().push(json!("CAP_SYS_PTRACE"));
        }
    });
    let host_binary = std::fs::read(berth_tests::bin("berth-runtime")).unwrap();
    let out = probe(&rt, &b);
    assert!(out.contains("memfd:berth-runtime"), "{out}");
    assert!(out.contains("no-write") && !out.contains("WROTE"), "{out}");
    assert_eq!(std::fs::read(berth_tests::bin("berth-runtime")).unwrap(), host_binary);
}
