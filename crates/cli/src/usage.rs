//! Command-line mistakes reported the way docker reports them (its cobra/pflag
//! wording), from clap's errors:
//!
//! ```text
//! unknown flag: --x
//!
//! Usage:  berth version [OPTIONS]
//!
//! Run 'berth version --help' for more information
//! ```
//!
//! Flag errors exit 125; an unknown command or the wrong number of arguments
//! exit 1 (`"berth: 'berth tag' requires 2 arguments"`, worded from the
//! command's positionals as docker's `cli.ExactArgs`, `RequiresMinArgs` …
//! word them); help exits 0 on stdout.
//!
//! The usage line is docker's `Use`: `berth images [OPTIONS] [REPOSITORY[:TAG]]`,
//! built from the command's flags and positionals (their value names).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// What to print, where, and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub text: String,
    pub code: u8,
    /// Help goes to stdout; errors to stderr.
    pub stdout: bool,
}

/// The command names the user typed (`["berth", "system", "info"]`),
/// skipping flags and their values, and the clap command they lead to.
fn command_path(root: &clap::Command, args: &[OsString]) -> (Vec<String>, clap::Command) {
    let mut cmd = root.clone();
    let mut path = vec![root.get_name().to_string()];
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        i += 1;
        if a == "--" {
            break;
        }
        if let Some(flag) = a.strip_prefix('-') {
            let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
            let attached = a.contains('=') || (!a.starts_with("--") && flag.len() > 1);
            let found = if let Some(long) = a.strip_prefix("--") {
                cmd.get_arguments().find(|x| x.get_long() == Some(long.split('=').next().unwrap_or(long)))
            } else {
                flag.chars().next().and_then(|c| cmd.get_arguments().find(|x| x.get_short() == Some(c)))
            };
            match found {
                Some(arg) if takes_value(arg) && !attached => i += 1,
                Some(_) => {}
                // The error is about this flag, at this level.
                None if a != "-h" && a != "--help" => break,
                None => {}
            }
            continue;
        }
        match cmd.find_subcommand(a.as_ref()).cloned() {
            Some(sub) => {
                path.push(sub.get_name().to_string());
                cmd = sub;
            }
            None => break,
        }
    }
    (path, cmd)
}

fn usage_line(path: &str, cmd: &clap::Command, is_root: bool) -> String {
    // Commands with positional arguments keep docker's usage line after the
    // path in `override_usage` (`[OPTIONS] IMAGE [COMMAND] [ARG...]`).
    if let Some(tail) = cmd.get_overridden_usage() {
        return format!("{path} {tail}");
    }
    if is_root {
        return format!("{path} [OPTIONS] COMMAND [ARG...]");
    }
    if cmd.has_subcommands() {
        return format!("{path} COMMAND");
    }
    let mut line = path.to_string();
    let has_flags = cmd.get_arguments().any(|a| !a.is_positional() && a.get_id() != "help");
    if has_flags || positionals(cmd).is_empty() {
        line.push_str(" [OPTIONS]");
    }
    for (name, required, many, _) in positionals(cmd).into_iter().filter(|p| !p.3) {
        line.push(' ');
        line.push_str(&match (required, many) {
            (true, false) => name,
            (false, false) => format!("[{name}]"),
            (true, true) => format!("{name} [{name}...]"),
            (false, true) => format!("[{name}...]"),
        });
    }
    line
}

/// The positional arguments of `cmd`: value name, required, repeatable, and
/// hidden (left out of the usage line, but counted in the arity).
fn positionals(cmd: &clap::Command) -> Vec<(String, bool, bool, bool)> {
    cmd.get_positionals()
        .map(|a| {
            let name = a
                .get_value_names()
                .and_then(|n| n.first())
                .map_or_else(|| a.get_id().as_str().to_uppercase(), |n| n.to_string());
            let many = matches!(a.get_action(), clap::ArgAction::Append)
                || a.get_num_args().is_some_and(|r| r.max_values() > 1);
            (name, a.is_required_set(), many, a.is_hide_set())
        })
        .collect()
}

/// Docker's message for the wrong number of arguments, from the positionals'
/// arity: `accepts no arguments`, `requires 2 arguments`, `requires at least
/// 1 argument` (which alone says "See" where the others say "Run"), `requires
/// at most 1 argument` (whose "SRun" is docker's typo, kept), `requires at
/// least 1 and at most 2 arguments`.
fn arity_error(bin: &str, path: &str, usage: &str, cmd: &clap::Command) -> UsageError {
    let args = positionals(cmd);
    let min = args.iter().filter(|a| a.1).count();
    let max = if args.iter().any(|a| a.2) { None } else { Some(args.len()) };
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let (what, see) = match max {
        Some(0) => ("accepts no arguments".to_string(), "Run"),
        Some(max) if max == min => (format!("requires {min} {}", plural(min)), "Run"),
        None => (format!("requires at least {min} {}", plural(min)), "See"),
        Some(max) if min == 0 => (format!("requires at most {max} {}", plural(max)), "SRun"),
        Some(max) => (format!("requires at least {min} and at most {max} {}", plural(max)), "Run"),
    };
    UsageError {
        text: format!("{bin}: '{path}' {what}\n\nUsage:  {usage}\n\n{see} '{path} --help' for more information\n"),
        code: 1,
        stdout: false,
    }
}

