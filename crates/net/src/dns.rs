//! The DNS server of a user-defined network: berthd runs one on each network's gateway
//! address (UDP and TCP, port 53, in the host's namespace), the address the containers'
//! resolv.conf names. It answers the names of the network's containers itself (A, AAAA,
//! and PTR for their addresses) and relays every other query to the host's resolvers,
//! as Docker's embedded DNS and podman's aardvark-dns do.
//!
//! Its clients are containers, so none is trusted: a packet that cannot be parsed gets
//! FORMERR (or nothing, when not even a header came), a TCP client has a deadline for
//! each message and one of a fixed number of connections, and a slow client or a slow
//! upstream holds up no other query.

use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// How long a client may keep a local answer; Docker's embedded DNS gives the same.
const TTL: u32 = 600;
/// The UDP payload announced in our own EDNS record: the size that avoids IP
/// fragmentation (DNS flag day 2020).
const EDNS_PAYLOAD: u16 = 1232;
/// The longest query read over UDP; a longer datagram is cut there and fails to parse.
const UDP_QUERY_MAX: usize = 4096;
/// A DNS header: ID, flags, and the four section counts.
const HEADER_LEN: usize = 12;

/// What a network's server knows: the names of its containers.
///
/// Called on the server's task for each query, so it answers from memory, quickly.
pub trait Names: Send + Sync + 'static {
    /// The addresses of `name` (lowercase, without the trailing dot) for a query from
    /// `client` (the querying container's address), or None when it is not a name of
    /// this network (then the query is forwarded).
    fn lookup(&self, client: IpAddr, name: &str) -> Option<Vec<IpAddr>>;
    /// The name of `addr` (for PTR), when it is one of this network's containers.
    fn name_of(&self, client: IpAddr, addr: IpAddr) -> Option<String>;
    /// The resolvers `client` asked for (a container's `--dns`), instead of the
    /// server's; none: the server's.
    fn upstreams(&self, _client: IpAddr) -> Option<Vec<SocketAddr>> {
        None
    }
}

/// The resolvers that queries for other names go to, asked in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upstreams {
    servers: Vec<SocketAddr>,
}

impl Upstreams {
    pub fn new(servers: Vec<SocketAddr>) -> Upstreams {
        Upstreams { servers }
    }

    /// The `nameserver` lines of a resolv.conf, on port 53, in order. Loopback ones are
    /// kept: the server runs in the host's namespace, where a stub such as
    /// systemd-resolved's 127.0.0.53 is reachable. A scoped IPv6 address
    /// (`fe80::1%eth0`) is skipped.
    pub fn from_resolv_conf(text: &str) -> Upstreams {
        let servers = text
            .lines()
            .filter_map(|line| {
                let mut words = line.split(['#', ';']).next()?.split_whitespace();
                if words.next()? != "nameserver" {
                    return None;
                }
                let ip: IpAddr = words.next()?.parse().ok()?;
                Some(SocketAddr::new(ip, 53))
            })
            .collect();
        Upstreams { servers }
    }

    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }
}

/// The server could not start on its address.
#[derive(Debug, thiserror::Error)]
#[error("serve DNS on {addr} over {transport}: {source} (is the address on this host, and no other DNS server on it?)")]
pub struct Error {
    pub addr: SocketAddr,
    pub transport: &'static str,
    #[source]
    pub source: io::Error,
}

/// The limits that keep clients and upstreams from holding the server up.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// How long one upstream has to answer before the next is asked.
    upstream: Duration,
    /// How long a TCP client may take to send a whole message, or to take a reply.
    tcp_idle: Duration,
    /// TCP connections served at once; more wait in the listen backlog.
    tcp_connections: usize,
    /// The longest query read over TCP.
    tcp_query_max: usize,
    /// UDP queries waiting on upstreams at once; past that a query gets SERVFAIL.
    udp_forwards: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            upstream: Duration::from_secs(2),
            tcp_idle: Duration::from_secs(10),
            tcp_connections: 64,
            tcp_query_max: 4096,
            udp_forwards: 256,
        }
    }
}

