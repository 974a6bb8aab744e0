//! `berth commit` and `berth container commit`: a new image from a container's
//! changes (`POST /commit`), its ID printed in full, as docker's.
//!
//! Docker's client checks the container and the reference before asking the
//! daemon, in its own words: an empty container is refused, and the
//! reference must be a name (`REPOSITORY[:TAG]`, `latest` by default) that
//! distribution/reference accepts, without a digest.

use image::reference::{DEFAULT_TAG, Error as ReferenceError, Reference};

use super::Invocation;
use crate::cli::container::CommitArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};

const DIGEST_REFUSED: &str = "refusing to create a tag with a digest reference";
const INVALID_FORMAT: &str = "invalid reference format";
const TOO_LONG: &str = "repository name must not be more than 255 characters";

pub async fn run(cli: &mut Cli<'_>, args: CommitArgs, inv: &Invocation) -> Result<()> {
    inv.require_range(&args.args, 1, 2)?;
    let container = args.args[0].trim();
    if container.is_empty() {
        return Err(CliError::Other("invalid container name or ID: value is empty".into()));
    }
    // An empty reference is no reference: an untagged image.
    let (repo, tag) = match args.args.get(1).filter(|r| !r.is_empty()) {
        Some(reference) => repository_and_tag(reference).map_err(CliError::Other)?,
        None => (String::new(), String::new()),
    };
    let mut query = vec![
        ("container", container),
        ("repo", repo.as_str()),
        ("tag", tag.as_str()),
        ("comment", args.message.as_str()),
        ("author", args.author.as_str()),
    ];
    query.extend(args.change.iter().map(|c| ("changes", c.as_str())));
    if !args.pause {
        query.push(("pause", "0"));
    }
    let created: api::IdResponse = cli.client().await?.post("/commit", &query, None).await?.json()?;
    writeln!(cli.out, "{}", created.id)?;
    Ok(())
}

/// The `repo` and `tag` query of a commit to `reference`, or docker's error
/// for it (`ParseNormalizedNamed`, then the refusal of a digest).
fn repository_and_tag(reference: &str) -> Result<(String, String), String> {
    let parsed = parse_normalized_named(reference)?;
    if parsed.digest().is_some() {
        return Err(DIGEST_REFUSED.into());
    }
    Ok((parsed.repository(), parsed.tag().unwrap_or(DEFAULT_TAG).to_string()))
}

/// distribution/reference's `ParseNormalizedNamed` with its messages: the
/// image crate's parser judges, but docker names only a 64-hex name, an
/// uppercase repository, an overlong name and a bad digest; any other
/// mistake is just "invalid reference format".
fn parse_normalized_named(s: &str) -> Result<Reference, String> {
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!("invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"));
    }
    // Docker checks the case of all before the first ':', a digest included.
    let remote = remote_name(s);
    let remote = remote.split(':').next().unwrap_or_default();
    if remote.to_lowercase() != remote {
        return Err(format!("invalid reference format: repository name ({remote}) must be lowercase"));
    }
    Reference::parse_named(s).map_err(|e| match e {
        ReferenceError::TooLong { .. } => TOO_LONG.into(),
        ReferenceError::Digest { digest, .. } => digest_reference_error(s, &digest).into(),
        _ => INVALID_FORMAT.into(),
    })
}

/// Docker's error for `s`, whose digest the image crate refused: docker's
/// grammar covers the whole reference before the name's length and the
/// digest's own checks, which accept an algorithm the image crate does not.
fn digest_reference_error(s: &str, digest: &str) -> &'static str {
    let name = &s[..s.len() - digest.len() - 1];
    let name_too_long = match Reference::parse_named(name) {
        // Docker refuses a 64-hex name only when it is the whole reference.
        Ok(_) | Err(ReferenceError::HexName(_)) => false,
        Err(ReferenceError::TooLong { .. }) => true,
        Err(_) => return INVALID_FORMAT,
    };
    if !in_reference_grammar(digest) {
        INVALID_FORMAT
    } else if name_too_long {
        TOO_LONG
    } else {
        digest_error(digest).unwrap_or(DIGEST_REFUSED)
    }
}

/// The reference after its registry host, as docker splits it: the first
/// component is a host when more follow and it is `localhost` or has a '.',
/// a ':' or an uppercase letter; Docker Hub names without a namespace get
/// `library/`.
fn remote_name(s: &str) -> String {
    let (domain, remainder) = match s.split_once('/') {
        Some((first, rest))
            if first == "localhost" || first.contains(['.', ':']) || first.to_lowercase() != first =>
        {
            (first, rest)
        }
        _ => ("docker.io", s),
    };
    let hub = domain == "docker.io" || domain == "index.docker.io";
    if hub && !remainder.contains('/') { format!("library/{remainder}") } else { remainder.to_string() }
}

