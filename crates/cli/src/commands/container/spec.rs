//! The structured values of `run`/`create` flags, parsed as the docker CLI
//! parses them: port specs (`-p [ip:]host:container[/proto]`, `--expose`),
//! volume specs (`-v`), `--mount` CSV, `--device`, and key/value files
//! (`--env-file`, `--label-file`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use api::hostconfig::{BindOptions, DeviceMapping, Mount, PortBinding, TmpfsOptions, VolumeOptions};

use crate::cli::values;

/// One container port (`80/tcp`) and its host binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub port: String,
    pub binding: PortBinding,
}

/// Go's `strconv.ParseInt` reason for a port number.
fn port_number(raw: &str) -> Result<u32, String> {
    if raw.is_empty() {
        return Err("value is empty".to_string());
    }
    let digits = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid syntax".to_string());
    }
    match raw.parse::<i64>() {
        Ok(n) if (0..=65535).contains(&n) => Ok(n as u32),
        Ok(_) => Err("value out of range (0–65535)".to_string()),
        Err(_) => Err("value out of range".to_string()),
    }
}

/// `8000-8010` or `80`: go-connections' `ParsePortRange`.
pub fn port_range(ports: &str) -> Result<(u32, u32), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".to_string());
    }
    let (start, end) = match ports.split_once('-') {
        Some((s, e)) => (s, Some(e)),
        None => (ports, None),
    };
    let start_port = port_number(start).map_err(|e| format!("invalid start port '{start}': {e}"))?;
    let end = match end {
        None => return Ok((start_port, start_port)),
        Some(e) if e == start => return Ok((start_port, start_port)),
        Some(e) => e,
    };
    let end_port = port_number(end).map_err(|e| format!("invalid end port '{end}': {e}"))?;
    if end_port < start_port {
        return Err(format!("invalid port range: {ports}"));
    }
    Ok((start_port, end_port))
}

/// `80/udp` → (`udp`, `80`); a missing protocol is `tcp`.
fn split_proto_port(raw: &str) -> (String, String) {
    let (port, proto) = raw.split_once('/').unwrap_or((raw, ""));
    if port.is_empty() {
        return (String::new(), String::new());
    }
    (if proto.is_empty() { "tcp".to_string() } else { proto.to_string() }, port.to_string())
}

/// `-p`'s long form (`published=8080,target=80,protocol=udp`) as the short one.
fn standard_notation(publish: &str) -> Result<String, String> {
    if !publish.contains('=') {
        return Ok(publish.to_string());
    }
    let mut params: BTreeMap<&str, &str> = BTreeMap::from([("protocol", "tcp")]);
    for param in publish.split(',') {
        match param.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                params.insert(k, v);
            }
            _ => return Err(format!("invalid publish opts format (should be name=value but got '{param}')")),
        }
    }
    let get = |k: &str| params.get(k).copied().unwrap_or("");
    Ok(format!("{}:{}/{}", get("published"), get("target"), get("protocol")))
}

/// One `-p` spec: go-connections' `ParsePortSpec`.
pub fn parse_port_spec(raw: &str) -> Result<Vec<PortMapping>, String> {
    let raw = standard_notation(raw)?;
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (ip, host_port, container_port) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        3 => (parts[0].to_string(), parts[1], parts[2]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, container_port) = split_proto_port(container_port);
    if container_port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let proto = proto.to_lowercase();
    if !["tcp", "udp", "sctp"].contains(&proto.as_str()) {
        return Err(format!("invalid proto: {proto}"));
    }
    let mut ip = ip;
    if ip.starts_with('[') {
        match ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
            Some(inner) => ip = inner.to_string(),
            None => return Err(format!("invalid IP address {ip}: address {ip}:: missing ']' in address")),
        }
    }
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    let (start, end) = port_range(&container_port).map_err(|_| format!("invalid containerPort: {container_port}"))?;
    let (mut host_start, mut host_end) = (0, 0);
    if !host_port.is_empty() {
        (host_start, host_end) = port_range(host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?;
        if end - start != host_end - host_start && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
            ));
        }
    }
    let count = end - start + 1;
    Ok((0..count)
        .map(|i| {
            let mut host = String::new();
            if !host_port.is_empty() {
                host = (host_start + i).to_string();
                if count == 1 && host_start != host_end {
                    host = format!("{host}-{host_end}");
                }
            }
            PortMapping {
                port: format!("{}/{proto}", start + i),
                binding: PortBinding { host_ip: ip.clone(), host_port: host },
            }
        })
        .collect())
}

