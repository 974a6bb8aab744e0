//! berth-runtime: a runc-compatible command line over berth's runtime library.

mod relay;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use runtime::spec::Bundle;
use runtime::state::{Status, Store};
use runtime::console::Console;
use runtime::{CreateOptions, Error, ExecOptions, Runtime};

#[derive(Parser)]
#[command(name = "berth-runtime", version, about = "berth's OCI runtime (runc-compatible command line)")]
struct Cli {
    /// Directory for the containers' state
    #[arg(long, global = true, default_value = runtime::state::DEFAULT_ROOT)]
    root: PathBuf,
    /// Also write errors (and debug messages with --debug) to this file
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[arg(long, global = true)]
    debug: bool,
    /// Read cgroupsPath as "slice:prefix:name", as systemd's driver does
    #[arg(long, global = true)]
    systemd_cgroup: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct CreateArgs {
    /// Path to the bundle (the directory holding config.json)
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Socket to send the pty master to when process.terminal is true
    #[arg(long)]
    console_socket: Option<PathBuf>,
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs)
    #[arg(long)]
    no_pivot: bool,
    /// Pass this many extra fds (3, 4, ...) to the container
    #[arg(long, default_value_t = 0)]
    preserve_fds: i32,
    id: String,
}

#[derive(Subcommand)]
enum Command {
    /// Write a default config.json into the bundle directory
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        rootless: bool,
    },
    /// Create a container, leaving its process waiting for `start`
    Create(CreateArgs),
    /// Run a created container's process
    Start { id: String },
    /// Create and start a container; in the foreground, wait and exit with its status
    Run {
        #[command(flatten)]
        create: CreateArgs,
        #[arg(short, long)]
        detach: bool,
    },
    /// Print the container's OCI state as JSON
    State { id: String },
    /// Send a signal (default SIGTERM) to the container's init
    Kill {
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
        /// Signal every process of the container
        #[arg(short, long)]
        all: bool,
    },
    /// Remove a stopped container (any container with --force)
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Run a new process in a running container
    Exec {
        /// process.json with the whole process to run
        #[arg(short, long)]
        process: Option<PathBuf>,
        #[arg(short, long)]
        tty: bool,
        #[arg(long)]
        cwd: Option<PathBuf>,
        #[arg(short, long)]
        env: Vec<String>,
        /// uid[:gid]
        #[arg(short, long)]
        user: Option<String>,
        #[arg(long)]
        additional_gids: Vec<u32>,
        #[arg(short, long)]
        detach: bool,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        #[arg(long, default_value_t = 0)]
        preserve_fds: i32,
        #[arg(long)]
        no_new_privs: bool,
        /// Add a capability to the bounding, effective and permitted sets
        #[arg(short, long)]
        cap: Vec<String>,
        id: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// List the container's processes
    Ps {
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
        /// Options for ps(1), e.g. -ef (the default)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Freeze every process of the container
    Pause { id: String },
    /// Thaw a paused container
    Resume { id: String },
    /// List containers
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print what this runtime supports, as JSON
    Features,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = Runtime { store: Store::new(&cli.root), systemd_cgroup: cli.systemd_cgroup };
    let res = seal_if_ptrace_granted(&cli, &runtime).and_then(|()| dispatch(&cli, &runtime));
    match res {
        Ok(code) => code,
        Err(e) => {
            log(&cli, "error", &e.to_string());
            eprintln!("berth-runtime: {e}");
            ExitCode::from(1)
        }
    }
}

/// Containers granted CAP_SYS_PTRACE get the sealed-copy protection (see
/// runtime::sealed); the others are protected by non-dumpable runtime processes alone,
/// which costs nothing.
fn seal_if_ptrace_granted(cli: &Cli, rt: &Runtime) -> Result<()> {
    let bundle = match &cli.command {
        Command::Create(a) | Command::Run { create: a, .. } => a.bundle.clone(),
        Command::Exec { id, .. } => match rt.load(id) {
            Ok((st, _)) => st.bundle,
            Err(_) => return Ok(()),
        },
        _ => return Ok(()),
    };
    let Ok(b) = Bundle::load(&bundle) else { return Ok(()) };
    let caps = b.spec.process().as_ref().and_then(|p| p.capabilities().as_ref());
    if runtime::capabilities::grants(caps, "CAP_SYS_PTRACE") {
        runtime::sealed::reexec()?;
    }
    Ok(())
}

fn log(cli: &Cli, level: &str, msg: &str) {
    let Some(path) = &cli.log else { return };
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let line = match cli.log_format {
        LogFormat::Json => serde_json::json!({"level": level, "msg": msg, "time": time}).to_string(),
        LogFormat::Text => format!("time=\"{time}\" level={level} msg={msg:?}"),
    };
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}

type Result<T> = std::result::Result<T, Error>;

fn dispatch(cli: &Cli, rt: &Runtime) -> Result<ExitCode> {
    if cli.debug {
        log(cli, "debug", &format!("args: {:?}", std::env::args().collect::<Vec<_>>()));
    }
    match &cli.command {
        Command::Spec { bundle, rootless } => {
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(Error::InvalidSpec(format!("{} exists; remove it first", path.display())));
            }
            let text = serde_json::to_string_pretty(&runtime::spec::default_spec(*rootless)).expect("json");
            std::fs::write(&path, text + "\n").map_err(Error::io(format!("write {}", path.display())))?;
        }
        Command::Create(a) => {
            rt.create(&a.id, &a.bundle, &create_options(a))?;
        }
        Command::Start { id } => rt.start(id)?,
        Command::Run { create, detach } => return run(rt, create, *detach),
        Command::State { id } => {
            println!("{}", serde_json::to_string_pretty(&rt.state(id)?).expect("json"));
        }
        Command::Kill { id, signal, all } => rt.kill(id, runtime::signal::parse(signal)?, *all)?,
        Command::Delete { force, id } => match rt.delete(id, *force) {
            Err(Error::NotFound(_)) if *force => {}
            r => r?,
        },
        Command::Exec {
            process, tty, cwd, env, user, additional_gids, detach, pid_file, console_socket,
            preserve_fds, no_new_privs, cap, id, command,
        } => {
            let process = match process {
                Some(path) => {
                    let bytes = std::fs::read(path).map_err(Error::io(format!("read {}", path.display())))?;
                    serde_json::from_slice(&bytes)
                        .map_err(|e| Error::InvalidConfig { path: path.clone(), reason: e.to_string() })?
                }
                None => exec_process(rt, id, command, *tty, cwd.as_deref(), env, user.as_deref(), additional_gids, *no_new_privs, cap)?,
            };
            let terminal = process.terminal().unwrap_or(false);
            let mut opts = ExecOptions {
                process,
                console: console_socket.clone().map(Console::Socket),
                pid_file: pid_file.clone(),
                preserve_fds: *preserve_fds,
            };
            let relay = needs_relay(!*detach, opts.console.is_none(), || Ok(terminal))?;
            if let Some(r) = &relay {
                opts.console = Some(Console::Connected(r.theirs.try_clone().map_err(Error::io("console socket"))?));
            }
            let sigs = forwarded_signals(!*detach)?;
            let pid = rt.exec(id, &opts)?;
            if *detach {
                return Ok(ExitCode::SUCCESS);
            }
            let master = relay.map(|r| runtime::console::recv_fd(r.ours.as_raw_fd())).transpose()?;
            return wait_forwarding(pid, sigs.expect("foreground"), master);
        }
        Command::Ps { format, id, ps_args } => ps(rt, id, format, ps_args)?,
        Command::Pause { id } => rt.pause(id)?,
        Command::Resume { id } => rt.resume(id)?,
        Command::List { format, quiet } => list(rt, format, *quiet)?,
        Command::Features => println!("{}", serde_json::to_string_pretty(&features()).expect("json")),
    }
    Ok(ExitCode::SUCCESS)
}

