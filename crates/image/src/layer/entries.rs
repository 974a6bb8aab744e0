//! Small readers of what a tar entry says: header numbers as GNU tar and Go read
//! them (blank fields are 0), uids/gids after a user-namespace remap, PAX times, and
//! which xattr errors mean "this filesystem will not take it". Plus the process umask,
//! which decides when a file can be created with its final mode.

use std::io;

use nix::sys::time::TimeSpec;

/// The process umask, from `/proc/self/status` (reading it with umask(2) would
/// change it for every thread for a moment).
pub(super) fn current_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

/// A header number; a field left entirely blank (NULs or spaces, as some writers do
/// for ids and times they do not know) reads as 0, like GNU tar and Go read it.
pub(super) fn numeric(parsed: io::Result<u64>, raw: &[u8]) -> io::Result<u64> {
    match parsed {
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        other => other,
    }
}

/// uid/gid plus the remap offset, if it fits a Linux id (u32, minus the -1 sentinel).
pub(super) fn id(raw: u64, offset: u32) -> Option<u32> {
    let v = raw.checked_add(offset as u64)?;
    u32::try_from(v).ok().filter(|&v| v != u32::MAX)
}

/// A PAX time: decimal seconds with an optional fraction (`1700000000.5`).
pub(super) fn parse_pax_time(v: &[u8]) -> Option<TimeSpec> {
    let s = std::str::from_utf8(v).ok()?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let negative = secs.starts_with('-');
    let secs: i64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let mut nsec: i64 = digits.parse().ok()?;
    let mut secs = secs;
    if negative && nsec > 0 {
        secs -= 1;
        nsec = 1_000_000_000 - nsec;
    }
    Some(TimeSpec::new(secs, nsec))
}

/// Errors meaning "this filesystem (or security module) will not take this xattr".
pub(super) fn is_refused_xattr(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTSUP | libc::EPERM | libc::EACCES | libc::EINVAL | libc::E2BIG | libc::ERANGE | libc::ENOSPC)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times() {
        assert_eq!(parse_pax_time(b"12"), Some(TimeSpec::new(12, 0)));
        assert_eq!(parse_pax_time(b"12.5"), Some(TimeSpec::new(12, 500_000_000)));
        assert_eq!(parse_pax_time(b"-1.25"), Some(TimeSpec::new(-2, 750_000_000)));
        assert_eq!(parse_pax_time(b"x"), None);
    }
}
