//! Resource usage statistics of a cgroup ([`Stats`]), in one shape for both
//! cgroup versions, and the parsers for the kernel's stat files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fs::parse_u64;
use crate::{Error, Result};

/// A snapshot of a cgroup's usage. A section is `None` when its controller
/// is not available for the cgroup (not mounted on v1, not enabled on v2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Memory controller.
    pub memory: Option<MemoryStats>,
    /// CPU accounting (v1 `cpuacct` + `cpu`, v2 `cpu.stat`).
    pub cpu: Option<CpuStats>,
    /// Pids controller.
    pub pids: Option<PidsStats>,
    /// Block IO (v1 `blkio`, v2 `io`).
    pub io: Option<IoStats>,
}

/// Memory usage, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// Current usage (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub usage: u64,
    /// Limit; `None` when unlimited.
    pub limit: Option<u64>,
    /// Highest usage seen (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`
    /// when the kernel has it).
    pub max_usage: Option<u64>,
    /// How often the limit was hit (v1 `memory.failcnt`, v2 the `max` count
    /// in `memory.events`).
    pub failcnt: Option<u64>,
    /// Processes killed by the OOM killer (v1 `oom_kill` in
    /// `memory.oom_control`, v2 `oom_kill` in `memory.events`).
    pub oom_kill: Option<u64>,
    /// The kernel's breakdown (`memory.stat`): clients subtract the page cache
    /// (`total_inactive_file` on v1, `inactive_file` on v2) from the usage.
    #[serde(default)]
    pub stat: BTreeMap<String, u64>,
}

/// CPU time, in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStats {
    /// Total CPU time (v1 `cpuacct.usage`, v2 `usage_usec` × 1000).
    pub usage_total_ns: u64,
    /// User-mode CPU time, when known.
    pub usage_user_ns: Option<u64>,
    /// Kernel-mode CPU time, when known.
    pub usage_system_ns: Option<u64>,
    /// CPU time per CPU (v1 `cpuacct.usage_percpu`; v2 has none).
    #[serde(default)]
    pub per_cpu_ns: Option<Vec<u64>>,
    /// CFS bandwidth throttling, when the cpu controller is available.
    pub throttling: Option<ThrottlingStats>,
}

/// CFS bandwidth throttling counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottlingStats {
    /// Enforcement periods that elapsed (`nr_periods`).
    pub periods: u64,
    /// Periods in which the cgroup was throttled (`nr_throttled`).
    pub throttled_periods: u64,
    /// Total time throttled, in nanoseconds.
    pub throttled_time_ns: u64,
}

/// Process counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsStats {
    /// Processes and threads in the cgroup (`pids.current`).
    pub current: u64,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
}

/// Block IO per device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoStats {
    /// One entry per device with any IO, ordered by device number.
    pub devices: Vec<DeviceIoStats>,
}

/// Block IO of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIoStats {
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Read operations.
    pub read_ios: u64,
    /// Write operations.
    pub write_ios: u64,
}

fn parse_dev(path: &Path, dev: &str) -> Result<(u64, u64)> {
    let bad = || Error::Parse {
        path: path.to_path_buf(),
        what: "a major:minor device number",
        content: dev.to_string(),
    };
    let (major, minor) = dev.split_once(':').ok_or_else(bad)?;
    Ok((
        major.parse().map_err(|_| bad())?,
        minor.parse().map_err(|_| bad())?,
    ))
}

/// Parses v2 `io.stat`: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0`.
pub(crate) fn parse_io_stat(path: &Path, content: &str) -> Result<IoStats> {
    let mut devices = BTreeMap::new();
    for line in content.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut fields = line.split_whitespace();
        let Some(dev) = fields.next() else { continue };
        let (major, minor) = parse_dev(path, dev)?;
        let entry: &mut DeviceIoStats = devices.entry((major, minor)).or_default();
        entry.major = major;
        entry.minor = minor;
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    what: "a key=value field",
                    content: field.to_string(),
                });
            };
            let slot = match key {
                "rbytes" => &mut entry.read_bytes,
                "wbytes" => &mut entry.write_bytes,
                "rios" => &mut entry.read_ios,
                "wios" => &mut entry.write_ios,
                _ => continue,
            };
            *slot = parse_u64(path, value, "an IO counter")?;
        }
    }
    Ok(IoStats {
        devices: devices.into_values().collect(),
    })
}

/// Which counters a v1 blkio file holds.
#[derive(Clone, Copy)]
pub(crate) enum BlkioCounter {
    Bytes,
    Ios,
}

/// Adds a v1 blkio recursive stat file (`8:0 Read 4096` lines, plus `Total`
/// lines that are skipped) to `stats`.
pub(crate) fn add_blkio_v1(
    stats: &mut BTreeMap<(u64, u64), DeviceIoStats>,
    path: &Path,
    content: &str,
    counter: BlkioCounter,
) -> Result<()> {
    for line in content.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [dev, op, value] = fields[..] else {
            continue; // "Total 1234"
        };
        let (major, minor) = parse_dev(path, dev)?;
        let value = parse_u64(path, value, "a blkio counter")?;
        let entry = stats.entry((major, minor)).or_default();
        entry.major = major;
        entry.minor = minor;
        match (op, counter) {
            ("Read", BlkioCounter::Bytes) => entry.read_bytes = value,
            ("Write", BlkioCounter::Bytes) => entry.write_bytes = value,
            ("Read", BlkioCounter::Ios) => entry.read_ios = value,
            ("Write", BlkioCounter::Ios) => entry.write_ios = value,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_stat_v2() {
        let p = Path::new("io.stat");
        let s = parse_io_stat(
            p,
            "8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n8:0 rbytes=10 wbytes=20 rios=30 wios=40\n",
        )
        .unwrap();
        assert_eq!(s.devices.len(), 2);
        assert_eq!(
            s.devices[0],
            DeviceIoStats {
                major: 8,
                minor: 0,
                read_bytes: 10,
                write_bytes: 20,
                read_ios: 30,
                write_ios: 40
            }
        );
        assert_eq!(s.devices[1].write_ios, 4);
        assert!(parse_io_stat(p, "8:0 rbytes=x").is_err());
        assert!(parse_io_stat(p, "junk rbytes=1").is_err());
    }

    #[test]
    fn blkio_v1() {
        let p = Path::new("blkio");
        let mut m = BTreeMap::new();
        add_blkio_v1(
            &mut m,
            p,
            "254:0 Read 4096\n254:0 Write 8192\n254:0 Sync 1\n254:0 Total 12288\nTotal 12288\n",
            BlkioCounter::Bytes,
        )
        .unwrap();
        add_blkio_v1(
            &mut m,
            p,
            "254:0 Read 1\n254:0 Write 2\nTotal 3\n",
            BlkioCounter::Ios,
        )
        .unwrap();
        assert_eq!(
            m.into_values().collect::<Vec<_>>(),
            [DeviceIoStats {
                major: 254,
                minor: 0,
                read_bytes: 4096,
                write_bytes: 8192,
                read_ios: 1,
                write_ios: 2
            }]
        );
    }

    #[test]
    fn stats_serialize() {
        let s = Stats {
            pids: Some(PidsStats {
                current: 1,
                limit: None,
            }),
            ..Stats::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"memory":null,"cpu":null,"pids":{"current":1,"limit":null},"io":null}"#
        );
        assert_eq!(serde_json::from_str::<Stats>(&json).unwrap(), s);
    }
}
