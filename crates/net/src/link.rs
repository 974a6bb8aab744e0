//! Network devices through netlink (rtnetlink), in-process: a bridge with its
//! gateway address, and a veth pair that joins a container's namespace to it (the
//! container's end renamed `eth0`, addressed, up, with a default route through the
//! gateway). Each call runs on a thread of its own with a small runtime for netlink's
//! async API: the work inside a namespace needs a thread that can be moved into it.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::Path;

use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth};
use rtnetlink::{Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};

/// A network device operation that failed, and on what.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct Error {
    pub what: String,
    pub reason: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn error(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Error {
    let what = what.into();
    move |e| Error { what, reason: e.to_string() }
}

/// An IPv4 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// An IPv6 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr6 {
    pub addr: std::net::Ipv6Addr,
    pub prefix: u8,
}

/// Adds `cidr` to the link `index`, without duplicate address detection: the
/// address is berth's to give, and DAD would leave it tentative (unusable) for a
/// second or more after the start.
async fn add_ipv6(handle: &Handle, index: u32, cidr: Cidr6, what: &str) -> Result<()> {
    let mut add = handle.address().add(index, cidr.addr.into(), cidr.prefix);
    add.message_mut().header.flags |= rtnetlink::packet_route::address::AddressHeaderFlags::Nodad;
    match add.execute().await {
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
        other => other.map_err(error(format!("address {}/{} on {what}", cidr.addr, cidr.prefix))),
    }
}

/// A veth pair to make: `host_end` on `bridge` in the host's namespace, its peer
/// `ifname` in the namespace at `netns`.
#[derive(Debug, Clone)]
pub struct Veth<'a> {
    pub bridge: &'a str,
    pub host_end: &'a str,
    pub netns: &'a Path,
    /// `eth0` for a container's first network, `eth1` for its second…
    pub ifname: &'a str,
    pub address: Cidr,
    pub gateway: Ipv4Addr,
    /// Its IPv6 address and gateway, on a network with IPv6.
    pub ipv6: Option<(Cidr6, std::net::Ipv6Addr)>,
    /// Whether the container's default route goes through `gateway` (its first
    /// network's, unless that one is internal).
    pub default_route: bool,
    pub mac: [u8; 6],
    /// The link's MTU; the kernel's default (1500) when none.
    pub mtu: Option<u32>,
    /// The host end is an isolated bridge port: it reaches the bridge (the host, the
    /// way out) but no other isolated port, so containers of the network do not
    /// reach each other (`enable_icc=false`), without any firewall rule.
    pub isolated: bool,
}

/// A container's end of a veth pair, as it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: Cidr,
    pub gateway: Ipv4Addr,
    /// `02:42:…`, as Docker's are.
    pub mac: String,
}

/// Runs `f` with a netlink handle on a thread of its own, after moving that thread
/// into the namespace at `netns` when one is given. The thread may move on to other
/// namespaces through [`enter`]: it ends with `f`.
fn on_thread<T: Send + 'static, F>(netns: Option<&Path>, f: impl FnOnce(Handle) -> F + Send + 'static) -> Result<T>
where
    F: std::future::Future<Output = Result<T>>,
{
    let netns = netns.map(Path::to_path_buf);
    std::thread::Builder::new()
        .name("berth-netlink".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .map_err(|e| Error { what: "netlink runtime".into(), reason: e.to_string() })?;
            rt.block_on(async move {
                let handle = match &netns {
                    Some(path) => enter(path)?,
                    None => connection()?,
                };
                f(handle).await
            })
        })
        .map_err(|e| Error { what: "netlink thread".into(), reason: e.to_string() })?
        .join()
        .map_err(|_| Error { what: "netlink thread".into(), reason: "it panicked".into() })?
}

/// A netlink connection in the calling thread's namespace, served on its runtime.
fn connection() -> Result<Handle> {
    let (connection, handle, _) = rtnetlink::new_connection().map_err(|e| Error { what: "netlink socket".into(), reason: e.to_string() })?;
    tokio::spawn(connection);
    Ok(handle)
}

