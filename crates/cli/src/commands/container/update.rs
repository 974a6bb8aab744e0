//! `berth update [OPTIONS] CONTAINER...`: changes the resource limits and the restart
//! policy of containers, live when they run. As docker: each container is printed as
//! given when its update succeeds, the daemon's warnings follow on stdout, and failures
//! are reported together at the end (exit 1).

use api::containers::{ContainerUpdateBody, ContainerUpdateResponse};
use api::hostconfig::Resources;

use super::opts::parse_restart_policy;
use super::{Invocation, joined, path_segment};
use crate::cli::container::UpdateArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};

/// The update body of the flags given; `None` when no flag was given (docker counts
/// the flags set, whatever their values).
fn body(a: &UpdateArgs) -> std::result::Result<Option<ContainerUpdateBody>, String> {
    let given = [
        a.blkio_weight.is_some(),
        a.cpu_period.is_some(),
        a.cpu_quota.is_some(),
        a.cpu_rt_period.is_some(),
        a.cpu_rt_runtime.is_some(),
        a.cpu_shares.is_some(),
        a.cpus.is_some(),
        a.cpuset_cpus.is_some(),
        a.cpuset_mems.is_some(),
        a.kernel_memory.is_some(),
        a.memory.is_some(),
        a.memory_reservation.is_some(),
        a.memory_swap.is_some(),
        a.pids_limit.is_some(),
        a.restart.is_some(),
    ];
    if !given.contains(&true) {
        return Ok(None);
    }
    let restart_policy = match a.restart.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(parse_restart_policy(r)?),
        None => None,
    };
    let resources = Resources {
        blkio_weight: a.blkio_weight.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        cpu_shares: a.cpu_shares.unwrap_or(0),
        memory: a.memory.unwrap_or(0),
        memory_reservation: a.memory_reservation.unwrap_or(0),
        memory_swap: a.memory_swap.unwrap_or(0),
        kernel_memory: a.kernel_memory.unwrap_or(0),
        cpu_period: a.cpu_period.unwrap_or(0),
        cpu_quota: a.cpu_quota.unwrap_or(0),
        cpu_realtime_period: a.cpu_rt_period.unwrap_or(0),
        cpu_realtime_runtime: a.cpu_rt_runtime.unwrap_or(0),
        nano_cpus: a.cpus.unwrap_or(0),
        // 0 leaves the limit as it is.
        pids_limit: a.pids_limit.filter(|p| *p != 0),
        ..Default::default()
    };
    Ok(Some(ContainerUpdateBody { resources, restart_policy }))
}

pub async fn run(cli: &mut Cli<'_>, args: UpdateArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    let body = body(&args)
        .map_err(CliError::Other)?
        .ok_or_else(|| CliError::Other("you must provide one or more flags when using this command".into()))?;
    let client = cli.client().await?.clone();
    let (mut warnings, mut errors) = (Vec::new(), Vec::new());
    for name in &args.containers {
        let path = format!("/containers/{}/update", path_segment(name));
        match client.post_json::<_, ContainerUpdateResponse>(&path, &[], &body).await {
            Ok(r) => {
                writeln!(cli.out, "{name}")?;
                warnings.extend(r.warnings);
            }
            Err(e) => errors.push(CliError::from(e).to_string()),
        }
    }
    if !warnings.is_empty() {
        writeln!(cli.out, "{}", warnings.join("\n"))?;
    }
    joined(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, FromArgMatches};

    fn args(a: &[&str]) -> UpdateArgs {
        let cmd = UpdateArgs::augment_args(clap::Command::new("update").no_binary_name(true));
        UpdateArgs::from_arg_matches(&cmd.try_get_matches_from(a).expect("parses")).expect("valid")
    }

    #[test]
    fn flags_become_docker_s_update_body() {
        let b = body(&args(&[
            "-m",
            "64m",
            "--memory-swap",
            "-1",
            "--cpus",
            "0.5",
            "--pids-limit",
            "20",
            "--restart",
            "on-failure:3",
            "c",
        ]))
        .unwrap()
        .unwrap();
        let r = &b.resources;
        assert_eq!((r.memory, r.memory_swap, r.nano_cpus, r.pids_limit), (64 << 20, -1, 500_000_000, Some(20)));
        let p = b.restart_policy.unwrap();
        assert_eq!((p.name.as_str(), p.maximum_retry_count), ("on-failure", 3));
        let json = serde_json::to_value(body(&args(&["--cpu-shares", "512", "c"])).unwrap().unwrap()).unwrap();
        assert_eq!((&json["CpuShares"], &json["PidsLimit"]), (&serde_json::json!(512), &serde_json::Value::Null));
        assert!(json.get("RestartPolicy").is_none());
        // A flag set to its zero value still counts as given.
        assert!(body(&args(&["--pids-limit", "0", "c"])).unwrap().is_some());
        assert!(body(&args(&["c"])).unwrap().is_none());
        assert_eq!(
            body(&args(&["--restart", "on-failure:x", "c"])).unwrap_err(),
            "invalid restart policy format: maximum retry count must be an integer"
        );
    }
}
