//! `run`/`create` flags → the `POST /containers/create` body, field by field
//! as the docker CLI's `parse` builds `Config`, `HostConfig` and
//! `NetworkingConfig`. Everything the daemon can judge (restart policy
//! names, capabilities, network modes) is passed through for it to accept or
//! refuse; only what docker checks client-side is checked here, with its
//! words.

use std::collections::BTreeMap;

use api::EmptyObject;
use api::containers::{ContainerConfig, ContainerCreateBody, HealthConfig};
use api::hostconfig::{DeviceRequest, EndpointIpamConfig, EndpointSettings, LogConfig, RestartPolicy};

use super::spec;
use crate::cli::container::ContainerOpts;
use crate::cli::values;

/// docker's `opts.ParseRestartPolicy`: `name[:max-retries]`, checked for
/// syntax only (the daemon judges the name).
pub fn parse_restart_policy(policy: &str) -> Result<RestartPolicy, String> {
    if policy.is_empty() {
        return Ok(RestartPolicy::default());
    }
    let (name, count) = match policy.split_once(':') {
        Some(("", _)) => return Err("invalid restart policy format: no policy provided before colon".into()),
        Some((n, c)) => (n, c),
        None => (policy, ""),
    };
    let mut p = RestartPolicy { name: name.to_string(), maximum_retry_count: 0 };
    if !count.is_empty() {
        p.maximum_retry_count = count
            .parse::<i64>()
            .map_err(|_| "invalid restart policy format: maximum retry count must be an integer".to_string())?;
    }
    Ok(p)
}

/// Whether a restart policy means "never restart" (`""` or `no`).
fn restart_is_none(p: &RestartPolicy) -> bool {
    p.name.is_empty() || p.name == "no"
}

/// `--security-opt`: checked for a value, with a seccomp profile file read
/// and sent inline; `systempaths=unconfined` becomes empty masked and
/// read-only path lists instead.
fn security_opts(opts: &[String]) -> Result<(Vec<String>, Option<Vec<String>>), String> {
    let mut out = Vec::new();
    let mut unconfined_paths = None;
    for opt in opts {
        if opt == "systempaths=unconfined" {
            unconfined_paths = Some(Vec::new());
            continue;
        }
        let split = opt.split_once('=').or_else(|| if opt == "no-new-privileges" { None } else { opt.split_once(':') });
        let (k, v) = match split {
            Some((k, v)) => (k, v),
            None => (opt.as_str(), ""),
        };
        if v.is_empty() && k != "no-new-privileges" {
            return Err(format!("invalid --security-opt: {opt:?}"));
        }
        if k == "seccomp" && v != "builtin" && v != "unconfined" {
            let data = std::fs::read(v).map_err(|e| format!("opening seccomp profile ({v}) failed: open {v}: {e}"))?;
            let json: serde_json::Value = serde_json::from_slice(&data)
                .map_err(|e| format!("compacting json for seccomp profile ({v}) failed: {e}"))?;
            out.push(format!("seccomp={json}"));
            continue;
        }
        out.push(opt.clone());
    }
    Ok((out, unconfined_paths))
}

/// The environment of the container: `--env-file`s first, then `-e`s (which
/// the flag parser has already completed from this process's environment).
pub fn read_env(opts: &ContainerOpts, lookup: spec::Lookup<'_>) -> Result<Vec<String>, String> {
    let mut env = Vec::new();
    for f in &opts.env_file {
        env.extend(spec::parse_kv_file(f, Some(lookup)).map_err(|e| format!("--env-file: {e}"))?);
    }
    env.extend(opts.env.iter().cloned());
    Ok(env)
}

/// Builds the create body for `image` and its command `args` (docker's
/// `parse`). Errors are worded as docker's; the caller decorates them.
pub fn create_body(opts: &ContainerOpts, image: &str, args: &[String]) -> Result<ContainerCreateBody, String> {
    create_body_with_env(opts, image, args, &|k| std::env::var(k).ok())
}