/// Moves the calling thread (one of [`on_thread`]'s) into the namespace at `path`
/// and returns a netlink connection there. Connections made before keep their own
/// namespace: a socket's is fixed when it is made.
fn enter(path: &Path) -> Result<Handle> {
    let ns = std::fs::File::open(path).map_err(|e| Error { what: format!("open {}", path.display()), reason: e.to_string() })?;
    nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| Error { what: format!("enter {}", path.display()), reason: e.to_string() })?;
    connection()
}

async fn index_of(handle: &Handle, name: &str) -> Result<Option<u32>> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(link)) => Ok(Some(link.header.index)),
        Ok(None) => Ok(None),
        // The kernel answers ENODEV for a name it does not know.
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(None),
        Err(e) => Err(error(format!("look up {name}"))(e)),
    }
}

/// The bridge `name` in the host's namespace, up, with `gateway` on it; made if it
/// is missing. Returns whether it was made.
pub fn ensure_bridge(name: &str, gateway: Cidr, gateway6: Option<Cidr6>, mtu: Option<u32>) -> Result<bool> {
    let name = name.to_string();
    on_thread(None, move |handle| async move {
        let (index, made) = match index_of(&handle, &name).await? {
            Some(i) => (i, false),
            None => {
                let mut bridge = LinkBridge::new(&name);
                if let Some(mtu) = mtu {
                    bridge = bridge.mtu(mtu);
                }
                handle.link().add(bridge.build()).execute().await.map_err(error(format!("create bridge {name}")))?;
                let i = index_of(&handle, &name).await?.ok_or_else(|| Error { what: format!("create bridge {name}"), reason: "it is not there".into() })?;
                (i, true)
            }
        };
        let has = handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_filter(|a| {
                let same = a.attributes.iter().any(|attr| {
                    matches!(attr, rtnetlink::packet_route::address::AddressAttribute::Address(std::net::IpAddr::V4(v4)) if *v4 == gateway.addr)
                });
                futures_util::future::ready(same)
            })
            .try_next()
            .await
            .map_err(error(format!("addresses of {name}")))?
            .is_some();
        if !has {
            handle
                .address()
                .add(index, gateway.addr.into(), gateway.prefix)
                .execute()
                .await
                .map_err(error(format!("address {}/{} on {name}", gateway.addr, gateway.prefix)))?;
        }
        if let Some(g6) = gateway6 {
            add_ipv6(&handle, index, g6, &name).await?;
        }
        handle.link().set(LinkUnspec::new_with_index(index).up().build()).execute().await.map_err(error(format!("bring {name} up")))?;
        Ok(made)
    })
}

/// Removes the device `name` from the host's namespace (a veth takes its peer with
/// it); one already gone is no error.
pub fn remove(name: &str) -> Result<()> {
    let name = name.to_string();
    on_thread(None, move |handle| async move {
        if let Some(index) = index_of(&handle, &name).await? {
            match handle.link().del(index).execute().await {
                Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => {}
                other => other.map_err(error(format!("remove {name}")))?,
            }
        }
        Ok(())
    })
}