/// A running server. It stops when dropped: its tasks are aborted, and both sockets
/// close as soon as the runtime next runs them ([`Server::stop`] waits for that).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Serves on `addr`, UDP and TCP on the same port, from the current tokio runtime.
    /// With port 0 the kernel picks a port free for both.
    pub async fn serve(addr: SocketAddr, names: Arc<dyn Names>, upstreams: Arc<Upstreams>) -> Result<Server, Error> {
        Server::serve_with(addr, names, upstreams, Limits::default()).await
    }

    async fn serve_with(addr: SocketAddr, names: Arc<dyn Names>, upstreams: Arc<Upstreams>, limits: Limits) -> Result<Server, Error> {
        let (udp, tcp) = bind(addr).await?;
        let addr = udp.local_addr().map_err(|source| Error { addr, transport: "UDP", source })?;
        let responder = Arc::new(Responder { names, upstreams, own: addr, turn: AtomicUsize::new(0), limits });
        let tasks = vec![tokio::spawn(serve_udp(udp, responder.clone())), tokio::spawn(serve_tcp(tcp, responder))];
        Ok(Server { addr, tasks })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits until both sockets are closed.
    pub async fn stop(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A UDP socket and a TCP listener on one address. For port 0, the port the kernel gave
/// UDP may be taken for TCP: then another is tried.
async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), Error> {
    let mut tries = if addr.port() == 0 { 16 } else { 1 };
    loop {
        let udp = UdpSocket::bind(addr).await.map_err(|source| Error { addr, transport: "UDP", source })?;
        let bound = udp.local_addr().map_err(|source| Error { addr, transport: "UDP", source })?;
        tries -= 1;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && tries > 0 => continue,
            Err(source) => return Err(Error { addr: bound, transport: "TCP", source }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// What to do with one message from a client.
#[derive(Debug)]
enum Verdict {
    /// Nothing: shorter than a header, or itself a reply.
    Ignore,
    /// Send this.
    Reply(Vec<u8>),
    /// Not a name of ours: ask the upstreams.
    Forward { request: Message, packet: Vec<u8> },
}

/// Decides the answer to each query, from the network's names or its upstreams.
struct Responder {
    names: Arc<dyn Names>,
    upstreams: Arc<Upstreams>,
    /// The server's own address, never asked as an upstream: that would loop.
    own: SocketAddr,
    /// Rotates the addresses of a name shared by several containers (round-robin).
    turn: AtomicUsize,
    limits: Limits,
}

impl Responder {
    /// The verdict on one message from `client`: answered here, refused by its header
    /// alone, or for the upstreams. Never fails: any input gets a verdict.
    fn judge(&self, transport: Transport, client: IpAddr, packet: &[u8]) -> Verdict {
        let Some(header) = packet.first_chunk::<HEADER_LEN>() else {
            return Verdict::Ignore;
        };
        // A reply sent to us is never answered: two servers could bounce it forever.
        if header[2] & 0x80 != 0 {
            return Verdict::Ignore;
        }
        if (header[2] >> 3) & 0x0f != 0 {
            return Verdict::Reply(bare_reply_to(header, ResponseCode::NotImp).to_vec());
        }
        // One question per query (RFC 9619), checked before parsing, so that a header
        // claiming thousands of them costs nothing.
        if u16::from_be_bytes([header[4], header[5]]) != 1 {
            return Verdict::Reply(bare_reply_to(header, ResponseCode::FormErr).to_vec());
        }
        let Ok(request) = Message::from_vec(packet) else {
            return Verdict::Reply(bare_reply_to(header, ResponseCode::FormErr).to_vec());
        };
        let Some(question) = request.queries.first() else {
            return Verdict::Reply(bare_reply_to(header, ResponseCode::FormErr).to_vec());
        };
        let known = match (question.query_class(), question.query_type()) {
            (DNSClass::IN, RecordType::PTR) => self.pointer(client, question.name()),
            (DNSClass::IN, kind) => self.addresses(client, question.name(), kind),
            _ => None,
        };
        match known {
            Some(answers) => Verdict::Reply(encode(&reply(&request, ResponseCode::NoError, answers), reply_limit(transport, &request))),
            None => Verdict::Forward { request, packet: packet.to_vec() },
        }
    }

    /// The records of a name of ours, rotated; None when it is not ours. Asked for
    /// another type than A or AAAA, a name of ours has none (NODATA): forwarded, it would
    /// get NXDOMAIN, which resolvers cache for every type of the name.
    fn addresses(&self, client: IpAddr, name: &Name, kind: RecordType) -> Option<Vec<Record>> {
        let addrs = self.names.lookup(client, &plain_name(name)?)?;
        let mut records: Vec<Record> = addrs
            .into_iter()
            .filter_map(|addr| match (addr.to_canonical(), kind) {
                (IpAddr::V4(v4), RecordType::A | RecordType::ANY) => Some(RData::A(A(v4))),
                (IpAddr::V6(v6), RecordType::AAAA | RecordType::ANY) => Some(RData::AAAA(AAAA(v6))),
                _ => None,
            })
            .map(|data| Record::from_rdata(name.clone(), TTL, data))
            .collect();
        if !records.is_empty() {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed) % records.len();
            records.rotate_left(turn);
        }
        Some(records)
    }

    /// The PTR record of a container's address; None when the address is not one of ours.
    fn pointer(&self, client: IpAddr, name: &Name) -> Option<Vec<Record>> {
        let addr = arpa_address(&plain_name(name)?)?;
        let target = self.names.name_of(client, addr)?;
        // A name that cannot be a DNS name is none we can give: NODATA.
        let target = Name::from_labels(target.trim_end_matches('.').split('.').map(str::as_bytes)).ok();
        Some(target.map(|target| Record::from_rdata(name.clone(), TTL, RData::PTR(PTR(target)))).into_iter().collect())
    }

    /// The upstreams' answer to `request`, with the client's ID, or SERVFAIL when none
    /// answered. Each is asked over the client's transport, under a fresh ID of ours.
    async fn relay(&self, transport: Transport, client: IpAddr, request: &Message, mut packet: Vec<u8>) -> Vec<u8> {
        let limit = reply_limit(transport, request);
        let id = fresh_id();
        if let Some(head) = packet.get_mut(..2) {
            head.copy_from_slice(&id.to_be_bytes());
        }
        let mut refusal = None;
        let own_choice = self.names.upstreams(client);
        let servers = own_choice.as_deref().unwrap_or(&self.upstreams.servers);
        for &upstream in servers.iter().filter(|&&s| !self.is_own(s)) {
            let asked = match transport {
                Transport::Udp => timeout(self.limits.upstream, ask_udp(upstream, &packet, id)).await,
                Transport::Tcp => timeout(self.limits.upstream, ask_tcp(upstream, &packet, id)).await,
            };
            let Ok(Ok(mut answer)) = asked else { continue };
            answer[..2].copy_from_slice(&request.id.to_be_bytes());
            // As glibc's stub resolver does: a server that failed or refused is not the
            // last word while others remain.
            let code = answer[3] & 0x0f;
            if [ResponseCode::ServFail, ResponseCode::NotImp, ResponseCode::Refused].iter().any(|c| c.low() == code) {
                refusal = Some(answer);
                continue;
            }
            return fit(answer, request, limit);
        }
        match refusal {
            Some(answer) => fit(answer, request, limit),
            None => encode(&reply(request, ResponseCode::ServFail, Vec::new()), limit),
        }
    }

    fn is_own(&self, upstream: SocketAddr) -> bool {
        upstream == self.own || (upstream.port() == self.own.port() && self.own.ip().is_unspecified())
    }
}

/// Receives queries and sends replies on the UDP socket; the forwarded ones wait on
/// their upstreams concurrently, within this one task, so that dropping it ends them all.
async fn serve_udp(socket: UdpSocket, responder: Arc<Responder>) {
    let mut buf = vec![0u8; UDP_QUERY_MAX];
    let mut forwards = FuturesUnordered::new();
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let Ok((len, peer)) = received else {
                    pause().await;
                    continue;
                };
                let reply = match responder.judge(Transport::Udp, peer.ip().to_canonical(), &buf[..len]) {
                    Verdict::Ignore => continue,
                    Verdict::Reply(reply) => reply,
                    Verdict::Forward { request, packet } if forwards.len() < responder.limits.udp_forwards => {
                        let responder = responder.clone();
                        forwards.push(async move { (peer, responder.relay(Transport::Udp, peer.ip().to_canonical(), &request, packet).await) });
                        continue;
                    }
                    // So many wait on upstreams already: fail this one now rather than queue.
                    Verdict::Forward { request, .. } => {
                        encode(&reply(&request, ResponseCode::ServFail, Vec::new()), reply_limit(Transport::Udp, &request))
                    }
                };
                let _ = socket.send_to(&reply, peer).await;
            }
            Some((peer, reply)) = forwards.next(), if !forwards.is_empty() => {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    }
}

/// Accepts TCP clients, up to the limit; their conversations run within this one task.
async fn serve_tcp(listener: TcpListener, responder: Arc<Responder>) {
    let mut conversations = FuturesUnordered::new();
    loop {
        tokio::select! {
            accepted = listener.accept(), if conversations.len() < responder.limits.tcp_connections => {
                match accepted {
                    Ok((stream, peer)) => conversations.push(converse(stream, peer.ip().to_canonical(), responder.clone())),
                    // Out of file descriptors and the like: accept would fail again at once.
                    Err(_) => pause().await,
                }
            }
            Some(()) = conversations.next(), if !conversations.is_empty() => {}
        }
    }
}

/// One TCP client's queries, each framed by its 2-byte length (RFC 1035 4.2.2), answered
/// in turn. The connection ends at end of stream, at the first message that is not a
/// query, or when the client is slower than the idle limit to send or to receive.
async fn converse(mut stream: TcpStream, client: IpAddr, responder: Arc<Responder>) {
    let limits = responder.limits;
    loop {
        let Ok(Ok(packet)) = timeout(limits.tcp_idle, read_message(&mut stream, limits.tcp_query_max)).await else {
            return;
        };
        let reply = match responder.judge(Transport::Tcp, client, &packet) {
            Verdict::Ignore => return,
            Verdict::Reply(reply) => reply,
            Verdict::Forward { request, packet } => responder.relay(Transport::Tcp, client, &request, packet).await,
        };
        let Some(framed) = frame(&reply) else { return };
        if !matches!(timeout(limits.tcp_idle, stream.write_all(&framed)).await, Ok(Ok(()))) {
            return;
        }
    }
}

/// One length-framed message; longer than `max`, an error without reading it.
async fn read_message(stream: &mut TcpStream, max: usize) -> io::Result<Vec<u8>> {
    let len = usize::from(stream.read_u16().await?);
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "DNS message over the size limit"));
    }
    let mut message = vec![0; len];
    stream.read_exact(&mut message).await?;
    Ok(message)
}