fn create_options(a: &CreateArgs) -> CreateOptions {
    CreateOptions {
        pid_file: a.pid_file.clone(),
        console: a.console_socket.clone().map(Console::Socket),
        no_pivot: a.no_pivot,
        preserve_fds: a.preserve_fds,
    }
}

fn run(rt: &Runtime, a: &CreateArgs, detach: bool) -> Result<ExitCode> {
    // Signals are blocked before the container exists, so none is lost in between;
    // the container's process gets an empty mask back before exec.
    let sigs = forwarded_signals(!detach)?;
    let mut opts = create_options(a);
    let relay = needs_relay(!detach, opts.console.is_none(), || {
        Bundle::load(&a.bundle).map(|b| b.spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false))
    })?;
    if let Some(r) = &relay {
        opts.console = Some(Console::Connected(r.theirs.try_clone().map_err(Error::io("console socket"))?));
    }
    let pid = rt.create(&a.id, &a.bundle, &opts)?;
    let master = relay.map(|r| runtime::console::recv_fd(r.ours.as_raw_fd())).transpose();
    let master = match master {
        Ok(m) => m,
        Err(e) => {
            let _ = rt.delete(&a.id, true);
            return Err(e);
        }
    };
    if let Err(e) = rt.start(&a.id) {
        let _ = rt.delete(&a.id, true);
        return Err(e);
    }
    if detach {
        return Ok(ExitCode::SUCCESS);
    }
    let code = wait_forwarding(pid, sigs.expect("foreground"), master);
    // A foreground container is gone with its runtime, as with runc.
    rt.delete(&a.id, true)?;
    code
}

