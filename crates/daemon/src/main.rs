//! berthd: parse flags and daemon.json, then serve.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let flags = daemon::config::Flags::parse();
    let config = match daemon::Config::load(flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("berthd: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(daemon::server::run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