fn frame(message: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(message.len()).ok()?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    Some(framed)
}

/// Asks one upstream over UDP, from a socket of its own (a fresh source port).
async fn ask_udp(upstream: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let any: IpAddr = if upstream.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
    let socket = UdpSocket::bind((any, 0)).await?;
    // Connected: the kernel drops datagrams from anyone else.
    socket.connect(upstream).await?;
    socket.send(query).await?;
    let mut buf = vec![0; usize::from(u16::MAX)];
    loop {
        let len = socket.recv(&mut buf).await?;
        // A stray datagram is not the answer; the caller's timeout bounds the wait.
        if is_answer(&buf[..len], id) {
            buf.truncate(len);
            return Ok(buf);
        }
    }
}

/// Asks one upstream over TCP, on a connection of its own.
async fn ask_tcp(upstream: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await?;
    let framed = frame(query).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "query too long"))?;
    stream.write_all(&framed).await?;
    let answer = read_message(&mut stream, usize::from(u16::MAX)).await?;
    if !is_answer(&answer, id) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not an answer to the query"));
    }
    Ok(answer)
}

fn is_answer(message: &[u8], id: u16) -> bool {
    message.len() >= HEADER_LEN && message[..2] == id.to_be_bytes() && message[2] & 0x80 != 0
}

/// An upstream's answer as it may go to the client: when over the client's UDP size
/// (an upstream ignoring the size the client asked for), the question alone with TC set,
/// which sends the client to TCP.
fn fit(answer: Vec<u8>, request: &Message, limit: usize) -> Vec<u8> {
    if answer.len() <= limit {
        return answer;
    }
    let mut cut = reply(request, ResponseCode::NoError, Vec::new());
    cut.metadata.truncation = true;
    encode(&cut, limit)
}

/// The reply to `request`: its question as asked (the client's letter case kept, which
/// some resolvers check), recursion available, not authoritative.
fn reply(request: &Message, code: ResponseCode, answers: Vec<Record>) -> Message {
    let mut reply = Message::response(request.id, request.op_code);
    reply.metadata.recursion_desired = request.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.metadata.checking_disabled = request.checking_disabled;
    reply.metadata.response_code = code;
    reply.queries = request.queries.clone();
    reply.answers = answers;
    // RFC 6891: a query with an OPT record gets one back.
    if request.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        reply.edns = Some(edns);
    }
    reply
}

/// The longest reply the client takes: over UDP, 512 bytes or the size its EDNS record
/// announced; over TCP, what the length prefix can say.
fn reply_limit(transport: Transport, request: &Message) -> usize {
    match transport {
        Transport::Udp => usize::from(request.max_payload()),
        Transport::Tcp => usize::from(u16::MAX),
    }
}

/// `reply` in wire format, within `limit`: when too long, without its answers and with
/// TC set (RFC 2181 9), so that the client asks again over TCP.
fn encode(reply: &Message, limit: usize) -> Vec<u8> {
    let failed = || bare(reply.id, u8::from(reply.op_code), reply.recursion_desired, ResponseCode::ServFail).to_vec();
    match reply.to_vec() {
        Ok(wire) if wire.len() <= limit => wire,
        Ok(_) => reply.truncate().to_vec().unwrap_or_else(|_| failed()),
        Err(_) => failed(),
    }
}

/// A reply of a header alone, for a message not parsed further than its header.
fn bare_reply_to(header: &[u8; HEADER_LEN], code: ResponseCode) -> [u8; HEADER_LEN] {
    bare(u16::from_be_bytes([header[0], header[1]]), header[2] >> 3, header[2] & 0x01 != 0, code)
}

fn bare(id: u16, op_code: u8, recursion_desired: bool, code: ResponseCode) -> [u8; HEADER_LEN] {
    let [high, low] = id.to_be_bytes();
    // QR, the opcode and RD echoed; RA, as for every reply of this server.
    let flags = 0x80 | (op_code & 0x0f) << 3 | u8::from(recursion_desired);
    [high, low, flags, 0x80 | code.low(), 0, 0, 0, 0, 0, 0, 0, 0]
}

/// `name` in lowercase without the trailing dot, when it can be a container's name
/// (letters, digits, `-` and `_` in each label); None for the root or any other byte,
/// which no name of ours has.
fn plain_name(name: &Name) -> Option<String> {
    let mut plain = String::new();
    for label in name.iter() {
        if !label.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_') {
            return None;
        }
        if !plain.is_empty() {
            plain.push('.');
        }
        plain.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
    }
    (!plain.is_empty()).then_some(plain)
}

