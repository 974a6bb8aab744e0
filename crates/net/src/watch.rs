//! Noticing that someone else removed berth's nftables table (`nft flush ruleset`, a
//! firewall reload that wipes every table): the kernel tells every listener of its
//! nftables netlink group about each table deleted and made, so berth learns of it at
//! once, without polling, and puts its table back.
//!
//! berth's own changes replace its table in one transaction (deleted and made again),
//! which the kernel reports as a deletion followed by a creation: only a deletion that
//! no creation follows is a loss.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::socket::{self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};

/// `NFNLGRP_NFTABLES`: the group nftables changes are announced on.
const GROUP_NFTABLES: u32 = 7;
const SUBSYS_NFTABLES: u16 = 10;
const MSG_NEWTABLE: u16 = 0;
const MSG_DELTABLE: u16 = 2;
const TABLE_NAME: u16 = 1;
/// `NFPROTO_IPV4` and `NFPROTO_IPV6`: `ip` and `ip6` tables.
const FAMILY_IP: u8 = 2;
const FAMILY_IP6: u8 = 10;

/// A table event read off the group: the table's family and name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Made(u8, String),
    Deleted(u8, String),
}

/// The table events in one datagram of the group (several netlink messages).
fn events(mut buf: &[u8]) -> Vec<Event> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes(buf[4..6].try_into().expect("2 bytes"));
        let (subsys, msg) = (kind >> 8, kind & 0xff);
        let body = &buf[16..len];
        if subsys == SUBSYS_NFTABLES
            && (msg == MSG_NEWTABLE || msg == MSG_DELTABLE)
            && body.len() >= 4
            && matches!(body[0], FAMILY_IP | FAMILY_IP6)
            && let Some(name) = table_name(&body[4..])
        {
            out.push(if msg == MSG_NEWTABLE { Event::Made(body[0], name) } else { Event::Deleted(body[0], name) });
        }
        buf = &buf[len.next_multiple_of(4).min(buf.len())..];
    }
    out
}

/// `NFTA_TABLE_NAME` among a message's attributes.
fn table_name(mut attrs: &[u8]) -> Option<String> {
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if kind == TABLE_NAME {
            let raw = &attrs[4..len];
            let raw = raw.split(|b| *b == 0).next().unwrap_or_default();
            return String::from_utf8(raw.to_vec()).ok();
        }
        attrs = &attrs[len.next_multiple_of(4).min(attrs.len())..];
    }
    None
}

/// Calls back when the `ip` or `ip6` table `name` is deleted and not made again.
/// Stops when dropped.
pub struct TableWatch {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TableWatch {
    pub fn start(name: &str, lost: impl Fn() + Send + 'static) -> std::io::Result<TableWatch> {
        let fd: OwnedFd = socket::socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkNetFilter)?;
        socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &NetlinkAddr::new(0, 1 << (GROUP_NFTABLES - 1)))?;
        // Wakes the reader now and then to see whether it is to stop, and ends a burst
        // of events: a deletion still unanswered then is a loss.
        let tick = nix::sys::time::TimeVal::new(0, 200_000);
        socket::setsockopt(&fd, socket::sockopt::ReceiveTimeout, &tick)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (name, stopping) = (name.to_string(), stop.clone());
        let thread = std::thread::Builder::new().name("berth-nft-watch".into()).spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            // The families whose table was deleted and not made again.
            let mut missing: Vec<u8> = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                match socket::recv(std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd()), &mut buf, MsgFlags::empty()) {
                    Ok(n) => {
                        for e in events(&buf[..n]) {
                            match e {
                                Event::Deleted(f, t) if t == name && !missing.contains(&f) => missing.push(f),
                                Event::Made(f, t) if t == name => missing.retain(|m| *m != f),
                                _ => {}
                            }
                        }
                        continue;
                    }
                    // Events were lost: the table may have gone with them.
                    Err(nix::errno::Errno::ENOBUFS) => missing.push(FAMILY_IP),
                    Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
                if !missing.is_empty() {
                    missing.clear();
                    lost();
                }
            }
        })?;
        Ok(TableWatch { stop, thread: Some(thread) })
    }
}

impl Drop for TableWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(msg: u16, family: u8, name: &str) -> Vec<u8> {
        let mut attr = Vec::new();
        let payload = format!("{name}\0");
        attr.extend(((4 + payload.len()) as u16).to_ne_bytes());
        attr.extend(TABLE_NAME.to_ne_bytes());
        attr.extend(payload.as_bytes());
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let len = 16 + 4 + attr.len();
        let mut m = Vec::new();
        m.extend((len as u32).to_ne_bytes());
        m.extend(((SUBSYS_NFTABLES << 8) | msg).to_ne_bytes());
        m.extend([0u8; 10]);
        m.extend([family, 0, 0, 0]);
        m.extend(attr);
        m
    }

    #[test]
    fn table_events_are_read_from_a_datagram() {
        let mut d = message(MSG_DELTABLE, FAMILY_IP, "berth_b0");
        d.extend(message(MSG_NEWTABLE, FAMILY_IP, "berth_b0"));
        d.extend(message(MSG_DELTABLE, 1, "inet_one"));
        d.extend(message(MSG_DELTABLE, FAMILY_IP6, "berth_b0"));
        assert_eq!(
            events(&d),
            [Event::Deleted(FAMILY_IP, "berth_b0".into()), Event::Made(FAMILY_IP, "berth_b0".into()), Event::Deleted(FAMILY_IP6, "berth_b0".into())]
        );
        // Cut short or garbage: nothing, no panic.
        assert!(events(&d[..20]).is_empty());
        assert!(events(&[0xff; 64]).is_empty());
        assert!(events(&[]).is_empty());
    }

    /// A flush by someone else is noticed; berth's own replacement is not a loss
    /// (root, nft).
    #[test]
    fn a_deleted_table_is_noticed_and_a_replaced_one_is_not() {
        if !nix::unistd::geteuid().is_root() || std::process::Command::new("nft").arg("--version").output().is_err() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "needs root and nft under CI");
            return;
        }
        let name = format!("berth_watch{}", std::process::id());
        // The table goes even when an assertion fails.
        struct Gone(String);
        impl Drop for Gone {
            fn drop(&mut self) {
                let _ = crate::nat::remove(&self.0);
            }
        }
        let _gone = Gone(name.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let watch = TableWatch::start(&name, move || {
            let _ = tx.send(());
        })
        .unwrap();
        let table = crate::nat::Table { name: &name, segments: &[], forwards: &[] };
        crate::nat::apply(&table).unwrap();
        crate::nat::apply(&table).unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(600)).is_err(), "a replacement is no loss");
        crate::nat::remove(&name).unwrap();
        assert!(rx.recv_timeout(Duration::from_secs(3)).is_ok(), "the deletion is noticed");
        drop(watch);
    }
}
