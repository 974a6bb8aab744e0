//! Sizes as Docker reads them (go-units' grammar, one parser for both bases): a
//! decimal number, then an optional unit letter `k m g t p` with an optional `b` or
//! `ib` after it, any case, with or without a space: `512m`, `1.5 GiB`, `100`.
//! [`ram_in_bytes`] counts in powers of 1024 (`--memory`, `--shm-size`);
//! [`from_human_size`] in powers of 1000 (the json-file log driver's `max-size`).

/// go-units' `RAMInBytes`: `1k` = 1024.
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    parse(s, 1024.0)
}

/// go-units' `FromHumanSize`: `1k` = 1000.
pub fn from_human_size(s: &str) -> Result<i64, String> {
    parse(s, 1000.0)
}

fn parse(s: &str, base: f64) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{s}'");
    // The number ends at the last digit, dot or space; a space is not part of it.
    let sep = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ').ok_or_else(invalid)?;
    let (num, sfx) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size = go_parse_float(num)?;
    if size < 0.0 {
        return Err(invalid());
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    if sfx.len() > 3 {
        return Err(format!("invalid suffix: '{sfx}'"));
    }
    let lower = sfx.to_lowercase();
    let bad_suffix = || format!("invalid suffix: '{lower}'");
    let bytes = lower.as_bytes();
    if bytes[0] == b'b' {
        return if bytes.len() > 1 { Err(bad_suffix()) } else { Ok(size as i64) };
    }
    let power = match bytes[0] {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        _ => return Err(bad_suffix()),
    };
    match bytes.len() {
        2 if bytes[1] != b'b' => return Err(bad_suffix()),
        3 if &bytes[1..] != b"ib" => return Err(bad_suffix()),
        _ => {}
    }
    Ok((size * base.powi(power)) as i64)
}

/// Go's `strconv.ParseFloat` for the plain decimal forms sizes use, with its message.
fn go_parse_float(s: &str) -> Result<f64, String> {
    let plain = !s.is_empty()
        && s.trim_start_matches(['-', '+']).chars().all(|c| c.is_ascii_digit() || c == '.')
        && s.matches('.').count() <= 1;
    match s.parse::<f64>() {
        Ok(v) if plain => Ok(v),
        _ => Err(format!("strconv.ParseFloat: parsing \"{s}\": invalid syntax")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_sizes_as_docker_reads_memory_flags() {
        for (s, want) in [
            ("0", 0),
            ("100", 100),
            ("512b", 512),
            ("1k", 1024),
            ("1KB", 1024),
            ("1kib", 1024),
            ("10m", 10 << 20),
            ("1.5g", 3 << 29),
            ("2 GiB", 2 << 30),
            ("1t", 1 << 40),
            ("1p", 1 << 50),
        ] {
            assert_eq!(ram_in_bytes(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn decimal_sizes_as_docker_reads_log_sizes() {
        assert_eq!(from_human_size("10m"), Ok(10_000_000));
        assert_eq!(from_human_size("1k"), Ok(1000));
        assert_eq!(from_human_size("1.5 KB"), Ok(1500));
        assert_eq!(from_human_size("42"), Ok(42));
    }

    #[test]
    fn bad_sizes_get_go_units_messages() {
        assert_eq!(ram_in_bytes("abc"), Err("invalid size: 'abc'".into()));
        assert_eq!(ram_in_bytes(""), Err("invalid size: ''".into()));
        assert_eq!(ram_in_bytes("1x"), Err("invalid suffix: 'x'".into()));
        assert_eq!(ram_in_bytes("1kbb"), Err("invalid suffix: 'kbb'".into()));
        assert_eq!(ram_in_bytes("1kb2"), Err("strconv.ParseFloat: parsing \"1kb2\": invalid syntax".into()));
        assert_eq!(ram_in_bytes("1bb"), Err("invalid suffix: 'bb'".into()));
        assert_eq!(ram_in_bytes("-1"), Err("invalid size: '-1'".into()));
        assert_eq!(from_human_size("ten"), Err("invalid size: 'ten'".into()));
    }
}
