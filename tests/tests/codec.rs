//! The generated codec: round trips, presence, enums, unknown fields, proto2
//! rules and every kind of malformed input.

use std::collections::BTreeMap;

use bytes::Bytes;
use rgrpc::wire::{DecodeErrorKind, RECURSION_LIMIT};
use rgrpc::{Enumeration, Message};
use rgrpc_tests::pb::coverage::outcome::{Outcome, outcome};
use rgrpc_tests::pb::coverage::v2::{self, Color, Config, Holder, Level};
use rgrpc_tests::pb::coverage::v3::{self, Composite, Scalars, State, Tree, composite};
use rgrpc_tests::pb::echo::EchoRequest;

fn full_scalars() -> Scalars {
    Scalars {
        f_double: -1.25,
        f_float: 3.5,
        f_int32: -7,
        f_int64: i64::MIN,
        f_uint32: u32::MAX,
        f_uint64: u64::MAX,
        f_sint32: -300,
        f_sint64: i64::MAX,
        f_fixed32: 0xdead_beef,
        f_fixed64: 1 << 60,
        f_sfixed32: i32::MIN,
        f_sfixed64: -2,
        f_bool: true,
        f_string: "héllo".into(),
        f_bytes: Bytes::from_static(b"\x00\xff"),
        f_state: State::RUNNING,
        o_int32: Some(0),
        o_string: Some(String::new()),
        o_bytes: Some(Bytes::new()),
        o_state: Some(State::UNKNOWN),
        o_double: Some(-0.0),
        r_int32: vec![1, -1, 300],
        r_sint64: vec![-5, 5],
        r_double: vec![0.5, -0.5],
        r_string: vec!["a".into(), String::new()],
        r_bytes: vec![Bytes::from_static(b"x")],
        r_state: vec![State::STOPPED, State::from(42)],
        r_unpacked: vec![7, 8],
        r_bool: vec![true, false],
        ..Default::default()
    }
}

fn composite() -> Composite {
    let inner = |value: i32| composite::Inner {
        value,
        label: format!("#{value}"),
        ..Default::default()
    };
    Composite {
        inner: Some(inner(1)),
        inners: vec![inner(2), inner(3)],
        mode: composite::Mode::ON,
        payload: Some(composite::Payload::Nested(inner(4))),
        counts: BTreeMap::from([("a".into(), 1), ("b".into(), -2)]),
        inner_by_id: BTreeMap::from([(-9, inner(5))]),
        states: BTreeMap::from([(true, State::RUNNING), (false, State::from(77))]),
        blobs: BTreeMap::from([(0, Bytes::from_static(b"blob"))]),
        child: Some(Box::new(Composite {
            mode: composite::Mode::ON,
            ..Default::default()
        })),
        children: vec![
            Composite::default(),
            Composite {
                payload: Some(composite::Payload::Text("t".into())),
                ..Default::default()
            },
        ],
        named: BTreeMap::from([(
            "n".into(),
            Composite {
                inner: Some(inner(6)),
                ..Default::default()
            },
        )]),
        scalars: Some(full_scalars()),
        ..Default::default()
    }
}

#[test]
fn every_field_shape_round_trips() {
    let scalars = full_scalars();
    let bytes = scalars.encode_to_vec();
    assert_eq!(bytes.len(), scalars.encoded_len());
    assert_eq!(Scalars::decode(&bytes).unwrap(), scalars);

    let composite = composite();
    let bytes = composite.encode_to_vec();
    assert_eq!(bytes.len(), composite.encoded_len());
    assert_eq!(Composite::decode(&bytes).unwrap(), composite);
}

#[test]
fn encode_appends_what_encode_to_vec_returns() {
    // `EchoRequest` has no nested lengths (encoded without a size pass);
    // `Scalars` (packed fields) and `Composite` (messages, maps) have.
    const { assert!(!EchoRequest::NESTED_LENGTHS) };
    const { assert!(Scalars::NESTED_LENGTHS && Composite::NESTED_LENGTHS) };
    fn check<M: Message>(message: &M) {
        let mut buf = b"before".to_vec();
        message.encode(&mut buf);
        assert_eq!(buf[..6], *b"before");
        assert_eq!(buf[6..], message.encode_to_vec());
        assert_eq!(M::decode(&buf[6..]).unwrap(), *message);
    }
    check(&EchoRequest {
        message: "a message with no nested lengths".into(),
        ..Default::default()
    });
    check(&full_scalars());
    check(&composite());
}

