//! The command line's options: --pid-file, --no-pivot, --log/--log-format,
//! --preserve-fds, namespaces joined by path, the time namespace.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;

use berth_tests::require_root;
use berth_tests::runtime::{Runtime, read};
use serde_json::json;

#[test]
fn pid_file_and_no_pivot() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sleep", "1000"], |_| {});
    let pid_file = rt.path("init.pid");
    let out = std::fs::File::create(rt.path("out")).unwrap();
    let status = rt
        .cmd()
        .args(["create", "--no-pivot", "--pid-file", pid_file.to_str().unwrap(), "--bundle", b.dir.to_str().unwrap(), &b.id])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap();
    assert!(status.success(), "{}", read(rt.path("out")));
    assert_eq!(read(&pid_file).parse::<i64>().unwrap(), rt.state(&b.id)["pid"].as_i64().unwrap());
    rt.run(&["start", &b.id]).ok();
    let pid = rt.pid(&b.id);
    // chroot, not pivot_root: the container's root is still its rootfs.
    assert!(std::fs::metadata(format!("/proc/{pid}/root/bin/busybox")).is_ok());
}

#[test]
fn errors_go_to_the_log_file_as_json() {
    let rt = Runtime::new();
    let log = rt.path("runtime.log");
    let r = rt.run(&["--log", log.to_str().unwrap(), "--log-format", "json", "state", "missing-one"]);
    assert_eq!(r.code, Some(1));
    let line: serde_json::Value = serde_json::from_str(read(&log).lines().next().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("missing-one"));
    assert!(line["time"].is_string());
}

#[test]
fn preserved_fds_reach_the_container() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sh", "-c", "cat <&3; ls /proc/self/fd | sort -n | tr '\\n' ' '"], |_| {});
    let payload = rt.path("payload");
    std::fs::write(&payload, "through fd 3\n").unwrap();
    let file = std::fs::File::open(&payload).unwrap();
    let fd = file.as_raw_fd();
    let mut cmd = rt.cmd();
    cmd.args(["run", "--preserve-fds", "1", "--bundle", b.dir.to_str().unwrap(), &b.id]);
    // SAFETY: only async-signal-safe dup2/fcntl in the child before exec.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec: clear it explicitly.
            if fd != 3 && libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("through fd 3\n"), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    // Only stdio, fd 3 and the fd ls itself opens: nothing of the runtime leaks.
    assert_eq!(stdout.lines().nth(1).unwrap().trim(), "0 1 2 3 4", "{stdout}");
}

#[test]
fn namespaces_joined_by_path() {
    require_root!();
    let rt = Runtime::new();
    let first = rt.bundle(&["sleep", "1000"], |s| s["hostname"] = "first".into());
    rt.run_detached(&first);
    let pid = rt.pid(&first.id);
    let second = rt.bundle(&["sh", "-c", "hostname; readlink /proc/self/ns/net"], |s| {
        s.as_object_mut().unwrap().remove("hostname");
        for ns in s["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "uts" || ns["type"] == "network" {
                let name = if ns["type"] == "uts" { "uts" } else { "net" };
                ns["path"] = format!("/proc/{pid}/ns/{name}").into();
            }
        }
    });
    let r = rt.run_bundle(&second);
    r.ok();
    let net = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_eq!(r.stdout, format!("first\n{}\n", net.display()));
}

#[test]
fn time_namespace_offsets() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["cat", "/proc/uptime"], |s| {
        s["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "time"}));
        s["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400 * 365, "nanosecs": 0}});
    });
    let r = rt.run_bundle(&b);
    r.ok();
    let host: f64 = read("/proc/uptime").split_whitespace().next().unwrap().parse().unwrap();
    let inside: f64 = r.stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!((inside - host - 86400.0 * 365.0).abs() < 60.0, "host {host} inside {inside}");
}

#[test]
fn systemd_cgroup_paths_map_onto_cgroupfs() {
    require_root!();
    let rt = Runtime::new();
    let slice = format!("{}.slice", berth_tests::unique("bts").replace('-', "_"));
    let b = rt.bundle(&["sleep", "1000"], |s| {
        s["linux"]["cgroupsPath"] = format!("{slice}:berth:scoped").into();
    });
    // The slice directories are the test's own; remove them last, whatever happens.
    struct Slices(String);
    impl Drop for Slices {
        fn drop(&mut self) {
            for c in ["memory", "pids", "cpu", "cpuacct", "cpuset", "freezer", "devices", "blkio"] {
                let _ = std::fs::remove_dir(format!("/sys/fs/cgroup/{c}/{}", self.0));
            }
        }
    }
    let _slices = Slices(slice.clone());
    let out = std::fs::File::create(rt.path("out")).unwrap();
    let status = rt
        .cmd()
        .args(["--systemd-cgroup", "run", "-d", "--bundle", b.dir.to_str().unwrap(), &b.id])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap();
    assert!(status.success(), "{}", read(rt.path("out")));
    let pid = rt.pid(&b.id).to_string();
    let procs = read(format!("/sys/fs/cgroup/memory/{slice}/berth-scoped.scope/cgroup.procs"));
    assert!(procs.lines().any(|l| l == pid), "{procs}");
    rt.run(&["delete", "--force", &b.id]).ok();
    assert!(!std::path::Path::new(&format!("/sys/fs/cgroup/memory/{slice}/berth-scoped.scope")).exists());
}
