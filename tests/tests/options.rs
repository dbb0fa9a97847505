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
