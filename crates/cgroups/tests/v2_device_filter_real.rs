//! The cgroup v2 eBPF device filter on the real kernel.
//!
//! A hybrid host's cgroup2 hierarchy at `/sys/fs/cgroup/unified` has no
//! controllers, but device programs are a core cgroup2 feature and work
//! there. The test creates a cgroup in it, applies Docker-like device
//! rules, and runs shells inside the cgroup that try to open device nodes.
//! Needs root; otherwise (or without that mount) it prints a note and
//! passes. A drop guard kills the children, detaches the programs and
//! removes the cgroup even when an assertion fails.

mod common;

use std::ffi::{CStr, CString};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cgroups::{Cgroup, Hierarchy, parse_cgroups_path};
use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources,
    LinuxResourcesBuilder,
};

/// `berth-bpftest-<pid>-<n>`.
fn unique_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "berth-bpftest-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    b.build().unwrap()
}

fn devices(rules: Vec<LinuxDeviceCgroup>) -> LinuxResources {
    LinuxResourcesBuilder::default()
        .devices(rules)
        .build()
        .unwrap()
}

/// Deny everything; allow /dev/null (1:3), /dev/zero (1:5), mknod of any
/// character device, and `extra`.
fn docker_like(extra: &[LinuxDeviceCgroup]) -> LinuxResources {
    use LinuxDeviceType::*;
    let mut rules = vec![
        rule(false, A, None, None, "rwm"),
        rule(true, C, Some(1), Some(3), "rwm"),
        rule(true, C, Some(1), Some(5), "rwm"),
        rule(true, C, None, None, "m"),
    ];
    rules.extend_from_slice(extra);
    devices(rules)
}

fn allow_all() -> LinuxResources {
    devices(vec![rule(true, LinuxDeviceType::A, None, None, "rwm")])
}

