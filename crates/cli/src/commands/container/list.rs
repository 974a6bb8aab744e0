//! `berth ps` (`berth container ls`): `GET /containers/json`, printed as
//! docker's table or through `--format` on docker's `ContainerContext`
//! (`{{.ID}}`, `{{.Names}}`, `{{.Ports}}`, `{{.Label "k"}}`, `{{json .}}` …).

use api::containers::{ContainerSummary, Port};
use chrono::{DateTime, Utc};
use image::reference::Reference;

use crate::cli::container::PsArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::humanize::{ellipsis, human_duration, human_size_with_precision, short_id};
use crate::format::{ListFormat, Struct, Template, Value, header};

const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const QUIET: &str = "{{.ID}}";
const RAW: &str = "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n";

/// Column titles of docker's container table.
pub fn headers() -> Value {
    header(&[
        ("ID", "CONTAINER ID"),
        ("Names", "NAMES"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"),
        ("Ports", "PORTS"),
        ("State", "STATE"),
        ("Status", "STATUS"),
        ("Size", "SIZE"),
        ("Labels", "LABELS"),
        ("Mounts", "MOUNTS"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Networks", "NETWORKS"),
        ("Platform", "PLATFORM"),
    ])
}

/// Docker's `NewContainerFormat`: what `--format` (or none) means.
pub fn container_format(format: &str, quiet: bool, size: bool) -> String {
    match format {
        "" | "table" => {
            if quiet {
                QUIET.to_string()
            } else if size {
                format!("{DEFAULT_TABLE}\t{{{{.Size}}}}")
            } else {
                DEFAULT_TABLE.to_string()
            }
        }
        "raw" => {
            if quiet {
                "container_id: {{.ID}}".to_string()
            } else if size {
                format!("{RAW}size: {{{{.Size}}}}\\n")
            } else {
                RAW.to_string()
            }
        }
        _ if quiet => QUIET.to_string(),
        f => f.to_string(),
    }
}

/// Go's `time.Unix(secs, 0).String()` in local time:
/// `2024-01-02 15:04:05 +0000 UTC`.
pub fn go_local_time(secs: i64) -> String {
    // SAFETY: `tm` is plain old data, for which all-zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t: libc::time_t = secs;
    // SAFETY: localtime_r reads the valid `t` and fills the owned `tm`; it
    // returns null only on failure, which is checked.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return DateTime::<Utc>::from_timestamp(secs, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
            .unwrap_or_default();
    }
    let off = tm.tm_gmtoff;
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: glibc's tm_zone points at a NUL-terminated static string.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }.to_string_lossy().into_owned()
    };
    let sign = if off < 0 { '-' } else { '+' };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {sign}{:02}{:02} {zone}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        off.abs() / 3600,
        off.abs() % 3600 / 60,
    )
}

/// Docker's `DisplayablePorts`: `0.0.0.0:8080->80/tcp, 443/tcp`, with
/// consecutive ports grouped into ranges.
pub fn displayable_ports(ports: &[Port]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_by(|a, b| {
        (a.private_port, a.ip.as_deref().unwrap_or(""), a.public_port.unwrap_or(0), &a.r#type).cmp(&(
            b.private_port,
            b.ip.as_deref().unwrap_or(""),
            b.public_port.unwrap_or(0),
            &b.r#type,
        ))
    });
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for p in &ports {
        let current = p.private_port;
        let mut key = p.r#type.clone();
        if let Some(ip) = p.ip.as_deref().filter(|ip| !ip.is_empty()) {
            let public = p.public_port.unwrap_or(0);
            if public != current {
                host_mappings.push(format!("{}->{}/{}", join_host_port(ip, &public.to_string()), current, p.r#type));
                continue;
            }
            key = format!("{ip}/{}", p.r#type);
        }
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            None => groups.push((key, current, current)),
            Some(g) if current == g.2.wrapping_add(1) => g.2 = current,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2));
                *g = (key, current, current);
            }
        }
    }
    for (key, first, last) in &groups {
        result.push(form_group(key, *first, *last));
    }
    result.extend(host_mappings);
    result.join(", ")
}

fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

fn form_group(key: &str, start: u16, last: u16) -> String {
    let (ip, kind) = match key.rsplit_once('/') {
        Some((ip, kind)) => (ip, kind),
        None => ("", key),
    };
    let mut group = start.to_string();
    if start != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{kind}")
}

/// The IMAGE column: a short id when the container was created from an id,
/// else the familiar name (without its digest when truncating).
fn image_column(c: &ContainerSummary, trunc: bool) -> String {
    if c.image.is_empty() {
        return "<no image>".to_string();
    }
    if !trunc {
        return c.image.clone();
    }
    if short_id(&c.image_id) == short_id(&c.image) {
        return short_id(&c.image).to_string();
    }
    match Reference::parse_named(&c.image) {
        Ok(r) => match r.tag() {
            Some(t) => format!("{}:{t}", r.familiar_repository()),
            None => r.familiar_repository(),
        },
        Err(_) => c.image.clone(),
    }
}

/// Docker's `ContainerContext` for one container, as templates see it. Its
/// JSON (docker's `MarshalJSON` of the context's methods) has the fields in
/// sorted order, as here.
pub fn row(c: &ContainerSummary, trunc: bool, now: DateTime<Utc>) -> Value {
    let mut names: Vec<String> = c.names.iter().map(|n| n.strip_prefix('/').unwrap_or(n).to_string()).collect();
    if trunc && let Some(first) = names.iter().find(|n| !n.contains('/')) {
        names = vec![first.clone()];
    }
    let command = if trunc { ellipsis(&c.command, 20) } else { c.command.clone() };
    let created = DateTime::<Utc>::from_timestamp(c.created, 0).unwrap_or(now);
    let running_for = format!("{} ago", human_duration((now - created).to_std().unwrap_or_default()));
    let size_rw = human_size_with_precision(c.size_rw.unwrap_or(0) as f64, 3);
    let size = match c.size_root_fs.filter(|s| *s > 0) {
        Some(v) => format!("{size_rw} (virtual {})", human_size_with_precision(v as f64, 3)),
        None => size_rw,
    };
    let mut labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    let mounts: Vec<String> = c
        .mounts
        .iter()
        .map(|m| {
            let name = if m.name.is_empty() { &m.source } else { &m.name };
            if trunc { ellipsis(name, 15) } else { name.clone() }
        })
        .collect();
    let local_volumes = c.mounts.iter().filter(|m| m.driver == "local").count();
    let mut networks: Vec<&String> = c.network_settings.networks.keys().collect();
    networks.sort();
    let networks: Vec<&str> = networks.into_iter().map(String::as_str).collect();
    let id = if trunc { short_id(&c.id).to_string() } else { c.id.clone() };
    Struct::new("*formatter.ContainerContext")
        .field("Command", crate::format::gofmt::quote(&command))
        .field("CreatedAt", go_local_time(c.created))
        .field("ID", id)
        .field("Image", image_column(c, trunc))
        .method("Label", c.labels.clone())
        .field("Labels", labels.join(","))
        .field("LocalVolumes", local_volumes.to_string())
        .field("Mounts", mounts.join(","))
        .field("Names", names.join(","))
        .field("Networks", networks.join(","))
        .field("Platform", Value::Null)
        .field("Ports", displayable_ports(&c.ports))
        .field("RunningFor", running_for)
        .field("Size", size)
        .field("State", c.state.clone())
        .field("Status", c.status.clone())
        .into()
}

/// Whether running `format` reads `.Size`, so the daemon must compute sizes
/// (docker detects this by running the template once; `{{json .}}` reads
/// every field, while `--format json` is only checked as the text "json").
fn uses_size(format: &str) -> bool {
    format.contains(".Size") || format.contains("json .}}") || format.contains("json . ")
}

