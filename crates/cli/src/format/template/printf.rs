//! Go's `fmt.Sprintf` for template `printf`: flags `+ - # 0 space`, width and
//! precision (also `*`), verbs `v s q d b o x X c U t e E f F g G %`, and Go's
//! in-band errors (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA …)`, `%!(NOVERB)`).

use super::super::gofmt;
use super::super::value::Value;

#[derive(Default, Clone, Copy)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Formats `args` by `format` as Go's `fmt.Sprintf` does.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '+' => spec.plus = true,
                '-' => spec.minus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        let star = |next_arg: &mut usize| -> Option<usize> {
            let v = args.get(*next_arg).and_then(Value::as_i64);
            *next_arg += 1;
            v.and_then(|n| usize::try_from(n).ok())
        };
        if chars.peek() == Some(&'*') {
            chars.next();
            spec.width = star(&mut next_arg);
        } else {
            spec.width = read_num(&mut chars);
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            if chars.peek() == Some(&'*') {
                chars.next();
                spec.prec = star(&mut next_arg);
            } else {
                spec.prec = Some(read_num(&mut chars).unwrap_or(0));
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        let arg = if *arg == Value::Missing { &Value::Null } else { arg };
        match format_one(verb, &spec, arg) {
            Some(s) => out.push_str(&pad(&s, &spec, is_number(arg))),
            None => out.push_str(&bad_verb(verb, arg)),
        }
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| match a {
                Value::Missing | Value::Null => "<nil>".to_string(),
                a => format!("{}={}", a.type_name(), a.to_go_string()),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn read_num(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    n
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Uint(_) | Value::Float(_))
}

fn bad_verb(verb: char, v: &Value) -> String {
    match v {
        Value::Missing | Value::Null => format!("%!{verb}(<nil>)"),
        v => format!("%!{verb}({}={})", v.type_name(), v.to_go_string()),
    }
}

/// Pads to the width: spaces on the left (right with `-`), or zeros after
/// the sign for numbers with `0`.
fn pad(s: &str, spec: &Spec, numeric: bool) -> String {
    let Some(width) = spec.width else {
        return s.to_string();
    };
    let len = s.chars().count();
    if len >= width {
        return s.to_string();
    }
    let fill = width - len;
    if spec.minus {
        return format!("{s}{}", " ".repeat(fill));
    }
    if spec.zero {
        if numeric && let Some(rest) = s.strip_prefix(['-', '+', ' ']) {
            return format!("{}{}{rest}", &s[..1], "0".repeat(fill));
        }
        return format!("{}{s}", "0".repeat(fill));
    }
    format!("{}{s}", " ".repeat(fill))
}

fn sign_prefix(negative: bool, spec: &Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn integer(verb: char, spec: &Spec, negative: bool, magnitude: u128) -> Option<String> {
    let (digits, prefix) = match verb {
        'd' | 'v' => (magnitude.to_string(), ""),
        'b' => (format!("{magnitude:b}"), "0b"),
        'o' => (format!("{magnitude:o}"), "0"),
        'x' => (format!("{magnitude:x}"), "0x"),
        'X' => (format!("{magnitude:X}"), "0X"),
        'c' => return char::from_u32(u32::try_from(magnitude).ok()?).map(String::from),
        'q' => return char::from_u32(u32::try_from(magnitude).ok()?).map(|c| format!("'{c}'")),
        'U' => return Some(format!("U+{magnitude:04X}")),
        _ => return None,
    };
    let digits = match spec.prec {
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits,
    };
    let prefix = if spec.sharp { prefix } else { "" };
    Some(format!("{}{prefix}{digits}", sign_prefix(negative, spec)))
}

fn float(verb: char, spec: &Spec, f: f64) -> Option<String> {
    let s = match verb {
        'v' | 'g' => gofmt::format_g(f, spec.prec, spec.plus, false),
        'G' => gofmt::format_g(f, spec.prec, spec.plus, true),
        'e' | 'E' => gofmt::format_e(f, spec.prec.unwrap_or(6), spec.plus, verb == 'E'),
        'f' | 'F' => gofmt::format_f(f, spec.prec.unwrap_or(6), spec.plus),
        _ => return None,
    };
    Some(if spec.space && !s.starts_with(['-', '+']) { format!(" {s}") } else { s })
}

fn truncate(s: &str, prec: Option<usize>) -> String {
    match prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

/// One operand; `None` is a bad verb for the operand's type.
fn format_one(verb: char, spec: &Spec, v: &Value) -> Option<String> {
    match v {
        Value::Int(n) => integer(verb, spec, *n < 0, n.unsigned_abs().into()),
        Value::Uint(n) => integer(verb, spec, false, (*n).into()),
        Value::Float(f) => float(verb, spec, *f),
        Value::Bool(b) => matches!(verb, 't' | 'v').then(|| b.to_string()),
        Value::Str(s) => match verb {
            's' | 'v' => Some(truncate(s, spec.prec)),
            'q' => Some(gofmt::quote(&truncate(s, spec.prec))),
            'x' | 'X' => {
                let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
                Some(if verb == 'X' { hex.to_uppercase() } else { hex })
            }
            _ => None,
        },
        Value::Missing | Value::Null => (verb == 'v').then(|| "<nil>".to_string()),
        Value::List(items) => {
            let parts: Option<Vec<String>> = items.iter().map(|i| format_one(verb, spec, i)).collect();
            parts.map(|p| format!("[{}]", p.join(" ")))
        }
        Value::Map(_) | Value::Struct(_) => match verb {
            'v' if spec.plus => Some(v.to_go_string_plus()),
            'v' | 's' => Some(v.to_go_string()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: &[Value]) -> String {
        sprintf(fmt, args)
    }

    #[test]
    fn verbs() {
        assert_eq!(f("%s-%d-%v", &["a".into(), 5i64.into(), true.into()]), "a-5-true");
        assert_eq!(
            f(
                "%5s|%-5s|%05d|%+d|%x|%#x|%X",
                &["ab".into(), "cd".into(), (-42i64).into(), 3i64.into(), 255i64.into(), 255i64.into(), "hi".into()]
            ),
            "   ab|cd   |-0042|+3|ff|0xff|6869"
        );
        assert_eq!(
            f("%.2f %e %g %v", &[1.23456.into(), 1234.5.into(), 0.5.into(), 2.0.into()]),
            "1.23 1.234500e+03 0.5 2"
        );
        assert_eq!(f("%q %c %.3s %%", &["a\"b".into(), 65i64.into(), "abcdef".into()]), "\"a\\\"b\" A abc %");
        assert_eq!(f("%*d|%-*d|", &[4i64.into(), 7i64.into(), 3i64.into(), 1i64.into()]), "   7|1  |");
        assert_eq!(f("%v %s", &[vec!["a", "b"].into(), Value::map([("k", "v")])]), "[a b] map[k:v]");
    }

    #[test]
    fn go_errors_in_band() {
        assert_eq!(f("%d", &["x".into()]), "%!d(string=x)");
        assert_eq!(f("%s %s", &["x".into()]), "x %!s(MISSING)");
        assert_eq!(f("%s", &["x".into(), 1i64.into()]), "x%!(EXTRA int=1)");
        assert_eq!(f("%s", &[Value::Null]), "%!s(<nil>)");
        assert_eq!(f("%v", &[Value::Missing]), "<nil>");
        assert_eq!(f("100%", &[]), "100%!(NOVERB)");
        assert_eq!(f("%z", &[1i64.into()]), "%!z(int=1)");
    }
}
