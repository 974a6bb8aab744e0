//! `berth volume ls`: docker's volume table (`DRIVER  VOLUME NAME`), sorted
//! by name in docker's natural order, `-q`, `--filter` passed to the daemon,
//! and `--format` on docker's `volumeContext` fields (`.Name`, `.Driver`,
//! `.Scope`, `.Mountpoint`, `.Labels`, `.Label "k"`, `.Links`, `.Size`, and
//! the swarm-only `.Group`, `.Availability`, `.Status`, always `N/A` here).
//!
//! `--cluster` lists only cluster volumes, of which berth (no swarm) has
//! none, in docker's cluster table, which replaces any `--format`.

use api::volumes::{Volume, VolumeListResponse};

use crate::cli::volume::VolumeLsArgs;
use crate::commands::network::list::{filters, natural_cmp};
use crate::context::Cli;
use crate::error::Result;
use crate::format::humanize::human_size;
use crate::format::{FormatError, ListFormat, Struct, Value, header};

const TABLE: &str = "table {{.Driver}}\t{{.Name}}";
const CLUSTER_TABLE: &str = "table {{.Name}}\t{{.Group}}\t{{.Driver}}\t{{.Availability}}\t{{.Status}}";

/// Docker's `NewVolumeFormat`: what a `--format` value (or none) stands for.
pub fn volume_format(format: &str, quiet: bool) -> &str {
    match format {
        "" | "table" if quiet => "{{.Name}}",
        "" | "table" => TABLE,
        "raw" if quiet => "name: {{.Name}}",
        "raw" => "name: {{.Name}}\\ndriver: {{.Driver}}\\n",
        f => f,
    }
}

