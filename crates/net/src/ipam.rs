//! IPv4 address management: subnets as users write them, the address pool of a
//! network (its subnet, gateway, the range containers draw from, the addresses kept
//! out), and the choice of a subnet for a network that names none.
//!
//! Pure: which addresses are leased is the caller's to keep (berthd takes them again
//! from its running containers at a start, so a lease outlives no run).

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network, `10.1.0.0/16`: its address has no host bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Subnet {
    addr: Ipv4Addr,
    prefix: u8,
}

/// Why a subnet or a pool was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn mask(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
}

impl Subnet {
    /// The network of `addr` with `prefix` bits (host bits dropped).
    pub fn containing(addr: Ipv4Addr, prefix: u8) -> Subnet {
        let prefix = prefix.min(32);
        Subnet { addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)), prefix }
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.addr)
    }

    /// Whether either network holds the other.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        let m = mask(self.prefix.min(other.prefix));
        u32::from(self.addr) & m == u32::from(other.addr) & m
    }

    /// Whether `other` lies wholly inside this one.
    pub fn holds(&self, other: &Subnet) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    /// The broadcast address (the last one).
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !mask(self.prefix))
    }

    /// The addresses a host may have: all but the network's and the broadcast one
    /// (a /31 and a /32 have only hosts).
    fn hosts(&self) -> std::ops::RangeInclusive<u32> {
        let (first, last) = (u32::from(self.addr), u32::from(self.last()));
        if self.prefix >= 31 { first..=last } else { first + 1..=last - 1 }
    }

    /// The `n`-th subnet of `size` bits inside this one, if there is one.
    fn nth(&self, size: u8, n: u32) -> Option<Subnet> {
        if size < self.prefix || size > 32 {
            return None;
        }
        let count = 1u64 << (size - self.prefix);
        if u64::from(n) >= count {
            return None;
        }
        let step = if size == 0 { 0 } else { 1u64 << (32 - size) };
        let start = u64::from(u32::from(self.addr)) + u64::from(n) * step;
        Some(Subnet { addr: Ipv4Addr::from(start as u32), prefix: size })
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl From<Subnet> for String {
    fn from(s: Subnet) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Subnet {
    type Error = Error;

    fn try_from(s: String) -> Result<Subnet> {
        s.parse()
    }
}

impl FromStr for Subnet {
    type Err = Error;

    /// `ADDR/PREFIX` with no host bits (Docker refuses `10.1.0.5/16` and says which
    /// network was meant).
    fn from_str(s: &str) -> Result<Subnet> {
        let bad = || Error(format!("invalid CIDR address: {s}"));
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(bad)?;
        let subnet = Subnet::containing(addr, prefix);
        if subnet.addr != addr {
            return Err(Error(format!("invalid subnet {s}: it should be {subnet}")));
        }
        Ok(subnet)
    }
}

/// Where a network's containers get their addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub subnet: Subnet,
    /// The bridge's own address.
    pub gateway: Ipv4Addr,
    /// The part of the subnet that addresses are handed out from (`--ip-range`);
    /// the whole subnet when none.
    pub range: Option<Subnet>,
    /// Addresses never handed out (`--aux-address`).
    pub reserved: BTreeSet<Ipv4Addr>,
}

impl Pool {
    /// A pool on `subnet`, checked as Docker checks one: the gateway (the first host
    /// address when none is given), the range and the reserved addresses lie in the
    /// subnet.
    pub fn new(subnet: Subnet, gateway: Option<Ipv4Addr>, range: Option<Subnet>, reserved: BTreeSet<Ipv4Addr>) -> Result<Pool> {
        if subnet.prefix > 30 {
            return Err(Error(format!("subnet {subnet} is too small: it has no room for a gateway and a container")));
        }
        let gateway = gateway.unwrap_or_else(|| Ipv4Addr::from(*subnet.hosts().start()));
        if !subnet.contains(gateway) {
            return Err(Error(format!("gateway {gateway} is not in subnet {subnet}")));
        }
        if let Some(range) = range
            && !subnet.holds(&range)
        {
            return Err(Error(format!("ip-range {range} is not inside subnet {subnet}")));
        }
        if let Some(out) = reserved.iter().find(|a| !subnet.contains(**a)) {
            return Err(Error(format!("auxiliary address {out} is not in subnet {subnet}")));
        }
        Ok(Pool { subnet, gateway, range, reserved })
    }

    /// Whether `ip` is one a container may be given (`--ip`): a host address of the
    /// subnet that is not the gateway's nor reserved.
    pub fn assignable(&self, ip: Ipv4Addr) -> Result<()> {
        let n = u32::from(ip);
        if !self.subnet.contains(ip) || !self.subnet.hosts().contains(&n) {
            return Err(Error(format!("no available IPv4 address: {ip} is not a host address of {}", self.subnet)));
        }
        if ip == self.gateway || self.reserved.contains(&ip) {
            return Err(Error(format!("address {ip} is reserved on {}", self.subnet)));
        }
        Ok(())
    }

    /// The lowest free address of the range, as Docker hands them out; none when the
    /// range is full.
    pub fn next_free(&self, leased: impl Fn(Ipv4Addr) -> bool) -> Option<Ipv4Addr> {
        let within = self.range.unwrap_or(self.subnet);
        let subnet_hosts = self.subnet.hosts();
        let (first, last) = (u32::from(within.addr), u32::from(within.last()));
        (first..=last)
            .filter(|n| subnet_hosts.contains(n))
            .map(Ipv4Addr::from)
            .find(|a| *a != self.gateway && !self.reserved.contains(a) && !leased(*a))
    }
}

/// Where subnets for networks that name none are cut from (`default-address-pools`):
/// a base network cut into subnets of `size` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPool {
    pub base: Subnet,
    pub size: u8,
}

