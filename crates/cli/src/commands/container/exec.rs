//! `berth exec CONTAINER COMMAND [ARG...]`, following the docker CLI's
//! `RunExec`: check the container exists (so "No such container" wins), check
//! the terminal, create the exec, then either start it detached or start it
//! on an upgraded connection, stream it like `attach` does (resizing the
//! exec's terminal, not the container's; no signal proxying) and exit with
//! the exec's own status from `GET /exec/{id}/json`.

use api::Client;
use api::exec::{ExecCreateBody, ExecInspect, ExecStartBody};
use api::{Body, IdResponse};

use super::attach::{self, Ended, PumpOptions, Streams};
use super::{Invocation, path_segment, spec, terminal};
use crate::cli::container::ExecArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};

/// Docker's `parseExec`: the create body from the flags and the command.
/// `--env-file`s come first, then `-e`s (already completed from the client's
/// environment by the flag parser); without `-d` stdout and stderr are
/// attached, and stdin with `-i`.
pub fn create_body(args: &ExecArgs, command: &[String], lookup: spec::Lookup<'_>) -> Result<ExecCreateBody, String> {
    let mut env = Vec::new();
    for f in &args.env_file {
        env.extend(spec::parse_kv_file(f, Some(lookup))?);
    }
    env.extend(args.env.iter().cloned());
    Ok(ExecCreateBody {
        attach_stdin: !args.detach && args.interactive,
        attach_stdout: !args.detach,
        attach_stderr: !args.detach,
        console_size: None,
        detach_keys: args.detach_keys.clone(),
        tty: args.tty,
        env,
        cmd: Some(command.to_vec()),
        privileged: args.privileged,
        user: args.user.clone(),
        working_dir: args.workdir.clone(),
    })
}

/// Docker's `fillConsoleSize`: with a TTY, the local terminal's size
/// (`[0, 0]` when stdout is not a terminal).
fn console_size(tty: bool) -> Option<[u32; 2]> {
    tty.then(|| {
        let (h, w) = terminal::stdout_size();
        [u32::from(h), u32::from(w)]
    })
}

/// `berth exec [OPTIONS] CONTAINER COMMAND [ARG...]`.
pub async fn run(cli: &mut Cli<'_>, args: ExecArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.args, 2)?;
    let name = &args.args[0];
    let mut body = create_body(&args, &args.args[1..], &|k| std::env::var(k).ok()).map_err(CliError::Other)?;
    let client = cli.client().await?.clone();

    // As docker: an inspect first, so that a missing container is reported as such.
    client.get(&format!("/containers/{}/json", path_segment(name)), &[], None).await?;
    if !args.detach && body.tty && body.attach_stdin && !terminal::stdin_is_terminal() {
        return Err(CliError::Other("the input device is not a TTY".to_string()));
    }
    body.console_size = console_size(body.tty);
    let created: IdResponse = client.post_json(&format!("/containers/{}/exec", path_segment(name)), &[], &body).await?;
    if created.id.is_empty() {
        return Err(CliError::Other("exec ID empty".to_string()));
    }
    let base = format!("/exec/{}", path_segment(&created.id));
    let start = ExecStartBody { detach: args.detach, tty: body.tty, console_size: body.console_size };
    if args.detach {
        client.post(&format!("{base}/start"), &[], Some(Body::json(&start)?)).await?;
        return Ok(());
    }
    interactive(cli, &client, &body, &base, &start).await
}

/// Docker's `interactiveExec`: the upgraded start, the streams, the exit status.
async fn interactive(
    cli: &mut Cli<'_>,
    client: &Client,
    body: &ExecCreateBody,
    base: &str,
    start: &ExecStartBody,
) -> Result<()> {
    let start = ExecStartBody { console_size: console_size(body.tty), ..start.clone() };
    let conn = client.post_upgrade(&format!("{base}/start"), &[], Some(Body::json(&start)?)).await?;
    let streams = Streams {
        stdin: body.attach_stdin,
        stdout: body.attach_stdout,
        stderr: body.attach_stderr,
        tty: body.tty,
        detach_keys: body.detach_keys.clone(),
    };
    // Docker follows the size when stdin is a terminal (`MonitorTtySize`).
    let monitor_size = body.tty && terminal::stdin_is_terminal();
    if monitor_size {
        attach::init_size_at(cli, client, base).await;
    }
    let opts = PumpOptions { proxy_signals: false, monitor_size, wait: None, resize_base: Some(base.to_string()) };
    // The id is only used for signals, which are not proxied.
    if attach::pump(cli, client, "", conn, &streams, opts).await? == Ended::Detached {
        return Err(CliError::Other("read escape sequence".into()));
    }
    exit_status(client, base).await
}

