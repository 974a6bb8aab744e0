//! berthd: parse flags and daemon.json, set up logging at `--log-level`, then serve.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let flags = daemon::config::Flags::parse();
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("berthd: {e}");
        std::process::ExitCode::from(1)
    };
    let mut config = match daemon::Config::read(flags) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    tracing_subscriber::fmt()
        .with_max_level(config.log_filter())
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    if let Err(e) = config.resolve_remap() {
        return fail(&e);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(daemon::server::run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}
