//! Device access rules (`linux.resources.devices`): validation, the lines
//! written to a cgroup v1 `devices.allow`/`devices.deny`, and the pure
//! allow/deny decision that the cgroup v2 eBPF device filter (compiled from
//! the same state by `bpf::compile`) makes in the kernel.
//!
//! The decision emulates the cgroup v1 devices controller exactly
//! (security/device_cgroup.c), as runc's eBPF generator does, so a rule list
//! means the same on both versions:
//!
//! * the list is applied to a starting state of "deny everything" (berth
//!   always writes `a` to `devices.deny` before the rules on v1);
//! * a rule of type `a` resets the state to "allow everything" or "deny
//!   everything" and clears all exceptions. The kernel ignores its
//!   major:minor and access (so `{"allow": true, "major": 1}` without a type
//!   allows every device: OCI's default type is `a`);
//! * a `b`/`c` rule that contradicts the default adds an exception (access
//!   bits are merged into an exception for the same type and numbers); one
//!   that agrees with the default removes those access bits from such an
//!   exception;
//! * in "deny" mode an access is allowed when one exception covers all of
//!   it; in "allow" mode it is allowed unless an exception covers any of it.

use std::fmt;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::{Error, Result};

/// Device type of a rule or a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceType {
    /// Every device (`a`).
    All,
    /// Character device (`c`).
    Char,
    /// Block device (`b`).
    Block,
}

impl DeviceType {
    fn letter(self) -> char {
        match self {
            DeviceType::All => 'a',
            DeviceType::Char => 'c',
            DeviceType::Block => 'b',
        }
    }
}

/// A set of `r`, `w`, `m` permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access(u8);

impl Access {
    /// `r`: read.
    pub const READ: Access = Access(1);
    /// `w`: write.
    pub const WRITE: Access = Access(2);
    /// `m`: mknod.
    pub const MKNOD: Access = Access(4);
    /// `rwm`.
    pub const ALL: Access = Access(7);

    /// Parses a composition of `r`, `w` and `m` (repeats allowed, at most
    /// three letters like the kernel). `None` on any other character.
    pub fn parse(s: &str) -> Option<Access> {
        if s.len() > 3 {
            return None;
        }
        s.chars().try_fold(Access(0), |acc, c| {
            let bit = match c {
                'r' => Access::READ,
                'w' => Access::WRITE,
                'm' => Access::MKNOD,
                _ => return None,
            };
            Some(Access(acc.0 | bit.0))
        })
    }

    /// True when no permission is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every permission in `other` is also in `self`.
    pub(crate) fn contains(self, other: Access) -> bool {
        other.0 & !self.0 == 0
    }

    fn intersects(self, other: Access) -> bool {
        self.0 & other.0 != 0
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::MKNOD, 'm'),
        ] {
            if self.contains(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// One validated device rule. `None` major/minor is the `*` wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    /// Allow (true) or deny (false).
    pub allow: bool,
    /// Device type.
    pub typ: DeviceType,
    /// Major number, `None` for any.
    pub major: Option<u32>,
    /// Minor number, `None` for any.
    pub minor: Option<u32>,
    /// Permissions the rule grants or takes away.
    pub access: Access,
}

impl DeviceRule {
    /// Converts one OCI entry. A missing type is `a`; a missing or `-1`
    /// major/minor is `*`; a missing or empty access is `rwm`. Types `u` and
    /// `p` cannot be expressed in a device cgroup and are rejected, as runc
    /// does.
    pub fn from_oci(index: usize, rule: &LinuxDeviceCgroup) -> Result<DeviceRule> {
        let bad = |reason: String| Error::InvalidDeviceRule {
            index,
            rule: rule.to_string(),
            reason,
        };
        let typ = match rule.typ().unwrap_or_default() {
            LinuxDeviceType::A => DeviceType::All,
            LinuxDeviceType::C => DeviceType::Char,
            LinuxDeviceType::B => DeviceType::Block,
            other => {
                return Err(bad(format!(
                    "device type {:?} cannot be used in a device cgroup rule (only a, b, c)",
                    other.as_str()
                )));
            }
        };
        let number = |n: Option<i64>, what: &str| match n {
            None | Some(-1) => Ok(None),
            Some(n) => u32::try_from(n)
                .map(Some)
                .map_err(|_| bad(format!("{what} number {n} is out of range"))),
        };
        let major = number(rule.major(), "major")?;
        let minor = number(rule.minor(), "minor")?;
        let access = match rule.access().as_deref() {
            None | Some("") => Access::ALL,
            Some(a) => Access::parse(a)
                .ok_or_else(|| bad(format!("access {a:?} is not a combination of r, w and m")))?,
        };
        Ok(DeviceRule {
            allow: rule.allow(),
            typ,
            major,
            minor,
            access,
        })
    }

    /// The file a cgroup v1 rule is written to.
    pub(crate) fn v1_file(&self) -> &'static str {
        if self.allow {
            "devices.allow"
        } else {
            "devices.deny"
        }
    }
}