/// Renders containers with a `--format` already resolved by
/// [`container_format`].
pub fn render(format: &str, containers: &[ContainerSummary], trunc: bool, now: DateTime<Utc>) -> Result<String> {
    let f = ListFormat::new(format, DEFAULT_TABLE)?;
    let rows: Vec<Value> = containers.iter().map(|c| row(c, trunc, now)).collect();
    Ok(f.render(&headers(), &rows)?)
}

pub async fn run(cli: &mut Cli<'_>, args: PsArgs) -> Result<()> {
    if !args.format.is_empty() && args.quiet {
        writeln!(cli.err, "WARNING: Ignoring custom format, because both --format and --quiet are set.")?;
    }
    let mut size = args.size.unwrap_or(false);
    if !args.format.is_empty() {
        let t = Template::parse(&args.format).map_err(|e| CliError::Other(format!("failed to parse template: {e}")))?;
        t.render(&row(&ContainerSummary::default(), true, Utc::now()))
            .map_err(|e| CliError::Other(format!("failed to execute template: {e}")))?;
        if !args.quiet && args.size.is_none() && uses_size(&args.format) {
            size = true;
        }
    }
    let mut limit = args.last;
    if args.latest && limit == -1 {
        limit = 1;
    }
    let mut filters = api::Filters::new();
    for (k, v) in &args.filter {
        filters.add(k.clone(), v.clone());
    }
    let limit_s = limit.to_string();
    let filters_json = filters.to_json();
    let mut query = Vec::new();
    if args.all {
        query.push(("all", "1"));
    }
    if limit != -1 {
        query.push(("limit", limit_s.as_str()));
    }
    if size {
        query.push(("size", "1"));
    }
    if !filters.is_empty() {
        query.push(("filters", filters_json.as_str()));
    }
    let containers: Vec<ContainerSummary> = cli.client().await?.get_json("/containers/json", &query).await?;
    let format = container_format(&args.format, args.quiet, size);
    let out = render(&format, &containers, !args.no_trunc, Utc::now())?;
    cli.out.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<ContainerSummary> {
        let json = serde_json::json!([
            {
                "Id": "4f8c3e2a1b0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f",
                "Names": ["/web"],
                "Image": "nginx:1.27-alpine",
                "ImageID": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                "Command": "/docker-entrypoint.sh nginx -g 'daemon off;'",
                "Created": 1_699_999_700,
                "Ports": [
                    {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                    {"PrivatePort": 443, "Type": "tcp"}
                ],
                "SizeRw": 2,
                "SizeRootFs": 21_500_000,
                "Labels": {"tier": "web", "com.example.app": "shop"},
                "State": "running",
                "Status": "Up 5 minutes",
                "HostConfig": {"NetworkMode": "bridge"},
                "NetworkSettings": {"Networks": {"bridge": {}}},
                "Mounts": [{"Type": "volume", "Name": "0123456789abcdef0123", "Source": "/x", "Destination": "/data", "Driver": "local", "Mode": "", "RW": true, "Propagation": ""}]
            },
            {
                "Id": "9a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b",
                "Names": ["/quirky_turing"],
                "Image": "busybox",
                "ImageID": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
                "Command": "sleep 100",
                "Created": 1_699_992_800,
                "Ports": [],
                "Labels": {},
                "State": "exited",
                "Status": "Exited (0) 2 hours ago",
                "HostConfig": {"NetworkMode": "bridge"},
                "NetworkSettings": {"Networks": {}},
                "Mounts": []
            }
        ]);
        serde_json::from_value(json).expect("valid summaries")
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("valid")
    }

    #[test]
    fn default_table_like_docker() {
        let out = render(&container_format("", false, false), &sample(), true, now()).expect("renders");
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE               COMMAND                  CREATED         STATUS                   PORTS                           NAMES\n\
             4f8c3e2a1b0d   nginx:1.27-alpine   \"/docker-entrypoint.…\"   5 minutes ago   Up 5 minutes             443/tcp, 0.0.0.0:8080->80/tcp   web\n\
             9a7b6c5d4e3f   busybox             \"sleep 100\"              2 hours ago     Exited (0) 2 hours ago                                   quirky_turing\n"
        );
        let out = render(&container_format("", false, true), &sample()[..1], true, now()).expect("renders");
        assert!(out.lines().next().expect("header").ends_with("NAMES     SIZE"), "{out}");
        assert!(out.contains("web       2B (virtual 21.5MB)\n"), "{out}");
        assert_eq!(
            render(&container_format("", true, false), &sample(), true, now()).expect("renders"),
            "4f8c3e2a1b0d\n9a7b6c5d4e3f\n"
        );
        assert_eq!(
            render(&container_format("", false, false), &[], true, now()).expect("renders"),
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
        );
    }

    #[test]
    fn custom_formats() {
        let f = "{{.Names}} {{.Status}} {{.State}} {{.Label \"tier\"}} {{.Labels}} {{.Mounts}} {{.Networks}} {{.LocalVolumes}}";
        let out = render(f, &sample(), true, now()).expect("renders");
        assert_eq!(
            out,
            "web Up 5 minutes running web com.example.app=shop,tier=web 0123456789abcd… bridge 1\n\
             quirky_turing Exited (0) 2 hours ago exited     0\n"
        );
        let out = render("table {{.ID}}\\t{{.Command}}", &sample()[1..], false, now()).expect("renders");
        assert_eq!(
            out,
            "CONTAINER ID                                                       COMMAND\n\
             9a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b   \"sleep 100\"\n"
        );
        let json = render("json", &sample()[1..], true, now()).expect("renders");
        let v: serde_json::Value = serde_json::from_str(json.trim()).expect("json line");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            [
                "Command",
                "CreatedAt",
                "ID",
                "Image",
                "Labels",
                "LocalVolumes",
                "Mounts",
                "Names",
                "Networks",
                "Platform",
                "Ports",
                "RunningFor",
                "Size",
                "State",
                "Status"
            ]
        );
        assert!(json.starts_with("{\"Command\":\"\\\"sleep 100\\\"\",\"CreatedAt\":\"2023-11-14 "), "{json}");
        let err = render("{{.Nope}}", &sample(), true, now()).expect_err("no such field");
        assert!(err.to_string().contains("can't evaluate field Nope in type *formatter.ContainerContext"), "{err}");
        assert!(uses_size("{{.Size}}") && uses_size("{{json .}}") && !uses_size("json") && !uses_size("{{.ID}}"));
        assert_eq!(container_format("{{.Names}}", true, false), "{{.ID}}");
    }

    #[test]
    fn ports_quotes_and_images() {
        let p = |ip: Option<&str>, private: u16, public: Option<u16>, t: &str| Port {
            ip: ip.map(str::to_string),
            private_port: private,
            public_port: public,
            r#type: t.into(),
        };
        assert_eq!(
            displayable_ports(&[p(None, 80, None, "tcp"), p(None, 81, None, "tcp"), p(None, 82, None, "tcp")]),
            "80-82/tcp"
        );
        assert_eq!(
            displayable_ports(&[p(Some("0.0.0.0"), 80, Some(80), "tcp"), p(Some("::"), 53, Some(5353), "udp")]),
            "0.0.0.0:80->80/tcp, [::]:5353->53/udp"
        );
        assert_eq!(crate::format::gofmt::quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
        let mut c = sample().remove(1);
        c.image = "docker.io/library/busybox:latest".into();
        assert_eq!(image_column(&c, true), "busybox:latest");
        c.image = "busybox@sha256:3333333333333333333333333333333333333333333333333333333333333333".into();
        assert_eq!(image_column(&c, true), "busybox");
        c.image = c.image_id.clone();
        assert_eq!(image_column(&c, true), "222222222222");
        assert_eq!(image_column(&c, false), c.image_id);
    }
}