/// The address a whole reverse name stands for: `4.3.2.1.in-addr.arpa` or the 32
/// nibbles of an `ip6.arpa` name; None for anything else, such as a reverse zone.
fn arpa_address(name: &str) -> Option<IpAddr> {
    if let Some(reversed) = name.strip_suffix(".in-addr.arpa") {
        let octets: Vec<u8> = reversed
            .split('.')
            .map(|label| match label.len() {
                1..=3 if label.bytes().all(|b| b.is_ascii_digit()) => label.parse().ok(),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let [d, c, b, a] = octets[..] else { return None };
        return Some(Ipv4Addr::new(a, b, c, d).into());
    }
    let reversed = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u8> = reversed
        .split('.')
        .map(|label| match label.as_bytes() {
            [digit] => char::from(*digit).to_digit(16).and_then(|n| u8::try_from(n).ok()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let bits = nibbles.iter().rev().fold(0u128, |bits, &nibble| bits << 4 | u128::from(nibble));
    Some(Ipv6Addr::from(bits).into())
}

/// A query ID for an upstream: not the client's, so that a client cannot choose it,
/// and unpredictable enough, with the fresh source port, to an off-path spoofer.
fn fresh_id() -> u16 {
    // Each RandomState has keys of its own, drawn from the OS once per thread.
    RandomState::new().hash_one(Instant::now()) as u16
}

/// A short wait after a socket error: the same error would come again at once, and the
/// loop would spin.
async fn pause() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use hickory_proto::op::{MessageType, OpCode, Query};

    use super::*;

    /// How long a reply that must come may take.
    const WAIT: Duration = Duration::from_secs(3);
    /// How long to wait for a reply that must not come.
    const SILENCE: Duration = Duration::from_millis(300);

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// A network whose names are a map; it records who asked.
    struct Network {
        names: HashMap<&'static str, Vec<IpAddr>>,
        pointers: HashMap<IpAddr, &'static str>,
        clients: Mutex<Vec<IpAddr>>,
    }

    impl Names for Network {
        fn lookup(&self, client: IpAddr, name: &str) -> Option<Vec<IpAddr>> {
            self.clients.lock().unwrap().push(client);
            self.names.get(name).cloned()
        }

        fn name_of(&self, _client: IpAddr, addr: IpAddr) -> Option<String> {
            self.pointers.get(&addr).map(|name| name.to_string())
        }
    }

    /// `web` with an address of each family, `db` with IPv4 only, `cache` an alias of
    /// three containers, `crowd` one of sixty (too many for 512 bytes).
    fn network() -> Arc<Network> {
        Arc::new(Network {
            names: HashMap::from([
                ("web", vec![ip("10.89.0.2"), ip("fd89::2")]),
                ("db", vec![ip("10.89.0.3")]),
                ("web.frontend", vec![ip("10.89.0.2")]),
                ("cache", vec![ip("10.89.0.4"), ip("10.89.0.5"), ip("10.89.0.6")]),
                ("crowd", (1..=60).map(|i| IpAddr::V4(Ipv4Addr::new(10, 89, 1, i))).collect()),
            ]),
            pointers: HashMap::from([(ip("10.89.0.2"), "web"), (ip("fd89::2"), "web"), (ip("10.89.0.3"), "db.")]),
            clients: Mutex::new(Vec::new()),
        })
    }

    async fn start(names: Arc<dyn Names>, upstreams: Vec<SocketAddr>) -> Server {
        start_with(names, upstreams, Limits::default()).await
    }

    async fn start_with(names: Arc<dyn Names>, upstreams: Vec<SocketAddr>, limits: Limits) -> Server {
        let addr = "127.0.0.1:0".parse().unwrap();
        Server::serve_with(addr, names, Arc::new(Upstreams::new(upstreams)), limits).await.unwrap()
    }

    fn query(id: u16, name: &str, kind: RecordType) -> Message {
        let mut query = Message::new(id, MessageType::Query, OpCode::Query);
        query.metadata.recursion_desired = true;
        query.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        query
    }

    fn with_edns(mut query: Message, payload: u16) -> Message {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        query.edns = Some(edns);
        query
    }

    /// The reply to `packet` over UDP, if one comes within `wait`.
    async fn exchange_udp(server: SocketAddr, packet: &[u8], wait: Duration) -> Option<Vec<u8>> {
        let socket = UdpSocket::bind((server.ip(), 0)).await.unwrap();
        socket.send_to(packet, server).await.unwrap();
        let mut buf = vec![0; 65535];
        let len = timeout(wait, socket.recv(&mut buf)).await.ok()?.ok()?;
        buf.truncate(len);
        Some(buf)
    }

    async fn ask_udp_client(server: SocketAddr, query: &Message) -> Message {
        let reply = exchange_udp(server, &query.to_vec().unwrap(), WAIT).await.expect("a reply");
        Message::from_vec(&reply).unwrap()
    }

    async fn ask_tcp_client(stream: &mut TcpStream, query: &Message) -> Message {
        stream.write_all(&frame(&query.to_vec().unwrap()).unwrap()).await.unwrap();
        let reply = timeout(WAIT, read_message(stream, 65535)).await.expect("a reply in time").unwrap();
        Message::from_vec(&reply).unwrap()
    }

    fn addresses(reply: &Message) -> Vec<IpAddr> {
        reply
            .answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                _ => None,
            })
            .collect()
    }

    /// Whether the server closes `stream` (end of stream or reset) within `wait`.
    async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
        let mut buf = [0u8; 512];
        let deadline = Instant::now() + wait;
        loop {
            match timeout(deadline.saturating_duration_since(Instant::now()), stream.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                // A reply to what came before: read on.
                Ok(Ok(_)) => {}
            }
        }
    }

    #[derive(Clone, Copy)]
    enum Upstream {
        /// Answers 192.0.2.53, authoritatively (which the server never says itself).
        Answers,
        /// REFUSED to every query.
        Refuses,
        /// Sixty addresses, whatever size the client asked for.
        Oversized,
    }

    /// An upstream on 127.0.0.1, UDP and TCP on one port; the IDs it was asked under.
    async fn fake_upstream(behaviour: Upstream) -> (SocketAddr, Arc<Mutex<Vec<u16>>>) {
        let (udp, tcp) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = udp.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = {
            let seen = seen.clone();
            move |query: &[u8]| {
                let request = Message::from_vec(query).unwrap();
                seen.lock().unwrap().push(request.id);
                let name = request.queries[0].name().clone();
                let record = |i| Record::from_rdata(name.clone(), 30, RData::A(A(Ipv4Addr::new(192, 0, 2, i))));
                let mut answer = match behaviour {
                    Upstream::Answers => reply(&request, ResponseCode::NoError, vec![record(53)]),
                    Upstream::Refuses => reply(&request, ResponseCode::Refused, Vec::new()),
                    Upstream::Oversized => reply(&request, ResponseCode::NoError, (1..=60).map(record).collect()),
                };
                answer.metadata.authoritative = true;
                answer.to_vec().unwrap()
            }
        };
        let answer_tcp = answer.clone();
        tokio::spawn(async move {
            let mut buf = vec![0; 4096];
            while let Ok((len, peer)) = udp.recv_from(&mut buf).await {
                let _ = udp.send_to(&answer(&buf[..len]), peer).await;
            }
        });
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = tcp.accept().await {
                let answer = answer_tcp.clone();
                tokio::spawn(async move {
                    while let Ok(query) = read_message(&mut stream, 65535).await {
                        let _ = stream.write_all(&frame(&answer(&query)).unwrap()).await;
                    }
                });
            }
        });
        (addr, seen)
    }

    /// A port on 127.0.0.1 that nobody listens on (a UDP query there is refused at once).
    async fn dead_port() -> SocketAddr {
        UdpSocket::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap()
    }

    #[tokio::test]
    async fn a_and_aaaa_answer_with_the_addresses_of_that_family() {
        let names = network();
        let server = start(names.clone(), Vec::new()).await;
        let a = ask_udp_client(server.local_addr(), &query(7, "web.", RecordType::A)).await;
        assert_eq!(a.id, 7);
        assert_eq!(a.message_type, MessageType::Response);
        assert_eq!(a.response_code, ResponseCode::NoError);
        assert!(!a.authoritative && a.recursion_available && a.recursion_desired);
        assert_eq!(addresses(&a), vec![ip("10.89.0.2")]);
        assert_eq!(a.answers[0].ttl, TTL);
        let aaaa = ask_udp_client(server.local_addr(), &query(8, "web.", RecordType::AAAA)).await;
        assert_eq!(addresses(&aaaa), vec![ip("fd89::2")]);
        let dotted = ask_udp_client(server.local_addr(), &query(9, "web.frontend.", RecordType::A)).await;
        assert_eq!(addresses(&dotted), vec![ip("10.89.0.2")]);
        // The querying container's address is what the names were asked for.
        assert!(names.clients.lock().unwrap().iter().all(|&client| client == ip("127.0.0.1")));
    }

    #[tokio::test]
    async fn names_are_case_insensitive_and_the_question_comes_back_as_asked() {
        let server = start(network(), Vec::new()).await;
        let reply = ask_udp_client(server.local_addr(), &query(1, "wEb.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.2")]);
        let asked = Name::from_ascii("wEb.").unwrap();
        assert!(reply.queries[0].name().eq_case(&asked), "{}", reply.queries[0].name());
        assert!(reply.answers[0].name.eq_case(&asked), "{}", reply.answers[0].name);
    }

    #[tokio::test]
    async fn an_alias_of_several_containers_rotates_its_addresses() {
        let server = start(network(), Vec::new()).await;
        let mut orders = Vec::new();
        for id in 0..3 {
            let reply = ask_udp_client(server.local_addr(), &query(id, "cache.", RecordType::A)).await;
            let mut order = addresses(&reply);
            orders.push(order.clone());
            order.sort();
            assert_eq!(order, vec![ip("10.89.0.4"), ip("10.89.0.5"), ip("10.89.0.6")]);
        }
        let firsts: std::collections::HashSet<_> = orders.iter().map(|order| order[0]).collect();
        assert_eq!(firsts.len(), 3, "{orders:?}");
    }

    #[tokio::test]
    async fn a_name_of_ours_without_such_records_is_nodata_not_forwarded() {
        // No upstream: a forwarded query would get SERVFAIL.
        let server = start(network(), Vec::new()).await;
        for (name, kind) in [("db.", RecordType::AAAA), ("web.", RecordType::MX), ("DB.", RecordType::TXT)] {
            let reply = ask_udp_client(server.local_addr(), &query(3, name, kind)).await;
            assert_eq!(reply.response_code, ResponseCode::NoError, "{name} {kind}");
            assert!(reply.answers.is_empty(), "{name} {kind}");
        }
    }

    #[tokio::test]
    async fn ptr_gives_the_name_of_a_container() {
        let server = start(network(), Vec::new()).await;
        let v6 = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.8.d.f.ip6.arpa.";
        for (name, target) in [("2.0.89.10.in-addr.arpa.", "web."), ("3.0.89.10.IN-ADDR.ARPA.", "db."), (v6, "web.")] {
            let reply = ask_udp_client(server.local_addr(), &query(4, name, RecordType::PTR)).await;
            assert_eq!(reply.response_code, ResponseCode::NoError, "{name}");
            match reply.answers.as_slice() {
                [record] => match &record.data {
                    RData::PTR(ptr) => assert_eq!(ptr.0.to_ascii(), target),
                    other => panic!("{other:?}"),
                },
                other => panic!("{name}: {other:?}"),
            }
        }
        // Not a container's address: forwarded, and with no upstream, SERVFAIL.
        let reply = ask_udp_client(server.local_addr(), &query(5, "9.0.89.10.in-addr.arpa.", RecordType::PTR)).await;
        assert_eq!(reply.response_code, ResponseCode::ServFail);
    }

    #[tokio::test]
    async fn tcp_answers_several_queries_on_one_connection() {
        let server = start(network(), Vec::new()).await;
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        let a = ask_tcp_client(&mut stream, &query(10, "Web.", RecordType::A)).await;
        assert_eq!((a.id, addresses(&a)), (10, vec![ip("10.89.0.2")]));
        let aaaa = ask_tcp_client(&mut stream, &query(11, "web.", RecordType::AAAA)).await;
        assert_eq!((aaaa.id, addresses(&aaaa)), (11, vec![ip("fd89::2")]));
        let ptr = ask_tcp_client(&mut stream, &query(12, "3.0.89.10.in-addr.arpa.", RecordType::PTR)).await;
        assert_eq!((ptr.id, ptr.answers.len()), (12, 1));
        let crowd = ask_tcp_client(&mut stream, &query(13, "crowd.", RecordType::A)).await;
        assert_eq!(addresses(&crowd).len(), 60, "TCP takes what UDP cannot");
        assert!(!crowd.truncation);
    }

    #[tokio::test]
    async fn other_names_are_forwarded_and_relayed_with_the_clients_id() {
        let (upstream, seen) = fake_upstream(Upstream::Answers).await;
        let server = start(network(), vec![upstream]).await;
        let reply = ask_udp_client(server.local_addr(), &query(0x1234, "example.org.", RecordType::A)).await;
        assert_eq!(reply.id, 0x1234);
        assert!(reply.authoritative, "the upstream's answer, relayed as it is");
        assert_eq!(addresses(&reply), vec![ip("192.0.2.53")]);
        // Other types of other names too; and the upstream never sees the client's ID.
        let reply = ask_udp_client(server.local_addr(), &query(0x1235, "example.org.", RecordType::MX)).await;
        assert_eq!(reply.id, 0x1235);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        assert!(!seen.contains(&0x1234) || !seen.contains(&0x1235), "{seen:?}");
    }

    #[tokio::test]
    async fn tcp_clients_are_forwarded_over_tcp() {
        let (upstream, seen) = fake_upstream(Upstream::Answers).await;
        let server = start(network(), vec![upstream]).await;
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        for id in [21, 22] {
            let reply = ask_tcp_client(&mut stream, &query(id, "example.org.", RecordType::A)).await;
            assert_eq!((reply.id, addresses(&reply)), (id, vec![ip("192.0.2.53")]));
        }
        let local = ask_tcp_client(&mut stream, &query(23, "db.", RecordType::A)).await;
        assert_eq!(addresses(&local), vec![ip("10.89.0.3")]);
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_dead_or_silent_upstream_is_passed_over() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (good, _) = fake_upstream(Upstream::Answers).await;
        let limits = Limits { upstream: Duration::from_millis(300), ..Limits::default() };
        let upstreams = vec![dead_port().await, silent.local_addr().unwrap(), good];
        let server = start_with(network(), upstreams, limits).await;
        let started = Instant::now();
        let reply = ask_udp_client(server.local_addr(), &query(31, "example.org.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("192.0.2.53")]);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_refusing_upstream_is_not_the_last_word_unless_it_is_the_only_one() {
        let (refusing, _) = fake_upstream(Upstream::Refuses).await;
        let (good, _) = fake_upstream(Upstream::Answers).await;
        let server = start(network(), vec![refusing, good]).await;
        let reply = ask_udp_client(server.local_addr(), &query(41, "example.org.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("192.0.2.53")]);
        let server = start(network(), vec![refusing]).await;
        let reply = ask_udp_client(server.local_addr(), &query(42, "example.org.", RecordType::A)).await;
        assert_eq!((reply.id, reply.response_code), (42, ResponseCode::Refused));
    }

    #[tokio::test]
    async fn with_no_upstream_to_answer_it_is_servfail() {
        for upstreams in [Vec::new(), vec![dead_port().await]] {
            let server = start(network(), upstreams.clone()).await;
            let question = query(51, "eXample.org.", RecordType::A);
            let reply = ask_udp_client(server.local_addr(), &question).await;
            assert_eq!((reply.id, reply.response_code), (51, ResponseCode::ServFail), "{upstreams:?}");
            assert!(reply.queries[0].name().eq_case(question.queries[0].name()));
            let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
            let reply = ask_tcp_client(&mut stream, &question).await;
            assert_eq!((reply.id, reply.response_code), (51, ResponseCode::ServFail), "{upstreams:?}");
        }
    }

    #[tokio::test]
    async fn the_server_never_forwards_to_itself() {
        // A socket standing for the server's own address, to see whether anything comes.
        let own = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let responder = Responder {
            names: network(),
            upstreams: Arc::new(Upstreams::new(vec![own.local_addr().unwrap()])),
            own: own.local_addr().unwrap(),
            turn: AtomicUsize::new(0),
            limits: Limits::default(),
        };
        let question = query(61, "example.org.", RecordType::A);
        let wire = question.to_vec().unwrap();
        let reply = timeout(WAIT, responder.relay(Transport::Udp, ip("127.0.0.1"), &question, wire)).await.unwrap();
        assert_eq!(Message::from_vec(&reply).unwrap().response_code, ResponseCode::ServFail);
        let mut buf = [0u8; 512];
        assert!(timeout(SILENCE, own.recv(&mut buf)).await.is_err(), "nothing was sent to it");
    }

    #[tokio::test]
    async fn oversized_udp_answers_are_truncated_so_that_the_client_asks_over_tcp() {
        let server = start(network(), Vec::new()).await;
        let plain = query(71, "crowd.", RecordType::A);
        let wire = exchange_udp(server.local_addr(), &plain.to_vec().unwrap(), WAIT).await.unwrap();
        assert!(wire.len() <= 512, "{}", wire.len());
        let reply = Message::from_vec(&wire).unwrap();
        assert!(reply.truncation && reply.answers.is_empty());
        assert_eq!(reply.id, 71);
        // A client that takes 4096 bytes gets them all, and an OPT record back.
        let reply = ask_udp_client(server.local_addr(), &with_edns(query(72, "crowd.", RecordType::A), 4096)).await;
        assert!(!reply.truncation);
        assert_eq!(addresses(&reply).len(), 60);
        assert_eq!(reply.edns.as_ref().map(Edns::max_payload), Some(EDNS_PAYLOAD));
    }

    #[tokio::test]
    async fn an_oversized_upstream_answer_is_truncated_too() {
        let (upstream, _) = fake_upstream(Upstream::Oversized).await;
        let server = start(network(), vec![upstream]).await;
        let plain = query(81, "example.org.", RecordType::A);
        let wire = exchange_udp(server.local_addr(), &plain.to_vec().unwrap(), WAIT).await.unwrap();
        assert!(wire.len() <= 512, "{}", wire.len());
        let reply = Message::from_vec(&wire).unwrap();
        assert!(reply.truncation && reply.answers.is_empty());
        assert_eq!(reply.id, 81);
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        assert_eq!(addresses(&ask_tcp_client(&mut stream, &plain).await).len(), 60);
    }

    /// The rcode of a bare reply, after checking it answers `id`.
    fn rcode_of(reply: &[u8], id: u16) -> u8 {
        assert!(reply.len() >= HEADER_LEN);
        assert_eq!(u16::from_be_bytes([reply[0], reply[1]]), id);
        assert_ne!(reply[2] & 0x80, 0, "a reply");
        reply[3] & 0x0f
    }

    #[tokio::test]
    async fn malformed_udp_gets_formerr_or_nothing_and_the_server_goes_on() {
        let server = start(network(), Vec::new()).await;
        let addr = server.local_addr();
        let good = query(0xabcd, "web.", RecordType::A).to_vec().unwrap();
        let formerr = ResponseCode::FormErr.low();
        // Shorter than a header: nothing to answer to.
        for short in [&[][..], &[1, 2, 3], &good[..11]] {
            assert_eq!(exchange_udp(addr, short, SILENCE).await, None, "{short:?}");
        }
        // A header and a question cut short, or none at all.
        for cut in [&good[..12], &good[..good.len() - 3]] {
            let reply = exchange_udp(addr, cut, WAIT).await.expect("FORMERR");
            assert_eq!(rcode_of(&reply, 0xabcd), formerr);
        }
        // Two questions.
        let mut two = good.clone();
        two[5] = 2;
        assert_eq!(rcode_of(&exchange_udp(addr, &two, WAIT).await.unwrap(), 0xabcd), formerr);
        // No question.
        let mut none = good.clone();
        none[5] = 0;
        assert_eq!(rcode_of(&exchange_udp(addr, &none, WAIT).await.unwrap(), 0xabcd), formerr);
        // A label pointing at itself.
        let mut looping = good[..12].to_vec();
        looping.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(rcode_of(&exchange_udp(addr, &looping, WAIT).await.unwrap(), 0xabcd), formerr);
        // Garbage after a plausible header, starting with a label type that does not exist.
        let mut garbage = good[..12].to_vec();
        garbage.push(0x41);
        garbage.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
        assert_eq!(rcode_of(&exchange_udp(addr, &garbage, WAIT).await.unwrap(), 0xabcd), formerr);
        // Another opcode (STATUS): NOTIMP, the opcode echoed.
        let mut status = good.clone();
        status[2] = (status[2] & 0x87) | 2 << 3;
        let reply = exchange_udp(addr, &status, WAIT).await.unwrap();
        assert_eq!(rcode_of(&reply, 0xabcd), ResponseCode::NotImp.low());
        assert_eq!((reply[2] >> 3) & 0x0f, 2);
        // A reply is never answered.
        let mut response = good.clone();
        response[2] |= 0x80;
        assert_eq!(exchange_udp(addr, &response, SILENCE).await, None);
        // And the next good query is answered.
        let reply = ask_udp_client(addr, &Message::from_vec(&good).unwrap()).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.2")]);
    }

    /// Every input of a deterministic stream of random and mutated packets gets a verdict
    /// without a panic, and every reply has the length a transport can carry.
    #[test]
    fn no_input_makes_it_panic() {
        let responder = Responder {
            names: network(),
            upstreams: Arc::new(Upstreams::default()),
            own: "127.0.0.1:53".parse().unwrap(),
            turn: AtomicUsize::new(0),
            limits: Limits::default(),
        };
        let seeds = [
            query(1, "web.", RecordType::A).to_vec().unwrap(),
            with_edns(query(2, "crowd.", RecordType::A), 600).to_vec().unwrap(),
            query(3, "2.0.89.10.in-addr.arpa.", RecordType::PTR).to_vec().unwrap(),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let packet: Vec<u8> = if round % 2 == 0 {
                let len = (next() % 80) as usize;
                (0..len).map(|_| next() as u8).collect()
            } else {
                let mut packet = seeds[round % seeds.len()].clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() as usize) % packet.len();
                    packet[at] ^= 1 << (next() % 8);
                }
                packet.truncate(packet.len() - (next() % 4) as usize);
                packet
            };
            for transport in [Transport::Udp, Transport::Tcp] {
                if let Verdict::Reply(reply) = responder.judge(transport, ip("127.0.0.1"), &packet) {
                    assert!(reply.len() >= HEADER_LEN);
                    assert!(transport == Transport::Tcp || reply.len() <= 4096);
                }
            }
        }
    }

    #[tokio::test]
    async fn tcp_garbage_lies_and_half_closes_end_the_connection_quickly() {
        let server = start(network(), Vec::new()).await;
        let addr = server.local_addr();
        let good = frame(&query(5, "web.", RecordType::A).to_vec().unwrap()).unwrap();
        // A length bigger than the data, then end of stream.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&[0x01, 0x00, 1, 2, 3, 4, 5]).await.unwrap();
        stream.shutdown().await.unwrap();
        assert!(closed_within(&mut stream, Duration::from_secs(1)).await, "lying length");
        // A length over the limit: closed without waiting for the data.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&[0xff, 0xff, 0, 0]).await.unwrap();
        assert!(closed_within(&mut stream, Duration::from_secs(1)).await, "length over the limit");
        // A message shorter than a header.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&[0, 3, 1, 2, 3]).await.unwrap();
        assert!(closed_within(&mut stream, Duration::from_secs(1)).await, "short message");
        // Half a length prefix, then end of stream.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&[0]).await.unwrap();
        stream.shutdown().await.unwrap();
        assert!(closed_within(&mut stream, Duration::from_secs(1)).await, "half a prefix");
        // A well-framed message that does not parse: FORMERR, and the connection goes on.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut junk = vec![0, 20, 0x77, 0x77, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        junk.extend_from_slice(&[63, 1, 2, 3, 4, 5, 6, 7]);
        stream.write_all(&junk).await.unwrap();
        let reply = timeout(WAIT, read_message(&mut stream, 65535)).await.unwrap().unwrap();
        assert_eq!(rcode_of(&reply, 0x7777), ResponseCode::FormErr.low());
        let reply = ask_tcp_client(&mut stream, &query(6, "db.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.3")]);
        // A query, then end of stream: the reply still comes, then the server closes.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&good).await.unwrap();
        stream.shutdown().await.unwrap();
        let reply = timeout(WAIT, read_message(&mut stream, 65535)).await.unwrap().unwrap();
        assert_eq!(addresses(&Message::from_vec(&reply).unwrap()), vec![ip("10.89.0.2")]);
        assert!(closed_within(&mut stream, Duration::from_secs(1)).await, "after the reply");
        // The server still serves.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let reply = ask_tcp_client(&mut stream, &query(7, "web.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.2")]);
    }

    /// CPU time of the calling thread, which runs the test's runtime and so the server.
    fn thread_cpu() -> Duration {
        let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_THREAD).unwrap();
        let time = |tv: nix::sys::time::TimeVal| Duration::from_micros(tv.tv_sec() as u64 * 1_000_000 + tv.tv_usec() as u64);
        time(usage.user_time()) + time(usage.system_time())
    }

    /// aardvark-dns once spun at 100% CPU on a truncated TCP query followed by a reset
    /// (CVE-2026-35406): here such clients, half-closed ones and silent ones cost no CPU
    /// and hold up no one.
    #[tokio::test]
    async fn stuck_and_half_closed_tcp_clients_cost_no_cpu_and_block_no_one() {
        let server = start(network(), Vec::new()).await;
        let addr = server.local_addr();
        let truncated = &query(9, "web.", RecordType::A).to_vec().unwrap()[..15];
        let mut lying = vec![0, 40];
        lying.extend_from_slice(truncated);
        // Truncated queries, then a reset (SO_LINGER 0, then close).
        for _ in 0..4 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.set_zero_linger().unwrap();
            stream.write_all(&lying).await.unwrap();
            drop(stream);
        }
        // Half a prefix or a truncated query, then half-closed (the even ones) or silent.
        let mut clients = Vec::new();
        for i in 0..8u8 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            match i % 4 {
                0 | 1 => stream.write_all(&[0]).await.unwrap(),
                _ => stream.write_all(&lying).await.unwrap(),
            }
            if i % 2 == 0 {
                stream.shutdown().await.unwrap();
            }
            clients.push(stream);
        }
        let before = thread_cpu();
        let started = Instant::now();
        // Others are served meanwhile, over UDP and TCP.
        let reply = ask_udp_client(addr, &query(1, "web.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.2")]);
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let reply = ask_tcp_client(&mut stream, &query(2, "web.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.2")]);
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(500)).await;
        let spent = thread_cpu() - before;
        assert!(spent < Duration::from_millis(150), "the server spun: {spent:?} of CPU in {:?}", started.elapsed());
        // The half-closed ones were closed by the server.
        for stream in clients.iter_mut().step_by(2) {
            assert!(closed_within(stream, Duration::from_secs(1)).await);
        }
    }

    #[tokio::test]
    async fn tcp_connections_past_the_cap_wait_for_a_free_one() {
        let limits = Limits { tcp_connections: 2, tcp_idle: Duration::from_millis(400), ..Limits::default() };
        let server = start_with(network(), Vec::new(), limits).await;
        let addr = server.local_addr();
        let _silent = [TcpStream::connect(addr).await.unwrap(), TcpStream::connect(addr).await.unwrap()];
        // Let the server take both before the third comes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let mut third = TcpStream::connect(addr).await.unwrap();
        // UDP is not held up by the full TCP side.
        let reply = ask_udp_client(addr, &query(1, "web.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.2")]);
        assert!(started.elapsed() < Duration::from_millis(200), "{:?}", started.elapsed());
        // The third is served once a silent one has timed out.
        let reply = ask_tcp_client(&mut third, &query(2, "db.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.3")]);
        assert!(started.elapsed() >= Duration::from_millis(250), "served past the cap: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn stopping_or_dropping_the_server_frees_its_port() {
        let server = start(network(), Vec::new()).await;
        let addr = server.local_addr();
        server.stop().await;
        let udp = UdpSocket::bind(addr).await.expect("UDP port free after stop");
        let tcp = TcpListener::bind(addr).await.expect("TCP port free after stop");
        drop((udp, tcp));

        let server = start(network(), Vec::new()).await;
        let addr = server.local_addr();
        drop(server);
        // The tasks end when the runtime next runs them.
        let deadline = Instant::now() + Duration::from_secs(1);
        let freed = loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if let (Ok(_), Ok(_)) = (UdpSocket::bind(addr).await, TcpListener::bind(addr).await) {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
        };
        assert!(freed, "{addr} still taken after the server was dropped");
    }

    #[tokio::test]
    async fn serves_on_ipv6_loopback() {
        let addr: SocketAddr = "[::1]:0".parse().unwrap();
        let Ok(server) = Server::serve(addr, network(), Arc::new(Upstreams::default())).await else {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "no IPv6 loopback under CI");
            return;
        };
        let reply = ask_udp_client(server.local_addr(), &query(1, "web.", RecordType::AAAA)).await;
        assert_eq!(addresses(&reply), vec![ip("fd89::2")]);
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        let reply = ask_tcp_client(&mut stream, &query(2, "web.", RecordType::A)).await;
        assert_eq!(addresses(&reply), vec![ip("10.89.0.2")]);
    }

    #[test]
    fn resolv_conf_nameservers_become_the_upstreams() {
        let text = "\
# Generated by NetworkManager
search example.com lan
options edns0 trust-ad ndots:2
nameserver 127.0.0.53
; nameserver 9.9.9.9
nameserver\t192.0.2.1   # the office
nameserver 2001:db8::1
nameserver fe80::1%eth0
nameserver not-an-address
nameserver
domain lan
";
        let upstreams = Upstreams::from_resolv_conf(text);
        let expected: Vec<SocketAddr> = ["127.0.0.53:53", "192.0.2.1:53", "[2001:db8::1]:53"].iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(upstreams.servers(), expected.as_slice());
        assert!(Upstreams::from_resolv_conf("").servers().is_empty());
    }

    #[test]
    fn reverse_names_stand_for_whole_addresses_only() {
        assert_eq!(arpa_address("4.3.2.1.in-addr.arpa"), Some(ip("1.2.3.4")));
        assert_eq!(arpa_address("255.0.0.10.in-addr.arpa"), Some(ip("10.0.0.255")));
        let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
        assert_eq!(arpa_address(v6), Some(ip("2001:db8::1")));
        for partial in [
            "3.2.1.in-addr.arpa",
            "5.4.3.2.1.in-addr.arpa",
            "256.0.0.10.in-addr.arpa",
            "+1.0.0.10.in-addr.arpa",
            "x.0.0.10.in-addr.arpa",
            "0.0.10.in-addr.arpa",
            "in-addr.arpa",
            "8.b.d.0.1.0.0.2.ip6.arpa",
            "10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
            "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
            "web",
        ] {
            assert_eq!(arpa_address(partial), None, "{partial}");
        }
    }
}