#[test]
fn implicit_presence_skips_zero_values_but_not_negative_zero() {
    assert!(Scalars::default().encode_to_vec().is_empty());
    let negative_zero = Scalars {
        f_double: -0.0,
        ..Default::default()
    };
    assert_eq!(
        negative_zero.encode_to_vec(),
        [0x09, 0, 0, 0, 0, 0, 0, 0, 0x80]
    );
    // Explicit presence encodes a set zero.
    let set_zero = Scalars {
        o_int32: Some(0),
        ..Default::default()
    };
    assert_eq!(set_zero.encode_to_vec(), [0xa8, 0x01, 0x00]);
}

#[test]
fn known_encodings_match_the_spec() {
    // The protobuf encoding guide's example: field 1 = 150.
    let leaf = v3::Leaf {
        value: 150,
        ..Default::default()
    };
    assert_eq!(leaf.encode_to_vec(), [0x08, 0x96, 0x01]);
    // Negative int32 takes ten bytes; sint32 zigzags.
    let s = Scalars {
        f_int32: -1,
        f_sint32: -1,
        ..Default::default()
    };
    assert_eq!(
        s.encode_to_vec(),
        [
            0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x38, 0x01
        ]
    );
    // proto3 repeated scalars are packed; [packed = false] is not.
    let r = Scalars {
        r_int32: vec![1, 2],
        r_unpacked: vec![1, 2],
        ..Default::default()
    };
    assert_eq!(
        r.encode_to_vec(),
        [
            0xfa, 0x01, 0x02, 0x01, 0x02, 0xa8, 0x02, 0x01, 0xa8, 0x02, 0x02
        ]
    );
}

#[test]
fn packed_and_unpacked_encodings_are_both_accepted() {
    // r_int32 (31) unpacked and r_unpacked (37) packed, mixed with the usual forms.
    let input = [
        0xf8, 0x01, 0x05, 0xfa, 0x01, 0x01, 0x06, 0xaa, 0x02, 0x02, 0x07, 0x08,
    ];
    let decoded = Scalars::decode(&input).unwrap();
    assert_eq!(decoded.r_int32, [5, 6]);
    assert_eq!(decoded.r_unpacked, [7, 8]);
}

#[test]
fn packed_runs_append_and_a_partial_value_is_an_error() {
    // Two packed runs of r_int32 (31): the second appends to the first.
    let input = [0xfa, 0x01, 0x02, 0x01, 0x02, 0xfa, 0x01, 0x01, 0x03];
    assert_eq!(Scalars::decode(&input).unwrap().r_int32, [1, 2, 3]);
    // A run whose last varint is cut short.
    let err = Scalars::decode(&[0xfa, 0x01, 0x03, 0x01, 0x02, 0xff]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coverage.v3.Scalars.r_int32: truncated varint"
    );
    // A run of r_double (33) one byte longer than a whole number of values.
    let mut run = vec![0x8a, 0x02, 0x09];
    run.extend(1.5f64.to_le_bytes());
    run.push(0x00);
    let err = Scalars::decode(&run).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::UnexpectedEof);
    assert_eq!(
        err.to_string(),
        "coverage.v3.Scalars.r_double: value runs past the end of the input"
    );
}

#[test]
fn open_enums_keep_undeclared_values() {
    let scalars = Scalars {
        f_state: State::from(1234),
        ..Default::default()
    };
    let decoded = Scalars::decode(&scalars.encode_to_vec()).unwrap();
    assert_eq!(decoded.f_state, State::from(1234));
    assert!(!decoded.f_state.is_known());
    assert_eq!(format!("{:?}", decoded.f_state), "1234");
    assert_eq!(format!("{:?}", State::RUNNING), "STATE_RUNNING");
    assert_eq!(State::from_name("STATE_STOPPED"), Some(State::STOPPED));
    assert_eq!(<State as Enumeration>::NAME, "coverage.v3.State");
}

