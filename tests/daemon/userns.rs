//! `--userns-remap`: root in a container is root of its own user namespace, an
//! unprivileged range of host ids outside. The image's files stay root's inside (the
//! layers are idmapped, not chowned), what the container writes is stored with the
//! ids it has inside, a bind mount keeps the host's ids, and `--userns=host` opts out.
//!
//! The tests make a user of their own (with /etc/subuid and /etc/subgid lines) and
//! put /etc back as it was when they end, passed or failed; they take turns, as they
//! all edit the same files.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use berth_tests::daemon::Daemon;

/// Held while a test changes /etc.
static ETC: Mutex<()> = Mutex::new(());

/// Files the shadow tools rewrite as backups when they change the user database, and
/// the subordinate id files: each gets its content back, or goes if it was absent.
const BACKUPS: &[&str] = &[
    "/etc/passwd-",
    "/etc/group-",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/subuid-",
    "/etc/subgid-",
    "/etc/subuid",
    "/etc/subgid",
];

/// /etc's turn for one test, and what to undo: a user the test made (`made`) is deleted
/// with its /etc/subuid and /etc/subgid lines when the guard drops, and the shadow
/// tools' backup files get their contents back.
struct RemapUser {
    name: String,
    made: bool,
    backups: Vec<(&'static str, Option<Vec<u8>>)>,
    _turn: MutexGuard<'static, ()>,
}

impl RemapUser {
    /// A new user `name` whose ranges start at `base`.
    fn new(name: &str, base: u32) -> RemapUser {
        let mut u = RemapUser::watch(name);
        run_ok("useradd", &["-r", "-M", "-s", "/bin/false", name]);
        u.made = true;
        for file in ["/etc/subuid", "/etc/subgid"] {
            let mut text = std::fs::read_to_string(file).unwrap_or_default();
            text.push_str(&format!("{name}:{base}:65536\n"));
            std::fs::write(file, text).unwrap();
        }
        u
    }