/// Makes the veth pair `v`, its peer addressed and up (with the default route when
/// asked). A failure leaves no device behind.
///
/// The peer is made in the container's namespace and the host end on the bridge by
/// the one request that creates the pair: moving a device between namespaces, or
/// renaming it, would each wait for an RCU grace period (tens of milliseconds).
pub fn connect(v: &Veth) -> Result<Endpoint> {
    let (bridge, host_end, ns_path, ifname) = (v.bridge.to_string(), v.host_end.to_string(), v.netns.to_path_buf(), v.ifname.to_string());
    let (address, gateway, default_route, mac, mtu, isolated, ipv6) = (v.address, v.gateway, v.default_route, v.mac, v.mtu, v.isolated, v.ipv6);
    let configured = {
        let host_end = host_end.clone();
        // One thread for both ends: the pair is made from the host's namespace, then
        // the thread moves into the container's to address its end.
        on_thread(None, move |handle| async move {
            let bridge_index = index_of(&handle, &bridge).await?.ok_or_else(|| Error { what: format!("bridge {bridge}"), reason: "it does not exist".into() })?;
            let ns = std::fs::File::open(&ns_path).map_err(|e| Error { what: format!("open {}", ns_path.display()), reason: e.to_string() })?;
            let mut peer = LinkUnspec::new_with_name(&ifname).setns_by_fd(ns.as_raw_fd()).address(mac.to_vec());
            let mut pair = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth).name(host_end.clone()).controller(bridge_index).up();
            if let Some(mtu) = mtu {
                peer = peer.mtu(mtu);
                pair = pair.mtu(mtu);
            }
            let pair = pair.set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build()))).build();
            match handle.link().add(pair.clone()).execute().await {
                // A host end left by a run whose namespace the kernel has not torn down
                // yet (or that berthd did not see end): it goes, and the pair is made anew.
                Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => {
                    if let Some(stale) = index_of(&handle, &host_end).await? {
                        handle.link().del(stale).execute().await.map_err(error(format!("remove the stale {host_end}")))?;
                    }
                    handle.link().add(pair).execute().await.map_err(error(format!("create veth {host_end} on {bridge}")))?;
                }
                other => other.map_err(error(format!("create veth {host_end} on {bridge}")))?,
            }
            if isolated {
                let index = index_of(&handle, &host_end).await?.ok_or_else(|| Error { what: host_end.clone(), reason: "it is not there".into() })?;
                handle.link().set_port(LinkBridgePort::new(index).isolated(true).build()).execute().await.map_err(error(format!("isolate {host_end}")))?;
            }
            let handle = enter(&ns_path)?;
            let index = index_of(&handle, &ifname).await?.ok_or_else(|| Error { what: ifname.clone(), reason: "not in the namespace".into() })?;
            handle.address().add(index, address.addr.into(), address.prefix).execute().await.map_err(error(format!("address {ifname}")))?;
            if let Some((a6, _)) = ipv6 {
                add_ipv6(&handle, index, a6, &ifname).await?;
            }
            handle.link().set(LinkUnspec::new_with_index(index).up().build()).execute().await.map_err(error(format!("bring {ifname} up")))?;
            if default_route {
                handle
                    .route()
                    .add(RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).output_interface(index).build())
                    .execute()
                    .await
                    .map_err(error(format!("default route through {gateway}")))?;
                if let Some((_, g6)) = ipv6 {
                    handle
                        .route()
                        .add(RouteMessageBuilder::<std::net::Ipv6Addr>::new().gateway(g6).output_interface(index).build())
                        .execute()
                        .await
                        .map_err(error(format!("default route through {g6}")))?;
                }
            }
            Ok(Endpoint { address, gateway, mac: mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":") })
        })
    };
    if configured.is_err() {
        let _ = remove(&host_end);
    }
    configured
}