#[test]
fn closed_enums_send_undeclared_values_to_unknown_fields() {
    // color (8) = 9, undeclared in the closed enum Color; then color = GREEN.
    let mut input = vec![0x0a, 0x01, b'n', 0x40, 0x09];
    let decoded = Config::decode(&input).unwrap();
    assert_eq!(decoded.color, None);
    assert_eq!(decoded.unknown_fields.as_bytes(), [0x40, 0x09]);
    assert_eq!(decoded.encode_to_vec(), input);

    input.extend([0x40, 0x02]);
    let decoded = Config::decode(&input).unwrap();
    assert_eq!(decoded.color, Some(Color::GREEN));

    // A packed repeated closed enum keeps the known values in place.
    let packed = [0x0a, 0x01, b'n', 0x6a, 0x03, 0x01, 0x07, 0x03];
    let decoded = Config::decode(&packed).unwrap();
    assert_eq!(decoded.palette, [Color::RED, Color::BLUE]);
    assert_eq!(decoded.unknown_fields.as_bytes(), [0x68, 0x07]);

    // A map entry with an undeclared value is kept whole.
    let entry = [
        0x0a, 0x01, b'n', 0x8a, 0x01, 0x05, 0x0a, 0x01, b'k', 0x10, 0x09,
    ];
    let decoded = Config::decode(&entry).unwrap();
    assert!(decoded.shade_by_name.is_empty());
    assert_eq!(decoded.unknown_fields.as_bytes(), &entry[3..]);
}

#[test]
fn enum_aliases_report_the_first_name() {
    assert_eq!(Level::LOW, Level::MINIMUM);
    assert_eq!(Level::MINIMUM.name(), Some("LEVEL_LOW"));
    assert_eq!(Level::from_name("LEVEL_MINIMUM"), Some(Level::LOW));
}

#[test]
fn unknown_fields_survive_a_round_trip() {
    let original = full_scalars().encode_to_vec();
    // EchoRequest knows field 1 as a string; Scalars' field 1 is a double, so
    // everything is unknown to it, wire-type mismatch included.
    let echo = EchoRequest::decode(&original).unwrap();
    assert_eq!(echo.message, "");
    assert_eq!(echo.unknown_fields.as_bytes(), original.as_slice());
    assert_eq!(echo.encode_to_vec(), original);
    assert_eq!(
        Scalars::decode(&echo.encode_to_vec()).unwrap(),
        full_scalars()
    );
}

#[test]
fn extensions_are_kept_as_unknown_fields() {
    // name = "n", ext_number (100) = 5.
    let input = [0x0a, 0x01, b'n', 0xa0, 0x06, 0x05];
    let config = Config::decode(&input).unwrap();
    assert_eq!(config.unknown_fields.as_bytes(), [0xa0, 0x06, 0x05]);
    assert_eq!(config.encode_to_vec(), input);
}

#[test]
fn declared_defaults_are_returned_for_unset_fields() {
    let config = Config::default();
    assert_eq!(config.retries(), 3);
    assert_eq!(config.ratio(), -1.5);
    assert_eq!(config.limit(), f32::INFINITY);
    assert!(config.enabled());
    assert_eq!(config.greeting(), "hello \"world\"");
    assert_eq!(config.magic(), b"\x00\x01\xffabc");
    assert_eq!(config.color(), Color::BLUE);
    assert_eq!(config.no_default(), Color::RED);
    assert_eq!(config.offset(), i64::MIN);
    assert_eq!(config.big(), u64::MAX);
    assert!(config.not_a_number().is_nan());
    let set = Config {
        retries: Some(0),
        ..Default::default()
    };
    assert_eq!(set.retries(), 0);
}