fn forwarded_signals(foreground: bool) -> Result<Option<SignalFd>> {
    if !foreground {
        return Ok(None);
    }
    let mut set = SigSet::empty();
    for s in Signal::iterator() {
        if !matches!(s, Signal::SIGKILL | Signal::SIGSTOP | Signal::SIGSEGV | Signal::SIGBUS | Signal::SIGILL | Signal::SIGFPE | Signal::SIGTTIN | Signal::SIGTTOU | Signal::SIGTSTP) {
            set.add(s);
        }
    }
    set.thread_block().map_err(Error::sys("block signals"))?;
    SignalFd::new(&set).map(Some).map_err(Error::sys("signalfd"))
}

/// A relay is needed for a foreground terminal that nobody else receives.
fn needs_relay(foreground: bool, no_socket: bool, terminal: impl FnOnce() -> Result<bool>) -> Result<Option<relay::Relay>> {
    if foreground && no_socket && terminal()? {
        return relay::Relay::new().map(Some);
    }
    Ok(None)
}

/// Waits for `pid` (our child), forwarding every signal we receive to it (and relaying
/// its terminal when we hold the master); exits with its status, or 128+n when a
/// signal n killed it.
fn wait_forwarding(pid: i32, sfd: SignalFd, master: Option<OwnedFd>) -> Result<ExitCode> {
    let target = nix::unistd::Pid::from_raw(pid);
    let _raw = master.as_ref().map(|m| {
        relay::copy_size(m);
        relay::RawMode::enter()
    });
    let mut stdin_open = true;
    let mut master_open = master.is_some();
    loop {
        loop {
            let code = match nix::sys::wait::waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, code)) if p == target => ExitCode::from(code as u8),
                Ok(WaitStatus::Signaled(p, sig, _)) if p == target => ExitCode::from(128 + sig as u8),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            };
            if let Some(m) = &master {
                relay::drain(m);
            }
            return Ok(code);
        }
        if let (Some(m), true) = (&master, master_open) {
            master_open = relay::pump(m, sfd.as_fd(), &mut stdin_open);
            // pump returns when anything is ready; only read signals that are pending.
            let mut pfd = [nix::poll::PollFd::new(sfd.as_fd(), nix::poll::PollFlags::POLLIN)];
            if nix::poll::poll(&mut pfd, nix::poll::PollTimeout::ZERO).unwrap_or(0) == 0 {
                continue;
            }
        }
        match sfd.read_signal() {
            Ok(Some(info)) => {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    if let Some(m) = &master {
                        relay::copy_size(m);
                    }
                } else if sig != libc::SIGCHLD {
                    // SAFETY: kill with a pid and a signal number.
                    unsafe { libc::kill(pid, sig) };
                }
            }
            Ok(None) => {}
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(Error::sys("read signalfd")(e)),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn exec_process(
    rt: &Runtime,
    id: &str,
    command: &[String],
    tty: bool,
    cwd: Option<&Path>,
    env: &[String],
    user: Option<&str>,
    additional_gids: &[u32],
    no_new_privs: bool,
    caps: &[String],
) -> Result<oci_spec::runtime::Process> {
    if command.is_empty() {
        return Err(Error::InvalidSpec("exec needs a command (or --process)".into()));
    }
    let (st, _) = rt.load(id)?;
    let bundle = Bundle::load(&st.bundle)?;
    let mut process = bundle.spec.process().clone().expect("validated");
    process.set_args(Some(command.to_vec()));
    process.set_terminal(Some(tty));
    if let Some(cwd) = cwd {
        process.set_cwd(cwd.to_path_buf());
    }
    let mut envs = process.env().clone().unwrap_or_default();
    for kv in env {
        let key = kv.split('=').next().unwrap_or_default();
        envs.retain(|e| e.split('=').next() != Some(key));
        envs.push(kv.clone());
    }
    process.set_env(Some(envs));
    if let Some(u) = user {
        let mut spec_user = process.user().clone();
        let (uid, gid) = u.split_once(':').map_or((u, None), |(a, b)| (a, Some(b)));
        spec_user.set_uid(uid.parse().map_err(|_| Error::InvalidSpec(format!("--user {u:?}: want uid[:gid]")))?);
        if let Some(g) = gid {
            spec_user.set_gid(g.parse().map_err(|_| Error::InvalidSpec(format!("--user {u:?}: want uid[:gid]")))?);
        }
        process.set_user(spec_user);
    }
    if !additional_gids.is_empty() {
        let mut spec_user = process.user().clone();
        spec_user.set_additional_gids(Some(additional_gids.to_vec()));
        process.set_user(spec_user);
    }
    if no_new_privs {
        process.set_no_new_privileges(Some(true));
    }
    if !caps.is_empty() {
        let mut c = process.capabilities().clone().unwrap_or_default();
        for name in caps {
            let name = name.strip_prefix("CAP_").unwrap_or(name);
            let cap: oci_spec::runtime::Capability = name
                .parse()
                .map_err(|_| Error::Capabilities(format!("unknown capability {name}")))?;
            for set in [c.bounding().clone(), c.effective().clone(), c.permitted().clone()].iter_mut() {
                let _ = set;
            }
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            c.set_bounding(add(c.bounding()));
            c.set_effective(add(c.effective()));
            c.set_permitted(add(c.permitted()));
        }
        process.set_capabilities(Some(c));
    }
    Ok(process)
}

