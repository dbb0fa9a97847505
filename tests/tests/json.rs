//! proto3's JSON mapping of generated messages: the serde impls that
//! `json=true` generates, the print and parse options, `Any` through the
//! registry, errors that name the field path, and messages known only by
//! their encoded descriptors.

use std::collections::HashMap;

use rgrpc::Message;
use rgrpc::json::{ParseOptions, PrintOptions, Registry};
use rgrpc::wkt::{Any, Duration, Timestamp};
use rgrpc_tests::pb_options::coverage::v3::{
    Composite, Scalars, State, WellKnown,
    composite::{Inner, Mode, Payload},
};

/// The global registry, with this file's types in it whichever test runs
/// first.
fn registry() -> Registry {
    rgrpc::json::register(&rgrpc_tests::pb_options::coverage::v3::FILE_COVERAGE_PROTO3_PROTO)
        .unwrap();
    rgrpc::json::registry()
}

fn inner(value: i32, label: &str) -> Inner {
    Inner {
        value,
        label: label.to_owned(),
        ..Default::default()
    }
}

fn composite() -> Composite {
    Composite {
        inner: Some(inner(1, "one")),
        inners: vec![inner(2, ""), inner(0, "three")],
        mode: Mode::ON,
        payload: Some(Payload::Number(-9_007_199_254_740_993)),
        counts: HashMap::from([("b".to_owned(), 2), ("a".to_owned(), 1)]),
        inner_by_id: HashMap::from([(-5, inner(5, ""))]),
        states: HashMap::from([(true, State::from(1))]),
        blobs: HashMap::from([(7, b"\xff\x00".to_vec())]),
        ..Default::default()
    }
}

#[test]
fn generated_messages_are_serde_types_in_the_canonical_form() {
    let json = serde_json::to_string(&composite()).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"inner":{"value":1,"label":"one"},"inners":[{"value":2},{"label":"three"}],"#,
            r#""mode":"MODE_ON","number":"-9007199254740993","counts":{"a":1,"b":2},"#,
            r#""innerById":{"-5":{"value":5}},"states":{"true":"STATE_RUNNING"},"blobs":{"7":"/wA="}}"#
        )
    );
    let back: Composite = serde_json::from_str(&json).unwrap();
    assert_eq!(back, composite());
    // An empty message is an empty object, and a default in a oneof is
    // still set.
    assert_eq!(serde_json::to_string(&Scalars::default()).unwrap(), "{}");
    let zero = Composite {
        payload: Some(Payload::Text(String::new())),
        ..Default::default()
    };
    assert_eq!(serde_json::to_string(&zero).unwrap(), r#"{"text":""}"#);
    // Through another serde format: serde_json's Value.
    let value = serde_json::to_value(composite()).unwrap();
    assert_eq!(value["inners"][1]["label"], "three");
    assert_eq!(
        serde_json::from_value::<Composite>(value).unwrap(),
        composite()
    );
}

