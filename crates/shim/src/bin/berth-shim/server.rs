//! The shim's event loop, one thread and one poll(2) for everything: the signalfd
//! (SIGCHLD → reap), the container's output (→ json-file log and attach clients),
//! the container's stdin (← attach clients), both listening sockets and every client.
//! When init exits its output is drained (until end of file, or [`DRAIN_GRACE`]), the
//! exit record is written and waiters are answered; the loop ends on `shutdown`, on
//! SIGTERM after the exit, or when the linger time has passed.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use shim::frame::Stream;
use shim::jsonlog::{self, LineSplitter};
use shim::logfile::LogFile;
use shim::protocol::{ControlRequest, EXIT_FILE, ExecReply, ExecState, ExitStatus, OkReply, StateReply, Status, exec_file};

use crate::attach::{AttachClient, Input};
use crate::container::{self, Stdio};
use crate::control::ControlClient;
use crate::sys::{self, Io, note};

/// How long output is still read after init exited, for processes that outlive it.
pub const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// How long attach clients get to take the last output after the exit.
const CLOSE_GRACE: Duration = Duration::from_secs(10);
/// Stdin queued for the container beyond which clients are not read.
const STDIN_QUEUE_LIMIT: usize = 64 * 1024;
const READ_SIZE: usize = 64 * 1024;

/// What the shim listens on and writes to, made before the container exists.
pub struct Endpoints {
    pub signals: SignalFd,
    pub attach: UnixListener,
    pub control: UnixListener,
    pub log: LogFile,
}

pub struct Options {
    pub stdin_once: bool,
    pub linger: Duration,
}

struct Output {
    fd: OwnedFd,
    stream: Stream,
    lines: LineSplitter,
    open: bool,
}

struct StdinSink {
    fd: OwnedFd,
    queued: Vec<u8>,
    tty: bool,
    closing: bool,
}

impl StdinSink {
    fn has_room(&self) -> bool {
        !self.closing && self.queued.len() < STDIN_QUEUE_LIMIT
    }
}

#[derive(Clone)]
struct Reaped {
    exit_code: i32,
    signal: Option<i32>,
    at: DateTime<Utc>,
    drain_until: Instant,
}

/// An exec the shim started (see `exec`).
struct Exec {
    id: String,
    pid: i32,
    /// The serial of the control connection that started it, while that lives.
    owner: Option<u64>,
    /// The shim's copies of its output ends, drained once the owner is gone.
    outputs: Vec<Option<OwnedFd>>,
    exit: Option<ExitStatus>,
}

#[derive(Clone, Copy)]
enum Token {
    Signals,
    Output(usize),
    Stdin,
    AttachListener,
    ControlListener,
    Attach(usize),
    Control(usize),
    ExecOutput(usize, usize),
}

pub struct Shim {
    id: String,
    rt: crate::container::Engine,
    state_dir: PathBuf,
    pid: i32,
    opts: Options,
    ep: Endpoints,
    outputs: Vec<Output>,
    stdin: Option<StdinSink>,
    tty: Option<OwnedFd>,
    log_failing: bool,
    record: Vec<u8>,
    attach_clients: Vec<AttachClient>,
    control_clients: Vec<ControlClient>,
    accepted: u64,
    execs: Vec<Exec>,
    started: bool,
    reaped: Option<Reaped>,
    exit: Option<ExitStatus>,
    exited_at: Option<Instant>,
    shutdown: bool,
    buf: Vec<u8>,
}

impl Shim {
    pub fn new(id: &str, rt: crate::container::Engine, state_dir: PathBuf, pid: i32, stdio: Stdio, ep: Endpoints, opts: Options) -> Shim {
        let tty = stdio.tty.is_some();
        Shim {
            id: id.to_string(),
            rt,
            state_dir,
            pid,
            opts,
            ep,
            outputs: stdio
                .outputs
                .into_iter()
                .map(|(fd, stream)| Output { fd, stream, lines: LineSplitter::new(), open: true })
                .collect(),
            stdin: stdio.stdin.map(|fd| StdinSink { fd, queued: Vec::new(), tty, closing: false }),
            tty: stdio.tty,
            log_failing: false,
            record: Vec::new(),
            attach_clients: Vec::new(),
            control_clients: Vec::new(),
            accepted: 0,
            execs: Vec::new(),
            started: false,
            reaped: None,
            exit: None,
            exited_at: None,
            shutdown: false,
            buf: vec![0; READ_SIZE],
        }
    }

