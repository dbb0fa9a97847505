//! `Serialize` and `Deserialize` for the well-known types, in the forms
//! proto3's JSON mapping gives them.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::scalar;
use crate::Message;
use crate::wkt::{
    Any, BoolValue, BytesValue, DoubleValue, Duration, Empty, FieldMask, FloatValue, Int32Value,
    Int64Value, ListValue, NullValue, StringValue, Struct, Timestamp, UInt32Value, UInt64Value,
    Value, value::Kind,
};

/// A type written as a string: `Timestamp`, `Duration`, `FieldMask`.
macro_rules! as_string {
    ($type:ty, $write:ident, $what:literal) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.$write().map_err(S::Error::custom)?)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Text;
                impl Visitor<'_> for Text {
                    type Value = $type;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$type, E> {
                        text.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Text)
            }
        }
    };
}

as_string!(Timestamp, to_rfc3339, "an RFC 3339 time");
as_string!(Duration, to_json_string, "a duration such as \"1.5s\"");
as_string!(
    FieldMask,
    to_json_string,
    "field mask paths joined by commas"
);

/// A wrapper, written as its value.
macro_rules! wrapper {
    ($type:ident, $serialize:expr, $deserialize:expr) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $serialize(&self.value, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($type {
                    value: $deserialize(deserializer)?,
                    ..Default::default()
                })
            }
        }
    };
}

wrapper!(
    DoubleValue,
    |v: &f64, s| scalar::serialize_f64(*v, s),
    scalar::deserialize_f64
);
wrapper!(
    FloatValue,
    |v: &f32, s| scalar::serialize_f32(*v, s),
    scalar::deserialize_f32
);
wrapper!(
    Int64Value,
    |v: &i64, s| scalar::serialize_i64(*v, s),
    scalar::deserialize_i64
);
wrapper!(
    UInt64Value,
    |v: &u64, s| scalar::serialize_u64(*v, s),
    scalar::deserialize_u64
);
wrapper!(
    Int32Value,
    |v: &i32, s: S| s.serialize_i32(*v),
    scalar::deserialize_i32
);
wrapper!(
    UInt32Value,
    |v: &u32, s: S| s.serialize_u32(*v),
    scalar::deserialize_u32
);
wrapper!(
    BoolValue,
    |v: &bool, s: S| s.serialize_bool(*v),
    bool::deserialize
);
wrapper!(
    StringValue,
    |v: &String, s: S| s.serialize_str(v),
    String::deserialize
);
wrapper!(
    BytesValue,
    |v: &bytes::Bytes, s| scalar::serialize_bytes(v, s),
    |d| scalar::deserialize_bytes(d).map(bytes::Bytes::from)
);

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Nothing;
        impl<'de> Visitor<'de> for Nothing {
            type Value = Empty;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an empty object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Empty, A::Error> {
                match map.next_key::<String>()? {
                    None => Ok(Empty::default()),
                    Some(key) => Err(de::Error::custom(format!(
                        "google.protobuf.Empty has no field {key:?}"
                    ))),
                }
            }
        }
        deserializer.deserialize_map(Nothing)
    }
}

impl Serialize for NullValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.kind {
            None => Err(S::Error::custom(
                "a google.protobuf.Value must have one of its kinds set",
            )),
            Some(Kind::NullValue(_)) => serializer.serialize_unit(),
            Some(Kind::NumberValue(number)) if !number.is_finite() => Err(S::Error::custom(
                "a google.protobuf.Value cannot hold NaN or an infinity in JSON",
            )),
            Some(Kind::NumberValue(number)) => serializer.serialize_f64(*number),
            Some(Kind::StringValue(text)) => serializer.serialize_str(text),
            Some(Kind::BoolValue(flag)) => serializer.serialize_bool(*flag),
            Some(Kind::StructValue(object)) => object.serialize(serializer),
            Some(Kind::ListValue(list)) => list.serialize(serializer),
        }
    }
}

impl Serialize for Struct {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for ListValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.values.len()))?;
        for value in &self.values {
            seq.serialize_element(value)?;
        }
        seq.end()
    }
}

/// Any JSON value, as a `Value`.
struct AnyJson;

