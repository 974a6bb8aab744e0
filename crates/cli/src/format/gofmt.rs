//! Go's number and string formatting where docker's output depends on it: `%v`,
//! `%g`, `%e` and `%f` of floats (strconv's rules: shortest digits, exponent
//! thresholds, two-digit exponents), encoding/json's float form, and
//! `strconv.Quote`; and Go's printing of a time (`time.Time.String()` and its
//! JSON).

use chrono::{DateTime, Timelike};

/// Decimal digits of `v` (no sign, no leading/trailing zeros) and the decimal
/// point position: `v = 0.d1d2… × 10^dp`. `prec` significant digits, or the
/// shortest round-trip form when `None`. Zero is `("0", 1)`.
fn digits(v: f64, prec: Option<usize>) -> (String, i32) {
    let v = v.abs();
    if v == 0.0 {
        return ("0".to_string(), 1);
    }
    let s = match prec {
        Some(p) => format!("{:.*e}", p.max(1) - 1, v),
        None => format!("{v:e}"),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mant.chars().filter(char::is_ascii_digit).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    (d, exp + 1)
}

fn sign(v: f64, plus: bool) -> &'static str {
    if v.is_sign_negative() && v != 0.0 {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    }
}

fn special(v: f64, plus: bool) -> Option<String> {
    if v.is_nan() {
        Some(if plus { "+NaN" } else { "NaN" }.to_string())
    } else if v.is_infinite() {
        Some(if v < 0.0 { "-Inf" } else { "+Inf" }.to_string())
    } else {
        None
    }
}

/// `%e` from digits: `d.ddde±XX` with `frac` digits after the point.
fn exp_form(d: &str, dp: i32, frac: usize, upper: bool) -> String {
    let mut out = String::new();
    out.push_str(&d[..1]);
    if frac > 0 {
        out.push('.');
        let rest = &d[1..];
        out.push_str(rest);
        for _ in rest.len()..frac {
            out.push('0');
        }
    }
    let exp = if d == "0" { 0 } else { dp - 1 };
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// `%f` from digits with `frac` digits after the point.
fn fixed_form(d: &str, dp: i32, frac: usize) -> String {
    let mut out = String::new();
    if dp <= 0 {
        out.push('0');
    } else {
        for i in 0..dp as usize {
            out.push(d.as_bytes().get(i).map_or('0', |b| *b as char));
        }
    }
    if frac > 0 {
        out.push('.');
        for i in 0..frac as i32 {
            let pos = dp + i;
            let c = if pos < 0 { '0' } else { d.as_bytes().get(pos as usize).map_or('0', |b| *b as char) };
            out.push(c);
        }
    }
    out
}

/// Go's `%g` (`prec` = `None` for the shortest form, as `%v` uses).
pub fn format_g(v: f64, prec: Option<usize>, plus: bool, upper: bool) -> String {
    if let Some(s) = special(v, plus) {
        return s;
    }
    let prec = prec.map(|p| p.max(1));
    let (d, dp) = digits(v, prec);
    let nd = d.len() as i32;
    let mut eprec = match prec {
        Some(p) => p as i32,
        None => 6,
    };
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    let exp = dp - 1;
    let body = if exp < -4 || exp >= eprec {
        exp_form(&d, dp, (nd - 1).max(0) as usize, upper)
    } else {
        fixed_form(&d, dp, (nd - dp).max(0) as usize)
    };
    format!("{}{body}", sign(v, plus))
}

/// Go's `%e` with `prec` digits after the point (6 by default).
pub fn format_e(v: f64, prec: usize, plus: bool, upper: bool) -> String {
    if let Some(s) = special(v, plus) {
        return s;
    }
    let (d, dp) = digits(v, Some(prec + 1));
    format!("{}{}", sign(v, plus), exp_form(&d, dp, prec, upper))
}

/// Go's `%f` with `prec` digits after the point.
pub fn format_f(v: f64, prec: usize, plus: bool) -> String {
    if let Some(s) = special(v, plus) {
        return s;
    }
    let s = format!("{:.*}", prec, v.abs());
    format!("{}{s}", sign(v, plus))
}

/// Go's `%v` of a float64.
pub fn format_v(v: f64) -> String {
    format_g(v, None, false, false)
}

/// How Go's encoding/json writes a float64 (`1`, `0.5`, `1e+21`, `1e-7`).
pub fn json_float(v: f64) -> String {
    if !v.is_finite() {
        return "null".to_string();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{v:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        return match exp.strip_prefix('-') {
            Some(e) => format!("{mant}e-{e}"),
            None => format!("{mant}e+{exp}"),
        };
    }
    format!("{v}")
}

/// Go's `strconv.Quote`: double quotes, Go escapes, non-printables as `\x`/`\u`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `time.Time.String()` of a time the daemon sent as RFC 3339 (a
/// network's `Created`): `2024-05-01 10:00:00.5 +0000 UTC`. Go keeps the
/// offset it parsed, so a UTC time stays UTC whatever the local zone; a time
/// that does not parse is Go's zero time, as a missing one decodes.
pub fn go_time_of(rfc3339: &str) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
        return "0001-01-01 00:00:00 +0000 UTC".to_string();
    };
    let numeric = t.format("%z").to_string();
    let zone = if t.offset().local_minus_utc() == 0 { "UTC".to_string() } else { numeric.clone() };
    format!("{}{} {numeric} {zone}", t.format("%Y-%m-%d %H:%M:%S"), fraction(t.nanosecond()))
}

