//! The channel between the runtime and the processes it forks (intermediate, init,
//! exec'd process): a SOCK_SEQPACKET socketpair, one JSON message per packet, so a
//! message is never split or merged and a dead peer reads as end-of-file.

use std::os::fd::{AsFd, OwnedFd};

use nix::sys::socket::{self, AddressFamily, SockFlag, SockType};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub enum Msg {
    /// Intermediate → runtime: I have unshared the user namespace; write my id maps.
    UsernsReady,
    /// Runtime → intermediate: the id maps are written.
    MappingsWritten,
    /// Intermediate → runtime: init's pid (in the runtime's pid namespace).
    InitPid(i32),
    /// Runtime → init: you are in your cgroups.
    CgroupJoined,
    /// Init → runtime: mounts are done, run prestart/createRuntime hooks now.
    RootfsMounted,
    /// Runtime → init: hooks ran, go on; carries the state JSON for the hooks init runs.
    HooksDone(String),
    /// Init → runtime: fully set up, waiting for `start`.
    Created,
    /// Any child → runtime: this step failed.
    Failed(crate::error::Failure),
}

pub struct Channel {
    fd: OwnedFd,
}

pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socket::socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(Error::sys("socketpair"))?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn send(&self, msg: &Msg) -> Result<()> {
        let bytes = serde_json::to_vec(msg).expect("message serialises");
        nix::unistd::write(self.fd.as_fd(), &bytes).map_err(Error::sys("sync channel: send"))?;
        Ok(())
    }

    /// Receives one message; a closed peer becomes an error naming what was awaited.
    pub fn recv(&self, awaiting: &str) -> Result<Msg> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = loop {
            match nix::unistd::read(self.fd.as_fd(), &mut buf) {
                Err(nix::Error::EINTR) => continue,
                r => break r.map_err(Error::sys("sync channel: receive"))?,
            }
        };
        if n == 0 {
            return Err(Error::Init(format!("container process exited while {awaiting}")));
        }
        serde_json::from_slice(&buf[..n])
            .map_err(|e| Error::Init(format!("bad message while {awaiting}: {e}")))
    }

    /// Waits for `want`; a `Failed` from the child becomes the error it carries.
    pub fn expect(&self, want: Msg, awaiting: &str) -> Result<()> {
        match self.recv(awaiting)? {
            m if m == want => Ok(()),
            Msg::Failed(failure) => Err(Error::Container(failure)),
            other => Err(Error::Init(format!("unexpected {other:?} while {awaiting}"))),
        }
    }
}
