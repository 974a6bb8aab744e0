//! Docker's seccomp profiles turned into one container's OCI `linux.seccomp`: the
//! built-in default (`seccomp_default.json`: Docker's default profile, in Docker's
//! schema) or the profile of `--security-opt seccomp=<JSON>` (the CLI sends the file's
//! contents). Docker's schema adds conditions to the OCI one: a rule may hold only with
//! or without some capabilities (`includes`/`excludes` `caps`), on some architectures
//! (`arches`, and `archMap` for the filter's own), or from some kernel version on
//! (`minKernel`). They are settled here, for the container's capabilities, the host's
//! architecture and the running kernel, so every runtime gets a plain OCI profile.

use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

const DEFAULT_PROFILE: &str = include_str!("seccomp_default.json");

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Docker's wording, which scripts and clients match on.
    #[error("Decoding seccomp profile failed: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("invalid seccomp profile: {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "SCMP_ACT_KILL")]
    Kill,
    #[serde(rename = "SCMP_ACT_KILL_PROCESS")]
    KillProcess,
    #[serde(rename = "SCMP_ACT_KILL_THREAD")]
    KillThread,
    #[serde(rename = "SCMP_ACT_TRAP")]
    Trap,
    #[serde(rename = "SCMP_ACT_ERRNO")]
    Errno,
    #[serde(rename = "SCMP_ACT_TRACE")]
    Trace,
    #[serde(rename = "SCMP_ACT_ALLOW")]
    Allow,
    #[serde(rename = "SCMP_ACT_LOG")]
    Log,
    #[serde(rename = "SCMP_ACT_NOTIFY")]
    Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "SCMP_CMP_NE")]
    NotEqual,
    #[serde(rename = "SCMP_CMP_LT")]
    Less,
    #[serde(rename = "SCMP_CMP_LE")]
    LessOrEqual,
    #[serde(rename = "SCMP_CMP_EQ")]
    Equal,
    #[serde(rename = "SCMP_CMP_GE")]
    GreaterOrEqual,
    #[serde(rename = "SCMP_CMP_GT")]
    Greater,
    /// `(arg & value) == valueTwo`.
    #[serde(rename = "SCMP_CMP_MASKED_EQ")]
    MaskedEqual,
}

/// The architectures the OCI spec names.
const SCMP_ARCHES: &[&str] = &[
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// Go's JSON decoder reads `null` as an empty list; serde would refuse it.
fn null_as_empty<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A kernel version as `minKernel` gives it: `<kernel>.<major>`, later parts ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    pub kernel: u8,
    pub major: u8,
}

impl KernelVersion {
    /// `6.18.0-1-amd64` → 6.18.
    pub fn from_release(release: &str) -> Option<KernelVersion> {
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        Some(KernelVersion {
            kernel: parts.next()?.parse().ok()?,
            major: parts.next()?.parse().ok()?,
        })
    }

    /// The running kernel's.
    pub fn running() -> Option<KernelVersion> {
        static RUNNING: LazyLock<Option<KernelVersion>> = LazyLock::new(|| {
            let uts = nix::sys::utsname::uname().ok()?;
            KernelVersion::from_release(uts.release().to_str()?)
        });
        *RUNNING
    }
}

impl<'de> Deserialize<'de> for KernelVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let s = String::deserialize(d)?;
        let bad = || {
            D::Error::custom(format!(
                "invalid kernel version: {s:?}, expected \"<kernel>.<major>\""
            ))
        };
        let (kernel, major) = s.split_once('.').ok_or_else(bad)?;
        let v = KernelVersion {
            kernel: kernel.parse().map_err(|_| bad())?,
            major: major.parse().map_err(|_| bad())?,
        };
        if v == (KernelVersion {
            kernel: 0,
            major: 0,
        }) {
            return Err(bad());
        }
        Ok(v)
    }
}

/// When a rule applies: every capability present (or, under `excludes`, any), the host
/// among the architectures, the kernel at least this version.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(deserialize_with = "null_as_empty")]
    pub caps: Vec<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub arches: Vec<String>,
    pub min_kernel: Option<KernelVersion>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: Op,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub names: Vec<String>,
    /// The old single-name form.
    #[serde(default)]
    pub name: String,
    pub action: Action,
    pub errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub args: Vec<Arg>,
    pub includes: Option<Condition>,
    pub excludes: Option<Condition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchGroup {
    pub architecture: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub sub_architectures: Vec<String>,
}

/// A profile in Docker's schema (the OCI one, plus `archMap`, `name` and conditions).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: Option<Action>,
    pub default_errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub architectures: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub arch_map: Vec<ArchGroup>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub flags: Vec<String>,
    #[serde(default)]
    pub listener_path: String,
    #[serde(default)]
    pub listener_metadata: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub syscalls: Vec<Rule>,
}

