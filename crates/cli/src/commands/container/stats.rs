//! `berth stats` (`berth container stats`): containers' resource use from
//! `GET /containers/{id}/stats`, as docker's `stats` shows it (docker CLI's
//! `stats.go`, `stats_helpers.go`, `formatter_stats.go`).
//!
//! Without names it shows the running containers (all with `-a`). With
//! `--no-stream` every container's single sample (`stream=0`: the daemon adds
//! a previous sample for the CPU %) is fetched concurrently on the one API
//! client and one table is printed. Otherwise each container's stream of
//! samples is followed in a task and the table is redrawn every second
//! (the screen cleared first when stdout is a terminal) until interrupted; a
//! container without a sample for 2 s, or whose stream ended, shows `--`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use api::containers::ContainerSummary;
use api::stats::{BlkioStats, ContainerStats, CpuStats, MemoryStats, NetworkStats};

use super::{Invocation, path_segment, terminal};
use crate::cli::container::StatsArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::humanize::{bytes_size, human_size_with_precision, short_id};
use crate::format::{ListFormat, Struct, Value, header};

/// Docker's `defaultStatsTableFormat`.
pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// How long a container may go without a sample before its row shows `--`.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the streamed table is redrawn.
const REFRESH: Duration = Duration::from_secs(1);
/// Docker's clear-screen-and-home sequence before each streamed table.
const CLEAR_SCREEN: &str = "\x1b[2J\x1b[H";

/// Docker's `StatsEntry`: one container's figures as shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// The container as asked for (name, id as given, or the short id when listing).
    pub container: String,
    /// The daemon's name, with its leading `/`.
    pub name: String,
    pub id: String,
    pub cpu_percentage: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percentage: f64,
    pub network_rx: f64,
    pub network_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids_current: u64,
    /// No valid sample (an error, a timeout or the end of the stream): `--`.
    pub invalid: bool,
}

impl Entry {
    /// The figures of one sample of `container` (docker's Linux branch of `collect`).
    pub fn from_stats(container: &str, s: &ContainerStats) -> Entry {
        let memory = memory_usage_no_cache(&s.memory_stats);
        let limit = s.memory_stats.limit.unwrap_or(0) as f64;
        let (network_rx, network_tx) = network(s.networks.as_ref());
        let (read, write) = block_io(&s.blkio_stats);
        Entry {
            container: container.to_string(),
            name: s.name.clone(),
            id: s.id.clone(),
            cpu_percentage: cpu_percent(&s.precpu_stats, &s.cpu_stats),
            memory,
            memory_limit: limit,
            memory_percentage: memory_percent(limit, memory),
            network_rx,
            network_tx,
            block_read: read as f64,
            block_write: write as f64,
            pids_current: s.pids_stats.current.unwrap_or(0),
            invalid: false,
        }
    }
}

