//! `docker images --filter`: dangling, reference (glob), label, before, since. The
//! matching is pure functions over records; [`ImageStore::list`] only resolves the
//! images named by `before`/`since` and applies them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Error, Image, ImageStore, Result};
use crate::reference::Reference;

/// Parsed image filters. Empty means "everything".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// `Some(true)`: only images without tags; `Some(false)`: only tagged ones.
    pub dangling: Option<bool>,
    /// Globs over the familiar name (`busybox*`, `*/app:1.*`); any may match.
    pub reference: Vec<String>,
    /// `key` or `key=value`; all must match.
    pub label: Vec<String>,
    /// An image name or ID: only images created before it.
    pub before: Option<String>,
    /// An image name or ID: only images created after it.
    pub since: Option<String>,
}

impl Filters {
    /// From `key=value` pairs as given to `--filter`. Unknown keys and non-boolean
    /// `dangling` values are refused as Docker refuses them.
    pub fn parse<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Filters> {
        let mut f = Filters::default();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            match k {
                "dangling" => {
                    f.dangling = Some(match v.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(Error::InvalidFilter(format!("dangling={v}"))),
                    })
                }
                "reference" => {
                    // Check the pattern now, so a typo is an error rather than no match.
                    glob_match(v, "")
                        .map_err(|_| Error::InvalidFilter(format!("reference={v}")))?;
                    f.reference.push(v.to_string());
                }
                "label" => f.label.push(v.to_string()),
                "before" => f.before = Some(v.to_string()),
                "since" => f.since = Some(v.to_string()),
                _ => return Err(Error::InvalidFilter(k.to_string())),
            }
        }
        Ok(f)
    }

    /// From the Docker API's `filters` query parameter: `{"key": {"value": true}}` or
    /// the older `{"key": ["value"]}`.
    pub fn from_docker_json(json: &str) -> Result<Filters> {
        let bad = || Error::InvalidFilter(json.to_string());
        let v: Value = serde_json::from_str(json).map_err(|_| bad())?;
        let Value::Object(map) = v else {
            return Err(bad());
        };
        let mut pairs = Vec::new();
        for (k, vals) in map {
            match vals {
                Value::Object(m) => pairs.extend(
                    m.into_iter()
                        .filter(|(_, on)| on != &Value::Bool(false))
                        .map(|(v, _)| (k.clone(), v)),
                ),
                Value::Array(a) => {
                    for v in a {
                        let Value::String(v) = v else {
                            return Err(bad());
                        };
                        pairs.push((k.clone(), v));
                    }
                }
                _ => return Err(bad()),
            }
        }
        Filters::parse(pairs)
    }
}

/// Go's `path.Match`: `*` is any run of non-`/` characters, `?` one non-`/`
/// character, `[a-z]`/`[^…]` a class, `\` escapes. The whole name must match.
/// A malformed pattern is an error whatever the name.
pub fn glob_match(pattern: &str, name: &str) -> std::result::Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    validate(&p)?;
    let s: Vec<char> = name.chars().collect();
    Ok(matches(&p, &s))
}

/// A glob pattern that cannot be parsed (an unclosed `[`, a trailing `\`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

fn validate(p: &[char]) -> std::result::Result<(), BadPattern> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => i += 2,
            '[' => i += class(&p[i..]).ok_or(BadPattern)?.1,
            _ => i += 1,
        }
    }
    if i > p.len() { Err(BadPattern) } else { Ok(()) }
}

/// Parses the class at the start of `p` (`[` … `]`): its ranges, whether negated, and
/// how many chars it spans. `None` if malformed.
#[allow(clippy::type_complexity)]
fn class(p: &[char]) -> Option<((bool, Vec<(char, char)>), usize)> {
    let mut i = 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let one = |i: &mut usize| -> Option<char> {
        match p.get(*i)? {
            '\\' => {
                let c = *p.get(*i + 1)?;
                *i += 2;
                Some(c)
            }
            '-' | ']' => None,
            &c => {
                *i += 1;
                Some(c)
            }
        }
    };
    loop {
        if p.get(i) == Some(&']') && !ranges.is_empty() {
            return Some(((negated, ranges), i + 1));
        }
        let lo = one(&mut i)?;
        let hi = if p.get(i) == Some(&'-') {
            i += 1;
            one(&mut i)?
        } else {
            lo
        };
        ranges.push((lo, hi));
    }
}

fn matches(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=s.len() {
                if matches(rest, &s[i..]) {
                    return true;
                }
                if i < s.len() && s[i] == '/' {
                    break;
                }
            }
            false
        }
        Some('?') => s.first().is_some_and(|&c| c != '/') && matches(&p[1..], &s[1..]),
        Some('[') => {
            let Some(((negated, ranges), len)) = class(p) else {
                return false;
            };
            let Some(&c) = s.first() else { return false };
            let hit = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            hit != negated && matches(&p[len..], &s[1..])
        }
        Some('\\') => p.get(1).is_some_and(|c| s.first() == Some(c)) && matches(&p[2..], &s[1..]),
        Some(c) => s.first() == Some(c) && matches(&p[1..], &s[1..]),
    }
}