/// The column titles of volume tables.
pub fn volume_header() -> Value {
    header(&[
        ("Name", "VOLUME NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("Availability", "AVAILABILITY"),
        ("Mountpoint", "MOUNTPOINT"),
        ("Labels", "LABELS"),
        ("Links", "LINKS"),
        ("Size", "SIZE"),
        ("Group", "GROUP"),
        ("Status", "STATUS"),
    ])
}

/// Docker's `volumeContext` for one volume, as templates see it. Links and
/// size are known only where the daemon measured them (`system df`).
pub fn row(v: &Volume) -> Value {
    // Go prints the labels in map order, which varies; sorted here.
    let labels: Vec<String> = v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let usage = v.usage_data.as_ref();
    Struct::context("*formatter.volumeContext")
        .field("Name", &v.name)
        .field("Driver", &v.driver)
        .field("Scope", &v.scope)
        .field("Mountpoint", &v.mountpoint)
        .field("Labels", labels.join(","))
        .method("Label", v.labels.clone())
        .field("Links", usage.map_or("N/A".to_string(), |u| u.ref_count.to_string()))
        .field("Size", usage.map_or("N/A".to_string(), |u| human_size(u.size as f64)))
        .field("Group", "N/A")
        .field("Availability", "N/A")
        .field("Status", "N/A")
        .into()
}

/// Renders the daemon's list as `volume ls` prints it.
pub fn render(volumes: &mut Vec<Volume>, format: &str, quiet: bool, cluster: bool) -> Result<String, FormatError> {
    let format = match (cluster, quiet) {
        // Docker's own choice, whatever `--format` said.
        (true, false) => CLUSTER_TABLE,
        (true, true) => volume_format("table", true),
        (false, _) => volume_format(format, quiet),
    };
    if cluster {
        volumes.clear();
    }
    volumes.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let rows: Vec<Value> = volumes.iter().map(row).collect();
    ListFormat::new(format, TABLE)?.render(&volume_header(), &rows)
}

pub async fn run(cli: &mut Cli<'_>, args: VolumeLsArgs) -> Result<()> {
    let filters = filters(&args.filter);
    let filters_json = filters.to_json();
    let mut query: Vec<(&str, &str)> = Vec::new();
    if !filters.is_empty() {
        query.push(("filters", &filters_json));
    }
    let list: VolumeListResponse = cli.client().await?.get_json("/volumes", &query).await?;
    let mut volumes = list.volumes;
    // Docker reads the template only once it has the list.
    let out = render(&mut volumes, &args.format, args.quiet, args.cluster)?;
    cli.out.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What berthd answers `GET /volumes` with.
    fn reply() -> Vec<Volume> {
        let list: VolumeListResponse = serde_json::from_str(
            r#"{"Volumes":[
                {"Name":"vol10","Driver":"local","Mountpoint":"/var/lib/berth/volumes/vol10/_data","CreatedAt":"2024-05-01T10:00:00Z","Labels":{"tier":"web","a":"b"},"Scope":"local","Options":{}},
                {"Name":"0d1f2e3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e","Driver":"local","Mountpoint":"/m","Labels":null,"Scope":"local","Options":null},
                {"Name":"vol2","Driver":"local","Mountpoint":"/m2","Labels":{},"Scope":"local","Options":{},"UsageData":{"Size":3072000,"RefCount":2}}
            ],"Warnings":null}"#,
        )
        .expect("valid reply");
        list.volumes
    }

    #[test]
    fn table_like_docker() {
        assert_eq!(
            render(&mut reply(), "", false, false).expect("renders"),
            "DRIVER    VOLUME NAME\n\
             local     0d1f2e3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e\n\
             local     vol2\n\
             local     vol10\n"
        );
        assert_eq!(render(&mut Vec::new(), "table", false, false).expect("renders"), "DRIVER    VOLUME NAME\n");
        assert_eq!(
            render(&mut reply(), "{{.Name}}", false, true).expect("renders"),
            "VOLUME NAME   GROUP     DRIVER    AVAILABILITY   STATUS\n"
        );
        assert_eq!(render(&mut reply(), "", true, true).expect("renders"), "");
    }

    #[test]
    fn quiet_raw_custom_and_json() {
        let names = "0d1f2e3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e\nvol2\nvol10\n";
        assert_eq!(render(&mut reply(), "", true, false).expect("renders"), names);
        assert_eq!(render(&mut reply(), "table", true, false).expect("renders"), names);
        // A format of its own wins over -q, as in docker.
        assert_eq!(
            render(&mut reply(), "table {{.Name}}", true, false).expect("renders"),
            format!("VOLUME NAME\n{names}")
        );
        let mut one = reply()[..1].to_vec();
        assert_eq!(render(&mut one, "raw", false, false).expect("renders"), "name: vol10\ndriver: local\n\n");
        assert_eq!(render(&mut one, "raw", true, false).expect("renders"), "name: vol10\n");
        assert_eq!(
            render(
                &mut reply()[2..].to_vec(),
                "table {{.Name}}\t{{.Labels}}\t{{.Label \"tier\"}}\t{{.Links}}\t{{.Size}}",
                false,
                false
            )
            .expect("renders"),
            "VOLUME NAME   LABELS    tier      LINKS     SIZE\nvol2                              2         3.072MB\n"
        );
        assert_eq!(
            render(&mut one, "{{.Labels}} {{.Label \"tier\"}} {{.Links}} {{.Size}} {{.Status}}", false, false)
                .expect("renders"),
            "a=b,tier=web web N/A N/A N/A\n"
        );
        assert_eq!(
            render(&mut one, "json", false, false).expect("renders"),
            "{\"Availability\":\"N/A\",\"Driver\":\"local\",\"Group\":\"N/A\",\"Labels\":\"a=b,tier=web\",\"Links\":\"N/A\",\"Mountpoint\":\"/var/lib/berth/volumes/vol10/_data\",\"Name\":\"vol10\",\"Scope\":\"local\",\"Size\":\"N/A\",\"Status\":\"N/A\"}\n"
        );
        let err = render(&mut one, "{{.Nope}}", false, false).expect_err("no such field");
        assert!(err.to_string().ends_with("can't evaluate field Nope in type *formatter.volumeContext"), "{err}");
    }
}
