//! `berth info` (and `berth system info`): docker's report of the client and
//! the daemon (counts, drivers, cgroups, runtimes, kernel and OS, CPUs and
//! memory, root dir …), or `--format` on docker's `dockerInfo` (the `/info`
//! fields at the top level, plus `ClientInfo`).
//!
//! As docker: a template that only reads client fields does not contact the
//! daemon; an unreachable daemon still prints the client part, then the error
//! (exit 1); a template that does not parse exits 64.

use std::fmt::Write as _;

use api::system::SystemInfo;

use crate::cli::InfoArgs;
use crate::commands::version::ClientVersion;
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::humanize::bytes_size;
use crate::format::{Struct, Template, Value, to_value};

/// Docker's `clientInfo`: debug mode, the client version, plugins, warnings.
fn client_info(cli: &Cli<'_>, with_api: bool) -> Struct {
    Struct::new("*system.clientInfo")
        .field("Debug", cli.debug)
        .embed(ClientVersion::current(cli.api_version()).to_struct("system.clientVersion", !with_api))
        .field("Plugins", Vec::<Value>::new())
        .field("Warnings", Value::Null)
}

/// The field order of docker's `system.Info`, which its JSON output follows.
const INFO_FIELDS: &[&str] = &[
    "ID",
    "Containers",
    "ContainersRunning",
    "ContainersPaused",
    "ContainersStopped",
    "Images",
    "Driver",
    "DriverStatus",
    "SystemStatus",
    "Plugins",
    "MemoryLimit",
    "SwapLimit",
    "KernelMemory",
    "KernelMemoryTCP",
    "CpuCfsPeriod",
    "CpuCfsQuota",
    "CPUShares",
    "CPUSet",
    "PidsLimit",
    "IPv4Forwarding",
    "BridgeNfIptables",
    "BridgeNfIp6tables",
    "Debug",
    "NFd",
    "OomKillDisable",
    "NGoroutines",
    "SystemTime",
    "LoggingDriver",
    "CgroupDriver",
    "CgroupVersion",
    "NEventsListener",
    "KernelVersion",
    "OperatingSystem",
    "OSVersion",
    "OSType",
    "Architecture",
    "IndexServerAddress",
    "RegistryConfig",
    "NCPU",
    "MemTotal",
    "GenericResources",
    "DockerRootDir",
    "HttpProxy",
    "HttpsProxy",
    "NoProxy",
    "Name",
    "Labels",
    "ExperimentalBuild",
    "ServerVersion",
    "Runtimes",
    "DefaultRuntime",
    "Swarm",
    "LiveRestoreEnabled",
    "Isolation",
    "InitBinary",
    "ContainerdCommit",
    "RuncCommit",
    "InitCommit",
    "SecurityOptions",
    "ProductLicense",
    "DefaultAddressPools",
    "CDISpecDirs",
    "Warnings",
];

/// Docker's `dockerInfo`: the daemon's info embedded, then client data.
fn info_value(info: &SystemInfo, client: Struct, server_errors: Vec<String>) -> Result<Value> {
    let mut server = match to_value(info).map_err(|e| CliError::Other(e.to_string()))? {
        Value::Struct(s) => s,
        _ => Struct::new("system.Info"),
    };
    if server.get("RegistryConfig").is_none() {
        server.push("RegistryConfig", Value::Null, false);
    }
    server.fields.sort_by_key(|f| INFO_FIELDS.iter().position(|n| *n == f.name).unwrap_or(INFO_FIELDS.len()));
    Ok(Struct::new("system.dockerInfo")
        .embed(server)
        .field_omitempty("ServerErrors", server_errors)
        .field("ClientInfo", client)
        .field_omitempty("ClientErrors", Vec::<String>::new())
        .into())
}

/// Whether `format` reads daemon data: docker runs it on the client part alone
/// and asks the daemon only if that fails.
fn needs_server(format: &str, client: &Struct) -> bool {
    if matches!(format, "" | "json" | "{{json .}}") {
        return true;
    }
    let has_field = format.as_bytes().windows(2).any(|w| w[0] == b'.' && w[1].is_ascii_alphabetic());
    if !has_field {
        return true;
    }
    let Ok(t) = Template::parse(format) else {
        return true;
    };
    let sparse: Value = Struct::new("system.sparseInfo")
        .field("ClientInfo", client.clone())
        .field_omitempty("ClientErrors", Vec::<String>::new())
        .into();
    t.render(&sparse).is_err()
}

