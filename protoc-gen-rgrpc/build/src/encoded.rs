//! Descriptors as bytes: the files of a `CodeGeneratorRequest` or a
//! `FileDescriptorSet` exactly as the parser encoded them, which generated
//! code embeds without their source info. Decoding and encoding them again
//! would lose what the decoder does not know, such as custom options.

use crate::Error;

/// `CodeGeneratorRequest.proto_file`.
pub const REQUEST_FILES: u32 = 15;
/// `FileDescriptorSet.file`.
pub const SET_FILES: u32 = 1;
/// `FileDescriptorProto.source_code_info`.
const SOURCE_CODE_INFO: u32 = 9;

/// One field of a message: its number, and where it is (tag included).
struct Field {
    number: u32,
    whole: std::ops::Range<usize>,
    /// The value of a length-delimited field.
    payload: Option<std::ops::Range<usize>>,
}

/// Reads the fields at the top level of `message`.
fn fields(message: &[u8], what: &str) -> Result<Vec<Field>, Error> {
    let malformed = || Error::Input(format!("{what} is not well-formed protobuf"));
    let mut fields = Vec::new();
    let mut at = 0;
    while at < message.len() {
        let start = at;
        let key = varint(message, &mut at).ok_or_else(malformed)?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed())?;
        let mut payload = None;
        skip(message, &mut at, number, key & 7, &mut payload, 0).ok_or_else(malformed)?;
        fields.push(Field {
            number,
            whole: start..at,
            payload,
        });
    }
    Ok(fields)
}

/// How deep groups may nest, as protobuf's decoders limit recursion.
const MAX_DEPTH: u32 = 100;

/// Moves `at` past a value of wire type `wire`, noting where a
/// length-delimited one is; None when the bytes end too soon or make no
/// sense.
fn skip(
    bytes: &[u8],
    at: &mut usize,
    number: u32,
    wire: u64,
    payload: &mut Option<std::ops::Range<usize>>,
    depth: u32,
) -> Option<()> {
    match wire {
        0 => {
            varint(bytes, at)?;
        }
        1 => *at = at.checked_add(8).filter(|end| *end <= bytes.len())?,
        2 => {
            let len = usize::try_from(varint(bytes, at)?).ok()?;
            let end = at.checked_add(len).filter(|end| *end <= bytes.len())?;
            *payload = Some(*at..end);
            *at = end;
        }
        // A group: fields up to the end-group tag of the same number.
        3 if depth < MAX_DEPTH => loop {
            let key = varint(bytes, at)?;
            let inner = u32::try_from(key >> 3).ok()?;
            if key & 7 == 4 {
                return (inner == number).then_some(());
            }
            skip(bytes, at, inner, key & 7, &mut None, depth + 1)?;
        },
        5 => *at = at.checked_add(4).filter(|end| *end <= bytes.len())?,
        _ => return None,
    }
    Some(())
}

fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Each value of the length-delimited field `number` of `message` (a
/// request or a set), in order.
pub fn files<'a>(message: &'a [u8], number: u32, what: &str) -> Result<Vec<&'a [u8]>, Error> {
    Ok(children(message, what)?
        .into_iter()
        .filter(|(n, _)| *n == number)
        .map(|(_, value)| value)
        .collect())
}

/// The length-delimited fields of `message`: each number and value, in order.
pub fn children<'a>(message: &'a [u8], what: &str) -> Result<Vec<(u32, &'a [u8])>, Error> {
    Ok(fields(message, what)?
        .into_iter()
        .filter_map(|field| Some((field.number, &message[field.payload?])))
        .collect())
}

/// The varint fields of `message`: each number and value (as protobuf
/// reads an `int32` or an enum), in order.
pub fn varint_fields(message: &[u8], what: &str) -> Result<Vec<(u32, i32)>, Error> {
    let mut values = Vec::new();
    for field in fields(message, what)? {
        let mut at = field.whole.start;
        let key = varint(message, &mut at).unwrap_or_default();
        if key & 7 == 0 {
            let value = varint(message, &mut at).unwrap_or_default();
            values.push((field.number, value as i32));
        }
    }
    Ok(values)
}

/// `file`, an encoded `FileDescriptorProto`, without its source info, as
/// `protoc --descriptor_set_out` writes it when not asked for source info.
pub fn without_source_info(file: &[u8]) -> Result<Vec<u8>, Error> {
    let mut kept = Vec::with_capacity(file.len());
    for field in fields(file, "a FileDescriptorProto")? {
        if field.number != SOURCE_CODE_INFO {
            kept.extend_from_slice(&file[field.whole]);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_info_goes_and_the_rest_stays_as_it_was() {
        // name = "a.proto", source_code_info = {}, an unknown group 20
        // holding a varint, package = "p".
        let file = b"\x0a\x07a.proto\x4a\x02\x08\x01\xa3\x01\x08\x05\xa4\x01\x12\x01p";
        assert_eq!(
            without_source_info(file).unwrap(),
            b"\x0a\x07a.proto\xa3\x01\x08\x05\xa4\x01\x12\x01p"
        );
        let set = b"\x0a\x02\x0a\x00\x0a\x01\x12";
        assert_eq!(
            files(set, SET_FILES, "a set").unwrap(),
            [&b"\x0a\x00"[..], b"\x12"]
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        let deep = [b"\x0b".repeat(200), b"\x0c".repeat(200)].concat();
        for bad in [
            &b"\x0a\x05ab"[..],
            b"\x0b\x08\x01",
            b"\x08",
            b"\x0f",
            b"\x0b\x14",
            &deep,
        ] {
            let err = without_source_info(bad).unwrap_err().to_string();
            assert_eq!(err, "a FileDescriptorProto is not well-formed protobuf");
        }
    }
}