/// Docker's `FamiliarMatch`: the pattern against `busybox:latest` (familiar string),
/// then against `busybox` (familiar name).
pub fn reference_matches(pattern: &str, r: &Reference) -> std::result::Result<bool, BadPattern> {
    Ok(glob_match(pattern, &r.familiar())? || glob_match(pattern, &r.familiar_repository())?)
}

/// Every `key` / `key=value` in `filters` is satisfied by `labels`.
pub fn labels_match(labels: &BTreeMap<String, String>, filters: &[String]) -> bool {
    filters.iter().all(|f| match f.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(f),
    })
}

/// Whether `img` passes `f` (given the build times of the `before`/`since` images),
/// and if so the record as listed: with a reference filter, only matching references.
pub(crate) fn select(
    img: &Image,
    f: &Filters,
    before: Option<Option<DateTime<Utc>>>,
    since: Option<Option<DateTime<Utc>>>,
) -> Option<Image> {
    let mut out = img.clone();
    if !f.reference.is_empty() {
        let keep = |r: &Reference| {
            f.reference
                .iter()
                .any(|p| reference_matches(p, r).unwrap_or(false))
        };
        out.repo_tags.retain(keep);
        out.repo_digests.retain(keep);
        if out.repo_tags.is_empty() && out.repo_digests.is_empty() {
            return None;
        }
    }
    if let Some(d) = f.dangling
        && out.is_dangling() != d
    {
        return None;
    }
    if !labels_match(&img.labels, &f.label) {
        return None;
    }
    // `None` (no or bad `created`) sorts first, like Go's zero time.
    let created = img.created_time();
    if before.is_some_and(|b| created >= b) || since.is_some_and(|s| created <= s) {
        return None;
    }
    Some(out)
}

