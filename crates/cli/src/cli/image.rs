//! The grammar of the image commands: `berth image ls|inspect|history|rm|prune|tag|save|load|import`,
//! their top-level shortcuts (`images`, `rmi`, `tag`, `save`, `load`, `import`,
//! `history`), and `system df`, with docker's flags and value names (the value
//! names make docker's usage lines: `berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`).

use clap::{ArgAction, Args, Subcommand};

use super::parse_filter;

#[derive(Debug, Args)]
#[command(subcommand_value_name = "COMMAND")]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: Option<ImageCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Show the history of an image
    History(HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Display detailed information on one or more images
    Inspect(ImageInspectArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// List images
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Remove unused images
    Prune(ImagePruneArgs),
    /// Remove one or more images
    #[command(aliases = ["rmi", "remove"])]
    Rm(RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show only images of this repository (and tag)
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Show digests
    #[arg(long = "digests")]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template
    #[arg(long = "format", value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ImageInspectArgs {
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short = 'f', long = "format", value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template
    #[arg(long = "format", value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format (-H=false for raw values)
    #[arg(
        short = 'H',
        long = "human",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_value = "true",
        default_missing_value = "true",
        value_name = "bool"
    )]
    pub human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// Force removal of the image
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
}

#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output", value_name = "string")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long = "input", value_name = "string")]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub reference: String,
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Skip image verification
    #[arg(long = "disable-content-trust", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub disable_content_trust: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long = "platform", value_name = "string")]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[arg(value_name = "NAME[:TAG]")]
    pub reference: String,
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Skip image signing
    #[arg(long = "disable-content-trust", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub disable_content_trust: bool,
    /// Suppress verbose output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[arg(value_name = "TERM")]
    pub term: String,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter", value_parser = super::parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Pretty-print search using a Go template
    #[arg(long = "format", value_name = "string", default_value = "", allow_hyphen_values = true)]
    pub format: String,
    /// Max number of search results
    #[arg(long = "limit", value_name = "int", default_value_t = 0)]
    pub limit: u32,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
    /// Username
    #[arg(short = 'u', long = "username", value_name = "string")]
    pub username: Option<String>,
    /// Password or Personal Access Token (PAT)
    #[arg(short = 'p', long = "password", value_name = "string")]
    pub password: Option<String>,
    /// Take the Password or Personal Access Token (PAT) from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[arg(value_name = "file|URL|-")]
    pub source: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
    /// Docker ignores further arguments (its rule is "at least 1").
    #[arg(hide = true)]
    pub ignored: Vec<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list", allow_hyphen_values = true)]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long = "message", value_name = "string", allow_hyphen_values = true)]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long = "platform", value_name = "string")]
    pub platform: Option<String>,
}

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template
    #[arg(long = "format", value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

#[cfg(test)]
mod tests {
    use crate::cli::{Command, Deferred, Opts};
    use clap::Parser;

    use super::*;

    fn parse(args: &[&str]) -> Command {
        let mut argv = vec!["berth"];
        argv.extend_from_slice(args);
        Opts::try_parse_from(argv).expect("parses").command.expect("a command")
    }

    #[test]
    fn image_command_lines() {
        let Command::Images(a) = parse(&["images", "-a", "--digests", "-f", "dangling=true", "busybox"]) else {
            panic!("images")
        };
        assert!(a.all && a.digests && !a.quiet);
        assert_eq!(a.filter, vec![("dangling".into(), "true".into())]);
        assert_eq!(a.reference.as_deref(), Some("busybox"));
        for alias in ["ls", "list"] {
            assert!(matches!(
                parse(&["image", alias, "-q"]),
                Command::Image(Deferred(ImageArgs { command: Some(ImageCommand::Ls(ImagesArgs { quiet: true, .. })) }))
            ));
        }
        for alias in ["rm", "rmi", "remove"] {
            assert!(matches!(
                parse(&["image", alias, "-f", "x"]),
                Command::Image(Deferred(ImageArgs { command: Some(ImageCommand::Rm(RmiArgs { force: true, .. })) }))
            ));
        }
        let Command::History(h) = parse(&["history", "-H=false", "busybox"]) else { panic!("history") };
        assert!(!h.human);
        let Command::History(h) = parse(&["history", "-H", "busybox"]) else { panic!("history") };
        assert!(h.human && h.image == "busybox");
        let Command::History(h) = parse(&["history", "--human=false", "x"]) else { panic!("history") };
        assert!(!h.human);
        let Command::Import(i) =
            parse(&["import", "-c", "CMD [\"sh\"]", "--change", "ENV A=b", "-m", "msg", "-", "x:1"])
        else {
            panic!("import")
        };
        assert_eq!(i.change, ["CMD [\"sh\"]", "ENV A=b"]);
        assert_eq!((i.source.as_str(), i.reference.as_deref(), i.message.as_deref()), ("-", Some("x:1"), Some("msg")));
        let Command::Image(Deferred(ImageArgs { command: Some(ImageCommand::Prune(p)) })) =
            parse(&["image", "prune", "-af", "--filter", "until=24h"])
        else {
            panic!("prune")
        };
        assert!(p.all && p.force);
        assert_eq!(p.filter, vec![("until".into(), "24h".into())]);
        assert!(Opts::try_parse_from(["berth", "tag", "a"]).is_err());
        assert!(Opts::try_parse_from(["berth", "image", "prune", "-f", "x"]).is_err());
    }
}
