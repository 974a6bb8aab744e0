//! Template functions: Go's builtins (`and`, `or`, `not`, `len`, `index`,
//! `slice`, `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`)
//! and docker's (`json`, `split`, `join`, `title`, `lower`, `upper`, `pad`,
//! `truncate`), with Go's argument checks and error texts. In header mode
//! docker's string functions return their argument unchanged, so a table
//! header shows the column name rather than, say, its upper-case form.

use super::super::value::Value;
use super::printf::sprintf;

/// Names callable from templates (`and`/`or` are evaluated lazily by the
/// executor).
const FUNCS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
    "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
];

pub fn is_defined(name: &str) -> bool {
    FUNCS.contains(&name)
}

/// A failed call: already-worded argument errors, or the function's own error
/// (reported as `error calling NAME: …`).
#[derive(Debug, Clone, PartialEq)]
pub enum FuncError {
    Arity(String),
    /// A bad argument: its index among the arguments, and the message.
    Type(usize, String),
    Call(String),
}

type FResult = Result<Value, FuncError>;

fn arity(name: &str, args: &[Value], min: usize, max: Option<usize>) -> Result<(), FuncError> {
    let got = args.len();
    match max {
        Some(max) if got < min || got > max => {
            Err(FuncError::Arity(format!("wrong number of args for {name}: want {min} got {got}")))
        }
        None if got < min => {
            Err(FuncError::Arity(format!("wrong number of args for {name}: want at least {min} got {got}")))
        }
        _ => Ok(()),
    }
}

fn want_str(args: &[Value], i: usize) -> Result<&str, FuncError> {
    match &args[i] {
        Value::Str(s) => Ok(s),
        Value::Missing | Value::Null => Err(FuncError::Type(i, "invalid value; expected string".into())),
        other => Err(FuncError::Type(i, format!("wrong type for value; expected string; got {}", other.type_name()))),
    }
}

fn want_int(args: &[Value], i: usize) -> Result<i64, FuncError> {
    match &args[i] {
        Value::Int(n) => Ok(*n),
        Value::Uint(n) => i64::try_from(*n).map_err(|_| FuncError::Type(i, "integer overflow".into())),
        Value::Missing | Value::Null => Err(FuncError::Type(i, "invalid value; expected int".into())),
        other => Err(FuncError::Type(i, format!("wrong type for value; expected int; got {}", other.type_name()))),
    }
}

/// What Go's `index` yields for a missing map key: the element type's zero
/// value, `""` for a map of strings, else a nil interface.
pub fn zero_of(m: &std::collections::BTreeMap<String, Value>) -> Value {
    if m.values().all(|v| matches!(v, Value::Str(_))) { Value::Str(String::new()) } else { Value::Missing }
}

