//! `conformance-testee`: answers the protobuf conformance runner's requests
//! with rgrpc's generated codec.
//!
//! The runner writes requests to stdin and reads responses from stdout, each
//! framed by a 4-byte little-endian length. Binary protobuf input and output
//! are supported; JSON, text format and JSPB requests answer `skipped`.

use std::io::{self, Read, Write};

use rgrpc::Message;

use rgrpc_conformance::pb::conformance::{
    ConformanceRequest, ConformanceResponse, FailureSet, WireFormat, conformance_request,
    conformance_response,
};
use rgrpc_conformance::pb::protobuf_test_messages::{editions, proto2, proto3};

fn main() -> io::Result<()> {
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    while let Some(request) = read_frame(&mut stdin)? {
        let response = match ConformanceRequest::decode(&request) {
            Ok(request) => respond(&request),
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

fn respond(request: &ConformanceRequest) -> ConformanceResponse {
    use conformance_request::Payload;

    if request.message_type == "conformance.FailureSet" {
        // No expected failures.
        return payload(FailureSet::default().encode_to_vec());
    }
    let Some(Payload::ProtobufPayload(input)) = &request.payload else {
        return skipped("only binary protobuf input is supported");
    };
    if request.requested_output_format != WireFormat::PROTOBUF {
        return skipped("only binary protobuf output is supported");
    }
    let result = match request.message_type.as_str() {
        "protobuf_test_messages.proto3.TestAllTypesProto3" => {
            round_trip::<proto3::TestAllTypesProto3>(input)
        }
        "protobuf_test_messages.proto2.TestAllTypesProto2" => {
            round_trip::<proto2::TestAllTypesProto2>(input)
        }
        "protobuf_test_messages.proto2.TestAllRequiredTypesProto2" => {
            round_trip::<proto2::TestAllRequiredTypesProto2>(input)
        }
        "protobuf_test_messages.editions.proto3.TestAllTypesProto3" => {
            round_trip::<editions::proto3::TestAllTypesProto3>(input)
        }
        "protobuf_test_messages.editions.proto2.TestAllTypesProto2" => {
            round_trip::<editions::proto2::TestAllTypesProto2>(input)
        }
        "protobuf_test_messages.editions.proto2.TestAllRequiredTypesProto2" => {
            round_trip::<editions::proto2::TestAllRequiredTypesProto2>(input)
        }
        "protobuf_test_messages.editions.TestAllTypesEdition2023" => {
            round_trip::<editions::TestAllTypesEdition2023>(input)
        }
        other => return skipped(&format!("message type {other} is not generated here")),
    };
    match result {
        Ok(output) => payload(output),
        Err(err) => ConformanceResponse {
            result: Some(conformance_response::Result::ParseError(err.to_string())),
            ..Default::default()
        },
    }
}

/// Decodes `input` as `M` (sharing its bytes) and encodes it again.
fn round_trip<M: Message>(input: &rgrpc::Bytes) -> Result<Vec<u8>, rgrpc::DecodeError> {
    M::decode_bytes(input).map(|message| message.encode_to_vec())
}

fn payload(bytes: Vec<u8>) -> ConformanceResponse {
    ConformanceResponse {
        result: Some(conformance_response::Result::ProtobufPayload(bytes.into())),
        ..Default::default()
    }
}

fn skipped(why: &str) -> ConformanceResponse {
    ConformanceResponse {
        result: Some(conformance_response::Result::Skipped(why.to_owned())),
        ..Default::default()
    }
}

fn runtime_error(message: String) -> ConformanceResponse {
    ConformanceResponse {
        result: Some(conformance_response::Result::RuntimeError(message)),
        ..Default::default()
    }
}
