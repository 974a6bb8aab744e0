//! `berth image …` and its top-level shortcuts (`images`, `history`, `rmi`,
//! `tag`, `save`, `load`, `import`, `pull`, `push`): one module per command, each printing
//! what docker prints for the same daemon reply.

pub mod distribution;
pub mod history;
pub mod inspect;
pub mod list;
pub mod prune;
pub mod remove;
pub mod search;
pub mod tag;
pub mod transfer;

use clap::CommandFactory;

use crate::cli::{ImageArgs, ImageCommand, Opts};
use crate::context::Cli;
use crate::error::Result;

pub async fn run(cli: &mut Cli<'_>, args: ImageArgs) -> Result<()> {
    match args.command {
        Some(ImageCommand::Ls(a)) => list::run(cli, a).await,
        Some(ImageCommand::Inspect(a)) => inspect::run(cli, a).await,
        Some(ImageCommand::History(a)) => history::run(cli, a).await,
        Some(ImageCommand::Rm(a)) => remove::run(cli, a).await,
        Some(ImageCommand::Prune(a)) => prune::run(cli, a).await,
        Some(ImageCommand::Tag(a)) => tag::run(cli, a).await,
        Some(ImageCommand::Save(a)) => transfer::save(cli, a).await,
        Some(ImageCommand::Load(a)) => transfer::load(cli, a).await,
        Some(ImageCommand::Pull(a)) => distribution::pull(cli, a).await,
        Some(ImageCommand::Push(a)) => distribution::push(cli, a).await,
        Some(ImageCommand::Import(a)) => transfer::import(cli, a).await,
        None => {
            // Like docker, a bare `image` prints its help.
            let mut root = Opts::command();
            root.build();
            if let Some(image) = root.find_subcommand_mut("image") {
                write!(cli.out, "{}", image.render_help())?;
            }
            Ok(())
        }
    }
}

/// An image name as one path segment of a URL (`/images/{name}/json`): names
/// keep their `/`, `:` and `@`; anything else unusual is percent-encoded.
pub fn path_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b':' | b'@' | b'+') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `*fs.PathError` text for a failed open: `open x: no such file or directory`.
pub fn open_error(path: &str, e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    let reason = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("open {path}: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_names_and_words_open_errors() {
        assert_eq!(path_escape("localhost:5000/a/b:1"), "localhost:5000/a/b:1");
        assert_eq!(path_escape("busybox@sha256:ab"), "busybox@sha256:ab");
        assert_eq!(path_escape("a b?c#"), "a%20b%3Fc%23");
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(open_error("nofile", &e), "open nofile: no such file or directory");
        let e = std::io::Error::from_raw_os_error(13);
        assert_eq!(open_error("/x", &e), "open /x: permission denied");
    }
}
