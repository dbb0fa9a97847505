//! Codec benchmark: encodes and decodes the same data with rgrpc-generated
//! and prost-generated types in one run, and writes and reads it as JSON
//! with rgrpc's serde impls and pbjson's (on prost's types), and prints
//! throughput and the rgrpc/peer ratio per shape.
//!
//! `cargo bench -p rgrpc-bench --bench codec [SHAPE] [encode|decode|json]`,
//! where SHAPE picks the shapes whose name contains it. Samples of the two libraries
//! alternate, and each figure is the median of `RGRPC_BENCH_SAMPLES` samples
//! (default 21), so that a noisy machine disturbs both alike.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rgrpc_bench::median;
use rgrpc_bench::prost_types as p;
use rgrpc_bench::rgrpc_types as r;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long one sample runs.
const SAMPLE: Duration = Duration::from_millis(20);

fn record() -> r::bench::v1::Record {
    r::bench::v1::Record {
        name: "a-record-name".into(),
        count: 42,
        kind: 3,
        title: "the title of this record, somewhat long".into(),
        checksums: vec![0xdead_beef, 1 << 40, 7],
        priority: 1,
        owner: "owner@example.com".into(),
        region: "eu-west".into(),
        active: true,
        visible: true,
        detail: Some(r::bench::v1::Detail {
            code: 200,
            level: 2,
            step: 9,
            enabled: true,
            started: 1_700_000_000,
            finished: 1_700_000_123,
            summary: "finished without errors".into(),
            attempts: 1,
            digest: 0x0123_4567_89ab_cdef,
            bucket: 17,
            verified: true,
            crc: 0xcafe_f00d,
            hops: 4,
            source: "ingest".into(),
            trusted: true,
            bytes_in: 123_456,
            bytes_out: 654_321,
            ..Default::default()
        }),
        retries: 3,
        shard: 12,
        replica: 2,
        primary: true,
        weight: 100,
        version: 7,
        synced: true,
        flags: 0x7f,
        mask: 0xffff,
        width: 1920,
        height: 1080,
        label: "label".into(),
        note: "a note".into(),
        depth: 5,
        offset: 4096,
        cursor: "c-000123".into(),
        created: 1_600_000_000_000,
        updated: 1_700_000_000_000,
        delta: -12,
        limit: 1000,
        total: 1 << 33,
        drift: -987_654_321,
        ..Default::default()
    }
}

fn series() -> r::bench::v1::Series {
    r::bench::v1::Series {
        values: (0..1000).map(|i| i * 7919 - 400_000).collect(),
        names: (0..100).map(|i| format!("series-name-{i}")).collect(),
        ..Default::default()
    }
}

fn blob() -> r::bench::v1::Blob {
    r::bench::v1::Blob {
        name: "blob".into(),
        data: Bytes::from((0..64 * 1024).map(|i| (i % 251) as u8).collect::<Vec<u8>>()),
        ..Default::default()
    }
}

fn nested() -> r::bench::v1::Node {
    let mut node = r::bench::v1::Node {
        depth: 20,
        label: "leaf".into(),
        ..Default::default()
    };
    for depth in (0..20).rev() {
        node = r::bench::v1::Node {
            child: Some(Box::new(node)),
            depth,
            label: format!("level-{depth}"),
            ..Default::default()
        };
    }
    node
}

/// The median times per operation of `a` and of `b`, sampled alternately.
fn measure(samples: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let iterations = |op: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < SAMPLE / 4 {
            op();
            n += 1;
        }
        n * 4
    };
    let (na, nb) = (iterations(&mut a), iterations(&mut b));
    let sample = |op: &mut dyn FnMut(), n: u64| {
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        start.elapsed().as_secs_f64() * 1e9 / n as f64
    };
    let mut times_a = Vec::with_capacity(samples);
    let mut times_b = Vec::with_capacity(samples);
    // Which side runs first alternates: going second (with the other's
    // buffers just used) is measurably different for memory-bound shapes.
    for i in 0..samples {
        if i % 2 == 0 {
            times_a.push(sample(&mut a, na));
            times_b.push(sample(&mut b, nb));
        } else {
            times_b.push(sample(&mut b, nb));
            times_a.push(sample(&mut a, na));
        }
    }
    (median(times_a), median(times_b))
}

struct Row {
    shape: &'static str,
    op: &'static str,
    bytes: usize,
    rgrpc_ns: f64,
    prost_ns: f64,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.prost_ns / self.rgrpc_ns
    }
}

/// Which operations to measure.
#[derive(Clone, Copy)]
struct Ops {
    encode: bool,
    decode: bool,
    json: bool,
}