/// Owns the test cgroup and the processes started in it.
struct Guard {
    cgroup: Cgroup,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for child in &mut self.children {
            // Both are no-ops for a child that was already reaped.
            let _ = child.kill();
            let _ = child.wait();
        }
        // Anything else that ended up in the cgroup (kernel 5.14+).
        let _ = std::fs::write(self.dir.join("cgroup.kill"), "1");
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.cgroup.pids().is_ok_and(|p| !p.is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        // Detaches berth's programs; removing the cgroup would free them as
        // well, but do not rely on that alone.
        if let Err(e) = self.cgroup.apply(&allow_all()) {
            eprintln!("cleanup: detaching device filters: {e}");
        }
        if let Err(e) = self.cgroup.destroy() {
            eprintln!("cleanup: {e}");
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Moves the calling process into the cgroup whose `cgroup.procs` is
/// `procs` ("0" means "the writer"). Runs between fork and exec, so only
/// async-signal-safe calls: no allocation, no locks.
fn join_cgroup(procs: &CStr) -> io::Result<()> {
    // SAFETY: `procs` is a valid NUL-terminated path that outlives the call.
    let fd = unsafe { libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is open and the buffer holds one readable byte.
    let n = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
    let err = io::Error::last_os_error();
    // SAFETY: `fd` was opened above and is closed exactly once.
    unsafe { libc::close(fd) };
    if n == 1 { Ok(()) } else { Err(err) }
}

impl Guard {
    /// Runs `sh -c script` inside the cgroup (it joins before exec, so
    /// nothing it does escapes the filter) and returns its stdout and
    /// stderr.
    fn run(&mut self, script: &str) -> (String, String) {
        let procs = CString::new(self.dir.join("cgroup.procs").as_os_str().as_bytes()).unwrap();
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: the hook only makes async-signal-safe system calls and
        // touches nothing but the CString it owns.
        unsafe {
            cmd.pre_exec(move || join_cgroup(&procs));
        }
        let mut child = cmd.spawn().expect("spawn sh in the cgroup");
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        self.children.push(child);
        let child = self.children.last_mut().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "child did not finish: {script}");
            std::thread::sleep(Duration::from_millis(5));
        }
        // The outputs are a few lines: they fit in the pipes, so reading
        // after the exit cannot block.
        let (mut stdout, mut stderr) = (String::new(), String::new());
        out.read_to_string(&mut stdout).unwrap();
        err.read_to_string(&mut stderr).unwrap();
        (stdout, stderr)
    }
}

/// Opens /dev/null, then /dev/full in a subshell (a failing `exec`
/// redirection would end a POSIX shell), and reports the shell's cgroup on
/// stderr.
const OPEN_SCRIPT: &str = "exec 3</dev/null && echo null-ok
(exec 4</dev/full) && echo full-ok || echo full-denied
grep '^0::' /proc/self/cgroup >&2";

fn berth_filter_ids(cgroup: &Cgroup) -> Vec<u32> {
    let filters = cgroup.device_filters().unwrap();
    assert!(filters.iter().all(|f| f.is_berth()), "{filters:?}");
    filters.iter().map(|f| f.id).collect()
}

fn opens(path: &Path) -> bool {
    std::fs::File::open(path).is_ok()
}

#[test]
fn device_rules_are_enforced_by_an_ebpf_program() {
    let Some(mount) = common::unified_cgroup2_mount("real eBPF device filter test") else {
        return;
    };
    let name = unique_name();
    let dir = mount.join(&name);
    let cgroup = Hierarchy::v2_at(mount)
        .cgroup(&parse_cgroups_path(None, &name, false).unwrap())
        .unwrap();
    let mut g = Guard {
        cgroup,
        dir: dir.clone(),
        children: Vec::new(),
    };
    g.cgroup.create().unwrap();
    assert!(dir.is_dir());
    assert_eq!(g.cgroup.device_filters().unwrap(), []);

    g.cgroup.apply(&docker_like(&[])).unwrap();
    let first = berth_filter_ids(&g.cgroup);
    assert_eq!(first.len(), 1);

    let (stdout, stderr) = g.run(OPEN_SCRIPT);
    assert_eq!(stdout, "null-ok\nfull-denied\n", "stderr: {stderr}");
    assert!(
        stderr.contains("Operation not permitted"),
        "EPERM: {stderr}"
    );
    assert!(
        stderr.contains(&format!("0::/{name}")),
        "ran in the cgroup: {stderr}"
    );
    // Only the cgroup is restricted, not this test outside it.
    assert!(opens(Path::new("/dev/full")));

    // The access bits: "m" is granted for every character device, not for
    // block devices; reading a node that mknod made is still denied.
    let tmp = tempfile::tempdir().unwrap();
    let (stdout, stderr) = g.run(&format!(
        "cd {} || exit 1
mknod c17 c 1 7 && echo mknod-c-ok || echo mknod-c-denied
mknod b70 b 7 0 && echo mknod-b-ok || echo mknod-b-denied
(exec 3<c17) && echo read-c-ok || echo read-c-denied",
        tmp.path().display()
    ));
    assert_eq!(
        stdout, "mknod-c-ok\nmknod-b-denied\nread-c-denied\n",
        "stderr: {stderr}"
    );

    // Live update: /dev/full (1:7) too. The old program is replaced.
    g.cgroup
        .apply(&docker_like(&[rule(
            true,
            LinuxDeviceType::C,
            Some(1),
            Some(7),
            "rwm",
        )]))
        .unwrap();
    let second = berth_filter_ids(&g.cgroup);
    assert_eq!(second.len(), 1, "exactly one berth program after an update");
    assert_ne!(second, first, "a new program");
    let (stdout, stderr) = g.run(OPEN_SCRIPT);
    assert_eq!(stdout, "null-ok\nfull-ok\n", "stderr: {stderr}");

    // A later deny only takes the bits it names: read stays allowed, write
    // is gone.
    g.cgroup
        .apply(&docker_like(&[
            rule(true, LinuxDeviceType::C, Some(1), Some(7), "rwm"),
            rule(false, LinuxDeviceType::C, Some(1), Some(7), "w"),
        ]))
        .unwrap();
    assert_eq!(berth_filter_ids(&g.cgroup).len(), 1);
    let (stdout, stderr) = g.run(
        "(exec 3</dev/full) && echo read-ok || echo read-denied
(exec 3>/dev/full) && echo write-ok || echo write-denied",
    );
    assert_eq!(stdout, "read-ok\nwrite-denied\n", "stderr: {stderr}");

    // Rules that allow everything need no program.
    g.cgroup.apply(&allow_all()).unwrap();
    assert_eq!(g.cgroup.device_filters().unwrap(), []);
    let (stdout, stderr) = g.run(OPEN_SCRIPT);
    assert_eq!(stdout, "null-ok\nfull-ok\n", "stderr: {stderr}");

    // Applying restrictions again and destroying: the kernel frees the
    // program with the cgroup, nothing is left.
    g.cgroup.apply(&docker_like(&[])).unwrap();
    assert_eq!(berth_filter_ids(&g.cgroup).len(), 1);
    drop(g);
    assert!(!dir.exists(), "cgroup removed");
}
