//! `GET /containers/{id}/top`: the host's `ps` (with the client's `ps_args`, `-ef` by
//! default), narrowed to the container's processes, split into columns as Docker does
//! (the last column keeps its spaces).

use std::process::Command;

use api::containers::ContainerTopResponse;

use crate::error::{Error, Result};

/// The processes of a running container, as `ps` with `ps_args` shows them.
pub async fn of(d: &std::sync::Arc<super::Containers>, c: &super::Container, ps_args: &str) -> Result<ContainerTopResponse> {
    let r = c.record();
    if !r.state.status.is_live() {
        return Err(Error::conflict(format!("Container {} is not running", c.id)));
    }
    let (d, ps_args) = (d.clone(), ps_args.to_string());
    tokio::task::spawn_blocking(move || {
        let pids = d.paths.task(&r, &d.config).pids().map_err(Error::internal)?;
        top(&pids, &ps_args)
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))?
}

/// Runs `ps` and keeps the rows of `pids`.
pub fn top(pids: &[i32], ps_args: &str) -> Result<ContainerTopResponse> {
    let args: Vec<&str> = if ps_args.trim().is_empty() { vec!["-ef"] } else { ps_args.split_whitespace().collect() };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::internal(format!("Error running ps: {e}")))?;
    if !out.status.success() {
        return Err(Error::internal(format!(
            "ps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    parse(&String::from_utf8_lossy(&out.stdout), pids)
}

fn parse(output: &str, pids: &[i32]) -> Result<ContainerTopResponse> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines.next().unwrap_or_default().split_whitespace().map(String::from).collect();
    let pid_at = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| Error::internal("Couldn't find PID field in ps output"))?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() <= pid_at {
            continue;
        }
        let Ok(pid) = fields[pid_at].parse::<i32>() else { continue };
        if !pids.contains(&pid) {
            continue;
        }
        let last = titles.len().saturating_sub(1).min(fields.len());
        let mut row: Vec<String> = fields[..last].iter().map(|s| s.to_string()).collect();
        row.push(fields[last..].join(" "));
        processes.push(row);
    }
    Ok(ContainerTopResponse { titles, processes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_the_containers_pids_with_the_command_whole() {
        let ps = "UID        PID  PPID  C STIME TTY          TIME CMD\n\
                  root         1     0  0 10:00 ?        00:00:01 /sbin/init\n\
                  root      4242  4240  0 10:01 ?        00:00:00 sleep 1000 now\n";
        let t = parse(ps, &[4242]).unwrap();
        assert_eq!(t.titles.len(), 8);
        assert_eq!(t.processes, vec![vec!["root", "4242", "4240", "0", "10:01", "?", "00:00:00", "sleep 1000 now"]]);
        assert!(parse("USER COMMAND\nroot x\n", &[1]).is_err());
    }
}