/// [`create_body`] with the client environment supplied (for `--env-file`).
pub fn create_body_with_env(
    opts: &ContainerOpts,
    image: &str,
    args: &[String],
    lookup: spec::Lookup<'_>,
) -> Result<ContainerCreateBody, String> {
    let attach = |s: &str| opts.attach.iter().any(|a| a == s);
    let mut attach_stdin = attach("stdin");
    let (mut attach_stdout, mut attach_stderr) = (attach("stdout"), attach("stderr"));
    if !opts.mac_address.is_empty() && !valid_mac(&opts.mac_address) {
        return Err(format!("{} is not a valid mac address", opts.mac_address));
    }
    if opts.interactive {
        attach_stdin = true;
    }
    if opts.attach.is_empty() {
        attach_stdout = true;
        attach_stderr = true;
    }
    let swappiness = opts.memory_swappiness;
    if swappiness != -1 && !(0..=100).contains(&swappiness) {
        return Err(format!("invalid value: {swappiness}. Valid memory swappiness range is 0-100"));
    }

    let (binds, anonymous) = spec::split_volumes(&opts.volume)?;
    let tmpfs = spec::parse_tmpfs(&opts.tmpfs);
    let cmd = (!args.is_empty()).then(|| args.to_vec());
    let entrypoint = match opts.entrypoint.as_deref() {
        None => None,
        Some("") => Some(vec![String::new()]),
        Some(e) => Some(vec![e.to_string()]),
    };
    let (exposed, bindings) = spec::parse_ports(&opts.publish, &opts.expose)?;

    let mut devices = Vec::new();
    let mut cdi = Vec::new();
    for d in &opts.device {
        if spec::is_cdi_name(d) {
            cdi.push(d.clone());
        } else {
            devices.push(spec::parse_device(d)?);
        }
    }
    let env = read_env(opts, lookup)?;
    let mut labels = Vec::new();
    for f in &opts.label_file {
        labels.extend(spec::parse_kv_file(f, None).map_err(|e| format!("--label-file: {e}"))?);
    }
    labels.extend(opts.label.iter().cloned());

    for (flag, mode, what) in [
        ("pid", &opts.pid, "PID"),
        ("uts", &opts.uts, "UTS"),
        ("userns", &opts.userns, "USER"),
        ("cgroupns", &opts.cgroupns, "CGROUP"),
    ] {
        if !values::namespace_mode_valid(flag, mode) {
            return Err(format!("--{flag}: invalid {what} mode"));
        }
    }
    let restart_policy = parse_restart_policy(&opts.restart)?;
    if opts.log_driver == "none" && !opts.log_opt.is_empty() {
        return Err(format!("invalid logging opts for driver {}", opts.log_driver));
    }
    let log_config: BTreeMap<String, String> = opts.log_opt.iter().map(|o| values::key_value(o)).collect();
    let (security_opt, unconfined_paths) = security_opts(&opts.security_opt)?;
    let mut storage_opt = BTreeMap::new();
    for o in &opts.storage_opt {
        let Some((k, v)) = o.split_once('=') else { return Err("invalid storage option".into()) };
        storage_opt.insert(k.to_string(), v.to_string());
    }

    let health = healthcheck(opts)?;

    let mut config = ContainerConfig {
        hostname: opts.hostname.clone(),
        domainname: opts.domainname.clone(),
        user: opts.user.clone(),
        attach_stdin,
        attach_stdout,
        attach_stderr,
        exposed_ports: exposed.into_iter().map(|p| (p, EmptyObject)).collect(),
        tty: opts.tty,
        open_stdin: opts.interactive,
        env,
        cmd,
        healthcheck: health,
        image: image.to_string(),
        volumes: anonymous.into_iter().map(|v| (v, EmptyObject)).collect(),
        working_dir: opts.workdir.clone(),
        entrypoint,
        mac_address: opts.mac_address.clone(),
        labels: labels.iter().map(|l| values::key_value(l)).collect(),
        stop_signal: opts.stop_signal.clone(),
        stop_timeout: opts.stop_timeout,
        ..Default::default()
    };
    // When stdin is attached, it closes when the client disconnects.
    config.stdin_once = config.open_stdin && config.attach_stdin;

    let mut body = ContainerCreateBody { config, ..Default::default() };
    let hc = &mut body.host_config;
    hc.binds = binds;
    hc.container_id_file = opts.cidfile.clone();
    hc.oom_score_adj = opts.oom_score_adj;
    hc.auto_remove = opts.rm;
    hc.privileged = opts.privileged;
    hc.port_bindings = bindings.into_iter().map(|(k, v)| (k, Some(v))).collect();
    hc.links = opts.link.clone();
    hc.publish_all_ports = opts.publish_all;
    hc.dns = opts.dns.clone();
    hc.dns_search = opts.dns_search.clone();
    hc.dns_options = opts.dns_option.clone();
    hc.extra_hosts = opts.add_host.clone();
    hc.volumes_from = opts.volumes_from.clone();
    hc.ipc_mode = opts.ipc.clone();
    // No --network: the daemon picks its default network.
    hc.network_mode = opts.network.first().cloned().unwrap_or_default();
    hc.pid_mode = opts.pid.clone();
    hc.uts_mode = opts.uts.clone();
    hc.userns_mode = opts.userns.clone();
    hc.cgroupns_mode = opts.cgroupns.clone();
    hc.cap_add = opts.cap_add.clone();
    hc.cap_drop = opts.cap_drop.clone();
    hc.group_add = opts.group_add.clone();
    hc.restart_policy = restart_policy;
    hc.security_opt = security_opt;
    if let Some(empty) = unconfined_paths {
        hc.masked_paths = empty.clone();
        hc.readonly_paths = empty;
    }
    hc.storage_opt = storage_opt;
    hc.readonly_rootfs = opts.read_only;
    hc.log_config = LogConfig { r#type: opts.log_driver.clone(), config: log_config };
    hc.volume_driver = opts.volume_driver.clone();
    hc.isolation = opts.isolation.clone();
    hc.shm_size = opts.shm_size;
    hc.tmpfs = tmpfs.into_iter().collect();
    hc.sysctls = opts.sysctl.iter().map(|s| values::key_value(s)).collect();
    hc.runtime = opts.runtime.clone();
    hc.mounts = opts.mount.iter().map(|m| spec::parse_mount(m)).collect::<Result<_, _>>()?;
    hc.annotations = opts.annotation.iter().map(|a| values::key_value(a)).collect();
    hc.init = opts.init;

    let r = &mut hc.resources;
    r.cgroup_parent = opts.cgroup_parent.clone();
    r.memory = opts.memory;
    r.memory_reservation = opts.memory_reservation;
    r.memory_swap = opts.memory_swap;
    r.memory_swappiness = Some(opts.memory_swappiness);
    r.oom_kill_disable = Some(opts.oom_kill_disable);
    r.nano_cpus = opts.cpus;
    r.cpu_shares = opts.cpu_shares;
    r.cpu_period = opts.cpu_period;
    r.cpuset_cpus = opts.cpuset_cpus.clone();
    r.cpuset_mems = opts.cpuset_mems.clone();
    r.cpu_quota = opts.cpu_quota;
    r.cpu_realtime_period = opts.cpu_rt_period;
    r.cpu_realtime_runtime = opts.cpu_rt_runtime;
    r.pids_limit = Some(opts.pids_limit);
    r.blkio_weight = opts.blkio_weight;
    r.blkio_weight_device = opts.blkio_weight_device.clone();
    r.blkio_device_read_bps = opts.device_read_bps.clone();
    r.blkio_device_write_bps = opts.device_write_bps.clone();
    r.blkio_device_read_iops = opts.device_read_iops.clone();
    r.blkio_device_write_iops = opts.device_write_iops.clone();
    r.kernel_memory = opts.kernel_memory;
    r.ulimits = dedup_ulimits(&opts.ulimit);
    r.device_cgroup_rules = opts.device_cgroup_rule.clone();
    r.devices = devices;
    if !cdi.is_empty() {
        r.device_requests.push(DeviceRequest { driver: "cdi".into(), device_ids: cdi, ..Default::default() });
    }

    if opts.rm && !restart_is_none(&body.host_config.restart_policy) {
        return Err("conflicting options: cannot specify both --restart and --rm".to_string());
    }
    body.networking_config.endpoints_config = endpoints(opts)?;
    Ok(body)
}

/// `--ulimit`s by name, a later one replacing an earlier one.
fn dedup_ulimits(limits: &[api::hostconfig::Ulimit]) -> Vec<api::hostconfig::Ulimit> {
    let mut out: Vec<api::hostconfig::Ulimit> = Vec::new();
    for u in limits {
        match out.iter_mut().find(|o| o.name == u.name) {
            Some(o) => *o = u.clone(),
            None => out.push(u.clone()),
        }
    }
    out
}

/// The `Healthcheck` of `--health-*`/`--no-healthcheck` (none when unset).
fn healthcheck(opts: &ContainerOpts) -> Result<Option<HealthConfig>, String> {
    let durations = [
        ("interval", opts.health_interval),
        ("timeout", opts.health_timeout),
        ("start-period", opts.health_start_period),
        ("start-interval", opts.health_start_interval),
    ];
    let have = !opts.health_cmd.is_empty()
        || durations.iter().any(|(_, d)| d.unwrap_or(0) != 0)
        || opts.health_retries.unwrap_or(0) != 0;
    if opts.no_healthcheck {
        if have {
            return Err("--no-healthcheck conflicts with --health-* options".to_string());
        }
        return Ok(Some(HealthConfig { test: vec!["NONE".into()], ..Default::default() }));
    }
    if !have {
        return Ok(None);
    }
    let test = if opts.health_cmd.is_empty() { Vec::new() } else { vec!["CMD-SHELL".into(), opts.health_cmd.clone()] };
    for (name, d) in [durations[0], durations[1]] {
        if d.unwrap_or(0) < 0 {
            return Err(format!("--health-{name} cannot be negative"));
        }
    }
    if opts.health_retries.unwrap_or(0) < 0 {
        return Err("--health-retries cannot be negative".to_string());
    }
    for (name, d) in [durations[2], durations[3]] {
        if d.unwrap_or(0) < 0 {
            return Err(format!("--health-{name} cannot be negative"));
        }
    }
    Ok(Some(HealthConfig {
        test,
        interval: opts.health_interval.unwrap_or(0),
        timeout: opts.health_timeout.unwrap_or(0),
        retries: opts.health_retries.unwrap_or(0),
        start_period: opts.health_start_period.unwrap_or(0),
        start_interval: opts.health_start_interval.unwrap_or(0),
    }))
}

/// Whether a network mode names a user-defined network (not `bridge`,
/// `host`, `none`, `default` or `container:…`).
fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// `NetworkingConfig.EndpointsConfig`: the first `--network` carries
/// `--network-alias`, `--ip`, `--ip6`, `--mac-address` and (for a
/// user-defined network) `--link`; an endpoint without settings is left out,
/// as docker does for a single network.
fn endpoints(opts: &ContainerOpts) -> Result<BTreeMap<String, EndpointSettings>, String> {
    let mut out = BTreeMap::new();
    let (mut user_defined, mut builtin) = (false, false);
    let count = opts.network.len();
    for (i, target) in opts.network.iter().enumerate() {
        if target.trim().is_empty() {
            return Err("no name set for network".to_string());
        }
        if is_user_defined(target) {
            user_defined = true;
        } else {
            builtin = true;
        }
        let mut ep = EndpointSettings::default();
        if i == 0 {
            ep.aliases = opts.network_alias.clone();
            if is_user_defined(target) {
                ep.links = opts.link.clone();
            }
            if opts.ip.is_some() || opts.ip6.is_some() {
                ep.ipam_config = Some(EndpointIpamConfig {
                    ipv4_address: opts.ip.clone().unwrap_or_default(),
                    ipv6_address: opts.ip6.clone().unwrap_or_default(),
                    link_local_ips: Vec::new(),
                });
            }
            ep.mac_address = opts.mac_address.clone();
        }
        if !is_user_defined(target) && !ep.aliases.is_empty() {
            return Err("network-scoped aliases are only supported for user-defined networks".to_string());
        }
        if out.contains_key(target) {
            return Err(format!("network {target:?} is specified multiple times"));
        }
        if i == 0 && count == 1 && ep == EndpointSettings::default() {
            continue;
        }
        out.insert(target.clone(), ep);
    }
    if count == 0 && !opts.network_alias.is_empty() {
        return Err("network-scoped aliases are only supported for user-defined networks".to_string());
    }
    if user_defined && builtin {
        return Err(
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes".to_string()
        );
    }
    Ok(out)
}

/// A MAC address in `xx:xx:xx:xx:xx:xx` (or `-`-separated) form.
fn valid_mac(mac: &str) -> bool {
    let mac = mac.trim();
    let parts: Vec<&str> = mac.split([':', '-']).collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::container::RunArgs;
    use clap::{Args, FromArgMatches};

    fn run_args(args: &[&str]) -> RunArgs {
        let cmd = RunArgs::augment_args(clap::Command::new("run").no_binary_name(true));
        let m = cmd.try_get_matches_from(args).expect("parses");
        RunArgs::from_arg_matches(&m).expect("valid")
    }

    fn body(args: &[&str]) -> Result<ContainerCreateBody, String> {
        let a = run_args(args);
        let lookup = |k: &str| (k == "FROM_CLIENT").then(|| "yes".to_string());
        create_body_with_env(&a.opts, &a.args[0], &a.args[1..], &lookup)
    }

    #[test]
    fn image_and_trailing_command() {
        let a = run_args(&["--rm", "busybox", "ls", "-la", "--rm"]);
        assert!(a.opts.rm);
        assert_eq!(a.args, ["busybox", "ls", "-la", "--rm"]);
        let b = body(&["busybox", "sh", "-c", "exit 3"]).expect("valid");
        assert_eq!(b.config.image, "busybox");
        assert_eq!(b.config.cmd, Some(vec!["sh".into(), "-c".into(), "exit 3".into()]));
        assert_eq!(b.config.entrypoint, None);
        let b = body(&["busybox"]).expect("valid");
        assert_eq!(b.config.cmd, None);
        assert!(b.config.attach_stdout && b.config.attach_stderr && !b.config.attach_stdin);
        let a = run_args(&["-it", "-h", "box", "busybox"]);
        assert!(a.opts.interactive && a.opts.tty);
        assert_eq!(a.opts.hostname, "box");
    }

    #[test]
    fn entrypoint_reset_and_override() {
        let b = body(&["--entrypoint", "", "busybox"]).expect("valid");
        assert_eq!(b.config.entrypoint, Some(vec![String::new()]));
        let b = body(&["--entrypoint=/bin/sh", "busybox", "-c", "true"]).expect("valid");
        assert_eq!(b.config.entrypoint, Some(vec!["/bin/sh".into()]));
        assert_eq!(b.config.cmd, Some(vec!["-c".into(), "true".into()]));
        let json = serde_json::to_value(body(&["--entrypoint=", "busybox"]).expect("valid")).expect("json");
        assert_eq!(json["Entrypoint"], serde_json::json!([""]));
    }

    #[test]
    fn env_and_env_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("env");
        std::fs::write(&f, "A=from-file\nB=file\nFROM_CLIENT\nNOT_SET\n").expect("write");
        let b = body(&["--env-file", f.to_str().expect("utf8"), "-e", "A=flag", "-e", "C=", "busybox"]).expect("ok");
        assert_eq!(b.config.env, ["A=from-file", "B=file", "FROM_CLIENT=yes", "A=flag", "C="]);
        let err = body(&["--env-file", "/nonexistent/env", "busybox"]).expect_err("missing file");
        assert_eq!(err, "--env-file: open /nonexistent/env: no such file or directory");
    }

    #[test]
    fn restart_policies() {
        assert_eq!(parse_restart_policy("no"), Ok(RestartPolicy { name: "no".into(), maximum_retry_count: 0 }));
        assert_eq!(
            parse_restart_policy("on-failure:5"),
            Ok(RestartPolicy { name: "on-failure".into(), maximum_retry_count: 5 })
        );
        assert_eq!(
            parse_restart_policy(":3"),
            Err("invalid restart policy format: no policy provided before colon".into())
        );
        assert_eq!(
            parse_restart_policy("on-failure:x"),
            Err("invalid restart policy format: maximum retry count must be an integer".into())
        );
        let b = body(&["busybox"]).expect("valid");
        assert_eq!(b.host_config.restart_policy.name, "no");
        let b = body(&["--restart", "unless-stopped", "busybox"]).expect("valid");
        assert_eq!(b.host_config.restart_policy.name, "unless-stopped");
        assert_eq!(
            body(&["--rm", "--restart", "always", "busybox"]).map(|_| ()),
            Err("conflicting options: cannot specify both --restart and --rm".into())
        );
        assert!(body(&["--rm", "--restart", "no", "busybox"]).is_ok());
    }

    #[test]
    fn resources() {
        let b = body(&[
            "-m",
            "512m",
            "--memory-swap",
            "-1",
            "--memory-reservation",
            "1g",
            "--cpus",
            "1.5",
            "-c",
            "512",
            "--pids-limit",
            "-1",
            "--shm-size",
            "64m",
            "--ulimit",
            "nofile=1024:2048",
            "--ulimit",
            "nofile=10",
            "--oom-score-adj",
            "-500",
            "--blkio-weight",
            "300",
            "busybox",
        ])
        .expect("valid");
        let r = &b.host_config.resources;
        assert_eq!((r.memory, r.memory_swap, r.memory_reservation), (512 << 20, -1, 1 << 30));
        assert_eq!((r.nano_cpus, r.cpu_shares, r.pids_limit), (1_500_000_000, 512, Some(-1)));
        assert_eq!((r.memory_swappiness, r.oom_kill_disable, r.blkio_weight), (Some(-1), Some(false), 300));
        assert_eq!(r.ulimits.len(), 1);
        assert_eq!((r.ulimits[0].soft, r.ulimits[0].hard), (10, 10));
        assert_eq!((b.host_config.shm_size, b.host_config.oom_score_adj), (64 << 20, -500));
        assert!(body(&["--memory-swappiness", "101", "busybox"]).is_err());
    }

    #[test]
    fn ports_labels_and_more() {
        let b =
            body(&["-p", "8080:80", "--expose", "443", "-P", "-l", "a=1", "--label", "b", "busybox"]).expect("valid");
        let mut exposed: Vec<&String> = b.config.exposed_ports.keys().collect();
        exposed.sort();
        assert_eq!(exposed, ["443/tcp", "80/tcp"]);
        let binding = b.host_config.port_bindings["80/tcp"].clone().expect("bound");
        assert_eq!((binding[0].host_ip.as_str(), binding[0].host_port.as_str()), ("", "8080"));
        assert!(b.host_config.publish_all_ports);
        assert_eq!(b.config.labels["a"], "1");
        assert_eq!(b.config.labels["b"], "");
        let b = body(&[
            "-v",
            "/data",
            "-v",
            "/h:/c:ro",
            "--tmpfs",
            "/run:size=1m",
            "--mount",
            "type=bind,src=/s,dst=/d",
            "--init",
            "--stop-timeout",
            "5",
            "--network",
            "host",
            "busybox",
        ])
        .expect("valid");
        assert_eq!(b.host_config.binds, ["/h:/c:ro"]);
        assert!(b.config.volumes.contains_key("/data"));
        assert_eq!(b.host_config.tmpfs["/run"], "size=1m");
        assert_eq!(b.host_config.mounts[0].target, "/d");
        assert_eq!((b.host_config.init, b.config.stop_timeout), (Some(true), Some(5)));
        assert_eq!(b.host_config.network_mode, "host");
        assert!(b.networking_config.endpoints_config.is_empty());
        let b = body(&["--init=false", "busybox"]).expect("valid");
        assert_eq!(b.host_config.init, Some(false));
        let b = body(&["busybox"]).expect("valid");
        assert_eq!((b.host_config.init, b.config.stop_timeout), (None, None));
        assert_eq!(b.host_config.network_mode, "");
        let b = body(&["-i", "busybox"]).expect("valid");
        assert!(b.config.open_stdin && b.config.attach_stdin && b.config.stdin_once);
        let b = body(&["-a", "stdout", "busybox"]).expect("valid");
        assert!(b.config.attach_stdout && !b.config.attach_stderr);
    }

    #[test]
    fn healthchecks() {
        let b = body(&["--health-cmd", "true", "--health-interval", "1m30s", "--health-retries", "3", "busybox"])
            .expect("valid");
        let h = b.config.healthcheck.expect("healthcheck");
        assert_eq!(h.test, ["CMD-SHELL", "true"]);
        assert_eq!((h.interval, h.retries), (90_000_000_000, 3));
        let b = body(&["--no-healthcheck", "busybox"]).expect("valid");
        assert_eq!(b.config.healthcheck.expect("healthcheck").test, ["NONE"]);
        assert_eq!(
            body(&["--no-healthcheck", "--health-cmd", "x", "busybox"]).map(|_| ()),
            Err("--no-healthcheck conflicts with --health-* options".into())
        );
        assert_eq!(
            body(&["--health-interval=-1s", "busybox"]).map(|_| ()),
            Err("--health-interval cannot be negative".into())
        );
    }
}
