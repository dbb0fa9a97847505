//! proto3's JSON mapping, through serde (feature `json`): the forms of the
//! scalar values that differ from serde's own (64-bit integers as strings,
//! `NaN` and the infinities as strings, bytes in base64), and the
//! well-known types' forms ([`wkt`](crate::wkt) `Timestamp` as an RFC 3339
//! string, `Duration` as `"1.5s"`, the wrappers as their value, `Struct`
//! and `Value` as any JSON, and so on), as `Serialize` and `Deserialize`
//! impls, so that `serde_json` and every other serde format read and write
//! them.

mod scalar;
mod wkt;
