//! Container networking, done in-process (no `ip` binary): the network namespaces berth
//! makes for its containers and what is set up in them before the runtime joins one
//! by its path (`linux.namespaces[].path`), so that it works the same with berth's
//! runtime, runc and crun.
//!
//! - [`netns`]: a namespace kept on a file (a bind mount of its nsfs inode), its
//!   loopback up with 127.0.0.1 and ::1 as Docker gives every container, and removed
//!   again;
//! - [`link`]: a bridge with its gateway address, and a veth pair joining a
//!   container's namespace to it, through netlink;
//! - [`ipam`]: subnets, the address pool of a network, and a subnet chosen clear
//!   of the host's routes for a network that names none;
//! - [`dns`]: the DNS server of a user-defined network, answering the names of its
//!   containers and relaying the rest to the host's resolvers;
//! - [`forward`]: a published port as the kernel forwards it;
//! - [`nat`]: published ports and outbound masquerade, in an nftables table of
//!   berth's own;
//! - [`elements`]: ports added to and deleted from those maps through netlink;
//! - [`watch`]: noticing that someone else deleted that table.

pub mod dns;
pub mod elements;
pub mod forward;
pub mod ipam;
pub mod link;
pub mod nat;
pub mod netns;
pub mod watch;

pub use netns::{Error, Netns};
