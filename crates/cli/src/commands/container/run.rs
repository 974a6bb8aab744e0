//! `berth run`, `berth create` and `berth start`, following the docker CLI's
//! flow: create (pulling a missing image first), then for `run` attach,
//! register the wait, start, stream, and exit with the container's status.
//!
//! Exit statuses are docker's: 125 when berth or the daemon fails, 126 when
//! the command cannot be invoked ("permission denied"), 127 when it cannot
//! be found, else the container's own status.

use api::Client;
use api::containers::{ContainerCreateBody, ContainerCreateResponse};
use api::images::ProgressMessage;
use image::reference::Reference;

use super::attach::{self, Ended, PumpOptions, Streams, WaitTask};
use super::{Invocation, opts, path_segment, terminal};
use crate::cli::container::{CreateArgs, RunArgs, StartArgs};
use crate::context::Cli;
use crate::error::{CliError, Result};

/// Docker's `withHelp`: `berth: <err>` and a pointer to the command's help.
/// (Docker names `run`/`create` here whichever way they were reached.)
fn with_help(err: &str, command: &str) -> String {
    format!("berth: {err}\n\nRun 'berth {command} --help' for more information")
}

/// Docker's `toStatusError` for `run`: 127 when the command is not found,
/// 126 when it cannot be run, else 125.
pub fn to_status_error(err: &str) -> CliError {
    let code = if err.contains("executable file not found")
        || err.contains("no such file or directory")
        || err.contains("system cannot find the file specified")
    {
        127
    } else if err.contains("permission denied") || err.contains("is a directory") {
        126
    } else {
        125
    };
    CliError::status(code, with_help(err, "run"))
}

/// The `--pull` values docker accepts.
fn validate_pull(pull: &str, command: &str) -> Result<()> {
    match pull {
        "always" | "missing" | "never" | "" => Ok(()),
        _ => Err(CliError::status(
            125,
            with_help(
                &format!("invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\""),
                command,
            ),
        )),
    }
}

/// What `createContainer` needs besides the body.
pub struct CreateOptions<'a> {
    pub name: &'a str,
    pub platform: &'a str,
    pub pull: &'a str,
    pub quiet: bool,
}

/// The container id file of `--cidfile`: refused if it exists, removed
/// again if the container could not be created.
struct CidFile {
    path: String,
    written: bool,
}

impl CidFile {
    fn create(path: &str) -> std::result::Result<Option<CidFile>, String> {
        if path.is_empty() {
            return Ok(None);
        }
        if std::path::Path::new(path).exists() {
            return Err(format!(
                "container ID file found, make sure the other container isn't running or delete {path}"
            ));
        }
        std::fs::File::create(path).map_err(|e| format!("failed to create the container ID file: {e}"))?;
        Ok(Some(CidFile { path: path.to_string(), written: false }))
    }

