//! Map elements added and deleted through nftables' netlink interface, in-process: a
//! published port costs one batch of three short messages instead of an `nft`
//! process (fork, exec, parsing, a read of the ruleset). The tables themselves are
//! still written by `nft -f` ([`crate::nat::apply`]), rarely.
//!
//! An element of berth's port maps is a concatenation, each part padded to four
//! bytes as nftables' registers are: `[address .] protocol . port` to
//! `address . port`, ports in network order.

use std::net::IpAddr;
use std::os::fd::AsRawFd;

use nix::sys::socket::{self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};

use crate::forward::{Forward, Proto};

const SUBSYS_NFTABLES: u16 = 10;
const MSG_BATCH_BEGIN: u16 = 0x10;
const MSG_BATCH_END: u16 = 0x11;
const MSG_NEWSETELEM: u16 = 12;
const MSG_DELSETELEM: u16 = 14;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 0x2;
const NLA_F_NESTED: u16 = 0x8000;
const LIST_TABLE: u16 = 1;
const LIST_SET: u16 = 2;
const LIST_ELEMENTS: u16 = 3;
const LIST_ELEM: u16 = 1;
const ELEM_KEY: u16 = 1;
const ELEM_DATA: u16 = 2;
const DATA_VALUE: u16 = 1;

/// What a batch asks of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add,
    Delete,
}

/// A message under construction: attributes appended, nests closed by length.
struct Message {
    buf: Vec<u8>,
}

impl Message {
    fn new(kind: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> Message {
        let mut buf = Vec::with_capacity(256);
        buf.extend(0u32.to_ne_bytes()); // length, set at the end
        buf.extend(kind.to_ne_bytes());
        buf.extend(flags.to_ne_bytes());
        buf.extend(seq.to_ne_bytes());
        buf.extend(0u32.to_ne_bytes());
        buf.extend([family, 0]);
        buf.extend(res_id.to_be_bytes());
        Message { buf }
    }

    fn attr(&mut self, kind: u16, value: &[u8]) {
        self.buf.extend(((4 + value.len()) as u16).to_ne_bytes());
        self.buf.extend(kind.to_ne_bytes());
        self.buf.extend(value);
        self.pad();
    }

    fn begin(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend(0u16.to_ne_bytes());
        self.buf.extend((kind | NLA_F_NESTED).to_ne_bytes());
        at
    }

    fn end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn done(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// A part of a concatenation: its bytes in a four-byte-aligned slot.
fn part(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(bytes);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn addr(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => part(out, &v4.octets()),
        IpAddr::V6(v6) => part(out, &v6.octets()),
    }
}

/// The protocol's number, as `meta l4proto` reads it.
fn proto_number(f: &Forward) -> u8 {
    match f.proto {
        Proto::Tcp => 6,
        Proto::Udp => 17,
        Proto::Sctp => 132,
    }
}

/// The key and the value of `f` in its map.
fn element(f: &Forward) -> (Vec<u8>, Vec<u8>) {
    let mut key = Vec::new();
    if let Some(ip) = f.host_ip {
        addr(&mut key, ip);
    }
    part(&mut key, &[proto_number(f)]);
    part(&mut key, &f.host_port.to_be_bytes());
    let mut data = Vec::new();
    addr(&mut data, f.container_ip);
    part(&mut data, &f.container_port.to_be_bytes());
    (key, data)
}

/// The batch that makes `change` to `forwards` in table `table`.
fn batch(table: &str, change: Change, forwards: &[Forward], seq: u32) -> Vec<u8> {
    let mut out = Message::new(MSG_BATCH_BEGIN, NLM_F_REQUEST, seq, 0, SUBSYS_NFTABLES).done();
    for (i, f) in forwards.iter().enumerate() {
        let (kind, flags) = match change {
            Change::Add => (MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE),
            Change::Delete => (MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK),
        };
        let family = if f.container_ip.is_ipv4() { 2 } else { 10 };
        let mut m = Message::new((SUBSYS_NFTABLES << 8) | kind, flags, seq + 1 + i as u32, family, 0);
        m.attr(LIST_TABLE, format!("{table}\0").as_bytes());
        m.attr(LIST_SET, if f.host_ip.is_some() { b"ports_at\0" } else { b"ports_any\0" });
        let (key, data) = element(f);
        let list = m.begin(LIST_ELEMENTS);
        let elem = m.begin(LIST_ELEM);
        let k = m.begin(ELEM_KEY);
        m.attr(DATA_VALUE, &key);
        m.end(k);
        if change == Change::Add {
            let d = m.begin(ELEM_DATA);
            m.attr(DATA_VALUE, &data);
            m.end(d);
        }
        m.end(elem);
        m.end(list);
        out.extend(m.done());
    }
    out.extend(Message::new(MSG_BATCH_END, NLM_F_REQUEST, seq + 1 + forwards.len() as u32, 0, SUBSYS_NFTABLES).done());
    out
}

/// Makes `change` to the port maps of table `table`, in one transaction: every
/// element or none. The kernel's answer to each element is read; the first error is
/// returned.
pub fn change(table: &str, change: Change, forwards: &[Forward]) -> std::io::Result<()> {
    if forwards.is_empty() {
        return Ok(());
    }
    let fd = socket::socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkNetFilter)?;
    socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
    socket::setsockopt(&fd, socket::sockopt::ReceiveTimeout, &nix::sys::time::TimeVal::new(2, 0))?;
    let seq = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(1) & 0x0fff_ffff;
    let request = batch(table, change, forwards, seq);
    socket::sendto(fd.as_raw_fd(), &request, &NetlinkAddr::new(0, 0), MsgFlags::empty())?;
    // One acknowledgement per element (an error is one too).
    let mut acked = 0;
    let mut buf = vec![0u8; 16 * 1024];
    while acked < forwards.len() {
        let n = socket::recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
        let mut at = 0;
        while at + 16 <= n {
            let len = u32::from_ne_bytes(buf[at..at + 4].try_into().expect("4 bytes")) as usize;
            let kind = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().expect("2 bytes"));
            if len < 16 || at + len > n {
                break;
            }
            if kind == NLMSG_ERROR && len >= 20 {
                let code = i32::from_ne_bytes(buf[at + 16..at + 20].try_into().expect("4 bytes"));
                if code != 0 {
                    return Err(std::io::Error::from_raw_os_error(-code));
                }
                acked += 1;
            }
            at += len.next_multiple_of(4);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn elements_are_concatenations_of_padded_parts() {
        let f = Forward { proto: Proto::Tcp, host_ip: None, host_port: 8080, container_ip: Ipv4Addr::new(10, 1, 2, 3).into(), container_port: 80 };
        let (key, data) = element(&f);
        assert_eq!(key, [6, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        assert_eq!(data, [10, 1, 2, 3, 0, 80, 0, 0]);
        let at = Forward { host_ip: Some(Ipv4Addr::LOCALHOST.into()), proto: Proto::Udp, ..f.clone() };
        assert_eq!(element(&at).0, [127, 0, 0, 1, 17, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        let v6 = Forward { container_ip: "fd00::2".parse().unwrap(), ..f };
        assert_eq!(element(&v6).1.len(), 20);
    }
}
