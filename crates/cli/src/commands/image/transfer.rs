//! Images in and out as tar streams: `berth save` (the daemon's docker-save
//! archive to `-o FILE`, written beside it and renamed into place, or to
//! stdout unless that is a terminal), `berth load` (an archive from `-i FILE`
//! or stdin, streamed to the daemon without being held in memory) and
//! `berth import` (a root-filesystem tarball from a file, stdin or a URL the
//! daemon fetches). Load and import print the daemon's JSON-message reply.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use api::Body;

use super::open_error;
use crate::cli::{ImportArgs, LoadArgs, SaveArgs};
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::jsonmessage;

/// Docker's `ValidateOutputPath`: the directory must exist, and an existing
/// path must not be a device.
fn validate_output(path: &str) -> std::result::Result<(), String> {
    let parent = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent
        && !dir.exists()
    {
        return Err(format!("invalid output path: directory {:?} does not exist", dir.display().to_string()));
    }
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_char_device() || t.is_block_device() {
            return Err(format!("invalid output path: {path:?} must be a directory or a regular file: got a device"));
        }
    }
    Ok(())
}

/// A file beside `target` that becomes it once complete, so an interrupted
/// save never leaves a truncated archive under the real name.
struct TempOutput {
    path: PathBuf,
    file: std::fs::File,
}

impl TempOutput {
    fn create(target: &Path) -> std::io::Result<TempOutput> {
        let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        for attempt in 0..100u32 {
            let path = dir.join(format!(".berth_temp_{}_{nanos}_{attempt}", std::process::id()));
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => return Ok(TempOutput { path, file }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free temporary file name"))
    }

    fn persist(self, target: &Path) -> std::io::Result<()> {
        self.file.sync_all()?;
        std::fs::rename(&self.path, target).inspect_err(|_| {
            let _ = std::fs::remove_file(&self.path);
        })
    }

    fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub async fn save(cli: &mut Cli<'_>, args: SaveArgs) -> Result<()> {
    if args.output.is_none() && std::io::stdout().is_terminal() {
        return Err(CliError::Other("cowardly refusing to save to a terminal. Use the -o flag or redirect".into()));
    }
    if let Some(out) = &args.output {
        validate_output(out).map_err(|e| CliError::Other(format!("failed to save image: {e}")))?;
    }
    let query: Vec<(&str, &str)> = args.images.iter().map(|n| ("names", n.as_str())).collect();
    let mut stream = cli.client().await?.get_stream("/images/get", &query).await?;
    let Some(target) = args.output.as_deref().map(Path::new) else {
        while let Some(chunk) = stream.chunk().await {
            cli.out.write_all(&chunk?)?;
        }
        return Ok(());
    };
    let mut tmp = TempOutput::create(target)?;
    while let Some(chunk) = stream.chunk().await {
        let written = chunk.map_err(CliError::from).and_then(|c| Ok(tmp.file.write_all(&c)?));
        if let Err(e) = written {
            tmp.discard();
            return Err(e);
        }
    }
    Ok(tmp.persist(target)?)
}

pub async fn load(cli: &mut Cli<'_>, args: LoadArgs) -> Result<()> {
    let body = match args.input.as_deref() {
        None | Some("") => {
            // Reading a terminal would wait for a tar nobody is typing.
            if std::io::stdin().is_terminal() {
                return Err(CliError::Other("requested load from stdin, but stdin is empty".into()));
            }
            Body::reader("application/x-tar", std::io::stdin())
        }
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| CliError::Other(open_error(path, &e)))?;
            Body::reader("application/x-tar", file)
        }
    };
    // Docker asks for no progress bars unless they would reach a terminal.
    let quiet = args.quiet || !std::io::stdout().is_terminal();
    let query: &[(&str, &str)] = if quiet { &[("quiet", "1")] } else { &[] };
    let mut stream = cli.client().await?.post_stream("/images/load", query, Some(body)).await?;
    jsonmessage::display_stream(&mut stream, cli.out).await
}

/// The query of `POST /images/create` for an import, as docker's client
/// builds it: `repo` is the whole `REPOSITORY[:TAG]` and `tag` stays empty.
pub fn import_query(args: &ImportArgs, from_src: &str) -> Result<Vec<(String, String)>> {
    let reference = args.reference.clone().unwrap_or_default();
    if !reference.is_empty() {
        image::Reference::parse_named(&reference).map_err(|e| CliError::Other(e.to_string()))?;
    }
    let mut query = vec![
        ("fromSrc".to_string(), from_src.to_string()),
        ("repo".to_string(), reference),
        ("tag".to_string(), String::new()),
        ("message".to_string(), args.message.clone().unwrap_or_default()),
    ];
    if let Some(p) = args.platform.as_deref().filter(|p| !p.is_empty()) {
        query.push(("platform".to_string(), p.to_lowercase()));
    }
    query.extend(args.change.iter().map(|c| ("changes".to_string(), c.clone())));
    Ok(query)
}

pub async fn import(cli: &mut Cli<'_>, args: ImportArgs) -> Result<()> {
    let src = args.source.as_str();
    let (from_src, body) = if src == "-" {
        ("-", Some(Body::reader("application/x-tar", std::io::stdin())))
    } else if src.starts_with("http://") || src.starts_with("https://") {
        // The daemon downloads it.
        (src, None)
    } else {
        let file = std::fs::File::open(src).map_err(|e| CliError::Other(open_error(src, &e)))?;
        ("-", Some(Body::reader("application/x-tar", file)))
    };
    let query = import_query(&args, from_src)?;
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut stream = cli.client().await?.post_stream("/images/create", &pairs, body).await?;
    jsonmessage::display_stream(&mut stream, cli.out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_args(reference: Option<&str>, change: &[&str]) -> ImportArgs {
        ImportArgs {
            source: "-".into(),
            reference: reference.map(String::from),
            change: change.iter().map(|c| c.to_string()).collect(),
            message: Some("hi".into()),
            platform: None,
            ignored: Vec::new(),
        }
    }

    #[test]
    fn import_query_like_docker() {
        let q = import_query(&import_args(Some("imp:1"), &["CMD [\"/bin/sh\"]", "ENV A=b"]), "-").expect("valid");
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            q,
            [
                ("fromSrc", "-"),
                ("repo", "imp:1"),
                ("tag", ""),
                ("message", "hi"),
                ("changes", "CMD [\"/bin/sh\"]"),
                ("changes", "ENV A=b")
            ]
        );
        let err = import_query(&import_args(Some("Bad:x"), &[]), "-").expect_err("uppercase");
        assert_eq!(err.to_string(), "invalid reference format: repository name (library/Bad) must be lowercase");
    }

    #[test]
    fn output_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = dir.path().join("x.tar");
        assert_eq!(validate_output(ok.to_str().expect("utf-8")), Ok(()));
        let missing = dir.path().join("nope/x.tar");
        assert_eq!(
            validate_output(missing.to_str().expect("utf-8")),
            Err(format!("invalid output path: directory \"{}\" does not exist", dir.path().join("nope").display()))
        );
        assert_eq!(
            validate_output("/dev/null"),
            Err("invalid output path: \"/dev/null\" must be a directory or a regular file: got a device".into())
        );
        let tmp = TempOutput::create(&ok).expect("creates");
        tmp.persist(&ok).expect("renames");
        assert!(ok.exists());
        assert_eq!(std::fs::read_dir(dir.path()).expect("lists").count(), 1);
    }
}