#[test]
fn missing_required_fields_fail_with_their_path() {
    let err = Config::decode(&[]).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::MissingRequired);
    assert_eq!(
        err.to_string(),
        "coverage.v2.Config.name: required field is missing"
    );

    // config (1) holding a Config without its name.
    let err = Holder::decode(&[0x0a, 0x00]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coverage.v2.Holder.config.name: required field is missing"
    );
    // The same through a map value and a oneof.
    let err = Holder::decode(&[0x1a, 0x04, 0x08, 0x01, 0x12, 0x00]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coverage.v2.Holder.config_by_id.name: required field is missing"
    );
    let err = Holder::decode(&[0x22, 0x00]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coverage.v2.Holder.picked.name: required field is missing"
    );
    // Required fields inside a group.
    let err = Config::decode(&[0x0a, 0x01, b'n', 0xa3, 0x01, 0xa4, 0x01]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coverage.v2.Config.extra.tag: required field is missing"
    );

    let complete = Holder {
        config: Some(Config {
            name: Some("n".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(Holder::decode(&complete.encode_to_vec()).unwrap(), complete);
}

#[test]
fn groups_round_trip() {
    let config = Config {
        name: Some("g".into()),
        extra: Some(v2::config::Extra {
            weight: Some(2),
            tag: Some("t".into()),
            ..Default::default()
        }),
        item: vec![
            v2::config::Item {
                label: Some("a".into()),
                ..Default::default()
            },
            v2::config::Item::default(),
        ],
        ..Default::default()
    };
    let bytes = config.encode_to_vec();
    // extra is field 20: start-group tag 0xa3 0x01 ... end-group 0xa4 0x01.
    let start = bytes
        .windows(2)
        .position(|w| w == [0xa3, 0x01])
        .expect("start-group tag");
    assert!(
        bytes[start..].windows(2).any(|w| w == [0xa4, 0x01]),
        "end-group tag"
    );
    assert_eq!(Config::decode(&bytes).unwrap(), config);
}

#[test]
fn an_unterminated_or_mismatched_group_is_an_error() {
    let err = Config::decode(&[0x0a, 0x01, b'n', 0xa3, 0x01, 0xa8, 0x01, 0x01]).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::UnexpectedEof);
    let err = Config::decode(&[0x0a, 0x01, b'n', 0xa3, 0x01, 0xf4, 0x01]).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::UnmatchedEndGroup);
    assert_eq!(
        err.to_string(),
        "coverage.v2.Config.extra: unmatched end-group tag"
    );
}

#[test]
fn the_last_oneof_field_wins_and_messages_merge() {
    // text (4) = "a", then number (5) = 3.
    let decoded = Composite::decode(&[0x22, 0x01, b'a', 0x28, 0x03]).unwrap();
    assert_eq!(decoded.payload, Some(composite::Payload::Number(3)));
    // nested (6) twice: value = 1, then label = "x": the two merge.
    let decoded =
        Composite::decode(&[0x32, 0x02, 0x08, 0x01, 0x32, 0x03, 0x12, 0x01, b'x']).unwrap();
    let expected = composite::Inner {
        value: 1,
        label: "x".into(),
        ..Default::default()
    };
    assert_eq!(decoded.payload, Some(composite::Payload::Nested(expected)));
    // A oneof field set to its default is still encoded.
    let zero = Composite {
        payload: Some(composite::Payload::Number(0)),
        ..Default::default()
    };
    assert_eq!(zero.encode_to_vec(), [0x28, 0x00]);
}

#[test]
fn merging_appends_repeated_fields_and_merges_messages() {
    let mut target = Composite {
        inner: Some(composite::Inner {
            value: 1,
            ..Default::default()
        }),
        inners: vec![composite::Inner::default()],
        counts: BTreeMap::from([("a".into(), 1)]),
        ..Default::default()
    };
    let source = Composite {
        inner: Some(composite::Inner {
            label: "l".into(),
            ..Default::default()
        }),
        inners: vec![composite::Inner {
            value: 2,
            ..Default::default()
        }],
        counts: BTreeMap::from([("a".into(), 5), ("b".into(), 6)]),
        ..Default::default()
    };
    target.merge(&source.encode_to_vec()).unwrap();
    assert_eq!(
        target.inner.as_ref().map(|i| (i.value, i.label.as_str())),
        Some((1, "l"))
    );
    assert_eq!(target.inners.len(), 2);
    assert_eq!(
        target.counts,
        BTreeMap::from([("a".into(), 5), ("b".into(), 6)])
    );
}

#[test]
fn map_entries_may_omit_key_or_value() {
    // counts (10): an entry with only a value, then one with only a key.
    let decoded =
        Composite::decode(&[0x52, 0x02, 0x10, 0x07, 0x52, 0x03, 0x0a, 0x01, b'k']).unwrap();
    assert_eq!(
        decoded.counts,
        BTreeMap::from([(String::new(), 7), ("k".into(), 0)])
    );
}

#[test]
fn recursive_messages_nest_up_to_the_limit() {
    fn nested(depth: u32) -> Composite {
        let mut message = Composite::default();
        for _ in 0..depth {
            message = Composite {
                child: Some(Box::new(message)),
                ..Default::default()
            };
        }
        message
    }
    let ok = nested(RECURSION_LIMIT);
    assert_eq!(Composite::decode(&ok.encode_to_vec()).unwrap(), ok);
    let err = Composite::decode(&nested(RECURSION_LIMIT + 1).encode_to_vec()).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::RecursionLimit);
    assert!(
        err.to_string()
            .starts_with("coverage.v3.Composite.child.child."),
        "{err}"
    );

    // Mutual recursion through a oneof.
    let tree = Tree {
        node: Some(v3::tree::Node::Branch(Box::new(v3::Branch {
            left: Some(Box::new(Tree {
                node: Some(v3::tree::Node::Leaf(v3::Leaf {
                    value: 1,
                    ..Default::default()
                })),
                ..Default::default()
            })),
            right: None,
            ..Default::default()
        }))),
        ..Default::default()
    };
    assert_eq!(Tree::decode(&tree.encode_to_vec()).unwrap(), tree);
}

