//! The OCI runtime spec (`config.json`) of a container, from its merged `Config` and
//! `HostConfig`: Docker's defaults for mounts, devices, capabilities, masked and
//! read-only paths, namespaces and seccomp ([`super::seccomp`]), and the options that
//! change them.

use std::path::Path;

use api::containers::HostConfig;
use oci_spec::runtime::{
    BoxBuilder, Linux, LinuxCapabilitiesBuilder, LinuxDeviceCgroup, LinuxDeviceType, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxResources, Mount, PosixRlimitBuilder, PosixRlimitType, Process, RootBuilder, Spec, UserBuilder,
};
use serde_json::{Value, json};

use super::record::Record;
use super::user::User;

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Files berthd writes for each container and binds over the image's.
pub struct EtcFiles<'a> {
    pub hostname: &'a Path,
    pub hosts: &'a Path,
    pub resolv_conf: &'a Path,
}

pub struct Input<'a> {
    pub record: &'a Record,
    pub rootfs: &'a Path,
    pub user: &'a User,
    pub etc: EtcFiles<'a>,
    /// The cgroup the container's own cgroup is made under (`/berth`).
    pub cgroup_parent: &'a str,
    pub cgroup_v2: bool,
    /// The daemon's `default-ulimits`, under the container's own.
    pub default_ulimits: &'a std::collections::BTreeMap<String, crate::config::Ulimit>,
    /// The daemon's `userns-remap` when this container runs under it: a user namespace
    /// of its own with these mappings.
    pub userns: Option<&'a crate::userns::Remap>,
    /// The network namespace the network service made for this run, joined by path;
    /// none: the runtime makes one (or the host's is shared).
    pub netns: Option<&'a Path>,
    /// What its links (`--link`) put in the environment, under its own variables.
    pub link_env: &'a [String],
    /// Its binds of host paths and of its volumes' data.
    pub binds: &'a [api::binds::Bind],
}

/// Every capability berthd itself may hand on (its bounding set), for `--privileged`
/// and `--cap-add ALL`, as Docker: one the host withholds would fail the start.
fn all_caps() -> Vec<String> {
    let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_else(|_| caps::all());
    let mut all: Vec<String> = bounding.into_iter().map(|c| c.to_string()).collect();
    all.sort();
    all
}

/// `CHOWN`, `cap_chown` or `CAP_CHOWN` → `CAP_CHOWN`; `ALL` stays.
pub fn normalize_cap(name: &str) -> Result<String, String> {
    let upper = name.to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if full.parse::<caps::Capability>().is_err() {
        return Err(format!("invalid capability: {name}"));
    }
    Ok(full)
}

/// The capability set after `cap_add` and `cap_drop` (Docker's TweakCapabilities).
pub fn capabilities(hc: &HostConfig) -> Result<Vec<String>, String> {
    if hc.privileged {
        return Ok(all_caps());
    }
    let add: Vec<String> = hc
        .cap_add
        .iter()
        .map(|c| normalize_cap(c))
        .collect::<Result<_, _>>()?;
    let drop: Vec<String> = hc
        .cap_drop
        .iter()
        .map(|c| normalize_cap(c))
        .collect::<Result<_, _>>()?;
    let mut set: Vec<String> = if add.iter().any(|c| c == "ALL") {
        all_caps()
    } else {
        DEFAULT_CAPS.iter().map(|s| s.to_string()).collect()
    };
    if drop.iter().any(|c| c == "ALL") {
        set.clear();
    } else {
        set.retain(|c| !drop.contains(c));
    }
    for c in add.into_iter().filter(|c| c != "ALL") {
        if !set.contains(&c) {
            set.push(c);
        }
    }
    Ok(set)
}

/// The environment of the process: Docker's PATH when the image sets none, HOSTNAME,
/// TERM with a tty, HOME from passwd, then the container's own.
pub fn environment(record: &Record, user: &User, link_env: &[String]) -> Vec<String> {
    let c = &record.config;
    let has = |k: &str| {
        c.env
            .iter()
            .any(|e| e.split_once('=').map_or(e.as_str(), |(a, _)| a) == k)
    };
    let mut env = Vec::new();
    if !has("PATH") {
        env.push(super::merge::DEFAULT_PATH.to_string());
    }
    env.push(format!("HOSTNAME={}", c.hostname));
    if c.tty && !has("TERM") {
        env.push("TERM=xterm".to_string());
    }
    if !has("HOME") {
        env.push(format!(
            "HOME={}",
            user.home
                .as_deref()
                .filter(|h| !h.is_empty())
                .unwrap_or("/")
        ));
    }
    env.extend(link_env.iter().cloned());
    super::merge::merge_env(&env, &c.env)
}