    fn write(&mut self, id: &str) -> std::result::Result<(), String> {
        std::fs::write(&self.path, id).map_err(|e| format!("failed to write the container ID ({id}) to file: {e}"))?;
        self.written = true;
        Ok(())
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// `POST /images/create?fromImage=…&tag=…`, its progress on stderr (unless
/// quiet); an error message in the stream fails the pull.
async fn pull_image(cli: &mut Cli<'_>, client: &Client, image: &str, platform: &str, quiet: bool) -> Result<()> {
    let reference = Reference::parse(image).map_err(|e| CliError::Other(e.to_string()))?;
    let tag = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => "latest".to_string(),
    };
    let repository = reference.repository();
    let mut query = vec![("fromImage", repository.as_str()), ("tag", tag.as_str())];
    if !platform.is_empty() {
        query.push(("platform", platform));
    }
    let auth = crate::credentials::header_for(reference.domain());
    let headers = [("X-Registry-Auth", auth.as_str())];
    let mut stream = client.request_stream(hyper::Method::POST, "/images/create", &query, &headers, None).await?;
    while let Some(msg) = stream.next_json::<ProgressMessage>().await? {
        if let Some(e) = msg.error_detail.as_ref().map(|d| d.message.clone()).or(msg.error.clone()) {
            return Err(CliError::Other(e));
        }
        if quiet || msg.progress_detail.as_ref().is_some_and(|p| p.total.is_some() || p.current.is_some()) {
            continue;
        }
        let mut line = String::new();
        if let Some(id) = &msg.id {
            line.push_str(&format!("{id}: "));
        }
        line.push_str(msg.status.as_deref().or(msg.stream.as_deref()).unwrap_or(""));
        writeln!(cli.err, "{line}")?;
    }
    Ok(())
}

async fn post_create(
    client: &Client,
    body: &ContainerCreateBody,
    o: &CreateOptions<'_>,
) -> std::result::Result<ContainerCreateResponse, api::ClientError> {
    let mut query = Vec::new();
    if !o.name.is_empty() {
        query.push(("name", o.name));
    }
    if !o.platform.is_empty() {
        query.push(("platform", o.platform));
    }
    client.post_json("/containers/create", &query, body).await
}

/// Docker's `createContainer`: the id file, the create (pulling the image
/// when it is missing and `--pull` allows it), warnings on stderr.
pub async fn create_container(
    cli: &mut Cli<'_>,
    client: &Client,
    body: &mut ContainerCreateBody,
    o: &CreateOptions<'_>,
) -> Result<String> {
    let mut cid = CidFile::create(&body.host_config.container_id_file).map_err(CliError::Other)?;
    // A bare 64-hex string names an image by id: never pulled.
    let named = Reference::parse(&body.config.image).ok();
    if named.is_none() && !is_image_id(&body.config.image) {
        let err = Reference::parse(&body.config.image).err().map(|e| e.to_string()).unwrap_or_default();
        return Err(CliError::Other(err));
    }
    if o.pull == "always" {
        pull_image(cli, client, &body.config.image, o.platform, o.quiet).await?;
    }
    let (h, w) = terminal::stdout_size();
    body.host_config.console_size = Some([u32::from(h), u32::from(w)]);
    let created = match post_create(client, body, o).await {
        Ok(r) => r,
        Err(e) if e.is_not_found() && o.pull == "missing" && named.is_some() => {
            if !o.quiet
                && let Some(r) = &named
            {
                writeln!(cli.err, "Unable to find image '{}' locally", r.familiar())?;
            }
            pull_image(cli, client, &body.config.image, o.platform, o.quiet).await?;
            post_create(client, body, o).await?
        }
        Err(e) => return Err(e.into()),
    };
    for w in &created.warnings {
        writeln!(cli.err, "WARNING: {w}")?;
    }
    if let Some(c) = cid.as_mut() {
        c.write(&created.id).map_err(CliError::Other)?;
    }
    Ok(created.id)
}

fn is_image_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `berth create IMAGE [COMMAND] [ARG...]`: prints the new container's id.
pub async fn create(cli: &mut Cli<'_>, args: CreateArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.args, 1)?;
    validate_pull(&args.pull, "create")?;
    let mut body = opts::create_body(&args.opts, &args.args[0], &args.args[1..])
        .map_err(|e| CliError::status(125, with_help(&e, "create")))?;
    let client = cli.client().await?.clone();
    let o = CreateOptions { name: &args.name, platform: &args.platform, pull: &args.pull, quiet: args.quiet };
    let id = create_container(cli, &client, &mut body, &o).await?;
    writeln!(cli.out, "{id}")?;
    Ok(())
}

/// `berth run IMAGE [COMMAND] [ARG...]`.
pub async fn run(cli: &mut Cli<'_>, args: RunArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.args, 1)?;
    validate_pull(&args.pull, "run")?;
    let mut body = opts::create_body(&args.opts, &args.args[0], &args.args[1..])
        .map_err(|e| CliError::status(125, with_help(&e, "run")))?;
    let client = match cli.client().await {
        Ok(c) => c.clone(),
        Err(e) => return Err(to_status_error(&e.to_string())),
    };
    let config = &mut body.config;
    config.args_escaped = false;
    if !args.detach {
        if config.tty && config.attach_stdin && !terminal::stdin_is_terminal() {
            return Err(CliError::Other("the input device is not a TTY".to_string()));
        }
    } else {
        if !args.opts.attach.is_empty() {
            return Err(CliError::Other("conflicting options: cannot specify both --attach and --detach".into()));
        }
        config.attach_stdin = false;
        config.attach_stdout = false;
        config.attach_stderr = false;
        config.stdin_once = false;
    }
    let streams = Streams {
        stdin: config.attach_stdin,
        stdout: config.attach_stdout,
        stderr: config.attach_stderr,
        tty: config.tty,
        detach_keys: args.detach_keys.clone(),
    };
    let auto_remove = body.host_config.auto_remove;
    let o = CreateOptions { name: &args.name, platform: &args.platform, pull: &args.pull, quiet: args.quiet };
    let id = match create_container(cli, &client, &mut body, &o).await {
        Ok(id) => id,
        Err(e) => return Err(to_status_error(&e.to_string())),
    };

    let attached = streams.stdin || streams.stdout || streams.stderr;
    if !attached {
        writeln!(cli.out, "{id}")?;
        cli.out.flush()?;
    }
    let conn = if attached {
        Some(attach::attach_stream(&client, &id, &streams).await.map_err(|e| CliError::Other(e.to_string()))?)
    } else {
        None
    };
    let wait = WaitTask::spawn(&client, &id, Some(if auto_remove { "removed" } else { "next-exit" })).await;

    if let Err(e) = client.post(&format!("/containers/{}/start", path_segment(&id)), &[], None).await {
        drop(conn);
        if auto_remove {
            // The daemon removes the container; wait for it as docker does.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), wait.result()).await;
        }
        return Err(to_status_error(&CliError::from(e).to_string()));
    }
    let Some(conn) = conn else {
        return Ok(());
    };
    let monitor_size = streams.tty && terminal::stdout_is_terminal();
    if monitor_size {
        attach::init_size(cli, &client, &id).await;
    }
    let proxy_signals = args.sig_proxy.unwrap_or(true);
    let opts = PumpOptions { proxy_signals, monitor_size, wait: Some(&wait), resize_base: None };
    if attach::pump(cli, &client, &id, conn, &streams, opts).await? == Ended::Detached {
        return Ok(());
    }
    let status = wait.status(cli).await;
    attach::exit_status(status)
}

/// `berth start [-a] [-i] CONTAINER...`.
pub async fn start(cli: &mut Cli<'_>, args: StartArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    let client = cli.client().await?.clone();
    if !(args.attach || args.interactive) {
        let mut failed = Vec::new();
        for name in &args.containers {
            match client.post(&format!("/containers/{}/start", path_segment(name)), &[], None).await {
                Ok(_) => writeln!(cli.out, "{name}")?,
                Err(e) => {
                    writeln!(cli.err, "{}", CliError::from(e))?;
                    failed.push(name.as_str());
                }
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        return Err(CliError::Other(format!("Error: failed to start containers: {}", failed.join(", "))));
    }
    if args.containers.len() > 1 {
        return Err(CliError::Other("you cannot start and attach multiple containers at once".to_string()));
    }
    let name = &args.containers[0];
    let c: api::containers::ContainerInspect =
        client.get_json(&format!("/containers/{}/json", path_segment(name)), &[]).await?;
    let streams = Streams {
        stdin: args.interactive && c.config.open_stdin,
        stdout: true,
        stderr: true,
        tty: c.config.tty,
        detach_keys: args.detach_keys.clone(),
    };
    let conn = attach::attach_stream(&client, &c.id, &streams).await?;
    let condition = if c.host_config.auto_remove { "removed" } else { "next-exit" };
    let wait = WaitTask::spawn(&client, &c.id, Some(condition)).await;
    if let Err(e) = client.post(&format!("/containers/{}/start", path_segment(&c.id)), &[], None).await {
        drop(conn);
        if c.host_config.auto_remove {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), wait.result()).await;
        }
        return Err(e.into());
    }
    let monitor_size = c.config.tty && terminal::stdout_is_terminal();
    if monitor_size {
        attach::init_size(cli, &client, &c.id).await;
    }
    let opts = PumpOptions { proxy_signals: !c.config.tty, monitor_size, wait: Some(&wait), resize_base: None };
    if attach::pump(cli, &client, &c.id, conn, &streams, opts).await? == Ended::Detached {
        return Ok(());
    }
    let status = wait.status(cli).await;
    attach::exit_status(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_like_docker() {
        let e = to_status_error(
            "Error response from daemon: failed to create task: exec: \"nope\": executable file not found in $PATH",
        );
        assert_eq!(e.exit_code(), 127);
        assert_eq!(
            e.to_string(),
            "berth: Error response from daemon: failed to create task: exec: \"nope\": executable file not found in $PATH\n\nRun 'berth run --help' for more information"
        );
        assert_eq!(to_status_error("exec /etc: permission denied").exit_code(), 126);
        assert_eq!(to_status_error("Error response from daemon: No such image: x:latest").exit_code(), 125);
        let e = validate_pull("sometimes", "run").expect_err("invalid");
        assert_eq!(e.exit_code(), 125);
        assert!(e.to_string().starts_with("berth: invalid pull option: 'sometimes': must be one of"));
    }

    #[test]
    fn image_ids_are_not_pulled() {
        assert!(is_image_id(&"a".repeat(64)));
        assert!(is_image_id(&format!("sha256:{}", "b".repeat(64))));
        assert!(!is_image_id("busybox"));
        assert_eq!(Reference::parse("busybox").expect("valid").familiar(), "busybox:latest");
    }
}
