//! The data a `--format` template runs against. Docker's templates run on Go
//! values, and what they print depends on Go's kinds: a struct prints `{a b}`
//! and a missing field is an error, a map prints `map[k:v]` (sorted) and a
//! missing key is `<no value>`, JSON keeps struct field order and sorts map keys.
//! [`Value`] keeps those distinctions (serde_json's `Value` cannot), so berth's
//! output matches docker's. Build one with [`Struct`] or from any `Serialize`
//! type with [`to_value`](crate::format::to_value).

use std::collections::BTreeMap;

use super::gofmt;

/// A Go value as templates see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// A missing map entry (Go's invalid value); prints `<no value>`.
    Missing,
    /// A nil pointer, slice, map or interface; prints `<nil>`.
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// A Go map: keys sorted, a missing key reads as [`Value::Missing`].
    Map(BTreeMap<String, Value>),
    /// A Go struct: fields in order, a missing field is an error.
    Struct(Struct),
}

/// A Go struct value: a type name (for error messages) and ordered fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Struct {
    pub name: String,
    pub fields: Vec<Field>,
    /// A docker formatter context (`formatter.SubContext`, the row of a list
    /// command): its `MarshalJSON` writes a map of all its fields, keys
    /// sorted, through Go's `json.Marshal`, so `<`, `>` and `&` come out as
    /// `\u003c`, `\u003e` and `\u0026` (`"Digest":"\u003cnone\u003e"`).
    pub context: bool,
}

/// One struct field. `omit_empty` mirrors Go's `json:",omitempty"`: the field
/// is readable by templates but left out of `json` output when empty.
/// `method` marks a Go method taking an argument (docker's `{{.Label "k"}}`,
/// a map here): templates can call it, JSON and `%v` leave it out.
/// `json`, when set, is what the struct's JSON holds instead of `value`, for
/// Go values that print one way and marshal another (a `time.Time` prints
/// `2024-05-01 10:00:00 +0000 UTC`, marshals to RFC 3339).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: Value,
    pub omit_empty: bool,
    pub method: bool,
    pub json: Option<Value>,
}

impl Struct {
    /// An empty struct of Go type `name` (e.g. `system.Info`).
    pub fn new(name: impl Into<String>) -> Self {
        Struct { name: name.into(), fields: Vec::new(), context: false }
    }

    /// An empty formatter context of Go type `name` (see [`Struct::context`]).
    pub fn context(name: impl Into<String>) -> Self {
        Struct { context: true, ..Struct::new(name) }
    }

    /// Adds a field (builder form).
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.push(name, value, false);
        self
    }

    /// Adds a field left out of JSON when empty (builder form).
    pub fn field_omitempty(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.push(name, value, true);
        self
    }

    /// Adds a Go method that takes one string argument, as the map it
    /// indexes (builder form): `{{.Label "k"}}` reads `value["k"]`.
    pub fn method(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.push(name, value, false);
        if let Some(f) = self.fields.last_mut() {
            f.method = true;
        }
        self
    }

    /// Adds a field whose JSON is `json` rather than `value` (builder form).
    pub fn field_json(mut self, name: impl Into<String>, value: impl Into<Value>, json: impl Into<Value>) -> Self {
        let name = name.into();
        self.push(name.clone(), value, false);
        if let Some(f) = self.fields.iter_mut().find(|f| f.name == name) {
            f.json = Some(json.into());
        }
        self
    }

    /// Adds or replaces a field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Value>, omit_empty: bool) {
        let name = name.into();
        let value = value.into();
        match self.fields.iter_mut().find(|f| f.name == name) {
            Some(f) => {
                f.value = value;
                f.omit_empty = omit_empty;
                f.json = None;
            }
            None => self.fields.push(Field { name, value, omit_empty, method: false, json: None }),
        }
    }

    /// Appends the fields of `other`, like a Go embedded struct.
    pub fn embed(mut self, other: Struct) -> Self {
        for f in other.fields {
            let (method, json) = (f.method, f.json);
            self.push(f.name.clone(), f.value, f.omit_empty);
            if let Some(mine) = self.fields.iter_mut().find(|m| m.name == f.name) {
                mine.method = method;
                mine.json = json;
            }
        }
        self
    }

    /// A field by name: exact, else ignoring ASCII case (so `.APIVersion`
    /// finds the JSON key `ApiVersion` and `.ID` finds `id`, as Go field
    /// names and their JSON names differ only in case).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .or_else(|| self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)))
            .map(|f| &f.value)
    }
}