/// What a profile's conditions are judged against.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The container's capabilities, `CAP_SYS_ADMIN` and so on.
    pub caps: &'a [String],
    /// libseccomp's name of the architecture (`amd64`, `arm64`, …), as `arches` use it.
    pub arch: &'a str,
    pub kernel: KernelVersion,
}

/// libseccomp's name of the architecture berthd runs on.
pub fn host_arch() -> &'static str {
    let little = cfg!(target_endian = "little");
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" if little => "ppc64le",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc",
        "mips64" if little => "mipsel64",
        "mips" if little => "mipsel",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The filter's own architecture for a libseccomp name, as `archMap` keys it.
fn scmp_arch(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "amd64" => "SCMP_ARCH_X86_64",
        "x86" => "SCMP_ARCH_X86",
        "x32" => "SCMP_ARCH_X32",
        "arm64" => "SCMP_ARCH_AARCH64",
        "arm" => "SCMP_ARCH_ARM",
        "mips" => "SCMP_ARCH_MIPS",
        "mips64" => "SCMP_ARCH_MIPS64",
        "mipsel" => "SCMP_ARCH_MIPSEL",
        "mipsel64" => "SCMP_ARCH_MIPSEL64",
        "ppc" => "SCMP_ARCH_PPC",
        "ppc64" => "SCMP_ARCH_PPC64",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "s390" => "SCMP_ARCH_S390",
        "s390x" => "SCMP_ARCH_S390X",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "loong64" => "SCMP_ARCH_LOONGARCH64",
        _ => return None,
    })
}

impl Rule {
    /// Whether the rule belongs in the filter of `target`, by Docker's reading: a rule
    /// is left out when `excludes` names the architecture, any capability the container
    /// has, or a kernel the running one reaches; and unless `includes` names the
    /// architecture, every capability and a kernel the running one reaches.
    fn applies(&self, t: &Target) -> bool {
        let has = |c: &String| t.caps.contains(c);
        if let Some(ex) = &self.excludes {
            let kernel_reached = ex.min_kernel.is_some_and(|k| t.kernel >= k);
            if ex.arches.iter().any(|a| a == t.arch) || ex.caps.iter().any(has) || kernel_reached {
                return false;
            }
        }
        if let Some(inc) = &self.includes {
            let arch_ok = inc.arches.is_empty() || inc.arches.iter().any(|a| a == t.arch);
            let kernel_ok = inc.min_kernel.is_none_or(|k| t.kernel >= k);
            if !arch_ok || !inc.caps.iter().all(has) || !kernel_ok {
                return false;
            }
        }
        true
    }
}

impl Profile {
    pub fn parse(json: &str) -> Result<Profile> {
        let p: Profile = serde_json::from_str(json)?;
        let arches = p.architectures.iter().chain(
            p.arch_map
                .iter()
                .flat_map(|g| std::iter::once(&g.architecture).chain(&g.sub_architectures)),
        );
        if let Some(a) = arches
            .into_iter()
            .find(|a| !SCMP_ARCHES.contains(&a.as_str()))
        {
            return Err(Error::Invalid(format!("unknown architecture {a:?}")));
        }
        if !p.architectures.is_empty() && !p.arch_map.is_empty() {
            return Err(Error::Invalid(
                "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'".into(),
            ));
        }
        if p.default_action.is_none() && !p.syscalls.is_empty() {
            return Err(Error::Invalid(
                "the profile has syscall rules but no defaultAction".into(),
            ));
        }
        for r in &p.syscalls {
            if !r.name.is_empty() && !r.names.is_empty() {
                return Err(Error::Invalid(
                    "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'".into(),
                ));
            }
            if r.name.is_empty() && r.names.is_empty() {
                return Err(Error::Invalid("a syscall rule names no syscall".into()));
            }
        }
        Ok(p)
    }

