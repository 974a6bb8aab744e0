//! A run's published ports: a forward each in berth's table, and the host port held
//! by a socket bound on it, as Docker holds them, so that a port some program of the
//! host uses is refused at the start (a DNAT rule alone would take that program's
//! traffic away silently), and no program takes a published port later. Nothing is
//! ever accepted on them: the kernel forwards the traffic before any socket is
//! looked up.

use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};

use net::nat::Proto;

use super::{Endpoint, Networks, PublishedPort};
use crate::error::{Error, Result};

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

impl Networks {
    /// Forwards `ports` of container `id` (at its first endpoint) from the host;
    /// returns them with the host ports they got. An internal network publishes
    /// nothing, as Docker's.
    pub(super) fn publish(&self, id: &str, first: &Endpoint, ports: &[PublishedPort]) -> Result<Vec<PublishedPort>> {
        if ports.is_empty() {
            return Ok(Vec::new());
        }
        let mut state = self.lock();
        if state.networks.get(&first.network_id).is_some_and(|n| n.def.internal) {
            return Ok(Vec::new());
        }
        let mut given = Vec::new();
        let mut forwards: Vec<net::nat::Forward> = Vec::new();
        let mut held = Vec::new();
        for p in ports {
            let proto = net::nat::Proto::parse(&p.proto).ok_or_else(|| Error::invalid(format!("invalid proto: {}", p.proto)))?;
            let on = p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED.into());
            // An IPv6 host address leads only to an IPv6 endpoint.
            if p.host_ip.is_some_and(|ip| ip.is_ipv6()) && first.ipv6.is_none() {
                return Err(Error::invalid(format!("cannot publish on {on}: the container has no IPv6 address (its network has no --ipv6)")));
            }
            let clashes = |port: u16| state.taken(proto, p.host_ip, port) || forwards.iter().any(|f| f.proto == proto && f.host_port == port);
            let in_use = |port: u16, e: std::io::Error| {
                Error::internal(format!(
                    "driver failed programming external connectivity on endpoint {id}: failed to bind port {on}:{port}/{}: {e}",
                    proto.as_str()
                ))
            };
            // The port, and the socket that holds it on the host.
            let (host_port, reservation) = match p.host_port {
                first if p.host_port_last > first => (first..=p.host_port_last)
                    .filter(|port| !clashes(*port))
                    .find_map(|port| reserve(proto, p.host_ip, port).ok().map(|r| (port, r)))
                    .ok_or_else(|| {
                        Error::internal(format!(
                            "driver failed programming external connectivity on endpoint {id}: Bind for {on}:{first}-{} failed: every port of the range is already allocated",
                            p.host_port_last
                        ))
                    })?,
                0 => (0..100)
                    .find_map(|attempt| {
                        let r = reserve(proto, p.host_ip, 0).ok()?;
                        // SCTP: Docker's ephemeral range, in order.
                        let port = r.port().unwrap_or(32768 + attempt);
                        (!clashes(port)).then_some((port, r))
                    })
                    .ok_or_else(|| Error::unavailable("no free host port left to publish on"))?,
                port if clashes(port) => {
                    return Err(Error::internal(format!(
                        "driver failed programming external connectivity on endpoint {id}: Bind for {on}:{port} failed: port is already allocated"
                    )));
                }
                port => (port, reserve(proto, p.host_ip, port).map_err(|e| in_use(port, e))?),
            };
            held.push(reservation);
            let published = PublishedPort { host_port, host_port_last: 0, ..p.clone() };
            forwards.extend(forwards_of(first, &published));
            given.push(published);
        }
        // Taken in the state first, so that no other start takes them meanwhile; then
        // one element each in berth's table (made when the network got ready), the
        // whole table again only if that fails (deleted under us, say).
        state.forwards.insert(id.to_string(), forwards.clone());
        state.held.insert(id.to_string(), held);
        let Err(e) = self.table.after(state, |table| net::nat::add(table, &forwards)) else { return Ok(given) };
        tracing::warn!(container = %id, "publish: {e}; the table is made again");
        if let Err(e) = self.table.replace(self.lock()) {
            let mut state = self.lock();
            state.forwards.remove(id);
            state.held.remove(id);
            return Err(e);
        }
        Ok(given)
    }
}

/// The forwards of a published port to a container at `endpoint`: its IPv4
/// address, and its IPv6 one when it has one and the port is published on every
/// address (as Docker publishes `-p 8080:80` on `0.0.0.0` and `[::]`).
pub(super) fn forwards_of(endpoint: &Endpoint, p: &PublishedPort) -> Vec<net::nat::Forward> {
    let Some(proto) = net::nat::Proto::parse(&p.proto) else { return Vec::new() };
    let to = |container_ip: std::net::IpAddr, host_ip: Option<std::net::IpAddr>| net::nat::Forward {
        proto,
        host_ip,
        host_port: p.host_port,
        container_ip,
        container_port: p.container_port,
    };
    match (p.host_ip, endpoint.ipv6) {
        (Some(std::net::IpAddr::V6(_)), Some(v6)) => vec![to(v6.ip.into(), p.host_ip)],
        (Some(std::net::IpAddr::V6(_)), None) => Vec::new(),
        (Some(v4), _) => vec![to(endpoint.ip.into(), Some(v4))],
        (None, Some(v6)) => vec![to(endpoint.ip.into(), None), to(v6.ip.into(), None)],
        (None, None) => vec![to(endpoint.ip.into(), None)],
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
