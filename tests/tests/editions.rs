//! Code generated from editions files (tests/editions/proto/): what each
//! resolved feature does to the Rust types and to the wire.

use rgrpc::Message;
use rgrpc::wire::DecodeErrorKind;
use rgrpc_tests::pb_editions::editions::v2023::{Closed, Fields, Open, fields};
use rgrpc_tests::pb_editions::editions::v2024::{Mode, OpenMode, Settings};

fn with_required() -> Fields {
    Fields {
        required_text: Some("here".into()),
        ..Default::default()
    }
}

#[test]
fn presence_follows_field_presence() {
    // EXPLICIT: a set zero is written; IMPLICIT: zero is not.
    let message = Fields {
        explicit_number: Some(0),
        implicit_number: 0,
        ..with_required()
    };
    let encoded = message.encode_to_vec();
    assert_eq!(&encoded[..2], [0x08, 0x00], "field 1 = 0 is written");
    assert!(!encoded.windows(1).any(|w| w == [0x10]), "field 2 is not");
    assert_eq!(Fields::decode(&encoded), Ok(message));

    // LEGACY_REQUIRED: decoding fails without it.
    let err = Fields::decode(&Fields::default().encode_to_vec()).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::MissingRequired);
    assert!(err.to_string().contains("required_text"), "{err}");
}

#[test]
fn repeated_fields_are_packed_or_expanded_as_the_features_say() {
    let message = Fields {
        packed: vec![1, 2],
        expanded: vec![1, 2],
        ..with_required()
    };
    let encoded = message.encode_to_vec();
    // Field 4 packed: one tag, a length, two values.
    assert!(encoded.windows(4).any(|w| w == [0x22, 0x02, 0x01, 0x02]));
    // Field 5 expanded: a tag per value.
    assert!(encoded.windows(4).any(|w| w == [0x28, 0x01, 0x28, 0x02]));
    assert_eq!(Fields::decode(&encoded), Ok(message));
    // Either form is read either way, as protobuf requires.
    let expanded_as_packed = [0x2a, 0x02, 0x03, 0x04];
    let read = Fields::merge_from(with_required(), &expanded_as_packed);
    assert_eq!(read.expanded, [3, 4]);
}

/// `base` with `bytes` merged in.
trait MergeFrom: Sized {
    fn merge_from(base: Self, bytes: &[u8]) -> Self;
}

impl MergeFrom for Fields {
    fn merge_from(base: Self, bytes: &[u8]) -> Self {
        let mut encoded = base.encode_to_vec();
        encoded.extend_from_slice(bytes);
        Fields::decode(&encoded).unwrap()
    }
}

#[test]
fn delimited_messages_are_groups() {
    let inner = fields::Inner {
        value: Some(7),
        ..Default::default()
    };
    let message = Fields {
        delimited: Some(inner.clone()),
        prefixed: Some(inner),
        ..with_required()
    };
    let encoded = message.encode_to_vec();
    // Field 6: start group (6 << 3 | 3), value, end group (6 << 3 | 4).
    assert!(encoded.windows(4).any(|w| w == [0x33, 0x08, 0x07, 0x34]));
    // Field 7: length-prefixed.
    assert!(encoded.windows(4).any(|w| w == [0x3a, 0x02, 0x08, 0x07]));
    assert_eq!(Fields::decode(&encoded), Ok(message));
}

#[test]
fn closed_enums_keep_undeclared_values_apart() {
    // Open: the number is kept in the field. Closed: in the unknown fields.
    let read = Fields::merge_from(with_required(), &[0x40, 0x05, 0x48, 0x05]);
    assert_eq!(read.open, Some(Open(5)));
    assert_eq!(read.closed, None);
    assert!(!read.unknown_fields.as_bytes().is_empty());
    // Written back, the unknown value is not lost.
    assert!(read.encode_to_vec().windows(2).any(|w| w == [0x48, 0x05]));
    assert_eq!(Closed::ONE.0, 1);
}

#[test]
fn file_features_apply_unless_an_element_overrides_them() {
    // Edition 2024, with IMPLICIT, EXPANDED, CLOSED and DELIMITED for the file.
    let settings = Settings {
        level: 0,
        mode: Some(Mode::FAST),
        explicit_level: Some(0),
        levels: vec![1, 2],
        packed_levels: vec![1, 2],
        delimited: Some(Box::default()),
        prefixed: Some(Box::default()),
        open_mode: OpenMode(9),
        ..Default::default()
    };
    let encoded = settings.encode_to_vec();
    assert!(
        !encoded.starts_with(&[0x08]),
        "implicit level 0 is not written"
    );
    assert!(
        encoded.windows(2).any(|w| w == [0x18, 0x00]),
        "explicit level is"
    );
    assert!(
        encoded.windows(4).any(|w| w == [0x20, 0x01, 0x20, 0x02]),
        "expanded"
    );
    assert!(
        encoded.windows(4).any(|w| w == [0x2a, 0x02, 0x01, 0x02]),
        "packed"
    );
    assert!(encoded.windows(2).any(|w| w == [0x33, 0x34]), "delimited");
    assert!(
        encoded.windows(2).any(|w| w == [0x3a, 0x00]),
        "length-prefixed"
    );
    assert_eq!(Settings::decode(&encoded), Ok(settings));
    // Mode is closed (the file), OpenMode open (its own override).
    let read = Settings::decode(&[0x10, 0x07, 0x40, 0x07]).unwrap();
    assert_eq!((read.mode, read.open_mode), (None, OpenMode(7)));
}
