//! Platforms (`linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`): the host's default,
//! `--platform` parsing, the normalisation Docker (containerd's `platforms`) applies
//! (`x86_64` → amd64, `aarch64` → arm64, `armhf` → arm/v7…), and picking the best
//! manifest for a platform out of an index.
//!
//! Matching: the OS and (normalised) architecture must be equal. Among those, an entry
//! whose variant equals the wanted one wins; then one that only differs by leaving out
//! the architecture's default variant (arm64 means v8, arm means v7, amd64 means v1);
//! then one with an older variant the wanted one can run (arm/v6 on arm/v7, amd64/v2 on
//! amd64/v3), newest first. Ties go to the entry listed first, as Docker does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Descriptor, Error, Index, Result};

/// An OS/architecture/variant triple.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// A normalised platform.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        let (architecture, variant) = normalize_arch(architecture, variant);
        Platform {
            os: normalize_os(os),
            architecture,
            variant,
        }
    }

    /// The platform this build runs on, as Docker's default: `linux/amd64`, or
    /// `linux/arm64/v8` on 64-bit ARM.
    pub fn host() -> Platform {
        let (arch, variant) = host_arch();
        Platform::new(std::env::consts::OS, arch, variant)
    }

    /// Parses a `--platform` value: `os`, `arch`, `os/arch` or `os/arch/variant`
    /// (a lone known OS gets the host architecture; a lone known architecture gets
    /// the host OS). The result is normalised.
    pub fn parse(s: &str) -> Result<Platform> {
        let invalid = |reason: &str| Error::InvalidPlatform {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        for p in &parts {
            if p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
            {
                return Err(invalid(
                    "each part must be non-empty letters, digits, '_', '-' or '.'",
                ));
            }
        }
        match parts[..] {
            [one] => {
                let lower = one.to_ascii_lowercase();
                if KNOWN_OS.contains(&normalize_os(&lower).as_str()) {
                    let mut host = Platform::host();
                    host.os = normalize_os(&lower);
                    Ok(host)
                } else if is_known_arch(&lower) {
                    Ok(Platform::new(std::env::consts::OS, &lower, None))
                } else {
                    Err(invalid("not a known operating system or architecture"))
                }
            }
            [os, arch] => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] => Ok(Platform::new(os, arch, Some(variant))),
            _ => Err(invalid("too many '/'-separated parts")),
        }
    }

    /// The variant, or the one the architecture implies when none is given.
    fn effective_variant(&self) -> Option<&str> {
        self.variant
            .as_deref()
            .or_else(|| default_variant(&self.architecture))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Platform> {
        Platform::parse(s)
    }
}

const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];

const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

fn is_known_arch(arch: &str) -> bool {
    KNOWN_ARCH.contains(&normalize_arch(arch, None).0.as_str())
}

/// Lowercases and maps aliases (`macos` → `darwin`).
pub fn normalize_os(os: &str) -> String {
    let os = os.to_ascii_lowercase();
    match os.as_str() {
        "macos" => "darwin".into(),
        _ => os,
    }
}

/// Maps architecture aliases and spellings of variants to Docker's canonical names:
/// `x86_64`/`x86-64` → amd64 (`v1` dropped: it is the baseline), `i386`/`x86` → 386,
/// `aarch64` → arm64 (`8`, `v8.0` → v8; `9`, `v9.0` → v9), `armhf` → arm/v7,
/// `armel` → arm/v6, arm's bare `5`…`8` → `v5`…`v8`. A missing variant stays missing;
/// matching fills in the architecture's default.
pub fn normalize_arch(arch: &str, variant: Option<&str>) -> (String, Option<String>) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant
        .map(str::to_ascii_lowercase)
        .filter(|v| !v.is_empty());
    let (arch, variant): (&str, Option<String>) = match arch.as_str() {
        "i386" | "x86" | "386" => ("386", None),
        "x86_64" | "x86-64" | "amd64" => ("amd64", variant.filter(|v| v != "v1")),
        "aarch64" | "arm64" => (
            "arm64",
            variant.map(|v| match v.as_str() {
                "8" | "v8.0" => "v8".into(),
                "9" | "9.0" | "v9.0" => "v9".into(),
                _ => v,
            }),
        ),
        "armhf" => ("arm", Some("v7".into())),
        "armel" => ("arm", Some("v6".into())),
        "arm" => (
            "arm",
            variant.map(|v| match v.as_str() {
                "5" | "6" | "7" | "8" => format!("v{v}"),
                _ => v,
            }),
        ),
        other => return (other.to_string(), variant),
    };
    (arch.to_string(), variant)
}

fn default_variant(arch: &str) -> Option<&'static str> {
    match arch {
        "arm64" => Some("v8"),
        "arm" => Some("v7"),
        "amd64" => Some("v1"),
        _ => None,
    }
}