/// Container ports (`80/tcp`) and their host bindings.
pub type Bindings = BTreeMap<String, Vec<PortBinding>>;

/// Every `-p` spec, then the `--expose`d ports: the exposed set (`80/tcp`)
/// and the bindings of the published ones, as docker sends them.
pub fn parse_ports(publish: &[String], expose: &[String]) -> Result<(BTreeSet<String>, Bindings), String> {
    let mut exposed = BTreeSet::new();
    let mut bindings: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
    for p in publish {
        for m in parse_port_spec(p)? {
            exposed.insert(m.port.clone());
            bindings.entry(m.port).or_default().push(m.binding);
        }
    }
    for e in expose {
        if e.contains(':') {
            return Err(format!("invalid port format for --expose: {e}"));
        }
        let (proto, port) = split_proto_port(e);
        let (start, end) =
            port_range(&port).map_err(|err| format!("invalid range format for --expose: {e}, error: {err}"))?;
        for p in start..=end {
            exposed.insert(format!("{p}/{}", proto.to_lowercase()));
        }
    }
    Ok((exposed, bindings))
}

/// A `-v` spec split into its source (empty for an anonymous volume),
/// destination and mode, checked as docker's volume spec parser does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub source: String,
    pub target: String,
    pub mode: String,
}

pub fn parse_volume(spec: &str) -> Result<VolumeSpec, String> {
    if spec.is_empty() {
        return Err("invalid empty volume spec".to_string());
    }
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("invalid spec: {spec}: empty section between colons"));
    }
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err(format!("invalid spec: {spec}: too many colons")),
    };
    Ok(VolumeSpec { source: source.to_string(), target: target.to_string(), mode: mode.to_string() })
}

/// `-v` specs: binds (with a source; a relative `./dir` made absolute) go
/// to `HostConfig.Binds`, anonymous volumes to `Config.Volumes`.
pub fn split_volumes(volumes: &[String]) -> Result<(Vec<String>, Vec<String>), String> {
    let mut binds = Vec::new();
    let mut anonymous = Vec::new();
    for v in volumes {
        let parsed = parse_volume(v)?;
        if parsed.source.is_empty() {
            if !anonymous.contains(v) {
                anonymous.push(v.clone());
            }
            continue;
        }
        let is_bind = parsed.source.starts_with('/') || parsed.source.starts_with('.');
        let mut bind = v.clone();
        if is_bind
            && parsed.source.starts_with('.')
            && let Some((host, rest)) = v.split_once(':')
            && let Ok(abs) = std::path::absolute(host)
        {
            bind = format!("{}:{rest}", abs.display());
        }
        binds.push(bind);
    }
    Ok((binds, anonymous))
}

/// `--tmpfs /run:rw,size=64m`: mount point → options.
pub fn parse_tmpfs(specs: &[String]) -> BTreeMap<String, String> {
    specs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect()
}

fn parse_bool(key: &str, val: &str) -> Result<bool, String> {
    match val {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid value for {key}: {val}")),
    }
}

