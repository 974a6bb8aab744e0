//! Named points where a test makes berthd die as a `kill -9` would (`abort`), to prove
//! that the next berthd repairs what it finds: `BERTH_CRASH_AT=start:launched`. Read
//! once; unset in normal use, where a point costs one comparison.

use std::sync::OnceLock;

/// Dies here if `BERTH_CRASH_AT` names this point.
pub fn point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT.get_or_init(|| std::env::var("BERTH_CRASH_AT").ok()).as_deref() == Some(name) {
        tracing::error!("crash point {name}: aborting (BERTH_CRASH_AT)");
        std::process::abort();
    }
}
