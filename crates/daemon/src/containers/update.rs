//! `POST /containers/{id}/update`: Docker's UpdateConfig (the resource fields and the
//! restart policy), checked as at create, merged into the container's record with
//! Docker's rules (inspect shows the new values, a restart keeps them) and, while the
//! container runs, written to its cgroup at once through its runtime. A container that
//! is not running only has its record changed; its next start applies it.

use api::containers::ContainerUpdateBody;
use api::hostconfig::{HostConfig, Resources, RestartPolicy};

use super::resources::{self, Host};
use crate::error::{Error, Result};

/// Whether an update names a value: Docker's zero values mean "unchanged".
fn is_set<T: Default + PartialEq>(v: &T) -> bool {
    *v != T::default()
}

/// Merges the changes an update names (non-zero values, non-empty lists) into `hc`,
/// refusing the combinations Docker refuses (its messages).
pub fn merge(
    hc: &mut HostConfig,
    u: &Resources,
    restart: Option<&RestartPolicy>,
) -> Result<(), String> {
    let cur = &hc.resources;
    // NanoCpus sets the period and quota itself: once one form is in place, the other
    // cannot be added.
    if u.nano_cpus > 0 && cur.cpu_period > 0 {
        return Err(
            "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"
                .into(),
        );
    }
    if u.nano_cpus > 0 && cur.cpu_quota > 0 {
        return Err(
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"
                .into(),
        );
    }
    if u.cpu_period > 0 && cur.nano_cpus > 0 {
        return Err(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
                .into(),
        );
    }
    if u.cpu_quota > 0 && cur.nano_cpus > 0 {
        return Err(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
                .into(),
        );
    }
    // A new memory limit must fit under the memory+swap limit in place (-1: unlimited
    // swap, any limit fits), unless the update sets that too.
    if u.memory != 0 && u.memory_swap == 0 && cur.memory_swap != -1 && u.memory > cur.memory_swap {
        return Err(
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
                .into(),
        );
    }
    if let Some(p) = restart.filter(|p| !p.name.is_empty()) {
        if hc.auto_remove && p.name != "no" {
            return Err(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            );
        }
        hc.restart_policy = p.clone();
    }
    let r = &mut hc.resources;
    macro_rules! take {
        ($($field:ident),*) => {$(
            if is_set(&u.$field) {
                r.$field = u.$field.clone();
            }
        )*};
    }
    take!(
        blkio_weight,
        blkio_weight_device,
        blkio_device_read_bps,
        blkio_device_write_bps,
        blkio_device_read_iops,
        blkio_device_write_iops,
        cpu_shares,
        nano_cpus,
        cpu_period,
        cpu_quota,
        cpuset_cpus,
        cpuset_mems,
        memory,
        memory_swap,
        memory_reservation,
        cpu_realtime_period,
        cpu_realtime_runtime
    );
    if u.pids_limit.is_some() {
        r.pids_limit = u.pids_limit;
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return Err(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    Ok(())
}

/// An update, checked as at create: the resources it names, the restart policy if
/// given, and Docker's warnings.
pub struct Checked {
    pub resources: Resources,
    pub restart_policy: Option<RestartPolicy>,
    pub warnings: Vec<String>,
}

/// Docker's checks of an update's values, before it reaches the container.
pub fn check(body: ContainerUpdateBody) -> Result<Checked> {
    let mut resources = body.resources;
    let warnings = resources::check(&mut resources, Host::get(), true).map_err(Error::invalid)?;
    if let Some(p) = &body.restart_policy {
        super::lifecycle::check_restart_policy(&HostConfig {
            restart_policy: p.clone(),
            ..Default::default()
        })?;
    }
    Ok(Checked { resources, restart_policy: body.restart_policy, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_merge_with_docker_s_rules() {
        let mib = 1 << 20;
        let mut hc = HostConfig::default();
        hc.resources.memory = 64 * mib;
        hc.resources.memory_swap = 128 * mib;
        hc.resources.nano_cpus = 500_000_000;
        let u = Resources {
            memory: 256 * mib,
            ..Default::default()
        };
        assert_eq!(
            merge(&mut hc, &u, None).unwrap_err(),
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
        );
        let u = Resources {
            memory: 256 * mib,
            memory_swap: 512 * mib,
            pids_limit: Some(10),
            ..Default::default()
        };
        merge(&mut hc, &u, None).unwrap();
        assert_eq!(
            (hc.resources.memory, hc.resources.memory_swap),
            (256 * mib, 512 * mib)
        );
        assert_eq!(
            (hc.resources.pids_limit, hc.resources.nano_cpus),
            (Some(10), 500_000_000)
        );
        let u = Resources {
            cpu_quota: 20_000,
            ..Default::default()
        };
        assert_eq!(
            merge(&mut hc, &u, None).unwrap_err(),
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
        );
        let always = RestartPolicy {
            name: "always".into(),
            maximum_retry_count: 0,
        };
        merge(&mut hc, &Resources::default(), Some(&always)).unwrap();
        assert_eq!(hc.restart_policy.name, "always");
        hc.auto_remove = true;
        assert_eq!(
            merge(&mut hc, &Resources::default(), Some(&always)).unwrap_err(),
            "Restart policy cannot be updated because AutoRemove is enabled for the container"
        );
        // An empty policy name leaves the policy alone.
        merge(
            &mut hc,
            &Resources::default(),
            Some(&RestartPolicy::default()),
        )
        .unwrap();
    }
}