/// A `--mount` value (CSV of `key=value`), docker's `MountOpt.Set`.
pub fn parse_mount(value: &str) -> Result<Mount, String> {
    let mut m = Mount { r#type: "volume".to_string(), ..Default::default() };
    let mut volume: Option<VolumeOptions> = None;
    let mut bind: Option<BindOptions> = None;
    let mut tmpfs: Option<TmpfsOptions> = None;
    for field in split_csv(value)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), Some(v)),
            None => (field.to_lowercase(), None),
        };
        let Some(val) = val else {
            match key.as_str() {
                "readonly" | "ro" => m.read_only = true,
                "volume-nocopy" => volume.get_or_insert_with(Default::default).no_copy = true,
                "bind-nonrecursive" => bind.get_or_insert_with(Default::default).non_recursive = true,
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        match key.as_str() {
            "type" => m.r#type = val.to_lowercase(),
            "source" | "src" => {
                m.source = val.to_string();
                if val.starts_with('.')
                    && let Ok(abs) = std::path::absolute(val)
                {
                    m.source = abs.display().to_string();
                }
            }
            "target" | "dst" | "destination" => m.target = val.to_string(),
            "readonly" | "ro" => m.read_only = parse_bool(&key, val)?,
            "consistency" => m.consistency = val.to_lowercase(),
            "bind-propagation" => bind.get_or_insert_with(Default::default).propagation = val.to_lowercase(),
            "bind-nonrecursive" => bind.get_or_insert_with(Default::default).non_recursive = parse_bool(&key, val)?,
            "bind-recursive" => {
                let b = bind.get_or_insert_with(Default::default);
                match val {
                    "enabled" => {}
                    "disabled" => b.non_recursive = true,
                    "writable" => b.read_only_non_recursive = true,
                    "readonly" => b.read_only_force_recursive = true,
                    _ => {
                        return Err(format!(
                            "invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                        ));
                    }
                }
            }
            "volume-subpath" => volume.get_or_insert_with(Default::default).subpath = val.to_string(),
            "volume-nocopy" => {
                volume.get_or_insert_with(Default::default).no_copy =
                    parse_bool(&key, val).map_err(|_| format!("invalid value for volume-nocopy: {val}"))?
            }
            "volume-label" => {
                let (k, v) = values::key_value(val);
                if !k.is_empty() {
                    volume.get_or_insert_with(Default::default).labels.insert(k, v);
                }
            }
            "volume-driver" => {
                volume.get_or_insert_with(Default::default).driver_config.get_or_insert_with(Default::default).name =
                    val.to_string()
            }
            "volume-opt" => {
                let (k, v) = values::key_value(val);
                if !k.is_empty() {
                    let vo = volume.get_or_insert_with(Default::default);
                    vo.driver_config.get_or_insert_with(Default::default).options.insert(k, v);
                }
            }
            "tmpfs-size" => {
                tmpfs.get_or_insert_with(Default::default).size_bytes =
                    values::ram_in_bytes(val).map_err(|_| format!("invalid value for {key}: {val}"))?
            }
            "tmpfs-mode" => {
                tmpfs.get_or_insert_with(Default::default).mode =
                    u32::from_str_radix(val, 8).map_err(|_| format!("invalid value for {key}: {val}"))?
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if m.r#type.is_empty() {
        return Err("type is required".to_string());
    }
    if m.target.is_empty() {
        return Err("target is required".to_string());
    }
    for (present, prefix, kind) in
        [(volume.is_some(), "volume", "volume"), (bind.is_some(), "bind", "bind"), (tmpfs.is_some(), "tmpfs", "tmpfs")]
    {
        if present && m.r#type != kind {
            return Err(format!("cannot mix '{prefix}-*' options with mount type '{}'", m.r#type));
        }
    }
    if let Some(b) = &bind {
        if b.read_only_non_recursive && !m.read_only {
            return Err("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction".into());
        }
        if b.read_only_force_recursive {
            if !m.read_only {
                return Err(
                    "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction".into()
                );
            }
            if b.propagation != "rprivate" {
                return Err("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction".into());
            }
        }
    }
    m.volume_options = volume;
    m.bind_options = bind;
    m.tmpfs_options = tmpfs;
    Ok(m)
}

/// One CSV record (Go's `encoding/csv`): fields split on `,`, a field in
/// double quotes may hold commas and `""` for a quote.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => {
                        return Err("parse error on line 1, column 1: extraneous or missing \" in quoted-field".into());
                    }
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(_) => return Err("parse error on line 1: extraneous or missing \" in quoted-field".into()),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("parse error on line 1: bare \" in non-quoted-field".into()),
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

/// Whether `mode` is a cgroup device permission set (`r`, `rw`, `rwm` …).
fn valid_device_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.chars().all(|c| "rwm".contains(c))
        && mode.chars().collect::<std::collections::BTreeSet<_>>().len() == mode.len()
}

/// A CDI device name (`vendor.com/class=name`).
pub fn is_cdi_name(device: &str) -> bool {
    device.split_once('=').is_some_and(|(kind, name)| {
        !name.is_empty() && kind.split_once('/').is_some_and(|(v, c)| !v.is_empty() && !c.is_empty())
    })
}

/// `--device /dev/x[:/dev/y][:rwm]` for a Linux daemon.
pub fn parse_device(device: &str) -> Result<DeviceMapping, String> {
    if device.matches(':').count() > 2 {
        return Err(format!("bad format for path: {device}"));
    }
    let split: Vec<&str> = device.splitn(3, ':').collect();
    if split[0].is_empty() {
        return Err(format!("bad format for path: {device}"));
    }
    let (src, mut dst, mut perms) = (split[0], "", "rwm");
    match split.as_slice() {
        [_] => {}
        [_, second] => {
            if valid_device_mode(second) {
                perms = second;
            } else {
                dst = second;
            }
        }
        [_, second, mode] => {
            if !valid_device_mode(mode) {
                return Err(format!("bad mode specified: {mode}"));
            }
            dst = second;
            perms = mode;
        }
        _ => return Err(format!("invalid device specification: {device}")),
    }
    let container_path = if dst.is_empty() { src } else { dst };
    if !container_path.starts_with('/') {
        return Err(format!("{container_path} is not an absolute path"));
    }
    Ok(DeviceMapping {
        path_on_host: src.to_string(),
        path_in_container: container_path.to_string(),
        cgroup_permissions: perms.to_string(),
    })
}

/// Looks up a variable of the client's environment.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A line-delimited `KEY=value` file (`--env-file`, `--label-file`):
/// comments and blank lines skipped, a UTF-8 BOM dropped, leading space
/// trimmed. A bare `KEY` is looked up with `lookup` (dropped when it finds
/// nothing); without `lookup` it is kept as is.
pub fn parse_kv_file(path: &str, lookup: Option<Lookup<'_>>) -> Result<Vec<String>, String> {
    let data = std::fs::read(Path::new(path)).map_err(|e| format!("open {path}: {}", io_reason(&e)))?;
    parse_kv(&data, lookup).map_err(|e| format!("invalid env file ({path}): {e}"))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

pub fn parse_kv(data: &[u8], lookup: Option<Lookup<'_>>) -> Result<Vec<String>, String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut out = Vec::new();
    for (n, raw) in data.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw).map_err(|_| format!("invalid utf8 bytes at line {}: {raw:?}", n + 1))?;
        let line = text.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, has_value) = match line.split_once('=') {
            Some((k, _)) => (k, true),
            None => (line, false),
        };
        if key.is_empty() {
            return Err(format!("no variable name on line '{line}'"));
        }
        if key.contains([' ', '\t']) {
            return Err(format!("variable '{key}' contains whitespaces"));
        }
        if has_value {
            out.push(line.to_string());
            continue;
        }
        match lookup {
            Some(f) => {
                if let Some(v) = f(line) {
                    out.push(format!("{key}={v}"));
                }
            }
            None => out.push(line.to_string()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ip: &str, port: &str) -> PortBinding {
        PortBinding { host_ip: ip.into(), host_port: port.into() }
    }

    #[test]
    fn port_specs_like_go_connections() {
        let m = parse_port_spec("8080:80").expect("valid");
        assert_eq!(m, vec![PortMapping { port: "80/tcp".into(), binding: b("", "8080") }]);
        let m = parse_port_spec("127.0.0.1:53:53/udp").expect("valid");
        assert_eq!(m, vec![PortMapping { port: "53/udp".into(), binding: b("127.0.0.1", "53") }]);
        let m = parse_port_spec("[::1]:8080:80").expect("valid");
        assert_eq!(m[0].binding, b("::1", "8080"));
        let m = parse_port_spec("80").expect("valid");
        assert_eq!(m[0].binding, b("", ""));
        let m = parse_port_spec("127.0.0.1::80").expect("valid");
        assert_eq!(m[0].binding, b("127.0.0.1", ""));
        let m = parse_port_spec("8000-8001:80-81").expect("valid");
        assert_eq!(m.len(), 2);
        assert_eq!(m[1], PortMapping { port: "81/tcp".into(), binding: b("", "8001") });
        let m = parse_port_spec("8000-8010:80").expect("valid");
        assert_eq!(m, vec![PortMapping { port: "80/tcp".into(), binding: b("", "8000-8010") }]);
        let m = parse_port_spec("published=8080,target=80,protocol=udp").expect("valid");
        assert_eq!(m, vec![PortMapping { port: "80/udp".into(), binding: b("", "8080") }]);
        assert_eq!(parse_port_spec("80/xyz"), Err("invalid proto: xyz".into()));
        assert_eq!(parse_port_spec("abc"), Err("invalid containerPort: abc".into()));
        assert_eq!(parse_port_spec("x:80"), Err("invalid hostPort: x".into()));
        assert_eq!(parse_port_spec("1.2.3:80:80"), Err("invalid IP address: 1.2.3".into()));
        assert_eq!(
            parse_port_spec("8000-8002:80-81"),
            Err("invalid ranges specified for container and host Ports: 80-81 and 8000-8002".into())
        );
    }

    #[test]
    fn exposed_and_published_ports() {
        let (exposed, bindings) =
            parse_ports(&["8080:80".into(), "9090:80".into()], &["443".into(), "7000-7001/udp".into()]).expect("valid");
        assert_eq!(exposed.iter().collect::<Vec<_>>(), ["443/tcp", "7000/udp", "7001/udp", "80/tcp"]);
        assert_eq!(bindings["80/tcp"], vec![b("", "8080"), b("", "9090")]);
        assert_eq!(parse_ports(&[], &["1:2".into()]).map(|_| ()), Err("invalid port format for --expose: 1:2".into()));
    }

    #[test]
    fn volumes_mounts_devices() {
        let (binds, anon) = split_volumes(&["/data".into(), "/host:/ctr:ro".into(), "named:/v".into()]).expect("ok");
        assert_eq!(binds, vec!["/host:/ctr:ro".to_string(), "named:/v".to_string()]);
        assert_eq!(anon, vec!["/data".to_string()]);
        let (binds, _) = split_volumes(&["./rel:/x".into()]).expect("ok");
        assert!(binds[0].starts_with('/') && binds[0].ends_with("/rel:/x"), "{binds:?}");
        assert_eq!(parse_volume("a::b"), Err("invalid spec: a::b: empty section between colons".into()));

        let m = parse_mount("type=bind,source=/src,target=/dst,readonly").expect("valid");
        assert_eq!(
            (m.r#type.as_str(), m.source.as_str(), m.target.as_str(), m.read_only),
            ("bind", "/src", "/dst", true)
        );
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770").expect("valid");
        let t = m.tmpfs_options.expect("tmpfs options");
        assert_eq!((t.size_bytes, t.mode), (64 << 20, 0o1770));
        let m = parse_mount("source=vol,target=/v,volume-label=a=b").expect("valid");
        assert_eq!(m.r#type, "volume");
        assert_eq!(m.volume_options.expect("volume options").labels["a"], "b");
        assert_eq!(parse_mount("type=bind,source=/x").map(|_| ()), Err("target is required".into()));
        assert_eq!(
            parse_mount("type=bind,target=/x,tmpfs-size=1m").map(|_| ()),
            Err("cannot mix 'tmpfs-*' options with mount type 'bind'".into())
        );
        assert_eq!(parse_mount("bogus=1,target=/x").map(|_| ()), Err("unexpected key 'bogus' in 'bogus=1'".into()));

        let d = parse_device("/dev/fuse").expect("valid");
        assert_eq!((d.path_in_container.as_str(), d.cgroup_permissions.as_str()), ("/dev/fuse", "rwm"));
        let d = parse_device("/dev/sda:/dev/xvda:r").expect("valid");
        assert_eq!((d.path_in_container.as_str(), d.cgroup_permissions.as_str()), ("/dev/xvda", "r"));
        let d = parse_device("/dev/null:rw").expect("valid");
        assert_eq!((d.path_in_container.as_str(), d.cgroup_permissions.as_str()), ("/dev/null", "rw"));
        assert_eq!(parse_device("/dev/a:/b:x").map(|_| ()), Err("bad mode specified: x".into()));
        assert!(is_cdi_name("nvidia.com/gpu=all") && !is_cdi_name("/dev/x"));
    }

    #[test]
    fn kv_files() {
        let lookup = |k: &str| (k == "HOME").then(|| "/root".to_string());
        let data = b"\xEF\xBB\xBF# comment\n\n  A=1\nB= spaced \nHOME\nUNSET\r\n";
        assert_eq!(
            parse_kv(data, Some(&lookup)).expect("valid"),
            vec!["A=1".to_string(), "B= spaced ".into(), "HOME=/root".into()]
        );
        assert_eq!(parse_kv(b"UNSET\n", None).expect("valid"), vec!["UNSET".to_string()]);
        assert_eq!(parse_kv(b"A B=1\n", None), Err("variable 'A B' contains whitespaces".into()));
        assert_eq!(parse_kv(b"=1\n", None), Err("no variable name on line '=1'".into()));
    }
}
