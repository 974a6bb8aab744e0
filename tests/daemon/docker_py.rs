//! docker-py, the Python SDK (`pip install docker`; scripts/test.sh installs it into
//! target/docker-py), drives a scripted scenario against berthd unchanged.

use berth_tests::daemon::{Daemon, TestNetwork};

#[test]
fn docker_py_scenario() {
    berth_tests::require_root!();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join("target/docker-py/bin/python");
    if !python.exists() {
        berth_tests::skip(&format!("no docker-py at {} (scripts/test.sh installs it)", python.display()));
        return;
    }
    let d = Daemon::start();
    d.load_busybox();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("daemon/docker_py_scenario.py");
    // A subnet and bridge of the test's own for the network the scenario makes.
    let n = TestNetwork::claim();
    let out = std::process::Command::new(&python).arg(&script).arg(d.host()).arg(&n.net).arg(&n.bridge).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "docker-py failed:\n{stdout}\n{stderr}\nberthd log:\n{}", d.log());
    assert_eq!(stdout.trim(), "OK");
}
