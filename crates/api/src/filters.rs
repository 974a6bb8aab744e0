//! The `filters` query parameter of list, prune and events endpoints: JSON either
//! `{"key": ["v1", "v2"]}` or the map form `{"key": {"v1": true}}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parsed `filters`: each key maps to its values, deduplicated, in order read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    fields: BTreeMap<String, Vec<String>>,
}

/// A `filters` value that could not be parsed or is not allowed here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FiltersError {
    #[error("invalid filters: {0}")]
    Json(String),
    #[error("invalid filter '{0}'")]
    InvalidKey(String),
    #[error("invalid filter '{key}={value}'")]
    InvalidValue { key: String, value: String },
}

impl Filters {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the query value; an empty string means no filters.
    pub fn parse(s: &str) -> Result<Self, FiltersError> {
        if s.trim().is_empty() {
            return Ok(Self::new());
        }
        serde_json::from_str(s).map_err(|e| FiltersError::Json(e.to_string()))
    }

    /// Adds `value` under `key` (no duplicate).
    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let values = self.fields.entry(key.into()).or_default();
        let value = value.into();
        if !values.contains(&value) {
            values.push(value);
        }
    }

    /// Builder form of [`Filters::add`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.add(key, value);
        self
    }

    /// The values given for `key` (empty if none).
    pub fn get(&self, key: &str) -> &[String] {
        self.fields.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `key` was given at all.
    pub fn has(&self, key: &str) -> bool {
        self.fields.get(key).is_some_and(|v| !v.is_empty())
    }

    /// Whether `value` is among the values for `key`.
    pub fn contains(&self, key: &str, value: &str) -> bool {
        self.get(key).iter().any(|v| v == value)
    }

    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.fields.values().all(Vec::is_empty)
    }

    /// The keys given, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter(|(_, v)| !v.is_empty()).map(|(k, _)| k.as_str())
    }

    /// Rejects any key not in `allowed`, with Docker's message.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), FiltersError> {
        match self.keys().find(|k| !allowed.contains(k)) {
            Some(k) => Err(FiltersError::InvalidKey(k.to_string())),
            None => Ok(()),
        }
    }

    /// A boolean filter such as `dangling`: `None` if absent, else every value
    /// must be `true`/`1` or `false`/`0` (the last one wins).
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, FiltersError> {
        let mut out = None;
        for v in self.get(key) {
            out = Some(match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(FiltersError::InvalidValue { key: key.to_string(), value: v.clone() });
                }
            });
        }
        Ok(out)
    }

    /// Whether `labels` satisfy every `key` filter value (`name` or `name=value`);
    /// true when `key` is absent.
    pub fn match_labels(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.get(key).iter().all(|f| match f.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|l| l == v),
            None => labels.contains_key(f.as_str()),
        })
    }

    /// Whether any of `key`'s values (`label!=k` or `label!=k=v`) names one of
    /// `labels`: what a negated label filter leaves out.
    pub fn any_label(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.get(key).iter().any(|f| match f.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|l| l == v),
            None => labels.contains_key(f.as_str()),
        })
    }

    /// The query value in Docker's map form, `{"key":{"v":true}}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}

impl Serialize for Filters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<&str, BTreeMap<&str, bool>> = self
            .fields
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.iter().map(|x| (x.as_str(), true)).collect()))
            .collect();
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Filters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Values {
            List(Vec<String>),
            Map(BTreeMap<String, bool>),
        }
        let raw: Option<BTreeMap<String, Option<Values>>> = Option::deserialize(d)?;
        let mut out = Filters::new();
        for (key, values) in raw.unwrap_or_default() {
            let values = match values {
                None => Vec::new(),
                Some(Values::List(v)) => v,
                Some(Values::Map(m)) => m.into_keys().collect(),
            };
            for v in values {
                out.add(key.clone(), v);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_list_form() {
        let f = Filters::parse(r#"{"label":["a=b","c"],"status":["running"]}"#).expect("valid");
        assert_eq!(f.get("label"), ["a=b", "c"]);
        assert!(f.contains("status", "running"));
        assert!(!f.contains("status", "exited"));
        assert!(f.has("label"));
        assert!(!f.has("name"));
        assert_eq!(f.get("name"), [] as [String; 0]);
    }

    #[test]
    fn parses_map_form() {
        let f = Filters::parse(r#"{"dangling":{"true":true},"reference":{"alpine":true,"busybox:1":true}}"#)
            .expect("valid");
        assert_eq!(f.get_bool("dangling"), Ok(Some(true)));
        assert_eq!(f.get("reference"), ["alpine", "busybox:1"]);
    }

    #[test]
    fn empty_null_and_duplicates() {
        assert!(Filters::parse("").expect("empty").is_empty());
        assert!(Filters::parse("{}").expect("empty object").is_empty());
        assert!(Filters::parse("null").expect("null").is_empty());
        let f = Filters::parse(r#"{"name":null,"id":["x","x"]}"#).expect("valid");
        assert!(!f.has("name"));
        assert_eq!(f.get("id"), ["x"]);
    }

    #[test]
    fn rejects_bad_json() {
        for bad in ["[", r#"["a"]"#, r#"{"a":"b"}"#, r#"{"a":[1]}"#, r#"{"a":{"b":"yes"}}"#] {
            assert!(matches!(Filters::parse(bad), Err(FiltersError::Json(_))), "{bad}");
        }
    }

    #[test]
    fn validate_bool_and_labels() {
        let f = Filters::new().with("label", "app=web").with("label", "tier").with("dangling", "maybe");
        assert_eq!(f.validate(&["label", "dangling"]), Ok(()));
        assert_eq!(f.validate(&["label"]).map_err(|e| e.to_string()), Err("invalid filter 'dangling'".into()));
        assert!(f.get_bool("dangling").is_err());
        assert_eq!(f.get_bool("absent"), Ok(None));
        let mut labels = BTreeMap::new();
        labels.insert("app".to_string(), "web".to_string());
        assert!(!f.match_labels("label", &labels));
        labels.insert("tier".to_string(), String::new());
        assert!(f.match_labels("label", &labels));
        assert!(f.match_labels("absent", &BTreeMap::new()));
    }

    #[test]
    fn round_trips_as_map_form() {
        let f = Filters::new().with("status", "exited").with("status", "created");
        let json = f.to_json();
        assert_eq!(json, r#"{"status":{"created":true,"exited":true}}"#);
        let back = Filters::parse(&json).expect("valid");
        assert!(back.contains("status", "exited") && back.contains("status", "created"));
    }
}