#[test]
fn print_options_change_names_enums_and_defaults() {
    let registry = registry();
    let scalars = Scalars {
        f_state: State::from(1),
        ..Default::default()
    };
    let print = |options: PrintOptions| registry.to_json(&scalars, &options).unwrap();
    assert_eq!(
        print(PrintOptions::default()),
        r#"{"fState":"STATE_RUNNING"}"#
    );
    assert_eq!(
        print(PrintOptions::default().enums_as_numbers(true)),
        r#"{"fState":1}"#
    );
    assert_eq!(
        print(PrintOptions::default().proto_field_names(true)),
        r#"{"f_state":"STATE_RUNNING"}"#
    );
    let all: serde_json::Value = serde_json::from_str(&print(
        PrintOptions::default().always_print_fields_without_presence(true),
    ))
    .unwrap();
    assert_eq!(all["fInt32"], 0);
    assert_eq!(all["fInt64"], "0");
    assert_eq!(all["fString"], "");
    assert_eq!(all["fBytes"], "");
    assert_eq!(all["fBool"], false);
    assert_eq!(all["rInt32"], serde_json::json!([]));
    // Fields with presence stay out when not set.
    assert!(all.get("oInt32").is_none(), "{all}");
    // An enum value the .proto file does not declare is its number.
    let unknown = Scalars {
        f_state: State::from(42),
        ..Default::default()
    };
    assert_eq!(serde_json::to_string(&unknown).unwrap(), r#"{"fState":42}"#);
}

#[test]
fn parsing_takes_either_name_and_refuses_what_is_not_the_message() {
    let parse = |text: &str| serde_json::from_str::<Composite>(text).map_err(|e| e.to_string());
    let by_proto_name = parse(r#"{"inner_by_id": {"3": {"value": 1}}, "mode": 1}"#).unwrap();
    assert_eq!(by_proto_name.inner_by_id[&3].value, 1);
    assert_eq!(by_proto_name.mode, Mode::ON);
    // null is the field not set.
    assert_eq!(
        parse(r#"{"inner": null, "mode": null}"#).unwrap(),
        Composite::default()
    );

    let err = parse(r#"{"innerById": {}, "inner_by_id": {}}"#).unwrap_err();
    assert!(err.contains("innerById: the field is given twice"), "{err}");
    let err = parse(r#"{"text": "a", "number": 1}"#).unwrap_err();
    assert!(err.contains("number: text is set already"), "{err}");
    let err = parse(r#"{"inners": [{}, {"value": "x"}]}"#).unwrap_err();
    assert!(err.contains("inners[1].value: "), "{err}");
    let err = parse(r#"{"inners": [null]}"#).unwrap_err();
    assert!(err.contains("inners[0]: null is not a value here"), "{err}");
    let err = parse(r#"{"counts": {"a": 2147483648}}"#).unwrap_err();
    assert!(
        err.contains(r#"counts["a"]: 2147483648 is out of range"#),
        "{err}"
    );
    let err = parse(r#"{"innerById": {"x": {}}}"#).unwrap_err();
    assert!(err.contains("not an integer key"), "{err}");
    let err = parse(r#"{"mode": "MODE_SIDEWAYS"}"#).unwrap_err();
    assert!(
        err.contains("mode: \"MODE_SIDEWAYS\" is not a value"),
        "{err}"
    );
    let err = parse(r#"{"colour": 1}"#).unwrap_err();
    assert!(
        err.contains("coverage.v3.Composite has no field \"colour\""),
        "{err}"
    );
    assert!(parse("[]").is_err());
    // Nesting past serde_json's limit fails; it does not overflow the stack.
    let deep = format!("{}{}", r#"{"child":"#.repeat(5000), "}".repeat(5000));
    assert!(parse(&deep).is_err());

    // Unknown fields and enum names can be ignored instead.
    let registry = registry();
    let lenient = ParseOptions::default().ignore_unknown_fields(true);
    let parsed: Composite = registry
        .from_json(
            r#"{"colour": {"deep": [1]}, "mode": "MODE_SIDEWAYS", "text": "t"}"#,
            &lenient,
        )
        .unwrap();
    assert_eq!(parsed.mode, Mode::OFF);
    assert_eq!(parsed.payload, Some(Payload::Text("t".to_owned())));
}

#[test]
fn well_known_types_and_any_take_their_own_forms() {
    let message = WellKnown {
        at: Some(Timestamp {
            seconds: 1,
            nanos: 500_000_000,
            ..Default::default()
        }),
        timeout: Some(Duration {
            seconds: 3,
            ..Default::default()
        }),
        detail: Some(Any::pack(&inner(9, "nine"))),
        maybe_count: Some(rgrpc::wkt::Int32Value {
            value: 0,
            ..Default::default()
        }),
        ..Default::default()
    };
    let json = serde_json::to_string(&message).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"at":"1970-01-01T00:00:01.500Z","timeout":"3s","#,
            r#""detail":{"@type":"type.googleapis.com/coverage.v3.Composite.Inner","value":9,"label":"nine"},"#,
            r#""maybeCount":0}"#
        )
    );
    assert_eq!(serde_json::from_str::<WellKnown>(&json).unwrap(), message);

    // A well-known type in an Any is under "value"; @type need not come first.
    let json = r#"{"detail": {"value": "1.5s", "@type": "type.googleapis.com/google.protobuf.Duration"}, "values": [null, 1, "x"]}"#;
    let parsed: WellKnown = serde_json::from_str(json).unwrap();
    let duration: Duration = parsed.detail.as_ref().unwrap().unpack().unwrap().unwrap();
    assert_eq!((duration.seconds, duration.nanos), (1, 500_000_000));
    assert_eq!(parsed.values.len(), 3);
    assert_eq!(
        serde_json::to_string(&parsed).unwrap(),
        r#"{"detail":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1.500s"},"values":[null,1.0,"x"]}"#
    );
}

#[test]
fn an_any_of_a_type_not_registered_is_an_error_until_it_is() {
    use rgrpc_tests::pb::echo::{EchoRequest, FILE_ECHO_PROTO};
    let message = WellKnown {
        detail: Some(Any::pack(&EchoRequest {
            message: "hi".to_owned(),
            ..Default::default()
        })),
        ..Default::default()
    };
    let json = r#"{"detail":{"@type":"type.googleapis.com/echo.EchoRequest","message":"hi"}}"#;
    if !rgrpc::json::registry().contains("echo.EchoRequest") {
        let err = serde_json::to_string(&message).unwrap_err().to_string();
        assert!(
            err.contains("echo.EchoRequest, which is not in the registry"),
            "{err}"
        );
        let err = serde_json::from_str::<WellKnown>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not in the registry"), "{err}");
    }
    rgrpc::json::register(&FILE_ECHO_PROTO).unwrap();
    assert_eq!(serde_json::to_string(&message).unwrap(), json);
    assert_eq!(serde_json::from_str::<WellKnown>(json).unwrap(), message);
}

#[test]
fn messages_known_only_by_their_encoded_descriptors_are_read_and_written() {
    use rgrpc_tests::pb_options::coverage::v3::FILE_COVERAGE_PROTO3_PROTO;
    // As a client that learnt them through reflection would: the encoded
    // FileDescriptorProtos, in any order.
    let mut registry = Registry::new();
    for file in FILE_COVERAGE_PROTO3_PROTO.with_dependencies().iter().rev() {
        registry.add_encoded(file.encoded()).unwrap();
    }
    let options = PrintOptions::default();
    let json = registry
        .encoded_to_json(
            "coverage.v3.Composite",
            &composite().encode_to_vec(),
            &options,
        )
        .unwrap();
    assert_eq!(json, serde_json::to_string(&composite()).unwrap());
    let encoded = registry
        .json_to_encoded("coverage.v3.Composite", &json, &ParseOptions::default())
        .unwrap();
    assert_eq!(Composite::decode(&encoded).unwrap(), composite());

    let err = registry
        .encoded_to_json("coverage.v3.Missing", &[], &options)
        .unwrap_err();
    assert!(err.to_string().contains("not in the registry"), "{err}");
    // Bytes that are not the message are a decode error, not a panic.
    let err = registry
        .encoded_to_json("coverage.v3.Composite", &[0x0a, 0x05, 0x01], &options)
        .unwrap_err();
    assert!(
        err.to_string().starts_with("coverage.v3.Composite: "),
        "{err}"
    );
    assert!(registry.add_encoded(b"\xff\xff").is_err());
}

#[test]
fn a_google_rpc_status_with_details_is_json_with_no_generated_code() {
    let status = rgrpc::rpc::Status {
        code: 5,
        message: "no such user".to_owned(),
        details: vec![Any::pack(&rgrpc::rpc::ResourceInfo {
            resource_type: "user".to_owned(),
            resource_name: "ada".to_owned(),
            ..Default::default()
        })],
        ..Default::default()
    };
    let registry = Registry::new();
    let json = registry.to_json(&status, &PrintOptions::default()).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"code":5,"message":"no such user","details":[{"@type":"type.googleapis.com/google.rpc.ResourceInfo","#,
            r#""resourceType":"user","resourceName":"ada"}]}"#
        )
    );
    let back: rgrpc::rpc::Status = registry.from_json(&json, &ParseOptions::default()).unwrap();
    assert_eq!(back, status);
}

#[test]
fn fields_without_presence_are_all_printed_when_asked() {
    let registry = registry();
    let always = PrintOptions::default().always_print_fields_without_presence(true);
    let all: serde_json::Value =
        serde_json::from_str(&registry.to_json(&Composite::default(), &always).unwrap()).unwrap();
    // Repeated fields and maps have no presence, whatever their type.
    assert_eq!(all["inners"], serde_json::json!([]));
    assert_eq!(all["counts"], serde_json::json!({}));
    assert_eq!(all["innerById"], serde_json::json!({}));
    assert_eq!(all["mode"], "MODE_OFF");
    // Messages and oneof members have presence.
    assert!(
        all.get("inner").is_none() && all.get("text").is_none(),
        "{all}"
    );

    // In proto2, repeated fields and maps too, and no singular field.
    use rgrpc_tests::pb_options::coverage::v2::Config;
    let mut registry = Registry::new();
    registry
        .add(&rgrpc_tests::pb_options::coverage::v2::FILE_COVERAGE_PROTO2_PROTO)
        .unwrap();
    let config = Config {
        name: Some("n".to_owned()),
        ..Default::default()
    };
    let all: serde_json::Value =
        serde_json::from_str(&registry.to_json(&config, &always).unwrap()).unwrap();
    assert_eq!(all["palette"], serde_json::json!([]));
    assert_eq!(all["shadeByName"], serde_json::json!({}));
    assert!(all.get("retries").is_none(), "{all}");
}

#[test]
fn a_map_entry_with_a_closed_enum_number_it_does_not_declare_is_left_out() {
    let mut registry = Registry::new();
    registry
        .add(&rgrpc_tests::pb_options::coverage::v2::FILE_COVERAGE_PROTO2_PROTO)
        .unwrap();
    // Config { name: "n", shade_by_name: { "a": VALUE } }, with field 17's
    // entry written by hand.
    let config = |entry: &[u8]| {
        let mut bytes = vec![0x0a, 0x01, b'n', 0x8a, 0x01, entry.len() as u8];
        bytes.extend_from_slice(entry);
        registry
            .encoded_to_json("coverage.v2.Config", &bytes, &PrintOptions::default())
            .unwrap()
    };
    assert_eq!(
        config(&[0x0a, 0x01, b'a', 0x10, 0x01]),
        r#"{"name":"n","shadeByName":{"a":"SHADE_LIGHT"}}"#
    );
    assert_eq!(config(&[0x0a, 0x01, b'a', 0x10, 0x07]), r#"{"name":"n"}"#);
    // An entry without a value has the enum's first value.
    assert_eq!(
        config(&[0x0a, 0x01, b'a']),
        r#"{"name":"n","shadeByName":{"a":"SHADE_NONE"}}"#
    );
}

#[test]
fn json_nests_no_deeper_than_the_binary_format() {
    let nested =
        |depth: usize| format!("{}{{}}{}", r#"{"child":"#.repeat(depth), "}".repeat(depth));
    assert!(serde_json::from_str::<Composite>(&nested(100)).is_ok());
    let err = serde_json::from_str::<Composite>(&nested(101)).unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
}

#[test]
fn a_hostile_descriptor_is_an_error_or_works_but_never_recurses_forever() {
    use rgrpc::wkt::field_descriptor_proto::{Label, Type};
    use rgrpc::wkt::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto, MessageOptions};
    let field =
        |name: &str, number: i32, label: Label, ty: Type, type_name: &str| FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            label: Some(label),
            r#type: Some(ty),
            type_name: (!type_name.is_empty()).then(|| type_name.into()),
            ..Default::default()
        };
    // A map entry whose value is a map of itself: its value is read as
    // one entry message.
    let entry = DescriptorProto {
        name: Some("E".into()),
        options: Some(MessageOptions {
            map_entry: Some(true),
            ..Default::default()
        }),
        field: vec![
            field("key", 1, Label::OPTIONAL, Type::STRING, ""),
            field("value", 2, Label::REPEATED, Type::MESSAGE, ".h.M.E"),
        ],
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("h.proto".into()),
        package: Some("h".into()),
        syntax: Some("proto3".into()),
        message_type: vec![DescriptorProto {
            name: Some("M".into()),
            field: vec![field("f", 1, Label::REPEATED, Type::MESSAGE, ".h.M.E")],
            nested_type: vec![entry],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut registry = Registry::new();
    registry.add_encoded(&file.encode_to_vec()).unwrap();
    let encoded = registry
        .json_to_encoded(
            "h.M",
            r#"{"f": {"a": {"key": "b"}}}"#,
            &ParseOptions::default(),
        )
        .unwrap();
    // What a malformed entry type holds is not the point: that it is
    // read and written at all is.
    let json = registry.encoded_to_json("h.M", &encoded, &PrintOptions::default());
    assert!(json.unwrap().starts_with(r#"{"f":{"a":"#));

    // A field number no tag can carry.
    let mut bad = file.clone();
    bad.name = Some("bad.proto".into());
    bad.package = Some("bad".into());
    bad.message_type[0].field[0].number = Some(-1);
    let err = registry.add_encoded(&bad.encode_to_vec()).unwrap_err();
    assert!(err.to_string().contains("invalid number -1"), "{err}");
    // The file that failed added nothing.
    assert!(!registry.contains("bad.M"));
}
