//! `POST /containers/create`: checks the request as Docker does, resolves the image,
//! merges the configs, prepares the writable snapshot and the container's own files,
//! and records the container (state `created`). Any failure leaves nothing behind.

use std::sync::Arc;

use api::containers::{ContainerCreateBody, HostConfig};
use chrono::Utc;

use super::merge;
use super::names;
use super::record::{Record, State};
use crate::error::{Error, Result};
use super::Containers;

/// Docker's default network mode is the default bridge.
fn check_network(hc: &mut HostConfig) -> Result<()> {
    match hc.network_mode.as_str() {
        "" | "default" => hc.network_mode = "bridge".into(),
        "container:" => return Err(Error::invalid("invalid network mode: container: needs a container's name or id")),
        _ => {}
    }
    Ok(())
}

/// Docker's checks of the resource values (see [`super::resources::check`]) and of the
/// process limits beside them; returns Docker's warnings. As Docker does, a memory limit
/// without a swap limit allows as much swap again.
fn check_resources(hc: &mut HostConfig) -> Result<Vec<String>> {
    let host = super::resources::Host::get();
    let warnings =
        super::resources::check(&mut hc.resources, host, false).map_err(Error::invalid)?;
    if hc.shm_size < 0 {
        return Err(Error::invalid("SHM size can not be less than 0"));
    }
    if hc.oom_score_adj < -1000 || hc.oom_score_adj > 1000 {
        return Err(Error::invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            hc.oom_score_adj
        )));
    }
    for u in &hc.resources.ulimits {
        if super::spec::ulimit_type(&u.name).is_none() {
            return Err(Error::invalid(format!("invalid ulimit type: {}", u.name)));
        }
        let soft = match u.soft {
            -1 => "soft: -1 (unlimited), hard:".to_string(),
            soft => format!("{soft} >"),
        };
        if u.hard != -1 && (u.soft == -1 || u.soft > u.hard) {
            return Err(Error::invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} {}",
                u.hard
            )));
        }
    }
    let r = &mut hc.resources;
    if r.memory > 0 && r.memory_swap == 0 {
        r.memory_swap = r.memory * 2;
    }
    Ok(warnings)
}

/// `--security-opt` as Docker reads it, and a seccomp profile given inline, decoded
/// now so that a bad one is refused before anything is made.
fn check_security_opt(hc: &HostConfig) -> Result<()> {
    let security = super::security_opts::SecurityOptions::parse(&hc.security_opt)
        .map_err(|e| Error::invalid(e.to_string()))?;
    if let Some(profile) = security
        .seccomp
        .as_deref()
        .filter(|p| !matches!(*p, "builtin" | "unconfined"))
    {
        super::seccomp::Profile::parse(profile).map_err(|e| Error::invalid(e.to_string()))?;
    }
    Ok(())
}

/// `--device` and `--device-cgroup-rule`: the host's nodes must exist and the rules parse.
fn check_devices(hc: &HostConfig) -> Result<()> {
    super::devices::from_host_config(hc).map_err(Error::invalid)?;
    Ok(())
}

/// Docker's rule for `--sysctl`: only sysctls of the container's own IPC and network
/// namespaces (and `kernel.domainname`), with runc's messages for those that clash with
/// another setting.
fn check_sysctls(hc: &HostConfig) -> Result<()> {
    const IPC: [&str; 8] = api::hostconfig::IPC_SYSCTLS;
    let mut sysctls: Vec<_> = hc.sysctls.iter().collect();
    sysctls.sort();
    for (key, value) in sysctls {
        // `net/ipv4/ip_forward` is the same sysctl, as its /proc/sys path.
        let name = key.replace('/', ".");
        if name == "kernel.hostname" {
            return Err(Error::invalid(format!(
                "sysctl {name:?} is not allowed as it conflicts with the OCI \"hostname\" field"
            )));
        }
        if name.starts_with("net.") {
            if hc.network_mode == "host" {
                return Err(Error::invalid(format!(
                    "sysctl {name:?} not allowed in host network namespace"
                )));
            }
            continue;
        }
        if IPC.contains(&name.as_str()) || name.starts_with("fs.mqueue.") || name == "kernel.domainname" {
            continue;
        }
        return Err(Error::invalid(format!("sysctl '{key}={value}' is not allowed")));
    }
    Ok(())
}