fn context_str(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        _ => None,
    }
}

/// `-f, --filter` for the flag clap names as `--filter <filter>` (`--ipv6`
/// for `--ipv6[=<bool>]`).
fn flag_names(cmd: &clap::Command, clap_name: &str) -> String {
    let long = clap_name.trim_start_matches('-').split([' ', '=', '[']).next().unwrap_or("");
    match cmd.get_arguments().find(|a| a.get_long() == Some(long)) {
        Some(a) => match a.get_short() {
            Some(s) => format!("-{s}, --{long}"),
            None => format!("--{long}"),
        },
        None => clap_name.to_string(),
    }
}

/// Converts a clap parse failure of `args` into docker's output.
pub fn from_clap(err: &clap::Error, root: &clap::Command, args: &[OsString]) -> UsageError {
    // Built, so the positionals' arity (`num_args`) is known.
    let mut root = root.clone();
    root.build();
    let (path, cmd) = command_path(&root, args);
    let path_str = path.join(" ");
    let is_root = path.len() == 1;
    let usage = usage_line(&path_str, &cmd, is_root);
    let flag_error = |msg: String| UsageError {
        text: format!("{msg}\n\nUsage:  {usage}\n\nRun '{path_str} --help' for more information\n"),
        code: 125,
        stdout: false,
    };
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::DisplayVersion => {
            // Help templates name the command with clap's `{bin}`, which
            // joins the path with dashes (`berth-run`): show it as typed.
            let text = err.render().to_string();
            let dashed = format!("Usage:  {} ", path.join("-"));
            let text = text.replacen(&dashed, &format!("Usage:  {path_str} "), 1);
            UsageError { text, code: 0, stdout: true }
        }
        ErrorKind::InvalidSubcommand => {
            let name = context_str(err, ContextKind::InvalidSubcommand).unwrap_or_default();
            // Docker prints the command's `Use`: just its name, or more where it
            // has one (`volume COMMAND`).
            let usage = match cmd.get_overridden_usage() {
                _ if is_root => String::new(),
                Some(tail) => format!("Usage:  {path_str} {tail}\n\n"),
                None => format!("Usage:  {path_str}\n\n"),
            };
            UsageError {
                text: format!(
                    "{root}: unknown command: {path_str} {name}\n\n{usage}Run '{path_str} --help' for more information\n",
                    root = path[0]
                ),
                code: 1,
                stdout: false,
            }
        }
        ErrorKind::UnknownArgument => {
            let arg = context_str(err, ContextKind::InvalidArg).unwrap_or_default();
            if let Some(long) = arg.strip_prefix("--") {
                flag_error(format!("unknown flag: --{}", long.split('=').next().unwrap_or(long)))
            } else if let Some(short) = arg.strip_prefix('-').and_then(|s| s.chars().next()) {
                flag_error(format!("unknown shorthand flag: '{short}' in {arg}"))
            } else {
                arity_error(&path[0], &path_str, &usage, &cmd)
            }
        }
        ErrorKind::MissingRequiredArgument
            if context_str(err, ContextKind::InvalidArg).is_some_and(|a| !a.starts_with('-')) =>
        {
            arity_error(&path[0], &path_str, &usage, &cmd)
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let arg = context_str(err, ContextKind::InvalidArg).unwrap_or_default();
            let value = context_str(err, ContextKind::InvalidValue).unwrap_or_default();
            if value.is_empty() && err.kind() == ErrorKind::InvalidValue {
                // A flag given without its value: name it as it was typed.
                let typed = args.iter().rev().map(|a| a.to_string_lossy().into_owned()).find(|a| a.starts_with('-'));
                let msg = match typed {
                    Some(t) if !t.starts_with("--") && t.len() > 1 => {
                        format!("flag needs an argument: '{}' in {t}", t.chars().last().unwrap_or('-'))
                    }
                    Some(t) => format!("flag needs an argument: {t}"),
                    None => format!("flag needs an argument: {arg}"),
                };
                return flag_error(msg);
            }
            let reason =
                std::error::Error::source(err).map(|s| s.to_string()).unwrap_or_else(|| "invalid value".into());
            flag_error(format!("invalid argument \"{value}\" for \"{}\" flag: {reason}", flag_names(&cmd, &arg)))
        }
        _ => {
            let rendered = err.render().to_string();
            let first = rendered.lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
            flag_error(first)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Opts;
    use clap::{CommandFactory, Parser};

    fn usage(args: &[&str]) -> UsageError {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let err = Opts::try_parse_from(&args).expect_err("should not parse");
        from_clap(&err, &Opts::command(), &args)
    }

    #[test]
    fn unknown_flags_like_docker() {
        let u = usage(&["berth", "version", "--x"]);
        assert_eq!(
            u.text,
            "unknown flag: --x\n\nUsage:  berth version [OPTIONS]\n\nRun 'berth version --help' for more information\n"
        );
        assert_eq!((u.code, u.stdout), (125, false));
        let u = usage(&["berth", "version", "-x"]);
        assert!(
            u.text.starts_with("unknown shorthand flag: 'x' in -x\n\nUsage:  berth version [OPTIONS]"),
            "{}",
            u.text
        );
        let u = usage(&["berth", "--bogus", "version"]);
        assert!(
            u.text
                .starts_with("unknown flag: --bogus\n\nUsage:  berth [OPTIONS] COMMAND [ARG...]\n\nRun 'berth --help'"),
            "{}",
            u.text
        );
        let u = usage(&["berth", "-H", "unix:///x", "system", "info", "--nope=1"]);
        assert!(u.text.starts_with("unknown flag: --nope\n\nUsage:  berth system info [OPTIONS]"), "{}", u.text);
    }

    #[test]
    fn values_commands_and_arguments() {
        let u = usage(&["berth", "version", "-f"]);
        assert!(u.text.starts_with("flag needs an argument: 'f' in -f\n"), "{}", u.text);
        assert_eq!(u.code, 125);
        let u = usage(&["berth", "version", "--format"]);
        assert!(u.text.starts_with("flag needs an argument: --format\n"), "{}", u.text);
        let u = usage(&["berth", "events", "--filter", "bad"]);
        assert!(
            u.text.starts_with(
                "invalid argument \"bad\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\n\nUsage:  berth events [OPTIONS]"
            ),
            "{}",
            u.text
        );
        let u = usage(&["berth", "network", "create", "--ipv6=nope", "n"]);
        assert!(
            u.text.starts_with(
                "invalid argument \"nope\" for \"--ipv6\" flag: strconv.ParseBool: parsing \"nope\": invalid syntax\n\nUsage:  berth network create [OPTIONS] NETWORK\n"
            ),
            "{}",
            u.text
        );
        let u = usage(&["berth", "bogus"]);
        assert_eq!(u.text, "berth: unknown command: berth bogus\n\nRun 'berth --help' for more information\n");
        assert_eq!(u.code, 1);
        let u = usage(&["berth", "system", "bogus"]);
        assert_eq!(
            u.text,
            "berth: unknown command: berth system bogus\n\nUsage:  berth system\n\nRun 'berth system --help' for more information\n"
        );
        let u = usage(&["berth", "version", "extra"]);
        assert_eq!(
            u.text,
            "berth: 'berth version' accepts no arguments\n\nUsage:  berth version [OPTIONS]\n\nRun 'berth version --help' for more information\n"
        );
        assert_eq!(u.code, 1);
        let u = usage(&["berth", "version", "--help"]);
        assert_eq!((u.code, u.stdout), (0, true));
        assert!(u.text.contains("--format"));
    }

    #[test]
    fn argument_counts_and_usage_lines_like_docker() {
        let u = usage(&["berth", "tag", "a"]);
        assert_eq!(
            u.text,
            "berth: 'berth tag' requires 2 arguments\n\nUsage:  berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\nRun 'berth tag --help' for more information\n"
        );
        assert_eq!((u.code, u.stdout), (1, false));
        assert!(usage(&["berth", "tag", "a", "b", "c"]).text.starts_with("berth: 'berth tag' requires 2 arguments\n"));
        let u = usage(&["berth", "image", "rm"]);
        assert_eq!(
            u.text,
            "berth: 'berth image rm' requires at least 1 argument\n\nUsage:  berth image rm [OPTIONS] IMAGE [IMAGE...]\n\nSee 'berth image rm --help' for more information\n"
        );
        let u = usage(&["berth", "images", "a", "b"]);
        assert_eq!(
            u.text,
            "berth: 'berth images' requires at most 1 argument\n\nUsage:  berth images [OPTIONS] [REPOSITORY[:TAG]]\n\nSRun 'berth images --help' for more information\n"
        );
        // A hidden catch-all counts ("at least") but is not shown.
        let u = usage(&["berth", "import"]);
        assert!(
            u.text.starts_with(
                "berth: 'berth import' requires at least 1 argument\n\nUsage:  berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]\n"
            ),
            "{}",
            u.text
        );
        // A command group's usage line is its `Use`, where docker gives one.
        let u = usage(&["berth", "volume", "bogus"]);
        assert_eq!(
            u.text,
            "berth: unknown command: berth volume bogus\n\nUsage:  berth volume COMMAND\n\nRun 'berth volume --help' for more information\n"
        );
        let u = usage(&["berth", "network", "bogus"]);
        assert!(u.text.contains("\n\nUsage:  berth network\n\n"), "{}", u.text);
        let u = usage(&["berth", "load", "x"]);
        assert!(
            u.text.starts_with("berth: 'berth load' accepts no arguments\n\nUsage:  berth load [OPTIONS]\n"),
            "{}",
            u.text
        );
    }
}
