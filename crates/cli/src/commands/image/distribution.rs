//! `berth pull`, `push`, `login` and `logout`: the daemon's progress drawn as docker
//! draws it (bars updated in place on a terminal, plain lines otherwise), the
//! registry's credentials sent from where the docker CLI keeps them
//! ([`crate::credentials`]), and logins checked by the daemon before they are kept.

use std::io::IsTerminal;

use image::Reference;

use crate::cli::{LoginArgs, LogoutArgs, PullArgs, PushArgs};
use crate::credentials;
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::jsonmessage;

pub async fn pull(cli: &mut Cli<'_>, args: PullArgs) -> Result<()> {
    let reference = Reference::parse_named(&args.reference).map_err(|e| CliError::Other(e.to_string()))?;
    let explicit = reference.tag().is_some() || reference.digest().is_some();
    if args.all_tags && explicit {
        return Err(CliError::Other("tag can't be used with --all-tags/-a".into()));
    }
    let tag = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) if args.all_tags => String::new(),
        (None, None) => {
            if !args.quiet {
                writeln!(cli.out, "Using default tag: {}", image::reference::DEFAULT_TAG)?;
            }
            image::reference::DEFAULT_TAG.to_string()
        }
    };
    let repository = reference.repository();
    let mut query = vec![("fromImage", repository.as_str()), ("tag", tag.as_str())];
    if let Some(p) = args.platform.as_deref().filter(|p| !p.is_empty()) {
        query.push(("platform", p));
    }
    let auth = credentials::header_for(reference.domain());
    let headers = [("X-Registry-Auth", auth.as_str())];
    let mut stream = cli.client().await?.request_stream(hyper::Method::POST, "/images/create", &query, &headers, None).await?;
    show(cli, &mut stream, args.quiet).await?;
    let shown = match (args.all_tags, tag.as_str()) {
        (true, _) => repository,
        (false, t) if t.contains(':') => format!("{repository}@{t}"),
        (false, t) => format!("{repository}:{t}"),
    };
    writeln!(cli.out, "{shown}")?;
    Ok(())
}

pub async fn push(cli: &mut Cli<'_>, args: PushArgs) -> Result<()> {
    let reference = Reference::parse_named(&args.reference).map_err(|e| CliError::Other(e.to_string()))?;
    if args.all_tags && reference.tag().is_some() {
        return Err(CliError::Other("tag can't be used with --all-tags/-a".into()));
    }
    if reference.digest().is_some() {
        return Err(CliError::Other("cannot push a digest reference".into()));
    }
    let tag = match (args.all_tags, reference.tag()) {
        (true, _) => String::new(),
        (false, Some(t)) => t.to_string(),
        (false, None) => {
            if !args.quiet {
                writeln!(cli.out, "Using default tag: {}", image::reference::DEFAULT_TAG)?;
            }
            image::reference::DEFAULT_TAG.to_string()
        }
    };
    let repository = reference.repository();
    let path = format!("/images/{}/push", super::path_escape(&repository));
    let auth = credentials::header_for(reference.domain());
    let headers = [("X-Registry-Auth", auth.as_str())];
    let mut stream = cli.client().await?.request_stream(hyper::Method::POST, &path, &[("tag", tag.as_str())], &headers, None).await?;
    show(cli, &mut stream, args.quiet).await?;
    if args.quiet {
        writeln!(cli.out, "{}", if tag.is_empty() { repository } else { format!("{repository}:{tag}") })?;
    }
    Ok(())
}

pub async fn login(cli: &mut Cli<'_>, args: LoginArgs) -> Result<()> {
    let server = args.server.clone().unwrap_or_else(|| credentials::DOCKER_HUB.to_string());
    if args.password.is_some() && args.password_stdin {
        return Err(CliError::Other("--password and --password-stdin are mutually exclusive".into()));
    }
    let mut username = args.username.clone().unwrap_or_default();
    let mut password = args.password.clone().unwrap_or_default();
    if args.password.is_some() {
        writeln!(cli.err, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")?;
    }
    if args.password_stdin {
        if username.is_empty() {
            return Err(CliError::Other("Must provide --username with --password-stdin".into()));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        password = text.trim_end_matches(['\n', '\r']).to_string();
    }
    if username.is_empty() || password.is_empty() {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Other("Error: Cannot perform an interactive login from a non TTY device".into()));
        }
        if username.is_empty() {
            username = prompt(cli, "Username: ", true)?;
        }
        if password.is_empty() {
            password = prompt(cli, "Password: ", false)?;
        }
    }
    if username.is_empty() {
        return Err(CliError::Other("Error: Non-null Username Required".into()));
    }
    let auth = api::system::AuthConfig { username, password, serveraddress: server.clone(), ..Default::default() };
    let _: api::system::AuthResponse = cli.client().await?.post_json("/auth", &[], &auth).await?;
    let host = credentials::server_key(&server);
    if let Some(path) = credentials::store(&host, &auth).map_err(CliError::Other)? {
        writeln!(
            cli.err,
            "\nWARNING! Your credentials are stored unencrypted in '{}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n",
            path.display()
        )?;
    }
    writeln!(cli.out, "Login Succeeded")?;
    Ok(())
}

pub async fn logout(cli: &mut Cli<'_>, args: LogoutArgs) -> Result<()> {
    let server = args.server.unwrap_or_else(|| credentials::DOCKER_HUB.to_string());
    let key = credentials::server_key(&server);
    match credentials::erase(&key).map_err(CliError::Other)? {
        true => writeln!(cli.out, "Removing login credentials for {key}")?,
        false => writeln!(cli.out, "Not logged in to {key}")?,
    }
    Ok(())
}

/// A line read from the terminal after `label`; not echoed unless `echo`.
fn prompt(cli: &mut Cli<'_>, label: &str, echo: bool) -> Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    write!(cli.out, "{label}")?;
    cli.out.flush()?;
    let stdin = std::io::stdin();
    let saved = if echo { None } else { tcgetattr(&stdin).ok() };
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let mut line = String::new();
    let read = stdin.read_line(&mut line);
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
        writeln!(cli.out)?;
    }
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).trim().to_string())
}

/// The reply drawn: bars in place on a terminal, lines otherwise, nothing but errors
/// when quiet.
async fn show(cli: &mut Cli<'_>, stream: &mut api::ResponseStream, quiet: bool) -> Result<()> {
    if quiet {
        return jsonmessage::display_stream(stream, &mut std::io::sink()).await;
    }
    if std::io::stdout().is_terminal() {
        jsonmessage::display_stream_terminal(stream, cli.out).await
    } else {
        jsonmessage::display_stream(stream, cli.out).await
    }
}
