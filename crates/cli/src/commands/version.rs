//! `berth version`: docker's two-section report (Client, then Server with its
//! components), aligned by a tabwriter (minwidth 20, padding 1) as docker
//! aligns it, or `--format` (a template on `{Client, Server}`, or `json`).
//!
//! When the daemon cannot be reached the Client section is still printed, then
//! the error (exit 1). A template that does not parse exits 64, as docker's.

use std::collections::BTreeMap;

use api::system::{ComponentVersion, SystemVersion};

use crate::cli::VersionArgs;
use crate::context::{self, Cli};
use crate::error::{CliError, Result};
use crate::format::table::TabWriter;
use crate::format::{Struct, Template, Value};

/// The client half of the report.
#[derive(Debug, Clone)]
pub struct ClientVersion {
    pub version: String,
    pub api_version: String,
    pub default_api_version: String,
    pub git_commit: String,
    pub go_version: String,
    pub os: String,
    pub arch: String,
    pub build_time: String,
    pub context: String,
}

impl ClientVersion {
    /// This CLI's build, speaking `api_version` with the daemon.
    pub fn current(api_version: api::ApiVersion) -> Self {
        ClientVersion {
            version: context::VERSION.to_string(),
            api_version: api_version.to_string(),
            default_api_version: api::API_VERSION.to_string(),
            git_commit: context::GIT_COMMIT.to_string(),
            go_version: context::RUST_VERSION.to_string(),
            os: std::env::consts::OS.to_string(),
            arch: go_arch().to_string(),
            build_time: reformat_date(context::BUILD_TIME),
            context: "default".to_string(),
        }
    }

    /// Docker's `clientVersion` struct; `omit_api` leaves `ApiVersion` empty
    /// (as `docker info --format` has it).
    pub fn to_struct(&self, name: &str, omit_api: bool) -> Struct {
        Struct::new(name)
            .field_omitempty("Platform", Value::Null)
            .field_omitempty("Version", &self.version)
            .field_omitempty("ApiVersion", if omit_api { "" } else { &self.api_version })
            .field_omitempty("DefaultAPIVersion", &self.default_api_version)
            .field_omitempty("GitCommit", &self.git_commit)
            .field_omitempty("GoVersion", &self.go_version)
            .field_omitempty("Os", &self.os)
            .field_omitempty("Arch", &self.arch)
            .field_omitempty("BuildTime", &self.build_time)
            .field("Context", &self.context)
    }
}

/// Docker's architecture names (GOARCH).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        "x86" => "386",
        other => other,
    }
}

/// RFC 3339 build times are shown as Go's ANSIC (`Fri May 30 12:07:14 2025`).
fn reformat_date(t: &str) -> String {
    match api::time::parse_rfc3339(t) {
        Some(t) => t.format("%a %b %e %H:%M:%S %Y").to_string(),
        None => t.to_string(),
    }
}

