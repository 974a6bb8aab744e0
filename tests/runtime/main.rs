//! berth-runtime end to end: real containers on the real kernel, observed from inside
//! (what the container's process prints) and outside (state, /proc, cgroupfs).

mod bad_input;
mod console;
mod cve;
mod exec;
mod hooks;
mod isolation;
mod lifecycle;
mod options;
mod resources;
mod userns;
