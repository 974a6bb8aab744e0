//! The `berth` command line end to end: a private berthd per test, `berth` run
//! as a user runs it, and its output compared with the real docker CLI's
//! against the same daemon where docker is installed.

mod commit;
mod containers;
mod cp;
mod distribution;
mod exec;
mod images;
mod networks;
mod prune;
mod stats;
mod support;
mod system;
mod update;
mod usage;
mod volumes;