/// Points the namespace's default route through `gateway` on `ifname` (its way out
/// moved to another network).
pub fn set_default_route(netns: &Path, ifname: &str, gateway: Ipv4Addr) -> Result<()> {
    let ifname = ifname.to_string();
    on_thread(Some(netns), move |handle| async move {
        let index = index_of(&handle, &ifname).await?.ok_or_else(|| Error { what: ifname.clone(), reason: "not in the namespace".into() })?;
        handle
            .route()
            .add(RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).output_interface(index).build())
            .replace()
            .execute()
            .await
            .map_err(error(format!("default route through {gateway}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bridge, a namespace joined to it: the host reaches a server inside through
    /// the bridge, and removing the host end leaves nothing.
    #[test]
    fn a_namespace_on_a_bridge_is_reached_from_the_host() {
        if !nix::unistd::geteuid().is_root() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "needs root under CI");
            return;
        }
        let tag = std::process::id() % 10000;
        let bridge = format!("bt{tag}");
        let host_end = format!("vt{tag}");
        // A test subnet of its own: 10.(200+tag%50).(tag/50 % 250).0/24.
        let (b, c) = (200 + (tag % 50) as u8, ((tag / 50) % 250) as u8);
        let gateway = Cidr { addr: Ipv4Addr::new(10, b, c, 1), prefix: 24 };
        let dir = tempfile::tempdir().unwrap();
        let ns = crate::Netns::create(&dir.path().join("ns")).unwrap();
        let cleanup = || {
            let _ = remove(&host_end);
            let _ = remove(&bridge);
            let _ = ns.remove();
        };
        let result = std::panic::catch_unwind(|| {
            let g6 = Cidr6 { addr: format!("fd00:b:{b:x}:{c:x}::1").parse().unwrap(), prefix: 64 };
            assert!(ensure_bridge(&bridge, gateway, Some(g6), Some(1400)).unwrap(), "made");
            assert!(!ensure_bridge(&bridge, gateway, Some(g6), None).unwrap(), "found the second time");
            let address = Cidr { addr: Ipv4Addr::new(10, b, c, 2), prefix: 24 };
            let veth = Veth {
                bridge: &bridge,
                host_end: &host_end,
                netns: ns.path(),
                ifname: "eth0",
                address,
                gateway: gateway.addr,
                ipv6: Some((Cidr6 { addr: format!("fd00:b:{b:x}:{c:x}::2").parse().unwrap(), prefix: 64 }, g6.addr)),
                default_route: true,
                mac: [0x02, 0x42, 10, b, c, 2],
                mtu: Some(1400),
                isolated: true,
            };
            let ep = connect(&veth).unwrap();
            let mtu = std::fs::read_to_string(format!("/sys/class/net/{host_end}/mtu")).unwrap();
            assert_eq!(mtu.trim(), "1400");
            let isolated = std::fs::read_to_string(format!("/sys/class/net/{host_end}/brport/isolated")).unwrap();
            assert_eq!(isolated.trim(), "1");
            assert_eq!(ep.mac, format!("02:42:0a:{b:02x}:{c:02x}:02"));
            // A server inside, reached from the host through the bridge.
            let path = ns.path().to_path_buf();
            let listener = std::thread::spawn(move || {
                let f = std::fs::File::open(&path).unwrap();
                nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                std::net::TcpListener::bind((address.addr, 0)).unwrap()
            })
            .join()
            .unwrap();
            let port = listener.local_addr().unwrap().port();
            let stream = std::net::TcpStream::connect_timeout(&(address.addr, port).into(), std::time::Duration::from_secs(5));
            assert!(stream.is_ok(), "{stream:?}");
            // And over IPv6, at once (no duplicate address detection to wait for).
            let path = ns.path().to_path_buf();
            let a6: std::net::Ipv6Addr = format!("fd00:b:{b:x}:{c:x}::2").parse().unwrap();
            let listener6 = std::thread::spawn(move || {
                let f = std::fs::File::open(&path).unwrap();
                nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                std::net::TcpListener::bind((a6, 0)).unwrap()
            })
            .join()
            .unwrap();
            let port6 = listener6.local_addr().unwrap().port();
            let stream6 = std::net::TcpStream::connect_timeout(&(a6, port6).into(), std::time::Duration::from_secs(5));
            assert!(stream6.is_ok(), "{stream6:?}");
            remove(&host_end).unwrap();
            assert!(!std::path::Path::new(&format!("/sys/class/net/{host_end}")).exists());
        });
        cleanup();
        assert!(!std::path::Path::new(&format!("/sys/class/net/{bridge}")).exists());
        result.unwrap();
    }
}