impl ImageStore {
    /// `docker images`: the images passing `filters`, newest build first.
    pub fn list(&self, filters: &Filters) -> Result<Vec<Image>> {
        let st = self.read();
        let time_of = |name: &Option<String>| -> Result<Option<Option<DateTime<Utc>>>> {
            name.as_ref()
                .map(|n| st.resolve(n).map(|id| st.images[&id].created_time()))
                .transpose()
        };
        let (before, since) = (time_of(&filters.before)?, time_of(&filters.since)?);
        let mut out: Vec<Image> = st
            .images
            .values()
            .filter_map(|i| select(i, filters, before, since))
            .collect();
        out.sort_by(|a, b| {
            b.created_time()
                .cmp(&a.created_time())
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{add_image, fixture, r};
    use super::*;

    #[test]
    fn glob_is_go_path_match() {
        for (p, s, want) in [
            ("busybox", "busybox", true),
            ("busy*", "busybox:latest", true),
            ("*", "user/repo", false),
            ("*/*", "user/repo", true),
            ("*/repo:*", "user/repo:1.0", true),
            ("busybox:1.?", "busybox:1.3", true),
            ("busybox:1.?", "busybox:1.36", false),
            ("b[a-u]sybox", "busybox", true),
            ("b[^u]sybox", "busybox", false),
            ("b[^a]sybox", "busybox", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("", "", true),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
        ] {
            assert_eq!(glob_match(p, s), Ok(want), "{p} vs {s}");
        }
        for bad in ["[", "[]", "a\\", "[a-", "[-a]", "x[a"] {
            assert_eq!(glob_match(bad, "x"), Err(BadPattern), "{bad}");
        }
    }

    #[test]
    fn reference_patterns_match_familiar_forms() {
        let tag = r("busybox:1.36");
        assert!(reference_matches("busybox", &tag).unwrap());
        assert!(reference_matches("busybox:1.*", &tag).unwrap());
        assert!(!reference_matches("docker.io/library/busybox", &tag).unwrap());
        let remote = r("localhost:5000/team/app:v1");
        assert!(reference_matches("localhost:5000/*/app", &remote).unwrap());
        assert!(!reference_matches("app", &remote).unwrap());
    }

    #[test]
    fn labels() {
        let l: BTreeMap<String, String> =
            [("a".to_string(), "1".to_string()), ("b".into(), "".into())].into();
        assert!(labels_match(&l, &[]));
        assert!(labels_match(&l, &["a".into(), "b=".into()]));
        assert!(labels_match(&l, &["a=1".into()]));
        assert!(!labels_match(&l, &["a=2".into()]));
        assert!(!labels_match(&l, &["c".into()]));
    }

    #[test]
    fn parse_filters() {
        let f = Filters::parse([
            ("dangling", "true"),
            ("reference", "busy*"),
            ("label", "a=1"),
            ("before", "x"),
            ("since", "y"),
        ])
        .unwrap();
        assert_eq!(f.dangling, Some(true));
        assert_eq!(f.reference, vec!["busy*"]);
        assert!(
            matches!(Filters::parse([("dangling", "maybe")]), Err(Error::InvalidFilter(v)) if v == "dangling=maybe")
        );
        assert!(
            matches!(Filters::parse([("colour", "red")]), Err(Error::InvalidFilter(v)) if v == "colour")
        );
        assert!(Filters::parse([("reference", "[")]).is_err());
        let j = Filters::from_docker_json(r#"{"dangling":{"false":true},"reference":["a","b"]}"#)
            .unwrap();
        assert_eq!(j.dangling, Some(false));
        assert_eq!(j.reference, vec!["a", "b"]);
        assert!(Filters::from_docker_json("[1]").is_err());
    }

    #[test]
    fn list_applies_every_filter() {
        let f = fixture();
        let s = &f.store;
        let old = add_image(s, 1, "2024-01-01T00:00:00Z", &[("tier", "base")]);
        let mid = add_image(s, 2, "2024-02-01T00:00:00Z", &[("tier", "app"), ("x", "")]);
        let new = add_image(s, 3, "2024-03-01T00:00:00Z", &[]);
        s.tag(&r("busybox:1"), &old).unwrap();
        s.tag(&r("busybox:2"), &mid).unwrap();
        s.tag(&r("me/app:1"), &mid).unwrap();
        let ids = |f: Filters| {
            s.list(&f)
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        };

        assert_eq!(
            ids(Filters::default()),
            vec![new.clone(), mid.clone(), old.clone()]
        );
        assert_eq!(
            ids(Filters::parse([("dangling", "true")]).unwrap()),
            vec![new.clone()]
        );
        assert_eq!(
            ids(Filters::parse([("dangling", "false")]).unwrap()),
            vec![mid.clone(), old.clone()]
        );
        assert_eq!(
            ids(Filters::parse([("label", "tier")]).unwrap()),
            vec![mid.clone(), old.clone()]
        );
        assert_eq!(
            ids(Filters::parse([("label", "tier=app"), ("label", "x")]).unwrap()),
            vec![mid.clone()]
        );
        assert_eq!(
            ids(Filters::parse([("before", "busybox:2")]).unwrap()),
            vec![old.clone()]
        );
        assert_eq!(
            ids(Filters::parse([("since", "busybox:1")]).unwrap()),
            vec![new.clone(), mid.clone()]
        );
        assert_eq!(
            ids(Filters::parse([("since", old.hex()), ("before", new.hex())]).unwrap()),
            vec![mid.clone()]
        );
        assert!(matches!(
            s.list(&Filters::parse([("before", "nope")]).unwrap()),
            Err(Error::NotFound(_))
        ));

        // A reference filter narrows the tags shown, as Docker does.
        let listed = s
            .list(&Filters::parse([("reference", "busybox")]).unwrap())
            .unwrap();
        assert_eq!(
            listed.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
            vec![mid.clone(), old]
        );
        assert_eq!(listed[0].familiar_tags(), vec!["busybox:2"]);
        let listed = s
            .list(&Filters::parse([("reference", "*/app:*")]).unwrap())
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].familiar_tags(), vec!["me/app:1"]);
    }

    #[test]
    fn a_thousand_tags_list_from_memory() {
        let f = fixture();
        let s = &f.store;
        let ids: Vec<_> = (0..10)
            .map(|n| add_image(s, n, "2024-01-01T00:00:00Z", &[]))
            .collect();
        for n in 0..1000 {
            s.tag(&r(&format!("repo{}/app:v{n}", n % 7)), &ids[n % ids.len()])
                .unwrap();
        }
        // Listing reads no files: with the records moved away it still answers.
        let (records, moved) = (f.dir.path().join("images"), f.dir.path().join("moved"));
        std::fs::rename(&records, &moved).unwrap();
        let start = std::time::Instant::now();
        let listed = s.list(&Filters::default()).unwrap();
        let elapsed = start.elapsed();
        std::fs::rename(&moved, &records).unwrap();
        assert_eq!(
            listed.iter().map(|i| i.repo_tags.len()).sum::<usize>(),
            1000
        );
        let some = s
            .list(&Filters::parse([("reference", "repo3/*")]).unwrap())
            .unwrap();
        assert_eq!(
            some.iter().map(|i| i.repo_tags.len()).sum::<usize>(),
            (0..1000).filter(|n| n % 7 == 3).count()
        );
        eprintln!("listed 1000 tags in {elapsed:?}");
        // And all of them resolve after a reopen.
        let reopened = ImageStore::open(
            f.dir.path(),
            crate::content::ContentStore::open(f.dir.path()).unwrap(),
        )
        .unwrap();
        assert_eq!(reopened.resolve("repo5/app:v999").unwrap().id, ids[9]);
    }
}