/// Creates a container; returns its id and Docker's warnings.
pub async fn create(
    d: &Arc<Containers>,
    name: Option<&str>,
    body: ContainerCreateBody,
) -> Result<(String, Vec<String>)> {
    let mut body = body;
    let name = match name.filter(|n| !n.is_empty()) {
        Some(n) => Some(names::validate(n).map_err(Error::invalid)?),
        None => None,
    };
    if body.config.image.is_empty() {
        return Err(Error::invalid("No image specified"));
    }
    let hc = &mut body.host_config;
    // Docker records the daemon's default log driver in the container (clients read it:
    // docker-py streams logs only for json-file).
    if hc.log_config.r#type.is_empty() {
        hc.log_config.r#type = "json-file".into();
    }
    if hc.runtime.is_empty() {
        hc.runtime = d.config.default_runtime.clone();
    }
    if !d.config.runtimes.contains_key(&hc.runtime) {
        return Err(Error::invalid(format!("unknown or invalid runtime name: {}", hc.runtime)));
    }
    check_network(hc)?;
    // The docker CLI names the default network `default` in the endpoints too.
    let endpoints = &mut body.networking_config.endpoints_config;
    if let Some(settings) = endpoints.remove("default") {
        endpoints.entry("bridge".into()).or_insert(settings);
    }
    let hc = &mut body.host_config;
    // Another container's network: by its id, as Docker records it (one that does not
    // exist yet fails the start, not the create), and nothing of the network's own may
    // be set.
    if let Some(other) = hc.network_mode.strip_prefix("container:").map(String::from) {
        if hc.port_bindings.values().flatten().next().is_some() || hc.publish_all_ports {
            return Err(Error::invalid("conflicting options: port publishing and the container type network mode"));
        }
        if !body.config.hostname.is_empty() {
            return Err(Error::invalid("conflicting options: hostname and the network mode"));
        }
        if let Ok(target) = d.get(&other) {
            hc.network_mode = format!("container:{}", target.id);
        }
    }
    crate::userns::check(hc, hc.network_mode == "host", d.config.remap.is_some()).map_err(Error::invalid)?;
    super::lifecycle::check_restart_policy(hc)?;
    let mut warnings = check_resources(hc)?;
    if hc.network_mode == "host" && hc.port_bindings.values().flatten().next().is_some() {
        warnings.push("Published ports are discarded when using host network mode".into());
    }
    check_security_opt(hc)?;
    check_devices(hc)?;
    check_sysctls(hc)?;
    super::health::validate(body.config.healthcheck.as_ref())?;
    super::spec::capabilities(hc).map_err(Error::invalid)?;
    super::record::PublishedPort::from_bindings(&hc.port_bindings).map_err(Error::invalid)?;
    let mut networks = d.networks.attachments(&hc.network_mode, &body.networking_config.endpoints_config)?;
    // Older clients name the MAC address in the config, for the first network.
    if !body.config.mac_address.is_empty()
        && let Some(first) = networks.first_mut().filter(|a| a.mac.is_none())
    {
        first.mac = Some(body.config.mac_address.parse().map_err(Error::invalid)?);
    }
    // Each link names a container that exists (it must run when this one starts).
    for spec in &hc.links {
        let link = super::links::Link::parse(spec).map_err(Error::invalid)?;
        if d.get(&link.target).is_err() {
            return Err(Error::invalid(format!("could not get container for {}", link.target)));
        }
    }
    // Validated once, into the typed values the record keeps.
    let typed = super::record::Typed::take(hc).map_err(Error::invalid)?;
    let host_binds: Vec<api::binds::Bind> = typed.binds.iter().filter(|b| b.is_host_path()).cloned().collect();
    super::spec::user_mounts(&host_binds, &hc.tmpfs).map_err(Error::invalid)?;
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || create_blocking(&d2, name, body, typed, networks).map(|id| (id, warnings)))
        .await
        .map_err(|e| Error::internal(format!("create task: {e}")))?
}

