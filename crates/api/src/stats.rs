//! `GET /containers/{id}/stats` JSON. Unlike the rest of the API these fields are
//! snake_case. `docker stats` computes CPU % from `cpu_stats` vs `precpu_stats`
//! (`total_usage`, `system_cpu_usage`, `online_cpus`) and memory from `usage`
//! minus `stats.inactive_file` (cgroup v2) or `stats.total_inactive_file` (v1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::null_default;

/// One stats sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerStats {
    /// RFC 3339 time of this sample.
    #[serde(deserialize_with = "null_default")]
    pub read: String,
    /// RFC 3339 time of the previous sample (zero time on the first).
    #[serde(deserialize_with = "null_default")]
    pub preread: String,
    /// Container name with a leading `/`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub num_procs: u32,
    #[serde(deserialize_with = "null_default")]
    pub pids_stats: PidsStats,
    #[serde(deserialize_with = "null_default")]
    pub blkio_stats: BlkioStats,
    #[serde(deserialize_with = "null_default")]
    pub cpu_stats: CpuStats,
    #[serde(deserialize_with = "null_default")]
    pub precpu_stats: CpuStats,
    #[serde(deserialize_with = "null_default")]
    pub memory_stats: MemoryStats,
    /// Interface name → counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, NetworkStats>>,
    #[serde(deserialize_with = "null_default")]
    pub storage_stats: StorageStats,
}

/// `pids_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// One blkio counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStatEntry {
    #[serde(deserialize_with = "null_default")]
    pub major: u64,
    #[serde(deserialize_with = "null_default")]
    pub minor: u64,
    /// `read`, `write`, … (capitalised on cgroup v1: `Read`, `Write`).
    #[serde(deserialize_with = "null_default")]
    pub op: String,
    #[serde(deserialize_with = "null_default")]
    pub value: u64,
}

/// `blkio_stats`; on cgroup v2 only `io_service_bytes_recursive` is filled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// `cpu_usage`; times in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    #[serde(deserialize_with = "null_default")]
    pub total_usage: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percpu_usage: Option<Vec<u64>>,
    #[serde(deserialize_with = "null_default")]
    pub usage_in_kernelmode: u64,
    #[serde(deserialize_with = "null_default")]
    pub usage_in_usermode: u64,
}

/// `throttling_data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottlingData {
    #[serde(deserialize_with = "null_default")]
    pub periods: u64,
    #[serde(deserialize_with = "null_default")]
    pub throttled_periods: u64,
    #[serde(deserialize_with = "null_default")]
    pub throttled_time: u64,
}

/// `cpu_stats` / `precpu_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    #[serde(deserialize_with = "null_default")]
    pub cpu_usage: CpuUsage,
    /// Host CPU time in nanoseconds (sum over CPUs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_cpu_usage: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_cpus: Option<u32>,
    #[serde(deserialize_with = "null_default")]
    pub throttling_data: ThrottlingData,
}

/// `memory_stats`; `stats` holds the raw cgroup `memory.stat` counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// Per-interface network counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStats {
    #[serde(deserialize_with = "null_default")]
    pub rx_bytes: u64,
    #[serde(deserialize_with = "null_default")]
    pub rx_packets: u64,
    #[serde(deserialize_with = "null_default")]
    pub rx_errors: u64,
    #[serde(deserialize_with = "null_default")]
    pub rx_dropped: u64,
    #[serde(deserialize_with = "null_default")]
    pub tx_bytes: u64,
    #[serde(deserialize_with = "null_default")]
    pub tx_packets: u64,
    #[serde(deserialize_with = "null_default")]
    pub tx_errors: u64,
    #[serde(deserialize_with = "null_default")]
    pub tx_dropped: u64,
}

/// `storage_stats` (Windows only; empty on Linux).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_count_normalized: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_size_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_count_normalized: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_size_bytes: Option<u64>,
}

impl ContainerStats {
    /// CPU use since the previous sample as `docker stats` shows it (100% = one
    /// CPU fully busy); 0 when there is no previous sample.
    pub fn cpu_percent(&self) -> f64 {
        let cpu_delta = self
            .cpu_stats
            .cpu_usage
            .total_usage
            .saturating_sub(self.precpu_stats.cpu_usage.total_usage) as f64;
        let system_delta = self
            .cpu_stats
            .system_cpu_usage
            .unwrap_or(0)
            .saturating_sub(self.precpu_stats.system_cpu_usage.unwrap_or(0)) as f64;
        let cpus = self
            .cpu_stats
            .online_cpus
            .filter(|n| *n > 0)
            .or_else(|| self.cpu_stats.cpu_usage.percpu_usage.as_ref().map(|v| v.len() as u32))
            .unwrap_or(1);
        if system_delta > 0.0 && cpu_delta > 0.0 {
            cpu_delta / system_delta * f64::from(cpus) * 100.0
        } else {
            0.0
        }
    }

    /// Memory in use minus reclaimable page cache, as `docker stats` shows it.
    pub fn memory_used(&self) -> u64 {
        let usage = self.memory_stats.usage.unwrap_or(0);
        let stats = &self.memory_stats.stats;
        let cache = stats
            .get("total_inactive_file")
            .or_else(|| stats.get("inactive_file"))
            .copied()
            .unwrap_or(0);
        usage.saturating_sub(cache)
    }
}