/// Calls `name` with evaluated arguments (the piped value last).
pub fn call(name: &str, args: Vec<Value>, header: bool) -> FResult {
    if header && matches!(name, "json" | "split" | "join" | "title" | "lower" | "upper" | "truncate") {
        let n = match name {
            "split" | "join" | "truncate" => 2,
            _ => 1,
        };
        arity(name, &args, n, Some(n))?;
        return Ok(Value::Str(want_str(&args, 0)?.to_string()));
    }
    match name {
        "not" => {
            arity(name, &args, 1, Some(1))?;
            Ok(Value::Bool(!args[0].is_true()))
        }
        "len" => {
            arity(name, &args, 1, Some(1))?;
            match &args[0] {
                Value::Str(s) => Ok(Value::from(s.len())),
                Value::List(l) => Ok(Value::from(l.len())),
                Value::Map(m) => Ok(Value::from(m.len())),
                Value::Null => Ok(Value::Int(0)),
                Value::Missing => Err(FuncError::Call("len of nil pointer".into())),
                other => Err(FuncError::Call(format!("len of type {}", other.type_name()))),
            }
        }
        "index" => {
            arity(name, &args, 1, None)?;
            let mut it = args.into_iter();
            let mut item = it.next().unwrap_or_default();
            for idx in it {
                item = index(item, &idx)?;
            }
            Ok(item)
        }
        "slice" => {
            arity(name, &args, 1, Some(4))?;
            slice(&args)
        }
        "print" => Ok(Value::Str(sprint(&args))),
        "println" => {
            let parts: Vec<String> = args.iter().map(print_operand).collect();
            Ok(Value::Str(format!("{}\n", parts.join(" "))))
        }
        "printf" => {
            arity(name, &args, 1, None)?;
            Ok(Value::Str(sprintf(want_str(&args, 0)?, &args[1..])))
        }
        "eq" => {
            arity(name, &args, 1, None)?;
            if args.len() < 2 {
                return Err(FuncError::Call("missing argument for comparison".into()));
            }
            for other in &args[1..] {
                if equal(&args[0], other)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        "ne" => {
            arity(name, &args, 2, Some(2))?;
            Ok(Value::Bool(!equal(&args[0], &args[1])?))
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2, Some(2))?;
            let ord = order(&args[0], &args[1])?;
            Ok(Value::Bool(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            }))
        }
        "json" => {
            arity(name, &args, 1, Some(1))?;
            Ok(Value::Str(args[0].to_json()))
        }
        "split" => {
            arity(name, &args, 2, Some(2))?;
            let (s, sep) = (want_str(&args, 0)?, want_str(&args, 1)?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::Str(c.to_string())).collect()
            } else {
                s.split(sep).map(Value::from).collect()
            };
            Ok(Value::List(parts))
        }
        "join" => {
            arity(name, &args, 2, Some(2))?;
            let sep = want_str(&args, 1)?;
            match &args[0] {
                Value::Missing | Value::Null => Ok(Value::Str(String::new())),
                Value::List(l) => Ok(Value::Str(l.iter().map(Value::to_go_string).collect::<Vec<_>>().join(sep))),
                Value::Map(m) => {
                    let mut vals: Vec<String> = m.values().map(Value::to_go_string).collect();
                    vals.sort();
                    Ok(Value::Str(vals.join(sep)))
                }
                other => Err(FuncError::Call(format!("expected slice, got {}", other.type_name()))),
            }
        }
        "title" => {
            arity(name, &args, 1, Some(1))?;
            Ok(Value::Str(title(want_str(&args, 0)?)))
        }
        "lower" => {
            arity(name, &args, 1, Some(1))?;
            Ok(Value::Str(want_str(&args, 0)?.to_lowercase()))
        }
        "upper" => {
            arity(name, &args, 1, Some(1))?;
            Ok(Value::Str(want_str(&args, 0)?.to_uppercase()))
        }
        "pad" => {
            arity(name, &args, 3, Some(3))?;
            let s = want_str(&args, 0)?;
            let (pre, post) = (want_int(&args, 1)?, want_int(&args, 2)?);
            if s.is_empty() {
                return Ok(Value::Str(String::new()));
            }
            let spaces = |n: i64| " ".repeat(usize::try_from(n).unwrap_or(0));
            Ok(Value::Str(format!("{}{s}{}", spaces(pre), spaces(post))))
        }
        "truncate" => {
            arity(name, &args, 2, Some(2))?;
            let s = want_str(&args, 0)?;
            let n = usize::try_from(want_int(&args, 1)?).unwrap_or(0);
            if s.len() < n {
                return Ok(Value::Str(s.to_string()));
            }
            let mut end = n;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Ok(Value::Str(s[..end].to_string()))
        }
        other => Err(FuncError::Call(format!("function {other:?} not defined"))),
    }
}

fn print_operand(v: &Value) -> String {
    match v {
        Value::Missing => "<nil>".into(),
        v => v.to_go_string(),
    }
}

/// `fmt.Sprint`: a space between operands when neither is a string.
fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = matches!(a, Value::Str(_));
        if i > 0 && !is_str && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&print_operand(a));
    }
    out
}

/// `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_') && (c.is_ascii() || c.is_whitespace());
    }
    out
}

