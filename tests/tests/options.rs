//! The generator options that change the code: what `rgrpc_tests::pb_options`
//! was generated with compiles and does what the options say.

use std::collections::HashSet;

use rgrpc_tests::pb_options::echo::{EchoRequest, EchoResponse};

#[test]
fn type_attributes_derive_what_they_say() {
    // `type_attribute=.echo=#[derive(Eq, Hash)]`: the messages go in a set.
    let mut set = HashSet::new();
    set.insert(EchoRequest {
        message: "one".into(),
        ..Default::default()
    });
    set.insert(EchoRequest {
        message: "one".into(),
        ..Default::default()
    });
    assert_eq!(set.len(), 1);
    let responses: HashSet<EchoResponse> = [EchoResponse::default()].into();
    assert_eq!(responses.len(), 1);
}

#[test]
fn extern_paths_take_their_types_from_elsewhere() {
    use rgrpc::Message;
    use rgrpc_tests::pb::user::v1::User;
    use rgrpc_tests::pb_options::coverage::split::{Beta, FILE_COVERAGE_SPLIT_B_PROTO};

    // `extern_path=.user.v1=crate::pb::user::v1`: Beta holds the other
    // tree's User, and user.proto was not generated again.
    let beta = Beta {
        owner: Some(User {
            name: "Ada".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(Beta::decode(&beta.encode_to_vec()), Ok(beta));
    // Its descriptor is still there, for reflection, from this tree.
    let imports: Vec<&str> = FILE_COVERAGE_SPLIT_B_PROTO
        .with_dependencies()
        .iter()
        .map(|file| file.name())
        .collect();
    assert_eq!(
        imports,
        [
            "google/protobuf/timestamp.proto",
            "user/v1/user.proto",
            "coverage/split_b.proto"
        ]
    );
}

#[test]
fn bytes_as_vec_and_maps_as_hash_maps_keep_the_wire_format() {
    use std::collections::HashMap;

    use rgrpc::Message;
    use rgrpc_tests::pb::coverage::v3 as default_tree;
    use rgrpc_tests::pb_options::coverage::v3::{Composite, Scalars, composite};

    // `bytes=vec,map=hash`: the fields are Vec<u8> and HashMap.
    let counts: HashMap<String, i32> = [("a", 1), ("b", 2), ("c", 3)]
        .map(|(k, v)| (k.to_owned(), v))
        .into();
    let blobs: HashMap<u32, Vec<u8>> = [(1, vec![1, 2]), (2, vec![])].into();
    let message = Composite {
        counts,
        blobs,
        payload: Some(composite::Payload::Blob(vec![9, 8, 7])),
        scalars: Some(Scalars {
            f_bytes: vec![0xff; 3],
            o_bytes: Some(Vec::new()),
            r_bytes: vec![vec![1], vec![]],
            ..Default::default()
        }),
        ..Default::default()
    };
    let encoded = message.encode_to_vec();
    assert_eq!(Composite::decode(&encoded), Ok(message.clone()));

    // The default tree reads the same message from the same bytes.
    let read = default_tree::Composite::decode(&encoded).unwrap();
    assert_eq!(read.counts.len(), 3);
    assert_eq!(read.counts["b"], 2);
    assert_eq!(read.blobs[&1].as_ref(), [1, 2]);
    assert_eq!(
        read.payload,
        Some(default_tree::composite::Payload::Blob(vec![9, 8, 7].into()))
    );
    let scalars = read.scalars.unwrap();
    assert_eq!(scalars.f_bytes.as_ref(), [0xff; 3]);
    assert_eq!(scalars.o_bytes.as_deref(), Some(&[][..]));
    assert_eq!(scalars.r_bytes.len(), 2);
    // And its encoding reads back as the options tree's message.
    assert_eq!(Composite::decode(&read_back(&encoded)), Ok(message));

    // A declared default of a bytes field, as a Vec.
    let config = rgrpc_tests::pb_options::coverage::v2::Config::default();
    assert_eq!(config.magic(), b"\0\x01\xffabc");
}

/// `encoded` decoded and encoded again by the default tree.
fn read_back(encoded: &[u8]) -> Vec<u8> {
    use rgrpc::Message;
    rgrpc_tests::pb::coverage::v3::Composite::decode(encoded)
        .unwrap()
        .encode_to_vec()
}
