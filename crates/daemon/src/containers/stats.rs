//! `GET /containers/{id}/stats`: samples of the container's cgroup in Docker's JSON
//! (cpu_stats with the host's CPU time beside it, precpu_stats from the sample before,
//! memory_stats with the limit, pids_stats, blkio_stats), one or streamed each second.

use api::stats::{BlkioStatEntry, BlkioStats, ContainerStats, CpuStats, CpuUsage, MemoryStats, PidsStats, ThrottlingData};
use chrono::Utc;

/// The host's CPU time in nanoseconds (the `cpu` line of /proc/stat, in USER_HZ ticks).
fn system_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: u64 = line.split_whitespace().skip(1).filter_map(|v| v.parse::<u64>().ok()).sum();
    // SAFETY: sysconf with a constant name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(ticks * (1_000_000_000 / hz))
}

fn online_cpus() -> u32 {
    std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1)
}

/// A blocking sampler of a container's cgroup, through its shim: `None` once it is
/// not live (or its cgroup is gone).
pub fn sampler(d: &std::sync::Arc<super::Containers>, r: &super::record::Record) -> impl Fn() -> Option<ContainerStats> + Clone + Send + 'static {
    let task = std::sync::Arc::new(d.paths.task(r, &d.config));
    let (live, id, name) = (r.state.status.is_live(), r.id.clone(), r.name.clone());
    // The host's interfaces are not the container's to count.
    let net_dev = (!r.network.is_host() && r.state.pid > 0).then(|| format!("/proc/{}/net/dev", r.state.pid));
    move || {
        if !live {
            return None;
        }
        let mut out = sample(&task.stats().ok()?, &id, &name);
        out.networks = net_dev.as_ref().and_then(|path| std::fs::read_to_string(path).ok()).map(|text| interfaces(&text)).filter(|n| !n.is_empty());
        Some(out)
    }
}

/// The counters of a network namespace's interfaces but `lo`, from its
/// `/proc/<pid>/net/dev`, as Docker reports them under `networks`.
fn interfaces(text: &str) -> std::collections::BTreeMap<String, api::stats::NetworkStats> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, figures) = line.split_once(':')?;
            let name = name.trim();
            let n: Vec<u64> = figures.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
            if name == "lo" || n.len() < 12 {
                return None;
            }
            let stats = api::stats::NetworkStats {
                rx_bytes: n[0],
                rx_packets: n[1],
                rx_errors: n[2],
                rx_dropped: n[3],
                tx_bytes: n[8],
                tx_packets: n[9],
                tx_errors: n[10],
                tx_dropped: n[11],
            };
            Some((name.to_string(), stats))
        })
        .collect()
}

/// One sample, in Docker's shape (without `precpu_stats`).
pub fn sample(s: &cgroups::Stats, id: &str, name: &str) -> ContainerStats {
    let mut out = ContainerStats {
        read: api::time::format_rfc3339_nano(Utc::now()),
        id: id.to_string(),
        name: format!("/{name}"),
        ..Default::default()
    };
    if let Some(c) = &s.cpu {
        out.cpu_stats = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: c.usage_total_ns,
                percpu_usage: c.per_cpu_ns.clone(),
                usage_in_kernelmode: c.usage_system_ns.unwrap_or(0),
                usage_in_usermode: c.usage_user_ns.unwrap_or(0),
            },
            system_cpu_usage: system_cpu_ns(),
            online_cpus: Some(online_cpus()),
            throttling_data: c
                .throttling
                .as_ref()
                .map(|t| ThrottlingData {
                    periods: t.periods,
                    throttled_periods: t.throttled_periods,
                    throttled_time: t.throttled_time_ns,
                })
                .unwrap_or_default(),
        };
    }
    if let Some(m) = &s.memory {
        // Unlimited reads as the host's memory, as Docker reports it.
        let host = sysinfo_total_memory();
        out.memory_stats = MemoryStats {
            usage: Some(m.usage),
            max_usage: m.max_usage,
            stats: m.stat.clone(),
            failcnt: m.failcnt,
            limit: Some(m.limit.filter(|l| *l < host).unwrap_or(host)),
        };
    }
    if let Some(p) = &s.pids {
        out.pids_stats = PidsStats { current: Some(p.current), limit: p.limit };
    }
    if let Some(io) = &s.io {
        let mut bytes = Vec::new();
        for d in &io.devices {
            for (op, value) in [("read", d.read_bytes), ("write", d.write_bytes)] {
                bytes.push(BlkioStatEntry { major: d.major, minor: d.minor, op: op.into(), value });
            }
        }
        // cgroup v1 has all the lists (berth fills the bytes): the rest are empty, not
        // null, as dockerd writes them there.
        let v1 = !super::run::cgroup_v2();
        let empty = || v1.then(Vec::new);
        out.blkio_stats = BlkioStats {
            io_service_bytes_recursive: Some(bytes),
            io_serviced_recursive: empty(),
            io_queue_recursive: empty(),
            io_service_time_recursive: empty(),
            io_wait_time_recursive: empty(),
            io_merged_recursive: empty(),
            io_time_recursive: empty(),
            sectors_recursive: empty(),
        };
    }
    out
}

fn sysinfo_total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(u64::MAX, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_counters_are_read_as_the_kernel_prints_them() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
             lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0\n  \
             eth0:    1532      18    1    2    0     0          0         0      726       9    3    4    0     0       0          0\n";
        let n = interfaces(text);
        assert_eq!(n.len(), 1, "{n:?}");
        let eth0 = &n["eth0"];
        assert_eq!((eth0.rx_bytes, eth0.rx_packets, eth0.rx_errors, eth0.rx_dropped), (1532, 18, 1, 2));
        assert_eq!((eth0.tx_bytes, eth0.tx_packets, eth0.tx_errors, eth0.tx_dropped), (726, 9, 3, 4));
        assert!(interfaces("").is_empty());
    }

    #[test]
    fn host_figures_are_read() {
        assert!(system_cpu_ns().unwrap() > 0);
        assert!(online_cpus() >= 1);
        assert!(sysinfo_total_memory() > 1 << 20);
    }
}