pub async fn run(cli: &mut Cli<'_>, args: InfoArgs) -> Result<()> {
    let format = args.format.unwrap_or_default();
    let template = match format.as_str() {
        "" => None,
        "json" => Some("{{json .}}"),
        f => Some(f),
    };
    let mut server_errors = Vec::new();
    let mut conn_err = None;
    let mut info = None;
    if needs_server(template.unwrap_or(""), &client_info(cli, false)) {
        match fetch(cli).await {
            Ok(i) => info = Some(i),
            Err(e @ (CliError::Connect { .. } | CliError::Client(api::ClientError::InvalidHost { .. }))) => {
                conn_err = Some(e)
            }
            Err(e) => {
                if template.is_some() {
                    writeln!(cli.err, "{e}")?;
                }
                server_errors.push(e.to_string());
            }
        }
    }
    let Some(template) = template else {
        let client = ClientVersion::current(cli.api_version());
        let mut out = String::new();
        let mut warnings = Vec::new();
        pretty_client(&mut out, &client, cli.debug);
        out.push_str("\nServer:\n");
        if let Some(i) = &info {
            pretty_server(&mut out, i, cli.debug);
            warnings = i.warnings.clone();
        }
        cli.out.write_all(out.as_bytes())?;
        for e in &server_errors {
            writeln!(cli.err, "ERROR: {e}")?;
        }
        for w in warnings {
            writeln!(cli.err, "{w}")?;
        }
        if let Some(e) = conn_err {
            return Err(e);
        }
        if !server_errors.is_empty() {
            return Err(CliError::Other("errors pretty printing info".into()));
        }
        return Ok(());
    };
    let t = Template::parse(template).map_err(|e| CliError::status(64, format!("template parsing error: {e}")))?;
    let data = info_value(&info.unwrap_or_default(), client_info(cli, false), server_errors)?;
    let mut text = String::new();
    let exec = t.execute(&data, &mut text);
    text.push('\n');
    cli.out.write_all(text.as_bytes())?;
    if let Some(e) = conn_err {
        return Err(e);
    }
    exec.map_err(CliError::from)
}

async fn fetch(cli: &mut Cli<'_>) -> Result<SystemInfo> {
    Ok(cli.negotiated_client().await?.get_json::<SystemInfo>("/info", &[]).await?)
}

/// Go's `fmt.Println(label, value)`.
fn line(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{label} {value}");
}

/// Like [`line`], only when `value` is not empty.
fn line_non_empty(out: &mut String, label: &str, value: &str) {
    if !value.is_empty() {
        line(out, label, value);
    }
}

fn pretty_client(out: &mut String, c: &ClientVersion, debug: bool) {
    out.push_str("Client:\n");
    line_non_empty(out, " Version:   ", &c.version);
    line(out, " Context:   ", &c.context);
    line(out, " Debug Mode:", debug);
}

/// `name=seccomp,profile=builtin` → (`seccomp`, [(`profile`, `builtin`)]); any
/// malformed entry drops them all, as docker's decoder fails then.
fn decode_security_options(opts: &[String]) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for opt in opts {
        let mut name = String::new();
        let mut kvs = Vec::new();
        for part in opt.split(',') {
            match part.split_once('=') {
                Some(("", _)) | None => return Vec::new(),
                Some(("name", v)) => name = v.to_string(),
                Some((k, v)) => kvs.push((k.to_string(), v.to_string())),
            }
        }
        out.push((name, kvs));
    }
    out
}