impl AddressPool {
    /// Docker's defaults: 172.17–31.0.0/16, then 192.168.0.0/16 in /20s.
    pub fn defaults() -> Vec<AddressPool> {
        vec![
            AddressPool { base: Subnet::containing(Ipv4Addr::new(172, 17, 0, 0), 16), size: 16 },
            AddressPool { base: Subnet::containing(Ipv4Addr::new(172, 18, 0, 0), 15), size: 16 },
            AddressPool { base: Subnet::containing(Ipv4Addr::new(172, 20, 0, 0), 14), size: 16 },
            AddressPool { base: Subnet::containing(Ipv4Addr::new(172, 24, 0, 0), 14), size: 16 },
            AddressPool { base: Subnet::containing(Ipv4Addr::new(172, 28, 0, 0), 14), size: 16 },
            AddressPool { base: Subnet::containing(Ipv4Addr::new(192, 168, 0, 0), 16), size: 20 },
        ]
    }

    /// `base=10.10.0.0/16,size=24`, as dockerd's `--default-address-pool` reads it.
    pub fn parse(s: &str) -> Result<AddressPool> {
        let (mut base, mut size) = (None, None);
        for field in s.split(',') {
            match field.split_once('=') {
                Some(("base", v)) => base = Some(v.parse::<Subnet>()?),
                Some(("size", v)) => size = Some(v.parse::<u8>().map_err(|_| Error(format!("invalid size in address pool {s:?}")))?),
                _ => return Err(Error(format!("invalid field {field:?} in address pool {s:?}: use base=CIDR,size=BITS"))),
            }
        }
        let base = base.ok_or_else(|| Error(format!("address pool {s:?} has no base")))?;
        let size = size.unwrap_or(base.prefix);
        if size < base.prefix || size > 30 {
            return Err(Error(format!("invalid size {size} for address pool {base}: it must be between {} and 30", base.prefix)));
        }
        Ok(AddressPool { base, size })
    }
}

/// The first subnet of `pools` that overlaps none of `taken` (the host's routes and
/// the other networks' subnets): a network never shadows a route the host has, the
/// clash with VPN and office ranges that Docker users meet most.
pub fn choose(pools: &[AddressPool], taken: &[Subnet]) -> Option<Subnet> {
    pools.iter().find_map(|pool| {
        (0u32..)
            .map_while(|n| pool.base.nth(pool.size, n))
            .find(|candidate| !taken.iter().any(|t| t.overlaps(candidate)))
    })
}

/// A route of the host to a network, and the device it goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub device: String,
    pub subnet: Subnet,
}

/// The host's IPv4 routes that are not the default route, from /proc/net/route.
pub fn host_routes() -> Vec<Route> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    parse_routes(&text)
}