/// The server's components, with an `Engine` made up from the top-level fields
/// when the daemon lists none (as docker does).
fn components(v: &SystemVersion) -> Vec<ComponentVersion> {
    let mut out = v.components.clone();
    for c in &mut out {
        if c.name == "Engine"
            && let Some(bt) = c.details.as_mut().and_then(|d| d.get_mut("BuildTime"))
        {
            *bt = reformat_date(bt);
        }
    }
    if !out.iter().any(|c| c.name == "Engine") {
        let details = [
            ("ApiVersion", v.api_version.clone()),
            ("MinAPIVersion", v.min_api_version.clone()),
            ("GitCommit", v.git_commit.clone()),
            ("GoVersion", v.go_version.clone()),
            ("Os", v.os.clone()),
            ("Arch", v.arch.clone()),
            ("BuildTime", reformat_date(&v.build_time)),
            ("Experimental", v.experimental.to_string()),
        ];
        out.push(ComponentVersion {
            name: "Engine".into(),
            version: v.version.clone(),
            details: Some(details.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        });
    }
    out
}

/// Docker's `types.Version`, as templates see `.Server`.
pub fn server_struct(v: &SystemVersion) -> Struct {
    let components: Vec<Value> = components(v)
        .into_iter()
        .map(|c| {
            Struct::new("types.ComponentVersion")
                .field("Name", c.name)
                .field("Version", c.version)
                .field_omitempty("Details", c.details.map_or(Value::Null, Value::from))
                .into()
        })
        .collect();
    Struct::new("*types.Version")
        .field("Platform", Struct::new("struct { Name string }").field("Name", &v.platform.name))
        .field_omitempty("Components", components)
        .field("Version", &v.version)
        .field("ApiVersion", &v.api_version)
        .field_omitempty("MinAPIVersion", &v.min_api_version)
        .field("GitCommit", &v.git_commit)
        .field("GoVersion", &v.go_version)
        .field("Os", &v.os)
        .field("Arch", &v.arch)
        .field_omitempty("KernelVersion", &v.kernel_version)
        .field_omitempty("Experimental", v.experimental)
        .field_omitempty("BuildTime", &v.build_time)
}

/// The default report, with tabs for the tabwriter to align.
pub fn pretty(client: &ClientVersion, server: Option<&SystemVersion>) -> String {
    let c = client;
    let mut s = String::from("Client:\n");
    s.push_str(&format!(" Version:\t{}\n", c.version));
    s.push_str(&format!(" API version:\t{}", c.api_version));
    if c.api_version != c.default_api_version {
        s.push_str(&format!(" (downgraded from {})", c.default_api_version));
    }
    s.push_str(&format!("\n Go version:\t{}\n", c.go_version));
    s.push_str(&format!(" Git commit:\t{}\n", c.git_commit));
    s.push_str(&format!(" Built:\t{}\n", c.build_time));
    s.push_str(&format!(" OS/Arch:\t{}/{}\n", c.os, c.arch));
    s.push_str(&format!(" Context:\t{}", c.context));
    let Some(v) = server else {
        return s;
    };
    s.push_str("\n\nServer:");
    if !v.platform.name.is_empty() {
        s.push_str(&format!(" {}", v.platform.name));
    }
    for comp in components(v) {
        let details: BTreeMap<String, String> = comp.details.clone().unwrap_or_default().into_iter().collect();
        let d = |k: &str| details.get(k).map_or("", String::as_str);
        s.push_str(&format!("\n {}:", comp.name));
        if comp.name == "Engine" {
            s.push_str(&format!("\n  Version:\t{}", comp.version));
            s.push_str(&format!("\n  API version:\t{} (minimum version {})", d("ApiVersion"), d("MinAPIVersion")));
            s.push_str(&format!("\n  Go version:\t{}", d("GoVersion")));
            s.push_str(&format!("\n  Git commit:\t{}", d("GitCommit")));
            s.push_str(&format!("\n  Built:\t{}", d("BuildTime")));
            s.push_str(&format!("\n  OS/Arch:\t{}/{}", d("Os"), d("Arch")));
            s.push_str(&format!("\n  Experimental:\t{}", d("Experimental")));
        } else {
            s.push_str(&format!("\n  Version:\t{}", comp.version));
            for (k, v) in &details {
                s.push_str(&format!("\n  {k}:\t{v}"));
            }
        }
    }
    s
}

pub async fn run(cli: &mut Cli<'_>, args: VersionArgs) -> Result<()> {
    let format = args.format.unwrap_or_default();
    let template = match format.as_str() {
        "" => None,
        "json" => Some(Template::parse_named("version", "{{json .}}")),
        f => Some(Template::parse_named("version", f)),
    }
    .transpose()
    .map_err(|e| CliError::status(64, format!("template parsing error: {e}")))?;

    let server = match cli.negotiated_client().await {
        Ok(c) => c.get_json::<SystemVersion>("/version", &[]).await.map_err(CliError::from),
        Err(e) => Err(e),
    };
    let client = ClientVersion::current(cli.api_version());
    let (server, server_err) = match server {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };

    let mut tw = TabWriter::new(20, 1, 1, ' ');
    let mut exec_err = None;
    match &template {
        None => tw.write_str(&pretty(&client, server.as_ref())),
        Some(t) => {
            let data: Value = Struct::new("system.versionInfo")
                .field("Client", client.to_struct("system.clientVersion", false))
                .field("Server", server.as_ref().map_or(Value::Null, |v| server_struct(v).into()))
                .into();
            let mut text = String::new();
            exec_err = t.execute(&data, &mut text).err();
            tw.write_str(&text);
        }
    }
    tw.write_str("\n");
    cli.out.write_all(tw.finish().as_bytes())?;
    match (server_err, exec_err) {
        (Some(e), _) => Err(e),
        (None, Some(e)) => Err(e.into()),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn server() -> SystemVersion {
        let details: BTreeMap<String, String> = [
            ("ApiVersion", "1.47"),
            ("MinAPIVersion", "1.24"),
            ("Os", "linux"),
            ("Arch", "amd64"),
            ("KernelVersion", "6.1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        SystemVersion {
            platform: api::system::PlatformInfo { name: "berth 0.1.0".into() },
            components: vec![ComponentVersion {
                name: "Engine".into(),
                version: "0.1.0".into(),
                details: Some(details),
            }],
            version: "0.1.0".into(),
            api_version: "1.47".into(),
            min_api_version: "1.24".into(),
            git_commit: "unknown".into(),
            go_version: "rust".into(),
            os: "linux".into(),
            arch: "amd64".into(),
            kernel_version: "6.1.0".into(),
            ..Default::default()
        }
    }

    fn client() -> ClientVersion {
        ClientVersion {
            version: "0.1.0".into(),
            api_version: "1.47".into(),
            default_api_version: "1.47".into(),
            git_commit: "abc1234".into(),
            go_version: "rust1.95.0".into(),
            os: "linux".into(),
            arch: "amd64".into(),
            build_time: String::new(),
            context: "default".into(),
        }
    }

    fn aligned(text: &str) -> String {
        let mut tw = TabWriter::new(20, 1, 1, ' ');
        tw.write_str(text);
        tw.write_str("\n");
        tw.finish()
    }

    #[test]
    fn pretty_matches_docker_layout() {
        // The Server section is what docker 28 prints for the same /version reply.
        let out = aligned(&pretty(&client(), Some(&server())));
        assert_eq!(
            out,
            "Client:\n Version:           0.1.0\n API version:       1.47\n Go version:        rust1.95.0\n Git commit:        abc1234\n Built:             \n OS/Arch:           linux/amd64\n Context:           default\n\nServer: berth 0.1.0\n Engine:\n  Version:          0.1.0\n  API version:      1.47 (minimum version 1.24)\n  Go version:       \n  Git commit:       \n  Built:            \n  OS/Arch:          linux/amd64\n  Experimental:     \n"
        );
        let down = ClientVersion { api_version: "1.44".into(), ..client() };
        assert!(aligned(&pretty(&down, None)).contains(" API version:       1.44 (downgraded from 1.47)\n"));
        assert!(aligned(&pretty(&client(), None)).ends_with(" Context:           default\n"));
    }

    #[test]
    fn other_components_list_sorted_details() {
        let mut v = server();
        v.components.push(ComponentVersion {
            name: "runc".into(),
            version: "1.2.0".into(),
            details: Some([("GitCommit".to_string(), "v1.2.0-0".to_string())].into_iter().collect()),
        });
        let out = aligned(&pretty(&client(), Some(&v)));
        assert!(out.ends_with("\n runc:\n  Version:          1.2.0\n  GitCommit:        v1.2.0-0\n"), "{out}");
    }

    #[test]
    fn template_data_like_docker() {
        let s: Value = server_struct(&server()).into();
        assert_eq!(
            s.to_json(),
            r#"{"Platform":{"Name":"berth 0.1.0"},"Components":[{"Name":"Engine","Version":"0.1.0","Details":{"ApiVersion":"1.47","Arch":"amd64","KernelVersion":"6.1.0","MinAPIVersion":"1.24","Os":"linux"}}],"Version":"0.1.0","ApiVersion":"1.47","MinAPIVersion":"1.24","GitCommit":"unknown","GoVersion":"rust","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0"}"#
        );
        assert_eq!(
            s.to_go_string(),
            "{{berth 0.1.0} [{Engine 0.1.0 map[ApiVersion:1.47 Arch:amd64 KernelVersion:6.1.0 MinAPIVersion:1.24 Os:linux]}] 0.1.0 1.47 1.24 unknown rust linux amd64 6.1.0 false }"
        );
        let c: Value = client().to_struct("system.clientVersion", false).into();
        assert_eq!(c.to_go_string(), "{<nil> 0.1.0 1.47 1.47 abc1234 rust1.95.0 linux amd64  default}");
        let t = Template::parse_named("version", "{{.Server.APIVersion}} {{.Client.APIVersion}}").expect("parses");
        let data: Value = Struct::new("v").field("Client", c).field("Server", s).into();
        assert_eq!(t.render(&data).expect("renders"), "1.47 1.47");
    }
}
