//! `conformance-testee`: answers the protobuf conformance runner's requests
//! with rgrpc's generated codec.
//!
//! The runner writes requests to stdin and reads responses from stdout, each
//! framed by a 4-byte little-endian length. Binary protobuf and JSON input
//! and output are supported (JSON through `rgrpc::json`, by the test
//! messages' descriptors); text format and JSPB requests answer `skipped`.

use std::io::{self, Read, Write};

use rgrpc::Message;
use rgrpc::json::{ParseOptions, PrintOptions, Registry};

use rgrpc_conformance::pb::conformance::{
    ConformanceRequest, ConformanceResponse, FailureSet, TestCategory, WireFormat,
    conformance_request, conformance_response,
};
use rgrpc_conformance::pb::protobuf_test_messages::{editions, proto2, proto3};

fn main() -> io::Result<()> {
    let mut registry = Registry::new();
    for file in [
        &proto2::FILE_GOOGLE_PROTOBUF_TEST_MESSAGES_PROTO2_PROTO,
        &proto3::FILE_GOOGLE_PROTOBUF_TEST_MESSAGES_PROTO3_PROTO,
        &editions::proto2::FILE_GOOGLE_PROTOBUF_TEST_MESSAGES_PROTO2_EDITIONS_PROTO,
        &editions::proto3::FILE_GOOGLE_PROTOBUF_TEST_MESSAGES_PROTO3_EDITIONS_PROTO,
        &editions::FILE_GOOGLE_PROTOBUF_TEST_MESSAGES_EDITION2023_PROTO,
    ] {
        registry.add(file).map_err(io::Error::other)?;
    }
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    while let Some(request) = read_frame(&mut stdin)? {
        let response = match ConformanceRequest::decode(&request) {
            Ok(request) => respond(&request, &registry),
            Err(err) => runtime_error(format!("cannot decode the ConformanceRequest: {err}")),
        };
        let bytes = response.encode_to_vec();
        stdout.write_all(&(bytes.len() as u32).to_le_bytes())?;
        stdout.write_all(&bytes)?;
        stdout.flush()?;
    }
    Ok(())
}

/// Reads one length-prefixed frame; `None` at a clean end of input.
fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let mut frame = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut frame)?;
    Ok(Some(frame))
}

fn respond(request: &ConformanceRequest, registry: &Registry) -> ConformanceResponse {
    if request.message_type == "conformance.FailureSet" {
        // No expected failures.
        return payload(FailureSet::default().encode_to_vec());
    }
    match request.message_type.as_str() {
        "protobuf_test_messages.proto3.TestAllTypesProto3" => {
            handle::<proto3::TestAllTypesProto3>(request, registry)
        }
        "protobuf_test_messages.proto2.TestAllTypesProto2" => {
            handle::<proto2::TestAllTypesProto2>(request, registry)
        }
        "protobuf_test_messages.proto2.TestAllRequiredTypesProto2" => {
            handle::<proto2::TestAllRequiredTypesProto2>(request, registry)
        }
        "protobuf_test_messages.editions.proto3.TestAllTypesProto3" => {
            handle::<editions::proto3::TestAllTypesProto3>(request, registry)
        }
        "protobuf_test_messages.editions.proto2.TestAllTypesProto2" => {
            handle::<editions::proto2::TestAllTypesProto2>(request, registry)
        }
        "protobuf_test_messages.editions.proto2.TestAllRequiredTypesProto2" => {
            handle::<editions::proto2::TestAllRequiredTypesProto2>(request, registry)
        }
        "protobuf_test_messages.editions.TestAllTypesEdition2023" => {
            handle::<editions::TestAllTypesEdition2023>(request, registry)
        }
        other => skipped(&format!("message type {other} is not generated here")),
    }
}

/// Reads the request's payload as an `M` (binary input shares its bytes),
/// and writes it in the requested format.
fn handle<M: Message>(request: &ConformanceRequest, registry: &Registry) -> ConformanceResponse {
    use conformance_request::Payload;
    use conformance_response::Result as Outcome;

    let parsed = match &request.payload {
        Some(Payload::ProtobufPayload(input)) => M::decode_bytes(input).map_err(|e| e.to_string()),
        Some(Payload::JsonPayload(text)) => {
            let ignore = request.test_category == TestCategory::JSON_IGNORE_UNKNOWN_PARSING_TEST;
            let options = ParseOptions::default().ignore_unknown_fields(ignore);
            registry
                .from_json::<M>(text, &options)
                .map_err(|e| e.to_string())
        }
        _ => return skipped("only binary and JSON input are supported"),
    };
    let message = match parsed {
        Ok(message) => message,
        Err(err) => return outcome(Outcome::ParseError(err)),
    };
    match request.requested_output_format {
        WireFormat::PROTOBUF => payload(message.encode_to_vec()),
        WireFormat::JSON => match registry.to_json(&message, &PrintOptions::default()) {
            Ok(text) => outcome(Outcome::JsonPayload(text)),
            Err(err) => outcome(Outcome::SerializeError(err.to_string())),
        },
        _ => skipped("only binary and JSON output are supported"),
    }
}

fn outcome(result: conformance_response::Result) -> ConformanceResponse {
    ConformanceResponse {
        result: Some(result),
        ..Default::default()
    }
}

fn payload(bytes: Vec<u8>) -> ConformanceResponse {
    outcome(conformance_response::Result::ProtobufPayload(bytes.into()))
}

fn skipped(why: &str) -> ConformanceResponse {
    outcome(conformance_response::Result::Skipped(why.to_owned()))
}

fn runtime_error(message: String) -> ConformanceResponse {
    outcome(conformance_response::Result::RuntimeError(message))
}
