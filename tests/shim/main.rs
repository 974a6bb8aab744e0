//! berth-shim end to end: real containers under a real, daemonized shim, driven
//! through its command line, sockets and files as berthd would drive them.

mod attach;
mod lifecycle;
mod logs;
mod support;
