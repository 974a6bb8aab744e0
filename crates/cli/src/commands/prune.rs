//! What the prune commands share: docker's confirmation prompt, the prune
//! request, and the section each kind of object prints (`system prune` is
//! [`super::system_prune`]).

use std::io::BufRead;

use api::{Client, Filters};
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::format::humanize::human_size;

/// What pruning one kind of object printed and the space it counts (docker's
/// `RunPrune` results): no section when nothing went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// `Deleted Containers:` and a line per container, or nothing.
    pub section: String,
    pub reclaimed: u64,
}

impl Pruned {
    /// `title` and one line per item; the space counts only when something
    /// went, as docker counts it.
    pub fn listing(title: &str, lines: impl IntoIterator<Item = String>, reclaimed: u64) -> Pruned {
        let mut section = String::new();
        for line in lines {
            if section.is_empty() {
                section = format!("{title}\n");
            }
            section.push_str(&line);
            section.push('\n');
        }
        let reclaimed = if section.is_empty() { 0 } else { reclaimed };
        Pruned { section, reclaimed }
    }

    /// The section as printed, followed by a blank line (docker's `Println`
    /// of it); nothing when empty.
    pub fn printed(&self) -> String {
        if self.section.is_empty() { String::new() } else { format!("{}\n", self.section) }
    }

    /// A prune command's whole output: the section, then the total.
    pub fn report(&self) -> String {
        format!("{}{}", self.printed(), total(self.reclaimed))
    }
}

/// `Total reclaimed space: 2.132MB`.
pub fn total(reclaimed: u64) -> String {
    format!("Total reclaimed space: {}\n", human_size(reclaimed as f64))
}

/// Docker's `PromptForConfirmation`: prints `message [y/N] ` and reads one
/// line; only `y` or `Y` confirms (end of input declines, and a command
/// declined ends quietly with status 0, docker's cancellation).
pub fn confirm(out: &mut dyn std::io::Write, input: &mut dyn BufRead, message: &str) -> Result<bool> {
    write!(out, "{message} [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    // Input that cannot be read declines, as docker's scanner does.
    Ok(input.read_line(&mut answer).is_ok() && answer.trim().eq_ignore_ascii_case("y"))
}

/// `POST path` with the `filters` query docker's client sends (none when
/// there are none), and the daemon's report.
pub async fn request<T: DeserializeOwned>(client: &Client, path: &str, filters: &Filters) -> Result<T> {
    let json = filters.to_json();
    let query: Vec<(&str, &str)> = if filters.is_empty() { Vec::new() } else { vec![("filters", json.as_str())] };
    Ok(client.post(path, &query, None).await?.json()?)
}