impl From<Struct> for Value {
    fn from(s: Struct) -> Self {
        Value::Struct(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Str(s.clone())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Int(n.into())
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Uint(n)
    }
}

impl From<usize> for Value {
    fn from(n: usize) -> Self {
        Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Float(n)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<BTreeMap<String, T>> for Value {
    fn from(m: BTreeMap<String, T>) -> Self {
        Value::Map(m.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

/// JSON objects become maps (their keys sorted, as Go's JSON of a map is).
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Uint(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(0.0))
                }
            }
            serde_json::Value::String(s) => Value::Str(s),
            serde_json::Value::Array(a) => Value::List(a.into_iter().map(Into::into).collect()),
            serde_json::Value::Object(o) => Value::Map(o.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub fn map<K: Into<String>, V: Into<Value>>(pairs: impl IntoIterator<Item = (K, V)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// Go's name for the value's type, as template errors show it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Missing | Value::Null => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Uint(_) => "uint64".into(),
            Value::Float(_) => "float64".into(),
            Value::Str(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Struct(s) => s.name.clone(),
        }
    }

    /// Go's truth of a value in `if`, `with`, `and`, `or`, `not`: false for
    /// false, 0, "", nil and empty lists and maps; structs are always true.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Missing | Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Uint(n) => *n != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Struct(_) => true,
        }
    }

    /// Go's "empty" for `omitempty` (structs are never empty).
    fn is_empty_for_json(&self) -> bool {
        !matches!(self, Value::Struct(_)) && !self.is_true()
    }

    /// The string inside a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A number as f64 (ints, uints, floats).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::Uint(n) => Some(*n as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// An integer as i64 (ints, and uints that fit).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Uint(n) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// How Go's `fmt.Sprint` (`%v`) prints the value.
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out, false, true);
        out
    }

    /// `%+v`: struct fields are printed with their names.
    pub fn to_go_string_plus(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out, true, true);
        out
    }

    fn write_go(&self, out: &mut String, plus: bool, top: bool) {
        match self {
            Value::Missing if top => out.push_str("<no value>"),
            Value::Missing | Value::Null => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Uint(n) => out.push_str(&n.to_string()),
            Value::Float(f) => out.push_str(&gofmt::format_v(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, plus, false);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out, plus, false);
                }
                out.push(']');
            }
            Value::Struct(s) => {
                out.push('{');
                for (i, f) in s.fields.iter().filter(|f| !f.method).enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    if plus {
                        out.push_str(&f.name);
                        out.push(':');
                    }
                    f.value.write_go(out, plus, false);
                }
                out.push('}');
            }
        }
    }

    /// JSON as Go's encoding/json writes it with HTML escaping off (docker's
    /// `json` template function): struct fields in order, map keys sorted.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out, false);
        out
    }

    /// JSON as Go's `json.Marshal` writes it (HTML escaping on): what docker's
    /// inspector prints for an object it holds only as a Go value (a volume).
    pub fn to_json_marshal(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out, true);
        out
    }

    /// `html`: escape `<`, `>`, `&` as Go's `json.Marshal` does.
    fn write_json(&self, out: &mut String, html: bool) {
        match self {
            Value::Missing | Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Uint(n) => out.push_str(&n.to_string()),
            Value::Float(f) => out.push_str(&gofmt::json_float(*f)),
            Value::Str(s) => write_json_string(out, s, html),
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out, html);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(out, k, html);
                    out.push(':');
                    v.write_json(out, html);
                }
                out.push('}');
            }
            Value::Struct(s) if s.context => {
                let mut fields: Vec<&Field> = s.fields.iter().filter(|f| !f.method).collect();
                fields.sort_by(|a, b| a.name.cmp(&b.name));
                out.push('{');
                for (i, f) in fields.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(out, &f.name, true);
                    out.push(':');
                    f.json.as_ref().unwrap_or(&f.value).write_json(out, true);
                }
                out.push('}');
            }
            Value::Struct(s) => {
                out.push('{');
                let mut first = true;
                for f in s.fields.iter().filter(|f| !(f.method || f.omit_empty && f.value.is_empty_for_json())) {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    write_json_string(out, &f.name, html);
                    out.push(':');
                    f.json.as_ref().unwrap_or(&f.value).write_json(out, html);
                }
                out.push('}');
            }
        }
    }
}