impl<'de> Visitor<'de> for AnyJson {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(kind(Kind::NullValue(NullValue::default())))
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Value, E> {
        Ok(kind(Kind::BoolValue(flag)))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Value, E> {
        Ok(kind(Kind::NumberValue(number as f64)))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Value, E> {
        Ok(kind(Kind::NumberValue(number as f64)))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Value, E> {
        Ok(kind(Kind::NumberValue(number)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(kind(Kind::StringValue(text.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = seq.next_element::<Value>()? {
            values.push(value);
        }
        Ok(kind(Kind::ListValue(ListValue {
            values,
            ..Default::default()
        })))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            if fields.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(kind(Kind::StructValue(Struct {
            fields,
            ..Default::default()
        })))
    }
}

fn kind(kind: Kind) -> Value {
    Value {
        kind: Some(kind),
        ..Default::default()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyJson)
    }
}

impl<'de> Deserialize<'de> for Struct {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)?.kind {
            Some(Kind::StructValue(object)) => Ok(object),
            _ => Err(de::Error::custom(
                "google.protobuf.Struct must be a JSON object",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for ListValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)?.kind {
            Some(Kind::ListValue(list)) => Ok(list),
            _ => Err(de::Error::custom(
                "google.protobuf.ListValue must be a JSON array",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for NullValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)?.kind {
            Some(Kind::NullValue(null)) => Ok(null),
            _ => Err(de::Error::custom("google.protobuf.NullValue must be null")),
        }
    }
}

/// An `Any` as `{"@type": ..., ...}`, by the [global registry](super::registry),
/// which must know the type it holds (the well-known types and the
/// `google.rpc` types it always does).
impl Serialize for Any {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        super::registry().serialize(self, &super::PrintOptions::default(), serializer)
    }
}

impl<'de> Deserialize<'de> for Any {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::registry().deserialize(&super::ParseOptions::default(), deserializer)
    }
}

/// The full name of `google.protobuf.NullValue`, written as `null`.
pub(crate) const NULL_VALUE: &str = "google.protobuf.NullValue";

/// The well-known types whose JSON form is not an object of their fields
/// (besides `Any`, which the registry writes and reads), each named once:
/// [`Special`] and the typed reading and writing of each.
macro_rules! specials {
    ($($type:ident),* $(,)?) => {
        /// A well-known type whose JSON form is not an object of its fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Special {
            Any,
            $($type,)*
        }

        impl Special {
            /// The special form of the message type `name`, if it has one.
            pub(crate) fn of(name: &str) -> Option<Special> {
                match name.strip_prefix("google.protobuf.")? {
                    "Any" => Some(Special::Any),
                    $(stringify!($type) => Some(Special::$type),)*
                    _ => None,
                }
            }
        }

        /// Writes the encoded message `bytes`, of the `special` type (not
        /// `Any`), in its JSON form.
        pub(crate) fn serialize<S: Serializer>(
            special: Special,
            bytes: &[u8],
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            fn typed<M: Message + Serialize, S: Serializer>(
                bytes: &[u8],
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                M::decode(bytes)
                    .map_err(|err| S::Error::custom(format!("invalid {}: {err}", M::NAME)))?
                    .serialize(serializer)
            }
            match special {
                Special::Any => Err(S::Error::custom("an Any is written by its registry")),
                $(Special::$type => typed::<$type, S>(bytes, serializer),)*
            }
        }

        /// Reads the JSON form of the `special` type (not `Any`): the
        /// message, encoded.
        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            special: Special,
            deserializer: D,
        ) -> Result<Vec<u8>, D::Error> {
            fn typed<'de, M: Message + Deserialize<'de>, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Vec<u8>, D::Error> {
                M::deserialize(deserializer).map(|message| message.encode_to_vec())
            }
            match special {
                Special::Any => Err(de::Error::custom("an Any is read by its registry")),
                $(Special::$type => typed::<$type, D>(deserializer),)*
            }
        }
    };
}

specials!(
    Timestamp,
    Duration,
    FieldMask,
    Struct,
    Value,
    ListValue,
    DoubleValue,
    FloatValue,
    Int64Value,
    UInt64Value,
    Int32Value,
    UInt32Value,
    BoolValue,
    StringValue,
    BytesValue,
);

/// The full name of the type a type URL names: what follows its last
/// `/`, which must be there and be followed by something.
pub(crate) fn type_name(type_url: &str) -> Option<&str> {
    type_url
        .rsplit_once('/')
        .map(|(_, name)| name)
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug>(
        value: T,
        json: &str,
    ) {
        assert_eq!(serde_json::to_string(&value).unwrap(), json);
        assert_eq!(serde_json::from_str::<T>(json).unwrap(), value);
    }

    #[test]
    fn time_types_and_masks_are_strings() {
        round_trip(
            Timestamp {
                seconds: 63_108_020,
                nanos: 21_000_000,
                ..Default::default()
            },
            "\"1972-01-01T10:00:20.021Z\"",
        );
        round_trip(
            Duration {
                seconds: -1,
                nanos: -500_000_000,
                ..Default::default()
            },
            "\"-1.500s\"",
        );
        round_trip(
            FieldMask {
                paths: vec!["a.b_c".into(), "d".into()],
                ..Default::default()
            },
            "\"a.bC,d\"",
        );
        let err = serde_json::to_string(&Timestamp {
            seconds: i64::MAX,
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("0001-01-01T00:00:00Z"), "{err}");
        assert!(serde_json::from_str::<Duration>("\"1.5\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }

    #[test]
    fn wrappers_are_their_values() {
        round_trip(
            Int64Value {
                value: -5,
                ..Default::default()
            },
            "\"-5\"",
        );
        round_trip(
            UInt32Value {
                value: 7,
                ..Default::default()
            },
            "7",
        );
        round_trip(
            DoubleValue {
                value: f64::INFINITY,
                ..Default::default()
            },
            "\"Infinity\"",
        );
        round_trip(
            BytesValue {
                value: bytes::Bytes::from_static(b"hi"),
                ..Default::default()
            },
            "\"aGk=\"",
        );
        round_trip(
            StringValue {
                value: "é".into(),
                ..Default::default()
            },
            "\"é\"",
        );
        round_trip(
            BoolValue {
                value: true,
                ..Default::default()
            },
            "true",
        );
        assert_eq!(
            serde_json::from_str::<Int32Value>("\"12\"").unwrap().value,
            12
        );
        assert!(serde_json::from_str::<Int32Value>("1.5").is_err());
    }

    #[test]
    fn an_any_holds_its_message_s_fields_or_its_special_form() {
        let duration = Duration {
            seconds: 1,
            nanos: 500_000_000,
            ..Default::default()
        };
        round_trip(
            Any::pack(&duration),
            r#"{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1.500s"}"#,
        );
        let info = crate::rpc::ErrorInfo {
            reason: "QUOTA".into(),
            metadata: [("zone".to_owned(), "b".to_owned())].into(),
            ..Default::default()
        };
        round_trip(
            Any::pack(&info),
            r#"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"QUOTA","metadata":{"zone":"b"}}"#,
        );
        round_trip(Any::default(), "{}");
        let unknown = r#"{"@type":"type.googleapis.com/no.Such","x":1}"#;
        let err = serde_json::from_str::<Any>(unknown).unwrap_err();
        assert!(
            err.to_string().contains("no.Such is not in the registry"),
            "{err}"
        );
        let err = serde_json::from_str::<Any>(r#"{"x":1}"#).unwrap_err();
        assert!(err.to_string().contains("must have an @type"), "{err}");
    }

    #[test]
    fn struct_and_value_are_any_json() {
        let json = r#"{"a":[1.5,"x",true,null,{}],"b":{"c":-2.0}}"#;
        let parsed: Struct = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        let list = &parsed.fields["a"];
        let Some(Kind::ListValue(list)) = &list.kind else {
            panic!("{list:?}");
        };
        assert_eq!(list.values.len(), 5);
        assert_eq!(
            list.values[3].kind,
            Some(Kind::NullValue(NullValue::default()))
        );
        round_trip(Empty::default(), "{}");
        assert!(serde_json::from_str::<Empty>(r#"{"x":1}"#).is_err());
        assert!(serde_json::from_str::<Struct>("[1]").is_err());
        assert!(serde_json::from_str::<ListValue>("{}").is_err());
        assert!(serde_json::from_str::<Struct>(r#"{"a":1,"a":2}"#).is_err());
        assert!(serde_json::to_string(&Value::default()).is_err());
        assert!(serde_json::to_string(&kind(Kind::NumberValue(f64::NAN))).is_err());
    }
}
