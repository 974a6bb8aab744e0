//! `HostConfig.SecurityOpt` read as Docker reads it: `no-new-privileges` (bare, or with a
//! boolean after `=` or the deprecated `:`), `seccomp=<builtin|unconfined|profile JSON>`,
//! and the SELinux and AppArmor options, which berth accepts and ignores: it applies
//! neither kind of label, just as Docker on a host without SELinux or AppArmor does.

/// The options that change the container's spec.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SecurityOptions {
    pub no_new_privileges: bool,
    /// The `seccomp=` value, the last one given: `builtin`, `unconfined` or a profile.
    pub seccomp: Option<String>,
}

/// Docker's messages, numbered as its own: 1 for an option without a value, 2 for an
/// unknown key or a bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid --security-opt 1: {0:?}")]
    NoValue(String),
    #[error("invalid --security-opt 2: {0:?}")]
    Invalid(String),
    #[error("--security-opt {0:?}: berth does not support writable cgroups; remove the option")]
    WritableCgroups(String),
}

/// Go's `strconv.ParseBool`, which Docker uses for the option values.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl SecurityOptions {
    pub fn parse(opts: &[String]) -> Result<SecurityOptions, Error> {
        let mut out = SecurityOptions::default();
        for opt in opts {
            match opt.as_str() {
                "no-new-privileges" => {
                    out.no_new_privileges = true;
                    continue;
                }
                // SELinux's `label=disable` in its short form.
                "disable" => continue,
                "writable-cgroups" => return Err(Error::WritableCgroups(opt.clone())),
                _ => {}
            }
            // `=` first: a seccomp profile holds `:` in its JSON.
            let (key, value) = opt
                .split_once('=')
                .or_else(|| opt.split_once(':'))
                .ok_or_else(|| Error::NoValue(opt.clone()))?;
            match key {
                "label" | "apparmor" => {}
                "seccomp" => out.seccomp = Some(value.to_string()),
                "no-new-privileges" => {
                    out.no_new_privileges =
                        parse_bool(value).ok_or_else(|| Error::Invalid(opt.clone()))?;
                }
                "writable-cgroups" => match parse_bool(value) {
                    Some(false) => {}
                    Some(true) => return Err(Error::WritableCgroups(opt.clone())),
                    None => return Err(Error::Invalid(opt.clone())),
                },
                _ => return Err(Error::Invalid(opt.clone())),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&str]) -> Result<SecurityOptions, Error> {
        SecurityOptions::parse(&opts.iter().map(|o| o.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn no_new_privileges_takes_every_spelling() {
        for on in [
            "no-new-privileges",
            "no-new-privileges=true",
            "no-new-privileges:true",
            "no-new-privileges=1",
        ] {
            assert!(parse(&[on]).unwrap().no_new_privileges, "{on}");
        }
        for off in ["no-new-privileges=false", "no-new-privileges:false"] {
            assert!(!parse(&[off]).unwrap().no_new_privileges, "{off}");
        }
        // The last one given wins.
        assert!(
            !parse(&["no-new-privileges", "no-new-privileges=false"])
                .unwrap()
                .no_new_privileges
        );
    }

    #[test]
    fn labels_are_accepted_and_seccomp_is_kept() {
        let o = parse(&[
            "label=type:svirt_t",
            "label:disable",
            "disable",
            "apparmor=unconfined",
            "seccomp={\"a\":1}",
        ])
        .unwrap();
        assert_eq!(o.seccomp.as_deref(), Some("{\"a\":1}"));
        assert_eq!(
            parse(&["seccomp:unconfined"]).unwrap().seccomp.as_deref(),
            Some("unconfined")
        );
    }

    #[test]
    fn unknown_options_get_dockers_messages() {
        assert_eq!(
            parse(&["foo=bar"]).unwrap_err().to_string(),
            r#"invalid --security-opt 2: "foo=bar""#
        );
        assert_eq!(
            parse(&["label"]).unwrap_err().to_string(),
            r#"invalid --security-opt 1: "label""#
        );
        assert_eq!(
            parse(&["no-new-privileges=maybe"]).unwrap_err().to_string(),
            r#"invalid --security-opt 2: "no-new-privileges=maybe""#
        );
        assert!(parse(&["writable-cgroups=false"]).is_ok());
        assert!(matches!(
            parse(&["writable-cgroups"]),
            Err(Error::WritableCgroups(_))
        ));
    }
}