fn create_blocking(
    d: &Arc<Containers>,
    name: Option<String>,
    body: ContainerCreateBody,
    typed: super::record::Typed,
    networks: Vec<super::record::NetworkAttachment>,
) -> Result<String> {
    let img = d
        .images
        .images()
        .resolve(&body.config.image)
        .map_err(|e| match e {
            image::metadata::Error::NotFound(_) | image::metadata::Error::Reference(_) => {
                Error::not_found(format!("No such image: {}", familiar(&body.config.image)))
            }
            other => Error::internal(other.to_string()),
        })?;
    let image_config = d
        .images
        .config(&img)
        .map_err(|e| Error::internal(e.to_string()))?;
    let mut config = merge::merge(&body.config, image_config.parsed().config.as_ref());
    let (path, args) = merge::command(&config).map_err(Error::invalid)?;
    let mut id = names::new_id();
    while d.short_id_taken(&id) {
        id = names::new_id();
    }
    if config.hostname.is_empty() {
        config.hostname = id[..12].to_string();
    }
    let containers = d;
    let name = match name {
        Some(n) => {
            containers.reserve_name(&n, &id)?;
            n
        }
        None => {
            let mut retry = 0;
            loop {
                let n = names::generate(retry);
                if containers.reserve_name(&n, &id).is_ok() {
                    break n;
                }
                retry += 1;
            }
        }
    };
    let mut host_config = body.host_config;
    // Links as Docker records them: `/target:/container/alias`.
    host_config.links = host_config
        .links
        .iter()
        .filter_map(|spec| super::links::Link::parse(spec).ok())
        .map(|link| {
            let target = d.get(&link.target).map(|c| c.record().name.clone()).unwrap_or_else(|_| link.target.clone());
            link.stored(&target, &name)
        })
        .collect();
    // Its volumes: what its binds, mounts, --volumes-from and image name.
    let image_mounts = match super::image_mounts::wanted(&d.images, &host_config.mounts) {
        Ok(m) => m,
        Err(e) => {
            containers.release_name(&name, &id);
            return Err(e);
        }
    };
    // What the container mounts itself: nothing of another's goes there.
    let own: Vec<&str> = typed
        .binds
        .iter()
        .map(|b| b.destination.as_str())
        .chain(host_config.mounts.iter().map(|m| m.target.as_str()))
        .chain(host_config.tmpfs.keys().map(String::as_str))
        .collect();
    let inherited_binds = super::volumes::inherited_binds(d, &host_config.volumes_from, &own);
    let (wanted, inherited_binds) = match inherited_binds.and_then(|inherited_binds| {
        // The other containers' binds take their destinations as the container's own do.
        let binds: Vec<api::binds::Bind> = typed.binds.iter().cloned().chain(inherited_binds.iter().cloned()).collect();
        super::volumes::inherited(d, &host_config.volumes_from)
            .and_then(|inherited| super::volumes::wanted(&binds, &host_config.mounts, &host_config.tmpfs, inherited, &config.volumes))
            .map(|w| (w, inherited_binds))
    }) {
        Ok(w) => w,
        Err(e) => {
            containers.release_name(&name, &id);
            return Err(e);
        }
    };
    let mut record = Record {
        schema: super::record::SCHEMA,
        id: id.clone(),
        name: name.clone(),
        created: Utc::now(),
        image_id: img.id.to_string(),
        image_name: body.config.image.clone(),
        path,
        args,
        config,
        host_config,
        restart: typed.restart,
        network: typed.network,
        networks,
        binds: typed.binds,
        volumes: Vec::new(),
        image_mounts,
        inherited_binds,
        log: typed.log,
        state: State::default(),
    };
    let dir = containers.paths.dir(&id);
    let mut new_volumes = Vec::new();
    let made = (|| -> Result<()> {
        let (mounts, made) = super::volumes::make(&d.volumes, wanted)?;
        (record.volumes, new_volumes) = (mounts, made);
        std::fs::create_dir(&dir)
            .map_err(|e| Error::internal(format!("create {}: {e}", dir.display())))?;
        d.images
            .container_snapshot(&id, &img)
            .map_err(|e| Error::internal(format!("prepare the container's filesystem: {e}")))?;
        crate::crash::point("create:snapshot");
        // Written at start; checked now so that a bad --add-host fails the create.
        super::etc::hosts_file(false, &record.host_config.extra_hosts, std::net::Ipv4Addr::UNSPECIFIED)?;
        record
            .save(&dir)
            .map_err(|e| Error::internal(format!("save container {id}: {e}")))
    })();
    if let Err(e) = made {
        for v in &new_volumes {
            let _ = d.volumes.remove(v);
        }
        let _ = d.images.snapshots().remove(&id);
        let _ = std::fs::remove_dir_all(&dir);
        containers.release_name(&name, &id);
        return Err(e);
    }
    for v in &new_volumes {
        d.events.publish("volume", "create", v, [("driver".to_string(), "local".to_string())].into());
    }
    let (c, mailbox) = super::Container::new(record);
    containers.insert(c.clone());
    super::owner::spawn(d, c.clone(), mailbox);
    d.events.publish(
        "container",
        "create",
        &id,
        super::view::event_attributes(&c.record()),
    );
    Ok(id)
}