fn index(item: Value, idx: &Value) -> FResult {
    let position = |len: usize| -> Result<usize, FuncError> {
        match idx {
            Value::Int(_) | Value::Uint(_) => {}
            Value::Missing | Value::Null => return Err(FuncError::Call("cannot index slice/array with nil".into())),
            other => {
                return Err(FuncError::Call(format!("cannot index slice/array with type {}", other.type_name())));
            }
        }
        let n = idx.as_i64().unwrap_or(-1);
        usize::try_from(n).ok().filter(|i| *i < len).ok_or_else(|| FuncError::Call(format!("index out of range: {n}")))
    };
    match item {
        Value::List(mut l) => {
            let i = position(l.len())?;
            Ok(l.swap_remove(i))
        }
        Value::Str(s) => {
            let i = position(s.len())?;
            Ok(Value::Int(s.as_bytes()[i].into()))
        }
        Value::Map(mut m) => match idx {
            Value::Str(k) => Ok(m.remove(k).unwrap_or_else(|| zero_of(&m))),
            other => Err(FuncError::Call(format!("value has type {}; should be string", other.type_name()))),
        },
        Value::Missing => Err(FuncError::Call("index of untyped nil".into())),
        Value::Null => Err(FuncError::Call("index of nil pointer".into())),
        other => Err(FuncError::Call(format!("can't index item of type {}", other.type_name()))),
    }
}

fn slice(args: &[Value]) -> FResult {
    let bound = |v: &Value| -> Result<usize, FuncError> {
        v.as_i64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| FuncError::Call(format!("cannot index slice/array with type {}", v.type_name())))
    };
    let idx: Vec<usize> = args[1..].iter().map(bound).collect::<Result<_, _>>()?;
    let len = match &args[0] {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        other => return Err(FuncError::Call(format!("can't slice item of type {}", other.type_name()))),
    };
    let lo = idx.first().copied().unwrap_or(0);
    let hi = idx.get(1).copied().unwrap_or(len);
    if lo > hi || hi > len {
        return Err(FuncError::Call(format!("index out of range: {}", if hi > len { hi } else { lo })));
    }
    match &args[0] {
        Value::Str(s) => {
            if idx.len() == 3 {
                return Err(FuncError::Call("cannot 3-index slice a string".into()));
            }
            s.get(lo..hi).map(Value::from).ok_or_else(|| FuncError::Call("slice splits a character".into()))
        }
        Value::List(l) => Ok(Value::List(l[lo..hi].to_vec())),
        _ => unreachable!("checked above"),
    }
}

/// Go's `eq` for two operands: basic kinds compare by value (integers of
/// either sign and floats with each other), nil equals only nil.
fn equal(a: &Value, b: &Value) -> Result<bool, FuncError> {
    use Value::*;
    Ok(match (a, b) {
        (Missing | Null, Missing | Null) => true,
        (Missing | Null, _) | (_, Missing | Null) => false,
        (Bool(x), Bool(y)) => x == y,
        (Str(x), Str(y)) => x == y,
        (Int(_) | Uint(_) | Float(_), Int(_) | Uint(_) | Float(_)) => order(a, b)?.is_eq(),
        (List(_), List(_)) | (Map(_), Map(_)) | (Struct(_), Struct(_)) => {
            return Err(FuncError::Call(format!("non-comparable type {}: {}", a.to_go_string(), a.type_name())));
        }
        _ => return Err(FuncError::Call("incompatible types for comparison".into())),
    })
}

fn order(a: &Value, b: &Value) -> Result<std::cmp::Ordering, FuncError> {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => Ok(x.cmp(y)),
        (Uint(x), Uint(y)) => Ok(x.cmp(y)),
        (Int(x), Uint(y)) => Ok(i128::from(*x).cmp(&i128::from(*y))),
        (Uint(x), Int(y)) => Ok(i128::from(*x).cmp(&i128::from(*y))),
        (Str(x), Str(y)) => Ok(x.cmp(y)),
        (Int(_) | Uint(_) | Float(_), Int(_) | Uint(_) | Float(_)) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).ok_or_else(|| FuncError::Call("invalid type for comparison".into()))
        }
        (Int(_) | Uint(_) | Float(_) | Str(_), Int(_) | Uint(_) | Float(_) | Str(_)) => {
            Err(FuncError::Call("incompatible types for comparison".into()))
        }
        _ => Err(FuncError::Call("invalid type for comparison".into())),
    }
}