fn host_arch() -> (&'static str, Option<&'static str>) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", None),
        "aarch64" => ("arm64", Some("v8")),
        "x86" => ("386", None),
        "arm" => ("arm", Some("v7")),
        "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
        "powerpc64" => ("ppc64", None),
        "mips64" if cfg!(target_endian = "little") => ("mips64le", None),
        "loongarch64" => ("loong64", None),
        other => (other, None),
    }
}

/// `vN` or `vN.M` as a comparable number; `None` for anything else.
fn variant_level(v: &str) -> Option<(u32, u32)> {
    let rest = v.strip_prefix('v')?;
    let (major, minor) = rest.split_once('.').unwrap_or((rest, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Match class (3 exact, 2 default variant, 1 older variant), then the older
/// variant's level. Higher is better.
type Rank = (u8, (u32, u32));

/// How well `have` serves `want`; `None` when it cannot run there.
fn rank(want: &Platform, have: &Platform) -> Option<Rank> {
    if have.os != want.os || have.architecture != want.architecture {
        return None;
    }
    if have.variant == want.variant {
        return Some((3, (0, 0)));
    }
    let (hv, wv) = (have.effective_variant(), want.effective_variant());
    if hv == wv {
        return Some((2, (0, 0)));
    }
    // An older level of the same architecture runs on a newer CPU.
    let (hl, wl) = (variant_level(hv?)?, variant_level(wv?)?);
    (hl < wl).then_some((1, hl))
}

/// The best descriptor in `manifests` for `wanted` (see the module docs for the
/// order), or an error listing the platforms on offer.
pub fn select_from<'a>(manifests: &'a [Descriptor], wanted: &Platform) -> Result<&'a Descriptor> {
    let wanted = Platform::new(&wanted.os, &wanted.architecture, wanted.variant.as_deref());
    let mut best: Option<(&Descriptor, Rank)> = None;
    for d in manifests {
        let Some(p) = &d.platform else { continue };
        let p = Platform::new(&p.os, &p.architecture, p.variant.as_deref());
        if let Some(r) = rank(&wanted, &p)
            && best.is_none_or(|(_, b)| r > b)
        {
            best = Some((d, r));
        }
    }
    if let Some((d, _)) = best {
        return Ok(d);
    }
    let mut available: Vec<String> = Vec::new();
    for p in manifests.iter().filter_map(|d| d.platform.as_ref()) {
        let s = p.to_string();
        // Attestation manifests carry unknown/unknown: not something to choose.
        if p.os != "unknown" && !available.contains(&s) {
            available.push(s);
        }
    }
    Err(Error::NoMatchingPlatform {
        wanted: wanted.to_string(),
        available: if available.is_empty() {
            "none (no entry names a platform)".into()
        } else {
            available.join(", ")
        },
    })
}

/// The best manifest in `index` for `wanted`.
pub fn select(index: &Index, wanted: &Platform) -> Result<Descriptor> {
    select_from(index.manifests(), wanted).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    #[test]
    fn host_is_docker_default() {
        let h = Platform::host();
        assert_eq!(h.os, "linux");
        match std::env::consts::ARCH {
            "x86_64" => assert_eq!(h.to_string(), "linux/amd64"),
            "aarch64" => assert_eq!(h.to_string(), "linux/arm64/v8"),
            _ => {}
        }
    }

    #[test]
    fn parse_and_normalise() {
        let host_arch = Platform::host();
        for (input, want) in [
            ("linux/amd64", "linux/amd64".to_string()),
            ("linux/x86_64", "linux/amd64".into()),
            ("Linux/AMD64", "linux/amd64".into()),
            ("linux/amd64/v1", "linux/amd64".into()),
            ("linux/amd64/v3", "linux/amd64/v3".into()),
            ("linux/arm64", "linux/arm64".into()),
            ("linux/aarch64", "linux/arm64".into()),
            ("linux/arm64/v8", "linux/arm64/v8".into()),
            ("linux/arm64/8", "linux/arm64/v8".into()),
            ("linux/arm/v7", "linux/arm/v7".into()),
            ("linux/arm/7", "linux/arm/v7".into()),
            ("linux/armhf", "linux/arm/v7".into()),
            ("linux/armel", "linux/arm/v6".into()),
            ("linux/i386", "linux/386".into()),
            ("windows/amd64", "windows/amd64".into()),
            ("macos/arm64", "darwin/arm64".into()),
            ("linux", host_arch.to_string()),
            ("arm64", "linux/arm64".into()),
            ("riscv64", "linux/riscv64".into()),
        ] {
            assert_eq!(Platform::parse(input).unwrap().to_string(), want, "{input}");
        }
        for (bad, why) in [
            ("", "non-empty"),
            ("linux/", "non-empty"),
            ("linux/amd64/v2/x", "too many"),
            ("linux amd64", "letters"),
            ("foo", "not a known"),
        ] {
            let e = Platform::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains("os[/arch[/variant]]"),
                "{bad}: {e}"
            );
            assert!(e.starts_with("invalid platform"), "{e}");
        }
    }

    fn entry(p: &str, n: u8) -> Descriptor {
        let parts: Vec<&str> = p.split('/').collect();
        Descriptor {
            media_type: super::super::OCI_MANIFEST.into(),
            digest: Digest::sha256_of(&[n]),
            size: 1,
            // Raw, as found in a registry's index.
            platform: Some(Platform {
                os: parts[0].into(),
                architecture: parts[1].into(),
                variant: parts.get(2).map(|v| v.to_string()),
            }),
            annotations: Default::default(),
            urls: vec![],
        }
    }

    fn pick(entries: &[&str], wanted: &str) -> Result<String> {
        let list: Vec<Descriptor> = entries
            .iter()
            .enumerate()
            .map(|(i, p)| entry(p, i as u8))
            .collect();
        let d = select_from(&list, &Platform::parse(wanted).unwrap())?;
        let i = list.iter().position(|x| x.digest == d.digest).unwrap();
        Ok(entries[i].to_string())
    }

    #[test]
    fn selection_prefers_exact_then_variantless_then_older() {
        let official = [
            "linux/amd64",
            "linux/arm/v5",
            "linux/arm/v6",
            "linux/arm/v7",
            "linux/arm64/v8",
            "linux/386",
            "linux/ppc64le",
            "unknown/unknown",
        ];
        assert_eq!(pick(&official, "linux/amd64").unwrap(), "linux/amd64");
        assert_eq!(pick(&official, "linux/arm64").unwrap(), "linux/arm64/v8");
        assert_eq!(pick(&official, "linux/arm64/v8").unwrap(), "linux/arm64/v8");
        assert_eq!(pick(&official, "linux/arm/v7").unwrap(), "linux/arm/v7");
        assert_eq!(pick(&official, "linux/arm").unwrap(), "linux/arm/v7");
        assert_eq!(pick(&official, "linux/arm/v6").unwrap(), "linux/arm/v6");
        assert_eq!(pick(&official, "linux/armhf").unwrap(), "linux/arm/v7");

        // Exact variant beats the variant-less entry, which beats nothing.
        assert_eq!(
            pick(&["linux/arm64", "linux/arm64/v8"], "linux/arm64/v8").unwrap(),
            "linux/arm64/v8"
        );
        assert_eq!(
            pick(&["linux/arm64/v8", "linux/arm64"], "linux/arm64").unwrap(),
            "linux/arm64"
        );
        assert_eq!(
            pick(&["linux/arm64"], "linux/arm64/v8").unwrap(),
            "linux/arm64"
        );
        assert_eq!(
            pick(&["linux/aarch64"], "linux/arm64/v8").unwrap(),
            "linux/aarch64"
        );
        assert_eq!(pick(&["linux/arm"], "linux/arm/v7").unwrap(), "linux/arm");
        // Older variants run on newer CPUs; the newest of them wins.
        assert_eq!(
            pick(&["linux/arm/v5", "linux/arm/v6"], "linux/arm/v7").unwrap(),
            "linux/arm/v6"
        );
        assert_eq!(
            pick(&["linux/amd64", "linux/amd64/v2"], "linux/amd64/v3").unwrap(),
            "linux/amd64/v2"
        );
        assert_eq!(
            pick(&["linux/amd64/v3", "linux/amd64"], "linux/amd64").unwrap(),
            "linux/amd64"
        );
        // ...but never newer ones, and never another OS.
        assert!(pick(&["linux/amd64/v3"], "linux/amd64").is_err());
        assert!(pick(&["linux/arm/v7"], "linux/arm/v6").is_err());
        assert!(pick(&["windows/amd64"], "linux/amd64").is_err());
        // Ties go to the first entry.
        assert_eq!(
            pick(&["linux/amd64", "linux/x86_64"], "linux/amd64").unwrap(),
            "linux/amd64"
        );
    }

    #[test]
    fn no_match_lists_what_is_available() {
        let err = pick(
            &[
                "linux/amd64",
                "linux/arm/v7",
                "linux/amd64",
                "unknown/unknown",
            ],
            "linux/s390x",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "no matching manifest for linux/s390x in the manifest list entries; available: linux/amd64, linux/arm/v7; pick one with --platform"
        );
        let err = select_from(&[], &Platform::parse("linux/amd64").unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("none"), "{err}");
    }

    #[test]
    fn select_on_a_real_index() {
        let img = fixture::Image::busybox().unwrap();
        let raw = img.index(&fixture::Reference::default()).unwrap();
        let index = Index::parse(raw).unwrap();
        let d = select(&index, &Platform::host()).unwrap();
        assert_eq!(d.digest.to_string(), img.manifest_digest());
    }
}