/// The rlimit of a `--ulimit` name (`nofile` → `RLIMIT_NOFILE`).
pub(crate) fn ulimit_type(name: &str) -> Option<PosixRlimitType> {
    Some(match name {
        "core" => PosixRlimitType::RlimitCore,
        "cpu" => PosixRlimitType::RlimitCpu,
        "data" => PosixRlimitType::RlimitData,
        "fsize" => PosixRlimitType::RlimitFsize,
        "locks" => PosixRlimitType::RlimitLocks,
        "memlock" => PosixRlimitType::RlimitMemlock,
        "msgqueue" => PosixRlimitType::RlimitMsgqueue,
        "nice" => PosixRlimitType::RlimitNice,
        "nofile" => PosixRlimitType::RlimitNofile,
        "nproc" => PosixRlimitType::RlimitNproc,
        "rss" => PosixRlimitType::RlimitRss,
        "rtprio" => PosixRlimitType::RlimitRtprio,
        "rttime" => PosixRlimitType::RlimitRttime,
        "sigpending" => PosixRlimitType::RlimitSigpending,
        "stack" => PosixRlimitType::RlimitStack,
        "as" => PosixRlimitType::RlimitAs,
        _ => return None,
    })
}

/// The cgroup limits of `HostConfig` in the spec's `linux.resources`, with Docker's
/// device cgroup: everything denied, then the standard character devices, then the
/// rules of `--device` and `--device-cgroup-rule`.
fn resources(hc: &HostConfig, device_rules: Vec<LinuxDeviceCgroup>) -> Result<LinuxResources, String> {
    use LinuxDeviceType::{B, C};
    let mut out = super::resources::linux(&hc.resources, false)?;
    let everything = |allow: bool| {
        let mut rule = LinuxDeviceCgroup::default();
        rule.set_allow(allow);
        rule.set_access(Some("rwm".into()));
        rule
    };
    let mut devices = vec![everything(hc.privileged)];
    if !hc.privileged {
        for (kind, major, minor, access) in [
            (C, None, None, "m"),
            (B, None, None, "m"),
            (C, Some(1), Some(3), "rwm"),
            (C, Some(1), Some(8), "rwm"),
            (C, Some(1), Some(7), "rwm"),
            (C, Some(5), Some(0), "rwm"),
            (C, Some(1), Some(5), "rwm"),
            (C, Some(1), Some(9), "rwm"),
            (C, Some(136), None, "rwm"),
            (C, Some(5), Some(2), "rwm"),
            (C, Some(10), Some(200), "rwm"),
        ] {
            devices.push(super::devices::allow(kind, major, minor, access));
        }
    }
    devices.extend(device_rules);
    out.set_devices(Some(devices));
    Ok(out)
}

fn bind(src: &Path, dst: &str, ro: bool, propagation: api::binds::Propagation) -> Mount {
    let mut options = vec!["rbind", propagation.as_str()];
    if ro {
        options.push("ro");
    }
    mount(dst, "bind", src, &options)
}

/// The user's binds (`/host:/ctr[:ro|rw]`) and tmpfs mounts. Named volumes arrive with
/// the volume manager; until then they are refused clearly. A bind keeps the host's
/// ownership in a remapped container too, as with Docker (no idmap): host root's files
/// belong to nobody there, and what the container's root writes is the remapped uid's.
pub fn user_mounts(binds: &[api::binds::Bind], tmpfs: &std::collections::BTreeMap<String, String>) -> Result<Vec<Mount>, String> {
    let mut out = Vec::new();
    for b in binds {
        if !b.is_host_path() {
            return Err(format!(
                "invalid volume specification: '{}': named volumes are not supported yet",
                b.spec()
            ));
        }
        out.push(bind(Path::new(&b.source), &b.destination, b.read_only, b.propagation));
    }
    let mut tmpfs: Vec<_> = tmpfs.iter().collect();
    tmpfs.sort();
    for (dst, opts) in tmpfs {
        if !dst.starts_with('/') {
            return Err(format!(
                "invalid mount config: tmpfs destination must be an absolute path: {dst}"
            ));
        }
        let mut options = vec!["nosuid", "nodev", "noexec"];
        options.extend(opts.split(',').filter(|o| !o.is_empty()));
        out.push(mount(dst, "tmpfs", "tmpfs", &options));
    }
    Ok(out)
}

/// Data in the spec's JSON shape, read into the oci-spec type: the capability names
/// (the type reads them only through serde) and a seccomp profile (Docker's default or
/// the user's file). Checked here, at start, not by the runtime.
fn typed<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("invalid {what} for the runtime: {e}"))
}

