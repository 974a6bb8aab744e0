//! The five capability sets of the container process. The bounding set is cut first
//! (it needs CAP_SETPCAP, which a later step may drop); the others are set after the
//! switch to the container user, which would otherwise clear them.

use std::collections::HashSet;

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Error, Result};

/// The capabilities this kernel knows: probed once (a prctl per capability), not for
/// each of the five sets.
pub(crate) fn supported() -> &'static CapsHashSet {
    static SUPPORTED: std::sync::OnceLock<CapsHashSet> = std::sync::OnceLock::new();
    SUPPORTED.get_or_init(caps::runtime::thread_all_supported)
}

/// The spec's names as the kernel's capabilities; ones this kernel does not know
/// cannot be granted and are skipped, as runc does.
fn convert(set: &Option<Capabilities>) -> Result<CapsHashSet> {
    let supported = supported();
    let mut out = HashSet::new();
    for c in set.iter().flatten() {
        let name = c.to_string();
        let name = if name.starts_with("CAP_") { name } else { format!("CAP_{name}") };
        let cap: Capability = name
            .parse()
            .map_err(|_| Error::Capabilities(format!("unknown capability {name}")))?;
        out.insert(cap);
    }
    out.retain(|c| supported.contains(c));
    Ok(out)
}

/// Drops every capability outside the spec's bounding set.
pub fn drop_bounding(spec: Option<&LinuxCapabilities>) -> Result<()> {
    let keep = match spec {
        Some(c) => convert(c.bounding())?,
        None => HashSet::new(),
    };
    for &cap in supported() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| Error::Capabilities(format!("drop {cap} from bounding set: {e}")))?;
        }
    }
    Ok(())
}

/// Sets effective, permitted, inheritable, then raises the ambient ones.
pub fn apply(spec: Option<&LinuxCapabilities>) -> Result<()> {
    let (eff, perm, inh, amb) = match spec {
        Some(c) => (convert(c.effective())?, convert(c.permitted())?, convert(c.inheritable())?, convert(c.ambient())?),
        None => Default::default(),
    };
    let set = |which: CapSet, value: &CapsHashSet| {
        caps::set(None, which, value).map_err(|e| Error::Capabilities(format!("set {which:?}: {e}")))
    };
    // Shrinking: effective first (it must stay within the current permitted set),
    // then inheritable, then permitted, which must still cover the effective set.
    set(CapSet::Effective, &eff)?;
    set(CapSet::Inheritable, &inh)?;
    set(CapSet::Permitted, &perm)?;
    caps::clear(None, CapSet::Ambient).ok();
    for cap in amb {
        // Ambient capabilities must be permitted and inheritable; the kernel refuses
        // the others, and runc ignores that refusal too.
        let _ = caps::raise(None, CapSet::Ambient, cap);
    }
    Ok(())
}

/// Whether any set grants `name` (e.g. "CAP_SYS_PTRACE").
pub fn grants(spec: Option<&LinuxCapabilities>, name: &str) -> bool {
    spec.is_some_and(|c| {
        [c.bounding(), c.effective(), c.permitted(), c.ambient()]
            .iter()
            .any(|s| s.iter().flatten().any(|cap| format!("CAP_{cap}") == name))
    })
}
