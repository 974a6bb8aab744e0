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

#[test]
fn without_a_network_namespace_of_its_own_sysfs_is_the_hosts_bound_read_only() {
    require_root!();
    let rt = Runtime::new();
    // A fresh sysfs needs the network namespace to be the user namespace's own; the
    // host's is not, so the host's /sys is bound instead (as runc does).
    let b = rt.bundle(&["sh", "-c", "awk '$5 == \"/sys\" {print $3, $6}' /proc/self/mountinfo; ls /sys/class/net | grep -c .; touch /sys/x"], |s| {
        let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "user"}));
        s["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        s["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    let r = rt.run_bundle(&b);
    let all = format!("stdout={:?} stderr={:?}", r.stdout, r.stderr);
    let host_links = std::fs::read_dir("/sys/class/net").unwrap().count();
    let mountinfo = read("/proc/self/mountinfo");
    let host_sysfs = mountinfo.lines().map(|l| l.split(' ').collect::<Vec<_>>()).find(|f| f[4] == "/sys").unwrap()[2];
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.first().and_then(|l| l.split_once(' ')).map(|(dev, _)| dev), Some(host_sysfs), "{all}");
    assert!(lines[0].contains("ro,"), "{all}");
    assert_eq!(lines.get(1).copied(), Some(host_links.to_string().as_str()), "the host's links: {all}");
    assert!(r.code != Some(0) && r.stderr.contains("Read-only file system"), "{all}");
}
