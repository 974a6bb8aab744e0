//! Host ports held for published ones: a socket bound on each, as Docker holds them,
//! so that a port some program of the host uses is refused at the start (a DNAT rule
//! alone would take that program's traffic away silently), and no program takes a
//! published port later. Nothing is ever accepted on them: the kernel forwards the
//! traffic before any socket is looked up.

use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};

use net::nat::Proto;

/// A bound socket, held while the port is published.
#[derive(Debug)]
pub enum Reservation {
    Tcp(TcpListener),
    Udp(UdpSocket),
    /// SCTP ports are not held (std has no SCTP socket; nothing else binds them here).
    Unheld,
}

impl Reservation {
    pub fn port(&self) -> Option<u16> {
        match self {
            Reservation::Tcp(s) => s.local_addr().ok().map(|a| a.port()),
            Reservation::Udp(s) => s.local_addr().ok().map(|a| a.port()),
            Reservation::Unheld => None,
        }
    }
}

/// Holds `port` (0: one the kernel picks) of `proto` on `ip` (every address when none).
/// Port 53 is not held where berth's own DNS servers listen on it (each network's
/// gateway): they are the only ones berth lets through.
pub fn reserve(proto: Proto, ip: Option<IpAddr>, port: u16) -> std::io::Result<Reservation> {
    let at = (ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), port);
    let held = match proto {
        Proto::Tcp => TcpListener::bind(at).map(Reservation::Tcp),
        Proto::Udp => UdpSocket::bind(at).map(Reservation::Udp),
        Proto::Sctp => Ok(Reservation::Unheld),
    };
    match held {
        Err(e) if port == 53 && e.kind() == std::io::ErrorKind::AddrInUse => Ok(Reservation::Unheld),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_port_is_refused_to_others_until_let_go() {
        let localhost = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let held = reserve(Proto::Tcp, localhost, 0).unwrap();
        let port = held.port().unwrap();
        assert!(reserve(Proto::Tcp, localhost, port).is_err());
        drop(held);
        assert!(reserve(Proto::Tcp, localhost, port).is_ok());
        let udp = reserve(Proto::Udp, None, 0).unwrap();
        assert!(reserve(Proto::Udp, None, udp.port().unwrap()).is_err());
    }
}