fn parse_routes(text: &str) -> Vec<Route> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let device = f.first()?.to_string();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The kernel prints the network-order word as a native (little-endian) one.
            let dest = Ipv4Addr::from(u32::from_be_bytes(dest.to_le_bytes()));
            let prefix = mask.count_ones() as u8;
            (prefix > 0).then(|| Route { device, subnet: Subnet::containing(dest, prefix) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Subnet {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_read_as_docker_reads_them() {
        assert_eq!(net("10.1.0.0/16").to_string(), "10.1.0.0/16");
        assert_eq!("10.1.0.5/16".parse::<Subnet>().unwrap_err().0, "invalid subnet 10.1.0.5/16: it should be 10.1.0.0/16");
        for bad in ["10.1.0.0", "10.1.0.0/33", "x/8", "10.1.0.0/", "::1/64"] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
        assert!(net("10.0.0.0/8").overlaps(&net("10.5.0.0/16")));
        assert!(net("10.5.0.0/16").overlaps(&net("10.0.0.0/8")));
        assert!(!net("10.5.0.0/16").overlaps(&net("10.6.0.0/16")));
        assert!(net("10.0.0.0/8").holds(&net("10.5.0.0/16")));
        assert!(!net("10.5.0.0/16").holds(&net("10.0.0.0/8")));
        assert_eq!(net("10.1.2.0/24").last(), Ipv4Addr::new(10, 1, 2, 255));
    }

    #[test]
    fn a_pool_hands_out_the_lowest_free_address_of_its_range() {
        let pool = Pool::new(net("10.1.2.0/24"), None, None, BTreeSet::new()).unwrap();
        assert_eq!(pool.gateway, Ipv4Addr::new(10, 1, 2, 1));
        assert_eq!(pool.next_free(|_| false), Some(Ipv4Addr::new(10, 1, 2, 2)));
        assert_eq!(pool.next_free(|a| a.octets()[3] < 5), Some(Ipv4Addr::new(10, 1, 2, 5)));
        let reserved = [Ipv4Addr::new(10, 1, 2, 130)].into();
        let ranged = Pool::new(net("10.1.2.0/24"), Some(Ipv4Addr::new(10, 1, 2, 254)), Some(net("10.1.2.128/25")), reserved).unwrap();
        // The range's network address is a host of the subnet; the reserved one is skipped.
        assert_eq!(ranged.next_free(|_| false), Some(Ipv4Addr::new(10, 1, 2, 128)));
        assert_eq!(ranged.next_free(|a| a.octets()[3] < 130), Some(Ipv4Addr::new(10, 1, 2, 131)));
        // Full: the broadcast and the gateway are never handed out.
        assert_eq!(ranged.next_free(|a| a.octets()[3] < 254), None);
        assert!(ranged.assignable(Ipv4Addr::new(10, 1, 2, 7)).is_ok(), "--ip may be outside the range");
        for bad in [[10, 1, 2, 0], [10, 1, 2, 255], [10, 1, 2, 254], [10, 1, 2, 130], [10, 1, 3, 7]] {
            assert!(ranged.assignable(Ipv4Addr::from(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_pool_refuses_what_lies_outside_its_subnet() {
        let s = net("10.1.2.0/24");
        assert!(Pool::new(s, Some(Ipv4Addr::new(10, 1, 3, 1)), None, BTreeSet::new()).is_err());
        assert!(Pool::new(s, None, Some(net("10.1.0.0/16")), BTreeSet::new()).is_err());
        assert!(Pool::new(s, None, None, [Ipv4Addr::new(10, 9, 9, 9)].into()).is_err());
        assert!(Pool::new(net("10.1.2.0/31"), None, None, BTreeSet::new()).is_err());
    }

    #[test]
    fn a_subnet_is_chosen_clear_of_the_hosts_routes_and_other_networks() {
        let pools = AddressPool::defaults();
        assert_eq!(choose(&pools, &[]), Some(net("172.17.0.0/16")));
        let taken = [net("172.17.0.0/16"), net("172.18.5.0/24"), net("172.16.0.0/12")];
        // A VPN's 172.16.0.0/12 covers every 172 pool: the first of 192.168's /20s.
        assert_eq!(choose(&pools, &taken), Some(net("192.168.0.0/20")));
        assert_eq!(choose(&pools, &taken[..2]), Some(net("172.19.0.0/16")));
        let small = [AddressPool::parse("base=10.10.0.0/23,size=24").unwrap()];
        assert_eq!(choose(&small, &[net("10.10.0.0/24")]), Some(net("10.10.1.0/24")));
        assert_eq!(choose(&small, &[net("10.10.0.0/23")]), None);
    }

    #[test]
    fn address_pools_read_as_dockerd_reads_them() {
        assert_eq!(AddressPool::parse("base=10.10.0.0/16,size=24").unwrap(), AddressPool { base: net("10.10.0.0/16"), size: 24 });
        for bad in ["size=24", "base=10.10.0.0/16,size=8", "base=10.10.0.0/16,size=31", "base=10.10.0.0/16,mask=24"] {
            assert!(AddressPool::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn routes_are_read_in_network_order() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(parse_routes(text), vec![Route { device: "eth0".into(), subnet: net("192.168.2.0/24") }]);
    }
}

/// An IPv6 network, `fd12:3456:789a::/64`: its address has no host bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Subnet6 {
    addr: std::net::Ipv6Addr,
    prefix: u8,
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) }
}

impl Subnet6 {
    pub fn containing(addr: std::net::Ipv6Addr, prefix: u8) -> Subnet6 {
        let prefix = prefix.min(128);
        Subnet6 { addr: std::net::Ipv6Addr::from(u128::from(addr) & mask6(prefix)), prefix }
    }

    pub fn addr(&self) -> std::net::Ipv6Addr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn contains(&self, ip: std::net::Ipv6Addr) -> bool {
        u128::from(ip) & mask6(self.prefix) == u128::from(self.addr)
    }

    pub fn overlaps(&self, other: &Subnet6) -> bool {
        let m = mask6(self.prefix.min(other.prefix));
        u128::from(self.addr) & m == u128::from(other.addr) & m
    }

    /// Whether `other` lies wholly inside this network.
    pub fn holds(&self, other: &Subnet6) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    /// A unique local /64 (RFC 4193: `fd`, a random global id and subnet id), for a
    /// network asked for IPv6 without a subnet, as Docker chooses one.
    pub fn unique_local(random: [u8; 7]) -> Subnet6 {
        let mut bytes = [0u8; 16];
        bytes[0] = 0xfd;
        bytes[1..8].copy_from_slice(&random);
        Subnet6 { addr: std::net::Ipv6Addr::from(bytes), prefix: 64 }
    }

    /// The `n`-th address of the network (`::1` is the first host's).
    pub fn nth(&self, n: u128) -> Option<std::net::Ipv6Addr> {
        let hosts = if self.prefix == 128 { 1 } else { 1u128.checked_shl(u32::from(128 - self.prefix)).unwrap_or(u128::MAX) };
        (n < hosts).then(|| std::net::Ipv6Addr::from(u128::from(self.addr) + n))
    }
}

impl fmt::Display for Subnet6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl From<Subnet6> for String {
    fn from(s: Subnet6) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Subnet6 {
    type Error = Error;

    fn try_from(s: String) -> Result<Subnet6> {
        s.parse()
    }
}

impl FromStr for Subnet6 {
    type Err = Error;

    /// `ADDR/PREFIX` with no host bits.
    fn from_str(s: &str) -> Result<Subnet6> {
        let bad = || Error(format!("invalid CIDR address: {s}"));
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: std::net::Ipv6Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 128).ok_or_else(bad)?;
        let subnet = Subnet6::containing(addr, prefix);
        if subnet.addr != addr {
            return Err(Error(format!("invalid subnet {s}: it should be {subnet}")));
        }
        Ok(subnet)
    }
}

/// Where a network's containers get their IPv6 addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool6 {
    pub subnet: Subnet6,
    /// The bridge's own address.
    pub gateway: std::net::Ipv6Addr,
    /// The part of the subnet that addresses are handed out from (`--ip-range`);
    /// the whole subnet when none.
    pub range: Option<Subnet6>,
    /// Addresses never handed out (`--aux-address`).
    pub reserved: BTreeSet<std::net::Ipv6Addr>,
}

impl Pool6 {
    /// A pool on `subnet`, checked as [`Pool::new`] checks an IPv4 one: the gateway
    /// (`::1` of the subnet when none is given), the range and the reserved addresses
    /// lie in the subnet.
    pub fn new(
        subnet: Subnet6,
        gateway: Option<std::net::Ipv6Addr>,
        range: Option<Subnet6>,
        reserved: BTreeSet<std::net::Ipv6Addr>,
    ) -> Result<Pool6> {
        if subnet.prefix > 124 {
            return Err(Error(format!("subnet {subnet} is too small: it has no room for a gateway and containers")));
        }
        let gateway = gateway.unwrap_or_else(|| subnet.nth(1).expect("a /124 or wider has a first host"));
        if !subnet.contains(gateway) {
            return Err(Error(format!("gateway {gateway} is not in subnet {subnet}")));
        }
        if let Some(range) = range
            && !subnet.holds(&range)
        {
            return Err(Error(format!("ip-range {range} is not inside subnet {subnet}")));
        }
        if let Some(out) = reserved.iter().find(|a| !subnet.contains(**a)) {
            return Err(Error(format!("auxiliary address {out} is not in subnet {subnet}")));
        }
        Ok(Pool6 { subnet, gateway, range, reserved })
    }

    /// Whether `ip` is one a container may be given (`--ip6`): an address of the
    /// subnet other than its first (the subnet-router anycast address), the
    /// gateway's and the reserved ones.
    pub fn assignable(&self, ip: std::net::Ipv6Addr) -> Result<()> {
        if !self.subnet.contains(ip) || ip == self.subnet.addr {
            return Err(Error(format!("no available IPv6 address: {ip} is not a host address of {}", self.subnet)));
        }
        if ip == self.gateway || self.reserved.contains(&ip) {
            return Err(Error(format!("address {ip} is reserved on {}", self.subnet)));
        }
        Ok(())
    }

    /// The lowest free address of the range; none when the first million of it are
    /// taken (a network never holds more containers than that).
    pub fn next_free(&self, leased: impl Fn(std::net::Ipv6Addr) -> bool) -> Option<std::net::Ipv6Addr> {
        let within = self.range.unwrap_or(self.subnet);
        (0..=1u128 << 20)
            .map_while(|n| within.nth(n))
            .find(|a| *a != self.subnet.addr && *a != self.gateway && !self.reserved.contains(a) && !leased(*a))
    }
}

#[cfg(test)]
mod tests6 {
    use super::*;

    #[test]
    fn ipv6_subnets_and_their_addresses() {
        let s: Subnet6 = "fd00:1:2:3::/64".parse().unwrap();
        assert_eq!(s.to_string(), "fd00:1:2:3::/64");
        assert!("fd00:1:2:3::5/64".parse::<Subnet6>().unwrap_err().0.contains("it should be fd00:1:2:3::/64"));
        assert!("10.0.0.0/8".parse::<Subnet6>().is_err() && "fd00::/129".parse::<Subnet6>().is_err());
        assert!(Pool6::new("fd00::/126".parse().unwrap(), None, None, BTreeSet::new()).unwrap_err().0.contains("too small"));
        assert!(s.contains("fd00:1:2:3::ff".parse().unwrap()) && !s.contains("fd00:1:2:4::1".parse().unwrap()));
        assert!(s.overlaps(&"fd00:1::/32".parse().unwrap()));
        let gw = s.nth(1).unwrap();
        assert_eq!(gw.to_string(), "fd00:1:2:3::1");
        let pool = Pool6::new(s, None, None, BTreeSet::new()).unwrap();
        assert_eq!(pool.gateway, gw);
        assert_eq!(pool.next_free(|_| false).unwrap().to_string(), "fd00:1:2:3::2");
        assert_eq!(pool.next_free(|a| a.segments()[7] < 9).unwrap().to_string(), "fd00:1:2:3::9");
        // A range and reserved addresses, as --ip-range and --aux-address give them.
        let range: Subnet6 = "fd00:1:2:3::100/120".parse().unwrap();
        let aux: std::net::Ipv6Addr = "fd00:1:2:3::101".parse().unwrap();
        let pool = Pool6::new(s, Some("fd00:1:2:3::100".parse().unwrap()), Some(range), [aux].into()).unwrap();
        assert_eq!(pool.next_free(|_| false).unwrap().to_string(), "fd00:1:2:3::102");
        assert!(pool.assignable(aux).is_err() && pool.assignable(pool.gateway).is_err() && pool.assignable(s.addr()).is_err());
        assert!(pool.assignable("fd00:1:2:3::5".parse().unwrap()).is_ok());
        assert!(pool.assignable("fd00:1:2:4::5".parse().unwrap()).is_err());
        let full: Subnet6 = "fd00:1:2:3::100/126".parse().unwrap();
        let tiny = Pool6::new(s, None, Some(full), BTreeSet::new()).unwrap();
        assert_eq!(tiny.next_free(|a| a.segments()[7] != 0x103), Some("fd00:1:2:3::103".parse().unwrap()));
        assert_eq!(tiny.next_free(|_| true), None);
        assert!(Pool6::new(s, None, Some("fd00:9::/120".parse().unwrap()), BTreeSet::new()).unwrap_err().0.contains("not inside"));
        assert!(Pool6::new(s, None, None, ["fd00:9::1".parse().unwrap()].into()).unwrap_err().0.contains("auxiliary"));
        assert!(Pool6::new(s, Some("fd00:9::1".parse().unwrap()), None, BTreeSet::new()).unwrap_err().0.contains("gateway"));
        let ula = Subnet6::unique_local([1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(ula.to_string(), "fd01:203:405:607::/64");
    }
}
