//! `berth`: the Docker-compatible command line. Everything lives in the
//! library (`berth_cli::run`) so tests can drive it in-process.

fn main() -> std::process::ExitCode {
    berth_cli::run(std::env::args_os())
}