/// Docker's `getExecExitStatus`: the exec's exit code as the status (none
/// yet, e.g. still running, counts as 0); a daemon that went away is -1.
async fn exit_status(client: &Client, base: &str) -> Result<()> {
    match client.get_json::<ExecInspect>(&format!("{base}/json"), &[]).await {
        Ok(r) => attach::exit_status(r.exit_code.unwrap_or(0)),
        Err(e @ api::ClientError::Api { .. }) => Err(e.into()),
        Err(_) => attach::exit_status(-1),
    }
}

#[cfg(test)]
mod tests {
    use clap::{Args, FromArgMatches};

    use super::*;

    fn exec_args(args: &[&str]) -> ExecArgs {
        let cmd = ExecArgs::augment_args(clap::Command::new("exec").no_binary_name(true));
        let m = cmd.try_get_matches_from(args).expect("parses");
        ExecArgs::from_arg_matches(&m).expect("valid")
    }

    fn body(args: &[&str]) -> Result<ExecCreateBody, String> {
        let a = exec_args(args);
        let lookup = |k: &str| (k == "FROM_CLIENT").then(|| "yes".to_string());
        create_body(&a, &a.args[1..], &lookup)
    }

    #[test]
    fn flags_after_the_container_are_the_command() {
        let a = exec_args(&["-it", "c", "ls", "-la", "--tty", "-d"]);
        assert!(a.interactive && a.tty && !a.detach);
        assert_eq!(a.args, ["c", "ls", "-la", "--tty", "-d"]);
        let b = body(&["c", "sh", "-c", "exit 3"]).expect("valid");
        assert_eq!(b.cmd, Some(vec!["sh".into(), "-c".into(), "exit 3".into()]));
    }

    #[test]
    fn attaches_everything_but_stdin_by_default() {
        let b = body(&["c", "true"]).expect("valid");
        let want = ExecCreateBody {
            attach_stdout: true,
            attach_stderr: true,
            cmd: Some(vec!["true".into()]),
            ..Default::default()
        };
        assert_eq!(b, want);
        let b = body(&["-i", "c", "cat"]).expect("valid");
        assert!(b.attach_stdin && b.attach_stdout && b.attach_stderr && !b.tty);
        let b = body(&["-it", "--detach-keys", "ctrl-a,a", "c", "sh"]).expect("valid");
        assert!(b.attach_stdin && b.tty);
        assert_eq!(b.detach_keys, "ctrl-a,a");
    }

    #[test]
    fn detach_attaches_nothing() {
        let b = body(&["-d", "-i", "-t", "c", "sleep", "1"]).expect("valid");
        assert!(!b.attach_stdin && !b.attach_stdout && !b.attach_stderr);
        assert!(b.tty);
    }

    #[test]
    fn user_workdir_privileged_and_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("env");
        std::fs::write(&f, "# comment\nA=from-file\nFROM_CLIENT\nMISSING_KEY\n").expect("write");
        let b = body(&[
            "-u",
            "nobody:nogroup",
            "-w",
            "/tmp",
            "--privileged",
            "--env-file",
            f.to_str().expect("utf8"),
            "-e",
            "A=flag",
            "--env",
            "X=1",
            "c",
            "env",
        ])
        .expect("valid");
        assert_eq!(b.user, "nobody:nogroup");
        assert_eq!(b.working_dir, "/tmp");
        assert!(b.privileged);
        assert_eq!(b.env, ["A=from-file", "FROM_CLIENT=yes", "A=flag", "X=1"]);
        let err = body(&["--env-file", "/nonexistent/env", "c", "true"]).expect_err("missing file");
        assert_eq!(err, "open /nonexistent/env: no such file or directory");
    }

    #[test]
    fn console_size_only_with_a_tty() {
        assert_eq!(console_size(false), None);
        assert!(console_size(true).is_some());
    }
}
