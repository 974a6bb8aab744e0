//! Docker's detach-key syntax (`ctrl-p,ctrl-q`, `a,ctrl-@`), shared by the daemon
//! (the `detachKeys` of attach and exec) and the CLI (`--detach-keys`).

/// The default sequence: ctrl-p, ctrl-q.
pub const DEFAULT_KEYS: &[u8] = &[0x10, 0x11];

/// The bytes of `keys`, or the token that is not a key (`ctrl-1` gives `1`).
pub fn parse(keys: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for key in keys.split(',') {
        match key.to_lowercase().strip_prefix("ctrl-") {
            Some(rest) if rest.len() == 1 => {
                let c = rest.as_bytes()[0];
                out.push(match c {
                    b'a'..=b'z' => c - b'a' + 1,
                    b'@' => 0,
                    b'[' => 27,
                    b'\\' => 28,
                    b']' => 29,
                    b'^' => 30,
                    b'_' => 31,
                    _ => return Err(rest.to_string()),
                });
            }
            Some(_) => return Err(key.to_string()),
            None if key.len() == 1 => out.push(key.as_bytes()[0]),
            None => return Err(key.to_string()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_docker() {
        assert_eq!(parse("ctrl-p,ctrl-q").unwrap(), DEFAULT_KEYS);
        assert_eq!(parse("a,ctrl-@,CTRL-[").unwrap(), vec![b'a', 0, 27]);
        assert_eq!(parse("ctrl-1").unwrap_err(), "1");
        assert_eq!(parse("abc").unwrap_err(), "abc");
        assert_eq!(parse("").unwrap_err(), "");
    }
}
