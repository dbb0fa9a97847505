//! What decoding can make a server allocate: inputs that cost a few bytes
//! on the wire for each large value they make (empty entries of a large
//! message type, maps of one entry each) are held to
//! `rgrpc::wire::MEMORY_PER_INPUT_BYTE` per input byte, measured here by an
//! allocator that counts.

use rgrpc::Message;
use rgrpc::wire::{DecodeErrorKind, MEMORY_ALLOWANCE, MEMORY_PER_INPUT_BYTE};
use rgrpc_tests::counting::{self, Counting};
use rgrpc_tests::pb::coverage::v3::Composite;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Held by each test for its whole run: the allocator counts the whole
/// process, so no test may build its input while another measures.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Decodes `input` as a `Composite`; returns the outcome and the most the
/// decoding had allocated at once.
fn measure(input: &[u8]) -> (Result<Composite, DecodeErrorKind>, usize) {
    measure_as::<Composite>(input)
}

/// [`measure`] as an `M`.
fn measure_as<M: Message>(input: &[u8]) -> (Result<M, DecodeErrorKind>, usize) {
    counting::peak_of(|| M::decode(input).map_err(|err| err.kind()))
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Field `number` of wire type 2 holding `value`.
fn delimited(number: u64, value: &[u8], out: &mut Vec<u8>) {
    varint(number << 3 | 2, out);
    varint(value.len() as u64, out);
    out.extend_from_slice(value);
}

/// `count` repetitions of what `one` writes for index `i`.
fn repeated(count: usize, one: impl Fn(usize, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        one(i, &mut out);
    }
    out
}

/// The most decoding `input` may allocate: the budget, what strings copy
/// (no more than the input) and the error or the outermost value.
fn bound(input: &[u8]) -> usize {
    input.len() * (MEMORY_PER_INPUT_BYTE + 2) + MEMORY_ALLOWANCE + 64 * 1024
}

const MIB: usize = 1024 * 1024;

#[test]
fn empty_entries_of_a_large_message_are_held_to_the_budget() {
    let _alone = alone();
    // `children` (21): a repeated Composite, each empty: 3 bytes apiece.
    let input = repeated(MIB / 3, |_, out| delimited(21, &[], out));
    let (decoded, peak) = measure(&input);
    assert_eq!(decoded.err(), Some(DecodeErrorKind::MemoryLimit));
    assert!(peak <= bound(&input), "{peak} bytes from {}", input.len());
}

#[test]
fn maps_of_one_entry_each_are_held_to_the_budget() {
    let _alone = alone();
    // `children` (21), each holding one entry of `named` (22): every child
    // makes a B-tree node (or, with `map=hash`, a hash table) of its own.
    let input = repeated(MIB / 8, |i, out| {
        let mut entry = Vec::new();
        delimited(1, (i % 100).to_string().as_bytes(), &mut entry);
        let mut child = Vec::new();
        delimited(22, &entry, &mut child);
        delimited(21, &child, out);
    });
    let (decoded, peak) = measure(&input);
    assert_eq!(decoded.err(), Some(DecodeErrorKind::MemoryLimit));
    assert!(peak <= bound(&input), "{peak} bytes from {}", input.len());
    let (decoded, peak) = measure_as::<rgrpc_tests::pb_options::coverage::v3::Composite>(&input);
    assert_eq!(decoded.err(), Some(DecodeErrorKind::MemoryLimit));
    assert!(
        peak <= bound(&input),
        "hash maps: {peak} bytes from {}",
        input.len()
    );
}

#[test]
fn ordinary_messages_decode_within_the_budget() {
    let _alone = alone();
    // A thousand children with text, and a map of a thousand counts.
    let mut input = repeated(1000, |i, out| {
        let mut child = Vec::new();
        delimited(4, format!("child number {i}").as_bytes(), &mut child);
        delimited(21, &child, out);
    });
    input.extend(repeated(1000, |i, out| {
        let mut entry = Vec::new();
        delimited(1, format!("key {i}").as_bytes(), &mut entry);
        entry.extend([0x10, 0x07]);
        delimited(10, &entry, out);
    }));
    let (decoded, peak) = measure(&input);
    let decoded = decoded.expect("an ordinary message decodes");
    assert_eq!((decoded.children.len(), decoded.counts.len()), (1000, 1000));
    assert!(peak <= bound(&input), "{peak} bytes from {}", input.len());
    let (decoded, peak) = measure_as::<rgrpc_tests::pb_options::coverage::v3::Composite>(&input);
    let decoded = decoded.expect("an ordinary message decodes into hash maps");
    assert_eq!((decoded.children.len(), decoded.counts.len()), (1000, 1000));
    assert!(
        peak <= bound(&input),
        "hash maps: {peak} bytes from {}",
        input.len()
    );
}

#[test]
fn a_small_input_may_make_a_few_large_values() {
    let _alone = alone();
    // Ten empty children: far more than 64 bytes per input byte, within
    // the allowance.
    let input = repeated(10, |_, out| delimited(21, &[], out));
    let (decoded, _) = measure(&input);
    assert_eq!(decoded.expect("decodes").children.len(), 10);
}