    /// Serves until the first attach client has sent its request (or `timeout`).
    pub fn wait_first_attach(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.attach_clients.iter().any(|c| c.request.is_some() && !c.dead) {
            if Instant::now() >= deadline {
                note("no attach client came: starting the container anyway");
                return;
            }
            if self.reaped.is_some() {
                return;
            }
            self.turn(Some(deadline));
        }
    }

    pub fn runtime(&self) -> &crate::container::Engine {
        &self.rt
    }

    pub fn set_started(&mut self) {
        self.started = true;
    }

    /// Serves until told to stop; returns with everything answered.
    pub fn run(&mut self) {
        self.reap();
        while !self.shutdown {
            if let Some(r) = &self.reaped
                && self.exit.is_none()
                && (self.outputs.iter().all(|o| !o.open) || Instant::now() >= r.drain_until)
            {
                self.finalize();
            }
            if let Some(at) = self.exited_at {
                if at.elapsed() >= self.opts.linger {
                    note("no shutdown request since the container exited: exiting");
                    break;
                }
                if at.elapsed() >= CLOSE_GRACE {
                    self.attach_clients.clear();
                }
            }
            let deadline = self.deadline();
            self.turn(deadline);
        }
        for c in &mut self.control_clients {
            c.flush_before_exit();
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let mut times = Vec::new();
        if let (Some(r), None) = (&self.reaped, &self.exit) {
            times.push(r.drain_until);
        }
        if let Some(at) = self.exited_at {
            times.push(at + self.opts.linger);
            if !self.attach_clients.is_empty() {
                times.push(at + CLOSE_GRACE);
            }
        }
        times.into_iter().min()
    }

    /// One poll and whatever it found ready.
    fn turn(&mut self, deadline: Option<Instant>) {
        let mut fds = Vec::with_capacity(6 + self.attach_clients.len() + self.control_clients.len());
        let mut tokens = Vec::with_capacity(fds.capacity());
        let mut add = |fd: i32, events: i16, token: Token| {
            fds.push(libc::pollfd { fd, events, revents: 0 });
            tokens.push(token);
        };
        add(self.ep.signals.as_raw_fd(), libc::POLLIN, Token::Signals);
        for (i, o) in self.outputs.iter().enumerate().filter(|(_, o)| o.open) {
            add(o.fd.as_raw_fd(), libc::POLLIN, Token::Output(i));
        }
        if let Some(s) = self.stdin.as_ref().filter(|s| !s.queued.is_empty()) {
            add(s.fd.as_raw_fd(), libc::POLLOUT, Token::Stdin);
        }
        add(self.ep.attach.as_raw_fd(), libc::POLLIN, Token::AttachListener);
        add(self.ep.control.as_raw_fd(), libc::POLLIN, Token::ControlListener);
        let room = self.stdin.as_ref().is_none_or(StdinSink::has_room);
        for (i, c) in self.attach_clients.iter().enumerate() {
            add(c.fd(), c.events(room), Token::Attach(i));
        }
        for (i, c) in self.control_clients.iter().enumerate() {
            add(c.fd(), c.events(), Token::Control(i));
        }
        for (e, x) in self.execs.iter().enumerate().filter(|(_, x)| x.owner.is_none()) {
            for (k, fd) in x.outputs.iter().enumerate() {
                if let Some(fd) = fd {
                    add(fd.as_raw_fd(), libc::POLLIN, Token::ExecOutput(e, k));
                }
            }
        }
        sys::poll(&mut fds, deadline);
        for (pfd, token) in fds.iter().zip(tokens) {
            if pfd.revents == 0 {
                continue;
            }
            match token {
                Token::Signals => self.on_signals(),
                Token::Output(i) => self.read_output(i),
                Token::Stdin => self.flush_stdin(),
                Token::AttachListener => self.accept_attach(),
                Token::ControlListener => self.accept_control(),
                Token::Attach(i) => self.on_attach(i, pfd.revents),
                Token::Control(i) => self.on_control(i, pfd.revents),
                Token::ExecOutput(e, k) => self.drain_exec(e, k),
            }
        }
        self.sweep();
    }

    fn on_signals(&mut self) {
        loop {
            match self.ep.signals.read_signal() {
                Ok(Some(info)) => match info.ssi_signo as i32 {
                    libc::SIGCHLD => self.reap(),
                    s @ (libc::SIGTERM | libc::SIGINT | libc::SIGHUP) => {
                        if self.exit.is_some() {
                            note(format!("signal {s} after the container exited: exiting"));
                            self.shutdown = true;
                        } else {
                            note(format!("ignoring signal {s}: the container is running (stop it with the runtime's kill)"));
                        }
                    }
                    _ => {}
                },
                Ok(None) => break,
                Err(nix::Error::EINTR) => {}
                Err(e) => {
                    note(format!("read signalfd: {e}"));
                    break;
                }
            }
        }
    }

    /// Reaps every child that exited: init (recorded) and orphans of the container
    /// that were reparented to us as their subreaper.
    fn reap(&mut self) {
        loop {
            let (pid, code, signal) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, code)) => (p, code, None),
                Ok(WaitStatus::Signaled(p, sig, _)) => (p, 128 + sig as i32, Some(sig as i32)),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            };
            if pid.as_raw() == self.pid && self.reaped.is_none() {
                self.reaped =
                    Some(Reaped { exit_code: code, signal, at: Utc::now(), drain_until: Instant::now() + DRAIN_GRACE });
            } else if let Some(e) = self.execs.iter().position(|x| x.pid == pid.as_raw() && x.exit.is_none()) {
                self.exec_exited(e, code, signal);
            }
        }
    }

    fn read_output(&mut self, i: usize) {
        let fd = self.outputs[i].fd.as_raw_fd();
        let n = match sys::read(fd, &mut self.buf) {
            Io::Done(n) => n,
            Io::Later => return,
            Io::Closed => {
                self.outputs[i].open = false;
                return;
            }
            Io::Failed(e) => {
                note(format!("read the container's {}: {e}", self.outputs[i].stream.name()));
                self.outputs[i].open = false;
                return;
            }
        };
        let data = &self.buf[..n];
        let out = &mut self.outputs[i];
        let stream = out.stream;
        let framed = if self.tty.is_some() { None } else { Some(stream) };
        for c in &mut self.attach_clients {
            if c.wants(stream) {
                c.send(framed, data);
            }
        }
        let time = jsonlog::timestamp(Utc::now());
        let (log, failing, record) = (&mut self.ep.log, &mut self.log_failing, &mut self.record);
        out.lines.push(data, |line| write_record(log, failing, record, line, stream, &time));
    }

    fn accept_attach(&mut self) {
        while let Ok((s, _)) = self.ep.attach.accept() {
            if s.set_nonblocking(true).is_ok() {
                let mut c = AttachClient::new(s);
                if self.exit.is_some() {
                    // Nothing more will come: the stream ends at once.
                    c.closing = true;
                }
                self.attach_clients.push(c);
            }
        }
    }

    fn accept_control(&mut self) {
        while let Ok((s, _)) = self.ep.control.accept() {
            if s.set_nonblocking(true).is_ok() {
                self.accepted += 1;
                self.control_clients.push(ControlClient::new(self.accepted, s));
            }
        }
    }

    /// Whether the container still runs: its init not yet reaped.
    fn live(&self) -> Result<(), String> {
        match self.reaped {
            None => Ok(()),
            Some(_) => Err(format!("container {} is not running", self.id)),
        }
    }

    fn reply_done(&mut self, i: usize, r: Result<(), String>) {
        match r {
            Ok(()) => self.control_clients[i].reply(&OkReply { ok: true }),
            Err(e) => self.control_clients[i].reply_error(e),
        }
    }

    /// Starts an exec for control client `i` and replies with its stdio.
    fn start_exec(&mut self, i: usize, id: String, process: PathBuf, tty: bool, stdin: bool) {
        if self.exit.is_some() || self.reaped.is_some() {
            self.control_clients[i].reply_error("the container is not running");
            return;
        }
        if self.execs.iter().any(|x| x.id == id) {
            self.control_clients[i].reply_error(format!("exec {id} exists already"));
            return;
        }
        match crate::exec::start(&self.rt, &self.id, &process, tty, stdin, &self.state_dir) {
            Ok(started) => {
                note(format!("exec {id} started, pid {}", started.pid));
                let fds: Vec<i32> = started.client.iter().map(|f| f.as_raw_fd()).collect();
                self.control_clients[i].reply_with_fds(&ExecReply::Started { pid: started.pid }, &fds);
                // The client's ends are berthd's now; ours close here.
                drop(started.client);
                let owner = Some(self.control_clients[i].serial);
                let outputs = started.outputs.into_iter().map(Some).collect();
                self.execs.push(Exec { id, pid: started.pid, owner, outputs, exit: None });
            }
            Err(e) => {
                let reply = ExecReply::Failed { error: format!("{e:#}"), code: container::failure_code(&e) };
                self.control_clients[i].reply(&reply);
            }
        }
    }

    /// An exec's process exited: its record is kept (the daemon may ask after a
    /// restart) and its waiters answered.
    fn exec_exited(&mut self, e: usize, exit_code: i32, signal: Option<i32>) {
        let exit = ExitStatus { exit_code, signal, oom_killed: false, finished_at: jsonlog::timestamp(Utc::now()) };
        let json = serde_json::to_vec(&exit).expect("exit status serializes");
        let x = &mut self.execs[e];
        if let Err(err) = runtime::state::write_atomic(&self.state_dir.join(exec_file(&x.id, "exit.json")), &json) {
            note(format!("record the exit of exec {}: {err}", x.id));
        }
        x.exit = Some(exit.clone());
        let id = x.id.clone();
        for i in 0..self.control_clients.len() {
            if self.control_clients[i].waiting_exec.as_deref() == Some(id.as_str()) {
                self.control_clients[i].waiting = false;
                self.control_clients[i].waiting_exec = None;
                self.control_clients[i].reply(&exit);
                self.serve_control(i);
            }
        }
    }

    /// The exit the shim recorded for an exec it has forgotten.
    fn exec_exit_record(&self, id: &str) -> Option<ExitStatus> {
        serde_json::from_slice(&std::fs::read(self.state_dir.join(exec_file(id, "exit.json"))).ok()?).ok()
    }

    /// Reads and drops an exec's output once nobody else reads it.
    fn drain_exec(&mut self, e: usize, k: usize) {
        let Some(fd) = self.execs[e].outputs[k].as_ref() else { return };
        match sys::read(fd.as_raw_fd(), &mut self.buf) {
            Io::Done(_) | Io::Later => {}
            Io::Closed | Io::Failed(_) => self.execs[e].outputs[k] = None,
        }
    }

    fn on_attach(&mut self, i: usize, revents: i16) {
        let c = &mut self.attach_clients[i];
        if revents & libc::POLLOUT != 0 {
            c.flush();
        }
        if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) == 0 {
            return;
        }
        if c.input_done || c.closing {
            // Hung up while we were not reading from it.
            c.dead = true;
            return;
        }
        match c.read(&mut self.buf) {
            Input::Nothing => {}
            Input::Data(d) => {
                if c.wants_stdin() {
                    self.push_stdin(&d);
                }
            }
            Input::End => {
                if c.wants_stdin() && self.opts.stdin_once {
                    self.close_stdin();
                }
            }
        }
    }

    fn on_control(&mut self, i: usize, revents: i16) {
        let c = &mut self.control_clients[i];
        if revents & libc::POLLOUT != 0 {
            c.flush();
        }
        if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            if c.input_done || c.waiting {
                c.dead = true;
            } else {
                c.read(&mut self.buf);
            }
        }
        self.serve_control(i);
    }

    fn serve_control(&mut self, i: usize) {
        while !self.control_clients[i].waiting && !self.control_clients[i].dead {
            match self.control_clients[i].next_request() {
                None => break,
                Some(Err(msg)) => self.control_clients[i].reply_error(msg),
                Some(Ok(req)) => self.handle_control(i, req),
            }
        }
    }

    fn handle_control(&mut self, i: usize, req: ControlRequest) {
        match req {
            ControlRequest::Resize { width, height } => {
                let res = match (&self.exit, &self.tty) {
                    (Some(_), _) => Err("the container has exited".to_string()),
                    (None, None) => Err("the container has no terminal".to_string()),
                    (None, Some(t)) => runtime::console::set_size(t.as_raw_fd(), height, width).map_err(|e| e.to_string()),
                };
                match res {
                    Ok(()) => self.control_clients[i].reply(&OkReply { ok: true }),
                    Err(e) => self.control_clients[i].reply_error(e),
                }
            }
            ControlRequest::State => {
                let status = match (&self.exit, self.started) {
                    (Some(_), _) => Status::Exited,
                    (None, true) => Status::Running,
                    (None, false) => Status::Created,
                };
                let reply = StateReply { pid: self.pid, status, exit_code: self.exit.as_ref().map(|e| e.exit_code), protocol: shim::PROTOCOL };
                self.control_clients[i].reply(&reply);
            }
            ControlRequest::Wait => match &self.exit {
                Some(e) => self.control_clients[i].reply(e),
                None => self.control_clients[i].waiting = true,
            },
            ControlRequest::Kill { signal, all } => {
                let r = self.rt.kill(&self.id, signal, all);
                self.reply_done(i, r);
            }
            ControlRequest::Pause => {
                let r = self.live().and_then(|()| self.rt.pause(&self.id));
                self.reply_done(i, r);
            }
            ControlRequest::Resume => {
                let r = self.live().and_then(|()| self.rt.resume(&self.id));
                self.reply_done(i, r);
            }
            ControlRequest::Update { resources } => {
                let r = self.live().and_then(|()| self.rt.update(&self.id, &resources));
                self.reply_done(i, r);
            }
            ControlRequest::Pids => match self.live().and_then(|()| self.rt.pids(&self.id)) {
                Ok(pids) => self.control_clients[i].reply(&shim::PidsReply { pids }),
                Err(e) => self.control_clients[i].reply_error(e),
            },
            ControlRequest::Stats => match self.live().and_then(|()| self.rt.stats(&self.id, self.pid)) {
                Ok(cgroup) => self.control_clients[i].reply(&shim::StatsReply { cgroup }),
                Err(e) => self.control_clients[i].reply_error(e),
            },
            ControlRequest::Delete => {
                if self.exit.is_some() {
                    container::delete(&self.rt, &self.id);
                    self.control_clients[i].reply(&OkReply { ok: true });
                } else {
                    self.control_clients[i].reply_error("the container is still running: stop it first");
                }
            }
            ControlRequest::Exec { id, process, tty, stdin } => self.start_exec(i, id, process, tty, stdin),
            ControlRequest::ExecWait { id } => match self.execs.iter().find(|x| x.id == id) {
                None => match self.exec_exit_record(&id) {
                    Some(exit) => self.control_clients[i].reply(&exit),
                    None => self.control_clients[i].reply_error(format!("no such exec: {id}")),
                },
                Some(Exec { exit: Some(exit), .. }) => {
                    let exit = exit.clone();
                    self.control_clients[i].reply(&exit);
                }
                Some(_) => {
                    self.control_clients[i].waiting = true;
                    self.control_clients[i].waiting_exec = Some(id);
                }
            },
            ControlRequest::ExecKill { id, signal } => match self.execs.iter().find(|x| x.id == id) {
                Some(Exec { pid, exit: None, .. }) => {
                    let sent = nix::sys::signal::Signal::try_from(signal)
                        .map_err(|e| e.to_string())
                        .and_then(|s| nix::sys::signal::kill(Pid::from_raw(*pid), s).map_err(|e| e.to_string()));
                    self.reply_done(i, sent);
                }
                Some(_) => self.control_clients[i].reply_error(format!("exec {id} has exited")),
                None => self.control_clients[i].reply_error(format!("no such exec: {id}")),
            },
            ControlRequest::ExecState { id } => match self.execs.iter().find(|x| x.id == id) {
                None => match self.exec_exit_record(&id) {
                    Some(exit) => self.control_clients[i].reply(&ExecState { pid: 0, exit: Some(exit) }),
                    None => self.control_clients[i].reply_error(format!("no such exec: {id}")),
                },
                Some(x) => {
                    let reply = ExecState { pid: x.pid, exit: x.exit.clone() };
                    self.control_clients[i].reply(&reply);
                }
            },
            ControlRequest::Shutdown => {
                if self.exit.is_some() {
                    self.control_clients[i].reply(&OkReply { ok: true });
                    self.shutdown = true;
                } else {
                    self.control_clients[i]
                        .reply_error("the container is still running: stop it with the runtime's kill first");
                }
            }
        }
    }

    fn push_stdin(&mut self, data: &[u8]) {
        if let Some(s) = self.stdin.as_mut().filter(|s| !s.closing) {
            s.queued.extend_from_slice(data);
        }
        self.flush_stdin();
    }

    /// StdinOnce: the container's stdin ends (with a tty: an EOF character).
    fn close_stdin(&mut self) {
        if let Some(s) = self.stdin.as_mut().filter(|s| !s.closing) {
            if s.tty {
                s.queued.push(0x04);
            }
            s.closing = true;
        }
        self.flush_stdin();
    }

    fn flush_stdin(&mut self) {
        let Some(s) = self.stdin.as_mut() else { return };
        while !s.queued.is_empty() {
            match sys::write(s.fd.as_raw_fd(), &s.queued) {
                Io::Done(n) => {
                    s.queued.drain(..n);
                }
                Io::Later => return,
                Io::Closed | Io::Failed(_) => {
                    // Nobody reads the container's stdin any more.
                    self.stdin = None;
                    return;
                }
            }
        }
        if s.closing {
            self.stdin = None;
        }
    }

    /// Init exited and its output is drained: log the last partial lines, record the
    /// exit, answer waiters and end the attach streams.
    fn finalize(&mut self) {
        let Some(r) = self.reaped.clone() else { return };
        let time = jsonlog::timestamp(Utc::now());
        for o in &mut self.outputs {
            let (log, failing, record, stream) = (&mut self.ep.log, &mut self.log_failing, &mut self.record, o.stream);
            o.lines.finish(|line| write_record(log, failing, record, line, stream, &time));
        }
        self.outputs.clear();
        self.stdin = None;
        let exit = ExitStatus {
            exit_code: r.exit_code,
            signal: r.signal,
            oom_killed: container::oom_killed(&self.rt, &self.id),
            finished_at: jsonlog::timestamp(r.at),
        };
        let json = serde_json::to_vec(&exit).expect("exit status serializes");
        if let Err(e) = runtime::state::write_atomic(&self.state_dir.join(EXIT_FILE), &json) {
            note(format!("record the exit: {e}"));
        }
        note(format!("container exited: {}", String::from_utf8_lossy(&json)));
        self.exit = Some(exit.clone());
        self.exited_at = Some(Instant::now());
        for i in 0..self.control_clients.len() {
            if self.control_clients[i].waiting && self.control_clients[i].waiting_exec.is_none() {
                self.control_clients[i].waiting = false;
                self.control_clients[i].reply(&exit);
                self.serve_control(i);
            }
        }
        for c in &mut self.attach_clients {
            c.closing = true;
            c.flush();
        }
        // Streams with nothing left to send end now.
        self.sweep();
    }

    /// Drops clients that are done or gone.
    fn sweep(&mut self) {
        let mut stdin_ended = false;
        self.attach_clients.retain(|c| {
            let gone = c.dead || (c.closing && !c.has_pending_output());
            if c.dead && c.wants_stdin() && !c.input_done {
                stdin_ended = true;
            }
            !gone
        });
        if stdin_ended && self.opts.stdin_once {
            self.close_stdin();
        }
        let gone: Vec<u64> = self.control_clients.iter().filter(|c| c.finished()).map(|c| c.serial).collect();
        for x in &mut self.execs {
            if x.owner.is_some_and(|o| gone.contains(&o)) {
                // berthd went away (or is done with it): the shim reads its output now,
                // never blocking (berthd may have left the shared files blocking).
                x.owner = None;
                for fd in x.outputs.iter().flatten() {
                    let _ = sys::set_nonblocking(fd.as_raw_fd());
                }
            }
        }
        // An exec that ended, with nobody reading it and nothing left to drain, is
        // forgotten: its exit record answers for it from then on.
        self.execs.retain(|x| !(x.exit.is_some() && x.owner.is_none() && x.outputs.iter().all(Option::is_none)));
        self.control_clients.retain(|c| !c.finished());
    }
}

fn write_record(log: &mut LogFile, failing: &mut bool, record: &mut Vec<u8>, line: &[u8], stream: Stream, time: &str) {
    record.clear();
    jsonlog::encode_record(record, line, stream.name(), time);
    match log.write_record(record) {
        Ok(()) => *failing = false,
        Err(e) => {
            if !*failing {
                note(format!("{e} (output is lost until writing works again)"));
            }
            *failing = true;
        }
    }
}
