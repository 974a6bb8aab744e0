//! Turns any `Serialize` type (the API's reply types) into a template
//! [`Value`], keeping what serde knows and JSON text loses: structs become
//! [`Struct`]s with their fields in declaration order, maps become
//! [`Value::Map`]s, integers stay integers.

use std::collections::BTreeMap;

use serde::ser::{self, Serialize};

use super::value::{Struct, Value};

/// A value serde could not turn into a template value (a map key that is not
/// a string or number).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot format value: {0}")]
pub struct ToValueError(String);

impl ser::Error for ToValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ToValueError(msg.to_string())
    }
}

/// Converts `v` into a template value.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, ToValueError> {
    v.serialize(ValueSerializer)
}

struct ValueSerializer;

type R = Result<Value, ToValueError>;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ToValueError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantBuilder<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = StructBuilder;
    type SerializeStructVariant = VariantBuilder<StructBuilder>;

    fn serialize_bool(self, v: bool) -> R {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> R {
        Ok(Value::Int(v))
    }
    fn serialize_u8(self, v: u8) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> R {
        Ok(Value::Uint(v))
    }
    fn serialize_f32(self, v: f32) -> R {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> R {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> R {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> R {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        Ok(Value::List(v.iter().map(|b| Value::Int((*b).into())).collect()))
    }
    fn serialize_none(self) -> R {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> R {
        value.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> R {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> R {
        Ok(Value::Str(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> R {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> R {
        Ok(Value::Map(BTreeMap::from([(variant.to_string(), to_value(value)?)])))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, ToValueError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, ToValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder, ToValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<SeqBuilder>, ToValueError> {
        Ok(VariantBuilder { variant, inner: SeqBuilder(Vec::with_capacity(len)) })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, ToValueError> {
        Ok(MapBuilder { map: BTreeMap::new(), key: None })
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<StructBuilder, ToValueError> {
        Ok(StructBuilder(Struct::new(name)))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantBuilder<StructBuilder>, ToValueError> {
        Ok(VariantBuilder { variant, inner: StructBuilder(Struct::new(variant)) })
    }
}

pub struct SeqBuilder(Vec<Value>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = ToValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ToValueError> {
        self.0.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> R {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = ToValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ToValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> R {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = ToValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ToValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> R {
        ser::SerializeSeq::end(self)
    }
}

pub struct MapBuilder {
    map: BTreeMap<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = ToValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ToValueError> {
        let key = match to_value(key)? {
            Value::Str(s) => s,
            Value::Int(n) => n.to_string(),
            Value::Uint(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(ToValueError(format!("map key of type {}", other.type_name()))),
        };
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ToValueError> {
        let key = self.key.take().ok_or_else(|| ToValueError("map value without a key".into()))?;
        self.map.insert(key, to_value(value)?);
        Ok(())
    }
    fn end(self) -> R {
        Ok(Value::Map(self.map))
    }
}

pub struct StructBuilder(Struct);

impl ser::SerializeStruct for StructBuilder {
    type Ok = Value;
    type Error = ToValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), ToValueError> {
        self.0.push(key, to_value(value)?, false);
        Ok(())
    }
    fn end(self) -> R {
        Ok(Value::Struct(self.0))
    }
}

pub struct VariantBuilder<B> {
    variant: &'static str,
    inner: B,
}

impl ser::SerializeTupleVariant for VariantBuilder<SeqBuilder> {
    type Ok = Value;
    type Error = ToValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ToValueError> {
        ser::SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> R {
        let inner = ser::SerializeSeq::end(self.inner)?;
        Ok(Value::Map(BTreeMap::from([(self.variant.to_string(), inner)])))
    }
}

impl ser::SerializeStructVariant for VariantBuilder<StructBuilder> {
    type Ok = Value;
    type Error = ToValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), ToValueError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> R {
        let inner = ser::SerializeStruct::end(self.inner)?;
        Ok(Value::Map(BTreeMap::from([(self.variant.to_string(), inner)])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Info {
        id: String,
        n_cpu: u32,
        labels: BTreeMap<String, String>,
        warnings: Option<Vec<String>>,
        #[serde(skip_serializing_if = "String::is_empty")]
        skipped: String,
    }

    #[test]
    fn keeps_structs_maps_and_order() {
        let info = Info {
            id: "abc".into(),
            n_cpu: 2,
            labels: BTreeMap::from([("z".into(), "1".into()), ("a".into(), "2".into())]),
            warnings: None,
            skipped: String::new(),
        };
        let v = to_value(&info).expect("converts");
        assert_eq!(v.to_json(), r#"{"Id":"abc","NCpu":2,"Labels":{"a":"2","z":"1"},"Warnings":null}"#);
        assert_eq!(v.to_go_string(), "{abc 2 map[a:2 z:1] <nil>}");
        assert_eq!(v.type_name(), "Info");
    }

    #[test]
    fn api_types_convert() {
        let v = to_value(&api::system::SwarmInfo::default()).expect("converts");
        assert_eq!(
            v.to_json(),
            r#"{"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","ControlAvailable":false,"Error":"","RemoteManagers":null}"#
        );
    }
}
