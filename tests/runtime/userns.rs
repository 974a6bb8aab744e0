//! User namespaces: root in the container is an unprivileged uid on the host.

use berth_tests::require_root;
use berth_tests::runtime::{Runtime, read};
use serde_json::json;

#[test]
fn root_in_the_container_is_mapped_to_an_unprivileged_host_uid() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; sleep 1000"], |s| {
        s["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
        s["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        s["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    rt.run_detached(&b);
    super::lifecycle::wait_for(|| rt.output_of(&b).lines().count() >= 3);
    let text = rt.output_of(&b);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words, ["0", "200000", "65536", "0", "200000", "65536", "0"], "{text}");
    let pid = rt.pid(&b.id);
    let status = read(format!("/proc/{pid}/status"));
    assert!(status.lines().any(|l| l == "Uid:\t200000\t200000\t200000\t200000"), "{status}");
}