    /// Takes /etc's turn and notes the backups; the caller sets `made` if it makes `name`.
    fn watch(name: &str) -> RemapUser {
        let turn = ETC.lock().unwrap_or_else(|e| e.into_inner());
        let backups = BACKUPS.iter().map(|f| (*f, std::fs::read(f).ok())).collect();
        RemapUser { name: name.to_string(), made: false, backups, _turn: turn }
    }
}

impl Drop for RemapUser {
    fn drop(&mut self) {
        if !self.made {
            return;
        }
        // userdel takes the lock of the user database; another tool may hold it a moment.
        for _ in 0..50 {
            let s = Command::new("userdel").arg(&self.name).stderr(Stdio::null()).status();
            if s.is_ok_and(|s| s.success() || s.code() == Some(6)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // The subordinate id files come back as they were (the test held /etc's turn),
        // which also drops the test user's ranges.
        for (file, before) in &self.backups {
            match before {
                Some(bytes) => {
                    let _ = std::fs::write(file, bytes);
                }
                None => {
                    let _ = std::fs::remove_file(file);
                }
            }
        }
    }
}

fn run_ok(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A range base of this test process's own, far from usual ones.
fn base() -> u32 {
    1_000_000 + (std::process::id() % 1000) * 65536
}

/// `docker ARGS`: exit code and stdout+stderr.
fn docker(d: &Daemon, args: &[&str]) -> (Option<i32>, String) {
    let o = d.docker(args).expect("docker CLI");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
}

fn docker_ok(d: &Daemon, args: &[&str]) -> String {
    let (code, out) = docker(d, args);
    assert_eq!(code, Some(0), "docker {args:?}: {out}");
    out
}

/// The host uid and gid a running container's init runs as (`Uid:`/`Gid:` of /proc).
fn host_ids(d: &Daemon, name: &str) -> (String, String) {
    let pid = docker_ok(d, &["inspect", "-f", "{{.State.Pid}}", name]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    let field = |key: &str| status.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_default().trim().to_string();
    (field("Uid:"), field("Gid:"))
}

/// Numeric owner of `name` in the tar `docker export` of `ctr` writes.
fn exported_owner(d: &Daemon, ctr: &str, name: &str) -> String {
    let tar = d.dir.path().join(format!("{ctr}.tar"));
    docker_ok(d, &["export", "-o", tar.to_str().unwrap(), ctr]);
    let out = Command::new("tar").args(["--numeric-owner", "-tvf"]).arg(&tar).output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = list.lines().find(|l| l.ends_with(&format!(" {name}"))).unwrap_or_else(|| panic!("{name} not in {list}"));
    line.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn remapped_root_is_root_inside_and_an_unprivileged_uid_outside() {
    berth_tests::require_root!();
    let base = base();
    let user = RemapUser::new(&format!("berthremap{}", std::process::id()), base);
    let d = Daemon::start_with(&["--userns-remap", &user.name]);
    if d.docker(&["version"]).is_none() {
        return;
    }
    d.load_busybox();
    let ids = format!("{base}\t{base}\t{base}\t{base}");

    assert!(docker_ok(&d, &["info", "--format", "{{json .SecurityOptions}}"]).contains("name=userns"));

    // Root inside, the remapped uid outside; the image's files are root's.
    docker_ok(&d, &["run", "-d", "--name", "top", "busybox", "sleep", "1000"]);
    assert_eq!(host_ids(&d, "top"), (ids.clone(), ids.clone()));
    assert_eq!(docker_ok(&d, &["exec", "top", "id", "-u"]), "0\n");
    assert_eq!(docker_ok(&d, &["exec", "top", "stat", "-c", "%u:%g", "/bin/busybox", "/etc"]), "0:0\n0:0\n");
    assert_eq!(exported_owner(&d, "top", "bin/busybox"), "0/0", "export of a running remapped container");

    // Writes land in the writable layer with the ids they have inside.
    let script = "echo hi > /new && echo x >> /etc/passwd && echo 1.2.3.4 x >> /etc/hosts && stat -c %u /new /etc/passwd /etc/hosts";
    assert_eq!(docker_ok(&d, &["run", "--name", "writer", "busybox", "sh", "-c", script]), "0\n0\n0\n");
    let diff = docker_ok(&d, &["diff", "writer"]);
    assert!(diff.contains("A /new") && diff.contains("C /etc/passwd"), "{diff}");
    assert_eq!(exported_owner(&d, "writer", "new"), "0/0", "stored as uid 0");

    // A bind mount keeps the host's ids: what root writes there is the remapped uid's,
    // and host root's private file is out of reach.
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let secret = shared.path().join("secret");
    std::fs::write(&secret, "host root only").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let vol = format!("{}:/data", shared.path().display());
    docker_ok(&d, &["run", "--rm", "-v", &vol, "busybox", "touch", "/data/made"]);
    assert_eq!(std::fs::metadata(shared.path().join("made")).unwrap().uid(), base);
    let (code, out) = docker(&d, &["run", "--rm", "-v", &vol, "busybox", "cat", "/data/secret"]);
    assert!(code != Some(0) && out.contains("Permission denied"), "{out}");

    // Even given CAP_SYS_ADMIN and a /proc of its own, where /proc/sys is neither
    // masked nor read-only, root of the namespace may not set the host's sysctls (the
    // same value is written back: harmless where it is allowed, as with --userns=host).
    let sysctl = "mkdir /p && mount -t proc proc /p && cat /p/sys/vm/overcommit_memory > /v && cat /v > /p/sys/vm/overcommit_memory";
    let (code, out) = docker(&d, &["run", "--rm", "--cap-add", "SYS_ADMIN", "busybox", "sh", "-c", sysctl]);
    assert!(code != Some(0) && out.contains("Permission denied"), "{out}");
    docker_ok(&d, &["run", "--rm", "--userns=host", "--cap-add", "SYS_ADMIN", "busybox", "sh", "-c", sysctl]);

    // --userns=host opts out; --privileged needs it, as host networking does.
    docker_ok(&d, &["run", "-d", "--userns=host", "--name", "hostns", "busybox", "sleep", "1000"]);
    assert_eq!(host_ids(&d, "hostns"), ("0\t0\t0\t0".into(), "0\t0\t0\t0".into()));
    // (Created, not run: a privileged start asks for every capability, more than
    // some test hosts grant.)
    docker_ok(&d, &["create", "--userns=host", "--privileged", "busybox", "true"]);
    let (code, out) = docker(&d, &["create", "--privileged", "busybox", "true"]);
    assert!(
        code != Some(0) && out.contains("privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode"),
        "{out}"
    );
    let (code, out) = docker(&d, &["run", "--rm", "--network", "host", "busybox", "true"]);
    assert!(code != Some(0) && out.contains("cannot share the host's network namespace when user namespaces are enabled"), "{out}");
}

/// Runs berthd with `extra` on roots under `dir` until it exits (10 s at most); its
/// exit code and output.
fn berthd_exit(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let p = |s: &str| dir.join(s);
    std::fs::write(p("daemon.json"), "{}").unwrap();
    let sock = format!("unix://{}", p("berth.sock").display());
    let mut child = Command::new(berth_tests::bin("berthd"))
        .args(["--data-root", p("data").to_str().unwrap(), "--exec-root", p("exec").to_str().unwrap()])
        .args(["--pidfile", p("pid").to_str().unwrap(), "-H", &sock, "--config-file", p("daemon.json").to_str().unwrap()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_remap_user_that_cannot_be_used_stops_the_daemon_with_the_reason() {
    berth_tests::require_root!();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let (code, out) = berthd_exit(dir.path(), &["--userns-remap", "berth-no-such-user"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no user \"berth-no-such-user\" in /etc/passwd"), "{out}");

    // A user without subordinate ids.
    let (code, out) = berthd_exit(dir.path(), &["--userns-remap", "daemon"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no subordinate uid range for \"daemon\" in /etc/subuid"), "{out}");

    // The test's own 0700 directory: the remapped root could not reach the containers.
    let name = format!("berthwalk{}", std::process::id());
    let _user = RemapUser::new(&name, base());
    let (code, out) = berthd_exit(dir.path(), &["--userns-remap", &name]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("restricts access to the remapped root") && out.contains("allowing 'o+x'"), "{out}");
}

#[test]
fn default_makes_the_dockremap_user_with_a_range() {
    berth_tests::require_root!();
    let mut user = RemapUser::watch("dockremap");
    user.made = Command::new("id").arg("dockremap").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| !s.success());
    let d = Daemon::start_with(&["--userns-remap", "default"]);
    let line = |file: &str| std::fs::read_to_string(file).unwrap().lines().find(|l| l.starts_with("dockremap:")).map(String::from);
    let (uids, gids) = (line("/etc/subuid").expect("a dockremap range in /etc/subuid"), line("/etc/subgid").expect("in /etc/subgid"));
    assert!(uids.ends_with(":65536") && gids.ends_with(":65536"), "{uids} {gids}");
    if d.docker(&["version"]).is_none() {
        return;
    }
    d.load_busybox();
    let start = uids.split(':').nth(1).unwrap();
    assert_eq!(docker_ok(&d, &["run", "--rm", "busybox", "cat", "/proc/self/uid_map"]).split_whitespace().collect::<Vec<_>>(), ["0", start, "65536"]);
}