/// The Server part of docker's `info` report.
pub fn pretty_server(out: &mut String, i: &SystemInfo, client_debug: bool) {
    line(out, " Containers:", i.containers);
    line(out, "  Running:", i.containers_running);
    line(out, "  Paused:", i.containers_paused);
    line(out, "  Stopped:", i.containers_stopped);
    line(out, " Images:", i.images);
    line_non_empty(out, " Server Version:", &i.server_version);
    line_non_empty(out, " Storage Driver:", &i.driver);
    for [k, v] in &i.driver_status {
        let _ = writeln!(out, "  {k}: {v}");
    }
    line_non_empty(out, " Logging Driver:", &i.logging_driver);
    line_non_empty(out, " Cgroup Driver:", &i.cgroup_driver);
    line_non_empty(out, " Cgroup Version:", &i.cgroup_version);
    out.push_str(" Plugins:\n");
    line(out, "  Volume:", i.plugins.volume.join(" "));
    line(out, "  Network:", i.plugins.network.join(" "));
    if !i.plugins.authorization.is_empty() {
        line(out, "  Authorization:", i.plugins.authorization.join(" "));
    }
    line(out, "  Log:", i.plugins.log.join(" "));
    if !i.cdi_spec_dirs.is_empty() {
        out.push_str(" CDI spec directories:\n");
        for d in &i.cdi_spec_dirs {
            let _ = writeln!(out, "  {d}");
        }
    }
    line(out, " Swarm:", &i.swarm.local_node_state);
    if !matches!(i.swarm.local_node_state.as_str(), "inactive" | "locked") {
        line(out, "  NodeID:", &i.swarm.node_id);
        if !i.swarm.error.is_empty() {
            line(out, "  Error:", &i.swarm.error);
        }
        line(out, "  Is Manager:", i.swarm.control_available);
        line(out, "  Node Address:", &i.swarm.node_addr);
    }
    if !i.runtimes.is_empty() {
        let mut names: Vec<&str> = i.runtimes.keys().map(String::as_str).collect();
        names.sort_unstable();
        line(out, " Runtimes:", names.join(" "));
        line(out, " Default Runtime:", &i.default_runtime);
    }
    if i.os_type == "linux" {
        line(out, " Init Binary:", &i.init_binary);
        line(out, " containerd version:", &i.containerd_commit.id);
        line(out, " runc version:", &i.runc_commit.id);
        line(out, " init version:", &i.init_commit.id);
        let secopts = decode_security_options(&i.security_options);
        if !secopts.is_empty() {
            out.push_str(" Security Options:\n");
            for (name, kvs) in secopts {
                let _ = writeln!(out, "  {name}");
                for (k, v) in kvs {
                    if k == "profile" {
                        line(out, "   Profile:", v);
                    }
                }
            }
        }
    }
    line_non_empty(out, " Kernel Version:", &i.kernel_version);
    line_non_empty(out, " Operating System:", &i.operating_system);
    line_non_empty(out, " OSType:", &i.os_type);
    line_non_empty(out, " Architecture:", &i.architecture);
    line(out, " CPUs:", i.ncpu);
    line(out, " Total Memory:", bytes_size(i.mem_total as f64));
    line_non_empty(out, " Name:", &i.name);
    line_non_empty(out, " ID:", &i.id);
    line(out, " Docker Root Dir:", &i.docker_root_dir);
    line(out, " Debug Mode:", i.debug);
    if i.debug || client_debug {
        line(out, "  File Descriptors:", i.n_fd);
        line(out, "  Goroutines:", i.n_goroutines);
        line(out, "  System Time:", &i.system_time);
        line(out, "  EventsListeners:", i.n_events_listener);
    }
    line_non_empty(out, " HTTP Proxy:", &i.http_proxy);
    line_non_empty(out, " HTTPS Proxy:", &i.https_proxy);
    line_non_empty(out, " No Proxy:", &i.no_proxy);
    if !i.labels.is_empty() {
        out.push_str(" Labels:\n");
        for l in &i.labels {
            let _ = writeln!(out, "  {l}");
        }
    }
    line(out, " Experimental:", i.experimental_build);
    if let Some(rc) = &i.registry_config {
        if !rc.insecure_registry_cidrs.is_empty() || !rc.index_configs.is_empty() {
            out.push_str(" Insecure Registries:\n");
            let mut names: Vec<&str> =
                rc.index_configs.values().filter(|c| !c.secure).map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            for n in names {
                let _ = writeln!(out, "  {n}");
            }
            for cidr in &rc.insecure_registry_cidrs {
                let _ = writeln!(out, "  {cidr}");
            }
        }
        if !rc.mirrors.is_empty() {
            out.push_str(" Registry Mirrors:\n");
            for m in &rc.mirrors {
                let _ = writeln!(out, "  {m}");
            }
        }
    }
    line(out, " Live Restore Enabled:", i.live_restore_enabled);
    if !i.product_license.is_empty() {
        line(out, " Product License:", &i.product_license);
    }
    if !i.default_address_pools.is_empty() {
        out.push_str(" Default Address Pools:\n");
        for p in &i.default_address_pools {
            let _ = writeln!(out, "   Base: {}, Size: {}", p.base, p.size);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn info() -> SystemInfo {
        SystemInfo {
            id: "db758da7".into(),
            containers: 3,
            containers_running: 1,
            containers_stopped: 2,
            images: 4,
            driver: "overlay2".into(),
            driver_status: vec![["Backing Filesystem".into(), "extfs".into()]],
            docker_root_dir: "/var/lib/berth".into(),
            logging_driver: "json-file".into(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: "2".into(),
            kernel_version: "6.1.0".into(),
            operating_system: "Debian GNU/Linux 12 (bookworm)".into(),
            os_type: "linux".into(),
            architecture: "x86_64".into(),
            ncpu: 2,
            mem_total: 25_275_138_048,
            name: "vm".into(),
            server_version: "0.1.0".into(),
            runtimes: BTreeMap::from([("runc".into(), Default::default()), ("berth".into(), Default::default())]),
            default_runtime: "berth".into(),
            init_binary: "berth-init".into(),
            security_options: vec!["name=seccomp,profile=builtin".into(), "name=cgroupns".into()],
            ..Default::default()
        }
    }

    #[test]
    fn server_report_like_docker() {
        let mut out = String::new();
        pretty_server(&mut out, &info(), false);
        let want = " Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 4\n Server Version: 0.1.0\n Storage Driver: overlay2\n  Backing Filesystem: extfs\n Logging Driver: json-file\n Cgroup Driver: cgroupfs\n Cgroup Version: 2\n Plugins:\n  Volume: \n  Network: \n  Log: \n Swarm: inactive\n Runtimes: berth runc\n Default Runtime: berth\n Init Binary: berth-init\n containerd version: \n runc version: \n init version: \n Security Options:\n  seccomp\n   Profile: builtin\n  cgroupns\n Kernel Version: 6.1.0\n Operating System: Debian GNU/Linux 12 (bookworm)\n OSType: linux\n Architecture: x86_64\n CPUs: 2\n Total Memory: 23.54GiB\n Name: vm\n ID: db758da7\n Docker Root Dir: /var/lib/berth\n Debug Mode: false\n Experimental: false\n Live Restore Enabled: false\n\n";
        assert_eq!(out, want);
        let mut debug = String::new();
        pretty_server(&mut debug, &info(), true);
        assert!(debug.contains(" Debug Mode: false\n  File Descriptors: 0\n  Goroutines: 0\n"));
    }

    #[test]
    fn template_data_has_info_fields_and_client_info() {
        let client = Struct::new("*system.clientInfo").field("Debug", false).field("Version", "0.1.0");
        let v = info_value(&info(), client, Vec::new()).expect("converts");
        let t = Template::parse("{{.ID}} {{.NCPU}} {{.Swarm.LocalNodeState}} {{json .Swarm}} {{.ClientInfo.Version}}")
            .expect("parses");
        assert_eq!(
            t.render(&v).expect("renders"),
            r#"db758da7 2 inactive {"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","ControlAvailable":false,"Error":"","RemoteManagers":null} 0.1.0"#
        );
        let err = Template::parse("{{.Nope}}").expect("parses").render(&v).expect_err("no field");
        assert!(err.to_string().ends_with("can't evaluate field Nope in type system.dockerInfo"));
    }

    #[test]
    fn client_only_templates_skip_the_daemon() {
        let client = Struct::new("*system.clientInfo").field("Debug", false).field("Version", "0.1.0");
        assert!(!needs_server("{{.ClientInfo.Version}}", &client));
        assert!(needs_server("{{.ID}}", &client));
        assert!(needs_server("json", &client));
        assert!(needs_server("plain text", &client));
        assert!(needs_server("{{.ClientInfo.Version", &client));
    }

    #[test]
    fn security_options() {
        let opts = vec!["name=seccomp,profile=default".to_string(), "name=rootless".to_string()];
        assert_eq!(
            decode_security_options(&opts),
            vec![
                ("seccomp".to_string(), vec![("profile".to_string(), "default".to_string())]),
                ("rootless".to_string(), vec![])
            ]
        );
        assert!(decode_security_options(&["seccomp".to_string()]).is_empty());
    }
}