/// The whole spec, in oci-spec's types. Every field with a default in those types is
/// set here explicitly: the container gets Docker's values, not the library's.
pub fn build(input: &Input) -> Result<Spec, String> {
    let r = input.record;
    let c = &r.config;
    let hc = &r.host_config;
    crate::userns::check(hc, r.network.is_host(), input.userns.is_some())?;
    let caps = capabilities(hc)?;
    let mut args = vec![r.path.clone()];
    args.extend(r.args.iter().cloned());
    let cwd = if c.working_dir.is_empty() { "/".to_string() } else { c.working_dir.clone() };
    let mut rlimits = Vec::new();
    let defaults = input.default_ulimits.values().filter(|d| !hc.resources.ulimits.iter().any(|u| u.name == d.name));
    for (name, soft, hard) in hc
        .resources
        .ulimits
        .iter()
        .map(|u| (&u.name, u.soft, u.hard))
        .chain(defaults.map(|u| (&u.name, u.soft, u.hard)))
    {
        let t = ulimit_type(name).ok_or_else(|| format!("invalid ulimit type: {name}"))?;
        let limit = |v: i64| u64::try_from(v).map_err(|_| format!("invalid ulimit {name}: {v} is negative"));
        rlimits.push(PosixRlimitBuilder::default().typ(t).soft(limit(soft)?).hard(limit(hard)?).build().map_err(|e| e.to_string())?);
    }
    let security = super::security_opts::SecurityOptions::parse(&hc.security_opt).map_err(|e| e.to_string())?;
    let cap_set: oci_spec::runtime::Capabilities = typed("capabilities", json!(caps))?;
    let mut capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(cap_set.clone())
        .effective(cap_set.clone())
        .permitted(cap_set)
        .build()
        .map_err(|e| e.to_string())?;
    // Docker gives neither inheritable nor ambient capabilities.
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    let user = UserBuilder::default()
        .uid(input.user.uid)
        .gid(input.user.gid)
        .build()
        .map_err(|e| e.to_string())?;
    let mut user = user;
    user.set_additional_gids((!input.user.additional_gids.is_empty()).then(|| input.user.additional_gids.clone()));
    let mut process = Process::default();
    process.set_terminal(Some(c.tty));
    process.set_user(user);
    process.set_args(Some(args));
    process.set_env(Some(environment(r, input.user, input.link_env)));
    process.set_cwd(cwd.into());
    process.set_capabilities(Some(capabilities));
    process.set_no_new_privileges(Some(security.no_new_privileges));
    process.set_rlimits((!rlimits.is_empty()).then_some(rlimits));
    process.set_oom_score_adj((hc.oom_score_adj != 0).then_some(hc.oom_score_adj as i32));
    process.set_console_size(None);
    if c.tty
        && let Some([h, w]) = hc.console_size
        && h > 0
        && w > 0
    {
        process.set_console_size(Some(BoxBuilder::default().height(h as u64).width(w as u64).build().map_err(|e| e.to_string())?));
    }
    let shm_size = if hc.shm_size > 0 { hc.shm_size } else { 64 << 20 };
    let sys_ro: &[&str] = if hc.privileged { &["nosuid", "noexec", "nodev"] } else { &["nosuid", "noexec", "nodev", "ro"] };
    let shm_opt = format!("size={shm_size}");
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
        mount("/dev/pts", "devpts", "devpts", &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        mount("/sys", "sysfs", "sysfs", sys_ro),
        mount("/sys/fs/cgroup", "cgroup", "cgroup", &["ro", "nosuid", "noexec", "nodev"]),
        mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
        mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", &shm_opt]),
    ];
    let user_mounts = user_mounts(input.binds, &r.all_tmpfs())?;
    let covered = |dst: &str| user_mounts.iter().any(|m| m.destination() == Path::new(dst));
    for (path, dst) in [
        (input.etc.resolv_conf, "/etc/resolv.conf"),
        (input.etc.hostname, "/etc/hostname"),
        (input.etc.hosts, "/etc/hosts"),
    ] {
        if !covered(dst) {
            mounts.push(bind(path, dst, hc.readonly_rootfs, api::binds::Propagation::RPrivate));
        }
    }
    mounts.extend(user_mounts);
    let host_net = r.network.is_host();
    // The user namespace is made first and owns the others: sysfs, mqueue and proc
    // mount inside it only from namespaces it owns (the runtime orders this).
    let mut kinds = Vec::new();
    if input.userns.is_some() {
        kinds.push(LinuxNamespaceType::User);
    }
    kinds.extend([LinuxNamespaceType::Mount, LinuxNamespaceType::Ipc, LinuxNamespaceType::Uts]);
    if hc.pid_mode != "host" {
        kinds.push(LinuxNamespaceType::Pid);
    }
    if !host_net {
        kinds.push(LinuxNamespaceType::Network);
    }
    // Docker's default cgroupns: private on a v2 host, the host's on v1.
    let private_cgroupns = match hc.cgroupns_mode.as_str() {
        "private" => true,
        "host" => false,
        _ => input.cgroup_v2,
    };
    if private_cgroupns {
        kinds.push(LinuxNamespaceType::Cgroup);
    }
    let namespaces = kinds
        .into_iter()
        .map(|typ| {
            let joined = input.netns.filter(|_| typ == LinuxNamespaceType::Network);
            let ns = LinuxNamespaceBuilder::default().typ(typ);
            match joined {
                Some(path) => ns.path(path).build(),
                None => ns.build(),
            }
            .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let devices = super::devices::from_host_config(hc)?;
    let resources = resources(hc, devices.rules)?;
    let mut linux = Linux::default();
    linux.set_namespaces(Some(namespaces));
    linux.set_cgroups_path(Some(format!("{}/{}", input.cgroup_parent.trim_end_matches('/'), r.id).into()));
    linux.set_resources(Some(resources));
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    if let Some(remap) = input.userns {
        let (uids, gids) = remap.oci_mappings();
        linux.set_uid_mappings(Some(uids));
        linux.set_gid_mappings(Some(gids));
    }
    let (masked, readonly) = if hc.privileged {
        (None, None)
    } else {
        let own = |paths: &[&str]| Some(paths.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        (own(MASKED_PATHS), own(READONLY_PATHS))
    };
    linux.set_masked_paths(masked);
    linux.set_readonly_paths(readonly);
    linux.set_sysctl((!hc.sysctls.is_empty()).then(|| hc.sysctls.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
    linux.set_devices((!devices.nodes.is_empty()).then_some(devices.nodes));
    // Execs run under the same filter: the runtime applies the spec's to them.
    let seccomp = super::seccomp::for_container(security.seccomp.as_deref(), hc.privileged, &caps).map_err(|e| e.to_string())?;
    linux.set_seccomp(seccomp.map(|f| typed("seccomp profile", f)).transpose()?);
    linux.set_rootfs_propagation(None);
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert("org.berth.container.name".to_string(), r.name.clone());
    if hc.init == Some(true) {
        annotations.insert(runtime::reaper::INIT_ANNOTATION.to_string(), "true".to_string());
    }
    let root = RootBuilder::default()
        .path(input.rootfs)
        .readonly(hc.readonly_rootfs)
        .build()
        .map_err(|e| e.to_string())?;
    let mut spec = Spec::default();
    spec.set_version("1.2.0".to_string());
    spec.set_process(Some(process));
    spec.set_root(Some(root));
    spec.set_mounts(Some(mounts));
    spec.set_linux(Some(linux));
    spec.set_annotations(Some(annotations.into_iter().collect()));
    spec.set_hooks(None);
    spec.set_hostname(None);
    spec.set_domainname(None);
    if !host_net {
        spec.set_hostname(Some(c.hostname.clone()));
        if !c.domainname.is_empty() {
            spec.set_domainname(Some(c.domainname.clone()));
        }
    }
    Ok(spec)
}

/// One of Docker's fixed mounts.
fn mount(destination: &str, typ: &str, source: impl AsRef<Path>, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.into());
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source.as_ref().to_path_buf()));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_tweaks_follow_docker() {
        let mut hc = HostConfig::default();
        assert_eq!(capabilities(&hc).unwrap().len(), DEFAULT_CAPS.len());
        hc.cap_drop = vec!["net_raw".into(), "CAP_CHOWN".into()];
        hc.cap_add = vec!["SYS_ADMIN".into()];
        let c = capabilities(&hc).unwrap();
        assert!(!c.contains(&"CAP_NET_RAW".to_string()) && !c.contains(&"CAP_CHOWN".to_string()));
        assert!(c.contains(&"CAP_SYS_ADMIN".to_string()));
        hc.cap_drop = vec!["ALL".into()];
        hc.cap_add = vec!["kill".into()];
        assert_eq!(capabilities(&hc).unwrap(), vec!["CAP_KILL"]);
        hc.cap_add = vec!["NOT_A_CAP".into()];
        assert_eq!(
            capabilities(&hc).unwrap_err(),
            "invalid capability: NOT_A_CAP"
        );
    }

    #[test]
    fn binds_are_checked() {
        let binds = |spec: &str| vec![api::binds::Bind::parse(spec).unwrap()];
        let none = std::collections::BTreeMap::new();
        let m = user_mounts(&binds("/tmp:/data:ro"), &none).unwrap();
        assert_eq!(m[0].options().as_deref(), Some(&["rbind".to_string(), "rprivate".into(), "ro".into()][..]));
        let m = user_mounts(&binds("/tmp:/data:rshared"), &none).unwrap();
        assert_eq!(m[0].options().as_deref(), Some(&["rbind".to_string(), "rshared".into()][..]));
        assert!(user_mounts(&binds("data:/data"), &none).unwrap_err().contains("named volumes"));
        let tmpfs = std::collections::BTreeMap::from([("run".to_string(), String::new())]);
        assert!(user_mounts(&[], &tmpfs).unwrap_err().contains("absolute path"));
    }

    /// Specs for a few containers, compared with the spec a reference build wrote
    /// (`testdata/spec-*.json`) as the runtime reads them (oci-spec's types, so field
    /// order and set order do not matter). `BERTH_WRITE_SPECS=1` writes them anew.
    #[test]
    fn specs_match_the_reference() {
        let base = super::super::record::Record::parse(include_bytes!("testdata/record-v1.json")).unwrap();
        let mut tty = base.clone();
        tty.config.tty = true;
        tty.host_config.console_size = Some([30, 100]);
        tty.host_config.cap_drop = vec!["ALL".into()];
        tty.host_config.cap_add = vec!["NET_BIND_SERVICE".into(), "KILL".into()];
        tty.host_config.readonly_rootfs = true;
        tty.host_config.tmpfs = [("/run".to_string(), "size=1m".to_string())].into();
        tty.host_config.sysctls = [("net.ipv4.ip_forward".to_string(), "1".to_string())].into();
        tty.host_config.oom_score_adj = 100;
        tty.host_config.init = Some(true);
        tty.host_config.security_opt = vec!["no-new-privileges".into(), "seccomp=unconfined".into()];
        tty.config.domainname = "example.com".into();
        let mut host = base.clone();
        host.network = super::super::record::NetworkMode::Host;
        host.host_config.pid_mode = "host".into();
        host.host_config.cgroupns_mode = "private".into();
        host.host_config.shm_size = 1 << 20;
        host.host_config.resources.ulimits = vec![api::hostconfig::Ulimit { name: "nofile".into(), soft: 100, hard: 200 }];
        let defaults: std::collections::BTreeMap<String, crate::config::Ulimit> =
            [("nproc".to_string(), crate::config::Ulimit { name: "nproc".into(), soft: 10, hard: 20 })].into();
        let user = User { uid: 1000, gid: 1000, additional_gids: vec![5, 7], home: Some("/home/u".into()) };
        for (name, r) in [("base", &base), ("tty", &tty), ("host", &host)] {
            let binds = r.all_binds();
            let input = Input {
                record: r,
                rootfs: Path::new("/run/berth/containers/x/rootfs"),
                user: &user,
                etc: EtcFiles {
                    hostname: Path::new("/run/berth/containers/x/hostname"),
                    hosts: Path::new("/run/berth/containers/x/hosts"),
                    resolv_conf: Path::new("/run/berth/containers/x/resolv.conf"),
                },
                cgroup_parent: "/berth",
                cgroup_v2: false,
                default_ulimits: &defaults,
                userns: None,
                netns: None,
                link_env: &[],
                binds: &binds,
            };
            let built = serde_json::to_value(build(&input).unwrap()).unwrap();
            // A run the network service made a namespace for joins it by its path.
            let joined = build(&Input { netns: Some(Path::new("/run/berth/netns/x")), ..input }).unwrap();
            let net = joined.linux().as_ref().and_then(|l| l.namespaces().clone()).unwrap_or_default();
            let net: Vec<_> = net.iter().filter(|n| n.typ() == LinuxNamespaceType::Network).map(|n| n.path().clone()).collect();
            let host_net = name == "host";
            assert_eq!(net, if host_net { vec![] } else { vec![Some(std::path::PathBuf::from("/run/berth/netns/x"))] }, "{name}");
            let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/containers/testdata/spec-{name}.json"));
            if std::env::var("BERTH_WRITE_SPECS").is_ok() {
                std::fs::write(&file, serde_json::to_string_pretty(&built).unwrap()).unwrap();
            }
            let want: oci_spec::runtime::Spec = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            let got: oci_spec::runtime::Spec = serde_json::from_value(built).unwrap();
            assert_eq!(got, want, "{name}");
        }
    }
}
