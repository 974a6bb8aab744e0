//! What `/version` and `/info` report: facts about this host and this daemon, read
//! from the kernel and /proc, never made up.

use std::collections::BTreeMap;

use api::system::{
    ComponentVersion, PlatformInfo, RuntimeInfo, SwarmInfo, SystemInfo, SystemVersion,
};
use api::version::{API_VERSION, MIN_API_VERSION};

use crate::config::Config;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn uname() -> nix::sys::utsname::UtsName {
    nix::sys::utsname::uname().expect("uname cannot fail")
}

fn kernel_version() -> String {
    uname().release().to_string_lossy().into_owned()
}

/// Docker's architecture names (GOARCH), not the kernel's.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

pub fn version() -> SystemVersion {
    let mut details = BTreeMap::new();
    details.insert("ApiVersion".to_string(), API_VERSION.to_string());
    details.insert("MinAPIVersion".to_string(), MIN_API_VERSION.to_string());
    details.insert("Os".to_string(), "linux".to_string());
    details.insert("Arch".to_string(), go_arch().to_string());
    details.insert("KernelVersion".to_string(), kernel_version());
    SystemVersion {
        platform: PlatformInfo {
            name: format!("berth {VERSION}"),
        },
        components: vec![ComponentVersion {
            name: "Engine".into(),
            version: VERSION.into(),
            details: Some(details),
        }],
        version: VERSION.into(),
        api_version: API_VERSION.to_string(),
        min_api_version: MIN_API_VERSION.to_string(),
        git_commit: option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown").into(),
        go_version: "rust".into(),
        os: "linux".into(),
        arch: go_arch().into(),
        kernel_version: kernel_version(),
        experimental: false,
        build_time: String::new(),
    }
}

/// Container counts, filled in by the container manager.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub running: i64,
    pub paused: i64,
    pub stopped: i64,
    pub images: i64,
}

/// The storage driver's name as Docker reports it, and the backing filesystem.
pub struct Storage {
    pub driver: &'static str,
    pub backing_fs: String,
}

pub fn storage(data_root: &std::path::Path, overlay: bool) -> Storage {
    let backing_fs = match nix::sys::statfs::statfs(data_root).map(|s| s.filesystem_type().0) {
        Ok(0xEF53) => "extfs",
        Ok(0x5846_5342) => "xfs",
        Ok(0x9123_683E) => "btrfs",
        Ok(0x0102_1994) => "tmpfs",
        Ok(0x794C_7630) => "overlayfs",
        Ok(_) => "unknown",
        Err(_) => "unknown",
    }
    .to_string();
    Storage {
        driver: if overlay { "overlay2" } else { "vfs" },
        backing_fs,
    }
}

/// Threads of this process (what Docker reports as NGoroutines is its concurrency).
fn threads() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(1)
}

pub fn info(config: &Config, counts: Counts, listeners: usize, storage: Storage) -> SystemInfo {
    let cgroup_version = match cgroups::detect().map(|h| h.version()) {
        Ok(cgroups::CgroupVersion::V2) => "2",
        _ => "1",
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .unwrap_or(0)
        * 1024;
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os_field = |key: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let n_fd = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as i64)
        .unwrap_or(0);
    let on = |path: &str| std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1");
    let ipv4_forwarding = on("/proc/sys/net/ipv4/ip_forward");
    let runtimes = config
        .runtimes
        .iter()
        .map(|(name, rt)| {
            (
                name.clone(),
                RuntimeInfo {
                    path: rt.path.clone(),
                    runtime_args: rt.runtime_args.clone(),
                    status: BTreeMap::new(),
                },
            )
        })
        .collect();
    let hostname = uname().nodename().to_string_lossy().into_owned();
    SystemInfo {
        id: daemon_id(config),
        containers: counts.running + counts.paused + counts.stopped,
        containers_running: counts.running,
        containers_paused: counts.paused,
        containers_stopped: counts.stopped,
        images: counts.images,
        driver: storage.driver.into(),
        driver_status: vec![
            ["Backing Filesystem".into(), storage.backing_fs],
            ["Supports d_type".into(), "true".into()],
        ],
        docker_root_dir: config.data_root.display().to_string(),
        memory_limit: true,
        swap_limit: true,
        cpu_cfs_period: true,
        cpu_cfs_quota: true,
        cpu_shares: true,
        cpu_set: true,
        pids_limit: true,
        oom_kill_disable: cgroup_version == "1",
        ipv4_forwarding,
        bridge_nf_iptables: on("/proc/sys/net/bridge/bridge-nf-call-iptables"),
        bridge_nf_ip6tables: on("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
        default_address_pools: config
            .address_pools
            .iter()
            .map(|p| api::system::NetworkAddressPool { base: p.base.to_string(), size: i64::from(p.size) })
            .collect(),
        debug: config.log_level == "debug",
        n_fd,
        n_goroutines: threads(),
        system_time: api::time::format_rfc3339_nano(chrono::Utc::now()),
        logging_driver: "json-file".into(),
        cgroup_driver: "cgroupfs".into(),
        cgroup_version: cgroup_version.into(),
        n_events_listener: listeners as i64,
        kernel_version: kernel_version(),
        operating_system: os_field("PRETTY_NAME"),
        os_version: os_field("VERSION_ID"),
        os_type: "linux".into(),
        architecture: std::env::consts::ARCH.into(),
        ncpu: std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1),
        mem_total,
        index_server_address: "https://index.docker.io/v1/".into(),
        name: hostname,
        server_version: VERSION.into(),
        runtimes,
        default_runtime: config.default_runtime.clone(),
        swarm: SwarmInfo {
            local_node_state: "inactive".into(),
            ..Default::default()
        },
        live_restore_enabled: config.live_restore,
        isolation: String::new(),
        init_binary: "berth-init".into(),
        security_options: [
            Some("name=seccomp,profile=builtin"),
            config.remap.is_some().then_some("name=userns"),
            Some("name=cgroupns"),
        ]
        .into_iter()
        .flatten()
        .map(String::from)
        .collect(),
        ..Default::default()
    }
}

/// A stable id for this daemon's data root, generated once and kept there.
fn daemon_id(config: &Config) -> String {
    let path = config.data_root.join("engine-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return id.trim().to_string();
    }
    let mut bytes = [0u8; 16];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let id = format!(
        "{}-{}-{}-{}-{}",
        &id[..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..]
    );
    // Written atomically: a torn id would change the daemon's identity.
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, &id).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
    id
}
