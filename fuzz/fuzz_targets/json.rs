//! proto3's JSON mapping, over messages with every field kind, oneofs,
//! maps, recursion and the well-known types (`Any` included): binary input
//! that decodes is written as JSON, and JSON input is read. Whatever is
//! read must be written, and what is written must read back to itself.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rgrpc::Message;
use rgrpc::json::{ParseOptions, PrintOptions, Registry};
use rgrpc_tests::pb::coverage::{v2, v3};

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let mut registry = Registry::new();
    registry.add(&v3::FILE_COVERAGE_PROTO3_PROTO).unwrap();
    registry.add(&v2::FILE_COVERAGE_PROTO2_PROTO).unwrap();
    registry
});

/// Reads `text` as an `M` and writes it again: the text written reads back
/// to a message written as the same text.
fn settles<M: Message>(text: &str) {
    let Ok(message) = REGISTRY.from_json::<M>(text, &ParseOptions::default()) else {
        return;
    };
    let written = REGISTRY
        .to_json(&message, &PrintOptions::default())
        .expect("what was read is written");
    let again: M = REGISTRY
        .from_json(&written, &ParseOptions::default())
        .expect("what was written reads back");
    let rewritten = REGISTRY.to_json(&again, &PrintOptions::default()).unwrap();
    assert_eq!(rewritten, written);
}

/// Decodes `data` as an `M` and writes it as JSON, which may fail only for
/// values that have no JSON form; what is written settles.
fn from_binary<M: Message>(data: &[u8]) {
    let Ok(message) = M::decode(data) else {
        return;
    };
    let options = PrintOptions::default().always_print_fields_without_presence(true);
    if let Ok(text) = REGISTRY.to_json(&message, &options) {
        settles::<M>(&text);
    }
}

fn run<M: Message>(binary: bool, data: &[u8]) {
    if binary {
        from_binary::<M>(data);
    } else if let Ok(text) = std::str::from_utf8(data) {
        settles::<M>(text);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let binary = which & 0x80 != 0;
    match which % 6 {
        0 => run::<v3::Composite>(binary, data),
        1 => run::<v3::Scalars>(binary, data),
        2 => run::<v3::Tree>(binary, data),
        3 => run::<v3::WellKnown>(binary, data),
        4 => run::<v2::Config>(binary, data),
        _ => run::<v2::Holder>(binary, data),
    }
});
