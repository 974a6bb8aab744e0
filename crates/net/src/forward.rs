//! A published port as the kernel forwards it: a host port (on one address, or on
//! every one) to a container's address and port, over one transport protocol.

use std::net::IpAddr;

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }

    pub fn parse(s: &str) -> Option<Proto> {
        match s {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "sctp" => Some(Proto::Sctp),
            _ => None,
        }
    }
}

/// A host port forwarded to a container's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub proto: Proto,
    /// Only traffic for this host address; any local address when none. Of the
    /// container's family.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    /// IPv4 or IPv6: the forward is in the table of that family.
    pub container_ip: IpAddr,
    pub container_port: u16,
}

