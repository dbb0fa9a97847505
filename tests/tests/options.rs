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