#[test]
fn errors_name_the_field_path() {
    // inner (1) { label (2) = invalid UTF-8 }.
    let err = Composite::decode(&[0x0a, 0x04, 0x12, 0x02, 0xc3, 0x28]).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::InvalidUtf8);
    assert_eq!(
        err.to_string(),
        "coverage.v3.Composite.inner.label: invalid UTF-8 in a string field"
    );
    // A length past the end of its parent.
    let err = Composite::decode(&[0x0a, 0x02, 0x12, 0x05, b'a']).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coverage.v3.Composite.inner.label: value runs past the end of the input"
    );
    // Tag 0 and wire types 6 and 7.
    assert_eq!(
        Composite::decode(&[0x00]).unwrap_err().kind(),
        DecodeErrorKind::InvalidFieldNumber
    );
    assert_eq!(
        Composite::decode(&[0x0e]).unwrap_err().kind(),
        DecodeErrorKind::InvalidWireType
    );
    assert_eq!(
        Composite::decode(&[0x0f]).unwrap_err().kind(),
        DecodeErrorKind::InvalidWireType
    );
    // A truncated varint in a known field.
    let err = Scalars::decode(&[0x18, 0xff]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coverage.v3.Scalars.f_int32: truncated varint"
    );
}

#[test]
fn a_wrong_wire_type_for_a_known_field_is_kept_as_unknown() {
    // f_int32 (3) sent as fixed32.
    let input = [0x1d, 1, 2, 3, 4];
    let decoded = Scalars::decode(&input).unwrap();
    assert_eq!(decoded.f_int32, 0);
    assert_eq!(decoded.unknown_fields.as_bytes(), input);
}