/// `busybox` → `busybox:latest`, as Docker's "No such image" message names it.
fn familiar(name: &str) -> String {
    match image::reference::Reference::parse(name) {
        Ok(r) => r.familiar(),
        Err(_) => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::lifecycle::check_restart_policy;

    #[test]
    fn restart_policies_are_checked() {
        let mut hc = HostConfig::default();
        hc.restart_policy.name = "on-failure".into();
        hc.restart_policy.maximum_retry_count = 3;
        assert!(check_restart_policy(&hc).is_ok());
        hc.restart_policy.name = "always".into();
        assert!(check_restart_policy(&hc).is_err());
        hc.restart_policy = Default::default();
        hc.restart_policy.name = "sometimes".into();
        assert!(
            check_restart_policy(&hc)
                .unwrap_err()
                .message
                .contains("unknown policy 'sometimes'")
        );
        hc.restart_policy.name = "always".into();
        hc.auto_remove = true;
        assert!(check_restart_policy(&hc).is_err());
    }

    #[test]
    fn memory_checks_use_dockers_messages() {
        let mut hc = HostConfig::default();
        hc.resources.memory = 1 << 20;
        assert_eq!(
            check_resources(&mut hc).unwrap_err().message,
            "Minimum memory limit allowed is 6MB"
        );
        hc.resources.memory = 64 << 20;
        hc.resources.memory_swap = 32 << 20;
        assert!(
            check_resources(&mut hc)
                .unwrap_err()
                .message
                .starts_with("Minimum memoryswap limit")
        );
    }

    #[test]
    fn security_opts_and_profiles_are_checked_at_create() {
        let mut hc = HostConfig { security_opt: vec!["foo=bar".into()], ..Default::default() };
        assert_eq!(check_security_opt(&hc).unwrap_err().message, r#"invalid --security-opt 2: "foo=bar""#);
        hc.security_opt = vec!["no-new-privileges".into(), "label=disable".into(), "apparmor=x".into()];
        assert!(check_security_opt(&hc).is_ok());
        hc.security_opt = vec![r#"seccomp={"defaultAction": 1}"#.into()];
        let e = check_security_opt(&hc).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Invalid);
        assert!(e.message.starts_with("Decoding seccomp profile failed"), "{}", e.message);
    }

    #[test]
    fn only_namespaced_sysctls_are_allowed() {
        let mut hc = HostConfig::default();
        for ok in ["kernel.shmmax", "fs.mqueue.msg_max", "net.ipv4.ip_forward", "net/ipv4/ip_forward", "kernel.domainname"] {
            hc.sysctls = [(ok.to_string(), "1".to_string())].into();
            assert!(check_sysctls(&hc).is_ok(), "{ok}");
        }
        hc.sysctls = [("kernel.core_pattern".to_string(), "x".to_string())].into();
        assert_eq!(check_sysctls(&hc).unwrap_err().message, "sysctl 'kernel.core_pattern=x' is not allowed");
        hc.sysctls = [("kernel.hostname".to_string(), "x".to_string())].into();
        assert!(check_sysctls(&hc).unwrap_err().message.contains("conflicts with the OCI"));
        hc.network_mode = "host".into();
        hc.sysctls = [("net.ipv4.ip_forward".to_string(), "1".to_string())].into();
        assert_eq!(
            check_sysctls(&hc).unwrap_err().message,
            r#"sysctl "net.ipv4.ip_forward" not allowed in host network namespace"#
        );
    }

}
