//! Message decoding, over messages with every field kind: scalars and
//! packed runs, strings and bytes, enums open and closed, oneofs, maps,
//! proto2 groups and required fields, recursion, and the well-known types.
//! What decodes must encode, and decode again to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rgrpc::Message;
use rgrpc_tests::pb::coverage::{v2, v3};

fn round_trip<M: Message>(data: &[u8]) {
    if let Ok(message) = M::decode(data) {
        let encoded = message.encode_to_vec();
        let again = M::decode(&encoded).expect("what was encoded decodes");
        // Bytes, not values: a NaN is not equal to itself.
        assert_eq!(again.encode_to_vec(), encoded);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    match which % 6 {
        0 => round_trip::<v3::Composite>(data),
        1 => round_trip::<v3::Scalars>(data),
        2 => round_trip::<v3::Tree>(data),
        3 => round_trip::<v3::WellKnown>(data),
        4 => round_trip::<v2::Config>(data),
        _ => round_trip::<v2::Holder>(data),
    }
});
