//! Serde helpers for the ways Docker clients bend JSON: `null` where a value is
//! unset, a bare string where a list is expected (`Cmd`, `Entrypoint`), and maps
//! whose values may be `null`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// Reads `null` as `T::default()`; any other value must have `T`'s type.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's "string slice": `null`, a list of strings, or one string.
pub(crate) fn str_slice<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

/// A map (itself possibly `null`) whose `null` values read as `V::default()`.
pub(crate) fn map_null_values<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de> + Default,
{
    let raw: Option<BTreeMap<K, Option<V>>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// `skip_serializing_if` helper for Docker's `omitempty` booleans.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// `skip_serializing_if` helper for Docker's `omitempty` integers.
pub(crate) fn is_zero(n: &i64) -> bool {
    *n == 0
}