/// The digest part of docker's reference grammar: `algorithm:hex`, the
/// algorithm's components (joined by `-_+.`) a letter then letters or digits,
/// at least 32 hex digits.
fn in_reference_grammar(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else { return false };
    let component_ok = |c: &str| {
        c.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) && c.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    algorithm.split(['-', '_', '+', '.']).all(component_ok)
        && hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// go-digest's `Validate` of a digest the grammar accepted: `None` when it
/// is valid. (An algorithm with an uppercase letter never gets here: docker
/// refuses the uppercase name first.)
fn digest_error(digest: &str) -> Option<&'static str> {
    let (algorithm, hex) = digest.split_once(':')?;
    let hex_len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Some("unsupported digest algorithm"),
    };
    if hex.len() != hex_len {
        Some("invalid checksum digest length")
    } else if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Some("invalid checksum digest format")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(reference: &str) -> String {
        repository_and_tag(reference).expect_err(reference)
    }

    #[test]
    fn names_normalised_with_the_default_tag() {
        let ok = |r: &str| repository_and_tag(r).expect(r);
        assert_eq!(ok("mine"), ("docker.io/library/mine".into(), "latest".into()));
        assert_eq!(ok("user/repo:v1"), ("docker.io/user/repo".into(), "v1".into()));
        assert_eq!(ok("localhost:5000/a/b:x"), ("localhost:5000/a/b".into(), "x".into()));
        // An uppercase first component is a registry host, as docker reads it.
        assert_eq!(ok("Foo/bar:x"), ("Foo/bar".into(), "x".into()));
        assert_eq!(ok("foo:Bar"), ("docker.io/library/foo".into(), "Bar".into()));
    }

    #[test]
    fn mistakes_in_docker_s_words() {
        let hex = "16a597f27c2abe13536cc851d191b978048e326f39c645afb93976d9b53ce6bd";
        assert_eq!(err(hex), format!("invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings"));
        assert_eq!(err("foo/Bar"), "invalid reference format: repository name (foo/Bar) must be lowercase");
        assert_eq!(err("localhost/Foo"), "invalid reference format: repository name (Foo) must be lowercase");
        assert_eq!(
            err("Foo@sha256:abc"),
            "invalid reference format: repository name (library/Foo@sha256) must be lowercase"
        );
        for bad in ["bad//x", ":t", "x:", " x", "-x", "a@b@c", "a:b:c", "a@sha256:abc", "x:-t"] {
            assert_eq!(err(bad), "invalid reference format", "{bad}");
        }
        assert_eq!(err(&"a".repeat(300)), "repository name must not be more than 255 characters");
        assert_eq!(err(&format!("a:{}", "t".repeat(129))), "invalid reference format");
        let digest = |algorithm: &str, hex: &str| format!("a@{algorithm}:{hex}");
        assert_eq!(err(&digest("sha256", &"a".repeat(32))), "invalid checksum digest length");
        assert_eq!(err(&digest("sha512", &"a".repeat(64))), "invalid checksum digest length");
        assert_eq!(err(&digest("sha256", &"A".repeat(64))), "invalid checksum digest format");
        assert_eq!(err(&digest("foo", &"a".repeat(32))), "unsupported digest algorithm");
        assert_eq!(
            err(&digest("Foo", &"a".repeat(32))),
            "invalid reference format: repository name (library/a@Foo) must be lowercase"
        );
        for valid in [digest("sha256", &"a".repeat(64)), digest("sha384", &"a".repeat(96))] {
            assert_eq!(err(&valid), DIGEST_REFUSED, "{valid}");
        }
        assert_eq!(err(&format!("a:b@sha256:{}", "a".repeat(64))), DIGEST_REFUSED);
        // The name's own mistake comes first, as docker's grammar sees it.
        assert_eq!(err(&format!("bad//x@sha256:{}", "a".repeat(32))), INVALID_FORMAT);
        assert_eq!(err(&format!("{}@sha256:{}", "a".repeat(300), "a".repeat(32))), TOO_LONG);
        assert_eq!(err(&format!("{}@sha256:abc", "a".repeat(300))), INVALID_FORMAT);
        assert_eq!(err(&format!("{hex}@sha256:{hex}")), DIGEST_REFUSED);
    }
}