    /// Docker's default profile.
    pub fn builtin() -> &'static Profile {
        static BUILTIN: LazyLock<Profile> = LazyLock::new(|| {
            // The file is part of berthd; the unit tests prove it parses.
            Profile::parse(DEFAULT_PROFILE).expect("the built-in seccomp profile parses")
        });
        &BUILTIN
    }

    /// The OCI `linux.seccomp` for `target`; `None` for a profile with neither a default
    /// action nor rules, which Docker reads as no filter at all.
    pub fn to_oci(&self, target: &Target) -> Option<Value> {
        let default_action = self.default_action?;
        let mut architectures = self.architectures.clone();
        if let Some(own) = scmp_arch(target.arch)
            && let Some(group) = self.arch_map.iter().find(|g| g.architecture == own)
        {
            architectures.push(group.architecture.clone());
            architectures.extend(group.sub_architectures.iter().cloned());
        }
        let syscalls: Vec<Value> = self
            .syscalls
            .iter()
            .filter(|r| r.applies(target))
            .map(|r| {
                let names = if r.names.is_empty() {
                    vec![r.name.clone()]
                } else {
                    r.names.clone()
                };
                let mut rule = json!({"names": names, "action": r.action});
                if let Some(e) = r.errno_ret {
                    rule["errnoRet"] = json!(e);
                }
                if !r.args.is_empty() {
                    rule["args"] = json!(r.args);
                }
                rule
            })
            .collect();
        let mut out = json!({"defaultAction": default_action, "syscalls": syscalls});
        if let Some(e) = self.default_errno_ret {
            out["defaultErrnoRet"] = json!(e);
        }
        if !architectures.is_empty() {
            out["architectures"] = json!(architectures);
        }
        if !self.flags.is_empty() {
            out["flags"] = json!(self.flags);
        }
        if !self.listener_path.is_empty() {
            out["listenerPath"] = json!(self.listener_path);
            out["listenerMetadata"] = json!(self.listener_metadata);
        }
        Some(out)
    }
}