/// Go's JSON of the same time (RFC 3339, `Z` for UTC), as `{{json .}}`
/// writes it.
pub fn go_time_json(rfc3339: &str) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let zone = if t.offset().local_minus_utc() == 0 { "Z".to_string() } else { t.format("%:z").to_string() };
    format!("{}{}{zone}", t.format("%Y-%m-%dT%H:%M:%S"), fraction(t.nanosecond()))
}

/// Go's `.999999999`: the nanoseconds without trailing zeros, if any.
fn fraction(nanos: u32) -> String {
    match nanos {
        0 => String::new(),
        n => format!(".{n:09}").trim_end_matches('0').to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_v_like_go() {
        for (v, want) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1000000.0, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (0.0, "0"),
        ] {
            assert_eq!(format_v(v), want, "{v}");
        }
    }

    #[test]
    fn precision_g_like_go() {
        for (v, p, want) in [
            (23.5432, 4, "23.54"),
            (1.5, 4, "1.5"),
            (999.9999, 4, "1000"),
            (4.2612, 4, "4.261"),
            (12345.0, 4, "1.234e+04"),
            (12355.0, 4, "1.236e+04"),
            (0.0, 4, "0"),
            (100.0, 3, "100"),
        ] {
            assert_eq!(format_g(v, Some(p), false, false), want, "{v} {p}");
        }
    }

    #[test]
    fn e_and_f() {
        assert_eq!(format_e(1234.5678, 2, false, false), "1.23e+03");
        assert_eq!(format_e(0.0, 6, false, false), "0.000000e+00");
        assert_eq!(format_e(1.0e-10, 1, false, true), "1.0E-10");
        assert_eq!(format_f(1.23456, 2, false), "1.23");
        assert_eq!(format_f(-0.5, 0, false), "-0");
        assert_eq!(format_f(2.0, 3, true), "+2.000");
    }

    #[test]
    fn json_floats() {
        assert_eq!(json_float(1.0), "1");
        assert_eq!(json_float(0.25), "0.25");
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1e-7), "1e-7");
        assert_eq!(json_float(f64::NAN), "null");
    }

    #[test]
    fn quotes() {
        assert_eq!(quote("a\"b\\c\n\t"), r#""a\"b\\c\n\t""#);
        assert_eq!(quote("\u{1}é"), "\"\\x01é\"");
    }

    #[test]
    fn times_print_as_go_prints_them() {
        assert_eq!(go_time_of("2024-05-01T10:00:00.500000000Z"), "2024-05-01 10:00:00.5 +0000 UTC");
        assert_eq!(go_time_of("2024-05-01T10:00:00Z"), "2024-05-01 10:00:00 +0000 UTC");
        assert_eq!(go_time_of("2024-05-01T10:00:00.000000001+02:00"), "2024-05-01 10:00:00.000000001 +0200 +0200");
        assert_eq!(go_time_of(""), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_time_json("2024-05-01T10:00:00.500000000Z"), "2024-05-01T10:00:00.5Z");
        assert_eq!(go_time_json("2024-05-01T10:00:00+02:00"), "2024-05-01T10:00:00+02:00");
    }
}