impl fmt::Display for DeviceRule {
    /// The `devices.allow`/`devices.deny` line: `c 1:3 rwm`, `b *:* r`, `a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.typ == DeviceType::All {
            return write!(f, "a");
        }
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        write!(
            f,
            "{} {}:{} {}",
            self.typ.letter(),
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

/// An exception to the default verdict, as kept by the v1 kernel: its
/// verdict is always the opposite of the default, and its type is never
/// [`DeviceType::All`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exception {
    pub(crate) typ: DeviceType,
    pub(crate) major: Option<u32>,
    pub(crate) minor: Option<u32>,
    pub(crate) access: Access,
}

/// A validated rule list and the access decision it produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRules {
    rules: Vec<DeviceRule>,
    default_allow: bool,
    exceptions: Vec<Exception>,
}

impl DeviceRules {
    /// Validates an OCI rule list and computes its effect, starting from
    /// "deny everything".
    pub fn from_oci(rules: &[LinuxDeviceCgroup]) -> Result<DeviceRules> {
        let rules = rules
            .iter()
            .enumerate()
            .map(|(i, r)| DeviceRule::from_oci(i, r))
            .collect::<Result<Vec<_>>>()?;
        Ok(DeviceRules::new(rules))
    }

    /// Computes the effect of already validated rules, starting from "deny
    /// everything".
    pub fn new(rules: Vec<DeviceRule>) -> DeviceRules {
        let mut this = DeviceRules {
            rules: Vec::new(),
            default_allow: false,
            exceptions: Vec::new(),
        };
        for rule in &rules {
            this.apply(rule);
        }
        this.rules = rules;
        this
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[DeviceRule] {
        &self.rules
    }

    /// The verdict for accesses that no exception covers.
    pub(crate) fn default_allow(&self) -> bool {
        self.default_allow
    }

    /// The net effect of the rules as exceptions to [`Self::default_allow`],
    /// in the order the kernel would list them.
    pub(crate) fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// Whether every access to every device is allowed (the kernel's state
    /// without any device restriction).
    pub fn allows_all(&self) -> bool {
        self.default_allow && self.exceptions.is_empty()
    }

    /// Whether an access to device `major:minor` of type `typ` is allowed.
    /// `access` is a combination of `r`, `w`, `m`; anything else is never
    /// allowed.
    pub fn allows(&self, typ: DeviceType, major: u32, minor: u32, access: &str) -> bool {
        let Some(access) = Access::parse(access) else {
            return false;
        };
        let type_matches = |ex: &Exception| match typ {
            DeviceType::Block => ex.typ == DeviceType::Block,
            DeviceType::Char => ex.typ == DeviceType::Char,
            DeviceType::All => true,
        };
        let number_matches = |ex: &Exception| {
            ex.major.is_none_or(|m| m == major) && ex.minor.is_none_or(|m| m == minor)
        };
        if self.default_allow {
            // Denied as soon as an exception covers any requested bit.
            !self
                .exceptions
                .iter()
                .any(|ex| type_matches(ex) && number_matches(ex) && ex.access.intersects(access))
        } else {
            // Allowed only if a single exception covers every requested bit.
            self.exceptions
                .iter()
                .any(|ex| type_matches(ex) && number_matches(ex) && ex.access.contains(access))
        }
    }

    fn apply(&mut self, rule: &DeviceRule) {
        if rule.typ == DeviceType::All {
            self.default_allow = rule.allow;
            self.exceptions.clear();
            return;
        }
        let same =
            |ex: &Exception| ex.typ == rule.typ && ex.major == rule.major && ex.minor == rule.minor;
        if rule.allow == self.default_allow {
            // Restating the default removes those bits from an exception.
            for ex in self.exceptions.iter_mut().filter(|ex| same(ex)) {
                ex.access = Access(ex.access.0 & !rule.access.0);
            }
            self.exceptions.retain(|ex| !ex.access.is_empty());
        } else if let Some(ex) = self.exceptions.iter_mut().find(|ex| same(ex)) {
            ex.access = Access(ex.access.0 | rule.access.0);
        } else {
            self.exceptions.push(Exception {
                typ: rule.typ,
                major: rule.major,
                minor: rule.minor,
                access: rule.access,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn rule(
        allow: bool,
        typ: Option<LinuxDeviceType>,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    fn docker_like() -> Vec<LinuxDeviceCgroup> {
        use LinuxDeviceType::*;
        vec![
            rule(false, None, None, None, "rwm"),
            rule(true, Some(C), Some(1), Some(3), "rwm"), // /dev/null
            rule(true, Some(C), Some(1), Some(5), "rwm"), // /dev/zero
            rule(true, Some(C), Some(136), None, "rwm"),  // /dev/pts/*
            rule(true, Some(C), None, None, "m"),         // mknod any char
            rule(true, Some(B), None, None, "m"),         // mknod any block
            rule(true, Some(C), Some(10), Some(200), "rw"), // /dev/net/tun
        ]
    }

    #[test]
    fn whitelist_decisions() {
        let rules = DeviceRules::from_oci(&docker_like()).unwrap();
        assert!(!rules.allows_all());
        assert!(rules.allows(DeviceType::Char, 1, 3, "rwm"));
        assert!(rules.allows(DeviceType::Char, 1, 3, "r"));
        assert!(rules.allows(DeviceType::Char, 136, 7, "rw"));
        assert!(rules.allows(DeviceType::Char, 10, 200, "rw"));
        // One exception has to cover every bit: rw from tun, m from c *:*,
        // but no single rule has rwm.
        assert!(!rules.allows(DeviceType::Char, 10, 200, "rwm"));
        assert!(rules.allows(DeviceType::Char, 4, 1, "m"));
        assert!(!rules.allows(DeviceType::Char, 4, 1, "r"));
        assert!(rules.allows(DeviceType::Block, 8, 0, "m"));
        assert!(!rules.allows(DeviceType::Block, 8, 0, "r"));
        assert!(!rules.allows(DeviceType::Block, 1, 3, "r"), "type matters");
        assert!(!rules.allows(DeviceType::Char, 1, 3, "x"), "bad access");
    }

    #[test]
    fn later_rules_override_earlier_ones() {
        use LinuxDeviceType::*;
        let rules = DeviceRules::from_oci(&[
            rule(false, Some(A), None, None, "rwm"),
            rule(true, Some(C), Some(1), Some(3), "rwm"),
            rule(false, Some(C), Some(1), Some(3), "w"),
        ])
        .unwrap();
        assert!(rules.allows(DeviceType::Char, 1, 3, "rm"));
        assert!(!rules.allows(DeviceType::Char, 1, 3, "w"));

        // A deny rule removes bits only from an exception with the same
        // numbers: it does not punch a hole into a wildcard exception.
        let rules = DeviceRules::from_oci(&[
            rule(true, Some(C), None, None, "rwm"),
            rule(false, Some(C), Some(1), Some(3), "rwm"),
        ])
        .unwrap();
        assert!(rules.allows(DeviceType::Char, 1, 3, "rwm"));
    }

    #[test]
    fn blacklist_mode() {
        use LinuxDeviceType::*;
        let rules = DeviceRules::from_oci(&[
            rule(true, Some(A), None, None, "rwm"),
            rule(false, Some(B), Some(8), None, "w"),
        ])
        .unwrap();
        assert!(!rules.allows_all());
        assert!(rules.allows(DeviceType::Block, 8, 0, "r"));
        assert!(!rules.allows(DeviceType::Block, 8, 1, "rw"));
        assert!(rules.allows(DeviceType::Block, 9, 0, "rwm"));
        assert!(rules.allows(DeviceType::Char, 8, 0, "w"));

        // Re-allowing removes the exception again.
        let rules = DeviceRules::from_oci(&[
            rule(true, Some(A), None, None, ""),
            rule(false, Some(B), Some(8), None, "w"),
            rule(true, Some(B), Some(8), None, "rwm"),
        ])
        .unwrap();
        assert!(rules.allows_all());
    }

    #[test]
    fn type_a_rules_ignore_numbers_and_access() {
        // No type means "a": the kernel resets to allow-all, whatever the
        // numbers say.
        let rules = DeviceRules::from_oci(&[rule(true, None, Some(1), Some(3), "r")]).unwrap();
        assert!(rules.allows_all());
        assert!(rules.allows(DeviceType::Block, 8, 0, "rwm"));
        let rules = DeviceRules::from_oci(&[]).unwrap();
        assert!(!rules.allows(DeviceType::Char, 1, 3, "r"), "starts denied");
    }

    #[test]
    fn v1_lines() {
        let rules = DeviceRules::from_oci(&docker_like()).unwrap();
        let lines: Vec<String> = rules
            .rules()
            .iter()
            .map(|r| format!("{} {}", r.v1_file(), r))
            .collect();
        assert_eq!(
            lines,
            [
                "devices.deny a",
                "devices.allow c 1:3 rwm",
                "devices.allow c 1:5 rwm",
                "devices.allow c 136:* rwm",
                "devices.allow c *:* m",
                "devices.allow b *:* m",
                "devices.allow c 10:200 rw",
            ]
        );
        let r = DeviceRule::from_oci(
            0,
            &rule(false, Some(LinuxDeviceType::C), Some(-1), Some(2), ""),
        )
        .unwrap();
        assert_eq!(r.to_string(), "c *:2 rwm");
    }

    #[test]
    fn invalid_rules_are_rejected() {
        use LinuxDeviceType::*;
        for bad in [
            rule(true, Some(P), Some(1), Some(1), "rwm"),
            rule(true, Some(U), Some(1), Some(1), "rwm"),
            rule(true, Some(C), Some(-2), Some(1), "rwm"),
            rule(true, Some(C), Some(1 << 40), Some(1), "rwm"),
            rule(true, Some(C), Some(1), Some(1), "rwx"),
            rule(true, Some(C), Some(1), Some(1), "rwmr"),
        ] {
            let err = DeviceRules::from_oci(&[bad]).unwrap_err();
            assert!(
                matches!(err, Error::InvalidDeviceRule { index: 0, .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn access_parsing() {
        assert_eq!(Access::parse("rwm"), Some(Access::ALL));
        assert_eq!(
            Access::parse("mr").map(|a| a.to_string()).as_deref(),
            Some("rm")
        );
        assert_eq!(Access::parse(""), Some(Access::default()));
        assert_eq!(Access::parse("q"), None);
    }
}