fn ps(rt: &Runtime, id: &str, format: &str, ps_args: &[String]) -> Result<()> {
    let pids = rt.pids(id)?;
    if format == "json" {
        println!("{}", serde_json::to_string(&pids).expect("json"));
        return Ok(());
    }
    let args: Vec<String> = if ps_args.is_empty() { vec!["-ef".into()] } else { ps_args.to_vec() };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(Error::io("run ps"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::InvalidSpec("ps output has no PID column".into()))?;
    println!("{header}");
    for line in lines {
        if let Some(p) = line.split_whitespace().nth(pid_col).and_then(|p| p.parse::<i32>().ok())
            && pids.contains(&p)
        {
            println!("{line}");
        }
    }
    Ok(())
}

fn list(rt: &Runtime, format: &str, quiet: bool) -> Result<()> {
    let entries = rt.list()?;
    if quiet {
        for (st, _) in &entries {
            println!("{}", st.id);
        }
        return Ok(());
    }
    if format == "json" {
        let v: Vec<_> = entries.iter().map(|(st, status)| st.oci_state(*status)).collect();
        println!("{}", serde_json::to_string(&v).expect("json"));
        return Ok(());
    }
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|(st, status)| {
            let pid = if *status == Status::Stopped { 0 } else { st.pid };
            [
                st.id.clone(),
                pid.to_string(),
                status.to_string(),
                st.bundle.display().to_string(),
                st.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                st.owner.clone(),
            ]
        })
        .collect();
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        let line: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(())
}

fn features() -> serde_json::Value {
    let caps: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": runtime::spec::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": ["async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "mand",
            "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid",
            "private", "rbind", "relatime", "remount", "ro", "rprivate", "rro", "rnosuid", "rnodev", "rnoexec",
            "rnoatime", "rshared", "rslave", "runbindable", "rw", "shared", "silent", "slave", "strictatime",
            "suid", "sync", "unbindable"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false}
        }
    })
}