#[test]
fn every_truncation_and_byte_flip_is_handled_without_panicking() {
    let bytes = composite().encode_to_vec();
    for cut in 0..bytes.len() {
        // A cut may land on a field boundary and decode; it must never panic.
        let _ = Composite::decode(&bytes[..cut]);
    }
    for i in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut mutated = bytes.clone();
            mutated[i] ^= flip;
            if let Ok(decoded) = Composite::decode(&mutated) {
                // Whatever decodes re-encodes to something that decodes the same.
                assert_eq!(
                    Composite::decode(&decoded.encode_to_vec()).unwrap(),
                    decoded
                );
            }
        }
    }
}

#[test]
fn bytes_fields_share_a_bytes_input() {
    let scalars = Scalars {
        f_bytes: Bytes::from(vec![7u8; 1024]),
        ..Default::default()
    };
    let input = Bytes::from(scalars.encode_to_vec());
    let decoded = Scalars::decode_bytes(&input).unwrap();
    assert_eq!(decoded, scalars);
    let range = input.as_ptr_range();
    assert!(
        range.contains(&decoded.f_bytes.as_ptr()),
        "the field views the input buffer"
    );
    let copied = Scalars::decode(&input).unwrap();
    assert!(!range.contains(&copied.f_bytes.as_ptr()));
}

#[test]
fn a_huge_declared_length_allocates_nothing() {
    // f_bytes (15) claiming 2 GiB with 3 bytes present.
    let err = Scalars::decode(&[0x7a, 0x80, 0x80, 0x80, 0x80, 0x08, 1, 2, 3]).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::UnexpectedEof);
}

#[test]
fn edge_case_names_are_usable() {
    use rgrpc_tests::pb::coverage::edge;
    let option = edge::Option {
        r#type: "t".into(),
        self_: "s".into(),
        r#async: true,
        r#yield: 1,
        unknown_fields: 5,
        encode: Some(2),
        ..Default::default()
    };
    assert_eq!(option.encode_value(), 2);
    let result = edge::Result {
        option: Some(option.clone()),
        string: Some(edge::String {
            value: "v".into(),
            ..Default::default()
        }),
        self_ref: Some(edge::Self_::default()),
        vec: Some(edge::Vec {
            items: vec![1],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        edge::Result::decode(&result.encode_to_vec()).unwrap(),
        result
    );
    let clash = edge::Clash {
        choice: Some(edge::clash::Choice_::Nested(edge::clash::Choice {
            x: 1,
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(edge::Clash::decode(&clash.encode_to_vec()).unwrap(), clash);
    let _ = (
        rgrpc_tests::pb::Rootless::default(),
        edge::Size::SIZE_1,
        edge::Empty::default(),
    );
    let collide = v2::Collide {
        http_server: Some(1),
        http_server_: Some(2),
        ..Default::default()
    };
    assert_eq!(
        v2::Collide::decode(&collide.encode_to_vec()).unwrap(),
        collide
    );
}

#[test]
fn well_known_types_are_shared_with_the_runtime() {
    let user = rgrpc_tests::pb::user::v1::User {
        created_at: Some(rgrpc::wkt::Timestamp::from(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(5),
        )),
        ..Default::default()
    };
    let decoded = rgrpc_tests::pb::user::v1::User::decode(&user.encode_to_vec()).unwrap();
    assert_eq!(decoded.created_at.map(|t| t.seconds), Some(5));
}

#[test]
fn google_rpc_status_fields_hold_the_runtime_status() {
    // The rich status a failed call carries, as the type user messages hold.
    let failed = rgrpc::Status::new(rgrpc::Code::NotFound, "no such user").with_details([
        rgrpc::wkt::Any::pack(&EchoRequest {
            message: "detail".into(),
            ..Default::default()
        }),
    ]);
    let rich: rgrpc::rpc::Status = rgrpc::rpc::Status::decode_bytes(failed.details_bin()).unwrap();
    let outcome = Outcome {
        result: Some(outcome::Result::Error(rich.clone())),
        retried: vec![rich],
        ..Default::default()
    };
    let decoded = Outcome::decode(&outcome.encode_to_vec()).unwrap();
    assert_eq!(decoded, outcome);
    assert_eq!(decoded.retried[0].code, rgrpc::Code::NotFound.as_i32());
    assert_eq!(decoded.retried[0].message, "no such user");
}