fn shape<R, P>(shape: &'static str, message: R, samples: usize, ops: Ops, rows: &mut Vec<Row>)
where
    R: rgrpc::Message + Serialize + DeserializeOwned,
    P: prost::Message + Default + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned,
{
    let encoded = Bytes::from(rgrpc::Message::encode_to_vec(&message));
    let theirs = P::decode(encoded.clone()).expect("prost decodes rgrpc's encoding");
    assert_eq!(
        theirs.encoded_len(),
        encoded.len(),
        "{shape}: both libraries see the same data"
    );
    assert_eq!(
        R::decode(&theirs.encode_to_vec()).expect("rgrpc decodes prost's encoding"),
        message
    );
    // Both sides encode what they decoded from the same buffer, so their
    // `bytes` fields view the same memory (a copy's alignment changes memcpy speed).
    let message = R::decode_bytes(&encoded).expect("rgrpc decodes its own encoding");
    let bytes = encoded.len();

    if ops.encode {
        // Both write into the same buffer, so neither gains from where its buffer lies.
        let buf = RefCell::new(Vec::with_capacity(bytes));
        let (rgrpc_ns, prost_ns) = measure(
            samples,
            || {
                let mut buf = buf.borrow_mut();
                buf.clear();
                rgrpc::Message::encode(black_box(&message), &mut buf);
                black_box(&buf);
            },
            || {
                let mut buf = buf.borrow_mut();
                buf.clear();
                prost::Message::encode(black_box(&theirs), &mut *buf).expect("capacity");
                black_box(&buf);
            },
        );
        rows.push(Row {
            shape,
            op: "encode",
            bytes,
            rgrpc_ns,
            prost_ns,
        });
    }
    if ops.decode {
        let (rgrpc_ns, prost_ns) = measure(
            samples,
            || {
                black_box(R::decode_bytes(black_box(&encoded)).expect("decode"));
            },
            || {
                black_box(P::decode(black_box(encoded.clone())).expect("decode"));
            },
        );
        rows.push(Row {
            shape,
            op: "decode",
            bytes,
            rgrpc_ns,
            prost_ns,
        });
    }
    if ops.json {
        json(shape, &message, &theirs, samples, rows);
    }
}

/// Writes `message` as JSON and reads it back, with rgrpc's serde impls and
/// with pbjson's on prost's `theirs`, the same data.
fn json<R, P>(shape: &'static str, message: &R, theirs: &P, samples: usize, rows: &mut Vec<Row>)
where
    R: rgrpc::Message + Serialize + DeserializeOwned,
    P: prost::Message + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned,
{
    let ours = serde_json::to_string(message).expect("rgrpc writes JSON");
    let pbjson = serde_json::to_string(theirs).expect("pbjson writes JSON");
    // Each reads the other's JSON as the same message.
    assert_eq!(
        &serde_json::from_str::<R>(&pbjson).expect("rgrpc reads pbjson's"),
        message
    );
    assert_eq!(
        &serde_json::from_str::<P>(&ours).expect("pbjson reads rgrpc's"),
        theirs
    );
    let (rgrpc_ns, prost_ns) = measure(
        samples,
        || {
            black_box(serde_json::to_string(black_box(message)).expect("JSON"));
        },
        || {
            black_box(serde_json::to_string(black_box(theirs)).expect("JSON"));
        },
    );
    rows.push(Row {
        shape,
        op: "to json",
        bytes: ours.len(),
        rgrpc_ns,
        prost_ns,
    });
    let (rgrpc_ns, prost_ns) = measure(
        samples,
        || {
            black_box(serde_json::from_str::<R>(black_box(&ours)).expect("JSON"));
        },
        || {
            black_box(serde_json::from_str::<P>(black_box(&ours)).expect("JSON"));
        },
    );
    rows.push(Row {
        shape,
        op: "from json",
        bytes: ours.len(),
        rgrpc_ns,
        prost_ns,
    });
}

fn main() {
    let samples = std::env::var("RGRPC_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(21);
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let only = |op: &str| args.iter().any(|a| a == op);
    let ops = match (only("encode"), only("decode"), only("json")) {
        (false, false, false) => Ops {
            encode: true,
            decode: true,
            json: true,
        },
        (encode, decode, json) => Ops {
            encode,
            decode,
            json,
        },
    };
    let filter = args
        .iter()
        .find(|a| !matches!(a.as_str(), "encode" | "decode" | "json"));
    let wanted = |name: &str| filter.is_none_or(|f| name.contains(f.as_str()));
    let mut rows = Vec::new();
    if wanted("echo") {
        let echo = r::echo::EchoRequest {
            message: "hello, world".into(),
            ..Default::default()
        };
        shape::<_, p::echo::EchoRequest>("echo request", echo, samples, ops, &mut rows);
    }
    if wanted("record") {
        shape::<_, p::bench::v1::Record>(
            "record (message1-like)",
            record(),
            samples,
            ops,
            &mut rows,
        );
    }
    if wanted("series") {
        shape::<_, p::bench::v1::Series>(
            "series (1000 ints, 100 strings)",
            series(),
            samples,
            ops,
            &mut rows,
        );
    }
    if wanted("blob") {
        shape::<_, p::bench::v1::Blob>("blob (64 KiB bytes)", blob(), samples, ops, &mut rows);
    }
    if wanted("nested") {
        shape::<_, p::bench::v1::Node>("nested (depth 20)", nested(), samples, ops, &mut rows);
    }

    println!(
        "codec benchmark: median of {samples} samples; ratio = rgrpc throughput / peer throughput; \
         the peer is prost for encode and decode, prost with pbjson for JSON"
    );
    println!(
        "{:<34} {:<9} {:>8} {:>14} {:>14} {:>7}",
        "shape", "op", "bytes", "rgrpc MB/s", "peer MB/s", "ratio"
    );
    let mb_per_s = |bytes: usize, ns: f64| bytes as f64 / ns * 1e3;
    for row in &rows {
        println!(
            "{:<34} {:<9} {:>8} {:>14.1} {:>14.1} {:>6.2}x",
            row.shape,
            row.op,
            row.bytes,
            mb_per_s(row.bytes, row.rgrpc_ns),
            mb_per_s(row.bytes, row.prost_ns),
            row.ratio()
        );
    }
    let (json, binary): (Vec<&Row>, Vec<&Row>) = rows.iter().partition(|r| r.op.contains("json"));
    for (what, rows) in [("binary", binary), ("JSON", json)] {
        if !rows.is_empty() {
            let ratios: Vec<f64> = rows.iter().map(|r| r.ratio()).collect();
            let lowest = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            println!(
                "{what}: median ratio {:.2}x, lowest {:.2}x",
                median(ratios),
                lowest
            );
        }
    }
}