/// Docker's `calculateCPUPercentUnix`: the container's share of the host's CPU
/// time between the two samples, times the online CPUs (100% = one CPU).
pub fn cpu_percent(previous: &CpuStats, current: &CpuStats) -> f64 {
    let cpu_delta = current.cpu_usage.total_usage as f64 - previous.cpu_usage.total_usage as f64;
    let system_delta = current.system_cpu_usage.unwrap_or(0) as f64 - previous.system_cpu_usage.unwrap_or(0) as f64;
    let mut cpus = f64::from(current.online_cpus.unwrap_or(0));
    if cpus == 0.0 {
        cpus = current.cpu_usage.percpu_usage.as_ref().map_or(0, Vec::len) as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 { cpu_delta / system_delta * cpus * 100.0 } else { 0.0 }
}

/// Docker's `calculateMemUsageUnixNoCache`: usage minus `total_inactive_file`
/// (cgroup v1) or `inactive_file` (v2) when that is smaller than the usage.
pub fn memory_usage_no_cache(m: &MemoryStats) -> f64 {
    let usage = m.usage.unwrap_or(0);
    if let Some(v) = m.stats.get("total_inactive_file")
        && *v < usage
    {
        return (usage - v) as f64;
    }
    let v = m.stats.get("inactive_file").copied().unwrap_or(0);
    if v < usage { (usage - v) as f64 } else { usage as f64 }
}

/// Docker's `calculateMemPercentUnixNoCache` (0 without a limit).
pub fn memory_percent(limit: f64, used: f64) -> f64 {
    if limit != 0.0 { used / limit * 100.0 } else { 0.0 }
}

/// Docker's `calculateBlockIO`: bytes read and written, summed over devices
/// (`op` starting with `r`/`R` or `w`/`W`).
pub fn block_io(b: &BlkioStats) -> (u64, u64) {
    let (mut read, mut write) = (0u64, 0u64);
    for e in b.io_service_bytes_recursive.iter().flatten() {
        match e.op.as_bytes().first() {
            Some(b'r' | b'R') => read = read.wrapping_add(e.value),
            Some(b'w' | b'W') => write = write.wrapping_add(e.value),
            _ => {}
        }
    }
    (read, write)
}

/// Docker's `calculateNetwork`: bytes received and sent over all interfaces.
pub fn network(n: Option<&BTreeMap<String, NetworkStats>>) -> (f64, f64) {
    n.into_iter().flatten().fold((0.0, 0.0), |(rx, tx), (_, v)| (rx + v.rx_bytes as f64, tx + v.tx_bytes as f64))
}

/// Go's `strconv.FormatFloat(v, 'f', 2, 64) + "%"`.
fn percentage(v: f64) -> String {
    format!("{v:.2}%")
}

/// Column titles of docker's stats table.
pub fn headers() -> Value {
    header(&[
        ("Container", "CONTAINER"),
        ("Name", "NAME"),
        ("ID", "CONTAINER ID"),
        ("CPUPerc", "CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET I/O"),
        ("BlockIO", "BLOCK I/O"),
        ("PIDs", "PIDS"),
    ])
}

/// Docker's `statsContext` for one container, as templates see it; its JSON
/// has the fields in sorted order, as here.
pub fn row(e: &Entry, trunc: bool) -> Value {
    let invalid = |s: String| if e.invalid { "--".to_string() } else { s };
    let name = if e.name.len() > 1 { e.name.get(1..).unwrap_or_default().to_string() } else { "--".to_string() };
    let id = if trunc { short_id(&e.id).to_string() } else { e.id.clone() };
    let mem_usage = if e.invalid {
        "-- / --".to_string()
    } else {
        format!("{} / {}", bytes_size(e.memory), bytes_size(e.memory_limit))
    };
    let pair = |a: f64, b: f64| format!("{} / {}", human_size_with_precision(a, 3), human_size_with_precision(b, 3));
    Struct::new("*container.statsContext")
        .field("BlockIO", invalid(pair(e.block_read, e.block_write)))
        .field("CPUPerc", invalid(percentage(e.cpu_percentage)))
        .field("Container", e.container.clone())
        .field("ID", id)
        .field("MemPerc", invalid(percentage(e.memory_percentage)))
        .field("MemUsage", mem_usage)
        .field("Name", name)
        .field("NetIO", invalid(pair(e.network_rx, e.network_tx)))
        .field("PIDs", invalid(e.pids_current.to_string()))
        .into()
}

/// Renders the entries with `format` (docker's `statsFormatWrite`).
pub fn render(format: &ListFormat, entries: &[Entry], trunc: bool) -> Result<String> {
    let rows: Vec<Value> = entries.iter().map(|e| row(e, trunc)).collect();
    Ok(format.render(&headers(), &rows)?)
}

/// One container's latest figures and error (docker's `Stats`).
#[derive(Debug, Clone, Default)]
struct Slot {
    entry: Entry,
    error: Option<String>,
    /// A sample arrived, or none will before the table is first drawn.
    settled: bool,
}

impl Slot {
    fn new(container: &str) -> Slot {
        Slot { entry: Entry { container: container.to_string(), ..Entry::default() }, ..Slot::default() }
    }

    fn set(&mut self, s: &ContainerStats) {
        self.entry = Entry::from_stats(&self.entry.container, s);
        self.error = None;
        self.settled = true;
    }

    /// Docker's `SetError`: the figures stay but show as `--`.
    fn fail(&mut self, error: String) {
        self.error = Some(error);
        self.entry.invalid = true;
    }

    /// Docker's `SetErrorAndReset` after 2 s without a sample.
    fn timed_out(&mut self) {
        let (container, name, id) = (
            std::mem::take(&mut self.entry.container),
            std::mem::take(&mut self.entry.name),
            std::mem::take(&mut self.entry.id),
        );
        self.entry = Entry { container, name, id, invalid: true, ..Entry::default() };
        self.error = Some("timeout waiting for stats".to_string());
        self.settled = true;
    }
}

fn stats_path(container: &str) -> String {
    format!("/containers/{}/stats", path_segment(container))
}

fn error_text(e: api::ClientError) -> String {
    CliError::from(e).to_string()
}

/// One sample of `container` (`stream=0`, with the daemon's previous sample for
/// the CPU %), or why there is none.
async fn one_sample(client: &api::Client, container: &str) -> Slot {
    let mut slot = Slot::new(container);
    let path = stats_path(container);
    let fetch = async {
        let mut s = client.get_stream(&path, &[("stream", "0")]).await?;
        s.next_json::<ContainerStats>().await
    };
    match tokio::time::timeout(SAMPLE_TIMEOUT, fetch).await {
        Ok(Ok(Some(s))) => slot.set(&s),
        Ok(Ok(None)) => slot.fail("EOF".to_string()),
        Ok(Err(e)) => slot.fail(error_text(e)),
        Err(_) => slot.timed_out(),
    }
    slot.settled = true;
    slot
}

/// Runs all `futures` concurrently on this task; their outputs in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

type Shared = Arc<Mutex<Slot>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Slot> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Follows `container`'s stream of samples into `slot` (docker's `collect`).
async fn follow(client: api::Client, container: String, slot: Shared) {
    let path = stats_path(&container);
    let request = client.get_stream(&path, &[("stream", "1")]);
    tokio::pin!(request);
    let mut stream = loop {
        match tokio::time::timeout(SAMPLE_TIMEOUT, &mut request).await {
            Ok(Ok(s)) => break s,
            Ok(Err(e)) => {
                let mut s = lock(&slot);
                s.fail(error_text(e));
                s.settled = true;
                return;
            }
            Err(_) => lock(&slot).timed_out(),
        }
    };
    loop {
        match tokio::time::timeout(SAMPLE_TIMEOUT, stream.next_json::<ContainerStats>()).await {
            Ok(Ok(Some(s))) => lock(&slot).set(&s),
            Ok(Ok(None)) => {
                let mut s = lock(&slot);
                s.fail("EOF".to_string());
                s.settled = true;
                return;
            }
            // A bad sample: docker keeps reading after a pause.
            Ok(Err(e)) => {
                lock(&slot).fail(error_text(e));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => lock(&slot).timed_out(),
        }
    }
}

/// The containers followed while streaming, in display order.
struct Followed {
    client: api::Client,
    items: Vec<(String, Shared, tokio::task::JoinHandle<()>)>,
}

impl Followed {
    fn add(&mut self, container: &str) {
        if self.items.iter().any(|(c, _, _)| c == container) {
            return;
        }
        let slot = Arc::new(Mutex::new(Slot::new(container)));
        let task = tokio::spawn(follow(self.client.clone(), container.to_string(), slot.clone()));
        self.items.push((container.to_string(), slot, task));
    }

    fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.items.retain(|(c, _, task)| {
            let k = keep(c);
            if !k {
                task.abort();
            }
            k
        });
    }

    fn settled(&self) -> bool {
        self.items.iter().all(|(_, s, _)| lock(s).settled)
    }

    fn snapshot(&self) -> Vec<Slot> {
        self.items.iter().map(|(_, s, _)| lock(s).clone()).collect()
    }
}