fn write_json_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        Struct::new("T")
            .field("Name", "web")
            .field("Count", 3i64)
            .field("Labels", Value::map([("b", "2"), ("a", "1")]))
            .field("Tags", vec!["x", "y"])
            .field_omitempty("Empty", "")
            .field("Nil", Value::Null)
            .into()
    }

    #[test]
    fn prints_like_go() {
        assert_eq!(sample().to_go_string(), "{web 3 map[a:1 b:2] [x y]  <nil>}");
        assert_eq!(sample().to_go_string_plus(), "{Name:web Count:3 Labels:map[a:1 b:2] Tags:[x y] Empty: Nil:<nil>}");
        assert_eq!(Value::Missing.to_go_string(), "<no value>");
        assert_eq!(Value::Float(2.0).to_go_string(), "2");
    }

    #[test]
    fn json_like_go() {
        assert_eq!(
            sample().to_json(),
            r#"{"Name":"web","Count":3,"Labels":{"a":"1","b":"2"},"Tags":["x","y"],"Nil":null}"#
        );
        assert_eq!(Value::from("<a&b>\u{1}\u{2028}").to_json(), "\"<a&b>\\u0001\\u2028\"");
        // A formatter context: sorted keys, Go's HTML escaping, inside and out.
        let row: Value = Struct::context("*formatter.imageContext")
            .field("Tag", "<none>")
            .field("ID", "0123")
            .field("Labels", Value::map([("a", "x&y")]))
            .into();
        assert_eq!(row.to_json(), r#"{"ID":"0123","Labels":{"a":"x\u0026y"},"Tag":"\u003cnone\u003e"}"#);
        let outer: Value = Struct::new("T").field("Name", "<b>").field("Rows", vec![row]).into();
        assert!(outer.to_json().starts_with(r#"{"Name":"<b>","Rows":[{"ID""#), "{}", outer.to_json());
        assert!(outer.to_json_marshal().starts_with(r#"{"Name":"\u003cb\u003e","Rows":[{"ID""#));
        // A time prints as Go prints it, marshals as RFC 3339.
        let t: Value =
            Struct::new("T").field_json("Created", "2024-05-01 10:00:00 +0000 UTC", "2024-05-01T10:00:00Z").into();
        assert_eq!(t.to_json(), r#"{"Created":"2024-05-01T10:00:00Z"}"#);
        assert_eq!(t.to_go_string(), "{2024-05-01 10:00:00 +0000 UTC}");
    }

    #[test]
    fn truth_and_lookup() {
        assert!(!Value::from("").is_true());
        assert!(Value::Struct(Struct::new("x")).is_true());
        assert!(!Value::map::<&str, &str>([]).is_true());
        let s = Struct::new("V").field("ApiVersion", "1.47");
        assert_eq!(s.get("APIVersion"), Some(&Value::from("1.47")));
        assert_eq!(s.get("Nope"), None);
    }

    #[test]
    fn from_serde_json() {
        let v: Value = serde_json::json!({"b": [1, 2.5, null], "a": true}).into();
        assert_eq!(v.to_json(), r#"{"a":true,"b":[1,2.5,null]}"#);
    }
}
