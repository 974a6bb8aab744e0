//! How containers are shown: inspect (Docker's JSON shape), `ps` summaries with their
//! human status ("Up 2 minutes", "Exited (0) 3 seconds ago"), list filters, and the
//! attributes of container events.

use std::collections::BTreeMap;

use api::containers::{
    ContainerInspect, ContainerState, ContainerSummary, EndpointSettings, GraphDriverData,
    MountPoint, NetworkSettings, SummaryHostConfig, SummaryNetworkSettings,
};
use api::filters::Filters;
use chrono::{DateTime, Utc};

use super::Paths;
use super::record::{Record, Status};
use crate::error::{Error, Result};
use super::Containers;

/// Go's zero time, as Docker prints a time never set.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(api::time::format_rfc3339_nano)
        .unwrap_or_else(|| ZERO_TIME.to_string())
}

/// `image`, `name` and the labels: what Docker attaches to every container event.
pub fn event_attributes(r: &Record) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = r.config.labels.clone();
    a.insert("image".into(), r.image_name.clone());
    a.insert("name".into(), r.name.clone());
    a
}

/// Docker's `units.HumanDuration` (negative durations read as zero).
pub fn human_duration(d: chrono::Duration) -> String {
    api::time::human_duration(d.to_std().unwrap_or_default())
}

/// The `Status` column of `ps`.
pub fn human_status(r: &Record, now: DateTime<Utc>) -> String {
    let since = |t: Option<DateTime<Utc>>| human_duration(now - t.unwrap_or(now));
    match r.state.status {
        Status::Running => match &r.state.health {
            Some(h) => format!("Up {} ({})", since(r.state.started_at), super::health::summary(h)),
            None => format!("Up {}", since(r.state.started_at)),
        },
        Status::Paused => format!("Up {} (Paused)", since(r.state.started_at)),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            r.state.exit_code,
            since(r.state.finished_at)
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Created => "Created".into(),
        Status::Exited if r.state.finished_at.is_none() => "Created".into(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            r.state.exit_code,
            since(r.state.finished_at)
        ),
    }
}

fn networks(r: &Record) -> BTreeMap<String, EndpointSettings> {
    let mode: String = r.network.clone().into();
    let mut m = BTreeMap::new();
    // Another container's network is that container's to show.
    if matches!(r.network, super::record::NetworkMode::Container(_)) {
        return m;
    }
    if r.networks.is_empty() {
        m.insert(mode.clone(), EndpointSettings { network_id: mode, ..Default::default() });
        return m;
    }
    for a in &r.networks {
        let mut settings = EndpointSettings { network_id: a.network_id.clone(), aliases: a.aliases.clone(), ..Default::default() };
        if a.ipv4.is_some() || a.ipv6.is_some() {
            settings.ipam_config = Some(api::hostconfig::EndpointIpamConfig {
                ipv4_address: a.ipv4.map(|ip| ip.to_string()).unwrap_or_default(),
                ipv6_address: a.ipv6.map(|ip| ip.to_string()).unwrap_or_default(),
                ..Default::default()
            });
        }
        // The default bridge has no names; a user network's are the container's
        // name, its aliases and its short id.
        if a.network != "bridge" {
            settings.dns_names = std::iter::once(r.name.clone()).chain(a.aliases.iter().cloned()).chain(std::iter::once(r.id[..12].to_string())).collect();
        }
        if let Some(ep) = r.state.endpoints.iter().find(|e| e.network_id == a.network_id || e.network == a.network) {
            settings.network_id = ep.network_id.clone();
            settings.endpoint_id = ep.endpoint_id.clone();
            settings.ip_address = ep.ip.to_string();
            settings.ip_prefix_len = i64::from(ep.prefix);
            settings.gateway = ep.gateway.to_string();
            settings.mac_address = ep.mac.clone();
            if let Some(v6) = ep.ipv6 {
                settings.global_ipv6_address = v6.ip.to_string();
                settings.global_ipv6_prefix_len = i64::from(v6.prefix);
                settings.ipv6_gateway = v6.gateway.to_string();
            }
        }
        m.insert(a.network.clone(), settings);
    }
    m
}