/// The filter of a container with capabilities `caps`, from its `seccomp=` option:
/// none for `unconfined`, and none for a privileged container unless it names a profile
/// (as Docker); Docker's default for `builtin` or no option; else the profile given.
pub fn for_container(
    option: Option<&str>,
    privileged: bool,
    caps: &[String],
) -> Result<Option<Value>> {
    let given;
    let profile = match option {
        Some("unconfined") => return Ok(None),
        None if privileged => return Ok(None),
        None | Some("builtin") => Profile::builtin(),
        Some(json) => {
            given = Profile::parse(json)?;
            &given
        }
    };
    let kernel = KernelVersion::running().ok_or_else(|| {
        Error::Invalid("cannot read the running kernel's version for minKernel".into())
    })?;
    Ok(profile.to_oci(&Target {
        caps,
        arch: host_arch(),
        kernel,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMD64: &str = "amd64";
    const NEW: KernelVersion = KernelVersion {
        kernel: 6,
        major: 18,
    };

    fn caps(names: &[&str]) -> Vec<String> {
        names.iter().map(|c| c.to_string()).collect()
    }

    fn builtin_for(caps: &[String], arch: &str, kernel: KernelVersion) -> Value {
        Profile::builtin()
            .to_oci(&Target { caps, arch, kernel })
            .unwrap()
    }

    /// The rules naming `syscall`, as (action, errno, args).
    fn rules_for(profile: &Value, syscall: &str) -> Vec<Value> {
        profile["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["names"].as_array().unwrap().iter().any(|n| n == syscall))
            .cloned()
            .collect()
    }

    #[test]
    fn the_default_profile_denies_with_eperm_on_the_hosts_architectures() {
        let p = builtin_for(&[], AMD64, NEW);
        assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(p["defaultErrnoRet"], 1);
        assert_eq!(
            p["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
        let arm = builtin_for(&[], "arm64", NEW);
        assert_eq!(
            arm["architectures"],
            json!(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
        );
        for denied in [
            "keyctl",
            "add_key",
            "request_key",
            "init_module",
            "reboot",
            "unshare",
            "mount",
            "io_uring_setup",
        ] {
            assert!(rules_for(&p, denied).is_empty(), "{denied} is allowed");
        }
        for allowed in [
            "read",
            "mkdir",
            "execve",
            "_llseek",
            "rt_sigreturn",
            "socketpair",
        ] {
            assert_eq!(
                rules_for(&p, allowed)[0]["action"],
                "SCMP_ACT_ALLOW",
                "{allowed}"
            );
        }
    }

    #[test]
    fn capabilities_open_their_groups() {
        let none = builtin_for(&[], AMD64, NEW);
        let admin = builtin_for(&caps(&["CAP_SYS_ADMIN"]), AMD64, NEW);
        // clone: only without namespace flags, unless CAP_SYS_ADMIN allows it outright.
        assert_eq!(
            rules_for(&none, "clone"),
            vec![json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 2114060288u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]})]
        );
        assert!(
            rules_for(&admin, "clone")
                .iter()
                .all(|r| r.get("args").is_none())
        );
        // clone3: ENOSYS, so libc falls back to clone, unless CAP_SYS_ADMIN.
        let clone3 = rules_for(&none, "clone3");
        assert_eq!(
            (clone3.len(), &clone3[0]["action"], &clone3[0]["errnoRet"]),
            (1, &json!("SCMP_ACT_ERRNO"), &json!(38))
        );
        assert_eq!(rules_for(&admin, "clone3")[0]["action"], "SCMP_ACT_ALLOW");
        assert_eq!(rules_for(&admin, "unshare").len(), 1);
        for (cap, syscall) in [
            ("CAP_SYS_BOOT", "reboot"),
            ("CAP_SYS_MODULE", "finit_module"),
            ("CAP_SYS_PTRACE", "kcmp"),
            ("CAP_SYS_TIME", "settimeofday"),
            ("CAP_SYSLOG", "syslog"),
            ("CAP_BPF", "bpf"),
            ("CAP_PERFMON", "perf_event_open"),
            ("CAP_SYS_NICE", "mbind"),
            ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
        ] {
            assert!(
                rules_for(&none, syscall).is_empty(),
                "{syscall} without {cap}"
            );
            assert_eq!(
                rules_for(&builtin_for(&caps(&[cap]), AMD64, NEW), syscall).len(),
                1,
                "{syscall} with {cap}"
            );
        }
    }

    #[test]
    fn architectures_and_kernels_select_rules() {
        let p = builtin_for(&[], AMD64, NEW);
        assert_eq!(rules_for(&p, "arch_prctl").len(), 1);
        assert!(rules_for(&p, "set_tls").is_empty());
        let arm = builtin_for(&[], "arm64", NEW);
        assert!(rules_for(&arm, "arch_prctl").is_empty() && rules_for(&arm, "set_tls").len() == 1);
        // s390 takes clone's flags as its second argument.
        let s390 = builtin_for(&[], "s390x", NEW);
        assert_eq!(rules_for(&s390, "clone")[0]["args"][0]["index"], 1);
        // ptrace for everyone only from 4.8, where seccomp can no longer be bypassed by it.
        assert_eq!(rules_for(&p, "ptrace").len(), 1);
        let old = builtin_for(
            &[],
            AMD64,
            KernelVersion {
                kernel: 4,
                major: 4,
            },
        );
        assert!(rules_for(&old, "ptrace").is_empty());
    }

    #[test]
    fn a_custom_profile_is_converted() {
        let p = Profile::parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [
                    {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": null},
                    {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "excludes": {"minKernel": "5.1"}},
                    {"names": ["chown"], "action": "SCMP_ACT_KILL", "includes": {"caps": ["CAP_CHOWN", "CAP_FOWNER"]}}
                ]}"#,
        )
        .unwrap();
        let oci = p
            .to_oci(&Target {
                caps: &caps(&["CAP_CHOWN"]),
                arch: AMD64,
                kernel: NEW,
            })
            .unwrap();
        assert_eq!(oci["architectures"], json!(["SCMP_ARCH_X86_64"]));
        assert_eq!(
            oci["syscalls"],
            json!([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}])
        );
        // No default action and no rules: no filter, as Docker.
        assert!(
            Profile::parse("{}")
                .unwrap()
                .to_oci(&Target {
                    caps: &[],
                    arch: AMD64,
                    kernel: NEW
                })
                .is_none()
        );
    }

    #[test]
    fn bad_profiles_are_refused() {
        for bad in [
            "{not json",
            r#"{"defaultAction": "SCMP_ACT_SOMETIMES"}"#,
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}"#,
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]}"#,
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}"#,
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}"#,
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}]}"#,
            r#"{"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
        ] {
            assert!(Profile::parse(bad).is_err(), "{bad}");
        }
        let e = for_container(Some("{\"defaultAction\": 5}"), false, &[])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("Decoding seccomp profile failed: "), "{e}");
    }

    #[test]
    fn options_choose_the_filter() {
        assert!(
            for_container(Some("unconfined"), false, &[])
                .unwrap()
                .is_none()
        );
        assert!(for_container(None, true, &[]).unwrap().is_none());
        assert!(for_container(None, false, &[]).unwrap().is_some());
        assert!(
            for_container(Some("builtin"), false, &[])
                .unwrap()
                .is_some()
        );
        // A privileged container keeps a profile it names.
        let custom = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}"#;
        assert!(for_container(Some(custom), true, &[]).unwrap().is_some());
    }

    #[test]
    fn the_converted_default_compiles_with_libseccomp() {
        for caps in [caps(&[]), caps(&["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"])] {
            let oci = builtin_for(&caps, host_arch(), NEW);
            let profile = serde_json::from_value(oci).unwrap();
            runtime::seccomp::compile(&profile, None).unwrap();
        }
    }

    #[test]
    fn kernel_releases_parse() {
        assert_eq!(
            KernelVersion::from_release("6.18.0-1-amd64"),
            Some(KernelVersion {
                kernel: 6,
                major: 18
            })
        );
        assert_eq!(
            KernelVersion::from_release("4.8"),
            Some(KernelVersion {
                kernel: 4,
                major: 8
            })
        );
        assert_eq!(KernelVersion::from_release("x"), None);
    }
}