impl Drop for Followed {
    fn drop(&mut self) {
        for (_, _, task) in &self.items {
            task.abort();
        }
    }
}

/// The short ids of the containers `stats` shows without names.
async fn listed(client: &api::Client, all: bool) -> Result<Vec<String>> {
    let query: &[(&str, &str)] = if all { &[("all", "1")] } else { &[] };
    let cs: Vec<ContainerSummary> = client.get_json("/containers/json", query).await?;
    Ok(cs.iter().map(|c| short_id(&c.id).to_string()).collect())
}

/// Fails with every container's error, one a line, as docker does when
/// containers were named.
fn named_errors(slots: &[Slot]) -> Result<()> {
    let errors: Vec<String> = slots.iter().filter_map(|s| s.error.clone()).collect();
    if errors.is_empty() { Ok(()) } else { Err(CliError::Other(errors.join("\n"))) }
}

pub async fn run(cli: &mut Cli<'_>, args: StatsArgs, _inv: &Invocation) -> Result<()> {
    let format = ListFormat::new(&args.format, DEFAULT_TABLE)?;
    let trunc = !args.no_trunc;
    let show_all = args.containers.is_empty();
    let client = cli.client().await?.clone();
    let mut names: Vec<String> = Vec::new();
    let initial = if show_all { listed(&client, args.all).await? } else { args.containers.clone() };
    for c in initial {
        if !names.contains(&c) {
            names.push(c);
        }
    }

    if args.no_stream {
        let slots = join_all(names.iter().map(|c| one_sample(&client, c)).collect()).await;
        if !show_all {
            named_errors(&slots)?;
        }
        let entries: Vec<Entry> = slots.into_iter().map(|s| s.entry).collect();
        let out = render(&format, &entries, trunc)?;
        cli.out.write_all(out.as_bytes())?;
        return Ok(());
    }

    let mut followed = Followed { client: client.clone(), items: Vec::new() };
    for c in &names {
        followed.add(c);
    }
    // Each container's first sample (or its failure) before the first table.
    while !followed.settled() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if !show_all {
        named_errors(&followed.snapshot())?;
    }
    let clear = terminal::stdout_is_terminal();
    let mut ticker = tokio::time::interval(REFRESH);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut first = true;
    loop {
        if show_all && !first {
            // Docker follows container events; the list is read again instead.
            let now = listed(&client, args.all).await?;
            for c in &now {
                followed.add(c);
            }
            if !args.all {
                followed.retain(|c| now.iter().any(|n| n == c));
            }
        }
        first = false;
        let entries: Vec<Entry> = followed.snapshot().into_iter().map(|s| s.entry).collect();
        let mut out = render(&format, &entries, trunc)?;
        if clear {
            out.insert_str(0, CLEAR_SCREEN);
        }
        cli.out.write_all(out.as_bytes())?;
        cli.out.flush()?;
        if followed.items.is_empty() && !show_all {
            return Ok(());
        }
        ticker.tick().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample of a busy container on a 4-CPU host with a 64 MiB limit (cgroup v2).
    fn busy() -> ContainerStats {
        serde_json::from_value(serde_json::json!({
            "read": "2025-01-01T00:00:01.1Z",
            "preread": "2025-01-01T00:00:01Z",
            "name": "/spin",
            "id": "4f8c3e2a1b0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f",
            "num_procs": 0,
            "pids_stats": {"current": 1, "limit": 4915},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "read", "value": 1_200_000},
                {"major": 8, "minor": 0, "op": "write", "value": 4096},
                {"major": 8, "minor": 16, "op": "Read", "value": 34_000},
                {"major": 8, "minor": 16, "op": "sync", "value": 7}
            ]},
            "cpu_stats": {
                "cpu_usage": {"total_usage": 1_102_720_000u64, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "system_cpu_usage": 400_400_000_000u64,
                "online_cpus": 4,
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
            },
            "precpu_stats": {
                "cpu_usage": {"total_usage": 1_000_000_000u64},
                "system_cpu_usage": 400_000_000_000u64,
                "online_cpus": 4
            },
            "memory_stats": {
                "usage": 1_007_616,
                "stats": {"inactive_file": 503_808, "anon": 400_000},
                "limit": 67_108_864
            },
            "networks": {
                "eth0": {"rx_bytes": 1_500, "rx_packets": 10, "rx_errors": 0, "rx_dropped": 0,
                         "tx_bytes": 648, "tx_packets": 8, "tx_errors": 0, "tx_dropped": 0},
                "eth1": {"rx_bytes": 500, "tx_bytes": 0}
            }
        }))
        .expect("valid stats")
    }

    /// An idle container's first sample: no previous CPU sample, no networks.
    fn idle() -> ContainerStats {
        serde_json::from_value(serde_json::json!({
            "name": "/nap",
            "id": "9a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b",
            "pids_stats": {"current": 1},
            "blkio_stats": {"io_service_bytes_recursive": null},
            "cpu_stats": {"cpu_usage": {"total_usage": 5_000_000}, "system_cpu_usage": 900_000_000_000u64, "online_cpus": 8},
            "precpu_stats": {"cpu_usage": {"total_usage": 0}},
            "memory_stats": {"usage": 245_760, "stats": {}, "limit": 8_325_619_712u64}
        }))
        .expect("valid stats")
    }

    #[test]
    fn cpu_percent_like_docker() {
        let s = busy();
        // 102.72 ms of CPU in 400 ms of (4-CPU) host time: 25.68% of the host, ×4.
        assert_eq!(percentage(cpu_percent(&s.precpu_stats, &s.cpu_stats)), "102.72%");
        // No previous sample: the system delta is the whole uptime, the CPU delta tiny.
        let i = idle();
        assert_eq!(percentage(cpu_percent(&i.precpu_stats, &i.cpu_stats)), "0.00%");
        // Nothing moved, or the counters went back: 0.
        assert_eq!(cpu_percent(&s.cpu_stats, &s.cpu_stats), 0.0);
        assert_eq!(cpu_percent(&s.cpu_stats, &s.precpu_stats), 0.0);
        // Without online_cpus the per-CPU list counts them.
        let mut cur = s.cpu_stats.clone();
        cur.online_cpus = None;
        cur.cpu_usage.percpu_usage = Some(vec![0, 0]);
        assert_eq!(percentage(cpu_percent(&s.precpu_stats, &cur)), "51.36%");
    }

    #[test]
    fn memory_without_inactive_file() {
        let s = busy();
        assert_eq!(memory_usage_no_cache(&s.memory_stats), 503_808.0);
        assert_eq!(bytes_size(memory_usage_no_cache(&s.memory_stats)), "492KiB");
        let mut m = s.memory_stats.clone();
        // cgroup v1 counter wins over v2's.
        m.stats.insert("total_inactive_file".into(), 7_616);
        assert_eq!(memory_usage_no_cache(&m), 1_000_000.0);
        // Counters not below the usage are ignored.
        m.stats.insert("total_inactive_file".into(), 2_000_000);
        m.stats.insert("inactive_file".into(), 2_000_000);
        assert_eq!(memory_usage_no_cache(&m), 1_007_616.0);
        assert_eq!(memory_usage_no_cache(&MemoryStats::default()), 0.0);
        assert_eq!(percentage(memory_percent(67_108_864.0, 503_808.0)), "0.75%");
        assert_eq!(memory_percent(0.0, 5.0), 0.0);
    }

    #[test]
    fn entry_figures() {
        let e = Entry::from_stats("spin", &busy());
        assert_eq!((e.block_read, e.block_write), (1_234_000.0, 4096.0));
        assert_eq!((e.network_rx, e.network_tx), (2_000.0, 648.0));
        assert_eq!((e.pids_current, e.memory_limit), (1, 67_108_864.0));
        assert_eq!(block_io(&BlkioStats::default()), (0, 0));
        assert_eq!(network(None), (0.0, 0.0));
    }

    #[test]
    fn default_table_like_docker() {
        let f = ListFormat::new("", DEFAULT_TABLE).expect("parses");
        let entries = [Entry::from_stats("spin", &busy()), Entry::from_stats("nap", &idle())];
        let out = render(&f, &entries, true).expect("renders");
        assert_eq!(
            out,
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O      BLOCK I/O        PIDS\n\
             4f8c3e2a1b0d   spin      102.72%   492KiB / 64MiB      0.75%     2kB / 648B   1.23MB / 4.1kB   1\n\
             9a7b6c5d4e3f   nap       0.00%     240KiB / 7.754GiB   0.00%     0B / 0B      0B / 0B          1\n"
        );
        // Without containers: the header alone.
        assert_eq!(
            render(&f, &[], true).expect("renders"),
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n"
        );
        // --no-trunc: the whole id.
        let out = render(&f, &entries[..1], false).expect("renders");
        assert!(out.lines().nth(1).expect("row").starts_with(&busy().id), "{out}");
    }

    #[test]
    fn invalid_rows_show_dashes() {
        let f = ListFormat::new("", DEFAULT_TABLE).expect("parses");
        let mut slot = Slot::new("gone");
        slot.fail("Error response from daemon: No such container: gone".into());
        let out = render(&f, &[slot.entry.clone()], true).expect("renders");
        assert_eq!(
            out.lines().nth(1).expect("row"),
            "               --        --        -- / --             --        --        --          --"
        );
        let mut slot = Slot::new("spin");
        slot.set(&busy());
        slot.timed_out();
        assert_eq!(slot.error.as_deref(), Some("timeout waiting for stats"));
        let out = render(&f, &[slot.entry], true).expect("renders");
        assert!(out.lines().nth(1).expect("row").starts_with("4f8c3e2a1b0d   spin      --   "), "{out}");
    }

    #[test]
    fn custom_formats_and_json() {
        let entries = [Entry::from_stats("spin", &busy())];
        let f = ListFormat::new("{{.Name}} {{.PIDs}} {{.Container}}", DEFAULT_TABLE).expect("parses");
        assert_eq!(render(&f, &entries, true).expect("renders"), "spin 1 spin\n");
        let f = ListFormat::new("table {{.Container}}\\t{{.CPUPerc}}", DEFAULT_TABLE).expect("parses");
        assert_eq!(render(&f, &entries, true).expect("renders"), "CONTAINER   CPU %\nspin        102.72%\n");
        let f = ListFormat::new("{{json .}}", DEFAULT_TABLE).expect("parses");
        assert_eq!(
            render(&f, &entries, true).expect("renders"),
            "{\"BlockIO\":\"1.23MB / 4.1kB\",\"CPUPerc\":\"102.72%\",\"Container\":\"spin\",\"ID\":\"4f8c3e2a1b0d\",\
             \"MemPerc\":\"0.75%\",\"MemUsage\":\"492KiB / 64MiB\",\"Name\":\"spin\",\"NetIO\":\"2kB / 648B\",\"PIDs\":\"1\"}\n"
        );
        let f = ListFormat::new("{{.Nope}}", DEFAULT_TABLE).expect("parses");
        let err = render(&f, &entries, true).expect_err("no such field");
        assert!(err.to_string().contains("can't evaluate field Nope in type *container.statsContext"), "{err}");
    }

    #[tokio::test]
    async fn join_all_keeps_order() {
        let futs: Vec<_> = (0..5u64)
            .map(|i| async move {
                tokio::time::sleep(Duration::from_millis(50 - i * 10)).await;
                i
            })
            .collect();
        assert_eq!(join_all(futs).await, vec![0, 1, 2, 3, 4]);
    }
}