/// `NetworkSettings.Ports` of a running container: each exposed port, with the host
/// bindings it was published on (none: `null`), as Docker shows them.
fn ports(r: &Record) -> api::hostconfig::PortMap {
    let mut map = api::hostconfig::PortMap::new();
    if !r.state.status.is_live() {
        return map;
    }
    for (port, proto) in r.config.exposed_ports.keys().filter_map(|k| super::record::port_key(k)) {
        map.insert(format!("{port}/{proto}"), None);
    }
    for p in &r.state.ports {
        let binding = api::hostconfig::PortBinding { host_ip: p.shown_host_ip(), host_port: p.host_port.to_string() };
        map.entry(format!("{}/{}", p.container_port, p.proto)).or_insert(None).get_or_insert_with(Vec::new).push(binding);
    }
    map
}

/// `ps`'s ports: each published one with its host address and port, then each exposed
/// one that is not.
fn summary_ports(r: &Record) -> Vec<api::containers::Port> {
    use api::containers::Port;
    if !r.state.status.is_live() {
        return Vec::new();
    }
    let mut out: Vec<Port> = r
        .state
        .ports
        .iter()
        .map(|p| Port { ip: Some(p.shown_host_ip()), private_port: p.container_port, public_port: Some(p.host_port), r#type: p.proto.clone() })
        .collect();
    for (port, proto) in r.config.exposed_ports.keys().filter_map(|k| super::record::port_key(k)) {
        if !out.iter().any(|p| p.private_port == port && p.r#type == proto) {
            out.push(Port { ip: None, private_port: port, public_port: None, r#type: proto.to_string() });
        }
    }
    out.sort_by_key(|p| (p.private_port, p.public_port));
    out
}

fn mounts(r: &Record) -> Vec<MountPoint> {
    let mut out: Vec<MountPoint> = r
        .all_binds()
        .iter()
        .map(|b| MountPoint {
            r#type: "bind".into(),
            rw: !b.read_only,
            propagation: b.propagation.to_string(),
            source: b.source.clone(),
            destination: b.destination.clone(),
            mode: b.mode.clone(),
            ..Default::default()
        })
        .collect();
    out.extend(r.volumes.iter().map(|v| MountPoint {
        r#type: "volume".into(),
        name: v.name.clone(),
        source: v.source.clone(),
        destination: v.destination.clone(),
        driver: "local".into(),
        mode: v.mode.clone(),
        rw: !v.read_only,
        propagation: String::new(),
    }));
    out.extend(r.image_mounts.iter().map(|m| MountPoint {
        r#type: "image".into(),
        source: m.source.clone(),
        destination: m.destination.clone(),
        rw: false,
        propagation: "rprivate".into(),
        ..Default::default()
    }));
    out.extend(r.all_tmpfs().into_keys().map(|dst| MountPoint {
        r#type: "tmpfs".into(),
        destination: dst,
        rw: true,
        ..Default::default()
    }));
    out
}

/// `GET /containers/{id}/json`.
/// `exec_ids`: the container's running execs (`ExecIDs`, null when none, as Docker).
pub fn inspect(r: &Record, paths: &Paths, size: Option<(i64, i64)>, exec_ids: Vec<String>) -> ContainerInspect {
    let run_dir = paths.run_dir(&r.id);
    let st = &r.state;
    let state = ContainerState {
        status: if st.status == Status::Exited && st.finished_at.is_none() {
            "created".into()
        } else {
            st.status.as_str().into()
        },
        running: st.status.is_live(),
        paused: st.status == Status::Paused,
        restarting: st.status == Status::Restarting,
        oom_killed: st.oom_killed,
        dead: st.status == Status::Dead,
        pid: st.pid as i64,
        exit_code: st.exit_code,
        error: st.error.clone(),
        started_at: time(st.started_at),
        finished_at: time(st.finished_at),
        health: st.health.clone().map(|mut h| {
            h.status = super::health::status_of(&h).to_string();
            h
        }),
    };
    let mut config = r.config.clone();
    config.image = r.image_name.clone();
    let mut graph = BTreeMap::new();
    graph.insert(
        "MergedDir".to_string(),
        paths.rootfs(&r.id).display().to_string(),
    );
    let log_path = if r.log.driver == super::record::LogDriver::None {
        String::new()
    } else {
        paths.log(&r.id).display().to_string()
    };
    ContainerInspect {
        id: r.id.clone(),
        created: api::time::format_rfc3339_nano(r.created),
        path: r.path.clone(),
        args: r.args.clone(),
        state,
        image: r.image_id.clone(),
        resolv_conf_path: run_dir.join("resolv.conf").display().to_string(),
        hostname_path: run_dir.join("hostname").display().to_string(),
        hosts_path: run_dir.join("hosts").display().to_string(),
        log_path,
        name: format!("/{}", r.name),
        restart_count: st.restart_count,
        driver: "overlay2".into(),
        platform: "linux".into(),
        mount_label: String::new(),
        process_label: String::new(),
        app_armor_profile: String::new(),
        exec_ids: (!exec_ids.is_empty()).then_some(exec_ids),
        host_config: {
            let mut hc = r.host_config_wire();
            // Unset means the kernel's default, which dockerd shows as false.
            hc.resources.oom_kill_disable.get_or_insert(false);
            hc.console_size.get_or_insert([0, 0]);
            hc
        },
        graph_driver: GraphDriverData {
            name: "overlay2".into(),
            data: graph,
        },
        size_rw: size.map(|s| s.0),
        size_root_fs: size.map(|s| s.1),
        mounts: mounts(r),
        config,
        network_settings: {
            let mut settings = NetworkSettings { networks: networks(r), ports: ports(r), ..Default::default() };
            // The default bridge's address also shows at the top level, as Docker's.
            if let Some(ep) = r.state.endpoints.iter().find(|e| e.network == "bridge") {
                settings.ip_address = ep.ip.to_string();
                settings.ip_prefix_len = i64::from(ep.prefix);
                settings.gateway = ep.gateway.to_string();
                settings.mac_address = ep.mac.clone();
            }
            settings
        },
    }
}

/// One `GET /containers/json` entry.
pub fn summary(r: &Record, now: DateTime<Utc>, size: Option<(i64, i64)>) -> ContainerSummary {
    ContainerSummary {
        id: r.id.clone(),
        names: vec![format!("/{}", r.name)],
        image: r.image_name.clone(),
        image_id: r.image_id.clone(),
        command: r.command(),
        created: r.created.timestamp(),
        ports: summary_ports(r),
        size_rw: size.map(|s| s.0),
        size_root_fs: size.map(|s| s.1),
        labels: r.config.labels.clone(),
        state: if r.state.status == Status::Exited && r.state.finished_at.is_none() {
            "created".into()
        } else {
            r.state.status.as_str().into()
        },
        status: human_status(r, now),
        host_config: SummaryHostConfig {
            network_mode: r.network.clone().into(),
            annotations: BTreeMap::new(),
        },
        network_settings: SummaryNetworkSettings {
            networks: networks(r),
        },
        mounts: mounts(r),
    }
}

/// The `filters` of `GET /containers/json` and `POST /containers/prune`, resolved.
pub struct ListFilter {
    f: Filters,
    /// `before`/`since` containers' creation times.
    before: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
    /// Image ids the `ancestor` values name.
    ancestors: Vec<String>,
}

const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

impl ListFilter {
    pub fn new(
        f: Filters,
        created_of: impl Fn(&str) -> Result<DateTime<Utc>>,
        image_id_of: impl Fn(&str) -> Option<String>,
    ) -> Result<ListFilter> {
        f.validate(&[
            "id", "name", "label", "status", "ancestor", "exited", "before", "since", "health",
            "network", "volume", "is-task", "publish", "expose", "until",
        ])
        .map_err(|e| Error::invalid(e.to_string()))?;
        for s in f.get("status") {
            if !STATUSES.contains(&s.as_str()) {
                return Err(Error::invalid(format!(
                    "invalid filter 'status={s}'"
                )));
            }
        }
        for h in f.get("health") {
            if ![super::health::STARTING, super::health::HEALTHY, super::health::UNHEALTHY, super::health::NONE].contains(&h.as_str()) {
                return Err(Error::invalid(format!("Unrecognised filter value for health: {h}")));
            }
        }
        for e in f.get("exited") {
            if e.parse::<i64>().is_err() {
                return Err(Error::invalid(format!(
                    "invalid filter 'exited={e}'"
                )));
            }
        }
        let before = f.get("before").first().map(|b| created_of(b)).transpose()?;
        let since = f.get("since").first().map(|s| created_of(s)).transpose()?;
        let ancestors = f
            .get("ancestor")
            .iter()
            .filter_map(|a| image_id_of(a))
            .collect();
        Ok(ListFilter {
            f,
            before,
            since,
            ancestors,
        })
    }

    pub fn matches(&self, r: &Record) -> bool {
        let f = &self.f;
        let any = |key: &str, pred: &dyn Fn(&str) -> bool| {
            let vals = f.get(key);
            vals.is_empty() || vals.iter().any(|v| pred(v))
        };
        let status = if r.state.status == Status::Exited && r.state.finished_at.is_none() {
            "created"
        } else {
            r.state.status.as_str()
        };
        any("id", &|v| r.id.starts_with(v))
            && any("name", &|v| name_matches(v, &r.name))
            && f.match_labels("label", &r.config.labels)
            && any("status", &|v| v == status)
            && any("health", &|v| v == super::health::filter_value(r))
            && any("exited", &|v| {
                r.state.status == Status::Exited && v.parse::<i64>().ok() == Some(r.state.exit_code)
            })
            && (f.get("ancestor").is_empty()
                || self.ancestors.contains(&r.image_id)
                || f.get("ancestor").contains(&r.image_name))
            && self.before.is_none_or(|b| r.created < b)
            && self.since.is_none_or(|s| r.created > s)
            && any("until", &|v| {
                api::time::parse_query_timestamp(v, Utc::now())
                    .map(|t| r.created < t)
                    .unwrap_or(false)
            })
    }

    /// Whether `status`/`exited` ask for containers that are not running.
    pub fn wants_stopped(&self) -> bool {
        self.f.get("status").iter().any(|s| s != "running") || self.f.has("exited")
    }
}

/// Docker matches `name` filters as regular expressions on the name; berth takes the
/// common forms: a substring, `^prefix`, `suffix$`, `^exact$`.
fn name_matches(pattern: &str, name: &str) -> bool {
    let p = pattern.strip_prefix('/').unwrap_or(pattern);
    let (anchored_start, p) = match p.strip_prefix('^') {
        Some(rest) => (true, rest.strip_prefix('/').unwrap_or(rest)),
        None => (false, p),
    };
    let (anchored_end, p) = match p.strip_suffix('$') {
        Some(rest) => (true, rest),
        None => (false, p),
    };
    match (anchored_start, anchored_end) {
        (true, true) => name == p,
        (true, false) => name.starts_with(p),
        (false, true) => name.ends_with(p),
        (false, false) => name.contains(p),
    }
}

/// `SizeRw` and `SizeRootFs` of a container, for `size=1`. Blocking: it walks the
/// writable layer.
pub fn sizes(d: &Containers, image_id: &str, id: &str) -> (i64, i64) {
    let rw = d.images.snapshots().usage(id).map(|u| u.size as i64).unwrap_or(0);
    let image = image_id
        .parse::<image::Digest>()
        .ok()
        .and_then(|dg| d.images.images().get(&dg))
        .map(|i| i.size as i64)
        .unwrap_or(0);
    (rw, rw + image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_dockers() {
        let d = chrono::Duration::seconds;
        assert_eq!(human_duration(d(0)), "Less than a second");
        assert_eq!(human_duration(d(1)), "1 second");
        assert_eq!(human_duration(d(42)), "42 seconds");
        assert_eq!(human_duration(d(61)), "About a minute");
        assert_eq!(human_duration(d(600)), "10 minutes");
        assert_eq!(human_duration(d(3600)), "About an hour");
        assert_eq!(human_duration(d(5 * 3600)), "5 hours");
        assert_eq!(human_duration(d(3 * 86400)), "3 days");
        assert_eq!(human_duration(d(20 * 86400)), "2 weeks");
    }

    #[test]
    fn name_filters() {
        assert!(name_matches("web", "my-web-1"));
        assert!(name_matches("^web", "web-1") && !name_matches("^web", "my-web"));
        assert!(name_matches("/web", "web"));
        assert!(name_matches("^/web$", "web") && !name_matches("^web$", "web1"));
    }
}
